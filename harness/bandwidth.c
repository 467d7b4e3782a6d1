/* bandwidth.c: STREAM-like read bandwidth (sum of a large buffer, split over
 * pinned threads, median of repetitions) and last-level cache sizing. */
#include "bandwidth.h"
#include "results.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t tb_parse_size(const char *s) {
    if (!s || !*s) return 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s) return 0;
    unsigned long long mul = 1;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    default: return 0;
    }
    if (*end == 'B' || *end == 'b') end++;
    if (*end) return 0;
    if (v == 0 || v > (1ull << 40) / mul) return 0;
    return (size_t)(v * mul);
}

size_t tb_llc_bytes(size_t configured, char *source, size_t n) {
    if (configured > 0) {
        snprintf(source, n, "configured");
        return configured;
    }
    const size_t def = 64u << 20;
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
    if (!f) {
        snprintf(source, n, "default 64 MiB: no sysfs L3 entry");
        return def;
    }
    char buf[64] = {0};
    if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
    fclose(f);
    buf[strcspn(buf, "\r\n")] = 0;
    size_t v = tb_parse_size(buf);
    if (v > 0 && v <= (256u << 20)) {
        snprintf(source, n, "sysfs cpu0 index3 (%s)", buf);
        return v;
    }
    snprintf(source, n, "default 64 MiB: sysfs L3 '%s' is not plausible", buf);
    return def;
}

/* ---- the read kernel --------------------------------------------------- */

typedef struct bw_shared {
    const uint64_t *buf; /* (n_words) */
    size_t n_words;
    int threads, reps;
    pthread_barrier_t bar;
    double *times;       /* (reps + 1) wall seconds, written by thread 0 */
} bw_shared;

typedef struct bw_arg {
    bw_shared *sh;
    int id;
    uint64_t sink;
} bw_arg;

/* Sum of a[0..n): 8 independent accumulators so the loop streams (the compiler
 * vectorizes it); the result is kept so the reads cannot be elided. */
static uint64_t read_sum(const uint64_t *a, size_t n) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 += a[i];
        s1 += a[i + 1];
        s2 += a[i + 2];
        s3 += a[i + 3];
        s4 += a[i + 4];
        s5 += a[i + 5];
        s6 += a[i + 6];
        s7 += a[i + 7];
    }
    for (; i < n; i++) s0 += a[i];
    return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

static void pin(int id) {
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    if (nc <= 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(id % nc, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
}

static void *bw_worker(void *p) {
    bw_arg *a = p;
    bw_shared *sh = a->sh;
    pin(a->id);
    size_t per = sh->n_words / (size_t)sh->threads;
    const uint64_t *mine = sh->buf + per * (size_t)a->id;
    size_t cnt = a->id == sh->threads - 1 ? sh->n_words - per * (size_t)a->id : per;
    for (int r = 0; r <= sh->reps; r++) { /* r = 0 is the warm-up */
        pthread_barrier_wait(&sh->bar);
        double t0 = a->id == 0 ? tb_now() : 0;
        a->sink += read_sum(mine, cnt);
        pthread_barrier_wait(&sh->bar);
        if (a->id == 0) sh->times[r] = tb_now() - t0;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Page-faults the slice a thread will read from that thread (first touch). */
typedef struct touch_arg {
    uint64_t *buf;
    size_t lo, hi;
    int id;
} touch_arg;

static void *touch_worker(void *p) {
    touch_arg *t = p;
    pin(t->id);
    for (size_t i = t->lo; i < t->hi; i++) t->buf[i] = i * 0x9E3779B97F4A7C15ull;
    return NULL;
}

int tb_bandwidth_measure(size_t bytes, int threads, int reps, tb_bw_result *out, tb_err *e) {
    if (threads < 1 || threads > 1024) return tb_fail(e, "bandwidth: threads must be 1..1024 (got %d)", threads);
    if (reps < 1 || reps > 1000) return tb_fail(e, "bandwidth: repetitions must be 1..1000 (got %d)", reps);
    if (bytes < (size_t)threads * 4096) return tb_fail(e, "bandwidth: buffer of %zu bytes too small", bytes);
    size_t n_words = bytes / 8;
    uint64_t *buf = tb_alloc_huge(n_words * 8); /* (n_words); huge pages like the engine's weights */
    double *times = calloc((size_t)reps + 1, sizeof *times);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    bw_arg *args = calloc((size_t)threads, sizeof *args);
    touch_arg *ta = calloc((size_t)threads, sizeof *ta);
    int rc = 0;
    if (!buf || !times || !tid || !args || !ta) {
        rc = tb_fail(e, "bandwidth: cannot allocate %zu bytes", bytes);
        goto done;
    }
    size_t per = n_words / (size_t)threads;
    int started = 0;
    for (int i = 0; i < threads; i++) {
        ta[i] = (touch_arg){buf, per * (size_t)i, i == threads - 1 ? n_words : per * (size_t)(i + 1), i};
        if (pthread_create(&tid[i], NULL, touch_worker, &ta[i]) != 0) break;
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    if (started != threads) {
        rc = tb_fail(e, "bandwidth: cannot start %d threads", threads);
        goto done;
    }

    bw_shared sh;
    memset(&sh, 0, sizeof sh);
    sh.buf = buf;
    sh.n_words = n_words;
    sh.threads = threads;
    sh.reps = reps;
    sh.times = times;
    if (pthread_barrier_init(&sh.bar, NULL, (unsigned)threads) != 0) {
        rc = tb_fail(e, "bandwidth: barrier init failed");
        goto done;
    }
    started = 0;
    for (int i = 0; i < threads; i++) {
        args[i] = (bw_arg){&sh, i, 0};
        if (pthread_create(&tid[i], NULL, bw_worker, &args[i]) != 0) break;
        started++;
    }
    if (started != threads) {
        /* Threads already started wait forever on the barrier: cannot recover
         * cleanly, so this is reported and the process should exit. */
        rc = tb_fail(e, "bandwidth: could start only %d of %d threads", started, threads);
        goto done;
    }
    uint64_t sink = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        sink += args[i].sink;
    }
    pthread_barrier_destroy(&sh.bar);
    (void)sink;

    double *t = times + 1; /* skip the warm-up */
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    double b = (double)(n_words * 8);
    out->threads = threads;
    out->reps = reps;
    out->bytes = n_words * 8;
    out->gbps_median = b / med / 1e9;
    out->gbps_min = b / t[reps - 1] / 1e9;
    out->gbps_max = b / t[0] / 1e9;
done:
    tb_free_huge(buf, n_words * 8);
    free(times);
    free(tid);
    free(args);
    free(ta);
    return rc;
}

void tb_bw_write(struct tb_jw *w, const char *key, const tb_bw_result *r, int n) {
    tb_jw_arr_begin(w, key);
    for (int i = 0; i < n; i++) {
        tb_jw_obj_begin(w, NULL);
        tb_jw_int(w, "threads", r[i].threads);
        tb_jw_int(w, "reps", r[i].reps);
        tb_jw_num(w, "bytes", (double)r[i].bytes);
        tb_jw_num(w, "gbps_median", r[i].gbps_median);
        tb_jw_num(w, "gbps_min", r[i].gbps_min);
        tb_jw_num(w, "gbps_max", r[i].gbps_max);
        tb_jw_obj_end(w);
    }
    tb_jw_arr_end(w);
}

/* driver.c: the worker pool (pthreads, hwloc pinning) and the parallel GEMV.
 *
 * Synchronisation: a generation counter starts a run; workers spin briefly on it
 * (decode issues ~120 small GEMVs per token back to back) and then sleep on a
 * condition variable, so an idle pool costs nothing.  The caller does its share as
 * thread 0 and waits for a pending counter to reach zero the same way.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "split.h"
#include "tb_build_config.h"

#if TB_HAVE_HWLOC
#include <hwloc.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* How long an idle worker spins before it sleeps.  Long enough to bridge the caller's
 * serial work between two runs of a prefill (activation prep: ~0.1 ms), whose
 * futex wake-ups cost 10-50 us each in a VM; short enough that a pool idle between
 * decode steps sleeps almost at once.  Checked against the clock every 256 pauses. */
#define SPIN_SECONDS 200e-6
enum { SPIN_ITERS = 4000 }; /* the caller's wait for the others */

/* Kernels keep their scratch on the stack (the AVX2 token-lane GEMM: ~960 KiB), so every
 * worker gets at least the usual 8 MiB whatever RLIMIT_STACK makes the default. */
#define TB_POOL_STACK ((size_t)8 << 20)

typedef struct worker {
    struct tb_pool *pool;
    int tid;
    pthread_t th;
} worker;

struct tb_pool {
    int n;                     /* threads including the caller */
    worker *w;                 /* (n); w[0] is the caller and has no pthread */
    pthread_mutex_t mu;
    pthread_cond_t cv_start, cv_done;
    atomic_uint gen;           /* bumped once per run */
    atomic_int pending;        /* workers still running the current fn */
    atomic_bool stop;
    tb_pool_fn fn;
    void *arg;
    double wait_s;             /* caller's time waiting for workers after its own share */
    int started;               /* worker threads created (for cleanup) */
#if TB_HAVE_HWLOC
    hwloc_topology_t topo;
    int ncores;
    hwloc_cpuset_t caller_old; /* the caller's binding before tb_pool_new, or NULL */
#endif
    bool pin;
};

#if TB_HAVE_HWLOC
static void pin_self(tb_pool *p, int tid) {
    if (!p->pin || p->ncores < 1) return;
    hwloc_obj_t core = hwloc_get_obj_by_type(p->topo, HWLOC_OBJ_CORE, (unsigned)(tid % p->ncores));
    if (!core || !core->cpuset) return;
    hwloc_cpuset_t set = hwloc_bitmap_dup(core->cpuset);
    hwloc_bitmap_singlify(set); /* one PU of the core */
    hwloc_set_cpubind(p->topo, set, HWLOC_CPUBIND_THREAD); /* best effort: ignore failure */
    hwloc_bitmap_free(set);
}
#else
static void pin_self(tb_pool *p, int tid) { (void)p; (void)tid; }
#endif

int tb_ncores(void) {
#if TB_HAVE_HWLOC
    hwloc_topology_t t;
    if (hwloc_topology_init(&t) == 0) {
        int n = -1;
        if (hwloc_topology_load(t) == 0) n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
        hwloc_topology_destroy(t);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    tb_pool *p = w->pool;
    pin_self(p, w->tid);
    unsigned seen = 0;
    for (;;) {
        /* wait for a new generation (or stop) */
        const double spin_end = tb_now() + SPIN_SECONDS;
        for (int spins = 1; atomic_load(&p->gen) == seen && !atomic_load(&p->stop); spins++) {
            cpu_relax();
            if ((spins & 255) == 0 && tb_now() > spin_end) break;
        }
        if (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv_start, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = atomic_load(&p->gen);
        p->fn(p->arg, w->tid, p->n);
        if (atomic_fetch_sub(&p->pending, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

int tb_pool_new(int threads, bool pin, tb_pool **out, tb_err *e) {
    *out = NULL;
    if (threads == 0) threads = tb_ncores();
    if (threads < 1 || threads > TB_POOL_MAX)
        return tb_fail(e, "threads: %d is out of range (1..%d, or 0 for all cores)", threads, TB_POOL_MAX);
    tb_pool *p = calloc(1, sizeof *p);
    if (!p) return tb_fail(e, "out of memory creating a pool of %d threads", threads);
    p->n = threads;
    p->w = calloc((size_t)threads, sizeof *p->w);
    if (!p->w) {
        free(p);
        return tb_fail(e, "out of memory creating a pool of %d threads", threads);
    }
    const char *nopin = getenv("TB_NO_PIN");
    p->pin = pin && !(nopin && *nopin && *nopin != '0');
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_start, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, false);
#if TB_HAVE_HWLOC
    if (p->pin) {
        if (hwloc_topology_init(&p->topo) != 0 || hwloc_topology_load(p->topo) != 0) {
            p->pin = false;
        } else {
            p->ncores = hwloc_get_nbobjs_by_type(p->topo, HWLOC_OBJ_CORE);
            p->caller_old = hwloc_bitmap_alloc();
            if (p->caller_old && hwloc_get_cpubind(p->topo, p->caller_old, HWLOC_CPUBIND_THREAD) != 0) {
                hwloc_bitmap_free(p->caller_old);
                p->caller_old = NULL;
            }
            pin_self(p, 0);
        }
    }
#endif
    for (int i = 0; i < threads; i++) {
        p->w[i].pool = p;
        p->w[i].tid = i;
    }
    pthread_attr_t attr;
    const bool have_attr = pthread_attr_init(&attr) == 0;
    size_t stack = 0;
    if (have_attr && pthread_attr_getstacksize(&attr, &stack) == 0 && stack < TB_POOL_STACK)
        pthread_attr_setstacksize(&attr, TB_POOL_STACK); /* best effort: else the default */
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&p->w[i].th, have_attr ? &attr : NULL, worker_main, &p->w[i]) != 0) {
            if (have_attr) pthread_attr_destroy(&attr);
            tb_pool_free(p);
            return tb_fail(e, "cannot start worker thread %d of %d", i, threads);
        }
        p->started++;
    }
    if (have_attr) pthread_attr_destroy(&attr);
    *out = p;
    return 0;
}

void tb_pool_free(tb_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i <= p->started; i++) pthread_join(p->w[i].th, NULL);
#if TB_HAVE_HWLOC
    if (p->pin) {
        if (p->caller_old) {
            hwloc_set_cpubind(p->topo, p->caller_old, HWLOC_CPUBIND_THREAD);
            hwloc_bitmap_free(p->caller_old);
        }
        hwloc_topology_destroy(p->topo);
    }
#endif
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_start);
    pthread_cond_destroy(&p->cv_done);
    free(p->w);
    free(p);
}

int tb_pool_threads(const tb_pool *p) { return p ? p->n : 1; }

void tb_pool_run(tb_pool *p, tb_pool_fn fn, void *arg) {
    if (p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->cv_start);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    const double w0 = tb_now();
    for (int spins = 0; atomic_load(&p->pending) > 0 && spins < SPIN_ITERS; spins++) cpu_relax();
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->cv_done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    p->wait_s += tb_now() - w0;
}

double tb_pool_wait_seconds(const tb_pool *p) { return p ? p->wait_s : 0.0; }

typedef struct gemv_job {
    const tb_kernel *k;
    tb_gemv_mat m[TB_GEMV_GROUP_MAX];
    int start[TB_GEMV_GROUP_MAX + 1]; /* matrix i holds rows [start[i], start[i+1]) of the concatenation */
    int total, cols, n;
    const int8_t *q;
    const void *prep;
    int chunk;          /* the smallest guided grab in rows, a multiple of tile */
    int even[TB_GEMV_GROUP_MAX]; /* > 0: matrix i goes out in grabs of this many rows */
    int tile;           /* grabs are multiples of this, counted from a matrix's first row */
    int nth;
    atomic_int next;    /* first row of the concatenation not yet taken */
    atomic_int rc;
} gemv_job;

/* The next rows to compute, matrix *mi rows [*r0, *r1), taken from the shared counter;
 * false when none is left: the matrix's equal grabs, or guided grabs (reference/split.h)
 * down to j->chunk; never crossing from one matrix into the next. */
static bool grab_rows(gemv_job *j, int *mi, int *r0, int *r1) {
    int cur = atomic_load(&j->next);
    for (;;) {
        if (cur >= j->total || atomic_load(&j->rc)) return false;
        int i = 0;
        while (cur >= j->start[i + 1]) i++;
        const int c = j->even[i] ? j->even[i] : tb_guided_rows(j->total - cur, j->nth, j->chunk, j->tile);
        const int end = cur + c < j->start[i + 1] ? cur + c : j->start[i + 1];
        if (atomic_compare_exchange_weak(&j->next, &cur, end)) {
            *mi = i;
            *r0 = cur - j->start[i];
            *r1 = end - j->start[i];
            return true;
        }
    }
}

/* Keeps the first kernel error any thread reports (0 = none). */
static void keep_first_error(atomic_int *first, int rc) {
    int zero = 0;
    if (rc) atomic_compare_exchange_strong(first, &zero, rc);
}

/* Threads take rows from a shared counter until none is left: a thread that runs
 * slower (a busier core, a slower memory channel) takes fewer rows instead of holding
 * the others at the end.  Which thread computes a row never changes its bits. */
static void gemv_part(void *arg, int tid, int nth) {
    (void)tid;
    (void)nth;
    gemv_job *j = arg;
    int i, r0, r1;
    while (grab_rows(j, &i, &r0, &r1)) {
        const tb_gemv_mat *m = &j->m[i];
        keep_first_error(&j->rc, j->k->gemv(m->packed, m->rows, j->cols, j->q, j->prep, j->n, r0, r1, m->acc));
    }
}

int tb_gemv_chunk_rows(int rows, int tile, int nth, int n) {
    if (tile < 1) tile = 1;
    /* decode: about 1/(8 nth) of the rows.  A batch: 64 rows, a GEMM's cache block (its
     * first grabs are long runs over which it reuses the activations it holds in cache;
     * the short last ones cut the wait at the end from ~40 to ~12 ms per pp128 on 2B4T,
     * 2 threads, Zen 4) */
    const int want = n > 1 ? 64 : (rows + 8 * nth - 1) / (8 * nth);
    const int c = (want + tile - 1) / tile * tile, all = (rows + tile - 1) / tile * tile;
    return c < tile ? tile : c > all ? all : c;
}

int tb_gemv_even_rows(int rows, int tile, int nth, int batch_rows) {
    if (tile < 1) tile = 1;
    if (nth < 1) nth = 1;
    int per = batch_rows > 0 ? rows / (nth * batch_rows) : 0;
    const int calls = (per > 1 ? per : 1) * nth, all = (rows + tile - 1) / tile * tile;
    const int c = ((rows + calls - 1) / calls + tile - 1) / tile * tile;
    return c < all ? c : all;
}

/* Whether a group call's shape is one the hand-outs take: 1..TB_GEMV_GROUP_MAX matrices
 * of at least one row, cols >= 1, n >= 1. */
static bool group_shape_ok(int count, const tb_gemv_mat *mats, int cols, int n) {
    if (count < 1 || count > TB_GEMV_GROUP_MAX || cols < 1 || n < 1) return false;
    for (int i = 0; i < count; i++)
        if (mats[i].rows < 1) return false;
    return true;
}

int tb_gemv_parallel_group(tb_pool *p, const tb_kernel *k, int count, const tb_gemv_mat *mats, int cols,
                           const int8_t *q, const void *prep, int n) {
    if (!group_shape_ok(count, mats, cols, n)) return TB_KERR_SHAPE;
    /* one thread, or a device kernel (it parallelizes on the device): one call per matrix */
    if (!p || p->n == 1 || k->on_device) {
        for (int i = 0; i < count; i++) {
            int rc = k->gemv(mats[i].packed, mats[i].rows, cols, q, prep, n, 0, mats[i].rows, mats[i].acc);
            if (rc) return rc;
        }
        return 0;
    }
    gemv_job j = {.k = k, .cols = cols, .n = n, .q = q, .prep = prep,
                  .tile = k->tile_rows > 0 ? k->tile_rows : 1, .nth = p->n};
    for (int i = 0; i < count; i++) {
        j.m[i] = mats[i];
        j.start[i + 1] = j.start[i] + mats[i].rows;
    }
    j.total = j.start[count];
    /* a batch kernel that builds state per call (batch_rows > 0) gets each matrix in equal
     * calls, as few as its batch_rows allows, a multiple of the threads: guided grabs would
     * end in short calls that pay the whole per-call cost for a few rows */
    for (int i = 0; n > 1 && k->batch_rows > 0 && i < count; i++)
        j.even[i] = tb_gemv_even_rows(mats[i].rows, j.tile, p->n, k->batch_rows);
    j.chunk = tb_gemv_chunk_rows(j.total, j.tile, p->n, n);
    atomic_init(&j.next, 0);
    atomic_init(&j.rc, 0);
    tb_pool_run(p, gemv_part, &j);
    return atomic_load(&j.rc);
}

int tb_gemv_parallel(tb_pool *p, const tb_kernel *k, const void *packed, int rows, int cols,
                     const int8_t *q, const void *prep, int n, int32_t *acc) {
    if (rows < 1) return TB_KERR_SHAPE;
    const tb_gemv_mat m = {.packed = packed, .rows = rows, .acc = acc};
    return tb_gemv_parallel_group(p, k, 1, &m, cols, q, prep, n);
}

void tb_gemv_token_share(int n, int block, int tid, int nth, int *t0, int *t1) {
    if (block < 1) block = 1;
    const int blocks = n / block, base = blocks / nth, extra = blocks % nth;
    const int b0 = tid * base + (tid < extra ? tid : extra), nb = base + (tid < extra);
    *t0 = b0 * block;
    *t1 = tid == nth - 1 ? n : (b0 + nb) * block;
}

typedef struct tokens_job {
    const tb_kernel *k;
    const tb_gemv_mat *mats;
    int count, cols, n;
    const int8_t *q;
    void *const *preps;
    double *prep_s;
    tb_gemv_team *team;    /* for a kernel with gemv_team, else NULL */
    tb_gemv_share *share;  /* (threads) the team's shares */
    atomic_int rc;
} tokens_job;

/* Thread tid's tokens: its prep, then every row of every matrix (one gemv_team call, or a
 * gemv per matrix). */
static void tokens_part(void *arg, int tid, int nth) {
    tokens_job *j = arg;
    int t0, t1, rc = 0;
    tb_gemv_token_share(j->n, j->k->batch_tokens, tid, nth, &t0, &t1);
    if (j->prep_s) j->prep_s[tid] = 0;
    const int8_t *q = j->q + (size_t)t0 * j->cols;
    void *prep = j->k->needs_prep && t0 < t1 ? j->preps[tid] : NULL;
    const double p0 = tb_now();
    if (prep) rc = j->k->prep(q, j->cols, t1 - t0, prep);
    if (j->prep_s) j->prep_s[tid] = tb_now() - p0;
    if (j->team) { /* every thread calls it, with or without tokens of its own */
        j->share[tid] = (tb_gemv_share){.q = q, .prep = prep, .n = rc ? 0 : t1 - t0, .t0 = t0};
        const int trc = j->k->gemv_team(j->team, tid);
        keep_first_error(&j->rc, rc ? rc : trc);
        return;
    }
    for (int i = 0; !rc && t0 < t1 && i < j->count; i++) {
        const tb_gemv_mat *m = &j->mats[i];
        rc = j->k->gemv(m->packed, m->rows, j->cols, q, prep, t1 - t0, 0, m->rows, m->acc + (size_t)t0 * m->rows);
    }
    keep_first_error(&j->rc, rc);
}

int tb_gemv_tokens_group(tb_pool *p, const tb_kernel *k, int count, const tb_gemv_mat *mats, int cols,
                         const int8_t *q, int n, void *const *preps, double *prep_s) {
    if (!group_shape_ok(count, mats, cols, n)) return TB_KERR_SHAPE;
    const int nth = p ? p->n : 1;
    tokens_job j = {.k = k, .mats = mats, .count = count, .cols = cols, .n = n, .q = q, .preps = preps,
                    .prep_s = prep_s};
    tb_gemv_team team = {.mats = mats, .count = count, .cols = cols, .nth = nth};
    void *state = NULL;
    if (k->gemv_team && (state = tb_alloc((size_t)nth * TB_TEAM_STATE_BYTES + sizeof(tb_gemv_share) * nth))) {
        memset(state, 0, (size_t)nth * TB_TEAM_STATE_BYTES);
        team.state = state;
        j.share = (tb_gemv_share *)((char *)state + (size_t)nth * TB_TEAM_STATE_BYTES);
        team.share = j.share;
        j.team = &team;
    } /* no memory for the team: one gemv per matrix, the same bits */
    atomic_init(&j.rc, 0);
    if (p)
        tb_pool_run(p, tokens_part, &j);
    else
        tokens_part(&j, 0, 1);
    tb_free(state);
    return atomic_load(&j.rc);
}

bool tb_gemv_splits_tokens(const tb_kernel *k, int threads, int n) {
    return k->batch_tokens > 0 && threads > 1 && !k->on_device && n >= 2 * k->batch_tokens;
}

int tb_gemv_preps_alloc(void **preps, int nth, size_t bytes) {
    int ok = 1;
    for (int i = 0; i < nth; i++) {
        tb_free(preps[i]);
        preps[i] = bytes && ok ? tb_alloc(bytes) : NULL;
        ok = ok && (preps[i] || !bytes);
    }
    if (!ok) tb_gemv_preps_free(preps, nth);
    return ok ? 0 : -1;
}

void tb_gemv_preps_free(void **preps, int nth) {
    for (int i = 0; preps && i < nth; i++) {
        tb_free(preps[i]);
        preps[i] = NULL;
    }
}

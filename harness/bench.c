/* bench.c: kernel x shape x threads micro-benchmarks with cold (rotated) weights,
 * a correctness pre-check before anything is timed, and two timers: Google
 * Benchmark through bench_shim.cc, or the harness's own (median of reps). */
#include "bench.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_shim.h"
#include "results.h"
#include "bitlinear.h"
#include "check.h"
#include "driver.h"
#include "tb_build_config.h"

const tb_bench_shape tb_bench_2b4t_shapes[] = {
    {"qo", 2560, 2560},     /* q_proj, o_proj */
    {"kv", 640, 2560},      /* k_proj, v_proj */
    {"gateup1", 6912, 2560}, /* gate_proj, up_proj (each) */
    {"down", 2560, 6912},   /* down_proj */
    {"qkv", 3840, 2560},    /* q|k|v fused */
    {"gateup", 13824, 2560}, /* gate|up fused */
};
const int tb_bench_n_2b4t_shapes = (int)(sizeof tb_bench_2b4t_shapes / sizeof tb_bench_2b4t_shapes[0]);

int tb_bench_shape_parse(const char *s, tb_bench_shape *out, tb_err *e) {
    for (int i = 0; i < tb_bench_n_2b4t_shapes; i++)
        if (!strcmp(s, tb_bench_2b4t_shapes[i].name)) {
            *out = tb_bench_2b4t_shapes[i];
            return 0;
        }
    int r, c;
    char tail;
    if (sscanf(s, "%dx%d%c", &r, &c, &tail) != 2 || r < 1 || c < 1 || r > 1 << 20 || c > 1 << 20)
        return tb_fail(e, "bench: unknown shape '%s' (qo, kv, gateup1, down, qkv, gateup or ROWSxCOLS)", s);
    out->name = NULL; /* caller names it */
    out->rows = r;
    out->cols = c;
    return 0;
}

bool tb_bench_have_gbench(void) { return TB_HAVE_BENCHMARK != 0; }

const char *tb_bench_timer_name(bool use_gbench) {
#if TB_HAVE_BENCHMARK
    static char buf[64];
    if (use_gbench) {
        snprintf(buf, sizeof buf, "google-benchmark %s", tb_gb_version());
        return buf;
    }
    return "ternbench timer (median of repetitions; Google Benchmark not requested)";
#else
    (void)use_gbench;
    return "ternbench timer (median of repetitions; built without libbenchmark)";
#endif
}

void tb_bench_config_default(tb_bench_config *c) {
    static const int one = 1;
    static char src[128];
    memset(c, 0, sizeof *c);
    c->shapes = tb_bench_2b4t_shapes;
    c->n_shapes = tb_bench_n_2b4t_shapes;
    c->threads = &one;
    c->n_threads = 1;
    c->n_tok = 1;
    c->llc_bytes = tb_llc_bytes(0, src, sizeof src);
    c->cold = true;
    c->min_time = 0.1;
    c->reps = 1;
    c->seed = 1;
    c->isa_mask = TB_ISA_ALL;
    c->use_gbench = tb_bench_have_gbench();
}

/* ---- per-shape data: weights, activations, reference ------------------------ */

typedef struct shape_data {
    tb_bench_shape s;
    char name[32];
    int n_tok;
    int8_t *codes;  /* (rows, cols) values -1/0/+1 */
    tb_ternary t;   /* canonical view of codes */
    int8_t *q;      /* (n_tok, cols) */
    int32_t *ref;   /* (n_tok, rows) tb_matmul_ref */
} shape_data;

static void shape_free(shape_data *d) {
    free(d->codes);
    free(d->q);
    free(d->ref);
    memset(d, 0, sizeof *d);
}

static int shape_make(const tb_bench_shape *s, int n_tok, uint64_t seed, shape_data *d, tb_err *e) {
    memset(d, 0, sizeof *d);
    d->s = *s;
    d->n_tok = n_tok;
    if (s->name) snprintf(d->name, sizeof d->name, "%s_%dx%d", s->name, s->rows, s->cols);
    else snprintf(d->name, sizeof d->name, "%dx%d", s->rows, s->cols);
    size_t nw = (size_t)s->rows * (size_t)s->cols;
    d->codes = malloc(nw);
    d->q = malloc((size_t)n_tok * (size_t)s->cols);
    d->ref = malloc((size_t)n_tok * (size_t)s->rows * sizeof(int32_t));
    int8_t *row = malloc((size_t)s->cols);
    if (!d->codes || !d->q || !d->ref || !row) {
        free(row);
        shape_free(d);
        return tb_fail(e, "bench: out of memory for shape %dx%d", s->rows, s->cols);
    }
    tb_rng rng;
    tb_rng_seed(&rng, seed ^ ((uint64_t)s->rows << 32) ^ (uint64_t)s->cols);
    for (size_t i = 0; i < nw; i++) d->codes[i] = (int8_t)((int)tb_rng_below(&rng, 3) - 1);
    /* Full int8 range, -128 included: the edge case that overflows int16 paths. */
    for (size_t i = 0; i < (size_t)n_tok * (size_t)s->cols; i++) d->q[i] = (int8_t)((int)tb_rng_below(&rng, 256) - 128);
    d->t.name = d->name;
    d->t.rows = s->rows;
    d->t.cols = s->cols;
    d->t.scale = 1.0f;
    d->t.layout = TB_TERN_CODES;
    d->t.data = (const uint8_t *)d->codes;
    tb_matmul_ref(&d->t, d->q, n_tok, d->ref, row);
    free(row);
    return 0;
}

/* ---- pre-check ---------------------------------------------------------------- */

/* Runs k once on d (single call over all rows, then again split in two at a tile
 * boundary, as the driver would) and compares with the reference. */
static int precheck_data(const tb_kernel *k, const shape_data *d, tb_err *e) {
    const int rows = d->s.rows, cols = d->s.cols, n = d->n_tok;
    size_t psz = k->packed_size(rows, cols);
    if (psz == 0) return tb_fail(e, "%s: packed_size is 0 for %dx%d (shape not supported)", k->name, rows, cols);
    void *packed = tb_alloc(psz);
    size_t prsz = k->needs_prep && k->prep_size ? k->prep_size(cols, n) : 0;
    void *prep = prsz ? tb_alloc(prsz) : NULL;
    int32_t *acc = malloc((size_t)n * rows * sizeof *acc); /* (n, rows) */
    int rc = 0;
    if (!packed || !acc || (prsz && !prep)) {
        rc = tb_fail(e, "%s: out of memory for the pre-check on %dx%d", k->name, rows, cols);
        goto done;
    }
    int krc = k->pack(&d->t, packed);
    if (krc) {
        rc = tb_fail(e, "%s: pack failed on %dx%d (code %d)", k->name, rows, cols, krc);
        goto done;
    }
    if (k->needs_prep) {
        if (!k->prep || !prep) {
            rc = tb_fail(e, "%s: needs_prep but has no prep function", k->name);
            goto done;
        }
        if ((krc = k->prep(d->q, cols, n, prep)) != 0) {
            rc = tb_fail(e, "%s: prep failed on %dx%d (code %d)", k->name, rows, cols, krc);
            goto done;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < (size_t)n * rows; i++) acc[i] = (int32_t)0x7EADBEEF; /* marker */
        int tile = k->tile_rows > 0 ? k->tile_rows : 1;
        int mid = pass == 0 ? rows : ((rows / 2) / tile) * tile;
        if (pass == 1 && (mid <= 0 || mid >= rows)) break;
        krc = k->gemv(packed, rows, cols, d->q, prep, n, 0, mid, acc);
        if (!krc && mid < rows) krc = k->gemv(packed, rows, cols, d->q, prep, n, mid, rows, acc);
        if (krc) {
            rc = tb_fail(e, "%s: gemv returned %d on %dx%d (n=%d)", k->name, krc, rows, cols, n);
            goto done;
        }
        if (k->exact) {
            for (int t = 0; t < n; t++)
                for (int r = 0; r < rows; r++) {
                    size_t i = (size_t)t * rows + r;
                    if (acc[i] != d->ref[i]) {
                        rc = tb_fail(e,
                                     "%s: pre-check FAILED on %dx%d: token %d row %d = %d, reference %d "
                                     "(seeded data; not timed)",
                                     k->name, rows, cols, t, r, acc[i], d->ref[i]);
                        goto done;
                    }
                }
        } else {
            /* Lossy kernels: normalized MSE against the reference (test-backend-ops
             * style); 1e-3 keeps sign errors and garbage out, rounding in. */
            double num = 0, den = 0;
            for (size_t i = 0; i < (size_t)n * rows; i++) {
                double df = (double)acc[i] - d->ref[i];
                num += df * df;
                den += (double)d->ref[i] * d->ref[i];
            }
            double nmse = den > 0 ? num / den : num;
            if (!(nmse <= 1e-3)) {
                rc = tb_fail(e, "%s: pre-check FAILED on %dx%d: normalized MSE %.3g > 1e-3 (lossy kernel; not timed)",
                             k->name, rows, cols, nmse);
                goto done;
            }
        }
    }
done:
    tb_free(packed);
    tb_free(prep);
    free(acc);
    return rc;
}

int tb_bench_precheck(const tb_kernel *k, int rows, int cols, int n_tok, uint64_t seed, tb_err *e) {
    if (!k) return tb_fail(e, "bench: no kernel");
    if (rows < 1 || cols < 1 || n_tok < 1) return tb_fail(e, "bench: bad pre-check shape %dx%d n=%d", rows, cols, n_tok);
    tb_bench_shape s = {NULL, rows, cols};
    shape_data d;
    if (shape_make(&s, n_tok, seed, &d, e) < 0) return -1;
    int rc = precheck_data(k, &d, e);
    shape_free(&d);
    return rc;
}

/* ---- timed cases ---------------------------------------------------------------- */

typedef struct pools {
    tb_pool *p[TB_POOL_MAX + 1]; /* by thread count */
} pools;

typedef struct bench_case {
    const tb_kernel *k;
    shape_data *d;
    int threads;
    int row;         /* index into the result rows */
    pools *pl;
    const tb_bench_config *cfg;
    /* prepared lazily, freed when the next case starts */
    bool ready;
    int n_copies;
    size_t psz;
    uint8_t *copies; /* (n_copies, psz) rotated packed weights, huge pages like the runner's */
    size_t copies_bytes;
    void *prep;
    void **preps;    /* the token split (batch_tokens): one prep scratch per thread, else NULL */
    int32_t *acc;    /* (n_tok, rows) */
    int idx;
    void *dev;       /* on-device kernels: their benchmark state (tb_device_hooks) */
    char name[160];
} bench_case;

static bench_case *g_current; /* the case whose buffers are live */

static void case_release(bench_case *c) {
    if (!c) return;
    if (c->dev) c->k->device->bench_free(c->dev);
    c->dev = NULL;
    tb_free_huge(c->copies, c->copies_bytes);
    tb_free(c->prep);
    tb_gemv_preps_free(c->preps, c->threads);
    free(c->preps);
    free(c->acc);
    c->copies = NULL;
    c->prep = NULL;
    c->preps = NULL;
    c->acc = NULL;
    c->ready = false;
    if (g_current == c) g_current = NULL;
}

static int case_prepare(bench_case *c, tb_err *e) {
    if (g_current && g_current != c) case_release(g_current);
    if (c->ready) return 0;
    const tb_kernel *k = c->k;
    const int rows = c->d->s.rows, cols = c->d->s.cols, n = c->d->n_tok;
    if (k->on_device) {
        /* the kernel's own device-resident copies and timer (e.g. the CUDA hooks keep >= 2x
         * L2 of rotated packed copies and check the first result against the host emulation) */
        c->psz = k->packed_size(rows, cols);
        if (k->device->bench_new(rows, cols, n, c->cfg->seed, &c->dev, &c->n_copies, e) < 0) return -1;
        c->ready = true;
        g_current = c;
        return 0;
    }
    if (!c->pl->p[c->threads]) {
        if (tb_pool_new(c->threads, true, &c->pl->p[c->threads], e) < 0) return -1;
    }
    c->psz = k->packed_size(rows, cols);
    size_t stride = (c->psz + 63) & ~(size_t)63;
    size_t want = c->cfg->cold ? 2 * c->cfg->llc_bytes : 0;
    int copies = c->cfg->cold ? (int)((want + stride - 1) / stride) + 1 : 1;
    if (copies < (c->cfg->cold ? 2 : 1)) copies = c->cfg->cold ? 2 : 1;
    c->n_copies = copies;
    c->copies_bytes = stride * (size_t)copies;
    c->copies = tb_alloc_huge(c->copies_bytes); /* the engine's packed weights use huge pages too */
    size_t prsz = k->needs_prep && k->prep_size ? k->prep_size(cols, n) : 0;
    c->prep = prsz ? tb_alloc(prsz) : NULL;
    c->acc = malloc((size_t)n * rows * sizeof *c->acc);
    /* a batch the runner hands out by tokens (kernels/README.md, batch_tokens) is timed that way */
    const bool split = tb_gemv_splits_tokens(k, c->threads, n);
    if (split && (c->preps = calloc((size_t)c->threads, sizeof *c->preps)) != NULL &&
        tb_gemv_preps_alloc(c->preps, c->threads, prsz) < 0) {
        free(c->preps);
        c->preps = NULL;
    }
    if (!c->copies || !c->acc || (prsz && !c->prep) || (split && !c->preps)) {
        case_release(c);
        return tb_fail(e, "%s: out of memory for %d cold copies of %zu bytes", c->name, copies, c->psz);
    }
    int krc = k->pack(&c->d->t, c->copies);
    if (krc) {
        case_release(c);
        return tb_fail(e, "%s: pack failed (code %d)", c->name, krc);
    }
    for (int i = 1; i < copies; i++) memcpy(c->copies + stride * (size_t)i, c->copies, c->psz);
    c->idx = 0;
    c->ready = true;
    g_current = c;
    return 0;
}

/* One timed iteration: next weight copy, prep (timed on its own), parallel GEMV. */
static int case_iter(void *ctx, tb_gb_iter *it, char *why, size_t why_n) {
    bench_case *c = ctx;
    tb_err e;
    if (!c->ready || g_current != c) {
        if (case_prepare(c, &e) < 0) {
            snprintf(why, why_n, "%.250s", e.msg);
            return -1;
        }
    }
    const tb_kernel *k = c->k;
    const int rows = c->d->s.rows, cols = c->d->s.cols, n = c->d->n_tok;
    if (k->on_device) {
        double sec = 0;
        if (k->device->bench_run(c->dev, 1, &sec, &e) < 0) {
            snprintf(why, why_n, "%.250s", e.msg);
            return -1;
        }
        it->seconds = sec; /* device time between CUDA events */
        it->prep_seconds = 0;
        return 0;
    }
    size_t stride = (c->psz + 63) & ~(size_t)63;
    c->idx = (c->idx + 1) % c->n_copies;
    const void *w = c->copies + stride * (size_t)c->idx;
    if (c->preps) { /* the token split: every thread preps its own tokens inside the call */
        tb_gemv_mat m = {.packed = w, .rows = rows, .acc = c->acc};
        double prep_s[TB_POOL_MAX];
        const double t0 = tb_now();
        int rc = tb_gemv_tokens_group(c->pl->p[c->threads], k, 1, &m, cols, c->d->q, n, c->preps, prep_s);
        it->seconds = tb_now() - t0;
        if (rc) {
            snprintf(why, why_n, "%s: gemv returned %d", c->name, rc);
            return -1;
        }
        it->prep_seconds = 0; /* the longest thread's prep: the part of the call it delays */
        for (int i = 0; i < c->threads; i++) it->prep_seconds = prep_s[i] > it->prep_seconds ? prep_s[i] : it->prep_seconds;
        return 0;
    }
    double t0 = tb_now();
    if (k->needs_prep) {
        int rc = k->prep(c->d->q, cols, n, c->prep);
        if (rc) {
            snprintf(why, why_n, "%s: prep returned %d", c->name, rc);
            return -1;
        }
    }
    double t1 = tb_now();
    int rc = tb_gemv_parallel(c->pl->p[c->threads], k, w, rows, cols, c->d->q, k->needs_prep ? c->prep : NULL, n,
                              c->acc);
    double t2 = tb_now();
    if (rc) {
        snprintf(why, why_n, "%s: gemv returned %d", c->name, rc);
        return -1;
    }
    it->seconds = t2 - t0;
    it->prep_seconds = t1 - t0;
    return 0;
}

/* ---- the harness's own timer -------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int own_time(bench_case *c, tb_bench_row *r, char *why, size_t why_n) {
    double min_time = c->cfg->min_time > 0 ? c->cfg->min_time : 0.1;
    int reps = c->cfg->reps > 0 ? c->cfg->reps : 1;
    double per[64], prep_per[64];
    if (reps > 64) reps = 64;
    tb_gb_iter it;
    if (case_iter(c, &it, why, why_n) < 0) return -1; /* warm-up (pages, pool wake) */
    long long total_it = 0;
    for (int rep = 0; rep < reps; rep++) {
        double sum = 0, psum = 0;
        long long n = 0;
        while (sum < min_time || n == 0) {
            if (case_iter(c, &it, why, why_n) < 0) return -1;
            sum += it.seconds;
            psum += it.prep_seconds;
            n++;
        }
        per[rep] = sum / n;
        prep_per[rep] = psum / n;
        total_it += n;
    }
    double sorted[64];
    memcpy(sorted, per, sizeof(double) * reps);
    qsort(sorted, (size_t)reps, sizeof(double), cmp_double);
    double med = reps % 2 ? sorted[reps / 2] : 0.5 * (sorted[reps / 2 - 1] + sorted[reps / 2]);
    /* prep of the repetition closest to the median */
    int best = 0;
    for (int i = 1; i < reps; i++)
        if (fabs(per[i] - med) < fabs(per[best] - med)) best = i;
    double mean = 0, ss = 0;
    for (int i = 0; i < reps; i++) mean += per[i] / reps;
    for (int i = 0; i < reps; i++) ss += (per[i] - mean) * (per[i] - mean);
    r->seconds = med;
    r->seconds_sd = reps > 1 ? sqrt(ss / (reps - 1)) : NAN;
    r->reps = reps;
    r->prep_seconds = prep_per[best];
    r->iterations = total_it;
    return 0;
}

static void progress(const tb_bench_config *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void progress(const tb_bench_config *c, const char *fmt, ...) {
    if (!c->progress) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->progress(c->progress_user, line);
}

/* ---- Google Benchmark results -> rows ----------------------------------------- */

#if TB_HAVE_BENCHMARK
typedef struct gb_collect {
    bench_case *cases;
    int n_cases;
    tb_bench_row *rows;
    bool want_median;
    const tb_bench_config *cfg;
    int done;
} gb_collect;


static void on_gb_result(void *user, const tb_gb_result *g) {
    gb_collect *gc = user;
    bench_case *c = NULL;
    for (int i = 0; i < gc->n_cases; i++)
        if (!strcmp(gc->cases[i].name, g->base_name)) c = &gc->cases[i];
    if (!c) return;
    tb_bench_row *r = &gc->rows[c->row];
    bool plain = !g->aggregate || !g->aggregate[0];
    if (g->error) {
        r->timed = false;
        snprintf(r->why, sizeof r->why, "Google Benchmark: %s", g->error_msg ? g->error_msg : "error");
        return;
    }
    /* With repetitions, keep the median aggregate and the stddev Google Benchmark
     * computed over the repetitions; otherwise the plain run. */
    if (gc->want_median && g->aggregate && !strcmp(g->aggregate, "stddev")) {
        r->seconds_sd = g->seconds_per_iter;
        return;
    }
    if (!gc->want_median) r->seconds_sd = NAN;
    r->reps = gc->cfg->reps > 1 ? gc->cfg->reps : 1;
    if (gc->want_median ? (g->aggregate && !strcmp(g->aggregate, "median")) : plain) {
        r->timed = true;
        r->why[0] = 0;
        r->seconds = g->seconds_per_iter;
        r->prep_seconds = g->prep_s;
        r->iterations = g->iterations;
        gc->done++;
        progress(gc->cfg, "bench %d/%d  %s  %.1f us", gc->done, gc->n_cases, c->name, r->seconds * 1e6);
    }
}
#endif

/* ---- the run -------------------------------------------------------------------- */

static double bw_at(const tb_bench_config *c, int threads) {
    for (int i = 0; i < c->n_bw; i++)
        if (c->bw[i].threads == threads) return c->bw[i].gbps_median;
    return NAN;
}

static void fill_rates(tb_bench_row *r) {
    if (!r->timed || !(r->seconds > 0)) return;
    r->gbps = r->packed_bytes / r->seconds / 1e9;
    r->gops = 2.0 * r->rows * (double)r->cols * r->n_tok / r->seconds / 1e9;
    r->roofline_frac = r->bw_gbps > 0 ? r->gbps / r->bw_gbps : NAN;
}

int tb_bench_run(const tb_bench_config *cfg, tb_bench_row **rows_out, int *n_rows_out, tb_err *e) {
    *rows_out = NULL;
    *n_rows_out = 0;
    if (cfg->n_shapes < 1 || cfg->n_threads < 1 || cfg->n_tok < 1)
        return tb_fail(e, "bench: need at least one shape, one thread count and n_tok >= 1");
    for (int i = 0; i < cfg->n_threads; i++)
        if (cfg->threads[i] < 1 || cfg->threads[i] > TB_POOL_MAX)
            return tb_fail(e, "bench: thread count %d out of range 1..%d", cfg->threads[i], TB_POOL_MAX);
    if (cfg->use_gbench && !tb_bench_have_gbench())
        return tb_fail(e, "bench: this build has no Google Benchmark (meson -Dbenchmark=enabled with libbenchmark-dev)");

    /* The kernels to consider. */
    int nk_max = (cfg->only_extra ? 0 : tb_n_kernels) + cfg->n_extra;
    const tb_kernel **ks = calloc((size_t)nk_max + 1, sizeof *ks);
    if (!ks) return tb_fail(e, "bench: out of memory");
    int nk = 0;
    if (!cfg->only_extra)
        for (int i = 0; i < tb_n_kernels; i++)
            if (!cfg->kernel_glob || !*cfg->kernel_glob || tb_glob_match(cfg->kernel_glob, tb_kernels[i]->name))
                ks[nk++] = tb_kernels[i];
    for (int i = 0; i < cfg->n_extra; i++) ks[nk++] = cfg->extra[i];
    if (nk == 0) {
        free(ks);
        return tb_fail(e, "bench: no kernel matches '%s'", cfg->kernel_glob ? cfg->kernel_glob : "");
    }

    int max_rows = nk * cfg->n_shapes * cfg->n_threads;
    tb_bench_row *rows = calloc((size_t)max_rows, sizeof *rows);
    bench_case *cases = calloc((size_t)max_rows, sizeof *cases);
    shape_data *sd = calloc((size_t)cfg->n_shapes, sizeof *sd);
    pools *pl = calloc(1, sizeof *pl);
    struct {
        bool ok;
        char why[200];
    } *kcheck = NULL;
    tb_bench_kcheck *kout = NULL;
    int n_rows = 0, n_cases = 0, rc = 0;
    if (!rows || !cases || !sd || !pl) {
        rc = tb_fail(e, "bench: out of memory");
        goto done;
    }

    /* The kernel checker (harness/check.h) first: a kernel that fails any of its
     * cases is not timed on any shape. */
    kcheck = calloc((size_t)nk, sizeof *kcheck);
    if (!kcheck) {
        rc = tb_fail(e, "bench: out of memory");
        goto done;
    }
    if (cfg->checks_out) {
        kout = calloc((size_t)nk, sizeof *kout);
        if (!kout) {
            rc = tb_fail(e, "bench: out of memory");
            goto done;
        }
        for (int ki = 0; ki < nk; ki++) {
            snprintf(kout[ki].kernel, sizeof kout[ki].kernel, "%s", ks[ki]->name);
            snprintf(kout[ki].status, sizeof kout[ki].status, "skip");
        }
    }
    for (int ki = 0; ki < nk; ki++) {
        const char *skipwhy = NULL;
        if (!tb_kernel_supported(ks[ki], cfg->isa_mask, &skipwhy)) {
            if (kout) snprintf(kout[ki].why, sizeof kout[ki].why, "%.190s", skipwhy ? skipwhy : "not supported");
            continue;
        }
        if (cfg->checked) {
            kcheck[ki].ok = true;
            if (kout) snprintf(kout[ki].status, sizeof kout[ki].status, "pass");
            continue;
        }
        progress(cfg, "check %s (kernel checker, %s)", ks[ki]->name, cfg->full_check ? "full" : "quick");
        tb_check_opts o;
        tb_check_opts_default(&o);
        o.seed = cfg->seed;
        o.quick = !cfg->full_check;
        o.isa_mask = cfg->isa_mask;
        o.stop_after = 1; /* one failing case is enough to refuse timing it */
        tb_check_result cr;
        memset(&cr, 0, sizeof cr);
        tb_err ce = {{0}};
        int crc = tb_check_kernel(ks[ki], &o, &cr, &ce);
        if (kout) {
            tb_bench_kcheck *o2 = &kout[ki];
            o2->cases = cr.cases;
            o2->passed = cr.passed;
            o2->failed = cr.failed;
            o2->seconds = cr.seconds;
            snprintf(o2->status, sizeof o2->status, "%s", crc == 0 && cr.failed == 0 ? "pass" : "fail");
            snprintf(o2->why, sizeof o2->why, "%.190s", crc < 0 ? ce.msg : cr.first_failure);
        }
        if (crc < 0) snprintf(kcheck[ki].why, sizeof kcheck[ki].why, "kernel checker error: %.150s", ce.msg);
        else if (crc > 0 || cr.failed > 0)
            snprintf(kcheck[ki].why, sizeof kcheck[ki].why, "failed the kernel checker (%d of %d cases): %.120s",
                     cr.failed, cr.cases, cr.first_failure);
        else kcheck[ki].ok = true;
    }

    /* Pre-check every kernel on every shape; register (or list) the cases that pass. */
    for (int si = 0; si < cfg->n_shapes; si++) {
        if (shape_make(&cfg->shapes[si], cfg->n_tok, cfg->seed, &sd[si], e) < 0) {
            rc = -1;
            goto done;
        }
        for (int ki = 0; ki < nk; ki++) {
            const tb_kernel *k = ks[ki];
            const char *why = NULL;
            bool supported = tb_kernel_supported(k, cfg->isa_mask, &why);
            tb_err ce = {{0}};
            bool passed = false;
            if (supported && !kcheck[ki].ok) {
                snprintf(ce.msg, sizeof ce.msg, "%s", kcheck[ki].why);
            } else if (supported) {
                progress(cfg, "pre-check %s on %s", k->name, sd[si].name);
                passed = precheck_data(k, &sd[si], &ce) == 0;
            }
            for (int ti = 0; ti < cfg->n_threads; ti++) {
                int th = cfg->threads[ti];
                if (k->on_device && ti > 0) break; /* one row: host threads do not apply */
                tb_bench_row *r = &rows[n_rows];
                snprintf(r->kernel, sizeof r->kernel, "%s", k->name);
                snprintf(r->shape, sizeof r->shape, "%s", sd[si].name);
                r->rows = sd[si].s.rows;
                r->cols = sd[si].s.cols;
                r->threads = k->on_device ? 1 : th;
                r->n_tok = cfg->n_tok;
                r->exact = k->exact;
                r->on_device = k->on_device;
                r->packed_bytes = (double)k->packed_size(r->rows, r->cols);
                r->bpw = r->packed_bytes * 8.0 / ((double)r->rows * r->cols);
                r->bw_gbps = k->on_device ? (cfg->gpu_bw_gbps > 0 ? cfg->gpu_bw_gbps : NAN) : bw_at(cfg, th);
                r->roofline_frac = NAN;
                r->seconds_sd = NAN;
                if (!supported) {
                    snprintf(r->why, sizeof r->why, "not supported here: %s", why ? why : "?");
                } else if (!passed) {
                    snprintf(r->why, sizeof r->why, "%.190s", ce.msg);
                } else if (k->on_device && !(k->device && k->device->bench_new && k->device->bench_run &&
                                             k->device->bench_free)) {
                    snprintf(r->why, sizeof r->why, "on-device kernel without benchmark hooks (tb_device_hooks.bench_*)");
                } else {
                    bench_case *c = &cases[n_cases++];
                    c->k = k;
                    c->d = &sd[si];
                    c->threads = th;
                    c->row = n_rows;
                    c->pl = pl;
                    c->cfg = cfg;
                    snprintf(c->name, sizeof c->name, "%s/%s/threads:%d", k->name, sd[si].name, th);
                    snprintf(r->why, sizeof r->why, "not run (filtered out)");
                }
                n_rows++;
            }
        }
    }

    if (cfg->use_gbench) {
#if TB_HAVE_BENCHMARK
        tb_gb_clear();
        for (int i = 0; i < n_cases; i++) {
            bench_case *c = &cases[i];
            tb_bench_row *r = &rows[c->row];
            tb_gb_spec s = {0};
            s.name = c->name;
            s.fn = case_iter;
            s.ctx = c;
            s.bytes_per_iter = r->packed_bytes;
            s.ops_per_iter = 2.0 * r->rows * (double)r->cols * r->n_tok;
            s.bits_per_weight = r->bpw;
            s.roofline_bps = r->bw_gbps > 0 ? r->bw_gbps * 1e9 : 0;
            s.threads = c->threads;
            s.min_time = cfg->min_time;
            s.repetitions = cfg->reps > 1 ? cfg->reps : 0;
            if (tb_gb_register(&s, e) < 0) {
                rc = -1;
                goto done;
            }
        }
        gb_collect gc = {cases, n_cases, rows, cfg->reps > 1, cfg, 0};
        int ran = tb_gb_run(cfg->gb_argc, cfg->gb_argv, cfg->console, on_gb_result, &gc, e);
        tb_gb_clear();
        if (ran < 0) {
            rc = -1;
            goto done;
        }
#endif
    } else {
        for (int i = 0; i < n_cases; i++) {
            bench_case *c = &cases[i];
            tb_bench_row *r = &rows[c->row];
            char why[256] = "";
            if (own_time(c, r, why, sizeof why) < 0) {
                r->timed = false;
                snprintf(r->why, sizeof r->why, "%s", why);
            } else {
                r->timed = true;
                r->why[0] = 0;
            }
            case_release(c);
            progress(cfg, "bench %d/%d  %s  %.1f us", i + 1, n_cases, c->name, r->seconds * 1e6);
        }
    }
    for (int i = 0; i < n_cases; i++) {
        tb_bench_row *r = &rows[cases[i].row];
        r->copies = cases[i].n_copies ? cases[i].n_copies : 0;
        fill_rates(r);
    }

done:
    if (cases)
        for (int i = 0; i < n_cases; i++) case_release(&cases[i]);
    g_current = NULL;
    if (pl)
        for (int t = TB_POOL_MAX; t >= 1; t--) tb_pool_free(pl->p[t]);
    if (sd)
        for (int i = 0; i < cfg->n_shapes; i++) shape_free(&sd[i]);
    free(sd);
    free(pl);
    free(cases);
    free(ks);
    free(kcheck);
    if (rc < 0) {
        free(rows);
        free(kout);
        return -1;
    }
    if (cfg->checks_out) {
        *cfg->checks_out = kout;
        *cfg->n_checks_out = nk;
    } else {
        free(kout);
    }
    int timed = 0;
    for (int i = 0; i < n_rows; i++) timed += rows[i].timed;
    *rows_out = rows;
    *n_rows_out = n_rows;
    return timed;
}

/* ---- JSON ------------------------------------------------------------------------- */

void tb_bench_rows_write(tb_jw *w, const char *key, const tb_bench_row *rows, int n) {
    tb_jw_arr_begin(w, key);
    for (int i = 0; i < n; i++) {
        const tb_bench_row *r = &rows[i];
        tb_jw_obj_begin(w, NULL);
        tb_jw_str(w, "kernel", r->kernel);
        tb_jw_str(w, "shape", r->shape);
        tb_jw_int(w, "rows", r->rows);
        tb_jw_int(w, "cols", r->cols);
        tb_jw_int(w, "threads", r->threads);
        tb_jw_int(w, "n_tok", r->n_tok);
        tb_jw_bool(w, "exact", r->exact);
        tb_jw_bool(w, "on_device", r->on_device);
        tb_jw_bool(w, "timed", r->timed);
        if (r->timed) tb_jw_null(w, "why");
        else tb_jw_str(w, "why", r->why);
        tb_jw_num(w, "packed_bytes", r->packed_bytes);
        tb_jw_num(w, "bpw", r->bpw);
        tb_jw_int(w, "cold_copies", r->copies);
        if (r->timed) {
            tb_jw_num(w, "seconds", r->seconds);
            tb_jw_num(w, "seconds_sd", r->seconds_sd); /* NAN (one repetition) -> null */
            tb_jw_int(w, "reps", r->reps);
            tb_jw_num(w, "prep_seconds", r->prep_seconds);
            tb_jw_int(w, "iterations", r->iterations);
            tb_jw_num(w, "weight_gbps", r->gbps);
            tb_jw_num(w, "gops", r->gops);
        } else {
            tb_jw_null(w, "seconds");
            tb_jw_null(w, "seconds_sd");
            tb_jw_null(w, "reps");
            tb_jw_null(w, "prep_seconds");
            tb_jw_null(w, "iterations");
            tb_jw_null(w, "weight_gbps");
            tb_jw_null(w, "gops");
        }
        tb_jw_num(w, "bandwidth_gbps", r->bw_gbps);        /* NAN -> null */
        tb_jw_num(w, "roofline_frac", r->timed ? r->roofline_frac : NAN);
        tb_jw_obj_end(w);
    }
    tb_jw_arr_end(w);
}

int tb_bench_default_threads(int ncores, int *out, int max) {
    int n = 0;
    for (int t = 1; t < ncores && n < max; t *= 2) out[n++] = t;
    if (n < max && ncores >= 1) out[n++] = ncores;
    return n;
}

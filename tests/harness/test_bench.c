/* test_bench.c: the benchmark harness on a tiny case: the Google Benchmark shim
 * runs and its --benchmark_out JSON parses with the required fields; a kernel
 * that fails the correctness pre-check is never timed; rates are consistent
 * with the reported time.  Nothing here asserts a speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <unistd.h>

#include "bench.h"
#include "bench_shim.h"
#include "json.h"
#include "results.h"
#include "roofline.h"
#include "tb_build_config.h"
#include "tb_test.h"

/* ---- a deliberately broken kernel (NOT in the registry) ------------------- */
static const tb_kernel *base_kernel(void) {
    const tb_kernel *k = tb_kernel_find("gemv_i2s_4x128__scalar");
    return k;
}

static int broken_gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                       int32_t *acc) {
    int rc = base_kernel()->gemv(packed, rows, cols, q, prep, n, r0, r1, acc);
    if (rc == 0 && r0 <= rows / 2 && rows / 2 < r1) acc[rows / 2] += 1; /* off by one in one row */
    return rc;
}

static tb_kernel make_broken(void) {
    tb_kernel k = *base_kernel();
    k.name = "gemv_broken_test__scalar";
    k.gemv = broken_gemv;
    return k;
}

/* A correct kernel outside the registry too (the scalar one under another name),
 * so the test does not depend on which kernels the registry holds. */
static tb_kernel make_good(void) {
    tb_kernel k = *base_kernel();
    k.name = "gemv_good_test__scalar";
    return k;
}

static const tb_bench_shape tiny_shapes[] = {{"tiny", 64, 256}};

static void tiny_config(tb_bench_config *c, const tb_kernel *const *ks, int nk, const int *threads, int nt) {
    tb_bench_config_default(c);
    c->extra = ks;
    c->n_extra = nk;
    c->only_extra = true;
    c->shapes = tiny_shapes;
    c->n_shapes = 1;
    c->threads = threads;
    c->n_threads = nt;
    c->llc_bytes = 64 << 10; /* a few rotated copies, kept small */
    c->min_time = 0.002;
    c->reps = 1;
}

TB_TEST(precheck_refuses_broken_kernel) {
    if (!base_kernel()) TB_SKIP("gemv_i2s_4x128__scalar not registered");
    tb_kernel bad = make_broken(), good = make_good();
    tb_err e = {{0}};
    TB_CHECK(tb_bench_precheck(&good, 64, 256, 1, 7, &e) == 0);
    TB_CHECK(tb_bench_precheck(&bad, 64, 256, 1, 7, &e) < 0);
    TB_CHECK_MSG(strstr(e.msg, "gemv_broken_test__scalar") != NULL, "message names the kernel: %s", e.msg);
}

static void run_mixed(bool gbench) {
    tb_kernel bad = make_broken(), good = make_good();
    const tb_kernel *ks[2] = {&bad, &good};
    static const int th[2] = {1, 2};
    tb_bench_config c;
    tiny_config(&c, ks, 2, th, 2);
    c.use_gbench = gbench;
    char path[256], flag[300];
    snprintf(path, sizeof path, "/tmp/tb_test_mixed_%d.json", (int)getpid());
    snprintf(flag, sizeof flag, "--benchmark_out=%s", path);
    char *argv[1] = {flag};
    if (gbench) {
        c.gb_argc = 1;
        c.gb_argv = argv;
    }
    tb_bench_row *rows = NULL;
    int n = 0;
    tb_err e = {{0}};
    int timed = tb_bench_run(&c, &rows, &n, &e);
    TB_CHECK_MSG(timed == 2, "timed %d rows (%s)", timed, e.msg);
    TB_CHECK_EQ_INT(n, 4);
    for (int i = 0; i < n; i++) {
        tb_bench_row *r = &rows[i];
        if (!strcmp(r->kernel, bad.name)) {
            TB_CHECK(!r->timed);
            TB_CHECK_MSG(strstr(r->why, "FAILED") || strstr(r->why, "fail"), "why: %s", r->why);
            TB_CHECK(r->seconds == 0 && r->iterations == 0);
        } else {
            TB_CHECK(r->timed);
            TB_CHECK(r->seconds > 0 && r->iterations > 0);
            TB_CHECK(r->copies >= 2); /* cold: rotated copies */
            /* rates are derived from the time exactly as documented */
            TB_CHECK_NEAR(r->gbps, r->packed_bytes / r->seconds / 1e9, 1e-9 * r->gbps);
            TB_CHECK_NEAR(r->gops, 2.0 * 64 * 256 / r->seconds / 1e9, 1e-9 * r->gops);
            TB_CHECK_NEAR(r->bpw, r->packed_bytes * 8 / (64.0 * 256), 1e-12);
            TB_CHECK(r->roofline_frac != r->roofline_frac); /* no bandwidth given: NAN, not 0 */
        }
    }
    if (gbench) {
        /* Google Benchmark's own output lists the good kernel only. */
        char *text = NULL;
        size_t len = 0;
        TB_CHECK(tb_read_file(path, &text, &len, &e) == 0);
        unlink(path);
        tb_json *j = text ? tb_json_parse(text, len, &e) : NULL;
        const tb_json *b = j ? tb_json_get(j, "benchmarks") : NULL;
        TB_CHECK(b && b->len == 2);
        for (size_t i = 0; b && i < b->len; i++) {
            const char *name = tb_json_get_str(tb_json_at(b, i), "name");
            TB_CHECK(name && strstr(name, "gemv_good_test__scalar") && !strstr(name, "broken"));
        }
        tb_json_free(j);
        free(text);
    }
    free(rows);
}

TB_TEST(own_timer_skips_failing_kernel) {
    if (!base_kernel()) TB_SKIP("gemv_i2s_4x128__scalar not registered");
    run_mixed(false);
}

TB_TEST(gbench_skips_failing_kernel) {
    if (!base_kernel()) TB_SKIP("gemv_i2s_4x128__scalar not registered");
    if (!tb_bench_have_gbench()) TB_SKIP("built without Google Benchmark");
    run_mixed(true);
}

TB_TEST(gbench_json_has_required_fields) {
    if (!base_kernel()) TB_SKIP("gemv_i2s_4x128__scalar not registered");
    if (!tb_bench_have_gbench()) TB_SKIP("built without Google Benchmark");
    tb_kernel good = make_good();
    const tb_kernel *ks[1] = {&good};
    static const int th[1] = {1};
    tb_bench_config c;
    tiny_config(&c, ks, 1, th, 1);
    tb_bw_result bw = {1, 1, 1 << 20, 10.0, 9.0, 11.0}; /* a given roofline: 10 GB/s */
    c.bw = &bw;
    c.n_bw = 1;
    char path[256], flag[300];
    snprintf(path, sizeof path, "/tmp/tb_test_gbench_%d.json", (int)getpid());
    snprintf(flag, sizeof flag, "--benchmark_out=%s", path);
    char *argv[1] = {flag};
    c.use_gbench = true;
    c.gb_argc = 1;
    c.gb_argv = argv;
    tb_bench_row *rows = NULL;
    int n = 0;
    tb_err e = {{0}};
    int timed = tb_bench_run(&c, &rows, &n, &e);
    TB_CHECK_MSG(timed == 1, "%s", e.msg);
    char *text = NULL;
    size_t len = 0;
    TB_CHECK(tb_read_file(path, &text, &len, &e) == 0);
    unlink(path);
    tb_json *j = text ? tb_json_parse(text, len, &e) : NULL;
    TB_CHECK_MSG(j != NULL, "JSON parse: %s", e.msg);
    if (j) {
        TB_CHECK(tb_json_get(j, "context") != NULL);
        const tb_json *b = tb_json_get(j, "benchmarks");
        TB_CHECK(b && b->type == TB_JSON_ARRAY && b->len == 1);
        const tb_json *r = b ? tb_json_at(b, 0) : NULL;
        TB_CHECK(r != NULL);
        if (r) {
            const char *name = tb_json_get_str(r, "name");
            TB_CHECK(name && strstr(name, "gemv_good_test__scalar/tiny_64x256/threads:1"));
            TB_CHECK(tb_json_get_num(r, "iterations", -1) > 0);
            TB_CHECK(tb_json_get_num(r, "real_time", -1) > 0);
            double bps = tb_json_get_num(r, "bytes_per_second", -1);
            TB_CHECK(bps > 0);
            TB_CHECK(tb_json_get_num(r, "ops_per_second", -1) > 0);
            TB_CHECK_NEAR(tb_json_get_num(r, "bpw", -1), rows[0].bpw, 1e-9);
            /* roofline_frac = bytes_per_second / 10 GB/s */
            TB_CHECK_NEAR(tb_json_get_num(r, "roofline_frac", -1), bps / 10e9, 1e-6 * bps / 10e9 + 1e-12);
            TB_CHECK(tb_json_get(r, "prep_s") != NULL);
            TB_CHECK_EQ_INT(tb_json_get_num(r, "worker_threads", -1), 1);
            /* our row agrees with Google Benchmark's numbers */
            TB_CHECK_NEAR(rows[0].gbps * 1e9, bps, 1e-6 * bps);
            TB_CHECK_NEAR(rows[0].roofline_frac, bps / 10e9, 1e-6);
        }
        tb_json_free(j);
    }
    free(text);
    free(rows);
}

#if TB_HAVE_BENCHMARK
static int fail_cb(void *ctx, tb_gb_iter *it, char *why, size_t n) {
    (void)ctx;
    (void)it;
    snprintf(why, n, "deliberate failure");
    return -1;
}
static int errors_seen, plain_seen;
static void on_res(void *user, const tb_gb_result *r) {
    (void)user;
    if (r->error) errors_seen++;
    else plain_seen++;
    if (r->error) TB_CHECK(strstr(r->error_msg, "deliberate failure") != NULL);
}
#endif

TB_TEST(shim_error_run) {
    if (!tb_bench_have_gbench()) TB_SKIP("built without Google Benchmark");
#if TB_HAVE_BENCHMARK
    tb_gb_clear();
    tb_gb_spec s = {0};
    s.name = "failing_callback";
    s.fn = fail_cb;
    s.bytes_per_iter = 100;
    s.ops_per_iter = 100;
    tb_err e = {{0}};
    TB_CHECK(tb_gb_register(&s, &e) == 0);
    int ran = tb_gb_run(0, NULL, false, on_res, NULL, &e);
    TB_CHECK_EQ_INT(ran, 1);
    TB_CHECK_EQ_INT(errors_seen, 1);
    TB_CHECK_EQ_INT(plain_seen, 0);
    /* an unknown flag is a clear error */
    char bad[] = "--benchmark_no_such_flag=1";
    char *argv[1] = {bad};
    tb_gb_clear();
    TB_CHECK(tb_gb_register(&s, &e) == 0);
    TB_CHECK(tb_gb_run(1, argv, false, on_res, NULL, &e) < 0);
    TB_CHECK(strstr(e.msg, "no_such_flag") != NULL);
    tb_gb_clear();
#endif
}

TB_TEST(shapes_parse) {
    tb_bench_shape s;
    tb_err e;
    TB_CHECK(tb_bench_shape_parse("down", &s, &e) == 0 && s.rows == 2560 && s.cols == 6912);
    TB_CHECK(tb_bench_shape_parse("gateup", &s, &e) == 0 && s.rows == 13824 && s.cols == 2560);
    TB_CHECK(tb_bench_shape_parse("128x256", &s, &e) == 0 && s.rows == 128 && s.cols == 256);
    TB_CHECK(tb_bench_shape_parse("128x", &s, &e) < 0);
    TB_CHECK(tb_bench_shape_parse("0x5", &s, &e) < 0);
    TB_CHECK(tb_bench_shape_parse("nope", &s, &e) < 0);
    int th[8];
    int n = tb_bench_default_threads(6, th, 8);
    TB_CHECK(n == 4 && th[0] == 1 && th[1] == 2 && th[2] == 4 && th[3] == 6);
    n = tb_bench_default_threads(1, th, 8);
    TB_CHECK(n == 1 && th[0] == 1);
}

/* The roofline's batch sweep of kernel k on the tiny shape at `threads` threads, reps
 * repetitions: one timed row per n = 1, 8, 32, 128, 512, each with the operations of its
 * own n and its prep part inside its time; the caller's checker verdict is trusted
 * (checked).  The rows (NULL on failure), *n set. */
static tb_bench_row *roofline_rows(const tb_kernel *k, int threads, int reps, int *n) {
    const tb_kernel *ks[] = {k};
    tb_bench_config c;
    tiny_config(&c, ks, 1, &threads, 1);
    c.use_gbench = false;
    c.reps = reps;
    tb_bench_row *rows = NULL;
    tb_err e = {{0}};
    *n = 0;
    TB_CHECK_MSG(tb_roofline_run(&c, &tiny_shapes[0], ks, 1, threads, &rows, n, &e) == 0, "%s", e.msg);
    TB_CHECK_EQ_INT(*n, TB_ROOFLINE_NB);
    for (int i = 0; i < *n && rows; i++) {
        TB_CHECK_EQ_INT(rows[i].n_tok, tb_roofline_batches[i]);
        TB_CHECK_MSG(rows[i].timed, "n=%d not timed: %s", rows[i].n_tok, rows[i].why);
        TB_CHECK_NEAR(rows[i].gops, 2.0 * 64 * 256 * rows[i].n_tok / rows[i].seconds / 1e9, 1e-9 * rows[i].gops);
        TB_CHECK(rows[i].reps == reps && rows[i].prep_seconds >= 0 && rows[i].prep_seconds <= rows[i].seconds);
    }
    return rows;
}

TB_TEST(roofline_times_every_batch) {
    tb_kernel good = make_good();
    int n;
    tb_bench_row *rows = roofline_rows(&good, 1, 2, &n);
    for (int i = 0; i < n && rows; i++) TB_CHECK(rows[i].seconds_sd >= 0);
    free(rows);
}

/* A kernel that asks for the token split (batch_tokens 8) and counts the calls it gets for
 * half of a 512-token batch: only the split makes them (256 tokens per thread at 2
 * threads, each thread prepping its own), as the runner hands the batch out. */
static atomic_int half_calls;
static int split_gemv(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                      int32_t *acc) {
    if (n == 256) atomic_fetch_add(&half_calls, 1);
    return base_kernel()->gemv(packed, rows, cols, q, prep, n, r0, r1, acc);
}

TB_TEST(token_split_batches_are_timed_split) {
    tb_kernel split = make_good();
    split.name = "gemv_split_test__scalar";
    split.gemv = split_gemv;
    split.batch_tokens = 8;
    int n;
    tb_bench_row *rows = roofline_rows(&split, 2, 1, &n); /* prep part: the longest thread's */
    /* the 512-token batch went out by tokens: only its split makes 256-token calls */
    TB_CHECK_MSG(atomic_load(&half_calls) > 0, "no 256-token call: the 512-token batch was not split");
    free(rows);
}

/* The compute ceilings: one per ISA loop this CPU runs, each a positive finite GOPS. */
TB_TEST(peak_measure_per_isa) {
    tb_peak p[4];
    int n = tb_peak_measure(p, 4, 0.01);
    unsigned f = tb_cpu_features();
    int want = 0;
#if defined(__x86_64__)
    want = !!(f & TB_ISA_AVX2) + !!(f & TB_ISA_AVXVNNI) + !!(f & TB_ISA_AVX512VNNI);
#endif
    (void)f;
    TB_CHECK_EQ_INT(n, want);
    for (int i = 0; i < n; i++)
        TB_CHECK_MSG(p[i].gops_1t > 0 && p[i].gops_1t < 1e6, "%s: %g GOPS", p[i].isa, p[i].gops_1t);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }

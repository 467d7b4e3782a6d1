/* roofline.c: measured int8 compute ceilings and the batch sweep of a roofline (roofline.h). */
#include "roofline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "kernel.h"

const int tb_roofline_batches[TB_ROOFLINE_NB] = {1, 8, 32, 128, 512};

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define PEAK_ACC 12 /* independent accumulators: more than latency x issue width */
#define PEAK_INNER 256

/* Each function returns the multiply-adds done; the accumulators feed the result so
 * the compiler cannot drop the loop. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double loop_avx512vnni(long n, volatile int *sink) {
    __m512i acc[PEAK_ACC], a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_set1_epi32(i);
    for (long it = 0; it < n; it++)
        for (int j = 0; j < PEAK_INNER; j++)
            for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __m512i s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm512_add_epi32(s, acc[i]);
    *sink = _mm512_reduce_add_epi32(s);
    return (double)n * PEAK_INNER * PEAK_ACC * 64;
}

__attribute__((target("avx2,avxvnni"))) static double loop_avxvnni(long n, volatile int *sink) {
    __m256i acc[PEAK_ACC], a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm256_set1_epi32(i);
    for (long it = 0; it < n; it++)
        for (int j = 0; j < PEAK_INNER; j++)
            for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm256_dpbusd_avx_epi32(acc[i], a, b);
    __m256i s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm256_add_epi32(s, acc[i]);
    *sink = _mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7);
    return (double)n * PEAK_INNER * PEAK_ACC * 32;
}

__attribute__((target("avx2"))) static double loop_avx2(long n, volatile int *sink) {
    __m256i acc[PEAK_ACC], a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
    for (int i = 0; i < PEAK_ACC; i++) acc[i] = _mm256_set1_epi32(i);
    for (long it = 0; it < n; it++)
        for (int j = 0; j < PEAK_INNER; j++)
            for (int i = 0; i < PEAK_ACC; i++)
                acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    __m256i s = acc[0];
    for (int i = 1; i < PEAK_ACC; i++) s = _mm256_add_epi32(s, acc[i]);
    *sink = _mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7);
    return (double)n * PEAK_INNER * PEAK_ACC * 32;
}

typedef double (*peak_fn)(long n, volatile int *sink);

/* Best of 3 timings of about `seconds` each: issue-bound throughput is the fastest run. */
static double time_peak(peak_fn f, double seconds) {
    volatile int sink = 0;
    long n = 16;
    double t0 = tb_now(), macs = f(n, &sink), dt = tb_now() - t0;
    while (dt < seconds / 4 && n < (1L << 40)) {
        n *= 2;
        t0 = tb_now();
        macs = f(n, &sink);
        dt = tb_now() - t0;
    }
    double best = macs / dt;
    for (int r = 0; r < 3; r++) {
        t0 = tb_now();
        macs = f(n, &sink);
        dt = tb_now() - t0;
        if (macs / dt > best) best = macs / dt;
    }
    return 2 * best / 1e9;
}

int tb_peak_measure(tb_peak *out, int max, double seconds) {
    static const struct {
        unsigned need;
        const char *isa, *instr;
        peak_fn f;
    } loops[] = {
        {TB_ISA_AVX512VNNI, "avx512vnni", "vpdpbusd zmm (64 int8 multiply-adds)", loop_avx512vnni},
        {TB_ISA_AVXVNNI, "avxvnni", "vpdpbusd ymm (32 int8 multiply-adds)", loop_avxvnni},
        {TB_ISA_AVX2, "avx2", "vpmaddubsw+vpmaddwd+vpaddd ymm (32 int8 multiply-adds)", loop_avx2},
    };
    const unsigned have = tb_cpu_features();
    int n = 0;
    for (size_t i = 0; i < sizeof loops / sizeof loops[0] && n < max; i++) {
        if ((have & loops[i].need) != loops[i].need) continue;
        snprintf(out[n].isa, sizeof out[n].isa, "%s", loops[i].isa);
        snprintf(out[n].instr, sizeof out[n].instr, "%s", loops[i].instr);
        out[n].gops_1t = time_peak(loops[i].f, seconds);
        n++;
    }
    return n;
}
#else
int tb_peak_measure(tb_peak *out, int max, double seconds) {
    (void)out;
    (void)max;
    (void)seconds;
    return 0; /* no loop for this architecture yet: the roofline shows no compute ceiling */
}
#endif

void tb_peak_write(tb_jw *w, const char *key, const tb_peak *p, int n) {
    tb_jw_arr_begin(w, key);
    for (int i = 0; i < n; i++) {
        tb_jw_obj_begin(w, NULL);
        tb_jw_str(w, "isa", p[i].isa);
        tb_jw_str(w, "instruction", p[i].instr);
        tb_jw_num(w, "gops_1t", p[i].gops_1t);
        tb_jw_str(w, "ops", "2 per int8 multiply-add, one thread, issue-bound loop (harness/roofline.h)");
        tb_jw_obj_end(w);
    }
    tb_jw_arr_end(w);
}

int tb_roofline_run(const tb_bench_config *base, const tb_bench_shape *shape, const tb_kernel *const *ks, int nk,
                    int threads, tb_bench_row **rows, int *n_rows, tb_err *e) {
    *rows = NULL;
    *n_rows = 0;
    if (nk < 1) return 0;
    for (int b = 0; b < TB_ROOFLINE_NB; b++) {
        tb_bench_config c = *base;
        c.shapes = shape;
        c.n_shapes = 1;
        c.threads = &threads;
        c.n_threads = 1;
        c.n_tok = tb_roofline_batches[b];
        c.extra = ks;
        c.n_extra = nk;
        c.only_extra = true;
        c.checked = true;
        c.checks_out = NULL;
        c.n_checks_out = NULL;
        c.gb_argc = 0; /* gbench.json keeps the decode runs */
        c.gb_argv = NULL;
        tb_bench_row *r = NULL;
        int n = 0;
        if (tb_bench_run(&c, &r, &n, e) < 0) {
            free(*rows);
            *rows = NULL;
            *n_rows = 0;
            return -1;
        }
        tb_bench_row *grown = realloc(*rows, sizeof *grown * (size_t)(*n_rows + n));
        if (!grown) {
            free(r);
            return tb_fail(e, "roofline: out of memory");
        }
        memcpy(grown + *n_rows, r, sizeof *r * (size_t)n);
        *rows = grown;
        *n_rows += n;
        free(r);
    }
    return 0;
}

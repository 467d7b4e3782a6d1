/* test_lut_common.h: the exactness sweep shared by test_lut.c and test_bitserial.c.
 *
 * For every registered kernel of a family that this CPU supports, against
 * tb_matmul_ref (reference/bitlinear.h), bit for bit:
 *   - random weights (several zero densities) x random int8 in [-128, 127];
 *   - shapes with K not a multiple of the group/block, rows not a multiple of the tile,
 *     K spanning several int16 widening blocks, n = 1..3 activation rows;
 *   - unaligned [r0, r1) sub-ranges: rows outside stay untouched (sentinel);
 *   - batches n = 2..9, 17, 33, 130 (the GEMM paths: token blocks of 4 and 8 with every
 *     remainder, row chunks of 16 tiles / 64 rows crossed, K blocks crossed) on odd shapes,
 *     whole range and sub-ranges that start and end mid-tile and cross chunk boundaries;
 *   - adversarial extremes at K = 6912: all +1 / all -1 weights x all -128 / all +127;
 *   - pack -> unpack_row round trip; guard bytes after packed and prep buffers;
 *   - I2_S input (through tb_ternary_row), corrupt codes -> TB_KERR_CODE,
 *     bad ranges -> TB_KERR_SHAPE.
 * One TB test per family x ISA suffix (its own meson test): it SKIPs, whole, when the
 * CPU lacks the ISA; a part that did not run is never counted as passed.
 */
#ifndef TEST_LUT_COMMON_H
#define TEST_LUT_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitlinear.h"
#include "kernel.h"
#include "../tb_test.h"

#define GUARD 64
#define SENTINEL ((int32_t)0x7eadbeef)

static int n_run_;

typedef struct {
    tb_ternary w;
    int8_t *codes;
} tmat;

static inline tmat tmat_new(int rows, int cols) {
    tmat m;
    m.codes = malloc((size_t)rows * cols);
    m.w.name = "test";
    m.w.rows = rows;
    m.w.cols = cols;
    m.w.scale = 1.0f;
    m.w.layout = TB_TERN_CODES;
    m.w.data = (const uint8_t *)m.codes;
    return m;
}

static inline void fill_codes(tb_rng *g, int8_t *c, size_t n, unsigned zero_pct) {
    for (size_t i = 0; i < n; i++)
        c[i] = tb_rng_below(g, 100) < zero_pct ? 0 : (tb_rng_below(g, 2) ? 1 : -1);
}

static inline void fill_act(tb_rng *g, int8_t *q, size_t n) {
    for (size_t i = 0; i < n; i++) q[i] = (int8_t)((int)tb_rng_below(g, 256) - 128);
}

static inline uint8_t *alloc_guarded(size_t n) {
    uint8_t *p = malloc(n + GUARD);
    if (p) memset(p, 0xa5, n + GUARD);
    return p;
}

static inline int guard_ok(const uint8_t *p, size_t n) {
    for (size_t i = n; i < n + GUARD; i++)
        if (p[i] != 0xa5) return 0;
    return 1;
}

/* Packs w with k, checks guards and the unpack round trip (if codes given), runs
 * gemv over [r0, r1) for n activation rows q and compares with the reference.
 * Returns the number of mismatching outputs (0 = pass). */
static inline int run_case(const tb_kernel *k, const tb_ternary *w, const int8_t *codes, const int8_t *q, int n,
                    int r0, int r1, const char *what) {
    const int rows = w->rows, cols = w->cols;
    const size_t psz = k->packed_size(rows, cols);
    uint8_t *packed = alloc_guarded(psz);
    int32_t *ref = malloc(sizeof(int32_t) * (size_t)rows * n);
    int32_t *acc = malloc(sizeof(int32_t) * (size_t)rows * n);
    int8_t *row = malloc((size_t)cols), *back = malloc((size_t)cols);
    uint8_t *prep = NULL;
    size_t prsz = 0;
    int bad = 0;
    TB_CHECK(packed && ref && acc && row && back);
    if (!packed || !ref || !acc || !row || !back) goto done;

    int rc = k->pack(w, packed);
    TB_CHECK_MSG(rc == 0, "%s: pack failed %d (%s, %dx%d)", k->name, rc, what, rows, cols);
    if (rc) { bad++; goto done; }
    TB_CHECK_MSG(guard_ok(packed, psz), "%s: pack wrote past packed_size (%s, %dx%d)", k->name, what, rows, cols);
    if (codes) {
        for (int r = 0; r < rows; r++) {
            rc = k->unpack_row(packed, rows, cols, r, back);
            if (rc || memcmp(back, codes + (size_t)r * cols, (size_t)cols) != 0) {
                TB_CHECK_MSG(0, "%s: unpack_row(%d) differs from the codes (%s, %dx%d) rc=%d", k->name, r, what,
                             rows, cols, rc);
                bad++;
                break;
            }
        }
    }
    if (k->needs_prep) {
        prsz = k->prep_size(cols, n);
        prep = alloc_guarded(prsz);
        TB_CHECK(prep != NULL);
        if (!prep) goto done;
        rc = k->prep(q, cols, n, prep);
        TB_CHECK_MSG(rc == 0 && guard_ok(prep, prsz), "%s: prep rc=%d or wrote past prep_size", k->name, rc);
    }
    tb_matmul_ref(w, q, n, ref, row);
    for (size_t i = 0; i < (size_t)rows * n; i++) acc[i] = SENTINEL;
    rc = k->gemv(packed, rows, cols, q, prep, n, r0, r1, acc);
    TB_CHECK_MSG(rc == 0, "%s: gemv rc=%d (%s)", k->name, rc, what);
    for (int t = 0; t < n; t++)
        for (int r = 0; r < rows; r++) {
            int32_t want = (r >= r0 && r < r1) ? ref[(size_t)t * rows + r] : SENTINEL;
            int32_t got = acc[(size_t)t * rows + r];
            if (got != want) {
                if (bad < 5)
                    fprintf(stderr, "%s: %s %dx%d n=%d [%d,%d): acc[t=%d][r=%d] = %ld, want %ld\n", k->name, what,
                            rows, cols, n, r0, r1, t, r, (long)got, (long)want);
                bad++;
            }
        }
    TB_CHECK_MSG(bad == 0, "%s: %d mismatches (%s %dx%d n=%d [%d,%d))", k->name, bad, what, rows, cols, n, r0, r1);
done:
    free(packed); free(ref); free(acc); free(row); free(back); free(prep);
    return bad;
}

/* The registered EXACT kernels of `family` whose ISA suffix is `isa`; if one cannot run here,
 * *why says why (the caller skips the whole part: partial runs are never passes). */
static inline int family_kernels(const char *family, const char *isa, const tb_kernel **out, int max, const char **why) {
    int m = 0;
    *why = NULL;
    for (int i = 0; i < tb_n_kernels; i++) {
        const tb_kernel *k = tb_kernels[i];
        const char *suffix = strstr(k->name, "__");
        if (strcmp(k->family, family) != 0 || !suffix || strcmp(suffix + 2, isa) != 0) continue;
        if (!k->exact) continue; /* approximate (q8) kernels: test_lut_q8.c and `check` */
        if (!tb_kernel_supported(k, TB_ISA_ALL, why)) return 0;
        if (m < max) out[m++] = k;
    }
    return m;
}

static inline void sweep_errors_list(const tb_kernel *const *ks, int nk);
static inline void sweep_random_list(const tb_kernel *const *ks, int nk, uint64_t seed);
static inline void sweep_adversarial_list(const tb_kernel *const *ks, int nk);
static inline void sweep_batched_list(const tb_kernel *const *ks, int nk, uint64_t seed);
/* Every kernel of `family` with ISA suffix `isa` (expect of them): random shapes,
 * adversarial K = 6912, I2_S input and errors.  SKIPs when they cannot run here. */
static inline void sweep_family_isa(const char *family, const char *isa, int expect, uint64_t seed) {
    const tb_kernel *ks[32];
    const char *why = NULL;
    const int nk = family_kernels(family, isa, ks, 32, &why);
    if (why) TB_SKIP("%s kernels __%s: %s", family, isa, why);
    TB_CHECK_EQ_INT(nk, expect);
    sweep_random_list(ks, nk, seed);
    sweep_batched_list(ks, nk, seed);
    sweep_adversarial_list(ks, nk);
    sweep_errors_list(ks, nk);
    fprintf(stderr, "%s __%s: %d kernels, seed %llu, %d cases passed\n", family, isa, nk, (unsigned long long)seed, n_run_);
}

static inline void sweep_random_list(const tb_kernel *const *ks, int nk, uint64_t seed) {
    static const int shapes[][2] = {
        {1, 1}, {1, 2}, {2, 3}, {3, 5}, {31, 7}, {32, 64}, {33, 129}, {64, 191}, {65, 192}, {40, 193},
        {17, 255}, {96, 256}, {5, 257}, {70, 383}, {33, 385}, {63, 1000}, {64, 2560}, {9, 4097},
    };
    tb_rng g;
    tb_rng_seed(&g, seed);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int rows = shapes[s][0], cols = shapes[s][1];
        const int n = 1 + (int)(s % 3);
        tmat m = tmat_new(rows, cols);
        int8_t *q = malloc((size_t)n * cols);
        fill_codes(&g, m.codes, (size_t)rows * cols, (unsigned)(s * 37 % 90));
        fill_act(&g, q, (size_t)n * cols);
        /* whole range, then an unaligned sub-range */
        int r0 = (int)tb_rng_below(&g, (uint32_t)rows), r1 = r0 + 1 + (int)tb_rng_below(&g, (uint32_t)(rows - r0));
        for (int i = 0; i < nk; i++) {
            if (run_case(ks[i], &m.w, m.codes, q, n, 0, rows, "random") == 0) n_run_++;
            if (run_case(ks[i], &m.w, NULL, q, n, r0, r1, "random-subrange") == 0) n_run_++;
        }
        free(q);
        free(m.codes);
    }
}

/* The batched (prefill, n >= 2) paths: every n the GEMMs treat differently, odd shapes. */
static inline void sweep_batched_list(const tb_kernel *const *ks, int nk, uint64_t seed) {
    static const int cases[][3] = {
        /* rows, cols, n */
        {1, 1, 2},    {3, 5, 3},    {31, 7, 4},    {33, 129, 5},  {64, 191, 6},  {65, 192, 7},
        {40, 257, 8}, {17, 385, 9}, {70, 1000, 17}, {96, 4097, 33}, {545, 100, 130}, {33, 2560, 130},
    };
    tb_rng g;
    tb_rng_seed(&g, seed ^ 0xba7c4u);
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int rows = cases[s][0], cols = cases[s][1], n = cases[s][2];
        tmat m = tmat_new(rows, cols);
        int8_t *q = malloc((size_t)n * cols);
        fill_codes(&g, m.codes, (size_t)rows * cols, (unsigned)(s * 29 % 80));
        fill_act(&g, q, (size_t)n * cols);
        if (s == 3) memset(q, 0x80, (size_t)n * cols); /* all -128: the largest table entries */
        /* random unaligned sub-range, and one from mid-tile 1 to mid-tile of the last tile
         * (crosses the 16-tile / 64-row chunks where rows allow) */
        const int r0 = (int)tb_rng_below(&g, (uint32_t)rows), r1 = r0 + 1 + (int)tb_rng_below(&g, (uint32_t)(rows - r0));
        const int a0 = rows > 40 ? 37 : 0, a1 = rows > 40 ? rows - 3 : rows;
        for (int i = 0; i < nk; i++) {
            if (run_case(ks[i], &m.w, NULL, q, n, 0, rows, "batched") == 0) n_run_++;
            if (run_case(ks[i], &m.w, NULL, q, n, r0, r1, "batched-subrange") == 0) n_run_++;
            if (run_case(ks[i], &m.w, NULL, q, n, a0, a1, "batched-midtile") == 0) n_run_++;
        }
        free(q);
        free(m.codes);
    }
}

static inline void sweep_adversarial_list(const tb_kernel *const *ks, int nk) {
    const int rows = 33, cols = 6912;
    tmat m = tmat_new(rows, cols);
    int8_t *q = malloc((size_t)2 * cols);
    int32_t *acc = malloc(sizeof(int32_t) * rows * 2);
    const int wv[2] = {1, -1}, av[2] = {-128, 127};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            memset(m.codes, wv[a] == 1 ? 1 : 0xff, (size_t)rows * cols);
            /* row 0 keeps the extreme; the others alternate sign blocks to vary groups */
            for (int c = 0; c < cols; c++) m.codes[(size_t)5 * cols + c] = (int8_t)((c / 7) % 2 ? 1 : -1);
            memset(q, (uint8_t)av[b], (size_t)cols);
            for (int c = 0; c < cols; c++) q[cols + c] = (int8_t)(c % 2 ? 127 : -128);
            for (int i = 0; i < nk; i++) {
                if (run_case(ks[i], &m.w, NULL, q, 2, 0, rows, "adversarial") == 0) n_run_++;
                /* the documented extreme value, independent of the reference */
                const tb_kernel *k = ks[i];
                uint8_t *packed = malloc(k->packed_size(rows, cols));
                uint8_t *prep = k->needs_prep ? malloc(k->prep_size(cols, 1)) : NULL;
                if (packed && k->pack(&m.w, packed) == 0 && (!prep || k->prep(q, cols, 1, prep) == 0) &&
                    k->gemv(packed, rows, cols, q, prep, 1, 0, rows, acc) == 0)
                    TB_CHECK_EQ_INT(acc[0], (long long)wv[a] * av[b] * cols); /* e.g. -884736 */
                else
                    TB_CHECK_MSG(0, "%s: adversarial pack/prep/gemv failed", k->name);
                free(packed);
                free(prep);
            }
        }
    free(m.codes); free(q); free(acc);
}

/* I2_S input through tb_ternary_row, a corrupt code, bad ranges. */
static inline void sweep_errors_list(const tb_kernel *const *ks, int nk) {
    const int rows = 8, cols = 256;
    int8_t *codes = malloc((size_t)rows * cols), *q = malloc(cols);
    uint8_t *i2s = malloc(tb_i2s_nbytes(rows, cols));
    tb_rng g;
    tb_rng_seed(&g, 7);
    fill_codes(&g, codes, (size_t)rows * cols, 30);
    fill_act(&g, q, cols);
    tb_i2s_pack(codes, rows, cols, 0.5f, i2s);
    tb_ternary w = {"i2s", rows, cols, 0.5f, TB_TERN_I2S, i2s};
    for (int i = 0; i < nk; i++) {
        const tb_kernel *k = ks[i];
        if (run_case(k, &w, codes, q, 1, 0, rows, "i2s-input") == 0) n_run_++;
        uint8_t *packed = malloc(k->packed_size(rows, cols));
        uint8_t *prep = k->needs_prep ? malloc(k->prep_size(cols, 1)) : NULL;
        int32_t acc[8];
        TB_CHECK(k->pack(&w, packed) == 0);
        if (prep) TB_CHECK(k->prep(q, cols, 1, prep) == 0);
        TB_CHECK_EQ_INT(k->gemv(packed, rows, cols, q, prep, 1, 0, rows + 1, acc), TB_KERR_SHAPE);
        TB_CHECK_EQ_INT(k->gemv(packed, rows, cols, q, prep, 1, 3, 3, acc), TB_KERR_SHAPE);
        TB_CHECK_EQ_INT(k->gemv(packed, rows, cols, q, prep, 0, 0, rows, acc), TB_KERR_SHAPE);
        /* code 3 in the I2_S bytes (decodes to 2) must be rejected */
        uint8_t save = i2s[40];
        i2s[40] |= 0xc0;
        TB_CHECK_EQ_INT(k->pack(&w, packed), TB_KERR_CODE);
        i2s[40] = save;
        free(packed);
        free(prep);
    }
    free(codes); free(q); free(i2s);
}

/* A fast prep must write exactly the portable prep's bytes (shared layout), for K
 * around every chunk/pair boundary and n = 1..2. */
typedef int (*prep_fn)(const int8_t *q, int cols, int n, void *prep);
typedef size_t (*prep_size_fn)(int cols, int n);
static inline void check_prep_equal(const char *what, prep_fn portable, prep_fn fast, prep_size_fn size) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("%s: no AVX2 on this CPU", what);
    tb_rng g;
    tb_rng_seed(&g, 11);
    for (int cols = 1; cols <= 800; cols += (cols < 40 ? 1 : 37)) {
        for (int n = 1; n <= 2; n++) {
            int8_t *q = malloc((size_t)n * cols);
            size_t sz = size(cols, n);
            uint8_t *a = alloc_guarded(sz), *b = alloc_guarded(sz);
            fill_act(&g, q, (size_t)n * cols);
            if (cols == 7) memset(q, 0x80, (size_t)n * cols); /* all -128 */
            TB_CHECK(portable(q, cols, n, a) == 0);
            TB_CHECK(fast(q, cols, n, b) == 0);
            TB_CHECK_MSG(memcmp(a, b, sz) == 0 && guard_ok(b, sz), "%s: prep bytes differ, cols=%d n=%d", what,
                         cols, n);
            free(q); free(a); free(b);
        }
    }
}

#endif

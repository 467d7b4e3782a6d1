/* test_lut_q8.c: the approximate int8-table LUT kernels (gemv_tl1q8_32x4__*,
 * gemv_tl2q8_32x24__*; kernels/lut/tl.h "int8-quantized tables").
 *   - the rounding: tl_rshift_rne is C's rint (ties to even) for every T in range, and the
 *     portable prep's bytes are min(rint(T / 2^s), 127) + 128 recomputed from scratch;
 *   - the err_bound of each definition holds on random and extreme inputs and is reached
 *     exactly by crafted inputs (rounding: every group rounds the same way; TL1's
 *     saturation: all -1 weights x all -128);
 *   - (q8_avx512) the same sweep for the AVX-512 kernels, where the CPU has AVX-512;
 *   - (q8_avx2) the AVX2 prep writes the portable prep's bytes, and the AVX2 kernels equal
 *     their scalar definitions bit for bit on random, extreme and odd-shaped inputs,
 *     sub-ranges and batches (SKIP without AVX2);
 *   - the checker: a variant within the error bound but not bit-identical to its
 *     definition fails, a definition outside its bound fails, an approximate kernel
 *     without defined_by/err_bound (or defined by an exact kernel) fails with a clear
 *     message; the real q8 kernels pass; tb_kernel_best never picks one; `check --list`
 *     says approx and the model line never calls their logits bit-identical to the
 *     reference. */
#include "test_lut_common.h"
#include "check.h"
#include "../../kernels/lut/tl.h"

static const tb_kernel *K(const char *name) {
    const tb_kernel *k = tb_kernel_find(name);
    TB_CHECK_MSG(k != NULL, "%s not registered", name);
    return k;
}

/* Runs k on (w, q) for n tokens over [r0, r1) (rows outside get SENTINEL); NULL on error. */
static int32_t *run_k(const tb_kernel *k, const tb_ternary *w, const int8_t *q, int n, int r0, int r1) {
    const int rows = w->rows, cols = w->cols;
    uint8_t *packed = alloc_guarded(k->packed_size(rows, cols));
    uint8_t *prep = alloc_guarded(k->prep_size(cols, n));
    int32_t *acc = malloc(sizeof(int32_t) * (size_t)rows * n);
    int ok = packed && prep && acc && k->pack(w, packed) == 0 && k->prep(q, cols, n, prep) == 0 &&
             guard_ok(prep, k->prep_size(cols, n));
    if (ok) {
        for (size_t i = 0; i < (size_t)rows * n; i++) acc[i] = SENTINEL;
        ok = k->gemv(packed, rows, cols, q, prep, n, r0, r1, acc) == 0;
    }
    TB_CHECK_MSG(ok, "%s: pack/prep/gemv failed on %dx%d n=%d", k->name, rows, cols, n);
    free(packed);
    free(prep);
    if (!ok) { free(acc); return NULL; }
    return acc;
}

/* Largest |acc - ref| of k on (w, q), n tokens. */
static long long max_err(const tb_kernel *k, const tb_ternary *w, const int8_t *q, int n) {
    int32_t *acc = run_k(k, w, q, n, 0, w->rows), *ref = malloc(sizeof(int32_t) * (size_t)w->rows * n);
    int8_t *row = malloc((size_t)w->cols);
    long long m = -1;
    if (acc && ref && row) {
        tb_matmul_ref(w, q, n, ref, row);
        m = 0;
        for (size_t i = 0; i < (size_t)w->rows * n; i++) {
            long long d = llabs((long long)acc[i] - ref[i]);
            if (d > m) m = d;
        }
    }
    free(acc); free(ref); free(row);
    return m;
}

/* ---- rounding and prep ------------------------------------------------------------ */

TB_TEST(q8_rounding_is_rint) {
    for (int s = 1; s <= 2; s++)
        for (int v = -1024; v <= 1024; v++)
            TB_CHECK_MSG(tl_rshift_rne(v, s) == (int)rint(v / (double)(1 << s)), "v=%d s=%d: %d vs rint %g", v, s,
                         tl_rshift_rne(v, s), rint(v / (double)(1 << s)));
    TB_CHECK_EQ_INT(tl_rshift_rne(1, 1), 0);   /* 0.5 -> 0 */
    TB_CHECK_EQ_INT(tl_rshift_rne(3, 1), 2);   /* 1.5 -> 2 */
    TB_CHECK_EQ_INT(tl_rshift_rne(-6, 2), -2); /* -1.5 -> -2 */
    TB_CHECK_EQ_INT(tl_rshift_rne(383, 2), 96);
}

/* The portable q8 prep's bytes, recomputed from the definition with C's rint. */
TB_TEST(q8_prep_bytes_are_the_definition) {
    tb_rng g;
    tb_rng_seed(&g, 5);
    for (int gi = 2; gi <= 3; gi++) {
        for (int cols = 1; cols <= 200; cols += (cols < 30 ? 1 : 23)) {
            int8_t *q = malloc((size_t)cols);
            fill_act(&g, q, (size_t)cols);
            if (cols % 5 == 0) for (int c = 0; c < cols; c++) q[c] = c % 3 ? -128 : 127;
            const size_t sz = gi == 2 ? tl1q8_prep_size(cols, 1) : tl2q8_prep_size(cols, 1);
            uint8_t *p = alloc_guarded(sz);
            TB_CHECK((gi == 2 ? tl1q8_prep : tl2q8_prep)(q, cols, 1, p) == 0 && guard_ok(p, sz));
            const tl_dims d = tl_dims_of(gi, 1, cols);
            TB_CHECK_EQ_INT(sz, (size_t)d.pairs * 32); /* 16 bytes per group: half the exact prep */
            int bad = 0;
            for (int k = 0; k < 2 * d.pairs; k++)
                for (int e = 0; e < 16; e++) {
                    int T = 0;
                    for (int i = 0; i < gi; i++) {
                        const int c = gi * k + i, a = c < cols ? q[c] : 0;
                        const int wv = gi == 2 ? (i == 0 ? e / 3 - 1 : e % 3 - 1) : (e < 14 ? tl2_canon[e][i] : 0);
                        if (gi == 2 && e > 8) continue;
                        T += wv * a;
                    }
                    double t8 = rint(T / (gi == 2 ? 2.0 : 4.0));
                    if (t8 > 127) t8 = 127;
                    bad += p[(size_t)k * 16 + e] != (uint8_t)((int)t8 + 128);
                }
            TB_CHECK_MSG(bad == 0, "g=%d cols=%d: %d table bytes differ from min(rint(T/2^s),127)+128", gi, cols, bad);
            free(q); free(p);
        }
    }
}

/* ---- the bounds ------------------------------------------------------------------- */

TB_TEST(q8_err_bound_holds_and_is_reached) {
    const tb_kernel *d1 = K("gemv_tl1q8_32x4__scalar"), *d2 = K("gemv_tl2q8_32x24__scalar");
    const tb_kernel *a1 = tb_kernel_find("gemv_tl1q8_32x4__avx2"), *a2 = tb_kernel_find("gemv_tl2q8_32x24__avx2");
    const bool avx2 = tb_cpu_features() & TB_ISA_AVX2;
    if (!d1 || !d2) return;
    TB_CHECK_EQ_INT(d1->err_bound(6912), 6912);
    TB_CHECK_EQ_INT(d1->err_bound(7), 7);
    TB_CHECK_EQ_INT(d2->err_bound(2560), 2 * 854);
    TB_CHECK_EQ_INT(d2->err_bound(7), 6);
    /* random and extreme inputs: within the bound */
    tb_rng g;
    tb_rng_seed(&g, 9);
    const int shp[][2] = {{33, 7}, {40, 385}, {64, 2560}, {3, 6912}};
    for (int s = 0; s < 4; s++) {
        const int rows = shp[s][0], cols = shp[s][1];
        tmat m = tmat_new(rows, cols);
        int8_t *q = malloc((size_t)2 * cols);
        for (int fam = 0; fam < 3; fam++) {
            fill_codes(&g, m.codes, (size_t)rows * cols, fam == 1 ? 0 : 33);
            fill_act(&g, q, (size_t)2 * cols);
            if (fam == 2) for (int c = 0; c < 2 * cols; c++) q[c] = tb_rng_below(&g, 2) ? 127 : -128;
            const tb_kernel *ks[4] = {d1, d2, a1, a2};
            for (int i = 0; i < (avx2 ? 4 : 2); i++) {
                long long e = max_err(ks[i], &m.w, q, 2);
                TB_CHECK_MSG(e >= 0 && e <= ks[i]->err_bound(cols), "%s %dx%d fam %d: error %lld > bound %lld",
                             ks[i]->name, rows, cols, fam, e, (long long)ks[i]->err_bound(cols));
            }
        }
        free(q); free(m.codes);
    }
    /* crafted inputs that reach the bounds exactly (cols = 6912: 13.5 resp. 9 uint16 blocks) */
    const int rows = 35, cols = 6912;
    tmat m = tmat_new(rows, cols);
    int8_t *q = malloc((size_t)cols);
    for (int i = 0; i < (avx2 ? 2 : 1); i++) {
        const tb_kernel *k1 = i ? a1 : d1, *k2 = i ? a2 : d2;
        /* TL1 rounding: w = +1, (a0, a1) = (5, 0): T = 5 = 1 mod 4, T8 = rint(2.5) = 2: error -1 per group */
        memset(m.codes, 1, (size_t)rows * cols);
        for (int c = 0; c < cols; c++) q[c] = c % 2 ? 0 : 5;
        TB_CHECK_EQ_INT(max_err(k1, &m.w, q, 1), cols / 2); /* ceil(cols/2): the rounding part */
        /* TL1 saturation: all -1 x all -128: T = 256, T8 = 127: error 2 per group = err_bound */
        memset(m.codes, 0xff, (size_t)rows * cols);
        memset(q, 0x80, (size_t)cols);
        TB_CHECK_EQ_INT(max_err(k1, &m.w, q, 1), k1->err_bound(cols));
        /* TL2: w = (+1, 0, 0), a0 = 2 mod 8: T8 = rint(T/4) rounds half to even downward, error 2 */
        memset(m.codes, 0, (size_t)rows * cols);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c += 3) m.codes[(size_t)r * cols + c] = (int8_t)(r % 2 ? -1 : 1); /* both signs */
        for (int c = 0; c < cols; c++) q[c] = c % 3 ? (int8_t)(c * 7) : (int8_t)((c / 3) % 2 ? 10 : -6);
        TB_CHECK_EQ_INT(max_err(k2, &m.w, q, 1), k2->err_bound(cols));
    }
    free(q); free(m.codes);
}

/* ---- AVX2 == scalar definition ----------------------------------------------------- */

static void avx2_equals_scalar(const tb_kernel *a, const tb_kernel *s) {
    tb_rng g;
    tb_rng_seed(&g, 3);
    static const int shapes[][2] = {
        {1, 1}, {1, 2}, {2, 3}, {3, 5}, {31, 7}, {32, 64}, {33, 129}, {65, 192}, {40, 193},
        {17, 255}, {96, 256}, {5, 257}, {70, 383}, {33, 385}, {63, 1000}, {64, 2560}, {9, 4097}, {33, 6912},
    };
    int cases = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int rows = shapes[si][0], cols = shapes[si][1], n = 1 + (int)(si % 3);
        tmat m = tmat_new(rows, cols);
        int8_t *q = malloc((size_t)n * cols);
        for (int fam = 0; fam < 6; fam++) {
            switch (fam) {
            case 0: fill_codes(&g, m.codes, (size_t)rows * cols, 33); fill_act(&g, q, (size_t)n * cols); break;
            case 1: fill_codes(&g, m.codes, (size_t)rows * cols, 0);
                for (int c = 0; c < n * cols; c++) q[c] = tb_rng_below(&g, 2) ? 127 : -128;
                break;
            case 2: memset(m.codes, 0xff, (size_t)rows * cols); memset(q, 0x80, (size_t)n * cols); break; /* T = 256 */
            case 3: memset(m.codes, 1, (size_t)rows * cols); memset(q, 0x80, (size_t)n * cols); break;
            case 4: memset(m.codes, 1, (size_t)rows * cols); memset(q, 127, (size_t)n * cols); break;
            default: /* TL2's largest T (383 = (+1,-1,-1).(127,-128,-128)) and its negation */
                for (size_t i = 0; i < (size_t)rows * cols; i++) m.codes[i] = (int8_t)(i % 3 == 0 ? ((i / 3) % 2 ? -1 : 1) : -1);
                for (int c = 0; c < n * cols; c++) q[c] = (int8_t)(c % 3 == 0 ? 127 : -128);
                break;
            }
            int r0 = (int)tb_rng_below(&g, (uint32_t)rows), r1 = r0 + 1 + (int)tb_rng_below(&g, (uint32_t)(rows - r0));
            for (int sub = 0; sub < 2; sub++) {
                const int lo = sub ? r0 : 0, hi = sub ? r1 : rows;
                int32_t *x = run_k(a, &m.w, q, n, lo, hi), *y = run_k(s, &m.w, q, n, lo, hi);
                if (x && y) {
                    int bad = 0;
                    for (size_t i = 0; i < (size_t)rows * n; i++) bad += x[i] != y[i];
                    TB_CHECK_MSG(bad == 0, "%s != %s: %dx%d n=%d family %d [%d,%d): %d outputs differ", a->name, s->name,
                                 rows, cols, n, fam, lo, hi, bad);
                    cases++;
                }
                free(x); free(y);
            }
        }
        free(q); free(m.codes);
    }
    fprintf(stderr, "%s == %s: %d cases\n", a->name, s->name, cases);
}

static void prep_extremes_equal(prep_fn portable, prep_fn fast, prep_size_fn size, const char *what) {
    for (int cols = 1; cols <= 130; cols++) {
        for (int pat = 0; pat < 3; pat++) {
            int8_t *q = malloc((size_t)cols);
            for (int c = 0; c < cols; c++) q[c] = (int8_t)(pat == 0 ? -128 : pat == 1 ? 127 : (c % 3 == 0 ? 127 : -128));
            const size_t sz = size(cols, 1);
            uint8_t *x = alloc_guarded(sz), *y = alloc_guarded(sz);
            TB_CHECK(portable(q, cols, 1, x) == 0 && fast(q, cols, 1, y) == 0);
            TB_CHECK_MSG(memcmp(x, y, sz) == 0 && guard_ok(y, sz), "%s: bytes differ, cols %d pattern %d", what, cols, pat);
            free(q); free(x); free(y);
        }
    }
}

TB_TEST(q8_avx2) {
    if (!(tb_cpu_features() & TB_ISA_AVX2)) TB_SKIP("q8 AVX2 kernels and prep: no AVX2 on this CPU");
    check_prep_equal("tl1q8_prep_avx2", tl1q8_prep, tl1q8_prep_avx2, tl1q8_prep_size);
    check_prep_equal("tl2q8_prep_avx2", tl2q8_prep, tl2q8_prep_avx2, tl2q8_prep_size);
    prep_extremes_equal(tl1q8_prep, tl1q8_prep_avx2, tl1q8_prep_size, "tl1q8_prep_avx2 extremes");
    prep_extremes_equal(tl2q8_prep, tl2q8_prep_avx2, tl2q8_prep_size, "tl2q8_prep_avx2 extremes");
    const tb_kernel *a1 = K("gemv_tl1q8_32x4__avx2"), *s1 = K("gemv_tl1q8_32x4__scalar");
    const tb_kernel *a2 = K("gemv_tl2q8_32x24__avx2"), *s2 = K("gemv_tl2q8_32x24__scalar");
    if (a1 && s1) avx2_equals_scalar(a1, s1);
    if (a2 && s2) avx2_equals_scalar(a2, s2);
}

TB_TEST(q8_avx512) {
    if (!(tb_cpu_features() & TB_ISA_AVX512)) TB_SKIP("q8 AVX-512 kernels: no AVX-512 on this CPU");
    const tb_kernel *a1 = K("gemv_tl1q8_32x4__avx512"), *s1 = K("gemv_tl1q8_32x4__scalar");
    const tb_kernel *a2 = K("gemv_tl2q8_32x24__avx512"), *s2 = K("gemv_tl2q8_32x24__scalar");
    if (a1 && s1) avx2_equals_scalar(a1, s1); /* the same sweep: shapes, families, sub-ranges, n */
    if (a2 && s2) avx2_equals_scalar(a2, s2);
}

/* ---- descriptors, tb_kernel_best, the checker --------------------------------------- */

TB_TEST(q8_descriptors) {
    static const char *const pairs[][2] = {{"gemv_tl1q8_32x4__scalar", "gemv_tl1_32x4__scalar"},
                                           {"gemv_tl1q8_32x4__avx2", "gemv_tl1_32x4__scalar"},
                                           {"gemv_tl2q8_32x24__scalar", "gemv_tl2_32x24__scalar"},
                                           {"gemv_tl2q8_32x24__avx2", "gemv_tl2_32x24__scalar"}};
    for (int i = 0; i < 4; i++) {
        const tb_kernel *k = tb_kernel_find(pairs[i][0]), *x = tb_kernel_find(pairs[i][1]);
        if (!k && strstr(pairs[i][0], "avx2")) continue; /* x86 only */
        TB_CHECK_MSG(k && x, "%s", pairs[i][0]);
        if (!k || !x) continue;
        TB_CHECK(!k->exact && k->err_bound && k->defined_by && strcmp(k->family, "lut") == 0);
        const tb_kernel *d = tb_kernel_find(k->defined_by);
        TB_CHECK_MSG(d && d->isa == 0 && strcmp(d->defined_by, d->name) == 0, "%s: definition %s", k->name, k->defined_by);
        /* the exact kernels' packed layout, byte for byte */
        TB_CHECK(strcmp(k->layout, x->layout) == 0 && k->pack == x->pack && k->unpack_row == x->unpack_row &&
                 k->packed_size == x->packed_size);
        TB_CHECK_EQ_INT(k->prep_size(6912, 1) * 2, x->prep_size(6912, 1)); /* half the tables */
    }
    /* tb_kernel_best only picks exact kernels, whatever the mask */
    const unsigned masks[] = {0, TB_ISA_AVX2, TB_ISA_ALL};
    for (int i = 0; i < 3; i++) {
        const tb_kernel *b = tb_kernel_best(masks[i]);
        TB_CHECK(b && b->exact && strstr(b->name, "q8") == NULL);
    }
}

static int wrong_gemv_calls;
/* the real AVX2/scalar q8 result, +1 on one output (well within err_bound) */
static int gemv_plus1(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                      int r1, int32_t *acc) {
    const tb_kernel *s = tb_kernel_find("gemv_tl1q8_32x4__scalar");
    int rc = s->gemv(packed, rows, cols, q, prep, n, r0, r1, acc);
    if (!rc && r1 - 1 >= r0) acc[r1 - 1] += 1;
    wrong_gemv_calls++;
    return rc;
}
/* a "definition" off by err_bound + 1 on one output */
static int gemv_over_bound(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                           int r1, int32_t *acc) {
    const tb_kernel *s = tb_kernel_find("gemv_tl1q8_32x4__scalar");
    int rc = s->gemv(packed, rows, cols, q, prep, n, r0, r1, acc);
    if (!rc) acc[r0] += (int32_t)s->err_bound(cols) + 1;
    return rc;
}

static int check_fails(const tb_kernel *k, const char *needle) {
    tb_check_opts o;
    tb_check_opts_default(&o);
    o.quick = true;
    o.stop_after = 1;
    tb_check_result r;
    tb_err e = {{0}};
    int rc = tb_check_kernel(k, &o, &r, &e);
    TB_CHECK_MSG(rc == 1 && r.failed >= 1, "%s: check returned %d (%d failed), expected a failure", k->name, rc, r.failed);
    TB_CHECK_MSG(strstr(r.first_failure, needle) != NULL, "%s: failure line lacks \"%s\": %s", k->name, needle,
                 r.first_failure);
    return rc;
}

TB_TEST(q8_checker_catches_wrong_approximate_kernels) {
    const tb_kernel *s = K("gemv_tl1q8_32x4__scalar");
    if (!s) return;
    /* 1. a variant within the bound but not bit-identical to its definition */
    static tb_kernel plus1;
    plus1 = *s;
    plus1.name = "gemv_tl1q8_32x4__wrongplus1";
    plus1.gemv = gemv_plus1;
    check_fails(&plus1, "(the output of its definition gemv_tl1q8_32x4__scalar)");
    TB_CHECK(wrong_gemv_calls > 0);
    /* 2. a definition (defined_by = itself) outside its err_bound */
    static tb_kernel over;
    over = *s;
    over.name = "gemv_tl1q8_32x4__wrongdef";
    over.defined_by = "gemv_tl1q8_32x4__wrongdef";
    over.gemv = gemv_over_bound;
    tb_err e = {{0}};
    TB_CHECK(tb_kernel_register(&over, &e) == 0);
    check_fails(&over, "outside err_bound");
    /* 3. approximate without defined_by / err_bound; defined by an exact kernel; by a kernel
     *    of another layout */
    static tb_kernel nodef, nobound, byexact, otherlayout;
    nodef = *s, nodef.name = "gemv_tl1q8_32x4__nodef", nodef.defined_by = NULL;
    check_fails(&nodef, "without defined_by");
    nobound = *s, nobound.name = "gemv_tl1q8_32x4__nobound", nobound.err_bound = NULL;
    check_fails(&nobound, "without err_bound");
    byexact = *s, byexact.name = "gemv_tl1q8_32x4__byexact", byexact.defined_by = "gemv_tl1_32x4__scalar";
    check_fails(&byexact, "not a definition");
    otherlayout = *s, otherlayout.name = "gemv_tl1q8_32x4__otherlayout", otherlayout.defined_by = "gemv_tl2q8_32x24__scalar";
    check_fails(&otherlayout, "layout");
    /* 4. the real ones pass (a few cases each: check_scalar / check_avx2 run them all) */
    const char *names[] = {"gemv_tl1q8_32x4__scalar", "gemv_tl2q8_32x24__scalar", "gemv_tl1q8_32x4__avx2",
                           "gemv_tl2q8_32x24__avx2"};
    for (int i = 0; i < 4; i++) {
        const tb_kernel *k = tb_kernel_find(names[i]);
        if (!k || !tb_kernel_supported(k, TB_ISA_ALL, NULL)) continue;
        tb_check_opts o;
        tb_check_opts_default(&o);
        o.quick = true;
        for (int c = 20; c < 60; c += 3) { /* edge shapes, all families */
            o.only_case = c;
            tb_check_result r;
            TB_CHECK_MSG(tb_check_kernel(k, &o, &r, &e) == 0 && r.failed == 0, "%s case %d: %s", k->name, c,
                         r.first_failure);
        }
    }
}

/* `check --list` says approx; the model line reports the kernel as approximate, its logits
 * compared with its definition's, never "model: bit-identical" (to the reference). */
TB_TEST(q8_cli) {
    const char *exe = getenv("TERNBENCH");
    if (!exe) TB_SKIP("TERNBENCH (path of the binary) not set");
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "'%s' check --list --kernel 'gemv_tl?q8*' 2>&1", exe);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    if (p) pclose(p);
    TB_CHECK_MSG(strstr(out, "gemv_tl1q8_32x4__scalar\tlut\ttl1_32x4\tapprox") != NULL, "%s", out);
    TB_CHECK_MSG(strstr(out, "gemv_tl2q8_32x24__scalar\tlut\ttl2_32x24\tapprox") != NULL, "%s", out);
    const char *k = (tb_cpu_features() & TB_ISA_AVX2) ? "gemv_tl2q8_32x24__avx2" : "gemv_tl2q8_32x24__scalar";
    snprintf(cmd, sizeof cmd, "TB_NO_PIN=1 '%s' check --quick --kernel %s 2>&1", exe, k);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    int st = p ? pclose(p) : -1;
    TB_CHECK_MSG(st == 0 && strstr(out, "PASS ") && strstr(out, "approximate"), "%s", out);
    TB_CHECK_MSG(strstr(out, "model: bit-identical") == NULL, "%s", out);
    TB_CHECK_MSG(strstr(out, "model: approximate") != NULL, "%s", out);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }

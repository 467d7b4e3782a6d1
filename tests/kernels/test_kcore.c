/* test_kcore.c: the kernel infrastructure: registry, CPU features, driver, runner,
 * the int8-MAD family, and the checker itself (it must catch broken kernels). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../tb_test.h"
#include "bitlinear.h"
#include "check.h"
#include "cuda/tb_cuda.h"
#include "driver.h"
#include "runner.h"

/* ---- helpers -------------------------------------------------------------- */

typedef struct packed_w {
    int8_t *codes; /* (rows, cols) */
    tb_ternary t;
} packed_w;

static void fill_codes(packed_w *p, int rows, int cols, uint64_t seed) {
    tb_rng r;
    tb_rng_seed(&r, seed);
    p->codes = malloc((size_t)rows * cols);
    for (size_t i = 0; i < (size_t)rows * cols; i++) p->codes[i] = (int8_t)((int)tb_rng_below(&r, 3) - 1);
    p->t = (tb_ternary){.name = "t", .rows = rows, .cols = cols, .scale = 1, .layout = TB_TERN_CODES,
                        .data = (const uint8_t *)p->codes};
}

/* runs k on (w, q) with n tokens through the driver with `threads` threads */
static int run_kernel(const tb_kernel *k, const tb_ternary *w, const int8_t *q, int n, int threads, int32_t *acc) {
    void *packed = tb_alloc(k->packed_size(w->rows, w->cols));
    void *prep = k->needs_prep ? tb_alloc(k->prep_size(w->cols, n)) : NULL;
    tb_pool *pool = NULL;
    int rc = -100;
    if (packed && (!k->needs_prep || prep) && tb_pool_new(threads, false, &pool, NULL) == 0) {
        rc = k->pack(w, packed);
        if (!rc && k->needs_prep) rc = k->prep(q, w->cols, n, prep);
        if (!rc) rc = tb_gemv_parallel(pool, k, packed, w->rows, w->cols, q, prep, n, acc);
    }
    tb_pool_free(pool);
    tb_free(packed);
    tb_free(prep);
    return rc;
}


/* ---- registry ---------------------------------------------------------------- */

TB_TEST(registry_names_unique_and_grammar) {
    TB_CHECK(tb_n_kernels >= 2);
    for (int i = 0; i < tb_n_kernels; i++) {
        const tb_kernel *k = tb_kernels[i];
        TB_CHECK_MSG(strncmp(k->name, "gemv_", 5) == 0 && strstr(k->name, "__") != NULL, "%s", k->name);
        TB_CHECK(tb_kernel_find(k->name) == k);
        TB_CHECK(k->pack && k->unpack_row && k->gemv && k->packed_size && k->family && k->layout);
        TB_CHECK_MSG(!k->needs_prep || (k->prep && k->prep_size), "%s", k->name);
        TB_CHECK_MSG(k->tile_rows >= 1, "%s tile_rows %d", k->name, k->tile_rows);
        for (int j = 0; j < i; j++) TB_CHECK_MSG(strcmp(k->name, tb_kernels[j]->name) != 0, "duplicate %s", k->name);
    }
    TB_CHECK(tb_kernels[tb_n_kernels] == NULL);
    TB_CHECK(tb_kernel_find("gemv_nosuch__avx2") == NULL);
}

TB_TEST(glob) {
    TB_CHECK(tb_glob_match("*", "gemv_i2s_4x128__avx2"));
    TB_CHECK(tb_glob_match("gemv_i2s_*", "gemv_i2s_4x128__avx2"));
    TB_CHECK(tb_glob_match("*__avx2", "gemv_i2s_4x128__avx2"));
    TB_CHECK(tb_glob_match("*i2s*avx?", "gemv_i2s_4x128__avx2"));
    TB_CHECK(!tb_glob_match("*__avx2", "gemv_i2s_4x128__avx512"));
    TB_CHECK(!tb_glob_match("gemv", "gemv_i2s"));
    TB_CHECK(tb_glob_match("a*b*c", "aXXbYYc"));
    TB_CHECK(!tb_glob_match("a*b*c", "aXXbYYd"));
    TB_CHECK(tb_glob_match("", ""));
}

/* the detected features agree with the kernel's own /proc/cpuinfo flags */
TB_TEST(cpu_features_match_cpuinfo) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) TB_SKIP("no /proc/cpuinfo");
    char line[8192];
    bool avx2 = false, a512f = false, a512bw = false, a512vl = false, a512dq = false, vnni = false, found = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        found = true;
        char *tok = strtok(line, " \t\n:");
        while (tok) {
            avx2 |= !strcmp(tok, "avx2");
            a512f |= !strcmp(tok, "avx512f");
            a512bw |= !strcmp(tok, "avx512bw");
            a512vl |= !strcmp(tok, "avx512vl");
            a512dq |= !strcmp(tok, "avx512dq");
            vnni |= !strcmp(tok, "avx512_vnni");
            tok = strtok(NULL, " \t\n:");
        }
        break;
    }
    fclose(f);
    if (!found) TB_SKIP("no flags line in /proc/cpuinfo");
    const unsigned ft = tb_cpu_features();
    TB_CHECK_EQ_INT(!!(ft & TB_ISA_AVX2), avx2);
    TB_CHECK_EQ_INT(!!(ft & TB_ISA_AVX512), a512f && a512bw && a512vl && a512dq);
    if (!(ft & TB_ISA_AVX512)) TB_CHECK(!(ft & TB_ISA_AVX512VNNI));
    else TB_CHECK_EQ_INT(!!(ft & TB_ISA_AVX512VNNI), vnni);
}

TB_TEST(isa_masks) {
    unsigned m = 123;
    TB_CHECK(tb_isa_mask_from_name("scalar", &m) == 0 && m == 0);
    TB_CHECK(tb_isa_mask_from_name("avx2", &m) == 0 && (m & TB_ISA_AVX2) && !(m & TB_ISA_AVX512));
    TB_CHECK(tb_isa_mask_from_name("avx512vnni", &m) == 0 && (m & TB_ISA_AVX512VNNI) && !(m & TB_ISA_AVX512VBMI));
    TB_CHECK(tb_isa_mask_from_name("all", &m) == 0 && m == TB_ISA_ALL);
    TB_CHECK(tb_isa_mask_from_name("avx3", &m) < 0);
    char buf[64];
    tb_isa_describe(0, buf, sizeof buf);
    TB_CHECK(strcmp(buf, "scalar") == 0);
    tb_isa_describe(TB_ISA_AVX2 | TB_ISA_AVX512, buf, sizeof buf);
    TB_CHECK(strcmp(buf, "avx2 avx512") == 0);
}

/* --isa-max scalar forces a portable kernel; masked kernels say why */
TB_TEST(isa_max_scalar_forces_scalar) {
    const tb_kernel *b = tb_kernel_best(0);
    TB_CHECK(b != NULL);
    if (b) TB_CHECK_MSG(b->isa == 0 && b->exact && !b->on_device, "best(scalar) = %s", b->name);
    const tb_kernel *k = NULL;
    tb_err e = {{0}};
    TB_CHECK(tb_kernel_resolve("best", 0, &k, &e) == 0 && k && k->isa == 0);
    const tb_kernel *avx2 = tb_kernel_find("gemv_i2s_4x128__avx2");
    TB_CHECK(avx2 != NULL);
    if (avx2 && (tb_cpu_features() & TB_ISA_AVX2)) {
        const char *why = NULL;
        TB_CHECK(!tb_kernel_supported(avx2, 0, &why));
        TB_CHECK(why && strstr(why, "--isa-max"));
        TB_CHECK(tb_kernel_resolve("gemv_i2s_4x128__avx2", 0, &k, &e) < 0 && strstr(e.msg, "--isa-max"));
        TB_CHECK(tb_kernel_resolve("gemv_i2s_4x128__avx2", TB_ISA_ALL, &k, &e) == 0 && k == avx2);
        /* the default on an AVX2 machine is not a scalar kernel */
        TB_CHECK(tb_kernel_best(TB_ISA_ALL)->isa != 0);
    }
}

TB_TEST(resolve_names) {
    const tb_kernel *k = (const tb_kernel *)1;
    tb_err e = {{0}};
    TB_CHECK(tb_kernel_resolve("ref", TB_ISA_ALL, &k, &e) == 0 && k == NULL);
    TB_CHECK(tb_kernel_resolve(NULL, TB_ISA_ALL, &k, &e) == 0 && k == tb_kernel_best(TB_ISA_ALL));
    TB_CHECK(tb_kernel_resolve("", TB_ISA_ALL, &k, &e) == 0 && k == tb_kernel_best(TB_ISA_ALL));
    TB_CHECK(tb_kernel_resolve("gemv_i2s_4x128__scalar", TB_ISA_ALL, &k, &e) == 0 && k &&
             strcmp(k->name, "gemv_i2s_4x128__scalar") == 0);
    /* unknown name: a clear error naming it and suggesting close names */
    TB_CHECK(tb_kernel_resolve("gemv_i2s_9x9__avx2", TB_ISA_ALL, &k, &e) < 0);
    TB_CHECK(strstr(e.msg, "gemv_i2s_9x9__avx2") && strstr(e.msg, "no such kernel"));
    TB_CHECK_MSG(strstr(e.msg, "gemv_i2s_4x128__avx2") != NULL, "%s", e.msg);
    TB_CHECK(tb_kernel_resolve("zzz", TB_ISA_ALL, &k, &e) < 0 && strstr(e.msg, "zzz"));
}

/* ---- driver ------------------------------------------------------------------- */

TB_TEST(chunk_rows_are_whole_tiles_and_few) {
    const int rows_list[] = {1, 3, 4, 5, 31, 32, 33, 640, 2561, 6912};
    const int tiles[] = {1, 4, 32};
    for (size_t a = 0; a < sizeof rows_list / sizeof rows_list[0]; a++)
        for (size_t b = 0; b < 3; b++)
            for (int nth = 1; nth <= 7; nth++)
                for (int n = 1; n <= 2; n++) {
                    const int rows = rows_list[a], tile = tiles[b];
                    const int c = tb_gemv_chunk_rows(rows, tile, nth, n), chunks = (rows + c - 1) / c;
                    TB_CHECK(c >= tile && c % tile == 0 && c - tile < rows);
                    /* the smallest grab: about 8 per thread for decode, never more; 64 rows
                     * for a batch */
                    if (n == 1)
                        TB_CHECK_MSG(chunks <= 8 * nth, "rows %d tile %d nth %d: %d chunks", rows, tile, nth, chunks);
                    else
                        TB_CHECK_MSG(c == (rows < 64 ? (rows + tile - 1) / tile * tile : (64 + tile - 1) / tile * tile),
                                     "rows %d tile %d nth %d: batch grab %d", rows, tile, nth, c);
                }
}

/* A batch kernel that builds state per call (batch_rows > 0) gets each matrix in equal
 * calls, a multiple of the threads, each at least batch_rows rows where the matrix has them */
TB_TEST(even_rows_split_each_matrix_equally) {
    const int rows_list[] = {1, 5, 37, 640, 2560, 2561, 6912};
    for (size_t a = 0; a < sizeof rows_list / sizeof rows_list[0]; a++)
        for (int tile = 1; tile <= 32; tile *= 4)
            for (int nth = 1; nth <= 4; nth++)
                for (int br = 64; br <= 1024; br *= 4) {
                    const int rows = rows_list[a], c = tb_gemv_even_rows(rows, tile, nth, br);
                    const int calls = (rows + c - 1) / c;
                    const int want = (rows / (nth * br) > 1 ? rows / (nth * br) : 1) * nth;
                    TB_CHECK(c >= tile && c % tile == 0);
                    /* never more calls than the multiple of the threads asked for, and the
                     * shortest whole-tile length that gives no more */
                    TB_CHECK_MSG(calls <= want, "rows %d tile %d nth %d br %d: %d calls", rows, tile, nth, br, calls);
                    TB_CHECK_MSG(c - tile < (rows + want - 1) / want, "rows %d tile %d: calls of %d", rows, tile, c);
                    /* at least batch_rows per call where the matrix has nth * batch_rows rows */
                    if (rows >= nth * br) TB_CHECK_MSG(c >= br, "rows %d nth %d batch_rows %d: calls of %d", rows, nth, br, c);
                }
    /* 2B4T at 2 threads, batch_rows 1024: o and down in 2 calls, gate and up in 6 */
    TB_CHECK_EQ_INT(tb_gemv_even_rows(2560, 4, 2, 1024), 1280);
    TB_CHECK_EQ_INT(tb_gemv_even_rows(6912, 4, 2, 1024), 1152);
    TB_CHECK_EQ_INT(tb_gemv_even_rows(640, 4, 2, 1024), 320);
}

/* A fake kernel for the driver's hand-out: counts every (token, row) it is given and
 * refuses a range that does not start on a whole tile or runs past its matrix. */
static int gemv_cover(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                      int r1, int32_t *acc) {
    (void)packed, (void)cols, (void)q, (void)prep;
    if (r0 % 4 != 0 || r0 < 0 || r1 > rows || r0 >= r1) return TB_KERR_SHAPE;
    for (int t = 0; t < n; t++)
        for (int r = r0; r < r1; r++) acc[(size_t)t * rows + r]++;
    return 0;
}

/* a group of matrices: every row of every matrix computed exactly once, in whole tiles
 * counted from the matrix's own first row, for decode (guided grabs) and batches */
static void group_covers_every_row_once(int batch_rows) {
    const tb_kernel fake = {.name = "gemv_cover__scalar", .gemv = gemv_cover, .tile_rows = 4, .batch_rows = batch_rows};
    const int rows[4] = {2561, 37, 640, 5};
    for (int th = 1; th <= 3; th++) {
        tb_pool *p = NULL;
        TB_CHECK(tb_pool_new(th, false, &p, NULL) == 0);
        for (int count = 1; count <= 4; count++)
            for (int n = 1; n <= 3; n += 2) {
                tb_gemv_mat m[4];
                for (int i = 0; i < count; i++)
                    m[i] = (tb_gemv_mat){.packed = NULL, .rows = rows[i], .acc = calloc((size_t)n * rows[i], 4)};
                TB_CHECK_EQ_INT(tb_gemv_parallel_group(p, &fake, count, m, 8, NULL, NULL, n), 0);
                for (int i = 0; i < count; i++) {
                    int bad = 0;
                    for (int r = 0; r < n * rows[i]; r++) bad += m[i].acc[r] != 1;
                    TB_CHECK_MSG(bad == 0, "%d threads, %d matrices, n %d, batch_rows %d: matrix %d has %d rows not done once",
                                 th, count, n, batch_rows, i, bad);
                    free(m[i].acc);
                }
            }
        tb_gemv_mat none = {.rows = 0};
        TB_CHECK_EQ_INT(tb_gemv_parallel_group(p, &fake, 1, &none, 8, NULL, NULL, 1), TB_KERR_SHAPE);
        TB_CHECK_EQ_INT(tb_gemv_parallel_group(p, &fake, 5, &none, 8, NULL, NULL, 1), TB_KERR_SHAPE);
        tb_pool_free(p);
    }
}

TB_TEST(gemv_group_covers_every_row_once) {
    for (int br = 0; br <= 64; br += 64) /* guided grabs; equal calls per matrix */
        group_covers_every_row_once(br);
}

/* token shares: contiguous, in whole blocks, every token once, the last thread also
 * taking the remainder, no share more than one block longer than another */
TB_TEST(token_share_is_whole_blocks_and_even) {
    const int n_list[] = {1, 2, 31, 32, 33, 63, 64, 70, 128, 163, 512};
    for (size_t a = 0; a < sizeof n_list / sizeof n_list[0]; a++)
        for (int block = 1; block <= 32; block *= 32)
            for (int nth = 1; nth <= 5; nth++) {
                const int n = n_list[a];
                int next = 0, lo = 1 << 30, hi = 0;
                for (int tid = 0; tid < nth; tid++) {
                    int t0, t1;
                    tb_gemv_token_share(n, block, tid, nth, &t0, &t1);
                    TB_CHECK_MSG(t0 == next && t1 >= t0 && t0 % block == 0, "n %d block %d nth %d tid %d: [%d, %d)", n,
                                 block, nth, tid, t0, t1);
                    if (tid < nth - 1) TB_CHECK(t1 % block == 0);
                    const int whole = (tid < nth - 1 ? t1 : t1 - n % block) - t0;
                    lo = whole < lo ? whole : lo, hi = whole > hi ? whole : hi;
                    next = t1;
                }
                TB_CHECK_MSG(next == n && hi - lo <= block, "n %d block %d nth %d: ends at %d, shares %d..%d", n, block,
                             nth, next, lo, hi);
            }
}

/* A fake kernel for the token split: its prep records the activations and count it was
 * given; its gemv refuses a prep that is not for its own q and n, and counts every (token,
 * row), so the test sees each thread prep its own tokens and compute them once. */
typedef struct { const int8_t *q; int n; } fake_prep;
static size_t prep_size_rec(int cols, int n) { return (void)cols, (void)n, sizeof(fake_prep); }
static int prep_rec(const int8_t *q, int cols, int n, void *prep) {
    (void)cols;
    *(fake_prep *)prep = (fake_prep){q, n};
    return 0;
}
static int gemv_cover_prep(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                           int r1, int32_t *acc) {
    const fake_prep *fp = prep;
    if (!fp || fp->q != q || fp->n != n || r0 != 0 || r1 != rows) return TB_KERR_SHAPE;
    return gemv_cover(packed, rows, cols, q, prep, n, r0, r1, acc);
}

TB_TEST(tokens_group_covers_every_token_once) {
    const tb_kernel fake = {.name = "gemv_coverp__scalar", .gemv = gemv_cover_prep, .tile_rows = 4, .needs_prep = true,
                            .prep_size = prep_size_rec, .prep = prep_rec, .batch_tokens = 8};
    const int rows[2] = {37, 640}, n_list[4] = {1, 9, 16, 70};
    int8_t q[70 * 8] = {0};
    for (int th = 1; th <= 3; th++) {
        tb_pool *p = NULL;
        TB_CHECK(tb_pool_new(th, false, &p, NULL) == 0);
        fake_prep preps_mem[3];
        void *preps[3] = {&preps_mem[0], &preps_mem[1], &preps_mem[2]};
        for (int ni = 0; ni < 4; ni++) {
            const int n = n_list[ni];
            tb_gemv_mat m[2];
            for (int i = 0; i < 2; i++) m[i] = (tb_gemv_mat){.rows = rows[i], .acc = calloc((size_t)n * rows[i], 4)};
            double prep_s[3] = {-1, -1, -1};
            TB_CHECK_EQ_INT(tb_gemv_tokens_group(p, &fake, 2, m, 8, q, n, preps, prep_s), 0);
            for (int tid = 0; tid < th; tid++) TB_CHECK(prep_s[tid] >= 0 && prep_s[tid] < 1); /* every thread wrote its own */
            for (int i = 0; i < 2; i++) {
                int bad = 0;
                for (int r = 0; r < n * rows[i]; r++) bad += m[i].acc[r] != 1;
                TB_CHECK_MSG(bad == 0, "%d threads, n %d: matrix %d has %d (token, row)s not done once", th, n, i, bad);
                free(m[i].acc);
            }
        }
        tb_pool_free(p);
    }
}

/* real kernels: a group gives the bits of one call per matrix (q, k, v-like shapes) */
TB_TEST(gemv_group_equals_one_call_per_matrix) {
    const int cols = 700, rows[3] = {260, 68, 68}, n_list[2] = {1, 5};
    int8_t q[5 * 700];
    tb_rng r;
    tb_rng_seed(&r, 11);
    for (int i = 0; i < 5 * cols; i++) q[i] = (int8_t)((int)tb_rng_below(&r, 256) - 128);
    for (int ki = 0; ki < tb_n_kernels; ki++) {
        const tb_kernel *k = tb_kernels[ki];
        if ((k->isa & ~tb_cpu_features()) || k->on_device) continue;
        packed_w w[3];
        void *packed[3];
        for (int i = 0; i < 3; i++) {
            fill_codes(&w[i], rows[i], cols, 40 + i);
            packed[i] = tb_alloc(k->packed_size(rows[i], cols));
            TB_CHECK_EQ_INT(k->pack(&w[i].t, packed[i]), 0);
        }
        for (int ni = 0; ni < 2; ni++) {
            const int n = n_list[ni];
            void *prep = k->needs_prep ? tb_alloc(k->prep_size(cols, n)) : NULL;
            if (k->needs_prep) TB_CHECK_EQ_INT(k->prep(q, cols, n, prep), 0);
            tb_pool *p = NULL;
            TB_CHECK(tb_pool_new(3, false, &p, NULL) == 0);
            tb_gemv_mat m[3];
            int32_t *one[3];
            for (int i = 0; i < 3; i++) {
                m[i] = (tb_gemv_mat){.packed = packed[i], .rows = rows[i], .acc = malloc(sizeof(int32_t) * n * rows[i])};
                one[i] = malloc(sizeof(int32_t) * n * rows[i]);
                memset(m[i].acc, 0x33, sizeof(int32_t) * n * rows[i]);
                TB_CHECK_EQ_INT(tb_gemv_parallel(p, k, packed[i], rows[i], cols, q, prep, n, one[i]), 0);
            }
            TB_CHECK_EQ_INT(tb_gemv_parallel_group(p, k, 3, m, cols, q, prep, n), 0);
            for (int i = 0; i < 3; i++) {
                TB_CHECK_MSG(memcmp(one[i], m[i].acc, sizeof(int32_t) * n * rows[i]) == 0, "%s n %d matrix %d", k->name,
                             n, i);
                free(one[i]);
                free(m[i].acc);
            }
            tb_pool_free(p);
            tb_free(prep);
        }
        for (int i = 0; i < 3; i++) {
            tb_free(packed[i]);
            free(w[i].codes);
        }
    }
}

typedef struct count_arg {
    int hits[8];
} count_arg;
static void count_fn(void *arg, int tid, int nth) {
    count_arg *c = arg;
    if (tid < 8 && nth <= 8) c->hits[tid]++;
}

TB_TEST(pool_runs_every_thread_every_time) {
    tb_pool *p = NULL;
    TB_CHECK(tb_pool_new(3, false, &p, NULL) == 0);
    if (!p) return;
    TB_CHECK_EQ_INT(tb_pool_threads(p), 3);
    count_arg c = {{0}};
    for (int i = 0; i < 500; i++) tb_pool_run(p, count_fn, &c);
    for (int t = 0; t < 3; t++) TB_CHECK_EQ_INT(c.hits[t], 500);
    tb_pool_free(p);
    tb_err e = {{0}};
    TB_CHECK(tb_pool_new(-1, false, &p, &e) < 0 && p == NULL && e.msg[0]);
}

/* ---- kernels -------------------------------------------------------------------- */

/* unpack(pack(W)) == W for every kernel on its own, awkward shapes */
TB_TEST(packers_round_trip) {
    const int shp[][2] = {{1, 1}, {5, 129}, {33, 200}, {70, 2560}};
    for (int i = 0; i < tb_n_kernels; i++) {
        const tb_kernel *k = tb_kernels[i];
        for (size_t s = 0; s < 4; s++) {
            packed_w w;
            fill_codes(&w, shp[s][0], shp[s][1], 7 + s);
            uint8_t *packed = tb_alloc(k->packed_size(w.t.rows, w.t.cols));
            int8_t *row = malloc((size_t)w.t.cols);
            int rc = k->pack(&w.t, packed); /* no kernel refuses these shapes (none may skip) */
            TB_CHECK_MSG(rc == 0, "%s pack %dx%d rc %d", k->name, w.t.rows, w.t.cols, rc);
            for (int r = 0; r < w.t.rows && rc == 0; r++) {
                TB_CHECK(k->unpack_row(packed, w.t.rows, w.t.cols, r, row) == 0);
                if (memcmp(row, w.codes + (size_t)r * w.t.cols, (size_t)w.t.cols) != 0) {
                    TB_CHECK_MSG(0, "%s: unpack(pack(W)) != W at row %d of %dx%d", k->name, r, w.t.rows, w.t.cols);
                    break;
                }
            }
            tb_free(packed);
            free(row);
            free(w.codes);
        }
    }
}

/* a packer must reject a code outside -1/0/+1 (I2_S code 3 decodes to +2) */
TB_TEST(packers_reject_bad_codes) {
    int8_t codes[2 * 130];
    memset(codes, 0, sizeof codes);
    codes[131] = 2;
    tb_ternary t = {.name = "bad", .rows = 2, .cols = 130, .scale = 1, .layout = TB_TERN_CODES, .data = (const uint8_t *)codes};
    for (int i = 0; i < tb_n_kernels; i++) {
        const tb_kernel *k = tb_kernels[i];
        if (strcmp(k->family, "mad") != 0) continue;
        uint8_t *packed = tb_alloc(k->packed_size(2, 130));
        TB_CHECK_EQ_INT(k->pack(&t, packed), TB_KERR_CODE);
        tb_free(packed);
    }
}

/* every packer gives the same bytes from the GGUF I2_S layout, the HF packed layout and
 * plain codes (the MAD packer has a byte-table fast path for I2_S), and rejects an I2_S
 * code 3 */
TB_TEST(packers_agree_across_source_layouts) {
    /* 8x208: I2_S blocks straddle rows (slow path); rows*cols must be a multiple of 128, else
     * the I2_S scale (at byte rows*cols/4) overlaps the last block */
    const int shp[][2] = {{8, 256}, {12, 2560}, {8, 208}};
    for (size_t s = 0; s < 3; s++) {
        const int rows = shp[s][0], cols = shp[s][1];
        packed_w w;
        fill_codes(&w, rows, cols, 40 + s);
        uint8_t *i2s = malloc(tb_i2s_nbytes(rows, cols)), *hf = malloc((size_t)rows / 4 * cols);
        tb_i2s_pack(w.codes, rows, cols, 1.0f, i2s);
        tb_hf_pack(w.codes, rows, cols, hf);
        tb_ternary ti = w.t, th = w.t;
        ti.layout = TB_TERN_I2S, ti.data = i2s;
        th.layout = TB_TERN_HF_PACKED, th.data = hf;
        for (int i = 0; i < tb_n_kernels; i++) {
            const tb_kernel *k = tb_kernels[i];
            const size_t ps = k->packed_size(rows, cols);
            uint8_t *a = tb_alloc(ps), *b = tb_alloc(ps), *c = tb_alloc(ps);
            int ra = k->pack(&w.t, a), rb = k->pack(&ti, b), rc = k->pack(&th, c);
            TB_CHECK_MSG(ra == 0 && rb == 0 && rc == 0, "%s: %d %d %d", k->name, ra, rb, rc);
            TB_CHECK_MSG(memcmp(a, b, ps) == 0, "%s: I2_S-sourced pack differs (%dx%d)", k->name, rows, cols);
            TB_CHECK_MSG(memcmp(a, c, ps) == 0, "%s: HF-sourced pack differs (%dx%d)", k->name, rows, cols);
            if (strcmp(k->family, "mad") == 0) {
                uint8_t save = i2s[5];
                i2s[5] |= 0x30; /* a code-3 field */
                TB_CHECK_EQ_INT(k->pack(&ti, b), TB_KERR_CODE);
                i2s[5] = save;
            }
            tb_free(a);
            tb_free(b);
            tb_free(c);
        }
        free(i2s);
        free(hf);
        free(w.codes);
    }
}

/* ---- every kernel of one ISA: its own meson test (kcore_<isa>), SKIP where it cannot run ---- */

/* The ISA suffixes of the registry; each has its own meson test (kcore_<isa> here, and
 * check_<isa> / cuda_check running `ternbench check` on it). */
static const char *const isa_suffixes[] = {"scalar", "avx2", "avxvnni", "avx512", "avx512vnni", "cudaemu", "cuda"};

static const char *isa_of(const tb_kernel *k) {
    const char *s = strstr(k->name, "__");
    return s ? s + 2 : "";
}

/* true if /proc/cpuinfo's first flags line lists `flag` */
static bool cpuinfo_has(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return false;
    static char line[16384];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        for (char *tok = strtok(line, " \t\n:"); tok && !found; tok = strtok(NULL, " \t\n:")) found = !strcmp(tok, flag);
        break;
    }
    fclose(f);
    return found;
}

/* Why kernels of this ISA suffix cannot run here, from /proc/cpuinfo (not from the
 * project's own detection, which these tests check); NULL if they can. */
static const char *isa_absent(const char *isa) {
    const bool avx2 = cpuinfo_has("avx2") && cpuinfo_has("fma") && cpuinfo_has("bmi2") && cpuinfo_has("f16c");
    const bool a512 = avx2 && cpuinfo_has("avx512f") && cpuinfo_has("avx512bw") && cpuinfo_has("avx512vl") &&
                      cpuinfo_has("avx512dq");
    if (!strcmp(isa, "avx2") && !avx2) return "the CPU has no AVX2+FMA+BMI2+F16C";
    if (!strcmp(isa, "avxvnni") && !(avx2 && cpuinfo_has("avx_vnni"))) return "the CPU has no AVX-VNNI (avx_vnni)";
    if (!strcmp(isa, "avx512") && !a512) return "the CPU has no AVX-512 F+BW+VL+DQ";
    if (!strcmp(isa, "avx512vnni") && !(a512 && cpuinfo_has("avx512_vnni"))) return "the CPU has no AVX-512 VNNI";
    if (!strcmp(isa, "cuda") && !tb_cuda_available(NULL, 0)) return "no usable CUDA device";
    return NULL;
}

/* The adversarial case: all +1 weights x all -128 activations over K = 6912 (a peer's
 * int16 accumulation wraps here), and its mirror image. */
static void adversarial_k6912(const tb_kernel *k) {
    const int rows = 9, cols = 6912;
    int8_t *codes = malloc((size_t)rows * cols), *q = malloc(cols);
    int32_t acc[9];
    for (int sign = 1; sign >= -1; sign -= 2) {
        memset(codes, sign, (size_t)rows * cols); /* int8 1 or -1 (0xff) */
        memset(q, 0x80, cols);                     /* -128 */
        const long long expect = (long long)sign * cols * -128; /* -884736 or +884736 */
        tb_ternary t = {.name = "adv", .rows = rows, .cols = cols, .scale = 1, .layout = TB_TERN_CODES, .data = (const uint8_t *)codes};
        for (int j = 0; j < rows; j++) acc[j] = 12345;
        TB_CHECK_EQ_INT(run_kernel(k, &t, q, 1, 1, acc), 0);
        for (int j = 0; j < rows; j++) TB_CHECK_MSG(acc[j] == expect, "%s row %d: %d != %lld", k->name, j, acc[j], expect);
    }
    free(codes);
    free(q);
}

/* identical results for 1, 2 and 3 threads (n = 1 and n = 3); no kernel may refuse 1001x700 */
static void thread_invariance(const tb_kernel *k) {
    packed_w w;
    fill_codes(&w, 1001, 700, 99);
    int8_t q[3 * 700];
    tb_rng r;
    tb_rng_seed(&r, 5);
    for (int i = 0; i < 3 * 700; i++) q[i] = (int8_t)((int)tb_rng_below(&r, 256) - 128);
    int32_t *a1 = malloc(sizeof(int32_t) * 3 * 1001), *a2 = malloc(sizeof(int32_t) * 3 * 1001);
    for (int n = 1; n <= 3; n += 2) {
        memset(a1, 0x11, sizeof(int32_t) * 3 * 1001);
        TB_CHECK_EQ_INT(run_kernel(k, &w.t, q, n, 1, a1), 0);
        for (int th = 2; th <= 3; th++) {
            memset(a2, 0x22, sizeof(int32_t) * 3 * 1001);
            TB_CHECK(run_kernel(k, &w.t, q, n, th, a2) == 0);
            TB_CHECK_MSG(memcmp(a1, a2, sizeof(int32_t) * (size_t)n * 1001) == 0, "%s n=%d: 1 vs %d threads", k->name, n, th);
        }
    }
    free(a1);
    free(a2);
    free(w.codes);
}

/* model level: logits and every traced intermediate bit-identical to the reference */
static void model_identical(const tb_kernel *k) {
    double md = -1;
    bool ident = false;
    tb_err e = {{0}};
    TB_CHECK_MSG(tb_check_model(k, 2, 3, &md, &ident, &e) == 0, "%s: %s", k->name, e.msg);
    TB_CHECK_MSG(ident && md == 0, "%s: max |logit diff| %g", k->name, md);
}

/* the real I2_S file from bitnet.cpp (golden/): the runner repacks it from the on-disk
 * layout and must give logits bit-identical to the reference path */
static void golden_identical(const tb_model *m, const tb_kernel *k) {
    const int32_t toks[5] = {128000, 791, 6864, 315, 9822};
    const size_t V = (size_t)m->cfg.vocab;
    float *ref = malloc(sizeof(float) * 5 * V), *got = calloc(5 * V, sizeof(float));
    tb_state *st = NULL;
    tb_runner *run = NULL;
    tb_err e = {{0}};
    TB_CHECK(tb_state_new(m, 8, 5, &st, &e) == 0);
    TB_CHECK(st && tb_forward(st, NULL, toks, 5, 0, ref, true, &e) == 0);
    TB_CHECK_MSG(tb_runner_new(m, k, 2, &run, &e) == 0, "%s: %s", k->name, e.msg);
    if (st && run) {
        TB_CHECK(tb_runner_threads(run) == 2 && tb_runner_packed_bytes(run) > 0);
        tb_state_reset(st);
        TB_CHECK_MSG(tb_forward(st, tb_runner_backend(run), toks, 5, 0, got, true, &e) == 0, "%s: %s", k->name, e.msg);
        TB_CHECK_MSG(memcmp(ref, got, sizeof(float) * 5 * V) == 0, "%s: logits differ from the reference path", k->name);
    }
    tb_runner_free(run);
    tb_state_free(st);
    free(ref);
    free(got);
}

static tb_model *golden_model(void) {
    const char *dir = getenv("TERNBENCH_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/golden/tiny-bitnet-i2_s.gguf", dir ? dir : "");
    tb_model *m = NULL;
    tb_err e = {{0}};
    if (tb_model_load(path, &m, &e) < 0) fprintf(stderr, "%s: %s\n", path, e.msg);
    return m;
}

/* Every registered kernel with this ISA suffix: adversarial K = 6912, thread-count
 * invariance, model-level and golden-file bit identity.  Exactly the registry's count of
 * such kernels is tested; the test SKIPs (whole) when /proc/cpuinfo says they cannot run. */
static void isa_kernels(const char *isa) {
    const char *why = isa_absent(isa);
    if (why) TB_SKIP("gemv_*__%s: %s, so these kernels are not run here", isa, why);
    tb_model *m = golden_model();
    if (!m) TB_SKIP("the golden model (TERNBENCH_DATA/golden/tiny-bitnet-i2_s.gguf) is absent");
    int expected = 0, tested = 0;
    for (int i = 0; i < tb_n_kernels; i++) {
        const tb_kernel *k = tb_kernels[i];
        if (strcmp(isa_of(k), isa) != 0) continue;
        /* approximate kernels are never bit-identical to the reference: `check` (check_<isa>)
         * compares them with their definition, test_lut_q8.c proves their bounds */
        if (!k->exact && k->defined_by && k->err_bound) continue;
        expected++;
        const char *no = NULL;
        TB_CHECK_MSG(tb_kernel_supported(k, TB_ISA_ALL, &no) && k->exact && !k->on_device, "%s: %s", k->name,
                     no ? no : "not an exact CPU kernel");
        if (!tb_kernel_supported(k, TB_ISA_ALL, NULL)) continue;
        adversarial_k6912(k);
        thread_invariance(k);
        model_identical(k);
        golden_identical(m, k);
        tested++;
    }
    fprintf(stderr, "gemv_*__%s: %d of %d registered kernels tested\n", isa, tested, expected);
    TB_CHECK(expected > 0);
    TB_CHECK_EQ_INT(tested, expected);
    tb_model_free(m);
}

TB_TEST(per_isa_scalar) { isa_kernels("scalar"); }
TB_TEST(per_isa_avx2) { isa_kernels("avx2"); }
TB_TEST(per_isa_avxvnni) { isa_kernels("avxvnni"); }
TB_TEST(per_isa_avx512) { isa_kernels("avx512"); }
TB_TEST(per_isa_avx512vnni) { isa_kernels("avx512vnni"); }
TB_TEST(per_isa_cudaemu) { isa_kernels("cudaemu"); }

/* The runnable kernels are exactly those /proc/cpuinfo predicts, and every kernel's ISA
 * suffix has its own meson test (so none is silently left out of the summary). */
TB_TEST(runnable_kernels_match_cpuinfo) {
    int predicted = 0, runnable = 0;
    for (int i = 0; i < tb_n_kernels; i++) {
        const tb_kernel *k = tb_kernels[i];
        bool known = false;
        for (size_t s = 0; s < sizeof isa_suffixes / sizeof isa_suffixes[0]; s++) known |= !strcmp(isa_of(k), isa_suffixes[s]);
        TB_CHECK_MSG(known, "%s: ISA suffix without its own meson test", k->name);
        const bool p = isa_absent(isa_of(k)) == NULL, r = tb_kernel_supported(k, TB_ISA_ALL, NULL);
        TB_CHECK_MSG(p == r, "%s: /proc/cpuinfo says %s, tb_kernel_supported says %s", k->name, p ? "runs" : "cannot run",
                     r ? "runs" : "cannot run");
        predicted += p;
        runnable += r;
    }
    fprintf(stderr, "%d of %d registered kernels run on this machine\n", runnable, tb_n_kernels);
    TB_CHECK_EQ_INT(runnable, predicted);
}

/* the kernels labelled "checked through an emulation" are exactly the six that
 * test_kcore_emu.c (3 int8-MAD) and test_lut_emu.c (TL1, TL2, bit-serial AVX-512) emulate;
 * those tests assert the label for each of theirs */
TB_TEST(emulated_label_count) {
    int n = 0;
    for (int i = 0; i < tb_n_kernels; i++) n += tb_kernel_emulated_in_tests(tb_kernels[i]);
    TB_CHECK_EQ_INT(n, 6);
    TB_CHECK(!tb_kernel_emulated_in_tests(tb_kernel_find("gemv_w2a8_4x512__cuda"))); /* cudaemu is a port, not an emulation */
}

/* ---- the checker catches broken kernels ------------------------------------------ */

/* Like the scalar MAD kernel, but accumulates in int16 across blocks (the peer bug). */
#include "../../kernels/mad/i2s4x128.h"
static int gemv_wrap16(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                       int r1, int32_t *acc) {
    (void)q;
    const int kp = tb_i2s4_kp(cols), nb = kp / 128;
    const int32_t *qsum = prep;
    const int8_t *qpad = (const int8_t *)prep + tb_i2s4_sums_bytes(n);
    for (int r = r0; r < r1; r++)
        for (int t = 0; t < n; t++) {
            int16_t s = 0;
            const uint8_t *tile = (const uint8_t *)packed + (size_t)(r / 4) * nb * 128 + (r % 4) * 32;
            for (int c = 0; c < kp; c++) {
                int code = (tile[(c / 128) * 128 + (c % 32)] >> (2 * ((c % 128) / 32))) & 3;
                s = (int16_t)(s + code * qpad[(size_t)t * kp + c]);
            }
            acc[(size_t)t * rows + r] = s - qsum[t];
        }
    return 0;
}
/* Correct values, but writes one int32 past row r1 - 1 of the last token. */
static int gemv_overrun(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                        int r1, int32_t *acc) {
    int rc = tb_kernel_find("gemv_i2s_4x128__scalar")->gemv(packed, rows, cols, q, prep, n, r0, r1, acc);
    acc[(size_t)(n - 1) * rows + r1] = 0;
    return rc;
}
/* Correct values for every row, ignoring [r0, r1). */
static int gemv_allrows(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                        int r1, int32_t *acc) {
    (void)r0;
    (void)r1;
    return tb_kernel_find("gemv_i2s_4x128__scalar")->gemv(packed, rows, cols, q, prep, n, 0, rows, acc);
}
/* A packer that loses the weights of column 200 and beyond of row 0. */
static int pack_lossy(const tb_ternary *w, void *dst) {
    int rc = tb_i2s4_pack(w, dst);
    if (rc || w->cols <= 200) return rc;
    uint8_t *b = dst;
    for (int c = 200; c < w->cols; c++) {
        uint8_t *byte = b + (size_t)(c / 128) * 128 + (c % 32);
        int sh = 2 * ((c % 128) / 32);
        *byte = (uint8_t)((*byte & ~(3u << sh)) | (1u << sh));
    }
    return 0;
}

typedef struct fail_log {
    int lines;
    char first[512];
} fail_log;
static void log_fail(void *user, const char *line) {
    fail_log *f = user;
    if (!f->lines++) snprintf(f->first, sizeof f->first, "%s", line);
}

static void expect_caught(const tb_kernel *bad, const char *must_contain) {
    tb_check_opts o;
    tb_check_opts_default(&o);
    o.quick = true;
    o.seed = 77;
    fail_log fl = {0, ""};
    o.on_fail = log_fail;
    o.user = &fl;
    o.stop_after = 1;
    tb_check_result r;
    tb_err e = {{0}};
    int rc = tb_check_kernel(bad, &o, &r, &e);
    TB_CHECK_MSG(rc == 1 && r.failed > 0, "%s: not caught (rc %d, failed %d)", bad->name, rc, r.failed);
    TB_CHECK(fl.lines > 0);
    /* the line names the kernel, the seed, and a replay command */
    TB_CHECK_MSG(strstr(fl.first, bad->name) && strstr(fl.first, "--seed 77") && strstr(fl.first, "--case "),
                 "%s", fl.first);
    TB_CHECK_MSG(strstr(fl.first, must_contain) != NULL, "expected '%s' in: %s", must_contain, fl.first);
    /* replaying the reported case alone fails again */
    const char *cs = strstr(fl.first, "--case ");
    if (cs) {
        o.only_case = atoi(cs + 7);
        tb_check_result r2;
        TB_CHECK(tb_check_kernel(bad, &o, &r2, &e) == 1 && r2.cases == 1 && r2.failed == 1);
    }
}

TB_TEST(checker_catches_broken_kernels) {
    const tb_kernel *good = tb_kernel_find("gemv_i2s_4x128__scalar");
    TB_CHECK(good != NULL);
    if (!good) return;
    tb_kernel k = *good;
    k.name = "gemv_i2s_4x128__wrap16";
    k.gemv = gemv_wrap16;
    expect_caught(&k, "first differing index");
    k = *good;
    k.name = "gemv_i2s_4x128__overrun";
    k.gemv = gemv_overrun;
    expect_caught(&k, "guard word after the output clobbered");
    k = *good;
    k.name = "gemv_i2s_4x128__allrows";
    k.gemv = gemv_allrows;
    expect_caught(&k, "untouched poison");
    k = *good;
    k.name = "gemv_i2s_4x128__lossypack";
    k.pack = pack_lossy;
    expect_caught(&k, "unpack(pack(W)) != W");
}

/* the int16 peer bug shows up exactly on the K = 6912 adversarial family */
TB_TEST(checker_wrap16_fails_only_where_int16_wraps) {
    const tb_kernel *good = tb_kernel_find("gemv_i2s_4x128__scalar");
    if (!good) return;
    tb_kernel k = *good;
    k.name = "gemv_i2s_4x128__wrap16";
    k.gemv = gemv_wrap16;
    /* random inputs at K=2560 stay (mostly) in int16; the all(+1) x -128 case cannot */
    packed_w w;
    int8_t *q = malloc(6912);
    memset(q, 0x80, 6912);
    int8_t *codes = malloc(4 * 6912);
    memset(codes, 1, 4 * 6912);
    tb_ternary t = {.name = "adv", .rows = 4, .cols = 6912, .scale = 1, .layout = TB_TERN_CODES, .data = (const uint8_t *)codes};
    int32_t acc[4];
    TB_CHECK(run_kernel(&k, &t, q, 1, 1, acc) == 0);
    TB_CHECK(acc[0] != -6912 * 128); /* the bug is real ... */
    TB_CHECK(run_kernel(good, &t, q, 1, 1, acc) == 0);
    TB_CHECK_EQ_INT(acc[0], -6912 * 128); /* ... and the real kernel is immune */
    (void)w;
    free(q);
    free(codes);
}

/* Adds 1 to every output row 0: the model-level check must report it (not identical,
 * a non-zero logit difference), else "model: bit-identical" would prove nothing. */
static int gemv_row0_plus1(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                           int r1, int32_t *acc) {
    int rc = tb_kernel_find("gemv_i2s_4x128__scalar")->gemv(packed, rows, cols, q, prep, n, r0, r1, acc);
    for (int t = 0; t < n && r0 == 0; t++) acc[(size_t)t * rows] += 1;
    return rc;
}

TB_TEST(model_check_reports_broken_kernel) {
    tb_kernel k = *tb_kernel_find("gemv_i2s_4x128__scalar");
    k.name = "gemv_i2s_4x128__row0plus1";
    k.gemv = gemv_row0_plus1;
    double md = 0;
    bool ident = true;
    tb_err e = {{0}};
    TB_CHECK_MSG(tb_check_model(&k, 2, 3, &md, &ident, &e) == 0, "%s", e.msg);
    TB_CHECK(!ident);
    TB_CHECK_MSG(md > 0, "max |logit diff| %g", md);
    /* and the good kernel under the same driver is identical (the difference is the bug) */
    TB_CHECK(tb_check_model(tb_kernel_find("gemv_i2s_4x128__scalar"), 2, 3, &md, &ident, &e) == 0 && ident && md == 0);
}

/* A packer refusing (TB_KERR_SHAPE) shapes: counted as refused, never as passed; a
 * refused 2B4T shape is a failure. */
static int pack_refuse_small(const tb_ternary *w, void *dst) {
    return w->cols < 128 ? TB_KERR_SHAPE : tb_i2s4_pack(w, dst);
}
static int pack_refuse_2560(const tb_ternary *w, void *dst) {
    return w->rows == 2560 && w->cols == 2560 ? TB_KERR_SHAPE : tb_i2s4_pack(w, dst);
}

TB_TEST(checker_counts_refused_cases_apart) {
    tb_kernel k = *tb_kernel_find("gemv_i2s_4x128__scalar");
    k.name = "gemv_i2s_4x128__refusesmall";
    k.pack = pack_refuse_small;
    tb_check_opts o;
    tb_check_opts_default(&o);
    o.quick = true;
    tb_check_result r;
    tb_err e = {{0}};
    TB_CHECK_EQ_INT(tb_check_kernel(&k, &o, &r, &e), 0);
    /* edge shapes with K < 128: 1x1, 1x5, 3x127, 13x100, 33x64, 11x3, 130x96 */
    int small = 0;
    for (int i = 0; i < tb_check_ncases(&o); i++) {
        char d[128];
        int rows, cols;
        tb_check_case_desc(&o, i, d, sizeof d);
        if (sscanf(d, "%dx%d", &rows, &cols) == 2 && cols < 128) small++;
    }
    TB_CHECK(small > 0);
    TB_CHECK_EQ_INT(r.refused, small);
    TB_CHECK_EQ_INT(r.passed, r.cases - small);
    TB_CHECK_EQ_INT(r.failed, 0);
    k.name = "gemv_i2s_4x128__refuse2560";
    k.pack = pack_refuse_2560;
    fail_log fl = {0, ""};
    o.on_fail = log_fail;
    o.user = &fl;
    TB_CHECK_EQ_INT(tb_check_kernel(&k, &o, &r, &e), 1);
    TB_CHECK(r.failed >= 1 && r.refused == 0);
    TB_CHECK_MSG(strstr(fl.first, "refused a 2B4T shape") && strstr(fl.first, "2560x2560"), "%s", fl.first);
}

TB_TEST(checker_passes_good_kernel_and_skips_masked) {
    tb_check_opts o;
    tb_check_opts_default(&o);
    o.quick = true;
    tb_check_result r;
    tb_err e = {{0}};
    const tb_kernel *s = tb_kernel_find("gemv_i2s_4x128__scalar");
    TB_CHECK(tb_check_kernel(s, &o, &r, &e) == 0 && r.failed == 0 && r.refused == 0 && r.passed == r.cases &&
             r.cases == tb_check_ncases(&o));
    const tb_kernel *a = tb_kernel_find("gemv_i2s_4x128__avx512vnni");
    o.isa_mask = 0;
    TB_CHECK(tb_check_kernel(a, &o, &r, &e) == 0 && r.skipped && r.skip_reason && r.cases == 0);
}

/* ---- the CLI: usage errors exit 2, failures 1, --list prints names first ------------ */

static int run_cli(const char *args, char *out, size_t n) {
    const char *bin = getenv("TERNBENCH");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t len = fread(out, 1, n - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TB_TEST(cli_check) {
    if (!getenv("TERNBENCH")) TB_SKIP("TERNBENCH (path of the binary) not set");
    static char out[65536];
    TB_CHECK_EQ_INT(run_cli("check --help", out, sizeof out), 0);
    TB_CHECK(strstr(out, "--kernel GLOB") != NULL);
    TB_CHECK_EQ_INT(run_cli("check --kernel 'gemv_nosuch*'", out, sizeof out), 2);
    TB_CHECK(strstr(out, "matches no registered kernel") != NULL);
    TB_CHECK_EQ_INT(run_cli("check --isa-max avx3", out, sizeof out), 2);
    TB_CHECK_EQ_INT(run_cli("check --seed abc", out, sizeof out), 2);
    TB_CHECK_EQ_INT(run_cli("check --bogus", out, sizeof out), 2);
    TB_CHECK_EQ_INT(run_cli("check --kernel gemv_i2s_4x128__scalar --case 99999", out, sizeof out), 2); /* no such case: usage error */
    /* --list: one registered kernel per line, name first */
    TB_CHECK_EQ_INT(run_cli("check --list", out, sizeof out), 0);
    int lines = 0;
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"), lines++) {
        char name[128];
        TB_CHECK(sscanf(l, "%127s", name) == 1 && tb_kernel_find(name) != NULL);
    }
    TB_CHECK_EQ_INT(lines, tb_n_kernels);
    /* --isa-max scalar: SIMD kernels are reported as excluded and are skipped */
    if (tb_cpu_features() & TB_ISA_AVX2) {
        TB_CHECK_EQ_INT(run_cli("check --isa-max scalar --list --kernel gemv_i2s_4x128__avx2", out, sizeof out), 0);
        TB_CHECK_MSG(strstr(out, "excluded by --isa-max") != NULL, "%s", out);
        /* a requested kernel that could not be verified: exit 3, named as skipped */
        TB_CHECK_EQ_INT(run_cli("check --isa-max scalar --quick --no-model --kernel gemv_i2s_4x128__avx2", out, sizeof out), 3);
        TB_CHECK_MSG(strstr(out, "nothing checked") != NULL, "%s", out);
        TB_CHECK_MSG(strstr(out, "SKIP gemv_i2s_4x128__avx2") != NULL, "%s", out);
        TB_CHECK_MSG(strstr(out, "0 kernels passed, 0 failed, 1 skipped") && strstr(out, "NOT verified here (skipped): gemv_i2s_4x128__avx2"),
                     "%s", out);
        /* an emulated kernel is labelled as such, a plain one is not */
        TB_CHECK_EQ_INT(run_cli("check --isa-max scalar --quick --no-model --kernel 'gemv_tl1_32x4__avx*'", out, sizeof out), 3);
        TB_CHECK_MSG(strstr(out, "gemv_tl1_32x4__avx512") && strstr(out, "checked through an emulation of its instructions, never run here"), "%s", out);
        TB_CHECK_MSG(strstr(out, "excluded by --isa-max; not verified here"), "%s", out);
    }
    /* a single replayed case runs and passes */
    TB_CHECK_EQ_INT(run_cli("check --kernel gemv_i2s_4x128__scalar --seed 5 --case 30", out, sizeof out), 0);
    TB_CHECK_MSG(strstr(out, "1/1 cases passed") != NULL, "%s", out);
    /* --help documents every exit status */
    TB_CHECK_EQ_INT(run_cli("check --help", out, sizeof out), 0);
    TB_CHECK_MSG(strstr(out, "  0  every requested kernel ran here and passed") && strstr(out, "  3  nothing failed, but"),
                 "%s", out);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }

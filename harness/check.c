/* check.c: the kernel checker (check.h): shapes x input families, bit-exact against
 * tb_matmul_ref, poisoned outputs with guard words, packer round trips, sub-ranges,
 * batched activations, the threaded driver, and a model-level bit-identity check.
 * Approximate kernels (exact == false): one that names another kernel in defined_by is
 * compared bit for bit with that kernel's output on the same packed weights (its pack,
 * the same layout: the bytes must be identical) and activations, in every case; the
 * definition itself (defined_by == its own name) within err_bound(cols) of tb_matmul_ref
 * for every output.  An approximate kernel without defined_by and err_bound fails. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitlinear.h"
#include "check.h"
#include "driver.h"
#include "forward.h"
#include "runner.h"

/* ---- the case matrix ------------------------------------------------------ */

typedef struct shape {
    int rows, cols;
    bool big; /* a 2B4T decode shape */
} shape;

static const shape shapes[] = {
    /* 2B4T (docs/architecture.md §2): q/o, k/v, gate/up, down, fused qkv, fused gate|up */
    {2560, 2560, true}, {640, 2560, true}, {6912, 2560, true},
    {2560, 6912, true}, {3840, 2560, true}, {13824, 2560, true},
    /* edges: one row, tiny K, K not a multiple of any block, rows not a multiple of any tile */
    {1, 1, false},    {1, 5, false},     {3, 127, false},   {4, 128, false},  {5, 129, false},
    {7, 255, false},  {9, 257, false},   {1, 2560, false},  {13, 100, false}, {33, 64, false},
    {17, 383, false}, {2, 6912, false},  {31, 1000, false}, {65, 256, false}, {130, 96, false},
    {11, 3, false},   {37, 520, false},  {100, 2560, false},
};
enum { N_SHAPES = sizeof shapes / sizeof shapes[0] };

enum {
    F_RAND33,   /* weights uniform over -1/0/+1, q uniform over [-128, 127] */
    F_RAND0,    /* no zero weights */
    F_RAND90,   /* 90% zero weights */
    F_POS_NEG,  /* all +1 weights, all q = -128: the int16-wrap trap (sum = -128 K) */
    F_NEG_NEG,  /* all -1 weights, all q = -128 (sum = +128 K) */
    F_POS_POS,  /* all +1 weights, all q = +127 */
    F_EXTREME,  /* random weights, q only +127 / -128 */
    F_ZEROROWS, /* every third row all zero, the others random */
    F_ZEROQ,    /* random weights, q all zero */
    N_FAMILIES
};
static const char *const family_names[N_FAMILIES] = {
    "rand-zero33", "rand-zero0", "rand-zero90", "allpos-q-128", "allneg-q-128",
    "allpos-q+127", "rand-q-extremes", "zero-rows", "zero-q",
};

typedef struct tcase {
    int shape, family, n;
} tcase;

/* The case list, deterministic for given options.  Returns the count; fills out if non-NULL. */
static int build_cases(const tb_check_opts *o, tcase *out) {
    int c = 0;
#define ADD(s, f, nn)                                                       \
    do {                                                                    \
        if (out) out[c] = (tcase){.shape = (s), .family = (f), .n = (nn)};  \
        c++;                                                                \
    } while (0)
    for (int s = 0; s < N_SHAPES; s++) {
        if (shapes[s].big && o->quick) {
            ADD(s, F_RAND33, 1);
            if (shapes[s].cols == 6912) ADD(s, F_POS_NEG, 1);
            if (shapes[s].rows == 640) ADD(s, F_RAND33, 40); /* a prefill batch: one block of 32 tokens and 8 more */
            continue;
        }
        for (int f = 0; f < N_FAMILIES; f++) ADD(s, f, 1);
        /* batched activations (prefill path) */
        if (!shapes[s].big || shapes[s].rows <= 2560) ADD(s, F_RAND33, 3);
        if (!shapes[s].big) ADD(s, F_EXTREME, 2);
        /* a longer batch: kernels that block tokens (chunks of 4, 8, 16) get several
         * chunks and a remainder */
        if (!shapes[s].big && shapes[s].rows * shapes[s].cols >= 10000) ADD(s, F_RAND33, 21);
        /* prefill batches: kernels that switch to another method for whole blocks of 32
         * tokens (the i2s token-lane LUT) get two blocks and a remainder, the int16 traps
         * in one block, and (fused 3840 x 2560) more rows than one of their row sweeps (2560) */
        if (!shapes[s].big && shapes[s].rows * shapes[s].cols >= 10000) {
            ADD(s, F_RAND33, 70);
            ADD(s, F_NEG_NEG, 32);
            ADD(s, F_POS_NEG, 32);
        }
        if (shapes[s].big && shapes[s].rows == 3840) ADD(s, F_RAND33, 33);
    }
#undef ADD
    return c;
}

int tb_check_ncases(const tb_check_opts *o) { return build_cases(o, NULL); }

int tb_check_case_desc(const tb_check_opts *o, int i, char *buf, size_t n) {
    int nc = build_cases(o, NULL);
    if (i < 0 || i >= nc) return -1;
    tcase *cs = malloc(sizeof *cs * (size_t)nc);
    if (!cs) return -1;
    build_cases(o, cs);
    snprintf(buf, n, "%dx%d n=%d family=%s", shapes[cs[i].shape].rows, shapes[cs[i].shape].cols, cs[i].n,
             family_names[cs[i].family]);
    free(cs);
    return 0;
}

void tb_check_opts_default(tb_check_opts *o) {
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->isa_mask = TB_ISA_ALL;
    o->threads = 2;
    o->only_case = -1;
}

/* ---- inputs ----------------------------------------------------------------- */

static uint64_t case_seed(uint64_t seed, int id) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void gen_inputs(int family, int rows, int cols, int n, tb_rng *rng, int8_t *w, int8_t *q) {
    const size_t nw = (size_t)rows * cols, nq = (size_t)n * cols;
    for (size_t i = 0; i < nw; i++) {
        int v;
        switch (family) {
        case F_RAND0: v = tb_rng_below(rng, 2) ? 1 : -1; break;
        case F_RAND90: v = tb_rng_below(rng, 10) ? 0 : (tb_rng_below(rng, 2) ? 1 : -1); break;
        case F_POS_NEG: case F_POS_POS: v = 1; break;
        case F_NEG_NEG: v = -1; break;
        case F_ZEROROWS: v = (i / (size_t)cols) % 3 == 0 ? 0 : (int)tb_rng_below(rng, 3) - 1; break;
        default: v = (int)tb_rng_below(rng, 3) - 1; break;
        }
        w[i] = (int8_t)v;
    }
    for (size_t i = 0; i < nq; i++) {
        int v;
        switch (family) {
        case F_POS_NEG: case F_NEG_NEG: v = -128; break;
        case F_POS_POS: v = 127; break;
        case F_EXTREME: v = tb_rng_below(rng, 2) ? 127 : -128; break;
        case F_ZEROQ: v = 0; break;
        default: v = (int)tb_rng_below(rng, 256) - 128; break;
        }
        q[i] = (int8_t)v;
    }
}

/* ---- one case ----------------------------------------------------------------- */

enum { GUARD_WORDS = 16, GUARD_BYTES = 64 };
static const uint32_t GUARD = 0xA5A5A5A5u;
static const int32_t POISON = 0x7EADBEEF; /* unreachable: |acc| <= cols*128 */

typedef struct ctx {
    const tb_kernel *k;
    const tb_kernel *def; /* approximate k defined by another kernel: that kernel, else NULL */
    const tb_check_opts *o;
    tb_check_result *r;
    tb_pool *pool;
    int id;
    const tcase *tc;
    bool vs_full; /* a definition after its full-range pass: ref holds its own full output */
    bool failed;  /* this case */
    bool refused; /* this case: the packer refused the shape (TB_KERR_SHAPE) */
    int lines;
} ctx;

static void report(ctx *c, const char *what) {
    char line[512];
    const shape *s = &shapes[c->tc->shape];
    snprintf(line, sizeof line, "FAIL %s: case %d shape %dx%d n=%d family %s: %s; rerun: ternbench check --kernel %s --seed %llu%s --case %d",
             c->k->name, c->id, s->rows, s->cols, c->tc->n, family_names[c->tc->family], what, c->k->name,
             (unsigned long long)c->o->seed, c->o->quick ? " --quick" : "", c->id);
    if (!c->r->first_failure[0]) snprintf(c->r->first_failure, sizeof c->r->first_failure, "%s", line);
    int maxl = c->o->max_fail_lines > 0 ? c->o->max_fail_lines : 5;
    if (c->o->on_fail && c->lines < maxl) c->o->on_fail(c->o->user, line);
    c->lines++;
    c->failed = true;
}

/* acc: (GUARD_WORDS + n*rows + GUARD_WORDS) int32; body = acc + GUARD_WORDS */
static void poison(int32_t *acc, size_t body) {
    for (int i = 0; i < GUARD_WORDS; i++) {
        memcpy(&acc[i], &GUARD, 4);
        memcpy(&acc[GUARD_WORDS + body + (size_t)i], &GUARD, 4);
    }
    for (size_t i = 0; i < body; i++) acc[GUARD_WORDS + i] = POISON;
}

/* Largest |acc - tb_matmul_ref| of approximate results, absolute and as a fraction of
 * the bound. */
static void note_err(ctx *c, int64_t ad, int64_t bound) {
    if (ad > c->r->max_err) c->r->max_err = ad;
    const double f = bound > 0 ? (double)ad / (double)bound : (ad > 0 ? 1e9 : 0);
    if (f > c->r->max_err_frac) c->r->max_err_frac = f;
}

/* Compares rows [r0, r1) of every token with ref; rows outside must still be POISON.
 * cols: the shape's K (for err_bound). */
static void compare(ctx *c, const char *label, const int32_t *acc, const int32_t *ref, int rows, int cols, int n,
                    int r0, int r1) {
    const int32_t *body = acc + GUARD_WORDS;
    const size_t nb = (size_t)rows * n;
    for (int i = 0; i < GUARD_WORDS; i++) {
        uint32_t a, b;
        memcpy(&a, &acc[i], 4);
        memcpy(&b, &acc[GUARD_WORDS + nb + (size_t)i], 4);
        c->r->checks += 2;
        if (a != GUARD || b != GUARD) {
            char m[160];
            snprintf(m, sizeof m, "%s: guard word %s the output clobbered (word %d)", label,
                     a != GUARD ? "before" : "after", i);
            report(c, m);
            return;
        }
    }
    long long ndiff = 0;
    size_t first = 0;
    /* the definition of approximate results: within err_bound of ref; every other kernel
     * bit for bit (ref is tb_matmul_ref, or the definition's output when c->def is set) */
    const bool bounded = !c->k->exact && !c->def && !c->vs_full;
    const int64_t bound = bounded ? c->k->err_bound(cols) : 0;
    for (size_t i = 0; i < nb; i++) {
        int row = (int)(i % (size_t)rows);
        bool in = row >= r0 && row < r1;
        int32_t want = in ? ref[i] : POISON;
        c->r->checks++;
        bool bad;
        if (!in) {
            bad = body[i] != POISON;
        } else if (bounded) {
            const int64_t d = (int64_t)body[i] - want, ad = d < 0 ? -d : d;
            bad = body[i] == POISON || ad > bound;
            if (!bad) note_err(c, ad, bound);
        } else {
            bad = body[i] != want;
        }
        if (bad && ndiff++ == 0) first = i;
    }
    if (ndiff) {
        char m[400];
        int row = (int)(first % (size_t)rows), tok = (int)(first / (size_t)rows);
        bool in = row >= r0 && row < r1;
        if (in && bounded)
            snprintf(m, sizeof m, "%s rows [%d,%d): first index %zu (token %d, row %d) outside err_bound(%d) = %lld: got %d, reference %d, |error| %lld (%lld of %zu outside)",
                     label, r0, r1, first, tok, row, cols, (long long)bound, body[first], ref[first],
                     llabs((long long)body[first] - ref[first]), ndiff, nb);
        else
            snprintf(m, sizeof m, "%s rows [%d,%d): first differing index %zu (token %d, row %d): got %d, expected %s%d%s%s%s (%lld of %zu differ)",
                     label, r0, r1, first, tok, row, body[first], in ? "" : "untouched poison ",
                     in ? ref[first] : POISON,
                     in && c->def ? " (the output of its definition " : in && c->vs_full ? " (its own full-range output)" : "",
                     in && c->def ? c->def->name : "", in && c->def ? ")" : "", ndiff, nb);
        report(c, m);
    }
}

static const char *kerr_str(int rc) {
    switch (rc) {
    case TB_KERR_SHAPE: return "TB_KERR_SHAPE";
    case TB_KERR_CODE: return "TB_KERR_CODE";
    case TB_KERR_DEVICE: return "TB_KERR_DEVICE";
    case TB_KERR_NOMEM: return "TB_KERR_NOMEM";
    default: return "error";
    }
}

static bool guard_bytes_ok(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xA5) return false;
    return true;
}

/* The output of c->def (the definition of approximate k) for every row and token, on its
 * own packing (kept in *dpacked: k must produce the same bytes) and prep; checked within
 * the definition's err_bound of tb_matmul_ref (ref), then written over ref.  0, 1 when a
 * failure was reported, -1 out of memory. */
static int definition_output(ctx *c, const tb_ternary *t, const int8_t *q, int n, int32_t *ref, uint8_t **dpacked) {
    const tb_kernel *d = c->def;
    const int rows = t->rows, cols = t->cols;
    char m[300];
    if (d->packed_size(rows, cols) != c->k->packed_size(rows, cols)) {
        snprintf(m, sizeof m, "packed_size %zu differs from its definition %s's %zu (layout %s)",
                 c->k->packed_size(rows, cols), d->name, d->packed_size(rows, cols), c->k->layout);
        report(c, m);
        return 1;
    }
    const size_t psz = d->packed_size(rows, cols), prsz = d->needs_prep ? d->prep_size(cols, n) : 0;
    uint8_t *packed = tb_alloc(psz ? psz : 1), *prep = d->needs_prep ? tb_alloc(prsz ? prsz : 1) : NULL;
    int32_t *out = malloc(sizeof *out * (size_t)rows * n); /* (n, rows) */
    int ret = 0, rc;
    if (!packed || !out || (d->needs_prep && !prep)) {
        ret = -1;
        goto done;
    }
    if ((rc = d->pack(t, packed)) != 0 || (d->needs_prep && (rc = d->prep(q, cols, n, prep)) != 0) ||
        (rc = d->gemv(packed, rows, cols, q, prep, n, 0, rows, out)) != 0) {
        if (rc == TB_KERR_SHAPE && !shapes[c->tc->shape].big) {
            c->refused = true; /* the definition refuses this edge shape: nothing to compare */
            ret = 1;
            goto done;
        }
        snprintf(m, sizeof m, "its definition %s returned %s (%d) on pack/prep/gemv", d->name, kerr_str(rc), rc);
        report(c, m);
        ret = 1;
        goto done;
    }
    const int64_t bound = d->err_bound(cols);
    for (size_t i = 0; i < (size_t)rows * n; i++) {
        const int64_t df = (int64_t)out[i] - ref[i], ad = df < 0 ? -df : df;
        c->r->checks++;
        if (ad > bound) {
            snprintf(m, sizeof m, "its definition %s is outside its err_bound(%d) = %lld at index %zu: got %d, reference %d",
                     d->name, cols, (long long)bound, i, out[i], ref[i]);
            report(c, m);
            ret = 1;
            goto done;
        }
        note_err(c, ad, bound);
    }
    memcpy(ref, out, sizeof *out * (size_t)rows * n);
    *dpacked = packed;
    packed = NULL;
done:
    tb_free(packed);
    tb_free(prep);
    free(out);
    return ret;
}

/* The token split of a batch kernel (batch_tokens > 0): on the pool's threads, each one
 * prepping its own tokens into its own scratch (tb_gemv_tokens_group), bit for bit ref. */
static void check_token_split(ctx *c, const void *packed, int rows, int cols, const int8_t *q, int n, int32_t *acc,
                              const int32_t *ref, size_t body) {
    const tb_kernel *k = c->k;
    const int nth = tb_pool_threads(c->pool);
    void *preps[TB_POOL_MAX] = {0};
    char m[200];
    int rc = tb_gemv_preps_alloc(preps, nth, k->needs_prep ? k->prep_size(cols, n) : 0) < 0 ? TB_KERR_NOMEM : 0;
    poison(acc, body);
    const tb_gemv_mat mat = {.packed = packed, .rows = rows, .acc = acc + GUARD_WORDS};
    if (!rc) rc = tb_gemv_tokens_group(c->pool, k, 1, &mat, cols, q, n, preps, NULL);
    if (rc) {
        snprintf(m, sizeof m, "tb_gemv_tokens_group (%d threads) returned %s (%d)", nth, kerr_str(rc), rc);
        report(c, m);
    } else {
        snprintf(m, sizeof m, "token split %d threads", nth);
        compare(c, m, acc, ref, rows, cols, n, 0, rows);
    }
    tb_gemv_preps_free(preps, nth);
}

/* Returns -1 on out-of-memory, else 0 (failures are recorded in c). */
static int run_case(ctx *c, tb_rng *rng) {
    const tb_kernel *k = c->k;
    const shape *s = &shapes[c->tc->shape];
    const int rows = s->rows, cols = s->cols, n = c->tc->n;
    const size_t body = (size_t)rows * n;
    int8_t *w = malloc((size_t)rows * cols);             /* (rows, cols) */
    int8_t *q = malloc((size_t)n * cols);                /* (n, cols) */
    int8_t *row = malloc((size_t)cols);                  /* (cols) scratch */
    int32_t *ref = malloc(sizeof *ref * body);           /* (n, rows) */
    int32_t *acc = malloc(sizeof *acc * (body + 2 * GUARD_WORDS)); /* guard + (n, rows) + guard */
    const size_t psz = k->packed_size(rows, cols);
    uint8_t *packed = tb_alloc(psz + GUARD_BYTES);
    const size_t prsz = k->needs_prep ? k->prep_size(cols, n) : 0;
    uint8_t *prep = k->needs_prep ? tb_alloc(prsz + GUARD_BYTES) : NULL;
    uint8_t *dpacked = NULL; /* the definition's packed weights (approximate k with c->def) */
    int ret = 0;
    if (!w || !q || !row || !ref || !acc || !packed || (k->needs_prep && !prep)) {
        ret = -1;
        goto done;
    }
    gen_inputs(c->tc->family, rows, cols, n, rng, w, q);
    tb_ternary t = {.name = "check", .rows = rows, .cols = cols, .scale = 1.0f, .layout = TB_TERN_CODES,
                    .data = (const uint8_t *)w};
    tb_matmul_ref(&t, q, n, ref, row);
    if (c->def) {
        /* ref becomes the definition's output (itself within its err_bound of tb_matmul_ref) */
        int drc = definition_output(c, &t, q, n, ref, &dpacked);
        if (drc < 0) ret = -1;
        if (drc) goto done;
    }

    /* pack, with a guard after packed_size */
    memset(packed, 0xA5, psz + GUARD_BYTES);
    int rc = k->pack(&t, packed);
    if (rc == TB_KERR_SHAPE) {
        c->refused = true;
        if (s->big) report(c, "the packer refused a 2B4T shape (TB_KERR_SHAPE)");
        goto done;
    }
    char m[200];
    if (rc) {
        snprintf(m, sizeof m, "pack returned %s (%d)", kerr_str(rc), rc);
        report(c, m);
        goto done;
    }
    if (!guard_bytes_ok(packed + psz, GUARD_BYTES)) {
        snprintf(m, sizeof m, "pack wrote past packed_size() = %zu bytes", psz);
        report(c, m);
        goto done;
    }
    if (dpacked && memcmp(packed, dpacked, psz) != 0) {
        size_t j = 0;
        while (packed[j] == dpacked[j]) j++;
        snprintf(m, sizeof m, "packed bytes differ from its definition %s's (layout %s) at byte %zu of %zu", c->def->name,
                 k->layout, j, psz);
        report(c, m);
        goto done;
    }
    /* packer round trip: unpack(pack(W)) == W */
    for (int r = 0; r < rows; r++) {
        memset(row, 0x55, (size_t)cols);
        rc = k->unpack_row(packed, rows, cols, r, row);
        c->r->checks += cols;
        if (rc || memcmp(row, w + (size_t)r * cols, (size_t)cols) != 0) {
            int j = 0;
            while (j < cols && row[j] == w[(size_t)r * cols + j]) j++;
            if (rc) snprintf(m, sizeof m, "unpack_row(%d) returned %s", r, kerr_str(rc));
            else snprintf(m, sizeof m, "unpack(pack(W)) != W at row %d col %d: got %d, expected %d", r, j, row[j],
                          w[(size_t)r * cols + j]);
            report(c, m);
            goto done;
        }
    }
    /* prep, with a guard after prep_size */
    if (k->needs_prep) {
        memset(prep, 0xA5, prsz + GUARD_BYTES);
        rc = k->prep(q, cols, n, prep);
        if (rc) {
            snprintf(m, sizeof m, "prep returned %s (%d)", kerr_str(rc), rc);
            report(c, m);
            goto done;
        }
        if (!guard_bytes_ok(prep + prsz, GUARD_BYTES)) {
            snprintf(m, sizeof m, "prep wrote past prep_size() = %zu bytes", prsz);
            report(c, m);
            goto done;
        }
    }
    /* 1. the whole output */
    poison(acc, body);
    rc = k->gemv(packed, rows, cols, q, prep, n, 0, rows, acc + GUARD_WORDS);
    if (rc) {
        snprintf(m, sizeof m, "gemv(0, %d) returned %s (%d)", rows, kerr_str(rc), rc);
        report(c, m);
        goto done;
    }
    compare(c, "full", acc, ref, rows, cols, n, 0, rows);
    if (c->failed) goto done;
    if (!k->exact && !c->def) {
        /* a definition of approximate results: within err_bound above; every other pass
         * (sub-ranges, the driver) must reproduce its full-range output bit for bit */
        memcpy(ref, acc + GUARD_WORDS, sizeof *ref * body);
        c->vs_full = true;
    }

    /* 2. sub-ranges: tile-aligned r0, unaligned r0, the last row alone, a random range */
    const int tile = k->tile_rows > 0 ? k->tile_rows : 1;
    int ranges[4][2];
    int nr = 0;
    if (rows > 1) {
        const int a = (rows / 2) / tile * tile; /* < rows */
        const int b = a + ((rows - a) / 2 > 0 ? (rows - a) / 2 : 1);
        ranges[nr][0] = a, ranges[nr][1] = b, nr++;
        ranges[nr][0] = 1, ranges[nr][1] = rows > 3 ? rows - 1 : rows, nr++;
        ranges[nr][0] = rows - 1, ranges[nr][1] = rows, nr++;
        int r0 = (int)tb_rng_below(rng, (uint32_t)rows);
        int r1 = r0 + 1 + (int)tb_rng_below(rng, (uint32_t)(rows - r0));
        if (s->big) r1 = r0 + 1 + (r1 - r0 - 1) % 97; /* keep big shapes cheap */
        ranges[nr][0] = r0, ranges[nr][1] = r1, nr++;
    }
    for (int i = 0; i < nr && !c->failed; i++) {
        poison(acc, body);
        rc = k->gemv(packed, rows, cols, q, prep, n, ranges[i][0], ranges[i][1], acc + GUARD_WORDS);
        if (rc) {
            snprintf(m, sizeof m, "gemv(%d, %d) returned %s (%d)", ranges[i][0], ranges[i][1], kerr_str(rc), rc);
            report(c, m);
            break;
        }
        compare(c, "sub-range", acc, ref, rows, cols, n, ranges[i][0], ranges[i][1]);
    }
    if (c->failed) goto done;

    /* 3. the threaded driver (static split at tile multiples) */
    if (c->pool) {
        poison(acc, body);
        rc = tb_gemv_parallel(c->pool, k, packed, rows, cols, q, prep, n, acc + GUARD_WORDS);
        if (rc) {
            snprintf(m, sizeof m, "tb_gemv_parallel (%d threads) returned %s (%d)", tb_pool_threads(c->pool),
                     kerr_str(rc), rc);
            report(c, m);
            goto done;
        }
        snprintf(m, sizeof m, "driver %d threads", tb_pool_threads(c->pool));
        compare(c, m, acc, ref, rows, cols, n, 0, rows);
    }
    /* 4. the token split, for a kernel that asks for it and a batch it takes */
    if (c->pool && !c->failed && tb_gemv_splits_tokens(k, tb_pool_threads(c->pool), n))
        check_token_split(c, packed, rows, cols, q, n, acc, ref, body);
done:
    free(w);
    free(q);
    free(row);
    free(ref);
    free(acc);
    tb_free(packed);
    tb_free(prep);
    tb_free(dpacked);
    return ret;
}

/* TERNBENCH_TEST_CRASH="KERNEL:CASE" makes the checker crash (SIGSEGV) when it reaches
 * that case of that kernel: how the tests prove that `check` isolates a crashing kernel
 * and prints a rerun line that replays the case.  -1 when unset or another kernel. */
static int test_crash_case(const tb_kernel *k) {
    const char *v = getenv("TERNBENCH_TEST_CRASH");
    const size_t n = strlen(k->name);
    if (!v || strncmp(v, k->name, n) || v[n] != ':') return -1;
    return atoi(v + n + 1);
}

/* What an approximate kernel must declare for its results to be checkable (kernel.h):
 * err_bound, and defined_by naming a registered portable kernel of the same layout that
 * defines itself (defined_by == its own name, err_bound set).  *def = that kernel when it
 * is not k; bad gets the reason when the declaration is unusable. */
static void approx_contract(const tb_kernel *k, const tb_kernel **def, char *bad, size_t n) {
    *def = NULL;
    if (!k->defined_by || !k->err_bound) {
        snprintf(bad, n, "approximate kernel (exact = false) without %s%s%s: its results are undefined, so it cannot be "
                 "checked (declare the portable kernel whose results define them, and the error bound; kernel.h)",
                 !k->defined_by ? "defined_by" : "", !k->defined_by && !k->err_bound ? " and " : "",
                 !k->err_bound ? "err_bound" : "");
        return;
    }
    const tb_kernel *d = tb_kernel_find(k->defined_by);
    if (!d) {
        snprintf(bad, n, "defined_by %s is not a registered kernel", k->defined_by);
        return;
    }
    if (d == k) {
        if (k->isa != 0 || k->on_device)
            snprintf(bad, n, "defines itself (defined_by = its own name) but is not portable C (isa %#x%s): the "
                     "definition of approximate results must run everywhere", k->isa, k->on_device ? ", on device" : "");
        return;
    }
    if (d->exact || !d->defined_by || strcmp(d->defined_by, d->name) != 0 || !d->err_bound)
        snprintf(bad, n, "defined_by %s, which is not a definition (an approximate kernel with defined_by = its own "
                 "name and an err_bound)", d->name);
    else if (strcmp(d->layout, k->layout) != 0)
        snprintf(bad, n, "defined_by %s, whose layout %s is not its layout %s (the definition is run on the same "
                 "packed bytes)", d->name, d->layout, k->layout);
    else if (d->isa != 0 || d->on_device)
        snprintf(bad, n, "defined_by %s, which is not portable C", d->name);
    else
        *def = d;
}

int tb_check_kernel(const tb_kernel *k, const tb_check_opts *o, tb_check_result *r, tb_err *e) {
    memset(r, 0, sizeof *r);
    const double t0 = tb_now();
    const char *why = NULL;
    if (!tb_kernel_supported(k, o->isa_mask, &why)) {
        r->skipped = true;
        r->skip_reason = why;
        return 0;
    }
    const tb_kernel *def = NULL;
    if (!k->exact) {
        char bad[400] = "";
        approx_contract(k, &def, bad, sizeof bad);
        if (bad[0]) {
            r->failed = 1;
            snprintf(r->first_failure, sizeof r->first_failure, "FAIL %s: %s", k->name, bad);
            if (o->on_fail) o->on_fail(o->user, r->first_failure);
            r->seconds = tb_now() - t0;
            return 1;
        }
    }
    const int nc = build_cases(o, NULL);
    if (o->only_case >= nc) return tb_fail(e, "--case %d: only %d cases (0..%d)", o->only_case, nc, nc - 1);
    tcase *cs = malloc(sizeof *cs * (size_t)nc);
    if (!cs) return tb_fail(e, "out of memory");
    build_cases(o, cs);
    ctx c = {.k = k, .def = def, .o = o, .r = r};
    int threads = o->threads > 1 ? o->threads : 2;
    if (tb_pool_new(threads, false, &c.pool, e) < 0) {
        free(cs);
        return -1;
    }
    int ret = 0;
    const int crash_at = test_crash_case(k);
    for (int i = 0; i < nc; i++) {
        if (o->only_case >= 0 && i != o->only_case) continue;
        c.id = i;
        c.tc = &cs[i];
        if (o->current_case) *o->current_case = i;
        if (i == crash_at) raise(SIGSEGV); /* the test suite's stand-in for a crashing kernel */
        c.failed = c.refused = c.vs_full = false;
        tb_rng rng;
        tb_rng_seed(&rng, case_seed(o->seed, i));
        if (run_case(&c, &rng) < 0) {
            ret = tb_fail(e, "out of memory in case %d (%dx%d)", i, shapes[cs[i].shape].rows, shapes[cs[i].shape].cols);
            break;
        }
        r->cases++;
        if (c.failed) r->failed++;
        else if (c.refused) r->refused++;
        else r->passed++;
        if (o->stop_after > 0 && r->failed >= o->stop_after) break;
    }
    tb_pool_free(c.pool);
    free(cs);
    r->seconds = tb_now() - t0;
    if (ret < 0) return ret;
    /* a kernel that refuses everything proves nothing */
    if (r->cases > 0 && r->refused == r->cases && !r->failed) {
        r->failed = 1;
        snprintf(r->first_failure, sizeof r->first_failure, "FAIL %s: the packer refused every shape (TB_KERR_SHAPE)",
                 k->name);
        if (o->on_fail) o->on_fail(o->user, r->first_failure);
    }
    return r->failed ? 1 : 0;
}

/* ---- model level ---------------------------------------------------------------- */

typedef struct trace_buf {
    float *data;
    size_t n, cap;
    bool oom;
} trace_buf;

static void trace_collect(void *user, const char *name, int layer, int pos, const float *data, int n) {
    (void)name;
    (void)layer;
    (void)pos;
    trace_buf *t = user;
    if (t->oom) return;
    if (t->n + (size_t)n > t->cap) {
        size_t cap = (t->cap + (size_t)n) * 2;
        float *d = realloc(t->data, cap * sizeof *d);
        if (!d) {
            t->oom = true;
            return;
        }
        t->data = d;
        t->cap = cap;
    }
    memcpy(t->data + t->n, data, (size_t)n * sizeof *data);
    t->n += (size_t)n;
}

typedef struct synth {
    tb_model m;
    void *bufs[64];
    int nb;
} synth;

static void *synth_keep(synth *s, size_t bytes) {
    if (s->nb >= 64) return NULL;
    void *p = calloc(1, bytes ? bytes : 1);
    if (p) s->bufs[s->nb++] = p;
    return p;
}

static void synth_free(synth *s) {
    for (int i = 0; i < s->nb; i++) free(s->bufs[i]);
    free(s);
}

/* hidden 96 (K tail vs 128), FFN 200, GQA 3 query / 1 KV heads of 32, vocab 512 */
static int synth_new(uint64_t seed, synth **out, tb_err *e) {
    synth *s = calloc(1, sizeof *s);
    if (!s) return tb_fail(e, "out of memory");
    tb_config *cfg = &s->m.cfg;
    snprintf(cfg->arch, sizeof cfg->arch, "bitnet-b1.58");
    cfg->vocab = 512, cfg->hidden = 96, cfg->layers = 2, cfg->heads = 3, cfg->kv_heads = 1, cfg->head_dim = 32;
    cfg->ffn = 200, cfg->ctx = 64, cfg->rope_theta = 500000.0f, cfg->norm_eps = 1e-5f;
    cfg->bos = 1, cfg->eos = 2, cfg->eot = 3;
    snprintf(s->m.format, sizeof s->m.format, "check-synth");
    tb_rng r;
    tb_rng_seed(&r, seed);
    float *embd = synth_keep(s, sizeof(float) * (size_t)cfg->vocab * cfg->hidden); /* (vocab, hidden) */
    s->m.layer = synth_keep(s, sizeof(tb_layer) * (size_t)cfg->layers);
    s->m.output_norm = synth_keep(s, sizeof(float) * (size_t)cfg->hidden);
    if (!embd || !s->m.layer || !s->m.output_norm) goto oom;
    for (size_t i = 0; i < (size_t)cfg->vocab * cfg->hidden; i++) embd[i] = (float)(0.5 * tb_rng_normal(&r));
    s->m.embd = embd;
    s->m.embd_type = TB_F32;
    for (int i = 0; i < cfg->hidden; i++) s->m.output_norm[i] = (float)(0.5 + tb_rng_uniform(&r));
    const int kv = cfg->kv_heads * cfg->head_dim;
    const int rows[TB_LIN_COUNT] = {cfg->hidden, kv, kv, cfg->hidden, cfg->ffn, cfg->ffn, cfg->hidden};
    const int cols[TB_LIN_COUNT] = {cfg->hidden, cfg->hidden, cfg->hidden, cfg->hidden, cfg->hidden, cfg->hidden, cfg->ffn};
    static const char *const names[TB_LIN_COUNT] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    for (int l = 0; l < cfg->layers; l++) {
        tb_layer *L = &s->m.layer[l];
        float **norms[4] = {&L->attn_norm, &L->attn_sub_norm, &L->ffn_norm, &L->ffn_sub_norm};
        const int nlen[4] = {cfg->hidden, cfg->hidden, cfg->hidden, cfg->ffn};
        for (int j = 0; j < 4; j++) {
            *norms[j] = synth_keep(s, sizeof(float) * (size_t)nlen[j]);
            if (!*norms[j]) goto oom;
            for (int i = 0; i < nlen[j]; i++) (*norms[j])[i] = (float)(0.5 + tb_rng_uniform(&r));
        }
        for (int j = 0; j < TB_LIN_COUNT; j++) {
            int8_t *codes = synth_keep(s, (size_t)rows[j] * cols[j]); /* (rows, cols) */
            if (!codes) goto oom;
            for (size_t i = 0; i < (size_t)rows[j] * cols[j]; i++) codes[i] = (int8_t)((int)tb_rng_below(&r, 3) - 1);
            L->lin[j] = (tb_ternary){.name = names[j], .rows = rows[j], .cols = cols[j],
                                     .scale = (float)(0.5 + tb_rng_uniform(&r)), .layout = TB_TERN_CODES, .data = (const uint8_t *)codes};
        }
    }
    *out = s;
    return 0;
oom:
    synth_free(s);
    return tb_fail(e, "out of memory building the synthetic check model");
}

/* prefill of 6 tokens, then 2 decode steps; all logits and traces collected */
static int model_run(const tb_model *m, const tb_backend *be, const int32_t *toks, float *logits, trace_buf *tr,
                     tb_err *e) {
    tb_state *st = NULL;
    if (tb_state_new(m, 16, 8, &st, e) < 0) return -1;
    tb_state_set_trace(st, trace_collect, tr);
    const int V = m->cfg.vocab;
    int rc = tb_forward(st, be, toks, 6, 0, logits, true, e);
    if (rc >= 0) rc = tb_forward(st, be, toks + 6, 1, 6, logits + (size_t)6 * V, false, e);
    if (rc >= 0) rc = tb_forward(st, be, toks + 7, 1, 7, logits + (size_t)7 * V, false, e);
    tb_state_free(st);
    if (rc < 0) return -1;
    if (tr->oom) return tb_fail(e, "out of memory collecting the trace");
    return 0;
}

int tb_check_model(const tb_kernel *k, int threads, uint64_t seed, double *max_abs_diff, bool *identical,
                   tb_err *e) {
    return tb_check_model_vs(k, NULL, threads, seed, max_abs_diff, identical, e);
}

int tb_check_model_vs(const tb_kernel *k, const tb_kernel *base, int threads, uint64_t seed, double *max_abs_diff,
                      bool *identical, tb_err *e) {
    *max_abs_diff = 0;
    *identical = false;
    synth *s = NULL;
    if (synth_new(seed, &s, e) < 0) return -1;
    const int V = s->m.cfg.vocab;
    const int32_t toks[8] = {1, 17, 300, 5, 511, 42, 99, 7};
    float *lr = calloc((size_t)8 * V, sizeof *lr), *lk = calloc((size_t)8 * V, sizeof *lk); /* (8, vocab) */
    trace_buf tr = {0}, tk = {0};
    tb_runner *run = NULL, *brun = NULL;
    int ret = -1;
    if (!lr || !lk) {
        tb_fail(e, "out of memory");
        goto out;
    }
    if (base && tb_runner_new(&s->m, base, threads, &brun, e) < 0) goto out;
    if (model_run(&s->m, base ? tb_runner_backend(brun) : NULL, toks, lr, &tr, e) < 0) goto out;
    if (tb_runner_new(&s->m, k, threads, &run, e) < 0) goto out;
    if (model_run(&s->m, tb_runner_backend(run), toks, lk, &tk, e) < 0) goto out;
    double mx = 0;
    for (size_t i = 0; i < (size_t)8 * V; i++) {
        double d = (double)lk[i] - (double)lr[i];
        if (d < 0) d = -d;
        if (d > mx || d != d) mx = d;
    }
    *max_abs_diff = mx;
    *identical = memcmp(lr, lk, sizeof *lr * (size_t)8 * V) == 0 && tr.n == tk.n &&
                 (tr.n == 0 || memcmp(tr.data, tk.data, tr.n * sizeof *tr.data) == 0);
    ret = 0;
out:
    tb_runner_free(run);
    tb_runner_free(brun);
    free(lr);
    free(lk);
    free(tr.data);
    free(tk.data);
    synth_free(s);
    return ret;
}

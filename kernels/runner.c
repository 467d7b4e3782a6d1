/* runner.c: the model runner (runner.h): repack every ternary linear into a kernel's
 * layout once, then serve tb_backend.matmul with prep + parallel GEMV, and the LM head
 * with the best exact SIMD version of it the CPU has (kernels/lmhead.h). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "attention.h"
#include "driver.h"
#include "gguf.h"
#include "lmhead.h"
#include "qhead-simd.h"
#include "rowops.h"
#include "runner.h"

struct tb_runner {
    const tb_model *m;
    const tb_kernel *k;
    tb_pool *pool;
    void **packed;        /* (layers * TB_LIN_COUNT) packed tensors, carved from arena */
    size_t packed_bytes;
    void *arena;          /* one mapping for every packed tensor (transparent huge pages) */
    size_t arena_bytes;
    void *embd;           /* the tied embedding copied into huge pages for the LM head, or NULL */
    size_t embd_bytes;
    int (*lm_rows)(void *ctx, const tb_model *m, int v0, int v1, const float *x, int n, float *out, size_t ldo);
    void *prep;           /* prep scratch, grown on demand */
    size_t prep_cap;
    void **preps;         /* one prep scratch per thread for token splits (batch_tokens), or NULL */
    int npreps;
    size_t preps_cap;     /* bytes of each */
    tb_backend be;
};

/* ---- --kernel resolution ------------------------------------------------ */

int tb_kernel_resolve(const char *name, unsigned isa_mask, const tb_kernel **k, tb_err *e) {
    *k = NULL;
    if (name && strcmp(name, "ref") == 0) return 0;
    if (!name || !*name || strcmp(name, "best") == 0) {
        *k = tb_kernel_best(isa_mask);
        if (!*k) return tb_fail(e, "--kernel best: no exact CPU kernel is usable under this --isa-max");
        return 0;
    }
    const tb_kernel *f = tb_kernel_find(name);
    if (!f) {
        /* suggest registered names that share a component with the request */
        char list[400] = "";
        size_t len = 0;
        for (int i = 0; i < tb_n_kernels; i++) {
            const char *kn = tb_kernels[i]->name;
            bool close = strstr(kn, name) != NULL || tb_glob_match(name, kn);
            for (const char *tok = name; !close && *tok;) {
                size_t l = strcspn(tok, "_");
                if (l >= 3 && !(l == 4 && strncmp(tok, "gemv", 4) == 0)) { /* every name starts with gemv */
                    char part[64];
                    if (l >= sizeof part) l = sizeof part - 1;
                    memcpy(part, tok, l);
                    part[l] = '\0';
                    close = strstr(kn, part) != NULL;
                }
                tok += l;
                while (*tok == '_') tok++;
            }
            if (close && len + strlen(kn) + 3 < sizeof list) {
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", kn);
            }
        }
        return tb_fail(e, "--kernel %s: no such kernel%s%s (see `ternbench check --list`; 'ref' = scalar reference, 'best' = default)",
                       name, len ? "; close: " : "", list);
    }
    const char *why = NULL;
    if (!tb_kernel_supported(f, isa_mask, &why))
        return tb_fail(e, "--kernel %s: cannot run here: %s", name, why);
    *k = f;
    return 0;
}

/* ---- packing -------------------------------------------------------------- */

typedef struct pack_job {
    tb_runner *r;
    atomic_int next;
    atomic_int rc;
    atomic_int bad; /* index of the failing tensor */
} pack_job;

static void pack_part(void *arg, int tid, int nth) {
    (void)tid;
    (void)nth;
    pack_job *j = arg;
    const tb_model *m = j->r->m;
    const int total = m->cfg.layers * TB_LIN_COUNT;
    for (;;) {
        int i = atomic_fetch_add(&j->next, 1);
        if (i >= total || atomic_load(&j->rc)) break;
        const tb_ternary *t = &m->layer[i / TB_LIN_COUNT].lin[i % TB_LIN_COUNT];
        int rc = j->r->k->pack(t, j->r->packed[i]);
        if (rc) {
            int zero = 0;
            if (atomic_compare_exchange_strong(&j->rc, &zero, rc)) atomic_store(&j->bad, i);
        }
    }
}

static const char *kerr_name(int rc) {
    switch (rc) {
    case TB_KERR_SHAPE: return "shape not supported";
    case TB_KERR_CODE: return "weight code out of range";
    case TB_KERR_DEVICE: return "device error";
    case TB_KERR_NOMEM: return "out of memory";
    default: return "kernel error";
    }
}

/* The kernel's prep of the activations q (n_tok rows of cols) into r->prep; *prep = it,
 * or NULL when the kernel needs none. */
static int runner_prep(tb_runner *r, const tb_ternary *t, const int8_t *q, int n_tok, const void **prep, tb_err *e) {
    *prep = NULL;
    if (!r->k->needs_prep) return 0;
    size_t need = r->k->prep_size(t->cols, n_tok);
    if (need > r->prep_cap) {
        void *np = tb_alloc(need);
        if (!np) return tb_fail(e, "runner: out of memory for %zu bytes of prep (%s)", need, t->name);
        tb_free(r->prep);
        r->prep = np;
        r->prep_cap = need;
    }
    int rc = r->k->prep(q, t->cols, n_tok, r->prep);
    if (rc) return tb_fail(e, "runner: %s prep failed on %s (%d x %d, n=%d): %s", r->k->name, t->name ? t->name : "?",
                           t->rows, t->cols, n_tok, kerr_name(rc));
    *prep = r->prep;
    return 0;
}

/* Per-thread prep scratch of at least need bytes each (token splits). */
static int runner_preps(tb_runner *r, size_t need, tb_err *e) {
    const int nth = tb_pool_threads(r->pool);
    if (r->preps && need <= r->preps_cap) return 0;
    if (!r->preps) {
        if (!(r->preps = calloc((size_t)nth, sizeof *r->preps)))
            return tb_fail(e, "runner: out of memory for %d prep pointers", nth);
        r->npreps = nth;
    }
    r->preps_cap = 0;
    if (tb_gemv_preps_alloc(r->preps, r->npreps, need) < 0)
        return tb_fail(e, "runner: out of memory for %d x %zu bytes of prep", nth, need);
    r->preps_cap = need;
    return 0;
}

/* tb_backend.matmul_group (matmul is the group of one): one prep of q, then one parallel
 * hand-out of the rows of all the linears; or, for a kernel that splits tokens, one
 * parallel run in which every thread preps and computes its own tokens. */
static int runner_matmul_group(void *ctx, int layer, const int *which, int count, const int8_t *q, int n_tok,
                               int32_t *const *acc, tb_err *e) {
    tb_runner *r = ctx;
    const tb_model *m = r->m;
    if (layer < 0 || layer >= m->cfg.layers || count < 1 || count > TB_GEMV_GROUP_MAX)
        return tb_fail(e, "runner: no such group (layer %d, %d linears)", layer, count);
    if (n_tok < 1) return tb_fail(e, "runner: n_tok %d < 1", n_tok);
    tb_gemv_mat mats[TB_GEMV_GROUP_MAX];
    const tb_ternary *t0 = NULL;
    for (int i = 0; i < count; i++) {
        if (which[i] < 0 || which[i] >= TB_LIN_COUNT)
            return tb_fail(e, "runner: no linear (layer %d, which %d)", layer, which[i]);
        const tb_ternary *t = &m->layer[layer].lin[which[i]];
        if (t0 && t->cols != t0->cols)
            return tb_fail(e, "runner: %s and %s do not share an input (%d vs %d columns)", t0->name, t->name,
                           t0->cols, t->cols);
        if (!t0) t0 = t;
        mats[i] = (tb_gemv_mat){.packed = r->packed[layer * TB_LIN_COUNT + which[i]], .rows = t->rows, .acc = acc[i]};
    }
    int rc;
    if (r->pool && tb_gemv_splits_tokens(r->k, tb_pool_threads(r->pool), n_tok)) {
        if (r->k->needs_prep && runner_preps(r, r->k->prep_size(t0->cols, n_tok), e)) return -1;
        rc = tb_gemv_tokens_group(r->pool, r->k, count, mats, t0->cols, q, n_tok, r->preps, NULL);
    } else {
        const void *prep;
        if (runner_prep(r, t0, q, n_tok, &prep, e)) return -1;
        rc = tb_gemv_parallel_group(r->pool, r->k, count, mats, t0->cols, q, prep, n_tok);
    }
    if (rc) return tb_fail(e, "runner: %s gemv failed on %s%s (%d x %d, n=%d): %s", r->k->name,
                           t0->name ? t0->name : "?", count > 1 ? " and the rest of its group" : "", t0->rows,
                           t0->cols, n_tok, kerr_name(rc));
    return 0;
}

static int runner_matmul(void *ctx, int layer, int which, const int8_t *q, int n_tok, int32_t *acc, tb_err *e) {
    return runner_matmul_group(ctx, layer, &which, 1, q, n_tok, &acc, e);
}

static double runner_wait(void *ctx) { return tb_pool_wait_seconds(((tb_runner *)ctx)->pool); }

/* tb_backend.parallel: tb_forward splits attention and the LM head over the same pool */
static void runner_parallel(void *ctx, void (*fn)(void *arg, int tid, int nth), void *arg) {
    tb_runner *r = ctx;
    tb_pool_run(r->pool, fn, arg);
}

/* [p, p + n) inside the file mapping mp */
static bool in_map(const tb_map *mp, uintptr_t p, size_t n) {
    const uintptr_t a = (uintptr_t)mp->data;
    return mp->data && p >= a && p + n <= a + mp->size;
}

/* Every packed tensor in one anonymous mapping, advised to use transparent huge pages:
 * decode streams all of them once per token, and with 4 KiB pages every 4 KiB costs a
 * TLB miss and stops the hardware prefetchers.  Tensors start on 64-byte boundaries. */
static int alloc_packed(tb_runner *r, tb_err *e) {
    const tb_model *m = r->m;
    const int total = m->cfg.layers * TB_LIN_COUNT;
    size_t off = 0;
    for (int i = 0; i < total; i++) {
        const tb_ternary *t = &m->layer[i / TB_LIN_COUNT].lin[i % TB_LIN_COUNT];
        if (t->rows < 1 || t->cols < 1)
            return tb_fail(e, "runner: tensor %s has shape %d x %d", t->name ? t->name : "?", t->rows, t->cols);
        const size_t sz = r->k->packed_size(t->rows, t->cols);
        r->packed_bytes += sz;
        off += (sz + 63) / 64 * 64;
    }
    r->arena_bytes = off > 0 ? off : 64;
    r->arena = tb_alloc_huge(r->arena_bytes);
    if (!r->arena)
        return tb_fail(e, "runner: out of memory for %zu bytes of packed weights (%s)", r->arena_bytes, r->k->name);
    off = 0;
    for (int i = 0; i < total; i++) {
        const tb_ternary *t = &m->layer[i / TB_LIN_COUNT].lin[i % TB_LIN_COUNT];
        r->packed[i] = (char *)r->arena + off;
        off += (r->k->packed_size(t->rows, t->cols) + 63) / 64 * 64;
    }
    return 0;
}

/* The LM head reads the whole embedding every token (56% of 2B4T's bytes): a copy in
 * huge pages streams ~15-20% faster than the file mapping's 4 KiB pages.  The file's
 * pages of it are then dropped from this process (the token lookup faults one row back
 * in).  Best effort: without memory for the copy the head reads the mapping. */
static void copy_embedding(tb_runner *r) {
    const tb_model *m = r->m;
    if (!tb_hugepages_wanted() || !m->embd) return;
    const size_t bytes = tb_model_embd_bytes(m);
    void *p = tb_alloc_huge(bytes);
    if (!p) return;
    /* in 64 MiB chunks; when the embedding lies in the model's read-only file mapping,
     * each chunk's file pages are dropped once copied (they fault back in from the file
     * if read), so the peak RSS stays about what it was.  Never for memory the model
     * owns (synthesized or converted tensors): dropping those pages would zero them. */
    const uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), base = (uintptr_t)m->embd;
    const bool mapped = in_map(&m->map, base, bytes) || (m->gguf && in_map(&m->gguf->map, base, bytes));
    for (size_t off = 0; off < bytes; off += (size_t)64 << 20) {
        const size_t len = bytes - off < ((size_t)64 << 20) ? bytes - off : (size_t)64 << 20;
        memcpy((char *)p + off, (const char *)m->embd + off, len);
        const uintptr_t lo = (base + off + pg - 1) / pg * pg, hi = (base + off + len) / pg * pg;
        if (mapped && hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
    r->embd = p;
    r->embd_bytes = bytes;
}

/* tb_backend.lm_rows: the installed SIMD head on the huge-page copy when there is one */
static int runner_lm_rows(void *ctx, const tb_model *m, int v0, int v1, const float *x, int n, float *out,
                          size_t ldo) {
    tb_runner *r = ctx;
    if (!r->embd) return r->lm_rows(NULL, m, v0, v1, x, n, out, ldo);
    tb_model copy = *m;
    copy.embd = r->embd;
    return r->lm_rows(NULL, &copy, v0, v1, x, n, out, ldo);
}

/* Every ISA bit up to the highest one in isa (the TB_ISA_* bits are ordered by level). */
static unsigned isa_upto(unsigned isa) {
    unsigned m = 0;
    while (m < isa) m = (m << 1) | 1u;
    return m;
}

int tb_runner_new(const tb_model *m, const tb_kernel *k, int threads, tb_runner **out, tb_err *e) {
    *out = NULL;
    if (!k) return tb_fail(e, "runner: no kernel given (the reference path uses a NULL backend)");
    tb_runner *r = calloc(1, sizeof *r);
    if (!r) return tb_fail(e, "runner: out of memory");
    r->m = m;
    r->k = k;
    const int total = m->cfg.layers * TB_LIN_COUNT;
    r->packed = calloc((size_t)(total > 0 ? total : 1), sizeof *r->packed);
    if (!r->packed) {
        free(r);
        return tb_fail(e, "runner: out of memory");
    }
    if (tb_pool_new(threads, true, &r->pool, e) < 0) {
        tb_runner_free(r);
        return -1;
    }
    if (alloc_packed(r, e) < 0) {
        tb_runner_free(r);
        return -1;
    }
    pack_job j;
    j.r = r;
    atomic_init(&j.next, 0);
    atomic_init(&j.rc, 0);
    atomic_init(&j.bad, 0);
    tb_pool_run(r->pool, pack_part, &j);
    if (atomic_load(&j.rc)) {
        int i = atomic_load(&j.bad), rc = atomic_load(&j.rc);
        const tb_ternary *t = &m->layer[i / TB_LIN_COUNT].lin[i % TB_LIN_COUNT];
        tb_runner_free(r);
        return tb_fail(e, "runner: %s cannot pack %s (%d x %d): %s", k->name, t->name ? t->name : "?", t->rows,
                       t->cols, kerr_name(rc));
    }
    r->be.name = k->name;
    r->be.ctx = r;
    r->be.matmul = runner_matmul;
    r->be.matmul_group = runner_matmul_group;
    r->be.parallel = runner_parallel;
    r->be.wait_seconds = runner_wait;
    /* The row hooks use no ISA above the kernel's own: a portable kernel (e.g. chosen by
     * --isa-max scalar) gets the portable LM head, an AVX2 kernel AVX2 attention, so a run
     * of an AVX2 kernel here is what an AVX2-only machine would run (same bits either way). */
    tb_runner_limit_isa(r, isa_upto(k->isa));
    *out = r;
    return 0;
}

void tb_runner_free(tb_runner *r) {
    if (!r) return;
    tb_pool_free(r->pool);
    tb_free_huge(r->arena, r->arena_bytes);
    tb_free_huge(r->embd, r->embd_bytes);
    free(r->packed);
    tb_free(r->prep);
    tb_gemv_preps_free(r->preps, r->npreps);
    free(r->preps);
    free(r);
}

/* the LM head, attention and the row operations: AVX2 + FMA + F16C when allowed (bit-identical to the plain
 * C code), else plain C */
void tb_runner_limit_isa(tb_runner *r, unsigned isa_mask) {
    const bool avx2 = (tb_cpu_features() & isa_mask & TB_ISA_AVX2) != 0;
    r->lm_rows = tb_lm_rows_best(tb_cpu_features() & isa_mask); /* AVX2 / NEON (lmhead.c) */
    r->be.lm_rows = r->lm_rows ? runner_lm_rows : NULL;
    if (r->lm_rows && !r->embd) copy_embedding(r);
    const bool avx512 = (tb_cpu_features() & isa_mask & TB_ISA_AVX512) != 0;
    r->be.attn_heads = avx512 ? tb_attn_heads_avx512 : avx2 ? tb_attn_heads_avx2 : NULL;
    r->be.attn_head_kv = avx2 ? tb_attn_head_kv_avx2 : NULL; /* compressed caches (approximate numerics) */
    r->be.qhead_rows = tb_qhead_rows_best(tb_cpu_features() & isa_mask); /* quantized heads (approximate numerics) */
    r->be.rowops = avx2 ? &tb_rowops_avx2 : NULL;
}

const tb_backend *tb_runner_backend(tb_runner *r) { return &r->be; }
int tb_runner_threads(const tb_runner *r) { return tb_pool_threads(r->pool); }
size_t tb_runner_packed_bytes(const tb_runner *r) { return r->packed_bytes; }

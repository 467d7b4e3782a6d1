/* runner.c: the model runner (runner.h): repack every ternary linear into a kernel's
 * layout once, then serve tb_backend.matmul with prep + parallel GEMV, and the LM head
 * with the best exact SIMD version of it the CPU has (kernels/lmhead.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "driver.h"
#include "lmhead.h"
#include "runner.h"

struct tb_runner {
    const tb_model *m;
    const tb_kernel *k;
    tb_pool *pool;
    void **packed;        /* (layers * TB_LIN_COUNT) packed tensors, tb_alloc'd */
    size_t packed_bytes;
    void *prep;           /* prep scratch, grown on demand */
    size_t prep_cap;
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

static int runner_matmul(void *ctx, int layer, int which, const int8_t *q, int n_tok, int32_t *acc, tb_err *e) {
    tb_runner *r = ctx;
    const tb_model *m = r->m;
    if (layer < 0 || layer >= m->cfg.layers || which < 0 || which >= TB_LIN_COUNT)
        return tb_fail(e, "runner: no linear (layer %d, which %d)", layer, which);
    if (n_tok < 1) return tb_fail(e, "runner: n_tok %d < 1", n_tok);
    const tb_ternary *t = &m->layer[layer].lin[which];
    const void *prep = NULL;
    if (r->k->needs_prep) {
        size_t need = r->k->prep_size(t->cols, n_tok);
        if (need > r->prep_cap) {
            void *np = tb_alloc(need);
            if (!np) return tb_fail(e, "runner: out of memory for %zu bytes of prep (%s)", need, t->name);
            tb_free(r->prep);
            r->prep = np;
            r->prep_cap = need;
        }
        int rc = r->k->prep(q, t->cols, n_tok, r->prep);
        if (rc) return tb_fail(e, "runner: %s prep failed on %s (%d x %d, n=%d): %s", r->k->name,
                               t->name ? t->name : "?", t->rows, t->cols, n_tok, kerr_name(rc));
        prep = r->prep;
    }
    int rc = tb_gemv_parallel(r->pool, r->k, r->packed[layer * TB_LIN_COUNT + which], t->rows, t->cols, q,
                              prep, n_tok, acc);
    if (rc) return tb_fail(e, "runner: %s gemv failed on %s (%d x %d, n=%d): %s", r->k->name,
                           t->name ? t->name : "?", t->rows, t->cols, n_tok, kerr_name(rc));
    return 0;
}

static double runner_wait(void *ctx) { return tb_pool_wait_seconds(((tb_runner *)ctx)->pool); }

/* tb_backend.parallel: tb_forward splits attention and the LM head over the same pool */
static void runner_parallel(void *ctx, void (*fn)(void *arg, int tid, int nth), void *arg) {
    tb_runner *r = ctx;
    tb_pool_run(r->pool, fn, arg);
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
    for (int i = 0; i < total; i++) {
        const tb_ternary *t = &m->layer[i / TB_LIN_COUNT].lin[i % TB_LIN_COUNT];
        if (t->rows < 1 || t->cols < 1) {
            tb_runner_free(r);
            return tb_fail(e, "runner: tensor %s has shape %d x %d", t->name ? t->name : "?", t->rows, t->cols);
        }
        size_t sz = k->packed_size(t->rows, t->cols);
        r->packed[i] = tb_alloc(sz ? sz : 1);
        if (!r->packed[i]) {
            tb_runner_free(r);
            return tb_fail(e, "runner: out of memory packing %s for %s (%zu bytes)", t->name ? t->name : "?",
                           k->name, sz);
        }
        r->packed_bytes += sz;
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
    r->be.parallel = runner_parallel;
    r->be.wait_seconds = runner_wait;
    /* a portable kernel (e.g. chosen by --isa-max scalar) gets the portable LM head too,
     * so a "scalar" run is scalar end to end */
    tb_runner_limit_isa(r, k->isa ? TB_ISA_ALL : 0u);
    *out = r;
    return 0;
}

void tb_runner_free(tb_runner *r) {
    if (!r) return;
    tb_pool_free(r->pool);
    if (r->packed)
        for (int i = 0; i < r->m->cfg.layers * TB_LIN_COUNT; i++) tb_free(r->packed[i]);
    free(r->packed);
    tb_free(r->prep);
    free(r);
}

/* the LM head and attention: AVX2 + FMA + F16C when allowed (bit-identical to the plain
 * C code), else plain C */
void tb_runner_limit_isa(tb_runner *r, unsigned isa_mask) {
    const bool avx2 = (tb_cpu_features() & isa_mask & TB_ISA_AVX2) != 0;
    r->be.lm_rows = tb_lm_rows_best(tb_cpu_features() & isa_mask); /* AVX2 / NEON (lmhead.c) */
    r->be.attn_head = avx2 ? tb_attn_head_avx2 : NULL;
}

const tb_backend *tb_runner_backend(tb_runner *r) { return &r->be; }
int tb_runner_threads(const tb_runner *r) { return tb_pool_threads(r->pool); }
size_t tb_runner_packed_bytes(const tb_runner *r) { return r->packed_bytes; }

/* cuda-backend.c: a tb_forward backend (forward.h) whose ternary weights live on the
 * GPU in the warp-packed W2A8 layout (or, with emulate, on the host for the host
 * emulation: same wiring, no GPU).  Each matmul call uploads the int8 activations,
 * runs the GEMV and downloads the int32 accumulators; everything else of the forward
 * pass (norms, RoPE, attention, the shared epilogue, the LM head) stays on the CPU.
 * Exact: logits are bit-identical to the reference path. */
#include <stdlib.h>
#include <string.h>

#include "tb_cuda.h"

struct tb_cuda_backend {
    tb_backend be;
    const tb_model *m;
    bool emulate;
    int n_lin;        /* layers * TB_LIN_COUNT */
    void **w;         /* (layers, TB_LIN_COUNT): device pointer, or host packed bytes if emulate */
    size_t bytes;     /* packed bytes held */
};

static int backend_matmul(void *ctx, int layer, int which, const int8_t *q, int n_tok, int32_t *acc, tb_err *e) {
    tb_cuda_backend *b = ctx;
    if (layer < 0 || layer >= b->m->cfg.layers || which < 0 || which >= TB_LIN_COUNT)
        return tb_fail(e, "cuda backend: no linear (layer %d, which %d)", layer, which);
    const tb_ternary *t = &b->m->layer[layer].lin[which];
    const void *w = b->w[layer * TB_LIN_COUNT + which];
    if (b->emulate) {
        const int ks = tb_w2a8_pick_ksplit(tb_w2a8_tiles(t->rows), tb_w2a8_nchunks(t->cols), 132);
        if (tb_w2a8_gemv_emu(w, t->rows, t->cols, q, n_tok, 0, t->rows, ks, acc) != 0)
            return tb_fail(e, "cuda backend (emulated): gemv failed on %s", t->name);
        return 0;
    }
    if (tb_cuda_gemv_resident(w, t->rows, t->cols, q, n_tok, acc, e) != 0) return -1;
    return 0;
}

void tb_cuda_backend_free(tb_cuda_backend *b) {
    if (!b) return;
    for (int i = 0; i < b->n_lin; i++) {
        if (!b->w || !b->w[i]) continue;
        if (b->emulate) free(b->w[i]);
        else tb_cuda_weights_free(b->w[i]);
    }
    free(b->w);
    free(b);
}

int tb_cuda_backend_new(const tb_model *m, bool emulate, tb_cuda_backend **out, tb_err *e) {
    *out = NULL;
    char why[256];
    if (!emulate && !tb_cuda_available(why, sizeof why)) return tb_fail(e, "cuda backend: %s", why);
    tb_cuda_backend *b = calloc(1, sizeof *b);
    if (!b) return tb_fail(e, "cuda backend: out of memory");
    b->m = m;
    b->emulate = emulate;
    b->n_lin = m->cfg.layers * TB_LIN_COUNT;
    b->w = calloc((size_t)b->n_lin, sizeof *b->w);
    if (!b->w) {
        free(b);
        return tb_fail(e, "cuda backend: out of memory");
    }
    for (int l = 0; l < m->cfg.layers; l++) {
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            const tb_ternary *t = &m->layer[l].lin[k];
            const size_t bytes = tb_w2a8_packed_size(t->rows, t->cols);
            void *host = bytes ? malloc(bytes) : NULL;
            if (!host) {
                tb_cuda_backend_free(b);
                return tb_fail(e, "cuda backend: cannot allocate %zu bytes for %s", bytes, t->name);
            }
            const int rc = tb_w2a8_k_pack(t, host);
            if (rc != 0) {
                free(host);
                tb_cuda_backend_free(b);
                return tb_fail(e, "cuda backend: cannot pack %s (%d x %d): %s", t->name, t->rows, t->cols,
                               rc == TB_KERR_CODE ? "weight code out of range" : "unsupported");
            }
            if (emulate) {
                b->w[l * TB_LIN_COUNT + k] = host;
            } else {
                const int up = tb_cuda_weights_upload(host, bytes, &b->w[l * TB_LIN_COUNT + k], e);
                free(host);
                if (up != 0) {
                    tb_cuda_backend_free(b);
                    return -1;
                }
            }
            b->bytes += bytes;
        }
    }
    b->be.name = emulate ? "w2a8-cuda-emulated" : "w2a8-cuda";
    b->be.ctx = b;
    b->be.matmul = backend_matmul;
    *out = b;
    return 0;
}

const tb_backend *tb_cuda_backend_get(tb_cuda_backend *b) { return &b->be; }
size_t tb_cuda_backend_bytes(const tb_cuda_backend *b) { return b->bytes; }

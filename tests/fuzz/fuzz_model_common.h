/* fuzz_model_common.h: what the model fuzz targets do with a model that loaded: read
 * every tensor the way the forward pass does (a row of each ternary matrix, an
 * embedding row, the norms), so a loader that accepted bad bounds shows up under ASan. */
#ifndef TB_FUZZ_MODEL_COMMON_H
#define TB_FUZZ_MODEL_COMMON_H

#include <stdlib.h>

#include "model.h"

static void fz_touch_model(const tb_model *m) {
    const tb_config *c = &m->cfg;
    float *row = malloc((size_t)c->hidden * sizeof *row);
    int8_t *codes = malloc((size_t)(c->ffn > c->hidden ? c->ffn : c->hidden) * 4);
    volatile float sink = 0;
    tb_model_embed_row(m, 0, row);
    tb_model_embed_row(m, c->vocab - 1, row);
    sink += row[c->hidden - 1] + m->output_norm[c->hidden - 1];
    for (int l = 0; l < c->layers; l++) {
        const tb_layer *L = &m->layer[l];
        sink += L->attn_norm[c->hidden - 1] + L->ffn_norm[c->hidden - 1] + L->ffn_sub_norm[c->ffn - 1];
        sink += L->attn_sub_norm[c->hidden - 1];
        for (int k = 0; k < TB_LIN_COUNT; k++) {
            const tb_ternary *t = &L->lin[k];
            tb_ternary_row(t, 0, codes);
            tb_ternary_row(t, t->rows - 1, codes);
            sink += codes[t->cols - 1] * t->scale;
        }
    }
    (void)tb_model_ternary_bytes(m);
    (void)tb_model_embd_bytes(m);
    free(codes);
    free(row);
}

#endif

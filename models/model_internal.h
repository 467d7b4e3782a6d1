/* model_internal.h: helpers shared by the model loaders (GGUF, HF) and the
 * synthetic-model writer.  Not part of the public contract. */
#ifndef TB_MODEL_INTERNAL_H
#define TB_MODEL_INTERNAL_H

#include "model.h"

/* Registers p as owned by m (freed by tb_model_free).  Returns p, or NULL (and
 * frees p) when out of memory. */
void *tb__own(tb_model *m, void *p);
char *tb__own_str(tb_model *m, const char *s);

/* Checks every 2-bit code of a packed ternary tensor (I2_S or HF uint8: four
 * 2-bit codes per byte either way): no code 3, not all codes 1 (all-zero
 * weights).  n = number of packed bytes (rows*cols/4). */
int tb__check_packed_codes(const uint8_t *p, size_t n, const char *file, const char *tensor, tb_err *e);

/* Checks a ternary scale: finite and > 0. */
int tb__check_scale(float s, const char *file, const char *tensor, tb_err *e);

/* Checks the shape fields of a config for consistency and sane ranges. */
int tb__check_config(const tb_config *c, const char *file, tb_err *e);

/* Expected (rows, cols) of linear `lin` for config c. */
void tb__lin_shape(const tb_config *c, int lin, int32_t *rows, int32_t *cols);

/* Loaders (model_load.c dispatches on path type). */
int tb__load_gguf(tb_model *m, const char *path, tb_err *e);
int tb__load_hf(tb_model *m, const char *dir, tb_err *e);

/* Absmean ternarization of bf16 latent weights [rows][cols] (docs/formats.md §2 "online", docs/numerics.md §1):
 * scale = max(mean|W|, 1e-5); code = clamp(rne(W / scale), -1, 1).  codes is
 * int8 [rows][cols].  Returns the scale. */
float tb__ternarize_bf16(const void *w, int64_t rows, int64_t cols, int8_t *codes);

#endif

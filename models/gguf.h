/* gguf.h: GGUF v3 reader and writer (little-endian, as bitnet.cpp writes it).
 *
 * The reader maps the file, walks the header once, validates every offset and
 * size against the file, and gives typed access to metadata and tensor info.
 * Strings inside the file are NOT NUL-terminated: they come back as (ptr, len).
 */
#ifndef TB_GGUF_H
#define TB_GGUF_H

#include "tb_common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TB_GGUF_UINT8 = 0, TB_GGUF_INT8, TB_GGUF_UINT16, TB_GGUF_INT16, TB_GGUF_UINT32, TB_GGUF_INT32,
    TB_GGUF_FLOAT32, TB_GGUF_BOOL, TB_GGUF_STRING, TB_GGUF_ARRAY, TB_GGUF_UINT64, TB_GGUF_INT64,
    TB_GGUF_FLOAT64,
};

/* ggml tensor type ids used here (bitnet.cpp fork numbering for 34..39, docs/formats.md §1) */
enum {
    TB_GGML_F32 = 0, TB_GGML_F16 = 1, TB_GGML_TQ1_0 = 34, TB_GGML_TQ2_0 = 35, TB_GGML_I2_S = 36,
    TB_GGML_I8_S = 37, TB_GGML_TL1 = 38, TB_GGML_TL2 = 39, TB_GGML_BF16 = 30,
};

typedef struct tb_gguf_str {
    const char *p;
    uint64_t len;
} tb_gguf_str;

typedef struct tb_gguf_kv {
    tb_gguf_str key;
    uint32_t type;          /* TB_GGUF_* */
    uint32_t arr_type;      /* element type when type == ARRAY */
    uint64_t arr_n;         /* element count when type == ARRAY */
    const uint8_t *value;   /* points at the value (for ARRAY: at the first element) */
} tb_gguf_kv;

typedef struct tb_gguf_tensor {
    tb_gguf_str name;
    uint32_t n_dims;
    uint64_t ne[4];         /* ne[0] = contiguous (input) dim */
    uint32_t type;          /* TB_GGML_* */
    uint64_t offset;        /* relative to the data section */
    uint64_t nbytes;        /* computed from type and shape (I2_S: ne0*ne1/4 + 32) */
    const uint8_t *data;    /* absolute pointer into the mapping, bounds-checked */
} tb_gguf_tensor;

typedef struct tb_gguf {
    char path[1024];
    tb_map map;
    uint32_t version;
    uint32_t alignment;
    uint64_t n_kv, n_tensors;
    tb_gguf_kv *kv;
    tb_gguf_tensor *tensors;
    const uint8_t **arr_index; /* private: per string-array KV, lazily built element index */
} tb_gguf;

/* Opens and validates the container (magic, version 2/3, every KV and tensor
 * header, offsets and sizes in bounds, alignment).  Errors name the file. */
int tb_gguf_open(const char *path, tb_gguf **out, tb_err *e);
void tb_gguf_close(tb_gguf *g);

const tb_gguf_kv *tb_gguf_find(const tb_gguf *g, const char *key);
/* Typed getters: return 0 on success, -1 when absent or of an incompatible type. */
int tb_gguf_get_u32(const tb_gguf *g, const char *key, uint32_t *out); /* accepts any integer type in range */
int tb_gguf_get_f32(const tb_gguf *g, const char *key, float *out);
int tb_gguf_get_str(const tb_gguf *g, const char *key, tb_gguf_str *out);
/* Element i of a string array (e.g. tokenizer.ggml.tokens / merges); O(1) after the first call. */
int tb_gguf_get_arr_str(tb_gguf *g, const char *key, uint64_t i, tb_gguf_str *out);
/* Pointer to the raw elements of a numeric array (e.g. tokenizer.ggml.token_type, int32). */
const void *tb_gguf_get_arr_data(const tb_gguf *g, const char *key, uint32_t *arr_type, uint64_t *n);

const tb_gguf_tensor *tb_gguf_find_tensor(const tb_gguf *g, const char *name);

/* ---- writer (synthetic models) -------------------------------------- */
/* A streaming writer: add all KVs and tensor infos first, then write tensor
 * data in the same order, one tensor at a time (never holding all in memory). */
typedef struct tb_gguf_writer tb_gguf_writer;
tb_gguf_writer *tb_gguf_writer_new(void);
void tb_gguf_writer_free(tb_gguf_writer *w);
void tb_gguf_w_u32(tb_gguf_writer *w, const char *key, uint32_t v);
void tb_gguf_w_f32(tb_gguf_writer *w, const char *key, float v);
void tb_gguf_w_bool(tb_gguf_writer *w, const char *key, bool v);
void tb_gguf_w_str(tb_gguf_writer *w, const char *key, const char *v);
void tb_gguf_w_arr_str(tb_gguf_writer *w, const char *key, const char *const *v, const size_t *lens, uint64_t n);
void tb_gguf_w_arr_i32(tb_gguf_writer *w, const char *key, const int32_t *v, uint64_t n);
void tb_gguf_w_arr_f32(tb_gguf_writer *w, const char *key, const float *v, uint64_t n);
/* ne1 = 0 declares a 1-D tensor [ne0]; data offsets are aligned to 32 bytes. */
void tb_gguf_w_tensor(tb_gguf_writer *w, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1);
/* Writes header + metadata + tensor infos; then call tb_gguf_w_data() for each tensor in
 * order: once with all its bytes, or several times with consecutive chunks that add up. */
int tb_gguf_w_begin(tb_gguf_writer *w, const char *path, tb_err *e);
int tb_gguf_w_data(tb_gguf_writer *w, const void *data, size_t nbytes, tb_err *e);
int tb_gguf_w_end(tb_gguf_writer *w, tb_err *e); /* closes; removes the file on any earlier error */

#ifdef __cplusplus
}
#endif
#endif

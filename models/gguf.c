/* gguf.c: GGUF v2/v3 container reader (mmap'd, every header field bounds-checked)
 * and a streaming writer (header first, then tensor data one tensor at a time).
 *
 * Layout (little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv,
 * n_kv x {string key, u32 type, value}, n_tensors x {string name, u32 n_dims,
 * u64 ne[n_dims], u32 type, u64 offset}, padding to `general.alignment` (default
 * 32), then the data section; tensor offsets are relative to it and aligned.
 * A string is u64 length + bytes (no NUL).  An array is u32 elem type, u64 n,
 * then n elements.
 */
#include "gguf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DEPTH 4 /* nested arrays */
#define GGUF_MAX_KV 4096         /* real files have ~25; bounds the quadratic duplicate-key scan */
#define GGUF_MAX_TENSORS 1048576 /* 2B4T has 333 */

/* ======================================================================== */
/* reader                                                                    */
/* ======================================================================== */

typedef struct {
    const uint8_t *p, *end;
    const char *path;
    tb_err *e;
} cursor;

static size_t left(const cursor *c) { return (size_t)(c->end - c->p); }

static int rd_u32(cursor *c, uint32_t *v, const char *what) {
    if (left(c) < 4) return tb_fail(c->e, "%s: truncated file while reading %s", c->path, what);
    memcpy(v, c->p, 4);
    c->p += 4;
    return 0;
}

static int rd_u64(cursor *c, uint64_t *v, const char *what) {
    if (left(c) < 8) return tb_fail(c->e, "%s: truncated file while reading %s", c->path, what);
    memcpy(v, c->p, 8);
    c->p += 8;
    return 0;
}

static int rd_str(cursor *c, tb_gguf_str *s, const char *what) {
    uint64_t n = 0;
    if (rd_u64(c, &n, what) < 0) return -1;
    if (n > left(c))
        return tb_fail(c->e, "%s: truncated file: %s string of %" PRIu64 " bytes runs past the end", c->path,
                       what, n);
    s->p = (const char *)c->p;
    s->len = n;
    c->p += n;
    return 0;
}

/* Size of one scalar value of a GGUF metadata type, 0 for string/array/unknown. */
static size_t kv_scalar_size(uint32_t t) {
    switch (t) {
    case TB_GGUF_UINT8: case TB_GGUF_INT8: case TB_GGUF_BOOL: return 1;
    case TB_GGUF_UINT16: case TB_GGUF_INT16: return 2;
    case TB_GGUF_UINT32: case TB_GGUF_INT32: case TB_GGUF_FLOAT32: return 4;
    case TB_GGUF_UINT64: case TB_GGUF_INT64: case TB_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static int skip_value(cursor *c, uint32_t type, int depth, const char *key);

/* Skips an array body (after its elem type and count have been read). */
static int skip_array(cursor *c, uint32_t at, uint64_t n, int depth, const char *key) {
    size_t es = kv_scalar_size(at);
    if (es) {
        if (n > left(c) / es)
            return tb_fail(c->e, "%s: truncated file: array '%s' of %" PRIu64 " elements runs past the end",
                           c->path, key, n);
        c->p += n * es;
        return 0;
    }
    if (at != TB_GGUF_STRING && at != TB_GGUF_ARRAY)
        return tb_fail(c->e, "%s: metadata '%s': bad array element type %u", c->path, key, at);
    /* every element needs at least 8 bytes: reject absurd counts before looping */
    if (n > left(c) / 8)
        return tb_fail(c->e, "%s: truncated file: array '%s' of %" PRIu64 " elements runs past the end", c->path,
                       key, n);
    for (uint64_t i = 0; i < n; i++)
        if (skip_value(c, at, depth + 1, key) < 0) return -1;
    return 0;
}

static int skip_value(cursor *c, uint32_t type, int depth, const char *key) {
    if (depth > GGUF_MAX_DEPTH) return tb_fail(c->e, "%s: metadata '%s': arrays nested too deeply", c->path, key);
    size_t es = kv_scalar_size(type);
    if (es) {
        if (left(c) < es) return tb_fail(c->e, "%s: truncated file in metadata value '%s'", c->path, key);
        c->p += es;
        return 0;
    }
    if (type == TB_GGUF_STRING) {
        tb_gguf_str s;
        return rd_str(c, &s, key);
    }
    if (type == TB_GGUF_ARRAY) {
        uint32_t at = 0;
        uint64_t n = 0;
        if (rd_u32(c, &at, key) < 0 || rd_u64(c, &n, key) < 0) return -1;
        return skip_array(c, at, n, depth, key);
    }
    return tb_fail(c->e, "%s: metadata '%s': unknown value type %u", c->path, key, type);
}

/* Bytes of a tensor of ggml type t with n elements (ne0 = row length), or 0 if
 * the type is not one whose size we know.  *ok = 0 when the shape does not fit
 * the type's blocks. */
static uint64_t tensor_nbytes(uint32_t t, uint64_t ne0, uint64_t n, int *ok) {
    *ok = 1;
    uint64_t bs = 0, bb = 0; /* block size (elements), bytes per block */
    switch (t) {
    case TB_GGML_F32: return n * 4;
    case TB_GGML_F16: case TB_GGML_BF16: return n * 2;
    case TB_GGML_I2_S:
        /* bitnet.cpp: 2 bits per weight + one f32 scale padded to 32 bytes (docs/formats.md §1) */
        if (n % 4) *ok = 0;
        return n / 4 + 32;
    case 24: return n;     /* I8 */
    case 25: return n * 2; /* I16 */
    case 26: return n * 4; /* I32 */
    case 27: case 28: return n * 8; /* I64, F64 */
    case 2: bs = 32; bb = 18; break;  /* Q4_0 */
    case 3: bs = 32; bb = 20; break;  /* Q4_1 */
    case 6: bs = 32; bb = 22; break;  /* Q5_0 */
    case 7: bs = 32; bb = 24; break;  /* Q5_1 */
    case 8: bs = 32; bb = 34; break;  /* Q8_0 */
    case 10: bs = 256; bb = 84; break;  /* Q2_K */
    case 11: bs = 256; bb = 110; break; /* Q3_K */
    case 12: bs = 256; bb = 144; break; /* Q4_K */
    case 13: bs = 256; bb = 176; break; /* Q5_K */
    case 14: bs = 256; bb = 210; break; /* Q6_K */
    case TB_GGML_TQ1_0: bs = 256; bb = 54; break;
    case TB_GGML_TQ2_0: bs = 256; bb = 66; break;
    default: return 0;
    }
    if (ne0 % bs) *ok = 0;
    return n / bs * bb;
}

static int str_eq(tb_gguf_str s, const char *z) {
    size_t n = strlen(z);
    return s.len == n && memcmp(s.p, z, n) == 0;
}

/* Prints a GGUF string safely into buf (truncated, non-printables as '?'). */
static const char *show(tb_gguf_str s, char *buf, size_t cap) {
    size_t n = s.len < cap - 1 ? (size_t)s.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        buf[i] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    buf[n] = 0;
    return buf;
}

static int cmp_name(const void *a, const void *b) {
    const tb_gguf_tensor *x = *(const tb_gguf_tensor *const *)a, *y = *(const tb_gguf_tensor *const *)b;
    uint64_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = memcmp(x->name.p, y->name.p, (size_t)n);
    return c ? c : (x->name.len > y->name.len) - (x->name.len < y->name.len);
}

static int cmp_offset(const void *a, const void *b) {
    const tb_gguf_tensor *x = *(const tb_gguf_tensor *const *)a, *y = *(const tb_gguf_tensor *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

int tb_gguf_open(const char *path, tb_gguf **out, tb_err *e) {
    *out = NULL;
    tb_gguf *g = calloc(1, sizeof *g);
    if (!g) return tb_fail(e, "%s: out of memory", path);
    snprintf(g->path, sizeof g->path, "%s", path);
    if (tb_map_file(path, &g->map, e) < 0) {
        free(g);
        return -1;
    }
    cursor c = {g->map.data, g->map.data + g->map.size, g->path, e};
    char name[96], name2[96];

    if (left(&c) < 4 || memcmp(c.p, "GGUF", 4) != 0) {
        tb_fail(e, "%s: bad magic (not a GGUF file)", path);
        goto fail;
    }
    c.p += 4;
    if (rd_u32(&c, &g->version, "version") < 0) goto fail;
    if (g->version != 2 && g->version != 3) {
        tb_fail(e, "%s: unsupported GGUF version %u (need 2 or 3)", path, g->version);
        goto fail;
    }
    if (rd_u64(&c, &g->n_tensors, "tensor count") < 0 || rd_u64(&c, &g->n_kv, "metadata count") < 0) goto fail;
    /* each KV needs >= 8+4+1 bytes, each tensor info >= 8+4+8+4+8 */
    if (g->n_kv > GGUF_MAX_KV || g->n_tensors > GGUF_MAX_TENSORS) {
        tb_fail(e, "%s: implausible header: %" PRIu64 " metadata entries, %" PRIu64 " tensors (limits %d, %d)", path,
                g->n_kv, g->n_tensors, GGUF_MAX_KV, GGUF_MAX_TENSORS);
        goto fail;
    }
    if (g->n_kv > left(&c) / 13 || g->n_tensors > left(&c) / 32) {
        tb_fail(e, "%s: truncated file: header claims %" PRIu64 " metadata entries and %" PRIu64
                   " tensors, more than fit",
                path, g->n_kv, g->n_tensors);
        goto fail;
    }
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    g->arr_index = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->arr_index);
    if (!g->kv || !g->tensors || !g->arr_index) {
        tb_fail(e, "%s: out of memory", path);
        goto fail;
    }

    /* ---- metadata ---- */
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        tb_gguf_kv *kv = &g->kv[i];
        if (rd_str(&c, &kv->key, "metadata key") < 0) goto fail;
        show(kv->key, name, sizeof name);
        if (rd_u32(&c, &kv->type, name) < 0) goto fail;
        for (uint64_t j = 0; j < i; j++)
            if (g->kv[j].key.len == kv->key.len && !memcmp(g->kv[j].key.p, kv->key.p, kv->key.len)) {
                tb_fail(e, "%s: duplicate metadata key '%s'", path, name);
                goto fail;
            }
        if (kv->type == TB_GGUF_ARRAY) {
            if (rd_u32(&c, &kv->arr_type, name) < 0 || rd_u64(&c, &kv->arr_n, name) < 0) goto fail;
            kv->value = c.p;
            if (skip_array(&c, kv->arr_type, kv->arr_n, 1, name) < 0) goto fail;
        } else {
            kv->value = c.p;
            if (skip_value(&c, kv->type, 0, name) < 0) goto fail;
        }
        if (str_eq(kv->key, "general.alignment")) {
            uint32_t a;
            if (kv->type != TB_GGUF_UINT32) {
                tb_fail(e, "%s: general.alignment must be uint32 (type %u)", path, kv->type);
                goto fail;
            }
            memcpy(&a, kv->value, 4);
            if (a == 0 || (a & (a - 1)) || a > 65536) {
                tb_fail(e, "%s: general.alignment %u is not a power of two <= 65536", path, a);
                goto fail;
            }
            g->alignment = a;
        }
    }

    /* ---- tensor infos ---- */
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        tb_gguf_tensor *t = &g->tensors[i];
        if (rd_str(&c, &t->name, "tensor name") < 0) goto fail;
        show(t->name, name, sizeof name);
        if (rd_u32(&c, &t->n_dims, name) < 0) goto fail;
        if (t->n_dims < 1 || t->n_dims > 4) {
            tb_fail(e, "%s: tensor %s: bad number of dimensions %u", path, name, t->n_dims);
            goto fail;
        }
        uint64_t n = 1;
        for (int d = 0; d < 4; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (rd_u64(&c, &t->ne[d], name) < 0) goto fail;
            if (t->ne[d] == 0 || t->ne[d] > (1ull << 40) || n > (1ull << 52) / t->ne[d]) {
                tb_fail(e, "%s: tensor %s: bad dimension ne[%u] = %" PRIu64, path, name, d, t->ne[d]);
                goto fail;
            }
            n *= t->ne[d];
        }
        if (rd_u32(&c, &t->type, name) < 0 || rd_u64(&c, &t->offset, name) < 0) goto fail;
        int ok;
        t->nbytes = tensor_nbytes(t->type, t->ne[0], n, &ok);
        if (!ok) {
            tb_fail(e, "%s: tensor %s: shape [%" PRIu64 ", %" PRIu64 "] does not fit the blocks of type %u", path,
                    name, t->ne[0], t->ne[1], t->type);
            goto fail;
        }
        if (t->offset % g->alignment) {
            tb_fail(e, "%s: tensor %s: offset %" PRIu64 " is not a multiple of the alignment %u", path, name,
                    t->offset, g->alignment);
            goto fail;
        }
    }

    /* ---- data section: offsets and sizes in bounds ---- */
    size_t hdr = (size_t)(c.p - g->map.data);
    size_t data_start = (hdr + g->alignment - 1) / g->alignment * g->alignment;
    if (data_start > g->map.size && g->n_tensors > 0) {
        tb_fail(e, "%s: truncated file: data section starts at %zu, file has %zu bytes", path, data_start,
                g->map.size);
        goto fail;
    }
    uint64_t data_size = data_start <= g->map.size ? g->map.size - data_start : 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        tb_gguf_tensor *t = &g->tensors[i];
        show(t->name, name, sizeof name);
        if (t->nbytes == 0) continue; /* a type we cannot size: left without data (loaders reject it) */
        if (t->offset > data_size || t->nbytes > data_size - t->offset) {
            tb_fail(e, "%s: tensor %s: offset %" PRIu64 " + %" PRIu64 " bytes is out of bounds (data section has %" PRIu64
                       " bytes; truncated file?)",
                    path, name, t->offset, t->nbytes, data_size);
            goto fail;
        }
        t->data = g->map.data + data_start + t->offset;
    }
    /* duplicate names and overlapping data: sort once by name, once by offset */
    if (g->n_tensors > 1) {
        const tb_gguf_tensor **by = malloc(sizeof *by * g->n_tensors);
        if (!by) {
            tb_fail(e, "%s: out of memory", path);
            goto fail;
        }
        for (uint64_t i = 0; i < g->n_tensors; i++) by[i] = &g->tensors[i];
        qsort(by, g->n_tensors, sizeof *by, cmp_name);
        for (uint64_t i = 1; i < g->n_tensors; i++)
            if (cmp_name(&by[i - 1], &by[i]) == 0) {
                tb_fail(e, "%s: duplicate tensor name '%s'", path, show(by[i]->name, name, sizeof name));
                free(by);
                goto fail;
            }
        qsort(by, g->n_tensors, sizeof *by, cmp_offset);
        const tb_gguf_tensor *prev = NULL;
        for (uint64_t i = 0; i < g->n_tensors; i++) {
            if (!by[i]->data) continue; /* unsized (unknown type): nothing to compare */
            if (prev && by[i]->offset < prev->offset + prev->nbytes) {
                tb_fail(e, "%s: tensors %s and %s overlap", path, show(prev->name, name, sizeof name),
                        show(by[i]->name, name2, sizeof name2));
                free(by);
                goto fail;
            }
            prev = by[i];
        }
        free(by);
    }
    *out = g;
    return 0;
fail:
    tb_gguf_close(g);
    return -1;
}

void tb_gguf_close(tb_gguf *g) {
    if (!g) return;
    if (g->arr_index)
        for (uint64_t i = 0; i < g->n_kv; i++) free((void *)g->arr_index[i]);
    free(g->arr_index);
    free(g->kv);
    free(g->tensors);
    tb_unmap(&g->map);
    free(g);
}

const tb_gguf_kv *tb_gguf_find(const tb_gguf *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

int tb_gguf_get_u32(const tb_gguf *g, const char *key, uint32_t *out) {
    const tb_gguf_kv *kv = tb_gguf_find(g, key);
    if (!kv) return -1;
    const uint8_t *v = kv->value;
    int64_t s = 0;
    uint64_t u = 0;
    int is_signed = 0;
    switch (kv->type) {
    case TB_GGUF_UINT8: u = v[0]; break;
    case TB_GGUF_INT8: s = (int8_t)v[0]; is_signed = 1; break;
    case TB_GGUF_UINT16: { uint16_t x; memcpy(&x, v, 2); u = x; break; }
    case TB_GGUF_INT16: { int16_t x; memcpy(&x, v, 2); s = x; is_signed = 1; break; }
    case TB_GGUF_UINT32: { uint32_t x; memcpy(&x, v, 4); u = x; break; }
    case TB_GGUF_INT32: { int32_t x; memcpy(&x, v, 4); s = x; is_signed = 1; break; }
    case TB_GGUF_UINT64: memcpy(&u, v, 8); break;
    case TB_GGUF_INT64: memcpy(&s, v, 8); is_signed = 1; break;
    default: return -1;
    }
    if (is_signed) {
        if (s < 0) return -1;
        u = (uint64_t)s;
    }
    if (u > UINT32_MAX) return -1;
    *out = (uint32_t)u;
    return 0;
}

int tb_gguf_get_f32(const tb_gguf *g, const char *key, float *out) {
    const tb_gguf_kv *kv = tb_gguf_find(g, key);
    if (!kv) return -1;
    if (kv->type == TB_GGUF_FLOAT32) {
        memcpy(out, kv->value, 4);
        return 0;
    }
    if (kv->type == TB_GGUF_FLOAT64) {
        double d;
        memcpy(&d, kv->value, 8);
        *out = (float)d;
        return 0;
    }
    return -1;
}

int tb_gguf_get_str(const tb_gguf *g, const char *key, tb_gguf_str *out) {
    const tb_gguf_kv *kv = tb_gguf_find(g, key);
    if (!kv || kv->type != TB_GGUF_STRING) return -1;
    uint64_t n;
    memcpy(&n, kv->value, 8);
    out->p = (const char *)kv->value + 8;
    out->len = n;
    return 0;
}

int tb_gguf_get_arr_str(tb_gguf *g, const char *key, uint64_t i, tb_gguf_str *out) {
    const tb_gguf_kv *kv = tb_gguf_find(g, key);
    if (!kv || kv->type != TB_GGUF_ARRAY || kv->arr_type != TB_GGUF_STRING || i >= kv->arr_n) return -1;
    size_t ki = (size_t)(kv - g->kv);
    if (!g->arr_index[ki]) {
        /* element index: start of every string (already bounds-checked at open) */
        const uint8_t **idx = malloc(sizeof *idx * (kv->arr_n ? kv->arr_n : 1));
        if (!idx) return -1;
        const uint8_t *p = kv->value;
        for (uint64_t j = 0; j < kv->arr_n; j++) {
            uint64_t n;
            idx[j] = p;
            memcpy(&n, p, 8);
            p += 8 + n;
        }
        g->arr_index[ki] = (const uint8_t *)(void *)idx;
    }
    const uint8_t *const *idx = (const uint8_t *const *)(const void *)g->arr_index[ki];
    uint64_t n;
    memcpy(&n, idx[i], 8);
    out->p = (const char *)idx[i] + 8;
    out->len = n;
    return 0;
}

const void *tb_gguf_get_arr_data(const tb_gguf *g, const char *key, uint32_t *arr_type, uint64_t *n) {
    const tb_gguf_kv *kv = tb_gguf_find(g, key);
    if (!kv || kv->type != TB_GGUF_ARRAY || !kv_scalar_size(kv->arr_type)) return NULL;
    if (arr_type) *arr_type = kv->arr_type;
    if (n) *n = kv->arr_n;
    return kv->value;
}

const tb_gguf_tensor *tb_gguf_find_tensor(const tb_gguf *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (str_eq(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

/* ======================================================================== */
/* writer                                                                    */
/* ======================================================================== */

typedef struct {
    char *name;
    uint32_t type, n_dims;
    uint64_t ne0, ne1, nbytes, offset;
} wtensor;

struct tb_gguf_writer {
    uint8_t *buf; /* metadata KVs, serialized as added */
    size_t len, cap;
    uint64_t n_kv;
    wtensor *t;
    uint64_t n_t, cap_t;
    int oom;          /* sticky: an add failed */
    FILE *f;
    char path[1024], tmp[1040];
    uint64_t next;    /* index of the tensor whose data is expected */
    uint64_t cur;     /* bytes of it written so far */
    int failed;
};

tb_gguf_writer *tb_gguf_writer_new(void) { return calloc(1, sizeof(tb_gguf_writer)); }

void tb_gguf_writer_free(tb_gguf_writer *w) {
    if (!w) return;
    if (w->f) {
        fclose(w->f);
        unlink(w->tmp);
    }
    for (uint64_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->t);
    free(w->buf);
    free(w);
}

static void put(tb_gguf_writer *w, const void *p, size_t n) {
    if (w->oom) return;
    if (w->len + n > w->cap) {
        size_t nc = w->cap ? w->cap : 4096;
        while (nc < w->len + n) nc *= 2;
        uint8_t *nb = realloc(w->buf, nc);
        if (!nb) {
            w->oom = 1;
            return;
        }
        w->buf = nb;
        w->cap = nc;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}
static void put_u32(tb_gguf_writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(tb_gguf_writer *w, uint64_t v) { put(w, &v, 8); }
static void put_str(tb_gguf_writer *w, const char *s, size_t n) {
    put_u64(w, n);
    put(w, s, n);
}
static void put_key(tb_gguf_writer *w, const char *key, uint32_t type) {
    put_str(w, key, strlen(key));
    put_u32(w, type);
    w->n_kv++;
}

void tb_gguf_w_u32(tb_gguf_writer *w, const char *key, uint32_t v) {
    put_key(w, key, TB_GGUF_UINT32);
    put_u32(w, v);
}
void tb_gguf_w_f32(tb_gguf_writer *w, const char *key, float v) {
    put_key(w, key, TB_GGUF_FLOAT32);
    put(w, &v, 4);
}
void tb_gguf_w_bool(tb_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    put_key(w, key, TB_GGUF_BOOL);
    put(w, &b, 1);
}
void tb_gguf_w_str(tb_gguf_writer *w, const char *key, const char *v) {
    put_key(w, key, TB_GGUF_STRING);
    put_str(w, v, strlen(v));
}
void tb_gguf_w_arr_str(tb_gguf_writer *w, const char *key, const char *const *v, const size_t *lens, uint64_t n) {
    put_key(w, key, TB_GGUF_ARRAY);
    put_u32(w, TB_GGUF_STRING);
    put_u64(w, n);
    for (uint64_t i = 0; i < n; i++) put_str(w, v[i], lens ? lens[i] : strlen(v[i]));
}
void tb_gguf_w_arr_i32(tb_gguf_writer *w, const char *key, const int32_t *v, uint64_t n) {
    put_key(w, key, TB_GGUF_ARRAY);
    put_u32(w, TB_GGUF_INT32);
    put_u64(w, n);
    put(w, v, (size_t)n * 4);
}

void tb_gguf_w_arr_f32(tb_gguf_writer *w, const char *key, const float *v, uint64_t n) {
    put_key(w, key, TB_GGUF_ARRAY);
    put_u32(w, TB_GGUF_FLOAT32);
    put_u64(w, n);
    put(w, v, (size_t)n * 4);
}

void tb_gguf_w_tensor(tb_gguf_writer *w, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1) {
    if (w->oom) return;
    if (w->n_t == w->cap_t) {
        uint64_t nc = w->cap_t ? w->cap_t * 2 : 64;
        wtensor *nt = realloc(w->t, sizeof *nt * nc);
        if (!nt) {
            w->oom = 1;
            return;
        }
        w->t = nt;
        w->cap_t = nc;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) {
        w->oom = 1;
        return;
    }
    t->type = type;
    t->n_dims = ne1 ? 2 : 1;
    t->ne0 = ne0;
    t->ne1 = ne1 ? ne1 : 1;
    int ok;
    t->nbytes = tensor_nbytes(type, ne0, ne0 * t->ne1, &ok);
    if (!ok || !t->nbytes) w->oom = 2; /* reported at begin */
    w->n_t++;
}

static int pad_to(FILE *f, uint64_t pos, uint32_t align) {
    static const uint8_t zeros[64];
    uint64_t pad = (align - pos % align) % align;
    return pad && fwrite(zeros, 1, (size_t)pad, f) != pad ? -1 : 0;
}

int tb_gguf_w_begin(tb_gguf_writer *w, const char *path, tb_err *e) {
    if (w->oom == 1) return tb_fail(e, "%s: out of memory while building the GGUF header", path);
    if (w->oom == 2) return tb_fail(e, "%s: a tensor has a type or shape the writer cannot size", path);
    struct stat st; /* the finished file is renamed into place: never over a directory or device */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return tb_fail(e, "%s: exists and is not a regular file (%s)", path,
                       S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
    snprintf(w->path, sizeof w->path, "%s", path);
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp", path);
    w->f = fopen(w->tmp, "wb");
    if (!w->f) return tb_fail(e, "%s: cannot create: %s", w->tmp, strerror(errno));
    setvbuf(w->f, NULL, _IOFBF, 1 << 20);
    /* tensor infos after the KVs, data offsets aligned to 32 */
    uint64_t off = 0;
    size_t kv_len = w->len;
    for (uint64_t i = 0; i < w->n_t; i++) {
        wtensor *t = &w->t[i];
        t->offset = off;
        off += (t->nbytes + GGUF_DEFAULT_ALIGNMENT - 1) / GGUF_DEFAULT_ALIGNMENT * GGUF_DEFAULT_ALIGNMENT;
        put_str(w, t->name, strlen(t->name));
        put_u32(w, t->n_dims);
        put_u64(w, t->ne0);
        if (t->n_dims == 2) put_u64(w, t->ne1);
        put_u32(w, t->type);
        put_u64(w, t->offset);
    }
    if (w->oom) {
        w->failed = 1;
        return tb_fail(e, "%s: out of memory while building the GGUF header", path);
    }
    uint32_t ver = 3;
    uint64_t hdr_len = 4 + 4 + 8 + 8 + w->len;
    int bad = fwrite("GGUF", 1, 4, w->f) != 4 || fwrite(&ver, 4, 1, w->f) != 1 ||
              fwrite(&w->n_t, 8, 1, w->f) != 1 || fwrite(&w->n_kv, 8, 1, w->f) != 1 ||
              fwrite(w->buf, 1, w->len, w->f) != w->len || pad_to(w->f, hdr_len, GGUF_DEFAULT_ALIGNMENT) < 0;
    w->len = kv_len; /* header written; keep the KV buffer consistent */
    if (bad) {
        w->failed = 1;
        return tb_fail(e, "%s: write failed: %s", w->tmp, strerror(errno));
    }
    return 0;
}

int tb_gguf_w_data(tb_gguf_writer *w, const void *data, size_t nbytes, tb_err *e) {
    if (!w->f || w->failed) return tb_fail(e, "%s: GGUF writer not started or already failed", w->path);
    if (w->next >= w->n_t) {
        w->failed = 1;
        return tb_fail(e, "%s: more tensor data than tensors declared", w->path);
    }
    wtensor *t = &w->t[w->next];
    if (nbytes > t->nbytes - w->cur) {
        w->failed = 1;
        return tb_fail(e, "%s: tensor %s: got %" PRIu64 " bytes of data, expected %" PRIu64, w->path, t->name,
                       (uint64_t)(w->cur + nbytes), t->nbytes);
    }
    if (fwrite(data, 1, nbytes, w->f) != nbytes) {
        w->failed = 1;
        return tb_fail(e, "%s: write failed: %s", w->tmp, strerror(errno));
    }
    w->cur += nbytes;
    if (w->cur == t->nbytes) { /* tensor complete: pad to the next aligned offset */
        if (pad_to(w->f, t->nbytes, GGUF_DEFAULT_ALIGNMENT) < 0) {
            w->failed = 1;
            return tb_fail(e, "%s: write failed: %s", w->tmp, strerror(errno));
        }
        w->next++;
        w->cur = 0;
    }
    return 0;
}

int tb_gguf_w_end(tb_gguf_writer *w, tb_err *e) {
    if (!w->f) return tb_fail(e, "%s: GGUF writer not started", w->path);
    int rc = 0;
    if (!w->failed && w->next != w->n_t)
        rc = tb_fail(e, "%s: only %" PRIu64 " of %" PRIu64 " tensors written", w->path, w->next, w->n_t);
    if (fclose(w->f) != 0 && !rc && !w->failed) rc = tb_fail(e, "%s: write failed: %s", w->tmp, strerror(errno));
    w->f = NULL;
    if (w->failed && !rc) rc = -1; /* e already holds the failing call's message */
    if (rc < 0) {
        unlink(w->tmp);
        return rc;
    }
    if (rename(w->tmp, w->path) != 0) {
        rc = tb_fail(e, "%s: cannot rename from %s: %s", w->path, w->tmp, strerror(errno));
        unlink(w->tmp);
    }
    return rc;
}

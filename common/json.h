/* json.h: a small strict JSON reader (DOM) for tokenizer.json, config.json,
 * safetensors headers and result files.  Strings are decoded to UTF-8
 * (\uXXXX escapes and surrogate pairs included); object keys keep file order.
 */
#ifndef TB_JSON_H
#define TB_JSON_H

#include "tb_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TB_JSON_NULL, TB_JSON_BOOL, TB_JSON_NUMBER, TB_JSON_STRING, TB_JSON_ARRAY, TB_JSON_OBJECT } tb_json_type;

typedef struct tb_json tb_json;
struct tb_json {
    tb_json_type type;
    bool boolean;
    double number;
    char *str;        /* STRING: decoded UTF-8, NUL-terminated (may contain NUL: see len) */
    size_t len;       /* STRING: byte length; ARRAY/OBJECT: number of children */
    tb_json **items;  /* ARRAY/OBJECT children */
    char **keys;      /* OBJECT keys (decoded, NUL-terminated) */
};

/* Parses text[0..n).  On error returns NULL and says where (byte offset) in e. */
tb_json *tb_json_parse(const char *text, size_t n, tb_err *e);
void tb_json_free(tb_json *j);

/* Lookups return NULL when absent or of another type. */
const tb_json *tb_json_get(const tb_json *obj, const char *key);
const tb_json *tb_json_at(const tb_json *arr, size_t i);
const char *tb_json_get_str(const tb_json *obj, const char *key);
/* Number member; returns def when absent or not a number. */
double tb_json_get_num(const tb_json *obj, const char *key, double def);

#ifdef __cplusplus
}
#endif
#endif

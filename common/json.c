/* json.c: recursive-descent JSON parser (RFC 8259), limited in nesting depth and in
 * the number of values (each costs a node of ~100 bytes), so that a hostile file
 * is refused in bounded memory and stack. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end, *start;
    tb_err *e;
    int depth;
    size_t nodes;
} parser;

#define JSON_MAX_DEPTH 256
#define JSON_MAX_NODES ((size_t)1 << 22) /* Llama-3's tokenizer.json has ~0.55M values */

static void *xrealloc(void *p, size_t n) { return realloc(p, n ? n : 1); }

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static tb_json *fail(parser *ps, const char *what) {
    tb_fail(ps->e, "JSON: %s at byte %zu", what, (size_t)(ps->p - ps->start));
    return NULL;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f)); return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a string at ps->p (which points at '"'); returns malloc'd UTF-8. */
static char *parse_string(parser *ps, size_t *len_out) {
    ps->p++; /* opening quote */
    const char *s = ps->p;
    size_t cap = 0;
    while (s < ps->end && *s != '"') { if (*s == '\\') s++; s++; cap++; }
    if (s >= ps->end) { fail(ps, "unterminated string"); return NULL; }
    char *out = malloc(cap * 4 + 1), *o = out;
    if (!out) { fail(ps, "out of memory"); return NULL; }
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) { free(out); fail(ps, "control character in string"); return NULL; }
        if (c != '\\') { *o++ = (char)c; ps->p++; continue; }
        ps->p++;
        char esc = *ps->p++;
        switch (esc) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp;
            if (ps->end - ps->p < 4 || hex4(ps->p, &cp)) { free(out); fail(ps, "bad \\u escape"); return NULL; }
            ps->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
                unsigned lo;
                if (!hex4(ps->p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    ps->p += 6;
                }
            }
            o += put_utf8(o, cp);
            break;
        }
        default: free(out); ps->p--; fail(ps, "bad escape"); return NULL;
        }
    }
    ps->p++; /* closing quote */
    *o = 0;
    *len_out = (size_t)(o - out);
    return out;
}

static tb_json *parse_value(parser *ps);

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool valid_number(const char *s) {
    if (*s == '-') s++;
    if (*s == '0') s++;
    else if (*s >= '1' && *s <= '9') while (*s >= '0' && *s <= '9') s++;
    else return false;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return false;
        while (*s >= '0' && *s <= '9') s++;
    }
    return *s == 0;
}

static tb_json *new_node(tb_json_type t) {
    tb_json *j = calloc(1, sizeof *j);
    if (j) j->type = t;
    return j;
}

static tb_json *parse_container(parser *ps, int is_obj) {
    tb_json *j = new_node(is_obj ? TB_JSON_OBJECT : TB_JSON_ARRAY);
    if (!j) return fail(ps, "out of memory");
    size_t cap = 0;
    ps->p++;
    skip_ws(ps);
    char close = is_obj ? '}' : ']';
    if (ps->p < ps->end && *ps->p == close) { ps->p++; return j; }
    for (;;) {
        char *key = NULL;
        skip_ws(ps);
        if (is_obj) {
            size_t kl;
            if (ps->p >= ps->end || *ps->p != '"') { tb_json_free(j); return fail(ps, "expected object key"); }
            key = parse_string(ps, &kl);
            if (!key) { tb_json_free(j); return NULL; }
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') { free(key); tb_json_free(j); return fail(ps, "expected ':'"); }
            ps->p++;
        }
        tb_json *v = parse_value(ps);
        if (!v) { free(key); tb_json_free(j); return NULL; }
        if (j->len == cap) {
            cap = cap ? cap * 2 : 8;
            j->items = xrealloc(j->items, cap * sizeof *j->items);
            if (is_obj) j->keys = xrealloc(j->keys, cap * sizeof *j->keys);
        }
        j->items[j->len] = v;
        if (is_obj) j->keys[j->len] = key;
        j->len++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) { ps->p++; return j; }
        tb_json_free(j);
        return fail(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static tb_json *parse_value(parser *ps) {
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, "unexpected end of input");
    if (++ps->depth > JSON_MAX_DEPTH) return fail(ps, "nesting deeper than 256 levels");
    if (++ps->nodes > JSON_MAX_NODES) return fail(ps, "more than 4194304 values");
    tb_json *j = NULL;
    char c = *ps->p;
    if (c == '{' || c == '[') {
        j = parse_container(ps, c == '{');
    } else if (c == '"') {
        j = new_node(TB_JSON_STRING);
        if (!j) return fail(ps, "out of memory");
        j->str = parse_string(ps, &j->len);
        if (!j->str) { free(j); j = NULL; }
    } else if (c == 't' && ps->end - ps->p >= 4 && !memcmp(ps->p, "true", 4)) {
        j = new_node(TB_JSON_BOOL); if (j) j->boolean = true; ps->p += 4;
    } else if (c == 'f' && ps->end - ps->p >= 5 && !memcmp(ps->p, "false", 5)) {
        j = new_node(TB_JSON_BOOL); ps->p += 5;
    } else if (c == 'n' && ps->end - ps->p >= 4 && !memcmp(ps->p, "null", 4)) {
        j = new_node(TB_JSON_NULL); ps->p += 4;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t k = 0;
        while (ps->p < ps->end && k < sizeof buf - 1 &&
               ((*ps->p && strchr("+-.eE", *ps->p)) || (*ps->p >= '0' && *ps->p <= '9')))
            buf[k++] = *ps->p++;
        buf[k] = 0;
        char *endp;
        double v = strtod(buf, &endp);
        if (*endp || !valid_number(buf)) return fail(ps, "bad number");
        j = new_node(TB_JSON_NUMBER);
        if (j) j->number = v;
    } else {
        return fail(ps, "unexpected character");
    }
    ps->depth--;
    return j;
}

tb_json *tb_json_parse(const char *text, size_t n, tb_err *e) {
    parser ps = {text, text + n, text, e, 0, 0};
    tb_json *j = parse_value(&ps);
    if (!j) return NULL;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        tb_json_free(j);
        return fail(&ps, "trailing characters");
    }
    return j;
}

void tb_json_free(tb_json *j) {
    if (!j) return;
    for (size_t i = 0; (j->type == TB_JSON_ARRAY || j->type == TB_JSON_OBJECT) && i < j->len; i++) {
        tb_json_free(j->items[i]);
        if (j->keys) free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
    free(j);
}

const tb_json *tb_json_get(const tb_json *obj, const char *key) {
    if (!obj || obj->type != TB_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (!strcmp(obj->keys[i], key)) return obj->items[i];
    return NULL;
}
const tb_json *tb_json_at(const tb_json *arr, size_t i) {
    if (!arr || (arr->type != TB_JSON_ARRAY && arr->type != TB_JSON_OBJECT) || i >= arr->len) return NULL;
    return arr->items[i];
}
const char *tb_json_get_str(const tb_json *obj, const char *key) {
    const tb_json *v = tb_json_get(obj, key);
    return v && v->type == TB_JSON_STRING ? v->str : NULL;
}
double tb_json_get_num(const tb_json *obj, const char *key, double def) {
    const tb_json *v = tb_json_get(obj, key);
    return v && v->type == TB_JSON_NUMBER ? v->number : def;
}

/* tokenizer.c: the Llama-3 byte-level BPE tokenizer: loading (tokenizer.json or GGUF
 * metadata), encoding (special tokens, pre-tokenization, byte-level BPE) and decoding.
 *
 * Encoding of a text:
 *   1. added/special tokens are split out first (leftmost, longest match), as HF
 *      tokenizers do; with parse_special = false special tokens are plain text;
 *   2. every other span is cut into pre-tokens by the Llama-3 regex (pretok.c);
 *   3. each pre-token's bytes become one id if they are a vocabulary entry
 *      (HF's ignore_merges, set in Llama-3's tokenizer.json), else start as one
 *      symbol per byte and the adjacent pair of lowest merge rank is merged until
 *      none is left (a heap with lazy invalidation: O(n log n) per pre-token).
 *
 * Vocabulary strings in both file formats use GPT-2's byte-to-unicode alphabet
 * (bytes outside printable Latin-1 are moved to U+0100..); they are mapped back to
 * raw bytes at load, so the tables below hold raw bytes.  Special tokens are stored
 * as their text.
 */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gguf.h"
#include "json.h"

#define LLAMA3_REGEX                                                                                  \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Limits checked before anything is sized from a file (Llama-3: 128256 ids, 280147
 * merges, a 9 MB tokenizer.json).  They bound the memory a hostile file can claim. */
#define TOK_MAX_IDS (1L << 20)
#define TOK_MAX_MERGES (1L << 21)
#define TOK_MAX_JSON_BYTES (32L << 20)

enum { KIND_UNUSED = 0, KIND_NORMAL = 1, KIND_SPECIAL = 2, KIND_ADDED = 3 };

/* Hash slots keep the full hash beside the id so a probe rarely touches the blob. */
typedef struct vslot {
    uint32_t hash;
    int32_t id;          /* -1 empty */
} vslot;

typedef struct mslot {
    uint64_t key;        /* left << 32 | right */
    int32_t rank;        /* index in the merge list; -1 empty */
    int32_t res;         /* id of the merged token */
} mslot;

struct tb_tokenizer {
    int n_vocab;
    char *blob;          /* bytes of every token, concatenated */
    uint32_t *off;       /* (n_vocab + 1) offsets into blob */
    uint8_t *kind;       /* (n_vocab) KIND_* */
    int max_len;         /* longest token in bytes */

    vslot *vtab;         /* open addressing over NORMAL tokens: bytes -> id */
    uint32_t vmask;

    mslot *mtab;         /* open addressing over merges: (left, right) -> rank, result */
    uint32_t mmask;
    int n_merges;

    int32_t byte_tok[256]; /* id of each single byte */
    bool ignore_merges;    /* a pre-token that is a vocabulary entry maps to it directly */

    int32_t *added;        /* ids of added tokens matched in text, longest first */
    int n_added;
    uint8_t added_first[256]; /* 1 if some added token starts with this byte */

    int bos, eos;
};

/* ---- GPT-2 byte-level alphabet ---------------------------------------------- */

/* byte -> code point: printable Latin-1 maps to itself, the other 68 bytes to
 * U+0100.. in byte order. */
static void byte_alphabet(uint32_t cp_of_byte[256]) {
    uint32_t extra = 0;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        cp_of_byte[b] = keep ? (uint32_t)b : 256 + extra++;
    }
}

/* Decodes one UTF-8 code point at s (n bytes left); 0 on invalid. */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int need;
    uint32_t v;
    if ((c & 0xE0) == 0xC0) { need = 1; v = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { need = 2; v = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { need = 3; v = c & 0x07; }
    else return 0;
    if (n <= (size_t)need) return 0;
    for (int k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[k] & 0x3F);
    }
    *cp = v;
    return need + 1;
}

/* Maps a byte-level string back to raw bytes (out has room for n bytes).  Returns
 * the byte count, or -1 with *bad set to the offending code point (or 0xFFFFFFFF for
 * invalid UTF-8). */
static long unmap_bytes(const uint8_t byte_of_cp[324], const char *s, size_t n, char *out, uint32_t *bad) {
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        int l = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (!l) { *bad = 0xFFFFFFFFu; return -1; }
        if (cp >= 324 || (byte_of_cp[cp] == 0 && cp != 256)) { *bad = cp; return -1; }
        out[o++] = (char)byte_of_cp[cp];
        i += (size_t)l;
    }
    return (long)o;
}

/* ---- hashing ------------------------------------------------------------------ */

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static uint32_t hash_u64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (uint32_t)k;
}

static uint32_t pow2_at_least(size_t n) {
    uint32_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

/* Id of the NORMAL token with these bytes, or -1. */
static int32_t vocab_find(const tb_tokenizer *t, const char *s, size_t n) {
    uint32_t hv = hash_bytes(s, n), h = hv & t->vmask;
    for (;;) {
        int32_t id = t->vtab[h].id;
        if (id < 0) return -1;
        if (t->vtab[h].hash == hv && t->off[id + 1] - t->off[id] == n && !memcmp(t->blob + t->off[id], s, n))
            return id;
        h = (h + 1) & t->vmask;
    }
}

/* Slot of merge (a, b), or the empty slot where it would go. */
static uint32_t merge_slot(const tb_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint32_t h = hash_u64(key) & t->mmask;
    while (t->mtab[h].rank >= 0 && t->mtab[h].key != key) h = (h + 1) & t->mmask;
    return h;
}

/* ---- building ----------------------------------------------------------------- */

/* Tokens collected while loading, before they are packed into the tokenizer. */
typedef struct builder {
    int n;              /* ids [0, n) */
    char **bytes;       /* (n) malloc'd raw bytes or NULL */
    uint32_t *len;      /* (n) */
    uint8_t *kind;      /* (n) */
    uint8_t byte_of_cp[324];
    const char *src;    /* file name for errors */
} builder;

static int builder_init(builder *b, int n, const char *src, tb_err *e) {
    memset(b, 0, sizeof *b);
    b->n = n;
    b->src = src;
    b->bytes = calloc((size_t)n, sizeof *b->bytes);
    b->len = calloc((size_t)n, sizeof *b->len);
    b->kind = calloc((size_t)n, 1);
    if (!b->bytes || !b->len || !b->kind) return tb_fail(e, "%s: out of memory", src);
    uint32_t cp_of_byte[256];
    byte_alphabet(cp_of_byte);
    for (int i = 0; i < 256; i++) b->byte_of_cp[cp_of_byte[i]] = (uint8_t)i;
    return 0;
}

static void builder_free(builder *b) {
    if (b->bytes)
        for (int i = 0; i < b->n; i++) free(b->bytes[i]);
    free(b->bytes);
    free(b->len);
    free(b->kind);
}

/* Sets token id from its file string: byte-level for NORMAL, raw text otherwise. */
static int builder_set(builder *b, long id, const char *s, size_t n, int kind, tb_err *e) {
    if (id < 0 || id >= b->n) return tb_fail(e, "%s: token id %ld out of range [0, %d)", b->src, id, b->n);
    if (b->kind[id] != KIND_UNUSED) return tb_fail(e, "%s: token id %ld defined twice", b->src, id);
    if (n == 0) return tb_fail(e, "%s: token %ld is empty", b->src, id);
    char *out = malloc(n);
    if (!out) return tb_fail(e, "%s: out of memory", b->src);
    long m = (long)n;
    if (kind == KIND_NORMAL) {
        uint32_t bad;
        m = unmap_bytes(b->byte_of_cp, s, n, out, &bad);
        if (m < 0) {
            free(out);
            if (bad == 0xFFFFFFFFu) return tb_fail(e, "%s: token %ld is not valid UTF-8", b->src, id);
            return tb_fail(e, "%s: token %ld has U+%04X, not in the byte-level alphabet", b->src, id, (unsigned)bad);
        }
    } else {
        memcpy(out, s, n);
    }
    b->bytes[id] = out;
    b->len[id] = (uint32_t)m;
    b->kind[id] = (uint8_t)kind;
    return 0;
}

/* Packs the builder into t (blob, offsets, vocabulary hash, byte tokens, added list). */
static int builder_finish(builder *b, tb_tokenizer *t, tb_err *e) {
    t->n_vocab = b->n;
    size_t total = 0;
    for (int i = 0; i < b->n; i++) total += b->len[i];
    t->blob = malloc(total ? total : 1);
    t->off = malloc(((size_t)b->n + 1) * sizeof *t->off);
    t->kind = malloc((size_t)b->n);
    t->vmask = pow2_at_least((size_t)b->n * 2) - 1;
    t->vtab = malloc(((size_t)t->vmask + 1) * sizeof *t->vtab);
    t->added = malloc((size_t)b->n * sizeof *t->added);
    if (!t->blob || !t->off || !t->kind || !t->vtab || !t->added) return tb_fail(e, "%s: out of memory", b->src);
    for (size_t i = 0; i <= t->vmask; i++) t->vtab[i].id = -1;
    memcpy(t->kind, b->kind, (size_t)b->n);
    size_t o = 0;
    for (int i = 0; i < b->n; i++) {
        t->off[i] = (uint32_t)o;
        if (b->len[i]) memcpy(t->blob + o, b->bytes[i], b->len[i]);
        o += b->len[i];
        if ((int)b->len[i] > t->max_len) t->max_len = (int)b->len[i];
    }
    t->off[b->n] = (uint32_t)o;
    for (int i = 0; i < b->n; i++) {
        if (b->kind[i] == KIND_NORMAL) {
            if (vocab_find(t, t->blob + t->off[i], b->len[i]) >= 0) continue; /* first id wins */
            uint32_t hv = hash_bytes(t->blob + t->off[i], b->len[i]), h = hv & t->vmask;
            while (t->vtab[h].id >= 0) h = (h + 1) & t->vmask;
            t->vtab[h].hash = hv;
            t->vtab[h].id = i;
        } else if (b->kind[i] == KIND_SPECIAL || b->kind[i] == KIND_ADDED) {
            t->added[t->n_added++] = i;
            t->added_first[(unsigned char)t->blob[t->off[i]]] = 1;
        }
    }
    /* longest first, so matching the first candidate gives the longest match */
    for (int i = 1; i < t->n_added; i++) {
        int32_t x = t->added[i];
        int j = i;
        while (j > 0 && t->off[t->added[j - 1] + 1] - t->off[t->added[j - 1]] < t->off[x + 1] - t->off[x]) {
            t->added[j] = t->added[j - 1];
            j--;
        }
        t->added[j] = x;
    }
    for (int c = 0; c < 256; c++) {
        char ch = (char)c;
        t->byte_tok[c] = vocab_find(t, &ch, 1);
        if (t->byte_tok[c] < 0) return tb_fail(e, "%s: no token for byte 0x%02X (not a byte-level BPE vocabulary)", b->src, c);
    }
    return 0;
}

/* Registers merge number `rank` given as the two byte-level strings a and b. */
static int add_merge(tb_tokenizer *t, const builder *b, int rank, const char *a, size_t na, const char *bb, size_t nb, tb_err *e) {
    char buf[512];
    uint32_t bad;
    if (na + nb > sizeof buf) return tb_fail(e, "%s: merge %d is too long", b->src, rank);
    long la = unmap_bytes(b->byte_of_cp, a, na, buf, &bad);
    long lb = la < 0 ? -1 : unmap_bytes(b->byte_of_cp, bb, nb, buf + la, &bad);
    if (la <= 0 || lb <= 0) return tb_fail(e, "%s: merge %d has a part outside the byte-level alphabet", b->src, rank);
    int32_t ia = vocab_find(t, buf, (size_t)la), ib = vocab_find(t, buf + la, (size_t)lb);
    int32_t ir = vocab_find(t, buf, (size_t)(la + lb));
    if (ia < 0 || ib < 0 || ir < 0)
        return tb_fail(e, "%s: merge %d ('%.*s' '%.*s') refers to a token not in the vocabulary", b->src, rank,
                       (int)na, a, (int)nb, bb);
    uint32_t h = merge_slot(t, ia, ib);
    if (t->mtab[h].rank >= 0) return 0; /* duplicate: the lower rank stays */
    t->mtab[h].key = (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib;
    t->mtab[h].rank = rank;
    t->mtab[h].res = ir;
    t->n_merges++;
    return 0;
}

static int alloc_merges(tb_tokenizer *t, size_t n, const char *src, tb_err *e) {
    if (n > (size_t)TOK_MAX_MERGES)
        return tb_fail(e, "%s: %zu merges, more than the limit of %ld (Llama-3 has 280147)", src, n, TOK_MAX_MERGES);
    t->mmask = pow2_at_least(n * 2) - 1;
    t->mtab = malloc(((size_t)t->mmask + 1) * sizeof *t->mtab);
    if (!t->mtab) return tb_fail(e, "%s: out of memory", src);
    for (size_t i = 0; i <= t->mmask; i++) t->mtab[i].rank = -1;
    return 0;
}

/* Splits a merge "a b" at its single space (byte-level strings have no raw space). */
static int split_merge(const char *s, size_t n, size_t *sp) {
    const char *p = memchr(s, ' ', n);
    if (!p || p == s || (size_t)(p - s) + 1 >= n || memchr(p + 1, ' ', n - (size_t)(p - s) - 1)) return -1;
    *sp = (size_t)(p - s);
    return 0;
}

void tb_tokenizer_free(tb_tokenizer *t) {
    if (!t) return;
    free(t->blob);
    free(t->off);
    free(t->kind);
    free(t->vtab);
    free(t->mtab);
    free(t->added);
    free(t);
}

/* ---- tokenizer.json ----------------------------------------------------------- */

static bool json_has_string(const tb_json *j, const char *s) {
    if (!j) return false;
    if (j->type == TB_JSON_STRING) return !strcmp(j->str, s);
    if (j->type == TB_JSON_ARRAY || j->type == TB_JSON_OBJECT)
        for (size_t i = 0; i < j->len; i++)
            if (json_has_string(j->items[i], s)) return true;
    return false;
}

static bool json_is_int(const tb_json *j) {
    return j && j->type == TB_JSON_NUMBER && j->number >= 0 && j->number < 16777216.0 && j->number == (double)(long)j->number;
}

static bool json_true(const tb_json *obj, const char *key) {
    const tb_json *v = tb_json_get(obj, key);
    return v && v->type == TB_JSON_BOOL && v->boolean;
}

/* Id of the added token whose content is s, or -1. */
static int find_added(const tb_tokenizer *t, const char *s) {
    size_t n = strlen(s);
    for (int i = 0; i < t->n_added; i++) {
        int32_t id = t->added[i];
        if (t->off[id + 1] - t->off[id] == n && !memcmp(t->blob + t->off[id], s, n)) return id;
    }
    return -1;
}

/* bos_token / eos_token of a tokenizer_config.json next to path, if any. */
static void read_config_specials(tb_tokenizer *t, const char *json_path) {
    char cfg[1100];
    const char *slash = strrchr(json_path, '/');
    int dir = slash ? (int)(slash - json_path + 1) : 0;
    snprintf(cfg, sizeof cfg, "%.*stokenizer_config.json", dir, json_path);
    char *text;
    size_t n;
    if (tb_read_file(cfg, &text, &n, NULL)) return;
    tb_json *j = tb_json_parse(text, n, NULL);
    free(text);
    if (!j) return;
    const char *keys[2] = {"bos_token", "eos_token"};
    int *dst[2] = {&t->bos, &t->eos};
    for (int k = 0; k < 2; k++) {
        const tb_json *v = tb_json_get(j, keys[k]);
        const char *s = v && v->type == TB_JSON_STRING ? v->str : tb_json_get_str(v, "content");
        int id = s ? find_added(t, s) : -1;
        if (id >= 0) *dst[k] = id;
    }
    tb_json_free(j);
}

/* Refuses a tokenizer.json larger than TOK_MAX_JSON_BYTES before reading it (its DOM
 * would take several times that). */
static int check_json_size(const char *path, size_t n, tb_err *e) {
    if (n <= (size_t)TOK_MAX_JSON_BYTES) return 0;
    return tb_fail(e, "%s: %zu bytes, more than a tokenizer.json may have (%ld MiB; Llama-3's has 9 MB)", path, n,
                   TOK_MAX_JSON_BYTES >> 20);
}

static int load_json(const char *path, tb_tokenizer *t, tb_err *e) {
    char *text;
    size_t n;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && check_json_size(path, (size_t)st.st_size, e)) return -1;
    if (tb_read_file(path, &text, &n, e)) return -1;
    if (check_json_size(path, n, e)) {
        free(text);
        return -1;
    }
    tb_err je;
    tb_json *root = tb_json_parse(text, n, &je);
    free(text);
    if (!root) return tb_fail(e, "%s: %s", path, je.msg);
    builder b;
    int rc = -1;
    memset(&b, 0, sizeof b);

    const tb_json *model = tb_json_get(root, "model");
    const tb_json *vocab = tb_json_get(model, "vocab");
    const tb_json *merges = tb_json_get(model, "merges");
    const tb_json *added = tb_json_get(root, "added_tokens");
    const char *mtype = tb_json_get_str(model, "type");
    const tb_json *norm = tb_json_get(root, "normalizer");
    if (!vocab || vocab->type != TB_JSON_OBJECT || !merges || merges->type != TB_JSON_ARRAY) {
        tb_fail(e, "%s: no model.vocab object / model.merges array (not a BPE tokenizer.json)", path);
        goto done;
    }
    if (mtype && strcmp(mtype, "BPE")) { tb_fail(e, "%s: model.type is %s, only BPE is supported", path, mtype); goto done; }
    if (norm && norm->type != TB_JSON_NULL) { tb_fail(e, "%s: has a normalizer; only Llama-3 (none) is supported", path); goto done; }
    if (!json_has_string(tb_json_get(root, "pre_tokenizer"), LLAMA3_REGEX)) {
        tb_fail(e, "%s: pre_tokenizer is not the Llama-3 split regex (only Llama-3 is supported)", path);
        goto done;
    }
    if (json_true(model, "byte_fallback")) { tb_fail(e, "%s: byte_fallback BPE is not supported", path); goto done; }
    t->ignore_merges = json_true(model, "ignore_merges");

    /* id space: the largest id among vocab and added tokens */
    long max_id = -1;
    for (size_t i = 0; i < vocab->len; i++) {
        if (!json_is_int(vocab->items[i])) { tb_fail(e, "%s: vocab entry %zu has no valid id", path, i); goto done; }
        if ((long)vocab->items[i]->number > max_id) max_id = (long)vocab->items[i]->number;
    }
    size_t n_added = added && added->type == TB_JSON_ARRAY ? added->len : 0;
    for (size_t i = 0; i < n_added; i++) {
        const tb_json *id = tb_json_get(added->items[i], "id");
        if (!json_is_int(id)) { tb_fail(e, "%s: added_tokens[%zu] has no valid id", path, i); goto done; }
        if ((long)id->number > max_id) max_id = (long)id->number;
    }
    if (max_id < 255) { tb_fail(e, "%s: vocabulary too small (%ld ids)", path, max_id + 1); goto done; }
    if (max_id >= TOK_MAX_IDS) {
        tb_fail(e, "%s: token id %ld is more than the limit of %ld ids", path, max_id, TOK_MAX_IDS);
        goto done;
    }
    if (builder_init(&b, (int)max_id + 1, path, e)) goto done;

    for (size_t i = 0; i < n_added; i++) {
        const tb_json *a = added->items[i];
        const tb_json *content = tb_json_get(a, "content");
        if (!content || content->type != TB_JSON_STRING) { tb_fail(e, "%s: added_tokens[%zu] has no content", path, i); goto done; }
        if (json_true(a, "lstrip") || json_true(a, "rstrip") || json_true(a, "single_word")) {
            tb_fail(e, "%s: added token '%s' uses lstrip/rstrip/single_word (not supported)", path, content->str);
            goto done;
        }
        int kind = json_true(a, "special") ? KIND_SPECIAL : KIND_ADDED;
        if (builder_set(&b, (long)tb_json_get(a, "id")->number, content->str, content->len, kind, e)) goto done;
    }
    for (size_t i = 0; i < vocab->len; i++) {
        long id = (long)vocab->items[i]->number;
        if (b.kind[id] != KIND_UNUSED && b.kind[id] != KIND_NORMAL) continue; /* added token also listed in vocab */
        if (builder_set(&b, id, vocab->keys[i], strlen(vocab->keys[i]), KIND_NORMAL, e)) goto done;
    }
    if (builder_finish(&b, t, e)) goto done;

    if (alloc_merges(t, merges->len, path, e)) goto done;
    for (size_t i = 0; i < merges->len; i++) {
        const tb_json *m = merges->items[i];
        if (m->type == TB_JSON_STRING) {
            size_t sp;
            if (split_merge(m->str, m->len, &sp)) { tb_fail(e, "%s: merge %zu is not 'a b'", path, i); goto done; }
            if (add_merge(t, &b, (int)i, m->str, sp, m->str + sp + 1, m->len - sp - 1, e)) goto done;
        } else if (m->type == TB_JSON_ARRAY && m->len == 2 && m->items[0]->type == TB_JSON_STRING &&
                   m->items[1]->type == TB_JSON_STRING) {
            if (add_merge(t, &b, (int)i, m->items[0]->str, m->items[0]->len, m->items[1]->str, m->items[1]->len, e))
                goto done;
        } else {
            tb_fail(e, "%s: merge %zu is neither 'a b' nor [a, b]", path, i);
            goto done;
        }
    }
    t->bos = find_added(t, "<|begin_of_text|>");
    t->eos = find_added(t, "<|end_of_text|>");
    read_config_specials(t, path);
    rc = 0;
done:
    builder_free(&b);
    tb_json_free(root);
    return rc;
}

/* ---- GGUF ----------------------------------------------------------------------- */

int tb_tokenizer_from_gguf(struct tb_gguf *g, tb_tokenizer **out, tb_err *e) {
    *out = NULL;
    const char *src = g->path;
    tb_gguf_str s;
    if (tb_gguf_get_str(g, "tokenizer.ggml.model", &s))
        return tb_fail(e, "%s: no tokenizer.ggml.model (the GGUF carries no tokenizer)", src);
    if (s.len != 4 || memcmp(s.p, "gpt2", 4))
        return tb_fail(e, "%s: tokenizer.ggml.model is '%.*s'; only gpt2 (byte-level BPE) is supported", src, (int)s.len, s.p);
    if (!tb_gguf_get_str(g, "tokenizer.ggml.pre", &s)) {
        static const char *const ok[] = {"llama-bpe", "llama3", "llama-v3"};
        bool good = false;
        for (int i = 0; i < 3; i++) good |= s.len == strlen(ok[i]) && !memcmp(s.p, ok[i], s.len);
        if (!good)
            return tb_fail(e, "%s: tokenizer.ggml.pre is '%.*s'; only the Llama-3 split (llama-bpe) is supported", src,
                           (int)s.len, s.p);
    } /* absent (bitnet.cpp's files): we use the Llama-3 regex, as HF does for this vocabulary */
    const tb_gguf_kv *tok_kv = tb_gguf_find(g, "tokenizer.ggml.tokens");
    const tb_gguf_kv *mrg_kv = tb_gguf_find(g, "tokenizer.ggml.merges");
    if (!tok_kv || tok_kv->type != TB_GGUF_ARRAY || tok_kv->arr_type != TB_GGUF_STRING)
        return tb_fail(e, "%s: tokenizer.ggml.tokens missing or not a string array", src);
    if (!mrg_kv || mrg_kv->type != TB_GGUF_ARRAY || mrg_kv->arr_type != TB_GGUF_STRING)
        return tb_fail(e, "%s: tokenizer.ggml.merges missing or not a string array", src);
    uint64_t n = tok_kv->arr_n, n_merges = mrg_kv->arr_n;
    if (n < 256 || n > (uint64_t)TOK_MAX_IDS)
        return tb_fail(e, "%s: tokenizer.ggml.tokens has %llu entries (need 256..%ld)", src, (unsigned long long)n,
                       TOK_MAX_IDS);
    uint32_t tt_type = 0;
    uint64_t tt_n = 0;
    const void *tt = tb_gguf_get_arr_data(g, "tokenizer.ggml.token_type", &tt_type, &tt_n);
    if (tt && (tt_n != n || (tt_type != TB_GGUF_INT32 && tt_type != TB_GGUF_UINT32)))
        return tb_fail(e, "%s: tokenizer.ggml.token_type must be %llu int32 values", src, (unsigned long long)n);

    tb_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return tb_fail(e, "%s: out of memory", src);
    builder b;
    int rc = -1;
    if (builder_init(&b, (int)n, src, e)) goto done;
    for (uint64_t i = 0; i < n; i++) {
        if (tb_gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &s)) { tb_fail(e, "%s: cannot read token %llu", src, (unsigned long long)i); goto done; }
        int32_t type = 1;
        if (tt) memcpy(&type, (const char *)tt + 4 * i, 4);
        /* llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte */
        int kind = type == 3 ? KIND_SPECIAL : type == 4 ? KIND_ADDED : type == 5 ? KIND_UNUSED : KIND_NORMAL;
        if (type < 1 || type > 6) { tb_fail(e, "%s: token %llu has unknown token_type %d", src, (unsigned long long)i, type); goto done; }
        if (kind == KIND_UNUSED) continue;
        if (builder_set(&b, (long)i, s.p, s.len, kind, e)) goto done;
    }
    if (builder_finish(&b, t, e)) goto done;
    if (alloc_merges(t, n_merges, src, e)) goto done;
    for (uint64_t i = 0; i < n_merges; i++) {
        size_t sp;
        if (tb_gguf_get_arr_str(g, "tokenizer.ggml.merges", i, &s)) { tb_fail(e, "%s: cannot read merge %llu", src, (unsigned long long)i); goto done; }
        if (split_merge(s.p, s.len, &sp)) { tb_fail(e, "%s: merge %llu is not 'a b'", src, (unsigned long long)i); goto done; }
        if (add_merge(t, &b, (int)i, s.p, sp, s.p + sp + 1, s.len - sp - 1, e)) goto done;
    }
    /* bitnet.cpp/llama.cpp behave as HF's ignore_merges for Llama-3 vocabularies */
    t->ignore_merges = true;
    uint32_t v;
    t->bos = !tb_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &v) && v < n ? (int)v : find_added(t, "<|begin_of_text|>");
    t->eos = !tb_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &v) && v < n ? (int)v : find_added(t, "<|end_of_text|>");
    rc = 0;
done:
    builder_free(&b);
    if (rc) tb_tokenizer_free(t);
    else *out = t;
    return rc;
}

int tb_tokenizer_load(const char *path, tb_tokenizer **out, tb_err *e) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st)) return tb_fail(e, "%s: no such file or directory", path);
    char buf[1100];
    if (S_ISDIR(st.st_mode)) {
        snprintf(buf, sizeof buf, "%s/tokenizer.json", path);
        if (stat(buf, &st)) return tb_fail(e, "%s: directory has no tokenizer.json", path);
        path = buf;
    }
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".gguf")) {
        tb_gguf *g;
        if (tb_gguf_open(path, &g, e)) return -1;
        int rc = tb_tokenizer_from_gguf(g, out, e);
        tb_gguf_close(g);
        return rc;
    }
    tb_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return tb_fail(e, "%s: out of memory", path);
    if (load_json(path, t, e)) {
        tb_tokenizer_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

int tb_tokenizer_vocab(const tb_tokenizer *t) { return t->n_vocab; }
int tb_tokenizer_bos(const tb_tokenizer *t) { return t->bos; }
int tb_tokenizer_eos(const tb_tokenizer *t) { return t->eos; }
int tb_tokenizer_max_token_bytes(const tb_tokenizer *t) { return t->max_len; }
int tb_tokenizer_n_merges(const tb_tokenizer *t) { return t->n_merges; }
bool tb_tokenizer_is_special(const tb_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->n_vocab && (t->kind[id] == KIND_SPECIAL || t->kind[id] == KIND_ADDED);
}

/* ---- encoding --------------------------------------------------------------------- */

typedef struct pair_ent {
    int32_t rank;
    uint32_t pos;      /* byte offset of the left symbol within the piece */
    int32_t left, right, res;
} pair_ent;

/* Scratch reused across pre-tokens of one tb_tokenize call. */
typedef struct encoder {
    const tb_tokenizer *t;
    int32_t *ids;      /* output */
    size_t n, cap;
    size_t scap;       /* capacity of the per-byte arrays below */
    int32_t *sym;      /* (piece bytes) id of the symbol starting here */
    uint32_t *next, *prev;
    pair_ent *heap;    /* (piece bytes) pair candidates, min-heap by (rank, pos) */
    size_t hn, hcap;
} encoder;

static int push_id(encoder *c, int32_t id) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        int32_t *p = realloc(c->ids, cap * sizeof *p);
        if (!p) return -1;
        c->ids = p;
        c->cap = cap;
    }
    c->ids[c->n++] = id;
    return 0;
}

static bool ent_less(const pair_ent *a, const pair_ent *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static int heap_push(encoder *c, pair_ent x) {
    if (c->hn == c->hcap) {
        size_t cap = c->hcap ? c->hcap * 2 : 64;
        pair_ent *p = realloc(c->heap, cap * sizeof *p);
        if (!p) return -1;
        c->heap = p;
        c->hcap = cap;
    }
    size_t i = c->hn++;
    while (i > 0 && ent_less(&x, &c->heap[(i - 1) / 2])) {
        c->heap[i] = c->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->heap[i] = x;
    return 0;
}

static pair_ent heap_pop(encoder *c) {
    pair_ent top = c->heap[0], x = c->heap[--c->hn];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const pair_ent *best = &x;
        if (l < c->hn && ent_less(&c->heap[l], best)) { m = l; best = &c->heap[l]; }
        if (l + 1 < c->hn && ent_less(&c->heap[l + 1], best)) m = l + 1;
        if (m == i) break;
        c->heap[i] = c->heap[m];
        i = m;
    }
    if (c->hn) c->heap[i] = x;
    return top;
}

/* Queues the pair starting at symbol pos, if it is a known merge. */
static int queue_pair(encoder *c, uint32_t pos, uint32_t len) {
    uint32_t r = c->next[pos];
    if (r >= len) return 0;
    const tb_tokenizer *t = c->t;
    uint32_t h = merge_slot(t, c->sym[pos], c->sym[r]);
    if (t->mtab[h].rank < 0) return 0;
    pair_ent x = {t->mtab[h].rank, pos, c->sym[pos], c->sym[r], t->mtab[h].res};
    return heap_push(c, x);
}

/* Byte-level BPE of one pre-token. */
static int bpe_piece(encoder *c, const unsigned char *s, uint32_t len) {
    const tb_tokenizer *t = c->t;
    if (len == 1) return push_id(c, t->byte_tok[s[0]]);
    if (t->ignore_merges) {
        int32_t id = vocab_find(t, (const char *)s, len);
        if (id >= 0) return push_id(c, id);
    }
    if (len > c->scap) {
        size_t cap = len < 256 ? 256 : len;
        free(c->sym);
        free(c->next);
        free(c->prev);
        c->sym = malloc(cap * sizeof *c->sym);
        c->next = malloc(cap * sizeof *c->next);
        c->prev = malloc(cap * sizeof *c->prev);
        c->scap = c->sym && c->next && c->prev ? cap : 0;
        if (!c->scap) return -1;
    }
    c->hn = 0;
    for (uint32_t i = 0; i < len; i++) {
        c->sym[i] = t->byte_tok[s[i]];
        c->next[i] = i + 1;
        c->prev[i] = i - 1; /* wraps to UINT32_MAX for i = 0 */
    }
    for (uint32_t i = 0; i + 1 < len; i++)
        if (queue_pair(c, i, len)) return -1;
    while (c->hn) {
        pair_ent x = heap_pop(c);
        /* stale unless both symbols are still there with the same ids (dead ones are -1) */
        if (c->sym[x.pos] != x.left) continue;
        uint32_t r = c->next[x.pos];
        if (r >= len || c->sym[r] != x.right) continue;
        c->sym[x.pos] = x.res;
        c->sym[r] = -1;
        c->next[x.pos] = c->next[r];
        if (c->next[r] < len) c->prev[c->next[r]] = x.pos;
        if (x.pos > 0 && queue_pair(c, c->prev[x.pos], len)) return -1;
        if (queue_pair(c, x.pos, len)) return -1;
    }
    for (uint32_t i = 0; i < len; i = c->next[i])
        if (push_id(c, c->sym[i])) return -1;
    return 0;
}

/* Pre-tokenizes and encodes text[0..n) (no special tokens in it). */
static int encode_span(encoder *c, const char *text, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t j = tb_pretok_next(text, n, i);
        if (j - i > UINT32_MAX / 2) return -1;
        if (bpe_piece(c, (const unsigned char *)text + i, (uint32_t)(j - i))) return -1;
        i = j;
    }
    return 0;
}

/* The leftmost, longest added token at or after *pos in text[0..n): its id, with
 * *pos set to its start; -1 if none. */
static int32_t find_added_in(const tb_tokenizer *t, const char *text, size_t n, size_t *pos, bool parse_special) {
    for (size_t i = *pos; i < n; i++) {
        if (!t->added_first[(unsigned char)text[i]]) continue;
        for (int k = 0; k < t->n_added; k++) {
            int32_t id = t->added[k];
            if (!parse_special && t->kind[id] == KIND_SPECIAL) continue;
            size_t l = t->off[id + 1] - t->off[id];
            if (l <= n - i && !memcmp(text + i, t->blob + t->off[id], l)) {
                *pos = i;
                return id;
            }
        }
    }
    return -1;
}

int tb_tokenize(const tb_tokenizer *t, const char *text, size_t len, bool bos, bool parse_special, int32_t **ids,
                size_t *n, tb_err *e) {
    *ids = NULL;
    *n = 0;
    if (!text && len) return tb_fail(e, "tokenize: NULL text");
    if (bos && t->bos < 0) return tb_fail(e, "tokenize: this tokenizer has no BOS token");
    encoder c;
    memset(&c, 0, sizeof c);
    c.t = t;
    int rc = 0;
    if (bos && push_id(&c, t->bos)) rc = -1;
    size_t pos = 0;
    while (!rc && pos < len) {
        size_t at = pos;
        int32_t sp = t->n_added ? find_added_in(t, text, len, &at, parse_special) : -1;
        size_t end = sp >= 0 ? at : len;
        if (encode_span(&c, text + pos, end - pos)) rc = -1;
        if (!rc && sp >= 0) {
            if (push_id(&c, sp)) rc = -1;
            end += t->off[sp + 1] - t->off[sp];
        }
        pos = end;
    }
    free(c.sym);
    free(c.next);
    free(c.prev);
    free(c.heap);
    if (rc) {
        free(c.ids);
        return tb_fail(e, "tokenize: out of memory (%zu bytes of text)", len);
    }
    if (!c.ids) c.ids = malloc(sizeof *c.ids); /* a valid pointer even for no ids */
    if (!c.ids) return tb_fail(e, "tokenize: out of memory");
    *ids = c.ids;
    *n = c.n;
    return 0;
}

/* ---- decoding --------------------------------------------------------------------- */

int tb_token_bytes(const tb_tokenizer *t, int32_t id, char *buf, size_t cap) {
    if (id < 0 || id >= t->n_vocab || t->kind[id] == KIND_UNUSED) return -1;
    size_t l = t->off[id + 1] - t->off[id];
    memcpy(buf, t->blob + t->off[id], l < cap ? l : cap);
    return (int)l;
}

int tb_detokenize(const tb_tokenizer *t, const int32_t *ids, size_t n, char **text, size_t *len, tb_err *e) {
    *text = NULL;
    if (len) *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab || t->kind[id] == KIND_UNUSED)
            return tb_fail(e, "detokenize: id %d at position %zu is not a token (vocabulary %d)", (int)id, i, t->n_vocab);
        total += t->off[id + 1] - t->off[id];
    }
    char *out = malloc(total + 1);
    if (!out) return tb_fail(e, "detokenize: out of memory (%zu bytes)", total);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = t->off[ids[i] + 1] - t->off[ids[i]];
        memcpy(out + o, t->blob + t->off[ids[i]], l);
        o += l;
    }
    out[o] = 0;
    *text = out;
    if (len) *len = o;
    return 0;
}

/* Length of the trailing bytes of s[0..n) that begin a UTF-8 sequence which is still
 * incomplete but may be completed by what follows (0 if none). */
static size_t incomplete_tail(const unsigned char *s, size_t n) {
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned c = s[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation: keep looking for the lead */
        size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

int tb_detok_stream_push(const tb_tokenizer *t, tb_detok_stream *s, int32_t id, char *out, size_t cap) {
    if (id < 0 || id >= t->n_vocab || t->kind[id] == KIND_UNUSED) return -1;
    size_t l = t->off[id + 1] - t->off[id];
    if ((size_t)s->n + l > cap) return -1;
    memcpy(out, s->pend, (size_t)s->n);
    memcpy(out + s->n, t->blob + t->off[id], l);
    size_t total = (size_t)s->n + l;
    size_t hold = incomplete_tail((const unsigned char *)out, total);
    memcpy(s->pend, out + total - hold, hold);
    s->n = (int)hold;
    return (int)(total - hold);
}

int tb_detok_stream_flush(tb_detok_stream *s, char *out, size_t cap) {
    if ((size_t)s->n > cap) return -1;
    int n = s->n;
    memcpy(out, s->pend, (size_t)n);
    s->n = 0;
    return n;
}

/* test_tokenizer.c: the Llama-3 tokenizer against independent ground truth.
 *
 * - Pre-tokenizer splits written out by hand from the regex's semantics.
 * - A hand-made miniature BPE tokenizer.json whose expected ids follow from the
 *   merge ranks by hand (rank order, leftmost tie-break, ignore_merges).
 * - The golden ids in $TERNBENCH_DATA/llama3-tokenizer/golden (made by two
 *   independent JavaScript encoders): all of wiki.test.raw and a set of strings,
 *   from tokenizer.json and from the GGUF bitnet.cpp wrote; decode(encode(x)) == x.
 * - Special tokens on/off, BOS, empty and invalid UTF-8 input, streaming decode,
 *   and clear errors for bad files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "tb_common.h"
#include "tb_test.h"
#include "tokenizer.h"

/* ---- helpers ------------------------------------------------------------------ */

static const char *data_dir(void) {
    const char *d = getenv("TERNBENCH_DATA");
    if (d && *d) return d;
#ifdef TB_DEFAULT_DATA_DIR
    return TB_DEFAULT_DATA_DIR;
#else
    return NULL;
#endif
}

/* $TERNBENCH_DATA/<rel> if it exists, else NULL. */
static const char *data_path(const char *rel) {
    static char buf[4][1024];
    static int k;
    const char *d = data_dir();
    if (!d) return NULL;
    char *p = buf[k++ & 3];
    snprintf(p, 1024, "%s/%s", d, rel);
    return access(p, R_OK) == 0 ? p : NULL;
}

/* The tokenizers are loaded once and shared between tests. */
static tb_tokenizer *tok_json, *tok_gguf;
static bool tried_json, tried_gguf;

static tb_tokenizer *get_json(void) {
    if (!tried_json) {
        tried_json = true;
        const char *p = data_path("llama3-tokenizer/tokenizer.json");
        if (!p) return NULL;
        tb_err e = {{0}};
        double t0 = tb_now();
        if (tb_tokenizer_load(p, &tok_json, &e)) {
            fprintf(stderr, "load %s: %s\n", p, e.msg);
            tb_failed_checks_++;
        } else {
            printf("info: loaded tokenizer.json in %.3f s\n", tb_now() - t0);
        }
    }
    return tok_json;
}

static tb_tokenizer *get_gguf(void) {
    if (!tried_gguf) {
        tried_gguf = true;
        const char *p = data_path("golden/tiny-bitnet-i2_s.gguf");
        if (!p) return NULL;
        tb_err e = {{0}};
        double t0 = tb_now();
        if (tb_tokenizer_load(p, &tok_gguf, &e)) {
            fprintf(stderr, "load %s: %s\n", p, e.msg);
            tb_failed_checks_++;
        } else {
            printf("info: loaded the GGUF tokenizer in %.3f s\n", tb_now() - t0);
        }
    }
    return tok_gguf;
}

static bool ids_equal(const int32_t *a, size_t na, const int32_t *b, size_t nb, const char *what) {
    if (na == nb && !memcmp(a, b, na * sizeof *a)) return true;
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    fprintf(stderr, "%s: %zu vs %zu ids, first difference at %zu: %d vs %d\n", what, na, nb, i,
            i < na ? (int)a[i] : -1, i < nb ? (int)b[i] : -1);
    return false;
}

/* Encodes and checks the ids and the round trip. */
static void check_encode(const tb_tokenizer *t, const char *text, size_t len, bool bos, bool special, const int32_t *want,
                         size_t n_want, const char *what) {
    int32_t *ids;
    size_t n;
    tb_err e = {{0}};
    TB_CHECK_MSG(tb_tokenize(t, text, len, bos, special, &ids, &n, &e) == 0, "%s: %s", what, e.msg);
    if (!ids) return;
    if (want) TB_CHECK_MSG(ids_equal(ids, n, want, n_want, what), "%s", what);
    char *back;
    size_t blen;
    size_t skip = bos ? 1 : 0;
    TB_CHECK(tb_detokenize(t, ids + skip, n - skip, &back, &blen, &e) == 0);
    TB_CHECK_MSG(blen == len && !memcmp(back, text, len), "%s: decode(encode(x)) != x", what);
    free(back);
    free(ids);
}

/* ---- pre-tokenizer: splits worked out by hand from the regex -------------------- */

static void check_split(const char *text, size_t len, const char *const *want, int n_want) {
    size_t pos = 0;
    int k = 0;
    bool ok = true;
    while (pos < len) {
        size_t end = tb_pretok_next(text, len, pos);
        if (end <= pos || end > len) { ok = false; break; }
        if (k >= n_want || strlen(want[k]) != end - pos || memcmp(want[k], text + pos, end - pos)) {
            fprintf(stderr, "piece %d: got '%.*s' want '%s'\n", k, (int)(end - pos), text + pos, k < n_want ? want[k] : "(none)");
            ok = false;
        }
        k++;
        pos = end;
    }
    TB_CHECK_MSG(ok && k == n_want, "split of '%s' (%d pieces, want %d)", text, k, n_want);
}

#define SPLIT(text, ...)                                                             \
    do {                                                                             \
        static const char *const w_[] = {__VA_ARGS__};                               \
        check_split(text, sizeof(text) - 1, w_, (int)(sizeof w_ / sizeof w_[0]));    \
    } while (0)

TB_TEST(pretok_regex_semantics) {
    SPLIT("Hello world", "Hello", " world");
    /* \s+(?!\S) gives back the last space to the next word */
    SPLIT("x  y   z\n\n\tq", "x", " ", " y", "  ", " z", "\n\n", "\tq");
    /* contractions (case-insensitive) win over letters; only the listed suffixes */
    SPLIT("I'm he's THEY'RE we'Ve", "I", "'m", " he", "'s", " THEY", "'RE", " we", "'Ve");
    SPLIT("'sa", "'s", "a");
    SPLIT("'x", "'x");
    /* numbers: at most three digits per piece; no leading space on numbers */
    SPLIT("abc1234567", "abc", "123", "456", "7");
    SPLIT(" 42", " ", "42");
    /* punctuation: an optional leading space, then a run, then trailing newlines */
    SPLIT(" (hello)", " (", "hello", ")");
    SPLIT("(hello", "(hello");
    SPLIT("a.\n\nb", "a", ".\n\n", "b");
    SPLIT("hi!!!\r\n", "hi", "!!!\r\n");
    /* whitespace containing newlines ends at the last newline */
    SPLIT("  \n  x", "  \n", " ", " x");
    SPLIT("end   ", "end", "   ");
    SPLIT("\t\t", "\t\t");
    SPLIT("\n", "\n");
    /* Unicode classes: letters (Ll/Lo), numbers (Nd of other scripts), spaces */
    SPLIT("caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9", " na\xc3\xafve");
    SPLIT("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    SPLIT("\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6", "\xd9\xa3\xd9\xa4\xd9\xa5", "\xd9\xa6"); /* Arabic-Indic digits */
    SPLIT("\xc2\xa0x", "\xc2\xa0x");                                                 /* NBSP is \s, not \r\n */
    SPLIT("x \xf0\x9f\x98\x80\xf0\x9f\x98\x80 y", "x", " \xf0\x9f\x98\x80\xf0\x9f\x98\x80", " y"); /* emoji: So */
    /* invalid UTF-8 bytes are one-byte "other" characters */
    SPLIT("a\xff" "b", "a", "\xff" "b");
    SPLIT("\xe6\x97 x", "\xe6\x97", " x");
}

TB_TEST(pretok_tiles_random_bytes) {
    tb_rng r;
    tb_rng_seed(&r, 12345);
    char buf[4096];
    for (int round = 0; round < 50; round++) {
        size_t n = 1 + tb_rng_below(&r, sizeof buf);
        static const char alpha[] = "ab \n\r\t'1.\xc3\xa9\xff\x80";
        for (size_t i = 0; i < n; i++)
            buf[i] = round & 1 ? (char)tb_rng_below(&r, 256) : alpha[tb_rng_below(&r, sizeof alpha - 1)];
        size_t pos = 0;
        int bad = 0;
        while (pos < n) {
            size_t end = tb_pretok_next(buf, n, pos);
            if (end <= pos || end > n) { bad = 1; break; }
            pos = end;
        }
        TB_CHECK_MSG(!bad, "pieces do not tile (seed 12345, round %d)", round);
    }
}

/* ---- a miniature tokenizer.json with hand-derived expectations -------------------- */

/* GPT-2's byte-to-unicode alphabet, written out independently of the library. */
static void put_byte_char(FILE *f, int b) {
    static int extra[256];
    static bool init;
    if (!init) {
        int k = 0;
        for (int i = 0; i < 256; i++) {
            bool printable = (i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF);
            extra[i] = printable ? i : 256 + k++;
        }
        init = true;
    }
    unsigned cp = (unsigned)extra[b];
    if (cp == '"' || cp == '\\') fprintf(f, "\\%c", (char)cp);
    else fprintf(f, "\\u%04x", cp);
}

static const char *const LLAMA3_PAT =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|"
    "\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+";

/* Writes a tokenizer.json: ids 0..255 are the bytes, then extra tokens, merges, one
 * special token.  pat overrides the pre-tokenizer regex. */
static int write_mini(const char *path, bool ignore_merges, const char *pat) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":262,\"content\":\"<|end|>\",\"single_word\":false,"
               "\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],\"normalizer\":null,"
               "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"%s\"},"
               "\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\"}]},",
            pat ? pat : LLAMA3_PAT);
    fprintf(f, "\"model\":{\"type\":\"BPE\",\"ignore_merges\":%s,\"vocab\":{", ignore_merges ? "true" : "false");
    for (int b = 0; b < 256; b++) {
        fputc('"', f);
        put_byte_char(f, b);
        fprintf(f, "\":%d,", b);
    }
    /* 256 ab, 257 bc, 258 abc, 259 xyz (no merge path), 260 "\u0120a" = " a", 261 aa */
    fprintf(f, "\"ab\":256,\"bc\":257,\"abc\":258,\"xyz\":259,\"\\u0120a\":260,\"aa\":261},");
    fprintf(f, "\"merges\":[\"b c\",\"a b\",\"a bc\",\"\\u0120 a\",\"a a\"]}}");
    return fclose(f);
}

static void tmp_path(char *buf, size_t n, const char *name) {
    const char *d = getenv("TMPDIR");
    snprintf(buf, n, "%s/tbtok_%d_%s", d && *d ? d : "/tmp", (int)getpid(), name);
}

TB_TEST(mini_bpe_rank_order) {
    char path[512];
    tmp_path(path, sizeof path, "mini.json");
    TB_CHECK(write_mini(path, false, NULL) == 0);
    tb_tokenizer *t;
    tb_err e = {{0}};
    TB_CHECK_MSG(tb_tokenizer_load(path, &t, &e) == 0, "%s", e.msg);
    if (!t) { unlink(path); return; }
    TB_CHECK_EQ_INT(tb_tokenizer_vocab(t), 263);
    TB_CHECK_EQ_INT(tb_tokenizer_n_merges(t), 5);
    /* "abc": (b,c) has rank 0 < (a,b) rank 1 -> a|bc, then "a bc" -> abc */
    check_encode(t, "abc", 3, false, true, (const int32_t[]){258}, 1, "abc");
    /* "abab": two (a,b) of equal rank; leftmost first, both merge; (b,a) is no merge */
    check_encode(t, "abab", 4, false, true, (const int32_t[]){256, 256}, 2, "abab");
    /* "aaa": (a,a) ties; leftmost merges first -> aa|a */
    check_encode(t, "aaa", 3, false, true, (const int32_t[]){261, 'a'}, 2, "aaa");
    /* "aab": (a,a) rank 4 vs (a,b) rank 1 -> a|ab */
    check_encode(t, "aab", 3, false, true, (const int32_t[]){'a', 256}, 2, "aab");
    /* " abc": pre-token " abc"; (a,b)? (b,c) rank 0 first -> ' '|a|bc ; then (' ',a) rank 3 vs (a,bc) rank 2 -> ' '|abc */
    check_encode(t, " abc", 4, false, true, (const int32_t[]){' ', 258}, 2, " abc");
    /* "xyz" is in the vocabulary but no merge reaches it: bytes without ignore_merges */
    check_encode(t, "xyz", 3, false, true, (const int32_t[]){'x', 'y', 'z'}, 3, "xyz no ignore_merges");
    /* special token in text, on and off */
    check_encode(t, "ab<|end|>ab", 11, false, true, (const int32_t[]){256, 262, 256}, 3, "special on");
    check_encode(t, "ab<|end|>", 9, false, false, (const int32_t[]){256, '<', '|', 'e', 'n', 'd', '|', '>'}, 8,
                 "special off");
    TB_CHECK_EQ_INT(tb_tokenizer_bos(t), -1); /* no <|begin_of_text|> here */
    int32_t *ids;
    size_t n;
    TB_CHECK(tb_tokenize(t, "a", 1, true, true, &ids, &n, &e) < 0); /* BOS asked, none defined */
    tb_tokenizer_free(t);

    TB_CHECK(write_mini(path, true, NULL) == 0);
    TB_CHECK_MSG(tb_tokenizer_load(path, &t, &e) == 0, "%s", e.msg);
    if (t) {
        check_encode(t, "xyz", 3, false, true, (const int32_t[]){259}, 1, "xyz with ignore_merges");
        tb_tokenizer_free(t);
    }
    unlink(path);
}

TB_TEST(bad_files_give_clear_errors) {
    char path[1100], dir[512];
    tb_tokenizer *t = NULL;
    tb_err e = {{0}};
    TB_CHECK(tb_tokenizer_load("/nonexistent/tokenizer.json", &t, &e) < 0 && !t);
    TB_CHECK(strstr(e.msg, "/nonexistent/tokenizer.json") != NULL);

    tmp_path(dir, sizeof dir, "emptydir");
    mkdir(dir, 0700);
    TB_CHECK(tb_tokenizer_load(dir, &t, &e) < 0 && !t);
    TB_CHECK_MSG(strstr(e.msg, "tokenizer.json") != NULL, "%s", e.msg);

    /* a model directory with tokenizer.json loads through the directory */
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    TB_CHECK(write_mini(path, false, NULL) == 0);
    TB_CHECK_MSG(tb_tokenizer_load(dir, &t, &e) == 0, "%s", e.msg);
    tb_tokenizer_free(t);
    t = NULL;

    /* another pre-tokenizer (GPT-2's) is refused, not silently mis-split */
    TB_CHECK(write_mini(path, false, "'s|'t|'re|'ve|'m|'ll|'d| ?\\\\p{L}+| ?\\\\p{N}+") == 0);
    TB_CHECK(tb_tokenizer_load(path, &t, &e) < 0 && !t);
    TB_CHECK_MSG(strstr(e.msg, "Llama-3") != NULL, "%s", e.msg);

    /* truncated JSON */
    TB_CHECK(write_mini(path, false, NULL) == 0);
    TB_CHECK(truncate(path, 700) == 0);
    TB_CHECK(tb_tokenizer_load(path, &t, &e) < 0 && !t);
    TB_CHECK_MSG(strstr(e.msg, path) != NULL, "%s", e.msg);

    /* a merge naming a token that does not exist */
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "{\"pre_tokenizer\":{\"pattern\":{\"Regex\":\"%s\"}},\"model\":{\"vocab\":{", LLAMA3_PAT);
        for (int b = 0; b < 256; b++) {
            fputc('"', f);
            put_byte_char(f, b);
            fprintf(f, "\":%d,", b);
        }
        fprintf(f, "\"ab\":256},\"merges\":[\"a b\",\"q r\"]}}");
        fclose(f);
    }
    TB_CHECK(tb_tokenizer_load(path, &t, &e) < 0 && !t);
    TB_CHECK_MSG(strstr(e.msg, "merge 1") != NULL, "%s", e.msg);

    /* a vocabulary missing a byte cannot encode everything: refused */
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "{\"pre_tokenizer\":{\"pattern\":{\"Regex\":\"%s\"}},\"model\":{\"vocab\":{", LLAMA3_PAT);
        for (int b = 1; b < 256; b++) {
            fputc('"', f);
            put_byte_char(f, b);
            fprintf(f, "\":%d,", b);
        }
        fprintf(f, "\"ab\":256},\"merges\":[]}}");
        fclose(f);
    }
    TB_CHECK(tb_tokenizer_load(path, &t, &e) < 0 && !t);
    TB_CHECK_MSG(strstr(e.msg, "0x00") != NULL, "%s", e.msg);
    unlink(path);
    rmdir(dir);
}

TB_TEST(mutated_files_never_crash) {
    /* random byte flips in a valid tokenizer.json: either a clean error, or a tokenizer
     * that still round-trips text (seed 99; replay by running this test) */
    char path[512];
    tmp_path(path, sizeof path, "mut.json");
    TB_CHECK(write_mini(path, false, NULL) == 0);
    char *orig;
    size_t n;
    tb_err e = {{0}};
    if (tb_read_file(path, &orig, &n, &e)) { TB_CHECK_MSG(0, "%s", e.msg); return; }
    char *buf = malloc(n);
    tb_rng r;
    tb_rng_seed(&r, 99);
    int loaded = 0;
    static const char text[] = "abc abab <|end|> x\xff\n\n y";
    for (int round = 0; round < 300; round++) {
        memcpy(buf, orig, n);
        int flips = 1 + (int)tb_rng_below(&r, 4);
        for (int k = 0; k < flips; k++) buf[tb_rng_below(&r, (uint32_t)n)] = (char)tb_rng_below(&r, 256);
        FILE *f = fopen(path, "wb");
        if (!f) break;
        fwrite(buf, 1, n, f);
        fclose(f);
        tb_tokenizer *t = NULL;
        if (tb_tokenizer_load(path, &t, &e)) {
            TB_CHECK_MSG(e.msg[0] != 0 && !t, "round %d: failure without a message", round);
            continue;
        }
        loaded++;
        check_encode(t, text, sizeof text - 1, false, true, NULL, 0, "mutated tokenizer round trip");
        tb_tokenizer_free(t);
    }
    printf("info: %d of 300 mutated files still loaded\n", loaded);
    free(buf);
    free(orig);
    unlink(path);
}

/* ---- the real Llama-3 tokenizer against the golden ids ---------------------------- */

static void golden_strings(tb_tokenizer *t, const char *which) {
    const char *p = data_path("llama3-tokenizer/golden/strings.json");
    if (!p) TB_SKIP("no golden/strings.json under TERNBENCH_DATA (%s)", data_dir() ? data_dir() : "unset");
    char *text;
    size_t n;
    tb_err e = {{0}};
    TB_CHECK_MSG(tb_read_file(p, &text, &n, &e) == 0, "%s", e.msg);
    tb_json *j = tb_json_parse(text, n, &e);
    free(text);
    TB_CHECK_MSG(j && j->type == TB_JSON_ARRAY && j->len > 0, "%s: %s", p, e.msg);
    for (size_t i = 0; j && i < j->len; i++) {
        const tb_json *s = tb_json_get(j->items[i], "text"), *ids = tb_json_get(j->items[i], "ids");
        if (!s || !ids) continue;
        int32_t want[256];
        size_t nw = ids->len < 256 ? ids->len : 256;
        for (size_t k = 0; k < nw; k++) want[k] = (int32_t)ids->items[k]->number;
        char what[128];
        snprintf(what, sizeof what, "%s: golden string %zu", which, i);
        check_encode(t, s->str, s->len, false, true, want, nw, what);
    }
    tb_json_free(j);
}

static void golden_wiki(tb_tokenizer *t, const char *which) {
    const char *praw = data_path("wikitext-2-raw/wiki.test.raw");
    const char *pids = data_path("llama3-tokenizer/golden/wiki.test.raw.ids.i32");
    if (!praw || !pids) TB_SKIP("wiki.test.raw or its golden ids absent under TERNBENCH_DATA");
    char *text, *gold;
    size_t n, ng;
    tb_err e = {{0}};
    TB_CHECK(tb_read_file(praw, &text, &n, &e) == 0);
    TB_CHECK(tb_read_file(pids, &gold, &ng, &e) == 0);
    if (!text || !gold) { free(text); free(gold); return; }
    TB_CHECK_EQ_INT(ng, 289076 * 4);
    int32_t *want = malloc(ng);
    memcpy(want, gold, ng); /* little-endian int32 on disk; this harness runs on LE hosts */
    double t0 = tb_now();
    int32_t *ids;
    size_t nids;
    TB_CHECK(tb_tokenize(t, text, n, false, true, &ids, &nids, &e) == 0);
    double dt = tb_now() - t0;
    printf("info: %s: encoded wiki.test.raw (%zu bytes -> %zu ids) in %.3f s = %.1f MB/s\n", which, n, nids, dt,
           n / dt / 1e6);
    char what[64];
    snprintf(what, sizeof what, "%s: wiki.test.raw", which);
    TB_CHECK_MSG(ids_equal(ids, nids, want, ng / 4, what), "%s", what);
    char *back;
    size_t blen;
    TB_CHECK(tb_detokenize(t, ids, nids, &back, &blen, &e) == 0);
    TB_CHECK_MSG(blen == n && !memcmp(back, text, n), "%s: decode(encode(wiki)) != wiki", which);
    /* with BOS: one more id in front, the rest unchanged */
    int32_t *ids2;
    size_t n2;
    TB_CHECK(tb_tokenize(t, text, n, true, true, &ids2, &n2, &e) == 0);
    TB_CHECK_EQ_INT(n2, nids + 1);
    TB_CHECK_EQ_INT(ids2[0], 128000);
    TB_CHECK(n2 == nids + 1 && !memcmp(ids2 + 1, ids, nids * 4));
    free(ids2);
    free(back);
    free(ids);
    free(want);
    free(text);
    free(gold);
}

TB_TEST(json_golden_strings) {
    tb_tokenizer *t = get_json();
    if (!t) TB_SKIP("no llama3-tokenizer/tokenizer.json under TERNBENCH_DATA");
    TB_CHECK_EQ_INT(tb_tokenizer_vocab(t), 128256);
    TB_CHECK_EQ_INT(tb_tokenizer_n_merges(t), 280147);
    TB_CHECK_EQ_INT(tb_tokenizer_bos(t), 128000);
    TB_CHECK_EQ_INT(tb_tokenizer_eos(t), 128001);
    golden_strings(t, "tokenizer.json");
}

TB_TEST(json_golden_wiki) {
    tb_tokenizer *t = get_json();
    if (!t) TB_SKIP("no llama3-tokenizer/tokenizer.json under TERNBENCH_DATA");
    golden_wiki(t, "tokenizer.json");
}

TB_TEST(gguf_golden_strings) {
    tb_tokenizer *t = get_gguf();
    if (!t) TB_SKIP("no golden/tiny-bitnet-i2_s.gguf under TERNBENCH_DATA");
    TB_CHECK_EQ_INT(tb_tokenizer_vocab(t), 128256);
    TB_CHECK_EQ_INT(tb_tokenizer_n_merges(t), 280147);
    TB_CHECK_EQ_INT(tb_tokenizer_bos(t), 128000);
    TB_CHECK_EQ_INT(tb_tokenizer_eos(t), 128001);
    golden_strings(t, "gguf");
}

TB_TEST(gguf_golden_wiki) {
    tb_tokenizer *t = get_gguf();
    if (!t) TB_SKIP("no golden/tiny-bitnet-i2_s.gguf under TERNBENCH_DATA");
    golden_wiki(t, "gguf");
}

TB_TEST(json_and_gguf_same_vocabulary) {
    tb_tokenizer *a = get_json(), *b = get_gguf();
    if (!a || !b) TB_SKIP("tokenizer.json or the golden GGUF absent");
    int bad = 0;
    char x[512], y[512];
    for (int32_t id = 0; id < tb_tokenizer_vocab(a); id++) {
        int la = tb_token_bytes(a, id, x, sizeof x), lb = tb_token_bytes(b, id, y, sizeof y);
        if (la != lb || (la > 0 && memcmp(x, y, (size_t)la)) ||
            tb_tokenizer_is_special(a, id) != tb_tokenizer_is_special(b, id))
            bad++;
    }
    TB_CHECK_EQ_INT(bad, 0);
}

TB_TEST(special_tokens_and_bos) {
    tb_tokenizer *t = get_json();
    if (!t) TB_SKIP("no llama3-tokenizer/tokenizer.json under TERNBENCH_DATA");
    static const char s[] = "<|begin_of_text|>hi<|eot_id|>";
    check_encode(t, s, sizeof s - 1, false, true, (const int32_t[]){128000, 6151, 128009}, 3, "special on");
    /* as plain text: no special ids, and it still round-trips */
    int32_t *ids;
    size_t n;
    tb_err e = {{0}};
    TB_CHECK(tb_tokenize(t, s, sizeof s - 1, false, false, &ids, &n, &e) == 0);
    bool any_special = false;
    for (size_t i = 0; i < n; i++) any_special |= ids[i] >= 128000;
    TB_CHECK(n > 3 && !any_special);
    free(ids);
    check_encode(t, s, sizeof s - 1, false, false, NULL, 0, "special off round trip");
    /* BOS by the caller's choice */
    check_encode(t, "hi", 2, true, true, (const int32_t[]){128000, 6151}, 2, "bos");
    /* empty input: no ids, or just BOS */
    TB_CHECK(tb_tokenize(t, "", 0, false, true, &ids, &n, &e) == 0 && n == 0);
    free(ids);
    TB_CHECK(tb_tokenize(t, "", 0, true, true, &ids, &n, &e) == 0 && n == 1 && ids[0] == 128000);
    free(ids);
    /* decoding rejects ids outside the vocabulary */
    char *txt;
    size_t tl;
    TB_CHECK(tb_detokenize(t, (const int32_t[]){6151, 128256}, 2, &txt, &tl, &e) < 0);
    TB_CHECK(tb_detokenize(t, (const int32_t[]){-1}, 1, &txt, &tl, &e) < 0);
}

TB_TEST(invalid_utf8_round_trips) {
    tb_tokenizer *t = get_json();
    if (!t) TB_SKIP("no llama3-tokenizer/tokenizer.json under TERNBENCH_DATA");
    tb_rng r;
    tb_rng_seed(&r, 777);
    static char buf[20000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)tb_rng_below(&r, 256);
    check_encode(t, buf, sizeof buf, false, true, NULL, 0, "random bytes (seed 777)");
    check_encode(t, "\xff\xfe\xc3", 3, false, true, NULL, 0, "invalid bytes");
    check_encode(t, "\xe4\xbd", 2, false, true, NULL, 0, "truncated CJK");
    /* a long run of one letter is one pre-token: BPE must stay O(n log n) */
    static char aa[200000];
    memset(aa, 'a', sizeof aa);
    check_encode(t, aa, sizeof aa, false, true, NULL, 0, "200k letters");
    static char sp[100000];
    memset(sp, ' ', sizeof sp);
    check_encode(t, sp, sizeof sp, false, true, NULL, 0, "100k spaces");
}

TB_TEST(streaming_decode_holds_split_characters) {
    tb_tokenizer *t = get_json();
    if (!t) TB_SKIP("no llama3-tokenizer/tokenizer.json under TERNBENCH_DATA");
    /* the golden ids of this string split U+1F999 across three byte tokens */
    static const char s[] = "na\xc3\xafve caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\xa6\x99 1234567";
    static const int32_t ids[] = {3458, 38672, 588, 53050, 118195, 53901, 11410, 99, 247, 220, 4513, 10961, 22};
    tb_detok_stream st = {{0}, 0};
    char out[1024], chunk[600];
    size_t o = 0;
    bool chunks_valid = true;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int k = tb_detok_stream_push(t, &st, ids[i], chunk, sizeof chunk);
        TB_CHECK(k >= 0);
        if (k < 0) return;
        /* every chunk printed on its own is complete UTF-8: its pieces tile as code points */
        int c = 0;
        for (int j = 0; j < k; j++) {
            unsigned char b = (unsigned char)chunk[j];
            if (c) { if ((b & 0xC0) != 0x80) chunks_valid = false; c--; }
            else c = b < 0x80 ? 0 : (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : 3;
        }
        if (c) chunks_valid = false;
        memcpy(out + o, chunk, (size_t)k);
        o += (size_t)k;
    }
    int k = tb_detok_stream_flush(&st, out + o, sizeof out - o);
    TB_CHECK_EQ_INT(k, 0);
    TB_CHECK(chunks_valid);
    TB_CHECK(o == sizeof s - 1 && !memcmp(out, s, o));
    /* a character left incomplete at the end is held, then flushed with its bytes unchanged */
    tb_detok_stream st2 = {{0}, 0};
    char whole[64];
    int nw = tb_token_bytes(t, 11410, whole, sizeof whole); /* ends with 0xF0 0x9F */
    int k1 = tb_detok_stream_push(t, &st2, 11410, chunk, sizeof chunk);
    int k2 = tb_detok_stream_flush(&st2, chunk + (k1 > 0 ? k1 : 0), sizeof chunk - 64);
    TB_CHECK(nw >= 2 && k1 >= 0 && k2 == 2 && k1 + k2 == nw && !memcmp(chunk, whole, (size_t)nw));
}

int main(void) {
    int rc = tb_test_main();
    tb_tokenizer_free(tok_json);
    tb_tokenizer_free(tok_gguf);
    return rc;
}

/* test_json.c: the strict JSON reader (common/json.c): values, key order,
 * every escape, \u escapes and surrogate pairs to UTF-8, embedded NUL, and
 * malformed input rejected with the byte offset (never a crash). */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tb_test.h"

static tb_json *parse(const char *s) {
    tb_err e;
    return tb_json_parse(s, strlen(s), &e);
}

TB_TEST(values_and_order) {
    tb_json *j = parse(" {\"b\": [1, -2.5, 3e2, 0, -0.125E+1], \"a\": {\"x\": true, \"y\": false, \"z\": null}, \"s\": \"hi\"} ");
    TB_CHECK(j != NULL);
    if (!j) return;
    TB_CHECK(j->type == TB_JSON_OBJECT && j->len == 3);
    TB_CHECK(!strcmp(j->keys[0], "b") && !strcmp(j->keys[1], "a") && !strcmp(j->keys[2], "s")); /* file order */
    const tb_json *b = tb_json_get(j, "b");
    TB_CHECK(b && b->type == TB_JSON_ARRAY && b->len == 5);
    TB_CHECK(tb_json_at(b, 0)->number == 1 && tb_json_at(b, 1)->number == -2.5 && tb_json_at(b, 2)->number == 300 &&
             tb_json_at(b, 3)->number == 0 && tb_json_at(b, 4)->number == -1.25);
    TB_CHECK(tb_json_at(b, 5) == NULL);
    const tb_json *a = tb_json_get(j, "a");
    TB_CHECK(tb_json_get(a, "x")->type == TB_JSON_BOOL && tb_json_get(a, "x")->boolean);
    TB_CHECK(tb_json_get(a, "y")->type == TB_JSON_BOOL && !tb_json_get(a, "y")->boolean);
    TB_CHECK(tb_json_get(a, "z")->type == TB_JSON_NULL);
    TB_CHECK(!strcmp(tb_json_get_str(j, "s"), "hi"));
    TB_CHECK(tb_json_get_str(j, "b") == NULL); /* wrong type */
    TB_CHECK(tb_json_get_num(j, "missing", 7.5) == 7.5);
    TB_CHECK(tb_json_get(b, "x") == NULL);     /* not an object */
    tb_json_free(j);
    j = parse("[]");
    TB_CHECK(j && j->type == TB_JSON_ARRAY && j->len == 0);
    tb_json_free(j);
    j = parse("{}");
    TB_CHECK(j && j->type == TB_JSON_OBJECT && j->len == 0);
    tb_json_free(j);
    j = parse("12345678901234567890");
    TB_CHECK(j && j->number == 12345678901234567890.0);
    tb_json_free(j);
}

TB_TEST(escapes) {
    tb_json *j = parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"");
    TB_CHECK(j && j->type == TB_JSON_STRING);
    if (j) {
        const char want[] = "q\" b\\ s/ \b\f\n\r\t";
        TB_CHECK(j->len == sizeof want - 1 && !memcmp(j->str, want, sizeof want));
    }
    tb_json_free(j);
}

TB_TEST(unicode_escapes) {
    static const struct { const char *in; const char *out; size_t n; } cases[] = {
        {"\"\\u0041\"", "A", 1},
        {"\"\\u00e9\"", "\xc3\xa9", 2},          /* 2-byte UTF-8 */
        {"\"\\u20AC\"", "\xe2\x82\xac", 3},      /* 3-byte, upper-case hex */
        {"\"\\uffff\"", "\xef\xbf\xbf", 3},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4}, /* surrogate pair -> U+1F600 */
        {"\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80", 4}, /* lowest pair -> U+10000 */
        {"\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4}, /* highest pair -> U+10FFFF */
        {"\"a\\u0000b\"", "a\0b", 3},             /* embedded NUL kept, len counts it */
        {"\"\xc4\xa0\xe2\x96\x81\"", "\xc4\xa0\xe2\x96\x81", 5}, /* raw UTF-8 passes through (Ġ▁) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tb_json *j = parse(cases[i].in);
        TB_CHECK_MSG(j && j->len == cases[i].n && !memcmp(j->str, cases[i].out, cases[i].n), "case %zu: %s", i,
                     cases[i].in);
        tb_json_free(j);
    }
    /* keys are decoded too */
    tb_json *j = parse("{\"\\u0041\\u00e9\": 1}");
    TB_CHECK(j && !strcmp(j->keys[0], "A\xc3\xa9") && tb_json_get(j, "A\xc3\xa9"));
    tb_json_free(j);
}

TB_TEST(errors_with_offsets) {
    static const struct { const char *in; const char *msg; } bad[] = {
        {"", "end of input"},
        {"   ", "end of input"},
        {"[1,]", "byte 3"},
        {"[1 2]", "expected ','"},
        {"{\"a\" 1}", "expected ':'"},
        {"{a: 1}", "expected object key"},
        {"{'a': 1}", "expected object key"},
        {"{\"a\": 1,}", "expected object key"},
        {"[1] x", "trailing"},
        {"\"abc", "unterminated"},
        {"\"ab\\", "unterminated"},
        {"\"\\x\"", "bad escape"},
        {"\"\\u12\"", "\\u"},
        {"\"\\u12G4\"", "\\u"},
        {"\"a\x01" "b\"", "control character"},
        {"\"a\nb\"", "control character"},
        {"-", "bad number"},
        {"1e", "bad number"},
        {"01", "bad number"},
        {"1.", "bad number"},
        {"-01.5", "bad number"},
        {"1.e5", "bad number"},
        {"[1e+]", "bad number"},
        {"+1", "unexpected character"},
        {".5", "unexpected character"},
        {"tru", "unexpected character"},
        {"nul", "unexpected character"},
        {"NaN", "unexpected character"},
        {"[", "end of input"},
        {"{", "expected object key"},
        {"[1,", "end of input"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tb_err e;
        memset(&e, 0, sizeof e);
        tb_json *j = tb_json_parse(bad[i].in, strlen(bad[i].in), &e);
        TB_CHECK_MSG(j == NULL && strstr(e.msg, bad[i].msg) && strstr(e.msg, "at byte"), "input %zu '%s': got '%s'", i,
                     bad[i].in, j ? "(parsed)" : e.msg);
        tb_json_free(j);
    }
    /* NUL inside the buffer is not the end of the text */
    tb_err e;
    tb_json *j = tb_json_parse("[1]\0", 4, &e);
    TB_CHECK(j == NULL);
    /* the length is honoured: a prefix of valid text */
    j = tb_json_parse("[1]]]]", 3, &e);
    TB_CHECK(j && j->len == 1);
    tb_json_free(j);
}

TB_TEST(deep_nesting_is_an_error_not_a_crash) {
    size_t n = 100000;
    char *s = malloc(2 * n + 1);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = 0;
    tb_err e;
    tb_json *j = tb_json_parse(s, 2 * n, &e);
    TB_CHECK(j == NULL && strstr(e.msg, "deep"));
    free(s);
    /* moderate nesting is fine */
    char ok[] = "[[[[[[[[[[1]]]]]]]]]]";
    j = parse(ok);
    TB_CHECK(j != NULL);
    tb_json_free(j);
}

int main(int argc, char **argv) { return tb_test_run(argc, argv); }

/* pretok.c: the Llama-3 pre-tokenizer, a hand-written matcher for the regex
 *
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * over UTF-8, with the semantics of a backtracking engine (first alternative that
 * matches wins; greedy quantifiers give back characters as needed).  Every code
 * point is matched by some alternative, so the pieces tile the text.
 *
 * Bytes that are not valid UTF-8 are treated as one-byte code points of class
 * "other" (neither letter, number nor space): a valid input is split exactly as
 * the regex splits it, and an invalid one still tiles losslessly.
 *
 * Deliberate limits: the case-insensitive contractions fold ASCII only (a Unicode
 * engine would also fold U+017F LONG S to 's'); \s is the Unicode White_Space
 * property (JavaScript's \s differs on U+0085 and U+FEFF).
 */
#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"
#include "unicode_tables.h"

/* ---- code point classes ------------------------------------------------- */

static int in_ranges(const tb_uni_range *r, int n, uint32_t cp) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < r[mid].lo) hi = mid - 1;
        else if (cp > r[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

int tb_uni_class(uint32_t cp) {
    if (cp < 0x80) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return TB_UNI_LETTER;
        if (cp >= '0' && cp <= '9') return TB_UNI_NUMBER;
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return TB_UNI_SPACE;
        return TB_UNI_OTHER;
    }
    if (in_ranges(tb_uni_letter, tb_uni_letter_n, cp)) return TB_UNI_LETTER;
    if (in_ranges(tb_uni_number, tb_uni_number_n, cp)) return TB_UNI_NUMBER;
    if (in_ranges(tb_uni_space, tb_uni_space_n, cp)) return TB_UNI_SPACE;
    return TB_UNI_OTHER;
}

/* Decodes the code point at s[i] (i < n): returns its byte length (1 for an invalid
 * byte, which gets *cp = 0xFFFFFFFF so it classifies as "other"). Strict UTF-8: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_at(const unsigned char *s, size_t n, size_t i, uint32_t *cp) {
    unsigned c = s[i];
    if (c < 0x80) { *cp = c; return 1; }
    size_t need;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { need = 1; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; v = c & 0x07; min = 0x10000; }
    else { *cp = 0xFFFFFFFFu; return 1; }
    if (n - i <= need) { *cp = 0xFFFFFFFFu; return 1; }
    for (size_t k = 1; k <= need; k++) {
        unsigned cc = s[i + k];
        if ((cc & 0xC0) != 0x80) { *cp = 0xFFFFFFFFu; return 1; }
        v = (v << 6) | (cc & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { *cp = 0xFFFFFFFFu; return 1; }
    *cp = v;
    return need + 1;
}

/* Class and length of the code point at i (i < n). */
static int cls_at(const unsigned char *s, size_t n, size_t i, size_t *clen) {
    uint32_t cp;
    *clen = utf8_at(s, n, i, &cp);
    return cp == 0xFFFFFFFFu ? TB_UNI_OTHER : tb_uni_class(cp);
}

static int is_crlf(unsigned char c) { return c == '\r' || c == '\n'; }

/* End of the run of class `want` starting at i. */
static size_t run_of(const unsigned char *s, size_t n, size_t i, int want) {
    size_t l;
    while (i < n && cls_at(s, n, i, &l) == want) i += l;
    return i;
}

/* ---- the matcher ---------------------------------------------------------- */

static int lower_ascii(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

size_t tb_pretok_next(const char *text, size_t n, size_t i) {
    const unsigned char *s = (const unsigned char *)text;
    if (i >= n) return n;
    size_t l0;
    int c0 = cls_at(s, n, i, &l0);

    /* 1. (?i:'s|'t|'re|'ve|'m|'ll|'d) */
    if (s[i] == '\'' && i + 1 < n) {
        int a = lower_ascii(s[i + 1]);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if (i + 2 < n) {
            int b = lower_ascii(s[i + 2]);
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
        }
    }

    /* 2. [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c0 == TB_UNI_LETTER) return run_of(s, n, i + l0, TB_UNI_LETTER);
    if (c0 != TB_UNI_NUMBER && !is_crlf(s[i]) && i + l0 < n) {
        size_t l1;
        if (cls_at(s, n, i + l0, &l1) == TB_UNI_LETTER) return run_of(s, n, i + l0 + l1, TB_UNI_LETTER);
    }

    /* 3. \p{N}{1,3} */
    if (c0 == TB_UNI_NUMBER) {
        size_t j = i + l0, l;
        for (int k = 1; k < 3 && j < n && cls_at(s, n, j, &l) == TB_UNI_NUMBER; k++) j += l;
        return j;
    }

    /* 4. ` ?[^\s\p{L}\p{N}]+[\r\n]*` */
    {
        size_t j = i, l;
        if (s[i] == ' ' && i + 1 < n && cls_at(s, n, i + 1, &l) == TB_UNI_OTHER) j = i + 1;
        if (j > i || c0 == TB_UNI_OTHER) {
            j = run_of(s, n, j, TB_UNI_OTHER);
            while (j < n && is_crlf(s[j])) j++;
            return j;
        }
    }

    /* Only whitespace is left (c0 == TB_UNI_SPACE). */
    size_t end = i, last_start = i, last_nl = (size_t)-1, l;
    while (end < n && cls_at(s, n, end, &l) == TB_UNI_SPACE) {
        if (is_crlf(s[end])) last_nl = end;
        last_start = end;
        end += l;
    }
    /* 5. \s*[\r\n]+ : greedy \s* backs off to the last \r or \n of the run */
    if (last_nl != (size_t)-1) return last_nl + 1;
    /* 6. \s+(?!\S) : the whole run at the end of text, else all but its last char */
    if (end == n) return end;
    if (last_start > i) return last_start;
    /* 7. \s+ */
    return end;
}

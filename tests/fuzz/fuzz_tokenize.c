/* fuzz_tokenize.c: libFuzzer target for tokenizing arbitrary bytes with the Llama-3
 * tokenizer (tokenizer.json from the shared data, loaded once).  Checks: every id is in
 * the vocabulary, decoding the ids gives back exactly the input bytes (byte-level BPE is
 * lossless), and the streaming decoder agrees with the one-shot one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

static tb_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *dir = getenv("TERNBENCH_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/llama3-tokenizer/tokenizer.json", dir && *dir ? dir : TB_DEFAULT_DATA_DIR);
    tb_err e;
    if (tb_tokenizer_load(path, &tok, &e) < 0) {
        fprintf(stderr, "fuzz_tokenize: %s\n", e.msg);
        exit(1);
    }
    return 0;
}

static void check_stream(const int32_t *ids, size_t n, const char *text, size_t len) {
    char buf[512];
    size_t at = 0;
    tb_detok_stream s = {{0}, 0};
    for (size_t i = 0; i < n; i++) {
        int k = tb_detok_stream_push(tok, &s, ids[i], buf, sizeof buf);
        if (k < 0 || at + (size_t)k > len || memcmp(text + at, buf, (size_t)k)) __builtin_trap();
        at += (size_t)k;
    }
    int k = tb_detok_stream_flush(&s, buf, sizeof buf);
    if (k < 0 || at + (size_t)k != len || memcmp(text + at, buf, (size_t)k)) __builtin_trap();
}

static void round_trip(const char *text, size_t len, bool special) {
    int32_t *ids = NULL;
    size_t n = 0;
    tb_err e;
    if (tb_tokenize(tok, text, len, false, special, &ids, &n, &e) < 0) __builtin_trap();
    const int vocab = tb_tokenizer_vocab(tok);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab) __builtin_trap();
    if (n > len) __builtin_trap(); /* at least one byte per token */
    char *back = NULL;
    size_t blen = 0;
    if (tb_detokenize(tok, ids, n, &back, &blen, &e) < 0) __builtin_trap();
    if (blen != len || memcmp(back, text, len)) __builtin_trap();
    check_stream(ids, n, text, len);
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    round_trip((const char *)data, size, false);
    round_trip((const char *)data, size, true);
    for (size_t pos = 0; pos < size;) { /* the pre-tokenizer alone tiles the text */
        size_t end = tb_pretok_next((const char *)data, size, pos);
        if (end <= pos || end > size) __builtin_trap();
        pos = end;
    }
    return 0;
}

/* fuzz_tokenizer_json.c: libFuzzer target for the tokenizer.json loader.  The input is
 * written as tokenizer.json in a scratch directory and loaded; a tokenizer that loads
 * must then tokenize and decode a fixed text without error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tokenizer.h"

static const char sample[] = "Hello world! 123 <|begin_of_text|> caf\xc3\xa9  \n\n x";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("tokenizer.json", data, size);
    tb_tokenizer *t = NULL;
    tb_err e;
    e.msg[0] = 0;
    if (tb_tokenizer_load(path, &t, &e) < 0) {
        if (!e.msg[0]) __builtin_trap();
        return 0;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    if (tb_tokenize(t, sample, sizeof sample - 1, true, true, &ids, &n, &e) == 0) {
        char *back = NULL;
        size_t blen = 0;
        if (tb_detokenize(t, ids, n, &back, &blen, &e) == 0) free(back);
        free(ids);
    }
    tb_tokenizer_free(t);
    return 0;
}

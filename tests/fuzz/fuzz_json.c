/* fuzz_json.c: libFuzzer target for the JSON reader (common/json.c).  Any input must
 * parse or fail with a message; a parsed document is walked in full and its lookups
 * exercised, so every node the parser builds is touched under ASan. */
#include <stdint.h>
#include <string.h>

#include "json.h"

static double walk(const tb_json *j, int depth) {
    double acc = (double)j->type;
    if (j->type == TB_JSON_STRING) acc += (double)j->len + (j->len ? (unsigned char)j->str[j->len - 1] : 0);
    if (j->type == TB_JSON_NUMBER && j->number == j->number) acc += j->number * 0.0;
    if (j->type == TB_JSON_ARRAY || j->type == TB_JSON_OBJECT)
        for (size_t i = 0; i < j->len; i++) {
            acc += walk(j->items[i], depth + 1);
            if (j->type == TB_JSON_OBJECT) {
                acc += (double)strlen(j->keys[i]);
                if (tb_json_get(j, j->keys[i]) == NULL) __builtin_trap(); /* its own key must be found */
            } else if (tb_json_at(j, i) != j->items[i]) {
                __builtin_trap();
            }
        }
    return acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tb_err e;
    e.msg[0] = 0;
    tb_json *j = tb_json_parse((const char *)data, size, &e);
    if (!j) {
        if (!e.msg[0]) __builtin_trap(); /* a failure always says why */
        return 0;
    }
    volatile double sink = walk(j, 0);
    (void)sink;
    (void)tb_json_get_str(j, "model");
    (void)tb_json_get_num(j, "hidden_size", 0);
    tb_json_free(j);
    return 0;
}

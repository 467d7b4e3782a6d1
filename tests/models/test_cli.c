/* test_cli.c: `ternbench synth` and `ternbench info` as a user runs them:
 * exit codes (0 ok, 1 failure, 2 usage), --help, and the info totals for a
 * synthesized model (parameter counts worked out by hand from the shape). */
#include <sys/wait.h>

#include "models_util.h"
#include "tb_test.h"

static char out[65536];

/* Runs `$TERNBENCH args` (stdout+stderr captured into out); returns the exit code. */
static int run(const char *args) {
    const char *bin = getenv("TERNBENCH");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The number after `label` in the captured output, or -1. */
static long field(const char *label) {
    const char *p = strstr(out, label);
    if (!p) return -1;
    return strtol(p + strlen(label), NULL, 10);
}

TB_TEST(usage_and_help) {
    if (!getenv("TERNBENCH")) TB_SKIP("TERNBENCH (path of the CLI) not set");
    TB_CHECK_EQ_INT(run("synth --help"), 0);
    TB_CHECK(strstr(out, "usage: ternbench synth") != NULL);
    TB_CHECK_EQ_INT(run("info --help"), 0);
    TB_CHECK(strstr(out, "usage: ternbench info") != NULL);
    TB_CHECK_EQ_INT(run("info"), 2);
    TB_CHECK_EQ_INT(run("info --model"), 2);
    TB_CHECK_EQ_INT(run("info --bogus"), 2);
    TB_CHECK_EQ_INT(run("synth --preset tiny --no-tokenizer"), 2); /* no -o */
    TB_CHECK(strstr(out, "-o PATH") != NULL);
    TB_CHECK_EQ_INT(run("synth --preset huge --no-tokenizer -o x"), 2);
    TB_CHECK_EQ_INT(run("synth --preset tiny --format onnx --no-tokenizer -o x"), 2);
    TB_CHECK_EQ_INT(run("synth --preset tiny --hidden abc --no-tokenizer -o x"), 2);
    TB_CHECK_EQ_INT(run("synth --preset tiny -o x"), 2); /* neither --tokenizer nor --no-tokenizer */
    TB_CHECK(strstr(out, "--no-tokenizer") != NULL);
}

TB_TEST(synth_then_info) {
    if (!getenv("TERNBENCH")) TB_SKIP("TERNBENCH (path of the CLI) not set");
    char args[2048];
    const char *g = tmp_path("cli.gguf"), *h = tmp_path("cli_hf");
    snprintf(args, sizeof args, "synth --preset tiny --layers 1 --vocab 320 --no-tokenizer --seed 3 -o '%s'", g);
    TB_CHECK_EQ_INT(run(args), 0);
    snprintf(args, sizeof args, "synth --preset tiny --layers 1 --vocab 320 --no-tokenizer --seed 3 --format hf -o '%s'", h);
    TB_CHECK_EQ_INT(run(args), 0);
    /* tiny, 1 layer: q,o 256x256; k,v 128x256; gate,up 768x256; down 256x768 */
    const long tern = 2L * 256 * 256 + 2L * 128 * 256 + 3L * 768 * 256;
    snprintf(args, sizeof args, "info --model '%s'", g);
    TB_CHECK_EQ_INT(run(args), 0);
    TB_CHECK(strstr(out, "format:  gguf-i2_s") != NULL);
    TB_CHECK(strstr(out, "blk.0.ffn_down.weight") != NULL);
    TB_CHECK_EQ_INT(field("ternary params"), tern);
    TB_CHECK_EQ_INT(field("ternary bytes"), tern / 4);
    TB_CHECK_EQ_INT(field("embedding params"), 320L * 256);
    TB_CHECK_EQ_INT(field("embedding bytes"), 320L * 256 * 2);
    TB_CHECK_EQ_INT(field("norm params"), 256L + 3 * 256 + 768);
    TB_CHECK(strstr(out, "2.000 bits/weight") != NULL);
    snprintf(args, sizeof args, "info --no-tensors --model '%s'", h);
    TB_CHECK_EQ_INT(run(args), 0);
    TB_CHECK(strstr(out, "format:  hf-packed") != NULL);
    TB_CHECK(strstr(out, "blk.0.ffn_down.weight") == NULL && strstr(out, "down_proj") == NULL);
    TB_CHECK_EQ_INT(field("ternary params"), tern);
    /* failures exit 1 with the loader's message */
    spit(tmp_path("junk.gguf"), "GGUF\x63\0\0\0", 8);
    snprintf(args, sizeof args, "info --model '%s'", tmp_path("junk.gguf"));
    TB_CHECK_EQ_INT(run(args), 1);
    TB_CHECK(strstr(out, "version 99") != NULL);
    snprintf(args, sizeof args, "synth --preset tiny --hidden 24 --heads 2 --kv-heads 2 --ffn 48 --no-tokenizer -o '%s'",
             tmp_path("bad.gguf"));
    TB_CHECK_EQ_INT(run(args), 2); /* a shape synth cannot write: a usage error, before any work */
    TB_CHECK(strstr(out, "% 128") != NULL);
    TB_CHECK(access(tmp_path("bad.gguf"), F_OK) != 0);
}

int main(void) {
    int rc = tb_test_main();
    tmp_cleanup();
    return rc;
}

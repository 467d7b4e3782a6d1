/* test_golden.c: the reference forward pass against an engine nobody here wrote.
 *
 * ../shared/data/golden/tiny-bitnet-i2_s.gguf (2B4T architecture scaled down, written
 * by bitnet.cpp's own converter and quantizer) is evaluated on the 8 token ids of
 * tiny-bitnet-i2_s.tokens.txt at positions 0..7 in one batch and compared with the
 * logits bitnet.cpp produced (tiny-bitnet-i2_s.logits.f32, 8 x 128256 float32).
 * Then `ternbench logits` is run on the same input through the CLI and its output
 * file must equal the in-process result bit for bit (reference and default kernel),
 * and `ternbench generate` must continue greedily as the in-process reference does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forward.h"
#include "model.h"
#include "tb_test.h"

enum { N_TOK = 8, VOCAB = 128256 };

static char gguf_path[1024], tokens_path[1024], logits_path[1024];
static int32_t tokens[N_TOK];
static float *ours; /* (N_TOK, VOCAB), from the in-process reference */

/* Finds the data; returns 0 when everything is there. */
static int find_data(void) {
    const char *dir = getenv("TERNBENCH_DATA");
#ifdef TB_DEFAULT_DATA_DIR
    if (!dir || !*dir) dir = TB_DEFAULT_DATA_DIR; /* ../shared/data beside the source tree */
#endif
    if (!dir || !*dir) return -1;
    snprintf(gguf_path, sizeof gguf_path, "%s/golden/tiny-bitnet-i2_s.gguf", dir);
    snprintf(tokens_path, sizeof tokens_path, "%s/golden/tiny-bitnet-i2_s.tokens.txt", dir);
    snprintf(logits_path, sizeof logits_path, "%s/golden/tiny-bitnet-i2_s.logits.f32", dir);
    return access(gguf_path, R_OK) || access(tokens_path, R_OK) || access(logits_path, R_OK) ? -1 : 0;
}

static int read_tokens(void) {
    FILE *f = fopen(tokens_path, "r");
    if (!f) return -1;
    int n = 0;
    long v;
    while (n < N_TOK && fscanf(f, "%ld", &v) == 1) tokens[n++] = (int32_t)v;
    const int extra = fscanf(f, "%ld", &v);
    fclose(f);
    return n == N_TOK && extra != 1 ? 0 : -1;
}

/* Reads a raw float32 file of exactly n floats into a malloc'd buffer. */
static float *read_f32(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    float *x = malloc(sizeof(float) * (n + 1));
    size_t got = x ? fread(x, sizeof(float), n + 1, f) : 0;
    fclose(f);
    if (got != n) {
        free(x);
        return NULL;
    }
    return x;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

TB_TEST(golden_bitnet_cpp_logits) {
    if (find_data()) TB_SKIP("TERNBENCH_DATA/golden/tiny-bitnet-i2_s.* not found (set TERNBENCH_DATA)");
    TB_CHECK(read_tokens() == 0);
    tb_err e = {{0}};
    tb_model *m = NULL;
    if (tb_model_load(gguf_path, &m, &e)) {
        fprintf(stderr, "load: %s\n", e.msg);
        TB_CHECK(0);
        return;
    }
    TB_CHECK_EQ_INT(m->cfg.vocab, VOCAB);
    TB_CHECK_EQ_INT(m->cfg.hidden, 128);
    TB_CHECK_EQ_INT(m->cfg.heads / m->cfg.kv_heads, 4);
    tb_state *st = NULL;
    TB_CHECK_EQ_INT(tb_state_new(m, N_TOK, N_TOK, &st, &e), 0);
    ours = malloc(sizeof(float) * N_TOK * VOCAB);
    int rc = tb_forward(st, NULL, tokens, N_TOK, 0, ours, true, &e);
    if (rc) fprintf(stderr, "forward: %s\n", e.msg);
    TB_CHECK_EQ_INT(rc, 0);
    float *ref = read_f32(logits_path, (size_t)N_TOK * VOCAB);
    TB_CHECK(ref != NULL);
    if (!rc && ref) {
        double max_diff = 0, sum_diff = 0, sum_sq = 0, sum = 0;
        for (int p = 0; p < N_TOK; p++) {
            const float *a = ours + (size_t)p * VOCAB, *b = ref + (size_t)p * VOCAB;
            double pmax = 0;
            for (int i = 0; i < VOCAB; i++) {
                const double d = fabs((double)a[i] - b[i]);
                pmax = fmax(pmax, d);
                sum_diff += d;
                sum += b[i];
                sum_sq += (double)b[i] * b[i];
            }
            max_diff = fmax(max_diff, pmax);
            const int am = argmax(a, VOCAB), bm = argmax(b, VOCAB);
            printf("pos %d token %6d: argmax ours %6d bitnet.cpp %6d, max |diff| %.4f\n", p, (int)tokens[p], am, bm, pmax);
            TB_CHECK_MSG(am == bm, "position %d: argmax %d vs bitnet.cpp %d", p, am, bm);
        }
        const double cnt = (double)N_TOK * VOCAB, mean = sum / cnt;
        const double mean_diff = sum_diff / cnt, sd = sqrt(sum_sq / cnt - mean * mean);
        printf("golden: max |diff| %.4f, mean |diff| %.5f (bitnet.cpp logit sd %.3f)\n", max_diff, mean_diff, sd);
        /* Tolerances (see the report in tests/reference/meson.build's comment and the data
         * README): bitnet.cpp stores K/V in f16 and runs the LM head through f16, and any
         * activation whose x*s lands near a .5 boundary can round the other way, moving a
         * logit by up to ~0.1; an independent float64 implementation sits at max 0.106,
         * mean 0.0098.  Bounds about 1.5x the measurement (x*s rounding flips are discrete
         * jumps of ~0.1, so 2x of the max would admit a second flip in the same logit). */
        TB_CHECK_MSG(max_diff <= 0.15, "max |diff| %.4f", max_diff);      /* measured 0.1060 */
        TB_CHECK_MSG(mean_diff <= 0.015, "mean |diff| %.5f", mean_diff); /* measured 0.00983 */
    }
    free(ref);
    tb_state_free(st);
    tb_model_free(m);
}

/* Same input with tb_state_set_emulate_f16: K/V, Q (in Q.K) and the LM head input
 * rounded to f16 as bitnet.cpp stores them.  What remains is accumulation order (ggml
 * sums f16 products in f32 SIMD lanes, we in double), so the tolerance can be ~100x
 * tighter: a wrong eps, RoPE frequency or norm would show up here even where it hides
 * under the 0.15 of the plain comparison. */
TB_TEST(golden_bitnet_cpp_logits_f16_emulation) {
    if (find_data()) TB_SKIP("TERNBENCH_DATA/golden/tiny-bitnet-i2_s.* not found (set TERNBENCH_DATA)");
    tb_err e = {{0}};
    tb_model *m = NULL;
    if (read_tokens() || tb_model_load(gguf_path, &m, &e)) {
        fprintf(stderr, "load: %s\n", e.msg);
        TB_CHECK(0);
        return;
    }
    tb_state *st = NULL;
    TB_CHECK_EQ_INT(tb_state_new(m, N_TOK, N_TOK, &st, &e), 0);
    tb_state_set_emulate_f16(st, true);
    float *lg = malloc(sizeof(float) * N_TOK * VOCAB), *ref = read_f32(logits_path, (size_t)N_TOK * VOCAB);
    TB_CHECK(ref != NULL);
    TB_CHECK_EQ_INT(tb_forward(st, NULL, tokens, N_TOK, 0, lg, true, &e), 0);
    if (ref) {
        double max_diff = 0, sum_diff = 0;
        for (size_t i = 0; i < (size_t)N_TOK * VOCAB; i++) {
            const double d = fabs((double)lg[i] - ref[i]);
            max_diff = fmax(max_diff, d);
            sum_diff += d;
        }
        const double mean_diff = sum_diff / ((double)N_TOK * VOCAB);
        printf("golden, f16 emulation: max |diff| %.5f, mean |diff| %.6f\n", max_diff, mean_diff);
        /* bounds 2x the measurement (re-measure when the LM head's summation order changes) */
        TB_CHECK_MSG(max_diff <= 0.0022, "max |diff| %.5f", max_diff);     /* measured 0.00109 */
        TB_CHECK_MSG(mean_diff <= 0.0003, "mean |diff| %.6f", mean_diff); /* measured 0.000157 */
    }
    free(lg);
    free(ref);
    tb_state_free(st);
    tb_model_free(m);
}

/* Runs `ternbench logits` and returns its exit status (or -1). */
static int run_cli(const char *bin, const char *tok_list, const char *kernel, const char *out) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' logits --model '%s' --tokens %s -o '%s' %s%s --threads 1 2>&1", bin, gguf_path,
             tok_list, out, kernel ? "--kernel " : "", kernel ? kernel : "");
    int st = system(cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

TB_TEST(cli_logits_matches_in_process) {
    const char *bin = getenv("TERNBENCH");
    if (find_data() || !ours) TB_SKIP("golden data not found (set TERNBENCH_DATA)");
    if (!bin || access(bin, X_OK)) TB_SKIP("TERNBENCH (the ternbench binary) not set");
    char list[256] = "", out[256];
    for (int i = 0; i < N_TOK; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "", (int)tokens[i]);
    snprintf(out, sizeof out, "/tmp/tb_ref_cli_%d.f32", (int)getpid());
    const char *kernels[2] = {"ref", NULL /* default: best exact kernel on this CPU */};
    for (int k = 0; k < 2; k++) {
        TB_CHECK_EQ_INT(run_cli(bin, list, kernels[k], out), 0);
        float *x = read_f32(out, (size_t)N_TOK * VOCAB); /* exact size: n x vocab floats, nothing more */
        TB_CHECK_MSG(x != NULL, "%s: missing or not %d x %d floats", out, N_TOK, VOCAB);
        if (x) TB_CHECK_MSG(memcmp(x, ours, sizeof(float) * N_TOK * VOCAB) == 0, "kernel %s: CLI logits differ from the in-process reference",
                            kernels[k] ? kernels[k] : "(default)");
        free(x);
        remove(out);
    }
    /* errors through the CLI: out-of-range token (failure, exit 1), missing -o (usage, exit 2) */
    TB_CHECK_EQ_INT(run_cli(bin, "128000,128256", "ref", out), 1);
    TB_CHECK_EQ_INT(run_cli(bin, "128000", "no_such_kernel", out), 2); /* unknown --kernel: usage error */
    TB_CHECK(access(out, F_OK) != 0); /* no partial output left behind */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' logits --model '%s' --tokens 1 >/dev/null 2>&1", bin, gguf_path);
    int st = system(cmd);
    TB_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

/* Runs a shell command, captures stdout, returns the exit status (or -1). */
static int run_capture(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* Parses the "ids: a,b,c" line of `ternbench generate`. */
static int parse_ids(const char *out, int32_t *ids, int cap) {
    const char *p = strstr(out, "ids:");
    if (!p) return -1;
    p += 4;
    int n = 0;
    while (n < cap) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        ids[n++] = (int32_t)v;
        p = end;
        if (*p == ',') p++;
    }
    return n;
}

/* `ternbench generate`: greedy ids equal the in-process argmax chain, and the first one
 * equals bitnet.cpp's argmax after the same prompt (as ids and as text). */
TB_TEST(cli_generate_greedy) {
    const char *bin = getenv("TERNBENCH");
    if (find_data() || !ours) TB_SKIP("golden data not found (set TERNBENCH_DATA)");
    if (!bin || access(bin, X_OK)) TB_SKIP("TERNBENCH (the ternbench binary) not set");
    float *ref = read_f32(logits_path, (size_t)N_TOK * VOCAB);
    TB_CHECK(ref != NULL);
    if (!ref) return;

    /* in-process greedy continuation of all 8 tokens, 3 steps */
    enum { STEPS = 3 };
    tb_err e = {{0}};
    tb_model *m = NULL;
    TB_CHECK_EQ_INT(tb_model_load(gguf_path, &m, &e), 0);
    tb_state *st = NULL;
    TB_CHECK_EQ_INT(tb_state_new(m, N_TOK + STEPS, N_TOK, &st, &e), 0);
    float *lg = malloc(sizeof(float) * VOCAB);
    int32_t want[STEPS];
    TB_CHECK_EQ_INT(tb_forward(st, NULL, tokens, N_TOK, 0, lg, false, &e), 0);
    for (int i = 0; i < STEPS; i++) {
        want[i] = argmax(lg, VOCAB);
        if (i + 1 < STEPS) TB_CHECK_EQ_INT(tb_forward(st, NULL, &want[i], 1, N_TOK + i, lg, false, &e), 0);
    }
    TB_CHECK_EQ_INT(want[0], argmax(ref + (size_t)(N_TOK - 1) * VOCAB, VOCAB));

    char list[256] = "", cmd[4096], out[8192];
    for (int i = 0; i < N_TOK; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "", (int)tokens[i]);
    snprintf(cmd, sizeof cmd, "'%s' generate --model '%s' --tokens %s -n %d --kernel ref", bin, gguf_path, list, STEPS);
    TB_CHECK_EQ_INT(run_capture(cmd, out, sizeof out), 0);
    int32_t got[8];
    int n = parse_ids(out, got, 8);
    TB_CHECK_MSG(n == STEPS, "generate printed %d ids: %s", n, out);
    for (int i = 0; i < n && i < STEPS; i++) TB_CHECK_MSG(got[i] == want[i], "step %d: %d vs %d", i, got[i], want[i]);

    /* --prompt goes through the GGUF's tokenizer: BOS + "The capital of France is" are the
     * first 6 golden ids, so the first generated id is bitnet.cpp's argmax at position 5 */
    snprintf(cmd, sizeof cmd, "'%s' generate --model '%s' --prompt 'The capital of France is' -n 1 --kernel ref", bin,
             gguf_path);
    TB_CHECK_EQ_INT(run_capture(cmd, out, sizeof out), 0);
    n = parse_ids(out, got, 8);
    TB_CHECK_MSG(n == 1 && got[0] == argmax(ref + (size_t)5 * VOCAB, VOCAB), "--prompt: %s", out);
    /* usage error: both --tokens and --prompt */
    snprintf(cmd, sizeof cmd, "'%s' generate --model '%s' --tokens 1 --prompt x 2>/dev/null", bin, gguf_path);
    TB_CHECK_EQ_INT(run_capture(cmd, out, sizeof out), 2);
    free(lg);
    free(ref);
    tb_state_free(st);
    tb_model_free(m);
}

int main(void) {
    int rc = tb_test_main();
    free(ours);
    return rc;
}

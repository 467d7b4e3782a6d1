/* cmd_logits.c: `ternbench logits`: evaluate token ids at positions 0..n-1 in one
 * batch and write the logits as raw little-endian float32, one row of vocab floats
 * per position (n x vocab).  The integer part of BitLinear runs on a registered
 * kernel (default: the best exact one for this CPU) or the scalar reference. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "results.h"
#include "forward.h"
#include "kernel.h"
#include "model.h"
#include "numcfg.h"
#include "runner.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ternbench logits writes host floats as little-endian: port the writer first"
#endif

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench logits --model PATH --tokens ID,ID,... -o OUT.f32\n"
            "                        [--kernel NAME|best|ref] [--config NAME] [--threads N] [--isa-max ISA]\n"
            "                        [--emulate-f16]\n\n"
            "Evaluates the token ids at positions 0..n-1 in one batch (causal) and writes\n"
            "raw little-endian float32 logits: n rows of vocab floats, row i = position i.\n\n"
            "  --model PATH     .gguf file (bitnet.cpp I2_S) or HF checkpoint directory\n"
            "  --tokens LIST    token ids separated by commas or spaces (BOS is not added)\n"
            "  -o, --out PATH   output file (- = standard output)\n"
            "  --kernel NAME    ternary GEMV kernel: a registered name or a glob matching one, 'best' (the\n"
            "                   fastest exact kernel for this CPU) or 'ref' (scalar reference); default best\n"
            "  --plugin PATH     kernels from a shared object (repeatable; also TERNBENCH_PLUGINS=a.so:b.so),\n"
            "                    named plugin:<name> (kernels/ternbench_plugin.h)\n"
            TB_CLI_CONFIG_HELP
            "  --threads N      worker threads for the kernel (default 0 = all cores)\n"
            "  --isa-max ISA    restrict kernels to an ISA level: " TB_CLI_ISA_NAMES "\n"
            "  --emulate-f16    round K/V, Q (in Q.K) and the LM head input to f16 as bitnet.cpp\n"
            "                   stores them (to compare with bitnet.cpp logits to ~1e-3)\n");
}

int tb_cmd_logits(int argc, char **argv) {
    const char *tokens_arg = NULL, *out_path = NULL;
    tb_cli_model_opts mo = {0};
    bool emulate_f16 = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int used = tb_cli_model_opt("logits", argc, argv, &i, &mo);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--tokens")) {
            if (!(tokens_arg = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
            if (!(out_path = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--emulate-f16")) {
            emulate_f16 = true;
        } else {
            fprintf(stderr, "ternbench logits: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!mo.model || !tokens_arg || !out_path) {
        fprintf(stderr, "ternbench logits: --model, --tokens and -o are required\n\n");
        usage(stderr);
        return 2;
    }
    tb_err e = {{0}};
    int32_t *tokens = NULL;
    int n = tb_parse_int_list(tokens_arg, &tokens, &e);
    if (n < 0) return tb_cli_usage("--tokens: %s", e.msg);
    if (tb_cli_out_file("logits", "-o", out_path, true)) {
        free(tokens);
        return 2;
    }
    const bool to_stdout = !strcmp(out_path, "-");

    const tb_kernel *k;
    tb_model *m;
    tb_runner *runner;
    int rc = tb_cli_open("logits", &mo, &k, &m, &runner);
    if (rc) {
        free(tokens);
        return rc;
    }
    rc = 1;
    tb_state *st = NULL;
    float *logits = NULL;
    tb_out out = {.f = NULL, .slot = -1};
    tb_numcfg_run crun = {0};
    if (n > m->cfg.ctx) {
        tb_fail(&e, "%d tokens exceed the model's context of %d", n, m->cfg.ctx);
        goto fail;
    }
    if (tb_state_new(m, n, n, &st, &e)) goto fail;
    tb_state_set_emulate_f16(st, emulate_f16);
    if (mo.config && tb_cli_apply_config("logits", &mo, m, st, &crun)) goto done;
    const size_t count = (size_t)n * (size_t)m->cfg.vocab;
    logits = malloc(count * sizeof *logits);
    if (!logits) {
        tb_fail(&e, "out of memory for %d x %d logits", n, m->cfg.vocab);
        goto fail;
    }
    /* open the output before the (possibly long) evaluation, so a bad path fails fast;
     * it appears under its name only when complete (tb_out: temporary name + rename) */
    if (tb_out_open(&out, out_path, &e) < 0) goto fail;
    const double t0 = tb_now();
    if (tb_forward(st, runner ? tb_runner_backend(runner) : NULL, tokens, n, 0, logits, true, &e)) goto fail;
    const double dt = tb_now() - t0;
    if (fwrite(logits, sizeof *logits, count, out.f) != count) {
        tb_fail(&e, "%s: write failed: %s", out_path, strerror(errno));
        goto fail;
    }
    if (tb_out_commit(&out, &e) < 0) goto fail;
    fprintf(stderr, "logits: %d tokens x %d vocab -> %s (kernel %s, configuration %s, threads %d, %.3f s)\n", n,
            m->cfg.vocab, to_stdout ? "standard output" : out_path, k ? k->name : "ref",
            mo.config ? mo.config : "exact", runner ? tb_runner_threads(runner) : 1, dt);
    rc = 0;
    goto done;
fail:
    tb_cli_err(e.msg);
    if (out.f) tb_out_abort(&out); /* no partial output file */
done:
    free(logits);
    tb_state_free(st);
    tb_numcfg_close(&crun);
    tb_runner_free(runner);
    tb_model_free(m);
    free(tokens);
    return rc;
}

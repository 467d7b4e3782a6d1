/* cmd_generate.c: `ternbench generate`: greedy decoding.  The prompt (token ids, or
 * text through the model's Llama-3 tokenizer) is prefilled in one batch, then tokens
 * are decoded one at a time (argmax, lowest id on ties) until -n tokens, the end of
 * the context, or EOS/EOT.  Text (when a tokenizer is available) streams to stdout,
 * followed by the generated ids; prefill and decode tokens/s go to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "forward.h"
#include "kernel.h"
#include "model.h"
#include "numcfg.h"
#include "runner.h"
#include "tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench generate --model PATH (--tokens ID,ID,... | --prompt TEXT) [-n N]\n"
            "                          [--kernel NAME|best|ref] [--config NAME] [--threads N] [--isa-max ISA]\n"
            "                          [--tokenizer PATH] [--no-bos]\n\n"
            "Greedy decoding: prefill the prompt in one batch, then decode token by token;\n"
            "stops after N tokens, at EOS/EOT, or at the end of the context.\n\n"
            "  --model PATH      .gguf file (bitnet.cpp I2_S) or HF checkpoint directory\n"
            "  --tokens LIST     prompt as token ids separated by commas or spaces (used as given)\n"
            "  --prompt TEXT     prompt as text, encoded with the model's tokenizer (BOS first)\n"
            "  -n N              tokens to generate (default 32)\n"
            "  --kernel NAME     ternary GEMV kernel: a registered name (or a glob matching one), 'best' (default) or 'ref'\n"
            "  --plugin PATH     kernels from a shared object (repeatable; also TERNBENCH_PLUGINS=a.so:b.so),\n"
            "                    named plugin:<name> (kernels/ternbench_plugin.h)\n"
            TB_CLI_CONFIG_HELP
            "  --threads N       worker threads for the kernel (default 0 = all cores)\n"
            "  --isa-max ISA     restrict kernels to an ISA level: " TB_CLI_ISA_NAMES "\n"
            "  --tokenizer PATH  tokenizer.json, .gguf or HF directory (default: the model's own)\n"
            "  --no-bos          with --prompt: do not prepend BOS\n\n"
            "Output: stdout gets the generated text as it is decoded (when a tokenizer is\n"
            "available), then a line 'ids: ID,ID,...'; timings and the stop reason go to stderr.\n"
            "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

/* Greedy choice: the largest logit, the lowest id on ties. */
static int32_t argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

int tb_cmd_generate(int argc, char **argv) {
    const char *tokens_arg = NULL, *prompt = NULL, *tok_path = NULL;
    tb_cli_model_opts mo = {0};
    int n_gen = 32;
    bool bos = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int used = tb_cli_model_opt("generate", argc, argv, &i, &mo);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--tokens")) {
            if (!(tokens_arg = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--prompt")) {
            if (!(prompt = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--tokenizer")) {
            if (!(tok_path = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--no-bos")) {
            bos = false;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-tokens")) {
            const char *v = tb_arg_value(argc, argv, &i);
            if (!v || tb_cli_int("generate", a, v, 0, 1 << 20, &n_gen)) return 2;
        } else {
            fprintf(stderr, "ternbench generate: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!mo.model || (!tokens_arg == !prompt)) {
        fprintf(stderr, "ternbench generate: --model and exactly one of --tokens / --prompt are required\n\n");
        usage(stderr);
        return 2;
    }
    tb_err e = {{0}};
    int32_t *prompt_ids = NULL;
    int n_prompt = 0;
    if (tokens_arg) {
        n_prompt = tb_parse_int_list(tokens_arg, &prompt_ids, &e);
        if (n_prompt < 0) {
            fprintf(stderr, "ternbench generate: --tokens: %s\n", e.msg);
            return 2;
        }
    }

    const tb_kernel *k;
    tb_model *m;
    tb_runner *runner;
    int rc = tb_cli_open("generate", &mo, &k, &m, &runner);
    if (rc) {
        free(prompt_ids);
        return rc;
    }
    rc = 1;
    tb_tokenizer *tok = NULL;
    tb_state *st = NULL;
    tb_numcfg_run crun = {0};
    float *logits = NULL;
    int32_t *out_ids = NULL;
    char *piece = NULL;
    const tb_config *c = &m->cfg;

    /* tokenizer: required for --prompt, optional (text output) for --tokens */
    const char *tok_from = NULL;
    if (tb_cli_tokenizer("generate", m, tok_path, &tok, &tok_from)) { /* it said why */
        if (prompt) goto done;
        fprintf(stderr, "generate: printing token ids only\n");
        tok = NULL;
    }
    /* a tokenizer whose ids exceed the model's vocabulary would fail (or read out of
     * bounds) only at the forward pass: refuse it up front, as ppl does */
    if (tok && tb_tokenizer_vocab(tok) > c->vocab) {
        tb_fail(&e, "%s: the tokenizer has %d tokens but the model's vocabulary only %d",
                tok_path ? tok_path : mo.model, tb_tokenizer_vocab(tok), c->vocab);
        if (prompt || tok_path) goto fail;
        fprintf(stderr, "generate: %s; printing token ids only\n", e.msg);
        tb_tokenizer_free(tok);
        tok = NULL;
    }
    if (prompt) {
        size_t np = 0;
        if (tb_tokenize(tok, prompt, strlen(prompt), bos, true, &prompt_ids, &np, &e)) goto fail;
        if (np == 0) {
            tb_fail(&e, "--prompt is empty (and --no-bos given): nothing to evaluate");
            goto fail;
        }
        if (np > (size_t)c->ctx) {
            tb_fail(&e, "the prompt has %zu tokens, more than the context of %d", np, c->ctx);
            goto fail;
        }
        n_prompt = (int)np;
    }
    if (n_prompt > c->ctx) {
        tb_fail(&e, "the prompt has %d tokens, more than the context of %d", n_prompt, c->ctx);
        goto fail;
    }
    for (int i = 0; i < n_prompt; i++)
        if (prompt_ids[i] < 0 || prompt_ids[i] >= c->vocab) {
            tb_fail(&e, "prompt token %d (position %d) is outside the model's vocabulary 0..%d", (int)prompt_ids[i], i,
                    c->vocab - 1);
            goto fail;
        }
    /* positions 0..n_prompt-1 are the prompt; each generated token but the last is fed back */
    int max_ctx = n_prompt + (n_gen > 0 ? n_gen - 1 : 0);
    if (max_ctx > c->ctx) max_ctx = c->ctx;
    if (tb_state_new(m, max_ctx, n_prompt, &st, &e)) goto fail;
    if (mo.config && tb_cli_apply_config("generate", &mo, m, st, &crun)) goto done;
    logits = malloc(sizeof *logits * (size_t)c->vocab);
    out_ids = malloc(sizeof *out_ids * (size_t)(n_gen > 0 ? n_gen : 1));
    const size_t piece_cap = tok ? (size_t)tb_tokenizer_max_token_bytes(tok) + 8 : 8;
    piece = malloc(piece_cap);
    if (!logits || !out_ids || !piece) {
        tb_fail(&e, "out of memory");
        goto fail;
    }
    const tb_backend *be = runner ? tb_runner_backend(runner) : NULL;
    fprintf(stderr, "generate: %d prompt tokens, up to %d new, kernel %s, threads %d\n", n_prompt, n_gen,
            k ? k->name : "ref", runner ? tb_runner_threads(runner) : 1);

    /* prefill: the whole prompt in one batch, logits of its last token */
    double t0 = tb_now();
    if (tb_forward(st, be, prompt_ids, n_prompt, 0, logits, false, &e)) goto fail;
    const double t_prefill = tb_now() - t0;

    /* decode */
    tb_detok_stream ds = {0};
    int n_out = 0, pos = n_prompt;
    const char *stop = "length";
    double t_decode = 0.0;
    int n_decode_steps = 0;
    while (n_out < n_gen) {
        const int32_t next = argmax(logits, c->vocab);
        if (next == c->eos || next == c->eot || (tok && next == tb_tokenizer_eos(tok))) {
            stop = next == c->eot ? "EOT" : "EOS";
            break;
        }
        out_ids[n_out++] = next;
        if (tok) {
            int nb = tb_detok_stream_push(tok, &ds, next, piece, piece_cap);
            if (nb > 0) fwrite(piece, 1, (size_t)nb, stdout);
            fflush(stdout);
        }
        if (n_out == n_gen) break;
        if (pos >= max_ctx) {
            stop = "context";
            break;
        }
        t0 = tb_now();
        if (tb_forward(st, be, &next, 1, pos, logits, false, &e)) goto fail;
        t_decode += tb_now() - t0;
        n_decode_steps++;
        pos++;
    }
    if (tok) {
        int nb = tb_detok_stream_flush(&ds, piece, piece_cap);
        if (nb > 0) fwrite(piece, 1, (size_t)nb, stdout);
        fputc('\n', stdout);
    }
    printf("ids:");
    for (int i = 0; i < n_out; i++) printf("%s%d", i ? "," : " ", (int)out_ids[i]);
    printf("\n");
    fflush(stdout);
    fprintf(stderr, "generate: %d tokens (stop: %s); prefill %d tok in %.3f s = %.2f tok/s; decode %d tok in %.3f s = %.2f tok/s\n",
            n_out, stop, n_prompt, t_prefill, t_prefill > 0 ? n_prompt / t_prefill : 0.0, n_decode_steps, t_decode,
            t_decode > 0 ? n_decode_steps / t_decode : 0.0);
    rc = 0;
    goto done;
fail:
    tb_cli_err(e.msg);
done:
    free(piece);
    free(out_ids);
    free(logits);
    tb_state_free(st);
    tb_numcfg_close(&crun);
    tb_runner_free(runner);
    tb_tokenizer_free(tok);
    tb_model_free(m);
    free(prompt_ids);
    return rc;
}

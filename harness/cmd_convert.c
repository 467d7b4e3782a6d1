/* cmd_convert.c: `ternbench convert`: a model file in one official layout to another
 * (GGUF I2_S <-> HF packed, and HF bf16 "online" -> either, ternarized at load).
 * The load is the strict loader every command uses; the write is synth's writer fed
 * from the loaded model (tb_synth_opts.from), so both ends are the code paths users run. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "model.h"
#include "synth.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench convert --model IN --format gguf|hf [--tokenizer tokenizer.json | --no-tokenizer] -o OUT\n\n"
            "Rewrites a BitNet b1.58 model in another official layout, bit for bit:\n"
            "  gguf  one file laid out like bitnet.cpp's ggml-model-i2_s.gguf (I2_S linears with one f32\n"
            "        scale each, F16 token embedding, F32 norms, Llama-3 tokenizer metadata)\n"
            "  hf    a Hugging Face packed checkpoint directory (uint8 codes, BF16 weight_scale, norms and\n"
            "        embedding, config.json, tokenizer.json)\n"
            "IN is any model ternbench loads: a .gguf, an HF packed directory, or an HF bf16 master\n"
            "checkpoint, which is ternarized at load (absmean, docs/numerics.md §1); the output then says\n"
            "so (GGUF key ternbench.converted_from / config.json ternbench_converted_from = hf-bf16-online).\n"
            "Every float must be exact in the output's encoding (e.g. an F16 embedding value that BF16\n"
            "cannot hold): otherwise convert fails and writes nothing.  The ternary codes are always exact.\n"
            "Tokenizer: the input HF directory's tokenizer.json by default; a GGUF input needs --tokenizer\n"
            "(or --no-tokenizer for a file without one).\n"
            "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

/* The tokenizer.json to embed: the option, else the HF input's own. */
static const char *pick_tokenizer(const tb_model *m, const char *opt, int none) {
    if (none) return NULL;
    if (opt) return opt;
    return m->tokenizer_json[0] ? m->tokenizer_json : NULL;
}

int tb_cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *format = NULL, *tok = NULL;
    int no_tok = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--model")) {
            if (!(in = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--format")) {
            if (!(format = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--tokenizer")) {
            if (!(tok = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--no-tokenizer")) {
            no_tok = 1;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = tb_arg_value(argc, argv, &i))) return 2;
        } else {
            fprintf(stderr, "ternbench convert: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!in || !out || !format) return tb_cli_usage("--model IN, --format gguf|hf and -o OUT are required");
    if (strcmp(format, "gguf") && strcmp(format, "hf"))
        return tb_cli_usage("--format must be gguf or hf, got '%s'", format);
    if (tok && no_tok) return tb_cli_usage("--tokenizer and --no-tokenizer are exclusive");
    const int gguf = !strcmp(format, "gguf");
    if (gguf ? tb_cli_out_file("convert", "-o", out, false) : tb_cli_out_dir("convert", "-o", out)) return 2;
    struct stat st;
    if (gguf && stat(out, &st) == 0 && !S_ISREG(st.st_mode))
        return tb_cli_usage("-o %s: not a regular file (a GGUF is written to a temporary name and renamed)", out);

    tb_err e;
    tb_model *m;
    if (tb_model_load(in, &m, &e) < 0) {
        tb_cli_err(e.msg);
        return 1;
    }
    tb_synth_opts o;
    memset(&o, 0, sizeof o);
    o.cfg = m->cfg;
    o.format = gguf ? TB_SYNTH_GGUF : TB_SYNTH_HF;
    o.tokenizer_json = pick_tokenizer(m, tok, no_tok);
    o.out = out;
    o.from = m;
    if (!o.tokenizer_json && !no_tok) {
        tb_model_free(m);
        return tb_cli_usage("%s has no tokenizer.json: give --tokenizer tokenizer.json or --no-tokenizer", in);
    }
    double t0 = tb_now();
    int rc = tb_synth_check(&o, &e) < 0 || tb_synth_write(&o, &e) < 0;
    if (rc) tb_cli_err(e.msg);
    else
        fprintf(stderr, "convert: %s (%s) -> %s (%s) in %.1f s\n", in, m->format, out,
                gguf ? "gguf-i2_s" : "hf-packed", tb_now() - t0);
    tb_model_free(m);
    return rc;
}

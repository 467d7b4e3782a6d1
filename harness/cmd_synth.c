/* cmd_synth.c: `ternbench synth`: write a deterministic synthetic BitNet model
 * (bitnet.cpp-style GGUF I2_S or an HF packed checkpoint directory). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "synth.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench synth --preset tiny|2b4t [--hidden N --layers N --heads N --kv-heads N --ffn N\n"
            "                       --vocab N --ctx N] [--seed N] [--format gguf|hf]\n"
            "                       (--tokenizer tokenizer.json | --no-tokenizer) -o PATH\n\n"
            "Writes a synthetic model with the BitNet b1.58 architecture, deterministic from --seed\n"
            "(default 1): random ternary codes (~31%% zeros), one lognormal scale per tensor, norms in\n"
            "[0.5, 1.5], embedding N(0, 0.08^2).  gguf: one file laid out like bitnet.cpp's\n"
            "ggml-model-i2_s.gguf (F16 embedding, I2_S linears, Llama-3 tokenizer metadata from\n"
            "--tokenizer).  hf: a directory with config.json, model.safetensors (packed uint8) and a\n"
            "copy of tokenizer.json.  The tokenizer must have exactly --vocab tokens (128256 for\n"
            "Llama-3); use --no-tokenizer for other vocab sizes.\n"
            "I2_S needs rows*cols %% 128 == 0 for every linear; hf needs rows %% 4 == 0.\n");
}

static int parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "ternbench synth: %s needs an integer in [%ld, %ld], got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void progress(void *ctx, const char *tensor, uint64_t done, uint64_t total) {
    double *last = ctx;
    double pct = 100.0 * (double)done / (double)(total ? total : 1);
    if (pct - *last >= 5.0 || done == total) {
        fprintf(stderr, "\rsynth: %5.1f%% (%.0f / %.0f MB) %-40.40s", pct, (double)done / 1e6, (double)total / 1e6,
                tensor);
        if (done == total) fputc('\n', stderr);
        *last = pct;
    }
}

/* bitnet.cpp's I2_S kernels walk each row in 128-weight blocks: a GGUF whose rows are
 * not a multiple of 128 wide loads there but gives wrong logits.  Say so. */
static void warn_narrow(const tb_config *c, tb_synth_format format) {
    if (format != TB_SYNTH_GGUF || (c->hidden % 128 == 0 && c->ffn % 128 == 0)) return;
    fprintf(stderr,
            "ternbench synth: warning: hidden %d / ffn %d is not a multiple of 128: ternbench reads this I2_S file "
            "correctly, but bitnet.cpp (and peers using its kernels) computes wrong logits on it; use multiples of "
            "128 to compare engines\n",
            c->hidden, c->ffn);
}

int tb_cmd_synth(int argc, char **argv) {
    const char *preset = NULL, *tok = NULL, *out = NULL, *format = "gguf";
    int no_tok = 0;
    long seed = 1, ov[7];
    int have[7] = {0};
    static const char *const ovn[7] = {"--hidden", "--layers", "--heads", "--kv-heads", "--ffn", "--vocab", "--ctx"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        int matched = 0;
        for (int k = 0; k < 7; k++)
            if (!strcmp(a, ovn[k])) {
                const char *v = tb_arg_value(argc, argv, &i);
                if (!v || parse_int(a, v, 1, 1 << 24, &ov[k]) < 0) return 2;
                have[k] = matched = 1;
            }
        if (matched) continue;
        if (!strcmp(a, "--preset")) {
            if (!(preset = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--tokenizer")) {
            if (!(tok = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--no-tokenizer")) {
            no_tok = 1;
        } else if (!strcmp(a, "--format")) {
            if (!(format = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--seed")) {
            const char *v = tb_arg_value(argc, argv, &i);
            if (!v || parse_int(a, v, 0, 0x7fffffffL, &seed) < 0) return 2;
        } else {
            fprintf(stderr, "ternbench synth: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    tb_synth_opts o;
    memset(&o, 0, sizeof o);
    if (!preset) preset = "tiny";
    if (tb_config_preset(preset, &o.cfg) < 0) {
        fprintf(stderr, "ternbench synth: unknown preset '%s' (tiny or 2b4t)\n", preset);
        return 2;
    }
    if (!out) {
        fprintf(stderr, "ternbench synth: -o PATH is required\n");
        usage(stderr);
        return 2;
    }
    if (!strcmp(format, "gguf")) o.format = TB_SYNTH_GGUF;
    else if (!strcmp(format, "hf")) o.format = TB_SYNTH_HF;
    else {
        fprintf(stderr, "ternbench synth: --format must be gguf or hf, got '%s'\n", format);
        return 2;
    }
    if (!tok && !no_tok) {
        fprintf(stderr, "ternbench synth: give --tokenizer tokenizer.json (e.g. ../shared/data/llama3-tokenizer/"
                        "tokenizer.json) or --no-tokenizer\n");
        return 2;
    }
    if (tok && no_tok) {
        fprintf(stderr, "ternbench synth: --tokenizer and --no-tokenizer are exclusive\n");
        return 2;
    }
    int *fields[7] = {&o.cfg.hidden, &o.cfg.layers, &o.cfg.heads, &o.cfg.kv_heads, &o.cfg.ffn, &o.cfg.vocab, &o.cfg.ctx};
    for (int k = 0; k < 7; k++)
        if (have[k]) *fields[k] = (int)ov[k];
    o.cfg.head_dim = o.cfg.hidden / o.cfg.heads;
    if (!have[3] && o.cfg.heads % o.cfg.kv_heads) o.cfg.kv_heads = o.cfg.heads;
    if (o.cfg.vocab <= o.cfg.eos) { /* small custom vocab: special ids must exist */
        o.cfg.bos = o.cfg.vocab > 1 ? o.cfg.vocab - 2 : 0;
        o.cfg.eos = o.cfg.eot = o.cfg.vocab - 1;
    }
    o.seed = (uint64_t)seed;
    o.tokenizer_json = tok;
    o.out = out;
    tb_err e;
    if (tb_synth_check(&o, &e) < 0) {
        tb_cli_err(e.msg);
        return 2;
    }
    if (o.format == TB_SYNTH_GGUF ? tb_cli_out_file("synth", "-o", out, false) : tb_cli_out_dir("synth", "-o", out))
        return 2;
    struct stat st; /* the GGUF is renamed into place: never over a device or FIFO */
    if (o.format == TB_SYNTH_GGUF && stat(out, &st) == 0 && !S_ISREG(st.st_mode))
        return tb_cli_usage("-o %s: not a regular file (a GGUF is written to a temporary name and renamed)", out);
    warn_narrow(&o.cfg, o.format);
    double last = -100;
    uint64_t big = (uint64_t)o.cfg.vocab * (uint64_t)o.cfg.hidden + (uint64_t)o.cfg.layers * o.cfg.hidden * o.cfg.ffn;
    if (big > 50000000ull) {
        o.progress = progress;
        o.progress_ctx = &last;
    }
    double t0 = tb_now();
    if (tb_synth_write(&o, &e) < 0) {
        tb_cli_err(e.msg);
        return 1;
    }
    fprintf(stderr, "synth: wrote %s (%s, hidden %d, layers %d, heads %d/%d, ffn %d, vocab %d, seed %ld) in %.1f s\n",
            out, format, o.cfg.hidden, o.cfg.layers, o.cfg.heads, o.cfg.kv_heads, o.cfg.ffn, o.cfg.vocab, seed,
            tb_now() - t0);
    return 0;
}

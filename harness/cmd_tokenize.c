/* cmd_tokenize.c: `ternbench tokenize`: text -> Llama-3 token ids (or ids -> text),
 * with a --bench mode that measures encoding speed on one core. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "results.h"
#include "tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench tokenize [--tokenizer PATH] (--text S | --file F | --ids 1,2,3) [options]\n"
            "\n"
            "Llama-3 byte-level BPE (the tokenizer of BitNet b1.58 2B4T): text -> token ids.\n"
            "\n"
            "  --tokenizer PATH  tokenizer.json, a .gguf (its tokenizer.ggml.* metadata) or an HF model\n"
            "                    directory (its tokenizer.json); default:\n"
            "                    $TERNBENCH_DATA/llama3-tokenizer/tokenizer.json\n"
            "  --data DIR        data directory for that default (default $TERNBENCH_DATA or ../shared/data)\n"
            "  --text S          text to encode\n"
            "  --file F          file to encode (bytes as they are; '-' = stdin)\n"
            "  --ids LIST        decode ids (separated by commas or spaces) to text instead (printed raw)\n"
            "  --bos             put BOS (<|begin_of_text|>) first\n"
            "  --no-special      treat special-token text such as <|eot_id|> as plain text\n"
            "                    (default: recognised, as HF tokenizers do)\n"
            "  -o FILE           write the ids as raw little-endian int32 instead of printing them (- = stdout)\n"
            "  --count           print only the number of ids\n"
            "  --bench [N]       time N encodings (default 5) of the input on one core; print MB/s\n"
            "\n"
            "Pre-tokenization is the Llama-3 split regex, implemented by hand over UTF-8 with\n"
            "Unicode 15 letter/number/space classes.  The GGUF files from bitnet.cpp carry no\n"
            "tokenizer.ggml.pre (bitnet.cpp then falls back to a GPT-2-like split); ternbench uses\n"
            "the Llama-3 regex for them too, as Hugging Face does for this vocabulary, and refuses\n"
            "a GGUF whose tokenizer.ggml.pre names another split.  Bytes that are not valid UTF-8\n"
            "are encoded as byte tokens, so decoding always gives back the input bytes.\n"
            "\n"
            "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

static int read_stream(FILE *f, char **out, size_t *n) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) return -1;
    size_t k;
    while ((k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            char *p = realloc(buf, cap * 2 + 1);
            if (!p) { free(buf); return -1; }
            buf = p;
            cap *= 2;
        }
    }
    buf[len] = 0;
    *out = buf;
    *n = len;
    return 0;
}

int tb_cmd_tokenize(int argc, char **argv) {
    const char *tok_path = NULL, *text = NULL, *file = NULL, *ids_arg = NULL, *out_path = NULL, *data = NULL;
    bool bos = false, special = true, count_only = false;
    int bench = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--tokenizer")) { if (!(tok_path = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--data")) { if (!(data = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--text")) { if (!(text = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--file")) { if (!(file = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--ids")) { if (!(ids_arg = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "-o")) { if (!(out_path = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--bos")) bos = true;
        else if (!strcmp(a, "--no-special")) special = false;
        else if (!strcmp(a, "--count")) count_only = true;
        else if (!strcmp(a, "--bench")) {
            bench = 5;
            if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') {
                char *end;
                long v = strtol(argv[++i], &end, 10);
                if (*end || v < 1 || v > 100000) {
                    fprintf(stderr, "ternbench tokenize: --bench wants a count in 1..100000, got '%s'\n", argv[i]);
                    return 2;
                }
                bench = (int)v;
            }
        } else {
            fprintf(stderr, "ternbench tokenize: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if ((text != NULL) + (file != NULL) + (ids_arg != NULL) != 1) {
        fprintf(stderr, "ternbench tokenize: give exactly one of --text, --file, --ids (see --help)\n");
        return 2;
    }
    if (ids_arg && (bench || out_path || count_only)) {
        fprintf(stderr, "ternbench tokenize: --ids decodes; --bench, -o and --count apply to encoding\n");
        return 2;
    }
    if (out_path && tb_cli_out_file("tokenize", "-o", out_path, true)) return 2;
    char def[1200];
    if (!tok_path) {
        if (!data) data = tb_data_dir();
        if (!data) {
            fprintf(stderr, "ternbench tokenize: no --tokenizer and no data directory (set TERNBENCH_DATA or --data)\n");
            return 2;
        }
        snprintf(def, sizeof def, "%s/llama3-tokenizer/tokenizer.json", data);
        tok_path = def;
    }

    tb_err e = {{0}};
    tb_tokenizer *t;
    double t0 = tb_now();
    if (tb_tokenizer_load(tok_path, &t, &e)) {
        tb_cli_err(e.msg);
        return 1;
    }
    double t_load = tb_now() - t0;
    int rc = 1;
    char *buf = NULL, *dec = NULL;
    int32_t *ids = NULL;
    size_t len = 0, n = 0;

    if (ids_arg) {
        int k = tb_parse_int_list(ids_arg, &ids, &e);
        if (k < 0) { fprintf(stderr, "ternbench tokenize: --ids: %s\n", e.msg); rc = 2; goto done; }
        if (tb_detokenize(t, ids, (size_t)k, &dec, &len, &e)) { tb_cli_err(e.msg); goto done; }
        fwrite(dec, 1, len, stdout);
        rc = 0;
        goto done;
    }
    if (file) {
        if (!strcmp(file, "-")) {
            if (read_stream(stdin, &buf, &len)) { fprintf(stderr, "ternbench tokenize: cannot read stdin\n"); goto done; }
        } else if (tb_read_file(file, &buf, &len, &e)) {
            tb_cli_err(e.msg);
            goto done;
        }
        text = buf;
    } else {
        len = strlen(text);
    }

    if (bench) {
        double best = 1e30, total = 0;
        for (int r = 0; r < bench; r++) {
            free(ids);
            double s = tb_now();
            if (tb_tokenize(t, text, len, bos, special, &ids, &n, &e)) { tb_cli_err(e.msg); goto done; }
            double d = tb_now() - s;
            total += d;
            if (d < best) best = d;
        }
        printf("tokenizer %s: loaded in %.3f s (%d tokens, %d merges)\n", tok_path, t_load, tb_tokenizer_vocab(t),
               tb_tokenizer_n_merges(t));
        printf("encode %zu bytes -> %zu ids, %d runs, one thread: best %.4f s (%.2f MB/s), mean %.4f s\n", len, n,
               bench, best, len / best / 1e6, total / bench);
        rc = 0;
        goto done;
    }

    if (tb_tokenize(t, text, len, bos, special, &ids, &n, &e)) { tb_cli_err(e.msg); goto done; }
    if (out_path) {
        tb_out out; /* whole or not at all: a temporary name, then rename; - = standard output */
        if (tb_out_open(&out, out_path, &e) < 0) { tb_cli_err(e.msg); goto done; }
        /* raw little-endian int32 (this harness targets little-endian hosts) */
        if (fwrite(ids, sizeof *ids, n, out.f) != n) {
            fprintf(stderr, "ternbench tokenize: short write to %s: %s\n", out_path, strerror(errno));
            tb_out_abort(&out);
            goto done;
        }
        if (tb_out_commit(&out, &e) < 0) { tb_cli_err(e.msg); goto done; }
        fprintf(stderr, "wrote %zu ids to %s\n", n, strcmp(out_path, "-") ? out_path : "standard output");
    } else if (count_only) {
        printf("%zu\n", n);
    } else {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
        printf("\n");
    }
    rc = 0;
done:
    free(buf);
    free(dec);
    free(ids);
    tb_tokenizer_free(t);
    return rc;
}

/* cmd_info.c: `ternbench info --model PATH`: format, config, tensor table and the
 * bytes a decode step reads (ternary weights + the tied F16/BF16 LM head). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gguf.h"
#include "model.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench info --model PATH [--no-tensors]\n\n"
            "Loads a BitNet b1.58 model (bitnet.cpp GGUF I2_S file, or an HF directory with\n"
            "config.json + model.safetensors, packed or bf16 master), validates it, and prints its\n"
            "format, config, a tensor table (name, layout, shape, scale, bytes) and totals:\n"
            "ternary and embedding parameters, bytes of ternary weights, bits per weight, and the\n"
            "bytes read per decoded token (every ternary weight once + the tied LM head once).\n");
}

static const char *layout_name(tb_tern_layout l) {
    switch (l) {
    case TB_TERN_I2S: return "I2_S";
    case TB_TERN_HF_PACKED: return "U8 packed";
    case TB_TERN_CODES: return "int8 codes";
    }
    return "?";
}

static const char *ftype_name(tb_ftype t) { return t == TB_F32 ? "F32" : t == TB_F16 ? "F16" : "BF16"; }

static double mb(double b) { return b / 1e6; }

int tb_cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int tensors = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model") || !strcmp(argv[i], "-m")) {
            if (!(path = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(argv[i], "--no-tensors")) {
            tensors = 0;
        } else {
            fprintf(stderr, "ternbench info: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "ternbench info: --model PATH is required\n");
        usage(stderr);
        return 2;
    }
    tb_model *m;
    tb_err e;
    double t0 = tb_now();
    if (tb_model_load(path, &m, &e) < 0) {
        tb_cli_err(e.msg);
        return 1;
    }
    double t_load = tb_now() - t0;
    const tb_config *c = &m->cfg;
    printf("model:   %s\n", m->path);
    printf("format:  %s%s\n", m->format,
           !strcmp(m->format, "hf-bf16-online") ? " (bf16 master ternarized at load: absmean, round half to even)" : "");
    printf("arch:    %s   (loaded and validated in %.2f s)\n", c->arch, t_load);
    printf("config:  hidden %d, layers %d, heads %d, kv_heads %d, head_dim %d, ffn %d, vocab %d, ctx %d\n", c->hidden,
           c->layers, c->heads, c->kv_heads, c->head_dim, c->ffn, c->vocab, c->ctx);
    printf("         rope_theta %g, rms_norm_eps %g, bos %d, eos %d, eot %d\n", (double)c->rope_theta,
           (double)c->norm_eps, c->bos, c->eos, c->eot);
    printf("ffn act: %s (%s)\n", tb_ffn_act_name(c->ffn_act),
           c->ffn_act == TB_ACT_SILU ? "silu(gate) * up, llama.cpp arch 'bitnet' / 1bitLLM"
                                     : "relu(gate)^2 * up, BitNet b1.58 2B4T");
    if (m->tokenizer_json[0]) printf("tokenizer: %s\n", m->tokenizer_json);
    else if (m->gguf && tb_gguf_find(m->gguf, "tokenizer.ggml.tokens"))
        printf("tokenizer: GGUF metadata\n");

    size_t es = m->embd_type == TB_F32 ? 4 : 2;
    uint64_t tern_params = 0, norm_params = (uint64_t)c->hidden;
    for (int l = 0; l < c->layers; l++) {
        norm_params += 3 * (uint64_t)c->hidden + (uint64_t)c->ffn;
        for (int k = 0; k < TB_LIN_COUNT; k++) tern_params += (uint64_t)m->layer[l].lin[k].rows * m->layer[l].lin[k].cols;
    }
    uint64_t embd_params = (uint64_t)c->vocab * c->hidden;
    if (tensors) {
        printf("\n%-44s %-10s %-14s %10s %12s\n", "tensor", "layout", "shape", "scale", "bytes");
        printf("%-44s %-10s %6d x %-7d %10s %12zu\n", "embedding (tied LM head)", ftype_name(m->embd_type), c->vocab,
               c->hidden, "-", tb_model_embd_bytes(m));
        for (int l = 0; l < c->layers; l++) {
            for (int k = 0; k < TB_LIN_COUNT; k++) {
                const tb_ternary *t = &m->layer[l].lin[k];
                size_t n = (size_t)t->rows * (size_t)t->cols;
                size_t b = t->layout == TB_TERN_CODES ? n : t->layout == TB_TERN_I2S ? n / 4 + 32 : n / 4;
                printf("%-44s %-10s %6d x %-7d %10.6g %12zu\n", t->name, layout_name(t->layout), t->rows, t->cols,
                       (double)t->scale, b);
            }
            printf("%-44s %-10s %6d + %-7d %10s %12zu\n", "  norms (attn, attn_sub, ffn | ffn_sub)", "F32 (own)",
                   3 * c->hidden, c->ffn, "-", (size_t)(3 * c->hidden + c->ffn) * 4);
        }
    }
    size_t tern_bytes = tb_model_ternary_bytes(m), embd_bytes = tb_model_embd_bytes(m);
    /* one decode step reads every ternary weight once, the whole embedding as the tied
     * LM head, one embedding row for the input token, and the norms */
    double per_tok = (double)tern_bytes + (double)embd_bytes + (double)c->hidden * es + (double)norm_params * 4;
    printf("\ntotals:\n");
    printf("  ternary params     %14llu\n", (unsigned long long)tern_params);
    printf("  embedding params   %14llu  (%s, tied LM head)\n", (unsigned long long)embd_params,
           ftype_name(m->embd_type));
    printf("  norm params        %14llu\n", (unsigned long long)norm_params);
    printf("  total params       %14llu\n", (unsigned long long)(tern_params + embd_params + norm_params));
    printf("  ternary bytes      %14zu  (%.1f MB, %.3f bits/weight%s)\n", tern_bytes, mb((double)tern_bytes),
           8.0 * (double)tern_bytes / (double)(tern_params ? tern_params : 1),
           m->layer[0].lin[0].layout == TB_TERN_CODES ? ", held as int8 codes" : "");
    printf("  at 1.58 bpw        %14.0f  (%.1f MB, log2(3) bits/weight)\n", (double)tern_params * 1.584962500721156 / 8,
           mb((double)tern_params * 1.584962500721156 / 8));
    printf("  embedding bytes    %14zu  (%.1f MB)\n", embd_bytes, mb((double)embd_bytes));
    printf("  bytes/token decode %14.0f  (%.1f MB: ternary %.1f%% + LM head %.1f%%)\n", per_tok, mb(per_tok),
           100.0 * (double)tern_bytes / per_tok, 100.0 * (double)embd_bytes / per_tok);
    tb_model_free(m);
    return 0;
}

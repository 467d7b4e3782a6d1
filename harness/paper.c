/* paper.c: the 2B4T report's Table 1 beside this machine, one builder for `ternbench
 * paper` and the sweep (see paper.h). */
#include "paper.h"

#include <math.h>
#include <string.h>

#include "energy.h"

bool tb_config_is_2b4t(const tb_config *c) {
    return c->hidden == 2560 && c->layers == 30 && c->heads == 20 && c->kv_heads == 5 && c->head_dim == 128 &&
           c->ffn == 6912 && c->vocab == 128256;
}

double tb_paper_bpw(const tb_kernel *k) {
    if (!k) return 2.0;
    /* (rows, cols) of q, k, v, o, gate, up, down in 2B4T */
    static const int shp[7][2] = {{2560, 2560}, {640, 2560}, {640, 2560}, {2560, 2560},
                                  {6912, 2560}, {6912, 2560}, {2560, 6912}};
    double bytes = 0, weights = 0;
    for (int i = 0; i < 7; i++) {
        bytes += (double)k->packed_size(shp[i][0], shp[i][1]);
        weights += (double)shp[i][0] * shp[i][1];
    }
    return bytes * 8 / weights;
}

void tb_paper_inputs(tb_paper_in *in, const tb_config *cfg, const tb_kernel *k, double ms_per_token, int threads,
                     double bw_here_gbps, double target_gbps, double ppl, const char *ppl_note) {
    memset(in, 0, sizeof *in);
    in->cfg = cfg;
    in->model_is_2b4t = tb_config_is_2b4t(cfg);
    in->best_kernel = k ? k->name : "ref";
    in->best_bpw = tb_paper_bpw(k);
    in->ms_per_token = ms_per_token;
    in->threads = threads;
    in->bw_here_gbps = bw_here_gbps;
    in->bw_target_gbps = target_gbps > 0 ? target_gbps : TB_PAPER_DEFAULT_TARGET_GBPS;
    in->target_desc = target_gbps > 0 ? "user-given bandwidth (--target-bw)"
                                      : "Intel i7-13800H (bitnet.cpp's benchmark CPU), DDR5-5200 dual channel: "
                                        "83.2 GB/s theoretical peak (a measured STREAM figure there is lower, "
                                        "so this projection is optimistic)";
    in->ppl = ppl;
    in->ppl_note = ppl_note;
}

typedef struct table {
    tb_paper_row *rows;
    int n, max;
    const char *shape_note; /* "" for the 2B4T shape */
} table;

static tb_paper_row *row(table *t, const char *q, const char *pub, bool measured) {
    if (t->n >= t->max) return NULL;
    tb_paper_row *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->quantity, sizeof r->quantity, "%s", q);
    snprintf(r->published, sizeof r->published, "%s", pub);
    r->comparable = !measured || !t->shape_note[0];
    return r;
}

/* Puts the shape note first on a row measured on a model that is not the 2B4T shape. */
static void finish(table *t, tb_paper_row *r) {
    if (!r || r->comparable) return;
    char note[sizeof r->note + 64];
    snprintf(note, sizeof note, "%s %s", t->shape_note, r->note);
    size_t n = strlen(note) < sizeof r->note - 1 ? strlen(note) : sizeof r->note - 1; /* the note's end may go */
    memcpy(r->note, note, n);
    r->note[n] = 0;
}

static void decode_rows(table *t, const tb_paper_in *in) {
    tb_paper_row *r;
    if (!(in->ms_per_token == in->ms_per_token && in->ms_per_token > 0)) {
        if ((r = row(t, "decode latency", "29 ms/token", false))) {
            snprintf(r->here, sizeof r->here, "n/a");
            snprintf(r->note, sizeof r->note, "not measured in this run");
        }
        return;
    }
    if ((r = row(t, "decode latency (measured here)", "29 ms/token", true))) {
        snprintf(r->here, sizeof r->here, "%.1f ms/token", in->ms_per_token);
        snprintf(r->note, sizeof r->note, "%s, %d thread%s, read bandwidth here %.1f GB/s (measured in the same run)",
                 in->best_kernel ? in->best_kernel : "?", in->threads, in->threads > 1 ? "s" : "", in->bw_here_gbps);
        finish(t, r);
    }
    if (!(in->bw_here_gbps > 0 && in->bw_target_gbps > 0)) return;
    if ((r = row(t, "decode latency (projected)", "29 ms/token", true))) {
        snprintf(r->here, sizeof r->here, "%.1f ms/token", in->ms_per_token * in->bw_here_gbps / in->bw_target_gbps);
        snprintf(r->note, sizeof r->note,
                 "ASSUMPTION: decode is memory-bound and reaches the same fraction of bandwidth on the target, so "
                 "latency scales by %.1f / %.1f GB/s; target: %s",
                 in->bw_here_gbps, in->bw_target_gbps, in->target_desc ? in->target_desc : "?");
        finish(t, r);
    }
}

int tb_paper_table(const tb_paper_in *in, tb_paper_row *rows, int max) {
    table t = {rows, 0, max,
               in->model_is_2b4t ? "" : "NOT the 2B4T shape, not comparable:"};
    tb_energy_counts cnt;
    tb_err e;
    double params = 0;
    /* memory and energy are computed for the 2B4T shape whatever model was run */
    tb_config c2b;
    tb_config_preset("2b4t", &c2b);
    if (tb_energy_count(&c2b, 512, &cnt, &e) == 0) params = cnt.lin_weights;
    tb_paper_row *r;

    if ((r = row(&t, "memory, non-embedding weights", "0.4 GB", false))) {
        snprintf(r->here, sizeof r->here, "%.3f GB at %.3f bpw", params * in->best_bpw / 8e9, in->best_bpw);
        snprintf(r->note, sizeof r->note,
                 "computed for the 2B4T shape: %.4g ternary weights; the report's 0.4 GB is log2(3) = 1.58 bits each "
                 "(%.3f GB), an entropy bound no byte-aligned layout reaches; layout of %s",
                 params, params * 1.58496 / 8e9, in->best_kernel ? in->best_kernel : "?");
    }
    decode_rows(&t, in);
    tb_energy_result er;
    if (tb_energy_model(&c2b, 512, 512, &tb_energy_7nm, &er, &e) == 0 && (r = row(&t, "energy (modelled)", "0.028 J", false))) {
        snprintf(r->here, sizeof r->here, "%.4f J (modelled)", er.tern_j_seq);
        snprintf(r->note, sizeof r->note,
                 "modelled, 7 nm per-op energies: INT8 add per ternary weight + FP16 attention at context 512, x 512 "
                 "tokens (the convention that reproduces the report's FP baselines); per token %.1f uJ; FP16 baseline "
                 "of the same shape %.3f J (x%.1f); computed for the 2B4T shape",
                 er.tern_j_token * 1e6, er.fp16_j_seq, er.ratio);
    }
    bool have_ppl = in->ppl == in->ppl;
    if ((r = row(&t, "WikiText-2 perplexity", "17.109", have_ppl))) {
        if (have_ppl) snprintf(r->here, sizeof r->here, "%.3f", in->ppl);
        else snprintf(r->here, sizeof r->here, "n/a");
        snprintf(r->note, sizeof r->note, "%s",
                 in->ppl_note ? in->ppl_note
                              : "needs the real weights (ggml-model-i2_s.gguf), which the user provides");
        finish(&t, r);
    }
    return t.n;
}

void tb_paper_write(tb_jw *w, const char *key, const tb_paper_row *rows, int n, const tb_paper_in *in) {
    tb_jw_obj_begin(w, key);
    tb_jw_str(w, "source", "BitNet b1.58 2B4T Technical Report, arXiv 2504.12285, Table 1");
    tb_jw_num(w, "bw_here_gbps", in->bw_here_gbps);
    tb_jw_num(w, "bw_target_gbps", in->bw_target_gbps);
    tb_jw_str(w, "target", in->target_desc);
    tb_jw_bool(w, "model_is_2b4t", in->model_is_2b4t);
    tb_jw_arr_begin(w, "rows");
    for (int i = 0; i < n; i++) {
        tb_jw_obj_begin(w, NULL);
        tb_jw_str(w, "quantity", rows[i].quantity);
        tb_jw_str(w, "published", rows[i].published);
        tb_jw_str(w, "here", rows[i].here);
        tb_jw_str(w, "note", rows[i].note);
        tb_jw_bool(w, "comparable", rows[i].comparable);
        tb_jw_obj_end(w);
    }
    tb_jw_arr_end(w);
    tb_jw_obj_end(w);
}

void tb_paper_print(FILE *f, const tb_paper_row *r, int n) {
    fprintf(f, "%-34s %-14s %-26s %s\n", "quantity", "published", "here", "note");
    for (int i = 0; i < n; i++) fprintf(f, "%-34s %-14s %-26s %s\n", r[i].quantity, r[i].published, r[i].here, r[i].note);
}

void tb_paper_markdown(FILE *f, const tb_paper_row *r, int n) {
    fprintf(f, "| quantity | published (2B4T report) | here | note |\n|---|---|---|---|\n");
    for (int i = 0; i < n; i++) fprintf(f, "| %s | %s | %s | %s |\n", r[i].quantity, r[i].published, r[i].here, r[i].note);
}

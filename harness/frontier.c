/* frontier.c: the speed/accuracy frontier of the numeric configurations (frontier.h). */
#include "frontier.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "paper.h"
#include "runner.h"
#include "sweep_ppl.h"
#include "tokenizer.h"

static void say(const tb_frontier_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const tb_frontier_opts *o, const char *fmt, ...) {
    if (!o->progress) return;
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->progress(o->user, line);
}

/* Each row's kernel: the configuration's own, else the best exact kernel here. */
static int resolve_rows(const tb_frontier_opts *o, tb_frontier *f, const tb_kernel **ks, tb_err *e) {
    const tb_numcfg *sel[TB_NUMCFG_MAX];
    const int n = tb_numcfg_select(o->configs ? o->configs : "all", sel, TB_NUMCFG_MAX, e);
    if (n < 0) return -1;
    const tb_kernel *best = tb_kernel_best(o->isa_mask);
    f->n = 0;
    for (int i = 0; i < n; i++) {
        tb_frontier_row *r = &f->rows[f->n];
        memset(r, 0, sizeof *r);
        r->cfg = sel[i];
        tb_err ke = {{0}};
        if (tb_numcfg_kernel(sel[i], best, false, o->isa_mask, &ks[f->n], &ke) < 0) {
            say(o, "  skip %s: %s", sel[i]->name, ke.msg);
            continue;
        }
        snprintf(r->kernel, sizeof r->kernel, "%s", ks[f->n] ? ks[f->n]->name : "ref");
        r->exact = tb_numcfg_exact(sel[i], ks[f->n]);
        f->n++;
    }
    if (f->n == 0) return tb_fail(e, "frontier: no configuration can run here");
    return 0;
}

/* Perplexity, KL and top-1 of every row against the scalar reference (run first); a row
 * whose configuration cannot open says why and the others go on. */
static void measure_accuracy(const tb_frontier_opts *o, const tb_model *m, const tb_kernel **ks, tb_frontier *f) {
    tb_err e = {{0}};
    tb_tokenizer *tok = NULL;
    char *text = NULL;
    size_t tlen = 0, nids = 0;
    int32_t *ids = NULL;
    tb_runner *run[TB_NUMCFG_MAX] = {0};
    tb_numcfg_run cr[TB_NUMCFG_MAX] = {{0}};
    const tb_backend *bes[TB_NUMCFG_MAX + 1] = {NULL};
    const tb_numerics *nxs[TB_NUMCFG_MAX + 1] = {NULL};
    int slot[TB_NUMCFG_MAX], nb = 1; /* row i's backend index (0: not measured) */
    tb_ppl_result *res = calloc((size_t)f->n + 1, sizeof *res);
    bool ok = res && tb_model_tokenizer(m, NULL, &tok, &e) == 0 && tb_read_file(o->acc_text, &text, &tlen, &e) == 0 &&
              tb_tokenize(tok, text, tlen, true, false, &ids, &nids, &e) == 0;
    for (int i = 0; ok && i < f->n; i++) {
        tb_err re = {{0}};
        slot[i] = 0;
        if ((ks[i] && tb_runner_new(m, ks[i], o->threads, &run[i], &re) < 0) ||
            tb_numcfg_open(f->rows[i].cfg, m, &cr[i], &re) < 0) {
            snprintf(f->rows[i].why_acc, sizeof f->rows[i].why_acc, "%.190s", re.msg);
            say(o, "  %s: %s", f->rows[i].cfg->name, re.msg);
            continue;
        }
        bes[nb] = run[i] ? tb_runner_backend(run[i]) : NULL;
        nxs[nb] = &cr[i].nx;
        slot[i] = nb++;
    }
    if (ok) {
        tb_ppl_opts po;
        memset(&po, 0, sizeof po);
        po.ctx = o->ctx;
        po.max_chunks = o->chunks;
        po.bos = m->cfg.bos;
        po.threads = o->threads;
        po.numerics = nxs;
        say(o, "  accuracy: the reference and %d configurations, %d chunk(s) of %d on %s", nb - 1, o->chunks, o->ctx,
            o->acc_text);
        ok = tb_ppl_run(m, ids, nids, bes, nb, &po, res, &e) == 0;
    }
    for (int i = 0; i < f->n; i++) {
        tb_frontier_row *r = &f->rows[i];
        if (!ok) snprintf(r->why_acc, sizeof r->why_acc, "%.190s", e.msg);
        if (!ok || !slot[i]) continue;
        const tb_ppl_result *p = &res[slot[i]];
        r->has_acc = true;
        r->ppl = p->ppl;
        r->ppl_err = p->ppl_err;
        r->kl_mean = p->kl_mean;
        r->kl_max = p->kl_max;
        r->top1 = p->top1;
    }
    f->ref_ppl = ok ? res[0].ppl : NAN;
    for (int i = 0; i < f->n; i++) {
        tb_runner_free(run[i]);
        tb_numcfg_close(&cr[i]);
    }
    free(res);
    free(ids);
    free(text);
    tb_tokenizer_free(tok);
}

static void measure_speed(const tb_frontier_opts *o, const tb_model *m, int mi, const tb_kernel **ks, tb_frontier *f) {
    for (int i = 0; i < f->n; i++) {
        tb_frontier_row *r = &f->rows[i];
        tb_e2e_opts eo;
        memset(&eo, 0, sizeof eo);
        eo.threads = o->threads;
        eo.n_prompt = o->n_prompt;
        eo.n_decode = o->n_decode;
        eo.reps = o->reps;
        eo.seed = 1;
        eo.config = r->cfg;
        tb_err e = {{0}};
        if (tb_e2e_run(m, ks[i], &eo, &r->speed[mi].r, &e) < 0) {
            snprintf(r->speed[mi].why, sizeof r->speed[mi].why, "%.190s", e.msg);
            say(o, "  %-24s FAILED: %s", r->cfg->name, e.msg);
            continue;
        }
        r->speed[mi].ok = true;
        say(o, "  %-24s %-28s decode %8.2f +- %.2f tok/s, prefill %8.1f tok/s, %.1f MB/token", r->cfg->name,
            r->kernel, r->speed[mi].r.decode_tok_s, r->speed[mi].r.decode_tok_s_sd, r->speed[mi].r.prefill_tok_s,
            r->speed[mi].r.bytes_per_token / 1e6);
    }
}

/* Pareto front of model mi on (decode tok/s up, mean KL down), and the fastest row within
 * 1% of the reference's perplexity. */
static void mark_front(tb_frontier *f, int mi) {
    f->fastest_1pct[mi] = -1;
    for (int i = 0; i < f->n; i++) {
        tb_frontier_row *a = &f->rows[i];
        if (!a->speed[mi].ok || !a->has_acc) continue;
        bool dominated = false;
        for (int j = 0; j < f->n && !dominated; j++) {
            const tb_frontier_row *b = &f->rows[j];
            if (j == i || !b->speed[mi].ok || !b->has_acc) continue;
            const double sa = a->speed[mi].r.decode_tok_s, sb = b->speed[mi].r.decode_tok_s;
            dominated = sb >= sa && b->kl_mean <= a->kl_mean && (sb > sa || b->kl_mean < a->kl_mean);
        }
        a->speed[mi].pareto = !dominated;
        if (a->ppl <= 1.01 * f->ref_ppl && /* at most 1% above the reference's perplexity */
            (f->fastest_1pct[mi] < 0 || a->speed[mi].r.decode_tok_s > f->rows[f->fastest_1pct[mi]].speed[mi].r.decode_tok_s))
            f->fastest_1pct[mi] = i;
    }
}

static int load(const char *path, tb_model **m, char *desc, size_t n, tb_err *e) {
    if (tb_model_load(path, m, e) < 0) return -1;
    const tb_config *c = &(*m)->cfg;
    snprintf(desc, n, "%s: hidden %d, %d layers, vocab %d", tb_config_is_2b4t(c) ? "2B4T shape" : "model", c->hidden,
             c->layers, c->vocab);
    return 0;
}

int tb_frontier_run(const tb_frontier_opts *o, tb_frontier *f, tb_err *e) {
    memset(f, 0, sizeof *f);
    if (!o->acc_model || !o->acc_text) return tb_fail(e, "frontier: needs the trained model and its held-out text");
    if (o->threads < 1 || o->n_prompt < 1 || o->n_decode < 1)
        return tb_fail(e, "frontier: threads, prompt and decode tokens must be >= 1");
    const tb_kernel *ks[TB_NUMCFG_MAX];
    if (resolve_rows(o, f, ks, e) < 0) return -1;
    f->ctx = o->ctx;
    f->chunks = o->chunks;
    snprintf(f->text, sizeof f->text, "%s", o->acc_text);
    tb_model *m = NULL;
    if (load(o->acc_model, &m, f->model_desc[0], sizeof f->model_desc[0], e) < 0) return -1;
    snprintf(f->model[0], sizeof f->model[0], "%s", o->acc_model);
    f->n_models = 1;
    measure_accuracy(o, m, ks, f);
    say(o, "  speed on %s (%s), %d thread%s", o->acc_model, f->model_desc[0], o->threads, o->threads > 1 ? "s" : "");
    measure_speed(o, m, 0, ks, f);
    tb_model_free(m);
    mark_front(f, 0);
    if (o->speed_model) {
        tb_err le = {{0}};
        if (load(o->speed_model, &m, f->model_desc[1], sizeof f->model_desc[1], &le) < 0) {
            say(o, "  speed model %s: %s", o->speed_model, le.msg);
        } else {
            snprintf(f->model[1], sizeof f->model[1], "%s", o->speed_model);
            f->n_models = 2;
            say(o, "  speed on %s (%s)", o->speed_model, f->model_desc[1]);
            measure_speed(o, m, 1, ks, f);
            tb_model_free(m);
            mark_front(f, 1);
        }
    }
    return 0;
}

static void row_json(tb_jw *w, const tb_frontier *f, const tb_frontier_row *r) {
    tb_jw_obj_begin(w, NULL);
    tb_jw_str(w, "config", r->cfg->name);
    tb_jw_str(w, "kernel", r->kernel);
    tb_jw_bool(w, "exact", r->exact);
    tb_jw_str(w, "lm_head", tb_head_fmt_name(r->cfg->head));
    tb_jw_int(w, "act_bits", r->cfg->act_bits);
    tb_jw_str(w, "kv_cache", tb_kv_fmt_name(r->cfg->kv));
    tb_jw_obj_begin(w, "accuracy");
    if (r->has_acc) {
        tb_jw_num(w, "ppl", r->ppl);
        tb_jw_num(w, "ppl_stderr", r->ppl_err);
        tb_jw_num(w, "ppl_ratio", r->ppl / f->ref_ppl);
        tb_jw_num(w, "kl_mean", r->kl_mean);
        tb_jw_num(w, "kl_max", r->kl_max);
        tb_jw_num(w, "top1_agreement", r->top1);
        tb_jw_null(w, "why");
    } else {
        tb_jw_str(w, "why", r->why_acc);
    }
    tb_jw_obj_end(w);
    tb_jw_arr_begin(w, "speed");
    for (int mi = 0; mi < f->n_models; mi++) {
        if (!r->speed[mi].ok) {
            tb_jw_obj_begin(w, NULL);
            tb_jw_str(w, "model", f->model[mi]);
            tb_jw_str(w, "why", r->speed[mi].why);
            tb_jw_obj_end(w);
            continue;
        }
        tb_jw_obj_begin(w, NULL);
        tb_jw_str(w, "model", f->model[mi]);
        tb_jw_bool(w, "pareto", r->speed[mi].pareto);
        tb_e2e_write_key(w, "e2e", &r->speed[mi].r);
        tb_jw_obj_end(w);
    }
    tb_jw_arr_end(w);
    tb_jw_obj_end(w);
}

void tb_frontier_json(tb_jw *w, const char *key, const tb_frontier *f) {
    tb_jw_obj_begin(w, key);
    tb_jw_str(w, "accuracy_model", f->model[0]);
    tb_jw_str(w, "accuracy_text", f->text);
    tb_jw_int(w, "ctx", f->ctx);
    tb_jw_int(w, "chunks", f->chunks);
    tb_jw_str(w, "kl_reference", "ref (scalar reference, exact configuration)");
    tb_jw_num(w, "ref_ppl", f->ref_ppl);
    tb_jw_arr_begin(w, "speed_models");
    for (int mi = 0; mi < f->n_models; mi++) {
        tb_jw_obj_begin(w, NULL);
        tb_jw_str(w, "path", f->model[mi]);
        tb_jw_str(w, "desc", f->model_desc[mi]);
        tb_jw_bool(w, "accuracy_measured_here", mi == 0);
        const int b = f->fastest_1pct[mi];
        tb_jw_str(w, "fastest_within_1pct_ppl", b >= 0 ? f->rows[b].cfg->name : NULL);
        tb_jw_obj_end(w);
    }
    tb_jw_arr_end(w);
    tb_jw_arr_begin(w, "rows");
    for (int i = 0; i < f->n; i++) row_json(w, f, &f->rows[i]);
    tb_jw_arr_end(w);
    tb_jw_obj_end(w);
}

/* decode tok/s of the "exact" row on model mi (NAN when absent) */
static double exact_speed(const tb_frontier *f, int mi) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->rows[i].cfg->name, "exact") && f->rows[i].speed[mi].ok) return f->rows[i].speed[mi].r.decode_tok_s;
    return NAN;
}

void tb_frontier_print(FILE *out, const tb_frontier *f) {
    fprintf(out, "accuracy: %s on %s (%d chunk(s) of %d), against the scalar reference (PPL %.4f)\n", f->model[0],
            f->text, f->chunks, f->ctx, f->ref_ppl);
    for (int mi = 0; mi < f->n_models; mi++) {
        const double ex = exact_speed(f, mi);
        fprintf(out, "\nspeed on %s (%s)%s\n\n", f->model[mi], f->model_desc[mi],
                mi ? "; accuracy from the trained model" : "");
        fprintf(out, "| configuration | kernel | exact | decode tok/s | vs exact | prefill tok/s | MB/token | head MB | PPL | KL mean | KL max | top-1 | Pareto |\n");
        fprintf(out, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (int i = 0; i < f->n; i++) {
            const tb_frontier_row *r = &f->rows[i];
            fprintf(out, "| %s | %s | %s | ", r->cfg->name, r->kernel, r->exact ? "yes" : "no");
            if (r->speed[mi].ok) {
                const tb_e2e_result *e = &r->speed[mi].r;
                fprintf(out, "%.2f +- %.2f | %.3fx | %.1f | %.2f | %.2f | ", e->decode_tok_s, e->decode_tok_s_sd,
                        e->decode_tok_s / ex, e->prefill_tok_s, e->bytes_per_token / 1e6, e->lm_head_bytes / 1e6);
            } else {
                fprintf(out, "failed: %s | | | | | ", r->speed[mi].why);
            }
            if (r->has_acc)
                fprintf(out, "%.4f | %.3g | %.3g | %.4f | %s |\n", r->ppl, r->kl_mean, r->kl_max, r->top1,
                        r->speed[mi].pareto ? "yes" : "");
            else
                fprintf(out, "n/a | | | | |\n");
        }
        const int b = f->fastest_1pct[mi];
        if (b >= 0) {
            const tb_e2e_result *x = &f->rows[b].speed[mi].r;
            double exsd = 0;
            for (int i = 0; i < f->n; i++)
                if (!strcmp(f->rows[i].cfg->name, "exact") && f->rows[i].speed[mi].ok)
                    exsd = f->rows[i].speed[mi].r.decode_tok_s_sd;
            const bool noise = x->decode_tok_s - ex < 2.0 * sqrt(x->decode_tok_s_sd * x->decode_tok_s_sd + exsd * exsd);
            fprintf(out, "\nfastest at most 1%% above the reference's perplexity: %s, %.3fx the exact configuration's "
                         "decode speed%s\n", f->rows[b].cfg->name, x->decode_tok_s / ex,
                    noise ? " (within the run-to-run noise: under two standard deviations)" : "");
        }
    }
}

/* sweep_ppl.c: the sweep's perplexity step (see sweep_ppl.h). */
#include "sweep_ppl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "tokenizer.h"

int tb_model_tokenizer(const tb_model *m, const char *tok_json, tb_tokenizer **tok, tb_err *e) {
    if (m->gguf && tb_tokenizer_from_gguf(m->gguf, tok, e) == 0) return 0;
    if (m->tokenizer_json[0] && tb_tokenizer_load(m->tokenizer_json, tok, e) == 0) return 0;
    if (tok_json && tok_json[0]) return tb_tokenizer_load(tok_json, tok, e);
    return -1;
}

/* The backends: the reference first when cheap, then the kernels (exact kernels are
 * bit-identical to the reference: proven by the kernel checker's model check). */
static int open_backends(const tb_model *m, bool with_ref, bool big, const tb_kernel *best,
                         const tb_bench_kcheck *checks, int n_checks, int threads, tb_runner **runners,
                         const tb_backend **bes, tb_sweep_ppl *p, tb_err *e) {
    if (with_ref) {
        bes[p->n] = NULL;
        p->names[p->n++] = "ref";
    }
    const tb_kernel *cand[TB_SWEEP_PPL_MAX];
    int nc = 0;
    if (big && best) cand[nc++] = best;
    for (int i = 0; i < n_checks && nc < TB_SWEEP_PPL_MAX; i++) {
        if (strcmp(checks[i].status, "pass") != 0) continue;
        const tb_kernel *k = tb_kernel_find(checks[i].kernel);
        if (!k || k->on_device || (big && (k == best || k->isa == 0))) continue;
        cand[nc++] = k;
    }
    for (int i = 0; i < nc && p->n < TB_SWEEP_PPL_MAX; i++) {
        if (tb_runner_new(m, cand[i], threads, &runners[p->n], e) < 0) return -1;
        bes[p->n] = tb_runner_backend(runners[p->n]);
        p->names[p->n++] = cand[i]->name;
    }
    return 0;
}

void tb_sweep_ppl_run(const tb_model *m, const char *tok_json, bool with_ref, bool big, const tb_kernel *best,
                      const tb_bench_kcheck *checks, int n_checks, int threads,
                      void (*progress)(void *user, int backend, int chunk, int n_chunks, double ppl, double secs),
                      void *user, tb_sweep_ppl *p) {
    tb_tokenizer *tok = NULL;
    tb_runner *runners[TB_SWEEP_PPL_MAX] = {0};
    const tb_backend *bes[TB_SWEEP_PPL_MAX];
    char *text = NULL;
    size_t tlen = 0, nids = 0;
    int32_t *ids = NULL;
    tb_err te = {{0}};
    p->n = 0;
    snprintf(p->model, sizeof p->model, "%s", m->path);
    if (!p->text[0] || access(p->text, R_OK) != 0) {
        snprintf(p->why, sizeof p->why, "no text to score (%.400s)", p->text[0] ? p->text : "none given");
        return;
    }
    if (tb_model_tokenizer(m, tok_json, &tok, &te) < 0) {
        snprintf(p->why, sizeof p->why, "no tokenizer (%.400s)", te.msg);
        return;
    }
    if (tb_tokenizer_vocab(tok) != m->cfg.vocab) {
        snprintf(p->why, sizeof p->why, "tokenizer vocabulary %d != model vocabulary %d", tb_tokenizer_vocab(tok),
                 m->cfg.vocab);
    } else if (tb_read_file(p->text, &text, &tlen, &te) < 0 || tb_tokenize(tok, text, tlen, true, false, &ids, &nids, &te) < 0 ||
               open_backends(m, with_ref, big, best, checks, n_checks, threads, runners, bes, p, &te) < 0) {
        snprintf(p->why, sizeof p->why, "%.500s", te.msg);
        p->n = 0;
    } else if (p->n == 0) {
        snprintf(p->why, sizeof p->why, "no kernel to measure");
    } else {
        tb_ppl_opts po;
        memset(&po, 0, sizeof po);
        po.ctx = p->ctx;
        po.max_chunks = p->chunks;
        po.bos = m->cfg.bos;
        po.progress = progress;
        po.user = user;
        if (tb_ppl_run(m, ids, nids, bes, p->n, &po, p->res, &te) < 0) {
            snprintf(p->why, sizeof p->why, "%.500s", te.msg);
            p->n = 0;
        }
    }
    for (int i = 0; i < TB_SWEEP_PPL_MAX; i++) tb_runner_free(runners[i]);
    free(ids);
    free(text);
    tb_tokenizer_free(tok);
}

void tb_sweep_ppl_json(tb_jw *w, const char *setup_key, const char *rows_key, const tb_sweep_ppl *p) {
    tb_jw_obj_begin(w, setup_key);
    tb_jw_int(w, "ctx", p->ctx);
    tb_jw_int(w, "max_chunks", p->chunks);
    tb_jw_str(w, "text", p->text[0] ? p->text : NULL);
    tb_jw_str(w, "model", p->model[0] ? p->model : NULL);
    tb_jw_str(w, "why", p->why[0] ? p->why : NULL);
    tb_jw_str(w, "kl_reference", p->n > 0 ? p->names[0] : NULL);
    tb_jw_obj_end(w);
    tb_jw_arr_begin(w, rows_key);
    for (int i = 0; i < p->n; i++) {
        const tb_ppl_result *r = &p->res[i];
        tb_jw_obj_begin(w, NULL);
        tb_jw_str(w, "kernel", p->names[i]);
        tb_jw_num(w, "ppl", r->ppl);
        tb_jw_num(w, "ppl_stderr", r->ppl_err);
        tb_jw_num(w, "kl", i > 0 && r->has_kl ? r->kl_mean : (i == 0 ? 0.0 : NAN));
        tb_jw_num(w, "kl_max", i > 0 && r->has_kl ? r->kl_max : NAN);
        tb_jw_num(w, "top1", i > 0 && r->has_kl ? r->top1 : (i == 0 ? 1.0 : NAN));
        tb_jw_int(w, "tokens", r->n_scored);
        tb_jw_int(w, "chunks", r->n_chunks);
        tb_jw_num(w, "seconds", r->seconds);
        char fnv[20];
        snprintf(fnv, sizeof fnv, "%016llx", (unsigned long long)r->logits_fnv64);
        tb_jw_str(w, "logits_fnv64", fnv);
        tb_jw_str(w, "why", i == 0 ? "KL/top-1 reference" : NULL);
        tb_jw_obj_end(w);
    }
    tb_jw_arr_end(w);
}

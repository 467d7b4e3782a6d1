/* ppl.c: perplexity in llama-perplexity's convention (docs/numerics.md §4), KL divergence and
 * top-1 agreement between backends.  See ppl.h for the convention.
 *
 * Each chunk is evaluated in two forward calls: the unscored first half without
 * logits (it only fills the KV cache), then the second half with logits for every
 * position.  Same math as one batch; half the LM-head work and memory.
 * Log-softmax, NLL and KL are computed in double from the float logits.
 */
#include "ppl.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_hash.h"

int tb_ppl_n_chunks(size_t n_tokens, int ctx, int max_chunks, tb_err *e) {
    if (ctx < 4) return tb_fail(e, "perplexity: context %d is too small (at least 4)", ctx);
    if (n_tokens < 2 * (size_t)ctx)
        return tb_fail(e, "perplexity: the text has %zu tokens; at least %d (2 x context %d) are needed", n_tokens,
                       2 * ctx, ctx);
    size_t n = n_tokens / (size_t)ctx;
    if (max_chunks > 0 && (size_t)max_chunks < n) n = (size_t)max_chunks;
    if (n > 0x7fffffff) n = 0x7fffffff;
    return (int)n;
}

/* log(sum_v exp(row[v])) in double; *argmax gets the first index of the maximum. */
static double log_sum_exp(const float *row, int V, int *argmax) {
    int am = 0;
    float mx = row[0];
    for (int v = 1; v < V; v++)
        if (row[v] > mx) { mx = row[v]; am = v; }
    double s = 0;
    for (int v = 0; v < V; v++) s += exp((double)row[v] - (double)mx);
    *argmax = am;
    return (double)mx + log(s);
}

/* KL(P || Q) = sum_v p_v (log p_v - log q_v) for rows of logits p, q with log-partitions lp, lq. */
static double kl_div(const float *p, double lp, const float *q, double lq, int V) {
    double kl = 0;
    for (int v = 0; v < V; v++) {
        double a = (double)p[v] - lp, b = (double)q[v] - lq;
        kl += exp(a) * (a - b);
    }
    return kl > 0 ? kl : 0; /* exact KL is >= 0; rounding can leave -1e-17 */
}

/* Scoring of one chunk's rows, split over threads by row; results go to per-row
 * arrays and are summed in row order afterwards, so they do not depend on the thread
 * count. */
typedef struct score_job {
    const float *logits;   /* (n_score, vocab) rows of this backend */
    const int32_t *target; /* (n_score) token each row predicts */
    float *ref;            /* (n_score, vocab) backend 0's rows: written when store_ref, read when kl */
    double *ref_lz;        /* (n_score) */
    int *ref_arg;          /* (n_score) */
    double *nll, *kl;      /* (n_score) outputs */
    int *agree;            /* (n_score) outputs */
    int V, r0, r1;
    bool store_ref, do_kl;
} score_job;

static void *score_rows(void *arg) {
    score_job *j = arg;
    for (int r = j->r0; r < j->r1; r++) {
        const float *row = j->logits + (size_t)r * j->V;
        int am;
        double lz = log_sum_exp(row, j->V, &am);
        j->nll[r] = lz - (double)row[j->target[r]];
        if (j->store_ref) {
            memcpy(j->ref + (size_t)r * j->V, row, (size_t)j->V * sizeof *row);
            j->ref_lz[r] = lz;
            j->ref_arg[r] = am;
        }
        if (j->do_kl) {
            j->kl[r] = kl_div(j->ref + (size_t)r * j->V, j->ref_lz[r], row, lz, j->V);
            j->agree[r] = am == j->ref_arg[r];
        }
    }
    return NULL;
}

static void score_chunk(score_job base, int n_score, int threads) {
    enum { MAXT = 64 };
    pthread_t tid[MAXT];
    score_job jobs[MAXT];
    if (threads > MAXT) threads = MAXT;
    if (threads > n_score) threads = n_score;
    if (threads < 1) threads = 1;
    int started = 0;
    for (int t = 0; t < threads; t++) {
        jobs[t] = base;
        jobs[t].r0 = (int)((long)n_score * t / threads);
        jobs[t].r1 = (int)((long)n_score * (t + 1) / threads);
    }
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, score_rows, &jobs[t])) break;
        started = t;
    }
    score_rows(&jobs[0]);
    for (int t = 1; t <= started; t++) pthread_join(tid[t], NULL);
    for (int t = started + 1; t < threads; t++) score_rows(&jobs[t]); /* threads that failed to start */
}

typedef struct acc {
    double nll, nll2, kl, kl2, kl_max, seconds;
    long n, agree;
    uint64_t fnv;
} acc;

int tb_ppl_run(const tb_model *m, const int32_t *tokens, size_t n_tokens, const tb_backend *const *backends,
               int n_backends, const tb_ppl_opts *o, tb_ppl_result *res, tb_err *e) {
    if (n_backends < 1) return tb_fail(e, "perplexity: no backend");
    const int ctx = o->ctx, first = ctx / 2, n_score = ctx - 1 - first, V = m->cfg.vocab;
    int n_chunks = tb_ppl_n_chunks(n_tokens, ctx, o->max_chunks, e);
    if (n_chunks < 0) return -1;
    if (ctx > m->cfg.ctx)
        return tb_fail(e, "perplexity: context %d is longer than the model's %d", ctx, m->cfg.ctx);

    for (size_t i = 0; i < (size_t)n_chunks * ctx; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return tb_fail(e, "perplexity: token %d at position %zu is outside the model's vocabulary (%d)",
                           (int)tokens[i], i, V);

    tb_state *st = NULL;
    if (tb_state_new(m, ctx, ctx - first, &st, e)) return -1;
    int rc = -1;
    float *logits = malloc((size_t)(ctx - first) * V * sizeof *logits); /* (ctx - first, vocab) */
    float *ref = NULL;        /* (n_score, vocab) backend 0's scored rows, for KL */
    double *ref_lz = NULL;    /* (n_score) their log-partitions */
    int *ref_arg = NULL;      /* (n_score) their argmax */
    int32_t *chunk = malloc((size_t)ctx * sizeof *chunk); /* (ctx) */
    double *nll = malloc((size_t)n_score * sizeof *nll);   /* (n_score) per-row results */
    double *kl = malloc((size_t)n_score * sizeof *kl);     /* (n_score) */
    int *agree = malloc((size_t)n_score * sizeof *agree);  /* (n_score) */
    int threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    acc *a = calloc((size_t)n_backends, sizeof *a);
    for (int b = 0; a && b < n_backends; b++) a[b].fnv = TB_FNV64_INIT;
    if (n_backends > 1) {
        ref = malloc((size_t)n_score * V * sizeof *ref);
        ref_lz = malloc((size_t)n_score * sizeof *ref_lz);
        ref_arg = malloc((size_t)n_score * sizeof *ref_arg);
    }
    if (!logits || !chunk || !a || !nll || !kl || !agree || (n_backends > 1 && (!ref || !ref_lz || !ref_arg))) {
        tb_fail(e, "perplexity: out of memory (context %d, vocabulary %d)", ctx, V);
        goto done;
    }

    for (int c = 0; c < n_chunks; c++) {
        memcpy(chunk, tokens + (size_t)c * ctx, (size_t)ctx * sizeof *chunk);
        if (o->bos >= 0) chunk[0] = o->bos;
        for (int b = 0; b < n_backends; b++) {
            const tb_backend *be = backends[b];
            const char *name = be ? be->name : "ref";
            double t0 = tb_now();
            if (tb_state_set_numerics(st, o->numerics ? o->numerics[b] : NULL, e)) goto done; /* also resets */
            if (tb_forward(st, be, chunk, first, 0, NULL, false, e) ||
                tb_forward(st, be, chunk + first, ctx - first, first, logits, true, e))
                goto done;
            score_job job = {logits, chunk + first + 1, ref, ref_lz, ref_arg, nll, kl, agree, V, 0, 0,
                             n_backends > 1 && b == 0, b > 0};
            a[b].fnv = tb_fnv64(a[b].fnv, logits, (size_t)n_score * V * sizeof *logits);
            score_chunk(job, n_score, threads);
            for (int j = 0; j < n_score; j++) {
                if (!isfinite(nll[j])) {
                    tb_fail(e, "perplexity: %s gave non-finite logits in chunk %d at position %d", name, c, first + j);
                    goto done;
                }
                a[b].nll += nll[j];
                a[b].nll2 += nll[j] * nll[j];
                a[b].n++;
                if (b > 0) {
                    a[b].kl += kl[j];
                    a[b].kl2 += kl[j] * kl[j];
                    if (kl[j] > a[b].kl_max) a[b].kl_max = kl[j];
                    a[b].agree += agree[j];
                }
            }
            a[b].seconds += tb_now() - t0;
            if (o->progress) o->progress(o->user, b, c + 1, n_chunks, exp(a[b].nll / a[b].n), a[b].seconds);
        }
    }

    for (int b = 0; b < n_backends; b++) {
        tb_ppl_result *r = &res[b];
        memset(r, 0, sizeof *r);
        double n = (double)a[b].n, mean = a[b].nll / n, var = a[b].nll2 / n - mean * mean;
        r->mean_nll = mean;
        r->nll_err = var > 0 && n > 1 ? sqrt(var / (n - 1)) : 0;
        r->ppl = exp(mean);
        r->ppl_err = r->ppl * r->nll_err;
        r->n_scored = a[b].n;
        r->n_chunks = n_chunks;
        r->seconds = a[b].seconds;
        r->logits_fnv64 = a[b].fnv;
        if (b > 0) {
            double km = a[b].kl / n, kv = a[b].kl2 / n - km * km;
            r->has_kl = true;
            r->kl_mean = km;
            r->kl_err = kv > 0 && n > 1 ? sqrt(kv / (n - 1)) : 0;
            r->kl_max = a[b].kl_max;
            r->top1 = (double)a[b].agree / n;
        }
    }
    rc = 0;
done:
    tb_state_free(st);
    free(logits);
    free(ref);
    free(ref_lz);
    free(ref_arg);
    free(chunk);
    free(nll);
    free(kl);
    free(agree);
    free(a);
    return rc;
}

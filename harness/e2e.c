/* e2e.c: end-to-end prefill/decode speed, memory and bytes per token of a
 * kernel on a whole model (through kernels/runner.h and tb_forward). */
#include "e2e.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "numcfg.h"
#include "results.h"
#include "runner.h"

void tb_e2e_rss(double *rss, double *hwm) {
    *rss = NAN;
    *hwm = NAN;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        long long kb;
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1) *rss = (double)kb * 1024;
        else if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) *hwm = (double)kb * 1024;
    }
    fclose(f);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static double mean_sd(const double *v, int n, double *sd) {
    double m = 0, ss = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    for (int i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
    return m;
}

/* The end-to-end backend for kernel k (NULL: the reference): a CPU runner (run), or the
 * kernel's own device backend (*dev, closed with k->device->e2e_close). */
static int open_backend(const tb_model *m, const tb_kernel *k, int threads, tb_runner **run, void **dev,
                        const tb_backend **be, tb_e2e_result *r, tb_err *e) {
    *be = NULL;
    if (!k) {
        r->weight_bytes = (double)tb_model_ternary_bytes(m);
        return 0;
    }
    if (k->on_device) {
        if (!k->device || !k->device->e2e_open)
            return tb_fail(e, "e2e: on-device kernel %s brings no end-to-end backend (tb_device_hooks.e2e_open)",
                           k->name);
        r->threads = 1;
        return k->device->e2e_open(m, dev, be, &r->weight_bytes, e);
    }
    if (tb_runner_new(m, k, threads, run, e) < 0) return -1;
    *be = tb_runner_backend(*run);
    r->weight_bytes = (double)tb_runner_packed_bytes(*run);
    return 0;
}

/* One prefill of the prompt from position 0, then n_decode greedy tokens after it.
 * lat (n_decode): each decode step's seconds; prof: NULL (warm-up) or the two breakdowns.
 * Returns the tokens decoded (< n_decode when stopped early), or -1. */
static int one_run(tb_state *st, const tb_backend *be, const tb_e2e_opts *o, const int32_t *prompt, int n_decode,
                   float *logits, int vocab, double *prefill_s, double *lat, tb_e2e_result *r, bool measured,
                   tb_err *e) {
    tb_state_reset(st);
    tb_state_set_profile(st, measured ? &r->prof_prefill : NULL);
    double t0 = tb_now();
    if (tb_forward(st, be, prompt, o->n_prompt, 0, logits, false, e) < 0) return -1;
    *prefill_s = tb_now() - t0;
    int32_t tok = argmax(logits, vocab);
    r->first_token = tok;
    tb_state_set_profile(st, measured ? &r->prof_decode : NULL);
    const double d0 = tb_now();
    for (int i = 0; i < n_decode; i++) {
        const double a = tb_now();
        if (tb_forward(st, be, &tok, 1, o->n_prompt + i, logits, false, e) < 0) return -1;
        lat[i] = tb_now() - a;
        tok = argmax(logits, vocab);
        if (measured && o->progress) o->progress(o->user, i + 1, n_decode, tb_now() - d0);
        if (measured && o->max_decode_seconds > 0 && i + 1 >= 2 && i + 1 < n_decode &&
            tb_now() - d0 > o->max_decode_seconds)
            return i + 1;
    }
    tb_state_set_profile(st, NULL);
    return n_decode;
}

/* Latency statistics over every measured decode step (lat: n values, sorted here). */
static void latency_stats(double *lat, int n, tb_e2e_result *r) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += lat[i];
    r->ms_per_token_mean = 1e3 * sum / n;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    r->ms_per_token_median = 1e3 * (n % 2 ? lat[n / 2] : 0.5 * (lat[n / 2 - 1] + lat[n / 2]));
    r->ms_per_token_min = 1e3 * lat[0];
    r->ms_per_token_max = 1e3 * lat[n - 1];
}

/* Bytes per decoded token and the achieved rate (see e2e.h). */
static void byte_stats(const tb_model *m, const tb_e2e_opts *o, double head_bytes, tb_e2e_result *r) {
    const tb_config *c = &m->cfg;
    const int n = r->n_decode;
    r->lm_head_bytes = head_bytes;
    r->weight_params = 0;
    for (int l = 0; l < c->layers; l++)
        for (int w = 0; w < TB_LIN_COUNT; w++) r->weight_params += (double)m->layer[l].lin[w].rows * m->layer[l].lin[w].cols;
    /* KV cache: decoding position p reads p+1 keys and values per layer. */
    const double per_pos = tb_kv_bytes_per_pos((tb_kv_fmt)r->kv_fmt, c->kv_heads, c->head_dim);
    double kv = 0;
    for (int i = 0; i < n; i++) kv += c->layers * per_pos * (o->n_prompt + i + 1);
    r->kv_bytes_per_token = kv / n;
    r->bytes_per_token = r->weight_bytes + r->lm_head_bytes + r->kv_bytes_per_token;
    r->achieved_gbps = r->bytes_per_token * r->decode_tok_s / 1e9;
    r->roofline_frac = o->bw_gbps > 0 ? r->achieved_gbps / o->bw_gbps : NAN;
}

int tb_e2e_run(const tb_model *m, const tb_kernel *k, const tb_e2e_opts *o, tb_e2e_result *r, tb_err *e) {
    memset(r, 0, sizeof *r);
    const tb_config *c = &m->cfg;
    const int reps = o->reps > 0 ? o->reps : 1;
    if (o->threads < 1) return tb_fail(e, "e2e: threads must be >= 1");
    if (o->n_prompt < 1 || o->n_decode < 1) return tb_fail(e, "e2e: need >= 1 prompt and >= 1 decode token");
    if (reps > 1000) return tb_fail(e, "e2e: %d repetitions (at most 1000)", reps);
    if (o->n_prompt + o->n_decode > c->ctx)
        return tb_fail(e, "e2e: %d prompt + %d decode tokens exceed the model context %d", o->n_prompt, o->n_decode,
                       c->ctx);
    snprintf(r->kernel, sizeof r->kernel, "%s", k ? k->name : "ref");
    const tb_numcfg *cfg = o->config ? o->config : tb_numcfg_find("exact");
    snprintf(r->config, sizeof r->config, "%s", cfg->name);
    r->exact = tb_numcfg_exact(cfg, k);
    r->kv_fmt = (int)cfg->kv;
    tb_numcfg_run crun = {0};
    r->threads = k ? o->threads : 1;
    r->n_prompt = o->n_prompt;
    r->n_decode = o->n_decode;
    r->reps = reps;
    r->warmup = !o->no_warmup;

    tb_runner *run = NULL;
    void *dev = NULL;
    tb_state *st = NULL;
    const tb_backend *be = NULL;
    int32_t *prompt = malloc(sizeof *prompt * (size_t)o->n_prompt);
    float *logits = malloc(sizeof *logits * (size_t)c->vocab);           /* (vocab) last token only */
    double *lat = malloc(sizeof *lat * (size_t)o->n_decode * (size_t)reps); /* (reps, n_decode) seconds */
    double *pre = malloc(sizeof *pre * (size_t)reps), *dec = malloc(sizeof *dec * (size_t)reps); /* (reps) tok/s */
    int rc = 0;
    if (!prompt || !logits || !lat || !pre || !dec) {
        rc = tb_fail(e, "e2e: out of memory");
        goto done;
    }
    if (open_backend(m, k, o->threads, &run, &dev, &be, r, e) < 0 ||
        tb_state_new(m, o->n_prompt + o->n_decode, o->n_prompt, &st, e) < 0 || tb_numcfg_open(cfg, m, &crun, e) < 0 ||
        tb_state_set_numerics(st, &crun.nx, e) < 0) {
        rc = -1;
        goto done;
    }
    tb_rng rng;
    tb_rng_seed(&rng, o->seed);
    int lo = c->vocab > 1000 ? 1000 : 0; /* ordinary ids, away from byte tokens and specials */
    int hi = c->vocab > 128000 ? 128000 : c->vocab;
    for (int i = 0; i < o->n_prompt; i++) prompt[i] = lo + (int32_t)tb_rng_below(&rng, (uint32_t)(hi - lo));
    if (c->bos >= 0 && c->bos < c->vocab) prompt[0] = c->bos;

    double ps;
    if (r->warmup && one_run(st, be, o, prompt, 1, logits, c->vocab, &ps, lat, r, false, e) < 0) {
        rc = -1;
        goto done;
    }
    int nd = o->n_decode, total = 0;
    for (int rep = 0; rep < reps; rep++) {
        const double d0 = tb_now();
        const int got = one_run(st, be, o, prompt, nd, logits, c->vocab, &ps, lat + total, r, true, e);
        if (got < 0) {
            rc = -1;
            goto done;
        }
        const double ds = tb_now() - d0 - ps;
        if (got < nd) r->stopped_early = true, nd = got; /* later repetitions decode as many */
        pre[rep] = o->n_prompt / ps;
        dec[rep] = got / ds;
        r->prefill_s += ps / reps;
        r->decode_s += ds / reps;
        total += got;
    }
    r->n_decode = nd;
    r->prefill_tok_s = mean_sd(pre, reps, &r->prefill_tok_s_sd);
    r->decode_tok_s = mean_sd(dec, reps, &r->decode_tok_s_sd);
    latency_stats(lat, total, r);
    byte_stats(m, o, crun.head_bytes, r);
    tb_e2e_rss(&r->rss_bytes, &r->hwm_bytes);
done:
    tb_state_free(st);
    tb_numcfg_close(&crun);
    tb_runner_free(run);
    if (dev) k->device->e2e_close(dev);
    free(prompt);
    free(logits);
    free(lat);
    free(pre);
    free(dec);
    return rc;
}

/* ---- the time breakdown ---------------------------------------------------- */

/* What one part moved per step, for its achieved rate: bytes (GB/s) or operations
 * (GOPS); 0 when the part has no natural rate. */
static double part_work(const tb_e2e_result *r, int part, bool prefill, const char **unit) {
    *unit = "GB/s";
    switch (part) {
    case TB_PROF_TERNARY:
        if (!prefill) return r->weight_bytes;
        *unit = "GOPS"; /* 2 ops (multiply, add) per ternary weight and token */
        return 2.0 * r->weight_params * r->n_prompt;
    case TB_PROF_LM_HEAD: return r->lm_head_bytes; /* one row of logits either way */
    case TB_PROF_ATTENTION: return prefill ? 0.0 : r->kv_bytes_per_token;
    default: *unit = ""; return 0.0;
    }
}

static void write_profile(struct tb_jw *w, const char *key, const tb_e2e_result *r, const tb_profile *p, bool prefill) {
    const double steps = p->calls > 0 ? (double)p->calls : 1.0;
    tb_jw_obj_begin(w, key);
    tb_jw_str(w, "per", prefill ? "prefill batch" : "decode step");
    tb_jw_num(w, "ms_total", 1e3 * p->total / steps);
    for (int i = 0; i < TB_PROF_COUNT; i++) {
        const char *unit;
        const double work = part_work(r, i, prefill, &unit), sec = p->seconds[i] / steps;
        tb_jw_obj_begin(w, tb_prof_name(i));
        tb_jw_num(w, "ms", 1e3 * sec);
        tb_jw_num(w, "share", p->total > 0 ? p->seconds[i] / p->total : NAN);
        if (work > 0 && sec > 0) {
            tb_jw_num(w, "rate", work / sec / 1e9);
            tb_jw_str(w, "rate_unit", unit);
        }
        tb_jw_obj_end(w);
    }
    tb_jw_obj_end(w);
}

static void print_profile(FILE *f, const char *title, const tb_e2e_result *r, const tb_profile *p, bool prefill) {
    const double steps = p->calls > 0 ? (double)p->calls : 1.0;
    fprintf(f, "%-10s %8.2f ms per %s\n", title, 1e3 * p->total / steps, prefill ? "prefill batch" : "decode step");
    for (int i = 0; i < TB_PROF_COUNT; i++) {
        const char *unit;
        const double work = part_work(r, i, prefill, &unit), sec = p->seconds[i] / steps;
        fprintf(f, "  %-11s %8.3f ms %5.1f%%", tb_prof_name(i), 1e3 * sec, p->total > 0 ? 100 * p->seconds[i] / p->total : 0);
        if (work > 0 && sec > 0) fprintf(f, "  %7.2f %s", work / sec / 1e9, unit);
        fputc('\n', f);
    }
}

void tb_e2e_print_breakdown(FILE *f, const tb_e2e_result *r) {
    print_profile(f, "breakdown", r, &r->prof_decode, false);
    print_profile(f, "breakdown", r, &r->prof_prefill, true);
}

void tb_e2e_write(struct tb_jw *w, const tb_e2e_result *r) { tb_e2e_write_key(w, NULL, r); }

void tb_e2e_write_key(struct tb_jw *w, const char *key, const tb_e2e_result *r) {
    tb_jw_obj_begin(w, key);
    tb_jw_str(w, "kernel", r->kernel);
    tb_jw_str(w, "config", r->config);
    tb_jw_bool(w, "exact", r->exact);
    tb_jw_int(w, "threads", r->threads);
    tb_jw_int(w, "n_prompt", r->n_prompt);
    tb_jw_int(w, "n_decode", r->n_decode);
    tb_jw_bool(w, "stopped_early", r->stopped_early);
    tb_jw_num(w, "prefill_s", r->prefill_s);
    tb_jw_num(w, "prefill_tok_s", r->prefill_tok_s);
    tb_jw_num(w, "prefill_tok_s_sd", r->prefill_tok_s_sd);
    tb_jw_num(w, "decode_s", r->decode_s);
    tb_jw_num(w, "decode_tok_s", r->decode_tok_s);
    tb_jw_num(w, "decode_tok_s_sd", r->decode_tok_s_sd);
    tb_jw_int(w, "reps", r->reps);
    tb_jw_bool(w, "warmup", r->warmup);
    tb_jw_str(w, "kv_cache", tb_kv_fmt_name((tb_kv_fmt)r->kv_fmt));
    tb_jw_num(w, "ms_per_token", r->ms_per_token_mean);
    tb_jw_num(w, "ms_per_token_median", r->ms_per_token_median);
    tb_jw_num(w, "ms_per_token_min", r->ms_per_token_min);
    tb_jw_num(w, "ms_per_token_max", r->ms_per_token_max);
    tb_jw_num(w, "weight_bytes", r->weight_bytes);
    tb_jw_num(w, "lm_head_bytes", r->lm_head_bytes);
    tb_jw_num(w, "kv_bytes_per_token", r->kv_bytes_per_token);
    tb_jw_num(w, "bytes_per_token", r->bytes_per_token);
    tb_jw_num(w, "achieved_gbps", r->achieved_gbps);
    tb_jw_num(w, "roofline_frac", r->roofline_frac);
    tb_jw_num(w, "rss_bytes", r->rss_bytes);
    tb_jw_num(w, "hwm_bytes", r->hwm_bytes);
    tb_jw_int(w, "first_token", r->first_token);
    tb_jw_obj_begin(w, "breakdown");
    write_profile(w, "decode", r, &r->prof_decode, false);
    write_profile(w, "prefill", r, &r->prof_prefill, true);
    tb_jw_obj_end(w);
    tb_jw_null(w, "why");
    tb_jw_obj_end(w);
}

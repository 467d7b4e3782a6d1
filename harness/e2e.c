/* e2e.c: end-to-end prefill/decode speed, memory and bytes per token of a
 * kernel on a whole model (through kernels/runner.h and tb_forward). */
#include "e2e.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/tb_cuda.h"
#include "forward.h"
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

int tb_e2e_run(const tb_model *m, const tb_kernel *k, const tb_e2e_opts *o, tb_e2e_result *r, tb_err *e) {
    memset(r, 0, sizeof *r);
    const tb_config *c = &m->cfg;
    if (o->threads < 1) return tb_fail(e, "e2e: threads must be >= 1");
    if (o->n_prompt < 1 || o->n_decode < 1) return tb_fail(e, "e2e: need >= 1 prompt and >= 1 decode token");
    if (o->n_prompt + o->n_decode > c->ctx)
        return tb_fail(e, "e2e: %d prompt + %d decode tokens exceed the model context %d", o->n_prompt, o->n_decode,
                       c->ctx);
    snprintf(r->kernel, sizeof r->kernel, "%s", k ? k->name : "ref");
    r->threads = k ? o->threads : 1;
    r->n_prompt = o->n_prompt;
    r->n_decode = o->n_decode;

    tb_runner *run = NULL;
    tb_state *st = NULL;
    int32_t *prompt = malloc(sizeof *prompt * (size_t)o->n_prompt);
    float *logits = malloc(sizeof *logits * (size_t)c->vocab); /* (vocab) last token only */
    double *lat = malloc(sizeof *lat * (size_t)o->n_decode);   /* (n_decode) seconds */
    int rc = 0;
    if (!prompt || !logits || !lat) {
        rc = tb_fail(e, "e2e: out of memory");
        goto done;
    }
    const tb_backend *be = NULL;
    tb_cuda_backend *cb = NULL;
    if (k && k->on_device) {
        /* The GPU path: every ternary linear resident on the device (tb_cuda.h). */
        if (strncmp(k->name, "gemv_w2a8", 9) != 0) {
            rc = tb_fail(e, "e2e: no end-to-end backend for on-device kernel %s", k->name);
            goto done;
        }
        if (tb_cuda_backend_new(m, false, &cb, e) < 0) {
            rc = -1;
            goto done;
        }
        be = tb_cuda_backend_get(cb);
        r->weight_bytes = (double)tb_cuda_backend_bytes(cb);
        r->threads = 1;
    } else if (k) {
        if (tb_runner_new(m, k, o->threads, &run, e) < 0) {
            rc = -1;
            goto done;
        }
        be = tb_runner_backend(run);
        r->weight_bytes = (double)tb_runner_packed_bytes(run);
    } else {
        r->weight_bytes = (double)tb_model_ternary_bytes(m);
    }
    if (tb_state_new(m, o->n_prompt + o->n_decode, o->n_prompt, &st, e) < 0) {
        rc = -1;
        goto done;
    }
    tb_rng rng;
    tb_rng_seed(&rng, o->seed);
    int lo = c->vocab > 1000 ? 1000 : 0; /* ordinary ids, away from byte tokens and specials */
    int hi = c->vocab > 128000 ? 128000 : c->vocab;
    for (int i = 0; i < o->n_prompt; i++) prompt[i] = lo + (int32_t)tb_rng_below(&rng, (uint32_t)(hi - lo));
    if (c->bos >= 0 && c->bos < c->vocab) prompt[0] = c->bos;

    /* Prefill: the whole prompt in one batched forward pass. */
    double t0 = tb_now();
    if (tb_forward(st, be, prompt, o->n_prompt, 0, logits, false, e) < 0) {
        rc = -1;
        goto done;
    }
    r->prefill_s = tb_now() - t0;
    r->prefill_tok_s = o->n_prompt / r->prefill_s;

    /* Decode: greedy, one token per forward pass. */
    int32_t tok = argmax(logits, c->vocab);
    r->first_token = tok;
    double d0 = tb_now();
    for (int i = 0; i < o->n_decode; i++) {
        double a = tb_now();
        if (tb_forward(st, be, &tok, 1, o->n_prompt + i, logits, false, e) < 0) {
            rc = -1;
            goto done;
        }
        lat[i] = tb_now() - a;
        tok = argmax(logits, c->vocab);
        if (o->progress) o->progress(o->user, i + 1, o->n_decode, tb_now() - d0);
        if (o->max_decode_seconds > 0 && i + 1 >= 2 && i + 1 < o->n_decode && tb_now() - d0 > o->max_decode_seconds) {
            r->n_decode = i + 1;
            r->stopped_early = true;
            break;
        }
    }
    r->decode_s = tb_now() - d0;
    int n = r->n_decode;
    r->decode_tok_s = n / r->decode_s;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += lat[i];
    r->ms_per_token_mean = 1e3 * sum / n;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    r->ms_per_token_median = 1e3 * (n % 2 ? lat[n / 2] : 0.5 * (lat[n / 2 - 1] + lat[n / 2]));
    r->ms_per_token_min = 1e3 * lat[0];
    r->ms_per_token_max = 1e3 * lat[n - 1];

    r->lm_head_bytes = (double)tb_model_embd_bytes(m);
    /* KV cache: decoding position p reads p+1 keys and values per layer (f32). */
    double kv_dim = (double)c->kv_heads * c->head_dim, kv = 0;
    for (int i = 0; i < n; i++) kv += 2.0 * c->layers * kv_dim * (o->n_prompt + i + 1) * sizeof(float);
    r->kv_bytes_per_token = kv / n;
    r->bytes_per_token = r->weight_bytes + r->lm_head_bytes + r->kv_bytes_per_token;
    r->achieved_gbps = r->bytes_per_token * r->decode_tok_s / 1e9;
    r->roofline_frac = o->bw_gbps > 0 ? r->achieved_gbps / o->bw_gbps : NAN;
    tb_e2e_rss(&r->rss_bytes, &r->hwm_bytes);
done:
    tb_state_free(st);
    tb_runner_free(run);
    tb_cuda_backend_free(cb);
    free(prompt);
    free(logits);
    free(lat);
    return rc;
}

void tb_e2e_write(struct tb_jw *w, const tb_e2e_result *r) {
    tb_jw_obj_begin(w, NULL);
    tb_jw_str(w, "kernel", r->kernel);
    tb_jw_int(w, "threads", r->threads);
    tb_jw_int(w, "n_prompt", r->n_prompt);
    tb_jw_int(w, "n_decode", r->n_decode);
    tb_jw_bool(w, "stopped_early", r->stopped_early);
    tb_jw_num(w, "prefill_s", r->prefill_s);
    tb_jw_num(w, "prefill_tok_s", r->prefill_tok_s);
    tb_jw_num(w, "decode_s", r->decode_s);
    tb_jw_num(w, "decode_tok_s", r->decode_tok_s);
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
    tb_jw_null(w, "why");
    tb_jw_obj_end(w);
}

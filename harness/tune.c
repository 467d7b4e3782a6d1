/* tune.c: measured kernel choice per thread count (tune.h). */
#include "tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "driver.h"
#include "json.h"
#include "results.h"
#include "sweep.h"

/* one decode layer of 2B4T: q, o (2560x2560), k, v (640x2560), gate, up (6912x2560), down */
static const struct { const char *shape; int rows, cols, count; } layer[] = {
    {"qo", 2560, 2560, 2}, {"kv", 640, 2560, 2}, {"gateup1", 6912, 2560, 2}, {"down", 2560, 6912, 1}};
enum { N_LAYER_SHAPES = 4 };

void tb_tune_signature(char *buf, size_t n) {
    tb_provenance p;
    tb_provenance_collect(&p);
    unsigned long h = 5381; /* the registry's names: a new or renamed kernel invalidates the cache */
    for (int i = 0; i < tb_n_kernels; i++)
        for (const char *s = tb_kernels[i]->name; *s; s++) h = h * 33 + (unsigned char)*s;
    snprintf(buf, n, "%s | %s | %d cores | registry %d kernels %08lx", p.cpu_model, p.cpu_flags, tb_ncores(),
             tb_n_kernels, h & 0xffffffffUL);
}

/* Layer time in seconds of kernel k at `threads` from the bench rows, or NAN if any shape was not timed. */
static double layer_seconds(const tb_bench_row *rows, int n, const char *k, int threads) {
    double s = 0;
    for (int j = 0; j < N_LAYER_SHAPES; j++) {
        double t = NAN;
        for (int i = 0; i < n; i++)
            if (rows[i].timed && rows[i].threads == threads && !strcmp(rows[i].kernel, k) &&
                rows[i].rows == layer[j].rows && rows[i].cols == layer[j].cols)
                t = rows[i].seconds;
        if (!(t == t)) return NAN;
        s += layer[j].count * t;
    }
    return s;
}

/* Fastest and second fastest exact CPU kernel at `threads`. */
static void pick_best(const tb_bench_row *rows, int n, int threads, tb_tune_pick *p) {
    memset(p, 0, sizeof *p);
    p->threads = threads;
    p->layer_ms = p->runner_up_ms = NAN;
    for (int i = 0; i < tb_n_kernels; i++) {
        const tb_kernel *k = tb_kernels[i];
        if (!k->exact || k->on_device) continue;
        const double ms = 1e3 * layer_seconds(rows, n, k->name, threads);
        if (!(ms == ms)) continue;
        if (!p->best[0] || ms < p->layer_ms) {
            snprintf(p->runner_up, sizeof p->runner_up, "%s", p->best);
            p->runner_up_ms = p->layer_ms;
            snprintf(p->best, sizeof p->best, "%s", k->name);
            p->layer_ms = ms;
        } else if (!p->runner_up[0] || ms < p->runner_up_ms) {
            snprintf(p->runner_up, sizeof p->runner_up, "%s", k->name);
            p->runner_up_ms = ms;
        }
    }
}

int tb_tune_run(const tb_tune_opts *o, tb_tune_result *r, tb_err *e) {
    memset(r, 0, sizeof *r);
    if (o->n_threads < 1 || o->n_threads > TB_TUNE_MAX_THREADS)
        return tb_fail(e, "tune: 1..%d thread counts", TB_TUNE_MAX_THREADS);
    tb_tune_signature(r->signature, sizeof r->signature);
    tb_bench_shape shapes[N_LAYER_SHAPES];
    for (int j = 0; j < N_LAYER_SHAPES; j++)
        if (tb_bench_shape_parse(layer[j].shape, &shapes[j], e) < 0) return -1;
    tb_bench_config c;
    tb_bench_config_default(&c);
    c.kernel_glob = o->kernel_glob;
    c.isa_mask = o->isa_mask;
    c.shapes = shapes;
    c.n_shapes = N_LAYER_SHAPES;
    c.threads = o->threads;
    c.n_threads = o->n_threads;
    c.use_gbench = false; /* the harness's own timer: median of reps */
    c.reps = o->reps > 0 ? o->reps : 3;
    c.min_time = 0.05;
    c.progress = o->progress;
    c.progress_user = o->user;
    tb_bench_row *rows = NULL;
    int n = 0;
    if (tb_bench_run(&c, &rows, &n, e) < 0) return -1;
    r->n = o->n_threads;
    for (int t = 0; t < o->n_threads; t++) pick_best(rows, n, o->threads[t], &r->pick[t]);
    free(rows);
    return 0;
}

int tb_tune_cache_path(char *buf, size_t n, tb_err *e) {
    char dir[1024];
    if (tb_cache_dir(dir, sizeof dir, e) < 0) return -1;
    const int w = snprintf(buf, n, "%s/tune.json", dir);
    if (w < 0 || (size_t)w >= n) return tb_fail(e, "tune: cache path too long");
    return 0;
}

int tb_tune_save(const tb_tune_result *r, const char *path, tb_err *e) {
    tb_jw w;
    tb_jw_begin_result(&w, "ternbench tune");
    tb_jw_str(&w, "signature", r->signature);
    tb_jw_arr_begin(&w, "picks");
    for (int i = 0; i < r->n; i++) {
        const tb_tune_pick *p = &r->pick[i];
        tb_jw_obj_begin(&w, NULL);
        tb_jw_int(&w, "threads", p->threads);
        tb_jw_str(&w, "best", p->best);
        tb_jw_num(&w, "layer_ms", p->layer_ms);
        tb_jw_str(&w, "runner_up", p->runner_up);
        tb_jw_num(&w, "runner_up_ms", p->runner_up_ms);
        tb_jw_obj_end(&w);
    }
    tb_jw_arr_end(&w);
    tb_jw_obj_end(&w);
    const int rc = tb_jw_save(&w, path, e);
    tb_jw_free(&w);
    return rc;
}

int tb_tune_load(const char *path, tb_tune_result *r, tb_err *e) {
    memset(r, 0, sizeof *r);
    char *text = NULL;
    size_t size = 0;
    if (tb_read_file(path, &text, &size, e) < 0) return -1;
    tb_json *j = tb_json_parse(text, size, e);
    free(text);
    if (!j) return -1;
    const char *sig = tb_json_get_str(j, "signature");
    const tb_json *picks = tb_json_get(j, "picks");
    int rc = 0;
    if (!sig || !picks || picks->type != TB_JSON_ARRAY) {
        rc = tb_fail(e, "%s: not a tune cache (no signature / picks)", path);
    } else {
        snprintf(r->signature, sizeof r->signature, "%s", sig);
        for (size_t i = 0; i < picks->len && r->n < TB_TUNE_MAX_THREADS; i++) {
            const tb_json *p = tb_json_at(picks, i);
            const char *best = tb_json_get_str(p, "best");
            const double th = tb_json_get_num(p, "threads", -1);
            if (!best || !(th >= 1 && th <= TB_POOL_MAX)) continue;
            tb_tune_pick *q = &r->pick[r->n++];
            q->threads = (int)th;
            snprintf(q->best, sizeof q->best, "%s", best);
            q->layer_ms = tb_json_get_num(p, "layer_ms", NAN);
        }
    }
    tb_json_free(j);
    return rc;
}

const tb_kernel *tb_tune_best(unsigned mask, int threads, char *why, size_t n) {
    char path[1100], sig[400], buf[200];
    tb_err e;
    tb_tune_result r;
    if (!why) why = buf, n = sizeof buf;
    const char *off = getenv("TERNBENCH_NO_TUNE");
    if (off && *off && strcmp(off, "0")) {
        snprintf(why, n, "static priority (TERNBENCH_NO_TUNE is set)");
        return NULL;
    }
    if (tb_tune_cache_path(path, sizeof path, &e) < 0 || tb_tune_load(path, &r, &e) < 0) {
        snprintf(why, n, "static priority (no tune cache: run `ternbench tune`)");
        return NULL;
    }
    tb_tune_signature(sig, sizeof sig);
    if (strcmp(sig, r.signature)) {
        snprintf(why, n, "static priority (%s was tuned on another machine or registry)", path);
        return NULL;
    }
    const tb_tune_pick *best = NULL;
    for (int i = 0; i < r.n; i++)
        if (r.pick[i].threads <= threads && (!best || r.pick[i].threads > best->threads)) best = &r.pick[i];
    const tb_kernel *k = best ? tb_kernel_find(best->best) : NULL;
    if (!k || !k->exact || k->on_device || !tb_kernel_supported(k, mask, NULL)) {
        snprintf(why, n, "static priority (no usable tuned kernel for %d threads under this --isa-max)", threads);
        return NULL;
    }
    snprintf(why, n, "tuned on this machine at %d thread%s (%s)", best->threads, best->threads > 1 ? "s" : "", path);
    return k;
}

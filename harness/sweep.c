/* sweep.c: the main job (bandwidth -> kernel checker + benchmarks -> end-to-end
 * -> perplexity -> modelled energy -> paper table -> results.json) and the
 * synthetic-model cache.  The paper table is built in paper.c. */
#include "sweep.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "counters.h"
#include "driver.h"
#include "model_prov.h"
#include "ppl.h"
#include "results.h"
#include "roofline.h"
#include "runner.h"
#include "frontier.h"
#include "sweep_ppl.h"
#include "synth.h"
#include "tb_hash.h"
#include "tokenizer.h"

/* ---- cache ------------------------------------------------------------------------ */

int tb_cache_dir(char *buf, size_t n, tb_err *e) {
    const char *env = getenv("TERNBENCH_CACHE");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int w;
    if (env && *env) w = snprintf(buf, n, "%s", env);
    else if (xdg && *xdg) w = snprintf(buf, n, "%s/ternbench", xdg);
    else if (home && *home) w = snprintf(buf, n, "%s/.cache/ternbench", home);
    else return tb_fail(e, "cache: set TERNBENCH_CACHE (no XDG_CACHE_HOME or HOME)");
    if (w < 0 || (size_t)w >= n) return tb_fail(e, "cache: path too long");
    return tb_mkdir_p(buf, e);
}

typedef struct synth_prog {
    void (*fn)(void *, const char *);
    void *user;
    double last;
} synth_prog;

static void on_synth(void *ctx, const char *tensor, uint64_t done, uint64_t total) {
    synth_prog *p = ctx;
    double now = tb_now();
    if (!p->fn || (now - p->last < 2.0 && done < total)) return;
    p->last = now;
    char line[256];
    snprintf(line, sizeof line, "synth: %.0f%% (%s)", total ? 100.0 * (double)done / (double)total : 100.0, tensor);
    p->fn(p->user, line);
}

/* The cache file name holds everything that decides the file's bytes: preset, seed,
 * generator version and the first 16 hex digits of the tokenizer's sha256 ("notok"
 * without one), so a changed generator or tokenizer gets a new file, never a stale one. */
int tb_synth_cache_name(const char *preset, uint64_t seed, const char *tokenizer_json, char *name, size_t n,
                        tb_err *e) {
    char tok[65] = "notok";
    if (tokenizer_json) {
        if (tb_sha256_file(tokenizer_json, tok, e) < 0) return -1;
        tok[16] = 0;
    }
    if ((size_t)snprintf(name, n, "synth-%s-seed%llu-v%d-%s%s.gguf", preset, (unsigned long long)seed,
                         TB_SYNTH_VERSION, tokenizer_json ? "tok" : "", tok) >= n)
        return tb_fail(e, "cache: path too long");
    return 0;
}

int tb_synth_cached(const char *preset, uint64_t seed, const char *tokenizer_json, char *path, size_t n,
                    void (*progress)(void *user, const char *line), void *user, tb_err *e) {
    char dir[1024], name[200];
    if (tb_cache_dir(dir, sizeof dir, e) < 0 || tb_synth_cache_name(preset, seed, tokenizer_json, name, sizeof name, e) < 0)
        return -1;
    if ((size_t)snprintf(path, n, "%s/%s", dir, name) >= n) return tb_fail(e, "cache: path too long");
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > 0) return 0; /* written completely (synth writes via a temp file) */
    tb_synth_opts o;
    memset(&o, 0, sizeof o);
    if (tb_config_preset(preset, &o.cfg) < 0) return tb_fail(e, "synth: unknown preset '%s' (tiny, 2b4t)", preset);
    o.seed = seed;
    o.format = TB_SYNTH_GGUF;
    o.tokenizer_json = tokenizer_json;
    o.out = path;
    synth_prog sp = {progress, user, 0};
    o.progress = on_synth;
    o.progress_ctx = &sp;
    if (progress) {
        char line[1200];
        snprintf(line, sizeof line, "synth: generating the %s model (seed %llu) into %s (first use; cached after)",
                 preset, (unsigned long long)seed, path);
        progress(user, line);
    }
    return tb_synth_write(&o, e);
}

/* ---- sweep ------------------------------------------------------------------------ */

static void say(const tb_sweep_opts *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void say(const tb_sweep_opts *o, const char *fmt, ...) {
    if (!o->progress) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->progress(o->user, line);
}

static void bench_progress(void *user, const char *line) {
    const tb_sweep_opts *o = user;
    if (!strncmp(line, "pre-check", 9)) return;
    say(o, "  %s", line);
}

typedef struct e2e_prog {
    const tb_sweep_opts *o;
    const char *kernel;
    double last;
} e2e_prog;

static void on_e2e(void *user, int done, int total, double seconds) {
    e2e_prog *p = user;
    double now = tb_now();
    if (now - p->last < 5.0 && done < total) return;
    p->last = now;
    say(p->o, "  e2e %s: %d/%d tokens, %.2f tok/s", p->kernel, done, total, done / seconds);
}

typedef struct ppl_prog {
    const tb_sweep_opts *o;
    const char *const *names;
    double last;
} ppl_prog;

static void on_ppl(void *user, int backend, int chunk, int n_chunks, double ppl, double seconds) {
    ppl_prog *p = user;
    say(p->o, "  ppl %s: chunk %d/%d, ppl %.4f, %.1f s", p->names[backend], chunk, n_chunks, ppl, seconds);
}

static double bw_at(const tb_bw_result *bw, int n, int threads) {
    for (int i = 0; i < n; i++)
        if (bw[i].threads == threads) return bw[i].gbps_median;
    return NAN;
}

#define MAX_E2E 64

/* The roofline's own inputs: int8 compute ceilings measured on one core, then every
 * kernel that passed the checker at n = 1..512 activation rows on the qo shape. */
static int sweep_roofline(const tb_sweep_opts *o, const tb_bench_config *bc, const tb_bench_kcheck *checks,
                          int n_checks, int threads, tb_peak *peaks, int *n_peaks, tb_bench_row **rows, int *n_rows,
                          tb_err *e) {
    *n_peaks = tb_peak_measure(peaks, 4, o->quick ? 0.05 : 0.2);
    for (int i = 0; i < *n_peaks; i++) say(o, "  int8 compute ceiling, %s, 1 thread: %.0f GOPS", peaks[i].isa, peaks[i].gops_1t);
    const tb_kernel *ks[MAX_E2E];
    int nk = 0;
    for (int i = 0; i < n_checks && nk < MAX_E2E; i++) {
        const tb_kernel *k = tb_kernel_find(checks[i].kernel);
        if (k && !k->on_device && !strcmp(checks[i].status, "pass")) ks[nk++] = k;
    }
    /* quick: the kv shape, a quarter of the work (scalar kernels at n = 512 take seconds) */
    static const tb_bench_shape qo = {"qo", 2560, 2560}, kv = {"kv", 640, 2560};
    const tb_bench_shape *sh = o->quick ? &kv : &qo;
    say(o, "  roofline: %d kernels at n = 1, 8, 32, 128, 512 on %s %dx%d, %d thread%s", nk, sh->name, sh->rows, sh->cols,
        threads, threads > 1 ? "s" : "");
    tb_bench_config c = *bc;
    c.min_time = o->quick ? 0.005 : 0.05;
    c.reps = 3; /* the median of 3 survives one preempted repetition; of 2 it would not */
    return tb_roofline_run(&c, sh, ks, nk, threads, rows, n_rows, e);
}

int tb_sweep_run(const tb_sweep_opts *o, tb_err *e) {
    int rc = -1;
    double t_start = tb_now();
    tb_model *m = NULL;
    tb_sweep_ppl *pp = NULL;
    tb_frontier *fr = NULL;
    tb_bench_row *rows = NULL;
    tb_bench_kcheck *checks = NULL;
    int n_rows = 0, n_checks = 0;
    tb_bench_row *rl_rows = NULL; /* the roofline's batch sweep (roofline.h) */
    int n_rl = 0, n_peaks = 0;
    tb_peak peaks[4];
    tb_e2e_result *e2e = calloc(MAX_E2E, sizeof *e2e);
    char(*e2e_why)[256] = calloc(MAX_E2E, sizeof *e2e_why);
    tb_counter_report *e2e_cnt = calloc(MAX_E2E, sizeof *e2e_cnt);
    int n_e2e = 0;
    tb_jw w;
    tb_jw_init(&w);
    if (!e2e || !e2e_why || !e2e_cnt) {
        tb_fail(e, "sweep: out of memory");
        goto done;
    }
    if (tb_mkdir_p(o->out_dir, e) < 0) goto done;

    tb_provenance prov;
    tb_provenance_collect(&prov);
    int ncores = tb_ncores();
    int maxt = o->max_threads > 0 ? o->max_threads : ncores;
    int threads[16];
    int nthreads = tb_bench_default_threads(maxt, threads, 16);
    char llc_src[160];
    size_t llc = tb_llc_bytes(o->llc_bytes, llc_src, sizeof llc_src);
    say(o, "sweep: %s, %d cores, LLC %zu MiB (%s), timer: %s", o->quick ? "quick" : "full", ncores, llc >> 20, llc_src,
        tb_bench_timer_name(o->use_gbench));

    /* ---- model ---- */
    char model_path[1200];
    /* --quick runs on the trained model shipped in models/austen-tiny (expanded by the build) */
    const char *model_arg = o->model;
    if (!model_arg && o->quick && access(TB_TRAINED_MODEL, R_OK) == 0) model_arg = TB_TRAINED_MODEL;
    bool synthetic = model_arg == NULL;
    char tok_json[1100] = "";
    if (o->data_dir) {
        snprintf(tok_json, sizeof tok_json, "%s/llama3-tokenizer/tokenizer.json", o->data_dir);
        if (access(tok_json, R_OK) != 0) tok_json[0] = 0;
    }
    if (synthetic) {
        if (tb_synth_cached(o->quick ? "tiny" : "2b4t", 1, tok_json[0] ? tok_json : NULL, model_path, sizeof model_path,
                            o->progress, o->user, e) < 0)
            goto done;
    } else {
        snprintf(model_path, sizeof model_path, "%s", model_arg);
    }
    say(o, "model: %s", model_path);
    if (tb_model_load(model_path, &m, e) < 0) goto done;
    tb_model_prov mprov;
    tb_model_prov_collect(m, &mprov);
    say(o, "model sha256: %s%s", mprov.sha256[0] ? mprov.sha256 : "n/a: ", mprov.sha256[0] ? "" : mprov.why);

    /* ---- 1. bandwidth ---- */
    say(o, "[1/6] memory read bandwidth (STREAM-like, median of repetitions)");
    tb_bw_result bw[16];
    int nbw = 0;
    size_t bw_bytes = o->quick ? (llc * 4 > (128u << 20) ? llc * 4 : (128u << 20)) : (llc * 4 > (256u << 20) ? llc * 4 : (256u << 20));
    for (int i = 0; i < nthreads; i++) {
        if (tb_bandwidth_measure(bw_bytes, threads[i], o->quick ? 3 : 7, &bw[nbw], e) < 0) goto done;
        say(o, "  %d thread%s: %.2f GB/s", threads[i], threads[i] > 1 ? "s" : "", bw[nbw].gbps_median);
        nbw++;
    }

    /* device bandwidth, the roofline of on-device kernels */
    double gpu_bw = NAN;
    char gpu_why[256] = "";
    for (int i = 0; i < tb_n_kernels && gpu_bw != gpu_bw; i++) { /* the first device that can say */
        const tb_kernel *k = tb_kernels[i];
        if (!k->on_device || !k->device || !k->device->bandwidth || !tb_kernel_supported(k, TB_ISA_ALL, NULL)) continue;
        if (k->device->bandwidth(&gpu_bw, gpu_why, sizeof gpu_why) < 0) gpu_bw = NAN;
        else say(o, "  device-to-device copy (%s): %.1f GB/s (read + write counted)", k->name, gpu_bw);
    }

    /* ---- 2. kernel checker + benchmarks ---- */
    say(o, "[2/6] kernel checker, then kernel benchmarks (weights cold)");
    tb_bench_config bc;
    tb_bench_config_default(&bc);
    static const tb_bench_shape quick_shapes[] = {{"qo", 2560, 2560}, {"kv", 640, 2560}, {"down", 2560, 6912}};
    bc.kernel_glob = o->kernel_glob;
    if (o->quick) {
        bc.shapes = quick_shapes;
        bc.n_shapes = 3;
    }
    bc.threads = threads;
    bc.n_threads = nthreads;
    bc.llc_bytes = llc;
    bc.bw = bw;
    bc.n_bw = nbw;
    bc.gpu_bw_gbps = gpu_bw == gpu_bw ? gpu_bw : 0;
    bc.min_time = o->quick ? 0.01 : 0.2;
    bc.reps = 3; /* error bars: the stddev over repetitions */
    bc.seed = o->seed;
    bc.use_gbench = o->use_gbench;
    bc.progress = bench_progress;
    bc.progress_user = (void *)o;
    bc.checks_out = &checks;
    bc.n_checks_out = &n_checks;
    char gbpath[1200], gbflag[1300];
    snprintf(gbpath, sizeof gbpath, "%s/gbench.json", o->out_dir);
    snprintf(gbflag, sizeof gbflag, "--benchmark_out=%s", gbpath);
    char *gbargv[1] = {gbflag};
    if (o->use_gbench) {
        bc.gb_argc = 1;
        bc.gb_argv = gbargv;
    }
    if (tb_bench_run(&bc, &rows, &n_rows, e) < 0) goto done;
    if (sweep_roofline(o, &bc, checks, n_checks, maxt, peaks, &n_peaks, &rl_rows, &n_rl, e) < 0) goto done;

    /* ---- 3. end to end ---- */
    say(o, "[3/6] end-to-end decode and batched prefill per kernel (%s)", synthetic ? "synthetic model" : model_path);
    int n_prompt = o->quick ? 32 : 64, n_decode = o->quick ? 16 : 32;
    const tb_kernel *e2e_k[MAX_E2E];
    int e2e_t[MAX_E2E], n_run = 0;
    /* the scalar reference (tiny/quick only: on 2B4T it takes minutes per token batch) */
    if (o->quick || !tb_config_is_2b4t(&m->cfg)) {
        e2e_k[n_run] = NULL;
        e2e_t[n_run++] = 1;
    }
    const tb_kernel *best = NULL;
    double best_gbps = 0;
    for (int i = 0; i < n_checks && n_run < MAX_E2E - 1; i++) {
        if (strcmp(checks[i].status, "pass") != 0) continue;
        const tb_kernel *k = tb_kernel_find(checks[i].kernel);
        if (!k) continue;
        e2e_k[n_run] = k;
        e2e_t[n_run++] = k->on_device ? 1 : maxt; /* GPU: weights resident on the device */
        if (k->on_device) continue;
        /* best = fastest timed at maxt on the largest shape */
        for (int r = 0; r < n_rows; r++)
            if (rows[r].timed && !strcmp(rows[r].kernel, k->name) && rows[r].threads == maxt &&
                rows[r].rows * (double)rows[r].cols >= 2560.0 * 6912 && rows[r].gbps > best_gbps) {
                best_gbps = rows[r].gbps;
                best = k;
            }
    }
    if (best && maxt > 1 && n_run < MAX_E2E) { /* single-thread point for the best kernel */
        e2e_k[n_run] = best;
        e2e_t[n_run++] = 1;
    }
    tb_counters *cnt = NULL;
    if (tb_counters_open(&cnt, e) < 0) goto done;
    for (int i = 0; i < n_run; i++) {
        tb_e2e_opts eo;
        memset(&eo, 0, sizeof eo);
        eo.threads = e2e_t[i];
        eo.n_prompt = n_prompt;
        eo.n_decode = n_decode;
        eo.seed = o->seed;
        eo.max_decode_seconds = o->quick ? 10 : 60;
        eo.reps = 3; /* mean +- stddev, like llama-bench -r */
        eo.bw_gbps = bw_at(bw, nbw, e2e_t[i]);
        e2e_prog ep = {o, e2e_k[i] ? e2e_k[i]->name : "ref", 0};
        eo.progress = on_e2e;
        eo.user = &ep;
        say(o, "  e2e %s, %d thread%s: prefill %d tokens, decode %d", ep.kernel, e2e_t[i], e2e_t[i] > 1 ? "s" : "",
            n_prompt, n_decode);
        tb_err ee = {{0}};
        tb_counters_start(cnt);
        int r = tb_e2e_run(m, e2e_k[i], &eo, &e2e[n_e2e], &ee);
        tb_counters_stop(cnt, &e2e_cnt[n_e2e]);
        if (r < 0) {
            snprintf(e2e[n_e2e].kernel, sizeof e2e[n_e2e].kernel, "%s", ep.kernel);
            e2e[n_e2e].threads = e2e_t[i];
            snprintf(e2e_why[n_e2e], sizeof e2e_why[0], "%.250s", ee.msg);
            say(o, "  e2e %s FAILED: %s", ep.kernel, ee.msg);
        } else {
            say(o, "  e2e %s: decode %.2f tok/s (%.1f ms/token), prefill %.1f tok/s, %.1f MB/token, %.2f GB/s",
                ep.kernel, e2e[n_e2e].decode_tok_s, e2e[n_e2e].ms_per_token_mean, e2e[n_e2e].prefill_tok_s,
                e2e[n_e2e].bytes_per_token / 1e6, e2e[n_e2e].achieved_gbps);
        }
        n_e2e++;
    }
    tb_counters_free(cnt);

    /* ---- 4. perplexity ---- */
    say(o, "[4/6] perplexity, KL and top-1 per kernel");
    bool big = !o->quick && tb_config_is_2b4t(&m->cfg);
    pp = calloc(2, sizeof *pp); /* [0] the sweep's model, [1] the trained model */
    if (!pp) {
        tb_fail(e, "sweep: out of memory");
        goto done;
    }
    pp[0].ctx = o->quick ? 128 : 256;
    pp[0].chunks = o->quick ? 2 : 1;
    if (o->data_dir) snprintf(pp[0].text, sizeof pp[0].text, "%s/wikitext-2-raw/wiki.test.raw", o->data_dir);
    ppl_prog ppg = {o, pp[0].names, 0};
    if (o->skip_ppl) snprintf(pp[0].why, sizeof pp[0].why, "skipped (--no-ppl)");
    else
        tb_sweep_ppl_run(m, tok_json, !big, big, best, checks, n_checks, maxt, on_ppl, &ppg, &pp[0]);
    if (pp[0].why[0]) say(o, "  perplexity n/a: %s", pp[0].why);
    /* the trained model (models/austen-tiny) on its held-out novel: a perplexity that means
     * something, whatever model the sweep measures (on --quick the same model, on WikiText-2 above) */
    tb_model *tm = NULL;
    tb_err tme = {{0}};
    snprintf(pp[1].text, sizeof pp[1].text, "%s", TB_TRAINED_HELDOUT);
    pp[1].ctx = 256;
    pp[1].chunks = o->quick ? 1 : 4;
    if (o->skip_ppl) snprintf(pp[1].why, sizeof pp[1].why, "skipped (--no-ppl)");
    else if (tb_model_load(TB_TRAINED_MODEL, &tm, &tme) < 0) snprintf(pp[1].why, sizeof pp[1].why, "%.500s", tme.msg);
    else {
        say(o, "  the trained model %s on %s", TB_TRAINED_MODEL, TB_TRAINED_HELDOUT);
        ppl_prog tpg = {o, pp[1].names, 0};
        tb_sweep_ppl_run(tm, tok_json, true, false, best, checks, n_checks, maxt, on_ppl, &tpg, &pp[1]);
        tb_model_free(tm);
    }
    if (pp[1].why[0]) say(o, "  trained-model perplexity n/a: %s", pp[1].why);

    /* ---- 4b. the frontier of the numeric configurations ---- */
    fr = calloc(1, sizeof *fr);
    if (!fr) {
        tb_fail(e, "sweep: out of memory");
        goto done;
    }
    if (o->skip_frontier || o->skip_ppl) {
        say(o, "  frontier skipped (%s)", o->skip_ppl ? "--no-ppl" : "--no-frontier");
    } else {
        say(o, "  the frontier: every numeric configuration, speed vs KL against the exact reference");
        tb_frontier_opts fo = {.acc_model = TB_TRAINED_MODEL, .acc_text = TB_TRAINED_HELDOUT, .ctx = 256,
                               .chunks = o->quick ? 1 : 4, .threads = maxt, .n_prompt = o->quick ? 16 : 32,
                               .n_decode = o->quick ? 8 : 16, .reps = o->quick ? 1 : 2, .isa_mask = TB_ISA_ALL,
                               .progress = o->progress, .user = o->user};
        if (strcmp(model_path, TB_TRAINED_MODEL)) fo.speed_model = model_path;
        fo.configs = o->configs;
        tb_err fe = {{0}};
        if (tb_frontier_run(&fo, fr, &fe) < 0) {
            say(o, "  frontier n/a: %s", fe.msg);
            fr->n = 0;
        } else {
            char fpath[1200];
            snprintf(fpath, sizeof fpath, "%s/frontier.md", o->out_dir);
            FILE *fm = fopen(fpath, "w");
            if (fm) {
                tb_frontier_print(fm, fr);
                fclose(fm);
            }
        }
    }

    /* ---- 5. modelled energy ---- */
    say(o, "[5/6] modelled energy (operation counts x per-op energies; NOT a measurement)");
    tb_energy_result en;
    if (tb_energy_model(&m->cfg, 512, 512, &tb_energy_7nm, &en, e) < 0) goto done;

    /* ---- 6. paper table ---- */
    say(o, "[6/6] paper table");
    double ms_best = NAN;
    for (int i = 0; i < n_e2e; i++)
        if (best && !strcmp(e2e[i].kernel, best->name) && e2e[i].threads == maxt && !e2e_why[i][0])
            ms_best = e2e[i].ms_per_token_mean;
    char pnote[300];
    double ppl_here = NAN;
    if (synthetic) snprintf(pnote, sizeof pnote, "n/a: this run used a synthetic model; pass --model ggml-model-i2_s.gguf (real weights)");
    else if (pp[0].n > 0) {
        ppl_here = pp[0].res[0].ppl;
        snprintf(pnote, sizeof pnote, "%s, ctx %d, %d chunk%s only (the published figure uses all chunks at ctx 512)",
                 pp[0].names[0], pp[0].ctx, pp[0].res[0].n_chunks, pp[0].res[0].n_chunks > 1 ? "s" : "");
    } else snprintf(pnote, sizeof pnote, "n/a: %.280s", pp[0].why);
    tb_paper_in pin;
    tb_paper_inputs(&pin, &m->cfg, best, ms_best, maxt, bw_at(bw, nbw, maxt), o->bw_target_gbps, ppl_here, pnote);
    tb_paper_row prow[8];
    int nprow = tb_paper_table(&pin, prow, 8);

    /* ---- results.json ---- */
    tb_jw_obj_begin(&w, NULL);
    tb_jw_str(&w, "schema", "ternbench-results/1");
    tb_jw_str(&w, "tool", "ternbench sweep");
    tb_jw_obj_begin(&w, "run");
    tb_jw_bool(&w, "quick", o->quick);
    tb_jw_str(&w, "model", model_path);
    tb_jw_bool(&w, "synthetic_model", synthetic);
    char desc[200];
    snprintf(desc, sizeof desc, "%s%s: hidden %d, %d layers, FFN %d, vocab %d", synthetic ? "synthetic " : "",
             tb_config_is_2b4t(&m->cfg) ? "2B4T shape" : "model", m->cfg.hidden, m->cfg.layers, m->cfg.ffn, m->cfg.vocab);
    tb_jw_str(&w, "model_desc", desc);
    tb_jw_str(&w, "kernel_glob", o->kernel_glob ? o->kernel_glob : "*");
    tb_jw_int(&w, "seed", (long long)o->seed);
    tb_jw_int(&w, "max_threads", maxt);
    tb_jw_num(&w, "seconds", tb_now() - t_start);
    tb_jw_obj_end(&w);
    tb_provenance_write(&w, "provenance", &prov);
    tb_model_prov_write(&w, "model_provenance", &mprov);
    tb_jw_str(&w, "timer", tb_bench_timer_name(o->use_gbench));
    if (o->use_gbench) tb_jw_str(&w, "gbench_json", "gbench.json");
    else tb_jw_null(&w, "gbench_json");
    tb_jw_obj_begin(&w, "llc");
    tb_jw_num(&w, "bytes", (double)llc);
    tb_jw_str(&w, "source", llc_src);
    tb_jw_obj_end(&w);
    tb_jw_arr_begin(&w, "kernel_list");
    for (int i = 0; i < tb_n_kernels; i++) tb_jw_str(&w, NULL, tb_kernels[i]->name);
    tb_jw_arr_end(&w);
    tb_jw_arr_begin(&w, "check");
    for (int i = 0; i < n_checks; i++) {
        tb_jw_obj_begin(&w, NULL);
        tb_jw_str(&w, "kernel", checks[i].kernel);
        tb_jw_str(&w, "status", checks[i].status);
        tb_jw_int(&w, "cases", checks[i].cases);
        tb_jw_int(&w, "passed", checks[i].passed);
        tb_jw_int(&w, "failed", checks[i].failed);
        tb_jw_num(&w, "seconds", checks[i].seconds);
        tb_jw_str(&w, "why", checks[i].why[0] ? checks[i].why : NULL);
        tb_jw_obj_end(&w);
    }
    tb_jw_arr_end(&w);
    tb_bw_write(&w, "bandwidth", bw, nbw);
    tb_jw_obj_begin(&w, "gpu_bandwidth");
    tb_jw_num(&w, "d2d_gbps", gpu_bw);
    tb_jw_str(&w, "why", gpu_bw == gpu_bw ? NULL : gpu_why);
    tb_jw_obj_end(&w);
    tb_bench_rows_write(&w, "kernels", rows, n_rows);
    tb_peak_write(&w, "compute_peaks", peaks, n_peaks);
    tb_bench_rows_write(&w, "roofline", rl_rows, n_rl);
    tb_jw_arr_begin(&w, "e2e");
    for (int i = 0; i < n_e2e; i++) {
        if (e2e_why[i][0]) {
            tb_jw_obj_begin(&w, NULL);
            tb_jw_str(&w, "kernel", e2e[i].kernel);
            tb_jw_int(&w, "threads", e2e[i].threads);
            tb_jw_null(&w, "decode_tok_s");
            tb_jw_str(&w, "why", e2e_why[i]);
            tb_jw_obj_end(&w);
        } else {
            tb_e2e_write(&w, &e2e[i]);
        }
    }
    tb_jw_arr_end(&w);
    tb_jw_arr_begin(&w, "e2e_counters");
    for (int i = 0; i < n_e2e; i++) tb_counters_write(&w, NULL, &e2e_cnt[i]);
    tb_jw_arr_end(&w);
    tb_sweep_ppl_json(&w, "ppl_setup", "ppl", &pp[0]);
    tb_sweep_ppl_json(&w, "ppl_trained_setup", "ppl_trained", &pp[1]);
    if (fr->n > 0) tb_frontier_json(&w, "frontier", fr);
    else tb_jw_null(&w, "frontier");
    tb_jw_obj_begin(&w, "energy_modelled");
    tb_jw_str(&w, "label", "modelled (operation counts x per-operation energy; not a measurement)");
    tb_jw_str(&w, "node", en.node);
    tb_jw_str(&w, "constants_source", tb_energy_7nm.source);
    tb_jw_int(&w, "context", en.context);
    tb_jw_int(&w, "tokens", en.tokens);
    tb_jw_num(&w, "linear_ops_per_token", en.n.lin_weights);
    tb_jw_num(&w, "attention_macs_per_token", en.n.attn_macs);
    tb_jw_num(&w, "ternary_j_per_token", en.tern_j_token);
    tb_jw_num(&w, "fp16_j_per_token", en.fp16_j_token);
    tb_jw_num(&w, "ternary_j_per_sequence", en.tern_j_seq);
    tb_jw_num(&w, "fp16_j_per_sequence", en.fp16_j_seq);
    tb_jw_num(&w, "ternary_nj_per_param", en.tern_nj_param);
    tb_jw_num(&w, "fp16_nj_per_param", en.fp16_nj_param);
    tb_jw_num(&w, "ratio", en.ratio);
    tb_jw_num(&w, "lm_head_j_per_token_not_included", en.lm_head_j_token);
    tb_jw_obj_end(&w);
    tb_paper_write(&w, "paper", prow, nprow, &pin);
    tb_jw_obj_end(&w);
    char jpath[1200];
    snprintf(jpath, sizeof jpath, "%s/results.json", o->out_dir);
    if (tb_jw_save(&w, jpath, e) < 0) goto done;
    say(o, "results: %s (%.0f s)", jpath, tb_now() - t_start);
    rc = 0;
done:
    tb_jw_free(&w);
    tb_model_free(m);
    free(pp);
    free(fr);
    free(rows);
    free(rl_rows);
    free(checks);
    free(e2e);
    free(e2e_why);
    free(e2e_cnt);
    return rc;
}

/* cmd_bench_e2e.c: `ternbench bench-e2e`: decode and batched-prefill speed of
 * one kernel on a whole model, memory, bytes per token, achieved GB/s. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bandwidth.h"
#include "cli.h"
#include "counters.h"
#include "driver.h"
#include "e2e.h"
#include "numcfg.h"
#include "model_prov.h"
#include "results.h"
#include "runner.h"
#include "sweep.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench bench-e2e [--model PATH | --preset tiny|2b4t] [--kernel K] [--threads T] [options]\n\n"
            "Prefill (one batched forward pass over the prompt) and greedy decode of n tokens.\n"
            "Reports tokens/s, latency per token, resident memory, bytes read per token (packed\n"
            "ternary weights + LM head + KV cache), achieved GB/s and the fraction of the read\n"
            "bandwidth measured at the same thread count.\n"
            "  --model PATH      .gguf or HF directory\n"
            "  --preset NAME     synthetic model, generated once into the cache (default: 2b4t)\n"
            "  --kernel K        registered kernel name, 'best' (default) or 'ref' (scalar reference)\n"
            "  --plugin PATH     kernels from a shared object (repeatable; also TERNBENCH_PLUGINS=a.so:b.so),\n"
            "                    named plugin:<name> (kernels/ternbench_plugin.h)\n"
            "  --config LIST     numeric configurations: a name, glob, comma list or 'all' (default exact;\n"
            "                    docs/approximations.md; `ternbench check --configs`), run one after the\n"
            "                    other; one with its own kernels runs the best of them unless --kernel\n"
            "                    names one\n"
            "  --threads T       threads, 0 = all cores (the default)\n"
            "  --prompt N        prompt tokens (default 64)\n"
            "  --decode N        decoded tokens (default 32)\n"
            "  --seed N          prompt ids seed (default 1)\n"
            "  -r, --reps N      measured repetitions of prefill + decode, after one unmeasured\n"
            "                    warm-up run (default 3); tokens/s are mean +- stddev over them\n"
            "  --no-warmup       skip the warm-up run\n"
            "  --isa-max ISA     restrict kernels to an ISA level: " TB_CLI_ISA_NAMES "\n"
            "  --no-bandwidth    do not measure the read bandwidth (no roofline fraction)\n"
            "  --json PATH       write the result with provenance\n"
            "  -o, --output FMT  text (default) or md: llama-bench's markdown table (model, size,\n"
            "                    params, backend, threads, test, t/s as mean +- stddev)\n\n"
            "Like llama-bench: prefill of --prompt tokens from position 0, then --decode tokens\n"
            "after it, KV cache in f32.  Also prints where the time goes per decode step and per\n"
            "prefill batch (ternary matmuls, LM head, attention, norms + quantization, RoPE,\n"
            "thread synchronisation, other), with each part's achieved GB/s or GOPS.\n");
}

static void on_prog(void *user, int done, int total, double s) {
    double *last = user;
    double now = tb_now();
    if (now - *last < 2.0 && done < total) return;
    *last = now;
    fprintf(stderr, "\rdecode %d/%d  %.2f tok/s", done, total, done / s);
    if (done == total) fputc('\n', stderr);
}

static void on_line(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

static void print_text(const char *model, const tb_model *m, const tb_e2e_result *rr, const tb_counter_report *crp,
                       double bw_gbps) {
    const tb_e2e_result r = *rr;
    char cline[768];
    tb_counters_describe(crp, cline, sizeof cline);
    printf("model      %s (hidden %d, %d layers, vocab %d)\n", model, m->cfg.hidden, m->cfg.layers, m->cfg.vocab);
    printf("kernel     %s, %d thread%s; configuration %s (%s)\n", r.kernel, r.threads, r.threads > 1 ? "s" : "",
           r.config, r.exact ? "exact" : "approximate");
    printf("runs       %d measured repetition%s%s; KV cache %s\n", r.reps, r.reps > 1 ? "s" : "",
           r.warmup ? " after 1 warm-up run" : " (no warm-up)", tb_kv_fmt_name((tb_kv_fmt)r.kv_fmt));
    printf("prefill    pp%d from position 0: %.2f +- %.2f tokens/s (%.3f s per batch)\n", r.n_prompt, r.prefill_tok_s,
           r.prefill_tok_s_sd, r.prefill_s);
    printf("decode     tg%d after it%s: %.2f +- %.2f tokens/s; latency/token mean %.2f ms, median %.2f, min %.2f, max %.2f\n",
           r.n_decode, r.stopped_early ? " (stopped early)" : "", r.decode_tok_s, r.decode_tok_s_sd, r.ms_per_token_mean,
           r.ms_per_token_median, r.ms_per_token_min, r.ms_per_token_max);
    printf("bytes/tok  %.1f MB = ternary %.1f + LM head %.1f + KV cache %.2f\n", r.bytes_per_token / 1e6,
           r.weight_bytes / 1e6, r.lm_head_bytes / 1e6, r.kv_bytes_per_token / 1e6);
    if (r.roofline_frac == r.roofline_frac)
        printf("achieved   %.2f GB/s = %.1f%% of the measured %.2f GB/s\n", r.achieved_gbps, 100 * r.roofline_frac,
               bw_gbps);
    else
        printf("achieved   %.2f GB/s (bandwidth not measured)\n", r.achieved_gbps);
    printf("memory     RSS %.1f MB, peak %.1f MB\n", r.rss_bytes / 1e6, r.hwm_bytes / 1e6);
    printf("counters   %s\n", cline);
    tb_e2e_print_breakdown(stdout, rr);
}

/* Parameters counted as llama-bench counts them: every linear weight plus the (tied)
 * embedding, norms left out (they are < 0.01%). */
static double n_params(const tb_config *c) {
    const double kv = (double)c->kv_heads * c->head_dim, h = c->hidden;
    return c->layers * (2 * h * h + 2 * h * kv + 3 * h * c->ffn) + (double)c->vocab * h;
}

/* llama-bench's `-o md` layout: one row per test (pp = prefill, tg = decode), t/s as
 * mean +- stddev over the repetitions, so the two tools' tables can sit side by side. */
static void print_md(const char *model, const tb_model *m, const tb_e2e_result *r, bool header) {
    struct stat st;
    char size[32] = "n/a";
    if (stat(model, &st) == 0 && S_ISREG(st.st_mode)) snprintf(size, sizeof size, "%.2f GiB", st.st_size / 1073741824.0);
    const char *base = strrchr(model, '/') ? strrchr(model, '/') + 1 : model;
    char backend[160];
    if (!r->exact) /* an approximate configuration, or an approximate kernel under "exact" */
        snprintf(backend, sizeof backend, "CPU (ternbench %s, approximate: %s)", r->kernel, r->config);
    else
        snprintf(backend, sizeof backend, "CPU (ternbench %s)", r->kernel);
    if (header) {
        printf("| model | size | params | backend | threads | test | t/s |\n");
        printf("| ----- | ---: | -----: | ------- | ------: | ---: | --: |\n");
    }
    printf("| %s | %s | %.2f B | %s | %d | pp%d | %.2f \u00b1 %.2f |\n", base, size, n_params(&m->cfg) / 1e9, backend,
           r->threads, r->n_prompt, r->prefill_tok_s, r->prefill_tok_s_sd);
    printf("| %s | %s | %.2f B | %s | %d | tg%d | %.2f \u00b1 %.2f |\n", base, size, n_params(&m->cfg) / 1e9, backend,
           r->threads, r->n_decode, r->decode_tok_s, r->decode_tok_s_sd);
}

int tb_cmd_bench_e2e(int argc, char **argv) {
    const char *model = NULL, *preset = NULL, *kname = "best", *th_s = NULL, *np_s = NULL, *nd_s = NULL,
               *seed_s = NULL, *isa_s = NULL, *json = NULL, *cfg_s = NULL;
    bool no_bw = false, no_warmup = false;
    const char *reps_s = NULL, *out_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-bandwidth") || !strcmp(a, "--no-warmup")) {
            *(a[5] == 'b' ? &no_bw : &no_warmup) = true;
            continue;
        }
        const char **dst = !strcmp(a, "--model")     ? &model
                           : !strcmp(a, "--preset")  ? &preset
                           : !strcmp(a, "--kernel")  ? &kname
                           : !strcmp(a, "--threads") ? &th_s
                           : !strcmp(a, "--prompt")  ? &np_s
                           : !strcmp(a, "--decode")  ? &nd_s
                           : !strcmp(a, "--seed")    ? &seed_s
                           : !strcmp(a, "--reps") || !strcmp(a, "-r") ? &reps_s
                           : !strcmp(a, "--output") || !strcmp(a, "-o") ? &out_s
                           : !strcmp(a, "--isa-max") ? &isa_s
                           : !strcmp(a, "--json")    ? &json
                           : !strcmp(a, "--config")  ? &cfg_s
                                                     : NULL;
        if (!dst) {
            fprintf(stderr, "ternbench bench-e2e: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (!(*dst = tb_arg_value(argc, argv, &i))) return 2;
    }
    if (model && preset) {
        fprintf(stderr, "ternbench bench-e2e: give --model or --preset, not both\n");
        return 2;
    }
    if (preset && strcmp(preset, "tiny") && strcmp(preset, "2b4t")) {
        fprintf(stderr, "ternbench bench-e2e: unknown --preset '%s' (tiny or 2b4t)\n", preset);
        return 2;
    }
    int threads = tb_ncores(), np = 64, nd = 32, reps = 3;
    unsigned long long seed = 1;
    if ((th_s && tb_cli_threads("bench-e2e", th_s, &threads)) ||
        (np_s && tb_cli_int("bench-e2e", "--prompt", np_s, 1, 4096, &np)) ||
        (nd_s && tb_cli_int("bench-e2e", "--decode", nd_s, 1, 4096, &nd)) ||
        (reps_s && tb_cli_int("bench-e2e", "--reps", reps_s, 1, 1000, &reps)))
        return 2;
    if (seed_s) {
        char *end;
        seed = strtoull(seed_s, &end, 10);
        if (*end || !*seed_s) {
            fprintf(stderr, "ternbench bench-e2e: bad --seed '%s'\n", seed_s);
            return 2;
        }
    }
    const bool md = out_s && !strcmp(out_s, "md");
    if (out_s && !md && strcmp(out_s, "text")) {
        fprintf(stderr, "ternbench bench-e2e: unknown --output '%s' (text or md)\n", out_s);
        return 2;
    }
    unsigned mask;
    if (tb_cli_isa_mask("bench-e2e", isa_s, &mask)) return 2;
    if (json && tb_cli_out_file("bench-e2e", "--json", json, false)) return 2;
    const tb_kernel *k = NULL;
    const int krc = tb_cli_kernel_for("bench-e2e", kname, mask, threads, &k);
    if (krc) return krc;
    tb_err e;
    /* the configurations to run, each with its kernel (default: exact with --kernel's) */
    const tb_numcfg *cfgs[TB_NUMCFG_MAX];
    const tb_kernel *ks[TB_NUMCFG_MAX];
    int ncfg = 1;
    cfgs[0] = NULL;
    ks[0] = k;
    if (cfg_s) {
        ncfg = tb_numcfg_select(cfg_s, cfgs, TB_NUMCFG_MAX, &e);
        if (ncfg < 0) return tb_cli_usage("%s", e.msg);
        for (int c = 0; c < ncfg; c++)
            if (tb_numcfg_kernel(cfgs[c], k, strcmp(kname, "best") != 0, mask, &ks[c], &e)) {
                fprintf(stderr, "ternbench bench-e2e: %s\n", e.msg);
                return 1;
            }
    }
    char path[1200];
    if (!model) {
        char tok[1100] = "";
        const char *dd = tb_data_dir();
        if (dd) snprintf(tok, sizeof tok, "%s/llama3-tokenizer/tokenizer.json", dd);
        if (tb_synth_cached(preset ? preset : "2b4t", 1, tok[0] ? tok : NULL, path, sizeof path, on_line, NULL, &e) < 0) {
            fprintf(stderr, "ternbench bench-e2e: %s\n", e.msg);
            return 1;
        }
        model = path;
    }
    tb_model *m;
    if (tb_model_load(model, &m, &e) < 0) {
        fprintf(stderr, "ternbench bench-e2e: %s\n", e.msg);
        return 1;
    }
    tb_bw_result bw = {0};
    bw.gbps_median = NAN;
    if (!no_bw) {
        char src[160];
        size_t llc = tb_llc_bytes(0, src, sizeof src);
        size_t bytes = llc * 4 > (256u << 20) ? llc * 4 : (256u << 20);
        if (tb_bandwidth_measure(bytes, (int)threads, 5, &bw, &e) < 0) {
            fprintf(stderr, "ternbench bench-e2e: %s\n", e.msg);
            tb_model_free(m);
            return 1;
        }
        fprintf(stderr, "read bandwidth, %d thread%s: %.2f GB/s\n", threads, threads > 1 ? "s" : "", bw.gbps_median);
    }
    tb_e2e_opts o;
    memset(&o, 0, sizeof o);
    o.threads = (int)threads;
    o.n_prompt = (int)np;
    o.n_decode = (int)nd;
    o.seed = seed;
    o.reps = reps;
    o.no_warmup = no_warmup;
    o.bw_gbps = bw.gbps_median;
    double last = 0;
    o.progress = on_prog;
    o.user = &last;
    tb_counters *cnt = NULL;
    tb_counter_report cr, crs[TB_NUMCFG_MAX];
    memset(&cr, 0, sizeof cr);
    if (tb_counters_open(&cnt, &e) < 0) {
        fprintf(stderr, "ternbench bench-e2e: %s\n", e.msg);
        tb_model_free(m);
        return 1;
    }
    tb_e2e_result *rs = calloc((size_t)ncfg, sizeof *rs);
    int rc = rs ? 0 : tb_fail(&e, "out of memory");
    for (int c = 0; rc == 0 && c < ncfg; c++) { /* one configuration after the other, never at once */
        o.config = cfgs[c];
        tb_counters_start(cnt);
        rc = tb_e2e_run(m, ks[c], &o, &rs[c], &e);
        tb_counters_stop(cnt, &crs[c]);
        if (rc == 0 && md) print_md(model, m, &rs[c], c == 0);
        else if (rc == 0) print_text(model, m, &rs[c], &crs[c], bw.gbps_median);
        if (rc == 0 && c + 1 < ncfg && !md) printf("\n");
    }
    tb_counters_free(cnt);
    if (rc < 0) {
        fprintf(stderr, "ternbench bench-e2e: %s\n", e.msg);
        tb_model_free(m);
        free(rs);
        return 1;
    }
    cr = crs[0];
    if (json) {
        tb_jw w;
        tb_jw_begin_result(&w, "ternbench bench-e2e");
        tb_jw_str(&w, "model", model);
        tb_model_prov mprov;
        tb_model_prov_collect(m, &mprov);
        tb_model_prov_write(&w, "model_provenance", &mprov);
        tb_jw_num(&w, "bandwidth_gbps", bw.gbps_median);
        tb_jw_arr_begin(&w, "e2e");
        for (int c = 0; c < ncfg; c++) tb_e2e_write(&w, &rs[c]);
        tb_jw_arr_end(&w);
        tb_counters_write(&w, "counters", &cr);
        tb_jw_obj_end(&w);
        if (tb_jw_save(&w, json, &e) < 0) {
            fprintf(stderr, "ternbench bench-e2e: %s\n", e.msg);
            rc = -1;
        }
        tb_jw_free(&w);
    }
    tb_model_free(m);
    free(rs);
    return rc < 0 ? 1 : 0;
}

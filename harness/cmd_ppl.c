/* cmd_ppl.c: `ternbench ppl`: WikiText-2 perplexity in llama-perplexity's convention,
 * for the scalar reference and/or registered kernels, with KL divergence and top-1
 * agreement against the reference; JSON result with provenance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "kernel.h"
#include "model.h"
#include "model_prov.h"
#include "numcfg.h"
#include "ppl.h"
#include "results.h"
#include "runner.h"
#include "tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench ppl --model PATH [--file F] [options]\n"
            "\n"
            "Perplexity as llama-perplexity measures it (the published WikiText-2 PPL of BitNet\n"
            "b1.58 2B4T is 17.1090 +- 0.1278 at context 512): the whole file is tokenized once with\n"
            "BOS first and cut into non-overlapping chunks of --ctx tokens; each chunk starts from an\n"
            "empty KV cache with BOS as its first token; only its second half is scored.  Prints the\n"
            "running PPL per chunk, then PPL +- standard error, tokens scored and seconds.  With a\n"
            "kernel, the reference runs over the same chunks too and the kernel's next-token\n"
            "distributions are compared with it: mean and max KL divergence, top-1 agreement.\n"
            "\n"
            "  --model PATH      .gguf (I2_S) or HF checkpoint directory\n"
            "  --file F          text file (default: DATA/wikitext-2-raw/wiki.test.raw)\n"
            "  --data DIR        data directory (default $TERNBENCH_DATA or ../shared/data)\n"
            "  --tokenizer PATH  tokenizer.json / .gguf / directory (default: the model's own:\n"
            "                    GGUF metadata or the HF directory's tokenizer.json)\n"
            "  --ctx N           chunk length (default 512)\n"
            "  --chunks N        evaluate at most N chunks (default: all)\n"
            "  --kernel LIST     ref (default), a kernel name or glob, a comma-separated list, or 'all'\n"
            "                    (the reference plus every kernel this machine supports)\n"
            "  --plugin PATH     kernels from a shared object (repeatable; also TERNBENCH_PLUGINS=a.so:b.so),\n"
            "                    named plugin:<name> (kernels/ternbench_plugin.h)\n"
            "  --config LIST     numeric configurations (docs/approximations.md): a name, glob, comma list\n"
            "                    or 'all'; each runs with its own kernel (or --kernel's one kernel) and is\n"
            "                    compared with the reference, which runs first (see `ternbench check --configs`)\n"
            "  --no-ref          with kernels: do not run the reference (no KL / top-1)\n"
            "  --threads N       kernel and scoring threads (default: all online cores; the reference\n"
            "                    forward pass is 1 thread; results do not depend on N)\n"
            "  --isa-max NAME    restrict kernels to an ISA level: " TB_CLI_ISA_NAMES "\n"
            "  -o FILE           write a JSON result with provenance\n"
            "  --quiet           no per-chunk progress\n"
            "\n"
            "Tokenization uses the Llama-3 regex (see `ternbench tokenize --help`; bitnet.cpp's GGUF\n"
            "has no tokenizer.ggml.pre).  Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

typedef struct prog {
    const char **names;
    bool quiet, tty;
} prog;

static void on_progress(void *user, int b, int chunk, int n_chunks, double ppl, double secs) {
    prog *p = user;
    if (p->quiet) return;
    double eta = secs / chunk * (n_chunks - chunk);
    fprintf(stderr, "%s[%d/%d] %s: PPL %.4f  (%.2f s/chunk, %.0f s left)%s", p->tty ? "\r" : "", chunk, n_chunks,
            p->names[b], ppl, secs / chunk, eta, p->tty ? "   " : "\n");
    if (p->tty && chunk == n_chunks) fputc('\n', stderr);
    fflush(stderr);
}

int tb_cmd_ppl(int argc, char **argv) {
    const char *file = NULL, *data = NULL, *tok_path = NULL, *out = NULL;
    tb_cli_model_opts mo = {0};
    int ctx = 512, max_chunks = 0;
    bool no_ref = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        const int used = tb_cli_model_opt("ppl", argc, argv, &i, &mo);
        if (used < 0) return 2;
        if (used) continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--file")) { if (!(file = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--data")) { if (!(data = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--tokenizer")) { if (!(tok_path = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "-o")) { if (!(out = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--ctx")) { if (!(v = tb_arg_value(argc, argv, &i)) || tb_cli_int("ppl", a, v, 4, 1 << 20, &ctx)) return 2; }
        else if (!strcmp(a, "--chunks")) { if (!(v = tb_arg_value(argc, argv, &i)) || tb_cli_int("ppl", a, v, 1, 1 << 30, &max_chunks)) return 2; }
        else if (!strcmp(a, "--no-ref")) no_ref = true;
        else if (!strcmp(a, "--quiet")) quiet = true;
        else {
            fprintf(stderr, "ternbench ppl: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    const char *model_path = mo.model, *kernels = mo.kernel ? mo.kernel : "ref", *isa_name = mo.isa ? mo.isa : "all";
    const int threads = mo.threads;
    const char *config = mo.config;
    if (!model_path) {
        fprintf(stderr, "ternbench ppl: --model is required (see --help)\n");
        return 2;
    }
    unsigned mask;
    if (tb_cli_isa_mask("ppl", isa_name, &mask)) return 2;
    if (out && tb_cli_out_file("ppl", "-o", out, false)) return 2;
    char def_file[1200];
    if (!file) {
        if (!data) data = tb_data_dir();
        if (!data) {
            fprintf(stderr, "ternbench ppl: no --file and no data directory (set TERNBENCH_DATA or --data)\n");
            return 2;
        }
        snprintf(def_file, sizeof def_file, "%s/wikitext-2-raw/wiki.test.raw", data);
        file = def_file;
    }

    /* ---- which backends: names[0] is what the others are compared against ---- */
    enum { MAXB = 64 };
    const tb_kernel *ks[MAXB];
    const char *names[MAXB];
    int nb = 0;
    bool want_ref = !no_ref;
    tb_err e = {{0}};
    {
        char list[1024];
        snprintf(list, sizeof list, "%s", kernels);
        bool any_kernel = false;
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (!strcmp(tok, "ref")) {
                want_ref = true;
            } else if (!strcmp(tok, "all") || tb_cli_is_glob(tok)) {
                const bool all = !strcmp(tok, "all");
                if (all) want_ref = !no_ref;
                int matched = 0;
                for (int k = 0; k < tb_n_kernels; k++) matched += all || tb_glob_match(tok, tb_kernels[k]->name);
                if (!matched)
                    return tb_cli_usage("--kernel %s matches no registered kernel (see `ternbench check --list`)", tok);
                for (int k = 0; k < tb_n_kernels && nb < MAXB - 1; k++) {
                    if (!all && !tb_glob_match(tok, tb_kernels[k]->name)) continue;
                    const char *why = NULL;
                    if (!tb_kernel_supported(tb_kernels[k], mask, &why)) {
                        fprintf(stderr, "skip %s: %s\n", tb_kernels[k]->name, why ? why : "unsupported");
                        continue;
                    }
                    ks[nb++] = tb_kernels[k];
                }
                any_kernel = true;
            } else {
                const tb_kernel *k;
                const int krc = tb_cli_kernel("ppl", tok, mask, &k);
                if (krc) return krc;
                if (!k) { want_ref = true; continue; }
                if (nb < MAXB - 1) ks[nb++] = k;
                any_kernel = true;
            }
        }
        if (!any_kernel) want_ref = true;
    }
    const tb_numcfg *cfgs[MAXB];
    for (int b = 0; b < MAXB; b++) cfgs[b] = tb_numcfg_find("exact");
    if (config) { /* one run per configuration, with its kernel (or --kernel's single one) */
        if (nb > 1) return tb_cli_usage("--config takes one --kernel (or none), got %d kernels", nb);
        const tb_kernel *req = nb ? ks[0] : NULL;
        if (!req && !mo.kernel && tb_cli_kernel_for("ppl", NULL, mask, threads, &req)) return 1;
        const tb_numcfg *sel[MAXB];
        const int ns = tb_numcfg_select(config, sel, MAXB - 1, &e);
        if (ns < 0) return tb_cli_usage("%s", e.msg);
        nb = 0;
        for (int c = 0; c < ns; c++) {
            const tb_kernel *k;
            if (tb_numcfg_kernel(sel[c], req, mo.kernel != NULL, mask, &k, &e)) { tb_cli_err(e.msg); return 1; }
            cfgs[nb] = sel[c];
            ks[nb++] = k;
        }
        want_ref = !no_ref;
    }
    if (!want_ref && nb == 0) {
        fprintf(stderr, "ternbench ppl: nothing to run (--no-ref without a kernel)\n");
        return 2;
    }

    tb_model *m = NULL;
    tb_tokenizer *t = NULL;
    tb_runner *runners[MAXB] = {0};
    const tb_backend *bes[MAXB];
    tb_numcfg_run cruns[MAXB] = {{0}};
    const tb_numerics *nxs[MAXB] = {0};
    const tb_numcfg *run_cfg[MAXB];
    const tb_kernel *run_k[MAXB];
    char run_names[MAXB][160];
    tb_ppl_result res[MAXB];
    char *text = NULL;
    int32_t *ids = NULL;
    int rc = 1, n_run = 0;

    if (tb_model_load(model_path, &m, &e)) { tb_cli_err(e.msg); goto done; }
    if (tb_cli_tokenizer("ppl", m, tok_path, &t, &tok_path)) goto done;
    if (tb_tokenizer_vocab(t) > m->cfg.vocab) {
        fprintf(stderr, "ternbench ppl: tokenizer has %d tokens but the model only %d\n", tb_tokenizer_vocab(t), m->cfg.vocab);
        goto done;
    }
    if (tb_tokenizer_bos(t) < 0) { fprintf(stderr, "ternbench ppl: the tokenizer has no BOS token\n"); goto done; }

    size_t len, n_ids;
    if (tb_read_file(file, &text, &len, &e)) { tb_cli_err(e.msg); goto done; }
    if (len == 0) { fprintf(stderr, "ternbench ppl: %s is empty (no tokens to score)\n", file); goto done; }
    double t0 = tb_now();
    if (tb_tokenize(t, text, len, true, true, &ids, &n_ids, &e)) { tb_cli_err(e.msg); goto done; }
    double t_tok = tb_now() - t0;
    int n_chunks = tb_ppl_n_chunks(n_ids, ctx, max_chunks, &e);
    if (n_chunks < 0) { fprintf(stderr, "ternbench ppl: %s: %s\n", file, e.msg); goto done; }

    if (want_ref) {
        bes[n_run] = NULL;
        run_cfg[n_run] = tb_numcfg_find("exact");
        run_k[n_run] = NULL;
        names[n_run++] = "ref";
    }
    for (int k = 0; k < nb; k++) {
        if (ks[k] && tb_runner_new(m, ks[k], threads, &runners[k], &e)) { fprintf(stderr, "ternbench ppl: %s: %s\n", ks[k]->name, e.msg); goto done; }
        if (tb_numcfg_open(cfgs[k], m, &cruns[k], &e)) { fprintf(stderr, "ternbench ppl: --config %s: %s\n", cfgs[k]->name, e.msg); goto done; }
        bes[n_run] = runners[k] ? tb_runner_backend(runners[k]) : NULL;
        nxs[n_run] = &cruns[k].nx;
        run_cfg[n_run] = cfgs[k];
        run_k[n_run] = ks[k];
        if (config)
            snprintf(run_names[n_run], sizeof run_names[n_run], "%s (%s)", cfgs[k]->name, ks[k] ? ks[k]->name : "ref");
        else
            snprintf(run_names[n_run], sizeof run_names[n_run], "%s", ks[k] ? ks[k]->name : "ref");
        names[n_run] = run_names[n_run];
        n_run++;
    }
    printf("model %s (%s), tokenizer %s\n", model_path, m->format, tok_path);
    printf("%s: %zu bytes -> %zu tokens with BOS (%.3f s); %d chunks of %d, scoring %d tokens each\n", file, len,
           n_ids, t_tok, n_chunks, ctx, ctx - 1 - ctx / 2);
    fflush(stdout);

    prog p = {names, quiet, isatty(2) != 0};
    tb_ppl_opts o = {ctx, max_chunks, tb_tokenizer_bos(t), on_progress, &p, threads, nxs};
    if (tb_ppl_run(m, ids, n_ids, bes, n_run, &o, res, &e)) { tb_cli_err(e.msg); goto done; }

    for (int b = 0; b < n_run; b++) {
        printf("%-28s PPL = %.4f +/- %.4f   (%ld tokens scored, %.2f s)\n", names[b], res[b].ppl, res[b].ppl_err,
               res[b].n_scored, res[b].seconds);
        if (res[b].has_kl)
            printf("%-28s KL vs %s: mean %.6g +/- %.2g, max %.6g nats; top-1 agreement %.4f%%\n", "", names[0],
                   res[b].kl_mean, res[b].kl_err, res[b].kl_max, 100.0 * res[b].top1);
    }

    if (out) {
        tb_jw w;
        tb_jw_init(&w);
        tb_jw_obj_begin(&w, NULL);
        tb_jw_str(&w, "kind", "perplexity");
        tb_jw_str(&w, "convention", "llama-perplexity: BOS-first tokenization, non-overlapping chunks, BOS per chunk, "
                                    "KV cleared per chunk, second half scored");
        tb_jw_obj_begin(&w, "model");
        char rp[4096];
        tb_jw_str(&w, "path", realpath(model_path, rp) ? rp : model_path);
        tb_jw_str(&w, "format", m->format);
        tb_jw_str(&w, "arch", m->cfg.arch);
        tb_jw_int(&w, "vocab", m->cfg.vocab);
        tb_jw_obj_end(&w);
        tb_jw_str(&w, "tokenizer", tok_path);
        tb_jw_str(&w, "pre_tokenizer", "llama3 regex");
        tb_jw_str(&w, "file", realpath(file, rp) ? rp : file);
        tb_jw_int(&w, "file_bytes", (long long)len);
        tb_jw_int(&w, "file_tokens", (long long)n_ids);
        tb_jw_int(&w, "ctx", ctx);
        tb_jw_int(&w, "chunks", n_chunks);
        tb_jw_int(&w, "threads", nb ? tb_runner_threads(runners[0]) : 1);
        tb_jw_str(&w, "isa_max", isa_name);
        tb_jw_arr_begin(&w, "runs");
        for (int b = 0; b < n_run; b++) {
            tb_jw_obj_begin(&w, NULL);
            tb_jw_str(&w, "name", names[b]);
            tb_jw_str(&w, "kernel", run_k[b] ? run_k[b]->name : "ref");
            tb_jw_str(&w, "config", run_cfg[b]->name);
            tb_jw_bool(&w, "exact", tb_numcfg_exact(run_cfg[b], run_k[b]));
            tb_jw_num(&w, "ppl", res[b].ppl);
            tb_jw_num(&w, "ppl_stderr", res[b].ppl_err);
            tb_jw_num(&w, "mean_nll", res[b].mean_nll);
            tb_jw_num(&w, "mean_nll_stderr", res[b].nll_err);
            tb_jw_int(&w, "tokens_scored", res[b].n_scored);
            tb_jw_num(&w, "seconds", res[b].seconds);
            char fnv[20];
            snprintf(fnv, sizeof fnv, "%016llx", (unsigned long long)res[b].logits_fnv64);
            tb_jw_str(&w, "logits_fnv64", fnv);
            if (res[b].has_kl) {
                tb_jw_str(&w, "compared_with", names[0]);
                tb_jw_num(&w, "kl_mean", res[b].kl_mean);
                tb_jw_num(&w, "kl_mean_stderr", res[b].kl_err);
                tb_jw_num(&w, "kl_max", res[b].kl_max);
                tb_jw_num(&w, "top1_agreement", res[b].top1);
            }
            tb_jw_obj_end(&w);
        }
        tb_jw_arr_end(&w);
        tb_provenance prov;
        tb_provenance_collect(&prov);
        tb_provenance_write(&w, "provenance", &prov);
        tb_model_prov mprov;
        tb_model_prov_collect(m, &mprov);
        tb_model_prov_write(&w, "model_provenance", &mprov);
        tb_jw_obj_end(&w);
        if (tb_jw_save(&w, out, &e)) {
            tb_cli_err(e.msg);
            tb_jw_free(&w);
            goto done;
        }
        tb_jw_free(&w);
        printf("wrote %s\n", out);
    }
    rc = 0;
done:
    for (int k = 0; k < nb; k++) {
        tb_runner_free(runners[k]);
        tb_numcfg_close(&cruns[k]);
    }
    free(ids);
    free(text);
    tb_tokenizer_free(t);
    tb_model_free(m);
    return rc;
}

/* cmd_paper.c: `ternbench paper`: the 2B4T technical report's Table 1 numbers
 * (memory 0.4 GB, decode 29 ms/token, energy 0.028 J, perplexity 17.109) next
 * to what this machine measures, with the projection assumption stated. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bandwidth.h"
#include "cli.h"
#include "driver.h"
#include "e2e.h"
#include "json.h"
#include "model_prov.h"
#include "paper.h"
#include "ppl.h"
#include "results.h"
#include "runner.h"
#include "sweep.h"
#include "tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench paper [--model PATH] [--threads T] [--target-bw GBPS] [--ppl-chunks N] [-o DIR]\n"
            "       ternbench paper --from results/<run>\n\n"
            "Prints (and saves as paper.json + paper.md) the BitNet b1.58 2B4T report's Table 1 beside\n"
            "this machine: non-embedding weight memory, decode latency measured here and projected to a\n"
            "target machine by the ratio of read bandwidths (assumption: decode is memory-bound), the\n"
            "modelled energy, and perplexity (only with the real weights, which you provide).\n"
            "  --model PATH      model (default: the synthetic 2B4T-shaped model, cached)\n"
            "  --kernel K        kernel for the latency (default: best)\n"
            "  --plugin PATH     kernels from a shared object (repeatable; also TERNBENCH_PLUGINS=a.so:b.so),\n"
            "                    named plugin:<name> (kernels/ternbench_plugin.h)\n"
            "  --threads T       threads (default: all cores)\n"
            "  --decode N        decoded tokens for the latency (default 16)\n"
            "  --target-bw GBPS  target machine bandwidth (default 83.2: i7-13800H, DDR5-5200 x2)\n"
            "  --ppl-chunks N    with --model: WikiText-2 perplexity over N chunks of 512 (0 = skip,\n"
            "                    default; all 500+ chunks reproduce the published setup but take long)\n"
            "  -o DIR            where to write paper.json / paper.md (default: print only)\n"
            "  --from DIR        print the table saved by a sweep (DIR/results.json)\n");
}

static int from_results(const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/results.json", dir);
    char *text;
    size_t len;
    tb_err e;
    if (tb_read_file(path, &text, &len, &e) < 0) {
        tb_cli_err(e.msg);
        return 1;
    }
    tb_json *j = tb_json_parse(text, len, &e);
    free(text);
    if (!j) {
        fprintf(stderr, "ternbench paper: %s: %s\n", path, e.msg);
        return 1;
    }
    const tb_json *rows = tb_json_get(tb_json_get(j, "paper"), "rows");
    if (!rows || rows->type != TB_JSON_ARRAY) {
        fprintf(stderr, "ternbench paper: %s has no paper table\n", path);
        tb_json_free(j);
        return 1;
    }
    tb_paper_row r[16];
    int n = 0;
    for (size_t i = 0; i < rows->len && n < 16; i++, n++) {
        const tb_json *x = tb_json_at(rows, i);
        const char *q = tb_json_get_str(x, "quantity"), *p = tb_json_get_str(x, "published"),
                   *h = tb_json_get_str(x, "here"), *no = tb_json_get_str(x, "note");
        snprintf(r[n].quantity, sizeof r[n].quantity, "%s", q ? q : "?");
        snprintf(r[n].published, sizeof r[n].published, "%s", p ? p : "?");
        snprintf(r[n].here, sizeof r[n].here, "%s", h ? h : "?");
        snprintf(r[n].note, sizeof r[n].note, "%s", no ? no : "");
        const tb_json *cmp = tb_json_get(x, "comparable");
        r[n].comparable = !cmp || cmp->type != TB_JSON_BOOL || cmp->boolean;
    }
    printf("from %s\n", path);
    tb_paper_print(stdout, r, n);
    tb_json_free(j);
    return 0;
}

static void on_line(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

int tb_cmd_paper(int argc, char **argv) {
    const char *model = NULL, *kname = NULL, *th_s = NULL, *bw_s = NULL, *out = NULL, *from = NULL, *pc_s = NULL,
               *nd_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        const char **dst = !strcmp(a, "--model")        ? &model
                           : !strcmp(a, "--kernel")     ? &kname
                           : !strcmp(a, "--threads")    ? &th_s
                           : !strcmp(a, "--target-bw")  ? &bw_s
                           : !strcmp(a, "--ppl-chunks") ? &pc_s
                           : !strcmp(a, "--decode")     ? &nd_s
                           : !strcmp(a, "-o")           ? &out
                           : !strcmp(a, "--from")       ? &from
                                                        : NULL;
        if (!dst) {
            fprintf(stderr, "ternbench paper: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (!(*dst = tb_arg_value(argc, argv, &i))) return 2;
    }
    char *end;
    int threads = tb_ncores(), nd = 16, pchunks = 0;
    double tbw = TB_PAPER_DEFAULT_TARGET_GBPS;
    if ((th_s && tb_cli_threads("paper", th_s, &threads)) ||
        (nd_s && tb_cli_int("paper", "--decode", nd_s, 1, 1024, &nd)) ||
        (pc_s && tb_cli_int("paper", "--ppl-chunks", pc_s, 0, 100000, &pchunks)))
        return 2;
    if (bw_s && (!((tbw = strtod(bw_s, &end)) > 0) || tbw > 1e5 || *end)) {
        fprintf(stderr, "ternbench paper: bad --target-bw '%s' (GB/s)\n", bw_s);
        return 2;
    }
    if (from) { /* renders a sweep's results: the measuring options do not apply */
        const char *const given[] = {model, kname, th_s, pc_s, nd_s, out, bw_s};
        const char *const names[] = {"--model", "--kernel", "--threads", "--ppl-chunks", "--decode", "-o", "--target-bw"};
        for (int i = 0; i < 7; i++)
            if (given[i]) return tb_cli_usage("%s does not apply with --from (which renders an existing results.json)", names[i]);
        return from_results(from);
    }
    if (out && tb_cli_out_dir("paper", "-o", out)) return 2;
    if (pchunks > 0 && !model) {
        fprintf(stderr, "ternbench paper: --ppl-chunks needs --model (perplexity of a synthetic model means nothing)\n");
        return 2;
    }
    tb_err e;
    const tb_kernel *k;
    const int krc = tb_cli_kernel("paper", kname, TB_ISA_ALL, &k);
    if (krc) return krc;
    const char *dd = tb_data_dir();
    char path[1200], tok[1100] = "";
    if (dd) snprintf(tok, sizeof tok, "%s/llama3-tokenizer/tokenizer.json", dd);
    bool synthetic = !model;
    if (!model) {
        if (tb_synth_cached("2b4t", 1, tok[0] ? tok : NULL, path, sizeof path, on_line, NULL, &e) < 0) {
            tb_cli_err(e.msg);
            return 1;
        }
        model = path;
    }
    tb_model *m;
    if (tb_model_load(model, &m, &e) < 0) {
        tb_cli_err(e.msg);
        return 1;
    }
    char src[160];
    size_t llc = tb_llc_bytes(0, src, sizeof src);
    tb_bw_result bw;
    if (tb_bandwidth_measure(llc * 4 > (256u << 20) ? llc * 4 : (256u << 20), (int)threads, 5, &bw, &e) < 0) {
        tb_cli_err(e.msg);
        tb_model_free(m);
        return 1;
    }
    fprintf(stderr, "read bandwidth, %d threads: %.2f GB/s\n", threads, bw.gbps_median);
    tb_e2e_opts o;
    memset(&o, 0, sizeof o);
    o.threads = (int)threads;
    o.n_prompt = 16;
    o.n_decode = (int)nd;
    o.seed = 1;
    o.bw_gbps = bw.gbps_median;
    tb_e2e_result r;
    fprintf(stderr, "decode latency: %s, %d threads, %d tokens...\n", k ? k->name : "ref", threads, nd);
    if (tb_e2e_run(m, k, &o, &r, &e) < 0) {
        tb_cli_err(e.msg);
        tb_model_free(m);
        return 1;
    }
    double ppl = NAN;
    char pnote[300];
    snprintf(pnote, sizeof pnote, "%s",
             synthetic ? "n/a: synthetic model; pass --model ggml-model-i2_s.gguf (real weights) and --ppl-chunks N"
                       : "n/a: pass --ppl-chunks N");
    if (pchunks > 0) {
        char text_path[1200];
        snprintf(text_path, sizeof text_path, "%s/wikitext-2-raw/wiki.test.raw", dd ? dd : ".");
        tb_tokenizer *t = NULL;
        char *text = NULL;
        size_t tl = 0, nids = 0;
        int32_t *ids = NULL;
        tb_runner *run = NULL;
        int prc = -1;
        if ((m->gguf ? tb_tokenizer_from_gguf(m->gguf, &t, &e) : tb_tokenizer_load(model, &t, &e)) == 0 &&
            tb_read_file(text_path, &text, &tl, &e) == 0 && tb_tokenize(t, text, tl, true, false, &ids, &nids, &e) == 0 &&
            (!k || tb_runner_new(m, k, (int)threads, &run, &e) == 0)) {
            const tb_backend *be = run ? tb_runner_backend(run) : NULL;
            tb_ppl_opts po;
            memset(&po, 0, sizeof po);
            po.ctx = 512;
            po.max_chunks = (int)pchunks;
            po.bos = m->cfg.bos;
            tb_ppl_result pr;
            prc = tb_ppl_run(m, ids, nids, &be, 1, &po, &pr, &e);
            if (prc == 0) {
                ppl = pr.ppl;
                snprintf(pnote, sizeof pnote, "+- %.4f over %d chunk%s of 512 (the published figure uses all chunks)",
                         pr.ppl_err, pr.n_chunks, pr.n_chunks > 1 ? "s" : "");
            }
        }
        if (prc != 0) snprintf(pnote, sizeof pnote, "n/a: %.280s", e.msg);
        tb_runner_free(run);
        free(ids);
        free(text);
        tb_tokenizer_free(t);
    }
    tb_paper_in in;
    tb_paper_inputs(&in, &m->cfg, k, r.ms_per_token_mean, (int)threads, bw.gbps_median, bw_s ? tbw : 0, ppl, pnote);
    tb_paper_row rows[8];
    int n = tb_paper_table(&in, rows, 8);
    printf("BitNet b1.58 2B4T technical report (arXiv 2504.12285) Table 1 vs this machine\n");
    printf("model: %s%s\n", model, synthetic ? " (synthetic, 2B4T shape)" : "");
    tb_paper_print(stdout, rows, n);
    int rc = 0;
    if (out) {
        if (tb_mkdir_p(out, &e) < 0) {
            tb_cli_err(e.msg);
            tb_model_free(m);
            return 1;
        }
        tb_jw w;
        tb_jw_begin_result(&w, "ternbench paper");
        tb_jw_str(&w, "model", model);
        tb_model_prov mprov;
        tb_model_prov_collect(m, &mprov);
        tb_model_prov_write(&w, "model_provenance", &mprov);
        tb_jw_arr_begin(&w, "e2e");
        tb_e2e_write(&w, &r);
        tb_jw_arr_end(&w);
        tb_paper_write(&w, "paper", rows, n, &in);
        tb_jw_obj_end(&w);
        char jp[1200], mp[1200];
        snprintf(jp, sizeof jp, "%s/paper.json", out);
        snprintf(mp, sizeof mp, "%s/paper.md", out);
        if (tb_jw_save(&w, jp, &e) < 0) {
            tb_cli_err(e.msg);
            rc = 1;
        }
        tb_jw_free(&w);
        tb_out f;
        if (tb_out_open(&f, mp, &e) == 0) tb_paper_markdown(f.f, rows, n);
        if (!f.f || tb_out_commit(&f, &e) < 0) {
            tb_cli_err(e.msg);
            rc = 1;
        }
    }
    tb_model_free(m);
    return rc;
}

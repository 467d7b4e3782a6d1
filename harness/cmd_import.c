/* cmd_import.c: `ternbench import-llama-bench`: a peer's own measurements (llama-bench's
 * `-o json` output, llama-perplexity's "Final estimate" line) as a ternbench result file,
 * labelled as imported, so they sit beside ternbench's rows in summaries and plots
 * (scripts/plot_results.py reads RUN/imported-*.json; scripts/peers_report.py uses this
 * command as its one llama-bench parser). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "results.h"
#include "tb_hash.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench import-llama-bench [FILE.json] [--ppl LOG] [--engine NAME] [-o OUT.json]\n\n"
            "Reads a peer engine's own measurements and writes them as a ternbench result, every row\n"
            "labelled \"NAME (imported)\": they were measured by the peer, not by ternbench.\n"
            "  FILE.json     llama-bench -o json output (bitnet.cpp, llama.cpp, ik_llama.cpp); log text\n"
            "                before the JSON array is skipped.  One row per test: ppN -> prefill tok/s,\n"
            "                tgN -> decode tok/s, with llama-bench's stddev and per-repetition samples\n"
            "  --ppl LOG     llama-perplexity's output; its line \"Final estimate: PPL = X +/- Y\"\n"
            "  --engine NAME the label (default llama-bench), e.g. bitnet.cpp\n"
            "  -o OUT.json   where to write (- = standard output).  Written as RUN/imported-NAME.json\n"
            "                beside a sweep's results.json, the rows appear in that run's summary.md\n"
            "                and decode plot (scripts/plot_results.py RUN).  Without -o: a table only\n"
            "Exit status: 0 imported, 1 a file that cannot be read or parsed, 2 usage error.\n");
}

typedef struct src {
    const char *path;
    char sha256[65];
} src;

/* The JSON array of a llama-bench -o json output: from the first line that starts with '['. */
static const char *json_start(const char *text) {
    if (text[0] == '[') return text;
    const char *p = strstr(text, "\n[");
    return p ? p + 1 : NULL;
}

static double num_or_nan(const tb_json *o, const char *k) { return tb_json_get_num(o, k, NAN); }

/* Checks that every row is a llama-bench test result; fills why on the first bad one. */
static int check_rows(const tb_json *rows, const char *path, tb_err *e) {
    if (!rows || rows->type != TB_JSON_ARRAY) return tb_fail(e, "%s: not llama-bench -o json output (no array)", path);
    if (rows->len == 0) return tb_fail(e, "%s: llama-bench output has no test rows", path);
    static const char *const need[] = {"n_prompt", "n_gen", "n_threads", "avg_ts"};
    for (size_t i = 0; i < rows->len; i++) {
        const tb_json *r = tb_json_at(rows, i);
        for (int k = 0; k < 4; k++)
            if (!(num_or_nan(r, need[k]) == num_or_nan(r, need[k])))
                return tb_fail(e, "%s: row %zu has no number \"%s\" (not llama-bench -o json output?)", path, i,
                               need[k]);
        if (num_or_nan(r, "n_prompt") <= 0 && num_or_nan(r, "n_gen") <= 0)
            return tb_fail(e, "%s: row %zu has n_prompt = n_gen = 0", path, i);
    }
    return 0;
}

static void peer_info(tb_jw *w, const tb_json *r) {
    static const char *const str_keys[] = {"build_commit", "cpu_info", "gpu_info", "model_filename", "model_type",
                                           "type_k", "type_v", NULL};
    static const char *const num_keys[] = {"build_number", "model_size", "model_n_params", "n_batch", "n_ubatch", NULL};
    tb_jw_obj_begin(w, "peer");
    for (int i = 0; str_keys[i]; i++) tb_jw_str(w, str_keys[i], tb_json_get_str(r, str_keys[i]));
    for (int i = 0; num_keys[i]; i++) tb_jw_num(w, num_keys[i], num_or_nan(r, num_keys[i]));
    tb_jw_obj_end(w);
}

/* One e2e row per llama-bench test: ppN fills prefill, tgN decode (ppN+tgM: combined). */
static void e2e_row(tb_jw *w, const tb_json *r, const char *label, FILE *tbl) {
    int np = (int)num_or_nan(r, "n_prompt"), ng = (int)num_or_nan(r, "n_gen");
    double ts = num_or_nan(r, "avg_ts"), sd = num_or_nan(r, "stddev_ts");
    char test[48];
    if (np > 0 && ng > 0) snprintf(test, sizeof test, "pp%d+tg%d", np, ng);
    else snprintf(test, sizeof test, np > 0 ? "pp%d" : "tg%d", np > 0 ? np : ng);
    const bool pp = np > 0 && ng == 0, tg = ng > 0 && np == 0;
    tb_jw_obj_begin(w, NULL);
    tb_jw_str(w, "kernel", label);
    tb_jw_bool(w, "imported", true);
    tb_jw_str(w, "test", test);
    tb_jw_int(w, "threads", (long long)num_or_nan(r, "n_threads"));
    tb_jw_int(w, "n_prompt", np);
    tb_jw_int(w, "n_decode", ng);
    tb_jw_num(w, "prefill_tok_s", pp ? ts : NAN);
    tb_jw_num(w, "prefill_tok_s_sd", pp ? sd : NAN);
    tb_jw_num(w, "decode_tok_s", tg ? ts : NAN);
    tb_jw_num(w, "decode_tok_s_sd", tg ? sd : NAN);
    tb_jw_num(w, "ms_per_token", tg && ts > 0 ? 1e3 / ts : NAN);
    tb_jw_num(w, "combined_tok_s", !pp && !tg ? ts : NAN);
    const tb_json *s = tb_json_get(r, "samples_ts");
    tb_jw_int(w, "reps", s && s->type == TB_JSON_ARRAY ? (long long)s->len : 0);
    tb_jw_arr_begin(w, "samples_tok_s");
    for (size_t i = 0; s && s->type == TB_JSON_ARRAY && i < s->len; i++) tb_jw_num(w, NULL, tb_json_at(s, i)->number);
    tb_jw_arr_end(w);
    tb_jw_str(w, "kv_cache", tb_json_get_str(r, "type_k"));
    tb_jw_str(w, "test_time", tb_json_get_str(r, "test_time"));
    tb_jw_obj_end(w);
    fprintf(tbl, "| %-24s | %7d | %-12s | %10.2f +- %-8.2f |\n", label, (int)num_or_nan(r, "n_threads"), test, ts, sd);
}

/* "Final estimate: PPL = X +/- Y": the last such line of a llama-perplexity log. */
static int read_ppl(const char *path, double *ppl, double *err, tb_err *e) {
    char *text;
    size_t len;
    if (tb_read_file(path, &text, &len, e) < 0) return -1;
    const char *key = "Final estimate: PPL = ", *p = text, *last = NULL;
    while ((p = strstr(p, key)) != NULL) last = p++;
    int ok = last && sscanf(last + strlen(key), "%lf +/- %lf", ppl, err) == 2 && *ppl > 0 && isfinite(*ppl);
    free(text);
    return ok ? 0 : tb_fail(e, "%s: no line \"Final estimate: PPL = X +/- Y\" (llama-perplexity's last line)", path);
}

static int load_bench(const char *path, tb_json **out, tb_err *e) {
    char *text;
    size_t len;
    *out = NULL;
    if (tb_read_file(path, &text, &len, e) < 0) return -1;
    const char *j = json_start(text);
    if (!j) {
        free(text);
        return tb_fail(e, "%s: no JSON array (a line starting with '['): not llama-bench -o json output", path);
    }
    tb_json *rows = tb_json_parse(j, len - (size_t)(j - text), e);
    free(text);
    if (!rows) return -1;
    if (check_rows(rows, path, e) < 0) {
        tb_json_free(rows);
        return -1;
    }
    *out = rows;
    return 0;
}

static void sources(tb_jw *w, const char *bench, const char *ppl) {
    tb_jw_arr_begin(w, "sources");
    const char *const paths[2] = {bench, ppl};
    const char *const kinds[2] = {"llama-bench -o json", "llama-perplexity output"};
    for (int i = 0; i < 2; i++) {
        if (!paths[i]) continue;
        char hex[65];
        tb_err e;
        tb_jw_obj_begin(w, NULL);
        tb_jw_str(w, "path", paths[i]);
        tb_jw_str(w, "kind", kinds[i]);
        tb_jw_str(w, "sha256", tb_sha256_file(paths[i], hex, &e) == 0 ? hex : NULL);
        tb_jw_obj_end(w);
    }
    tb_jw_arr_end(w);
}

/* tbl: where the human-readable table goes (standard error when the JSON is on stdout). */
static int write_result(const char *out, const char *engine, const char *label, const char *bench, const tb_json *rows,
                        const char *ppl_path, double ppl, double ppl_err, FILE *tbl) {
    tb_jw w;
    tb_jw_init(&w);
    tb_jw_obj_begin(&w, NULL);
    tb_jw_str(&w, "schema", "ternbench-imported/1");
    tb_jw_str(&w, "tool", "ternbench import-llama-bench");
    tb_jw_bool(&w, "imported", true);
    tb_jw_str(&w, "engine", engine);
    tb_jw_str(&w, "label", label);
    tb_jw_str(&w, "note", "measured by the peer engine itself, not by ternbench; imported unchanged");
    sources(&w, bench, ppl_path);
    tb_provenance prov;
    tb_provenance_collect(&prov);
    tb_provenance_write(&w, "imported_by", &prov);
    if (rows) peer_info(&w, tb_json_at(rows, 0));
    if (rows) fprintf(tbl, "| %-24s | threads | test         | tokens/s               |\n", "engine");
    tb_jw_arr_begin(&w, "e2e");
    for (size_t i = 0; rows && i < rows->len; i++) e2e_row(&w, tb_json_at(rows, i), label, tbl);
    tb_jw_arr_end(&w);
    tb_jw_arr_begin(&w, "ppl");
    if (ppl_path) {
        tb_jw_obj_begin(&w, NULL);
        tb_jw_str(&w, "kernel", label);
        tb_jw_bool(&w, "imported", true);
        tb_jw_num(&w, "ppl", ppl);
        tb_jw_num(&w, "ppl_stderr", ppl_err);
        tb_jw_null(&w, "kl");
        tb_jw_null(&w, "top1");
        tb_jw_str(&w, "why", "imported: llama-perplexity's final estimate (its own tokenization and chunking)");
        tb_jw_obj_end(&w);
        fprintf(tbl, "%s: perplexity %.4f +- %.5f\n", label, ppl, ppl_err);
    }
    tb_jw_arr_end(&w);
    tb_jw_obj_end(&w);
    tb_err e;
    int rc = 0;
    if (out && tb_jw_save(&w, out, &e) < 0) {
        tb_cli_err(e.msg);
        rc = 1;
    }
    tb_jw_free(&w);
    return rc;
}

int tb_cmd_import_llama_bench(int argc, char **argv) {
    const char *bench = NULL, *ppl_path = NULL, *engine = "llama-bench", *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        const char **dst = !strcmp(a, "--ppl") ? &ppl_path : !strcmp(a, "--engine") ? &engine : !strcmp(a, "-o") ? &out : NULL;
        if (dst) {
            if (!(*dst = tb_arg_value(argc, argv, &i))) return 2;
        } else if (a[0] == '-' && a[1]) {
            return tb_cli_usage("unknown option '%s' (see --help)", a);
        } else if (bench) {
            return tb_cli_usage("one llama-bench file at a time ('%s' and '%s')", bench, a);
        } else {
            bench = a;
        }
    }
    if (!bench && !ppl_path) return tb_cli_usage("give a llama-bench JSON file, --ppl LOG, or both (see --help)");
    if (!engine[0] || strlen(engine) > 64) return tb_cli_usage("--engine needs a name of 1 to 64 characters");
    if (out && tb_cli_out_file("import-llama-bench", "-o", out, true)) return 2;
    tb_err e;
    tb_json *rows = NULL;
    double ppl = NAN, ppl_err = NAN;
    if ((bench && load_bench(bench, &rows, &e) < 0) || (ppl_path && read_ppl(ppl_path, &ppl, &ppl_err, &e) < 0)) {
        tb_cli_err(e.msg);
        tb_json_free(rows);
        return 1;
    }
    char label[96];
    snprintf(label, sizeof label, "%s (imported)", engine);
    FILE *tbl = out && !strcmp(out, "-") ? stderr : stdout; /* the JSON owns standard output */
    int rc = write_result(out, engine, label, bench, rows, ppl_path, ppl, ppl_err, tbl);
    tb_json_free(rows);
    return rc;
}

/* cmd_frontier.c: `ternbench frontier`: every numeric configuration on speed against
 * accuracy, in one run (frontier.h), as a table, results.json and a plot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "driver.h"
#include "frontier.h"
#include "model_prov.h"
#include "sweep.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench frontier [--config LIST] [--preset 2b4t|tiny|none | --speed-model PATH] [options]\n\n"
            "Places every numeric configuration (`ternbench check --configs`; docs/approximations.md) on\n"
            "decode speed against accuracy, in one run: perplexity, mean/max KL and top-1 agreement\n"
            "against the exact scalar reference on the trained model's held-out text, then decode and\n"
            "prefill tokens/s and bytes read per token on the trained model and on a full-shape model\n"
            "(speed only there: a synthetic model's perplexity means nothing).  Prints a table per\n"
            "model with the Pareto front and the fastest configuration at < 1%% perplexity cost.\n\n"
            "  --config LIST     configurations: names, globs, a comma list or 'all' (default all)\n"
            "  --model PATH      accuracy model (default: the trained model, %s)\n"
            "  --text PATH       its held-out text (default %s)\n"
            "  --preset NAME     full-shape speed model: 2b4t (default; synthesized once, cached),\n"
            "                    tiny, or none\n"
            "  --speed-model P   a model file for the speed table instead of --preset\n"
            "  --threads N       threads (default 0 = all cores)\n"
            "  --prompt N        prefill tokens (default 32)     --decode N   decoded tokens (default 16)\n"
            "  -r, --reps N      measured repetitions (default 2, after a warm-up)\n"
            "  --ctx N           perplexity chunk length (default 256)\n"
            "  --chunks N        perplexity chunks (default 4)\n"
            "  --isa-max ISA     restrict kernels to an ISA level: " TB_CLI_ISA_NAMES "\n"
            "  -o DIR            write DIR/results.json (with provenance), DIR/frontier.md and the plot\n"
            "                    DIR/frontier.png (scripts/plot_results.py)\n\n"
            "Exit status: 0 ok, 1 failure, 2 usage error.\n",
            TB_TRAINED_MODEL, TB_TRAINED_HELDOUT);
}

static void on_line(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

static int write_results(const char *dir, const tb_frontier *f, tb_err *e) {
    tb_jw w;
    tb_jw_init(&w);
    tb_jw_obj_begin(&w, NULL);
    tb_jw_str(&w, "schema", "ternbench-results/1");
    tb_jw_str(&w, "tool", "ternbench frontier");
    tb_provenance prov;
    tb_provenance_collect(&prov);
    tb_provenance_write(&w, "provenance", &prov);
    tb_frontier_json(&w, "frontier", f);
    tb_jw_obj_end(&w);
    char path[1300];
    snprintf(path, sizeof path, "%s/results.json", dir);
    const int rc = tb_jw_save(&w, path, e);
    tb_jw_free(&w);
    if (rc < 0) return -1;
    snprintf(path, sizeof path, "%s/frontier.md", dir);
    FILE *md = fopen(path, "w");
    if (!md) return tb_fail(e, "%s: cannot write", path);
    tb_frontier_print(md, f);
    if (fclose(md) != 0) return tb_fail(e, "%s: write failed", path);
    return 0;
}

static int speed_model_path(const char *preset, char *path, size_t n) {
    char tok[1100] = "";
    const char *dd = tb_data_dir();
    if (dd) snprintf(tok, sizeof tok, "%s/llama3-tokenizer/tokenizer.json", dd);
    tb_err e = {{0}};
    if (tb_synth_cached(preset, 1, tok[0] ? tok : NULL, path, n, on_line, NULL, &e) < 0) {
        fprintf(stderr, "ternbench frontier: %s\n", e.msg);
        return -1;
    }
    return 0;
}

int tb_cmd_frontier(int argc, char **argv) {
    tb_frontier_opts o = {.acc_model = TB_TRAINED_MODEL, .acc_text = TB_TRAINED_HELDOUT, .ctx = 256, .chunks = 4,
                          .n_prompt = 32, .n_decode = 16, .reps = 2, .progress = on_line};
    const char *preset = "2b4t", *out = NULL, *isa = NULL, *v;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--config")) { if (!(o.configs = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--model")) { if (!(o.acc_model = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--text")) { if (!(o.acc_text = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--preset")) { if (!(preset = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--speed-model")) { if (!(o.speed_model = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--isa-max")) { if (!(isa = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "-o")) { if (!(out = tb_arg_value(argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--threads")) { if (!(v = tb_arg_value(argc, argv, &i)) || tb_cli_threads("frontier", v, &threads)) return 2; }
        else if (!strcmp(a, "--prompt")) { if (!(v = tb_arg_value(argc, argv, &i)) || tb_cli_int("frontier", a, v, 1, 4096, &o.n_prompt)) return 2; }
        else if (!strcmp(a, "--decode")) { if (!(v = tb_arg_value(argc, argv, &i)) || tb_cli_int("frontier", a, v, 1, 4096, &o.n_decode)) return 2; }
        else if (!strcmp(a, "-r") || !strcmp(a, "--reps")) { if (!(v = tb_arg_value(argc, argv, &i)) || tb_cli_int("frontier", a, v, 1, 1000, &o.reps)) return 2; }
        else if (!strcmp(a, "--ctx")) { if (!(v = tb_arg_value(argc, argv, &i)) || tb_cli_int("frontier", a, v, 4, 1 << 20, &o.ctx)) return 2; }
        else if (!strcmp(a, "--chunks")) { if (!(v = tb_arg_value(argc, argv, &i)) || tb_cli_int("frontier", a, v, 1, 1 << 30, &o.chunks)) return 2; }
        else return tb_cli_usage("unknown option '%s' (see --help)", a);
    }
    if (strcmp(preset, "2b4t") && strcmp(preset, "tiny") && strcmp(preset, "none"))
        return tb_cli_usage("unknown --preset '%s' (2b4t, tiny or none)", preset);
    if (tb_cli_isa_mask("frontier", isa, &o.isa_mask)) return 2;
    if (out && tb_cli_out_dir("frontier", "-o", out)) return 2;
    tb_err e = {{0}};
    const tb_numcfg *sel[TB_NUMCFG_MAX];
    if (tb_numcfg_select(o.configs ? o.configs : "all", sel, TB_NUMCFG_MAX, &e) < 0) return tb_cli_usage("%s", e.msg);
    o.threads = threads > 0 ? threads : tb_ncores();
    char spath[1200];
    if (!o.speed_model && strcmp(preset, "none")) {
        if (speed_model_path(preset, spath, sizeof spath) < 0) return 1;
        o.speed_model = spath;
    }
    tb_frontier *f = malloc(sizeof *f);
    if (!f) return tb_cli_usage("out of memory");
    int rc = 1;
    if (tb_frontier_run(&o, f, &e) < 0) {
        tb_cli_err(e.msg);
    } else {
        printf("\n");
        tb_frontier_print(stdout, f);
        rc = 0;
        if (out && (tb_mkdir_p(out, &e) < 0 || write_results(out, f, &e) < 0)) {
            tb_cli_err(e.msg);
            rc = 1;
        } else if (out) {
            printf("\nwrote %s/results.json and %s/frontier.md\n", out, out);
            fflush(stdout);
            tb_cli_run_plots("frontier", out);
        }
    }
    free(f);
    return rc;
}

/* cmd_sweep.c: `ternbench sweep`: bandwidth, kernel checker + benchmarks,
 * end-to-end, perplexity, modelled energy and the paper table into
 * results/<run>/, then the plots (scripts/plot_results.py). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bandwidth.h"
#include "bench.h"
#include "cli.h"
#include "numcfg.h"
#include "driver.h" /* TB_POOL_MAX */
#include "results.h"
#include "sweep.h"

extern char **environ;

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench sweep [--quick] [--model PATH] [-o results/<run>] [options]\n\n"
            "The main job.  Measures the read bandwidth, runs the kernel checker and the kernel\n"
            "benchmarks (every kernel x 2B4T GEMV shape x threads, weights cold), end-to-end decode\n"
            "and batched prefill per kernel, perplexity/KL/top-1 per kernel (when the shared data\n"
            "has WikiText-2 and a tokenizer), the speed/accuracy frontier of the numeric\n"
            "configurations, the modelled energy and the paper table; writes\n"
            "results.json (with provenance) and gbench.json, then the plots.\n\n"
            "  --quick            the trained tiny model (models/austen-tiny; the tiny synthetic one if the\n"
            "                     build has not expanded it), 3 shapes, short timings (about a minute)\n"
            "  --model PATH       a model (.gguf or HF dir) instead of the synthetic one; the default\n"
            "                     sweep generates the 2B4T-shaped synthetic model once and caches it\n"
            "                     ($TERNBENCH_CACHE or ~/.cache/ternbench)\n"
            "  -o, --out DIR      results directory (default results/<date>-<host>[-quick])\n"
            "  --kernel GLOB      only these kernels\n"
            "  --plugin PATH     kernels from a shared object (repeatable; also TERNBENCH_PLUGINS=a.so:b.so),\n"
            "                    named plugin:<name> (kernels/ternbench_plugin.h)\n"
            "  --threads-max N    largest thread count (default: all cores)\n"
            "  --llc-bytes SIZE   cache size to defeat (default: sysfs L3 if <= 256M, else 64M)\n"
            "  --seed N           data seed (default 1)\n"
            "  --own-timer        the harness timer instead of Google Benchmark\n"
            "  --no-ppl           skip the perplexity step (and the frontier's accuracy)\n"
            "  --no-frontier      skip the frontier of the numeric configurations (speed vs KL,\n"
            "                     `ternbench frontier`; written to frontier.md and frontier.png)\n"
            "  --config LIST      the frontier's configurations (names, globs, comma list; default all)\n"
            "  --no-plots         do not run scripts/plot_results.py\n"
            "  --target-bw GBPS   bandwidth of the machine the paper-table latency is projected to\n"
            "                     (default 83.2: i7-13800H, DDR5-5200 dual channel, theoretical)\n"
            "Plots can be regenerated from the JSON alone: scripts/plot_results.py results/<run>\n");
}

/* ---- the results directory appears complete or not at all ------------------------
 * The sweep writes into a staging directory beside -o DIR ("DIR.partial-PID"), whose
 * files are moved into DIR only when the sweep succeeded; a failure or Ctrl-C removes
 * the staging directory, so DIR is never left empty or holding a partial run. */
static char staging[4200];

static void remove_tree(const char *dir) { /* _Fork + execve: async-signal-safe (fork is not: its
                                           * atfork handlers take locks another thread may hold) */
    pid_t pid = _Fork();
    if (pid == 0) {
        char *const argv[] = {"/bin/rm", "-rf", (char *)dir, NULL};
        char *const envp[] = {NULL};
        execve(argv[0], argv, envp);
        _exit(127);
    }
    if (pid > 0) waitpid(pid, NULL, 0);
}

static void on_signal(int sig) {
    if (staging[0]) remove_tree(staging);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int stage_begin(const char *out) {
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/') n--;
    snprintf(staging, sizeof staging, "%.*s.partial-%ld", (int)n, out, (long)getpid());
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
    return 0;
}

/* Moves every file of the staging directory into out (created if needed). */
static int stage_commit(const char *out, tb_err *e) {
    if (tb_mkdir_p(out, e) < 0) return -1;
    DIR *d = opendir(staging);
    if (!d) return tb_fail(e, "%s: %s", staging, strerror(errno));
    int rc = 0;
    for (struct dirent *de; rc == 0 && (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char from[4500], to[4500];
        snprintf(from, sizeof from, "%s/%s", staging, de->d_name);
        snprintf(to, sizeof to, "%s/%s", out, de->d_name);
        if (rename(from, to) != 0) rc = tb_fail(e, "%s: cannot move into %s: %s", from, out, strerror(errno));
    }
    closedir(d);
    if (rc == 0) {
        rmdir(staging);
        staging[0] = 0;
    }
    return rc;
}

static double t0;
static void progress(void *user, const char *line) {
    (void)user;
    fprintf(stderr, "[%6.1fs] %s\n", tb_now() - t0, line);
}

int tb_cmd_sweep(int argc, char **argv) {
    tb_sweep_opts o;
    memset(&o, 0, sizeof o);
    o.seed = 1;
    o.use_gbench = tb_bench_have_gbench();
    bool plots = true;
    const char *llc = NULL, *tmax = NULL, *seed = NULL, *tbw = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--quick")) o.quick = true;
        else if (!strcmp(a, "--own-timer")) o.use_gbench = false;
        else if (!strcmp(a, "--no-ppl")) o.skip_ppl = true;
        else if (!strcmp(a, "--no-frontier")) o.skip_frontier = true;
        else if (!strcmp(a, "--config")) {
            if (!(o.configs = tb_arg_value(argc, argv, &i))) return 2;
            tb_err ce = {{0}};
            const tb_numcfg *sel[TB_NUMCFG_MAX];
            if (tb_numcfg_select(o.configs, sel, TB_NUMCFG_MAX, &ce) < 0) return tb_cli_usage("%s", ce.msg);
        }
        else if (!strcmp(a, "--no-plots")) plots = false;
        else if (!strcmp(a, "--model")) {
            if (!(o.model = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
            if (!(o.out_dir = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--kernel")) {
            if (!(o.kernel_glob = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--llc-bytes")) {
            if (!(llc = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--threads-max")) {
            if (!(tmax = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--seed")) {
            if (!(seed = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--target-bw")) {
            if (!(tbw = tb_arg_value(argc, argv, &i))) return 2;
        } else {
            fprintf(stderr, "ternbench sweep: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    char *end;
    if (llc && !(o.llc_bytes = tb_parse_size(llc))) {
        fprintf(stderr, "ternbench sweep: bad --llc-bytes '%s' (e.g. 32M)\n", llc);
        return 2;
    }
    if (tmax && tb_cli_int("sweep", "--threads-max", tmax, 1, TB_POOL_MAX, &o.max_threads)) return 2;
    if (seed) {
        unsigned long long v = strtoull(seed, &end, 10);
        if (*end || !*seed) {
            fprintf(stderr, "ternbench sweep: bad --seed '%s'\n", seed);
            return 2;
        }
        o.seed = v;
    }
    if (tbw) {
        double v = strtod(tbw, &end);
        if (*end || !(v > 0) || v > 1e5) {
            fprintf(stderr, "ternbench sweep: bad --target-bw '%s' (GB/s)\n", tbw);
            return 2;
        }
        o.bw_target_gbps = v;
    }
    if (o.kernel_glob && *o.kernel_glob) { /* a glob that names no kernel is a usage error: fail before any work */
        int matched = 0;
        for (int k = 0; k < tb_n_kernels; k++) matched += tb_glob_match(o.kernel_glob, tb_kernels[k]->name);
        if (!matched) {
            fprintf(stderr, "ternbench sweep: --kernel %s matches no registered kernel (see `ternbench check --list`)\n",
                    o.kernel_glob);
            return 2;
        }
    }
    char outbuf[512];
    if (!o.out_dir) {
        char host[64] = "host", date[32];
        gethostname(host, sizeof host);
        host[sizeof host - 1] = 0;
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(date, sizeof date, "%Y%m%d-%H%M%S", &tm);
        snprintf(outbuf, sizeof outbuf, "results/%s-%s%s", date, host, o.quick ? "-quick" : "");
        o.out_dir = outbuf;
    }
    if (tb_cli_out_dir("sweep", "-o", o.out_dir)) return 2;
    o.data_dir = tb_data_dir();
    o.progress = progress;
    t0 = tb_now();
    if (!o.use_gbench) fprintf(stderr, "sweep: timing with the harness's own timer (%s)\n", tb_bench_timer_name(false));
    tb_err e;
    const char *out_dir = o.out_dir;
    stage_begin(out_dir);
    o.out_dir = staging;
    if (tb_sweep_run(&o, &e) < 0 || stage_commit(out_dir, &e) < 0) {
        tb_cli_err(e.msg);
        if (staging[0]) remove_tree(staging);
        return 1;
    }
    o.out_dir = out_dir;
    int rc = plots ? tb_cli_run_plots("sweep", o.out_dir) : 0;
    fprintf(stderr, "sweep: done in %.0f s -> %s/\n", tb_now() - t0, o.out_dir);
    return rc;
}

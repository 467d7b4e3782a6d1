/* cli_common.c: option handling shared by the subcommands: integers in a range,
 * --isa-max names, --kernel resolution with the usage-error/failure split, and
 * loading a model with its kernel runner (tb_cli_open).  Each helper prints its own one-line
 * error prefixed "ternbench CMD: " (this is CLI code, so it may print). */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "driver.h" /* TB_POOL_MAX: the thread pool's limit */
#include "kernel.h"
#include "model.h"
#include "runner.h"
#include "tune.h"
#include "numcfg.h"
#include "tokenizer.h"

int tb_cli_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "ternbench %s: %s wants an integer in %d..%d, got '%s'\n", cmd, opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int tb_cli_threads(const char *cmd, const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > TB_POOL_MAX) {
        fprintf(stderr, "ternbench %s: --threads wants an integer in 0..%d (0 = all cores), got '%s'\n", cmd,
                TB_POOL_MAX, s);
        return -1;
    }
    const int cores = tb_ncores();
    *out = v ? (int)v : (cores < TB_POOL_MAX ? cores : TB_POOL_MAX);
    return 0;
}

int tb_cli_thread_list(const char *cmd, const char *s, int *out, int max) {
    int32_t *v = NULL;
    tb_err e;
    const int n = tb_parse_int_list(s, &v, &e);
    if (n < 0) {
        fprintf(stderr, "ternbench %s: --threads wants thread counts like 1,2,4 (0 = all cores): %s\n", cmd, e.msg);
        return -1;
    }
    int rc = n;
    if (n > max) {
        fprintf(stderr, "ternbench %s: --threads: more than %d thread counts\n", cmd, max);
        rc = -1;
    }
    for (int i = 0; i < n && rc >= 0; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", (int)v[i]);
        if (tb_cli_threads(cmd, num, &out[i])) rc = -1;
    }
    free(v);
    return rc;
}

/* The directory part of path ("." when it has none) into dir. */
static void dir_of(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, cap, ".");
    else if (slash == path) snprintf(dir, cap, "/");
    else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

int tb_cli_out_file(const char *cmd, const char *opt, const char *path, bool allow_stdout) {
    struct stat st;
    char dir[4096];
    if (!strcmp(path, "-")) {
        if (allow_stdout) return 0;
        fprintf(stderr, "ternbench %s: %s -: this output cannot go to standard output; give a file name\n", cmd, opt);
        return -1;
    }
    if (!*path) {
        fprintf(stderr, "ternbench %s: %s: empty path\n", cmd, opt);
        return -1;
    }
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "ternbench %s: %s %s: is a directory (give a file name)\n", cmd, opt, path);
            return -1;
        }
        if (S_ISREG(st.st_mode) || access(path, W_OK) == 0) { /* devices, FIFOs: written in place */
            dir_of(path, dir, sizeof dir);
            if (!S_ISREG(st.st_mode) || access(dir, W_OK | X_OK) == 0) return 0;
        }
    }
    dir_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ternbench %s: %s %s: directory %s does not exist\n", cmd, opt, path, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "ternbench %s: %s %s: cannot write in %s: %s\n", cmd, opt, path, dir, strerror(errno));
        return -1;
    }
    return 0;
}

int tb_cli_out_dir(const char *cmd, const char *opt, const char *path) {
    char p[4096];
    struct stat st;
    if (!*path || snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
        fprintf(stderr, "ternbench %s: %s: empty or too long a path\n", cmd, opt);
        return -1;
    }
    for (;;) { /* the nearest existing ancestor must be a writable directory */
        if (stat(p, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                fprintf(stderr, "ternbench %s: %s %s: %s is not a directory\n", cmd, opt, path, p);
                return -1;
            }
            if (access(p, W_OK | X_OK) != 0) {
                fprintf(stderr, "ternbench %s: %s %s: cannot write in %s: %s\n", cmd, opt, path, p, strerror(errno));
                return -1;
            }
            return 0;
        }
        char *slash = strrchr(p, '/');
        while (slash && slash > p && slash[1] == 0) { /* trailing slashes */
            *slash = 0;
            slash = strrchr(p, '/');
        }
        if (!slash) snprintf(p, sizeof p, ".");
        else if (slash == p) p[1] = 0;
        else *slash = 0;
    }
}

void tb_cli_err(const char *msg) {
    /* the library tags some messages with its module ("bench: ..."): one prefix is enough */
    static const char *const tags[] = {"bench", "bandwidth", "e2e", "sweep", "results", "check", "ppl", "paper"};
    size_t n = strlen(tb_cli_cmd);
    for (int again = 1; again;) {
        again = 0;
        if (n && !strncmp(msg, tb_cli_cmd, n) && !strncmp(msg + n, ": ", 2)) msg += n + 2, again = 1;
        for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
            size_t k = strlen(tags[t]);
            if (!strncmp(msg, tags[t], k) && !strncmp(msg + k, ": ", 2)) msg += k + 2, again = 1;
        }
    }
    fprintf(stderr, "ternbench%s%s: %s\n", n ? " " : "", tb_cli_cmd, msg);
}

bool tb_cli_is_glob(const char *s) { return s && strpbrk(s, "*?[") != NULL; }

/* A glob --kernel to the one registered kernel it matches; else prints why, returns 2. */
static int kernel_glob_one(const char *cmd, const char *glob, const char **name) {
    int n = 0;
    char some[256] = "";
    for (int k = 0; k < tb_n_kernels; k++) {
        if (!tb_glob_match(glob, tb_kernels[k]->name)) continue;
        if (n++ == 0) *name = tb_kernels[k]->name;
        if (strlen(some) + strlen(tb_kernels[k]->name) + 3 < sizeof some)
            snprintf(some + strlen(some), sizeof some - strlen(some), "%s%s", n > 1 ? ", " : "", tb_kernels[k]->name);
    }
    if (n == 1) return 0;
    if (n == 0)
        fprintf(stderr, "ternbench %s: --kernel %s matches no registered kernel (see `ternbench check --list`)\n", cmd,
                glob);
    else
        fprintf(stderr, "ternbench %s: --kernel %s matches %d kernels (%s); this command runs one\n", cmd, glob, n,
                some);
    return 2;
}

int tb_cli_model_opt(const char *cmd, int argc, char **argv, int *i, tb_cli_model_opts *o) {
    const char *a = argv[*i];
    const char **dst = !strcmp(a, "--model")     ? &o->model
                       : !strcmp(a, "--kernel")  ? &o->kernel
                       : !strcmp(a, "--isa-max") ? &o->isa
                       : !strcmp(a, "--config")  ? &o->config
                                                 : NULL;
    if (dst) return (*dst = tb_arg_value(argc, argv, i)) ? 1 : -1;
    if (strcmp(a, "--threads")) return 0;
    const char *v = tb_arg_value(argc, argv, i);
    return v && tb_cli_threads(cmd, v, &o->threads) == 0 ? 1 : -1;
}

int tb_cli_isa_mask(const char *cmd, const char *name, unsigned *mask) {
    if (!name) {
        *mask = TB_ISA_ALL;
        return 0;
    }
    if (tb_isa_mask_from_name(name, mask) < 0) {
        fprintf(stderr, "ternbench %s: unknown --isa-max '%s' (expected one of: %s)\n", cmd, name, TB_CLI_ISA_NAMES);
        return -1;
    }
    return 0;
}

int tb_cli_kernel(const char *cmd, const char *name, unsigned mask, const tb_kernel **k) {
    return tb_cli_kernel_for(cmd, name, mask, 0, k);
}

int tb_cli_kernel_for(const char *cmd, const char *name, unsigned mask, int threads, const tb_kernel **k) {
    tb_err e = {{0}};
    *k = NULL;
    if (!name || !*name || !strcmp(name, "best")) {
        char why[1300];
        const tb_kernel *tuned = tb_tune_best(mask, threads > 0 ? threads : tb_ncores(), why, sizeof why);
        if (tuned) {
            fprintf(stderr, "ternbench %s: --kernel best = %s, %s\n", cmd, tuned->name, why);
            *k = tuned;
            return 0;
        }
    }
    if (tb_cli_is_glob(name) && kernel_glob_one(cmd, name, &name)) return 2;
    if (tb_kernel_resolve(name, mask, k, &e) == 0) return 0;
    fprintf(stderr, "ternbench %s: %s\n", cmd, e.msg); /* e.msg names the kernel */
    /* an unknown name is a usage error; a known kernel this CPU cannot run is a failure */
    const bool unknown = name && *name && strcmp(name, "ref") && strcmp(name, "best") && !tb_kernel_find(name);
    return unknown ? 2 : 1;
}

int tb_cli_open(const char *cmd, const tb_cli_model_opts *o, const tb_kernel **k, tb_model **m, tb_runner **runner) {
    tb_err e = {{0}};
    unsigned mask;
    *k = NULL;
    *m = NULL;
    *runner = NULL;
    if (tb_cli_isa_mask(cmd, o->isa, &mask)) return 2;
    const int rc = tb_cli_kernel_for(cmd, o->kernel, mask, o->threads, k);
    if (rc) return rc;
    if (o->config) {
        const tb_numcfg *sel[TB_NUMCFG_MAX];
        const int ns = tb_numcfg_select(o->config, sel, TB_NUMCFG_MAX, &e);
        if (ns < 0) return tb_cli_usage("%s", e.msg);
        if (ns > 1) return tb_cli_usage("--config %s names %d configurations; %s runs one", o->config, ns, cmd);
        const bool given = o->kernel && strcmp(o->kernel, "best") != 0;
        if (tb_numcfg_kernel(sel[0], *k, given, mask, k, &e)) {
            fprintf(stderr, "ternbench %s: %s\n", cmd, e.msg);
            return 1;
        }
    }
    if (tb_model_load(o->model, m, &e) < 0) {
        fprintf(stderr, "ternbench %s: %s\n", cmd, e.msg);
        return 1;
    }
    if (*k && tb_runner_new(*m, *k, o->threads, runner, &e) < 0) {
        fprintf(stderr, "ternbench %s: %s: %s\n", cmd, (*k)->name, e.msg);
        tb_model_free(*m);
        *m = NULL;
        return 1;
    }
    return 0;
}

int tb_cli_apply_config(const char *cmd, const tb_cli_model_opts *o, const tb_model *m, tb_state *st,
                        tb_numcfg_run *run) {
    tb_err e = {{0}};
    memset(run, 0, sizeof *run);
    const tb_numcfg *sel[TB_NUMCFG_MAX];
    if (tb_numcfg_select(o->config, sel, TB_NUMCFG_MAX, &e) < 0 || tb_numcfg_open(sel[0], m, run, &e) < 0 ||
        tb_state_set_numerics(st, &run->nx, &e) < 0) {
        fprintf(stderr, "ternbench %s: %s\n", cmd, e.msg);
        tb_numcfg_close(run);
        return 1;
    }
    return 0;
}

int tb_cli_run_plots(const char *cmd, const char *dir) {
    char script[1200];
    snprintf(script, sizeof script, "%s/scripts/plot_results.py", TB_SOURCE_ROOT);
    if (access("/usr/bin/python3", X_OK) != 0 || access(script, R_OK) != 0) {
        fprintf(stderr, "%s: plots skipped (need /usr/bin/python3 and %s); regenerate later with "
                        "scripts/plot_results.py %s\n", cmd, script, dir);
        return 0;
    }
    char *argv[] = {"/usr/bin/python3", script, (char *)dir, NULL};
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "%s: cannot start the plot script\n", cmd);
        return 1;
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s: the plot script failed (results.json is complete; rerun scripts/plot_results.py %s)\n",
                cmd, dir);
        return 1;
    }
    return 0;
}


int tb_cli_tokenizer(const char *cmd, const tb_model *m, const char *path, tb_tokenizer **tok, const char **from) {
    tb_err e = {{0}};
    int rc;
    if (path) {
        rc = tb_tokenizer_load(path, tok, &e);
        *from = path;
    } else if (m->gguf) {
        rc = tb_tokenizer_from_gguf(m->gguf, tok, &e);
        *from = m->path;
    } else if (m->tokenizer_json[0]) {
        rc = tb_tokenizer_load(m->tokenizer_json, tok, &e);
        *from = m->tokenizer_json;
    } else {
        fprintf(stderr, "ternbench %s: %s has no tokenizer; pass --tokenizer PATH\n", cmd, m->path);
        return 1;
    }
    if (rc == 0) return 0;
    fprintf(stderr, "ternbench %s: %s%s\n", cmd, e.msg, path ? "" : " (or pass --tokenizer PATH)");
    return 1;
}

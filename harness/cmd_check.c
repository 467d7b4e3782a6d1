/* cmd_check.c: `ternbench check`: prove every registered kernel against the scalar
 * reference (harness/check.c), list kernels, and a rough speed table (--time). */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "numcfg.h"
#include "cli.h"
#include "driver.h"

/* --configs: the numeric configuration registry, one per line, tab-separated */
static void print_configs(void) {
    for (int i = 0; i < tb_n_numcfgs; i++) {
        const tb_numcfg *c = &tb_numcfgs[i];
        const tb_kernel *k = c->kernel ? NULL : tb_kernel_best(TB_ISA_ALL);
        for (int j = 0; c->kernel && j < tb_n_kernels && !k; j++)
            if (tb_glob_match(c->kernel, tb_kernels[j]->name)) k = tb_kernels[j];
        printf("%s\t%s\t%s\thead=%s\tact=%d\tkv=%s\t%s\n", c->name,
               c->kernel && !k ? "no-kernel" : tb_numcfg_exact(c, k) ? "exact" : "approx",
               c->kernel ? c->kernel : "(the run's kernel)", tb_head_fmt_name(c->head), c->act_bits,
               tb_kv_fmt_name(c->kv), c->desc);
    }
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: ternbench check [options]\n"
            "  Runs every registered kernel (or those matching --kernel) over every 2B4T GEMV\n"
            "  shape, edge shapes and input families; int32 results must be bit-identical to the\n"
            "  scalar reference, guard words intact, packers round-trip; then a model-level check\n"
            "  (logits of a small synthetic model bit-identical to the reference path).\n"
            "  Approximate kernels (approx in --list): bit-identical to the portable kernel that\n"
            "  defines their results (same packed bytes, same checks and model logits); that\n"
            "  definition within its stated err_bound of the reference for every output.\n"
            "options:\n"
            "  --list            print the registered kernels (name first, one per line) and exit\n"
            "  --list-cases      print the case ids and what they are, and exit\n"
            "  --configs         print the numeric configurations (name, exact or approx, kernel, LM head,\n"
            "                    activation bits, KV cache, what it is; docs/approximations.md) and exit\n"
            "  --kernel GLOB     only kernels whose name matches GLOB (* and ?)\n"
            "  --plugin PATH     kernels from a shared object (repeatable; also TERNBENCH_PLUGINS=a.so:b.so),\n"
            "                    named plugin:<name> (kernels/ternbench_plugin.h)\n"
            "  --seed N          seed of every input (default 1); failures print it\n"
            "  --case N          replay case N only (with the seed a failure printed)\n"
            "  --quick           fewer input families on the large 2B4T shapes\n"
            "  --isa-max NAME    restrict kernels to an ISA level: " TB_CLI_ISA_NAMES " (default all)\n"
            "  --threads N       threads for the driver check and the model check (default 2; 0 = all cores)\n"
            "  --no-model        skip the model-level check\n"
            "  --time            rough speed table instead of the check: GB/s of packed weights per\n"
            "                    kernel x 2B4T shape at 1 and 2 threads, median of 5, warm caches\n"
            "  --time-threads L  thread counts for --time (default 1,2)\n"
            "  --help            this text\n"
            "exit status:\n"
            "  0  every requested kernel ran here and passed\n"
            "  1  a kernel failed (or an internal error)\n"
            "  2  usage error\n"
            "  3  nothing failed, but at least one requested kernel was skipped: it cannot run\n"
            "     on this machine (missing ISA or GPU, or excluded by --isa-max) and so was NOT\n"
            "     verified here; the SKIP lines say why and whether the test suite checks it\n"
            "     through an emulation of its instructions\n");
}

/* ---- a kernel that crashes is a reported failure, not a silent abort -------------- */

static volatile int crash_case = -1;
static char crash_prefix[256], crash_suffix[256];

static void put(const char *s) {
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(STDOUT_FILENO, s, n);
        if (w <= 0) break;
        s += w;
        n -= (size_t)w;
    }
}

static void on_crash(int sig) {
    char num[16];
    int c = crash_case, i = (int)sizeof num - 1;
    num[i] = '\0';
    do {
        num[--i] = (char)('0' + (c < 0 ? 0 : c % 10));
        c /= 10;
    } while (c > 0 && i > 0);
    put(crash_prefix);
    put(sig == SIGSEGV ? "SIGSEGV" : sig == SIGILL ? "SIGILL" : sig == SIGBUS ? "SIGBUS" : "SIGFPE");
    put(crash_case >= 0 ? " in case " : " (before the first case)");
    if (crash_case >= 0) put(num + i);
    put(crash_suffix);
    if (crash_case >= 0) put(num + i);
    put("\n");
    _exit(1);
}

static void arm_crash_report(const tb_kernel *k, uint64_t seed, bool quick) {
    snprintf(crash_prefix, sizeof crash_prefix, "FAIL %s: crashed with ", k->name);
    snprintf(crash_suffix, sizeof crash_suffix, "; rerun: ternbench check --kernel %s --seed %llu%s --case ", k->name,
             (unsigned long long)seed, quick ? " --quick" : "");
    crash_case = -1;
    static bool installed;
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_crash;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGILL, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        sigaction(SIGFPE, &sa, NULL);
        installed = true;
    }
}

static void print_fail(void *user, const char *line) {
    (void)user;
    printf("  %s\n", line);
    fflush(stdout);
}

static int parse_u64(const char *s, uint64_t *v) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-') return -1;
    *v = x;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *v) {
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return -1;
    *v = (int)x;
    return 0;
}

/* ---- rough speed table -------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int time_kernel(const tb_kernel *k, const int32_t *thr, int nthr, uint64_t seed) {
    static const int sh[][2] = {{2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}, {3840, 2560}, {13824, 2560}};
    tb_pool *pools[8] = {0};
    tb_err e = {{0}};
    for (int t = 0; t < nthr; t++)
        if (tb_pool_new(thr[t], true, &pools[t], &e) < 0) {
            tb_cli_err(e.msg);
            for (int u = 0; u < t; u++) tb_pool_free(pools[u]);
            return 1;
        }
    printf("%-30s", k->name);
    int ret = 0;
    tb_rng rng;
    tb_rng_seed(&rng, seed);
    for (size_t s = 0; s < sizeof sh / sizeof sh[0] && !ret; s++) {
        const int rows = sh[s][0], cols = sh[s][1];
        int8_t *w = malloc((size_t)rows * cols), *q = malloc((size_t)cols);
        int32_t *acc = malloc(sizeof *acc * (size_t)rows);
        const size_t psz = k->packed_size(rows, cols);
        void *packed = tb_alloc(psz), *prep = k->needs_prep ? tb_alloc(k->prep_size(cols, 1)) : NULL;
        if (!w || !q || !acc || !packed || (k->needs_prep && !prep)) {
            fprintf(stderr, "ternbench check: out of memory timing %s\n", k->name);
            ret = 1;
        } else {
            for (size_t i = 0; i < (size_t)rows * cols; i++) w[i] = (int8_t)((int)tb_rng_below(&rng, 3) - 1);
            for (int i = 0; i < cols; i++) q[i] = (int8_t)((int)tb_rng_below(&rng, 256) - 128);
            tb_ternary t = {.name = "time", .rows = rows, .cols = cols, .scale = 1, .layout = TB_TERN_CODES, .data = (const uint8_t *)w};
            if (k->pack(&t, packed)) {
                printf(" %10s", "refused");
            } else {
                for (int ti = 0; ti < nthr; ti++) {
                    double times[5];
                    int rc = 0;
                    for (int rep = -1; rep < 5 && !rc; rep++) { /* rep -1: warm-up */
                        double t0 = tb_now();
                        if (k->needs_prep) rc = k->prep(q, cols, 1, prep);
                        if (!rc) rc = tb_gemv_parallel(pools[ti], k, packed, rows, cols, q, prep, 1, acc);
                        if (rep >= 0) times[rep] = tb_now() - t0;
                    }
                    if (rc) {
                        printf(" %10s", "error");
                        continue;
                    }
                    qsort(times, 5, sizeof times[0], cmp_double);
                    printf(" %10.2f", (double)psz / times[2] / 1e9);
                }
            }
        }
        fflush(stdout);
        free(w);
        free(q);
        free(acc);
        tb_free(packed);
        tb_free(prep);
    }
    printf("\n");
    for (int t = 0; t < nthr; t++) tb_pool_free(pools[t]);
    return ret;
}

/* ---- the check itself ------------------------------------------------------------ */

typedef struct tally {
    int passed, failed, skipped;
    long long checks;
    char skipped_names[1024];
} tally;

/* "; model: ..." for kernel k (empty when not run); *ok false when an exact kernel's
 * logits differ from the reference path */
static void model_line(const tb_kernel *k, const tb_check_opts *o, char *line, size_t n, bool *ok) {
    double md = 0;
    bool ident = false;
    tb_err e = {{0}};
    *ok = true;
    if (tb_check_model(k, o->threads, o->seed, &md, &ident, &e) < 0) {
        snprintf(line, n, "; model: error: %s", e.msg);
        *ok = !k->exact;
    } else if (k->exact) {
        snprintf(line, n, "; model: %s (max |logit diff| %.3g)", ident ? "bit-identical" : "DIFFERS", md);
        *ok = ident;
    } else if (k->defined_by && strcmp(k->defined_by, k->name) != 0) {
        /* approximate: its logits must be its definition's, bit for bit (never the reference's) */
        const tb_kernel *d = tb_kernel_find(k->defined_by);
        double dd = 0;
        bool same = false;
        if (!d || tb_check_model_vs(k, d, o->threads, o->seed, &dd, &same, &e) < 0) {
            snprintf(line, n, "; model: approximate, error running its definition %s: %s", k->defined_by,
                     d ? e.msg : "not registered");
            *ok = false;
        } else {
            snprintf(line, n, "; model: approximate, logits %s its definition %s (max |logit diff| vs the reference %.3g)",
                     same ? "bit-identical to" : "DIFFER from", d->name, md);
            *ok = same;
        }
    } else {
        snprintf(line, n, "; model: approximate (the definition), max |logit diff| vs the reference %.3g", md);
    }
}

static void note_skip(const tb_kernel *k, const char *why, tally *t) {
    const char *how = tb_kernel_emulated_in_tests(k) ? "checked through an emulation of its instructions, never run here"
                                                    : "not verified here";
    printf("SKIP %-30s %s; %s\n", k->name, why, how);
    t->skipped++;
    size_t len = strlen(t->skipped_names);
    snprintf(t->skipped_names + len, sizeof t->skipped_names - len, "%s%s", len ? " " : "", k->name);
}

static void check_one(const tb_kernel *k, tb_check_opts *o, bool model, tally *t) {
    tb_check_result r;
    tb_err e = {{0}};
    fflush(stdout);
    arm_crash_report(k, o->seed, o->quick);
    int rc = tb_check_kernel(k, o, &r, &e);
    if (rc < 0) {
        printf("FAIL %-30s internal error: %s\n", k->name, e.msg);
        t->failed++;
        return;
    }
    if (r.skipped) {
        note_skip(k, r.skip_reason, t);
        return;
    }
    t->checks += r.checks;
    char mline[600] = "";
    bool model_ok = true;
    if (model && rc == 0 && o->only_case < 0) model_line(k, o, mline, sizeof mline, &model_ok);
    const bool ok = rc == 0 && model_ok;
    char refused[96] = "";
    if (r.refused) snprintf(refused, sizeof refused, ", %d refused (TB_KERR_SHAPE on edge shapes)", r.refused);
    char approx[200] = "";
    if (!k->exact && r.cases > 0) {
        const bool self = k->defined_by && strcmp(k->defined_by, k->name) == 0;
        snprintf(approx, sizeof approx, ", approximate: %s%s, max |acc - ref| %lld (%.0f%% of err_bound)",
                 self ? "the definition, checked within err_bound of the reference"
                      : "checked bit for bit against its definition ",
                 self ? "" : k->defined_by, r.max_err, 100.0 * r.max_err_frac);
    }
    printf("%s %-30s %d/%d cases passed%s%s, %lld checks, %.2f s%s\n", ok ? "PASS" : "FAIL", k->name, r.passed, r.cases,
           refused, approx, r.checks, r.seconds, mline);
    if (ok) t->passed++;
    else t->failed++;
    fflush(stdout);
}

/* check_one in a child process, so a kernel that crashes (the child prints its FAIL and
 * rerun line from the signal handler) is one failure and the next kernels still run.
 * The child hands its tally back through a pipe; without fork, it runs in-process. */
static void check_isolated(const tb_kernel *k, tb_check_opts *o, bool model, tally *t) {
    int fd[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fd) != 0) {
        check_one(k, o, model, t);
        return;
    }
    const pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        check_one(k, o, model, t);
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        tally ct;
        memset(&ct, 0, sizeof ct);
        check_one(k, o, model, &ct);
        fflush(stdout);
        const ssize_t w = write(fd[1], &ct, sizeof ct);
        _exit(w == (ssize_t)sizeof ct ? 0 : 1);
    }
    close(fd[1]);
    tally ct;
    size_t got = 0;
    while (got < sizeof ct) {
        const ssize_t r = read(fd[0], (char *)&ct + got, sizeof ct - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got == sizeof ct) {
        t->passed += ct.passed;
        t->failed += ct.failed;
        t->skipped += ct.skipped;
        t->checks += ct.checks;
        size_t len = strlen(t->skipped_names);
        const size_t add = strlen(ct.skipped_names);
        if (add && len + 1 + add < sizeof t->skipped_names) {
            if (len) t->skipped_names[len++] = ' ';
            memcpy(t->skipped_names + len, ct.skipped_names, add + 1);
        }
        return;
    }
    if (WIFSIGNALED(status)) /* a signal the handler does not catch (the handler prints its own line) */
        printf("FAIL %-30s died with signal %d\n", k->name, WTERMSIG(status));
    t->failed++;
}

int tb_cmd_check(int argc, char **argv) {
    tb_check_opts o;
    tb_check_opts_default(&o);
    const char *glob = "*", *isa = "all";
    bool list = false, list_cases = false, model = true, timing = false;
    const char *time_threads = "1,2";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--configs")) {
            print_configs();
            return 0;
        } else if (!strcmp(a, "--list")) {
            list = true;
        } else if (!strcmp(a, "--list-cases")) {
            list_cases = true;
        } else if (!strcmp(a, "--quick")) {
            o.quick = true;
        } else if (!strcmp(a, "--no-model")) {
            model = false;
        } else if (!strcmp(a, "--time")) {
            timing = true;
        } else if (!strcmp(a, "--kernel")) {
            if (!(glob = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--isa-max")) {
            if (!(isa = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--time-threads")) {
            if (!(time_threads = tb_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = tb_arg_value(argc, argv, &i))) return 2;
            if (parse_u64(v, &o.seed)) {
                fprintf(stderr, "ternbench check: --seed %s: not an unsigned integer\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--case")) {
            if (!(v = tb_arg_value(argc, argv, &i))) return 2;
            if (parse_int(v, 0, 1000000, &o.only_case)) {
                fprintf(stderr, "ternbench check: --case %s: not a case id (see --list-cases)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--threads")) {
            if (!(v = tb_arg_value(argc, argv, &i)) || tb_cli_threads("check", v, &o.threads)) return 2;
        } else {
            fprintf(stderr, "ternbench check: unknown option %s (see --help)\n", a);
            return 2;
        }
    }
    if (tb_cli_isa_mask("check", isa, &o.isa_mask)) return 2;
    if (list) {
        for (int i = 0; i < tb_n_kernels; i++) {
            const tb_kernel *k = tb_kernels[i];
            if (!tb_glob_match(glob, k->name)) continue;
            const char *why = NULL;
            bool ok = tb_kernel_supported(k, o.isa_mask, &why);
            printf("%s\t%s\t%s\t%s\t%s\n", k->name, k->family, k->layout, k->exact ? "exact" : "approx",
                   ok ? "runs here" : why);
        }
        return 0;
    }
    if (list_cases) {
        int nc = tb_check_ncases(&o);
        for (int i = 0; i < nc; i++) {
            char d[128];
            tb_check_case_desc(&o, i, d, sizeof d);
            printf("%d\t%s\n", i, d);
        }
        return 0;
    }
    int matched = 0;
    for (int i = 0; i < tb_n_kernels; i++) matched += tb_glob_match(glob, tb_kernels[i]->name);
    if (!matched) {
        fprintf(stderr, "ternbench check: --kernel %s matches no registered kernel (see --list)\n", glob);
        return 2;
    }
    if (o.only_case >= tb_check_ncases(&o)) {
        fprintf(stderr, "ternbench check: --case %d: only %d cases%s (0..%d, see --list-cases)\n", o.only_case,
                tb_check_ncases(&o), o.quick ? " with --quick" : "", tb_check_ncases(&o) - 1);
        return 2;
    }
    char feats[128];
    tb_isa_describe(tb_cpu_features(), feats, sizeof feats);

    if (timing) {
        int tl[8];
        const int nthr = tb_cli_thread_list("check", time_threads, tl, 8);
        int32_t thr[8];
        for (int t = 0; t < (nthr > 0 ? nthr : 0); t++) thr[t] = tl[t];
        if (nthr < 0) return 2;
        printf("rough speed (not the benchmark): GB/s of packed weights streamed per GEMV (prep + gemv),\n"
               "median of 5 after 1 warm-up, n=1, warm caches; CPU features: %s\n", feats);
        printf("%-30s", "kernel \\ shape x threads");
        static const char *shn[] = {"2560x2560", "640x2560", "6912x2560", "2560x6912", "3840x2560", "13824x2560"};
        for (int s = 0; s < 6; s++)
            for (int t = 0; t < nthr; t++) printf(" %10s", t == 0 ? shn[s] : "");
        printf("\n%-30s", "(threads)");
        for (int s = 0; s < 6; s++)
            for (int t = 0; t < nthr; t++) printf(" %9dT", thr[t]);
        printf("\n");
        int ret = 0;
        for (int i = 0; i < tb_n_kernels; i++) {
            const tb_kernel *k = tb_kernels[i];
            const char *why = NULL;
            if (!tb_glob_match(glob, k->name)) continue;
            if (!tb_kernel_supported(k, o.isa_mask, &why)) {
                printf("%-30s SKIP: %s\n", k->name, why);
                continue;
            }
            ret |= time_kernel(k, thr, nthr, o.seed);
        }
        return ret;
    }

    o.on_fail = print_fail;
    o.current_case = &crash_case;
    printf("check: seed %llu, %d cases per kernel%s, CPU features: %s, --isa-max %s\n",
           (unsigned long long)o.seed, tb_check_ncases(&o), o.quick ? " (quick)" : "", feats, isa);
    tally t = {0};
    for (int i = 0; i < tb_n_kernels; i++)
        if (tb_glob_match(glob, tb_kernels[i]->name)) check_isolated(tb_kernels[i], &o, model, &t);
    printf("check: %d kernels passed, %d failed, %d skipped; %lld checks; seed %llu\n", t.passed, t.failed,
           t.skipped, t.checks, (unsigned long long)o.seed);
    if (t.skipped)
        printf("check: NOT verified here (skipped): %s\n", t.skipped_names);
    if (!t.failed && !t.passed && t.skipped)
        printf("check: nothing checked: every kernel matching --kernel %s was skipped on this machine\n", glob);
    return t.failed ? 1 : t.skipped ? 3 : 0;
}

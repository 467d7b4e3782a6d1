/* results.c: in-memory JSON writer for result files, and run provenance
 * (git sha, compiler and flags, CPU, cores, host, date). */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "tb_bench_build.h"
#include "tb_build_config.h"

/* ---- writer ---------------------------------------------------------------- */

void tb_jw_init(tb_jw *w) {
    memset(w, 0, sizeof *w);
    w->first[0] = true;
}

void tb_jw_free(tb_jw *w) {
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static void put(tb_jw *w, const char *s, size_t n) {
    if (w->oom) return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (w->len + n + 1 > cap) cap *= 2;
        char *nb = realloc(w->buf, cap);
        if (!nb) {
            w->oom = true;
            return;
        }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void puts_(tb_jw *w, const char *s) { put(w, s, strlen(s)); }

static void putf(tb_jw *w, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) put(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_string(tb_jw *w, const char *s) {
    put(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': puts_(w, "\\\""); break;
        case '\\': puts_(w, "\\\\"); break;
        case '\n': puts_(w, "\\n"); break;
        case '\r': puts_(w, "\\r"); break;
        case '\t': puts_(w, "\\t"); break;
        default:
            if (*p < 0x20) putf(w, "\\u%04x", *p);
            else put(w, (const char *)p, 1);
        }
    }
    put(w, "\"", 1);
}

static void indent(tb_jw *w) {
    put(w, "\n", 1);
    for (int i = 0; i < w->depth; i++) put(w, "  ", 2);
}

/* Separator, indentation and key before a value; flags misuse (key in an array,
 * no key in an object, a second top-level value). */
static void pre_value(tb_jw *w, const char *key) {
    if (w->depth == 0) {
        if (!w->first[0] || key) w->misuse = true;
        w->first[0] = false;
        return;
    }
    if (!w->first[w->depth]) put(w, ",", 1);
    w->first[w->depth] = false;
    indent(w);
    bool arr = w->in_array[w->depth];
    if (arr && key) w->misuse = true;
    if (!arr) {
        if (!key) {
            w->misuse = true;
            key = "";
        }
        put_string(w, key);
        put(w, ": ", 2);
    }
}

static void open_(tb_jw *w, const char *key, bool array) {
    pre_value(w, key);
    put(w, array ? "[" : "{", 1);
    if (w->depth + 1 >= 64) {
        w->misuse = true;
        return;
    }
    w->depth++;
    w->first[w->depth] = true;
    w->in_array[w->depth] = array;
}

static void close_(tb_jw *w, bool array) {
    if (w->depth <= 0 || w->in_array[w->depth] != array) {
        w->misuse = true;
        return;
    }
    bool empty = w->first[w->depth];
    w->depth--;
    if (!empty) indent(w);
    put(w, array ? "]" : "}", 1);
}

void tb_jw_obj_begin(tb_jw *w, const char *key) { open_(w, key, false); }
void tb_jw_obj_end(tb_jw *w) { close_(w, false); }
void tb_jw_arr_begin(tb_jw *w, const char *key) { open_(w, key, true); }
void tb_jw_arr_end(tb_jw *w) { close_(w, true); }

void tb_jw_str(tb_jw *w, const char *key, const char *val) {
    pre_value(w, key);
    if (val) put_string(w, val);
    else puts_(w, "null");
}

void tb_jw_num(tb_jw *w, const char *key, double val) {
    pre_value(w, key);
    if (!isfinite(val)) puts_(w, "null");
    else if (val == floor(val) && fabs(val) < 9e15) putf(w, "%.0f", val);
    else putf(w, "%.17g", val);
}

void tb_jw_int(tb_jw *w, const char *key, long long val) {
    pre_value(w, key);
    putf(w, "%lld", val);
}

void tb_jw_bool(tb_jw *w, const char *key, bool val) {
    pre_value(w, key);
    puts_(w, val ? "true" : "false");
}

void tb_jw_null(tb_jw *w, const char *key) {
    pre_value(w, key);
    puts_(w, "null");
}

void tb_jw_raw(tb_jw *w, const char *key, const char *json) {
    pre_value(w, key);
    puts_(w, json && *json ? json : "null");
}

const char *tb_jw_text(const tb_jw *w, tb_err *e) {
    if (w->oom) {
        tb_fail(e, "results: out of memory while building JSON");
        return NULL;
    }
    if (w->misuse || w->depth != 0 || w->first[0] || !w->buf) {
        tb_fail(e, "results: JSON document incomplete or malformed (writer misuse)");
        return NULL;
    }
    return w->buf;
}

/* Temporary files to remove if a signal ends the process (async-signal-safe unlink). */
#define OUT_SLOTS 8
static char out_pending[OUT_SLOTS][4096];
static volatile sig_atomic_t out_used[OUT_SLOTS];

static void out_on_signal(int sig) {
    for (int i = 0; i < OUT_SLOTS; i++)
        if (out_used[i]) unlink(out_pending[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Remembers tmp for removal on SIGINT/SIGTERM/SIGHUP; the handlers go in once, and
 * only where the signal still has its default action. */
static int out_track(const char *tmp) {
    static bool installed;
    if (!installed) {
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
        for (int i = 0; i < 3; i++) {
            struct sigaction old, sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = out_on_signal;
            sigemptyset(&sa.sa_mask);
            if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL) sigaction(sigs[i], &sa, NULL);
        }
        installed = true;
    }
    for (int i = 0; i < OUT_SLOTS; i++)
        if (!out_used[i]) {
            snprintf(out_pending[i], sizeof out_pending[i], "%s", tmp);
            out_used[i] = 1;
            return i;
        }
    return -1;
}

static void out_untrack(tb_out *o) {
    if (o->slot >= 0) out_used[o->slot] = 0;
    o->slot = -1;
}

int tb_out_open(tb_out *o, const char *path, tb_err *e) {
    memset(o, 0, sizeof *o);
    o->slot = -1;
    if (snprintf(o->path, sizeof o->path, "%s", path) >= (int)sizeof o->path) return tb_fail(e, "%s: path too long", path);
    if (!strcmp(path, "-")) {
        o->f = stdout;
        return 0;
    }
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return tb_fail(e, "%s: is a directory", path);
        o->f = fopen(path, "w"); /* a device or FIFO (/dev/stdout): write into it, never rename over it */
        return o->f ? 0 : tb_fail(e, "%s: cannot write: %s", path, strerror(errno));
    }
    const char *slash = strrchr(path, '/');
    const int dir = slash ? (int)(slash - path + 1) : 0;
    if (snprintf(o->tmp, sizeof o->tmp, "%.*s.%s.tmp-%ld", dir, path, path + dir, (long)getpid()) >= (int)sizeof o->tmp)
        return tb_fail(e, "%s: path too long", path);
    o->slot = out_track(o->tmp);
    o->f = fopen(o->tmp, "w");
    if (!o->f) {
        int err = errno;
        out_untrack(o);
        return tb_fail(e, "%s: cannot write: %s", path, strerror(err));
    }
    return 0;
}

void tb_out_abort(tb_out *o) {
    if (o->f && o->f != stdout) fclose(o->f);
    o->f = NULL;
    if (o->tmp[0]) unlink(o->tmp);
    out_untrack(o);
}

int tb_out_commit(tb_out *o, tb_err *e) {
    bool ok = !ferror(o->f);
    int err = errno;
    if (o->f == stdout) ok = fflush(stdout) == 0 && ok;
    else ok = fclose(o->f) == 0 && ok;
    if (!ok) err = errno ? errno : err;
    o->f = NULL;
    if (!ok) {
        tb_out_abort(o);
        return tb_fail(e, "%s: write failed: %s", o->path, strerror(err ? err : EIO));
    }
    if (o->tmp[0] && rename(o->tmp, o->path) != 0) {
        err = errno;
        tb_out_abort(o);
        return tb_fail(e, "%s: cannot rename into place: %s", o->path, strerror(err));
    }
    out_untrack(o);
    return 0;
}

int tb_jw_save(const tb_jw *w, const char *path, tb_err *e) {
    const char *text = tb_jw_text(w, e);
    if (!text) return -1;
    tb_out o;
    if (tb_out_open(&o, path, e) < 0) return -1;
    size_t n = strlen(text);
    if (fwrite(text, 1, n, o.f) != n || fputc('\n', o.f) == EOF) {
        int err = errno;
        tb_out_abort(&o);
        return tb_fail(e, "%s: write failed: %s", path, strerror(err));
    }
    return tb_out_commit(&o, e);
}

int tb_mkdir_p(const char *path, tb_err *e) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return tb_fail(e, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return tb_fail(e, "%s: cannot create: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return tb_fail(e, "%s: cannot create: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return tb_fail(e, "%s: not a directory", buf);
    return 0;
}

/* ---- provenance ------------------------------------------------------------ */

/* First line of a command's stdout, or "" (no shell injection: fixed commands). */
static void run_line(const char *cmd, char *out, size_t n) {
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (fgets(out, (int)n, p)) out[strcspn(out, "\r\n")] = 0;
    else out[0] = 0;
    pclose(p);
}

static void cpuinfo(tb_provenance *p) {
    snprintf(p->cpu_model, sizeof p->cpu_model, "unknown");
    p->cpu_flags_raw[0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[8192];
    bool got_model = false, got_flags = false;
    static const char *const keep[] = {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx_vnni",
                                       "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni",
                                       "avx512_vbmi", "avx512_vpopcntdq", "avx512_bitalg", "hypervisor", NULL};
    while (fgets(line, sizeof line, f) && !(got_model && got_flags)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *val = colon + 1;
        while (*val == ' ') val++;
        val[strcspn(val, "\n")] = 0;
        if (!got_model && !strncmp(line, "model name", 10)) {
            snprintf(p->cpu_model, sizeof p->cpu_model, "%s", val);
            got_model = true;
        } else if (!got_flags && !strncmp(line, "flags", 5)) {
            got_flags = true;
            size_t used = 0;
            for (int i = 0; keep[i]; i++) {
                /* whole-word match */
                size_t kl = strlen(keep[i]);
                for (char *s = val; (s = strstr(s, keep[i])) != NULL; s += kl) {
                    bool start = s == val || s[-1] == ' ';
                    bool end = s[kl] == ' ' || s[kl] == 0;
                    if (start && end) {
                        int w = snprintf(p->cpu_flags_raw + used, sizeof p->cpu_flags_raw - used, "%s%s",
                                         used ? " " : "", keep[i]);
                        if (w > 0 && used + (size_t)w < sizeof p->cpu_flags_raw) used += (size_t)w;
                        break;
                    }
                }
            }
        }
    }
    fclose(f);
}

static double g_load_start[3] = {-1, -1, -1};

void tb_provenance_mark_start(void) {
    if (getloadavg(g_load_start, 3) != 3) g_load_start[0] = g_load_start[1] = g_load_start[2] = -1;
}

/* Load, governor and clock: what says whether the machine was quiet. */
static void machine_state(tb_provenance *p) {
    if (g_load_start[0] < 0) tb_provenance_mark_start(); /* not marked: now is the best we have */
    memcpy(p->load_start, g_load_start, sizeof p->load_start);
    if (getloadavg(p->load_now, 3) != 3) p->load_now[0] = p->load_now[1] = p->load_now[2] = -1;
    p->busy = p->load_start[0] >= TB_BUSY_LOAD_PER_CORE * p->cores;
    p->governor[0] = 0;
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "r");
    if (f) {
        if (fgets(p->governor, sizeof p->governor, f)) p->governor[strcspn(p->governor, "\r\n")] = 0;
        fclose(f);
    }
    if (!p->governor[0]) snprintf(p->governor, sizeof p->governor, "none (no cpufreq in /sys: a VM or no driver)");
    p->cpu_mhz = 0;
    f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':')) {
            p->cpu_mhz = strtod(strchr(line, ':') + 1, NULL);
            break;
        }
    fclose(f);
}

void tb_provenance_collect(tb_provenance *p) {
    memset(p, 0, sizeof *p);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD 2>/dev/null", TB_SOURCE_ROOT);
    run_line(cmd, p->git_sha, sizeof p->git_sha);
    if (!p->git_sha[0]) snprintf(p->git_sha, sizeof p->git_sha, "unknown");
    char dirty[256];
    snprintf(cmd, sizeof cmd, "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null | head -1",
             TB_SOURCE_ROOT);
    run_line(cmd, dirty, sizeof dirty);
    p->git_dirty = dirty[0] != 0;

    snprintf(p->compiler, sizeof p->compiler, "%s", TB_BUILD_COMPILER);
    snprintf(p->build_type, sizeof p->build_type, "%s", TB_BUILD_TYPE);
    snprintf(p->build_opt, sizeof p->build_opt, "-O%s", TB_BUILD_OPT);
    snprintf(p->c_args, sizeof p->c_args, "-std=c11 -D_GNU_SOURCE -Wall -Wextra %s", TB_BUILD_CARGS);
    snprintf(p->sanitize, sizeof p->sanitize, "%s", TB_BUILD_SANITIZE);

    cpuinfo(p);
    tb_isa_describe(tb_cpu_features(), p->cpu_flags, sizeof p->cpu_flags);
    if (!p->cpu_flags[0]) snprintf(p->cpu_flags, sizeof p->cpu_flags, "scalar");
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    p->cores = nc > 0 ? (int)nc : 1;
    if (gethostname(p->host, sizeof p->host) != 0) snprintf(p->host, sizeof p->host, "unknown");
    p->host[sizeof p->host - 1] = 0;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(p->date_utc, sizeof p->date_utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
#if TB_HAVE_BENCHMARK
    snprintf(p->timer, sizeof p->timer, "google-benchmark");
#else
    snprintf(p->timer, sizeof p->timer, "ternbench timer (built without libbenchmark)");
#endif
    struct utsname u;
    if (uname(&u) == 0) snprintf(p->kernel_os, sizeof p->kernel_os, "%s %s", u.sysname, u.release);
    else snprintf(p->kernel_os, sizeof p->kernel_os, "unknown");
    machine_state(p);
}

static void load_triple(tb_jw *w, const char *key, const double *l) {
    if (l[0] < 0) {
        tb_jw_null(w, key);
        return;
    }
    tb_jw_arr_begin(w, key);
    for (int i = 0; i < 3; i++) tb_jw_num(w, NULL, l[i]);
    tb_jw_arr_end(w);
}

void tb_provenance_write(tb_jw *w, const char *key, const tb_provenance *p) {
    tb_jw_obj_begin(w, key);
    tb_jw_str(w, "git_sha", p->git_sha);
    tb_jw_bool(w, "git_dirty", p->git_dirty);
    tb_jw_str(w, "compiler", p->compiler);
    tb_jw_str(w, "build_type", p->build_type);
    tb_jw_str(w, "optimization", p->build_opt);
    tb_jw_str(w, "c_args", p->c_args);
    tb_jw_str(w, "sanitize", p->sanitize);
    tb_jw_str(w, "cpu_model", p->cpu_model);
    tb_jw_str(w, "cpu_features", p->cpu_flags);
    tb_jw_str(w, "cpu_flags", p->cpu_flags_raw);
    tb_jw_int(w, "cores", p->cores);
    tb_jw_str(w, "host", p->host);
    tb_jw_str(w, "os", p->kernel_os);
    tb_jw_str(w, "date_utc", p->date_utc);
    tb_jw_str(w, "timer", p->timer);
    load_triple(w, "load_avg_start", p->load_start);
    double end[3]; /* read now: the result is written when the command's work is done */
    if (getloadavg(end, 3) != 3) memcpy(end, p->load_now, sizeof end);
    load_triple(w, "load_avg_end", end);
    tb_jw_bool(w, "busy", p->busy);
    char rule[160];
    snprintf(rule, sizeof rule, "1-minute load average at start >= %.1f x %d cores = %.1f", TB_BUSY_LOAD_PER_CORE,
             p->cores, TB_BUSY_LOAD_PER_CORE * p->cores);
    tb_jw_str(w, "busy_rule", rule);
    tb_jw_str(w, "cpu_governor", p->governor);
    tb_jw_num(w, "cpu_mhz", p->cpu_mhz > 0 ? p->cpu_mhz : NAN);
    tb_jw_obj_end(w);
}

void tb_jw_begin_result(tb_jw *w, const char *tool) {
    tb_provenance p;
    tb_provenance_collect(&p);
    tb_jw_init(w);
    tb_jw_obj_begin(w, NULL);
    tb_jw_str(w, "tool", tool);
    tb_provenance_write(w, "provenance", &p);
}

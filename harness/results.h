/* results.h: the JSON writer for result files and the provenance block.
 *
 * A tb_jw builds pretty-printed JSON in memory (so a failed run never leaves a
 * half-written file) and saves it with tb_jw_save().  Keys are given per value:
 * pass key = NULL inside arrays.  Non-finite numbers are written as null (JSON
 * has no NaN); counters that are unavailable are written as null by the callers,
 * never as 0.
 *
 * tb_provenance collects what a reader needs to trust or reproduce a run: git
 * sha (and whether the tree was dirty), compiler and flags, CPU model and
 * features, core count, host, date, and the timing library used.
 */
#ifndef TB_RESULTS_H
#define TB_RESULTS_H

#include <stdio.h>

#include "tb_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_jw {
    char *buf;         /* the text so far */
    size_t len, cap;
    int depth;
    bool first[64];    /* per nesting level: no value written yet */
    bool in_array[64]; /* per nesting level: array (true) or object (false) */
    bool oom;          /* an allocation failed: tb_jw_save reports it */
    bool misuse;       /* unbalanced begin/end or key misuse: tb_jw_save reports it */
} tb_jw;

void tb_jw_init(tb_jw *w);           /* starts empty; the first value is the document */
void tb_jw_free(tb_jw *w);
void tb_jw_obj_begin(tb_jw *w, const char *key);
void tb_jw_obj_end(tb_jw *w);
void tb_jw_arr_begin(tb_jw *w, const char *key);
void tb_jw_arr_end(tb_jw *w);
void tb_jw_str(tb_jw *w, const char *key, const char *val); /* val NULL -> null */
void tb_jw_num(tb_jw *w, const char *key, double val);      /* non-finite -> null */
void tb_jw_int(tb_jw *w, const char *key, long long val);
void tb_jw_bool(tb_jw *w, const char *key, bool val);
void tb_jw_null(tb_jw *w, const char *key);
/* Inserts already-valid JSON text (e.g. another file's contents) as a value. */
void tb_jw_raw(tb_jw *w, const char *key, const char *json);
/* The document text (NUL-terminated) or NULL if incomplete / failed. */
const char *tb_jw_text(const tb_jw *w, tb_err *e);
/* Writes the document to path (through tb_out: a temporary name, then rename). */
int tb_jw_save(const tb_jw *w, const char *path, tb_err *e);

/* ---- output files that appear whole or not at all -------------------------- */
/* tb_out_open writes into "<dir>/.<name>.tmp-<pid>" beside path; tb_out_commit renames
 * it into place; tb_out_abort (and SIGINT, SIGTERM, SIGHUP while it is open) removes
 * it, so an error or Ctrl-C never leaves a partial file under the final name.  "-" is
 * standard output; an existing device or FIFO is written in place (never replaced). */
typedef struct tb_out {
    FILE *f;
    char path[4096], tmp[4096]; /* tmp is "" when writing in place */
    int slot;                   /* in the signal-cleanup table, or -1 */
} tb_out;
int tb_out_open(tb_out *o, const char *path, tb_err *e);
int tb_out_commit(tb_out *o, tb_err *e); /* closes; on a write error removes the temporary */
void tb_out_abort(tb_out *o);

/* ---- provenance ---------------------------------------------------------- */
typedef struct tb_provenance {
    char git_sha[64];      /* "unknown" when git is unavailable */
    bool git_dirty;
    char compiler[128];
    char build_type[32];
    char build_opt[16];
    char c_args[256];
    char sanitize[64];
    char cpu_model[128];
    char cpu_flags[256];   /* ternbench's ISA view (tb_isa_describe) */
    char cpu_flags_raw[512]; /* selected /proc/cpuinfo flags relevant to the kernels */
    int cores;             /* online logical CPUs */
    char host[128];
    char date_utc[32];     /* ISO 8601 */
    char timer[64];        /* "google-benchmark 1.x" or "ternbench timer (no libbenchmark)" */
    char kernel_os[200];   /* uname -sr */
    /* The machine's state: a loaded machine's timings are not comparable (docs/results.md). */
    double load_start[3];  /* 1/5/15-minute load average when the command started (-1: unknown) */
    double load_now[3];    /* ... when collected; the JSON's load_avg_end is read when it is written
                              (both include ternbench's own threads) */
    bool busy;             /* load_start[0] >= TB_BUSY_LOAD_PER_CORE x cores */
    char governor[96];     /* cpufreq scaling governor of cpu0, or why there is none */
    double cpu_mhz;        /* /proc/cpuinfo "cpu MHz" of the first CPU (0: unknown) */
} tb_provenance;

/* "Busy": the 1-minute load average when the command started was at least this many
 * runnable tasks per online core, i.e. other work already held half the cores. */
#define TB_BUSY_LOAD_PER_CORE 0.5

/* Records the load average now as the command's start (main calls it first). */
void tb_provenance_mark_start(void);

/* Fills p; never fails (unknown fields say "unknown"). */
void tb_provenance_collect(tb_provenance *p);
/* Writes p as an object under key. */
void tb_provenance_write(tb_jw *w, const char *key, const tb_provenance *p);
/* Starts a result document: tb_jw_init, the top-level object, "tool" and a freshly
 * collected "provenance".  The caller adds its fields, then tb_jw_obj_end + tb_jw_save. */
void tb_jw_begin_result(tb_jw *w, const char *tool);

/* mkdir -p. */
int tb_mkdir_p(const char *path, tb_err *e);

#ifdef __cplusplus
}
#endif
#endif

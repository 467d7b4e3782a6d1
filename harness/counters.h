/* counters.h: hardware counters and measured energy, when the platform has them.
 *
 *   PAPI (built with libpapi): cycles, instructions, LLC misses, counted on the
 *       calling thread (scope "calling-thread"); unavailable -> reported n/a
 *       (JSON null + the reason), never 0 and never a guess.
 *   CPU energy: PAPI rapl/powercap component events, else
 *       /sys/class/powercap/intel-rapl:N/energy_uj (package zones, wraparound
 *       handled), else n/a.
 *   GPU energy: NVML loaded at run time with dlopen (libnvidia-ml.so.1),
 *       nvmlDeviceGetTotalEnergyConsumption summed over devices, else n/a.
 */
#ifndef TB_COUNTERS_H
#define TB_COUNTERS_H

#include "tb_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TB_MAX_EVENTS 4

typedef struct tb_counter_report {
    bool papi_ok;
    char papi_why[192];            /* why not, when !papi_ok */
    int n_events;
    char event[TB_MAX_EVENTS][48];
    long long value[TB_MAX_EVENTS];

    bool cpu_energy_ok;
    char cpu_energy_source[64];    /* "papi:<event>", "powercap:intel-rapl:0+..." */
    char cpu_energy_why[192];
    double cpu_joules;

    bool gpu_energy_ok;
    char gpu_energy_source[64];    /* "nvml" */
    char gpu_energy_why[192];
    double gpu_joules;

    double seconds;                /* wall time between start and stop */
} tb_counter_report;

typedef struct tb_counters tb_counters;

/* Never fails for lack of counters (that is recorded); only on out-of-memory. */
int tb_counters_open(tb_counters **out, tb_err *e);
void tb_counters_start(tb_counters *c);
void tb_counters_stop(tb_counters *c, tb_counter_report *r);
void tb_counters_free(tb_counters *c);

/* One-line summary ("papi n/a (reason); cpu energy 12.3 J (powercap); ..."). */
void tb_counters_describe(const tb_counter_report *r, char *buf, size_t n);

/* Writes the report as an object under key: unavailable values are null with a "why". */
struct tb_jw;
void tb_counters_write(struct tb_jw *w, const char *key, const tb_counter_report *r);

#ifdef __cplusplus
}
#endif
#endif

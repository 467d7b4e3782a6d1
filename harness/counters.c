/* counters.c: PAPI events, CPU package energy (PAPI rapl/powercap or
 * /sys/class/powercap) and GPU energy (NVML via dlopen).  Anything missing is
 * recorded as unavailable with the reason; nothing is ever estimated here. */
#include "counters.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "tb_build_config.h"
#if TB_HAVE_PAPI
#include <papi.h>
#endif

#define MAX_ZONES 8

struct tb_counters {
    /* PAPI */
    bool papi_ok;
    char papi_why[192];
    int n_events;
    char event[TB_MAX_EVENTS][48];
    int papi_set;              /* hardware event set */
    int papi_energy_set;       /* rapl/powercap component event set, or -1 */
    double papi_energy_scale;  /* counter units -> joules */
    char papi_energy_event[48];

    /* powercap sysfs */
    int n_zones;
    char zone_path[MAX_ZONES][300]; /* .../energy_uj */
    unsigned long long zone_max[MAX_ZONES]; /* max_energy_range_uj (wrap) */
    unsigned long long zone_start[MAX_ZONES];
    char powercap_why[192];

    /* NVML */
    void *nvml;
    int n_gpus;
    void *gpu[16];
    unsigned long long gpu_start[16]; /* mJ */
    char nvml_why[192];
    int (*nvmlShutdown)(void);
    int (*nvmlDeviceGetTotalEnergyConsumption)(void *dev, unsigned long long *mj);

    double t0;
    bool cpu_energy_src_papi;
};

/* ---- powercap --------------------------------------------------------------- */

static bool read_ull(const char *path, unsigned long long *v) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool ok = fscanf(f, "%llu", v) == 1;
    fclose(f);
    return ok;
}

static void powercap_open(tb_counters *c) {
    const char *root = "/sys/class/powercap";
    DIR *d = opendir(root);
    if (!d) {
        snprintf(c->powercap_why, sizeof c->powercap_why, "no %s (no RAPL/powercap exposed here)", root);
        return;
    }
    struct dirent *de;
    bool denied = false;
    while ((de = readdir(d)) && c->n_zones < MAX_ZONES) {
        /* Top-level package zones only ("intel-rapl:0", not "intel-rapl:0:0"), so
         * nothing is counted twice; AMD exposes the same interface. */
        const char *n = de->d_name;
        if (strncmp(n, "intel-rapl:", 11) != 0 || strchr(n + 11, ':')) continue;
        char p[300], mp[320];
        snprintf(p, sizeof p, "%s/%s/energy_uj", root, n);
        snprintf(mp, sizeof mp, "%s/%s/max_energy_range_uj", root, n);
        unsigned long long v, mx = 0;
        if (!read_ull(p, &v)) {
            denied = true;
            continue;
        }
        read_ull(mp, &mx);
        snprintf(c->zone_path[c->n_zones], sizeof c->zone_path[0], "%s", p);
        c->zone_max[c->n_zones++] = mx;
    }
    closedir(d);
    if (c->n_zones == 0)
        snprintf(c->powercap_why, sizeof c->powercap_why, "%s",
                 denied ? "powercap energy_uj not readable (needs root on recent kernels)"
                        : "no intel-rapl package zones under /sys/class/powercap");
}

/* ---- NVML (dlopen) ---------------------------------------------------------- */

static void nvml_open(tb_counters *c) {
    void *h = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(c->nvml_why, sizeof c->nvml_why, "libnvidia-ml.so.1 not found (no NVIDIA driver)");
        return;
    }
    int (*init)(void) = (int (*)(void))dlsym(h, "nvmlInit_v2");
    int (*count)(unsigned *) = (int (*)(unsigned *))dlsym(h, "nvmlDeviceGetCount_v2");
    int (*handle)(unsigned, void **) = (int (*)(unsigned, void **))dlsym(h, "nvmlDeviceGetHandleByIndex_v2");
    c->nvmlShutdown = (int (*)(void))dlsym(h, "nvmlShutdown");
    c->nvmlDeviceGetTotalEnergyConsumption =
        (int (*)(void *, unsigned long long *))dlsym(h, "nvmlDeviceGetTotalEnergyConsumption");
    if (!init || !count || !handle || !c->nvmlShutdown || !c->nvmlDeviceGetTotalEnergyConsumption) {
        snprintf(c->nvml_why, sizeof c->nvml_why, "libnvidia-ml.so.1 lacks the energy API");
        dlclose(h);
        return;
    }
    int rc = init();
    if (rc != 0) {
        snprintf(c->nvml_why, sizeof c->nvml_why, "nvmlInit failed (code %d)", rc);
        dlclose(h);
        return;
    }
    unsigned n = 0;
    if (count(&n) != 0 || n == 0) {
        snprintf(c->nvml_why, sizeof c->nvml_why, "NVML sees no GPU");
        c->nvmlShutdown();
        dlclose(h);
        return;
    }
    for (unsigned i = 0; i < n && c->n_gpus < 16; i++) {
        void *dev;
        unsigned long long mj;
        if (handle(i, &dev) != 0) continue;
        /* Energy counters exist on Volta and newer; probe once. */
        if (c->nvmlDeviceGetTotalEnergyConsumption(dev, &mj) != 0) continue;
        c->gpu[c->n_gpus++] = dev;
    }
    if (c->n_gpus == 0) {
        snprintf(c->nvml_why, sizeof c->nvml_why, "no GPU supports total-energy counters (pre-Volta?)");
        c->nvmlShutdown();
        dlclose(h);
        return;
    }
    c->nvml = h;
}

/* ---- PAPI ------------------------------------------------------------------- */

static void papi_open(tb_counters *c) {
    c->papi_set = -1;
    c->papi_energy_set = -1;
#if TB_HAVE_PAPI
    int rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (rc != PAPI_VER_CURRENT && rc != PAPI_OK) {
        snprintf(c->papi_why, sizeof c->papi_why, "PAPI_library_init failed: %s",
                 rc > 0 ? "version mismatch" : PAPI_strerror(rc));
        return;
    }
    int set = PAPI_NULL;
    if (PAPI_create_eventset(&set) != PAPI_OK) {
        snprintf(c->papi_why, sizeof c->papi_why, "PAPI_create_eventset failed");
        return;
    }
    static const char *const want[] = {"PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_L3_TCM", "PAPI_L2_TCM"};
    char firsterr[128] = "";
    for (size_t i = 0; i < sizeof want / sizeof want[0] && c->n_events < TB_MAX_EVENTS; i++) {
        if (!strcmp(want[i], "PAPI_L2_TCM") && c->n_events > 0 && !strcmp(c->event[c->n_events - 1], "PAPI_L3_TCM"))
            continue; /* L2 only as a fallback for L3 */
        int code;
        int r = PAPI_event_name_to_code((char *)want[i], &code);
        if (r == PAPI_OK) r = PAPI_add_event(set, code);
        if (r == PAPI_OK) snprintf(c->event[c->n_events++], sizeof c->event[0], "%s", want[i]);
        else if (!firsterr[0]) snprintf(firsterr, sizeof firsterr, "%s: %s", want[i], PAPI_strerror(r));
    }
    if (c->n_events == 0) {
        snprintf(c->papi_why, sizeof c->papi_why, "no PAPI hardware events on this platform (%s)",
                 firsterr[0] ? firsterr : "none");
        PAPI_destroy_eventset(&set);
    } else {
        c->papi_set = set;
        c->papi_ok = true;
    }
    /* Energy through PAPI's rapl or powercap component, when present. */
    static const struct { const char *name; double scale; } en[] = {
        {"rapl:::PACKAGE_ENERGY:PACKAGE0", 1e-9}, /* nJ */
        {"powercap:::ENERGY_UJ:ZONE0", 1e-6},     /* uJ */
    };
    for (size_t i = 0; i < sizeof en / sizeof en[0]; i++) {
        int es = PAPI_NULL, code;
        if (PAPI_create_eventset(&es) != PAPI_OK) break;
        if (PAPI_event_name_to_code((char *)en[i].name, &code) == PAPI_OK && PAPI_add_event(es, code) == PAPI_OK) {
            c->papi_energy_set = es;
            c->papi_energy_scale = en[i].scale;
            snprintf(c->papi_energy_event, sizeof c->papi_energy_event, "%s", en[i].name);
            break;
        }
        PAPI_destroy_eventset(&es);
    }
#else
    snprintf(c->papi_why, sizeof c->papi_why, "built without PAPI (libpapi-dev not found)");
#endif
}

/* ---- public ----------------------------------------------------------------- */

int tb_counters_open(tb_counters **out, tb_err *e) {
    tb_counters *c = calloc(1, sizeof *c);
    if (!c) return tb_fail(e, "counters: out of memory");
    papi_open(c);
    if (c->papi_energy_set < 0) powercap_open(c);
    nvml_open(c);
    *out = c;
    return 0;
}

void tb_counters_start(tb_counters *c) {
    for (int i = 0; i < c->n_zones; i++)
        if (!read_ull(c->zone_path[i], &c->zone_start[i])) c->zone_start[i] = 0;
    for (int i = 0; i < c->n_gpus; i++)
        if (c->nvmlDeviceGetTotalEnergyConsumption(c->gpu[i], &c->gpu_start[i]) != 0) c->gpu_start[i] = 0;
#if TB_HAVE_PAPI
    if (c->papi_set >= 0 && PAPI_start(c->papi_set) != PAPI_OK) {
        c->papi_ok = false;
        snprintf(c->papi_why, sizeof c->papi_why, "PAPI_start failed on the hardware event set");
    }
    if (c->papi_energy_set >= 0 && PAPI_start(c->papi_energy_set) != PAPI_OK) c->papi_energy_set = -1;
#endif
    c->t0 = tb_now();
}

void tb_counters_stop(tb_counters *c, tb_counter_report *r) {
    double t1 = tb_now();
    memset(r, 0, sizeof *r);
    r->seconds = t1 - c->t0;
    r->papi_ok = c->papi_ok;
    snprintf(r->papi_why, sizeof r->papi_why, "%s", c->papi_why);
#if TB_HAVE_PAPI
    if (c->papi_ok && c->papi_set >= 0) {
        long long v[TB_MAX_EVENTS] = {0};
        if (PAPI_stop(c->papi_set, v) == PAPI_OK) {
            r->n_events = c->n_events;
            for (int i = 0; i < c->n_events; i++) {
                snprintf(r->event[i], sizeof r->event[0], "%s", c->event[i]);
                r->value[i] = v[i];
            }
        } else {
            r->papi_ok = false;
            snprintf(r->papi_why, sizeof r->papi_why, "PAPI_stop failed");
        }
    }
    if (c->papi_energy_set >= 0) {
        long long v = 0;
        if (PAPI_stop(c->papi_energy_set, &v) == PAPI_OK) {
            r->cpu_energy_ok = true;
            r->cpu_joules = (double)v * c->papi_energy_scale;
            snprintf(r->cpu_energy_source, sizeof r->cpu_energy_source, "papi:%s", c->papi_energy_event);
        }
    }
#endif
    if (!r->cpu_energy_ok && c->n_zones > 0) {
        double j = 0;
        bool ok = true;
        for (int i = 0; i < c->n_zones; i++) {
            unsigned long long v;
            if (!read_ull(c->zone_path[i], &v)) {
                ok = false;
                break;
            }
            unsigned long long d = v >= c->zone_start[i] ? v - c->zone_start[i]
                                                         : v + (c->zone_max[i] - c->zone_start[i]); /* wrapped */
            j += (double)d * 1e-6;
        }
        if (ok) {
            r->cpu_energy_ok = true;
            r->cpu_joules = j;
            snprintf(r->cpu_energy_source, sizeof r->cpu_energy_source, "powercap (%d package zone%s)", c->n_zones,
                     c->n_zones > 1 ? "s" : "");
        } else {
            snprintf(r->cpu_energy_why, sizeof r->cpu_energy_why, "powercap read failed during the run");
        }
    }
    if (!r->cpu_energy_ok && !r->cpu_energy_why[0])
        snprintf(r->cpu_energy_why, sizeof r->cpu_energy_why, "%s",
                 c->powercap_why[0] ? c->powercap_why : "no energy counter");
    if (c->n_gpus > 0) {
        double j = 0;
        bool ok = true;
        for (int i = 0; i < c->n_gpus; i++) {
            unsigned long long v;
            if (c->nvmlDeviceGetTotalEnergyConsumption(c->gpu[i], &v) != 0) {
                ok = false;
                break;
            }
            j += (double)(v - c->gpu_start[i]) * 1e-3; /* mJ */
        }
        r->gpu_energy_ok = ok;
        r->gpu_joules = ok ? j : 0;
        snprintf(r->gpu_energy_source, sizeof r->gpu_energy_source, "nvml (%d GPU%s)", c->n_gpus,
                 c->n_gpus > 1 ? "s" : "");
        if (!ok) snprintf(r->gpu_energy_why, sizeof r->gpu_energy_why, "NVML energy read failed");
    } else {
        snprintf(r->gpu_energy_why, sizeof r->gpu_energy_why, "%s", c->nvml_why);
    }
}

void tb_counters_free(tb_counters *c) {
    if (!c) return;
#if TB_HAVE_PAPI
    if (c->papi_set >= 0) {
        PAPI_cleanup_eventset(c->papi_set);
        PAPI_destroy_eventset(&c->papi_set);
    }
    if (c->papi_energy_set >= 0) {
        PAPI_cleanup_eventset(c->papi_energy_set);
        PAPI_destroy_eventset(&c->papi_energy_set);
    }
#endif
    if (c->nvml) {
        c->nvmlShutdown();
        dlclose(c->nvml);
    }
    free(c);
}

void tb_counters_describe(const tb_counter_report *r, char *buf, size_t n) {
    size_t u = 0;
#define ADD(...)                                                              \
    do {                                                                      \
        int w_ = snprintf(buf + u, n > u ? n - u : 0, __VA_ARGS__);           \
        if (w_ > 0) u = u + (size_t)w_ < n ? u + (size_t)w_ : (n ? n - 1 : 0); \
    } while (0)
    if (n) buf[0] = 0;
    if (r->papi_ok) {
        ADD("papi:");
        for (int i = 0; i < r->n_events; i++) ADD(" %s=%lld", r->event[i], r->value[i]);
    } else {
        ADD("papi n/a (%s)", r->papi_why);
    }
    if (r->cpu_energy_ok) ADD("; cpu energy %.3f J (%s)", r->cpu_joules, r->cpu_energy_source);
    else ADD("; cpu energy n/a (%s)", r->cpu_energy_why);
    if (r->gpu_energy_ok) ADD("; gpu energy %.3f J (%s)", r->gpu_joules, r->gpu_energy_source);
    else ADD("; gpu energy n/a (%s)", r->gpu_energy_why);
#undef ADD
}

void tb_counters_write(struct tb_jw *w, const char *key, const tb_counter_report *r) {
    tb_jw_obj_begin(w, key);
    tb_jw_num(w, "seconds", r->seconds);
    tb_jw_obj_begin(w, "papi");
    tb_jw_bool(w, "available", r->papi_ok);
    if (!r->papi_ok) tb_jw_str(w, "why", r->papi_why);
    tb_jw_str(w, "scope", "calling thread");
    tb_jw_obj_begin(w, "events");
    for (int i = 0; i < r->n_events; i++) tb_jw_int(w, r->event[i], r->value[i]);
    tb_jw_obj_end(w);
    tb_jw_obj_end(w);
    tb_jw_obj_begin(w, "cpu_energy");
    if (r->cpu_energy_ok) {
        tb_jw_num(w, "joules", r->cpu_joules);
        tb_jw_str(w, "source", r->cpu_energy_source);
    } else {
        tb_jw_null(w, "joules");
        tb_jw_str(w, "why", r->cpu_energy_why);
    }
    tb_jw_obj_end(w);
    tb_jw_obj_begin(w, "gpu_energy");
    if (r->gpu_energy_ok) {
        tb_jw_num(w, "joules", r->gpu_joules);
        tb_jw_str(w, "source", r->gpu_energy_source);
    } else {
        tb_jw_null(w, "joules");
        tb_jw_str(w, "why", r->gpu_energy_why);
    }
    tb_jw_obj_end(w);
    tb_jw_obj_end(w);
}

/* nvml.c: GPU energy through NVML, loaded with dlopen("libnvidia-ml.so.1") so the
 * binary has no link-time dependency on the driver.  Always built; fails cleanly
 * (one line in tb_err) when the library, the device or the counter is missing. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "tb_cuda.h"

typedef int nvml_ret;            /* nvmlReturn_t: 0 = NVML_SUCCESS */
typedef struct nvml_dev *nvml_dev; /* nvmlDevice_t (opaque) */

static struct {
    void *lib;
    nvml_ret (*init)(void);
    nvml_ret (*handle)(unsigned, nvml_dev *);
    nvml_ret (*energy)(nvml_dev, unsigned long long *);
    const char *(*str)(nvml_ret);
    char why[256];
    int ok;
} nv;
static pthread_once_t nv_once = PTHREAD_ONCE_INIT;

static void nv_load(void) {
    nv.lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!nv.lib) {
        snprintf(nv.why, sizeof nv.why, "NVML: cannot load libnvidia-ml.so.1 (no NVIDIA driver?)");
        return;
    }
    *(void **)&nv.init = dlsym(nv.lib, "nvmlInit_v2");
    *(void **)&nv.handle = dlsym(nv.lib, "nvmlDeviceGetHandleByIndex_v2");
    *(void **)&nv.energy = dlsym(nv.lib, "nvmlDeviceGetTotalEnergyConsumption");
    *(void **)&nv.str = dlsym(nv.lib, "nvmlErrorString");
    if (!nv.init || !nv.handle || !nv.energy) {
        snprintf(nv.why, sizeof nv.why, "NVML: libnvidia-ml.so.1 lacks the energy API");
        return;
    }
    nvml_ret r = nv.init();
    if (r != 0) {
        snprintf(nv.why, sizeof nv.why, "NVML: nvmlInit failed: %s", nv.str ? nv.str(r) : "error");
        return;
    }
    nv.ok = 1;
}

int tb_nvml_energy_mj(int index, unsigned long long *mj, tb_err *e) {
    pthread_once(&nv_once, nv_load);
    if (!nv.ok) return tb_fail(e, "%s", nv.why);
    if (index < 0) return tb_fail(e, "NVML: bad device index %d", index);
    nvml_dev d;
    nvml_ret r = nv.handle((unsigned)index, &d);
    if (r != 0) return tb_fail(e, "NVML: device %d: %s", index, nv.str ? nv.str(r) : "error");
    r = nv.energy(d, mj);
    if (r != 0) return tb_fail(e, "NVML: energy counter of device %d: %s", index, nv.str ? nv.str(r) : "error");
    return 0;
}

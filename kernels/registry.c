/* registry.c: the one list of kernels (from registry.inc), lookup, support checks,
 * the default choice, and the glob used by --kernel GLOB. */
#include <string.h>

#include "kernel.h"

/* 0. x86-only / AArch64-only kernels exist only in builds for that architecture */
#if defined(__x86_64__) || defined(__i386__)
#define TB_X86_KERNEL(name) TB_KERNEL(name)
#else
#define TB_X86_KERNEL(name)
#endif
#if defined(__aarch64__)
#define TB_ARM_KERNEL(name) TB_KERNEL(name)
#else
#define TB_ARM_KERNEL(name)
#endif

/* 1. every kernel's descriptor is defined in its own file */
#define TB_KERNEL(name) extern const tb_kernel tb_k_##name;
#include "registry.inc"
#undef TB_KERNEL

/* 2. the array, in registry.inc order, NULL-terminated; plugins (harness/plugin.c)
 * are appended at run time by tb_kernel_register */
#define TB_KERNEL(name) &tb_k_##name,
static const tb_kernel *const builtin[] = {
#include "registry.inc"
};
const tb_kernel *tb_kernels[TB_KERNELS_MAX + 1] = {
#include "registry.inc"
    NULL,
};
#undef TB_KERNEL

int tb_n_kernels = (int)(sizeof builtin / sizeof builtin[0]);

int tb_kernel_register(const tb_kernel *k, tb_err *e) {
    if (tb_kernel_find(k->name)) return tb_fail(e, "kernel %s is already registered", k->name);
    if (tb_n_kernels >= TB_KERNELS_MAX) return tb_fail(e, "kernel %s: the registry is full (%d kernels)", k->name, TB_KERNELS_MAX);
    tb_kernels[tb_n_kernels++] = k;
    tb_kernels[tb_n_kernels] = NULL;
    return 0;
}

const tb_kernel *tb_kernel_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < tb_n_kernels; i++)
        if (strcmp(tb_kernels[i]->name, name) == 0) return tb_kernels[i];
    return NULL;
}

static const struct {
    unsigned bit;
    const char *absent;  /* the machine lacks it */
    const char *masked;  /* the machine has it but the mask excludes it */
} isa_why[] = {
    {TB_ISA_AVX2, "needs AVX2+FMA+BMI2+F16C, not available on this CPU",
     "needs AVX2, excluded by --isa-max"},
    {TB_ISA_AVXVNNI, "needs AVX-VNNI, not available on this CPU", "needs AVX-VNNI, excluded by --isa-max"},
    {TB_ISA_AVX512, "needs AVX-512 F/BW/VL/DQ (with OS zmm support), not available on this CPU",
     "needs AVX-512, excluded by --isa-max"},
    {TB_ISA_AVX512VNNI, "needs AVX512-VNNI, not available on this CPU",
     "needs AVX512-VNNI, excluded by --isa-max"},
    {TB_ISA_AVX512VBMI, "needs AVX512-VBMI, not available on this CPU",
     "needs AVX512-VBMI, excluded by --isa-max"},
    {TB_ISA_AVX512POPCNT, "needs AVX512-VPOPCNTDQ+BITALG, not available on this CPU",
     "needs AVX512-VPOPCNTDQ, excluded by --isa-max"},
    {TB_ISA_NEON, "needs AArch64 NEON (Advanced SIMD), not available on this CPU",
     "needs NEON, excluded by --isa-max"},
    {TB_ISA_DOTPROD, "needs AArch64 NEON dot product (SDOT, Armv8.2 dotprod), not available on this CPU",
     "needs NEON dotprod, excluded by --isa-max"},
    {TB_ISA_SVE, "needs AArch64 SVE, not available on this CPU", "needs SVE, excluded by --isa-max"},
    {TB_ISA_SVE2, "needs AArch64 SVE2, not available on this CPU", "needs SVE2, excluded by --isa-max"},
    {TB_ISA_CUDA, "needs a usable CUDA device (none found, or built without CUDA)",
     "needs CUDA, excluded by --isa-max"},
};

bool tb_kernel_supported(const tb_kernel *k, unsigned mask, const char **why) {
    const unsigned have = tb_cpu_features();
    const unsigned allowed = have & mask;
    if ((k->isa & allowed) == k->isa) return true;
    if (why) {
        *why = "needs an unknown ISA feature";
        for (size_t i = 0; i < sizeof isa_why / sizeof isa_why[0]; i++) {
            const unsigned b = isa_why[i].bit;
            if ((k->isa & b) && !(allowed & b)) {
                *why = (have & b) ? isa_why[i].masked : isa_why[i].absent;
                break;
            }
        }
    }
    return false;
}

const tb_kernel *tb_kernel_best(unsigned mask) {
    const tb_kernel *best = NULL;
    for (int i = 0; i < tb_n_kernels; i++) {
        const tb_kernel *k = tb_kernels[i];
        if (!k->exact || k->on_device || !tb_kernel_supported(k, mask, NULL)) continue;
        if (!best || k->priority >= best->priority) best = k;
    }
    return best;
}

bool tb_glob_match(const char *p, const char *s) {
    /* iterative matcher with one backtrack point for the last '*' */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*') p++;
    return *p == '\0';
}

/* The kernels whose instructions this machine may lack but the test suite runs through an
 * instruction emulation (tests/kernels/emu_simd.h): their SKIP says so. */
bool tb_kernel_emulated_in_tests(const tb_kernel *k) {
    static const char *const emulated[] = {
        "gemv_i2s_4x128__avxvnni", "gemv_i2s_4x128__avx512", "gemv_i2s_4x128__avx512vnni",
        "gemv_tl1_32x4__avx512",   "gemv_tl2_32x24__avx512", "gemv_bsp_1x256__avx512",
    };
    for (size_t i = 0; i < sizeof emulated / sizeof emulated[0]; i++)
        if (strcmp(k->name, emulated[i]) == 0) return true;
    return false;
}

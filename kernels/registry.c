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

/* 2. the array, in registry.inc order, NULL-terminated */
#define TB_KERNEL(name) &tb_k_##name,
const tb_kernel *const tb_kernels[] = {
#include "registry.inc"
    NULL,
};
#undef TB_KERNEL

const int tb_n_kernels = (int)(sizeof tb_kernels / sizeof tb_kernels[0]) - 1;

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

/* cpu.c: runtime CPU feature detection and the --isa-max masks.
 *
 * x86: cpuid + xgetbv.  A feature bit is set only when the CPU reports the instructions
 * AND the OS saves the register state they need (XCR0: ymm for AVX2/AVX-VNNI, zmm+opmask
 * for AVX-512).
 * AArch64 (Linux): getauxval(AT_HWCAP / AT_HWCAP2), i.e. what the kernel says the CPU
 * has and it supports (HWCAP_ASIMD -> NEON, HWCAP_ASIMDDP -> DOTPROD, HWCAP_SVE -> SVE,
 * HWCAP2_SVE2 -> SVE2).
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static unsigned detect_x86(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const bool osxsave = c & (1u << 27), avx = c & (1u << 28);
    const bool fma = c & (1u << 12), f16c = c & (1u << 29);
    if (!osxsave || !avx) return 0;
    const unsigned long long xcr0 = xgetbv0();
    const bool ymm_os = (xcr0 & 0x6) == 0x6;          /* SSE + AVX state */
    const bool zmm_os = ymm_os && (xcr0 & 0xe0) == 0xe0; /* opmask + ZMM_Hi256 + Hi16_ZMM */
    if (!ymm_os) return 0;

    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7) return 0;
    unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
    __cpuid_count(7, 0, a, b7, c7, d7);
    __cpuid_count(7, 1, a71, b, c, d);

    unsigned f = 0;
    const bool avx2 = b7 & (1u << 5), bmi2 = b7 & (1u << 8);
    if (avx2 && bmi2 && fma && f16c) f |= TB_ISA_AVX2;
    if ((f & TB_ISA_AVX2) && (a71 & (1u << 4))) f |= TB_ISA_AVXVNNI;
    const bool a512f = b7 & (1u << 16), a512dq = b7 & (1u << 17);
    const bool a512bw = b7 & (1u << 30), a512vl = b7 & (1u << 31);
    if ((f & TB_ISA_AVX2) && zmm_os && a512f && a512dq && a512bw && a512vl) {
        f |= TB_ISA_AVX512;
        if (c7 & (1u << 11)) f |= TB_ISA_AVX512VNNI;
        if (c7 & (1u << 1)) f |= TB_ISA_AVX512VBMI;
        if ((c7 & (1u << 14)) && (c7 & (1u << 12))) f |= TB_ISA_AVX512POPCNT;
    }
    return f;
}
#else
static unsigned detect_x86(void) { return 0; }
#endif

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>

/* bit numbers of the arm64 uapi <asm/hwcap.h>, stable ABI */
#define TB_HWCAP_ASIMD (1ul << 1)
#define TB_HWCAP_ASIMDDP (1ul << 20)
#define TB_HWCAP_SVE (1ul << 22)
#define TB_HWCAP2_SVE2 (1ul << 1)

static unsigned detect_arm64(void) {
    const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    unsigned f = 0;
    if (hw & TB_HWCAP_ASIMD) f |= TB_ISA_NEON;
    if ((f & TB_ISA_NEON) && (hw & TB_HWCAP_ASIMDDP)) f |= TB_ISA_DOTPROD;
    if ((f & TB_ISA_NEON) && (hw & TB_HWCAP_SVE)) f |= TB_ISA_SVE;
    if ((f & TB_ISA_SVE) && (hw2 & TB_HWCAP2_SVE2)) f |= TB_ISA_SVE2;
    return f;
}

void tb_cpu_hwcaps(unsigned long *hwcap, unsigned long *hwcap2) {
    *hwcap = getauxval(AT_HWCAP);
    *hwcap2 = getauxval(AT_HWCAP2);
}
#else
static unsigned detect_arm64(void) { return 0; }
void tb_cpu_hwcaps(unsigned long *hwcap, unsigned long *hwcap2) { *hwcap = *hwcap2 = 0; }
#endif

/* Defined by kernels/cuda when built with CUDA; absent (NULL) otherwise. */
__attribute__((weak)) int tb_cuda_device_usable(void);

unsigned tb_cpu_features(void) {
    static int done;
    static unsigned feats;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        unsigned f = detect_x86() | detect_arm64();
        if (tb_cuda_device_usable && tb_cuda_device_usable()) f |= TB_ISA_CUDA;
        feats = f;
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    return feats;
}

/* Each name allows its level and everything below it.  The CUDA bit is not a CPU
 * ISA level and stays allowed by every name except "scalar" and "none". */
static const struct {
    const char *name;
    unsigned mask;
} isa_levels[] = {
    {"scalar", 0},
    {"none", 0},
    {"avx2", TB_ISA_AVX2 | TB_ISA_CUDA},
    {"avxvnni", TB_ISA_AVX2 | TB_ISA_AVXVNNI | TB_ISA_CUDA},
    {"avx512", TB_ISA_AVX2 | TB_ISA_AVXVNNI | TB_ISA_AVX512 | TB_ISA_CUDA},
    {"avx512vnni", TB_ISA_AVX2 | TB_ISA_AVXVNNI | TB_ISA_AVX512 | TB_ISA_AVX512VNNI | TB_ISA_CUDA},
    {"avx512vbmi", TB_ISA_AVX2 | TB_ISA_AVXVNNI | TB_ISA_AVX512 | TB_ISA_AVX512VNNI |
                       TB_ISA_AVX512VBMI | TB_ISA_CUDA},
    {"neon", TB_ISA_NEON | TB_ISA_CUDA},
    {"neondot", TB_ISA_NEON | TB_ISA_DOTPROD | TB_ISA_CUDA},
    {"sve", TB_ISA_NEON | TB_ISA_DOTPROD | TB_ISA_SVE | TB_ISA_CUDA},
    {"sve2", TB_ISA_NEON | TB_ISA_DOTPROD | TB_ISA_SVE | TB_ISA_SVE2 | TB_ISA_CUDA},
    {"all", TB_ISA_ALL},
};

int tb_isa_mask_from_name(const char *name, unsigned *mask) {
    if (!name) return -1;
    for (size_t i = 0; i < sizeof isa_levels / sizeof isa_levels[0]; i++)
        if (strcmp(name, isa_levels[i].name) == 0) {
            *mask = isa_levels[i].mask;
            return 0;
        }
    return -1;
}

void tb_isa_describe(unsigned f, char *buf, size_t n) {
    static const struct {
        unsigned bit;
        const char *name;
    } bits[] = {{TB_ISA_AVX2, "avx2"},           {TB_ISA_AVXVNNI, "avxvnni"},
                {TB_ISA_AVX512, "avx512"},       {TB_ISA_AVX512VNNI, "avx512vnni"},
                {TB_ISA_AVX512VBMI, "avx512vbmi"}, {TB_ISA_AVX512POPCNT, "avx512popcnt"},
                {TB_ISA_NEON, "neon"},           {TB_ISA_DOTPROD, "dotprod"},
                {TB_ISA_SVE, "sve"},             {TB_ISA_SVE2, "sve2"},
                {TB_ISA_CUDA, "cuda"}};
    if (!buf || n == 0) return;
    buf[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        if (!(f & bits[i].bit)) continue;
        int w = snprintf(buf + len, n - len, "%s%s", len ? " " : "", bits[i].name);
        if (w < 0 || (size_t)w >= n - len) break;
        len += (size_t)w;
    }
    if (len == 0) snprintf(buf, n, "scalar");
}

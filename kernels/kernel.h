/* kernel.h: the ternary GEMV kernel contract and the one registry.
 *
 * A kernel computes the INTEGER part of BitLinear (docs/numerics.md §2) for n activation rows:
 *
 *     acc[t*rows + r] = sum_{c<cols} w[r][c] * q[t*cols + c]     for r0 <= r < r1, t < n
 *
 * with w ternary (-1/0/+1) in the kernel's own packed layout and q int8 in
 * [-128, 127].  Exact kernels must match tb_matmul_ref bit for bit for every
 * shape and input (|acc| <= cols*128 fits int32).  The float epilogue is shared
 * (tb_bitlinear_epilogue), so kernels never touch floats.
 *
 * Naming grammar (XNNPACK style):  gemv_<layout>_<tile>__<isa>
 *   layout: i2s (2-bit codes, int8 multiply-add), tl1 (LUT, 2 weights / 4-bit index),
 *           tl2 (LUT, 3 weights / sign + 4-bit index), bsp (bit planes), w2a8 (CUDA warp-packed)
 *   tile:   <rows>x<cols>, e.g. 4x128
 *   isa:    scalar, avx2, avxvnni, avx512, avx512vnni, avx512vbmi, cuda,
 *           (AArch64) neon, neondot (NEON + SDOT), sve
 * One file per variant, named like the kernel with dashes: kernels/<family>/gemv-i2s-4x128-avx2.c.
 *
 * Rules: kernels never print, exit or allocate in gemv(); they return 0 or a negative
 * TB_KERR_* code.  gemv() must accept any r0 < r1 <= rows (the driver aligns r0 to
 * tile_rows, not r1) and any cols >= 1.  It writes only acc rows [r0, r1).
 */
#ifndef TB_KERNEL_H
#define TB_KERNEL_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ISA feature bits ------------------------------------------------- */
enum {
    TB_ISA_AVX2 = 1u << 0,       /* AVX2 + FMA + BMI2 + F16C */
    TB_ISA_AVXVNNI = 1u << 1,    /* AVX-VNNI (vpdpbusd on ymm) */
    TB_ISA_AVX512 = 1u << 2,     /* AVX-512 F + BW + VL + DQ */
    TB_ISA_AVX512VNNI = 1u << 3,
    TB_ISA_AVX512VBMI = 1u << 4,
    TB_ISA_AVX512POPCNT = 1u << 5, /* VPOPCNTDQ + BITALG */
    TB_ISA_NEON = 1u << 8,       /* AArch64 Advanced SIMD (HWCAP_ASIMD) */
    TB_ISA_DOTPROD = 1u << 9,    /* AArch64 SDOT/UDOT (HWCAP_ASIMDDP, Armv8.2+) */
    TB_ISA_SVE = 1u << 10,       /* AArch64 SVE (HWCAP_SVE) */
    TB_ISA_SVE2 = 1u << 11,      /* AArch64 SVE2 (HWCAP2_SVE2) */
    TB_ISA_CUDA = 1u << 16,      /* a CUDA device is usable */
    TB_ISA_ALL = 0xffffffffu,
};

/* Features of this CPU (and a usable CUDA device, if built with CUDA), detected once. */
unsigned tb_cpu_features(void);
/* Mask for --isa-max NAME: "scalar", "avx2", "avxvnni", "avx512", "avx512vnni", "avx512vbmi",
 * (AArch64) "neon", "neondot", "sve", "sve2", "all" (each allows its level and those below; the CUDA bit stays except for "scalar").
 * -1 if unknown. */
int tb_isa_mask_from_name(const char *name, unsigned *mask);
/* Raw AArch64 AT_HWCAP / AT_HWCAP2 (0 elsewhere), for reports. */
void tb_cpu_hwcaps(unsigned long *hwcap, unsigned long *hwcap2);
/* "avx2 avx512 ..." for reports. */
void tb_isa_describe(unsigned features, char *buf, size_t n);
/* Provided by kernels/cuda when CUDA is built (weak in cpu.c): nonzero if a device is usable. */
int tb_cuda_device_usable(void);

/* ---- error codes returned by kernel functions -------------------------- */
enum {
    TB_KERR_SHAPE = -2,   /* shape not supported by this kernel */
    TB_KERR_CODE = -3,    /* weight code out of range while packing */
    TB_KERR_DEVICE = -4,  /* device (CUDA) error */
    TB_KERR_NOMEM = -5,
};

struct tb_backend; /* reference/forward.h */

/* What an on-device kernel brings so the harness can time it and run a model on it
 * without knowing it: its own timer and memory (bench_*), its own end-to-end backend
 * (e2e_*), and the device's memory bandwidth for the roofline.  Any hook may be NULL
 * (the harness then says what is missing). */
typedef struct tb_device_hooks {
    /* Benchmark state for a rows x cols GEMV over n tokens with random data from seed,
     * resident on the device (rotated copies); *n_copies for reports. */
    int (*bench_new)(int rows, int cols, int n, uint64_t seed, void **ctx, int *n_copies, tb_err *e);
    /* iters GEMVs; *seconds = device time per GEMV (the device's own timer). */
    int (*bench_run)(void *ctx, int iters, double *seconds, tb_err *e);
    void (*bench_free)(void *ctx);
    /* Every ternary linear of the model resident on the device: the backend for tb_forward
     * and the packed bytes it holds. */
    int (*e2e_open)(const tb_model *m, void **ctx, const struct tb_backend **be, double *weight_bytes, tb_err *e);
    void (*e2e_close)(void *ctx);
    /* Device memory bandwidth (GB/s, device to device); -1 and why when unavailable. */
    int (*bandwidth)(double *gbps, char *why, size_t why_n);
} tb_device_hooks;

/* One matrix of a group call: acc (n, rows) of the packed weights. */
typedef struct tb_gemv_mat {
    const void *packed;
    int rows;
    int32_t *acc; /* (n, rows) */
} tb_gemv_mat;

/* A token-split batch as one call per thread (tb_gemv_tokens_group with a kernel that has
 * gemv_team).  share[i]: thread i's tokens [t0, t0 + n) (n may be 0), q pointing at token
 * t0 and prep holding the kernel's prep of them, both written by thread i just before its
 * call (another thread may read them only after synchronizing with thread i through
 * state).  Every thread calls gemv_team(team, tid) once: it computes its own share for
 * every matrix (acc rows t0.. of each) and may also take over part of another share's work
 * (the results must be the same bits whoever computes them), coordinating through state:
 * TB_TEAM_STATE_BYTES per thread, zeroed and 64-byte aligned, shared by all. */
enum { TB_TEAM_STATE_BYTES = 256 };
typedef struct tb_gemv_share {
    const int8_t *q;
    const void *prep;
    int n, t0;
} tb_gemv_share;
typedef struct tb_gemv_team {
    const tb_gemv_mat *mats;
    int count, cols, nth;
    const tb_gemv_share *share; /* (nth) */
    void *state;                /* (nth * TB_TEAM_STATE_BYTES) */
} tb_gemv_team;

typedef struct tb_kernel {
    const char *name;     /* gemv_<layout>_<tile>__<isa> */
    const char *family;   /* "mad", "lut", "bitserial", "cuda" */
    const char *layout;   /* packed layout id, shared by variants that consume the same bytes */
    const char *desc;     /* one line: what it does and how */
    unsigned isa;         /* TB_ISA_* bits required (0 = portable C) */
    int tile_rows;        /* rows produced together; driver splits at multiples of this */
    int block_k;          /* weights per packed block along K */
    bool exact;           /* integer result bit-identical to the reference */
    bool needs_prep;      /* prep() builds per-activation data (LUT, planes, sums) */
    bool on_device;       /* runs on an accelerator */
    double bits_per_weight; /* packed bytes*8 / weights for a 2560-wide row (informational) */

    /* Packed weight size in bytes for rows x cols. */
    size_t (*packed_size)(int rows, int cols);
    /* Canonical -> packed.  Returns 0 or TB_KERR_*. */
    int (*pack)(const tb_ternary *w, void *dst);
    /* Packed -> codes of row r (for the packer check). */
    int (*unpack_row)(const void *packed, int rows, int cols, int r, int8_t *out);
    /* Activation pass (may be NULL when !needs_prep): size in bytes for n rows of cols. */
    size_t (*prep_size)(int cols, int n);
    int (*prep)(const int8_t *q, int cols, int n, void *prep);
    /* The GEMV itself; prep is NULL when !needs_prep. */
    int (*gemv)(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n,
                int r0, int r1, int32_t *acc);

    /* Approximate kernels (exact == false): the registered portable kernel whose results
     * define theirs (the checker compares them bit for bit against it; the definition
     * itself is checked against the reference within err_bound).  NULL for exact kernels. */
    const char *defined_by;
    /* Approximate kernels: the largest |acc - exact| any input can give, for one output
     * of a row of `cols` weights (docs/approximations.md states each bound).  NULL for exact. */
    int64_t (*err_bound)(int cols);

    /* On-device kernels (on_device): timer, memory and end-to-end backend; NULL otherwise. */
    const tb_device_hooks *device;

    /* For a batch (n > 1) on several threads.  batch_rows > 0: each matrix goes out in
     * equal calls of at least this many rows (tb_gemv_even_rows); 0: guided grabs down to
     * 64 rows.  batch_tokens > 0: the threads split the tokens instead, in whole blocks of
     * batch_tokens, each thread running the prep and every row for its own
     * (tb_gemv_tokens_group); used when n >= 2 * batch_tokens.  A kernel that builds tables
     * per token block and sweeps them over its rows (the i2s token-lane LUT) asks for it. */
    int batch_rows;
    int batch_tokens;
    /* Optional, with batch_tokens: the token split as one cooperative call per thread
     * (tb_gemv_team above), so that a thread done with its own share can take on the end of
     * a slower one's; returns 0 or a TB_KERR_* code.  NULL: one gemv per matrix and thread. */
    int (*gemv_team)(const tb_gemv_team *team, int tid);

    /* Added by the registry owner (designated initializers leave these 0). */
    int priority;         /* tb_kernel_best() picks the highest-priority supported exact CPU
                             kernel (ties: later registry line); set from measurements */
} tb_kernel;

/* ---- registry (kernels/registry.inc lists every kernel once) ---------- */
/* Built-in kernels first (registry.inc order), then plugin kernels (harness/plugin.c)
 * in load order; NULL-terminated.  Enumerate with i < tb_n_kernels. */
#define TB_KERNELS_MAX 256
extern const tb_kernel *tb_kernels[];
extern int tb_n_kernels;
/* Appends k (which must outlive every use; names are unique).  0, or -1 (+e) when the name
 * is taken or the registry is full. */
int tb_kernel_register(const tb_kernel *k, tb_err *e);

const tb_kernel *tb_kernel_find(const char *name);
/* True when the kernel can run under `mask` (ANDed with detected features); else *why says why. */
bool tb_kernel_supported(const tb_kernel *k, unsigned mask, const char **why);
/* The fastest exact CPU kernel available under mask: highest .priority (set from
 * measurements), ties broken by the later registry.inc line; never an on-device kernel. */
const tb_kernel *tb_kernel_best(unsigned mask);
/* True for the kernels the test suite checks through an emulation of their instructions
 * (tests/kernels/test_kcore_emu.c, test_lut_emu.c): where such a kernel cannot run,
 * reports say "checked through an emulation of its instructions, never run here". */
bool tb_kernel_emulated_in_tests(const tb_kernel *k);
/* Simple glob (* and ?) for --kernel GLOB. */
bool tb_glob_match(const char *pattern, const char *s);

#ifdef __cplusplus
}
#endif
#endif

/* ternbench_plugin.h: the ABI for ternary GEMV kernels that live outside ternbench.
 *
 * Self-contained (C99 headers only).  A plugin is a shared object that exports
 *
 *     const tb_plugin_table *ternbench_plugin_entry(void);
 *
 * returning a table of kernels built against TB_PLUGIN_ABI_VERSION.  Load it with
 * `ternbench <command> --plugin path/libmykernel.so` (or TERNBENCH_PLUGINS=a.so:b.so): its
 * kernels join the registry as "plugin:<name>" and go through the same checker,
 * benchmarks, end-to-end runs and perplexity as the built-in ones.  A kernel that fails
 * the checker is never timed.  Build a plugin with only this header:
 *
 *     cc -O2 -shared -fPIC -I<prefix>/include/ternbench mykernel.c -o libmykernel.so
 *
 * The contract (the same as the built-in kernels', see the README "Bring your own kernel"):
 * a kernel computes the INTEGER part of BitLinear for n activation rows,
 *
 *     acc[t*rows + r] = sum_{c<cols} w[r][c] * q[t*cols + c]      r0 <= r < r1, t < n,
 *
 * w ternary (-1/0/+1) in the kernel's own packed layout, q int8 in [-128, 127]; exact
 * kernels must match that sum bit for bit for every shape.  gemv() must accept any
 * r0 < r1 <= rows with r0 a multiple of tile_rows (threads split rows at multiples of
 * tile_rows) and write only acc rows [r0, r1); it may be called from several threads at
 * once on disjoint row ranges.  Functions never print, exit or keep global state that
 * changes results; they return 0 or a negative TB_PLUGIN_ERR_* code.
 */
#ifndef TERNBENCH_PLUGIN_H
#define TERNBENCH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any change of the structs or function types below; the loader refuses a
 * plugin built against another version, with both numbers in the message. */
#define TB_PLUGIN_ABI_VERSION 1

/* Return codes of the kernel functions (the same values as ternbench's own kernels). */
#define TB_PLUGIN_ERR_SHAPE (-2) /* shape not supported by this kernel */
#define TB_PLUGIN_ERR_CODE (-3)  /* a weight code outside -1/0/+1 while packing */
#define TB_PLUGIN_ERR_NOMEM (-5)

typedef struct tb_plugin_kernel {
    const char *name;   /* unique within the plugin: [A-Za-z0-9_.-]+, registered as "plugin:<name>" */
    const char *desc;   /* one line: what it does and how */
    /* Instruction sets it needs, space-separated, from: avx2 avxvnni avx512 avx512vnni
     * avx512vbmi avx512popcnt neon neondot sve sve2 ("" = portable C).  ternbench checks
     * the CPU and reports SKIP (with the reason) where one is missing; it never calls the
     * kernel there.  An unknown name makes the loader refuse the plugin. */
    const char *isa;
    int tile_rows;      /* rows produced together (>= 1) */
    int block_k;        /* weights per packed block along K (informational, >= 1) */
    int exact;          /* 1: bit-identical integer results (checked); 0: approximate, which
                         * `ternbench check` FAILS: an approximate kernel must name the kernel
                         * that defines its results and its error bound (kernel.h defined_by,
                         * err_bound), which this ABI version cannot express yet */

    /* Packed size in bytes of a rows x cols matrix. */
    size_t (*packed_size)(int rows, int cols);
    /* codes: rows x cols, row-major, values -1/0/+1  ->  dst (packed_size bytes). */
    int (*pack)(const int8_t *codes, int rows, int cols, void *dst);
    /* packed -> the codes of row r (the checker proves pack/unpack round-trip). */
    int (*unpack_row)(const void *packed, int rows, int cols, int r, int8_t *out);
    /* Optional per-activation pass (LUTs, bit planes, sums): both NULL, or both set.
     * prep_size(cols, n) bytes for n rows of cols activations; prep() fills them once per
     * activation batch (timed separately by the benchmarks). */
    size_t (*prep_size)(int cols, int n);
    int (*prep)(const int8_t *q, int cols, int n, void *prep);
    /* The GEMV itself (prep is NULL when the kernel has no prep). */
    int (*gemv)(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0, int r1,
                int32_t *acc);
} tb_plugin_kernel;

typedef struct tb_plugin_table {
    uint32_t abi_version;              /* TB_PLUGIN_ABI_VERSION the plugin was built with */
    const char *plugin_name;           /* for messages, e.g. "mykernels 0.1" */
    uint32_t n_kernels;
    const tb_plugin_kernel *kernels;   /* n_kernels entries, alive until the process exits */
} tb_plugin_table;

/* The one symbol ternbench looks up. */
#define TB_PLUGIN_ENTRY "ternbench_plugin_entry"
typedef const tb_plugin_table *(*tb_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif

/* x86-names.c (AArch64 builds only): the x86 entry points runner.c names.
 * (When runner.c names a new x86-only function, the AArch64 link fails: add it here;
 * test arm_qemu catches it.)
 * runner.c installs tb_attn_heads_avx2/avx512 and tb_rowops_avx2 only when TB_ISA_AVX2 /
 * TB_ISA_AVX512 is detected, which never happens on ARM (cpu.c sets x86 bits only on x86), and their
 * x86 files are not compiled here; these definitions only satisfy the linker.
 *   - tb_attn_heads_avx2/avx512 forward to the plain C reference (the same bits by contract),
 *     so it is correct even if called;
 *   - tb_rowops_avx2 is all NULL: never installed on ARM (tb_forward then uses
 *     tb_ref_rowops()).
 * There is no NEON attention or NEON row operations yet: ARM runs the reference code. */
#include "attention.h"
#include "rowops.h"

void tb_attn_heads_avx2(const float *q, int g, const float *k, const float *v, size_t stride, int n, int hd,
                        float scale, float *out, float *score) {
    tb_ref_attn_heads(q, g, k, v, stride, n, hd, scale, out, score);
}

void tb_attn_heads_avx512(const float *q, int g, const float *k, const float *v, size_t stride, int n, int hd,
                          float scale, float *out, float *score) {
    tb_ref_attn_heads(q, g, k, v, stride, n, hd, scale, out, score);
}

const tb_rowops tb_rowops_avx2 = {0};

void tb_attn_head_kv_avx2(const float *q, const tb_kv_view *kv, int n, int hd, float scale, float *out,
                          float *score) {
    tb_ref_attn_head_kv(q, kv, n, hd, scale, out, score);
}

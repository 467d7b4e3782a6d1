/* missing_isa.c: a plugin kernel that declares an instruction set this CPU cannot have
 * (SVE on x86, AVX2 on AArch64), so ternbench must skip it with the reason and never call it. */
#define ternbench_plugin_entry example_entry
#include "../../../examples/plugin/mykernel.c"
#undef ternbench_plugin_entry

#if defined(__aarch64__)
#define FOREIGN "avx2"
#else
#define FOREIGN "sve"
#endif
static const tb_plugin_kernel foreign[] = {{.name = "needs_" FOREIGN, .desc = "needs a foreign ISA", .isa = FOREIGN,
                                            .tile_rows = 1, .block_k = 4, .exact = 1, .packed_size = packed_size,
                                            .pack = pack, .unpack_row = unpack_row, .gemv = gemv}};
static const tb_plugin_table foreign_table = {TB_PLUGIN_ABI_VERSION, "foreign", 1, foreign};
const tb_plugin_table *ternbench_plugin_entry(void) { (void)example_entry; return &foreign_table; }

/* wrong_result.c: a deliberately wrong plugin for tests/harness/test_plugin.py: the example
 * kernel, but every sum off by one where it matters least (the last row of a range). */
#define ternbench_plugin_entry example_entry
#include "../../../examples/plugin/mykernel.c"
#undef ternbench_plugin_entry

static int gemv_wrong(const void *packed, int rows, int cols, const int8_t *q, const void *prep, int n, int r0,
                      int r1, int32_t *acc) {
    int rc = gemv(packed, rows, cols, q, prep, n, r0, r1, acc);
    if (!rc && r1 == rows) acc[r1 - 1] += 1;
    return rc;
}

static const tb_plugin_kernel wrong[] = {{.name = "wrong_by_one", .desc = "deliberately wrong", .isa = "",
                                          .tile_rows = 1, .block_k = 4, .exact = 1, .packed_size = packed_size,
                                          .pack = pack, .unpack_row = unpack_row, .gemv = gemv_wrong}};
static const tb_plugin_table wrong_table = {TB_PLUGIN_ABI_VERSION, "wrong", 1, wrong};
const tb_plugin_table *ternbench_plugin_entry(void) { (void)example_entry; return &wrong_table; }

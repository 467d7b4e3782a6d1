/* wrong_abi.c: a plugin built for another ABI version (tests/harness/test_plugin.py). */
#define ternbench_plugin_entry example_entry
#include "../../../examples/plugin/mykernel.c"
#undef ternbench_plugin_entry

static const tb_plugin_table future = {TB_PLUGIN_ABI_VERSION + 1, "from the future", 1, kernels};
const tb_plugin_table *ternbench_plugin_entry(void) { (void)example_entry; return &future; }

/* plugin.h: loading out-of-tree kernels (kernels/ternbench_plugin.h) into the registry. */
#ifndef TB_PLUGIN_LOADER_H
#define TB_PLUGIN_LOADER_H

#include "kernel.h"

/* dlopen()s path, checks the ABI version and every kernel descriptor, and registers its
 * kernels as "plugin:<name>".  0, or -1 with one line in e naming the plugin and the
 * problem (not a shared object, no entry point, ABI mismatch, bad descriptor, unknown ISA). */
int tb_plugin_load(const char *path, tb_err *e);
/* Loads $TERNBENCH_PLUGINS (colon-separated), then every `--plugin PATH` in argv[1..],
 * removing those from argv (argc updated). */
int tb_plugins_load_args(int *argc, char **argv, tb_err *e);

#endif

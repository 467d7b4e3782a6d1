/* cli.h: the `ternbench` subcommands.  Each returns the process exit status
 * (0 ok, 1 failure, 2 usage error) and prints its own --help. */
#ifndef TB_CLI_H
#define TB_CLI_H

#include <stdio.h>

#define TB_CMDS(X)                                                                         \
    X(info, "print a model's config, tensor table and bytes per token")                    \
    X(synth, "write a deterministic synthetic model (GGUF I2_S or HF packed)")             \
    X(logits, "evaluate tokens and write raw float32 logits")                              \
    X(generate, "greedy decoding with tokens/s")                                           \
    X(tokenize, "Llama-3 BPE: text -> token ids")                                          \
    X(ppl, "perplexity (llama-perplexity convention), KL and top-1 vs reference")         \
    X(check, "prove every registered kernel against the scalar reference")                 \
    X(bench, "Google Benchmark over kernels x shapes x threads")                           \
    X(bandwidth, "measure memory read bandwidth (STREAM-like)")                            \
    X(bench_e2e, "end-to-end decode/prefill speed of a kernel on a model")                 \
    X(sweep, "the main job: check, bench, bandwidth, e2e, ppl, results and plots")        \
    X(paper, "reproduce the 2B4T report's latency/memory/energy table")

#define TB_DECLARE_CMD(name, help) int tb_cmd_##name(int argc, char **argv);
TB_CMDS(TB_DECLARE_CMD)
#undef TB_DECLARE_CMD

/* Shared helpers for subcommands. */
/* Returns argv[i+1] for "--opt VALUE" forms, or prints an error and returns NULL. */
const char *tb_arg_value(int argc, char **argv, int *i);
/* Path of the shared data directory: $TERNBENCH_DATA, else ../shared/data relative to
 * the source tree (compiled in), else NULL. */
const char *tb_data_dir(void);

#endif

/* cli.h: the `ternbench` subcommands.  Each returns the process exit status
 * (0 ok, 1 failure, 2 usage error) and prints its own --help. */
#ifndef TB_CLI_H
#define TB_CLI_H

#include <stdbool.h>
#include <stdio.h>

#define TB_CMDS(X)                                                                         \
    X(info, "print a model's config, tensor table and bytes per token")                    \
    X(synth, "write a deterministic synthetic model (GGUF I2_S or HF packed)")             \
    X(convert, "rewrite a model in another layout: GGUF I2_S, HF packed (from HF bf16 too)") \
    X(logits, "evaluate tokens and write raw float32 logits")                              \
    X(generate, "greedy decoding with tokens/s")                                           \
    X(tokenize, "Llama-3 BPE: text -> token ids")                                          \
    X(ppl, "perplexity (llama-perplexity convention), KL and top-1 vs reference")         \
    X(check, "prove every registered kernel against the scalar reference")                 \
    X(bench, "Google Benchmark over kernels x shapes x threads")                           \
    X(bandwidth, "measure memory read bandwidth (STREAM-like)")                            \
    X(bench_e2e, "end-to-end decode/prefill speed of a kernel on a model")                 \
    X(sweep, "the main job: bandwidth, check, bench, e2e, ppl, results and plots")        \
    X(paper, "reproduce the 2B4T report's latency/memory/energy table")                    \
    X(frontier, "every numeric configuration: decode speed vs perplexity/KL, Pareto front") \
    X(tune, "measure which exact kernel is fastest here, per thread count (for best)")      \
    X(import_llama_bench, "a peer's llama-bench JSON / llama-perplexity result, labelled imported")

#define TB_DECLARE_CMD(name, help) int tb_cmd_##name(int argc, char **argv);
TB_CMDS(TB_DECLARE_CMD)
#undef TB_DECLARE_CMD

/* Shared helpers for subcommands. */
/* The running subcommand's name as users type it ("bench-e2e"), set by main() before
 * dispatching: error lines read "ternbench <tb_cli_cmd>: message". */
extern const char *tb_cli_cmd;
/* Returns argv[i+1] for "--opt VALUE" forms, or prints an error and returns NULL. */
const char *tb_arg_value(int argc, char **argv, int *i);
/* Prints "ternbench <tb_cli_cmd>: <message>\n" on stderr and returns 2 (usage error). */
int tb_cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Path of the shared data directory: $TERNBENCH_DATA, else ../shared/data relative to
 * the source tree (compiled in), else NULL. */
const char *tb_data_dir(void);

/* ---- cli_common.c: options shared by several subcommands.  Each prints one line
 * "ternbench CMD: ..." on error. ---- */
struct tb_kernel;
struct tb_model;
struct tb_runner;
/* The --isa-max names kernels/cpu.c's tb_isa_mask_from_name accepts ("none" is an
 * undocumented alias of scalar), for help texts and errors. */
#define TB_CLI_ISA_NAMES "scalar, avx2, avxvnni, avx512, avx512vnni, avx512vbmi, all (ARM: neon, neondot, sve, sve2)"
/* s as a decimal integer in lo..hi into *out; else prints "OPT wants an integer in
 * LO..HI, got 'S'" and returns -1 (a usage error). */
/* The model options of logits, generate and ppl. */
typedef struct tb_cli_model_opts {
    const char *model, *kernel, *isa; /* --model, --kernel, --isa-max values (NULL: not given) */
    const char *config;               /* --config value (NULL: not given; numcfg.h) */
    int threads;                      /* --threads 0..TB_POOL_MAX (0 = all cores) */
} tb_cli_model_opts;
/* If argv[*i] is --model, --kernel, --isa-max, --config or --threads: stores its value in *o,
 * advances *i and returns 1; returns 0 for any other argument, -1 (a usage error,
 * printed) for a missing or bad value. */
int tb_cli_model_opt(const char *cmd, int argc, char **argv, int *i, tb_cli_model_opts *o);
int tb_cli_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out);
/* --threads N: 0..TB_POOL_MAX, 0 = all cores (the core count, capped at the pool's
 * limit).  Prints the one message every subcommand uses and returns -1 when bad. */
int tb_cli_threads(const char *cmd, const char *s, int *out);
/* --threads LIST (commas or spaces, each as tb_cli_threads) into out[0..max); returns the
 * count, or -1 after printing why. */
int tb_cli_thread_list(const char *cmd, const char *s, int *out, int max);
/* An output path, checked before any work: "-" (standard output) where allowed, else a
 * path that is not a directory and whose directory exists and is writable (devices and
 * FIFOs are fine).  Returns 0, or prints "OPT PATH: why" and returns -1. */
int tb_cli_out_file(const char *cmd, const char *opt, const char *path, bool allow_stdout);
/* An output directory: an existing writable directory, or one that can be created
 * (its nearest existing ancestor is a writable directory).  Same contract. */
int tb_cli_out_dir(const char *cmd, const char *opt, const char *path);
/* Prints "ternbench <tb_cli_cmd>: msg" for a library error message, without the
 * module tag some messages carry ("bench: "), so no prefix is doubled. */
void tb_cli_err(const char *msg);
/* True when s has glob characters (* ? [). */
bool tb_cli_is_glob(const char *s);
/* --isa-max NAME to a mask (NULL name: all); else prints the accepted names, -1. */
int tb_cli_isa_mask(const char *cmd, const char *name, unsigned *mask);
/* --kernel NAME (NULL or "best": the best exact kernel within mask; "ref": *k = NULL,
 * the scalar reference; a glob: the one registered kernel it matches).  Returns 0, or
 * the exit status after printing why: 2 for a name that is not registered or a glob
 * that matches none or several, 1 for a known kernel this CPU (or mask) cannot run. */
int tb_cli_kernel(const char *cmd, const char *name, unsigned mask, const struct tb_kernel **k);
/* The same for a run on `threads` threads (0 = all cores): 'best' takes the kernel
 * `ternbench tune` measured fastest at that thread count on this machine, when cached
 * (saying so on stderr), else the static priority. */
int tb_cli_kernel_for(const char *cmd, const char *name, unsigned mask, int threads, const struct tb_kernel **k);
/* The whole setup of logits and generate from *o: --isa-max, --kernel (as
 * tb_cli_kernel), then the model and, for a kernel, its runner with o->threads.
 * Returns 0, or the exit status after printing why (nothing left to free). */
int tb_cli_open(const char *cmd, const tb_cli_model_opts *o, const struct tb_kernel **k, struct tb_model **m,
                struct tb_runner **runner);
/* --config (one configuration; default exact) applied to a state of m: opens it into *run
 * (close with tb_numcfg_close) and sets the state's numerics.  0, or 1 after printing why. */
struct tb_state;
struct tb_numcfg_run;
int tb_cli_apply_config(const char *cmd, const tb_cli_model_opts *o, const struct tb_model *m, struct tb_state *st,
                        struct tb_numcfg_run *run);
/* The tokenizer of a run: --tokenizer PATH when given, else the GGUF's metadata, else the
 * HF directory's tokenizer.json.  *from names where it came from.  0, or 1 after printing
 * why (saying --tokenizer would help). */
struct tb_tokenizer;
int tb_cli_tokenizer(const char *cmd, const struct tb_model *m, const char *path, struct tb_tokenizer **tok,
                     const char **from);
/* Runs scripts/plot_results.py DIR (skipped with a note when python3 or the script is
 * missing).  0, or 1 after printing why the script failed. */
int tb_cli_run_plots(const char *cmd, const char *dir);
/* The --config help lines of logits and generate. */
#define TB_CLI_CONFIG_HELP                                                                              \
    "  --config NAME     numeric configuration (default exact; `ternbench check --configs` lists them,\n" \
    "                    docs/approximations.md defines them); one with its own kernels runs the best\n"  \
    "                    of them unless --kernel names one\n"

#endif

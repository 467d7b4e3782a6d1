/* driver.h: a persistent pool of worker threads and the parallel GEMV on top of it.
 *
 * tb_pool runs one function on all its threads at once (the caller is thread 0),
 * pinned one per core with hwloc when available.  tb_gemv_parallel hands out chunks of
 * output rows (multiples of the kernel's tile_rows) from a shared counter, so every row
 * is computed by exactly the same code whatever the thread count or the timing: exact
 * kernels give identical results for any number of threads.
 */
#ifndef TB_DRIVER_H
#define TB_DRIVER_H

#include "kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_pool tb_pool;

/* threads: 1..TB_POOL_MAX (0 = all online cores).  pin: bind thread i to core i (hwloc;
 * ignored without hwloc or when TB_NO_PIN is set in the environment).  The caller's
 * binding is restored by tb_pool_free. */
#define TB_POOL_MAX 256
int tb_pool_new(int threads, bool pin, tb_pool **out, tb_err *e);
void tb_pool_free(tb_pool *p);
int tb_pool_threads(const tb_pool *p);
/* Number of online cores (hwloc cores when available, else online CPUs). */
int tb_ncores(void);

/* Runs fn(arg, tid, nthreads) on every thread (tid 0 on the caller) and waits.
 * Not reentrant: one run at a time per pool. */
typedef void (*tb_pool_fn)(void *arg, int tid, int nthreads);
void tb_pool_run(tb_pool *p, tb_pool_fn fn, void *arg);
/* Seconds the caller has spent in tb_pool_run waiting for the other threads after
 * finishing its own share (imbalance + hand-off), cumulative over the pool's life. */
double tb_pool_wait_seconds(const tb_pool *p);

/* The smallest guided grab of rows tb_gemv_parallel hands out for n activation rows (a
 * multiple of tile, at most all the rows): about 1/(8 nth) of the rows for n = 1, 64 for a
 * batch.  Grabs start at 1/(2 nth) of the rows left and shrink to this (reference/split.h).
 * A batch kernel with batch_rows > 0 gets equal calls instead (tb_gemv_even_rows). */
int tb_gemv_chunk_rows(int rows, int tile, int nth, int n);

/* The rows per call when a batch kernel asks for batch_rows > 0 (it builds state per call,
 * such as lookup tables): a matrix of `rows` rows goes out in equal calls (whole tiles, the
 * last one shorter), nth * max(1, rows / (nth * batch_rows)) of them, so every thread gets
 * the same share in calls of at least batch_rows rows where the matrix has them. */
int tb_gemv_even_rows(int rows, int tile, int nth, int batch_rows);

/* acc[t*rows + r] for all rows and t < n with kernel k (prep already run by the caller;
 * NULL when !k->needs_prep).  On-device kernels get one call for all rows.  Returns 0 or
 * the first kernel error. */
int tb_gemv_parallel(tb_pool *p, const tb_kernel *k, const void *packed, int rows, int cols,
                     const int8_t *q, const void *prep, int n, int32_t *acc);

enum { TB_GEMV_GROUP_MAX = 4 }; /* matrices in one tb_gemv_parallel_group call */

/* tb_gemv_parallel over up to TB_GEMV_GROUP_MAX matrices of the same cols that share the activations q
 * (and prep): one hand-out of rows over all of them, so the threads start once and
 * stream from one matrix straight into the next (a layer's q, k, v; gate and up).
 * Same bits as one call per matrix.  Returns 0 or the first kernel error. */
int tb_gemv_parallel_group(tb_pool *p, const tb_kernel *k, int count, const tb_gemv_mat *mats, int cols,
                           const int8_t *q, const void *prep, int n);

#ifdef __cplusplus
}
#endif
/* The tokens [*t0, *t1) of thread tid of nth when n tokens are split in whole blocks of
 * `block` tokens (the last thread also takes the n % block left over): the first
 * n / block % nth threads get one block more.  Empty ([t, t)) when there are fewer blocks
 * than threads. */
void tb_gemv_token_share(int n, int block, int tid, int nth, int *t0, int *t1);

/* For a kernel with batch_tokens > 0 and a batch: every thread takes its token share
 * (tb_gemv_token_share with k->batch_tokens), runs the kernel's prep on those tokens into
 * preps[tid] (prep_size(cols, n) bytes each is always enough) and computes every row of
 * every matrix for them.  A kernel that builds tables per token block then builds each
 * table once per call instead of once per thread, the prep runs on all threads, and the
 * shares are equal by construction.  Same bits as tb_gemv_parallel_group.  prep_s, when not
 * NULL, gets each thread's prep seconds (prep_s[tid], 0 for a thread without tokens).
 * Returns 0 or the first kernel error. */
int tb_gemv_tokens_group(tb_pool *p, const tb_kernel *k, int count, const tb_gemv_mat *mats, int cols,
                         const int8_t *q, int n, void *const *preps, double *prep_s);

/* Whether a batch of n tokens on `threads` threads goes out by tokens (tb_gemv_tokens_group):
 * a CPU kernel with batch_tokens > 0, more than one thread, n >= 2 * batch_tokens.  The one
 * rule the runner, `bench` and `check` all follow. */
bool tb_gemv_splits_tokens(const tb_kernel *k, int threads, int n);

/* The per-thread prep scratch of a token split: preps[0..nth) (re)allocated to `bytes`
 * each (NULL when bytes is 0), whatever they held freed first.  0, or -1 with all of them
 * freed and NULL when memory runs out. */
int tb_gemv_preps_alloc(void **preps, int nth, size_t bytes);
void tb_gemv_preps_free(void **preps, int nth);

#endif

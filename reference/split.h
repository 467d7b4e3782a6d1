/* split.h: how tb_forward and the kernel driver share independent rows among threads.
 *
 * Guided self-scheduling: each grab from a shared counter takes 1/(2 nth) of the rows
 * still left, never fewer than a minimum.  The first grabs are long (one stream per
 * thread: the hardware prefetchers ramp up once and the counter is rarely touched), the
 * last are short (a thread slowed by a neighbour waits for at most one small grab).
 * Which thread computes a row never changes its bits.
 */
#ifndef TB_SPLIT_H
#define TB_SPLIT_H

#include <stdatomic.h>

/* rows for the next grab with `left` rows left: max(left / (2 nth) rounded down to a
 * multiple of tile, min); min is a multiple of tile */
static inline int tb_guided_rows(int left, int nth, int min, int tile) {
    const int g = left / (2 * nth) / tile * tile;
    return g > min ? g : min;
}

/* Owner-first shares: n items in nth shares (share v holds `size` items of its own), each
 * thread taking chunks of its own share from the front, then of the others' shares through
 * the same counters.  Most items stay with the thread whose caches hold them (the rows a
 * token split wrote); a thread stalled for a while (a shared vCPU) leaves the rest of its
 * share to one that is free, instead of every other thread waiting for it.  Zeroed before
 * each use.  tb_shares_count(nth) shares: one per thread, and with more than TB_SHARES_MAX
 * threads thread tid starts at share tid % TB_SHARES_MAX (any thread may take any item). */
enum { TB_SHARES_MAX = 64 };
typedef struct {
    atomic_int taken[TB_SHARES_MAX];
} tb_shares;

static inline int tb_shares_count(int nth) { return nth < TB_SHARES_MAX ? nth : TB_SHARES_MAX; }

/* The next up-to-chunk items [k, *end) of share v (size items): k, or -1 once all are taken. */
static inline int tb_share_claim(tb_shares *s, int v, int size, int chunk, int *end) {
    const int k = atomic_fetch_add_explicit(&s->taken[v], chunk, memory_order_relaxed);
    if (k >= size) return -1;
    *end = k + chunk < size ? k + chunk : size;
    return k;
}

#endif

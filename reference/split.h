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

/* rows for the next grab with `left` rows left: max(left / (2 nth) rounded down to a
 * multiple of tile, min); min is a multiple of tile */
static inline int tb_guided_rows(int left, int nth, int min, int tile) {
    const int g = left / (2 * nth) / tile * tile;
    return g > min ? g : min;
}

#endif

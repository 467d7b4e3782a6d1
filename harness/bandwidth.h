/* bandwidth.h: memory read bandwidth measured on this machine (STREAM-like
 * read kernel), the roofline every GB/s figure of a run is divided by; and the
 * last-level cache size used to size cold-weight buffers. */
#ifndef TB_BANDWIDTH_H
#define TB_BANDWIDTH_H

#include "tb_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_bw_result {
    int threads;
    int reps;
    size_t bytes;        /* buffer read per repetition */
    double gbps_median;  /* 1e9 bytes / s */
    double gbps_min, gbps_max;
} tb_bw_result;

/* Reads a `bytes` buffer (split evenly over `threads` pinned threads) `reps`
 * times after one warm-up pass; reports median/min/max GB/s.  bytes should be
 * several times the last-level cache.  Errors: bad arguments, no memory. */
int tb_bandwidth_measure(size_t bytes, int threads, int reps, tb_bw_result *out, tb_err *e);

/* Last-level cache size to defeat: `configured` if > 0 (source "configured");
 * else sysfs cpu0 index3 if sane (<= 256 MiB; source "sysfs"); else 64 MiB
 * (source "default: sysfs said X" or "default: no sysfs L3"). */
size_t tb_llc_bytes(size_t configured, char *source, size_t source_n);

/* Parses "64M", "32768K", "1G", "123" (bytes).  Returns 0 on error. */
size_t tb_parse_size(const char *s);

/* Writes results as a JSON array under key. */
struct tb_jw;
void tb_bw_write(struct tb_jw *w, const char *key, const tb_bw_result *r, int n);

#ifdef __cplusplus
}
#endif
#endif

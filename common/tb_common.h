/* tb_common.h: small utilities shared by every part of ternbench.
 *
 * Errors: library code never prints or exits.  A function that can fail takes a
 * `tb_err *` (may be NULL), writes one human-readable line into it and returns a
 * negative value.  The CLI prints `err.msg` and exits non-zero.
 */
#ifndef TB_COMMON_H
#define TB_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */
typedef struct tb_err {
    char msg[512];
} tb_err;

/* Formats the message into e (if e is non-NULL) and returns -1. */
int tb_fail(tb_err *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- half precision (exact, round-to-nearest-even on the way down) ---- */
float tb_f16_to_f32(uint16_t h);
uint16_t tb_f32_to_f16(float f);
float tb_bf16_to_f32(uint16_t h);
uint16_t tb_f32_to_bf16(float f);

/* ---- the one PRNG (xoshiro256**, seeded through splitmix64) ----------- */
typedef struct tb_rng {
    uint64_t s[4];
} tb_rng;
void tb_rng_seed(tb_rng *r, uint64_t seed);
uint64_t tb_rng_next(tb_rng *r);
uint32_t tb_rng_below(tb_rng *r, uint32_t n); /* uniform in [0, n) */
double tb_rng_uniform(tb_rng *r);             /* uniform in [0, 1) */
double tb_rng_normal(tb_rng *r);              /* N(0, 1), Box-Muller */

/* ---- time -------------------------------------------------------------- */
double tb_now(void); /* monotonic seconds */

/* ---- read-only file mapping ------------------------------------------- */
typedef struct tb_map {
    const uint8_t *data;
    size_t size;
} tb_map;
int tb_map_file(const char *path, tb_map *m, tb_err *e);
void tb_unmap(tb_map *m);

/* Reads a whole file into a malloc'd, NUL-terminated buffer. */
int tb_read_file(const char *path, char **data, size_t *size, tb_err *e);

/* ---- aligned allocation ------------------------------------------------ */
void *tb_alloc(size_t size); /* 64-byte aligned, NULL on failure; free with tb_free */
void tb_free(void *p);
/* Large buffers for streaming: an anonymous mapping advised to use transparent huge
 * pages (fewer TLB misses, prefetchers not stopped every 4 KiB), unless TB_NO_HUGEPAGES
 * is set (and not "0").  Page-aligned, zero-filled; NULL on failure.  Free with
 * tb_free_huge(p, size). */
void *tb_alloc_huge(size_t size);
void tb_free_huge(void *p, size_t size);
bool tb_hugepages_wanted(void);

/* ---- parsing helpers for the CLI --------------------------------------- */
/* Parses "1,2,3", "1 2 3" or "1, 2, 3" into a malloc'd int32 array.  Returns count or -1. */
int tb_parse_int_list(const char *s, int32_t **out, tb_err *e);

#ifdef __cplusplus
}
#endif
#endif

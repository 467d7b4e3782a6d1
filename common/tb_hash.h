/* tb_hash.h: the hashes that make results reproducible.
 *
 * - SHA-256 (FIPS 180-4) of files: the model file a result was measured on
 *   (`sha256sum` prints the same hex), and the tokenizer that keys the synthetic-model
 *   cache.
 * - tb_fnv64: 64-bit FNV-1a over bytes, for a fingerprint of float outputs (the
 *   logits a perplexity run scored).  Not cryptographic: it detects a changed bit in
 *   a regression check, nothing more.
 */
#ifndef TB_HASH_H
#define TB_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "tb_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_sha256 {
    uint32_t h[8];
    uint64_t len;      /* bytes hashed so far */
    uint8_t buf[64];
    size_t fill;
} tb_sha256;

void tb_sha256_init(tb_sha256 *s);
void tb_sha256_update(tb_sha256 *s, const void *data, size_t n);
void tb_sha256_final(tb_sha256 *s, uint8_t out[32]);
/* 64 lowercase hex digits + NUL. */
void tb_sha256_hex(const uint8_t d[32], char hex[65]);
/* SHA-256 of a file's bytes, as hex.  0 or -1 (+ e). */
int tb_sha256_file(const char *path, char hex[65], tb_err *e);

#define TB_FNV64_INIT 0xcbf29ce484222325ull
uint64_t tb_fnv64(uint64_t h, const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif

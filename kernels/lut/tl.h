/* tl.h: packed layouts, lookup tables and prep shared by the LUT kernels (TL1, TL2).
 *
 * Idea (T-MAC / bitnet.cpp TL): weights are cut into groups of g consecutive K
 * positions (g = 2 for TL1, g = 3 for TL2).  prep() builds, for every group of
 * activations, the table of every signed sum the group's weights can produce; the
 * packed weights are 4-bit indices into those tables, looked up 32 rows at a time
 * with pshufb.  Table entries are exact int16 (never rounded), so the kernels are
 * EXACT.
 *
 * ---- TL1 (layout "tl1_32x4", 2 bits per weight) ----------------------------
 *   group k = activations (a0, a1) = (q[2k], q[2k+1]); index i = 3*(w0+1) + (w1+1) in 0..8,
 *   entry T[i] = w0*a0 + w1*a1 in [-256, 256] (256: w0 = w1 = -1, a0 = a1 = -128); entries
 *   9..15 are 0 (never indexed).
 *   The zero weight pair has i = 4 and T[4] = 0 for every table.
 * ---- TL2 (layout "tl2_32x24", 5 bits per 3 weights = 1.67 bpw) -------------
 *   group k = (a0, a1, a2) = q[3k .. 3k+2].  Sign symmetry: every nonzero triple is
 *   +-(a canonical triple whose first nonzero weight is +1); there are 13 of them, plus
 *   the zero triple: index i in 0..13 (4 bits) and a separate sign bit s:
 *       i = 0            (0, 0, 0)
 *       i = 1 .. 9       (+1, w1, w2)   i = 1 + 3*(w1+1) + (w2+1)
 *       i = 10 .. 12     (0, +1, w2)    i = 10 + (w2+1)
 *       i = 13           (0, 0, +1)
 *   entry T[i] = canonical . (a0, a1, a2) in [-384, 383] (383: (+1,-1,-1).(127,-128,-128));
 *   entries 14, 15 are 0.
 *   The weights' contribution is (s ? -T[i] : T[i]); |value| <= 384 fits int16.
 *
 * ---- tiles and padding (both layouts) ----------------------------------------
 *   Rows are padded to a multiple of 32 (TL_TILE) with zero weights; K is padded to
 *   whole group pairs (TL1) or octets of 8 groups (TL2) with zero weights (and prep pads
 *   activations with zeros), so any K and any row count is handled by the same loop,
 *   exactly.  Let G = ceil(cols/g) groups, P = ceil(G/2) pairs (TL1), NT = ceil(rows/32).
 *   TL1 packed: (NT, P, 32) bytes.  Byte [t][p][j] is row 32t+j:
 *       low nibble = index of group 2p, high nibble = index of group 2p+1.
 *   TL2 packed: per tile, O = ceil(G/8) octets of 8 groups (P = 4*O pairs), then counts:
 *       (NT, O*160 + 128) bytes.  Octet o of tile t, at t*(O*160 + 128) + o*160:
 *         bytes [32i, 32i+32), i = 0..3: 4-bit indices of pair 4o+i as in TL1
 *             (row j: low nibble = group 8o+2i, high nibble = group 8o+2i+1);
 *         bytes [128, 160): byte j = the 8 sign bits of row 32t+j (bit k = group 8o+k).
 *       At t*(O*160 + 128) + O*160: int32 LE nneg[32], the number of negated groups of
 *       each row (the SIMD kernels add it once: see the sign trick below).
 *   bits per weight: TL1 4 bits / 2 weights = 2.0; TL2 (4+1) bits / 3 weights = 1.67
 *   (with padding and counts: 1.6844 for K = 2560, 1.6713 for K = 6912).
 *   TL2 sign trick (SIMD): a negated group contributes ~v = -v - 1 (XOR of both table
 *   bytes with 0xff, a byte mask from the sign byte); the missing +1 per negated group
 *   is nneg[j], added once per tile row.
 *
 * ---- prep (both layouts; one table per group, split in bytes for pshufb) ------
 *   per activation row: (P, 4, 16) bytes:
 *       [p][0] = low bytes of table 2p, [p][1] = low bytes of table 2p+1,
 *       [p][2] = high bytes of table 2p, [p][3] = high bytes of table 2p+1
 *   so an int16 entry is lo | hi << 8 (hi is the signed high byte).  Size 32 bytes per
 *   group: 16*K bytes for TL1 (110 KB at K = 6912, fits L2), 10.7*K for TL2.
 *
 * ---- int16 accumulation bound (used by every SIMD variant) -------------------
 *   The SIMD kernels sum looked-up int16 values in int16 lanes for at most
 *   TL_BLOCK_GROUPS = 64 groups per row before widening to int32.  Each looked-up value
 *   has magnitude <= 256 (TL1) or <= 384 (TL2: v in [-384, 383], ~v in [-384, 383]),
 *   so a block sum is <= 64 * 384 = 24576 < 32767: no int16 overflow for any input.
 *
 * ---- int8-quantized tables: the APPROXIMATE q8 kernels (T-MAC / TL2_0 style) -----
 *   gemv_tl1q8_32x4__* and gemv_tl2q8_32x24__* read the packed weights above byte for
 *   byte (same .layout, pack, unpack, packed_size) but prep builds int8 tables, half the
 *   bytes, one pshufb per 32 rows per group instead of two.  Rounding (stated exactly):
 *       TL1: T8[i] = min(rint(T[i] / 2), 127)   round half to even; T in [-256, 256], so
 *            rint(T/2) is in [-128, 128] and the one value 128 (T = 256: w0 = w1 = -1 with
 *            a0 = a1 = -128, the only T that int8 cannot hold halved) saturates to 127
 *            result acc = 2 * sum_groups T8[idx]
 *       TL2: T8[i] = rint(T[i] / 4)   round half to even; T in [-384, 383] -> [-96, 96]
 *            result acc = 4 * sum_groups (s ? -T8[idx] : T8[idx])   (sign on the rounded
 *            value; rint is odd-symmetric, so -T8 = rint(-T / 4))
 *   rint here is the integer function tl_rshift_rne(T, s) = rint(T / 2^s) with ties to even
 *   (tests compare it with C's rint for every T in range).  Error bound per output of a
 *   row of cols weights (G = ceil(cols/g) groups, padding groups have T = 0, no error):
 *       TL1: |2*T8 - T| <= 1 per group, except 2 when T = 256 (saturated); the last group
 *            of an odd cols has one weight (|T| <= 128, error <= 1)
 *                                               -> |acc - exact| <= cols
 *            (rounding alone: <= ceil(cols/2), reached when every group's T = 1 mod 4;
 *            cols is reached by all -1 weights x all -128 activations, every T = 256)
 *       TL2: |4*rint(T/4) - T| <= 2 per group    -> |acc - exact| <= 2*ceil(cols/3)
 *            (reached when every group's T = 2 mod 8)
 *   Both bounds are reached in tests/kernels/test_lut_q8.c.
 *   The portable scalar kernel of each is the definition (defined_by = itself, checked
 *   against tb_matmul_ref within err_bound); every other variant must equal it bit for bit.
 *   q8 prep, per activation row: (P, 2, 16) bytes, [p][h] = the 16 entries of group 2p+h
 *   stored offset-binary: byte = T8 + 128 (= T8 XOR 0x80; entries past 9 / 14 and padding
 *   groups hold T8 = 0, byte 0x80).  16 bytes per group: 8*K bytes (TL1), 5.3*K (TL2).
 *   q8 accumulation bound (AVX2): the kernel sums the unsigned bytes u = T8 + 128 in
 *   [0, 255] (for a negated TL2 group the byte is XORed with 0xff: 255 - u = ~T8 + 128,
 *   ~T8 = -T8 - 1, and nneg adds the +1s) viewed as uint16 words w = u_even + 256*u_odd:
 *   Hs = sum (w >> 8) is the odd rows' byte sum and Ws = sum w (mod 2^16) gives the even
 *   rows' as Ws - 256*Hs (mod 2^16).  Both sums are exact in uint16 while
 *   groups * 255 < 65536: at most TLQ8_BLOCK_GROUPS = 256 groups per block (65280), then
 *   the block is widened to int32 and 128 per group (the bias) is subtracted.
 */
#ifndef TB_LUT_TL_H
#define TB_LUT_TL_H

#include <string.h>

#include "kernel.h"

#define TL_TILE 32          /* rows per tile (one ymm of index bytes) */
#define TL_BLOCK_GROUPS 64  /* groups summed in int16 before widening (see bound above) */
#define TL_PREP_PAIR 64     /* prep bytes per group pair per activation row */
#define TL1_PAIR_BYTES 32   /* packed bytes per (tile, pair) */
#define TL2_OCTET_BYTES 160  /* packed bytes per (tile, octet of 8 groups) */
#define TL2_COUNT_BYTES 128  /* int32 nneg[32] per tile */
#define TLQ8_PREP_PAIR 32     /* q8 prep bytes per group pair per activation row */
#define TLQ8_BLOCK_GROUPS 256 /* q8: groups summed in uint16 before widening (see bound above) */
#define TLQ8_BIAS 128         /* q8 table bytes are T8 + 128 */

typedef struct tl_dims {
    int g;      /* weights per group: 2 (TL1) or 3 (TL2) */
    int groups; /* G = ceil(cols / g) */
    int pairs;  /* P = ceil(G / 2) (TL1), 4 * octets (TL2) */
    int octets; /* TL2: O = ceil(G / 8) */
    int tiles;  /* NT = ceil(rows / 32) */
} tl_dims;

static inline size_t tl2_tile_bytes(tl_dims d) { return (size_t)d.octets * TL2_OCTET_BYTES + TL2_COUNT_BYTES; }

static inline tl_dims tl_dims_of(int g, int rows, int cols) {
    tl_dims d;
    d.g = g;
    d.groups = (cols + g - 1) / g;
    d.octets = (d.groups + 7) / 8;
    d.pairs = g == 3 ? 4 * d.octets : (d.groups + 1) / 2;
    d.tiles = (rows + TL_TILE - 1) / TL_TILE;
    return d;
}

/* TL2 canonical triples by index (0..13), and the encoder (w in {-1,0,1}). */
extern const int8_t tl2_canon[14][3];
static inline void tl2_encode(int w0, int w1, int w2, int *idx, int *sign) {
    int s = 0;
    if (w0 != 0) {
        s = w0 < 0;
        if (s) { w1 = -w1; w2 = -w2; }
        *idx = 1 + 3 * (w1 + 1) + (w2 + 1);
    } else if (w1 != 0) {
        s = w1 < 0;
        if (s) w2 = -w2;
        *idx = 10 + (w2 + 1);
    } else if (w2 != 0) {
        s = w2 < 0;
        *idx = 13;
    } else {
        *idx = 0;
    }
    *sign = s;
}

/* Shared by the TL1 variants (tl-pack.c). */
size_t tl1_packed_size(int rows, int cols);
int tl1_pack(const tb_ternary *w, void *dst);
int tl1_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out);
size_t tl1_prep_size(int cols, int n);
int tl1_prep(const int8_t *q, int cols, int n, void *prep);

/* Shared by the TL2 variants (tl-pack.c). */
size_t tl2_packed_size(int rows, int cols);
int tl2_pack(const tb_ternary *w, void *dst);
int tl2_unpack_row(const void *packed, int rows, int cols, int r, int8_t *out);
size_t tl2_prep_size(int cols, int n);
int tl2_prep(const int8_t *q, int cols, int n, void *prep);

/* Portable table build of pairs [p0, P) of one activation row (g = 2 or 3); the
 * whole prep is tl_prep_tail(q, cols, g, 0, dst). */
void tl_prep_tail(const int8_t *q, int cols, int g, int p0, uint8_t *dst);
/* AVX2 preps (tl-prep-avx2.c): the same bytes, faster; call only on AVX2 CPUs. */
int tl1_prep_avx2(const int8_t *q, int cols, int n, void *prep);
int tl2_prep_avx2(const int8_t *q, int cols, int n, void *prep);

/* Common argument checks of every variant's gemv(). */
static inline int tl_check_args(int rows, int cols, const void *prep, int n, int r0, int r1) {
    if (rows < 1 || cols < 1 || n < 1 || !prep || r0 < 0 || r1 > rows || r0 >= r1) return TB_KERR_SHAPE;
    return 0;
}

/* Writes the 32 results d[] of tile rows [row0, row0+32) that fall in [r0, r1). */
static inline void tl_store_tile(int32_t *acc_t, int row0, int r0, int r1, const int32_t d[TL_TILE]) {
    int lo = row0 > r0 ? row0 : r0, hi = row0 + TL_TILE < r1 ? row0 + TL_TILE : r1;
    if (hi > lo) memcpy(acc_t + lo, d + (lo - row0), sizeof(int32_t) * (size_t)(hi - lo));
}

/* Bytes of one packed 32-row TL1 tile: P pairs x 32 bytes. */
static inline size_t tl1_tile_bytes(tl_dims d) { return (size_t)d.pairs * TL1_PAIR_BYTES; }

/* One 32-row tile against one token's tables -> 32 int32 results. */
typedef void (*tl_tile_dot_fn)(const uint8_t *w, const uint8_t *tab, tl_dims d, int32_t out[TL_TILE]);

/* The gemv() of every tiled (SIMD) LUT variant: for each 32-row tile touching [r0, r1)
 * and each token, one tile_dot, stored clipped to [r0, r1).  g = 2 (TL1) or 3 (TL2);
 * prep_pair: prep bytes per group pair and token (TL_PREP_PAIR, or TLQ8_PREP_PAIR for the
 * int8-table variants).  static inline with a constant `dot`, so each variant gets its own
 * inlined loop. */
static inline int tl_gemv_tiles_pp(int g, size_t prep_pair, tl_tile_dot_fn dot, const void *packed, int rows,
                                   int cols, const void *prep, int n, int r0, int r1, int32_t *acc) {
    int rc = tl_check_args(rows, cols, prep, n, r0, r1);
    if (rc) return rc;
    const tl_dims d = tl_dims_of(g, rows, cols);
    const size_t prep_row = (size_t)d.pairs * prep_pair;
    const size_t tile_bytes = g == 2 ? tl1_tile_bytes(d) : tl2_tile_bytes(d);
    for (int t0 = r0 / TL_TILE; t0 * TL_TILE < r1; t0++) {
        const uint8_t *w = (const uint8_t *)packed + (size_t)t0 * tile_bytes;
        for (int t = 0; t < n; t++) {
            int32_t dd[TL_TILE];
            dot(w, (const uint8_t *)prep + prep_row * t, d, dd);
            tl_store_tile(acc + (size_t)t * rows, t0 * TL_TILE, r0, r1, dd);
        }
    }
    return 0;
}

static inline int tl_gemv_tiles(int g, tl_tile_dot_fn dot, const void *packed, int rows, int cols,
                                const void *prep, int n, int r0, int r1, int32_t *acc) {
    return tl_gemv_tiles_pp(g, TL_PREP_PAIR, dot, packed, rows, cols, prep, n, r0, r1, acc);
}

/* The int16 entry i of a table from its split low/high bytes. */
static inline int32_t tl_entry(const uint8_t *lo16, const uint8_t *hi16, int i) {
    return (int16_t)(uint16_t)(lo16[i] | (uint16_t)hi16[i] << 8);
}

#define TL1_COMMON                                                                          \
    .family = "lut", .layout = "tl1_32x4", .tile_rows = TL_TILE, .block_k = 4, .exact = true, \
    .needs_prep = true, .on_device = false, .bits_per_weight = 2.0,                          \
    .packed_size = tl1_packed_size, .pack = tl1_pack, .unpack_row = tl1_unpack_row,          \
    .prep_size = tl1_prep_size

/* bits_per_weight for a 2560-wide row: 854 groups = 107 octets; (107*160 + 128) B per 32 rows */
#define TL2_COMMON                                                                          \
    .family = "lut", .layout = "tl2_32x24", .tile_rows = TL_TILE, .block_k = 24, .exact = true, \
    .needs_prep = true, .on_device = false, .bits_per_weight = (107.0 * 160 + 128) * 8 / (32 * 2560), \
    .packed_size = tl2_packed_size, .pack = tl2_pack, .unpack_row = tl2_unpack_row,          \
    .prep_size = tl2_prep_size

/* ---- int8-quantized tables (approximate q8 kernels; tl-q8.c) ------------------------ */

/* rint(v / 2^s), ties to even, for s >= 1 and any int v (floor division by shifting a
 * non-negative offset, so no implementation-defined shift of a negative value). */
static inline int tl_rshift_rne(int v, int s) {
    const int off = 1 << 20; /* multiple of 2^s, makes v + off >= 0 for |v| < 2^20 */
    const int k = ((v + off) >> s) - (off >> s);           /* floor(v / 2^s) */
    const int r = v - k * (1 << s);                        /* remainder in [0, 2^s) */
    const int half = 1 << (s - 1);
    return k + (r > half || (r == half && (k & 1)));
}

size_t tl1q8_prep_size(int cols, int n);
int tl1q8_prep(const int8_t *q, int cols, int n, void *prep);
size_t tl2q8_prep_size(int cols, int n);
int tl2q8_prep(const int8_t *q, int cols, int n, void *prep);
/* Portable q8 table build of pairs [p0, P) of one activation row (g = 2 or 3). */
void tlq8_prep_tail(const int8_t *q, int cols, int g, int p0, uint8_t *dst);
/* AVX2 q8 preps (tl-prep-avx2.c): the same bytes; call only on AVX2 CPUs. */
int tl1q8_prep_avx2(const int8_t *q, int cols, int n, void *prep);
int tl2q8_prep_avx2(const int8_t *q, int cols, int n, void *prep);
/* The documented error bounds (largest |acc - exact| for a row of cols weights). */
int64_t tl1q8_err_bound(int cols);
int64_t tl2q8_err_bound(int cols);

/* The q8 gemv() of the tiled (SIMD) variants: tl_gemv_tiles with the q8 prep stride. */
static inline int tlq8_gemv_tiles(int g, tl_tile_dot_fn dot, const void *packed, int rows, int cols,
                                  const void *prep, int n, int r0, int r1, int32_t *acc) {
    return tl_gemv_tiles_pp(g, TLQ8_PREP_PAIR, dot, packed, rows, cols, prep, n, r0, r1, acc);
}

/* Same packed layouts as TL1_COMMON / TL2_COMMON; approximate, q8 prep, defined by the
 * portable scalar variant. */
#define TL1Q8_COMMON                                                                          \
    .family = "lut", .layout = "tl1_32x4", .tile_rows = TL_TILE, .block_k = 4, .exact = false, \
    .needs_prep = true, .on_device = false, .bits_per_weight = 2.0,                            \
    .packed_size = tl1_packed_size, .pack = tl1_pack, .unpack_row = tl1_unpack_row,            \
    .prep_size = tl1q8_prep_size, .defined_by = "gemv_tl1q8_32x4__scalar", .err_bound = tl1q8_err_bound

#define TL2Q8_COMMON                                                                          \
    .family = "lut", .layout = "tl2_32x24", .tile_rows = TL_TILE, .block_k = 24, .exact = false, \
    .needs_prep = true, .on_device = false, .bits_per_weight = (107.0 * 160 + 128) * 8 / (32 * 2560), \
    .packed_size = tl2_packed_size, .pack = tl2_pack, .unpack_row = tl2_unpack_row,            \
    .prep_size = tl2q8_prep_size, .defined_by = "gemv_tl2q8_32x24__scalar", .err_bound = tl2q8_err_bound

#endif

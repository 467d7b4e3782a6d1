/* test_corrupt.c: the loaders on the golden bitnet.cpp GGUF and on corrupted
 * files.  Every validation error is triggered on a copy of a good synthetic file
 * (written to a temp dir), and the test asserts that loading fails cleanly with
 * one message naming the problem (substring match).  Runs under ASan/UBSan too. */
#include <math.h>

#include "gguf.h"
#include "json.h"
#include "model_internal.h"
#include "models_util.h"
#include "tb_test.h"

/* ---- helpers ------------------------------------------------------------- */
static unsigned char *good;   /* the good small GGUF */
static size_t good_n;
static char good_path[1024];

static int setup_good(void) {
    if (good) return 0;
    tb_err e;
    snprintf(good_path, sizeof good_path, "%s", tmp_path("good.gguf"));
    if (synth_to(good_path, small_cfg(), TB_SYNTH_GGUF, 1, NULL, &e) < 0) {
        fprintf(stderr, "synth failed: %s\n", e.msg);
        return -1;
    }
    good = slurp(good_path, &good_n);
    return good ? 0 : -1;
}

/* Loads path, expecting failure with every given substring in the message. */
static void expect_fail_(const char *path, const char *what, const char *s1, const char *s2, int line) {
    tb_model *m = (tb_model *)1;
    tb_err e;
    memset(&e, 0, sizeof e);
    int rc = tb_model_load(path, &m, &e);
    if (rc >= 0) {
        fprintf(stderr, "line %d: %s: load succeeded, expected an error containing '%s'\n", line, what, s1);
        tb_failed_checks_++;
        tb_model_free(m);
        return;
    }
    if (getenv("TB_VERBOSE")) printf("  %-20s -> %s\n", what, e.msg);
    int ok = m == NULL && strchr(e.msg, '\n') == NULL && e.msg[0] && strstr(e.msg, s1) && (!s2 || strstr(e.msg, s2));
    if (!ok) {
        fprintf(stderr, "line %d: %s: message '%s' lacks '%s'%s%s\n", line, what, e.msg, s1, s2 ? " / " : "",
                s2 ? s2 : "");
        tb_failed_checks_++;
    }
}
#define expect_fail(path, what, s1, s2) expect_fail_(path, what, s1, s2, __LINE__)

/* Writes good[0..n) with a patch applied and returns the path. */
static const char *bad_gguf(size_t n, size_t at, const void *patch, size_t plen) {
    const char *p = tmp_path("bad.gguf");
    unsigned char *d = malloc(good_n);
    memcpy(d, good, good_n);
    if (patch && at + plen <= good_n) memcpy(d + at, patch, plen);
    spit(p, d, n);
    free(d);
    return p;
}

/* Offsets (from the start of the file) of things in the good GGUF. */
typedef struct {
    size_t name, ndims, ne0, type, offset; /* fields of a tensor info */
    size_t data;                           /* its data */
    uint64_t nbytes;
} tinfo;

static tinfo locate_tensor(const char *name) {
    tb_gguf *g;
    tb_err e;
    tinfo ti = {0};
    if (tb_gguf_open(good_path, &g, &e) < 0) return ti;
    const tb_gguf_tensor *t = tb_gguf_find_tensor(g, name);
    if (t) {
        ti.name = (size_t)((const uint8_t *)t->name.p - g->map.data);
        ti.ndims = ti.name + t->name.len;
        ti.ne0 = ti.ndims + 4;
        ti.type = ti.ne0 + 8 * t->n_dims;
        ti.offset = ti.type + 4;
        ti.data = (size_t)(t->data - g->map.data);
        ti.nbytes = t->nbytes;
    }
    tb_gguf_close(g);
    return ti;
}

static size_t locate_kv_value(const char *key) {
    tb_gguf *g;
    tb_err e;
    size_t at = 0;
    if (tb_gguf_open(good_path, &g, &e) < 0) return 0;
    const tb_gguf_kv *kv = tb_gguf_find(g, key);
    if (kv) at = (size_t)(kv->value - g->map.data);
    tb_gguf_close(g);
    return at;
}

/* ---- the golden bitnet.cpp file --------------------------------------------- */
TB_TEST(golden_gguf_loads) {
    char buf[1024];
    const char *p = data_file("golden/tiny-bitnet-i2_s.gguf", buf, sizeof buf);
    if (!p) TB_SKIP("TERNBENCH_DATA/golden/tiny-bitnet-i2_s.gguf not available");
    tb_model *m;
    tb_err e;
    if (tb_model_load(p, &m, &e) < 0) {
        TB_CHECK_MSG(0, "%s", e.msg);
        return;
    }
    /* the shape stated in ../shared/data/README.md */
    TB_CHECK(!strcmp(m->cfg.arch, "bitnet-25"));
    TB_CHECK(!strcmp(m->format, "gguf-i2_s"));
    TB_CHECK_EQ_INT(m->cfg.hidden, 128);
    TB_CHECK_EQ_INT(m->cfg.layers, 2);
    TB_CHECK_EQ_INT(m->cfg.heads, 4);
    TB_CHECK_EQ_INT(m->cfg.kv_heads, 1);
    TB_CHECK_EQ_INT(m->cfg.head_dim, 32);
    TB_CHECK_EQ_INT(m->cfg.ffn, 384);
    TB_CHECK_EQ_INT(m->cfg.vocab, 128256);
    TB_CHECK(m->cfg.rope_theta == 500000.0f);
    TB_CHECK(m->cfg.norm_eps == 1e-5f);
    TB_CHECK_EQ_INT(m->cfg.bos, 128000);
    TB_CHECK_EQ_INT(m->cfg.eos, 128001);
    TB_CHECK_EQ_INT(m->embd_type, TB_F16);
    TB_CHECK_EQ_INT(m->gguf->n_tensors, 24);
    /* norms in [0.5, 1.5] as the README says, scales finite and positive */
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < 384; i++) TB_CHECK(m->layer[l].ffn_sub_norm[i] >= 0.5f && m->layer[l].ffn_sub_norm[i] <= 1.5f);
        for (int k = 0; k < TB_LIN_COUNT; k++) TB_CHECK(m->layer[l].lin[k].scale > 0);
    }
    /* Independent read of the raw file: header ends at 8333015 (walked by a separate
     * script), data section at the next multiple of 32; blk.0.attn_q.weight at +32834048
     * holds 128*128/4 code bytes, then its f32 scale. */
    FILE *f = fopen(p, "rb");
    unsigned char raw[4096 + 4];
    TB_CHECK(f && fseek(f, 8333024L + 32834048L, SEEK_SET) == 0 && fread(raw, 1, sizeof raw, f) == sizeof raw);
    if (f) fclose(f);
    float s;
    memcpy(&s, raw + 4096, 4);
    TB_CHECK(s == m->layer[0].lin[TB_LIN_Q].scale);
    int8_t row[128];
    for (int r = 0; r < 128; r += 37) {
        tb_ternary_row(&m->layer[0].lin[TB_LIN_Q], r, row);
        for (int c = 0; c < 128; c++) { /* row r is block r (cols = 128) */
            int v = ((raw[r * 32 + (c % 32)] >> (6 - 2 * (c / 32))) & 3) - 1;
            TB_CHECK(row[c] == v);
        }
    }
    /* tokenizer metadata reachable through the model's GGUF */
    tb_gguf_str t;
    TB_CHECK(tb_gguf_get_arr_str(m->gguf, "tokenizer.ggml.tokens", 128000, &t) == 0 && t.len == 17 &&
             !memcmp(t.p, "<|begin_of_text|>", 17));
    TB_CHECK(tb_gguf_get_arr_str(m->gguf, "tokenizer.ggml.tokens", 128256, &t) < 0);
    TB_CHECK_EQ_INT(tb_model_embd_bytes(m), 128256 * 128 * 2);
    TB_CHECK_EQ_INT(tb_model_ternary_bytes(m), 2 * (128 * 128 * 2 + 32 * 128 * 2 + 384 * 128 * 3) / 4);
    tb_model_free(m);
}

/* ---- GGUF corruption ----------------------------------------------------------- */
TB_TEST(gguf_good_file_loads) {
    if (setup_good() < 0) { TB_CHECK(0); return; }
    tb_model *m;
    tb_err e;
    TB_CHECK_MSG(tb_model_load(good_path, &m, &e) == 0, "%s", e.msg);
    tb_model_free(m);
}

TB_TEST(gguf_container_errors) {
    if (setup_good() < 0) { TB_CHECK(0); return; }
    expect_fail(bad_gguf(good_n / 2, 0, NULL, 0), "half file", "truncated", NULL);
    expect_fail(bad_gguf(10, 0, NULL, 0), "10 bytes", "truncated", NULL);
    expect_fail(bad_gguf(3, 0, NULL, 0), "3 bytes", "bad magic", NULL);
    expect_fail(bad_gguf(good_n - 1, 0, NULL, 0), "one byte short", "out of bounds", "output_norm.weight");
    expect_fail(bad_gguf(good_n, 0, "GGUX", 4), "magic", "bad magic", NULL);
    uint32_t v99 = 99, v1 = 1, v2 = 2;
    { /* GGUF v2 has the same layout for our purpose (64-bit counts): accepted */
        tb_model *m;
        tb_err e;
        TB_CHECK_MSG(tb_model_load(bad_gguf(good_n, 4, &v2, 4), &m, &e) == 0, "%s", e.msg);
        tb_model_free(m);
    }
    expect_fail(bad_gguf(good_n, 4, &v99, 4), "version 99", "version 99", NULL);
    expect_fail(bad_gguf(good_n, 4, &v1, 4), "version 1", "version 1", NULL);
    uint64_t huge = 1ull << 50;
    expect_fail(bad_gguf(good_n, 16, &huge, 8), "n_kv", "implausible header", NULL);
    expect_fail(bad_gguf(good_n, 8, &huge, 8), "n_tensors", "implausible header", NULL);
    uint64_t many = 4000; /* plausible count, but more entries than the file holds */
    expect_fail(bad_gguf(good_n, 16, &many, 8), "n_kv 4000", "truncated", NULL);
    many = 100000;
    expect_fail(bad_gguf(good_n, 8, &many, 8), "n_tensors 100000", "truncated", NULL);
    /* a string length running past the end: general.name */
    size_t name_at = locate_kv_value("general.name");
    TB_CHECK(name_at > 0);
    expect_fail(bad_gguf(good_n, name_at, &huge, 8), "string length", "truncated", "general.name");
    /* an array count running past the end */
    uint32_t badtype = 77;
    expect_fail(bad_gguf(good_n, name_at - 4, &badtype, 4), "value type", "unknown value type 77", "general.name");
    /* tensor infos */
    tinfo t = locate_tensor("output_norm.weight");
    TB_CHECK(t.data > 0);
    expect_fail(bad_gguf(good_n, t.offset, &huge, 8), "offset", "out of bounds", "output_norm.weight");
    uint64_t mis;
    memcpy(&mis, good + t.offset, 8);
    mis += 4;
    expect_fail(bad_gguf(good_n, t.offset, &mis, 8), "misaligned", "alignment", "output_norm.weight");
    tinfo prev = locate_tensor("blk.1.ffn_sub_norm.weight");
    uint64_t prev_off;
    memcpy(&prev_off, good + prev.offset, 8);
    expect_fail(bad_gguf(good_n, t.offset, &prev_off, 8), "overlap", "overlap", "output_norm.weight");
    uint32_t nd = 7;
    expect_fail(bad_gguf(good_n, t.ndims, &nd, 4), "n_dims", "dimensions", "output_norm.weight");
    uint64_t zero = 0;
    expect_fail(bad_gguf(good_n, t.ne0, &zero, 8), "ne0 = 0", "dimension", "output_norm.weight");
    expect_fail(bad_gguf(good_n, t.ne0, &huge, 8), "ne0 huge", "dimension", "output_norm.weight");
    tinfo k = locate_tensor("blk.1.attn_k.weight");
    expect_fail(bad_gguf(good_n, k.name + 11, "v", 1), "duplicate name", "duplicate tensor name", "blk.1.attn_v.weight");
}

/* general.alignment: 32 given explicitly is fine; not a power of two is an error. */
TB_TEST(gguf_alignment_key) {
    for (int k = 0; k < 3; k++) {
        tb_err e;
        tb_gguf_writer *w = tb_gguf_writer_new();
        if (k == 0) tb_gguf_w_u32(w, "general.alignment", 32);
        if (k == 1) tb_gguf_w_u32(w, "general.alignment", 3);
        if (k == 2) tb_gguf_w_f32(w, "general.alignment", 32.0f);
        tb_gguf_w_tensor(w, "x", TB_GGML_F32, 8, 0);
        const char *p = tmp_path("align.gguf");
        float d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        TB_CHECK(tb_gguf_w_begin(w, p, &e) == 0 && tb_gguf_w_data(w, d, sizeof d, &e) == 0 && tb_gguf_w_end(w, &e) == 0);
        tb_gguf_writer_free(w);
        tb_gguf *g = NULL;
        int rc = tb_gguf_open(p, &g, &e);
        if (k == 0) {
            TB_CHECK_MSG(rc == 0, "%s", e.msg);
            const tb_gguf_tensor *t = g ? tb_gguf_find_tensor(g, "x") : NULL;
            TB_CHECK(t && t->nbytes == 32 && !memcmp(t->data, d, 32));
        } else {
            TB_CHECK(rc < 0 && strstr(e.msg, "general.alignment"));
        }
        tb_gguf_close(g);
    }
}

TB_TEST(gguf_model_errors) {
    if (setup_good() < 0) { TB_CHECK(0); return; }
    /* unknown architecture (same length as "bitnet-b1.58") */
    size_t arch = locate_kv_value("general.architecture");
    expect_fail(bad_gguf(good_n, arch + 8, "llama-b1.58x", 12), "arch", "unknown architecture 'llama-b1.58x'", NULL);
    /* missing metadata key */
    size_t bc = locate_kv_value("bitnet-b1.58.block_count");
    expect_fail(bad_gguf(good_n, bc - 4 - 5, "cOunt", 5), "missing key", "missing metadata bitnet-b1.58.block_count", NULL);
    /* inconsistent head dims: rope.dimension_count 16, and 3 heads for hidden 128 */
    uint32_t sixteen = 16, three = 3;
    expect_fail(bad_gguf(good_n, locate_kv_value("bitnet-b1.58.rope.dimension_count"), &sixteen, 4), "rope dim",
                "inconsistent head dims", NULL);
    expect_fail(bad_gguf(good_n, locate_kv_value("bitnet-b1.58.attention.head_count"), &three, 4), "heads",
                "inconsistent head dims", NULL);
    expect_fail(bad_gguf(good_n, locate_kv_value("bitnet-b1.58.attention.head_count_kv"), &three, 4), "kv heads",
                "inconsistent head dims", NULL);
    /* missing tensor: rename blk.1.ffn_up.weight */
    tinfo up = locate_tensor("blk.1.ffn_up.weight");
    expect_fail(bad_gguf(good_n, up.name + 10, "UP", 2), "missing", "missing tensor blk.1.ffn_up.weight", NULL);
    tinfo tok = locate_tensor("token_embd.weight");
    expect_fail(bad_gguf(good_n, tok.name, "X", 1), "missing embd", "missing tensor token_embd.weight", NULL);
    /* wrong shape: a norm of 64, and ffn_down with its dims swapped (same byte size) */
    tinfo an = locate_tensor("blk.0.attn_norm.weight");
    uint64_t sixty4 = 64;
    expect_fail(bad_gguf(good_n, an.ne0, &sixty4, 8), "norm shape", "wrong shape", "blk.0.attn_norm.weight");
    tinfo dn = locate_tensor("blk.0.ffn_down.weight");
    uint64_t swapped[2] = {128, 384};
    expect_fail(bad_gguf(good_n, dn.ne0, swapped, 16), "down shape", "wrong shape", "blk.0.ffn_down.weight");
    /* wrong type: an F16 norm, a Q8_0 embedding */
    uint32_t f16 = TB_GGML_F16, q8 = 8;
    expect_fail(bad_gguf(good_n, an.type, &f16, 4), "norm type", "wrong type", "blk.0.attn_norm.weight");
    expect_fail(bad_gguf(good_n, tok.type, &q8, 4), "embd type", "wrong type", "token_embd.weight");
    /* an I2_S linear declared as F32: its bytes no longer fit */
    tinfo v = locate_tensor("blk.1.attn_v.weight");
    uint32_t f32 = TB_GGML_F32;
    expect_fail(bad_gguf(good_n, v.type, &f32, 4), "linear type", "blk.1.attn_v.weight", NULL);
    /* code 3 in the middle of a tensor */
    unsigned char b = good[v.data + 77] | 0xC0;
    expect_fail(bad_gguf(good_n, v.data + 77, &b, 1), "code 3", "code 3", "blk.1.attn_v.weight");
    b = good[v.data + v.nbytes - 33] | 0x03; /* last code byte, lowest field */
    expect_fail(bad_gguf(good_n, v.data + v.nbytes - 33, &b, 1), "code 3 last", "code 3", "blk.1.attn_v.weight");
    /* scales: NaN, +inf, zero, negative; the scale sits at byte rows*cols/4 */
    size_t sc = v.data + (size_t)v.nbytes - 32;
    float nan_ = NAN, inf = INFINITY, z = 0.0f, neg = -1.0f;
    expect_fail(bad_gguf(good_n, sc, &nan_, 4), "NaN scale", "non-finite scale", "blk.1.attn_v.weight");
    expect_fail(bad_gguf(good_n, sc, &inf, 4), "inf scale", "non-finite scale", "blk.1.attn_v.weight");
    expect_fail(bad_gguf(good_n, sc, &z, 4), "zero scale", "non-positive scale", "blk.1.attn_v.weight");
    expect_fail(bad_gguf(good_n, sc, &neg, 4), "negative scale", "non-positive scale", "blk.1.attn_v.weight");
    /* all-zero tensor */
    unsigned char *zeros = malloc(v.nbytes - 32);
    memset(zeros, 0x55, v.nbytes - 32);
    expect_fail(bad_gguf(good_n, v.data, zeros, v.nbytes - 32), "all zero", "all-zero", "blk.1.attn_v.weight");
    free(zeros);
    /* a non-finite norm value */
    expect_fail(bad_gguf(good_n, an.data + 8, &nan_, 4), "NaN norm", "non-finite", "blk.0.attn_norm.weight");
    /* not a file at all */
    expect_fail(tmp_path("does_not_exist.gguf"), "missing file", "cannot open", NULL);
    spit(tmp_path("empty.gguf"), "", 0);
    expect_fail(tmp_path("empty.gguf"), "empty file", "empty", NULL);
}

/* A GGUF whose linears are not a multiple of 128 weights (bitnet.cpp would silently
 * compute garbage, docs/peers.md §4 / data README): written directly with the GGUF writer. */
TB_TEST(gguf_i2s_needs_multiple_of_128) {
    tb_err e;
    tb_config c = small_cfg();
    c.hidden = 24;
    c.heads = 2;
    c.kv_heads = 2;
    c.head_dim = 12;
    c.ffn = 48;
    c.layers = 1;
    tb_gguf_writer *w = tb_gguf_writer_new();
    tb_gguf_w_str(w, "general.architecture", "bitnet-25");
    tb_gguf_w_u32(w, "bitnet-25.vocab_size", (uint32_t)c.vocab);
    tb_gguf_w_u32(w, "bitnet-25.context_length", 4096);
    tb_gguf_w_u32(w, "bitnet-25.embedding_length", 24);
    tb_gguf_w_u32(w, "bitnet-25.block_count", 1);
    tb_gguf_w_u32(w, "bitnet-25.feed_forward_length", 48);
    tb_gguf_w_u32(w, "bitnet-25.attention.head_count", 2);
    tb_gguf_w_u32(w, "bitnet-25.attention.head_count_kv", 2);
    tb_gguf_w_f32(w, "bitnet-25.attention.layer_norm_rms_epsilon", 1e-5f);
    tb_gguf_w_f32(w, "bitnet-25.rope.freq_base", 500000.0f);
    static const char *const norms[4] = {"attn_norm", "attn_sub_norm", "ffn_norm", "ffn_sub_norm"};
    static const char *const lins[7] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    char name[64];
    tb_gguf_w_tensor(w, "token_embd.weight", TB_GGML_F16, 24, (uint64_t)c.vocab);
    tb_gguf_w_tensor(w, "output_norm.weight", TB_GGML_F32, 24, 0);
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "blk.0.%s.weight", norms[k]);
        tb_gguf_w_tensor(w, name, TB_GGML_F32, k == 3 ? 48 : 24, 0);
    }
    for (int k = 0; k < 7; k++) {
        int32_t r, co;
        tb__lin_shape(&c, k, &r, &co);
        snprintf(name, sizeof name, "blk.0.%s.weight", lins[k]);
        tb_gguf_w_tensor(w, name, TB_GGML_I2_S, (uint64_t)co, (uint64_t)r);
    }
    const char *p = tmp_path("i2s_odd.gguf");
    TB_CHECK_MSG(tb_gguf_w_begin(w, p, &e) == 0, "%s", e.msg);
    uint16_t *emb = calloc((size_t)c.vocab * 24, 2);
    TB_CHECK(tb_gguf_w_data(w, emb, (size_t)c.vocab * 24 * 2, &e) == 0);
    free(emb);
    float ones[48];
    for (int i = 0; i < 48; i++) ones[i] = 1.0f;
    TB_CHECK(tb_gguf_w_data(w, ones, 24 * 4, &e) == 0);
    for (int k = 0; k < 4; k++) TB_CHECK(tb_gguf_w_data(w, ones, (k == 3 ? 48 : 24) * 4, &e) == 0);
    for (int k = 0; k < 7; k++) {
        int32_t r, co;
        tb__lin_shape(&c, k, &r, &co);
        int8_t *codes = malloc((size_t)r * co);
        uint8_t *pk = malloc(tb_i2s_nbytes(r, co) + 128);
        float s;
        tb_synth_codes(1, k, r, co, codes, &s);
        /* pack by hand (tb_i2s_pack assumes whole blocks): element idx -> block idx/128 */
        memset(pk, 0, tb_i2s_nbytes(r, co));
        for (int64_t i = 0; i < (int64_t)r * co; i++)
            pk[(i / 128) * 32 + (i % 32)] |= (uint8_t)((codes[i] + 1) << (6 - 2 * ((i % 128) / 32)));
        memcpy(pk + (size_t)r * co / 4, &s, 4);
        TB_CHECK_MSG(tb_gguf_w_data(w, pk, tb_i2s_nbytes(r, co), &e) == 0, "%s", e.msg);
        free(codes);
        free(pk);
    }
    TB_CHECK_MSG(tb_gguf_w_end(w, &e) == 0, "%s", e.msg);
    tb_gguf_writer_free(w);
    expect_fail(p, "I2_S 24x24", "% 128", "blk.0.attn_q.weight");
}

TB_TEST(gguf_writer_misuse) {
    tb_err e;
    tb_gguf_writer *w = tb_gguf_writer_new();
    tb_gguf_w_tensor(w, "a", TB_GGML_F32, 4, 0);
    tb_gguf_w_tensor(w, "b", TB_GGML_F32, 2, 0);
    const char *p = tmp_path("w.gguf");
    TB_CHECK(tb_gguf_w_begin(w, p, &e) == 0);
    float d[8] = {0};
    TB_CHECK(tb_gguf_w_data(w, d, 8, &e) == 0);  /* first half of a */
    TB_CHECK(tb_gguf_w_data(w, d, 12, &e) < 0);  /* more than the rest of a */
    TB_CHECK(strstr(e.msg, "expected 16") != NULL);
    TB_CHECK(tb_gguf_w_end(w, &e) < 0);
    tb_gguf_writer_free(w);
    TB_CHECK(access(p, F_OK) != 0); /* nothing left behind */
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    TB_CHECK(access(tmp, F_OK) != 0);
    /* too few tensors written */
    w = tb_gguf_writer_new();
    tb_gguf_w_tensor(w, "a", TB_GGML_F32, 4, 0);
    TB_CHECK(tb_gguf_w_begin(w, p, &e) == 0);
    TB_CHECK(tb_gguf_w_end(w, &e) < 0);
    TB_CHECK(strstr(e.msg, "0 of 1") != NULL);
    tb_gguf_writer_free(w);
    TB_CHECK(access(p, F_OK) != 0);
}

/* ---- HF corruption ----------------------------------------------------------------- */
static char hf_good[1024];
static unsigned char *st_good, *cfg_good;
static size_t st_n, cfg_n;

static int setup_hf(void) {
    if (st_good) return 0;
    tb_err e;
    snprintf(hf_good, sizeof hf_good, "%s", tmp_path("good_hf"));
    if (synth_to(hf_good, small_cfg(), TB_SYNTH_HF, 2, NULL, &e) < 0) return -1;
    char p[1100];
    snprintf(p, sizeof p, "%s/model.safetensors", hf_good);
    st_good = slurp(p, &st_n);
    snprintf(p, sizeof p, "%s/config.json", hf_good);
    cfg_good = slurp(p, &cfg_n);
    return st_good && cfg_good ? 0 : -1;
}

/* Writes a bad HF dir: config with `from` replaced by `to` (if given), safetensors
 * of length n with a patch. */
static const char *bad_hf(const char *from, const char *to, size_t n, size_t at, const void *patch, size_t plen) {
    const char *d = tmp_path("bad_hf");
    mkdir(d, 0777);
    char p[1100], cfg[8192];
    snprintf(cfg, sizeof cfg, "%.*s", (int)cfg_n, (const char *)cfg_good);
    if (from) {
        char *q = strstr(cfg, from), out[8192];
        if (!q) {
            fprintf(stderr, "config lacks '%s'\n", from);
            tb_failed_checks_++;
        } else {
            snprintf(out, sizeof out, "%.*s%s%s", (int)(q - cfg), cfg, to, q + strlen(from));
            snprintf(cfg, sizeof cfg, "%s", out);
        }
    }
    snprintf(p, sizeof p, "%s/config.json", d);
    spit(p, cfg, strlen(cfg));
    unsigned char *s = malloc(st_n);
    memcpy(s, st_good, st_n);
    if (patch && at + plen <= st_n) memcpy(s + at, patch, plen);
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    spit(p, s, n);
    free(s);
    return d;
}

/* Absolute file offset of a tensor's data in the good safetensors, and its size. */
static size_t st_locate(const char *name, size_t *nbytes) {
    uint64_t hl;
    memcpy(&hl, st_good, 8);
    tb_err e;
    tb_json *j = tb_json_parse((const char *)st_good + 8, (size_t)hl, &e);
    const tb_json *t = tb_json_get(j, name);
    const tb_json *o = tb_json_get(t, "data_offsets");
    size_t at = 0;
    if (o && o->len == 2) {
        at = 8 + (size_t)hl + (size_t)o->items[0]->number;
        if (nbytes) *nbytes = (size_t)(o->items[1]->number - o->items[0]->number);
    }
    tb_json_free(j);
    return at;
}

/* Offset of the first occurrence of s in the safetensors header. */
static size_t st_hdr_find(const char *s) {
    uint64_t hl;
    memcpy(&hl, st_good, 8);
    size_t n = strlen(s);
    for (size_t i = 8; i + n <= 8 + hl; i++)
        if (!memcmp(st_good + i, s, n)) return i;
    return 0;
}

TB_TEST(hf_good_dir_loads) {
    if (setup_hf() < 0) { TB_CHECK(0); return; }
    tb_model *m;
    tb_err e;
    TB_CHECK_MSG(tb_model_load(bad_hf(NULL, NULL, st_n, 0, NULL, 0), &m, &e) == 0, "%s", e.msg);
    if (m) TB_CHECK(!strcmp(m->format, "hf-packed"));
    tb_model_free(m);
}

TB_TEST(hf_config_errors) {
    if (setup_hf() < 0) { TB_CHECK(0); return; }
    expect_fail(bad_hf("\"relu2\"", "\"gelu\"", st_n, 0, NULL, 0), "gelu", "relu2", "config.json");
    expect_fail(bad_hf("\"vocab_size\"", "\"vocab_sizX\"", st_n, 0, NULL, 0), "no vocab", "missing vocab_size",
                "config.json");
    expect_fail(bad_hf("\"num_key_value_heads\": 1", "\"num_key_value_heads\": 3", st_n, 0, NULL, 0), "kv 3",
                "inconsistent head dims", NULL);
    expect_fail(bad_hf("\"hidden_size\": 128", "\"hidden_size\": -128", st_n, 0, NULL, 0), "negative",
                "hidden_size", NULL);
    expect_fail(bad_hf("\"offline\"", "\"sideways\"", st_n, 0, NULL, 0), "mode", "quantization_mode", NULL);
    expect_fail(bad_hf("{", "[", st_n, 0, NULL, 0), "bad json", "config.json", NULL);
    /* shape mismatch between config and tensors */
    expect_fail(bad_hf("\"intermediate_size\": 384", "\"intermediate_size\": 512", st_n, 0, NULL, 0), "ffn",
                "wrong shape", "ffn_sub_norm");
    expect_fail(bad_hf("\"vocab_size\": 320", "\"vocab_size\": 321", st_n, 0, NULL, 0), "vocab", "wrong shape",
                "embed_tokens");
    /* config.json declaring fewer layers than the checkpoint holds: a mismatch, not a smaller model */
    expect_fail(bad_hf("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1", st_n, 0, NULL, 0), "fewer layers",
                "num_hidden_layers = 1", "model.layers.1.");
    /* the online master expects bf16 [out, in] */
    expect_fail(bad_hf("\"offline\"", "\"online\"", st_n, 0, NULL, 0), "online vs packed", "wrong type", "q_proj");
    char p[1100];
    snprintf(p, sizeof p, "%s/config.json", tmp_path("bad_hf"));
    unlink(p);
    expect_fail(tmp_path("bad_hf"), "no config", "config.json", "cannot open");
}

TB_TEST(hf_safetensors_errors) {
    if (setup_hf() < 0) { TB_CHECK(0); return; }
    uint64_t huge = 1ull << 40;
    expect_fail(bad_hf(NULL, NULL, st_n, 0, &huge, 8), "header length", "truncated", "model.safetensors");
    expect_fail(bad_hf(NULL, NULL, 5, 0, NULL, 0), "5 bytes", "truncated", NULL);
    expect_fail(bad_hf(NULL, NULL, st_n - 1, 0, NULL, 0), "one byte short", "out of bounds", "down_proj.weight");
    expect_fail(bad_hf(NULL, NULL, st_n, 8, "x", 1), "bad json", "bad header", NULL);
    /* missing tensors: rename in the header (same length) */
    size_t q = st_hdr_find("model.layers.1.self_attn.q_proj.weight\"");
    expect_fail(bad_hf(NULL, NULL, st_n, q + 25, "Q", 1), "missing q", "missing tensor",
                "model.layers.1.self_attn.q_proj.weight");
    size_t sc = st_hdr_find("model.layers.0.mlp.up_proj.weight_scale");
    expect_fail(bad_hf(NULL, NULL, st_n, sc + 34, "S", 1), "missing scale", "missing tensor",
                "model.layers.0.mlp.up_proj.weight_scale");
    size_t nn = st_hdr_find("model.norm.weight");
    expect_fail(bad_hf(NULL, NULL, st_n, nn + 6, "N", 1), "missing norm", "missing tensor model.norm.weight", NULL);
    /* wrong dtype: the first U8 (a packed linear) as I8; a norm as I16 */
    expect_fail(bad_hf(NULL, NULL, st_n, st_hdr_find("\"U8\""), "\"I8\"", 4), "dtype", "wrong type", "proj.weight");
    expect_fail(bad_hf(NULL, NULL, st_n, st_hdr_find("\"dtype\":\"BF16\",\"shape\":[128]") + 8, "\"I16\" ", 6), "norm dtype",
                "wrong type", "model.norm.weight");
    expect_fail(bad_hf(NULL, NULL, st_n, st_hdr_find("\"BF16\""), "\"XX16\"", 6), "unknown dtype",
                "unsupported dtype", NULL);
    /* data_offsets whose span does not match shape x dtype */
    size_t emb = st_hdr_find("\"data_offsets\":[0,");
    expect_fail(bad_hf(NULL, NULL, st_n, emb + 16, "1", 1), "offsets", "data_offsets", NULL);
    /* codes and scales */
    size_t nb;
    size_t v = st_locate("model.layers.1.self_attn.v_proj.weight", &nb);
    unsigned char b = st_good[v + 5] | 0x30;
    expect_fail(bad_hf(NULL, NULL, st_n, v + 5, &b, 1), "code 3", "code 3", "model.layers.1.self_attn.v_proj.weight");
    unsigned char *z = malloc(nb);
    memset(z, 0x55, nb);
    expect_fail(bad_hf(NULL, NULL, st_n, v, z, nb), "all zero", "all-zero", "v_proj.weight");
    free(z);
    size_t s = st_locate("model.layers.1.self_attn.v_proj.weight_scale", NULL);
    uint16_t nan_ = 0x7fc0, zero = 0, neg = 0xbf80, inf = 0x7f80;
    expect_fail(bad_hf(NULL, NULL, st_n, s, &nan_, 2), "nan", "non-finite scale", "v_proj.weight_scale");
    expect_fail(bad_hf(NULL, NULL, st_n, s, &inf, 2), "inf", "non-finite scale", "v_proj.weight_scale");
    expect_fail(bad_hf(NULL, NULL, st_n, s, &zero, 2), "zero", "non-positive scale", "v_proj.weight_scale");
    expect_fail(bad_hf(NULL, NULL, st_n, s, &neg, 2), "negative", "non-positive scale", "v_proj.weight_scale");
    size_t norm = st_locate("model.layers.0.mlp.ffn_sub_norm.weight", NULL);
    expect_fail(bad_hf(NULL, NULL, st_n, norm + 10, &nan_, 2), "nan norm", "non-finite", "ffn_sub_norm");
}

TB_TEST(hf_rows_not_multiple_of_4) {
    /* hidden 12, 2 heads of 6, 2 KV heads: k/v have 12 rows; config edited to 1 KV
     * head gives 6 rows, which the packed layout cannot hold */
    tb_err e;
    tb_config c = small_cfg();
    c.hidden = 12;
    c.heads = 2;
    c.kv_heads = 2;
    c.head_dim = 6;
    c.ffn = 16;
    c.layers = 1;
    const char *d = tmp_path("rows4_hf");
    TB_CHECK_MSG(synth_to(d, c, TB_SYNTH_HF, 1, NULL, &e) == 0, "%s", e.msg);
    char p[1100];
    snprintf(p, sizeof p, "%s/config.json", d);
    size_t n;
    char *cfg = (char *)slurp(p, &n);
    char *q = cfg ? strstr(cfg, "\"num_key_value_heads\": 2") : NULL;
    TB_CHECK(q != NULL);
    if (q) {
        q[strlen("\"num_key_value_heads\": ")] = '1';
        spit(p, cfg, n);
        expect_fail(d, "rows 6", "rows % 4", "k_proj.weight");
    }
    free(cfg);
}

int main(void) {
    int rc = tb_test_main();
    free(good);
    free(st_good);
    free(cfg_good);
    tmp_cleanup();
    return rc;
}

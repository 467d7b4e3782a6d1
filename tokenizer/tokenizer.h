/* tokenizer.h: the Llama-3 byte-level BPE tokenizer (128000 ranks + 256 specials).
 *
 * Pre-tokenization uses the Llama-3 regex (implemented by hand over UTF-8), then
 * byte-level mapping and rank-ordered BPE merges.  The GGUF from bitnet.cpp has no
 * tokenizer.ggml.pre: we use the Llama-3 regex for it too, as HF does.
 */
#ifndef TB_TOKENIZER_H
#define TB_TOKENIZER_H

#include "tb_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_tokenizer tb_tokenizer;
struct tb_gguf;

/* path: tokenizer.json, a .gguf file, or an HF model directory (its tokenizer.json). */
int tb_tokenizer_load(const char *path, tb_tokenizer **out, tb_err *e);
/* From an already-open GGUF (tokenizer.ggml.tokens/merges/token_type). */
int tb_tokenizer_from_gguf(struct tb_gguf *g, tb_tokenizer **out, tb_err *e);
void tb_tokenizer_free(tb_tokenizer *t);

int tb_tokenizer_vocab(const tb_tokenizer *t);
int tb_tokenizer_bos(const tb_tokenizer *t);
int tb_tokenizer_eos(const tb_tokenizer *t);

/* Encodes text[0..len) into a malloc'd id array (*ids, count in *n).  bos: prepend BOS.
 * parse_special: recognise special-token text (default in HF) or treat it as plain text. */
int tb_tokenize(const tb_tokenizer *t, const char *text, size_t len, bool bos, bool parse_special,
                int32_t **ids, size_t *n, tb_err *e);

/* Decodes ids into a malloc'd NUL-terminated UTF-8 string (bytes exactly as encoded). */
int tb_detokenize(const tb_tokenizer *t, const int32_t *ids, size_t n, char **text, size_t *len, tb_err *e);

/* Raw bytes of one token (for streaming output): returns byte count, writes up to cap. */
int tb_token_bytes(const tb_tokenizer *t, int32_t id, char *buf, size_t cap);

/* ---- added (tokenizer engineer) ---------------------------------------------- */
/* tb_token_bytes returns -1 for an id that is not a token. */

/* Longest token in bytes (a buffer of this + 3 bytes suits tb_detok_stream_push). */
int tb_tokenizer_max_token_bytes(const tb_tokenizer *t);
int tb_tokenizer_n_merges(const tb_tokenizer *t);
/* True for special/added tokens (matched in text before pre-tokenization). */
bool tb_tokenizer_is_special(const tb_tokenizer *t, int32_t id);

/* Streaming decode for printing generated tokens: a UTF-8 character split across
 * tokens is held back until the token that completes it arrives.  Start from
 * {0}; push each id; flush at the end (returns whatever is still held). */
typedef struct tb_detok_stream {
    char pend[4];
    int n;
} tb_detok_stream;
/* Writes the bytes ready to print into out (cap >= max_token_bytes + 3); returns
 * their count, or -1 for an invalid id or too small a buffer. */
int tb_detok_stream_push(const tb_tokenizer *t, tb_detok_stream *s, int32_t id, char *out, size_t cap);
int tb_detok_stream_flush(tb_detok_stream *s, char *out, size_t cap);

/* The Llama-3 pre-tokenizer alone: the end of the piece that starts at byte pos of
 * text[0..len) (pos < len).  Pieces tile the text; invalid UTF-8 bytes count as
 * one-byte "other" characters. */
size_t tb_pretok_next(const char *text, size_t len, size_t pos);

#ifdef __cplusplus
}
#endif
#endif

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

#ifdef __cplusplus
}
#endif
#endif

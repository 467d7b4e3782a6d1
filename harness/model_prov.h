/* model_prov.h: which model a result was measured on, precisely enough to reproduce it.
 *
 * Every result JSON (bench-e2e, ppl, sweep, paper; bench says it used no model file)
 * carries a "model_provenance" object:
 *   path, bytes, sha256            the file (`sha256sum FILE` prints the same digest);
 *                                  for an HF checkpoint directory, sha256 of the lines
 *                                  "<sha256>  <name>\n" of its regular files sorted by
 *                                  name, i.e. `cd DIR && LC_ALL=C sha256sum * | sha256sum`
 *   format, shape                  what the loader made of it
 *   synth_version, synth_seed      for a ternbench synthetic model, the generator version
 *                                  and seed it carries (TB_SYNTH_VERSION, models/synth.h);
 *                                  null for any other model, and for synthetic files
 *                                  written before the version existed
 * Two results with the same sha256 were measured on the same bytes; a changed perplexity
 * between them is a change in the code, not in the model (scripts/compare_runs.py).
 */
#ifndef TB_MODEL_PROV_H
#define TB_MODEL_PROV_H

#include "model.h"
#include "results.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tb_model_prov {
    char path[1024];
    char sha256[65];       /* "" when the bytes could not be read: see why */
    double bytes;          /* file size, or the sum over the directory's files */
    char format[32];
    char shape[160];
    int synth_version;     /* 0: not known to be a ternbench synthetic model */
    char synth_seed[24];
    char why[256];
} tb_model_prov;

/* Hashes m's file(s) and reads the synth keys.  Never fails: a file that cannot be
 * hashed leaves sha256 empty and says why. */
void tb_model_prov_collect(const tb_model *m, tb_model_prov *p);
void tb_model_prov_write(tb_jw *w, const char *key, const tb_model_prov *p);

/* SHA-256 of a regular file, or of a directory as described above.  0 or -1 (+ e). */
int tb_path_sha256(const char *path, char hex[65], double *bytes, tb_err *e);

#ifdef __cplusplus
}
#endif
#endif

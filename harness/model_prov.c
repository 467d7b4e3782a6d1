/* model_prov.c: model file hash and synthetic-generator version for every result
 * (see model_prov.h). */
#include "model_prov.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gguf.h"
#include "json.h"
#include "tb_hash.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of the regular files in dir (malloc'd array of malloc'd strings). */
static int list_files(const char *dir, char ***out, int *n, tb_err *e) {
    DIR *d = opendir(dir);
    if (!d) return tb_fail(e, "%s: cannot open: %s", dir, strerror(errno));
    char **v = NULL;
    int cnt = 0, cap = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char p[2048];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (de->d_name[0] == '.' || stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (cnt == cap) {
            char **nv = realloc(v, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *v);
            if (!nv) {
                rc = tb_fail(e, "%s: out of memory", dir);
                break;
            }
            v = nv;
        }
        if (!(v[cnt] = strdup(de->d_name))) {
            rc = tb_fail(e, "%s: out of memory", dir);
            break;
        }
        cnt++;
    }
    closedir(d);
    if (v) qsort(v, (size_t)cnt, sizeof *v, cmp_str);
    *out = v;
    *n = cnt;
    return rc;
}

static int dir_sha256(const char *dir, char hex[65], double *bytes, tb_err *e) {
    char **names = NULL;
    int n = 0, rc = list_files(dir, &names, &n, e);
    tb_sha256 s;
    tb_sha256_init(&s);
    *bytes = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char p[2048], h[65], line[2200];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (tb_sha256_file(p, h, e) < 0) rc = -1;
        else {
            if (stat(p, &st) == 0) *bytes += (double)st.st_size;
            int len = snprintf(line, sizeof line, "%s  %s\n", h, names[i]);
            tb_sha256_update(&s, line, (size_t)len);
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc < 0) return -1;
    uint8_t d[32];
    tb_sha256_final(&s, d);
    tb_sha256_hex(d, hex);
    return 0;
}

int tb_path_sha256(const char *path, char hex[65], double *bytes, tb_err *e) {
    struct stat st;
    if (stat(path, &st) != 0) return tb_fail(e, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return dir_sha256(path, hex, bytes, e);
    *bytes = (double)st.st_size;
    return tb_sha256_file(path, hex, e);
}

/* The synth version and seed: GGUF metadata, or config.json's "ternbench_synth". */
static void synth_keys(const tb_model *m, tb_model_prov *p) {
    if (m->gguf) {
        uint32_t v;
        tb_gguf_str s;
        if (tb_gguf_get_u32(m->gguf, "ternbench.synth.version", &v) == 0) p->synth_version = (int)v;
        if (tb_gguf_get_str(m->gguf, "ternbench.synth.seed", &s) == 0) {
            while (s.len > 1 && s.p[0] == '0') s.p++, s.len--; /* written zero-padded to 20 digits */
            snprintf(p->synth_seed, sizeof p->synth_seed, "%.*s", (int)s.len, s.p);
        }
        return;
    }
    char path[1100], *text = NULL;
    size_t len;
    tb_err e;
    snprintf(path, sizeof path, "%s/config.json", m->path);
    if (tb_read_file(path, &text, &len, &e) < 0) return;
    tb_json *j = tb_json_parse(text, len, &e);
    free(text);
    const tb_json *ts = tb_json_get(j, "ternbench_synth");
    if (ts) {
        p->synth_version = (int)tb_json_get_num(ts, "version", 0);
        const char *seed = tb_json_get_str(ts, "seed");
        if (seed) snprintf(p->synth_seed, sizeof p->synth_seed, "%s", seed);
    }
    tb_json_free(j);
}

void tb_model_prov_collect(const tb_model *m, tb_model_prov *p) {
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", m->path);
    snprintf(p->format, sizeof p->format, "%s", m->format);
    const tb_config *c = &m->cfg;
    snprintf(p->shape, sizeof p->shape, "hidden %d, %d layers, %d heads (%d kv) x %d, FFN %d, vocab %d", c->hidden,
             c->layers, c->heads, c->kv_heads, c->head_dim, c->ffn, c->vocab);
    tb_err e;
    if (tb_path_sha256(m->path, p->sha256, &p->bytes, &e) < 0) {
        p->sha256[0] = 0;
        snprintf(p->why, sizeof p->why, "%.250s", e.msg);
    }
    synth_keys(m, p);
}

void tb_model_prov_write(tb_jw *w, const char *key, const tb_model_prov *p) {
    tb_jw_obj_begin(w, key);
    tb_jw_str(w, "path", p->path);
    tb_jw_num(w, "bytes", p->bytes);
    tb_jw_str(w, "sha256", p->sha256[0] ? p->sha256 : NULL);
    tb_jw_str(w, "format", p->format);
    tb_jw_str(w, "shape", p->shape);
    if (p->synth_version > 0) tb_jw_int(w, "synth_version", p->synth_version);
    else tb_jw_null(w, "synth_version");
    tb_jw_str(w, "synth_seed", p->synth_seed[0] ? p->synth_seed : NULL);
    tb_jw_str(w, "why", p->why[0] ? p->why : NULL);
    tb_jw_obj_end(w);
}

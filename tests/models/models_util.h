/* models_util.h: helpers for the models/ tests: a private temp directory,
 * whole-file read/write, and synthetic model writing with a small config. */
#ifndef TB_MODELS_UTIL_H
#define TB_MODELS_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "synth.h"

/* Creates a fresh temp dir (removed by tmp_cleanup). */
static char tmp_root[512];
static const char *tmp_dir(void) {
    if (!tmp_root[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tmp_root, sizeof tmp_root, "%s/tb_models_XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmp_root)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return tmp_root;
}

static void rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
                char sub[1024];
                snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
                rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void tmp_cleanup(void) {
    if (tmp_root[0]) rm_rf(tmp_root);
}

static char *tmp_path(const char *name) {
    static char buf[8][1024];
    static int k;
    char *p = buf[k++ & 7];
    snprintf(p, 1024, "%s/%s", tmp_dir(), name);
    return p;
}

static inline unsigned char *slurp(const char *path, size_t *n) {
    char *d;
    tb_err e;
    if (tb_read_file(path, &d, n, &e) < 0) return NULL;
    return (unsigned char *)d;
}

static inline int spit(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(d, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* A small config (custom shape, small vocab): every linear a multiple of 128 weights. */
static inline tb_config small_cfg(void) {
    tb_config c;
    tb_config_preset("tiny", &c);
    c.hidden = 128;
    c.layers = 2;
    c.heads = 4;
    c.kv_heads = 1;
    c.head_dim = 32;
    c.ffn = 384;
    c.vocab = 320;
    c.bos = 318;
    c.eos = c.eot = 319;
    return c;
}

static inline int synth_to(const char *path, tb_config cfg, tb_synth_format fmt, uint64_t seed, const char *tok, tb_err *e) {
    tb_synth_opts o;
    memset(&o, 0, sizeof o);
    o.cfg = cfg;
    o.seed = seed;
    o.format = fmt;
    o.tokenizer_json = tok;
    o.out = path;
    return tb_synth_write(&o, e);
}

static inline const char *data_file(const char *rel, char *buf, size_t cap) {
    const char *d = getenv("TERNBENCH_DATA");
    if (!d || !*d) return NULL;
    snprintf(buf, cap, "%s/%s", d, rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

/* ---- a minimal safetensors writer (written from the format description) ---- */
typedef struct {
    const char *name, *dtype; /* "BF16", "U8", ... */
    int ndim;
    long shape[2];
    const void *data;
    size_t nbytes;
} st_entry;

static inline int st_write(const char *path, const st_entry *t, int n) {
    size_t cap = 256 + (size_t)n * 256, len = 0, off = 0;
    char *h = malloc(cap);
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        char shape[64];
        if (t[i].ndim == 0) snprintf(shape, sizeof shape, "[]");
        else if (t[i].ndim == 1) snprintf(shape, sizeof shape, "[%ld]", t[i].shape[0]);
        else snprintf(shape, sizeof shape, "[%ld,%ld]", t[i].shape[0], t[i].shape[1]);
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                                t[i].name, t[i].dtype, shape, off, off + t[i].nbytes);
        off += t[i].nbytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    FILE *f = fopen(path, "wb");
    if (!f) { free(h); return -1; }
    uint64_t hl = len;
    fwrite(&hl, 8, 1, f);
    fwrite(h, 1, len, f);
    for (int i = 0; i < n; i++) fwrite(t[i].data, 1, t[i].nbytes, f);
    free(h);
    return fclose(f);
}

#endif

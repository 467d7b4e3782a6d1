/* plugin.c: kernels from shared objects (kernels/ternbench_plugin.h) joining the one
 * registry as "plugin:<name>".  The plugin's functions are used as they are, except
 * pack(): ternbench hands kernels a tb_ternary in any of its layouts, a plugin gets
 * plain codes, so each plugin kernel's pack goes through a small trampoline slot. */
#include "plugin.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ternbench_plugin.h"

#define SLOTS 32
static const tb_plugin_kernel *slot_kernel[SLOTS];
static tb_kernel slot_desc[SLOTS];
static char slot_name[SLOTS][80], slot_desc_text[SLOTS][200];
static int n_slots;

static int pack_slot(int i, const tb_ternary *w, void *dst) {
    const size_t n = (size_t)w->rows * (size_t)w->cols;
    int8_t *codes = malloc(n ? n : 1);
    if (!codes) return TB_KERR_NOMEM;
    for (int r = 0; r < w->rows; r++) tb_ternary_row(w, r, codes + (size_t)r * (size_t)w->cols);
    int rc = slot_kernel[i]->pack(codes, w->rows, w->cols, dst);
    free(codes);
    return rc;
}
#define SLOT(i) \
    static int pack_##i(const tb_ternary *w, void *dst) { return pack_slot(i, w, dst); }
SLOT(0) SLOT(1) SLOT(2) SLOT(3) SLOT(4) SLOT(5) SLOT(6) SLOT(7)
SLOT(8) SLOT(9) SLOT(10) SLOT(11) SLOT(12) SLOT(13) SLOT(14) SLOT(15)
SLOT(16) SLOT(17) SLOT(18) SLOT(19) SLOT(20) SLOT(21) SLOT(22) SLOT(23)
SLOT(24) SLOT(25) SLOT(26) SLOT(27) SLOT(28) SLOT(29) SLOT(30) SLOT(31)
#undef SLOT
static int (*const slot_pack[SLOTS])(const tb_ternary *, void *) = {
    pack_0,  pack_1,  pack_2,  pack_3,  pack_4,  pack_5,  pack_6,  pack_7,  pack_8,  pack_9,  pack_10,
    pack_11, pack_12, pack_13, pack_14, pack_15, pack_16, pack_17, pack_18, pack_19, pack_20, pack_21,
    pack_22, pack_23, pack_24, pack_25, pack_26, pack_27, pack_28, pack_29, pack_30, pack_31};

/* "avx2 avx512vnni" -> TB_ISA_* bits; -1 with the unknown word in e. */
static int parse_isa(const char *s, unsigned *bits, const char *path, const char *kname, tb_err *e) {
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {
        {"avx2", TB_ISA_AVX2},
        {"avxvnni", TB_ISA_AVX2 | TB_ISA_AVXVNNI},
        {"avx512", TB_ISA_AVX2 | TB_ISA_AVX512},
        {"avx512vnni", TB_ISA_AVX2 | TB_ISA_AVX512 | TB_ISA_AVX512VNNI},
        {"avx512vbmi", TB_ISA_AVX2 | TB_ISA_AVX512 | TB_ISA_AVX512VBMI},
        {"avx512popcnt", TB_ISA_AVX2 | TB_ISA_AVX512 | TB_ISA_AVX512POPCNT},
        {"neon", TB_ISA_NEON},
        {"neondot", TB_ISA_NEON | TB_ISA_DOTPROD},
        {"sve", TB_ISA_NEON | TB_ISA_SVE},
        {"sve2", TB_ISA_NEON | TB_ISA_SVE | TB_ISA_SVE2},
    };
    *bits = 0;
    for (const char *p = s ? s : ""; *p;) {
        while (*p == ' ') p++;
        size_t len = strcspn(p, " ");
        if (!len) break;
        size_t i = 0;
        while (i < sizeof names / sizeof names[0] && (strlen(names[i].name) != len || strncmp(names[i].name, p, len)))
            i++;
        if (i == sizeof names / sizeof names[0])
            return tb_fail(e, "plugin %s: kernel %s needs ISA '%.*s', which ternbench does not know (known: avx2 "
                              "avxvnni avx512 avx512vnni avx512vbmi avx512popcnt neon neondot sve sve2)",
                           path, kname, (int)len, p);
        *bits |= names[i].bits;
        p += len;
    }
    return 0;
}

static int valid_name(const char *s) {
    if (!s || !*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '.' || *s == '-'))
            return 0;
    return 1;
}

/* One plugin kernel -> a registry entry in slot n_slots. */
static int adopt(const tb_plugin_kernel *pk, const char *path, tb_err *e) {
    if (!valid_name(pk->name))
        return tb_fail(e, "plugin %s: a kernel name must be 1-64 characters of [A-Za-z0-9_.-]", path);
    if (!pk->packed_size || !pk->pack || !pk->unpack_row || !pk->gemv)
        return tb_fail(e, "plugin %s: kernel %s lacks packed_size, pack, unpack_row or gemv", path, pk->name);
    if (!pk->prep != !pk->prep_size)
        return tb_fail(e, "plugin %s: kernel %s has only one of prep and prep_size", path, pk->name);
    if (pk->tile_rows < 1 || pk->tile_rows > 4096 || pk->block_k < 1)
        return tb_fail(e, "plugin %s: kernel %s: tile_rows must be in [1, 4096] and block_k >= 1", path, pk->name);
    if (n_slots == SLOTS) return tb_fail(e, "plugin %s: more than %d plugin kernels in all", path, SLOTS);
    unsigned isa;
    if (parse_isa(pk->isa, &isa, path, pk->name, e) < 0) return -1;
    int i = n_slots;
    tb_kernel *k = &slot_desc[i];
    snprintf(slot_name[i], sizeof slot_name[i], "plugin:%s", pk->name);
    snprintf(slot_desc_text[i], sizeof slot_desc_text[i], "%s (plugin %s)", pk->desc ? pk->desc : "", path);
    memset(k, 0, sizeof *k);
    k->name = slot_name[i];
    k->family = "plugin";
    k->layout = slot_name[i]; /* its own bytes: never shared with another kernel */
    k->desc = slot_desc_text[i];
    k->isa = isa;
    k->tile_rows = pk->tile_rows;
    k->block_k = pk->block_k;
    k->exact = pk->exact != 0;
    k->needs_prep = pk->prep != NULL;
    k->packed_size = pk->packed_size;
    k->pack = slot_pack[i];
    k->unpack_row = pk->unpack_row;
    k->prep_size = pk->prep_size;
    k->prep = pk->prep;
    k->gemv = pk->gemv;
    k->priority = -50; /* never `best` by default: `ternbench tune` measures it like any other */
    slot_kernel[i] = pk;
    if (tb_kernel_register(k, e) < 0) return -1;
    n_slots++;
    k->bits_per_weight = tb_kernel_supported(k, TB_ISA_ALL, NULL) ? 8.0 * (double)pk->packed_size(2560, 2560) / (2560.0 * 2560.0) : 0.0;
    return 0;
}

int tb_plugin_load(const char *path, tb_err *e) {
    char buf[1100];
    /* a bare name would make dlopen search the library path: always a file */
    snprintf(buf, sizeof buf, "%s%s", strchr(path, '/') ? "" : "./", path);
    void *h = dlopen(buf, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return tb_fail(e, "plugin %s: not a loadable shared object (%s)", path, why ? why : "dlopen failed");
    }
    tb_plugin_entry_fn entry;
    void *sym = dlsym(h, TB_PLUGIN_ENTRY);
    memcpy(&entry, &sym, sizeof entry);
    const tb_plugin_table *t = entry ? entry() : NULL;
    if (!entry || !t) {
        dlclose(h);
        return tb_fail(e, "plugin %s: no %s() returning a kernel table (see ternbench_plugin.h)", path, TB_PLUGIN_ENTRY);
    }
    const uint32_t abi = t->abi_version, nk = t->n_kernels; /* read before any dlclose */
    if (abi != TB_PLUGIN_ABI_VERSION) {
        dlclose(h);
        return tb_fail(e, "plugin %s: built for plugin ABI %u, this ternbench speaks ABI %d: rebuild it against this "
                          "ternbench's ternbench_plugin.h", path, (unsigned)abi, TB_PLUGIN_ABI_VERSION);
    }
    if (!t->kernels || nk < 1 || nk > SLOTS) {
        dlclose(h);
        return tb_fail(e, "plugin %s: its table lists %u kernels (1 to %d expected)", path, (unsigned)nk, SLOTS);
    }
    for (uint32_t i = 0; i < t->n_kernels; i++)
        if (adopt(&t->kernels[i], path, e) < 0) return -1; /* kernels already adopted stay (the handle too) */
    return 0; /* the handle stays open: its kernels are in the registry until exit */
}

int tb_plugins_load_args(int *argc, char **argv, tb_err *e) {
    const char *env = getenv("TERNBENCH_PLUGINS");
    if (env && *env) {
        char list[4096];
        snprintf(list, sizeof list, "%s", env);
        for (char *save = NULL, *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save))
            if (tb_plugin_load(p, e) < 0) return -1;
    }
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--plugin")) {
            if (i + 1 >= *argc) return tb_fail(e, "--plugin needs a path to a shared object");
            if (tb_plugin_load(argv[++i], e) < 0) return -1;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

/* numcfg.c: the numeric configurations (numcfg.h), listed once, beside the kernel registry
 * (kernels/registry.inc) whose kernels some of them name; the harness only enumerates them. */
#include "numcfg.h"

#include <stdio.h>
#include <string.h>

#include "model.h"

#define EXACT_PARTS .head = TB_HEAD_EXACT, .act_bits = 8, .kv = TB_KV_F32

/* The registry: every configuration once.  Order: the exact reference, one approximation
 * at a time, then combinations. */
const tb_numcfg tb_numcfgs[] = {
    {.name = "exact", .desc = "the reference numerics: the run's exact kernel, tied F16/BF16 head, int8 activations, f32 KV", EXACT_PARTS},
    {.name = "kv-f16", .desc = "KV cache in IEEE f16 (as llama.cpp and bitnet.cpp keep it)", .head = TB_HEAD_EXACT, .act_bits = 8, .kv = TB_KV_F16},
    {.name = "kv-q8", .desc = "KV cache in int8 per (position, KV head), absmax scale", .head = TB_HEAD_EXACT, .act_bits = 8, .kv = TB_KV_Q8},
    {.name = "head-q8", .desc = "LM head in int8 per row (x in int8 per block of 32)", .head = TB_HEAD_Q8ROW, .act_bits = 8, .kv = TB_KV_F32},
    {.name = "head-q4", .desc = "LM head in 4 bits per block of 32 with f16 scales (4.5 bits per weight)", .head = TB_HEAD_Q4BLK, .act_bits = 8, .kv = TB_KV_F32},
    {.name = "act4", .desc = "BitLinear inputs quantized to 4 bits per token (absmax, BitNet a4.8's width)", .head = TB_HEAD_EXACT, .act_bits = 4, .kv = TB_KV_F32},
    {.name = "tl1-lut8", .desc = "TL1 LUT with int8 tables (each pair sum halved, round half to even, 127 at most)", .kernel = "gemv_tl1q8_32x4__*", EXACT_PARTS},
    {.name = "tl2-lut8", .desc = "TL2 LUT with int8 tables (each triple sum quartered, round half to even)", .kernel = "gemv_tl2q8_32x24__*", EXACT_PARTS},
    {.name = "head-q8+kv-f16", .desc = "int8 head and f16 KV cache", .head = TB_HEAD_Q8ROW, .act_bits = 8, .kv = TB_KV_F16},
    {.name = "head-q4+kv-f16", .desc = "4-bit head and f16 KV cache", .head = TB_HEAD_Q4BLK, .act_bits = 8, .kv = TB_KV_F16},
    {.name = "tl2-lut8+head-q4+kv-q8", .desc = "every approximation that saves bytes: TL2 int8 LUT, 4-bit head, int8 KV", .kernel = "gemv_tl2q8_32x24__*", .head = TB_HEAD_Q4BLK, .act_bits = 8, .kv = TB_KV_Q8},
};
const int tb_n_numcfgs = (int)(sizeof tb_numcfgs / sizeof tb_numcfgs[0]);

const tb_numcfg *tb_numcfg_find(const char *name) {
    for (int i = 0; name && i < tb_n_numcfgs; i++)
        if (!strcmp(tb_numcfgs[i].name, name)) return &tb_numcfgs[i];
    return NULL;
}

static int add_matches(const char *pat, const tb_numcfg **out, int n, int max, tb_err *e) {
    int found = 0;
    for (int i = 0; i < tb_n_numcfgs; i++) {
        if (!(strcmp(pat, "all") == 0 || tb_glob_match(pat, tb_numcfgs[i].name))) continue;
        found++;
        bool dup = false;
        for (int j = 0; j < n; j++) dup = dup || out[j] == &tb_numcfgs[i];
        if (dup) continue;
        if (n >= max) return tb_fail(e, "--config: more than %d configurations", max);
        out[n++] = &tb_numcfgs[i];
    }
    if (!found) {
        char list[600] = "";
        size_t len = 0;
        for (int i = 0; i < tb_n_numcfgs && len + 40 < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", tb_numcfgs[i].name);
        return tb_fail(e, "--config %s: no such configuration (registered: %s; or a glob, a comma list, all)", pat, list);
    }
    return n;
}

int tb_numcfg_select(const char *spec, const tb_numcfg **out, int max, tb_err *e) {
    if (!spec || !*spec) spec = "exact";
    char buf[512];
    if (strlen(spec) >= sizeof buf) return tb_fail(e, "--config: the list is too long");
    strcpy(buf, spec);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        if (!*tok) continue;
        n = add_matches(tok, out, n, max, e);
        if (n < 0) return -1;
    }
    if (n == 0) return tb_fail(e, "--config '%s' names no configuration", spec);
    return n;
}

bool tb_numcfg_exact(const tb_numcfg *c, const tb_kernel *k) {
    return c->head == TB_HEAD_EXACT && c->act_bits == 8 && c->kv == TB_KV_F32 && (!k || k->exact);
}

/* The best kernel matching glob under mask: highest priority, ties to the later registry line. */
static const tb_kernel *best_match(const char *glob, unsigned mask) {
    const tb_kernel *best = NULL;
    for (int i = 0; i < tb_n_kernels; i++) {
        const tb_kernel *k = tb_kernels[i];
        if (k->on_device || !tb_glob_match(glob, k->name) || !tb_kernel_supported(k, mask, NULL)) continue;
        if (!best || k->priority >= best->priority) best = k;
    }
    return best;
}

int tb_numcfg_kernel(const tb_numcfg *c, const tb_kernel *requested, bool kernel_given, unsigned mask,
                     const tb_kernel **k, tb_err *e) {
    *k = requested;
    if (!c->kernel) return 0; /* the run's kernel (an approximate one makes the run inexact) */
    if (kernel_given) {
        if (!requested || !tb_glob_match(c->kernel, requested->name))
            return tb_fail(e, "--config %s runs the kernels %s; --kernel %s is not one of them", c->name, c->kernel,
                           requested ? requested->name : "ref");
        return 0;
    }
    *k = best_match(c->kernel, mask);
    if (!*k) return tb_fail(e, "--config %s: no kernel matching %s can run here", c->name, c->kernel);
    return 0;
}

int tb_numcfg_open(const tb_numcfg *c, const tb_model *m, tb_numcfg_run *r, tb_err *e) {
    memset(r, 0, sizeof *r);
    r->cfg = c;
    r->nx.act_bits = c->act_bits;
    r->nx.kv = c->kv;
    r->head_bytes = (double)tb_model_embd_bytes(m);
    if (c->head != TB_HEAD_EXACT) {
        if (tb_qhead_new(m, c->head, &r->head, e) < 0) return -1;
        r->nx.head = r->head;
        r->head_bytes = r->head->bytes;
    }
    return 0;
}

void tb_numcfg_close(tb_numcfg_run *r) {
    if (!r) return;
    tb_qhead_free(r->head);
    r->head = NULL;
}

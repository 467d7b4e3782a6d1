/* model_hf.c: Hugging Face checkpoint loader (config.json + model.safetensors). */
#include "model_internal.h"

int tb__load_hf(tb_model *m, const char *dir, tb_err *e) {
    (void)m;
    return tb_fail(e, "%s: HF checkpoints are not supported yet", dir);
}

/* libFuzzer harness: tg_checkpoint_load on any bytes written as a file,
 * into one small model and optimizer made once (fuzz_model.h), with a
 * generator and the caller's metadata among the extras. */
#include <stdlib.h>

#include "fuzz_model.h"
#include "fuzz_tmp.h"
#include "nn/checkpoint.h"

static tg_module *model;
static tg_optimizer *opt;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    model = fuzz_model();
    opt = model ? fuzz_optimizer(model) : NULL;
    if (!opt) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[FUZZ_PATH_MAX];
    fuzz_write(fuzz_path(path, "input.ckpt"), data, size);
    tg_rng data_rng = tg_rng_new(1, 2);
    tg_checkpoint_rng rngs[] = {{"data", &data_rng}};
    tg_checkpoint_extra extra = {.n_rngs = 1, .rngs = rngs};
    tg_checkpoint_load(path, model, opt, &extra);
    tg_metadata_clear(&extra.metadata);
    return 0;
}

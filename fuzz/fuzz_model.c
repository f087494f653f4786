/* The checkpoint harness's model and optimizer (see fuzz_model.h). */
#include "fuzz_model.h"

#include <stdio.h>

#include "nn/layers.h"
#include "tensor/error.h"

tg_module *fuzz_model(void)
{
    tg_rng rng = tg_rng_new(7, 0);
    tg_module *seq = tg_nn_sequential();
    tg_module *layers[] = {tg_nn_linear(4, 3, true, &rng), tg_nn_dropout(0.5f, 11), tg_nn_linear(3, 2, true, &rng)};
    int rc = seq ? 0 : -1;
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) { /* append takes the layer, even on failure */
        if (rc) tg_module_free(layers[i]);
        else if (!layers[i] || tg_nn_sequential_append(seq, layers[i])) rc = -1;
    }
    if (!rc) return seq;
    fprintf(stderr, "fuzz: cannot make the model: %s\n", tg_last_error());
    tg_module_free(seq);
    return NULL;
}

tg_optimizer *fuzz_optimizer(tg_module *model)
{
    tg_tensor_list params = {0};
    tg_optimizer *opt = NULL;
    if (tg_module_parameters(model, &params) == 0)
        opt = tg_sgd_new(&params, (tg_sgd_opts){.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
    tg_tensor_list_clear(&params);
    if (!opt) fprintf(stderr, "fuzz: cannot make the optimizer: %s\n", tg_last_error());
    return opt;
}

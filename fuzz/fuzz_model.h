/* The small model and optimizer the checkpoint harness loads into and the
 * seed maker saves: Linear(4, 3), Dropout (a module generator), Linear(3,
 * 2), with SGD and momentum (per-parameter state once it has stepped). */
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include "nn/module.h"
#include "nn/optim.h"

/* NULL after printing why. */
tg_module *fuzz_model(void);
tg_optimizer *fuzz_optimizer(tg_module *model);

#endif

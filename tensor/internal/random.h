/* Random fills in place (rng.c): the kernels behind nn/init.h's
 * initialisers (internal). */
#ifndef TG_RANDOM_H
#define TG_RANDOM_H

#include "tensor/rng.h"

/* Fills a float32 tensor with U[low, high) or N(mean, std); bumps its version. */
int tg_k_uniform_(tg_tensor *t, tg_rng *rng, double low, double high);
int tg_k_normal_(tg_tensor *t, tg_rng *rng, double mean, double std);

#endif

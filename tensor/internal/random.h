/* Random fills in place (rng.c): the kernels behind nn/init.h's
 * initialisers (internal). */
#ifndef TG_RANDOM_H
#define TG_RANDOM_H

#include "tensor/rng.h"

/* Fills a float32 tensor with U[low, high) or N(mean, std); bumps its version. */
int tg_k_uniform_(tg_tensor *t, tg_rng *rng, double low, double high);
int tg_k_normal_(tg_tensor *t, tg_rng *rng, double mean, double std);

/* Element i of tg_rand(rng, ...) drawn now, without drawing: a kernel that
 * needs a random mask twice (forward and backward) recomputes it from the
 * rng's state at the forward; then tg_rng_skip(rng, n) advances rng as
 * that draw of n uniforms would. */
float tg_rng_uniform_at(const tg_rng *rng, uint64_t i);
void tg_rng_skip(tg_rng *rng, uint64_t n);

#endif

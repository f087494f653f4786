/* Random fills in place (rng.c): the kernels behind nn/init.h's
 * initialisers (internal). */
#ifndef TG_RANDOM_H
#define TG_RANDOM_H

#include "tensor/rng.h"

/* Fills a float32 tensor with U[low, high) or N(mean, std); bumps its version. */
int tg_k_uniform_(tg_tensor *t, tg_rng *rng, double low, double high);
int tg_k_normal_(tg_tensor *t, tg_rng *rng, double mean, double std);

/* A dropout's mask of shape: scale where tg_rand(rng, ...) would draw a
 * value >= p, else 0; advances rng as that draw does. */
tg_tensor *tg_k_dropout_mask(tg_rng *rng, int ndim, const int64_t *shape, float p, float scale);

/* out[j] = element first + j of tg_rand(rng, ...) drawn now, without
 * drawing, for j < n: a kernel that needs a random mask twice (forward and
 * backward) recomputes it from the rng's state at the forward; then
 * tg_rng_skip(rng, n) advances rng as that draw of n uniforms would. */
void tg_rng_uniform_run(const tg_rng *rng, uint64_t first, int64_t n, float *out);
void tg_rng_skip(tg_rng *rng, uint64_t n);

#endif

/* Counter-based random numbers (Philox 4x32-10) with explicit state.
 *
 * There is no global generator: every random call takes a tg_rng. Element i
 * of a draw depends only on (seed, stream, counter + i), never on thread
 * count or scheduling, so the same seed gives the same bits everywhere.
 * Give each sample or worker its own stream for independent sequences. */
#ifndef TG_RNG_H
#define TG_RNG_H

#include <stdint.h>

#include "tensor/export.h"
#include "tensor/tensor.h"

typedef struct tg_rng {
    uint64_t seed;    /* Philox key */
    uint64_t stream;  /* high half of the counter: independent sequences */
    uint64_t counter; /* low half: advances by the blocks each draw uses */
} tg_rng;

/* A generator keyed by seed, on its own stream, at counter 0. */
TG_API tg_rng tg_rng_new(uint64_t seed, uint64_t stream);

/* Uniform floats in [0, 1). */
TG_API tg_tensor *tg_rand(tg_rng *rng, int ndim, const int64_t *shape);
/* Standard normal floats. */
TG_API tg_tensor *tg_randn(tg_rng *rng, int ndim, const int64_t *shape);
/* Uniform int64 in [low, high). */
TG_API tg_tensor *tg_randint(tg_rng *rng, int64_t low, int64_t high, int ndim, const int64_t *shape);
/* One value: uniform double in [0, 1), and a 32-bit integer (NaN and 0
 * with an error for a NULL rng). */
TG_API double tg_rng_uniform(tg_rng *rng);
TG_API uint32_t tg_rng_u32(tg_rng *rng);

#endif

/* Small random draws for the transforms (internal): a uniform real in a
 * range, an integer below n, a coin with probability p. All from one
 * tg_rng value each, so a transform's draws depend only on its rng. */
#ifndef TG_DATA_DRAW_H
#define TG_DATA_DRAW_H

#include <stdbool.h>

#include "tensor/rng.h"

/* U[lo, hi). */
static inline double tg_draw_uniform(tg_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * tg_rng_uniform(rng);
}

/* Uniform in 0 .. n-1 (n >= 1). */
static inline int tg_draw_below(tg_rng *rng, int n)
{
    return (int)(tg_rng_uniform(rng) * n);
}

/* True with probability p. */
static inline bool tg_draw_coin(tg_rng *rng, double p)
{
    return tg_rng_uniform(rng) < p;
}

#endif

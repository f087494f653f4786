/* Helpers shared by the Check suites of tests/tensor: shape shorthands, a
 * check of a result's shape and values, and a check that kernels give
 * bitwise-equal results on 1 and 2 threads. */
#ifndef TENSOR_HELPERS_H
#define TENSOR_HELPERS_H

#include <stdint.h>

#include "tensorgrad.h"

/* A shape argument pair (ndim, dims): S(2, 3); S0 is the empty shape. */
#define S(...) TG_SHAPE(__VA_ARGS__)
#define S0 0, NULL

/* Fails unless t is non-NULL (reporting tg_last_error()), has the given
 * shape, and each of its values in logical order is within tol relative of
 * want's: |got - want| <= tol (1 + |want|). t has at most 64 elements.
 * Releases t. */
void expect_close(tg_tensor *t, int ndim, const int64_t *shape, const float *want, float tol);

/* Runs run(ctx, buf) with 1 thread, then with 2, each into its own buffer
 * of max floats, then restores the thread count. run writes its results to
 * buf and returns how many floats it wrote. Fails unless both runs wrote
 * the same number of floats (at most max) with the same bits. */
void expect_same_on_1_and_2_threads(int64_t (*run)(void *ctx, float *buf), void *ctx, int64_t max);

#endif

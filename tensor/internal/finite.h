/* The scan for values that are not finite (NaN, +-Inf), which the training
 * loop's guard and the weight files' checks run over every parameter.
 * Internal header (not installed); the public form is tg_all_finite
 * (autograd/ops_nograd.h). */
#ifndef TG_TENSOR_FINITE_H
#define TG_TENSOR_FINITE_H

#include "tensor/tensor.h"

/* 1 when every element of t is finite (always for int64 tensors), 0 when
 * one is not, with the first such value in logical order in *bad (may be
 * NULL); -1 with the error recorded (NULL t, out of memory). Any strides. */
int tg_k_all_finite(tg_tensor *t, float *bad);

#endif

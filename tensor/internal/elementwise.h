/* Elementwise kernels over float32 tensors, with NumPy broadcasting.
 *
 * Raw, non-differentiable forms (autograd/ wraps them). Inputs may have any
 * strides; outputs are new contiguous tensors. Names ending in '_' write into
 * their first argument (its shape must be the broadcast shape) and bump its
 * version. Comparisons return float32 1.0/0.0 masks. */
#ifndef TG_ELEMENTWISE_H
#define TG_ELEMENTWISE_H

#include "tensor/tensor.h"

/* unary */
tg_tensor *tg_k_neg(tg_tensor *t);
tg_tensor *tg_k_exp(tg_tensor *t);
tg_tensor *tg_k_log(tg_tensor *t);
tg_tensor *tg_k_sqrt(tg_tensor *t);
tg_tensor *tg_k_abs(tg_tensor *t);
tg_tensor *tg_k_sign(tg_tensor *t);
tg_tensor *tg_k_relu(tg_tensor *t);
tg_tensor *tg_k_sigmoid(tg_tensor *t);
tg_tensor *tg_k_tanh(tg_tensor *t);
tg_tensor *tg_k_pow_scalar(tg_tensor *t, float exponent);
/* Clamp to [lo, hi]; pass -INFINITY or INFINITY for no bound. */
tg_tensor *tg_k_clamp(tg_tensor *t, float lo, float hi);
/* 1 where lo <= t <= hi, else 0 (the clamp gradient mask). */
tg_tensor *tg_k_in_range(tg_tensor *t, float lo, float hi);
tg_tensor *tg_k_add_scalar(tg_tensor *t, float s);
tg_tensor *tg_k_mul_scalar(tg_tensor *t, float s);

/* binary */
tg_tensor *tg_k_add(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_sub(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_mul(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_div(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_pow(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_maximum(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_minimum(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_eq(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_ne(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_lt(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_le(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_gt(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_k_ge(tg_tensor *a, tg_tensor *b);

/* fused gradient kernels: g * relu'(y), g * y * (1 - y), g * (1 - y * y) */
tg_tensor *tg_k_relu_backward(tg_tensor *g, tg_tensor *y);
tg_tensor *tg_k_sigmoid_backward(tg_tensor *g, tg_tensor *y);
tg_tensor *tg_k_tanh_backward(tg_tensor *g, tg_tensor *y);

/* cond != 0 ? a : b, all three broadcast together. */
tg_tensor *tg_k_where(tg_tensor *cond, tg_tensor *a, tg_tensor *b);

/* in place */
int tg_k_add_(tg_tensor *a, tg_tensor *b);
int tg_k_sub_(tg_tensor *a, tg_tensor *b);
int tg_k_mul_(tg_tensor *a, tg_tensor *b);
int tg_k_div_(tg_tensor *a, tg_tensor *b);
/* a += alpha * b */
int tg_k_axpy_(tg_tensor *a, float alpha, tg_tensor *b);
int tg_k_relu_(tg_tensor *t);
int tg_k_add_scalar_(tg_tensor *t, float s);
int tg_k_mul_scalar_(tg_tensor *t, float s);
int tg_k_clamp_(tg_tensor *t, float lo, float hi);

#endif

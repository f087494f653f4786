/* Ops with no gradient: the forms users call for what autograd does not
 * differentiate (comparisons, argmax, one-hot encodings...) and for
 * in-place updates outside the graph (optimizer steps, fills, copies).
 *
 * Each runs its tensor/ kernel and records nothing; a result never
 * requires grad. Names ending in '_' write into their first argument,
 * bump its version and return 0 or -1. While grad mode is on they refuse
 * a destination that requires grad, as PyTorch refuses an in-place write
 * to a leaf that requires grad: a parameter is updated inside a no-grad
 * scope (tg_no_grad_enter/exit). Their other operands are read as
 * constants, as through tg_detach. Differentiable in-place ops (tg_add_,
 * tg_relu_...) are in ops.h; initialisers (tg_init_normal_...) in
 * nn/init.h; confusion counts in nn/metrics.h. */
#ifndef TG_OPS_NOGRAD_H
#define TG_OPS_NOGRAD_H

#include "tensor/export.h"
#include "tensor/tensor.h"

/* ---- comparisons and masks: float32 1.0 where true, else 0.0 ---- */
TG_API tg_tensor *tg_eq(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_ne(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_lt(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_le(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_gt(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_ge(tg_tensor *a, tg_tensor *b);
/* 1 where lo <= t <= hi (clamp's gradient mask). */
TG_API tg_tensor *tg_in_range(tg_tensor *t, float lo, float hi);
/* -1, 0 or 1. */
TG_API tg_tensor *tg_sign(tg_tensor *t);
/* 1 where |a - b| <= atol + rtol |b| (a and b broadcast), as torch.isclose:
 * an infinity is close only to itself, NaN to NaN only with equal_nan.
 * PyTorch's defaults: rtol 1e-5, atol 1e-8. */
TG_API tg_tensor *tg_isclose(tg_tensor *a, tg_tensor *b, double rtol, double atol, bool equal_nan);

/* ---- checks ---- */
/* 1 when every element of t is finite (int64 tensors always are), 0 when
 * one is NaN or +-Inf, the first such in logical order put in *bad (may be
 * NULL); -1 with the error recorded. A fast scan, for guards over every
 * parameter of a model. */
TG_API int tg_all_finite(tg_tensor *t, float *bad);
/* 1 when every pair of a and b is close (tg_isclose), 0 when one is not,
 * -1 with an error (shapes that do not broadcast, a tensor not float32). */
TG_API int tg_allclose(tg_tensor *a, tg_tensor *b, double rtol, double atol, bool equal_nan);

/* ---- indices and conversions ---- */
/* int64 index of the first maximum (minimum) along dim. */
TG_API tg_tensor *tg_argmax(tg_tensor *t, int dim, bool keepdim);
TG_API tg_tensor *tg_argmin(tg_tensor *t, int dim, bool keepdim);
/* int64 labels -> int64 (labels.shape, num_classes), 1 at each label;
 * num_classes -1 means max(labels) + 1. */
TG_API tg_tensor *tg_one_hot(tg_tensor *labels, int64_t num_classes);
/* A copy converted to dtype (float32 <-> int64; float to int truncates). */
TG_API tg_tensor *tg_to_dtype(tg_tensor *t, tg_dtype dtype);

/* ---- in place ---- */
/* Sets every element of dst. */
TG_API int tg_fill_(tg_tensor *dst, double value);
/* Copies src into dst, broadcasting src to dst's shape. */
TG_API int tg_copy_(tg_tensor *dst, tg_tensor *src);
/* a += alpha * b (b broadcast to a's shape). */
TG_API int tg_axpy_(tg_tensor *a, float alpha, tg_tensor *b);
TG_API int tg_div_(tg_tensor *a, tg_tensor *b);
/* Clamp to [lo, hi]; -INFINITY or INFINITY for no bound. */
TG_API int tg_clamp_(tg_tensor *t, float lo, float hi);
/* dst[index[i][j]][j] += src[i][j] for dim 0 (torch.Tensor.scatter_add_). */
TG_API int tg_scatter_add_(tg_tensor *dst, int dim, tg_tensor *index, tg_tensor *src);
/* dst's entry index[k] along dim += src's entry k (torch.Tensor.index_add_). */
TG_API int tg_index_add_(tg_tensor *dst, int dim, tg_tensor *index, tg_tensor *src);
/* c = alpha a @ b + beta c for 2-D float32 a (M,K), b (K,N), c (M,N); c
 * must not overlap a or b; beta 0 ignores c's old values. */
TG_API int tg_gemm_(tg_tensor *c, tg_tensor *a, tg_tensor *b, float alpha, float beta);

/* ---- parameter updates: contiguous float32 tensors of one shape ---- */
/* torch.optim.SGD's step for one parameter p with gradient g: g' = g +
 * weight_decay p; with momentum, buf = g' on the first step (first), else
 * momentum buf + (1 - dampening) g', and g' = nesterov ? g' + momentum buf
 * : buf; then p -= lr g'. buf may be NULL when momentum is 0. */
TG_API int tg_sgd_update_(tg_tensor *p, tg_tensor *g, tg_tensor *buf, double lr, double momentum, double dampening,
                          double weight_decay, bool nesterov, bool first);
/* torch.optim.AdamW's step (1-based) for one parameter, with moments m, v. */
TG_API int tg_adamw_update_(tg_tensor *p, tg_tensor *g, tg_tensor *m, tg_tensor *v, double lr, double beta1,
                            double beta2, double eps, double weight_decay, int64_t step);
/* MoCo's momentum (EMA) update of a key encoder's parameter k from the
 * query's q: k = momentum k + (1 - momentum) q. */
TG_API int tg_momentum_update_(tg_tensor *k, tg_tensor *q, double momentum);

#endif

/* Differentiable ops: the forms users call.
 *
 * Each has the meaning of its tensor/ kernel (tg_k_<name>) or of the PyTorch
 * function with that name, and records a graph node when an input requires
 * grad (see autograd.h). Every returned tensor is a new reference. Ops whose
 * names end in '_' work in place: they return 0 or -1, bump the version and,
 * when recording, rebase the tensor onto the new node. Comparisons
 * (tg_k_eq ... in tensor/elementwise.h) and argmax have no gradient and are
 * used in their tensor/ form. */
#ifndef TG_OPS_H
#define TG_OPS_H

#include "tensor/tensor.h"

/* ---- elementwise (ops_elementwise.c) ---- */
tg_tensor *tg_add(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_sub(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_mul(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_div(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_pow(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_maximum(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_minimum(tg_tensor *a, tg_tensor *b);
tg_tensor *tg_neg(tg_tensor *t);
tg_tensor *tg_exp(tg_tensor *t);
tg_tensor *tg_log(tg_tensor *t);
tg_tensor *tg_sqrt(tg_tensor *t);
tg_tensor *tg_abs(tg_tensor *t);
tg_tensor *tg_relu(tg_tensor *t);
tg_tensor *tg_sigmoid(tg_tensor *t);
tg_tensor *tg_tanh(tg_tensor *t);
tg_tensor *tg_pow_scalar(tg_tensor *t, float exponent);
tg_tensor *tg_clamp(tg_tensor *t, float lo, float hi);
tg_tensor *tg_add_scalar(tg_tensor *t, float s);
tg_tensor *tg_mul_scalar(tg_tensor *t, float s);
/* cond (float mask, no gradient) != 0 ? a : b */
tg_tensor *tg_where(tg_tensor *cond, tg_tensor *a, tg_tensor *b);

/* in place */
int tg_add_(tg_tensor *a, tg_tensor *b);
int tg_sub_(tg_tensor *a, tg_tensor *b);
int tg_mul_(tg_tensor *a, tg_tensor *b);
int tg_relu_(tg_tensor *t);
int tg_add_scalar_(tg_tensor *t, float s);
int tg_mul_scalar_(tg_tensor *t, float s);

/* ---- views and copies (ops_view.c); gradients flow to the base ---- */
tg_tensor *tg_view(tg_tensor *t, int ndim, const int64_t *shape);
tg_tensor *tg_reshape(tg_tensor *t, int ndim, const int64_t *shape);
tg_tensor *tg_permute(tg_tensor *t, const int *perm);
tg_tensor *tg_transpose(tg_tensor *t, int dim0, int dim1);
tg_tensor *tg_narrow(tg_tensor *t, int dim, int64_t start, int64_t length);
tg_tensor *tg_select(tg_tensor *t, int dim, int64_t index);
tg_tensor *tg_expand(tg_tensor *t, int ndim, const int64_t *shape);
tg_tensor *tg_squeeze(tg_tensor *t, int dim);
tg_tensor *tg_unsqueeze(tg_tensor *t, int dim);
tg_tensor *tg_contiguous(tg_tensor *t);
tg_tensor *tg_clone(tg_tensor *t);

/* ---- reductions (ops_reduce.c) ---- */
tg_tensor *tg_sum(tg_tensor *t, int ndims, const int *dims, bool keepdim);
tg_tensor *tg_mean(tg_tensor *t, int ndims, const int *dims, bool keepdim);
tg_tensor *tg_var(tg_tensor *t, int ndims, const int *dims, bool unbiased, bool keepdim);
/* Gradient shared evenly among tied extremes, as torch.amax. */
tg_tensor *tg_amax(tg_tensor *t, int ndims, const int *dims, bool keepdim);
tg_tensor *tg_amin(tg_tensor *t, int ndims, const int *dims, bool keepdim);
tg_tensor *tg_softmax(tg_tensor *t, int dim);
tg_tensor *tg_log_softmax(tg_tensor *t, int dim);

/* ---- linear algebra (ops_linalg.c) ---- */
/* torch.matmul: 1-D, 2-D and batched with broadcast batch dims. */
tg_tensor *tg_matmul(tg_tensor *a, tg_tensor *b);
/* (B,M,K) x (B,K,N) -> (B,M,N) */
tg_tensor *tg_bmm(tg_tensor *a, tg_tensor *b);

/* ---- joining and indexing (ops_index.c) ---- */
tg_tensor *tg_cat(int n, tg_tensor *const *ts, int dim);
tg_tensor *tg_stack(int n, tg_tensor *const *ts, int dim);
/* out[i][j] = t[index[i][j]][j] for dim 0 (torch.gather); index is int64. */
tg_tensor *tg_gather(tg_tensor *t, int dim, tg_tensor *index);
/* Entries of t along dim at the int64 1-D index. */
tg_tensor *tg_index_select(tg_tensor *t, int dim, tg_tensor *index);

#endif

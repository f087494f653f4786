/* Views that share storage with their base, and copies that make new storage.
 *
 * These are tensor/'s raw, non-differentiable forms (prefix tg_k_); the
 * differentiable forms with the same names minus "k_" live in autograd/.
 * A view op never copies; reshape copies only when no view is possible;
 * contiguous returns its argument (retained) when it is already contiguous. */
#ifndef TG_VIEW_H
#define TG_VIEW_H

#include "tensor/tensor.h"

/* New shape over the same elements; one entry may be -1. Fails unless the
 * strides allow a view (as torch.Tensor.view). */
tg_tensor *tg_k_view(tg_tensor *t, int ndim, const int64_t *shape);
/* As view, copying only when the strides do not allow one. */
tg_tensor *tg_k_reshape(tg_tensor *t, int ndim, const int64_t *shape);
tg_tensor *tg_k_permute(tg_tensor *t, const int *perm);
tg_tensor *tg_k_transpose(tg_tensor *t, int dim0, int dim1);
/* Elements start .. start+length-1 along dim. */
tg_tensor *tg_k_narrow(tg_tensor *t, int dim, int64_t start, int64_t length);
/* Index along dim, which is removed. */
tg_tensor *tg_k_select(tg_tensor *t, int dim, int64_t index);
/* Broadcast size-1 dims (stride 0) and add leading dims; -1 keeps a size. */
tg_tensor *tg_k_expand(tg_tensor *t, int ndim, const int64_t *shape);
/* Removes dim, which must have size 1. */
tg_tensor *tg_k_squeeze(tg_tensor *t, int dim);
/* Inserts a size-1 dim at dim (in [-ndim-1, ndim]). */
tg_tensor *tg_k_unsqueeze(tg_tensor *t, int dim);

/* t itself (retained) if contiguous, else a contiguous copy. */
tg_tensor *tg_k_contiguous(tg_tensor *t);
/* A contiguous copy, always. */
tg_tensor *tg_k_clone(tg_tensor *t);
/* Copies src into dst, broadcasting src to dst's shape; bumps dst's version. */
int tg_k_copy_(tg_tensor *dst, tg_tensor *src);
/* Sets every element of dst; bumps its version. */
int tg_k_fill_(tg_tensor *dst, double value);
/* A copy converted to dtype (float32 <-> int64; float to int truncates). */
tg_tensor *tg_k_to_dtype(tg_tensor *t, tg_dtype dtype);

#endif

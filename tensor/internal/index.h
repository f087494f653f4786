/* Joining and indexing: cat, stack, gather, index_select, one_hot, the
 * scatter-adds that are their gradients, and confusion counts.
 *
 * Raw, non-differentiable forms (autograd/ops_index.c wraps them), with the
 * meaning of the PyTorch functions of the same names. Data may be float32 or
 * int64 and have any strides; index tensors are int64 of any strides. Every
 * index value is checked before anything is read or written: a value outside
 * [0, size) fails, naming the value and where it was in the index tensor
 * (negative indices are refused, as torch.gather and index_select do).
 * Outputs are new contiguous tensors; names ending in '_' write into their
 * first argument and bump its version. The scatter-adds run each output
 * element's additions in the index's row-major order, on one thread, so
 * results are bitwise identical whatever the thread count. */
#ifndef TG_INDEX_H
#define TG_INDEX_H

#include "tensor/tensor.h"

/* ts[0..n) joined along dim: all of one dtype and ndim, sizes equal except
 * along dim. As torch.cat, a 1-D tensor of size 0 is skipped whatever its
 * ndim, and dim is taken against the first tensor that is not skipped. */
tg_tensor *tg_k_cat(int n, tg_tensor *const *ts, int dim);
/* ts[0..n), all of one shape and dtype, joined along a new dim (in
 * [-ndim-1, ndim]). */
tg_tensor *tg_k_stack(int n, tg_tensor *const *ts, int dim);

/* out[i][j] = t[index[i][j]][j] for dim 0 (torch.gather). index has t's
 * ndim and index.size(d) <= t.size(d) for d != dim; out has index's shape
 * and t's dtype. */
tg_tensor *tg_k_gather(tg_tensor *t, int dim, tg_tensor *index);
/* dst[index[i][j]][j] += src[i][j] for dim 0 (torch.Tensor.scatter_add_):
 * index, src and dst have one ndim, index.size(d) <= src.size(d) for all d
 * and index.size(d) <= dst.size(d) for d != dim. dst and src share a dtype.
 * Returns 0 or -1; dst is untouched on failure. */
int tg_k_scatter_add_(tg_tensor *dst, int dim, tg_tensor *index, tg_tensor *src);

/* The entries of t at index (1-D, or 0-dim for one entry) along dim; out has
 * t's shape with size numel(index) along dim. */
tg_tensor *tg_k_index_select(tg_tensor *t, int dim, tg_tensor *index);
/* dst's entry index[k] along dim += src's entry k along dim
 * (torch.Tensor.index_add_): src has dst's shape except numel(index) along
 * dim. Returns 0 or -1; dst is untouched on failure. */
int tg_k_index_add_(tg_tensor *dst, int dim, tg_tensor *index, tg_tensor *src);

/* int64 one-hot encoding of int64 labels: shape labels.shape + (num_classes),
 * 1 at each label. num_classes -1 means max(labels) + 1. */
tg_tensor *tg_k_one_hot(tg_tensor *labels, int64_t num_classes);

/* Confusion counts: cm[target[p]][pred[p]] += 1 for every position p whose
 * target is not ignore_index (pred is then not read). cm is a contiguous
 * int64 (C, C); target and pred are int64 of one shape, and every counted
 * target and pred must lie in [0, C). Returns 0 or -1; cm is untouched on
 * failure. One thread: integer counts are exact whatever the order. */
int tg_k_confusion_add_(tg_tensor *cm, tg_tensor *target, tg_tensor *pred, int64_t ignore_index);

#endif

/* Sorting along a dim (tensor/sort.c): the k largest or smallest entries
 * of each row with their indices, and whole sorts. Internal to the
 * library; the differentiable ops are in autograd/ops.h. */
#ifndef TG_SORT_H
#define TG_SORT_H

#include "tensor/tensor.h"

/* The k largest (or smallest) entries of float32 t along dim, in order
 * (largest first, or smallest first), into *values (float32) and
 * *indices (int64), both t's shape with k along dim. Ties keep the lower
 * index first; NaN counts as larger than every number, as in PyTorch.
 * 0, or -1 with an error and both outputs NULL. */
int tg_k_topk(tg_tensor *t, int64_t k, int dim, bool largest, tg_tensor **values, tg_tensor **indices);

#endif

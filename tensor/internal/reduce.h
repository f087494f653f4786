/* Reductions over any set of dims, and softmax/log_softmax along one dim.
 *
 * dims lists the dims to reduce (negative counts from the end); ndims == 0
 * reduces over all of them, as torch.sum(t) does. keepdim keeps reduced dims
 * with size 1. Each output element is reduced by one thread in a fixed
 * order, so results do not depend on the thread count; float sums
 * accumulate in double. */
#ifndef TG_REDUCE_H
#define TG_REDUCE_H

#include "tensor/tensor.h"

tg_tensor *tg_k_sum(tg_tensor *t, int ndims, const int *dims, bool keepdim);
tg_tensor *tg_k_mean(tg_tensor *t, int ndims, const int *dims, bool keepdim);
/* Variance with Bessel's correction when unbiased (torch.var's default). */
tg_tensor *tg_k_var(tg_tensor *t, int ndims, const int *dims, bool unbiased, bool keepdim);
tg_tensor *tg_k_amax(tg_tensor *t, int ndims, const int *dims, bool keepdim);
tg_tensor *tg_k_amin(tg_tensor *t, int ndims, const int *dims, bool keepdim);
/* int64 index of the first maximum (minimum) along dim. */
tg_tensor *tg_k_argmax(tg_tensor *t, int dim, bool keepdim);
tg_tensor *tg_k_argmin(tg_tensor *t, int dim, bool keepdim);

tg_tensor *tg_k_softmax(tg_tensor *t, int dim);
tg_tensor *tg_k_log_softmax(tg_tensor *t, int dim);

#endif

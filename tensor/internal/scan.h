/* Along-a-dimension kernels that keep the shape (tensor/scan.c): the
 * cumulative sum and the triangular masks of matrices. Internal to the
 * library; the differentiable ops are in autograd/ops.h. */
#ifndef TG_SCAN_H
#define TG_SCAN_H

#include "tensor/tensor.h"

/* The running sum of float32 t along dim, summed in double as PyTorch's
 * CPU kernel does; reverse: from the end (the gradient of cumsum). A new
 * contiguous tensor, or NULL with an error. */
tg_tensor *tg_k_cumsum(tg_tensor *t, int dim, bool reverse);

/* t's matrices (its last two dims) with the elements above diagonal k
 * (col - row > k; upper: below it, col - row < k) set to 0, as torch.tril
 * (torch.triu). t must have 2 dims or more. A new contiguous tensor, or
 * NULL with an error. */
tg_tensor *tg_k_triangle(tg_tensor *t, int64_t k, bool upper);

#endif

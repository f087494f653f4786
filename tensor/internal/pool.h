/* 2-D pooling kernels over (N,C,H,W) float32 tensors, and their gradients.
 *
 * Raw, non-differentiable forms (autograd/ops_pool.c wraps them). Each of
 * the N C planes is computed by one thread, so results (gradients
 * included) do not depend on the thread count. Inputs may have any
 * strides; outputs are new contiguous tensors. */
#ifndef TG_POOL_H
#define TG_POOL_H

#include "tensor/options.h"
#include "tensor/tensor.h"

/* The window is a tg_pool2d_opts, its zeros filled with PyTorch's defaults
 * (stride: the kernel; dilation: 1). The output size is
 * (in + 2 padding - dilation (kernel - 1) - 1) / stride + 1, rounded up
 * with ceil_mode, less one if the last window would start past the input
 * and its left padding (PyTorch's rule). */

/* Max over each window, padding counting as -inf; a NaN wins. If indices
 * is not NULL it gets the int64 (N,C,H',W') flat index h W + w of each
 * window's first maximum in its plane. A window that dilation leaves with
 * no input element gives -inf, as PyTorch, and index -1 (no gradient;
 * PyTorch's points past the plane). */
tg_tensor *tg_k_max_pool2d(tg_tensor *x, tg_pool2d_opts opts, tg_tensor **indices);
/* Routes grad (N,C,H',W') to the indices, into a zero (N,C,in_h,in_w). */
tg_tensor *tg_k_max_pool2d_backward(tg_tensor *grad, tg_tensor *indices, int64_t in_h, int64_t in_w);

/* Mean over each window: the divisor counts the padding inside the padded
 * input if count_include_pad, else only the input elements (PyTorch's
 * avg_pool2d). */
tg_tensor *tg_k_avg_pool2d(tg_tensor *x, tg_pool2d_opts opts);
tg_tensor *tg_k_avg_pool2d_backward(tg_tensor *grad, tg_pool2d_opts opts, int64_t in_h, int64_t in_w);

/* Mean over windows [floor(i in / out), ceil((i + 1) in / out)) per dim,
 * as torch's adaptive_avg_pool2d. */
tg_tensor *tg_k_adaptive_avg_pool2d(tg_tensor *x, int64_t out_h, int64_t out_w);
tg_tensor *tg_k_adaptive_avg_pool2d_backward(tg_tensor *grad, int64_t in_h, int64_t in_w);

#endif

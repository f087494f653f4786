/* 2-D convolution kernels (float32, NCHW): forward, and the gradients of
 * the input, the weight and the bias.
 *
 * Raw, non-differentiable forms (autograd/ops_conv.c wraps them as
 * tg_conv2d). The same arithmetic as torch.nn.functional.conv2d: x
 * (N,C,H,W), w (O,C/groups,kh,kw), bias (O) or NULL, out (N,O,H',W') with
 * H' = (H + 2 ph - dh (kh - 1) - 1) / sh + 1 (floor), and W' alike.
 *
 * Each is a GEMM per group on a column buffer (im2col; col2im for the input
 * gradient) holding a block of images; a 1x1, stride-1, unpadded kernel on
 * images big enough to fill a GEMM by themselves uses the tensors' memory
 * directly, with no column buffer. Results are bitwise identical whatever
 * the thread count. Inputs may have any strides (a contiguous copy is made
 * only when needed); outputs are new contiguous tensors. */
#ifndef TG_CONV_H
#define TG_CONV_H

#include "tensor/options.h"
#include "tensor/tensor.h"

/* The output of conv2d, or NULL with an error such as
 * "conv2d: input has 4 channels, weight expects 3 (groups 1)". */
tg_tensor *tg_k_conv2d(tg_tensor *x, tg_tensor *w, tg_tensor *bias, tg_conv2d_opts opts);

/* dL/dx (x_shape, the forward's input shape) from g = dL/dout and w. */
tg_tensor *tg_k_conv2d_backward_input(tg_tensor *g, tg_tensor *w, const int64_t *x_shape, tg_conv2d_opts opts);

/* dL/dw (w_shape, the forward's weight shape) from g = dL/dout and x. */
tg_tensor *tg_k_conv2d_backward_weight(tg_tensor *g, tg_tensor *x, const int64_t *w_shape, tg_conv2d_opts opts);

/* dL/dbias from g (N,O,H',W'): g summed over N, H' and W', shape (O). */
tg_tensor *tg_k_conv2d_backward_bias(tg_tensor *g);

/* The transposed convolution (tensor/conv_transpose.c): x (N,C_in,H,W), w
 * (C_in,C_out/groups,kh,kw), bias (C_out) or NULL; NULL opts: the
 * defaults. Its gradients: of the input (x_shape) from g = dL/dout, of the
 * weight (w's shape) from g and x; the bias's is tg_k_conv2d_backward_bias. */
tg_tensor *tg_k_conv_transpose2d(tg_tensor *x, tg_tensor *w, tg_tensor *bias, const tg_conv_transpose2d_opts *opts);
tg_tensor *tg_k_conv_transpose2d_backward_input(tg_tensor *g, tg_tensor *w, const int64_t *x_shape,
                                                const tg_conv_transpose2d_opts *opts);
tg_tensor *tg_k_conv_transpose2d_backward_weight(tg_tensor *g, tg_tensor *x, const int64_t *w_shape,
                                                 const tg_conv_transpose2d_opts *opts);

#endif

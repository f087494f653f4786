/* Resampling and padding kernels: nearest and bilinear resize of (N,C,H,W) images and
 * constant padding, with the gradient kernels of the resize.
 *
 * Raw, non-differentiable forms (autograd/ops_nn.c wraps them), with the
 * meaning of torch.nn.functional.interpolate(mode='bilinear') and F.pad.
 * Inputs are float32 of any strides; outputs are new contiguous tensors. */
#ifndef TG_RESAMPLE_H
#define TG_RESAMPLE_H

#include "tensor/tensor.h"

/* How a resize maps output pixels to input ones: nearest (PyTorch's
 * legacy 'nearest': floor(dst scale)) or bilinear, align_corners for
 * bilinear, and the scale factors when the caller gave them (0: none;
 * given, the source coordinates use 1 / factor as PyTorch does, not
 * in / out). */
typedef struct {
    bool nearest, align_corners;
    double scale_h, scale_w;
} tg_resize;

/* x (N,C,H,W) resized to (N,C,out_h,out_w) as r says, and the gradient of
 * that resize (g scattered back onto (N,C,in_h,in_w), one thread a plane). */
tg_tensor *tg_k_resize(tg_tensor *x, int64_t out_h, int64_t out_w, const tg_resize *r);
tg_tensor *tg_k_resize_backward(tg_tensor *g, int64_t in_h, int64_t in_w, const tg_resize *r);

/* x (N,C,H,W) resized to (N,C,out_h,out_w). align_corners maps the corner
 * pixels' centres onto each other (scale (in-1)/(out-1), 0 when out == 1);
 * without it source = (dst + 0.5) * in/out - 0.5, clamped at 0, as PyTorch.
 * Output rows are split over threads. */
tg_tensor *tg_k_upsample_bilinear(tg_tensor *x, int64_t out_h, int64_t out_w, bool align_corners);
/* The gradient of that resize: g (N,C,out_h,out_w) scattered back onto
 * (N,C,in_h,in_w) with the forward's weights. Each (n, c) plane is summed
 * by one thread in a fixed order, so the bits do not depend on the thread
 * count. */
tg_tensor *tg_k_upsample_bilinear_backward(tg_tensor *g, int64_t in_h, int64_t in_w, bool align_corners);

/* x padded with value, as F.pad(mode='constant'): pads holds npads/2
 * (before, after) pairs, the first for the last dim, the next for the one
 * before it, and so on. Negative pads crop. float32 or int64 (value is
 * converted). */
tg_tensor *tg_k_pad(tg_tensor *x, int npads, const int64_t *pads, double value);

#endif

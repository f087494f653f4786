/* Padding from a tensor's own edges (tensor/pad_edges.c): reflect,
 * replicate and circular, as F.pad's modes. Internal to the library; the
 * differentiable op is in autograd/ops.h. */
#ifndef TG_PAD_EDGES_H
#define TG_PAD_EDGES_H

#include "tensor/options.h"
#include "tensor/tensor.h"

/* x padded as F.pad(x, pads, mode): pads lists (before, after) pairs from
 * the last dim backwards, npads = 2 x the padded dims, each >= 0 (reflect
 * also below the dim's size, circular at most it). NULL with an error. */
tg_tensor *tg_k_pad_edges(tg_tensor *x, int npads, const int64_t *pads, tg_pad_mode mode);

/* The gradient of that padding for dL/dy = g: x's shape (ndim, shape),
 * each input element summing the output elements taken from it. */
tg_tensor *tg_k_pad_edges_backward(tg_tensor *g, int ndim, const int64_t *shape, int npads, const int64_t *pads,
                                   tg_pad_mode mode);

#endif

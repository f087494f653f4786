/* Gradient clipping, as torch.nn.utils does it: by the norm of all the
 * gradients taken as one vector, or elementwise by value. Parameters
 * without a gradient are skipped; the gradients change in place. */
#ifndef TG_CLIP_H
#define TG_CLIP_H

#include <stdbool.h>

#include "nn/tensor_list.h"
#include "tensor/export.h"

/* torch.nn.utils.clip_grad_norm_: the norm of order norm_type (p > 0, or
 * INFINITY for the largest |g|) of every gradient of params as one vector,
 * into *total_norm (NULL: not wanted); where max_norm / (norm + 1e-6) is
 * below 1, every gradient is multiplied by it. error_if_nonfinite: a NaN
 * or infinite norm is an error and nothing changes; otherwise the
 * gradients are scaled by it as PyTorch scales them. 0 or -1. */
TG_API int tg_clip_grad_norm_(const tg_tensor_list *params, double max_norm, double norm_type,
                              bool error_if_nonfinite, double *total_norm);

/* torch.nn.utils.clip_grad_value_: every gradient of params clamped to
 * [-clip_value, clip_value] (clip_value >= 0). 0 or -1. */
TG_API int tg_clip_grad_value_(const tg_tensor_list *params, double clip_value);

#endif

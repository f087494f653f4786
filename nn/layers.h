/* The standard layers, as torch.nn: each returns a module (see module.h)
 * with PyTorch's parameter and buffer names and default initialisation,
 * drawn from the rng given. NULL with error on bad arguments. */
#ifndef TG_LAYERS_H
#define TG_LAYERS_H

#include "nn/module.h"
#include "tensor/export.h"

/* weight (out, in/groups, kh, kw), bias (out) when bias is set. */
TG_API tg_module *tg_nn_conv2d(int64_t in, int64_t out, int kh, int kw, tg_conv2d_opts opts, bool bias, tg_rng *rng);
/* Batch norm options; zeros mean PyTorch's defaults (eps 1e-5, momentum
 * 0.1). groups > 1: split batch norm in training (statistics per
 * sub-batch, as MoCo's shuffle BN on one device). */
typedef struct tg_batch_norm_opts {
    float eps;
    float momentum;
    int groups;
} tg_batch_norm_opts;
/* weight, bias (affine), running_mean, running_var, num_batches_tracked;
 * opts NULL: the defaults. BatchNorm2d takes (N,C,H,W) only, BatchNorm1d
 * (N,C) or (N,C,L), as PyTorch. */
TG_API tg_module *tg_nn_batch_norm2d(int64_t channels, const tg_batch_norm_opts *opts);
TG_API tg_module *tg_nn_batch_norm1d(int64_t channels, const tg_batch_norm_opts *opts);
/* A BatchNorm2d's forward followed by a relu as one op
 * (tg_batch_norm_relu), and with residual added before the relu
 * (tg_batch_norm_add_relu): the same values, gradients and updates of the
 * running statistics as tg_module_forward then tg_relu (after tg_add).
 * bn must be a tg_nn_batch_norm2d module. */
TG_API tg_tensor *tg_nn_batch_norm2d_relu_forward(tg_module *bn, tg_tensor *x);
TG_API tg_tensor *tg_nn_batch_norm2d_add_relu_forward(tg_module *bn, tg_tensor *x, tg_tensor *residual);
/* weight (out, in), bias (out) when bias is set. */
TG_API tg_module *tg_nn_linear(int64_t in, int64_t out, bool bias, tg_rng *rng);
TG_API tg_module *tg_nn_relu(bool inplace);
TG_API tg_module *tg_nn_max_pool2d(tg_pool2d_opts opts);
TG_API tg_module *tg_nn_adaptive_avg_pool2d(int64_t out_h, int64_t out_w);
/* The mask stream is the module's own, seeded here: the same seed gives
 * the same masks. */
TG_API tg_module *tg_nn_dropout(float p, uint64_t seed);
TG_API tg_module *tg_nn_dropout2d(float p, uint64_t seed);
/* (N, ...) -> (N, product of the rest), as torch.nn.Flatten(). */
TG_API tg_module *tg_nn_flatten(void);
/* Children named "0", "1", ... run in order. */
TG_API tg_module *tg_nn_sequential(void);
/* Appends child (taken) to a sequential module. */
TG_API int tg_nn_sequential_append(tg_module *seq, tg_module *child);

/* A Dropout's RNG state, for checkpoints (NULL for modules without one;
 * NULL with an error for a NULL module). */
TG_API tg_rng *tg_nn_module_rng(tg_module *m);

#endif

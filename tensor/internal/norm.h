/* Batch normalisation kernels over (N,C,...) tensors, per channel.
 *
 * Raw, non-differentiable forms (autograd/ops_norm.c wraps them into
 * tg_batch_norm, tg_batch_norm_relu and tg_batch_norm_add_relu).
 * Statistics are kept per group: a (G,C) tensor whose row g belongs to the
 * g-th of G sub-batches of N/G consecutive samples; a (C) tensor is one
 * group. Each channel's sums run on one thread in a fixed order with
 * double accumulators, so results do not depend on the thread count.
 * Inputs may have any strides. */
#ifndef TG_NORM_H
#define TG_NORM_H

#include "tensor/tensor.h"

/* Biased mean and variance of each channel of x over each of groups
 * sub-batches: *mean and *var get new (groups, C) tensors. One pass per
 * channel: the sums of d = x - x0 and of d^2 (x0 the group's first value
 * of the channel), whence mean = x0 + E[d] and var = E[d^2] - E[d]^2. Fails
 * unless groups divides N and each group has more than one value per
 * channel. */
int tg_k_batch_norm_stats(tg_tensor *x, int groups, tg_tensor **mean, tg_tensor **var);

/* y = (x - mean) / sqrt(var + eps) * weight + bias, channel by channel;
 * mean and var are (C) or (G,C) (sample n uses row n / (N/G)); weight and
 * bias are (C) or NULL (1 and 0). */
tg_tensor *tg_k_batch_norm_apply(tg_tensor *x, tg_tensor *mean, tg_tensor *var, tg_tensor *weight,
                                 tg_tensor *bias, float eps);

/* relu(y + residual) for y = tg_k_batch_norm_apply(x, ...) in one pass:
 * the same values bit for bit (relu keeps NaN). residual is float32 of x's
 * shape, or NULL (nothing added). */
tg_tensor *tg_k_batch_norm_relu(tg_tensor *x, tg_tensor *residual, tg_tensor *mean, tg_tensor *var,
                                tg_tensor *weight, tg_tensor *bias, float eps);

/* running = (1 - momentum) running + momentum stat, for the running (C)
 * statistics, where stat is the mean over the groups of mean (G,C), or of
 * the unbiased variance var * count / (count - 1) (count: values per
 * channel in a group), as PyTorch's BatchNorm (and MoCo's SplitBatchNorm
 * for G > 1). Computed in double; bumps both versions. */
int tg_k_batch_norm_update_(tg_tensor *running_mean, tg_tensor *running_var, tg_tensor *mean, tg_tensor *var,
                            int64_t count, float momentum);

/* Gradients of tg_k_batch_norm_apply for dL/dy = g, in closed form.
 * batch_stats: mean and var are x's own (G,C) statistics (training), so
 *   dx = w invstd (g - sum(g)/m - xhat sum(g xhat)/m) over each group's m
 *   values per channel; else they are constants and dx = g w invstd.
 * dweight = sum(g xhat), dbias = sum(g) over all of N and the spatial
 * dims. Each of dx, dweight, dbias may be NULL (not wanted); the others get
 * new tensors. Two passes over g and x. */
int tg_k_batch_norm_backward(tg_tensor *g, tg_tensor *x, tg_tensor *mean, tg_tensor *var, tg_tensor *weight,
                             float eps, bool batch_stats, tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias);

/* A batch spread over several processes (SyncBN): between a backward's
 * sums over this part and its dx, reduce turns sums (per channel, C sums
 * of g, then C of g (x - mean)) into the whole batch's, in place. 0, or
 * -1 with an error. */
typedef struct tg_k_bn_spread {
    int (*reduce)(double *sums, int64_t channels, void *ctx);
    void *ctx;
    double count; /* values per channel in the whole batch */
} tg_k_bn_spread;
/* tg_k_batch_norm_backward with batch statistics of one group for a part
 * x of a spread batch: mean and var are the whole batch's, dweight and
 * dbias this part's sums, dx from the whole batch's sums (spread). */
int tg_k_batch_norm_backward_spread(tg_tensor *g, tg_tensor *x, tg_tensor *mean, tg_tensor *var, tg_tensor *weight,
                                    float eps, const tg_k_bn_spread *spread, tg_tensor **dx, tg_tensor **dweight,
                                    tg_tensor **dbias);

/* Gradients of tg_k_batch_norm_relu for dL/dy = g, without y: the relu's
 * mask (y > 0, or NaN) is recomputed from x and residual by the code that
 * computes the forward's values, so it matches them bit for bit, and g
 * masked by it (g where it passed, else 0) goes through
 * tg_k_batch_norm_backward's formulas, with the same results; dresidual
 * is that masked g, set only with a residual. bias is needed for the mask.
 * Two passes over g and x (and residual). */
int tg_k_batch_norm_relu_backward(tg_tensor *g, tg_tensor *x, tg_tensor *residual, tg_tensor *mean, tg_tensor *var,
                                  tg_tensor *weight, tg_tensor *bias, float eps, bool batch_stats, tg_tensor **dx,
                                  tg_tensor **dweight, tg_tensor **dbias, tg_tensor **dresidual);

#endif

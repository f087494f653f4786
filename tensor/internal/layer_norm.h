/* Layer normalisation and RMS normalisation over the last dims of a
 * tensor, and group normalisation over groups of channels
 * (tensor/layer_norm.c): rows of d values (d the product of the
 * normalised dims, or a group's channels' values), each normalised by its
 * own statistics, then scaled by weight and shifted by bias (per value of
 * the normalised dims, or per channel; or NULL). Internal to the
 * library; the differentiable ops are in autograd/ops.h. */
#ifndef TG_LAYER_NORM_H
#define TG_LAYER_NORM_H

#include "tensor/tensor.h"

/* y = (x - mean) rstd w + b per row (rms: y = x rstd w, rstd =
 * 1 / sqrt(mean(x^2) + eps), no mean, no bias). ndim: how many trailing
 * dims are normalised together. Returns y; *mean and *rstd (rows of x's
 * leading dims; mean NULL for rms) are kept for the backward when those
 * pointers are not NULL. NULL with an error. */
tg_tensor *tg_k_layer_norm(tg_tensor *x, int ndim, tg_tensor *weight, tg_tensor *bias, float eps, bool rms,
                           tg_tensor **mean, tg_tensor **rstd);

/* The gradients of tg_k_layer_norm for dL/dy = g: *dx, *dweight, *dbias
 * (each pointer NULL when not wanted). mean is NULL for rms. 0 or -1. */
int tg_k_layer_norm_backward(tg_tensor *g, tg_tensor *x, int ndim, tg_tensor *weight, tg_tensor *mean,
                             tg_tensor *rstd, bool rms, tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias);

/* Group normalisation of x (N, C, *) in groups of C / groups channels:
 * each (sample, group)'s values normalised by their own mean and biased
 * variance, then weight and bias (C) per channel. *mean and *rstd: (N
 * groups). NULL with an error. */
tg_tensor *tg_k_group_norm(tg_tensor *x, int64_t groups, tg_tensor *weight, tg_tensor *bias, float eps,
                           tg_tensor **mean, tg_tensor **rstd);
int tg_k_group_norm_backward(tg_tensor *g, tg_tensor *x, int64_t groups, tg_tensor *weight, tg_tensor *mean,
                             tg_tensor *rstd, tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias);

#endif

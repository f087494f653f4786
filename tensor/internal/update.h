/* Fused parameter-update kernels for the optimizers in nn/optim.c and
 * MoCo's momentum encoder: one pass over a parameter, its gradient (or
 * source) and its state, in place. All tensors of a call must be
 * contiguous float32 of one shape. */
#ifndef TG_UPDATE_H
#define TG_UPDATE_H

#include "tensor/tensor.h"

/* torch.optim.SGD for one parameter. g' = g + weight_decay p; with momentum,
 * buf = g' on the first step (first) else momentum buf + (1 - dampening) g',
 * and g' = nesterov ? g' + momentum buf : buf; then p -= lr g'.
 * buf may be NULL when momentum is 0. */
int tg_k_sgd_update_(tg_tensor *p, tg_tensor *g, tg_tensor *buf, double lr, double momentum, double dampening,
                     double weight_decay, bool nesterov, bool first);

/* Adam's settings for one update; step counts from 1. decoupled: AdamW's
 * weight decay (p *= 1 - lr weight_decay before the update) instead of
 * Adam's (weight_decay p added to the gradient). */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    bool decoupled;
    int64_t step;
} tg_adam_step;

/* torch.optim.Adam or AdamW for one parameter, in torch's order of
 * operations: m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2,
 * with AMSGrad (vmax not NULL) vmax = max(vmax, v) used for v, then
 * p -= lr / (1 - beta1^step) m / (sqrt(v) / sqrt(1 - beta2^step) + eps). */
int tg_k_adam_update_(tg_tensor *p, tg_tensor *g, tg_tensor *m, tg_tensor *v, tg_tensor *vmax, tg_adam_step a);

/* RMSprop's settings for one update. */
typedef struct {
    double lr, alpha, eps, weight_decay, momentum;
} tg_rmsprop_step;

/* torch.optim.RMSprop for one parameter: g += weight_decay p; sq = alpha
 * sq + (1 - alpha) g^2; centred (avg not NULL): avg = alpha avg + (1 -
 * alpha) g, d = sqrt(sq - avg^2) + eps, else d = sqrt(sq) + eps; with
 * momentum (buf not NULL) buf = momentum buf + g / d, p -= lr buf, else
 * p -= lr g / d. */
int tg_k_rmsprop_update_(tg_tensor *p, tg_tensor *g, tg_tensor *sq, tg_tensor *avg, tg_tensor *buf,
                         tg_rmsprop_step r);

/* MoCo's momentum (exponential moving average) update of a key encoder's
 * parameter from the query's: k = momentum k + (1 - momentum) q, in
 * float32 as PyTorch computes it (two products, one sum). */
int tg_k_momentum_update_(tg_tensor *k, tg_tensor *q, double momentum);

#endif

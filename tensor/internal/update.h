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

/* torch.optim.AdamW for one parameter at step (1-based): p *= 1 - lr wd;
 * m, v updated; p -= lr / (1 - beta1^step) m / (sqrt(v / (1 - beta2^step)) + eps). */
int tg_k_adamw_update_(tg_tensor *p, tg_tensor *g, tg_tensor *m, tg_tensor *v, double lr, double beta1,
                       double beta2, double eps, double weight_decay, int64_t step);

/* MoCo's momentum (exponential moving average) update of a key encoder's
 * parameter from the query's: k = momentum k + (1 - momentum) q, in
 * float32 as PyTorch computes it (two products, one sum). */
int tg_k_momentum_update_(tg_tensor *k, tg_tensor *q, double momentum);

#endif

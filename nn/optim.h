/* Optimizers: SGD (momentum, dampening, Nesterov, weight decay) and AdamW,
 * with PyTorch's update rules. An optimizer keeps references to the
 * parameters it was given (with their names, for its state) and its own
 * state per parameter; parameters without a gradient are skipped. */
#ifndef TG_OPTIM_H
#define TG_OPTIM_H

#include "nn/tensor_list.h"
#include "tensor/export.h"

typedef struct tg_optimizer tg_optimizer;

typedef struct tg_sgd_opts {
    double lr, momentum, dampening, weight_decay;
    bool nesterov;
} tg_sgd_opts;

typedef struct tg_adamw_opts {
    double lr, beta1, beta2, eps, weight_decay; /* torch defaults: 1e-3, 0.9, 0.999, 1e-8, 1e-2 */
} tg_adamw_opts;

/* Optimizers over the named parameters params (retained): PyTorch's SGD and
 * AdamW. NULL with an error on bad options. */
TG_API tg_optimizer *tg_sgd_new(const tg_tensor_list *params, tg_sgd_opts opts);
TG_API tg_optimizer *tg_adamw_new(const tg_tensor_list *params, tg_adamw_opts opts);
TG_API void tg_optimizer_free(tg_optimizer *o); /* NULL is fine */

/* One update of every parameter that has a gradient. */
TG_API int tg_optimizer_step(tg_optimizer *o);
TG_API void tg_optimizer_zero_grad(tg_optimizer *o);
TG_API void tg_optimizer_set_lr(tg_optimizer *o, double lr);
TG_API double tg_optimizer_lr(const tg_optimizer *o);

/* The state, as named tensors appended to out (retained):
 * "<param>.momentum_buffer" (SGD), "<param>.exp_avg", "<param>.exp_avg_sq"
 * and "<param>.step" (AdamW; int64, 0-dim). */
TG_API int tg_optimizer_state(const tg_optimizer *o, tg_tensor_list *out);
/* Restores state saved by tg_optimizer_state (values are copied). Keys
 * that name no parameter of this optimizer, or do not match its shape, are
 * an error, found before anything is changed. */
TG_API int tg_optimizer_load_state(tg_optimizer *o, const tg_tensor_list *state);

#endif

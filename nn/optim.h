/* Optimizers: SGD (momentum, dampening, Nesterov, weight decay), Adam,
 * AdamW (both with AMSGrad) and RMSprop (momentum, centred), with
 * PyTorch's update rules. An optimizer keeps references to the
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

/* Adam's and AdamW's options (PyTorch's names); tg_adam_default_opts and
 * tg_adamw_default_opts give PyTorch's defaults. amsgrad keeps the running
 * maximum of the second moment and divides by it. */
typedef struct tg_adam_opts {
    double lr, beta1, beta2, eps, weight_decay; /* torch: 1e-3, 0.9, 0.999, 1e-8, 0 (Adam) or 1e-2 (AdamW) */
    bool amsgrad;
} tg_adam_opts;
typedef tg_adam_opts tg_adamw_opts;

/* RMSprop's options (PyTorch's names); tg_rmsprop_default_opts gives
 * PyTorch's defaults. centered divides by the gradient's running variance
 * instead of its running second moment. */
typedef struct tg_rmsprop_opts {
    double lr, alpha, eps, weight_decay, momentum; /* torch: 1e-2, 0.99, 1e-8, 0, 0 */
    bool centered;
} tg_rmsprop_opts;

/* PyTorch's defaults for each optimizer's options. */
TG_API tg_adam_opts tg_adam_default_opts(void);
TG_API tg_adamw_opts tg_adamw_default_opts(void);
TG_API tg_rmsprop_opts tg_rmsprop_default_opts(void);

/* Optimizers over the named parameters params (retained): PyTorch's SGD,
 * Adam (weight decay added to the gradient), AdamW (weight decay applied
 * to the parameter) and RMSprop. NULL with an error on bad options. */
TG_API tg_optimizer *tg_sgd_new(const tg_tensor_list *params, tg_sgd_opts opts);
TG_API tg_optimizer *tg_adam_new(const tg_tensor_list *params, tg_adam_opts opts);
TG_API tg_optimizer *tg_adamw_new(const tg_tensor_list *params, tg_adamw_opts opts);
TG_API tg_optimizer *tg_rmsprop_new(const tg_tensor_list *params, tg_rmsprop_opts opts);
TG_API void tg_optimizer_free(tg_optimizer *o); /* NULL is fine */

/* One update of every parameter that has a gradient. */
TG_API int tg_optimizer_step(tg_optimizer *o);
TG_API void tg_optimizer_zero_grad(tg_optimizer *o);
TG_API void tg_optimizer_set_lr(tg_optimizer *o, double lr);
TG_API double tg_optimizer_lr(const tg_optimizer *o);

/* The state, as named tensors appended to out (retained), with PyTorch's
 * names: "<param>.momentum_buffer" (SGD); "<param>.exp_avg",
 * "<param>.exp_avg_sq", "<param>.max_exp_avg_sq" (AMSGrad) (Adam, AdamW);
 * "<param>.square_avg", "<param>.momentum_buffer" (with momentum),
 * "<param>.grad_avg" (centred) (RMSprop); and "<param>.step" (all but SGD;
 * int64, 0-dim). */
TG_API int tg_optimizer_state(const tg_optimizer *o, tg_tensor_list *out);
/* Restores state saved by tg_optimizer_state (values are copied). Keys
 * that name no parameter of this optimizer, or do not match its shape, are
 * an error, found before anything is changed. */
TG_API int tg_optimizer_load_state(tg_optimizer *o, const tg_tensor_list *state);

#endif

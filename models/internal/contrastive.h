/* What the files of the contrastive model share (internal to models/):
 * the module struct, and the steps contrastive.c offers the training step
 * in contrastive_step.c. */
#ifndef TG_CONTRASTIVE_IMPL_H
#define TG_CONTRASTIVE_IMPL_H

#include "models/contrastive.h"

typedef struct {
    tg_module base;
    tg_contrastive_config cfg; /* with hidden and dim resolved */
    /* the two encoders' parameters in one order, for the momentum update */
    tg_tensor_list params_q, params_k;
} contrastive_module;

/* m as a contrastive model, or NULL with error naming op. */
contrastive_module *tg_contrastive_cast(const char *op, const tg_module *m);
/* theta_k = m theta_k + (1 - m) theta_q over every parameter. */
int tg_contrastive_momentum_update(contrastive_module *c);
/* Writes g_k (and p_k, DenseCL) into the queues at the pointer, which
 * advances by their rows modulo K. */
int tg_contrastive_enqueue(contrastive_module *c, tg_tensor *g_k, tg_tensor *p_k);

#endif

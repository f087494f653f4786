/* What the files of the contrastive model share (internal to models/):
 * the module struct, the steps contrastive.c offers the training step in
 * contrastive_step.c, and what contrastive_ranks.c does across ranks. */
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

/* ---- across the ranks of a job (contrastive_ranks.c) ---- */

/* Every rank's t (n, ...) stacked in rank order as (n x ranks, ...), held
 * by the open scope; t itself with one rank. NULL with an error. */
tg_tensor *tg_contrastive_gather(tg_tensor *t);
/* perm (n) becomes rank 0's. 0 or -1. */
int tg_contrastive_share_perm(int64_t *perm, int64_t n);
/* v (n numbers) becomes their sums over the ranks (in float32). 0 or -1. */
int tg_contrastive_sum_over_ranks(double *v, int n);

#endif

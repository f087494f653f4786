/* Scaled dot-product attention (tensor/attention.c), blocked as flash
 * attention is: the (L, S) weights are never stored, the forward keeps
 * each query row's log-sum-exp and the backward recomputes the weights
 * from it. Internal to the library; the differentiable op is in
 * autograd/ops.h. */
#ifndef TG_ATTENTION_H
#define TG_ATTENTION_H

#include "tensor/rng.h"
#include "tensor/tensor.h"

/* What one call attends with. mask: float32 (added to the scores) or
 * int64 (nonzero: the pair takes part), broadcast to (..., L, S), or NULL;
 * causal: query i sees keys j <= i; scale: the scores' factor (0 means
 * 1 / sqrt(E)); dropout: the probability of dropping a weight, its mask
 * element (b, i, j) being uniform number (b L + i) S + j of rng's state
 * (the same in forward and backward). */
typedef struct {
    tg_tensor *mask;
    bool causal;
    float scale, dropout;
    tg_rng rng;
} tg_attention_spec;

/* softmax(q k^T scale + mask) v for q (..., L, E), k (..., S, E), v (...,
 * S, Ev), the leading dims alike: (..., L, Ev). *lse (when not NULL): each
 * query row's log-sum-exp, (..., L), for the backward. NULL with an
 * error. */
tg_tensor *tg_k_attention(tg_tensor *q, tg_tensor *k, tg_tensor *v, const tg_attention_spec *spec, tg_tensor **lse);

/* The gradients of q, k and v (each pointer NULL when not wanted) for
 * dL/dout = g, from the forward's out and lse. 0 or -1. */
int tg_k_attention_backward(tg_tensor *g, tg_tensor *q, tg_tensor *k, tg_tensor *v, tg_tensor *out, tg_tensor *lse,
                            const tg_attention_spec *spec, tg_tensor **dq, tg_tensor **dk, tg_tensor **dv);

#endif

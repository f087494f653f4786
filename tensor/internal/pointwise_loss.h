/* Elementwise losses (tensor/pointwise_loss.c): each element's loss of an
 * input a against a target b, and its gradients, before any reduction
 * (the autograd ops reduce with sum or mean). Internal to the library;
 * the differentiable ops are in autograd/ops.h. */
#ifndef TG_POINTWISE_LOSS_H
#define TG_POINTWISE_LOSS_H

#include "tensor/tensor.h"

/* The losses, with the parameter p each takes; c is a third operand, or
 * NULL where the loss has none. */
typedef enum {
    TG_LOSS_L1,         /* |a - b| */
    TG_LOSS_SMOOTH_L1,  /* |d| < p ? d^2 / (2 p) : |d| - p / 2, d = a - b (p: beta) */
    TG_LOSS_HUBER,      /* |d| < p ? d^2 / 2 : p (|d| - p / 2) (p: delta) */
    TG_LOSS_BCE_LOGITS, /* (1 - b) a + w softplus(-a), w = (c - 1) b + 1 (c: pos_weight, or 1) */
    TG_LOSS_KL_DIV,     /* b (log b - a), 0 where b = 0 (a: log-probabilities); b's gradient NaN there */
    TG_LOSS_KL_DIV_LOG, /* exp(b) (b - a) (b: log-probabilities too) */
} tg_pointwise_loss;

/* The loss of each element of a, b and c broadcast together. NULL with an
 * error naming op. */
tg_tensor *tg_k_pointwise_loss(const char *op, tg_pointwise_loss loss, tg_tensor *a, tg_tensor *b, tg_tensor *c,
                               float p);

/* g times the derivative of the loss by a (wrt 0) or by b (wrt 1), in the
 * broadcast shape. NULL with an error naming op. */
tg_tensor *tg_k_pointwise_loss_backward(const char *op, tg_pointwise_loss loss, int wrt, tg_tensor *g, tg_tensor *a,
                                        tg_tensor *b, tg_tensor *c, float p);

#endif

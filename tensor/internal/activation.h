/* Activation kernels (tensor/activation.c): elementwise, float32, any
 * shape and strides, with gradients that read the op's input. Internal to
 * the library; the differentiable ops are in autograd/ops.h. */
#ifndef TG_ACTIVATION_H
#define TG_ACTIVATION_H

#include "tensor/tensor.h"

/* The activations, with the parameters (p0, p1) each takes. */
typedef enum {
    TG_ACT_GELU,        /* x Phi(x), Phi the normal CDF (erf) */
    TG_ACT_GELU_TANH,   /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    TG_ACT_SILU,        /* x sigmoid(x) */
    TG_ACT_LEAKY_RELU,  /* x > 0 ? x : p0 x (p0: negative_slope) */
    TG_ACT_ELU,         /* x > 0 ? x : p0 (exp(x) - 1) (p0: alpha) */
    TG_ACT_SOFTPLUS,    /* p0 x > p1 ? x : log(1 + exp(p0 x)) / p0 (beta, threshold) */
    TG_ACT_LOG_SIGMOID, /* log(sigmoid(x)) */
    TG_ACT_ERF,
    TG_ACT_SIN,
    TG_ACT_COS,
} tg_activation;

/* act(x), a new tensor of x's shape. NULL with an error. */
tg_tensor *tg_k_activation(tg_tensor *x, tg_activation act, float p0, float p1);

/* g act'(x), g and x of one shape (or broadcasting). NULL with an error. */
tg_tensor *tg_k_activation_backward(tg_tensor *g, tg_tensor *x, tg_activation act, float p0, float p1);

#endif

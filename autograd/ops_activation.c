/* Differentiable activations (GELU, SiLU, leaky ReLU, ELU, softplus,
 * log-sigmoid, erf, sin, cos): each saves its input, and one backward,
 * tensor/activation.c's gradient kernel, serves them all. */
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/activation.h"

/* What a node keeps: the activation and its parameters. */
typedef struct {
    tg_activation act;
    float p0, p1;
} act_args;

/* saved: x */
static int activation_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const act_args *a = (const act_args *)n->ctx;
    tg_tensor *x = tg_node_saved(n, 0);
    return x && (grads[0] = tg_k_activation_backward(g, x, a->act, a->p0, a->p1)) ? 0 : -1;
}

static tg_tensor *activation(const char *name, tg_tensor *x, tg_activation act, float p0, float p1)
{
    act_args a = {act, p0, p1};
    return tg_recorded(tg_k_activation(x, act, p0, p1), name, activation_backward, 1, &x, 1, &x, &a, sizeof a);
}

tg_tensor *tg_gelu(tg_tensor *t, tg_gelu_approximate approximate)
{
    if (approximate != TG_GELU_EXACT && approximate != TG_GELU_TANH) {
        TG_FAIL("gelu: approximate is %d, neither TG_GELU_EXACT nor TG_GELU_TANH", (int)approximate);
        return NULL;
    }
    return activation("gelu", t, approximate == TG_GELU_TANH ? TG_ACT_GELU_TANH : TG_ACT_GELU, 0, 0);
}

tg_tensor *tg_silu(tg_tensor *t) { return activation("silu", t, TG_ACT_SILU, 0, 0); }

tg_tensor *tg_leaky_relu(tg_tensor *t, float negative_slope)
{
    return activation("leaky_relu", t, TG_ACT_LEAKY_RELU, negative_slope, 0);
}

tg_tensor *tg_elu(tg_tensor *t, float alpha) { return activation("elu", t, TG_ACT_ELU, alpha, 0); }

tg_tensor *tg_softplus(tg_tensor *t, float beta, float threshold)
{
    if (!(beta != 0)) {
        TG_FAIL("softplus: beta must not be 0, got %g", (double)beta);
        return NULL;
    }
    return activation("softplus", t, TG_ACT_SOFTPLUS, beta, threshold);
}

tg_tensor *tg_log_sigmoid(tg_tensor *t) { return activation("log_sigmoid", t, TG_ACT_LOG_SIGMOID, 0, 0); }
tg_tensor *tg_erf(tg_tensor *t) { return activation("erf", t, TG_ACT_ERF, 0, 0); }
tg_tensor *tg_sin(tg_tensor *t) { return activation("sin", t, TG_ACT_SIN, 0, 0); }
tg_tensor *tg_cos(tg_tensor *t) { return activation("cos", t, TG_ACT_COS, 0, 0); }

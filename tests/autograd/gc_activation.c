/* Gradcheck rows: the activations (GELU exact and tanh, SiLU, leaky ReLU,
 * ELU, softplus, log-sigmoid, erf, sin, cos). Inputs keep |x| >= 0.1, away
 * from leaky ReLU's and ELU's kink at 0. */
#include "gradcheck_cases.h"

static tg_tensor *f_gelu(tg_tensor *const *x, void *c) { (void)c; return tg_gelu(x[0], TG_GELU_EXACT); }
static tg_tensor *f_gelu_tanh(tg_tensor *const *x, void *c) { (void)c; return tg_gelu(x[0], TG_GELU_TANH); }
static tg_tensor *f_silu(tg_tensor *const *x, void *c) { (void)c; return tg_silu(x[0]); }
static tg_tensor *f_leaky_relu(tg_tensor *const *x, void *c) { (void)c; return tg_leaky_relu(x[0], 0.2f); }
static tg_tensor *f_elu(tg_tensor *const *x, void *c) { (void)c; return tg_elu(x[0], 0.7f); }
static tg_tensor *f_softplus(tg_tensor *const *x, void *c) { (void)c; return tg_softplus(x[0], 2.0f, 20.0f); }
static tg_tensor *f_log_sigmoid(tg_tensor *const *x, void *c) { (void)c; return tg_log_sigmoid(x[0]); }
static tg_tensor *f_erf(tg_tensor *const *x, void *c) { (void)c; return tg_erf(x[0]); }
static tg_tensor *f_sin(tg_tensor *const *x, void *c) { (void)c; return tg_sin(x[0]); }
static tg_tensor *f_cos(tg_tensor *const *x, void *c) { (void)c; return tg_cos(x[0]); }

/* An activation of a scaled input: values out to |x| = 4, where the
 * tails of GELU, SiLU and log-sigmoid bend. */
static tg_tensor *f_silu_wide(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *w = tg_mul_scalar(x[0], 4.0f), *y = w ? tg_silu(w) : NULL;
    tg_release(w);
    return y;
}

static tg_tensor *f_log_sigmoid_wide(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *w = tg_mul_scalar(x[0], 4.0f), *y = w ? tg_log_sigmoid(w) : NULL;
    tg_release(w);
    return y;
}

const gc_case gc_activation[] = {
    {"gelu", f_gelu, "3,4"},
    {"gelu tanh", f_gelu_tanh, "3,4T"},
    {"silu", f_silu, "3,4"},
    {"silu wide", f_silu_wide, "2,5"},
    {"leaky_relu", f_leaky_relu, "3,4"},
    {"elu", f_elu, "3,4"},
    {"softplus", f_softplus, "3,4"},
    {"log_sigmoid", f_log_sigmoid, "3,4"},
    {"log_sigmoid wide", f_log_sigmoid_wide, "2,5"},
    {"erf", f_erf, "3,4"},
    {"sin", f_sin, "2,3,4"},
    {"cos", f_cos, "3,4T"},
    GC_END,
};

/* Activation functions and their gradients (see internal/activation.h):
 * GELU (exact and tanh), SiLU, leaky ReLU, ELU, softplus, log-sigmoid,
 * erf, sin and cos, each forward beside its gradient, in PyTorch's CPU
 * formulas (float arithmetic, the same branches at the same points). The
 * gradients read the op's input x, not its output. erf (and GELU through
 * it) is a polynomial within 2.5 ulp of libm's (internal/exp_lane.h), as
 * PyTorch's vectorised kernels approximate it, so that GELU's loops over
 * contiguous memory vectorise. */
#include "tensor/internal/activation.h"

#include <math.h>

#include "tensor/internal/exp_lane.h"
#include "tensor/internal/iter.h"

/* One activation and its parameters (slope, alpha, beta, threshold). */
typedef struct {
    tg_activation act;
    float p0, p1;
} act_ctx;

#define SQRT1_2 0.70710678118654752440f
#define TWO_OVER_SQRTPI 1.12837916709551257390f
#define GELU_TANH_BETA 0.79788456080286535588f /* sqrt(2 / pi) */
#define GELU_TANH_KAPPA 0.044715f

static inline float gelu(float x) { return x * 0.5f * (1.0f + erf_lane(x * SQRT1_2)); }

static inline float gelu_grad(float x)
{
    float cdf = 0.5f * (1.0f + erf_lane(x * SQRT1_2));
    float pdf = exp_lane(-0.5f * x * x) * (TWO_OVER_SQRTPI * SQRT1_2 * 0.5f);
    return cdf + x * pdf;
}

/* GELU over contiguous rows, vectorised: the same bits as gelu and gelu_grad one by one. */
TG_WIDEST_VECTORS static void gelu_lanes(float *out, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = gelu(x[i]);
}

TG_WIDEST_VECTORS static void gelu_grad_lanes(float *out, const float *g, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = g[i] * gelu_grad(x[i]);
}

static inline float gelu_tanh(float x)
{
    float inner = GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
}

static inline float gelu_tanh_grad(float x)
{
    float inner = GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x * x * x), t = tanhf(inner);
    float inner_grad = GELU_TANH_BETA * (1.0f + 3.0f * GELU_TANH_KAPPA * x * x);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * inner_grad;
}

static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline float silu_grad(float x)
{
    float s = sigmoid(x);
    return s * (1.0f + x * (1.0f - s));
}

/* softplus: x where beta x > threshold, else log(1 + exp(beta x)) / beta. */
static inline float softplus(float x, float beta, float threshold)
{
    return x * beta > threshold ? x : log1pf(expf(x * beta)) / beta;
}

static inline float softplus_grad(float x, float beta, float threshold)
{
    float z = expf(x * beta);
    return x * beta > threshold ? 1.0f : z / (z + 1.0f);
}

/* log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|)), without overflow. */
static inline float log_sigmoid(float x) { return fminf(x, 0.0f) - log1pf(expf(-fabsf(x))); }

static inline float log_sigmoid_grad(float x)
{
    float z = expf(-fabsf(x));
    return x < 0 ? 1.0f - z / (1.0f + z) : z / (1.0f + z);
}

static inline float forward(const act_ctx *c, float x)
{
    switch (c->act) {
    case TG_ACT_GELU: return gelu(x);
    case TG_ACT_GELU_TANH: return gelu_tanh(x);
    case TG_ACT_SILU: return x / (1.0f + expf(-x));
    case TG_ACT_LEAKY_RELU: return x > 0 ? x : x * c->p0;
    case TG_ACT_ELU: return x > 0 ? x : (expf(x) - 1.0f) * c->p0;
    case TG_ACT_SOFTPLUS: return softplus(x, c->p0, c->p1);
    case TG_ACT_LOG_SIGMOID: return log_sigmoid(x);
    case TG_ACT_ERF: return erf_lane(x);
    case TG_ACT_SIN: return sinf(x);
    case TG_ACT_COS: return cosf(x);
    }
    return NAN;
}

/* d act / dx at x. */
static inline float derivative(const act_ctx *c, float x)
{
    switch (c->act) {
    case TG_ACT_GELU: return gelu_grad(x);
    case TG_ACT_GELU_TANH: return gelu_tanh_grad(x);
    case TG_ACT_SILU: return silu_grad(x);
    case TG_ACT_LEAKY_RELU: return x > 0 ? 1.0f : c->p0;
    case TG_ACT_ELU: return x > 0 ? 1.0f : c->p0 * expf(x);
    case TG_ACT_SOFTPLUS: return softplus_grad(x, c->p0, c->p1);
    case TG_ACT_LOG_SIGMOID: return log_sigmoid_grad(x);
    case TG_ACT_ERF: return TWO_OVER_SQRTPI * exp_lane(-x * x);
    case TG_ACT_SIN: return cosf(x);
    case TG_ACT_COS: return -sinf(x);
    }
    return NAN;
}

static void forward_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const act_ctx *c = ctx;
    float *out = (float *)p[0];
    const float *x = (const float *)p[1];
    if (c->act == TG_ACT_GELU && s[0] == 1 && s[1] == 1) return gelu_lanes(out, x, n);
    for (int64_t i = 0; i < n; i++) out[i * s[0]] = forward(c, x[i * s[1]]);
}

/* out = g act'(x). */
static void backward_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const act_ctx *c = ctx;
    float *out = (float *)p[0];
    const float *g = (const float *)p[1], *x = (const float *)p[2];
    if (c->act == TG_ACT_GELU && s[0] == 1 && s[1] == 1 && s[2] == 1) return gelu_grad_lanes(out, g, x, n);
    for (int64_t i = 0; i < n; i++) out[i * s[0]] = g[i * s[1]] * derivative(c, x[i * s[2]]);
}

static const char *const names[] = {"gelu", "gelu", "silu", "leaky_relu", "elu", "softplus", "log_sigmoid",
                                    "erf", "sin", "cos"};

static bool known(tg_activation act) { return (unsigned)act < sizeof names / sizeof names[0]; }

tg_tensor *tg_k_activation(tg_tensor *x, tg_activation act, float p0, float p1)
{
    if (!known(act)) {
        TG_FAIL("activation: unknown activation %d", (int)act);
        return NULL;
    }
    act_ctx c = {act, p0, p1};
    return tg_iter_map_f32(names[act], forward_loop, 1, &x, &c);
}

tg_tensor *tg_k_activation_backward(tg_tensor *g, tg_tensor *x, tg_activation act, float p0, float p1)
{
    if (!known(act)) {
        TG_FAIL("activation_backward: unknown activation %d", (int)act);
        return NULL;
    }
    act_ctx c = {act, p0, p1};
    return tg_iter_map_f32(names[act], backward_loop, 2, (tg_tensor *[]){g, x}, &c);
}

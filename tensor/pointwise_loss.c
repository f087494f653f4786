/* Elementwise losses and their gradients (see internal/pointwise_loss.h),
 * each forward beside its derivatives, in PyTorch's CPU formulas (the
 * same branches at the same points: smooth L1's and Huber's at |d| = p,
 * BCE's softplus by the max trick, KL's 0 where the target is 0). */
#include "tensor/internal/pointwise_loss.h"

#include <math.h>

#include "tensor/internal/iter.h"

/* One loss, its parameter, and whether a third operand c is there. */
typedef struct {
    tg_pointwise_loss loss;
    float p;
    bool has_c;
    int wrt;
} loss_ctx;

/* softplus(-x) = log(1 + exp(-x)), as PyTorch's BCE computes it:
 * m + log(exp(-m) + exp(-x - m)), m = max(-x, 0). */
static inline float softplus_neg(float x)
{
    float m = fmaxf(-x, 0.0f);
    return m + logf(expf(-m) + expf(-x - m));
}

static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline float sign_of(float d) { return (float)((d > 0) - (d < 0)); }

static inline float forward(const loss_ctx *k, float a, float b, float c)
{
    float d = a - b, z = fabsf(d), p = k->p;
    switch (k->loss) {
    case TG_LOSS_L1: return z;
    case TG_LOSS_SMOOTH_L1: return z < p ? 0.5f * z * z / p : z - 0.5f * p;
    case TG_LOSS_HUBER: return z < p ? 0.5f * z * z : p * (z - 0.5f * p);
    case TG_LOSS_BCE_LOGITS: return (1.0f - b) * a + ((c - 1.0f) * b + 1.0f) * softplus_neg(a);
    case TG_LOSS_KL_DIV: return (b == 0 ? 0.0f : b * logf(b)) - b * a;
    case TG_LOSS_KL_DIV_LOG: return expf(b) * (b - a);
    }
    return NAN;
}

/* d loss / d a. */
static inline float by_input(const loss_ctx *k, float a, float b, float c)
{
    float d = a - b, p = k->p;
    switch (k->loss) {
    case TG_LOSS_L1: return sign_of(d);
    case TG_LOSS_SMOOTH_L1: return d <= -p ? -1.0f : d >= p ? 1.0f : d / p; /* beta 0 at d = 0: -1, as PyTorch */
    case TG_LOSS_HUBER: return d <= -p ? -p : d >= p ? p : d;
    case TG_LOSS_BCE_LOGITS: return k->has_c ? (c * b + 1.0f - b) * sigmoid(a) - c * b : sigmoid(a) - b;
    case TG_LOSS_KL_DIV: return -b;
    case TG_LOSS_KL_DIV_LOG: return -expf(b);
    }
    return NAN;
}

/* d loss / d b. */
static inline float by_target(const loss_ctx *k, float a, float b, float c)
{
    switch (k->loss) {
    case TG_LOSS_L1:
    case TG_LOSS_SMOOTH_L1:
    case TG_LOSS_HUBER: return by_input(k, b, a, c); /* PyTorch's: input and target swapped */
    case TG_LOSS_BCE_LOGITS: /* log_sigmoid(-a) - c log_sigmoid(a), as PyTorch */
        return k->has_c ? c * softplus_neg(a) - softplus_neg(-a) : -a;
    case TG_LOSS_KL_DIV: return b == 0 ? NAN : logf(b) + 1.0f - a; /* at 0, NaN as PyTorch (log 0 + 1 - a) */
    case TG_LOSS_KL_DIV_LOG: return expf(b) * (b - a + 1.0f);
    }
    return NAN;
}

static void forward_loop(char **ptr, const int64_t *s, int64_t n, const void *ctx)
{
    const loss_ctx *k = ctx;
    float *out = (float *)ptr[0];
    const float *a = (const float *)ptr[1], *b = (const float *)ptr[2], *c = k->has_c ? (const float *)ptr[3] : NULL;
    for (int64_t i = 0; i < n; i++) out[i * s[0]] = forward(k, a[i * s[1]], b[i * s[2]], c ? c[i * s[3]] : 1.0f);
}

/* operands: out, g, a, b (, c) */
static void backward_loop(char **ptr, const int64_t *s, int64_t n, const void *ctx)
{
    const loss_ctx *k = ctx;
    float *out = (float *)ptr[0];
    const float *g = (const float *)ptr[1], *a = (const float *)ptr[2], *b = (const float *)ptr[3];
    const float *c = k->has_c ? (const float *)ptr[4] : NULL;
    for (int64_t i = 0; i < n; i++) {
        float ai = a[i * s[2]], bi = b[i * s[3]], ci = c ? c[i * s[4]] : 1.0f;
        float d = k->wrt == 0 ? by_input(k, ai, bi, ci) : by_target(k, ai, bi, ci);
        out[i * s[0]] = g[i * s[1]] * d;
    }
}

tg_tensor *tg_k_pointwise_loss(const char *op, tg_pointwise_loss loss, tg_tensor *a, tg_tensor *b, tg_tensor *c,
                               float p)
{
    loss_ctx k = {loss, p, c != NULL, 0};
    return tg_iter_map_f32(op, forward_loop, c ? 3 : 2, (tg_tensor *[]){a, b, c}, &k);
}

tg_tensor *tg_k_pointwise_loss_backward(const char *op, tg_pointwise_loss loss, int wrt, tg_tensor *g, tg_tensor *a,
                                        tg_tensor *b, tg_tensor *c, float p)
{
    loss_ctx k = {loss, p, c != NULL, wrt};
    return tg_iter_map_f32(op, backward_loop, c ? 4 : 3, (tg_tensor *[]){g, a, b, c}, &k);
}

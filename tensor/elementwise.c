/* Elementwise kernels: one loop function per arity, a switch per run of
 * elements (not per element), with a unit-stride path the compiler
 * vectorises and a strided path for views and broadcasts. */
#include "tensor/internal/elementwise.h"

#include <math.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"

typedef enum {
    U_NEG, U_EXP, U_LOG, U_SQRT, U_ABS, U_SIGN, U_RELU, U_SIGMOID, U_TANH,
    U_POW, U_CLAMP, U_IN_RANGE, U_ADD, U_MUL,
} unary_op;

typedef enum {
    B_AXPY, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE,
    B_RELU_BACKWARD, B_SIGMOID_BACKWARD, B_TANH_BACKWARD,
} binary_op;

typedef struct {
    int op;
    float p0, p1; /* scalar parameters: exponent, bounds, alpha */
} ew_ctx;

/* Applies EXPR (of x) over a run; unit-stride runs get their own loop. */
#define MAP1(EXPR)                                                           \
    do {                                                                     \
        if (so == 1 && sx == 1)                                              \
            for (int64_t i = 0; i < n; i++) {                                \
                float x = in[i];                                             \
                out[i] = (EXPR);                                             \
            }                                                                \
        else                                                                 \
            for (int64_t i = 0; i < n; i++) {                                \
                float x = in[i * sx];                                        \
                out[i * so] = (EXPR);                                        \
            }                                                                \
    } while (0)

/* min(max(x, lo), hi) as PyTorch's clamp: a NaN stays NaN (fmaxf would
 * drop it), and lo > hi gives hi. */
static inline float clamp_keeping_nan(float x, float lo, float hi)
{
    float y = x < lo ? lo : x;
    return y > hi ? hi : y;
}

static void unary_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const ew_ctx *c = ctx;
    float *out = (float *)p[0];
    const float *in = (const float *)p[1];
    int64_t so = s[0], sx = s[1];
    float p0 = c->p0, p1 = c->p1;
    switch ((unary_op)c->op) {
    case U_NEG: MAP1(-x); break;
    case U_EXP: MAP1(expf(x)); break;
    case U_LOG: MAP1(logf(x)); break;
    case U_SQRT: MAP1(sqrtf(x)); break;
    case U_ABS: MAP1(fabsf(x)); break;
    case U_SIGN: MAP1((float)((x > 0) - (x < 0))); break;
    case U_RELU: MAP1(x <= 0 ? 0.0f : x); break; /* NaN stays NaN */
    case U_SIGMOID: MAP1(1.0f / (1.0f + expf(-x))); break;
    case U_TANH: MAP1(tanhf(x)); break;
    case U_POW: MAP1(powf(x, p0)); break;
    case U_CLAMP: MAP1(clamp_keeping_nan(x, p0, p1)); break;
    case U_IN_RANGE: MAP1((float)(x >= p0 && x <= p1)); break;
    case U_ADD: MAP1(x + p0); break;
    case U_MUL: MAP1(x * p0); break;
    }
}

#define MAP2(EXPR)                                                           \
    do {                                                                     \
        if (so == 1 && sa == 1 && sb == 1)                                   \
            for (int64_t i = 0; i < n; i++) {                                \
                float x = a[i], y = b[i];                                    \
                out[i] = (EXPR);                                             \
            }                                                                \
        else                                                                 \
            for (int64_t i = 0; i < n; i++) {                                \
                float x = a[i * sa], y = b[i * sb];                          \
                out[i * so] = (EXPR);                                        \
            }                                                                \
    } while (0)

static void binary_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const ew_ctx *c = ctx;
    float *out = (float *)p[0];
    const float *a = (const float *)p[1], *b = (const float *)p[2];
    int64_t so = s[0], sa = s[1], sb = s[2];
    float p0 = c->p0;
    switch ((binary_op)c->op) {
    case B_AXPY: MAP2(x + p0 * y); break;
    case B_MUL: MAP2(x * y); break;
    case B_DIV: MAP2(x / y); break;
    case B_POW: MAP2(powf(x, y)); break;
    case B_MAX: MAP2(x > y || isnan(x) ? x : y); break; /* NaN wins */
    case B_MIN: MAP2(x < y || isnan(x) ? x : y); break;
    case B_EQ: MAP2((float)(x == y)); break;
    case B_NE: MAP2((float)(x != y)); break;
    case B_LT: MAP2((float)(x < y)); break;
    case B_LE: MAP2((float)(x <= y)); break;
    case B_GT: MAP2((float)(x > y)); break;
    case B_GE: MAP2((float)(x >= y)); break;
    case B_RELU_BACKWARD: MAP2(y <= 0 ? 0.0f : x); break; /* passes at NaN, as PyTorch */
    case B_SIGMOID_BACKWARD: MAP2(x * y * (1.0f - y)); break;
    case B_TANH_BACKWARD: MAP2(x * (1.0f - y * y)); break;
    }
}

static void where_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    (void)ctx;
    float *out = (float *)p[0];
    const float *c = (const float *)p[1], *a = (const float *)p[2], *b = (const float *)p[3];
    for (int64_t i = 0; i < n; i++) out[i * s[0]] = c[i * s[1]] != 0 ? a[i * s[2]] : b[i * s[3]];
}

/* Runs loop over a new output of the inputs' broadcast shape. */
static tg_tensor *apply(const char *name, tg_iter_loop loop, int nin, tg_tensor *const *in, ew_ctx c)
{
    return tg_iter_map_f32(name, loop, nin, in, &c);
}

/* Runs loop writing into in[0]; the others must broadcast to its shape. */
static int apply_(const char *name, tg_iter_loop loop, int nin, tg_tensor *const *in, ew_ctx c)
{
    if (tg_iter_check_f32(name, nin, in)) return -1;
    tg_tensor *ops[TG_ITER_MAX_OPS] = {in[0]};
    for (int k = 0; k < nin; k++) ops[k + 1] = in[k];
    tg_iter it;
    if (tg_iter_init(&it, name, nin + 1, ops)) return -1;
    tg_iter_run(&it, loop, &c);
    tg_bump_version(in[0]);
    return 0;
}

#define UNARY(NAME, OP) \
    tg_tensor *tg_k_##NAME(tg_tensor *t) { return apply(#NAME, unary_loop, 1, &t, (ew_ctx){OP, 0, 0}); }
UNARY(neg, U_NEG)
UNARY(exp, U_EXP)
UNARY(log, U_LOG)
UNARY(sqrt, U_SQRT)
UNARY(abs, U_ABS)
UNARY(sign, U_SIGN)
UNARY(relu, U_RELU)
UNARY(sigmoid, U_SIGMOID)
UNARY(tanh, U_TANH)
#undef UNARY

tg_tensor *tg_k_pow_scalar(tg_tensor *t, float e) { return apply("pow", unary_loop, 1, &t, (ew_ctx){U_POW, e, 0}); }
tg_tensor *tg_k_clamp(tg_tensor *t, float lo, float hi)
{
    return apply("clamp", unary_loop, 1, &t, (ew_ctx){U_CLAMP, lo, hi});
}
tg_tensor *tg_k_in_range(tg_tensor *t, float lo, float hi)
{
    return apply("in_range", unary_loop, 1, &t, (ew_ctx){U_IN_RANGE, lo, hi});
}
tg_tensor *tg_k_add_scalar(tg_tensor *t, float s) { return apply("add", unary_loop, 1, &t, (ew_ctx){U_ADD, s, 0}); }
tg_tensor *tg_k_mul_scalar(tg_tensor *t, float s) { return apply("mul", unary_loop, 1, &t, (ew_ctx){U_MUL, s, 0}); }

#define BINARY(NAME, OP, P0)                                                             \
    tg_tensor *tg_k_##NAME(tg_tensor *a, tg_tensor *b)                                   \
    {                                                                                    \
        return apply(#NAME, binary_loop, 2, (tg_tensor *[]){a, b}, (ew_ctx){OP, P0, 0}); \
    }
BINARY(add, B_AXPY, 1.0f)
BINARY(sub, B_AXPY, -1.0f)
BINARY(mul, B_MUL, 0)
BINARY(div, B_DIV, 0)
BINARY(pow, B_POW, 0)
BINARY(maximum, B_MAX, 0)
BINARY(minimum, B_MIN, 0)
BINARY(eq, B_EQ, 0)
BINARY(ne, B_NE, 0)
BINARY(lt, B_LT, 0)
BINARY(le, B_LE, 0)
BINARY(gt, B_GT, 0)
BINARY(ge, B_GE, 0)
BINARY(relu_backward, B_RELU_BACKWARD, 0)
BINARY(sigmoid_backward, B_SIGMOID_BACKWARD, 0)
BINARY(tanh_backward, B_TANH_BACKWARD, 0)
#undef BINARY

tg_tensor *tg_k_where(tg_tensor *cond, tg_tensor *a, tg_tensor *b)
{
    return apply("where", where_loop, 3, (tg_tensor *[]){cond, a, b}, (ew_ctx){0, 0, 0});
}

int tg_k_add_(tg_tensor *a, tg_tensor *b) { return tg_k_axpy_(a, 1.0f, b); }
int tg_k_sub_(tg_tensor *a, tg_tensor *b) { return tg_k_axpy_(a, -1.0f, b); }
int tg_k_axpy_(tg_tensor *a, float alpha, tg_tensor *b)
{
    return apply_("axpy_", binary_loop, 2, (tg_tensor *[]){a, b}, (ew_ctx){B_AXPY, alpha, 0});
}
int tg_k_mul_(tg_tensor *a, tg_tensor *b)
{
    return apply_("mul_", binary_loop, 2, (tg_tensor *[]){a, b}, (ew_ctx){B_MUL, 0, 0});
}
int tg_k_div_(tg_tensor *a, tg_tensor *b)
{
    return apply_("div_", binary_loop, 2, (tg_tensor *[]){a, b}, (ew_ctx){B_DIV, 0, 0});
}
int tg_k_relu_(tg_tensor *t) { return apply_("relu_", unary_loop, 1, &t, (ew_ctx){U_RELU, 0, 0}); }
int tg_k_add_scalar_(tg_tensor *t, float s) { return apply_("add_", unary_loop, 1, &t, (ew_ctx){U_ADD, s, 0}); }
int tg_k_mul_scalar_(tg_tensor *t, float s) { return apply_("mul_", unary_loop, 1, &t, (ew_ctx){U_MUL, s, 0}); }
int tg_k_clamp_(tg_tensor *t, float lo, float hi)
{
    return apply_("clamp_", unary_loop, 1, &t, (ew_ctx){U_CLAMP, lo, hi});
}

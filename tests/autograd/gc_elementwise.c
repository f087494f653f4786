/* Gradcheck rows: elementwise ops, broadcasting and in-place forms. */
#include "gradcheck_cases.h"

#define BIN(NAME) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) { (void)c; return tg_##NAME(x[0], x[1]); }
#define UN(NAME) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) { (void)c; return tg_##NAME(x[0]); }
BIN(add)
BIN(sub)
BIN(mul)
BIN(div)
BIN(pow)
BIN(maximum)
BIN(minimum)
UN(neg)
UN(exp)
UN(log)
UN(sqrt)
UN(abs)
UN(relu)
UN(sigmoid)
UN(tanh)
#undef BIN
#undef UN

static tg_tensor *f_pow_scalar(tg_tensor *const *x, void *c) { (void)c; return tg_pow_scalar(x[0], 2.5f); }
static tg_tensor *f_square(tg_tensor *const *x, void *c) { (void)c; return tg_pow_scalar(x[0], 2.0f); }
static tg_tensor *f_clamp(tg_tensor *const *x, void *c) { (void)c; return tg_clamp(x[0], -0.55f, 0.45f); }
static tg_tensor *f_add_scalar(tg_tensor *const *x, void *c) { (void)c; return tg_add_scalar(x[0], 3.0f); }
static tg_tensor *f_mul_scalar(tg_tensor *const *x, void *c) { (void)c; return tg_mul_scalar(x[0], -1.5f); }
static tg_tensor *f_where(tg_tensor *const *x, void *c) { (void)c; return tg_where(x[0], x[1], x[2]); }

/* x * x: one tensor used twice; gradients from both uses add up. */
static tg_tensor *f_self_mul(tg_tensor *const *x, void *c) { (void)c; return tg_mul(x[0], x[0]); }

/* In-place ops act on an intermediate (leaves that require grad refuse). */
static tg_tensor *inplace_binary(tg_tensor *const *x, int (*op)(tg_tensor *, tg_tensor *))
{
    tg_tensor *t = tg_mul_scalar(x[0], 1.5f);
    if (t && op(t, x[1])) {
        tg_release(t);
        return NULL;
    }
    return t;
}
static tg_tensor *f_add_(tg_tensor *const *x, void *c) { (void)c; return inplace_binary(x, tg_add_); }
static tg_tensor *f_sub_(tg_tensor *const *x, void *c) { (void)c; return inplace_binary(x, tg_sub_); }
static tg_tensor *f_mul_(tg_tensor *const *x, void *c) { (void)c; return inplace_binary(x, tg_mul_); }

/* Several in-place ops on one tensor: the chain of rebased nodes composes.
 * (relu_ comes last: it saves its output, which a later in-place op would
 * invalidate, as in PyTorch.) */
static tg_tensor *f_relu_chain(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *t = tg_add_scalar(x[0], 0.3f); /* the relu kink stays at x = 0 */
    if (t && (tg_mul_scalar_(t, 2.0f) || tg_add_scalar_(t, -0.6f) || tg_relu_(t))) {
        tg_release(t);
        return NULL;
    }
    return t;
}

/* An in-place op on a tensor that did not require grad makes it require it. */
static tg_tensor *f_add_into_constant(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *t = tg_zeros(x[0]->ndim, x[0]->shape, TG_FLOAT32);
    if (t && tg_add_(t, x[0])) {
        tg_release(t);
        return NULL;
    }
    return t;
}

const gc_case gc_elementwise[] = {
    {"add", f_add, "3,4 | 3,4"},
    {"add broadcast both ways", f_add, "3,1 | 1,4"},
    {"add broadcast rank", f_add, "2,3,4 | 4"},
    {"add transposed", f_add, "3,4T | 3,4"},
    {"add constant operand", f_add, "3,4 | 3,4N"},
    {"add 0-dim", f_add, "3,4 | "},
    {"sub broadcast", f_sub, "4 | 2,4"},
    {"mul", f_mul, "3,4 | 3,4"},
    {"mul broadcast", f_mul, "2,1,4 | 3,1"},
    {"mul transposed", f_mul, "4,3T | 4,3T"},
    {"mul same tensor twice", f_self_mul, "5"},
    {"div", f_div, "3,4 | 3,4+"},
    {"div broadcast", f_div, "3,4 | 4+"},
    {"pow", f_pow, "3,4+ | 3,4"},
    {"pow broadcast", f_pow, "2,3+ | 3"},
    {"maximum", f_maximum, "3,4 | 3,4"},
    {"maximum broadcast", f_maximum, "3,4 | 4"},
    {"minimum", f_minimum, "3,4 | 1,4"},
    {"neg", f_neg, "3,4"},
    {"exp", f_exp, "3,4T"},
    {"log", f_log, "3,4+"},
    {"sqrt", f_sqrt, "3,4+"},
    {"abs", f_abs, "3,4"},
    {"relu", f_relu, "3,4"},
    {"sigmoid", f_sigmoid, "3,4"},
    {"tanh", f_tanh, "2,3,4"},
    {"pow_scalar", f_pow_scalar, "3,4+"},
    {"pow_scalar square", f_square, "3,4"},
    {"clamp", f_clamp, "4,5"},
    {"add_scalar", f_add_scalar, "3,4"},
    {"mul_scalar", f_mul_scalar, "3,4T"},
    {"where", f_where, "3,4M | 3,4 | 3,4"},
    {"where broadcast", f_where, "3,1M | 1,4 | 4"},
    {"add_ in place", f_add_, "3,4 | 3,4"},
    {"add_ broadcast", f_add_, "3,4 | 4"},
    {"sub_ in place", f_sub_, "3,4 | 1,4"},
    {"mul_ in place", f_mul_, "3,4 | 3,4"},
    {"mul_ broadcast", f_mul_, "3,4 | 3,1"},
    {"mul_scalar_ add_scalar_ relu_ chain", f_relu_chain, "4,5"},
    {"add_ into a constant", f_add_into_constant, "3,4"},
    GC_END,
};

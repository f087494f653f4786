/* Differentiable elementwise ops: each forward, its backward beside it.
 * Broadcast inputs get their gradient summed back to their own shape. */
#include <math.h>
#include <string.h>

#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/check.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

/* grads[i] = sum_to(g * x) when input i needs grad. */
static int give_product(tg_node *n, int i, tg_tensor *g, tg_tensor *x, tg_tensor **grads)
{
    if (!tg_node_needs_grad(n, i)) return 0;
    return x ? tg_node_give(n, i, tg_k_mul(g, x), grads) : -1;
}

#define SAVED(i) tg_node_saved(n, i)

/* ---- binary ---- */

static int add_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    int rc = tg_node_needs_grad(n, 0) ? tg_node_give(n, 0, tg_retain(g), grads) : 0;
    if (!rc && tg_node_needs_grad(n, 1)) rc = tg_node_give(n, 1, tg_retain(g), grads);
    return rc;
}

static int sub_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    int rc = tg_node_needs_grad(n, 0) ? tg_node_give(n, 0, tg_retain(g), grads) : 0;
    if (!rc && tg_node_needs_grad(n, 1)) rc = tg_node_give(n, 1, tg_k_neg(g), grads);
    return rc;
}

/* saved: a, b */
static int mul_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    int rc = give_product(n, 0, g, tg_node_needs_grad(n, 0) ? SAVED(1) : NULL, grads);
    if (!rc) rc = give_product(n, 1, g, tg_node_needs_grad(n, 1) ? SAVED(0) : NULL, grads);
    return rc;
}

/* saved: a, b. d/da = 1/b, d/db = -a/b^2 */
static int div_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *a = SAVED(0), *b = SAVED(1);
    if (!a || !b) return -1;
    tg_tensor *ga = tg_k_div(g, b);
    int rc = tg_node_needs_grad(n, 0) ? tg_node_give(n, 0, tg_retain(ga), grads) : 0;
    if (!rc && tg_node_needs_grad(n, 1)) {
        tg_tensor *t = tg_k_mul(ga, a);
        tg_tensor *gb = tg_k_div(t, b);
        tg_release(t);
        rc = tg_node_give(n, 1, tg_k_neg(gb), grads);
        tg_release(gb);
    }
    tg_release(ga);
    return rc;
}

/* saved: a, b, out. d/da = b a^(b-1), d/db = out log a */
static int pow_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *a = SAVED(0), *b = SAVED(1), *out = SAVED(2);
    if (!a || !b || !out) return -1;
    int rc = 0;
    if (tg_node_needs_grad(n, 0)) {
        tg_tensor *bm1 = tg_k_add_scalar(b, -1.0f);
        tg_tensor *p = tg_k_pow(a, bm1);
        tg_tensor *d = tg_k_mul(p, b);
        rc = give_product(n, 0, g, d, grads);
        tg_release(bm1);
        tg_release(p);
        tg_release(d);
    }
    if (!rc && tg_node_needs_grad(n, 1)) {
        tg_tensor *la = tg_k_log(a);
        tg_tensor *d = tg_k_mul(out, la);
        rc = give_product(n, 1, g, d, grads);
        tg_release(la);
        tg_release(d);
    }
    return rc;
}

/* 1 - lose - tie / 2: an input's share of g in maximum/minimum. */
static tg_tensor *extreme_share(tg_tensor *lose, tg_tensor *tie)
{
    tg_tensor *share = tg_k_mul_scalar(lose, -1.0f);
    if (share && (tg_k_add_scalar_(share, 1.0f) || tg_k_axpy_(share, -0.5f, tie))) {
        tg_release(share);
        return NULL;
    }
    return share;
}

/* maximum/minimum: an input takes g unless it loses; a tie splits it
 * evenly; where either is NaN neither loses, so both take g (as PyTorch).
 * saved: a, b; ctx: +1 for maximum, -1 for minimum */
static int extreme_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *a = SAVED(0), *b = SAVED(1);
    if (!a || !b) return -1;
    int sign = *(const int *)n->ctx;
    tg_tensor *tie = tg_k_eq(a, b);
    int rc = tie ? 0 : -1;
    for (int i = 0; i < 2 && !rc; i++) {
        if (!tg_node_needs_grad(n, i)) continue;
        tg_tensor *lose = (sign > 0) == (i == 0) ? tg_k_lt(a, b) : tg_k_gt(a, b);
        tg_tensor *share = lose ? extreme_share(lose, tie) : NULL;
        rc = share ? give_product(n, i, g, share, grads) : -1;
        tg_release(share);
        tg_release(lose);
    }
    tg_release(tie);
    return rc;
}

tg_tensor *tg_add(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b};
    return tg_recorded(tg_k_add(a, b), "add", add_backward, 2, in, 0, NULL, NULL, 0);
}

tg_tensor *tg_sub(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b};
    return tg_recorded(tg_k_sub(a, b), "sub", sub_backward, 2, in, 0, NULL, NULL, 0);
}

tg_tensor *tg_mul(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b};
    return tg_recorded(tg_k_mul(a, b), "mul", mul_backward, 2, in, 2, in, NULL, 0);
}

tg_tensor *tg_div(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b};
    return tg_recorded(tg_k_div(a, b), "div", div_backward, 2, in, 2, in, NULL, 0);
}

tg_tensor *tg_pow(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b};
    tg_tensor *out = tg_k_pow(a, b);
    return tg_recorded(out, "pow", pow_backward, 2, in, 3, (tg_tensor *[]){a, b, out}, NULL, 0);
}

tg_tensor *tg_maximum(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b};
    return tg_recorded(tg_k_maximum(a, b), "maximum", extreme_backward, 2, in, 2, in, &(int){1}, sizeof(int));
}

tg_tensor *tg_minimum(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b};
    return tg_recorded(tg_k_minimum(a, b), "minimum", extreme_backward, 2, in, 2, in, &(int){-1}, sizeof(int));
}

/* ---- unary: the backward multiplies g by a local derivative ---- */

typedef struct {
    float p0, p1;
} scalars;

static int neg_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    (void)n;
    return (grads[0] = tg_k_neg(g)) ? 0 : -1;
}

static int scaled_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    return (grads[0] = tg_k_mul_scalar(g, ((const scalars *)n->ctx)->p0)) ? 0 : -1;
}

static int pass_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    (void)n;
    grads[0] = tg_retain(g);
    return 0;
}

/* saved: out */
static int exp_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *out = SAVED(0);
    return out && (grads[0] = tg_k_mul(g, out)) ? 0 : -1;
}

/* saved: a */
static int log_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *a = SAVED(0);
    return a && (grads[0] = tg_k_div(g, a)) ? 0 : -1;
}

/* saved: out; d = 1 / (2 out) */
static int sqrt_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *out = SAVED(0);
    tg_tensor *q = out ? tg_k_div(g, out) : NULL;
    grads[0] = tg_k_mul_scalar(q, 0.5f);
    tg_release(q);
    return grads[0] ? 0 : -1;
}

/* saved: a */
static int abs_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *a = SAVED(0);
    tg_tensor *s = a ? tg_k_sign(a) : NULL;
    grads[0] = s ? tg_k_mul(g, s) : NULL;
    tg_release(s);
    return grads[0] ? 0 : -1;
}

/* saved: out; one kernel each for relu, sigmoid and tanh */
static int relu_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *out = SAVED(0);
    return out && (grads[0] = tg_k_relu_backward(g, out)) ? 0 : -1;
}

static int sigmoid_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *out = SAVED(0);
    return out && (grads[0] = tg_k_sigmoid_backward(g, out)) ? 0 : -1;
}

static int tanh_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *out = SAVED(0);
    return out && (grads[0] = tg_k_tanh_backward(g, out)) ? 0 : -1;
}

/* saved: a; ctx p0 = exponent; d = p a^(p-1) */
static int pow_scalar_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    float p = ((const scalars *)n->ctx)->p0;
    tg_tensor *a = SAVED(0);
    tg_tensor *d = a ? tg_k_pow_scalar(a, p - 1.0f) : NULL;
    if (d && tg_k_mul_scalar_(d, p)) return -1;
    grads[0] = d ? tg_k_mul(g, d) : NULL;
    tg_release(d);
    return grads[0] ? 0 : -1;
}

/* saved: a; ctx bounds; g passes where lo <= a <= hi */
static int clamp_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const scalars *c = (const scalars *)n->ctx;
    tg_tensor *a = SAVED(0);
    tg_tensor *mask = a ? tg_k_in_range(a, c->p0, c->p1) : NULL;
    grads[0] = mask ? tg_k_mul(g, mask) : NULL;
    tg_release(mask);
    return grads[0] ? 0 : -1;
}

static tg_tensor *unary(tg_tensor *out, tg_tensor *t, const char *name, tg_backward_fn fn, tg_tensor *save,
                        scalars c)
{
    return tg_recorded(out, name, fn, 1, &t, save ? 1 : 0, &save, &c, sizeof c);
}

tg_tensor *tg_neg(tg_tensor *t) { return unary(tg_k_neg(t), t, "neg", neg_backward, NULL, (scalars){0}); }
tg_tensor *tg_log(tg_tensor *t) { return unary(tg_k_log(t), t, "log", log_backward, t, (scalars){0}); }
tg_tensor *tg_abs(tg_tensor *t) { return unary(tg_k_abs(t), t, "abs", abs_backward, t, (scalars){0}); }

/* Ops whose backward reads their own output. */
#define UNARY_OUT(NAME)                                                            \
    tg_tensor *tg_##NAME(tg_tensor *t)                                             \
    {                                                                              \
        tg_tensor *out = tg_k_##NAME(t);                                           \
        return unary(out, t, #NAME, NAME##_backward, out, (scalars){0});           \
    }
UNARY_OUT(exp)
UNARY_OUT(sqrt)
UNARY_OUT(relu)
UNARY_OUT(sigmoid)
UNARY_OUT(tanh)
#undef UNARY_OUT

tg_tensor *tg_pow_scalar(tg_tensor *t, float e)
{
    return unary(tg_k_pow_scalar(t, e), t, "pow_scalar", pow_scalar_backward, t, (scalars){e, 0});
}

tg_tensor *tg_clamp(tg_tensor *t, float lo, float hi)
{
    return unary(tg_k_clamp(t, lo, hi), t, "clamp", clamp_backward, t, (scalars){lo, hi});
}

tg_tensor *tg_add_scalar(tg_tensor *t, float s)
{
    return unary(tg_k_add_scalar(t, s), t, "add_scalar", pass_backward, NULL, (scalars){0});
}

tg_tensor *tg_mul_scalar(tg_tensor *t, float s)
{
    return unary(tg_k_mul_scalar(t, s), t, "mul_scalar", scaled_backward, NULL, (scalars){s, 0});
}

/* ---- where: cond (input 0) gets no gradient ---- */

/* saved: cond */
static int where_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *cond = SAVED(0), *zero = tg_scalar(0.0f);
    int rc = cond && zero ? 0 : -1;
    if (!rc && tg_node_needs_grad(n, 1)) rc = tg_node_give(n, 1, tg_k_where(cond, g, zero), grads);
    if (!rc && tg_node_needs_grad(n, 2)) rc = tg_node_give(n, 2, tg_k_where(cond, zero, g), grads);
    tg_release(zero);
    return rc;
}

tg_tensor *tg_where(tg_tensor *cond, tg_tensor *a, tg_tensor *b)
{
    if (tg_wants_grad(cond)) {
        TG_FAIL("where: the condition is a mask and cannot require grad");
        return NULL;
    }
    tg_tensor *in[] = {cond, a, b};
    return tg_recorded(tg_k_where(cond, a, b), "where", where_backward, 3, in, 1, in, NULL, 0);
}

/* where(mask, value, t), t's shape kept: the mask may broadcast to t, not
 * t to the mask. */
tg_tensor *tg_masked_fill(tg_tensor *t, tg_tensor *mask, float value)
{
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    if (TG_NEED("masked_fill", t, mask) ||
        tg_broadcast_shapes("masked_fill", 2, (tg_tensor *[]){t, mask}, &ndim, shape))
        return NULL;
    if (ndim != t->ndim || memcmp(shape, t->shape, (size_t)ndim * sizeof *shape) != 0) {
        char s0[TG_SHAPE_STR_LEN], s1[TG_SHAPE_STR_LEN];
        TG_FAIL("masked_fill: the mask's shape %s does not broadcast to the tensor's %s",
                tg_shape_str(mask->ndim, mask->shape, s0, sizeof s0), tg_shape_str(t->ndim, t->shape, s1, sizeof s1));
        return NULL;
    }
    tg_tensor *fill = tg_scalar(value), *out = fill ? tg_where(mask, fill, t) : NULL;
    tg_release(fill);
    return out;
}

/* ---- in place: same backward as the out-of-place op ---- */

int tg_add_(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b};
    if (tg_check_inplace("add_", a, tg_wants_grad(b))) return -1;
    return tg_recorded_(tg_k_add_(a, b), "add_", add_backward, 2, in, 0, NULL, NULL, 0);
}

int tg_sub_(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b};
    if (tg_check_inplace("sub_", a, tg_wants_grad(b))) return -1;
    return tg_recorded_(tg_k_sub_(a, b), "sub_", sub_backward, 2, in, 0, NULL, NULL, 0);
}

/* b's gradient needs a as it was: keep a copy when b requires grad. */
int tg_mul_(tg_tensor *a, tg_tensor *b)
{
    if (tg_check_inplace("mul_", a, tg_wants_grad(b))) return -1;
    bool keep = tg_needs_grad(1, &b);
    tg_tensor *before = keep ? tg_k_clone(a) : tg_retain(a);
    if (!before) return -1;
    tg_tensor *in[] = {a, b};
    int rc = tg_recorded_(tg_k_mul_(a, b), "mul_", mul_backward, 2, in, 2, (tg_tensor *[]){before, b}, NULL, 0);
    tg_release(before);
    return rc;
}

int tg_relu_(tg_tensor *t)
{
    if (tg_check_inplace("relu_", t, false)) return -1;
    return tg_recorded_(tg_k_relu_(t), "relu_", relu_backward, 1, &t, 1, &t, NULL, 0);
}

int tg_add_scalar_(tg_tensor *t, float s)
{
    if (tg_check_inplace("add_scalar_", t, false)) return -1;
    return tg_recorded_(tg_k_add_scalar_(t, s), "add_scalar_", pass_backward, 1, &t, 0, NULL, NULL, 0);
}

int tg_mul_scalar_(tg_tensor *t, float s)
{
    if (tg_check_inplace("mul_scalar_", t, false)) return -1;
    scalars c = {s, 0};
    return tg_recorded_(tg_k_mul_scalar_(t, s), "mul_scalar_", scaled_backward, 1, &t, 0, NULL, &c, sizeof c);
}

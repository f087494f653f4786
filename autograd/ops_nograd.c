/* Ops with no gradient (see ops_nograd.h): each runs its kernel and
 * records nothing, its result handed to the current scope (scope.h); the in-place ones first check that the write hides
 * nothing from autograd. */
#include "autograd/autograd.h"
#include "autograd/internal/capture.h"
#include "autograd/internal/node.h"
#include "autograd/ops_nograd.h"
#include "tensor/internal/check.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/finite.h"
#include "tensor/internal/index.h"
#include "tensor/internal/isclose.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/reduce.h"
#include "tensor/internal/update.h"
#include "tensor/internal/view.h"

/* Fails while grad mode is on if dst requires grad: a leaf (PyTorch's
 * rule), or a tensor in a graph, whose backward would not see the write. */
static int check_unrecorded_write(const char *op, tg_tensor *dst)
{
    if (TG_NEED(op, dst)) return -1;
    if (!tg_grad_enabled() || !tg_wants_grad(dst)) return 0;
    if (tg_is_leaf(dst))
        return TG_FAIL("%s: a leaf tensor that requires grad cannot be modified in place outside a no-grad scope "
                       "(tg_no_grad_enter)", op);
    return TG_FAIL("%s: has no gradient, so it cannot write a tensor that is part of a graph; "
                   "write a detached tensor or inside a no-grad scope", op);
}

#define COMPARISON(NAME) \
    tg_tensor *tg_##NAME(tg_tensor *a, tg_tensor *b) { return tg_captured(tg_k_##NAME(a, b)); }
COMPARISON(eq)
COMPARISON(ne)
COMPARISON(lt)
COMPARISON(le)
COMPARISON(gt)
COMPARISON(ge)
#undef COMPARISON

tg_tensor *tg_in_range(tg_tensor *t, float lo, float hi) { return tg_captured(tg_k_in_range(t, lo, hi)); }
tg_tensor *tg_sign(tg_tensor *t) { return tg_captured(tg_k_sign(t)); }
int tg_all_finite(tg_tensor *t, float *bad) { return tg_k_all_finite(t, bad); }
tg_tensor *tg_argmax(tg_tensor *t, int dim, bool keepdim) { return tg_captured(tg_k_argmax(t, dim, keepdim)); }
tg_tensor *tg_argmin(tg_tensor *t, int dim, bool keepdim) { return tg_captured(tg_k_argmin(t, dim, keepdim)); }
tg_tensor *tg_one_hot(tg_tensor *labels, int64_t num_classes) { return tg_captured(tg_k_one_hot(labels, num_classes)); }
tg_tensor *tg_isclose(tg_tensor *a, tg_tensor *b, double rtol, double atol, bool equal_nan)
{
    return tg_captured(tg_k_isclose(a, b, rtol, atol, equal_nan));
}
int tg_allclose(tg_tensor *a, tg_tensor *b, double rtol, double atol, bool equal_nan)
{
    return tg_k_allclose(a, b, rtol, atol, equal_nan);
}
tg_tensor *tg_to_dtype(tg_tensor *t, tg_dtype dtype) { return tg_captured(tg_k_to_dtype(t, dtype)); }

int tg_fill_(tg_tensor *dst, double value)
{
    return check_unrecorded_write("fill_", dst) ? -1 : tg_k_fill_(dst, value);
}

int tg_copy_(tg_tensor *dst, tg_tensor *src)
{
    return check_unrecorded_write("copy_", dst) ? -1 : tg_k_copy_(dst, src);
}

int tg_axpy_(tg_tensor *a, float alpha, tg_tensor *b)
{
    return check_unrecorded_write("axpy_", a) ? -1 : tg_k_axpy_(a, alpha, b);
}

int tg_div_(tg_tensor *a, tg_tensor *b) { return check_unrecorded_write("div_", a) ? -1 : tg_k_div_(a, b); }

int tg_clamp_(tg_tensor *t, float lo, float hi)
{
    return check_unrecorded_write("clamp_", t) ? -1 : tg_k_clamp_(t, lo, hi);
}

int tg_scatter_add_(tg_tensor *dst, int dim, tg_tensor *index, tg_tensor *src)
{
    return check_unrecorded_write("scatter_add_", dst) ? -1 : tg_k_scatter_add_(dst, dim, index, src);
}

int tg_index_add_(tg_tensor *dst, int dim, tg_tensor *index, tg_tensor *src)
{
    return check_unrecorded_write("index_add_", dst) ? -1 : tg_k_index_add_(dst, dim, index, src);
}

int tg_gemm_(tg_tensor *c, tg_tensor *a, tg_tensor *b, float alpha, float beta)
{
    return check_unrecorded_write("gemm_", c) ? -1 : tg_k_gemm_into(c, a, b, alpha, beta);
}

int tg_sgd_update_(tg_tensor *p, tg_tensor *g, tg_tensor *buf, double lr, double momentum, double dampening,
                   double weight_decay, bool nesterov, bool first)
{
    if (check_unrecorded_write("sgd_update_", p)) return -1;
    return tg_k_sgd_update_(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first);
}

int tg_adamw_update_(tg_tensor *p, tg_tensor *g, tg_tensor *m, tg_tensor *v, double lr, double beta1,
                     double beta2, double eps, double weight_decay, int64_t step)
{
    if (check_unrecorded_write("adamw_update_", p)) return -1;
    return tg_k_adam_update_(p, g, m, v, NULL, (tg_adam_step){lr, beta1, beta2, eps, weight_decay, true, step});
}

int tg_momentum_update_(tg_tensor *k, tg_tensor *q, double momentum)
{
    return check_unrecorded_write("momentum_update_", k) ? -1 : tg_k_momentum_update_(k, q, momentum);
}

/* Gradient clipping (see clip.h). The norm is summed in double, tensor by
 * tensor in the list's order and each in memory order on one thread: the
 * same bits for any thread count. */
#include "nn/clip.h"

#include <math.h>

#include "autograd/autograd.h"
#include "tensor/internal/check.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/view.h"

/* The sum of |g|^p over g's elements (p finite), or their largest |g|
 * (p infinite; NaN if any is NaN), in double. */
static double power_sum(tg_tensor *g, double p)
{
    const float *d = tg_data_f32(g);
    int64_t n = tg_numel(g);
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = fabs((double)d[i]);
        if (isinf(p)) s = isnan(a) || isnan(s) ? NAN : fmax(s, a);
        else s += p == 2 ? a * a : p == 1 ? a : pow(a, p);
    }
    return s;
}

/* The norm of order p of every gradient of params as one vector. */
static int total_of(const tg_tensor_list *params, double p, double *total)
{
    double s = 0;
    for (int i = 0; i < params->n; i++) {
        tg_tensor *g = tg_grad(params->items[i].tensor), *gc = g ? tg_k_contiguous(g) : NULL;
        tg_release(g);
        if (g && !gc) return -1;
        if (!gc) continue;
        double part = power_sum(gc, p);
        tg_release(gc);
        s = isinf(p) ? (isnan(part) || isnan(s) ? NAN : fmax(s, part)) : s + part;
    }
    *total = isinf(p) ? s : pow(s, 1.0 / p);
    return 0;
}

/* Applies scale (or clamp to [-limit, limit]) to every gradient. */
static int each_grad(const tg_tensor_list *params, float scale, float limit, bool clamp)
{
    for (int i = 0; i < params->n; i++) {
        tg_tensor *g = tg_grad(params->items[i].tensor);
        if (!g) continue;
        int rc = clamp ? tg_k_clamp_(g, -limit, limit) : tg_k_mul_scalar_(g, scale);
        tg_release(g);
        if (rc) return -1;
    }
    return 0;
}

int tg_clip_grad_norm_(const tg_tensor_list *params, double max_norm, double norm_type,
                       bool error_if_nonfinite, double *total_norm)
{
    if (total_norm) *total_norm = NAN;
    if (TG_NEED("clip_grad_norm_", params)) return -1;
    if (!(norm_type > 0) || !(max_norm >= 0))
        return TG_FAIL("clip_grad_norm_: norm_type %g must be > 0 (INFINITY for the largest) and max_norm %g >= 0",
                       norm_type, max_norm);
    double total;
    if (total_of(params, norm_type, &total)) return -1;
    if (total_norm) *total_norm = total;
    if (error_if_nonfinite && !isfinite(total))
        return TG_FAIL("clip_grad_norm_: the total norm of order %g of the gradients is %g, so it cannot be "
                       "clipped (error_if_nonfinite)",
                       norm_type, total);
    float coef = (float)max_norm / ((float)total + 1e-6f);
    return coef < 1.0f || isnan(coef) ? each_grad(params, coef, 0, false) : 0;
}

int tg_clip_grad_value_(const tg_tensor_list *params, double clip_value)
{
    if (TG_NEED("clip_grad_value_", params)) return -1;
    if (!(clip_value >= 0)) return TG_FAIL("clip_grad_value_: clip_value %g must be >= 0", clip_value);
    return each_grad(params, 0, (float)clip_value, true);
}

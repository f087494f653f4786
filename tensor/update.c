/* Fused optimizer updates (see internal/update.h). Elementwise, so any split over
 * threads gives the same bits. */
#include "tensor/internal/update.h"

#include <math.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"

static int check(const char *op, tg_tensor *const *ts, int n)
{
    for (int i = 0; i < n; i++) {
        if (!ts[i]) return tg_need_argument(__FILE__, __LINE__, op, i + 1);
        if (ts[i]->dtype != TG_FLOAT32 || !tg_is_contiguous(ts[i]) || !tg_same_shape(ts[i], ts[0])) {
            char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
            return TG_FAIL("%s: operand %d (%s, shape %s) must be contiguous float32 of the parameter's shape %s", op,
                           i, tg_dtype_name(ts[i]->dtype), tg_shape_str(ts[i]->ndim, ts[i]->shape, b0, sizeof b0),
                           tg_shape_str(ts[0]->ndim, ts[0]->shape, b1, sizeof b1));
        }
    }
    return 0;
}

#define DATA(t) ((float *)(t)->storage->data + (t)->offset)

int tg_k_sgd_update_(tg_tensor *p, tg_tensor *g, tg_tensor *buf, double lr, double momentum, double dampening,
                     double weight_decay, bool nesterov, bool first)
{
    bool use_buf = momentum != 0.0;
    if (check("sgd_update_", (tg_tensor *[]){p, g, buf}, use_buf ? 3 : 2)) return -1;
    float *pd = DATA(p), *bd = use_buf ? DATA(buf) : NULL;
    const float *gd = DATA(g);
    const float wd = (float)weight_decay, mom = (float)momentum, damp = 1.0f - (float)dampening, rate = (float)lr;
    int64_t n = tg_numel(p);
#pragma omp parallel for if (n >= TG_PARALLEL_GRAIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float d = gd[i] + wd * pd[i];
        if (use_buf) {
            bd[i] = first ? d : mom * bd[i] + damp * d;
            d = nesterov ? d + mom * bd[i] : bd[i];
        }
        pd[i] -= rate * d;
    }
    tg_bump_version(p);
    if (use_buf) tg_bump_version(buf);
    return 0;
}

int tg_k_adamw_update_(tg_tensor *p, tg_tensor *g, tg_tensor *m, tg_tensor *v, double lr, double beta1,
                       double beta2, double eps, double weight_decay, int64_t step)
{
    if (check("adamw_update_", (tg_tensor *[]){p, g, m, v}, 4)) return -1;
    if (step < 1) return TG_FAIL("adamw_update_: step %lld (steps count from 1)", (long long)step);
    float *pd = DATA(p), *md = DATA(m), *vd = DATA(v);
    const float *gd = DATA(g);
    const float decay = (float)(1.0 - lr * weight_decay), b1 = (float)beta1, b2 = (float)beta2;
    const float step_size = (float)(lr / (1.0 - pow(beta1, (double)step)));
    const float inv_bc2_sqrt = (float)(1.0 / sqrt(1.0 - pow(beta2, (double)step))), e = (float)eps;
    int64_t n = tg_numel(p);
#pragma omp parallel for if (n >= TG_PARALLEL_GRAIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        pd[i] *= decay;
        md[i] = b1 * md[i] + (1.0f - b1) * gd[i];
        vd[i] = b2 * vd[i] + (1.0f - b2) * gd[i] * gd[i];
        pd[i] -= step_size * md[i] / (sqrtf(vd[i]) * inv_bc2_sqrt + e);
    }
    tg_bump_version(p);
    tg_bump_version(m);
    tg_bump_version(v);
    return 0;
}

int tg_k_momentum_update_(tg_tensor *k, tg_tensor *q, double momentum)
{
    if (check("momentum_update_", (tg_tensor *[]){k, q}, 2)) return -1;
    float *kd = DATA(k);
    const float *qd = DATA(q);
    const float m = (float)momentum, rest = (float)(1.0 - momentum);
    int64_t n = tg_numel(k);
#pragma omp parallel for if (n >= TG_PARALLEL_GRAIN) schedule(static)
    for (int64_t i = 0; i < n; i++) kd[i] = kd[i] * m + qd[i] * rest;
    tg_bump_version(k);
    return 0;
}

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

/* The first required operands, and those of the rest that are there (not
 * NULL), into out: what check() takes; their count. */
static int present(tg_tensor **all, int n, int required, tg_tensor **out)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (all[i] || i < required) out[k++] = all[i];
    return k;
}

int tg_k_adam_update_(tg_tensor *p, tg_tensor *g, tg_tensor *m, tg_tensor *v, tg_tensor *vmax, tg_adam_step a)
{
    tg_tensor *ops[5];
    if (check("adam_update_", ops, present((tg_tensor *[]){p, g, m, v, vmax}, 5, 4, ops))) return -1;
    if (a.step < 1) return TG_FAIL("adam_update_: step %lld (steps count from 1)", (long long)a.step);
    float *pd = DATA(p), *md = DATA(m), *vd = DATA(v), *xd = vmax ? DATA(vmax) : NULL;
    const float *gd = DATA(g);
    const float decay = a.decoupled ? (float)(1.0 - a.lr * a.weight_decay) : 1.0f;
    const float l2 = a.decoupled ? 0.0f : (float)a.weight_decay, b1 = (float)a.beta1, b2 = (float)a.beta2;
    const float rest1 = (float)(1.0 - a.beta1), rest2 = (float)(1.0 - a.beta2), e = (float)a.eps;
    const float step_size = (float)(a.lr / (1.0 - pow(a.beta1, (double)a.step)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(a.beta2, (double)a.step));
    int64_t n = tg_numel(p);
#pragma omp parallel for if (n >= TG_PARALLEL_GRAIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = l2 != 0.0f ? gd[i] + l2 * pd[i] : gd[i];
        pd[i] *= decay;
        md[i] = b1 * md[i] + rest1 * gi;
        vd[i] = b2 * vd[i] + rest2 * gi * gi;
        float second = vd[i];
        if (xd) second = xd[i] = fmaxf(xd[i], vd[i]);
        pd[i] -= step_size * (md[i] / (sqrtf(second) / bc2_sqrt + e));
    }
    tg_bump_version(p);
    tg_bump_version(m);
    tg_bump_version(v);
    if (vmax) tg_bump_version(vmax);
    return 0;
}

int tg_k_rmsprop_update_(tg_tensor *p, tg_tensor *g, tg_tensor *sq, tg_tensor *avg, tg_tensor *buf,
                         tg_rmsprop_step r)
{
    tg_tensor *ops[5];
    if (check("rmsprop_update_", ops, present((tg_tensor *[]){p, g, sq, avg, buf}, 5, 3, ops))) return -1;
    float *pd = DATA(p), *sd = DATA(sq), *ad = avg ? DATA(avg) : NULL, *bd = buf ? DATA(buf) : NULL;
    const float *gd = DATA(g);
    const float wd = (float)r.weight_decay, alpha = (float)r.alpha, rest = (float)(1.0 - r.alpha);
    const float e = (float)r.eps, mom = (float)r.momentum, rate = (float)r.lr;
    int64_t n = tg_numel(p);
#pragma omp parallel for if (n >= TG_PARALLEL_GRAIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = wd != 0.0f ? gd[i] + wd * pd[i] : gd[i];
        sd[i] = alpha * sd[i] + rest * gi * gi;
        float mean_sq = sd[i];
        if (ad) {
            ad[i] = alpha * ad[i] + rest * gi;
            mean_sq -= ad[i] * ad[i];
        }
        float d = sqrtf(mean_sq) + e;
        if (bd) {
            bd[i] = mom * bd[i] + gi / d;
            pd[i] -= rate * bd[i];
        } else {
            pd[i] -= rate * (gi / d);
        }
    }
    tg_bump_version(p);
    tg_bump_version(sq);
    if (avg) tg_bump_version(avg);
    if (buf) tg_bump_version(buf);
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

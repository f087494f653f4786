/* Cross-entropy: per position a stable log-sum-exp over the classes, the
 * loss w[t] (lse - x[t]) (mixed with the mean over the classes under label
 * smoothing), and in the backward softmax - onehot, in one pass each over
 * the logits (checks, layout and reductions: tensor/class_targets.c).
 * Positions are walked in chunks fixed by the shape alone. With many positions per sample (N,C,H,W) a chunk is a run of
 * neighbouring positions and the class loop is the outer one, so the inner
 * loop runs along positions (unit stride in NCHW) and vectorises; with one
 * position per sample (N,C) a chunk is a few rows, each walked along its
 * classes. exp is a polynomial the compiler can vectorise. */
#include "tensor/internal/loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/class_targets.h"
#include "tensor/internal/exp_lane.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

enum { COLS = TG_CLASS_COLS, LANES = 8 };

/* ---- forward ---- */

/* The loss at one position from its lse l, its target k (counted) and its
 * logits x at stride xc: w[k] (l - x[k]), under smoothing eps mixed as
 * (1 - eps) of it and eps / C of the sum over the classes c of w[c] (l - x[c]). */
static double position_loss(const tg_class_args *a, const float *x, int64_t xc, double l, int64_t k)
{
    const tg_class_layout *L = &a->L;
    double loss = L->w ? (double)L->w[k] * (l - (double)x[k * xc]) : l - (double)x[k * xc];
    if (a->smoothing == 0.0f) return loss;
    double all = 0.0;
    for (int64_t c = 0; c < L->c; c++) all += (double)tg_class_weight(L, c) * (l - (double)x[c * xc]);
    return (1.0 - a->smoothing) * loss + a->smoothing / (double)L->c * all;
}

/* Per-position max and sum of exp(x - max) over the classes of len
 * neighbouring positions at stride xs; inlined with xs == 1 to vectorise. */
static inline __attribute__((always_inline)) void column_stats(const float *x, int64_t c, int64_t xc, int64_t xs,
                                                               int64_t len, float *m, double *sum)
{
    for (int64_t j = 0; j < len; j++) {
        m[j] = -INFINITY;
        sum[j] = 0.0;
    }
    for (int64_t k = 0; k < c; k++)
        for (int64_t j = 0; j < len; j++) {
            float v = x[k * xc + j * xs];
            m[j] = max_nan(m[j], v);
        }
    for (int64_t k = 0; k < c; k++)
        for (int64_t j = 0; j < len; j++) sum[j] += exp_lane(x[k * xc + j * xs] - m[j]);
}

/* Positions s0.. of sample n: their lse into lse, their losses into per
 * (or NULL), the sum of their losses returned. */
static double column_forward(const tg_class_args *a, int64_t n, int64_t s0, int64_t len, float *lse, float *per)
{
    const tg_class_layout *L = &a->L;
    const float *x = L->x + n * L->xn + s0 * L->xs;
    const int64_t *t = L->t + n * L->tn + s0 * L->ts;
    float m[COLS];
    double sum[COLS], loss = 0.0;
    if (L->xs == 1) column_stats(x, L->c, L->xc, 1, len, m, sum);
    else column_stats(x, L->c, L->xc, L->xs, len, m, sum);
    for (int64_t j = 0; j < len; j++) {
        double l = (double)m[j] + log(sum[j]);
        lse[j] = (float)l;
        int64_t k = t[j * L->ts];
        double pl = k != L->ignore ? position_loss(a, x + j * L->xs, L->xc, l, k) : 0.0;
        loss += pl;
        if (per) per[j] = (float)pl;
    }
    return loss;
}

/* log-sum-exp of one row of c classes at stride xc: the max in LANES
 * partial maxima (exact in any order), then the sum in LANES partial sums. */
static inline __attribute__((always_inline)) double row_lse(const float *x, int64_t c, int64_t xc)
{
    float mx[LANES];
    for (int j = 0; j < LANES; j++) mx[j] = -INFINITY;
    int64_t i = 0;
    for (; i + LANES <= c; i += LANES)
        for (int j = 0; j < LANES; j++) mx[j] = max_nan(mx[j], x[(i + j) * xc]);
    float m = -INFINITY;
    for (int j = 0; j < LANES; j++) m = max_nan(m, mx[j]);
    for (; i < c; i++) m = max_nan(m, x[i * xc]);
    double acc[LANES] = {0};
    for (i = 0; i + LANES <= c; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += exp_lane(x[(i + j) * xc] - m);
    for (; i < c; i++) acc[0] += exp_lane(x[i * xc] - m);
    double sum = 0.0;
    for (int j = 0; j < LANES; j++) sum += acc[j];
    return (double)m + log(sum);
}

/* Rows n0.. (one position each): their lse and losses, their losses' sum. */
static double row_forward(const tg_class_args *a, int64_t n0, int64_t len, float *lse, float *per)
{
    const tg_class_layout *L = &a->L;
    double loss = 0.0;
    for (int64_t r = 0; r < len; r++) {
        const float *x = L->x + (n0 + r) * L->xn;
        double l = L->xc == 1 ? row_lse(x, L->c, 1) : row_lse(x, L->c, L->xc);
        lse[r] = (float)l;
        int64_t k = L->t[(n0 + r) * L->tn];
        double pl = k != L->ignore ? position_loss(a, x, L->xc, l, k) : 0.0;
        loss += pl;
        if (per) per[r] = (float)pl;
    }
    return loss;
}

static double chunk_forward(const tg_class_args *a, int64_t k, float *lse, float *per)
{
    const tg_class_layout *L = &a->L;
    int64_t n, s0, len;
    tg_class_chunk_at(L, k, &n, &s0, &len);
    int64_t at = n * L->s + s0;
    return L->s == 1 ? row_forward(a, n, len, lse + at, per ? per + at : NULL)
                     : column_forward(a, n, s0, len, lse + at, per ? per + at : NULL);
}

/* The loss over a's positions, lse into lse; NULL with error. */
static tg_tensor *forward(const tg_class_args *a, tg_tensor *lse, tg_tensor *per)
{
    const tg_class_layout *L = &a->L;
    int64_t nchunks = tg_class_chunk_count(L);
    double *part = malloc((size_t)(nchunks ? nchunks : 1) * sizeof *part);
    if (!part) {
        TG_FAIL("cross_entropy: out of memory");
        return NULL;
    }
    float *l = tg_data_f32(lse), *p = per ? tg_data_f32(per) : NULL;
#pragma omp parallel for if (L->n * L->s * L->c >= TG_PARALLEL_GRAIN && nchunks > 1) schedule(static)
    for (int64_t k = 0; k < nchunks; k++) part[k] = chunk_forward(a, k, l, p);
    tg_tensor *out = tg_class_reduce(a, part, nchunks, per);
    free(part);
    return out;
}

tg_tensor *tg_k_cross_entropy(tg_tensor *logits, tg_tensor *target, const tg_cross_entropy_opts *opts,
                              tg_tensor **lse)
{
    if (lse) *lse = NULL;
    if (TG_NEED("cross_entropy", logits, target)) return NULL;
    tg_class_args a;
    tg_tensor *out = NULL, *l = NULL, *per = NULL;
    if (!tg_class_args_open(&a, "cross_entropy", logits, target, opts)) {
        l = tg_empty(target->ndim, target->shape, TG_FLOAT32);
        per = tg_class_per_position(&a, target);
    }
    if (l && (per || a.reduction != TG_REDUCTION_NONE)) out = forward(&a, l, per);
    tg_class_args_close(&a);
    if (out && lse) *lse = tg_retain(l);
    tg_release(l);
    tg_release(per);
    return out;
}

/* ---- backward ---- */

/* Columns s0.. of sample n: softmax * coef[j] into o (N,C,S) where keep[j]
 * (the target counts), else 0. */
static inline __attribute__((always_inline)) void column_grad(const tg_class_layout *L, const float *x, int64_t xs,
                                                              const int32_t *keep, const float *lse,
                                                              const float *coef, int64_t len, float *o)
{
    for (int64_t k = 0; k < L->c; k++)
        for (int64_t j = 0; j < len; j++)
            o[k * L->s + j] = pick(keep[j] != 0, exp_lane(x[k * L->xc + j * xs] - lse[j]) * coef[j], 0.0f);
}

/* The factor of the softmax at a counted position with target k and
 * incoming gradient g: g w[k], under smoothing g ((1 - eps) w[k] + eps / C
 * sum_c w[c]). */
static float softmax_coef(const tg_class_args *a, float g, int64_t k, float wsum)
{
    float wk = tg_class_weight(&a->L, k);
    if (a->smoothing == 0.0f) return a->L.w ? g * wk : g;
    return g * ((1.0f - a->smoothing) * wk + a->smoothing / (float)a->L.c * wsum);
}

/* Subtracts the target's share from the softmax term o of one counted
 * position (classes at stride os): g w[k] at k (computed as (p - 1) coef
 * when unsmoothed), under smoothing g (1 - eps) w[k] at k and
 * g eps / C w[c] at every c. */
static void subtract_target(const tg_class_args *a, float *o, int64_t os, float p, float coef, float g, int64_t k)
{
    const tg_class_layout *L = &a->L;
    if (a->smoothing == 0.0f) {
        o[k * os] = (p - 1.0f) * coef;
        return;
    }
    for (int64_t c = 0; c < L->c; c++) o[c * os] -= g * a->smoothing / (float)L->c * tg_class_weight(L, c);
    o[k * os] -= g * (1.0f - a->smoothing) * tg_class_weight(L, k);
}

/* The gradient of chunk (n, s0, len): softmax times each position's factor,
 * then the target's share subtracted. */
static void column_backward(const tg_class_args *a, const tg_class_grad *gs, float wsum, int64_t n, int64_t s0,
                            int64_t len, const float *lse, float *out)
{
    const tg_class_layout *L = &a->L;
    const float *x = L->x + n * L->xn + s0 * L->xs;
    const int64_t *t = L->t + n * L->tn + s0 * L->ts;
    int32_t keep[COLS];
    float coef[COLS];
    for (int64_t j = 0; j < len; j++) {
        keep[j] = t[j * L->ts] != L->ignore;
        coef[j] = keep[j] ? softmax_coef(a, tg_class_grad_at(gs, L, n, s0 + j), t[j * L->ts], wsum) : 0.0f;
    }
    float *o = out + n * L->c * L->s + s0;
    if (L->xs == 1) column_grad(L, x, 1, keep, lse, coef, len, o);
    else column_grad(L, x, L->xs, keep, lse, coef, len, o);
    for (int64_t j = 0; j < len; j++) {
        int64_t k = t[j * L->ts];
        if (!keep[j]) continue;
        float p = exp_lane(x[k * L->xc + j * L->xs] - lse[j]);
        subtract_target(a, o + j, L->s, p, coef[j], tg_class_grad_at(gs, L, n, s0 + j), k);
    }
}

static void row_backward(const tg_class_args *a, const tg_class_grad *gs, float wsum, int64_t n0, int64_t len,
                         const float *lse, float *out)
{
    const tg_class_layout *L = &a->L;
    for (int64_t r = 0; r < len; r++) {
        const float *x = L->x + (n0 + r) * L->xn;
        int64_t t = L->t[(n0 + r) * L->tn];
        float *o = out + (n0 + r) * L->c;
        if (t == L->ignore) {
            memset(o, 0, (size_t)L->c * sizeof *o);
            continue;
        }
        float g = tg_class_grad_at(gs, L, n0 + r, 0), coef = softmax_coef(a, g, t, wsum);
        for (int64_t k = 0; k < L->c; k++) o[k] = exp_lane(x[k * L->xc] - lse[r]) * coef;
        subtract_target(a, o, 1, exp_lane(x[t * L->xc] - lse[r]), coef, g, t);
    }
}

static void chunk_backward(const tg_class_args *a, const tg_class_grad *gs, float wsum, int64_t k, const float *lse,
                           float *out)
{
    const tg_class_layout *L = &a->L;
    int64_t n, s0, len;
    tg_class_chunk_at(L, k, &n, &s0, &len);
    if (L->s == 1) row_backward(a, gs, wsum, n, len, lse + n, out);
    else column_backward(a, gs, wsum, n, s0, len, lse + n * L->s + s0, out);
}

/* The sum of the class weights (C without weights). */
static float weight_sum(const tg_class_layout *L)
{
    double sum = 0.0;
    for (int64_t c = 0; c < L->c; c++) sum += tg_class_weight(L, c);
    return (float)sum;
}

/* The gradient at a's positions, in a new tensor shaped like the logits. */
static tg_tensor *backward(const tg_class_args *a, const tg_class_grad *gs, tg_tensor *lse, const tg_tensor *logits)
{
    tg_tensor *out = tg_empty(logits->ndim, logits->shape, TG_FLOAT32);
    if (!out) return NULL;
    const tg_class_layout *L = &a->L;
    const float *l = tg_data_f32(lse);
    float *o = tg_data_f32(out), wsum = weight_sum(L);
    int64_t nchunks = tg_class_chunk_count(L);
#pragma omp parallel for if (L->n * L->s * L->c >= TG_PARALLEL_GRAIN && nchunks > 1) schedule(static)
    for (int64_t k = 0; k < nchunks; k++) chunk_backward(a, gs, wsum, k, l, o);
    return out;
}

tg_tensor *tg_k_cross_entropy_backward(tg_tensor *g, tg_tensor *logits, tg_tensor *target, tg_tensor *lse,
                                       const tg_cross_entropy_opts *opts)
{
    if (TG_NEED("cross_entropy_backward", g, logits, target, lse)) return NULL;
    if (lse->dtype != TG_FLOAT32 || !tg_same_shape(lse, target)) {
        TG_FAIL("cross_entropy_backward: lse must be float32 of the target's shape");
        return NULL;
    }
    tg_class_args a;
    tg_class_grad gs = {0};
    tg_tensor *l = NULL, *out = NULL;
    if (!tg_class_args_open(&a, "cross_entropy", logits, target, opts) &&
        !tg_class_grad_open(&gs, &a, g, "cross_entropy"))
        l = tg_k_contiguous(lse);
    if (l) out = backward(&a, &gs, l, logits);
    tg_class_grad_close(&gs);
    tg_class_args_close(&a);
    tg_release(l);
    return out;
}

/* Gradcheck rows: batch norm (training with and without affine, 2-D, 3-D
 * and 4-D, split into groups, non-contiguous, eval mode), batch norm with
 * a relu (and a residual) fused, and 2-D pooling (max, average, adaptive
 * average). */
#include <stdlib.h>

#include "gradcheck_cases.h"

#define MOMENTUM 0.1f
#define EPS 1e-5f

/* ---- batch norm ---- */

/* Training rows pass no running statistics: gradcheck evaluates the row
 * many times and an update would change nothing it checks. */
#define BN(NAME, W, B, GROUPS) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) \
    { \
        (void)c; \
        return tg_batch_norm(x[0], NULL, NULL, W, B, true, MOMENTUM, EPS, GROUPS); \
    }
BN(bn_affine, x[1], x[2], 1)
BN(bn_plain, NULL, NULL, 1)
BN(bn_weight_only, x[1], NULL, 1)
BN(bn_bias_only, NULL, x[1], 1)
BN(bn_groups2, x[1], x[2], 2)
BN(bn_groups3_plain, NULL, NULL, 3)
#undef BN

/* SyncBN in a job of one: plain batch norm (tests/autograd/test_sync_batch_norm.c
 * holds its parts across ranks against the whole batch's batch norm). */
static tg_tensor *f_sync_bn(tg_tensor *const *x, void *c)
{
    (void)c;
    return tg_sync_batch_norm(x[0], NULL, NULL, x[1], x[2], true, MOMENTUM, EPS);
}

/* Training with fresh running statistics each call, so every evaluation
 * runs the in-place update too and sees the same inputs. */
static tg_tensor *f_bn_running(tg_tensor *const *x, void *c)
{
    (void)c;
    int64_t ch = x[0]->shape[1];
    tg_tensor *rm = tg_zeros(1, &ch, TG_FLOAT32), *rv = tg_ones(1, &ch, TG_FLOAT32);
    tg_tensor *out = tg_batch_norm(x[0], rm, rv, x[1], x[2], true, MOMENTUM, EPS, 2);
    tg_release(rm), tg_release(rv);
    return out;
}

/* Eval: running statistics are constant inputs x[1], x[2]. */
static tg_tensor *f_bn_eval(tg_tensor *const *x, void *c)
{
    (void)c;
    return tg_batch_norm(x[0], x[1], x[2], x[3], NULL, false, MOMENTUM, EPS, 1);
}

static tg_tensor *f_bn_eval_plain(tg_tensor *const *x, void *c)
{
    (void)c;
    return tg_batch_norm(x[0], x[1], x[2], NULL, NULL, false, MOMENTUM, EPS, 1);
}

/* Eval with weight and bias; the running statistics are made here. groups
 * has no effect in eval (every sample uses the running statistics), so 4
 * need not divide N. */
static tg_tensor *f_bn_eval_affine(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *rm = tg_from_data(TG_SHAPE(2), TG_FLOAT32, (const float[]){0.3f, -0.2f});
    tg_tensor *rv = tg_from_data(TG_SHAPE(2), TG_FLOAT32, (const float[]){0.5f, 2.0f});
    tg_tensor *out = tg_batch_norm(x[0], rm, rv, x[1], x[2], false, MOMENTUM, EPS, 4);
    tg_release(rm), tg_release(rv);
    return out;
}

/* ---- batch norm + relu ---- */

/* The relu'd rows keep every value away from the relu's kink, where a
 * finite difference would cross it: x (N,C,...) is moved 8 up or down by
 * the parity of its sample plus its place in the channel, so each group's
 * values of a channel sit in two clusters (their sizes at most 1 apart)
 * and normalise to about +-1, at least 0.39 off 0; the weight is 8 + x1
 * (7 to 9) and the bias x2 and residual x3 are within 1, so the kink, at a
 * normalised value of -(bias + residual) / weight, stays within 0.29 of
 * 0. */
static tg_tensor *lifted(tg_tensor *x)
{
    int64_t n = tg_numel(x), sample = n / x->shape[0], plane = sample / x->shape[1];
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return NULL;
    for (int64_t i = 0; i < n; i++) v[i] = (i / sample + i % plane) % 2 ? 8.0f : -8.0f;
    tg_tensor *pattern = tg_from_data(x->ndim, x->shape, TG_FLOAT32, v);
    free(v);
    tg_tensor *out = tg_add(x, pattern);
    tg_release(pattern);
    return out;
}

/* A relu'd row: inputs x (then weight and bias when affine, then the
 * residual when residual); transposed: the lifted x and the residual go in
 * as transposed views; eval: running statistics 0 and 64. */
typedef struct {
    bool affine, residual, transposed, eval;
    int groups;
} relu_row;

/* A transposed view of *t in place of it (released). */
static void transpose_in_place(tg_tensor **t)
{
    tg_tensor *v = *t ? tg_transpose(*t, -2, -1) : NULL;
    tg_release(*t);
    *t = v;
}

static tg_tensor *bn_relu_of(tg_tensor *const *x, relu_row r)
{
    int64_t ch = x[0]->shape[1];
    tg_tensor *h = lifted(x[0]), *w = r.affine ? tg_add_scalar(x[1], 8.0f) : NULL, *b = r.affine ? x[2] : NULL;
    tg_tensor *res = r.residual ? tg_retain(x[r.affine ? 3 : 1]) : NULL;
    tg_tensor *rm = r.eval ? tg_zeros(1, &ch, TG_FLOAT32) : NULL, *rv = r.eval ? tg_full(1, &ch, 64.0f) : NULL;
    if (r.transposed) transpose_in_place(&h), transpose_in_place(&res);
    tg_tensor *out = r.residual ? tg_batch_norm_add_relu(h, res, rm, rv, w, b, !r.eval, MOMENTUM, EPS, r.groups)
                                : tg_batch_norm_relu(h, rm, rv, w, b, !r.eval, MOMENTUM, EPS, r.groups);
    tg_release(h), tg_release(w), tg_release(res), tg_release(rm), tg_release(rv);
    return out;
}

#define BN_RELU(NAME, ...) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) \
    { \
        (void)c; \
        return bn_relu_of(x, (relu_row){__VA_ARGS__}); \
    }
BN_RELU(bnr_affine, .affine = true, .groups = 1)
BN_RELU(bnr_plain, .groups = 1)
BN_RELU(bnr_groups2, .affine = true, .groups = 2)
BN_RELU(bnr_transposed, .affine = true, .transposed = true, .groups = 1)
BN_RELU(bnr_eval, .affine = true, .eval = true, .groups = 1)
BN_RELU(bnar_affine, .affine = true, .residual = true, .groups = 1)
BN_RELU(bnar_groups2_transposed, .affine = true, .residual = true, .transposed = true, .groups = 2)
BN_RELU(bnar_eval, .affine = true, .residual = true, .eval = true, .groups = 1)
#undef BN_RELU

/* ---- pooling ---- */

/* x plus a constant of distinct values spaced 4 apart in a scrambled
 * order: each window's maximum then stays where it is when gradcheck
 * moves an element of x (|x| <= 1), so no ties. */
static int64_t gcd(int64_t a, int64_t b) { return b ? gcd(b, a % b) : a; }

static tg_tensor *spread(tg_tensor *x)
{
    int64_t n = tg_numel(x), step = 7;
    while (gcd(n, step) != 1) step += 2;
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return NULL;
    for (int64_t i = 0; i < n; i++) v[i] = 4.0f * (float)((i * step) % n);
    tg_tensor *ramp = tg_from_data(x->ndim, x->shape, TG_FLOAT32, v);
    free(v);
    tg_tensor *out = tg_add(x, ramp);
    tg_release(ramp);
    return out;
}

static tg_tensor *max_spread(tg_tensor *x, tg_pool2d_opts o)
{
    tg_tensor *y = spread(x), *out = tg_max_pool2d(y, o);
    tg_release(y);
    return out;
}

#define POOL(NAME, OP, ...) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) \
    { \
        (void)c; \
        return OP(x[0], (tg_pool2d_opts){__VA_ARGS__}); \
    }
POOL(max_k3s2p1, max_spread, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1})
POOL(max_k2s2, max_spread, .kernel = {2, 2})
POOL(max_ceil, max_spread, .kernel = {2, 2}, .stride = {2, 2}, .ceil_mode = true)
POOL(max_dilated, max_spread, .kernel = {2, 3}, .stride = {1, 2}, .padding = {1, 1}, .dilation = {2, 2})
POOL(avg_pad_counted, tg_avg_pool2d, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1},
     .count_include_pad = true)
POOL(avg_pad_not_counted, tg_avg_pool2d, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1})
POOL(avg_ceil, tg_avg_pool2d, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true,
     .count_include_pad = true)
POOL(avg_ceil_not_counted, tg_avg_pool2d, .kernel = {3, 2}, .stride = {2, 2}, .ceil_mode = true)
#undef POOL

/* Max pooling of a transposed (non-contiguous) view of the spread input. */
static tg_tensor *f_max_transposed(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *y = spread(x[0]), *t = tg_transpose(y, 2, 3);
    tg_tensor *out = tg_max_pool2d(t, (tg_pool2d_opts){.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}});
    tg_release(y), tg_release(t);
    return out;
}

static tg_tensor *f_adaptive_1(tg_tensor *const *x, void *c) { (void)c; return tg_adaptive_avg_pool2d(x[0], 1, 1); }
static tg_tensor *f_adaptive_3(tg_tensor *const *x, void *c) { (void)c; return tg_adaptive_avg_pool2d(x[0], 3, 3); }
static tg_tensor *f_adaptive_3x2(tg_tensor *const *x, void *c) { (void)c; return tg_adaptive_avg_pool2d(x[0], 3, 2); }

const gc_case gc_norm[] = {
    {"batch_norm 2-D affine", f_bn_affine, "6,3|3|3"},
    {"batch_norm 2-D no affine", f_bn_plain, "6,3"},
    {"batch_norm 2-D transposed", f_bn_affine, "5,3T|3|3"},
    {"batch_norm 3-D weight only", f_bn_weight_only, "3,2,4|2"},
    {"batch_norm 4-D affine", f_bn_affine, "3,2,3,3|2|2"},
    {"batch_norm 4-D no affine", f_bn_plain, "3,2,3,3"},
    {"batch_norm 4-D bias only", f_bn_bias_only, "2,3,2,2|3"},
    {"batch_norm 4-D transposed", f_bn_affine, "2,2,3,4T|2|2"},
    {"batch_norm groups 2", f_bn_groups2, "4,2,2,3|2|2"},
    {"sync_batch_norm (one rank)", f_sync_bn, "3,2,3,3|2|2"},
    {"batch_norm groups 3 no affine", f_bn_groups3_plain, "6,2,3"},
    {"batch_norm running stats updated", f_bn_running, "4,2,3|2|2"},
    {"batch_norm eval", f_bn_eval, "3,2,2,2|2N|2+N|2"},
    {"batch_norm eval no affine", f_bn_eval_plain, "4,3|3N|3+N"},
    {"batch_norm eval affine", f_bn_eval_affine, "3,2,3T|2|2"},
    {"batch_norm_relu 4-D affine", f_bnr_affine, "3,2,3,4|2|2"},
    {"batch_norm_relu 2-D no affine", f_bnr_plain, "6,3"},
    {"batch_norm_relu groups 2", f_bnr_groups2, "4,2,2,3|2|2"},
    {"batch_norm_relu groups 2 narrow", f_bnr_groups2, "6,70|70|70"},
    {"batch_norm_relu transposed", f_bnr_transposed, "2,2,3,4|2|2"},
    {"batch_norm_relu eval", f_bnr_eval, "3,2,2,2|2|2"},
    {"batch_norm_add_relu 4-D affine", f_bnar_affine, "3,2,3,4|2|2|3,2,3,4"},
    {"batch_norm_add_relu groups 2 transposed", f_bnar_groups2_transposed, "4,2,3,4|2|2|4,2,3,4"},
    {"batch_norm_add_relu eval", f_bnar_eval, "3,2,2,3|2|2|3,2,2,3T"},
    {"max_pool2d k3 s2 p1", f_max_k3s2p1, "2,2,5,5"},
    {"max_pool2d k2 s2", f_max_k2s2, "1,2,4,6"},
    {"max_pool2d ceil_mode", f_max_ceil, "1,2,5,5"},
    {"max_pool2d dilation 2", f_max_dilated, "1,2,6,7"},
    {"max_pool2d transposed", f_max_transposed, "1,2,5,6"},
    {"avg_pool2d count_include_pad", f_avg_pad_counted, "2,2,5,5"},
    {"avg_pool2d padding not counted", f_avg_pad_not_counted, "2,2,5,5"},
    {"avg_pool2d ceil_mode", f_avg_ceil, "1,2,6,6"},
    {"avg_pool2d ceil_mode not counted", f_avg_ceil_not_counted, "1,2,6,5"},
    {"avg_pool2d transposed", f_avg_pad_counted, "1,2,5,4T"},
    {"adaptive_avg_pool2d 7x7 to 1x1", f_adaptive_1, "1,2,7,7"},
    {"adaptive_avg_pool2d 5x5 to 3x3", f_adaptive_3, "2,2,5,5"},
    {"adaptive_avg_pool2d transposed 5x6 to 3x2", f_adaptive_3x2, "1,2,5,6T"},
    GC_END,
};

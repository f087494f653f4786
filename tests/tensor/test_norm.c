/* Batch norm and 2-D pooling: values against hand-computed numbers, the
 * running-statistics update, the one-pass statistics against a two-pass
 * reference, the fused batch norm + relu kernels against the unfused ones
 * bit for bit, output-size rules (ceil_mode), ties and NaN in max pooling,
 * error messages and thread-count independence. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

#define TOL 1e-5f

/* Checks t's shape and its values (to TOL relative), then releases t. */
#define EXPECT(t, SHAPE, ...) expect_close(t, SHAPE, (const float[]){__VA_ARGS__}, TOL)

/* Asserts the last error mentions each of the given strings. */
static void expect_error(const void *result, const char *a, const char *b)
{
    ck_assert_ptr_null(result);
    ck_assert_msg(strstr(tg_last_error(), a) && strstr(tg_last_error(), b), "error: %s", tg_last_error());
    tg_clear_error();
}

static tg_tensor *vec(float a, float b) { return tg_from_data(S(2), TG_FLOAT32, (const float[]){a, b}); }

/* (4,2): channel 1 is ten times channel 0 = 1, 2, 3, 4. */
static tg_tensor *columns(void)
{
    return tg_from_data(S(4, 2), TG_FLOAT32, (const float[]){1, 10, 2, 20, 3, 30, 4, 40});
}

/* ---- batch norm ---- */

/* mean 2.5 and biased variance 1.25 per channel (eps 0): y = (x - 2.5) /
 * sqrt(1.25); running stats blend in the unbiased variance 5/3 (500/3). */
START_TEST(test_bn_training_values)
{
    tg_tensor *x = columns(), *rm = vec(0, 0), *rv = vec(1, 1), *w = vec(2, -1), *b = vec(0.5f, 0);
    uint64_t v0 = tg_version(rm);
    float k = 1.0f / sqrtf(1.25f);
    EXPECT(tg_batch_norm(x, rm, rv, w, b, true, 0.1f, 0.0f, 1), S(4, 2), -3 * k + 0.5f, 1.5f * k, -k + 0.5f,
           0.5f * k, k + 0.5f, -0.5f * k, 3 * k + 0.5f, -1.5f * k);
    EXPECT(tg_retain(rm), S(2), 0.25f, 2.5f);
    EXPECT(tg_retain(rv), S(2), 0.9f + 0.1f * 5 / 3, 0.9f + 0.1f * 500 / 3);
    ck_assert(tg_version(rm) > v0);
    EXPECT(tg_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1f, 0.0f, 1), S(4, 2), -1.5f * k, -1.5f * k,
           -0.5f * k, -0.5f * k, 0.5f * k, 0.5f * k, 1.5f * k, 1.5f * k);
    tg_release(x), tg_release(rm), tg_release(rv), tg_release(w), tg_release(b);
}
END_TEST

/* Groups of 2 consecutive samples: (1,2) and (3,4), each mean +- 0.5 with
 * variance 0.25, so y = -1, 1, -1, 1; running stats take the means over
 * groups (mean 2.5, unbiased variance 0.5). */
START_TEST(test_bn_groups_values)
{
    tg_tensor *x = columns(), *rm = vec(0, 0), *rv = vec(1, 1);
    EXPECT(tg_batch_norm(x, rm, rv, NULL, NULL, true, 0.1f, 0.0f, 2), S(4, 2), -1, -1, 1, 1, -1, -1, 1, 1);
    EXPECT(tg_retain(rm), S(2), 0.25f, 2.5f);
    EXPECT(tg_retain(rv), S(2), 0.9f + 0.1f * 0.5f, 0.9f + 0.1f * 50);
    tg_tensor *mean, *var;
    ck_assert_int_eq(tg_k_batch_norm_stats(x, 2, &mean, &var), 0);
    EXPECT(mean, S(2, 2), 1.5f, 15, 3.5f, 35);
    EXPECT(var, S(2, 2), 0.25f, 25, 0.25f, 25);
    tg_release(x), tg_release(rm), tg_release(rv);
}
END_TEST

/* Eval normalises with the running statistics, leaves them alone, and
 * ignores groups. */
START_TEST(test_bn_eval_values)
{
    tg_tensor *x = columns(), *rm = vec(1, 10), *rv = vec(4, 100), *b = vec(0, 1);
    uint64_t v0 = tg_version(rm);
    EXPECT(tg_batch_norm(x, rm, rv, NULL, b, false, 0.1f, 0.0f, 3), S(4, 2), 0, 1, 0.5f, 2, 1, 3, 1.5f, 4);
    ck_assert_int_eq(tg_version(rm), v0);
    EXPECT(tg_retain(rm), S(2), 1, 10);
    tg_release(x), tg_release(rm), tg_release(rv), tg_release(b);
}
END_TEST

/* 4-D statistics over N and the spatial dims, and the backward kernel's
 * simplest forms: eval dx = g w invstd, dbias = sum(g), and in training
 * a uniform g gives dx = 0. */
START_TEST(test_bn_4d_and_backward)
{
    tg_tensor *x = tg_arange(1, 9, 1), *x4 = tg_k_view(x, S(2, 1, 2, 2)), *mean, *var;
    ck_assert_int_eq(tg_k_batch_norm_stats(x4, 1, &mean, &var), 0);
    EXPECT(tg_retain(mean), S(1, 1), 4.5f);
    EXPECT(tg_retain(var), S(1, 1), 5.25f);
    tg_tensor *g = tg_full(S(2, 1, 2, 2), 2.0f), *w = tg_full(S(1), 3.0f), *dx, *dw, *db;
    ck_assert_int_eq(tg_k_batch_norm_backward(g, x4, mean, var, w, 0.0f, true, &dx, &dw, &db), 0);
    EXPECT(dx, S(2, 1, 2, 2), 0, 0, 0, 0, 0, 0, 0, 0);
    EXPECT(dw, S(1), 0);
    EXPECT(db, S(1), 16);
    ck_assert_int_eq(tg_k_batch_norm_backward(g, x4, mean, var, w, 0.0f, false, &dx, NULL, NULL), 0);
    float v = 6.0f / sqrtf(5.25f);
    EXPECT(dx, S(2, 1, 2, 2), v, v, v, v, v, v, v, v);
    tg_release(x), tg_release(x4), tg_release(mean), tg_release(var), tg_release(g), tg_release(w);
}
END_TEST

/* Training, eps 0, weight (2, -1), bias (0.5, 0): the normalised values
 * of test_bn_training_values, relu'd; with a residual added first. */
START_TEST(test_bn_relu_values)
{
    tg_tensor *x = columns(), *w = vec(2, -1), *b = vec(0.5f, 0);
    tg_tensor *r = tg_full(S(4, 2), 1.0f);
    float k = 1.0f / sqrtf(1.25f);
    EXPECT(tg_batch_norm_relu(x, NULL, NULL, w, b, true, 0.1f, 0.0f, 1), S(4, 2), 0, 1.5f * k, 0, 0.5f * k,
           k + 0.5f, 0, 3 * k + 0.5f, 0);
    EXPECT(tg_batch_norm_add_relu(x, r, NULL, NULL, w, b, true, 0.1f, 0.0f, 1), S(4, 2), 0, 1.5f * k + 1,
           1.5f - k, 0.5f * k + 1, k + 1.5f, 1 - 0.5f * k, 3 * k + 1.5f, 0);
    tg_release(x), tg_release(w), tg_release(b), tg_release(r);
}
END_TEST

/* A channel offset far from 0 against its spread: the one-pass statistics
 * (sums about one of the values) keep the digits of a two-pass reference
 * in double. */
START_TEST(test_bn_stats_with_large_mean)
{
    enum { N = 64, C = 3, HW = 50 };
    const double offset[C] = {1e6, -3e3, 0.5};
    tg_rng rng = tg_rng_new(5, 0);
    tg_tensor *z = tg_randn(&rng, S(N, C, HW)), *mean, *var;
    float *v = tg_data_f32(z);
    for (int64_t i = 0; i < N * C * HW; i++) v[i] += (float)offset[i / HW % C];
    ck_assert_int_eq(tg_k_batch_norm_stats(z, 1, &mean, &var), 0);
    for (int c = 0; c < C; c++) {
        double m = 0, q = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) m += v[(n * C + c) * HW + i];
        m /= N * HW;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) q += (v[(n * C + c) * HW + i] - m) * (v[(n * C + c) * HW + i] - m);
        q /= N * HW;
        float got_m = tg_get(mean, (int64_t[]){0, c}), got_v = tg_get(var, (int64_t[]){0, c});
        ck_assert_msg(fabs(got_m - m) <= 1e-7 * fabs(m) && fabs(got_v - q) <= 1e-6 * q,
                      "channel %d: mean %.9g var %.9g, want %.9g %.9g", c, got_m, got_v, m, q);
    }
    tg_release(z), tg_release(mean), tg_release(var);
}
END_TEST

/* Fails unless a and b (float32 of one shape) hold the same bits; releases
 * a. */
static void expect_same_bits(tg_tensor *a, tg_tensor *b, const char *what, int at)
{
    ck_assert_msg(a && b, "%s (case %d): %s", what, at, tg_last_error());
    ck_assert_msg(tg_same_shape(a, b), "%s (case %d): shapes differ", what, at);
    int64_t n = tg_numel(a);
    float *u = malloc((size_t)(2 * n) * sizeof *u);
    ck_assert(u && !tg_copy_to_buffer(a, u) && !tg_copy_to_buffer(b, u + n));
    ck_assert_msg(memcmp(u, u + n, (size_t)n * sizeof *u) == 0, "%s (case %d): values differ", what, at);
    free(u);
    tg_release(a);
}

/* relu(bn(x) + r) by the unfused kernels (r NULL: none): into *y, and its
 * input, weight and bias gradients for g into d[0..2]; *gm gets g masked by
 * the relu. */
static void unfused(tg_tensor *x, tg_tensor *r, tg_tensor *g, tg_tensor *const *p, bool batch_stats,
                    tg_tensor **y, tg_tensor **gm, tg_tensor **d)
{
    tg_tensor *h = tg_k_batch_norm_apply(x, p[0], p[1], p[2], p[3], 1e-5f), *sum = r ? tg_k_add(h, r) : tg_retain(h);
    *y = tg_k_relu(sum);
    *gm = tg_k_relu_backward(g, *y);
    ck_assert_int_eq(tg_k_batch_norm_backward(*gm, x, p[0], p[1], p[2], 1e-5f, batch_stats, &d[0], &d[1], &d[2]), 0);
    tg_release(h), tg_release(sum);
}

/* The fused kernels against the unfused ones on x, in training (2 groups)
 * and eval, with and without a residual. */
static void expect_fused_as_unfused(tg_tensor *x, int at)
{
    tg_rng rng = tg_rng_new(11, 0);
    int64_t ch = x->shape[1];
    tg_tensor *g = tg_randn(&rng, x->ndim, x->shape), *r = tg_randn(&rng, x->ndim, x->shape);
    tg_tensor *w = tg_randn(&rng, S(ch)), *b = tg_randn(&rng, S(ch)), *rm = tg_randn(&rng, S(ch));
    tg_tensor *rv = tg_k_add_scalar(w, 2.0f), *mean, *var;
    ck_assert_int_eq(tg_k_batch_norm_stats(x, 2, &mean, &var), 0);
    for (int k = 0; k < 4; k++) {
        bool batch_stats = k < 2;
        tg_tensor *res = k % 2 ? r : NULL, *p[4] = {batch_stats ? mean : rm, batch_stats ? var : rv, w, b};
        tg_tensor *y, *gm, *d[3], *e[4];
        unfused(x, res, g, p, batch_stats, &y, &gm, d);
        expect_same_bits(tg_k_batch_norm_relu(x, res, p[0], p[1], w, b, 1e-5f), y, "forward", at * 4 + k);
        ck_assert_int_eq(
            tg_k_batch_norm_relu_backward(g, x, res, p[0], p[1], w, b, 1e-5f, batch_stats, &e[0], &e[1], &e[2], &e[3]),
            0);
        for (int i = 0; i < 3; i++) expect_same_bits(e[i], d[i], "backward", at * 4 + k);
        if (res) expect_same_bits(e[3], gm, "residual gradient", at * 4 + k);
        else ck_assert_ptr_null(e[3]);
        /* without the sums (eval, no dweight or dbias), dx and dresidual in one pass */
        ck_assert_int_eq(
            tg_k_batch_norm_relu_backward(g, x, res, p[0], p[1], w, b, 1e-5f, batch_stats, &e[0], NULL, NULL, &e[3]), 0);
        expect_same_bits(e[0], d[0], "dx alone", at * 4 + k);
        if (res) expect_same_bits(e[3], gm, "residual gradient alone", at * 4 + k);
        tg_release(y), tg_release(gm);
        for (int i = 0; i < 3; i++) tg_release(d[i]);
    }
    tg_release(g), tg_release(r), tg_release(w), tg_release(b), tg_release(rm), tg_release(rv);
    tg_release(mean), tg_release(var);
}

/* Wide rows in one piece and in several, transposed, and narrow rows of
 * one value and of four (more channels than a block). */
START_TEST(test_bn_relu_fused_as_unfused)
{
    tg_rng rng = tg_rng_new(9, 0);
    tg_tensor *base = tg_randn(&rng, S(2, 3, 9, 60));
    tg_tensor *x[] = {tg_randn(&rng, S(4, 3, 5, 7)), tg_randn(&rng, S(2, 2, 24, 30)), tg_k_transpose(base, 2, 3),
                      tg_randn(&rng, S(6, 70)), tg_randn(&rng, S(4, 66, 2, 2))};
    for (int i = 0; i < (int)(sizeof x / sizeof *x); i++) {
        expect_fused_as_unfused(x[i], i);
        tg_release(x[i]);
    }
    tg_release(base);
}
END_TEST

START_TEST(test_bn_errors)
{
    tg_tensor *x = columns(), *w3 = tg_ones(S(3), TG_FLOAT32), *rm = vec(0, 0), *rv = vec(1, 1);
    tg_tensor *x1 = tg_ones(S(4), TG_FLOAT32), *one = tg_ones(S(1, 2), TG_FLOAT32);
    expect_error(tg_batch_norm(x1, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, 1), "batch_norm", "(N,C,...)");
    uint64_t v0 = tg_version(rm);
    expect_error(tg_batch_norm(x, rm, rv, w3, NULL, true, 0.1f, 1e-5f, 1), "weight is float32 (3)",
                 "expected float32 (2) for input (4,2)");
    ck_assert_int_eq(tg_version(rm), v0); /* a failed call leaves the running stats alone */
    expect_error(tg_batch_norm(x, rm, rv, NULL, w3, true, 0.1f, 1e-5f, 1), "bias is", "expected float32 (2)");
    expect_error(tg_batch_norm(x, w3, w3, NULL, NULL, true, 0.1f, 1e-5f, 1), "running statistics", "(2)");
    expect_error(tg_batch_norm(x, w3, w3, NULL, NULL, false, 0.1f, 1e-5f, 1), "statistics (3)", "(4,2)");
    expect_error(tg_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, 3), "groups 3 does not divide",
                 "(4,2)");
    expect_error(tg_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, 0), "groups must be at least 1",
                 "got 0");
    expect_error(tg_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, 4), "more than 1 value per channel",
                 "4 groups");
    expect_error(tg_batch_norm(one, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f, 1), "more than 1 value", "(1,2)");
    expect_error(tg_batch_norm(x, NULL, NULL, NULL, NULL, false, 0.1f, 1e-5f, 1), "eval mode needs", "running");
    expect_error(tg_batch_norm(x, rm, NULL, NULL, NULL, true, 0.1f, 1e-5f, 1), "both running_mean", "neither");
    expect_error(tg_batch_norm(NULL, rm, rv, NULL, NULL, true, 0.1f, 1e-5f, 1), "", "");
    expect_error(tg_batch_norm_add_relu(x, x1, rm, rv, NULL, NULL, true, 0.1f, 1e-5f, 1),
                 "residual is float32 (4)", "expected float32 of the input's shape (4,2)");
    expect_error(tg_batch_norm_add_relu(x, NULL, rm, rv, NULL, NULL, true, 0.1f, 1e-5f, 1), "batch_norm_add_relu",
                 "residual");
    expect_error(tg_batch_norm_relu(x, NULL, NULL, NULL, NULL, false, 0.1f, 1e-5f, 1), "batch_norm_relu: eval mode",
                 "running");
    tg_release(x), tg_release(w3), tg_release(rm), tg_release(rv), tg_release(x1), tg_release(one);
}
END_TEST

/* ---- pooling ---- */

static tg_tensor *plane_arange(int64_t h, int64_t w)
{
    tg_tensor *a = tg_arange(0, (double)(h * w), 1), *v = tg_k_view(a, S(1, 1, h, w));
    tg_release(a);
    return v;
}

#define OPTS(...) ((tg_pool2d_opts){__VA_ARGS__})

START_TEST(test_max_pool_values)
{
    tg_tensor *x = plane_arange(4, 4), *idx;
    EXPECT(tg_k_max_pool2d(x, OPTS(.kernel = {2, 2}, .stride = {2, 2}), &idx), S(1, 1, 2, 2), 5, 7, 13, 15);
    ck_assert_int_eq(tg_get_i64(idx, (int64_t[]){0, 0, 1, 0}), 13);
    tg_release(idx);
    /* dilation 2: the window (0,0) takes rows/cols 0 and 2 */
    tg_pool2d_opts dilated = {.kernel = {2, 2}, .stride = {1, 1}, .dilation = {2, 2}};
    EXPECT(tg_k_max_pool2d(x, dilated, NULL), S(1, 1, 2, 2), 10, 11, 14, 15);
    /* padding is -inf, not 0: all-negative input keeps its own maxima */
    tg_tensor *neg = tg_k_add_scalar(x, -100.0f);
    EXPECT(tg_k_max_pool2d(neg, OPTS(.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}), NULL), S(1, 1, 2, 2),
           -95, -93, -87, -85);
    tg_release(x), tg_release(neg);
}
END_TEST

/* The first maximum wins a tie (its index), and a NaN wins outright. */
START_TEST(test_max_pool_ties_and_nan)
{
    tg_tensor *x = tg_ones(S(1, 1, 2, 3), TG_FLOAT32), *idx;
    tg_tensor *out = tg_k_max_pool2d(x, OPTS(.kernel = {2, 2}, .stride = {1, 1}), &idx);
    ck_assert_int_eq(tg_get_i64(idx, (int64_t[]){0, 0, 0, 0}), 0);
    ck_assert_int_eq(tg_get_i64(idx, (int64_t[]){0, 0, 0, 1}), 1);
    tg_tensor *g = tg_ones(S(1, 1, 1, 2), TG_FLOAT32);
    EXPECT(tg_k_max_pool2d_backward(g, idx, 2, 3), S(1, 1, 2, 3), 1, 1, 0, 0, 0, 0);
    tg_tensor *nan = tg_from_data(S(1, 1, 1, 3), TG_FLOAT32, (const float[]){1, NAN, 5});
    tg_tensor *m = tg_k_max_pool2d(nan, OPTS(.kernel = {1, 3}, .stride = {1, 3}), NULL);
    ck_assert(isnan(tg_get(m, (int64_t[]){0, 0, 0, 0})));
    tg_release(x), tg_release(out), tg_release(idx), tg_release(g), tg_release(nan), tg_release(m);
}
END_TEST

/* Dilation 3 with padding 1 on a 2x2 plane: the one window's taps (-1 and
 * 2 per dim) miss the input, giving -inf (as PyTorch), index -1 and no
 * gradient. */
START_TEST(test_max_pool_empty_window)
{
    tg_tensor *x = plane_arange(2, 2), *idx;
    tg_pool2d_opts o = {.kernel = {2, 2}, .stride = {1, 1}, .padding = {1, 1}, .dilation = {3, 3}};
    tg_tensor *y = tg_k_max_pool2d(x, o, &idx);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert(isinf(tg_get(y, (int64_t[]){0, 0, 0, 0})) && tg_get(y, (int64_t[]){0, 0, 0, 0}) < 0);
    ck_assert_int_eq(tg_get_i64(idx, (int64_t[]){0, 0, 0, 0}), -1);
    tg_tensor *g1 = tg_ones(S(1, 1, 1, 1), TG_FLOAT32);
    EXPECT(tg_k_max_pool2d_backward(g1, idx, 2, 2), S(1, 1, 2, 2), 0, 0, 0, 0);
    tg_release(x), tg_release(idx), tg_release(y), tg_release(g1);
}
END_TEST

/* A direct reading of max pooling for one output: the first maximum of
 * the in-bounds taps, or -1 (g has every field given). */
static int64_t naive_argmax(const float *x, int64_t ih, int64_t iw, const tg_pool2d_opts *g, int64_t oh, int64_t ow)
{
    int64_t at = -1;
    for (int64_t i = 0; i < g->kernel[0]; i++)
        for (int64_t j = 0; j < g->kernel[1]; j++) {
            int64_t h = oh * g->stride[0] - g->padding[0] + i * g->dilation[0];
            int64_t w = ow * g->stride[1] - g->padding[1] + j * g->dilation[1];
            if (h >= 0 && h < ih && w >= 0 && w < iw && (at < 0 || x[h * iw + w] > x[at])) at = h * iw + w;
        }
    return at;
}

/* Wide planes (interior runs longer than one block of outputs) and edge
 * windows against the direct reading, values and indices. */
START_TEST(test_max_pool_matches_direct)
{
    const tg_pool2d_opts geoms[] = {
        {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .dilation = {1, 1}},
        {.kernel = {2, 3}, .stride = {1, 1}, .padding = {1, 1}, .dilation = {2, 3}},
        {.kernel = {2, 2}, .stride = {3, 3}, .dilation = {1, 1}, .ceil_mode = true},
    };
    tg_rng rng = tg_rng_new(3, 0);
    tg_tensor *x = tg_randn(&rng, S(2, 3, 9, 301));
    const float *xd = tg_data_f32(x);
    for (size_t k = 0; k < sizeof geoms / sizeof *geoms; k++) {
        tg_tensor *idx, *y = tg_k_max_pool2d(x, geoms[k], &idx);
        ck_assert_msg(y != NULL, "%s", tg_last_error());
        int64_t oh = y->shape[2], ow = y->shape[3], n = 0;
        const float *yd = tg_data_f32(y);
        const int64_t *id = tg_data_i64(idx);
        for (int64_t q = 0; q < 6; q++)
            for (int64_t o = 0; o < oh * ow; o++, n++) {
                int64_t want = naive_argmax(xd + q * 9 * 301, 9, 301, &geoms[k], o / ow, o % ow);
                ck_assert_msg(id[n] == want && yd[n] == xd[q * 9 * 301 + want],
                              "geometry %zu output %lld: index %lld, want %lld", k, (long long)n, (long long)id[n],
                              (long long)want);
            }
        tg_release(y), tg_release(idx);
    }
    tg_release(x);
}
END_TEST

START_TEST(test_avg_pool_values)
{
    tg_tensor *x = plane_arange(4, 4), *ones = tg_ones(S(1, 1, 5, 5), TG_FLOAT32);
    EXPECT(tg_k_avg_pool2d(x, OPTS(.kernel = {2, 2}, .stride = {2, 2})), S(1, 1, 2, 2), 2.5f, 4.5f, 10.5f, 12.5f);
    /* padding counted: windows [-1,2) and [2,5) per dim hold 2 and 3 inputs
     * of 3 */
    EXPECT(tg_k_avg_pool2d(ones, OPTS(.kernel = {3, 3}, .stride = {3, 3}, .padding = {1, 1},
                                      .count_include_pad = true)),
           S(1, 1, 2, 2), 4.0f / 9, 6.0f / 9, 6.0f / 9, 1);
    EXPECT(tg_k_avg_pool2d(ones, OPTS(.kernel = {3, 3}, .stride = {3, 3}, .padding = {1, 1})), S(1, 1, 2, 2), 1, 1,
           1, 1);
    /* ceil_mode, k2 s2 p1 on 5: 3 windows, not 4 (the 4th would start in the
     * right padding); the first spans 1 input + 1 pad, the last 2 inputs */
    EXPECT(tg_k_avg_pool2d(ones, OPTS(.kernel = {2, 2}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true,
                                      .count_include_pad = true)),
           S(1, 1, 3, 3), 0.25f, 0.5f, 0.5f, 0.5f, 1, 1, 0.5f, 1, 1);
    /* ceil_mode adds a window that starts inside the input: 5 -> 3 with k2 s2 */
    tg_tensor *five = plane_arange(1, 5);
    EXPECT(tg_k_avg_pool2d(five, OPTS(.kernel = {1, 2}, .stride = {1, 2}, .ceil_mode = true)), S(1, 1, 1, 3), 0.5f,
           2.5f, 4);
    EXPECT(tg_k_avg_pool2d(five, OPTS(.kernel = {1, 2}, .stride = {1, 2}, .ceil_mode = true,
                                      .count_include_pad = true)),
           S(1, 1, 1, 3), 0.5f, 2.5f, 4);
    tg_release(x), tg_release(ones), tg_release(five);
}
END_TEST

/* Windows [floor(i in/out), ceil((i+1) in/out)): 5 -> 3 gives [0,2) [1,4)
 * [3,5); 2 -> 3 repeats the middle. */
START_TEST(test_adaptive_values)
{
    tg_tensor *x = tg_from_data(S(1, 1, 1, 5), TG_FLOAT32, (const float[]){1, 2, 3, 4, 5});
    EXPECT(tg_k_adaptive_avg_pool2d(x, 1, 3), S(1, 1, 1, 3), 1.5f, 3, 4.5f);
    tg_tensor *two = tg_from_data(S(1, 1, 2, 1), TG_FLOAT32, (const float[]){2, 6});
    EXPECT(tg_k_adaptive_avg_pool2d(two, 3, 1), S(1, 1, 3, 1), 2, 4, 6);
    tg_tensor *a = plane_arange(7, 7);
    EXPECT(tg_k_adaptive_avg_pool2d(a, 1, 1), S(1, 1, 1, 1), 24);
    tg_tensor *g = tg_full(S(1, 1, 1, 3), 6.0f);
    EXPECT(tg_k_adaptive_avg_pool2d_backward(g, 1, 5), S(1, 1, 1, 5), 3, 5, 2, 5, 3);
    tg_release(x), tg_release(two), tg_release(a), tg_release(g);
}
END_TEST

START_TEST(test_pool_errors)
{
    tg_tensor *x = plane_arange(4, 4), *x3 = tg_ones(S(1, 4, 4), TG_FLOAT32), *g = tg_ones(S(1, 1, 2, 2), TG_FLOAT32);
    tg_pool2d_opts k2 = {.kernel = {2, 2}};
    expect_error(tg_max_pool2d(x3, k2), "max_pool2d: input must be float32 (N,C,H,W)", "(1,4,4)");
    expect_error(tg_avg_pool2d(x3, k2), "avg_pool2d", "(N,C,H,W)");
    expect_error(tg_max_pool2d(x, (tg_pool2d_opts){.kernel = {5, 5}}), "is too small for kernel (5,5)",
                 "output would be (0,0)");
    expect_error(tg_max_pool2d(x, (tg_pool2d_opts){.kernel = {3, 3}, .padding = {2, 2}}), "padding (2,2)",
                 "at most half the kernel (3,3)");
    expect_error(tg_avg_pool2d(x, (tg_pool2d_opts){.kernel = {2, 2}, .dilation = {2, 2}}), "avg_pool2d",
                 "dilation must be 1");
    expect_error(tg_max_pool2d(x, (tg_pool2d_opts){.kernel = {0, 2}}), "must be positive", "kernel (0,2)");
    expect_error(tg_adaptive_avg_pool2d(x, 0, 2), "adaptive_avg_pool2d", "must be positive");
    expect_error(tg_adaptive_avg_pool2d(x3, 1, 1), "adaptive_avg_pool2d", "(N,C,H,W)");
    tg_tensor *bad = tg_full(S(1, 1, 2, 2), 99.0f), *idx = tg_k_to_dtype(bad, TG_INT64);
    expect_error(tg_k_max_pool2d_backward(g, idx, 4, 4), "4 indices outside", "(4,4)");
    expect_error(tg_k_avg_pool2d_backward(g, OPTS(.kernel = {3, 3}, .stride = {1, 1}), 5, 5), "gradient is (2,2)",
                 "gives (3,3)");
    tg_release(x), tg_release(x3), tg_release(g), tg_release(bad), tg_release(idx);
}
END_TEST

/* ---- thread-count independence ---- */

/* Appends t's values to buf at *n and releases t. */
static void append(tg_tensor *t, float *buf, int64_t *n)
{
    ck_assert_msg(t != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_copy_to_buffer(t, buf + *n), 0);
    *n += tg_numel(t);
    tg_release(t);
}

/* The fused batch norm + relu kernels on x, with residual r (or NULL). */
static void run_bn_relu(tg_tensor *x, tg_tensor *r, tg_tensor *const *p, tg_tensor *g, float *buf, int64_t *n)
{
    tg_tensor *d[4];
    append(tg_k_batch_norm_relu(x, r, p[0], p[1], p[2], p[3], 1e-5f), buf, n);
    ck_assert_int_eq(tg_k_batch_norm_relu_backward(g, x, r, p[0], p[1], p[2], p[3], 1e-5f, true, &d[0], &d[1], &d[2],
                                                   r ? &d[3] : NULL),
                     0);
    for (int i = 0; i < (r ? 4 : 3); i++) append(d[i], buf, n);
}

/* Batch norm's statistics (2 groups), normalisation and backward on x,
 * alone and fused with a relu (after a residual). */
static void run_bn(tg_tensor *x, float *buf, int64_t *n)
{
    tg_tensor *mean, *var, *dx, *dw, *db;
    ck_assert_int_eq(tg_k_batch_norm_stats(x, 2, &mean, &var), 0);
    tg_rng rng = tg_rng_new(8, 0);
    tg_tensor *w = tg_full(S(x->shape[1]), 1.5f), *g = tg_randn(&rng, x->ndim, x->shape);
    tg_tensor *b = tg_full(S(x->shape[1]), 0.25f), *r = tg_randn(&rng, x->ndim, x->shape);
    ck_assert_int_eq(tg_k_batch_norm_backward(g, x, mean, var, w, 1e-5f, true, &dx, &dw, &db), 0);
    append(tg_k_batch_norm_apply(x, mean, var, w, NULL, 1e-5f), buf, n);
    tg_tensor *p[4] = {mean, var, w, b};
    run_bn_relu(x, NULL, p, g, buf, n);
    run_bn_relu(x, r, p, g, buf, n);
    tg_tensor *outs[] = {mean, var, dx, dw, db};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) append(outs[i], buf, n);
    tg_release(w), tg_release(g), tg_release(b), tg_release(r);
}

/* Every pooling kernel, forward and backward, on x (N,C,36,36). */
static void run_pools(tg_tensor *x, float *buf, int64_t *n)
{
    tg_tensor *idx;
    tg_pool2d_opts pg = OPTS(.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .count_include_pad = true);
    tg_tensor *mp = tg_k_max_pool2d(x, pg, &idx), *ap = tg_k_avg_pool2d(x, pg);
    append(tg_k_max_pool2d_backward(mp, idx, x->shape[2], x->shape[3]), buf, n);
    append(tg_k_avg_pool2d_backward(ap, pg, x->shape[2], x->shape[3]), buf, n);
    append(tg_k_adaptive_avg_pool2d_backward(x, 40, 45), buf, n);
    append(tg_k_adaptive_avg_pool2d(x, 3, 5), buf, n);
    append(mp, buf, n);
    append(ap, buf, n);
    tg_release(idx);
}

/* Everything on wide rows (4-D, transposed), narrow rows ((N,C) and 2x2
 * maps) and the pools; returns how many floats were written. */
static int64_t run_all(void *ctx, float *buf)
{
    tg_tensor *const *x = ctx;
    int64_t n = 0;
    for (int i = 0; i < 3; i++) run_bn(x[i], buf, &n);
    run_pools(x[0], buf, &n);
    return n;
}

START_TEST(test_bitwise_same_for_any_thread_count)
{
    enum { MAXN = 8 * 1024 * 1024 };
    tg_rng rng = tg_rng_new(7, 0);
    tg_tensor *base = tg_randn(&rng, S(8, 16, 36, 36));
    tg_tensor *x[3] = {tg_k_transpose(base, 2, 3), tg_randn(&rng, S(128, 600)), tg_randn(&rng, S(16, 700, 2, 2))};
    expect_same_on_1_and_2_threads(run_all, x, MAXN);
    tg_release(base);
    for (int i = 0; i < 3; i++) tg_release(x[i]);
}
END_TEST

Suite *norm_suite(void)
{
    Suite *s = suite_create("norm");
    TCase *tc = tcase_create("norm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_bn_training_values);
    tcase_add_test(tc, test_bn_groups_values);
    tcase_add_test(tc, test_bn_eval_values);
    tcase_add_test(tc, test_bn_4d_and_backward);
    tcase_add_test(tc, test_bn_relu_values);
    tcase_add_test(tc, test_bn_stats_with_large_mean);
    tcase_add_test(tc, test_bn_relu_fused_as_unfused);
    tcase_add_test(tc, test_bn_errors);
    tcase_add_test(tc, test_max_pool_values);
    tcase_add_test(tc, test_max_pool_ties_and_nan);
    tcase_add_test(tc, test_max_pool_empty_window);
    tcase_add_test(tc, test_max_pool_matches_direct);
    tcase_add_test(tc, test_avg_pool_values);
    tcase_add_test(tc, test_adaptive_values);
    tcase_add_test(tc, test_pool_errors);
    tcase_add_test(tc, test_bitwise_same_for_any_thread_count);
    suite_add_tcase(s, tc);
    return s;
}

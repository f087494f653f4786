/* NaN propagation: every activation, comparison-based op and reduction
 * treats a NaN as PyTorch 1.13 does, so a non-finite value reaches the loss
 * (and the training loop's check) instead of vanishing. The expected values
 * are PyTorch's on the input (1, nan, -2, 3). */
#include <math.h>

#include "suites.h"

static tg_tensor *with_nan(bool requires_grad)
{
    tg_tensor *t = tg_from_data(TG_SHAPE(4), TG_FLOAT32, (float[]){1, NAN, -2, 3});
    tg_set_requires_grad(t, requires_grad);
    return t;
}

/* Checks t's four values against want (NAN: a NaN there) and releases t. */
static void assert_values(tg_tensor *t, const float want[4], const char *what)
{
    ck_assert_msg(t, "%s: %s", what, tg_last_error());
    for (int64_t i = 0; i < 4; i++) {
        float got = tg_get(t, &i);
        if (isnan(want[i]))
            ck_assert_msg(isnan(got), "%s[%lld] = %g, want nan", what, (long long)i, got);
        else
            ck_assert_msg(got == want[i], "%s[%lld] = %g, want %g", what, (long long)i, got, want[i]);
    }
    tg_release(t);
}

/* One value: NaN or not. */
static void assert_nan(tg_tensor *t, const char *what)
{
    ck_assert_msg(t, "%s: %s", what, tg_last_error());
    ck_assert_msg(isnan(tg_item(t)), "%s = %g, want nan", what, tg_item(t));
    tg_release(t);
}

START_TEST(test_activations_keep_nan)
{
    tg_tensor *x = with_nan(false);
    assert_values(tg_relu(x), (float[]){1, NAN, 0, 3}, "relu");
    assert_values(tg_clamp(x, -1, 1), (float[]){1, NAN, -1, 1}, "clamp");
    assert_values(tg_abs(x), (float[]){1, NAN, 2, 3}, "abs");
    assert_values(tg_sign(x), (float[]){1, 0, -1, 1}, "sign");
    tg_tensor *s = tg_sigmoid(x), *th = tg_tanh(x);
    ck_assert(isnan(tg_get(s, (int64_t[]){1})) && isnan(tg_get(th, (int64_t[]){1})));
    tg_release(s), tg_release(th);
    tg_tensor *zero = tg_zeros(TG_SHAPE(4), TG_FLOAT32);
    assert_values(tg_maximum(x, zero), (float[]){1, NAN, 0, 3}, "maximum(x, 0)");
    assert_values(tg_maximum(zero, x), (float[]){1, NAN, 0, 3}, "maximum(0, x)");
    assert_values(tg_minimum(x, zero), (float[]){0, NAN, -2, 0}, "minimum(x, 0)");
    assert_values(tg_minimum(zero, x), (float[]){0, NAN, -2, 0}, "minimum(0, x)");
    tg_release(zero), tg_release(x);
}
END_TEST

START_TEST(test_in_place_activations_keep_nan)
{
    tg_tensor *x = with_nan(false);
    ck_assert_int_eq(tg_relu_(x), 0);
    assert_values(tg_retain(x), (float[]){1, NAN, 0, 3}, "relu_");
    ck_assert_int_eq(tg_clamp_(x, 0.5f, 2), 0);
    assert_values(x, (float[]){1, NAN, 0.5f, 2}, "clamp_");
}
END_TEST

START_TEST(test_reductions_keep_nan)
{
    tg_tensor *x = with_nan(false);
    assert_nan(tg_amax(x, 0, NULL, false), "amax");
    assert_nan(tg_amin(x, 0, NULL, false), "amin");
    assert_nan(tg_sum(x, 0, NULL, false), "sum");
    assert_nan(tg_mean(x, 0, NULL, false), "mean");
    tg_tensor *am = tg_argmax(x, 0, false), *an = tg_argmin(x, 0, false);
    ck_assert_int_eq(tg_get_i64(am, NULL), 1); /* a NaN is the largest and the smallest */
    ck_assert_int_eq(tg_get_i64(an, NULL), 1);
    tg_release(am), tg_release(an);
    assert_nan(tg_var(x, 0, NULL, true, false), "var");
    assert_values(tg_softmax(x, 0), (float[]){NAN, NAN, NAN, NAN}, "softmax");
    assert_values(tg_log_softmax(x, 0), (float[]){NAN, NAN, NAN, NAN}, "log_softmax");
    tg_tensor *img = tg_reshape(x, TG_SHAPE(1, 1, 2, 2));
    assert_nan(tg_max_pool2d(img, (tg_pool2d_opts){.kernel = {2, 2}}), "max_pool2d");
    assert_nan(tg_avg_pool2d(img, (tg_pool2d_opts){.kernel = {2, 2}, .count_include_pad = true}), "avg_pool2d");
    assert_nan(tg_adaptive_avg_pool2d(img, 1, 1), "adaptive_avg_pool2d");
    tg_release(img), tg_release(x);
}
END_TEST

/* Along one dimension of a 2 x 2 matrix (the strided paths): only the row
 * or column holding the NaN becomes NaN. */
START_TEST(test_reductions_along_a_dimension)
{
    tg_tensor *x = tg_from_data(TG_SHAPE(2, 2), TG_FLOAT32, (float[]){1, NAN, -2, 3});
    tg_tensor *rows = tg_amax(x, 1, (int[]){1}, false), *cols = tg_amin(x, 1, (int[]){0}, false);
    ck_assert(isnan(tg_get(rows, (int64_t[]){0})) && tg_get(rows, (int64_t[]){1}) == 3);
    ck_assert(tg_get(cols, (int64_t[]){0}) == -2 && isnan(tg_get(cols, (int64_t[]){1})));
    tg_tensor *arg = tg_argmax(x, 0, false);
    ck_assert_int_eq(tg_get_i64(arg, (int64_t[]){1}), 0);
    tg_release(rows), tg_release(cols), tg_release(arg), tg_release(x);
}
END_TEST

/* A NaN logit reaches the loss: the training loop's check can see it. */
START_TEST(test_losses_keep_nan)
{
    tg_tensor *logits = tg_from_data(TG_SHAPE(2, 2), TG_FLOAT32, (float[]){1, NAN, -2, 3});
    tg_tensor *target = tg_from_data(TG_SHAPE(2), TG_INT64, (int64_t[]){0, 1});
    tg_tensor *hidden = tg_relu(logits);
    assert_nan(tg_cross_entropy(hidden, target, NULL), "cross_entropy(relu(logits))");
    assert_nan(tg_mse_loss(logits, hidden), "mse_loss");
    tg_release(hidden), tg_release(target), tg_release(logits);
}
END_TEST

static tg_tensor *relu_of(tg_tensor *x) { return tg_relu(x); }
static tg_tensor *clamp_of(tg_tensor *x) { return tg_clamp(x, -1, 1); }

static tg_tensor *maximum_with_zero(tg_tensor *x)
{
    tg_tensor *zero = tg_zeros(TG_SHAPE(4), TG_FLOAT32), *y = tg_maximum(x, zero);
    tg_release(zero);
    return y;
}

static tg_tensor *max_pool_of(tg_tensor *x)
{
    tg_tensor *img = tg_reshape(x, TG_SHAPE(1, 1, 2, 2));
    tg_tensor *y = tg_max_pool2d(img, (tg_pool2d_opts){.kernel = {2, 2}});
    tg_release(img);
    return y;
}

/* The gradient of sum(f(x)) at x = (1, nan, -2, 3) against PyTorch's. */
static void assert_gradient(tg_tensor *(*f)(tg_tensor *), const float want[4], const char *what)
{
    tg_tensor *x = with_nan(true), *y = f(x), *total = tg_sum(y, 0, NULL, false);
    ck_assert_msg(total && tg_backward(total, NULL) == 0, "%s: %s", what, tg_last_error());
    assert_values(tg_grad(x), want, what);
    tg_release(total), tg_release(y), tg_release(x);
}

/* Gradients where the input holds a NaN, as PyTorch's backward gives them. */
START_TEST(test_gradients_at_nan)
{
    assert_gradient(relu_of, (float[]){1, 1, 0, 1}, "relu grad");
    assert_gradient(clamp_of, (float[]){1, 0, 0, 0}, "clamp grad");
    assert_gradient(maximum_with_zero, (float[]){1, 1, 0, 1}, "maximum grad");
    assert_gradient(max_pool_of, (float[]){0, 1, 0, 0}, "max_pool2d grad");
}
END_TEST

/* ---- batch norm + relu, fused ---- */

/* The batch norms of x (4 samples of one channel) to compare: unfused
 * relu(bn(x) + 0), and the fused ops; eval normalises with mean 0 and
 * variance 1 (eps 0), so the values are x's. */
typedef enum { UNFUSED, FUSED, FUSED_ADD } bn_form;

static tg_tensor *bn_relu_form(tg_tensor *x, bn_form form, bool training)
{
    tg_tensor *rm = tg_zeros(TG_SHAPE(1), TG_FLOAT32), *rv = tg_ones(TG_SHAPE(1), TG_FLOAT32);
    tg_tensor *zero = tg_zeros(TG_SHAPE(4, 1), TG_FLOAT32), *xs = tg_reshape(x, TG_SHAPE(4, 1)), *y = NULL;
    if (form == FUSED) y = tg_batch_norm_relu(xs, rm, rv, NULL, NULL, training, 0.1f, 0, 1);
    if (form == FUSED_ADD) y = tg_batch_norm_add_relu(xs, zero, rm, rv, NULL, NULL, training, 0.1f, 0, 1);
    if (form == UNFUSED) {
        tg_tensor *h = tg_batch_norm(xs, rm, rv, NULL, NULL, training, 0.1f, 0, 1), *sum = h ? tg_add(h, zero) : NULL;
        y = sum ? tg_relu(sum) : NULL;
        tg_release(h), tg_release(sum);
    }
    tg_tensor *flat = y ? tg_reshape(y, TG_SHAPE(4)) : NULL;
    tg_release(rm), tg_release(rv), tg_release(zero), tg_release(xs), tg_release(y);
    return flat;
}

/* The values of the form on (1, nan, -2, 3) and the gradient of their
 * sum, into y and dx. */
static void run_form(bn_form form, bool training, float y[4], float dx[4])
{
    tg_tensor *x = with_nan(true), *out = bn_relu_form(x, form, training);
    tg_tensor *total = out ? tg_sum(out, 0, NULL, false) : NULL;
    ck_assert_msg(total && tg_backward(total, NULL) == 0, "form %d: %s", (int)form, tg_last_error());
    tg_tensor *grad = tg_grad(x);
    ck_assert_int_eq(tg_copy_to_buffer(out, y), 0);
    ck_assert_int_eq(tg_copy_to_buffer(grad, dx), 0);
    tg_release(grad), tg_release(total), tg_release(out), tg_release(x);
}

/* The fused ops treat a NaN as tg_relu after tg_batch_norm (and tg_add)
 * does, forward and backward: in eval the NaN stays where it is and the
 * other values are relu'd; in training it reaches the statistics, so every
 * value. */
START_TEST(test_batch_norm_relu_as_unfused)
{
    for (int training = 0; training < 2; training++) {
        float want_y[4], want_dx[4];
        run_form(UNFUSED, training, want_y, want_dx);
        if (!training) assert_values(tg_from_data(TG_SHAPE(4), TG_FLOAT32, want_y), (float[]){1, NAN, 0, 3}, "eval");
        for (bn_form form = FUSED; form <= FUSED_ADD; form++) {
            float y[4], dx[4];
            run_form(form, training, y, dx);
            assert_values(tg_from_data(TG_SHAPE(4), TG_FLOAT32, y), want_y, "fused values");
            assert_values(tg_from_data(TG_SHAPE(4), TG_FLOAT32, dx), want_dx, "fused gradient");
        }
    }
}
END_TEST

Suite *nan_suite(void)
{
    Suite *s = suite_create("nan");
    TCase *tc = tcase_create("propagation");
    tcase_add_test(tc, test_activations_keep_nan);
    tcase_add_test(tc, test_in_place_activations_keep_nan);
    tcase_add_test(tc, test_reductions_keep_nan);
    tcase_add_test(tc, test_reductions_along_a_dimension);
    tcase_add_test(tc, test_losses_keep_nan);
    tcase_add_test(tc, test_gradients_at_nan);
    tcase_add_test(tc, test_batch_norm_relu_as_unfused);
    suite_add_tcase(s, tc);
    return s;
}

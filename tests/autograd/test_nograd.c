/* Ops with no gradient (autograd/ops_nograd.h): their results never
 * require grad, and their in-place forms refuse, in grad mode, a
 * destination that requires grad; isclose and allclose follow
 * torch.isclose's rule, infinities and NaN included. */
#include <math.h>
#include <string.h>

#include "suites.h"

static tg_tensor *leaf3(float a, float b, float c)
{
    tg_tensor *t = tg_from_data(TG_SHAPE(3), TG_FLOAT32, (float[]){a, b, c});
    tg_set_requires_grad(t, true);
    return t;
}

static void assert_error(int rc, const char *what)
{
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(tg_last_error(), what), "error \"%s\" lacks \"%s\"", tg_last_error(), what);
}

START_TEST(test_results_record_nothing)
{
    tg_tensor *x = leaf3(1, -2, 3), *c = tg_full(TG_SHAPE(3), 0.5f);
    tg_tensor *gt = tg_gt(x, c), *sign = tg_sign(x), *arg = tg_argmax(x, 0, false);
    tg_tensor *hot = tg_one_hot(arg, 4);
    ck_assert(gt && sign && arg && hot);
    ck_assert(!tg_requires_grad(gt) && !tg_requires_grad(sign) && tg_is_leaf(gt));
    ck_assert_float_eq(tg_get(gt, (int64_t[]){1}), 0.0f);
    ck_assert_float_eq(tg_get(sign, (int64_t[]){1}), -1.0f);
    ck_assert_int_eq(tg_get_i64(arg, NULL), 2);
    ck_assert_int_eq(tg_get_i64(hot, (int64_t[]){2}), 1);
    tg_release(x), tg_release(c), tg_release(gt), tg_release(sign), tg_release(arg), tg_release(hot);
}
END_TEST

/* A parameter is updated inside a no-grad scope, as PyTorch requires. */
START_TEST(test_update_of_leaf_refused_in_grad_mode)
{
    tg_tensor *x = leaf3(1, 2, 3), *g = tg_ones(TG_SHAPE(3), TG_FLOAT32);
    assert_error(tg_axpy_(x, -1.0f, g), "leaf tensor that requires grad");
    assert_error(tg_fill_(x, 0.0), "no-grad scope");
    assert_error(tg_sgd_update_(x, g, NULL, 0.5, 0, 0, 0, false, true), "sgd_update_");
    ck_assert_float_eq(tg_get(x, (int64_t[]){0}), 1.0f);
    tg_no_grad_enter();
    ck_assert_int_eq(tg_axpy_(x, -1.0f, g), 0);
    ck_assert_int_eq(tg_sgd_update_(x, g, NULL, 0.5, 0, 0, 0, false, true), 0);
    tg_no_grad_exit();
    ck_assert_float_eq(tg_get(x, (int64_t[]){2}), 1.5f); /* 3 - 1 - 0.5 */
    tg_release(x), tg_release(g);
}
END_TEST

/* A tensor in a graph is refused too: backward would not see the write. */
START_TEST(test_update_of_graph_tensor_refused)
{
    tg_tensor *x = leaf3(1, 2, 3), *y = tg_mul_scalar(x, 2.0f), *c = tg_zeros(TG_SHAPE(3), TG_FLOAT32);
    assert_error(tg_copy_(y, c), "part of a graph");
    ck_assert_int_eq(tg_copy_(c, y), 0); /* a source is read as a constant */
    ck_assert(!tg_requires_grad(c));
    ck_assert_float_eq(tg_get(c, (int64_t[]){1}), 4.0f);
    ck_assert_int_eq(tg_clamp_(c, 0.0f, 3.0f), 0);
    ck_assert_float_eq(tg_get(c, (int64_t[]){2}), 3.0f);
    tg_release(x), tg_release(y), tg_release(c);
}
END_TEST

/* |a - b| <= atol + rtol |b| against b broadcast; inf only close to the
 * same inf; NaN to NaN only with equal_nan. */
START_TEST(test_isclose_and_allclose)
{
    tg_tensor *a = tg_from_data(TG_SHAPE(2, 3), TG_FLOAT32, (float[]){1.0f, 100.0f, INFINITY, NAN, 0.0f, -INFINITY});
    tg_tensor *b = tg_from_data(TG_SHAPE(2, 3), TG_FLOAT32,
                                (float[]){1.000005f, 100.002f, INFINITY, NAN, 1e-9f, INFINITY});
    tg_tensor *close = tg_isclose(a, b, 1e-5, 1e-8, false), *with_nan = tg_isclose(a, b, 1e-5, 1e-8, true);
    const float want[] = {1, 0, 1, 0, 1, 0};
    for (int i = 0; i < 6; i++) ck_assert_float_eq(tg_data_f32(close)[i], want[i]);
    ck_assert_float_eq(tg_data_f32(with_nan)[3], 1.0f);
    ck_assert_int_eq(tg_allclose(a, a, 1e-5, 1e-8, true), 1);
    ck_assert_int_eq(tg_allclose(a, a, 1e-5, 1e-8, false), 0); /* NaN != NaN */
    ck_assert_int_eq(tg_allclose(a, b, 1e-4, 1e-8, true), 0);   /* -inf and inf */
    tg_tensor *row = tg_from_data(TG_SHAPE(3), TG_FLOAT32, (float[]){1, 2, 3});
    tg_tensor *rows = tg_from_data(TG_SHAPE(2, 3), TG_FLOAT32, (float[]){1, 2, 3, 1, 2, 3.001f});
    ck_assert_int_eq(tg_allclose(rows, row, 1e-3, 0, false), 1);
    ck_assert_int_eq(tg_allclose(rows, row, 1e-5, 0, false), 0);
    tg_tensor *four = tg_zeros(TG_SHAPE(4), TG_FLOAT32);
    assert_error(tg_allclose(row, four, 1e-5, 1e-8, false), "isclose");
    assert_error(tg_allclose(row, row, -1, 0, false), "isclose: rtol -1 and atol 0 must be >= 0");
    tg_release(a), tg_release(b), tg_release(close), tg_release(with_nan), tg_release(row), tg_release(rows);
    tg_release(four);
}
END_TEST

Suite *nograd_suite(void)
{
    Suite *s = suite_create("nograd");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_results_record_nothing);
    tcase_add_test(tc, test_update_of_leaf_refused_in_grad_mode);
    tcase_add_test(tc, test_update_of_graph_tensor_refused);
    tcase_add_test(tc, test_isclose_and_allclose);
    suite_add_tcase(s, tc);
    return s;
}

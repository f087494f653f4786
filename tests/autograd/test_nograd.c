/* Ops with no gradient (autograd/ops_nograd.h): their results never
 * require grad, and their in-place forms refuse, in grad mode, a
 * destination that requires grad. */
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

Suite *nograd_suite(void)
{
    Suite *s = suite_create("nograd");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_results_record_nothing);
    tcase_add_test(tc, test_update_of_leaf_refused_in_grad_mode);
    tcase_add_test(tc, test_update_of_graph_tensor_refused);
    suite_add_tcase(s, tc);
    return s;
}

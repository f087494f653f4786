/* The differentiable ops refuse bad arguments the library's way: NULL
 * and a message naming the op and the argument (tensor/error.h). */
#include <string.h>

#include "suites.h"

#define CK_ERROR_HAS(text) \
    ck_assert_msg(strstr(tg_last_error(), text), "error \"%s\" lacks \"%s\"", tg_last_error(), text)

START_TEST(test_add_of_null_names_the_argument)
{
    tg_tensor *x = tg_ones(TG_SHAPE(2), TG_FLOAT32);
    tg_clear_error();
    ck_assert_ptr_null(tg_add(NULL, x));
    CK_ERROR_HAS("add: argument 1 is NULL");
    tg_clear_error();
    ck_assert_ptr_null(tg_mul(x, NULL));
    CK_ERROR_HAS("mul: argument 2 is NULL");
    tg_release(x);
}
END_TEST

START_TEST(test_chain_keeps_the_first_message)
{
    tg_tensor *x = tg_ones(TG_SHAPE(2), TG_FLOAT32);
    tg_clear_error();
    tg_tensor *y = tg_add(tg_exp(tg_reshape(x, TG_SHAPE(3))), x); /* the reshape fails */
    ck_assert_ptr_null(y);
    CK_ERROR_HAS("reshape: shape (3) is invalid");
    tg_release(x);
}
END_TEST

START_TEST(test_view_of_a_null_shape)
{
    tg_tensor *x = tg_ones(TG_SHAPE(2), TG_FLOAT32);
    tg_clear_error();
    ck_assert_ptr_null(tg_view(x, 1, NULL));
    CK_ERROR_HAS("view: shape is NULL");
    ck_assert_ptr_null(tg_view(x, TG_MAX_DIMS + 1, (int64_t[TG_MAX_DIMS]){2}));
    CK_ERROR_HAS("view: ndim is 9, not in [0, 8]");
    tg_release(x);
}
END_TEST

START_TEST(test_reduction_dims_are_checked)
{
    tg_tensor *x = tg_ones(TG_SHAPE(2, 3), TG_FLOAT32);
    tg_clear_error();
    ck_assert_ptr_null(tg_sum(x, 1, NULL, false));
    CK_ERROR_HAS("sum: dims is NULL");
    ck_assert_ptr_null(tg_sum(x, 3, (int[]){0, 1, 0}, false));
    CK_ERROR_HAS("sum: ndims is 3, not in [0, 2]");
    tg_release(x);
}
END_TEST

Suite *arguments_suite(void)
{
    Suite *s = suite_create("arguments");
    TCase *tc = tcase_create("refused");
    tcase_add_test(tc, test_add_of_null_names_the_argument);
    tcase_add_test(tc, test_chain_keeps_the_first_message);
    tcase_add_test(tc, test_view_of_a_null_shape);
    tcase_add_test(tc, test_reduction_dims_are_checked);
    suite_add_tcase(s, tc);
    return s;
}

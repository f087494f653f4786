/* Tensor creation, queries, element access and the error model. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

START_TEST(test_creation)
{
    tg_tensor *z = tg_zeros(TG_SHAPE(2, 3), TG_FLOAT32), *o = tg_ones(TG_SHAPE(2, 3), TG_INT64);
    tg_tensor *f = tg_full(TG_SHAPE(4), 2.5f), *s = tg_scalar(7.0f);
    ck_assert_int_eq(tg_numel(z), 6);
    ck_assert(tg_is_contiguous(z) && z->stride[0] == 3 && z->stride[1] == 1);
    ck_assert_float_eq(tg_get(z, (int64_t[]){1, 2}), 0.0f);
    ck_assert_int_eq(tg_get_i64(o, (int64_t[]){1, 1}), 1);
    ck_assert_float_eq(tg_get(f, (int64_t[]){3}), 2.5f);
    ck_assert_int_eq(s->ndim, 0);
    ck_assert_float_eq(tg_item(s), 7.0f);
    tg_release(z), tg_release(o), tg_release(f), tg_release(s);
}
END_TEST

START_TEST(test_arange_and_from_data)
{
    tg_tensor *a = tg_arange(0, 1, 0.25);
    ck_assert_int_eq(tg_numel(a), 4);
    ck_assert_float_eq(tg_get(a, (int64_t[]){3}), 0.75f);
    tg_tensor *b = tg_arange(5, 0, -2); /* 5 3 1 */
    ck_assert_int_eq(tg_numel(b), 3);
    ck_assert_float_eq(tg_get(b, (int64_t[]){2}), 1.0f);
    ck_assert_ptr_null(tg_arange(0, 1, -1));
    int64_t data[] = {4, 5, 6, 7};
    tg_tensor *c = tg_from_data(TG_SHAPE(2, 2), TG_INT64, data);
    int64_t back[4];
    ck_assert_int_eq(tg_copy_to_buffer(c, back), 0);
    ck_assert_mem_eq(back, data, sizeof data);
    ck_assert_ptr_null(tg_data_f32(c));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "int64"));
    tg_release(a), tg_release(b), tg_release(c);
}
END_TEST

START_TEST(test_bad_shapes_fail_cleanly)
{
    ck_assert_ptr_null(tg_zeros(TG_SHAPE(2, -1), TG_FLOAT32));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "negative size -1 in dim 1"));
    ck_assert_ptr_null(tg_zeros(9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, TG_FLOAT32));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "at most 8"));
    ck_assert_ptr_null(tg_zeros(TG_SHAPE(INT64_MAX / 2, 4), TG_FLOAT32));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "too large"));
    tg_tensor *one = tg_ones(TG_SHAPE(2), TG_FLOAT32);
    tg_item(one);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "2 elements"));
    tg_release(one);
}
END_TEST

START_TEST(test_error_names_file_and_line)
{
    tg_clear_error();
    ck_assert_str_eq(tg_last_error(), "");
    tg_tensor *t = tg_ones(TG_SHAPE(2, 3), TG_FLOAT32);
    ck_assert_ptr_null(tg_k_select(t, 5, 0));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "tensor/tensor.c:"));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "select: dim 5 out of range for a 2-dim tensor"));
    tg_release(t);
}
END_TEST

START_TEST(test_empty_tensors)
{
    tg_tensor *e = tg_zeros(TG_SHAPE(0, 3), TG_FLOAT32);
    ck_assert_int_eq(tg_numel(e), 0);
    tg_tensor *x = tg_k_exp(e), *s = tg_k_sum(e, 1, (int[]){0}, false);
    ck_assert_int_eq(tg_numel(x), 0);
    ck_assert_float_eq(tg_get(s, (int64_t[]){2}), 0.0f);
    tg_release(e), tg_release(x), tg_release(s);
}
END_TEST

START_TEST(test_element_access_checks_its_arguments)
{
    tg_tensor *t = tg_zeros(TG_SHAPE(3, 2), TG_INT64);
    tg_clear_error();
    ck_assert(isnan(tg_get(t, (int64_t[]){7, 0})));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "get: index 7 out of range for dim 0 of size 3"));
    ck_assert_int_eq(tg_get_i64(t, (int64_t[]){0, -1}), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "get_i64: index -1 out of range for dim 1 of size 2"));
    tg_clear_error();
    ck_assert(isnan(tg_get(NULL, (int64_t[]){0, 0})));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "get: t is NULL"));
    ck_assert_int_eq(tg_get_i64(t, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "get_i64: index is NULL"));
    tg_release(t);
}
END_TEST

START_TEST(test_item_of_null_says_so)
{
    tg_clear_error();
    ck_assert(isnan(tg_item(NULL)));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "item: t is NULL"));
}
END_TEST

/* A NULL argument records its own message, unless an earlier failure
 * (which most likely made the NULL) has recorded one. */
START_TEST(test_null_keeps_the_earlier_message)
{
    tg_clear_error();
    tg_tensor *bad = tg_zeros(TG_SHAPE(-2), TG_FLOAT32);
    ck_assert_ptr_null(tg_zeros_like(bad));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "negative size -2"));
    tg_clear_error();
    ck_assert_ptr_null(tg_zeros_like(NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "zeros_like: t is NULL"));
}
END_TEST

START_TEST(test_unknown_dtype_is_refused)
{
    ck_assert_ptr_null(tg_empty(TG_SHAPE(2), (tg_dtype)7));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "empty: unknown dtype 7"));
    ck_assert_ptr_null(tg_zeros(TG_SHAPE(2), (tg_dtype)-1));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "unknown dtype -1"));
    ck_assert_uint_eq(tg_dtype_size((tg_dtype)7), 0);
    ck_assert_ptr_null(tg_dtype_name((tg_dtype)7));
}
END_TEST

START_TEST(test_threads_setting)
{
    int before = tg_get_num_threads();
    ck_assert_int_eq(tg_set_num_threads(TG_MAX_THREADS + 1), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "set_num_threads: n is 1025, not in [1, 1024]"));
    ck_assert_int_eq(tg_set_num_threads(32768), -1);
    ck_assert_int_eq(tg_set_num_threads(INT_MAX), -1);
    ck_assert_int_eq(tg_get_num_threads(), before);
    ck_assert_int_eq(tg_set_num_threads(0), -1);
    ck_assert_int_eq(tg_set_num_threads(1), 0);
    ck_assert_int_eq(tg_get_num_threads(), 1);
    ck_assert_int_eq(tg_set_num_threads(2), 0);
    ck_assert_int_eq(tg_get_num_threads(), 2);
    ck_assert_ptr_nonnull(tg_blas_init());
}
END_TEST

Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_creation);
    tcase_add_test(tc, test_arange_and_from_data);
    tcase_add_test(tc, test_bad_shapes_fail_cleanly);
    tcase_add_test(tc, test_error_names_file_and_line);
    tcase_add_test(tc, test_empty_tensors);
    tcase_add_test(tc, test_element_access_checks_its_arguments);
    tcase_add_test(tc, test_item_of_null_says_so);
    tcase_add_test(tc, test_null_keeps_the_earlier_message);
    tcase_add_test(tc, test_unknown_dtype_is_refused);
    tcase_add_test(tc, test_threads_setting);
    suite_add_tcase(s, tc);
    return s;
}

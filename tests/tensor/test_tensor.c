/* Tensor creation, queries, element access and the error model. */
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

START_TEST(test_threads_setting)
{
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
    tcase_add_test(tc, test_threads_setting);
    suite_add_tcase(s, tc);
    return s;
}

/* The scan for non-finite values: NaN and both infinities found wherever
 * they lie (first in logical order, across the scan's blocks, through
 * strides), finite values and int64 tensors passed. */
#include <math.h>

#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

#define LONG 10000 /* more than two of the scan's blocks */

static tg_tensor *long_ramp(void)
{
    tg_tensor *t = tg_zeros(1, (int64_t[]){LONG}, TG_FLOAT32);
    ck_assert_ptr_nonnull(t);
    float *p = tg_data_f32(t);
    for (int i = 0; i < LONG; i++) p[i] = (float)i * 1e30f; /* large, but finite */
    return t;
}

START_TEST(test_finite_values_pass)
{
    tg_tensor *t = long_ramp();
    float bad = 0;
    ck_assert_int_eq(tg_k_all_finite(t, &bad), 1);
    ck_assert(bad == 0);
    tg_data_f32(t)[7] = 3.4028235e38f; /* FLT_MAX */
    ck_assert_int_eq(tg_all_finite(t, NULL), 1);
    tg_release(t);
}
END_TEST

/* Each kind of non-finite value, at the start, mid-block and at the end. */
START_TEST(test_each_nonfinite_value_is_found)
{
    const float values[] = {NAN, INFINITY, -INFINITY};
    const int where[] = {0, 4097, LONG - 1};
    for (int v = 0; v < 3; v++)
        for (int w = 0; w < 3; w++) {
            tg_tensor *t = long_ramp();
            tg_data_f32(t)[where[w]] = values[v];
            float bad = 0;
            ck_assert_int_eq(tg_all_finite(t, &bad), 0);
            ck_assert(isnan(values[v]) ? isnan(bad) : bad == values[v]);
            tg_release(t);
        }
}
END_TEST

START_TEST(test_the_first_in_logical_order_is_reported)
{
    tg_tensor *t = tg_from_data(TG_SHAPE(2, 2), TG_FLOAT32, (const float[]){1, INFINITY, NAN, 4});
    tg_tensor *tr = tg_transpose(t, 0, 1); /* logical order 1, nan, inf, 4 */
    float bad = 0;
    ck_assert_int_eq(tg_all_finite(t, &bad), 0);
    ck_assert(isinf(bad));
    ck_assert_int_eq(tg_all_finite(tr, &bad), 0);
    ck_assert(isnan(bad));
    tg_release(tr);
    tg_release(t);
}
END_TEST

START_TEST(test_int64_and_empty_tensors_are_finite_and_null_fails)
{
    tg_tensor *i = tg_zeros(1, (int64_t[]){3}, TG_INT64);
    tg_tensor *e = tg_zeros(1, (int64_t[]){0}, TG_FLOAT32);
    ck_assert_int_eq(tg_all_finite(i, NULL), 1);
    ck_assert_int_eq(tg_all_finite(e, NULL), 1);
    ck_assert_int_eq(tg_all_finite(NULL, NULL), -1);
    tg_release(i);
    tg_release(e);
}
END_TEST

Suite *finite_suite(void)
{
    Suite *s = suite_create("finite");
    TCase *tc = tcase_create("finite");
    tcase_add_test(tc, test_finite_values_pass);
    tcase_add_test(tc, test_each_nonfinite_value_is_found);
    tcase_add_test(tc, test_the_first_in_logical_order_is_reported);
    tcase_add_test(tc, test_int64_and_empty_tensors_are_finite_and_null_fails);
    suite_add_tcase(s, tc);
    return s;
}

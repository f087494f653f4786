/* Elementwise kernels: values, broadcasting, strided operands, in place. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

static tg_tensor *vec(int n, const float *v) { return tg_from_data(TG_SHAPE(n), TG_FLOAT32, v); }

static void assert_values(tg_tensor *t, int n, const float *want)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(tg_numel(t), n);
    float got[64];
    ck_assert_int_eq(tg_copy_to_buffer(t, got), 0);
    for (int i = 0; i < n; i++) ck_assert_float_eq_tol(got[i], want[i], 1e-6f * (1 + fabsf(want[i])));
}

START_TEST(test_unary_values)
{
    tg_tensor *x = vec(4, (float[]){-2, -0.5f, 0.5f, 3});
    tg_tensor *r[] = {tg_k_neg(x), tg_k_abs(x), tg_k_relu(x), tg_k_sign(x), tg_k_clamp(x, -1, 1),
                      tg_k_mul_scalar(x, 2), tg_k_add_scalar(x, 1), tg_k_sigmoid(x), tg_k_tanh(x)};
    assert_values(r[0], 4, (float[]){2, 0.5f, -0.5f, -3});
    assert_values(r[1], 4, (float[]){2, 0.5f, 0.5f, 3});
    assert_values(r[2], 4, (float[]){0, 0, 0.5f, 3});
    assert_values(r[3], 4, (float[]){-1, -1, 1, 1});
    assert_values(r[4], 4, (float[]){-1, -0.5f, 0.5f, 1});
    assert_values(r[5], 4, (float[]){-4, -1, 1, 6});
    assert_values(r[6], 4, (float[]){-1, 0.5f, 1.5f, 4});
    assert_values(r[7], 4, (float[]){1 / (1 + expf(2)), 1 / (1 + expf(0.5f)), 1 / (1 + expf(-0.5f)), 1 / (1 + expf(-3))});
    assert_values(r[8], 4, (float[]){tanhf(-2), tanhf(-0.5f), tanhf(0.5f), tanhf(3)});
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) tg_release(r[i]);
    tg_tensor *p = vec(3, (float[]){1, 4, 9});
    tg_tensor *q[] = {tg_k_sqrt(p), tg_k_log(p), tg_k_exp(p), tg_k_pow_scalar(p, 1.5f)};
    assert_values(q[0], 3, (float[]){1, 2, 3});
    assert_values(q[1], 3, (float[]){0, logf(4), logf(9)});
    assert_values(q[2], 3, (float[]){expf(1), expf(4), expf(9)});
    assert_values(q[3], 3, (float[]){1, 8, 27});
    for (size_t i = 0; i < sizeof q / sizeof *q; i++) tg_release(q[i]);
    tg_release(x), tg_release(p);
}
END_TEST

START_TEST(test_broadcast_both_ways)
{
    tg_tensor *col = tg_from_data(TG_SHAPE(2, 1), TG_FLOAT32, (float[]){10, 20});
    tg_tensor *row = tg_from_data(TG_SHAPE(1, 3), TG_FLOAT32, (float[]){1, 2, 3});
    tg_tensor *s = tg_k_add(col, row), *d = tg_k_sub(row, col), *m = tg_k_maximum(row, col);
    ck_assert_int_eq(s->shape[0], 2);
    ck_assert_int_eq(s->shape[1], 3);
    assert_values(s, 6, (float[]){11, 12, 13, 21, 22, 23});
    assert_values(d, 6, (float[]){-9, -8, -7, -19, -18, -17});
    assert_values(m, 6, (float[]){10, 10, 10, 20, 20, 20});
    tg_release(col), tg_release(row), tg_release(s), tg_release(d), tg_release(m);
}
END_TEST

START_TEST(test_strided_operands)
{
    tg_tensor *t = tg_arange(0, 6, 1), *m = tg_k_view(t, TG_SHAPE(2, 3)), *mt = tg_k_transpose(m, 0, 1);
    tg_tensor *o = tg_ones(TG_SHAPE(3, 2), TG_FLOAT32);
    tg_tensor *r = tg_k_mul(mt, o), *c = tg_k_add(mt, mt);
    assert_values(r, 6, (float[]){0, 3, 1, 4, 2, 5});
    assert_values(c, 6, (float[]){0, 6, 2, 8, 4, 10});
    tg_release(t), tg_release(m), tg_release(mt), tg_release(o), tg_release(r), tg_release(c);
}
END_TEST

START_TEST(test_comparisons_and_where)
{
    tg_tensor *a = vec(3, (float[]){1, 2, 3}), *b = vec(3, (float[]){3, 2, 1});
    tg_tensor *r[] = {tg_k_eq(a, b), tg_k_ne(a, b), tg_k_lt(a, b), tg_k_le(a, b), tg_k_gt(a, b), tg_k_ge(a, b)};
    assert_values(r[0], 3, (float[]){0, 1, 0});
    assert_values(r[1], 3, (float[]){1, 0, 1});
    assert_values(r[2], 3, (float[]){1, 0, 0});
    assert_values(r[3], 3, (float[]){1, 1, 0});
    assert_values(r[4], 3, (float[]){0, 0, 1});
    assert_values(r[5], 3, (float[]){0, 1, 1});
    tg_tensor *w = tg_k_where(r[2], a, b);
    assert_values(w, 3, (float[]){1, 2, 1});
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) tg_release(r[i]);
    tg_release(a), tg_release(b), tg_release(w);
}
END_TEST

START_TEST(test_in_place)
{
    tg_tensor *a = tg_zeros(TG_SHAPE(2, 2), TG_FLOAT32), *b = vec(2, (float[]){1, -2});
    uint64_t v = tg_version(a);
    ck_assert_int_eq(tg_k_add_(a, b), 0);
    ck_assert_int_eq(tg_k_axpy_(a, 0.5f, b), 0);
    ck_assert_int_eq(tg_k_relu_(a), 0);
    assert_values(a, 4, (float[]){1.5f, 0, 1.5f, 0});
    ck_assert_uint_eq(tg_version(a), v + 3);
    tg_tensor *big = tg_zeros(TG_SHAPE(3), TG_FLOAT32);
    ck_assert_int_eq(tg_k_add_(b, big), -1); /* the output cannot grow */
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "does not broadcast to (2)"));
    tg_release(a), tg_release(b), tg_release(big);
}
END_TEST

START_TEST(test_dtype_and_shape_errors)
{
    tg_tensor *i = tg_zeros(TG_SHAPE(3), TG_INT64), *f = tg_zeros(TG_SHAPE(4), TG_FLOAT32);
    ck_assert_ptr_null(tg_k_exp(i));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "exp: argument 1 is int64"));
    tg_tensor *g = tg_zeros(TG_SHAPE(3), TG_FLOAT32);
    ck_assert_ptr_null(tg_k_mul(g, f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "mul: shapes (3) and (4) cannot broadcast"));
    tg_release(i), tg_release(f), tg_release(g);
}
END_TEST

/* Large enough to run on several threads: same bits for 1 and 2. */
START_TEST(test_thread_count_invariance)
{
    tg_rng rng = tg_rng_new(7, 0);
    tg_tensor *a = tg_randn(&rng, TG_SHAPE(300, 400)), *b = tg_randn(&rng, TG_SHAPE(400));
    tg_set_num_threads(1);
    tg_tensor *r1 = tg_k_sigmoid(a), *s1 = tg_k_div(a, b);
    tg_set_num_threads(2);
    tg_tensor *r2 = tg_k_sigmoid(a), *s2 = tg_k_div(a, b);
    ck_assert_mem_eq(tg_data_f32(r1), tg_data_f32(r2), 300 * 400 * sizeof(float));
    ck_assert_mem_eq(tg_data_f32(s1), tg_data_f32(s2), 300 * 400 * sizeof(float));
    tg_release(a), tg_release(b), tg_release(r1), tg_release(r2), tg_release(s1), tg_release(s2);
}
END_TEST

Suite *elementwise_suite(void)
{
    Suite *s = suite_create("elementwise");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_unary_values);
    tcase_add_test(tc, test_broadcast_both_ways);
    tcase_add_test(tc, test_strided_operands);
    tcase_add_test(tc, test_comparisons_and_where);
    tcase_add_test(tc, test_in_place);
    tcase_add_test(tc, test_dtype_and_shape_errors);
    tcase_add_test(tc, test_thread_count_invariance);
    suite_add_tcase(s, tc);
    return s;
}

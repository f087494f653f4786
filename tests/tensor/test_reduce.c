/* Reductions and softmax: values against hand-computed numbers, shapes,
 * errors, numerical stability and thread-count independence. */
#include <math.h>
#include <string.h>

#include "helpers.h"
#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

#define DIMS(...) (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (const int[]){__VA_ARGS__}
#define TOL 1e-5f

/* [[1, 2, 4], [3, 7, -1]] */
static tg_tensor *small(void)
{
    return tg_from_data(TG_SHAPE(2, 3), TG_FLOAT32, (const float[]){1, 2, 4, 3, 7, -1});
}

/* Checks t's shape and its values in logical order. */
static void expect(tg_tensor *t, int ndim, const int64_t *shape, const float *want)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, ndim);
    for (int i = 0; i < ndim; i++) ck_assert_int_eq(t->shape[i], shape[i]);
    float got[64];
    ck_assert_int_le(tg_numel(t), 64);
    ck_assert_int_eq(tg_copy_to_buffer(t, got), 0);
    for (int64_t i = 0; i < tg_numel(t); i++) ck_assert_float_eq_tol(got[i], want[i], TOL);
    tg_release(t);
}

#define EXPECT(t, SHAPE, ...) expect(t, SHAPE, (const float[]){__VA_ARGS__})

START_TEST(test_sum_mean_values)
{
    tg_tensor *x = small();
    EXPECT(tg_k_sum(x, DIMS(0), false), S(3), 4, 9, 3);
    EXPECT(tg_k_sum(x, DIMS(1), false), S(2), 7, 9);
    EXPECT(tg_k_sum(x, DIMS(-1), true), S(2, 1), 7, 9);
    EXPECT(tg_k_sum(x, 0, NULL, false), S0, 16);
    EXPECT(tg_k_sum(x, DIMS(1, 0), true), S(1, 1), 16);
    EXPECT(tg_k_mean(x, DIMS(1), false), S(2), 7.0f / 3, 3);
    EXPECT(tg_k_mean(x, 0, NULL, true), S(1, 1), 16.0f / 6);
    tg_tensor *xt = tg_k_transpose(x, 0, 1); /* (3,2), non-contiguous */
    EXPECT(tg_k_sum(xt, DIMS(0), false), S(2), 7, 9);
    EXPECT(tg_k_mean(xt, DIMS(1), true), S(3, 1), 2, 4.5f, 1.5f);
    tg_release(xt);
    tg_release(x);
}
END_TEST

START_TEST(test_var_values)
{
    tg_tensor *x = small();
    /* row 0: mean 7/3, squared deviations 42/9; row 1: mean 3, 32 */
    EXPECT(tg_k_var(x, DIMS(1), true, false), S(2), 42.0f / 18, 16);
    EXPECT(tg_k_var(x, DIMS(1), false, true), S(2, 1), 42.0f / 27, 32.0f / 3);
    /* columns: (1,3) (2,7) (4,-1) */
    EXPECT(tg_k_var(x, DIMS(0), true, false), S(3), 2, 12.5f, 12.5f);
    /* all six: mean 8/3, sum of squares 80, ss = 80 - 6 (8/3)^2 */
    float ss = 80.0f - 6.0f * 64.0f / 9.0f;
    EXPECT(tg_k_var(x, 0, NULL, true, false), S0, ss / 5);
    /* one element per output: unbiased divides by n - 1 == 0, giving NaN */
    tg_tensor *row = tg_k_narrow(x, 0, 0, 1), *v = tg_k_var(row, DIMS(0), true, false);
    ck_assert(isnan(tg_get(v, (int64_t[]){0})) && isnan(tg_get(v, (int64_t[]){2})));
    tg_tensor *b = tg_k_var(row, DIMS(0), false, false);
    ck_assert_float_eq(tg_get(b, (int64_t[]){1}), 0.0f);
    tg_release(row), tg_release(v), tg_release(b);
    tg_release(x);
}
END_TEST

START_TEST(test_amax_amin_values)
{
    tg_tensor *x = small();
    EXPECT(tg_k_amax(x, DIMS(1), false), S(2), 4, 7);
    EXPECT(tg_k_amax(x, DIMS(0), true), S(1, 3), 3, 7, 4);
    EXPECT(tg_k_amin(x, DIMS(1), true), S(2, 1), 1, -1);
    EXPECT(tg_k_amin(x, 0, NULL, false), S0, -1);
    EXPECT(tg_k_amax(x, 0, NULL, false), S0, 7);
    tg_release(x);
}
END_TEST

START_TEST(test_keepdim_shapes)
{
    tg_tensor *x = tg_ones(TG_SHAPE(2, 3, 4), TG_FLOAT32);
    tg_tensor *a = tg_k_sum(x, DIMS(0, 2), true), *b = tg_k_sum(x, DIMS(0, 2), false);
    tg_tensor *c = tg_k_var(x, DIMS(-2), true, true), *d = tg_k_amax(x, 0, NULL, true);
    ck_assert_int_eq(a->ndim, 3);
    ck_assert(a->shape[0] == 1 && a->shape[1] == 3 && a->shape[2] == 1);
    ck_assert_float_eq(tg_get(a, (int64_t[]){0, 2, 0}), 8.0f);
    ck_assert(b->ndim == 1 && b->shape[0] == 3);
    ck_assert(c->ndim == 3 && c->shape[0] == 2 && c->shape[1] == 1 && c->shape[2] == 4);
    ck_assert(d->ndim == 3 && tg_numel(d) == 1);
    tg_release(x), tg_release(a), tg_release(b), tg_release(c), tg_release(d);
}
END_TEST

START_TEST(test_argmax_argmin)
{
    /* ties: the first extreme wins */
    tg_tensor *x = tg_from_data(TG_SHAPE(2, 4), TG_FLOAT32, (const float[]){3, 9, 9, 1, -2, -2, 5, -2});
    tg_tensor *a = tg_k_argmax(x, 1, false), *b = tg_k_argmin(x, -1, true), *c = tg_k_argmax(x, 0, false);
    ck_assert_int_eq(a->dtype, TG_INT64);
    ck_assert(a->ndim == 1 && a->shape[0] == 2);
    ck_assert_int_eq(tg_get_i64(a, (int64_t[]){0}), 1);
    ck_assert_int_eq(tg_get_i64(a, (int64_t[]){1}), 2);
    ck_assert(b->ndim == 2 && b->shape[0] == 2 && b->shape[1] == 1);
    ck_assert_int_eq(tg_get_i64(b, (int64_t[]){0, 0}), 3);
    ck_assert_int_eq(tg_get_i64(b, (int64_t[]){1, 0}), 0);
    int64_t want[4] = {0, 0, 0, 0}, got[4]; /* 3 > -2, 9 > -2, 9 > 5, 1 > -2 */
    ck_assert_int_eq(tg_copy_to_buffer(c, got), 0);
    ck_assert_mem_eq(got, want, sizeof got);
    tg_tensor *xt = tg_k_transpose(x, 0, 1), *d = tg_k_argmin(xt, 0, false); /* non-contiguous */
    ck_assert_int_eq(tg_get_i64(d, (int64_t[]){0}), 3);
    ck_assert_int_eq(tg_get_i64(d, (int64_t[]){1}), 0);
    tg_tensor *s = tg_scalar(4.0f), *e = tg_k_argmax(s, 0, false); /* 0-dim */
    ck_assert(e && e->ndim == 0 && tg_get_i64(e, NULL) == 0);
    tg_release(x), tg_release(a), tg_release(b), tg_release(c), tg_release(xt), tg_release(d);
    tg_release(s), tg_release(e);
}
END_TEST

START_TEST(test_softmax_values)
{
    tg_tensor *x = tg_from_data(TG_SHAPE(2, 3), TG_FLOAT32, (const float[]){1, 2, 3, 1, 1, 1});
    EXPECT(tg_k_softmax(x, 1), S(2, 3), 0.09003057f, 0.24472847f, 0.66524096f, 1.0f / 3, 1.0f / 3, 1.0f / 3);
    EXPECT(tg_k_log_softmax(x, -1), S(2, 3), -2.40760596f, -1.40760596f, -0.40760596f, -1.09861229f,
           -1.09861229f, -1.09861229f);
    /* dim 0: columns (1,1), (2,1), (3,1) */
    EXPECT(tg_k_softmax(x, 0), S(2, 3), 0.5f, 0.73105858f, 0.88079708f, 0.5f, 0.26894142f, 0.11920292f);
    tg_tensor *s = tg_scalar(2.5f);
    EXPECT(tg_k_softmax(s, 0), S0, 1.0f);
    EXPECT(tg_k_log_softmax(s, -1), S0, 0.0f);
    tg_release(s);
    tg_release(x);
}
END_TEST

START_TEST(test_softmax_rows_sum_to_one)
{
    tg_rng rng = tg_rng_new(7, 0);
    tg_tensor *x = tg_randn(&rng, TG_SHAPE(4, 5, 6));
    tg_tensor *xt = tg_k_transpose(x, 0, 2); /* (6,5,4), non-contiguous */
    for (int dim = -3; dim < 3; dim++) {
        tg_tensor *y = tg_k_softmax(xt, dim), *s = tg_k_sum(y, DIMS(dim), false);
        float buf[64];
        ck_assert_int_eq(tg_copy_to_buffer(s, buf), 0);
        for (int64_t i = 0; i < tg_numel(s); i++) ck_assert_float_eq_tol(buf[i], 1.0f, TOL);
        tg_tensor *ly = tg_k_log_softmax(xt, dim), *ey = tg_k_exp(ly), *diff = tg_k_sub(ey, y);
        tg_tensor *m = tg_k_abs(diff), *mx = tg_k_amax(m, 0, NULL, false);
        ck_assert_float_le(tg_item(mx), 1e-6f);
        tg_release(y), tg_release(s), tg_release(ly), tg_release(ey), tg_release(diff), tg_release(m);
        tg_release(mx);
    }
    tg_release(x), tg_release(xt);
}
END_TEST

START_TEST(test_log_softmax_large_inputs)
{
    tg_tensor *x = tg_from_data(TG_SHAPE(1, 3), TG_FLOAT32, (const float[]){1000, 0, -1000});
    EXPECT(tg_k_log_softmax(x, 1), S(1, 3), 0, -1000, -2000);
    EXPECT(tg_k_softmax(x, 1), S(1, 3), 1, 0, 0);
    tg_tensor *y = tg_from_data(TG_SHAPE(2), TG_FLOAT32, (const float[]){1000, 1000});
    EXPECT(tg_k_log_softmax(y, 0), S(2), -0.69314718f, -0.69314718f);
    tg_release(x), tg_release(y);
}
END_TEST

START_TEST(test_errors)
{
    tg_tensor *x = small();
    ck_assert_ptr_null(tg_k_sum(x, DIMS(1, -1), false));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "sum"));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "twice"));
    ck_assert_ptr_null(tg_k_var(x, DIMS(0, 0), true, false));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "var"));
    /* out-of-range dims: the message names the op */
    const char *ops[] = {"sum", "mean", "var", "amax", "amin", "argmax", "argmin", "softmax", "log_softmax"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        tg_tensor *out = NULL;
        tg_clear_error();
        switch (i) {
        case 0: out = tg_k_sum(x, DIMS(2), false); break;
        case 1: out = tg_k_mean(x, DIMS(-3), false); break;
        case 2: out = tg_k_var(x, DIMS(5), true, false); break;
        case 3: out = tg_k_amax(x, DIMS(2), false); break;
        case 4: out = tg_k_amin(x, DIMS(2), false); break;
        case 5: out = tg_k_argmax(x, 2, false); break;
        case 6: out = tg_k_argmin(x, -3, false); break;
        case 7: out = tg_k_softmax(x, 2); break;
        default: out = tg_k_log_softmax(x, -3); break;
        }
        ck_assert_ptr_null(out);
        ck_assert_msg(strstr(tg_last_error(), ops[i]) && strstr(tg_last_error(), "out of range"),
                      "%s: %s", ops[i], tg_last_error());
    }
    tg_tensor *ix = tg_zeros(TG_SHAPE(2, 2), TG_INT64);
    ck_assert_ptr_null(tg_k_softmax(ix, 0));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "softmax"));
    ck_assert_ptr_null(tg_k_argmax(ix, 0, false));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "argmax"));
    ck_assert_ptr_null(tg_k_sum(NULL, 0, NULL, false));
    tg_release(ix);
    tg_release(x);
}
END_TEST

/* Every op's result, computed with the current thread count, as floats. */
static int64_t run_all(void *ctx, float *buf)
{
    tg_tensor *x = ctx;
    tg_tensor *outs[] = {
        tg_k_sum(x, DIMS(0), false),      tg_k_sum(x, DIMS(1), false),       tg_k_sum(x, 0, NULL, false),
        tg_k_mean(x, DIMS(1), false),     tg_k_var(x, DIMS(0), true, false), tg_k_var(x, DIMS(1), true, false),
        tg_k_amax(x, DIMS(0), false),     tg_k_amin(x, DIMS(1), false),      tg_k_softmax(x, 0),
        tg_k_softmax(x, 1),               tg_k_log_softmax(x, 0),            tg_k_log_softmax(x, -1),
    };
    int n = 0;
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) {
        ck_assert_ptr_nonnull(outs[i]);
        ck_assert_int_eq(tg_copy_to_buffer(outs[i], buf + n), 0);
        n += (int)tg_numel(outs[i]);
        tg_release(outs[i]);
    }
    tg_tensor *a = tg_k_argmax(x, 0, false), *f = tg_k_to_dtype(a, TG_FLOAT32);
    ck_assert_int_eq(tg_copy_to_buffer(f, buf + n), 0);
    n += (int)tg_numel(f);
    tg_release(a), tg_release(f);
    return n;
}

START_TEST(test_bitwise_same_for_any_thread_count)
{
    enum { R = 512, C = 300, MAXN = 5 * R * C + 4 * R + 4 * C + 1 };
    tg_rng rng = tg_rng_new(42, 0);
    tg_tensor *base = tg_randn(&rng, TG_SHAPE(C, R)), *x = tg_k_transpose(base, 0, 1);
    expect_same_on_1_and_2_threads(run_all, x, MAXN);
    tg_release(base), tg_release(x);
}
END_TEST

Suite *reduce_suite(void)
{
    Suite *s = suite_create("reduce");
    TCase *tc = tcase_create("reduce");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sum_mean_values);
    tcase_add_test(tc, test_var_values);
    tcase_add_test(tc, test_amax_amin_values);
    tcase_add_test(tc, test_keepdim_shapes);
    tcase_add_test(tc, test_argmax_argmin);
    tcase_add_test(tc, test_softmax_values);
    tcase_add_test(tc, test_softmax_rows_sum_to_one);
    tcase_add_test(tc, test_log_softmax_large_inputs);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_bitwise_same_for_any_thread_count);
    suite_add_tcase(s, tc);
    return s;
}

/* Counter-based RNG: reproducible, stream-separated, thread-independent,
 * and with the right moments. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

START_TEST(test_same_seed_same_bits)
{
    tg_rng a = tg_rng_new(42, 0), b = tg_rng_new(42, 0), c = tg_rng_new(42, 1);
    tg_tensor *x = tg_randn(&a, TG_SHAPE(1000)), *y = tg_randn(&b, TG_SHAPE(1000)), *z = tg_randn(&c, TG_SHAPE(1000));
    ck_assert_mem_eq(tg_data_f32(x), tg_data_f32(y), 1000 * sizeof(float));
    ck_assert(memcmp(tg_data_f32(x), tg_data_f32(z), 1000 * sizeof(float)) != 0);
    ck_assert_uint_eq(a.counter, 250);
    tg_tensor *x2 = tg_randn(&a, TG_SHAPE(10)); /* the state advanced: new numbers */
    ck_assert(memcmp(tg_data_f32(x), tg_data_f32(x2), 10 * sizeof(float)) != 0);
    tg_release(x), tg_release(y), tg_release(z), tg_release(x2);
}
END_TEST

START_TEST(test_split_draws_match_one_draw)
{
    /* Element i depends only on the counter: two draws of 8 equal one of 16. */
    tg_rng a = tg_rng_new(3, 0), b = tg_rng_new(3, 0);
    tg_tensor *whole = tg_rand(&a, TG_SHAPE(16)), *h1 = tg_rand(&b, TG_SHAPE(8)), *h2 = tg_rand(&b, TG_SHAPE(8));
    ck_assert_mem_eq(tg_data_f32(whole), tg_data_f32(h1), 8 * sizeof(float));
    ck_assert_mem_eq(tg_data_f32(whole) + 8, tg_data_f32(h2), 8 * sizeof(float));
    tg_release(whole), tg_release(h1), tg_release(h2);
}
END_TEST

START_TEST(test_thread_count_invariance)
{
    tg_rng a = tg_rng_new(9, 0), b = tg_rng_new(9, 0);
    tg_set_num_threads(1);
    tg_tensor *x = tg_randn(&a, TG_SHAPE(200000));
    tg_set_num_threads(2);
    tg_tensor *y = tg_randn(&b, TG_SHAPE(200000));
    ck_assert_mem_eq(tg_data_f32(x), tg_data_f32(y), 200000 * sizeof(float));
    tg_release(x), tg_release(y);
}
END_TEST

START_TEST(test_moments)
{
    tg_rng r = tg_rng_new(5, 0);
    int64_t n = 200000;
    tg_tensor *u = tg_rand(&r, TG_SHAPE(n)), *g = tg_randn(&r, TG_SHAPE(n));
    double su = 0, sg = 0, sg2 = 0, umin = 1, umax = 0;
    const float *du = tg_data_f32(u), *dg = tg_data_f32(g);
    for (int64_t i = 0; i < n; i++) {
        su += du[i];
        umin = fmin(umin, du[i]);
        umax = fmax(umax, du[i]);
        sg += dg[i];
        sg2 += (double)dg[i] * dg[i];
    }
    ck_assert(umin >= 0 && umax < 1);
    ck_assert_double_eq_tol(su / n, 0.5, 0.005);
    ck_assert_double_eq_tol(sg / n, 0.0, 0.01);
    ck_assert_double_eq_tol(sg2 / n, 1.0, 0.02);
    tg_release(u), tg_release(g);
}
END_TEST

START_TEST(test_randint_and_fills)
{
    tg_rng r = tg_rng_new(11, 0);
    tg_tensor *i = tg_randint(&r, -3, 4, TG_SHAPE(1000));
    int seen[7] = {0};
    for (int64_t k = 0; k < 1000; k++) {
        int64_t v = tg_data_i64(i)[k];
        ck_assert(v >= -3 && v < 4);
        seen[v + 3] = 1;
    }
    for (int k = 0; k < 7; k++) ck_assert(seen[k]);
    ck_assert_ptr_null(tg_randint(&r, 2, 2, TG_SHAPE(3)));
    tg_tensor *t = tg_zeros(TG_SHAPE(4, 6), TG_FLOAT32), *v = tg_k_transpose(t, 0, 1);
    ck_assert_int_eq(tg_k_uniform_(v, &r, 2.0, 3.0), 0);
    for (int64_t k = 0; k < 24; k++) ck_assert(tg_data_f32(t)[k] >= 2.0f && tg_data_f32(t)[k] < 3.0f);
    ck_assert_int_eq(tg_k_normal_(i, &r, 0, 1), -1); /* int64 */
    tg_release(i), tg_release(t), tg_release(v);
}
END_TEST

START_TEST(test_batched_draws_match_single_draws)
{
    /* tg_rng_uniform_run and the dropout mask compute many blocks at once:
     * the same numbers as tg_rand draws, from any first element. */
    tg_rng r = tg_rng_new(5, 2), drawn = r;
    r.counter = drawn.counter = 7;
    tg_tensor *all = tg_rand(&drawn, TG_SHAPE(9 + 80));
    float run[80];
    for (uint64_t first = 0; first < 9; first++)
        for (int64_t n = 0; n <= 80; n += 13) {
            tg_rng_uniform_run(&r, first, n, run);
            for (int64_t j = 0; j < n; j++) ck_assert_float_eq(run[j], tg_data_f32(all)[first + (uint64_t)j]);
        }
    tg_release(all);
    tg_rng a = tg_rng_new(5, 2), b = tg_rng_new(5, 2);
    tg_tensor *u = tg_rand(&a, TG_SHAPE(3, 71)), *mask = tg_k_dropout_mask(&b, TG_SHAPE(3, 71), 0.3f, 2.0f);
    for (int i = 0; i < 3 * 71; i++)
        ck_assert_float_eq(tg_data_f32(mask)[i], tg_data_f32(u)[i] >= 0.3f ? 2.0f : 0.0f);
    ck_assert_uint_eq(a.counter, b.counter);
    tg_release(u), tg_release(mask);
}
END_TEST

Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_same_seed_same_bits);
    tcase_add_test(tc, test_split_draws_match_one_draw);
    tcase_add_test(tc, test_thread_count_invariance);
    tcase_add_test(tc, test_moments);
    tcase_add_test(tc, test_randint_and_fills);
    tcase_add_test(tc, test_batched_draws_match_single_draws);
    suite_add_tcase(s, tc);
    return s;
}

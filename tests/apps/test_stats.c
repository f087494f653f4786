/* Tests of examples/stats.c: mean, sample std and paired differences
 * against closed forms. */
#include <math.h>

#include "stats.h"
#include "suites.h"

START_TEST(test_mean_and_sample_std)
{
    /* population std 2, sample std sqrt(32 / 7) */
    const double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
    stats_summary s = stats_summarize(v, 8);
    ck_assert_int_eq(s.n, 8);
    ck_assert_double_eq_tol(s.mean, 5, 1e-15);
    ck_assert_double_eq_tol(s.std, sqrt(32.0 / 7.0), 1e-15);
    const double w[] = {1, 2, 3, 4};
    s = stats_summarize(w, 4);
    ck_assert_double_eq_tol(s.mean, 2.5, 1e-15);
    ck_assert_double_eq_tol(s.std, sqrt(5.0 / 3.0), 1e-15);
}
END_TEST

START_TEST(test_few_values)
{
    const double v[] = {0.25};
    stats_summary s = stats_summarize(v, 1);
    ck_assert_double_eq(s.mean, 0.25);
    ck_assert(isnan(s.std));
    s = stats_summarize(v, 0);
    ck_assert(isnan(s.mean) && isnan(s.std));
    const double same[] = {0.5, 0.5, 0.5};
    s = stats_summarize(same, 3);
    ck_assert_double_eq(s.std, 0);
}
END_TEST

START_TEST(test_nan_propagates)
{
    const double v[] = {1, NAN, 3};
    stats_summary s = stats_summarize(v, 3);
    ck_assert(isnan(s.mean) && isnan(s.std));
}
END_TEST

START_TEST(test_paired)
{
    /* differences 1 and 3: mean 2, sample std sqrt(2) */
    const double a[] = {3, 5}, b[] = {2, 2};
    double diff[2];
    stats_summary s = stats_paired(a, b, 2, diff);
    ck_assert_double_eq(diff[0], 1);
    ck_assert_double_eq(diff[1], 3);
    ck_assert_double_eq_tol(s.mean, 2, 1e-15);
    ck_assert_double_eq_tol(s.std, sqrt(2.0), 1e-15);
    /* a constant gain has no spread, however far apart the arms */
    const double c[] = {0.61, 0.52, 0.73}, d[] = {0.51, 0.42, 0.63};
    double e[3];
    s = stats_paired(c, d, 3, e);
    ck_assert_double_eq_tol(s.mean, 0.1, 1e-12);
    ck_assert_double_eq_tol(s.std, 0, 1e-12);
}
END_TEST

Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, test_mean_and_sample_std);
    tcase_add_test(tc, test_few_values);
    tcase_add_test(tc, test_nan_propagates);
    tcase_add_test(tc, test_paired);
    suite_add_tcase(s, tc);
    return s;
}

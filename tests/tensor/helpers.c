/* Helpers shared by the Check suites of tests/tensor; see helpers.h. */
#include "helpers.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void expect_close(tg_tensor *t, int ndim, const int64_t *shape, const float *want, float tol)
{
    ck_assert_msg(t != NULL, "%s", tg_last_error());
    ck_assert_int_eq(t->ndim, ndim);
    for (int i = 0; i < ndim; i++) ck_assert_int_eq(t->shape[i], shape[i]);
    float got[64];
    ck_assert_int_le(tg_numel(t), 64);
    ck_assert_int_eq(tg_copy_to_buffer(t, got), 0);
    for (int64_t i = 0; i < tg_numel(t); i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= tol * (1 + fabsf(want[i])), "[%lld]: %.7g, want %.7g",
                      (long long)i, got[i], want[i]);
    tg_release(t);
}

void expect_same_on_1_and_2_threads(int64_t (*run)(void *ctx, float *buf), void *ctx, int64_t max)
{
    float *one = malloc((size_t)max * sizeof *one), *two = malloc((size_t)max * sizeof *two);
    ck_assert(one && two);
    int before = tg_get_num_threads();
    tg_set_num_threads(1);
    int64_t n1 = run(ctx, one);
    tg_set_num_threads(2);
    int64_t n2 = run(ctx, two);
    tg_set_num_threads(before);
    ck_assert_int_eq(n1, n2);
    ck_assert_int_le(n1, max);
    ck_assert_int_eq(memcmp(one, two, (size_t)n1 * sizeof *one), 0);
    free(one), free(two);
}

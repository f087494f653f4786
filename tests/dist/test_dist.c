/* dist/: the collectives on every rank of a job. The same program runs
 * alone (a job of one, also what a build without MPI gives) and under
 * mpirun -np 2 and -np 4; each check holds for any number of ranks, and a
 * failure on any rank fails the job. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ranks.h"
#include "tensorgrad.h"

/* Element i of rank r's tensor: exact in float32, different on every rank. */
static float value_of(int r, int64_t i) { return (float)(r * 1000 + i) * 0.25f; }

static tg_tensor *rank_tensor(int r, int64_t n)
{
    tg_tensor *t = tg_empty(TG_SHAPE(n), TG_FLOAT32);
    for (int64_t i = 0; i < n; i++) tg_data_f32(t)[i] = value_of(r, i);
    return t;
}

START_TEST(test_rank_and_size)
{
    int size = tg_dist_world_size(), rank = tg_dist_rank();
    ck_assert_int_ge(size, 1);
    ck_assert_int_ge(rank, 0);
    ck_assert_int_lt(rank, size);
    ck_assert_int_eq(tg_dist_barrier(), 0);
}
END_TEST

START_TEST(test_broadcast_from_each_root)
{
    int size = tg_dist_world_size(), rank = tg_dist_rank();
    for (int root = 0; root < size; root++) {
        tg_tensor *t = rank_tensor(rank, 37);
        ck_assert_int_eq(tg_dist_broadcast(t, root), 0);
        for (int64_t i = 0; i < 37; i++) ck_assert_float_eq(tg_data_f32(t)[i], value_of(root, i));
        tg_release(t);
    }
}
END_TEST

START_TEST(test_allreduce_sum_and_mean)
{
    int size = tg_dist_world_size(), rank = tg_dist_rank();
    tg_tensor *sum = rank_tensor(rank, 1001), *mean = rank_tensor(rank, 1001), *again = rank_tensor(rank, 1001);
    ck_assert_int_eq(tg_dist_allreduce(sum, TG_DIST_SUM), 0);
    ck_assert_int_eq(tg_dist_allreduce(mean, TG_DIST_MEAN), 0);
    ck_assert_int_eq(tg_dist_allreduce(again, TG_DIST_SUM), 0);
    for (int64_t i = 0; i < 1001; i++) {
        float want = 0;
        for (int r = 0; r < size; r++) want += value_of(r, i); /* exact: small multiples of 1/4 */
        ck_assert_float_eq(tg_data_f32(sum)[i], want);
        ck_assert_float_eq_tol(tg_data_f32(mean)[i], want / (float)size, 1e-6f * want + 1e-6f);
    }
    ck_assert_mem_eq(tg_data_f32(sum), tg_data_f32(again), 1001 * sizeof(float)); /* the same bits twice */
    int64_t counts[3] = {rank, 1, -rank};
    tg_tensor *ints = tg_from_data(TG_SHAPE(3), TG_INT64, counts);
    ck_assert_int_eq(tg_dist_allreduce(ints, TG_DIST_SUM), 0);
    ck_assert_int_eq(tg_data_i64(ints)[0], (int64_t)size * (size - 1) / 2);
    ck_assert_int_eq(tg_data_i64(ints)[1], size);
    tg_release(sum), tg_release(mean), tg_release(again), tg_release(ints);
}
END_TEST

START_TEST(test_allgather_in_rank_order)
{
    int size = tg_dist_world_size(), rank = tg_dist_rank();
    int scope = tg_scope_begin();
    tg_tensor *mine = tg_reshape(tg_scoped(rank_tensor(rank, 6)), TG_SHAPE(2, 3));
    tg_tensor *all = tg_dist_allgather(tg_transpose(mine, 0, 1)); /* any strides */
    tg_scope_end(scope);
    ck_assert_ptr_nonnull(all);
    ck_assert_int_eq(all->ndim, 3);
    ck_assert_int_eq(all->shape[0], size);
    ck_assert_int_eq(all->shape[1], 3);
    for (int r = 0; r < size; r++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++)
                ck_assert_float_eq(tg_data_f32(all)[(r * 3 + i) * 2 + j], value_of(r, j * 3 + i));
    tg_release(all);
}
END_TEST

/* Several sums in flight at once, moved along by test and waited for in
 * another order than started: each is the blocking allreduce's result. */
START_TEST(test_allreduce_started_in_background)
{
    int rank = tg_dist_rank();
    enum { WORKS = 3 };
    tg_tensor *started[WORKS], *blocking[WORKS];
    tg_dist_work *work[WORKS];
    for (int k = 0; k < WORKS; k++) {
        started[k] = rank_tensor(rank + k, 1000 + 517 * k);
        blocking[k] = rank_tensor(rank + k, 1000 + 517 * k);
        work[k] = tg_dist_allreduce_start(started[k], k == 1 ? TG_DIST_MEAN : TG_DIST_SUM);
        ck_assert_ptr_nonnull(work[k]);
    }
    ck_assert_int_ge(tg_dist_test(work[0]), 0);
    for (int k = WORKS - 1; k >= 0; k--) ck_assert_int_eq(tg_dist_wait(work[k]), 0);
    for (int k = 0; k < WORKS; k++) {
        ck_assert_int_eq(tg_dist_allreduce(blocking[k], k == 1 ? TG_DIST_MEAN : TG_DIST_SUM), 0);
        ck_assert_mem_eq(tg_data_f32(started[k]), tg_data_f32(blocking[k]), (size_t)tg_numel(started[k]) * 4);
        tg_release(started[k]), tg_release(blocking[k]);
    }
    ck_assert_int_eq(tg_dist_wait(NULL), 0);
    tg_tensor *ints = tg_zeros(TG_SHAPE(2), TG_INT64);
    ck_assert_ptr_null(tg_dist_allreduce_start(ints, TG_DIST_MEAN));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "float32"));
    tg_release(ints);
}
END_TEST

/* Settings compared across ranks: alike passes, a rank's own fails everywhere. */
START_TEST(test_check_same_settings)
{
    int size = tg_dist_world_size(), rank = tg_dist_rank();
    const char *alike = "{\"batch\":256}";
    ck_assert_int_eq(tg_dist_check_same(alike, strlen(alike), "the config"), 0);
    char own[32];
    snprintf(own, sizeof own, "{\"batch\":%d}", rank == size - 1 ? 128 : 256);
    int rc = tg_dist_check_same(own, strlen(own), "the config");
    if (size == 1) ck_assert_int_eq(rc, 0);
    else {
        ck_assert_int_eq(rc, -1);
        char want[64];
        snprintf(want, sizeof want, "the config differs between ranks: rank %d's", size - 1);
        ck_assert_ptr_nonnull(strstr(tg_last_error(), want));
    }
}
END_TEST

/* One rank's failure becomes every rank's; the failing rank keeps its own
 * message. */
START_TEST(test_agree_on_failures)
{
    int size = tg_dist_world_size(), rank = tg_dist_rank();
    ck_assert_int_eq(tg_dist_agree(0), 0);
    bool last = rank == size - 1;
    if (last) TG_FAIL("my own trouble");
    ck_assert_int_eq(tg_dist_agree(last ? -1 : 0), -1);
    char want[32];
    snprintf(want, sizeof want, "rank %d failed", size - 1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), last ? "my own trouble" : want));
}
END_TEST

START_TEST(test_bad_arguments_fail_on_every_rank)
{
    int size = tg_dist_world_size(), rank = tg_dist_rank();
    int scope = tg_scope_begin();
    tg_tensor *t = tg_scoped(rank_tensor(rank, 4)), *wide = tg_scoped(tg_empty(TG_SHAPE(2, 4), TG_FLOAT32));
    ck_assert_int_eq(tg_dist_broadcast(t, size), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "root"));
    ck_assert_int_eq(tg_dist_broadcast(NULL, 0), -1);
    ck_assert_int_eq(tg_dist_allreduce(tg_transpose(wide, 0, 1), TG_DIST_SUM), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "contiguous"));
    ck_assert_int_eq(tg_dist_allreduce(t, (tg_dist_op)7), -1);
    /* Shapes that differ between ranks: every rank is told, none hangs. */
    tg_tensor *odd = tg_empty(TG_SHAPE(rank + 1), TG_FLOAT32);
    tg_tensor *all = tg_dist_allgather(odd);
    if (size > 1) {
        ck_assert_ptr_null(all);
        ck_assert_ptr_nonnull(strstr(tg_last_error(), "differs"));
    }
    tg_release(all), tg_release(odd);
    tg_scope_end(scope);
    ck_assert_int_eq(tg_dist_barrier(), 0);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("collectives");
    tcase_add_test(tc, test_rank_and_size);
    tcase_add_test(tc, test_broadcast_from_each_root);
    tcase_add_test(tc, test_allreduce_sum_and_mean);
    tcase_add_test(tc, test_allgather_in_rank_order);
    tcase_add_test(tc, test_allreduce_started_in_background);
    tcase_add_test(tc, test_check_same_settings);
    tcase_add_test(tc, test_agree_on_failures);
    tcase_add_test(tc, test_bad_arguments_fail_on_every_rank);
    suite_add_tcase(s, tc);
    return run_on_every_rank(s, &argc, &argv);
}

/* train/data_parallel: the model made alike, gradients averaged in
 * buckets, running statistics averaged, failures on every rank. Runs alone
 * (a job of one) and under mpirun -np 2 and 4; each check holds for any
 * number of ranks, and a failure on any rank fails the job. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ranks.h"
#include "tensorgrad.h"

enum { PER_RANK = 3, IN = 5, HIDDEN = 7, OUT = 2 };

/* Linear-ReLU-Linear, its weights drawn from seed. */
static tg_module *mlp(uint64_t seed, int64_t hidden)
{
    tg_rng rng = tg_rng_new(seed, 0);
    tg_module *m = tg_nn_sequential();
    ck_assert_int_eq(tg_nn_sequential_append(m, tg_nn_linear(IN, hidden, true, &rng)), 0);
    ck_assert_int_eq(tg_nn_sequential_append(m, tg_nn_relu(false)), 0);
    ck_assert_int_eq(tg_nn_sequential_append(m, tg_nn_linear(hidden, OUT, true, &rng)), 0);
    return m;
}

/* Rank r's slice of the global batch: rows r * PER_RANK .. of inputs
 * drawn once for the whole batch. */
static tg_tensor *inputs(int first_rank, int ranks)
{
    tg_rng rng = tg_rng_new(99, 1);
    tg_tensor *all = tg_randn(&rng, TG_SHAPE(64 * PER_RANK, IN));
    tg_tensor *rows = tg_narrow(all, 0, first_rank * PER_RANK, ranks * PER_RANK), *mine = tg_contiguous(rows);
    tg_release(all), tg_release(rows);
    return mine;
}

/* mean of out^2: a loss whose gradient is the mean of the ranks' when
 * each rank takes the mean over its slice. */
static tg_tensor *loss_of(tg_module *m, tg_tensor *x)
{
    tg_tensor *y = tg_module_forward(m, x), *sq = tg_mul(y, y), *loss = tg_mean(sq, 0, NULL, false);
    tg_release(y), tg_release(sq);
    return loss;
}

/* The gradients of params, copied, in order. */
static tg_tensor **gradients(const tg_tensor_list *params)
{
    tg_tensor **g = calloc((size_t)params->n, sizeof *g);
    for (int i = 0; i < params->n; i++) {
        tg_tensor *grad = tg_grad(params->items[i].tensor);
        ck_assert_ptr_nonnull(grad);
        g[i] = tg_clone(grad);
        tg_release(grad);
    }
    return g;
}

START_TEST(test_model_made_alike)
{
    tg_module *m = mlp(1000 + (uint64_t)tg_dist_rank(), HIDDEN), *want = mlp(1000, HIDDEN);
    tg_tensor_list params = {0}, wanted = {0};
    ck_assert_int_eq(tg_module_parameters(m, &params), 0);
    ck_assert_int_eq(tg_module_parameters(want, &wanted), 0);
    tg_data_parallel *dp = tg_data_parallel_new(m, &params, 0);
    ck_assert_ptr_nonnull(dp);
    for (int i = 0; i < params.n; i++)
        ck_assert_mem_eq(tg_data_f32(params.items[i].tensor), tg_data_f32(wanted.items[i].tensor),
                         (size_t)tg_numel(params.items[i].tensor) * 4);
    tg_data_parallel_free(dp);
    tg_tensor_list_clear(&params), tg_tensor_list_clear(&wanted);
    tg_module_free(m), tg_module_free(want);
}
END_TEST

/* The averaged gradient equals the whole batch's, with one bucket and
 * with a bucket per few parameters; every rank holds the same bits. */
START_TEST(test_gradients_are_the_global_batch_s)
{
    int size = tg_dist_world_size(), rank = tg_dist_rank();
    const int64_t bucket_bytes[] = {0, 1};
    for (int b = 0; b < 2; b++) {
        tg_module *m = mlp(7, HIDDEN);
        tg_tensor_list params = {0};
        ck_assert_int_eq(tg_module_parameters(m, &params), 0);
        tg_tensor *whole = inputs(0, size), *mine = inputs(rank, 1);
        tg_tensor *loss = loss_of(m, whole);
        ck_assert_int_eq(tg_backward(loss, NULL), 0);
        tg_release(loss);
        tg_tensor **want = gradients(&params);
        tg_module_zero_grad(m);
        tg_data_parallel *dp = tg_data_parallel_new(m, &params, bucket_bytes[b]);
        ck_assert_ptr_nonnull(dp);
        loss = loss_of(m, mine);
        ck_assert_int_eq(tg_data_parallel_backward(dp, loss), 0);
        tg_release(loss);
        tg_data_parallel_stats st = tg_data_parallel_stats_of(dp);
        ck_assert_int_eq(st.backwards, 1);
        if (size > 1) {
            ck_assert_int_eq(st.bytes, (IN * HIDDEN + HIDDEN + HIDDEN * OUT + OUT) * 4);
            ck_assert_int_eq(st.buckets, b == 0 ? 1 : 4); /* 1 byte: a bucket per parameter */
        }
        for (int i = 0; i < params.n; i++) {
            tg_tensor *g = tg_grad(params.items[i].tensor);
            ck_assert_int_eq(tg_allclose(g, want[i], 1e-5, 1e-6, false), 1);
            assert_same_on_every_rank(g, params.items[i].name);
            tg_release(g), tg_release(want[i]);
        }
        free(want);
        tg_data_parallel_free(dp);
        tg_tensor_list_clear(&params);
        tg_release(whole), tg_release(mine);
        tg_module_free(m);
    }
}
END_TEST

START_TEST(test_running_statistics_averaged)
{
    int size = tg_dist_world_size(), rank = tg_dist_rank();
    tg_module *bn = tg_nn_batch_norm1d(3, NULL);
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_module_parameters(bn, &params), 0);
    tg_data_parallel *dp = tg_data_parallel_new(bn, &params, 0);
    ck_assert_ptr_nonnull(dp);
    tg_tensor *mean = tg_tensor_list_get(&bn->buffers, "running_mean");
    for (int c = 0; c < 3; c++) tg_data_f32(mean)[c] = (float)(rank * 4 + c);
    ck_assert_int_eq(tg_data_parallel_sync_statistics(dp), 0);
    for (int c = 0; c < 3; c++) ck_assert_float_eq(tg_data_f32(mean)[c], (float)(2 * (size - 1) + c));
    tg_release(mean);
    tg_data_parallel_free(dp);
    tg_tensor_list_clear(&params);
    tg_module_free(bn);
}
END_TEST

/* A parameter outside the loss fails the backward on every rank, after
 * the communication, so that no rank hangs. */
START_TEST(test_parameter_without_gradient_fails_everywhere)
{
    tg_module *m = mlp(7, HIDDEN);
    ck_assert_int_eq(tg_module_add_param(m, "unused", tg_zeros(TG_SHAPE(2), TG_FLOAT32)), 0);
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_module_parameters(m, &params), 0);
    tg_data_parallel *dp = tg_data_parallel_new(m, &params, 0);
    ck_assert_msg(dp != NULL, "%s", tg_last_error());
    tg_tensor *x = inputs(tg_dist_rank(), 1), *loss = loss_of(m, x);
    int rc = tg_data_parallel_backward(dp, loss);
    if (tg_dist_world_size() > 1) {
        ck_assert_int_eq(rc, -1);
        ck_assert_ptr_nonnull(strstr(tg_last_error(), "unused received no gradient"));
    } else ck_assert_int_eq(rc, 0); /* one rank: a plain backward */
    ck_assert_int_eq(tg_dist_barrier(), 0);
    tg_release(x), tg_release(loss);
    tg_data_parallel_free(dp);
    tg_tensor_list_clear(&params);
    tg_module_free(m);
}
END_TEST

START_TEST(test_models_that_differ_are_refused)
{
    int size = tg_dist_world_size();
    tg_module *m = mlp(7, tg_dist_rank() == size - 1 ? HIDDEN + 1 : HIDDEN);
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_module_parameters(m, &params), 0);
    tg_data_parallel *dp = tg_data_parallel_new(m, &params, 0);
    if (size > 1) {
        ck_assert_ptr_null(dp);
        ck_assert_ptr_nonnull(strstr(tg_last_error(), "the model (its tensors' names and shapes) differs"));
    } else ck_assert_ptr_nonnull(dp);
    tg_data_parallel_free(dp);
    ck_assert_ptr_null(tg_data_parallel_new(m, &params, -1));
    tg_tensor_list_clear(&params);
    tg_module_free(m);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("data_parallel");
    TCase *tc = tcase_create("data_parallel");
    tcase_add_test(tc, test_model_made_alike);
    tcase_add_test(tc, test_gradients_are_the_global_batch_s);
    tcase_add_test(tc, test_running_statistics_averaged);
    tcase_add_test(tc, test_parameter_without_gradient_fails_everywhere);
    tcase_add_test(tc, test_models_that_differ_are_refused);
    suite_add_tcase(s, tc);
    return run_on_every_rank(s, &argc, &argv);
}

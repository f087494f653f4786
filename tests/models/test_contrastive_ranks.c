/* MoCo-v2 and DenseCL across the ranks of a job: after steps with the
 * gradients averaged (train/data_parallel.h), every rank holds the same
 * queues, pointer and weights, bit for bit, and reports the same numbers;
 * the global batch is what one process would see. Runs alone and under
 * mpirun -np 2 and 4; a failure on any rank fails the job. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ranks.h"
#include "tensorgrad.h"

enum { PER_RANK = 2, SIZE = 32, STEPS = 3 };

static tg_module *tiny_model(tg_contrastive_method method)
{
    tg_contrastive_config c = tg_contrastive_defaults(method);
    c.backbone = (tg_resnet_opts){.depth = 18, .width = 0.125, .small_stem = true, .seed = 5};
    c.dim = 8;
    c.queue_len = 8 * PER_RANK * tg_dist_world_size();
    c.momentum = 0.9;
    return tg_contrastive_new(c);
}

/* This rank's slice of a global batch of views drawn from seed. */
static tg_tensor *views(uint64_t seed)
{
    int ranks = tg_dist_world_size();
    tg_rng rng = tg_rng_new(seed, 0);
    tg_tensor *all = tg_randn(&rng, TG_SHAPE(PER_RANK * ranks, 3, SIZE, SIZE));
    tg_tensor *rows = tg_narrow(all, 0, PER_RANK * tg_dist_rank(), PER_RANK), *mine = tg_contiguous(rows);
    tg_release(all), tg_release(rows);
    return mine;
}

static void steps_keep_ranks_alike(tg_contrastive_method method)
{
    tg_module *m = tiny_model(method);
    ck_assert_ptr_nonnull(m);
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_contrastive_parameters(m, &params), 0);
    tg_optimizer *opt = tg_sgd_new(&params, (tg_sgd_opts){.lr = 0.05, .momentum = 0.9});
    tg_data_parallel *dp = tg_data_parallel_new(m, &params, 256);
    ck_assert_ptr_nonnull(dp);
    tg_rng shuffle = tg_rng_new(11, 1);
    for (int step = 0; step < STEPS; step++) {
        tg_tensor *q = views(100 + 2 * (uint64_t)step), *k = views(101 + 2 * (uint64_t)step);
        tg_contrastive_out out = {0};
        ck_assert_int_eq(tg_contrastive_step(m, q, k, step, &shuffle, &out), 0);
        ck_assert_int_eq(tg_data_parallel_backward(dp, out.loss), 0);
        ck_assert_int_eq(tg_optimizer_step(opt), 0);
        ck_assert_int_eq(tg_data_parallel_sync_statistics(dp), 0);
        tg_optimizer_zero_grad(opt);
        double numbers[4] = {out.loss_global, out.loss_dense, out.top1_global, out.top1_dense};
        tg_tensor *reported = tg_from_data(TG_SHAPE(4), TG_INT64, numbers); /* the doubles' bits */
        assert_same_on_every_rank(reported, "numbers of the step");
        tg_release(reported);
        tg_contrastive_out_clear(&out);
        tg_release(q), tg_release(k);
    }
    int64_t global = PER_RANK * tg_dist_world_size();
    ck_assert_int_eq(tg_contrastive_queue_ptr(m), STEPS * global % (8 * global)); /* the global batches' keys */
    tg_tensor_list sd = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &sd), 0); /* weights, running statistics, queues, pointer */
    for (int i = 0; i < sd.n; i++) assert_same_on_every_rank(sd.items[i].tensor, sd.items[i].name);
    tg_tensor_list_clear(&sd);
    tg_data_parallel_free(dp);
    tg_optimizer_free(opt);
    tg_tensor_list_clear(&params);
    tg_module_free(m);
}

START_TEST(test_mocov2_ranks_stay_alike) { steps_keep_ranks_alike(TG_MOCOV2); }
END_TEST

START_TEST(test_densecl_ranks_stay_alike) { steps_keep_ranks_alike(TG_DENSECL); }
END_TEST

/* The queue holds the global batch: a job's K must be a multiple of it. */
START_TEST(test_queue_must_hold_global_batches)
{
    int ranks = tg_dist_world_size();
    tg_contrastive_config c = tg_contrastive_defaults(TG_MOCOV2);
    c.backbone = (tg_resnet_opts){.depth = 18, .width = 0.125, .small_stem = true};
    c.dim = 8;
    /* a multiple of the slice, not of the global batch */
    c.queue_len = ranks > 1 ? PER_RANK * (2 * ranks - 1) : PER_RANK + 1;
    tg_module *m = tg_contrastive_new(c);
    ck_assert_ptr_nonnull(m);
    tg_rng shuffle = tg_rng_new(1, 1);
    tg_tensor *q = views(1), *k = views(2);
    tg_contrastive_out out = {0};
    ck_assert_int_eq(tg_contrastive_step(m, q, k, 0, &shuffle, &out), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "is not a multiple of the"));
    tg_release(q), tg_release(k);
    tg_module_free(m);
}
END_TEST

int main(int argc, char **argv)
{
    tg_set_num_threads(1);
    Suite *s = suite_create("contrastive_ranks");
    TCase *tc = tcase_create("contrastive_ranks");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mocov2_ranks_stay_alike);
    tcase_add_test(tc, test_densecl_ranks_stay_alike);
    tcase_add_test(tc, test_queue_must_hold_global_batches);
    suite_add_tcase(s, tc);
    return run_on_every_rank(s, &argc, &argv);
}

/* Optimizers and schedules against PyTorch (fixtures_optim.h, made by
 * tools/make_fixtures_optim.py), and optimizer state round trips. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "fixtures_optim.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "suites.h"
#include "tensorgrad.h"

#define STEPS 4

static tg_tensor *wave(int ndim, const int64_t *shape, double step, double k, bool sine)
{
    tg_tensor *t = tg_empty(ndim, shape, TG_FLOAT32);
    for (int64_t i = 0; i < tg_numel(t); i++)
        tg_data_f32(t)[i] = (float)(sine ? sin(step * (double)i + k) : cos(step * (double)i + k));
    return t;
}

/* Two parameters (5,3) and (3), named w and b, as the script makes them. */
static void make_params(tg_tensor_list *l)
{
    tg_tensor *w = wave(TG_SHAPE(5, 3), 0.7, 0, true), *b = wave(TG_SHAPE(3), 0.7, 1, true);
    tg_set_requires_grad(w, true);
    tg_set_requires_grad(b, true);
    tg_tensor_list_add(l, "w", w);
    tg_tensor_list_add(l, "b", b);
    tg_release(w), tg_release(b);
}

/* One step's gradient for every parameter: backward of sum(p * cos(0.3 i + s)). */
static void feed_gradient(tg_optimizer *o, tg_tensor_list *l, int s)
{
    tg_optimizer_zero_grad(o);
    for (int k = 0; k < l->n; k++) {
        tg_tensor *p = l->items[k].tensor, *g = wave(p->ndim, p->shape, 0.3, s, false);
        ck_assert_int_eq(tg_backward(p, g), 0); /* a leaf: dL/dp = g */
        tg_release(g);
    }
}

static void check_run(tg_optimizer *o, tg_tensor_list *l, const float *want)
{
    ck_assert_msg(o != NULL, "%s", tg_last_error());
    for (int s = 0; s < STEPS; s++) {
        feed_gradient(o, l, s);
        ck_assert_int_eq(tg_optimizer_step(o), 0);
    }
    int j = 0;
    for (int k = 0; k < l->n; k++)
        for (int64_t i = 0; i < tg_numel(l->items[k].tensor); i++, j++)
            ck_assert_msg(fabsf(tg_data_f32(l->items[k].tensor)[i] - want[j]) <= 1e-6f * (1 + fabsf(want[j])),
                          "element %d: %.9g, torch %.9g", j, tg_data_f32(l->items[k].tensor)[i], want[j]);
    tg_optimizer_free(o);
    tg_tensor_list_clear(l);
}

START_TEST(test_sgd_matches_torch)
{
    tg_tensor_list l = {0};
    make_params(&l);
    check_run(tg_sgd_new(&l, (tg_sgd_opts){.lr = 0.1}), &l, sgd_plain_params);
    make_params(&l);
    check_run(tg_sgd_new(&l, (tg_sgd_opts){.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01}), &l,
              sgd_momentum_params);
    make_params(&l);
    check_run(tg_sgd_new(&l, (tg_sgd_opts){.lr = 0.05, .momentum = 0.9, .nesterov = true, .weight_decay = 1e-3}), &l,
              sgd_nesterov_params);
}
END_TEST

START_TEST(test_adamw_matches_torch)
{
    tg_tensor_list l = {0};
    make_params(&l);
    tg_adamw_opts o = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05};
    check_run(tg_adamw_new(&l, o), &l, adamw_params);
}
END_TEST

/* Stopping after 2 steps and resuming from the saved state gives the same
 * parameters as 4 steps in a row. */
START_TEST(test_state_round_trip)
{
    tg_tensor_list l = {0}, state = {0};
    make_params(&l);
    tg_adamw_opts opts = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05};
    tg_optimizer *o = tg_adamw_new(&l, opts);
    for (int s = 0; s < 2; s++) {
        feed_gradient(o, &l, s);
        tg_optimizer_step(o);
    }
    ck_assert_int_eq(tg_optimizer_state(o, &state), 0);
    ck_assert_int_eq(state.n, 6); /* exp_avg, exp_avg_sq, step for each */
    ck_assert_str_eq(state.items[0].name, "w.exp_avg");
    tg_optimizer_free(o);
    o = tg_adamw_new(&l, opts);
    ck_assert_int_eq(tg_optimizer_load_state(o, &state), 0);
    for (int s = 2; s < STEPS; s++) {
        feed_gradient(o, &l, s);
        tg_optimizer_step(o);
    }
    int j = 0;
    for (int k = 0; k < l.n; k++)
        for (int64_t i = 0; i < tg_numel(l.items[k].tensor); i++, j++)
            ck_assert_float_eq_tol(tg_data_f32(l.items[k].tensor)[i], adamw_params[j], 1e-6);
    tg_tensor *bad = tg_zeros(TG_SHAPE(2), TG_FLOAT32);
    tg_tensor_list wrong = {0};
    tg_tensor_list_add(&wrong, "nope.exp_avg", bad);
    ck_assert_int_eq(tg_optimizer_load_state(o, &wrong), -1);
    tg_release(bad);
    tg_tensor_list_clear(&wrong);
    tg_tensor_list_clear(&state);
    tg_optimizer_free(o);
    tg_tensor_list_clear(&l);
}
END_TEST

START_TEST(test_schedules_match_torch)
{
    for (int t = 0; t < 10; t++) {
        ck_assert_double_eq_tol(tg_lr_cosine(0.1, 0.01, t, 8), cosine_lrs[t], 1e-12);
        ck_assert_double_eq_tol(tg_lr_step(0.1, 0.5, 3, t), step_lrs[t], 1e-12);
        ck_assert_double_eq_tol(tg_lr_poly(0.1, 1e-4, 0.9, t, 8), poly_lrs[t], 1e-12);
    }
    ck_assert_double_eq_tol(tg_lr_warmup(0.1, 0.0, 0, 10), 0.0, 1e-15);
    ck_assert_double_eq_tol(tg_lr_warmup(0.1, 0.0, 5, 10), 0.05, 1e-15);
    ck_assert_double_eq_tol(tg_lr_warmup(0.1, 0.0, 10, 10), 0.1, 1e-15);
}
END_TEST

START_TEST(test_bad_arguments)
{
    tg_tensor_list empty = {0};
    ck_assert_ptr_null(tg_sgd_new(&empty, (tg_sgd_opts){.lr = 0.1}));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "sgd"));
}
END_TEST

Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("torch");
    tcase_add_test(tc, test_sgd_matches_torch);
    tcase_add_test(tc, test_adamw_matches_torch);
    tcase_add_test(tc, test_state_round_trip);
    tcase_add_test(tc, test_schedules_match_torch);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

/* Optimizers, gradient clipping and schedules against PyTorch
 * (fixtures_optim.h, made by tools/make_fixtures_optim.py), and optimizer
 * state round trips. */
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

START_TEST(test_adam_matches_torch)
{
    tg_tensor_list l = {0};
    make_params(&l);
    tg_adamw_opts w = tg_adamw_default_opts();
    w.lr = 0.01, w.weight_decay = 0.05, w.amsgrad = true;
    check_run(tg_adamw_new(&l, w), &l, adamw_amsgrad_params);
    make_params(&l);
    tg_adam_opts a = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05};
    check_run(tg_adam_new(&l, a), &l, adam_params);
    make_params(&l);
    a = tg_adam_default_opts();
    a.lr = 0.02, a.amsgrad = true;
    check_run(tg_adam_new(&l, a), &l, adam_amsgrad_params);
}
END_TEST

START_TEST(test_rmsprop_matches_torch)
{
    tg_tensor_list l = {0};
    make_params(&l);
    tg_rmsprop_opts r = tg_rmsprop_default_opts();
    check_run(tg_rmsprop_new(&l, r), &l, rmsprop_params);
    make_params(&l);
    r.momentum = 0.5, r.weight_decay = 0.01;
    check_run(tg_rmsprop_new(&l, r), &l, rmsprop_momentum_params);
    make_params(&l);
    r = (tg_rmsprop_opts){.lr = 0.01, .alpha = 0.9, .eps = 1e-6, .momentum = 0.9, .centered = true};
    check_run(tg_rmsprop_new(&l, r), &l, rmsprop_centered_params);
}
END_TEST

/* The parameters with 3 cos(0.3 i) as their gradients, as the script
 * sets them. */
static void make_clip_params(tg_tensor_list *l)
{
    make_params(l);
    for (int k = 0; k < l->n; k++) {
        tg_tensor *p = l->items[k].tensor, *g = wave(p->ndim, p->shape, 0.3, 0, false);
        for (int64_t i = 0; i < tg_numel(g); i++) tg_data_f32(g)[i] *= 3.0f;
        ck_assert_int_eq(tg_backward(p, g), 0);
        tg_release(g);
    }
}

/* The gradients of l against want; l cleared. */
static void check_grads(tg_tensor_list *l, const float *want)
{
    int j = 0;
    for (int k = 0; k < l->n; k++) {
        tg_tensor *g = tg_grad(l->items[k].tensor);
        for (int64_t i = 0; i < tg_numel(g); i++, j++)
            ck_assert_msg(fabsf(tg_data_f32(g)[i] - want[j]) <= 1e-6f * (1 + fabsf(want[j])),
                          "gradient element %d: %.9g, torch %.9g", j, tg_data_f32(g)[i], want[j]);
        tg_release(g);
    }
    tg_tensor_list_clear(l);
}

START_TEST(test_clip_grad_matches_torch)
{
    const struct {
        double max_norm, order, total;
        const float *grads;
    } cases[] = {{1.0, 2, clip_norm2_total, clip_norm2_grads},
                 {2.0, 1, clip_norm1_total, clip_norm1_grads},
                 {0.5, INFINITY, clip_norminf_total, clip_norminf_grads},
                 {1.5, 3, clip_norm3_total, clip_norm3_grads},
                 {100.0, 2, clip_norm_loose_total, clip_norm_loose_grads}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tg_tensor_list l = {0};
        make_clip_params(&l);
        double total = 0;
        ck_assert_int_eq(tg_clip_grad_norm_(&l, cases[c].max_norm, cases[c].order, false, &total), 0);
        ck_assert_msg(fabs(total - cases[c].total) <= 1e-6 * cases[c].total, "order %g: total %.9g, torch %.9g",
                      cases[c].order, total, cases[c].total);
        check_grads(&l, cases[c].grads);
    }
    tg_tensor_list l = {0};
    make_clip_params(&l);
    ck_assert_int_eq(tg_clip_grad_value_(&l, 0.5), 0);
    check_grads(&l, clip_value_grads);
}
END_TEST

START_TEST(test_clip_grad_refusals)
{
    tg_tensor_list l = {0};
    make_clip_params(&l);
    tg_tensor *g = tg_grad(l.items[1].tensor);
    tg_data_f32(g)[0] = INFINITY; /* the gradient itself: tg_grad shares its storage */
    tg_release(g);
    double total = 0;
    ck_assert_int_eq(tg_clip_grad_norm_(&l, 1.0, 2, true, &total), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "error_if_nonfinite"));
    ck_assert(isinf(total));
    g = tg_grad(l.items[0].tensor);
    ck_assert_float_eq(tg_data_f32(g)[0], 3.0f); /* 3 cos 0: left as it was */
    tg_release(g);
    ck_assert_int_eq(tg_clip_grad_norm_(&l, 1.0, 2, false, NULL), 0); /* PyTorch scales by 1 / inf = 0 */
    g = tg_grad(l.items[0].tensor);
    ck_assert_float_eq(tg_data_f32(g)[0], 0.0f);
    tg_release(g);
    ck_assert_int_eq(tg_clip_grad_norm_(&l, 1.0, 0, false, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "norm_type 0"));
    ck_assert_int_eq(tg_clip_grad_value_(&l, -1), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "clip_value -1"));
    tg_tensor_list_clear(&l);
}
END_TEST

/* An optimizer of one kind over l, made the same way each time. */
typedef tg_optimizer *maker(const tg_tensor_list *l);

static tg_optimizer *adamw_fixture(const tg_tensor_list *l)
{
    return tg_adamw_new(l, (tg_adamw_opts){.lr = 0.01, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05});
}

static tg_optimizer *adam_amsgrad_fixture(const tg_tensor_list *l)
{
    tg_adam_opts a = tg_adam_default_opts();
    a.lr = 0.02, a.amsgrad = true;
    return tg_adam_new(l, a);
}

static tg_optimizer *rmsprop_centered_fixture(const tg_tensor_list *l)
{
    tg_rmsprop_opts r = {.lr = 0.01, .alpha = 0.9, .eps = 1e-6, .momentum = 0.9, .centered = true};
    return tg_rmsprop_new(l, r);
}

/* Stopping after 2 steps and resuming from the saved state (names[] the
 * first parameter's, in order) gives the parameters torch has after 4
 * steps in a row. */
static void check_resume(maker *make, const char *const *names, int per_param, const float *want)
{
    tg_tensor_list l = {0}, state = {0};
    make_params(&l);
    tg_optimizer *o = make(&l);
    for (int s = 0; s < 2; s++) {
        feed_gradient(o, &l, s);
        tg_optimizer_step(o);
    }
    ck_assert_int_eq(tg_optimizer_state(o, &state), 0);
    ck_assert_int_eq(state.n, 2 * per_param);
    for (int k = 0; k < per_param; k++) ck_assert_str_eq(state.items[k].name, names[k]);
    tg_optimizer_free(o);
    o = make(&l);
    ck_assert_int_eq(tg_optimizer_load_state(o, &state), 0);
    for (int s = 2; s < STEPS; s++) {
        feed_gradient(o, &l, s);
        tg_optimizer_step(o);
    }
    int j = 0;
    for (int k = 0; k < l.n; k++)
        for (int64_t i = 0; i < tg_numel(l.items[k].tensor); i++, j++)
            ck_assert_float_eq_tol(tg_data_f32(l.items[k].tensor)[i], want[j], 1e-6);
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

START_TEST(test_state_round_trip)
{
    check_resume(adamw_fixture, (const char *[]){"w.exp_avg", "w.exp_avg_sq", "w.step"}, 3, adamw_params);
    check_resume(adam_amsgrad_fixture, (const char *[]){"w.exp_avg", "w.exp_avg_sq", "w.max_exp_avg_sq", "w.step"}, 4,
                 adam_amsgrad_params);
    check_resume(rmsprop_centered_fixture,
                 (const char *[]){"w.square_avg", "w.momentum_buffer", "w.grad_avg", "w.step"}, 4,
                 rmsprop_centered_params);
}
END_TEST

/* A state the options do not use is refused: AdamW without AMSGrad has no
 * max_exp_avg_sq. */
START_TEST(test_state_of_unused_buffer_refused)
{
    tg_tensor_list l = {0}, state = {0};
    make_params(&l);
    tg_optimizer *o = adam_amsgrad_fixture(&l);
    feed_gradient(o, &l, 0);
    tg_optimizer_step(o);
    ck_assert_int_eq(tg_optimizer_state(o, &state), 0);
    tg_optimizer_free(o);
    o = adamw_fixture(&l);
    ck_assert_int_eq(tg_optimizer_load_state(o, &state), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "w.max_exp_avg_sq names no state"));
    tg_optimizer_free(o);
    tg_tensor_list_clear(&state);
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
    tg_tensor_list l = {0};
    make_params(&l);
    tg_adam_opts a = tg_adam_default_opts();
    a.beta2 = 1.0;
    ck_assert_ptr_null(tg_adam_new(&l, a));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "adam: beta2 1 is outside [0, 1)"));
    tg_rmsprop_opts r = tg_rmsprop_default_opts();
    r.alpha = -0.5;
    ck_assert_ptr_null(tg_rmsprop_new(&l, r));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "rmsprop: alpha -0.5 is outside [0, 1]"));
    tg_tensor_list_clear(&l);
}
END_TEST

Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("torch");
    tcase_add_test(tc, test_sgd_matches_torch);
    tcase_add_test(tc, test_adamw_matches_torch);
    tcase_add_test(tc, test_adam_matches_torch);
    tcase_add_test(tc, test_rmsprop_matches_torch);
    tcase_add_test(tc, test_clip_grad_matches_torch);
    tcase_add_test(tc, test_clip_grad_refusals);
    tcase_add_test(tc, test_state_round_trip);
    tcase_add_test(tc, test_state_of_unused_buffer_refused);
    tcase_add_test(tc, test_schedules_match_torch);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

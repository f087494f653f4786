/* Modules: registration, dotted names in state_dict order, modes,
 * freezing, loading state dicts, default initialisation, a BatchNorm2d's
 * forward fused with a relu. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "suites.h"
#include "tensorgrad.h"

static tg_module *mlp(void)
{
    tg_rng rng = tg_rng_new(3, 0);
    tg_module *seq = tg_nn_sequential();
    ck_assert_int_eq(tg_nn_sequential_append(seq, tg_nn_linear(3, 4, true, &rng)), 0);
    ck_assert_int_eq(tg_nn_sequential_append(seq, tg_nn_relu(false)), 0);
    ck_assert_int_eq(tg_nn_sequential_append(seq, tg_nn_linear(4, 2, false, &rng)), 0);
    return seq;
}

START_TEST(test_names_and_forward)
{
    tg_module *m = mlp();
    tg_tensor_list p = {0};
    ck_assert_int_eq(tg_module_parameters(m, &p), 0);
    ck_assert_int_eq(p.n, 3);
    ck_assert_str_eq(p.items[0].name, "0.weight");
    ck_assert_str_eq(p.items[1].name, "0.bias");
    ck_assert_str_eq(p.items[2].name, "2.weight");
    ck_assert_int_eq(tg_module_num_parameters(m), 3 * 4 + 4 + 4 * 2);
    tg_tensor *x = tg_ones(TG_SHAPE(5, 3), TG_FLOAT32), *y = tg_module_forward(m, x);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(y->shape[0], 5);
    ck_assert_int_eq(y->shape[1], 2);
    tg_tensor *s = tg_sum(y, 0, NULL, false);
    ck_assert_int_eq(tg_backward(s, NULL), 0);
    tg_tensor *g = tg_grad(p.items[2].tensor);
    ck_assert_ptr_nonnull(g);
    tg_release(g);
    tg_module_zero_grad(m);
    ck_assert_ptr_null(tg_grad(p.items[2].tensor));
    tg_release(x), tg_release(y), tg_release(s);
    tg_tensor_list_clear(&p);
    tg_module_free(m);
}
END_TEST

START_TEST(test_modes_and_freezing)
{
    tg_module *m = mlp();
    tg_module_train(m, false);
    ck_assert(!m->training && !tg_module_child(m, "2")->training);
    ck_assert_int_eq(tg_module_set_requires_grad(m, false), 0);
    tg_tensor_list p = {0};
    tg_module_parameters(m, &p);
    for (int i = 0; i < p.n; i++) ck_assert(!tg_requires_grad(p.items[i].tensor));
    ck_assert_ptr_null(tg_module_child(m, "7"));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "no child named \"7\""));
    tg_tensor_list_clear(&p);
    tg_module_free(m);
}
END_TEST

START_TEST(test_registration_errors)
{
    tg_module *m = tg_nn_sequential();
    ck_assert_int_eq(tg_module_add_param(m, "w", tg_zeros(TG_SHAPE(2), TG_FLOAT32)), 0);
    ck_assert_int_eq(tg_module_add_buffer(m, "w", tg_zeros(TG_SHAPE(2), TG_FLOAT32)), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "already registered"));
    ck_assert_int_eq(tg_module_add_param(m, "a.b", tg_zeros(TG_SHAPE(2), TG_FLOAT32)), -1);
    ck_assert_int_eq(tg_module_add_param(m, "n", NULL), -1);
    tg_module_free(m);
}
END_TEST

START_TEST(test_load_state_dict)
{
    tg_module *a = mlp(), *b = mlp();
    tg_tensor_list sd = {0};
    tg_module_state_dict(a, &sd);
    tg_tensor_list pb = {0};
    tg_module_parameters(b, &pb);
    tg_no_grad_enter();
    tg_k_fill_(pb.items[0].tensor, 7.0);
    tg_no_grad_exit();
    ck_assert_int_eq(tg_module_load_state_dict(b, &sd, true), 0);
    tg_tensor *wa = tg_tensor_list_get(&sd, "0.weight");
    ck_assert_mem_eq(tg_data_f32(wa), tg_data_f32(pb.items[0].tensor), 12 * sizeof(float));
    /* A wrong shape: nothing is loaded, the key and both shapes are named. */
    tg_tensor *odd = tg_zeros(TG_SHAPE(4, 4), TG_FLOAT32);
    tg_tensor_list bad = {0};
    tg_tensor_list_add(&bad, "2.weight", odd);
    tg_tensor_list_add(&bad, "0.bias", odd);
    ck_assert_int_eq(tg_module_load_state_dict(b, &bad, false), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "0.bias has shape (4,4) in the file, (4) in the module"));
    ck_assert_int_eq(tg_module_load_state_dict(b, &bad, true), -1);
    tg_tensor_list partial = {0};
    tg_tensor_list_add(&partial, "0.weight", wa);
    ck_assert_int_eq(tg_module_load_state_dict(b, &partial, true), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "missing key 0.bias"));
    ck_assert_int_eq(tg_module_load_state_dict(b, &partial, false), 0);
    tg_tensor_list_add(&partial, "extra", wa);
    ck_assert_int_eq(tg_module_load_state_dict(b, &partial, false), 0);
    tg_tensor_list_add(&partial, "0.bias", sd.items[1].tensor);
    tg_tensor_list_add(&partial, "2.weight", sd.items[2].tensor);
    ck_assert_int_eq(tg_module_load_state_dict(b, &partial, true), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "unexpected key extra"));
    tg_release(wa), tg_release(odd);
    tg_tensor_list_clear(&sd), tg_tensor_list_clear(&pb), tg_tensor_list_clear(&bad), tg_tensor_list_clear(&partial);
    tg_module_free(a), tg_module_free(b);
}
END_TEST

/* What a strict load would complain of: the module's keys the dict lacks
 * and the dict's keys the module lacks, in order; NULL lists are skipped. */
START_TEST(test_state_dict_diff)
{
    tg_module *m = mlp();
    tg_tensor *t = tg_zeros(TG_SHAPE(2), TG_FLOAT32);
    tg_tensor_list sd = {0}, missing = {0}, unexpected = {0};
    tg_tensor_list_add(&sd, "fc.weight", t);
    tg_tensor_list_add(&sd, "0.bias", t);
    tg_tensor_list_add(&sd, "2.bias", t);
    ck_assert_int_eq(tg_module_state_dict_diff(m, &sd, &missing, &unexpected), 0);
    ck_assert_int_eq(missing.n, 2);
    ck_assert_str_eq(missing.items[0].name, "0.weight");
    ck_assert_str_eq(missing.items[1].name, "2.weight");
    ck_assert_int_eq(unexpected.n, 2);
    ck_assert_str_eq(unexpected.items[0].name, "fc.weight");
    ck_assert_str_eq(unexpected.items[1].name, "2.bias");
    ck_assert_ptr_eq(unexpected.items[0].tensor, t);
    ck_assert_int_eq(tg_module_state_dict_diff(m, &sd, NULL, NULL), 0);
    tg_release(t);
    tg_tensor_list_clear(&sd), tg_tensor_list_clear(&missing), tg_tensor_list_clear(&unexpected);
    tg_module_free(m);
}
END_TEST

START_TEST(test_default_init)
{
    tg_rng rng = tg_rng_new(1, 0);
    tg_module *l = tg_nn_linear(100, 10, true, &rng);
    tg_tensor *w = l->params.items[0].tensor, *b = l->params.items[1].tensor;
    double maxw = 0, sum2 = 0;
    for (int i = 0; i < 1000; i++) {
        maxw = fmax(maxw, fabs(tg_data_f32(w)[i]));
        sum2 += tg_data_f32(w)[i] * tg_data_f32(w)[i];
    }
    ck_assert(maxw <= 0.1 && maxw > 0.09);             /* U(-1/sqrt(100), 1/sqrt(100)) */
    ck_assert_double_eq_tol(sum2 / 1000, 0.01 / 3, 0.0005); /* its variance b^2/3 */
    for (int i = 0; i < 10; i++) ck_assert(fabsf(tg_data_f32(b)[i]) <= 0.1f);
    tg_tensor *c = tg_empty(TG_SHAPE(64, 32, 3, 3), TG_FLOAT32);
    ck_assert_int_eq(tg_init_fan(c, TG_FAN_IN), 288);
    ck_assert_int_eq(tg_init_fan(c, TG_FAN_OUT), 576);
    ck_assert_int_eq(tg_init_kaiming_normal_(c, &rng, TG_FAN_OUT, sqrt(2.0)), 0);
    double s2 = 0;
    for (int64_t i = 0; i < tg_numel(c); i++) s2 += tg_data_f32(c)[i] * tg_data_f32(c)[i];
    ck_assert_double_eq_tol(s2 / (double)tg_numel(c), 2.0 / 576, 0.0002);
    tg_tensor *v = tg_empty(TG_SHAPE(3), TG_FLOAT32);
    ck_assert_int_eq(tg_init_kaiming_normal_(v, &rng, TG_FAN_IN, 1.0), -1);
    tg_release(c), tg_release(v);
    tg_module_free(l);
}
END_TEST

START_TEST(test_batch_norm_buffers)
{
    tg_module *bn = tg_nn_batch_norm2d(3, NULL);
    tg_tensor_list sd = {0};
    tg_module_state_dict(bn, &sd);
    ck_assert_int_eq(sd.n, 5);
    ck_assert_str_eq(sd.items[4].name, "num_batches_tracked");
    ck_assert_int_eq(sd.items[4].tensor->dtype, TG_INT64);
    tg_rng rng = tg_rng_new(2, 0);
    tg_tensor *x = tg_randn(&rng, TG_SHAPE(4, 3, 2, 2));
    tg_tensor *y = tg_module_forward(bn, x);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_get_i64(sd.items[4].tensor, NULL), 1);
    tg_module_train(bn, false);
    tg_tensor *z = tg_module_forward(bn, x);
    ck_assert_int_eq(tg_get_i64(sd.items[4].tensor, NULL), 1);
    tg_release(x), tg_release(y), tg_release(z);
    tg_tensor_list_clear(&sd);
    tg_module_free(bn);
}
END_TEST

/* BatchNorm2d takes 4-D input only, BatchNorm1d 2-D or 3-D, as PyTorch;
 * zeroed options are PyTorch's defaults: momentum 0.1 moves the running
 * mean a tenth of the way to the batch's. */
START_TEST(test_batch_norm_dims_and_defaults)
{
    tg_module *bn2 = tg_nn_batch_norm2d(2, &(tg_batch_norm_opts){0}), *bn1 = tg_nn_batch_norm1d(2, NULL);
    tg_tensor *flat = tg_from_data(TG_SHAPE(2, 2), TG_FLOAT32, (const float[]){1, 2, 3, 6});
    tg_tensor *seq = tg_from_data(TG_SHAPE(1, 2, 2), TG_FLOAT32, (const float[]){1, 3, 2, 6});
    tg_clear_error();
    ck_assert_ptr_null(tg_module_forward(bn2, flat));
    ck_assert_str_eq(tg_last_error() + strlen(tg_last_error()) - strlen("BatchNorm2d: expected 4-D input, got 2 dims"),
                     "BatchNorm2d: expected 4-D input, got 2 dims");
    tg_tensor *y = tg_module_forward(bn1, flat), *z = tg_module_forward(bn1, seq);
    ck_assert_msg(y && z, "%s", tg_last_error());
    tg_tensor *mean = tg_tensor_list_get(&bn1->buffers, "running_mean");
    /* both batches have channel means 2 and 4: 0.1 * 2 then 0.9 * 0.2 + 0.1 * 2 */
    ck_assert_float_eq_tol(tg_data_f32(mean)[0], 0.38f, 1e-6f);
    ck_assert_float_eq_tol(tg_data_f32(mean)[1], 0.76f, 1e-6f);
    ck_assert_float_eq_tol(tg_data_f32(y)[0], -0.99999f, 1e-4f); /* (1 - 2) / sqrt(1 + 1e-5) */
    ck_assert_ptr_null(tg_nn_batch_norm1d(2, &(tg_batch_norm_opts){.momentum = 2.0f}));
    tg_release(y), tg_release(z), tg_release(mean), tg_release(flat), tg_release(seq);
    tg_module_free(bn1), tg_module_free(bn2);
}
END_TEST

/* A module of several inputs: a * b, plus c when given. */
static tg_tensor *mul_add_forward(tg_module *m, int n, tg_tensor *const *in)
{
    (void)m;
    if (n < 2 || n > 3) {
        tg_clear_error();
        return NULL;
    }
    int scope = tg_scope_begin();
    tg_tensor *y = tg_mul(in[0], in[1]);
    return tg_scope_return(scope, n == 3 && in[2] ? tg_add(y, in[2]) : y);
}

static const tg_module_type mul_add_type = {.name = "MulAdd", .forward_n = mul_add_forward};

START_TEST(test_forward_of_several_inputs)
{
    tg_rng rng = tg_rng_new(4, 0);
    tg_module *m = tg_module_new(&mul_add_type, sizeof(tg_module)), *lin = tg_nn_linear(3, 2, true, &rng);
    tg_tensor *a = tg_from_data(TG_SHAPE(3), TG_FLOAT32, (const float[]){1, 2, 3});
    tg_tensor *y = tg_module_forward_n(m, 3, (tg_tensor *[]){a, a, a});
    tg_tensor *z = tg_module_forward_n(m, 3, (tg_tensor *[]){a, a, NULL});
    ck_assert_float_eq(tg_data_f32(y)[2], 12.0f);
    ck_assert_float_eq(tg_data_f32(z)[2], 9.0f);
    ck_assert_ptr_null(tg_module_forward_n(lin, 2, (tg_tensor *[]){a, a}));
    ck_assert_str_eq(tg_last_error() + strlen(tg_last_error()) - strlen("Linear: takes one input, not 2"),
                     "Linear: takes one input, not 2");
    tg_release(y), tg_release(z), tg_release(a);
    tg_module_free(m), tg_module_free(lin);
}
END_TEST

/* Keys renamed on the way in: a prefix stripped (others left out), or added. */
START_TEST(test_load_with_prefix)
{
    tg_rng rng = tg_rng_new(5, 0);
    tg_module *src = tg_nn_linear(3, 2, true, &rng), *dst = tg_nn_linear(3, 2, true, &rng), *seq = tg_nn_sequential();
    tg_nn_sequential_append(seq, tg_nn_linear(3, 2, true, &rng));
    tg_tensor_list sd = {0}, wrapped = {0};
    tg_module_state_dict(src, &sd);
    tg_tensor_list_add(&wrapped, "module.weight", sd.items[0].tensor);
    tg_tensor_list_add(&wrapped, "module.bias", sd.items[1].tensor);
    tg_tensor_list_add(&wrapped, "head.bias", sd.items[1].tensor);
    ck_assert_int_eq(tg_module_load_state_dict_prefixed(dst, &wrapped, "module.", NULL, true), 0);
    ck_assert_int_eq(tg_module_load_state_dict_prefixed(seq, &wrapped, "module.", "0.", true), 0);
    tg_tensor_list got = {0};
    tg_module_state_dict(seq, &got);
    ck_assert_float_eq(tg_data_f32(got.items[1].tensor)[1], tg_data_f32(sd.items[1].tensor)[1]);
    ck_assert_int_eq(tg_module_load_state_dict_prefixed(dst, &wrapped, NULL, NULL, true), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "missing key weight"));
    tg_tensor_list_clear(&sd), tg_tensor_list_clear(&wrapped), tg_tensor_list_clear(&got);
    tg_module_free(src), tg_module_free(dst), tg_module_free(seq);
}
END_TEST

/* relu(bn(x) + r) (r NULL: none) by the fused forwards, or by the
 * module's forward, tg_add and tg_relu. */
static tg_tensor *bn_then_relu(tg_module *bn, tg_tensor *x, tg_tensor *r, bool fused)
{
    if (fused) return r ? tg_nn_batch_norm2d_add_relu_forward(bn, x, r) : tg_nn_batch_norm2d_relu_forward(bn, x);
    tg_tensor *h = tg_module_forward(bn, x), *sum = h && r ? tg_add(h, r) : tg_retain(h), *y = tg_relu(sum);
    tg_release(h), tg_release(sum);
    return y;
}

/* Fails unless a and b hold the same values, bit for bit. */
static void expect_same_bits(tg_tensor *a, tg_tensor *b, const char *what)
{
    float u[64], v[64];
    ck_assert_msg(a && b && tg_numel(a) <= 64 && tg_numel(a) == tg_numel(b), "%s", what);
    ck_assert_int_eq(tg_copy_to_buffer(a, u), 0);
    ck_assert_int_eq(tg_copy_to_buffer(b, v), 0);
    ck_assert_msg(memcmp(u, v, (size_t)tg_numel(a) * sizeof *u) == 0, "%s differs", what);
}

/* The fused forwards give what the module's forward then tg_relu give:
 * outputs, gradients of the parameters, running statistics and the count
 * of batches, in training (two groups) and in eval. */
START_TEST(test_batch_norm_relu_forward)
{
    tg_rng rng = tg_rng_new(4, 0);
    tg_tensor *x = tg_randn(&rng, TG_SHAPE(4, 3, 2, 2)), *r = tg_randn(&rng, TG_SHAPE(4, 3, 2, 2));
    tg_batch_norm_opts split = {.groups = 2};
    tg_module *bn[2] = {tg_nn_batch_norm2d(3, &split), tg_nn_batch_norm2d(3, &split)};
    for (int step = 0; step < 4; step++) {
        bool training = step < 2;
        tg_tensor *res = step % 2 ? r : NULL, *y[2];
        for (int f = 0; f < 2; f++) {
            tg_module_train(bn[f], training);
            tg_module_zero_grad(bn[f]);
            y[f] = bn_then_relu(bn[f], x, res, f == 1);
            tg_tensor *loss = y[f] ? tg_sum(y[f], 0, NULL, false) : NULL;
            ck_assert_msg(loss && tg_backward(loss, NULL) == 0, "%s", tg_last_error());
            tg_release(loss);
        }
        expect_same_bits(y[0], y[1], "output");
        tg_tensor_list sd[2] = {{0}, {0}};
        for (int f = 0; f < 2; f++) ck_assert_int_eq(tg_module_state_dict(bn[f], &sd[f]), 0);
        for (int i = 0; i < sd[0].n; i++) {
            tg_tensor *a = sd[0].items[i].tensor, *b = sd[1].items[i].tensor;
            if (a->dtype == TG_INT64) ck_assert_int_eq(tg_get_i64(a, NULL), tg_get_i64(b, NULL));
            else expect_same_bits(a, b, sd[0].items[i].name);
            tg_tensor *ga = tg_grad(a), *gb = tg_grad(b);
            if (ga) expect_same_bits(ga, gb, sd[0].items[i].name);
            tg_release(ga), tg_release(gb);
        }
        tg_release(y[0]), tg_release(y[1]);
        tg_tensor_list_clear(&sd[0]), tg_tensor_list_clear(&sd[1]);
    }
    tg_module *other = mlp();
    ck_assert_ptr_null(tg_nn_batch_norm2d_relu_forward(other, x));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "batch_norm2d_relu_forward: the module is a Sequential, not a"));
    tg_release(x), tg_release(r);
    tg_module_free(bn[0]), tg_module_free(bn[1]), tg_module_free(other);
}
END_TEST

Suite *module_suite(void)
{
    Suite *s = suite_create("module");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_names_and_forward);
    tcase_add_test(tc, test_batch_norm_dims_and_defaults);
    tcase_add_test(tc, test_forward_of_several_inputs);
    tcase_add_test(tc, test_load_with_prefix);
    tcase_add_test(tc, test_modes_and_freezing);
    tcase_add_test(tc, test_registration_errors);
    tcase_add_test(tc, test_load_state_dict);
    tcase_add_test(tc, test_state_dict_diff);
    tcase_add_test(tc, test_default_init);
    tcase_add_test(tc, test_batch_norm_buffers);
    tcase_add_test(tc, test_batch_norm_relu_forward);
    suite_add_tcase(s, tc);
    return s;
}

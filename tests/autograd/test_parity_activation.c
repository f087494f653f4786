/* The activations against PyTorch: outputs and input gradients of loss =
 * sum(y * c) must match torch's (tests/autograd/fixtures_activation.h,
 * made by tools/make_fixtures_activation.py), tails at |x| = 30 included,
 * where log-sigmoid and softplus must neither overflow nor lose the value. */
#include "fixtures_activation.h"
#include "parity.h"

#define TOL 2e-6f

/* One activation with its parameters, and torch's results. */
typedef struct {
    const char *name;
    tg_tensor *(*op)(tg_tensor *x);
    const float *y, *gx;
} act_case;

static tg_tensor *gelu_exact(tg_tensor *x) { return tg_gelu(x, TG_GELU_EXACT); }
static tg_tensor *gelu_tanh(tg_tensor *x) { return tg_gelu(x, TG_GELU_TANH); }
static tg_tensor *leaky_relu(tg_tensor *x) { return tg_leaky_relu(x, 0.2f); }
static tg_tensor *elu(tg_tensor *x) { return tg_elu(x, 0.7f); }
static tg_tensor *softplus(tg_tensor *x) { return tg_softplus(x, 2.0f, 5.0f); }

static const act_case cases[] = {
    {"gelu", gelu_exact, gelu_y, gelu_gx},
    {"gelu tanh", gelu_tanh, gelu_tanh_y, gelu_tanh_gx},
    {"silu", tg_silu, silu_y, silu_gx},
    {"leaky_relu", leaky_relu, leaky_relu_y, leaky_relu_gx},
    {"elu", elu, elu_y, elu_gx},
    {"softplus", softplus, softplus_y, softplus_gx},
    {"log_sigmoid", tg_log_sigmoid, log_sigmoid_y, log_sigmoid_gx},
    {"erf", tg_erf, erf_y, erf_gx},
    {"sin", tg_sin, sin_y, sin_gx},
    {"cos", tg_cos, cos_y, cos_gx},
};

START_TEST(test_activation)
{
    const act_case *k = &cases[_i];
    scope s = {0};
    tg_tensor *x = input(&s, activation_x, TG_SHAPE(4, 6), true);
    tg_tensor *y = keep(&s, k->op(x));
    backprop(&s, y, activation_c);
    char what[64];
    snprintf(what, sizeof what, "%s y", k->name);
    assert_close(y, k->y, N_OF(activation_x), TOL, what);
    snprintf(what, sizeof what, "%s grad x", k->name);
    assert_grad(x, k->gx, N_OF(activation_x), TOL, what);
    close_scope(&s);
}
END_TEST

/* Non-contiguous input: the same values through a transposed view. */
START_TEST(test_activation_of_a_view)
{
    scope s = {0};
    tg_tensor *xt = input(&s, activation_x, TG_SHAPE(4, 6), true);
    tg_tensor *x = keep(&s, tg_contiguous(keep(&s, tg_transpose(xt, 0, 1))));
    tg_tensor *back = keep(&s, tg_transpose(x, 0, 1)); /* a strided view of x's (6,4) copy */
    tg_tensor *y = keep(&s, tg_silu(back));
    backprop(&s, y, activation_c);
    assert_close(y, silu_y, N_OF(activation_x), TOL, "silu of a view");
    assert_grad(xt, silu_gx, N_OF(activation_x), TOL, "grad through the view");
    close_scope(&s);
}
END_TEST

START_TEST(test_bad_arguments)
{
    scope s = {0};
    tg_tensor *x = input(&s, activation_x, TG_SHAPE(4, 6), false);
    tg_clear_error();
    ck_assert_ptr_null(tg_softplus(x, 0.0f, 20.0f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "softplus: beta must not be 0"));
    ck_assert_ptr_null(tg_gelu(x, (tg_gelu_approximate)7));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "gelu: approximate is 7"));
    tg_tensor *ints = keep(&s, tg_zeros(TG_SHAPE(3), TG_INT64));
    ck_assert_ptr_null(tg_silu(ints));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "silu: argument 1 is int64"));
    close_scope(&s);
}
END_TEST

Suite *parity_activation_suite(void)
{
    Suite *s = suite_create("parity_activation");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_activation, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_activation_of_a_view);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

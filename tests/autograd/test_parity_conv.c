/* conv2d and conv_transpose2d against PyTorch: for each case of
 * tests/autograd/fixtures_conv.h (made by tools/make_fixtures_conv.py),
 * tg_conv2d's (tg_conv_transpose2d's) output and the gradients of x, w and
 * bias after backward with torch's output gradient must match
 * torch.nn.functional.conv2d's (conv_transpose2d's) to 1e-5 relative. */
#include <stdio.h>
#include <string.h>

#include "fixtures_conv.h"
#include "parity.h"

#define TOL 1e-5f

/* One fixture case; bias and grad_b are NULL for a case without bias;
 * transposed ones use topts. */
typedef struct {
    const char *name;
    int64_t x_shape[4], w_shape[4];
    tg_conv2d_opts opts;
    const float *x, *w, *b, *r, *out, *grad_x, *grad_w, *grad_b;
    bool transposed;
    tg_conv_transpose2d_opts topts;
} parity_case;

#define FIXTURE(n) n##_x, n##_w
#define OUTPUTS(n) n##_r, n##_out, n##_grad_x, n##_grad_w

static const parity_case cases[] = {
    {"pad1", {2, 2, 5, 5}, {3, 2, 3, 3}, {.padding = {1, 1}}, FIXTURE(pad1), pad1_b, OUTPUTS(pad1), pad1_grad_b, false, {.groups = 0}},
    {"strided",
     {1, 4, 7, 7},
     {4, 2, 3, 3},
     {.stride = {2, 2}, .padding = {2, 2}, .dilation = {3, 3}, .groups = 2},
     FIXTURE(strided),
     strided_b,
     OUTPUTS(strided),
     strided_grad_b,
     false,
     {.groups = 0}},
    {"pointwise", {1, 1, 16, 16}, {2, 1, 1, 1}, {.groups = 0}, FIXTURE(pointwise), NULL, OUTPUTS(pointwise), NULL,
     false, {.groups = 0}},
    {"stem", {1, 3, 9, 9}, {2, 3, 7, 7}, {.stride = {2, 2}, .padding = {3, 3}}, FIXTURE(stem), stem_b, OUTPUTS(stem),
     stem_grad_b, false, {.groups = 0}},
    {"t_plain", {1, 2, 3, 3}, {2, 2, 2, 2}, {.groups = 0}, FIXTURE(t_plain), NULL, OUTPUTS(t_plain), NULL, true,
     {.groups = 0}},
    {"t_up2", {2, 3, 4, 4}, {3, 2, 3, 3}, {.groups = 0}, FIXTURE(t_up2), t_up2_b, OUTPUTS(t_up2), t_up2_grad_b, true,
     {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}}},
    {"t_groups", {1, 4, 5, 5}, {4, 3, 3, 3}, {.groups = 0}, FIXTURE(t_groups), t_groups_b, OUTPUTS(t_groups),
     t_groups_grad_b, true,
     {.stride = {3, 3}, .padding = {2, 2}, .output_padding = {2, 2}, .dilation = {2, 2}, .groups = 2}},
    {"t_cut", {1, 2, 4, 5}, {2, 3, 3, 2}, {.groups = 0}, FIXTURE(t_cut), t_cut_b, OUTPUTS(t_cut), t_cut_grad_b, true,
     {.stride = {2, 1}, .padding = {1, 2}, .output_padding = {1, 1}, .dilation = {1, 2}}},
};

/* "<case name> <what>", the label of one check's messages (valid until the
 * next call). */
static const char *label(const parity_case *c, const char *what)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%s %s", c->name, what);
    return buf;
}

START_TEST(test_case)
{
    const parity_case *c = &cases[_i];
    scope s = {0};
    tg_tensor *x = input(&s, c->x, 4, c->x_shape, true), *w = input(&s, c->w, 4, c->w_shape, true);
    int64_t outputs = c->transposed ? c->w_shape[1] * (c->topts.groups ? c->topts.groups : 1) : c->w_shape[0];
    tg_tensor *b = c->b ? input(&s, c->b, TG_SHAPE(outputs), true) : NULL;
    tg_tensor *out = c->transposed ? tg_conv_transpose2d(x, w, b, &c->topts) : tg_conv2d(x, w, b, c->opts);
    ck_assert_msg(out != NULL, "%s: %s", c->name, tg_last_error());
    keep(&s, out);
    tg_tensor *r = keep(&s, tg_from_data(out->ndim, out->shape, TG_FLOAT32, c->r));
    ck_assert_int_eq(tg_backward(out, r), 0);
    assert_close(out, c->out, tg_numel(out), TOL, label(c, "out"));
    assert_grad(x, c->grad_x, tg_numel(x), TOL, label(c, "grad x"));
    assert_grad(w, c->grad_w, tg_numel(w), TOL, label(c, "grad w"));
    if (b) assert_grad(b, c->grad_b, tg_numel(b), TOL, label(c, "grad b"));
    close_scope(&s);
}
END_TEST

START_TEST(test_transpose_bad_arguments)
{
    scope s = {0};
    tg_tensor *x = keep(&s, tg_zeros(TG_SHAPE(1, 4, 3, 3), TG_FLOAT32));
    tg_tensor *w = keep(&s, tg_zeros(TG_SHAPE(4, 2, 3, 3), TG_FLOAT32));
    tg_tensor *w3 = keep(&s, tg_zeros(TG_SHAPE(3, 2, 3, 3), TG_FLOAT32));
    tg_tensor *b = keep(&s, tg_zeros(TG_SHAPE(3), TG_FLOAT32));
    expect_failure(tg_conv_transpose2d(x, w, NULL, &(tg_conv_transpose2d_opts){.stride = {2, 2},
                                                                           .output_padding = {2, 0}}),
                 "conv_transpose2d: output_padding 2 must be smaller than the stride (2) or the dilation (1)");
    expect_failure(tg_conv_transpose2d(x, w3, NULL, NULL), "conv_transpose2d: input has 4 channels, weight expects 3");
    expect_failure(tg_conv_transpose2d(x, w, NULL, &(tg_conv_transpose2d_opts){.groups = 3}),
                 "conv_transpose2d: weight has 4 input channels, not divisible by groups 3");
    expect_failure(tg_conv_transpose2d(x, w, NULL, &(tg_conv_transpose2d_opts){.padding = {3, 0}}),
                 "conv_transpose2d: output size -1 along dim 2 (input 3, padding 3) is not positive");
    expect_failure(tg_conv_transpose2d(x, w, b, NULL), "conv_transpose2d: bias must be float32 (2), one per output");
    expect_failure(tg_conv_transpose2d(b, w, NULL, NULL), "conv_transpose2d: input (3) is float32; float32 (N, C_in");
    close_scope(&s);
}
END_TEST

Suite *parity_conv_suite(void)
{
    Suite *s = suite_create("parity_conv");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_case, 0, (int)N_OF(cases));
    tcase_add_test(tc, test_transpose_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

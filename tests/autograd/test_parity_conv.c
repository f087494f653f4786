/* conv2d against PyTorch: for each case of tests/autograd/fixtures_conv.h
 * (made by tools/make_fixtures_conv.py), tg_conv2d's output and the
 * gradients of x, w and bias after backward with torch's output gradient
 * must match torch.nn.functional.conv2d's to 1e-5 relative. */
#include <stdio.h>

#include "fixtures_conv.h"
#include "parity.h"

#define TOL 1e-5f

/* One fixture case; bias and grad_b are NULL for a case without bias. */
typedef struct {
    const char *name;
    int64_t x_shape[4], w_shape[4];
    tg_conv2d_opts opts;
    const float *x, *w, *b, *r, *out, *grad_x, *grad_w, *grad_b;
} parity_case;

#define FIXTURE(n) n##_x, n##_w
#define OUTPUTS(n) n##_r, n##_out, n##_grad_x, n##_grad_w

static const parity_case cases[] = {
    {"pad1", {2, 2, 5, 5}, {3, 2, 3, 3}, {.padding = {1, 1}}, FIXTURE(pad1), pad1_b, OUTPUTS(pad1), pad1_grad_b},
    {"strided",
     {1, 4, 7, 7},
     {4, 2, 3, 3},
     {.stride = {2, 2}, .padding = {2, 2}, .dilation = {3, 3}, .groups = 2},
     FIXTURE(strided),
     strided_b,
     OUTPUTS(strided),
     strided_grad_b},
    {"pointwise", {1, 1, 16, 16}, {2, 1, 1, 1}, {.groups = 0}, FIXTURE(pointwise), NULL, OUTPUTS(pointwise), NULL},
    {"stem", {1, 3, 9, 9}, {2, 3, 7, 7}, {.stride = {2, 2}, .padding = {3, 3}}, FIXTURE(stem), stem_b, OUTPUTS(stem),
     stem_grad_b},
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
    tg_tensor *b = c->b ? input(&s, c->b, TG_SHAPE(c->w_shape[0]), true) : NULL;
    tg_tensor *out = tg_conv2d(x, w, b, c->opts);
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

Suite *parity_conv_suite(void)
{
    Suite *s = suite_create("parity_conv");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_case, 0, (int)N_OF(cases));
    suite_add_tcase(s, tc);
    return s;
}

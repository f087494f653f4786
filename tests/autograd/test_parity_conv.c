/* conv2d against PyTorch: for each case of tests/autograd/fixtures_conv.h
 * (made by tools/make_fixtures_conv.py), tg_conv2d's output and the
 * gradients of x, w and bias after backward with torch's output gradient
 * must match torch.nn.functional.conv2d's to 1e-5 relative. */
#include <math.h>
#include <stdlib.h>

#include "fixtures_conv.h"
#include "suites.h"

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

static void assert_close(tg_tensor *t, const float *want, const char *case_name, const char *what)
{
    ck_assert_msg(t != NULL, "%s %s: %s", case_name, what, tg_last_error());
    int64_t n = tg_numel(t);
    float *got = malloc((size_t)n * sizeof *got);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(tg_copy_to_buffer(t, got), 0);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-5f * (1 + fabsf(want[i])), "%s %s[%lld]: %.7g, torch %.7g",
                      case_name, what, (long long)i, got[i], want[i]);
    free(got);
}

static void assert_grad(tg_tensor *t, const float *want, const char *case_name, const char *what)
{
    tg_tensor *g = tg_grad(t);
    ck_assert_msg(g != NULL, "%s %s: no gradient", case_name, what);
    assert_close(g, want, case_name, what);
    tg_release(g);
}

static tg_tensor *leaf(const float *v, int ndim, const int64_t *shape)
{
    tg_tensor *t = tg_from_data(ndim, shape, TG_FLOAT32, v);
    ck_assert_msg(t != NULL, "%s", tg_last_error());
    tg_set_requires_grad(t, true);
    return t;
}

START_TEST(test_case)
{
    const parity_case *c = &cases[_i];
    tg_tensor *x = leaf(c->x, 4, c->x_shape), *w = leaf(c->w, 4, c->w_shape);
    tg_tensor *b = c->b ? leaf(c->b, TG_SHAPE(c->w_shape[0])) : NULL;
    tg_tensor *out = tg_conv2d(x, w, b, c->opts);
    ck_assert_msg(out != NULL, "%s: %s", c->name, tg_last_error());
    tg_tensor *r = tg_from_data(out->ndim, out->shape, TG_FLOAT32, c->r);
    ck_assert_int_eq(tg_backward(out, r), 0);
    assert_close(out, c->out, c->name, "out");
    assert_grad(x, c->grad_x, c->name, "grad x");
    assert_grad(w, c->grad_w, c->name, "grad w");
    if (b) assert_grad(b, c->grad_b, c->name, "grad b");
    tg_tensor *all[] = {x, w, b, out, r};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tg_release(all[i]);
}
END_TEST

Suite *parity_conv_suite(void)
{
    Suite *s = suite_create("parity_conv");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_case, 0, (int)(sizeof cases / sizeof *cases));
    suite_add_tcase(s, tc);
    return s;
}

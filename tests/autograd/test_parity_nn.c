/* Layers' functional forms and losses against PyTorch: outputs and input
 * gradients must match what torch computed (tests/autograd/fixtures_nn.h,
 * made by tools/make_fixtures_nn.py) to 1e-5 relative. A non-scalar output
 * y is reduced as sum(y * r) with the fixture's r. Dropout's masks are its
 * own, so its properties are checked instead: the kept fraction, the
 * scaling and a backward of mask * scale. */
#include <math.h>
#include <stdlib.h>

#include "fixtures_nn.h"
#include "parity.h"

#define TOL 1e-5f

/* Checks y against want_y, then backpropagates sum(y * r). */
static void check_weighted(scope *s, tg_tensor *y, const float *want_y, int64_t ny, const float *r)
{
    assert_close(y, want_y, ny, TOL, "output");
    backprop(s, y, r);
}

#define CHECK_Y(s, y, NAME) check_weighted(s, y, NAME##_y, N_OF(NAME##_y), NAME##_r)
#define CHECK_GRAD(t, ARR) assert_grad(t, ARR, N_OF(ARR), TOL, #ARR)

START_TEST(test_linear_2d)
{
    scope s = {0};
    tg_tensor *x = input(&s, linear2_x, TG_SHAPE(4, 5), true);
    tg_tensor *w = input(&s, linear2_w, TG_SHAPE(3, 5), true);
    tg_tensor *b = input(&s, linear2_b, TG_SHAPE(3), true);
    CHECK_Y(&s, keep(&s, tg_linear(x, w, b)), linear2);
    CHECK_GRAD(x, linear2_grad_x);
    CHECK_GRAD(w, linear2_grad_w);
    CHECK_GRAD(b, linear2_grad_b);
    close_scope(&s);
}
END_TEST

START_TEST(test_linear_3d_no_bias)
{
    scope s = {0};
    tg_tensor *x = input(&s, linear3_x, TG_SHAPE(2, 3, 5), true);
    tg_tensor *w = input(&s, linear3_w, TG_SHAPE(4, 5), true);
    CHECK_Y(&s, keep(&s, tg_linear(x, w, NULL)), linear3);
    CHECK_GRAD(x, linear3_grad_x);
    CHECK_GRAD(w, linear3_grad_w);
    close_scope(&s);
}
END_TEST

typedef struct {
    const float *x, *y, *r, *grad;
    int64_t ny, shape[4], out_h, out_w;
    bool align_corners;
} upsample_case;

#define UP(NAME, N, C, H, W, OH, OW, AC) \
    {NAME##_x, NAME##_y, NAME##_r, NAME##_grad_x, N_OF(NAME##_y), {N, C, H, W}, OH, OW, AC}

static const upsample_case upsample_cases[] = {
    UP(up_x8, 1, 1, 2, 3, 16, 24, false),     UP(up_frac, 2, 1, 3, 5, 7, 8, false),
    UP(up_frac_ac, 2, 1, 3, 5, 7, 8, true),   UP(down, 1, 2, 7, 9, 3, 4, false),
    UP(down_ac, 1, 2, 7, 9, 3, 4, true),      UP(to_one_ac, 1, 1, 4, 5, 1, 3, true),
};

START_TEST(test_upsample_bilinear)
{
    const upsample_case *c = &upsample_cases[_i];
    scope s = {0};
    tg_tensor *x = input(&s, c->x, 4, c->shape, true);
    tg_tensor *y = keep(&s, tg_upsample_bilinear(x, c->out_h, c->out_w, c->align_corners));
    check_weighted(&s, y, c->y, c->ny, c->r);
    assert_grad(x, c->grad, tg_numel(x), TOL, "grad x");
    close_scope(&s);
}
END_TEST

START_TEST(test_normalize)
{
    scope s = {0};
    tg_tensor *x = input(&s, norm_rows_x, TG_SHAPE(3, 4), true);
    CHECK_Y(&s, keep(&s, tg_normalize(x, 1, 1e-12f)), norm_rows);
    CHECK_GRAD(x, norm_rows_grad_x);
    /* one row's norm is below eps: it is divided by eps */
    tg_tensor *z = input(&s, norm_last_x, TG_SHAPE(2, 3, 4), true);
    CHECK_Y(&s, keep(&s, tg_normalize(z, -1, 1e-3f)), norm_last);
    CHECK_GRAD(z, norm_last_grad_x);
    close_scope(&s);
}
END_TEST

START_TEST(test_pad)
{
    scope s = {0};
    tg_tensor *x = input(&s, pad2_x, TG_SHAPE(2, 3), true);
    CHECK_Y(&s, keep(&s, tg_pad(x, 2, (const int64_t[]){1, 2}, 0.5f)), pad2);
    CHECK_GRAD(x, pad2_grad_x);
    tg_tensor *z = input(&s, pad4_x, TG_SHAPE(2, 3, 4), true);
    CHECK_Y(&s, keep(&s, tg_pad(z, 4, (const int64_t[]){1, -1, -1, 2}, -1.0f)), pad4);
    CHECK_GRAD(z, pad4_grad_x);
    close_scope(&s);
}
END_TEST

START_TEST(test_cross_entropy_2d)
{
    scope s = {0};
    tg_tensor *x = input(&s, ce2_x, TG_SHAPE(5, 4), true);
    tg_tensor *t = keep(&s, tg_from_data(TG_SHAPE(5), TG_INT64, ce2_t));
    tg_tensor *loss = keep(&s, tg_cross_entropy(x, t, &(tg_cross_entropy_opts){.ignore_index = 255}));
    assert_close(loss, ce2_loss, 1, TOL, "loss");
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    CHECK_GRAD(x, ce2_grad_x);
    close_scope(&s);
}
END_TEST

/* (N,C,H,W) with ignored positions; the loss is scaled by 1.5 before
 * backward, so g != 1 reaches the kernel. */
START_TEST(test_cross_entropy_4d)
{
    scope s = {0};
    tg_tensor *x = input(&s, ce4_x, TG_SHAPE(2, 3, 4, 5), true);
    tg_tensor *t = keep(&s, tg_from_data(TG_SHAPE(2, 4, 5), TG_INT64, ce4_t));
    tg_tensor *loss = keep(&s, tg_cross_entropy(x, t, &(tg_cross_entropy_opts){.ignore_index = 255}));
    assert_close(loss, ce4_loss, 1, TOL, "loss");
    ck_assert_int_eq(tg_backward(keep(&s, tg_mul_scalar(loss, 1.5f)), NULL), 0);
    CHECK_GRAD(x, ce4_grad_x);
    close_scope(&s);
}
END_TEST

START_TEST(test_mse_loss)
{
    scope s = {0};
    tg_tensor *a = input(&s, mse_a, TG_SHAPE(3, 4), true), *b = input(&s, mse_b, TG_SHAPE(3, 4), true);
    tg_tensor *loss = keep(&s, tg_mse_loss(a, b));
    assert_close(loss, mse_loss, 1, TOL, "loss");
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    CHECK_GRAD(a, mse_grad_a);
    CHECK_GRAD(b, mse_grad_b);
    /* (3,1) against (4): broadcast to (3,4) */
    tg_tensor *c = input(&s, mseb_a, TG_SHAPE(3, 1), true), *d = input(&s, mseb_b, TG_SHAPE(4), true);
    tg_tensor *lb = keep(&s, tg_mse_loss(c, d));
    assert_close(lb, mseb_loss, 1, TOL, "broadcast loss");
    ck_assert_int_eq(tg_backward(lb, NULL), 0);
    CHECK_GRAD(c, mseb_grad_a);
    CHECK_GRAD(d, mseb_grad_b);
    close_scope(&s);
}
END_TEST

/* Dropout as torch defines it: about p of the elements zeroed, the rest
 * scaled by 1/(1-p), and a backward of g times that mask. */
START_TEST(test_dropout_properties)
{
    enum { N = 20000 };
    const float p = 0.3f, scale = 1.0f / 0.7f;
    scope s = {0};
    tg_rng rng = tg_rng_new(77, 0);
    tg_tensor *x = keep(&s, tg_full(TG_SHAPE(N), 2.0f));
    tg_set_requires_grad(x, true);
    tg_tensor *y = keep(&s, tg_dropout(x, p, true, &rng));
    ck_assert_int_eq(tg_backward(keep(&s, tg_sum(y, 0, NULL, false)), NULL), 0);
    tg_tensor *g = keep(&s, tg_grad(x));
    float *yv = malloc(N * sizeof *yv), *gv = malloc(N * sizeof *gv);
    ck_assert(yv && gv);
    ck_assert_int_eq(tg_copy_to_buffer(y, yv), 0);
    ck_assert_int_eq(tg_copy_to_buffer(g, gv), 0);
    int zeros = 0;
    for (int i = 0; i < N; i++) {
        ck_assert(yv[i] == 0.0f || fabsf(yv[i] - 2.0f * scale) < 1e-6f);
        ck_assert(fabsf(gv[i] - (yv[i] == 0.0f ? 0.0f : scale)) < 1e-6f);
        zeros += yv[i] == 0.0f;
    }
    /* binomial: sd = sqrt(N p (1-p)) ~ 65 */
    ck_assert_msg(fabs(zeros - p * N) < 5 * 65, "%d of %d zeroed", zeros, N);
    free(yv);
    free(gv);
    close_scope(&s);
}
END_TEST

Suite *parity_nn_suite(void)
{
    Suite *s = suite_create("parity_nn");
    TCase *tc = tcase_create("torch");
    tcase_add_test(tc, test_linear_2d);
    tcase_add_test(tc, test_linear_3d_no_bias);
    tcase_add_loop_test(tc, test_upsample_bilinear, 0, (int)N_OF(upsample_cases));
    tcase_add_test(tc, test_normalize);
    tcase_add_test(tc, test_pad);
    tcase_add_test(tc, test_cross_entropy_2d);
    tcase_add_test(tc, test_cross_entropy_4d);
    tcase_add_test(tc, test_mse_loss);
    tcase_add_test(tc, test_dropout_properties);
    suite_add_tcase(s, tc);
    return s;
}

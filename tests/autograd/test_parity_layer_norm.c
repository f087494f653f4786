/* Layer, RMS and group normalisation against PyTorch: outputs and the gradients
 * of x, weight and bias for loss = sum(y * c) must match torch's
 * (tests/autograd/fixtures_layer_norm.h, made by
 * tools/make_fixtures_layer_norm.py), over one and two trailing dims, with
 * and without the affine operands, and for inputs far from 0 (1000 +- 2,
 * where a float32 resolves 6e-5: within 2e-4 of torch's result computed
 * in double from the same inputs). */
#include <stdlib.h>

#include "fixtures_layer_norm.h"
#include "parity.h"

#define TOL 2e-5f

typedef struct {
    const char *name;
    bool rms;
    int ndim;     /* normalised dims */
    float offset; /* added to x */
    const float *w, *b, *y, *gx, *gw, *gb;
    float eps, tol;
} ln_case;

static const ln_case cases[] = {
    {"layer_norm last dim", false, 1, 0, ln_w1, ln_b1, ln_last_y, ln_last_gx, ln_last_gw, ln_last_gb, 1e-5f, TOL},
    {"layer_norm last 2 dims", false, 2, 0, ln_w2, ln_b2, ln_last2_y, ln_last2_gx, ln_last2_gw, ln_last2_gb, 1e-5f,
     TOL},
    {"layer_norm plain", false, 1, 0, NULL, NULL, ln_plain_y, ln_plain_gx, NULL, NULL, 1e-5f, TOL},
    {"layer_norm far from 0", false, 1, 1000, ln_w1, ln_b1, ln_far_y, ln_far_gx, ln_far_gw, ln_far_gb, 1e-5f, 2e-4f},
    {"rms_norm last dim", true, 1, 0, ln_w1, NULL, rms_last_y, rms_last_gx, rms_last_gw, NULL, 1e-6f, TOL},
    {"rms_norm last 2 dims", true, 2, 0, ln_w2, NULL, rms_last2_y, rms_last2_gx, rms_last2_gw, NULL, 1e-6f, TOL},
    {"rms_norm plain", true, 1, 0, NULL, NULL, rms_plain_y, rms_plain_gx, NULL, NULL, 1e-6f, TOL},
};

START_TEST(test_layer_norm)
{
    const ln_case *k = &cases[_i];
    scope s = {0};
    float xv[24];
    for (int i = 0; i < 24; i++) xv[i] = ln_x[i] + k->offset;
    tg_tensor *x = input(&s, xv, TG_SHAPE(2, 3, 4), true);
    int64_t wshape[2] = {3, 4};
    const int64_t *ws = k->ndim == 1 ? wshape + 1 : wshape;
    tg_tensor *w = k->w ? input(&s, k->w, k->ndim, ws, true) : NULL;
    tg_tensor *b = k->b ? input(&s, k->b, k->ndim, ws, true) : NULL;
    tg_tensor *y = keep(&s, k->rms ? tg_rms_norm(x, k->ndim, w, k->eps) : tg_layer_norm(x, k->ndim, w, b, k->eps));
    backprop(&s, y, ln_c);
    char what[80];
    snprintf(what, sizeof what, "%s: y", k->name);
    assert_close(y, k->y, 24, k->tol, what);
    snprintf(what, sizeof what, "%s: grad x", k->name);
    assert_grad(x, k->gx, 24, k->tol, what);
    int64_t nw = k->ndim == 1 ? 4 : 12;
    if (w) assert_grad(w, k->gw, nw, k->tol, "grad weight");
    if (b) assert_grad(b, k->gb, nw, k->tol, "grad bias");
    close_scope(&s);
}
END_TEST

/* The same numbers at any thread count: the weight's gradient sums rows in
 * fixed blocks (2000 rows: 32 blocks). */
START_TEST(test_thread_invariance)
{
    float *out[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++) {
        ck_assert_int_eq(tg_set_num_threads(t + 1), 0);
        scope s = {0};
        tg_rng rng = tg_rng_new(5, 0);
        tg_tensor *x = keep(&s, tg_randn(&rng, TG_SHAPE(2000, 24)));
        tg_tensor *w = keep(&s, tg_randn(&rng, TG_SHAPE(24))), *b = keep(&s, tg_randn(&rng, TG_SHAPE(24)));
        tg_set_requires_grad(x, true), tg_set_requires_grad(w, true), tg_set_requires_grad(b, true);
        tg_tensor *y = keep(&s, tg_layer_norm(x, 1, w, b, 1e-5f));
        tg_tensor *l = keep(&s, tg_sum(keep(&s, tg_mul(y, keep(&s, tg_randn(&rng, TG_SHAPE(2000, 24))))), 0, NULL,
                                       false));
        ck_assert_int_eq(tg_backward(l, NULL), 0);
        tg_tensor *gw = keep(&s, tg_grad(w)), *gx = keep(&s, tg_grad(x));
        out[t] = malloc(24 * sizeof(float) + sizeof(float));
        memcpy(out[t], tg_data_f32(gw), 24 * sizeof(float));
        out[t][24] = tg_data_f32(gx)[12345];
        close_scope(&s);
    }
    ck_assert_int_eq(tg_set_num_threads(2), 0);
    ck_assert_mem_eq(out[0], out[1], 25 * sizeof(float));
    free(out[0]), free(out[1]);
}
END_TEST

/* Group norm: (2, 6, 3, 2) in 3 groups with weight and bias; in 1 and 6
 * groups without. */
START_TEST(test_group_norm)
{
    static const struct {
        int64_t groups;
        bool affine;
        const float *y, *gx, *gw, *gb;
    } cases[] = {{3, true, gn_3_y, gn_3_gx, gn_3_gw, gn_3_gb},
                 {1, false, gn_1_y, gn_1_gx, NULL, NULL},
                 {6, false, gn_6_y, gn_6_gx, NULL, NULL}};
    for (int c = 0; c < 3; c++) {
        scope s = {0};
        tg_tensor *x = input(&s, gn_x, TG_SHAPE(2, 6, 3, 2), true);
        tg_tensor *w = cases[c].affine ? input(&s, gn_w, TG_SHAPE(6), true) : NULL;
        tg_tensor *b = cases[c].affine ? input(&s, gn_b, TG_SHAPE(6), true) : NULL;
        tg_tensor *y = keep(&s, tg_group_norm(x, cases[c].groups, w, b, 1e-5f));
        backprop(&s, y, gn_c);
        assert_close(y, cases[c].y, N_OF(gn_x), TOL, "group_norm y");
        assert_grad(x, cases[c].gx, N_OF(gn_x), TOL, "group_norm grad x");
        if (w) assert_grad(w, cases[c].gw, 6, TOL, "group_norm grad weight");
        if (b) assert_grad(b, cases[c].gb, 6, TOL, "group_norm grad bias");
        close_scope(&s);
    }
}
END_TEST

START_TEST(test_bad_arguments)
{
    scope s = {0};
    tg_tensor *x = input(&s, ln_x, TG_SHAPE(2, 3, 4), false), *w = input(&s, ln_w1, TG_SHAPE(4), false);
    tg_clear_error();
    ck_assert_ptr_null(tg_layer_norm(x, 4, NULL, NULL, 1e-5f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "layer_norm: normalises the last 4 dims of a 3-dim input"));
    ck_assert_ptr_null(tg_layer_norm(x, 2, w, NULL, 1e-5f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "layer_norm: weight has shape (4) (float32), not the normalised"));
    ck_assert_ptr_null(tg_rms_norm(x, 0, NULL, 1e-6f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "rms_norm: normalises the last 0 dims"));
    ck_assert_ptr_null(tg_group_norm(x, 4, NULL, NULL, 1e-5f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "group_norm: needs an input (N, C, ...) whose C is a multiple of 4"));
    ck_assert_ptr_null(tg_group_norm(x, 3, w, NULL, 1e-5f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "group_norm: weight has shape (4) (float32), not (3)"));
    close_scope(&s);
}
END_TEST

Suite *parity_layer_norm_suite(void)
{
    Suite *s = suite_create("parity_layer_norm");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_layer_norm, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_group_norm);
    tcase_add_test(tc, test_thread_invariance);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

/* The elementwise losses against PyTorch, with every reduction: outputs
 * and the gradients of input and target for loss = sum(y * c) must match
 * torch's (tests/autograd/fixtures_loss.h, made by
 * tools/make_fixtures_loss.py), branch points and logit tails included;
 * the class losses (cross-entropy with weights, label smoothing and
 * ignore_index, NLL) likewise with the gradient of their input. */
#include "fixtures_loss.h"
#include "parity.h"

#define TOL 2e-6f
#define C0 1.7f /* the script's c for a reduced (0-dim) loss */

/* A loss on (input, target) with a reduction. */
typedef tg_tensor *loss_fn(tg_tensor *x, tg_tensor *t, tg_reduction r);

static tg_tensor *l1(tg_tensor *x, tg_tensor *t, tg_reduction r) { return tg_l1_loss(x, t, r); }
static tg_tensor *smooth_l1(tg_tensor *x, tg_tensor *t, tg_reduction r) { return tg_smooth_l1_loss(x, t, r, 1.0f); }
static tg_tensor *smooth_l1_beta0(tg_tensor *x, tg_tensor *t, tg_reduction r)
{
    return tg_smooth_l1_loss(x, t, r, 0.0f);
}
static tg_tensor *huber(tg_tensor *x, tg_tensor *t, tg_reduction r) { return tg_huber_loss(x, t, r, 1.0f); }
static tg_tensor *bce(tg_tensor *x, tg_tensor *t, tg_reduction r)
{
    return tg_binary_cross_entropy_with_logits(x, t, NULL, NULL, r);
}
static tg_tensor *kl(tg_tensor *x, tg_tensor *t, tg_reduction r) { return tg_kl_div(x, t, r, false); }
static tg_tensor *kl_log(tg_tensor *x, tg_tensor *t, tg_reduction r) { return tg_kl_div(x, t, r, true); }

/* BCE with the script's weight (4,1) and pos_weight (6). */
static tg_tensor *bce_weighted(tg_tensor *x, tg_tensor *t, tg_reduction r)
{
    tg_tensor *w = tg_from_data(TG_SHAPE(4, 1), TG_FLOAT32, loss_weight);
    tg_tensor *pw = tg_from_data(TG_SHAPE(6), TG_FLOAT32, loss_pos_weight);
    tg_tensor *y = tg_binary_cross_entropy_with_logits(x, t, w, pw, r);
    tg_release(w), tg_release(pw);
    return y;
}

typedef struct {
    const char *name;
    loss_fn *fn;
    const float *x, *t;
    tg_reduction r;
    const float *y, *gx, *gt;
} loss_case;

#define CASE(NAME, FN, X, T, R, RNAME) \
    {#NAME " " #RNAME, FN, X, T, R, NAME##_##RNAME##_y, NAME##_##RNAME##_gx, NAME##_##RNAME##_gt}
#define THREE(NAME, FN, X, T)                                                                            \
    CASE(NAME, FN, X, T, TG_REDUCTION_MEAN, mean), CASE(NAME, FN, X, T, TG_REDUCTION_SUM, sum),      \
        CASE(NAME, FN, X, T, TG_REDUCTION_NONE, none)

static const loss_case cases[] = {
    THREE(l1, l1, loss_x, loss_t),
    THREE(smooth_l1, smooth_l1, loss_x, loss_t),
    THREE(smooth_l1_beta0, smooth_l1_beta0, loss_x, loss_t),
    THREE(huber, huber, loss_x, loss_t),
    THREE(bce, bce, loss_z, loss_p),
    THREE(bce_weighted, bce_weighted, loss_z, loss_p),
    THREE(kl, kl, loss_logq, loss_pt),
    CASE(kl, kl, loss_logq, loss_pt, TG_REDUCTION_BATCHMEAN, batchmean),
    CASE(kl_log, kl_log, loss_logq, loss_logpt, TG_REDUCTION_BATCHMEAN, batchmean),
};

START_TEST(test_loss)
{
    const loss_case *k = &cases[_i];
    scope s = {0};
    tg_tensor *x = input(&s, k->x, TG_SHAPE(4, 6), true), *t = input(&s, k->t, TG_SHAPE(4, 6), true);
    tg_tensor *y = keep(&s, k->fn(x, t, k->r));
    bool reduced = k->r != TG_REDUCTION_NONE;
    ck_assert_int_eq(y->ndim, reduced ? 0 : 2);
    backprop(&s, y, reduced ? (const float[]){C0} : loss_c);
    char what[80];
    snprintf(what, sizeof what, "%s: y", k->name);
    assert_close(y, k->y, reduced ? 1 : N_OF(loss_c), TOL, what);
    snprintf(what, sizeof what, "%s: grad input", k->name);
    assert_grad(x, k->gx, N_OF(loss_c), TOL, what);
    snprintf(what, sizeof what, "%s: grad target", k->name);
    assert_grad(t, k->gt, N_OF(loss_c), TOL, what);
    close_scope(&s);
}
END_TEST

/* A class loss: the input (N,C,H,W) against class_t4 or (N,C) against
 * class_t2, with the options the script used. */
typedef struct {
    const char *name;
    bool nll, four_dims, weighted;
    int64_t ignore_index;
    float smoothing;
    tg_reduction r;
    const float *y, *gx;
} class_case;

#define CLASS_CASE(NAME, NLL, FOUR, W, IGNORE, EPS, R, RNAME) \
    {#NAME " " #RNAME, NLL, FOUR, W, IGNORE, EPS, R, NAME##_##RNAME##_y, NAME##_##RNAME##_gx}
#define CLASS_THREE(NAME, NLL, FOUR, W, IGNORE, EPS)                                                        \
    CLASS_CASE(NAME, NLL, FOUR, W, IGNORE, EPS, TG_REDUCTION_MEAN, mean),                                 \
        CLASS_CASE(NAME, NLL, FOUR, W, IGNORE, EPS, TG_REDUCTION_SUM, sum),                               \
        CLASS_CASE(NAME, NLL, FOUR, W, IGNORE, EPS, TG_REDUCTION_NONE, none)

static const class_case class_cases[] = {
    CLASS_THREE(ce4, false, true, false, -1, 0.0f),
    CLASS_THREE(ce4_weighted_smoothed, false, true, true, -1, 0.15f),
    CLASS_THREE(ce2_smoothed, false, false, false, 0, 0.3f), /* 0: PyTorch's -100 */
    CLASS_THREE(nll4_weighted, true, true, true, -1, 0.0f),
    CLASS_THREE(nll2, true, false, false, 0, 0.0f),
};

START_TEST(test_class_loss)
{
    const class_case *k = &class_cases[_i];
    scope s = {0};
    tg_tensor *x = k->four_dims ? input(&s, k->nll ? class_logp4 : class_x4, TG_SHAPE(2, 5, 3, 3), true)
                                : input(&s, class_x2, TG_SHAPE(6, 5), true);
    tg_tensor *t = k->four_dims ? keep(&s, tg_from_data(TG_SHAPE(2, 3, 3), TG_INT64, class_t4))
                                : keep(&s, tg_from_data(TG_SHAPE(6), TG_INT64, class_t2));
    tg_tensor *w = k->weighted ? input(&s, class_weight, TG_SHAPE(5), false) : NULL;
    tg_cross_entropy_opts o = {.reduction = k->r, .weight = w, .ignore_index = k->ignore_index,
                               .label_smoothing = k->smoothing};
    tg_tensor *y = keep(&s, k->nll ? tg_nll_loss(x, t, &o) : tg_cross_entropy(x, t, &o));
    bool reduced = k->r != TG_REDUCTION_NONE;
    ck_assert_int_eq(y->ndim, reduced ? 0 : t->ndim);
    const float *c = k->four_dims ? class_c4 : class_c2;
    backprop(&s, y, reduced ? (const float[]){C0} : c);
    char what[80];
    snprintf(what, sizeof what, "%s: y", k->name);
    assert_close(y, k->y, reduced ? 1 : tg_numel(t), TOL, what);
    snprintf(what, sizeof what, "%s: grad input", k->name);
    assert_grad(x, k->gx, tg_numel(x), TOL, what);
    close_scope(&s);
}
END_TEST

/* Every target ignored: the mean is NaN (0/0) and the gradient 0, as torch;
 * class 0 can be ignored. */
START_TEST(test_class_loss_all_ignored)
{
    scope s = {0};
    tg_tensor *x = input(&s, class_x2, TG_SHAPE(6, 5), true);
    tg_tensor *t = keep(&s, tg_zeros(TG_SHAPE(6), TG_INT64));
    tg_tensor *y = keep(&s, tg_cross_entropy(x, t, &(tg_cross_entropy_opts){.ignore_class_zero = true}));
    ck_assert(isnan(tg_item(y)));
    tg_cross_entropy_opts summed = {.reduction = TG_REDUCTION_SUM, .ignore_class_zero = true};
    tg_tensor *sum = keep(&s, tg_nll_loss(x, t, &summed));
    ck_assert_float_eq(tg_item(sum), 0.0f);
    ck_assert_int_eq(tg_backward(sum, NULL), 0);
    tg_tensor *gx = keep(&s, tg_grad(x));
    for (int i = 0; i < 30; i++) ck_assert_float_eq(tg_data_f32(gx)[i], 0.0f);
    close_scope(&s);
}
END_TEST

START_TEST(test_class_loss_bad_options)
{
    scope s = {0};
    tg_tensor *x = input(&s, class_x2, TG_SHAPE(6, 5), false);
    tg_tensor *t = keep(&s, tg_from_data(TG_SHAPE(6), TG_INT64, class_t2));
    tg_tensor *w4 = input(&s, class_weight, TG_SHAPE(4), false), *wg = input(&s, class_weight, TG_SHAPE(5), true);
    expect_failure(tg_cross_entropy(x, t, &(tg_cross_entropy_opts){.weight = w4}),
                       "cross_entropy: weight is float32 (4); float32 (5) expected, one per class");
    expect_failure(tg_cross_entropy(x, t, &(tg_cross_entropy_opts){.weight = wg}),
                       "cross_entropy: the class weight gets no gradient; detach it");
    expect_failure(tg_cross_entropy(x, t, &(tg_cross_entropy_opts){.label_smoothing = 1.5f}),
                       "cross_entropy: label_smoothing 1.5 is outside [0, 1]");
    expect_failure(tg_nll_loss(x, t, &(tg_cross_entropy_opts){.label_smoothing = 0.1f}),
                       "nll_loss: label_smoothing is 0.1; nll_loss takes none");
    expect_failure(tg_nll_loss(x, t, &(tg_cross_entropy_opts){.reduction = TG_REDUCTION_BATCHMEAN}),
                       "nll_loss: reduction 3 is none of mean, sum, none");
    expect_failure(tg_nll_loss(x, t, &(tg_cross_entropy_opts){.ignore_index = 3, .ignore_class_zero = true}),
                       "nll_loss: ignore_class_zero with ignore_index 3; give one of them");
    expect_failure(tg_nll_loss(x, t, &(tg_cross_entropy_opts){.ignore_index = -1}),
                       "nll_loss: target -100 out of range for 5 classes (at position (3); ignore_index is -1)");
    close_scope(&s);
}
END_TEST

START_TEST(test_bad_arguments)
{
    scope s = {0};
    tg_tensor *x = input(&s, loss_x, TG_SHAPE(4, 6), false), *t = input(&s, loss_t, TG_SHAPE(4, 6), false);
    tg_clear_error();
    ck_assert_ptr_null(tg_l1_loss(x, t, TG_REDUCTION_BATCHMEAN));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "l1_loss: reduction 3 is none of mean, sum, none"));
    ck_assert_ptr_null(tg_smooth_l1_loss(x, t, TG_REDUCTION_MEAN, -1.0f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "beta must be >= 0"));
    ck_assert_ptr_null(tg_huber_loss(x, t, TG_REDUCTION_MEAN, 0.0f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "delta must be > 0"));
    tg_tensor *pw = input(&s, loss_pos_weight, TG_SHAPE(6), true);
    ck_assert_ptr_null(tg_binary_cross_entropy_with_logits(x, t, NULL, pw, TG_REDUCTION_MEAN));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "pos_weight gets no gradient"));
    tg_tensor *wrong = input(&s, loss_pos_weight, TG_SHAPE(6), false);
    tg_tensor *t5 = keep(&s, tg_narrow(t, 1, 0, 5));
    ck_assert_ptr_null(tg_l1_loss(t5, wrong, TG_REDUCTION_SUM));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "l1_loss: shape"));
    close_scope(&s);
}
END_TEST

Suite *parity_loss_suite(void)
{
    Suite *s = suite_create("parity_loss");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_loss, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_loop_test(tc, test_class_loss, 0, (int)(sizeof class_cases / sizeof class_cases[0]));
    tcase_add_test(tc, test_class_loss_all_ignored);
    tcase_add_test(tc, test_class_loss_bad_options);
    suite_add_tcase(s, tc);
    return s;
}

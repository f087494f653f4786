/* The elementwise losses against PyTorch, with every reduction: outputs
 * and the gradients of input and target for loss = sum(y * c) must match
 * torch's (tests/autograd/fixtures_loss.h, made by
 * tools/make_fixtures_loss.py), branch points and logit tails included. */
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
    suite_add_tcase(s, tc);
    return s;
}

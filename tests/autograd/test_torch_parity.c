/* Composite expressions against PyTorch: the loss and every input gradient
 * must match the values torch computed (tests/autograd/torch_fixtures.h,
 * made by tools/make_torch_fixtures.py) to 1e-5 relative. */
#include "kernels.h"
#include "parity.h"
#include "torch_fixtures.h"

#define TOL 1e-5f

/* log_softmax(x @ w + b) and the mean NLL of the labels. */
START_TEST(test_classifier)
{
    scope s = {0};
    tg_tensor *x = input(&s, classifier_x, TG_SHAPE(4, 5), true);
    tg_tensor *w = input(&s, classifier_w, TG_SHAPE(5, 3), true);
    tg_tensor *b = input(&s, classifier_b, TG_SHAPE(3), true);
    tg_tensor *labels = keep(&s, tg_from_data(TG_SHAPE(4, 1), TG_INT64, classifier_labels));
    tg_tensor *logits = keep(&s, tg_add(keep(&s, tg_matmul(x, w)), b));
    tg_tensor *lp = keep(&s, tg_log_softmax(logits, 1));
    tg_tensor *picked = keep(&s, tg_gather(lp, 1, labels));
    tg_tensor *loss = keep(&s, tg_neg(keep(&s, tg_mean(picked, 0, NULL, false))));
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    assert_close(loss, classifier_loss, N_OF(classifier_loss), TOL, "loss");
    assert_grad(x, classifier_grad_x, N_OF(classifier_grad_x), TOL, "grad x");
    assert_grad(w, classifier_grad_w, N_OF(classifier_grad_w), TOL, "grad w");
    assert_grad(b, classifier_grad_b, N_OF(classifier_grad_b), TOL, "grad b");
    close_scope(&s);
}
END_TEST

static tg_tensor *total(scope *s, tg_tensor *t) { return keep(s, tg_sum(t, 0, NULL, false)); }

/* var, amax, softmax and a mean over a transposed view. */
START_TEST(test_stats)
{
    scope s = {0};
    tg_tensor *a = input(&s, stats_a, TG_SHAPE(3, 4), true);
    tg_tensor *c = input(&s, stats_c, TG_SHAPE(3, 4), false);
    tg_tensor *v = keep(&s, tg_var(a, 1, (int[]){1}, true, false));
    tg_tensor *m = keep(&s, tg_amax(a, 1, (int[]){0}, false));
    tg_tensor *sm = keep(&s, tg_softmax(a, 0));
    tg_tensor *at = keep(&s, tg_transpose(a, 0, 1));
    tg_tensor *am = keep(&s, tg_pow_scalar(keep(&s, tg_mean(at, 1, (int[]){1}, false)), 2.0f));
    tg_tensor *loss = keep(&s, tg_add(keep(&s, tg_add(total(&s, v), total(&s, keep(&s, tg_mul(m, m))))),
                                      keep(&s, tg_add(total(&s, keep(&s, tg_mul(sm, c))), total(&s, am)))));
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    assert_close(loss, stats_loss, N_OF(stats_loss), TOL, "loss");
    assert_grad(a, stats_grad_a, N_OF(stats_grad_a), TOL, "grad a");
    close_scope(&s);
}
END_TEST

/* where, sqrt, exp, div, cat, clamp, index_select, tanh, sigmoid, abs,
 * pow, minimum, stack and amin. */
START_TEST(test_mixed)
{
    scope s = {0};
    tg_tensor *p = input(&s, mixed_p, TG_SHAPE(2, 3), true);
    tg_tensor *q = input(&s, mixed_q, TG_SHAPE(2, 3), true);
    tg_tensor *idx = keep(&s, tg_from_data(TG_SHAPE(3), TG_INT64, mixed_idx));
    tg_tensor *zero = keep(&s, tg_scalar(0.0f));
    tg_tensor *cond = keep(&s, tg_k_gt(q, zero));
    tg_tensor *r = keep(&s, tg_where(cond, keep(&s, tg_mul(keep(&s, tg_sqrt(p)), q)),
                                     keep(&s, tg_div(keep(&s, tg_exp(q)), p))));
    tg_tensor *t = keep(&s, tg_cat(2, (tg_tensor *[]){r, keep(&s, tg_clamp(q, -0.5f, 0.5f))}, 0));
    tg_tensor *u = keep(&s, tg_index_select(t, 0, idx));
    tg_tensor *act = keep(&s, tg_add(keep(&s, tg_tanh(u)), keep(&s, tg_sigmoid(u))));
    tg_tensor *pq = keep(&s, tg_stack(2, (tg_tensor *[]){p, q}, 0));
    tg_tensor *terms[] = {total(&s, act), keep(&s, tg_mean(keep(&s, tg_abs(q)), 0, NULL, false)),
                          total(&s, keep(&s, tg_pow(p, q))), total(&s, keep(&s, tg_minimum(p, q))),
                          total(&s, keep(&s, tg_amin(pq, 1, (int[]){0}, false)))};
    tg_tensor *loss = terms[0];
    for (int i = 1; i < 5; i++) loss = keep(&s, tg_add(loss, terms[i]));
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    assert_close(loss, mixed_loss, N_OF(mixed_loss), TOL, "loss");
    assert_grad(p, mixed_grad_p, N_OF(mixed_grad_p), TOL, "grad p");
    assert_grad(q, mixed_grad_q, N_OF(mixed_grad_q), TOL, "grad q");
    close_scope(&s);
}
END_TEST

/* Broadcast batched matmul, bmm over a transposed view, sum over two dims. */
START_TEST(test_batched)
{
    scope s = {0};
    tg_tensor *a = input(&s, batched_a, TG_SHAPE(2, 3, 4), true);
    tg_tensor *b = input(&s, batched_b, TG_SHAPE(4, 5), true);
    tg_tensor *y = keep(&s, tg_matmul(a, b));
    tg_tensor *z = keep(&s, tg_bmm(keep(&s, tg_transpose(y, 1, 2)), a));
    tg_tensor *zz = keep(&s, tg_mean(keep(&s, tg_mul(z, z)), 0, NULL, false));
    tg_tensor *ys = keep(&s, tg_pow_scalar(keep(&s, tg_sum(y, 2, (int[]){0, 2}, false)), 2.0f));
    tg_tensor *loss = keep(&s, tg_add(zz, total(&s, ys)));
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    assert_close(loss, batched_loss, N_OF(batched_loss), TOL, "loss");
    assert_grad(a, batched_grad_a, N_OF(batched_grad_a), TOL, "grad a");
    assert_grad(b, batched_grad_b, N_OF(batched_grad_b), TOL, "grad b");
    close_scope(&s);
}
END_TEST

Suite *torch_parity_suite(void)
{
    Suite *s = suite_create("torch_parity");
    TCase *tc = tcase_create("composite");
    tcase_add_test(tc, test_classifier);
    tcase_add_test(tc, test_stats);
    tcase_add_test(tc, test_mixed);
    tcase_add_test(tc, test_batched);
    suite_add_tcase(s, tc);
    return s;
}

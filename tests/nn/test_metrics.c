/* Segmentation metrics (nn/metrics.h) on cases with closed forms
 * (docs/protocol.md section 12): a perfect prediction, an all-background one,
 * a 3-class 4x4 example computed by hand, ignored pixels never counted,
 * classes absent from both sides left out, and bad labels refused. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

#define EPS 1e-12

static tg_tensor *labels(int64_t h, int64_t w, const int64_t *v) { return tg_from_data(TG_SHAPE(h, w), TG_INT64, v); }

/* Scores of one (target, pred) pair of h x w label maps over c classes. */
static tg_seg_scores score(int64_t c, int64_t h, int64_t w, const int64_t *target, const int64_t *pred, double *iou)
{
    tg_confusion cm;
    ck_assert_int_eq(tg_confusion_init(&cm, c, 255), 0);
    tg_tensor *t = labels(h, w, target), *p = labels(h, w, pred);
    ck_assert_msg(tg_confusion_add(&cm, t, p) == 0, "%s", tg_last_error());
    tg_seg_scores s;
    ck_assert_int_eq(tg_confusion_scores(&cm, &s, iou), 0);
    tg_release(t), tg_release(p);
    tg_confusion_free(&cm);
    return s;
}

/* The 3-class 4x4 example:        target      prediction
 *                                 0 0 1 1     0 1 1 1
 *                                 0 0 1 1     0 0 1 2
 *                                 2 2 2 0     2 2 0 0
 *                                 2 2 0 0     2 1 0 0
 * confusion (rows truth, columns prediction) [[6 1 0] [0 3 1] [1 1 3]];
 * column sums 7 5 4, row sums 7 4 5: IoU 6/8, 3/6, 3/6. */
static const int64_t hand_target[16] = {0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 2, 0, 2, 2, 0, 0};
static const int64_t hand_pred[16] = {0, 1, 1, 1, 0, 0, 1, 2, 2, 2, 0, 0, 2, 1, 0, 0};

START_TEST(test_metrics_hand_computed)
{
    double iou[3];
    tg_seg_scores s = score(3, 4, 4, hand_target, hand_pred, iou);
    ck_assert_double_eq_tol(iou[0], 0.75, EPS);
    ck_assert_double_eq_tol(iou[1], 0.5, EPS);
    ck_assert_double_eq_tol(iou[2], 0.5, EPS);
    ck_assert_double_eq_tol(s.miou, 1.75 / 3.0, EPS);
    ck_assert_double_eq_tol(s.things_miou, 0.5, EPS);
    ck_assert_double_eq_tol(s.pixel_acc, 12.0 / 16.0, EPS);
    ck_assert_int_eq(s.pixels, 16);
    ck_assert_int_eq(s.classes, 3);
    tg_confusion cm;
    ck_assert_int_eq(tg_confusion_init(&cm, 3, 255), 0);
    tg_tensor *t = labels(4, 4, hand_target), *p = labels(4, 4, hand_pred);
    ck_assert_int_eq(tg_confusion_add(&cm, t, p), 0);
    static const int64_t want[9] = {6, 1, 0, 0, 3, 1, 1, 1, 3};
    int64_t got[9];
    ck_assert_int_eq(tg_copy_to_buffer(cm.counts, got), 0);
    ck_assert_mem_eq(got, want, sizeof want);
    /* strided views count the same pairs */
    tg_tensor *tt = tg_k_transpose(t, 0, 1), *pt = tg_k_transpose(p, 0, 1);
    ck_assert_int_eq(tg_confusion_add(&cm, tt, pt), 0);
    ck_assert_int_eq(tg_copy_to_buffer(cm.counts, got), 0);
    for (int i = 0; i < 9; i++) ck_assert_int_eq(got[i], 2 * want[i]);
    tg_release(t), tg_release(p), tg_release(tt), tg_release(pt);
    tg_confusion_free(&cm);
}
END_TEST

START_TEST(test_metrics_perfect)
{
    int64_t v[16];
    for (int i = 0; i < 16; i++) v[i] = (i * 7) % 4;
    double iou[4];
    tg_seg_scores s = score(4, 4, 4, v, v, iou);
    for (int c = 0; c < 4; c++) ck_assert_double_eq(iou[c], 1.0);
    ck_assert_double_eq(s.miou, 1.0);
    ck_assert_double_eq(s.things_miou, 1.0);
    ck_assert_double_eq(s.pixel_acc, 1.0);
}
END_TEST

/* Predicting background everywhere: IoU_0 = the background fraction (its
 * column holds every pixel), 0 for the other classes present. */
START_TEST(test_metrics_all_background)
{
    int64_t target[16], pred[16] = {0};
    for (int i = 0; i < 16; i++) target[i] = i < 10 ? 0 : 1 + i % 2; /* 10 background, 3 + 3 */
    double iou[3];
    tg_seg_scores s = score(3, 4, 4, target, pred, iou);
    ck_assert_double_eq_tol(iou[0], 10.0 / 16.0, EPS);
    ck_assert_double_eq(iou[1], 0.0);
    ck_assert_double_eq(iou[2], 0.0);
    ck_assert_double_eq_tol(s.miou, 10.0 / 16.0 / 3.0, EPS);
    ck_assert_double_eq(s.things_miou, 0.0);
    ck_assert_double_eq_tol(s.pixel_acc, 10.0 / 16.0, EPS);
}
END_TEST

/* Pixels labelled 255 count nowhere, whatever is predicted there (even a
 * class that does not exist): the scores equal the hand example's. */
START_TEST(test_metrics_ignore_never_counted)
{
    int64_t target[24], pred[24];
    memcpy(target, hand_target, sizeof hand_target);
    memcpy(pred, hand_pred, sizeof hand_pred);
    for (int i = 16; i < 24; i++) target[i] = 255, pred[i] = i % 2 ? 1 : 99;
    double iou[3];
    tg_seg_scores s = score(3, 4, 6, target, pred, iou);
    ck_assert_int_eq(s.pixels, 16);
    ck_assert_double_eq_tol(s.miou, 1.75 / 3.0, EPS);
    ck_assert_double_eq_tol(iou[1], 0.5, EPS);
    ck_assert_double_eq_tol(s.pixel_acc, 0.75, EPS);
}
END_TEST

/* A class neither in the truth nor predicted has no IoU (NaN) and is left
 * out of the means; counts accumulate over calls as over one. */
START_TEST(test_metrics_absent_class_and_accumulation)
{
    tg_confusion cm;
    ck_assert_int_eq(tg_confusion_init(&cm, 5, 255), 0);
    tg_tensor *t = labels(4, 4, hand_target), *p = labels(4, 4, hand_pred);
    ck_assert_int_eq(tg_confusion_add(&cm, t, p), 0);
    ck_assert_int_eq(tg_confusion_add(&cm, t, p), 0);
    double iou[5];
    tg_seg_scores s;
    ck_assert_int_eq(tg_confusion_scores(&cm, &s, iou), 0);
    ck_assert(isnan(iou[3]) && isnan(iou[4]));
    ck_assert_int_eq(s.classes, 3);
    ck_assert_int_eq(s.pixels, 32);
    ck_assert_double_eq_tol(s.miou, 1.75 / 3.0, EPS);
    ck_assert_double_eq_tol(s.things_miou, 0.5, EPS);
    tg_confusion_free(&cm);
    ck_assert_int_eq(tg_confusion_init(&cm, 2, 255), 0);
    ck_assert_int_eq(tg_confusion_scores(&cm, &s, NULL), 0);
    ck_assert(isnan(s.miou) && isnan(s.pixel_acc) && s.pixels == 0);
    tg_release(t), tg_release(p);
    tg_confusion_free(&cm);
}
END_TEST

/* Labels outside [0, C) (other than 255) and mismatched shapes fail with a
 * message, and nothing is counted. */
START_TEST(test_metrics_bad_labels)
{
    tg_confusion cm;
    ck_assert_int_eq(tg_confusion_init(&cm, 3, 255), 0);
    int64_t target[4] = {0, 1, 3, 2}, pred[4] = {0, 1, 2, 2};
    tg_tensor *t = labels(2, 2, target), *p = labels(2, 2, pred), *p1 = labels(1, 4, pred);
    ck_assert_int_eq(tg_confusion_add(&cm, t, p), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "target 3"));
    ck_assert_int_eq(tg_confusion_add(&cm, p, t), -1);
    ck_assert_int_eq(tg_confusion_add(&cm, p, p1), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "differ in shape"));
    tg_seg_scores s;
    ck_assert_int_eq(tg_confusion_scores(&cm, &s, NULL), 0);
    ck_assert_int_eq(s.pixels, 0);
    tg_confusion_free(&cm);
    ck_assert_int_eq(tg_confusion_init(&cm, 0, 255), -1);
    ck_assert_ptr_null(cm.counts);
    tg_release(t), tg_release(p), tg_release(p1);
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("confusion");
    tcase_add_test(tc, test_metrics_hand_computed);
    tcase_add_test(tc, test_metrics_perfect);
    tcase_add_test(tc, test_metrics_all_background);
    tcase_add_test(tc, test_metrics_ignore_never_counted);
    tcase_add_test(tc, test_metrics_absent_class_and_accumulation);
    tcase_add_test(tc, test_metrics_bad_labels);
    suite_add_tcase(s, tc);
    return s;
}

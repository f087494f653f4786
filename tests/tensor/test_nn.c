/* Layers' functional forms and losses (resample, pad, cross-entropy and
 * InfoNCE kernels and the ops of autograd/ops_nn.c and ops_loss.c): values
 * against hand-computed numbers, shape rules, error messages, numerical
 * stability and thread-count independence. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

#define TOL 1e-6f

/* Checks t's shape and its values (to TOL relative), then releases t. */
#define EXPECT(t, SHAPE, ...) expect_close(t, SHAPE, (const float[]){__VA_ARGS__}, TOL)

/* Fails unless call returned NULL with an error containing text. */
#define EXPECT_ERROR(call, text)                                                                      \
    do {                                                                                              \
        tg_clear_error();                                                                             \
        tg_tensor *r_ = (call);                                                                       \
        ck_assert_msg(r_ == NULL, "expected an error from %s", #call);                               \
        ck_assert_msg(strstr(tg_last_error(), text) != NULL, "error \"%s\" lacks \"%s\"", tg_last_error(), \
                      text);                                                                          \
    } while (0)

/* [[1, 2], [3, 4]] as (1,1,2,2) */
static tg_tensor *square(void) { return tg_from_data(S(1, 1, 2, 2), TG_FLOAT32, (const float[]){1, 2, 3, 4}); }

/* ---- upsample_bilinear ---- */

START_TEST(test_upsample_values)
{
    tg_tensor *x = square();
    /* half-pixel centres: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25
     * (the last row/column repeats) */
    EXPECT(tg_k_upsample_bilinear(x, 4, 4, false), S(1, 1, 4, 4), 1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
           2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4);
    /* corners aligned: sources 0, 0.5, 1 */
    EXPECT(tg_k_upsample_bilinear(x, 3, 3, true), S(1, 1, 3, 3), 1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4);
    /* one output pixel with aligned corners reads the first pixel (scale 0);
     * without, the centre (source 0.5) */
    EXPECT(tg_k_upsample_bilinear(x, 1, 1, true), S(1, 1, 1, 1), 1);
    EXPECT(tg_k_upsample_bilinear(x, 1, 1, false), S(1, 1, 1, 1), 2.5f);
    /* the same size is the identity either way */
    EXPECT(tg_k_upsample_bilinear(x, 2, 2, false), S(1, 1, 2, 2), 1, 2, 3, 4);
    EXPECT(tg_upsample_bilinear(x, 2, 2, true), S(1, 1, 2, 2), 1, 2, 3, 4);
    /* a transposed view is read through its strides */
    tg_tensor *xt = tg_k_transpose(x, 2, 3);
    EXPECT(tg_k_upsample_bilinear(xt, 3, 3, true), S(1, 1, 3, 3), 1, 2, 3, 1.5f, 2.5f, 3.5f, 2, 3, 4);
    tg_release(xt);
    tg_release(x);
}
END_TEST

START_TEST(test_upsample_backward_values)
{
    /* The four outputs of a 2x2 -> 4x4 resize's corners weigh the input
     * evenly: ones scatter back as 4 per input pixel. */
    tg_tensor *g = tg_ones(S(1, 1, 4, 4), TG_FLOAT32);
    EXPECT(tg_k_upsample_bilinear_backward(g, 2, 2, false), S(1, 1, 2, 2), 4, 4, 4, 4);
    tg_release(g);
    /* 1x3 -> 1x2 aligned: outputs read sources 0 and 2 */
    tg_tensor *g2 = tg_from_data(S(1, 1, 1, 2), TG_FLOAT32, (const float[]){5, 7});
    EXPECT(tg_k_upsample_bilinear_backward(g2, 1, 3, true), S(1, 1, 1, 3), 5, 0, 7);
    tg_release(g2);
}
END_TEST

START_TEST(test_upsample_errors)
{
    tg_tensor *x3 = tg_zeros(S(1, 2, 2), TG_FLOAT32), *x = square();
    tg_tensor *xi = tg_zeros(S(1, 1, 2, 2), TG_INT64);
    EXPECT_ERROR(tg_k_upsample_bilinear(x3, 4, 4, false), "upsample_bilinear: input (1,2,2) is not 4-D (N,C,H,W)");
    EXPECT_ERROR(tg_upsample_bilinear(x, 0, 4, false), "sizes must be at least 1");
    EXPECT_ERROR(tg_k_upsample_bilinear(xi, 4, 4, false), "float32 only");
    tg_release(x3), tg_release(x), tg_release(xi);
}
END_TEST

/* ---- pad ---- */

START_TEST(test_pad_values)
{
    tg_tensor *x = tg_from_data(S(2, 3), TG_FLOAT32, (const float[]){1, 2, 3, 4, 5, 6});
    EXPECT(tg_k_pad(x, 2, (const int64_t[]){1, 2}, 0), S(2, 6), 0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0);
    EXPECT(tg_pad(x, 4, (const int64_t[]){0, 0, 1, 0}, 9), S(3, 3), 9, 9, 9, 1, 2, 3, 4, 5, 6);
    /* negative pads crop: drop the first column and the last row, add one after */
    EXPECT(tg_k_pad(x, 4, (const int64_t[]){-1, 1, 0, -1}, 7), S(1, 3), 2, 3, 7);
    /* cropped to nothing: size 0 is allowed */
    tg_tensor *e = tg_k_pad(x, 2, (const int64_t[]){-2, -1}, 0);
    ck_assert_ptr_nonnull(e);
    ck_assert(e->ndim == 2 && e->shape[0] == 2 && e->shape[1] == 0);
    tg_release(e);
    /* npads 0 copies */
    EXPECT(tg_pad(x, 0, NULL, 0), S(2, 3), 1, 2, 3, 4, 5, 6);
    /* int64 labels padded with 255 */
    tg_tensor *l = tg_from_data(S(1, 2), TG_INT64, (const int64_t[]){3, 4});
    tg_tensor *lp = tg_k_pad(l, 2, (const int64_t[]){0, 1}, 255);
    ck_assert_int_eq(lp->dtype, TG_INT64);
    ck_assert_int_eq(tg_get_i64(lp, (const int64_t[]){0, 2}), 255);
    ck_assert_int_eq(tg_get_i64(lp, (const int64_t[]){0, 1}), 4);
    tg_release(l), tg_release(lp);
    tg_release(x);
}
END_TEST

START_TEST(test_pad_errors)
{
    tg_tensor *x = tg_zeros(S(2, 3), TG_FLOAT32);
    EXPECT_ERROR(tg_pad(x, 3, (const int64_t[]){1, 1, 1}, 0), "pad: 3 pad values; they come in (before, after) pairs");
    EXPECT_ERROR(tg_pad(x, 6, (const int64_t[]){1, 1, 1, 1, 1, 1}, 0), "pad: 3 pairs of pads for a 2-dim tensor");
    EXPECT_ERROR(tg_k_pad(x, 2, (const int64_t[]){-3, -1}, 0),
                 "pad: dim 1 of size 3 padded by (-3, -1) would have a negative size");
    tg_release(x);
}
END_TEST

/* ---- linear ---- */

START_TEST(test_linear_values)
{
    tg_tensor *x = tg_from_data(S(2, 2), TG_FLOAT32, (const float[]){1, 2, 3, 4});
    tg_tensor *w = tg_from_data(S(3, 2), TG_FLOAT32, (const float[]){1, 0, 0, 1, 1, 1});
    tg_tensor *b = tg_from_data(S(3), TG_FLOAT32, (const float[]){10, 20, 30});
    EXPECT(tg_linear(x, w, b), S(2, 3), 11, 22, 33, 13, 24, 37);
    EXPECT(tg_linear(x, w, NULL), S(2, 3), 1, 2, 3, 3, 4, 7);
    /* 1-D and 3-D inputs keep their leading dims */
    tg_tensor *x1 = tg_k_select(x, 0, 1), *x3 = tg_k_view(x, S(2, 1, 2));
    EXPECT(tg_linear(x1, w, b), S(3), 13, 24, 37);
    EXPECT(tg_linear(x3, w, NULL), S(2, 1, 3), 1, 2, 3, 3, 4, 7);
    /* a weight stored transposed */
    tg_tensor *wt_base = tg_from_data(S(2, 3), TG_FLOAT32, (const float[]){1, 0, 1, 0, 1, 1});
    tg_tensor *wt = tg_k_transpose(wt_base, 0, 1);
    EXPECT(tg_linear(x, wt, b), S(2, 3), 11, 22, 33, 13, 24, 37);
    /* no rows */
    tg_tensor *x0 = tg_zeros(S(0, 2), TG_FLOAT32), *y0 = tg_linear(x0, w, b);
    ck_assert(y0 && y0->ndim == 2 && y0->shape[0] == 0 && y0->shape[1] == 3);
    tg_release(x0), tg_release(y0);
    tg_release(x1), tg_release(x3), tg_release(wt_base), tg_release(wt);
    tg_release(x), tg_release(w), tg_release(b);
}
END_TEST

START_TEST(test_linear_errors)
{
    tg_tensor *x = tg_zeros(S(2, 4), TG_FLOAT32), *w = tg_zeros(S(3, 5), TG_FLOAT32);
    tg_tensor *w1 = tg_zeros(S(4), TG_FLOAT32), *w4 = tg_zeros(S(3, 4), TG_FLOAT32);
    tg_tensor *b = tg_zeros(S(4), TG_FLOAT32), *xi = tg_zeros(S(2, 4), TG_INT64);
    EXPECT_ERROR(tg_linear(x, w, NULL), "linear: x (2,4) and weight (3,5): the weight must be (out, in)");
    EXPECT_ERROR(tg_linear(x, w1, NULL), "weight (4)");
    EXPECT_ERROR(tg_linear(x, w4, b), "linear: bias (4) must be 1-D with the weight (3,4)'s 3 outputs");
    EXPECT_ERROR(tg_linear(xi, w4, NULL), "float32 only");
    tg_release(x), tg_release(w), tg_release(w1), tg_release(w4), tg_release(b), tg_release(xi);
}
END_TEST

/* ---- dropout ---- */

START_TEST(test_dropout_mask_rules)
{
    tg_tensor *x = tg_ones(S(8, 16), TG_FLOAT32);
    tg_rng a = tg_rng_new(5, 1), b = tg_rng_new(5, 1);
    tg_tensor *ya = tg_dropout(x, 0.5f, true, &a), *yb = tg_dropout(x, 0.5f, true, &b);
    float va[128], vb[128];
    ck_assert_int_eq(tg_copy_to_buffer(ya, va), 0);
    ck_assert_int_eq(tg_copy_to_buffer(yb, vb), 0);
    ck_assert_int_eq(memcmp(va, vb, sizeof va), 0); /* same rng state, same mask */
    for (int i = 0; i < 128; i++) ck_assert(va[i] == 0.0f || va[i] == 2.0f);
    tg_tensor *yc = tg_dropout(x, 0.5f, true, &a); /* the rng moved on */
    ck_assert_int_eq(tg_copy_to_buffer(yc, vb), 0);
    ck_assert_int_ne(memcmp(va, vb, sizeof va), 0);
    /* p = 0 or eval mode: x itself, no copy */
    tg_tensor *same = tg_dropout(x, 0.0f, true, &a), *eval = tg_dropout(x, 0.9f, false, NULL);
    ck_assert_ptr_eq(same, x);
    ck_assert_ptr_eq(eval, x);
    /* p = 1: zeros */
    tg_tensor *zero = tg_dropout(x, 1.0f, true, &a);
    ck_assert_int_eq(tg_copy_to_buffer(zero, va), 0);
    for (int i = 0; i < 128; i++) ck_assert(va[i] == 0.0f);
    tg_release(ya), tg_release(yb), tg_release(yc), tg_release(same), tg_release(eval), tg_release(zero);
    tg_release(x);
}
END_TEST

/* Every channel of a dropout2d output is all 0 or all 1/(1-p). */
static void expect_whole_channels(tg_tensor *y, int64_t channels, int64_t plane, float scale)
{
    float *v = malloc((size_t)tg_numel(y) * sizeof *v);
    ck_assert(v && tg_copy_to_buffer(y, v) == 0);
    int dropped = 0;
    for (int64_t c = 0; c < channels; c++) {
        float first = v[c * plane];
        ck_assert(first == 0.0f || first == scale);
        dropped += first == 0.0f;
        for (int64_t i = 1; i < plane; i++) ck_assert(v[c * plane + i] == first);
    }
    ck_assert(dropped > 0 && dropped < channels);
    free(v);
}

START_TEST(test_dropout2d_channels)
{
    tg_rng rng = tg_rng_new(11, 0);
    tg_tensor *x4 = tg_ones(S(4, 8, 3, 5), TG_FLOAT32), *x3 = tg_ones(S(32, 3, 5), TG_FLOAT32);
    tg_tensor *y4 = tg_dropout2d(x4, 0.5f, true, &rng), *y3 = tg_dropout2d(x3, 0.5f, true, &rng);
    expect_whole_channels(y4, 32, 15, 2.0f);
    expect_whole_channels(y3, 32, 15, 2.0f);
    tg_release(x4), tg_release(x3), tg_release(y4), tg_release(y3);
}
END_TEST

START_TEST(test_dropout_errors)
{
    tg_rng rng = tg_rng_new(1, 0);
    tg_tensor *x = tg_ones(S(2, 3), TG_FLOAT32);
    EXPECT_ERROR(tg_dropout(x, 1.5f, true, &rng), "dropout: p = 1.5 is outside [0, 1]");
    EXPECT_ERROR(tg_dropout(x, -0.1f, false, &rng), "dropout: p = -0.1 is outside [0, 1]");
    EXPECT_ERROR(tg_dropout(x, NAN, true, &rng), "is outside [0, 1]");
    EXPECT_ERROR(tg_dropout(x, 0.5f, true, NULL), "dropout: NULL rng");
    EXPECT_ERROR(tg_dropout2d(x, 0.5f, true, &rng), "dropout2d: input (2,3) is not (N,C,H,W) or (C,H,W)");
    tg_release(x);
}
END_TEST

/* ---- normalize ---- */

START_TEST(test_normalize_values)
{
    tg_tensor *x = tg_from_data(S(2, 2), TG_FLOAT32, (const float[]){3, 4, 0, 0});
    /* a zero row stays zero: it is divided by eps */
    EXPECT(tg_normalize(x, 1, 1e-12f), S(2, 2), 0.6f, 0.8f, 0, 0);
    EXPECT(tg_normalize(x, 0, 1e-12f), S(2, 2), 1, 1, 0, 0);
    /* a norm below eps divides by eps */
    EXPECT(tg_normalize(x, -1, 10.0f), S(2, 2), 0.3f, 0.4f, 0, 0);
    tg_tensor *s = tg_scalar(1.0f);
    EXPECT_ERROR(tg_normalize(x, 2, 1e-12f), "normalize: dim 2 out of range for a 2-dim tensor");
    EXPECT_ERROR(tg_normalize(s, 0, 1e-12f), "normalize: the input is 0-dim");
    tg_release(s), tg_release(x);
}
END_TEST

/* ---- cross_entropy ---- */

#define IGNORE_255 (&(tg_cross_entropy_opts){.ignore_index = 255})

START_TEST(test_cross_entropy_values)
{
    /* rows [0, 0] -> log 2; [ln 3, 0, 0] against class 0 -> log(5/3) */
    float l3 = logf(3.0f);
    tg_tensor *x = tg_from_data(S(2, 3), TG_FLOAT32, (const float[]){0, 0, -INFINITY, l3, 0, 0});
    tg_tensor *t = tg_from_data(S(2), TG_INT64, (const int64_t[]){1, 0});
    EXPECT(tg_cross_entropy(x, t, NULL), S(), (logf(2.0f) + logf(5.0f / 3.0f)) / 2);
    tg_tensor *t_ign = tg_from_data(S(2), TG_INT64, (const int64_t[]){-100, 0});
    EXPECT(tg_k_cross_entropy(x, t_ign, NULL, NULL), S(), logf(5.0f / 3.0f));
    /* the gradient: (softmax - onehot) / count; -inf logits get 0 */
    tg_tensor *g = tg_scalar(2.0f), *lse = NULL, *loss = tg_k_cross_entropy(x, t, NULL, &lse);
    EXPECT(tg_k_cross_entropy_backward(g, x, t, lse, NULL), S(2, 3), 0.5f, -0.5f, 0, 0.6f - 1, 0.2f, 0.2f);
    EXPECT(tg_k_cross_entropy_backward(g, x, t_ign, lse, NULL), S(2, 3), 0, 0, 0, 1.2f - 2, 0.4f, 0.4f);
    tg_release(g), tg_release(lse), tg_release(loss);
    tg_release(x), tg_release(t), tg_release(t_ign);
}
END_TEST

START_TEST(test_cross_entropy_spatial)
{
    /* (1,2,1,2): position 0 has logits (0, ln 3) and target 1 -> log(4/3);
     * position 1 is ignored */
    float l3 = logf(3.0f);
    tg_tensor *x = tg_from_data(S(1, 2, 1, 2), TG_FLOAT32, (const float[]){0, 5, l3, -5});
    tg_tensor *t = tg_from_data(S(1, 1, 2), TG_INT64, (const int64_t[]){1, 255});
    EXPECT(tg_cross_entropy(x, t, IGNORE_255), S(), logf(4.0f / 3.0f));
    /* every target ignored: NaN, as torch */
    tg_tensor *all = tg_from_data(S(1, 1, 2), TG_INT64, (const int64_t[]){255, 255});
    tg_tensor *nan_loss = tg_cross_entropy(x, all, IGNORE_255);
    ck_assert(isnan(tg_item(nan_loss)));
    tg_release(nan_loss), tg_release(all);
    tg_release(x), tg_release(t);
}
END_TEST

START_TEST(test_cross_entropy_large_logits)
{
    /* a naive exp overflows; the max is subtracted first */
    tg_tensor *x = tg_from_data(S(1, 2), TG_FLOAT32, (const float[]){1000, 0});
    tg_tensor *t = tg_from_data(S(1), TG_INT64, (const int64_t[]){1});
    EXPECT(tg_cross_entropy(x, t, NULL), S(), 1000);
    tg_tensor *x2 = tg_from_data(S(1, 2), TG_FLOAT32, (const float[]){-1000, -1000});
    EXPECT(tg_cross_entropy(x2, t, NULL), S(), logf(2.0f));
    tg_release(x), tg_release(x2), tg_release(t);
}
END_TEST

START_TEST(test_cross_entropy_errors)
{
    tg_tensor *x = tg_zeros(S(2, 3, 2, 2), TG_FLOAT32), *x1 = tg_zeros(S(3), TG_FLOAT32);
    tg_tensor *t = tg_zeros(S(2, 2, 2), TG_INT64), *tf = tg_zeros(S(2, 2, 2), TG_FLOAT32);
    tg_tensor *t_bad = tg_zeros(S(2, 3, 2), TG_INT64);
    int64_t *v = tg_data_i64(t);
    v[5] = 7; /* position (1,0,1) */
    EXPECT_ERROR(tg_cross_entropy(x, t, IGNORE_255),
                 "cross_entropy: target 7 out of range for 3 classes (at position (1,0,1); ignore_index is 255)");
    v[5] = 0;
    v[2] = -1;
    EXPECT_ERROR(tg_k_cross_entropy(x, t, IGNORE_255, NULL),
                 "target -1 out of range for 3 classes (at position (0,1,0)");
    EXPECT_ERROR(tg_cross_entropy(x, t_bad, IGNORE_255),
                 "cross_entropy: input (2,3,2,2) and target (2,3,2): the target must have the input's shape "
                 "without the class dim");
    EXPECT_ERROR(tg_cross_entropy(x, tf, IGNORE_255),
                 "cross_entropy: target is float32; int64 class indices expected");
    EXPECT_ERROR(tg_cross_entropy(x1, t, IGNORE_255), "cross_entropy: input (3) needs a class dim");
    tg_release(x), tg_release(x1), tg_release(t), tg_release(tf), tg_release(t_bad);
}
END_TEST

/* ---- mse_loss ---- */

START_TEST(test_mse_values)
{
    tg_tensor *a = tg_from_data(S(2, 2), TG_FLOAT32, (const float[]){1, 2, 3, 4});
    tg_tensor *b = tg_from_data(S(2), TG_FLOAT32, (const float[]){1, 0});
    EXPECT(tg_mse_loss(a, a), S(), 0);
    EXPECT(tg_mse_loss(a, b), S(), (0 + 4 + 4 + 16) / 4.0f); /* b broadcasts over rows */
    tg_tensor *c = tg_zeros(S(3), TG_FLOAT32);
    EXPECT_ERROR(tg_mse_loss(a, c), "mse_loss: shapes (2,2) and (3) cannot broadcast");
    tg_release(a), tg_release(b), tg_release(c);
}
END_TEST

/* ---- info_nce ---- */

START_TEST(test_info_nce_values)
{
    /* tau 0.5; row 0: logits [2, 0, -2] (positive largest), row 1: [0, 2, 0] */
    tg_tensor *q = tg_from_data(S(2, 2), TG_FLOAT32, (const float[]){1, 0, 0, 1});
    tg_tensor *pos = tg_from_data(S(2, 2), TG_FLOAT32, (const float[]){1, 0, 1, 0});
    tg_tensor *queue = tg_from_data(S(2, 2), TG_FLOAT32, (const float[]){0, 1, -1, 0});
    double s0 = exp(2.0) + 1 + exp(-2.0), s1 = 2 + exp(2.0);
    int64_t correct = -1;
    tg_tensor *grad = NULL;
    EXPECT(tg_k_info_nce(q, pos, queue, 0.5f, &correct, &grad), S(), (float)((log(s0) - 2 + log(s1)) / 2));
    ck_assert_int_eq(correct, 1);
    /* d/dq_r = ((p_r0 - 1) pos_r + sum_j p_rj queue_j) / (R tau) */
    double p00 = exp(2.0) / s0, p01 = 1 / s0, p02 = exp(-2.0) / s0, p10 = 1 / s1, p11 = exp(2.0) / s1;
    EXPECT(grad, S(2, 2), (float)(p00 - 1 - p02), (float)p01, (float)(p10 - 1 - 1 / s1), (float)p11);
    tg_release(q), tg_release(pos), tg_release(queue);
}
END_TEST

/* The fused loss and its gradient equal the composite of matmul, cat and
 * cross_entropy, with q transposed in memory and enough rows and keys for
 * several blocks; entries ~ N(0, scale^2). */
static void check_against_composite(float scale)
{
    enum { R = 600, D = 16, K = 3000 };
    tg_rng rng = tg_rng_new(5, 1);
    tg_tensor *qt = tg_randn(&rng, S(D, R)), *pos = tg_randn(&rng, S(R, D)), *queue = tg_randn(&rng, S(K, D));
    tg_tensor *q = tg_k_transpose(qt, 0, 1);
    ck_assert(!tg_k_mul_scalar_(qt, scale) && !tg_k_mul_scalar_(pos, scale) && !tg_k_mul_scalar_(queue, scale));
    ck_assert_int_eq(tg_set_requires_grad(qt, true), 0);
    tg_tensor *qg = tg_transpose(qt, 0, 1);
    tg_tensor *prod = tg_mul(qg, pos), *lpos = tg_sum(prod, 1, (const int[]){1}, true);
    tg_tensor *kt = tg_k_transpose(queue, 0, 1), *lneg = tg_matmul(qg, kt);
    tg_tensor *cat = tg_cat(2, (tg_tensor *[]){lpos, lneg}, 1), *logits = tg_mul_scalar(cat, 1 / 0.2f);
    tg_tensor *target = tg_zeros(S(R), TG_INT64), *want = tg_cross_entropy(logits, target, NULL);
    ck_assert_int_eq(tg_backward(want, NULL), 0);
    tg_tensor *want_grad = tg_grad(qt), *got_grad = NULL;
    int64_t correct;
    tg_tensor *got = tg_k_info_nce(q, pos, queue, 0.2f, &correct, &got_grad);
    ck_assert_msg(got != NULL, "%s", tg_last_error());
    ck_assert_float_eq_tol(tg_item(got), tg_item(want), 1e-5f * tg_item(want));
    tg_tensor *am = tg_k_argmax(logits, 1, false);
    int64_t hits = 0;
    for (int64_t r = 0; r < R; r++) hits += tg_data_i64(am)[r] == 0;
    ck_assert_int_eq(correct, hits);
    double err = 0, norm = 0;
    for (int64_t r = 0; r < R; r++)
        for (int64_t d = 0; d < D; d++) {
            double w = tg_get(want_grad, (const int64_t[]){d, r}), e = tg_get(got_grad, (const int64_t[]){r, d}) - w;
            err += e * e;
            norm += w * w;
        }
    ck_assert_msg(sqrt(err) <= 1e-5 * sqrt(norm), "gradient off by %g relative", sqrt(err / norm));
    tg_tensor *tmp[] = {qt, pos, queue, q, qg, prod, lpos, cat, kt, lneg, logits, target, want, want_grad, got_grad,
                        got, am};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) tg_release(tmp[i]);
}

/* Norms about 4 (logits up to about 80: the exponentials are shifted by
 * each row's largest logit), and about 1 (by the Cauchy-Schwarz bound). */
START_TEST(test_info_nce_matches_composite)
{
    check_against_composite(1.0f);
    check_against_composite(0.25f);
}
END_TEST

START_TEST(test_info_nce_errors)
{
    tg_tensor *q = tg_zeros(S(3, 4), TG_FLOAT32), *pos = tg_zeros(S(2, 4), TG_FLOAT32);
    tg_tensor *queue = tg_zeros(S(5, 3), TG_FLOAT32), *ok = tg_zeros(S(5, 4), TG_FLOAT32);
    EXPECT_ERROR(tg_k_info_nce(q, pos, ok, 0.2f, NULL, NULL), "info_nce: pos has shape (2,4); (rows of q, 4) expected");
    EXPECT_ERROR(tg_k_info_nce(q, q, queue, 0.2f, NULL, NULL), "info_nce: queue has shape (5,3); (K, 4) expected");
    EXPECT_ERROR(tg_k_info_nce(q, q, ok, 0.0f, NULL, NULL), "info_nce: temperature 0 must be positive");
    ck_assert_int_eq(tg_set_requires_grad(ok, true), 0);
    EXPECT_ERROR(tg_info_nce(q, q, ok, 0.2f, NULL), "info_nce: pos and queue are constants");
    tg_release(q), tg_release(pos), tg_release(queue), tg_release(ok);
}
END_TEST

/* info_nce's loss, count and gradient, for the thread test below. */
static int64_t run_info_nce(void *ctx, float *buf)
{
    tg_tensor *const *in = ctx, *grad = NULL;
    int64_t correct;
    tg_tensor *loss = tg_k_info_nce(in[0], in[1], in[2], 0.2f, &correct, &grad);
    ck_assert_msg(loss != NULL, "%s", tg_last_error());
    buf[0] = tg_item(loss);
    buf[1] = (float)correct;
    ck_assert_int_eq(tg_copy_to_buffer(grad, buf + 2), 0);
    int64_t n = 2 + tg_numel(grad);
    tg_release(loss), tg_release(grad);
    return n;
}

START_TEST(test_info_nce_same_for_any_thread_count)
{
    enum { R = 700, D = 8, K = 4000 };
    tg_rng rng = tg_rng_new(6, 0);
    tg_tensor *in[] = {tg_randn(&rng, S(R, D)), tg_randn(&rng, S(R, D)), tg_randn(&rng, S(K, D))};
    expect_same_on_1_and_2_threads(run_info_nce, in, 2 + R * D);
    for (int i = 0; i < 3; i++) tg_release(in[i]);
}
END_TEST

/* ---- threads ---- */

/* run_all's inputs. */
typedef struct {
    tg_tensor *logits, *target, *img;
} thread_inputs;

/* Every kernel's results at the current thread count, appended to buf;
 * returns how many floats. */
static int64_t run_all(void *ctx, float *buf)
{
    const thread_inputs *in = ctx;
    tg_tensor *logits = in->logits, *target = in->target, *img = in->img;
    tg_tensor *lse = NULL, *g = tg_scalar(0.5f);
    tg_tensor *outs[5] = {tg_k_cross_entropy(logits, target, IGNORE_255, &lse)};
    outs[1] = lse;
    outs[2] = tg_k_cross_entropy_backward(g, logits, target, lse, IGNORE_255);
    outs[3] = tg_k_upsample_bilinear(img, 61, 67, false);
    outs[4] = tg_k_upsample_bilinear_backward(outs[3], img->shape[2], img->shape[3], false);
    int64_t n = 0;
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(outs[i] != NULL, "%s", tg_last_error());
        ck_assert_int_eq(tg_copy_to_buffer(outs[i], buf + n), 0);
        n += tg_numel(outs[i]);
        tg_release(outs[i]);
    }
    tg_release(g);
    return n;
}

START_TEST(test_bitwise_same_for_any_thread_count)
{
    enum { N = 2, C = 21, H = 40, W = 50 };
    tg_rng rng = tg_rng_new(8, 0);
    tg_tensor *logits = tg_randn(&rng, S(N, C, H, W)), *target = tg_randint(&rng, 0, C, S(N, H, W));
    int64_t *t = tg_data_i64(target);
    for (int i = 0; i < N * H * W; i += 7) t[i] = 255;
    tg_tensor *img = tg_randn(&rng, S(N, C, 13, 17));
    int64_t max = 1 + 2 * N * H * W + N * C * H * W + 2 * N * C * 61 * 67;
    expect_same_on_1_and_2_threads(run_all, &(thread_inputs){logits, target, img}, max);
    tg_release(logits), tg_release(target), tg_release(img);
}
END_TEST

Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("nn");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_upsample_values);
    tcase_add_test(tc, test_upsample_backward_values);
    tcase_add_test(tc, test_upsample_errors);
    tcase_add_test(tc, test_pad_values);
    tcase_add_test(tc, test_pad_errors);
    tcase_add_test(tc, test_linear_values);
    tcase_add_test(tc, test_linear_errors);
    tcase_add_test(tc, test_dropout_mask_rules);
    tcase_add_test(tc, test_dropout2d_channels);
    tcase_add_test(tc, test_dropout_errors);
    tcase_add_test(tc, test_normalize_values);
    tcase_add_test(tc, test_cross_entropy_values);
    tcase_add_test(tc, test_cross_entropy_spatial);
    tcase_add_test(tc, test_cross_entropy_large_logits);
    tcase_add_test(tc, test_cross_entropy_errors);
    tcase_add_test(tc, test_mse_values);
    tcase_add_test(tc, test_info_nce_values);
    tcase_add_test(tc, test_info_nce_matches_composite);
    tcase_add_test(tc, test_info_nce_errors);
    tcase_add_test(tc, test_info_nce_same_for_any_thread_count);
    tcase_add_test(tc, test_bitwise_same_for_any_thread_count);
    suite_add_tcase(s, tc);
    return s;
}

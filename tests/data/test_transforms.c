/* The single transforms (data/transforms.h): each op with a torchvision
 * twin against torchvision 0.14's tensor path on fixed parameters
 * (fixtures/transforms.h, made by tools/make_fixtures_transforms.py), the
 * RandomResizedCrop sampling rule and its fallback, and mmseg's
 * PhotoMetricDistortion by its properties. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/transforms.h"
#include "fixtures/transforms.h"
#include "suites.h"
#include "tensor/error.h"

#define N_ELEMS(a) ((int)(sizeof(a) / sizeof *(a)))
#define TOL 2e-6f /* float rounding on values in [0, 1] */

/* The fixture's source (HWC) or mask as a tg_image. */
static tg_image fixture_image(const int64_t *bytes, int channels)
{
    tg_image img;
    ck_assert_int_eq(tg_image_alloc(&img, 11, 13, channels), 0);
    for (int i = 0; i < 11 * 13 * channels; i++) img.data[i] = (uint8_t)bytes[i];
    return img;
}

static void assert_close(const float *got, const float *want, int n, float tol, const char *what)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= tol, "%s[%d]: %.9g, torchvision %.9g", what, i, got[i], want[i]);
}

/* A copy of the fixture's float image (3 x 11 x 13). */
static float *fixture_float(void)
{
    float *f = malloc(sizeof tf_img);
    ck_assert_ptr_nonnull(f);
    memcpy(f, tf_img, sizeof tf_img);
    return f;
}

static void check_resize(const int64_t *p, bool antialias, const float *want, const char *what)
{
    tg_image src = fixture_image(tf_src, 3);
    tg_box crop = {(int)p[0], (int)p[1], (int)p[2], (int)p[3]};
    int oh = (int)p[4], ow = (int)p[5];
    float *out = malloc((size_t)3 * oh * ow * sizeof *out);
    ck_assert_int_eq(tg_tf_resize_bilinear(&src, crop, oh, ow, (tg_box){0, 0, ow, oh}, antialias, 1.0f / 255, out), 0);
    assert_close(out, want, 3 * oh * ow, TOL, what);
    free(out);
    tg_image_free(&src);
}

START_TEST(test_resize_matches_torchvision)
{
    check_resize(tf_rc_down_p, true, tf_rc_down, "shrink");
    check_resize(tf_rc_up_p, true, tf_rc_up, "enlarge");
    check_resize(tf_rc_mixed_p, true, tf_rc_mixed, "mixed");
    check_resize(tf_rs_plain_p, false, tf_rs_plain, "no antialias");
}
END_TEST

/* A window of the output is exactly that part of the whole output. */
START_TEST(test_resize_window_is_part_of_whole)
{
    tg_image src = fixture_image(tf_src, 3);
    tg_box all = {0, 0, 13, 11}, win = {3, 5, 7, 6};
    float whole[3 * 16 * 20], part[3 * 6 * 7];
    for (int aa = 0; aa < 2; aa++) {
        ck_assert_int_eq(tg_tf_resize_bilinear(&src, all, 16, 20, (tg_box){0, 0, 20, 16}, aa, 1.0f, whole), 0);
        ck_assert_int_eq(tg_tf_resize_bilinear(&src, all, 16, 20, win, aa, 1.0f, part), 0);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < win.h; i++)
                for (int j = 0; j < win.w; j++)
                    ck_assert_float_eq(part[(c * win.h + i) * win.w + j], whole[(c * 16 + win.y + i) * 20 + win.x + j]);
    }
    tg_image_free(&src);
}
END_TEST

START_TEST(test_nearest_matches_torchvision)
{
    tg_image mask = fixture_image(tf_mask, 1);
    const int64_t *params[] = {tf_nn_a_p, tf_nn_b_p, tf_nn_c_p}, *want[] = {tf_nn_a, tf_nn_b, tf_nn_c};
    for (int k = 0; k < 3; k++) {
        tg_image out;
        ck_assert_int_eq(tg_tf_resize_nearest(&mask, (int)params[k][0], (int)params[k][1], &out), 0);
        for (int i = 0; i < out.height * out.width; i++)
            ck_assert_msg(out.data[i] == want[k][i], "case %d [%d]: %d, torchvision %d", k, i, out.data[i],
                          (int)want[k][i]);
        tg_image_free(&out);
    }
    tg_image_free(&mask);
}
END_TEST

typedef void (*adjust_fn)(float *img, int h, int w, double factor);

static void check_adjust(adjust_fn fn, const float *param, const float *want, const char *what)
{
    float *img = fixture_float();
    fn(img, 11, 13, param[0]);
    assert_close(img, want, N_ELEMS(tf_img), TOL, what);
    free(img);
}

START_TEST(test_colour_ops_match_torchvision)
{
    check_adjust(tg_tf_adjust_brightness, tf_bright_up_p, tf_bright_up, "brightness up");
    check_adjust(tg_tf_adjust_brightness, tf_bright_down_p, tf_bright_down, "brightness down");
    check_adjust(tg_tf_adjust_contrast, tf_contrast_down_p, tf_contrast_down, "contrast down");
    check_adjust(tg_tf_adjust_contrast, tf_contrast_up_p, tf_contrast_up, "contrast up");
    check_adjust(tg_tf_adjust_saturation, tf_sat_down_p, tf_sat_down, "saturation down");
    check_adjust(tg_tf_adjust_saturation, tf_sat_up_p, tf_sat_up, "saturation up");
    check_adjust(tg_tf_adjust_hue, tf_hue_pos_p, tf_hue_pos, "hue +");
    check_adjust(tg_tf_adjust_hue, tf_hue_neg_p, tf_hue_neg, "hue -");
    check_adjust(tg_tf_adjust_hue, tf_hue_half_p, tf_hue_half, "hue half turn");
    float *img = fixture_float();
    tg_tf_grayscale(img, 11, 13);
    assert_close(img, tf_gray, N_ELEMS(tf_img), TOL, "grayscale");
    free(img);
}
END_TEST

START_TEST(test_blur_matches_torchvision)
{
    const float *params[] = {tf_blur_a_p, tf_blur_b_p, tf_blur_c_p}, *want[] = {tf_blur_a, tf_blur_b, tf_blur_c};
    for (int k = 0; k < 3; k++) {
        float *img = fixture_float();
        ck_assert_int_eq(tg_tf_gaussian_blur(img, 11, 13, params[k][0], (int)params[k][1]), 0);
        assert_close(img, want[k], N_ELEMS(tf_img), TOL, "blur");
        free(img);
    }
}
END_TEST

START_TEST(test_flip_and_normalize_match_torchvision)
{
    float *img = fixture_float();
    tg_tf_hflip(img, 3, 11, 13);
    assert_close(img, tf_hflip, N_ELEMS(tf_img), 0.0f, "hflip");
    memcpy(img, tf_img, sizeof tf_img);
    tg_tf_normalize(img, 11, 13, (const float[3]){0.485f, 0.456f, 0.406f}, (const float[3]){0.229f, 0.224f, 0.225f});
    assert_close(img, tf_normalize, N_ELEMS(tf_img), 0.0f, "normalize");
    free(img);
}
END_TEST

START_TEST(test_pad_and_mask_crop)
{
    float img[3 * 2 * 2] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, out[3 * 3 * 4];
    tg_tf_pad(img, 3, 2, 2, -1.0f, out, 3, 4);
    const float want0[12] = {1, 2, -1, -1, 3, 4, -1, -1, -1, -1, -1, -1};
    assert_close(out, want0, 12, 0.0f, "pad");
    ck_assert_float_eq(out[2 * 12 + 5], 12.0f);
    tg_image mask = fixture_image(tf_mask, 1);
    int64_t m[4 * 5];
    ck_assert_int_eq(tg_tf_mask_crop_pad(&mask, (tg_box){2, 1, 3, 2}, true, 255, m, 4, 5), 0);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++)
            ck_assert_int_eq(m[i * 5 + j], i < 2 && j < 3 ? tf_mask[(1 + i) * 13 + 2 + 2 - j] : 255);
    ck_assert_int_eq(tg_tf_mask_crop_pad(&mask, (tg_box){11, 0, 3, 2}, false, 255, m, 4, 5), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "not inside"));
    tg_image_free(&mask);
}
END_TEST

/* torchvision's default ranges. */
static const tg_range SCALE = {0.2, 1.0}, RATIO = {3.0 / 4.0, 4.0 / 3.0};

START_TEST(test_crop_sampling_rule)
{
    tg_rng rng = tg_rng_new(7, 1);
    int n = 4000, h = 360, w = 360;
    double sum_area = 0, sum_log_ratio = 0, sum_x = 0, sum_y = 0;
    for (int i = 0; i < n; i++) {
        tg_box b = tg_tf_sample_resized_crop(&rng, h, w, SCALE, RATIO);
        ck_assert(b.w >= 1 && b.h >= 1 && b.x >= 0 && b.y >= 0 && b.x + b.w <= w && b.y + b.h <= h);
        double area = (double)b.w * b.h / (h * w), ratio = (double)b.w / b.h;
        ck_assert_msg(area > 0.2 - 0.01 && area < 1.0 + 0.01, "area fraction %g", area);
        ck_assert_msg(ratio > 0.75 * 0.99 && ratio < 4.0 / 3.0 * 1.01, "ratio %g", ratio);
        sum_area += area, sum_log_ratio += log(ratio);
        sum_x += b.w < w ? (double)b.x / (w - b.w) : 0.5, sum_y += b.h < h ? (double)b.y / (h - b.h) : 0.5;
    }
    /* Accepted areas: U(0.2, 1) less the large tries that do not fit (mean
     * 0.539 by simulating the rule in Python); on a square image the
     * accepted aspect ratios stay symmetric in log. */
    ck_assert_msg(sum_area / n > 0.51 && sum_area / n < 0.57, "mean area %g", sum_area / n);
    ck_assert_msg(fabs(sum_log_ratio / n) < 0.01, "mean log ratio %g", sum_log_ratio / n);
    ck_assert_msg(fabs(sum_x / n - 0.5) < 0.03 && fabs(sum_y / n - 0.5) < 0.03, "positions %g %g", sum_x / n,
                  sum_y / n);
}
END_TEST

/* Crops that never fit fall back to the centred crop, aspect clamped. */
START_TEST(test_crop_fallback)
{
    tg_rng rng = tg_rng_new(7, 2);
    tg_range big = {0.9, 1.0};
    for (int i = 0; i < 20; i++) {
        tg_box wide = tg_tf_sample_resized_crop(&rng, 10, 100, big, RATIO);
        ck_assert(wide.x == 43 && wide.y == 0 && wide.w == 13 && wide.h == 10);
        tg_box tall = tg_tf_sample_resized_crop(&rng, 100, 10, big, RATIO);
        ck_assert(tall.x == 0 && tall.y == 43 && tall.w == 10 && tall.h == 13);
        tg_box odd = tg_tf_sample_resized_crop(&rng, 50, 50, (tg_range){0.5, 1}, (tg_range){5, 6});
        ck_assert(odd.x == 0 && odd.y == 20 && odd.w == 50 && odd.h == 10);
        tg_box whole = tg_tf_sample_resized_crop(&rng, 50, 60, (tg_range){1.5, 2}, RATIO);
        ck_assert(whole.x == 0 && whole.y == 0 && whole.w == 60 && whole.h == 50);
    }
}
END_TEST

START_TEST(test_photometric_draw_rule)
{
    tg_photometric cfg = tg_photometric_default();
    tg_rng rng = tg_rng_new(3, 4);
    int n = 4000, on[5] = {0}, lo_hue = 0, hi_hue = 0;
    for (int i = 0; i < n; i++) {
        tg_photometric_params p = tg_photometric_draw(&cfg, &rng);
        on[0] += p.brightness, on[1] += p.contrast, on[2] += p.saturation, on[3] += p.hue, on[4] += p.contrast_first;
        ck_assert(p.brightness ? fabs(p.delta) <= 32 : p.delta == 0);
        ck_assert(p.contrast ? p.alpha >= 0.5 && p.alpha <= 1.5 : p.alpha == 1);
        ck_assert(p.saturation ? p.sat_alpha >= 0.5 && p.sat_alpha <= 1.5 : p.sat_alpha == 1);
        ck_assert(p.hue ? p.hue_shift >= -18 && p.hue_shift < 18 : p.hue_shift == 0);
        lo_hue += p.hue_shift == -18, hi_hue += p.hue_shift == 17;
    }
    for (int k = 0; k < 5; k++) ck_assert_msg(abs(on[k] - n / 2) < n / 25, "step %d on %d of %d", k, on[k], n);
    ck_assert(lo_hue > 0 && hi_hue > 0);
}
END_TEST

/* A 1 x 2 image: pixel 0 is (r0, g0, b0), pixel 1 (r1, g1, b1). */
static void pixels(float img[6], const float a[3], const float b[3])
{
    for (int c = 0; c < 3; c++) img[2 * c] = a[c], img[2 * c + 1] = b[c];
}

START_TEST(test_photometric_steps)
{
    float img[6];
    pixels(img, (const float[3]){0.5f, 0.95f, 0.0f}, (const float[3]){1.0f, 0.5f, 0.0f});
    tg_photometric_apply(img, 1, 2, &(tg_photometric_params){.brightness = true, .delta = 25.5});
    assert_close(img, (const float[6]){0.6f, 1.0f, 1.0f, 0.6f, 0.1f, 0.1f}, 6, 1e-6f, "brightness");
    pixels(img, (const float[3]){0.25f, 0.75f, 0.0f}, (const float[3]){1.0f, 0.5f, 0.0f});
    tg_photometric_apply(img, 1, 2, &(tg_photometric_params){.contrast = true, .alpha = 2});
    assert_close(img, (const float[6]){0.5f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f}, 6, 1e-6f, "contrast");
    /* (1, 0.5, 0) is hue 1/12, s 1, v 1; s 0.5 gives (1, 0.75, 0.5). */
    pixels(img, (const float[3]){1.0f, 0.5f, 0.0f}, (const float[3]){1.0f, 0.0f, 0.0f});
    tg_photometric_apply(img, 1, 2, &(tg_photometric_params){.saturation = true, .sat_alpha = 0.5});
    assert_close(img, (const float[6]){1.0f, 1.0f, 0.75f, 0.5f, 0.5f, 0.5f}, 6, 1e-6f, "saturation");
    /* 18 cv2 units = 36 degrees: red (hue 0) becomes hue 0.1, (1, 0.6, 0);
     * blue (240 degrees) becomes purple, (0.6, 0, 1). */
    pixels(img, (const float[3]){1.0f, 0.0f, 0.0f}, (const float[3]){0.0f, 0.0f, 1.0f});
    tg_photometric_apply(img, 1, 2, &(tg_photometric_params){.hue = true, .hue_shift = 18, .sat_alpha = 1});
    assert_close(img, (const float[6]){1.0f, 0.6f, 0.6f, 0.0f, 0.0f, 1.0f}, 6, 1e-6f, "hue");
}
END_TEST

/* Contrast goes right after brightness or after saturation and hue: the
 * whole equals its steps run one by one in that order. */
START_TEST(test_photometric_order)
{
    tg_photometric_params all = {.brightness = true, .delta = -20, .contrast = true, .alpha = 1.4,
                                 .saturation = true, .sat_alpha = 0.6, .hue = true, .hue_shift = -7};
    tg_photometric_params b = {.brightness = true, .delta = -20, .alpha = 1, .sat_alpha = 1};
    tg_photometric_params c = {.contrast = true, .alpha = 1.4, .sat_alpha = 1};
    tg_photometric_params sh = {.saturation = true, .sat_alpha = 0.6, .hue = true, .hue_shift = -7, .alpha = 1};
    float first[3 * 11 * 13], last[3 * 11 * 13];
    for (int contrast_first = 0; contrast_first < 2; contrast_first++) {
        all.contrast_first = contrast_first;
        float *whole = fixture_float(), *steps = fixture_float();
        tg_photometric_apply(whole, 11, 13, &all);
        tg_photometric_apply(steps, 11, 13, &b);
        const tg_photometric_params *seq[2] = {contrast_first ? &c : &sh, contrast_first ? &sh : &c};
        for (int k = 0; k < 2; k++) tg_photometric_apply(steps, 11, 13, seq[k]);
        assert_close(whole, steps, N_ELEMS(tf_img), 0.0f, "order");
        memcpy(contrast_first ? first : last, whole, sizeof first);
        free(whole), free(steps);
    }
    ck_assert(memcmp(first, last, sizeof first) != 0);
}
END_TEST

START_TEST(test_bad_arguments_refused)
{
    tg_image src = fixture_image(tf_src, 3);
    float out[3 * 4 * 4];
    ck_assert_int_eq(tg_tf_resize_bilinear(&src, (tg_box){5, 0, 9, 11}, 4, 4, (tg_box){0, 0, 4, 4}, true, 1, out), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "crop (x 5, y 0, w 9, h 11) is not inside the 11x13 image"));
    ck_assert_int_eq(tg_tf_resize_bilinear(&src, (tg_box){0, 0, 13, 11}, 4, 4, (tg_box){1, 0, 4, 4}, true, 1, out), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "window"));
    ck_assert_int_eq(tg_tf_gaussian_blur(out, 4, 4, 1.0, 4), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "odd"));
    ck_assert_int_eq(tg_tf_gaussian_blur(out, 4, 4, 0.0, 3), -1);
    tg_image empty = {0}, dst;
    ck_assert_int_eq(tg_tf_resize_nearest(&empty, 4, 4, &dst), -1);
    ck_assert_int_eq(tg_tf_resize_nearest(&src, 0, 4, &dst), -1);
    ck_assert_ptr_null(dst.data);
    tg_image_free(&src);
}
END_TEST

Suite *transforms_suite(void)
{
    Suite *s = suite_create("transforms");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_resize_matches_torchvision);
    tcase_add_test(tc, test_resize_window_is_part_of_whole);
    tcase_add_test(tc, test_nearest_matches_torchvision);
    tcase_add_test(tc, test_colour_ops_match_torchvision);
    tcase_add_test(tc, test_blur_matches_torchvision);
    tcase_add_test(tc, test_flip_and_normalize_match_torchvision);
    tcase_add_test(tc, test_pad_and_mask_crop);
    tcase_add_test(tc, test_crop_sampling_rule);
    tcase_add_test(tc, test_crop_fallback);
    tcase_add_test(tc, test_photometric_draw_rule);
    tcase_add_test(tc, test_photometric_steps);
    tcase_add_test(tc, test_photometric_order);
    tcase_add_test(tc, test_bad_arguments_refused);
    suite_add_tcase(s, tc);
    return s;
}

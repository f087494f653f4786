/* The augmentation recipes (data/transforms.h): the MoCo-v2/DenseCL view
 * against torchvision on fixed parameters, its draw rule, determinism and
 * the documented view-to-source geometry; mmseg's segmentation training
 * pipeline (image and mask stay aligned, padding, cat_max_ratio) and its
 * test resize. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/transforms.h"
#include "fixtures/transforms.h"
#include "suites.h"
#include "tensor/error.h"

/* A height x width RGB image with pixel (x, y) = f(x, y). */
typedef void (*pixel_fn)(int x, int y, uint8_t rgb[3]);

static tg_image make_image(int height, int width, pixel_fn f)
{
    tg_image img;
    ck_assert_int_eq(tg_image_alloc(&img, height, width, 3), 0);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) f(x, y, img.data + ((size_t)y * width + x) * 3);
    return img;
}

/* R and G are ramps of 2 grey levels per pixel across and down. */
static void ramp(int x, int y, uint8_t rgb[3])
{
    rgb[0] = (uint8_t)(2 * x), rgb[1] = (uint8_t)(2 * y), rgb[2] = 7;
}

static void texture(int x, int y, uint8_t rgb[3])
{
    for (int c = 0; c < 3; c++) rgb[c] = (uint8_t)((29 * x + 53 * y + 97 * c + 7 * x * y) % 256);
}

static tg_image fixture_source(void)
{
    tg_image img;
    ck_assert_int_eq(tg_image_alloc(&img, 11, 13, 3), 0);
    for (int i = 0; i < 11 * 13 * 3; i++) img.data[i] = (uint8_t)tf_src[i];
    return img;
}

/* Parameters as the fixture script writes them: crop x y w h, size,
 * jitter, order[4], factors[4], gray, sigma, flip. */
static tg_view_params fixture_params(const float *f)
{
    tg_view_params p = {.geom = {.crop = {(int)f[0], (int)f[1], (int)f[2], (int)f[3]}, .size = (int)f[4]}};
    p.jitter = f[5] != 0;
    for (int i = 0; i < 4; i++) p.order[i] = (int)f[6 + i], p.factor[i] = f[10 + i];
    p.gray = f[14] != 0, p.blur_sigma = f[15], p.geom.flipped = f[16] != 0;
    return p;
}

START_TEST(test_view_matches_torchvision)
{
    tg_image src = fixture_source();
    const float *params[] = {tf_view_a_p, tf_view_b_p, tf_view_c_p}, *want[] = {tf_view_a, tf_view_b, tf_view_c};
    for (int k = 0; k < 3; k++) {
        tg_view_params p = fixture_params(params[k]);
        tg_aug_pretrain cfg = tg_aug_pretrain_default(p.geom.size);
        int n = 3 * p.geom.size * p.geom.size;
        float *out = malloc((size_t)n * sizeof *out);
        ck_assert_int_eq(tg_aug_pretrain_apply(&cfg, &src, &p, out), 0);
        for (int i = 0; i < n; i++)
            ck_assert_msg(fabsf(out[i] - want[k][i]) <= 5e-6f, "view %d [%d]: %.9g, torchvision %.9g", k, i, out[i],
                          want[k][i]);
        free(out);
    }
    tg_image_free(&src);
}
END_TEST

START_TEST(test_pretrain_defaults)
{
    tg_aug_pretrain paper = tg_aug_pretrain_default(224), small = tg_aug_pretrain_default(64);
    ck_assert(paper.blur_sigma.lo == 0.1 && paper.blur_sigma.hi == 2.0);
    ck_assert(fabs(small.blur_sigma.hi - 2.0 * 64 / 224) < 1e-12 && small.blur_prob == 0.5);
    ck_assert(paper.scale.lo == 0.2 && paper.jitter_prob == 0.8 && paper.gray_prob == 0.2 && paper.hue == 0.1);
    ck_assert_int_eq(tg_aug_pretrain_check(&small), 0);
}
END_TEST

/* Over many draws: the probabilities, the factor ranges, and the jitter
 * order uniform over positions (every permutation seen). */
START_TEST(test_pretrain_draw_rule)
{
    tg_aug_pretrain cfg = tg_aug_pretrain_default(64);
    tg_rng rng = tg_rng_new(5, 9);
    int n = 4000, jitter = 0, gray = 0, blur = 0, flip = 0, at[4][4] = {{0}}, seen[256] = {0};
    for (int i = 0; i < n; i++) {
        tg_view_params p;
        ck_assert_int_eq(tg_aug_pretrain_draw(&cfg, 64, 64, &rng, &p), 0);
        jitter += p.jitter, gray += p.gray, blur += p.blur_sigma > 0, flip += p.geom.flipped;
        if (p.blur_sigma > 0) ck_assert(p.blur_sigma >= cfg.blur_sigma.lo && p.blur_sigma <= cfg.blur_sigma.hi);
        for (int k = 0; k < 3; k++)
            ck_assert(p.factor[k] >= 0.6 && p.factor[k] <= 1.4 && (p.jitter || p.factor[k] == 1));
        ck_assert(fabs(p.factor[TG_JITTER_HUE]) <= 0.1);
        if (!p.jitter) continue;
        for (int k = 0; k < 4; k++) at[p.order[k]][k]++;
        seen[p.order[0] * 64 + p.order[1] * 16 + p.order[2] * 4 + p.order[3]] = 1;
    }
    ck_assert_msg(abs(jitter - n * 8 / 10) < n / 25 && abs(gray - n / 5) < n / 25, "jitter %d gray %d", jitter, gray);
    ck_assert_msg(abs(blur - n / 2) < n / 25 && abs(flip - n / 2) < n / 25, "blur %d flip %d", blur, flip);
    for (int op = 0; op < 4; op++)
        for (int k = 0; k < 4; k++)
            ck_assert_msg(abs(at[op][k] - jitter / 4) < jitter / 16, "op %d at %d: %d of %d", op, k, at[op][k], jitter);
    int perms = 0;
    for (int i = 0; i < 256; i++) perms += seen[i];
    ck_assert_int_eq(perms, 24);
}
END_TEST

START_TEST(test_view_determinism)
{
    tg_aug_pretrain cfg = tg_aug_pretrain_default(32);
    tg_image img = make_image(40, 48, texture);
    static float v1[3 * 32 * 32], v2[3 * 32 * 32], v3[3 * 32 * 32];
    tg_rng a = tg_rng_new(11, 5), b = a;
    tg_view_geom g1, g2, g3;
    ck_assert_int_eq(tg_aug_pretrain_view(&cfg, &img, &a, v1, &g1), 0);
    ck_assert_int_eq(tg_aug_pretrain_view(&cfg, &img, &b, v2, &g2), 0);
    ck_assert_mem_eq(v1, v2, sizeof v1);
    ck_assert_mem_eq(&g1, &g2, sizeof g1);
    ck_assert_int_eq(tg_aug_pretrain_view(&cfg, &img, &a, v3, &g3), 0);
    ck_assert(memcmp(v1, v3, sizeof v1) != 0);
    tg_rng other = tg_rng_new(11, 6);
    ck_assert_int_eq(tg_aug_pretrain_view(&cfg, &img, &other, v3, NULL), 0);
    ck_assert(memcmp(v1, v3, sizeof v1) != 0);
    tg_image_free(&img);
}
END_TEST

/* Each view pixel's colour, on a ramp source, is the ramp at the source
 * point tg_view_geom_to_source gives for the pixel's centre (flipped or
 * not), away from the view's border where the filter is cut. */
START_TEST(test_view_geometry)
{
    tg_image img = make_image(96, 96, ramp);
    tg_aug_pretrain cfg = tg_aug_pretrain_default(32);
    cfg.jitter_prob = cfg.gray_prob = cfg.blur_prob = 0;
    static float v[3 * 32 * 32];
    tg_rng rng = tg_rng_new(1, 1);
    int flipped = 0;
    for (int t = 0; t < 40; t++) {
        cfg.flip_prob = t % 2;
        tg_view_geom g;
        ck_assert_int_eq(tg_aug_pretrain_view(&cfg, &img, &rng, v, &g), 0);
        ck_assert_int_eq(g.flipped, t % 2);
        flipped += g.flipped;
        for (int i = 2; i < 30; i++)
            for (int j = 2; j < 30; j++) {
                double x, y;
                tg_view_geom_to_source(&g, j + 0.5, i + 0.5, &x, &y);
                for (int c = 0; c < 2; c++) {
                    double got = (v[(c * 32 + i) * 32 + j] * cfg.std[c] + cfg.mean[c]) * 255;
                    double want = 2 * ((c == 0 ? x : y) - 0.5);
                    ck_assert_msg(fabs(got - want) < 0.5, "view %d pixel (%d, %d) channel %d: %g, source says %g", t,
                                  i, j, c, got, want);
                }
            }
    }
    ck_assert_int_eq(flipped, 20);
    tg_image_free(&img);
}
END_TEST

START_TEST(test_pretrain_refuses_bad_input)
{
    tg_aug_pretrain cfg = tg_aug_pretrain_default(8);
    float out[3 * 8 * 8];
    tg_rng rng = tg_rng_new(1, 2);
    tg_image gray;
    ck_assert_int_eq(tg_image_alloc(&gray, 10, 10, 1), 0);
    ck_assert_int_eq(tg_aug_pretrain_view(&cfg, &gray, &rng, out, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "RGB"));
    tg_image_free(&gray);
    tg_image empty = {0};
    ck_assert_int_eq(tg_aug_pretrain_view(&cfg, &empty, &rng, out, NULL), -1);
    cfg.scale = (tg_range){0.5, 0.2};
    ck_assert_int_eq(tg_aug_pretrain_check(&cfg), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "scale"));
    cfg = tg_aug_pretrain_default(0);
    ck_assert_int_eq(tg_aug_pretrain_check(&cfg), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "size 0"));
}
END_TEST

/* ---- segmentation ---- */

#define SEG_H 48
#define SEG_W 64

/* Labels in asymmetric regions, with an ignore strip. */
static int seg_label(int x, int y)
{
    if (x >= 40 && x < 43) return 255;
    return x < 20 ? 1 : y < 16 ? 2 : 3;
}

static void label_colour(int label, uint8_t rgb[3])
{
    rgb[0] = (uint8_t)(label == 255 ? 128 : 60 * label);
    rgb[1] = (uint8_t)(label == 255 ? 128 : 250 - 70 * label);
    rgb[2] = (uint8_t)(label == 255 ? 128 : 20 + 35 * label);
}

static void seg_pixel(int x, int y, uint8_t rgb[3])
{
    label_colour(seg_label(x, y), rgb);
}

static tg_image seg_mask(void)
{
    tg_image m;
    ck_assert_int_eq(tg_image_alloc(&m, SEG_H, SEG_W, 1), 0);
    for (int y = 0; y < SEG_H; y++)
        for (int x = 0; x < SEG_W; x++) m.data[y * SEG_W + x] = (uint8_t)seg_label(x, y);
    return m;
}

/* Whether the 5 x 5 neighbourhood of (i, j) in an n x n mask is one label.
 * Two pixels, not one: nearest takes source pixel floor(i * in / out) and
 * bilinear centres on (i + 0.5) * in / out - 0.5, so when enlarging the
 * mask lags the image by up to half a source pixel (as in mmseg, whose cv2
 * INTER_NEAREST uses the same rule). */
static bool uniform_around(const int64_t *m, int n, int i, int j)
{
    for (int a = i - 2; a <= i + 2; a++)
        for (int b = j - 2; b <= j + 2; b++)
            if (a < 0 || b < 0 || a >= n || b >= n || m[a * n + b] != m[i * n + j]) return false;
    return true;
}

/* Through random ratios (crops and pads), crops and flips, every pixel
 * inside a region shows its label's colour, and labels are never blended. */
START_TEST(test_seg_image_and_mask_stay_aligned)
{
    tg_image img = make_image(SEG_H, SEG_W, seg_pixel), mask = seg_mask();
    tg_aug_seg cfg = tg_aug_seg_default(32);
    cfg.photometric = false;
    static float out[3 * 32 * 32];
    static int64_t m[32 * 32];
    tg_rng rng = tg_rng_new(2, 3);
    int checked = 0;
    for (int t = 0; t < 60; t++) {
        ck_assert_int_eq(tg_aug_seg_train(&cfg, &img, &mask, &rng, out, m), 0);
        for (int i = 0; i < 32; i++)
            for (int j = 0; j < 32; j++) {
                int64_t l = m[i * 32 + j];
                ck_assert_msg(l == 1 || l == 2 || l == 3 || l == 255, "label %lld", (long long)l);
                if (l == 255 || !uniform_around(m, 32, i, j)) continue;
                uint8_t want[3];
                label_colour((int)l, want);
                for (int c = 0; c < 3; c++) {
                    double got = out[(c * 32 + i) * 32 + j] * cfg.std[c] + cfg.mean[c];
                    ck_assert_msg(fabs(got - want[c]) < 0.01, "sample %d (%d, %d): %g, label %lld wants %d", t, i, j,
                                  got, (long long)l, want[c]);
                }
                checked++;
            }
    }
    ck_assert_int_gt(checked, 60 * 32 * 32 / 4);
    tg_image_free(&img), tg_image_free(&mask);
}
END_TEST

/* Resized to 24 x 32 (half size, nearest takes even columns), the sample
 * fills the top 24 rows; the rest is padding: image 0, mask 255. */
START_TEST(test_seg_pads_small_images)
{
    tg_image img = make_image(SEG_H, SEG_W, seg_pixel), mask = seg_mask();
    tg_aug_seg cfg = tg_aug_seg_default(32);
    cfg.scale_long = 64, cfg.scale_short = 24, cfg.ratio = (tg_range){1, 1}, cfg.flip_prob = 0;
    static float out[3 * 32 * 32];
    static int64_t m[32 * 32];
    tg_rng rng = tg_rng_new(2, 4);
    ck_assert_int_eq(tg_aug_seg_train(&cfg, &img, &mask, &rng, out, m), 0);
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 32; j++) {
            bool strip = j == 20 || j == 21; /* source columns 40 and 42 */
            ck_assert(i < 24 ? (m[i * 32 + j] == 255) == strip : m[i * 32 + j] == 255);
            for (int c = 0; i >= 24 && c < 3; c++) ck_assert_float_eq(out[(c * 32 + i) * 32 + j], 0.0f);
        }
    tg_image_free(&img), tg_image_free(&mask);
}
END_TEST

/* Whether a 32 x 32 mask crop holds two classes, neither 75% or more. */
static bool crop_balanced(const int64_t *m)
{
    int count[3] = {0};
    for (int i = 0; i < 32 * 32; i++) count[m[i]]++;
    int total = count[1] + count[2], most = count[1] > count[2] ? count[1] : count[2];
    return count[1] && count[2] && most < 0.75 * total;
}

static void two_classes(int x, int y, uint8_t rgb[3])
{
    rgb[0] = rgb[1] = rgb[2] = (uint8_t)(x < 16 ? 200 : 50 + y);
}

/* Class 2 fills the left quarter of a 64 x 64 image; a 32 x 32 crop is
 * balanced only if it starts in the first 8 columns (a quarter of the
 * draws): redraws make nearly every crop balanced. */
START_TEST(test_seg_cat_max_ratio)
{
    tg_image img = make_image(64, 64, two_classes), mask;
    ck_assert_int_eq(tg_image_alloc(&mask, 64, 64, 1), 0);
    for (int i = 0; i < 64 * 64; i++) mask.data[i] = i % 64 < 16 ? 2 : 1;
    tg_aug_seg cfg = tg_aug_seg_default(32);
    cfg.scale_long = cfg.scale_short = 64, cfg.ratio = (tg_range){1, 1}, cfg.photometric = false;
    static float out[3 * 32 * 32];
    static int64_t m[32 * 32];
    int balanced[2] = {0};
    for (int on = 0; on < 2; on++) {
        cfg.cat_max_ratio = on ? 0.75 : 1.0;
        tg_rng rng = tg_rng_new(8, 1);
        for (int t = 0; t < 200; t++) {
            ck_assert_int_eq(tg_aug_seg_train(&cfg, &img, &mask, &rng, out, m), 0);
            balanced[on] += crop_balanced(m);
        }
    }
    ck_assert_msg(balanced[0] < 80 && balanced[1] > 176, "balanced crops: %d without, %d with", balanced[0],
                  balanced[1]);
    tg_image_free(&img), tg_image_free(&mask);
}
END_TEST

START_TEST(test_seg_deterministic)
{
    tg_image img = make_image(SEG_H, SEG_W, texture), mask = seg_mask();
    tg_aug_seg cfg = tg_aug_seg_default(32);
    static float o1[3 * 32 * 32], o2[3 * 32 * 32];
    static int64_t m1[32 * 32], m2[32 * 32];
    tg_rng a = tg_rng_new(4, 4), b = a;
    ck_assert_int_eq(tg_aug_seg_train(&cfg, &img, &mask, &a, o1, m1), 0);
    ck_assert_int_eq(tg_aug_seg_train(&cfg, &img, &mask, &b, o2, m2), 0);
    ck_assert_mem_eq(o1, o2, sizeof o1);
    ck_assert_mem_eq(m1, m2, sizeof m1);
    ck_assert_int_eq(tg_aug_seg_train(&cfg, &img, &mask, &a, o2, m2), 0);
    ck_assert(memcmp(o1, o2, sizeof o1) != 0);
    tg_image_free(&img), tg_image_free(&mask);
}
END_TEST

static void flat(int x, int y, uint8_t rgb[3])
{
    (void)x, (void)y;
    rgb[0] = 100, rgb[1] = 150, rgb[2] = 200;
}

START_TEST(test_seg_test_pipeline)
{
    tg_aug_seg voc = tg_aug_seg_default(512), small = tg_aug_seg_default(64);
    int h, w;
    tg_aug_seg_test_size(&voc, 375, 500, &h, &w);
    ck_assert(h == 512 && w == 683);
    tg_aug_seg_test_size(&small, 48, 80, &h, &w);
    ck_assert(h == 64 && w == 107);
    tg_image img = make_image(48, 80, flat);
    float *out = malloc((size_t)3 * h * w * sizeof *out);
    ck_assert_int_eq(tg_aug_seg_test(&small, &img, out), 0);
    const float v[3] = {100, 150, 200};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < h * w; i++)
            ck_assert_msg(fabsf(out[c * h * w + i] - (v[c] - small.mean[c]) / small.std[c]) < 1e-5f, "%g",
                          out[c * h * w + i]);
    free(out);
    tg_image_free(&img);
}
END_TEST

START_TEST(test_seg_refuses_bad_input)
{
    tg_image img = make_image(SEG_H, SEG_W, texture), mask;
    ck_assert_int_eq(tg_image_alloc(&mask, SEG_H, SEG_W - 1, 1), 0);
    tg_aug_seg cfg = tg_aug_seg_default(32);
    static float out[3 * 32 * 32];
    static int64_t m[32 * 32];
    tg_rng rng = tg_rng_new(1, 1);
    ck_assert_int_eq(tg_aug_seg_train(&cfg, &img, &mask, &rng, out, m), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "mask is 48x63x1"));
    ck_assert_int_eq(tg_aug_seg_train(&cfg, &img, &img, &rng, out, m), -1);
    cfg.ratio = (tg_range){0, 2};
    ck_assert_int_eq(tg_aug_seg_check(&cfg), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "ratio"));
    tg_image_free(&img), tg_image_free(&mask);
}
END_TEST

Suite *augment_suite(void)
{
    Suite *s = suite_create("augment");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_view_matches_torchvision);
    tcase_add_test(tc, test_pretrain_defaults);
    tcase_add_test(tc, test_pretrain_draw_rule);
    tcase_add_test(tc, test_view_determinism);
    tcase_add_test(tc, test_view_geometry);
    tcase_add_test(tc, test_pretrain_refuses_bad_input);
    tcase_add_test(tc, test_seg_image_and_mask_stay_aligned);
    tcase_add_test(tc, test_seg_pads_small_images);
    tcase_add_test(tc, test_seg_cat_max_ratio);
    tcase_add_test(tc, test_seg_deterministic);
    tcase_add_test(tc, test_seg_test_pipeline);
    tcase_add_test(tc, test_seg_refuses_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

/* Segmentation overlays (data/overlay.h): the three panels' pixels on a
 * tiny image, computed by hand; a PNG round trip; labels from a tensor;
 * bad sizes, channels, alpha and labels refused. */
#include <string.h>

#include "data/overlay.h"
#include "suites.h"
#include "tmpdir.h"

/* A 1x2 image: pixel 0 (100, 50, 200) labelled 1 predicted 0, pixel 1
 * (10, 20, 30) labelled 255 predicted 2. VOC colours: 0 (0,0,0),
 * 1 (128,0,0), 2 (0,128,0), 255 (224,224,192). */
START_TEST(test_overlay_pixels)
{
    tg_image rgb, pred, truth, out;
    ck_assert_int_eq(tg_image_alloc(&rgb, 1, 2, 3), 0);
    ck_assert_int_eq(tg_image_alloc(&pred, 1, 2, 1), 0);
    ck_assert_int_eq(tg_image_alloc(&truth, 1, 2, 1), 0);
    memcpy(rgb.data, (uint8_t[]){100, 50, 200, 10, 20, 30}, 6);
    pred.data[0] = 0, pred.data[1] = 2;
    truth.data[0] = 1, truth.data[1] = 255;
    ck_assert_int_eq(tg_seg_overlay(&rgb, &pred, &truth, 0.5f, &out), 0);
    ck_assert_int_eq(out.height, 1);
    ck_assert_int_eq(out.width, 3 * 2 + 2 * TG_OVERLAY_GUTTER);
    static const uint8_t want[] = {
        100, 50, 200, 10, 20, 30,  /* the image */
        255, 255, 255, 255, 255, 255, /* gutter */
        50, 25, 100, 5, 74, 15,    /* with the prediction: (x + colour) / 2 */
        255, 255, 255, 255, 255, 255, /* gutter */
        114, 25, 100, 117, 122, 111, /* with the truth */
    };
    ck_assert_mem_eq(out.data, want, sizeof want);
    char path[256];
    tg_image back;
    ck_assert_int_eq(tg_image_write_png(tmpdir_file(path, "overlay.png"), &out), 0);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0);
    ck_assert_mem_eq(back.data, want, sizeof want);
    tg_image_free(&back);
    tg_image_free(&out);
    pred.width = 1;
    ck_assert_int_eq(tg_seg_overlay(&rgb, &pred, &truth, 0.5f, &out), -1);
    ck_assert_ptr_null(out.data);
    pred.width = 2;
    ck_assert_int_eq(tg_seg_overlay(&rgb, &pred, &truth, 1.5f, &out), -1);
    ck_assert_int_eq(tg_seg_overlay(&pred, &pred, &truth, 0.5f, &out), -1);
    tg_image_free(&rgb), tg_image_free(&pred), tg_image_free(&truth);
}
END_TEST

START_TEST(test_overlay_labels_from_tensor)
{
    tg_tensor *t = tg_from_data(TG_SHAPE(2, 3), TG_INT64, (int64_t[]){0, 1, 2, 255, 20, 7});
    tg_image img;
    ck_assert_int_eq(tg_image_from_labels(t, &img), 0);
    ck_assert(img.height == 2 && img.width == 3 && img.channels == 1);
    ck_assert_mem_eq(img.data, ((uint8_t[]){0, 1, 2, 255, 20, 7}), 6);
    tg_image_free(&img);
    tg_release(t);
    t = tg_from_data(TG_SHAPE(1, 2), TG_INT64, (int64_t[]){3, 256});
    ck_assert_int_eq(tg_image_from_labels(t, &img), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "label 256"));
    ck_assert_ptr_null(img.data);
    tg_release(t);
}
END_TEST

Suite *overlay_suite(void)
{
    Suite *s = suite_create("overlay");
    TCase *tc = tcase_create("overlay");
    tcase_add_checked_fixture(tc, tmpdir_make, tmpdir_remove);
    tcase_add_test(tc, test_overlay_pixels);
    tcase_add_test(tc, test_overlay_labels_from_tensor);
    suite_add_tcase(s, tc);
    return s;
}

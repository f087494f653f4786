/* Segmentation overlays (see overlay.h). */
#include "data/overlay.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check_labels(const char *what, const tg_image *labels, const tg_image *rgb)
{
    if (!labels || !labels->data || labels->channels != 1)
        return TG_FAIL("seg_overlay: the %s must be a 1-channel label image", what);
    if (labels->height != rgb->height || labels->width != rgb->width)
        return TG_FAIL("seg_overlay: the %s is %dx%d, the image %dx%d", what, labels->height, labels->width,
                       rgb->height, rgb->width);
    return 0;
}

/* Panel k of out (k = 0, 1, 2): rgb, blended with labels when they are given. */
static void draw_panel(tg_image *out, int k, const tg_image *rgb, const tg_image *labels, float alpha)
{
    const uint8_t *palette = tg_image_voc_palette();
    int x0 = k * (rgb->width + TG_OVERLAY_GUTTER);
    for (int y = 0; y < rgb->height; y++)
        for (int x = 0; x < rgb->width; x++) {
            const uint8_t *src = rgb->data + 3 * ((size_t)y * rgb->width + x);
            uint8_t *dst = out->data + 3 * ((size_t)y * out->width + x0 + x);
            const uint8_t *color = labels ? palette + 3 * labels->data[(size_t)y * rgb->width + x] : src;
            for (int c = 0; c < 3; c++) dst[c] = (uint8_t)lrintf((1.0f - alpha) * src[c] + alpha * color[c]);
        }
}

int tg_seg_overlay(const tg_image *rgb, const tg_image *pred, const tg_image *truth, float alpha, tg_image *out)
{
    if (!out) return TG_FAIL("seg_overlay: NULL output image");
    memset(out, 0, sizeof *out);
    if (!rgb || !rgb->data || rgb->channels != 3) return TG_FAIL("seg_overlay: the image must be RGB");
    if (!(alpha >= 0.0f && alpha <= 1.0f)) return TG_FAIL("seg_overlay: alpha %g is not in [0, 1]", alpha);
    if (check_labels("prediction", pred, rgb) || check_labels("ground truth", truth, rgb)) return -1;
    if (tg_image_alloc(out, rgb->height, 3 * rgb->width + 2 * TG_OVERLAY_GUTTER, 3)) return -1;
    memset(out->data, 255, (size_t)out->height * out->width * 3);
    draw_panel(out, 0, rgb, NULL, alpha);
    draw_panel(out, 1, rgb, pred, alpha);
    draw_panel(out, 2, rgb, truth, alpha);
    return 0;
}

int tg_image_from_labels(const tg_tensor *labels, tg_image *out)
{
    if (!out) return TG_FAIL("image_from_labels: NULL output image");
    memset(out, 0, sizeof *out);
    if (!labels || labels->dtype != TG_INT64 || labels->ndim != 2)
        return TG_FAIL("image_from_labels: labels must be an int64 (H, W) tensor");
    int64_t h = labels->shape[0], w = labels->shape[1], n = h * w;
    if (h > 65535 || w > 65535) return TG_FAIL("image_from_labels: %" PRId64 "x%" PRId64 " is too large", h, w);
    int64_t *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return TG_FAIL("image_from_labels: out of memory");
    int rc = tg_copy_to_buffer(labels, v);
    for (int64_t i = 0; !rc && i < n; i++)
        if (v[i] < 0 || v[i] > 255)
            rc = TG_FAIL("image_from_labels: label %" PRId64 " at (%" PRId64 ", %" PRId64 ") is not in [0, 255]",
                         v[i], i / w, i % w);
    if (!rc) rc = tg_image_alloc(out, (int)h, (int)w, 1);
    for (int64_t i = 0; !rc && i < n; i++) out->data[i] = (uint8_t)v[i];
    free(v);
    return rc;
}

/* sheet_canvas: drawing for the shapescenes_sheet example (sheet_canvas.h). */
#include "sheet_canvas.h"

#include <math.h>
#include <string.h>

#define GREY 128

int canvas_new(sheet_canvas *c, int height, int width, int zoom)
{
    c->zoom = zoom;
    if (tg_image_alloc(&c->img, height * zoom, width * zoom, 3) < 0) return -1;
    memset(c->img.data, GREY, (size_t)c->img.height * (size_t)c->img.width * 3);
    return 0;
}

/* Fills canvas pixels x0..x1, y0..y1 (inclusive), clipped to the canvas. */
static void fill(sheet_canvas *c, int x0, int y0, int x1, int y1, const uint8_t rgb[3])
{
    for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < c->img.height; y++)
        for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < c->img.width; x++)
            memcpy(c->img.data + 3 * ((size_t)y * (size_t)c->img.width + (size_t)x), rgb, 3);
}

void canvas_paste(sheet_canvas *c, const tg_image *rgb, int x, int y)
{
    int z = c->zoom;
    for (int i = 0; i < rgb->height; i++)
        for (int j = 0; j < rgb->width; j++) {
            const uint8_t *p = rgb->data + 3 * ((size_t)i * (size_t)rgb->width + (size_t)j);
            fill(c, z * (x + j), z * (y + i), z * (x + j + 1) - 1, z * (y + i + 1) - 1, p);
        }
}

void canvas_outline(sheet_canvas *c, tg_box b, int x, int y, const uint8_t rgb[3], sheet_corner corner)
{
    int z = c->zoom, t = z > 2 ? z : 2;
    int left = z * (x + b.x) - 1, right = z * (x + b.x + b.w), top = z * (y + b.y) - 1, bottom = z * (y + b.y + b.h);
    int arm = z * (b.w < b.h ? b.w : b.h) / 3;
    fill(c, left, top, right, top, rgb);
    fill(c, left, bottom, right, bottom, rgb);
    fill(c, left, top, left, bottom, rgb);
    fill(c, right, top, right, bottom, rgb);
    if (corner == CORNER_TOP_LEFT) {
        fill(c, left - t + 1, top - t + 1, left + arm, top, rgb);
        fill(c, left - t + 1, top - t + 1, left, top + arm, rgb);
    } else if (corner == CORNER_TOP_RIGHT) {
        fill(c, right - arm, top - t + 1, right + t - 1, top, rgb);
        fill(c, right, top - t + 1, right + t - 1, top + arm, rgb);
    }
}

int canvas_paste_floats(sheet_canvas *c, const float *chw, int h, int w, const float mean[3], const float std[3],
                        float scale, int x, int y)
{
    tg_image rgb;
    if (tg_image_alloc(&rgb, h, w, 3) < 0) return -1;
    size_t plane = (size_t)h * (size_t)w;
    for (size_t i = 0; i < plane; i++)
        for (int ch = 0; ch < 3; ch++) {
            float v = roundf((chw[ch * plane + i] * std[ch] + mean[ch]) * scale);
            rgb.data[3 * i + ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    canvas_paste(c, &rgb, x, y);
    tg_image_free(&rgb);
    return 0;
}

int canvas_paste_labels(sheet_canvas *c, const tg_image *mask, int x, int y)
{
    static const uint8_t white[3] = {255, 255, 255};
    const uint8_t *palette = tg_image_voc_palette();
    tg_image rgb;
    if (tg_image_alloc(&rgb, mask->height, mask->width, 3) < 0) return -1;
    for (size_t i = 0; i < (size_t)mask->height * (size_t)mask->width; i++)
        memcpy(rgb.data + 3 * i, mask->data[i] == 255 ? white : palette + 3 * mask->data[i], 3);
    canvas_paste(c, &rgb, x, y);
    tg_image_free(&rgb);
    return 0;
}

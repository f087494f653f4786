/* shapescenes_sheet: contact sheets of ShapeScenes and of its augmentations,
 * to look at. Writes three PNGs into --out-dir (the current directory by
 * default), every pixel shown as a zoom x zoom square:
 *
 * shapescenes_masks.png: the first N train images of the multi-object
 *   dataset, each beside its mask in the VOC colours (0 background black,
 *   1-8 the things), four pairs a row; then, below a wider gap, the same for
 *   the single-object control variant.
 * shapescenes_views.png: N pretrain images, two a row, each as three panels:
 *   the source with the crop boxes of its two MoCo-v2 views drawn on it
 *   (view 1 yellow, view 2 cyan), then view 1 and view 2 as the network sees
 *   them (tg_aug_pretrain_default(size), de-normalized), framed in their
 *   box's colour. A box's thick corner is where its view's top-left corner
 *   comes from: the box's top-left, or its top-right when the view is
 *   flipped. Each view's drawn parameters are printed, then how often each
 *   step fired.
 * shapescenes_seg.png: N train images, two a row: the image, its mask, then
 *   a segmentation training sample (tg_aug_seg_default(size): rescale by a
 *   random ratio, crop, flip, photometric distortion, pad) and its mask,
 *   ignore (255) in white.
 *
 *   shapescenes_sheet [--out-dir DIR] [--count N] [--seed S] [--size PX] [--zoom Z] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorgrad.h"

#define GAP 2
#define SEG_STREAM (UINT64_C(1) << 32) /* the seg samples' rng streams, apart from the views' */

typedef struct {
    const char *out_dir;
    long count, seed, size, zoom;
} options;

/* 0, 1 after --help, -1 on a bad flag (train/flags.h). */
static int parse_options(int argc, char **argv, options *opt)
{
    *opt = (options){.out_dir = ".", .count = 8, .seed = 0, .size = 64, .zoom = 2};
    const tg_train_flag flags[] = {
        {"out-dir", TG_FLAG_STRING, &opt->out_dir, 0, 0, "where the PNGs go"},
        {"count", TG_FLAG_LONG, &opt->count, 1, 256, "images per sheet"},
        {"seed", TG_FLAG_LONG, &opt->seed, 0, 2147483647.0, "ShapeScenes and augmentation seed"},
        {"size", TG_FLAG_LONG, &opt->size, 8, 512, "image side in pixels"},
        {"zoom", TG_FLAG_LONG, &opt->zoom, 1, 8, "screen pixels per image pixel"},
    };
    int rc = tg_train_parse_flags(argc, argv, flags, TG_FLAG_COUNT(flags), "shapescenes_sheet: contact sheets of ShapeScenes");
    if (rc < 0) fprintf(stderr, "%s: %s\n", argv[0], tg_last_error());
    return rc;
}

/* ---- the canvas: a grey RGB image at an integer zoom, with panels pasted
 * on it and box outlines; positions are in image pixels ---- */

typedef struct sheet_canvas {
    tg_image img;
    int zoom;
} sheet_canvas;

/* Which corner of an outline is drawn thick. */
typedef enum { CORNER_NONE, CORNER_TOP_LEFT, CORNER_TOP_RIGHT } sheet_corner;

#define GREY 128

/* A grey canvas of height x width image pixels. 0 or -1. */
static int canvas_new(sheet_canvas *c, int height, int width, int zoom)
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

/* Copies an RGB image with its top-left corner at (x, y). */
static void canvas_paste(sheet_canvas *c, const tg_image *rgb, int x, int y)
{
    int z = c->zoom;
    for (int i = 0; i < rgb->height; i++)
        for (int j = 0; j < rgb->width; j++) {
            const uint8_t *p = rgb->data + 3 * ((size_t)i * (size_t)rgb->width + (size_t)j);
            fill(c, z * (x + j), z * (y + i), z * (x + j + 1) - 1, z * (y + i + 1) - 1, p);
        }
}

/* Outlines box b of the panel at (x, y) just outside its pixels, one canvas
 * pixel wide, with a thick L at the corner named. */
static void canvas_outline(sheet_canvas *c, tg_box b, int x, int y, const uint8_t rgb[3], sheet_corner corner)
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

/* Pastes a normalized 3 x h x w float image at (x, y), de-normalized:
 * (v * std + mean) * scale, rounded and clamped to 0-255 (scale 255 for
 * mean and std on [0, 1] values, 1 for mean and std in grey levels). 0 or -1. */
static int canvas_paste_floats(sheet_canvas *c, const float *chw, int h, int w, const float mean[3], const float std[3],
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

/* Pastes a 1-channel label mask at (x, y) in the VOC colours, 255 (ignore)
 * white. 0 or -1. */
static int canvas_paste_labels(sheet_canvas *c, const tg_image *mask, int x, int y)
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

/* Where panels go: each sample is `panels` n x n panels side by side,
 * per_row samples a row, GAP apart with one more GAP between samples. */
typedef struct {
    int n, panels, per_row;
} grid;

static int grid_width(const grid *g, long count)
{
    int cols = count < g->per_row ? (int)count : g->per_row;
    return cols * (g->panels * (g->n + GAP) + GAP);
}

static int grid_height(const grid *g, long count)
{
    return (int)((count + g->per_row - 1) / g->per_row) * (g->n + GAP);
}

/* The top-left corner of panel p of sample i, the first row at y0. */
static void grid_at(const grid *g, int i, int p, int y0, int *x, int *y)
{
    *x = GAP + (i % g->per_row) * (g->panels * (g->n + GAP) + GAP) + p * (g->n + GAP);
    *y = y0 + (i / g->per_row) * (g->n + GAP);
}

static tg_shapescenes_config scenes(const options *opt, tg_shapescenes_split split, int single)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(split);
    cfg.seed = (uint64_t)opt->seed, cfg.size = (int)opt->size, cfg.single = single;
    return cfg;
}

static void *alloc_or_fail(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p) TG_FAIL("shapescenes_sheet: out of memory for %zu bytes", bytes);
    return p;
}

/* ---- images beside their masks ---- */

static int paste_masks(sheet_canvas *c, const grid *g, const options *opt, int single, int y0)
{
    tg_shapescenes_config cfg = scenes(opt, TG_SHAPESCENES_TRAIN, single);
    for (int i = 0; i < opt->count; i++) {
        tg_image img = {0}, mask = {0};
        int x, y, rc = tg_shapescenes_render(&cfg, i, &img, &mask);
        grid_at(g, i, 0, y0, &x, &y);
        if (rc == 0) canvas_paste(c, &img, x, y);
        if (rc == 0) rc = canvas_paste_labels(c, &mask, x + g->n + GAP, y);
        tg_image_free(&img);
        tg_image_free(&mask);
        if (rc < 0) return -1;
    }
    return 0;
}

static int masks_sheet(const options *opt, const char *path)
{
    grid g = {(int)opt->size, 2, 4};
    int block = grid_height(&g, opt->count);
    sheet_canvas c;
    if (canvas_new(&c, 2 * block + 4 * GAP, grid_width(&g, opt->count), (int)opt->zoom) < 0) return -1;
    int rc = paste_masks(&c, &g, opt, 0, GAP);
    if (rc == 0) rc = paste_masks(&c, &g, opt, 1, block + 4 * GAP);
    if (rc == 0) rc = tg_image_write_png(path, &c.img);
    tg_image_free(&c.img);
    return rc;
}

/* ---- pretraining view pairs ---- */

static const uint8_t view_colour[2][3] = {{255, 220, 0}, {0, 220, 255}};

/* How often each step of the recipe fired. */
typedef struct {
    int views, jitter, gray, blur, flip;
    double area_lo, area_hi;
} tally;

/* Prints what one view's draw decided and counts it. */
static void note_view(int image, int v, const tg_view_params *p, const tg_image *src, tally *t)
{
    static const char *const op_name[4] = {"brightness", "contrast", "saturation", "hue"};
    tg_box b = p->geom.crop;
    double area = (double)b.w * b.h / ((double)src->width * src->height);
    printf("image %d view %d: crop x %d y %d w %d h %d (area %.2f)%s", image, v + 1, b.x, b.y, b.w, b.h, area,
           p->geom.flipped ? ", flipped" : "");
    for (int k = 0; p->jitter && k < 4; k++)
        printf("%s %s %.2f", k ? "," : ", jitter", op_name[p->order[k]], p->factor[p->order[k]]);
    printf("%s", p->gray ? ", gray" : "");
    if (p->blur_sigma > 0) printf(", blur sigma %.2f", p->blur_sigma);
    printf("\n");
    t->views++, t->jitter += p->jitter, t->gray += p->gray, t->blur += p->blur_sigma > 0, t->flip += p->geom.flipped;
    t->area_lo = area < t->area_lo ? area : t->area_lo;
    t->area_hi = area > t->area_hi ? area : t->area_hi;
}

/* The source at (x, y) with both views' boxes, and the views beside it. */
static int paste_views(sheet_canvas *c, const tg_aug_pretrain *aug, const tg_image *src, tg_rng *rng, int index,
                       int x, int y, float *work, tally *t)
{
    int n = aug->size;
    canvas_paste(c, src, x, y);
    for (int v = 0; v < 2; v++) {
        tg_view_params p;
        int vx = x + (v + 1) * (n + GAP);
        if (tg_aug_pretrain_draw(aug, src->height, src->width, rng, &p) < 0 ||
            tg_aug_pretrain_apply(aug, src, &p, work) < 0 ||
            canvas_paste_floats(c, work, n, n, aug->mean, aug->std, 255.0f, vx, y) < 0)
            return -1;
        canvas_outline(c, p.geom.crop, x, y, view_colour[v], p.geom.flipped ? CORNER_TOP_RIGHT : CORNER_TOP_LEFT);
        canvas_outline(c, (tg_box){0, 0, n, n}, vx, y, view_colour[v], CORNER_TOP_LEFT);
        note_view(index, v, &p, src, t);
    }
    return 0;
}

static int views_sheet(const options *opt, const char *path)
{
    grid g = {(int)opt->size, 3, 2};
    tg_shapescenes_config cfg = scenes(opt, TG_SHAPESCENES_PRETRAIN, 0);
    tg_aug_pretrain aug = tg_aug_pretrain_default((int)opt->size);
    tally t = {.area_lo = 1};
    sheet_canvas c = {0};
    float *work = alloc_or_fail((size_t)3 * g.n * g.n * sizeof *work);
    int rc = work ? canvas_new(&c, grid_height(&g, opt->count) + GAP, grid_width(&g, opt->count), (int)opt->zoom) : -1;
    for (int i = 0; rc == 0 && i < opt->count; i++) {
        tg_image src = {0};
        tg_rng rng = tg_rng_new((uint64_t)opt->seed, (uint64_t)i);
        int x, y;
        grid_at(&g, i, 0, GAP, &x, &y);
        rc = tg_shapescenes_render(&cfg, i, &src, NULL);
        if (rc == 0) rc = paste_views(&c, &aug, &src, &rng, i, x, y, work, &t);
        tg_image_free(&src);
    }
    if (rc == 0) rc = tg_image_write_png(path, &c.img);
    if (rc == 0)
        printf("%d views: jitter %d (p 0.8), gray %d (p 0.2), blur %d (p 0.5), flipped %d (p 0.5), crop area "
               "%.2f-%.2f (0.2-1)\n",
               t.views, t.jitter, t.gray, t.blur, t.flip, t.area_lo, t.area_hi);
    free(work);
    tg_image_free(&c.img);
    return rc;
}

/* ---- segmentation training samples ---- */

/* Image and mask at (x, y), then the training sample made of them and its
 * mask. work: 3 n n floats, labels: n n. */
static int paste_seg(sheet_canvas *c, const tg_aug_seg *aug, const tg_image *img, const tg_image *mask, tg_rng *rng,
                     int x, int y, float *work, int64_t *labels)
{
    int n = aug->crop_h, step = n + GAP;
    tg_image out_mask = {0};
    if (tg_aug_seg_train(aug, img, mask, rng, work, labels) < 0 || tg_image_alloc(&out_mask, n, n, 1) < 0) return -1;
    for (size_t k = 0; k < (size_t)n * (size_t)n; k++) out_mask.data[k] = (uint8_t)labels[k];
    canvas_paste(c, img, x, y);
    int rc = canvas_paste_labels(c, mask, x + step, y);
    if (rc == 0) rc = canvas_paste_floats(c, work, n, n, aug->mean, aug->std, 1.0f, x + 2 * step, y);
    if (rc == 0) rc = canvas_paste_labels(c, &out_mask, x + 3 * step, y);
    tg_image_free(&out_mask);
    return rc;
}

static int seg_sheet(const options *opt, const char *path)
{
    grid g = {(int)opt->size, 4, 2};
    tg_shapescenes_config cfg = scenes(opt, TG_SHAPESCENES_TRAIN, 0);
    tg_aug_seg aug = tg_aug_seg_default((int)opt->size);
    sheet_canvas c = {0};
    float *work = alloc_or_fail((size_t)3 * g.n * g.n * sizeof *work);
    int64_t *labels = work ? alloc_or_fail((size_t)g.n * g.n * sizeof *labels) : NULL;
    int rc = labels ? canvas_new(&c, grid_height(&g, opt->count) + GAP, grid_width(&g, opt->count), (int)opt->zoom)
                    : -1;
    for (int i = 0; rc == 0 && i < opt->count; i++) {
        tg_image img = {0}, mask = {0};
        tg_rng rng = tg_rng_new((uint64_t)opt->seed, SEG_STREAM + (uint64_t)i);
        int x, y;
        grid_at(&g, i, 0, GAP, &x, &y);
        rc = tg_shapescenes_render(&cfg, i, &img, &mask);
        if (rc == 0) rc = paste_seg(&c, &aug, &img, &mask, &rng, x, y, work, labels);
        tg_image_free(&img);
        tg_image_free(&mask);
    }
    if (rc == 0) rc = tg_image_write_png(path, &c.img);
    free(work);
    free(labels);
    tg_image_free(&c.img);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"shapescenes_masks.png", "shapescenes_views.png", "shapescenes_seg.png"};
    static int (*const sheets[])(const options *, const char *) = {masks_sheet, views_sheet, seg_sheet};
    options opt;
    int parsed = parse_options(argc, argv, &opt);
    if (parsed) return parsed > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    for (int k = 0; k < 3; k++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", opt.out_dir, names[k]) >= (int)sizeof path) {
            fprintf(stderr, "shapescenes_sheet: --out-dir is too long\n");
            return EXIT_FAILURE;
        }
        if (sheets[k](&opt, path) < 0) {
            fprintf(stderr, "shapescenes_sheet: %s\n", tg_last_error());
            return EXIT_FAILURE;
        }
        printf("wrote %s\n", path);
    }
    return EXIT_SUCCESS;
}

/* shapescenes_sheet: a contact sheet of ShapeScenes, to look at.
 *
 * Writes one PNG holding the first N train images of the multi-object
 * dataset, each beside its mask in the VOC colours (0 background black,
 * 1-8 the things), four pairs a row; then, below a wider gap, the same for
 * the single-object control variant.
 *
 *   shapescenes_sheet [--out FILE] [--count N] [--seed S] [--size PX] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorgrad.h"

#define PAIRS_PER_ROW 4
#define GAP 2
#define GREY 128

typedef struct {
    const char *out;
    long count, seed, size;
} options;

static int parse_long(const char *name, const char *text, long min, long max, long *out)
{
    char *end;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < min || value > max) {
        fprintf(stderr, "shapescenes_sheet: %s wants an integer in [%ld, %ld], got '%s'\n", name, min, max, text);
        return -1;
    }
    *out = value;
    return 0;
}

static int parse_options(int argc, char **argv, options *opt)
{
    *opt = (options){.out = "shapescenes_sheet.png", .count = 8, .seed = 0, .size = 64};
    for (int i = 1; i < argc; i += 2) {
        const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = -1;
        if (value && !strcmp(name, "--out")) opt->out = value, rc = 0;
        else if (value && !strcmp(name, "--count")) rc = parse_long(name, value, 1, 256, &opt->count);
        else if (value && !strcmp(name, "--seed")) rc = parse_long(name, value, 0, 2147483647L, &opt->seed);
        else if (value && !strcmp(name, "--size")) rc = parse_long(name, value, 8, 512, &opt->size);
        else fprintf(stderr, "usage: %s [--out FILE] [--count N] [--seed S] [--size PX]\n", argv[0]);
        if (rc) return -1;
    }
    return 0;
}

/* Copies img (RGB) or mask (labels, coloured with the VOC palette) into the
 * sheet with its top-left corner at (x0, y0). */
static void paste(tg_image *sheet, const tg_image *img, int is_mask, int x0, int y0)
{
    const uint8_t *palette = tg_image_voc_palette();
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            uint8_t *dst = sheet->data + 3 * ((size_t)(y0 + y) * (size_t)sheet->width + (size_t)(x0 + x));
            const uint8_t *src = is_mask ? palette + 3 * img->data[y * img->width + x]
                                         : img->data + 3 * (y * img->width + x);
            memcpy(dst, src, 3);
        }
}

/* Renders the first opt->count train images of one variant into the sheet,
 * starting at row y0. */
static int paste_variant(tg_image *sheet, const options *opt, int single, int y0)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    cfg.seed = (uint64_t)opt->seed, cfg.size = (int)opt->size, cfg.single = single;
    int cell = 2 * (int)opt->size + 3 * GAP;
    for (int i = 0; i < opt->count; i++) {
        tg_image img, mask;
        if (tg_shapescenes_render(&cfg, i, &img, &mask) < 0) return -1;
        int x = GAP + (i % PAIRS_PER_ROW) * cell, y = y0 + (i / PAIRS_PER_ROW) * (cfg.size + GAP);
        paste(sheet, &img, 0, x, y);
        paste(sheet, &mask, 1, x + cfg.size + GAP, y);
        tg_image_free(&img);
        tg_image_free(&mask);
    }
    return 0;
}

int main(int argc, char **argv)
{
    options opt;
    if (parse_options(argc, argv, &opt) < 0) return EXIT_FAILURE;
    int size = (int)opt.size, cols = opt.count < PAIRS_PER_ROW ? (int)opt.count : PAIRS_PER_ROW;
    int rows = (int)(opt.count + PAIRS_PER_ROW - 1) / PAIRS_PER_ROW, block = rows * (size + GAP);
    tg_image sheet;
    if (tg_image_alloc(&sheet, 2 * block + 4 * GAP, cols * (2 * size + 3 * GAP), 3) < 0) goto fail;
    memset(sheet.data, GREY, (size_t)sheet.height * (size_t)sheet.width * 3);
    if (paste_variant(&sheet, &opt, 0, GAP) < 0 || paste_variant(&sheet, &opt, 1, block + 4 * GAP) < 0 ||
        tg_image_write_png(opt.out, &sheet) < 0)
        goto fail;
    tg_image_free(&sheet);
    printf("wrote %s: %ld multi-object and %ld single-object images with their masks\n", opt.out, opt.count,
           opt.count);
    return EXIT_SUCCESS;
fail:
    fprintf(stderr, "shapescenes_sheet: %s\n", tg_last_error());
    tg_image_free(&sheet);
    return EXIT_FAILURE;
}

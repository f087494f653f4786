/* sheet_canvas: the drawing behind the shapescenes_sheet example. A grey
 * RGB canvas at an integer zoom, with panels pasted on it (RGB images,
 * the transforms' normalized floats, label masks in colour) and box
 * outlines. Positions are in image pixels; the canvas multiplies them by
 * its zoom. */
#ifndef SHEET_CANVAS_H
#define SHEET_CANVAS_H

#include <stdint.h>

#include "tensorgrad.h"

typedef struct sheet_canvas {
    tg_image img;
    int zoom;
} sheet_canvas;

/* Which corner of an outline is drawn thick. */
typedef enum { CORNER_NONE, CORNER_TOP_LEFT, CORNER_TOP_RIGHT } sheet_corner;

/* A grey canvas of height x width image pixels. 0 or -1. */
int canvas_new(sheet_canvas *c, int height, int width, int zoom);
/* Copies an RGB image with its top-left corner at (x, y). */
void canvas_paste(sheet_canvas *c, const tg_image *rgb, int x, int y);
/* Outlines box b of the panel at (x, y) just outside its pixels, one canvas
 * pixel wide, with a thick L at the corner named. */
void canvas_outline(sheet_canvas *c, tg_box b, int x, int y, const uint8_t rgb[3], sheet_corner corner);

/* Pastes a normalized 3 x h x w float image at (x, y), de-normalized:
 * (v * std + mean) * scale, rounded and clamped to 0-255 (scale 255 for
 * mean and std on [0, 1] values, 1 for mean and std in grey levels). 0 or -1. */
int canvas_paste_floats(sheet_canvas *c, const float *chw, int h, int w, const float mean[3], const float std[3],
                        float scale, int x, int y);
/* Pastes a 1-channel label mask at (x, y) in the VOC colours, 255 (ignore)
 * white. 0 or -1. */
int canvas_paste_labels(sheet_canvas *c, const tg_image *mask, int x, int y);

#endif

/* Drawing on an RGB tg_image, for the charts of the example programs:
 * filled rectangles, lines of some thickness, and printable ASCII text in
 * a built-in 5x7 pixel font (descenders below) scaled by a whole factor.
 * Coordinates are pixels from the top-left corner; whatever falls outside
 * the image is clipped. */
#ifndef APPS_PLOT_DRAW_H
#define APPS_PLOT_DRAW_H

#include <stdint.h>

#include "tensorgrad.h"

#define PLOT_GLYPH_W 5
#define PLOT_GLYPH_H 8 /* 7 rows and one for descenders */

typedef struct {
    uint8_t r, g, b;
} plot_color;

/* A white RGB image of height x width. 0, or -1 (out of memory). */
int plot_image_new(tg_image *img, int height, int width);

/* Fills the pixels x0 <= x < x1, y0 <= y < y1. */
void plot_fill(tg_image *img, int x0, int y0, int x1, int y1, plot_color c);
/* A line from (x0, y0) to (x1, y1), thickness pixels wide (square pen). */
void plot_line(tg_image *img, double x0, double y0, double x1, double y1, int thickness, plot_color c);

/* Text with its top-left corner at (x, y), each font pixel drawn as a
 * scale x scale square; characters outside printable ASCII show as '?'. */
void plot_text(tg_image *img, int x, int y, const char *text, int scale, plot_color c);
/* The width and height in pixels plot_text takes for text at scale. */
int plot_text_width(const char *text, int scale);
int plot_text_height(int scale);

#endif

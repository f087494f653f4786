/* Charts drawn into a panel of an RGB tg_image (plot_draw.h), for the
 * compare program's PNGs: grouped bars with error bars, and line charts
 * of several series, with error bars at their points where given. A panel holds a title, a legend row naming the
 * series in their colours, and the plot area with its axes, grid and tick
 * labels at round values (1, 2 or 5 times a power of ten). NaN values are
 * left out: no bar, no error bar, a gap in a line. */
#ifndef APPS_PLOT_H
#define APPS_PLOT_H

#include <stdbool.h>

#include "plot_draw.h"

typedef struct {
    int x, y, width, height;
} plot_rect;

/* The bar series' colours, in order (PLOT_COLORS of them, then again). */
#define PLOT_COLORS 6
plot_color plot_series_color(int i);

typedef struct {
    const char *title;
    int groups, series;
    const char *const *group_names;  /* groups: under each group of bars */
    const char *const *series_names; /* series: the legend */
    const double *value;             /* groups x series, value[g * series + s] */
    const double *error;             /* the same; the error bar is value +- error (NULL: none) */
} plot_bars_spec;

/* Bars from 0, with their values written above them. */
void plot_bars(tg_image *img, plot_rect r, const plot_bars_spec *s);

typedef struct {
    const char *name;
    plot_color color;
    const double *x, *y;
    const double *error; /* NULL, or a dot at each point and an error bar y +- error */
    int n;
} plot_series;

#define PLOT_MAX_SERIES 16

typedef struct {
    const char *title, *x_label;
    int n_series; /* at most PLOT_MAX_SERIES are drawn */
    const plot_series *series;
    bool zero_line; /* the y axis spans 0, marked by a dark line (for differences) */
} plot_lines_spec;

/* Each series as a polyline over the range of all the finite points and
 * error bars; series with error bars are set a few pixels apart, so that
 * bars at the same x do not hide each other. */
void plot_lines(tg_image *img, plot_rect r, const plot_lines_spec *s);

#endif

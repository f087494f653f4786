/* Bar and line charts in a panel of an image (see plot.h). */
#include "plot.h"

#include <math.h>
#include <stdio.h>

#define TEXT 2     /* the scale of every text */
#define PAD 10     /* around the panel's contents */
#define SWATCH 14  /* a legend colour square */
#define TICKS 5    /* about this many tick intervals an axis */
#define NUDGE 6    /* pixels between the error bars of series at the same x */
#define DOT 4      /* half the side of a point's square */

static const plot_color black = {0, 0, 0}, grid_grey = {225, 225, 225}, axis_grey = {90, 90, 90};

plot_color plot_series_color(int i)
{
    static const plot_color colors[PLOT_COLORS] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                                   {214, 39, 40},  {148, 103, 189}, {140, 86, 75}};
    return colors[i % PLOT_COLORS];
}

/* ---- axes ---- */

typedef struct {
    double lo, hi, step;
} axis;

/* A range covering lo..hi with round ends and about TICKS round steps. */
static axis round_axis(double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-12 * fmax(1, fabs(hi))) lo -= 0.5, hi += 0.5;
    double raw = (hi - lo) / TICKS, power = pow(10, floor(log10(raw))), step = 10 * power;
    const double multiples[] = {1, 2, 5};
    for (int i = 2; i >= 0; i--)
        if (multiples[i] * power >= raw) step = multiples[i] * power;
    return (axis){floor(lo / step + 1e-9) * step, ceil(hi / step - 1e-9) * step, step};
}

/* A tick's text, with as many decimals as the step needs. */
static void tick_text(char *buf, size_t size, double v, double step)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, size, "%.*f", decimals, fabs(v) < step * 1e-9 ? 0.0 : v);
}

/* Where the plot area is and what its axes span. */
typedef struct {
    int left, top, right, bottom;
    axis x, y;
} frame;

/* Pixel positions of axis values. */
static double frame_x(const frame *f, double v)
{
    return f->left + (v - f->x.lo) / (f->x.hi - f->x.lo) * (f->right - f->left);
}
static double frame_y(const frame *f, double v)
{
    return f->bottom - (v - f->y.lo) / (f->y.hi - f->y.lo) * (f->bottom - f->top);
}

/* The widest label of the y ticks. */
static int y_labels_width(axis y)
{
    char text[32];
    int width = 0;
    for (double v = y.lo; v <= y.hi + y.step * 1e-6; v += y.step) {
        tick_text(text, sizeof text, v, y.step);
        int w = plot_text_width(text, TEXT);
        if (w > width) width = w;
    }
    return width;
}

/* Grid lines, y tick labels and the axes; x tick labels when x_ticks. */
static void draw_axes(tg_image *img, const frame *f, bool x_ticks)
{
    char text[32];
    int th = plot_text_height(TEXT);
    for (double v = f->y.lo; v <= f->y.hi + f->y.step * 1e-6; v += f->y.step) {
        int y = (int)lround(frame_y(f, v));
        plot_fill(img, f->left, y, f->right, y + 1, grid_grey);
        tick_text(text, sizeof text, v, f->y.step);
        plot_text(img, f->left - 6 - plot_text_width(text, TEXT), y - th / 2, text, TEXT, black);
    }
    for (double v = f->x.lo; x_ticks && v <= f->x.hi + f->x.step * 1e-6; v += f->x.step) {
        int x = (int)lround(frame_x(f, v));
        plot_fill(img, x, f->top, x + 1, f->bottom, grid_grey);
        tick_text(text, sizeof text, v, f->x.step);
        plot_text(img, x - plot_text_width(text, TEXT) / 2, f->bottom + 6, text, TEXT, black);
    }
    plot_fill(img, f->left, f->top, f->left + 1, f->bottom + 1, axis_grey);
    plot_fill(img, f->left, f->bottom, f->right + 1, f->bottom + 1, axis_grey);
}

/* ---- title and legend ---- */

/* The title and the legend rows; returns the y below them. */
static int draw_heading(tg_image *img, plot_rect r, const char *title, const char *const *names,
                        const plot_color *colors, int n)
{
    int th = plot_text_height(TEXT), y = r.y + PAD;
    plot_text(img, r.x + PAD, y, title, TEXT, black);
    y += th + 8;
    int x = r.x + PAD;
    for (int i = 0; i < n; i++) {
        int w = SWATCH + 6 + plot_text_width(names[i], TEXT);
        if (x > r.x + PAD && x + w > r.x + r.width - PAD) x = r.x + PAD, y += SWATCH + 6;
        plot_fill(img, x, y, x + SWATCH, y + SWATCH, colors[i]);
        plot_text(img, x + SWATCH + 6, y + (SWATCH - th) / 2, names[i], TEXT, black);
        x += w + 18;
    }
    return y + SWATCH + 12;
}

/* The plot area below top, with room for the y labels of f->y and, below
 * it, for x tick labels and label_rows more rows of text. */
static void place_frame(frame *f, plot_rect r, int top, int label_rows)
{
    int th = plot_text_height(TEXT);
    f->left = r.x + PAD + y_labels_width(f->y) + 8;
    f->right = r.x + r.width - PAD - 8;
    f->top = top + th / 2;
    f->bottom = r.y + r.height - PAD - (label_rows + 1) * (th + 6);
}

/* ---- bars ---- */

static double bar_top(const plot_bars_spec *s, int i)
{
    double e = s->error && isfinite(s->error[i]) ? s->error[i] : 0;
    return s->value[i] + e;
}

/* The error bar of bar i centred at mid; returns the y of its top. */
static double draw_error(tg_image *img, const frame *f, const plot_bars_spec *s, int i, double mid, double width)
{
    double v = s->value[i], e = s->error[i], cap = width / 6, lo = frame_y(f, v - e), hi = frame_y(f, v + e);
    plot_line(img, mid, lo, mid, hi, 2, black);
    plot_line(img, mid - cap, lo, mid + cap, lo, 2, black);
    plot_line(img, mid - cap, hi, mid + cap, hi, 2, black);
    return hi;
}

/* Bar i over x0 .. x0 + width, its error bar and its value above them. */
static void draw_bar(tg_image *img, const frame *f, const plot_bars_spec *s, int i, double x0, double width)
{
    double v = s->value[i], mid = x0 + width / 2;
    if (!isfinite(v)) return;
    int top = (int)lround(frame_y(f, v)), zero = (int)lround(frame_y(f, 0));
    plot_fill(img, (int)lround(x0), top < zero ? top : zero, (int)lround(x0 + width), top < zero ? zero : top,
              plot_series_color(i % s->series));
    double label_y = top < zero ? top : zero;
    if (s->error && isfinite(s->error[i])) label_y = fmin(label_y, draw_error(img, f, s, i, mid, width));
    char text[32];
    snprintf(text, sizeof text, "%.3f", v);
    int scale = plot_text_width(text, TEXT) <= width ? TEXT : 1;
    plot_text(img, (int)lround(mid) - plot_text_width(text, scale) / 2,
              (int)lround(label_y) - plot_text_height(scale) - 5, text, scale, black);
}

void plot_bars(tg_image *img, plot_rect r, const plot_bars_spec *s)
{
    int n = s->groups * s->series;
    double hi = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(bar_top(s, i))) hi = fmax(hi, bar_top(s, i));
    plot_color colors[PLOT_COLORS];
    int named = s->series < PLOT_COLORS ? s->series : PLOT_COLORS;
    for (int k = 0; k < named; k++) colors[k] = plot_series_color(k);
    frame f = {.x = {0, 1, 1}, .y = round_axis(0, hi * 1.12)};
    place_frame(&f, r, draw_heading(img, r, s->title, s->series_names, colors, named), 0);
    draw_axes(img, &f, false);
    double slot = (double)(f.right - f.left) / s->groups, width = 0.7 * slot / s->series;
    for (int g = 0; g < s->groups; g++) {
        double x0 = f.left + g * slot + 0.15 * slot;
        for (int k = 0; k < s->series; k++) draw_bar(img, &f, s, g * s->series + k, x0 + k * width, width);
        const char *name = s->group_names[g];
        plot_text(img, (int)lround(f.left + (g + 0.5) * slot) - plot_text_width(name, TEXT) / 2, f.bottom + 8, name,
                  TEXT, black);
    }
}

/* ---- lines ---- */

/* The error of point i of a series (0 where it has none). */
static double point_error(const plot_series *p, int i)
{
    return p->error && isfinite(p->error[i]) ? p->error[i] : 0;
}

/* The range of the finite values of x (or y, with the error bars and 0
 * where the zero line is) over every series. */
static void series_range(const plot_lines_spec *s, bool of_y, double *lo, double *hi)
{
    *lo = of_y && s->zero_line ? 0 : INFINITY, *hi = of_y && s->zero_line ? 0 : -INFINITY;
    for (int k = 0; k < s->n_series; k++)
        for (int i = 0; i < s->series[k].n; i++) {
            double v = of_y ? s->series[k].y[i] : s->series[k].x[i], e = of_y ? point_error(&s->series[k], i) : 0;
            if (isfinite(v)) *lo = fmin(*lo, v - e), *hi = fmax(*hi, v + e);
        }
}

/* A dot at each finite point of p and its error bar, shifted by nudge
 * pixels. */
static void draw_points(tg_image *img, const frame *f, const plot_series *p, double nudge)
{
    for (int i = 0; i < p->n; i++) {
        if (!isfinite(p->x[i]) || !isfinite(p->y[i])) continue;
        double x = frame_x(f, p->x[i]) + nudge, y = frame_y(f, p->y[i]), e = point_error(p, i);
        double lo = frame_y(f, p->y[i] - e), hi = frame_y(f, p->y[i] + e);
        plot_line(img, x, lo, x, hi, 2, p->color);
        plot_line(img, x - DOT, lo, x + DOT, lo, 2, p->color);
        plot_line(img, x - DOT, hi, x + DOT, hi, 2, p->color);
        int cx = (int)lround(x), cy = (int)lround(y);
        plot_fill(img, cx - DOT, cy - DOT, cx + DOT + 1, cy + DOT + 1, p->color);
    }
}

/* The polyline of p, shifted by nudge pixels. */
static void draw_series(tg_image *img, const frame *f, const plot_series *p, double nudge)
{
    bool have = false;
    double px = 0, py = 0;
    for (int i = 0; i < p->n; i++) {
        if (!isfinite(p->x[i]) || !isfinite(p->y[i])) {
            have = false;
            continue;
        }
        double x = frame_x(f, p->x[i]) + nudge, y = frame_y(f, p->y[i]);
        plot_line(img, have ? px : x, have ? py : y, x, y, 2, p->color);
        have = true, px = x, py = y;
    }
}

void plot_lines(tg_image *img, plot_rect r, const plot_lines_spec *s)
{
    const char *names[PLOT_MAX_SERIES];
    plot_color colors[PLOT_MAX_SERIES];
    int n = s->n_series < PLOT_MAX_SERIES ? s->n_series : PLOT_MAX_SERIES;
    for (int k = 0; k < n; k++) names[k] = s->series[k].name, colors[k] = s->series[k].color;
    frame f;
    double lo, hi;
    series_range(s, false, &lo, &hi);
    f.x = round_axis(lo, hi);
    series_range(s, true, &lo, &hi);
    f.y = round_axis(lo, hi);
    place_frame(&f, r, draw_heading(img, r, s->title, names, colors, n), s->x_label ? 1 : 0);
    draw_axes(img, &f, true);
    if (s->zero_line) {
        int zero = (int)lround(frame_y(&f, 0));
        plot_fill(img, f.left, zero, f.right + 1, zero + 2, axis_grey);
    }
    for (int k = 0; k < n; k++) {
        const plot_series *p = &s->series[k];
        double nudge = p->error ? NUDGE * (k - (n - 1) / 2.0) : 0;
        draw_series(img, &f, p, nudge);
        if (p->error) draw_points(img, &f, p, nudge);
    }
    if (s->x_label)
        plot_text(img, (f.left + f.right - plot_text_width(s->x_label, TEXT)) / 2,
                  f.bottom + 12 + plot_text_height(TEXT), s->x_label, TEXT, black);
}

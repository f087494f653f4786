/* chart.png, losses.png and length_study.png of the compare program (see
 * compare_plots.h). */
#include "compare_plots.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"
#include "plot.h"
#include "stats.h"

#define PANEL_W 640
#define PANEL_H 420

static const plot_color moco_color = {31, 119, 180}, densecl_color = {255, 127, 14};
static const char *const eval_labels[EVALS] = {"FCN fine-tuning", "frozen-backbone probe"};

static int write_png(const compare_config *c, const char *name, const tg_image *img)
{
    char path[TG_TRAIN_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", c->out, name);
    if (!tg_image_write_png(path, img)) return 0;
    fprintf(stderr, "compare: %s\n", tg_last_error());
    return -1;
}

/* ---- chart.png ---- */

static int write_chart(const compare_config *c, const compare_results *r)
{
    double mean[ARMS * EVALS], std[ARMS * EVALS], *v = malloc((size_t)r->seeds * sizeof *v);
    if (!v) {
        fprintf(stderr, "compare: out of memory\n");
        return -1;
    }
    for (int a = 0; a < ARMS; a++)
        for (int e = 0; e < EVALS; e++) {
            for (long k = 0; k < r->seeds; k++) v[k] = compare_seg_at(r, (compare_arm)a, (compare_eval)e, k)->miou;
            stats_summary s = stats_summarize(v, (int)r->seeds);
            mean[a * EVALS + e] = s.mean, std[a * EVALS + e] = s.std;
        }
    free(v);
    char title[128];
    if (r->seeds == 1) snprintf(title, sizeof title, "Test mIoU, one fine-tune seed");
    else snprintf(title, sizeof title, "Test mIoU, mean +/- std over %ld seeds", r->seeds);
    plot_bars_spec spec = {.title = title, .groups = ARMS, .series = EVALS, .group_names = compare_arm_labels,
                           .series_names = eval_labels, .value = mean, .error = std};
    tg_image img = {0};
    if (plot_image_new(&img, PANEL_H + 80, PANEL_W + 320)) {
        fprintf(stderr, "compare: chart: %s\n", tg_last_error());
        return -1;
    }
    plot_bars(&img, (plot_rect){0, 0, img.width, img.height}, &spec);
    int rc = write_png(c, "chart.png", &img);
    tg_image_free(&img);
    return rc;
}

/* ---- losses.png ---- */

/* The columns of a pretraining log's step lines. */
enum { K_STEP, K_LOSS, K_GLOBAL, K_DENSE, K_TOP1G, K_TOP1D, K_EXACT, K_NEAR, KEYS };
static const char *const log_keys[KEYS] = {"step",        "loss",       "loss_global", "loss_dense",
                                           "top1_global", "top1_dense", "match_exact", "match_near"};

typedef struct {
    int n, cap;
    double *v[KEYS];
} curves;

static void curves_free(curves *cv)
{
    for (int k = 0; k < KEYS; k++) free(cv->v[k]);
    *cv = (curves){0};
}

static int curves_add(curves *cv, const json_t *line)
{
    if (cv->n == cv->cap) {
        int cap = cv->cap ? 2 * cv->cap : 256;
        for (int k = 0; k < KEYS; k++) {
            double *grown = realloc(cv->v[k], (size_t)cap * sizeof *grown);
            if (!grown) return -1;
            cv->v[k] = grown;
        }
        cv->cap = cap;
    }
    for (int k = 0; k < KEYS; k++) cv->v[k][cv->n] = json_number_at(line, log_keys[k]);
    cv->n++;
    return 0;
}

/* The step lines of DIR/pretrain_<arm>/log.jsonl. 0, or -1 after printing why. */
static int read_curves(const compare_config *c, compare_arm arm, curves *cv)
{
    char name[TG_TRAIN_NAME_MAX], path[TG_TRAIN_PATH_MAX];
    compare_pretrain_dir_name(arm, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s/log.jsonl", c->out, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "compare: cannot read %s\n", path);
        return -1;
    }
    char *text = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (!rc && (len = getline(&text, &cap, f)) > 0) {
        json_error_t why;
        json_t *line = json_loadb(text, (size_t)len, 0, &why);
        const char *kind = json_string_at(line, "kind");
        if (!line) fprintf(stderr, "compare: %s: a line is not JSON: %s\n", path, why.text);
        rc = !line ? -1 : kind && strcmp(kind, "step") == 0 ? curves_add(cv, line) : 0;
        json_decref(line);
    }
    free(text);
    fclose(f);
    if (rc) fprintf(stderr, "compare: reading %s failed\n", path);
    return rc;
}

static plot_series series(const char *name, plot_color color, const curves *cv, int key)
{
    return (plot_series){.name = name, .color = color, .x = cv->v[K_STEP], .y = cv->v[key], .n = cv->n};
}

/* The four panels of losses.png from the MoCo-v2 and DenseCL curves. */
static void draw_losses(tg_image *img, const curves *moco, const curves *dense)
{
    static const plot_color green = {44, 160, 44}, red = {214, 39, 40}, purple = {148, 103, 189};
    const plot_series total[] = {series("MoCo-v2", moco_color, moco, K_LOSS),
                                 series("DenseCL", densecl_color, dense, K_LOSS)};
    const plot_series global[] = {series("MoCo-v2", moco_color, moco, K_GLOBAL),
                                  series("DenseCL", densecl_color, dense, K_GLOBAL)};
    const plot_series local[] = {series("DenseCL", densecl_color, dense, K_DENSE)};
    const plot_series accuracy[] = {series("MoCo-v2 top-1", moco_color, moco, K_TOP1G),
                                    series("DenseCL top-1", densecl_color, dense, K_TOP1G),
                                    series("dense top-1", green, dense, K_TOP1D),
                                    series("match exact", red, dense, K_EXACT),
                                    series("match +-1 cell", purple, dense, K_NEAR)};
    const plot_lines_spec panels[4] = {
        {"Total loss", "iteration", 2, total, false},
        {"Global loss L_g", "iteration", 2, global, false},
        {"Dense loss L_d (DenseCL)", "iteration", 1, local, false},
        {"Top-1 and matching accuracy", "iteration", 5, accuracy, false},
    };
    for (int i = 0; i < 4; i++)
        plot_lines(img, (plot_rect){(i % 2) * PANEL_W, (i / 2) * PANEL_H, PANEL_W, PANEL_H}, &panels[i]);
}

static int write_losses(const compare_config *c)
{
    curves moco = {0}, dense = {0};
    tg_image img = {0};
    int rc = read_curves(c, ARM_MOCOV2, &moco) || read_curves(c, ARM_DENSECL, &dense) ? -1 : 0;
    if (!rc && plot_image_new(&img, 2 * PANEL_H, 2 * PANEL_W)) {
        fprintf(stderr, "compare: losses: %s\n", tg_last_error());
        rc = -1;
    }
    if (!rc) draw_losses(&img, &moco, &dense);
    if (!rc) rc = write_png(c, "losses.png", &img);
    tg_image_free(&img);
    curves_free(&moco), curves_free(&dense);
    return rc;
}

/* ---- length_study.png ---- */

/* DenseCL minus MoCo-v2 in mIoU of e at each length of the study, the
 * whole length last: mean and std over seeds into mean and std; diff is
 * scratch (seeds numbers). */
static void length_differences(const compare_results *r, compare_eval e, double *diff, double *mean, double *std)
{
    for (int l = 0; l <= r->lengths; l++) {
        for (long k = 0; k < r->seeds; k++)
            diff[k] = compare_length_seg(r, l, ARM_DENSECL, e, k)->miou -
                      compare_length_seg(r, l, ARM_MOCOV2, e, k)->miou;
        stats_summary s = stats_summarize(diff, (int)r->seeds);
        mean[l] = s.mean, std[l] = s.std;
    }
}

static int write_length_study(const compare_config *c, const compare_results *r)
{
    double mean[EVALS][FRACTIONS_MAX + 1], std[EVALS][FRACTIONS_MAX + 1];
    double *diff = malloc((size_t)r->seeds * sizeof *diff);
    tg_image img = {0};
    if (!diff || plot_image_new(&img, PANEL_H + 80, PANEL_W + 320)) {
        fprintf(stderr, "compare: length study: out of memory\n");
        free(diff);
        return -1;
    }
    plot_series series[EVALS];
    for (int e = 0; e < EVALS; e++) {
        length_differences(r, (compare_eval)e, diff, mean[e], std[e]);
        series[e] = (plot_series){.name = eval_labels[e], .color = plot_series_color(e), .x = r->iterations, .y = mean[e],
                                  .error = std[e], .n = r->lengths + 1};
    }
    free(diff);
    char title[128];
    if (r->seeds == 1) snprintf(title, sizeof title, "DenseCL - MoCo-v2 test mIoU, one fine-tune seed");
    else snprintf(title, sizeof title, "DenseCL - MoCo-v2 test mIoU, mean +/- std over %ld seeds", r->seeds);
    plot_lines_spec spec = {title, "pretraining iterations", EVALS, series, true};
    plot_lines(&img, (plot_rect){0, 0, img.width, img.height}, &spec);
    int rc = write_png(c, "length_study.png", &img);
    tg_image_free(&img);
    return rc;
}

int compare_plots_write(const compare_config *c, const compare_results *r)
{
    return write_chart(c, r) || write_losses(c) || (r->lengths && write_length_study(c, r)) ? -1 : 0;
}

/* Evaluating an FCN on a test split as mmseg does (docs/protocol.md section 12):
 * whole-image, single-scale inference; the logits of each image resized
 * bilinearly to its mask's size when the test resize changed it; one
 * confusion matrix over every pixel of the split, from which mIoU,
 * things-mIoU, pixel accuracy and per-class IoU come (nn/metrics.h).
 * Optionally PNG overlays of the first images' predictions. In a
 * data-parallel job (dist/dist.h) every rank evaluates its share of the
 * split, the counts are summed, and every rank gets the same scores
 * (overlays: of the images in each rank's share). */
#ifndef APPS_SEG_EVAL_H
#define APPS_SEG_EVAL_H

#include <stdio.h>

#include <jansson.h>
#include "seg_data.h"
#include "tensorgrad.h"

typedef struct {
    long batch;              /* images a forward, when they share a size; 0: the dataset's */
    long overlays;           /* the first this many images as PNGs */
    const char *overlay_dir; /* where they go: overlay_00000.png ... */
} seg_eval_opts;

typedef struct {
    int num_classes;
    int64_t images;
    tg_seg_scores scores;
    double *iou; /* num_classes; NaN: a class neither present nor predicted */
} seg_result;

/* Evaluates m on d->test (m's training mode is restored afterwards) and
 * prints the scores (seg_result_print) and the time taken to stdout. 0, or
 * -1 after printing why. */
int seg_evaluate(tg_module *m, const seg_data *d, const seg_eval_opts *o, seg_result *out);
void seg_result_free(seg_result *r);

/* The scores for people, then per class. */
void seg_result_print(const seg_result *r, const seg_data *d, FILE *f);
/* root with "test":{"split":..,"images":..,"miou":..,...,"iou":{"background":..}};
 * a chain step as in out_files.h. */
json_t *seg_result_json(const seg_result *r, const seg_data *d, json_t *root);

#endif

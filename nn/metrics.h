/* Segmentation metrics from one confusion matrix, as mmseg and the VOC
 * benchmark compute them: counts are accumulated over every pixel of the
 * whole evaluation set (not averaged per image), then
 *
 *   IoU_c     = CM[c,c] / (sum_j CM[c,j] + sum_i CM[i,c] - CM[c,c])
 *   mIoU      = mean of IoU_c over classes whose denominator is not 0
 *               (the background, class 0, included)
 *   things    = the same mean over classes 1..C-1
 *   pixel acc = sum_c CM[c,c] / sum of CM
 *
 * Rows are ground truth, columns predictions; pixels labelled ignore_index
 * (255 for VOC) are never counted. Counts are int64, so a whole VOC or
 * Cityscapes validation set counts exactly. */
#ifndef TG_NN_METRICS_H
#define TG_NN_METRICS_H

#include "tensor/export.h"
#include "tensor/tensor.h"

typedef struct tg_confusion {
    int64_t num_classes;
    int64_t ignore_index;
    tg_tensor *counts; /* int64 (C, C), owned */
} tg_confusion;

typedef struct tg_seg_scores {
    double miou;        /* NaN when no class has a denominator (nothing counted) */
    double things_miou; /* without class 0; NaN when no other class has one */
    double pixel_acc;   /* NaN when nothing was counted */
    int64_t pixels;     /* pixels counted */
    int64_t classes;    /* classes with a denominator: those mIoU averages */
} tg_seg_scores;

/* Zero counts for num_classes >= 1 classes. 0, or -1 with cm zeroed. */
TG_API int tg_confusion_init(tg_confusion *cm, int64_t num_classes, int64_t ignore_index);
TG_API void tg_confusion_free(tg_confusion *cm); /* safe on a zeroed or freed one, and on NULL */
/* Counts every pixel of target (int64 labels, any shape) against pred
 * (int64, the same shape), skipping ignore_index. A counted label or
 * prediction outside [0, C) is an error, and nothing is counted. */
TG_API int tg_confusion_add(tg_confusion *cm, tg_tensor *target, tg_tensor *pred);
/* The scores; iou (may be NULL) receives C per-class IoUs, NaN for a class
 * that is neither in the ground truth nor predicted. */
TG_API int tg_confusion_scores(const tg_confusion *cm, tg_seg_scores *out, double *iou);

#endif

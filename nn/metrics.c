/* Segmentation metrics from one confusion matrix (see metrics.h). */
#include "nn/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "tensor/internal/check.h"
#include "tensor/internal/index.h"

int tg_confusion_init(tg_confusion *cm, int64_t num_classes, int64_t ignore_index)
{
    if (TG_NEED("confusion_init", cm)) return -1;
    *cm = (tg_confusion){0};
    if (num_classes < 1) return TG_FAIL("confusion: %" PRId64 " classes; need at least 1", num_classes);
    cm->counts = tg_zeros(TG_SHAPE(num_classes, num_classes), TG_INT64);
    if (!cm->counts) return -1;
    cm->num_classes = num_classes;
    cm->ignore_index = ignore_index;
    return 0;
}

void tg_confusion_free(tg_confusion *cm)
{
    if (!cm) return;
    tg_release(cm->counts);
    *cm = (tg_confusion){0};
}

int tg_confusion_add(tg_confusion *cm, tg_tensor *target, tg_tensor *pred)
{
    if (TG_NEED("confusion_add", cm)) return -1;
    if (!cm->counts) return TG_FAIL("confusion: not initialised");
    return tg_k_confusion_add_(cm->counts, target, pred, cm->ignore_index);
}

/* Mean of iou[from..c) over the classes with a denominator; NaN if none. */
static double mean_iou(const double *iou, int64_t from, int64_t c, int64_t *classes)
{
    double sum = 0;
    int64_t n = 0;
    for (int64_t k = from; k < c; k++)
        if (!isnan(iou[k])) sum += iou[k], n++;
    if (classes) *classes = n;
    return n ? sum / (double)n : NAN;
}

int tg_confusion_scores(const tg_confusion *cm, tg_seg_scores *out, double *iou)
{
    if (TG_NEED("confusion_scores", cm, out)) return -1;
    if (!cm->counts) return TG_FAIL("confusion: not initialised");
    int64_t c = cm->num_classes;
    int64_t *m = malloc((size_t)(c * c) * sizeof *m);
    double *own = iou ? NULL : malloc((size_t)c * sizeof *own);
    double *u = iou ? iou : own;
    int rc = m && u ? tg_copy_to_buffer(cm->counts, m) : TG_FAIL("confusion: out of memory (%" PRId64 " classes)", c);
    if (rc) {
        free(m), free(own);
        return -1;
    }
    int64_t total = 0, correct = 0;
    for (int64_t k = 0; k < c; k++) {
        int64_t row = 0, col = 0;
        for (int64_t j = 0; j < c; j++) row += m[k * c + j], col += m[j * c + k];
        int64_t den = row + col - m[k * c + k];
        u[k] = den ? (double)m[k * c + k] / (double)den : NAN;
        total += row;
        correct += m[k * c + k];
    }
    out->pixels = total;
    out->pixel_acc = total ? (double)correct / (double)total : NAN;
    out->miou = mean_iou(u, 0, c, &out->classes);
    out->things_miou = mean_iou(u, 1, c, NULL);
    free(m), free(own);
    return 0;
}

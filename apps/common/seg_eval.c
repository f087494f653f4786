/* Test-split evaluation of an FCN (see seg_eval.h). Samples are read in
 * dataset order and run in batches of consecutive images of one size; in
 * a data-parallel job each rank runs its share of the split and the
 * ranks' confusion counts are summed. */
#include "seg_eval.h"

#include <stdlib.h>

#include "out_files.h"

#define OVERLAY_ALPHA 0.5f

typedef struct {
    tg_module *model;
    const seg_data *d;
    const seg_eval_opts *o;
    tg_confusion cm;
    tg_sample *samples; /* the batch being gathered */
    int cap, n;
    int64_t first; /* dataset index of samples[0] */
} evaluator;

static int fail(const char *what)
{
    fprintf(stderr, "evaluation: %s: %s\n", what, tg_last_error());
    return -1;
}

/* int64 (n, H, W) predictions: argmax of the logits, resized to H x W first
 * when the test resize changed the size. */
static tg_tensor *predict(evaluator *e, tg_tensor *x, int64_t height, int64_t width)
{
    tg_tensor *logits = NULL;
    if (tg_fcn_forward(e->model, x, &logits, NULL)) return NULL;
    if (logits->shape[2] != height || logits->shape[3] != width) {
        tg_tensor *resized = tg_upsample_bilinear(logits, height, width, e->d->align_corners);
        tg_release(logits);
        logits = resized;
    }
    tg_tensor *pred = logits ? tg_argmax(logits, 1, false) : NULL;
    tg_release(logits);
    return pred;
}

/* Writes sample j of the batch beside its prediction and truth. */
static int write_overlay(evaluator *e, int j, tg_tensor *pred)
{
    tg_image labels = {0}, panel = {0};
    tg_tensor *one = tg_select(pred, 0, j);
    int rc = tg_image_from_labels(one, &labels) ||
             tg_seg_overlay(&e->samples[j].image, &labels, &e->samples[j].mask, OVERLAY_ALPHA, &panel);
    char path[4096];
    snprintf(path, sizeof path, "%s/overlay_%05lld.png", e->o->overlay_dir, (long long)(e->first + j));
    if (!rc) rc = tg_image_write_png(path, &panel);
    tg_release(one);
    tg_image_free(&labels);
    tg_image_free(&panel);
    return rc ? fail("writing an overlay") : 0;
}

/* The batch's images, test-transformed, and masks as tensors. */
static int batch_tensors(evaluator *e, int h, int w, tg_tensor **x, tg_tensor **y)
{
    const tg_image *img0 = &e->samples[0].image;
    int64_t height = img0->height, width = img0->width, pixels = height * width;
    *x = tg_empty(TG_SHAPE(e->n, 3, h, w), TG_FLOAT32);
    *y = tg_empty(TG_SHAPE(e->n, height, width), TG_INT64);
    int rc = *x && *y ? 0 : -1;
    for (int j = 0; !rc && j < e->n; j++) {
        const tg_sample *s = &e->samples[j];
        if (!s->mask.data || s->mask.height != height || s->mask.width != width) {
            char name[256];
            e->d->test->name(e->d->test, e->first + j, name, sizeof name);
            return TG_FAIL("%s has no mask of its image's size", name);
        }
        rc = tg_aug_seg_test(&e->d->aug, &s->image, tg_data_f32(*x) + (size_t)j * 3 * h * w);
        int64_t *labels = tg_data_i64(*y) + j * pixels;
        for (int64_t i = 0; i < pixels; i++) labels[i] = s->mask.data[i];
    }
    return rc;
}

/* Runs the gathered batch and counts it. */
static int flush(evaluator *e)
{
    if (!e->n) return 0;
    int h, w;
    tg_aug_seg_test_size(&e->d->aug, e->samples[0].image.height, e->samples[0].image.width, &h, &w);
    tg_tensor *x = NULL, *y = NULL, *pred = NULL;
    int rc = batch_tensors(e, h, w, &x, &y);
    if (!rc) pred = predict(e, x, y->shape[1], y->shape[2]);
    if (!rc) rc = pred ? tg_confusion_add(&e->cm, y, pred) : -1;
    for (int j = 0; !rc && j < e->n && e->first + j < e->o->overlays; j++) rc = write_overlay(e, j, pred);
    tg_release(x), tg_release(y), tg_release(pred);
    for (int j = 0; j < e->n; j++) tg_sample_free(&e->samples[j]);
    e->first += e->n;
    e->n = 0;
    return rc ? fail("a batch") : 0;
}

static bool same_size(const tg_image *a, const tg_image *b) { return a->height == b->height && a->width == b->width; }

/* Reads this rank's share of the test samples (all of them with one
 * rank) into batches. */
static int run(evaluator *e)
{
    const tg_dataset *ds = e->d->test;
    int64_t ranks = tg_dist_world_size(), rank = tg_dist_rank(), end = ds->size * (rank + 1) / ranks;
    e->first = ds->size * rank / ranks;
    for (int64_t i = e->first; i < end; i++) {
        tg_sample s = {0};
        if (ds->get(ds, i, &s)) return fail("reading a sample");
        if (e->n && !same_size(&s.image, &e->samples[0].image) && flush(e)) {
            tg_sample_free(&s);
            return -1;
        }
        e->samples[e->n++] = s;
        if (e->n == e->cap && flush(e)) return -1;
    }
    return flush(e);
}

int seg_evaluate(tg_module *m, const seg_data *d, const seg_eval_opts *o, seg_result *out)
{
    evaluator e = {.model = m, .d = d, .o = o, .cap = (int)(o->batch ? o->batch : d->eval_batch)};
    *out = (seg_result){.num_classes = d->num_classes, .iou = malloc((size_t)d->num_classes * sizeof(double))};
    e.samples = calloc((size_t)e.cap, sizeof *e.samples);
    if (!out->iou || !e.samples || tg_confusion_init(&e.cm, d->num_classes, TG_SEG_IGNORE)) {
        free(e.samples);
        seg_result_free(out);
        return fail("out of memory");
    }
    bool training = m->training;
    double t0 = tg_train_clock();
    tg_module_train(m, false);
    tg_no_grad_enter();
    int rc = run(&e);
    tg_no_grad_exit();
    tg_module_train(m, training);
    for (int j = 0; j < e.n; j++) tg_sample_free(&e.samples[j]);
    free(e.samples);
    out->images = d->test->size;
    if (!rc && tg_dist_allreduce(e.cm.counts, TG_DIST_SUM)) rc = fail("summing the ranks' counts");
    if (!rc && tg_confusion_scores(&e.cm, &out->scores, out->iou)) rc = fail("scores");
    tg_confusion_free(&e.cm);
    if (rc) {
        seg_result_free(out);
        return -1;
    }
    double took = tg_train_clock() - t0;
    seg_result_print(out, d, stdout);
    printf("evaluated in %.1f s\n", took);
    return 0;
}

void seg_result_free(seg_result *r)
{
    free(r->iou);
    r->iou = NULL;
}

void seg_result_print(const seg_result *r, const seg_data *d, FILE *f)
{
    const tg_seg_scores *s = &r->scores;
    fprintf(f, "%s %s: %lld images, mIoU %.4f, things-mIoU %.4f, pixel accuracy %.4f\n", d->name, d->test_split,
            (long long)r->images, s->miou, s->things_miou, s->pixel_acc);
    for (int c = 0; c < r->num_classes; c++) fprintf(f, "  %-14s IoU %.4f\n", d->class_names[c], r->iou[c]);
}

json_t *seg_result_json(const seg_result *r, const seg_data *d, json_t *root)
{
    const tg_seg_scores *s = &r->scores;
    json_t *iou = json_object();
    for (int c = 0; c < r->num_classes; c++) iou = out_json_set(iou, d->class_names[c], out_json_number(r->iou[c]));
    json_t *test = json_pack("{s:s,s:I,s:I}", "split", d->test_split, "images", (json_int_t)r->images, "pixels",
                             (json_int_t)s->pixels);
    const char *const keys[] = {"miou", "things_miou", "pixel_acc"};
    const double values[] = {s->miou, s->things_miou, s->pixel_acc};
    test = out_json_set(out_json_numbers(test, keys, values, (int)(sizeof keys / sizeof *keys)), "iou", iou);
    return out_json_set(root, "test", test);
}

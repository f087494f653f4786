/* Reading the compare runs' results.json files (see compare_results.h). */
#include "compare_results.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "json_read.h"

compare_seg *compare_seg_at(const compare_results *r, compare_arm arm, compare_eval e, long seed)
{
    return &r->seg[((long)arm * EVALS + (long)e) * r->seeds + seed];
}

/* Where the study's run from the snapshot at fraction[l] is kept. */
static compare_seg *length_slot(const compare_results *r, int l, compare_arm arm, compare_eval e, long seed)
{
    long pretrained = (long)l * PRETRAINED_ARMS + (long)(arm - ARM_MOCOV2);
    return &r->length_seg[(pretrained * EVALS + (long)e) * r->seeds + seed];
}

const compare_seg *compare_length_seg(const compare_results *r, int l, compare_arm arm, compare_eval e, long seed)
{
    return l < r->lengths ? length_slot(r, l, arm, e, seed) : compare_seg_at(r, arm, e, seed);
}

/* A number the report reads from a run's results.json; null (a NaN the
 * run wrote) is accepted where the number may be undefined. */
typedef struct {
    const char *path; /* "test.miou" */
    bool may_be_null;
} wanted;

static const wanted pretrain_keys[] = {
    {"train.images", false},         {"train.steps", false},          {"train.steps_per_epoch", false},
    {"train.warmup_steps", false},   {"train.grid", false},           {"timing.seconds", false},
    {"timing.seconds_per_step", true}, {"timing.img_s", true},        {"last_epoch.loss", true},
    {"last_epoch.loss_global", true}, {"last_epoch.loss_dense", true}, {"last_epoch.top1_global", true},
    {"last_epoch.top1_dense", true}, {"last_epoch.match_exact", true}, {"last_epoch.match_near", true},
};
#define PRETRAIN_KEYS (int)(sizeof pretrain_keys / sizeof *pretrain_keys)

static const wanted seg_keys[] = {
    {"test.miou", false},  {"test.things_miou", true}, {"test.pixel_acc", true},
    {"train.steps", false}, {"timing.seconds", false}, {"timing.eval_seconds", false},
};
#define SEG_KEYS (int)(sizeof seg_keys / sizeof *seg_keys)

/* The n numbers of out/dir/results.json at keys, into values. 0, or -1
 * after printing why: the file is missing or not JSON, or a key is
 * missing or holds no number. */
static int read_numbers(const char *out, const char *dir, const wanted *keys, int n, double *values)
{
    char path[TG_TRAIN_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/results.json", out, dir);
    json_t *j = json_read_file(path);
    int rc = j ? 0 : -1;
    for (int i = 0; !rc && i < n; i++) {
        const json_t *v = json_at(j, keys[i].path);
        const char *why = !v ? "has no" : json_is_number(v) || (keys[i].may_be_null && json_is_null(v)) ? NULL
                                                                                                       : "has no number at";
        if (why) {
            fprintf(stderr, "compare: %s %s \"%s\", which the report needs\n", path, why, keys[i].path);
            rc = -1;
        }
        values[i] = json_number_at(j, keys[i].path);
    }
    json_decref(j);
    return rc;
}

int compare_pretrain_read(compare_pretrain *p, const char *out, compare_arm arm)
{
    char dir[TG_TRAIN_NAME_MAX];
    double v[PRETRAIN_KEYS];
    compare_pretrain_dir_name(arm, dir, sizeof dir);
    if (read_numbers(out, dir, pretrain_keys, PRETRAIN_KEYS, v)) return -1;
    *p = (compare_pretrain){v[0], v[1], v[2],  v[3],  v[4],  v[5],  v[6], v[7],
                            v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
    return 0;
}

/* The run in out/dir into *s. */
static int read_seg(compare_seg *s, const char *out, const char *dir)
{
    double v[SEG_KEYS];
    if (read_numbers(out, dir, seg_keys, SEG_KEYS, v)) return -1;
    *s = (compare_seg){v[0], v[1], v[2], v[3], v[4], v[5]};
    return 0;
}

/* Every arm's fine-tunings and probes. */
static int read_main_runs(compare_results *r, const char *out)
{
    char dir[TG_TRAIN_NAME_MAX];
    int rc = 0;
    for (int a = 0; !rc && a < ARMS; a++)
        for (int e = 0; !rc && e < EVALS; e++)
            for (long k = 0; !rc && k < r->seeds; k++) {
                compare_run_dir_name((compare_eval)e, (compare_arm)a, k, dir, sizeof dir);
                rc = read_seg(compare_seg_at(r, (compare_arm)a, (compare_eval)e, k), out, dir);
            }
    return rc;
}

/* The length study's lengths and runs (after the pretrainings: their
 * iterations). */
static int read_length_runs(compare_results *r, const compare_config *c)
{
    const fraction_list *f = &c->pretrain.snapshots;
    double steps = r->pretrain[ARM_DENSECL].steps;
    char dir[TG_TRAIN_NAME_MAX];
    int rc = 0;
    for (int l = 0; l < f->n; l++)
        r->fraction[l] = f->v[l], r->iterations[l] = (double)fractions_step(f->v[l], (int64_t)steps);
    r->fraction[f->n] = 1, r->iterations[f->n] = steps;
    for (int l = 0; !rc && l < f->n; l++)
        for (int a = ARM_MOCOV2; !rc && a <= ARM_DENSECL; a++)
            for (int e = 0; !rc && e < EVALS; e++)
                for (long k = 0; !rc && k < r->seeds; k++) {
                    compare_length_dir_name((compare_eval)e, (compare_arm)a, f->v[l], k, dir, sizeof dir);
                    rc = read_seg(length_slot(r, l, (compare_arm)a, (compare_eval)e, k), c->out, dir);
                }
    return rc;
}

int compare_results_read(compare_results *r, const compare_config *c)
{
    size_t runs = (size_t)(EVALS * c->seeds), lengths = (size_t)c->pretrain.snapshots.n;
    *r = (compare_results){.seeds = c->seeds, .lengths = (int)lengths, .seg = calloc(ARMS * runs, sizeof *r->seg)};
    if (lengths) r->length_seg = calloc(lengths * PRETRAINED_ARMS * runs, sizeof *r->length_seg);
    if (!r->seg || (lengths && !r->length_seg)) {
        fprintf(stderr, "compare: out of memory\n");
        compare_results_free(r);
        return -1;
    }
    int rc = compare_pretrain_read(&r->pretrain[ARM_MOCOV2], c->out, ARM_MOCOV2) ||
             compare_pretrain_read(&r->pretrain[ARM_DENSECL], c->out, ARM_DENSECL) || read_main_runs(r, c->out) ||
             read_length_runs(r, c);
    if (!rc) return 0;
    compare_results_free(r);
    return -1;
}

void compare_results_free(compare_results *r)
{
    free(r->seg);
    free(r->length_seg);
    r->seg = r->length_seg = NULL;
}

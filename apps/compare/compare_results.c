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

static int read_pretrain(compare_pretrain *p, const char *out, compare_arm arm)
{
    char dir[TG_TRAIN_NAME_MAX];
    double v[PRETRAIN_KEYS];
    compare_pretrain_dir_name(arm, dir, sizeof dir);
    if (read_numbers(out, dir, pretrain_keys, PRETRAIN_KEYS, v)) return -1;
    *p = (compare_pretrain){v[0], v[1], v[2],  v[3],  v[4],  v[5],  v[6], v[7],
                            v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
    return 0;
}

static int read_seg(compare_seg *s, const char *out, compare_eval e, compare_arm arm, long seed)
{
    char dir[TG_TRAIN_NAME_MAX];
    double v[SEG_KEYS];
    compare_run_dir_name(e, arm, seed, dir, sizeof dir);
    if (read_numbers(out, dir, seg_keys, SEG_KEYS, v)) return -1;
    *s = (compare_seg){v[0], v[1], v[2], v[3], v[4], v[5]};
    return 0;
}

int compare_results_read(compare_results *r, const char *out, long seeds)
{
    *r = (compare_results){.seeds = seeds, .seg = calloc((size_t)(ARMS * EVALS * seeds), sizeof *r->seg)};
    if (!r->seg) {
        fprintf(stderr, "compare: out of memory\n");
        return -1;
    }
    int rc = read_pretrain(&r->pretrain[ARM_MOCOV2], out, ARM_MOCOV2) ||
             read_pretrain(&r->pretrain[ARM_DENSECL], out, ARM_DENSECL);
    for (int a = 0; !rc && a < ARMS; a++)
        for (int e = 0; !rc && e < EVALS; e++)
            for (long k = 0; !rc && k < seeds; k++)
                rc = read_seg(compare_seg_at(r, (compare_arm)a, (compare_eval)e, k), out, (compare_eval)e,
                              (compare_arm)a, k);
    if (!rc) return 0;
    compare_results_free(r);
    return -1;
}

void compare_results_free(compare_results *r)
{
    free(r->seg);
    r->seg = NULL;
}

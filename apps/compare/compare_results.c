/* Reading the compare runs' results.json files (see compare_results.h). */
#include "compare_results.h"

#include <stdio.h>
#include <stdlib.h>

#include "json_read.h"

compare_seg *compare_seg_at(const compare_results *r, compare_arm arm, compare_eval e, long seed)
{
    return &r->seg[((long)arm * EVALS + (long)e) * r->seeds + seed];
}

/* The parsed out/dir/results.json, or NULL after printing why. */
static json_t *read_run(const char *out, const char *dir)
{
    char path[TG_TRAIN_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/results.json", out, dir);
    return json_read_file(path);
}

static int read_pretrain(compare_pretrain *p, const char *out, compare_arm arm)
{
    char dir[TG_TRAIN_NAME_MAX];
    compare_pretrain_dir_name(arm, dir, sizeof dir);
    json_t *j = read_run(out, dir);
    if (!j) return -1;
    *p = (compare_pretrain){
        json_number_at(j, "train.images"),          json_number_at(j, "train.steps"),
        json_number_at(j, "train.steps_per_epoch"), json_number_at(j, "train.warmup_steps"),
        json_number_at(j, "train.grid"),            json_number_at(j, "timing.seconds"),
        json_number_at(j, "timing.seconds_per_step"), json_number_at(j, "timing.img_s"),
        json_number_at(j, "last_epoch.loss"),       json_number_at(j, "last_epoch.loss_global"),
        json_number_at(j, "last_epoch.loss_dense"), json_number_at(j, "last_epoch.top1_global"),
        json_number_at(j, "last_epoch.top1_dense"), json_number_at(j, "last_epoch.match_exact"),
        json_number_at(j, "last_epoch.match_near")};
    json_decref(j);
    return 0;
}

static int read_seg(compare_seg *s, const char *out, compare_eval e, compare_arm arm, long seed)
{
    char dir[TG_TRAIN_NAME_MAX];
    compare_run_dir_name(e, arm, seed, dir, sizeof dir);
    json_t *j = read_run(out, dir);
    if (!j) return -1;
    *s = (compare_seg){json_number_at(j, "test.miou"),   json_number_at(j, "test.things_miou"),
                       json_number_at(j, "test.pixel_acc"), json_number_at(j, "train.steps"),
                       json_number_at(j, "timing.seconds"), json_number_at(j, "timing.eval_seconds")};
    json_decref(j);
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

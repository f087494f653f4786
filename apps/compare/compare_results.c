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
static tg_json *read_run(const char *out, const char *dir)
{
    char path[TG_TRAIN_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/results.json", out, dir);
    return json_read_file(path);
}

static int read_pretrain(compare_pretrain *p, const char *out, compare_arm arm)
{
    char dir[TG_TRAIN_NAME_MAX];
    compare_pretrain_dir_name(arm, dir, sizeof dir);
    tg_json *j = read_run(out, dir);
    if (!j) return -1;
    *p = (compare_pretrain){
        json_number(j, "train.images"),          json_number(j, "train.steps"),
        json_number(j, "train.steps_per_epoch"), json_number(j, "train.warmup_steps"),
        json_number(j, "train.grid"),            json_number(j, "timing.seconds"),
        json_number(j, "timing.seconds_per_step"), json_number(j, "timing.img_s"),
        json_number(j, "last_epoch.loss"),       json_number(j, "last_epoch.loss_global"),
        json_number(j, "last_epoch.loss_dense"), json_number(j, "last_epoch.top1_global"),
        json_number(j, "last_epoch.top1_dense"), json_number(j, "last_epoch.match_exact"),
        json_number(j, "last_epoch.match_near")};
    tg_json_free(j);
    return 0;
}

static int read_seg(compare_seg *s, const char *out, compare_eval e, compare_arm arm, long seed)
{
    char dir[TG_TRAIN_NAME_MAX];
    compare_run_dir_name(e, arm, seed, dir, sizeof dir);
    tg_json *j = read_run(out, dir);
    if (!j) return -1;
    *s = (compare_seg){json_number(j, "test.miou"),   json_number(j, "test.things_miou"),
                       json_number(j, "test.pixel_acc"), json_number(j, "train.steps"),
                       json_number(j, "timing.seconds"), json_number(j, "timing.eval_seconds")};
    tg_json_free(j);
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

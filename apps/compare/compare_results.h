/* The numbers of every run of a compare output directory, read back from
 * the runs' results.json files (pretrain_run.h, finetune_run.h), so a
 * report made after a resumed or skipped run reads what one made at once
 * would. A file must hold every number the report reads; a null (NaN) is
 * accepted where a number may be undefined (match rates of MoCo-v2, the
 * step time of a one-step run), never for the mIoU. */
#ifndef APPS_COMPARE_RESULTS_H
#define APPS_COMPARE_RESULTS_H

#include "compare_config.h"

/* One fine-tuning or probe. */
typedef struct {
    double miou, things_miou, pixel_acc; /* on the test split */
    double steps, seconds, eval_seconds;
} compare_seg;

/* One pretraining: its scale, times, and its last epoch's means. */
typedef struct {
    double images, steps, steps_per_epoch, warmup_steps, grid;
    double seconds, seconds_per_step, img_s;
    double loss, loss_global, loss_dense, top1_global, top1_dense, match_exact, match_near;
} compare_pretrain;

typedef struct {
    long seeds;
    compare_pretrain pretrain[ARMS]; /* ARM_MOCOV2 and ARM_DENSECL */
    compare_seg *seg;                /* ARMS x EVALS x seeds, see compare_seg_at */
} compare_results;

/* Reads every run of the output directory out. 0, or -1 after printing
 * why (a run without its results.json, or one whose file lacks a number:
 * "compare: D/ft_random_seed0/results.json has no "test.miou", which the
 * report needs"). */
int compare_results_read(compare_results *r, const char *out, long seeds);
void compare_results_free(compare_results *r);

compare_seg *compare_seg_at(const compare_results *r, compare_arm arm, compare_eval e, long seed);

#endif

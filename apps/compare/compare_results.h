/* The numbers of every run of a compare output directory, read back from
 * the runs' results.json files (pretrain_run.h, finetune_run.h), so a
 * report made after a resumed or skipped run reads what one made at once
 * would: the pretrainings, the fine-tunings and probes of every arm, and
 * those of the length study, from the pretrainings' snapshots. A file must
 * hold every number the report reads; a null (NaN) is accepted where a
 * number may be undefined (match rates of MoCo-v2, the step time of a
 * one-step run), never for the mIoU. */
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

/* The pretrained arms, those of the length study. */
#define PRETRAINED_ARMS 2

typedef struct {
    long seeds;
    compare_pretrain pretrain[ARMS]; /* ARM_MOCOV2 and ARM_DENSECL */
    compare_seg *seg;                /* ARMS x EVALS x seeds, see compare_seg_at */
    /* The length study: its lengths, then the whole length (the main runs):
     * the fraction of the pretraining's iterations and how many they are. */
    int lengths; /* the study's fractions (0: no study) */
    double fraction[FRACTIONS_MAX + 1], iterations[FRACTIONS_MAX + 1];
    compare_seg *length_seg; /* lengths x PRETRAINED_ARMS x EVALS x seeds, see compare_length_seg */
} compare_results;

/* Reads every run of c's output directory. 0, or -1 after printing why (a
 * run without its results.json, or one whose file lacks a number:
 * "compare: D/ft_random_seed0/results.json has no "test.miou", which the
 * report needs"). */
int compare_results_read(compare_results *r, const compare_config *c);
void compare_results_free(compare_results *r);

/* One pretraining's numbers (pretrain_<arm>/results.json). 0, or -1 after
 * printing why. */
int compare_pretrain_read(compare_pretrain *p, const char *out, compare_arm arm);

compare_seg *compare_seg_at(const compare_results *r, compare_arm arm, compare_eval e, long seed);
/* The run of a pretrained arm at length l of the study: l < lengths the
 * one from the snapshot at fraction[l], l == lengths the main run. */
const compare_seg *compare_length_seg(const compare_results *r, int l, compare_arm arm, compare_eval e, long seed);

#endif

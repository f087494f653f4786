/* FCN fine-tuning (or the frozen-backbone probe) as one function, so that
 * the finetune_seg program and the compare program run the same code: a
 * config in, the test scores and times out.
 *
 * The FCN (seg_model.h) starts from a torchvision-named backbone file or
 * from random init, trains with SGD on a poly schedule per step over the
 * training split (seg_data.h) and is scored on the test split (seg_eval.h).
 *
 * The output directory (train/run.h) receives
 *   log.jsonl               every log_every steps and at each epoch's end:
 *                           step, epoch, lr, loss terms, pixel accuracy
 *   checkpoint.safetensors  each epoch, on Ctrl-C and at stop_after_*
 *   fcn.safetensors         the final weights, mmseg names
 *   results.json            config, steps, test scores, and on its own
 *                           "timing" line the times
 * A resumed run ends with bitwise the same files as one that never
 * stopped, apart from times. */
#ifndef APPS_FINETUNE_RUN_H
#define APPS_FINETUNE_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "seg_data.h"
#include "seg_model.h"

typedef struct {
    seg_data_opts data;
    backbone_arch arch;
    const char *backbone;  /* torchvision-named safetensors; NULL: random init */
    bool non_strict;       /* load the keys the backbone file shares, list the rest */
    bool frozen;           /* the frozen-backbone probe: train the heads only */
    long epochs, batch, seed, workers, log_every;
    long eval_batch;       /* test images a forward; 0: the dataset's */
    double lr, min_lr, power, momentum, weight_decay;
    const char *out;
    tg_train_start start;  /* new, --resume or --overwrite */
    long stop_after_epoch, stop_after_step; /* save and stop there (0: no) */
} finetune_config;

typedef struct {
    int64_t steps, steps_per_epoch;
    tg_seg_scores test;    /* mIoU, things-mIoU, pixel accuracy on the test split */
    double seconds;        /* wall time of the training, over every resumed part */
    double eval_seconds;   /* wall time of the test evaluation */
} finetune_result;

/* The protocol's defaults (docs/protocol.md sections 11 and 14): SGD lr
 * 0.01, momentum 0.9, weight decay 5e-4, poly schedule (power 0.9, down to
 * 1e-4) per step, batch 32, 40 epochs; ShapeScenes 500 training and 1000
 * test images at 64 px; ResNet-18, small stem, width 0.25. */
finetune_config finetune_defaults(void);

/* Runs (or resumes) the fine-tuning c describes. TG_TRAIN_DONE when every
 * step is done (r filled, fcn.safetensors and results.json written),
 * TG_TRAIN_STOPPED or TG_TRAIN_INTERRUPTED when stopped early
 * (stop_after_*, Ctrl-C) with the checkpoint saved (train/loop.h), -1
 * after printing why. */
int finetune_run(const finetune_config *c, finetune_result *r);

#endif

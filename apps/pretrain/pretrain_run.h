/* MoCo-v2 or DenseCL pretraining as one function, so that the pretrain
 * program and the compare program run the same code: a config in, the
 * run's numbers out.
 *
 * The data are unlabeled: ShapeScenes' pretrain split (rendered on the
 * fly; it cannot produce a mask), the images of a VOC split, or a folder
 * of images; masks are never read. Each step takes a batch of two views
 * (data/pipelines.h), runs tg_contrastive_step, backward and SGD with the
 * learning rate on a cosine per step and lambda 0 for the first `warmup`
 * share of the steps.
 *
 * The output directory (train/run.h) receives
 *   log.jsonl               every log_every steps and at each epoch's end:
 *                           step, epoch, lr, lambda, L_g, L_d, the weighted
 *                           terms, global and dense top-1, how often the
 *                           argmax matching finds the cell the crop geometry
 *                           says is right (exactly, within one cell), img/s
 *   checkpoint.safetensors  each epoch, on Ctrl-C, at stop_after_* and at
 *                           each snapshot's iteration
 *   backbone.safetensors    the query backbone, torchvision names
 *   backbone_iter<N>.safetensors   with snapshots: the query backbone as
 *                           it was after iteration N = round(f x total)
 *                           for each fraction f (the same format), written
 *                           once, right after the checkpoint at N, so a
 *                           run stopped before N writes it when it passes
 *                           N and one stopped after keeps it
 *   results.json            config, scale, the snapshots, the last epoch's
 *                           means, and on its own "timing" line the times
 * A resumed run ends with bitwise the same files as one that never
 * stopped, apart from times, snapshots included. An overwrite removes the
 * old run's snapshots, whatever their iterations, with its other outputs
 * (train/run.h). */
#ifndef APPS_PRETRAIN_RUN_H
#define APPS_PRETRAIN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backbone_arch.h"
#include "fractions.h"

typedef struct {
    const char *method;       /* "mocov2" or "densecl" */
    const char *voc, *folder; /* image roots; neither: ShapeScenes */
    const char *voc_split;    /* the VOC split whose images are used */
    long images, size, data_seed; /* ShapeScenes: pretrain images, side, content seed */
    bool single;              /* ShapeScenes' single-object control variant */
    bool tolerate_corrupt;    /* --voc, --folder: decode what can be decoded of a corrupt image */
    backbone_arch arch;            /* stem NULL: small for ShapeScenes, standard otherwise */
    long epochs, batch, queue, bn_groups, seed;
    double moco_momentum, lr, weight_decay, momentum, tau, lambda, warmup;
    long workers, log_every;
    fraction_list snapshots; /* the backbone saved at these fractions of the iterations (n 0: none) */
    const char *out;
    tg_train_start start;  /* new, --resume or --overwrite */
    long stop_after_epoch, stop_after_step; /* save and stop there (0: no) */
} pretrain_config;

/* Means over the steps of an epoch (or of one step). */
typedef struct {
    double loss, loss_global, loss_dense, weighted_global, weighted_dense, lambda;
    double top1_global, top1_dense;
    double match_exact, match_near; /* shares of the query cells whose true key cell is in view; NaN for MoCo-v2 */
} pretrain_stats;

typedef struct {
    int64_t steps, steps_per_epoch, grid; /* steps done; a pass; the C5 grid side S */
    pretrain_stats last_epoch;            /* the last finished epoch's means */
    double seconds;                       /* wall time of the training, over every resumed part */
    double seconds_per_step;              /* mean step time, the first step of each part left out */
    double images_per_second;
    char backbone[TG_TRAIN_PATH_MAX];        /* the exported backbone */
} pretrain_result;

/* The full preset (ShapeScenes 8000 images at 64 px, ResNet-18 at width
 * 0.25 with the small stem, 75 epochs, batch 256, K 4096, m 0.99, lr 0.06,
 * wd 1e-4, tau 0.2, lambda 0.5 after a 2% warm-up, 8 BN groups) with
 * method DenseCL. */
pretrain_config pretrain_defaults(void);

/* "backbone_iter<step>.safetensors" into buf: the snapshot after step. */
void pretrain_snapshot_name(int64_t step, char *buf, size_t size);

/* Runs (or resumes) the pretraining c describes. TG_TRAIN_DONE when every
 * step is done (r filled, backbone and results.json written),
 * TG_TRAIN_STOPPED or TG_TRAIN_INTERRUPTED when stopped early
 * (stop_after_*, Ctrl-C) with the checkpoint saved (train/loop.h), -1
 * after printing why. */
int pretrain_run(const pretrain_config *c, pretrain_result *r);

#endif

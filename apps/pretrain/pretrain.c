/* pretrain: MoCo-v2 or DenseCL self-supervised pretraining of a ResNet
 * (docs/protocol.md sections 2-10), on ShapeScenes by default (no
 * download), or on the images of a VOC split or of a folder.
 *
 *   pretrain --method densecl --out runs/densecl          # the full preset
 *   pretrain --method mocov2 --out runs/moco --epochs 2   # shorter
 *   pretrain --out runs/densecl --resume                  # after Ctrl-C
 *   finetune_seg --backbone runs/densecl/backbone.safetensors --out runs/fcn
 *
 * --stem is small (3x3 stride 1, no max-pool: a C5 grid of size/8) for
 * ShapeScenes and standard for --voc and --folder unless given. OUT
 * receives log.jsonl, checkpoint.safetensors (each epoch and on Ctrl-C),
 * backbone.safetensors (the query backbone, torchvision names),
 * with --snapshots 0.25,0.5 the backbone as it was a quarter and half way
 * through (backbone_iter<N>.safetensors, N = round(f x iterations)), and
 * results.json (see pretrain_run.h). --resume continues with bitwise the
 * same numbers as a run that never stopped, whatever --threads and
 * --workers. An OUT holding another run is refused unless --resume or
 * --overwrite is given, and one in use by a running program always is.
 *
 * Exit status: 0 when the run is done or stopped where --stop-after-*
 * asked, 130 after Ctrl-C or SIGTERM (the checkpoint saved), 1 when it
 * failed, 2 for bad flags. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "pretrain_run.h"
#include "tensorgrad.h"

#define ABOUT \
    "pretrain: MoCo-v2 or DenseCL pretraining; writes the backbone for finetune_seg\n" \
    "(--stem unless given: small for ShapeScenes, standard for --voc and --folder)"

static int parse_options(int argc, char **argv, pretrain_config *c)
{
    long threads = 0;
    bool resume = false, overwrite = false;
    const char *snapshots = "none";
    const tg_train_flag own[] = {
        {"method", TG_FLAG_STRING, &c->method, 0, 0, "mocov2 or densecl"},
        {"voc", TG_FLAG_STRING, &c->voc, 0, 0, "PASCAL VOC root: pretrain on a split's images (instead of ShapeScenes)"},
        {"voc-split", TG_FLAG_STRING, &c->voc_split, 0, 0, "the VOC split whose images are used"},
        {"folder", TG_FLAG_STRING, &c->folder, 0, 0, "a folder of images (instead of ShapeScenes)"},
        {"tolerate-corrupt-images", TG_FLAG_BOOL, &c->tolerate_corrupt, 0, 0,
         "--voc, --folder: decode what can be decoded of a truncated or corrupt image (default: refuse it)"},
        {"images", TG_FLAG_LONG, &c->images, 1, 1e7, "ShapeScenes pretraining images"},
        {"size", TG_FLAG_LONG, &c->size, 8, 1024, "view side in pixels (and ShapeScenes' image side)"},
        {"data-seed", TG_FLAG_LONG, &c->data_seed, 0, 2147483647.0, "ShapeScenes content seed"},
        {"single", TG_FLAG_BOOL, &c->single, 0, 0, "ShapeScenes' single-object control variant"},
        {"epochs", TG_FLAG_LONG, &c->epochs, 1, 1e6, "passes over the images"},
        {"batch", TG_FLAG_LONG, &c->batch, 1, 65536, "images a step (divides --queue, a multiple of --bn-groups)"},
        {"queue", TG_FLAG_LONG, &c->queue, 1, 1e8, "K, keys in each queue"},
        {"moco-momentum", TG_FLAG_DOUBLE, &c->moco_momentum, 0, 1, "m, the key encoder's momentum"},
        {"lr", TG_FLAG_DOUBLE, &c->lr, 0, 10, "base learning rate (cosine per step, to 0)"},
        {"wd", TG_FLAG_DOUBLE, &c->weight_decay, 0, 1, "SGD weight decay"},
        {"momentum", TG_FLAG_DOUBLE, &c->momentum, 0, 1, "SGD momentum"},
        {"tau", TG_FLAG_DOUBLE, &c->tau, 1e-6, 100, "temperature of both losses"},
        {"lambda", TG_FLAG_DOUBLE, &c->lambda, 0, 1, "DenseCL: weight of the dense loss"},
        {"warmup", TG_FLAG_DOUBLE, &c->warmup, 0, 1, "share of the steps with lambda 0"},
        {"bn-groups", TG_FLAG_LONG, &c->bn_groups, 1, 4096, "split-BN groups (shuffle BN on one device)"},
        {"seed", TG_FLAG_LONG, &c->seed, 0, 2147483647.0, "initialisation, data order, views and key shuffles"},
        {"threads", TG_FLAG_LONG, &threads, 0, 1024, "compute threads (0: all cores)"},
        {"workers", TG_FLAG_LONG, &c->workers, 0, 64, "data loading threads"},
        {"log-every", TG_FLAG_LONG, &c->log_every, 1, 1e9, "steps between log lines"},
        {"snapshots", TG_FLAG_STRING, &snapshots, 0, 0,
         "also save the backbone at these fractions of the iterations, in (0, 1), increasing (0.25,0.5: "
         "backbone_iter<N>.safetensors after iteration N = round(f x iterations)), or none"},
        {"out", TG_FLAG_STRING, &c->out, 0, 0, "output directory"},
        {"resume", TG_FLAG_BOOL, &resume, 0, 0, "continue the run in OUT from its checkpoint.safetensors"},
        {"overwrite", TG_FLAG_BOOL, &overwrite, 0, 0, "start over in an OUT that holds another run (replaced at the "
                                                      "first checkpoint)"},
        {"stop-after-epoch", TG_FLAG_LONG, &c->stop_after_epoch, 0, 1e6, "save and stop after this epoch (0: no)"},
        {"stop-after-step", TG_FLAG_LONG, &c->stop_after_step, 0, 1e9, "save and stop after this step (0: no)"},
    };
    tg_train_flag flags[TG_FLAG_COUNT(own) + BACKBONE_ARCH_FLAGS];
    memcpy(flags, own, sizeof own);
    int n = TG_FLAG_COUNT(own) + backbone_arch_flags(&c->arch, flags + TG_FLAG_COUNT(own));
    int rc = app_parse_flags(argc, argv, flags, n, ABOUT);
    if (rc) return rc;
    if (fractions_parse(snapshots, &c->snapshots, "snapshots", "pretrain") ||
        app_start_mode(resume, overwrite, &c->start, "pretrain"))
        return -1;
    return app_set_threads(threads);
}

int main(int argc, char **argv)
{
    pretrain_config c = pretrain_defaults();
    int rc = parse_options(argc, argv, &c);
    if (rc) return rc > 0 ? 0 : 2;
    if (app_join_job(&argc, &argv, "pretrain")) return 1;
    pretrain_result r;
    return app_leave_job(tg_train_exit_status(pretrain_run(&c, &r)), "pretrain");
}

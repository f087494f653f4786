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
 * receives log.jsonl, checkpoint.safetensors (each epoch and on Ctrl-C,
 * which saves and exits 0), backbone.safetensors (the query backbone,
 * torchvision names) and results.json (see pretrain_run.h). --resume
 * continues with bitwise the same numbers as a run that never stopped,
 * whatever --threads and --workers. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pretrain_run.h"
#include "tensorgrad.h"

#define ABOUT \
    "pretrain: MoCo-v2 or DenseCL pretraining; writes the backbone for finetune_seg\n" \
    "(--stem unless given: small for ShapeScenes, standard for --voc and --folder)"

static int parse_options(int argc, char **argv, pretrain_config *c)
{
    long threads = 0;
    const cli_flag own[] = {
        {"method", CLI_STRING, &c->method, 0, 0, "mocov2 or densecl"},
        {"voc", CLI_STRING, &c->voc, 0, 0, "PASCAL VOC root: pretrain on a split's images (instead of ShapeScenes)"},
        {"voc-split", CLI_STRING, &c->voc_split, 0, 0, "the VOC split whose images are used"},
        {"folder", CLI_STRING, &c->folder, 0, 0, "a folder of images (instead of ShapeScenes)"},
        {"images", CLI_LONG, &c->images, 1, 1e7, "ShapeScenes pretraining images"},
        {"size", CLI_LONG, &c->size, 8, 1024, "view side in pixels (and ShapeScenes' image side)"},
        {"data-seed", CLI_LONG, &c->data_seed, 0, 2147483647.0, "ShapeScenes content seed"},
        {"single", CLI_BOOL, &c->single, 0, 0, "ShapeScenes' single-object control variant"},
        {"epochs", CLI_LONG, &c->epochs, 1, 1e6, "passes over the images"},
        {"batch", CLI_LONG, &c->batch, 1, 65536, "images a step (divides --queue, a multiple of --bn-groups)"},
        {"queue", CLI_LONG, &c->queue, 1, 1e8, "K, keys in each queue"},
        {"moco-momentum", CLI_DOUBLE, &c->moco_momentum, 0, 1, "m, the key encoder's momentum"},
        {"lr", CLI_DOUBLE, &c->lr, 0, 10, "base learning rate (cosine per step, to 0)"},
        {"wd", CLI_DOUBLE, &c->weight_decay, 0, 1, "SGD weight decay"},
        {"momentum", CLI_DOUBLE, &c->momentum, 0, 1, "SGD momentum"},
        {"tau", CLI_DOUBLE, &c->tau, 1e-6, 100, "temperature of both losses"},
        {"lambda", CLI_DOUBLE, &c->lambda, 0, 1, "DenseCL: weight of the dense loss"},
        {"warmup", CLI_DOUBLE, &c->warmup, 0, 1, "share of the steps with lambda 0"},
        {"bn-groups", CLI_LONG, &c->bn_groups, 1, 4096, "split-BN groups (shuffle BN on one device)"},
        {"seed", CLI_LONG, &c->seed, 0, 2147483647.0, "initialisation, data order, views and key shuffles"},
        {"threads", CLI_LONG, &threads, 0, 1024, "compute threads (0: all cores)"},
        {"workers", CLI_LONG, &c->workers, 0, 64, "data loading threads"},
        {"log-every", CLI_LONG, &c->log_every, 1, 1e9, "steps between log lines"},
        {"out", CLI_STRING, &c->out, 0, 0, "output directory"},
        {"resume", CLI_BOOL, &c->resume, 0, 0, "continue from OUT/checkpoint.safetensors"},
        {"stop-after-epoch", CLI_LONG, &c->stop_after_epoch, 0, 1e6, "save and stop after this epoch (0: no)"},
        {"stop-after-step", CLI_LONG, &c->stop_after_step, 0, 1e9, "save and stop after this step (0: no)"},
    };
    cli_flag flags[CLI_COUNT(own) + SEG_ARCH_FLAGS];
    memcpy(flags, own, sizeof own);
    int n = CLI_COUNT(own) + seg_arch_flags(&c->arch, flags + CLI_COUNT(own));
    int rc = cli_parse(argc, argv, flags, n, ABOUT);
    return rc ? rc : cli_set_threads(threads);
}

int main(int argc, char **argv)
{
    pretrain_config c = pretrain_defaults();
    int rc = parse_options(argc, argv, &c);
    if (rc) return rc > 0 ? 0 : 2;
    pretrain_result r;
    return pretrain_run(&c, &r) < 0 ? 1 : 0;
}

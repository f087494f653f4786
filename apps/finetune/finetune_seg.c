/* finetune_seg: FCN semantic segmentation fine-tuned from a pretrained
 * backbone, or from random init, as DenseCL's mmseg protocol does
 * (docs/protocol.md sections 11 and 14), then scored on the test split.
 *
 *   finetune_seg --out runs/densecl_s0 --backbone densecl_backbone.safetensors
 *   finetune_seg --out runs/probe --backbone b.safetensors --frozen   # the frozen-backbone probe
 *   finetune_seg --out runs/densecl_s0 --resume                        # after Ctrl-C
 *
 * The backbone file holds torchvision names ("conv1.weight",
 * "layer1.0.bn1.running_mean"; tools/convert_checkpoint.py makes one from
 * an official DenseCL or MoCo checkpoint); it must match exactly unless
 * --non-strict, which loads the keys both have and lists the others.
 * Protocol defaults: SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly
 * schedule (power 0.9, down to 1e-4) per step, batch 32, 40 epochs,
 * ShapeScenes 500 training images and 1000 test images at 64 px.
 *
 * --out DIR receives log.jsonl (a line every --log-every steps and one per
 * epoch), checkpoint.safetensors (each epoch, on Ctrl-C and at
 * --stop-after-epoch/--stop-after-step), fcn.safetensors (the final
 * weights, mmseg names) and results.json (config, test scores and, on its
 * own "timing" line, the times). The run itself is finetune_run.h. Ctrl-C
 * saves and exits 130; --resume continues with bitwise the same numbers
 * as a run that never stopped, whatever --threads and --workers. An OUT
 * holding another run is refused unless --resume or --overwrite is given,
 * and one in use by a running program always is.
 *
 * Exit status: 0 when the run is done or stopped where --stop-after-*
 * asked, 130 after Ctrl-C or SIGTERM (the checkpoint saved), 1 when it
 * failed, 2 for bad flags. */
#include <stdio.h>

#include "app.h"
#include "finetune_run.h"

#define ABOUT "finetune_seg: FCN fine-tuning (or the frozen-backbone probe) and its test scores"

static int parse_options(int argc, char **argv, finetune_config *o)
{
    bool resume = false, overwrite = false;
    const tg_train_flag own[] = {
        {"out", TG_FLAG_STRING, &o->out, 0, 0, "output directory"},
        {"backbone", TG_FLAG_STRING, &o->backbone, 0, 0, "torchvision-named safetensors backbone (none: random init)"},
        {"non-strict", TG_FLAG_BOOL, &o->non_strict, 0, 0, "load the keys the backbone file shares, list the rest"},
        {"frozen", TG_FLAG_BOOL, &o->frozen, 0, 0, "frozen-backbone probe: train the heads only"},
        {"epochs", TG_FLAG_LONG, &o->epochs, 1, 1e6, "passes over the training images"},
        {"batch", TG_FLAG_LONG, &o->batch, 1, 4096, "images a step"},
        {"lr", TG_FLAG_DOUBLE, &o->lr, 0, 10, "base learning rate (poly schedule)"},
        {"min-lr", TG_FLAG_DOUBLE, &o->min_lr, 0, 10, "the schedule's floor"},
        {"power", TG_FLAG_DOUBLE, &o->power, 0, 10, "poly power"},
        {"momentum", TG_FLAG_DOUBLE, &o->momentum, 0, 1, "SGD momentum"},
        {"weight-decay", TG_FLAG_DOUBLE, &o->weight_decay, 0, 1, "SGD weight decay"},
        {"seed", TG_FLAG_LONG, &o->seed, 0, 2147483647.0, "initialisation, dropout and data order"},
        {"workers", TG_FLAG_LONG, &o->workers, 0, 64, "data loading threads"},
        {"log-every", TG_FLAG_LONG, &o->log_every, 1, 1e9, "steps between log lines"},
        {"eval-batch", TG_FLAG_LONG, &o->eval_batch, 0, 4096, "test images a forward (0: 32, 1 for VOC/Cityscapes)"},
        {"resume", TG_FLAG_BOOL, &resume, 0, 0, "continue the run in OUT from its checkpoint.safetensors"},
        {"overwrite", TG_FLAG_BOOL, &overwrite, 0, 0, "start over in an OUT that holds another run (replaced at the "
                                                      "first checkpoint)"},
        {"stop-after-epoch", TG_FLAG_LONG, &o->stop_after_epoch, 0, 1e6, "save and stop after this epoch (0: no)"},
        {"stop-after-step", TG_FLAG_LONG, &o->stop_after_step, 0, 1e9, "save and stop after this step (0: no)"},
    };
    int rc = seg_cli_parse(argc, argv, &o->data, true, &o->arch, own, TG_FLAG_COUNT(own), ABOUT);
    if (rc) return rc;
    return app_start_mode(resume, overwrite, &o->start, "finetune_seg") ||
                   app_check_lr_floor("min-lr", o->min_lr, "lr", o->lr, "finetune_seg")
               ? -1
               : 0;
}

int main(int argc, char **argv)
{
    finetune_config c = finetune_defaults();
    int rc = parse_options(argc, argv, &c);
    if (rc) return rc > 0 ? 0 : 2;
    if (app_join_job(&argc, &argv, "finetune_seg")) return 1;
    finetune_result r;
    return app_leave_job(tg_train_exit_status(finetune_run(&c, &r)), "finetune_seg");
}

/* The FCN the segmentation programs train and evaluate (models/fcn.h):
 * mmseg's FCN settings over a ResNet chosen by --depth, --width and
 * --stem. The default is the ShapeScenes preset: ResNet-18, small-input
 * stem (3x3 stride 1, no max-pool: output stride 8 undilated, a C5 grid of
 * size/8), width 0.25 (channels 16-32-64-128, docs/protocol.md section 14: at 64 px
 * a fine-tuning takes 2-3 minutes on 2 cores, width 0.5 twice that). A
 * standard stem (VOC, Cityscapes, torchvision weights) is dilated to
 * output stride 8 as mmseg's "d8". */
#ifndef APPS_SEG_MODEL_H
#define APPS_SEG_MODEL_H

#include "backbone_arch.h"
#include "seg_data.h"
#include "tensorgrad.h"

#define SEG_OWN_FLAGS 40 /* the most flags a program adds to seg_cli_parse's */

/* Parses argv against the data flags (the training ones too when
 * with_train), the architecture flags, --threads (set here) and the
 * program's own (n_own of them, at most SEG_OWN_FLAGS): app_parse_flags's
 * result, or -1 when the thread count cannot be set. */
int seg_cli_parse(int argc, char **argv, seg_data_opts *data, bool with_train, backbone_arch *arch, const tg_train_flag *own,
                  int n_own, const char *about);

/* The FCN for d's classes; frozen: the frozen-backbone probe. seed draws
 * the backbone's and the heads' initial weights and the dropout masks.
 * NULL after printing why. */
tg_module *seg_model_new(const backbone_arch *a, const seg_data *d, bool frozen, uint64_t seed);

#endif

/* The FCN the segmentation programs train and evaluate (models/fcn.h):
 * mmseg's FCN settings over a ResNet chosen by --depth, --width and
 * --stem. The default is the ShapeScenes preset: ResNet-18, small-input
 * stem (3x3 stride 1, no max-pool: output stride 8 undilated, a C5 grid of
 * size/8), width 0.25 (channels 16-32-64-128, shapescenes.md 4: at 64 px
 * a fine-tuning takes 2-3 minutes on 2 cores, width 0.5 twice that). A
 * standard stem (VOC, Cityscapes, torchvision weights) is dilated to
 * output stride 8 as mmseg's "d8". */
#ifndef EXAMPLES_SEG_MODEL_H
#define EXAMPLES_SEG_MODEL_H

#include <jansson.h>

#include "cli.h"
#include "seg_data.h"
#include "tensorgrad.h"

#define SEG_ARCH_FLAGS 3
#define SEG_OWN_FLAGS 40 /* the most flags a program adds to seg_cli_parse's */

typedef struct {
    long depth;
    double width;
    const char *stem; /* "small" or "standard" */
} seg_arch;

seg_arch seg_arch_defaults(void);
/* Appends --depth, --width and --stem to table; returns SEG_ARCH_FLAGS. */
int seg_arch_flags(seg_arch *a, cli_flag *table);

/* Parses argv against the data flags (the training ones too when
 * with_train), the architecture flags, --threads (set here) and the
 * program's own (n_own of them, at most SEG_OWN_FLAGS): cli_parse's
 * result, or -1 when the thread count cannot be set. */
int seg_cli_parse(int argc, char **argv, seg_data_opts *data, bool with_train, seg_arch *arch, const cli_flag *own,
                  int n_own, const char *about);

/* The FCN for d's classes; frozen: the frozen-backbone probe. seed draws
 * the backbone's and the heads' initial weights and the dropout masks.
 * NULL after printing why. */
tg_module *seg_model_new(const seg_arch *a, const seg_data *d, bool frozen, uint64_t seed);

/* config with "depth":..,"width":..,"stem":.., for a run's config; a chain
 * step as in out_files.h. */
json_t *seg_arch_config(const seg_arch *a, json_t *config);

#endif

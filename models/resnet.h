/* ResNet-18/34/50 as torchvision builds them (BasicBlock; Bottleneck with
 * the stride on its 3x3, "v1.5"), with the options DenseCL and the FCN
 * protocol need. Parameter names match torchvision's state_dict, so weights
 * move both ways. */
#ifndef TG_RESNET_H
#define TG_RESNET_H

#include "nn/init.h"
#include "nn/module.h"
#include "tensor/export.h"

typedef struct tg_resnet_opts {
    int depth;               /* 18, 34 or 50 */
    int64_t num_classes;     /* > 0: avgpool + fc head; 0: no head, forward gives C5 */
    double width;            /* channel multiplier; 0 means 1 (64 channels in the stem) */
    bool small_stem;         /* 3x3 stride-1 stem, no max-pool (small inputs) */
    bool dilate;             /* stages 3-4 dilated instead of strided: output stride 8 */
    bool zero_init_residual; /* last BN of each block starts at weight 0 */
    tg_fan_mode conv_fan;    /* kaiming normal fan for convs: TG_FAN_OUT (torchvision) or TG_FAN_IN (mmcv) */
    int bn_groups;           /* > 1: split BN in training (MoCo's shuffle BN on one device) */
    bool sync_bn;            /* SyncBN: training statistics over every rank's batch (nn/layers.h); bn_groups 1 */
    uint64_t seed;           /* initialisation */
} tg_resnet_opts;

/* A ResNet with torchvision's parameter names, initialised from opts.seed.
 * NULL with an error on bad options. */
TG_API tg_module *tg_resnet_new(tg_resnet_opts opts);
/* Runs the backbone; *c4 (may be NULL: not returned) and *c5 get stage 3's
 * and stage 4's outputs, as op results: the caller's scope holds them
 * (autograd/scope.h), or the caller outside any scope. */
TG_API int tg_resnet_features(tg_module *m, tg_tensor *x, tg_tensor **c4, tg_tensor **c5);
/* Channels of stage 1 to 4 (C4: 3, C5: 4) for these options; -1 with an
 * error for another stage. */
TG_API int64_t tg_resnet_channels(tg_resnet_opts opts, int stage);

#endif

/* FCN semantic segmentation as DenseCL's mmseg configs build it
 * (docs/protocol.md section 11): a ResNet backbone with output stride 8, mmseg's
 * FCNHead on C5 and, optionally, an auxiliary FCNHead on C4.
 *
 *   decode_head     num_convs x (3x3 conv - BN - ReLU, c channels); with
 *                   concat_input, cat([C5, that]) -> 3x3 conv - BN - ReLU;
 *                   Dropout2d; 1x1 conv to the classes
 *   auxiliary_head  one 3x3 conv - BN - ReLU, no concat; Dropout2d; 1x1 conv
 *
 * Logits are resized bilinearly to the input's size; the loss is
 * cross-entropy with ignore index 255, decode + aux_weight * aux.
 *
 * State-dict names are mmseg's: the backbone's torchvision names under
 * "backbone." ("backbone.layer1.0.conv1.weight"), the heads as FCNHead
 * registers them ("decode_head.conv_seg.weight", "decode_head.convs.0.conv.weight",
 * "decode_head.convs.0.bn.running_mean", "decode_head.conv_cat.conv.weight",
 * "auxiliary_head.convs.0.bn.weight"), so a pretrained backbone is loaded
 * by loading the backbone module alone. Convs of the heads start as mmcv's
 * ConvModule (Kaiming normal, fan_out, no bias; BN 1 and 0), the
 * classifiers as N(0, 0.01) with zero bias. backbone.sync_bn makes every
 * batch norm, the heads' too, a SyncBN (mmseg's norm_cfg SyncBN). */
#ifndef TG_FCN_H
#define TG_FCN_H

#include "models/resnet.h"
#include "tensor/export.h"

#define TG_SEG_IGNORE 255 /* the label no loss or metric counts (VOC's boundary, padding) */

typedef struct tg_fcn_opts {
    tg_resnet_opts backbone; /* num_classes must be 0 */
    int64_t num_classes;
    int64_t channels;     /* decode head width; 0: C5 channels / 4 (mmseg: 512 for R50, 128 for R18) */
    int num_convs;        /* >= 1 (mmseg: 2) */
    bool concat_input;    /* mmseg: true */
    float dropout;        /* Dropout2d before each classifier (mmseg: 0.1) */
    bool aux_head;        /* the auxiliary head on C4 */
    int64_t aux_channels; /* 0: C4 channels / 4 (mmseg: 256 for R50, 64 for R18) */
    float aux_weight;     /* mmseg: 0.4 */
    bool align_corners;   /* of the bilinear resize: false for VOC, true for Cityscapes */
    /* false (mmseg, and the DenseCL fork's v0.11): the loss is averaged over
     * every label pixel, ignored ones counting 0; true: over the labelled
     * pixels only (PyTorch's cross_entropy; mmseg's later avg_non_ignore). */
    bool avg_non_ignore;
    /* The frozen-backbone probe: backbone parameters never require grad,
     * the backbone runs without recording and always in eval mode (its BN
     * uses and keeps its running statistics), and tg_fcn_parameters leaves
     * it out. */
    bool frozen_backbone;
    uint64_t seed; /* the heads' initialisation and dropout masks */
} tg_fcn_opts;

/* mmseg's FCN settings for num_classes over this backbone: two convs, concat,
 * dropout 0.1, the auxiliary head with weight 0.4, align_corners false,
 * avg_non_ignore false. Output stride 8: a standard-stem backbone gets
 * dilate (stride 8 by dilation, as "d8"); a small-stem one is left
 * undilated, its stride being 8 already. */
TG_API tg_fcn_opts tg_fcn_default_opts(tg_resnet_opts backbone, int64_t num_classes);

/* The FCN opts describes (NULL with an error on bad options), and the
 * options an FCN was built with (NULL if m is not one). */
TG_API tg_module *tg_fcn_new(tg_fcn_opts opts);
TG_API const tg_fcn_opts *tg_fcn_options(const tg_module *m);

/* Logits (N, classes, H, W) at x's size; *aux_logits (aux_logits may be
 * NULL: not computed) gets the auxiliary head's, or NULL without one. In
 * training mode dropout is drawn and BN uses batch statistics (except a
 * frozen backbone's). tg_module_forward(m, x) gives the logits alone.
 * Like op results, the outputs are the caller's scope's (autograd/scope.h),
 * or the caller's outside any scope; so are tg_fcn_loss's and
 * tg_fcn_predict's. */
TG_API int tg_fcn_forward(tg_module *m, tg_tensor *x, tg_tensor **logits, tg_tensor **aux_logits);

/* What a loss is made of, as plain numbers for logs. */
typedef struct tg_fcn_loss_terms {
    double loss;       /* decode + aux_weight * aux */
    double decode;     /* the decode head's cross-entropy */
    double aux;        /* the auxiliary head's, unweighted (0 without one) */
    double acc;        /* pixel accuracy of logits over labelled pixels (NaN: none) */
    int64_t labelled;  /* pixels not ignored */
} tg_fcn_loss_terms;

/* The training loss of logits and aux_logits (NULL: none) against int64
 * labels (N, H, W) of the logits' size, 255 ignored. When every pixel is
 * ignored the loss is 0 (with a zero gradient), not NaN. terms may be NULL. */
TG_API tg_tensor *tg_fcn_loss(const tg_module *m, tg_tensor *logits, tg_tensor *aux_logits, tg_tensor *labels,
                              tg_fcn_loss_terms *terms);

/* int64 (N, H, W) labels: the argmax of the logits, in eval mode and
 * without recording; m's training mode is restored afterwards. */
TG_API tg_tensor *tg_fcn_predict(tg_module *m, tg_tensor *x);

/* The parameters an optimiser should update, under their state-dict names:
 * all of them, or the heads' alone with frozen_backbone. */
TG_API int tg_fcn_parameters(const tg_module *m, tg_tensor_list *out);

/* Loads a torchvision-named weights file (safetensors: "conv1.weight",
 * "layer1.0.bn1.running_mean", ...) into the backbone. strict: every key
 * must match both ways, else -1 naming the first mismatch and nothing is
 * changed. Not strict: the keys both have are loaded (a shape mismatch is
 * still an error), and the rest, which PyTorch's strict=False would drop
 * silently, are appended to missing (backbone keys the file lacks) and
 * unexpected (file keys the backbone lacks); either may be NULL. */
TG_API int tg_fcn_load_backbone(tg_module *m, const char *path, bool strict, tg_tensor_list *missing,
                                tg_tensor_list *unexpected);

#endif

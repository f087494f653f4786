/* FCN segmentation (see fcn.h): mmcv's ConvModule, mmseg's FCNHead, and
 * the segmentor that joins them to a ResNet: forward, loss, predict,
 * the frozen-backbone probe and backbone loading. */
#include "models/fcn.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "autograd/autograd.h"
#include "autograd/ops_nograd.h"
#include "autograd/scope.h"
#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "nn/metrics.h"
#include "tensor/internal/check.h"
#include "tensor/internal/reduce.h"

typedef struct {
    tg_module base;
    tg_fcn_opts opts;
} fcn_module;

static tg_module *child(const tg_module *m, const char *name) { return tg_module_child(m, name); }

/* ---- ConvModule: 3x3 conv (no bias) - BN - ReLU ---- */

static tg_tensor *conv_module_forward(tg_module *m, tg_tensor *x)
{
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_tensor *c = tg_module_forward(child(m, "conv"), x);
    return tg_scope_return(scope, tg_nn_batch_norm2d_relu_forward(child(m, "bn"), c));
}

static const tg_module_type conv_module_type = {.name = "ConvModule", .forward = conv_module_forward};

static tg_module *conv_module_new(int64_t in, int64_t out, bool sync_bn, tg_rng *rng)
{
    tg_module *m = tg_module_new(&conv_module_type, sizeof(tg_module));
    tg_module *conv = tg_nn_conv2d(in, out, 3, 3, (tg_conv2d_opts){.padding = {1, 1}}, false, rng);
    int rc = m && conv ? tg_init_kaiming_normal_(conv->params.items[0].tensor, rng, TG_FAN_OUT, sqrt(2.0)) : -1;
    if (!rc) {
        rc = tg_module_add_child(m, "conv", conv);
        conv = NULL;
    }
    if (!rc) rc = tg_module_add_child(m, "bn", tg_nn_batch_norm2d(out, &(tg_batch_norm_opts){.sync = sync_bn}));
    if (rc) {
        tg_module_free(conv);
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- FCNHead ---- */

typedef struct {
    tg_module base;
    bool concat_input;
} head_module;

static tg_tensor *head_forward(tg_module *m, tg_tensor *x)
{
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_tensor *h = tg_module_forward(child(m, "convs"), x);
    if (h && ((head_module *)m)->concat_input)
        h = tg_module_forward(child(m, "conv_cat"), tg_cat(2, (tg_tensor *[]){x, h}, 1));
    h = tg_module_forward(child(m, "dropout"), h);
    return tg_scope_return(scope, tg_module_forward(child(m, "conv_seg"), h));
}

static const tg_module_type head_type = {.name = "FCNHead", .forward = head_forward};

/* The classifier: 1x1 conv with bias, N(0, 0.01) and 0. */
static tg_module *classifier_new(int64_t in, int64_t classes, tg_rng *rng)
{
    tg_module *conv = tg_nn_conv2d(in, classes, 1, 1, (tg_conv2d_opts){0}, true, rng);
    int rc = conv ? tg_init_normal_(conv->params.items[0].tensor, rng, 0.0, 0.01) : -1;
    if (!rc) rc = tg_init_constant_(conv->params.items[1].tensor, 0.0);
    if (rc) {
        tg_module_free(conv);
        return NULL;
    }
    return conv;
}

/* mmseg registers conv_seg and dropout (BaseDecodeHead) before convs and
 * conv_cat (FCNHead): the state dict keeps that order. */
static tg_module *head_new(int64_t in, int64_t channels, int num_convs, bool concat, const tg_fcn_opts *o,
                           uint64_t dropout_seed, tg_rng *rng)
{
    head_module *h = (head_module *)tg_module_new(&head_type, sizeof *h);
    if (!h) return NULL;
    h->concat_input = concat;
    tg_module *m = &h->base, *convs = tg_nn_sequential();
    int rc = convs ? tg_module_add_child(m, "conv_seg", classifier_new(channels, o->num_classes, rng)) : -1;
    if (!rc) rc = tg_module_add_child(m, "dropout", tg_nn_dropout2d(o->dropout, dropout_seed));
    for (int k = 0; !rc && k < num_convs; k++)
        rc = tg_nn_sequential_append(convs, conv_module_new(k ? channels : in, channels, o->backbone.sync_bn, rng));
    if (!rc) rc = tg_module_add_child(m, "convs", convs);
    else tg_module_free(convs);
    if (!rc && concat)
        rc = tg_module_add_child(m, "conv_cat", conv_module_new(in + channels, channels, o->backbone.sync_bn, rng));
    if (rc) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- the segmentor ---- */

static tg_tensor *fcn_forward_logits(tg_module *m, tg_tensor *x)
{
    tg_tensor *logits = NULL;
    return tg_fcn_forward(m, x, &logits, NULL) ? NULL : logits;
}

static const tg_module_type fcn_type = {.name = "FCN", .forward = fcn_forward_logits};

tg_fcn_opts tg_fcn_default_opts(tg_resnet_opts backbone, int64_t num_classes)
{
    backbone.num_classes = 0;
    backbone.dilate = !backbone.small_stem;
    return (tg_fcn_opts){
        .backbone = backbone,
        .num_classes = num_classes,
        .num_convs = 2,
        .concat_input = true,
        .dropout = 0.1f,
        .aux_head = true,
        .aux_weight = 0.4f,
    };
}

static int check_opts(const tg_fcn_opts *o)
{
    if (o->backbone.num_classes != 0) return TG_FAIL("fcn: the backbone must have no classifier (num_classes 0)");
    if (o->num_classes < 1 || o->num_classes > TG_SEG_IGNORE)
        return TG_FAIL("fcn: %" PRId64 " classes; need 1 to %d", o->num_classes, TG_SEG_IGNORE);
    if (o->num_convs < 1) return TG_FAIL("fcn: num_convs %d; the head needs at least one conv", o->num_convs);
    if (o->channels < 0 || o->aux_channels < 0) return TG_FAIL("fcn: negative head channels");
    return 0;
}

static int add_heads(tg_module *m, const tg_fcn_opts *o)
{
    tg_rng rng = tg_rng_new(o->seed, 0);
    int64_t c5 = tg_resnet_channels(o->backbone, 4), c4 = tg_resnet_channels(o->backbone, 3);
    int64_t channels = o->channels ? o->channels : c5 / 4, aux_channels = o->aux_channels ? o->aux_channels : c4 / 4;
    /* Dropout streams: the heads' own seeds, apart from the init's stream. */
    int rc = tg_module_add_child(m, "decode_head",
                                 head_new(c5, channels, o->num_convs, o->concat_input, o, o->seed ^ 0x6465636fu, &rng));
    if (!rc && o->aux_head)
        rc = tg_module_add_child(m, "auxiliary_head",
                                 head_new(c4, aux_channels, 1, false, o, o->seed ^ 0x617578u, &rng));
    return rc;
}

tg_module *tg_fcn_new(tg_fcn_opts opts)
{
    if (check_opts(&opts)) return NULL;
    fcn_module *f = (fcn_module *)tg_module_new(&fcn_type, sizeof *f);
    if (!f) return NULL;
    f->opts = opts;
    tg_module *m = &f->base;
    int rc = tg_module_add_child(m, "backbone", tg_resnet_new(opts.backbone));
    if (!rc && opts.frozen_backbone) rc = tg_module_set_requires_grad(child(m, "backbone"), false);
    if (!rc) rc = add_heads(m, &opts);
    if (rc) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

const tg_fcn_opts *tg_fcn_options(const tg_module *m)
{
    if (TG_NEED("fcn_options", m)) return NULL;
    if (m->type == &fcn_type) return &((const fcn_module *)m)->opts;
    TG_FAIL("fcn: not an FCN module");
    return NULL;
}

/* C4 (when c4 is not NULL) and C5; a frozen backbone in eval mode, unrecorded. */
static int backbone_features(tg_module *m, const tg_fcn_opts *o, tg_tensor *x, tg_tensor **c4, tg_tensor **c5)
{
    tg_module *backbone = child(m, "backbone");
    if (!o->frozen_backbone) return tg_resnet_features(backbone, x, c4, c5);
    tg_module_train(backbone, false);
    tg_no_grad_enter();
    int rc = tg_resnet_features(backbone, x, c4, c5);
    tg_no_grad_exit();
    return rc;
}

/* A head's logits resized to x's height and width. */
static tg_tensor *head_logits(tg_module *head, tg_tensor *features, const tg_tensor *x, bool align_corners)
{
    tg_tensor *small = tg_module_forward(head, features);
    return small ? tg_upsample_bilinear(small, x->shape[2], x->shape[3], align_corners) : NULL;
}

int tg_fcn_forward(tg_module *m, tg_tensor *x, tg_tensor **logits, tg_tensor **aux_logits)
{
    const tg_fcn_opts *o = tg_fcn_options(m);
    if (logits) *logits = NULL;
    if (aux_logits) *aux_logits = NULL;
    if (!o || TG_NEED("fcn_forward", x, logits)) return -1;
    if (x->ndim != 4) return TG_FAIL("fcn: input must be (N, 3, H, W), got %d dims", x->ndim);
    bool aux = aux_logits && o->aux_head;
    int scope = tg_scope_begin();
    if (scope < 0) return -1;
    tg_tensor *c4 = NULL, *c5 = NULL, *decode = NULL, *auxiliary = NULL;
    if (!backbone_features(m, o, x, aux ? &c4 : NULL, &c5))
        decode = head_logits(child(m, "decode_head"), c5, x, o->align_corners);
    if (decode && aux) auxiliary = head_logits(child(m, "auxiliary_head"), c4, x, o->align_corners);
    bool ok = decode && (!aux || auxiliary);
    if (ok) *logits = tg_keep(decode);
    if (ok && aux) *aux_logits = tg_keep(auxiliary);
    tg_scope_end(scope);
    return ok ? 0 : -1;
}

/* ---- loss ---- */

/* Pixels of labels not ignored, and the fraction of them logits' argmax gets right. */
static int count_labelled(tg_tensor *logits, tg_tensor *labels, int64_t *labelled, double *acc)
{
    tg_confusion cm;
    tg_seg_scores s;
    tg_tensor *pred = tg_k_argmax(logits, 1, false);
    int rc = pred ? tg_confusion_init(&cm, logits->shape[1], TG_SEG_IGNORE) : -1;
    if (!rc) {
        rc = tg_confusion_add(&cm, labels, pred);
        if (!rc) rc = tg_confusion_scores(&cm, &s, NULL);
        tg_confusion_free(&cm);
    }
    tg_release(pred);
    if (rc) return -1;
    *labelled = s.pixels;
    *acc = s.pixel_acc;
    return 0;
}

/* One head's cross-entropy times scale; its value in *value. */
static tg_tensor *head_loss(tg_tensor *logits, tg_tensor *labels, float scale, double *value)
{
    tg_tensor *ce = tg_cross_entropy(logits, labels, &(tg_cross_entropy_opts){.ignore_index = TG_SEG_IGNORE});
    tg_tensor *out = ce && scale != 1.0f ? tg_mul_scalar(ce, scale) : ce;
    if (out) *value = tg_item(out);
    return out;
}

/* 0 with a zero gradient for every logit: the loss of a batch with nothing labelled. */
static tg_tensor *zero_loss(tg_tensor *logits, tg_tensor *aux_logits)
{
    tg_tensor *s = tg_sum(logits, 0, NULL, false);
    tg_tensor *both = s && aux_logits ? tg_add(s, tg_sum(aux_logits, 0, NULL, false)) : s;
    return tg_mul_scalar(both, 0.0f);
}

/* The loss over the labelled pixels (scope: the caller's). */
static tg_tensor *labelled_loss(const tg_fcn_opts *o, tg_tensor *logits, tg_tensor *aux_logits, tg_tensor *labels,
                                float scale, tg_fcn_loss_terms *t)
{
    tg_tensor *decode = head_loss(logits, labels, scale, &t->decode);
    if (!decode || !aux_logits) return decode;
    tg_tensor *aux = head_loss(aux_logits, labels, scale, &t->aux);
    return aux ? tg_add(decode, tg_mul_scalar(aux, o->aux_weight)) : NULL;
}

tg_tensor *tg_fcn_loss(const tg_module *m, tg_tensor *logits, tg_tensor *aux_logits, tg_tensor *labels,
                       tg_fcn_loss_terms *terms)
{
    const tg_fcn_opts *o = tg_fcn_options(m);
    tg_fcn_loss_terms t = {0};
    if (!o || TG_NEED("fcn_loss", logits, labels) || count_labelled(logits, labels, &t.labelled, &t.acc)) return NULL;
    /* mmseg's mean over every pixel = PyTorch's mean over labelled ones x labelled / all */
    float scale = o->avg_non_ignore ? 1.0f : (float)((double)t.labelled / (double)tg_numel(labels));
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_tensor *loss = t.labelled ? labelled_loss(o, logits, aux_logits, labels, scale, &t)
                                 : zero_loss(logits, aux_logits);
    loss = tg_scope_return(scope, loss);
    if (!loss) return NULL;
    t.loss = tg_item(loss);
    if (terms) *terms = t;
    return loss;
}

/* ---- inference, parameters, loading ---- */

tg_tensor *tg_fcn_predict(tg_module *m, tg_tensor *x)
{
    if (!tg_fcn_options(m) || TG_NEED("fcn_predict", x)) return NULL;
    bool training = m->training;
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_module_train(m, false);
    tg_no_grad_enter();
    tg_tensor *logits = NULL;
    tg_tensor *pred = tg_fcn_forward(m, x, &logits, NULL) ? NULL : tg_argmax(logits, 1, false);
    tg_no_grad_exit();
    tg_module_train(m, training);
    return tg_scope_return(scope, pred);
}

int tg_fcn_parameters(const tg_module *m, tg_tensor_list *out)
{
    const tg_fcn_opts *o = tg_fcn_options(m);
    if (!o) return -1;
    if (!o->frozen_backbone) return tg_module_parameters(m, out);
    tg_tensor_list all = {0};
    int rc = tg_module_parameters(m, &all);
    for (int i = 0; !rc && i < all.n; i++)
        if (strncmp(all.items[i].name, "backbone.", 9) != 0)
            rc = tg_tensor_list_add(out, all.items[i].name, all.items[i].tensor);
    tg_tensor_list_clear(&all);
    return rc;
}

int tg_fcn_load_backbone(tg_module *m, const char *path, bool strict, tg_tensor_list *missing,
                         tg_tensor_list *unexpected)
{
    if (!tg_fcn_options(m)) return -1;
    tg_module *backbone = child(m, "backbone");
    return strict ? tg_module_load(path, backbone, true) : tg_module_load_report(path, backbone, missing, unexpected);
}

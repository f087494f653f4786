/* ResNet (see resnet.h): blocks, stages, stem and head over nn/ layers.
 * Dilation follows torchvision's replace_stride_with_dilation, which is
 * mmseg's contract_dilation: a dilated stage's first block keeps the
 * previous dilation (1 in stage 3, 2 in stage 4), the rest use 2 and 4.
 * A Bottleneck dilates its 3x3 conv; a BasicBlock (which torchvision
 * cannot dilate) its first conv only, as mmseg does. */
#include "models/resnet.h"

#include <math.h>
#include <stdio.h>

#include "autograd/autograd.h"
#include "autograd/scope.h"
#include "nn/layers.h"
#include "tensor/internal/check.h"

typedef struct {
    tg_module base;
    tg_resnet_opts opts;
} resnet_module;

/* ---- blocks ---- */

typedef struct {
    tg_module base;
    int convs; /* 2: BasicBlock, 3: Bottleneck */
} block_module;

static tg_module *child(tg_module *m, const char *name) { return tg_module_child(m, name); }

/* The child of m named what and k ("conv1", "bn1"). */
static tg_module *numbered(tg_module *m, const char *what, int k)
{
    char name[16];
    snprintf(name, sizeof name, "%s%d", what, k);
    return child(m, name);
}

/* relu(bn(conv(x))) for the conv/bn pair number k, bn and relu as one op. */
static tg_tensor *conv_bn_relu(tg_module *m, int k, tg_tensor *x)
{
    return tg_nn_batch_norm2d_relu_forward(numbered(m, "bn", k), tg_module_forward(numbered(m, "conv", k), x));
}

/* The convs but the last relu'd in turn, then relu(bn(conv(h)) +
 * identity) with the last pair, bn, add and relu as one op. A failed op's
 * NULL passes through the rest, its error kept. */
static tg_tensor *block_forward(tg_module *m, tg_tensor *x)
{
    int convs = ((block_module *)m)->convs, scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_tensor *h = x;
    for (int k = 1; k < convs; k++) h = conv_bn_relu(m, k, h);
    tg_tensor *c = tg_module_forward(numbered(m, "conv", convs), h);
    tg_module *down = m->n_children > 2 * convs ? child(m, "downsample") : NULL;
    tg_tensor *identity = down ? tg_module_forward(down, x) : x;
    return tg_scope_return(scope, tg_nn_batch_norm2d_add_relu_forward(numbered(m, "bn", convs), c, identity));
}

static const tg_module_type block_type = {.name = "ResNetBlock", .forward = block_forward};

static tg_module *conv_layer(int64_t in, int64_t out, int k, int stride, int dilation, const tg_resnet_opts *o,
                             tg_rng *rng)
{
    tg_conv2d_opts c = {{stride, stride}, {dilation * (k / 2), dilation * (k / 2)}, {dilation, dilation}, 1};
    tg_module *conv = tg_nn_conv2d(in, out, k, k, c, false, rng);
    tg_tensor *w = conv ? conv->params.items[0].tensor : NULL;
    if (w && tg_init_kaiming_normal_(w, rng, o->conv_fan, sqrt(2.0))) {
        tg_module_free(conv);
        return NULL;
    }
    return conv;
}

/* A BatchNorm2d as the options ask: split in bn_groups, or SyncBN. */
static tg_module *bn_layer(int64_t channels, const tg_resnet_opts *o)
{
    tg_batch_norm_opts bn = {.groups = o->bn_groups > 1 ? o->bn_groups : 1, .sync = o->sync_bn};
    return tg_nn_batch_norm2d(channels, &bn);
}

static int add_conv_bn(tg_module *m, int k, tg_module *conv, const tg_resnet_opts *o, int64_t channels)
{
    char conv_name[16], bn_name[16];
    snprintf(conv_name, sizeof conv_name, "conv%d", k);
    snprintf(bn_name, sizeof bn_name, "bn%d", k);
    if (tg_module_add_child(m, conv_name, conv)) return -1;
    return tg_module_add_child(m, bn_name, bn_layer(channels, o));
}

/* A block from in channels to width * expansion, its first conv strided
 * for BasicBlock, its 3x3 for Bottleneck. */
static tg_module *block_new(int64_t in, int64_t width, int stride, int dilation, bool bottleneck,
                            const tg_resnet_opts *o, tg_rng *rng)
{
    block_module *b = (block_module *)tg_module_new(&block_type, sizeof *b);
    if (!b) return NULL;
    tg_module *m = &b->base;
    int64_t out = bottleneck ? 4 * width : width;
    b->convs = bottleneck ? 3 : 2;
    int rc;
    if (bottleneck) {
        rc = add_conv_bn(m, 1, conv_layer(in, width, 1, 1, 1, o, rng), o, width);
        if (!rc) rc = add_conv_bn(m, 2, conv_layer(width, width, 3, stride, dilation, o, rng), o, width);
        if (!rc) rc = add_conv_bn(m, 3, conv_layer(width, out, 1, 1, 1, o, rng), o, out);
    } else {
        rc = add_conv_bn(m, 1, conv_layer(in, width, 3, stride, dilation, o, rng), o, width);
        if (!rc) rc = add_conv_bn(m, 2, conv_layer(width, width, 3, 1, 1, o, rng), o, width);
    }
    if (!rc && o->zero_init_residual) rc = tg_init_constant_(numbered(m, "bn", b->convs)->params.items[0].tensor, 0.0);
    if (!rc && (stride != 1 || in != out)) {
        tg_module *down = tg_nn_sequential();
        rc = down ? tg_nn_sequential_append(down, conv_layer(in, out, 1, stride, 1, o, rng)) : -1;
        if (!rc) rc = tg_nn_sequential_append(down, bn_layer(out, o));
        if (!rc) rc = tg_module_add_child(m, "downsample", down);
        else tg_module_free(down);
    }
    if (rc) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- stages, stem, head ---- */

static const int stage_blocks[3][4] = {{2, 2, 2, 2}, {3, 4, 6, 3}, {3, 4, 6, 3}};

static int depth_row(int depth) { return depth == 18 ? 0 : depth == 34 ? 1 : depth == 50 ? 2 : -1; }

static int64_t base_width(const tg_resnet_opts *o)
{
    double w = o->width > 0 ? o->width : 1.0;
    return (int64_t)llround(64.0 * w);
}

int64_t tg_resnet_channels(tg_resnet_opts opts, int stage)
{
    if (TG_NEED_RANGE("resnet_channels", stage, 1, 4)) return -1;
    int64_t width = base_width(&opts) << (stage - 1);
    return opts.depth == 50 ? 4 * width : width;
}

/* Stage s (1..4) into m as "layer<s>"; *in and *dilation carry over. */
static int add_stage(tg_module *m, int s, int64_t *in, int *dilation, const tg_resnet_opts *o, tg_rng *rng)
{
    bool bottleneck = o->depth == 50;
    int stride = s == 1 ? 1 : 2, first_dilation = *dilation;
    if (o->dilate && s >= 3) {
        *dilation *= stride;
        stride = 1;
    }
    int64_t width = base_width(o) << (s - 1);
    tg_module *stage = tg_nn_sequential();
    int rc = stage ? 0 : -1;
    for (int k = 0; !rc && k < stage_blocks[depth_row(o->depth)][s - 1]; k++) {
        rc = tg_nn_sequential_append(stage, block_new(*in, width, k ? 1 : stride, k ? *dilation : first_dilation,
                                                      bottleneck, o, rng));
        *in = bottleneck ? 4 * width : width;
    }
    char name[16];
    snprintf(name, sizeof name, "layer%d", s);
    if (rc) {
        tg_module_free(stage);
        return -1;
    }
    return tg_module_add_child(m, name, stage);
}

static int add_stem(tg_module *m, const tg_resnet_opts *o, tg_rng *rng)
{
    int64_t width = base_width(o);
    tg_module *conv = o->small_stem ? conv_layer(3, width, 3, 1, 1, o, rng) : conv_layer(3, width, 7, 2, 1, o, rng);
    int rc = tg_module_add_child(m, "conv1", conv);
    if (!rc) rc = tg_module_add_child(m, "bn1", bn_layer(width, o));
    if (!rc && !o->small_stem)
        rc = tg_module_add_child(m, "maxpool", tg_nn_max_pool2d((tg_pool2d_opts){{3, 3}, {2, 2}, {1, 1}, {1, 1}, 0, 1}));
    return rc;
}

static const tg_module_type resnet_type;

int tg_resnet_features(tg_module *m, tg_tensor *x, tg_tensor **c4, tg_tensor **c5)
{
    if (c4) *c4 = NULL;
    if (TG_NEED("resnet_features", m, x, c5)) return -1;
    *c5 = NULL;
    if (m->type != &resnet_type) return TG_FAIL("resnet_features: the module is a %s, not a ResNet", m->type->name);
    const tg_resnet_opts *o = &((resnet_module *)m)->opts;
    int scope = tg_scope_begin();
    if (scope < 0) return -1;
    tg_tensor *h = tg_nn_batch_norm2d_relu_forward(child(m, "bn1"), tg_module_forward(child(m, "conv1"), x));
    if (!o->small_stem) h = tg_module_forward(child(m, "maxpool"), h);
    static const char *stages[] = {"layer1", "layer2", "layer3", "layer4"};
    tg_tensor *layer3 = NULL;
    for (int s = 0; s < 4; s++) {
        h = tg_module_forward(child(m, stages[s]), h);
        if (s == 2) layer3 = h;
    }
    if (h) *c5 = tg_keep(h);
    if (*c5 && c4) *c4 = tg_keep(layer3);
    tg_scope_end(scope);
    return *c5 ? 0 : -1;
}

static tg_tensor *resnet_forward(tg_module *m, tg_tensor *x)
{
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_tensor *c5 = NULL, *out = NULL;
    if (!tg_resnet_features(m, x, NULL, &c5)) out = c5;
    if (out && ((resnet_module *)m)->opts.num_classes > 0) {
        tg_tensor *pooled = tg_adaptive_avg_pool2d(c5, 1, 1);
        out = tg_module_forward(child(m, "fc"), tg_reshape(pooled, TG_SHAPE(c5->shape[0], -1)));
    }
    return tg_scope_return(scope, out);
}

static const tg_module_type resnet_type = {.name = "ResNet", .forward = resnet_forward};

tg_module *tg_resnet_new(tg_resnet_opts opts)
{
    if (depth_row(opts.depth) < 0 || opts.width < 0 || opts.num_classes < 0) {
        TG_FAIL("resnet: depth %d is not 18, 34 or 50, or width/classes negative", opts.depth);
        return NULL;
    }
    resnet_module *r = (resnet_module *)tg_module_new(&resnet_type, sizeof *r);
    if (!r) return NULL;
    r->opts = opts;
    tg_module *m = &r->base;
    tg_rng rng = tg_rng_new(opts.seed, 0);
    int64_t in = base_width(&opts);
    int dilation = 1;
    int rc = add_stem(m, &opts, &rng);
    for (int s = 1; !rc && s <= 4; s++) rc = add_stage(m, s, &in, &dilation, &opts, &rng);
    if (!rc && opts.num_classes > 0) rc = tg_module_add_child(m, "fc", tg_nn_linear(in, opts.num_classes, true, &rng));
    if (rc) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* The normalisation layers of transformers and generative models, as
 * torch.nn: LayerNorm, GroupNorm and RMSNorm, with PyTorch's parameter
 * names (weight, bias) and initialisation (ones, zeros). */
#include <float.h>
#include <string.h>

#include "nn/layers.h"
#include "tensor/internal/check.h"

typedef struct {
    tg_module base;
    tg_tensor *weight, *bias; /* borrowed from base.params; NULL without */
    int ndim;                 /* LayerNorm, RMSNorm: the normalised dims */
    int64_t groups;           /* GroupNorm */
    float eps;
} norm_module;

static tg_tensor *layer_norm_forward(tg_module *m, tg_tensor *x)
{
    norm_module *n = (norm_module *)m;
    return tg_layer_norm(x, n->ndim, n->weight, n->bias, n->eps);
}

static tg_tensor *rms_norm_forward(tg_module *m, tg_tensor *x)
{
    norm_module *n = (norm_module *)m;
    return tg_rms_norm(x, n->ndim, n->weight, n->eps);
}

static tg_tensor *group_norm_forward(tg_module *m, tg_tensor *x)
{
    norm_module *n = (norm_module *)m;
    return tg_group_norm(x, n->groups, n->weight, n->bias, n->eps);
}

static const tg_module_type layer_norm_type = {.name = "LayerNorm", .forward = layer_norm_forward};
static const tg_module_type rms_norm_type = {.name = "RMSNorm", .forward = rms_norm_forward};
static const tg_module_type group_norm_type = {.name = "GroupNorm", .forward = group_norm_forward};

/* Registers name filled with value (shape ndim/shape) and points *slot at it. */
static int add_filled(tg_module *m, const char *name, int ndim, const int64_t *shape, float value, tg_tensor **slot)
{
    tg_tensor *t = tg_full(ndim, shape, value);
    *slot = t;
    return tg_module_add_param(m, name, t);
}

/* A norm module of type with weight (ones) and bias (zeros) of the given
 * shape as opts asks; eps 0 becomes default_eps. */
static tg_module *norm_new(const tg_module_type *type, int ndim, const int64_t *shape, bool has_bias,
                           const tg_norm_layer_opts *opts, float default_eps)
{
    tg_norm_layer_opts o = opts ? *opts : (tg_norm_layer_opts){0};
    if (!(o.eps >= 0.0f)) {
        TG_FAIL("%s: eps %g is negative", type->name, (double)o.eps);
        return NULL;
    }
    norm_module *n = (norm_module *)tg_module_new(type, sizeof *n);
    if (!n) return NULL;
    n->eps = o.eps ? o.eps : default_eps;
    n->ndim = ndim;
    tg_module *m = &n->base;
    int rc = o.no_affine ? 0 : add_filled(m, "weight", ndim, shape, 1.0f, &n->weight);
    if (!rc && !o.no_affine && has_bias && !o.no_bias) rc = add_filled(m, "bias", ndim, shape, 0.0f, &n->bias);
    if (rc) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* Fails unless the normalised shape has 1..TG_MAX_DIMS positive sizes. */
static int check_shape(const char *layer, int ndim, const int64_t *shape)
{
    if (TG_NEED(layer, shape) || TG_NEED_RANGE(layer, ndim, 1, TG_MAX_DIMS)) return -1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] <= 0) return TG_FAIL("%s: normalized_shape[%d] is %lld", layer, i, (long long)shape[i]);
    return 0;
}

tg_module *tg_nn_layer_norm(int ndim, const int64_t *normalized_shape, const tg_norm_layer_opts *opts)
{
    if (check_shape("LayerNorm", ndim, normalized_shape)) return NULL;
    return norm_new(&layer_norm_type, ndim, normalized_shape, true, opts, 1e-5f);
}

tg_module *tg_nn_rms_norm(int ndim, const int64_t *normalized_shape, const tg_norm_layer_opts *opts)
{
    if (check_shape("RMSNorm", ndim, normalized_shape)) return NULL;
    return norm_new(&rms_norm_type, ndim, normalized_shape, false, opts, FLT_EPSILON);
}

tg_module *tg_nn_group_norm(int64_t num_groups, int64_t num_channels, const tg_norm_layer_opts *opts)
{
    if (num_groups <= 0 || num_channels <= 0 || num_channels % num_groups) {
        TG_FAIL("GroupNorm: %lld channels do not split into %lld groups", (long long)num_channels,
                (long long)num_groups);
        return NULL;
    }
    tg_module *m = norm_new(&group_norm_type, TG_SHAPE(num_channels), true, opts, 1e-5f);
    if (m) ((norm_module *)m)->groups = num_groups;
    return m;
}

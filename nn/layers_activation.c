/* Activation layers without parameters, as torch.nn: GELU (exact or tanh),
 * SiLU and LeakyReLU. */
#include "nn/layers.h"

#include "tensor/internal/check.h"

typedef struct {
    tg_module base;
    tg_gelu_approximate approximate;
    float negative_slope;
} activation_module;

static tg_tensor *gelu_forward(tg_module *m, tg_tensor *x)
{
    return tg_gelu(x, ((activation_module *)m)->approximate);
}

static tg_tensor *silu_forward(tg_module *m, tg_tensor *x)
{
    (void)m;
    return tg_silu(x);
}

static tg_tensor *leaky_relu_forward(tg_module *m, tg_tensor *x)
{
    return tg_leaky_relu(x, ((activation_module *)m)->negative_slope);
}

static const tg_module_type gelu_type = {.name = "GELU", .forward = gelu_forward};
static const tg_module_type silu_type = {.name = "SiLU", .forward = silu_forward};
static const tg_module_type leaky_relu_type = {.name = "LeakyReLU", .forward = leaky_relu_forward};

tg_module *tg_nn_gelu(tg_gelu_approximate approximate)
{
    if (approximate != TG_GELU_EXACT && approximate != TG_GELU_TANH) {
        TG_FAIL("GELU: approximate %d is neither exact nor tanh", (int)approximate);
        return NULL;
    }
    activation_module *a = (activation_module *)tg_module_new(&gelu_type, sizeof *a);
    if (a) a->approximate = approximate;
    return a ? &a->base : NULL;
}

tg_module *tg_nn_silu(void) { return tg_module_new(&silu_type, sizeof(activation_module)); }

tg_module *tg_nn_leaky_relu(float negative_slope)
{
    activation_module *a = (activation_module *)tg_module_new(&leaky_relu_type, sizeof *a);
    if (a) a->negative_slope = negative_slope;
    return a ? &a->base : NULL;
}

/* resnet_interop: the C side of tools/check_torchvision_interop.sh.
 *
 *   resnet_interop DIR
 * loads DIR/tv18.safetensors (a torchvision ResNet-18 state_dict written by
 * PyTorch) into tg_resnet_new({18, 1000 classes}), runs DIR/io.safetensors'
 * input "x" in eval mode, prints the largest difference from torchvision's
 * logits "y" (exit 1 above 1e-4), and writes its own weights with
 * tg_module_save to DIR/tg18.safetensors for PyTorch to load back. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tensorgrad.h"

static int fail(const char *what)
{
    fprintf(stderr, "resnet_interop: %s: %s\n", what, tg_last_error());
    return 1;
}

/* Largest |a - b| over two tensors of one shape. */
static double max_diff(tg_tensor *a, tg_tensor *b)
{
    double d = 0;
    for (int64_t i = 0; i < tg_numel(a); i++) d = fmax(d, fabs(tg_data_f32(a)[i] - tg_data_f32(b)[i]));
    return d;
}

static int check(const char *dir, tg_module *m)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tv18.safetensors", dir);
    if (tg_module_load(path, m, true)) return fail("loading torchvision's weights");
    tg_tensor_list io = {0};
    snprintf(path, sizeof path, "%s/io.safetensors", dir);
    if (tg_safetensors_load(path, &io, NULL)) return fail("loading the input");
    tg_tensor *x = tg_tensor_list_get(&io, "x"), *y = tg_tensor_list_get(&io, "y");
    tg_no_grad_enter();
    tg_tensor *out = x && y ? tg_module_forward(m, x) : NULL;
    tg_no_grad_exit();
    int rc = out && tg_same_shape(out, y) ? 0 : fail("running the model");
    double d = rc ? INFINITY : max_diff(out, y);
    if (!rc) printf("tensorgrad with torchvision's weights: logits within %.3g of torchvision's\n", d);
    snprintf(path, sizeof path, "%s/tg18.safetensors", dir);
    if (!rc && tg_module_save(path, m)) rc = fail("saving the weights");
    tg_release(x), tg_release(y), tg_release(out);
    tg_tensor_list_clear(&io);
    return rc ? rc : d > 1e-4;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: resnet_interop DIR\n(tools/check_torchvision_interop.sh runs it: torchvision's ResNet-18 "
               "weights in DIR/tv18.safetensors, its logits in DIR/io.safetensors)\n");
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: resnet_interop DIR\n");
        return 2;
    }
    tg_module *m = tg_resnet_new((tg_resnet_opts){.depth = 18, .num_classes = 1000});
    if (!m) return fail("building ResNet-18");
    tg_module_train(m, false);
    int rc = check(argv[1], m);
    tg_module_free(m);
    return rc;
}

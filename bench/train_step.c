/* The benchmarks' ResNet training step (see train_step.h). */
#include "train_step.h"

int bench_trainer_init(bench_trainer *t, int depth, int batch, int size, int classes, uint64_t seed)
{
    tg_resnet_opts arch = {.depth = depth, .num_classes = classes, .seed = seed};
    *t = (bench_trainer){.model = tg_resnet_new(arch)};
    if (t->model && !tg_module_parameters(t->model, &t->params))
        t->opt = tg_sgd_new(&t->params, (tg_sgd_opts){.lr = 0.01, .momentum = 0.9, .weight_decay = 1e-4});
    tg_rng rng = tg_rng_new(seed, 7);
    t->x = tg_randn(&rng, TG_SHAPE(batch, 3, size, size));
    t->labels = tg_randint(&rng, 0, classes, TG_SHAPE(batch));
    if (!t->opt || !t->x || !t->labels) return -1;
    tg_module_train(t->model, true);
    return 0;
}

void bench_trainer_free(bench_trainer *t)
{
    tg_tensor_list_clear(&t->params);
    tg_optimizer_free(t->opt);
    tg_module_free(t->model);
    tg_release(t->x);
    tg_release(t->labels);
    *t = (bench_trainer){0};
}

int bench_train_step(bench_trainer *t, tg_tensor *x, float *loss_value)
{
    tg_tensor *logits = tg_module_forward(t->model, x);
    tg_tensor *loss = logits ? tg_cross_entropy(logits, t->labels, NULL) : NULL;
    tg_release(logits);
    int rc = loss ? tg_backward(loss, NULL) : -1;
    if (!rc) *loss_value = tg_item(loss);
    tg_release(loss); /* frees the graph */
    if (!rc) rc = tg_optimizer_step(t->opt);
    tg_optimizer_zero_grad(t->opt);
    return rc;
}

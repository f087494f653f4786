/* The MoCo-v2 / DenseCL model (see contrastive.h): building the encoders,
 * necks and queues initialised as docs/protocol.md sections 2-4 say, the momentum update,
 * the queues' ring, and the exports. The training step is in
 * contrastive_step.c. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "autograd/internal/capture.h"
#include "models/internal/contrastive.h"
#include "nn/checkpoint.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "tensor/internal/check.h"
#include "tensor/internal/update.h"
#include "tensor/internal/view.h"

static void contrastive_destroy(tg_module *m)
{
    contrastive_module *c = (contrastive_module *)m;
    tg_tensor_list_clear(&c->params_q);
    tg_tensor_list_clear(&c->params_k);
}

static const tg_module_type contrastive_type = {.name = "Contrastive", .destroy = contrastive_destroy};
/* The neck's children are run one by one by the step: no forward. */
static const tg_module_type neck_type = {.name = "ContrastiveNeck"};

contrastive_module *tg_contrastive_cast(const char *op, const tg_module *m)
{
    if (TG_NEED(op, m)) return NULL;
    if (m->type != &contrastive_type) {
        TG_FAIL("%s: the module is a %s, not a MoCo-v2/DenseCL model", op, m->type->name);
        return NULL;
    }
    return (contrastive_module *)m;
}

tg_contrastive_config tg_contrastive_defaults(tg_contrastive_method method)
{
    return (tg_contrastive_config){
        .method = method,
        .backbone = {.depth = 50, .conv_fan = TG_FAN_IN},
        .dim = 128,
        .queue_len = 65536,
        .momentum = 0.999,
        .tau = 0.2,
        .lambda = method == TG_DENSECL ? 0.5 : 0.0,
    };
}

static int check_config(const tg_contrastive_config *c)
{
    if (c->method != TG_MOCOV2 && c->method != TG_DENSECL)
        return TG_FAIL("contrastive: method %d is neither MoCo-v2 nor DenseCL", (int)c->method);
    if (c->queue_len <= 0 || c->dim < 0 || c->hidden < 0)
        return TG_FAIL("contrastive: queue length %" PRId64 ", dim %" PRId64 ", hidden %" PRId64
                       " (K > 0, the others >= 0; 0: default)",
                       c->queue_len, c->dim, c->hidden);
    if (!(c->momentum >= 0 && c->momentum <= 1) || !(c->tau > 0) || !(c->lambda >= 0 && c->lambda <= 1) ||
        c->warmup_iters < 0)
        return TG_FAIL("contrastive: momentum %g, tau %g, lambda %g, warm-up %" PRId64
                       " (momentum and lambda in [0, 1], tau > 0, warm-up >= 0)",
                       c->momentum, c->tau, c->lambda, c->warmup_iters);
    return 0;
}

/* ---- building ---- */

/* Linear with mmcv's init of the neck: Kaiming normal (fan_in, ReLU), bias 0. */
static tg_module *neck_linear(int64_t in, int64_t out, tg_rng *rng)
{
    tg_module *l = tg_nn_linear(in, out, true, rng);
    if (l && (tg_init_kaiming_normal_(l->params.items[0].tensor, rng, TG_FAN_IN, sqrt(2.0)) ||
              tg_init_constant_(l->params.items[1].tensor, 0.0))) {
        tg_module_free(l);
        return NULL;
    }
    return l;
}

/* in -> hidden -> ReLU -> out: Linear layers for the global neck (mlp),
 * 1x1 convolutions keeping PyTorch's default init for the dense neck
 * (mlp2; the neck's init routine skips them, docs/protocol.md section 3). */
static tg_module *two_layers(bool conv, int64_t in, int64_t hidden, int64_t out, tg_rng *rng)
{
    tg_module *seq = tg_nn_sequential();
    if (!seq) return NULL;
    tg_conv2d_opts one = {{1, 1}, {0, 0}, {1, 1}, 1};
    int rc = tg_nn_sequential_append(seq, conv ? tg_nn_conv2d(in, hidden, 1, 1, one, true, rng)
                                               : neck_linear(in, hidden, rng));
    if (!rc) rc = tg_nn_sequential_append(seq, tg_nn_relu(true));
    if (!rc) rc = tg_nn_sequential_append(seq, conv ? tg_nn_conv2d(hidden, out, 1, 1, one, true, rng)
                                                    : neck_linear(hidden, out, rng));
    if (rc) {
        tg_module_free(seq);
        return NULL;
    }
    return seq;
}

/* Sequential "0": backbone, "1": neck with "mlp" (and "mlp2"). The necks
 * draw from their own generator, so both encoders start alike. */
static tg_module *encoder_new(const tg_contrastive_config *cfg)
{
    tg_resnet_opts bo = cfg->backbone;
    bo.num_classes = 0;
    int64_t c5 = tg_resnet_channels(bo, 4);
    tg_rng rng = tg_rng_new(cfg->seed, 0);
    tg_module *enc = tg_nn_sequential(), *neck = tg_module_new(&neck_type, sizeof(tg_module));
    int rc = enc && neck ? tg_nn_sequential_append(enc, tg_resnet_new(bo)) : -1;
    if (!rc) rc = tg_module_add_child(neck, "mlp", two_layers(false, c5, cfg->hidden, cfg->dim, &rng));
    if (!rc && cfg->method == TG_DENSECL)
        rc = tg_module_add_child(neck, "mlp2", two_layers(true, c5, cfg->hidden, cfg->dim, &rng));
    if (!rc) {
        rc = tg_nn_sequential_append(enc, neck);
        neck = NULL;
    }
    tg_module_free(neck);
    if (rc) {
        tg_module_free(enc);
        return NULL;
    }
    return enc;
}

/* K rows of N(0,1) noise, each normalised (docs/protocol.md section 4's columns). */
static tg_tensor *queue_new(const tg_contrastive_config *cfg, uint64_t stream)
{
    tg_rng rng = tg_rng_new(cfg->seed, stream);
    tg_tensor *noise = tg_randn(&rng, TG_SHAPE(cfg->queue_len, cfg->dim)), *q = NULL;
    if (noise && !tg_capture_pause()) { /* the module's, whatever scope it is built in */
        q = tg_normalize(noise, 1, 1e-12f);
        tg_capture_resume();
    }
    tg_release(noise);
    return q;
}

/* The key encoder takes the query's parameter values and never a gradient. */
static int pair_encoders(contrastive_module *c)
{
    tg_module *q = tg_contrastive_encoder(&c->base, 0), *k = tg_contrastive_encoder(&c->base, 1);
    int rc = tg_module_parameters(q, &c->params_q);
    if (!rc) rc = tg_module_parameters(k, &c->params_k);
    if (!rc) rc = tg_module_set_requires_grad(k, false);
    for (int i = 0; !rc && i < c->params_q.n; i++)
        rc = tg_k_copy_(c->params_k.items[i].tensor, c->params_q.items[i].tensor);
    return rc;
}

tg_module *tg_contrastive_new(tg_contrastive_config cfg)
{
    if (check_config(&cfg)) return NULL;
    tg_resnet_opts bo = cfg.backbone;
    bo.num_classes = 0;
    if (!cfg.hidden) cfg.hidden = tg_resnet_channels(bo, 4);
    if (!cfg.dim) cfg.dim = 128;
    contrastive_module *c = (contrastive_module *)tg_module_new(&contrastive_type, sizeof *c);
    if (!c) return NULL;
    c->cfg = cfg;
    tg_module *m = &c->base;
    int rc = tg_module_add_buffer(m, "queue", queue_new(&cfg, 1));
    if (!rc && cfg.method == TG_DENSECL) rc = tg_module_add_buffer(m, "queue_dense", queue_new(&cfg, 2));
    if (!rc) rc = tg_module_add_buffer(m, "queue_ptr", tg_zeros(TG_SHAPE(1), TG_INT64));
    if (!rc) rc = tg_module_add_child(m, "encoder_q", encoder_new(&cfg));
    if (!rc) rc = tg_module_add_child(m, "encoder_k", encoder_new(&cfg));
    if (!rc) rc = pair_encoders(c);
    if (rc) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- parts ---- */

const tg_contrastive_config *tg_contrastive_config_of(const tg_module *m)
{
    contrastive_module *c = tg_contrastive_cast("contrastive_config_of", m);
    return c ? &c->cfg : NULL;
}

tg_module *tg_contrastive_encoder(tg_module *m, int key)
{
    return tg_contrastive_cast("contrastive_encoder", m) ? tg_module_child(m, key ? "encoder_k" : "encoder_q")
                                                         : NULL;
}

tg_module *tg_contrastive_backbone(tg_module *m)
{
    tg_module *q = tg_contrastive_encoder(m, 0);
    return q ? tg_module_child(q, "0") : NULL;
}

tg_tensor *tg_contrastive_queue(tg_module *m, bool dense)
{
    contrastive_module *c = tg_contrastive_cast("contrastive_queue", m);
    if (!c || (dense && c->cfg.method != TG_DENSECL)) return NULL;
    tg_tensor *q = tg_tensor_list_get(&m->buffers, dense ? "queue_dense" : "queue");
    tg_release(q); /* the module keeps its own reference: hand out a borrowed one */
    return q;
}

static tg_tensor *queue_ptr_tensor(const tg_module *m)
{
    tg_tensor *p = tg_tensor_list_get(&m->buffers, "queue_ptr");
    tg_release(p);
    return p;
}

int64_t tg_contrastive_queue_ptr(const tg_module *m)
{
    if (!tg_contrastive_cast("contrastive_queue_ptr", m)) return -1;
    return tg_data_i64(queue_ptr_tensor(m))[0];
}

int tg_contrastive_parameters(const tg_module *m, tg_tensor_list *out)
{
    contrastive_module *c = tg_contrastive_cast("contrastive_parameters", m);
    if (!c) return -1;
    char name[512];
    for (int i = 0; i < c->params_q.n; i++) {
        snprintf(name, sizeof name, "encoder_q.%s", c->params_q.items[i].name);
        if (tg_tensor_list_add(out, name, c->params_q.items[i].tensor)) return -1;
    }
    return 0;
}

int tg_contrastive_save_backbone(tg_module *m, const char *path)
{
    tg_module *b = tg_contrastive_backbone(m);
    return b ? tg_module_save(path, b) : -1;
}

/* ---- the momentum update and the queues ---- */

int tg_contrastive_momentum_update(contrastive_module *c)
{
    for (int i = 0; i < c->params_q.n; i++)
        if (tg_k_momentum_update_(c->params_k.items[i].tensor, c->params_q.items[i].tensor, c->cfg.momentum))
            return -1;
    return 0;
}

/* rows of src into rows [ptr, ptr + n) of queue. */
static int put_rows(tg_tensor *queue, int64_t ptr, tg_tensor *src)
{
    tg_tensor *dst = tg_k_narrow(queue, 0, ptr, src->shape[0]);
    int rc = dst ? tg_k_copy_(dst, src) : -1;
    tg_release(dst);
    return rc;
}

int tg_contrastive_enqueue(contrastive_module *c, tg_tensor *g_k, tg_tensor *p_k)
{
    tg_module *m = &c->base;
    tg_tensor *ptr = queue_ptr_tensor(m);
    int64_t at = tg_data_i64(ptr)[0];
    int rc = put_rows(tg_contrastive_queue(m, false), at, g_k);
    if (!rc && p_k) rc = put_rows(tg_contrastive_queue(m, true), at, p_k);
    if (rc) return -1;
    tg_data_i64(ptr)[0] = (at + g_k->shape[0]) % c->cfg.queue_len;
    tg_bump_version(ptr);
    return 0;
}

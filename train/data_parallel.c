/* Data-parallel training (see data_parallel.h): the model made alike on
 * every rank, the gradients averaged in buckets started from the backward
 * engine's hook, the running statistics averaged. */
#include "train/data_parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "autograd/ops_nograd.h"
#include "dist/dist.h"
#include "tensor/error.h"
#include "tensor/internal/check.h"
#include "train/progress.h"

/* Parameters [first, first + count) of the bucket order, in one flat
 * tensor that travels as one allreduce. */
typedef struct {
    tg_tensor *flat;
    int first, count;
    int waiting; /* parameters whose gradient is not in yet, this backward */
    tg_dist_work *work;
} bucket;

/* A parameter in bucket order, with its place in its bucket. */
typedef struct {
    const char *name;  /* the params list's, borrowed from dp->params */
    tg_tensor *tensor;
    tg_tensor *slot;   /* a view of its bucket's flat tensor, the parameter's shape */
    int bucket;
    bool in;           /* its gradient is in the bucket, this backward */
} param;

struct tg_data_parallel {
    tg_tensor_list params;
    param *order; /* the parameters, last first */
    int n;
    bucket *buckets;
    int n_buckets, next_start; /* buckets start in order: the next to start */
    tg_tensor_list statistics; /* the running statistics, averaged after each step */
    tg_tensor *statistics_flat;
    tg_tensor **statistics_slots; /* each statistic's view of statistics_flat */
    tg_data_parallel_stats stats;
    bool failed; /* a hook failed this backward (its message kept) */
    char message[512];
};

/* ---- setup ---- */

/* "name dtype shape;" for every tensor of the state dict into a text the
 * ranks compare. NULL with an error. */
static char *describe_state(const tg_tensor_list *sd)
{
    size_t cap = 256, len = 0;
    char *text = malloc(cap), shape[TG_SHAPE_STR_LEN];
    for (int i = 0; text && i < sd->n; i++) {
        const tg_tensor *t = sd->items[i].tensor;
        tg_shape_str(t->ndim, t->shape, shape, sizeof shape);
        size_t need = strlen(sd->items[i].name) + strlen(shape) + 32;
        if (len + need > cap) {
            char *bigger = realloc(text, cap = 2 * (len + need));
            if (!bigger) free(text);
            text = bigger;
        }
        if (text) len += (size_t)snprintf(text + len, cap - len, "%s %s %s;", sd->items[i].name,
                                          tg_dtype_name(t->dtype), shape);
    }
    if (!text) TG_FAIL("data parallel: out of memory");
    return text;
}

/* Refuses models that differ between ranks, then makes every parameter
 * and buffer rank 0's. */
static int broadcast_model(tg_data_parallel *dp, const tg_module *model)
{
    tg_tensor_list sd = {0};
    int rc = tg_module_state_dict(model, &sd);
    char *text = rc ? NULL : describe_state(&sd);
    if (!text) rc = -1;
    if (!rc) rc = tg_dist_check_same(text, strlen(text), "data parallel: the model (its tensors' names and shapes)");
    tg_no_grad_enter();
    for (int i = 0; !rc && i < sd.n; i++) rc = tg_dist_broadcast(sd.items[i].tensor, 0);
    tg_no_grad_exit();
    for (int i = 0; !rc && i < sd.n; i++) {
        const char *dot = strrchr(sd.items[i].name, '.'), *leaf = dot ? dot + 1 : sd.items[i].name;
        if (!strcmp(leaf, "running_mean") || !strcmp(leaf, "running_var"))
            rc = tg_tensor_list_add(&dp->statistics, sd.items[i].name, sd.items[i].tensor);
    }
    free(text);
    tg_tensor_list_clear(&sd);
    return rc;
}

/* Cuts the parameters, last first, into buckets of about bucket_bytes. */
static int plan_buckets(tg_data_parallel *dp, int64_t bucket_bytes)
{
    dp->order = calloc((size_t)dp->n, sizeof *dp->order);
    dp->buckets = calloc((size_t)dp->n, sizeof *dp->buckets);
    if (dp->n && (!dp->order || !dp->buckets)) return TG_FAIL("data parallel: out of memory");
    int64_t filled = 0;
    for (int k = 0; k < dp->n; k++) {
        tg_named_tensor *p = &dp->params.items[dp->n - 1 - k];
        if (p->tensor->dtype != TG_FLOAT32 || !tg_requires_grad(p->tensor))
            return TG_FAIL("data parallel: parameter %s is not a float32 tensor that requires grad", p->name);
        if (k == 0 || filled >= bucket_bytes) {
            dp->buckets[dp->n_buckets++].first = k;
            filled = 0;
        }
        dp->order[k] = (param){.name = p->name, .tensor = p->tensor, .bucket = dp->n_buckets - 1};
        dp->buckets[dp->n_buckets - 1].count++;
        filled += tg_numel(p->tensor) * 4;
    }
    return 0;
}

/* *flat: one float32 tensor as long as the n tensors, and slots[i] a
 * view of it with tensor i's shape, the tensors one after another, so
 * that they travel as one allreduce. 0 or -1. */
static int flatten(tg_tensor *const *tensors, int n, tg_tensor **flat, tg_tensor **slots)
{
    int64_t numel = 0;
    for (int i = 0; i < n; i++) numel += tg_numel(tensors[i]);
    if (!(*flat = tg_zeros(TG_SHAPE(numel), TG_FLOAT32))) return -1;
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        tg_tensor *t = tensors[i], *piece = tg_narrow(*flat, 0, at, tg_numel(t));
        slots[i] = piece ? tg_view(piece, t->ndim, t->shape) : NULL;
        tg_release(piece);
        if (!slots[i]) return -1;
        at += tg_numel(t);
    }
    return 0;
}

/* Each bucket's flat tensor and each parameter's slot in it. */
static int make_slots(tg_data_parallel *dp)
{
    size_t n = (size_t)dp->n + 1;
    tg_tensor **tensors = calloc(n, sizeof *tensors), **slots = calloc(n, sizeof *slots);
    int rc = tensors && slots ? 0 : TG_FAIL("data parallel: out of memory");
    for (int k = 0; !rc && k < dp->n; k++) tensors[k] = dp->order[k].tensor;
    for (int b = 0; !rc && b < dp->n_buckets; b++) {
        bucket *bk = &dp->buckets[b];
        rc = flatten(tensors + bk->first, bk->count, &bk->flat, slots + bk->first);
        if (!rc) dp->stats.bytes += tg_numel(bk->flat) * 4;
    }
    for (int k = 0; slots && k < dp->n; k++) dp->order[k].slot = slots[k];
    free(tensors), free(slots);
    dp->stats.buckets = dp->n_buckets;
    return rc;
}

/* The running statistics as one flat tensor, for one allreduce. */
static int make_statistics_flat(tg_data_parallel *dp)
{
    size_t n = (size_t)dp->statistics.n + 1;
    tg_tensor **tensors = calloc(n, sizeof *tensors);
    dp->statistics_slots = calloc(n, sizeof *dp->statistics_slots);
    int rc = tensors && dp->statistics_slots ? 0 : TG_FAIL("data parallel: out of memory");
    for (int i = 0; !rc && i < dp->statistics.n; i++) tensors[i] = dp->statistics.items[i].tensor;
    if (!rc) rc = flatten(tensors, dp->statistics.n, &dp->statistics_flat, dp->statistics_slots);
    free(tensors);
    return rc;
}

tg_data_parallel *tg_data_parallel_new(tg_module *model, const tg_tensor_list *params, int64_t bucket_bytes)
{
    if (TG_NEED("data_parallel_new", model, params)) return NULL;
    if (bucket_bytes < 0) {
        TG_FAIL("data_parallel_new: bucket_bytes %lld is negative", (long long)bucket_bytes);
        return NULL;
    }
    tg_data_parallel *dp = calloc(1, sizeof *dp);
    if (!dp) {
        TG_FAIL("data_parallel_new: out of memory");
        return NULL;
    }
    dp->n = params->n;
    int rc = 0;
    for (int i = 0; !rc && i < params->n; i++)
        rc = tg_tensor_list_add(&dp->params, params->items[i].name, params->items[i].tensor);
    if (!rc) rc = broadcast_model(dp, model);
    if (!rc && tg_dist_world_size() > 1)
        rc = plan_buckets(dp, bucket_bytes ? bucket_bytes : TG_DATA_PARALLEL_BUCKET_BYTES) || make_slots(dp) ||
             make_statistics_flat(dp);
    if (rc) {
        tg_data_parallel_free(dp);
        return NULL;
    }
    return dp;
}

void tg_data_parallel_free(tg_data_parallel *dp)
{
    if (!dp) return;
    for (int b = 0; b < dp->n_buckets; b++) {
        tg_dist_wait(dp->buckets[b].work);
        tg_release(dp->buckets[b].flat);
    }
    for (int k = 0; dp->order && k < dp->n; k++) tg_release(dp->order[k].slot);
    free(dp->order);
    free(dp->buckets);
    tg_tensor_list_clear(&dp->params);
    for (int i = 0; dp->statistics_slots && i < dp->statistics.n; i++) tg_release(dp->statistics_slots[i]);
    free(dp->statistics_slots);
    tg_tensor_list_clear(&dp->statistics);
    tg_release(dp->statistics_flat);
    free(dp);
}

/* ---- a backward ---- */

/* Keeps the first failure's message for the end of the backward. */
static void hook_failed(tg_data_parallel *dp)
{
    if (!dp->failed) snprintf(dp->message, sizeof dp->message, "%s", tg_last_error());
    dp->failed = true;
}

/* Starts the buckets whose gradients are all in, in order, and moves the
 * started ones along. */
static void start_ready_buckets(tg_data_parallel *dp)
{
    while (dp->next_start < dp->n_buckets && dp->buckets[dp->next_start].waiting == 0) {
        bucket *bk = &dp->buckets[dp->next_start++];
        bk->work = tg_dist_allreduce_start(bk->flat, TG_DIST_MEAN);
        if (!bk->work) hook_failed(dp);
    }
    for (int b = 0; b < dp->next_start; b++)
        if (dp->buckets[b].work && tg_dist_test(dp->buckets[b].work) < 0) hook_failed(dp);
}

/* Puts parameter k's gradient (zeros when it has none) into its slot. */
static void bring_in(tg_data_parallel *dp, int k)
{
    param *p = &dp->order[k];
    tg_tensor *grad = tg_grad(p->tensor);
    if ((grad ? tg_copy_(p->slot, grad) : tg_fill_(p->slot, 0.0)) != 0) hook_failed(dp);
    tg_release(grad);
    p->in = true;
    dp->buckets[p->bucket].waiting--;
}

/* The engine's hook: a leaf's gradient is final. */
static void on_gradient_ready(tg_tensor *leaf, void *ctx)
{
    tg_data_parallel *dp = ctx;
    for (int k = 0; k < dp->n; k++) {
        if (dp->order[k].tensor != leaf || dp->order[k].in) continue;
        bring_in(dp, k);
        start_ready_buckets(dp);
        return;
    }
}

static void begin_backward(tg_data_parallel *dp)
{
    for (int b = 0; b < dp->n_buckets; b++) dp->buckets[b].waiting = dp->buckets[b].count;
    for (int k = 0; k < dp->n; k++) dp->order[k].in = false;
    dp->next_start = 0;
    dp->failed = false;
}

/* After the walk: the gradients not reported (zeros) and the buckets not
 * started yet, then every bucket waited for. */
static int finish_buckets(tg_data_parallel *dp)
{
    for (int k = 0; k < dp->n; k++)
        if (!dp->order[k].in) bring_in(dp, k);
    start_ready_buckets(dp);
    int rc = 0;
    for (int b = 0; b < dp->n_buckets; b++) {
        if (tg_dist_wait(dp->buckets[b].work)) rc = -1;
        dp->buckets[b].work = NULL;
    }
    return rc;
}

/* The averaged gradients back into the parameters' gradients. */
static int bring_out(tg_data_parallel *dp)
{
    for (int k = 0; k < dp->n; k++) {
        tg_tensor *grad = tg_grad(dp->order[k].tensor);
        int rc = grad ? tg_copy_(grad, dp->order[k].slot)
                      : TG_FAIL("data parallel: parameter %s received no gradient in this backward; every "
                                "parameter must take part in the loss, on every rank", dp->order[k].name);
        tg_release(grad);
        if (rc) return -1;
    }
    return 0;
}

int tg_data_parallel_backward(tg_data_parallel *dp, tg_tensor *loss)
{
    if (TG_NEED("data_parallel_backward", dp, loss)) return -1;
    double start = tg_train_clock();
    dp->stats.backwards++;
    if (tg_dist_world_size() == 1) {
        int rc = tg_backward(loss, NULL);
        dp->stats.backward_seconds += tg_train_clock() - start;
        return rc;
    }
    begin_backward(dp);
    int rc = tg_backward_with_hook(loss, NULL, on_gradient_ready, dp);
    char walk_error[512];
    if (rc) snprintf(walk_error, sizeof walk_error, "%s", tg_last_error());
    double walked = tg_train_clock();
    dp->stats.backward_seconds += walked - start;
    int comm = finish_buckets(dp);
    dp->stats.wait_seconds += tg_train_clock() - walked;
    if (rc) return TG_FAIL("%s", walk_error);
    if (dp->failed) return TG_FAIL("%s", dp->message);
    return comm ? -1 : bring_out(dp);
}

/* Copies the running statistics into their slots (in) or back (out). */
static int move_statistics(tg_data_parallel *dp, bool in)
{
    int rc = 0;
    for (int i = 0; !rc && i < dp->statistics.n; i++) {
        tg_tensor *t = dp->statistics.items[i].tensor, *slot = dp->statistics_slots[i];
        rc = in ? tg_copy_(slot, t) : tg_copy_(t, slot);
    }
    return rc;
}

int tg_data_parallel_sync_statistics(tg_data_parallel *dp)
{
    if (TG_NEED("data_parallel_sync_statistics", dp)) return -1;
    if (!dp->statistics_flat || tg_numel(dp->statistics_flat) == 0) return 0;
    tg_no_grad_enter();
    int rc = move_statistics(dp, true) || tg_dist_allreduce(dp->statistics_flat, TG_DIST_MEAN) ||
             move_statistics(dp, false);
    tg_no_grad_exit();
    return rc ? -1 : 0;
}

tg_data_parallel_stats tg_data_parallel_stats_of(const tg_data_parallel *dp)
{
    if (TG_NEED("data_parallel_stats_of", dp)) return (tg_data_parallel_stats){0};
    return dp->stats;
}

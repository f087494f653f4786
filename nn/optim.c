/* SGD and AdamW over named parameters (see optim.h); the arithmetic is in
 * tensor/update.c. */
#include "nn/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "tensor/internal/check.h"
#include "tensor/internal/update.h"
#include "tensor/internal/view.h"

typedef enum { OPT_SGD, OPT_ADAMW } opt_kind;

/* Per-parameter state: SGD uses a (momentum buffer); AdamW a and b
 * (first and second moments). NULL until the first step. */
typedef struct {
    tg_tensor *a, *b;
    int64_t step;
} param_state;

struct tg_optimizer {
    opt_kind kind;
    tg_sgd_opts sgd;
    tg_adamw_opts adamw;
    tg_tensor_list params;
    param_state *state;
};

static const char *state_names[2][2] = {{"momentum_buffer", NULL}, {"exp_avg", "exp_avg_sq"}};

static tg_optimizer *optimizer_new(opt_kind kind, const tg_tensor_list *params, double lr)
{
    const char *name = kind == OPT_SGD ? "sgd" : "adamw";
    if (TG_NEED(name, params)) return NULL;
    if (params->n == 0 || !(lr >= 0)) {
        TG_FAIL("%s: needs parameters and a learning rate >= 0", name);
        return NULL;
    }
    tg_optimizer *o = calloc(1, sizeof *o);
    if (o) o->state = calloc((size_t)params->n, sizeof *o->state);
    for (int i = 0; o && o->state && i < params->n; i++) {
        if (tg_tensor_list_add(&o->params, params->items[i].name, params->items[i].tensor)) break;
    }
    if (!o || !o->state || o->params.n != params->n) {
        tg_optimizer_free(o);
        TG_FAIL("%s: out of memory", name);
        return NULL;
    }
    o->kind = kind;
    return o;
}

tg_optimizer *tg_sgd_new(const tg_tensor_list *params, tg_sgd_opts opts)
{
    tg_optimizer *o = optimizer_new(OPT_SGD, params, opts.lr);
    if (o) o->sgd = opts;
    return o;
}

tg_optimizer *tg_adamw_new(const tg_tensor_list *params, tg_adamw_opts opts)
{
    tg_optimizer *o = optimizer_new(OPT_ADAMW, params, opts.lr);
    if (o) o->adamw = opts;
    return o;
}

void tg_optimizer_free(tg_optimizer *o)
{
    if (!o) return;
    for (int i = 0; o->state && i < o->params.n; i++) {
        tg_release(o->state[i].a);
        tg_release(o->state[i].b);
    }
    free(o->state);
    tg_tensor_list_clear(&o->params);
    free(o);
}

/* Makes the zeroed state tensors this kind needs for parameter p. */
static int ensure_state(tg_optimizer *o, param_state *s, const tg_tensor *p)
{
    bool need_a = o->kind == OPT_ADAMW || o->sgd.momentum != 0.0, need_b = o->kind == OPT_ADAMW;
    if (need_a && !s->a && !(s->a = tg_zeros_like(p))) return -1;
    if (need_b && !s->b && !(s->b = tg_zeros_like(p))) return -1;
    return 0;
}

static int step_one(tg_optimizer *o, int i)
{
    tg_tensor *p = o->params.items[i].tensor, *g = tg_grad(p);
    param_state *s = &o->state[i];
    if (!g) return 0;
    tg_tensor *gc = tg_k_contiguous(g);
    int rc = gc ? ensure_state(o, s, p) : -1;
    if (!rc && o->kind == OPT_SGD)
        rc = tg_k_sgd_update_(p, gc, s->a, o->sgd.lr, o->sgd.momentum, o->sgd.dampening, o->sgd.weight_decay,
                              o->sgd.nesterov, s->step == 0);
    else if (!rc)
        rc = tg_k_adamw_update_(p, gc, s->a, s->b, o->adamw.lr, o->adamw.beta1, o->adamw.beta2, o->adamw.eps,
                                o->adamw.weight_decay, s->step + 1);
    if (!rc) s->step++;
    tg_release(gc);
    tg_release(g);
    return rc;
}

int tg_optimizer_step(tg_optimizer *o)
{
    if (TG_NEED("optimizer_step", o)) return -1;
    tg_no_grad_enter();
    int rc = 0;
    for (int i = 0; !rc && i < o->params.n; i++) rc = step_one(o, i);
    tg_no_grad_exit();
    return rc;
}

void tg_optimizer_zero_grad(tg_optimizer *o)
{
    if (TG_NEED("optimizer_zero_grad", o)) return;
    for (int i = 0; i < o->params.n; i++) tg_zero_grad(o->params.items[i].tensor);
}

void tg_optimizer_set_lr(tg_optimizer *o, double lr)
{
    if (TG_NEED("optimizer_set_lr", o)) return;
    if (o->kind == OPT_SGD) o->sgd.lr = lr;
    else o->adamw.lr = lr;
}

double tg_optimizer_lr(const tg_optimizer *o)
{
    if (TG_NEED("optimizer_lr", o)) return NAN;
    return o->kind == OPT_SGD ? o->sgd.lr : o->adamw.lr;
}

static int add_named(tg_tensor_list *out, const char *param, const char *what, tg_tensor *t)
{
    char name[600];
    int n = snprintf(name, sizeof name, "%s.%s", param, what);
    if (n < 0 || (size_t)n >= sizeof name) return TG_FAIL("optimizer_state: name %s.%s is too long", param, what);
    return tg_tensor_list_add(out, name, t);
}

int tg_optimizer_state(const tg_optimizer *o, tg_tensor_list *out)
{
    if (TG_NEED("optimizer_state", o, out)) return -1;
    for (int i = 0; i < o->params.n; i++) {
        const param_state *s = &o->state[i];
        const char *pname = o->params.items[i].name;
        if (s->a && add_named(out, pname, state_names[o->kind][0], s->a)) return -1;
        if (s->b && add_named(out, pname, state_names[o->kind][1], s->b)) return -1;
        if (o->kind != OPT_ADAMW) continue;
        tg_tensor *step = tg_from_data(0, NULL, TG_INT64, &s->step);
        int rc = step ? add_named(out, pname, "step", step) : -1;
        tg_release(step);
        if (rc) return -1;
    }
    return 0;
}

/* The parameter index and state slot (0: a, 1: b, 2: step) that key names,
 * or -1 with error. */
static int parse_key(const tg_optimizer *o, const char *key, int *slot)
{
    const char *dot = strrchr(key, '.');
    if (dot) {
        const char *what = dot + 1;
        *slot = strcmp(what, "step") == 0 ? 2 : -1;
        for (int k = 0; k < 2 && *slot < 0; k++)
            if (state_names[o->kind][k] && strcmp(what, state_names[o->kind][k]) == 0) *slot = k;
        for (int i = 0; *slot >= 0 && i < o->params.n; i++)
            if (strlen(o->params.items[i].name) == (size_t)(dot - key) &&
                strncmp(o->params.items[i].name, key, (size_t)(dot - key)) == 0)
                return i;
    }
    return TG_FAIL("optimizer_load_state: key %s names no state of this optimizer", key);
}

/* Checks that src can restore what key names; sets its parameter index
 * and slot (0: a, 1: b, 2: step). */
static int check_one(const tg_optimizer *o, const char *key, const tg_tensor *src, int *index, int *slot)
{
    *slot = -1;
    *index = parse_key(o, key, slot);
    if (*index < 0) return -1;
    if (*slot == 2)
        return src->dtype == TG_INT64 && tg_numel(src) == 1
                   ? 0
                   : TG_FAIL("optimizer_load_state: %s must be one int64", key);
    if (!tg_same_shape(src, o->params.items[*index].tensor) || src->dtype != TG_FLOAT32)
        return TG_FAIL("optimizer_load_state: %s does not match its parameter's shape", key);
    return 0;
}

static int apply_one(tg_optimizer *o, int i, int slot, tg_tensor *src)
{
    param_state *s = &o->state[i];
    if (slot == 2) {
        s->step = tg_get_i64(src, (int64_t[TG_MAX_DIMS]){0});
        return 0;
    }
    if (ensure_state(o, s, o->params.items[i].tensor)) return -1;
    if (o->kind == OPT_SGD && s->step == 0) s->step = 1; /* a saved buffer means steps were taken */
    return tg_k_copy_(slot == 0 ? s->a : s->b, src);
}

int tg_optimizer_load_state(tg_optimizer *o, const tg_tensor_list *state)
{
    if (TG_NEED("optimizer_load_state", o, state)) return -1;
    int index, slot;
    for (int i = 0; i < state->n; i++) /* all checked before any is applied */
        if (check_one(o, state->items[i].name, state->items[i].tensor, &index, &slot)) return -1;
    for (int i = 0; i < state->n; i++) {
        check_one(o, state->items[i].name, state->items[i].tensor, &index, &slot);
        if (apply_one(o, index, slot, state->items[i].tensor)) return -1;
    }
    return 0;
}

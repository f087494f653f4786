/* SGD, Adam, AdamW and RMSprop over named parameters (see optim.h); the
 * arithmetic is in tensor/update.c. */
#include "nn/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "tensor/internal/check.h"
#include "tensor/internal/update.h"
#include "tensor/internal/view.h"

typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP, OPT_KINDS } opt_kind;

enum { BUFFERS = 3 };

/* Per-parameter state: the kind's buffers (state_names), NULL until the
 * first step or where the options need none, and the steps taken. */
typedef struct {
    tg_tensor *buf[BUFFERS];
    int64_t step;
} param_state;

struct tg_optimizer {
    opt_kind kind;
    double lr;
    tg_sgd_opts sgd;
    tg_adam_opts adam;
    tg_rmsprop_opts rmsprop;
    tg_tensor_list params;
    param_state *state;
};

static const char *const kind_names[OPT_KINDS] = {"sgd", "adam", "adamw", "rmsprop"};

/* PyTorch's names of each kind's buffers, in param_state.buf order. */
static const char *const state_names[OPT_KINDS][BUFFERS] = {
    {"momentum_buffer", NULL, NULL},
    {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    {"square_avg", "momentum_buffer", "grad_avg"},
};

tg_adam_opts tg_adam_default_opts(void) { return (tg_adam_opts){1e-3, 0.9, 0.999, 1e-8, 0.0, false}; }

tg_adamw_opts tg_adamw_default_opts(void) { return (tg_adamw_opts){1e-3, 0.9, 0.999, 1e-8, 1e-2, false}; }

tg_rmsprop_opts tg_rmsprop_default_opts(void) { return (tg_rmsprop_opts){1e-2, 0.99, 1e-8, 0.0, 0.0, false}; }

static tg_optimizer *optimizer_new(opt_kind kind, const tg_tensor_list *params, double lr)
{
    const char *name = kind_names[kind];
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
    o->lr = lr;
    return o;
}

/* Fails unless a hyperparameter lies in [lo, hi) (hi_open) or [lo, hi]. */
static int check_range(const char *op, const char *what, double v, double lo, double hi, bool hi_open)
{
    if (v >= lo && (hi_open ? v < hi : v <= hi)) return 0;
    return TG_FAIL("%s: %s %g is outside [%g, %g%c", op, what, v, lo, hi, hi_open ? ')' : ']');
}

tg_optimizer *tg_sgd_new(const tg_tensor_list *params, tg_sgd_opts opts)
{
    tg_optimizer *o = optimizer_new(OPT_SGD, params, opts.lr);
    if (o) o->sgd = opts;
    return o;
}

static tg_optimizer *adam_new(opt_kind kind, const tg_tensor_list *params, tg_adam_opts opts)
{
    const char *op = kind_names[kind];
    if (check_range(op, "beta1", opts.beta1, 0, 1, true) || check_range(op, "beta2", opts.beta2, 0, 1, true) ||
        check_range(op, "eps", opts.eps, 0, INFINITY, false) ||
        check_range(op, "weight_decay", opts.weight_decay, 0, INFINITY, false))
        return NULL;
    tg_optimizer *o = optimizer_new(kind, params, opts.lr);
    if (o) o->adam = opts;
    return o;
}

tg_optimizer *tg_adam_new(const tg_tensor_list *params, tg_adam_opts opts) { return adam_new(OPT_ADAM, params, opts); }

tg_optimizer *tg_adamw_new(const tg_tensor_list *params, tg_adamw_opts opts)
{
    return adam_new(OPT_ADAMW, params, opts);
}

tg_optimizer *tg_rmsprop_new(const tg_tensor_list *params, tg_rmsprop_opts opts)
{
    const char *op = "rmsprop";
    if (check_range(op, "alpha", opts.alpha, 0, 1, false) || check_range(op, "eps", opts.eps, 0, INFINITY, false) ||
        check_range(op, "weight_decay", opts.weight_decay, 0, INFINITY, false) ||
        check_range(op, "momentum", opts.momentum, 0, INFINITY, false))
        return NULL;
    tg_optimizer *o = optimizer_new(OPT_RMSPROP, params, opts.lr);
    if (o) o->rmsprop = opts;
    return o;
}

void tg_optimizer_free(tg_optimizer *o)
{
    if (!o) return;
    for (int i = 0; o->state && i < o->params.n; i++)
        for (int k = 0; k < BUFFERS; k++) tg_release(o->state[i].buf[k]);
    free(o->state);
    tg_tensor_list_clear(&o->params);
    free(o);
}

/* Whether this optimizer's options use buffer k of its kind. */
static bool uses_buffer(const tg_optimizer *o, int k)
{
    switch (o->kind) {
    case OPT_SGD: return k == 0 && o->sgd.momentum != 0.0;
    case OPT_ADAM:
    case OPT_ADAMW: return k < 2 || o->adam.amsgrad;
    case OPT_RMSPROP: return k == 0 || (k == 1 && o->rmsprop.momentum > 0) || (k == 2 && o->rmsprop.centered);
    default: return false;
    }
}

/* Makes the zeroed buffers this optimizer needs for parameter p. */
static int ensure_state(tg_optimizer *o, param_state *s, const tg_tensor *p)
{
    for (int k = 0; k < BUFFERS; k++)
        if (uses_buffer(o, k) && !s->buf[k] && !(s->buf[k] = tg_zeros_like(p))) return -1;
    return 0;
}

/* The update of one parameter p with gradient g and state s. */
static int update(const tg_optimizer *o, tg_tensor *p, tg_tensor *g, const param_state *s)
{
    tg_tensor *const *b = s->buf;
    if (o->kind == OPT_SGD)
        return tg_k_sgd_update_(p, g, b[0], o->lr, o->sgd.momentum, o->sgd.dampening, o->sgd.weight_decay,
                                o->sgd.nesterov, s->step == 0);
    if (o->kind == OPT_RMSPROP) {
        const tg_rmsprop_opts *r = &o->rmsprop;
        return tg_k_rmsprop_update_(p, g, b[0], b[2], b[1],
                                    (tg_rmsprop_step){o->lr, r->alpha, r->eps, r->weight_decay, r->momentum});
    }
    const tg_adam_opts *a = &o->adam;
    tg_adam_step step = {o->lr, a->beta1, a->beta2, a->eps, a->weight_decay, o->kind == OPT_ADAMW, s->step + 1};
    return tg_k_adam_update_(p, g, b[0], b[1], b[2], step);
}

static int step_one(tg_optimizer *o, int i)
{
    tg_tensor *p = o->params.items[i].tensor, *g = tg_grad(p);
    param_state *s = &o->state[i];
    if (!g) return 0;
    tg_tensor *gc = tg_k_contiguous(g);
    int rc = gc ? ensure_state(o, s, p) : -1;
    if (!rc) rc = update(o, p, gc, s);
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
    o->lr = lr;
}

double tg_optimizer_lr(const tg_optimizer *o)
{
    if (TG_NEED("optimizer_lr", o)) return NAN;
    return o->lr;
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
        for (int k = 0; k < BUFFERS; k++)
            if (s->buf[k] && add_named(out, pname, state_names[o->kind][k], s->buf[k])) return -1;
        if (o->kind == OPT_SGD) continue;
        tg_tensor *step = tg_from_data(0, NULL, TG_INT64, &s->step);
        int rc = step ? add_named(out, pname, "step", step) : -1;
        tg_release(step);
        if (rc) return -1;
    }
    return 0;
}

/* The slot of the step count among a parameter's state, after its
 * buffers. */
enum { STEP_SLOT = BUFFERS };

/* The parameter index and state slot (a buffer, or STEP_SLOT) that key
 * names, or -1 with error. */
static int parse_key(const tg_optimizer *o, const char *key, int *slot)
{
    const char *dot = strrchr(key, '.');
    if (dot) {
        const char *what = dot + 1;
        *slot = strcmp(what, "step") == 0 && o->kind != OPT_SGD ? STEP_SLOT : -1;
        for (int k = 0; k < BUFFERS && *slot < 0; k++)
            if (uses_buffer(o, k) && strcmp(what, state_names[o->kind][k]) == 0) *slot = k;
        for (int i = 0; *slot >= 0 && i < o->params.n; i++)
            if (strlen(o->params.items[i].name) == (size_t)(dot - key) &&
                strncmp(o->params.items[i].name, key, (size_t)(dot - key)) == 0)
                return i;
    }
    return TG_FAIL("optimizer_load_state: key %s names no state of this optimizer", key);
}

/* Checks that src can restore what key names; sets its parameter index
 * and slot. */
static int check_one(const tg_optimizer *o, const char *key, const tg_tensor *src, int *index, int *slot)
{
    *slot = -1;
    *index = parse_key(o, key, slot);
    if (*index < 0) return -1;
    if (*slot == STEP_SLOT)
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
    if (slot == STEP_SLOT) {
        s->step = tg_get_i64(src, (int64_t[TG_MAX_DIMS]){0});
        return 0;
    }
    if (ensure_state(o, s, o->params.items[i].tensor)) return -1;
    if (o->kind == OPT_SGD && s->step == 0) s->step = 1; /* a saved buffer means steps were taken */
    return tg_k_copy_(s->buf[slot], src);
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

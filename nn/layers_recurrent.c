/* Recurrent layers, as torch.nn: LSTM and GRU of one or more layers, with
 * PyTorch's parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0,
 * bias_hh_l0, ...) and initialisation (U(-1/sqrt(H), 1/sqrt(H))). Each
 * layer maps the whole sequence through W_ih in one linear op, then steps
 * through time with W_hh and the fused cell (tg_lstm_cell, tg_gru_cell). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "autograd/scope.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "tensor/internal/check.h"

enum { MAX_LAYERS = 64 };

typedef struct {
    tg_module base;
    bool lstm;
    int64_t input_size, hidden;
    tg_rnn_opts opts; /* num_layers filled in */
} rnn_module;

/* A layer's parameters, in PyTorch's order. */
typedef enum { WEIGHT_IH, WEIGHT_HH, BIAS_IH, BIAS_HH } param_kind;
static const char *const kind_names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};

/* Layer l's parameter of kind, borrowed; NULL for a bias of a layer without. */
static tg_tensor *param(const rnn_module *r, param_kind kind, int l)
{
    int per = r->opts.no_bias ? 2 : 4;
    return (int)kind < per ? r->base.params.items[l * per + (int)kind].tensor : NULL;
}

/* The states (layers, N, H) given, or zeros, as a tensor the scope holds. */
static tg_tensor *initial_state(const rnn_module *r, tg_tensor *given, int64_t batch)
{
    if (given) return given;
    return tg_scoped(tg_zeros(TG_SHAPE(r->opts.num_layers, batch, r->hidden), TG_FLOAT32));
}

/* One layer over the sequence x (L, N, in): its outputs (L, N, H) and its
 * last h (and c) in *h, *c. */
static tg_tensor *run_layer(const rnn_module *r, int l, tg_tensor *x, tg_tensor **h, tg_tensor **c, tg_tensor **outs)
{
    int64_t steps = x->shape[0];
    tg_tensor *w_hh = param(r, WEIGHT_HH, l), *b_hh = param(r, BIAS_HH, l);
    tg_tensor *xg = tg_linear(x, param(r, WEIGHT_IH, l), param(r, BIAS_IH, l));
    for (int64_t t = 0; xg && t < steps; t++) {
        tg_tensor *xt = tg_select(xg, 0, t), *hg = tg_linear(*h, w_hh, b_hh);
        if (r->lstm) {
            if (tg_lstm_cell(tg_add(xt, hg), *c, h, c)) return NULL;
        } else if (!(*h = tg_gru_cell(xt, hg, *h))) {
            return NULL;
        }
        outs[t] = *h;
    }
    return xg ? tg_stack((int)steps, outs, 0) : NULL;
}

/* The layers in turn, in the caller's scope: the last layer's outputs,
 * each layer's last states into h_last and c_last. */
static tg_tensor *run_layers(const rnn_module *r, tg_tensor *x, tg_tensor *h0, tg_tensor *c0, tg_tensor **h_last,
                             tg_tensor **c_last)
{
    tg_tensor **outs = malloc((size_t)x->shape[0] * sizeof *outs);
    if (!outs) {
        TG_FAIL("%s: out of memory", r->base.type->name);
        return NULL;
    }
    tg_tensor *seq = x;
    for (int l = 0; seq && l < r->opts.num_layers; l++) {
        h_last[l] = tg_select(h0, 0, l);
        c_last[l] = r->lstm ? tg_select(c0, 0, l) : NULL;
        seq = run_layer(r, l, seq, &h_last[l], &c_last[l], outs);
    }
    free(outs);
    return seq;
}

static int check_input(const rnn_module *r, const tg_tensor *x, const tg_tensor *h0, const tg_tensor *c0)
{
    const char *name = r->base.type->name;
    if (TG_NEED(name, x)) return -1;
    if (x->ndim != 3 || x->shape[2] != r->input_size || x->shape[0] == 0 || x->shape[1] == 0)
        return TG_FAIL("%s: input must be 3-D with %lld features and a step, got %d dims", name,
                       (long long)r->input_size, x->ndim);
    int64_t batch = x->shape[r->opts.batch_first ? 0 : 1];
    const tg_tensor *states[] = {h0, c0};
    for (int i = 0; i < 2; i++) {
        const tg_tensor *s = states[i];
        if (s && (s->ndim != 3 || s->shape[0] != r->opts.num_layers || s->shape[1] != batch ||
                  s->shape[2] != r->hidden))
            return TG_FAIL("%s: %s must be (%d, %lld, %lld)", name, i ? "c0" : "h0", r->opts.num_layers,
                           (long long)batch, (long long)r->hidden);
    }
    return 0;
}

static const tg_module_type lstm_type, gru_type;

tg_tensor *tg_nn_rnn_forward(tg_module *m, tg_tensor *x, tg_tensor *h0, tg_tensor *c0, tg_tensor **h_n, tg_tensor **c_n)
{
    if (h_n) *h_n = NULL;
    if (c_n) *c_n = NULL;
    if (TG_NEED("rnn_forward", m)) return NULL;
    if (m->type != &lstm_type && m->type != &gru_type) {
        TG_FAIL("rnn_forward: the module is a %s, not an LSTM or GRU", m->type->name);
        return NULL;
    }
    const rnn_module *r = (const rnn_module *)m;
    if (check_input(r, x, h0, c0)) return NULL;
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    bool bf = r->opts.batch_first;
    tg_tensor *seq = bf ? tg_transpose(x, 0, 1) : x, *h_last[MAX_LAYERS], *c_last[MAX_LAYERS];
    tg_tensor *out = run_layers(r, seq, initial_state(r, h0, seq->shape[1]),
                                r->lstm ? initial_state(r, c0, seq->shape[1]) : NULL, h_last, c_last);
    if (out && bf) out = tg_transpose(out, 0, 1);
    int layers = r->opts.num_layers;
    if (out && h_n) *h_n = tg_keep(tg_stack(layers, h_last, 0));
    if (out && c_n && r->lstm) *c_n = tg_keep(tg_stack(layers, c_last, 0));
    bool ok = out && (!h_n || *h_n) && (!c_n || !r->lstm || *c_n);
    return tg_scope_return(scope, ok ? out : NULL);
}

static tg_tensor *rnn_forward(tg_module *m, tg_tensor *x) { return tg_nn_rnn_forward(m, x, NULL, NULL, NULL, NULL); }

/* x, h0 and, for an LSTM, c0 (either state may be NULL: zeros). */
static tg_tensor *rnn_forward_n(tg_module *m, int n, tg_tensor *const *in)
{
    if (n > 3) {
        TG_FAIL("%s: takes the input and the initial states, not %d inputs", m->type->name, n);
        return NULL;
    }
    return tg_nn_rnn_forward(m, in[0], n > 1 ? in[1] : NULL, n > 2 ? in[2] : NULL, NULL, NULL);
}

static const tg_module_type lstm_type = {.name = "LSTM", .forward = rnn_forward, .forward_n = rnn_forward_n};
static const tg_module_type gru_type = {.name = "GRU", .forward = rnn_forward, .forward_n = rnn_forward_n};

/* Layer l's four (two without bias) parameters, U(-1/sqrt(H), 1/sqrt(H)). */
static int add_layer(rnn_module *r, int l, int gates, tg_rng *rng)
{
    int64_t in = l ? r->hidden : r->input_size, g = gates * r->hidden;
    const int64_t shapes[4][2] = {{g, in}, {g, r->hidden}, {g, 0}, {g, 0}};
    double bound = 1.0 / sqrt((double)r->hidden);
    for (int k = 0; k < (r->opts.no_bias ? 2 : 4); k++) {
        char name[32];
        snprintf(name, sizeof name, "%s_l%d", kind_names[k], l);
        tg_tensor *t = tg_empty(shapes[k][1] ? 2 : 1, shapes[k], TG_FLOAT32);
        if (tg_module_add_param(&r->base, name, t) || tg_init_uniform_(t, rng, -bound, bound)) return -1;
    }
    return 0;
}

static tg_module *rnn_new(const tg_module_type *type, int gates, int64_t input_size, int64_t hidden,
                          const tg_rnn_opts *opts, tg_rng *rng)
{
    tg_rnn_opts o = opts ? *opts : (tg_rnn_opts){0};
    if (!o.num_layers) o.num_layers = 1;
    if (input_size <= 0 || input_size > TG_LAYER_MAX_FEATURES || hidden <= 0 || hidden > TG_LAYER_MAX_FEATURES ||
        o.num_layers < 1 || o.num_layers > MAX_LAYERS) {
        TG_FAIL("%s: invalid sizes (input %lld, hidden %lld, layers %d)", type->name, (long long)input_size,
                (long long)hidden, o.num_layers);
        return NULL;
    }
    rnn_module *r = (rnn_module *)tg_module_new(type, sizeof *r);
    if (!r) return NULL;
    r->lstm = type == &lstm_type;
    r->input_size = input_size;
    r->hidden = hidden;
    r->opts = o;
    for (int l = 0; l < o.num_layers; l++)
        if (add_layer(r, l, gates, rng)) {
            tg_module_free(&r->base);
            return NULL;
        }
    return &r->base;
}

tg_module *tg_nn_lstm(int64_t input_size, int64_t hidden_size, const tg_rnn_opts *opts, tg_rng *rng)
{
    return rnn_new(&lstm_type, 4, input_size, hidden_size, opts, rng);
}

tg_module *tg_nn_gru(int64_t input_size, int64_t hidden_size, const tg_rnn_opts *opts, tg_rng *rng)
{
    return rnn_new(&gru_type, 3, input_size, hidden_size, opts, rng);
}

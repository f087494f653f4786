/* gpt_chars: a character-level GPT trained on text from the machine itself.
 *
 * The model is GPT's decoder-only transformer: token and position
 * embeddings, `layers` pre-LN blocks (LayerNorm, causal multi-head
 * self-attention, residual; LayerNorm, a GELU MLP of 4 x dim, residual;
 * tensorgrad's TransformerEncoderLayer with norm_first and causal set is
 * exactly such a block; dropout 0.1 in training), a final LayerNorm and
 * an output layer tied to the token embedding. It learns to predict each
 * next byte of the text with AdamW (weight decay on matrices only), a
 * learning rate warmed up linearly then annealed on a cosine, and the
 * gradients clipped by their norm. The default text is Debian's licence texts
 * (/usr/share/common-licenses, on every Debian system); the last tenth is
 * held out for the validation loss.
 *
 * It prints the training and validation losses falling, the training
 * throughput in tokens a second, and then a sample of generated text. It
 * exits 0 only if the validation loss fell below the text's unigram
 * entropy (what a model blind to context gets at best), so it doubles as a
 * test.
 *
 * --check FILE runs one training step from the weights and batch in FILE
 * (written by tools/make_fixtures_gpt.py with PyTorch's same model) and
 * compares the loss, every gradient and every updated weight with
 * PyTorch's: the parity test.
 *
 *   gpt_chars [--steps N] [--layers L] [--heads H] [--dim D] [--block T]
 *             [--batch B] [--text FILE] [--threads T] [--check FILE] ... */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorgrad.h"

typedef struct {
    long layers, heads, dim, block, batch, steps, warmup, eval_every, sample, seed, threads;
    double lr, min_lr, weight_decay, clip, dropout, temperature;
    const char *text, *prompt, *check;
} options;

typedef struct {
    tg_module *model;                   /* children wte, wpe, h, ln_f */
    tg_module *wte, *wpe, *blocks, *ln_f; /* borrowed from model */
    tg_optimizer *decayed, *undecayed;  /* AdamW on matrices; on biases and norms */
    tg_tensor_list params;
} gpt;

typedef struct {
    unsigned char *bytes; /* the text as token ids */
    long n, n_train;      /* all tokens; the first n_train train, the rest validate */
    int vocab;
    unsigned char byte_of[256]; /* token id -> byte */
} corpus;

static const tg_module_type gpt_type = {.name = "GPT"};

/* Debian's licence texts, in this order, when --text is not given. */
static const char *const default_texts[] = {
    "GPL-3", "GPL-2", "GPL-1", "LGPL-3", "LGPL-2.1", "LGPL-2", "GFDL-1.3", "GFDL-1.2",
    "Apache-2.0", "Artistic", "MPL-2.0", "MPL-1.1", "BSD", "CC0-1.0",
};

/* 0, 1 after --help, -1 on a bad flag. */
static int parse_options(int argc, char **argv, options *opt)
{
    *opt = (options){.layers = 4, .heads = 4, .dim = 128, .block = 64, .batch = 32, .steps = 2000,
                     .warmup = 100, .eval_every = 200, .sample = 400, .seed = 0, .threads = 2, .lr = 1e-3,
                     .min_lr = 1e-4, .weight_decay = 0.1, .clip = 1.0, .dropout = 0.1, .temperature = 0.8,
                     .text = "",
                     .prompt = "You may ", .check = ""};
    const tg_train_flag flags[] = {
        {"steps", TG_FLAG_LONG, &opt->steps, 1, 1e7, "training steps"},
        {"layers", TG_FLAG_LONG, &opt->layers, 1, 64, "transformer blocks"},
        {"heads", TG_FLAG_LONG, &opt->heads, 1, 64, "attention heads (dividing dim)"},
        {"dim", TG_FLAG_LONG, &opt->dim, 1, 8192, "embedding width"},
        {"block", TG_FLAG_LONG, &opt->block, 2, 8192, "context length in characters"},
        {"batch", TG_FLAG_LONG, &opt->batch, 1, 4096, "sequences a step"},
        {"lr", TG_FLAG_DOUBLE, &opt->lr, 0, 1, "peak learning rate"},
        {"min-lr", TG_FLAG_DOUBLE, &opt->min_lr, 0, 1, "learning rate at the end of the cosine"},
        {"warmup", TG_FLAG_LONG, &opt->warmup, 0, 1e7, "steps of linear warm-up"},
        {"weight-decay", TG_FLAG_DOUBLE, &opt->weight_decay, 0, 10, "AdamW's decay of the matrices"},
        {"clip", TG_FLAG_DOUBLE, &opt->clip, 0, 1e6, "largest gradient norm (0: no clipping)"},
        {"dropout", TG_FLAG_DOUBLE, &opt->dropout, 0, 0.9, "in the blocks: attention weights, MLP, residual branches"},
        {"eval-every", TG_FLAG_LONG, &opt->eval_every, 1, 1e7, "steps between validation losses"},
        {"sample", TG_FLAG_LONG, &opt->sample, 0, 1e6, "characters to generate at the end"},
        {"temperature", TG_FLAG_DOUBLE, &opt->temperature, 0.01, 10, "of the sampling"},
        {"prompt", TG_FLAG_STRING, &opt->prompt, 0, 0, "text the sample continues"},
        {"text", TG_FLAG_STRING, &opt->text, 0, 0, "a text file to learn (default: Debian's licences)"},
        {"seed", TG_FLAG_LONG, &opt->seed, 0, 2147483647.0, "weights, batches and sampling"},
        {"threads", TG_FLAG_LONG, &opt->threads, 1, 64, "compute threads"},
        {"check", TG_FLAG_STRING, &opt->check, 0, 0, "one step against PyTorch's from this fixture"},
    };
    int rc = tg_train_parse_flags(argc, argv, flags, TG_FLAG_COUNT(flags),
                                  "gpt_chars: a character-level GPT trained on a text, then sampled");
    if (!rc && opt->dim % opt->heads) rc = TG_FAIL("--heads %ld must divide --dim %ld", opt->heads, opt->dim);
    if (rc < 0) fprintf(stderr, "%s: %s\n", argv[0], tg_last_error());
    return rc;
}

/* ---- the text ---- */

/* Appends the file at path to c->bytes. */
static int append_file(corpus *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return TG_FAIL("cannot open %s", path);
    unsigned char buf[1 << 16];
    size_t got;
    int rc = 0;
    while (!rc && (got = fread(buf, 1, sizeof buf, f)) > 0) {
        unsigned char *grown = realloc(c->bytes, (size_t)c->n + got);
        if (!grown) rc = TG_FAIL("out of memory reading %s", path);
        else {
            memcpy(grown + c->n, buf, got);
            c->bytes = grown;
            c->n += (long)got;
        }
    }
    if (!rc && ferror(f)) rc = TG_FAIL("cannot read %s", path);
    fclose(f);
    return rc;
}

/* Reads the text and turns its bytes into token ids 0..vocab-1, in byte
 * order; the last tenth is for validation. */
static int load_corpus(corpus *c, const char *text, long block)
{
    char path[256];
    int n = (int)(sizeof default_texts / sizeof *default_texts);
    for (int i = 0; i < (*text ? 1 : n); i++) {
        snprintf(path, sizeof path, "/usr/share/common-licenses/%s", default_texts[i]);
        if (append_file(c, *text ? text : path)) return -1;
    }
    int id[256] = {0};
    for (long i = 0; i < c->n; i++) id[c->bytes[i]] = 1;
    for (int b = 0; b < 256; b++)
        if (id[b]) c->byte_of[c->vocab] = (unsigned char)b, id[b] = c->vocab++;
    for (long i = 0; i < c->n; i++) c->bytes[i] = (unsigned char)id[c->bytes[i]];
    c->n_train = c->n - c->n / 10;
    if (c->n / 10 <= block) return TG_FAIL("the text has %ld bytes: too short for a context of %ld", c->n, block);
    return 0;
}

/* The entropy of the training text's byte frequencies, in nats. */
static double unigram_entropy(const corpus *c)
{
    long count[256] = {0};
    for (long i = 0; i < c->n_train; i++) count[c->bytes[i]]++;
    double h = 0;
    for (int t = 0; t < c->vocab; t++)
        if (count[t]) h -= (double)count[t] / (double)c->n_train * log((double)count[t] / (double)c->n_train);
    return h;
}

/* batch windows of block + 1 tokens from [first, first + len) at random:
 * *inputs the first block tokens of each, *targets the last block; both
 * (batch, block) int64, held by the current scope. */
static int draw_batch(const corpus *c, long first, long len, const options *o, tg_rng *rng, tg_tensor **inputs,
                      tg_tensor **targets)
{
    *inputs = tg_scoped(tg_empty(TG_SHAPE(o->batch, o->block), TG_INT64));
    *targets = tg_scoped(tg_empty(TG_SHAPE(o->batch, o->block), TG_INT64));
    if (!*inputs || !*targets) return -1;
    int64_t *in = tg_data_i64(*inputs), *out = tg_data_i64(*targets);
    for (long b = 0; b < o->batch; b++) {
        long start = first + (long)(tg_rng_uniform(rng) * (double)(len - o->block)) % (len - o->block);
        for (long t = 0; t < o->block; t++) {
            in[b * o->block + t] = c->bytes[start + t];
            out[b * o->block + t] = c->bytes[start + t + 1];
        }
    }
    return 0;
}

/* ---- the model ---- */

static int build(gpt *g, int vocab, const options *o, tg_rng *rng)
{
    g->model = tg_module_new(&gpt_type, sizeof(tg_module));
    if (!g->model) return -1;
    const int64_t dim[] = {o->dim}, none = TG_EMBEDDING_NO_PADDING;
    if (tg_module_add_child(g->model, "wte", g->wte = tg_nn_embedding(vocab, o->dim, none, rng)) ||
        tg_module_add_child(g->model, "wpe", g->wpe = tg_nn_embedding(o->block, o->dim, none, rng)) ||
        tg_module_add_child(g->model, "h", g->blocks = tg_nn_sequential()))
        return -1;
    /* GPT-2's embeddings: N(0, 0.02), not nn.Embedding's N(0, 1). */
    if (tg_init_normal_(g->wte->params.items[0].tensor, rng, 0, 0.02) ||
        tg_init_normal_(g->wpe->params.items[0].tensor, rng, 0, 0.02))
        return -1;
    tg_encoder_layer_opts block = {.dim_feedforward = 4 * o->dim, .dropout = (float)o->dropout,
                                   .no_dropout = o->dropout == 0, .gelu = true, .batch_first = true,
                                   .norm_first = true, .causal = true};
    for (long i = 0; i < o->layers; i++) {
        block.seed = (uint64_t)o->seed * 1000 + (uint64_t)i; /* each block's dropout stream */
        if (tg_nn_sequential_append(g->blocks, tg_nn_transformer_encoder_layer(o->dim, o->heads, &block, rng)))
            return -1;
    }
    return tg_module_add_child(g->model, "ln_f", g->ln_f = tg_nn_layer_norm(1, dim, NULL));
}

/* Next-token logits (B, T, vocab) for token ids idx (B, T), in the caller's scope. */
static tg_tensor *forward(gpt *g, tg_tensor *idx)
{
    tg_tensor *wte = g->wte->params.items[0].tensor, *wpe = g->wpe->params.items[0].tensor;
    /* positions 0..T-1 embedded: the first T rows of wpe */
    tg_tensor *x = tg_add(tg_module_forward(g->wte, idx), tg_narrow(wpe, 0, 0, idx->shape[1]));
    x = tg_module_forward(g->ln_f, tg_module_forward(g->blocks, x));
    return tg_linear(x, wte, NULL); /* the output layer is the token embedding */
}

/* The mean cross-entropy of the next-token predictions, in the caller's scope. */
static tg_tensor *loss_of(gpt *g, tg_tensor *inputs, tg_tensor *targets)
{
    tg_tensor *logits = forward(g, inputs);
    if (!logits) return NULL;
    int64_t rows = tg_numel(targets);
    return tg_cross_entropy(tg_reshape(logits, TG_SHAPE(rows, logits->shape[2])),
                            tg_reshape(targets, TG_SHAPE(rows)), NULL);
}

/* AdamW with PyTorch's rule, in two groups as GPT-2 trains: weight decay
 * on the matrices (embeddings, projections), none on biases and norms. */
static int make_optimizers(gpt *g, const options *o)
{
    tg_tensor_list matrices = {0}, vectors = {0};
    int rc = tg_module_parameters(g->model, &g->params);
    for (int i = 0; !rc && i < g->params.n; i++) {
        tg_named_tensor *p = &g->params.items[i];
        rc = tg_tensor_list_add(p->tensor->ndim >= 2 ? &matrices : &vectors, p->name, p->tensor);
    }
    tg_adamw_opts adamw = tg_adamw_default_opts();
    adamw.beta2 = 0.99;
    adamw.weight_decay = o->weight_decay;
    if (!rc) rc = (g->decayed = tg_adamw_new(&matrices, adamw)) ? 0 : -1;
    adamw.weight_decay = 0;
    if (!rc) rc = (g->undecayed = tg_adamw_new(&vectors, adamw)) ? 0 : -1;
    tg_tensor_list_clear(&matrices);
    tg_tensor_list_clear(&vectors);
    return rc;
}

static void gpt_free(gpt *g)
{
    tg_optimizer_free(g->decayed);
    tg_optimizer_free(g->undecayed);
    tg_tensor_list_clear(&g->params);
    tg_module_free(g->model);
}

/* Warm-up from lr / warmup to lr, then a cosine down to min_lr at the last step. */
static double learning_rate(const options *o, long step)
{
    if (step < o->warmup) return o->lr * (double)(step + 1) / (double)o->warmup;
    return tg_lr_cosine(o->lr, o->min_lr, step - o->warmup, o->steps - o->warmup);
}

/* The gradients' norm clipped, then one AdamW update at step's learning rate. */
static int update(gpt *g, const options *o, long step)
{
    if (o->clip > 0 && tg_clip_grad_norm_(&g->params, o->clip, 2.0, true, NULL)) return -1;
    tg_optimizer_set_lr(g->decayed, learning_rate(o, step));
    tg_optimizer_set_lr(g->undecayed, learning_rate(o, step));
    int rc = tg_optimizer_step(g->decayed) || tg_optimizer_step(g->undecayed) ? -1 : 0;
    tg_optimizer_zero_grad(g->decayed);
    tg_optimizer_zero_grad(g->undecayed);
    return rc;
}

/* ---- training ---- */

/* The mean loss of 8 batches of split [first, first + len), drawn from a
 * fixed stream so every evaluation sees the same windows. */
static double evaluate(gpt *g, const corpus *c, long first, long len, const options *o)
{
    tg_rng rng = tg_rng_new((uint64_t)o->seed, 7);
    double sum = 0;
    tg_no_grad_enter();
    for (int i = 0; i < 8 && !isnan(sum); i++) {
        int scope = tg_scope_begin();
        tg_tensor *inputs, *targets, *loss = NULL;
        if (scope > 0 && !draw_batch(c, first, len, o, &rng, &inputs, &targets)) loss = loss_of(g, inputs, targets);
        sum = loss ? sum + tg_item(loss) : NAN;
        tg_scope_end(scope);
    }
    tg_no_grad_exit();
    return sum / 8;
}

/* One step: a batch, the loss, its gradients, the update; the loss into *loss. */
static int train_step(gpt *g, const corpus *c, const options *o, long step, tg_rng *rng, double *loss)
{
    int scope = tg_scope_begin();
    if (scope < 0) return -1;
    tg_tensor *inputs, *targets, *l = NULL;
    if (!draw_batch(c, 0, c->n_train, o, rng, &inputs, &targets)) l = loss_of(g, inputs, targets);
    int rc = !l || tg_backward(l, NULL) || update(g, o, step) ? -1 : 0;
    if (!rc) *loss = tg_item(l);
    tg_scope_end(scope);
    return rc;
}

/* Trains, printing losses; the last validation loss into *val. */
static int train(gpt *g, const corpus *c, const options *o, tg_rng *rng, double *val)
{
    double window = 0, busy = 0;
    long in_window = 0;
    for (long s = 0; s < o->steps; s++) {
        double loss, start = tg_train_clock();
        if (train_step(g, c, o, s, rng, &loss)) return -1;
        busy += tg_train_clock() - start;
        window += loss, in_window++;
        if ((s + 1) % o->eval_every && s + 1 < o->steps) continue;
        tg_module_train(g->model, false);
        *val = evaluate(g, c, c->n_train, c->n - c->n_train, o);
        tg_module_train(g->model, true);
        printf("step %5ld  train loss %.4f  val loss %.4f  lr %.2e  %.0f tokens/s\n", s + 1,
               window / (double)in_window, *val, learning_rate(o, s),
               (double)((s + 1) * o->batch * o->block) / busy);
        fflush(stdout);
        window = 0, in_window = 0;
        if (isnan(*val)) return -1;
    }
    printf("trained %ld steps in %.1f s: %.0f tokens/s\n", o->steps, busy,
           (double)(o->steps * o->batch * o->block) / busy);
    return 0;
}

/* ---- sampling ---- */

/* A token drawn from softmax(logits / temperature). */
static int draw_token(const float *logits, int vocab, double temperature, tg_rng *rng)
{
    double p[256], sum = 0, top = -INFINITY;
    for (int v = 0; v < vocab; v++) top = fmax(top, logits[v]);
    for (int v = 0; v < vocab; v++) sum += p[v] = exp((logits[v] - top) / temperature);
    double u = tg_rng_uniform(rng) * sum;
    for (int v = 0; v < vocab; v++)
        if ((u -= p[v]) < 0) return v;
    return vocab - 1;
}

/* Prints the prompt (bytes the text lacks are dropped) and o->sample
 * generated characters after it, each conditioned on the last block before it. */
static int sample(gpt *g, const corpus *c, const options *o, tg_rng *rng)
{
    long n = 0, cap = (long)strlen(o->prompt) + o->sample + 1;
    int64_t *tokens = malloc((size_t)cap * sizeof *tokens);
    if (!tokens) return TG_FAIL("out of memory");
    for (const char *p = o->prompt; *p; p++)
        for (int v = 0; v < c->vocab; v++)
            if (c->byte_of[v] == (unsigned char)*p) tokens[n++] = v;
    if (!n) tokens[n++] = 0;
    printf("---- sample (temperature %.2f) ----\n", o->temperature);
    for (long i = 0; i < n; i++) putchar(c->byte_of[tokens[i]]);
    tg_module_train(g->model, false);
    tg_no_grad_enter();
    int rc = 0;
    for (long i = 0; !rc && i < o->sample; i++) {
        int scope = tg_scope_begin();
        long len = n < o->block ? n : o->block;
        tg_tensor *idx = tg_scoped(tg_from_data(TG_SHAPE(1, len), TG_INT64, tokens + n - len));
        tg_tensor *logits = idx ? tg_contiguous(tg_narrow(forward(g, idx), 1, len - 1, 1)) : NULL;
        if (!logits) rc = -1;
        else putchar(c->byte_of[tokens[n++] = draw_token(tg_data_f32(logits), c->vocab, o->temperature, rng)]);
        tg_scope_end(scope);
    }
    tg_no_grad_exit();
    printf("\n----\n");
    free(tokens);
    return rc;
}

/* ---- the parity check ---- */

/* Whether the fixture's `prefix + name` matches t within tol; an error naming it if not. */
static int matches(const tg_tensor_list *fixture, const char *prefix, const char *name, tg_tensor *t, double tol)
{
    char key[256];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    tg_tensor *want = tg_tensor_list_get(fixture, key);
    int close = want && t ? tg_allclose(t, want, tol, tol, false) : -1;
    tg_release(want);
    return close == 1 ? 0 : TG_FAIL("check: %s differs from PyTorch's (or is missing)", key);
}

/* Whether the updated weight p matches PyTorch's "updated.<name>" within
 * tol, except where PyTorch's gradient is rounding noise (under 1e-6 of
 * the tensor's largest): Adam's first step divides a gradient by its own
 * size, so it moves by +-lr whatever the noise's sign. Those elements
 * (the key projection's bias: attention's softmax ignores it, so its true
 * gradient is 0) are counted into *skipped. */
static int update_matches(const tg_tensor_list *fixture, const char *name, tg_tensor *p, double tol, long *skipped)
{
    char key[256];
    snprintf(key, sizeof key, "grad.%s", name);
    tg_tensor *grad = tg_tensor_list_get(fixture, key);
    snprintf(key, sizeof key, "updated.%s", name);
    tg_tensor *want = tg_tensor_list_get(fixture, key);
    int rc = grad && want && tg_numel(want) == tg_numel(p) && tg_numel(grad) == tg_numel(p) ? 0 : -1;
    const float *g = rc ? NULL : tg_data_f32(grad), *w = rc ? NULL : tg_data_f32(want), *v = tg_data_f32(p);
    float largest = 0;
    for (int64_t i = 0; !rc && i < tg_numel(p); i++) largest = fmaxf(largest, fabsf(g[i]));
    for (int64_t i = 0; !rc && i < tg_numel(p); i++) {
        if (fabsf(g[i]) <= 1e-6f * largest) ++*skipped;
        else if (fabs((double)v[i] - w[i]) > tol * (1 + fabs((double)w[i]))) rc = -1;
    }
    tg_release(grad);
    tg_release(want);
    return rc ? TG_FAIL("check: %s differs from PyTorch's (or is missing)", key) : 0;
}

/* One step from the fixture's weights and batch ("model.*", "inputs",
 * "targets"): the loss, every gradient (before clipping) and every weight
 * after the update against PyTorch's ("loss", "grad.*", "updated.*"). */
static int check_step(const options *o)
{
    tg_tensor_list fixture = {0};
    gpt g = {0};
    tg_rng rng = tg_rng_new(0, 0);
    int rc = tg_safetensors_load(o->check, &fixture, NULL);
    tg_tensor *wte = rc ? NULL : tg_tensor_list_get(&fixture, "model.wte.weight");
    if (!rc) rc = wte ? build(&g, (int)wte->shape[0], o, &rng) : TG_FAIL("%s: no model.wte.weight", o->check);
    if (!rc) rc = tg_module_load_state_dict_prefixed(g.model, &fixture, "model.", NULL, true);
    if (!rc) rc = make_optimizers(&g, o);
    int scope = tg_scope_begin();
    tg_tensor *inputs = tg_scoped(tg_tensor_list_get(&fixture, "inputs"));
    tg_tensor *targets = tg_scoped(tg_tensor_list_get(&fixture, "targets"));
    tg_tensor *loss = !rc && inputs && targets ? loss_of(&g, inputs, targets) : NULL;
    if (!rc) rc = loss && !tg_backward(loss, NULL) ? 0 : -1;
    if (!rc) rc = matches(&fixture, "", "loss", loss, 1e-5);
    for (int i = 0; !rc && i < g.params.n; i++)
        rc = matches(&fixture, "grad.", g.params.items[i].name, tg_scoped(tg_grad(g.params.items[i].tensor)), 1e-4);
    if (!rc) rc = update(&g, o, 0);
    long skipped = 0;
    for (int i = 0; !rc && i < g.params.n; i++)
        rc = update_matches(&fixture, g.params.items[i].name, g.params.items[i].tensor, 1e-5, &skipped);
    if (!rc)
        printf("check: one step matches PyTorch's: loss %.6f, %d gradients and updated weights (%ld elements with "
               "a gradient of rounding noise not compared after the update)\n",
               tg_item(loss), g.params.n, skipped);
    tg_scope_end(scope);
    tg_release(wte);
    tg_tensor_list_clear(&fixture);
    gpt_free(&g);
    return rc;
}

/* ---- main ---- */

static int run(const options *o)
{
    corpus c = {0};
    gpt g = {0};
    tg_rng init = tg_rng_new((uint64_t)o->seed, 0), rng = tg_rng_new((uint64_t)o->seed, 1);
    double val = NAN;
    int rc = load_corpus(&c, o->text, o->block) || build(&g, c.vocab, o, &init) || make_optimizers(&g, o) ? -1 : 0;
    if (!rc) {
        double floor = unigram_entropy(&c);
        printf("text: %ld bytes, %d distinct; a model blind to context scores %.3f at best, uniform guessing %.3f\n",
               c.n, c.vocab, floor, log(c.vocab));
        printf("model: %ld layers, %ld heads, width %ld, context %ld: %lld parameters\n", o->layers, o->heads, o->dim,
               o->block, (long long)tg_module_num_parameters(g.model));
        rc = train(&g, &c, o, &rng, &val);
        if (!rc) rc = sample(&g, &c, o, &rng);
        if (!rc && !(val < floor)) rc = 1, printf("the validation loss %.4f did not fall below %.4f\n", val, floor);
    }
    gpt_free(&g);
    free(c.bytes);
    return rc;
}

int main(int argc, char **argv)
{
    options opt;
    int parsed = parse_options(argc, argv, &opt);
    if (parsed) return parsed > 0 ? 0 : 2;
    if (tg_set_num_threads((int)opt.threads)) return 1;
    int rc = *opt.check ? check_step(&opt) : run(&opt);
    if (rc < 0) fprintf(stderr, "gpt_chars: %s\n", tg_last_error());
    return rc ? 1 : 0;
}

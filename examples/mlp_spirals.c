/* mlp_spirals: the smallest end-to-end check of tensorgrad.
 *
 * Generates three interleaved spirals (1500 points in the plane, one class per
 * arm) from an explicit tg_rng, and trains a 2 -> 64 -> 64 -> 3 ReLU MLP on
 * them with mini-batch Adam. There is no nn/ layer here on purpose: the
 * parameters are plain leaf tensors that require grad, the loss is
 * cross-entropy built from differentiable ops (log_softmax, gather, mean),
 * and the optimizer is a few in-place tensor/ kernels run under no-grad.
 * Each training step runs in a scope, which releases every tensor the step
 * makes when it ends: the model code has no release calls.
 *
 * It prints the loss and training accuracy as it goes and exits 0 only if the
 * final accuracy reaches PASS_ACCURACY, so it doubles as a test. The numbers
 * depend on --seed only, not on --threads.
 *
 *   mlp_spirals [--epochs N] [--seed S] [--threads T] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensorgrad.h"

#define NUM_CLASSES 3
#define POINTS_PER_CLASS 500
#define NUM_POINTS (NUM_CLASSES * POINTS_PER_CLASS)
#define HIDDEN 64
#define BATCH 100
#define NUM_LAYERS 3
#define NUM_PARAMS (2 * NUM_LAYERS)
#define PASS_ACCURACY 0.90

#define LEARNING_RATE 0.01f
#define ADAM_BETA1 0.9f
#define ADAM_BETA2 0.999f
#define ADAM_EPS 1e-8f

typedef struct {
    long epochs;
    unsigned long long seed;
    int threads; /* 0: the library's default */
} options;

/* The training set, kept on the host as a data loader would. */
typedef struct {
    float points[NUM_POINTS][2];
    int64_t labels[NUM_POINTS];
} dataset;

/* Parameters (w0, b0, w1, b1, w2, b2) and Adam's moments for each. */
typedef struct {
    tg_tensor *param[NUM_PARAMS];
    tg_tensor *m[NUM_PARAMS];
    tg_tensor *v[NUM_PARAMS];
    long step;
} model;

/* Prints what failed and the library's message; returns -1. */
static int fail(const char *what)
{
    fprintf(stderr, "mlp_spirals: %s failed: %s\n", what, tg_last_error());
    return -1;
}

/* ---- options ---- */

/* 0, 1 after --help, -1 on a bad flag (train/flags.h). */
static int parse_options(int argc, char **argv, options *opt)
{
    long epochs = 40, seed = 1, threads = 0;
    const tg_train_flag flags[] = {
        {"epochs", TG_FLAG_LONG, &epochs, 1, 1000000, "passes over the training set"},
        {"seed", TG_FLAG_LONG, &seed, 0, 2147483647.0, "data, initialisation and batch order"},
        {"threads", TG_FLAG_LONG, &threads, 1, 1024, "compute threads (0: all cores)"},
    };
    int rc = tg_train_parse_flags(argc, argv, flags, TG_FLAG_COUNT(flags), "mlp_spirals: an MLP learns three spirals");
    if (rc < 0) fprintf(stderr, "%s: %s\n", argv[0], tg_last_error());
    *opt = (options){.epochs = epochs, .seed = (unsigned long long)seed, .threads = (int)threads};
    return rc;
}

/* ---- data ---- */

/* Arm k of the spiral: radius grows from 0 to 1 while the angle sweeps 4
 * radians from 4k, plus Gaussian angle noise (the classic CS231n set). */
static int make_spirals(tg_rng *rng, dataset *d)
{
    tg_tensor *noise = tg_randn(rng, TG_SHAPE(NUM_POINTS));
    float jitter[NUM_POINTS];
    if (!noise || tg_copy_to_buffer(noise, jitter)) {
        tg_release(noise);
        return fail("spiral noise");
    }
    tg_release(noise);
    for (int k = 0; k < NUM_CLASSES; k++) {
        for (int i = 0; i < POINTS_PER_CLASS; i++) {
            int at = k * POINTS_PER_CLASS + i;
            float r = (float)i / (POINTS_PER_CLASS - 1);
            float angle = 4.0f * (float)k + 4.0f * r + 0.2f * jitter[at];
            d->points[at][0] = r * sinf(angle);
            d->points[at][1] = r * cosf(angle);
            d->labels[at] = k;
        }
    }
    return 0;
}

/* Fisher-Yates shuffle of 0..n-1 drawn from rng. */
static void shuffle(tg_rng *rng, int *order, int n)
{
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(tg_rng_u32(rng) % (uint32_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* The n points order[0..n-1] as x (n, 2) float32 and y (n, 1) int64. */
static int make_batch(const dataset *d, const int *order, int n, tg_tensor **x, tg_tensor **y)
{
    float xs[NUM_POINTS][2];
    int64_t ys[NUM_POINTS];
    for (int i = 0; i < n; i++) {
        xs[i][0] = d->points[order[i]][0];
        xs[i][1] = d->points[order[i]][1];
        ys[i] = d->labels[order[i]];
    }
    *x = tg_from_data(TG_SHAPE(n, 2), TG_FLOAT32, xs);
    *y = tg_from_data(TG_SHAPE(n, 1), TG_INT64, ys);
    if (*x && *y) return 0;
    tg_release(*x);
    tg_release(*y);
    *x = *y = NULL;
    return fail("batch");
}

/* ---- model ---- */

static void model_free(model *m)
{
    for (int i = 0; i < NUM_PARAMS; i++) {
        tg_release(m->param[i]);
        tg_release(m->m[i]);
        tg_release(m->v[i]);
    }
}

/* Weight (in, out) from He-normal, bias (out) zero, both requiring grad. */
static int init_layer(model *m, int layer, int64_t in, int64_t out, tg_rng *rng)
{
    tg_tensor *w = tg_empty(TG_SHAPE(in, out), TG_FLOAT32);
    tg_tensor *b = tg_zeros(TG_SHAPE(out), TG_FLOAT32);
    m->param[2 * layer] = w;
    m->param[2 * layer + 1] = b;
    if (!w || !b || tg_init_normal_(w, rng, 0.0, sqrt(2.0 / (double)in)))
        return fail("parameter init");
    for (int i = 2 * layer; i < 2 * layer + 2; i++) {
        m->m[i] = tg_zeros_like(m->param[i]);
        m->v[i] = tg_zeros_like(m->param[i]);
        if (!m->m[i] || !m->v[i] || tg_set_requires_grad(m->param[i], true))
            return fail("parameter init");
    }
    return 0;
}

static int model_init(model *m, tg_rng *rng)
{
    static const int64_t width[NUM_LAYERS + 1] = {2, HIDDEN, HIDDEN, NUM_CLASSES};
    *m = (model){0};
    for (int layer = 0; layer < NUM_LAYERS; layer++)
        if (init_layer(m, layer, width[layer], width[layer + 1], rng)) return -1;
    return 0;
}

/* The model's and the loss's ops run inside the caller's scope
 * (tg_scope_begin): it releases every intermediate when it ends, so none is
 * released here. Ops given NULL return NULL, so one check at the end suffices. */

/* x @ w + b. */
static tg_tensor *linear(tg_tensor *x, tg_tensor *w, tg_tensor *b) { return tg_add(tg_matmul(x, w), b); }

/* Logits (n, NUM_CLASSES) for x (n, 2); NULL on failure. */
static tg_tensor *forward(const model *m, tg_tensor *x)
{
    tg_tensor *h = x;
    for (int layer = 0; layer < NUM_LAYERS; layer++) {
        h = linear(h, m->param[2 * layer], m->param[2 * layer + 1]);
        if (layer + 1 < NUM_LAYERS) h = tg_relu(h);
    }
    return h;
}

/* Mean over the batch of -log softmax(logits)[label]. */
static tg_tensor *cross_entropy(tg_tensor *logits, tg_tensor *labels)
{
    tg_tensor *picked = tg_gather(tg_log_softmax(logits, 1), 1, labels); /* (n, 1) */
    return tg_neg(tg_mean(picked, 0, NULL, false));
}

/* ---- optimizer ---- */

/* Adam's moments, in place: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2.
 * Like the rest of the update, inside the training step's scope. */
static int update_moments(tg_tensor *g, tg_tensor *m, tg_tensor *v)
{
    tg_tensor *g2 = tg_mul(g, g);
    int failed = !g2 || tg_mul_scalar_(m, ADAM_BETA1) || tg_axpy_(m, 1.0f - ADAM_BETA1, g) ||
                 tg_mul_scalar_(v, ADAM_BETA2) || tg_axpy_(v, 1.0f - ADAM_BETA2, g2);
    return failed ? -1 : 0;
}

/* p -= lr m_hat / (sqrt(v_hat) + eps), where the hats undo the moments'
 * bias toward their zero start: m_hat = m / (1 - b1^t), likewise v. */
static int apply_step(tg_tensor *p, tg_tensor *m, tg_tensor *v, long step)
{
    float correction1 = 1.0f - powf(ADAM_BETA1, (float)step);
    float correction2 = 1.0f - powf(ADAM_BETA2, (float)step);
    tg_tensor *denom = tg_sqrt(v);
    int failed = !denom || tg_mul_scalar_(denom, 1.0f / sqrtf(correction2)) ||
                 tg_add_scalar_(denom, ADAM_EPS);
    tg_tensor *direction = failed ? NULL : tg_div(m, denom);
    failed = failed || !direction || tg_axpy_(p, -LEARNING_RATE / correction1, direction);
    return failed ? -1 : 0;
}

/* One Adam step on every parameter, then their gradients are dropped.
 * The update is not part of the model, so it runs with grad mode off. */
static int adam_step(model *m)
{
    int rc = 0;
    m->step++;
    tg_no_grad_enter();
    for (int i = 0; i < NUM_PARAMS && !rc; i++) {
        tg_tensor *g = tg_scoped(tg_grad(m->param[i])); /* tg_grad's reference: handed to the scope */
        if (!g) {
            fprintf(stderr, "mlp_spirals: parameter %d has no gradient\n", i);
            rc = -1;
        } else if (update_moments(g, m->m[i], m->v[i]) || apply_step(m->param[i], m->m[i], m->v[i], m->step)) {
            rc = fail("adam step");
        }
        tg_zero_grad(m->param[i]);
    }
    tg_no_grad_exit();
    return rc;
}

/* ---- training ---- */

/* One forward, backward and Adam step on a batch; adds its loss to *loss. */
static int train_step(model *m, const dataset *d, const int *order, int n, double *loss)
{
    tg_tensor *x, *y;
    if (make_batch(d, order, n, &x, &y)) return -1;
    int scope = tg_scope_begin(); /* everything the step makes goes when it ends */
    tg_scoped(x), tg_scoped(y);
    tg_tensor *l = cross_entropy(forward(m, x), y);
    int rc = scope < 0 || !l ? fail("forward") : tg_backward(l, NULL) ? fail("backward") : 0;
    if (!rc) {
        *loss += tg_item(l);
        rc = adam_step(m);
    }
    tg_scope_end(scope);
    return rc;
}

/* One pass over the data in a fresh random order; *loss is the batch mean. */
static int train_epoch(model *m, const dataset *d, tg_rng *rng, double *loss)
{
    int order[NUM_POINTS];
    int batches = 0;
    *loss = 0.0;
    shuffle(rng, order, NUM_POINTS);
    for (int at = 0; at < NUM_POINTS; at += BATCH, batches++) {
        int n = NUM_POINTS - at < BATCH ? NUM_POINTS - at : BATCH;
        if (train_step(m, d, order + at, n, loss)) return -1;
    }
    *loss /= batches;
    return 0;
}

/* Fraction of the training set whose argmax logit is its label. */
static int accuracy(const model *m, const dataset *d, double *acc)
{
    int order[NUM_POINTS];
    int64_t predicted[NUM_POINTS];
    for (int i = 0; i < NUM_POINTS; i++) order[i] = i;
    tg_tensor *x, *y;
    if (make_batch(d, order, NUM_POINTS, &x, &y)) return -1;
    int scope = tg_scope_begin();
    tg_scoped(x), tg_scoped(y);
    tg_no_grad_enter();
    tg_tensor *best = tg_argmax(forward(m, x), 1, false);
    tg_no_grad_exit();
    int rc = scope < 0 || !best || tg_copy_to_buffer(best, predicted) ? fail("accuracy") : 0;
    int correct = 0;
    for (int i = 0; !rc && i < NUM_POINTS; i++) correct += predicted[i] == d->labels[i];
    *acc = (double)correct / NUM_POINTS;
    tg_scope_end(scope);
    return rc;
}

static int train(model *m, const dataset *d, const options *opt, tg_rng *rng)
{
    long report_every = opt->epochs >= 10 ? opt->epochs / 10 : 1;
    for (long epoch = 1; epoch <= opt->epochs; epoch++) {
        double loss, acc;
        if (train_epoch(m, d, rng, &loss)) return -1;
        if (epoch != 1 && epoch % report_every && epoch != opt->epochs) continue;
        if (accuracy(m, d, &acc)) return -1;
        printf("epoch %5ld  loss %.6f  train accuracy %.4f\n", epoch, loss, acc);
    }
    return 0;
}

/* Sets up, trains, and returns the final accuracy (negative on failure). */
static double run(const options *opt)
{
    dataset data;
    model m = {0};
    tg_rng data_rng = tg_rng_new(opt->seed, 0);
    tg_rng init_rng = tg_rng_new(opt->seed, 1);
    tg_rng order_rng = tg_rng_new(opt->seed, 2);
    double acc = -1.0;
    if (make_spirals(&data_rng, &data) || model_init(&m, &init_rng) ||
        train(&m, &data, opt, &order_rng) || accuracy(&m, &data, &acc))
        acc = -1.0;
    model_free(&m);
    return acc;
}

int main(int argc, char **argv)
{
    options opt;
    int parsed = parse_options(argc, argv, &opt);
    if (parsed) return parsed > 0 ? 0 : 2;
    if (opt.threads && tg_set_num_threads(opt.threads)) {
        fail("set_num_threads");
        return 1;
    }
    printf("mlp_spirals: %d points, %d classes, MLP 2-%d-%d-%d, %ld epochs, seed %llu, threads %d\n",
           NUM_POINTS, NUM_CLASSES, HIDDEN, HIDDEN, NUM_CLASSES, opt.epochs, opt.seed, tg_get_num_threads());
    double start = tg_train_clock();
    double acc = run(&opt);
    if (acc < 0.0) return 1;
    printf("final train accuracy %.4f (pass mark %.2f) in %.2f s\n", acc, PASS_ACCURACY, tg_train_clock() - start);
    if (acc < PASS_ACCURACY) {
        fprintf(stderr, "mlp_spirals: accuracy %.4f is below %.2f\n", acc, PASS_ACCURACY);
        return 1;
    }
    return 0;
}

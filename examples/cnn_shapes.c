/* cnn_shapes: a small convolutional network learns to tell shapes apart.
 *
 * Each 1x16x16 image holds one of four things, drawn procedurally from an
 * explicit tg_rng at a random place, size and brightness over Gaussian
 * noise: a circle (ring), a square (outline), a cross, or only scattered
 * noise pixels. The network is built from nn/layers.h the way torchvision
 * builds its models, a "features" Sequential and an "fc" head:
 *
 *   Conv2d(1,16,3) BN ReLU MaxPool2  Conv2d(16,32,3) BN ReLU MaxPool2
 *   AdaptiveAvgPool(1)  ->  flatten  ->  Linear(32, 4)
 *
 * trained with cross-entropy and SGD with momentum on fresh batches, the
 * learning rate following a cosine schedule (nn/schedule.h). It prints the
 * loss as it falls and the accuracy on a held-out set, and exits 0 only if
 * the final accuracy reaches PASS_ACCURACY, so it doubles as a test.
 *
 * The run goes through the train layer (train/): a run directory (--out)
 * with a checkpoint at every report (model, optimizer, the batch
 * generator, the step) and log.jsonl; Ctrl-C or --stop-after saves and
 * stops, and --resume trains on from the checkpoint with the same numbers
 * as a run that never stopped:
 *
 *   cnn_shapes --out run --stop-after 150
 *   cnn_shapes --out run --resume      # ends as plain `cnn_shapes`
 *   cnn_shapes --out run --overwrite   # starts over where a run is
 *
 * A directory that holds another run is refused unless --resume or
 * --overwrite is given. Exit status: 0 when the accuracy reaches the pass
 * mark or the run stopped at --stop-after, 130 after Ctrl-C (checkpoint
 * saved), 1 otherwise, 2 for bad flags. The numbers depend on --seed
 * only, not on --threads.
 *
 *   cnn_shapes [--steps N] [--seed S] [--threads T] [--out DIR] [--resume | --overwrite] [--stop-after N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorgrad.h"

#define SIDE 16
#define NUM_CLASSES 4
#define BATCH 32
#define EVAL_IMAGES 512
#define EVAL_BATCH 128
#define PASS_ACCURACY 0.90

#define BASE_LR 0.05
#define MOMENTUM 0.9
#define WEIGHT_DECAY 5e-4
#define NOISE_STD 0.3f

static const char *const class_names[NUM_CLASSES] = {"circle", "square", "cross", "noise"};

typedef struct {
    long steps, seed, threads, stop_after;
    const char *out;
    bool resume, overwrite;
} options;

/* Prints what failed and the library's message; returns -1. */
static int fail(const char *what)
{
    fprintf(stderr, "cnn_shapes: %s failed: %s\n", what, tg_last_error());
    return -1;
}

/* ---- options ---- */

/* 0, 1 after --help, -1 on a bad flag (train/flags.h). */
static int parse_options(int argc, char **argv, options *opt)
{
    *opt = (options){.steps = 300, .seed = 1, .out = "cnn_shapes_run"};
    const tg_train_flag flags[] = {
        {"steps", TG_FLAG_LONG, &opt->steps, 10, 1000000, "the schedule's length, a multiple of 10"},
        {"seed", TG_FLAG_LONG, &opt->seed, 0, 2147483647.0, "data, initialisation and batch order"},
        {"threads", TG_FLAG_LONG, &opt->threads, 0, 1024, "compute threads (0: all cores)"},
        {"out", TG_FLAG_STRING, &opt->out, 0, 0, "the run directory: checkpoint and log.jsonl"},
        {"resume", TG_FLAG_BOOL, &opt->resume, 0, 0, "continue from OUT's checkpoint"},
        {"overwrite", TG_FLAG_BOOL, &opt->overwrite, 0, 0, "start over in an OUT that holds another run"},
        {"stop-after", TG_FLAG_LONG, &opt->stop_after, 0, 1000000, "save and stop after this step (0: no)"},
    };
    int rc = tg_train_parse_flags(argc, argv, flags, TG_FLAG_COUNT(flags), "cnn_shapes: a small CNN learns four shapes");
    if (rc < 0) fprintf(stderr, "%s: %s\n", argv[0], tg_last_error());
    if (!rc && opt->steps % 10) {
        fprintf(stderr, "%s: --steps %ld is not a multiple of 10 (a report every tenth)\n", argv[0], opt->steps);
        return -1;
    }
    if (!rc && opt->resume && opt->overwrite) {
        fprintf(stderr, "%s: --resume continues a run and --overwrite starts it over: give one of them\n", argv[0]);
        return -1;
    }
    return rc;
}

/* ---- data ---- */

static float uniform(tg_rng *rng, float lo, float hi) { return lo + (hi - lo) * (float)tg_rng_uniform(rng); }

/* Draws one image of class k into img (SIDE x SIDE, already holding noise). */
static void draw_shape(tg_rng *rng, int k, float *img)
{
    float cx = uniform(rng, 5.5f, 10.5f), cy = uniform(rng, 5.5f, 10.5f);
    float r = uniform(rng, 3.0f, 5.0f), ink = uniform(rng, 0.7f, 1.3f);
    if (k == 3) { /* noise: a dozen bright pixels anywhere */
        for (int i = 0; i < 12; i++) img[tg_rng_u32(rng) % (SIDE * SIDE)] += ink;
        return;
    }
    for (int y = 0; y < SIDE; y++) {
        for (int x = 0; x < SIDE; x++) {
            float dx = (float)x - cx, dy = (float)y - cy;
            bool on;
            if (k == 0) on = fabsf(sqrtf(dx * dx + dy * dy) - r) < 0.75f;
            else if (k == 1) on = fabsf(fmaxf(fabsf(dx), fabsf(dy)) - r) < 0.6f;
            else on = (fabsf(dx) < 0.8f && fabsf(dy) < r) || (fabsf(dy) < 0.8f && fabsf(dx) < r);
            if (on) img[y * SIDE + x] += ink;
        }
    }
}

/* n images x (n, 1, SIDE, SIDE) and their labels y (n), all from rng. */
static int make_batch(tg_rng *rng, int n, tg_tensor **x, tg_tensor **y)
{
    *y = NULL;
    *x = tg_randn(rng, TG_SHAPE(n, 1, SIDE, SIDE));
    float *pixels = *x ? tg_data_f32(*x) : NULL;
    int64_t labels[EVAL_IMAGES];
    if (!pixels || n > EVAL_IMAGES) {
        tg_release(*x);
        *x = NULL;
        return fail("batch");
    }
    for (int i = 0; i < n * SIDE * SIDE; i++) pixels[i] *= NOISE_STD;
    for (int i = 0; i < n; i++) {
        labels[i] = tg_rng_u32(rng) % NUM_CLASSES;
        draw_shape(rng, (int)labels[i], pixels + (size_t)i * SIDE * SIDE);
    }
    tg_bump_version(*x);
    *y = tg_from_data(TG_SHAPE(n), TG_INT64, labels);
    if (*y) return 0;
    tg_release(*x);
    *x = NULL;
    return fail("batch");
}

/* ---- model ---- */

typedef struct {
    tg_module base;
    tg_module *features, *fc; /* borrowed: owned as children */
} net_module;

/* features, then (N, 32, 1, 1) -> (N, 32), then fc. */
static tg_tensor *net_forward(tg_module *m, tg_tensor *x)
{
    net_module *net = (net_module *)m;
    int scope = tg_scope_begin(); /* what the forward makes is released at its end... */
    if (scope < 0) return NULL;
    tg_tensor *f = tg_module_forward(net->features, x);
    tg_tensor *flat = f ? tg_reshape(f, TG_SHAPE(f->shape[0], f->shape[1])) : NULL;
    return tg_scope_return(scope, tg_module_forward(net->fc, flat)); /* ...but the logits */
}

static const tg_module_type net_type = {.name = "ShapesNet", .forward = net_forward};

/* Conv2d(in, out, 3, padding 1) BN ReLU MaxPool2, appended to seq. */
static int add_block(tg_module *seq, int64_t in, int64_t out, tg_rng *rng)
{
    tg_conv2d_opts same = {.padding = {1, 1}};
    tg_pool2d_opts halve = {.kernel = {2, 2}};
    return tg_nn_sequential_append(seq, tg_nn_conv2d(in, out, 3, 3, same, false, rng)) ||
           tg_nn_sequential_append(seq, tg_nn_batch_norm2d(out, NULL)) ||
           tg_nn_sequential_append(seq, tg_nn_relu(true)) || tg_nn_sequential_append(seq, tg_nn_max_pool2d(halve));
}

static tg_module *net_new(tg_rng *rng)
{
    net_module *net = (net_module *)tg_module_new(&net_type, sizeof *net);
    tg_module *features = tg_nn_sequential();
    if (!net || !features || add_block(features, 1, 16, rng) || add_block(features, 16, 32, rng) ||
        tg_nn_sequential_append(features, tg_nn_adaptive_avg_pool2d(1, 1))) {
        tg_module_free(features);
        tg_module_free(net ? &net->base : NULL);
        return NULL;
    }
    /* add_child takes the child, also when it fails */
    net->features = features;
    net->fc = tg_module_add_child(&net->base, "features", features) ? NULL : tg_nn_linear(32, NUM_CLASSES, true, rng);
    if (!net->fc || tg_module_add_child(&net->base, "fc", net->fc)) {
        tg_module_free(&net->base);
        return NULL;
    }
    return &net->base;
}

/* ---- training ---- */

typedef struct {
    const options *opt;
    tg_train_run run;
    tg_train_state state;    /* model, optimizer, step: what the checkpoint holds */
    tg_rng data;             /* draws every training batch */
    tg_checkpoint_rng rngs[1];
    int64_t report_every;    /* an "epoch": steps between reports and checkpoints */
    double window;           /* the loss summed since the last report */
    double first, last;      /* the first and last reported mean loss */
} trainer;

/* The run's config: what changes the numbers; resuming with another is refused. */
static void config_text(const options *opt, char *buf, size_t size)
{
    snprintf(buf, size, "{\"example\":\"cnn_shapes\",\"steps\":%ld,\"seed\":%ld}", opt->steps, opt->seed);
}

static int trainer_init(trainer *t, const options *opt)
{
    tg_rng init = tg_rng_new((uint64_t)opt->seed, 2);
    *t = (trainer){.opt = opt, .data = tg_rng_new((uint64_t)opt->seed, 0), .report_every = opt->steps / 10,
                   .first = -1, .last = -1};
    t->rngs[0] = (tg_checkpoint_rng){"data", &t->data};
    t->state = (tg_train_state){.model = net_new(&init), .n_rngs = 1, .rngs = t->rngs};
    if (!t->state.model) return fail("building the model");
    tg_tensor_list params = {0};
    if (!tg_module_parameters(t->state.model, &params))
        t->state.opt =
            tg_sgd_new(&params, (tg_sgd_opts){.lr = BASE_LR, .momentum = MOMENTUM, .weight_decay = WEIGHT_DECAY});
    tg_tensor_list_clear(&params);
    if (!t->state.opt) return fail("building the optimizer");
    char config[128];
    config_text(opt, config, sizeof config);
    tg_train_start start = opt->resume ? TG_TRAIN_RESUME : opt->overwrite ? TG_TRAIN_OVERWRITE : TG_TRAIN_NEW;
    if (tg_train_run_open(&t->run, opt->out, config, start, &t->state)) return fail("opening the run");
    if (opt->resume) printf("resumed from %s at step %lld\n", t->run.checkpoint, (long long)t->state.step);
    return 0;
}

static void trainer_free(trainer *t)
{
    tg_train_run_close(&t->run);
    tg_metadata_clear(&t->state.meta);
    tg_optimizer_free(t->state.opt);
    tg_module_free(t->state.model);
}

/* One forward, backward and update on a fresh batch (tg_train_loop's step). */
static int train_step(void *ctx, double *loss)
{
    trainer *t = ctx;
    tg_tensor *x, *y;
    if (make_batch(&t->data, BATCH, &x, &y)) return -1;
    tg_optimizer_set_lr(t->state.opt, tg_lr_cosine(BASE_LR, 0.0, t->state.step, t->opt->steps));
    int scope = tg_scope_begin();
    tg_scoped(x), tg_scoped(y); /* the batch goes with the step's scope too */
    tg_tensor *l = tg_cross_entropy(tg_module_forward(t->state.model, x), y, NULL);
    int rc = scope < 0 || !l ? fail("forward") : tg_backward(l, NULL) ? fail("backward") : 0;
    if (!rc) {
        *loss = tg_item(l);
        rc = tg_optimizer_step(t->state.opt) ? fail("optimizer step") : 0;
    }
    tg_optimizer_zero_grad(t->state.opt);
    tg_scope_end(scope);
    return rc;
}

static int after_step(void *ctx, double loss)
{
    ((trainer *)ctx)->window += loss;
    return 0;
}

/* Accuracy on EVAL_IMAGES held-out images (their own stream), in eval mode;
 * per-class counts in correct[] and seen[]. */
static int evaluate(tg_module *model, uint64_t seed, double *acc, int *correct, int *seen)
{
    tg_rng rng = tg_rng_new(seed, 1);
    int right = 0, rc = 0;
    memset(correct, 0, NUM_CLASSES * sizeof *correct);
    memset(seen, 0, NUM_CLASSES * sizeof *seen);
    tg_module_train(model, false);
    tg_no_grad_enter();
    for (int at = 0; at < EVAL_IMAGES && !rc; at += EVAL_BATCH) {
        tg_tensor *x, *y;
        if (make_batch(&rng, EVAL_BATCH, &x, &y)) {
            rc = -1;
            break;
        }
        int scope = tg_scope_begin();
        tg_scoped(x), tg_scoped(y);
        tg_tensor *best = tg_argmax(tg_module_forward(model, x), 1, false);
        int64_t predicted[EVAL_BATCH], labels[EVAL_BATCH];
        rc = scope < 0 || !best || tg_copy_to_buffer(best, predicted) || tg_copy_to_buffer(y, labels)
                 ? fail("evaluation")
                 : 0;
        for (int i = 0; !rc && i < EVAL_BATCH; i++) {
            seen[labels[i]]++;
            correct[labels[i]] += predicted[i] == labels[i];
            right += predicted[i] == labels[i];
        }
        tg_scope_end(scope);
    }
    tg_no_grad_exit();
    tg_module_train(model, true);
    *acc = (double)right / EVAL_IMAGES;
    return rc;
}

/* Every report_every steps: the mean loss, the held-out accuracy, a log line. */
static int report(void *ctx)
{
    trainer *t = ctx;
    double mean = t->window / (double)t->report_every, acc;
    int correct[NUM_CLASSES], seen[NUM_CLASSES];
    if (evaluate(t->state.model, (uint64_t)t->opt->seed, &acc, correct, seen)) return -1;
    printf("step %5lld  lr %.4f  loss %.4f  held-out accuracy %.4f\n", (long long)t->state.step,
           tg_optimizer_lr(t->state.opt), mean, acc);
    if (t->first < 0) t->first = mean;
    t->last = mean;
    t->window = 0.0;
    char line[128];
    snprintf(line, sizeof line, "{\"step\":%lld,\"loss\":%.9g,\"accuracy\":%.9g}", (long long)t->state.step, mean, acc);
    return tg_train_run_log(&t->run, line) ? fail("the log") : 0;
}

/* Trains to --steps (TG_TRAIN_DONE), or stops early with the checkpoint
 * saved (TG_TRAIN_STOPPED, TG_TRAIN_INTERRUPTED); -1. */
static int train(trainer *t)
{
    tg_train_loop l = {.total_steps = t->opt->steps, .steps_per_epoch = t->report_every,
                       .stop_after_step = t->opt->stop_after, .ctx = t, .step = train_step,
                       .after_step = after_step, .end_epoch = report};
    int rc = tg_train_loop_run(&l, &t->run, &t->state);
    if (rc < 0) return fail("training");
    if (rc > 0) printf("saved %s at step %lld; continue with --resume\n", t->run.checkpoint, (long long)t->state.step);
    if (t->first >= 0) printf("loss %.4f at the first report, %.4f at the last\n", t->first, t->last);
    return rc;
}

/* Sets up, trains and puts the final accuracy in *acc; returns how the
 * training ended (TG_TRAIN_DONE...), or -1 on failure. */
static int run(const options *opt, double *acc)
{
    trainer t;
    int correct[NUM_CLASSES], seen[NUM_CLASSES];
    int rc = trainer_init(&t, opt);
    if (!rc)
        printf("%lld parameters; training steps %lld to %ld\n", (long long)tg_module_num_parameters(t.state.model),
               (long long)t.state.step, opt->steps);
    if (!rc) rc = train(&t);
    if (!rc) rc = evaluate(t.state.model, (uint64_t)opt->seed, acc, correct, seen);
    for (int k = 0; !rc && k < NUM_CLASSES; k++)
        printf("  %-6s %3d / %3d\n", class_names[k], correct[k], seen[k]);
    trainer_free(&t);
    return rc;
}

int main(int argc, char **argv)
{
    options opt;
    int parsed = parse_options(argc, argv, &opt);
    if (parsed) return parsed > 0 ? 0 : 2;
    if ((opt.threads && tg_set_num_threads((int)opt.threads)) || tg_train_interrupt_install()) {
        fail("setting up");
        return 1;
    }
    printf("cnn_shapes: %dx%d images of %d classes, batch %d, %ld steps, seed %ld, threads %d\n", SIDE, SIDE,
           NUM_CLASSES, BATCH, opt.steps, opt.seed, tg_get_num_threads());
    double start = tg_train_clock(), acc = 0.0;
    int outcome = run(&opt, &acc);
    if (outcome != TG_TRAIN_DONE) return tg_train_exit_status(outcome); /* failed, or stopped with the checkpoint saved */
    printf("final held-out accuracy %.4f (pass mark %.2f) in %.2f s\n", acc, PASS_ACCURACY, tg_train_clock() - start);
    if (acc < PASS_ACCURACY) {
        fprintf(stderr, "cnn_shapes: accuracy %.4f is below %.2f\n", acc, PASS_ACCURACY);
        return 1;
    }
    return 0;
}

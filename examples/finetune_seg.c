/* finetune_seg: FCN semantic segmentation fine-tuned from a pretrained
 * backbone, or from random init, as DenseCL's mmseg protocol does
 * (densecl-spec.md 6.1, shapescenes.md 3), then scored on the test split.
 *
 *   finetune_seg --out runs/densecl_s0 --backbone densecl_backbone.safetensors
 *   finetune_seg --out runs/probe --backbone b.safetensors --frozen   # the frozen-backbone probe
 *   finetune_seg --out runs/densecl_s0 --resume                        # after Ctrl-C
 *
 * The backbone file holds torchvision names ("conv1.weight",
 * "layer1.0.bn1.running_mean"; tools/convert_checkpoint.py makes one from
 * an official DenseCL or MoCo checkpoint); it must match exactly unless
 * --non-strict, which loads the keys both have and lists the others.
 * Protocol defaults: SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly
 * schedule (power 0.9, down to 1e-4) per step, batch 32, 40 epochs,
 * ShapeScenes 500 training images and 1000 test images at 64 px.
 *
 * --out DIR receives log.jsonl (a line every --log-every steps and one per
 * epoch), checkpoint.safetensors (each epoch, on Ctrl-C and at
 * --stop-after-epoch/--stop-after-step), fcn.safetensors (the final
 * weights, mmseg names) and results.json (config and test scores). Ctrl-C
 * saves and exits 0; --resume continues with bitwise the same numbers as
 * a run that never stopped, whatever --threads and --workers. */
#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "interrupt.h"
#include "progress.h"
#include "seg_data.h"
#include "seg_eval.h"
#include "seg_model.h"
#include "tensorgrad.h"
#include "out_files.h"
#include "train_loop.h"

#define ABOUT "finetune_seg: FCN fine-tuning (or the frozen-backbone probe) and its test scores"

typedef struct {
    seg_data_opts data;
    seg_arch arch;
    const char *backbone, *out;
    bool non_strict, frozen, resume;
    long epochs, batch, seed, workers, log_every, eval_batch;
    long stop_after_epoch, stop_after_step;
    double lr, min_lr, power, momentum, weight_decay;
} options;

/* Sums over the steps of the epoch so far (in the checkpoint, so a resumed
 * epoch's means are those of an uninterrupted one). */
typedef struct {
    double loss, decode, aux, correct, labelled, steps;
} epoch_sums;

typedef struct {
    const options *o;
    seg_data data;
    tg_loader *loader;
    train_run run;
    train_state state;
    tg_json_buf config;
    int64_t per_epoch, total;
    epoch_sums sums;
    double seconds_before, start; /* training time of earlier runs; this run's start */
    progress bar;
} trainer;

/* ---- options ---- */

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.data = seg_data_defaults(), .arch = seg_arch_defaults(), .out = "finetune_seg_out",
                   .epochs = 40, .batch = 32, .workers = 1, .log_every = 10, .lr = 0.01, .min_lr = 1e-4,
                   .power = 0.9, .momentum = 0.9, .weight_decay = 5e-4};
    const cli_flag own[] = {
        {"out", CLI_STRING, &o->out, 0, 0, "output directory"},
        {"backbone", CLI_STRING, &o->backbone, 0, 0, "torchvision-named safetensors backbone (none: random init)"},
        {"non-strict", CLI_BOOL, &o->non_strict, 0, 0, "load the keys the backbone file shares, list the rest"},
        {"frozen", CLI_BOOL, &o->frozen, 0, 0, "frozen-backbone probe: train the heads only"},
        {"epochs", CLI_LONG, &o->epochs, 1, 1e6, "passes over the training images"},
        {"batch", CLI_LONG, &o->batch, 1, 4096, "images a step"},
        {"lr", CLI_DOUBLE, &o->lr, 0, 10, "base learning rate (poly schedule)"},
        {"min-lr", CLI_DOUBLE, &o->min_lr, 0, 10, "the schedule's floor"},
        {"power", CLI_DOUBLE, &o->power, 0, 10, "poly power"},
        {"momentum", CLI_DOUBLE, &o->momentum, 0, 1, "SGD momentum"},
        {"weight-decay", CLI_DOUBLE, &o->weight_decay, 0, 1, "SGD weight decay"},
        {"seed", CLI_LONG, &o->seed, 0, 2147483647.0, "initialisation, dropout and data order"},
        {"workers", CLI_LONG, &o->workers, 0, 64, "data loading threads"},
        {"log-every", CLI_LONG, &o->log_every, 1, 1e9, "steps between log lines"},
        {"eval-batch", CLI_LONG, &o->eval_batch, 0, 4096, "test images a forward (0: 32, 1 for VOC/Cityscapes)"},
        {"resume", CLI_BOOL, &o->resume, 0, 0, "continue from OUT/checkpoint.safetensors"},
        {"stop-after-epoch", CLI_LONG, &o->stop_after_epoch, 0, 1e6, "save and stop after this epoch (0: no)"},
        {"stop-after-step", CLI_LONG, &o->stop_after_step, 0, 1e9, "save and stop after this step (0: no)"},
    };
    return seg_cli_parse(argc, argv, &o->data, true, &o->arch, own, CLI_COUNT(own), ABOUT);
}

/* The options that change the numbers, as JSON (the run's config). */
static void make_config(trainer *t)
{
    const options *o = t->o;
    tg_json_buf *b = &t->config;
    tg_json_printf(b, "{\"program\":\"finetune_seg\",");
    seg_data_config(&o->data, &t->data, true, b);
    tg_json_printf(b, ",");
    seg_arch_config(&o->arch, b);
    tg_json_printf(b, ",\"frozen\":%s,\"backbone\":", o->frozen ? "true" : "false");
    if (o->backbone) tg_json_append_string(b, o->backbone);
    else tg_json_printf(b, "null");
    tg_json_printf(b, ",\"strict\":%s,\"seed\":%ld,\"epochs\":%ld,\"batch\":%ld", o->non_strict ? "false" : "true",
                   o->seed, o->epochs, o->batch);
    const char *keys[] = {"lr", "min_lr", "power", "momentum", "weight_decay"};
    const double values[] = {o->lr, o->min_lr, o->power, o->momentum, o->weight_decay};
    for (int i = 0; i < 5; i++) {
        tg_json_printf(b, ",\"%s\":", keys[i]);
        out_json_number(b, values[i]);
    }
    tg_json_printf(b, "}");
}

/* ---- setup ---- */

static int fail(const char *what)
{
    fprintf(stderr, "finetune_seg: %s: %s\n", what, tg_last_error());
    return -1;
}

static int load_backbone(tg_module *m, const options *o)
{
    tg_tensor_list missing = {0}, unexpected = {0};
    int rc = tg_fcn_load_backbone(m, o->backbone, !o->non_strict, &missing, &unexpected);
    if (rc) return fail("loading the backbone");
    printf("backbone %s loaded%s\n", o->backbone, o->non_strict ? " (not strict)" : "");
    for (int i = 0; i < missing.n; i++) printf("  missing (left as initialised): %s\n", missing.items[i].name);
    for (int i = 0; i < unexpected.n; i++) printf("  unexpected (ignored): %s\n", unexpected.items[i].name);
    tg_tensor_list_clear(&missing);
    tg_tensor_list_clear(&unexpected);
    return 0;
}

static int make_optimizer(trainer *t)
{
    tg_tensor_list params = {0};
    const options *o = t->o;
    if (!tg_fcn_parameters(t->state.model, &params))
        t->state.opt = tg_sgd_new(&params, (tg_sgd_opts){.lr = o->lr, .momentum = o->momentum,
                                                        .weight_decay = o->weight_decay});
    tg_tensor_list_clear(&params);
    return t->state.opt ? 0 : fail("building the optimizer");
}

static int make_loader(trainer *t)
{
    tg_loader_config cfg = tg_seg_train_config(&t->data.aug);
    cfg.batch_size = t->o->batch;
    cfg.shuffle = cfg.drop_last = true;
    cfg.seed = (uint64_t)t->o->seed;
    cfg.num_workers = (int)t->o->workers;
    t->state.loader = tg_loader_new(t->data.train, &cfg);
    if (!t->state.loader) return fail("building the loader");
    t->per_epoch = tg_loader_batches_per_epoch(t->state.loader);
    t->total = t->per_epoch * t->o->epochs;
    if (t->per_epoch > 0) return 0;
    fprintf(stderr, "finetune_seg: %lld training images make no batch of %ld\n", (long long)t->data.train->size,
            t->o->batch);
    return -1;
}

/* Restores the epoch's sums and the time trained before. */
static int read_sums(trainer *t)
{
    const tg_metadata *m = &t->state.meta;
    epoch_sums *s = &t->sums;
    return train_meta_get(m, "epoch_loss", &s->loss) || train_meta_get(m, "epoch_decode", &s->decode) ||
                   train_meta_get(m, "epoch_aux", &s->aux) || train_meta_get(m, "epoch_correct", &s->correct) ||
                   train_meta_get(m, "epoch_labelled", &s->labelled) ||
                   train_meta_get(m, "epoch_steps", &s->steps) ||
                   train_meta_get(m, "seconds", &t->seconds_before)
               ? -1
               : 0;
}

static void describe(const trainer *t)
{
    const options *o = t->o;
    printf("finetune_seg: %s, %lld training and %lld %s images; FCN on ResNet-%ld (%s stem, width %g), %lld "
           "parameters%s; %lld steps an epoch x %ld epochs, batch %ld, seed %ld, threads %d\n",
           t->data.name, (long long)t->data.train->size, (long long)t->data.test->size, t->data.test_split,
           o->arch.depth, o->arch.stem, o->arch.width, (long long)tg_module_num_parameters(t->state.model),
           o->frozen ? ", backbone frozen" : "", (long long)t->per_epoch, o->epochs, o->batch, o->seed,
           tg_get_num_threads());
}

static int trainer_init(trainer *t, const options *o)
{
    *t = (trainer){.o = o};
    if (seg_data_open(&t->data, &o->data, true)) return -1;
    t->state.model = seg_model_new(&o->arch, &t->data, o->frozen, (uint64_t)o->seed);
    if (!t->state.model) return -1;
    if (o->backbone && !o->resume && load_backbone(t->state.model, o)) return -1;
    if (make_optimizer(t) || make_loader(t)) return -1;
    make_config(t);
    if (t->config.failed) return fail("config: out of memory");
    if (train_run_open(&t->run, o->out, t->config.data, o->resume, &t->state, t->total) ||
        (o->resume && read_sums(t)))
        return -1;
    describe(t);
    interrupt_install();
    progress_init(&t->bar, (long)t->total, (long)t->per_epoch, (long)t->state.step, o->log_every);
    t->start = progress_clock();
    return 0;
}

static void trainer_free(trainer *t)
{
    train_run_free(&t->run, &t->state);
    tg_json_buf_free(&t->config);
    seg_data_close(&t->data);
}

/* ---- training ---- */

static double seconds(const trainer *t) { return t->seconds_before + progress_clock() - t->start; }

/* One forward, backward and update on the next batch. */
static int train_step(trainer *t, tg_fcn_loss_terms *terms)
{
    tg_batch b;
    if (train_next_batch(t->state.loader, &b)) return -1;
    tg_optimizer_set_lr(t->state.opt, tg_lr_poly(t->o->lr, t->o->min_lr, t->o->power, t->state.step, t->total));
    tg_tensor *logits = NULL, *aux = NULL, *loss = NULL;
    if (!tg_fcn_forward(t->state.model, b.fields[0], &logits, &aux))
        loss = tg_fcn_loss(t->state.model, logits, aux, b.mask, terms);
    int rc = !loss || tg_backward(loss, NULL) || tg_optimizer_step(t->state.opt) ? fail("training step") : 0;
    tg_optimizer_zero_grad(t->state.opt);
    tg_release(logits), tg_release(aux), tg_release(loss);
    tg_batch_release(&b);
    if (!rc && !isfinite(terms->loss)) {
        fprintf(stderr, "finetune_seg: the loss is %g at step %lld: training diverged\n", terms->loss,
                (long long)t->state.step + 1);
        rc = -1;
    }
    if (!rc) t->state.step++;
    return rc;
}

/* A log line: the step's (or the epoch's mean) loss terms and accuracy. */
static int log_line(trainer *t, const char *kind, const epoch_sums *s)
{
    char line[512];
    int64_t step = t->state.step;
    snprintf(line, sizeof line,
             "{\"step\":%lld,\"kind\":\"%s\",\"epoch\":%lld,\"lr\":%.9g,\"loss\":%.9g,\"decode\":%.9g,\"aux\":%.9g,"
             "\"acc\":%.9g,\"time\":%.3f}",
             (long long)step, kind, (long long)((step - 1) / t->per_epoch + 1), tg_optimizer_lr(t->state.opt),
             s->loss / s->steps, s->decode / s->steps, s->aux / s->steps,
             s->labelled ? s->correct / s->labelled : 0.0, seconds(t));
    return train_run_log(&t->run, line);
}

/* What one step adds to the epoch's sums. */
static epoch_sums step_sums(const tg_fcn_loss_terms *terms)
{
    double labelled = (double)terms->labelled;
    return (epoch_sums){terms->loss, terms->decode, terms->aux, labelled ? terms->acc * labelled : 0, labelled, 1};
}

static void add_sums(epoch_sums *s, const epoch_sums *one)
{
    *s = (epoch_sums){s->loss + one->loss,         s->decode + one->decode,     s->aux + one->aux,
                      s->correct + one->correct, s->labelled + one->labelled, s->steps + one->steps};
}

static int after_step(trainer *t, const tg_fcn_loss_terms *terms)
{
    epoch_sums one = step_sums(terms);
    add_sums(&t->sums, &one);
    char text[128];
    snprintf(text, sizeof text, "loss %.4f acc %.3f lr %.5f", terms->loss, one.labelled ? terms->acc : 0.0,
             tg_optimizer_lr(t->state.opt));
    progress_show(&t->bar, (long)t->state.step, (double)t->o->batch, text);
    return t->state.step % t->o->log_every ? 0 : log_line(t, "step", &one);
}

static int save(void *ctx)
{
    trainer *t = ctx;
    tg_metadata *m = &t->state.meta;
    const epoch_sums *s = &t->sums;
    tg_metadata_clear(m);
    t->state.epoch = t->state.step / t->per_epoch;
    int rc = train_meta_put(m, "epoch_loss", s->loss) || train_meta_put(m, "epoch_decode", s->decode) ||
             train_meta_put(m, "epoch_aux", s->aux) || train_meta_put(m, "epoch_correct", s->correct) ||
             train_meta_put(m, "epoch_labelled", s->labelled) || train_meta_put(m, "epoch_steps", s->steps) ||
             train_meta_put(m, "seconds", seconds(t));
    return rc ? -1 : train_run_save(&t->run, &t->state);
}

static int end_epoch(void *ctx)
{
    trainer *t = ctx;
    int rc = log_line(t, "epoch", &t->sums);
    t->sums = (epoch_sums){0};
    return rc ? -1 : save(t);
}

/* One step and its progress and log. */
static int step(void *ctx)
{
    tg_fcn_loss_terms terms;
    return train_step(ctx, &terms) || after_step(ctx, &terms) ? -1 : 0;
}

/* 0 when every step is done, 1 when stopped early (checkpoint saved), -1. */
static int train(trainer *t)
{
    train_loop l = {.total = t->total, .per_epoch = t->per_epoch, .stop_after_epoch = t->o->stop_after_epoch,
                    .stop_after_step = t->o->stop_after_step, .ctx = t, .step = step, .end_epoch = end_epoch,
                    .save = save};
    return train_loop_run(&l, &t->run, &t->state, &t->bar);
}

/* ---- results ---- */

static int write_results(trainer *t, const seg_result *r)
{
    char path[TRAIN_PATH_MAX];
    tg_json_buf b = {0};
    tg_json_printf(&b, "{\n\"config\":");
    tg_json_append(&b, t->config.data, t->config.len);
    tg_json_printf(&b, ",\n\"train\":{\"steps\":%lld,\"epochs\":%ld,\"steps_per_epoch\":%lld},\n",
                   (long long)t->total, t->o->epochs, (long long)t->per_epoch);
    seg_result_json(r, &t->data, &b);
    tg_json_printf(&b, "\n}\n");
    train_run_path(&t->run, "results.json", path);
    int rc = b.failed ? fail("results: out of memory") : out_write_text(path, b.data, b.len);
    if (!rc) printf("wrote %s\n", path);
    tg_json_buf_free(&b);
    return rc;
}

/* Final weights, test scores, results.json. */
static int finish(trainer *t)
{
    char path[TRAIN_PATH_MAX];
    train_run_path(&t->run, "fcn.safetensors", path);
    if (tg_module_save(path, t->state.model)) return fail("saving the weights");
    printf("trained %lld steps in %.1f s; weights in %s\n", (long long)t->total, seconds(t), path);
    seg_eval_opts eo = {.batch = t->o->eval_batch};
    seg_result r;
    if (seg_evaluate(t->state.model, &t->data, &eo, &r)) return -1;
    int rc = write_results(t, &r);
    seg_result_free(&r);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc > 0 ? 0 : 2;
    trainer t;
    rc = trainer_init(&t, &o);
    if (!rc) rc = train(&t);
    if (!rc) rc = finish(&t);
    trainer_free(&t);
    return rc < 0 ? 1 : 0;
}

/* FCN fine-tuning and its test scores as one function (see finetune_run.h). */
#include "finetune_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "out_files.h"
#include "seg_eval.h"

finetune_config finetune_defaults(void)
{
    return (finetune_config){.data = seg_data_defaults(), .arch = backbone_arch_defaults(), .out = "finetune_seg_out",
                             .epochs = 40, .batch = 32, .workers = 1, .log_every = 10, .lr = 0.01, .min_lr = 1e-4,
                             .power = 0.9, .momentum = 0.9, .weight_decay = 5e-4};
}

/* Sums over the steps of the epoch so far (in the checkpoint, so a resumed
 * epoch's means are those of an uninterrupted one). */
typedef struct {
    double loss, decode, aux, correct, labelled, steps;
} epoch_sums;

typedef struct {
    const finetune_config *o;
    seg_data data;
    tg_train_run run;
    tg_train_state state;
    json_t *config;    /* the options that change the numbers */
    char *config_text; /* the same, compact, as checkpoints hold it */
    int64_t per_epoch, total;
    epoch_sums sums;
    double seconds_before, start; /* training time of earlier runs; this run's start */
    tg_fcn_loss_terms terms; /* the last step's, over every rank's images */
    tg_train_progress bar;
    tg_data_parallel *dp; /* the gradients averaged over the ranks of the job */
} trainer;

/* The options that change the numbers, as JSON (the run's config). */
static json_t *make_config(const trainer *t)
{
    const finetune_config *o = t->o;
    json_t *c = json_pack("{s:s}", "program", "finetune_seg");
    c = backbone_arch_config(&o->arch, seg_data_config(&o->data, &t->data, true, c));
    c = out_json_merge(c, json_pack("{s:b,s:s?,s:b,s:I,s:I,s:I}", "frozen", o->frozen, "backbone", o->backbone,
                                    "strict", !o->non_strict, "seed", (json_int_t)o->seed, "epochs",
                                    (json_int_t)o->epochs, "batch", (json_int_t)o->batch));
    const char *const keys[] = {"lr", "min_lr", "power", "momentum", "weight_decay"};
    const double values[] = {o->lr, o->min_lr, o->power, o->momentum, o->weight_decay};
    return out_json_numbers(c, keys, values, (int)(sizeof keys / sizeof *keys));
}

/* ---- setup ---- */

static int fail(const char *what) { return app_fail("finetune_seg", what); }

/* A global batch that does not split across the ranks, refused alike on
 * every rank. */
static int check_job(const finetune_config *o)
{
    long ranks = tg_dist_world_size();
    if (o->batch % ranks == 0) return 0;
    TG_FAIL("--batch %ld (the global batch) does not split across %ld ranks", o->batch, ranks);
    return app_job_fail("finetune_seg", "settings");
}

static int load_backbone(tg_module *m, const finetune_config *o)
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

static int make_loader(trainer *t)
{
    const finetune_config *o = t->o;
    if (app_make_loader(&t->state, t->data.train, tg_seg_train_config(&t->data.aug), o->batch, o->seed,
                        o->workers, &t->per_epoch, "finetune_seg"))
        return -1;
    t->total = t->per_epoch * o->epochs;
    return 0;
}

/* Restores the epoch's sums and the time trained before. */
static int read_sums(trainer *t)
{
    const tg_train_state *m = &t->state;
    epoch_sums *s = &t->sums;
    return tg_train_meta_get(m, "epoch_loss", &s->loss) || tg_train_meta_get(m, "epoch_decode", &s->decode) ||
                   tg_train_meta_get(m, "epoch_aux", &s->aux) || tg_train_meta_get(m, "epoch_correct", &s->correct) ||
                   tg_train_meta_get(m, "epoch_labelled", &s->labelled) ||
                   tg_train_meta_get(m, "epoch_steps", &s->steps) ||
                   tg_train_meta_get(m, "seconds", &t->seconds_before)
               ? fail("resuming")
               : 0;
}

static void describe(const trainer *t)
{
    const finetune_config *o = t->o;
    printf("finetune_seg: %s, %lld training and %lld %s images; FCN on ResNet-%ld (%s stem, width %g), %lld "
           "parameters%s; %lld steps an epoch x %ld epochs, batch %ld, seed %ld, threads %d, ranks %d\n",
           t->data.name, (long long)t->data.train->size, (long long)t->data.test->size, t->data.test_split,
           o->arch.depth, o->arch.stem, o->arch.width, (long long)tg_module_num_parameters(t->state.model),
           o->frozen ? ", backbone frozen" : "", (long long)t->per_epoch, o->epochs, o->batch, o->seed,
           tg_get_num_threads(), tg_dist_world_size());
}

/* What a finished run writes besides its checkpoint and log. */
static const char *const outputs[] = {"fcn.safetensors", "results.json", NULL};

static int trainer_init(trainer *t, const finetune_config *o)
{
    *t = (trainer){.o = o};
    t->state.outputs = outputs;
    if (check_job(o) || seg_data_open(&t->data, &o->data, true)) return -1;
    t->state.model = seg_model_new(&o->arch, &t->data, o->frozen, (uint64_t)o->seed);
    if (!t->state.model) return -1;
    if (o->backbone && o->start != TG_TRAIN_RESUME && load_backbone(t->state.model, o)) return -1;
    if (app_make_sgd(&t->state, tg_fcn_parameters, o->lr, o->momentum, o->weight_decay, "finetune_seg") ||
        make_loader(t))
        return -1;
    t->config = make_config(t);
    t->config_text = t->config ? json_dumps(t->config, OUT_JSON_FLAGS) : NULL;
    if (!t->config_text) return fail("config: out of memory, or text that is not UTF-8");
    if (app_open_run(&t->run, o->out, t->config_text, o->start, &t->state, t->total, "finetune_seg") ||
        (o->start == TG_TRAIN_RESUME && read_sums(t)) ||
        app_make_data_parallel(&t->state, tg_fcn_parameters, &t->dp, "finetune_seg"))
        return -1;
    describe(t);
    if (tg_train_interrupt_install()) return fail("Ctrl-C");
    tg_train_progress_init(&t->bar, t->total, t->per_epoch, t->state.step, NULL);
    t->start = tg_train_clock();
    return 0;
}

static void trainer_free(trainer *t)
{
    tg_data_parallel_free(t->dp);
    app_close_run(&t->run, &t->state);
    json_decref(t->config);
    free(t->config_text);
    seg_data_close(&t->data);
}

/* ---- training ---- */

static double seconds(const trainer *t) { return t->seconds_before + tg_train_clock() - t->start; }

/* The loss terms over every rank's images: the ranks' slices are equal,
 * so the losses' means are the global batch's (mmseg's loss averages over
 * every label pixel), and the accuracy their labelled pixels'. */
static int share_terms(tg_fcn_loss_terms *terms)
{
    if (tg_dist_world_size() == 1) return 0;
    double labelled = (double)terms->labelled, correct = labelled ? terms->acc * labelled : 0;
    float v[5] = {(float)terms->loss, (float)terms->decode, (float)terms->aux, (float)correct, (float)labelled};
    tg_tensor *sums = tg_from_data(TG_SHAPE(5), TG_FLOAT32, v);
    int rc = sums ? tg_dist_allreduce(sums, TG_DIST_MEAN) : -1;
    const float *m = rc ? NULL : tg_data_f32(sums);
    if (m) *terms = (tg_fcn_loss_terms){m[0], m[1], m[2], m[4] > 0 ? m[3] / m[4] : NAN,
                                        (int64_t)llround(m[4] * tg_dist_world_size())};
    tg_release(sums);
    return rc;
}

/* One forward, backward and update on the next batch. */
static int train_step(trainer *t, tg_fcn_loss_terms *terms)
{
    tg_batch b;
    if (app_next_batch(t->state.loader, &b, "finetune_seg")) return -1;
    tg_optimizer_set_lr(t->state.opt, tg_lr_poly(t->o->lr, t->o->min_lr, t->o->power, t->state.step, t->total));
    tg_tensor *logits = NULL, *aux = NULL, *loss = NULL;
    if (!tg_fcn_forward(t->state.model, b.fields[0], &logits, &aux))
        loss = tg_fcn_loss(t->state.model, logits, aux, b.mask, terms);
    int rc = !loss || share_terms(terms) || tg_data_parallel_backward(t->dp, loss) || tg_optimizer_step(t->state.opt)
                 ? fail("training step")
                 : 0;
    tg_optimizer_zero_grad(t->state.opt);
    tg_release(logits), tg_release(aux), tg_release(loss);
    tg_batch_release(&b);
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
    return tg_train_run_log(&t->run, line) ? fail("writing the log") : 0;
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

static int after_step(void *ctx, double loss)
{
    trainer *t = ctx;
    const tg_fcn_loss_terms *terms = &t->terms;
    (void)loss;
    epoch_sums one = step_sums(terms);
    add_sums(&t->sums, &one);
    char text[128];
    snprintf(text, sizeof text, "loss %.4f acc %.3f lr %.5f", terms->loss, one.labelled ? terms->acc : 0.0,
             tg_optimizer_lr(t->state.opt));
    tg_train_progress_show(&t->bar, t->state.step, (double)t->o->batch, text);
    return t->state.step % t->o->log_every ? 0 : log_line(t, "step", &one);
}

/* The epoch's sums and the time trained, for the checkpoint. */
static int before_save(void *ctx)
{
    trainer *t = ctx;
    tg_train_state *m = &t->state;
    const epoch_sums *s = &t->sums;
    return tg_train_meta_set(m, "epoch_loss", s->loss) || tg_train_meta_set(m, "epoch_decode", s->decode) ||
                   tg_train_meta_set(m, "epoch_aux", s->aux) || tg_train_meta_set(m, "epoch_correct", s->correct) ||
                   tg_train_meta_set(m, "epoch_labelled", s->labelled) ||
                   tg_train_meta_set(m, "epoch_steps", s->steps) || tg_train_meta_set(m, "seconds", seconds(t))
               ? -1
               : 0;
}

static int end_epoch(void *ctx)
{
    trainer *t = ctx;
    int rc = log_line(t, "epoch", &t->sums);
    t->sums = (epoch_sums){0};
    return rc;
}

/* One step; its loss terms wait in t for after_step. */
static int step(void *ctx, double *loss)
{
    trainer *t = ctx;
    int rc = train_step(t, &t->terms);
    *loss = t->terms.loss;
    return rc;
}

/* The loop's outcome (TG_TRAIN_DONE, _STOPPED or _INTERRUPTED, a stop saved), or -1. */
static int train(trainer *t)
{
    tg_train_loop l = {.total_steps = t->total, .steps_per_epoch = t->per_epoch,
                       .stop_after_epoch = t->o->stop_after_epoch, .stop_after_step = t->o->stop_after_step,
                       .ctx = t, .step = step, .after_step = after_step, .end_epoch = end_epoch,
                       .before_save = before_save, .progress = &t->bar};
    return app_train(&l, &t->run, &t->state, "finetune_seg");
}

/* ---- results ---- */

static int write_results(trainer *t, const seg_result *sr, const finetune_result *r)
{
    json_t *root = json_pack("{s:O,s:{s:I,s:I,s:I},s:{s:o,s:o}}", "config", t->config, "train", "steps",
                             (json_int_t)t->total, "epochs", (json_int_t)t->o->epochs, "steps_per_epoch",
                             (json_int_t)t->per_epoch, "timing", "seconds", out_json_number(r->seconds),
                             "eval_seconds", out_json_number(r->eval_seconds));
    return out_write_json(t->run.dir, "results.json", seg_result_json(sr, &t->data, root), NULL, "finetune_seg");
}

/* Final weights, test scores, results.json. */
static int finish(trainer *t, finetune_result *r)
{
    char path[TG_TRAIN_PATH_MAX];
    r->steps = t->total;
    r->steps_per_epoch = t->per_epoch;
    r->seconds = seconds(t);
    tg_train_run_path(&t->run, "fcn.safetensors", path);
    bool writer = tg_dist_rank() == 0; /* rank 0 writes the run's files */
    if (writer && tg_module_save(path, t->state.model)) return fail("saving the weights");
    printf("trained %lld steps in %.1f s; weights in %s\n", (long long)t->total, r->seconds, path);
    seg_eval_opts eo = {.batch = t->o->eval_batch};
    seg_result sr;
    double t0 = tg_train_clock();
    if (seg_evaluate(t->state.model, &t->data, &eo, &sr)) return -1;
    r->eval_seconds = tg_train_clock() - t0;
    r->test = sr.scores;
    int rc = writer ? write_results(t, &sr, r) : 0;
    seg_result_free(&sr);
    return tg_dist_agree(rc); /* every rank goes on once rank 0's files are in place */
}

int finetune_run(const finetune_config *c, finetune_result *r)
{
    *r = (finetune_result){0};
    trainer t;
    int rc = trainer_init(&t, c);
    if (!rc) rc = train(&t);
    if (!rc) rc = finish(&t, r);
    trainer_free(&t);
    return rc;
}

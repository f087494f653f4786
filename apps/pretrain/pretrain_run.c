/* MoCo-v2 / DenseCL pretraining as one function (see pretrain_run.h). */
#include "pretrain_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "out_files.h"

#define NECK_SEED_BIT (UINT64_C(1) << 40) /* the necks' and queues' seed, apart from the backbone's */
#define SHUFFLE_STREAM 1                  /* the key batch's permutations (shuffle BN) */

/* Sums over the steps of an epoch, for its means; the matching counts are
 * cells, not steps. The running epoch's and the last finished one's are
 * kept in the checkpoint, so a resumed run reports what an uninterrupted
 * one does. */
enum { S_LOSS, S_GLOBAL, S_DENSE, S_WGLOBAL, S_WDENSE, S_LAMBDA, S_TOP1G, S_TOP1D, S_CELLS, S_EXACT, S_NEAR, S_STEPS,
       S_COUNT };
static const char *const sum_names[S_COUNT] = {"loss",  "loss_global", "loss_dense", "weighted_global",
                                               "weighted_dense", "lambda", "top1_global", "top1_dense",
                                               "cells", "exact", "near", "steps"};
typedef struct {
    double v[S_COUNT];
} sums;

typedef struct {
    const pretrain_config *c;
    tg_dataset *data;
    const char *data_name;
    tg_aug_pretrain aug;
    backbone_arch arch; /* the stem resolved */
    tg_rng shuffle;
    tg_checkpoint_rng rngs[1];
    tg_train_run run;
    tg_train_state state;
    json_t *config;    /* the options that change the numbers */
    char *config_text; /* the same, compact, as checkpoints hold it */
    int64_t per_epoch, total, warmup, grid;
    int64_t snapshot_steps[FRACTIONS_MAX]; /* the iteration of each of c->snapshots */
    sums epoch, last; /* the running epoch's; the last finished one's */
    /* times: training before this part; this part's start; summed step
     * times and how many steps they cover (both over every part) */
    double seconds_before, start, step_seconds, steps_timed;
    int64_t first_step; /* where this part started */
    struct {
        double time;
        int64_t step;
    } mark[2]; /* the last step line and epoch line (or this part's start): the log's img/s */
    sums one; /* the last step's */
    tg_train_progress bar;
    tg_data_parallel *dp; /* the gradients averaged over the ranks of the job */
} trainer;

/* Width 0.25 (channels 16-32-64-128) and 75 epochs (2325 steps of 256):
 * three times the 25 epochs this preset had when a MoCo-v2 step took 2.1 s
 * and a DenseCL step 2.4 s at 2 threads; with the direct convolutions and
 * fused batch norm they take about 1.4 and 1.6 s (bench/README.md), so the
 * two pretrainings take about two hours. Set before any run of this length
 * was seen (issue 12). */
pretrain_config pretrain_defaults(void)
{
    backbone_arch arch = backbone_arch_defaults();
    arch.width = 0.25;
    arch.stem = NULL;
    return (pretrain_config){.method = "densecl", .voc_split = "train", .images = 8000, .size = 64, .arch = arch,
                             .epochs = 75, .batch = 256, .queue = 4096, .bn_groups = 8, .moco_momentum = 0.99,
                             .lr = 0.06, .weight_decay = 1e-4, .momentum = 0.9, .tau = 0.2, .lambda = 0.5,
                             .warmup = 0.02, .workers = 1, .log_every = 10, .out = "pretrain_out"};
}

static int fail(const char *what) { return app_fail("pretrain", what); }

/* ---- setup ---- */

/* Settings a job of R ranks cannot run, refused alike on every rank: the
 * global batch in R equal slices, each slice in bn_groups / R groups, K a
 * multiple of the global batch. */
static int check_job(const pretrain_config *c)
{
    long ranks = tg_dist_world_size();
    if (c->batch % ranks)
        TG_FAIL("--batch %ld (the global batch) does not split across %ld ranks", c->batch, ranks);
    else if (c->bn_groups % ranks)
        TG_FAIL("--bn-groups %ld (over the global batch) does not split across %ld ranks", c->bn_groups, ranks);
    else if (c->batch % c->bn_groups)
        TG_FAIL("--batch %ld does not split into --bn-groups %ld groups", c->batch, c->bn_groups);
    else if (c->queue % c->batch)
        TG_FAIL("--queue %ld is not a multiple of the global batch --batch %ld", c->queue, c->batch);
    else return 0;
    return app_job_fail("pretrain", "settings");
}

static int open_data(trainer *t)
{
    const pretrain_config *c = t->c;
    if (c->voc && c->folder) {
        fprintf(stderr, "pretrain: --voc and --folder: choose one\n");
        return -1;
    }
    if (c->tolerate_corrupt && !c->voc && !c->folder) {
        fprintf(stderr, "pretrain: --tolerate-corrupt-images: ShapeScenes decodes no files (give --voc or --folder)\n");
        return -1;
    }
    t->data_name = c->voc ? "voc" : c->folder ? "folder" : "shapescenes";
    if (c->voc || c->folder) {
        t->data = app_decode_tolerance(c->voc ? tg_voc_open(c->voc, c->voc_split, 0) : tg_image_folder_open(c->folder),
                                       c->tolerate_corrupt);
    } else {
        tg_shapescenes_config s = tg_shapescenes_defaults(TG_SHAPESCENES_PRETRAIN);
        s.seed = (uint64_t)c->data_seed;
        s.size = (int)c->size;
        s.single = c->single;
        s.count = c->images;
        t->data = app_open_scenes(&s);
    }
    if (!t->data) return fail("opening the data");
    if (t->data->has_masks) { /* the guard: pretraining never sees a label */
        fprintf(stderr, "pretrain: the %s data has masks; pretraining reads images only\n", t->data_name);
        return -1;
    }
    t->aug = tg_aug_pretrain_default((int)c->size);
    return 0;
}

/* The C5 grid side: each 3x3 or 7x7 stride-2 layer (pad 1, 3) maps n to
 * (n - 1) / 2 + 1; the small stem has 3 of them, the standard 5. */
static int64_t grid_side(int64_t size, bool small_stem)
{
    for (int i = 0; i < (small_stem ? 3 : 5); i++) size = (size - 1) / 2 + 1;
    return size;
}

static int make_model(trainer *t)
{
    const pretrain_config *c = t->c;
    bool densecl = strcmp(c->method, "densecl") == 0;
    if (!densecl && strcmp(c->method, "mocov2") != 0) {
        fprintf(stderr, "pretrain: --method '%s' is neither mocov2 nor densecl\n", c->method);
        return -1;
    }
    t->arch = c->arch;
    if (!t->arch.stem) t->arch.stem = c->voc || c->folder ? "standard" : "small";
    bool small = strcmp(t->arch.stem, "small") == 0;
    if (!small && strcmp(t->arch.stem, "standard") != 0) {
        fprintf(stderr, "pretrain: --stem '%s' is neither small nor standard\n", t->arch.stem);
        return -1;
    }
    tg_contrastive_config cfg = tg_contrastive_defaults(densecl ? TG_DENSECL : TG_MOCOV2);
    cfg.backbone.depth = (int)t->arch.depth;
    cfg.backbone.width = t->arch.width;
    cfg.backbone.small_stem = small;
    cfg.backbone.bn_groups = (int)(c->bn_groups / tg_dist_world_size()); /* the global batch's groups */
    cfg.backbone.seed = (uint64_t)c->seed;
    cfg.queue_len = c->queue;
    cfg.momentum = c->moco_momentum;
    cfg.tau = c->tau;
    if (densecl) cfg.lambda = c->lambda;
    cfg.warmup_iters = t->warmup;
    cfg.seed = (uint64_t)c->seed | NECK_SEED_BIT;
    t->grid = grid_side(c->size, small);
    t->state.model = tg_contrastive_new(cfg);
    return t->state.model ? 0 : fail("building the model");
}

static int make_loader(trainer *t)
{
    const pretrain_config *c = t->c;
    if (app_make_loader(&t->state, t->data, tg_pretrain_pairs_config(&t->aug), c->batch, c->seed, c->workers,
                        &t->per_epoch, "pretrain"))
        return -1;
    t->total = t->per_epoch * c->epochs;
    t->warmup = (int64_t)llround(c->warmup * (double)t->total);
    return 0;
}

/* The iteration of each snapshot, refusing fractions that fall on none
 * inside the run or two on one. */
static int plan_snapshots(trainer *t)
{
    const fraction_list *f = &t->c->snapshots;
    if (fractions_check_steps(f, t->total, "pretrain")) return -1;
    for (int i = 0; i < f->n; i++) t->snapshot_steps[i] = fractions_step(f->v[i], t->total);
    return 0;
}

/* The options that change the numbers, as JSON (the run's config). */
static json_t *make_config(const trainer *t)
{
    const pretrain_config *c = t->c;
    json_t *j = json_pack("{s:s,s:s,s:s}", "program", "pretrain", "method", c->method, "dataset", t->data_name);
    if (c->voc || c->folder) j = out_json_set(j, "root", json_string(c->voc ? c->voc : c->folder));
    if (c->voc) j = out_json_set(j, "split", json_string(c->voc_split));
    if (c->tolerate_corrupt) j = out_json_set(j, "tolerate_corrupt_images", json_true());
    if (!c->voc && !c->folder)
        j = out_json_merge(j, json_pack("{s:I,s:I,s:b}", "images", (json_int_t)c->images, "data_seed",
                                        (json_int_t)c->data_seed, "single", c->single));
    j = backbone_arch_config(&t->arch, out_json_set(j, "size", json_integer(c->size)));
    j = out_json_merge(j, json_pack("{s:I,s:I,s:I,s:I,s:I}", "epochs", (json_int_t)c->epochs, "batch",
                                    (json_int_t)c->batch, "queue", (json_int_t)c->queue, "bn_groups",
                                    (json_int_t)c->bn_groups, "seed", (json_int_t)c->seed));
    const char *const keys[] = {"moco_momentum", "lr", "weight_decay", "momentum", "tau", "lambda", "warmup"};
    const double values[] = {c->moco_momentum, c->lr, c->weight_decay, c->momentum, c->tau, c->lambda, c->warmup};
    j = out_json_numbers(j, keys, values, (int)(sizeof keys / sizeof *keys));
    return c->snapshots.n ? out_json_set(j, "snapshots", fractions_json(&c->snapshots)) : j;
}

/* Checkpoint metadata names of the sums: "epoch_loss", "last_loss"... */
static void sum_key(char *key, size_t size, bool last, int i)
{
    snprintf(key, size, "%s_%s", last ? "last" : "epoch", sum_names[i]);
}

/* Restores the sums and the times of earlier parts. */
static int read_meta(trainer *t)
{
    const tg_train_state *m = &t->state;
    char key[64];
    for (int i = 0; i < 2 * S_COUNT; i++) {
        sum_key(key, sizeof key, i >= S_COUNT, i % S_COUNT);
        if (tg_train_meta_get(m, key, i < S_COUNT ? &t->epoch.v[i] : &t->last.v[i - S_COUNT])) return fail("resuming");
    }
    return tg_train_meta_get(m, "seconds", &t->seconds_before) ||
                   tg_train_meta_get(m, "step_seconds", &t->step_seconds) ||
                   tg_train_meta_get(m, "steps_timed", &t->steps_timed)
               ? fail("resuming")
               : 0;
}

static void describe(const trainer *t)
{
    const pretrain_config *c = t->c;
    printf("pretrain: %s on %s, %lld images at %ld px; ResNet-%ld (%s stem, width %g, C5 grid %lldx%lld), %lld "
           "parameters; %lld steps an epoch x %ld epochs (lambda warm-up %lld steps), batch %ld, K %ld, seed %ld, "
           "threads %d, ranks %d\n",
           c->method, t->data_name, (long long)t->data->size, c->size, t->arch.depth, t->arch.stem, t->arch.width,
           (long long)t->grid, (long long)t->grid,
           (long long)tg_module_num_parameters(tg_contrastive_encoder(t->state.model, 0)), (long long)t->per_epoch,
           c->epochs, (long long)t->warmup, c->batch, c->queue, c->seed, tg_get_num_threads(), tg_dist_world_size());
}

/* What a finished run writes besides its checkpoint and log. */
static const char *const outputs[] = {"backbone.safetensors", "backbone_iter*.safetensors", "results.json", NULL};

void pretrain_snapshot_name(int64_t step, char *buf, size_t size)
{
    snprintf(buf, size, "backbone_iter%lld.safetensors", (long long)step);
}

/* Writes the snapshot of the iteration the run is at, if one falls there
 * and is not written yet: right after the checkpoint there (after_save),
 * or on resuming from that checkpoint when a stop came between the two. */
static int snapshot_if_due(trainer *t)
{
    char name[TG_TRAIN_NAME_MAX], path[TG_TRAIN_PATH_MAX];
    struct stat st;
    if (tg_dist_rank() > 0) return 0; /* rank 0 writes the run's files */
    for (int i = 0; i < t->c->snapshots.n; i++) {
        if (t->snapshot_steps[i] != t->state.step) continue;
        pretrain_snapshot_name(t->state.step, name, sizeof name);
        tg_train_run_path(&t->run, name, path);
        if (stat(path, &st) != 0 && tg_contrastive_save_backbone(t->state.model, path)) return fail(path);
    }
    return 0;
}

static int after_save(void *ctx) { return snapshot_if_due(ctx); }

static int trainer_init(trainer *t, const pretrain_config *c)
{
    *t = (trainer){.c = c, .shuffle = tg_rng_new((uint64_t)c->seed, SHUFFLE_STREAM)};
    t->rngs[0] = (tg_checkpoint_rng){"shuffle", &t->shuffle};
    t->state.n_rngs = 1;
    t->state.rngs = t->rngs;
    t->state.outputs = outputs;
    if (check_job(c) || open_data(t) || make_loader(t) || plan_snapshots(t) || make_model(t) ||
        app_make_sgd(&t->state, tg_contrastive_parameters, c->lr, c->momentum, c->weight_decay, "pretrain"))
        return -1;
    t->config = make_config(t);
    t->config_text = t->config ? json_dumps(t->config, OUT_JSON_FLAGS) : NULL;
    if (!t->config_text) return fail("config: out of memory, or text that is not UTF-8");
    if (app_open_run(&t->run, c->out, t->config_text, c->start, &t->state, t->total, "pretrain") ||
        (c->start == TG_TRAIN_RESUME && (read_meta(t) || snapshot_if_due(t))) ||
        app_make_data_parallel(&t->state, tg_contrastive_parameters, &t->dp, "pretrain"))
        return -1;
    describe(t);
    if (tg_train_interrupt_install()) return fail("Ctrl-C");
    tg_train_progress_init(&t->bar, t->total, t->per_epoch, t->state.step, NULL);
    t->start = tg_train_clock();
    t->first_step = t->state.step;
    t->mark[0].time = t->mark[1].time = t->start;
    t->mark[0].step = t->mark[1].step = t->state.step;
    return 0;
}

static void trainer_free(trainer *t)
{
    tg_data_parallel_free(t->dp);
    app_close_run(&t->run, &t->state);
    json_decref(t->config);
    free(t->config_text);
    tg_dataset_free(t->data);
}

/* ---- training ---- */

static double seconds(const trainer *t) { return t->seconds_before + tg_train_clock() - t->start; }

/* One step's numbers as sums of one step. */
static sums step_sums(const tg_contrastive_out *o, const tg_match_score *m)
{
    return (sums){{o->weighted_global + o->weighted_dense, o->loss_global, o->loss_dense,
                   o->weighted_global, o->weighted_dense, o->lambda, o->top1_global, o->top1_dense,
                   (double)m->cells, (double)m->exact, (double)m->near, 1}};
}

/* How the matching agrees with the crop geometry, over every rank's cells. */
static int score_match(tg_tensor *match, tg_tensor *aux, tg_match_score *score)
{
    if (tg_contrastive_score_match(match, aux, score)) return -1;
    tg_tensor *counts = tg_from_data(TG_SHAPE(3), TG_INT64, (int64_t[]){score->cells, score->exact, score->near});
    int rc = counts ? tg_dist_allreduce(counts, TG_DIST_SUM) : -1;
    if (!rc) *score = (tg_match_score){tg_data_i64(counts)[0], tg_data_i64(counts)[1], tg_data_i64(counts)[2]};
    tg_release(counts);
    return rc;
}

/* One forward, backward and update on the next batch; its numbers into *one. */
static int train_step(trainer *t, sums *one)
{
    double t0 = tg_train_clock();
    tg_batch b;
    if (app_next_batch(t->state.loader, &b, "pretrain")) return -1;
    tg_optimizer_set_lr(t->state.opt, tg_lr_cosine(t->c->lr, 0, t->state.step, t->total));
    tg_contrastive_out out = {0};
    tg_match_score score = {0};
    int rc = tg_contrastive_step(t->state.model, b.fields[0], b.fields[1], t->state.step, &t->shuffle, &out) ||
                     (out.match && score_match(out.match, b.aux, &score)) ||
                     tg_data_parallel_backward(t->dp, out.loss) || tg_optimizer_step(t->state.opt) ||
                     tg_data_parallel_sync_statistics(t->dp)
                 ? fail("training step")
                 : 0;
    tg_optimizer_zero_grad(t->state.opt);
    if (!rc) *one = step_sums(&out, &score);
    tg_contrastive_out_clear(&out);
    tg_batch_release(&b);
    if (rc) return -1;
    if (t->state.step > t->first_step) { /* the first step of a part warms the caches up */
        t->step_seconds += tg_train_clock() - t0;
        t->steps_timed++;
    }
    return 0;
}

static pretrain_stats stats_of(const sums *s)
{
    const double *v = s->v;
    double n = v[S_STEPS], cells = v[S_CELLS] > 0 ? v[S_CELLS] : NAN;
    return (pretrain_stats){v[S_LOSS] / n,    v[S_GLOBAL] / n, v[S_DENSE] / n, v[S_WGLOBAL] / n,
                            v[S_WDENSE] / n,  v[S_LAMBDA] / n, v[S_TOP1G] / n, v[S_TOP1D] / n,
                            v[S_EXACT] / cells, v[S_NEAR] / cells};
}

/* obj with the stats as members; a chain step as in out_files.h. */
static json_t *stats_json(const pretrain_stats *s, json_t *obj)
{
    const char *const keys[] = {"loss",   "loss_global", "loss_dense", "weighted_global", "weighted_dense",
                                "lambda", "top1_global", "top1_dense", "match_exact",     "match_near"};
    const double values[] = {s->loss,        s->loss_global, s->loss_dense, s->weighted_global, s->weighted_dense,
                             s->lambda,      s->top1_global, s->top1_dense, s->match_exact,     s->match_near};
    return out_json_numbers(obj, keys, values, (int)(sizeof keys / sizeof *keys));
}

/* A log line: one step's numbers (or the epoch's means), and the img/s
 * since the last line of its kind. */
static int log_line(trainer *t, bool epoch, const sums *s)
{
    int64_t step = t->state.step;
    const char *kind = epoch ? "epoch" : "step";
    double now = tg_train_clock(), elapsed = now - t->mark[epoch].time;
    double rate = elapsed > 0 ? (double)(step - t->mark[epoch].step) * (double)t->c->batch / elapsed : 0;
    t->mark[epoch].time = now;
    t->mark[epoch].step = step;
    pretrain_stats st = stats_of(s);
    json_t *line = json_pack("{s:I,s:s,s:I,s:o}", "step", (json_int_t)step, "kind", kind, "epoch",
                             (json_int_t)((step - 1) / t->per_epoch + 1), "lr",
                             out_json_number(tg_optimizer_lr(t->state.opt)));
    line = out_json_set(stats_json(&st, line), "img_s", out_json_number(rate));
    line = out_json_set(line, "time", out_json_number(seconds(t)));
    char *text = line ? json_dumps(line, OUT_JSON_FLAGS) : NULL;
    int rc = !text ? fail("log: out of memory") : tg_train_run_log(&t->run, text) ? fail("writing the log") : 0;
    free(text);
    json_decref(line);
    return rc;
}

static int after_step(void *ctx, double loss)
{
    trainer *t = ctx;
    const sums *one = &t->one;
    (void)loss;
    for (int i = 0; i < S_COUNT; i++) t->epoch.v[i] += one->v[i];
    const double *v = one->v;
    char text[160];
    if (strcmp(t->c->method, "densecl") == 0)
        snprintf(text, sizeof text, "loss %.3f Lg %.3f Ld %.3f top1 %.2f dense-top1 %.2f match %.2f",
                 v[S_LOSS], v[S_GLOBAL], v[S_DENSE], v[S_TOP1G], v[S_TOP1D], v[S_CELLS] ? v[S_EXACT] / v[S_CELLS] : 0);
    else snprintf(text, sizeof text, "loss %.3f top1 %.2f", v[S_LOSS], v[S_TOP1G]);
    tg_train_progress_show(&t->bar, t->state.step, (double)t->c->batch, text);
    return t->state.step % t->c->log_every ? 0 : log_line(t, false, one);
}

/* The sums and times, for the checkpoint. */
static int before_save(void *ctx)
{
    trainer *t = ctx;
    tg_train_state *m = &t->state;
    char key[64];
    int rc = 0;
    for (int i = 0; !rc && i < 2 * S_COUNT; i++) {
        sum_key(key, sizeof key, i >= S_COUNT, i % S_COUNT);
        rc = tg_train_meta_set(m, key, i < S_COUNT ? t->epoch.v[i] : t->last.v[i - S_COUNT]);
    }
    if (!rc)
        rc = tg_train_meta_set(m, "seconds", seconds(t)) || tg_train_meta_set(m, "step_seconds", t->step_seconds) ||
             tg_train_meta_set(m, "steps_timed", t->steps_timed);
    return rc ? -1 : 0;
}

static int end_epoch(void *ctx)
{
    trainer *t = ctx;
    int rc = log_line(t, true, &t->epoch);
    t->last = t->epoch;
    t->epoch = (sums){{0}};
    return rc;
}

/* One step; its numbers wait in t for after_step. */
static int step(void *ctx, double *loss)
{
    trainer *t = ctx;
    int rc = train_step(t, &t->one);
    *loss = t->one.v[S_LOSS];
    return rc;
}

/* The loop's outcome (TG_TRAIN_DONE, _STOPPED or _INTERRUPTED, a stop saved), or -1. */
static int train(trainer *t)
{
    const pretrain_config *c = t->c;
    tg_train_loop l = {.total_steps = t->total, .steps_per_epoch = t->per_epoch,
                       .stop_after_epoch = c->stop_after_epoch, .stop_after_step = c->stop_after_step,
                       .save_at = t->snapshot_steps, .n_save_at = c->snapshots.n, .ctx = t, .step = step,
                       .after_step = after_step, .end_epoch = end_epoch, .before_save = before_save,
                       .after_save = after_save, .progress = &t->bar};
    return app_train(&l, &t->run, &t->state, "pretrain");
}

/* ---- results ---- */

/* [{"fraction":0.25,"step":194,"backbone":"backbone_iter194.safetensors"},..] */
static json_t *snapshots_json(const trainer *t)
{
    char name[TG_TRAIN_NAME_MAX];
    json_t *list = json_array();
    for (int i = 0; list && i < t->c->snapshots.n; i++) {
        pretrain_snapshot_name(t->snapshot_steps[i], name, sizeof name);
        json_t *one = json_pack("{s:o,s:I,s:s}", "fraction", out_json_number(t->c->snapshots.v[i]), "step",
                                (json_int_t)t->snapshot_steps[i], "backbone", name);
        if (json_array_append_new(list, one)) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

static int write_results(trainer *t, const pretrain_result *r)
{
    json_t *last = stats_json(&r->last_epoch, json_pack("{s:I}", "epoch", (json_int_t)t->c->epochs));
    json_t *root = json_pack("{s:O,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:o,s:s}", "config", t->config, "train", "images",
                             (json_int_t)t->data->size, "steps", (json_int_t)t->total, "epochs",
                             (json_int_t)t->c->epochs, "steps_per_epoch", (json_int_t)t->per_epoch,
                             "warmup_steps", (json_int_t)t->warmup, "grid", (json_int_t)t->grid, "last_epoch",
                             last, "backbone", "backbone.safetensors");
    if (t->c->snapshots.n) root = out_json_set(root, "snapshots", snapshots_json(t));
    root = out_json_set(root, "timing", json_pack("{s:o,s:o,s:o}", "seconds", out_json_number(r->seconds),
                                                  "seconds_per_step", out_json_number(r->seconds_per_step),
                                                  "img_s", out_json_number(r->images_per_second)));
    return out_write_json(t->run.dir, "results.json", root, NULL, "pretrain");
}

/* The backbone file, the times, results.json. */
static int finish(trainer *t, pretrain_result *r)
{
    tg_train_run_path(&t->run, "backbone.safetensors", r->backbone);
    bool writer = tg_dist_rank() == 0; /* rank 0 writes the run's files */
    if (writer && tg_contrastive_save_backbone(t->state.model, r->backbone)) return fail("saving the backbone");
    r->steps = t->total;
    r->steps_per_epoch = t->per_epoch;
    r->grid = t->grid;
    r->last_epoch = stats_of(&t->last);
    r->seconds = seconds(t);
    r->seconds_per_step = t->steps_timed > 0 ? t->step_seconds / t->steps_timed : NAN;
    r->images_per_second = (double)t->c->batch / r->seconds_per_step;
    char speed[64] = "no step timed: the first step of each part warms up";
    if (t->steps_timed > 0)
        snprintf(speed, sizeof speed, "%.3f s a step, %.1f img/s", r->seconds_per_step, r->images_per_second);
    printf("pretrained %lld steps in %.1f s (%s); backbone in %s\n", (long long)t->total, r->seconds, speed,
           r->backbone);
    char name[TG_TRAIN_NAME_MAX];
    for (int i = 0; i < t->c->snapshots.n; i++) {
        pretrain_snapshot_name(t->snapshot_steps[i], name, sizeof name);
        printf("snapshot at %g of the iterations: %s\n", t->c->snapshots.v[i], name);
    }
    /* every rank goes on once rank 0's files are in place (compare reads them next) */
    return tg_dist_agree(writer ? write_results(t, r) : 0);
}

/* What the gradients' communication cost this part of the run, with ranks. */
static void say_communication(const trainer *t)
{
    tg_data_parallel_stats st = tg_data_parallel_stats_of(t->dp);
    if (tg_dist_world_size() == 1 || st.backwards == 0) return;
    double n = (double)st.backwards;
    printf("data parallel: %d ranks; gradients %.2f MB a step in %d buckets; backward %.3f s a step, then %.4f s "
           "waiting for the gradients\n",
           tg_dist_world_size(), (double)st.bytes / 1e6, st.buckets, st.backward_seconds / n, st.wait_seconds / n);
}

int pretrain_run(const pretrain_config *c, pretrain_result *r)
{
    *r = (pretrain_result){0};
    trainer t;
    int rc = trainer_init(&t, c);
    if (!rc) rc = train(&t);
    if (rc >= 0) say_communication(&t);
    if (!rc) rc = finish(&t, r);
    trainer_free(&t);
    return rc;
}

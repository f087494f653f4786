/* The run directory and the loop: checkpoints every epoch, every N steps
 * and after listed steps (each followed by after_save), exact resume
 * (bitwise the same weights and log as a run that never stopped), a resume
 * with other settings refused, Ctrl-C, the log cut back to the checkpoint,
 * the stop on a non-finite loss and the NaN guard; a directory holding
 * another run (a checkpoint, a log, an output named or matching a pattern)
 * refused unless resumed or overwritten, an overwrite that leaves the old
 * run whole until its first checkpoint and then removes its outputs, the
 * lock against a second run, the clean-up of killed writers' files.
 *
 * The run is a linear regression on a toy dataset of 10 samples through
 * the real loader (3 batches of 3 an epoch, shuffled), with SGD and
 * momentum, so the model, optimizer, loader position and a generator of
 * the program's own (noise on the targets) all have to come back. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suites.h"
#include "tensorgrad.h"
#include "tmpdir.h"

#define FEATURES 6
#define SAMPLES 10
#define BATCH 3
#define EPOCHS 4
#define PER_EPOCH (SAMPLES / BATCH)
#define TOTAL (EPOCHS * PER_EPOCH)
#define CONFIG "{\"lr\":0.05}" /* the run's settings */

/* ---- the toy dataset: sample i is a 1x2 RGB image of bytes 7i+k ---- */

static int toy_get(const tg_dataset *ds, int64_t index, tg_sample *out)
{
    (void)ds;
    *out = (tg_sample){0};
    if (tg_image_alloc(&out->image, 1, 2, 3)) return -1;
    for (int k = 0; k < FEATURES; k++) out->image.data[k] = (uint8_t)(7 * index + 13 * k);
    return 0;
}

static void toy_name(const tg_dataset *ds, int64_t index, char *buf, int size)
{
    (void)ds;
    snprintf(buf, (size_t)size, "toy %lld", (long long)index);
}

static void toy_destroy(tg_dataset *ds) { (void)ds; }

static tg_dataset toy = {.size = SAMPLES, .get = toy_get, .name = toy_name, .destroy = toy_destroy};

/* Features in [0, 1] with augmentation noise; the target is their sum. */
static int toy_prepare(void *ctx, const tg_sample *s, int64_t index, tg_rng *rng, const tg_loader_slots *slots)
{
    (void)ctx, (void)index;
    float sum = 0;
    for (int k = 0; k < FEATURES; k++) {
        slots->fields[0][k] = (float)s->image.data[k] / 255.0f + 0.1f * (float)tg_rng_uniform(rng);
        sum += slots->fields[0][k];
    }
    slots->fields[1][0] = sum;
    return 0;
}

/* ---- one run ---- */

typedef struct {
    tg_train_run run;
    tg_train_state state;
    tg_rng noise;       /* the program's own generator: noise on targets */
    tg_checkpoint_rng rngs[1];
    double last_loss;
    int saves;          /* checkpoints written */
    int64_t interrupt_at, nan_at; /* raise SIGINT / return NaN at this step (0: never) */
    int64_t nan_weight_at, nan_grad_at; /* put a NaN in the weight / its gradient after this step (0: never) */
    int64_t check_every;          /* the loop's NaN guard period (0: its default) */
    const int64_t *save_at;       /* the loop's extra checkpoints */
    int n_save_at;
    int64_t after_save_at[2 * TOTAL]; /* the steps after_save was called at */
    int after_saves;
    bool pending_at_after_save;   /* an overwrite's log was still pending in an after_save */
    double loss_sum;    /* the program's own number, kept in the checkpoint */
} trainer;

static char run_dir[256];
/* The files the test's program writes beside its checkpoint. */
static const char *const outputs[] = {"results.json", "snapshot_*.bin", NULL};

/* "<run_dir>/<name>" into path (512 bytes); returns path. */
static char *run_path(const char *name, char *path)
{
    snprintf(path, 512, "%s/%s", run_dir, name);
    return path;
}

static bool exists_in_run(const char *name)
{
    char path[512];
    struct stat st;
    return stat(run_path(name, path), &st) == 0;
}

/* A file of the run directory that the library did not write. */
static void make_file(const char *name)
{
    char path[512];
    FILE *f = fopen(run_path(name, path), "w");
    ck_assert_ptr_nonnull(f);
    fputs("left over", f);
    fclose(f);
}

static void trainer_init(trainer *t, const char *config, tg_train_start start)
{
    *t = (trainer){.noise = tg_rng_new(5, 1)};
    tg_rng init = tg_rng_new(1, 0);
    t->state.model = tg_nn_linear(FEATURES, 1, true, &init);
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_module_parameters(t->state.model, &params), 0);
    t->state.opt = tg_sgd_new(&params, (tg_sgd_opts){.lr = 0.05, .momentum = 0.9});
    tg_tensor_list_clear(&params);
    tg_loader_config cfg = {.batch_size = BATCH, .shuffle = true, .drop_last = true, .seed = 3, .num_fields = 2,
                            .field_shape = {{1, {FEATURES}}, {1, {1}}}, .prepare = toy_prepare};
    t->state.loader = tg_loader_new(&toy, &cfg);
    ck_assert_ptr_nonnull(t->state.loader);
    t->rngs[0] = (tg_checkpoint_rng){"noise", &t->noise};
    t->state.n_rngs = 1;
    t->state.rngs = t->rngs;
    t->state.outputs = outputs;
    int rc = tg_train_run_open(&t->run, run_dir, config, start, &t->state);
    ck_assert_msg(rc == 0, "%s", tg_last_error());
    if (start == TG_TRAIN_RESUME) ck_assert_int_eq(tg_train_meta_get(&t->state, "loss_sum", &t->loss_sum), 0);
}

static void trainer_free(trainer *t)
{
    tg_train_run_close(&t->run);
    tg_metadata_clear(&t->state.meta);
    tg_loader_free(t->state.loader);
    tg_optimizer_free(t->state.opt);
    tg_module_free(t->state.model);
}

static int next_batch(tg_loader *l, tg_batch *b)
{
    int rc = tg_loader_next(l, b);
    if (rc == 0) rc = tg_loader_next(l, b);
    return rc == 1 ? 0 : -1;
}

/* A NaN in the first element of the weight, or of its gradient. */
static void poison(trainer *t, bool gradient)
{
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_module_parameters(t->state.model, &params), 0);
    tg_tensor *target = gradient ? tg_grad(params.items[0].tensor) : tg_retain(params.items[0].tensor);
    ck_assert_ptr_nonnull(target);
    tg_data_f32(target)[0] = NAN;
    tg_release(target);
    tg_tensor_list_clear(&params);
}

static int step(void *ctx, double *loss_out)
{
    trainer *t = ctx;
    tg_batch b;
    if (next_batch(t->state.loader, &b)) return -1;
    tg_tensor *noise = tg_rand(&t->noise, 2, (int64_t[]){BATCH, 1});
    tg_tensor *y = tg_module_forward(t->state.model, b.fields[0]);
    tg_tensor *target = tg_add(b.fields[1], noise);
    tg_tensor *diff = tg_sub(y, target);
    tg_tensor *sq = tg_mul(diff, diff);
    tg_tensor *loss = tg_mean(sq, 0, NULL, false);
    int rc = !loss || tg_backward(loss, NULL) || tg_optimizer_step(t->state.opt) ? -1 : 0;
    if (t->state.step + 1 == t->nan_grad_at) poison(t, true);
    else tg_optimizer_zero_grad(t->state.opt);
    if (t->state.step + 1 == t->nan_weight_at) poison(t, false);
    *loss_out = loss ? tg_item(loss) : 0;
    if (t->state.step + 1 == t->nan_at) *loss_out = NAN;
    if (t->state.step + 1 == t->interrupt_at) raise(SIGINT);
    tg_release(loss), tg_release(sq), tg_release(diff), tg_release(target), tg_release(y), tg_release(noise);
    tg_batch_release(&b);
    return rc;
}

static int after_step(void *ctx, double loss)
{
    trainer *t = ctx;
    t->loss_sum += loss;
    char line[128];
    snprintf(line, sizeof line, "{\"step\":%lld,\"loss\":%.9g}", (long long)t->state.step, loss);
    return tg_train_run_log(&t->run, line);
}

static int before_save(void *ctx)
{
    trainer *t = ctx;
    t->saves++;
    return tg_train_meta_set(&t->state, "loss_sum", t->loss_sum);
}

static int after_save(void *ctx)
{
    trainer *t = ctx;
    t->after_save_at[t->after_saves++] = t->state.step;
    t->pending_at_after_save = t->pending_at_after_save || t->run.pending_log[0];
    return 0;
}

static int train(trainer *t, int64_t stop_after_step, int64_t save_every)
{
    tg_train_loop l = {.total_steps = TOTAL, .steps_per_epoch = PER_EPOCH, .stop_after_step = stop_after_step,
                       .save_every = save_every, .save_at = t->save_at, .n_save_at = t->n_save_at,
                       .check_every = t->check_every, .ctx = t, .step = step, .after_step = after_step,
                       .before_save = before_save, .after_save = after_save};
    return tg_train_loop_run(&l, &t->run, &t->state);
}

/* ---- what a finished run leaves ---- */

typedef struct {
    float weight[FEATURES + 1];
    double loss_sum;
    char *log;
} outcome;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *text = calloc(1 << 16, 1);
    ck_assert_ptr_nonnull(text);
    size_t n = fread(text, 1, (1 << 16) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static outcome outcome_of(trainer *t)
{
    outcome o = {.loss_sum = t->loss_sum, .log = read_text(t->run.log_path)};
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_module_parameters(t->state.model, &params), 0);
    memcpy(o.weight, tg_data_f32(params.items[0].tensor), FEATURES * sizeof(float));
    o.weight[FEATURES] = tg_data_f32(params.items[1].tensor)[0];
    tg_tensor_list_clear(&params);
    return o;
}

static void assert_same(const outcome *a, const outcome *b)
{
    ck_assert_mem_eq(a->weight, b->weight, sizeof a->weight);
    ck_assert(a->loss_sum == b->loss_sum);
    ck_assert_str_eq(a->log, b->log);
}

/* The run with no stop. */
static outcome full_run(void)
{
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_NEW);
    ck_assert_int_eq(train(&t, 0, 0), TG_TRAIN_DONE);
    ck_assert_int_eq(t.state.step, TOTAL);
    ck_assert_int_eq(t.saves, EPOCHS);
    outcome o = outcome_of(&t);
    trainer_free(&t);
    tmpdir_remove();
    tmpdir_make();
    return o;
}

/* A fresh run stopped (and saved) once stop steps are done. */
static void stopped_run(int64_t stop)
{
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_NEW);
    ck_assert_int_eq(train(&t, stop, 0), TG_TRAIN_STOPPED);
    ck_assert_int_eq(t.state.step, stop);
    trainer_free(&t);
}

/* Runs the run in run_dir, started as start asks, to the end. */
static outcome run_to_the_end(const char *config, tg_train_start start)
{
    trainer t;
    trainer_init(&t, config, start);
    ck_assert_int_eq(train(&t, 0, 0), TG_TRAIN_DONE);
    outcome o = outcome_of(&t);
    trainer_free(&t);
    return o;
}

static void setup(void)
{
    tmpdir_make();
    tmpdir_file(run_dir, "run/a");
}

/* ---- the tests ---- */

START_TEST(test_the_loss_goes_down)
{
    outcome full = full_run();
    double first, last;
    ck_assert_int_eq(sscanf(full.log, "{\"step\":1,\"loss\":%lf", &first), 1);
    const char *tail = strstr(full.log, "{\"step\":12,");
    ck_assert_ptr_nonnull(tail);
    ck_assert_int_eq(sscanf(tail, "{\"step\":12,\"loss\":%lf", &last), 1);
    ck_assert_msg(last < 0.5 * first, "loss %g -> %g", first, last);
    free(full.log);
}
END_TEST

/* Stopped within an epoch, resumed: the same bits as never stopping. */
START_TEST(test_stop_and_resume_is_exact)
{
    outcome full = full_run();
    stopped_run(5);
    outcome resumed = run_to_the_end(CONFIG, TG_TRAIN_RESUME);
    assert_same(&full, &resumed);
    free(full.log), free(resumed.log);
}
END_TEST

/* Lines a killed run wrote after its last checkpoint are cut on resume. */
START_TEST(test_resume_cuts_the_log_to_the_checkpoint)
{
    outcome full = full_run();
    stopped_run(5);
    char log[512];
    snprintf(log, sizeof log, "%s/log.jsonl", run_dir);
    FILE *f = fopen(log, "a");
    ck_assert_ptr_nonnull(f);
    fputs("{\"step\":6,\"loss\":99}\n{\"step\":7,\"loss\":99}\n", f);
    fclose(f);
    outcome resumed = run_to_the_end(CONFIG, TG_TRAIN_RESUME);
    assert_same(&full, &resumed);
    free(full.log), free(resumed.log);
}
END_TEST

/* Checkpoints at every epoch's end and every save_every steps. */
START_TEST(test_checkpoints_every_epoch_and_every_n_steps)
{
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_NEW);
    ck_assert_int_eq(train(&t, 0, 2), TG_TRAIN_DONE);
    ck_assert_int_eq(t.saves, 8); /* steps 2, 3, 4, 6, 8, 9, 10, 12 */
    trainer_free(&t);
}
END_TEST

/* Checkpoints after the steps save_at lists too (one at an epoch's end),
 * each followed by after_save at its step; the run ends as one without. */
START_TEST(test_checkpoints_after_the_listed_steps_then_after_save)
{
    outcome full = full_run();
    static const int64_t save_at[] = {2, 3, 7};
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_NEW);
    t.save_at = save_at, t.n_save_at = 3;
    ck_assert_int_eq(train(&t, 0, 0), TG_TRAIN_DONE);
    static const int64_t want[] = {2, 3, 6, 7, 9, 12};
    ck_assert_int_eq(t.saves, 6);
    ck_assert_int_eq(t.after_saves, 6);
    ck_assert_mem_eq(t.after_save_at, want, sizeof want);
    outcome o = outcome_of(&t);
    assert_same(&full, &o);
    trainer_free(&t);
    free(full.log), free(o.log);
}
END_TEST

START_TEST(test_resume_with_other_settings_is_refused)
{
    stopped_run(4);
    tg_train_run run;
    tg_rng rng = tg_rng_new(0, 0);
    tg_train_state s = {.model = tg_nn_linear(FEATURES, 1, true, &rng)};
    ck_assert_int_eq(tg_train_run_open(&run, run_dir, "{\"lr\":0.1}", TG_TRAIN_RESUME, &s), -1);
    const char *e = tg_last_error();
    ck_assert_msg(strstr(e, "other settings") && strstr(e, CONFIG) && strstr(e, "{\"lr\":0.1}"), "%s", e);
    ck_assert_int_eq(s.step, 0);
    tg_module_free(s.model);
}
END_TEST

/* The same values printed another way are the same settings. */
START_TEST(test_resume_compares_configs_by_value)
{
    outcome full = full_run();
    stopped_run(5);
    outcome resumed = run_to_the_end("{ \"lr\": 5e-2 }", TG_TRAIN_RESUME);
    assert_same(&full, &resumed);
    free(full.log), free(resumed.log);
}
END_TEST

/* Configs written by earlier builds (%.15g numbers, whole numbers without
 * a fraction) hold the same values as those written now. */
START_TEST(test_configs_compare_by_value)
{
    ck_assert(tg_train_same_config("{\"lr\":0.01,\"width\":1,\"stem\":\"small\",\"frozen\":false,\"backbone\":null}",
                                   "{\"lr\":0.01000000000000000021,\"width\":1.0,\"stem\":\"small\",\"frozen\":false,"
                                   "\"backbone\":null}"));
    ck_assert(tg_train_same_config("{\"a\":[1,2.5]}", "{\"a\":[1.0,2.5]}"));
    ck_assert(!tg_train_same_config("{\"lr\":0.01}", "{\"lr\":0.02}"));
    ck_assert(!tg_train_same_config("{\"lr\":0.01}", "{\"lr\":0.01,\"seed\":0}"));
    ck_assert(!tg_train_same_config("{\"stem\":\"small\"}", "{\"stem\":\"standard\"}"));
    ck_assert(!tg_train_same_config("{\"a\":1}", "{\"a\":1"));
}
END_TEST

START_TEST(test_resume_without_a_checkpoint_fails)
{
    tg_train_run run;
    tg_rng rng = tg_rng_new(0, 0);
    tg_train_state s = {.model = tg_nn_linear(FEATURES, 1, true, &rng)};
    ck_assert_int_eq(tg_train_run_open(&run, run_dir, "{}", TG_TRAIN_RESUME, &s), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "checkpoint.safetensors"));
    tg_module_free(s.model);
}
END_TEST

/* Ctrl-C: the step under way finishes, the checkpoint is written, the
 * loop says it was interrupted; resuming gives the same bits. */
START_TEST(test_ctrl_c_saves_and_stops)
{
    outcome full = full_run();
    ck_assert_int_eq(tg_train_interrupt_install(), 0);
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_NEW);
    t.interrupt_at = 7;
    ck_assert_int_eq(train(&t, 0, 0), TG_TRAIN_INTERRUPTED);
    ck_assert(tg_train_interrupt_requested());
    ck_assert_int_eq(t.state.step, 7);
    trainer_free(&t);
    tg_train_interrupt_clear();
    ck_assert(!tg_train_interrupt_requested());
    outcome resumed = run_to_the_end(CONFIG, TG_TRAIN_RESUME);
    assert_same(&full, &resumed);
    free(full.log), free(resumed.log);
}
END_TEST

/* A NaN loss stops the run with an error; nothing is saved past it. */
START_TEST(test_nan_loss_stops_the_run)
{
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_NEW);
    t.nan_at = 5;
    ck_assert_int_eq(train(&t, 0, 0), -1);
    ck_assert_msg(strstr(tg_last_error(), "the loss is nan at step 5: training diverged"), "%s", tg_last_error());
    ck_assert_int_eq(t.state.step, 4);
    ck_assert_int_eq(t.saves, 1);
    trainer_free(&t);
}
END_TEST

START_TEST(test_bad_runs_are_refused)
{
    tg_train_run run;
    tg_train_state s = {0};
    ck_assert_int_eq(tg_train_run_open(&run, "", "{}", TG_TRAIN_NEW, &s), -1);
    ck_assert_int_eq(tg_train_run_open(&run, run_dir, "{}", TG_TRAIN_NEW, &s), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "no model"));
    char file[256];
    FILE *f = fopen(tmpdir_file(file, "plain"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(tg_train_make_dir(file), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "not a directory"));
}
END_TEST

START_TEST(test_write_file_replaces_whole)
{
    char path[256];
    tmpdir_file(path, "out.json");
    ck_assert_int_eq(tg_train_write_file(path, "{\"a\":1}\n", 8), 0);
    ck_assert_int_eq(tg_train_write_file(path, "{}\n", 3), 0);
    char *text = read_text(path);
    ck_assert_str_eq(text, "{}\n");
    free(text);
    ck_assert_int_eq(tg_train_write_file("/nonexistent-dir/x", "x", 1), -1);
}
END_TEST

/* ---- starting in a directory that holds a run ---- */

typedef struct {
    char *bytes;
    long len;
} file_copy;

static file_copy copy_of(const char *name)
{
    char path[512];
    FILE *f = fopen(run_path(name, path), "rb");
    ck_assert_msg(f != NULL, "no %s", path);
    fseek(f, 0, SEEK_END);
    file_copy c = {.len = ftell(f)};
    rewind(f);
    c.bytes = malloc((size_t)c.len + 1);
    ck_assert_ptr_nonnull(c.bytes);
    ck_assert_int_eq(fread(c.bytes, 1, (size_t)c.len, f), c.len);
    fclose(f);
    return c;
}

/* The file is still byte for byte what it was; frees the copy. */
static void assert_unchanged(const char *name, file_copy *then)
{
    file_copy now = copy_of(name);
    ck_assert_msg(now.len == then->len && memcmp(now.bytes, then->bytes, (size_t)now.len) == 0, "%s changed", name);
    free(now.bytes), free(then->bytes);
}

/* Entries of run_dir whose names contain part. */
static int entries_with(const char *part)
{
    DIR *d = opendir(run_dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

/* Opens run_dir as start asks with a throwaway model: the open's result. */
static int try_open(tg_train_start start)
{
    tg_train_run run;
    tg_rng rng = tg_rng_new(0, 0);
    tg_train_state s = {.model = tg_nn_linear(FEATURES, 1, true, &rng), .outputs = outputs};
    int rc = tg_train_run_open(&run, run_dir, CONFIG, start, &s);
    if (rc == 0) tg_train_run_close(&run);
    tg_metadata_clear(&s.meta);
    tg_module_free(s.model);
    return rc;
}

START_TEST(test_a_directory_with_a_run_is_refused)
{
    stopped_run(5);
    file_copy ckpt = copy_of("checkpoint.safetensors"), log = copy_of("log.jsonl");
    ck_assert_int_eq(try_open(TG_TRAIN_NEW), -1);
    const char *e = tg_last_error();
    ck_assert_msg(strstr(e, run_dir) && strstr(e, "already holds a run") && strstr(e, "--resume") &&
                      strstr(e, "--overwrite"),
                  "%s", e);
    assert_unchanged("checkpoint.safetensors", &ckpt);
    assert_unchanged("log.jsonl", &log);
    /* a log alone (a run killed before its first checkpoint) is a run too */
    char path[512];
    ck_assert_int_eq(remove(run_path("checkpoint.safetensors", path)), 0);
    ck_assert_int_eq(try_open(TG_TRAIN_NEW), -1);
    ck_assert_msg(strstr(tg_last_error(), "log.jsonl"), "%s", tg_last_error());
    /* and so is an output of the program alone, named or matching a pattern */
    ck_assert_int_eq(remove(run_path("log.jsonl", path)), 0);
    make_file("results.json");
    ck_assert_int_eq(try_open(TG_TRAIN_NEW), -1);
    ck_assert_msg(strstr(tg_last_error(), "its results.json"), "%s", tg_last_error());
    ck_assert_int_eq(remove(run_path("results.json", path)), 0);
    make_file("snapshot_7.bin");
    ck_assert_int_eq(try_open(TG_TRAIN_NEW), -1);
    ck_assert_msg(strstr(tg_last_error(), "its snapshot_7.bin"), "%s", tg_last_error());
    /* files that match no output are no run */
    ck_assert_int_eq(remove(run_path("snapshot_7.bin", path)), 0);
    make_file("snapshot_7.bin.txt");
    make_file(".snapshot_7.bin");
    ck_assert_msg(try_open(TG_TRAIN_NEW) == 0, "%s", tg_last_error());
}
END_TEST

/* An overwrite keeps the old run's outputs until its first checkpoint,
 * then removes them: no result of the old run sits beside the new one. */
START_TEST(test_an_overwrite_removes_the_old_outputs_at_its_first_checkpoint)
{
    stopped_run(5);
    const char *old[] = {"results.json", "snapshot_4.bin", "snapshot_11.bin"};
    for (int i = 0; i < 3; i++) make_file(old[i]);
    make_file("notes.txt");
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_OVERWRITE);
    for (int i = 0; i < 3; i++) ck_assert(exists_in_run(old[i]));
    ck_assert_int_eq(train(&t, 2, 0), TG_TRAIN_STOPPED);
    for (int i = 0; i < 3; i++) ck_assert_msg(!exists_in_run(old[i]), "%s is still there", old[i]);
    ck_assert(exists_in_run("notes.txt"));
    ck_assert_int_eq(t.after_saves, 1);
    ck_assert_msg(!t.pending_at_after_save, "after_save came before the overwrite was in place");
    trainer_free(&t);
}
END_TEST

/* --overwrite: the run starts over and ends as a fresh one would. */
START_TEST(test_overwrite_starts_over)
{
    outcome full = full_run();
    stopped_run(5);
    outcome over = run_to_the_end(CONFIG, TG_TRAIN_OVERWRITE);
    assert_same(&full, &over);
    ck_assert_int_eq(entries_with(".tmp-"), 0);
    free(full.log), free(over.log);
}
END_TEST

/* An overwrite that fails before its first checkpoint (at step 3) leaves
 * the old run's checkpoint and log as they were, and nothing else. */
START_TEST(test_a_failed_overwrite_leaves_the_old_run)
{
    outcome full = full_run();
    stopped_run(5);
    make_file("results.json");
    file_copy ckpt = copy_of("checkpoint.safetensors"), log = copy_of("log.jsonl"), log_then = copy_of("log.jsonl");
    file_copy results = copy_of("results.json");
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_OVERWRITE);
    t.nan_at = 2;
    ck_assert_int_eq(train(&t, 0, 0), -1);
    assert_unchanged("log.jsonl", &log_then); /* while the new run is still open, too */
    trainer_free(&t);
    assert_unchanged("checkpoint.safetensors", &ckpt);
    assert_unchanged("log.jsonl", &log);
    assert_unchanged("results.json", &results);
    ck_assert_int_eq(entries_with(".tmp-"), 0);
    outcome resumed = run_to_the_end(CONFIG, TG_TRAIN_RESUME); /* the old run goes on */
    assert_same(&full, &resumed);
    free(full.log), free(resumed.log);
}
END_TEST

/* While a run holds the directory, a second is refused, whatever its
 * mode, naming the directory and the holder; after close it may go on. */
START_TEST(test_a_second_run_is_refused_while_one_is_open)
{
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_NEW);
    ck_assert_int_eq(train(&t, 4, 0), TG_TRAIN_STOPPED);
    file_copy ckpt = copy_of("checkpoint.safetensors");
    char want[512];
    snprintf(want, sizeof want, "run directory %s is in use by another run (pid %ld)", run_dir, (long)getpid());
    for (int start = TG_TRAIN_NEW; start <= TG_TRAIN_OVERWRITE; start++) {
        ck_assert_int_eq(try_open((tg_train_start)start), -1);
        ck_assert_msg(strstr(tg_last_error(), want), "%s", tg_last_error());
    }
    assert_unchanged("checkpoint.safetensors", &ckpt);
    ck_assert_int_eq(entries_with(".tmp-"), 0);
    trainer_free(&t);
    ck_assert_msg(try_open(TG_TRAIN_RESUME) == 0, "%s", tg_last_error());
}
END_TEST

/* What writers killed mid-write left ("<file>.tmp-" and six letters or
 * digits, regular files) is removed when a run opens; nothing else is. */
START_TEST(test_killed_writers_files_are_removed)
{
    ck_assert_int_eq(tg_train_make_dir(run_dir), 0);
    const char *stale[] = {"checkpoint.safetensors.tmp-Ab3dE9", "log.jsonl.tmp-zzzzzz", "results.json.tmp-000000"};
    const char *kept[] = {"notes.tmp-abcde", "keep.tmp-abcdefg", "data.tmp-ab_def", "tmp-abcdef", "x.tmp-abcdef.txt"};
    for (int i = 0; i < 3; i++) make_file(stale[i]);
    for (int i = 0; i < 5; i++) make_file(kept[i]);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/dir.tmp-abcdef", run_dir);
    ck_assert_int_eq(mkdir(sub, 0777), 0);
    ck_assert_msg(try_open(TG_TRAIN_NEW) == 0, "%s", tg_last_error());
    for (int i = 0; i < 3; i++) ck_assert_msg(!exists_in_run(stale[i]), "%s is still there", stale[i]);
    for (int i = 0; i < 5; i++) ck_assert_msg(exists_in_run(kept[i]), "%s was removed", kept[i]);
    ck_assert(exists_in_run("dir.tmp-abcdef"));
}
END_TEST

/* ---- the NaN guard ---- */

/* The checkpoint's step, read back by resuming from it. */
static int64_t saved_step(void)
{
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_RESUME);
    int64_t step = t.state.step;
    trainer_free(&t);
    return step;
}

/* A NaN written into the weight at step 5: the guard (every step here)
 * stops the run there naming the parameter, and the checkpoint on disk
 * stays the one of step 3. */
START_TEST(test_the_nan_guard_stops_at_a_nan_weight)
{
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_NEW);
    t.check_every = 1;
    t.nan_weight_at = 5;
    ck_assert_int_eq(train(&t, 0, 0), -1);
    ck_assert_msg(strstr(tg_last_error(), "step 5: parameter weight has a non-finite value (nan)"), "%s",
                  tg_last_error());
    ck_assert_int_eq(t.saves, 1);
    trainer_free(&t);
    ck_assert_int_eq(saved_step(), 3);
}
END_TEST

/* A NaN gradient at step 4 is caught by the guard every 2 steps. */
START_TEST(test_the_nan_guard_checks_gradients)
{
    trainer t;
    trainer_init(&t, CONFIG, TG_TRAIN_NEW);
    t.check_every = 2;
    t.nan_grad_at = 4;
    ck_assert_int_eq(train(&t, 0, 0), -1);
    ck_assert_msg(strstr(tg_last_error(), "step 4: the gradient of parameter weight has a non-finite value (nan)"),
                  "%s", tg_last_error());
    trainer_free(&t);
    ck_assert_int_eq(saved_step(), 3);
}
END_TEST

START_TEST(test_exit_statuses)
{
    ck_assert_int_eq(tg_train_exit_status(TG_TRAIN_DONE), 0);
    ck_assert_int_eq(tg_train_exit_status(TG_TRAIN_STOPPED), 0);
    ck_assert_int_eq(tg_train_exit_status(TG_TRAIN_INTERRUPTED), 130);
    ck_assert_int_eq(tg_train_exit_status(-1), 1);
}
END_TEST

Suite *run_suite(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("loop");
    tcase_add_checked_fixture(tc, setup, tmpdir_remove);
    tcase_add_test(tc, test_the_loss_goes_down);
    tcase_add_test(tc, test_stop_and_resume_is_exact);
    tcase_add_test(tc, test_resume_cuts_the_log_to_the_checkpoint);
    tcase_add_test(tc, test_checkpoints_every_epoch_and_every_n_steps);
    tcase_add_test(tc, test_checkpoints_after_the_listed_steps_then_after_save);
    tcase_add_test(tc, test_resume_with_other_settings_is_refused);
    tcase_add_test(tc, test_resume_compares_configs_by_value);
    tcase_add_test(tc, test_configs_compare_by_value);
    tcase_add_test(tc, test_resume_without_a_checkpoint_fails);
    tcase_add_test(tc, test_ctrl_c_saves_and_stops);
    tcase_add_test(tc, test_nan_loss_stops_the_run);
    tcase_add_test(tc, test_bad_runs_are_refused);
    tcase_add_test(tc, test_write_file_replaces_whole);
    tcase_add_test(tc, test_a_directory_with_a_run_is_refused);
    tcase_add_test(tc, test_overwrite_starts_over);
    tcase_add_test(tc, test_an_overwrite_removes_the_old_outputs_at_its_first_checkpoint);
    tcase_add_test(tc, test_a_failed_overwrite_leaves_the_old_run);
    tcase_add_test(tc, test_a_second_run_is_refused_while_one_is_open);
    tcase_add_test(tc, test_killed_writers_files_are_removed);
    tcase_add_test(tc, test_the_nan_guard_stops_at_a_nan_weight);
    tcase_add_test(tc, test_the_nan_guard_checks_gradients);
    tcase_add_test(tc, test_exit_statuses);
    suite_add_tcase(s, tc);
    return s;
}

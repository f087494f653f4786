/* The API sweep's makers and checks (see makers.h). */
#include "makers.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the case: what it calls, and what it made ---- */

#define MAX_MADE 64

typedef void (*giver)(void *);

static struct {
    const char *fn, *param, *value;
    char problems[4096]; /* what the test's cases did wrong so far, one a line */
    int n_made;
    void *made[MAX_MADE];
    giver give_back[MAX_MADE];
} sweep;

static void *keep(void *p, giver give_back)
{
    ck_assert_msg(p != NULL, "%s: a maker failed: %s", sweep.fn, tg_last_error());
    ck_assert_int_lt(sweep.n_made, MAX_MADE);
    sweep.made[sweep.n_made] = p;
    sweep.give_back[sweep.n_made++] = give_back;
    return p;
}

void sweep_begin(const char *fn, const char *param, const char *value)
{
    sweep.fn = fn, sweep.param = param, sweep.value = value;
    tg_clear_error();
}

static void problem(const char *what)
{
    size_t used = strlen(sweep.problems);
    snprintf(sweep.problems + used, sizeof sweep.problems - used, "\n  %s(%s = %s) %s", sweep.fn, sweep.param,
             sweep.value, what);
}

void sweep_check(sweep_expect expect, int failed)
{
    bool must = expect == SWEEP_MUST_FAIL;
    if (must && failed == SWEEP_SUCCEEDED) problem("did not fail");
    else if ((must || failed == SWEEP_FAILED) && tg_last_error()[0] == '\0') problem("failed without a message");
}

void sweep_done(void) { ck_assert_msg(sweep.problems[0] == '\0', "%s", sweep.problems); }

void sweep_end(void)
{
    while (sweep.n_made > 0) {
        sweep.n_made--;
        sweep.give_back[sweep.n_made](sweep.made[sweep.n_made]);
    }
}

void *sweep_null(void) { return NULL; }

static char dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_dir(void) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

const char *sweep_dir(void)
{
    if (!dir[0]) {
        strcpy(dir, "/tmp/tg_sweep_XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        atexit(remove_dir);
    }
    return dir;
}

/* ---- how things are given back ---- */

static void release_tensor(void *p) { tg_release(p); }
static void release_slot(void *p) { tg_release(*(tg_tensor **)p), free(p); }
static void release_pair(void *p)
{
    tg_tensor **ts = p;
    tg_release(ts[0]), tg_release(ts[1]), free(ts);
}
static void clear_list(void *p) { tg_tensor_list_clear(p), free(p); }
static void clear_metadata(void *p) { tg_metadata_clear(p), free(p); }
static void free_module(void *p) { tg_module_free(p); }
static void free_optimizer(void *p) { tg_optimizer_free(p); }
static void free_dataset(void *p) { tg_dataset_free(p); }
static void free_loader(void *p) { tg_loader_free(p); }
static void release_batch(void *p) { tg_batch_release(p), free(p); }
static void free_sample(void *p) { tg_sample_free(p), free(p); }
static void free_image(void *p) { tg_image_free(p), free(p); }
static void free_confusion(void *p) { tg_confusion_free(p), free(p); }
static void clear_contrastive_out(void *p) { tg_contrastive_out_clear(p), free(p); }
static void clear_extra(void *p) { tg_metadata_clear(&((tg_checkpoint_extra *)p)->metadata), free(p); }
static void close_run(void *p) { tg_train_run_close(p), free(p); }
static void clear_state(void *p) { tg_metadata_clear(&((tg_train_state *)p)->meta), free(p); }
static void close_file(void *p) { fclose(p); }

/* ---- tensors and buffers ---- */

static tg_tensor *new_tensor(tg_dtype dtype) { return tg_full(TG_SHAPE(2, 2, 2, 2), dtype == TG_FLOAT32 ? 0.5f : 0); }

tg_tensor *make_tensor(void) { return keep(new_tensor(TG_FLOAT32), release_tensor); }

tg_tensor *make_labels(void) { return keep(tg_zeros(TG_SHAPE(2, 2, 2, 2), TG_INT64), release_tensor); }

tg_tensor *make_taken_tensor(void) { return new_tensor(TG_FLOAT32); }

tg_tensor **make_tensor_pair(void)
{
    tg_tensor **ts = keep(calloc(2, sizeof *ts), release_pair);
    ts[0] = new_tensor(TG_FLOAT32);
    ts[1] = new_tensor(TG_FLOAT32);
    return ts;
}

tg_tensor **make_tensor_slot(void) { return keep(calloc(1, sizeof(tg_tensor *)), release_slot); }

void *make_zeroed(size_t size) { return keep(calloc(1, size), free); }

int64_t *make_shape(void)
{
    int64_t *s = make_zeroed(TG_MAX_DIMS * sizeof *s);
    for (int i = 0; i < TG_MAX_DIMS; i++) s[i] = i < 4 ? 2 : 1;
    return s;
}

int64_t *make_i64_buffer(void) { return make_zeroed(4096 * sizeof(int64_t)); }

int *make_dims(void)
{
    int *d = make_zeroed(TG_MAX_DIMS * sizeof *d);
    for (int i = 0; i < TG_MAX_DIMS; i++) d[i] = i;
    return d;
}

int *make_int_slot(void) { return make_zeroed(sizeof(int)); }

float *make_floats(void)
{
    float *f = make_zeroed(3 * 32 * 32 * sizeof *f);
    for (int i = 0; i < 3 * 32 * 32; i++) f[i] = 0.5f;
    return f;
}

double *make_doubles(void) { return make_zeroed(64 * sizeof(double)); }

char *make_chars(void) { return make_zeroed(TG_TRAIN_PATH_MAX); }

void *make_bytes(void) { return make_zeroed(4096); }

char *make_path(const char *name)
{
    char *p = make_chars();
    snprintf(p, TG_TRAIN_PATH_MAX, "%s/%s", sweep_dir(), name);
    return p;
}

char **make_argv(void)
{
    static char prog[] = "sweep";
    char **argv = make_zeroed(2 * sizeof *argv);
    argv[0] = prog;
    return argv;
}

tg_tensor_list *make_empty_list(void) { return keep(calloc(1, sizeof(tg_tensor_list)), clear_list); }

tg_tensor_list *make_list(void)
{
    tg_tensor_list *l = make_empty_list();
    tg_tensor *t = new_tensor(TG_FLOAT32);
    ck_assert_int_eq(tg_tensor_list_add(l, "weight", t), 0);
    tg_release(t);
    return l;
}

tg_metadata *make_empty_metadata(void) { return keep(calloc(1, sizeof(tg_metadata)), clear_metadata); }

tg_metadata *make_metadata(void)
{
    tg_metadata *m = make_empty_metadata();
    ck_assert_int_eq(tg_metadata_add(m, "k", "1"), 0);
    return m;
}

/* ---- modules and what uses them ---- */

static tg_module *new_module(void)
{
    tg_rng rng = tg_rng_new(3, 0);
    tg_module *seq = tg_nn_sequential();
    if (seq && tg_nn_sequential_append(seq, tg_nn_linear(2, 2, true, &rng))) {
        tg_module_free(seq);
        return NULL;
    }
    return seq;
}

tg_module *make_module(void) { return keep(new_module(), free_module); }

tg_module *make_taken_module(void) { return new_module(); }

tg_resnet_opts resnet_opts(void)
{
    return (tg_resnet_opts){.depth = 18, .width = 0.125, .small_stem = true, .conv_fan = TG_FAN_OUT};
}

tg_module *make_resnet(void) { return keep(tg_resnet_new(resnet_opts()), free_module); }

tg_fcn_opts fcn_opts(void) { return tg_fcn_default_opts(resnet_opts(), 3); }

tg_module *make_fcn(void) { return keep(tg_fcn_new(fcn_opts()), free_module); }

tg_contrastive_config contrastive_config(void)
{
    tg_contrastive_config c = tg_contrastive_defaults(TG_DENSECL);
    c.backbone = resnet_opts();
    c.dim = 8;
    c.queue_len = 8;
    return c;
}

tg_module *make_contrastive(void) { return keep(tg_contrastive_new(contrastive_config()), free_module); }

const tg_module_type *make_module_type(void)
{
    static const tg_module_type type = {.name = "Sweep"};
    return &type;
}

tg_sgd_opts sgd_opts(void) { return (tg_sgd_opts){.lr = 0.1, .momentum = 0.9}; }

tg_adamw_opts adamw_opts(void) { return tg_adamw_default_opts(); }

tg_rmsprop_opts rmsprop_opts(void) { return tg_rmsprop_default_opts(); }

tg_optimizer *make_optimizer(void)
{
    tg_tensor_list *params = make_empty_list();
    ck_assert_int_eq(tg_module_parameters(make_module(), params), 0);
    return keep(tg_sgd_new(params, sgd_opts()), free_optimizer);
}

static void free_data_parallel(void *p) { tg_data_parallel_free(p); }

tg_data_parallel *make_data_parallel(void)
{
    tg_module *m = make_module();
    tg_tensor_list *params = make_empty_list();
    ck_assert_int_eq(tg_module_parameters(m, params), 0);
    return keep(tg_data_parallel_new(m, params, 0), free_data_parallel);
}

static void wait_work(void *p) { tg_dist_wait(p); }

tg_dist_work *make_taken_dist_work(void) { return tg_dist_allreduce_start(make_tensor(), TG_DIST_SUM); }

tg_dist_work *make_dist_work(void) { return keep(make_taken_dist_work(), wait_work); }

/* ---- data ---- */

tg_shapescenes_config *make_shapescenes_config(void)
{
    tg_shapescenes_config *c = make_zeroed(sizeof *c);
    *c = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    c->size = 16;
    c->count = 4;
    return c;
}

tg_dataset *make_dataset(void) { return keep(tg_shapescenes_open(make_shapescenes_config()), free_dataset); }

tg_dataset *make_taken_dataset(void) { return tg_shapescenes_open(make_shapescenes_config()); }

static int prepare_nothing(void *ctx, const tg_sample *sample, int64_t index, tg_rng *rng,
                           const tg_loader_slots *slots)
{
    (void)ctx, (void)sample, (void)index, (void)rng, (void)slots;
    return 0;
}

tg_loader_config *make_loader_config(void)
{
    tg_loader_config *c = make_zeroed(sizeof *c);
    c->batch_size = 2;
    c->num_fields = 1;
    c->field_shape[0] = (tg_loader_shape){1, {4}};
    c->prepare = prepare_nothing;
    return c;
}

tg_loader *make_loader(void) { return keep(tg_loader_new(make_dataset(), make_loader_config()), free_loader); }

tg_batch *make_batch(void) { return keep(calloc(1, sizeof(tg_batch)), release_batch); }

tg_sample *make_sample(void) { return keep(calloc(1, sizeof(tg_sample)), free_sample); }

tg_image *make_empty_image(void) { return keep(calloc(1, sizeof(tg_image)), free_image); }

tg_image *make_image(void)
{
    tg_image *img = make_empty_image();
    ck_assert_int_eq(tg_image_alloc(img, 16, 16, 3), 0);
    return img;
}

tg_image *make_mask(void)
{
    tg_image *img = make_empty_image();
    ck_assert_int_eq(tg_image_alloc(img, 16, 16, 1), 0);
    return img;
}

/* A maker of a copy of value, given back after the case. */
#define COPY_MAKER(name, type, value)                         \
    type *name(void)                                          \
    {                                                         \
        type v = value;                                       \
        return memcpy(make_zeroed(sizeof v), &v, sizeof v);   \
    }
COPY_MAKER(make_rng, tg_rng, tg_rng_new(1, 2))
COPY_MAKER(make_aug_pretrain, tg_aug_pretrain, tg_aug_pretrain_default(16))
COPY_MAKER(make_aug_seg, tg_aug_seg, tg_aug_seg_default(16))
COPY_MAKER(make_seg_test, tg_seg_test, ((tg_seg_test){tg_aug_seg_default(16), 16, 16}))
COPY_MAKER(make_photometric, tg_photometric, tg_photometric_default())
COPY_MAKER(make_view_geom, tg_view_geom, ((tg_view_geom){{0, 0, 16, 16}, false, 16}))

/* ---- metrics and models' outputs ---- */

tg_confusion *make_empty_confusion(void) { return keep(calloc(1, sizeof(tg_confusion)), free_confusion); }

tg_confusion *make_confusion(void)
{
    tg_confusion *cm = make_empty_confusion();
    ck_assert_int_eq(tg_confusion_init(cm, 3, 255), 0);
    return cm;
}

tg_contrastive_out *make_contrastive_out(void)
{
    return keep(calloc(1, sizeof(tg_contrastive_out)), clear_contrastive_out);
}

tg_checkpoint_extra *make_extra(void) { return keep(calloc(1, sizeof(tg_checkpoint_extra)), clear_extra); }

static tg_tensor *twice(tg_tensor *const *inputs, void *ctx)
{
    (void)ctx;
    return tg_mul_scalar(inputs[0], 2);
}

tg_gradcheck_fn make_gradcheck_fn(void) { return twice; }

tg_pool2d_opts pool_opts(void) { return (tg_pool2d_opts){.kernel = {2, 2}}; }

/* ---- the training layer ---- */

tg_train_flag *make_flags(void)
{
    static long value = 1;
    tg_train_flag *f = make_zeroed(sizeof *f);
    *f = (tg_train_flag){"steps", TG_FLAG_LONG, &value, 0, 10, "steps to run"};
    return f;
}

static int step_nothing(void *ctx, double *loss)
{
    (void)ctx;
    *loss = 1;
    return 0;
}

tg_train_loop *make_loop(void)
{
    tg_train_loop *l = make_zeroed(sizeof *l);
    l->steps_per_epoch = 1;
    l->step = step_nothing;
    return l;
}

tg_train_run *make_run(void) { return keep(calloc(1, sizeof(tg_train_run)), close_run); }

tg_train_state *make_state(void) { return keep(calloc(1, sizeof(tg_train_state)), clear_state); }

tg_train_progress_opts *make_progress_opts(void)
{
    tg_train_progress_opts *o = make_zeroed(sizeof *o);
    o->out = keep(fopen("/dev/null", "w"), close_file);
    return o;
}

tg_train_progress *make_progress(void)
{
    tg_train_progress *p = make_zeroed(sizeof *p);
    tg_train_progress_init(p, 10, 5, 0, make_progress_opts());
    return p;
}

/* The API sweep's side of each call (tests/api): plausible arguments made
 * fresh for every case and given back after it, and the checks of what a
 * call did. gen_sweep.sh writes the calls; params.txt says which maker
 * serves which parameter. */
#ifndef TESTS_API_MAKERS_H
#define TESTS_API_MAKERS_H

#include <stdbool.h>

#include "tensorgrad.h"

/* Whether a call failed: from its return value, or unknown (void and
 * struct returns). */
enum { SWEEP_SUCCEEDED = 0, SWEEP_FAILED = 1, SWEEP_UNKNOWN = -1 };
/* What a case expects: a failure (a required pointer given NULL), or at
 * most a failure with its message (optional pointers, integers out of range). */
typedef enum { SWEEP_MUST_FAIL, SWEEP_MAY_FAIL } sweep_expect;

/* Starts a case: fn called with param = value; clears the recorded error. */
void sweep_begin(const char *fn, const char *param, const char *value);
/* Checks the call's outcome against what the case expects; a problem is
 * noted and the test goes on to its next case. */
void sweep_check(sweep_expect expect, int failed);
/* Gives back everything the makers made for this case. */
void sweep_end(void);
/* Fails the test with every problem its cases found. */
void sweep_done(void);

/* A NULL the compiler cannot see, so no call site warns of it. */
void *sweep_null(void);
/* The folder the sweep's paths point into (made once, removed at exit). */
const char *sweep_dir(void);

/* ---- makers: each result is the case's, given back by sweep_end ---- */
tg_tensor *make_tensor(void);          /* float32 (2,2,2,2) of 0.5 */
tg_tensor *make_labels(void);          /* int64 (2,2,2,2) of 0 */
tg_tensor *make_taken_tensor(void);    /* float32, not given back: the callee takes it */
tg_tensor **make_tensor_pair(void);    /* two float32 tensors */
tg_tensor **make_tensor_slot(void);    /* an output slot, released afterwards */
int64_t *make_shape(void);             /* {2,2,2,2,1,1,1,1} */
int64_t *make_i64_buffer(void);        /* 4096 zeroed int64 */
int *make_dims(void);                  /* {0,1,...,7} */
int *make_int_slot(void);
float *make_floats(void);              /* 3 x 32 x 32 floats of 0.5 */
double *make_doubles(void);            /* 64 zeroed doubles */
char *make_chars(void);                /* TG_TRAIN_PATH_MAX zeroed chars */
void *make_bytes(void);                /* 4096 zeroed bytes */
char *make_path(const char *name);     /* sweep_dir()/name */
char **make_argv(void);                /* {"sweep", NULL} */
tg_rng *make_rng(void);
tg_tensor_list *make_list(void);       /* one float32 tensor named "weight" */
tg_tensor_list *make_empty_list(void);
tg_metadata *make_metadata(void);      /* {"k": "1"} */
tg_metadata *make_empty_metadata(void);
tg_module *make_module(void);          /* Sequential(Linear(2, 2)) */
tg_module *make_taken_module(void);    /* the same, not given back */
tg_module *make_resnet(void);          /* a tiny ResNet-18 backbone */
tg_module *make_fcn(void);             /* a tiny FCN over it */
tg_module *make_contrastive(void);     /* a tiny DenseCL model */
const tg_module_type *make_module_type(void);
tg_optimizer *make_optimizer(void);    /* SGD over make_module's parameters */
tg_data_parallel *make_data_parallel(void); /* over make_module, its parameters averaged */
tg_dist_work *make_dist_work(void);    /* a sum of make_tensor() over the ranks, started */
tg_dist_work *make_taken_dist_work(void); /* the same, not waited for: the callee takes it */
tg_dataset *make_dataset(void);        /* ShapeScenes train, 4 samples of 16 px */
tg_dataset *make_taken_dataset(void);  /* the same, not given back: the callee takes it */
tg_loader_config *make_loader_config(void);
tg_loader *make_loader(void);
tg_batch *make_batch(void);
tg_sample *make_sample(void);
tg_image *make_image(void);            /* RGB 16 x 16 */
tg_image *make_mask(void);             /* 1 channel 16 x 16 of 0 */
tg_image *make_empty_image(void);
tg_confusion *make_confusion(void);    /* 3 classes */
tg_confusion *make_empty_confusion(void);
tg_contrastive_out *make_contrastive_out(void);
tg_checkpoint_extra *make_extra(void);
tg_shapescenes_config *make_shapescenes_config(void);
tg_aug_pretrain *make_aug_pretrain(void);
tg_aug_seg *make_aug_seg(void);
tg_seg_test *make_seg_test(void);
tg_photometric *make_photometric(void);
tg_view_geom *make_view_geom(void);
void *make_zeroed(size_t size);        /* output structs */
tg_gradcheck_fn make_gradcheck_fn(void);
tg_train_flag *make_flags(void);       /* one long flag */
tg_train_loop *make_loop(void);        /* no steps */
tg_train_run *make_run(void);          /* zeroed; closed afterwards */
tg_train_state *make_state(void);      /* zeroed; its metadata cleared afterwards */
tg_train_progress *make_progress(void);
tg_train_progress_opts *make_progress_opts(void);

/* Values of the by-value parameters. */
tg_pool2d_opts pool_opts(void);
tg_resnet_opts resnet_opts(void);
tg_fcn_opts fcn_opts(void);
tg_contrastive_config contrastive_config(void);
tg_sgd_opts sgd_opts(void);
tg_adamw_opts adamw_opts(void);
tg_rmsprop_opts rmsprop_opts(void);

#endif

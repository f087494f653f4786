/* What the DenseCL/MoCo-v2 programs share on top of the train layer
 * (train/): flags and --threads with their errors printed, the SGD and the
 * loader of a run, the loop with its stop message, and freeing a run.
 * Errors are printed here, as "<prog>: <what>: <why>", so each program's
 * main only maps -1 to its exit status. */
#ifndef APPS_APP_H
#define APPS_APP_H

#include "tensorgrad.h"

/* tg_train_parse_flags, printing its error: 0, 1 after --help, -1. */
int app_parse_flags(int argc, char **argv, const tg_train_flag *flags, int n, const char *about);
/* Sets the compute threads to a --threads value (0: leaves the default).
 * 0, or -1 after printing why. */
int app_set_threads(long threads);

/* Prints "<prog>: <what>: <tg_last_error()>" to stderr (after "[rank R] "
 * in a job of several ranks); returns -1. */
int app_fail(const char *prog, const char *what);
/* The same for a failure every rank of the job has alike (settings that
 * cannot work): printed once, by rank 0. */
int app_job_fail(const char *prog, const char *what);

/* A data-parallel job (dist/dist.h): joins it when mpirun started the
 * program, and sends the standard output of ranks other than 0 to
 * /dev/null (the job's progress and results come from rank 0; errors from
 * whichever rank has them). 0, or -1 after printing why. */
int app_join_job(int *argc, char ***argv, const char *prog);
/* Leaves the job and returns the program's exit status: after a success
 * or an interrupt (which every rank saw at the same step) every rank
 * finalises; after a failure the rank exits at once, and mpirun ends the
 * others, wherever they wait. */
int app_leave_job(int status, const char *prog);

/* s->opt: SGD with momentum and weight decay over the parameters of
 * s->model that params_of lists (tg_fcn_parameters...). 0 or -1. */
int app_make_sgd(tg_train_state *s, int (*params_of)(const tg_module *, tg_tensor_list *), double lr,
                 double momentum, double weight_decay, const char *prog);
/* *dp: the gradients of the parameters params_of lists averaged over the
 * ranks of the job, every rank starting from rank 0's s->model. 0 or -1. */
int app_make_data_parallel(tg_train_state *s, int (*params_of)(const tg_module *, tg_tensor_list *),
                           tg_data_parallel **dp, const char *prog);
/* s->loader over ds with cfg's fields and callback, shuffled each epoch,
 * the last partial batch dropped, batch the global batch of which each
 * rank of the job takes its slice; *per_epoch gets its batches a pass. 0,
 * or -1 (ds makes no batch, say). */
int app_make_loader(tg_train_state *s, const tg_dataset *ds, tg_loader_config cfg, long batch, long seed,
                    long workers, int64_t *per_epoch, const char *prog);
/* The next training batch, passing over the loader's end-of-epoch mark. */
int app_next_batch(tg_loader *l, tg_batch *b, const char *prog);

/* How a run starts from its --resume and --overwrite flags: 0, or -1
 * after printing why (both given). */
int app_start_mode(bool resume, bool overwrite, tg_train_start *start, const char *prog);
/* Refuses a schedule whose floor (--min-lr) is above its base rate
 * (--lr): -1 after printing both flags; else 0. */
int app_check_lr_floor(const char *floor_flag, double floor, const char *lr_flag, double lr, const char *prog);

/* Opens the run (tg_train_run_open), saying where a resumed one goes on;
 * a config that differs between the ranks of the job is refused first,
 * on every rank, said once. */
int app_open_run(tg_train_run *r, const char *dir, const char *config, tg_train_start start, tg_train_state *s,
                 int64_t total, const char *prog);
/* ds, read with corrupt images tolerated or not (--tolerate-corrupt-images);
 * NULL (ds freed) when it takes no decode options, and for a NULL ds. */
tg_dataset *app_decode_tolerance(tg_dataset *ds, bool tolerate_corrupt);
/* ShapeScenes with cfg, each image rendered once and then kept in memory
 * (tg_dataset_cached, up to APP_SCENES_CACHE_BYTES: the full preset's 8000
 * pretraining images at 64 px take 98 MB); NULL on failure. */
#define APP_SCENES_CACHE_BYTES ((size_t)1 << 30)
tg_dataset *app_open_scenes(const tg_shapescenes_config *cfg);

/* Runs the loop; returns its outcome (train/loop.h: done, stopped as
 * asked or interrupted, each stop said with how to go on), or -1. */
int app_train(const tg_train_loop *l, tg_train_run *r, tg_train_state *s, const char *prog);
/* Closes r and frees what s holds: metadata, loader, optimizer, model. */
void app_close_run(tg_train_run *r, tg_train_state *s);

/* Writes text to "<dir>/<name>" atomically and says so on stdout. 0, or
 * -1 after printing why. */
int app_write_text(const char *dir, const char *name, const char *text, size_t len, const char *prog);

#endif

/* What every training program does besides its step: a run directory
 * holding a checkpoint and a JSONL log, the checkpoint written atomically
 * (nn/checkpoint.h) with the loader's position, and --resume, which
 * continues with bitwise the same numbers as a run that never stopped.
 *
 *   DIR/checkpoint.safetensors   model, optimizer, module RNGs, step, epoch,
 *                                loader position, the run's config and the
 *                                program's own metadata (running sums...)
 *   DIR/log.jsonl                one JSON object a line, each starting
 *                                {"step":N, ...}
 *
 * The config is the JSON text of every option that changes the numbers: a
 * resume with other values (json_same_values) is refused, naming both. On resume the log is
 * cut back to the checkpoint's step, so lines a crash left past it do not
 * appear twice. */
#ifndef EXAMPLES_TRAIN_LOOP_H
#define EXAMPLES_TRAIN_LOOP_H

#include <stdio.h>

#include "progress.h"
#include "tensorgrad.h"

#define TRAIN_PATH_MAX 4096
#define TRAIN_NAME_MAX 64 /* file names inside the directory: shorter than this */

typedef struct {
    char dir[TRAIN_PATH_MAX - TRAIN_NAME_MAX];
    char checkpoint[TRAIN_PATH_MAX];
    char log_path[TRAIN_PATH_MAX];
    const char *config; /* borrowed */
    FILE *log;
} train_run;

/* What a checkpoint holds besides the config. The pointers are borrowed;
 * meta holds the program's own entries (saved as "user.<key>", restored
 * by resume). */
typedef struct {
    tg_module *model;
    tg_optimizer *opt;
    tg_loader *loader;
    int64_t step, epoch; /* steps and epochs done */
    int n_rngs;          /* the program's own generators, saved as "rng.<name>" */
    const tg_checkpoint_rng *rngs;
    tg_metadata meta;
} train_state;

/* dir (made if missing, with its parents) and its file names; the log is
 * not open yet. 0, or -1 after printing why. */
int train_run_init(train_run *r, const char *dir, const char *config);
/* "<dir>/<name>" into buf (TRAIN_PATH_MAX bytes); name shorter than TRAIN_NAME_MAX. */
void train_run_path(const train_run *r, const char *name, char *buf);

/* A fresh run: an empty log. */
int train_run_start(train_run *r);
/* Loads the checkpoint into s (model, optimizer, step, epoch, meta),
 * refuses one made with another config, moves the loader to the saved
 * position and reopens the log cut at s->step. */
int train_run_resume(train_run *r, train_state *s);
/* Writes the checkpoint of s (atomically: an old one survives a failure). */
int train_run_save(const train_run *r, const train_state *s);

/* train_run_init, then train_run_start, or with resume train_run_resume
 * and a line saying at which of total steps the run goes on. */
int train_run_open(train_run *r, const char *dir, const char *config, bool resume, train_state *s, int64_t total);
/* Closes r's log and frees what s holds: metadata, loader, optimizer, model. */
void train_run_free(train_run *r, train_state *s);

/* Appends one line (a JSON object, without its newline) to the log. */
int train_run_log(train_run *r, const char *line);
void train_run_close(train_run *r);

/* The steps of a run and what surrounds them, the program's side given
 * as callbacks on ctx: step() does one step (s->step grows by one),
 * end_epoch() runs after the last step of each pass (the epoch's log line
 * and the checkpoint), save() writes the checkpoint when the run stops
 * early: at Ctrl-C (interrupt.h), or before step stop_after_step or after
 * epoch stop_after_epoch (0: not asked), whichever comes first. */
typedef struct {
    int64_t total, per_epoch;
    long stop_after_epoch, stop_after_step;
    void *ctx;
    int (*step)(void *ctx);
    int (*end_epoch)(void *ctx);
    int (*save)(void *ctx);
} train_loop;

/* Runs s->step up to l->total: 0 when every step is done, 1 when stopped
 * early (after saving and saying how to go on), -1. bar's open line is
 * ended before the message. */
int train_loop_run(const train_loop *l, const train_run *r, const train_state *s, progress *bar);

/* s->opt: SGD with momentum and weight decay over the parameters of
 * s->model that params_of lists (tg_fcn_parameters...). 0, or -1 after
 * printing why, as prog. */
int train_make_sgd(train_state *s, int (*params_of)(const tg_module *, tg_tensor_list *), double lr, double momentum,
                   double weight_decay, const char *prog);
/* s->loader over ds with cfg's fields and callback, shuffled each epoch,
 * the last partial batch dropped; *per_epoch gets its batches a pass. 0,
 * or -1 after printing why (ds makes no batch, say), as prog. */
int train_make_loader(train_state *s, const tg_dataset *ds, tg_loader_config cfg, long batch, long seed, long workers,
                      int64_t *per_epoch, const char *prog);

/* The next training batch, passing over the loader's end-of-epoch mark. */
int train_next_batch(tg_loader *l, tg_batch *b);

/* Metadata numbers: put writes %.17g (exact for doubles); get parses the
 * entry, -1 after printing why when it is missing or malformed. */
int train_meta_put(tg_metadata *m, const char *key, double value);
int train_meta_get(const tg_metadata *m, const char *key, double *value);

#endif

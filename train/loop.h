/* The loop of a training run: steps, a checkpoint at the end of every
 * epoch and every save_every steps, a stop at Ctrl-C (train/interrupt.h)
 * or where asked that saves first, and a stop on a loss that is not
 * finite. The program's side comes as callbacks on ctx:
 *
 *   static int step(void *ctx, double *loss) { ...forward, backward, update... }
 *   tg_train_loop l = {.total_steps = epochs * per_epoch, .steps_per_epoch = per_epoch,
 *                      .ctx = &me, .step = step};
 *   int rc = tg_train_loop_run(&l, &run, &state);   (train/run.h)
 *
 * The loop owns state->step and state->epoch: it counts a step once
 * step() succeeded with a finite loss. */
#ifndef TG_TRAIN_LOOP_H
#define TG_TRAIN_LOOP_H

#include "tensor/export.h"
#include "train/progress.h"
#include "train/run.h"

typedef struct tg_train_loop {
    int64_t total_steps, steps_per_epoch;
    int64_t save_every;        /* also a checkpoint every this many steps (0: epochs only) */
    int64_t stop_after_step;   /* save and stop once this many steps are done (0: no) */
    int64_t stop_after_epoch;  /* save and stop once this many epochs are done (0: no) */
    void *ctx;
    /* One step, the (state->step + 1)th; *loss gets its loss. 0 or -1. */
    int (*step)(void *ctx, double *loss);
    /* Optional: after a step is counted (progress, a log line). 0 or -1. */
    int (*after_step)(void *ctx, double loss);
    /* Optional: after the last step of each pass, before its checkpoint
     * (the epoch's log line). 0 or -1. */
    int (*end_epoch)(void *ctx);
    /* Optional: before each checkpoint, puts the program's own numbers
     * into state->meta (tg_train_meta_set). 0 or -1. */
    int (*before_save)(void *ctx);
    tg_train_progress *progress; /* optional: its open line is ended before a stop */
} tg_train_loop;

/* Runs the steps from state->step up to l->total_steps. 0 when every step
 * is done; 1 when stopped early (Ctrl-C, stop_after_*) with the
 * checkpoint saved: run the same program with resume to go on; -1 with
 * the error recorded (a callback's, a checkpoint that could not be
 * written, or "the loss is nan at step N: training diverged"). */
TG_API int tg_train_loop_run(const tg_train_loop *l, tg_train_run *r, tg_train_state *s);

/* The checkpoint the loop writes: before_save, then tg_train_run_save. */
TG_API int tg_train_loop_save(const tg_train_loop *l, tg_train_run *r, tg_train_state *s);

#endif

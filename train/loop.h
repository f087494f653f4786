/* The loop of a training run: steps, a checkpoint at the end of every
 * epoch, every save_every steps and after the steps save_at lists, a stop
 * at Ctrl-C (train/interrupt.h)
 * or where asked that saves first, and a stop on a loss that is not
 * finite. The program's side comes as callbacks on ctx:
 *
 *   static int step(void *ctx, double *loss) { ...forward, backward, update... }
 *   tg_train_loop l = {.total_steps = epochs * per_epoch, .steps_per_epoch = per_epoch,
 *                      .ctx = &me, .step = step};
 *   int rc = tg_train_loop_run(&l, &run, &state);   (train/run.h)
 *
 * The loop owns state->step and state->epoch: it counts a step once
 * step() succeeded with a finite loss.
 *
 * The NaN guard: every check_every steps the loop scans every parameter
 * of state->model and its gradient (where it has one) for NaN and Inf
 * (tg_all_finite); a hit stops the run with -1 and "step 120: parameter
 * layer1.0.conv1.weight has a non-finite value (nan)" (or "the gradient
 * of parameter ..."), before anything is saved, so the checkpoint on disk
 * is the last good one. Buffers (running statistics) are checked when a
 * checkpoint is written, which refuses non-finite values
 * (nn/checkpoint.h). */
#ifndef TG_TRAIN_LOOP_H
#define TG_TRAIN_LOOP_H

#include "tensor/export.h"
#include "train/progress.h"
#include "train/run.h"

#define TG_TRAIN_CHECK_EVERY 50 /* the NaN guard's default period: a scan costs about one elementwise pass */

/* How tg_train_loop_run ended (-1: failed, the error recorded). */
typedef enum tg_train_outcome {
    TG_TRAIN_DONE = 0,        /* every step done */
    TG_TRAIN_STOPPED = 1,     /* stopped where stop_after_* asked, the checkpoint saved */
    TG_TRAIN_INTERRUPTED = 2, /* stopped at Ctrl-C or SIGTERM (train/interrupt.h), the checkpoint saved */
} tg_train_outcome;

typedef struct tg_train_loop {
    int64_t total_steps, steps_per_epoch;
    int64_t save_every;        /* also a checkpoint every this many steps (0: epochs only) */
    const int64_t *save_at;    /* also a checkpoint after each of these n_save_at steps (borrowed) */
    int n_save_at;
    int64_t stop_after_step;   /* save and stop once this many steps are done (0: no) */
    int64_t stop_after_epoch;  /* save and stop once this many epochs are done (0: no) */
    int64_t check_every;       /* the NaN guard's period in steps (0: TG_TRAIN_CHECK_EVERY) */
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
    /* Optional: after each checkpoint is in place, state->step its step:
     * where an output written at a step goes (a snapshot of the weights),
     * so that it never comes before its checkpoint: an overwrite removes
     * the old run's outputs at its first one, and a run stopped after the
     * output resumes past its step. 0 or -1. */
    int (*after_save)(void *ctx);
    tg_train_progress *progress; /* optional: its open line is ended before a stop */
} tg_train_loop;

/* Runs the steps from state->step up to l->total_steps. TG_TRAIN_DONE
 * when every step is done; TG_TRAIN_STOPPED at a stop_after_* and
 * TG_TRAIN_INTERRUPTED at Ctrl-C, each with the checkpoint saved (run the
 * same program with resume to go on); -1 with the error recorded (a
 * callback's, a checkpoint that could not be written, "the loss is nan
 * at step N: training diverged", or the NaN guard's). */
TG_API int tg_train_loop_run(const tg_train_loop *l, tg_train_run *r, tg_train_state *s);

/* A program's exit status for how its training ended, as shells count
 * them: 0 for TG_TRAIN_DONE and TG_TRAIN_STOPPED (a stop that was asked
 * for), 130 for TG_TRAIN_INTERRUPTED (128 + SIGINT, checkpoint saved), 1
 * for a failure (-1, anything else). */
TG_API int tg_train_exit_status(int outcome);

/* The checkpoint the loop writes: before_save, tg_train_run_save, then
 * after_save. */
TG_API int tg_train_loop_save(const tg_train_loop *l, tg_train_run *r, tg_train_state *s);

#endif

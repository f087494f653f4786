/* Progress of a training run. On a terminal, one line redrawn in place:
 *   epoch 3/40 [######--------------] 120/312  loss 4.21 top1 0.31  85.2 img/s  ETA 12:31
 * When the stream is a file or a pipe (a log, CI), the same text as plain
 * lines: one when at least `interval` seconds have passed since the last,
 * and one at the end of each epoch, never one a step. */
#ifndef TG_TRAIN_PROGRESS_H
#define TG_TRAIN_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tensor/export.h"

typedef struct tg_train_progress_opts {
    FILE *out;                /* NULL: stdout */
    double interval;          /* seconds between plain lines; 0: 10 */
    double (*clock)(void);    /* seconds; NULL: tg_train_clock */
} tg_train_progress_opts;

typedef struct tg_train_progress {
    tg_train_progress_opts o;
    bool tty;                 /* redraw one line */
    int64_t steps_per_epoch, total_steps;
    int64_t first_step;       /* where this run started (0, or a resumed step) */
    double start;             /* when this run started */
    double last_line;         /* when the last plain line was printed */
    bool line_open;           /* a redrawn line waits for its newline */
} tg_train_progress;

/* A run of total_steps steps, steps_per_epoch a pass, starting after
 * first_step (0, or a resumed step). o may be NULL (the defaults). */
TG_API void tg_train_progress_init(tg_train_progress *p, int64_t total_steps, int64_t steps_per_epoch, int64_t first_step,
                            const tg_train_progress_opts *o);
/* After step `step` (1-based, over the whole run) of items_per_step
 * samples each; text: this step's numbers ("loss 4.21"). */
TG_API void tg_train_progress_show(tg_train_progress *p, int64_t step, double items_per_step, const char *text);
/* Ends a redrawn line left open (a run stopped within an epoch). */
TG_API void tg_train_progress_done(tg_train_progress *p);

/* Seconds since an arbitrary start, monotonic. */
TG_API double tg_train_clock(void);

#endif

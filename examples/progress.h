/* Progress of a training run. On a terminal, one line redrawn in place:
 *   epoch 3/40 [######----------] 120/312  loss 4.21 dense-top1 0.31  85.2 img/s  ETA 12:31
 * Elsewhere (a log file, CI) the same text as plain lines, one every
 * `every` steps and one at the end of each epoch. */
#ifndef EXAMPLES_PROGRESS_H
#define EXAMPLES_PROGRESS_H

#include <stdbool.h>

typedef struct {
    bool tty;
    long steps_per_epoch, total_steps;
    long first_step;    /* where this run started (after a resume) */
    long every;         /* plain lines: one every this many steps */
    double start;       /* seconds, when this run started */
    bool line_open;     /* a redrawn line waits for its newline */
} progress;

/* A run of total_steps steps, steps_per_epoch a pass, starting at
 * first_step (0, or a resumed step). */
void progress_init(progress *p, long total_steps, long steps_per_epoch, long first_step, long every);
/* After step `step` (1-based, counted over the whole run) of items_per_step
 * images each; text: the run's numbers for this step. */
void progress_show(progress *p, long step, double items_per_step, const char *text);
/* Ends a redrawn line left open (a run stopped mid-epoch). */
void progress_done(progress *p);
/* Seconds since an arbitrary start (monotonic). */
double progress_clock(void);

#endif

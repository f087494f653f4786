/* A training run's progress line (see progress.h). */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BAR 20

double progress_clock(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void progress_init(progress *p, long total_steps, long steps_per_epoch, long first_step, long every)
{
    *p = (progress){.tty = isatty(fileno(stderr)),
                    .steps_per_epoch = steps_per_epoch > 0 ? steps_per_epoch : 1,
                    .total_steps = total_steps,
                    .first_step = first_step,
                    .every = every > 0 ? every : 1,
                    .start = progress_clock()};
}

/* "h:mm:ss" or "m:ss" for a number of seconds. */
static void clock_text(double seconds, char *buf, size_t size)
{
    long s = seconds > 0 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

void progress_show(progress *p, long step, double items_per_step, const char *text)
{
    long epoch = (step - 1) / p->steps_per_epoch, in_epoch = step - epoch * p->steps_per_epoch;
    bool epoch_end = in_epoch == p->steps_per_epoch || step == p->total_steps;
    if (!p->tty && step % p->every != 0 && !epoch_end) return;
    double elapsed = progress_clock() - p->start, done = (double)(step - p->first_step);
    double rate = done > 0 && elapsed > 0 ? done * items_per_step / elapsed : 0;
    char eta[32];
    clock_text(done > 0 ? elapsed / done * (double)(p->total_steps - step) : 0, eta, sizeof eta);
    long epochs = (p->total_steps + p->steps_per_epoch - 1) / p->steps_per_epoch;
    char bar[BAR + 1];
    for (int i = 0; i < BAR; i++) bar[i] = i < BAR * in_epoch / p->steps_per_epoch ? '#' : '-';
    bar[BAR] = '\0';
    fprintf(stderr, "%sepoch %ld/%ld [%s] %ld/%ld  %s  %.1f img/s  ETA %s%s", p->tty ? "\r" : "", epoch + 1, epochs,
            bar, in_epoch, p->steps_per_epoch, text, rate, eta, p->tty ? "\033[K" : "\n");
    p->line_open = p->tty && !epoch_end;
    if (p->tty && epoch_end) fputc('\n', stderr);
    fflush(stderr);
}

void progress_done(progress *p)
{
    if (p->line_open) fputc('\n', stderr);
    p->line_open = false;
}

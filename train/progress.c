/* A training run's progress line (see progress.h). */
#include "train/progress.h"

#include <time.h>
#include <unistd.h>

#include "tensor/internal/check.h"

#define BAR 20
#define DEFAULT_INTERVAL 10.0

double tg_train_clock(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Whether p was set up by tg_train_progress_init; if not, an error names fn. */
static bool initialised(const char *fn, const tg_train_progress *p)
{
    if (TG_NEED(fn, p)) return false;
    if (p->o.out && p->o.clock && p->steps_per_epoch > 0) return true;
    TG_FAIL("%s: the progress was not initialised (tg_train_progress_init)", fn);
    return false;
}

void tg_train_progress_init(tg_train_progress *p, int64_t total_steps, int64_t steps_per_epoch, int64_t first_step,
                            const tg_train_progress_opts *o)
{
    if (TG_NEED("train_progress_init", p)) return;
    tg_train_progress_opts opts = o ? *o : (tg_train_progress_opts){0};
    if (!opts.out) opts.out = stdout;
    if (opts.interval <= 0) opts.interval = DEFAULT_INTERVAL;
    if (!opts.clock) opts.clock = tg_train_clock;
    *p = (tg_train_progress){.o = opts,
                             .tty = isatty(fileno(opts.out)),
                             .steps_per_epoch = steps_per_epoch > 0 ? steps_per_epoch : 1,
                             .total_steps = total_steps,
                             .first_step = first_step};
    p->start = p->last_line = opts.clock();
}

/* "h:mm:ss" or "m:ss" for a number of seconds. */
static void clock_text(double seconds, char *buf, size_t size)
{
    long s = seconds > 0 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

/* The line's text after "epoch E/N [bar] i/n": rate and time left. */
static void print_line(tg_train_progress *p, int64_t step, double items_per_step, const char *text, double now)
{
    int64_t epoch = (step - 1) / p->steps_per_epoch, in_epoch = step - epoch * p->steps_per_epoch;
    double elapsed = now - p->start, done = (double)(step - p->first_step);
    double rate = done > 0 && elapsed > 0 ? done * items_per_step / elapsed : 0;
    char eta[32], bar[BAR + 1];
    clock_text(done > 0 ? elapsed / done * (double)(p->total_steps - step) : 0, eta, sizeof eta);
    int64_t epochs = (p->total_steps + p->steps_per_epoch - 1) / p->steps_per_epoch;
    for (int i = 0; i < BAR; i++) bar[i] = i < BAR * in_epoch / p->steps_per_epoch ? '#' : '-';
    bar[BAR] = '\0';
    fprintf(p->o.out, "%sepoch %lld/%lld [%s] %lld/%lld  %s  %.1f img/s  ETA %s%s", p->tty ? "\r" : "",
            (long long)epoch + 1, (long long)epochs, bar, (long long)in_epoch, (long long)p->steps_per_epoch,
            text ? text : "", rate, eta, p->tty ? "\033[K" : "\n");
}

void tg_train_progress_show(tg_train_progress *p, int64_t step, double items_per_step, const char *text)
{
    if (!initialised("train_progress_show", p) || TG_NEED("train_progress_show", text)) return;
    bool epoch_end = step % p->steps_per_epoch == 0 || step == p->total_steps;
    double now = p->o.clock();
    if (!p->tty && !epoch_end && now - p->last_line < p->o.interval) return;
    print_line(p, step, items_per_step, text, now);
    p->last_line = now;
    p->line_open = p->tty && !epoch_end;
    if (p->tty && epoch_end) fputc('\n', p->o.out);
    fflush(p->o.out);
}

void tg_train_progress_done(tg_train_progress *p)
{
    if (!initialised("train_progress_done", p)) return;
    if (p->line_open) fputc('\n', p->o.out);
    p->line_open = false;
}

/* The steps of a training run and what surrounds them (see loop.h). */
#include "train/loop.h"

#include <math.h>

#include "tensor/error.h"
#include "tensor/internal/check.h"
#include "train/interrupt.h"

int tg_train_loop_save(const tg_train_loop *l, tg_train_run *r, tg_train_state *s)
{
    if (TG_NEED("train_loop_save", l, r, s) || TG_NEED_MIN("train_loop_save", l->steps_per_epoch, 1)) return -1;
    s->epoch = s->step / l->steps_per_epoch;
    if (l->before_save && l->before_save(l->ctx)) return -1;
    return tg_train_run_save(r, s);
}

/* The step count at which the run stops early (total_steps: none). */
static int64_t stop_point(const tg_train_loop *l)
{
    int64_t at = l->total_steps;
    if (l->stop_after_step > 0 && l->stop_after_step < at) at = l->stop_after_step;
    if (l->stop_after_epoch > 0 && l->stop_after_epoch * l->steps_per_epoch < at)
        at = l->stop_after_epoch * l->steps_per_epoch;
    return at;
}

/* One step counted, with what follows it: the epoch's end, checkpoints
 * (*saved says whether one was written after this step). */
static int run_step(const tg_train_loop *l, tg_train_run *r, tg_train_state *s, bool *saved)
{
    double loss = 0;
    if (l->step(l->ctx, &loss)) return -1;
    if (!isfinite(loss))
        return TG_FAIL("the loss is %g at step %lld: training diverged", loss, (long long)s->step + 1);
    s->step++;
    if (l->after_step && l->after_step(l->ctx, loss)) return -1;
    bool epoch_end = s->step % l->steps_per_epoch == 0;
    if (epoch_end && l->end_epoch && l->end_epoch(l->ctx)) return -1;
    *saved = epoch_end || (l->save_every > 0 && s->step % l->save_every == 0);
    return *saved ? tg_train_loop_save(l, r, s) : 0;
}

static int check(const tg_train_loop *l, const tg_train_state *s)
{
    if (TG_NEED("train_loop_run", l, s)) return -1;
    if (!l->step) return TG_FAIL("train_loop_run: no step function");
    if (l->steps_per_epoch <= 0 || l->total_steps < 0)
        return TG_FAIL("train_loop_run: %lld steps an epoch, %lld in all", (long long)l->steps_per_epoch,
                       (long long)l->total_steps);
    if (s->step < 0 || s->step > l->total_steps)
        return TG_FAIL("train_loop_run: at step %lld of %lld", (long long)s->step, (long long)l->total_steps);
    return 0;
}

int tg_train_loop_run(const tg_train_loop *l, tg_train_run *r, tg_train_state *s)
{
    if (TG_NEED("train_loop_run", r) || check(l, s)) return -1;
    int64_t stop_at = stop_point(l);
    bool saved = false; /* the checkpoint holds this step already */
    while (s->step < l->total_steps) {
        if (tg_train_interrupt_requested() || s->step >= stop_at) {
            if (l->progress) tg_train_progress_done(l->progress);
            return saved || !tg_train_loop_save(l, r, s) ? 1 : -1;
        }
        if (run_step(l, r, s, &saved)) return -1;
    }
    return 0;
}

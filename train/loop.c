/* The steps of a training run and what surrounds them (see loop.h). */
#include "train/loop.h"

#include <math.h>

#include "autograd/autograd.h"
#include "autograd/ops_nograd.h"
#include "dist/dist.h"
#include "tensor/error.h"
#include "tensor/internal/check.h"
#include "train/interrupt.h"

#define EXIT_INTERRUPTED 130 /* 128 + SIGINT, as shells report a run stopped by Ctrl-C */

int tg_train_loop_save(const tg_train_loop *l, tg_train_run *r, tg_train_state *s)
{
    if (TG_NEED("train_loop_save", l, r, s) || TG_NEED_MIN("train_loop_save", l->steps_per_epoch, 1)) return -1;
    s->epoch = s->step / l->steps_per_epoch;
    if (l->before_save && l->before_save(l->ctx)) return -1;
    if (tg_train_run_save(r, s)) return -1;
    return l->after_save ? l->after_save(l->ctx) : 0;
}

/* Whether a checkpoint follows this step besides the epoch's: every
 * save_every steps, or a step save_at lists. */
static bool save_due(const tg_train_loop *l, int64_t step)
{
    if (l->save_every > 0 && step % l->save_every == 0) return true;
    for (int i = 0; i < l->n_save_at; i++)
        if (l->save_at[i] == step) return true;
    return false;
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

/* The NaN guard's message for tensor t (what, name) at step, if t holds
 * a non-finite value: -1 with the error recorded; else 0. */
static int guard_tensor(tg_tensor *t, int64_t step, const char *what, const char *name)
{
    float bad = 0;
    int finite = tg_all_finite(t, &bad);
    if (finite > 0) return 0;
    if (finite < 0) return -1;
    return TG_FAIL("step %lld: %s%s has a non-finite value (%g)", (long long)step, what, name, (double)bad);
}

/* The NaN guard: every parameter of the model and its gradient. */
static int guard(const tg_train_state *s)
{
    tg_tensor_list params = {0};
    int rc = tg_module_parameters(s->model, &params);
    for (int i = 0; !rc && i < params.n; i++) {
        const char *name = params.items[i].name;
        tg_tensor *grad = tg_grad(params.items[i].tensor);
        rc = guard_tensor(params.items[i].tensor, s->step, "parameter ", name) ||
             (grad && guard_tensor(grad, s->step, "the gradient of parameter ", name));
        tg_release(grad);
    }
    tg_tensor_list_clear(&params);
    return rc ? -1 : 0;
}

static bool guard_due(const tg_train_loop *l, int64_t step)
{
    return step % (l->check_every > 0 ? l->check_every : TG_TRAIN_CHECK_EVERY) == 0;
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
    if (guard_due(l, s->step) && guard(s)) return -1;
    if (l->after_step && l->after_step(l->ctx, loss)) return -1;
    bool epoch_end = s->step % l->steps_per_epoch == 0;
    if (epoch_end && l->end_epoch && l->end_epoch(l->ctx)) return -1;
    *saved = epoch_end || save_due(l, s->step);
    return *saved ? tg_train_loop_save(l, r, s) : 0;
}

/* Whether a stop was asked on any rank of the job (1 or 0; -1 with an
 * error): all ranks stop after the same step. */
static int any_rank_interrupted(void)
{
    int64_t asked = tg_train_interrupt_requested();
    if (tg_dist_world_size() == 1) return (int)asked;
    tg_tensor *t = tg_from_data(TG_SHAPE(1), TG_INT64, &asked);
    int rc = t ? tg_dist_allreduce(t, TG_DIST_SUM) : -1;
    int any = rc ? -1 : tg_data_i64(t)[0] > 0;
    tg_release(t);
    return any;
}

static int check(const tg_train_loop *l, const tg_train_state *s)
{
    if (TG_NEED("train_loop_run", l, s)) return -1;
    if (!l->step) return TG_FAIL("train_loop_run: no step function");
    if (l->check_every < 0) return TG_FAIL("train_loop_run: check_every is %lld", (long long)l->check_every);
    if (l->n_save_at < 0 || (l->n_save_at > 0 && !l->save_at))
        return TG_FAIL("train_loop_run: save_at must list n_save_at (%d) steps", l->n_save_at);
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
        int interrupted = any_rank_interrupted();
        if (interrupted < 0) return -1;
        if (interrupted || s->step >= stop_at) {
            if (l->progress) tg_train_progress_done(l->progress);
            if (!saved && tg_train_loop_save(l, r, s)) return -1;
            return interrupted ? TG_TRAIN_INTERRUPTED : TG_TRAIN_STOPPED;
        }
        if (run_step(l, r, s, &saved)) return -1;
    }
    return TG_TRAIN_DONE;
}

int tg_train_exit_status(int outcome)
{
    switch (outcome) {
    case TG_TRAIN_DONE:
    case TG_TRAIN_STOPPED: return 0;
    case TG_TRAIN_INTERRUPTED: return EXIT_INTERRUPTED;
    default: return 1;
    }
}

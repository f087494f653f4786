/* A training run's directory, checkpoint, resume and log (see train_loop.h). */
#include "train_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "interrupt.h"
#include "json_read.h"
#include "out_files.h"

#define CONFIG_KEY "config"

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, tg_last_error());
    return -1;
}

int train_run_init(train_run *r, const char *dir, const char *config)
{
    *r = (train_run){.config = config};
    if (!dir || !*dir || strlen(dir) >= sizeof r->dir) {
        fprintf(stderr, "the output directory must be named (and shorter than %zu bytes)\n", sizeof r->dir);
        return -1;
    }
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    train_run_path(r, "checkpoint.safetensors", r->checkpoint);
    train_run_path(r, "log.jsonl", r->log_path);
    return out_make_dir(dir);
}

void train_run_path(const train_run *r, const char *name, char *buf)
{
    snprintf(buf, TRAIN_PATH_MAX, "%s/%s", r->dir, name);
}

static int open_log(train_run *r, const char *mode)
{
    r->log = fopen(r->log_path, mode);
    if (r->log) return 0;
    fprintf(stderr, "cannot open %s: %s\n", r->log_path, strerror(errno));
    return -1;
}

int train_run_start(train_run *r) { return open_log(r, "w"); }

/* ---- cutting the log back to a step ---- */

/* Keeps the lines of the log up to the first whose step is past `step`. */
static int cut_log(const train_run *r, int64_t step)
{
    FILE *in = fopen(r->log_path, "r");
    if (!in) return 0; /* no log yet: nothing to cut */
    char *kept = NULL, *line = NULL;
    size_t kept_len = 0, cap = 0;
    FILE *out = open_memstream(&kept, &kept_len);
    int rc = out ? 0 : -1;
    long long at;
    while (!rc && getline(&line, &cap, in) > 0) {
        if (sscanf(line, "{\"step\":%lld", &at) == 1 && at > step) break;
        if (fputs(line, out) < 0) rc = -1;
    }
    free(line);
    fclose(in);
    if (out && fclose(out)) rc = -1;
    if (rc) fprintf(stderr, "cannot read %s\n", r->log_path);
    if (!rc) rc = out_write_text(r->log_path, kept, kept_len);
    free(kept);
    return rc;
}

/* ---- checkpoints ---- */

int train_run_resume(train_run *r, train_state *s)
{
    tg_checkpoint_extra extra = {.n_rngs = s->n_rngs, .rngs = s->rngs};
    if (tg_checkpoint_load(r->checkpoint, s->model, s->opt, &extra)) return fail("resuming");
    const char *theirs = tg_metadata_get(&extra.metadata, CONFIG_KEY);
    int rc = 0;
    if (!theirs || !json_same_values(theirs, r->config)) {
        fprintf(stderr, "resume: %s was made with other options:\n  it has: %s\n  now:    %s\n", r->checkpoint,
                theirs ? theirs : "(none)", r->config);
        rc = -1;
    }
    if (!rc && tg_loader_seek(s->loader, extra.position)) rc = fail("resume: seeking the loader");
    if (!rc) {
        s->step = extra.step;
        s->epoch = extra.epoch;
        tg_metadata_clear(&s->meta);
        s->meta = extra.metadata;
        extra.metadata = (tg_metadata){0};
        rc = cut_log(r, s->step) ? -1 : open_log(r, "a");
    }
    tg_metadata_clear(&extra.metadata);
    return rc;
}

int train_run_save(const train_run *r, const train_state *s)
{
    tg_checkpoint_extra extra = {.step = s->step, .epoch = s->epoch, .position = tg_loader_position(s->loader),
                                 .n_rngs = s->n_rngs, .rngs = s->rngs};
    int rc = tg_metadata_add(&extra.metadata, CONFIG_KEY, r->config);
    for (int i = 0; !rc && i < s->meta.n; i++)
        if (strcmp(s->meta.items[i].key, CONFIG_KEY) != 0)
            rc = tg_metadata_add(&extra.metadata, s->meta.items[i].key, s->meta.items[i].value);
    if (!rc) rc = tg_checkpoint_save(r->checkpoint, s->model, s->opt, &extra);
    tg_metadata_clear(&extra.metadata);
    return rc ? fail("saving the checkpoint") : 0;
}

int train_run_open(train_run *r, const char *dir, const char *config, bool resume, train_state *s, int64_t total)
{
    if (train_run_init(r, dir, config)) return -1;
    if (!resume) return train_run_start(r);
    if (train_run_resume(r, s)) return -1;
    printf("resumed from %s at step %lld of %lld\n", r->checkpoint, (long long)s->step, (long long)total);
    return 0;
}

void train_run_free(train_run *r, train_state *s)
{
    train_run_close(r);
    tg_metadata_clear(&s->meta);
    tg_loader_free(s->loader);
    tg_optimizer_free(s->opt);
    tg_module_free(s->model);
    *s = (train_state){0};
}

/* ---- the log ---- */

int train_run_log(train_run *r, const char *line)
{
    if (r->log && fprintf(r->log, "%s\n", line) >= 0 && fflush(r->log) == 0) return 0;
    fprintf(stderr, "cannot write %s\n", r->log_path);
    return -1;
}

void train_run_close(train_run *r)
{
    if (r->log) fclose(r->log);
    r->log = NULL;
}

/* ---- the loop ---- */

/* Saves where the run stands and says how to go on. */
static int stop(const train_loop *l, const train_run *r, const train_state *s, progress *bar, const char *why)
{
    progress_done(bar);
    if (l->save(l->ctx)) return -1;
    printf("%s: saved %s at step %lld of %lld; continue with --resume\n", why, r->checkpoint, (long long)s->step,
           (long long)l->total);
    return 1;
}

int train_loop_run(const train_loop *l, const train_run *r, const train_state *s, progress *bar)
{
    int64_t stop_at = l->total, epoch_end = l->stop_after_epoch * l->per_epoch;
    if (l->stop_after_step && l->stop_after_step < stop_at) stop_at = l->stop_after_step;
    if (l->stop_after_epoch && epoch_end < stop_at) stop_at = epoch_end;
    while (s->step < l->total) {
        if (interrupt_requested()) return stop(l, r, s, bar, "interrupted");
        if (s->step >= stop_at) return stop(l, r, s, bar, "stopped as asked");
        if (l->step(l->ctx)) return -1;
        if (s->step % l->per_epoch == 0 && l->end_epoch(l->ctx)) return -1;
    }
    return 0;
}

/* ---- small helpers ---- */

int train_next_batch(tg_loader *l, tg_batch *b)
{
    int rc = tg_loader_next(l, b);
    if (rc == 0) rc = tg_loader_next(l, b);
    return rc == 1 ? 0 : fail("loading a batch");
}

int train_meta_put(tg_metadata *m, const char *key, double value)
{
    char text[40];
    snprintf(text, sizeof text, "%.17g", value);
    return tg_metadata_add(m, key, text) ? fail("metadata") : 0;
}

int train_meta_get(const tg_metadata *m, const char *key, double *value)
{
    const char *text = tg_metadata_get(m, key);
    char *end = NULL;
    if (text) *value = strtod(text, &end);
    if (text && end != text && *end == '\0') return 0;
    fprintf(stderr, "the checkpoint's metadata has no number \"%s\"\n", key);
    return -1;
}

int train_make_sgd(train_state *s, int (*params_of)(const tg_module *, tg_tensor_list *), double lr, double momentum,
                   double weight_decay, const char *prog)
{
    tg_tensor_list params = {0};
    if (!params_of(s->model, &params))
        s->opt = tg_sgd_new(&params, (tg_sgd_opts){.lr = lr, .momentum = momentum, .weight_decay = weight_decay});
    tg_tensor_list_clear(&params);
    if (s->opt) return 0;
    fprintf(stderr, "%s: building the optimizer: %s\n", prog, tg_last_error());
    return -1;
}

int train_make_loader(train_state *s, const tg_dataset *ds, tg_loader_config cfg, long batch, long seed, long workers,
                      int64_t *per_epoch, const char *prog)
{
    cfg.batch_size = batch;
    cfg.shuffle = cfg.drop_last = true;
    cfg.seed = (uint64_t)seed;
    cfg.num_workers = (int)workers;
    s->loader = tg_loader_new(ds, &cfg);
    if (!s->loader) {
        fprintf(stderr, "%s: building the loader: %s\n", prog, tg_last_error());
        return -1;
    }
    *per_epoch = tg_loader_batches_per_epoch(s->loader);
    if (*per_epoch > 0) return 0;
    fprintf(stderr, "%s: %lld samples make no batch of %ld\n", prog, (long long)ds->size, batch);
    return -1;
}

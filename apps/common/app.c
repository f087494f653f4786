/* The programs' shared steps around the train layer (see app.h). */
#include "app.h"

#include <stdio.h>
#include <string.h>

int app_fail(const char *prog, const char *what)
{
    if (tg_dist_world_size() > 1) fprintf(stderr, "[rank %d] ", tg_dist_rank());
    fprintf(stderr, "%s: %s: %s\n", prog, what, tg_last_error());
    return -1;
}

int app_job_fail(const char *prog, const char *what)
{
    if (tg_dist_rank() == 0) fprintf(stderr, "%s: %s: %s\n", prog, what, tg_last_error());
    return -1;
}

int app_join_job(int *argc, char ***argv, const char *prog)
{
    if (tg_dist_init(argc, argv)) return app_fail(prog, "joining the job");
    if (tg_dist_rank() > 0 && !freopen("/dev/null", "w", stdout)) {
        TG_FAIL("cannot send rank %d's output to /dev/null", tg_dist_rank());
        return app_fail(prog, "joining the job");
    }
    return 0;
}

int app_leave_job(int status, const char *prog)
{
    if (status != 0 && status != tg_train_exit_status(TG_TRAIN_INTERRUPTED)) return status;
    if (!tg_dist_finalize()) return status;
    app_fail(prog, "leaving the job");
    return 1;
}

int app_parse_flags(int argc, char **argv, const tg_train_flag *flags, int n, const char *about)
{
    int rc = tg_train_parse_flags(argc, argv, flags, n, about);
    if (rc < 0) fprintf(stderr, "%s: %s\n", argv[0], tg_last_error());
    return rc;
}

int app_set_threads(long threads)
{
    if (!threads || !tg_set_num_threads((int)threads)) return 0;
    fprintf(stderr, "--threads: %s\n", tg_last_error());
    return -1;
}

int app_make_sgd(tg_train_state *s, int (*params_of)(const tg_module *, tg_tensor_list *), double lr,
                 double momentum, double weight_decay, const char *prog)
{
    tg_tensor_list params = {0};
    if (!params_of(s->model, &params))
        s->opt = tg_sgd_new(&params, (tg_sgd_opts){.lr = lr, .momentum = momentum, .weight_decay = weight_decay});
    tg_tensor_list_clear(&params);
    return s->opt ? 0 : app_fail(prog, "building the optimizer");
}

int app_make_data_parallel(tg_train_state *s, int (*params_of)(const tg_module *, tg_tensor_list *),
                           tg_data_parallel **dp, const char *prog)
{
    tg_tensor_list params = {0};
    *dp = params_of(s->model, &params) ? NULL : tg_data_parallel_new(s->model, &params, 0);
    tg_tensor_list_clear(&params);
    return *dp ? 0 : app_fail(prog, "data parallel");
}

int app_make_loader(tg_train_state *s, const tg_dataset *ds, tg_loader_config cfg, long batch, long seed,
                    long workers, int64_t *per_epoch, const char *prog)
{
    cfg.batch_size = batch;
    cfg.shard_count = tg_dist_world_size(); /* each rank its slice of the global batch */
    cfg.shard_index = tg_dist_rank();
    cfg.shuffle = cfg.drop_last = true;
    cfg.seed = (uint64_t)seed;
    cfg.num_workers = (int)workers;
    s->loader = tg_loader_new(ds, &cfg);
    if (!s->loader) return app_fail(prog, "building the loader");
    *per_epoch = tg_loader_batches_per_epoch(s->loader);
    if (*per_epoch > 0) return 0;
    fprintf(stderr, "%s: %lld samples make no batch of %ld\n", prog, (long long)ds->size, batch);
    return -1;
}

int app_next_batch(tg_loader *l, tg_batch *b, const char *prog)
{
    int rc = tg_loader_next(l, b);
    if (rc == 0) rc = tg_loader_next(l, b);
    return rc == 1 ? 0 : app_fail(prog, "loading a batch");
}

int app_start_mode(bool resume, bool overwrite, tg_train_start *start, const char *prog)
{
    if (resume && overwrite) {
        fprintf(stderr, "%s: --resume continues a run and --overwrite starts it over: give one of them\n", prog);
        return -1;
    }
    *start = resume ? TG_TRAIN_RESUME : overwrite ? TG_TRAIN_OVERWRITE : TG_TRAIN_NEW;
    return 0;
}

int app_check_lr_floor(const char *floor_flag, double floor, const char *lr_flag, double lr, const char *prog)
{
    if (floor <= lr) return 0;
    fprintf(stderr, "%s: --%s %g is above --%s %g: the schedule would rise instead of decay\n", prog, floor_flag,
            floor, lr_flag, lr);
    return -1;
}

tg_dataset *app_decode_tolerance(tg_dataset *ds, bool tolerate_corrupt)
{
    tg_image_decode_opts decode = {.tolerate_corrupt = tolerate_corrupt};
    if (ds && tg_dataset_set_decode_opts(ds, &decode)) {
        tg_dataset_free(ds);
        return NULL;
    }
    return ds;
}

tg_dataset *app_open_scenes(const tg_shapescenes_config *cfg)
{
    tg_dataset *ds = tg_shapescenes_open(cfg);
    return ds ? tg_dataset_cached(ds, APP_SCENES_CACHE_BYTES) : NULL;
}

int app_open_run(tg_train_run *r, const char *dir, const char *config, tg_train_start start, tg_train_state *s,
                 int64_t total, const char *prog)
{
    bool resume = start == TG_TRAIN_RESUME;
    if (tg_dist_check_same(config, strlen(config), "the config")) return app_job_fail(prog, "settings");
    if (tg_train_run_open(r, dir, config, start, s)) return app_fail(prog, resume ? "resuming" : "opening the run");
    if (resume) printf("resumed from %s at step %lld of %lld\n", r->checkpoint, (long long)s->step, (long long)total);
    return 0;
}

int app_train(const tg_train_loop *l, tg_train_run *r, tg_train_state *s, const char *prog)
{
    int rc = tg_train_loop_run(l, r, s);
    if (rc < 0) return app_fail(prog, "training");
    if (rc > 0)
        printf("%s: saved %s at step %lld of %lld; continue with --resume\n",
               rc == TG_TRAIN_INTERRUPTED ? "interrupted" : "stopped as asked", r->checkpoint, (long long)s->step,
               (long long)l->total_steps);
    return rc;
}

void app_close_run(tg_train_run *r, tg_train_state *s)
{
    tg_train_run_close(r);
    tg_metadata_clear(&s->meta);
    tg_loader_free(s->loader);
    tg_optimizer_free(s->opt);
    tg_module_free(s->model);
    *s = (tg_train_state){0};
}

int app_write_text(const char *dir, const char *name, const char *text, size_t len, const char *prog)
{
    char path[TG_TRAIN_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (tg_train_write_file(path, text, len)) return app_fail(prog, "writing results");
    printf("wrote %s\n", path);
    return 0;
}

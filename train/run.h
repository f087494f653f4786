/* A training run on disk: its directory, the checkpoint that lets it go on
 * bit for bit, and its JSONL log.
 *
 *   DIR/checkpoint.safetensors   model, optimizer, generators, step, epoch,
 *                                the loader's position, the run's config and
 *                                the program's own metadata (nn/checkpoint.h)
 *   DIR/log.jsonl                one JSON object a line, each starting
 *                                {"step":N, ...}
 *
 * The config is a text (JSON, by convention) naming every setting that
 * changes the numbers. Resuming with another config is refused, and the
 * message shows both; two JSON texts with the same values (other digits
 * or spacing) count as the same config (tg_train_same_config). On resume
 * the log is cut back to the checkpoint's step, so lines written after the
 * last checkpoint (by a run that was killed) do not appear twice.
 *
 *   tg_train_run run;
 *   tg_train_state state = {.model = m, .opt = opt, .loader = loader};
 *   if (tg_train_run_open(&run, "runs/a", config, resume, &state)) ...
 *   ... tg_train_loop_run (train/loop.h) or your own loop, calling
 *   tg_train_run_log and tg_train_run_save ...
 *   tg_train_run_close(&run);
 */
#ifndef TG_TRAIN_RUN_H
#define TG_TRAIN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "data/loader.h"
#include "nn/checkpoint.h"
#include "tensor/export.h"

#define TG_TRAIN_PATH_MAX 4096
#define TG_TRAIN_NAME_MAX 64 /* names of files inside a run directory: shorter than this */

typedef struct tg_train_run {
    char dir[TG_TRAIN_PATH_MAX - TG_TRAIN_NAME_MAX];
    char checkpoint[TG_TRAIN_PATH_MAX];
    char log_path[TG_TRAIN_PATH_MAX];
    char *config; /* owned copy */
    FILE *log;
} tg_train_run;

/* What a checkpoint holds besides the config. The pointers are borrowed;
 * loader may be NULL (position 0). meta holds the program's own entries
 * (saved as "user.<key>") and is owned: resume replaces it, the caller
 * clears it (tg_metadata_clear). */
typedef struct tg_train_state {
    tg_module *model;
    tg_optimizer *opt;
    tg_loader *loader;
    int64_t step, epoch; /* steps and epochs done */
    int n_rngs;          /* the program's own generators, saved as "rng.<name>" */
    const tg_checkpoint_rng *rngs;
    tg_metadata meta;
} tg_train_state;

/* Opens the run in dir (made with its parents if missing). Fresh
 * (resume false): an empty log. Resume: loads the checkpoint into s
 * (model, optimizer, generators, step, epoch, meta), refuses one made
 * with another config, moves s->loader to the saved position, and
 * reopens the log cut back at s->step. 0, or -1 with the error recorded
 * (r then needs no close). */
TG_API int tg_train_run_open(tg_train_run *r, const char *dir, const char *config, bool resume, tg_train_state *s);

/* Writes the checkpoint of s with r's config, atomically: the previous
 * checkpoint survives a failure. 0 or -1. */
TG_API int tg_train_run_save(const tg_train_run *r, const tg_train_state *s);

/* Appends one line (a JSON object starting {"step":N, without its
 * newline) to the log and flushes it. 0 or -1. */
TG_API int tg_train_run_log(tg_train_run *r, const char *line);

/* "<dir>/<name>" into buf (TG_TRAIN_PATH_MAX bytes); name is shorter
 * than TG_TRAIN_NAME_MAX. Returns buf. */
TG_API char *tg_train_run_path(const tg_train_run *r, const char *name, char *buf);

/* Whether two configs say the same: the same text, or JSON texts holding
 * the same values, numbers compared by value (2 and 2.0 alike, 0.1 however
 * many digits it was written with), so a run whose config another build
 * printed otherwise still resumes. False when they differ or a differing
 * text is not JSON. */
TG_API bool tg_train_same_config(const char *a, const char *b);

/* Closes the log and frees the config copy; r may be zeroed, closed or NULL. */
TG_API void tg_train_run_close(tg_train_run *r);

/* Makes dir and its missing parents (mkdir -p). 0 or -1. */
TG_API int tg_train_make_dir(const char *dir);

/* Replaces path with len bytes of data atomically (temporary file, fsync,
 * rename): a reader sees the old file or the new one, never a part. 0 or
 * -1, with the old file left as it was. */
TG_API int tg_train_write_file(const char *path, const void *data, size_t len);

/* Sets (or adds) the number s->meta holds under key, as %.17g (exact
 * for a double). 0 or -1. */
TG_API int tg_train_meta_set(tg_train_state *s, const char *key, double value);
/* The number s->meta holds under key. 0, or -1 when it is missing or
 * not a number. */
TG_API int tg_train_meta_get(const tg_train_state *s, const char *key, double *value);

#endif

/* A training run on disk: its directory, the checkpoint that lets it go on
 * bit for bit, and its JSONL log.
 *
 *   DIR/checkpoint.safetensors   model, optimizer, generators, step, epoch,
 *                                the loader's position, the run's config and
 *                                the program's own metadata (nn/checkpoint.h)
 *   DIR/log.jsonl                one JSON object a line, each starting
 *                                {"step":N, ...}
 *   DIR/run.lock                 the lock a run holds while it is open,
 *                                with its pid
 *
 * How a run starts (tg_train_start): a new run refuses a directory that
 * holds another one (a checkpoint, a log that is not empty, or one of the
 * program's outputs), so a finished run is never lost to a rerun;
 * TG_TRAIN_RESUME continues it, TG_TRAIN_OVERWRITE starts it over. An
 * overwrite changes nothing of the old run until its own first checkpoint
 * is in place: its log is written as log.jsonl.tmp-XXXXXX and moved over
 * log.jsonl right after that checkpoint's rename, and the old run's
 * outputs are removed then, so a new run that fails before then leaves the
 * old one whole, and none after leaves old results beside new ones. Programs name these modes --resume and --overwrite, and the
 * messages here say so.
 *
 * One run at a time: open takes an exclusive flock on DIR/run.lock (held
 * until close, released by the kernel if the process dies), and a second
 * run into the same directory is refused ("run directory D is in use by
 * another run (pid N)") before it changes anything. Under the lock, open
 * removes what writers killed mid-write left in DIR: files named
 * "<file>.tmp-XXXXXX" (tensor/internal/atomic_file.h), up to a
 * checkpoint's size each.
 *
 * The config is a text (JSON, by convention) naming every setting that
 * changes the numbers. Resuming with another config is refused, and the
 * message shows both; two JSON texts with the same values (other digits
 * or spacing) count as the same config (tg_train_same_config). On resume
 * the log is cut back to the checkpoint's step, so lines written after the
 * last checkpoint (by a run that was killed) do not appear twice.
 *
 * In a data-parallel job (dist/dist.h), every rank opens the run with the
 * same arguments: rank 0 alone takes the directory (lock, log, the checks
 * above) and writes the checkpoint and the log, while on resume every rank
 * reads the checkpoint once rank 0 has it in order; a failure on any rank
 * fails the open on every rank. tg_train_run_save and tg_train_run_log do
 * nothing on the other ranks.
 *
 *   tg_train_run run;
 *   tg_train_state state = {.model = m, .opt = opt, .loader = loader};
 *   if (tg_train_run_open(&run, "runs/a", config, TG_TRAIN_NEW, &state)) ...
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

/* How tg_train_run_open starts a run in its directory. */
typedef enum tg_train_start {
    TG_TRAIN_NEW,       /* a fresh run; refused where another run is (--resume or --overwrite) */
    TG_TRAIN_RESUME,    /* continue the run from its checkpoint (--resume) */
    TG_TRAIN_OVERWRITE, /* a fresh run replacing the one there, at its first checkpoint (--overwrite) */
} tg_train_start;

typedef struct tg_train_run {
    char dir[TG_TRAIN_PATH_MAX - TG_TRAIN_NAME_MAX];
    char checkpoint[TG_TRAIN_PATH_MAX];
    char log_path[TG_TRAIN_PATH_MAX];
    char pending_log[TG_TRAIN_PATH_MAX]; /* an overwrite's log until its first checkpoint; "" after */
    char *config; /* owned copy */
    FILE *log;
    int lock_fd;  /* DIR/run.lock, while locked */
    bool locked;
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
    /* Optional, NULL-terminated: the names of the files the program writes
     * into the run directory ("results.json", exported weights), or
     * patterns standing for several (fnmatch: "backbone_iter*.safetensors",
     * whatever steps an older run chose). They mark a run as a checkpoint
     * does, and an overwrite removes every file they match at its first
     * checkpoint. Borrowed. */
    const char *const *outputs;
} tg_train_state;

/* Opens the run in dir (made with its parents if missing), under its lock
 * (see above), after removing the temporaries of killed writers. New: an
 * empty log; refused ("run directory D already holds a run ...: continue
 * it with --resume, or start it over with --overwrite") where a checkpoint,
 * a log that is not empty or one of s->outputs is. Overwrite: as new, the log pending until
 * the first checkpoint. Resume: loads the checkpoint into s (model,
 * optimizer, generators, step, epoch, meta), refuses one made with
 * another config, moves s->loader to the saved position, and reopens the
 * log cut back at s->step. 0, or -1 with the error recorded (r then needs
 * no close, and the directory is as it was but for removed temporaries). */
TG_API int tg_train_run_open(tg_train_run *r, const char *dir, const char *config, tg_train_start start,
                             tg_train_state *s);

/* Writes the checkpoint of s with r's config, atomically: the previous
 * checkpoint survives a failure. The first one of an overwrite then moves
 * its log over the old run's. 0 or -1. */
TG_API int tg_train_run_save(tg_train_run *r, const tg_train_state *s);

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

/* Closes the log, releases the lock and frees the config copy; an
 * overwrite that wrote no checkpoint drops its pending log, leaving the
 * old run as it was. r may be zeroed, closed or NULL. */
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

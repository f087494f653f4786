/* A training run's directory, checkpoint, resume and log (see run.h). */
#include "train/run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dist/dist.h"
#include "tensor/internal/atomic_file.h"
#include "tensor/internal/check.h"
#include "tensor/error.h"

#define CONFIG_KEY "config"
#define LOCK_NAME "run.lock"

/* ---- files ---- */

int tg_train_make_dir(const char *dir)
{
    char path[TG_TRAIN_PATH_MAX];
    if (!dir || !*dir || strlen(dir) >= sizeof path) return TG_FAIL("make_dir: the directory must be named (and shorter than %zu bytes)", sizeof path);
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) return TG_FAIL("cannot make directory %s: %s", path, strerror(errno));
        *p = c;
        if (c == '\0') break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return TG_FAIL("%s is not a directory", path);
    return 0;
}

typedef struct {
    const void *data;
    size_t len;
} span;

static int write_span(FILE *f, const char *tmp_path, void *ctx)
{
    const span *s = ctx;
    if (fwrite(s->data, 1, s->len, f) == s->len) return 0;
    return TG_FAIL("cannot write %s", tmp_path);
}

int tg_train_write_file(const char *path, const void *data, size_t len)
{
    if (TG_NEED("train_write_file", path) || (len > 0 && TG_NEED("train_write_file", data))) return -1;
    span s = {data, len};
    return tg_write_file_atomic(path, "write_file", write_span, &s);
}

/* ---- opening ---- */

char *tg_train_run_path(const tg_train_run *r, const char *name, char *buf)
{
    if (TG_NEED("train_run_path", r, name, buf)) return NULL;
    snprintf(buf, TG_TRAIN_PATH_MAX, "%s/%s", r->dir, name);
    return buf;
}

static int open_log(tg_train_run *r, const char *mode)
{
    r->log = fopen(r->log_path, mode);
    return r->log ? 0 : TG_FAIL("cannot open %s: %s", r->log_path, strerror(errno));
}

/* An overwrite's log, under a temporary name until its first checkpoint. */
static int open_pending_log(tg_train_run *r)
{
    r->log = tg_create_temporary(r->log_path, "train_run_open", r->pending_log, sizeof r->pending_log);
    return r->log ? 0 : -1;
}

/* The pid the lock file holds, as text ("unknown" before it is written). */
static void lock_holder(int fd, char *pid, size_t size)
{
    char text[32] = {0};
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    long value = n > 0 ? strtol(text, NULL, 10) : 0;
    if (value > 0) snprintf(pid, size, "%ld", value);
    else snprintf(pid, size, "unknown");
}

/* Takes DIR/run.lock (flock, exclusive, not waiting) and writes our pid in it. */
static int take_lock(tg_train_run *r)
{
    char path[TG_TRAIN_PATH_MAX], pid[32];
    tg_train_run_path(r, LOCK_NAME, path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return TG_FAIL("cannot open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        lock_holder(fd, pid, sizeof pid);
        close(fd);
        if (err == EWOULDBLOCK) return TG_FAIL("run directory %s is in use by another run (pid %s)", r->dir, pid);
        return TG_FAIL("cannot lock %s: %s", path, strerror(err));
    }
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int err = errno;
        close(fd);
        return TG_FAIL("cannot write %s: %s", path, strerror(err));
    }
    r->lock_fd = fd;
    r->locked = true;
    return 0;
}

/* Whether name is one of s->outputs (a name, or a pattern it matches). */
static bool is_output(const tg_train_state *s, const char *name)
{
    for (const char *const *output = s->outputs; output && *output; output++)
        if (fnmatch(*output, name, FNM_PERIOD) == 0) return true;
    return false;
}

/* The name of a file of the run directory that is an output of the
 * program, into name (TG_TRAIN_NAME_MAX bytes): 1; 0 when none is there;
 * -1 with the error recorded when the directory cannot be read. */
static int find_output(const tg_train_run *r, const tg_train_state *s, char *name)
{
    if (!s->outputs) return 0;
    DIR *d = opendir(r->dir);
    if (!d) return TG_FAIL("cannot read directory %s: %s", r->dir, strerror(errno));
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d));) {
        found = is_output(s, e->d_name);
        if (found) snprintf(name, TG_TRAIN_NAME_MAX, "%.*s", TG_TRAIN_NAME_MAX - 1, e->d_name);
    }
    closedir(d);
    return found;
}

/* What shows that another run is in the directory, as "its <file>" into
 * what (TG_TRAIN_PATH_MAX bytes): its checkpoint, a log with lines in it,
 * or an output of the program. 1 when one is there, 0 when none is, -1. */
static int earlier_run(const tg_train_run *r, const tg_train_state *s, char *what)
{
    struct stat st;
    char name[TG_TRAIN_NAME_MAX] = "checkpoint.safetensors";
    int found = stat(r->checkpoint, &st) == 0;
    if (!found && stat(r->log_path, &st) == 0 && st.st_size > 0) {
        found = 1;
        snprintf(name, sizeof name, "log.jsonl");
    }
    if (!found) found = find_output(r, s, name);
    if (found == 1) snprintf(what, TG_TRAIN_PATH_MAX, "its %s", name);
    return found;
}

static int refuse_earlier_run(const tg_train_run *r, const char *what)
{
    return TG_FAIL("run directory %s already holds a run (%s): continue it with --resume, or start it over with "
                   "--overwrite", r->dir, what);
}

/* Keeps the lines of the log up to the first whose step is past `step`. */
static int cut_log(const tg_train_run *r, int64_t step)
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
    if (rc) rc = TG_FAIL("cannot read %s", r->log_path);
    if (!rc) rc = tg_train_write_file(r->log_path, kept, kept_len);
    free(kept);
    return rc;
}

bool tg_train_same_config(const char *a, const char *b)
{
    if (TG_NEED("train_same_config", a, b)) return false;
    if (strcmp(a, b) == 0) return true;
    const size_t flags = JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL;
    json_t *ja = json_loads(a, flags, NULL), *jb = json_loads(b, flags, NULL);
    bool same = ja && jb && json_equal(ja, jb);
    json_decref(ja);
    json_decref(jb);
    return same;
}

/* Loads the checkpoint into s, checking its config and moving the loader. */
static int resume(tg_train_run *r, tg_train_state *s)
{
    tg_checkpoint_extra extra = {.n_rngs = s->n_rngs, .rngs = s->rngs};
    if (tg_checkpoint_load(r->checkpoint, s->model, s->opt, &extra)) return -1;
    const char *theirs = tg_metadata_get(&extra.metadata, CONFIG_KEY);
    int rc = 0;
    if (!theirs || !tg_train_same_config(theirs, r->config))
        rc = TG_FAIL("resume: %s was made with other settings:\n  it has: %s\n  now:    %s", r->checkpoint,
                     theirs ? theirs : "(none)", r->config);
    if (!rc && s->loader && tg_loader_seek(s->loader, extra.position)) rc = -1;
    if (!rc) {
        s->step = extra.step;
        s->epoch = extra.epoch;
        tg_metadata_clear(&s->meta);
        s->meta = extra.metadata;
        extra.metadata = (tg_metadata){0};
    }
    tg_metadata_clear(&extra.metadata);
    return rc;
}

/* Sets the log up as start asks, in a directory r has locked. */
static int start_run(tg_train_run *r, tg_train_start start, tg_train_state *s)
{
    char what[TG_TRAIN_PATH_MAX];
    int earlier = start == TG_TRAIN_RESUME ? 0 : earlier_run(r, s, what);
    if (earlier < 0) return -1;
    switch (start) {
    case TG_TRAIN_NEW: return earlier ? refuse_earlier_run(r, what) : open_log(r, "w");
    case TG_TRAIN_OVERWRITE: return earlier ? open_pending_log(r) : open_log(r, "w");
    case TG_TRAIN_RESUME: return resume(r, s) || cut_log(r, s->step) || open_log(r, "a") ? -1 : 0;
    }
    return TG_FAIL("train_run_open: unknown start mode %d", (int)start);
}

int tg_train_run_open(tg_train_run *r, const char *dir, const char *config, tg_train_start start, tg_train_state *s)
{
    if (TG_NEED("train_run_open", r)) return -1;
    *r = (tg_train_run){0};
    if (!dir || !*dir || strlen(dir) >= sizeof r->dir)
        return TG_FAIL("train_run_open: the run directory must be named (and shorter than %zu bytes)", sizeof r->dir);
    if (!config) return TG_FAIL("train_run_open: no config");
    if (!s || !s->model) return TG_FAIL("train_run_open: no model");
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    tg_train_run_path(r, "checkpoint.safetensors", r->checkpoint);
    tg_train_run_path(r, "log.jsonl", r->log_path);
    r->config = strdup(config);
    if (!r->config) return TG_FAIL("train_run_open: out of memory");
    bool writer = tg_dist_rank() == 0;
    int rc = writer && (tg_train_make_dir(dir) || take_lock(r) || tg_remove_temporaries(r->dir, NULL) ||
                        start_run(r, start, s))
                 ? -1
                 : 0;
    rc = tg_dist_agree(rc); /* the other ranks read the checkpoint once rank 0 has the directory in order */
    if (!rc && !writer && start == TG_TRAIN_RESUME) rc = resume(r, s);
    if (tg_dist_agree(rc)) {
        tg_train_run_close(r);
        return -1;
    }
    return 0;
}

/* ---- checkpoints and the log ---- */

/* Removes the old run's outputs (the files of the directory that are
 * outputs of the program). */
static int remove_outputs(const tg_train_run *r, const tg_train_state *s)
{
    if (!s->outputs) return 0;
    DIR *d = opendir(r->dir);
    if (!d) return TG_FAIL("cannot read directory %s: %s", r->dir, strerror(errno));
    int rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));)
        if (is_output(s, e->d_name) && unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT)
            rc = TG_FAIL("train_run_save: cannot remove the old run's %s/%s: %s", r->dir, e->d_name,
                         strerror(errno));
    closedir(d);
    return rc;
}

/* An overwrite's first checkpoint is in place: its log replaces the old
 * one, and the old run's outputs go. */
static int commit_pending_log(tg_train_run *r, const tg_train_state *s)
{
    if (!r->pending_log[0]) return 0;
    if (fflush(r->log) != 0) return TG_FAIL("cannot write %s: %s", r->pending_log, strerror(errno));
    int rc = tg_commit_temporary(r->pending_log, r->log_path, "train_run_save");
    r->pending_log[0] = '\0';
    return rc ? rc : remove_outputs(r, s);
}

int tg_train_run_save(tg_train_run *r, const tg_train_state *s)
{
    if (TG_NEED("train_run_save", r, s)) return -1;
    if (!r->config) return TG_FAIL("train_run_save: the run is not open");
    if (tg_dist_rank() > 0) return 0; /* rank 0 writes the checkpoint */
    tg_checkpoint_extra extra = {.step = s->step, .epoch = s->epoch,
                                 .position = s->loader ? tg_loader_position(s->loader) : 0,
                                 .n_rngs = s->n_rngs, .rngs = s->rngs};
    int rc = tg_metadata_add(&extra.metadata, CONFIG_KEY, r->config);
    for (int i = 0; !rc && i < s->meta.n; i++)
        if (strcmp(s->meta.items[i].key, CONFIG_KEY) != 0)
            rc = tg_metadata_add(&extra.metadata, s->meta.items[i].key, s->meta.items[i].value);
    if (!rc) rc = tg_checkpoint_save(r->checkpoint, s->model, s->opt, &extra);
    tg_metadata_clear(&extra.metadata);
    return rc ? -1 : commit_pending_log(r, s);
}

int tg_train_run_log(tg_train_run *r, const char *line)
{
    if (TG_NEED("train_run_log", r, line)) return -1;
    if (tg_dist_rank() > 0 && r->config) return 0; /* rank 0 writes the log */
    if (r->log && fprintf(r->log, "%s\n", line) >= 0 && fflush(r->log) == 0) return 0;
    return TG_FAIL("cannot write %s", r->log_path[0] ? r->log_path : "the log: the run is not open");
}

void tg_train_run_close(tg_train_run *r)
{
    if (!r) return;
    if (r->log) fclose(r->log);
    if (r->pending_log[0]) remove(r->pending_log); /* an overwrite that never saved: the old run stays */
    if (r->locked) close(r->lock_fd);              /* releases the flock */
    free(r->config);
    r->log = NULL;
    r->config = NULL;
    r->pending_log[0] = '\0';
    r->locked = false;
}

/* ---- the program's numbers ---- */

int tg_train_meta_set(tg_train_state *s, const char *key, double value)
{
    if (TG_NEED("train_meta_set", s, key)) return -1;
    char text[40];
    snprintf(text, sizeof text, "%.17g", value);
    for (int i = 0; i < s->meta.n; i++) {
        if (strcmp(s->meta.items[i].key, key) != 0) continue;
        char *copy = strdup(text);
        if (!copy) return TG_FAIL("train_meta_set: out of memory");
        free(s->meta.items[i].value);
        s->meta.items[i].value = copy;
        return 0;
    }
    return tg_metadata_add(&s->meta, key, text);
}

int tg_train_meta_get(const tg_train_state *s, const char *key, double *value)
{
    if (TG_NEED("train_meta_get", s, key, value)) return -1;
    const char *text = tg_metadata_get(&s->meta, key);
    char *end = NULL;
    if (text) *value = strtod(text, &end);
    if (text && end != text && *end == '\0') return 0;
    return TG_FAIL("the checkpoint's metadata has no number \"%s\"", key);
}

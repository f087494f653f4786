/* Files replaced atomically: a reader sees the old file or the whole new
 * one, never a part, and a failed write leaves nothing behind (a killed
 * one leaves its temporary, which tg_remove_temporaries clears).
 *
 * The bytes go to "<path>.tmp-XXXXXX" (a fresh name in the same directory,
 * so the rename cannot cross file systems), which is flushed and fsync'ed,
 * then renamed over path; then the directory is fsync'ed, so the rename
 * survives a power loss. Used by the safetensors writer, the image writers
 * and tg_train_write_file (train/run.h), which programs call. Internal
 * header (not installed). */
#ifndef TG_ATOMIC_FILE_H
#define TG_ATOMIC_FILE_H

#include <stdbool.h>
#include <stdio.h>

/* Writes the file's bytes to f (tmp_path names it, for error messages);
 * returns 0, or -1 with the error recorded. It need not flush. */
typedef int (*tg_file_writer)(FILE *f, const char *tmp_path, void *ctx);

/* Runs write on a temporary file and renames it over path. Error messages
 * start with who ("safetensors_save: cannot write /x/y.tmp-a8Zk3Q: No space
 * left on device"). On failure the temporary file is removed and a file
 * already at path is left as it was; the one exception: if only the final
 * directory sync fails, path already holds the new file (-1 says so). */
int tg_write_file_atomic(const char *path, const char *who, tg_file_writer write, void *ctx);

/* The steps of tg_write_file_atomic, for a file written over a longer
 * time (a run's log while it has no checkpoint yet). Creates a fresh
 * "<path>.tmp-XXXXXX" (0666 less the umask), its name put in tmp (size
 * bytes: strlen(path) + 12 at least), open for writing; NULL with the
 * error recorded. */
FILE *tg_create_temporary(const char *path, const char *who, char *tmp, size_t size);
/* Renames tmp over path and syncs the directory. 0, or -1 (tmp is then
 * removed, unless only the directory sync failed). */
int tg_commit_temporary(const char *tmp, const char *path, const char *who);

/* Whether a file name (without its directory) has the form of those
 * temporaries: "<name>.tmp-" and six letters or digits. */
bool tg_is_temporary_name(const char *name);
/* Removes the regular files of dir whose names have that form: what a
 * writer killed mid-write (kill -9 during a checkpoint) left, up to a
 * checkpoint's size. Only for a directory whose writers are known to be
 * gone (a run directory under its lock). *removed counts them (may be
 * NULL). 0 or -1. */
int tg_remove_temporaries(const char *dir, int *removed);

#endif

/* Files replaced atomically: a reader sees the old file or the whole new
 * one, never a part, and a failed write leaves nothing behind.
 *
 * The bytes go to "<path>.tmp-XXXXXX" (a fresh name in the same directory,
 * so the rename cannot cross file systems), which is flushed and fsync'ed,
 * then renamed over path; then the directory is fsync'ed, so the rename
 * survives a power loss. Used by the safetensors writer, the image writers
 * and tg_train_write_file (train/run.h), which programs call. Internal
 * header (not installed). */
#ifndef TG_ATOMIC_FILE_H
#define TG_ATOMIC_FILE_H

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

#endif

/* What the harnesses share: one private directory per fuzzing process for
 * the files a reader needs (under $FUZZ_TMPDIR if set, else /dev/shm when
 * it exists, so no disk is touched), removed with everything in it when
 * the process exits (fuzz/run.sh also removes its FUZZ_TMPDIR, for a
 * process that crashed). Failures
 * of this scaffolding abort: they are not findings about the reader. */
#ifndef FUZZ_TMP_H
#define FUZZ_TMP_H

#include <stddef.h>
#include <stdint.h>

/* The directory, made on the first call. */
const char *fuzz_dir(void);

/* buf (FUZZ_PATH_MAX bytes) = fuzz_dir()/name; returns buf. */
#define FUZZ_PATH_MAX 512
char *fuzz_path(char *buf, const char *name);

/* Writes size bytes of data as the file path (replacing it). */
void fuzz_write(const char *path, const uint8_t *data, size_t size);

/* Removes path and, if it is a directory, everything under it. */
void fuzz_remove(const char *path);

#endif

/* The harnesses' private directory (see fuzz_tmp.h). */
#define _XOPEN_SOURCE 700
#include "fuzz_tmp.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[FUZZ_PATH_MAX / 2];

static void die(const char *what, const char *path)
{
    fprintf(stderr, "fuzz: %s %s: %s\n", what, path, strerror(errno));
    abort();
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void fuzz_remove(const char *path)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) die("cannot remove", path);
}

static void remove_dir(void) { fuzz_remove(dir); }

const char *fuzz_dir(void)
{
    if (*dir) return dir;
    struct stat st;
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base) base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/tg_fuzz_XXXXXX", base);
    if (!mkdtemp(dir)) die("cannot make", dir);
    atexit(remove_dir);
    return dir;
}

char *fuzz_path(char *buf, const char *name)
{
    snprintf(buf, FUZZ_PATH_MAX, "%s/%s", fuzz_dir(), name);
    return buf;
}

void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot open", path);
    if (fwrite(data, 1, size, f) != size || fclose(f) != 0) die("cannot write", path);
}

/* Atomic file replacement: temporary file, fsync, rename, directory fsync;
 * and the removal of the temporaries a killed writer left (see
 * atomic_file.h). */
#include "tensor/internal/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tensor/error.h"

/* Tries at a fresh temporary name before giving up on EEXIST. */
#define NAME_TRIES 100
/* A temporary is "<path>.tmp-" and six characters of this alphabet. */
#define TEMPORARY_SUFFIX ".tmp-XXXXXX"
#define NAME_ALPHABET "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Six name characters that differ between calls, threads and processes. */
static void random_suffix(char out[7])
{
    static _Atomic uint64_t calls;
    static const char alphabet[] = NAME_ALPHABET;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = splitmix64(atomic_fetch_add(&calls, 1) ^ ((uint64_t)getpid() << 40) ^ (uint64_t)ts.tv_nsec ^
                            ((uint64_t)ts.tv_sec << 30));
    for (int i = 0; i < 6; i++, x /= 62) out[i] = alphabet[x % 62];
    out[6] = '\0';
}

FILE *tg_create_temporary(const char *path, const char *who, char *tmp, size_t size)
{
    int fd = -1;
    for (int i = 0; i < NAME_TRIES && fd < 0; i++) {
        char suffix[7];
        random_suffix(suffix);
        snprintf(tmp, size, "%s.tmp-%s", path, suffix);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        TG_FAIL("%s: cannot create %s: %s", who, tmp, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        TG_FAIL("%s: cannot open %s: %s", who, tmp, strerror(errno));
        close(fd);
        remove(tmp);
    }
    return f;
}

/* Writes, flushes and syncs tmp; removes it on failure. */
static int fill_temporary(FILE *f, const char *tmp, const char *who, tg_file_writer write, void *ctx)
{
    int rc = write(f, tmp, ctx);
    if (rc == 0 && fflush(f) != 0) rc = TG_FAIL("%s: cannot write %s: %s", who, tmp, strerror(errno));
    if (rc == 0 && fsync(fileno(f)) != 0) rc = TG_FAIL("%s: cannot sync %s: %s", who, tmp, strerror(errno));
    if (fclose(f) != 0 && rc == 0) rc = TG_FAIL("%s: cannot write %s: %s", who, tmp, strerror(errno));
    if (rc) remove(tmp);
    return rc;
}

/* fsync of the directory holding path, so the rename itself is durable. */
static int sync_directory(const char *path, const char *who)
{
    char *dir = strdup(path);
    if (!dir) return TG_FAIL("%s: %s: out of memory", who, path);
    char *slash = strrchr(dir, '/');
    const char *name = !slash ? "." : slash == dir ? "/" : (*slash = '\0', dir);
    int fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : fsync(fd), err = errno;
    if (fd >= 0) close(fd);
    if (rc) TG_FAIL("%s: %s was written, but syncing its directory %s failed: %s", who, path, name, strerror(err));
    free(dir);
    return rc ? -1 : 0;
}

int tg_commit_temporary(const char *tmp, const char *path, const char *who)
{
    if (rename(tmp, path) != 0) {
        int rc = TG_FAIL("%s: cannot rename %s to %s: %s", who, tmp, path, strerror(errno));
        remove(tmp);
        return rc;
    }
    return sync_directory(path, who);
}

int tg_write_file_atomic(const char *path, const char *who, tg_file_writer write, void *ctx)
{
    size_t size = strlen(path) + sizeof TEMPORARY_SUFFIX;
    char *tmp = malloc(size);
    if (!tmp) return TG_FAIL("%s: %s: out of memory", who, path);
    FILE *f = tg_create_temporary(path, who, tmp, size);
    int rc = f ? fill_temporary(f, tmp, who, write, ctx) : -1;
    if (rc == 0) rc = tg_commit_temporary(tmp, path, who);
    free(tmp);
    return rc;
}

/* ---- what a killed writer left ---- */

bool tg_is_temporary_name(const char *name)
{
    size_t len = strlen(name), suffix = sizeof TEMPORARY_SUFFIX - 1; /* ".tmp-XXXXXX" */
    if (len <= suffix || strncmp(name + len - suffix, ".tmp-", 5) != 0) return false;
    const char *random = name + len - 6;
    for (int i = 0; i < 6; i++)
        if (!strchr(NAME_ALPHABET, random[i])) return false;
    return true;
}

int tg_remove_temporaries(const char *dir, int *removed)
{
    if (removed) *removed = 0;
    DIR *d = opendir(dir);
    if (!d) return TG_FAIL("cannot read directory %s: %s", dir, strerror(errno));
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        struct stat st;
        if (!tg_is_temporary_name(e->d_name) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0)
            rc = TG_FAIL("cannot remove %s/%s: %s", dir, e->d_name, strerror(errno));
        else if (removed) (*removed)++;
    }
    closedir(d);
    return rc;
}

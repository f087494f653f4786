/* Atomic file replacement: temporary file, fsync, rename, directory fsync
 * (see atomic_file.h). */
#include "tensor/internal/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tensor/error.h"

/* Tries at a fresh temporary name before giving up on EEXIST. */
#define NAME_TRIES 100

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
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = splitmix64(atomic_fetch_add(&calls, 1) ^ ((uint64_t)getpid() << 40) ^ (uint64_t)ts.tv_nsec ^
                            ((uint64_t)ts.tv_sec << 30));
    for (int i = 0; i < 6; i++, x /= 62) out[i] = alphabet[x % 62];
    out[6] = '\0';
}

/* Creates tmp (path + ".tmp-XXXXXX", written into tmp) with the usual
 * permissions (0666 less the umask, as fopen would). */
static FILE *create_temporary(const char *path, const char *who, char *tmp, size_t size)
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

int tg_write_file_atomic(const char *path, const char *who, tg_file_writer write, void *ctx)
{
    size_t size = strlen(path) + sizeof ".tmp-XXXXXX";
    char *tmp = malloc(size);
    if (!tmp) return TG_FAIL("%s: %s: out of memory", who, path);
    FILE *f = create_temporary(path, who, tmp, size);
    int rc = f ? fill_temporary(f, tmp, who, write, ctx) : -1;
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = TG_FAIL("%s: cannot rename %s to %s: %s", who, tmp, path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return rc ? rc : sync_directory(path, who);
}

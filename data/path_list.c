/* Lists of file paths (see internal/path_list.h). */
#include "data/internal/path_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensor/error.h"

static int append(tg_path_list *l, char *s)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 64;
        char **items = realloc(l->items, (size_t)cap * sizeof *items);
        if (!items) return -1;
        l->items = items, l->cap = cap;
    }
    l->items[l->n++] = s;
    return 0;
}

int tg_path_list_addf(tg_path_list *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) return TG_FAIL("path list: out of memory");
    if (append(l, s)) {
        free(s);
        return TG_FAIL("path list: out of memory");
    }
    return 0;
}

/* Whether the entry path (named e in its directory) is a directory to walk
 * (1), a regular file (0) or neither (-1). */
static int entry_kind(const struct dirent *e, const char *path)
{
    if (e->d_type == DT_DIR) return 1;
    if (e->d_type == DT_REG) return 0;
    if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) return -1;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 1; /* d_type unknown to the file system */
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? 0 : -1;
}

int tg_path_list_walk(tg_path_list *l, const char *dir, int (*keep)(const char *name))
{
    DIR *d = opendir(dir);
    if (!d) return TG_FAIL("cannot open directory %s: %s", dir, strerror(errno));
    int rc = 0;
    for (struct dirent *e; rc == 0 && (errno = 0, e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
            rc = TG_FAIL("path list: out of memory");
            break;
        }
        int kind = entry_kind(e, path);
        if (kind == 1) rc = tg_path_list_walk(l, path, keep);
        if (kind == 0 && keep(e->d_name)) {
            if (append(l, path)) rc = TG_FAIL("path list: out of memory");
            else path = NULL;
        }
        free(path);
    }
    if (rc == 0 && errno) rc = TG_FAIL("cannot read directory %s: %s", dir, strerror(errno));
    closedir(d);
    return rc;
}

int tg_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int tg_is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tg_path_list_sort(tg_path_list *l)
{
    if (l->n > 1) qsort(l->items, (size_t)l->n, sizeof *l->items, compare_paths);
}

void tg_path_list_clear(tg_path_list *l)
{
    for (int64_t i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Growable lists of file paths, filled by formatting or by walking a
 * directory tree, for the dataset readers. Internal header (not installed). */
#ifndef TG_DATA_PATH_LIST_H
#define TG_DATA_PATH_LIST_H

#include <stdint.h>

typedef struct tg_path_list {
    char **items; /* malloc'd strings */
    int64_t n, cap;
} tg_path_list;

/* Appends a new string formatted like printf; 0 or -1 (out of memory). */
int tg_path_list_addf(tg_path_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends every regular file under dir, recursively, whose name keep()
 * accepts. Symbolic links to files are followed; symbolic links to
 * directories are not (as find does), so the walk cannot loop. A directory
 * that cannot be read is an error (-1 naming it). */
int tg_path_list_walk(tg_path_list *l, const char *dir, int (*keep)(const char *name));

/* Whether path is a regular file, or a directory (following links). */
int tg_is_file(const char *path);
int tg_is_directory(const char *path);

/* Sorts by byte order (strcmp): the order every reader presents. */
void tg_path_list_sort(tg_path_list *l);

void tg_path_list_clear(tg_path_list *l);

#endif

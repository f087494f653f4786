/* bench_loader's images (see bench_data.h): the on-the-fly split, its
 * exports, and the temporary folder that holds them. */
#include "bench_data.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/datasets.h"
#include "data/shapescenes.h"
#include "tensor/error.h"

static tg_shapescenes_config split(int count, int size)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_PRETRAIN);
    cfg.count = count;
    cfg.size = size;
    return cfg;
}

/* root/name, or -1 if it does not fit. */
static int join(char *out, const char *root, const char *name)
{
    if (snprintf(out, PATH_MAX, "%s/%s", root, name) < PATH_MAX) return 0;
    return TG_FAIL("bench data: path too long under %s", root);
}

/* The export of cfg under root/name (written unless its list exists),
 * opened as an image folder. */
static tg_dataset *open_export(const char *root, const char *name, const tg_shapescenes_config *cfg, int use_jpeg)
{
    char dir[PATH_MAX], list[PATH_MAX];
    if (join(dir, root, name) || join(list, dir, "ImageSets/Segmentation/pretrain.txt")) return NULL;
    if (access(list, F_OK) != 0 && tg_shapescenes_export(cfg, dir, use_jpeg) != 0) return NULL;
    return tg_image_folder_open(dir);
}

/* dir (made if missing), or a new temporary directory, into d->root. */
static int make_root(bench_data *d, const char *dir)
{
    if (!dir) {
        snprintf(d->root, sizeof d->root, "%s/bench_loader.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(d->root)) return TG_FAIL("bench data: mkdtemp %s: %s", d->root, strerror(errno));
        d->temporary = true;
        return 0;
    }
    if (snprintf(d->root, sizeof d->root, "%s", dir) >= (int)sizeof d->root)
        return TG_FAIL("bench data: path too long: %s", dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return TG_FAIL("bench data: mkdir %s: %s", dir, strerror(errno));
    return 0;
}

int bench_data_open(bench_data *d, const char *dir, int count, bool files)
{
    *d = (bench_data){0};
    tg_shapescenes_config fly = split(count, 64), jpeg = split(BENCH_JPEG_IMAGES, BENCH_JPEG_SIDE);
    if (!(d->fly = tg_shapescenes_open(&fly))) return -1;
    if (!files) return 0;
    if (make_root(d, dir)) return -1;
    if (!(d->png = open_export(d->root, "png64", &fly, 0))) return -1;
    if (!(d->jpeg = open_export(d->root, "jpeg320", &jpeg, 1))) return -1;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) ? TG_FAIL("bench data: remove %s: %s", path, strerror(errno)) : 0;
}

int bench_data_close(bench_data *d)
{
    tg_dataset_free(d->fly);
    tg_dataset_free(d->png);
    tg_dataset_free(d->jpeg);
    int rc = d->temporary ? nftw(d->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) : 0;
    *d = (bench_data){0};
    return rc ? -1 : 0;
}

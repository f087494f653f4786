/* ShapeScenes written to disk in PASCAL VOC layout (see shapescenes.h), so
 * the VOC reader serves it as it serves real VOC. Images come from the
 * dataset's get(), so the pretrain split exports no masks by construction;
 * the id list is written last, so a list on disk means a complete export. */
#include "data/shapescenes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tensor/internal/check.h"
#include "tensor/internal/atomic_file.h"
#include "tensor/error.h"

#define WHO "shapescenes_export"
#define JPEG_QUALITY 95

static int make_dir(const char *root, const char *sub)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s%s", root, sub) >= (int)sizeof path)
        return TG_FAIL(WHO ": path %s%s is too long", root, sub);
    if (mkdir(path, 0777) < 0 && errno != EEXIST)
        return TG_FAIL(WHO ": cannot make directory %s: %s", path, strerror(errno));
    return 0;
}

static int make_dirs(const char *root, int with_masks)
{
    const char *subs[] = {"", "/JPEGImages", "/ImageSets", "/ImageSets/Segmentation", "/SegmentationClass"};
    for (int i = 0; i < 4 + with_masks; i++)
        if (make_dir(root, subs[i]) < 0) return -1;
    return 0;
}

static int write_sample(const tg_sample *s, const char *root, const char *id, int use_jpeg)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/JPEGImages/%s.%s", root, id, use_jpeg ? "jpg" : "png") >= (int)sizeof path)
        return TG_FAIL(WHO ": path for %s under %s is too long", id, root);
    if ((use_jpeg ? tg_image_write_jpeg(path, &s->image, JPEG_QUALITY) : tg_image_write_png(path, &s->image)) < 0)
        return -1;
    if (!s->mask.data) return 0;
    if (snprintf(path, sizeof path, "%s/SegmentationClass/%s.png", root, id) >= (int)sizeof path)
        return TG_FAIL(WHO ": path for %s under %s is too long", id, root);
    return tg_image_write_png_indexed(path, &s->mask, tg_image_voc_palette(), 256);
}

static void sample_id(const tg_shapescenes_config *cfg, int64_t index, char *buf, size_t size)
{
    snprintf(buf, size, "%s_%06lld", tg_shapescenes_split_name(cfg->split), (long long)index);
}

static int write_list(FILE *f, const char *tmp_path, void *ctx)
{
    const tg_shapescenes_config *cfg = ctx;
    char id[64];
    for (int64_t i = 0; i < cfg->count; i++) {
        sample_id(cfg, i, id, sizeof id);
        if (fprintf(f, "%s\n", id) < 0) return TG_FAIL(WHO ": cannot write %s: %s", tmp_path, strerror(errno));
    }
    return 0;
}

static int export_samples(const tg_dataset *ds, const tg_shapescenes_config *cfg, const char *root, int use_jpeg)
{
    char id[64];
    for (int64_t i = 0; i < cfg->count; i++) {
        tg_sample s = {0};
        sample_id(cfg, i, id, sizeof id);
        int rc = ds->get(ds, i, &s) < 0 ? -1 : write_sample(&s, root, id, use_jpeg);
        tg_sample_free(&s);
        if (rc < 0) return -1;
    }
    return 0;
}

int tg_shapescenes_export(const tg_shapescenes_config *cfg, const char *root, int use_jpeg)
{
    if (!root) return TG_FAIL(WHO ": no root directory");
    tg_dataset *ds = tg_shapescenes_open(cfg);
    if (TG_NEED("shapescenes_export", ds)) return -1;
    char list[4096];
    int rc = -1;
    if (snprintf(list, sizeof list, "%s/ImageSets/Segmentation/%s.txt", root, tg_shapescenes_split_name(cfg->split)) >=
        (int)sizeof list)
        TG_FAIL(WHO ": root %s is too long", root);
    else if (make_dirs(root, ds->has_masks) == 0 && export_samples(ds, cfg, root, use_jpeg) == 0)
        rc = tg_write_file_atomic(list, WHO, write_list, (void *)cfg);
    tg_dataset_free(ds);
    return rc;
}

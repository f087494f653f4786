/* Datasets of image (and mask) files (see internal/file_dataset.h): each get()
 * reads and decodes its files and maps the mask's values to class ids.
 * Nothing changes while a loader reads it (decode options are set before),
 * so get() is safe on any thread. */
#include "data/internal/file_dataset.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/datasets.h"
#include "data/internal/codec.h"
#include "tensor/error.h"
#include "tensor/internal/check.h"

typedef struct {
    tg_dataset base; /* first: what users see */
    tg_path_list images, masks;
    tg_label_map map;
    tg_image_decode_opts decode;
} file_dataset;

/* Checks and maps every value of mask (read from path) in place. */
static int map_labels(const tg_label_map *map, tg_image *mask, const char *path)
{
    for (int y = 0; y < mask->height; y++)
        for (int x = 0; x < mask->width; x++) {
            uint8_t *v = &mask->data[(size_t)y * (size_t)mask->width + (size_t)x];
            if (!map->known[*v])
                return TG_FAIL("%s: value %d at (x %d, y %d) is not %s", path, *v, x, y, map->expected);
            *v = map->class_of[*v];
        }
    return 0;
}

static int read_mask(const file_dataset *fd, int64_t index, const tg_image *image, tg_image *mask)
{
    const char *path = fd->masks.items[index];
    if (tg_image_read_with(path, TG_IMAGE_LABEL, &fd->decode, mask)) return -1;
    if (mask->height != image->height || mask->width != image->width)
        return TG_FAIL("%s: mask is %dx%d (width x height) but its image %s is %dx%d", path, mask->width,
                       mask->height, fd->images.items[index], image->width, image->height);
    return map_labels(&fd->map, mask, path);
}

static int get_sample(const tg_dataset *ds, int64_t index, tg_sample *out)
{
    const file_dataset *fd = (const file_dataset *)ds;
    memset(out, 0, sizeof *out);
    if (index < 0 || index >= ds->size)
        return TG_FAIL("dataset: index %" PRId64 " is out of range (%" PRId64 " samples)", index, ds->size);
    int rc = tg_image_read_with(fd->images.items[index], TG_IMAGE_RGB, &fd->decode, &out->image);
    if (rc == 0 && ds->has_masks) rc = read_mask(fd, index, &out->image, &out->mask);
    if (rc) tg_sample_free(out);
    return rc;
}

static void name_sample(const tg_dataset *ds, int64_t index, char *buf, int size)
{
    const file_dataset *fd = (const file_dataset *)ds;
    if (size <= 0) return;
    if (index < 0 || index >= ds->size) snprintf(buf, (size_t)size, "(no sample %" PRId64 ")", index);
    else snprintf(buf, (size_t)size, "%s", fd->images.items[index]);
}

static void destroy(tg_dataset *ds)
{
    file_dataset *fd = (file_dataset *)ds;
    tg_path_list_clear(&fd->images);
    tg_path_list_clear(&fd->masks);
    free(fd);
}

int tg_dataset_set_decode_opts(tg_dataset *ds, const tg_image_decode_opts *options)
{
    if (TG_NEED("dataset_set_decode_opts", ds)) return -1;
    if (ds->get != get_sample)
        return TG_FAIL("dataset_set_decode_opts: this dataset decodes no image files (ShapeScenes?)");
    return tg_image_resolve_decode_opts("dataset_set_decode_opts", options, &((file_dataset *)ds)->decode);
}

tg_dataset *tg_file_dataset_new(tg_path_list *images, tg_path_list *masks, int num_classes,
                                const tg_label_map *map)
{
    file_dataset *fd = calloc(1, sizeof *fd);
    if (!fd) {
        TG_FAIL("dataset: out of memory");
        tg_path_list_clear(images);
        if (masks) tg_path_list_clear(masks);
        return NULL;
    }
    fd->images = *images;
    memset(images, 0, sizeof *images);
    if (masks) {
        fd->masks = *masks;
        memset(masks, 0, sizeof *masks);
        fd->map = *map;
    }
    fd->base = (tg_dataset){.size = fd->images.n, .num_classes = num_classes, .has_masks = masks != NULL,
                            .get = get_sample, .name = name_sample, .destroy = destroy};
    return &fd->base;
}

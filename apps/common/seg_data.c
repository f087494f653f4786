/* The segmentation programs' datasets and recipes (see seg_data.h). */
#include "seg_data.h"

#include <stdio.h>
#include <string.h>

#include "out_files.h"

static const char *const shapescenes_names[TG_SHAPESCENES_CLASSES] = {
    "background", "ellipse", "rectangle", "triangle", "star", "cross", "blob", "ring", "hexagon"};

static const char *const voc_names[TG_VOC_CLASSES] = {
    "background", "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",
    "car",        "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",
    "motorbike",  "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};

static const char *const cityscapes_names[TG_CITYSCAPES_CLASSES] = {
    "road",  "sidewalk", "building", "wall", "fence", "pole",  "traffic light", "traffic sign", "vegetation", "terrain",
    "sky",   "person",   "rider",    "car",  "truck", "bus",   "train",         "motorcycle",   "bicycle"};

seg_data_opts seg_data_defaults(void)
{
    return (seg_data_opts){.train_images = 500, .test_images = 1000, .size = 64};
}

int seg_data_flags(seg_data_opts *o, tg_train_flag *table, bool with_train)
{
    const tg_train_flag all[SEG_DATA_FLAGS] = {
        {"voc", TG_FLAG_STRING, &o->voc, 0, 0, "PASCAL VOC root (instead of ShapeScenes)"},
        {"cityscapes", TG_FLAG_STRING, &o->cityscapes, 0, 0, "Cityscapes root (instead of ShapeScenes)"},
        {"test-split", TG_FLAG_STRING, &o->test_split, 0, 0, "split evaluated (test; VOC and Cityscapes: val)"},
        {"test-images", TG_FLAG_LONG, &o->test_images, 1, 1e7, "ShapeScenes test images"},
        {"size", TG_FLAG_LONG, &o->size, 8, 1024, "ShapeScenes image side in pixels"},
        {"data-seed", TG_FLAG_LONG, &o->data_seed, 0, 2147483647.0, "ShapeScenes content seed"},
        {"crop", TG_FLAG_LONG, &o->crop, 0, 4096, "training crop; 0: ShapeScenes size, VOC 512, Cityscapes 769"},
        {"tolerate-corrupt-images", TG_FLAG_BOOL, &o->tolerate_corrupt, 0, 0,
         "VOC, Cityscapes: decode what can be decoded of a truncated or corrupt image (default: refuse it)"},
        {"train-split", TG_FLAG_STRING, &o->train_split, 0, 0, "split trained on (train)"},
        {"train-images", TG_FLAG_LONG, &o->train_images, 1, 1e7, "ShapeScenes training images"},
    };
    int n = with_train ? SEG_DATA_FLAGS : SEG_DATA_FLAGS - 2;
    memcpy(table, all, (size_t)n * sizeof *table);
    return n;
}

/* The ShapeScenes split named name ("train", "val", "test"), or -1. */
static int scenes_split(const char *name)
{
    for (int s = TG_SHAPESCENES_TRAIN; s <= TG_SHAPESCENES_TEST; s++)
        if (strcmp(name, tg_shapescenes_split_name((tg_shapescenes_split)s)) == 0) return s;
    fprintf(stderr, "ShapeScenes has no labelled split '%s' (train, val, test)\n", name);
    return -1;
}

static tg_dataset *open_scenes(const seg_data_opts *o, const char *split, long count)
{
    int s = scenes_split(split);
    if (s < 0) return NULL;
    tg_shapescenes_config cfg = tg_shapescenes_defaults((tg_shapescenes_split)s);
    cfg.seed = (uint64_t)o->data_seed;
    cfg.size = (int)o->size;
    cfg.count = count;
    return app_open_scenes(&cfg);
}

static tg_dataset *open_split(const seg_data_opts *o, const char *split, long count)
{
    if (!o->voc && !o->cityscapes) return open_scenes(o, split, count);
    tg_dataset *ds = o->voc ? tg_voc_open(o->voc, split, TG_VOC_CLASSES) : tg_cityscapes_open(o->cityscapes, split);
    return app_decode_tolerance(ds, o->tolerate_corrupt);
}

/* The dataset's name, classes and recipe. */
static void describe(seg_data *d, const seg_data_opts *o)
{
    int crop = (int)o->crop;
    if (o->voc) {
        *d = (seg_data){.name = "voc", .num_classes = TG_VOC_CLASSES, .class_names = voc_names, .eval_batch = 1};
        d->aug = tg_aug_seg_default(crop ? crop : 512);
    } else if (o->cityscapes) {
        *d = (seg_data){.name = "cityscapes", .num_classes = TG_CITYSCAPES_CLASSES,
                        .class_names = cityscapes_names, .align_corners = true, .eval_batch = 1};
        d->aug = tg_aug_seg_default(crop ? crop : 769);
        d->aug.scale_long = 2049;
        d->aug.scale_short = 1025;
    } else {
        *d = (seg_data){.name = "shapescenes", .num_classes = TG_SHAPESCENES_CLASSES,
                        .class_names = shapescenes_names, .eval_batch = 32};
        d->aug = tg_aug_seg_default(crop ? crop : (int)o->size);
    }
}

int seg_data_open(seg_data *d, const seg_data_opts *o, bool with_train)
{
    if (o->voc && o->cityscapes) {
        fprintf(stderr, "--voc and --cityscapes: choose one\n");
        return -1;
    }
    bool scenes = !o->voc && !o->cityscapes;
    if (scenes && o->tolerate_corrupt) {
        fprintf(stderr, "--tolerate-corrupt-images: ShapeScenes decodes no files (give --voc or --cityscapes)\n");
        return -1;
    }
    describe(d, o);
    d->test_split = o->test_split ? o->test_split : scenes ? "test" : "val";
    const char *train_split = o->train_split ? o->train_split : "train";
    d->test = open_split(o, d->test_split, o->test_images);
    if (d->test && with_train) d->train = open_split(o, train_split, o->train_images);
    if (d->test && (!with_train || d->train)) return 0;
    fprintf(stderr, "opening the %s data: %s\n", d->name, tg_last_error());
    seg_data_close(d);
    return -1;
}

void seg_data_close(seg_data *d)
{
    tg_dataset_free(d->train);
    tg_dataset_free(d->test);
    d->train = d->test = NULL;
}

json_t *seg_data_config(const seg_data_opts *o, const seg_data *d, bool with_train, json_t *config)
{
    config = out_json_set(config, "dataset", json_string(d->name));
    if (o->voc || o->cityscapes) {
        config = out_json_set(config, "root", json_string(o->voc ? o->voc : o->cityscapes));
        if (o->tolerate_corrupt) config = out_json_set(config, "tolerate_corrupt_images", json_true());
    } else {
        config = out_json_set(config, "size", json_integer(o->size));
        config = out_json_set(config, "data_seed", json_integer(o->data_seed));
        if (with_train) config = out_json_set(config, "train_images", json_integer(o->train_images));
        config = out_json_set(config, "test_images", json_integer(o->test_images));
    }
    if (with_train) config = out_json_set(config, "train_split", json_string(o->train_split ? o->train_split : "train"));
    config = out_json_set(config, "test_split", json_string(d->test_split));
    return out_json_set(config, "crop", json_integer(d->aug.crop_h));
}

/* shapescenes_export: writes ShapeScenes splits to disk in PASCAL VOC
 * layout (data/shapescenes.h: tg_shapescenes_export), for other tools to
 * read: the VOC reader here, tools/torch_seg_reference.py, or a person.
 *
 *   shapescenes_export --out DIR [--split train|val|test|pretrain] [--count N]
 *                      [--seed S] [--size PX] [--single] [--jpeg]
 *
 * Several splits go into the same DIR one call at a time; each call adds
 * its ImageSets/Segmentation/<split>.txt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "tensorgrad.h"

static int split_of(const char *name, tg_shapescenes_split *split)
{
    for (int s = TG_SHAPESCENES_PRETRAIN; s <= TG_SHAPESCENES_TEST; s++)
        if (strcmp(name, tg_shapescenes_split_name((tg_shapescenes_split)s)) == 0) {
            *split = (tg_shapescenes_split)s;
            return 0;
        }
    fprintf(stderr, "shapescenes_export: --split '%s' is not pretrain, train, val or test\n", name);
    return -1;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *split_name = "train";
    long count = 0, seed = 0, size = 64;
    bool single = false, jpeg = false;
    const tg_train_flag flags[] = {
        {"out", TG_FLAG_STRING, &out, 0, 0, "root of the VOC layout (its parent must exist)"},
        {"split", TG_FLAG_STRING, &split_name, 0, 0, "pretrain, train, val or test"},
        {"count", TG_FLAG_LONG, &count, 0, 1e7, "images (0: the split's default size)"},
        {"seed", TG_FLAG_LONG, &seed, 0, 2147483647.0, "ShapeScenes seed"},
        {"size", TG_FLAG_LONG, &size, 8, 1024, "image side in pixels"},
        {"single", TG_FLAG_BOOL, &single, 0, 0, "the single-object control variant"},
        {"jpeg", TG_FLAG_BOOL, &jpeg, 0, 0, "images as JPEG (quality 95) instead of PNG"},
    };
    int parsed = app_parse_flags(argc, argv, flags, TG_FLAG_COUNT(flags), "shapescenes_export: ShapeScenes in VOC layout");
    if (parsed) return parsed > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    tg_shapescenes_split split;
    if (!out) fprintf(stderr, "shapescenes_export: --out is required\n");
    if (!out || split_of(split_name, &split)) return EXIT_FAILURE;
    tg_shapescenes_config cfg = tg_shapescenes_defaults(split);
    cfg.seed = (uint64_t)seed;
    cfg.size = (int)size;
    cfg.single = single;
    if (count) cfg.count = count;
    if (tg_shapescenes_export(&cfg, out, jpeg)) {
        fprintf(stderr, "shapescenes_export: %s\n", tg_last_error());
        return EXIT_FAILURE;
    }
    printf("wrote %lld %s images under %s\n", (long long)cfg.count, split_name, out);
    return EXIT_SUCCESS;
}

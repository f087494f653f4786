/* Folders of unlabeled images, e.g. COCO train2017 for pretraining (see
 * datasets.h). */
#include <string.h>
#include <strings.h>

#include "data/datasets.h"
#include "data/internal/file_dataset.h"
#include "tensor/error.h"

static int is_image(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name &&
           (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0);
}

tg_dataset *tg_image_folder_open(const char *root)
{
    tg_path_list images = {0};
    int rc = root ? tg_path_list_walk(&images, root, is_image) : TG_FAIL("image_folder: NULL root");
    if (rc == 0 && images.n == 0) rc = TG_FAIL("image_folder: no .jpg, .jpeg or .png files under %s", root);
    if (rc) {
        tg_path_list_clear(&images);
        return NULL;
    }
    tg_path_list_sort(&images);
    return tg_file_dataset_new(&images, NULL, 0, NULL);
}

/* What every dataset shares (see dataset.h). */
#include "data/dataset.h"

#include <stddef.h>

void tg_sample_free(tg_sample *s)
{
    if (!s) return;
    tg_image_free(&s->image);
    tg_image_free(&s->mask);
}

void tg_dataset_free(tg_dataset *ds)
{
    if (ds) ds->destroy(ds);
}

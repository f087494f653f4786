/* Images in memory: allocation (codecs live in png.c and jpeg.c). */
#include "data/image.h"

#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

int tg_image_alloc(tg_image *img, int height, int width, int channels)
{
    memset(img, 0, sizeof *img);
    if (height <= 0 || width <= 0 || (channels != 1 && channels != 3))
        return TG_FAIL("image: cannot allocate %dx%d with %d channels", height, width, channels);
    img->data = calloc((size_t)height * (size_t)width * (size_t)channels, 1);
    if (!img->data) return TG_FAIL("image: out of memory for %dx%dx%d", height, width, channels);
    img->height = height, img->width = width, img->channels = channels;
    return 0;
}

void tg_image_free(tg_image *img)
{
    free(img->data);
    memset(img, 0, sizeof *img);
}

/* libFuzzer harness: the PNG and JPEG decoders (tg_image_decode) on any
 * bytes, as RGB and as a label image with the default limits, and with
 * corrupt data tolerated under a 1 Mpixel limit. A decoded image must keep
 * to its limit; a refused one must leave the output empty. */
#include <stdlib.h>

#include "data/image.h"

static void decode(const uint8_t *data, size_t size, tg_image_mode mode, const tg_image_decode_opts *options)
{
    int64_t max_pixels = options && options->max_pixels ? options->max_pixels : TG_IMAGE_DEFAULT_MAX_PIXELS;
    tg_image img;
    if (tg_image_decode_with(data, size, "fuzz", mode, options, &img) != 0) {
        if (img.data) abort();
        return;
    }
    int want_channels = mode == TG_IMAGE_RGB ? 3 : 1;
    if (!img.data || img.channels != want_channels || (int64_t)img.height * img.width > max_pixels) abort();
    tg_image_free(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode(data, size, TG_IMAGE_RGB, NULL);
    decode(data, size, TG_IMAGE_LABEL, NULL);
    tg_image_decode_opts tolerant = {.max_pixels = 1 << 20, .tolerate_corrupt = true};
    decode(data, size, TG_IMAGE_RGB, &tolerant);
    return 0;
}

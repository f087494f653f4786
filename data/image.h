/* Images in memory (uint8, height x width x channels, row-major) and the
 * codecs that read and write them: JPEG (libjpeg-turbo) and PNG (libpng).
 *
 * Decoders treat their input as hostile: the image size is checked against
 * a limit from the file's header before any pixel memory is allocated, the
 * codecs' own buffers are bounded, and corrupt data is an error unless the
 * caller opts into tolerance (tg_image_decode_opts).
 *
 * Every function returns 0 or -1 with tg_last_error() naming the file and
 * what is wrong with it. On failure the output image is left empty
 * (data NULL), and a writer leaves no file behind (it writes a temporary
 * file and renames it). */
#ifndef TG_DATA_IMAGE_H
#define TG_DATA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/export.h"

typedef struct tg_image {
    int height, width, channels; /* channels: 1 (gray or label) or 3 (RGB) */
    uint8_t *data;               /* height * width * channels bytes, malloc'd */
} tg_image;

/* How a decoder maps what the file holds to channels. */
typedef enum tg_image_mode {
    TG_IMAGE_RGB,   /* 3 channels: gray replicated, palette expanded, alpha dropped, 16-bit scaled */
    TG_IMAGE_LABEL, /* 1 channel: palette indices or 8-bit gray values as stored (segmentation masks) */
} tg_image_mode;

/* A zeroed image of the given size (data calloc'd). */
TG_API int tg_image_alloc(tg_image *img, int height, int width, int channels);
/* Frees img->data and zeroes img; safe on an empty image and on NULL. */
TG_API void tg_image_free(tg_image *img);

/* The largest image a decoder makes unless told otherwise: 64 Mpixel
 * (8192 x 8192), so at most 192 MiB of RGB pixels. */
#define TG_IMAGE_DEFAULT_MAX_PIXELS (INT64_C(64) << 20)

/* How far a decoder trusts its input. A zero-initialised struct (or a NULL
 * pointer where one is taken) means the defaults. */
typedef struct tg_image_decode_opts {
    /* Largest height x width decoded, checked against the file's header
     * before the image is allocated; 0: TG_IMAGE_DEFAULT_MAX_PIXELS. */
    int64_t max_pixels;
    /* Largest decoded image in bytes (height x width x channels);
     * 0: 3 x max_pixels, the RGB equivalent. libjpeg's working memory is
     * capped in proportion. */
    int64_t max_bytes;
    /* false (the default): corrupt data is an error: a truncated file, a
     * JPEG that libjpeg warns about (corrupt entropy data, extraneous bytes,
     * premature end of data), a PNG chunk with a bad CRC or a benign libpng
     * error. true: decode what can be decoded, as PIL does (a truncated
     * JPEG is completed with gray rows; a bad PNG CRC is ignored). */
    bool tolerate_corrupt;
} tg_image_decode_opts;

/* Decodes a JPEG or PNG file (format from its first bytes, not its name),
 * with the default options. */
TG_API int tg_image_read(const char *path, tg_image_mode mode, tg_image *out);
/* The same from memory; name is used in error messages. */
TG_API int tg_image_decode(const uint8_t *bytes, size_t size, const char *name, tg_image_mode mode,
                           tg_image *out);
/* tg_image_read with the given options (NULL: the defaults); a negative
 * limit is refused. */
TG_API int tg_image_read_with(const char *path, tg_image_mode mode, const tg_image_decode_opts *options,
                              tg_image *out);
/* tg_image_decode with the given options (NULL: the defaults). */
TG_API int tg_image_decode_with(const uint8_t *bytes, size_t size, const char *name, tg_image_mode mode,
                                const tg_image_decode_opts *options, tg_image *out);

/* Writes an 8-bit gray (1 channel) or RGB (3 channels) PNG. */
TG_API int tg_image_write_png(const char *path, const tg_image *img);
/* Writes a 1-channel label image as an indexed PNG with palette (n_colors
 * RGB triples, n_colors <= 256); every value must be < n_colors. */
TG_API int tg_image_write_png_indexed(const char *path, const tg_image *img, const uint8_t *palette,
                                      int n_colors);
/* Writes an RGB or gray JPEG at quality 1-100. */
TG_API int tg_image_write_jpeg(const char *path, const tg_image *img, int quality);

/* The VOC colour map (256 entries: 0 black, 255 = (224, 224, 192)). */
TG_API const uint8_t *tg_image_voc_palette(void);

#endif

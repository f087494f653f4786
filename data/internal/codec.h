/* What the codec files (png.c, jpeg.c) and image.c share. Internal header
 * (not installed). */
#ifndef TG_DATA_CODEC_H
#define TG_DATA_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "data/image.h"

/* The longest side a decoder accepts, whatever the options say. */
#define TG_IMAGE_MAX_SIDE 65535u

/* Decoders of one format, from memory (tg_image_decode_with picks one);
 * options have their defaults filled in (no zeros). */
int tg_png_decode(const uint8_t *bytes, size_t size, const char *name, tg_image_mode mode,
                  const tg_image_decode_opts *options, tg_image *out);
int tg_jpeg_decode(const uint8_t *bytes, size_t size, const char *name, tg_image_mode mode,
                   const tg_image_decode_opts *options, tg_image *out);

/* given (NULL: all defaults) with its zeros replaced by the defaults, in
 * *used; -1 for a negative limit (the message starts with name). */
int tg_image_resolve_decode_opts(const char *name, const tg_image_decode_opts *given, tg_image_decode_opts *used);

/* Refuses (-1) an image a decoder must not allocate: an empty one, a side
 * over TG_IMAGE_MAX_SIDE, or more pixels or bytes than options allow, which
 * a corrupt header can claim. */
int tg_image_check_size(const char *name, uint32_t width, uint32_t height, int channels,
                        const tg_image_decode_opts *options);

/* Refuses (-1, messages starting with who) a NULL path, an empty image or
 * a channel count other than 1 (or 3 when rgb_ok). */
int tg_image_check_writable(const char *who, const char *path, const tg_image *img, int rgb_ok);

#endif

/* Images in memory: allocation, reading a file and picking its decoder by
 * its first bytes, the decode options' defaults, the size and writer checks
 * the codecs share, and the VOC palette. The codecs themselves live in png.c and jpeg.c. */
#include "data/image.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/internal/codec.h"
#include "tensor/error.h"
#include "tensor/internal/check.h"

/* Files larger than this are refused before they are read. */
#define MAX_FILE_BYTES (1ll << 30)

int tg_image_alloc(tg_image *img, int height, int width, int channels)
{
    if (TG_NEED("image_alloc", img)) return -1;
    memset(img, 0, sizeof *img);
    if (height <= 0 || width <= 0 || (channels != 1 && channels != 3))
        return TG_FAIL("image: cannot allocate %dx%d with %d channels", height, width, channels);
    const tg_image_decode_opts sides_only = {.max_pixels = INT64_MAX, .max_bytes = INT64_MAX};
    if (tg_image_check_size("image_alloc", (uint32_t)width, (uint32_t)height, channels, &sides_only)) return -1;
    img->data = calloc((size_t)height * (size_t)width * (size_t)channels, 1);
    if (!img->data) return TG_FAIL("image: out of memory for %dx%dx%d", height, width, channels);
    img->height = height, img->width = width, img->channels = channels;
    return 0;
}

void tg_image_free(tg_image *img)
{
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

int tg_image_check_size(const char *name, uint32_t width, uint32_t height, int channels,
                        const tg_image_decode_opts *options)
{
    uint64_t pixels = (uint64_t)width * height, bytes = pixels * (uint64_t)channels;
    if (width == 0 || height == 0) return TG_FAIL("%s: the header claims an empty image (%ux%u)", name, width, height);
    if (width > TG_IMAGE_MAX_SIDE || height > TG_IMAGE_MAX_SIDE)
        return TG_FAIL("%s: image size %ux%u has a side over %u pixels", name, width, height, TG_IMAGE_MAX_SIDE);
    if (pixels > (uint64_t)options->max_pixels)
        return TG_FAIL("%s: image size %ux%u (%llu pixels) is over the limit of %lld pixels (options.max_pixels)",
                       name, width, height, (unsigned long long)pixels, (long long)options->max_pixels);
    if (bytes > (uint64_t)options->max_bytes)
        return TG_FAIL("%s: image size %ux%ux%d (%llu bytes) is over the limit of %lld bytes (options.max_bytes)",
                       name, width, height, channels, (unsigned long long)bytes, (long long)options->max_bytes);
    return 0;
}

int tg_image_check_writable(const char *who, const char *path, const tg_image *img, int rgb_ok)
{
    if (!path || !img) return TG_FAIL("%s: NULL path or image", who);
    if (!img->data || img->height <= 0 || img->width <= 0)
        return TG_FAIL("%s: %s: the image is empty (%dx%d)", who, path, img->height, img->width);
    if (img->channels != 1 && !(rgb_ok && img->channels == 3))
        return TG_FAIL("%s: %s: cannot write an image of %d channels (%s)", who, path, img->channels,
                       rgb_ok ? "1 or 3" : "a label image has 1");
    return 0;
}

int tg_image_resolve_decode_opts(const char *name, const tg_image_decode_opts *given, tg_image_decode_opts *used)
{
    *used = given ? *given : (tg_image_decode_opts){0};
    if (used->max_pixels < 0 || used->max_bytes < 0)
        return TG_FAIL("%s: negative decode limit (max_pixels %lld, max_bytes %lld)", name,
                       (long long)used->max_pixels, (long long)used->max_bytes);
    if (!used->max_pixels) used->max_pixels = TG_IMAGE_DEFAULT_MAX_PIXELS;
    if (!used->max_bytes) used->max_bytes = used->max_pixels > INT64_MAX / 3 ? INT64_MAX : 3 * used->max_pixels;
    return 0;
}

int tg_image_decode_with(const uint8_t *bytes, size_t size, const char *name, tg_image_mode mode,
                         const tg_image_decode_opts *options, tg_image *out)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t jpeg_magic[3] = {0xff, 0xd8, 0xff};
    if (!out) return TG_FAIL("%s: NULL output image", name ? name : "decode");
    memset(out, 0, sizeof *out);
    if (!name) name = "(memory)";
    tg_image_decode_opts used;
    if (tg_image_resolve_decode_opts(name, options, &used)) return -1;
    if (!bytes || size == 0) return TG_FAIL("%s: empty file", name);
    if (size >= sizeof png_magic && memcmp(bytes, png_magic, sizeof png_magic) == 0)
        return tg_png_decode(bytes, size, name, mode, &used, out);
    if (size >= sizeof jpeg_magic && memcmp(bytes, jpeg_magic, sizeof jpeg_magic) == 0)
        return tg_jpeg_decode(bytes, size, name, mode, &used, out);
    return TG_FAIL("%s: not a PNG or JPEG file", name);
}

int tg_image_decode(const uint8_t *bytes, size_t size, const char *name, tg_image_mode mode, tg_image *out)
{
    return tg_image_decode_with(bytes, size, name, mode, NULL, out);
}

/* The whole of the open file fd (path) in a new buffer *bytes. */
static int read_all(int fd, const char *path, uint8_t **bytes, size_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return TG_FAIL("cannot stat %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return TG_FAIL("%s: not a regular file", path);
    if (st.st_size > MAX_FILE_BYTES) return TG_FAIL("%s: file too large (%lld bytes)", path, (long long)st.st_size);
    *size = (size_t)st.st_size;
    *bytes = malloc(*size ? *size : 1);
    if (!*bytes) return TG_FAIL("%s: out of memory for %zu bytes", path, *size);
    for (size_t got = 0; got < *size;) {
        ssize_t n = read(fd, *bytes + got, *size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            TG_FAIL("cannot read %s: %s", path, n ? strerror(errno) : "the file shrank while being read");
            free(*bytes);
            *bytes = NULL;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

int tg_image_read_with(const char *path, tg_image_mode mode, const tg_image_decode_opts *options,
                       tg_image *out)
{
    if (!out) return TG_FAIL("read_image: NULL output image");
    memset(out, 0, sizeof *out);
    if (!path) return TG_FAIL("read_image: NULL path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return TG_FAIL("cannot open %s: %s", path, strerror(errno));
    size_t size = 0;
    uint8_t *bytes = NULL;
    int rc = read_all(fd, path, &bytes, &size);
    close(fd);
    if (rc) return -1;
    rc = tg_image_decode_with(bytes, size, path, mode, options, out);
    free(bytes);
    return rc;
}

int tg_image_read(const char *path, tg_image_mode mode, tg_image *out)
{
    return tg_image_read_with(path, mode, NULL, out);
}

/* ---- the VOC palette ---- */

static uint8_t voc_palette[256 * 3];
static pthread_once_t voc_palette_once = PTHREAD_ONCE_INIT;

/* Colour i takes bits 0, 1, 2 of i for the top bits of red, green, blue,
 * bits 3, 4, 5 for the next ones, and so on. */
static void make_voc_palette(void)
{
    for (int i = 0; i < 256; i++) {
        int rgb[3] = {0, 0, 0};
        for (int bit = 7, c = i; c; bit--, c >>= 3)
            for (int k = 0; k < 3; k++) rgb[k] |= ((c >> k) & 1) << bit;
        for (int k = 0; k < 3; k++) voc_palette[3 * i + k] = (uint8_t)rgb[k];
    }
}

const uint8_t *tg_image_voc_palette(void)
{
    pthread_once(&voc_palette_once, make_voc_palette);
    return voc_palette;
}

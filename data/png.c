/* PNG with libpng (see image.h): decoding from memory to RGB or label
 * images, and the atomic gray/RGB and indexed-palette writers.
 *
 * libpng reports an error by calling a handler that must not return. Ours
 * keeps the message and longjmps back to the setjmp of the run_* function
 * that started the work; its caller frees what was made and the failure is
 * recorded with the file's name. Nothing is printed: the first warning is
 * kept to explain an error that follows it. Everything that lives across
 * the setjmp sits in a struct reached through a pointer, never in locals of
 * the function that calls setjmp (those would be indeterminate after the
 * longjmp unless volatile, C11 7.13.2.1).
 *
 * Hostile files: the chunks we never use (text, colour profiles, metadata)
 * are skipped unread, any chunk over CHUNK_BYTES_MAX is an error (libpng
 * would otherwise allocate what a length field claims, up to 2 GiB), and a
 * bad CRC or a benign libpng error is an error unless the options tolerate
 * corrupt data. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "data/internal/codec.h"
#include "tensor/internal/atomic_file.h"
#include "tensor/error.h"

/* The largest chunk libpng may allocate, and how many ancillary chunks it
 * may keep. */
#define CHUNK_BYTES_MAX (8u << 20)
#define CHUNK_COUNT_MAX 64

/* Where a libpng error goes. */
typedef struct {
    jmp_buf jmp;
    char message[300];
    char warning[200]; /* the first warning, "" if none */
} png_failure;

static void on_error(png_structp png, png_const_charp message)
{
    png_failure *fail = png_get_error_ptr(png);
    snprintf(fail->message, sizeof fail->message, "%s%s%s", message, *fail->warning ? ", after: " : "",
             fail->warning);
    longjmp(fail->jmp, 1);
}

static void on_warning(png_structp png, png_const_charp message)
{
    png_failure *fail = png_get_error_ptr(png);
    if (!*fail->warning) snprintf(fail->warning, sizeof fail->warning, "%s", message);
}

/* ---- decoding ---- */

typedef struct {
    const uint8_t *bytes;
    size_t size, pos;
    int truncated; /* the decoder asked for bytes past the end */
    const char *name;
    tg_image_mode mode;
    const tg_image_decode_opts *options;
    tg_image *out;
    png_failure fail;
    png_structp png;
    png_infop info;
} png_reader;

static void read_bytes(png_structp png, png_bytep dst, size_t n)
{
    png_reader *r = png_get_io_ptr(png);
    if (n > r->size - r->pos) {
        r->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(dst, r->bytes + r->pos, n);
    r->pos += n;
}

/* Sets libpng's transformations for the mode; the channel count they give,
 * or -1 for a file the mode refuses. */
static int set_transforms(png_reader *r)
{
    int type = png_get_color_type(r->png, r->info), depth = png_get_bit_depth(r->png, r->info);
    if (r->mode == TG_IMAGE_RGB) {
        png_set_expand(r->png); /* palette to RGB, 1-4 bit gray to 8, tRNS to alpha */
        png_set_scale_16(r->png);
        png_set_strip_alpha(r->png);
        png_set_gray_to_rgb(r->png);
        return 3;
    }
    if (type == PNG_COLOR_TYPE_RGB || type == PNG_COLOR_TYPE_RGB_ALPHA)
        return TG_FAIL("%s: an RGB PNG cannot be read as a label image (it must be indexed or 8-bit gray)", r->name);
    if (depth == 16)
        return TG_FAIL("%s: a 16-bit PNG cannot be read as a label image (it must be indexed or 8-bit gray)", r->name);
    png_set_packing(r->png); /* 1-4 bit values, one per byte, unscaled */
    png_set_strip_alpha(r->png);
    return 1;
}

/* Chunks we never use, skipped unread (their CRC is still checked): text,
 * which can claim gigabytes, colour management (iCCP is compressed) and
 * metadata. Five bytes each, as png_set_keep_unknown_chunks wants them. */
static const png_byte unused_chunks[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0tIME\0pHYs\0oFFs\0"
                                        "pCAL\0sCAL\0hIST\0bKGD\0cHRM\0gAMA\0sRGB\0sBIT";

/* Bounds libpng's allocations and sets what corrupt data does. */
static void set_limits(png_reader *r)
{
    png_set_user_limits(r->png, TG_IMAGE_MAX_SIDE, TG_IMAGE_MAX_SIDE);
    png_set_chunk_malloc_max(r->png, CHUNK_BYTES_MAX);
    png_set_chunk_cache_max(r->png, CHUNK_COUNT_MAX);
    png_set_keep_unknown_chunks(r->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(r->png, PNG_HANDLE_CHUNK_NEVER, unused_chunks, (int)(sizeof unused_chunks / 5));
    int tolerate = r->options->tolerate_corrupt;
    png_set_benign_errors(r->png, tolerate);
    if (tolerate) png_set_crc_action(r->png, PNG_CRC_WARN_USE, PNG_CRC_WARN_DISCARD);
    else png_set_crc_action(r->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
}

static int read_pixels(png_reader *r)
{
    set_limits(r);
    png_set_read_fn(r->png, r, read_bytes);
    png_read_info(r->png, r->info);
    int channels = set_transforms(r);
    uint32_t width = png_get_image_width(r->png, r->info), height = png_get_image_height(r->png, r->info);
    if (channels < 0 || tg_image_check_size(r->name, width, height, channels, r->options)) return -1;
    int passes = png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);
    size_t stride = (size_t)width * (size_t)channels;
    if (png_get_rowbytes(r->png, r->info) != stride)
        return TG_FAIL("%s: unexpected PNG row size %zu for %u pixels of %d channels", r->name,
                       png_get_rowbytes(r->png, r->info), width, channels);
    if (tg_image_alloc(r->out, (int)height, (int)width, channels)) return -1;
    for (int pass = 0; pass < passes; pass++)
        for (uint32_t y = 0; y < height; y++) png_read_row(r->png, r->out->data + y * stride, NULL);
    png_read_end(r->png, NULL); /* checks the rest of the file, up to IEND */
    return 0;
}

static int run_decoder(png_reader *r)
{
    if (setjmp(r->fail.jmp))
        return TG_FAIL("%s: %s PNG (libpng: %s)", r->name, r->truncated ? "truncated" : "corrupt", r->fail.message);
    r->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r->fail, on_error, on_warning);
    r->info = r->png ? png_create_info_struct(r->png) : NULL;
    if (!r->info) return TG_FAIL("%s: out of memory for the PNG decoder", r->name);
    return read_pixels(r);
}

int tg_png_decode(const uint8_t *bytes, size_t size, const char *name, tg_image_mode mode,
                  const tg_image_decode_opts *options, tg_image *out)
{
    memset(out, 0, sizeof *out);
    png_reader r = {.bytes = bytes, .size = size, .name = name, .mode = mode, .options = options, .out = out};
    int rc = run_decoder(&r);
    png_destroy_read_struct(&r.png, &r.info, NULL);
    if (rc) tg_image_free(out);
    return rc;
}

/* ---- encoding ---- */

typedef struct {
    const char *who;
    const tg_image *img;
    const uint8_t *palette; /* n_colors RGB triples; NULL for gray or RGB */
    int n_colors;
    png_failure fail;
    png_structp png;
    png_infop info;
} png_writer;

static void write_rows(png_writer *w, FILE *f)
{
    const tg_image *img = w->img;
    int type = w->palette ? PNG_COLOR_TYPE_PALETTE : img->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY;
    png_init_io(w->png, f);
    png_set_IHDR(w->png, w->info, (uint32_t)img->width, (uint32_t)img->height, 8, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color colors[256];
    for (int i = 0; i < w->n_colors; i++)
        colors[i] = (png_color){w->palette[3 * i], w->palette[3 * i + 1], w->palette[3 * i + 2]};
    if (w->palette) png_set_PLTE(w->png, w->info, colors, w->n_colors);
    png_write_info(w->png, w->info);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    for (int y = 0; y < img->height; y++) png_write_row(w->png, img->data + (size_t)y * stride);
    png_write_end(w->png, NULL);
}

static int run_encoder(png_writer *w, FILE *f, const char *tmp)
{
    if (setjmp(w->fail.jmp)) return TG_FAIL("%s: cannot write %s (libpng: %s)", w->who, tmp, w->fail.message);
    w->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w->fail, on_error, on_warning);
    w->info = w->png ? png_create_info_struct(w->png) : NULL;
    if (!w->info) return TG_FAIL("%s: %s: out of memory for the PNG encoder", w->who, tmp);
    write_rows(w, f);
    return 0;
}

static int write_file(FILE *f, const char *tmp, void *ctx)
{
    png_writer *w = ctx;
    int rc = run_encoder(w, f, tmp);
    png_destroy_write_struct(&w->png, &w->info);
    return rc;
}

int tg_image_write_png(const char *path, const tg_image *img)
{
    if (tg_image_check_writable("write_png", path, img, 1)) return -1;
    png_writer w = {.who = "write_png", .img = img};
    return tg_write_file_atomic(path, w.who, write_file, &w);
}

/* Every value of img must index the palette. */
static int check_indices(const char *path, const tg_image *img, int n_colors)
{
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            int v = img->data[(size_t)y * (size_t)img->width + (size_t)x];
            if (v >= n_colors)
                return TG_FAIL("write_png_indexed: %s: pixel (x %d, y %d) is %d, outside the palette of %d colours",
                               path, x, y, v, n_colors);
        }
    return 0;
}

int tg_image_write_png_indexed(const char *path, const tg_image *img, const uint8_t *palette, int n_colors)
{
    if (tg_image_check_writable("write_png_indexed", path, img, 0)) return -1;
    if (!palette || n_colors < 1 || n_colors > 256)
        return TG_FAIL("write_png_indexed: %s: the palette must have 1 to 256 colours (got %d%s)", path, n_colors,
                       palette ? "" : ", NULL");
    if (check_indices(path, img, n_colors)) return -1;
    png_writer w = {.who = "write_png_indexed", .img = img, .palette = palette, .n_colors = n_colors};
    return tg_write_file_atomic(path, w.who, write_file, &w);
}

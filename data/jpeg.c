/* JPEG with libjpeg-turbo (see image.h): decoding from memory to RGB, and
 * the atomic writer.
 *
 * libjpeg reports an error through error_exit, which must not return: ours
 * keeps the message and longjmps back to the setjmp of the run_* function
 * that started the work; its caller frees what was made and the failure is
 * recorded with the file's name. Nothing is ever printed. State that lives
 * across the setjmp sits in a struct reached through a pointer (see png.c).
 *
 * Warnings (running out of data, which libjpeg would finish with gray rows;
 * corrupt entropy data; stray bytes before a marker) are errors unless the
 * options tolerate corrupt data (PIL's and OpenCV's default): an 828-byte
 * file could otherwise claim 11520x30772 pixels and decode "successfully"
 * into filler. The size the header claims is checked before anything is
 * allocated for it, and libjpeg's own memory is capped in proportion (a
 * file of many components could otherwise ask for gigabytes of
 * coefficients). */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "data/internal/codec.h"
#include "tensor/internal/atomic_file.h"
#include "tensor/error.h"

/* libjpeg's error manager, extended with where errors go. */
typedef struct {
    struct jpeg_error_mgr mgr; /* first, so a j_common_ptr's err is ours */
    jmp_buf jmp;
    int tolerate; /* warnings are not errors */
    int truncated, warned;
    char message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void on_error(j_common_ptr cinfo)
{
    jpeg_failure *fail = (jpeg_failure *)cinfo->err;
    cinfo->err->format_message(cinfo, fail->message);
    longjmp(fail->jmp, 1);
}

/* level < 0: a warning; others are trace messages. */
static void on_message(j_common_ptr cinfo, int level)
{
    jpeg_failure *fail = (jpeg_failure *)cinfo->err;
    if (level >= 0) return;
    fail->truncated |= cinfo->err->msg_code == JWRN_JPEG_EOF;
    fail->warned = 1;
    if (!fail->tolerate) on_error(cinfo);
}

static void init_failure(jpeg_failure *fail, int tolerate)
{
    fail->tolerate = tolerate;
    jpeg_std_error(&fail->mgr);
    fail->mgr.error_exit = on_error;
    fail->mgr.emit_message = on_message;
}

/* ---- decoding ---- */

typedef struct {
    const uint8_t *bytes;
    size_t size;
    const char *name;
    const tg_image_decode_opts *options;
    tg_image *out;
    jpeg_failure fail;
    struct jpeg_decompress_struct cinfo;
} jpeg_reader;

static int read_pixels(jpeg_reader *r)
{
    struct jpeg_decompress_struct *c = &r->cinfo;
    jpeg_mem_src(c, r->bytes, (unsigned long)r->size);
    jpeg_read_header(c, TRUE);
    if (c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK)
        return TG_FAIL("%s: CMYK JPEG is not supported", r->name);
    if (tg_image_check_size(r->name, c->image_width, c->image_height, 3, r->options)) return -1;
    c->out_color_space = JCS_RGB;
    jpeg_start_decompress(c);
    if (c->output_components != 3 || c->output_width != c->image_width || c->output_height != c->image_height)
        return TG_FAIL("%s: unexpected JPEG output layout", r->name);
    if (tg_image_alloc(r->out, (int)c->output_height, (int)c->output_width, 3)) return -1;
    size_t stride = (size_t)c->output_width * 3;
    while (c->output_scanline < c->output_height) {
        JSAMPROW row = r->out->data + c->output_scanline * stride;
        jpeg_read_scanlines(c, &row, 1);
    }
    jpeg_finish_decompress(c);
    return 0;
}

/* libjpeg's working memory at most: the coefficient buffers of a
 * progressive file as large as the options allow (2 bytes a sample, twice
 * an RGB image's bytes), plus room for its tables and row buffers. */
static long memory_cap(const tg_image_decode_opts *options)
{
    const int64_t room = 32 << 20;
    return options->max_bytes > (INT64_MAX - room) / 2 ? LONG_MAX : (long)(2 * options->max_bytes + room);
}

static int run_decoder(jpeg_reader *r)
{
    if (setjmp(r->fail.jmp))
        return TG_FAIL("%s: %s JPEG (libjpeg: %s)%s", r->name, r->fail.truncated ? "truncated" : "corrupt",
                       r->fail.message,
                       r->fail.warned && !r->fail.tolerate ? "; options.tolerate_corrupt would decode what it can" : "");
    r->cinfo.err = &r->fail.mgr;
    jpeg_create_decompress(&r->cinfo);
    r->cinfo.mem->max_memory_to_use = memory_cap(r->options);
    return read_pixels(r);
}

int tg_jpeg_decode(const uint8_t *bytes, size_t size, const char *name, tg_image_mode mode,
                   const tg_image_decode_opts *options, tg_image *out)
{
    memset(out, 0, sizeof *out);
    if (mode == TG_IMAGE_LABEL)
        return TG_FAIL("%s: a JPEG cannot be read as a label image (lossy compression changes class ids)", name);
    jpeg_reader r = {.bytes = bytes, .size = size, .name = name, .options = options, .out = out};
    init_failure(&r.fail, options->tolerate_corrupt);
    int rc = run_decoder(&r);
    jpeg_destroy_decompress(&r.cinfo); /* safe on a struct never created: it is zeroed */
    if (rc) tg_image_free(out);
    return rc;
}

/* ---- encoding ---- */

typedef struct {
    const tg_image *img;
    int quality;
    jpeg_failure fail;
    struct jpeg_compress_struct cinfo;
} jpeg_writer;

static void write_rows(jpeg_writer *w, FILE *f)
{
    struct jpeg_compress_struct *c = &w->cinfo;
    const tg_image *img = w->img;
    jpeg_stdio_dest(c, f);
    c->image_width = (JDIMENSION)img->width;
    c->image_height = (JDIMENSION)img->height;
    c->input_components = img->channels;
    c->in_color_space = img->channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, w->quality, TRUE);
    jpeg_start_compress(c, TRUE);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    while (c->next_scanline < c->image_height) {
        JSAMPROW row = img->data + c->next_scanline * stride;
        jpeg_write_scanlines(c, &row, 1);
    }
    jpeg_finish_compress(c);
}

static int run_encoder(jpeg_writer *w, FILE *f, const char *tmp)
{
    if (setjmp(w->fail.jmp)) return TG_FAIL("write_jpeg: cannot write %s (libjpeg: %s)", tmp, w->fail.message);
    w->cinfo.err = &w->fail.mgr;
    jpeg_create_compress(&w->cinfo);
    write_rows(w, f);
    return 0;
}

static int write_file(FILE *f, const char *tmp, void *ctx)
{
    jpeg_writer *w = ctx;
    int rc = run_encoder(w, f, tmp);
    jpeg_destroy_compress(&w->cinfo);
    return rc;
}

int tg_image_write_jpeg(const char *path, const tg_image *img, int quality)
{
    if (tg_image_check_writable("write_jpeg", path, img, 1)) return -1;
    if (quality < 1 || quality > 100) return TG_FAIL("write_jpeg: %s: quality %d is not in 1-100", path, quality);
    jpeg_writer w = {.img = img, .quality = quality};
    init_failure(&w.fail, 1); /* an encoder's warnings change nothing it writes */
    return tg_write_file_atomic(path, "write_jpeg", write_file, &w);
}

/* Image codecs (data/image.h): exact PNG round trips, a JPEG round trip
 * within a tolerance, every PNG layout written directly with libpng, and
 * corrupt, truncated, missing and unwritable files: each refused with the
 * path in the message, no crash, no leak, no file left behind; the decode
 * limits and the choice between refusing and tolerating corrupt data, with
 * two attackers' files that once cost 2 GB and 1 GB. */
#include <dirent.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <jpeglib.h>
#include <zlib.h>

#include "data/image.h"
#include "fixtures/attacks.h"
#include "suites.h"
#include "tensor/error.h"
#include "tensor/rng.h"
#include "tmpdir.h"

/* An image whose bytes are a formula of (y, x, channel) and salt. */
static tg_image pattern(int height, int width, int channels, int salt)
{
    tg_image img;
    ck_assert_int_eq(tg_image_alloc(&img, height, width, channels), 0);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++)
                img.data[((size_t)y * width + x) * channels + c] = (uint8_t)(37 * y + 11 * x + 91 * c + salt);
    return img;
}

static void assert_same_image(const tg_image *a, const tg_image *b)
{
    ck_assert_int_eq(a->height, b->height);
    ck_assert_int_eq(a->width, b->width);
    ck_assert_int_eq(a->channels, b->channels);
    ck_assert_mem_eq(a->data, b->data, (size_t)a->height * a->width * a->channels);
}

static int files_in_dir(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* The call failed, its message names `name` and contains `what`, and out
 * was left empty. */
static void assert_refused(int rc, const tg_image *out, const char *name, const char *what)
{
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(tg_last_error(), name), "no '%s' in: %s", name, tg_last_error());
    ck_assert_msg(strstr(tg_last_error(), what), "no '%s' in: %s", what, tg_last_error());
    if (out) ck_assert_ptr_null(out->data);
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    uint8_t *bytes = malloc(*size);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(fread(bytes, 1, *size, f), *size);
    fclose(f);
    return bytes;
}

static void spill(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, size, f), size);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- round trips ---- */

START_TEST(test_png_round_trips)
{
    char path[256];
    tg_image rgb = pattern(6, 8, 3, 5), gray = pattern(6, 8, 1, 9), back;
    ck_assert_int_eq(tg_image_write_png(tmpdir_file(path, "rgb.png"), &rgb), 0);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0);
    assert_same_image(&back, &rgb);
    tg_image_free(&back);

    ck_assert_int_eq(tg_image_write_png(tmpdir_file(path, "gray.png"), &gray), 0);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_LABEL, &back), 0);
    assert_same_image(&back, &gray);
    tg_image_free(&back);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0); /* gray replicated */
    ck_assert_int_eq(back.channels, 3);
    for (int i = 0; i < 6 * 8; i++)
        for (int c = 0; c < 3; c++) ck_assert_int_eq(back.data[3 * i + c], gray.data[i]);
    tg_image_free(&back);
    ck_assert_int_eq(files_in_dir(tmpdir_path), 2);
    tg_image_free(&rgb), tg_image_free(&gray);
}
END_TEST

START_TEST(test_indexed_png_round_trip)
{
    char path[256];
    const uint8_t *palette = tg_image_voc_palette();
    tg_image mask = pattern(6, 8, 1, 0), back;
    for (int i = 0; i < 6 * 8; i++) mask.data[i] = i % 7 == 3 ? 255 : (uint8_t)(mask.data[i] % 21);
    ck_assert_int_eq(tg_image_write_png_indexed(tmpdir_file(path, "mask.png"), &mask, palette, 256), 0);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_LABEL, &back), 0);
    assert_same_image(&back, &mask);
    tg_image_free(&back);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0); /* palette expanded */
    for (int i = 0; i < 6 * 8; i++) ck_assert_mem_eq(back.data + 3 * i, palette + 3 * mask.data[i], 3);
    tg_image_free(&back);

    /* A value outside a 21-colour palette: refused before any file is made. */
    ck_assert_int_eq(tg_image_write_png_indexed(tmpdir_file(path, "bad.png"), &mask, palette, 21), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "is 255, outside the palette of 21 colours"));
    ck_assert_int_eq(files_in_dir(tmpdir_path), 1);
    tg_image_free(&mask);
}
END_TEST

/* The largest difference between two images of one size. */
static int max_difference(const tg_image *a, const tg_image *b)
{
    int worst = 0;
    for (size_t i = 0; i < (size_t)a->height * a->width * a->channels; i++) {
        int d = abs(a->data[i] - b->data[i]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

START_TEST(test_jpeg_round_trip)
{
    char path[256];
    /* Smooth content: JPEG's quantisation is gentle on it. */
    tg_image rgb, gray, back;
    ck_assert_int_eq(tg_image_alloc(&rgb, 24, 32, 3), 0);
    ck_assert_int_eq(tg_image_alloc(&gray, 24, 32, 1), 0);
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 32; x++) {
            for (int c = 0; c < 3; c++) rgb.data[(y * 32 + x) * 3 + c] = (uint8_t)(30 + 3 * x + 2 * y + 20 * c);
            gray.data[y * 32 + x] = (uint8_t)(20 + 5 * x + 2 * y);
        }
    ck_assert_int_eq(tg_image_write_jpeg(tmpdir_file(path, "rgb.jpg"), &rgb, 95), 0);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0);
    ck_assert_int_eq(back.height, 24);
    ck_assert_int_eq(back.width, 32);
    ck_assert_int_eq(back.channels, 3);
    int rgb_error = max_difference(&back, &rgb);
    ck_assert_int_le(rgb_error, 4); /* 2 measured */
    tg_image_free(&back);

    ck_assert_int_eq(tg_image_write_jpeg(tmpdir_file(path, "gray.jpg"), &gray, 95), 0);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0);
    ck_assert_int_eq(back.channels, 3);
    for (int i = 0; i < 24 * 32; i++) {
        ck_assert_int_le(abs(back.data[3 * i] - gray.data[i]), 3);
        ck_assert_int_eq(back.data[3 * i], back.data[3 * i + 1]);
        ck_assert_int_eq(back.data[3 * i], back.data[3 * i + 2]);
    }
    tg_image_free(&back);

    /* Lower quality loses more: the tolerance above is not vacuous. */
    ck_assert_int_eq(tg_image_write_jpeg(tmpdir_file(path, "low.jpg"), &rgb, 5), 0);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0);
    ck_assert_int_gt(max_difference(&back, &rgb), rgb_error);
    tg_image_free(&back);

    assert_refused(tg_image_read(path, TG_IMAGE_LABEL, &back), &back, path, "cannot be read as a label image");
    assert_refused(tg_image_write_jpeg(tmpdir_file(path, "q.jpg"), &rgb, 0), NULL, path, "quality 0");
    tg_image_free(&rgb), tg_image_free(&gray);
}
END_TEST

/* ---- PNG layouts written with libpng directly ---- */

typedef struct {
    int color_type, bit_depth, interlace;
    int n_palette; /* palette entries, for PNG_COLOR_TYPE_PALETTE */
} png_layout;

static int layout_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

/* Writes a height x width PNG whose samples are samples[] (one per pixel
 * and channel, row-major, each below 2^bit_depth). */
static void write_raw_png(const char *path, int height, int width, png_layout l, const uint16_t *samples)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert_ptr_nonnull(info);
    png_init_io(png, f);
    png_set_IHDR(png, info, width, height, l.bit_depth, l.color_type, l.interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (l.color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color colors[256];
        for (int i = 0; i < l.n_palette; i++) colors[i] = (png_color){(uint8_t)(10 * i), (uint8_t)(255 - i), 7};
        png_set_PLTE(png, info, colors, l.n_palette);
    }
    png_write_info(png, info);
    png_set_packing(png); /* rows hold one byte per sample below 8 bits */
    if (l.bit_depth == 16) png_set_swap(png); /* rows hold host-order 16-bit samples */
    int n = width * layout_channels(l.color_type), size = l.bit_depth == 16 ? 2 : 1;
    uint8_t *rows = malloc((size_t)height * n * size);
    png_bytep *pointers = malloc(height * sizeof *pointers);
    ck_assert(rows && pointers);
    for (int i = 0; i < height * n; i++) {
        if (size == 2) memcpy(rows + 2 * i, samples + i, 2);
        else rows[i] = (uint8_t)samples[i];
    }
    for (int y = 0; y < height; y++) pointers[y] = rows + (size_t)y * n * size;
    png_write_image(png, pointers);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    ck_assert_int_eq(fclose(f), 0);
    free(rows), free(pointers);
}

/* Samples of a layout: a formula below 2^bit_depth (and below n_palette). */
static uint16_t *layout_samples(int height, int width, png_layout l)
{
    int n = height * width * layout_channels(l.color_type);
    uint16_t *s = malloc(n * sizeof *s);
    ck_assert_ptr_nonnull(s);
    uint32_t limit = l.n_palette ? (uint32_t)l.n_palette : 1u << l.bit_depth;
    for (int i = 0; i < n; i++) s[i] = (uint16_t)((977u * (uint32_t)i * (uint32_t)i + 13u * i + 5u) % limit);
    return s;
}

/* What TG_IMAGE_RGB should give for pixel p of a layout's samples. */
static void expected_rgb(png_layout l, const uint16_t *s, int p, uint8_t rgb[3])
{
    int ch = layout_channels(l.color_type);
    const uint16_t *px = s + (size_t)p * ch;
    uint8_t v[3];
    for (int c = 0; c < 3; c++) {
        int k = l.color_type & PNG_COLOR_MASK_COLOR && l.color_type != PNG_COLOR_TYPE_PALETTE ? c : 0;
        uint32_t x = px[k];
        if (l.bit_depth == 16) v[c] = (uint8_t)((x * 255 + 32767) / 65535); /* rounded */
        else v[c] = (uint8_t)(x * 255 / ((1u << l.bit_depth) - 1));        /* bit replication */
    }
    if (l.color_type == PNG_COLOR_TYPE_PALETTE) {
        v[0] = (uint8_t)(10 * px[0]), v[1] = (uint8_t)(255 - px[0]), v[2] = 7;
    }
    memcpy(rgb, v, 3);
}

START_TEST(test_png_layouts_decode_to_rgb)
{
    const png_layout layouts[] = {
        {PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE, 0},
        {PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, 0},
        {PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_ADAM7, 0},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, 0},
        {PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, 0},
        {PNG_COLOR_TYPE_GRAY, 2, PNG_INTERLACE_NONE, 0},
        {PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, 0},
        {PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, 200},
        {PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_ADAM7, 11},
    };
    const int h = 6, w = 9;
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        png_layout l = layouts[i];
        char path[256], name[32];
        snprintf(name, sizeof name, "layout%zu.png", i);
        uint16_t *s = layout_samples(h, w, l);
        write_raw_png(tmpdir_file(path, name), h, w, l, s);
        tg_image img;
        ck_assert_msg(tg_image_read(path, TG_IMAGE_RGB, &img) == 0, "%s", tg_last_error());
        ck_assert_int_eq(img.height, h);
        ck_assert_int_eq(img.width, w);
        ck_assert_int_eq(img.channels, 3);
        for (int p = 0; p < h * w; p++) {
            uint8_t want[3];
            expected_rgb(l, s, p, want);
            ck_assert_msg(memcmp(img.data + 3 * p, want, 3) == 0, "layout %zu pixel %d", i, p);
        }
        tg_image_free(&img);
        free(s);
    }
}
END_TEST

START_TEST(test_png_layouts_as_labels)
{
    const int h = 5, w = 7;
    char path[256];
    tg_image img;
    /* Indices of a 4-bit palette and 8-bit gray values come back as stored. */
    const png_layout kept[] = {{PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_NONE, 16},
                               {PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_ADAM7, 256},
                               {PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, 0},
                               {PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, 0}};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        uint16_t *s = layout_samples(h, w, kept[i]);
        write_raw_png(tmpdir_file(path, "label.png"), h, w, kept[i], s);
        ck_assert_msg(tg_image_read(path, TG_IMAGE_LABEL, &img) == 0, "%s", tg_last_error());
        ck_assert_int_eq(img.channels, 1);
        int ch = layout_channels(kept[i].color_type);
        for (int p = 0; p < h * w; p++) ck_assert_int_eq(img.data[p], s[p * ch]);
        tg_image_free(&img);
        free(s);
    }
    /* RGB and 16-bit files are refused. */
    const png_layout refused[] = {{PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, 0},
                                  {PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, 0},
                                  {PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, 0}};
    const char *why[] = {"an RGB PNG", "an RGB PNG", "a 16-bit PNG"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        uint16_t *s = layout_samples(h, w, refused[i]);
        write_raw_png(tmpdir_file(path, "refused.png"), h, w, refused[i], s);
        assert_refused(tg_image_read(path, TG_IMAGE_LABEL, &img), &img, path, why[i]);
        free(s);
    }
}
END_TEST

START_TEST(test_cmyk_jpeg_is_refused)
{
    char path[256];
    FILE *f = fopen(tmpdir_file(path, "cmyk.jpg"), "wb");
    ck_assert_ptr_nonnull(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = 8, c.image_height = 4, c.input_components = 4, c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    uint8_t row[8 * 4] = {0};
    JSAMPROW r = row;
    while (c.next_scanline < c.image_height) jpeg_write_scanlines(&c, &r, 1);
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    ck_assert_int_eq(fclose(f), 0);
    tg_image img;
    assert_refused(tg_image_read(path, TG_IMAGE_RGB, &img), &img, path, "CMYK JPEG is not supported");
}
END_TEST

START_TEST(test_voc_palette)
{
    const uint8_t *p = tg_image_voc_palette();
    const struct {
        int index;
        uint8_t rgb[3];
    } known[] = {{0, {0, 0, 0}},         {1, {128, 0, 0}},      {2, {0, 128, 0}},       {3, {128, 128, 0}},
                 {8, {64, 0, 0}},        {15, {192, 128, 128}}, {20, {0, 64, 128}},     {255, {224, 224, 192}}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ck_assert_mem_eq(p + 3 * known[i].index, known[i].rgb, 3);
    ck_assert_ptr_eq(tg_image_voc_palette(), p);
}
END_TEST

/* ---- bad files ---- */

/* A small PNG and JPEG of the pattern, as bytes. */
static uint8_t *small_file(const char *name, int jpeg, size_t *size)
{
    char path[256];
    tg_image img = pattern(6, 8, 3, 1);
    tmpdir_file(path, name);
    ck_assert_int_eq(jpeg ? tg_image_write_jpeg(path, &img, 90) : tg_image_write_png(path, &img), 0);
    tg_image_free(&img);
    uint8_t *bytes = slurp(path, size);
    ck_assert_int_eq(remove(path), 0);
    return bytes;
}

START_TEST(test_every_truncation_is_refused)
{
    for (int jpeg = 0; jpeg < 2; jpeg++) {
        size_t size;
        uint8_t *bytes = small_file(jpeg ? "t.jpg" : "t.png", jpeg, &size);
        tg_image img;
        ck_assert_int_eq(tg_image_decode(bytes, size, "whole", TG_IMAGE_RGB, &img), 0);
        tg_image_free(&img);
        size_t magic = jpeg ? 3 : 8;
        for (size_t n = 0; n < size; n++) {
            const char *why = n == 0 ? "empty file" : n < magic ? "not a PNG or JPEG" : "truncated";
            assert_refused(tg_image_decode(bytes, n, "cut", TG_IMAGE_RGB, &img), &img, "cut", why);
        }
        /* One prefix through a file, for the path in the message. */
        char path[256];
        spill(tmpdir_file(path, "cut.img"), bytes, size / 2);
        assert_refused(tg_image_read(path, TG_IMAGE_RGB, &img), &img, path, "truncated");
        free(bytes);
    }
}
END_TEST

/* Recomputes the CRC of every whole chunk of a PNG, so that damage gets
 * past libpng's CRC checks into the inflater and the row filters. */
static void fix_png_crcs(uint8_t *bytes, size_t size)
{
    for (size_t at = 8; at + 12 <= size;) {
        uint32_t len = (uint32_t)bytes[at] << 24 | (uint32_t)bytes[at + 1] << 16 | (uint32_t)bytes[at + 2] << 8 |
                       bytes[at + 3];
        if (len > size - at - 12) return;
        uint32_t crc = (uint32_t)crc32(0, bytes + at + 4, 4 + len);
        for (int i = 0; i < 4; i++) bytes[at + 8 + len + i] = (uint8_t)(crc >> (24 - 8 * i));
        at += 12 + len;
    }
}

/* Damaged copies: each decodes to a valid image or fails with a message;
 * never a crash or (under the sanitizers) a leak. Damage: 1-4 random bytes
 * or bit flips; for a PNG every other trial damages only what follows the
 * header chunk (a damaged size could ask for a gigabyte) and fixes the
 * CRCs. */
START_TEST(test_damaged_files_never_crash)
{
    tg_rng rng = tg_rng_new(2024, 4);
    for (int jpeg = 0; jpeg < 2; jpeg++) {
        size_t size;
        uint8_t *bytes = small_file(jpeg ? "d.jpg" : "d.png", jpeg, &size), *copy = malloc(size);
        ck_assert_ptr_nonnull(copy);
        int failed = 0;
        for (int trial = 0; trial < 2000; trial++) {
            memcpy(copy, bytes, size);
            int damages = 1 + (int)(tg_rng_u32(&rng) % 4), past_crcs = !jpeg && trial % 4 >= 2;
            size_t first = past_crcs ? 33 : 0;
            for (int d = 0; d < damages; d++) {
                size_t at = first + tg_rng_u32(&rng) % (size - first);
                if (trial % 2) copy[at] ^= (uint8_t)(1u << (tg_rng_u32(&rng) % 8));
                else copy[at] = (uint8_t)tg_rng_u32(&rng);
            }
            if (past_crcs) fix_png_crcs(copy, size);
            tg_image img;
            tg_clear_error();
            if (tg_image_decode(copy, size, "damaged", TG_IMAGE_RGB, &img) == 0) {
                ck_assert_ptr_nonnull(img.data);
                ck_assert(img.height > 0 && img.width > 0 && img.channels == 3);
                tg_image_free(&img);
            } else {
                ck_assert_ptr_null(img.data);
                ck_assert_ptr_nonnull(strstr(tg_last_error(), "damaged"));
                failed++;
            }
        }
        ck_assert_int_gt(failed, 500); /* the damage was real */
        free(bytes), free(copy);
    }
}
END_TEST

/* ---- limits and corrupt data ---- */

/* ASan's allocator has overheads of its own: memory is not measured under it. */
#if defined(__SANITIZE_ADDRESS__)
#define MEASURE_MEMORY 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEASURE_MEMORY 0
#endif
#endif
#ifndef MEASURE_MEMORY
#define MEASURE_MEMORY 1
#endif

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long peak_rss_kb(void)
{
    struct rusage u;
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &u), 0);
    return u.ru_maxrss;
}

/* Decoding bytes (options: NULL for the defaults) is refused within a
 * second, with a message naming the file and containing what, and the
 * process's peak memory grows by less than 100 MB (MEASURE_MEMORY). */
static void assert_refused_cheaply(const uint8_t *bytes, size_t size, const tg_image_decode_opts *options,
                                   const char *what)
{
    long rss_before = peak_rss_kb();
    double start = seconds_now();
    tg_image img;
    assert_refused(tg_image_decode_with(bytes, size, "attack.img", TG_IMAGE_RGB, options, &img), &img,
                   "attack.img", what);
    ck_assert_double_lt(seconds_now() - start, 1.0);
    if (MEASURE_MEMORY) ck_assert_int_lt(peak_rss_kb() - rss_before, 100 * 1024);
}

/* The first attacker's file (fixtures/attacks.h), for each text chunk and
 * an unknown one: once 2 GB and 6 s, now refused cheaply, corrupt data
 * tolerated or not. */
START_TEST(test_png_text_chunk_claiming_2gb_is_refused)
{
    const char *chunks[] = {"tEXt", "zTXt", "iTXt", "zzZz"};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        uint8_t bytes[ATTACK_PNG_BYTES];
        attack_png_chunk_bomb(bytes, chunks[i]);
        assert_refused_cheaply(bytes, sizeof bytes, NULL, "chunk data is too large");
        ck_assert_ptr_nonnull(strstr(tg_last_error(), chunks[i]));
        tg_image_decode_opts tolerant = {.tolerate_corrupt = true};
        assert_refused_cheaply(bytes, sizeof bytes, &tolerant, "chunk data is too large");
    }
}
END_TEST

/* The second attacker's file: once a 1 GB image of filler, now refused
 * from its header. */
START_TEST(test_jpeg_claiming_354_mpixel_is_refused)
{
    char path[256];
    size_t size;
    uint8_t *bytes = attack_jpeg_size_bomb(tmpdir_file(path, "bomb.jpg"), &size);
    ck_assert_ptr_nonnull(bytes);
    assert_refused_cheaply(bytes, size, NULL, "11520x30772 (354493440 pixels) is over the limit of 67108864");
    tg_image_decode_opts tolerant = {.tolerate_corrupt = true};
    assert_refused_cheaply(bytes, size, &tolerant, "is over the limit");
    free(bytes);
}
END_TEST

/* Decodes bytes with the given limits: 0, or -1 with the image empty. */
static int decode_within(const uint8_t *bytes, size_t size, tg_image_mode mode, int64_t max_pixels,
                         int64_t max_bytes)
{
    tg_image_decode_opts options = {.max_pixels = max_pixels, .max_bytes = max_bytes};
    tg_image img;
    int rc = tg_image_decode_with(bytes, size, "limited", mode, &options, &img);
    if (rc == 0) {
        ck_assert_int_eq(img.height * img.width, 12 * 10);
        tg_image_free(&img);
    } else {
        ck_assert_ptr_null(img.data);
        ck_assert_ptr_nonnull(strstr(tg_last_error(), "is over the limit"));
    }
    return rc;
}

START_TEST(test_caller_limits_are_exact)
{
    char path[256];
    tg_image gray = pattern(12, 10, 1, 3), rgb = pattern(12, 10, 3, 3);
    size_t png_size, jpeg_size;
    ck_assert_int_eq(tg_image_write_png(tmpdir_file(path, "gray.png"), &gray), 0);
    uint8_t *png = slurp(path, &png_size);
    ck_assert_int_eq(tg_image_write_jpeg(tmpdir_file(path, "rgb.jpg"), &rgb, 90), 0);
    uint8_t *jpeg = slurp(path, &jpeg_size);
    for (int is_jpeg = 0; is_jpeg < 2; is_jpeg++) {
        const uint8_t *bytes = is_jpeg ? jpeg : png;
        size_t size = is_jpeg ? jpeg_size : png_size;
        ck_assert_int_eq(decode_within(bytes, size, TG_IMAGE_RGB, 120, 0), 0);
        ck_assert_int_eq(decode_within(bytes, size, TG_IMAGE_RGB, 119, 0), -1);
        ck_assert_int_eq(decode_within(bytes, size, TG_IMAGE_RGB, 0, 360), 0);
        ck_assert_int_eq(decode_within(bytes, size, TG_IMAGE_RGB, 0, 359), -1);
        ck_assert_int_eq(decode_within(bytes, size, TG_IMAGE_RGB, 1000, 359), -1);
    }
    /* A label image has one byte a pixel. */
    ck_assert_int_eq(decode_within(png, png_size, TG_IMAGE_LABEL, 0, 120), 0);
    ck_assert_int_eq(decode_within(png, png_size, TG_IMAGE_LABEL, 0, 119), -1);
    /* The same limits through a file; a negative one is refused. */
    tg_image img;
    tg_image_decode_opts small = {.max_pixels = 100}, negative = {.max_bytes = -1};
    assert_refused(tg_image_read_with(path, TG_IMAGE_RGB, &small, &img), &img, path, "limit of 100 pixels");
    assert_refused(tg_image_read_with(path, TG_IMAGE_RGB, &negative, &img), &img, path, "negative decode limit");
    ck_assert_int_eq(tg_image_read_with(path, TG_IMAGE_RGB, NULL, &img), 0);
    tg_image_free(&img);
    free(png), free(jpeg);
    tg_image_free(&gray), tg_image_free(&rgb);
}
END_TEST

/* bytes is refused by default with a message containing what, and decodes
 * to a height x width image when corrupt data is tolerated. */
static void assert_tolerable(const uint8_t *bytes, size_t size, const char *what, int height, int width)
{
    tg_image img;
    assert_refused(tg_image_decode(bytes, size, "damaged", TG_IMAGE_RGB, &img), &img, "damaged", what);
    tg_image_decode_opts tolerant = {.tolerate_corrupt = true};
    ck_assert_msg(tg_image_decode_with(bytes, size, "damaged", TG_IMAGE_RGB, &tolerant, &img) == 0, "%s",
                  tg_last_error());
    ck_assert_int_eq(img.height, height);
    ck_assert_int_eq(img.width, width);
    tg_image_free(&img);
}

START_TEST(test_corrupt_jpeg_is_refused_unless_tolerated)
{
    char path[256];
    tg_image img = pattern(48, 64, 3, 4);
    ck_assert_int_eq(tg_image_write_jpeg(tmpdir_file(path, "c.jpg"), &img, 90), 0);
    tg_image_free(&img);
    size_t size;
    uint8_t *bytes = slurp(path, &size), *longer = malloc(size + 3);
    ck_assert_ptr_nonnull(longer);
    assert_tolerable(bytes, size * 3 / 4, "truncated JPEG (libjpeg: Premature end of JPEG file)", 48, 64);
    tg_image_decode(bytes, size * 3 / 4, "damaged", TG_IMAGE_RGB, &img);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "options.tolerate_corrupt would decode"));
    /* Three stray bytes before the final marker (EOI); libjpeg reports two. */
    memcpy(longer, bytes, size - 2);
    memcpy(longer + size - 2, "\x12\x34\x56\xff\xd9", 5);
    assert_tolerable(longer, size + 3,
                     "corrupt JPEG (libjpeg: Corrupt JPEG data: 2 extraneous bytes before marker 0xd9", 48, 64);
    free(bytes), free(longer);
}
END_TEST

START_TEST(test_png_with_a_bad_crc_is_refused_unless_tolerated)
{
    size_t size;
    uint8_t *bytes = small_file("c.png", 0, &size);
    bytes[8 + 8 + 13 + 1] ^= 0x20; /* the second byte of IHDR's CRC */
    assert_tolerable(bytes, size, "IHDR: CRC error", 6, 8);
    bytes[8 + 8 + 13 + 1] ^= 0x20;
    bytes[size - 12 - 1] ^= 0x01; /* the last byte of the last IDAT's CRC */
    assert_tolerable(bytes, size, "IDAT: CRC error", 6, 8);
    free(bytes);
}
END_TEST

START_TEST(test_missing_and_foreign_files_are_refused)
{
    char path[256];
    tg_image img;
    assert_refused(tg_image_read(tmpdir_file(path, "absent.png"), TG_IMAGE_RGB, &img), &img, path,
                   "No such file or directory");
    assert_refused(tg_image_read(tmpdir_path, TG_IMAGE_RGB, &img), &img, tmpdir_path, "not a regular file");
    spill(tmpdir_file(path, "empty.png"), "", 0);
    assert_refused(tg_image_read(path, TG_IMAGE_RGB, &img), &img, path, "empty file");
    spill(tmpdir_file(path, "text.png"), "hello, not an image\n", 20);
    assert_refused(tg_image_read(path, TG_IMAGE_RGB, &img), &img, path, "not a PNG or JPEG file");
}
END_TEST

START_TEST(test_failed_writes_leave_no_file)
{
    char path[256];
    tg_image rgb = pattern(6, 8, 3, 2), mask = pattern(6, 8, 1, 0);
    memset(mask.data, 1, 6 * 8);
    tmpdir_file(path, "no_such_dir/a.png");
    assert_refused(tg_image_write_png(path, &rgb), NULL, path, "No such file or directory");
    assert_refused(tg_image_write_png_indexed(path, &mask, tg_image_voc_palette(), 256), NULL, path,
                   "No such file or directory");
    assert_refused(tg_image_write_jpeg(path, &rgb, 90), NULL, path, "No such file or directory");
    /* A directory in the way: the rename fails and the temporary file goes. */
    ck_assert_int_eq(mkdir(tmpdir_file(path, "in_the_way.png"), 0700), 0);
    assert_refused(tg_image_write_png(path, &rgb), NULL, path, "cannot rename");
    assert_refused(tg_image_write_jpeg(path, &rgb, 90), NULL, path, "cannot rename");
    /* Images the writers refuse. */
    tg_image empty = {0}, two = {.height = 6, .width = 8, .channels = 2, .data = rgb.data};
    tmpdir_file(path, "b.png");
    assert_refused(tg_image_write_png(path, &empty), NULL, path, "empty");
    assert_refused(tg_image_write_png(path, &two), NULL, path, "2 channels");
    assert_refused(tg_image_write_png_indexed(path, &rgb, tg_image_voc_palette(), 256), NULL, path, "3 channels");
    assert_refused(tg_image_write_png_indexed(path, &mask, tg_image_voc_palette(), 0), NULL, path, "1 to 256");
    ck_assert_int_eq(files_in_dir(tmpdir_path), 1); /* the directory in the way */
    tg_image_free(&rgb), tg_image_free(&mask);
}
END_TEST

START_TEST(test_write_replaces_an_existing_file)
{
    char path[256];
    tg_image a = pattern(6, 8, 3, 1), b = pattern(4, 5, 3, 2), back;
    ck_assert_int_eq(tg_image_write_png(tmpdir_file(path, "x.png"), &a), 0);
    ck_assert_int_eq(tg_image_write_png(path, &b), 0);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0);
    assert_same_image(&back, &b);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_ne(st.st_mode & 0044, 0); /* readable by others, as fopen's files are (umask 022) */
    ck_assert_int_eq(files_in_dir(tmpdir_path), 1);
    tg_image_free(&a), tg_image_free(&b), tg_image_free(&back);
}
END_TEST

Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("codecs");
    tcase_add_checked_fixture(tc, tmpdir_make, tmpdir_remove);
    tcase_add_test(tc, test_png_round_trips);
    tcase_add_test(tc, test_indexed_png_round_trip);
    tcase_add_test(tc, test_jpeg_round_trip);
    tcase_add_test(tc, test_png_layouts_decode_to_rgb);
    tcase_add_test(tc, test_png_layouts_as_labels);
    tcase_add_test(tc, test_cmyk_jpeg_is_refused);
    tcase_add_test(tc, test_voc_palette);
    tcase_add_test(tc, test_every_truncation_is_refused);
    tcase_add_test(tc, test_damaged_files_never_crash);
    tcase_add_test(tc, test_png_text_chunk_claiming_2gb_is_refused);
    tcase_add_test(tc, test_jpeg_claiming_354_mpixel_is_refused);
    tcase_add_test(tc, test_caller_limits_are_exact);
    tcase_add_test(tc, test_corrupt_jpeg_is_refused_unless_tolerated);
    tcase_add_test(tc, test_png_with_a_bad_crc_is_refused_unless_tolerated);
    tcase_add_test(tc, test_missing_and_foreign_files_are_refused);
    tcase_add_test(tc, test_failed_writes_leave_no_file);
    tcase_add_test(tc, test_write_replaces_an_existing_file);
    suite_add_tcase(s, tc);
    return s;
}

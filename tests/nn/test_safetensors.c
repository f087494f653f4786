/* safetensors checkpoints (nn/safetensors.h): round trips, every malformed
 * file the reader must refuse, atomic replacement, the tensor list and
 * metadata containers, and interop with PyTorch both ways through the
 * fixtures made by tools/make_fixtures_safetensors.py. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fixtures/torch_written.h"
#include "kernels.h"
#include "nn/safetensors.h"
#include "suites.h"
#include "tensorgrad.h"
#include "tmpdir.h"

#define NFIXTURE (int)(sizeof torch_written / sizeof torch_written[0])
#define NFIXTURE_META (int)(sizeof torch_written_meta / sizeof torch_written_meta[0])

/* Entries in the test's directory. */
static int files_in_dir(void)
{
    DIR *d = opendir(tmpdir_path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* The whole file in a new buffer; its size in *len. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *buf = malloc(*len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

/* A file of: the header length hlen, the header bytes, ndata data bytes. */
static void write_raw(const char *path, uint64_t hlen, const char *header, size_t nheader, size_t ndata)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(&hlen, 8, 1, f), 1);
    ck_assert_uint_eq(fwrite(header, 1, nheader, f), nheader);
    for (size_t i = 0; i < ndata; i++) fputc((int)(i * 7 + 1), f);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_with_header(const char *path, const char *header, size_t ndata)
{
    write_raw(path, strlen(header), header, strlen(header), ndata);
}

/* Loading path fails, leaves out and meta empty, and the message names
 * the file and the problem. */
static void assert_refused(const char *path, const char *problem)
{
    tg_tensor_list out = {0};
    tg_metadata meta = {0};
    tg_clear_error();
    ck_assert_int_eq(tg_safetensors_load(path, &out, &meta), -1);
    ck_assert(out.n == 0 && out.items == NULL && meta.n == 0 && meta.items == NULL);
    const char *err = tg_last_error();
    ck_assert_msg(strstr(err, "safetensors_load: ") && strstr(err, path) && strstr(err, problem),
                  "error \"%s\" should name %s and say \"%s\"", err, path, problem);
}

/* Same dtype, shape and bytes. */
static void assert_same_tensor(tg_tensor *a, tg_tensor *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(a->dtype, b->dtype);
    ck_assert(tg_same_shape(a, b));
    size_t n = (size_t)tg_numel(a) * tg_dtype_size(a->dtype);
    char *x = malloc(n + 1), *y = malloc(n + 1);
    ck_assert(x && y);
    ck_assert_int_eq(tg_copy_to_buffer(a, x), 0);
    ck_assert_int_eq(tg_copy_to_buffer(b, y), 0);
    ck_assert_mem_eq(x, y, n);
    free(x);
    free(y);
}

/* ---- round trips ---- */

/* Tensors of every kind the writer must handle, in a non-sorted order. */
static void make_mixed_list(tg_tensor_list *l)
{
    tg_tensor *base = tg_arange(0, 24, 1), *cube = tg_k_reshape(base, TG_SHAPE(2, 3, 4));
    tg_tensor *row = tg_from_data(TG_SHAPE(1, 3), TG_FLOAT32, (float[]){0.5f, -1.5f, 2.5f});
    tg_tensor *made[] = {
        tg_from_data(TG_SHAPE(2, 3), TG_FLOAT32, (float[]){1.5f, -2.0f, 3.25f, 1e-30f, -0.0f, 1e30f}),
        tg_from_data(TG_SHAPE(4), TG_INT64, (int64_t[]){INT64_MIN, -1, 0, INT64_MAX}),
        tg_scalar(-7.25f),
        tg_from_data(0, NULL, TG_INT64, (int64_t[]){42}),
        tg_zeros(TG_SHAPE(0, 3), TG_FLOAT32),
        tg_k_transpose(cube, 0, 2),  /* (4,3,2), strides (1,4,12) */
        tg_k_narrow(cube, 2, 1, 2),  /* (2,3,2), storage offset 1 */
        tg_k_expand(row, TG_SHAPE(2, 3)), /* stride 0 */
    };
    const char *names[] = {"w", "b.idx", "scalar", "count", "empty", "transposed", "narrowed", "expanded"};
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(tg_tensor_list_add(l, names[i], made[i]), 0);
        tg_release(made[i]);
    }
    ck_assert(!tg_is_contiguous(l->items[5].tensor) && l->items[6].tensor->offset == 1);
    tg_release(base), tg_release(cube), tg_release(row);
}

START_TEST(test_round_trip)
{
    char path[256];
    tmpdir_file(path, "model.safetensors");
    tg_tensor_list l = {0}, back = {0};
    tg_metadata meta = {0}, meta_back = {0};
    make_mixed_list(&l);
    tg_metadata_add(&meta, "epoch", "12");
    tg_metadata_add(&meta, "note", "d\xc3\xa9j\xc3\xa0 \"q\"\n\\\x01/");
    ck_assert_int_eq(tg_safetensors_save(path, &l, &meta), 0);
    ck_assert_int_eq(files_in_dir(), 1);
    ck_assert_int_eq(tg_safetensors_load(path, &back, &meta_back), 0);
    ck_assert_int_eq(back.n, l.n);
    for (int i = 0; i < l.n; i++) {
        ck_assert_str_eq(back.items[i].name, l.items[i].name);
        ck_assert(tg_is_contiguous(back.items[i].tensor));
        assert_same_tensor(back.items[i].tensor, l.items[i].tensor);
    }
    ck_assert_int_eq(back.items[2].tensor->ndim, 0);
    ck_assert_int_eq(meta_back.n, 2);
    ck_assert_str_eq(tg_metadata_get(&meta_back, "epoch"), "12");
    ck_assert_str_eq(tg_metadata_get(&meta_back, "note"), "d\xc3\xa9j\xc3\xa0 \"q\"\n\\\x01/");
    /* layout: 8-byte aligned data, and nothing but the tensors after it */
    size_t len;
    char *bytes = slurp(path, &len);
    uint64_t hlen;
    memcpy(&hlen, bytes, 8);
    ck_assert_uint_eq(hlen % 8, 0);
    size_t data = 0;
    for (int i = 0; i < l.n; i++) data += (size_t)tg_numel(l.items[i].tensor) * tg_dtype_size(l.items[i].tensor->dtype);
    ck_assert_uint_eq(len, 8 + hlen + data);
    ck_assert_ptr_nonnull(strstr(bytes + 8, "\"transposed\":{\"dtype\":\"F32\",\"shape\":[4,3,2],"));
    free(bytes);
    tg_tensor_list_clear(&l), tg_tensor_list_clear(&back);
    tg_metadata_clear(&meta), tg_metadata_clear(&meta_back);
}
END_TEST

START_TEST(test_no_metadata_and_no_tensors)
{
    char path[256];
    tmpdir_file(path, "plain.safetensors");
    tg_tensor_list l = {0}, back = {0};
    tg_metadata meta = {0};
    tg_tensor *t = tg_ones(TG_SHAPE(3), TG_FLOAT32);
    tg_tensor_list_add(&l, "t", t);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), 0);
    size_t len;
    char *bytes = slurp(path, &len);
    ck_assert_ptr_nonnull(strstr(bytes + 8, "{\"__metadata__\":{\"crc32.t\":\"")); /* only the checksum */
    free(bytes);
    ck_assert_int_eq(tg_safetensors_load(path, &back, &meta), 0);
    ck_assert_int_eq(meta.n, 0); /* checksums are verified, not returned */
    assert_same_tensor(back.items[0].tensor, t);
    tg_tensor_list_clear(&back);
    ck_assert_int_eq(tg_safetensors_load(path, &back, NULL), 0); /* metadata not wanted */
    ck_assert_int_eq(back.n, 1);
    tg_tensor_list_clear(&back);
    /* an empty list, with or without metadata, is a valid file */
    tg_tensor_list empty = {0};
    tg_metadata_add(&meta, "only", "metadata");
    ck_assert_int_eq(tg_safetensors_save(path, &empty, &meta), 0);
    tg_metadata_clear(&meta);
    ck_assert_int_eq(tg_safetensors_load(path, &back, &meta), 0);
    ck_assert(back.n == 0 && meta.n == 1);
    ck_assert_str_eq(tg_metadata_get(&meta, "only"), "metadata");
    tg_metadata_clear(&meta);
    ck_assert_int_eq(tg_safetensors_save(path, &empty, NULL), 0);
    bytes = slurp(path, &len);
    ck_assert_uint_eq(len, 16);
    ck_assert_mem_eq(bytes, "\x08\0\0\0\0\0\0\0{}      ", 16);
    free(bytes);
    ck_assert_int_eq(tg_safetensors_load(path, &back, &meta), 0);
    ck_assert(back.n == 0 && meta.n == 0);
    tg_tensor_list_clear(&l);
    tg_release(t);
}
END_TEST

/* ---- malformed files ---- */

START_TEST(test_refuses_short_files)
{
    char path[256];
    tmpdir_file(path, "bad.safetensors");
    FILE *f = fopen(path, "wb");
    fwrite("\x02\0\0\0\0", 1, 5, f);
    fclose(f);
    assert_refused(path, "file too short (5 bytes) for the 8-byte header length");
    fclose(fopen(path, "wb"));
    assert_refused(path, "file too short (0 bytes)");
    write_raw(path, 1000, "{}", 2, 0);
    assert_refused(path, "header length 1000 goes beyond the end of the file (10 bytes)");
    write_raw(path, UINT64_MAX, "{}", 2, 0);
    assert_refused(path, "header length 18446744073709551615 goes beyond the end of the file");
    write_raw(path, 3, "{}", 2, 0);
    assert_refused(path, "header length 3 goes beyond the end of the file (10 bytes)");
    write_raw(path, 0, "", 0, 0);
    assert_refused(path, "invalid JSON header: unexpected token near end of file at byte 0");
}
END_TEST

START_TEST(test_refuses_missing_files)
{
    char path[256];
    assert_refused(tmpdir_file(path, "nothing.safetensors"), "cannot open");
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "No such file or directory"));
    assert_refused(tmpdir_path, "not a regular file");
    /* the output must start empty */
    write_with_header(tmpdir_file(path, "ok.safetensors"), "{}", 0);
    tg_tensor_list out = {0};
    tg_tensor *t = tg_scalar(1);
    tg_tensor_list_add(&out, "x", t);
    ck_assert_int_eq(tg_safetensors_load(path, &out, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "must start empty"));
    ck_assert_int_eq(out.n, 1);
    tg_tensor_list_clear(&out);
    tg_release(t);
}
END_TEST

/* One malformed header: its JSON, the data bytes after it, and the words
 * the error must contain. */
typedef struct {
    const char *header;
    size_t data;
    const char *problem;
} bad_file;

/* One tensor entry: "name":{"dtype":..,"shape":..,"data_offsets":[b,e]} */
#define T(name, dtype, shape, b, e) \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static const bad_file bad_files[] = {
    /* JSON */
    {"{\"a\":{\"dtype\":\"F32\"", 0, "invalid JSON header: '}' expected near end of file"},
    {"{\"a\" {}}", 0, "invalid JSON header: ':' expected near '{' at byte 6"},
    {"{} {}", 0, "invalid JSON header: end of file expected near '{'"},
    {"{\"\xff\":{}}", 0, "invalid JSON header: unable to decode byte 0xff"},
    {"{\"\xc0\xaf\":{}}", 0, "invalid JSON header: unable to decode byte 0xc0"}, /* overlong */
    {"{\"\xed\xa0\x80\":{}}", 0, "invalid JSON header: unable to decode byte 0xed"}, /* encoded surrogate */
    {"{\"\\ud83d\":{}}", 0, "invalid JSON header: invalid Unicode '\\uD83D'"},     /* unpaired surrogate */
    {"{\"a\\u0000b\":{}}", 0, "invalid JSON header: NUL byte in object key not supported"},
    {"{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, "invalid JSON header: \\u0000 is not allowed"},
    {"\xef\xbb\xbf{}", 0, "invalid JSON header: invalid token"}, /* a byte order mark */
    {"[1, 2]", 0, "header is not a JSON object"},
    {"\"text\"", 0, "header is not a JSON object"},
    {"42", 0, "header is not a JSON object"},
    {"{\"a\":[1]}", 0, "tensor 'a': entry is not a JSON object"},
    /* dtypes */
    {"{" T("a", "F17", "[2]", 0, 8) "}", 8, "tensor 'a': unsupported dtype \"F17\" (tensorgrad reads F32 and I64)"},
    {"{" T("a", "F16", "[4]", 0, 8) "}", 8, "tensor 'a': unsupported dtype \"F16\""},
    {"{" T("a", "BF16", "[4]", 0, 8) "}", 8, "tensor 'a': unsupported dtype \"BF16\""},
    {"{" T("a", "F64", "[1]", 0, 8) "}", 8, "tensor 'a': unsupported dtype \"F64\""},
    {"{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': dtype is not a string"},
    /* entries */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 0, "tensor 'a': missing \"data_offsets\""},
    {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': missing \"dtype\""},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
     "invalid JSON header: duplicate object key near '\"dtype\"'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":{\"y\":1,\"y\":2}}}", 8,
     "invalid JSON header: duplicate object key near '\"y\"'"},
    {"{" T("a", "F32", "[-1]", 0, 0) "}", 0, "tensor 'a': shape is not a list of non-negative integers"},
    {"{" T("a", "F32", "[2.0]", 0, 8) "}", 8, "tensor 'a': shape is not a list of non-negative integers"},
    {"{" T("a", "F32", "[2e0]", 0, 8) "}", 8, "tensor 'a': shape is not a list of non-negative integers"},
    {"{" T("a", "F32", "[\"2\"]", 0, 8) "}", 8, "tensor 'a': shape is not a list of non-negative integers"},
    {"{" T("a", "F32", "[9223372036854775808]", 0, 8) "}", 8, "invalid JSON header: too big integer"},
    {"{" T("a", "F32", "[9007199254740993]", 0, 8) "}", 8, /* above 2^53, kept exact */
     "tensor 'a': shape (9007199254740993) of F32 needs 36028797018963972 bytes"},
    {"{" T("a", "F32", "2", 0, 8) "}", 8, "tensor 'a': shape is not a list of non-negative integers"},
    {"{" T("a", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, "tensor 'a': shape has 9 dims (at most 8)"},
    {"{" T("a", "F32", "[4611686018427387904,4]", 0, 8) "}", 8,
     "tensor 'a': shape (4611686018427387904,4) is too large"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 0,
     "tensor 'a': data_offsets is not a pair of non-negative integers"},
    {"{" T("a", "F32", "[2]", -8, 0) "}", 0, "tensor 'a': data_offsets is not a pair of non-negative integers"},
    {"{" T("a", "F32", "[2]", 0, 8.0) "}", 8, "tensor 'a': data_offsets is not a pair of non-negative integers"},
    {"{" T("a", "F32", "[2]", 0, 8e0) "}", 8, "tensor 'a': data_offsets is not a pair of non-negative integers"},
    {"{" T("a", "F32", "[2]", 0, "8") "}", 8, "tensor 'a': data_offsets is not a pair of non-negative integers"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 8,
     "tensor 'a': data_offsets is not a pair of non-negative integers"},
    {"{" T("a", "F32", "[2]", 0, 18446744073709551616) "}", 8, "invalid JSON header: too big integer"},
    {"{" T("a", "F32", "[2]", 8, 0) "}", 8, "tensor 'a': data_offsets [8, 0] end before they begin"},
    /* sizes and layout */
    {"{" T("a", "F32", "[2,3]", 0, 20) "}", 20,
     "tensor 'a': shape (2,3) of F32 needs 24 bytes but data_offsets [0, 20] hold 20"},
    {"{" T("a", "I64", "[3]", 0, 16) "}", 16, "tensor 'a': shape (3) of I64 needs 24 bytes"},
    {"{" T("a", "F32", "[]", 0, 0) "}", 0, "tensor 'a': shape () of F32 needs 4 bytes"},
    {"{" T("a", "F32", "[6]", 0, 24) "}", 16, "tensor 'a': data_offsets [0, 24] go beyond the data buffer (16 bytes)"},
    {"{" T("a", "F32", "[2]", 9007199254740993, 9007199254741001) "}", 8, /* above 2^53, kept exact */
     "tensor 'a': data_offsets [9007199254740993, 9007199254741001] go beyond the data buffer (8 bytes)"},
    {"{" T("a", "F32", "[4]", 0, 16) "," T("b", "F32", "[4]", 8, 24) "}", 24,
     "tensors 'a' [0, 16) and 'b' [8, 24) overlap"},
    {"{" T("b", "F32", "[2]", 0, 8) "," T("a", "F32", "[2]", 0, 8) "}", 8, "tensors 'b' [0, 8) and 'a' [0, 8) overlap"},
    {"{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 12, 20) "}", 20,
     "hole in the data buffer: bytes [8, 12) belong to no tensor"},
    {"{" T("a", "F32", "[2]", 4, 12) "}", 12, "hole in the data buffer: bytes [0, 4) belong to no tensor"},
    {"{" T("a", "F32", "[2]", 0, 8) "}", 12,
     "4 trailing bytes after the last tensor (tensors end at byte 8 of the 12-byte data buffer)"},
    {"{}", 4, "4 trailing bytes after the last tensor"},
    {"{" T("a", "F32", "[2]", 0, 8) "," T("a", "F32", "[2]", 8, 16) "}", 16,
     "invalid JSON header: duplicate object key near '\"a\"'"},
    /* metadata */
    {"{\"__metadata__\":[]}", 0, "__metadata__ is not a JSON object"},
    {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value of 'k' is not a string"},
    {"{\"__metadata__\":{\"k\":null}}", 0, "__metadata__ value of 'k' is not a string"},
    {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "invalid JSON header: duplicate object key near '\"k\"'"},
    {"{\"__metadata__\":{},\"__metadata__\":{}}", 0,
     "invalid JSON header: duplicate object key near '\"__metadata__\"'"},
    /* a good tensor before a bad one: nothing is kept */
    {"{" T("good", "F32", "[2]", 0, 8) "," T("bad", "U8", "[8]", 8, 16) "}", 16,
     "tensor 'bad': unsupported dtype \"U8\""},
};

/* Inside its length, the header's JSON value may be followed by
 * whitespace (the writer pads with spaces), and by nothing else. */
START_TEST(test_header_padding)
{
    char path[256];
    tmpdir_file(path, "pad.safetensors");
    tg_tensor_list out = {0};
    write_raw(path, 8, " {}\t\r\n  ", 8, 0);
    ck_assert_int_eq(tg_safetensors_load(path, &out, NULL), 0);
    ck_assert_int_eq(out.n, 0);
    write_raw(path, 8, "{}\0\0\0\0\0\0", 8, 0);
    assert_refused(path, "invalid JSON header: end of file expected");
    write_raw(path, 8, "{\"a\0\":1}", 8, 0);
    assert_refused(path, "invalid JSON header: control character 0x0");
}
END_TEST

START_TEST(test_refuses_malformed_headers)
{
    char path[256];
    tmpdir_file(path, "bad.safetensors");
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        write_with_header(path, bad_files[i].header, bad_files[i].data);
        assert_refused(path, bad_files[i].problem);
    }
}
END_TEST

/* ---- saving: errors and atomicity ---- */

START_TEST(test_save_refuses_bad_lists)
{
    char path[256];
    tmpdir_file(path, "x.safetensors");
    tg_tensor *t = tg_ones(TG_SHAPE(2), TG_FLOAT32);
    tg_tensor_list l = {0};
    tg_metadata meta = {0};
    tg_tensor_list_add(&l, "w", t);
    tg_tensor_list_add(&l, "b", t);
    tg_tensor_list_add(&l, "w", t);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "safetensors_save: "));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "duplicate tensor name 'w'"));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), path));
    tg_tensor_list_clear(&l);
    tg_tensor_list_add(&l, "__metadata__", t);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "a tensor cannot be named __metadata__"));
    tg_tensor_list_clear(&l);
    tg_tensor_list_add(&l, "bad\xff", t);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "is not valid UTF-8"));
    tg_tensor_list_clear(&l);
    tg_tensor_list_add(&l, "w", t);
    tg_metadata_add(&meta, "k", "1");
    tg_metadata_add(&meta, "k", "2");
    ck_assert_int_eq(tg_safetensors_save(path, &l, &meta), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "duplicate metadata key 'k'"));
    tg_metadata_clear(&meta);
    tg_metadata_add(&meta, "k", "\xc3");
    ck_assert_int_eq(tg_safetensors_save(path, &l, &meta), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "metadata 'k' is not valid UTF-8"));
    tg_metadata_clear(&meta);
    tg_metadata_add(&meta, "k\xff", "1");
    ck_assert_int_eq(tg_safetensors_save(path, &l, &meta), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "metadata key 'k\xff' is not valid UTF-8"));
    ck_assert_int_eq(tg_safetensors_save(NULL, &l, NULL), -1);
    ck_assert_int_eq(tg_safetensors_save(path, NULL, NULL), -1);
    ck_assert_int_eq(files_in_dir(), 0);
    tg_metadata_clear(&meta);
    tg_tensor_list_clear(&l);
    tg_release(t);
}
END_TEST

/* The last error is "<what> <path>.tmp-XXXXXX: <why>". */
static void assert_temporary_error(const char *what, const char *path, const char *why)
{
    char want[512];
    snprintf(want, sizeof want, "%s %s.tmp-", what, path);
    const char *at = strstr(tg_last_error(), want);
    ck_assert_msg(at != NULL, "got: %s", tg_last_error());
    ck_assert_msg(strncmp(at + strlen(want) + 6, ": ", 2) == 0, "got: %s", tg_last_error());
    ck_assert_str_eq(at + strlen(want) + 8, why);
}

START_TEST(test_save_into_missing_directory_leaves_nothing)
{
    char sub[256], path[256];
    tmpdir_file(sub, "missing");
    tmpdir_file(path, "missing/model.safetensors");
    tg_tensor *t = tg_ones(TG_SHAPE(2), TG_FLOAT32);
    tg_tensor_list l = {0};
    tg_tensor_list_add(&l, "w", t);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), -1);
    assert_temporary_error("safetensors_save: cannot create", path, "No such file or directory");
    struct stat st;
    ck_assert_int_eq(stat(sub, &st), -1);
    ck_assert_int_eq(files_in_dir(), 0);
    tg_tensor_list_clear(&l);
    tg_release(t);
}
END_TEST

/* path holds a file of the tensor "old"; its bytes in *len. */
static char *save_old_file(const char *path, size_t *len)
{
    tg_tensor *t = tg_from_data(TG_SHAPE(2), TG_FLOAT32, (float[]){1, 2});
    tg_tensor_list l = {0};
    tg_tensor_list_add(&l, "old", t);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), 0);
    tg_tensor_list_clear(&l);
    tg_release(t);
    return slurp(path, len);
}

static void assert_unchanged(const char *path, const char *old, size_t old_len)
{
    size_t len;
    char *now = slurp(path, &len);
    ck_assert_uint_eq(len, old_len);
    ck_assert_mem_eq(now, old, len);
    free(now);
    ck_assert_int_eq(files_in_dir(), 1); /* no temporary file left */
}

START_TEST(test_save_replaces_an_existing_file)
{
    char path[256];
    tmpdir_file(path, "model.safetensors");
    size_t len;
    free(save_old_file(path, &len));
    tg_tensor *t = tg_from_data(TG_SHAPE(3), TG_INT64, (int64_t[]){4, 5, 6});
    tg_tensor_list l = {0}, back = {0};
    tg_tensor_list_add(&l, "new", t);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), 0);
    ck_assert_int_eq(files_in_dir(), 1);
    ck_assert_int_eq(tg_safetensors_load(path, &back, NULL), 0);
    ck_assert_int_eq(back.n, 1);
    ck_assert_str_eq(back.items[0].name, "new");
    assert_same_tensor(back.items[0].tensor, t);
    tg_tensor_list_clear(&l), tg_tensor_list_clear(&back);
    tg_release(t);
}
END_TEST

START_TEST(test_failed_save_keeps_the_old_file)
{
    char path[256];
    tmpdir_file(path, "model.safetensors");
    size_t len;
    char *old = save_old_file(path, &len);
    tg_tensor *t = tg_ones(TG_SHAPE(2), TG_FLOAT32);
    tg_tensor_list l = {0};
    tg_tensor_list_add(&l, "new", t);
    tg_tensor_list_add(&l, "new", t);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "duplicate tensor name 'new'"));
    assert_unchanged(path, old, len);
    free(old);
    tg_tensor_list_clear(&l);
    tg_release(t);
}
END_TEST

/* A write that fails half-way (the file size limit stands in for a full
 * disk: EFBIG instead of ENOSPC, through the same checks). */
START_TEST(test_failed_write_keeps_the_old_file)
{
    char path[256];
    tmpdir_file(path, "model.safetensors");
    size_t len;
    char *old = save_old_file(path, &len);
    tg_tensor *big = tg_zeros(TG_SHAPE(256, 1024), TG_FLOAT32); /* 1 MiB */
    tg_tensor_list l = {0};
    tg_tensor_list_add(&l, "big", big);
    struct rlimit saved, small;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 64 * 1024;
    void (*handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = tg_safetensors_save(path, &l, NULL);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, handler);
    ck_assert_int_eq(rc, -1);
    assert_temporary_error("safetensors_save: cannot write", path, "File too large");
    assert_unchanged(path, old, len);
    free(old);
    tg_tensor_list_clear(&l);
    tg_release(big);
}
END_TEST

START_TEST(test_failed_rename_removes_the_temporary_file)
{
    char path[256];
    ck_assert_int_eq(mkdir(tmpdir_file(path, "a_directory"), 0700), 0);
    tg_tensor *t = tg_ones(TG_SHAPE(2), TG_FLOAT32);
    tg_tensor_list l = {0};
    tg_tensor_list_add(&l, "w", t);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "cannot rename"));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "Is a directory"));
    ck_assert_int_eq(files_in_dir(), 1);
    tg_tensor_list_clear(&l);
    tg_release(t);
}
END_TEST

/* ---- containers ---- */

START_TEST(test_tensor_list_and_metadata)
{
    tg_tensor *a = tg_scalar(1), *b = tg_scalar(2);
    tg_tensor_list l = {0};
    for (int i = 0; i < 20; i++) ck_assert_int_eq(tg_tensor_list_add(&l, i % 2 ? "b" : "a", i % 2 ? b : a), 0);
    ck_assert_int_eq(l.n, 20);
    ck_assert_int_eq(a->refcount, 11);
    tg_tensor *got = tg_tensor_list_get(&l, "b");
    ck_assert_ptr_eq(got, b);
    ck_assert_int_eq(b->refcount, 12);
    tg_release(got);
    tg_set_error("x.c", 1, "earlier");
    ck_assert_ptr_null(tg_tensor_list_get(&l, "c"));
    ck_assert_int_eq(tg_tensor_list_add(&l, "c", NULL), -1); /* NULL from an earlier failure */
    ck_assert_str_eq(tg_last_error(), "x.c:1: earlier");
    ck_assert_int_eq(tg_tensor_list_add(NULL, "c", a), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "tensor_list_add: l is NULL"));
    tg_tensor_list_clear(&l);
    ck_assert(l.n == 0 && l.items == NULL);
    ck_assert_int_eq(a->refcount, 1);
    tg_tensor_list_clear(NULL);
    tg_metadata m = {0};
    for (int i = 0; i < 20; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        ck_assert_int_eq(tg_metadata_add(&m, k, i % 2 ? "odd" : "even"), 0);
    }
    ck_assert_str_eq(tg_metadata_get(&m, "k7"), "odd");
    ck_assert_ptr_null(tg_metadata_get(&m, "k20"));
    ck_assert_int_eq(tg_metadata_add(&m, NULL, "v"), -1);
    tg_metadata_clear(&m);
    ck_assert(m.n == 0 && m.items == NULL);
    tg_release(a), tg_release(b);
}
END_TEST

/* ---- checksums ---- */

/* Flips one bit of the byte at offset from the end of the file at path. */
static void flip_bit(const char *path, long from_end, int bit)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, -from_end, SEEK_END), 0);
    int c = fgetc(f);
    ck_assert_int_ne(c, EOF);
    ck_assert_int_eq(fseek(f, -from_end, SEEK_END), 0);
    fputc(c ^ (1 << bit), f);
    ck_assert_int_eq(fclose(f), 0);
}

/* One flipped exponent bit in a tensor's data: the load is refused, the
 * tensor named; the other tensor's bytes are not what is blamed. */
START_TEST(test_a_flipped_bit_is_refused_and_named)
{
    char path[256];
    tmpdir_file(path, "flip.safetensors");
    tg_tensor_list l = {0}, back = {0};
    tg_tensor *a = tg_ones(TG_SHAPE(4), TG_FLOAT32), *b = tg_full(TG_SHAPE(2, 3), 0.5f);
    tg_tensor_list_add(&l, "layer.a", a);
    tg_tensor_list_add(&l, "layer.b", b);
    ck_assert_int_eq(tg_safetensors_save(path, &l, NULL), 0);
    ck_assert_int_eq(tg_safetensors_load(path, &back, NULL), 0);
    tg_tensor_list_clear(&back);
    flip_bit(path, 1, 6); /* the last byte of b's last float: an exponent bit */
    ck_assert_int_eq(tg_safetensors_load(path, &back, NULL), -1);
    const char *e = tg_last_error();
    ck_assert_msg(strstr(e, path) && strstr(e, "tensor 'layer.b' is corrupt"), "%s", e);
    ck_assert_int_eq(back.n, 0);
    tg_tensor_list_clear(&l);
    tg_release(a), tg_release(b);
}
END_TEST

START_TEST(test_checksum_keys_are_the_writers)
{
    char path[256];
    tmpdir_file(path, "keys.safetensors");
    tg_tensor_list l = {0};
    tg_metadata m = {0};
    tg_tensor *t = tg_ones(TG_SHAPE(2), TG_FLOAT32);
    tg_tensor_list_add(&l, "t", t);
    tg_metadata_add(&m, "crc32.t", "00000000");
    ck_assert_int_eq(tg_safetensors_save(path, &l, &m), -1);
    ck_assert_msg(strstr(tg_last_error(), "crc32.") && strstr(tg_last_error(), "checksums"), "%s", tg_last_error());
    tg_metadata_clear(&m);
    /* a malformed stored checksum is refused */
    const char header[] = "{\"__metadata__\":{\"crc32.t\":\"xyz\"},\"t\":{\"dtype\":\"F32\",\"shape\":[1],"
                          "\"data_offsets\":[0,4]}}";
    write_raw(path, sizeof header - 1, header, sizeof header - 1, 4);
    tg_tensor_list back = {0};
    ck_assert_int_eq(tg_safetensors_load(path, &back, NULL), -1);
    ck_assert_msg(strstr(tg_last_error(), "not 8 hex digits"), "%s", tg_last_error());
    tg_tensor_list_clear(&l);
    tg_release(t);
}
END_TEST

/* ---- interop with PyTorch ---- */

static tg_tensor *fixture_tensor(const tw_tensor *w)
{
    tg_dtype dtype = w->is_i64 ? TG_INT64 : TG_FLOAT32;
    return w->numel ? tg_from_data(w->ndim, w->shape, dtype, w->data) : tg_zeros(w->ndim, w->shape, dtype);
}

/* l and m hold exactly the fixture's tensors (in order) and metadata. */
static void assert_matches_fixture(const tg_tensor_list *l, const tg_metadata *m)
{
    ck_assert_int_eq(l->n, NFIXTURE);
    for (int i = 0; i < NFIXTURE; i++) {
        ck_assert_str_eq(l->items[i].name, torch_written[i].name);
        tg_tensor *want = fixture_tensor(&torch_written[i]);
        assert_same_tensor(l->items[i].tensor, want);
        tg_release(want);
    }
    ck_assert_int_eq(m->n, NFIXTURE_META);
    for (int i = 0; i < NFIXTURE_META; i++) {
        ck_assert_str_eq(m->items[i].key, torch_written_meta[i][0]);
        ck_assert_str_eq(m->items[i].value, torch_written_meta[i][1]);
    }
}

START_TEST(test_loads_a_file_written_by_torch)
{
    tg_tensor_list l = {0};
    tg_metadata m = {0};
    ck_assert_msg(tg_safetensors_load(TG_NN_FIXTURES "/torch_written.safetensors", &l, &m) == 0, "%s",
                  tg_last_error());
    assert_matches_fixture(&l, &m);
    tg_tensor *count = tg_tensor_list_get(&l, "bn1.num_batches_tracked");
    ck_assert(count->ndim == 0 && count->dtype == TG_INT64 && tg_get_i64(count, NULL) == 7);
    tg_release(count);
    tg_tensor_list_clear(&l);
    tg_metadata_clear(&m);
}
END_TEST

/* The fixture as the C side stores it: multi-dim float tensors as
 * transposed views of a transposed copy (same values, other strides). */
static tg_tensor *strided_fixture_tensor(const tw_tensor *w)
{
    tg_tensor *t = fixture_tensor(w);
    if (w->is_i64 || w->ndim < 2 || !w->numel || !t) return t;
    tg_tensor *tr = tg_k_transpose(t, 0, w->ndim - 1), *copy = tg_k_contiguous(tr);
    tg_tensor *view = tg_k_transpose(copy, 0, w->ndim - 1);
    tg_release(t), tg_release(tr), tg_release(copy);
    return view;
}

int write_c_fixture(const char *path)
{
    tg_tensor_list l = {0};
    tg_metadata m = {0};
    int rc = 0;
    for (int i = 0; rc == 0 && i < NFIXTURE; i++) {
        tg_tensor *t = strided_fixture_tensor(&torch_written[i]);
        rc = tg_tensor_list_add(&l, torch_written[i].name, t);
        tg_release(t);
    }
    for (int i = 0; rc == 0 && i < NFIXTURE_META; i++)
        rc = tg_metadata_add(&m, torch_written_meta[i][0], torch_written_meta[i][1]);
    if (rc == 0) rc = tg_safetensors_save(path, &l, &m);
    tg_tensor_list_clear(&l);
    tg_metadata_clear(&m);
    return rc;
}

/* The committed c_written.safetensors (checked by PyTorch with
 * `tools/make_fixtures_safetensors.py verify`) is what the library writes now. */
START_TEST(test_committed_c_fixture_is_current)
{
    char path[256];
    tmpdir_file(path, "c_written.safetensors");
    ck_assert_int_eq(write_c_fixture(path), 0);
    size_t len, committed_len;
    char *now = slurp(path, &len), *committed = slurp(TG_NN_FIXTURES "/c_written.safetensors", &committed_len);
    ck_assert_uint_eq(len, committed_len);
    ck_assert_mem_eq(now, committed, len);
    free(now), free(committed);
    tg_tensor_list l = {0};
    tg_metadata m = {0};
    ck_assert_int_eq(tg_safetensors_load(path, &l, &m), 0);
    assert_matches_fixture(&l, &m);
    tg_tensor_list_clear(&l);
    tg_metadata_clear(&m);
}
END_TEST

Suite *safetensors_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_add_checked_fixture(tc, tmpdir_make, tmpdir_remove);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_no_metadata_and_no_tensors);
    tcase_add_test(tc, test_refuses_short_files);
    tcase_add_test(tc, test_refuses_missing_files);
    tcase_add_test(tc, test_header_padding);
    tcase_add_test(tc, test_refuses_malformed_headers);
    tcase_add_test(tc, test_save_refuses_bad_lists);
    tcase_add_test(tc, test_save_into_missing_directory_leaves_nothing);
    tcase_add_test(tc, test_save_replaces_an_existing_file);
    tcase_add_test(tc, test_failed_save_keeps_the_old_file);
    tcase_add_test(tc, test_failed_write_keeps_the_old_file);
    tcase_add_test(tc, test_failed_rename_removes_the_temporary_file);
    tcase_add_test(tc, test_tensor_list_and_metadata);
    tcase_add_test(tc, test_a_flipped_bit_is_refused_and_named);
    tcase_add_test(tc, test_checksum_keys_are_the_writers);
    tcase_add_test(tc, test_loads_a_file_written_by_torch);
    tcase_add_test(tc, test_committed_c_fixture_is_current);
    suite_add_tcase(s, tc);
    return s;
}

/* safetensors checkpoints: the writer (atomic, through
 * tensor/internal/atomic_file.h) and the reader, which checks the whole file before it
 * keeps anything; jansson builds and parses the JSON header. See
 * safetensors.h for the format. */
#include "nn/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "tensor/internal/atomic_file.h"
#include "tensor/internal/check.h"
#include "tensor/internal/view.h"

/* safetensors is little-endian, and this file moves tensor bytes and the
 * header length between memory and the file as they are, with no byte
 * swapping: it builds only for little-endian hosts (x86-64, arm64). A
 * big-endian port would swap in write_tensor, read_tensor and the length. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

/* The reference reader refuses larger headers; so a corrupt length cannot
 * make us allocate gigabytes. */
#define MAX_HEADER_LEN 100000000u

/* Checksums: "crc32.<tensor name>" -> 8 hex digits in "__metadata__". */
#define CRC_PREFIX "crc32."
#define CRC_KEY_MAX 1024

#define SAVE_FAIL(...) TG_FAIL("safetensors_save: " __VA_ARGS__)
#define LOAD_FAIL(...) TG_FAIL("safetensors_load: " __VA_ARGS__)

/* ---- metadata ---- */

int tg_metadata_add(tg_metadata *m, const char *key, const char *value)
{
    if (!m || !key || !value) return TG_FAIL("metadata_add: NULL argument");
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        tg_kv *items = realloc(m->items, (size_t)cap * sizeof *items);
        if (!items) return TG_FAIL("metadata_add: out of memory");
        m->items = items;
        m->cap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return TG_FAIL("metadata_add: out of memory");
    }
    m->items[m->n++] = (tg_kv){k, v};
    return 0;
}

const char *tg_metadata_get(const tg_metadata *m, const char *key)
{
    if (TG_NEED("metadata_get", m, key)) return NULL;
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0) return m->items[i].value;
    return NULL;
}

void tg_metadata_clear(tg_metadata *m)
{
    if (!m) return;
    for (int i = 0; i < m->n; i++) {
        free(m->items[i].key);
        free(m->items[i].value);
    }
    free(m->items);
    *m = (tg_metadata){0};
}

/* ---- save ---- */

/* The header is written compact, keys in the order they were added. */
#define HEADER_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

static int check_tensors(const char *path, const tg_tensor_list *l)
{
    for (int i = 0; i < l->n; i++) {
        const char *name = l->items[i].name;
        if (!name || !l->items[i].tensor) return SAVE_FAIL("%s: item %d has a NULL name or tensor", path, i);
        if (strcmp(name, "__metadata__") == 0) return SAVE_FAIL("%s: a tensor cannot be named __metadata__", path);
    }
    return 0;
}

static int check_metadata(const char *path, const tg_metadata *m)
{
    for (int i = 0; i < m->n; i++)
        if (!m->items[i].key || !m->items[i].value) return SAVE_FAIL("%s: metadata item %d is NULL", path, i);
    return 0;
}

/* Why jansson refused the string s: it is not UTF-8, or memory ran out. */
static const char *refusal(const char *s)
{
    json_t *unchecked = json_string_nocheck(s);
    bool stored = unchecked != NULL;
    json_decref(unchecked);
    return stored ? "is not valid UTF-8" : "cannot be stored: out of memory";
}

/* Adds value (taking it; NULL after a failed allocation) to obj under
 * key, which must be new; what names the key in messages. */
static int add_member(const char *path, json_t *obj, const char *what, const char *key, json_t *value)
{
    if (!value) return SAVE_FAIL("%s: out of memory building the header", path);
    if (json_object_get(obj, key)) {
        json_decref(value);
        return SAVE_FAIL("%s: duplicate %s '%s'", path, what, key);
    }
    if (json_object_set_new(obj, key, value)) return SAVE_FAIL("%s: %s '%s' %s", path, what, key, refusal(key));
    return 0;
}

/* The caller's metadata into the "__metadata__" object obj: every key
 * and value as strings. */
static int add_metadata(const char *path, json_t *obj, const tg_metadata *m)
{
    for (int i = 0; i < m->n; i++) {
        const tg_kv *kv = &m->items[i];
        if (strncmp(kv->key, CRC_PREFIX, strlen(CRC_PREFIX)) == 0)
            return SAVE_FAIL("%s: metadata key '%s': the prefix \"" CRC_PREFIX "\" is the checksums'", path, kv->key);
        json_t *value = json_string(kv->value);
        if (!value) return SAVE_FAIL("%s: metadata '%s' %s", path, kv->key, refusal(kv->value));
        if (add_member(path, obj, "metadata key", kv->key, value)) return -1;
    }
    return 0;
}

static uint64_t tensor_nbytes(const tg_tensor *t) { return (uint64_t)tg_numel(t) * tg_dtype_size(t->dtype); }

/* The bytes the file stores for t: its elements in logical order (a new
 * reference; t itself when contiguous). */
static tg_tensor *stored_form(tg_tensor *t) { return tg_k_contiguous(t); }

static const void *stored_bytes(tg_tensor *c)
{
    return c->dtype == TG_INT64 ? (const void *)tg_data_i64(c) : (const void *)tg_data_f32(c);
}

/* crc32 (zlib's) of n bytes at p, fed in pieces zlib's uInt can hold. */
static uint32_t checksum(const void *p, uint64_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    for (const Bytef *b = p; n > 0;) {
        uInt piece = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
        crc = crc32(crc, b, piece);
        b += piece;
        n -= piece;
    }
    return (uint32_t)crc;
}

/* Adds "crc32.<name>" -> t's checksum, 8 lowercase hex digits, to obj. */
static int add_checksum(const char *path, json_t *obj, const char *name, tg_tensor *t)
{
    tg_tensor *c = stored_form(t);
    if (!c) return -1;
    char key[CRC_KEY_MAX], hex[9];
    snprintf(hex, sizeof hex, "%08" PRIx32, checksum(stored_bytes(c), tensor_nbytes(c)));
    tg_release(c);
    if (snprintf(key, sizeof key, CRC_PREFIX "%s", name) >= (int)sizeof key)
        return SAVE_FAIL("%s: tensor name '%s' is too long", path, name);
    return add_member(path, obj, "metadata key", key, json_string(hex));
}

/* One tensor's header entry: {"dtype":..,"shape":[..],"data_offsets":[begin,end]}; NULL when out of memory. */
static json_t *header_entry(const tg_tensor *t, uint64_t begin)
{
    json_t *shape = json_array();
    for (int d = 0; shape && d < t->ndim; d++)
        if (json_array_append_new(shape, json_integer(t->shape[d]))) {
            json_decref(shape);
            shape = NULL;
        }
    return json_pack("{s:s,s:o,s:[I,I]}", "dtype", t->dtype == TG_INT64 ? "I64" : "F32", "shape", shape,
                     "data_offsets", (json_int_t)begin, (json_int_t)(begin + tensor_nbytes(t)));
}

/* The JSON header: the metadata (the caller's, then a checksum a tensor),
 * then the tensors laid out in list order. No "__metadata__" when there is
 * neither metadata nor a tensor. */
static json_t *make_header(const char *path, const tg_tensor_list *l, const tg_metadata *meta)
{
    json_t *root = json_object(), *obj = json_object();
    int rc = root ? 0 : SAVE_FAIL("%s: out of memory building the header", path);
    if (!rc && ((meta && meta->n) || l->n)) rc = add_member(path, root, "key", "__metadata__", json_incref(obj));
    if (!rc && meta) rc = add_metadata(path, obj, meta);
    uint64_t offset = 0;
    for (int i = 0; rc == 0 && i < l->n; i++) {
        tg_tensor *t = l->items[i].tensor;
        rc = add_member(path, root, "tensor name", l->items[i].name, header_entry(t, offset)) ||
             add_checksum(path, obj, l->items[i].name, t);
        offset += tensor_nbytes(t);
    }
    json_decref(obj);
    if (rc == 0) return root;
    json_decref(root);
    return NULL;
}

/* The header's text, padded with spaces so the data buffer starts 8-byte aligned. */
typedef struct {
    char *data;
    size_t len;
} header_text;

static int format_header(const char *path, const json_t *root, header_text *out)
{
    size_t n = json_dumpb(root, NULL, 0, HEADER_FLAGS);
    out->len = (n + 7) / 8 * 8;
    out->data = n ? malloc(out->len) : NULL;
    if (!out->data || json_dumpb(root, out->data, n, HEADER_FLAGS) != n)
        return SAVE_FAIL("%s: out of memory writing the header", path);
    memset(out->data + n, ' ', out->len - n);
    return 0;
}

static int write_bytes(FILE *f, const char *tmp, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, f) != n) return SAVE_FAIL("cannot write %s: %s", tmp, strerror(errno));
    return 0;
}

/* t's elements in logical order, whatever its strides. */
static int write_tensor(FILE *f, const char *tmp, tg_tensor *t)
{
    tg_tensor *c = stored_form(t);
    if (!c) return -1;
    int rc = write_bytes(f, tmp, stored_bytes(c), (size_t)tensor_nbytes(c));
    tg_release(c);
    return rc;
}

/* What write_contents writes: the header, then the tensors. */
typedef struct {
    const header_text *header;
    const tg_tensor_list *tensors;
} contents;

static int write_contents(FILE *f, const char *tmp, void *ctx)
{
    const contents *c = ctx;
    uint64_t len = c->header->len; /* little-endian on this host (see the assert above) */
    if (write_bytes(f, tmp, &len, sizeof len) || write_bytes(f, tmp, c->header->data, c->header->len)) return -1;
    for (int i = 0; i < c->tensors->n; i++)
        if (write_tensor(f, tmp, c->tensors->items[i].tensor)) return -1;
    return 0;
}

int tg_safetensors_save(const char *path, const tg_tensor_list *tensors, const tg_metadata *meta)
{
    if (!path || !tensors) return SAVE_FAIL("NULL path or tensor list");
    if (check_tensors(path, tensors) || (meta && check_metadata(path, meta))) return -1;
    json_t *root = make_header(path, tensors, meta);
    if (!root) return -1;
    header_text header = {0};
    int rc = format_header(path, root, &header);
    if (rc == 0) rc = tg_write_file_atomic(path, "safetensors_save", write_contents, &(contents){&header, tensors});
    free(header.data);
    json_decref(root);
    return rc;
}

/* ---- load ---- */

/* One tensor as the header describes it. */
typedef struct {
    const char *name; /* borrowed from the parsed header */
    tg_dtype dtype;
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    uint64_t begin, end;
} entry;

typedef struct {
    const char *path;
    FILE *f;
    uint64_t header_len, buffer_len;
    char *header;
    json_t *root;
    entry *entries;
    int n;
    tg_tensor_list tensors; /* handed to the caller only when all is well */
    tg_metadata meta;
    tg_metadata checksums;  /* "crc32.<name>" entries, kept apart from meta */
} loader;

static int read_failed(const loader *ld, const char *what)
{
    const char *why = ferror(ld->f) ? strerror(errno) : "unexpected end of file";
    return LOAD_FAIL("%s: cannot read %s: %s", ld->path, what, why);
}

/* Opens the file, checks its size against the header length, reads the header. */
static int read_header(loader *ld)
{
    ld->f = fopen(ld->path, "rb");
    if (!ld->f) return LOAD_FAIL("cannot open %s: %s", ld->path, strerror(errno));
    struct stat st;
    if (fstat(fileno(ld->f), &st) != 0) return LOAD_FAIL("cannot stat %s: %s", ld->path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return LOAD_FAIL("%s: not a regular file", ld->path);
    uint64_t size = (uint64_t)st.st_size, len;
    if (size < 8)
        return LOAD_FAIL("%s: file too short (%" PRIu64 " bytes) for the 8-byte header length", ld->path, size);
    if (fread(&len, sizeof len, 1, ld->f) != 1) return read_failed(ld, "the header length");
    if (len > size - 8)
        return LOAD_FAIL("%s: header length %" PRIu64 " goes beyond the end of the file (%" PRIu64 " bytes)", ld->path,
                         len, size);
    if (len > MAX_HEADER_LEN)
        return LOAD_FAIL("%s: header length %" PRIu64 " is over the limit of %u bytes", ld->path, len, MAX_HEADER_LEN);
    ld->header = malloc(len ? len : 1);
    if (!ld->header) return LOAD_FAIL("%s: out of memory for a %" PRIu64 "-byte header", ld->path, len);
    if (len && fread(ld->header, 1, len, ld->f) != len) return read_failed(ld, "the header");
    ld->header_len = len;
    ld->buffer_len = size - 8 - len;
    return 0;
}

static int read_metadata(loader *ld, json_t *v)
{
    if (!json_is_object(v)) return LOAD_FAIL("%s: __metadata__ is not a JSON object", ld->path);
    const char *key;
    const json_t *value;
    json_object_foreach(v, key, value) {
        if (!json_is_string(value))
            return LOAD_FAIL("%s: __metadata__ value of '%s' is not a string", ld->path, key);
        bool sum = strncmp(key, CRC_PREFIX, strlen(CRC_PREFIX)) == 0;
        if (tg_metadata_add(sum ? &ld->checksums : &ld->meta, key, json_string_value(value))) return -1;
    }
    return 0;
}

/* A non-negative integer written without fraction or exponent (jansson
 * keeps integers exact up to 2^63 - 1 and refuses larger ones). */
static bool is_count(const json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 0; }

static int missing(const loader *ld, const char *name, const char *key)
{
    return LOAD_FAIL("%s: tensor '%s': missing \"%s\"", ld->path, name, key);
}

static int parse_dtype(const loader *ld, const json_t *v, entry *e)
{
    if (!v) return missing(ld, e->name, "dtype");
    if (!json_is_string(v)) return LOAD_FAIL("%s: tensor '%s': dtype is not a string", ld->path, e->name);
    const char *name = json_string_value(v);
    if (strcmp(name, "F32") == 0) e->dtype = TG_FLOAT32;
    else if (strcmp(name, "I64") == 0) e->dtype = TG_INT64;
    else
        return LOAD_FAIL("%s: tensor '%s': unsupported dtype \"%s\" (tensorgrad reads F32 and I64)", ld->path, e->name,
                         name);
    return 0;
}

static int parse_shape(const loader *ld, const json_t *v, entry *e)
{
    if (!v) return missing(ld, e->name, "shape");
    bool ok = json_is_array(v);
    size_t n = json_array_size(v);
    for (size_t d = 0; ok && d < n; d++) ok = is_count(json_array_get(v, d));
    if (!ok) return LOAD_FAIL("%s: tensor '%s': shape is not a list of non-negative integers", ld->path, e->name);
    if (n > TG_MAX_DIMS)
        return LOAD_FAIL("%s: tensor '%s': shape has %zu dims (at most %d)", ld->path, e->name, n, TG_MAX_DIMS);
    e->ndim = (int)n;
    for (size_t d = 0; d < n; d++) e->shape[d] = json_integer_value(json_array_get(v, d));
    return 0;
}

static int parse_offsets(const loader *ld, const json_t *v, entry *e)
{
    if (!v) return missing(ld, e->name, "data_offsets");
    const json_t *begin = json_array_get(v, 0), *end = json_array_get(v, 1);
    if (json_array_size(v) != 2 || !is_count(begin) || !is_count(end))
        return LOAD_FAIL("%s: tensor '%s': data_offsets is not a pair of non-negative integers", ld->path, e->name);
    e->begin = (uint64_t)json_integer_value(begin);
    e->end = (uint64_t)json_integer_value(end);
    if (e->end < e->begin)
        return LOAD_FAIL("%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin", ld->path,
                         e->name, e->begin, e->end);
    return 0;
}

/* The shape and dtype must need exactly the bytes the offsets span. */
static int check_size(const loader *ld, const entry *e)
{
    char shape[TG_SHAPE_STR_LEN];
    tg_shape_str(e->ndim, e->shape, shape, sizeof shape);
    uint64_t numel = 1, limit = (uint64_t)INT64_MAX / 8;
    for (int d = 0; d < e->ndim; d++) {
        if (e->shape[d] == 0) numel = 0;
        else if (numel > limit / (uint64_t)e->shape[d])
            return LOAD_FAIL("%s: tensor '%s': shape %s is too large", ld->path, e->name, shape);
        else numel *= (uint64_t)e->shape[d];
    }
    uint64_t need = numel * tg_dtype_size(e->dtype);
    if (need != e->end - e->begin)
        return LOAD_FAIL("%s: tensor '%s': shape %s of %s needs %" PRIu64 " bytes but data_offsets [%" PRIu64
                         ", %" PRIu64 "] hold %" PRIu64,
                         ld->path, e->name, shape, e->dtype == TG_INT64 ? "I64" : "F32", need, e->begin, e->end,
                         e->end - e->begin);
    return 0;
}

/* Keys other than dtype, shape and data_offsets are ignored, as by the reference reader. */
static int parse_entry(const loader *ld, const char *name, const json_t *v, entry *e)
{
    e->name = name;
    if (!json_is_object(v)) return LOAD_FAIL("%s: tensor '%s': entry is not a JSON object", ld->path, name);
    if (parse_dtype(ld, json_object_get(v, "dtype"), e) || parse_shape(ld, json_object_get(v, "shape"), e) ||
        parse_offsets(ld, json_object_get(v, "data_offsets"), e))
        return -1;
    return check_size(ld, e);
}

/* The header as a JSON object: its metadata and one entry per tensor, in
 * the order of the text. jansson checks the UTF-8, refuses a duplicate key
 * in any object, and allows only whitespace after the value. */
static int parse_header(loader *ld)
{
    json_error_t why;
    ld->root = json_loadb(ld->header, ld->header_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &why);
    if (!ld->root) return LOAD_FAIL("%s: invalid JSON header: %s at byte %d", ld->path, why.text, why.position);
    if (!json_is_object(ld->root)) return LOAD_FAIL("%s: header is not a JSON object", ld->path);
    size_t n = json_object_size(ld->root);
    ld->entries = malloc((n > 0 ? n : 1) * sizeof *ld->entries);
    if (!ld->entries) return LOAD_FAIL("%s: out of memory", ld->path);
    const char *key;
    json_t *v;
    json_object_foreach(ld->root, key, v) {
        bool meta = strcmp(key, "__metadata__") == 0;
        if (meta ? read_metadata(ld, v) : parse_entry(ld, key, v, &ld->entries[ld->n++])) return -1;
    }
    return 0;
}

static int compare_offsets(const void *a, const void *b)
{
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x < y ? -1 : x > y; /* header order, so messages do not depend on qsort */
}

/* With the entries sorted by offset, each must start where the last ended. */
static int check_tiling(const loader *ld, const entry **order)
{
    uint64_t at = 0;
    const entry *last = NULL;
    for (int k = 0; k < ld->n; k++) {
        const entry *e = order[k];
        if (e->begin < at)
            return LOAD_FAIL("%s: tensors '%s' [%" PRIu64 ", %" PRIu64 ") and '%s' [%" PRIu64 ", %" PRIu64 ") overlap",
                             ld->path, last->name, last->begin, last->end, e->name, e->begin, e->end);
        if (e->begin > at)
            return LOAD_FAIL("%s: hole in the data buffer: bytes [%" PRIu64 ", %" PRIu64 ") belong to no tensor",
                             ld->path, at, e->begin);
        at = e->end;
        last = e;
    }
    if (at < ld->buffer_len)
        return LOAD_FAIL("%s: %" PRIu64 " trailing bytes after the last tensor (tensors end at byte %" PRIu64
                         " of the %" PRIu64 "-byte data buffer)",
                         ld->path, ld->buffer_len - at, at, ld->buffer_len);
    return 0;
}

/* Every tensor inside the data buffer, and together they tile it. */
static int check_layout(const loader *ld)
{
    for (int i = 0; i < ld->n; i++) {
        const entry *e = &ld->entries[i];
        if (e->end > ld->buffer_len)
            return LOAD_FAIL("%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                             "] go beyond the data buffer (%" PRIu64 " bytes)",
                             ld->path, e->name, e->begin, e->end, ld->buffer_len);
    }
    const entry **order = malloc((ld->n > 0 ? (size_t)ld->n : 1) * sizeof *order);
    if (!order) return LOAD_FAIL("%s: out of memory", ld->path);
    for (int i = 0; i < ld->n; i++) order[i] = &ld->entries[i];
    qsort(order, (size_t)ld->n, sizeof *order, compare_offsets);
    int rc = check_tiling(ld, order);
    free(order);
    return rc;
}

/* The checksum the file stores for e, if any, against its bytes read. */
static int verify_checksum(const loader *ld, const entry *e, const void *bytes)
{
    char key[CRC_KEY_MAX], *end = NULL;
    snprintf(key, sizeof key, CRC_PREFIX "%s", e->name);
    const char *stored = tg_metadata_get(&ld->checksums, key);
    if (!stored) return 0; /* files made elsewhere (PyTorch) carry none */
    unsigned long want = strtoul(stored, &end, 16);
    if (strlen(stored) != 8 || strspn(stored, "0123456789abcdefABCDEF") != 8 || *end)
        return LOAD_FAIL("%s: tensor '%s': its checksum \"%s\" is not 8 hex digits", ld->path, e->name, stored);
    uint32_t got = checksum(bytes, e->end - e->begin);
    if (got != want)
        return LOAD_FAIL("%s: tensor '%s' is corrupt: its bytes have crc32 %08" PRIx32 ", the file recorded %s",
                         ld->path, e->name, got, stored);
    return 0;
}

static int read_tensor(loader *ld, const entry *e)
{
    tg_tensor *t = tg_empty(e->ndim, e->shape, e->dtype);
    if (!t) {
        char why[512];
        snprintf(why, sizeof why, "%s", tg_last_error());
        return LOAD_FAIL("%s: tensor '%s': %s", ld->path, e->name, why);
    }
    void *p = e->dtype == TG_INT64 ? (void *)tg_data_i64(t) : (void *)tg_data_f32(t);
    size_t n = (size_t)(e->end - e->begin);
    int rc = 0;
    if (n && (fseeko(ld->f, (off_t)(8 + ld->header_len + e->begin), SEEK_SET) != 0 || fread(p, 1, n, ld->f) != n))
        rc = LOAD_FAIL("%s: cannot read tensor '%s': %s", ld->path, e->name,
                       ferror(ld->f) ? strerror(errno) : "unexpected end of file");
    if (rc == 0) rc = verify_checksum(ld, e, p);
    if (rc == 0) rc = tg_tensor_list_add(&ld->tensors, e->name, t);
    tg_release(t);
    return rc;
}

static void loader_free(loader *ld)
{
    if (ld->f) fclose(ld->f);
    free(ld->header);
    json_decref(ld->root);
    free(ld->entries);
    tg_tensor_list_clear(&ld->tensors);
    tg_metadata_clear(&ld->meta);
    tg_metadata_clear(&ld->checksums);
}

int tg_safetensors_load(const char *path, tg_tensor_list *out, tg_metadata *meta)
{
    if (!path || !out) return LOAD_FAIL("NULL path or output list");
    if (out->n || (meta && meta->n)) return LOAD_FAIL("%s: the output list and metadata must start empty", path);
    loader ld = {.path = path};
    int rc = read_header(&ld) || parse_header(&ld) || check_layout(&ld) ? -1 : 0;
    for (int i = 0; rc == 0 && i < ld.n; i++) rc = read_tensor(&ld, &ld.entries[i]);
    if (rc == 0) {
        free(out->items);
        *out = ld.tensors;
        ld.tensors = (tg_tensor_list){0};
        if (meta) {
            free(meta->items);
            *meta = ld.meta;
            ld.meta = (tg_metadata){0};
        }
    }
    loader_free(&ld);
    return rc;
}

/* safetensors checkpoints: the writer (atomic, through
 * tensor/atomic_file.h) and the reader, which checks the whole file before it
 * keeps anything. See safetensors.h for the format. */
#include "nn/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/json.h"
#include "tensor/atomic_file.h"
#include "tensor/internal/view.h"

/* safetensors is little-endian, and this file moves tensor bytes and the
 * header length between memory and the file as they are, with no byte
 * swapping: it builds only for little-endian hosts (x86-64, arm64). A
 * big-endian port would swap in write_tensor, read_tensor and the length. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

/* The reference reader refuses larger headers; so a corrupt length cannot
 * make us allocate gigabytes. */
#define MAX_HEADER_LEN 100000000u

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
    for (int i = 0; m && key && i < m->n; i++)
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

/* ---- names ---- */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A name that occurs more than once in names[0..n) (which it sorts), or NULL. */
static const char *duplicate_name(const char **names, int n)
{
    qsort(names, (size_t)n, sizeof *names, compare_names);
    for (int i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) return names[i];
    return NULL;
}

/* Keys of a list of n items of size item_size whose first field is a
 * char * (tg_named_tensor, tg_kv): the duplicate found, or NULL. Sets
 * *oom when the scratch array cannot be allocated. */
static const char *duplicate_key(const void *items, int n, size_t item_size, int *oom)
{
    const char **names = malloc((n > 0 ? (size_t)n : 1) * sizeof *names);
    *oom = !names;
    if (!names) return NULL;
    for (int i = 0; i < n; i++) names[i] = *(const char *const *)((const char *)items + (size_t)i * item_size);
    const char *dup = duplicate_name(names, n);
    free(names);
    return dup;
}

static bool is_utf8(const char *s) { return tg_json_utf8_valid(s, strlen(s)); }

/* ---- save ---- */

static int check_tensors(const char *path, const tg_tensor_list *l)
{
    for (int i = 0; i < l->n; i++) {
        const char *name = l->items[i].name;
        if (!name || !l->items[i].tensor) return SAVE_FAIL("%s: item %d has a NULL name or tensor", path, i);
        if (!is_utf8(name)) return SAVE_FAIL("%s: tensor name '%s' is not valid UTF-8", path, name);
        if (strcmp(name, "__metadata__") == 0) return SAVE_FAIL("%s: a tensor cannot be named __metadata__", path);
    }
    int oom;
    const char *dup = duplicate_key(l->items, l->n, sizeof *l->items, &oom);
    if (oom) return SAVE_FAIL("%s: out of memory", path);
    if (dup) return SAVE_FAIL("%s: duplicate tensor name '%s'", path, dup);
    return 0;
}

static int check_metadata(const char *path, const tg_metadata *m)
{
    for (int i = 0; i < m->n; i++) {
        if (!m->items[i].key || !m->items[i].value) return SAVE_FAIL("%s: metadata item %d is NULL", path, i);
        if (!is_utf8(m->items[i].key) || !is_utf8(m->items[i].value))
            return SAVE_FAIL("%s: metadata '%s' is not valid UTF-8", path, m->items[i].key);
    }
    int oom;
    const char *dup = duplicate_key(m->items, m->n, sizeof *m->items, &oom);
    if (oom) return SAVE_FAIL("%s: out of memory", path);
    if (dup) return SAVE_FAIL("%s: duplicate metadata key '%s'", path, dup);
    return 0;
}

static uint64_t tensor_nbytes(const tg_tensor *t) { return (uint64_t)tg_numel(t) * tg_dtype_size(t->dtype); }

/* One tensor's header entry: "name":{"dtype":..,"shape":[..],"data_offsets":[..]} */
static void header_entry(tg_json_buf *b, const char *name, const tg_tensor *t, uint64_t begin)
{
    tg_json_append_string(b, name);
    tg_json_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", t->dtype == TG_INT64 ? "I64" : "F32");
    for (int d = 0; d < t->ndim; d++) tg_json_printf(b, "%s%" PRId64, d ? "," : "", t->shape[d]);
    tg_json_printf(b, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", begin, begin + tensor_nbytes(t));
}

/* The JSON header, tensors laid out in list order, padded with spaces so
 * the data buffer starts 8-byte aligned. */
static int make_header(const char *path, const tg_tensor_list *l, const tg_metadata *meta, tg_json_buf *b)
{
    tg_json_append(b, "{", 1);
    if (meta && meta->n) {
        tg_json_append(b, "\"__metadata__\":{", 16);
        for (int i = 0; i < meta->n; i++) {
            if (i) tg_json_append(b, ",", 1);
            tg_json_append_string(b, meta->items[i].key);
            tg_json_append(b, ":", 1);
            tg_json_append_string(b, meta->items[i].value);
        }
        tg_json_append(b, l->n ? "}," : "}", l->n ? 2 : 1);
    }
    uint64_t offset = 0;
    for (int i = 0; i < l->n; i++) {
        if (i) tg_json_append(b, ",", 1);
        header_entry(b, l->items[i].name, l->items[i].tensor, offset);
        offset += tensor_nbytes(l->items[i].tensor);
    }
    tg_json_append(b, "}", 1);
    while (!b->failed && b->len % 8) tg_json_append(b, " ", 1);
    return b->failed ? SAVE_FAIL("%s: out of memory building the header", path) : 0;
}

static int write_bytes(FILE *f, const char *tmp, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, f) != n) return SAVE_FAIL("cannot write %s: %s", tmp, strerror(errno));
    return 0;
}

/* t's elements in logical order, whatever its strides. */
static int write_tensor(FILE *f, const char *tmp, tg_tensor *t)
{
    tg_tensor *c = tg_k_contiguous(t);
    if (!c) return -1;
    const void *p = c->dtype == TG_INT64 ? (const void *)tg_data_i64(c) : (const void *)tg_data_f32(c);
    int rc = write_bytes(f, tmp, p, (size_t)tensor_nbytes(c));
    tg_release(c);
    return rc;
}

/* What write_contents writes: the header, then the tensors. */
typedef struct {
    const tg_json_buf *header;
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
    tg_json_buf header = {0};
    int rc = make_header(path, tensors, meta, &header);
    if (rc == 0) rc = tg_write_file_atomic(path, "safetensors_save", write_contents, &(contents){&header, tensors});
    tg_json_buf_free(&header);
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
    tg_json *root;
    entry *entries;
    int n;
    bool have_meta;
    tg_tensor_list tensors; /* handed to the caller only when all is well */
    tg_metadata meta;
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

static int read_metadata(loader *ld, const tg_json *v)
{
    if (ld->have_meta) return LOAD_FAIL("%s: duplicate key \"__metadata__\"", ld->path);
    ld->have_meta = true;
    if (v->type != TG_JSON_OBJECT) return LOAD_FAIL("%s: __metadata__ is not a JSON object", ld->path);
    for (int i = 0; i < v->n; i++) {
        if (v->items[i].type != TG_JSON_STRING)
            return LOAD_FAIL("%s: __metadata__ value of '%s' is not a string", ld->path, v->keys[i]);
        if (tg_metadata_add(&ld->meta, v->keys[i], v->items[i].string)) return -1;
    }
    return 0;
}

static bool is_count(const tg_json *v) { return v->type == TG_JSON_NUMBER && v->is_int && v->integer >= 0; }

static int missing(const loader *ld, const char *name, const char *key)
{
    return LOAD_FAIL("%s: tensor '%s': missing \"%s\"", ld->path, name, key);
}

static int parse_dtype(const loader *ld, const tg_json *v, entry *e)
{
    if (!v) return missing(ld, e->name, "dtype");
    if (v->type != TG_JSON_STRING) return LOAD_FAIL("%s: tensor '%s': dtype is not a string", ld->path, e->name);
    if (strcmp(v->string, "F32") == 0) e->dtype = TG_FLOAT32;
    else if (strcmp(v->string, "I64") == 0) e->dtype = TG_INT64;
    else
        return LOAD_FAIL("%s: tensor '%s': unsupported dtype \"%s\" (tensorgrad reads F32 and I64)", ld->path, e->name,
                         v->string);
    return 0;
}

static int parse_shape(const loader *ld, const tg_json *v, entry *e)
{
    if (!v) return missing(ld, e->name, "shape");
    bool ok = v->type == TG_JSON_ARRAY;
    for (int d = 0; ok && d < v->n; d++) ok = is_count(&v->items[d]);
    if (!ok) return LOAD_FAIL("%s: tensor '%s': shape is not a list of non-negative integers", ld->path, e->name);
    if (v->n > TG_MAX_DIMS)
        return LOAD_FAIL("%s: tensor '%s': shape has %d dims (at most %d)", ld->path, e->name, v->n, TG_MAX_DIMS);
    e->ndim = v->n;
    for (int d = 0; d < v->n; d++) e->shape[d] = v->items[d].integer;
    return 0;
}

static int parse_offsets(const loader *ld, const tg_json *v, entry *e)
{
    if (!v) return missing(ld, e->name, "data_offsets");
    if (v->type != TG_JSON_ARRAY || v->n != 2 || !is_count(&v->items[0]) || !is_count(&v->items[1]))
        return LOAD_FAIL("%s: tensor '%s': data_offsets is not a pair of non-negative integers", ld->path, e->name);
    e->begin = (uint64_t)v->items[0].integer;
    e->end = (uint64_t)v->items[1].integer;
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

static int parse_entry(const loader *ld, const char *name, const tg_json *v, entry *e)
{
    e->name = name;
    if (v->type != TG_JSON_OBJECT) return LOAD_FAIL("%s: tensor '%s': entry is not a JSON object", ld->path, name);
    const tg_json *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (int i = 0; i < v->n; i++) {
        const char *k = v->keys[i];
        const tg_json **slot = !strcmp(k, "dtype") ? &dtype : !strcmp(k, "shape") ? &shape
                             : !strcmp(k, "data_offsets") ? &offsets : NULL;
        if (!slot) continue; /* other keys are ignored, as by the reference reader */
        if (*slot) return LOAD_FAIL("%s: tensor '%s': duplicate key \"%s\"", ld->path, name, k);
        *slot = &v->items[i];
    }
    if (parse_dtype(ld, dtype, e) || parse_shape(ld, shape, e) || parse_offsets(ld, offsets, e)) return -1;
    return check_size(ld, e);
}

/* The header as a JSON object: its metadata and one entry per tensor. */
static int parse_header(loader *ld)
{
    char why[256];
    ld->root = tg_json_parse(ld->header, ld->header_len, why, sizeof why);
    if (!ld->root) return LOAD_FAIL("%s: invalid JSON header: %s", ld->path, why);
    const tg_json *root = ld->root;
    if (root->type != TG_JSON_OBJECT) return LOAD_FAIL("%s: header is not a JSON object", ld->path);
    ld->entries = malloc((root->n > 0 ? (size_t)root->n : 1) * sizeof *ld->entries);
    if (!ld->entries) return LOAD_FAIL("%s: out of memory", ld->path);
    for (int i = 0; i < root->n; i++) {
        const char *key = root->keys[i];
        const tg_json *v = &root->items[i];
        bool meta = strcmp(key, "__metadata__") == 0;
        if (meta ? read_metadata(ld, v) : parse_entry(ld, key, v, &ld->entries[ld->n++])) return -1;
    }
    return 0;
}

static int check_names(const loader *ld)
{
    int oom;
    const char *dup = duplicate_key(ld->entries, ld->n, sizeof *ld->entries, &oom);
    if (!oom && dup) return LOAD_FAIL("%s: duplicate tensor name '%s'", ld->path, dup);
    if (!oom) dup = duplicate_key(ld->meta.items, ld->meta.n, sizeof *ld->meta.items, &oom);
    if (oom) return LOAD_FAIL("%s: out of memory", ld->path);
    if (dup) return LOAD_FAIL("%s: duplicate __metadata__ key '%s'", ld->path, dup);
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
    if (rc == 0) rc = tg_tensor_list_add(&ld->tensors, e->name, t);
    tg_release(t);
    return rc;
}

static void loader_free(loader *ld)
{
    if (ld->f) fclose(ld->f);
    free(ld->header);
    tg_json_free(ld->root);
    free(ld->entries);
    tg_tensor_list_clear(&ld->tensors);
    tg_metadata_clear(&ld->meta);
}

int tg_safetensors_load(const char *path, tg_tensor_list *out, tg_metadata *meta)
{
    if (!path || !out) return LOAD_FAIL("NULL path or output list");
    if (out->n || (meta && meta->n)) return LOAD_FAIL("%s: the output list and metadata must start empty", path);
    loader ld = {.path = path};
    int rc = read_header(&ld) || parse_header(&ld) || check_names(&ld) || check_layout(&ld) ? -1 : 0;
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

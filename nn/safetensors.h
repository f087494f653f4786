/* Checkpoints in the safetensors format, so weights move both ways between
 * tensorgrad and PyTorch (`safetensors.torch.save_file` / `load_file`).
 *
 * A file is: an 8-byte little-endian u64 N; N bytes of UTF-8 JSON,
 *   {"__metadata__": {"key": "value", ...},
 *    "layer1.0.conv1.weight": {"dtype": "F32", "shape": [64, 64, 3, 3],
 *                              "data_offsets": [begin, end]}, ...}
 * padded with spaces to a multiple of 8 bytes; then the data buffer, in
 * which each tensor's row-major little-endian bytes lie at [begin, end).
 * The tensors tile the buffer exactly: no gaps, no overlap, nothing after.
 * tensorgrad reads and writes the dtypes it has: F32 (float32), I64 (int64).
 *
 * Integrity: the writer stores a checksum of every tensor in the metadata,
 * "crc32.<tensor name>" -> 8 lowercase hex digits, zlib's crc32 of the
 * tensor's bytes in the file (string values, so PyTorch and safetensors
 * read the file as any other). The reader verifies each tensor that has
 * one and refuses a mismatch, naming the file and the tensor; files
 * without checksums (made by PyTorch) load as before. */
#ifndef TG_NN_SAFETENSORS_H
#define TG_NN_SAFETENSORS_H

#include "nn/tensor_list.h"
#include "tensor/export.h"

/* String metadata stored with a file (the "__metadata__" object), in order.
 * A zero-initialised tg_metadata is empty; it owns copies of its strings. */
typedef struct {
    char *key, *value;
} tg_kv;

typedef struct {
    int n, cap;
    tg_kv *items;
} tg_metadata;

/* Appends a copy of (key, value). Keys need not be unique here; saving
 * refuses duplicates. -1 with error on NULL arguments or out of memory. */
TG_API int tg_metadata_add(tg_metadata *m, const char *key, const char *value);
/* The value of the first entry named key (borrowed from m), or NULL (with
 * an error only for a NULL argument). */
TG_API const char *tg_metadata_get(const tg_metadata *m, const char *key);
/* Frees every entry; m is empty afterwards. NULL is fine. */
TG_API void tg_metadata_clear(tg_metadata *m);

/* Writes tensors (any strides; written in logical order) and meta (may be
 * NULL) to path, replacing any file there. Names and metadata keys must be
 * unique and UTF-8, no tensor may be named "__metadata__" and no metadata
 * key may start with "crc32." (the checksums the writer adds).
 *
 * Atomic (tensor/internal/atomic_file.h): the bytes go to path.tmp-XXXXXX in the
 * same directory, which is flushed and fsync'ed, then renamed over path, and
 * the directory is fsync'ed. On failure the temporary file is removed and a
 * file already at path is left as it was; -1 with an error naming the file
 * and the cause ("safetensors_save: cannot write /x/y.tmp-a8Zk3Q: No space
 * left on device").
 * The one exception: if only the final directory sync fails, path already
 * holds the new file, which may not survive a power loss; -1 says so. */
TG_API int tg_safetensors_save(const char *path, const tg_tensor_list *tensors, const tg_metadata *meta);

/* Reads path into out (and its metadata into meta, unless meta is NULL), in
 * the order the tensors appear in the file's header; each tensor is new and
 * contiguous. out and meta must be empty on entry.
 *
 * The whole file is checked before anything is kept: a file that is too
 * short, a header length beyond the file, a header that is not a JSON
 * object (or is not UTF-8, holds a duplicate key in any object, or is
 * followed by anything but whitespace), shapes and offsets that are not
 * non-negative integers (exact up to 2^63 - 1), an unknown or unsupported
 * dtype, a shape that does not match its data_offsets, offsets outside the
 * data buffer, tensors that overlap or leave holes, trailing bytes, or a
 * tensor whose bytes do not match its stored checksum ("tensor 'fc.weight'
 * is corrupt") is refused with -1 and a message naming the file and the
 * problem; out and meta are then left empty. The checksums are verified
 * here and not returned in meta, so loaded metadata saves again as it is. */
TG_API int tg_safetensors_load(const char *path, tg_tensor_list *out, tg_metadata *meta);

#endif

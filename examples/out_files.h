/* What the example programs write into their output directories: the
 * directory itself, text files written whole (results.json, a log cut back
 * on resume), replaced atomically (tensor/atomic_file.h): a reader sees the
 * old file or the new one, never a part; and the numbers in their JSON. */
#ifndef EXAMPLES_OUT_FILES_H
#define EXAMPLES_OUT_FILES_H

#include <stddef.h>

#include "nn/json.h"

/* Makes dir and its missing parents (mkdir -p). 0, or -1 after printing why. */
int out_make_dir(const char *dir);
/* Writes len bytes of text to path. 0, or -1 after printing why. */
int out_write_text(const char *path, const char *text, size_t len);
/* v in the fewest digits that read back as v (%.15g, else %.17g); null
 * for NaN or an infinity, which JSON cannot hold. */
void out_json_number(tg_json_buf *b, double v);
/* ,"key":value (out_json_number) for each of the n pairs: members after others. */
void out_json_numbers(tg_json_buf *b, const char *const *keys, const double *values, int n);
/* Writes b's text to "<dir>/<name>" (unless b ran out of memory), says so
 * on stdout, and frees b. 0, or -1 after printing why, as prog. */
int out_write_json(const char *dir, const char *name, tg_json_buf *b, const char *prog);

#endif

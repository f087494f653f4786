/* The programs' JSON files (results.json...): the numbers in them, and
 * writing them whole, replaced atomically (tg_train_write_file): a reader
 * sees the old file or the new one, never a part. */
#ifndef APPS_OUT_FILES_H
#define APPS_OUT_FILES_H

#include <stddef.h>

#include "nn/json.h"

/* v in the fewest digits that read back as v (%.15g, else %.17g); null
 * for NaN or an infinity, which JSON cannot hold. */
void out_json_number(tg_json_buf *b, double v);
/* ,"key":value (out_json_number) for each of the n pairs: members after others. */
void out_json_numbers(tg_json_buf *b, const char *const *keys, const double *values, int n);
/* Writes b's text to "<dir>/<name>" (unless b ran out of memory), says so
 * on stdout, and frees b. 0, or -1 after printing why, as prog. */
int out_write_json(const char *dir, const char *name, tg_json_buf *b, const char *prog);

#endif

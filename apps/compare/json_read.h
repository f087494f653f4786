/* Reading back what the example programs wrote: a JSON file (results.json)
 * or one JSON line (of a log.jsonl) parsed whole, and its members found
 * by a dotted path such as "test.miou" or "timing.seconds". */
#ifndef APPS_JSON_READ_H
#define APPS_JSON_READ_H

#include "nn/json.h"

/* The parsed file, or NULL after printing why (missing, unreadable, not JSON). */
tg_json *json_read_file(const char *path);

/* The member at path ("a.b.c": object keys), or NULL when there is none. */
const tg_json *json_find(const tg_json *root, const char *path);
/* The number at path; NaN when it is missing, null or not a number. */
double json_number(const tg_json *root, const char *path);
/* The string at path, or NULL. */
const char *json_string(const tg_json *root, const char *path);

#endif

/* Reading back what the example programs wrote: a JSON file (results.json)
 * or one JSON line (of a log.jsonl) parsed whole by jansson, its members
 * found by a dotted path such as "test.miou" or "timing.seconds". Configs
 * are compared by value with tg_train_same_config. */
#ifndef APPS_JSON_READ_H
#define APPS_JSON_READ_H

#include <jansson.h>

/* The parsed file, or NULL after printing why (missing, unreadable, not JSON). */
json_t *json_read_file(const char *path);

/* The member at path ("a.b.c": object keys), or NULL when there is none. */
const json_t *json_at(const json_t *root, const char *path);
/* The number at path; NaN when it is missing, null or not a number. */
double json_number_at(const json_t *root, const char *path);
/* The string at path, or NULL. */
const char *json_string_at(const json_t *root, const char *path);

#endif

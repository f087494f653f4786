/* Reading back what the example programs wrote: a JSON file (results.json)
 * or one JSON line (of a log.jsonl) parsed whole by jansson, its members
 * found by a dotted path such as "test.miou" or "timing.seconds", and
 * configs compared by their values. */
#ifndef APPS_JSON_READ_H
#define APPS_JSON_READ_H

#include <jansson.h>
#include <stdbool.h>

/* The parsed file, or NULL after printing why (missing, unreadable, not JSON). */
json_t *json_read_file(const char *path);

/* The member at path ("a.b.c": object keys), or NULL when there is none. */
const json_t *json_at(const json_t *root, const char *path);
/* The number at path; NaN when it is missing, null or not a number. */
double json_number_at(const json_t *root, const char *path);
/* The string at path, or NULL. */
const char *json_string_at(const json_t *root, const char *path);

/* Whether the JSON texts a and b hold the same values, numbers compared
 * by value (2 and 2.0 alike, 0.1 however many digits it was written with);
 * false when either is not JSON. */
bool json_same_values(const char *a, const char *b);

#endif

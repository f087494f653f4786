/* The programs' JSON files (results.json, settings.json...), built with
 * jansson and written whole, replaced atomically (tg_train_write_file): a
 * reader sees the old file or the new one, never a part. */
#ifndef APPS_OUT_FILES_H
#define APPS_OUT_FILES_H

#include <jansson.h>
#include <stddef.h>

/* How the programs print JSON: compact, keys in the order they were set,
 * reals in 17 significant digits, which read back as the same double. */
#define OUT_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY)


/* Building JSON objects in chains: each function takes its json_t
 * arguments (any may be NULL after a failed allocation) and returns obj,
 * or NULL, having released obj, when something was NULL or memory ran out;
 * so a chain is checked once at its end. */

/* v as a JSON number: an integer when it is a whole number below 1e15,
 * else a real; null for NaN or an infinity, which JSON cannot hold. */
json_t *out_json_number(double v);
/* obj with value under key. */
json_t *out_json_set(json_t *obj, const char *key, json_t *value);
/* obj with every member of the object members, in their order. */
json_t *out_json_merge(json_t *obj, json_t *members);
/* obj with keys[i]: out_json_number(values[i]) for each of the n pairs. */
json_t *out_json_numbers(json_t *obj, const char *const *keys, const double *values, int n);

/* Writes root to "<dir>/<name>" one member a line (so tests and people
 * can grep for a key at the start of a line), each value compact, except
 * those objects whose keys spread lists (NULL-terminated, or NULL): they
 * are written one member a line too, indented by two spaces. Says so on
 * stdout and releases root (NULL, when building it ran out of memory or
 * met text that is not UTF-8, is refused).
 * 0, or -1 after printing why, as prog. */
int out_write_json(const char *dir, const char *name, json_t *root, const char *const *spread, const char *prog);

#endif

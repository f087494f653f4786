/* A small JSON reader and writer for the safetensors header (internal).
 *
 * The reader parses a whole document into a tree that keeps object keys in
 * their order of appearance (safetensors loads tensors in header order) and
 * keeps duplicate keys (the caller decides what a duplicate means). Strings
 * are checked to be UTF-8 and decoded to NUL-terminated UTF-8; a string that
 * holds U+0000 is refused, since names and values are C strings here.
 * Numbers keep their value as a double and whether they are exact
 * integers that fit an int64.
 *
 * The writer appends to a growing buffer that remembers an allocation
 * failure, so a sequence of appends is checked once at its end. */
#ifndef TG_NN_JSON_H
#define TG_NN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { TG_JSON_NULL, TG_JSON_BOOL, TG_JSON_NUMBER, TG_JSON_STRING, TG_JSON_ARRAY, TG_JSON_OBJECT } tg_json_type;

typedef struct tg_json {
    tg_json_type type;
    bool boolean;         /* BOOL */
    bool is_int;          /* NUMBER: an integer (no fraction, no exponent) within int64 */
    int64_t integer;      /* NUMBER when is_int */
    double number;        /* NUMBER: its value, correctly rounded (strtod) */
    char *string;         /* STRING */
    int n;                /* ARRAY, OBJECT: number of items */
    struct tg_json *items; /* ARRAY elements, OBJECT values */
    char **keys;          /* OBJECT keys, in order of appearance */
} tg_json;

/* Parses len bytes of text (no NUL needed; trailing whitespace is fine).
 * Returns the root, or NULL with a description of the problem (and the byte
 * offset where it was found) in err; records no library error. */
tg_json *tg_json_parse(const char *text, size_t len, char *err, size_t errlen);
void tg_json_free(tg_json *v); /* NULL is fine */

/* Whether s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool tg_json_utf8_valid(const char *s, size_t len);

/* ---- writer ---- */
typedef struct {
    char *data; /* NUL-terminated while no allocation failed */
    size_t len, cap;
    bool failed; /* an allocation failed; data is incomplete */
} tg_json_buf;

void tg_json_append(tg_json_buf *b, const char *s, size_t n);
void tg_json_printf(tg_json_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s (UTF-8) as a quoted JSON string with the needed escapes. */
void tg_json_append_string(tg_json_buf *b, const char *s);
void tg_json_buf_free(tg_json_buf *b);

#endif

/* The programs' JSON files, built with jansson (see out_files.h). */
#include "out_files.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

json_t *out_json_number(double v)
{
    if (!isfinite(v)) return json_null();
    bool whole = v == trunc(v) && fabs(v) < 1e15 && (v != 0 || !signbit(v));
    return whole ? json_integer((json_int_t)v) : json_real(v);
}

json_t *out_json_set(json_t *obj, const char *key, json_t *value)
{
    if (json_object_set_new(obj, key, value) == 0) return obj;
    json_decref(obj);
    return NULL;
}

json_t *out_json_merge(json_t *obj, json_t *members)
{
    if (json_object_update_new(obj, members) == 0) return obj;
    json_decref(obj);
    return NULL;
}

json_t *out_json_numbers(json_t *obj, const char *const *keys, const double *values, int n)
{
    for (int i = 0; i < n; i++) obj = out_json_set(obj, keys[i], out_json_number(values[i]));
    return obj;
}

static bool listed(const char *const *names, const char *key)
{
    for (; names && *names; names++)
        if (strcmp(*names, key) == 0) return true;
    return false;
}

/* obj between braces, one member a line after indent (see out_write_json). */
static int put_lines(FILE *f, json_t *obj, const char *indent, const char *const *spread)
{
    const char *key, *sep = "";
    json_t *value;
    if (fputc('{', f) == EOF) return -1;
    json_object_foreach(obj, key, value) {
        json_t *name = json_string(key);
        int rc = !name || fprintf(f, "%s\n%s", sep, indent) < 0 || json_dumpf(name, f, OUT_JSON_FLAGS) ||
                 fputc(':', f) == EOF;
        json_decref(name);
        if (!rc && json_is_object(value) && listed(spread, key)) rc = put_lines(f, value, "  ", NULL);
        else if (!rc) rc = json_dumpf(value, f, OUT_JSON_FLAGS);
        if (rc) return -1;
        sep = ",";
    }
    return fputs("\n}", f) == EOF ? -1 : 0;
}

/* root's text (see out_write_json) in *text (malloc'd, *len bytes). 0, or -1. */
static int json_lines(json_t *root, const char *const *spread, char **text, size_t *len)
{
    *text = NULL;
    FILE *f = open_memstream(text, len);
    if (!f) return -1;
    int rc = put_lines(f, root, "", spread) || fputc('\n', f) == EOF ? -1 : 0;
    if (fclose(f) != 0) rc = -1;
    if (rc) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

int out_write_json(const char *dir, const char *name, json_t *root, const char *const *spread, const char *prog)
{
    char *text = NULL;
    size_t len = 0;
    int rc = -1;
    if (!root || json_lines(root, spread, &text, &len))
        fprintf(stderr, "%s: %s: out of memory, or text that is not UTF-8\n", prog, name);
    else rc = app_write_text(dir, name, text, len, prog);
    free(text);
    json_decref(root);
    return rc;
}

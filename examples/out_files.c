/* Output directories, atomically replaced text files and the programs' JSON (see out_files.h). */
#include "out_files.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensor/atomic_file.h"
#include "tensor/error.h"

typedef struct {
    const char *text;
    size_t len;
} span;

static int write_span(FILE *f, const char *tmp_path, void *ctx)
{
    const span *s = ctx;
    if (fwrite(s->text, 1, s->len, f) == s->len) return 0;
    return TG_FAIL("cannot write %s", tmp_path);
}

int out_write_text(const char *path, const char *text, size_t len)
{
    span s = {text, len};
    if (!tg_write_file_atomic(path, "write", write_span, &s)) return 0;
    fprintf(stderr, "%s\n", tg_last_error());
    return -1;
}

int out_make_dir(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path || !*path) {
        fprintf(stderr, "bad directory name '%s'\n", dir);
        return -1;
    }
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "cannot make directory %s: %s\n", path, strerror(errno));
            return -1;
        }
        *p = c;
        if (c == '\0') return 0;
    }
}

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
    char path[4096], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = -1;
    if (!root || json_lines(root, spread, &text, &len))
        fprintf(stderr, "%s: %s: out of memory, or text that is not UTF-8\n", prog, name);
    else rc = out_write_text(path, text, len);
    if (!rc) printf("wrote %s\n", path);
    free(text);
    json_decref(root);
    return rc;
}

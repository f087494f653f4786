/* JSON files read back, and members found by path (see json_read.h). */
#include "json_read.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file, NUL-terminated, in *text (malloc'd); its length, or -1. */
static long slurp(const char *path, char **text)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *grown = realloc(*text, cap = 2 * cap + 4096 + 1);
            if (!grown) break;
            *text = grown;
        }
        size_t got = fread(*text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    bool ok = *text && !ferror(f) && feof(f);
    fclose(f);
    if (ok) (*text)[len] = '\0';
    return ok ? (long)len : -1;
}

tg_json *json_read_file(const char *path)
{
    char *text, err[160];
    long len = slurp(path, &text);
    if (len < 0) {
        fprintf(stderr, "cannot read %s: %s\n", path, errno ? strerror(errno) : "out of memory");
        free(text);
        return NULL;
    }
    tg_json *root = tg_json_parse(text, (size_t)len, err, sizeof err);
    if (!root) fprintf(stderr, "%s is not JSON: %s\n", path, err);
    free(text);
    return root;
}

/* The member of object o named by key[0..len). */
static const tg_json *member(const tg_json *o, const char *key, size_t len)
{
    if (!o || o->type != TG_JSON_OBJECT) return NULL;
    for (int i = 0; i < o->n; i++)
        if (strlen(o->keys[i]) == len && memcmp(o->keys[i], key, len) == 0) return &o->items[i];
    return NULL;
}

const tg_json *json_find(const tg_json *root, const char *path)
{
    const tg_json *v = root;
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        v = member(v, path, len);
        path += len + (dot ? 1 : 0);
    }
    return v;
}

double json_number(const tg_json *root, const char *path)
{
    const tg_json *v = json_find(root, path);
    if (!v || v->type != TG_JSON_NUMBER) return NAN;
    return v->number;
}

const char *json_string(const tg_json *root, const char *path)
{
    const tg_json *v = json_find(root, path);
    return v && v->type == TG_JSON_STRING ? v->string : NULL;
}

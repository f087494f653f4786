/* JSON files read back and members found by path (see json_read.h). */
#include "json_read.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

json_t *json_read_file(const char *path)
{
    json_error_t why;
    json_t *root = json_load_file(path, 0, &why);
    if (!root) fprintf(stderr, "cannot read %s as JSON: %s\n", path, why.text);
    return root;
}

const json_t *json_at(const json_t *root, const char *path)
{
    const json_t *v = root;
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        v = json_object_getn(v, path, len);
        path += len + (dot ? 1 : 0);
    }
    return v;
}

double json_number_at(const json_t *root, const char *path)
{
    const json_t *v = json_at(root, path);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *json_string_at(const json_t *root, const char *path)
{
    return json_string_value(json_at(root, path));
}

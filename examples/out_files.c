/* Output directories and atomically replaced text files (see out_files.h). */
#include "out_files.h"

#include <errno.h>
#include <math.h>
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

void out_json_number(tg_json_buf *b, double v)
{
    char text[32];
    if (!isfinite(v)) {
        tg_json_printf(b, "null");
        return;
    }
    snprintf(text, sizeof text, "%.15g", v);
    if (strtod(text, NULL) != v) snprintf(text, sizeof text, "%.17g", v);
    tg_json_printf(b, "%s", text);
}

void out_json_numbers(tg_json_buf *b, const char *const *keys, const double *values, int n)
{
    for (int i = 0; i < n; i++) {
        tg_json_printf(b, ",\"%s\":", keys[i]);
        out_json_number(b, values[i]);
    }
}

int out_write_json(const char *dir, const char *name, tg_json_buf *b, const char *prog)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = -1;
    if (b->failed) fprintf(stderr, "%s: %s: out of memory\n", prog, name);
    else rc = out_write_text(path, b->data, b->len);
    if (!rc) printf("wrote %s\n", path);
    tg_json_buf_free(b);
    return rc;
}

/* The numbers of the programs' JSON files, and writing them (see out_files.h). */
#include "out_files.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

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
    int rc = -1;
    if (b->failed) fprintf(stderr, "%s: %s: out of memory\n", prog, name);
    else rc = app_write_text(dir, name, b->data, b->len, prog);
    tg_json_buf_free(b);
    return rc;
}

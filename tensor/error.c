/* Per-thread record of the last failure (see error.h). */
#include "tensor/error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

const char *tg_last_error(void) { return last_error; }

void tg_clear_error(void) { last_error[0] = '\0'; }

int tg_set_error(const char *file, int line, const char *fmt, ...)
{
    if (!file) file = "?";
    if (!fmt) fmt = "?";
    const char *base = strrchr(file, '/');
    /* Keep the layer folder: "tensor/view.c", not the build's absolute path. */
    if (base) {
        const char *p = base;
        while (p > file && p[-1] != '/') p--;
        base = p;
    } else {
        base = file;
    }
    int n = snprintf(last_error, sizeof last_error, "%s:%d: ", base, line);
    if (n < 0 || (size_t)n >= sizeof last_error) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error + n, sizeof last_error - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Argument checks at the entry of public functions (internal/check.h). */
#include "tensor/internal/check.h"

#include <limits.h>
#include <string.h>

#include "tensor/error.h"

/* The i-th name of "a, b, c" into buf. */
static const char *nth_name(const char *names, size_t i, char *buf, size_t size)
{
    while (i-- > 0 && strchr(names, ',')) names = strchr(names, ',') + 1;
    names += strspn(names, " ");
    size_t len = strcspn(names, ",");
    if (len >= size) len = size - 1;
    memcpy(buf, names, len);
    buf[len] = '\0';
    return buf;
}

int tg_need_pointers(const char *file, int line, const char *fn, const char *names, const tg_pointer_arg *args,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (args[i].p) continue;
        if (args[i].tensor && tg_last_error()[0]) return -1;
        char name[64];
        return tg_set_error(file, line, "%s: %s is NULL", fn, nth_name(names, i, name, sizeof name));
    }
    return 0;
}

int tg_need_argument(const char *file, int line, const char *fn, int position)
{
    if (tg_last_error()[0]) return -1;
    return tg_set_error(file, line, "%s: argument %d is NULL", fn, position);
}

/* "cfg->num_workers" and "opts.size" name num_workers and size. */
static const char *field_name(const char *name)
{
    for (const char *p = name; *p; p++)
        if (*p == '.' || (*p == '-' && p[1] == '>')) name = p + (*p == '.' ? 1 : 2);
    return name;
}

int tg_need_range(const char *file, int line, const char *fn, const char *name, long long v, long long lo,
                  long long hi)
{
    name = field_name(name);
    if (hi == LLONG_MAX) return tg_set_error(file, line, "%s: %s is %lld, below %lld", fn, name, v, lo);
    return tg_set_error(file, line, "%s: %s is %lld, not in [%lld, %lld]", fn, name, v, lo, hi);
}

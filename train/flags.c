/* Command-line flags from a table (see flags.h). */
#include "train/flags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/internal/check.h"

static const tg_train_flag *find(const tg_train_flag *flags, int n, const char *arg)
{
    if (strncmp(arg, "--", 2) != 0) return NULL;
    for (int i = 0; i < n; i++)
        if (strcmp(arg + 2, flags[i].name) == 0) return &flags[i];
    return NULL;
}

static void print_default(const tg_train_flag *f)
{
    switch (f->kind) {
    case TG_FLAG_LONG: printf("%ld", *(long *)f->target); break;
    case TG_FLAG_DOUBLE: printf("%g", *(double *)f->target); break;
    case TG_FLAG_STRING: printf("%s", *(const char **)f->target ? *(const char **)f->target : "(none)"); break;
    case TG_FLAG_BOOL: printf("%s", *(bool *)f->target ? "on" : "off"); break;
    }
}

static void usage(const tg_train_flag *flags, int n, const char *about)
{
    printf("%s\n\nflags (default in brackets):\n", about);
    for (int i = 0; i < n; i++) {
        const tg_train_flag *f = &flags[i];
        const char *arg = f->kind == TG_FLAG_BOOL ? "" : f->kind == TG_FLAG_STRING ? " TEXT" : " N";
        printf("  --%s%s  %s [", f->name, arg, f->help);
        print_default(f);
        printf("]\n");
    }
    printf("  --help  this text\n");
}

/* A number in [min, max] from text, whole for TG_FLAG_LONG; -1 if not. */
static int number(const tg_train_flag *f, const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    bool whole = f->kind == TG_FLAG_DOUBLE || v == floor(v);
    if (errno || end == text || *end || !isfinite(v) || !whole || v < f->min || v > f->max)
        return TG_FAIL("--%s: '%s' is not %s between %g and %g", f->name, text,
                       f->kind == TG_FLAG_LONG ? "a whole number" : "a number", f->min, f->max);
    if (f->kind == TG_FLAG_LONG) *(long *)f->target = (long)v;
    else *(double *)f->target = v;
    return 0;
}

int tg_train_parse_flags(int argc, char **argv, const tg_train_flag *flags, int n, const char *about)
{
    const char *fn = "train_parse_flags";
    if (TG_NEED(fn, argv, flags, about) || TG_NEED_MIN(fn, argc, 0) || TG_NEED_MIN(fn, n, 0)) return -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(flags, n, about);
            return 1;
        }
        const tg_train_flag *f = find(flags, n, argv[i]);
        if (!f) return TG_FAIL("unknown argument '%s' (try --help)", argv[i]);
        if (f->kind == TG_FLAG_BOOL) {
            *(bool *)f->target = true;
            continue;
        }
        if (i + 1 >= argc) return TG_FAIL("--%s needs a value", f->name);
        const char *value = argv[++i];
        if (f->kind == TG_FLAG_STRING) *(const char **)f->target = value;
        else if (number(f, value)) return -1;
    }
    return 0;
}

/* Command-line flags from a table (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorgrad.h"

static const cli_flag *find(const cli_flag *flags, int n, const char *arg)
{
    if (strncmp(arg, "--", 2) != 0) return NULL;
    for (int i = 0; i < n; i++)
        if (strcmp(arg + 2, flags[i].name) == 0) return &flags[i];
    return NULL;
}

static void print_default(const cli_flag *f)
{
    switch (f->kind) {
    case CLI_LONG: printf("%ld", *(long *)f->target); break;
    case CLI_DOUBLE: printf("%g", *(double *)f->target); break;
    case CLI_STRING: printf("%s", *(const char **)f->target ? *(const char **)f->target : "(none)"); break;
    case CLI_BOOL: printf("%s", *(bool *)f->target ? "on" : "off"); break;
    }
}

static void usage(const cli_flag *flags, int n, const char *about)
{
    printf("%s\n\nflags (default in brackets):\n", about);
    for (int i = 0; i < n; i++) {
        const cli_flag *f = &flags[i];
        const char *arg = f->kind == CLI_BOOL ? "" : f->kind == CLI_STRING ? " TEXT" : " N";
        printf("  --%s%s  %s [", f->name, arg, f->help);
        print_default(f);
        printf("]\n");
    }
}

/* A number in [min, max] from text, whole for CLI_LONG; -1 if not. */
static int number(const cli_flag *f, const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    bool whole = f->kind == CLI_DOUBLE || v == floor(v);
    if (errno || end == text || *end || !isfinite(v) || !whole || v < f->min || v > f->max) {
        fprintf(stderr, "--%s: '%s' is not %s between %g and %g\n", f->name, text,
                f->kind == CLI_LONG ? "a whole number" : "a number", f->min, f->max);
        return -1;
    }
    if (f->kind == CLI_LONG) *(long *)f->target = (long)v;
    else *(double *)f->target = v;
    return 0;
}

int cli_parse(int argc, char **argv, const cli_flag *flags, int n, const char *about)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(flags, n, about);
            return 1;
        }
        const cli_flag *f = find(flags, n, argv[i]);
        if (!f) {
            fprintf(stderr, "%s: unknown argument '%s' (try --help)\n", argv[0], argv[i]);
            return -1;
        }
        if (f->kind == CLI_BOOL) {
            *(bool *)f->target = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "--%s needs a value\n", f->name);
            return -1;
        }
        const char *value = argv[++i];
        if (f->kind == CLI_STRING) *(const char **)f->target = value;
        else if (number(f, value)) return -1;
    }
    return 0;
}

int cli_set_threads(long threads)
{
    if (!threads || !tg_set_num_threads((int)threads)) return 0;
    fprintf(stderr, "--threads: %s\n", tg_last_error());
    return -1;
}

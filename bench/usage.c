/* --help and usage messages of the benchmark programs (see usage.h). */
#include "usage.h"

#include <stdio.h>
#include <string.h>

static bool asks_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

bool bench_help(int argc, char **argv, const char *options, const char *about)
{
    for (int i = 1; i < argc; i++)
        if (asks_help(argv[i])) {
            printf("usage: %s %s\n\n%s\n", argv[0], options, about);
            return true;
        }
    return false;
}

void bench_usage_error(const char *prog, const char *options)
{
    fprintf(stderr, "usage: %s %s\n", prog, options);
}

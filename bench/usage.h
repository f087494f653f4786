/* The command-line usage of the benchmark programs: --help (or -h) prints
 * it with what the program measures, on stdout, and the program exits 0;
 * a bad option prints it on stderr. */
#ifndef BENCH_USAGE_H
#define BENCH_USAGE_H

#include <stdbool.h>

/* When an argument is --help or -h: prints "usage: PROG OPTIONS" and about
 * on stdout and returns true (the caller exits 0). */
bool bench_help(int argc, char **argv, const char *options, const char *about);

/* Prints "usage: PROG OPTIONS" on stderr, after a bad option. */
void bench_usage_error(const char *prog, const char *options);

#endif

/* Command-line flags for the example programs, from one table per
 * program: each flag names where its value goes, its kind and its range,
 * so parsing, range errors and --help come from the same place.
 *
 *   static const cli_flag flags[] = {
 *       {"epochs", CLI_LONG, &o.epochs, 1, 1e6, "passes over the data"},
 *       {"lr", CLI_DOUBLE, &o.lr, 0, 10, "base learning rate"},
 *       {"out", CLI_STRING, &o.out, 0, 0, "output directory"},
 *       {"resume", CLI_BOOL, &o.resume, 0, 0, "continue from the last checkpoint"},
 *   };
 *   int rc = cli_parse(argc, argv, flags, CLI_COUNT(flags), "pretrain: ...");
 *
 * Flags are "--name value" (or "--name" alone for CLI_BOOL); the values
 * already in the targets are the defaults --help shows. */
#ifndef EXAMPLES_CLI_H
#define EXAMPLES_CLI_H

#include <stdbool.h>

typedef enum { CLI_LONG, CLI_DOUBLE, CLI_STRING, CLI_BOOL } cli_kind;

typedef struct {
    const char *name; /* without the leading "--" */
    cli_kind kind;
    void *target;     /* long *, double *, const char **, bool * */
    double min, max;  /* CLI_LONG and CLI_DOUBLE: the accepted range */
    const char *help;
} cli_flag;

#define CLI_COUNT(table) ((int)(sizeof(table) / sizeof *(table)))

/* Fills the targets from argv. Returns 0; 1 after printing --help (the
 * program should exit 0); -1 after printing what was wrong to stderr. */
int cli_parse(int argc, char **argv, const cli_flag *flags, int n, const char *about);
/* Sets the compute threads to a --threads value (0: leaves the default).
 * 0, or -1 after printing why. */
int cli_set_threads(long threads);

#endif

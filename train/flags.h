/* Command-line flags from one table per program: each flag names where its
 * value goes, its kind and its range, so parsing, range errors and --help
 * come from the same place.
 *
 *   long epochs = 10; double lr = 0.1; const char *out = "run"; bool resume = false;
 *   const tg_train_flag flags[] = {
 *       {"epochs", TG_FLAG_LONG, &epochs, 1, 1e6, "passes over the data"},
 *       {"lr", TG_FLAG_DOUBLE, &lr, 0, 10, "base learning rate"},
 *       {"out", TG_FLAG_STRING, &out, 0, 0, "output directory"},
 *       {"resume", TG_FLAG_BOOL, &resume, 0, 0, "continue from the last checkpoint"},
 *   };
 *   int rc = tg_train_parse_flags(argc, argv, flags, TG_FLAG_COUNT(flags), "mlp: trains ...");
 *   if (rc) return rc < 0 ? 2 : 0;    (-1: bad flags, error recorded; 1: --help shown)
 *
 * Flags are "--name value" (or "--name" alone for a TG_FLAG_BOOL); the
 * values already in the targets are the defaults --help shows. */
#ifndef TG_TRAIN_FLAGS_H
#define TG_TRAIN_FLAGS_H

#include <stdbool.h>

#include "tensor/export.h"

typedef enum { TG_FLAG_LONG, TG_FLAG_DOUBLE, TG_FLAG_STRING, TG_FLAG_BOOL } tg_train_flag_kind;

typedef struct tg_train_flag {
    const char *name; /* without the leading "--" */
    tg_train_flag_kind kind;
    void *target;     /* long *, double *, const char **, bool * */
    double min, max;  /* TG_FLAG_LONG and TG_FLAG_DOUBLE: the accepted range */
    const char *help;
} tg_train_flag;

#define TG_FLAG_COUNT(table) ((int)(sizeof(table) / sizeof *(table)))

/* Fills the targets from argv. 0; 1 after printing the usage (about,
 * then every flag with its default) to stdout for --help or -h; -1 with
 * the error recorded ("--lr: 'x' is not a number between 0 and 10") for an
 * unknown flag, a missing value or a value out of range. */
TG_API int tg_train_parse_flags(int argc, char **argv, const tg_train_flag *flags, int n, const char *about);

#endif

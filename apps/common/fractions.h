/* Lists of fractions of a run's iterations, given as a flag: pretrain's
 * --snapshots (the backbone saved at those points of its schedule) and
 * compare's --lengths (the length study fine-tuned from those snapshots).
 * Fraction f of a run of T iterations is iteration round(f x T).
 *
 *   --snapshots 0.25,0.5    two fractions, increasing, each in (0, 1)
 *   --snapshots none        none */
#ifndef APPS_FRACTIONS_H
#define APPS_FRACTIONS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FRACTIONS_MAX 8

typedef struct {
    int n;
    double v[FRACTIONS_MAX]; /* increasing, each in (0, 1) */
} fraction_list;

/* The list text gives ("none": empty) into *l. 0, or -1 after printing
 * what and where, as "<prog>: --<flag>: '1.5' is not a fraction between 0
 * and 1 (both excluded)"; *l is then empty. */
int fractions_parse(const char *text, fraction_list *l, const char *flag, const char *prog);

/* The list as the flag takes it ("0.25,0.5", or "none") into buf. */
void fractions_format(const fraction_list *l, char *buf, size_t size);

/* The list as a JSON array of numbers (for a config); NULL when out of
 * memory. */
json_t *fractions_json(const fraction_list *l);

/* Iteration round(f x total) of a run of total iterations. */
int64_t fractions_step(double f, int64_t total);

/* Refuses a list whose iterations, in a run of total, are not distinct
 * iterations strictly inside the run (0 or total: no snapshot there that
 * the run's start or end would not be). 0, or -1 after printing which
 * fraction and why, as prog. */
int fractions_check_steps(const fraction_list *l, int64_t total, const char *prog);

#endif

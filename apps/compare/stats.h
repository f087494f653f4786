/* Summary statistics over seeds for the compare program: mean, sample
 * standard deviation, and the paired difference of two arms measured with
 * the same seeds. NaN in, NaN out: a missing number is never averaged away. */
#ifndef APPS_STATS_H
#define APPS_STATS_H

typedef struct {
    int n;
    double mean;
    double std; /* sample standard deviation (n - 1 in the denominator); NaN for n < 2 */
} stats_summary;

/* The mean and sample std of v[0..n); both NaN for n < 1, std NaN for n < 2. */
stats_summary stats_summarize(const double *v, int n);

/* diff[i] = a[i] - b[i] for i < n (diff may alias neither), and the
 * summary of the differences: the paired difference of two arms run with
 * the same seeds. */
stats_summary stats_paired(const double *a, const double *b, int n, double *diff);

#endif

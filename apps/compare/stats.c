/* Mean, sample std and paired differences (see stats.h). */
#include "stats.h"

#include <math.h>

stats_summary stats_summarize(const double *v, int n)
{
    stats_summary s = {.n = n, .mean = NAN, .std = NAN};
    if (n < 1) return s;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    s.mean = sum / n;
    if (n < 2) return s;
    double squares = 0;
    for (int i = 0; i < n; i++) squares += (v[i] - s.mean) * (v[i] - s.mean);
    s.std = sqrt(squares / (n - 1));
    return s;
}

stats_summary stats_paired(const double *a, const double *b, int n, double *diff)
{
    for (int i = 0; i < n; i++) diff[i] = a[i] - b[i];
    return stats_summarize(diff, n);
}

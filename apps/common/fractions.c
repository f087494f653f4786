/* Lists of fractions of a run's iterations (see fractions.h). */
#include "fractions.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One fraction of the list from text up to its comma or end, into *v;
 * *end gets where it stopped. 0, or -1 after printing why. */
static int parse_one(const char *text, double *v, const char **end, const char *flag, const char *prog)
{
    size_t len = strcspn(text, ",");
    char *stop;
    errno = 0;
    *v = strtod(text, &stop);
    *end = text + len;
    if (len > 0 && !errno && stop == *end && *v > 0 && *v < 1) return 0;
    fprintf(stderr, "%s: --%s: '%.*s' is not a fraction between 0 and 1 (both excluded)\n", prog, flag, (int)len,
            text);
    return -1;
}

int fractions_parse(const char *text, fraction_list *l, const char *flag, const char *prog)
{
    *l = (fraction_list){0};
    if (strcmp(text, "none") == 0) return 0;
    const char *at = text, *end;
    double v;
    for (;; at = end + 1) {
        if (parse_one(at, &v, &end, flag, prog)) break;
        if (l->n == FRACTIONS_MAX) {
            fprintf(stderr, "%s: --%s: '%s' lists more than %d fractions\n", prog, flag, text, FRACTIONS_MAX);
            break;
        }
        if (l->n > 0 && v <= l->v[l->n - 1]) {
            fprintf(stderr, "%s: --%s: %g comes after %g: give the fractions in increasing order, each once\n", prog,
                    flag, v, l->v[l->n - 1]);
            break;
        }
        l->v[l->n++] = v;
        if (!*end) return 0;
    }
    *l = (fraction_list){0};
    return -1;
}

void fractions_format(const fraction_list *l, char *buf, size_t size)
{
    size_t len = 0;
    snprintf(buf, size, "none");
    for (int i = 0; i < l->n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%g", i ? "," : "", l->v[i]);
}

json_t *fractions_json(const fraction_list *l)
{
    json_t *list = json_array();
    for (int i = 0; list && i < l->n; i++)
        if (json_array_append_new(list, json_real(l->v[i]))) {
            json_decref(list);
            list = NULL;
        }
    return list;
}

int64_t fractions_step(double f, int64_t total) { return (int64_t)llround(f * (double)total); }

int fractions_check_steps(const fraction_list *l, int64_t total, const char *prog)
{
    for (int i = 0; i < l->n; i++) {
        int64_t step = fractions_step(l->v[i], total);
        if (step < 1 || step >= total) {
            fprintf(stderr, "%s: fraction %g of %lld iterations is iteration %lld, not one inside the run\n", prog,
                    l->v[i], (long long)total, (long long)step);
            return -1;
        }
        if (i > 0 && step == fractions_step(l->v[i - 1], total)) {
            fprintf(stderr, "%s: fractions %g and %g of %lld iterations both fall on iteration %lld\n", prog,
                    l->v[i - 1], l->v[i], (long long)total, (long long)step);
            return -1;
        }
    }
    return 0;
}

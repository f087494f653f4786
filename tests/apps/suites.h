/* The Check suites of tests/apps, run together by main.c. */
#ifndef EXAMPLES_SUITES_H
#define EXAMPLES_SUITES_H

#include <check.h>

Suite *stats_suite(void);
Suite *json_read_suite(void);
Suite *out_files_suite(void);
Suite *fractions_suite(void);

#endif

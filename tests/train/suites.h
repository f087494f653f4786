/* The Check suites of the train layer. */
#ifndef TESTS_TRAIN_SUITES_H
#define TESTS_TRAIN_SUITES_H

#include <check.h>

Suite *flags_suite(void);
Suite *progress_suite(void);
Suite *run_suite(void);

#endif

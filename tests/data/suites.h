/* The Check suites of tests/data, run together by main.c. */
#ifndef DATA_SUITES_H
#define DATA_SUITES_H

#include <check.h>

Suite *loader_suite(void);
Suite *image_suite(void);
Suite *datasets_suite(void);
Suite *shapescenes_suite(void);
Suite *dataset_cache_suite(void);
Suite *transforms_suite(void);
Suite *augment_suite(void);
Suite *pipelines_suite(void);
Suite *overlay_suite(void);

#endif

/* The Check suites of tests/tensor, run together by main.c. */
#ifndef TENSOR_SUITES_H
#define TENSOR_SUITES_H

#include <check.h>

Suite *tensor_suite(void);
Suite *view_suite(void);
Suite *elementwise_suite(void);
Suite *rng_suite(void);
Suite *reduce_suite(void);
Suite *linalg_suite(void);
Suite *index_suite(void);
Suite *conv_suite(void);
Suite *norm_suite(void);
Suite *nn_suite(void);
Suite *finite_suite(void);
Suite *memory_suite(void);

#endif

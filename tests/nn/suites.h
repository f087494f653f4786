/* The Check suites of tests/nn, run together by main.c. */
#ifndef NN_SUITES_H
#define NN_SUITES_H

#include <check.h>

Suite *safetensors_suite(void);
Suite *module_suite(void);
Suite *metrics_suite(void);
Suite *optim_suite(void);
Suite *checkpoint_suite(void);

/* Writes the tensors and metadata of fixtures/torch_written.h to path with
 * the library (some as non-contiguous views): how
 * fixtures/c_written.safetensors is made. 0 or -1. */
int write_c_fixture(const char *path);

#endif

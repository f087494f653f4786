/* The Check suites of tests/autograd, run together by main.c. */
#ifndef AUTOGRAD_SUITES_H
#define AUTOGRAD_SUITES_H

#include <check.h>

#include "autograd/internal/node.h"
#include "tensorgrad.h"

Suite *arguments_suite(void);
Suite *graph_suite(void);
Suite *nograd_suite(void);
Suite *nan_suite(void);
Suite *scope_suite(void);
Suite *gradcheck_suite(void);
Suite *torch_parity_suite(void);
Suite *parity_activation_suite(void);
Suite *parity_attention_suite(void);
Suite *parity_conv_suite(void);
Suite *parity_embedding_suite(void);
Suite *parity_interpolate_suite(void);
Suite *parity_layer_norm_suite(void);
Suite *parity_loss_suite(void);
Suite *parity_modules_suite(void);
Suite *parity_pad_suite(void);
Suite *parity_scan_suite(void);
Suite *parity_sort_suite(void);
Suite *parity_norm_suite(void);
Suite *parity_nn_suite(void);

#endif

/* Runs every Check suite of the autograd layer. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(graph_suite());
    srunner_add_suite(sr, nograd_suite());
    srunner_add_suite(sr, nan_suite());
    srunner_add_suite(sr, scope_suite());
    srunner_add_suite(sr, arguments_suite());
    srunner_add_suite(sr, gradcheck_suite());
    srunner_add_suite(sr, torch_parity_suite());
    srunner_add_suite(sr, parity_activation_suite());
    srunner_add_suite(sr, parity_attention_suite());
    srunner_add_suite(sr, parity_conv_suite());
    srunner_add_suite(sr, parity_embedding_suite());
    srunner_add_suite(sr, parity_interpolate_suite());
    srunner_add_suite(sr, parity_layer_norm_suite());
    srunner_add_suite(sr, parity_loss_suite());
    srunner_add_suite(sr, parity_modules_suite());
    srunner_add_suite(sr, parity_pad_suite());
    srunner_add_suite(sr, parity_scan_suite());
    srunner_add_suite(sr, parity_sort_suite());
    srunner_add_suite(sr, parity_norm_suite());
    srunner_add_suite(sr, parity_nn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

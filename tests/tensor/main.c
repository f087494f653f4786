/* Runs every Check suite of the tensor layer. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(tensor_suite());
    srunner_add_suite(sr, view_suite());
    srunner_add_suite(sr, elementwise_suite());
    srunner_add_suite(sr, rng_suite());
    srunner_add_suite(sr, reduce_suite());
    srunner_add_suite(sr, linalg_suite());
    srunner_add_suite(sr, index_suite());
    srunner_add_suite(sr, conv_suite());
    srunner_add_suite(sr, norm_suite());
    srunner_add_suite(sr, nn_suite());
    srunner_add_suite(sr, finite_suite());
    srunner_add_suite(sr, memory_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

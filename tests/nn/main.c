/* Runs every Check suite of the nn layer.
 *
 *   test_nn                            runs the suites
 *   test_nn --write-c-fixture FILE     writes FILE with the library, for
 *       `tools/make_fixtures_safetensors.py verify FILE` (PyTorch reads it);
 *       tests/nn/fixtures/c_written.safetensors is made this way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tensorgrad.h"

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-c-fixture") == 0) {
        if (write_c_fixture(argv[2]) == 0) return EXIT_SUCCESS;
        fprintf(stderr, "%s\n", tg_last_error());
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(safetensors_suite());
    srunner_add_suite(sr, module_suite());
    srunner_add_suite(sr, metrics_suite());
    srunner_add_suite(sr, optim_suite());
    srunner_add_suite(sr, checkpoint_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

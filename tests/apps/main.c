/* Runs every Check suite of the programs' helpers (apps/). */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(stats_suite());
    srunner_add_suite(sr, json_read_suite());
    srunner_add_suite(sr, out_files_suite());
    srunner_add_suite(sr, fractions_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Runs every Check suite of the data layer. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    srunner_add_suite(sr, loader_suite());
    srunner_add_suite(sr, image_suite());
    srunner_add_suite(sr, datasets_suite());
    srunner_add_suite(sr, shapescenes_suite());
    srunner_add_suite(sr, dataset_cache_suite());
    srunner_add_suite(sr, transforms_suite());
    srunner_add_suite(sr, augment_suite());
    srunner_add_suite(sr, pipelines_suite());
    srunner_add_suite(sr, overlay_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

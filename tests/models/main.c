/* Runs every Check suite of the models layer. */
#include <check.h>
#include <stdlib.h>

Suite *resnet_suite(void);
Suite *fcn_suite(void);
Suite *contrastive_suite(void);

int main(void)
{
    SRunner *sr = srunner_create(resnet_suite());
    srunner_add_suite(sr, fcn_suite());
    srunner_add_suite(sr, contrastive_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

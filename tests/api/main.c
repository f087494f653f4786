/* Runs the API sweep (sweep_calls.c, written by gen_sweep.sh): every public
 * function called with NULL pointers and out-of-range integers. Each
 * function is a test of its own, run in a child process (CK_FORK), so a
 * crash names its function and the others still run. */
#include <check.h>
#include <stdlib.h>

void sweep_add_tests(TCase *tc);

/* Under AddressSanitizer, an allocation that cannot be made returns NULL
 * (as it does in a release build) instead of ending the program: the
 * sweep checks that the library fails then with a message. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

int main(void)
{
    Suite *s = suite_create("api_sweep");
    TCase *tc = tcase_create("every public function");
    tcase_set_timeout(tc, 60);
    sweep_add_tests(tc);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The caching allocator behind tensor storage: blocks freed by one step
 * come back to the next, also when a step holds more than the old fixed
 * 1 GiB; an explicit limit is kept; the statistics add up. Builds with
 * AddressSanitizer have no cache (and poison every byte of a block, too
 * slow for gigabytes): there only the peak is checked. */
#include "suites.h"
#include "tensorgrad.h"

#define BIG ((int64_t)80 << 20) /* floats: 320 MiB a tensor, never touched */
#define STEP_TENSORS 4          /* 1.25 GiB in use at once */

static void step(int count, int64_t numel)
{
    tg_tensor *held[STEP_TENSORS];
    for (int i = 0; i < count; i++) {
        held[i] = tg_empty(1, &numel, TG_FLOAT32);
        ck_assert_ptr_nonnull(held[i]);
    }
    for (int i = 0; i < count; i++) tg_release(held[i]);
}

#if !defined(__SANITIZE_ADDRESS__)
START_TEST(test_step_over_a_gigabyte_reuses_its_blocks)
{
    tg_memory_stats before = tg_memory_get_stats();
    step(STEP_TENSORS, BIG);
    tg_memory_stats first = tg_memory_get_stats();
    ck_assert_uint_eq(first.in_use, before.in_use);
    ck_assert_uint_ge(first.allocs - before.allocs, STEP_TENSORS);
    ck_assert_uint_ge(first.cached - before.cached, (size_t)STEP_TENSORS * BIG * sizeof(float));
    step(STEP_TENSORS, BIG);
    tg_memory_stats second = tg_memory_get_stats();
    ck_assert_uint_eq(second.reused - first.reused, STEP_TENSORS);
    ck_assert_uint_eq(second.cached, first.cached);
}
END_TEST

START_TEST(test_an_explicit_limit_is_kept)
{
    step(STEP_TENSORS, BIG); /* a high peak: the adaptive limit would keep a 2 MiB block */
    tg_memory_empty_cache();
    tg_memory_set_cache_limit((size_t)1 << 20);
    step(1, (int64_t)1 << 19);
    ck_assert_uint_eq(tg_memory_get_stats().cached, 0);
    tg_memory_set_cache_limit((size_t)1 << 30);
}
END_TEST
#endif

START_TEST(test_peak_follows_what_is_in_use)
{
    tg_memory_reset_peak();
    tg_memory_stats before = tg_memory_get_stats();
    ck_assert_uint_eq(before.peak_in_use, before.in_use);
    step(2, (int64_t)1 << 20);
    tg_memory_stats after = tg_memory_get_stats();
    ck_assert_uint_ge(after.peak_in_use - before.in_use, (size_t)2 * sizeof(float) << 20);
    ck_assert_uint_eq(after.in_use, before.in_use);
}
END_TEST

Suite *memory_suite(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("memory");
#if !defined(__SANITIZE_ADDRESS__)
    tcase_add_test(tc, test_step_over_a_gigabyte_reuses_its_blocks);
    tcase_add_test(tc, test_an_explicit_limit_is_kept);
#endif
    tcase_add_test(tc, test_peak_follows_what_is_in_use);
    suite_add_tcase(s, tc);
    return s;
}

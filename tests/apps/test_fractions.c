/* Tests of apps/common/fractions.c: the lists --snapshots and --lengths
 * take, their text and JSON, their iterations, and the errors that say
 * what is wrong with a list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fractions.h"
#include "suites.h"
#include "tmpdir.h"

/* What a call printed on stderr while run(text) ran; asserts it failed. */
static const char *stderr_of(int (*run)(const char *), const char *text)
{
    static char message[512];
    char path[256];
    FILE *f = fopen(tmpdir_file(path, "stderr.txt"), "w+");
    ck_assert_ptr_nonnull(f);
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(f), 2);
    int rc = run(text);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    message[fread(message, 1, sizeof message - 1, f)] = '\0';
    fclose(f);
    ck_assert_int_eq(rc, -1);
    return message;
}

static int parse_lengths(const char *text)
{
    fraction_list l = {.n = 3};
    int rc = fractions_parse(text, &l, "lengths", "compare");
    ck_assert_int_eq(l.n, 0); /* a refused list leaves none */
    return rc;
}

START_TEST(test_a_list_and_none)
{
    fraction_list l;
    ck_assert_int_eq(fractions_parse("0.25,0.5", &l, "lengths", "compare"), 0);
    ck_assert_int_eq(l.n, 2);
    ck_assert(l.v[0] == 0.25 && l.v[1] == 0.5);
    ck_assert_int_eq(fractions_parse("none", &l, "lengths", "compare"), 0);
    ck_assert_int_eq(l.n, 0);
    ck_assert_int_eq(fractions_parse("0.125", &l, "lengths", "compare"), 0);
    ck_assert(l.n == 1 && l.v[0] == 0.125);
}
END_TEST

START_TEST(test_the_text_reads_back)
{
    char text[64];
    fraction_list l = {3, {0.25, 0.5, 0.75}}, back;
    fractions_format(&l, text, sizeof text);
    ck_assert_str_eq(text, "0.25,0.5,0.75");
    ck_assert_int_eq(fractions_parse(text, &back, "lengths", "compare"), 0);
    ck_assert_mem_eq(&back, &l, sizeof l);
    fractions_format(&(fraction_list){0}, text, sizeof text);
    ck_assert_str_eq(text, "none");
    json_t *j = fractions_json(&l);
    char *dumped = json_dumps(j, JSON_COMPACT);
    ck_assert_str_eq(dumped, "[0.25,0.5,0.75]");
    free(dumped);
    json_decref(j);
}
END_TEST

START_TEST(test_bad_lists_say_what_and_where)
{
    ck_assert_str_eq(stderr_of(parse_lengths, "0.25,1.5"),
                     "compare: --lengths: '1.5' is not a fraction between 0 and 1 (both excluded)\n");
    ck_assert_ptr_nonnull(strstr(stderr_of(parse_lengths, "0"), "'0' is not a fraction"));
    ck_assert_ptr_nonnull(strstr(stderr_of(parse_lengths, "1"), "'1' is not a fraction"));
    ck_assert_ptr_nonnull(strstr(stderr_of(parse_lengths, "0.25,,0.5"), "'' is not a fraction"));
    ck_assert_ptr_nonnull(strstr(stderr_of(parse_lengths, "0.25,"), "'' is not a fraction"));
    ck_assert_ptr_nonnull(strstr(stderr_of(parse_lengths, ""), "'' is not a fraction"));
    ck_assert_ptr_nonnull(strstr(stderr_of(parse_lengths, "half"), "'half' is not a fraction"));
    ck_assert_ptr_nonnull(strstr(stderr_of(parse_lengths, "0.5x"), "'0.5x' is not a fraction"));
    ck_assert_ptr_nonnull(strstr(stderr_of(parse_lengths, "nan"), "'nan' is not a fraction"));
    ck_assert_str_eq(stderr_of(parse_lengths, "0.5,0.25"),
                     "compare: --lengths: 0.25 comes after 0.5: give the fractions in increasing order, each once\n");
    ck_assert_ptr_nonnull(strstr(stderr_of(parse_lengths, "0.5,0.5"), "0.5 comes after 0.5"));
    ck_assert_ptr_nonnull(
        strstr(stderr_of(parse_lengths, "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9"), "lists more than 8 fractions"));
}
END_TEST

START_TEST(test_iterations_are_rounded)
{
    ck_assert_int_eq(fractions_step(0.25, 775), 194); /* 193.75 */
    ck_assert_int_eq(fractions_step(0.5, 775), 388);  /* 387.5, half away from zero */
    ck_assert_int_eq(fractions_step(0.25, 4), 1);
}
END_TEST

static int check_in_10(const char *text)
{
    fraction_list l;
    ck_assert_int_eq(fractions_parse(text, &l, "snapshots", "pretrain"), 0);
    return fractions_check_steps(&l, 10, "pretrain");
}

START_TEST(test_iterations_inside_the_run_and_distinct)
{
    fraction_list l = {2, {0.25, 0.5}};
    ck_assert_int_eq(fractions_check_steps(&l, 4, "pretrain"), 0);
    ck_assert_str_eq(stderr_of(check_in_10, "0.25,0.26"),
                     "pretrain: fractions 0.25 and 0.26 of 10 iterations both fall on iteration 3\n");
    ck_assert_str_eq(stderr_of(check_in_10, "0.01"),
                     "pretrain: fraction 0.01 of 10 iterations is iteration 0, not one inside the run\n");
    ck_assert_ptr_nonnull(strstr(stderr_of(check_in_10, "0.97"), "is iteration 10, not one inside"));
}
END_TEST

Suite *fractions_suite(void)
{
    Suite *s = suite_create("fractions");
    TCase *tc = tcase_create("lists");
    tcase_add_checked_fixture(tc, tmpdir_make, tmpdir_remove);
    tcase_add_test(tc, test_a_list_and_none);
    tcase_add_test(tc, test_the_text_reads_back);
    tcase_add_test(tc, test_bad_lists_say_what_and_where);
    tcase_add_test(tc, test_iterations_are_rounded);
    tcase_add_test(tc, test_iterations_inside_the_run_and_distinct);
    suite_add_tcase(s, tc);
    return s;
}

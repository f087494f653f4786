/* Command-line flags from a table: values, ranges, errors, --help. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "tensorgrad.h"

typedef struct {
    long epochs;
    double lr;
    const char *out;
    bool resume;
} options;

static int parse(options *o, int argc, char **argv)
{
    const tg_train_flag flags[] = {
        {"epochs", TG_FLAG_LONG, &o->epochs, 1, 100, "passes"},
        {"lr", TG_FLAG_DOUBLE, &o->lr, 0, 10, "learning rate"},
        {"out", TG_FLAG_STRING, &o->out, 0, 0, "output directory"},
        {"resume", TG_FLAG_BOOL, &o->resume, 0, 0, "go on"},
    };
    return tg_train_parse_flags(argc, argv, flags, TG_FLAG_COUNT(flags), "test: flags");
}

START_TEST(test_values_fill_their_targets)
{
    options o = {.epochs = 3, .lr = 0.1, .out = "a"};
    char *argv[] = {"prog", "--lr", "0.5", "--resume", "--out", "b", "--epochs", "7"};
    ck_assert_int_eq(parse(&o, 8, argv), 0);
    ck_assert_int_eq(o.epochs, 7);
    ck_assert(o.lr == 0.5);
    ck_assert_str_eq(o.out, "b");
    ck_assert(o.resume);
}
END_TEST

START_TEST(test_defaults_stay_without_flags)
{
    options o = {.epochs = 3, .lr = 0.1, .out = "a"};
    char *argv[] = {"prog"};
    ck_assert_int_eq(parse(&o, 1, argv), 0);
    ck_assert_int_eq(o.epochs, 3);
    ck_assert(!o.resume);
}
END_TEST

/* Each bad command line fails with a message naming what is wrong. */
START_TEST(test_bad_flags_are_named)
{
    struct {
        int argc;
        char *argv[3];
        const char *says;
    } cases[] = {
        {3, {"prog", "--epochs", "0"}, "--epochs: '0' is not a whole number between 1 and 100"},
        {3, {"prog", "--epochs", "2.5"}, "not a whole number"},
        {3, {"prog", "--lr", "x"}, "--lr: 'x' is not a number"},
        {3, {"prog", "--lr", "nan"}, "--lr: 'nan'"},
        {2, {"prog", "--lr"}, "--lr needs a value"},
        {2, {"prog", "--rate"}, "unknown argument '--rate'"},
        {2, {"prog", "lr"}, "unknown argument 'lr'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        options o = {.epochs = 3};
        tg_clear_error();
        ck_assert_int_eq(parse(&o, cases[i].argc, cases[i].argv), -1);
        ck_assert_msg(strstr(tg_last_error(), cases[i].says), "case %zu: %s", i, tg_last_error());
        ck_assert_int_eq(o.epochs, 3);
    }
}
END_TEST

START_TEST(test_help_returns_one)
{
    options o = {.epochs = 3};
    char *argv[] = {"prog", "--epochs", "5", "--help"};
    ck_assert_int_eq(parse(&o, 4, argv), 1);
    char *short_argv[] = {"prog", "-h"};
    ck_assert_int_eq(parse(&o, 2, short_argv), 1);
}
END_TEST

Suite *flags_suite(void)
{
    Suite *s = suite_create("flags");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_values_fill_their_targets);
    tcase_add_test(tc, test_defaults_stay_without_flags);
    tcase_add_test(tc, test_bad_flags_are_named);
    tcase_add_test(tc, test_help_returns_one);
    suite_add_tcase(s, tc);
    return s;
}

/* Tests of examples/json_read.c: members by dotted path, numbers and
 * strings, what counts as missing, and configs compared by value. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json_read.h"
#include "suites.h"
#include "tmpdir.h"

static const char doc[] = "{\"train\":{\"steps\":600,\"lr\":0.01},\"test\":{\"miou\":0.4125,\"things_miou\":null,"
                          "\"split\":\"test\"},\"kind\":\"step\",\"arms\":[1,2]}";

static json_t *parse(const char *text)
{
    json_t *root = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(root);
    return root;
}

START_TEST(test_paths)
{
    json_t *root = parse(doc);
    ck_assert_double_eq(json_number_at(root, "train.steps"), 600);
    ck_assert_double_eq(json_number_at(root, "train.lr"), 0.01);
    ck_assert_double_eq(json_number_at(root, "test.miou"), 0.4125);
    ck_assert_str_eq(json_string_at(root, "kind"), "step");
    ck_assert_str_eq(json_string_at(root, "test.split"), "test");
    ck_assert_ptr_eq(json_at(root, ""), root);
    ck_assert_int_eq(json_array_size(json_at(root, "arms")), 2);
    json_decref(root);
}
END_TEST

START_TEST(test_missing)
{
    json_t *root = parse(doc);
    ck_assert(isnan(json_number_at(root, "test.things_miou"))); /* null */
    ck_assert(isnan(json_number_at(root, "test")));             /* an object */
    ck_assert(isnan(json_number_at(root, "test.split")));       /* a string */
    ck_assert(isnan(json_number_at(root, "train.step")));       /* a prefix of a key */
    ck_assert(isnan(json_number_at(root, "train.steps.x")));    /* below a number */
    ck_assert(isnan(json_number_at(root, "arms.0")));           /* arrays have no keys */
    ck_assert_ptr_null(json_string_at(root, "train.steps"));
    ck_assert(isnan(json_number_at(NULL, "train")));
    json_decref(root);
}
END_TEST

START_TEST(test_file)
{
    char path[256];
    tmpdir_file(path, "results.json");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(doc, f);
    fputs("\n", f);
    fclose(f);
    json_t *root = json_read_file(path);
    ck_assert_ptr_nonnull(root);
    ck_assert_double_eq(json_number_at(root, "test.miou"), 0.4125);
    json_decref(root);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"a\":", f);
    fclose(f);
    ck_assert_ptr_null(json_read_file(path)); /* cut short */
    remove(path);
    ck_assert_ptr_null(json_read_file(path)); /* gone */
}
END_TEST

Suite *json_read_suite(void)
{
    Suite *s = suite_create("json_read");
    TCase *tc = tcase_create("json_read");
    tcase_add_checked_fixture(tc, tmpdir_make, tmpdir_remove);
    tcase_add_test(tc, test_paths);
    tcase_add_test(tc, test_missing);
    tcase_add_test(tc, test_file);
    suite_add_tcase(s, tc);
    return s;
}

/* Tests of the JSON half of examples/out_files.c: which numbers become
 * integers, reals or null, that reals read back exactly, the chains'
 * handling of a failed step, and the one-member-a-line layout the smoke
 * tests grep. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"
#include "out_files.h"
#include "suites.h"
#include "tmpdir.h"

/* v as out_json_number prints it, in buf. */
static const char *number_text(double v, char *buf, size_t size)
{
    json_t *j = out_json_number(v);
    char *text = json_dumps(j, OUT_JSON_FLAGS);
    ck_assert_ptr_nonnull(text);
    snprintf(buf, size, "%s", text);
    free(text);
    json_decref(j);
    return buf;
}

START_TEST(test_numbers)
{
    char buf[64];
    ck_assert_str_eq(number_text(600, buf, sizeof buf), "600");
    ck_assert_str_eq(number_text(-3, buf, sizeof buf), "-3");
    ck_assert_str_eq(number_text(0, buf, sizeof buf), "0");
    ck_assert_str_eq(number_text(-0.0, buf, sizeof buf), "-0.0");
    ck_assert_str_eq(number_text(0.5, buf, sizeof buf), "0.5");
    ck_assert_str_eq(number_text(1e15, buf, sizeof buf), "1000000000000000.0");
    ck_assert_str_eq(number_text(NAN, buf, sizeof buf), "null");
    ck_assert_str_eq(number_text(INFINITY, buf, sizeof buf), "null");
    ck_assert_str_eq(number_text(-INFINITY, buf, sizeof buf), "null");
    const double reals[] = {0.1, 1.0 / 3, 0.4125, 1e-300, 5e-324, 1.7976931348623157e308, -2.0 / 7, 123456.789};
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) {
        json_t *back = json_loads(number_text(reals[i], buf, sizeof buf), JSON_DECODE_ANY, NULL);
        ck_assert_msg(json_number_value(back) == reals[i], "%s does not read back as %.17g", buf, reals[i]);
        json_decref(back);
    }
}
END_TEST

START_TEST(test_chains_release_on_failure)
{
    const char *const keys[] = {"a", "b"};
    const double values[] = {1, 0.5};
    json_t *obj = out_json_numbers(json_object(), keys, values, 2);
    obj = out_json_merge(obj, json_pack("{s:s}", "c", "x"));
    char *text = json_dumps(obj, OUT_JSON_FLAGS);
    ck_assert_str_eq(text, "{\"a\":1,\"b\":0.5,\"c\":\"x\"}");
    free(text);
    /* a NULL value (a failed allocation, or text that is not UTF-8) ends the
     * chain; the rest of it releases what it is given (LeakSanitizer checks) */
    obj = out_json_set(obj, "bad", json_string("\xff"));
    ck_assert_ptr_null(obj);
    obj = out_json_numbers(out_json_set(obj, "d", json_integer(4)), keys, values, 2);
    ck_assert_ptr_null(out_json_merge(obj, json_pack("{s:i}", "e", 5)));
}
END_TEST

/* The file's whole text. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

START_TEST(test_layout)
{
    static const char *const spread[] = {"runs", NULL};
    json_t *root = json_pack("{s:s,s:{s:i,s:[i,i]},s:{s:f,s:{s:i}},s:{}}", "name", "x", "train", "steps", 600,
                             "seeds", 1, 2, "runs", "a", 0.5, "b", "c", 1, "empty");
    ck_assert_int_eq(out_write_json(tmpdir_path, "r.json", root, spread, "test"), 0);
    char path[256];
    const char *text = slurp(tmpdir_file(path, "r.json"));
    ck_assert_str_eq(text, "{\n"
                           "\"name\":\"x\",\n"
                           "\"train\":{\"steps\":600,\"seeds\":[1,2]},\n"
                           "\"runs\":{\n"
                           "  \"a\":0.5,\n"
                           "  \"b\":{\"c\":1}\n"
                           "},\n"
                           "\"empty\":{}\n"
                           "}\n");
    json_t *back = json_read_file(path);
    ck_assert_double_eq(json_number_at(back, "runs.a"), 0.5);
    json_decref(back);
    ck_assert_int_eq(out_write_json(tmpdir_path, "r.json", NULL, NULL, "test"), -1); /* a failed build */
}
END_TEST

Suite *out_files_suite(void)
{
    Suite *s = suite_create("out_files");
    TCase *tc = tcase_create("out_files");
    tcase_add_checked_fixture(tc, tmpdir_make, tmpdir_remove);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_chains_release_on_failure);
    tcase_add_test(tc, test_layout);
    suite_add_tcase(s, tc);
    return s;
}

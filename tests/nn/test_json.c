/* The small JSON reader and writer behind the safetensors header (nn/json.h):
 * ordered keys, escapes and UTF-8, integer detection, and what it refuses. */
#include <string.h>

#include "nn/json.h"
#include "suites.h"

static tg_json *parse(const char *text, char *err)
{
    return tg_json_parse(text, strlen(text), err, 256);
}

/* The message parsing text fails with (the test fails if it parses). */
static const char *parse_error(const char *text)
{
    static char err[256];
    tg_json *v = parse(text, err);
    ck_assert_msg(v == NULL, "parsed: %s", text);
    return err;
}

START_TEST(test_object_keeps_order_and_duplicates)
{
    char err[256];
    tg_json *v = parse(" {\"z\": 1, \"a\": [true, false, null], \"z\": {\"k\": \"v\"}}  \n", err);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, TG_JSON_OBJECT);
    ck_assert_int_eq(v->n, 3);
    ck_assert_str_eq(v->keys[0], "z");
    ck_assert_str_eq(v->keys[1], "a");
    ck_assert_str_eq(v->keys[2], "z");
    ck_assert(v->items[0].is_int && v->items[0].integer == 1);
    const tg_json *a = &v->items[1];
    ck_assert_int_eq(a->type, TG_JSON_ARRAY);
    ck_assert_int_eq(a->n, 3);
    ck_assert(a->items[0].type == TG_JSON_BOOL && a->items[0].boolean);
    ck_assert(a->items[1].type == TG_JSON_BOOL && !a->items[1].boolean);
    ck_assert_int_eq(a->items[2].type, TG_JSON_NULL);
    ck_assert_str_eq(v->items[2].items[0].string, "v");
    tg_json_free(v);
    v = parse("{}", err);
    ck_assert(v && v->type == TG_JSON_OBJECT && v->n == 0);
    tg_json_free(v);
    v = parse("[[]]", err);
    ck_assert(v && v->n == 1 && v->items[0].n == 0);
    tg_json_free(v);
}
END_TEST

START_TEST(test_strings_decode_escapes_and_utf8)
{
    char err[256];
    tg_json *v = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t \\u00e9\\u20AC \\ud83d\\ude42 \xc3\xa9\"", err);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v->string, "a\"b\\c/d\b\f\n\r\t \xc3\xa9\xe2\x82\xac \xf0\x9f\x99\x82 \xc3\xa9");
    tg_json_free(v);
    ck_assert_ptr_nonnull(strstr(parse_error("\"\\ud83d\""), "unpaired surrogate"));
    ck_assert_ptr_nonnull(strstr(parse_error("\"\\ude42x\""), "unpaired surrogate"));
    ck_assert_ptr_nonnull(strstr(parse_error("\"a\\u0000b\""), "\\u0000 in string"));
    ck_assert_ptr_nonnull(strstr(parse_error("\"\\u12\""), "invalid \\u escape"));
    ck_assert_ptr_nonnull(strstr(parse_error("\"\\x\""), "invalid escape in string at byte 2"));
    ck_assert_ptr_nonnull(strstr(parse_error("\"a\nb\""), "control character"));
    ck_assert_ptr_nonnull(strstr(parse_error("\"\xc3\""), "invalid UTF-8"));
    ck_assert_ptr_nonnull(strstr(parse_error("\"\xed\xa0\x80\""), "invalid UTF-8")); /* encoded surrogate */
    ck_assert_ptr_nonnull(strstr(parse_error("\"\xc0\xaf\""), "invalid UTF-8"));     /* overlong */
    ck_assert_ptr_nonnull(strstr(parse_error("\"abc"), "unterminated string"));
    ck_assert_ptr_nonnull(strstr(parse_error("\"abc\\"), "unterminated string"));
}
END_TEST

START_TEST(test_numbers)
{
    static const struct {
        const char *text;
        bool is_int;
        int64_t value;
        double number;
    } cases[] = {
        {"0", true, 0, 0},
        {"-0", true, 0, -0.0},
        {"123", true, 123, 123},
        {"-5", true, -5, -5},
        {"9223372036854775807", true, INT64_MAX, 9223372036854775807.0},
        {"-9223372036854775808", true, INT64_MIN, -9223372036854775808.0},
        {"9223372036854775808", false, 0, 9223372036854775808.0},
        {"99999999999999999999999", false, 0, 99999999999999999999999.0},
        {"1.5", false, 0, 1.5},
        {"2.0", false, 0, 2},
        {"1e3", false, 0, 1e3},
        {"-1E-2", false, 0, -1e-2},
        {"0.1000000000000000055511151231257827021181583404541015625000000000000000000001", false, 0, 0.1},
    };
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tg_json *v = parse(cases[i].text, err);
        ck_assert_msg(v && v->type == TG_JSON_NUMBER, "%s: %s", cases[i].text, err);
        ck_assert_msg(v->is_int == cases[i].is_int, "%s", cases[i].text);
        if (v->is_int) ck_assert_msg(v->integer == cases[i].value, "%s", cases[i].text);
        ck_assert_msg(v->number == cases[i].number, "%s: %.17g", cases[i].text, v->number);
        tg_json_free(v);
    }
    ck_assert_ptr_nonnull(strstr(parse_error("01"), "unexpected data after the JSON value at byte 1"));
    ck_assert_ptr_nonnull(strstr(parse_error("-"), "invalid number"));
    ck_assert_ptr_nonnull(strstr(parse_error("1."), "invalid number"));
    ck_assert_ptr_nonnull(strstr(parse_error("1e+"), "invalid number"));
    ck_assert_ptr_nonnull(strstr(parse_error("+1"), "unexpected character"));
}
END_TEST

START_TEST(test_refuses_malformed_documents)
{
    ck_assert_ptr_nonnull(strstr(parse_error(""), "unexpected end of input at byte 0"));
    ck_assert_ptr_nonnull(strstr(parse_error("   "), "unexpected end of input"));
    ck_assert_ptr_nonnull(strstr(parse_error("{\"a\":1"), "unexpected end of input"));
    ck_assert_ptr_nonnull(strstr(parse_error("{\"a\" 1}"), "expected ':' at byte 5"));
    ck_assert_ptr_nonnull(strstr(parse_error("{\"a\":1 \"b\":2}"), "expected ',' or '}'"));
    ck_assert_ptr_nonnull(strstr(parse_error("[1 2]"), "expected ',' or ']'"));
    ck_assert_ptr_nonnull(strstr(parse_error("{a:1}"), "expected a string"));
    ck_assert_ptr_nonnull(strstr(parse_error("{\"a\":1,}"), "expected a string"));
    ck_assert_ptr_nonnull(strstr(parse_error("[1,]"), "unexpected character"));
    ck_assert_ptr_nonnull(strstr(parse_error("tru"), "unexpected character"));
    ck_assert_ptr_nonnull(strstr(parse_error("{} {}"), "unexpected data after the JSON value"));
    char deep[200] = {0};
    memset(deep, '[', 100);
    ck_assert_ptr_nonnull(strstr(parse_error(deep), "nesting too deep"));
    /* the length bounds the text: no NUL needed, nothing read past it */
    char err[256];
    tg_json *v = tg_json_parse("[1]garbage", 3, err, sizeof err);
    ck_assert(v && v->n == 1);
    tg_json_free(v);
}
END_TEST

START_TEST(test_writer_escapes_and_round_trips)
{
    tg_json_buf b = {0};
    tg_json_append(&b, "[", 1);
    tg_json_append_string(&b, "q\"b\\n\n\x01 \xc3\xa9");
    tg_json_printf(&b, ",%d]", 42);
    ck_assert(!b.failed);
    ck_assert_str_eq(b.data, "[\"q\\\"b\\\\n\\u000a\\u0001 \xc3\xa9\",42]");
    char err[256];
    tg_json *v = tg_json_parse(b.data, b.len, err, sizeof err);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v->items[0].string, "q\"b\\n\n\x01 \xc3\xa9");
    ck_assert_int_eq(v->items[1].integer, 42);
    tg_json_free(v);
    tg_json_buf_free(&b);
    ck_assert(tg_json_utf8_valid("", 0));
    ck_assert(tg_json_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    ck_assert(!tg_json_utf8_valid("\xf4\x90\x80\x80", 4)); /* beyond it */
}
END_TEST

START_TEST(test_writer_prints_long_text)
{
    char word[1000];
    memset(word, 'x', sizeof word - 1);
    word[sizeof word - 1] = '\0';
    tg_json_buf b = {0};
    tg_json_printf(&b, "<%s|%d>", word, 7);
    ck_assert(!b.failed);
    ck_assert_uint_eq(b.len, 1003);
    ck_assert_int_eq(b.data[0], '<');
    ck_assert_str_eq(b.data + 1000, "|7>");
    tg_json_buf_free(&b);
}
END_TEST

Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, test_object_keeps_order_and_duplicates);
    tcase_add_test(tc, test_strings_decode_escapes_and_utf8);
    tcase_add_test(tc, test_writer_prints_long_text);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_refuses_malformed_documents);
    tcase_add_test(tc, test_writer_escapes_and_round_trips);
    suite_add_tcase(s, tc);
    return s;
}

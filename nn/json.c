/* A small JSON reader (to an ordered tree) and writer (to a growing buffer),
 * enough for the safetensors header; see json.h. */
#include "nn/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper documents are refused, so the recursive parser and free have a
 * bounded stack; a safetensors header needs 3 levels. */
#define MAX_DEPTH 64

typedef struct {
    const char *start, *p, *end;
    char *err;
    size_t errlen;
    int depth;
} parser;

static bool fail(parser *ps, const char *what)
{
    snprintf(ps->err, ps->errlen, "%s at byte %td", what, ps->p - ps->start);
    return false;
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

/* Skips c (after whitespace) if it is next; says whether it was. */
static bool accept(parser *ps, char c)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

static bool expect(parser *ps, char c, const char *what)
{
    if (accept(ps, c)) return true;
    return fail(ps, ps->p == ps->end ? "unexpected end of input" : what);
}

/* ---- UTF-8 ---- */

/* Length of the well-formed UTF-8 sequence at s (of n bytes), or 0. */
static int utf8_sequence(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return 1;
    int len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (len == 0 || s[0] > 0xF4 || (size_t)len > n) return 0;
    for (int i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (s[0] == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
    if (s[0] == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
    if (s[0] == 0xF0 && s[1] < 0x90) return 0; /* overlong */
    if (s[0] == 0xF4 && s[1] >= 0x90) return 0; /* beyond U+10FFFF */
    return len;
}

bool tg_json_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        int k = utf8_sequence(u + i, len - i);
        if (k == 0) return false;
        i += (size_t)k;
    }
    return true;
}

static char *put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        *out++ = (char)cp;
    } else if (cp < 0x800) {
        *out++ = (char)(0xC0 | cp >> 6);
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out++ = (char)(0xE0 | cp >> 12);
        *out++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *out++ = (char)(0xF0 | cp >> 18);
        *out++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *out++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    }
    return out;
}

/* ---- strings ---- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits after "\u"; -1 if malformed. */
static long hex4(parser *ps)
{
    if (ps->end - ps->p < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(ps->p[i]);
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    ps->p += 4;
    return v;
}

/* The code point of a \u escape (ps->p just after "\u"), joining a
 * surrogate pair; -1 after recording the problem. */
static long unicode_escape(parser *ps)
{
    long cp = hex4(ps);
    if (cp < 0) return fail(ps, "invalid \\u escape in string"), -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(ps, "unpaired surrogate in string"), -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        bool escaped = ps->end - ps->p >= 2 && ps->p[0] == '\\' && ps->p[1] == 'u';
        ps->p += escaped ? 2 : 0;
        long lo = escaped ? hex4(ps) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) return fail(ps, "unpaired surrogate in string"), -1;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) return fail(ps, "\\u0000 in string"), -1;
    return cp;
}

/* Decodes one escape (ps->p just after the backslash) into out; returns
 * the new end of out, or NULL. */
static char *escape(parser *ps, char *out)
{
    if (ps->p == ps->end) return fail(ps, "unexpected end of input"), NULL;
    char c = *ps->p++;
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *k = c ? strchr(from, c) : NULL;
    if (k) {
        *out++ = to[k - from];
        return out;
    }
    if (c != 'u') return ps->p--, fail(ps, "invalid escape in string"), NULL;
    long cp = unicode_escape(ps);
    return cp < 0 ? NULL : put_utf8(out, (unsigned)cp);
}

/* A string (ps->p at its opening quote), decoded into a new C string. */
static char *parse_string(parser *ps)
{
    if (!expect(ps, '"', "expected a string")) return NULL;
    const char *close = ps->p;
    while (close < ps->end && *close != '"') close += *close == '\\' && close + 1 < ps->end ? 2 : 1;
    if (close >= ps->end) return fail(ps, "unterminated string"), NULL;
    char *s = malloc((size_t)(close - ps->p) + 1), *out = s;
    if (!s) return fail(ps, "out of memory"), NULL;
    while (out && ps->p < close) {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) out = (fail(ps, "control character in string"), NULL);
        else if (c == '\\') ps->p++, out = escape(ps, out);
        else *out++ = *ps->p++;
    }
    if (out && !tg_json_utf8_valid(s, (size_t)(out - s))) out = (fail(ps, "invalid UTF-8 in string"), NULL);
    if (!out) {
        free(s);
        return NULL;
    }
    *out = '\0';
    ps->p = close + 1;
    return s;
}

/* ---- numbers and literals ---- */

static bool is_digit(parser *ps) { return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; }

/* Skips a run of digits, at least one. */
static bool digits(parser *ps)
{
    if (!is_digit(ps)) return fail(ps, "invalid number");
    while (is_digit(ps)) ps->p++;
    return true;
}

/* The value of the number text[0..len) as a double, correctly rounded. */
static bool number_value(parser *ps, const char *text, size_t len, double *value)
{
    char small[64], *copy = len < sizeof small ? small : malloc(len + 1);
    if (!copy) return fail(ps, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    *value = strtod(copy, NULL);
    if (copy != small) free(copy);
    return true;
}

static bool parse_number(parser *ps, tg_json *v)
{
    const char *start = ps->p;
    bool negative = ps->p < ps->end && *ps->p == '-';
    ps->p += negative;
    const char *first = ps->p;
    if (ps->p < ps->end && *ps->p == '0') ps->p++;
    else if (!digits(ps)) return false;
    uint64_t mag = 0;
    bool fits = true;
    for (const char *d = first; d < ps->p; d++) {
        unsigned digit = (unsigned)(*d - '0');
        fits = fits && mag <= (UINT64_MAX - digit) / 10;
        mag = mag * 10 + digit;
    }
    bool integral = true;
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++, integral = false;
        if (!digits(ps)) return false;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++, integral = false;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (!digits(ps)) return false;
    }
    if (!number_value(ps, start, (size_t)(ps->p - start), &v->number)) return false;
    v->type = TG_JSON_NUMBER;
    v->is_int = integral && fits && mag <= (uint64_t)INT64_MAX + negative;
    v->integer = !v->is_int ? 0 : negative ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

static bool parse_literal(parser *ps, tg_json *v)
{
    static const struct {
        const char *word;
        tg_json_type type;
        bool value;
    } words[] = {{"true", TG_JSON_BOOL, true}, {"false", TG_JSON_BOOL, false}, {"null", TG_JSON_NULL, false}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, words[i].word, n) == 0) {
            ps->p += n;
            v->type = words[i].type;
            v->boolean = words[i].value;
            return true;
        }
    }
    return fail(ps, "unexpected character");
}

/* ---- arrays and objects ---- */

static bool parse_value(parser *ps, tg_json *v);

/* Room for one more item (and key) in v; *cap is its capacity. */
static bool grow(parser *ps, tg_json *v, int *cap)
{
    if (v->n < *cap) return true;
    int want = *cap ? 2 * *cap : 4;
    tg_json *items = realloc(v->items, (size_t)want * sizeof *items);
    if (items) v->items = items;
    if (items && v->type == TG_JSON_OBJECT) {
        char **keys = realloc(v->keys, (size_t)want * sizeof *keys);
        if (keys) v->keys = keys;
        items = keys ? items : NULL;
    }
    if (!items) return fail(ps, "out of memory");
    *cap = want;
    return true;
}

/* The items of an array or object (ps->p after its opening bracket). */
static bool parse_items(parser *ps, tg_json *v, char close)
{
    bool object = v->type == TG_JSON_OBJECT;
    int cap = 0;
    if (accept(ps, close)) return true;
    do {
        if (!grow(ps, v, &cap)) return false;
        char *key = NULL;
        if (object && (!(key = parse_string(ps)) || !expect(ps, ':', "expected ':'"))) {
            free(key);
            return false;
        }
        tg_json *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        if (object) v->keys[v->n] = key;
        v->n++; /* counted now, so a failed item is freed with v */
        if (!parse_value(ps, item)) return false;
    } while (accept(ps, ','));
    return expect(ps, close, object ? "expected ',' or '}'" : "expected ',' or ']'");
}

static bool parse_value(parser *ps, tg_json *v)
{
    skip_space(ps);
    if (ps->p == ps->end) return fail(ps, "unexpected end of input");
    char c = *ps->p;
    if (c == '"') {
        v->type = TG_JSON_STRING;
        return (v->string = parse_string(ps)) != NULL;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(ps, v);
    if (c != '{' && c != '[') return parse_literal(ps, v);
    if (++ps->depth > MAX_DEPTH) return fail(ps, "nesting too deep");
    ps->p++;
    v->type = c == '{' ? TG_JSON_OBJECT : TG_JSON_ARRAY;
    bool ok = parse_items(ps, v, c == '{' ? '}' : ']');
    ps->depth--;
    return ok;
}

static void free_contents(tg_json *v)
{
    for (int i = 0; i < v->n; i++) {
        free_contents(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
}

void tg_json_free(tg_json *v)
{
    if (!v) return;
    free_contents(v);
    free(v);
}

tg_json *tg_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    parser ps = {.start = text, .p = text, .end = text + len, .err = err, .errlen = errlen};
    tg_json *root = calloc(1, sizeof *root);
    if (!root) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bool ok = parse_value(&ps, root);
    skip_space(&ps);
    if (ok && ps.p != ps.end) ok = fail(&ps, "unexpected data after the JSON value");
    if (!ok) {
        tg_json_free(root);
        return NULL;
    }
    return root;
}

/* ---- writer ---- */

void tg_json_append(tg_json_buf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t want = b->cap ? b->cap : 256;
        while (want < b->len + n + 1) want *= 2;
        char *data = realloc(b->data, want);
        if (!data) {
            b->failed = true;
            return;
        }
        b->data = data;
        b->cap = want;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tg_json_printf(tg_json_buf *b, const char *fmt, ...)
{
    char small[128], *text = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= sizeof small && (text = malloc((size_t)n + 1))) {
        va_start(ap, fmt);
        n = vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (n < 0 || !text) b->failed = true;
    else tg_json_append(b, text, (size_t)n);
    if (text != small) free(text);
}

void tg_json_append_string(tg_json_buf *b, const char *s)
{
    tg_json_append(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            tg_json_append(b, esc, 2);
        } else if (c < 0x20) {
            tg_json_printf(b, "\\u%04x", c);
        } else {
            tg_json_append(b, p, 1);
        }
    }
    tg_json_append(b, "\"", 1);
}

void tg_json_buf_free(tg_json_buf *b)
{
    free(b->data);
    *b = (tg_json_buf){0};
}

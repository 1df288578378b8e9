/* SPDX-License-Identifier: MIT */
/* JSON: the string writer, and the reader, strict about the grammar (RFC 8259): strings and their
 * escapes, numbers, literals, objects, arrays, nesting limits; what the writer writes, the reader
 * reads back byte for byte. */
#include "json.h"
#include "tests.h"

typedef struct Buf {
        char data[4096];
        size_t len;
} Buf;

static void buf_write(void *ud, const char *p, size_t n) {
        Buf *b = ud;
        if (b->len + n < sizeof b->data) {
                memcpy(b->data + b->len, p, n);
                b->len += n;
                b->data[b->len] = '\0';
        }
}

static const char *written(const char *s) {
        static Buf b;
        b.len = 0;
        b.data[0] = '\0';
        json_write_string(s, buf_write, &b);
        return b.data;
}

TEST(write_escapes) {
        ASSERT_STREQ(written(""), "\"\"");
        ASSERT_STREQ(written("app/web"), "\"app/web\"");
        ASSERT_STREQ(written("a\"b\\c"), "\"a\\\"b\\\\c\"");
        ASSERT_STREQ(written("x\ny\tz\x01"), "\"x\\u000ay\\u0009z\\u0001\"");
        /* Valid UTF-8 as it is; every byte that is not as U+FFFD. */
        ASSERT_STREQ(written("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
        ASSERT_STREQ(written("bad \xff\xfe"), "\"bad \\ufffd\\ufffd\"");
        ASSERT_STREQ(written("\xc0\x80"), "\"\\ufffd\\ufffd\"");             /* overlong NUL */
        ASSERT_STREQ(written("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");   /* a surrogate */
        ASSERT_STREQ(written("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* above U+10FFFF */
        ASSERT_STREQ(written("cut \xe2\x82"), "\"cut \\ufffd\\ufffd\"");     /* cut in the middle */
        ASSERT_STREQ(written("\xe2\x82\"x"), "\"\\ufffd\\ufffd\\\"x\"");
}

/* Reads the one string in text; returns the length or the error, with the text in out. */
static int read_string(const char *text, char *out, size_t size) {
        JsonReader r = json_reader(text);
        int n = json_read_string(&r, out, size);
        if (n >= 0 && json_read_end(&r) < 0)
                return -1000;
        return n;
}

TEST(read_strings) {
        char s[64];
        ASSERT_EQ(read_string("\"\"", s, sizeof s), 0);
        ASSERT_STREQ(s, "");
        ASSERT_EQ(read_string("  \"app/web\"  ", s, sizeof s), 7);
        ASSERT_STREQ(s, "app/web");
        ASSERT_EQ(read_string("\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"", s, sizeof s), 12);
        ASSERT_STREQ(s, "a\"b\\c/d\n\t\r\b\f");
        ASSERT_EQ(read_string("\"\\u00e9\\u20AC\"", s, sizeof s), 5);
        ASSERT_STREQ(s, "\xc3\xa9\xe2\x82\xac");
        /* A surrogate pair: U+1F600. */
        ASSERT_EQ(read_string("\"\\ud83d\\ude00\"", s, sizeof s), 4);
        ASSERT_STREQ(s, "\xf0\x9f\x98\x80");
        ASSERT_EQ(read_string("\"\\u0041\"", s, sizeof s), 1);
        ASSERT_STREQ(s, "A");
        /* Raw UTF-8 and other high bytes pass as they are. */
        ASSERT_EQ(read_string("\"\xc3\xa9\xff\"", s, sizeof s), 3);
        ASSERT_STREQ(s, "\xc3\xa9\xff");
}

TEST(read_strings_cut) {
        char s[4];
        ASSERT_EQ(read_string("\"abcdef\"", s, sizeof s), 6);
        ASSERT_STREQ(s, "abc");
        /* Only checked. */
        ASSERT_EQ(read_string("\"abcdef\"", NULL, 0), 6);
        /* A multi-byte character cut in the middle is cut, as any byte. */
        ASSERT_EQ(read_string("\"ab\\u20ac\"", s, sizeof s), 5);
        ASSERT_STREQ(s, "ab\xe2");
}

TEST(read_strings_refused) {
        static const char *const bad[] = {
                "",  "abc", "\"abc", "\"abc\\", "\"a\\x\"", "\"a\\u12\"", "\"a\\u12g4\"", "\"a\nb\"", "\"a\tb\"",
                "\"\\u0000\"",                  /* U+0000: not in a C string */
                "\"\\ud83d\"",                  /* a lone high surrogate */
                "\"\\ud83dx\"", "\"\\ud83d\\u0041\"", /* not followed by a low one */
                "\"\\ude00\"",                  /* a lone low surrogate */
                "'abc'", "abc\"",
        };
        char s[16];
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                JsonReader r = json_reader(bad[i]);
                if (json_read_string(&r, s, sizeof s) != -EBADMSG)
                        FAIL_("%s read as a string", bad[i]);
        }
}

static int read_uint(const char *text, uint64_t *v) {
        JsonReader r = json_reader(text);
        int k = json_read_uint(&r, v);
        if (k >= 0 && json_read_end(&r) < 0)
                return -1000;
        return k;
}

TEST(read_uints) {
        uint64_t v = 7;
        ASSERT_OK(read_uint("0", &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(read_uint(" 42 ", &v));
        ASSERT_EQ(v, 42);
        ASSERT_OK(read_uint("18446744073709551615", &v));
        ASSERT_TRUE(v == UINT64_MAX);
        v = 7;
        ASSERT_ERR(read_uint("18446744073709551616", &v), -ERANGE);
        ASSERT_ERR(read_uint("99999999999999999999999", &v), -ERANGE);
        ASSERT_EQ(v, 7);
        static const char *const bad[] = { "", "-1", "-0", "1.5", "1e3", "1E3", "+1", "x", "\"1\"", "null", ".5" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                JsonReader r = json_reader(bad[i]);
                if (json_read_uint(&r, &v) != -EBADMSG)
                        FAIL_("%s read as an unsigned integer", bad[i]);
                ASSERT_EQ(v, 7);
        }
        /* A leading zero ends the number: what follows is not a value. */
        ASSERT_ERR(read_uint("012", &v), -1000);
}

TEST(read_null) {
        JsonReader r = json_reader(" null ");
        ASSERT_TRUE(json_read_null(&r));
        ASSERT_OK(json_read_end(&r));
        r = json_reader("nullx");
        ASSERT_TRUE(!json_read_null(&r));
        r = json_reader("5");
        ASSERT_TRUE(!json_read_null(&r));
        uint64_t v;
        ASSERT_OK(json_read_uint(&r, &v)); /* nothing was read */
        ASSERT_EQ(v, 5);
}

static int skip_all(const char *text) {
        JsonReader r = json_reader(text);
        int k = json_skip(&r);
        return k < 0 ? k : json_read_end(&r);
}

TEST(skip_values) {
        static const char *const good[] = {
                "0", "-0", "12", "-12.5e+3", "1E-2", "0.25", "true", "false", "null", "\"x\"", "[]", "{}",
                " [ 1 , \"a\" , { \"k\" : [ null , true ] } ] ", "{\"a\": {\"b\": {\"c\": []}}, \"d\": -1}",
        };
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                if (skip_all(good[i]) != 0)
                        FAIL_("%s refused", good[i]);
        static const char *const bad[] = {
                "", " ", "01", "1.", ".5", "1e", "1e+", "+1", "-", "--1", "0x10", "inf", "nan", "tru", "truex",
                "nul", "[", "[1,]", "[,1]", "[1 2]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
                "{\"a\" 1}", "[1]]", "}", "\"a", "[\"\\q\"]",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                if (skip_all(bad[i]) != -EBADMSG)
                        FAIL_("%s accepted", bad[i]);
}

TEST(nesting_limit) {
        char deep[2 * (JSON_DEPTH_MAX + 1) + 1];
        for (unsigned depth = JSON_DEPTH_MAX; depth <= JSON_DEPTH_MAX + 1; depth++) {
                memset(deep, '[', depth);
                memset(deep + depth, ']', depth);
                deep[2 * depth] = '\0';
                ASSERT_EQ(skip_all(deep), depth <= JSON_DEPTH_MAX ? 0 : -EBADMSG);
        }
}

typedef struct Seen {
        char keys[8][JSON_KEY_MAX + 1];
        uint64_t values[8];
        size_t n;
        int stop_at;              /* the member whose callback fails, or -1 */
} Seen;

static int seen_member(JsonReader *r, const char *key, void *ud) {
        Seen *s = ud;
        if ((int) s->n == s->stop_at)
                return -ENOMEM;
        if (s->n < 8) {
                snprintf(s->keys[s->n], sizeof s->keys[s->n], "%s", key);
                if (json_read_null(r))
                        s->values[s->n] = UINT64_MAX;
                else {
                        int k = json_read_uint(r, &s->values[s->n]);
                        if (k < 0)
                                return k;
                }
        }
        s->n++;
        return 0;
}

TEST(objects) {
        Seen s = { .stop_at = -1 };
        JsonReader r = json_reader("{ \"a\": 1, \"b\\u0063\": null ,\"\": 3 }");
        ASSERT_OK(json_read_object(&r, seen_member, &s));
        ASSERT_OK(json_read_end(&r));
        ASSERT_EQ(s.n, 3);
        ASSERT_STREQ(s.keys[0], "a");
        ASSERT_EQ(s.values[0], 1);
        ASSERT_STREQ(s.keys[1], "bc");
        ASSERT_TRUE(s.values[1] == UINT64_MAX);
        ASSERT_STREQ(s.keys[2], "");
        ASSERT_EQ(s.values[2], 3);
        ASSERT_EQ(r.depth, 0);

        /* A callback's error stops the reading and is returned. */
        s = (Seen) { .stop_at = 1 };
        r = json_reader("{\"a\": 1, \"b\": 2}");
        ASSERT_ERR(json_read_object(&r, seen_member, &s), -ENOMEM);

        /* A key longer than JSON_KEY_MAX: its value is skipped, whatever it is. */
        char text[256];
        char key[JSON_KEY_MAX + 2];
        memset(key, 'k', sizeof key - 1);
        key[sizeof key - 1] = '\0';
        snprintf(text, sizeof text, "{\"%s\": [\"not a number\"], \"%.*s\": 9}", key, JSON_KEY_MAX, key);
        s = (Seen) { .stop_at = -1 };
        r = json_reader(text);
        ASSERT_OK(json_read_object(&r, seen_member, &s));
        ASSERT_EQ(s.n, 1);
        ASSERT_EQ(strlen(s.keys[0]), JSON_KEY_MAX);
        ASSERT_EQ(s.values[0], 9);

        /* Not objects. */
        static const char *const bad[] = { "[]", "{\"a\": 1", "{\"a\": 1,}", "{\"a\" 1}", "{1: 1}", "{\"a\": x}" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                s = (Seen) { .stop_at = -1 };
                r = json_reader(bad[i]);
                if (json_read_object(&r, seen_member, &s) != -EBADMSG)
                        FAIL_("%s read as an object", bad[i]);
        }
}

static int sum_element(JsonReader *r, void *ud) {
        uint64_t v;
        int k = json_read_uint(r, &v);
        if (k >= 0)
                *(uint64_t *) ud += v;
        return k;
}

TEST(arrays) {
        uint64_t sum = 0;
        JsonReader r = json_reader("[1, 2 ,3]");
        ASSERT_OK(json_read_array(&r, sum_element, &sum));
        ASSERT_EQ(sum, 6);
        r = json_reader("[ ]");
        ASSERT_OK(json_read_array(&r, sum_element, &sum));
        ASSERT_EQ(sum, 6);
        static const char *const bad[] = { "{}", "[1,]", "[,]", "[1", "[1 2]", "[\"1\"]" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                r = json_reader(bad[i]);
                if (json_read_array(&r, sum_element, &sum) != -EBADMSG)
                        FAIL_("%s read as an array of numbers", bad[i]);
        }
}

/* Every byte but NUL, alone and in company, comes back as it went out; a byte that is not UTF-8
 * on its own (0x80 and above) comes back as U+FFFD. */
TEST(write_then_read) {
        char in[8], out[8];
        for (unsigned c = 1; c < 256; c++) {
                snprintf(in, sizeof in, "<%c>", (char) c);
                const char *w = written(in);
                JsonReader r = json_reader(w);
                ASSERT_EQ(json_read_string(&r, out, sizeof out), c < 0x80 ? 3 : 5);
                ASSERT_OK(json_read_end(&r));
                if (c < 0x80 ? memcmp(in, out, 4) != 0 : strcmp(out, "<\xef\xbf\xbd>") != 0)
                        FAIL_("byte 0x%02x came back as %s", c, out);
        }
}

/* The text `status --json` writes, read as `top` reads it. */
TEST(status_json) {
        static const char text[] =
                "{\"seq\": 12, \"processes\": [\n  {\"path\": \"app\", \"kind\": \"supervisor\", \"state\": \"running\", \"pid\": null, "
                "\"restarts\": 0, \"uptime_ms\": 1200, \"last_exit\": null, \"mailbox\": null},\n"
                "  {\"path\": \"app/web\", \"kind\": \"worker\", \"state\": \"running\", \"pid\": 4242, "
                "\"restarts\": 2, \"uptime_ms\": 900, \"last_exit\": {\"signal\": \"KILL\", \"reason\": \"oom\"}, "
                "\"mailbox\": {\"depth\": 0, \"limit\": 1000, \"in\": 5, \"out\": 7, \"dropped\": 0}}\n]}\n";
        JsonReader r = json_reader(text);
        ASSERT_OK(json_skip(&r));
        ASSERT_OK(json_read_end(&r));
}

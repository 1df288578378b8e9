/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the JSON reader: any text is read as one value (skipped) and as top reads
 * `status --json`, without reading past its end; a string that reads is written back by the
 * writer and reads again to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Out {
        char data[8192];
        size_t len;
        bool full;
} Out;

static void out_write(void *ud, const char *p, size_t n) {
        Out *o = ud;
        if (o->len + n >= sizeof o->data) {
                o->full = true;
                return;
        }
        memcpy(o->data + o->len, p, n);
        o->len += n;
        o->data[o->len] = '\0';
}

static int any_member(JsonReader *r, const char *key, void *ud) {
        uint64_t v;
        char s[32];
        if (strlen(key) > JSON_KEY_MAX)
                abort();
        if (json_read_null(r))
                return 0;
        /* As top does: a number, a string, an object, else anything. */
        switch (*r->p) { /* json_read_null() passed the whitespace */
        case '"':
                return json_read_string(r, s, sizeof s);
        case '{':
                return json_read_object(r, any_member, ud);
        default:
                return json_read_uint(r, &v) == 0 ? 0 : json_skip(r);
        }
}

static int any_row(JsonReader *r, void *ud) {
        return json_read_object(r, any_member, ud);
}

/* As top reads the whole answer: {"seq": N, "processes": [rows]}. */
static int status_member(JsonReader *r, const char *key, void *ud) {
        if (strcmp(key, "processes") == 0)
                return json_read_array(r, any_row, ud);
        return json_skip(r);
}

static void check_within(const JsonReader *r, const char *text, size_t len) {
        if (r->p < text || r->p > text + len)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* An exact-size NUL-terminated copy, so ASan sees any read past the text. */
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        size_t len = strlen(text);

        JsonReader r = json_reader(text);
        if (json_skip(&r) == 0 && r.depth != 0)
                abort();
        check_within(&r, text, len);
        (void) json_read_end(&r);
        check_within(&r, text, len);

        r = json_reader(text);
        (void) json_read_object(&r, status_member, NULL);
        check_within(&r, text, len);

        /* again: room for every byte of s as U+FFFD (3 bytes each). */
        static char s[4096], again[3 * 4096];
        r = json_reader(text);
        int n = json_read_string(&r, s, sizeof s);
        check_within(&r, text, len);
        if (n >= 0 && (size_t) n < sizeof s) {
                if (strlen(s) != (size_t) n)
                        abort(); /* a NUL inside: refused, never read */
                static Out o;
                o.len = 0;
                o.full = false;
                json_write_string(s, out_write, &o);
                bool utf8 = true;
                for (const char *p = s; *p && utf8; p += json_utf8_len(p) ?: 1)
                        utf8 = json_utf8_len(p) > 0;
                if (!o.full) {
                        /* Valid UTF-8 comes back as it went; anything else as valid UTF-8, which the
                         * writer then writes as it is. */
                        JsonReader w = json_reader(o.data);
                        int m = json_read_string(&w, again, sizeof again);
                        if (m < 0 || json_read_end(&w) != 0 || (utf8 && (m != n || memcmp(s, again, (size_t) n) != 0)))
                                abort();
                        for (const char *p = again; *p; p += json_utf8_len(p) ?: 1)
                                if (json_utf8_len(p) == 0)
                                        abort();
                }
        }
        free(text);
        return 0;
}

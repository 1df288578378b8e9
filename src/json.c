/* SPDX-License-Identifier: MIT */
/* JSON strings out, JSON values in (see json.h). The reader never reads past the text's NUL: it
 * looks at a byte only after every byte before it matched. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

size_t json_utf8_len(const char *p) {
        const unsigned char *s = (const unsigned char *) p;
        /* A NUL fails the continuation test before anything past it is read. */
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                return (s[1] & 0xc0) == 0x80 ? 2 : 0;
        if (s[0] >= 0xe0 && s[0] <= 0xef) {
                unsigned char lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
                return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
        }
        if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                unsigned char lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
                return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
        }
        return 0;
}

void json_write_string(const char *s, JsonWrite write, void *ud) {
        const char *run = s;
        write(ud, "\"", 1);
        while (*s) {
                unsigned char ch = (unsigned char) *s;
                size_t len = ch >= 0x80 ? json_utf8_len(s) : 1;
                if (len > 1 || (len == 1 && ch != '"' && ch != '\\' && ch >= 0x20)) {
                        s += len;
                        continue;
                }
                /* What precedes it goes out in one piece. */
                if (s > run)
                        write(ud, run, (size_t) (s - run));
                char esc[8];
                int n = len == 0                      ? snprintf(esc, sizeof esc, "\\ufffd") /* not UTF-8 */
                        : ch == '"' || ch == '\\' ? snprintf(esc, sizeof esc, "\\%c", ch)
                                                     : snprintf(esc, sizeof esc, "\\u%04x", ch);
                write(ud, esc, (size_t) n);
                run = ++s;
        }
        if (s > run)
                write(ud, run, (size_t) (s - run));
        write(ud, "\"", 1);
}

/* ---- reading -------------------------------------------------------------------------------- */

static void skip_ws(JsonReader *r) {
        r->p += strspn(r->p, " \t\r\n");
}

/* Consumes c, after whitespace, if it comes next. */
static bool eat(JsonReader *r, char c) {
        skip_ws(r);
        if (*r->p != c)
                return false;
        r->p++;
        return true;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* A literal (true, false, null) ends where a token may: "nullx" is not null. */
static bool eat_literal(JsonReader *r, const char *word) {
        size_t n = strlen(word);
        skip_ws(r);
        if (strncmp(r->p, word, n) != 0)
                return false;
        char next = r->p[n];
        if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || is_digit(next) || next == '_')
                return false;
        r->p += n;
        return true;
}

static void put_byte(char *buf, size_t size, size_t *len, unsigned long c) {
        if (*len + 1 < size)
                buf[*len] = (char) c;
        (*len)++;
}

static void put_utf8(char *buf, size_t size, size_t *len, unsigned long u) {
        if (u < 0x80)
                put_byte(buf, size, len, u);
        else if (u < 0x800) {
                put_byte(buf, size, len, 0xc0 | u >> 6);
                put_byte(buf, size, len, 0x80 | (u & 0x3f));
        } else if (u < 0x10000) {
                put_byte(buf, size, len, 0xe0 | u >> 12);
                put_byte(buf, size, len, 0x80 | (u >> 6 & 0x3f));
                put_byte(buf, size, len, 0x80 | (u & 0x3f));
        } else {
                put_byte(buf, size, len, 0xf0 | u >> 18);
                put_byte(buf, size, len, 0x80 | (u >> 12 & 0x3f));
                put_byte(buf, size, len, 0x80 | (u >> 6 & 0x3f));
                put_byte(buf, size, len, 0x80 | (u & 0x3f));
        }
}

/* The code unit of the 4 hex digits at s, or -1. Stops at the first byte that is not one, so it
 * never reads past the NUL. */
static long hex4(const char *s) {
        long v = 0;
        for (int i = 0; i < 4; i++) {
                char c = s[i];
                int d = is_digit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0)
                        return -1;
                v = v << 4 | d;
        }
        return v;
}

int json_read_string(JsonReader *r, char *buf, size_t size) {
        size_t len = 0;
        const char *s;

        if (!eat(r, '"'))
                return -EBADMSG;
        for (s = r->p;; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '\0' || c < 0x20)
                        return -EBADMSG;
                if (c == '"')
                        break;
                if (c != '\\') {
                        put_byte(buf, size, &len, c);
                        continue;
                }
                s++;
                switch (*s) {
                case 'n': put_byte(buf, size, &len, '\n'); break;
                case 't': put_byte(buf, size, &len, '\t'); break;
                case 'r': put_byte(buf, size, &len, '\r'); break;
                case 'b': put_byte(buf, size, &len, '\b'); break;
                case 'f': put_byte(buf, size, &len, '\f'); break;
                case '"': case '\\': case '/': put_byte(buf, size, &len, (unsigned char) *s); break;
                case 'u': {
                        long u = hex4(s + 1);
                        if (u <= 0) /* not 4 hex digits, or U+0000 */
                                return -EBADMSG;
                        s += 4;
                        if (u >= 0xd800 && u < 0xdc00) {
                                /* A high surrogate: its low half must follow. */
                                long lo = s[1] == '\\' && s[2] == 'u' ? hex4(s + 3) : -1;
                                if (lo < 0xdc00 || lo >= 0xe000)
                                        return -EBADMSG;
                                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                                s += 6;
                        } else if (u >= 0xdc00 && u < 0xe000)
                                return -EBADMSG;
                        put_utf8(buf, size, &len, (unsigned long) u);
                        break;
                }
                default:
                        return -EBADMSG;
                }
        }
        r->p = s + 1;
        if (size > 0)
                buf[len < size ? len : size - 1] = '\0';
        return len > INT32_MAX ? INT32_MAX : (int) len;
}

/* Passes over a number as RFC 8259 writes it; *integer tells whether it had neither a fraction
 * nor an exponent nor a sign. */
static int scan_number(JsonReader *r, bool *integer) {
        const char *s;
        skip_ws(r);
        s = r->p;
        *integer = *s != '-';
        if (*s == '-')
                s++;
        if (*s == '0')
                s++;
        else if (is_digit(*s))
                while (is_digit(*s))
                        s++;
        else
                return -EBADMSG;
        if (*s == '.') {
                *integer = false;
                if (!is_digit(*++s))
                        return -EBADMSG;
                while (is_digit(*s))
                        s++;
        }
        if (*s == 'e' || *s == 'E') {
                *integer = false;
                s++;
                if (*s == '+' || *s == '-')
                        s++;
                if (!is_digit(*s))
                        return -EBADMSG;
                while (is_digit(*s))
                        s++;
        }
        r->p = s;
        return 0;
}

int json_read_uint(JsonReader *r, uint64_t *ret) {
        uint64_t v = 0;
        bool integer;
        const char *start;

        skip_ws(r);
        start = r->p;
        if (scan_number(r, &integer) < 0 || !integer) {
                r->p = start;
                return -EBADMSG;
        }
        for (const char *s = start; s < r->p; s++) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10) {
                        r->p = start;
                        return -ERANGE;
                }
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

bool json_read_null(JsonReader *r) {
        return eat_literal(r, "null");
}

/* A bracketed, comma-separated sequence (an object's members, an array's elements), item()
 * reading each. */
static int read_sequence(JsonReader *r, char open, char close, int (*item)(JsonReader *r, void *ud), void *ud) {
        if (!eat(r, open) || r->depth >= JSON_DEPTH_MAX)
                return -EBADMSG;
        r->depth++;
        skip_ws(r);
        if (*r->p != close)
                do {
                        int k = item(r, ud);
                        if (k < 0)
                                return k;
                } while (eat(r, ','));
        if (!eat(r, close))
                return -EBADMSG;
        r->depth--;
        return 0;
}

typedef struct Members {
        JsonMember member;
        void *ud;
} Members;

static int read_member(JsonReader *r, void *ud) {
        Members *m = ud;
        char key[JSON_KEY_MAX + 1];
        int n = json_read_string(r, key, sizeof key);
        if (n < 0)
                return n;
        if (!eat(r, ':'))
                return -EBADMSG;
        return n <= JSON_KEY_MAX ? m->member(r, key, m->ud) : json_skip(r);
}

int json_read_object(JsonReader *r, JsonMember member, void *ud) {
        return read_sequence(r, '{', '}', read_member, &(Members) { member, ud });
}

int json_read_array(JsonReader *r, JsonElement element, void *ud) {
        return read_sequence(r, '[', ']', element, ud);
}

static int skip_member(JsonReader *r, const char *key, void *ud) {
        return json_skip(r);
}

static int skip_element(JsonReader *r, void *ud) {
        return json_skip(r);
}

int json_skip(JsonReader *r) {
        bool integer;
        skip_ws(r);
        switch (*r->p) {
        case '"':
                return json_read_string(r, NULL, 0) < 0 ? -EBADMSG : 0;
        case '{':
                return json_read_object(r, skip_member, NULL);
        case '[':
                return json_read_array(r, skip_element, NULL);
        case 't':
                return eat_literal(r, "true") ? 0 : -EBADMSG;
        case 'f':
                return eat_literal(r, "false") ? 0 : -EBADMSG;
        case 'n':
                return eat_literal(r, "null") ? 0 : -EBADMSG;
        default:
                return scan_number(r, &integer);
        }
}

int json_read_end(JsonReader *r) {
        skip_ws(r);
        return *r->p == '\0' ? 0 : -EBADMSG;
}

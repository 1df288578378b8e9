/* SPDX-License-Identifier: MIT */
/* JSON, both ways: the one string escaper of status --json, registry --json and the lifecycle
 * events, and the one reader, with which the CLI reads back what the node wrote (top). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- writing -------------------------------------------------------------------------------- */

typedef void (*JsonWrite)(void *ud, const char *p, size_t n);

/* Writes s as a quoted JSON string: '"' and '\\' escaped, control characters as \u00XX, valid
 * UTF-8 as it is, and each byte that is not part of a valid UTF-8 sequence as \ufffd (a worker's
 * STATUS= text, a path cut in the middle of a character): the output is always valid JSON. */
void json_write_string(const char *s, JsonWrite write, void *ud);
/* The length of the valid UTF-8 sequence at p (RFC 3629: no overlong form, no surrogate, at most
 * U+10FFFF), 1 for an ASCII byte, 0 when it is not valid UTF-8. */
size_t json_utf8_len(const char *p);

/* ---- reading -------------------------------------------------------------------------------- */

/* Objects and arrays nested deeper than this are refused (the reader recurses). */
#define JSON_DEPTH_MAX 32
/* Keys are handed to a JsonMember as C strings of at most this many bytes; the value of a
 * longer key is skipped, as the value of a key nobody knows. */
#define JSON_KEY_MAX 63

/* A pull reader over NUL-terminated JSON text: the caller asks for the value it expects next,
 * and every function skips the whitespace before it. Strict about the grammar (RFC 8259), as
 * lenient as that allows: bytes of 0x80 and above are taken as they are, unchecked as UTF-8.
 * Errors: -EBADMSG for text that is not what was asked for (the reader is then anywhere). */
typedef struct JsonReader {
        const char *p;         /* the next byte to read */
        unsigned depth;        /* objects and arrays open around p */
} JsonReader;

static inline JsonReader json_reader(const char *text) {
        return (JsonReader) { .p = text };
}

/* A string, decoded (escapes, \uXXXX and surrogate pairs as UTF-8) into buf, cut to size - 1
 * bytes and NUL-terminated when size > 0 (buf may be NULL when size is 0: the string is only
 * checked). Returns the length of the whole decoded string; a string holding U+0000 is refused,
 * since every string read becomes a C string. */
int json_read_string(JsonReader *r, char *buf, size_t size);
/* A number that is an integer from 0 to UINT64_MAX (-ERANGE above it). */
int json_read_uint(JsonReader *r, uint64_t *ret);
/* true (and the null read) when the next value is null, else false with nothing read. */
bool json_read_null(JsonReader *r);
/* Any one value, checked and passed over. */
int json_skip(JsonReader *r);

/* An object: member() is called with each key and must read that key's value (json_skip() for
 * one it does not want); a negative return stops the reading and is returned. */
typedef int (*JsonMember)(JsonReader *r, const char *key, void *ud);
int json_read_object(JsonReader *r, JsonMember member, void *ud);
/* An array: element() is called for each element and must read it. */
typedef int (*JsonElement)(JsonReader *r, void *ud);
int json_read_array(JsonReader *r, JsonElement element, void *ud);

/* 0 when nothing but whitespace is left, else -EBADMSG. */
int json_read_end(JsonReader *r);

/* SPDX-License-Identifier: MIT */
/* The INI side of the reader: our own line reader under inih's ini_parse_stream(), and the
 * handler inih calls for each key, which hands the value to the key table (keys.c). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "parser.h"

/* Why our own line reader (DESIGN 6; checked against Debian's libinih 55):
 *
 * - inih reads into a fixed buffer (INI_MAX_LINE = 200, passed to the reader as `num`). A longer
 *   line is split silently: the handler gets the truncated value and the tail is parsed as a new
 *   line. The reader refuses any line that does not fit (num - 2 bytes plus the newline), says
 *   so with its line number, and hands inih a comment line instead, so line numbers stay right.
 * - inih gives the handler no line number: the reader counts lines, and since inih parses each
 *   line before reading the next, the handler's call always belongs to the reader's last line.
 * - Whitespace followed by ';' starts an inline comment on a key line (not on a continuation
 *   line, where inih 55 keeps it; we strip it there ourselves so the rule is the same
 *   everywhere). Users write "\;" for a literal ';': the reader turns it into PLACEHOLDER, which
 *   inih does not treat as a comment, and the handler turns it back into ';'. Raw control
 *   characters (PLACEHOLDER among them) are refused in the input, so the mapping is exact.
 * - inih cuts section names at 49 characters and does not tell a continuation line from a
 *   new key. The reader parses section headers itself and mirrors inih's rule for
 *   continuations (an indented, non-comment line after a key line of the same section). */
#define PLACEHOLDER '\x1f'
#define INIH_MAX_SECTION 49 /* MAX_SECTION - 1 in ini.c */

/* Every valid header fits inih's section buffer, so the one inih keeps is never cut short. */
static_assert(sizeof("supervisor:") - 1 + SPEC_NAME_MAX < INIH_MAX_SECTION, "section headers");

static const char *lskip(const char *s) {
        while (*s && isspace((unsigned char) *s))
                s++;
        return s;
}

/* ini.c's ini_find_chars_or_comment(): the first of CHARS, or of ';' after whitespace. */
static const char *find_chars_or_comment(const char *s, const char *chars) {
        bool was_space = false;

        while (*s && (!chars || !strchr(chars, *s)) && !(was_space && *s == ';')) {
                was_space = isspace((unsigned char) *s);
                s++;
        }
        return s;
}

/* Decides what inih will make of LINE (the text handed to it), exactly as ini.c does, and
 * acts on section headers. Returns false when the line must be replaced by a comment. */
static bool classify_line(FileState *fs, const char *line) {
        const char *s = lskip(line), *end, *rest;
        _cleanup_free_ char *text = NULL;

        if (!*s || *s == ';' || *s == '#')
                return true;
        if (s > line && fs->prev_key_set) {
                fs->line_is_continuation = true;
                return true;
        }
        if (*s == '[') {
                end = find_chars_or_comment(s + 1, "]");
                if (*end != ']') {
                        fs_error(fs, "missing ']' at the end of the section header");
                        fs->cur = CUR_SKIP;
                        return false;
                }
                fs->prev_key_set = false; /* inih forgets the previous key at a header */
                rest = lskip(end + 1);
                if (*rest && *rest != ';' && *rest != '#') {
                        fs_error(fs, "unexpected text after ']' in section header");
                        fs->cur = CUR_SKIP;
                        return true;
                }
                text = strndup(s + 1, (size_t) (end - s - 1));
                if (!text) {
                        parser_oom(fs->p);
                        fs->cur = CUR_SKIP;
                        return true;
                }
                for (char *c = text; *c; c++)
                        if (*c == PLACEHOLDER)
                                *c = ';';
                (void) section_begin(fs, text);
                return true;
        }
        end = find_chars_or_comment(s, "=:");
        if (*end != '=' && *end != ':') {
                fs_error(fs, "expected 'key = value', a [section] header or a comment");
                return false;
        }
        return true;
}

static char *read_line(char *buf, int num, void *stream) {
        FileState *fs = stream;
        const char *start, *nl, *t;
        size_t len, i = 0, j = 0, first;

        /* Out of memory: the load fails, and reading on would work on half-made sections. */
        if (fs->pos >= fs->size || fs->p->oom)
                return NULL;
        start = fs->data + fs->pos;
        nl = memchr(start, '\n', fs->size - fs->pos);
        len = nl ? (size_t) (nl - start) : fs->size - fs->pos;
        fs->pos += len + (nl ? 1 : 0);
        fs->line++;
        fs->line_is_continuation = false;
        fs->line_has_comment = false;

        assert(num >= 3);
        if (fs->line == 1 && len >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0)
                i = 3; /* a UTF-8 byte order mark, as inih skips it */
        first = i;

        if (len - i > (size_t) num - 2) {
                fs_error(fs, "line too long (max %d bytes)", num - 2);
                goto comment;
        }
        for (size_t k = i; k < len; k++) {
                unsigned char c = (unsigned char) start[k];
                if ((c < 0x20 && c != '\t' && !(c == '\r' && k == len - 1)) || c == 0x7f) {
                        fs_error(fs, "control character 0x%02x in line", c);
                        goto comment;
                }
        }

        for (; i < len; i++) {
                if (start[i] == '\\' && i + 1 < len && start[i + 1] == ';') {
                        buf[j++] = PLACEHOLDER;
                        i++;
                } else
                        buf[j++] = start[i];
        }
        buf[j++] = '\n';
        buf[j] = '\0';
        t = lskip(buf);
        fs->line_has_comment = *t != ';' && *t != '#' && *find_chars_or_comment(t, NULL) == ';';
        if (classify_line(fs, buf))
                return buf;

comment:
        /* What inih sees instead of a refused line: a comment, which changes none of its
         * state, so the following lines are read as they would have been. Unless the refused
         * line continued a list, what follows it must not be taken for part of an earlier
         * key or section: one error per mistake. */
        for (t = start + first; t < start + len && (*t == ' ' || *t == '\t'); t++)
                ;
        if (!(t > start + first && fs->prev_key_set) && t < start + len && *t != ';' && *t != '#') {
                fs->cont = CONT_IGNORE;
                if (*t == '[')
                        fs->cur = CUR_SKIP;
        }
        buf[0] = ';';
        buf[1] = '\n';
        buf[2] = '\0';
        return buf;
}

/* Strips an inline comment (whitespace then ';') and trailing whitespace from a continuation
 * line, which inih 55 passes on whole. */
static void strip_inline_comment(char *v) {
        char *e = (char *) find_chars_or_comment(v, NULL);
        *e = '\0';
        while (e > v && isspace((unsigned char) e[-1]))
                *--e = '\0';
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        FileState *fs = user;
        Parser *p = fs->p;
        _cleanup_free_ char *v = strdup(value ?: ""), *n = strdup(name ?: "");
        bool cont = fs->line_is_continuation;
        unsigned kind, *key_line, *first;
        const KeyDef *k;
        size_t idx;
        int r;

        fs->line_is_continuation = false;
        if (!v || !n)
                return parser_oom(p), 0;
        for (char *c = v; *c; c++)
                if (*c == PLACEHOLDER)
                        *c = ';';
        for (char *c = n; *c; c++)
                if (*c == PLACEHOLDER)
                        *c = ';';

        if (cont) {
                if (fs->cur == CUR_SKIP || fs->cur == CUR_NONE || fs->cont == CONT_IGNORE)
                        return 1;
                if (fs->cont == CONT_SCALAR) {
                        fs->cont = CONT_IGNORE; /* one error per key is enough */
                        fs_error(fs, "indented line continues '%s', which takes one value: only lists (children, environment, env_file, subscribe, normal_exit, include) go on over indented lines",
                                 fs->cont_key->name);
                        return 0;
                }
                strip_inline_comment(v);
                k = fs->cont_key;
                if (fs->cur == CUR_SPEC && !(k->flags & KEY_UNHASHED))
                        section_hash_add(fs->info, k->name, v);
                return keys_parse(fs, k, fs->spec, v) < 0 ? 0 : 1;
        }

        /* A new key line: inih now continues this key on indented lines. */
        fs->prev_key_set = n[0] != '\0';
        fs->cont = CONT_IGNORE;
        fs->cont_key = NULL;

        switch (fs->cur) {
        case CUR_NONE:
                fs_error(fs, "key '%s' outside of any section: start with a [section] header", n);
                return 0;
        case CUR_SKIP:
                return 1;
        case CUR_FORKVISOR:
                kind = KIND_FORKVISOR;
                key_line = p->fv_key_line;
                break;
        case CUR_CLUSTER:
                kind = KIND_CLUSTER; /* its keys are not [forkvisor]'s: one array serves both */
                key_line = p->fv_key_line;
                break;
        case CUR_SPEC:
                kind = fs->spec->kind == SPEC_WORKER ? KIND_WORKER : KIND_SUPERVISOR;
                key_line = fs->info->key_line;
                break;
        default:
                assert_not_reached();
                return 0;
        }

        if (!n[0]) {
                fs_error(fs, "missing key name before '='");
                return 0;
        }
        k = keys_lookup(kind, n, &idx);
        if (!k) {
                keys_unknown(fs, kind, n);
                return 0;
        }
        /* [forkvisor] keys are set once in all files, except `include`, once per file. */
        first = kind == KIND_FORKVISOR && (k->flags & KEY_ONCE_PER_FILE) ? &fs->include_line : &key_line[idx];
        if (*first) {
                char buf[64];
                const char *file = (kind == KIND_FORKVISOR || kind == KIND_CLUSTER) && first == &key_line[idx] ?
                                   p->fv_key_file[idx] : fs->path;
                fs_error(fs, "key '%s' given twice in %s (first at %s:%u)", n,
                         section_display(fs, buf, sizeof(buf)), file, *first);
                return 0;
        }
        *first = fs->line;
        key_line[idx] = fs->line;
        if (kind == KIND_FORKVISOR || kind == KIND_CLUSTER)
                p->fv_key_file[idx] = fs->path;
        fs->cont_key = k;
        fs->cont = k->flags & KEY_LIST ? CONT_LIST : CONT_SCALAR;

        /* `children` is left out: reload compares a supervisor's children as a structure
         * (reload.c), so a new child does not count as a change of its supervisor. */
        if (fs->cur == CUR_SPEC && !(k->flags & KEY_UNHASHED))
                section_hash_add(fs->info, n, v);

        if (!(k->flags & KEY_LIST) && !*v) {
                fs_error(fs, "missing value for %s", n);
                return 0;
        }
        if (k->reset)
                k->reset(fs->spec);
        r = keys_parse(fs, k, fs->spec, v);
        return r < 0 ? 0 : 1;
}

int ini_reader_run(FileState *fs) {
        int r = ini_parse_stream(read_line, fs, handler, fs);

        if (r < 0)
                return parser_oom(fs->p); /* -2: inih's own allocation failed */
        if (r > 0 && fs->p->n_errors == 0)
                /* cannot happen: every line inih refuses has been refused by the reader */
                parser_error(fs->p, fs->path, (unsigned) r, "syntax error");
        return 0;
}

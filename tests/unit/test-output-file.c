/* SPDX-License-Identifier: MIT */
/* `file:` outputs the node writes (output-file.c): one object per path, rotation between lines
 * (each file at most log_max_bytes, at most log_backups old ones, no line split or lost),
 * truncation without backups, reopening after a move, and a full disk dropping and counting. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "output-file.h"
#include "tests.h"

/* A fresh directory for one test; its path in buf. */
static void tmp_dir(char *buf, size_t size, const char *name) {
        snprintf(buf, size, "%s/fv-output-file-%d-%s", getenv("TMPDIR") ?: "/tmp", (int) getpid(), name);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", buf, buf);
        if (system(cmd) != 0)
                abort();
}

static void rm_dir(const char *dir) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        (void) !system(cmd);
}

/* A fresh directory for one test (its path in dir) with its out.log opened as *ret, the path of
 * which is in path. */
static void open_out_log(char *dir, size_t dir_size, char *path, size_t path_size, const char *name,
                         OutputFile **ret) {
        tmp_dir(dir, dir_size, name);
        snprintf(path, path_size, "%s/out.log", dir);
        if (output_file_get(path, ret) < 0)
                abort();
}

/* The size of dir/name, or -1 when it does not exist. */
static long long size_of(const char *dir, const char *name) {
        char p[600];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, name);
        return stat(p, &st) < 0 ? -1 : (long long) st.st_size;
}

/* Reads dir/name whole (owned, NUL-terminated), or NULL. */
static char *read_all(const char *dir, const char *name) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        FILE *f = fopen(p, "re");
        if (!f)
                return NULL;
        char *buf = calloc(1, 1 << 16);
        size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
        fclose(f);
        if (buf)
                buf[n] = '\0';
        return buf;
}

TEST(one_object_per_path) {
        char dir[512], path[600];
        OutputFile *a = NULL, *b = NULL;

        open_out_log(dir, sizeof dir, path, sizeof path, "same", &a);
        ASSERT_OK(output_file_get(path, &b));
        ASSERT_TRUE(a == b);
        output_file_write(a, "one", 3, true);
        output_file_write(b, "two", 3, true);
        output_file_unref(a);
        output_file_unref(b);
        _cleanup_free_ char *t = read_all(dir, "out.log");
        ASSERT_STREQ(t, "one\ntwo\n");
        snprintf(path, sizeof path, "%s/no-such-dir/out.log", dir);
        ASSERT_ERR(output_file_get(path, &a), -ENOENT);
        rm_dir(dir);
}

TEST(rotation_keeps_lines_whole_and_files_small) {
        char dir[512], path[600], line[32], name[32];
        OutputFile *f = NULL;
        unsigned next = 0;

        open_out_log(dir, sizeof dir, path, sizeof path, "rotate", &f);
        output_file_set_rotation(f, 100, 3);
        /* 100 lines of 10 bytes with their newline: 34 files' worth, 4 kept. */
        for (unsigned i = 0; i < 100; i++) {
                int n = snprintf(line, sizeof line, "line %04u", i);
                output_file_write(f, line, (size_t) n, true);
        }
        output_file_unref(f);
        ASSERT_TRUE(size_of(dir, "out.log.4") < 0);
        /* Newest first: out.log, out.log.1 ... out.log.3; read oldest first, the lines follow
         * each other with none missing from the first one kept. */
        for (int k = 3; k >= 0; k--) {
                snprintf(name, sizeof name, k ? "out.log.%d" : "out.log", k);
                ASSERT_TRUE(size_of(dir, name) > 0 && size_of(dir, name) <= 100);
                _cleanup_free_ char *t = read_all(dir, name);
                ASSERT_TRUE(t);
                unsigned v;
                int used;
                for (const char *p = t; *p; p += used) {
                        ASSERT_TRUE(sscanf(p, "line %4u\n%n", &v, &used) == 1);
                        ASSERT_TRUE(p[used - 1] == '\n');
                        if (next)
                                ASSERT_EQ(v, next);
                        next = v + 1;
                }
        }
        ASSERT_EQ(next, 100);
        rm_dir(dir);
}

/* Pieces written to out.log with one max_bytes and backups, and what out.log and out.log.1 hold
 * then (NULL: it does not exist). */
typedef struct RotationCase {
        const char *name;
        uint64_t max_bytes;
        unsigned backups;
        struct {
                const char *text;
                bool nl;
        } pieces[8];
        const char *want, *want_1;
} RotationCase;

TEST(rotation_cases) {
        static const RotationCase cases[] = {
                { "truncate", 25, 0, /* no backups: out.log is emptied past 25 bytes */
                  { { "even line", true }, { "odd line", true }, { "even line", true }, { "odd line", true },
                    { "even line", true } },
                  "even line\n", NULL },
                { "pieces", 10, 1, /* a line's pieces stay in the file where it began */
                  { { "12345678", true }, { "abc", false }, { "defghij", false }, { "k", true } },
                  "abcdefghijk\n", "12345678\n" },
                { "long", 4, 1, /* a line longer than max_bytes gets a file of its own */
                  { { "a", true }, { "a line of 19 bytes", true }, { "b", true } },
                  "b\n", "a line of 19 bytes\n" },
        };
        char dir[512], path[600];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const RotationCase *c = &cases[i];
                OutputFile *f = NULL;

                open_out_log(dir, sizeof dir, path, sizeof path, c->name, &f);
                output_file_set_rotation(f, c->max_bytes, c->backups);
                for (size_t j = 0; j < ELEMENTSOF(c->pieces) && c->pieces[j].text; j++)
                        output_file_write(f, c->pieces[j].text, strlen(c->pieces[j].text), c->pieces[j].nl);
                output_file_unref(f);
                _cleanup_free_ char *a = read_all(dir, "out.log"), *b = read_all(dir, "out.log.1");
                ASSERT_STREQ(a, c->want);
                if (c->want_1)
                        ASSERT_STREQ(b, c->want_1);
                else
                        ASSERT_TRUE(!b);
                ASSERT_TRUE(size_of(dir, "out.log.2") < 0);
                rm_dir(dir);
        }
}

TEST(reopen_after_a_move_and_rotation_of_a_moved_file) {
        char dir[512], path[600], moved[640];
        OutputFile *f = NULL;
        unsigned failed = 99;

        tmp_dir(dir, sizeof dir, "reopen");
        snprintf(path, sizeof path, "%s/out.log", dir);
        snprintf(moved, sizeof moved, "%s/old.log", dir);
        ASSERT_OK(output_file_get(path, &f));
        output_file_write(f, "before", 6, true);
        ASSERT_OK(rename(path, moved));
        output_file_write(f, "still to the old one", 20, true);
        ASSERT_EQ(output_file_reopen_all(&failed), 1);
        ASSERT_EQ(failed, 0);
        output_file_write(f, "after", 5, true);
        _cleanup_free_ char *a = read_all(dir, "old.log"), *b = read_all(dir, "out.log");
        ASSERT_STREQ(a, "before\nstill to the old one\n");
        ASSERT_STREQ(b, "after\n");

        /* Moved away again without a SIGUSR1: rotation opens PATH anew instead of renaming
         * what is not its file. */
        ASSERT_OK(unlink(moved));
        ASSERT_OK(rename(path, moved));
        output_file_set_rotation(f, 10, 2);
        output_file_write(f, "longer than ten", 15, true);
        output_file_unref(f);
        ASSERT_TRUE(size_of(dir, "out.log.1") < 0);
        _cleanup_free_ char *c = read_all(dir, "out.log");
        ASSERT_STREQ(c, "longer than ten\n");
        ASSERT_EQ(output_file_reopen_all(NULL), 0); /* nobody references it any more */
        rm_dir(dir);
}

TEST(a_full_disk_drops_and_counts) {
        OutputFile *f = NULL;

        if (access("/dev/full", W_OK) < 0)
                return;
        ASSERT_OK(output_file_get("/dev/full", &f));
        output_file_write(f, "lost", 4, true);
        output_file_write(f, "lost too", 8, true);
        ASSERT_EQ(output_file_dropped(f), 2);
        output_file_unref(f);
}

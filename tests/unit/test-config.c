/* SPDX-License-Identifier: MIT */
/* Unit tests of loading a configuration (config/): the line reader's limits, sections, includes
 * and the tree checks, every error with its FILE:LINE. Strings only, plus a temporary directory
 * for includes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config/suggest.h"
#include "macro.h"
#include "strv.h"
#include "tests.h"

#include "config-load.h"

TEST(sections) {
        EXPECT_ERROR("[wroker:x]\n", NAME ":1: unknown section kind 'wroker', did you mean 'worker'?");
        EXPECT_ERROR("[Supervisor:x]\n", NAME ":1: unknown section kind 'Supervisor', did you mean 'supervisor'?");
        EXPECT_ERROR("[service:x]\n", NAME ":1: unknown section kind 'service': expected [forkvisor], [supervisor:NAME], [worker:NAME] or [cluster]");
        EXPECT_ERROR("[worker]\n", NAME ":1: section [worker] needs a name: write [worker:NAME]");
        EXPECT_ERROR("[forkvisor:x]\n", NAME ":1: [forkvisor] takes no name");
        EXPECT_ERROR("[worker:Web]\n", NAME ":1: bad section name 'Web': names are 1-32 characters of a-z, 0-9, '_' and '-'");
        EXPECT_ERROR("[worker:a.b]\n", NAME ":1: bad section name 'a.b'");
        EXPECT_ERROR("[worker:]\n", NAME ":1: bad section name ''");
        EXPECT_ERROR("[worker:a] junk\n", NAME ":1: unexpected text after ']' in section header");
        EXPECT_ERROR("[worker:a\n", NAME ":1: missing ']' at the end of the section header");
        EXPECT_ERROR("just some words\n", NAME ":1: expected 'key = value', a [section] header or a comment");
}

TEST(section_name_limits) {
        char text[256];
        _cleanup_config_ Config *c = NULL;
        char name[40];

        /* 32 characters: fine */
        memset(name, 'a', 32);
        name[32] = '\0';
        snprintf(text, sizeof(text), "[supervisor:%s]\nchildren = w\n[worker:w]\nexec = x\n", name);
        LOAD_OK(text, c);
        ASSERT_STREQ(c->root->name, name);

        /* 33: refused */
        memset(name, 'a', 33);
        name[33] = '\0';
        snprintf(text, sizeof(text), "[worker:%s]\nexec = x\n", name);
        EXPECT_ERROR(text, NAME ":1: bad section name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
}

TEST(long_section_header_not_truncated) {
        /* inih keeps 49 characters of a section name: a header with a 60-character name that
         * shares its first 49 with a valid section must not be read as that section. */
        char name[61], text[512];
        _cleanup_free_ char *diag = NULL;
        Config *c = NULL;

        memset(name, 'b', 60);
        name[60] = '\0';
        snprintf(text, sizeof(text), HEAD "[worker:w]\nexec = x\n\n[worker:%s]\nexec = y\n", name);
        ASSERT_ERR(load(text, &c, &diag), -EINVAL);
        ASSERT_CONTAINS(diag, NAME ":6: bad section name '");
        ASSERT_EQ(count_lines(diag), 1);
}

TEST(duplicates) {
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\n[worker:w]\nexec = y\n",
                     NAME ":5: duplicate section name 'w' (first defined as [worker:w] at " NAME ":3)");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\n[supervisor:w]\n",
                     NAME ":5: duplicate section name 'w' (first defined as [worker:w] at " NAME ":3)");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nrestart = temporary\nrestart = transient\n",
                     NAME ":6: key 'restart' given twice in [worker:w] (first at " NAME ":5)");
        EXPECT_ERROR("[forkvisor]\nlog = auto\n[forkvisor]\n" HEAD "[worker:w]\nexec = x\n",
                     NAME ":3: duplicate section [forkvisor] (first defined at " NAME ":1)");
        EXPECT_ERROR(HEAD "children = w\n[worker:w]\nexec = x\n",
                     NAME ":3: key 'children' given twice in [supervisor:app] (first at " NAME ":2)");
        EXPECT_ERROR("[supervisor:app]\nchildren = w, w\n[worker:w]\nexec = x\n",
                     NAME ":2: 'w' is listed twice in children of [supervisor:app]");
}

TEST(long_lines) {
        /* inih 55's buffer is 200 bytes: 198 characters, the newline and the NUL. */
        char text[1024], value[300];
        _cleanup_config_ Config *c = NULL;
        _cleanup_free_ char *diag = NULL;
        size_t prefix = strlen("exec = ");
        Config *bad = NULL;

        memset(value, 'v', sizeof(value));
        value[0] = '/';
        value[198 - prefix] = '\0';
        snprintf(text, sizeof(text), HEAD "[worker:w]\nexec = %s\n", value);
        LOAD_OK(text, c);
        ASSERT_EQ(strlen(config_find(c, SPEC_WORKER, "w")->argv[0]), 198 - prefix);

        value[198 - prefix] = 'v';
        value[199 - prefix] = '\0';
        snprintf(text, sizeof(text), HEAD "[worker:w]\nexec = %s\nrestrat = x\n", value);
        ASSERT_ERR(load(text, &bad, &diag), -EINVAL);
        ASSERT_CONTAINS(diag, NAME ":4: line too long (max 198 bytes)\n");
        /* the next line is still line 5, and its own error is reported */
        ASSERT_CONTAINS(diag, NAME ":5: unknown key 'restrat'");
        /* exec was refused with its line, not read truncated: no "missing exec" either way
         * is acceptable, but nothing may have been parsed from the tail */
        ASSERT_TRUE(!strstr(diag, "expected 'key = value'"));
}

TEST(long_lines_do_not_cascade) {
        char text[2048], big[400];
        _cleanup_free_ char *diag = NULL;
        Config *c = NULL;

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        /* a long header: its keys are not taken for the previous section's */
        snprintf(text, sizeof(text), HEAD "[worker:w]\nexec = x\n[worker:%s]\nexec = y\n", big);
        ASSERT_ERR(load(text, &c, &diag), -EINVAL);
        ASSERT_CONTAINS(diag, NAME ":5: line too long (max 198 bytes)");
        ASSERT_EQ(count_lines(diag), 1);
        free(TAKE_PTR(diag));

        /* a long key line: its continuation lines are not taken for the previous key's */
        snprintf(text, sizeof(text), HEAD "[worker:w]\nexec = x\nenvironment = %s\n  B=1\n", big);
        ASSERT_ERR(load(text, &c, &diag), -EINVAL);
        ASSERT_CONTAINS(diag, NAME ":5: line too long (max 198 bytes)");
        ASSERT_EQ(count_lines(diag), 1);
}

TEST(very_long_line_in_list) {
        char *text, *big;
        _cleanup_free_ char *diag = NULL;
        Config *c = NULL;

        big = malloc(5001);
        memset(big, 'x', 5000);
        big[5000] = '\0';
        ASSERT_TRUE(asprintf(&text, "[supervisor:app]\nchildren = w,\n  %s\n  w2\n[worker:w]\nexec = x\n[worker:w2]\nexec = y\n", big) > 0);
        ASSERT_ERR(load(text, &c, &diag), -EINVAL);
        ASSERT_CONTAINS(diag, NAME ":3: line too long (max 198 bytes)");
        ASSERT_EQ(count_lines(diag), 1);
        free(text);
        free(big);
}

TEST(inline_comments_and_escape) {
        _cleanup_config_ Config *c = NULL;
        Spec *w;

        LOAD_OK("# a comment\n; another\n" HEAD "[worker:w]   ; header comment\n"
                "exec = sh -c 'echo a \\; echo b' ; this is a comment\n"
                "environment = X=a;b Y=c\\;d  ; comment\n"
                "register = name#1\n", c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_EQ(strv_length(w->argv), 3);
        ASSERT_STREQ(w->argv[2], "echo a ; echo b");
        ASSERT_STREQ(w->environment[0], "X=a;b");
        ASSERT_STREQ(w->environment[1], "Y=c;d");
        ASSERT_STREQ(w->register_name, "name#1");
        config_free(TAKE_PTR(c));

        /* without the escape, " ;" cuts the line: the quote is left open */
        EXPECT_ERROR(HEAD "[worker:w]\nexec = sh -c 'echo a ; echo b'\n", NAME ":4: bad value for exec: unterminated single quote");

        /* find(1)'s \; gives a lone ';' word, as in a shell */
        LOAD_OK(HEAD "[worker:w]\nexec = find . -exec rm {} \\;\n", c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_EQ(strv_length(w->argv), 6);
        ASSERT_STREQ(w->argv[5], ";");
}

TEST(control_characters) {
        EXPECT_ERROR(HEAD "[worker:w]\nexec = a\x01" "b\n", NAME ":4: control character 0x01 in line");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = a\x1f" "b\n", NAME ":4: control character 0x1f in line");
}

TEST(crlf_and_bom) {
        _cleanup_config_ Config *c = NULL;

        LOAD_OK("\xef\xbb\xbf[supervisor:app]\r\nchildren = w\r\n[worker:w]\r\nexec = /bin/x a\r\n", c);
        ASSERT_STREQ(config_find(c, SPEC_WORKER, "w")->argv[1], "a");
}

TEST(continuation_lines) {
        _cleanup_config_ Config *c = NULL;
        Spec *w;

        LOAD_OK("[supervisor:app]\nchildren = a, b,\n    c ; comment\n  ; a comment line\n\n\td\n"
                "[worker:a]\nexec = x\n[worker:b]\nexec = x\n[worker:c]\nexec = x\n"
                "[worker:d]\nexec = x\nenvironment =\n  A=1\n  B=2\nsubscribe = t1\n  t2\nnormal_exit = 1\n  2 3\n", c);
        ASSERT_EQ(c->root->n_children, 4);
        ASSERT_STREQ(c->root->children[2]->name, "c");
        ASSERT_STREQ(c->root->children[3]->name, "d");
        w = config_find(c, SPEC_WORKER, "d");
        ASSERT_EQ(strv_length(w->environment), 2);
        ASSERT_EQ(strv_length(w->subscribe), 2);
        ASSERT_EQ(w->n_normal_exit, 3);
        ASSERT_EQ(w->normal_exit[0], 1);
}

TEST(continuation_of_scalar_is_an_error) {
        /* An indented key line after a key is a continuation in INI: say so clearly. */
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\n  restart = temporary\n",
                     NAME ":5: indented line continues 'exec', which takes one value");
        /* ... and the line numbers of later errors stay right */
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\n  more\n  more\nbogus = 1\n", NAME ":7: unknown key 'bogus'");
}

TEST(continuation_errors_have_their_own_line) {
        EXPECT_ERROR("[supervisor:app]\nchildren = a,\n  b,\n  BAD\n[worker:a]\nexec = x\n[worker:b]\nexec = x\n",
                     NAME ":4: bad child name 'BAD'");
        EXPECT_ERROR("[supervisor:app]\nchildren = a,\n  b,\n  c\n[worker:a]\nexec = x\n[worker:b]\nexec = x\n",
                     NAME ":4: undefined section 'c'");
}

TEST(references_did_you_mean) {
        EXPECT_ERROR("[supervisor:app]\nchildren = dbase\n[worker:database]\nexec = x\n",
                     NAME ":2: undefined section 'dbase'\n");
        EXPECT_ERROR("[supervisor:app]\nchildren = databse\n[worker:database]\nexec = x\n",
                     NAME ":2: undefined section 'databse', did you mean 'database'?");
        EXPECT_ERROR("[forkvisor]\nroot = ap\n" HEAD "[worker:w]\nexec = x\n",
                     NAME ":2: root: undefined section 'ap', did you mean 'app'?");
}

/* For a name no section has, the suggestion is what suggest() makes of every section's name in
 * file order (validate.c finds a name one edit away through the index instead): random trees
 * of names over a small alphabet, so that names one, two and three edits apart are common. */
TEST(undefined_names_suggest_the_first_closest) {
        srand(7);
        for (int round = 0; round < 300; round++) {
                char names[24][12], text[4096], want[128];
                const char *list[24];
                size_t n = 0, len = 0;
                Config *c = NULL;
                _cleanup_free_ char *diag = NULL;

                for (int i = 0; i < 24; i++) {
                        int l = 1 + rand() % 10;
                        bool dup = false;
                        for (int j = 0; j < l; j++)
                                names[n][j] = "ab-_1"[rand() % 5];
                        names[n][l] = '\0';
                        for (size_t j = 0; j < n; j++)
                                dup = dup || strcmp(names[j], names[n]) == 0;
                        if (!dup)
                                n++;
                }
                /* The first name is the root, the others its children; the last one lists a name
                 * made up the same way (undefined unless it happens to be one). */
                len += (size_t) snprintf(text + len, sizeof(text) - len, "[supervisor:%s]\nchildren =", names[0]);
                for (size_t i = 1; i < n; i++)
                        len += (size_t) snprintf(text + len, sizeof(text) - len, "\n  %s", names[i]);
                char ghost[12];
                int l = 1 + rand() % 10;
                for (int j = 0; j < l; j++)
                        ghost[j] = "ab-_1"[rand() % 5];
                ghost[l] = '\0';
                len += (size_t) snprintf(text + len, sizeof(text) - len, "\n[supervisor:%s]\nchildren = %s\n", names[n - 1], ghost);
                for (size_t i = 1; i + 1 < n; i++)
                        len += (size_t) snprintf(text + len, sizeof(text) - len, "[worker:%s]\nexec = x\n", names[i]);
                ASSERT_TRUE(len < sizeof(text));

                bool defined = false;
                for (size_t i = 0; i < n; i++)
                        defined = defined || strcmp(names[i], ghost) == 0;
                if (defined)
                        continue;
                /* Sections in file order: names[0], names[n - 1], then the workers. */
                size_t k = 0;
                list[k++] = names[0];
                list[k++] = names[n - 1];
                for (size_t i = 1; i + 1 < n; i++)
                        list[k++] = names[i];
                const char *sg = suggest(ghost, list, k);
                if (sg)
                        snprintf(want, sizeof(want), NAME ":%zu: undefined section '%s', did you mean '%s'?\n", n + 3,
                                 ghost, sg);
                else
                        snprintf(want, sizeof(want), NAME ":%zu: undefined section '%s'\n", n + 3, ghost);

                ASSERT_ERR(load(text, &c, &diag), -EINVAL);
                ASSERT_STREQ(diag, want);
        }
}

TEST(tree_checks) {
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\n[worker:stray]\nexec = y\n",
                     NAME ":5: worker 'stray' is not listed in the children of any supervisor");
        EXPECT_ERROR("[supervisor:app]\nchildren = a, b\n[supervisor:a]\nchildren = w\n[supervisor:b]\nchildren = w\n"
                     "[worker:w]\nexec = x\n",
                     NAME ":6: 'w' is listed under two supervisors: 'a' (" NAME ":4) and 'b'");
        EXPECT_ERROR("[forkvisor]\nroot = app\n" HEAD "[worker:w]\nexec = x\n[supervisor:other]\n",
                     NAME ":7: supervisor 'other' is not listed in the children of any supervisor (the root is 'app')");
}

TEST(cycles) {
        EXPECT_ERROR("[supervisor:app]\nchildren = app\n", NAME ":2: cycle: supervisor 'app' lists itself as a child");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\n[supervisor:a]\nchildren = b\n[supervisor:b]\nchildren = a\n",
                     "cycle: a <- b <- a (each is a child of the next)");
        EXPECT_ERROR("[supervisor:a]\nchildren = b\n[supervisor:b]\nchildren = a\n",
                     NAME ":1: no root supervisor: every supervisor is listed as a child");
}

/* Every cycle once, named from its first section in file order, in that order; a section that
 * only hangs under a cycle is in none. */
TEST(cycles_each_once_in_file_order) {
        _cleanup_free_ char *diag = NULL;
        Config *c = NULL;

        ASSERT_ERR(load(HEAD "[worker:w]\nexec = x\n[worker:g]\nexec = x\n[supervisor:d]\nchildren = e\n"
                        "[supervisor:b]\nchildren = a\n[supervisor:c]\nchildren = d, g\n[supervisor:a]\nchildren = b\n"
                        "[supervisor:e]\nchildren = c\n",
                        &c, &diag),
                   -EINVAL);
        ASSERT_STREQ(diag, NAME ":12: cycle: d <- c <- e <- d (each is a child of the next)\n"
                           NAME ":14: cycle: b <- a <- b (each is a child of the next)\n");
}

/* A chain of supervisors thousands deep: every parent link found, the root at the top. */
TEST(deep_chain) {
        _cleanup_config_ Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        const size_t depth = 5000;

        ASSERT_TRUE(f);
        for (size_t i = 0; i + 1 < depth; i++)
                fprintf(f, "[supervisor:s%zu]\nchildren = s%zu\n", i, i + 1);
        fprintf(f, "[worker:s%zu]\nexec = x\n", depth - 1);
        ASSERT_TRUE(fclose(f) == 0);
        LOAD_OK(text, c);
        ASSERT_STREQ(c->root->name, "s0");
        ASSERT_EQ(c->n_sections, depth);
        for (size_t i = 0; i + 1 < depth; i++)
                ASSERT_TRUE(c->sections[i]->n_children == 1 && c->sections[i]->children[0] == c->sections[i + 1]);
}

/* Diagnostics are appended to what the caller's list holds already. */
TEST(diagnostics_append) {
        Diagnostics d = {};

        ASSERT_ERR(config_load_string("[worker:w]\n", NAME, NULL, &d), -EINVAL);
        size_t n = d.n;
        ASSERT_TRUE(n >= 1);
        for (int i = 0; i < 20; i++)
                ASSERT_ERR(config_load_string("[worker:w]\n", NAME, NULL, &d), -EINVAL);
        ASSERT_EQ(d.n, 21 * n);
        ASSERT_STREQ(d.lines[20 * n], d.lines[0]);
        diagnostics_done(&d);
        ASSERT_EQ(d.n, 0);
}

TEST(root_detection) {
        _cleanup_config_ Config *c = NULL;

        LOAD_OK("[worker:w]\nexec = x\n[supervisor:sub]\nchildren = w\n[supervisor:top]\nchildren = sub\n", c);
        ASSERT_STREQ(c->root->name, "top");
        config_free(TAKE_PTR(c));

        LOAD_OK("[forkvisor]\nroot = top\n[worker:w]\nexec = x\n[supervisor:top]\nchildren = w\n", c);
        ASSERT_STREQ(c->root->name, "top");

        EXPECT_ERROR("[supervisor:a]\n[supervisor:b]\n[supervisor:c]\n",
                     NAME ":2: several supervisors are nobody's child ('a', 'b', 'c'): list them under one root, or set root = in [forkvisor]");
        EXPECT_ERROR("[worker:w]\nexec = x\n", NAME ":1: no [supervisor:NAME] section: the tree needs a root supervisor");
        EXPECT_ERROR("", NAME ":1: no [supervisor:NAME] section");
        EXPECT_ERROR("[forkvisor]\nroot = w\n" HEAD "[worker:w]\nexec = x\n", NAME ":2: root 'w' is a worker");
        EXPECT_ERROR("[forkvisor]\nroot = sub\n" HEAD "[worker:w]\nexec = x\n[supervisor:sub]\n[supervisor:top]\nchildren = sub\n",
                     NAME ":2: root 'sub' is a child of supervisor 'top' (" NAME ":9)");
}

TEST(every_problem_is_reported) {
        _cleanup_free_ char *diag = NULL;
        Config *c = NULL;

        ASSERT_ERR(load("[supervisor:app]\nstrategy = bad\nchildren = w, ghost\n[worker:w]\nrestart = x\n"
                        "nice = 100\n[worker:orphan]\nexec = y\n", &c, &diag), -EINVAL);
        ASSERT_CONTAINS(diag, NAME ":2: bad value 'bad' for strategy");
        ASSERT_CONTAINS(diag, NAME ":5: bad value 'x' for restart");
        ASSERT_CONTAINS(diag, NAME ":6: bad value '100' for nice");
        ASSERT_CONTAINS(diag, NAME ":4: missing required key 'exec'");
        ASSERT_CONTAINS(diag, NAME ":3: undefined section 'ghost'");
        ASSERT_CONTAINS(diag, NAME ":7: worker 'orphan' is not listed");
        ASSERT_EQ(count_lines(diag), 6);
}

TEST(hash) {
        const char *a = HEAD "[worker:w]\nexec = /bin/x  ; comment\nrestart = transient\n";
        const char *b = "; different comments\n" HEAD "\n\n[worker:w]\nexec   =   /bin/x\nrestart = transient\n";
        const char *d = HEAD "[worker:w]\nexec = /bin/x\nrestart = temporary\n";
        _cleanup_config_ Config *ca = NULL, *cb = NULL, *cd = NULL;

        LOAD_OK(a, ca);
        LOAD_OK(b, cb);
        LOAD_OK(d, cd);
        ASSERT_TRUE(config_find(ca, SPEC_WORKER, "w")->hash == config_find(cb, SPEC_WORKER, "w")->hash);
        ASSERT_TRUE(config_find(ca, SPEC_WORKER, "w")->hash != config_find(cd, SPEC_WORKER, "w")->hash);
        ASSERT_TRUE(ca->root->hash == cd->root->hash);
        ASSERT_TRUE(ca->root->hash != config_find(ca, SPEC_WORKER, "w")->hash);
}

/* ---- files and includes ---------------------------------------------------------------- */

static char *tmpdir(void) {
        char *d = strdup("/tmp/test-config.XXXXXX");
        if (!d || !mkdtemp(d))
                abort();
        return d;
}

static void write_file(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                abort();
        f = fopen(p, "we");
        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
}

static void rm_rf(const char *dir) {
        _cleanup_free_ char *cmd = NULL;
        if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
                abort();
}

static int load_file(const char *dir, const char *name, Config **ret, char **ret_text) {
        _cleanup_free_ char *p = NULL;
        Diagnostics d = {};
        int r;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                abort();
        r = config_load(p, ret, &d);
        *ret_text = diagnostics_text(&d);
        return r;
}

TEST(include_glob_in_order) {
        _cleanup_free_ char *dir = tmpdir(), *diag = NULL, *sub = NULL, *want = NULL, *file = NULL;
        _cleanup_config_ Config *c = NULL;

        ASSERT_TRUE(asprintf(&sub, "%s/conf.d", dir) > 0);
        ASSERT_OK(mkdir(sub, 0755));
        write_file(dir, "main.ini", "[forkvisor]\ninclude = conf.d/*.ini,\n   extra.ini\n[supervisor:app]\nchildren = b, a, e\n");
        write_file(sub, "b.ini", "[worker:b]\nexec = /bin/b\n");
        write_file(sub, "a.ini", "[worker:a]\nexec = /bin/a\n");
        write_file(sub, "ignored.txt", "garbage\n");
        write_file(dir, "extra.ini", "[worker:e]\nexec = /bin/e\n");
        ASSERT_OK(load_file(dir, "main.ini", &c, &diag));
        ASSERT_EQ(c->n_sections, 4);
        /* file order: main, then the glob sorted, then extra.ini */
        ASSERT_STREQ(c->sections[1]->name, "a");
        ASSERT_STREQ(c->sections[2]->name, "b");
        ASSERT_STREQ(c->sections[3]->name, "e");
        ASSERT_TRUE(asprintf(&file, "%s/conf.d/a.ini", dir) > 0);
        ASSERT_STREQ(c->sections[1]->file, file);
        ASSERT_EQ(c->sections[1]->line, 1);
        /* directory defaults to the directory of the file defining the section */
        ASSERT_STREQ(c->sections[1]->directory, sub);
        ASSERT_STREQ(c->sections[3]->directory, dir);
        /* children order is the children list's, not the files' */
        ASSERT_STREQ(c->root->children[0]->name, "b");
        rm_rf(dir);
}

TEST(include_errors) {
        _cleanup_free_ char *dir = tmpdir();
        Config *c = NULL;

        /* a missing file named without wildcard is an error at the include line */
        {
                _cleanup_free_ char *diag = NULL, *want = NULL;
                write_file(dir, "main.ini", "[forkvisor]\n\ninclude = nope.ini\n" HEAD "[worker:w]\nexec = x\n");
                ASSERT_ERR(load_file(dir, "main.ini", &c, &diag), -EINVAL);
                ASSERT_TRUE(asprintf(&want, "%s/main.ini:3: cannot read include '%s/nope.ini': No such file or directory", dir, dir) > 0);
                ASSERT_CONTAINS(diag, want);
        }
        /* a wildcard that matches nothing is fine */
        {
                _cleanup_free_ char *diag = NULL;
                write_file(dir, "main.ini", "[forkvisor]\ninclude = none.d/*.ini\n" HEAD "[worker:w]\nexec = x\n");
                ASSERT_OK(load_file(dir, "main.ini", &c, &diag));
                config_free(TAKE_PTR(c));
        }
        /* self include */
        {
                _cleanup_free_ char *diag = NULL, *want = NULL;
                write_file(dir, "main.ini", "[forkvisor]\ninclude = main.ini\n" HEAD "[worker:w]\nexec = x\n");
                ASSERT_ERR(load_file(dir, "main.ini", &c, &diag), -EINVAL);
                ASSERT_TRUE(asprintf(&want, "%s/main.ini:2: include cycle: '%s/main.ini' includes itself", dir, dir) > 0);
                ASSERT_CONTAINS(diag, want);
        }
        /* a cycle through two files */
        {
                _cleanup_free_ char *diag = NULL, *want = NULL;
                write_file(dir, "main.ini", "[forkvisor]\ninclude = a.ini\n" HEAD "[worker:w]\nexec = x\n");
                write_file(dir, "a.ini", "[forkvisor]\ninclude = main.ini\n");
                ASSERT_ERR(load_file(dir, "main.ini", &c, &diag), -EINVAL);
                ASSERT_TRUE(asprintf(&want, "%s/a.ini:2: include cycle: '%s/main.ini' is already being read", dir, dir) > 0);
                ASSERT_CONTAINS(diag, want);
        }
        /* the same file twice */
        {
                _cleanup_free_ char *diag = NULL;
                write_file(dir, "main.ini", "[forkvisor]\ninclude = a.ini a.ini\n" HEAD "[worker:w]\nexec = x\n");
                write_file(dir, "a.ini", "; empty\n");
                ASSERT_ERR(load_file(dir, "main.ini", &c, &diag), -EINVAL);
                ASSERT_CONTAINS(diag, "/main.ini:2: '");
                ASSERT_CONTAINS(diag, "/a.ini' is included twice");
        }
        /* errors inside an included file name that file */
        {
                _cleanup_free_ char *diag = NULL, *want = NULL;
                write_file(dir, "main.ini", "[forkvisor]\ninclude = a.ini\n" HEAD);
                write_file(dir, "a.ini", "[worker:w]\nexec = x\nrestrat = 1\n");
                ASSERT_ERR(load_file(dir, "main.ini", &c, &diag), -EINVAL);
                ASSERT_TRUE(asprintf(&want, "%s/a.ini:3: unknown key 'restrat', did you mean 'restart'?", dir) > 0);
                ASSERT_CONTAINS(diag, want);
        }
        /* [forkvisor] keys other than include are set once in all files */
        {
                _cleanup_free_ char *diag = NULL, *want = NULL;
                write_file(dir, "main.ini", "[forkvisor]\nlog = stderr\ninclude = a.ini\n" HEAD "[worker:w]\nexec = x\n");
                write_file(dir, "a.ini", "[forkvisor]\nlog = journal\n");
                ASSERT_ERR(load_file(dir, "main.ini", &c, &diag), -EINVAL);
                ASSERT_TRUE(asprintf(&want, "%s/a.ini:2: key 'log' given twice in [forkvisor] (first at %s/main.ini:2)", dir, dir) > 0);
                ASSERT_CONTAINS(diag, want);
        }
        /* a directory matched by a glob is unreadable */
        {
                _cleanup_free_ char *diag = NULL, *sub = NULL;
                ASSERT_TRUE(asprintf(&sub, "%s/d.ini", dir) > 0);
                ASSERT_OK(mkdir(sub, 0755));
                write_file(dir, "main.ini", "[forkvisor]\ninclude = d.*\n" HEAD "[worker:w]\nexec = x\n");
                ASSERT_ERR(load_file(dir, "main.ini", &c, &diag), -EINVAL);
                ASSERT_CONTAINS(diag, "/d.ini': not a regular file");
        }
        rm_rf(dir);
}

TEST(nested_include_relative_to_includer) {
        _cleanup_free_ char *dir = tmpdir(), *diag = NULL, *sub = NULL;
        _cleanup_config_ Config *c = NULL;

        ASSERT_TRUE(asprintf(&sub, "%s/sub", dir) > 0);
        ASSERT_OK(mkdir(sub, 0755));
        write_file(dir, "main.ini", "[forkvisor]\ninclude = sub/a.ini\n" HEAD);
        write_file(sub, "a.ini", "[forkvisor]\ninclude = b.ini\n");
        write_file(sub, "b.ini", "[worker:w]\nexec = x\nstdout = file:out.log\n");
        ASSERT_OK(load_file(dir, "main.ini", &c, &diag));
        ASSERT_STREQ(config_find(c, SPEC_WORKER, "w")->directory, sub);
        ASSERT_TRUE(strstr(config_find(c, SPEC_WORKER, "w")->stdout_path, "/sub/out.log"));
        rm_rf(dir);
}

TEST(load_missing_file) {
        Diagnostics d = {};
        Config *c = NULL;

        ASSERT_ERR(config_load("/nonexistent/forkvisor.ini", &c, &d), -EINVAL);
        ASSERT_EQ(d.n, 1);
        ASSERT_STREQ(d.lines[0], "/nonexistent/forkvisor.ini:0: cannot read '/nonexistent/forkvisor.ini': No such file or directory");
        diagnostics_done(&d);
        ASSERT_EQ(d.n, 0);
}

TEST(nul_byte_in_file) {
        _cleanup_free_ char *dir = tmpdir(), *diag = NULL, *p = NULL;
        Config *c = NULL;
        FILE *f;

        ASSERT_TRUE(asprintf(&p, "%s/main.ini", dir) > 0);
        f = fopen(p, "we");
        fwrite(HEAD "[worker:w]\nexec = x\0y\n", 1, sizeof(HEAD "[worker:w]\nexec = x\0y\n") - 1, f);
        fclose(f);
        ASSERT_ERR(load_file(dir, "main.ini", &c, &diag), -EINVAL);
        ASSERT_CONTAINS(diag, "main.ini:4: control character 0x00 in line");
        rm_rf(dir);
}

TEST(null_diag_and_ret) {
        Config *c = NULL;

        ASSERT_ERR(config_load_string("[worker:Bad]\n", NAME, &c, NULL), -EINVAL);
        ASSERT_OK(config_load_string(HEAD "[worker:w]\nexec = x\n", NAME, NULL, NULL));
}

TEST(relative_name_gives_absolute_directory) {
        _cleanup_config_ Config *c = NULL;
        _cleanup_free_ char *cwd = getcwd(NULL, 0), *want = NULL;
        Diagnostics d = {};

        ASSERT_OK(config_load_string(HEAD "[worker:w]\nexec = x\n", "conf/x.ini", &c, &d));
        ASSERT_TRUE(asprintf(&want, "%s/conf", cwd) > 0);
        ASSERT_STREQ(config_find(c, SPEC_WORKER, "w")->directory, want);
        ASSERT_STREQ(config_find(c, SPEC_WORKER, "w")->file, "conf/x.ini");
}

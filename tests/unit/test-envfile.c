/* SPDX-License-Identifier: MIT */
/* Unit tests of envfile.c: systemd's EnvironmentFile= format (what systemd.exec(5) documents,
 * and what this parser refuses where systemd would skip a line), reading a file (missing,
 * optional, not regular, too large), and ${NAME} expansion. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "envfile.h"
#include "macro.h"
#include "strv.h"
#include "tests.h"

/* The variables of TEXT joined by '|', or "error LINE: MSG". */
static char *parse(const char *text, size_t size) {
        _cleanup_strv_free_ char **env = NULL;
        EnvFileError err = {};
        char *out = NULL;
        size_t len = 0;
        FILE *f;
        int r = envfile_parse(text, size, &env, &err);

        f = open_memstream(&out, &len);
        if (!f)
                return NULL;
        if (r < 0)
                fprintf(f, "error %u: %s", err.line, err.msg);
        else
                STRV_FOREACH(e, env)
                        fprintf(f, "%s%s", e == env ? "" : "|", *e);
        fclose(f);
        return out;
}

TEST(envfile_format_as_systemd_documents) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "", "" },
                { "A=1", "A=1" },
                { "A=1\nB=2\n", "A=1|B=2" },
                { "# c\n; c\n\n   \n  # indented\nA=1", "A=1" },
                { "A=1\nA=2", "A=2" },                         /* the later one wins */
                { "  A  =  x y  \t\n", "A=x y" },               /* blanks around key and value */
                { "A=", "A=" },
                { "A=\nB=", "A=|B=" },
                { "A=x # not a comment", "A=x # not a comment" },
                { "A=a\\ \\ ", "A=a  " },                       /* escaped blanks stay */
                { "A=a\\\\b", "A=a\\b" },
                { "A=a\\\nb", "A=ab" },                         /* a continued line */
                { "A='x  $y \\n'", "A=x  $y \\n" },             /* single quotes: verbatim */
                { "A='a\nb'", "A=a\nb" },                       /* quotes span lines */
                { "A=\"\\\" \\\\ \\` \\$ \\n\"", "A=\" \\ ` $ \\n" },
                { "A=\"a\\\nb\"", "A=ab" },
                { "A=\"x\" 'y'", "A=xy" },                      /* as systemd: blanks between quotes go */
                { "A=x \"y\"", "A=x \"y\"" },                   /* quotes after a word are kept */
                { "export A=1", "A=1" },
                { "export\tA = 1", "A=1" },
                { "A=1\r\nB=2\r\n", "A=1|B=2" },               /* CRLF */
                { "# c \\\nA=1", "A=1" },                       /* no continuation in a comment */
                { "A=1\\", "A=1" },
                { "_a1=x", "_a1=x" },
        };
        static const struct {
                const char *in, *err;
        } bad[] = {
                { "A", "error 1: expected KEY=VALUE, found no '='" },
                { "A=1\nnovalue\n", "error 2: expected KEY=VALUE, found no '='" },
                { "1A=x", "error 1: bad variable name '1A'" },
                { "A-B=x", "error 1: bad variable name 'A-B'" },
                { "exportA B=x", "error 1: bad variable name 'exportA B'" },
                { "=x", "error 1: bad variable name ''" },
                { "A=1\nB=\"x\n\ny", "error 2: unterminated double quote" },
                { "A='x", "error 1: unterminated single quote" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = parse(cases[i].in, strlen(cases[i].in));
                ASSERT_STREQ(got, cases[i].out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *got = parse(bad[i].in, strlen(bad[i].in));
                ASSERT_TRUE(got && strncmp(got, bad[i].err, strlen(bad[i].err)) == 0);
        }
        _cleanup_free_ char *nul = parse("A=1\nB=\0x", 8);
        ASSERT_STREQ(nul, "error 2: a NUL byte: not a text file");
}

static char *write_file(const char *dir, const char *name, const char *text) {
        char *p;
        FILE *f;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return NULL;
        f = fopen(p, "we");
        if (!f)
                return p;
        fputs(text, f);
        fclose(f);
        return p;
}

TEST(envfile_load_reads_small_regular_files) {
        char dir[] = "/tmp/test-envfile.XXXXXX";
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL, *opt = NULL, *fifo = NULL, *big = NULL;
        EnvFileError err = {};

        ASSERT_TRUE(mkdtemp(dir));
        a = write_file(dir, "a.env", "A=1\nB=2\n");
        b = write_file(dir, "b.env", "B=3\n");
        ASSERT_OK(envfile_load(a, &env, &err));
        ASSERT_OK(envfile_load(b, &env, &err));
        ASSERT_EQ(strv_length(env), 2);
        ASSERT_STREQ(env[0], "A=1");
        ASSERT_STREQ(env[1], "B=3");

        /* Optional: a missing file is nothing; a required one is an error of line 0. */
        ASSERT_TRUE(asprintf(&opt, "-%s/none.env", dir) > 0);
        ASSERT_OK(envfile_load(opt, &env, &err));
        ASSERT_ERR(envfile_load(opt + 1, &env, &err), -ENOENT);
        ASSERT_EQ(err.line, 0);
        ASSERT_STREQ(err.msg, strerror(ENOENT));
        /* Optional covers missing only: a directory is an error still. */
        opt[strlen(opt) - strlen("/none.env")] = '\0';
        ASSERT_ERR(envfile_load(opt, &env, &err), -EISDIR);

        /* A FIFO would block the node: refused at once. */
        ASSERT_TRUE(asprintf(&fifo, "%s/fifo", dir) > 0);
        ASSERT_OK(mkfifo(fifo, 0600));
        ASSERT_ERR(envfile_load(fifo, &env, &err), -EBADFD);
        ASSERT_STREQ(err.msg, "not a regular file");

        /* At most ENVFILE_SIZE_MAX bytes. */
        ASSERT_TRUE(asprintf(&big, "%s/big.env", dir) > 0);
        int fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(ftruncate(fd, ENVFILE_SIZE_MAX + 1));
        close(fd);
        ASSERT_ERR(envfile_load(big, &env, &err), -EFBIG);
        ASSERT_STREQ(err.msg, "larger than 1 MiB");
        ASSERT_EQ(strv_length(env), 2);

        unlink(a);
        unlink(b);
        unlink(fifo);
        unlink(big);
        rmdir(dir);
}

TEST(env_expand_names_and_dollars) {
        char *const env[] = { "HOME=/home/u", "E=", "P=50%", "S=a b", NULL };
        static const struct {
                const char *in, *out;
                bool percent;
        } ok[] = {
                { "${HOME}/bin", "/home/u/bin", false },
                { "x${E}y", "xy", false },
                { "$$", "$", false },
                { "$${HOME}", "${HOME}", false },
                { "$HOME $1 $ a$", "$HOME $1 $ a$", false }, /* only ${ and $$ are ours */
                { "${S}", "a b", false },
                { "${P}", "50%", false },
                { "${P}", "50%%", true },                     /* exec: %-expansion comes later */
                { "", "", false },
        };
        static const struct {
                const char *in;
                int r;
                size_t at;
        } bad[] = {
                { "a${NOPE}", -ENOENT, 1 },
                { "${HOM}", -ENOENT, 0 },
                { "${1}", -EINVAL, 0 },
                { "x ${x:-y}", -EINVAL, 2 },
                { "${HOME", -EINVAL, 0 },
                { "${}", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *out = NULL;
                size_t at = 0;
                ASSERT_OK(env_expand(ok[i].in, env, ok[i].percent, &out, &at));
                ASSERT_STREQ(out, ok[i].out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *out = NULL;
                size_t at = 99;
                ASSERT_ERR(env_expand(bad[i].in, env, false, &out, &at), bad[i].r);
                ASSERT_EQ(at, bad[i].at);
                ASSERT_TRUE(!out);
        }
}

/* In a configuration: exec and environment expand from the node's environment, env_file is
 * resolved against the file's directory and checked when loaded. */
TEST(config_expands_and_checks_env_files) {
        char dir[] = "/tmp/test-envfile.XXXXXX";
        _cleanup_free_ char *ini = NULL, *env = NULL, *text = NULL;
        Diagnostics d = {};
        Config *c = NULL;

        ASSERT_TRUE(mkdtemp(dir));
        ASSERT_OK(setenv("FV_TEST_DIR", "/srv/x%", 1));
        env = write_file(dir, "a.env", "A=1\n");
        ASSERT_TRUE(asprintf(&ini, "%s/t.ini", dir) > 0);
        ASSERT_OK(config_load_string("[supervisor:app]\nchildren = w\n[worker:w]\n"
                                     "exec = ${FV_TEST_DIR}/run %n $$HOME\n"
                                     "env_file = a.env, -missing.env\n"
                                     "environment = D=${FV_TEST_DIR}\n",
                                     ini, &c, &d));
        Spec *w = config_find(c, SPEC_WORKER, "w");
        ASSERT_TRUE(w);
        ASSERT_STREQ(w->argv[0], "/srv/x%%/run");
        ASSERT_STREQ(w->argv[2], "$HOME");
        ASSERT_STREQ(w->environment[0], "D=/srv/x%");
        ASSERT_EQ(strv_length(w->env_files), 2);
        ASSERT_STREQ(w->env_files[0], env);
        ASSERT_TRUE(w->env_files[1][0] == '-' && strstr(w->env_files[1], "/missing.env"));
        c = config_free(c);

        ASSERT_ERR(config_load_string("[supervisor:app]\nchildren = w\n[worker:w]\n"
                                      "exec = /bin/true ${FV_TEST_NOPE}\n"
                                      "env_file = missing.env\n",
                                      ini, &c, &d),
                   -EINVAL);
        ASSERT_EQ(d.n, 2);
        ASSERT_CONTAINS(d.lines[0], "t.ini:4: undefined variable 'FV_TEST_NOPE' in exec");
        ASSERT_CONTAINS(d.lines[1], "t.ini:5: cannot read env_file '");
        diagnostics_done(&d);
        d = (Diagnostics) {};

        free(env);
        env = write_file(dir, "a.env", "A=1\nB\n");
        ASSERT_ERR(config_load_string("[supervisor:app]\nchildren = w\n[worker:w]\nexec = /bin/true\n"
                                      "env_file = a.env\n",
                                      ini, &c, &d),
                   -EINVAL);
        ASSERT_EQ(d.n, 1);
        ASSERT_TRUE(asprintf(&text, "%s:2: expected KEY=VALUE, found no '=' (env_file of [worker:w] at %s:5)",
                             env, ini) > 0);
        ASSERT_STREQ(d.lines[0], text);
        diagnostics_done(&d);
        unsetenv("FV_TEST_DIR");
        unlink(env);
        rmdir(dir);
}

/* SPDX-License-Identifier: MIT */
/* Unit tests of held.c: a child's path as a file name and back (one spelling per path, strangers'
 * names refused), and holds kept, read and forgotten in a directory of our own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "held.h"
#include "macro.h"
#include "tests.h"

static const char *enc(const char *path) {
        static char buf[NAME_MAX + 1];
        return held_encode(path, buf, sizeof buf) < 0 ? "(error)" : buf;
}

static const char *dec(const char *name) {
        static char buf[PATH_MAX];
        return held_decode(name, buf, sizeof buf) < 0 ? "(error)" : buf;
}

TEST(held_encode_paths) {
        ASSERT_STREQ(enc("app/web"), "app%2Fweb");
        ASSERT_STREQ(enc("app/pool/job.3"), "app%2Fpool%2Fjob.3");
        ASSERT_STREQ(enc("a_b-c9"), "a_b-c9");
        /* Whatever the text, a name without '/', never a dot first (our temporary files). */
        ASSERT_STREQ(enc(".."), "%2E.");
        ASSERT_STREQ(enc("A b%"), "%41%20b%25");
        ASSERT_STREQ(enc(""), "(error)");
        char big[300];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        ASSERT_STREQ(enc(big), "(error)");
        char small[4];
        ASSERT_ERR(held_encode("a/b", small, sizeof small), -ENAMETOOLONG);
}

TEST(held_decode_is_the_reverse) {
        static const char *const paths[] = { "app/web", "app/pool/job.3", "..", "A b%", "x.y.z" };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                char name[NAME_MAX + 1];
                ASSERT_OK(held_encode(paths[i], name, sizeof name));
                ASSERT_STREQ(dec(name), paths[i]);
        }
        /* Not made by held_encode(): a plain byte written as %XX, lower-case hex, a cut escape,
         * a NUL, a byte that should have been escaped, a leading dot. */
        ASSERT_STREQ(dec("app%2fweb"), "(error)");
        ASSERT_STREQ(dec("%61pp"), "(error)");
        ASSERT_STREQ(dec("app%2"), "(error)");
        ASSERT_STREQ(dec("a%00b"), "(error)");
        ASSERT_STREQ(dec("App"), "(error)");
        ASSERT_STREQ(dec(".tmp"), "(error)");
        ASSERT_STREQ(dec(""), "(error)");
}

static bool none_known(const char *path, void *ud) {
        (*(int *) ud)++;
        return false;
}

TEST(held_set_and_read) {
        char dir[] = "/tmp/test-held-XXXXXX";
        ASSERT_TRUE(mkdtemp(dir));
        char sub[sizeof dir + 16];
        snprintf(sub, sizeof sub, "%s/state", dir);

        HeldDir *h = NULL;
        ASSERT_OK(held_dir_open(sub, &h)); /* made, 0700 */
        struct stat st;
        ASSERT_OK(stat(sub, &st));
        ASSERT_EQ(st.st_mode & 07777, 0700);
        ASSERT_STREQ(held_dir_path(h), sub);

        ASSERT_TRUE(!held_is_held(h, "app/web"));
        ASSERT_OK(held_set(h, "app/web", true));
        ASSERT_OK(held_set(h, "app/web", true)); /* again: still one */
        ASSERT_TRUE(held_is_held(h, "app/web"));
        ASSERT_TRUE(!held_is_held(h, "app/we"));

        char file[sizeof sub + 32], text[64] = "";
        snprintf(file, sizeof file, "%s/app%%2Fweb", sub);
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(read(fd, text, sizeof text - 1), 8);
        close(fd);
        ASSERT_STREQ(text, "app/web\n");

        /* Stale holds are told once per path, strangers' files not at all. */
        snprintf(file, sizeof file, "%s/Stranger", sub);
        fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        int calls = 0;
        held_check_stale(h, none_known, &calls);
        ASSERT_EQ(calls, 1);
        held_check_stale(h, none_known, &calls);
        ASSERT_EQ(calls, 1);
        ASSERT_OK(unlink(file));

        ASSERT_OK(held_set(h, "app/web", false));
        ASSERT_OK(held_set(h, "app/web", false)); /* none: fine */
        ASSERT_TRUE(!held_is_held(h, "app/web"));
        held_dir_free(h);

        /* Open to others: refused. */
        ASSERT_OK(chmod(sub, 0770));
        ASSERT_ERR(held_dir_open(sub, &h), -EPERM);
        ASSERT_OK(rmdir(sub));
        ASSERT_OK(rmdir(dir));
}

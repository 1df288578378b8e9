/* SPDX-License-Identifier: MIT */
/* control-path: where the default control socket lives, and the directory it is refused in. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control-path.h"
#include "log.h"
#include "macro.h"
#include "tests.h"

static char dir[] = "/tmp/fv-control-path-XXXXXX";

static const char *at(const char *name) {
        static char buf[128];
        snprintf(buf, sizeof buf, "%s/%s", dir, name);
        return buf;
}

/* The default path with RUNTIME_DIRECTORY set to runtime (as systemd does), or NULL. */
static char *default_path(const char *runtime, bool create, int *ret) {
        char *p = NULL;
        setenv("RUNTIME_DIRECTORY", runtime, 1);
        *ret = control_path_default(&p, create);
        unsetenv("RUNTIME_DIRECTORY");
        return *ret < 0 ? NULL : p;
}

TEST(runtime_directory_first_of_a_list) {
        char list[256];
        snprintf(list, sizeof list, "%s:/somewhere/else", at("rt"));
        int r;
        _cleanup_free_ char *p = default_path(list, true, &r);
        ASSERT_OK(r);
        char want[256];
        snprintf(want, sizeof want, "%s/control.sock", at("rt"));
        ASSERT_STREQ(p, want);
        struct stat st;
        ASSERT_OK(lstat(at("rt"), &st));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0700);
        rmdir(at("rt"));
}

TEST(missing_directory_is_made_with_its_parents_or_only_looked_at) {
        int r;
        char deep[256];
        snprintf(deep, sizeof deep, "%s/a/b", dir);
        /* The client only looks: nothing is made, and connecting will say no daemon runs. */
        _cleanup_free_ char *looked = default_path(deep, false, &r);
        ASSERT_OK(r);
        ASSERT_TRUE(looked != NULL);
        struct stat st;
        ASSERT_TRUE(lstat(at("a"), &st) < 0);
        /* The daemon makes it. */
        _cleanup_free_ char *made = default_path(deep, true, &r);
        ASSERT_OK(r);
        ASSERT_STREQ(made, looked);
        ASSERT_OK(lstat(deep, &st));
        ASSERT_EQ(st.st_mode & 07777, 0700);
        rmdir(deep);
        rmdir(at("a"));
}

TEST(directory_open_to_others_or_a_symlink_is_refused) {
        int r;
        ASSERT_OK(mkdir(at("open"), 0700));
        ASSERT_OK(chmod(at("open"), 0755));
        char *p = default_path(at("open"), true, &r);
        ASSERT_ERR(r, -EPERM);
        ASSERT_TRUE(p == NULL);
        ASSERT_OK(chmod(at("open"), 0700));
        char target[128];
        snprintf(target, sizeof target, "%s", at("open"));
        ASSERT_OK(symlink(target, at("link")));
        p = default_path(at("link"), true, &r);
        ASSERT_ERR(r, -EPERM);
        p = default_path(at("link"), false, &r);
        ASSERT_ERR(r, -EPERM);
        /* The real directory, closed again, is fine. */
        _cleanup_free_ char *ok = default_path(at("open"), false, &r);
        ASSERT_OK(r);
        unlink(at("link"));
        rmdir(at("open"));
}

TEST(another_users_directory_is_refused) {
        if (geteuid() != 0)
                return; /* needs root to make a directory of another user */
        int r;
        ASSERT_OK(mkdir(at("theirs"), 0700));
        ASSERT_OK(chown(at("theirs"), 65534, 65534));
        char *p = default_path(at("theirs"), false, &r);
        ASSERT_ERR(r, -EPERM);
        ASSERT_TRUE(p == NULL);
        rmdir(at("theirs"));
}

static void __attribute__((constructor)) make_dir(void) {
        if (!mkdtemp(dir))
                abort();
        log_set_max_level(-1); /* the refusals are logged: keep the test's output quiet */
}

static void __attribute__((destructor)) remove_dir(void) {
        rmdir(dir);
}

/* SPDX-License-Identifier: MIT */
/* cgroup.c's names and guard.c's session killing (the parts that need no cgroup hierarchy: the
 * hierarchy itself is exercised by tests/reliability/escape.bats). */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "guard.h"
#include "tests.h"

TEST(group_name_is_stable_and_per_socket) {
        char a[64], b[64], c[64];
        cgroup_group_name("/run/forkvisor/control.sock", a, sizeof a);
        cgroup_group_name("/run/forkvisor/control.sock", b, sizeof b);
        cgroup_group_name("/tmp/forkvisor-1000/control.sock", c, sizeof c);
        ASSERT_STREQ(a, b);
        ASSERT_TRUE(strcmp(a, c) != 0);
        ASSERT_EQ(strlen(a), strlen("forkvisor-") + 16);
        ASSERT_TRUE(strncmp(a, "forkvisor-", 10) == 0);
}

TEST(leaf_name_is_the_path_with_colons) {
        char buf[64];
        cgroup_leaf_name("app/pool/job.2", buf, sizeof buf);
        ASSERT_STREQ(buf, "app:pool:job.2");
        cgroup_leaf_name("app", buf, sizeof buf);
        ASSERT_STREQ(buf, "app");
        cgroup_leaf_name("app/a-very-long-name", buf, 8);
        ASSERT_STREQ(buf, "app:a-v");
}

TEST(no_cgroup_when_turned_off) {
        Cgroups *c = NULL;
        setenv("FORKVISOR_CGROUP", "no", 1);
        ASSERT_OK(cgroups_new("/x/control.sock", NULL, &c));
        unsetenv("FORKVISOR_CGROUP");
        ASSERT_EQ(cgroups_mode(c), CGROUP_MODE_NONE);
        ASSERT_TRUE(cgroups_path(c) == NULL);
        ASSERT_CONTAINS(cgroups_describe(c), "FORKVISOR_CGROUP=no");
        const char *why = NULL;
        ASSERT_TRUE(!cgroups_controller_available(c, CGROUP_MEMORY, &why));
        ASSERT_CONTAINS(why, "FORKVISOR_CGROUP=no");
        cgroups_free(c);
}

static bool alive(pid_t pid) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* A process in a session of its own, with a child in that session: both die; a process in our
 * session does not. */
TEST(guard_kills_whole_sessions_only) {
        int p[2];
        ASSERT_OK(pipe(p) < 0 ? -errno : 0);
        pid_t leader = fork();
        if (leader == 0) {
                setsid();
                if (fork() == 0) {
                        pid_t me = getpid();
                        (void) !write(p[1], &me, sizeof me);
                        pause();
                        _exit(0);
                }
                pause();
                _exit(0);
        }
        pid_t bystander = fork();
        if (bystander == 0) {
                pause();
                _exit(0);
        }
        pid_t member;
        ASSERT_EQ(read(p[0], &member, sizeof member), (ssize_t) sizeof member);
        pid_t sids[] = { 999999, leader };
        ASSERT_TRUE(guard_kill_sessions(sids, 2) >= 2);
        int status;
        ASSERT_EQ(waitpid(leader, &status, 0), leader);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* The member was the leader's child, now init's: gone, or a zombie init has to reap. */
        for (int i = 0; i < 1000 && alive(member); i++)
                usleep(1000);
        ASSERT_TRUE(!alive(member));
        ASSERT_EQ(waitpid(bystander, &status, WNOHANG), 0);
        kill(bystander, SIGKILL);
        waitpid(bystander, NULL, 0);
        close(p[0]);
        close(p[1]);
}

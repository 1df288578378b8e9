/* SPDX-License-Identifier: MIT */
/* The reaper (reap.c): a child's exit reaches the tree with its status, its process record is
 * released, and a child the tree does not know is reaped quietly. Real processes, a pretend tree. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake-child.h"
#include "tests.h"

static const char *const INI = "[supervisor:app]\nchildren = web\n[worker:web]\nexec = /bin/true\n";

/* A real child of ours, in a process group of its own, that exits with status at once; waited
 * for without being reaped, so it is a zombie when the reaper looks. */
static pid_t zombie(int status) {
        pid_t pid = fork();
        if (pid == 0) {
                (void) setpgid(0, 0);
                _exit(status);
        }
        siginfo_t si = {};
        (void) waitid(P_PID, (id_t) pid, &si, WEXITED | WNOWAIT);
        return pid;
}

TEST(an_exit_reaches_the_tree_and_releases_its_record) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        tree_start(w.tree);
        Node *web = worker(&w, "app/web");
        ASSERT_EQ(web->state, NODE_RUNNING);
        /* Its pretend process becomes a real one, indexed as child_spawn would. */
        Child *rt = web->userdata;
        pid_t pid = zombie(3);
        ASSERT_TRUE(pid > 0);
        web->pid = pid;
        ASSERT_OK(proc_new(&w.m.procs, pid, web, &rt->proc));

        ASSERT_OK(reap_children(NULL, NULL, &w.m));
        ASSERT_TRUE(proc_get(&w.m.procs, pid) == NULL);
        ASSERT_TRUE(rt->proc == NULL);
        ASSERT_EQ(proc_count(&w.m.procs), 0);
        ASSERT_EQ(web->exit_code, CLD_EXITED);
        ASSERT_EQ(web->exit_status, 3);
        /* Its policy restarted it (a pretend process again). */
        ASSERT_EQ(web->restarts, 1);
        ASSERT_EQ(web->state, NODE_RUNNING);
        ASSERT_TRUE(web->pid != pid);
        ASSERT_TRUE(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD);
        world_free(&w);
}

TEST(a_child_the_tree_does_not_know_is_reaped_quietly) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        tree_start(w.tree);
        Node *web = worker(&w, "app/web");
        pid_t before = web->pid;
        pid_t a = zombie(0), b = zombie(9);
        ASSERT_OK(reap_children(NULL, NULL, &w.m));
        ASSERT_TRUE(waitpid(a, NULL, WNOHANG) < 0 && errno == ECHILD);
        ASSERT_TRUE(waitpid(b, NULL, WNOHANG) < 0 && errno == ECHILD);
        ASSERT_EQ(web->state, NODE_RUNNING);
        ASSERT_EQ(web->pid, before);
        ASSERT_EQ(web->restarts, 0);
        world_free(&w);
}

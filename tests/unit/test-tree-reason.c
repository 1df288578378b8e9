/* SPDX-License-Identifier: MIT */
/* Why a node went down (NodeReason): the tree records why it stops a node before the signal goes
 * (the fake kill writes it beside the signal: "-a:TERM(operator)"), and reads an exit nobody
 * asked for from how it ended. */
#include <signal.h>
#include <sys/wait.h>

#include "spec.h"
#include "tests.h"
#include "tree.h"

#define FAKE_EXTRA_FIELDS Config *config;
#include "fake-tree.h"

/* The fake's kill, with the reason the node had when it was signalled. */
static void r_kill(void *ud, Node *n, int sig, bool group) {
        if (sig != SIGCONT)
                logf_(ud, "-%s:%s(%s) ", n->name, sigabbrev_np(sig), node_reason_to_string(n->stop_reason) ?: "none");
}

/* Restarting events with the reason they carry. */
static void r_event(void *ud, Node *n, TreeEvent ev) {
        if (ev == TREE_EVENT_RESTARTING)
                logf_(ud, "restarting:%s(%s) ", n->name, node_reason_to_string(n->exit_reason) ?: "none");
        f_event(ud, n, ev);
}

static const TreeOps reason_ops = {
        .spawn = f_spawn, .kill = r_kill, .set_timer = f_set_timer,
        .now = f_now, .event = r_event, .finished = f_finished,
};

static int boot(Fake *f, const char *ini) {
        return fake_run(f, &reason_ops, &f->config, ini);
}

static void done(Fake *f) {
        tree_free(f->tree);
        config_free(f->config);
}

/* PATH exited as the reaper reports it. */
#define die(f, path, code, status) tree_handle_exit((f)->tree, N((f), (path)), (code), (status))

static const char *why(Fake *f, const char *path) {
        return node_reason_to_string(N(f, path)->exit_reason) ?: "none";
}

#define W(name) "[worker:" name "]\nexec = /bin/true\n"

TEST(reason_names) {
        ASSERT_TRUE(node_reason_to_string(NODE_REASON_NONE) == NULL);
        ASSERT_STREQ(node_reason_to_string(NODE_REASON_CRASH), "crash");
        ASSERT_STREQ(node_reason_to_string(NODE_REASON_START_FAILED), "start_failed");
        ASSERT_STREQ(node_reason_to_string(NODE_REASON_GAVE_UP), "gave_up");
        ASSERT_TRUE(node_reason_to_string(_NODE_REASON_MAX) == NULL);
        for (int r = 1; r < _NODE_REASON_MAX; r++)
                ASSERT_TRUE(node_reason_to_string((NodeReason) r) != NULL);
}

TEST(an_exit_of_its_own_is_a_crash_or_normal_and_so_is_its_restart) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nintensity = 10\nchildren = a b\n" W("a") W("b") "normal_exit = 0 7\n"));
        die(&f, "s/a", CLD_KILLED, SIGSEGV);
        ASSERT_STREQ(why(&f, "s/a"), "crash");
        die(&f, "s/b", CLD_EXITED, 7);
        ASSERT_STREQ(why(&f, "s/b"), "normal");
        die(&f, "s/b", CLD_EXITED, 1);
        ASSERT_STREQ(why(&f, "s/b"), "crash");
        ASSERT_STREQ(f.log, "restarting:a(crash) +a restarting:b(normal) +b restarting:b(crash) +b ");
        /* A new process has no stop asked of it; the last exit stays what it was. */
        ASSERT_EQ(N(&f, "s/a")->stop_reason, NODE_REASON_NONE);
        ASSERT_STREQ(why(&f, "s/a"), "crash");
        done(&f);
}

TEST(the_oom_killer_is_named_whatever_else_was_under_way) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nchildren = a\n" W("a")));
        const char *err;
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/a"), &err));
        N(&f, "s/a")->exit_oom = true; /* as the reaper finds it */
        die(&f, "s/a", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(why(&f, "s/a"), "oom");
        done(&f);
}

TEST(the_operator_stops_a_subtree_for_operator) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nchildren = a sub\n[supervisor:sub]\nchildren = b c\n" W("a") W("b") W("c")));
        const char *err;
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/sub"), &err));
        die(&f, "s/sub/c", CLD_KILLED, SIGTERM);
        die(&f, "s/sub/b", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "-c:TERM(operator) -b:TERM(operator) ");
        ASSERT_STREQ(why(&f, "s/sub/b"), "operator");
        ASSERT_STREQ(why(&f, "s/sub/c"), "operator");
        ASSERT_STREQ(why(&f, "s/sub"), "operator");
        ASSERT_STREQ(why(&f, "s/a"), "none");
        /* Restarted by the operator: its next process is nobody's to stop yet. */
        ASSERT_OK(tree_restart_node(f.tree, N(&f, "s/a"), &err));
        ASSERT_EQ(N(&f, "s/a")->stop_reason, NODE_REASON_OPERATOR);
        die(&f, "s/a", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(why(&f, "s/a"), "operator");
        ASSERT_EQ(N(&f, "s/a")->stop_reason, NODE_REASON_NONE);
        done(&f);
}

TEST(a_group_restart_stops_the_siblings_for_sibling) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nstrategy = rest_for_one\nintensity = 5\nchildren = a b c\n"
                           W("a") W("b") W("c")));
        die(&f, "s/b", CLD_EXITED, 2);
        ASSERT_STREQ(f.log, "restarting:b(crash) -c:TERM(sibling) ");
        die(&f, "s/c", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(why(&f, "s/b"), "crash");
        ASSERT_STREQ(why(&f, "s/c"), "sibling");
        ASSERT_EQ(N(&f, "s/c")->stop_reason, NODE_REASON_NONE); /* running again */
        done(&f);
}

TEST(giving_up_stops_the_others_for_shutdown_and_is_the_supervisors_reason) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:r]\nintensity = 5\nchildren = s\n"
                           "[supervisor:s]\nintensity = 1\nperiod = 10\nchildren = a b\n" W("a") W("b")));
        die(&f, "r/s/a", CLD_EXITED, 1);
        die(&f, "r/s/a", CLD_EXITED, 1);
        ASSERT_STREQ(f.log, "restarting:a(crash) +a gaveup:s -b:TERM(shutdown) ");
        die(&f, "r/s/b", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(why(&f, "r/s/b"), "shutdown");
        /* Its own supervisor restarts it, for that. */
        ASSERT_CONTAINS(f.log, "restarting:s(gave_up) ");
        ASSERT_STREQ(why(&f, "r/s"), "gave_up");
        done(&f);
}

TEST(auto_shutdown_stops_the_others_for_shutdown) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nauto_shutdown = any_significant\nchildren = job other\n"
                           "[worker:job]\nexec = /bin/true\nrestart = transient\nsignificant = yes\n" W("other")));
        die(&f, "s/job", CLD_EXITED, 0);
        ASSERT_STREQ(f.log, "-other:TERM(shutdown) ");
        die(&f, "s/other", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(why(&f, "s/job"), "normal");
        ASSERT_STREQ(why(&f, "s/other"), "shutdown");
        ASSERT_STREQ(why(&f, "s"), "normal");
        ASSERT_EQ(f.finished, 0);
        done(&f);
}

TEST(shutdown_brutal_kill_and_kill_all_are_shutdown) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nchildren = a sub\n[supervisor:sub]\nshutdown = brutal_kill\nchildren = b\n"
                           W("a") "shutdown = infinity\n" W("b")));
        tree_shutdown(f.tree);
        ASSERT_STREQ(f.log, "-b:KILL(shutdown) -b:TERM(shutdown) ");
        die(&f, "s/sub/b", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(f.log, "-b:KILL(shutdown) -b:TERM(shutdown) -a:TERM(shutdown) ");
        tree_kill_all(f.tree);
        die(&f, "s/a", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(why(&f, "s/a"), "shutdown");
        ASSERT_STREQ(why(&f, "s/sub/b"), "shutdown");
        ASSERT_STREQ(why(&f, "s"), "shutdown");
        done(&f);
}

TEST(a_supervisors_shutdown_timeout_kills_the_children_not_told_yet_for_its_reason) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nchildren = sub\n[supervisor:sub]\nshutdown = 100\nchildren = a b\n"
                           W("a") W("b")));
        const char *err;
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/sub"), &err));
        tree_handle_timer(f.tree, N(&f, "s/sub"));
        ASSERT_STREQ(f.log, "-b:TERM(operator) -a:KILL(operator) -b:KILL(operator) ");
        done(&f);
}

TEST(a_reload_restarts_and_removes_for_reload) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nchildren = a b\n" W("a") W("b")));
        const char *err;
        Node *a = N(&f, "s/a");
        ASSERT_EQ(tree_replace_node(f.tree, a, a->spec, &err), 0);
        die(&f, "s/a", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(why(&f, "s/a"), "reload");
        ASSERT_OK(tree_remove_node(f.tree, N(&f, "s/b"), &err));
        ASSERT_STREQ(f.log, "-a:TERM(reload) +a -b:TERM(reload) ");
        done(&f);
}

TEST(not_ready_in_time_is_timeout_and_a_stop_after_it_does_not_rewrite_it) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nchildren = a b\n" W("a")
                           "[worker:b]\nexec = /bin/true\nready = notify\nready_timeout = 100\n"));
        const char *err;
        tree_handle_ready(f.tree, N(&f, "s/b"));
        /* An operator's start that does not come up in time. */
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/b"), &err));
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        f.log[0] = 0;
        ASSERT_OK(tree_start_node(f.tree, N(&f, "s/b"), &err));
        tree_handle_timer(f.tree, N(&f, "s/b"));
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/b"), &err));
        die(&f, "s/b", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(f.log, "+b -b:KILL(timeout) ");
        ASSERT_STREQ(why(&f, "s/b"), "timeout");
        /* One that exits before it is ready failed to start; so did one that could not be run. */
        ASSERT_OK(tree_start_node(f.tree, N(&f, "s/b"), &err));
        die(&f, "s/b", CLD_EXITED, 0);
        ASSERT_STREQ(why(&f, "s/b"), "start_failed");
        f.fail_spawn = "b";
        ASSERT_ERR(tree_start_node(f.tree, N(&f, "s/b"), &err), -ENOENT);
        ASSERT_STREQ(why(&f, "s/b"), "start_failed");
        done(&f);
}

TEST(a_worker_killed_for_its_mailbox_is_restarted_as_after_a_crash) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nintensity = 5\nchildren = a\n" W("a")));
        tree_kill_worker(f.tree, N(&f, "s/a"), NODE_REASON_MAILBOX);
        die(&f, "s/a", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(f.log, "-a:KILL(mailbox) restarting:a(mailbox) +a ");
        ASSERT_EQ(N(&f, "s/a")->restarts, 1);
        done(&f);
}

/* watchdog_signal first, SIGKILL once its shutdown time is over; then restarted as after a crash,
 * and counted against intensity like one. */
TEST(a_worker_killed_for_its_watchdog_is_restarted_as_after_a_crash) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nintensity = 1\nchildren = a\n"
                           "[worker:a]\nexec = /bin/true\nready = notify\nwatchdog = 100\nshutdown = 50\n"));
        Node *a = N(&f, "s/a");
        tree_handle_ready(f.tree, a);
        ASSERT_EQ(a->state, NODE_RUNNING);
        f.log[0] = 0;
        tree_watchdog_worker(f.tree, a, "no watchdog keep-alive within 100 ms");
        ASSERT_EQ(a->state, NODE_STOPPING);
        ASSERT_EQ(a->timer, NODE_TIMER_SHUTDOWN);
        ASSERT_STREQ(a->reason, "no watchdog keep-alive within 100 ms");
        tree_watchdog_worker(f.tree, a, "again"); /* already on its way down: nothing more */
        tree_handle_timer(f.tree, a);
        die(&f, "s/a", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(f.log, "-a:ABRT(watchdog) -a:KILL(watchdog) restarting:a(watchdog) +a ");
        ASSERT_STREQ(why(&f, "s/a"), "watchdog");
        ASSERT_EQ(a->restarts, 1);
        /* A second one within the period is over intensity 1. */
        tree_handle_ready(f.tree, a);
        tree_watchdog_worker(f.tree, a, "no watchdog keep-alive within 100 ms");
        die(&f, "s/a", CLD_DUMPED, SIGABRT);
        ASSERT_CONTAINS(f.log, "gaveup:s");
        done(&f);
}

/* Before it is ready, a watchdog that runs out is a failed start, as a ready_timeout is; and
 * EXTEND_TIMEOUT_USEC only ever pushes the ready_timeout back. */
TEST(a_watchdog_while_starting_is_a_failed_start_and_extend_only_lengthens) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nchildren = a b\n" W("a")
                           "[worker:b]\nexec = /bin/true\nready = notify\nready_timeout = 100\n"
                           "watchdog = 100\nwatchdog_signal = KILL\n"));
        const char *err;
        Node *b = N(&f, "s/b");
        tree_handle_ready(f.tree, b);
        ASSERT_OK(tree_stop_node(f.tree, b, &err));
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        f.log[0] = 0;
        ASSERT_OK(tree_start_node(f.tree, b, &err));
        ASSERT_EQ(b->timer, NODE_TIMER_READY);
        usec_t at = b->timer_at;
        tree_extend_ready(f.tree, b, at - 1);
        ASSERT_EQ(b->timer_at, at);
        tree_extend_ready(f.tree, b, at + 5000);
        ASSERT_EQ(b->timer_at, at + 5000);
        ASSERT_EQ(b->timer, NODE_TIMER_READY);
        tree_watchdog_worker(f.tree, b, "no watchdog keep-alive within 100 ms");
        /* SIGKILL itself: no second stage. */
        ASSERT_EQ(b->timer, NODE_TIMER_NONE);
        die(&f, "s/b", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(f.log, "+b -b:KILL(watchdog) ");
        ASSERT_STREQ(why(&f, "s/b"), "watchdog");
        ASSERT_EQ(b->state, NODE_FAILED);
        done(&f);
}

TEST(an_unhealthy_worker_is_stopped_and_restarted_as_after_a_crash_whatever_its_exit) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nintensity = 1\nchildren = a\n" W("a") "restart = transient\nshutdown = 100\n"));
        tree_stop_unhealthy(f.tree, N(&f, "s/a"));
        ASSERT_STREQ(f.log, "-a:TERM(unhealthy) ");
        ASSERT_EQ(N(&f, "s/a")->state, NODE_RUNNING); /* not stopping: its end is its own */
        ASSERT_EQ(N(&f, "s/a")->timer, NODE_TIMER_SHUTDOWN);
        tree_stop_unhealthy(f.tree, N(&f, "s/a")); /* once is enough */
        ASSERT_STREQ(f.log, "-a:TERM(unhealthy) ");
        tree_handle_timer(f.tree, N(&f, "s/a"));
        ASSERT_STREQ(f.log, "-a:TERM(unhealthy) -a:KILL(unhealthy) ");
        /* Exit 0 on its stop_signal: still abnormal, so a transient child is restarted. */
        die(&f, "s/a", CLD_EXITED, 0);
        ASSERT_STREQ(why(&f, "s/a"), "unhealthy");
        ASSERT_STREQ(f.log, "-a:TERM(unhealthy) -a:KILL(unhealthy) restarting:a(unhealthy) +a ");
        ASSERT_EQ(N(&f, "s/a")->stop_reason, NODE_REASON_NONE);
        /* It counts against intensity: a second one within the period gives up. */
        tree_stop_unhealthy(f.tree, N(&f, "s/a"));
        die(&f, "s/a", CLD_KILLED, SIGTERM);
        ASSERT_EQ(N(&f, "s")->exit_reason, NODE_REASON_GAVE_UP);
        done(&f);
}

TEST(only_a_running_worker_is_stopped_for_its_health) {
        Fake f;
        ASSERT_OK(boot(&f, "[supervisor:s]\nchildren = a\n" W("a")));
        const char *err;
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/a"), &err));
        tree_stop_unhealthy(f.tree, N(&f, "s/a")); /* already stopping for the operator */
        ASSERT_STREQ(f.log, "-a:TERM(operator) ");
        die(&f, "s/a", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(why(&f, "s/a"), "operator");
        done(&f);
}

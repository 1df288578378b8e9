/* SPDX-License-Identifier: MIT */
/* The operator commands against a small real tree (fake TreeOps, no process), a real registry
 * and router, and fakes of the manager (fake-manager.h) and of the control request
 * (fake-control.h): the command table (unknown commands, argument counts, what is refused while
 * shutting down, requests whose client is gone), the text and JSON of status, tree, info,
 * whereis and registry, and the commands that wait for the tree (start, stop, wait) or for a
 * worker (call). */
#include "tests.h"

#include <signal.h>
#include <sys/wait.h>

#include "commands.h"
#include "fake-control.h"
#include "fake-manager.h"
#include "fake-worker.h"
#include "log.h"

#define INI                                                                                       \
        "[supervisor:app]\nchildren = web db\n"                                                   \
        "[worker:web]\nexec = /bin/web --port 80\nregister = +front\nsubscribe = news\n"         \
        "[worker:db]\nexec = /bin/db\n"

typedef struct World {
        Manager *m;
        Commands *c;
        ControlRequest *req;   /* the last request (freed by the next world_run and at the end) */
} World;

static int world_new(World *w, const char *ini) {
        memset(w, 0, sizeof *w);
        int r = fake_manager_new(ini, &w->m);
        if (r >= 0)
                r = commands_new(&w->c);
        if (r >= 0)
                commands_attach(w->c, w->m);
        return r;
}

static void world_free(World *w) {
        commands_free(w->c);
        fake_request_free(w->req);
        fake_manager_free(w->m);
}

/* Hands argv (NULL-terminated) to the commands as a fresh request; the request is returned (and
 * kept in w->req until the next one). */
static ControlRequest *run_argv(World *w, char **argv) {
        int argc = 0;
        while (argv[argc])
                argc++;
        fake_request_free(w->req);
        w->req = fake_request_new();
        commands_handle(w->c, w->req, argc, argv);
        return w->req;
}
#define RUN(w, ...) run_argv(w, (char *[]) { __VA_ARGS__, NULL })

/* A number in text replaced by "N": uptimes move. after is what precedes it. */
static void mask_number_after(char *s, const char *after) {
        for (char *p = s; (p = strstr(p, after)); ) {
                p += strlen(after);
                size_t digits = strspn(p, "0123456789");
                if (digits > 0) {
                        *p = 'N';
                        memmove(p + 1, p + digits, strlen(p + digits) + 1);
                }
        }
}

TEST(unknown_command) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        ControlRequest *r = RUN(&w, "frobnicate", "x");
        ASSERT_STREQ(r->err, "unknown command\n");
        ASSERT_EQ(r->status, 2);
        ASSERT_EQ(r->finishes, 1);
        ASSERT_STREQ(r->out, "");
        world_free(&w);
}

/* Every command checks its argument count before it does anything. */
TEST(argument_counts) {
        static const struct {
                const char *name;
                int min, max;  /* -1: no limit */
        } table[] = {
                { "status", 2, 2 }, { "tree", 0, 1 }, { "info", 1, 2 }, { "start", 1, 1 },
                { "stop", 1, 1 }, { "restart", 1, 1 }, { "start-child", 1, -1 }, { "terminate-child", 1, 1 },
                { "wait", 3, 5 }, { "signal", 2, 2 }, { "shutdown", 0, 0 }, { "reload", 0, 0 }, { "whereis", 2, 2 },
                { "registry", 1, 1 }, { "send", 2, 2 }, { "call", 3, 3 }, { "get-state", 2, 2 },
                { "publish", 2, 2 }, { "subscribe", 1, -1 }, { "events", 0, 1 },
        };
        World w;
        ASSERT_OK(world_new(&w, INI));
        char *argv[8];
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                int counts[2] = { table[i].min - 1, table[i].max >= 0 ? table[i].max + 1 : -1 };
                for (int k = 0; k < 2; k++) {
                        if (counts[k] < 0)
                                continue;
                        argv[0] = (char *) table[i].name;
                        for (int a = 1; a <= counts[k]; a++)
                                argv[a] = (char *) "x";
                        argv[counts[k] + 1] = NULL;
                        ControlRequest *r = run_argv(&w, argv);
                        char want[64];
                        snprintf(want, sizeof want, "%s: wrong number of arguments\n", table[i].name);
                        if (r->status != 2 || strcmp(r->err, want) != 0)
                                FAIL_("%s with %d arguments: status %d, \"%s\"", table[i].name, counts[k],
                                      r->status, r->err);
                }
        }
        ASSERT_EQ(w.m->f.shutdowns, 0);
        ASSERT_STREQ(w.m->f.log, ""); /* nothing was started or stopped */
        world_free(&w);
}

TEST(mutating_commands_refused_while_shutting_down) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        w.m->f.shutdowns = 1;
        ControlRequest *r = RUN(&w, "restart", "app/db");
        ASSERT_STREQ(r->err, "restart: the daemon is shutting down\n");
        ASSERT_EQ(r->status, 1);
        r = RUN(&w, "reload");
        ASSERT_EQ(r->status, 1);
        r = RUN(&w, "tree"); /* looking is still allowed */
        ASSERT_EQ(r->status, 0);
        ASSERT_STREQ(w.m->f.log, "");
        world_free(&w);
}

/* A request whose client gave up (its deadline passed, or it is gone) is not carried out. */
TEST(requests_of_clients_gone_not_carried_out) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        log_set_max_level(LOG_WARNING); /* each drop is logged, as it should be, but not here */
        w.req = fake_request_new();
        w.req->deadline = now_usec() - 2 * USEC_PER_SEC;
        commands_handle(w.c, w.req, 1, (char *[]) { "shutdown", NULL });
        ASSERT_EQ(w.req->status, 3);
        ASSERT_CONTAINS(w.req->err, "shutdown: not carried out, its deadline passed");
        ASSERT_EQ(w.m->f.shutdowns, 0);
        fake_request_free(w.req);

        w.req = fake_request_new();
        w.req->accept_result = -ECONNRESET;
        commands_handle(w.c, w.req, 1, (char *[]) { "shutdown", NULL });
        ASSERT_EQ(w.req->status, 3);
        ASSERT_EQ(w.m->f.shutdowns, 0);

        /* In time: carried out, and held open until the daemon exits. */
        ControlRequest *r = RUN(&w, "shutdown");
        ASSERT_EQ(r->accepts, 1);
        ASSERT_EQ(w.m->f.shutdowns, 1);
        ASSERT_EQ(r->finishes, 0);
        ASSERT_TRUE(r->held_until_exit);
        log_set_max_level(LOG_INFO);
        world_free(&w);
}

TEST(status_text) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        fake_manager_exit(w.m, "app/db", CLD_EXITED, 3); /* restarted once */
        ControlRequest *r = RUN(&w, "status", "", "0");
        ASSERT_EQ(r->status, 0);
        /* Uptimes move: only their place is checked. */
        char *lines[5] = {};
        char *save = NULL;
        int n = 0;
        for (char *l = strtok_r(r->out, "\n", &save); l && n < 5; l = strtok_r(NULL, "\n", &save))
                lines[n++] = l;
        ASSERT_EQ(n, 4);
        char want[256];
        snprintf(want, sizeof want, "%-32s %-10s %-10s %-8s %8s %10s  %s", "PATH", "KIND", "STATE", "PID", "RESTARTS",
                 "UPTIME", "LAST-EXIT");
        ASSERT_STREQ(lines[0], want);
        /* Up to the uptime, which moves; then the last exit. */
        snprintf(want, sizeof want, "%-32s %-10s %-10s %-8s %8u ", "app", "supervisor", "running", "-", 0);
        ASSERT_TRUE(strncmp(lines[1], want, strlen(want)) == 0);
        ASSERT_TRUE(strcmp(lines[1] + strlen(lines[1]) - 3, "  -") == 0);
        snprintf(want, sizeof want, "%-32s %-10s %-10s %-8s %8u ", "app/web", "worker", "running", "4000001", 0);
        ASSERT_TRUE(strncmp(lines[2], want, strlen(want)) == 0);
        ASSERT_TRUE(strncmp(lines[3], "app/db ", 7) == 0);
        r = RUN(&w, "status", "app/db", "0");
        snprintf(want, sizeof want, "\n%-32s %-10s %-10s %-8s %8u ", "app/db", "worker", "running", "4000003", 1);
        ASSERT_CONTAINS(r->out, want);
        ASSERT_CONTAINS(r->out, "  status 3\n");
        r = RUN(&w, "status", "app/nope", "0");
        ASSERT_STREQ(r->err, "no such process: 'app/nope'\n");
        ASSERT_EQ(r->status, 1);
        world_free(&w);
}

TEST(cluster_without_a_cluster_section) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        ControlRequest *r = RUN(&w, "cluster", "0");
        ASSERT_STREQ(r->err, "this node is not in a cluster\n");
        ASSERT_STREQ(r->out, "");
        ASSERT_EQ(r->status, 1);
        r = RUN(&w, "cluster", "1");
        ASSERT_EQ(r->status, 1);
        world_free(&w);
}

TEST(status_json) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        fake_manager_exit(w.m, "app/db", CLD_KILLED, SIGKILL);
        ControlRequest *r = RUN(&w, "status", "", "1");
        ASSERT_EQ(r->status, 0);
        mask_number_after(r->out, "\"uptime_ms\": ");
        ASSERT_STREQ(r->out,
                     "{\"seq\": 0, \"processes\": [\n"
                     "  {\"path\": \"app\", \"kind\": \"supervisor\", \"state\": \"running\", \"pid\": null, "
                     "\"restarts\": 0, \"uptime_ms\": N, \"last_exit\": null, \"mailbox\": null},\n"
                     "  {\"path\": \"app/web\", \"kind\": \"worker\", \"state\": \"running\", \"pid\": 4000001, "
                     "\"restarts\": 0, \"uptime_ms\": N, \"last_exit\": null, \"mailbox\": {\"depth\": 0, "
                     "\"limit\": 1024, \"in\": 0, \"out\": 0, \"dropped\": 0}, \"cpu_user_usec\": 1250000, "
                     "\"cpu_system_usec\": 30000, \"health\": null, \"listen\": null},\n"
                     "  {\"path\": \"app/db\", \"kind\": \"worker\", \"state\": \"running\", \"pid\": 4000003, "
                     "\"restarts\": 1, \"uptime_ms\": N, \"last_exit\": {\"signal\": \"KILL\"}, \"mailbox\": "
                     "{\"depth\": 0, \"limit\": 1024, \"in\": 0, \"out\": 0, \"dropped\": 0}, "
                     "\"cpu_user_usec\": 1250000, \"cpu_system_usec\": 30000, \"health\": null, \"listen\": null}\n"
                     "], \"cluster\": null}\n");
        world_free(&w);
}

TEST(tree_drawn) {
        World w;
        ASSERT_OK(world_new(&w, "[supervisor:app]\nchildren = web pool\n"
                                "[worker:web]\nexec = /bin/web\n"
                                "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\n"
                                "[worker:job]\nexec = /bin/job\nrestart = temporary\n"));
        ControlRequest *r = RUN(&w, "start-child", "app/pool");
        ASSERT_EQ(r->status, 0);
        ASSERT_STREQ(r->out, "app/pool/job.1\n");
        r = RUN(&w, "tree");
        ASSERT_EQ(r->status, 0);
        ASSERT_STREQ(r->out, "app  running  one_for_one\n"
                             "├─ web  running  pid 4000001\n"
                             "└─ pool  running  simple_one_for_one\n"
                             "   └─ job.1  running  pid 4000002\n");
        world_free(&w);
}

TEST(info_of_a_worker_and_a_supervisor) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        ControlRequest *r = RUN(&w, "info", "app/web");
        ASSERT_EQ(r->status, 0);
        mask_number_after(r->out, "uptime: ");
        ASSERT_STREQ(r->out, "path: app/web\nkind: worker\nstate: running\npid: 4000001\nrestarts: 0\nuptime: N.0s\n"
                             "last exit: -\ncpu: 1.250 s user, 0.030 s system\nrestart: permanent\nready: none\ncommand: /bin/web\nnames: +front\n"
                             "mailbox depth: 0 of 1024\nmessages in: 0\nmessages out: 0\nmessages dropped: 0\n"
                             "subscriptions: news\npublications dropped: 0\nstatus: serving\n");
        r = RUN(&w, "info", "app");
        ASSERT_CONTAINS(r->out, "kind: supervisor\n");
        ASSERT_CONTAINS(r->out, "strategy: one_for_one\nintensity: 1 in 5000 ms\nchildren: 2\n");
        r = RUN(&w, "info", "nope");
        ASSERT_EQ(r->status, 1);
        world_free(&w);
}

TEST(whereis_and_registry) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        ControlRequest *r = RUN(&w, "whereis", "db", "0");
        ASSERT_STREQ(r->out, "4000002\n");
        ASSERT_EQ(r->status, 0);
        r = RUN(&w, "whereis", "+front", "1");
        ASSERT_STREQ(r->out, "4000001\n");
        r = RUN(&w, "whereis", "nobody", "0");
        ASSERT_STREQ(r->err, "'nobody' is not registered\n");
        ASSERT_EQ(r->status, 1);
        r = RUN(&w, "registry", "1");
        ASSERT_EQ(r->status, 0);
        ASSERT_CONTAINS(r->out, "  {\"name\": \"front\", \"pid\": 4000001, \"generation\": 1, \"kind\": \"duplicate\"}");
        ASSERT_CONTAINS(r->out, "  {\"name\": \"db\", \"pid\": 4000002, \"generation\": 2, \"kind\": \"unique\"}");
        ASSERT_TRUE(strncmp(r->out, "[\n  {", 5) == 0);
        ASSERT_TRUE(strstr(r->out, "},\n  {") != NULL);
        ASSERT_TRUE(strcmp(r->out + strlen(r->out) - 3, "\n]\n") == 0);
        r = RUN(&w, "registry", "0");
        ASSERT_CONTAINS(r->out, "+front");
        ASSERT_TRUE(strncmp(r->out, "NAME ", 5) == 0);
        world_free(&w);
}

/* stop answers once the worker is down, start once it runs again; both are told the tree's
 * refusals. */
TEST(stop_and_start_wait_for_the_tree) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        ControlRequest *r = RUN(&w, "stop", "app/db");
        ASSERT_STREQ(w.m->f.log, "-db:TERM ");
        ASSERT_EQ(r->finishes, 0); /* not yet: the worker is stopping */
        w.req = NULL;              /* the waiter holds it: freed below */
        fake_manager_exit(w.m, "app/db", CLD_KILLED, SIGTERM);
        ASSERT_EQ(r->finishes, 1);
        ASSERT_EQ(r->status, 0);
        fake_request_free(r);
        ASSERT_EQ(N(&w.m->f, "app/db")->state, NODE_STOPPED);

        r = RUN(&w, "start", "app/db");
        ASSERT_EQ(r->status, 0);   /* ready = none: running at once */
        ASSERT_CONTAINS(w.m->f.log, "+db ");
        r = RUN(&w, "start", "app/nope");
        ASSERT_STREQ(r->err, "no such process: 'app/nope'\n");
        ASSERT_EQ(r->late, 0);
        world_free(&w);
}

/* stop keeps a hold, start and restart forget it; when the disk says no, the operation stands
 * and its answer says so, exit 1, once it is done. */
TEST(stop_keeps_a_hold_and_says_when_it_cannot) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        w.m->f.hold_result = -ENOSPC;
        ControlRequest *r = RUN(&w, "stop", "app/db");
        ASSERT_EQ(r->finishes, 0);
        w.req = NULL;
        fake_manager_exit(w.m, "app/db", CLD_KILLED, SIGTERM);
        ASSERT_EQ(r->finishes, 1);
        ASSERT_EQ(r->status, 1);
        ASSERT_STREQ(r->err, "'app/db': its hold could not be kept, a restart of the daemon starts it again: "
                             "No space left on device\n");
        fake_request_free(r);
        ASSERT_EQ(N(&w.m->f, "app/db")->state, NODE_STOPPED);

        r = RUN(&w, "start", "app/db");
        ASSERT_EQ(r->status, 1);
        ASSERT_CONTAINS(r->err, "'app/db': its hold could not be removed, a restart of the daemon leaves it stopped");
        ASSERT_EQ(N(&w.m->f, "app/db")->state, NODE_RUNNING);
        w.m->f.hold_result = 0;
        r = RUN(&w, "restart", "app/db");
        ASSERT_EQ(r->finishes, 0);
        ASSERT_STREQ(w.m->f.holds, "+app/db -app/db -app/db ");
        world_free(&w);
}

TEST(wait_for_a_state) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        ControlRequest *r = RUN(&w, "wait", "app/db", "running", "");
        ASSERT_EQ(r->status, 0);
        r = RUN(&w, "wait", "app/db", "stopped", "0");
        ASSERT_STREQ(r->err, "timed out waiting for 'app/db'\n");
        ASSERT_EQ(r->status, 1);
        unsigned reaps = w.m->f.reaps;
        r = RUN(&w, "wait", "app/db", "sleepy", "");
        ASSERT_STREQ(r->err, "wait: no state 'sleepy': it is one of stopped, starting, running, stopping, restarting, "
                             "failed, exited\n");
        ASSERT_EQ(r->status, 2);
        r = RUN(&w, "wait", "app/db", "running", "soon");
        ASSERT_EQ(r->status, 2);
        r = RUN(&w, "wait", "app/nope", "running", "");
        ASSERT_EQ(r->status, 1);
        /* Before it looks, the node reaps what has exited: no answer from a stale pid. */
        ASSERT_TRUE(w.m->f.reaps > reaps);
        r = RUN(&w, "wait", "app/db", "running", "0", "1", "");
        ASSERT_STREQ(r->err, "timed out waiting for 'app/db'\n"); /* no restart yet */
        r = RUN(&w, "wait", "app/db", "running", "0", "x", "");
        ASSERT_EQ(r->status, 2);
        r = RUN(&w, "wait", "app/db", "running", "0", "", "123");
        ASSERT_EQ(r->status, 0);

        /* Waiting, then the client goes away: the waiter goes with it, nothing is answered. */
        r = RUN(&w, "wait", "app/db", "stopped", "");
        ASSERT_EQ(r->finishes, 0);
        fake_client_gone(r);
        const char *error;
        ASSERT_OK(tree_stop_node(w.m->f.tree, N(&w.m->f, "app/db"), &error));
        fake_manager_exit(w.m, "app/db", CLD_KILLED, SIGTERM);
        ASSERT_EQ(r->finishes, 0);
        world_free(&w);
}

/* send and call reach the worker through the router; call answers with the worker's reply. */
TEST(send_and_call_through_the_router) {
        World w;
        char log[1024] = "";
        ASSERT_OK(world_new(&w, INI));
        int db = fake_manager_worker_fd(w.m, "app/db");
        ControlRequest *r = RUN(&w, "send", "db", "hello");
        ASSERT_EQ(r->status, 0);
        r = RUN(&w, "send", "nobody", "hello");
        ASSERT_STREQ(r->err, "noproc: no process is registered under that name\n");
        ASSERT_EQ(r->status, 1);

        r = RUN(&w, "call", "db", "ping", "");
        ASSERT_EQ(r->finishes, 0);
        w.req = NULL;
        fw_settle(w.m->f.e);
        ASSERT_EQ(fw_read_all(db, log, sizeof log), 2);
        ASSERT_TRUE(strncmp(log, "cast:db=hello call#", 19) == 0);
        uint64_t ref = strtoull(log + 19, NULL, 10);
        ASSERT_TRUE(fw_send1(db, PROTO_REPLY, ref, NULL, "pong") > 0);
        fw_run_pending(w.m->f.e);
        ASSERT_EQ(r->finishes, 1);
        ASSERT_STREQ(r->out, "pong\n");
        ASSERT_EQ(r->status, 0);
        fake_request_free(r);

        r = RUN(&w, "call", "db", "ping", "soon");
        ASSERT_STREQ(r->err, "bad timeout 'soon'\n");
        ASSERT_EQ(r->status, 2);
        r = RUN(&w, "call", "nobody", "ping", "");
        ASSERT_EQ(r->status, 1);

        /* A call whose client goes: cancelled, the late reply answers nobody. */
        r = RUN(&w, "call", "db", "ping", "");
        w.req = NULL;
        fake_client_gone(r);
        fake_request_free(r);
        log[0] = 0;
        fw_settle(w.m->f.e);
        ASSERT_EQ(fw_read_all(db, log, sizeof log), 1);
        ref = strtoull(log + 5, NULL, 10);
        ASSERT_TRUE(fw_send1(db, PROTO_REPLY, ref, NULL, "late") > 0);
        fw_run_pending(w.m->f.e); /* ASan: nothing touches the freed request */
        world_free(&w);
}

TEST(publish_and_subscribe) {
        World w;
        char log[256] = "";
        ASSERT_OK(world_new(&w, INI));
        ControlRequest *r = RUN(&w, "publish", "bad topic", "x");
        ASSERT_EQ(r->status, 2);
        r = RUN(&w, "subscribe", "news", "bad*topic");
        ASSERT_CONTAINS(r->err, "bad topic 'bad*topic'");
        ASSERT_EQ(r->status, 2);
        r = RUN(&w, "subscribe", "news");
        ASSERT_EQ(r->status, 'S'); /* the connection is a stream now */
        ControlRequest *stream = r;
        w.req = NULL;
        r = RUN(&w, "publish", "news", "extra");
        ASSERT_EQ(r->status, 0);
        fw_settle(w.m->f.e);
        ASSERT_EQ(fw_read_all(stream->stream_fd, log, sizeof log), 1);
        ASSERT_STREQ(log, "info:news=extra ");
        log[0] = 0;
        ASSERT_EQ(fw_read_all(fake_manager_worker_fd(w.m, "app/web"), log, sizeof log), 1);
        ASSERT_STREQ(log, "info:news=extra ");
        fake_request_free(stream);
        world_free(&w);
}

static void reload_invalid(World *w) {
        w->m->f.reload_result = -EINVAL;
        w->m->f.reload_bad = "[supervisor:app]\nchildren = web\n[worker:web]\nbogus = 1\n";
}

TEST(reload_answers) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        reload_invalid(&w);
        ControlRequest *r = RUN(&w, "reload");
        ASSERT_CONTAINS(r->diag, "/tmp/new.ini:");
        ASSERT_EQ(r->status, 2);
        w.m->f.reload_result = -EBUSY;
        r = RUN(&w, "reload");
        ASSERT_STREQ(r->err, "reload: the daemon is shutting down\n");
        ASSERT_EQ(r->status, 1);

        /* Queued: answered when done. */
        w.m->f.reload_result = 0;
        r = RUN(&w, "reload");
        ASSERT_EQ(r->finishes, 0);
        ASSERT_TRUE(w.m->f.reload_done != NULL);
        w.m->f.reload_done(w.m->f.reload_ud, 1, "'app/web' failed to start");
        ASSERT_STREQ(r->err, "reload: 'app/web' failed to start\n");
        ASSERT_EQ(r->status, 1);

        /* Its client goes: the manager is told to forget it. */
        r = RUN(&w, "reload");
        w.req = NULL;
        fake_client_gone(r);
        fake_request_free(r);
        ASSERT_EQ(w.m->f.reload_forgets, 1);
        world_free(&w);
}

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* events SINCE: the kept events after SINCE, then the live ones, on one stream; refused when
 * some of them are no longer kept or SINCE is ahead of the last. status --json says the last. */
TEST(events_since) {
        World w;
        char log[4096] = "";
        ReloadCounts counts = {};
        ASSERT_OK(world_new(&w, INI));
        for (int i = 0; i < 3; i++)
                events_publish_reload(w.m->f.events, "app", &counts);
        ControlRequest *r = RUN(&w, "status", "app/web", "1");
        ASSERT_TRUE(starts_with(r->out, "{\"seq\": 3, \"processes\": [\n  {\"path\": \"app/web\""));
        r = RUN(&w, "events", "4");
        ASSERT_EQ(r->status, 1);
        ASSERT_STREQ(r->err, "no event 4 yet: the last is 3 (a sequence number from an earlier daemon?)\n");
        r = RUN(&w, "events", "1x");
        ASSERT_EQ(r->status, 2);
        r = RUN(&w, "events", "1");
        ASSERT_EQ(r->status, 'S');
        ControlRequest *stream = r;
        w.req = NULL;
        events_publish_reload(w.m->f.events, "app", &counts); /* live */
        fw_settle(w.m->f.e);
        ASSERT_EQ(fw_read_all(stream->stream_fd, log, sizeof log), 3);
        const char *p2 = strstr(log, "\"seq\": 2}"), *p3 = strstr(log, "\"seq\": 3}"), *p4 = strstr(log, "\"seq\": 4}");
        ASSERT_TRUE(starts_with(log, "info:forkvisor:reload={\"event\": \"reload\", \"path\": \"app\""));
        ASSERT_TRUE(p2 && p3 && p4 && p2 < p3 && p3 < p4);
        ASSERT_TRUE(!strstr(log, "\"seq\": 1}"));
        fake_request_free(stream);
        /* The ring overflows: 4 is the oldest event still kept, then 5. */
        for (int i = 0; i < EVENT_LOG_EVENTS; i++)
                events_publish_reload(w.m->f.events, "app", &counts);
        r = RUN(&w, "events", "3");
        ASSERT_EQ(r->status, 1);
        ASSERT_STREQ(r->err, "events after 3 are no longer kept: the oldest kept is 5\n");
        r = RUN(&w, "events", "4");
        ASSERT_EQ(r->status, 'S');
        world_free(&w);
}

TEST(metrics_of_the_tree) {
        World w;
        ASSERT_OK(world_new(&w, "[supervisor:app]\nchildren = web db\nintensity = 10\n"
                                "[worker:web]\nexec = /bin/web\n[worker:db]\nexec = /bin/db\n"));
        fake_manager_exit(w.m, "app/db", CLD_KILLED, SIGKILL); /* a crash, restarted */
        fake_manager_exit(w.m, "app/db", CLD_EXITED, 0);       /* a normal exit, restarted */
        ControlRequest *r = RUN(&w, "metrics");
        ASSERT_EQ(r->status, 0);
        ASSERT_STREQ(r->err, "");
        ASSERT_TRUE(strncmp(r->out, "# HELP forkvisor_child_state ", 29) == 0);
        ASSERT_CONTAINS(r->out, "\n# TYPE forkvisor_child_state gauge\n");
        ASSERT_CONTAINS(r->out, "\nforkvisor_child_state{path=\"app/web\",kind=\"worker\",state=\"running\"} 1\n");
        ASSERT_CONTAINS(r->out, "\nforkvisor_child_state{path=\"app/web\",kind=\"worker\",state=\"stopped\"} 0\n");
        ASSERT_CONTAINS(r->out, "\nforkvisor_child_restarts_total{path=\"app/db\",kind=\"worker\"} 2\n");
        ASSERT_CONTAINS(r->out, "\nforkvisor_child_exits_total{path=\"app/db\",kind=\"worker\",reason=\"crash\"} 1\n");
        ASSERT_CONTAINS(r->out, "\nforkvisor_child_exits_total{path=\"app/db\",kind=\"worker\",reason=\"normal\"} 1\n");
        ASSERT_TRUE(!strstr(r->out, "forkvisor_child_exits_total{path=\"app/web\""));
        ASSERT_CONTAINS(r->out, "\nforkvisor_child_mailbox_limit{path=\"app/web\",kind=\"worker\"} 1024\n");
        ASSERT_TRUE(!strstr(r->out, "forkvisor_child_mailbox_limit{path=\"app\""));
        ASSERT_CONTAINS(r->out, "\nforkvisor_children{kind=\"worker\",state=\"running\"} 2\n");
        ASSERT_CONTAINS(r->out, "\nforkvisor_children{kind=\"supervisor\",state=\"running\"} 1\n");
        ASSERT_CONTAINS(r->out, "\n# TYPE forkvisor_messages_out_total counter\n");
        ASSERT_CONTAINS(r->out, "\nforkvisor_control_connections 1\n");
        ASSERT_CONTAINS(r->out, "\nforkvisor_metrics_file_errors_total 0\n");
        r = RUN(&w, "metrics", "x");
        ASSERT_STREQ(r->err, "metrics: wrong number of arguments\n");
        ASSERT_EQ(r->status, 2);
        world_free(&w);
}

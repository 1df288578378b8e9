/* SPDX-License-Identifier: MIT */
/* The router through its public header only, with a real registry and sd-event loop and
 * workers played by the test on socketpairs (fake-worker.h): calls and their answers (between
 * workers and from outside), a callee that exits or never answers, monitors, casts to a name, a
 * pid or a group, publications, names held and let go, NAME@NODE through a RouterRemote.
 * Written against what a worker sees, so that it holds whatever the router's records become. */
#include "tests.h"

#include <sys/socket.h>
#include <unistd.h>

#include "fake-worker.h"
#include "macro.h"
#include "proto.h"
#include "registry.h"
#include "router.h"

typedef struct Worker {
        int fd;                /* the worker's end of its mailbox */
        Peer *peer;            /* NULL once detached */
        Proc *proc;            /* its process record while attached */
        pid_t pid;
        char name[16];         /* "a", "b", ...: the owner handed to RouterOps */
        char log[8192];        /* what it received */
} Worker;

typedef struct World {
        sd_event *e;
        Registry *reg;
        Router *r;
        ProcIndex procs;
        char ops[1024];        /* "ready:a broken:b(why) lost:c(what) " */
        Worker w[4];
} World;

typedef struct Answer {
        int calls;             /* times the answer came */
        int status;
        char data[256];
} Answer;

/* Appends "what:owner(why) " (no parentheses without why) to the log of RouterOps calls. */
static void log_op(World *x, const char *what, void *owner, const char *why) {
        size_t l = strlen(x->ops);
        snprintf(x->ops + l, sizeof x->ops - l, "%s:%s%s%s%s ", what, ((Worker *) owner)->name, why ? "(" : "",
                 why ?: "", why ? ")" : "");
}

static void op_ready(void *ud, void *owner) {
        log_op(ud, "ready", owner, NULL);
}

static void op_broken(void *ud, void *owner, const char *why) {
        log_op(ud, "broken", owner, why);
}

static void op_lost(void *ud, void *owner, const char *what) {
        log_op(ud, "lost", owner, what);
}

static const RouterOps ops = { op_ready, op_broken, op_lost };

static void on_answer(void *ud, int status, const void *data, size_t len) {
        Answer *a = ud;
        a->calls++;
        a->status = status;
        snprintf(a->data, sizeof a->data, "%.*s", (int) len, (const char *) data);
}

static int world_new(World *x) {
        memset(x, 0, sizeof *x);
        for (size_t i = 0; i < ELEMENTSOF(x->w); i++)
                x->w[i].fd = -1;
        int r = sd_event_new(&x->e);
        if (r >= 0)
                r = registry_new(64, &x->reg);
        if (r >= 0)
                r = router_new(x->e, x->reg, &x->procs, &ops, x, &x->r);
        return r;
}

/* Worker i ("a", "b", ...; pid 100 + i) starts with name (or NULL) and topics (or NULL). */
static int attach(World *x, int i, const char *name, char *const *subscribe) {
        Worker *w = &x->w[i];
        int sv[2];
        fw_pair(sv);
        w->fd = sv[1];
        w->pid = 100 + i;
        snprintf(w->name, sizeof w->name, "%c", 'a' + i);
        w->log[0] = 0;
        int r = proc_new(&x->procs, w->pid, NULL, &w->proc);
        if (r >= 0)
                r = router_attach(x->r, w->proc, name, subscribe, sv[0], 16, w, &w->peer);
        if (r < 0)
                w->proc = proc_release(&x->procs, w->proc);
        return r;
}

static void detach(World *x, int i, const char *reason) {
        router_detach(x->r, x->w[i].peer, reason);
        x->w[i].peer = NULL;
        x->w[i].proc = proc_release(&x->procs, x->w[i].proc);
}

/* Runs the loop until nothing is left to do now: what workers sent is routed, and what was
 * queued (from inside the loop or out) is flushed, as after a control request. */
static void settle(World *x) {
        fw_settle(x->e);
}

/* settle(), then what worker i received, as text; its log is emptied for the next look. */
static const char *got(World *x, int i) {
        static char buf[8192];
        Worker *w = &x->w[i];
        settle(x);
        fw_read_all(w->fd, w->log, sizeof w->log);
        snprintf(buf, sizeof buf, "%s", w->log);
        w->log[0] = 0;
        return buf;
}

static void world_free(World *x) {
        for (size_t i = 0; i < ELEMENTSOF(x->w); i++) {
                if (x->w[i].peer)
                        router_detach(x->r, x->w[i].peer, "shutdown");
                proc_release(&x->procs, x->w[i].proc);
                safe_close(x->w[i].fd);
        }
        router_free(x->r);
        proc_index_done(&x->procs);
        registry_free(x->reg);
        sd_event_unref(x->e);
}

/* The node's reference of the call worker i received last ("call#REF@..."), or 0. */
static uint64_t call_ref(const char *log) {
        const char *p = strstr(log, "call#");
        return p ? strtoull(p + 5, NULL, 10) : 0;
}

static pid_t holder(World *x, const char *name) {
        RegistryEntry e;
        return registry_lookup(registry_view(x->reg), name, &e) > 0 ? e.pid : 0;
}

TEST(call_between_workers_answered_to_the_caller) {
        World x;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(attach(&x, 1, "beta", NULL));
        ASSERT_OK(attach(&x, 2, NULL, NULL));
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 5, "beta", "ping") > 0);
        const char *b = got(&x, 1);
        uint64_t ref = call_ref(b);
        ASSERT_TRUE(ref > 0);
        char want[64];
        snprintf(want, sizeof want, "call#%llu@100:beta=ping ", (unsigned long long) ref);
        ASSERT_STREQ(b, want);

        /* Only the callee answers: a reply from anyone else, or to another reference, is
         * dropped; the callee's reaches the caller under the caller's own reference. */
        ASSERT_TRUE(fw_send1(x.w[2].fd, PROTO_REPLY, ref, NULL, "forged") > 0);
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_REPLY, ref + 1000, NULL, "stray") > 0);
        ASSERT_STREQ(got(&x, 0), "");
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_REPLY, ref, NULL, "pong") > 0);
        ASSERT_STREQ(got(&x, 0), "reply#5:=pong ");
        /* Answered once: a second reply goes nowhere. */
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_REPLY, ref, NULL, "again") > 0);
        ASSERT_STREQ(got(&x, 0), "");
        /* By pid too. */
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 6, "101", "by pid") > 0);
        ASSERT_TRUE(call_ref(got(&x, 1)) > ref);
        ASSERT_STREQ(x.ops, "");
        world_free(&x);
}

TEST(call_to_nobody_is_noproc) {
        World x;
        Answer a = {};
        uint64_t ref;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 9, "nobody", "x") > 0);
        ASSERT_STREQ(got(&x, 0), "error#9:=noproc ");
        ASSERT_ERR(router_call(x.r, PROTO_CALL, "nobody", "x", 1, 0, on_answer, &a, &ref), -ESRCH);
        ASSERT_ERR(router_cast(x.r, "nobody", "x", 1), -ESRCH);
        ASSERT_EQ(a.calls, 0);
        world_free(&x);
}

TEST(outside_call_answered_once) {
        World x;
        Answer a = {};
        uint64_t ref = 0;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(router_call(x.r, PROTO_CALL, "alpha", "q", 1, 0, on_answer, &a, &ref));
        ASSERT_TRUE(ref > 0);
        char want[64];
        snprintf(want, sizeof want, "call#%llu:alpha=q ", (unsigned long long) ref);
        ASSERT_STREQ(got(&x, 0), want);
        ASSERT_EQ(a.calls, 0);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_REPLY, ref, NULL, "42") > 0);
        settle(&x);
        ASSERT_EQ(a.calls, 1);
        ASSERT_EQ(a.status, 0);
        ASSERT_STREQ(a.data, "42");

        /* GET_STATE goes as its own kind. */
        ASSERT_OK(router_call(x.r, PROTO_GET_STATE, "alpha", "", 0, 0, on_answer, &a, &ref));
        ASSERT_TRUE(strstr(got(&x, 0), "get-state#") != NULL);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_REPLY, ref, NULL, "state") > 0);
        settle(&x);
        ASSERT_EQ(a.calls, 2);
        ASSERT_STREQ(a.data, "state");

        /* Cancelled (its client went away): the late answer is dropped, nobody is called. */
        ASSERT_OK(router_call(x.r, PROTO_CALL, "alpha", "q", 1, 0, on_answer, &a, &ref));
        router_cancel(x.r, ref);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_REPLY, ref, NULL, "late") > 0);
        settle(&x);
        ASSERT_EQ(a.calls, 2);
        world_free(&x);
}

/* The callee exits with calls in flight: each caller hears it at once, then a call of the
 * name finds nobody. */
TEST(callee_exit_fails_pending_calls) {
        World x;
        Answer a = {};
        uint64_t ref;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(attach(&x, 1, "beta", NULL));
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 1, "beta", "one") > 0);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 2, "beta", "two") > 0);
        ASSERT_OK(router_call(x.r, PROTO_CALL, "beta", "three", 5, 0, on_answer, &a, &ref));
        ASSERT_TRUE(call_ref(got(&x, 1)) > 0);
        detach(&x, 1, "exit status 1");
        const char *g = got(&x, 0);
        ASSERT_CONTAINS(g, "error#1:=callee exited ");
        ASSERT_CONTAINS(g, "error#2:=callee exited ");
        ASSERT_EQ(a.calls, 1);
        ASSERT_EQ(a.status, 1);
        ASSERT_STREQ(a.data, "callee exited");
        ASSERT_EQ(holder(&x, "beta"), 0);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 3, "beta", "four") > 0);
        ASSERT_STREQ(got(&x, 0), "error#3:=noproc ");
        ASSERT_ERR(router_call(x.r, PROTO_CALL, "beta", "x", 1, 0, on_answer, &a, &ref), -ESRCH);
        world_free(&x);
}

/* The caller exits first: the callee's answer is dropped, nothing breaks. */
TEST(caller_exit_drops_the_answer) {
        World x;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(attach(&x, 1, "beta", NULL));
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 1, "beta", "one") > 0);
        uint64_t ref = call_ref(got(&x, 1));
        ASSERT_TRUE(ref > 0);
        detach(&x, 0, "killed");
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_REPLY, ref, NULL, "late") > 0);
        settle(&x);
        ASSERT_STREQ(x.ops, "");
        world_free(&x);
}

static bool answered(void *ud) {
        return ((Answer *) ud)->calls > 0;
}

TEST(unanswered_call_times_out) {
        World x;
        Answer a = {};
        uint64_t ref;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        usec_t start = now_usec();
        ASSERT_OK(router_call(x.r, PROTO_CALL, "alpha", "q", 1, 100, on_answer, &a, &ref));
        ASSERT_TRUE(fw_run_until(x.e, answered, &a));
        ASSERT_TRUE(now_usec() - start >= 100 * USEC_PER_MSEC); /* never early */
        ASSERT_EQ(a.status, 1);
        ASSERT_STREQ(a.data, "timeout");
        /* The answer after the deadline is dropped. */
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_REPLY, ref, NULL, "late") > 0);
        settle(&x);
        ASSERT_EQ(a.calls, 1);
        world_free(&x);
}

TEST(monitors_fire_on_exit) {
        World x;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(attach(&x, 1, "beta", NULL));
        ASSERT_OK(attach(&x, 2, "gamma", NULL));
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_MONITOR, 0, "beta", NULL) > 0);
        ASSERT_TRUE(fw_send1(x.w[2].fd, PROTO_MONITOR, 0, "101", NULL) > 0);
        /* A monitor of nobody fires at once. */
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_MONITOR, 0, "nobody", NULL) > 0);
        ASSERT_STREQ(got(&x, 0), "down:nobody=noproc ");
        detach(&x, 1, "killed by SIGKILL");
        ASSERT_STREQ(got(&x, 0), "down@101:beta=killed by SIGKILL ");
        ASSERT_STREQ(got(&x, 2), "down@101:101=killed by SIGKILL ");
        /* Fired once: a successor under the name is not watched. */
        ASSERT_OK(attach(&x, 1, "beta", NULL));
        detach(&x, 1, "again");
        ASSERT_STREQ(got(&x, 0), "");
        /* A watcher that exits first takes its monitors with it. */
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_MONITOR, 0, "gamma", NULL) > 0);
        settle(&x);
        detach(&x, 0, "gone");
        detach(&x, 2, "gone too");
        settle(&x);
        ASSERT_STREQ(x.ops, "");
        world_free(&x);
}

TEST(casts_by_name_pid_and_group) {
        World x;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(attach(&x, 1, "+pool", NULL));
        ASSERT_OK(attach(&x, 2, "+pool", NULL));
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CAST, 0, "+pool", "all") > 0);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CAST, 0, "102", "one") > 0);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CAST, 0, "nobody", "lost") > 0);
        ASSERT_STREQ(got(&x, 1), "cast@100:+pool=all ");
        ASSERT_STREQ(got(&x, 2), "cast@100:+pool=all cast@100:102=one ");
        ASSERT_OK(router_cast(x.r, "alpha", "from outside", 12));
        ASSERT_STREQ(got(&x, 0), "cast:alpha=from outside ");
        /* A cast reaches the holder of the moment: the name's next holder, not the old one. */
        detach(&x, 0, "exit");
        safe_close(x.w[0].fd);
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_CAST, 0, "alpha", "new") > 0);
        ASSERT_STREQ(got(&x, 0), "cast@101:alpha=new ");
        ASSERT_STREQ(x.ops, "");
        world_free(&x);
}

/* Casts are limited by the receiver's mailbox_limit (16 here): the rest is dropped, counted. */
TEST(casts_to_a_full_mailbox_dropped) {
        World x;
        MailboxStats st;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        int ok = 0, full = 0;
        for (int i = 0; i < 20; i++) {
                int e = router_cast(x.r, "alpha", "m", 1);
                if (e == -EAGAIN)
                        full++;
                else if (e == 0)
                        ok++;
        }
        ASSERT_EQ(ok, 16);
        ASSERT_EQ(full, 4);
        peer_get_stats(x.w[0].peer, &st);
        ASSERT_EQ(st.dropped, 4);
        Answer a = {};
        uint64_t ref;
        ASSERT_ERR(router_call(x.r, PROTO_CALL, "alpha", "q", 1, 0, on_answer, &a, &ref), -EAGAIN);
        world_free(&x);
}

TEST(publish_fans_out_to_subscribers) {
        World x;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, NULL, NULL));
        ASSERT_OK(attach(&x, 1, NULL, (char *[]) { "news", NULL }));
        ASSERT_OK(attach(&x, 2, NULL, (char *[]) { "ne*", NULL }));
        ASSERT_TRUE(router_has_subscribers(x.r, "news"));
        ASSERT_TRUE(!router_has_subscribers(x.r, "sport"));
        ASSERT_EQ(router_publish(x.r, "news", "hi", 2), 2);
        ASSERT_EQ(router_publish(x.r, "sport", "no", 2), 0);
        ASSERT_ERR(router_publish(x.r, "bad topic", "x", 1), -EINVAL);
        ASSERT_STREQ(got(&x, 1), "info:news=hi ");
        ASSERT_STREQ(got(&x, 2), "info:news=hi ");
        /* From a worker: its pid as the sender; a subscription made at run time answered. */
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_SUBSCRIBE, 3, "new*", NULL) > 0);
        ASSERT_STREQ(got(&x, 0), "reply#3:=ok ");
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_PUBLISH, 0, "news", "fresh") > 0);
        ASSERT_STREQ(got(&x, 0), "info@101:news=fresh ");
        ASSERT_STREQ(got(&x, 1), "info@101:news=fresh ");
        ASSERT_STREQ(got(&x, 2), "info@101:news=fresh ");
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_UNSUBSCRIBE, 4, "new*", NULL) > 0);
        ASSERT_STREQ(got(&x, 0), "reply#4:=ok ");
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_UNSUBSCRIBE, 5, "new*", NULL) > 0);
        ASSERT_STREQ(got(&x, 0), "error#5:=not subscribed to this topic ");
        /* A subscriber that exits receives nothing more. */
        detach(&x, 2, "exit");
        ASSERT_EQ(router_publish(x.r, "news", "late", 4), 1);
        char *const *subs = peer_subscriptions(x.w[1].peer);
        ASSERT_TRUE(subs && subs[0] && !subs[1]);
        ASSERT_STREQ(subs[0], "news");
        ASSERT_TRUE(peer_subscriptions(x.w[0].peer) == NULL || !peer_subscriptions(x.w[0].peer)[0]);
        ASSERT_STREQ(x.ops, "");
        world_free(&x);
}

/* An outside subscriber on a stream (a control connection handed over). */
TEST(stream_receives_publications) {
        World x;
        int sv[2];
        char log[256] = "";
        ASSERT_OK(world_new(&x));
        fw_pair(sv);
        ASSERT_OK(router_stream_open(x.r, sv[0], (char *[]) { "forkvisor:*", NULL }, 16));
        ASSERT_EQ(router_publish(x.r, "forkvisor:exit", "a", 1), 1);
        settle(&x);
        ASSERT_EQ(fw_read_all(sv[1], log, sizeof log), 1);
        ASSERT_STREQ(log, "info:forkvisor:exit=a ");
        /* Its client goes away: the stream is dropped, nobody is left subscribed. */
        safe_close(sv[1]);
        settle(&x);
        (void) router_publish(x.r, "forkvisor:exit", "b", 1);
        settle(&x);
        ASSERT_TRUE(!router_has_subscribers(x.r, "forkvisor:exit"));
        world_free(&x);
}

TEST(names_registered_and_released) {
        World x;
        Peer *p;
        int sv[2];
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(attach(&x, 1, NULL, NULL));
        ASSERT_EQ(holder(&x, "alpha"), 100);
        /* A configured name that is taken: the incarnation is refused, nothing left behind. */
        fw_pair(sv);
        Proc *proc;
        ASSERT_OK(proc_new(&x.procs, 200, NULL, &proc));
        ASSERT_ERR(router_attach(x.r, proc, "alpha", NULL, sv[0], 16, &x.w[3], &p), -EEXIST);
        ASSERT_TRUE(proc->peer == NULL);
        proc_release(&x.procs, proc);
        safe_close(sv[1]);
        ASSERT_EQ(holder(&x, "alpha"), 100);

        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_REGISTER, 1, "beta", NULL) > 0);
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_REGISTER, 2, "alpha", NULL) > 0);
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_REGISTER, 3, "bad name", NULL) > 0);
        char want[256];
        snprintf(want, sizeof want, "reply#1:=ok error#2:=%s error#3:=%s ", proto_refusal(PROTO_REGISTER, -EEXIST),
                 proto_refusal(PROTO_REGISTER, -EINVAL));
        ASSERT_STREQ(got(&x, 1), want);
        ASSERT_EQ(holder(&x, "beta"), 101);
        /* Routed at once to the new holder. */
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CAST, 0, "beta", "hi") > 0);
        ASSERT_STREQ(got(&x, 1), "cast@100:beta=hi ");
        /* Let go of: nobody holds it; a second time is refused. */
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_UNREGISTER, 4, "beta", NULL) > 0);
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_UNREGISTER, 5, "beta", NULL) > 0);
        snprintf(want, sizeof want, "reply#4:=ok error#5:=%s ", proto_refusal(PROTO_UNREGISTER, -ENOENT));
        ASSERT_STREQ(got(&x, 1), want);
        ASSERT_EQ(holder(&x, "beta"), 0);
        /* A name taken at run time is released at exit, as the configured one. */
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_REGISTER, 6, "delta", NULL) > 0);
        ASSERT_STREQ(got(&x, 1), "reply#6:=ok ");
        detach(&x, 1, "exit");
        detach(&x, 0, "exit");
        ASSERT_EQ(holder(&x, "delta"), 0);
        ASSERT_EQ(holder(&x, "alpha"), 0);
        /* The successor takes it at once. */
        safe_close(x.w[0].fd);
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_EQ(holder(&x, "alpha"), 100);
        world_free(&x);
}

/* What the worker says that concerns its owner goes to RouterOps, once, and only while it runs. */
TEST(ready_and_protocol_violations_reported) {
        World x;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(attach(&x, 1, "beta", NULL));
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_READY, 0, NULL, NULL) > 0);
        settle(&x);
        ASSERT_STREQ(x.ops, "ready:a ");
        ASSERT_TRUE(fw_send1(x.w[1].fd, PROTO_INFO, 0, "alpha", "only the node sends this") > 0);
        settle(&x);
        ASSERT_STREQ(x.ops, "ready:a broken:b(a frame kind only the node may send) ");
        /* Its mailbox is closed: the worker reads end of file. */
        ASSERT_EQ(fw_read_record(x.w[1].fd, x.w[1].log, sizeof x.w[1].log), 0);
        /* A malformed record, as the mailbox tells it. */
        ASSERT_TRUE(fw_send_raw(x.w[0].fd, "garbage", 7, -1) > 0);
        settle(&x);
        ASSERT_CONTAINS(x.ops, "broken:a(malformed frame) ");
        /* What a reaped worker sent before it died is delivered, but READY no longer counts. */
        ASSERT_OK(attach(&x, 2, "gamma", NULL));
        ASSERT_TRUE(fw_send1(x.w[2].fd, PROTO_CAST, 0, "gamma", "to self") > 0);
        ASSERT_TRUE(fw_send1(x.w[2].fd, PROTO_READY, 0, NULL, NULL) > 0);
        x.ops[0] = 0;
        detach(&x, 2, "exit");
        ASSERT_STREQ(x.ops, "");
        world_free(&x);
}

TEST(stats_count_frames_both_ways) {
        World x;
        MailboxStats st;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(attach(&x, 1, "beta", NULL));
        for (int i = 0; i < 3; i++)
                ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CAST, 0, "beta", "m") > 0);
        settle(&x);
        peer_get_stats(x.w[0].peer, &st);
        ASSERT_EQ(st.in, 3);
        peer_get_stats(x.w[1].peer, &st);
        ASSERT_EQ(st.out, 3);
        ASSERT_EQ(st.depth, 3); /* in its socket, unread */
        ASSERT_STREQ(got(&x, 1), "cast@100:beta=m cast@100:beta=m cast@100:beta=m ");
        peer_get_stats(x.w[1].peer, &st);
        ASSERT_EQ(st.depth, 0);
        world_free(&x);
}

/* A worker that said HELLO with batches reads what waits as one record; others one frame each. */
TEST(hello_asks_for_batches) {
        World x;
        char log[512] = "";
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        Frame hello = fw_frame(PROTO_HELLO, 0, NULL, NULL);
        hello.flags = PROTO_FLAG_BATCH;
        ASSERT_TRUE(fw_send(x.w[0].fd, &hello, 1, -1) > 0);
        settle(&x);
        for (int i = 0; i < 3; i++)
                ASSERT_OK(router_cast(x.r, "alpha", "m", 1));
        settle(&x);
        ASSERT_EQ(fw_read_record(x.w[0].fd, log, sizeof log), 3);
        hello.flags = 0;
        ASSERT_TRUE(fw_send(x.w[0].fd, &hello, 1, -1) > 0);
        settle(&x);
        for (int i = 0; i < 3; i++)
                ASSERT_OK(router_cast(x.r, "alpha", "m", 1));
        settle(&x);
        ASSERT_EQ(fw_read_record(x.w[0].fd, log, sizeof log), 1);
        world_free(&x);
}

static bool flooding_seen(void *ud) {
        return strstr(((World *) ud)->ops, "flooding") != NULL;
}

/* A sender whose casts keep hitting a full mailbox, a hundred times its own limit in a row and
 * for a second or more, is broken (its policy restarts it); never sooner. */
TEST(flooding_sender_broken) {
        World x;
        static Frame casts[100];
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_OK(attach(&x, 1, "beta", NULL)); /* never reads */
        for (size_t i = 0; i < ELEMENTSOF(casts); i++)
                casts[i] = fw_frame(PROTO_CAST, 0, "beta", "flood");
        usec_t start = now_usec(), end = start + 3 * USEC_PER_SEC;
        while (!flooding_seen(&x) && now_usec() < end) {
                if (fw_send(x.w[0].fd, casts, ELEMENTSOF(casts), -1) < 0)
                        break; /* its mailbox is closed */
                settle(&x);
                (void) sd_event_run(x.e, 10 * USEC_PER_MSEC);
        }
        ASSERT_STREQ(x.ops, "broken:a(flooding: casts kept hitting full mailboxes) ");
        ASSERT_TRUE(now_usec() - start >= USEC_PER_SEC);
        MailboxStats st;
        peer_get_stats(x.w[1].peer, &st);
        ASSERT_TRUE(st.dropped > 16 * 100);
        world_free(&x);
}

/* ---- NAME@NODE: the hook for another node's targets (RouterRemote) ------------------------ */

typedef struct Far {
        char log[1024];        /* "call#REF:NAME@NODE=DATA/MS cast:... monitor@PID:... done#REF " */
        int refuse;            /* what call, cast and monitor return */
        uint64_t last_ref;
} Far;

static const char *far_node(void *ud) {
        return "here";
}

/* Appends to f's log. */
#define far_log(f, ...) snprintf((f)->log + strlen((f)->log), sizeof (f)->log - strlen((f)->log), __VA_ARGS__)

static int far_call(void *ud, uint8_t kind, uint64_t ref, const char *name, size_t name_len, const char *node,
                    size_t node_len, const void *data, size_t len, uint32_t timeout_ms) {
        Far *f = ud;
        f->last_ref = ref;
        far_log(f, "%s#%llu:%.*s@%.*s=%.*s/%u ", kind == PROTO_CALL ? "call" : "get-state", (unsigned long long) ref,
                (int) name_len, name, (int) node_len, node, (int) len, (const char *) data, timeout_ms);
        return f->refuse;
}

static void far_done(void *ud, uint64_t ref) {
        Far *f = ud;
        far_log(f, "done#%llu ", (unsigned long long) ref);
}

static int far_cast(void *ud, const char *name, size_t name_len, const char *node, size_t node_len, const void *data,
                    size_t len) {
        Far *f = ud;
        far_log(f, "cast:%.*s@%.*s=%.*s ", (int) name_len, name, (int) node_len, node, (int) len, (const char *) data);
        return f->refuse;
}

static int far_monitor(void *ud, pid_t owner, const char *target, size_t len) {
        Far *f = ud;
        far_log(f, "monitor@%d:%.*s ", (int) owner, (int) len, target);
        return f->refuse;
}

static void far_forget(void *ud, pid_t owner) {
        Far *f = ud;
        far_log(f, "forget@%d ", (int) owner);
}

static const RouterRemote far_ops = { far_node, far_call, far_done, far_cast, far_monitor, far_forget };

static const char *far_got(Far *f) {
        static char buf[1024];
        snprintf(buf, sizeof buf, "%s", f->log);
        f->log[0] = 0;
        return buf;
}

/* Without a transport, NAME@NODE is nobody; with one, NAME@<this node> is NAME. */
TEST(remote_self_is_local) {
        World x;
        Far f = {};
        Answer a = {};
        uint64_t ref;
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_ERR(router_call(x.r, PROTO_CALL, "alpha@here", "q", 1, 0, on_answer, &a, &ref), -ESRCH);
        ASSERT_ERR(router_cast(x.r, "alpha@far", "q", 1), -ESRCH);
        router_set_remote(x.r, &far_ops, &f);
        ASSERT_OK(router_call(x.r, PROTO_CALL, "alpha@here", "q", 1, 0, on_answer, &a, &ref));
        ASSERT_TRUE(strstr(got(&x, 0), "call#") != NULL);
        ASSERT_OK(router_cast(x.r, "alpha@here", "c", 1));
        ASSERT_STREQ(got(&x, 0), "cast:alpha@here=c ");
        ASSERT_STREQ(far_got(&f), "");
        world_free(&x);
}

/* A worker's call of NAME@NODE goes to the transport, its answer comes back by reference; a
 * late or unknown answer is dropped; a refused one fails at once. */
TEST(remote_call_answered_by_reference) {
        World x;
        Far f = {};
        char want[128];
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        router_set_remote(x.r, &far_ops, &f);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 7, "echo@far", "hi") > 0);
        settle(&x);
        uint64_t ref = f.last_ref;
        snprintf(want, sizeof want, "call#%llu:echo@far=hi/5000 ", (unsigned long long) ref);
        ASSERT_STREQ(far_got(&f), want);
        router_remote_answer(x.r, ref + 1000, true, "stray", 5);
        router_remote_answer(x.r, ref, true, "echo: hi", 8);
        ASSERT_STREQ(got(&x, 0), "reply#7:=echo: hi ");
        snprintf(want, sizeof want, "done#%llu ", (unsigned long long) ref);
        ASSERT_STREQ(far_got(&f), want);
        router_remote_answer(x.r, ref, true, "again", 5);
        ASSERT_STREQ(got(&x, 0), "");

        f.refuse = -ESRCH;
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 8, "echo@gone", "hi") > 0);
        ASSERT_STREQ(got(&x, 0), "error#8:=noproc ");
        f.refuse = -ENOTCONN;
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 9, "echo@gone", "hi") > 0);
        ASSERT_STREQ(got(&x, 0), "error#9:=noconnection ");
        /* Refused: never done(), the transport kept nothing. */
        ASSERT_TRUE(strstr(far_got(&f), "done#") == NULL);
        /* One still waiting when the node ends goes with the router. */
        f.refuse = 0;
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CALL, 10, "echo@far", "bye") > 0);
        settle(&x);
        world_free(&x);
        ASSERT_TRUE(strstr(far_got(&f), "done#") != NULL);
}

/* The caller's node keeps the deadline: a remote call times out here, and is done. */
TEST(remote_call_times_out) {
        World x;
        Far f = {};
        Answer a = {};
        uint64_t ref;
        ASSERT_OK(world_new(&x));
        router_set_remote(x.r, &far_ops, &f);
        ASSERT_OK(router_call(x.r, PROTO_GET_STATE, "echo@far", "", 0, 100, on_answer, &a, &ref));
        ASSERT_TRUE(strstr(f.log, "get-state#") != NULL);
        ASSERT_TRUE(fw_run_until(x.e, answered, &a));
        ASSERT_EQ(a.status, 1);
        ASSERT_STREQ(a.data, "timeout");
        ASSERT_TRUE(strstr(f.log, "done#") != NULL);
        router_remote_answer(x.r, ref, true, "late", 4);
        ASSERT_EQ(a.calls, 1);
        world_free(&x);
}

/* Casts and monitors of NAME@NODE go to the transport; its DOWN reaches the worker. */
TEST(remote_cast_and_monitor) {
        World x;
        Far f = {};
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        router_set_remote(x.r, &far_ops, &f);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_CAST, 0, "echo@far", "c") > 0);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_MONITOR, 0, "echo@far", NULL) > 0);
        settle(&x);
        ASSERT_STREQ(far_got(&f), "cast:echo@far=c monitor@100:echo@far ");
        router_deliver_down(x.r, 100, "echo@far", "noconnection");
        ASSERT_STREQ(got(&x, 0), "down:echo@far=noconnection ");
        router_deliver_down(x.r, 555, "echo@far", "nobody hears it");
        f.refuse = -ESRCH;
        ASSERT_ERR(router_cast(x.r, "echo@far", "c", 1), -ESRCH);
        ASSERT_TRUE(fw_send1(x.w[0].fd, PROTO_MONITOR, 0, "echo@gone", NULL) > 0);
        ASSERT_STREQ(got(&x, 0), "down:echo@gone=noproc ");
        /* A worker that made a remote monitor ends: the transport forgets its monitors; one
         * that made none costs nothing. */
        ASSERT_OK(attach(&x, 1, "beta", NULL));
        far_got(&f);
        detach(&x, 1, "exit status 0");
        detach(&x, 0, "exit status 0");
        ASSERT_STREQ(far_got(&f), "forget@100 ");
        world_free(&x);
}

static void on_down(void *ud, const char *reason) {
        snprintf(ud, 64, "%s", reason);
}

/* Another node's monitor of a local process: told once, with the exit reason. */
TEST(outside_monitor_fires_once) {
        World x;
        RouterMonitor *m, *m2;
        char why[64] = "", why2[64] = "";
        ASSERT_OK(world_new(&x));
        ASSERT_OK(attach(&x, 0, "alpha", NULL));
        ASSERT_ERR(router_monitor(x.r, "nobody", on_down, why, &m), -ESRCH);
        ASSERT_OK(router_monitor(x.r, "alpha", on_down, why, &m));
        ASSERT_OK(router_monitor(x.r, "alpha", on_down, why2, &m2));
        router_demonitor(x.r, m2);
        detach(&x, 0, "exit status 3");
        ASSERT_STREQ(why, "exit status 3");
        ASSERT_STREQ(why2, "");
        world_free(&x);
}

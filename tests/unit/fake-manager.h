/* SPDX-License-Identifier: MIT */
/* A fake of the node's manager (test-commands.c): a real Tree over fake-tree.h's TreeOps (spawns
 * logged, no process), a real Registry and Router, and each running worker attached to the
 * router on a socketpair whose far end the test holds (FakeChild.fd), so that names, casts and calls
 * reach it. The clock is the real one, as the commands read it. Reload and shutdown are only
 * recorded. The includer links these manager_*() definitions instead of manager.o's. */
#pragma once

#include <assert.h>
#include <sys/socket.h>
#include <unistd.h>

#include "manager.h"
#include "registry.h"
#include "router.h"

#define FAKE_EXTRA_FIELDS                                                                         \
        Config *config;                                                                          \
        sd_event *e;                                                                             \
        Registry *reg;                                                                           \
        Router *router;                                                                          \
        Events *events;                                                                          \
        ManagerObserver observer;                                                                \
        void *observer_ud;                                                                       \
        unsigned shutdowns;                                                                      \
        int reload_result;       /* what manager_reload() returns */                            \
        const char *reload_bad;  /* with -EINVAL: a configuration whose problems it reports */   \
        ManagerReloadDone reload_done;                                                           \
        void *reload_ud;                                                                         \
        unsigned reload_forgets;                                                                 \
        unsigned reaps;          /* manager_reap_pending() calls */                             \
        int hold_result;         /* what manager_keep_hold() returns */                         \
        char holds[256];         /* its calls: "+PATH " kept, "-PATH " forgotten */
#include "fake-tree.h"

struct Manager {
        Fake f;
        ProcIndex procs;
};

/* What the manager keeps per node (n->userdata): the worker's mailbox while it runs. */
typedef struct FakeChild {
        Proc *proc;            /* its process record while it runs */
        int fd;                /* the worker's end of the mailbox, or -1 */
} FakeChild;

static int m_attach(void *ud, Node *n) {
        FakeChild *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->fd = -1;
        n->userdata = p;
        return 0;
}

/* The process is gone: its mailbox goes with it. */
static void m_detach(Manager *m, Node *n, const char *reason) {
        FakeChild *p = n->userdata;
        if (!p || !p->proc)
                return;
        router_detach(m->f.router, p->proc->peer, reason);
        p->proc = proc_release(&m->procs, p->proc);
        p->fd = safe_close(p->fd);
}

static void m_release(void *ud, Node *n) {
        m_detach(ud, n, "gone");
        n->userdata = mfree(n->userdata);
}

static int m_spawn(void *ud, Node *n, pid_t *ret_pid, bool *ret_ready) {
        Manager *m = ud;
        FakeChild *p = n->userdata;
        Peer *peer;
        int sv[2];
        int r = f_spawn(&m->f, n, ret_pid, ret_ready);
        if (r < 0)
                return r;
        r = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
        assert(r == 0);
        p->fd = sv[1];
        r = proc_new(&m->procs, *ret_pid, n, &p->proc);
        assert(r == 0);
        r = router_attach(m->f.router, p->proc, n->reg_name, n->spec->subscribe, sv[0], n->spec->mailbox_limit, n,
                          &peer);
        assert(r == 0);
        return 0;
}

static usec_t m_now(void *ud) {
        return now_usec();
}

static void m_event(void *ud, Node *n, TreeEvent ev) {
        Manager *m = ud;
        f_event(&m->f, n, ev);
        if (m->f.observer)
                m->f.observer(m->f.observer_ud, n, ev);
}

static const TreeOps manager_ops = {
        .spawn = m_spawn, .kill = f_kill, .set_timer = f_set_timer, .now = m_now,
        .event = m_event, .finished = f_finished, .attach = m_attach, .release = m_release,
};

static void m_ready(void *ud, void *owner) {
        Manager *m = ud;
        tree_handle_ready(m->f.tree, owner);
}

static void m_broken(void *ud, void *owner, const char *why) {
        logf_(&((Manager *) ud)->f, "broken:%s ", ((Node *) owner)->name);
}

static const RouterOps manager_router_ops = { m_ready, m_broken, m_broken };

/* The first pid fake_manager_new() gives, plus one: high enough that no real process has it
 * (`info` reads /proc/PID/status). */
#define FAKE_MANAGER_PID0 4000000

/* A manager over ini, its tree started; the spawn log cleared. */
static int fake_manager_new(const char *ini, Manager **ret) {
        Manager *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        fake_init(&m->f);
        m->f.next_pid = FAKE_MANAGER_PID0;
        int r = fake_load_config(ini, &m->f.config);
        if (r >= 0)
                r = sd_event_new(&m->f.e);
        if (r >= 0)
                r = registry_new(64, &m->f.reg);
        if (r >= 0)
                r = router_new(m->f.e, m->f.reg, &m->procs, &manager_router_ops, m, &m->f.router);
        if (r >= 0)
                r = events_new(m->f.router, &m->f.events);
        if (r >= 0)
                r = tree_new(m->f.config, &manager_ops, m, &m->f.tree);
        if (r < 0)
                return r;
        fake_start(&m->f);
        *ret = m;
        return 0;
}

static void fake_manager_free(Manager *m) {
        tree_free(m->f.tree);
        events_free(m->f.events);
        router_free(m->f.router);
        proc_index_done(&m->procs);
        registry_free(m->f.reg);
        config_free(m->f.config);
        sd_event_unref(m->f.e);
        free(m);
}

/* The worker at path exits: its mailbox closes, then the tree hears of it, as the reaper does. */
static void fake_manager_exit(Manager *m, const char *path, int code, int status) {
        Node *n = N(&m->f, path);
        m_detach(m, n, "exit");
        tree_handle_exit(m->f.tree, n, code, status);
}

/* The worker's end of the mailbox of the node at path (-1 when it runs no process). */
static int fake_manager_worker_fd(Manager *m, const char *path) {
        FakeChild *p = N(&m->f, path)->userdata;
        return p->fd;
}

Tree *manager_tree(Manager *m) {
        return m->f.tree;
}

sd_event *manager_event(Manager *m) {
        return m->f.e;
}

void manager_set_observer(Manager *m, ManagerObserver fn, void *ud) {
        m->f.observer = fn;
        m->f.observer_ud = ud;
}

void manager_shutdown(Manager *m) {
        m->f.shutdowns++;
}

bool manager_shutting_down(Manager *m) {
        return m->f.shutdowns > 0;
}

Events *manager_events(Manager *m) {
        return m->f.events;
}

Router *manager_router(Manager *m) {
        return m->f.router;
}

const RegistryView *manager_registry(Manager *m) {
        return registry_view(m->f.reg);
}

const Config *manager_config(Manager *m) {
        return m->f.config;
}

unsigned manager_control_connections(Manager *m) {
        return 1;
}

/* A node without [cluster]: tests/cluster runs the real one. */
Cluster *manager_cluster(Manager *m) {
        return NULL;
}

int manager_reload(Manager *m, ManagerReloadDone done, void *ud, ReloadJob **ret, Diagnostics *diag,
                   const char **ret_error) {
        if (m->f.reload_result == -EINVAL && m->f.reload_bad) {
                Config *c = NULL;
                (void) config_load_string(m->f.reload_bad, "/tmp/new.ini", &c, diag);
                config_free(c);
                return -EINVAL;
        }
        if (m->f.reload_result < 0) {
                *ret_error = "the daemon is shutting down";
                return m->f.reload_result;
        }
        m->f.reload_done = done;
        m->f.reload_ud = ud;
        if (ret)
                *ret = (ReloadJob *) m; /* a handle only compared, never followed */
        return 0;
}

void manager_reload_forget(Manager *m, ReloadJob *j) {
        m->f.reload_forgets++;
        m->f.reload_done = NULL;
}

void manager_reap_pending(Manager *m) {
        m->f.reaps++;
}

int manager_keep_hold(Manager *m, const Node *n, bool held) {
        size_t len = strlen(m->f.holds);
        snprintf(m->f.holds + len, sizeof m->f.holds - len, "%c%s ", held ? '+' : '-', n->path);
        return m->f.hold_result;
}

Peer *manager_node_peer(const Node *n) {
        const FakeChild *p = n->userdata;
        return p && p->proc ? p->proc->peer : NULL;
}

const char *manager_node_status(const Node *n) {
        return manager_node_peer(n) ? "serving" : NULL;
}

/* No health check in the fake: status and info show none. */
const char *manager_node_health(const Node *n, unsigned *ret_failures, const char **ret_last) {
        return NULL;
}

const char *manager_node_argv0(const Node *n) {
        return n->pid > 0 && n->spec->argv ? n->spec->argv[0] : NULL;
}

/* A running process has used 1.25 s of user and 0.03 s of system time. */
int manager_node_cpu_usec(const Node *n, uint64_t *ret_user, uint64_t *ret_system) {
        if (!manager_node_peer(n))
                return -ESRCH;
        *ret_user = 1250000;
        *ret_system = 30000;
        return 0;
}

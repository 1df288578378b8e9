/* SPDX-License-Identifier: MIT */
/* The plan's "allocation failure" case, in C: the router, its mailboxes, the registry and the
 * broker, driven through real sockets by five fake workers, with the Nth allocation failing for
 * every N until an operation runs through without one. After each run: every worker the failure
 * did not concern is still routable and callable, the one it concerned got its answer or was
 * given up (RouterOps.lost: its mailbox closed, for a restart), and nothing leaks (the sanitizer
 * build's LeakSanitizer). The allocator hook is this file's malloc/calloc/realloc/strdup/strndup,
 * which forward to the next definition (libc's, or the sanitizer's), armed only around the
 * operation under test. */
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "log.h"
#include "macro.h"
#include "proto.h"
#include "registry.h"
#include "router.h"
#include "tests.h"

/* ---- the allocator hook ------------------------------------------------------------------ */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* dlsym() may allocate before the real functions are known: that comes from here. */
static _Alignas(16) char boot[4096];
static size_t boot_used;

static bool armed;
static unsigned long n_allocs, fail_at, n_failed;

static void hook_init(void) {
        static bool busy;
        if (real_malloc || busy)
                return;
        busy = true;
        real_calloc = dlsym(RTLD_NEXT, "calloc");
        real_realloc = dlsym(RTLD_NEXT, "realloc");
        real_free = dlsym(RTLD_NEXT, "free");
        real_malloc = dlsym(RTLD_NEXT, "malloc");
        busy = false;
}

static void *boot_alloc(size_t n) {
        n = (n + 15) & ~(size_t) 15;
        if (boot_used + n > sizeof boot)
                return NULL;
        void *p = boot + boot_used;
        boot_used += n;
        return p;
}

static bool in_boot(const void *p) {
        return (const char *) p >= boot && (const char *) p < boot + sizeof boot;
}

/* The allocation to fail: the fail_at'th since arming. */
static bool inject(void) {
        if (!armed || ++n_allocs != fail_at)
                return false;
        n_failed++;
        errno = ENOMEM;
        return true;
}

void *malloc(size_t n) {
        hook_init();
        if (!real_malloc)
                return boot_alloc(n);
        return inject() ? NULL : real_malloc(n);
}

void *calloc(size_t n, size_t size) {
        hook_init();
        if (!real_calloc)
                return size && n > SIZE_MAX / size ? NULL : boot_alloc(n * size); /* boot is zeroed */
        return inject() ? NULL : real_calloc(n, size);
}

void *realloc(void *p, size_t n) {
        hook_init();
        if (in_boot(p) || !real_realloc)
                return NULL;
        return inject() ? NULL : real_realloc(p, n);
}

void free(void *p) {
        if (!p || in_boot(p))
                return;
        hook_init();
        real_free(p);
}

char *strdup(const char *s) {
        size_t n = strlen(s) + 1;
        char *c = malloc(n);
        return c ? memcpy(c, s, n) : NULL;
}

char *strndup(const char *s, size_t max) {
        size_t n = strnlen(s, max);
        char *c = malloc(n + 1);
        if (!c)
                return NULL;
        memcpy(c, s, n);
        c[n] = '\0';
        return c;
}

/* The node's "Out of memory: ..." warnings are what it should say; FV_ALLOC_VERBOSE=1 shows
 * them, and how many allocations each test failed in turn. */
__attribute__((constructor)) static void quiet(void) {
        if (!getenv("FV_ALLOC_VERBOSE"))
                log_set_max_level(LOG_ERR);
}

/* ---- a node with five workers ------------------------------------------------------------ */

#define N_WORKERS 5
#define MAX_PEERS (N_WORKERS + 1)

typedef struct World {
        sd_event *event;
        Registry *registry;
        Router *router;
        ProcIndex procs;
        Proc *proc[MAX_PEERS];
        Peer *peer[MAX_PEERS];
        int fd[MAX_PEERS];         /* the worker's end of its mailbox */
        int idx[MAX_PEERS];        /* owners handed to the router: &idx[i] */
        bool lost[MAX_PEERS];      /* RouterOps.lost said so: its mailbox is closed */
        unsigned n_broken;
        int outside_status;        /* an outside call's answer: -1 none yet, 0 reply, 1 error */
} World;

static void on_ready(void *ud, void *owner) {
}

static void on_broken(void *ud, void *owner, const char *why) {
        ((World *) ud)->n_broken++;
}

static void on_lost(void *ud, void *owner, const char *what) {
        ((World *) ud)->lost[*(int *) owner] = true;
}

static const RouterOps ops = { .ready = on_ready, .broken = on_broken, .lost = on_lost };

static pid_t pid_of(int i) {
        return 1000 + i;
}

/* Attaches worker i as "w<i>"; -errno as router_attach() says (its end is closed then). */
static int attach(World *w, int i) {
        int sv[2];
        char name[16];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        snprintf(name, sizeof name, "w%d", i);
        w->idx[i] = i;
        int r = proc_new(&w->procs, pid_of(i), NULL, &w->proc[i]);
        if (r < 0)
                close(sv[1]);
        else
                r = router_attach(w->router, w->proc[i], name, NULL, sv[1], 1024, &w->idx[i], &w->peer[i]);
        if (r < 0) {
                close(sv[0]);
                w->peer[i] = NULL;
                w->proc[i] = proc_release(&w->procs, w->proc[i]);
                return r;
        }
        w->fd[i] = sv[0];
        return 0;
}

static int world_new(World *w) {
        *w = (World) { .outside_status = -1 };
        for (int i = 0; i < MAX_PEERS; i++)
                w->fd[i] = -1;
        int r = sd_event_new(&w->event);
        if (r >= 0)
                r = registry_new(64, &w->registry);
        if (r >= 0)
                r = router_new(w->event, w->registry, &w->procs, &ops, w, &w->router);
        for (int i = 0; r >= 0 && i < N_WORKERS; i++)
                r = attach(w, i);
        return r;
}

static void world_free(World *w) {
        for (int i = 0; i < MAX_PEERS; i++) {
                router_detach(w->router, w->peer[i], "shutdown");
                proc_release(&w->procs, w->proc[i]);
                if (w->fd[i] >= 0)
                        close(w->fd[i]);
        }
        router_free(w->router);
        proc_index_done(&w->procs);
        registry_free(w->registry);
        sd_event_unref(w->event);
}

static int on_kick(sd_event_source *s, void *ud) {
        return 0;
}

/* Runs the loop until it has nothing left to do now. A deferred no-op first, as a control
 * request would be in the node: the router flushes from a post source, which runs after any
 * other dispatch. (Made unarmed: the test's own allocation.) */
static void pump(World *w) {
        bool was = armed;
        armed = false;
        int r = sd_event_add_defer(w->event, NULL, on_kick, NULL);
        assert(r >= 0);
        armed = was;
        for (int idle = 0, k = 0; idle < 2 && k < 1000; k++)
                idle = sd_event_run(w->event, 0) > 0 ? 0 : idle + 1;
}

static void send_frame(World *w, int i, const Frame *f) {
        static char buf[PROTO_FRAME_MAX];
        int n = proto_encode(f, buf, sizeof buf);
        assert(n > 0);
        (void) send(w->fd[i], buf, (size_t) n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The next frame worker i has (one per record: no worker here asked for batches); false when
 * none waits. */
static bool recv_frame(World *w, int i, Frame *f) {
        static char buf[PROTO_RECORD_MAX];
        ssize_t n = recv(w->fd[i], buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
                return false;
        size_t used;
        return proto_decode(buf, (size_t) n, f, &used) >= 0;
}

/* Reads what worker i has: how many frames of kind came (and the last one's ref in *ref). */
static unsigned drain(World *w, int i, uint8_t kind, uint64_t *ref) {
        unsigned n = 0;
        Frame f;
        while (recv_frame(w, i, &f))
                if (f.kind == kind || (kind == PROTO_REPLY && f.kind == PROTO_ERROR)) {
                        n++;
                        if (ref)
                                *ref = f.ref;
                }
        return n;
}

static void target(Frame *f, const char *t) {
        f->target = t;
        f->target_len = strlen(t);
}

/* Worker a calls worker b, which answers: a gets exactly one answer (REPLY or ERROR). */
static unsigned call_between(World *w, int a, int b) {
        char name[16];
        snprintf(name, sizeof name, "w%d", b);
        Frame call = { .kind = PROTO_CALL, .ref = 77, .payload = "ping", .payload_len = 4 };
        target(&call, name);
        send_frame(w, a, &call);
        pump(w);
        Frame f;
        while (recv_frame(w, b, &f))
                if (f.kind == PROTO_CALL) {
                        Frame reply = { .kind = PROTO_REPLY, .ref = f.ref, .payload = "pong", .payload_len = 4 };
                        send_frame(w, b, &reply);
                }
        pump(w);
        uint64_t ref = 0;
        unsigned n = drain(w, a, PROTO_REPLY, &ref);
        return n == 1 && ref == 77 ? 1 : n + 100;
}

/* ---- the operations under test ------------------------------------------------------------ */

/* Each runs armed and returns the workers it concerns (a bit each), whose state it may change:
 * the others must come out of it as they went in. *owed tells whether a concerned worker got
 * what it was owed (an answer, a DOWN), unless it was given up. */
typedef unsigned (*Operation)(World *w, bool *owed);

static unsigned op_call(World *w, bool *owed) {
        *owed = call_between(w, 0, 1) == 1 || w->lost[0];
        return 1u << 0 | 1u << 1;
}

static unsigned op_register(World *w, bool *owed) {
        Frame f = { .kind = PROTO_REGISTER, .ref = 5 };
        target(&f, "extra");
        send_frame(w, 0, &f);
        pump(w);
        *owed = drain(w, 0, PROTO_REPLY, NULL) == 1 || w->lost[0];
        /* Registered or not: the registry and the router agree. */
        RegistryEntry e;
        if (registry_lookup(registry_view(w->registry), "extra", &e) > 0)
                *owed = *owed && e.pid == pid_of(0);
        return 1u << 0;
}

static unsigned op_subscribe_publish(World *w, bool *owed) {
        Frame sub = { .kind = PROTO_SUBSCRIBE, .ref = 6 };
        target(&sub, "news");
        send_frame(w, 2, &sub);
        pump(w);
        *owed = drain(w, 2, PROTO_REPLY, NULL) == 1 || w->lost[2];
        Frame pub = { .kind = PROTO_PUBLISH, .payload = "hello", .payload_len = 5 };
        target(&pub, "news");
        send_frame(w, 3, &pub);
        pump(w);
        (void) drain(w, 2, PROTO_INFO, NULL); /* or counted as dropped, or logged as lost */
        return 1u << 2 | 1u << 3;
}

static unsigned op_monitor_exit(World *w, bool *owed) {
        Frame mon = { .kind = PROTO_MONITOR };
        target(&mon, "w4");
        send_frame(w, 0, &mon);
        pump(w);
        /* w4 terminates: its names go, calls to it fail, monitors fire. */
        router_detach(w->router, w->peer[4], "killed");
        w->peer[4] = NULL;
        w->proc[4] = proc_release(&w->procs, w->proc[4]);
        pump(w);
        *owed = drain(w, 0, PROTO_DOWN, NULL) == 1 || w->lost[0];
        return 1u << 0 | 1u << 4;
}

static void on_outside_answer(void *ud, int status, const void *data, size_t len) {
        ((World *) ud)->outside_status = status;
}

static unsigned op_outside_call(World *w, bool *owed) {
        uint64_t ref;
        int r = router_call(w->router, PROTO_CALL, "w2", "q", 1, 0, on_outside_answer, w, &ref);
        pump(w);
        Frame f;
        while (recv_frame(w, 2, &f))
                if (f.kind == PROTO_CALL) {
                        Frame reply = { .kind = PROTO_REPLY, .ref = f.ref, .payload = "a", .payload_len = 1 };
                        send_frame(w, 2, &reply);
                }
        pump(w);
        /* Refused at once, or answered exactly once. */
        *owed = r < 0 || w->outside_status >= 0;
        return 1u << 2;
}

static unsigned op_attach(World *w, bool *owed) {
        int r = attach(w, N_WORKERS);
        RegistryEntry e;
        bool named = registry_lookup(registry_view(w->registry), "w5", &e) > 0;
        /* Attached with its name, or not at all. */
        *owed = r >= 0 ? named : !named && router_cast(w->router, "1005", "x", 1) == -ESRCH;
        return 1u << N_WORKERS;
}

static unsigned op_cast(World *w, bool *owed) {
        Frame f = { .kind = PROTO_CAST, .payload = "c", .payload_len = 1 };
        target(&f, "w1");
        send_frame(w, 0, &f);
        pump(w);
        (void) drain(w, 1, PROTO_CAST, NULL); /* delivered, or counted as dropped */
        *owed = true;
        return 1u << 0 | 1u << 1;
}

/* A record whose delivery takes more than one wake-up's work: 1900 publications, each fanned
 * out to ten outside subscribers. What is left of it waits in a copy, which may not be made: then
 * its sender is given up (RouterOps.lost), not called broken. */
#define STREAMS 10
static unsigned op_long_record(World *w, bool *owed) {
        static char rec[PROTO_RECORD_MAX];
        int ends[STREAMS];
        char *patterns[] = { "t", NULL };
        armed = false; /* the subscribers are the setting, not the operation */
        for (int i = 0; i < STREAMS; i++) {
                int sv[2];
                int r = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
                assert(r == 0);
                r = router_stream_open(w->router, sv[1], patterns, 100000);
                assert(r >= 0);
                ends[i] = sv[0];
        }
        size_t len = 0;
        unsigned frames = 0;
        Frame f = { .kind = PROTO_PUBLISH };
        target(&f, "t");
        while (frames < 1900) {
                int n = proto_encode(&f, rec + len, sizeof rec - len);
                assert(n > 0);
                len += (size_t) n;
                frames++;
        }
        armed = true;
        (void) send(w->fd[0], rec, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        pump(w);
        armed = false;
        for (int i = 0; i < STREAMS; i++)
                close(ends[i]);
        pump(w); /* the subscribers that went away are freed */
        armed = true;
        *owed = true;
        return 1u << 0;
}

/* ---- the sweep ---------------------------------------------------------------------------- */

/* Every worker outside `concerned` still works: a cast reaches it, a call between two of them
 * comes back; the registry still has its name. */
static bool others_intact(World *w, unsigned concerned, int *bad) {
        int healthy[N_WORKERS], n = 0;
        for (int i = 0; i < N_WORKERS; i++) {
                if (concerned & (1u << i))
                        continue;
                char name[16];
                RegistryEntry e;
                snprintf(name, sizeof name, "w%d", i);
                *bad = i;
                if (w->lost[i] || registry_lookup(registry_view(w->registry), name, &e) <= 0 || e.pid != pid_of(i))
                        return false;
                if (router_cast(w->router, name, "k", 1) < 0)
                        return false;
                pump(w);
                if (drain(w, i, PROTO_CAST, NULL) != 1)
                        return false;
                healthy[n++] = i;
        }
        for (int k = 0; k + 1 < n; k++) {
                *bad = healthy[k];
                if (call_between(w, healthy[k], healthy[k + 1]) != 1)
                        return false;
        }
        return true;
}

static unsigned long sweep(const char *name, Operation op, int *failed_) {
        unsigned long n;
        for (n = 1; n < 5000; n++) {
                World w;
                int r = world_new(&w);
                if (r < 0) {
                        fprintf(stderr, "  %s: setting up failed: %s\n", name, strerror(-r));
                        *failed_ = 1;
                        world_free(&w);
                        return n;
                }
                bool owed = false;
                n_allocs = 0;
                fail_at = n;
                n_failed = 0;
                armed = true;
                unsigned concerned = op(&w, &owed);
                armed = false;
                bool injected = n_failed > 0;
                int bad = -1;
                if (!owed) {
                        fprintf(stderr, "  %s: failing allocation %lu: a worker it concerns was owed something and got nothing\n",
                                name, n);
                        *failed_ = 1;
                } else if (!others_intact(&w, concerned, &bad)) {
                        fprintf(stderr, "  %s: failing allocation %lu: worker w%d is no longer intact\n", name, n, bad);
                        *failed_ = 1;
                } else if (w.n_broken > 0) {
                        fprintf(stderr, "  %s: failing allocation %lu: a worker was called broken for it\n", name, n);
                        *failed_ = 1;
                }
                world_free(&w);
                if (*failed_ || !injected)
                        break;
        }
        return n;
}

#define SWEEP(op)                                                                               \
        TEST(op) {                                                                              \
                unsigned long n = sweep(#op, op, failed_);                                      \
                if (getenv("FV_ALLOC_VERBOSE"))                                                 \
                        fprintf(stderr, "  %s: failed allocation 1 to %lu in turn\n", #op, n - 1); \
                /* The operation allocates at all, so the sweep tried something. */             \
                ASSERT_TRUE(n > 1);                                                             \
        }

SWEEP(op_call)
SWEEP(op_long_record)
SWEEP(op_register)
SWEEP(op_subscribe_publish)
SWEEP(op_monitor_exit)
SWEEP(op_outside_call)
SWEEP(op_attach)
SWEEP(op_cast)

/* ---- configuration ------------------------------------------------------------------------- */

#include "config.h"

/* Loads TEXT with the 1st, the 2nd, ... allocation failing, until a load runs through without
 * one; CHECK judges each load (injected: an allocation did fail). Returns how many loads that
 * took. */
typedef void (*ConfigCheck)(int *failed_, int r, const Config *c, const Diagnostics *d, bool injected);

static unsigned long config_load_sweep(int *failed_, const char *text, ConfigCheck check) {
        unsigned long n;
        for (n = 1; n < 5000 && !*failed_; n++) {
                Config *c = NULL;
                Diagnostics d = {};
                n_allocs = 0;
                fail_at = n;
                n_failed = 0;
                armed = true;
                int r = config_load_string(text, "t.ini", &c, &d);
                armed = false;
                bool injected = n_failed > 0;
                check(failed_, r, c, &d, injected);
                config_free(c);
                diagnostics_done(&d);
                if (!injected)
                        break;
        }
        return n;
}

/* Loading a configuration with the Nth allocation failing, for every N: it loads, or it fails
 * with -ENOMEM, never crashes (a section whose name could not be copied was once compared as a
 * NULL string) and leaks nothing. */
static void check_valid(int *failed_, int r, const Config *c, const Diagnostics *d, bool injected) {
        if (injected && r != -ENOMEM && r < 0)
                fprintf(stderr, "  failing allocation %lu: %d\n", fail_at, r);
        ASSERT_TRUE(r >= 0 || (injected && r == -ENOMEM));
        ASSERT_TRUE(r < 0 || (c && c->n_sections == 5));
}

TEST(config_load) {
        static const char text[] =
                "[supervisor:app]\nchildren = a, b,\n  sub\n"
                "[worker:a]\nexec = /bin/true x\nregister = +grp\n"
                "[worker:b]\nexec = /bin/true\nenvironment = A=1 B=2\nsubscribe = news.*\n"
                "[supervisor:sub]\nstrategy = one_for_all\nchildren = c\n"
                "[worker:c]\nexec = /bin/true\nregister = +grp\n";
        unsigned long n = config_load_sweep(failed_, text, check_valid);
        if (getenv("FV_ALLOC_VERBOSE"))
                fprintf(stderr, "  config_load: failed allocation 1 to %lu in turn\n", n - 1);
        ASSERT_TRUE(n > 10);
}

/* The same for a configuration full of mistakes: every diagnostic (did-you-mean over keys,
 * values and section names, a cycle, a registry name given twice) fails or is kept whole, and
 * the load answers -EINVAL, or -ENOMEM when an allocation failed. */
static void check_invalid(int *failed_, int r, const Config *c, const Diagnostics *d, bool injected) {
        ASSERT_TRUE(r == -EINVAL || (injected && r == -ENOMEM));
        ASSERT_TRUE(c == NULL);
        ASSERT_TRUE(injected || d->n == 8);
}

TEST(config_load_diagnostics) {
        static const char text[] =
                "[supervisor:app]\nchildren = a, b, ghst\nstrategy = one_for_al\n"
                "[worker:a]\nexec = /bin/true\nregister = dup\nrestrat = permanent\n"
                "[worker:b]\nexec = /bin/true\nregister = dup\nready = mailbx\n"
                "[supervisor:sub]\nchildren = loop\n[supervisor:loop]\nchildren = sub\n"
                "[worker:ghost]\n";
        ASSERT_TRUE(config_load_sweep(failed_, text, check_invalid) > 10);
}

/* ---- the control socket --------------------------------------------------------------------- */

#include <sys/un.h>

#include "control.h"
#include "ctlproto.h"

#define CONTROL_LINES 200

static void on_control_request(void *ud, ControlRequest *req, int argc, char **argv) {
        /* A long answer, as `status` gives for a big tree: many reallocations of the queue. */
        for (int i = 0; i < CONTROL_LINES; i++)
                control_reply_printf(req, "line %d of the answer\n", i);
        control_reply_finish(req, 0);
}

/* A request answered with the Nth allocation failing, for every N: the client gets the whole
 * answer and status 0, or an answer that ends with an error and a status other than 0, or no
 * status at all (which it reports): never part of an answer passed off as the whole. */
TEST(control_answer) {
        char dir[] = "/tmp/fv-alloc-XXXXXX", path[128];
        ASSERT_TRUE(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/control.sock", dir);
        unsigned long n;
        for (n = 1; n < 5000; n++) {
                sd_event *e;
                ControlServer *s;
                ASSERT_OK(sd_event_new(&e));
                ASSERT_OK(control_server_new(e, path, on_control_request, NULL, &s));
                int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                ASSERT_TRUE(strlen(path) < sizeof sa.sun_path);
                memcpy(sa.sun_path, path, strlen(path) + 1);
                ASSERT_TRUE(fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0);
                char buf[CTL_PACKET_MAX + 1];
                char *argv[] = { "status", NULL };
                int len = ctl_encode_request(argv, NULL, buf, sizeof buf);
                ASSERT_TRUE(len > 0 && send(fd, buf, (size_t) len, 0) == len);

                n_allocs = 0;
                fail_at = n;
                n_failed = 0;
                armed = true;
                for (int idle = 0, k = 0; idle < 2 && k < 1000; k++)
                        idle = sd_event_run(e, 0) > 0 ? 0 : idle + 1;
                armed = false;
                bool injected = n_failed > 0;

                size_t out = 0;
                int status = -1;
                bool error = false;
                ssize_t m;
                while ((m = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                        if (buf[0] == CTL_OUT)
                                out += (size_t) m - 1;
                        else if (buf[0] == CTL_ERR)
                                error = true;
                        else if (buf[0] == CTL_EXIT)
                                status = (unsigned char) buf[1];
                }
                size_t whole = 0;
                for (int i = 0; i < CONTROL_LINES; i++)
                        whole += (size_t) snprintf(NULL, 0, "line %d of the answer\n", i);
                if (status == 0 && (out != whole || error))
                        fprintf(stderr, "  failing allocation %lu: status 0 with %zu of %zu bytes\n", n, out, whole);
                ASSERT_TRUE(status != 0 || (out == whole && !error));
                ASSERT_TRUE(status <= 0 || error);
                ASSERT_TRUE(injected || status == 0);
                close(fd);
                control_server_free(s);
                sd_event_unref(e);
                if (!injected)
                        break;
        }
        unlink(path);
        rmdir(dir);
        if (getenv("FV_ALLOC_VERBOSE"))
                fprintf(stderr, "  control_answer: failed allocation 1 to %lu in turn\n", n - 1);
        ASSERT_TRUE(n > 5);
}

/* ---- a child's output ------------------------------------------------------------------------ */

#include <fcntl.h>

#include "output.h"

/* A child's line that arrives in two pieces, relayed with the Nth allocation failing: all of
 * its text reaches the log (in one line, or split in two), none of it is lost. */
TEST(output_relay) {
        char log_path[] = "/tmp/fv-alloc-log-XXXXXX";
        int log_fd = mkstemp(log_path);
        ASSERT_TRUE(log_fd >= 0);
        int saved_stderr = dup(STDERR_FILENO);
        unsigned long n;
        bool whole = true;
        for (n = 1; n < 1000 && whole; n++) {
                sd_event *e;
                OutputPipe *o;
                pid_t pid = 4242;
                ASSERT_OK(sd_event_new(&e));
                ASSERT_OK(output_pipe_new(e, "app/w", &pid, &o));
                ASSERT_OK(ftruncate(log_fd, 0));
                ASSERT_TRUE(lseek(log_fd, 0, SEEK_SET) == 0);
                dup2(log_fd, STDERR_FILENO);

                n_allocs = 0;
                fail_at = n;
                n_failed = 0;
                armed = true;
                (void) !write(output_pipe_fd(o), "first half ", 11);
                for (int idle = 0, k = 0; idle < 2 && k < 100; k++)
                        idle = sd_event_run(e, 0) > 0 ? 0 : idle + 1;
                (void) !write(output_pipe_fd(o), "second half\n", 12);
                for (int idle = 0, k = 0; idle < 2 && k < 100; k++)
                        idle = sd_event_run(e, 0) > 0 ? 0 : idle + 1;
                armed = false;
                dup2(saved_stderr, STDERR_FILENO);
                bool injected = n_failed > 0;

                char buf[4096];
                ssize_t m = pread(log_fd, buf, sizeof buf - 1, 0);
                buf[m > 0 ? m : 0] = '\0';
                whole = (strstr(buf, "app/w: first half second half\n") ||
                         (strstr(buf, "app/w: first half \n") && strstr(buf, "app/w: second half\n")));
                if (!whole)
                        fprintf(stderr, "  failing allocation %lu: the log has \"%s\"\n", n, buf);
                output_pipe_free(o);
                sd_event_unref(e);
                if (!injected)
                        break;
        }
        close(saved_stderr);
        close(log_fd);
        unlink(log_path);
        ASSERT_TRUE(whole);
        ASSERT_TRUE(n > 1);
}

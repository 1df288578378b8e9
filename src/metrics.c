/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "inspect.h"
#include "log.h"
#include "macro.h"
#include "metrics-text.h"
#include "priority.h"
#include "time-util.h"

/* The kinds of failure of the file that are logged, each once while it lasts. */
#define METRICS_LOGGED_MAX 8

typedef enum FileStage {
        STAGE_RENDER,
        STAGE_OPEN,
        STAGE_WRITE,
        STAGE_RENAME,
        STAGE_NOT_FILE,
} FileStage;

static const char *const stage_words[] = {
        [STAGE_RENDER] = "render",
        [STAGE_OPEN] = "create",
        [STAGE_WRITE] = "write",
        [STAGE_RENAME] = "rename into place",
        [STAGE_NOT_FILE] = "replace what is no regular file at",
};

typedef struct LoggedFailure {
        FileStage stage;
        int err;
} LoggedFailure;

struct Metrics {
        Manager *manager;          /* borrowed */
        sd_event_source *timer;
        bool failed_start;         /* the timer could not be armed: said once */
        uint64_t writes, errors;   /* of metrics_file, for the figures themselves */
        LoggedFailure logged[METRICS_LOGGED_MAX];
        size_t n_logged;
};

/* ---- the figures ---------------------------------------------------------------------------- */

static const char *node_kind(const Node *n) {
        return node_is_supervisor(n) ? "supervisor" : "worker";
}

/* Which figure of a mailbox a family shows. */
typedef enum MailboxFigure {
        FIG_DEPTH,
        FIG_LIMIT,
        FIG_IN,
        FIG_OUT,
        FIG_DROPPED,
        FIG_PUBLICATIONS_DROPPED,
} MailboxFigure;

/* One family over the tree: its HELP and TYPE once, then a row's samples for each node. */
typedef struct Walk {
        const MetricsWriter *w;
        const char *name;
        MailboxFigure fig;
        usec_t now;
        unsigned counts[2][_NODE_STATE_MAX]; /* forkvisor_children: [supervisor?][state] */
} Walk;

static void row_state(Node *n, unsigned depth, void *ud) {
        Walk *x = ud;
        for (NodeState s = 0; s < _NODE_STATE_MAX; s++)
                metrics_sample_u64(x->w, x->name,
                                   (const char *const[]) { "path", n->path, "kind", node_kind(n), "state",
                                                           node_state_to_string(s), NULL },
                                   n->state == s);
        x->counts[node_is_supervisor(n)][n->state]++;
}

static void row_restarts(Node *n, unsigned depth, void *ud) {
        Walk *x = ud;
        metrics_sample_u64(x->w, x->name, (const char *const[]) { "path", n->path, "kind", node_kind(n), NULL },
                           n->restarts);
}

static void row_uptime(Node *n, unsigned depth, void *ud) {
        Walk *x = ud;
        double up = inspect_has_uptime(n) ? (double) (x->now - n->started_at) / USEC_PER_SEC : 0;
        metrics_sample_double(x->w, x->name, (const char *const[]) { "path", n->path, "kind", node_kind(n), NULL },
                              up);
}

/* Only the reasons it has exited for: a worker that never crashed has no crash series. */
static void row_exits(Node *n, unsigned depth, void *ud) {
        Walk *x = ud;
        for (NodeReason r = 0; r < _NODE_REASON_MAX; r++)
                if (n->exits[r] > 0 && node_reason_to_string(r))
                        metrics_sample_u64(x->w, x->name,
                                           (const char *const[]) { "path", n->path, "kind", node_kind(n), "reason",
                                                                   node_reason_to_string(r), NULL },
                                           n->exits[r]);
}

/* A worker's mailbox, while it has one (a running process): the figure x->fig. */
static void row_mailbox(Node *n, unsigned depth, void *ud) {
        Walk *x = ud;
        Peer *p = node_is_supervisor(n) ? NULL : manager_node_peer(n);
        MailboxStats st;
        if (!p)
                return;
        peer_get_stats(p, &st);
        uint64_t v = x->fig == FIG_DEPTH     ? st.depth
                     : x->fig == FIG_LIMIT   ? n->spec->mailbox_limit
                     : x->fig == FIG_IN      ? st.in
                     : x->fig == FIG_OUT     ? st.out
                     : x->fig == FIG_DROPPED ? st.dropped
                                             : peer_publications_dropped(p);
        metrics_sample_u64(x->w, x->name, (const char *const[]) { "path", n->path, "kind", node_kind(n), NULL }, v);
}

static const struct {
        MailboxFigure fig;
        const char *name;
        MetricsType type;
        const char *help;
} mailbox_families[] = {
        { FIG_DEPTH, "forkvisor_child_mailbox_depth", METRICS_GAUGE,
          "Messages queued for the worker that it has not read yet." },
        { FIG_LIMIT, "forkvisor_child_mailbox_limit", METRICS_GAUGE, "The worker's mailbox_limit." },
        { FIG_IN, "forkvisor_child_messages_in_total", METRICS_COUNTER,
          "Messages the worker's current process sent to the node." },
        { FIG_OUT, "forkvisor_child_messages_out_total", METRICS_COUNTER,
          "Messages the node delivered to the worker's current process." },
        { FIG_DROPPED, "forkvisor_child_messages_dropped_total", METRICS_COUNTER,
          "Messages for the worker's current process lost at its full mailbox." },
        { FIG_PUBLICATIONS_DROPPED, "forkvisor_child_publications_dropped_total", METRICS_COUNTER,
          "Publications for the worker's current process lost at its full mailbox." },
};

static void row_memory(Node *n, unsigned depth, void *ud) {
        Walk *x = ud;
        long kb = !node_is_supervisor(n) && n->pid > 0 ? inspect_rss_kb(n->pid) : -1;
        if (kb >= 0)
                metrics_sample_u64(x->w, x->name, (const char *const[]) { "path", n->path, "kind", node_kind(n), NULL },
                                   (uint64_t) kb * 1024);
}

/* Since the worker's current process started (its cgroup's figures, else /proc), like
 * node_exporter's per-process counters: a restart resets it, which rate() takes in its stride. */
static void row_cpu(Node *n, unsigned depth, void *ud) {
        Walk *x = ud;
        uint64_t user, sys;

        if (node_is_supervisor(n) || manager_node_cpu_usec(n, &user, &sys) < 0)
                return;
        metrics_sample_double(x->w, x->name,
                              (const char *const[]) { "path", n->path, "kind", node_kind(n), "mode", "user", NULL },
                              (double) user / 1e6);
        metrics_sample_double(x->w, x->name,
                              (const char *const[]) { "path", n->path, "kind", node_kind(n), "mode", "system", NULL },
                              (double) sys / 1e6);
}

static void family(Walk *x, Node *root, const char *name, MetricsType type, const char *help,
                   void (*row)(Node *n, unsigned depth, void *ud)) {
        metrics_family(x->w, name, type, help);
        x->name = name;
        tree_walk(root, row, x);
}

static void single(const MetricsWriter *w, const char *name, MetricsType type, const char *help, uint64_t v) {
        metrics_family(w, name, type, help);
        metrics_sample_u64(w, name, NULL, v);
}

static void render(Metrics *x, const MetricsWriter *w) {
        Manager *m = x->manager;
        Node *root = manager_tree(m)->root;
        Walk k = { .w = w, .now = now_usec() };

        family(&k, root, "forkvisor_child_state", METRICS_GAUGE,
               "1 for the state the process is in, 0 for the others.", row_state);
        family(&k, root, "forkvisor_child_restarts_total", METRICS_COUNTER,
               "Restarts of the process since the node started.", row_restarts);
        family(&k, root, "forkvisor_child_uptime_seconds", METRICS_GAUGE,
               "Time since the process was started; 0 while it is down.", row_uptime);
        family(&k, root, "forkvisor_child_exits_total", METRICS_COUNTER,
               "Exits of the worker's processes, by the reason of the exited event.", row_exits);
        for (size_t i = 0; i < ELEMENTSOF(mailbox_families); i++) {
                k.fig = mailbox_families[i].fig;
                family(&k, root, mailbox_families[i].name, mailbox_families[i].type, mailbox_families[i].help,
                       row_mailbox);
        }
        family(&k, root, "forkvisor_child_memory_bytes", METRICS_GAUGE,
               "Resident memory of the worker's process.", row_memory);
        family(&k, root, "forkvisor_child_cpu_seconds_total", METRICS_COUNTER,
               "CPU time of the worker's current process and its children, by mode (user, system).", row_cpu);

        metrics_family(w, "forkvisor_children", METRICS_GAUGE, "Processes of the tree in each state.");
        for (int sup = 0; sup < 2; sup++)
                for (NodeState s = 0; s < _NODE_STATE_MAX; s++)
                        metrics_sample_u64(w, "forkvisor_children",
                                           (const char *const[]) { "kind", sup ? "supervisor" : "worker", "state",
                                                                   node_state_to_string(s), NULL },
                                           k.counts[sup][s]);

        RouterStats rs;
        router_get_stats(manager_router(m), &rs);
        single(w, "forkvisor_messages_in_total", METRICS_COUNTER,
               "Messages read from every mailbox since the node started.", rs.in);
        single(w, "forkvisor_messages_out_total", METRICS_COUNTER,
               "Messages delivered to every mailbox since the node started.", rs.out);
        single(w, "forkvisor_messages_dropped_total", METRICS_COUNTER,
               "Messages lost at full mailboxes since the node started.", rs.dropped);
        single(w, "forkvisor_publications_total", METRICS_COUNTER, "Publications made on the node.", rs.published);
        single(w, "forkvisor_events_total", METRICS_COUNTER, "Lifecycle events numbered so far.",
               event_log_newest(events_log(manager_events(m))));
        single(w, "forkvisor_control_connections", METRICS_GAUGE, "Control connections open (a `forkvisor metrics` counts its own).",
               manager_control_connections(m));
        single(w, "forkvisor_metrics_file_writes_total", METRICS_COUNTER, "Times metrics_file was written.",
               x->writes);
        single(w, "forkvisor_metrics_file_errors_total", METRICS_COUNTER,
               "Times metrics_file could not be written.", x->errors);
}

static void reply_write(void *ud, const char *p, size_t n) {
        control_reply_append(ud, p, n);
}

void metrics_reply(Metrics *x, ControlRequest *req) {
        render(x, &(MetricsWriter) { reply_write, req });
}

/* ---- metrics_file ----------------------------------------------------------------------------- */

typedef struct Buf {
        char *data;
        size_t len, cap;
        bool oom;
} Buf;

static void buf_write(void *ud, const char *p, size_t n) {
        Buf *b = ud;
        if (b->oom || ARRAY_GROW(b->data, b->cap, b->len + n) < 0) {
                b->oom = true;
                return;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

/* A failure logged once per kind (stage and errno) until a write succeeds again; always
 * counted. */
static void file_failed(Metrics *x, const char *path, FileStage stage, int err) {
        x->errors++;
        for (size_t i = 0; i < x->n_logged; i++)
                if (x->logged[i].stage == stage && x->logged[i].err == err)
                        return;
        if (x->n_logged < METRICS_LOGGED_MAX)
                x->logged[x->n_logged++] = (LoggedFailure) { stage, err };
        log_warning_errno(err, "Cannot %s metrics_file %s: %m (tried again every interval; said once)",
                          stage_words[stage], path);
}

/* Writes data to PATH.tmp in the same directory and renames it over path: a reader (the
 * textfile collector) sees the old file or the new one, never a part. No fsync: the file is
 * rewritten every interval, and a crash loses nothing that matters. */
static int file_replace(const char *path, const char *data, size_t len, FileStage *stage) {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        *stage = STAGE_OPEN;
        /* O_NONBLOCK: a FIFO found there fails instead of holding up the loop. */
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK,
                                   0644);
        if (fd < 0)
                return -errno;
        *stage = STAGE_WRITE;
        for (size_t off = 0; off < len;) {
                ssize_t n = write(fd, data + off, len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int e = n < 0 ? errno : EIO;
                        (void) unlink(tmp);
                        return -e;
                }
                off += (size_t) n;
        }
        if (close(TAKE_FD(fd)) < 0) {
                int e = errno;
                (void) unlink(tmp);
                return -e;
        }
        /* Only a file is replaced: a socket there (the node's own control socket, given as
         * metrics_file by mistake) or a directory is someone's, and stays. */
        struct stat st;
        if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                *stage = STAGE_NOT_FILE;
                (void) unlink(tmp);
                return -EEXIST;
        }
        *stage = STAGE_RENAME;
        if (rename(tmp, path) < 0) {
                int e = errno;
                (void) unlink(tmp);
                return -e;
        }
        return 0;
}

static void file_write(Metrics *x, const char *path) {
        _cleanup_free_ char *data = NULL;
        Buf b = {};
        FileStage stage = STAGE_RENDER;
        int r;

        render(x, &(MetricsWriter) { buf_write, &b });
        data = b.data;
        if (b.oom)
                r = -ENOMEM;
        else
                r = file_replace(path, data, b.len, &stage);
        if (r < 0) {
                file_failed(x, path, stage, -r);
                return;
        }
        x->writes++;
        if (x->n_logged > 0) {
                log_info("Wrote metrics_file %s again", path);
                x->n_logged = 0;
        }
}

static uint64_t interval_ms(const Config *c) {
        return c->metrics_interval_ms ?: METRICS_INTERVAL_DEFAULT_MS;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *ud) {
        Metrics *x = ud;
        const Config *c = manager_config(x->manager);
        if (c->metrics_file)
                file_write(x, c->metrics_file);
        /* Read again each time: a reload may have changed the interval. */
        (void) sd_event_source_set_time_relative(s, msec_to_usec(interval_ms(c)));
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

int metrics_new(Manager *m, Metrics **ret) {
        Metrics *x = calloc(1, sizeof *x);
        if (!x)
                return -ENOMEM;
        x->manager = m;
        *ret = x;
        return 0;
}

void metrics_start(Metrics *x) {
        if (x->timer || x->failed_start || !manager_event(x->manager))
                return;
        /* The first file at the loop's next pass, then every interval. */
        int r = sd_event_add_time_relative(manager_event(x->manager), &x->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                                           on_timer, x);
        if (r < 0) {
                x->failed_start = true;
                log_warning_errno(r, "Cannot arm the metrics_file timer: %m (no metrics_file will be written)");
                return;
        }
        /* As `forkvisor metrics`: the figures still come during a flood of messages, which is
         * when they are wanted. */
        (void) sd_event_source_set_priority(x->timer, PRIORITY_CONTROL);
}

Metrics *metrics_free(Metrics *x) {
        if (!x)
                return NULL;
        sd_event_source_disable_unref(x->timer);
        return mfree(x);
}

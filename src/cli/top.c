/* SPDX-License-Identifier: MIT */
/* `forkvisor top`: a live view of the tree, refreshed every second from `status --json`, with
 * message rates computed here from successive counters. Plain ANSI/VT100 sequences and the
 * terminal's own 8-colour palette, no curses; one snapshot, without escapes, when standard output
 * is not a terminal. It only reads: nothing here changes the tree. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "json.h"
#include "macro.h"
#include "time-util.h"

#define REFRESH_USEC USEC_PER_SEC

/* ---- a snapshot of the tree: `status --json`, parsed ---------------------------------------- */

typedef struct Row {
        char *path;               /* owned */
        char state[16];
        int pid;                  /* 0: no process */
        unsigned restarts;
        int64_t uptime_ms;        /* -1: not up */
        bool has_mailbox;         /* the node has a mailbox now (a running worker) */
        uint64_t depth, limit, in, out, dropped;
        double in_rate, out_rate; /* messages per second; < 0 when not known (yet) */
        bool dropping;            /* dropped grew since the previous snapshot */
        char health[16];          /* its health check's state, "" without one */
        uint64_t health_failures;
} Row;

/* The node's place in a cluster (status --json's "cluster"), and its remote traffic. */
typedef struct Remote {
        bool present;             /* the node has a [cluster] */
        char node[72], state[16];
        unsigned nodes, up;       /* other nodes heard, and those up */
        uint64_t msgs_in, msgs_out, dropped;
        double in_rate, out_rate; /* messages per second over NATS; < 0 when not known (yet) */
} Remote;

typedef struct Snapshot {
        Row *rows;                /* owned, in `status` order: depth first, start order */
        size_t n, cap;
        Remote remote;
        usec_t at;                /* monotonic time of the answer */
} Snapshot;

static void snapshot_done(Snapshot *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->rows[i].path);
        free(s->rows);
        *s = (Snapshot) {};
}

/* `status --json` is an object whose "processes" are an array of flat objects whose values are
 * strings, unsigned integers, null or one nested object (the mailbox's counters). Unknown keys
 * are skipped whatever their value, so fields added to `status --json` later do not break an
 * older `top`. */

static int mailbox_field(JsonReader *p, const char *key, void *ud) {
        Row *r = ud;
        uint64_t *v = strcmp(key, "depth") == 0     ? &r->depth
                      : strcmp(key, "limit") == 0   ? &r->limit
                      : strcmp(key, "in") == 0      ? &r->in
                      : strcmp(key, "out") == 0     ? &r->out
                      : strcmp(key, "dropped") == 0 ? &r->dropped
                                                    : NULL;
        return v ? json_read_uint(p, v) : json_skip(p);
}

static int health_field(JsonReader *p, const char *key, void *ud) {
        Row *r = ud;
        if (strcmp(key, "state") == 0)
                return json_read_string(p, r->health, sizeof r->health);
        if (strcmp(key, "failures") == 0)
                return json_read_uint(p, &r->health_failures);
        return json_skip(p);
}

static int row_field(JsonReader *p, const char *key, void *ud) {
        Row *r = ud;
        uint64_t v;
        int k;

        if (strcmp(key, "path") == 0) {
                char buf[4096];
                k = json_read_string(p, buf, sizeof buf);
                if (k >= 0 && (free(r->path), !(r->path = strdup(buf))))
                        return -ENOMEM;
                return k;
        }
        if (strcmp(key, "state") == 0)
                return json_read_string(p, r->state, sizeof r->state);
        if (strcmp(key, "pid") == 0 || strcmp(key, "uptime_ms") == 0 || strcmp(key, "restarts") == 0) {
                bool pid = key[0] == 'p', up = key[0] == 'u';
                if (json_read_null(p))
                        return 0;
                k = json_read_uint(p, &v);
                if (k < 0)
                        return k;
                if (pid)
                        r->pid = v <= INT32_MAX ? (int) v : 0;
                else if (up)
                        r->uptime_ms = v <= INT64_MAX ? (int64_t) v : INT64_MAX;
                else
                        r->restarts = v <= UINT32_MAX ? (unsigned) v : UINT32_MAX;
                return 0;
        }
        if (strcmp(key, "mailbox") == 0) {
                if (json_read_null(p))
                        return 0;
                r->has_mailbox = true;
                return json_read_object(p, mailbox_field, r);
        }
        if (strcmp(key, "health") == 0)
                return json_read_null(p) ? 0 : json_read_object(p, health_field, r);
        return json_skip(p);
}

static int snapshot_row(JsonReader *p, void *ud) {
        Snapshot *s = ud;
        if (ARRAY_GROW(s->rows, s->cap, s->n + 1) < 0)
                return -ENOMEM;
        Row *r = &s->rows[s->n++];
        *r = (Row) { .uptime_ms = -1, .in_rate = -1, .out_rate = -1 };
        int k = json_read_object(p, row_field, r);
        if (k < 0)
                return k;
        return r->path ? 0 : -EBADMSG;
}

static int remote_node_field(JsonReader *p, const char *key, void *ud) {
        Remote *x = ud;
        char state[16];

        if (strcmp(key, "state") != 0)
                return json_skip(p);
        int k = json_read_string(p, state, sizeof state);
        if (k >= 0)
                x->up += strcmp(state, "up") == 0;
        return k;
}

static int remote_node(JsonReader *p, void *ud) {
        Remote *x = ud;
        x->nodes++;
        return json_read_object(p, remote_node_field, x);
}

static int remote_field(JsonReader *p, const char *key, void *ud) {
        Remote *x = ud;
        uint64_t v;
        int k;

        if (strcmp(key, "node") == 0 || strcmp(key, "state") == 0) {
                bool node = key[0] == 'n';
                return json_read_string(p, node ? x->node : x->state, node ? sizeof x->node : sizeof x->state);
        }
        if (strcmp(key, "nodes") == 0)
                return json_read_array(p, remote_node, x);
        uint64_t *to = strcmp(key, "wire_msgs_in") == 0                                                 ? &x->msgs_in
                       : strcmp(key, "wire_msgs_out") == 0                                              ? &x->msgs_out
                       : strcmp(key, "messages_dropped") == 0 || strcmp(key, "pubsub_dropped") == 0 ? &x->dropped
                                                                                                        : NULL;
        if (!to)
                return json_skip(p);
        k = json_read_uint(p, &v);
        if (k >= 0)
                *to = to == &x->dropped ? *to + v : v;
        return k;
}

static int snapshot_field(JsonReader *p, const char *key, void *ud) {
        Snapshot *s = ud;
        if (strcmp(key, "processes") == 0)
                return json_read_array(p, snapshot_row, ud);
        if (strcmp(key, "cluster") == 0) {
                if (json_read_null(p))
                        return 0;
                s->remote = (Remote) { .present = true, .in_rate = -1, .out_rate = -1 };
                return json_read_object(p, remote_field, &s->remote);
        }
        return json_skip(p);
}

static int snapshot_parse(const char *text, Snapshot *s) {
        JsonReader p = json_reader(text);
        /* A daemon from before "seq" answers with the bare array of rows. */
        if (text[strspn(text, " \t\r\n")] == '[')
                return json_read_array(&p, snapshot_row, s);
        return json_read_object(&p, snapshot_field, s);
}

/* Asks the daemon for a snapshot. On failure, *ret_err holds what went wrong, one or more
 * "forkvisor: ..." lines. Returns the exit status. */
static int snapshot_fetch(const char *control, Snapshot *s, char **ret_err) {
        _cleanup_free_ char *out = NULL;
        char *err = NULL;
        size_t out_len = 0, err_len = 0;
        FILE *fo = open_memstream(&out, &out_len), *fe = open_memstream(&err, &err_len);
        int status = 1;

        if (fo && fe)
                status = client_transact(control, (char *[]) { "status", "", "1", NULL }, false, fo, fe);
        s->at = now_usec();
        if (fo)
                fclose(fo);
        if (fe)
                fclose(fe);
        if (status == 0 && snapshot_parse(out, s) < 0) {
                free(err);
                err = strdup("forkvisor: cannot read the daemon's status --json\n");
                status = 1;
        }
        *ret_err = err;
        return status;
}

static const Row *find_row(const Snapshot *s, size_t hint, const char *path) {
        if (hint < s->n && strcmp(s->rows[hint].path, path) == 0)
                return &s->rows[hint];
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->rows[i].path, path) == 0)
                        return &s->rows[i];
        return NULL;
}

/* Messages per second since the previous snapshot. The counters belong to one incarnation: when
 * the pid changed, or a counter went down, the process was restarted in between and its
 * counters started again from 0. */
static void snapshot_rates(Snapshot *cur, const Snapshot *prev) {
        double dt = (double) (cur->at - prev->at) / USEC_PER_SEC;
        if (dt <= 0)
                return;
        Remote *x = &cur->remote;
        const Remote *was = &prev->remote;
        /* A restarted daemon counts from 0 again. */
        if (x->present && was->present && x->msgs_in >= was->msgs_in && x->msgs_out >= was->msgs_out) {
                x->in_rate = (double) (x->msgs_in - was->msgs_in) / dt;
                x->out_rate = (double) (x->msgs_out - was->msgs_out) / dt;
        }
        for (size_t i = 0; i < cur->n; i++) {
                Row *r = &cur->rows[i];
                const Row *o = find_row(prev, i, r->path);
                if (!r->has_mailbox)
                        continue;
                bool same = o && o->has_mailbox && o->pid == r->pid && r->in >= o->in && r->out >= o->out &&
                            r->dropped >= o->dropped;
                r->in_rate = (double) (r->in - (same ? o->in : 0)) / dt;
                r->out_rate = (double) (r->out - (same ? o->out : 0)) / dt;
                r->dropping = r->dropped > (same ? o->dropped : 0);
        }
}

/* ---- the terminal ------------------------------------------------------------------------- */

typedef struct Term {
        bool escapes;             /* cursor movement and attributes (not TERM=dumb) */
        bool color;               /* and colours (not NO_COLOR) */
        bool live;                /* refreshed until q, not one snapshot */
        int key_fd;               /* standard input when it is a terminal, else -1 */
        bool raw;                 /* key_fd's modes were changed: saved restores them */
        struct termios saved;
        bool screen;              /* the alternate screen is on and the cursor hidden */
        unsigned rows, cols;      /* 0 cols: no limit (one snapshot into a pipe) */
} Term;

/* The write end of the self-pipe the signal handler writes the signal number into: the only
 * state a handler may touch. */
static int signal_pipe_w = -EBADF;

static void on_signal(int sig) {
        int saved = errno;
        unsigned char c = (unsigned char) sig;
        (void) !write(signal_pipe_w, &c, 1);
        errno = saved;
}

static void write_all(const char *s, size_t len) {
        while (len > 0) {
                ssize_t n = write(STDOUT_FILENO, s, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                s += n;
                len -= (size_t) n;
        }
}

static void term_size(Term *t) {
        struct winsize ws = {};
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0 || ws.ws_row == 0)
                ws = (struct winsize) { .ws_row = 24, .ws_col = 80 };
        t->rows = ws.ws_row;
        t->cols = ws.ws_col;
}

/* Leaves the terminal as we found it: on `q`, on a signal, on every error path. */
static void term_restore(Term *t) {
        static const char leave[] = "\033[m\033[?25h\033[?1049l";
        if (t->screen)
                write_all(leave, sizeof leave - 1);
        t->screen = false;
        if (t->raw)
                (void) tcsetattr(t->key_fd, TCSAFLUSH, &t->saved);
        t->raw = false;
}

/* Keys without Enter and without echo. ISIG goes too, so that Control-C arrives as a key and
 * quits through the same path as `q`; output processing stays (a "\n" is still "\r\n"). */
static int term_enter(Term *t) {
        static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
        if (t->key_fd >= 0) {
                struct termios raw;
                if (tcgetattr(t->key_fd, &t->saved) < 0)
                        return -errno;
                raw = t->saved;
                raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO | ISIG | IEXTEN);
                raw.c_iflag &= ~(tcflag_t) (IXON | ICRNL);
                raw.c_cc[VMIN] = 1;
                raw.c_cc[VTIME] = 0;
                if (tcsetattr(t->key_fd, TCSAFLUSH, &raw) < 0)
                        return -errno;
                t->raw = true;
        }
        if (t->escapes) {
                write_all(enter, sizeof enter - 1);
                t->screen = true;
        }
        return 0;
}

/* ---- drawing ------------------------------------------------------------------------------ */

/* One frame, built in memory and written at once. Text is cut at the terminal's width; in a live
 * view each line is placed with a cursor movement and cleared, so nothing wraps or scrolls. */
typedef struct Frame {
        FILE *f;
        const Term *t;
        unsigned line;            /* lines begun */
        unsigned col;             /* columns used on the current line */
} Frame;

static bool frame_line(Frame *fr) {
        if (fr->t->live && fr->line >= fr->t->rows)
                return false;
        if (fr->t->screen)
                fprintf(fr->f, "\033[%u;1H\033[2K", fr->line + 1);
        else if (fr->line > 0)
                fputc('\n', fr->f);
        fr->line++;
        fr->col = 0;
        return true;
}

/* Appends text in SGR attributes sgr ("1", "7", "32"...; NULL for none), cut at the width. */
static void frame_put(Frame *fr, const char *sgr, const char *fmt, ...) _printf_(3, 4);
static void frame_put(Frame *fr, const char *sgr, const char *fmt, ...) {
        char buf[4096];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        size_t len = n < 0 ? 0 : strlen(buf);
        if (fr->t->cols > 0 && fr->col + len > fr->t->cols)
                len = fr->col >= fr->t->cols ? 0 : fr->t->cols - fr->col;
        if (len == 0)
                return;
        bool attr = sgr && fr->t->escapes;
        if (attr)
                fprintf(fr->f, "\033[%sm", sgr);
        fwrite(buf, 1, len, fr->f);
        if (attr)
                fputs("\033[m", fr->f);
        fr->col += (unsigned) len;
}

/* The rest of the line in attributes sgr (the column header's bar). */
static void frame_fill(Frame *fr, const char *sgr) {
        if (fr->t->cols > fr->col)
                frame_put(fr, sgr, "%*s", (int) (fr->t->cols - fr->col), "");
}

/* The terminal's own palette: only SGR 31-33, so the user's theme decides the shades. */
static const char *state_color(const Term *t, const char *state) {
        if (!t->color)
                return NULL;
        if (strcmp(state, "running") == 0)
                return "32";
        if (strcmp(state, "failed") == 0)
                return "31";
        if (strcmp(state, "starting") == 0 || strcmp(state, "restarting") == 0 || strcmp(state, "stopping") == 0)
                return "33";
        return NULL;
}

static void format_rate(double rate, char *buf, size_t size) {
        if (rate < 0)
                snprintf(buf, size, "-");
        else if (rate == 0)
                snprintf(buf, size, "0");
        else if (rate < 100)
                snprintf(buf, size, "%.1f", rate);
        else if (rate < 10000)
                snprintf(buf, size, "%.0f", rate);
        else if (rate < 1e6)
                snprintf(buf, size, "%.1fk", rate / 1e3);
        else
                snprintf(buf, size, "%.1fM", rate / 1e6);
}

static const char *const state_order[] = { "running", "exited", "starting", "restarting", "stopping", "stopped",
                                            "failed" };

/* "9 processes: 7 running, 1 restarting, 1 failed" */
static void draw_summary(Frame *fr, const Snapshot *s) {
        frame_put(fr, NULL, "%zu processes:", s->n);
        const char *sep = " ";
        for (size_t k = 0; k < ELEMENTSOF(state_order); k++) {
                size_t count = 0;
                for (size_t i = 0; i < s->n; i++)
                        count += strcmp(s->rows[i].state, state_order[k]) == 0;
                if (count == 0)
                        continue;
                frame_put(fr, NULL, "%s", sep);
                frame_put(fr, state_color(fr->t, state_order[k]), "%zu %s", count, state_order[k]);
                sep = ", ";
        }
}

/* "cluster: node a connected, 2 of 2 other nodes up; over NATS 12.0/s in, 340/s out, 0 dropped" */
static void draw_remote(Frame *fr, const Remote *x) {
        char in[16], out[16];

        format_rate(x->in_rate, in, sizeof in);
        format_rate(x->out_rate, out, sizeof out);
        frame_put(fr, NULL, "cluster: node %s ", x->node);
        frame_put(fr, fr->t->color ? (strcmp(x->state, "connected") == 0 ? "32" : "33") : NULL, "%s", x->state);
        frame_put(fr, NULL, ", %u of %u other nodes up; over NATS %s/s in, %s/s out, ", x->up, x->nodes, in, out);
        frame_put(fr, x->dropped > 0 && fr->t->color ? "31" : NULL, "%" PRIu64 " dropped", x->dropped);
}

#define FIXED_COLUMNS 67 /* everything after PATH, spaces included */
#define PATH_MIN 12

static void draw(const Term *t, const Snapshot *s, const char *control, FILE *f) {
        Frame fr = { .f = f, .t = t };
        size_t pathw = 4;
        char clock[16] = "";
        time_t now = time(NULL);
        struct tm tm;

        for (size_t i = 0; i < s->n; i++)
                if (strlen(s->rows[i].path) > pathw)
                        pathw = strlen(s->rows[i].path);
        /* Too wide: PATH gives way down to PATH_MIN, then the line is cut at the right. */
        if (t->cols > 0 && pathw + FIXED_COLUMNS > t->cols)
                pathw = t->cols > FIXED_COLUMNS + PATH_MIN ? t->cols - FIXED_COLUMNS : PATH_MIN;
        if (localtime_r(&now, &tm))
                strftime(clock, sizeof clock, "%H:%M:%S", &tm);

        frame_line(&fr);
        frame_put(&fr, "1", "forkvisor top");
        frame_put(&fr, NULL, "  %s  %s%s", clock, control, t->live ? "  (q quits)" : "");
        frame_line(&fr);
        draw_summary(&fr, s);
        if (s->remote.present) {
                frame_line(&fr);
                draw_remote(&fr, &s->remote);
        }
        frame_line(&fr);
        frame_line(&fr);
        frame_put(&fr, "7", "%-*s %-10s %7s %8s %6s %9s %6s %6s %7s", (int) pathw, "PATH", "STATE", "PID", "RESTARTS",
                  "UPTIME", "MBOX", "IN/s", "OUT/s", "DROPPED");
        if (t->live)
                frame_fill(&fr, "7");

        for (size_t i = 0; i < s->n; i++) {
                const Row *r = &s->rows[i];
                char pid[16] = "-", up[32] = "-", mbox[48] = "-", in[16], out[16], dropped[24] = "-";
                const char *path = r->path;
                size_t plen = strlen(path);

                /* The last row that fits says how many did not. */
                if (t->live && fr.line + 1 == t->rows && i + 1 < s->n) {
                        frame_line(&fr);
                        frame_put(&fr, NULL, "... %zu more (a taller window shows them)", s->n - i);
                        break;
                }
                if (!frame_line(&fr))
                        break;
                if (r->pid > 0)
                        snprintf(pid, sizeof pid, "%d", r->pid);
                if (r->uptime_ms >= 0)
                        format_duration((usec_t) r->uptime_ms * USEC_PER_MSEC, up, sizeof up);
                if (r->has_mailbox) {
                        snprintf(mbox, sizeof mbox, "%" PRIu64 "/%" PRIu64, r->depth, r->limit);
                        snprintf(dropped, sizeof dropped, "%" PRIu64, r->dropped);
                }
                format_rate(r->in_rate, in, sizeof in);
                format_rate(r->out_rate, out, sizeof out);
                /* A path too long for its column keeps its end: the leaf names the process. */
                if (plen > pathw && pathw > 2)
                        frame_put(&fr, NULL, "..%-*s", (int) pathw - 2, path + plen - (pathw - 2));
                else
                        frame_put(&fr, NULL, "%-*s", (int) pathw, path);
                frame_put(&fr, NULL, " ");
                frame_put(&fr, state_color(t, r->state), "%-10s", r->state);
                frame_put(&fr, NULL, " %7s %8u %6s", pid, r->restarts, up);
                frame_put(&fr, t->color && r->has_mailbox && r->depth >= r->limit ? "31" : NULL, " %9s", mbox);
                frame_put(&fr, NULL, " %6s %6s", in, out);
                frame_put(&fr, t->color && r->dropping ? "31" : NULL, " %7s", dropped);
                /* After the columns, for the workers with a health check only. */
                if (r->health[0] && r->health_failures > 0)
                        frame_put(&fr, t->color ? "33" : NULL, "  %s (%" PRIu64 " failure%s)", r->health,
                                  r->health_failures, r->health_failures == 1 ? "" : "s");
                else if (r->health[0])
                        frame_put(&fr, t->color && strcmp(r->health, "unhealthy") == 0 ? "31" : NULL, "  %s",
                                  r->health);
        }
        if (t->screen && fr.line < t->rows)
                fprintf(f, "\033[%u;1H\033[J", fr.line + 1);
        else if (!t->screen)
                fputs(t->live ? "\n\n" : "\n", f);
}

static void show(const Term *t, const Snapshot *s, const char *control) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return;
        draw(t, s, control, f);
        if (fclose(f) == 0)
                write_all(buf, len);
}

/* ---- the command -------------------------------------------------------------------------- */

static void usage(FILE *f) {
        fprintf(f, "Usage: forkvisor top [--control PATH]\n");
}

/* What the first key pressed asks for: 1 quit, 0 nothing. */
static int read_keys(int fd) {
        char keys[64];
        ssize_t n = read(fd, keys, sizeof keys);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (n <= 0)
                return 1; /* the terminal went away */
        for (ssize_t i = 0; i < n; i++)
                if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 3 /* ^C */ || keys[i] == 4 /* ^D */)
                        return 1;
        return 0;
}

/* Until q or a signal; returns the exit status. The terminal is restored by the caller. */
static int run_live(Term *t, const char *control, Snapshot *cur, int sig_fd) {
        _cleanup_(snapshot_done) Snapshot prev = {};
        usec_t next = cur->at + REFRESH_USEC;

        for (bool redraw = true;;) {
                if (redraw)
                        show(t, cur, control);
                redraw = false;

                struct pollfd p[2] = { { .fd = sig_fd, .events = POLLIN }, { .fd = t->key_fd, .events = POLLIN } };
                usec_t now = now_usec();
                int timeout = now >= next ? 0 : (int) ((next - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
                int k = poll(p, t->key_fd >= 0 ? 2 : 1, timeout);
                if (k < 0 && errno != EINTR)
                        return 1;
                if (k > 0 && p[0].revents & POLLIN) {
                        unsigned char sigs[16];
                        ssize_t n = read(sig_fd, sigs, sizeof sigs);
                        for (ssize_t i = 0; i < n; i++) {
                                if (sigs[i] != SIGWINCH)
                                        return 0;
                                term_size(t);
                                redraw = true;
                        }
                }
                if (k > 0 && p[1].revents & (POLLIN | POLLHUP | POLLERR) && read_keys(t->key_fd))
                        return 0;
                if (now_usec() < next)
                        continue;

                _cleanup_free_ char *err = NULL;
                snapshot_done(&prev);
                prev = *cur;
                *cur = (Snapshot) {};
                int status = snapshot_fetch(control, cur, &err);
                if (status != 0) {
                        term_restore(t);
                        /* A daemon that is there but did not answer in time (stopped, wedged)
                         * has not gone away: say what the client said. */
                        if (status == EXIT_NO_DAEMON && !(err && strstr(err, "did not answer")))
                                fprintf(stderr, "forkvisor: the daemon at %s has gone away\n", control);
                        else
                                fputs(err ?: "forkvisor: cannot get the status\n", stderr);
                        return status;
                }
                snapshot_rates(cur, &prev);
                next = cur->at + REFRESH_USEC;
                redraw = true;
        }
}

int verb_top(int argc, char **argv) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "control", required_argument, NULL, 'c' },
                {},
        };
        const char *given = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        usage(stdout);
                        printf("\nA live view of the tree, refreshed every second: state, pid, restarts, uptime, mailbox\n"
                               "depth, messages in and out per second, dropped messages. q quits. When standard output\n"
                               "is not a terminal, print one snapshot (rates as -) and exit.\n");
                        return 0;
                case 'c':
                        given = optarg;
                        break;
                default:
                        usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind != argc) {
                usage(stderr);
                return EXIT_USAGE;
        }

        _cleanup_free_ char *path = NULL;
        const char *control = client_control_path(given, &path);
        if (!control)
                return EXIT_NO_DAEMON;

        _cleanup_(snapshot_done) Snapshot cur = {};
        _cleanup_free_ char *err = NULL;
        int status = snapshot_fetch(control, &cur, &err);
        if (status != 0) {
                fputs(err ?: "forkvisor: cannot get the status\n", stderr);
                return status;
        }

        const char *term = getenv("TERM"), *no_color = getenv("NO_COLOR");
        Term t = { .key_fd = -EBADF, .live = isatty(STDOUT_FILENO) };
        if (!t.live) {
                show(&t, &cur, control);
                return 0;
        }
        t.escapes = term && *term && strcmp(term, "dumb") != 0;
        t.color = t.escapes && !(no_color && *no_color);
        t.key_fd = isatty(STDIN_FILENO) ? STDIN_FILENO : -EBADF;
        term_size(&t);

        int sig_pipe[2];
        if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
                fprintf(stderr, "forkvisor: cannot create a pipe: %m\n");
                return 1;
        }
        signal_pipe_w = sig_pipe[1];
        struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < 4; i++)
                (void) sigaction((int[]) { SIGINT, SIGTERM, SIGHUP, SIGWINCH }[i], &sa, NULL);

        int r = term_enter(&t);
        if (r < 0) {
                term_restore(&t);
                fprintf(stderr, "forkvisor: cannot set up the terminal: %s\n", strerror(-r));
                status = 1;
        } else
                status = run_live(&t, control, &cur, sig_pipe[0]);
        term_restore(&t);
        safe_close(sig_pipe[0]);
        signal_pipe_w = safe_close(sig_pipe[1]);
        return status;
}

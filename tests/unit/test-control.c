/* SPDX-License-Identifier: MIT */
/* The control server with its real socket in a temporary directory and a real sd-event loop,
 * the test playing the client: requests parsed (FV1, FV2 and its deadline), answers queued and
 * sent whole to a client that reads slowly, bad requests answered with status 2, idle
 * connections closed (the idle time shortened through control_server_set_idle()), clients gone
 * before or after their request, a connection handed over as a stream, and the per-uid limit. */
#include "tests.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "ctlproto.h"
#include "fake-worker.h"
#include "log.h"
#include "macro.h"

typedef enum Mode {
        ECHO,                  /* answer at once: the arguments, one per line, status 0 */
        HOLD,                  /* keep the request unanswered */
        ACCEPT,                /* control_request_accept(), then as ECHO */
        BIG,                   /* 2 MiB of output in small pieces */
        STREAM,                /* hand the connection over */
} Mode;

typedef struct Server {
        sd_event *e;
        ControlServer *s;
        char dir[64], path[96];
        Mode mode;
        unsigned requests;
        ControlRequest *held;
        uint64_t deadline;     /* of the last request */
        int accept_result;
        int stream_fd;
        unsigned abandoned;
} Server;

/* What a client received. */
typedef struct Reply {
        char out[1 << 16], err[1024], diag[1024];
        size_t out_len;
        unsigned packets;
        bool accepted, accepted_first, stream, eof;
        int status;            /* -1 until 'X' */
        int fd;
} Reply;

static void on_abandon(ControlRequest *req, void *ud) {
        ((Server *) ud)->abandoned++;
}

static void handler(void *ud, ControlRequest *req, int argc, char **argv) {
        Server *s = ud;
        s->requests++;
        s->deadline = control_request_deadline(req);
        switch (s->mode) {
        case HOLD:
                s->held = req;
                control_request_set_abandon(req, on_abandon, s);
                return;
        case STREAM:
                s->stream_fd = control_request_take_stream(req);
                return;
        case BIG: {
                char line[32];
                /* 2 MiB in 16-byte pieces: "%015u\n" */
                for (unsigned i = 0; i < 131072; i++) {
                        snprintf(line, sizeof line, "%015u\n", i);
                        control_reply_append(req, line, 16);
                }
                control_reply_finish(req, 0);
                return;
        }
        case ACCEPT:
                s->accept_result = control_request_accept(req);
                if (s->accept_result < 0) {
                        control_reply_finish(req, 3);
                        return;
                }
                __attribute__((fallthrough));
        case ECHO:
                for (int i = 0; i < argc; i++)
                        control_reply_printf(req, "%s\n", argv[i]);
                control_reply_errorf(req, "to stderr\n");
                control_reply_diagnostic(req, "file:1: diag\n");
                control_reply_finish(req, 0);
                return;
        }
}

static int server_new(Server *s) {
        memset(s, 0, sizeof *s);
        s->stream_fd = -1;
        snprintf(s->dir, sizeof s->dir, "/tmp/fv-test-control-XXXXXX");
        if (!mkdtemp(s->dir))
                return -errno;
        snprintf(s->path, sizeof s->path, "%s/control.sock", s->dir);
        int r = sd_event_new(&s->e);
        if (r < 0)
                return r;
        return control_server_new(s->e, s->path, handler, s, &s->s);
}

static void server_free(Server *s) {
        control_server_free(s->s);
        safe_close(s->stream_fd);
        sd_event_unref(s->e);
        (void) unlink(s->path);
        (void) rmdir(s->dir);
}

static int client_connect(Server *s) {
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        assert(fd >= 0);
        snprintf(a.sun_path, sizeof a.sun_path, "%s", s->path);
        if (connect(fd, (struct sockaddr *) &a, sizeof a) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Sends argv as a request: FV1 with h NULL, else FV2. */
static int client_send(int fd, char *const *argv, const CtlHeader *h) {
        static char buf[CTL_REQUEST_MAX];
        int n = ctl_encode_request(argv, h, buf, sizeof buf);
        if (n < 0)
                return n;
        return send(fd, buf, (size_t) n, MSG_NOSIGNAL) == n ? 0 : -errno;
}

/* Reads one packet into rep without waiting: 1, 0 when nothing waits, -1 at end of file. */
static int client_read(int fd, Reply *rep) {
        static char buf[CTL_PACKET_MAX + 1];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN ? 0 : -1;
        if (n == 0) {
                rep->eof = true;
                return -1;
        }
        if (rep->packets++ == 0 && buf[0] == CTL_ACCEPT)
                rep->accepted_first = true;
        size_t l;
        switch (buf[0]) {
        case CTL_ACCEPT:
                rep->accepted = true;
                break;
        case CTL_STREAM:
                rep->stream = true;
                break;
        case CTL_OUT:
                if (rep->out_len + (size_t) n - 1 < sizeof rep->out) {
                        memcpy(rep->out + rep->out_len, buf + 1, (size_t) n - 1);
                        rep->out_len += (size_t) n - 1;
                        rep->out[rep->out_len] = 0;
                } else
                        rep->out_len += (size_t) n - 1; /* counted, not kept */
                break;
        case CTL_ERR:
        case CTL_DIAG:
                l = strlen(buf[0] == CTL_ERR ? rep->err : rep->diag);
                snprintf((buf[0] == CTL_ERR ? rep->err : rep->diag) + l, sizeof rep->err - l, "%.*s", (int) n - 1,
                         buf + 1);
                break;
        case CTL_EXIT:
                rep->status = (unsigned char) buf[1];
                break;
        }
        return 1;
}

static bool reply_done(void *ud) {
        Reply *rep = ud;
        while (client_read(rep->fd, rep) > 0)
                if (rep->status >= 0 || rep->stream)
                        return true;
        return rep->status >= 0 || rep->stream || rep->eof;
}

static void reply_init(Reply *rep, int fd) {
        memset(rep, 0, sizeof *rep);
        rep->status = -1;
        rep->fd = fd;
}

static bool reply_eof(void *ud) {
        Reply *rep = ud;
        while (client_read(rep->fd, rep) > 0)
                ;
        return rep->eof;
}

/* Connects and sends argv (FV1); the connection's fd, or -errno. rep (may be NULL) is made
 * ready for the answer. */
static int client_start(Server *s, char *const *argv, const CtlHeader *h, Reply *rep) {
        int fd = client_connect(s);
        if (fd < 0)
                return fd;
        if (rep)
                reply_init(rep, fd);
        int r = client_send(fd, argv, h);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

/* Connects, sends argv, reads the answer until the server closes the connection (it does once
 * the answer is sent). */
static bool request(Server *s, char *const *argv, const CtlHeader *h, Reply *rep) {
        int fd = client_start(s, argv, h, rep);
        bool ok = fd >= 0 && fw_run_until(s->e, reply_eof, rep);
        safe_close(fd);
        return ok;
}

TEST(request_parsed_and_answered) {
        Server s;
        Reply rep;
        ASSERT_OK(server_new(&s));
        ASSERT_TRUE(request(&s, (char *[]) { "status", "", "1", NULL }, NULL, &rep));
        ASSERT_EQ(s.requests, 1);
        ASSERT_EQ(s.deadline, 0);
        ASSERT_STREQ(rep.out, "status\n\n1\n");
        ASSERT_STREQ(rep.err, "to stderr\n");
        ASSERT_STREQ(rep.diag, "file:1: diag\n");
        ASSERT_EQ(rep.status, 0);
        ASSERT_TRUE(!rep.accepted); /* nobody called control_request_accept() */
        ASSERT_TRUE(rep.eof);
        server_free(&s);
}

/* FV2: the deadline reaches the handler; accepting says so to the client, first. FV1 clients
 * predate 'A' and never see one. */
TEST(fv2_deadline_and_accept) {
        Server s;
        Reply rep;
        ASSERT_OK(server_new(&s));
        s.mode = ACCEPT;
        CtlHeader h = { .version = 2, .deadline_usec = now_usec() + 5 * USEC_PER_SEC };
        ASSERT_TRUE(request(&s, (char *[]) { "tree", NULL }, &h, &rep));
        ASSERT_EQ(s.deadline, h.deadline_usec);
        ASSERT_OK(s.accept_result);
        ASSERT_TRUE(rep.accepted_first);
        ASSERT_STREQ(rep.out, "tree\n");
        ASSERT_EQ(rep.status, 0);
        ASSERT_TRUE(request(&s, (char *[]) { "tree", NULL }, NULL, &rep));
        ASSERT_EQ(s.deadline, 0);
        ASSERT_TRUE(!rep.accepted);
        ASSERT_EQ(rep.status, 0);
        server_free(&s);
}

/* A client that gave up before its request was read: accepting it fails, so it is not carried
 * out. */
TEST(accept_fails_when_the_client_is_gone) {
        Server s;
        ASSERT_OK(server_new(&s));
        s.mode = ACCEPT;
        s.accept_result = 1;
        int fd = client_connect(&s);
        ASSERT_TRUE(fd >= 0);
        CtlHeader h = { .version = 2 };
        ASSERT_OK(client_send(fd, (char *[]) { "shutdown", NULL }, &h));
        safe_close(fd);
        for (int i = 0; i < 100 && s.requests == 0; i++)
                ASSERT_OK(sd_event_run(s.e, 20 * USEC_PER_MSEC));
        ASSERT_EQ(s.requests, 1);
        ASSERT_ERR(s.accept_result, -ECONNRESET);
        server_free(&s);
}

static int send_raw(int fd, const void *buf, size_t len) {
        return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t) len ? 0 : -errno;
}

/* Requests that do not parse are answered with status 2 and never reach the handler. */
TEST(bad_requests_answered_with_status_2) {
        Server s;
        static char big[CTL_REQUEST_MAX + 2];
        struct {
                const char *name;
                const void *data;
                size_t len;
                const char *err;
        } cases[] = {
                { "no tag", "status\0", 7, "malformed request\n" },
                { "tag only", "FV1\0", 4, "malformed request\n" },
                { "no terminating NUL", "FV1\0status", 10, "malformed request\n" },
                { "unknown tag", "FV9\0status\0", 11, "malformed request\n" },
                { "too long", big, sizeof big, "malformed request (too long)\n" },
        };
        memcpy(big, "FV1\0", 4);
        memset(big + 4, 'x', sizeof big - 5);
        ASSERT_OK(server_new(&s));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Reply rep;
                int fd = client_connect(&s);
                ASSERT_TRUE(fd >= 0);
                reply_init(&rep, fd);
                ASSERT_OK(send_raw(fd, cases[i].data, cases[i].len));
                if (!fw_run_until(s.e, reply_done, &rep))
                        FAIL_("%s: no answer", cases[i].name);
                if (rep.status != 2 || strcmp(rep.err, cases[i].err) != 0)
                        FAIL_("%s: status %d, \"%s\"", cases[i].name, rep.status, rep.err);
                safe_close(fd);
        }
        ASSERT_EQ(s.requests, 0);
        server_free(&s);
}

/* A long answer to a client that reads one packet per loop turn: never blocks the server, arrives
 * whole and in order, in packets of at most CTL_PACKET_MAX (small pieces gathered, not one packet
 * each). */
TEST(long_answer_to_a_slow_reader) {
        Server s;
        static Reply rep;
        ASSERT_OK(server_new(&s));
        s.mode = BIG;
        int fd = client_start(&s, (char *[]) { "status", NULL }, NULL, &rep);
        ASSERT_OK(fd);
        ASSERT_OK(sd_event_run(s.e, 1000 * USEC_PER_MSEC)); /* accepted */
        usec_t end = now_usec() + 2 * USEC_PER_SEC;
        char expect[32];
        unsigned line = 0;
        while (!rep.eof && now_usec() < end) {
                /* One packet, then one turn of the server's loop. */
                rep.out_len = 0;
                int k = client_read(fd, &rep);
                if (k == 0) {
                        ASSERT_OK(sd_event_run(s.e, 50 * USEC_PER_MSEC));
                        continue;
                }
                ASSERT_TRUE(rep.out_len <= CTL_PACKET_MAX - 1);
                ASSERT_EQ(rep.out_len % 16, 0); /* pieces are never cut */
                for (size_t off = 0; off < rep.out_len; off += 16, line++) {
                        snprintf(expect, sizeof expect, "%015u\n", line);
                        if (memcmp(rep.out + off, expect, 16) != 0)
                                FAIL_("line %u is \"%.15s\"", line, rep.out + off);
                }
                (void) sd_event_run(s.e, 0);
        }
        ASSERT_TRUE(rep.eof);
        ASSERT_EQ(line, 131072);
        ASSERT_EQ(rep.status, 0);
        ASSERT_TRUE(rep.packets < 131072 / 100); /* gathered into packets */
        safe_close(fd);
        server_free(&s);
}

/* The server closed its end (whether or not something is left to read). */
static bool is_closed(void *ud) {
        struct pollfd p = { .fd = *(int *) ud, .events = POLLIN };
        return poll(&p, 1, 0) > 0 && (p.revents & POLLHUP);
}

static bool held(void *ud) {
        return ((Server *) ud)->held != NULL;
}

/* A client that owes a request, or the reading of its answer, is closed after the idle time; one
 * whose request waits on the daemon is not. */
TEST(idle_connections_closed) {
        Server s;
        ASSERT_OK(server_new(&s));
        control_server_set_idle(s.s, 50 * USEC_PER_MSEC);
        /* No request. */
        int fd = client_connect(&s);
        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(fw_run_until(s.e, is_closed, &fd));
        safe_close(fd);

        /* An answer never read: more than the socket holds, so it cannot all be sent. */
        s.mode = BIG;
        fd = client_start(&s, (char *[]) { "status", NULL }, NULL, NULL);
        ASSERT_OK(fd);
        ASSERT_TRUE(fw_run_until(s.e, is_closed, &fd));
        safe_close(fd);

        /* A request held by its handler: never idle, however long it waits. */
        s.mode = HOLD;
        fd = client_start(&s, (char *[]) { "wait", NULL }, NULL, NULL);
        ASSERT_OK(fd);
        ASSERT_TRUE(fw_run_until(s.e, held, &s));
        usec_t end = now_usec() + 300 * USEC_PER_MSEC; /* six idle times */
        while (now_usec() < end)
                ASSERT_OK(sd_event_run(s.e, 50 * USEC_PER_MSEC));
        ASSERT_TRUE(!is_closed(&fd));
        ASSERT_EQ(s.abandoned, 0);
        /* Its client goes: the handler hears of it once. */
        safe_close(fd);
        for (int i = 0; i < 100 && s.abandoned == 0; i++)
                ASSERT_OK(sd_event_run(s.e, 20 * USEC_PER_MSEC));
        ASSERT_EQ(s.abandoned, 1);
        server_free(&s);
}

/* An answer given later, from outside the request's own wake-up. */
TEST(answer_later) {
        Server s;
        Reply rep;
        ASSERT_OK(server_new(&s));
        s.mode = HOLD;
        int fd = client_start(&s, (char *[]) { "call", "x", NULL }, NULL, &rep);
        ASSERT_OK(fd);
        ASSERT_TRUE(fw_run_until(s.e, held, &s));
        ASSERT_TRUE(!reply_done(&rep));
        /* Answered: the abandon callback (still set) is not for it. */
        control_reply_printf(s.held, "late\n");
        control_reply_finish(s.held, 1);
        ASSERT_TRUE(fw_run_until(s.e, reply_done, &rep));
        ASSERT_STREQ(rep.out, "late\n");
        ASSERT_EQ(rep.status, 1);
        ASSERT_TRUE(fw_run_until(s.e, is_closed, &fd));
        ASSERT_EQ(s.abandoned, 0);
        safe_close(fd);
        server_free(&s);
}

/* The connection becomes a stream: 'S', then whatever the daemon writes on the fd it got. */
TEST(stream_hands_the_connection_over) {
        Server s;
        Reply rep;
        ASSERT_OK(server_new(&s));
        s.mode = STREAM;
        int fd = client_start(&s, (char *[]) { "events", NULL }, NULL, &rep);
        ASSERT_OK(fd);
        ASSERT_TRUE(fw_run_until(s.e, reply_done, &rep));
        ASSERT_TRUE(rep.stream);
        ASSERT_TRUE(s.stream_fd >= 0);
        ASSERT_TRUE(send(s.stream_fd, "rec", 3, MSG_NOSIGNAL) == 3);
        char buf[8];
        ASSERT_EQ(recv(fd, buf, sizeof buf, MSG_DONTWAIT), 3);
        ASSERT_EQ(s.abandoned, 0);
        safe_close(fd);
        server_free(&s);
}

/* Connects as uid (the effective uid only, so that we can come back): SO_PEERCRED reports it. */
static int connect_as(Server *s, uid_t uid) {
        if (uid == geteuid())
                return client_connect(s);
        if (seteuid(uid) < 0)
                return -errno;
        int fd = client_connect(s);
        int r = seteuid(0);
        assert(r == 0);
        return fd;
}

/* A uid holds at most CONTROL_CONNECTIONS_PER_UID connections: the next is closed unserved;
 * root still gets in. As root the test connects as nobody (who is refused each request, but
 * holds its connections all the same); as anyone else, as itself. */
TEST(per_uid_connection_limit) {
        Server s;
        int fds[CONTROL_CONNECTIONS_PER_UID + 1];
        uid_t uid = geteuid();
        ASSERT_OK(server_new(&s));
        log_set_max_level(LOG_ERR); /* the refusal is logged, as it should be, but not here */
        if (uid == 0) {
                struct passwd *pw = getpwnam("nobody");
                uid = pw ? pw->pw_uid : 65534;
                ASSERT_OK(chmod(s.dir, 0711));
                ASSERT_OK(chmod(s.path, 0666));
        }
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = connect_as(&s, uid);
                ASSERT_TRUE(fds[i] >= 0);
                fw_run_pending(s.e); /* accepted now: the listen backlog never fills */
        }
        ASSERT_TRUE(fw_run_until(s.e, is_closed, &fds[CONTROL_CONNECTIONS_PER_UID]));
        for (size_t i = 0; i < CONTROL_CONNECTIONS_PER_UID; i++)
                ASSERT_TRUE(!is_closed(&fds[i]));
        if (geteuid() == 0) {
                /* Root still gets in and is served. */
                Reply rep;
                ASSERT_TRUE(request(&s, (char *[]) { "tree", NULL }, NULL, &rep));
                ASSERT_EQ(rep.status, 0);
                /* Another uid's request is refused, but answered. */
                reply_init(&rep, fds[0]);
                ASSERT_OK(client_send(fds[0], (char *[]) { "tree", NULL }, NULL));
                ASSERT_TRUE(fw_run_until(s.e, reply_done, &rep));
                ASSERT_STREQ(rep.err, "permission denied\n");
                ASSERT_EQ(rep.status, 1);
                ASSERT_EQ(s.requests, 1);
        }
        /* One goes: there is room for one more. */
        safe_close(fds[1]);
        fds[1] = -1;
        for (int i = 0; i < 5; i++)
                fw_run_pending(s.e);
        int fd = connect_as(&s, uid);
        ASSERT_TRUE(fd >= 0);
        fw_run_pending(s.e);
        ASSERT_TRUE(!is_closed(&fd));
        safe_close(fd);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                safe_close(fds[i]);
        server_free(&s);
        log_set_max_level(LOG_INFO);
}

/* The socket is the daemon's own: mode 0600; a second server on the path is refused while the
 * first answers there, and the path is removed with the server. */
TEST(socket_file_rules) {
        Server s;
        ControlServer *other = NULL;
        struct stat st;
        ASSERT_OK(server_new(&s));
        ASSERT_OK(stat(s.path, &st));
        ASSERT_TRUE(S_ISSOCK(st.st_mode));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_ERR(control_server_new(s.e, s.path, handler, &s, &other), -EADDRINUSE);
        s.s = control_server_free(s.s);
        ASSERT_TRUE(stat(s.path, &st) < 0 && errno == ENOENT);
        server_free(&s);
}

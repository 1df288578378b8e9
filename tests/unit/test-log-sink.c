/* SPDX-License-Identifier: MIT */
/* The log queue: never blocks on a full pipe, keeps records whole and in order, drops and counts
 * what does not fit, and says so once the reader has caught up. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "log-sink.h"
#include "tests.h"

static bool put(const char *s) {
        struct iovec iov = { (void *) s, strlen(s) };
        return log_sink_write(&iov, 1);
}

/* Reads everything the pipe holds now into buf (NUL-terminated); returns the length. */
static size_t drain(int fd, char *buf, size_t size, size_t len) {
        for (;;) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return len;
}

/* A pipe of one page whose read end never blocks. */
static int small_pipe(int p[2]) {
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        (void) fcntl(p[1], F_SETPIPE_SZ, 4096);
        (void) fcntl(p[0], F_SETFL, O_NONBLOCK);
        return 0;
}

TEST(full_pipe_drops_whole_records_and_says_how_many) {
        int p[2];
        sd_event *e = NULL;
        static char out[1 << 20];
        char rec[64];
        unsigned sent = 0, dropped = 0, n;

        ASSERT_OK(small_pipe(p));
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(log_sink_open(p[1], 1024));
        ASSERT_OK(log_sink_attach(e));
        /* The descriptor we were given stays blocking: children share it. */
        ASSERT_TRUE(!(fcntl(p[1], F_GETFL) & O_NONBLOCK));

        /* Nobody reads: the pipe fills, then the queue, then records are dropped, and no write
         * ever waits (the test would hang here). */
        for (n = 0; n < 2000; n++) {
                snprintf(rec, sizeof rec, "<6>record %u\n", n);
                if (put(rec))
                        sent++;
                else
                        dropped++;
        }
        ASSERT_TRUE(dropped > 0);
        ASSERT_EQ(log_sink_dropped_total(), dropped);
        ASSERT_TRUE(log_sink_queued() > 0 && log_sink_queued() <= 1024);

        /* The reader catches up; the loop writes the rest, then the notice. */
        size_t len = 0;
        for (int i = 0; i < 1000 && (log_sink_queued() > 0 || !strstr(out, "dropped")); i++) {
                len = drain(p[0], out, sizeof out, len);
                ASSERT_OK(sd_event_run(e, 0));
        }
        len = drain(p[0], out, sizeof out, len);
        ASSERT_EQ(log_sink_queued(), 0);

        /* Records 0 .. sent-1, each whole, in order, then the one notice with the count. */
        char *line = out, *nl;
        for (n = 0; n < sent; n++) {
                snprintf(rec, sizeof rec, "<6>record %u", n);
                nl = strchr(line, '\n');
                ASSERT_TRUE(nl != NULL);
                *nl = '\0';
                ASSERT_STREQ(line, rec);
                line = nl + 1;
        }
        char want[96];
        snprintf(want, sizeof want, "<4>%u log records dropped while the log was blocked\n", dropped);
        ASSERT_STREQ(line, want);

        /* Caught up: records go through again, with no second notice. */
        ASSERT_TRUE(put("<6>after\n"));
        len = drain(p[0], out, sizeof out, 0);
        ASSERT_STREQ(out, "<6>after\n");

        log_sink_close();
        sd_event_unref(e);
        close(p[0]);
        close(p[1]);
}

TEST(too_big_for_the_queue_is_dropped) {
        int p[2];
        char big[2048], out[4096];
        ASSERT_OK(small_pipe(p));
        ASSERT_OK(log_sink_open(p[1], 1024));
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        ASSERT_TRUE(!put(big));
        /* The queue was empty all along: the reader has caught up, and hears of the drop. */
        ASSERT_TRUE(put("<6>small\n"));
        ASSERT_TRUE(drain(p[0], out, sizeof out, 0) > 0);
        ASSERT_STREQ(out, "<4>1 log record dropped while the log was blocked\n<6>small\n");
        log_sink_close();
        close(p[0]);
        close(p[1]);
}

TEST(regular_file_is_written_in_place) {
        char path[] = "/tmp/test-log-sink.XXXXXX", out[64] = "";
        int fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        unlink(path);
        /* What a child with stdout = inherit wrote through the shared description stays. */
        ASSERT_TRUE(write(fd, "child\n", 6) == 6);
        ASSERT_OK(log_sink_open(fd, 0));
        ASSERT_TRUE(put("<6>node\n"));
        ASSERT_TRUE(write(fd, "child\n", 6) == 6);
        log_sink_close();
        ASSERT_TRUE(pread(fd, out, sizeof out - 1, 0) == 20);
        ASSERT_STREQ(out, "child\n<6>node\nchild\n");
        close(fd);
}

TEST(socket_is_written_without_waiting) {
        int sv[2];
        sd_event *e = NULL;
        static char out[1 << 22];
        unsigned dropped = 0;

        ASSERT_TRUE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(log_sink_open(sv[0], 4096));
        ASSERT_OK(log_sink_attach(e));
        /* A stream socket nobody reads (journald's stdout stream, stuck): sends must not wait,
         * and the socket itself stays blocking for whoever shares it. */
        for (int i = 0; i < 100000; i++)
                if (!put("<6>a record on a socket that nobody reads\n"))
                        dropped++;
        ASSERT_TRUE(dropped > 0);
        ASSERT_TRUE(!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
        (void) fcntl(sv[1], F_SETFL, O_NONBLOCK);
        size_t len = 0;
        for (int i = 0; i < 1000 && (log_sink_queued() > 0 || !strstr(out, "dropped")); i++) {
                len = drain(sv[1], out, sizeof out, len);
                ASSERT_OK(sd_event_run(e, 0));
        }
        len = drain(sv[1], out, sizeof out, len);
        char want[96];
        snprintf(want, sizeof want, "<4>%u log records dropped while the log was blocked\n", dropped);
        ASSERT_TRUE(len > strlen(want));
        ASSERT_STREQ(out + len - strlen(want), want);
        log_sink_close();
        sd_event_unref(e);
        close(sv[0]);
        close(sv[1]);
}

/* SPDX-License-Identifier: MIT */
/* Native journal protocol (systemd's journal-send.c and its documentation): one datagram per
 * entry, one "KEY=value\n" per field, or "KEY\n", the value's length as 64-bit little endian,
 * the value and "\n" when the value holds a newline. Our entries are a few KiB, far below the
 * datagram limit, so the memfd fallback for big entries is not needed. */
#include "journal.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"

#define JOURNAL_ENTRY_MAX (16 * 1024)

static struct {
        int fd;
        struct sockaddr_un sa;
        socklen_t sa_len;
        uint64_t dropped;       /* since the last notice */
        uint64_t dropped_total;
} journal = { .fd = -EBADF };

static int journal_connect(void) {
        if (journal.fd >= 0)
                return 0;
        if (journal.sa_len == 0)
                return -ENOTCONN;
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* As sd_journal_send does: room for bursts on our side before datagrams are refused. */
        int size = 8 * 1024 * 1024;
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        if (connect(fd, (struct sockaddr *) &journal.sa, journal.sa_len) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        journal.fd = fd;
        return 0;
}

int journal_open(const char *path) {
        if (!path)
                path = JOURNAL_SOCKET;
        if (strlen(path) >= sizeof journal.sa.sun_path)
                return -ENAMETOOLONG;
        journal_close();
        journal.sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        strcpy(journal.sa.sun_path, path);
        journal.sa_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
        return journal_connect();
}

void journal_close(void) {
        journal.fd = safe_close(journal.fd);
}

uint64_t journal_dropped_total(void) {
        return journal.dropped_total;
}

typedef struct Entry {
        char buf[JOURNAL_ENTRY_MAX];
        size_t len;
        bool overflow;
} Entry;

static void put(Entry *e, const void *p, size_t n) {
        if (e->overflow || n > sizeof e->buf - e->len) {
                e->overflow = true;
                return;
        }
        memcpy(e->buf + e->len, p, n);
        e->len += n;
}

static void put_field(Entry *e, const JournalField *f) {
        size_t klen = strlen(f->key);
        put(e, f->key, klen);
        if (memchr(f->value, '\n', f->len)) {
                uint64_t le = htole64((uint64_t) f->len);
                put(e, "\n", 1);
                put(e, &le, sizeof le);
        } else
                put(e, "=", 1);
        put(e, f->value, f->len);
        put(e, "\n", 1);
}

/* 0, -EAGAIN when the journal takes nothing now, or another -errno. */
static int send_entry(const Entry *e) {
        for (int attempt = 0; attempt < 2; attempt++) {
                int r = journal_connect();
                if (r < 0)
                        return r;
                if (send(journal.fd, e->buf, e->len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
                        return 0;
                r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
                if (r != -ECONNREFUSED && r != -ENOTCONN)
                        return r;
                /* journald was restarted: its socket is a new one. */
                journal_close();
        }
        return -ECONNREFUSED;
}

static void send_notice(void) {
        char msg[96];
        int n = snprintf(msg, sizeof msg, "%" PRIu64 " log record%s dropped while the journal was not taking them",
                         journal.dropped, journal.dropped == 1 ? "" : "s");
        JournalField f[] = {
                { "MESSAGE", msg, (size_t) n },
                { "PRIORITY", "4", 1 },
                { "SYSLOG_IDENTIFIER", "forkvisor", 9 },
        };
        Entry e;
        e.len = 0;
        e.overflow = false;
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                put_field(&e, &f[i]);
        if (send_entry(&e) == 0)
                journal.dropped = 0;
}

bool journal_send(const JournalField *f, size_t n) {
        static Entry e; /* 16 KiB: not on the stack of whoever logs */

        e.len = 0;
        e.overflow = false;
        for (size_t i = 0; i < n; i++)
                put_field(&e, &f[i]);
        if (!e.overflow) {
                if (journal.dropped > 0)
                        send_notice();
                if (journal.dropped == 0 && send_entry(&e) == 0)
                        return true;
        }
        journal.dropped++;
        journal.dropped_total++;
        return false;
}

/* SPDX-License-Identifier: MIT */
/* The journal sender: the native protocol's framing, and a journal that takes no more costs
 * dropped, counted entries, never a wait. */
#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "journal.h"
#include "tests.h"

/* A journal of our own: a datagram socket bound at path; returns its fd. */
static int fake_journal(char *path, size_t size) {
        snprintf(path, size, "/tmp/test-journal.%d", (int) getpid());
        unlink(path);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -1;
        return fd;
}

#define F(k, v) { (k), (v), strlen(v) }

TEST(fields_are_framed_as_journald_reads_them) {
        char path[64], buf[512];
        int j = fake_journal(path, sizeof path);
        ASSERT_TRUE(j >= 0);
        ASSERT_OK(journal_open(path));
        JournalField f[] = { F("MESSAGE", "hello"), F("PRIORITY", "6"), F("MULTI", "a\nb") };
        ASSERT_TRUE(journal_send(f, 3));
        ssize_t n = recv(j, buf, sizeof buf, 0);
        char want[64];
        size_t w = 0;
        uint64_t le = htole64(3);
        memcpy(want + w, "MESSAGE=hello\nPRIORITY=6\nMULTI\n", 31), w += 31;
        memcpy(want + w, &le, 8), w += 8;
        memcpy(want + w, "a\nb\n", 4), w += 4;
        ASSERT_EQ(n, (ssize_t) w);
        ASSERT_TRUE(memcmp(buf, want, w) == 0);
        journal_close();
        close(j);
        unlink(path);
}

TEST(a_journal_that_reads_nothing_costs_entries_not_waits) {
        char path[64], buf[4096];
        int j = fake_journal(path, sizeof path);
        ASSERT_TRUE(j >= 0);
        ASSERT_OK(journal_open(path));
        JournalField f[] = { F("MESSAGE", "filler"), F("PRIORITY", "6") };
        uint64_t before = journal_dropped_total();
        unsigned sent = 0, dropped = 0;
        /* A blocking sender would hang here once the receiver's queue is full. */
        for (int i = 0; i < 5000; i++) {
                if (journal_send(f, 2))
                        sent++;
                else
                        dropped++;
        }
        ASSERT_TRUE(sent > 0);
        ASSERT_TRUE(dropped > 0);
        ASSERT_EQ(journal_dropped_total() - before, dropped);
        while (recv(j, buf, sizeof buf, 0) > 0)
                ;
        /* It reads again: first the count of what it missed, then the entry. */
        JournalField g[] = { F("MESSAGE", "back"), F("PRIORITY", "6") };
        ASSERT_TRUE(journal_send(g, 2));
        ssize_t n = recv(j, buf, sizeof buf - 1, 0);
        ASSERT_TRUE(n > 0);
        buf[n] = '\0';
        char want[128];
        snprintf(want, sizeof want, "MESSAGE=%u log records dropped while the journal was not taking them\n", dropped);
        ASSERT_CONTAINS(buf, want);
        n = recv(j, buf, sizeof buf - 1, 0);
        ASSERT_TRUE(n > 0);
        buf[n] = '\0';
        ASSERT_STREQ(buf, "MESSAGE=back\nPRIORITY=6\n");
        journal_close();
        close(j);
        unlink(path);
}

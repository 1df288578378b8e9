/* SPDX-License-Identifier: MIT */
/* Unit tests of listen's addresses and names (listen-addr.c), LISTEN_FDNAMES (listen.c), and the
 * sockets listen.c opens: a unix one with its mode, a stale socket file replaced, a port taken. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "listen-addr.h"
#include "listen.h"
#include "macro.h"
#include "tests.h"

TEST(inet_addresses) {
        ListenAddr a;
        char buf[INET6_ADDRSTRLEN];

        ASSERT_OK(listen_addr_parse("tcp:127.0.0.1:8080", &a));
        ASSERT_EQ(a.kind, LISTEN_KIND_TCP);
        ASSERT_EQ(a.u.in.sin_family, AF_INET);
        ASSERT_EQ(ntohs(a.u.in.sin_port), 8080);
        ASSERT_EQ(a.len, sizeof a.u.in);
        ASSERT_STREQ(inet_ntop(AF_INET, &a.u.in.sin_addr, buf, sizeof buf), "127.0.0.1");

        ASSERT_OK(listen_addr_parse("udp:*:53", &a));
        ASSERT_EQ(a.kind, LISTEN_KIND_UDP);
        ASSERT_TRUE(a.u.in.sin_addr.s_addr == htonl(INADDR_ANY));

        ASSERT_OK(listen_addr_parse("tcp:[::1]:65535", &a));
        ASSERT_EQ(a.u.in6.sin6_family, AF_INET6);
        ASSERT_EQ(ntohs(a.u.in6.sin6_port), 65535);
        ASSERT_STREQ(inet_ntop(AF_INET6, &a.u.in6.sin6_addr, buf, sizeof buf), "::1");
        ASSERT_OK(listen_addr_parse("tcp:[::]:1", &a));

        static const char *const bad[] = {
                "", "tcp:", "tcp:127.0.0.1", "tcp:127.0.0.1:", "tcp:127.0.0.1:0", "tcp:127.0.0.1:65536",
                "tcp:127.0.0.1:80x", "tcp:127.0.0.1:+80", "tcp:127.0.0.1:-1", "tcp:localhost:80",
                "tcp::80", "tcp:[::1]80", "tcp:[::1]:", "tcp:[]:80", "tcp:[127.0.0.1]:80", "tcp:::1:80",
                "tcp:1.2.3:80", "sctp:1.2.3.4:80", "TCP:1.2.3.4:80", "tcp:1.2.3.4:000080",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_ERR(listen_addr_parse(bad[i], &a), -EINVAL);
}

TEST(unix_addresses) {
        ListenAddr a;
        char longp[200];

        ASSERT_OK(listen_addr_parse("unix:/run/app.sock", &a));
        ASSERT_EQ(a.kind, LISTEN_KIND_UNIX);
        ASSERT_STREQ(a.u.un.sun_path, "/run/app.sock");
        ASSERT_OK(listen_addr_parse("unix:@app", &a));
        ASSERT_EQ(a.u.un.sun_path[0], '\0');
        ASSERT_TRUE(memcmp(a.u.un.sun_path + 1, "app", 3) == 0);
        ASSERT_EQ(a.len, offsetof(struct sockaddr_un, sun_path) + 4);

        ASSERT_ERR(listen_addr_parse("unix:", &a), -EINVAL);
        ASSERT_ERR(listen_addr_parse("unix:rel.sock", &a), -EINVAL); /* config/ makes it absolute */
        ASSERT_ERR(listen_addr_parse("unix:/", &a), -EINVAL);
        ASSERT_ERR(listen_addr_parse("unix:@", &a), -EINVAL);
        ASSERT_ERR(listen_addr_parse("unix:/a\nb", &a), -EINVAL);
        memset(longp, 'x', sizeof longp);
        longp[0] = '/';
        longp[sizeof a.u.un.sun_path] = '\0'; /* one byte too many for the NUL */
        char *v;
        ASSERT_TRUE(asprintf(&v, "unix:%s", longp) > 0);
        ASSERT_ERR(listen_addr_parse(v, &a), -EINVAL);
        v[strlen(v) - 1] = '\0';
        ASSERT_OK(listen_addr_parse(v, &a));
        free(v);
}

TEST(names) {
        static const char *const good[] = { "http", "a.b-c_d", "~" };
        static const char *const bad[] = { "", "a:b", "a b", "tab\t", "\xc3\xa9", "\x7f" };
        char longest[LISTEN_NAME_MAX + 2] = "";

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ASSERT_TRUE(listen_name_is_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_TRUE(!listen_name_is_valid(bad[i]));
        while (strlen(longest) < LISTEN_NAME_MAX)
                strcat(longest, "n");
        ASSERT_TRUE(listen_name_is_valid(longest)); /* systemd's FDNAME_MAX */
        strcat(longest, "n");
        ASSERT_TRUE(!listen_name_is_valid(longest));
}

TEST(fdnames) {
        char *none[] = { NULL }, *one[] = { "web", NULL }, *two[] = { "a", "b", NULL };
        char *s;

        ASSERT_STREQ(s = listen_fdnames(none, 2), "unknown:unknown");
        free(s);
        ASSERT_STREQ(s = listen_fdnames(NULL, 1), "unknown");
        free(s);
        ASSERT_STREQ(s = listen_fdnames(one, 3), "web:web:web");
        free(s);
        ASSERT_STREQ(s = listen_fdnames(two, 2), "a:b");
        free(s);
}

TEST(open_unix_and_taken) {
        char dir[] = "/tmp/test-listen-XXXXXX", addr[128], err[256];
        struct stat st;
        ListenSet set = {}, other = {};

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(addr, sizeof addr, "unix:%s/s.sock", dir);
        char *addrs[] = { addr, NULL };
        ASSERT_OK(listen_set_open(&set, addrs, 0640, err, sizeof err));
        ASSERT_EQ(set.n, 1);
        ASSERT_OK(stat(addr + 5, &st));
        ASSERT_TRUE(S_ISSOCK(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0640);
        /* Opened again while the first still listens: a live socket is in use, never replaced
         * (it could be the node's own control socket). */
        ASSERT_ERR(listen_set_open(&other, addrs, 0666, err, sizeof err), -EADDRINUSE);
        ASSERT_CONTAINS(err, "a live socket is there");
        ASSERT_EQ(other.n, 0);
        /* Opened again once it is closed (a new node, the old socket file left): the stale
         * file is replaced. */
        listen_set_close(&set);
        ASSERT_EQ(set.n, 0);
        ASSERT_OK(stat(addr + 5, &st));
        ASSERT_OK(listen_set_open(&other, addrs, 0666, err, sizeof err));
        listen_set_close(&other);

        /* A file that is no socket is never removed: the bind fails and says so. */
        unlink(addr + 5);
        FILE *f = fopen(addr + 5, "w");
        ASSERT_TRUE(f != NULL);
        fclose(f);
        ASSERT_ERR(listen_set_open(&set, addrs, 0666, err, sizeof err), -EADDRINUSE);
        ASSERT_CONTAINS(err, "cannot listen on unix:");
        ASSERT_EQ(set.n, 0);
        ASSERT_TRUE(set.fds == NULL);
        unlink(addr + 5);
        rmdir(dir);

        /* A TCP port held by another socket: named in the error, nothing left open. */
        int held = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sin;
        ASSERT_TRUE(held >= 0);
        ASSERT_OK(bind(held, (struct sockaddr *) &sin, sizeof sin));
        ASSERT_OK(listen(held, 1));
        ASSERT_OK(getsockname(held, (struct sockaddr *) &sin, &len));
        snprintf(addr, sizeof addr, "tcp:127.0.0.1:%u", ntohs(sin.sin_port));
        ASSERT_ERR(listen_set_open(&set, addrs, 0666, err, sizeof err), -EADDRINUSE);
        ASSERT_CONTAINS(err, addr);
        ASSERT_CONTAINS(err, "Address already in use");
        ASSERT_EQ(set.n, 0);
        close(held);
        ASSERT_OK(listen_set_open(&set, addrs, 0666, err, sizeof err));
        ASSERT_EQ(set.n, 1);
        listen_set_close(&set);
}

/* SPDX-License-Identifier: MIT */
/* libforkvisor's registry side: fv_whereis/fv_whereis_all against a table written by the node's
 * own registry code (the mapping is lazy, kept, and sees later changes), the refusals of what is
 * not a table we know, and fv_register/fv_unregister against a fake node: the node's reasons
 * mapped to errno values, other messages kept in order, and answers on a private socket. */
#include "forkvisor.h"

#include <assert.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "registry.h"
#include "tests.h"
#include "fake-node.h"


static void set_registry_env(int fd) {
        char e[16];
        snprintf(e, sizeof e, "%d", fd);
        setenv("FORKVISOR_REGISTRY", e, 1);
}

/* A handle on a socketpair nobody answers: enough for lookups, which send nothing. */
static struct fv *lookup_handle(int sv[2]) {
        struct fv *fv = NULL;
        pair(sv);
        int r = fv_open_fd(sv[0], FV_NOBATCH, &fv);
        assert(r == 0);
        return fv;
}

typedef struct Seen {
        pid_t pid[8];
        uint32_t gen[8];
        int n;
        struct fv *fv;         /* when set, each call looks a name up again (re-entrance) */
} Seen;

static void seen(pid_t pid, uint32_t generation, void *ud) {
        Seen *s = ud;
        if (s->n < 8) {
                s->pid[s->n] = pid;
                s->gen[s->n] = generation;
        }
        s->n++;
        if (s->fv) {
                pid_t p = 0;
                int r = fv_whereis_all(s->fv, "a", NULL, NULL);
                assert(r == 1);
                r = fv_whereis(s->fv, "a", &p);
                assert(r == 0 && p == 100);
        }
}

TEST(whereis_reads_the_table_the_node_writes) {
        Registry *reg = NULL;
        struct fv *fv;
        int sv[2];
        pid_t pid = 0;
        Seen s = {};

        ASSERT_OK(registry_new(64, &reg));
        ASSERT_OK(registry_add(reg, "a", 100, 1, 0));
        ASSERT_OK(registry_add(reg, "grp", 101, 2, REGISTRY_DUPLICATE));
        ASSERT_OK(registry_add(reg, "grp", 102, 3, REGISTRY_DUPLICATE));
        set_registry_env(registry_reader_fd(reg));
        fv = lookup_handle(sv);

        ASSERT_OK(fv_whereis(fv, "a", &pid));
        ASSERT_EQ(pid, 100);
        ASSERT_OK(fv_whereis(fv, "+a", NULL)); /* the '+' changes nothing; NULL: just test */
        ASSERT_ERR(fv_whereis(fv, "nobody", &pid), -ENOENT);
        ASSERT_ERR(fv_whereis(fv, "", &pid), -EINVAL);
        ASSERT_ERR(fv_whereis(fv, "+", &pid), -EINVAL);
        ASSERT_ERR(fv_whereis(fv, NULL, &pid), -EINVAL);
        ASSERT_ERR(fv_whereis(NULL, "a", &pid), -EINVAL);
        /* Longer than any name the table can hold: nobody. */
        ASSERT_ERR(fv_whereis(fv, "0123456789012345678901234567890123456789012345678901234567890", &pid), -ENOENT);

        ASSERT_EQ(fv_whereis_all(fv, "+grp", seen, &s), 2);
        ASSERT_EQ(s.n, 2);
        ASSERT_TRUE((s.pid[0] == 101 && s.pid[1] == 102) || (s.pid[0] == 102 && s.pid[1] == 101));
        ASSERT_EQ(s.gen[0], (uint32_t) s.pid[0] - 99);
        ASSERT_EQ(s.gen[1], (uint32_t) s.pid[1] - 99);
        ASSERT_OK(fv_whereis(fv, "grp", &pid));
        ASSERT_EQ(pid, s.pid[0]); /* the first holder, as whereis without --all */
        ASSERT_EQ(fv_whereis_all(fv, "a", NULL, NULL), 1);
        ASSERT_EQ(fv_whereis_all(fv, "nobody", seen, &s), 0);
        ASSERT_EQ(s.n, 2);
        ASSERT_ERR(fv_whereis_all(fv, "", seen, &s), -EINVAL);

        /* fn may look names up with the same handle. */
        s = (Seen) { .fv = fv };
        ASSERT_EQ(fv_whereis_all(fv, "grp", seen, &s), 2);
        ASSERT_EQ(s.n, 2);

        /* The mapping is kept and shared: the node's later changes show at once. */
        ASSERT_OK(registry_add(reg, "late", 103, 4, 0));
        ASSERT_OK(registry_remove(reg, "a", 100));
        ASSERT_OK(fv_whereis(fv, "late", &pid));
        ASSERT_EQ(pid, 103);
        ASSERT_ERR(fv_whereis(fv, "a", &pid), -ENOENT);
        /* Many removals and adds force rebuilds of the table: lookups stay right. */
        for (int k = 0; k < 500; k++) {
                ASSERT_OK(registry_add(reg, "churn", 200 + k, 10 + k, 0));
                ASSERT_OK(fv_whereis(fv, "churn", &pid));
                ASSERT_EQ(pid, 200 + k);
                ASSERT_OK(registry_remove(reg, "churn", 200 + k));
                ASSERT_EQ(fv_whereis_all(fv, "grp", NULL, NULL), 2);
        }

        /* The environment is read at the first lookup only. */
        unsetenv("FORKVISOR_REGISTRY");
        ASSERT_OK(fv_whereis(fv, "late", &pid));
        fv_close(fv);
        close(sv[1]);
        registry_free(reg);
}

static void count_holder(pid_t pid, uint32_t generation, void *ud) {
        uint64_t *seen = ud; /* bit pid - 1000 */
        if (pid >= 1000 && pid < 1064 && generation == (uint32_t) pid + 1)
                *seen |= UINT64_C(1) << (pid - 1000);
        else
                *seen = 0;
}

/* Many holders of one key: the buffer they are gathered in grows, and every one is shown once. */
TEST(whereis_all_shows_many_holders) {
        Registry *reg = NULL;
        struct fv *fv;
        int sv[2];

        ASSERT_OK(registry_new(256, &reg));
        for (int i = 0; i < 64; i++)
                ASSERT_OK(registry_add(reg, "many", 1000 + i, 1001 + (uint32_t) i, REGISTRY_DUPLICATE));
        set_registry_env(registry_reader_fd(reg));
        fv = lookup_handle(sv);
        for (int round = 0; round < 2; round++) { /* the second time in the buffer kept */
                uint64_t seen = 0;
                ASSERT_EQ(fv_whereis_all(fv, "+many", count_holder, &seen), 64);
                ASSERT_TRUE(seen == UINT64_MAX);
        }
        ASSERT_EQ(fv_whereis_all(fv, "many", NULL, NULL), 64);
        fv_close(fv);
        close(sv[1]);
        registry_free(reg);
}

/* A memfd holding `size` bytes of header words w[0..4] (the rest 0). */
static int fake_table(uint32_t magic, uint32_t version, uint32_t slots, uint32_t slot_size, size_t size) {
        int fd = memfd_create("fake-registry", MFD_CLOEXEC);
        uint32_t w[5] = { magic, version, slots, slot_size, 0 };
        assert(fd >= 0);
        int r = ftruncate(fd, (off_t) size);
        assert(r == 0);
        ssize_t n = pwrite(fd, w, size < sizeof w ? size : sizeof w, 0);
        assert(n >= 0);
        return fd;
}

static int whereis_with(int fd, const char *env) {
        struct fv *fv;
        int sv[2];
        pid_t pid;
        if (env)
                setenv("FORKVISOR_REGISTRY", env, 1);
        else if (fd >= -1)
                set_registry_env(fd);
        else
                unsetenv("FORKVISOR_REGISTRY");
        fv = lookup_handle(sv);
        int r = fv_whereis(fv, "a", &pid);
        int k = fv_whereis_all(fv, "a", NULL, NULL);
        assert(k == r || (r == -ENOENT && k == 0));
        fv_close(fv);
        close(sv[1]);
        return r;
}

TEST(whereis_refuses_what_is_not_a_table_it_knows) {
        int p[2];
        ASSERT_OK(pipe2(p, O_CLOEXEC));

        ASSERT_ERR(whereis_with(-2, NULL), -ENXIO);
        ASSERT_ERR(whereis_with(0, ""), -ENXIO);
        ASSERT_ERR(whereis_with(0, "four"), -EBADF);
        ASSERT_ERR(whereis_with(0, "-1"), -EBADF);
        ASSERT_ERR(whereis_with(999, NULL), -EBADF);
        ASSERT_ERR(whereis_with(p[0], NULL), -ENODEV);

        /* Tables of another version or slot size, a wrong magic; more slots than the file
         * holds, not a power of two, shorter than a header; last, an empty table of a layout we
         * know: nobody holds anything. */
        static const struct {
                uint32_t magic, version, slots, slot_size;
                size_t size;
                int err;
        } tables[] = {
                { REGISTRY_MAGIC, 2, 16, 64, 64 + 16 * 64, -EPROTONOSUPPORT },
                { REGISTRY_MAGIC, 1, 16, 128, 64 + 16 * 128, -EPROTONOSUPPORT },
                { 0x12345678, 1, 16, 64, 64 + 16 * 64, -EBADMSG },
                { REGISTRY_MAGIC, 1, 32, 64, 64 + 16 * 64, -EBADMSG },
                { REGISTRY_MAGIC, 1, 12, 64, 64 + 16 * 64, -EBADMSG },
                { REGISTRY_MAGIC, 1, 16, 64, 20, -EBADMSG },
                { REGISTRY_MAGIC, 1, 16, 64, 64 + 16 * 64, -ENOENT },
        };
        int fd;
        for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
                fd = fake_table(tables[i].magic, tables[i].version, tables[i].slots, tables[i].slot_size,
                                tables[i].size);
                ASSERT_ERR(whereis_with(fd, NULL), tables[i].err);
                close(fd);
        }
        /* A write-only descriptor cannot be mapped. */
        fd = fake_table(REGISTRY_MAGIC, 1, 16, 64, 64 + 16 * 64);
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int wo = open(path, O_WRONLY | O_CLOEXEC);
        ASSERT_TRUE(wo >= 0);
        ASSERT_ERR(whereis_with(wo, NULL), -EACCES);
        close(wo);
        close(fd);
        close(p[0]);
        close(p[1]);
        unsetenv("FORKVISOR_REGISTRY");
}

TEST(whereis_maps_again_after_a_failure) {
        Registry *reg = NULL;
        struct fv *fv;
        int sv[2];
        pid_t pid = 0;

        ASSERT_OK(registry_new(16, &reg));
        ASSERT_OK(registry_add(reg, "a", 7, 1, 0));
        unsetenv("FORKVISOR_REGISTRY");
        fv = lookup_handle(sv);
        ASSERT_ERR(fv_whereis(fv, "a", &pid), -ENXIO);
        set_registry_env(registry_reader_fd(reg));
        ASSERT_OK(fv_whereis(fv, "a", &pid));
        ASSERT_EQ(pid, 7);
        fv_close(fv);
        close(sv[1]);
        registry_free(reg);
        unsetenv("FORKVISOR_REGISTRY");
}

/* ---- register / unregister against a fake node ---- */

/* The fake node reads one record of one frame; *ret_fd gets a passed fd or -1. */
static int node_read(int fd, Frame *f, int *ret_fd) {
        union {
                struct cmsghdr align;
                char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { rec, sizeof rec };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control };
        ssize_t n = recvmsg(fd, &mh, 0);
        struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
        size_t used;
        *ret_fd = -1;
        if (c && c->cmsg_type == SCM_RIGHTS)
                memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        if (n <= 0 || proto_decode(rec, (size_t) n, f, &used) < 0 || used != (size_t) n)
                return -1;
        return 0;
}

static void node_send(int fd, uint8_t kind, uint64_t ref, const char *target, const char *payload) {
        char b[512];
        Frame f = { .kind = kind, .ref = ref, .target = target, .target_len = target ? strlen(target) : 0,
                    .payload = payload, .payload_len = strlen(payload) };
        int n = proto_encode(&f, b, sizeof b);
        assert(n > 0);
        ssize_t k = send(fd, b, (size_t) n, 0);
        assert(k == n);
}

static bool target_is(const Frame *f, const char *t) {
        return f->target_len == strlen(t) && memcmp(f->target, t, f->target_len) == 0;
}

/* The node of the test below: answers each of the requests in turn with `answers`, and casts a
 * message to the mailbox before each answer. */
static const char *const answers[] = {
        "taken: the name is held by another process",
        "ok",
        "registry full (see registry_size)",
        "not registered by this process",
        "bad name: 1-40 printable characters, no whitespace or '@'",
        "out of memory",
        "something new",
};

static int fake_node(int fd, bool private) {
        for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
                Frame f;
                int pfd;
                char cast[32];
                if (node_read(fd, &f, &pfd) < 0)
                        return 10 + (int) i;
                if ((f.kind != PROTO_REGISTER && f.kind != PROTO_UNREGISTER) || f.ref == 0 ||
                    !target_is(&f, i == 1 ? "+grp" : "svc"))
                        return 30 + (int) i;
                if (private != (pfd >= 0) || private != !!(f.flags & PROTO_FLAG_REPLY_FD))
                        return 50 + (int) i;
                if (i == 3 && f.kind != PROTO_UNREGISTER)
                        return 70;
                snprintf(cast, sizeof cast, "during %zu", i);
                node_send(fd, PROTO_CAST, 0, "me", cast);
                /* Answered through the mailbox, or on the private socket alone. */
                int to = pfd >= 0 ? pfd : fd;
                node_send(to, i == 1 ? PROTO_REPLY : PROTO_ERROR, f.ref, NULL, answers[i]);
                if (pfd >= 0)
                        close(pfd);
        }
        return 0;
}

/* Forks the fake node on sv[1] (expecting private-socket calls or not), makes the requests it
 * answers through fv, and waits for the node, which must have seen what it expected. */
static void requests(int *failed_, int sv[2], struct fv *fv, bool private) {
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                _exit(fake_node(sv[1], private));
        }
        ASSERT_ERR(fv_register(fv, "svc"), -EEXIST);
        ASSERT_OK(fv_register(fv, "+grp"));
        ASSERT_ERR(fv_register(fv, "svc"), -ENOSPC);
        ASSERT_ERR(fv_unregister(fv, "svc"), -ENOENT);
        ASSERT_ERR(fv_register(fv, "svc"), -EINVAL);
        ASSERT_ERR(fv_register(fv, "svc"), -ENOMEM);
        ASSERT_ERR(fv_register(fv, "svc"), -EREMOTEIO);
        ASSERT_EQ(wait_child(pid), 0);
}

TEST(register_through_the_mailbox_keeps_every_other_message_in_order) {
        struct fv *fv;
        struct fv_message m;
        int sv[2];
        char want[32];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH, &fv));
        ASSERT_ERR(fv_register(fv, ""), -EINVAL);
        ASSERT_ERR(fv_register(fv, NULL), -EINVAL);
        ASSERT_ERR(fv_unregister(NULL, "x"), -EINVAL);
        requests(failed_, sv, fv, false);
        if (*failed_)
                return;
        /* Every cast that came while a request waited, in order, nothing else. */
        for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
                ASSERT_OK(fv_recv(fv, 0, &m));
                snprintf(want, sizeof want, "during %zu", i);
                ASSERT_EQ(m.kind, FV_CAST);
                ASSERT_STREQ(m.payload, want);
        }
        ASSERT_ERR(fv_recv(fv, 0, &m), -EAGAIN);
        fv_close(fv);
        close(sv[1]);
}

TEST(register_with_private_calls_does_not_read_the_mailbox) {
        struct fv *fv;
        struct fv_message m;
        int sv[2];
        char want[32];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH | FV_PRIVATE_CALLS, &fv));
        requests(failed_, sv, fv, true);
        if (*failed_)
                return;
        ASSERT_EQ(fv_pending(fv), 0);
        for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
                ASSERT_OK(fv_recv(fv, 0, &m));
                snprintf(want, sizeof want, "during %zu", i);
                ASSERT_STREQ(m.payload, want);
        }
        fv_close(fv);
        close(sv[1]);
}

TEST(register_fails_when_the_node_is_gone) {
        struct fv *fv;
        int sv[2];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH, &fv));
        close(sv[1]);
        ASSERT_ERR(fv_register(fv, "svc"), -EPIPE);
        fv_close(fv);
}

/* SPDX-License-Identifier: MIT */
/* The registry under a writer at full speed: this process (the writer, as the node is) removes
 * and re-adds thousands of entries, adds and drops short-lived names so that tombstones pile up
 * and the table is rebuilt again and again, while reader processes map the reader fd read-only
 * (as children do) and look names up without pause. Every entry encodes its own name: name
 * "n<k>" is held by pid 1000 + k with a generation whose low 12 bits are k (the rest counts the
 * writer's rounds), and duplicate key "g<j>" by pids 1000 + k for k ≡ j (mod 8), so an entry
 * mixed from two writes — the name of one and the pid or generation of another — is caught;
 * pairs of names of one home slot take turns in that slot, so that slot's readers race a
 * rewrite from one name to the other all the time.
 * Readers may get -EBUSY; they must never get a torn or mixed entry, nor miss a name that was
 * never removed. They report through a pipe.
 *
 * FV_STRESS_VERBOSE=1 prints what every reader saw. FV_STRESS_THREADS=1 runs the readers as threads of this process on the writer's own mapping
 * instead, for a ThreadSanitizer build by hand:
 *   clang -std=gnu17 -g -O1 -fsanitize=thread -D_GNU_SOURCE -Isrc -o /tmp/stress-tsan \
 *         tests/unit/test-registry-stress.c src/registry.c && FV_STRESS_THREADS=1 /tmp/stress-tsan */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "tests.h"

#define NAMES 1600    /* "n<k>", k < NAMES */
#define STABLE 160    /* n<k> for k < STABLE are never removed */
#define GROUPS 8      /* "g<j>", held by the n<k> with k % 5 == 0 and k >= STABLE, j = k % 8 */
#define PAIRS 200     /* pairs of names of one home slot, that take turns in the same slot */
#define HOT 4         /* the first HOT pairs swap at every step of the writer, and so do the
                       * holders of "h<i>", i < HOT: pid HOT_PID + 2i, then HOT_PID + 2i + 1 */
#define HOT_PID 5000000
#define READERS 2
#define RUN_NS 1500000000ull
#define TMP_PID 3000000
#define PAIR_PID 4000000

/* Pair i: "px<i>." and "py<i>.<j>" of the same home slot (found by brute force against the
 * table's hash, 32-bit FNV-1a), of different lengths. The writer swaps one for the other, so
 * that slot holds one name, then the other: a reader's copy mixed from both is caught. Filled
 * in before the readers start. */
static char pair_name[PAIRS][2][REGISTRY_NAME_MAX + 1];

static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 16777619u;
        return h;
}

static void make_pairs(uint32_t slots) {
        for (unsigned i = 0; i < PAIRS; i++) {
                char *x = pair_name[i][0], *y = pair_name[i][1];
                int n = snprintf(x, REGISTRY_NAME_MAX + 1, "px%u.", i);
                while (n < 12 + (int) (i % 30))
                        x[n++] = (char) ('A' + i % 26);
                x[n] = '\0';
                for (unsigned j = 0;; j++) {
                        snprintf(y, REGISTRY_NAME_MAX + 1, "py%u.%u", i, j);
                        if (((fnv1a(x) ^ fnv1a(y)) & (slots - 1)) == 0)
                                break;
                }
        }
}

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

/* n<k>, padded to 8..48 bytes with a letter of k: names of every length, tails that differ. */
static void name_of(unsigned k, char buf[REGISTRY_NAME_MAX + 1]) {
        int n = snprintf(buf, REGISTRY_NAME_MAX + 1, "n%u.", k);
        int len = 8 + (int) (k * 7 % 41);
        while (n < len)
                buf[n++] = (char) ('a' + k % 26);
        buf[n] = '\0';
}

static bool in_group(unsigned k) {
        return k >= STABLE && k % 5 == 0;
}

static uint32_t gen_of(unsigned k, uint32_t round) {
        return round << 12 | k;
}

typedef struct Report {
        uint64_t lookups, hits, misses, busy;
        uint64_t torn;        /* an entry whose fields do not belong together */
        uint64_t lost;        /* a stable name reported absent */
        uint64_t groups, group_holders, group_busy, group_bad;
        uint64_t lists, listed, list_busy, list_bad;
        uint32_t max_round;   /* the newest writer round seen in an entry */
        char first_error[160];
} Report;

static void note_error(Report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(Report *rep, const char *fmt, ...) {
        if (rep->first_error[0])
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(rep->first_error, sizeof rep->first_error, fmt, ap);
        va_end(ap);
}

/* entry_ok: E is whole — its name, pid, generation and flags belong together. */
static bool entry_ok(const RegistryEntry *e, Report *rep) {
        unsigned k;
        char want[REGISTRY_NAME_MAX + 1];
        uint32_t round = e->generation >> 12;
        if (e->name[0] == 'n' && sscanf(e->name, "n%u.", &k) == 1 && k < NAMES) {
                name_of(k, want);
                if (strcmp(e->name, want) != 0 || e->pid != (pid_t) (1000 + k) || (e->generation & 0xfff) != k ||
                    e->flags != 0)
                        return false;
        } else if (e->name[0] == 'g' && sscanf(e->name, "g%u", &k) == 1 && k < GROUPS) {
                unsigned holder = (unsigned) e->pid - 1000;
                if (e->pid < 1000 || holder >= NAMES || !in_group(holder) || holder % GROUPS != k ||
                    (e->generation & 0xfff) != holder || e->flags != REGISTRY_DUPLICATE)
                        return false;
        } else if (e->name[0] == 'p' && (e->name[1] == 'x' || e->name[1] == 'y') &&
                   sscanf(e->name + 2, "%u", &k) == 1 && k < PAIRS) {
                int which = e->name[1] == 'y';
                if (strcmp(e->name, pair_name[k][which]) != 0 || e->pid != (pid_t) (PAIR_PID + 2 * k + which) ||
                    (e->generation & 0xfff) != k || e->flags != 0)
                        return false;
        } else if (e->name[0] == 'h' && sscanf(e->name, "h%u", &k) == 1 && k < HOT) {
                /* Only the pid and the generation tell the two holders apart. */
                if (e->pid != (pid_t) (HOT_PID + (e->generation & 0xfff)) || (e->generation & 0xfff) / 2 != k ||
                    e->flags != 0)
                        return false;
        } else if (e->name[0] == 't' && sscanf(e->name, "t%u", &k) == 1) {
                if (e->pid != (pid_t) (TMP_PID + k % 1000000) || e->generation != k || e->flags != 0)
                        return false;
                round = 0;
        } else
                return false;
        if (round > rep->max_round)
                rep->max_round = round;
        return true;
}

typedef struct GroupCheck {
        Report *rep;
        unsigned group;
        int n;
        pid_t pid[NAMES / 5];
        bool bad;
} GroupCheck;

static void group_holder(const RegistryEntry *e, void *ud) {
        GroupCheck *g = ud;
        char want[16];
        snprintf(want, sizeof want, "g%u", g->group);
        if (strcmp(e->name, want) != 0 || !entry_ok(e, g->rep)) {
                if (!g->bad)
                        note_error(g->rep, "group g%u: bad holder %s pid %d gen %#x flags %u", g->group, e->name,
                                   (int) e->pid, e->generation, e->flags);
                g->bad = true;
                return;
        }
        for (int i = 0; i < g->n; i++)
                if (g->pid[i] == e->pid) {
                        note_error(g->rep, "group g%u: pid %d listed twice", g->group, (int) e->pid);
                        g->bad = true;
                }
        if (g->n < (int) (sizeof g->pid / sizeof g->pid[0]))
                g->pid[g->n++] = e->pid;
}

static void listed_entry(const RegistryEntry *e, void *ud) {
        Report *rep = ud;
        rep->listed++;
        if (!entry_ok(e, rep)) {
                rep->list_bad++;
                note_error(rep, "list: bad entry %s pid %d gen %#x flags %u", e->name, (int) e->pid, e->generation,
                           e->flags);
        }
}

/* The reader: lookups in a random order until *stop (or a deadline, should the writer die). */
static void reader(const RegistryView *v, const atomic_int *stop, unsigned seed, Report *rep) {
        char names[NAMES][REGISTRY_NAME_MAX + 1];
        for (unsigned k = 0; k < NAMES; k++)
                name_of(k, names[k]);
        char hot[HOT][8];
        for (unsigned i = 0; i < HOT; i++)
                snprintf(hot[i], sizeof hot[i], "h%u", i);
        uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1), deadline = now_ns() + 4 * RUN_NS;
        for (uint64_t i = 0;; i++) {
                if ((i & 1023) == 0 && (atomic_load_explicit(stop, memory_order_relaxed) || now_ns() > deadline))
                        break;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                /* A quarter of the lookups on the hot names, the rest on every name. */
                unsigned k = (x >> 32) % 4 == 0 ? NAMES + (unsigned) (x % (2 * HOT))
                                                 : (unsigned) (x % (NAMES + 2 * PAIRS));
                const char *name = k < NAMES ? names[k] : pair_name[(k - NAMES) / 2][(k - NAMES) % 2];
                if ((x >> 32) % 8 == 0)
                        name = hot[x % HOT];
                RegistryEntry e;
                memset(&e, 0xa5, sizeof e);
                int r = registry_lookup(v, name, &e);
                rep->lookups++;
                if (r == -EBUSY)
                        rep->busy++;
                else if (r == 0) {
                        rep->misses++;
                        if (k < STABLE) {
                                rep->lost++;
                                note_error(rep, "stable name %s not found", name);
                        }
                } else if (r == 1) {
                        rep->hits++;
                        if (strcmp(e.name, name) != 0 || !entry_ok(&e, rep)) {
                                rep->torn++;
                                note_error(rep, "lookup %s: got %.48s pid %d gen %#x flags %u", name, e.name,
                                           (int) e.pid, e.generation, e.flags);
                        }
                } else {
                        rep->torn++;
                        note_error(rep, "lookup %s: unexpected %d", name, r);
                }
                if ((i & 63) == 0) {
                        GroupCheck g = { .rep = rep, .group = (unsigned) (i >> 6) % GROUPS };
                        char key[16];
                        snprintf(key, sizeof key, "g%u", g.group);
                        int n = registry_lookup_all(v, key, group_holder, &g);
                        rep->groups++;
                        if (n == -EBUSY)
                                rep->group_busy++;
                        else if (g.bad || n != g.n) {
                                rep->group_bad++;
                                note_error(rep, "group %s: %d holders, %d listed", key, n, g.n);
                        } else
                                rep->group_holders += (uint64_t) n;
                }
                if ((i & 8191) == 0) {
                        rep->lists++;
                        if (registry_list(v, listed_entry, rep) == -EBUSY)
                                rep->list_busy++;
                }
        }
}

/* The writer, for RUN_NS: rounds of remove + re-add (a new generation) of every name that is
 * not stable, the group holders leaving and joining again, and short-lived names that leave
 * tombstones behind (rebuilds). *rounds: how many rounds it completed. */
static void writer(int *failed_, Registry *r, uint32_t *rounds) {
        char names[NAMES][REGISTRY_NAME_MAX + 1];
        for (unsigned k = 0; k < NAMES; k++)
                name_of(k, names[k]);
        uint64_t end = now_ns() + RUN_NS;
        unsigned tmp = 0;
        int held[PAIRS] = {}; /* which of the pair holds its slot: the x name first (fill) */
        int hot_held[HOT] = {};
        uint32_t round;
        for (round = 1; now_ns() < end; round++) {
                /* A different order every round, so entries land in different slots: steps
                 * prime to NAMES - STABLE (1440 = 2^5 3^2 5), so every name once a round. */
                static const unsigned steps[] = { 1, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53 };
                unsigned step = steps[round % (sizeof steps / sizeof steps[0])], start = round * 131;
                for (unsigned i = 0; i < NAMES - STABLE; i++) {
                        unsigned k = STABLE + (start + i * step) % (NAMES - STABLE);
                        ASSERT_OK(registry_remove(r, names[k], 1000 + (pid_t) k));
                        ASSERT_OK(registry_add(r, names[k], 1000 + (pid_t) k, gen_of(k, round), 0));
                        if (in_group(k)) {
                                char key[16];
                                snprintf(key, sizeof key, "g%u", k % GROUPS);
                                ASSERT_OK(registry_remove(r, key, 1000 + (pid_t) k));
                                ASSERT_OK(registry_add(r, key, 1000 + (pid_t) k, gen_of(k, round), REGISTRY_DUPLICATE));
                        }
                        /* Pairs swap: the name held leaves, the other takes its slot. A hot
                         * pair at every step, and the others in turn. */
                        unsigned h = i % HOT;
                        char hname[8];
                        snprintf(hname, sizeof hname, "h%u", h);
                        ASSERT_OK(registry_remove(r, hname, HOT_PID + 2 * (pid_t) h + hot_held[h]));
                        hot_held[h] = !hot_held[h];
                        ASSERT_OK(registry_add(r, hname, HOT_PID + 2 * (pid_t) h + hot_held[h],
                                               round << 12 | (2 * h + (unsigned) hot_held[h]), 0));
                        for (unsigned p = i % HOT;; p = HOT + (round * 7 + i) % (PAIRS - HOT)) {
                                int was = held[p];
                                ASSERT_OK(registry_remove(r, pair_name[p][was], PAIR_PID + 2 * (pid_t) p + was));
                                ASSERT_OK(registry_add(r, pair_name[p][!was], PAIR_PID + 2 * (pid_t) p + !was,
                                                       gen_of(p, round), 0));
                                held[p] = !was;
                                if (p >= HOT)
                                        break;
                        }
                        if (i % 8 == 0) {
                                char t[16];
                                snprintf(t, sizeof t, "t%u", tmp);
                                ASSERT_OK(registry_add(r, t, TMP_PID + (pid_t) (tmp % 1000000), tmp, 0));
                                if (tmp > 0) {
                                        snprintf(t, sizeof t, "t%u", tmp - 1);
                                        ASSERT_OK(registry_remove(r, t, TMP_PID + (pid_t) ((tmp - 1) % 1000000)));
                                }
                                tmp++;
                        }
                }
        }
        *rounds = round - 1;
}

static void fill(int *failed_, Registry *r) {
        char name[REGISTRY_NAME_MAX + 1];
        make_pairs(registry_view(r)->slots);
        for (unsigned i = 0; i < PAIRS; i++)
                ASSERT_OK(registry_add(r, pair_name[i][0], PAIR_PID + 2 * (pid_t) i, gen_of(i, 0), 0));
        for (unsigned i = 0; i < HOT; i++) {
                snprintf(name, sizeof name, "h%u", i);
                ASSERT_OK(registry_add(r, name, HOT_PID + 2 * (pid_t) i, 2 * i, 0));
        }
        for (unsigned k = 0; k < NAMES; k++) {
                name_of(k, name);
                ASSERT_OK(registry_add(r, name, 1000 + (pid_t) k, gen_of(k, 0), 0));
                if (in_group(k)) {
                        char key[16];
                        snprintf(key, sizeof key, "g%u", k % GROUPS);
                        ASSERT_OK(registry_add(r, key, 1000 + (pid_t) k, gen_of(k, 0), REGISTRY_DUPLICATE));
                }
        }
}

static uint32_t table_seq(const Registry *r) {
        return atomic_load(&((const _Atomic uint32_t *) registry_view(r)->base)[4]);
}

static bool verbose(void) {
        const char *v = getenv("FV_STRESS_VERBOSE");
        return v && strcmp(v, "1") == 0;
}

/* check_report: the figures go to stderr when something is wrong (or FV_STRESS_VERBOSE=1). */
static void check_report(int *failed_, int who, const Report *rep) {
        bool bad = rep->torn || rep->lost || rep->group_bad || rep->list_bad || rep->lookups <= 10000 ||
                   rep->hits <= rep->lookups / 2 || rep->lists == 0 || rep->max_round == 0;
        if (bad || verbose())
                fprintf(stderr,
                "  reader %d: %" PRIu64 " lookups (%" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " busy), torn %" PRIu64
                ", lost %" PRIu64 "; %" PRIu64 " group walks (%" PRIu64 " busy, %" PRIu64 " bad), %" PRIu64
                " lists (%" PRIu64 " busy, %" PRIu64 " bad entries); newest round seen %u\n",
                who, rep->lookups, rep->hits, rep->misses, rep->busy, rep->torn, rep->lost, rep->groups, rep->group_busy,
                rep->group_bad, rep->lists, rep->list_busy, rep->list_bad, rep->max_round);
        if (rep->first_error[0])
                fprintf(stderr, "  reader %d: first error: %s\n", who, rep->first_error);
        ASSERT_EQ(rep->torn, 0);
        ASSERT_EQ(rep->lost, 0);
        ASSERT_EQ(rep->group_bad, 0);
        ASSERT_EQ(rep->list_bad, 0);
        ASSERT_TRUE(rep->lookups > 10000);
        ASSERT_TRUE(rep->hits > rep->lookups / 2);
        ASSERT_TRUE(rep->lists > 0);
        ASSERT_TRUE(rep->max_round > 0); /* it did read while the writer rewrote */
}

/* What a reader process sends back through the pipe (less than PIPE_BUF: one write). */
typedef struct ReaderMsg {
        int who;
        Report rep;
} ReaderMsg;

typedef struct ThreadArg {
        const RegistryView *v;
        const atomic_int *stop;
        unsigned seed;
        Report rep;
} ThreadArg;

static void *reader_thread(void *p) {
        ThreadArg *a = p;
        reader(a->v, a->stop, a->seed, &a->rep);
        return NULL;
}

TEST(stress_readers_never_see_torn_entries) {
        Registry *r;
        /* 4096 slots, ~2,050 entries live (a load of 0.5: long chains), a rebuild every ~1,000
         * short-lived names. */
        ASSERT_OK(registry_new(2400, &r));
        ASSERT_EQ(registry_view(r)->slots, 4096);
        fill(failed_, r);
        if (*failed_)
                return;
        const char *t = getenv("FV_STRESS_THREADS");
        bool threads = t && strcmp(t, "1") == 0;
        atomic_int *stop = mmap(NULL, sizeof *stop, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(stop != MAP_FAILED);
        atomic_store(stop, 0);
        uint32_t seq0 = table_seq(r), rounds = 0;

        if (threads) {
                ThreadArg a[READERS];
                pthread_t th[READERS];
                for (int i = 0; i < READERS; i++) {
                        a[i] = (ThreadArg) { .v = registry_view(r), .stop = stop, .seed = (unsigned) i };
                        ASSERT_EQ(pthread_create(&th[i], NULL, reader_thread, &a[i]), 0);
                }
                writer(failed_, r, &rounds);
                atomic_store(stop, 1);
                for (int i = 0; i < READERS; i++)
                        pthread_join(th[i], NULL);
                if (*failed_)
                        return;
                for (int i = 0; i < READERS; i++)
                        check_report(failed_, i, &a[i].rep);
        } else {
                int fds[2];
                ASSERT_OK(pipe2(fds, O_CLOEXEC));
                pid_t kids[READERS];
                for (int i = 0; i < READERS; i++) {
                        kids[i] = fork();
                        ASSERT_TRUE(kids[i] >= 0);
                        if (kids[i] == 0) {
                                /* A child: the writer's mapping goes, the reader fd is mapped
                                 * read-only, as fd 4 is in a worker. */
                                close(fds[0]);
                                Report rep = {};
                                const RegistryView *w = registry_view(r);
                                size_t size = w->size;
                                munmap((void *) w->base, size);
                                struct stat st;
                                void *p = MAP_FAILED;
                                RegistryView v;
                                if (fstat(registry_reader_fd(r), &st) == 0 && (size_t) st.st_size == size)
                                        p = mmap(NULL, size, PROT_READ, MAP_SHARED, registry_reader_fd(r), 0);
                                if (p == MAP_FAILED || registry_view_init(&v, p, size) < 0) {
                                        rep.torn = 1;
                                        note_error(&rep, "cannot map the reader fd");
                                } else
                                        reader(&v, stop, (unsigned) i, &rep);
                                ReaderMsg m = { .who = i, .rep = rep };
                                ssize_t n = write(fds[1], &m, sizeof m);
                                _exit(n > 0 ? 0 : 1);
                        }
                }
                close(fds[1]);
                writer(failed_, r, &rounds);
                atomic_store(stop, 1);
                ReaderMsg msg[READERS];
                int got = 0;
                for (uint64_t deadline = now_ns() + 5000000000ull; got < READERS && now_ns() < deadline;) {
                        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
                        if (poll(&pfd, 1, 100) <= 0)
                                continue;
                        ssize_t n = read(fds[0], &msg[got], sizeof msg[got]);
                        if (n <= 0)
                                break;
                        if (n == (ssize_t) sizeof msg[got])
                                got++;
                }
                close(fds[0]);
                for (int i = 0; i < READERS; i++) {
                        int status;
                        if (got < READERS)
                                kill(kids[i], SIGKILL);
                        ASSERT_EQ(waitpid(kids[i], &status, 0), kids[i]);
                        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                }
                if (*failed_)
                        return;
                ASSERT_EQ(got, READERS);
                for (int i = 0; i < READERS; i++)
                        check_report(failed_, msg[i].who, &msg[i].rep);
        }
        munmap(stop, sizeof *stop);
        uint32_t rebuilds = (table_seq(r) - seq0) / 2;
        if (verbose() || rounds < 2 || rebuilds < 2)
                fprintf(stderr, "  writer: %u rounds of %d rewrites, %u rebuilds (%s)\n", rounds, NAMES - STABLE, rebuilds,
                threads ? "reader threads" : "reader processes");
        ASSERT_TRUE(rounds >= 2);
        ASSERT_TRUE(rebuilds >= 2);
        /* And the table is whole at the end. */
        char name[REGISTRY_NAME_MAX + 1];
        for (unsigned k = 0; k < NAMES; k++) {
                RegistryEntry e;
                name_of(k, name);
                ASSERT_EQ(registry_lookup(registry_view(r), name, &e), 1);
                ASSERT_EQ(e.pid, 1000 + (pid_t) k);
                ASSERT_EQ(e.generation, gen_of(k, k < STABLE ? 0 : rounds));
        }
        for (unsigned i = 0; i < PAIRS; i++) {
                RegistryEntry ex, ey;
                int x = registry_lookup(registry_view(r), pair_name[i][0], &ex);
                int y = registry_lookup(registry_view(r), pair_name[i][1], &ey);
                ASSERT_EQ(x + y, 1);
                ASSERT_EQ(x ? ex.pid : ey.pid, PAIR_PID + 2 * (pid_t) i + (x ? 0 : 1));
        }
        registry_free(r);
}

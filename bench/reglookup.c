/* SPDX-License-Identifier: MIT */
/* Registry lookups from a child (issue 4), against a bare floor, in one run:
 *
 *   reglookup RUNS [NAMES]
 *
 * This process is the writer, as the node is: a registry of NAMES names (default 10,000) made
 * with src/registry.c's writer API (registry_new(NAMES): 32,768 slots). A forked child, the
 * reader, maps the reader fd read-only (as a worker maps fd 4), faults it in with one pass, and
 * times registry_lookup() over every name in a random order, in batches of NAMES lookups: ns
 * per lookup, the median of BATCHES batches. Hits are names held; misses are as many names
 * nobody holds. Then the same while the writer rewrites entries non-stop (registry_remove +
 * registry_add of a random name with a new generation, at full speed, on the other CPU).
 * The floor, in the reader too: a plain open-addressing table of the same names in private
 * memory — same hash, slot count and 64-byte slots, compared in place, no sequence counters,
 * nothing atomic. Reader and writer are pinned to CPUs 0 and 1 when there are two.
 *
 * Per run, lines "WHAT NS_PER_LOOKUP [busy=FRACTION rewrites_per_s=R]" for WHAT in bare_hit,
 * bare_miss, hit, miss, busy_hit, busy_miss (-EBUSY answers count as lookups; their fraction
 * is printed). The runs interleave idle, bare and busy measurements. */
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bench.h"
#include "registry.h"

#define BATCHES 101
#define NAME_LEN 24

static unsigned n_names;
static char (*hit_names)[NAME_LEN], (*miss_names)[NAME_LEN];
static unsigned *order; /* a random permutation of 0 .. n_names - 1 */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd32(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (uint32_t) rng;
}

static void pin(int cpu) {
        if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
                return;
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        (void) sched_setaffinity(0, sizeof set, &set);
}

/* ---- the floor: a plain table in private memory ----------------------------------------- */

typedef struct BareSlot {
        uint32_t len; /* 0: empty */
        int32_t pid;
        uint32_t gen;
        char name[52];
} BareSlot;
_Static_assert(sizeof(BareSlot) == 64, "64-byte slots, as the registry's");

static BareSlot *bare;
static uint32_t bare_mask;

static uint32_t fnv1a(const char *s, size_t len) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char) s[i]) * 16777619u;
        return h;
}

static void bare_build(uint32_t slots) {
        bare = aligned_alloc(64, (size_t) slots * sizeof *bare);
        if (!bare)
                die("out of memory");
        memset(bare, 0, (size_t) slots * sizeof *bare);
        bare_mask = slots - 1;
        for (unsigned k = 0; k < n_names; k++) {
                size_t len = strlen(hit_names[k]);
                uint32_t i = fnv1a(hit_names[k], len) & bare_mask;
                while (bare[i].len)
                        i = (i + 1) & bare_mask;
                bare[i].len = (uint32_t) len;
                bare[i].pid = (int32_t) (1000 + k);
                bare[i].gen = 1;
                memcpy(bare[i].name, hit_names[k], len);
        }
}

static const BareSlot *bare_lookup(const char *name) {
        size_t len = strlen(name);
        for (uint32_t i = fnv1a(name, len) & bare_mask;; i = (i + 1) & bare_mask) {
                const BareSlot *s = &bare[i];
                if (!s->len)
                        return NULL;
                if (s->len == len && memcmp(s->name, name, len) == 0)
                        return s;
        }
}

/* ---- timing ----------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static volatile uint64_t sink;

/* One measurement: BATCHES passes over NAMES in the random order; the median ns per lookup.
 * *busy_frac gets the fraction of -EBUSY answers. */
static double measure(const RegistryView *v, char (*names)[NAME_LEN], bool use_bare, double *busy_frac) {
        uint64_t per[BATCHES], busy = 0, acc = 0;
        for (int b = 0; b < BATCHES; b++) {
                uint64_t t0 = now_ns();
                if (use_bare)
                        for (unsigned i = 0; i < n_names; i++) {
                                const BareSlot *s = bare_lookup(names[order[i]]);
                                acc += s ? (uint64_t) s->pid : 1;
                        }
                else
                        for (unsigned i = 0; i < n_names; i++) {
                                RegistryEntry e;
                                int r = registry_lookup(v, names[order[i]], &e);
                                if (r > 0)
                                        acc += (uint64_t) e.pid;
                                else if (r == -EBUSY)
                                        busy++;
                        }
                per[b] = now_ns() - t0;
        }
        sink += acc;
        qsort(per, BATCHES, sizeof per[0], cmp_u64);
        if (busy_frac)
                *busy_frac = (double) busy / ((double) BATCHES * n_names);
        return (double) per[BATCHES / 2] / n_names;
}

/* ---- the reader child ------------------------------------------------------------------- */

/* Commands on cmd: 'i' = measure idle (and bare), 'b' = measure while the writer writes,
 * 'q' = quit. Results go back on res, one line per measurement, then "." on a line. */
static _Noreturn void reader(int cmd, int res, int fd) {
        pin(0);
        struct stat st;
        if (fstat(fd, &st) < 0)
                die("fstat: %s", strerror(errno));
        const void *p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                die("mmap of the reader fd: %s", strerror(errno));
        RegistryView v;
        int r = registry_view_init(&v, p, (size_t) st.st_size);
        if (r < 0)
                die("registry_view_init: %s", strerror(-r));
        bare_build(v.slots);
        /* Fault the table in, and check it holds what it should. */
        for (unsigned k = 0; k < n_names; k++) {
                RegistryEntry e;
                if (registry_lookup(&v, hit_names[k], &e) != 1 || e.pid != (pid_t) (1000 + k))
                        die("reader: %s is not in the table", hit_names[k]);
                if (registry_lookup(&v, miss_names[k], &e) != 0 || bare_lookup(miss_names[k]))
                        die("reader: %s is in the table", miss_names[k]);
                if (!bare_lookup(hit_names[k]))
                        die("reader: %s is not in the floor's table", hit_names[k]);
        }
        FILE *out = fdopen(res, "w");
        if (!out)
                die("fdopen: %s", strerror(errno));
        for (;;) {
                char c;
                if (read(cmd, &c, 1) != 1 || c == 'q')
                        _exit(0);
                double bh, bm, h, m, fh, fm;
                if (c == 'i') {
                        bh = measure(NULL, hit_names, true, NULL);
                        h = measure(&v, hit_names, false, &fh);
                        bm = measure(NULL, miss_names, true, NULL);
                        m = measure(&v, miss_names, false, &fm);
                        fprintf(out, "bare_hit %.2f\nhit %.2f busy=%.6f\nbare_miss %.2f\nmiss %.2f busy=%.6f\n.\n", bh,
                                h, fh, bm, m, fm);
                } else {
                        h = measure(&v, hit_names, false, &fh);
                        m = measure(&v, miss_names, false, &fm);
                        fprintf(out, "busy_hit %.2f busy=%.6f\nbusy_miss %.2f busy=%.6f\n.\n", h, fh, m, fm);
                }
                fflush(out);
        }
}

/* ---- the writer ------------------------------------------------------------------------- */

/* Reads the reader's answer to one command, up to ".", and prints it; with write_meanwhile, it rewrites
 * entries non-stop until the answer is complete. */
static void collect(Registry *reg, int in_fd, bool write_meanwhile) {
        uint64_t rewrites = 0, t0 = now_ns();
        uint32_t gen = 2;
        char buf[4096];
        size_t have = 0;
        for (;;) {
                if (write_meanwhile) {
                        struct pollfd pfd = { .fd = in_fd, .events = POLLIN };
                        while (poll(&pfd, 1, 0) == 0)
                                for (int i = 0; i < 256; i++) {
                                        unsigned k = rnd32() % n_names;
                                        if (registry_remove(reg, hit_names[k], (pid_t) (1000 + k)) < 0 ||
                                            registry_add(reg, hit_names[k], (pid_t) (1000 + k), gen++, 0) < 0)
                                                die("writer: cannot rewrite %s", hit_names[k]);
                                        rewrites++;
                                }
                }
                ssize_t n = read(in_fd, buf + have, sizeof buf - 1 - have);
                if (n <= 0)
                        die("the reader died");
                have += (size_t) n;
                buf[have] = '\0';
                if (strstr(buf, "\n.\n") || strncmp(buf, ".\n", 2) == 0)
                        break;
        }
        double dt = (double) (now_ns() - t0) / 1e9;
        for (char *s = buf, *nl; (nl = strchr(s, '\n')); s = nl + 1) {
                *nl = '\0';
                if (strcmp(s, ".") == 0)
                        break;
                if (write_meanwhile)
                        printf("%s rewrites_per_s=%.0f\n", s, (double) rewrites / dt);
                else
                        printf("%s\n", s);
        }
        fflush(stdout);
}

int main(int argc, char **argv) {
        if (argc < 2)
                die("usage: reglookup RUNS [NAMES]");
        int runs = atoi(argv[1]);
        n_names = argc > 2 ? (unsigned) atoi(argv[2]) : 10000;
        if (runs < 1 || n_names < 1)
                die("usage: reglookup RUNS [NAMES]");
        hit_names = calloc(n_names, sizeof *hit_names);
        miss_names = calloc(n_names, sizeof *miss_names);
        order = calloc(n_names, sizeof *order);
        if (!hit_names || !miss_names || !order)
                die("out of memory");
        /* Names as a configuration would have them: a section name, an instance number. */
        for (unsigned k = 0; k < n_names; k++) {
                snprintf(hit_names[k], NAME_LEN, "worker.%u", k);
                snprintf(miss_names[k], NAME_LEN, "absent.%u", k);
                order[k] = k;
        }
        for (unsigned i = n_names - 1; i > 0; i--) {
                unsigned j = rnd32() % (i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
        }

        Registry *reg;
        int r = registry_new(n_names, &reg);
        if (r < 0)
                die("registry_new: %s", strerror(-r));
        for (unsigned k = 0; k < n_names; k++)
                if ((r = registry_add(reg, hit_names[k], (pid_t) (1000 + k), 1, 0)) < 0)
                        die("registry_add %s: %s", hit_names[k], strerror(-r));

        int cmd[2], res[2];
        if (pipe(cmd) < 0 || pipe(res) < 0)
                die("pipe: %s", strerror(errno));
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                close(cmd[1]);
                close(res[0]);
                reader(cmd[0], res[1], registry_reader_fd(reg));
        }
        close(cmd[0]);
        close(res[1]);
        pin(1);
        printf("# %u names, %u slots, %d runs of %d batches of %u lookups\n", n_names, registry_view(reg)->slots, runs,
               BATCHES, n_names);
        for (int i = 0; i < runs; i++) {
                if (write(cmd[1], "i", 1) != 1)
                        die("the reader died");
                collect(reg, res[0], false);
                if (write(cmd[1], "b", 1) != 1)
                        die("the reader died");
                collect(reg, res[0], true);
        }
        (void) !write(cmd[1], "q", 1);
        int status;
        waitpid(pid, &status, 0);
        registry_free(reg);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

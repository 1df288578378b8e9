/* SPDX-License-Identifier: MIT */
/* The registry table (src/registry.c): unique and duplicate keys, collisions, deletes that keep
 * probe chains whole, tombstones reused, rebuilds, a full table, wrap-around, name lengths, the
 * versioned header, a random run checked against a plain model, and the seals that keep every
 * reader from writing. The concurrent readers are in test-registry-stress.c.
 *
 * Where a test needs to know where an entry landed it reads the writer's mapping through the
 * layout that registry.h documents (64-byte header, then 64-byte slots: u32 sequence, u32 state
 * word, pid, generation, name) and the hash registry.c uses (32-bit FNV-1a of the name). */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "registry.h"
#include "tests.h"

enum { ST_EMPTY = 0, ST_USED = 1, ST_DELETED = 2 };

static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 16777619u;
        return h;
}

static uint32_t nslots(const Registry *r) {
        return registry_view(r)->slots;
}

static uint32_t home_of(const Registry *r, const char *name) {
        return fnv1a(name) & (nslots(r) - 1);
}

static const _Atomic uint32_t *raw_slot(const Registry *r, uint32_t i) {
        return (const _Atomic uint32_t *) ((const char *) registry_view(r)->base + 64 + (size_t) i * 64);
}

static unsigned slot_state(const Registry *r, uint32_t i) {
        return atomic_load(&raw_slot(r, i)[1]) & 0xff;
}

/* slot_holds: slot i is used by NAME. */
static bool slot_holds(const Registry *r, uint32_t i, const char *name) {
        const _Atomic uint32_t *s = raw_slot(r, i);
        uint32_t w0 = atomic_load(&s[1]);
        size_t len = strlen(name);
        if ((w0 & 0xff) != ST_USED || ((w0 >> 16) & 0xff) != len)
                return false;
        char buf[48];
        for (int k = 0; k < 12; k++) {
                uint32_t w = atomic_load(&s[4 + k]);
                memcpy(buf + 4 * k, &w, 4);
        }
        return memcmp(buf, name, len) == 0;
}

static uint32_t table_seq(const Registry *r) {
        return atomic_load(&((const _Atomic uint32_t *) registry_view(r)->base)[4]);
}

static unsigned count_state(const Registry *r, unsigned state) {
        unsigned n = 0;
        for (uint32_t i = 0; i < nslots(r); i++)
                n += slot_state(r, i) == state;
        return n;
}

/* colliding: the Nth name "PREFIX<k>" (k counting up from *next) whose home slot is HOME. */
static void colliding(const Registry *r, const char *prefix, uint32_t home, unsigned *next, char *out, size_t size) {
        for (;; (*next)++) {
                snprintf(out, size, "%s%u", prefix, *next);
                if (home_of(r, out) == home) {
                        (*next)++;
                        return;
                }
        }
}

static pid_t pid_of(const Registry *r, const char *name) {
        RegistryEntry e;
        int k = registry_lookup(registry_view(r), name, &e);
        return k == 1 ? e.pid : k == 0 ? 0 : -1;
}

/* Holders of a key: collected into a small array. */
typedef struct Holders {
        int n;
        pid_t pid[512];
        uint32_t gen[512];
        bool bad;
        const char *name;
} Holders;

static void collect(const RegistryEntry *e, void *ud) {
        Holders *h = ud;
        if (h->n >= 512 || (h->name && strcmp(e->name, h->name) != 0)) {
                h->bad = true;
                return;
        }
        h->pid[h->n] = e->pid;
        h->gen[h->n] = e->generation;
        h->n++;
}

static bool holds(const Holders *h, pid_t pid) {
        for (int i = 0; i < h->n; i++)
                if (h->pid[i] == pid)
                        return true;
        return false;
}

static bool all_distinct(const Holders *h) {
        for (int i = 0; i < h->n; i++)
                for (int j = i + 1; j < h->n; j++)
                        if (h->pid[i] == h->pid[j])
                                return false;
        return true;
}

/* ---- unique and duplicate keys ------------------------------------------------------------- */

TEST(unique_add_lookup) {
        Registry *r;
        ASSERT_OK(registry_new(100, &r));
        const RegistryView *v = registry_view(r);
        ASSERT_EQ(v->slots, 256); /* 100 names at a load of at most 0.6 */
        ASSERT_OK(registry_add(r, "alpha", 100, 7, 0));
        ASSERT_OK(registry_add(r, "beta", 101, 8, 0));
        RegistryEntry e;
        ASSERT_EQ(registry_lookup(v, "alpha", &e), 1);
        ASSERT_EQ(e.pid, 100);
        ASSERT_EQ(e.generation, 7);
        ASSERT_EQ(e.flags, 0);
        ASSERT_STREQ(e.name, "alpha");
        ASSERT_EQ(registry_lookup(v, "beta", &e), 1);
        ASSERT_EQ(e.pid, 101);
        ASSERT_EQ(e.generation, 8);
        ASSERT_EQ(registry_lookup(v, "gamma", &e), 0);
        ASSERT_EQ(registry_lookup(v, "alph", &e), 0);
        ASSERT_EQ(registry_lookup(v, "alphaa", &e), 0);
        ASSERT_EQ(registry_lookup(v, "", &e), 0);
        /* A lookup without a callback target for the duplicates' iterator: just the count. */
        ASSERT_EQ(registry_lookup_all(v, "alpha", NULL, NULL), 1);
        registry_free(r);
}

TEST(unique_name_taken_is_eexist) {
        Registry *r;
        ASSERT_OK(registry_new(16, &r));
        ASSERT_OK(registry_add(r, "svc", 100, 1, 0));
        ASSERT_ERR(registry_add(r, "svc", 200, 1, 0), -EEXIST);
        ASSERT_ERR(registry_add(r, "svc", 100, 2, 0), -EEXIST);
        /* ... and not as a duplicate key either. */
        ASSERT_ERR(registry_add(r, "svc", 200, 1, REGISTRY_DUPLICATE), -EEXIST);
        ASSERT_ERR(registry_add(r, "svc", 100, 1, REGISTRY_DUPLICATE), -EEXIST);
        ASSERT_EQ(pid_of(r, "svc"), 100);
        ASSERT_EQ(registry_lookup_all(registry_view(r), "svc", NULL, NULL), 1);
        /* A stale incarnation's pid cannot remove it; its own can, then the name is free. */
        ASSERT_ERR(registry_remove(r, "svc", 200), -ENOENT);
        ASSERT_EQ(pid_of(r, "svc"), 100);
        ASSERT_OK(registry_remove(r, "svc", 100));
        ASSERT_ERR(registry_remove(r, "svc", 100), -ENOENT);
        ASSERT_EQ(pid_of(r, "svc"), 0);
        ASSERT_OK(registry_add(r, "svc", 200, 3, 0));
        RegistryEntry e;
        ASSERT_EQ(registry_lookup(registry_view(r), "svc", &e), 1);
        ASSERT_EQ(e.pid, 200);
        ASSERT_EQ(e.generation, 3);
        registry_free(r);
}

TEST(duplicate_keys_held_by_many) {
        Registry *r;
        ASSERT_OK(registry_new(400, &r));
        const RegistryView *v = registry_view(r);
        for (pid_t p = 1000; p < 1200; p++)
                ASSERT_OK(registry_add(r, "workers", p, (uint32_t) p * 3, REGISTRY_DUPLICATE));
        Holders h = { .name = "workers" };
        ASSERT_EQ(registry_lookup_all(v, "workers", collect, &h), 200);
        ASSERT_EQ(h.n, 200);
        ASSERT_TRUE(!h.bad);
        ASSERT_TRUE(all_distinct(&h));
        for (int i = 0; i < h.n; i++) {
                ASSERT_TRUE(h.pid[i] >= 1000 && h.pid[i] < 1200);
                ASSERT_EQ(h.gen[i], (uint32_t) h.pid[i] * 3);
        }
        /* A pid holds a key once. */
        ASSERT_ERR(registry_add(r, "workers", 1050, 1, REGISTRY_DUPLICATE), -EEXIST);
        /* The same name as a unique key is refused while it is a duplicate key. */
        ASSERT_ERR(registry_add(r, "workers", 5000, 1, 0), -EEXIST);
        ASSERT_ERR(registry_add(r, "workers", 1050, 1, 0), -EEXIST);
        /* registry_lookup gives one of them, with its flags. */
        RegistryEntry e;
        ASSERT_EQ(registry_lookup(v, "workers", &e), 1);
        ASSERT_TRUE(e.flags & REGISTRY_DUPLICATE);
        ASSERT_TRUE(e.pid >= 1000 && e.pid < 1200);

        /* Remove every other holder: the rest are listed, each once. */
        for (pid_t p = 1000; p < 1200; p += 2)
                ASSERT_OK(registry_remove(r, "workers", p));
        ASSERT_ERR(registry_remove(r, "workers", 1000), -ENOENT);
        h = (Holders) { .name = "workers" };
        ASSERT_EQ(registry_lookup_all(v, "workers", collect, &h), 100);
        ASSERT_TRUE(all_distinct(&h));
        for (pid_t p = 1000; p < 1200; p++)
                ASSERT_EQ(holds(&h, p), p % 2 == 1);
        /* A removed holder may join again, once. */
        ASSERT_OK(registry_add(r, "workers", 1000, 9, REGISTRY_DUPLICATE));
        ASSERT_ERR(registry_add(r, "workers", 1000, 9, REGISTRY_DUPLICATE), -EEXIST);
        ASSERT_EQ(registry_lookup_all(v, "workers", NULL, NULL), 101);

        /* A unique name cannot become a duplicate key, whoever asks. */
        ASSERT_OK(registry_add(r, "solo", 7, 1, 0));
        ASSERT_ERR(registry_add(r, "solo", 8, 1, REGISTRY_DUPLICATE), -EEXIST);
        ASSERT_ERR(registry_add(r, "solo", 7, 1, REGISTRY_DUPLICATE), -EEXIST);
        /* Once every holder of a duplicate key left, the name is free for either kind. */
        ASSERT_OK(registry_add(r, "tmp", 1, 1, REGISTRY_DUPLICATE));
        ASSERT_OK(registry_remove(r, "tmp", 1));
        ASSERT_OK(registry_add(r, "tmp", 2, 1, 0));
        ASSERT_EQ(pid_of(r, "tmp"), 2);
        registry_free(r);
}

TEST(remove_pid_removes_every_name_of_that_pid_only) {
        Registry *r;
        ASSERT_OK(registry_new(64, &r));
        ASSERT_OK(registry_add(r, "a", 10, 1, 0));
        ASSERT_OK(registry_add(r, "g1", 10, 1, REGISTRY_DUPLICATE));
        ASSERT_OK(registry_add(r, "g2", 10, 1, REGISTRY_DUPLICATE));
        ASSERT_OK(registry_add(r, "g1", 11, 1, REGISTRY_DUPLICATE));
        ASSERT_OK(registry_add(r, "b", 11, 1, 0));
        ASSERT_EQ(registry_remove_pid(r, 10), 3);
        ASSERT_EQ(registry_remove_pid(r, 10), 0);
        ASSERT_EQ(pid_of(r, "a"), 0);
        ASSERT_EQ(pid_of(r, "g2"), 0);
        ASSERT_EQ(pid_of(r, "g1"), 11);
        ASSERT_EQ(pid_of(r, "b"), 11);
        ASSERT_EQ(registry_lookup_all(registry_view(r), "g1", NULL, NULL), 1);
        registry_free(r);
}

/* ---- collisions, deletes in chains, tombstones, wrap-around -------------------------------- */

TEST(collisions_and_deletes_keep_chains) {
        Registry *r;
        ASSERT_OK(registry_new(100, &r)); /* 256 slots */
        const uint32_t home = 77;
        char names[6][32], absent[32], again[32];
        unsigned next = 0;
        for (int i = 0; i < 6; i++)
                colliding(r, "c", home, &next, names[i], sizeof names[i]);
        colliding(r, "c", home, &next, absent, sizeof absent);
        colliding(r, "c", home, &next, again, sizeof again);
        for (int i = 0; i < 6; i++)
                ASSERT_OK(registry_add(r, names[i], 100 + i, (uint32_t) i, 0));
        /* One chain, in the order of insertion, from the home slot on. */
        for (int i = 0; i < 6; i++)
                ASSERT_TRUE(slot_holds(r, home + (uint32_t) i, names[i]));
        for (int i = 0; i < 6; i++)
                ASSERT_EQ(pid_of(r, names[i]), 100 + i);
        /* A name of the same chain that was never added: the walk reaches the chain's end. */
        ASSERT_EQ(pid_of(r, absent), 0);
        ASSERT_ERR(registry_remove(r, absent, 1), -ENOENT);

        /* Delete the first of the chain: a tombstone, and the rest are still found. */
        ASSERT_OK(registry_remove(r, names[0], 100));
        ASSERT_EQ(slot_state(r, home), ST_DELETED);
        ASSERT_EQ(pid_of(r, names[0]), 0);
        for (int i = 1; i < 6; i++)
                ASSERT_EQ(pid_of(r, names[i]), 100 + i);
        /* ... and one in the middle. */
        ASSERT_OK(registry_remove(r, names[3], 103));
        ASSERT_EQ(slot_state(r, home + 3), ST_DELETED);
        ASSERT_EQ(pid_of(r, names[3]), 0);
        ASSERT_EQ(pid_of(r, names[4]), 104);
        ASSERT_EQ(pid_of(r, names[5]), 105);
        ASSERT_EQ(pid_of(r, absent), 0);
        /* A name held after a tombstone of its chain is still refused (the add walks past the
         * free slot it found, to the end of the chain). */
        ASSERT_ERR(registry_add(r, names[5], 999, 1, 0), -EEXIST);
        ASSERT_EQ(slot_state(r, home), ST_DELETED);
        ASSERT_TRUE(slot_holds(r, home + 5, names[5]));

        /* Tombstones are reused, the first of the chain first. */
        ASSERT_OK(registry_add(r, absent, 300, 1, 0));
        ASSERT_TRUE(slot_holds(r, home, absent));
        ASSERT_OK(registry_add(r, again, 301, 1, 0));
        ASSERT_TRUE(slot_holds(r, home + 3, again));
        ASSERT_EQ(count_state(r, ST_DELETED), 0);
        /* A name removed and added again takes the first free slot of its chain. */
        ASSERT_OK(registry_remove(r, names[1], 101));
        ASSERT_OK(registry_remove(r, names[5], 105));
        ASSERT_OK(registry_add(r, names[5], 105, 2, 0));
        ASSERT_TRUE(slot_holds(r, home + 1, names[5]));
        ASSERT_EQ(slot_state(r, home + 5), ST_DELETED);
        RegistryEntry e;
        ASSERT_EQ(registry_lookup(registry_view(r), names[5], &e), 1);
        ASSERT_EQ(e.pid, 105);
        ASSERT_EQ(e.generation, 2);
        for (int i = 2; i < 5; i++)
                ASSERT_EQ(pid_of(r, names[i]), i == 3 ? 0 : 100 + i);
        registry_free(r);
}

TEST(duplicate_holders_across_a_chain_with_tombstones) {
        Registry *r;
        ASSERT_OK(registry_new(100, &r));
        const uint32_t home = 200;
        char other[4][32];
        unsigned next = 0;
        /* The key and unrelated names of the same chain, interleaved, then holes punched. */
        char key[32];
        colliding(r, "k", home, &next, key, sizeof key);
        for (int i = 0; i < 4; i++)
                colliding(r, "k", home, &next, other[i], sizeof other[i]);
        for (int i = 0; i < 8; i++) {
                ASSERT_OK(registry_add(r, key, 10 + i, (uint32_t) i, REGISTRY_DUPLICATE));
                if (i % 2 == 0)
                        ASSERT_OK(registry_add(r, other[i / 2], 50 + i, 0, 0));
        }
        ASSERT_OK(registry_remove(r, key, 10));
        ASSERT_OK(registry_remove(r, other[1], 52));
        ASSERT_OK(registry_remove(r, key, 14));
        Holders h = { .name = key };
        ASSERT_EQ(registry_lookup_all(registry_view(r), key, collect, &h), 6);
        ASSERT_TRUE(all_distinct(&h));
        for (int i = 0; i < 8; i++)
                ASSERT_EQ(holds(&h, 10 + i), i != 0 && i != 4);
        ASSERT_EQ(pid_of(r, other[3]), 56);
        registry_free(r);
}

TEST(wrap_around_past_the_last_slot) {
        Registry *r;
        ASSERT_OK(registry_new(100, &r));
        uint32_t n = nslots(r), last = n - 1;
        char w[5][32], z[32];
        unsigned next = 0, nz = 0;
        for (int i = 0; i < 5; i++)
                colliding(r, "w", last, &next, w[i], sizeof w[i]);
        colliding(r, "z", 0, &nz, z, sizeof z);
        for (int i = 0; i < 4; i++)
                ASSERT_OK(registry_add(r, w[i], 100 + i, 0, 0));
        /* The chain runs last, 0, 1, 2; a name whose home is 0 comes after it. */
        ASSERT_TRUE(slot_holds(r, last, w[0]));
        ASSERT_TRUE(slot_holds(r, 0, w[1]));
        ASSERT_TRUE(slot_holds(r, 1, w[2]));
        ASSERT_TRUE(slot_holds(r, 2, w[3]));
        ASSERT_OK(registry_add(r, z, 200, 0, 0));
        ASSERT_TRUE(slot_holds(r, 3, z));
        for (int i = 0; i < 4; i++)
                ASSERT_EQ(pid_of(r, w[i]), 100 + i);
        ASSERT_EQ(pid_of(r, z), 200);
        ASSERT_EQ(pid_of(r, w[4]), 0);
        ASSERT_ERR(registry_add(r, w[2], 1, 0, 0), -EEXIST);
        /* Deletes on both sides of the wrap keep the chain. */
        ASSERT_OK(registry_remove(r, w[0], 100));
        ASSERT_OK(registry_remove(r, w[1], 101));
        ASSERT_EQ(slot_state(r, last), ST_DELETED);
        ASSERT_EQ(slot_state(r, 0), ST_DELETED);
        ASSERT_EQ(pid_of(r, w[2]), 102);
        ASSERT_EQ(pid_of(r, w[3]), 103);
        ASSERT_EQ(pid_of(r, z), 200);
        ASSERT_ERR(registry_remove(r, w[4], 104), -ENOENT);
        ASSERT_ERR(registry_add(r, w[3], 1, 0, 0), -EEXIST);
        ASSERT_ERR(registry_add(r, z, 1, 0, 0), -EEXIST);
        /* The tombstone before the wrap is reused first. */
        ASSERT_OK(registry_add(r, w[4], 104, 0, 0));
        ASSERT_TRUE(slot_holds(r, last, w[4]));
        ASSERT_OK(registry_remove(r, z, 200));
        ASSERT_OK(registry_remove(r, w[3], 103));
        ASSERT_EQ(pid_of(r, w[2]), 102);
        ASSERT_EQ(pid_of(r, w[4]), 104);
        registry_free(r);
}

static void count_entry(const RegistryEntry *e, void *ud) {
        (*(int *) ud)++;
}

TEST(rebuild_after_many_add_remove_cycles) {
        Registry *r;
        ASSERT_OK(registry_new(100, &r)); /* 256 slots, a rebuild at 192 used + deleted */
        const RegistryView *v = registry_view(r);
        char name[32];
        for (int i = 0; i < 80; i++) {
                snprintf(name, sizeof name, "stable%d", i);
                ASSERT_OK(registry_add(r, name, 1 + i, (uint32_t) i, 0));
        }
        for (int i = 0; i < 20; i++)
                ASSERT_OK(registry_add(r, "grp", 500 + i, (uint32_t) i, REGISTRY_DUPLICATE));
        uint32_t seq0 = table_seq(r);
        unsigned max_deleted = 0;
        for (int c = 0; c < 20000; c++) {
                snprintf(name, sizeof name, "tmp%d", c);
                ASSERT_OK(registry_add(r, name, 10000 + c, (uint32_t) c, 0));
                ASSERT_EQ(pid_of(r, name), 10000 + c);
                ASSERT_OK(registry_remove(r, name, 10000 + c));
                if (c % 500 == 0) {
                        unsigned d = count_state(r, ST_DELETED);
                        if (d > max_deleted)
                                max_deleted = d;
                }
        }
        uint32_t seq1 = table_seq(r);
        ASSERT_EQ(seq1 % 2, 0);
        /* At least 10 rebuilds, and not one per add: a rebuild clears the tombstones (each
         * cycle leaves at most one, and a rebuild is due after ~90). */
        ASSERT_TRUE(seq1 - seq0 >= 20);
        ASSERT_TRUE(seq1 - seq0 <= 2 * 20000 / 50);
        ASSERT_TRUE(max_deleted > 0);
        /* Used + deleted never passed 3/4 of the table, so every chain still ends. */
        ASSERT_TRUE(count_state(r, ST_USED) + count_state(r, ST_DELETED) <= 192);
        ASSERT_TRUE(count_state(r, ST_EMPTY) >= 64);
        ASSERT_EQ(count_state(r, ST_USED), 100);
        for (int i = 0; i < 80; i++) {
                snprintf(name, sizeof name, "stable%d", i);
                RegistryEntry e;
                ASSERT_EQ(registry_lookup(v, name, &e), 1);
                ASSERT_EQ(e.pid, 1 + i);
                ASSERT_EQ(e.generation, (uint32_t) i);
        }
        Holders h = { .name = "grp" };
        ASSERT_EQ(registry_lookup_all(v, "grp", collect, &h), 20);
        ASSERT_TRUE(all_distinct(&h));
        for (int i = 0; i < 20; i++)
                ASSERT_TRUE(holds(&h, 500 + i));
        for (int c = 0; c < 20000; c += 997) {
                snprintf(name, sizeof name, "tmp%d", c);
                ASSERT_EQ(pid_of(r, name), 0);
        }
        int n = 0;
        ASSERT_EQ(registry_list(v, count_entry, &n), 100);
        ASSERT_EQ(n, 100);
        /* Uniqueness still holds after the moves. */
        ASSERT_ERR(registry_add(r, "stable7", 99, 0, 0), -EEXIST);
        ASSERT_ERR(registry_add(r, "grp", 510, 0, REGISTRY_DUPLICATE), -EEXIST);
        registry_free(r);
}

typedef struct Listed {
        int n;
        RegistryEntry e[64];
} Listed;

static void keep_listed(const RegistryEntry *e, void *ud) {
        Listed *l = ud;
        if (l->n < 64)
                l->e[l->n] = *e;
        l->n++;
}

TEST(full_table_is_enospc) {
        Registry *r;
        ASSERT_OK(registry_new(1, &r));
        ASSERT_EQ(nslots(r), 16);
        char name[32];
        int added = 0;
        for (int i = 0; i < 100; i++) {
                snprintf(name, sizeof name, "f%d", i);
                int e = registry_add(r, name, 100 + i, 0, 0);
                if (e == -ENOSPC)
                        break;
                ASSERT_OK(e);
                added++;
        }
        ASSERT_EQ(added, 9); /* a load of at most 0.6 */
        for (int i = 0; i < 20; i++) {
                snprintf(name, sizeof name, "f%d", i);
                ASSERT_EQ(pid_of(r, name), i < added ? 100 + i : 0);
                ASSERT_ERR(registry_add(r, name, 1, 0, REGISTRY_DUPLICATE), i < added ? -EEXIST : -ENOSPC);
        }
        /* A taken name is refused as taken, even in a full table. */
        ASSERT_ERR(registry_add(r, "f0", 1, 0, 0), -EEXIST);
        ASSERT_OK(registry_remove(r, "f3", 103));
        ASSERT_OK(registry_add(r, "new", 1, 0, 0));
        ASSERT_ERR(registry_add(r, "new2", 1, 0, 0), -ENOSPC);
        /* Empty it and fill it again with other names, over and over: tombstones never fill it. */
        for (int round = 0; round < 50; round++) {
                Listed l = {};
                ASSERT_EQ(registry_list(registry_view(r), keep_listed, &l), 9);
                for (int i = 0; i < l.n; i++)
                        ASSERT_OK(registry_remove(r, l.e[i].name, l.e[i].pid));
                for (int i = 0; i < 9; i++) {
                        snprintf(name, sizeof name, "r%d.%d", round, i);
                        ASSERT_OK(registry_add(r, name, 1, 0, 0));
                }
                ASSERT_ERR(registry_add(r, "one-too-many", 2, 0, 0), -ENOSPC);
                ASSERT_EQ(pid_of(r, "one-too-many"), 0);
        }
        registry_free(r);

        /* A larger table holds at least what it was asked for; duplicate keys count alike. */
        ASSERT_OK(registry_new(1000, &r));
        added = 0;
        for (int i = 0; i < 5000; i++) {
                int e = registry_add(r, "many", 1 + i, 0, REGISTRY_DUPLICATE);
                if (e == -ENOSPC)
                        break;
                ASSERT_OK(e);
                added++;
        }
        ASSERT_TRUE(added >= 1000);
        ASSERT_EQ(added, nslots(r) * 6 / 10);
        ASSERT_EQ(registry_lookup_all(registry_view(r), "many", NULL, NULL), added);
        ASSERT_EQ(pid_of(r, "nobody"), 0);
        registry_free(r);
}

TEST(name_lengths) {
        Registry *r;
        ASSERT_OK(registry_new(16, &r));
        char n48[49], n49[50], n47[48];
        memset(n48, 'x', 48);
        n48[48] = '\0';
        memset(n49, 'x', 49);
        n49[49] = '\0';
        memset(n47, 'x', 47);
        n47[47] = '\0';
        ASSERT_OK(registry_add(r, n48, 48, 1, 0));
        ASSERT_ERR(registry_add(r, n49, 49, 1, 0), -EINVAL);
        ASSERT_ERR(registry_add(r, n49, 49, 1, REGISTRY_DUPLICATE), -EINVAL);
        ASSERT_ERR(registry_add(r, "", 1, 1, 0), -EINVAL);
        ASSERT_OK(registry_add(r, n47, 47, 1, 0));
        RegistryEntry e;
        ASSERT_EQ(registry_lookup(registry_view(r), n48, &e), 1);
        ASSERT_EQ(e.pid, 48);
        ASSERT_EQ(strlen(e.name), 48);
        ASSERT_STREQ(e.name, n48);
        ASSERT_EQ(registry_lookup(registry_view(r), n47, &e), 1);
        ASSERT_EQ(e.pid, 47);
        ASSERT_STREQ(e.name, n47);
        ASSERT_EQ(registry_lookup(registry_view(r), n49, &e), 0);
        ASSERT_EQ(registry_lookup_all(registry_view(r), n49, NULL, NULL), 0);
        ASSERT_ERR(registry_remove(r, n49, 49), -ENOENT);
        ASSERT_ERR(registry_remove(r, "", 1), -ENOENT);
        /* Any bytes but NUL: UTF-8, spaces, dots. */
        ASSERT_OK(registry_add(r, "caf\xc3\xa9 au lait.1", 5, 1, 0));
        ASSERT_EQ(pid_of(r, "caf\xc3\xa9 au lait.1"), 5);
        ASSERT_OK(registry_remove(r, n48, 48));
        ASSERT_EQ(pid_of(r, n48), 0);
        ASSERT_EQ(pid_of(r, n47), 47);
        registry_free(r);
}

TEST(list_gives_every_used_entry_once) {
        Registry *r;
        ASSERT_OK(registry_new(16, &r));
        const RegistryView *v = registry_view(r);
        Listed l = {};
        ASSERT_EQ(registry_list(v, keep_listed, &l), 0);
        ASSERT_EQ(l.n, 0);
        char name[32];
        for (int i = 0; i < 10; i++) {
                snprintf(name, sizeof name, "l%d", i);
                ASSERT_OK(registry_add(r, name, 100 + i, (uint32_t) (7 * i), i % 3 == 0 ? REGISTRY_DUPLICATE : 0));
        }
        ASSERT_OK(registry_remove(r, "l2", 102));
        ASSERT_OK(registry_remove(r, "l5", 105));
        ASSERT_OK(registry_remove(r, "l9", 109));
        ASSERT_EQ(registry_list(v, keep_listed, &l), 7);
        ASSERT_EQ(l.n, 7);
        bool seen[10] = {};
        for (int i = 0; i < l.n; i++) {
                int k = atoi(l.e[i].name + 1);
                ASSERT_TRUE(l.e[i].name[0] == 'l' && k >= 0 && k < 10);
                ASSERT_TRUE(!seen[k]);
                seen[k] = true;
                ASSERT_EQ(l.e[i].pid, 100 + k);
                ASSERT_EQ(l.e[i].generation, (uint32_t) (7 * k));
                ASSERT_EQ(l.e[i].flags, k % 3 == 0 ? REGISTRY_DUPLICATE : 0);
        }
        for (int k = 0; k < 10; k++)
                ASSERT_EQ(seen[k], k != 2 && k != 5 && k != 9);
        /* In slot order. */
        for (int i = 1; i < l.n; i++) {
                uint32_t a = 0, b = 0;
                for (uint32_t s = 0; s < nslots(r); s++) {
                        if (slot_holds(r, s, l.e[i - 1].name))
                                a = s;
                        if (slot_holds(r, s, l.e[i].name))
                                b = s;
                }
                ASSERT_TRUE(a < b);
        }
        registry_free(r);
}

/* ---- the header, on a copy of the table ---------------------------------------------------- */

static void put32(void *base, size_t off, uint32_t v) {
        memcpy((char *) base + off, &v, 4);
}

TEST(view_init_checks_the_header) {
        Registry *r;
        ASSERT_OK(registry_new(16, &r));
        ASSERT_OK(registry_add(r, "here", 42, 3, 0));
        const RegistryView *v = registry_view(r);
        size_t size = v->size;
        ASSERT_EQ(size, 64 + (size_t) v->slots * 64);
        char *copy = malloc(size);
        ASSERT_TRUE(copy != NULL);
        RegistryView cv;
#define FRESH() memcpy(copy, v->base, size)
        FRESH();
        ASSERT_OK(registry_view_init(&cv, copy, size));
        ASSERT_EQ(cv.slots, v->slots);
        RegistryEntry e;
        ASSERT_EQ(registry_lookup(&cv, "here", &e), 1);
        ASSERT_EQ(e.pid, 42);
        ASSERT_OK(registry_view_init(&cv, copy, size + 100)); /* a larger mapping is fine */

        put32(copy, 0, 0x47525647u); /* "GVRG" */
        ASSERT_ERR(registry_view_init(&cv, copy, size), -EBADMSG);
        put32(copy, 0, 0);
        ASSERT_ERR(registry_view_init(&cv, copy, size), -EBADMSG);
        FRESH();
        put32(copy, 4, 2);
        ASSERT_ERR(registry_view_init(&cv, copy, size), -EPROTONOSUPPORT);
        put32(copy, 4, 0);
        ASSERT_ERR(registry_view_init(&cv, copy, size), -EPROTONOSUPPORT);
        FRESH();
        put32(copy, 12, 128); /* another slot size is another layout */
        ASSERT_ERR(registry_view_init(&cv, copy, size), -EPROTONOSUPPORT);
        FRESH();
        put32(copy, 8, 0);
        ASSERT_ERR(registry_view_init(&cv, copy, size), -EBADMSG);
        put32(copy, 8, 24); /* not a power of two */
        ASSERT_ERR(registry_view_init(&cv, copy, size), -EBADMSG);
        put32(copy, 8, v->slots * 2); /* more slots than the mapping holds */
        ASSERT_ERR(registry_view_init(&cv, copy, size), -EBADMSG);
        put32(copy, 8, 0x80000000u);
        ASSERT_ERR(registry_view_init(&cv, copy, size), -EBADMSG);
        FRESH();
        ASSERT_ERR(registry_view_init(&cv, copy, size - 64), -EBADMSG);
        ASSERT_ERR(registry_view_init(&cv, copy, 64), -EBADMSG);
        ASSERT_ERR(registry_view_init(&cv, copy, 10), -EBADMSG);
        ASSERT_ERR(registry_view_init(&cv, copy, 0), -EBADMSG);
        ASSERT_OK(registry_view_init(&cv, copy, size));

        /* A damaged slot (a name length beyond 48) never makes a reader read or write past the
         * entry: list and lookups stay within bounds (ASan watches). */
        uint32_t home = home_of(r, "here");
        uint32_t w0;
        memcpy(&w0, copy + 64 + home * 64 + 4, 4);
        put32(copy, 64 + home * 64 + 4, (w0 & 0xffffu) | 255u << 16);
        Listed l = {};
        ASSERT_TRUE(registry_list(&cv, keep_listed, &l) >= 0);
        for (int i = 0; i < l.n && i < 64; i++)
                ASSERT_TRUE(strlen(l.e[i].name) <= 48);
        ASSERT_TRUE(registry_lookup(&cv, "here", &e) >= 0);
#undef FRESH
        free(copy);
        registry_free(r);
}

/* ---- a reader's mapping -------------------------------------------------------------------- */

/* map_reader: the reader fd mapped the way a child maps it. */
static const void *map_reader(const Registry *r, size_t *size) {
        struct stat st;
        if (fstat(registry_reader_fd(r), &st) < 0)
                return NULL;
        *size = (size_t) st.st_size;
        void *p = mmap(NULL, *size, PROT_READ, MAP_SHARED, registry_reader_fd(r), 0);
        return p == MAP_FAILED ? NULL : p;
}

TEST(reader_mapping_sees_the_writers_changes) {
        Registry *r;
        ASSERT_OK(registry_new(100, &r));
        size_t size;
        const void *p = map_reader(r, &size);
        ASSERT_TRUE(p != NULL);
        ASSERT_EQ(size, registry_view(r)->size);
        RegistryView rv;
        ASSERT_OK(registry_view_init(&rv, p, size));
        RegistryEntry e;
        ASSERT_EQ(registry_lookup(&rv, "late", &e), 0);
        ASSERT_OK(registry_add(r, "late", 77, 5, 0));
        ASSERT_EQ(registry_lookup(&rv, "late", &e), 1);
        ASSERT_EQ(e.pid, 77);
        ASSERT_EQ(e.generation, 5);
        ASSERT_OK(registry_remove(r, "late", 77));
        ASSERT_EQ(registry_lookup(&rv, "late", &e), 0);
        munmap((void *) p, size);
        registry_free(r);
}

/* ---- a random run against a model ---------------------------------------------------------- */

typedef struct ModelEntry {
        int name; /* index into the name pool */
        pid_t pid;
        uint32_t gen;
        bool dup;
} ModelEntry;

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (uint32_t) (rng_state % n);
}

#define POOL 40
#define MODEL_MAX 1024

static void model_run(int *failed_, unsigned capacity, int ops) {
        Registry *r;
        ASSERT_OK(registry_new(capacity, &r));
        const RegistryView *v = registry_view(r);
        uint32_t n = v->slots;
        char pool[POOL][16];
        for (int i = 0; i < POOL; i++)
                snprintf(pool[i], sizeof pool[i], i % 4 == 0 ? "grp%d" : "name%d", i);
        ModelEntry m[MODEL_MAX];
        int used = 0;
        uint32_t gen = 0;
        rng_state = 0x9e3779b97f4a7c15ull ^ capacity;

        for (int op = 0; op < ops; op++) {
                uint32_t what = rnd(100);
                int name = (int) rnd(POOL);
                pid_t pid = 1 + (pid_t) rnd(6);
                if (what < 55) {
                        bool dup = pool[name][0] == 'g' ? rnd(8) != 0 : rnd(16) == 0;
                        int want = 0, held = 0;
                        for (int i = 0; i < used; i++)
                                if (m[i].name == name) {
                                        held++;
                                        if (!m[i].dup || !dup || m[i].pid == pid)
                                                want = -EEXIST;
                                }
                        if (want == 0 && (uint32_t) (used + 1) * 10 > n * 6)
                                want = -ENOSPC;
                        gen++;
                        int got = registry_add(r, pool[name], pid, gen, dup ? REGISTRY_DUPLICATE : 0);
                        if (got != want)
                                FAIL_("op %d: add %s pid %d dup %d: %d, model %d (held %d, used %d)", op, pool[name],
                                      (int) pid, dup, got, want, held, used);
                        if (got == 0)
                                m[used++] = (ModelEntry) { name, pid, gen, dup };
                } else if (what < 95) {
                        int at = -1;
                        for (int i = 0; i < used; i++)
                                if (m[i].name == name && m[i].pid == pid)
                                        at = i;
                        int got = registry_remove(r, pool[name], pid);
                        if (got != (at >= 0 ? 0 : -ENOENT))
                                FAIL_("op %d: remove %s pid %d: %d, model %s", op, pool[name], (int) pid, got,
                                      at >= 0 ? "held" : "not held");
                        if (at >= 0)
                                m[at] = m[--used];
                } else {
                        int want = 0;
                        for (int i = 0; i < used;)
                                if (m[i].pid == pid) {
                                        m[i] = m[--used];
                                        want++;
                                } else
                                        i++;
                        ASSERT_EQ(registry_remove_pid(r, pid), want);
                }
                /* Every name of the pool, as a reader sees it. */
                for (int k = 0; k < POOL; k++) {
                        Holders h = { .name = pool[k] };
                        int got = registry_lookup_all(v, pool[k], collect, &h);
                        int want = 0;
                        for (int i = 0; i < used; i++)
                                if (m[i].name == k) {
                                        want++;
                                        bool found = false;
                                        for (int j = 0; j < h.n; j++)
                                                if (h.pid[j] == m[i].pid && h.gen[j] == m[i].gen)
                                                        found = true;
                                        if (!found)
                                                FAIL_("op %d: %s: holder %d (gen %u) not listed", op, pool[k],
                                                      (int) m[i].pid, m[i].gen);
                                }
                        if (got != want || h.n != want || h.bad)
                                FAIL_("op %d: lookup_all %s: %d (%d listed), model %d", op, pool[k], got, h.n, want);
                        RegistryEntry e;
                        int one = registry_lookup(v, pool[k], &e);
                        ASSERT_EQ(one, want > 0);
                }
                if (op % 64 == 0) {
                        int listed = 0;
                        ASSERT_EQ(registry_list(v, count_entry, &listed), used);
                        ASSERT_EQ(count_state(r, ST_USED), used);
                        ASSERT_TRUE(count_state(r, ST_USED) + count_state(r, ST_DELETED) <= n * 3 / 4);
                }
        }
        registry_free(r);
}

TEST(random_operations_match_a_model_in_a_tiny_table) {
        model_run(failed_, 1, 20000); /* 16 slots: every chain collides */
}

TEST(random_operations_match_a_model) {
        model_run(failed_, 30, 20000); /* 64 slots */
}

/* ---- nobody but the writer's own mapping can change the table ------------------------------- */

TEST(seals_and_the_reader_fd_refuse_every_write) {
        Registry *r;
        ASSERT_OK(registry_new(100, &r));
        ASSERT_OK(registry_add(r, "keep", 42, 1, 0));
        int fd = registry_reader_fd(r);
        size_t size = registry_view(r)->size;
        char snapshot[128];
        memcpy(snapshot, registry_view(r)->base, sizeof snapshot);

        int seals = fcntl(fd, F_GET_SEALS);
        ASSERT_EQ(seals, F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        ASSERT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
        ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC); /* the node dup2()s it to 4 for a child */

        /* The read-only fd itself. */
        ASSERT_ERR(write(fd, "x", 1), -1);
        ASSERT_ERR(pwrite(fd, "x", 1, 0), -1);
        ASSERT_ERR(pwrite(fd, "x", 1, 64), -1);
        ASSERT_ERR(ftruncate(fd, 0), -1);
        ASSERT_ERR(ftruncate(fd, (off_t) size * 2), -1);
        ASSERT_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), -1);
        ASSERT_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
        ASSERT_EQ(errno, EPERM);
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ASSERT_TRUE(p == MAP_FAILED);
        ASSERT_EQ(errno, EACCES);
        void *ro = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        ASSERT_TRUE(ro != MAP_FAILED);
        ASSERT_ERR(mprotect(ro, size, PROT_READ | PROT_WRITE), -1);
        ASSERT_EQ(errno, EACCES);
        ASSERT_ERR(madvise(ro, 4096, MADV_REMOVE), -1);
        /* /proc/self/mem and process_vm_writev write with the force of a debugger, but not into
         * a read-only shared mapping. */
        int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
        if (mem >= 0) {
                ASSERT_ERR(pwrite(mem, "XXXX", 4, (off_t) (uintptr_t) ro), -1);
                close(mem);
        }
        struct iovec local = { .iov_base = "XXXX", .iov_len = 4 }, remote = { .iov_base = ro, .iov_len = 4 };
        ASSERT_ERR(process_vm_writev(getpid(), &local, 1, &remote, 1, 0), -1);

        /* Reopened read-write through /proc: opening works (it is no protection), the seals are. */
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int rw = open(path, O_RDWR | O_CLOEXEC);
        ASSERT_TRUE(rw >= 0);
        ASSERT_ERR(write(rw, "x", 1), -1);
        ASSERT_EQ(errno, EPERM);
        ASSERT_ERR(pwrite(rw, "x", 1, 100), -1);
        ASSERT_EQ(errno, EPERM);
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
        ASSERT_TRUE(p == MAP_FAILED);
        ASSERT_EQ(errno, EPERM);
        void *ro2 = mmap(NULL, size, PROT_READ, MAP_SHARED, rw, 0);
        ASSERT_TRUE(ro2 != MAP_FAILED);
        ASSERT_ERR(mprotect(ro2, size, PROT_READ | PROT_WRITE), -1);
        ASSERT_ERR(madvise(ro2, 4096, MADV_REMOVE), -1);
        ASSERT_ERR(ftruncate(rw, 0), -1);
        ASSERT_EQ(errno, EPERM);
        ASSERT_ERR(ftruncate(rw, (off_t) size + 4096), -1);
        ASSERT_EQ(errno, EPERM);
        ASSERT_ERR(fallocate(rw, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), -1);
        ASSERT_ERR(fallocate(rw, 0, 0, (off_t) size + 4096), -1);
        ASSERT_ERR(fcntl(rw, F_ADD_SEALS, F_SEAL_WRITE), -1);
        ASSERT_EQ(errno, EPERM);
        /* A private writable mapping is a copy: writing it does not reach the table. */
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, rw, 0);
        if (p != MAP_FAILED) {
                memset(p, 'Z', 128);
                munmap(p, size);
        }
        close(rw);

        /* The table is as it was, the writer still writes it, and a reader sees that. */
        ASSERT_TRUE(memcmp(registry_view(r)->base, snapshot, sizeof snapshot) == 0);
        ASSERT_TRUE(memcmp(ro, snapshot, sizeof snapshot) == 0);
        ASSERT_EQ(seals, fcntl(fd, F_GET_SEALS));
        ASSERT_OK(registry_add(r, "after", 43, 1, 0));
        RegistryView rv;
        ASSERT_OK(registry_view_init(&rv, ro, size));
        ASSERT_EQ(registry_lookup(&rv, "keep", &(RegistryEntry) {}), 1);
        ASSERT_EQ(registry_lookup(&rv, "after", &(RegistryEntry) {}), 1);
        munmap(ro, size);
        munmap(ro2, size);
        registry_free(r);
}

/* ---- a writer caught in the middle: readers report busy, never spin ------------------------ */

TEST(readers_report_busy_when_a_write_never_ends) {
        Registry *r;
        ASSERT_OK(registry_new(100, &r));
        ASSERT_OK(registry_add(r, "a", 1, 1, 0));
        ASSERT_OK(registry_add(r, "g", 2, 1, REGISTRY_DUPLICATE));
        const RegistryView *v = registry_view(r);
        char *copy = malloc(v->size);
        ASSERT_TRUE(copy != NULL);
        memcpy(copy, v->base, v->size);
        RegistryView cv;
        ASSERT_OK(registry_view_init(&cv, copy, v->size));
        RegistryEntry e;
        int n = 0;

        /* A rebuild that never ends (the table counter stays odd): every walk is busy; a
         * listing reads slot by slot and is not. */
        put32(copy, 16, 1);
        ASSERT_ERR(registry_lookup(&cv, "a", &e), -EBUSY);
        ASSERT_ERR(registry_lookup(&cv, "nobody", &e), -EBUSY);
        ASSERT_ERR(registry_lookup_all(&cv, "g", count_entry, &n), -EBUSY);
        ASSERT_EQ(n, 0);
        put32(copy, 16, 2);
        ASSERT_EQ(registry_lookup(&cv, "a", &e), 1);

        /* A slot being written (its counter odd): busy for the names whose chain crosses it,
         * and for a listing; the others are answered. */
        uint32_t home = home_of(r, "a");
        put32(copy, 64 + home * 64, 3);
        ASSERT_ERR(registry_lookup(&cv, "a", &e), -EBUSY);
        ASSERT_ERR(registry_list(&cv, count_entry, &n), -EBUSY);
        if (home_of(r, "g") != home && home_of(r, "g") != home + 1)
                ASSERT_EQ(registry_lookup_all(&cv, "g", NULL, NULL), 1);
        put32(copy, 64 + home * 64, 4);
        ASSERT_EQ(registry_lookup(&cv, "a", &e), 1);
        ASSERT_EQ(e.pid, 1);
        free(copy);
        registry_free(r);
}

/* SPDX-License-Identifier: MIT */
/* The registry table. One writer (the node), readers in every child, no locks: each slot is a
 * seqlock (Boehm, "Can seqlocks get along with programming language memory models?"): the
 * writer makes the slot's counter odd, writes the words, makes it even again with release
 * order; a reader copies the words between two reads of the counter and keeps the copy only
 * if both are the same even value. Every shared word is a C11 atomic, so there is no data race
 * in the C sense, only retries. */
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macro.h"

#define SLOT_WORDS 15
#define NAME_WORDS 12

enum { SLOT_EMPTY = 0, SLOT_USED = 1, SLOT_DELETED = 2 };

typedef struct Header {
        _Atomic uint32_t magic, version, slots, slot_size, seq;
        _Atomic uint32_t reserved[11];
} Header;

typedef struct Slot {
        _Atomic uint32_t seq;
        _Atomic uint32_t w[SLOT_WORDS];
} Slot;

_Static_assert(sizeof(Header) == 64, "header is 64 bytes");
_Static_assert(sizeof(Slot) == REGISTRY_SLOT_SIZE, "slot is 64 bytes");
_Static_assert(NAME_WORDS * 4 == REGISTRY_NAME_MAX, "name words");

struct Registry {
        int fd;                    /* the memfd, read-write, sealed */
        int reader_fd;             /* a read-only descriptor of it, for children */
        void *base;
        size_t size;
        RegistryView view;
        uint32_t used, deleted;
        struct SlotCopy *scratch;  /* owned: room for every slot, for rebuild() */
};

/* A slot as the reader sees it once it has a consistent copy. */
typedef struct SlotCopy {
        uint32_t w[SLOT_WORDS];
} SlotCopy;

static const Header *header_of(const RegistryView *v) {
        return v->base;
}

static Slot *slot_at(const RegistryView *v, uint32_t i) {
        return (Slot *) ((char *) v->base + sizeof(Header)) + i;
}

static uint32_t hash_name(const char *name, size_t len) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char) name[i]) * 16777619u;
        return h;
}

/* ---- reader ------------------------------------------------------------------------------- */

int registry_view_init(RegistryView *v, const void *base, size_t size) {
        const Header *h = base;
        if (size < sizeof(Header) || atomic_load_explicit(&h->magic, memory_order_relaxed) != REGISTRY_MAGIC)
                return -EBADMSG;
        if (atomic_load_explicit(&h->version, memory_order_relaxed) != REGISTRY_VERSION ||
            atomic_load_explicit(&h->slot_size, memory_order_relaxed) != REGISTRY_SLOT_SIZE)
                return -EPROTONOSUPPORT;
        uint32_t slots = atomic_load_explicit(&h->slots, memory_order_relaxed);
        if (slots == 0 || (slots & (slots - 1)) != 0 || (size - sizeof(Header)) / REGISTRY_SLOT_SIZE < slots)
                return -EBADMSG;
        *v = (RegistryView) { .base = base, .size = size, .slots = slots };
        return 0;
}

/* A consistent copy of slot i: 0, or -EBUSY after too many torn reads. */
static int read_slot(const RegistryView *v, uint32_t i, SlotCopy *c) {
        Slot *s = slot_at(v, i);
        for (int tries = 0; tries < REGISTRY_READ_RETRIES; tries++) {
                uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
                if (s1 & 1)
                        continue;
                for (int k = 0; k < SLOT_WORDS; k++)
                        c->w[k] = atomic_load_explicit(&s->w[k], memory_order_relaxed);
                atomic_thread_fence(memory_order_acquire);
                if (atomic_load_explicit(&s->seq, memory_order_relaxed) == s1)
                        return 0;
        }
        return -EBUSY;
}

static unsigned copy_state(const SlotCopy *c) {
        return c->w[0] & 0xff;
}

/* At most REGISTRY_NAME_MAX even in a damaged table: a reader never copies past the entry. */
static size_t copy_name_len(const SlotCopy *c) {
        size_t len = (c->w[0] >> 16) & 0xff;
        return len <= REGISTRY_NAME_MAX ? len : REGISTRY_NAME_MAX;
}

/* The length of the key of a name: a remote global name "NAME@NODE" is found as NAME. */
static size_t key_len(const char *name, size_t len, unsigned flags) {
        const char *at = flags & REGISTRY_REMOTE ? memchr(name, '@', len) : NULL;
        return at ? (size_t) (at - name) : len;
}

static bool copy_has_name(const SlotCopy *c, const char *name, size_t len) {
        char buf[REGISTRY_NAME_MAX];
        memcpy(buf, &c->w[3], REGISTRY_NAME_MAX);
        if (key_len(buf, copy_name_len(c), (c->w[0] >> 8) & 0xff) != len)
                return false;
        return memcmp(buf, name, len) == 0;
}

static void copy_to_entry(const SlotCopy *c, RegistryEntry *e) {
        size_t len = copy_name_len(c);
        e->pid = (pid_t) c->w[1];
        e->generation = c->w[2];
        e->flags = (c->w[0] >> 8) & 0xff;
        memcpy(e->name, &c->w[3], len);
        e->name[len] = '\0';
}

/* Walks the probe chain of name; fn(entry) for every holder; stops at the first if !all.
 * Returns the number of holders, or -EBUSY. The whole walk is retried when a rebuild ran
 * meanwhile (the table-wide counter moved). */
static int walk(const RegistryView *v, const char *name, bool all, void (*fn)(const RegistryEntry *e, void *ud),
                void *ud) {
        size_t len = strlen(name);
        if (len == 0 || len > REGISTRY_NAME_MAX)
                return 0;
        const Header *h = header_of(v);
        uint32_t mask = v->slots - 1;

        for (int tries = 0; tries < REGISTRY_READ_RETRIES; tries++) {
                uint32_t t1 = atomic_load_explicit(&h->seq, memory_order_acquire);
                if (t1 & 1)
                        continue;
                int found = 0;
                bool torn = false;
                for (uint32_t i = hash_name(name, len) & mask, n = 0; n < v->slots; i = (i + 1) & mask, n++) {
                        SlotCopy c;
                        if (read_slot(v, i, &c) < 0) {
                                torn = true;
                                break;
                        }
                        unsigned st = copy_state(&c);
                        if (st == SLOT_EMPTY)
                                break;
                        if (st != SLOT_USED || !copy_has_name(&c, name, len))
                                continue;
                        found++;
                        if (fn) {
                                RegistryEntry e;
                                copy_to_entry(&c, &e);
                                fn(&e, ud);
                        }
                        if (!all)
                                break;
                }
                atomic_thread_fence(memory_order_acquire);
                if (!torn && atomic_load_explicit(&h->seq, memory_order_relaxed) == t1)
                        return found;
                /* With fn called for a walk that turned out torn, holders may be repeated:
                 * only lookups of one holder retry silently. */
                if (all && found > 0)
                        return -EBUSY;
        }
        return -EBUSY;
}

static void keep_first(const RegistryEntry *e, void *ud) {
        *(RegistryEntry *) ud = *e;
}

int registry_lookup(const RegistryView *v, const char *name, RegistryEntry *ret) {
        return walk(v, name, false, keep_first, ret);
}

int registry_lookup_all(const RegistryView *v, const char *name, void (*fn)(const RegistryEntry *e, void *ud),
                        void *ud) {
        return walk(v, name, true, fn, ud);
}

int registry_list(const RegistryView *v, void (*fn)(const RegistryEntry *e, void *ud), void *ud) {
        int n = 0;
        for (uint32_t i = 0; i < v->slots; i++) {
                SlotCopy c;
                if (read_slot(v, i, &c) < 0)
                        return -EBUSY;
                if (copy_state(&c) != SLOT_USED)
                        continue;
                RegistryEntry e;
                copy_to_entry(&c, &e);
                fn(&e, ud);
                n++;
        }
        return n;
}

/* ---- writer ------------------------------------------------------------------------------- */

static void write_slot(Slot *s, const uint32_t w[SLOT_WORDS]) {
        uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
        atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_release);
        for (int k = 0; k < SLOT_WORDS; k++)
                atomic_store_explicit(&s->w[k], w[k], memory_order_relaxed);
        atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

static void write_state(Slot *s, unsigned state) {
        uint32_t w[SLOT_WORDS];
        for (int k = 0; k < SLOT_WORDS; k++)
                w[k] = atomic_load_explicit(&s->w[k], memory_order_relaxed);
        w[0] = (w[0] & ~0xffu) | state;
        write_slot(s, w);
}

static void fill_words(uint32_t w[SLOT_WORDS], const char *name, size_t len, pid_t pid, uint32_t gen,
                       unsigned flags) {
        memset(w, 0, SLOT_WORDS * sizeof(uint32_t));
        w[0] = SLOT_USED | (flags & 0xff) << 8 | (uint32_t) len << 16;
        w[1] = (uint32_t) pid;
        w[2] = gen;
        memcpy(&w[3], name, len);
}

/* The writer reads its own table without tearing, so plain relaxed loads are enough. */
static void own_copy(const Registry *r, uint32_t i, SlotCopy *c) {
        Slot *s = slot_at(&r->view, i);
        for (int k = 0; k < SLOT_WORDS; k++)
                c->w[k] = atomic_load_explicit(&s->w[k], memory_order_relaxed);
}

/* Re-inserts every used entry into a clean table, under the table-wide counter, so readers
 * retry instead of seeing a half-moved chain. Clears the tombstones. Allocates nothing (its
 * scratch copy is made with the table): a registration never fails for want of memory. */
static void rebuild(Registry *r) {
        uint32_t n = r->view.slots;
        SlotCopy *all = r->scratch;
        for (uint32_t i = 0; i < n; i++)
                own_copy(r, i, &all[i]);

        Header *h = r->base;
        uint32_t seq = atomic_load_explicit(&h->seq, memory_order_relaxed);
        atomic_store_explicit(&h->seq, seq + 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_release);
        static const uint32_t empty[SLOT_WORDS];
        for (uint32_t i = 0; i < n; i++)
                write_slot(slot_at(&r->view, i), empty);
        for (uint32_t i = 0; i < n; i++) {
                if (copy_state(&all[i]) != SLOT_USED)
                        continue;
                char name[REGISTRY_NAME_MAX];
                size_t len = copy_name_len(&all[i]);
                memcpy(name, &all[i].w[3], REGISTRY_NAME_MAX);
                uint32_t j = hash_name(name, key_len(name, len, (all[i].w[0] >> 8) & 0xff)) & (n - 1);
                SlotCopy c;
                for (own_copy(r, j, &c); copy_state(&c) != SLOT_EMPTY; own_copy(r, j, &c))
                        j = (j + 1) & (n - 1);
                write_slot(slot_at(&r->view, j), all[i].w);
        }
        atomic_store_explicit(&h->seq, seq + 2, memory_order_release);
        r->deleted = 0;
}

int registry_add(Registry *r, const char *name, pid_t pid, uint32_t generation, unsigned flags) {
        size_t len = strlen(name), klen = key_len(name, len, flags);
        uint32_t n = r->view.slots, mask = n - 1;
        if (len == 0 || len > REGISTRY_NAME_MAX || klen == 0)
                return -EINVAL;
        /* Keep the load (tombstones included) at most 3/4, so every probe chain ends. */
        if ((r->used + r->deleted + 1) * 4 > n * 3)
                rebuild(r);

        int64_t free_slot = -1;
        uint32_t i = hash_name(name, klen) & mask;
        for (uint32_t k = 0; k < n; k++, i = (i + 1) & mask) {
                SlotCopy c;
                own_copy(r, i, &c);
                unsigned st = copy_state(&c);
                if (st == SLOT_EMPTY) {
                        if (free_slot < 0)
                                free_slot = i;
                        break;
                }
                if (st == SLOT_DELETED) {
                        if (free_slot < 0)
                                free_slot = i;
                        continue;
                }
                if (!copy_has_name(&c, name, klen))
                        continue;
                unsigned held = (c.w[0] >> 8) & 0xff;
                /* A unique name is held once; a duplicate key once per pid; never both kinds. */
                if (!(held & REGISTRY_DUPLICATE) || !(flags & REGISTRY_DUPLICATE) || (pid_t) c.w[1] == pid)
                        return -EEXIST;
        }
        /* A taken name is refused as taken (above), even in a full table. */
        if (free_slot < 0 || (r->used + 1) * 10 > n * 6)
                return -ENOSPC;

        SlotCopy old;
        own_copy(r, (uint32_t) free_slot, &old);
        if (copy_state(&old) == SLOT_DELETED)
                r->deleted--;
        uint32_t w[SLOT_WORDS];
        fill_words(w, name, len, pid, generation, flags);
        write_slot(slot_at(&r->view, (uint32_t) free_slot), w);
        r->used++;
        return 0;
}

static void remove_at(Registry *r, uint32_t i) {
        /* A tombstone, not an empty slot: chains that pass through it stay whole. */
        write_state(slot_at(&r->view, i), SLOT_DELETED);
        r->used--;
        r->deleted++;
}

int registry_remove(Registry *r, const char *name, pid_t pid) {
        size_t len = strlen(name);
        uint32_t n = r->view.slots, mask = n - 1;
        if (len == 0 || len > REGISTRY_NAME_MAX)
                return -ENOENT;
        /* Only NAME's probe chain: a process's exit costs its own names, not the table. */
        uint32_t i = hash_name(name, len) & mask;
        for (uint32_t k = 0; k < n; k++, i = (i + 1) & mask) {
                SlotCopy c;
                own_copy(r, i, &c);
                unsigned st = copy_state(&c);
                if (st == SLOT_EMPTY)
                        break;
                if (st == SLOT_USED && (pid_t) c.w[1] == pid && copy_has_name(&c, name, len)) {
                        remove_at(r, i);
                        return 0;
                }
        }
        return -ENOENT;
}

int registry_remove_pid(Registry *r, pid_t pid) {
        int removed = 0;
        for (uint32_t i = 0; i < r->view.slots; i++) {
                SlotCopy c;
                own_copy(r, i, &c);
                /* Another node's pid in a remote name is no process of ours. */
                if (copy_state(&c) == SLOT_USED && (pid_t) c.w[1] == pid && !((c.w[0] >> 8) & REGISTRY_REMOTE)) {
                        remove_at(r, i);
                        removed++;
                }
        }
        return removed;
}

/* ---- the memfd ---------------------------------------------------------------------------- */

int registry_new(unsigned capacity, Registry **ret) {
        uint32_t slots = 16;
        /* Load at most 0.6 at capacity. */
        while (slots < 0x40000000u && (uint64_t) slots * 6 < (uint64_t) capacity * 10)
                slots *= 2;
        size_t size = sizeof(Header) + (size_t) slots * REGISTRY_SLOT_SIZE;

        Registry *r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->fd = r->reader_fd = -EBADF;
        r->base = MAP_FAILED;
        r->size = size;
        /* Not touched until a rebuild needs it: it costs no page before then. */
        r->scratch = malloc((size_t) slots * sizeof(SlotCopy));
        int e = r->scratch ? 0 : -ENOMEM;
        if (e == 0)
                r->fd = memfd_create("forkvisor-registry", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (e == 0 && (r->fd < 0 || ftruncate(r->fd, (off_t) size) < 0))
                e = -errno;
        if (e == 0) {
                /* Touched up front: the node never takes a page fault on the restart path. */
                r->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, 0);
                if (r->base == MAP_FAILED)
                        e = -errno;
        }
        if (e == 0) {
                Header *h = r->base;
                atomic_store(&h->magic, REGISTRY_MAGIC);
                atomic_store(&h->version, REGISTRY_VERSION);
                atomic_store(&h->slots, slots);
                atomic_store(&h->slot_size, REGISTRY_SLOT_SIZE);
                /* From now on nobody can write, resize or unseal it: our own mapping, made
                 * before the seal, is the only way to change it (F_SEAL_FUTURE_WRITE). */
                if (fcntl(r->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
                        e = -errno;
        }
        if (e == 0) {
                char path[64];
                snprintf(path, sizeof path, "/proc/self/fd/%d", r->fd);
                r->reader_fd = open(path, O_RDONLY | O_CLOEXEC);
                if (r->reader_fd < 0)
                        e = -errno;
        }
        if (e == 0)
                e = registry_view_init(&r->view, r->base, size);
        if (e < 0) {
                registry_free(r);
                return e;
        }
        *ret = r;
        return 0;
}

Registry *registry_free(Registry *r) {
        if (!r)
                return NULL;
        if (r->base != MAP_FAILED)
                munmap(r->base, r->size);
        safe_close(r->reader_fd);
        safe_close(r->fd);
        free(r->scratch);
        return mfree(r);
}

int registry_reader_fd(const Registry *r) {
        return r->reader_fd;
}

const RegistryView *registry_view(const Registry *r) {
        return &r->view;
}

bool registry_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n < 1 || n > REGISTRY_KEY_MAX)
                return false;
        /* Printable ASCII without the space: no whitespace, no control character, nothing a
         * terminal could misrender in `forkvisor registry`. */
        for (const char *p = name; *p; p++)
                if (*p < 0x21 || *p > 0x7e)
                        return false;
        /* NAME@NODE addresses NAME on another node of a cluster: never a name of its own. */
        if (strchr(name, '@'))
                return false;
        /* A target of only digits is a pid (SPEC 6.1): such a name could never be addressed. */
        if (strspn(name + (name[0] == '+'), "0123456789") == strlen(name + (name[0] == '+')))
                return false;
        return true;
}

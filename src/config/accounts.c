/* SPDX-License-Identifier: MIT */
/* User and group lookups (getpwnam_r and friends), each retried with a bigger buffer while the
 * entry does not fit. */
#include "accounts.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "values.h"

#define BUFFER_MAX (1024 * 1024)

/* getpwnam_r() and friends report "no such entry" as 0 or, depending on the NSS module, as
 * one of these; anything else is a real failure worth showing. */
static bool lookup_failed(int r) {
        return r != 0 && r != ENOENT && r != ESRCH && r != EBADF && r != EPERM;
}

/* One entry by name, or else by number when the name is all digits. */
static int get_passwd(const char *key, void *entry, char *buf, size_t size, bool *found) {
        struct passwd *res = NULL;
        uint64_t id;
        int r = getpwnam_r(key, entry, buf, size, &res);

        if (r == 0 && !res && parse_u64(key, UINT32_MAX - 1, &id) >= 0)
                r = getpwuid_r((uid_t) id, entry, buf, size, &res);
        *found = res;
        return r;
}

static int get_group(const char *key, void *entry, char *buf, size_t size, bool *found) {
        struct group *res = NULL;
        uint64_t id;
        int r = getgrnam_r(key, entry, buf, size, &res);

        if (r == 0 && !res && parse_u64(key, UINT32_MAX - 1, &id) >= 0)
                r = getgrgid_r((gid_t) id, entry, buf, size, &res);
        *found = res;
        return r;
}

/* GET with a buffer that grows while the entry does not fit (ERANGE); the entry's strings point
 * into *buf. */
static int lookup(const char *key, int (*get)(const char *, void *, char *, size_t, bool *), void *entry,
                  char **buf, int *reterr_nss) {
        long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t bufsize = sz > 0 ? (size_t) sz : 16384;
        bool found = false;
        int r;

        for (;;) {
                char *nb = realloc(*buf, bufsize);
                if (!nb)
                        return -ENOMEM;
                *buf = nb;
                r = get(key, entry, *buf, bufsize, &found);
                if (r != ERANGE || bufsize > BUFFER_MAX)
                        break;
                bufsize *= 2;
        }
        if (!found) {
                *reterr_nss = lookup_failed(r) ? r : 0;
                return -ESRCH;
        }
        return 0;
}

int accounts_user(const char *user, uid_t *ret_uid, gid_t *ret_gid, char **ret_name, int *reterr_nss) {
        _cleanup_free_ char *buf = NULL;
        struct passwd pw;
        char *name;
        int r = lookup(user, get_passwd, &pw, &buf, reterr_nss);

        if (r < 0)
                return r;
        name = strdup(pw.pw_name);
        if (!name)
                return -ENOMEM;
        *ret_uid = pw.pw_uid;
        *ret_gid = pw.pw_gid;
        *ret_name = name;
        return 0;
}

int accounts_group(const char *group, gid_t *ret_gid, int *reterr_nss) {
        _cleanup_free_ char *buf = NULL;
        struct group gr;
        int r = lookup(group, get_group, &gr, &buf, reterr_nss);

        if (r < 0)
                return r;
        *ret_gid = gr.gr_gid;
        return 0;
}

int accounts_groups(const char *name, gid_t gid, gid_t **ret, size_t *ret_n) {
        _cleanup_free_ gid_t *groups = NULL;
        int n = 16;

        /* getgrouplist() says how many there are when they do not fit; they may change between
         * two calls, so a few tries. */
        for (int tries = 0; tries < 8; tries++) {
                gid_t *g = reallocarray(groups, (size_t) n, sizeof(gid_t));
                int want = n;

                if (!g)
                        return -ENOMEM;
                groups = g;
                if (getgrouplist(name, gid, groups, &want) >= 0) {
                        *ret = TAKE_PTR(groups);
                        *ret_n = (size_t) want;
                        return 0;
                }
                n = want > n ? want : n * 2;
        }
        return -EIO;
}

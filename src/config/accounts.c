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

static size_t buffer_size(void) {
        long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
        return sz > 0 ? (size_t) sz : 16384;
}

int accounts_user(const char *user, uid_t *ret_uid, gid_t *ret_gid, char **ret_name, int *reterr_nss) {
        _cleanup_free_ char *buf = NULL;
        size_t bufsize = buffer_size();
        struct passwd pw, *res = NULL;
        uint64_t id;
        char *name;
        int r;

        for (;;) {
                char *nb = realloc(buf, bufsize);
                if (!nb)
                        return -ENOMEM;
                buf = nb;
                r = getpwnam_r(user, &pw, buf, bufsize, &res);
                if (r == 0 && !res && parse_u64(user, UINT32_MAX - 1, &id) >= 0)
                        r = getpwuid_r((uid_t) id, &pw, buf, bufsize, &res);
                if (r != ERANGE || bufsize > BUFFER_MAX)
                        break;
                bufsize *= 2;
        }
        if (!res) {
                *reterr_nss = lookup_failed(r) ? r : 0;
                return -ESRCH;
        }
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
        size_t bufsize = buffer_size();
        struct group gr, *res = NULL;
        uint64_t id;
        int r;

        for (;;) {
                char *nb = realloc(buf, bufsize);
                if (!nb)
                        return -ENOMEM;
                buf = nb;
                r = getgrnam_r(group, &gr, buf, bufsize, &res);
                if (r == 0 && !res && parse_u64(group, UINT32_MAX - 1, &id) >= 0)
                        r = getgrgid_r((gid_t) id, &gr, buf, bufsize, &res);
                if (r != ERANGE || bufsize > BUFFER_MAX)
                        break;
                bufsize *= 2;
        }
        if (!res) {
                *reterr_nss = lookup_failed(r) ? r : 0;
                return -ESRCH;
        }
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

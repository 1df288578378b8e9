/* SPDX-License-Identifier: MIT */
/* Where the control socket lives when nobody says (SPEC 3.1), and the rules its directory must
 * meet. Shared by the daemon, which makes the directory, and the client, which only looks: so
 * the client needs nothing of the node. */
#include "control-path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"

static int mkdir_parents(const char *path, mode_t mode) {
        char buf[4096];
        if (strlen(path) >= sizeof buf)
                return -ENAMETOOLONG;
        strcpy(buf, path);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        return 0;
}

/* The directory the default socket lives in decides who can put a socket there or replace
 * ours: another user who made it first (a 0777 /tmp/forkvisor-UID) would otherwise receive our
 * clients' requests, or have us bind inside a directory they control. lstat, so that a symlink
 * to somewhere else is refused rather than followed. */
int private_dir_check(const char *dir, const char *what, bool create) {
        struct stat st;
        int r;

        if (create) {
                r = mkdir_parents(dir, 0700);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the parents of '%s': %m", dir);
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create '%s': %m", dir);
        }
        if (lstat(dir, &st) < 0) {
                if (errno == ENOENT && !create)
                        return 0; /* no daemon has made it yet: connecting will say so */
                return log_error_errno(errno, "Cannot use the %s '%s': %m", what, dir);
        }
        if (S_ISLNK(st.st_mode))
                return log_error_errno(EPERM, "Refusing the %s '%s': it is a symbolic link", what, dir);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(EPERM, "Refusing the %s '%s': it is not a directory", what, dir);
        if (st.st_uid != geteuid())
                return log_error_errno(EPERM, "Refusing the %s '%s': it belongs to uid %u, not to uid %u",
                                       what, dir, (unsigned) st.st_uid, (unsigned) geteuid());
        if (st.st_mode & 0077)
                return log_error_errno(EPERM, "Refusing the %s '%s': its mode is %04o, not 0700",
                                       what, dir, (unsigned) (st.st_mode & 07777));
        return 0;
}

int control_path_default(char **ret, bool create) {
        const char *env;
        _cleanup_free_ char *dir = NULL;
        int r;

        if ((env = getenv("RUNTIME_DIRECTORY")) && *env)
                /* systemd may list several directories, separated by ':'; use the first. */
                r = asprintf(&dir, "%.*s", (int) strcspn(env, ":"), env);
        else if (geteuid() == 0)
                r = asprintf(&dir, "/run/forkvisor");
        else if ((env = getenv("XDG_RUNTIME_DIR")) && *env)
                r = asprintf(&dir, "%s/forkvisor", env);
        else {
                env = getenv("TMPDIR");
                r = asprintf(&dir, "%s/forkvisor-%u", env && *env == '/' ? env : "/tmp", (unsigned) geteuid());
        }
        if (r < 0) {
                dir = NULL;
                return -ENOMEM;
        }
        r = private_dir_check(dir, "runtime directory", create);
        if (r < 0)
                return r;
        if (asprintf(ret, "%s/control.sock", dir) < 0)
                return -ENOMEM;
        return 0;
}

/* SPDX-License-Identifier: MIT */
#include "proc-stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int proc_stat_parse_cpu(const char *text, uint64_t *ret_user_ticks, uint64_t *ret_system_ticks) {
        /* After "PID (COMM) ": state is field 3; utime, stime, cutime, cstime are 14 to 17
         * (proc_pid_stat(5)); cutime and cstime are signed there, never negative in fact. */
        const char *p = strrchr(text, ')');
        uint64_t v[4];

        if (!p || p[1] != ' ')
                return -EINVAL;
        p += 2;
        for (int field = 3; field < 14; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EINVAL;
                p++;
        }
        for (int i = 0; i < 4; i++) {
                char *end;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                errno = 0;
                v[i] = strtoull(p, &end, 10);
                if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
                        return -EINVAL;
                p = *end ? end + 1 : end;
        }
        *ret_user_ticks = v[0] + v[2];
        *ret_system_ticks = v[1] + v[3];
        return 0;
}

int proc_stat_cpu_usec(pid_t pid, uint64_t *ret_user, uint64_t *ret_system) {
        char path[64], buf[1024];
        uint64_t user, system;
        long hz = sysconf(_SC_CLK_TCK);

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        int err = errno;
        close(fd);
        if (n < 0)
                return -err;
        buf[n] = '\0';
        if (proc_stat_parse_cpu(buf, &user, &system) < 0 || hz <= 0)
                return -EINVAL;
        *ret_user = user * 1000000 / (uint64_t) hz;
        *ret_system = system * 1000000 / (uint64_t) hz;
        return 0;
}

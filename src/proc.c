/* SPDX-License-Identifier: MIT */
#include "proc.h"

#include <errno.h>
#include <stdlib.h>

int proc_new(ProcIndex *x, pid_t pid, struct Node *node, Proc **ret) {
        if (pid <= 0)
                return -EINVAL;
        if (idmap_get(&x->by_pid, (uint64_t) pid))
                return -EEXIST;
        Proc *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->pid = pid;
        p->node = node;
        p->incarnation = x->incarnations + 1;
        int r = idmap_put(&x->by_pid, (uint64_t) pid, p);
        if (r < 0) {
                free(p);
                return r;
        }
        x->incarnations++;
        *ret = p;
        return 0;
}

Proc *proc_get(const ProcIndex *x, pid_t pid) {
        return pid > 0 ? idmap_get(&x->by_pid, (uint64_t) pid) : NULL;
}

Proc *proc_release(ProcIndex *x, Proc *p) {
        if (!p)
                return NULL;
        if (idmap_get(&x->by_pid, (uint64_t) p->pid) == p)
                idmap_remove(&x->by_pid, (uint64_t) p->pid);
        free(p);
        return NULL;
}

size_t proc_count(const ProcIndex *x) {
        return x->by_pid.n;
}

void proc_index_done(ProcIndex *x) {
        /* The records are released by their reaper or their node; what is left here is only the
         * table. */
        idmap_done(&x->by_pid);
}

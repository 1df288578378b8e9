/* SPDX-License-Identifier: MIT */
/* The control socket's default path: used by the daemon and by the client, so it lives with
 * neither (the client includes nothing of the node). */
#pragma once

#include <stdbool.h>

/* The default control socket path of SPEC 3.1. Its directory must be a real directory (not a
 * symlink) owned by us and closed to group and others, as XDG_RUNTIME_DIR rules want; with
 * create it is made (mode 0700) when missing. A directory that breaks the rules is refused
 * (-EPERM, logged), so that nobody can prepare it for us and slip their own socket in. */
int control_path_default(char **ret, bool create);

/* The rules above for any directory that must be ours alone (what names it in the messages):
 * 0, or -EPERM (logged) when it breaks them; with create it is made (mode 0700, and its
 * missing parents) first. A missing directory without create is 0. held.c's state_dir too. */
int private_dir_check(const char *dir, const char *what, bool create);

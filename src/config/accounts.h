/* SPDX-License-Identifier: MIT */
/* User and group lookups through NSS (accounts.c), done when the configuration is loaded so
 * that the spawn path, after fork, does none. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* USER is a name or, when no such name exists, a uid. On success *ret_uid, *ret_gid (its
 * primary group) and *ret_name (owned). -ENOMEM, or -ESRCH when there is no such user, with
 * *reterr_nss the error of the lookup that failed (0 when it only found nothing). */
int accounts_user(const char *user, uid_t *ret_uid, gid_t *ret_gid, char **ret_name, int *reterr_nss);
/* The same for a group name or gid. */
int accounts_group(const char *group, gid_t *ret_gid, int *reterr_nss);
/* NAME's supplementary groups, GID among them (getgrouplist(3)), as an owned array. -ENOMEM,
 * or -EIO when the list could not be read. */
int accounts_groups(const char *name, gid_t gid, gid_t **ret, size_t *ret_n);

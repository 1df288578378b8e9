/* SPDX-License-Identifier: MIT */
/* Inside the tree (tree.c: nodes, workers, entry points; supervisor.c: what supervisors do):
 * what the two halves of the one state machine call of each other. Nothing else includes this. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"
#include "tree.h"

/* What a node tells its parent (or, at the root, the tree). */
typedef enum Report {
        REPORT_NONE,            /* Node.sync: no synchronous start or stop under way */
        REPORT_PENDING,
        REPORT_UP,
        REPORT_START_FAILED,
        REPORT_DOWN,
        REPORT_EXIT_NORMAL,
        REPORT_EXIT_ABNORMAL,
} Report;

/* tree.c */
usec_t tree_now(Tree *t);
void node_emit(Node *n, TreeEvent ev);
void node_enter(Node *n, NodeState s);
void node_set_reason(Node *n, const char *fmt, ...) _printf_(2, 3);
void node_note_stop(Node *n, NodeReason why);
void node_schedule_retry(Node *n, usec_t delay);
void node_report(Node *n, Report rep);
ssize_t sup_child_index(const Node *s, const Node *c);
int node_new(Tree *t, const Spec *spec, Node *parent, const char *name, int instance, Node **ret);
Node *node_free(Node *n);
int sup_append_child(Node *s, Node *c);
void sup_remove_child(Node *s, Node *c);
int node_start(Node *n);
int node_stop(Node *n, NodeReason why);

/* supervisor.c */
void sup_begin_start(Node *s, size_t from, bool is_restart);
void sup_continue_start(Node *s);
void sup_begin_stop(Node *s, size_t lo, size_t hi_excl, SupAfter after);
void sup_continue_stop(Node *s);
NodeReason sup_stop_reason(const Node *s);
void sup_handle_exit(Node *s, Node *c, bool abnormal);
void parent_on_child(Node *s, Node *c, Report rep);
int sup_new_dynamic_child(Tree *t, Node *s, char **args, Node **ret);
int sup_start_new_instance(Tree *t, Node *s, unsigned instance, size_t index, char **args, Node **ret);
int make_instances(Tree *t, Node *s);

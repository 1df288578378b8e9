/* SPDX-License-Identifier: MIT */
/* Intrusive doubly linked lists: an object is in a list through its own `name##_next` and
 * `name##_prev` fields, so linking and unlinking never allocate. */
#pragma once

#define LIST_FIELDS(type, name) type *name##_next, *name##_prev

#define LIST_PREPEND(name, head, item)                                  \
        do {                                                            \
                __typeof__(item) _item_ = (item);                       \
                _item_->name##_prev = NULL;                             \
                _item_->name##_next = (head);                           \
                if (head)                                               \
                        (head)->name##_prev = _item_;                   \
                (head) = _item_;                                        \
        } while (0)

#define LIST_REMOVE(name, head, item)                                   \
        do {                                                            \
                __typeof__(item) _item_ = (item);                       \
                if (_item_->name##_next)                                \
                        _item_->name##_next->name##_prev = _item_->name##_prev; \
                if (_item_->name##_prev)                                \
                        _item_->name##_prev->name##_next = _item_->name##_next; \
                else                                                    \
                        (head) = _item_->name##_next;                   \
                _item_->name##_next = _item_->name##_prev = NULL;       \
        } while (0)

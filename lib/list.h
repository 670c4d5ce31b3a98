/* SPDX-License-Identifier: Apache-2.0 */
/* Intrusive circular doubly linked list: a struct link inside each entry,
 * a struct link as the head. The process table's LRU and exited lists and
 * the unwind loader's LRU of loaded tables use it. No allocation, no
 * ownership: the caller owns the entries. */
#ifndef TGPROF_LIB_LIST_H
#define TGPROF_LIB_LIST_H

struct link {
	struct link *prev, *next;
};

/* An empty list, or an entry in none. */
static inline void link__init(struct link *l)
{
	l->prev = l;
	l->next = l;
}

/* Inserts @l first in @head's list. */
static inline void link__add_head(struct link *head, struct link *l)
{
	l->next = head->next;
	l->prev = head;
	head->next->prev = l;
	head->next = l;
}

/* Takes @l out of its list; it is then in none (link__init). */
static inline void link__del(struct link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link__init(l);
}

#endif

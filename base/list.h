/* Intrusive doubly linked list. */
#ifndef RX_LIST_H
#define RX_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct le {
	struct le *prev, *next;
	struct list *list;
	void *data;
};

struct list {
	struct le *head, *tail;
	size_t n;
};

#define LIST_INIT {NULL, NULL, 0}

static inline void list_init(struct list *l) { l->head = l->tail = NULL; l->n = 0; }

static inline void list_append(struct list *l, struct le *e, void *data)
{
	e->data = data;
	e->list = l;
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
	l->n++;
}

static inline void list_unlink(struct le *e)
{
	struct list *l = e->list;
	if (!l)
		return;
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	l->n--;
	e->prev = e->next = NULL;
	e->list = NULL;
}

static inline bool le_linked(const struct le *e) { return e->list != NULL; }

#define LIST_FOREACH(l, e) for (struct le *e = (l)->head; e; e = e->next)

#endif

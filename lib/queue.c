// SPDX-License-Identifier: Apache-2.0
/* Bounded FIFO of owned buffers: a ring that grows up to its bound, the
 * oldest dropped when full. See queue.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/queue.h"

#define QUEUE_MIN_SLOTS 16

struct queue_slot {
	void *buf; /* owned */
	size_t len;
};

struct queue {
	struct queue_slot *ring;
	uint32_t nslots; /* allocated, up to capacity */
	uint32_t capacity;
	uint32_t head; /* the oldest */
	uint32_t n;
	struct queue_stats st;
};

struct queue *queue__new(uint32_t capacity)
{
	struct queue *q;

	if (!capacity || capacity > QUEUE_MAX_CAPACITY) {
		errno = EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		goto err_nomem;
	q->capacity = capacity;
	/* Room from the start: a push never fails for want of a slot. */
	q->nslots = capacity < QUEUE_MIN_SLOTS ? capacity : QUEUE_MIN_SLOTS;
	q->ring = calloc(q->nslots, sizeof(*q->ring));
	if (!q->ring)
		goto err_free;
	return q;

err_free:
	free(q);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

static struct queue_slot *queue__at(const struct queue *q, uint32_t i)
{
	return &q->ring[(q->head + i) % q->nslots];
}

/* Removes the oldest slot; its buffer is the caller's now. */
static void *queue__shift(struct queue *q, size_t *ret_len)
{
	struct queue_slot *s = queue__at(q, 0);
	void *buf = s->buf;

	if (ret_len)
		*ret_len = s->len;
	s->buf = NULL;
	q->head = (q->head + 1) % q->nslots;
	q->n--;
	return buf;
}

/* Doubles the ring, up to the capacity, unwrapping it. */
static int queue__grow(struct queue *q)
{
	uint32_t n = q->nslots * 2, i;
	struct queue_slot *ring;

	if (n > q->capacity)
		n = q->capacity;
	ring = calloc(n, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (i = 0; i < q->n; i++)
		ring[i] = *queue__at(q, i);
	free(q->ring);
	q->ring = ring;
	q->nslots = n;
	q->head = 0;
	return 0;
}

int queue__push(struct queue *q, void *buf, size_t len, void **ret_dropped)
{
	void *old = NULL;

	if (ret_dropped)
		*ret_dropped = NULL;
	if (!buf)
		return -EINVAL;
	/* A ring that cannot grow is full at its current size. */
	if (q->n == q->nslots && (q->nslots == q->capacity || queue__grow(q))) {
		old = queue__shift(q, NULL);
		q->st.dropped[QUEUE_DROP_FULL]++;
	}
	*queue__at(q, q->n) = (struct queue_slot){ .buf = buf, .len = len };
	q->n++;
	q->st.pushed++;
	q->st.pushed_bytes += len;
	if (ret_dropped)
		*ret_dropped = old;
	else
		free(old);
	return 0;
}

void *queue__peek(const struct queue *q, size_t *ret_len)
{
	const struct queue_slot *s;

	if (!q->n)
		return NULL;
	s = queue__at(q, 0);
	if (ret_len)
		*ret_len = s->len;
	return s->buf;
}

void *queue__pop(struct queue *q, size_t *ret_len)
{
	if (!q->n)
		return NULL;
	q->st.popped++;
	return queue__shift(q, ret_len);
}

bool queue__drop(struct queue *q, enum queue_drop cause)
{
	if (!q->n)
		return false;
	free(queue__shift(q, NULL));
	/* A cause this file does not know still counts as a loss. */
	if ((unsigned int)cause >= QUEUE_DROP_NCAUSES)
		cause = QUEUE_DROP_REFUSED;
	q->st.dropped[cause]++;
	return true;
}

size_t queue__drop_all(struct queue *q, enum queue_drop cause)
{
	size_t n = 0;

	while (queue__drop(q, cause))
		n++;
	return n;
}

size_t queue__len(const struct queue *q)
{
	return q->n;
}

void queue__stats(const struct queue *q, struct queue_stats *ret)
{
	*ret = q->st;
	ret->len = q->n;
}

void queue__free(struct queue *q)
{
	if (!q)
		return;
	while (q->n)
		free(queue__shift(q, NULL));
	free(q->ring);
	free(q);
}

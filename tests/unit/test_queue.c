// SPDX-License-Identifier: Apache-2.0
/* Guards lib/queue.c, the bounded FIFO the plugin's request queue and the
 * exporters are built on: items come out in order, a full queue drops its
 * oldest and counts it, every other drop is counted under its cause, and
 * the ring grows up to its bound without reordering anything. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/queue.h"

static struct queue *queue(uint32_t capacity)
{
	struct queue *q = queue__new(capacity);

	cr_assert_not_null(q, "queue__new(%u): %s", capacity, strerror(errno));
	return q;
}

/* Pushes "item-@i"; returns what was dropped to make room (to free). */
static void *push(struct queue *q, int i)
{
	void *dropped = (void *)1;
	char *buf;

	cr_assert_geq(asprintf(&buf, "item-%d", i), 0);
	cr_assert_eq(queue__push(q, buf, strlen(buf) + 1, &dropped), 0);
	return dropped;
}

static int number_of(const void *buf)
{
	int i = -1;

	cr_assert_not_null(buf);
	cr_assert_eq(sscanf(buf, "item-%d", &i), 1, "%s", (const char *)buf);
	return i;
}

static int pop(struct queue *q)
{
	size_t len = 0;
	void *buf = queue__pop(q, &len);
	int i = number_of(buf);

	cr_assert_eq(len, strlen(buf) + 1);
	free(buf);
	return i;
}

Test(queue, items_come_out_oldest_first)
{
	struct queue *q = queue(4);
	struct queue_stats st;
	size_t len = 0;

	cr_assert_null(push(q, 1));
	cr_assert_null(push(q, 2));
	cr_assert_eq(queue__len(q), 2);
	cr_assert_eq(number_of(queue__peek(q, &len)), 1);
	cr_assert_eq(len, strlen("item-1") + 1);
	/* Peeking takes nothing. */
	cr_assert_eq(queue__len(q), 2);
	cr_assert_eq(pop(q), 1);
	cr_assert_eq(pop(q), 2);
	cr_assert_null(queue__peek(q, NULL));
	cr_assert_null(queue__pop(q, NULL));

	queue__stats(q, &st);
	cr_assert_eq(st.pushed, 2);
	cr_assert_eq(st.pushed_bytes, 2 * (strlen("item-1") + 1));
	cr_assert_eq(st.popped, 2);
	cr_assert_eq(st.len, 0);
	queue__free(q);
}

Test(queue, drop_oldest_when_full_counts_the_drop)
{
	struct queue *q = queue(3);
	struct queue_stats st;
	void *dropped;
	int i;

	for (i = 1; i <= 3; i++)
		cr_assert_null(push(q, i));
	/* Full: the oldest goes back to the caller, who frees it. */
	dropped = push(q, 4);
	cr_assert_eq(number_of(dropped), 1);
	free(dropped);
	/* Or the queue frees it itself. */
	cr_assert_eq(queue__push(q, strdup("item-5"), 7, NULL), 0);
	cr_assert_eq(queue__len(q), 3);

	queue__stats(q, &st);
	cr_assert_eq(st.dropped[QUEUE_DROP_FULL], 2);
	cr_assert_eq(st.pushed, 5);
	cr_assert_eq(st.len, 3);
	/* The newest are kept, in order. */
	cr_assert_eq(pop(q), 3);
	cr_assert_eq(pop(q), 4);
	cr_assert_eq(pop(q), 5);
	queue__free(q);
}

Test(queue, each_drop_is_counted_under_its_cause)
{
	struct queue *q = queue(8);
	struct queue_stats st;
	int i;

	for (i = 0; i < 6; i++)
		push(q, i);
	cr_assert(queue__drop(q, QUEUE_DROP_REFUSED));
	cr_assert(queue__drop(q, QUEUE_DROP_EXPIRED));
	/* A cause the queue does not know is still a loss. */
	cr_assert(queue__drop(q, (enum queue_drop)99));
	cr_assert_eq(pop(q), 3);
	cr_assert_eq(queue__drop_all(q, QUEUE_DROP_SHUTDOWN), 2);
	cr_assert_not(queue__drop(q, QUEUE_DROP_REFUSED));
	cr_assert_eq(queue__drop_all(q, QUEUE_DROP_SHUTDOWN), 0);

	queue__stats(q, &st);
	cr_assert_eq(st.dropped[QUEUE_DROP_REFUSED], 2);
	cr_assert_eq(st.dropped[QUEUE_DROP_EXPIRED], 1);
	cr_assert_eq(st.dropped[QUEUE_DROP_SHUTDOWN], 2);
	cr_assert_eq(st.dropped[QUEUE_DROP_FULL], 0);
	cr_assert_eq(st.popped, 1);
	cr_assert_eq(st.len, 0);
	queue__free(q);
}

Test(queue, ring_grows_to_its_bound_keeping_order)
{
	const int cap = 100;
	struct queue *q = queue(cap);
	struct queue_stats st;
	int next_in = 0, next_out = 0, i;
	void *dropped;

	/* Wrap the small ring before it grows: push 3, pop 2, ... */
	while (next_in < 60) {
		for (i = 0; i < 3; i++)
			cr_assert_null(push(q, next_in++));
		for (i = 0; i < 2; i++)
			cr_assert_eq(pop(q), next_out++);
	}
	/* Up to the bound, then past it. */
	while (queue__len(q) < (size_t)cap)
		cr_assert_null(push(q, next_in++));
	for (i = 0; i < 50; i++) {
		dropped = push(q, next_in++);
		cr_assert_eq(number_of(dropped), next_out++);
		free(dropped);
	}
	cr_assert_eq(queue__len(q), (size_t)cap);
	while (queue__len(q))
		cr_assert_eq(pop(q), next_out++);
	cr_assert_eq(next_out, next_in);

	queue__stats(q, &st);
	cr_assert_eq(st.dropped[QUEUE_DROP_FULL], 50);
	cr_assert_eq(st.pushed, (uint64_t)next_in);
	queue__free(q);
}

Test(queue, bad_capacity_and_null_buffers_are_refused)
{
	struct queue *q;
	void *dropped = (void *)1;

	cr_assert_null(queue__new(0));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(queue__new(QUEUE_MAX_CAPACITY + 1));
	cr_assert_eq(errno, EINVAL);

	q = queue(1);
	cr_assert_eq(queue__push(q, NULL, 0, &dropped), -EINVAL);
	cr_assert_null(dropped);
	cr_assert_eq(queue__len(q), 0);
	/* A zero-length item is an item (an empty request is sent too). */
	cr_assert_eq(queue__push(q, malloc(1), 0, NULL), 0);
	cr_assert_eq(queue__len(q), 1);
	queue__free(q);
	queue__free(NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The one bounded FIFO between a producer and a slower consumer: requests
 * waiting for the plugin host's consumer (receiver/plugin/reqqueue.c), for
 * the network (exporter/otlp_http.c) and for the disk (exporter/file.c),
 * and the file exporter's list of files it keeps. It holds owned buffers
 * (bytes, or a struct from malloc()); pushing into a full queue drops the
 * oldest, and every drop is counted by its cause.
 *
 * Not thread-safe: a queue shared between threads is locked by its owner
 * (the exporters hold their own lock around it, with their condition
 * variables; the plugin's queue has one thread). */
#ifndef TGPROF_LIB_QUEUE_H
#define TGPROF_LIB_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUEUE_MAX_CAPACITY (1u << 20)

/* Why an item left the queue without being taken. */
enum queue_drop {
	QUEUE_DROP_FULL, /* pushed out by a newer one */
	QUEUE_DROP_REFUSED, /* the consumer refused it for good */
	QUEUE_DROP_EXPIRED, /* retried for too long */
	QUEUE_DROP_SHUTDOWN, /* still queued when the owner stopped */
	QUEUE_DROP_NCAUSES,
};

struct queue_stats {
	uint64_t pushed;
	uint64_t pushed_bytes; /* the lengths given to queue__push() */
	uint64_t popped; /* taken by queue__pop() */
	uint64_t dropped[QUEUE_DROP_NCAUSES];
	uint32_t len; /* queued now */
};

/* A queue of at most @capacity items (1..QUEUE_MAX_CAPACITY); its ring
 * grows as items come, so a large bound costs nothing until used. Caller
 * frees with queue__free(); NULL + errno (EINVAL, ENOMEM). */
struct queue *queue__new(uint32_t capacity);

/* Frees the queue and every buffer still in it (not counted as dropped:
 * drop them with queue__drop_all() first to count them). Accepts NULL. */
void queue__free(struct queue *q);

/*
 * Queues @buf (from malloc(); @len is the caller's measure of it, summed
 * in pushed_bytes), which the queue owns from now on. In a full queue the
 * oldest item is dropped first (QUEUE_DROP_FULL): handed to the caller in
 * *@ret_dropped, who then frees it (outside its lock, say), or freed here
 * when @ret_dropped is NULL. *@ret_dropped is NULL when nothing was
 * dropped. A ring that cannot grow for want of memory counts as full.
 * Returns 0, or -EINVAL for a NULL @buf (nothing queued or dropped).
 */
int queue__push(struct queue *q, void *buf, size_t len, void **ret_dropped);

/* The oldest buffer, borrowed until the queue changes, and its length
 * (@ret_len may be NULL); NULL when empty. */
void *queue__peek(const struct queue *q, size_t *ret_len);

/* Takes the oldest buffer out (caller frees it), counted as popped, with
 * its length in *@ret_len (may be NULL); NULL when empty. */
void *queue__pop(struct queue *q, size_t *ret_len);

/* Frees the oldest buffer, counted under @cause. False when empty. */
bool queue__drop(struct queue *q, enum queue_drop cause);

/* Frees every buffer, counted under @cause. Returns how many. */
size_t queue__drop_all(struct queue *q, enum queue_drop cause);

size_t queue__len(const struct queue *q);

void queue__stats(const struct queue *q, struct queue_stats *ret);

#endif

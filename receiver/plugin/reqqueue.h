/* SPDX-License-Identifier: Apache-2.0 */
/* Requests waiting for the consumer (DESIGN.md section 7): the plugin's
 * thread pushes each interval's serialized ExportProfilesServiceRequest
 * and offers the oldest to the host's consumer, whose answer decides its
 * fate. Bounded: a push into a full queue drops the oldest. A request the
 * consumer asked to retry waits a capped, jittered, exponentially growing
 * interval while newer ones queue behind it, and is dropped once retrying
 * has taken max_elapsed. Every drop is counted by its cause.
 *
 * Built on lib/queue.h (the ring and its drop counts), lib/backoff.h (the
 * wait) and lib/rand.h (the jitter). Pure: time comes in as arguments, the
 * jitter from the queue's own generator. Not thread-safe: the receiver
 * thread owns it. */
#ifndef TGPROF_RECEIVER_REQQUEUE_H
#define TGPROF_RECEIVER_REQQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REQQUEUE_MAX_CAPACITY 100000

struct reqqueue_opts {
	size_t sz; /* sizeof(struct reqqueue_opts) */
	uint32_t capacity; /* requests; 0: 10 */
	uint64_t initial_interval_ns; /* first wait after a RETRY; 0: 1 s */
	uint64_t max_interval_ns; /* the wait doubles up to it; 0: 30 s */
	/* A request still refused this long after its first RETRY is
	 * dropped; 0: never (the capacity still bounds the queue). */
	uint64_t max_elapsed_ns;
	uint64_t seed; /* of the jitter; 0: from the clock */
};

/* The consumer's answer about the request at the head. */
enum reqqueue_answer {
	REQQUEUE_OK = 0, /* taken: forgotten */
	REQQUEUE_RETRY, /* offered again after a backoff */
	REQQUEUE_PERMANENT, /* refused for good: dropped */
};

struct reqqueue_stats {
	uint64_t pushed; /* requests queued */
	uint64_t pushed_bytes;
	uint64_t offers; /* reqqueue__answer() calls */
	uint64_t consumed; /* answered OK */
	uint64_t retries; /* RETRY answers */
	uint64_t dropped_full; /* the oldest, pushed out by a newer one */
	uint64_t dropped_permanent; /* answered PERMANENT */
	uint64_t dropped_expired; /* still refused after max_elapsed */
	uint64_t dropped_shutdown; /* reqqueue__drop_all() */
	uint32_t queued; /* waiting now */
};

/* Returns a queue (caller frees with reqqueue__free()) or NULL + errno
 * (EINVAL: bad options). */
struct reqqueue *reqqueue__new(const struct reqqueue_opts *opts);

/* Frees the queue and every request in it. Accepts NULL. */
void reqqueue__free(struct reqqueue *q);

/*
 * Queues @buf (@len bytes, from malloc()), which the queue owns from now
 * on, even on error. When the queue is full the oldest request is dropped
 * first (dropped_full). 0, or -EINVAL for an empty request.
 */
int reqqueue__push(struct reqqueue *q, void *buf, size_t len);

/*
 * The oldest request, when it may be offered at @now_ns: 0 with
 * *ret_buf and *ret_len borrowed until the next call on @q. -EAGAIN when it
 * waits for its backoff, -ENOENT when the queue is empty.
 */
int reqqueue__peek(const struct reqqueue *q, uint64_t now_ns,
		   const void **ret_buf, size_t *ret_len);

/* When the oldest request may be offered; UINT64_MAX when empty. */
uint64_t reqqueue__due_ns(const struct reqqueue *q);

/* Applies the consumer's answer @a, given at @now_ns, to the request
 * reqqueue__peek() returned (an answer the ABI does not know counts as
 * PERMANENT). Returns true when the request stays queued, waiting for its
 * next offer; false when it is gone: consumed, refused or expired. */
bool reqqueue__answer(struct reqqueue *q, enum reqqueue_answer a,
		      uint64_t now_ns);

/* Drops every request (shutdown ran out of time), counted in
 * dropped_shutdown. Returns how many. */
size_t reqqueue__drop_all(struct reqqueue *q);

size_t reqqueue__len(const struct reqqueue *q);

void reqqueue__stats(const struct reqqueue *q, struct reqqueue_stats *ret);

/*
 * The wait after the @attempt-th RETRY (0 for the first), backoff__wait():
 * @initial_ns * 2^attempt, capped at @max_ns, times a factor in
 * [0.5, 1.5) taken from @rnd, capped at @max_ns again. Never 0.
 */
uint64_t reqqueue__backoff(uint64_t initial_ns, uint64_t max_ns,
			   uint32_t attempt, uint64_t rnd);

#endif

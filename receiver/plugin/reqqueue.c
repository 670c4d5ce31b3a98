// SPDX-License-Identifier: Apache-2.0
/* Requests waiting for the consumer: a lib/queue of owned buffers, the
 * head's retry state, and lib/backoff's wait between offers. See
 * reqqueue.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/opts.h"
#include "lib/queue.h"
#include "lib/rand.h"
#include "receiver/plugin/reqqueue.h"

#define REQQUEUE_DEFAULT_CAPACITY 10
#define REQQUEUE_DEFAULT_INITIAL (1 * NSEC_PER_SEC)
#define REQQUEUE_DEFAULT_MAX (30 * NSEC_PER_SEC)

/* Only the head is ever offered: a new head starts afresh. */
struct head_retry {
	uint32_t attempts; /* RETRY answers so far */
	uint64_t first_retry_ns; /* of the first RETRY answer */
	uint64_t due_ns; /* offered again from then on; 0: now */
};

struct reqqueue {
	struct reqqueue_opts o;
	struct queue *q;
	struct head_retry head;
	struct rand64 rng; /* the jitter */
	uint64_t offers;
	uint64_t retries;
};

uint64_t reqqueue__backoff(uint64_t initial_ns, uint64_t max_ns,
			   uint32_t attempt, uint64_t rnd)
{
	return backoff__wait(initial_ns, max_ns, attempt, rnd);
}

struct reqqueue *reqqueue__new(const struct reqqueue_opts *opts)
{
	struct reqqueue *q;
	int err;

	q = calloc(1, sizeof(*q));
	if (!q) {
		errno = ENOMEM;
		return NULL;
	}
	err = opts__copy(&q->o, sizeof(q->o), opts);
	if (err)
		goto err_free;
	if (!q->o.capacity)
		q->o.capacity = REQQUEUE_DEFAULT_CAPACITY;
	if (!q->o.initial_interval_ns)
		q->o.initial_interval_ns = REQQUEUE_DEFAULT_INITIAL;
	if (!q->o.max_interval_ns)
		q->o.max_interval_ns = REQQUEUE_DEFAULT_MAX;
	err = -EINVAL;
	if (q->o.capacity > REQQUEUE_MAX_CAPACITY ||
	    q->o.initial_interval_ns > q->o.max_interval_ns)
		goto err_free;
	rand64__init(&q->rng, q->o.seed);
	q->q = queue__new(q->o.capacity);
	if (!q->q) {
		err = -errno;
		goto err_free;
	}
	return q;

err_free:
	free(q);
	errno = -err;
	return NULL;
}

void reqqueue__free(struct reqqueue *q)
{
	if (!q)
		return;
	queue__free(q->q);
	free(q);
}

int reqqueue__push(struct reqqueue *q, void *buf, size_t len)
{
	void *dropped;

	if (!buf || !len) {
		free(buf);
		return -EINVAL;
	}
	queue__push(q->q, buf, len, &dropped);
	if (dropped) {
		/* The head went, even while it was being retried. */
		free(dropped);
		q->head = (struct head_retry){ 0 };
	}
	return 0;
}

uint64_t reqqueue__due_ns(const struct reqqueue *q)
{
	return queue__len(q->q) ? q->head.due_ns : UINT64_MAX;
}

int reqqueue__peek(const struct reqqueue *q, uint64_t now_ns,
		   const void **ret_buf, size_t *ret_len)
{
	size_t len;
	void *buf;

	buf = queue__peek(q->q, &len);
	if (!buf)
		return -ENOENT;
	if (now_ns < q->head.due_ns)
		return -EAGAIN;
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* The head was consumed: forgotten. */
static void reqqueue__take(struct reqqueue *q)
{
	free(queue__pop(q->q, NULL));
	q->head = (struct head_retry){ 0 };
}

/* The head is dropped, counted under @cause. */
static void reqqueue__drop(struct reqqueue *q, enum queue_drop cause)
{
	queue__drop(q->q, cause);
	q->head = (struct head_retry){ 0 };
}

bool reqqueue__answer(struct reqqueue *q, enum reqqueue_answer a,
		      uint64_t now_ns)
{
	struct head_retry *h = &q->head;
	uint64_t wait, elapsed;

	if (!queue__len(q->q))
		return false;
	q->offers++;
	switch (a) {
	case REQQUEUE_OK:
		reqqueue__take(q);
		return false;
	case REQQUEUE_RETRY:
		break;
	case REQQUEUE_PERMANENT:
	default: /* an answer the ABI does not know: refused */
		reqqueue__drop(q, QUEUE_DROP_REFUSED);
		return false;
	}

	q->retries++;
	if (!h->attempts)
		h->first_retry_ns = now_ns;
	wait = backoff__wait(q->o.initial_interval_ns, q->o.max_interval_ns,
			     h->attempts, rand64__next(&q->rng));
	h->attempts++;
	elapsed = now_ns > h->first_retry_ns ? now_ns - h->first_retry_ns : 0;
	/* As the collector's retry: give up when the next try would come
	 * after max_elapsed. */
	if (q->o.max_elapsed_ns && elapsed + wait > q->o.max_elapsed_ns) {
		reqqueue__drop(q, QUEUE_DROP_EXPIRED);
		return false;
	}
	h->due_ns = now_ns + wait;
	return true;
}

size_t reqqueue__drop_all(struct reqqueue *q)
{
	q->head = (struct head_retry){ 0 };
	return queue__drop_all(q->q, QUEUE_DROP_SHUTDOWN);
}

size_t reqqueue__len(const struct reqqueue *q)
{
	return queue__len(q->q);
}

void reqqueue__stats(const struct reqqueue *q, struct reqqueue_stats *ret)
{
	struct queue_stats qs;

	queue__stats(q->q, &qs);
	*ret = (struct reqqueue_stats){
		.pushed = qs.pushed,
		.pushed_bytes = qs.pushed_bytes,
		.offers = q->offers,
		.consumed = qs.popped,
		.retries = q->retries,
		.dropped_full = qs.dropped[QUEUE_DROP_FULL],
		.dropped_permanent = qs.dropped[QUEUE_DROP_REFUSED],
		.dropped_expired = qs.dropped[QUEUE_DROP_EXPIRED],
		.dropped_shutdown = qs.dropped[QUEUE_DROP_SHUTDOWN],
		.queued = qs.len,
	};
}

/* Requests waiting for the consumer: a ring of owned buffers, the head's
 * retry state, and the backoff. See reqqueue.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/opts.h"
#include "receiver/plugin/reqqueue.h"

#define REQQUEUE_DEFAULT_CAPACITY 10
#define REQQUEUE_DEFAULT_INITIAL (1 * NSEC_PER_SEC)
#define REQQUEUE_DEFAULT_MAX (30 * NSEC_PER_SEC)

struct request {
	void *buf; /* owned */
	size_t len;
	uint32_t attempts; /* RETRY answers so far */
	uint64_t first_retry_ns; /* of the first RETRY answer */
	uint64_t due_ns; /* offered again from then on; 0: now */
};

struct reqqueue {
	struct reqqueue_opts o;
	struct request *ring;
	uint32_t head; /* the oldest */
	uint32_t n;
	uint64_t rng; /* splitmix64 state: the jitter */
	struct reqqueue_stats stats;
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

uint64_t reqqueue__backoff(uint64_t initial_ns, uint64_t max_ns,
			   uint32_t attempt, uint64_t rnd)
{
	uint64_t wait = initial_ns ? initial_ns : 1;
	/* [0.5, 1.5) in 1/1024 steps. */
	uint64_t factor = 512 + (rnd >> 54);

	while (attempt-- && wait < max_ns)
		wait = wait > UINT64_MAX / 2 ? UINT64_MAX : wait * 2;
	if (wait > max_ns)
		wait = max_ns;
	/* Split so that no wait, however long, overflows. */
	if (wait / 1024 > (UINT64_MAX - 1024) / factor)
		wait = UINT64_MAX;
	else
		wait = wait / 1024 * factor + wait % 1024 * factor / 1024;
	if (wait > max_ns)
		wait = max_ns;
	return wait ? wait : 1;
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
	q->rng = q->o.seed ? q->o.seed :
			     clock_ns(CLOCK_MONOTONIC) ^ (uintptr_t)q;
	q->ring = calloc(q->o.capacity, sizeof(*q->ring));
	if (!q->ring) {
		err = -ENOMEM;
		goto err_free;
	}
	return q;

err_free:
	free(q);
	errno = -err;
	return NULL;
}

static struct request *reqqueue__at(const struct reqqueue *q, uint32_t i)
{
	return &q->ring[(q->head + i) % q->o.capacity];
}

/* Forgets the head. */
static void reqqueue__pop(struct reqqueue *q)
{
	struct request *r = reqqueue__at(q, 0);

	free(r->buf);
	memset(r, 0, sizeof(*r));
	q->head = (q->head + 1) % q->o.capacity;
	q->n--;
}

void reqqueue__free(struct reqqueue *q)
{
	if (!q)
		return;
	while (q->n)
		reqqueue__pop(q);
	free(q->ring);
	free(q);
}

int reqqueue__push(struct reqqueue *q, void *buf, size_t len)
{
	struct request *r;

	if (!buf || !len) {
		free(buf);
		return -EINVAL;
	}
	if (q->n == q->o.capacity) {
		reqqueue__pop(q);
		q->stats.dropped_full++;
	}
	r = reqqueue__at(q, q->n);
	r->buf = buf;
	r->len = len;
	q->n++;
	q->stats.pushed++;
	q->stats.pushed_bytes += len;
	return 0;
}

uint64_t reqqueue__due_ns(const struct reqqueue *q)
{
	return q->n ? reqqueue__at(q, 0)->due_ns : UINT64_MAX;
}

int reqqueue__peek(const struct reqqueue *q, uint64_t now_ns,
		   const void **ret_buf, size_t *ret_len)
{
	const struct request *r;

	if (!q->n)
		return -ENOENT;
	r = reqqueue__at(q, 0);
	if (now_ns < r->due_ns)
		return -EAGAIN;
	*ret_buf = r->buf;
	*ret_len = r->len;
	return 0;
}

bool reqqueue__answer(struct reqqueue *q, enum reqqueue_answer a,
		      uint64_t now_ns)
{
	struct request *r;
	uint64_t wait, elapsed;

	if (!q->n)
		return false;
	r = reqqueue__at(q, 0);
	q->stats.offers++;
	switch (a) {
	case REQQUEUE_OK:
		q->stats.consumed++;
		reqqueue__pop(q);
		return false;
	case REQQUEUE_RETRY:
		break;
	case REQQUEUE_PERMANENT:
	default: /* an answer the ABI does not know: refused */
		q->stats.dropped_permanent++;
		reqqueue__pop(q);
		return false;
	}

	q->stats.retries++;
	if (!r->attempts)
		r->first_retry_ns = now_ns;
	wait = reqqueue__backoff(q->o.initial_interval_ns, q->o.max_interval_ns,
				 r->attempts, splitmix64(&q->rng));
	r->attempts++;
	elapsed = now_ns > r->first_retry_ns ? now_ns - r->first_retry_ns : 0;
	/* As the collector's retry: give up when the next try would come
	 * after max_elapsed. */
	if (q->o.max_elapsed_ns && elapsed + wait > q->o.max_elapsed_ns) {
		q->stats.dropped_expired++;
		reqqueue__pop(q);
		return false;
	}
	r->due_ns = now_ns + wait;
	return true;
}

size_t reqqueue__drop_all(struct reqqueue *q)
{
	size_t n = q->n;

	while (q->n)
		reqqueue__pop(q);
	q->stats.dropped_shutdown += n;
	return n;
}

size_t reqqueue__len(const struct reqqueue *q)
{
	return q->n;
}

void reqqueue__stats(const struct reqqueue *q, struct reqqueue_stats *ret)
{
	*ret = q->stats;
	ret->queued = q->n;
}

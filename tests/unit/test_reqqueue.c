// SPDX-License-Identifier: Apache-2.0
/* Guards receiver/plugin/reqqueue.c, the requests waiting for the plugin host's
 * consumer: answers decide each request's fate, retries back off within
 * their caps and jitter, a full queue drops its oldest, and every drop is
 * counted by its cause. Time is passed in: no test sleeps. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/clock.h"
#include "receiver/plugin/reqqueue.h"

#define MS NSEC_PER_MSEC
#define SEC NSEC_PER_SEC

static struct reqqueue *queue(uint32_t capacity, uint64_t initial, uint64_t max,
			      uint64_t max_elapsed)
{
	struct reqqueue_opts o = {
		.sz = sizeof(o),
		.capacity = capacity,
		.initial_interval_ns = initial,
		.max_interval_ns = max,
		.max_elapsed_ns = max_elapsed,
		.seed = 42,
	};
	struct reqqueue *q = reqqueue__new(&o);

	cr_assert_not_null(q, "reqqueue__new: %s", strerror(errno));
	return q;
}

/* A request whose bytes say which one it is. */
static void push(struct reqqueue *q, const char *name)
{
	char *buf = strdup(name);

	cr_assert_not_null(buf);
	cr_assert_eq(reqqueue__push(q, buf, strlen(name) + 1), 0);
}

/* The name of the request at the head, which must be due at @now. */
static const char *head(struct reqqueue *q, uint64_t now)
{
	const void *buf;
	size_t len;
	int err = reqqueue__peek(q, now, &buf, &len);

	cr_assert_eq(err, 0, "peek at %llu: %s", (unsigned long long)now,
		     strerror(-err));
	cr_assert_eq(len, strlen(buf) + 1);
	return buf;
}

Test(reqqueue, ok_answers_take_requests_in_order)
{
	struct reqqueue *q = queue(4, SEC, 30 * SEC, 0);
	struct reqqueue_stats st;
	const void *buf;
	size_t len;

	push(q, "first");
	push(q, "second");
	cr_assert_str_eq(head(q, 0), "first");
	cr_assert_not(reqqueue__answer(q, REQQUEUE_OK, 0));
	cr_assert_str_eq(head(q, 0), "second");
	cr_assert_not(reqqueue__answer(q, REQQUEUE_OK, 0));
	cr_assert_eq(reqqueue__peek(q, 0, &buf, &len), -ENOENT);
	cr_assert_eq(reqqueue__due_ns(q), UINT64_MAX);

	reqqueue__stats(q, &st);
	cr_assert_eq(st.pushed, 2);
	cr_assert_eq(st.pushed_bytes, strlen("first") + strlen("second") + 2);
	cr_assert_eq(st.consumed, 2);
	cr_assert_eq(st.offers, 2);
	cr_assert_eq(st.queued, 0);
	reqqueue__free(q);
}

Test(reqqueue, retry_offers_the_same_request_again_after_its_backoff)
{
	struct reqqueue *q = queue(4, 100 * MS, SEC, 0);
	struct reqqueue_stats st;
	const void *buf;
	uint64_t due;
	size_t len;

	push(q, "interval-1");
	push(q, "interval-2");
	cr_assert_str_eq(head(q, 0), "interval-1");
	cr_assert(reqqueue__answer(q, REQQUEUE_RETRY, 0));

	/* Newer requests wait behind it. */
	due = reqqueue__due_ns(q);
	cr_assert_geq(due, 50 * MS);
	cr_assert_lt(due, 150 * MS);
	cr_assert_eq(reqqueue__peek(q, due - 1, &buf, &len), -EAGAIN);
	cr_assert_str_eq(head(q, due), "interval-1");
	cr_assert_not(reqqueue__answer(q, REQQUEUE_OK, due));
	cr_assert_str_eq(head(q, due), "interval-2");

	reqqueue__stats(q, &st);
	cr_assert_eq(st.retries, 1);
	cr_assert_eq(st.consumed, 1);
	cr_assert_eq(st.queued, 1);
	reqqueue__free(q);
}

Test(reqqueue, permanent_answers_drop_and_count)
{
	struct reqqueue *q = queue(4, SEC, 30 * SEC, 0);
	struct reqqueue_stats st;

	push(q, "refused");
	push(q, "unknown answer");
	cr_assert_not(reqqueue__answer(q, REQQUEUE_PERMANENT, 0));
	/* An answer the ABI does not define is a refusal, never a loop. */
	cr_assert_not(reqqueue__answer(q, (enum reqqueue_answer)77, 0));
	reqqueue__stats(q, &st);
	cr_assert_eq(st.dropped_permanent, 2);
	cr_assert_eq(st.consumed, 0);
	cr_assert_eq(st.queued, 0);
	reqqueue__free(q);
}

Test(reqqueue, full_queue_drops_the_oldest)
{
	struct reqqueue *q = queue(2, SEC, 30 * SEC, 0);
	struct reqqueue_stats st;

	push(q, "a");
	cr_assert_str_eq(head(q, 0), "a");
	/* Even while it is being retried. */
	cr_assert(reqqueue__answer(q, REQQUEUE_RETRY, 0));
	push(q, "b");
	push(q, "c");
	cr_assert_eq(reqqueue__len(q), 2);
	/* The new head starts afresh: due at once. */
	cr_assert_str_eq(head(q, 0), "b");
	reqqueue__stats(q, &st);
	cr_assert_eq(st.dropped_full, 1);
	cr_assert_eq(st.pushed, 3);
	reqqueue__free(q);
}

Test(reqqueue, retries_give_up_after_max_elapsed)
{
	struct reqqueue *q = queue(4, 100 * MS, 400 * MS, SEC);
	struct reqqueue_stats st;
	uint64_t now = 5 * SEC;
	int offers = 0;

	push(q, "stubborn");
	while (reqqueue__len(q)) {
		cr_assert_str_eq(head(q, now), "stubborn");
		offers++;
		if (!reqqueue__answer(q, REQQUEUE_RETRY, now))
			break;
		now = reqqueue__due_ns(q);
		cr_assert_lt(offers, 100, "never gave up");
	}
	/* Never offered after the deadline, and not long before it. */
	cr_assert_leq(now, 5 * SEC + SEC);
	cr_assert_geq(offers, 3);
	reqqueue__stats(q, &st);
	cr_assert_eq(st.dropped_expired, 1);
	cr_assert_eq(st.retries, (uint64_t)offers);
	reqqueue__free(q);
}

Test(reqqueue, drop_all_counts_what_shutdown_could_not_offer)
{
	struct reqqueue *q = queue(4, SEC, 30 * SEC, 0);
	struct reqqueue_stats st;

	push(q, "x");
	push(q, "y");
	cr_assert_eq(reqqueue__drop_all(q), 2);
	reqqueue__stats(q, &st);
	cr_assert_eq(st.dropped_shutdown, 2);
	cr_assert_eq(st.queued, 0);
	reqqueue__free(q);
}

Test(reqqueue, backoff_doubles_up_to_its_cap_with_jitter)
{
	const uint64_t initial = 100 * MS, max = 2 * SEC;
	uint64_t mid = 1ULL << 63; /* factor 1.0 */
	uint32_t attempt;

	/* Without jitter: 100, 200, 400, 800, 1600 ms, then capped. */
	for (attempt = 0; attempt < 5; attempt++)
		cr_assert_eq(reqqueue__backoff(initial, max, attempt, mid),
			     initial << attempt);
	cr_assert_eq(reqqueue__backoff(initial, max, 5, mid), max);
	cr_assert_eq(reqqueue__backoff(initial, max, 1000, mid), max);

	/* The jitter spans [0.5, 1.5) of the wait, capped by max. */
	cr_assert_eq(reqqueue__backoff(initial, max, 0, 0), initial / 2);
	cr_assert_lt(reqqueue__backoff(initial, max, 0, UINT64_MAX),
		     initial * 3 / 2);
	cr_assert_gt(reqqueue__backoff(initial, max, 0, UINT64_MAX),
		     initial * 3 / 2 - initial / 512);
	cr_assert_eq(reqqueue__backoff(initial, max, 4, UINT64_MAX), max);
	/* Huge values do not overflow. */
	cr_assert_eq(reqqueue__backoff(UINT64_MAX / 2, UINT64_MAX, 3, mid),
		     UINT64_MAX);
	cr_assert_gt(reqqueue__backoff(1, 1, 0, 0), 0);
}

Test(reqqueue, jitter_spreads_retries)
{
	struct reqqueue *q = queue(4, SEC, 30 * SEC, 0);
	uint64_t lo = UINT64_MAX, hi = 0, wait;
	int i;

	for (i = 0; i < 64; i++) {
		push(q, "r");
		head(q, 0);
		cr_assert(reqqueue__answer(q, REQQUEUE_RETRY, 0));
		wait = reqqueue__due_ns(q);
		cr_assert_geq(wait, SEC / 2);
		cr_assert_lt(wait, SEC * 3 / 2);
		if (wait < lo)
			lo = wait;
		if (wait > hi)
			hi = wait;
		reqqueue__answer(q, REQQUEUE_OK, wait);
	}
	cr_assert_gt(hi - lo, SEC / 4, "no jitter: %llu..%llu",
		     (unsigned long long)lo, (unsigned long long)hi);
	reqqueue__free(q);
}

Test(reqqueue, bad_options_and_requests_are_refused)
{
	struct reqqueue_opts o = { .sz = sizeof(o) };
	struct reqqueue *q;

	o.initial_interval_ns = 2 * SEC;
	o.max_interval_ns = SEC;
	cr_assert_null(reqqueue__new(&o));
	cr_assert_eq(errno, EINVAL);
	o = (struct reqqueue_opts){ .sz = sizeof(o),
				    .capacity = REQQUEUE_MAX_CAPACITY + 1 };
	cr_assert_null(reqqueue__new(&o));
	cr_assert_eq(errno, EINVAL);

	/* Defaults: 10 requests. */
	q = reqqueue__new(NULL);
	cr_assert_not_null(q);
	cr_assert_eq(reqqueue__push(q, NULL, 0), -EINVAL);
	cr_assert_eq(reqqueue__push(q, malloc(1), 0), -EINVAL);
	cr_assert_eq(reqqueue__len(q), 0);
	reqqueue__free(q);
	reqqueue__free(NULL);
}

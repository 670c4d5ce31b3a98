// SPDX-License-Identifier: Apache-2.0
/* Guards cmd/tgprof/losslog.c, the loss warnings of `tgprof run`: the
 * first loss of a kind is said at once, then at most one line per kind
 * and interval with what was lost since and the running total; kinds are
 * apart; a flush says what is left; a counter that restarts is no loss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cmd/tgprof/losslog.h"

#define SEC 1000000000ull
#define SAMPLES "kernel ring buffer full: samples lost"
#define EVENTS "kernel ring buffer full: process events lost"

static struct runlog rl;
static struct losslog ll;
static FILE *out;

static void setup(void)
{
	out = tmpfile();
	cr_assert_not_null(out);
	runlog__init(&rl, fileno(out), TG_LOG_INFO, false);
	losslog__init(&ll, &rl, 60 * SEC);
}

static void teardown(void)
{
	runlog__destroy(&rl);
	fclose(out);
}

/* The lines written so far, less their timestamps, one per line. */
static char *said(void)
{
	static char buf[65536];
	char line[1024], *p;
	size_t o = 0;

	rewind(out);
	buf[0] = '\0';
	while (fgets(line, sizeof(line), out)) {
		p = strstr(line, " level=");
		cr_assert_not_null(p, "%s", line);
		o += snprintf(buf + o, sizeof(buf) - o, "%s", p + 1);
	}
	return buf;
}

TestSuite(losslog, .init = setup, .fini = teardown);

Test(losslog, first_loss_is_said_at_once_then_once_per_interval)
{
	losslog__note(&ll, SAMPLES, "receivers", 0, 1 * SEC, false);
	cr_assert_str_empty(said(), "no loss, no line");
	losslog__note(&ll, SAMPLES, "receivers", 36, 2 * SEC, false);
	cr_assert_str_eq(
		said(),
		"level=warn msg=\"kernel ring buffer full: samples lost\" component=receivers lost=36 total=36\n");
	losslog__note(&ll, SAMPLES, "receivers", 100, 3 * SEC, false);
	losslog__note(&ll, SAMPLES, "receivers", 150, 61 * SEC, false);
	cr_assert_eq(
		strlen(said()),
		strlen("level=warn msg=\"kernel ring buffer full: samples lost\" component=receivers lost=36 total=36\n"),
		"nothing more within the interval: %s", said());
	losslog__note(&ll, SAMPLES, "receivers", 230, 62 * SEC, false);
	cr_assert_not_null(
		strstr(said(),
		       "msg=\"kernel ring buffer full: samples lost\" component=receivers lost=194 total=230\n"),
		"%s", said());
	/* No new loss: no line, however long it has been. */
	losslog__note(&ll, SAMPLES, "receivers", 230, 600 * SEC, false);
	cr_assert_eq(strstr(strstr(said(), "total=230") + 1, "msg="), NULL);
}

Test(losslog, kinds_are_limited_apart)
{
	losslog__note(&ll, SAMPLES, "receivers", 5, 1 * SEC, false);
	losslog__note(&ll, EVENTS, "receivers", 2, 1 * SEC, false);
	losslog__note(&ll, "export queue full: profiles dropped",
		      "exporters.otlphttp/a", 1, 1 * SEC, false);
	losslog__note(&ll, "export queue full: profiles dropped",
		      "exporters.otlphttp/b", 3, 1 * SEC, false);
	cr_assert_str_eq(
		said(),
		"level=warn msg=\"kernel ring buffer full: samples lost\" component=receivers lost=5 total=5\n"
		"level=warn msg=\"kernel ring buffer full: process events lost\" component=receivers lost=2 total=2\n"
		"level=warn msg=\"export queue full: profiles dropped\" component=exporters.otlphttp/a lost=1 total=1\n"
		"level=warn msg=\"export queue full: profiles dropped\" component=exporters.otlphttp/b lost=3 total=3\n");
}

Test(losslog, flush_says_what_the_interval_held_back)
{
	losslog__note(&ll, EVENTS, "receivers", 4, 1 * SEC, false);
	losslog__note(&ll, EVENTS, "receivers", 42, 2 * SEC, false);
	losslog__note(&ll, EVENTS, "receivers", 42, 3 * SEC, true);
	cr_assert_str_eq(
		said(),
		"level=warn msg=\"kernel ring buffer full: process events lost\" component=receivers lost=4 total=4\n"
		"level=warn msg=\"kernel ring buffer full: process events lost\" component=receivers lost=38 total=42\n");
}

Test(losslog, a_counter_that_restarts_is_no_loss)
{
	losslog__note(&ll, SAMPLES, "receivers", 50, 1 * SEC, false);
	losslog__note(&ll, SAMPLES, "receivers", 10, 100 * SEC, false);
	losslog__note(&ll, SAMPLES, "receivers", 10, 200 * SEC, false);
	cr_assert_str_eq(
		said(),
		"level=warn msg=\"kernel ring buffer full: samples lost\" component=receivers lost=50 total=50\n");
	losslog__note(&ll, SAMPLES, "receivers", 17, 300 * SEC, false);
	cr_assert_not_null(strstr(said(), "lost=7 total=17\n"), "%s", said());
}

Test(losslog, kinds_beyond_the_bound_take_the_least_recent_slot)
{
	char comp[32];
	int i;

	for (i = 0; i < LOSSLOG_KINDS_MAX + 10; i++) {
		snprintf(comp, sizeof(comp), "exporters.e%d", i);
		losslog__note(&ll, SAMPLES, comp, 1, (uint64_t)(i + 1) * SEC,
			      false);
	}
	cr_assert_eq(ll.n, LOSSLOG_KINDS_MAX);
	cr_assert_not_null(strstr(said(), "component=exporters.e265 lost=1"));
}

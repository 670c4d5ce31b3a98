// SPDX-License-Identifier: Apache-2.0
/* The rate-limited loss warnings of `tgprof run` (losslog.h): running
 * totals in, at most one warn line per kind and interval out. */
#include <string.h>

#include "cmd/tgprof/losslog.h"

void losslog__init(struct losslog *l, struct runlog *log, uint64_t interval_ns)
{
	memset(l, 0, sizeof(*l));
	l->log = log;
	l->interval_ns = interval_ns;
}

/* The kind of (@msg, @component): found, new, or the least recently seen
 * one taken over. */
static struct losslog_kind *kind_get(struct losslog *l, const char *msg,
				     const char *component)
{
	struct losslog_kind *k, *oldest = NULL;

	for (k = l->kinds; k < l->kinds + l->n; k++) {
		if (k->msg == msg && !strcmp(k->component, component))
			return k;
		if (!oldest || k->seen_ns < oldest->seen_ns)
			oldest = k;
	}
	k = l->n < LOSSLOG_KINDS_MAX ? &l->kinds[l->n++] : oldest;
	memset(k, 0, sizeof(*k));
	k->msg = msg;
	strncpy(k->component, component, sizeof(k->component) - 1);
	return k;
}

void losslog__note(struct losslog *l, const char *msg, const char *component,
		   uint64_t total, uint64_t now_ns, bool flush)
{
	struct losslog_kind *k;

	if (!total)
		return;
	k = kind_get(l, msg, component);
	k->seen_ns = now_ns;
	if (total < k->logged)
		k->logged = total;
	if (total == k->logged)
		return;
	if (!flush && k->last_log_ns &&
	    now_ns - k->last_log_ns < l->interval_ns)
		return;
	runlog__log(l->log, TG_LOG_WARN, msg, RL_STR("component", component),
		    RL_U64("lost", total - k->logged), RL_U64("total", total));
	k->logged = total;
	k->last_log_ns = now_ns ? now_ns : 1;
}

// SPDX-License-Identifier: Apache-2.0
/* Collector-style YAML to the host's config: the tree from yamltree.c is
 * walked against each component's key table, every scalar expanded
 * (${env:NAME}) and set through the component's setter, then each
 * component validated and the pipeline checked against what is
 * configured. Problems carry the file position of what caused them. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/tgprof/config/config.h"
#include "cmd/tgprof/config/yamltree.h"
#include "lib/configmap_print.h"

#define KEYPATH_MAX (CONFIGMAP_NAME_MAX + 32) /* a key path with [i] */

/* Where a key (or list element, or map entry) was set from. */
struct record {
	char *key; /* as the component reports it: "filter.include_pid[0]" */
	char *shown; /* as the file has it: "filter.include_pid[2]" */
	uint32_t line;
	uint32_t col;
	bool failed; /* the setter refused it: later reports stay quiet */
};

/* One component being read: a receiver (through its plugin) or a host
 * component (exporter, service). */
struct target {
	char path[CONFIG_ID_MAX + 32]; /* "receivers.tgprof/a", "service" */
	const struct tgprof_config_key *keys;
	size_t nkeys;
	const struct tgprof_plugin *plugin;
	struct tgprof_config *pcfg;
	const struct host_component *host;
	void *hcfg;
	const struct ynode *at; /* the component: for problems of no key */
	struct record *records;
	size_t nrecords;
	size_t cap;
};

struct loader {
	const char *name; /* the file, in messages */
	struct config_problems *problems;
	const struct tgprof_plugin *const *plugins;
	size_t nplugins;
	struct config *cfg;
	bool nomem;
};

/* ---- problems -------------------------------------------------------- */

static void add_problem(struct loader *l, uint32_t line, uint32_t col,
			const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_problem(struct loader *l, uint32_t line, uint32_t col,
			const char *fmt, ...)
{
	struct config_problems *p = l->problems;
	char msg[CONFIGMAP_ERR_MAX * 2], *text;
	va_list ap;
	int n;

	if (p->n >= CONFIG_MAX_PROBLEMS) {
		p->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		n = asprintf(&text, "%s:%u:%u: %s", l->name, line, col, msg);
	else
		n = asprintf(&text, "%s: %s", l->name, msg);
	if (n < 0) {
		l->nomem = true;
		p->dropped++;
		return;
	}
	p->items[p->n].line = line;
	p->items[p->n].col = col;
	p->items[p->n].text = text;
	p->n++;
}

static void node_problem(struct loader *l, const struct ynode *at,
			 const char *path, const char *msg)
{
	add_problem(l, at ? at->line : 0, at ? at->col : 0, "%s: %s", path,
		    msg);
}

static bool problem_before(const struct config_problem *x,
			   const struct config_problem *y)
{
	/* Problems with no position go last. */
	if (!x->line != !y->line)
		return x->line;
	if (x->line != y->line)
		return x->line < y->line;
	return x->col < y->col;
}

/* File order; stable, so problems at one place keep the order found. At
 * most CONFIG_MAX_PROBLEMS: insertion sort will do. */
static void sort_problems(struct config_problems *p)
{
	size_t i, j;

	for (i = 1; i < p->n; i++) {
		struct config_problem cur = p->items[i];

		for (j = i; j > 0 && problem_before(&cur, &p->items[j - 1]);
		     j--)
			p->items[j] = p->items[j - 1];
		p->items[j] = cur;
	}
}

void config_problems__release(struct config_problems *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		free(p->items[i].text);
	p->n = 0;
	p->dropped = 0;
}

void config_problems__print(const struct config_problems *p, FILE *f)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		fprintf(f, "%s\n", p->items[i].text);
	if (p->dropped)
		fprintf(f, "... and %zu more problems\n", p->dropped);
}

/* ---- ${env:NAME} ------------------------------------------------------ */

struct outbuf {
	char *s;
	size_t len;
	size_t cap;
	bool too_long;
};

static int out_add(struct outbuf *o, const char *s, size_t n)
{
	if (o->len + n >= CONFIG_EXPAND_MAX) {
		o->too_long = true;
		return -E2BIG;
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->len + n + 1) * 2;
		char *p = realloc(o->s, cap);

		if (!p)
			return -ENOMEM;
		o->s = p;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
	return 0;
}

static bool env_name_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || (!isalpha((unsigned char)s[0]) && s[0] != '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

char *config__expand_env(const char *in, char *err, size_t errlen)
{
	struct outbuf o = { 0 };
	char got[CONFIGMAP_QUOTE_BUF], name[256];
	const char *p = in;
	int ret = 0;

	ret = out_add(&o, "", 0);
	while (!ret && *p) {
		const char *close, *inner, *def, *val;
		size_t nlen, rawlen;
		char raw[CONFIGMAP_QUOTE_MAX + 1];

		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			ret = out_add(&o, "${", 2);
			p += 3;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			size_t run = strcspn(p + 1, "$") + 1;

			ret = out_add(&o, p, run);
			p += run;
			continue;
		}
		close = strchr(p, '}');
		rawlen = close ? (size_t)(close - p + 1) : strlen(p);
		if (rawlen >= sizeof(raw))
			rawlen = sizeof(raw) - 1;
		memcpy(raw, p, rawlen);
		raw[rawlen] = '\0';
		configmap__quote(raw, got, sizeof(got));
		if (!close) {
			snprintf(err, errlen,
				 "expected ${env:NAME} closed by }, got %s",
				 got);
			ret = -EINVAL;
			break;
		}
		inner = p + 2;
		if (strncmp(inner, "env:", 4)) {
			snprintf(
				err, errlen,
				"expected ${env:NAME} (the only provider), got %s",
				got);
			ret = -EINVAL;
			break;
		}
		inner += 4;
		def = strstr(inner, ":-");
		if (def && def > close)
			def = NULL;
		nlen = (def ? def : close) - inner;
		if (!env_name_ok(inner, nlen) || nlen >= sizeof(name)) {
			snprintf(
				err, errlen,
				"expected ${env:NAME} with a NAME of letters, digits and _, got %s",
				got);
			ret = -EINVAL;
			break;
		}
		memcpy(name, inner, nlen);
		name[nlen] = '\0';
		val = getenv(name);
		if (val) {
			ret = out_add(&o, val, strlen(val));
		} else if (def) {
			ret = out_add(&o, def + 2, close - def - 2);
		} else {
			snprintf(err, errlen,
				 "environment variable %s is not set", name);
			ret = -EINVAL;
			break;
		}
		p = close + 1;
	}
	if (ret == -E2BIG) {
		snprintf(err, errlen,
			 "expected at most %d bytes after ${env:} expansion",
			 CONFIG_EXPAND_MAX - 1);
		ret = -EINVAL;
	}
	if (ret) {
		free(o.s);
		errno = -ret;
		return NULL;
	}
	return o.s;
}

/* ---- targets ------------------------------------------------------------- */

static int target_set(struct target *t, const char *key, const char *value,
		      char *err, size_t errlen)
{
	if (t->plugin)
		return t->plugin->config_set(t->pcfg, key, value, err, errlen);
	return host_component__set(t->host, t->hcfg, key, value, err, errlen);
}

static int record(struct loader *l, struct target *t, const char *key,
		  const char *shown, const struct ynode *at, bool failed)
{
	struct record *r;

	if (t->nrecords == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 32;

		r = realloc(t->records, cap * sizeof(*r));
		if (!r)
			goto nomem;
		t->records = r;
		t->cap = cap;
	}
	r = &t->records[t->nrecords];
	r->key = strdup(key);
	r->shown = strdup(shown);
	if (!r->key || !r->shown) {
		free(r->key);
		free(r->shown);
		goto nomem;
	}
	r->line = at->line;
	r->col = at->col;
	r->failed = failed;
	t->nrecords++;
	return 0;
nomem:
	l->nomem = true;
	return -ENOMEM;
}

static const struct record *find_record(const struct target *t, const char *key)
{
	size_t i;

	for (i = t->nrecords; i-- > 0;)
		if (!strcmp(t->records[i].key, key))
			return &t->records[i];
	return NULL;
}

static void target_release(struct target *t)
{
	size_t i;

	for (i = 0; i < t->nrecords; i++) {
		free(t->records[i].key);
		free(t->records[i].shown);
	}
	free(t->records);
	t->records = NULL;
	t->nrecords = 0;
	t->cap = 0;
}

/* A problem with key @key of @t ("" for the component itself). */
static void target_problem(struct loader *l, struct target *t,
			   const struct ynode *at, const char *key,
			   const char *msg)
{
	char path[sizeof(t->path) + KEYPATH_MAX];

	snprintf(path, sizeof(path), "%s%s%s", t->path, *key ? "." : "", key);
	node_problem(l, at, path, msg);
}

/* What a key of type @type takes, for a value of the wrong shape. */
static const char *type_phrase(enum tgprof_config_type type)
{
	switch ((int)type) {
	case TGPROF_CONFIG_BOOL:
		return "true or false";
	case TGPROF_CONFIG_INT:
		return "an integer";
	case TGPROF_CONFIG_DURATION:
		return "a duration (like 250ms, 5s, 2m)";
	case TGPROF_CONFIG_SIZE:
		return "a size (like 512KiB, 8MiB)";
	case TGPROF_CONFIG_STRING:
		return "a string";
	case TGPROF_CONFIG_STRING_LIST:
		return "a list of strings (like [a, b])";
	case TGPROF_CONFIG_INT_LIST:
		return "a list of integers (like [1, 2])";
	case CONFIGMAP_STRING_MAP:
		return "a mapping of names to strings";
	}
	return "a value";
}

/* "a list", "a mapping", or the scalar's text quoted. */
static const char *got_text(const struct ynode *n, char *buf, size_t len)
{
	if (n->kind != YNODE_SCALAR)
		return ynode__kind_name(n);
	configmap__quote(n->text, buf, len);
	return buf;
}

/* The text a scalar value gives its key: null is "", the rest is
 * expanded. NULL after reporting why not. Caller frees. */
static char *scalar_value(struct loader *l, struct target *t,
			  const struct ynode *v, const char *shown)
{
	char err[CONFIGMAP_ERR_MAX];
	char *s;

	if (ynode__is_null(v)) {
		s = strdup("");
	} else {
		err[0] = '\0';
		s = config__expand_env(v->text, err, sizeof(err));
		if (!s && errno == EINVAL) {
			target_problem(l, t, v, shown, err);
			return NULL;
		}
	}
	if (!s)
		l->nomem = true;
	return s;
}

/* Sets @key from scalar @v; @shown names it in reports. Returns the
 * setter's result, or 1 when the value could not be read (said). */
static int set_scalar(struct loader *l, struct target *t, const char *key,
		      const char *shown, const struct ynode *v, char *err,
		      size_t errlen)
{
	char *text = scalar_value(l, t, v, shown);
	int ret;

	if (!text)
		return 1;
	err[0] = '\0';
	ret = target_set(t, key, text, err, errlen);
	free(text);
	if (ret == -ENOMEM)
		l->nomem = true;
	if (ret && !err[0])
		snprintf(err, errlen, "refused (%s)", strerror(-ret));
	return ret;
}

static void set_list(struct loader *l, struct target *t,
		     const struct tgprof_config_key *k, const struct ynode *v)
{
	char err[CONFIGMAP_ERR_MAX], last[CONFIGMAP_ERR_MAX] = "";
	char rkey[KEYPATH_MAX], shown[KEYPATH_MAX], got[CONFIGMAP_QUOTE_BUF];
	size_t i, stored = 0;
	int ret;

	if (v->kind == YNODE_SCALAR && !ynode__is_null(v)) {
		snprintf(err, sizeof(err), "expected %s, got %s",
			 type_phrase(k->type), got_text(v, got, sizeof(got)));
		target_problem(l, t, v, k->name, err);
		record(l, t, k->name, k->name, v, true);
		return;
	}
	if (v->kind == YNODE_MAP) {
		snprintf(err, sizeof(err), "expected %s, got a mapping",
			 type_phrase(k->type));
		target_problem(l, t, v, k->name, err);
		record(l, t, k->name, k->name, v, true);
		return;
	}
	record(l, t, k->name, k->name, v, false);
	if (v->kind != YNODE_SEQ || !v->n) {
		/* Null or []: an empty list. A plugin's list that is empty
		 * by default needs no call. */
		if (k->default_value && !strcmp(k->default_value, "[]"))
			return;
		err[0] = '\0';
		ret = target_set(t, k->name, NULL, err, sizeof(err));
		if (ret)
			target_problem(l, t, v, k->name, err);
		return;
	}
	for (i = 0; i < v->n; i++) {
		const struct ynode *e = v->items[i];

		snprintf(rkey, sizeof(rkey), "%s[%zu]", k->name, stored);
		snprintf(shown, sizeof(shown), "%s[%zu]", k->name, i);
		if (e->kind != YNODE_SCALAR) {
			snprintf(err, sizeof(err), "expected %s, got %s",
				 k->type == TGPROF_CONFIG_INT_LIST ?
					 "an integer" :
					 "a string",
				 ynode__kind_name(e));
			target_problem(l, t, e, shown, err);
			continue;
		}
		ret = set_scalar(l, t, k->name, shown, e, err, sizeof(err));
		/* A refused element is not stored: the component counts
		 * only the others. */
		record(l, t, ret ? "" : rkey, shown, e, ret != 0);
		if (!ret) {
			stored++;
			continue;
		}
		if (ret == 1)
			continue;
		if (ret == -ERANGE && !strcmp(err, last))
			break; /* the list is full: said once */
		/* "Too many" belongs to the list, the rest to the element. */
		target_problem(l, t, e,
			       strncmp(err, "expected at most", 16) ||
					       !strstr(err, "elements") ?
				       shown :
				       k->name,
			       err);
		snprintf(last, sizeof(last), "%s", err);
	}
}

static void set_map(struct loader *l, struct target *t,
		    const struct tgprof_config_key *k, const struct ynode *v)
{
	char err[CONFIGMAP_ERR_MAX], key[KEYPATH_MAX], got[CONFIGMAP_QUOTE_BUF];
	size_t i;
	int ret;

	if (ynode__is_null(v))
		return;
	if (v->kind != YNODE_MAP) {
		snprintf(err, sizeof(err), "expected %s, got %s",
			 type_phrase(k->type), got_text(v, got, sizeof(got)));
		target_problem(l, t, v, k->name, err);
		record(l, t, k->name, k->name, v, true);
		return;
	}
	record(l, t, k->name, k->name, v, false);
	for (i = 0; i + 1 < v->n; i += 2) {
		const struct ynode *name = v->items[i], *val = v->items[i + 1];

		if (name->kind != YNODE_SCALAR) {
			target_problem(l, t, name, k->name,
				       "expected a name, got a collection");
			continue;
		}
		snprintf(key, sizeof(key), "%s.%s", k->name, name->text);
		if (val->kind != YNODE_SCALAR) {
			snprintf(err, sizeof(err), "expected a string, got %s",
				 ynode__kind_name(val));
			target_problem(l, t, val, key, err);
			continue;
		}
		ret = set_scalar(l, t, key, key, val, err, sizeof(err));
		record(l, t, key, key, val, ret != 0);
		if (ret && ret != 1)
			target_problem(l, t, val, key, err);
	}
}

static void set_key(struct loader *l, struct target *t,
		    const struct tgprof_config_key *k, const struct ynode *v)
{
	char err[CONFIGMAP_ERR_MAX];
	int ret;

	switch ((int)k->type) {
	case TGPROF_CONFIG_STRING_LIST:
	case TGPROF_CONFIG_INT_LIST:
		set_list(l, t, k, v);
		return;
	case CONFIGMAP_STRING_MAP:
		set_map(l, t, k, v);
		return;
	}
	if (v->kind != YNODE_SCALAR) {
		snprintf(err, sizeof(err), "expected %s, got %s",
			 type_phrase(k->type), ynode__kind_name(v));
		target_problem(l, t, v, k->name, err);
		record(l, t, k->name, k->name, v, true);
		return;
	}
	ret = set_scalar(l, t, k->name, k->name, v, err, sizeof(err));
	record(l, t, k->name, k->name, v, ret != 0);
	if (ret && ret != 1)
		target_problem(l, t, v, k->name, err);
}

/* Walks mapping @v whose keys lie below @prefix ("" at the top). */
static void walk_map(struct loader *l, struct target *t, const struct ynode *v,
		     const char *prefix)
{
	char full[KEYPATH_MAX], msg[CONFIGMAP_ERR_MAX], near[KEYPATH_MAX];
	char got[CONFIGMAP_QUOTE_BUF];
	size_t i;

	if (ynode__is_null(v))
		return;
	if (v->kind != YNODE_MAP) {
		snprintf(msg, sizeof(msg), "expected a mapping, got %s",
			 got_text(v, got, sizeof(got)));
		target_problem(l, t, v, prefix, msg);
		return;
	}
	for (i = 0; i + 1 < v->n; i += 2) {
		const struct ynode *kn = v->items[i], *val = v->items[i + 1];
		int idx;

		if (kn->kind != YNODE_SCALAR) {
			target_problem(l, t, kn, prefix,
				       "expected a key name, got a collection");
			continue;
		}
		if (!strcmp(kn->text, "<<")) {
			target_problem(
				l, t, kn, prefix,
				"merge keys (<<) are not supported; use an alias as a whole value");
			continue;
		}
		if ((size_t)snprintf(full, sizeof(full), "%s%s%s", prefix,
				     *prefix ? "." : "",
				     kn->text) >= sizeof(full) ||
		    strlen(full) > CONFIGMAP_NAME_MAX) {
			target_problem(l, t, kn, prefix,
				       "expected a shorter key name");
			continue;
		}
		idx = configmap__find(t->keys, t->nkeys, full);
		if (idx >= 0) {
			set_key(l, t, &t->keys[idx], val);
		} else if (configmap__has_prefix(t->keys, t->nkeys, full)) {
			walk_map(l, t, val, full);
		} else if (configmap__suggest(t->keys, t->nkeys, full, near,
					      sizeof(near))) {
			snprintf(msg, sizeof(msg),
				 "unknown key (did you mean %s?)", near);
			target_problem(l, t, kn, full, msg);
		} else {
			target_problem(l, t, kn, full, "unknown key");
		}
	}
}

struct report_ctx {
	struct loader *l;
	struct target *t;
};

/* A validation problem, placed where its key was set. */
static void on_report(void *ctx, const char *key, const char *problem)
{
	struct report_ctx *rc = ctx;
	const struct record *r = find_record(rc->t, key);
	char base[KEYPATH_MAX];
	const char *shown = key;
	uint32_t line = rc->t->at ? rc->t->at->line : 0;
	uint32_t col = rc->t->at ? rc->t->at->col : 0;

	if (!r) {
		/* "k[3]" or "k.entry" not found: the key's own record. */
		size_t n = strcspn(key, "[");

		snprintf(base, sizeof(base), "%.*s", (int)n, key);
		r = find_record(rc->t, base);
	}
	if (r && r->failed)
		return; /* already said when it was set */
	if (r) {
		line = r->line;
		col = r->col;
		if (!strcmp(r->key, key))
			shown = r->shown;
	}
	add_problem(rc->l, line, col, "%s%s%s: %s", rc->t->path,
		    *shown ? "." : "", shown, problem);
}

static void target_validate(struct loader *l, struct target *t)
{
	struct report_ctx rc = { .l = l, .t = t };

	if (t->plugin)
		t->plugin->config_validate(t->pcfg, on_report, &rc);
	else
		host_component__validate(t->host, t->hcfg, on_report, &rc);
}

/* ---- sections ---------------------------------------------------------- */

/* type[/name]: the type in lowercase letters, digits and '_' (a letter
 * first); the name in letters, digits, '_', '.' and '-'. */
static bool parse_id(const char *id, char *type, size_t len)
{
	const char *slash = strchr(id, '/');
	size_t tl = slash ? (size_t)(slash - id) : strlen(id), i;

	if (!tl || tl >= len || tl > 63 || !islower((unsigned char)id[0]))
		return false;
	for (i = 0; i < tl; i++)
		if (!islower((unsigned char)id[i]) &&
		    !isdigit((unsigned char)id[i]) && id[i] != '_')
			return false;
	if (slash) {
		const char *name = slash + 1;

		if (!*name || strlen(name) > 63)
			return false;
		for (i = 0; name[i]; i++)
			if (!isalnum((unsigned char)name[i]) &&
			    !strchr("_.-", name[i]))
				return false;
	}
	memcpy(type, id, tl);
	type[tl] = '\0';
	return true;
}

static const struct tgprof_plugin *find_plugin(struct loader *l,
					       const char *type)
{
	size_t i;

	for (i = 0; i < l->nplugins; i++)
		if (!strcmp(l->plugins[i]->name, type))
			return l->plugins[i];
	return NULL;
}

/* "tgprof", "otlphttp, file": the types a section knows. */
static void known_types(struct loader *l, bool receivers, char *buf, size_t len)
{
	size_t i, o = 0, n = receivers ? l->nplugins : host_nexporters;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++) {
		const char *type = receivers ? l->plugins[i]->name :
					       host_exporters[i].type;

		o += snprintf(buf + o, len - o, "%s%s", i ? ", " : "", type);
	}
	if (!n)
		snprintf(buf, len, "none");
}

static void load_receiver(struct loader *l, const struct ynode *idn,
			  const struct ynode *body, const char *type)
{
	struct config_receiver *r = &l->cfg->receivers[l->cfg->nreceivers];
	const struct tgprof_plugin *p = find_plugin(l, type);
	struct target t = { 0 };
	char msg[CONFIGMAP_ERR_MAX], known[256], path[CONFIG_ID_MAX + 16];

	if (!p) {
		known_types(l, true, known, sizeof(known));
		snprintf(msg, sizeof(msg),
			 "unknown receiver type \"%s\" (known: %s)", type,
			 known);
		snprintf(path, sizeof(path), "receivers.%s", idn->text);
		node_problem(l, idn, path, msg);
		return;
	}
	r->cfg = p->config_new();
	if (!r->cfg) {
		l->nomem = true;
		return;
	}
	r->plugin = p;
	snprintf(r->id, sizeof(r->id), "%s", idn->text);
	l->cfg->nreceivers++;
	snprintf(t.path, sizeof(t.path), "receivers.%s", idn->text);
	t.keys = p->config_keys;
	t.nkeys = p->config_nkeys;
	t.plugin = p;
	t.pcfg = r->cfg;
	t.at = idn;
	walk_map(l, &t, body, "");
	target_validate(l, &t);
	target_release(&t);
}

static void load_exporter(struct loader *l, const struct ynode *idn,
			  const struct ynode *body, const char *type)
{
	struct config_exporter *e = &l->cfg->exporters[l->cfg->nexporters];
	const struct host_component *c = host_exporter__find(type);
	struct target t = { 0 };
	char msg[CONFIGMAP_ERR_MAX], known[256], path[CONFIG_ID_MAX + 16];

	if (!c) {
		known_types(l, false, known, sizeof(known));
		snprintf(msg, sizeof(msg),
			 "unknown exporter type \"%s\" (known: %s)", type,
			 known);
		snprintf(path, sizeof(path), "exporters.%s", idn->text);
		node_problem(l, idn, path, msg);
		return;
	}
	e->cfg = host_component__new(c);
	if (!e->cfg) {
		l->nomem = true;
		return;
	}
	e->component = c;
	snprintf(e->id, sizeof(e->id), "%s", idn->text);
	l->cfg->nexporters++;
	snprintf(t.path, sizeof(t.path), "exporters.%s", idn->text);
	t.keys = c->map->keys;
	t.nkeys = c->map->nkeys;
	t.host = c;
	t.hcfg = e->cfg;
	t.at = idn;
	walk_map(l, &t, body, "");
	target_validate(l, &t);
	target_release(&t);
}

static void load_section(struct loader *l, const struct ynode *v,
			 bool receivers)
{
	const char *section = receivers ? "receivers" : "exporters";
	char type[64], msg[CONFIGMAP_ERR_MAX], got[CONFIGMAP_QUOTE_BUF];
	size_t i;

	if (ynode__is_null(v))
		return;
	if (v->kind != YNODE_MAP) {
		snprintf(
			msg, sizeof(msg),
			"expected a mapping of component ids (type[/name]) to their settings, got %s",
			got_text(v, got, sizeof(got)));
		node_problem(l, v, section, msg);
		return;
	}
	for (i = 0; i + 1 < v->n; i += 2) {
		const struct ynode *idn = v->items[i], *body = v->items[i + 1];
		size_t n = receivers ? l->cfg->nreceivers : l->cfg->nexporters;

		if (idn->kind != YNODE_SCALAR ||
		    strlen(idn->text) > CONFIG_ID_MAX ||
		    !parse_id(idn->text, type, sizeof(type))) {
			snprintf(
				msg, sizeof(msg),
				"expected a component id type[/name] (type: lowercase letters, digits, _; name: letters, digits, _ . -), got %s",
				got_text(idn, got, sizeof(got)));
			node_problem(l, idn, section, msg);
			continue;
		}
		if (n >= CONFIG_MAX_COMPONENTS) {
			snprintf(msg, sizeof(msg), "expected at most %d %s",
				 CONFIG_MAX_COMPONENTS, section);
			node_problem(l, idn, section, msg);
			break;
		}
		if (receivers)
			load_receiver(l, idn, body, type);
		else
			load_exporter(l, idn, body, type);
	}
}

/* Each pipeline id names a configured component, once. */
static void check_pipeline(struct loader *l, struct target *t,
			   const struct configmap_str_list *ids, bool receivers)
{
	struct report_ctx rc = { .l = l, .t = t };
	const char *key = receivers ? "pipelines.profiles.receivers" :
				      "pipelines.profiles.exporters";
	char rkey[KEYPATH_MAX], msg[CONFIGMAP_ERR_MAX * 2], known[384];
	size_t i, j, n, o;

	n = receivers ? l->cfg->nreceivers : l->cfg->nexporters;
	for (j = 0, o = 0, known[0] = '\0'; j < n && o < sizeof(known); j++)
		o += snprintf(known + o, sizeof(known) - o, "%s%s",
			      j ? ", " : "",
			      receivers ? l->cfg->receivers[j].id :
					  l->cfg->exporters[j].id);
	if (!n)
		snprintf(known, sizeof(known), "none");
	for (i = 0; i < ids->n; i++) {
		const char *id = ids->items[i];
		bool found = false;

		snprintf(rkey, sizeof(rkey), "%s[%zu]", key, i);
		for (j = 0; j < i; j++) {
			if (!strcmp(ids->items[j], id)) {
				snprintf(msg, sizeof(msg),
					 "\"%s\" is listed twice", id);
				on_report(&rc, rkey, msg);
				break;
			}
		}
		if (j < i)
			continue;
		for (j = 0; j < n && !found; j++)
			found = !strcmp(id, receivers ?
						    l->cfg->receivers[j].id :
						    l->cfg->exporters[j].id);
		if (found)
			continue;
		snprintf(msg, sizeof(msg),
			 "\"%s\" is not a configured %s (configured: %s)", id,
			 receivers ? "receiver" : "exporter", known);
		on_report(&rc, rkey, msg);
	}
}

static void load_service(struct loader *l, const struct ynode *v,
			 const struct ynode *at)
{
	struct target t = { 0 };

	l->cfg->service = host_component__new(&host_service);
	if (!l->cfg->service) {
		l->nomem = true;
		return;
	}
	snprintf(t.path, sizeof(t.path), "service");
	t.keys = host_service.map->keys;
	t.nkeys = host_service.map->nkeys;
	t.host = &host_service;
	t.hcfg = l->cfg->service;
	t.at = at;
	if (v)
		walk_map(l, &t, v, "");
	target_validate(l, &t);
	check_pipeline(l, &t, &l->cfg->service->receivers, true);
	check_pipeline(l, &t, &l->cfg->service->exporters, false);
	target_release(&t);
}

static void load_root(struct loader *l, const struct ynode *root)
{
	static const char *const sections[] = { "receivers", "exporters",
						"service" };
	const struct ynode *found[3] = { NULL, NULL, NULL }, *service_at = NULL;
	char got[CONFIGMAP_QUOTE_BUF], msg[CONFIGMAP_ERR_MAX];
	size_t i, s;

	if (root && !ynode__is_null(root) && root->kind != YNODE_MAP) {
		snprintf(
			msg, sizeof(msg),
			"expected a mapping with receivers, exporters and service, got %s",
			got_text(root, got, sizeof(got)));
		add_problem(l, root->line, root->col, "%s", msg);
		return;
	}
	for (i = 0; root && root->kind == YNODE_MAP && i + 1 < root->n;
	     i += 2) {
		const struct ynode *k = root->items[i];

		for (s = 0; k->kind == YNODE_SCALAR && s < 3; s++)
			if (!strcmp(k->text, sections[s]))
				break;
		if (k->kind == YNODE_SCALAR && s < 3) {
			found[s] = root->items[i + 1];
			if (s == 2)
				service_at = k;
			continue;
		}
		if (k->kind != YNODE_SCALAR) {
			add_problem(l, k->line, k->col,
				    "expected a key name, got a collection");
			continue;
		}
		add_problem(
			l, k->line, k->col,
			"%s: unknown key (expected receivers, exporters or service)",
			k->text);
	}
	if (found[0])
		load_section(l, found[0], true);
	if (found[1])
		load_section(l, found[1], false);
	load_service(l, found[2], service_at);
}

/* ---- entry points ------------------------------------------------------ */

void config__free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->nreceivers; i++)
		cfg->receivers[i].plugin->config_free(cfg->receivers[i].cfg);
	for (i = 0; i < cfg->nexporters; i++)
		host_component__free(cfg->exporters[i].component,
				     cfg->exporters[i].cfg);
	host_component__free(&host_service, cfg->service);
	free(cfg);
}

static void tree_problem(struct loader *l, const struct ytree_error *e)
{
	add_problem(l, e->line, e->col, "%s", e->msg);
}

int config__load_buffer(const char *name, const char *buf, size_t len,
			const struct tgprof_plugin *const *plugins,
			size_t nplugins, struct config **ret,
			struct config_problems *problems)
{
	struct loader l = {
		.name = name,
		.problems = problems,
		.plugins = plugins,
		.nplugins = nplugins,
	};
	struct ytree_error e;
	struct ytree *tree;
	int err;

	err = ytree__parse(buf, len, &tree, &e);
	if (err) {
		tree_problem(&l, &e);
		return err == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	l.cfg = calloc(1, sizeof(*l.cfg));
	if (!l.cfg) {
		ytree__free(tree);
		return -ENOMEM;
	}
	load_root(&l, tree->root);
	ytree__free(tree);
	sort_problems(problems);
	if (l.nomem) {
		config__free(l.cfg);
		return -ENOMEM;
	}
	if (problems->n || problems->dropped) {
		config__free(l.cfg);
		return -EINVAL;
	}
	*ret = l.cfg;
	return 0;
}

int config__read_file(const char *path, char **ret, size_t *ret_len)
{
	size_t len = 0, cap = 4096;
	char *buf = NULL, *p;
	struct stat st;
	int fd, err = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	for (;;) {
		if (len + 1 >= cap || !buf) {
			cap = buf ? cap * 2 : cap;
			p = realloc(buf, cap);
			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		len += n;
		if (len > YTREE_MAX_BYTES) {
			err = -EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

int config__load_file(const char *path,
		      const struct tgprof_plugin *const *plugins,
		      size_t nplugins, struct config **ret,
		      struct config_problems *problems)
{
	struct loader l = { .name = path, .problems = problems };
	size_t len;
	char *buf;
	int err;

	err = config__read_file(path, &buf, &len);
	if (err == -EFBIG) {
		add_problem(&l, 0, 0, "expected a file of at most %u bytes",
			    YTREE_MAX_BYTES);
		return err;
	}
	if (err) {
		add_problem(&l, 0, 0, "cannot read: %s", strerror(-err));
		return err;
	}
	err = config__load_buffer(path, buf, len, plugins, nplugins, ret,
				  problems);
	free(buf);
	return err;
}

const struct config_receiver *config__receiver(const struct config *cfg,
					       const char *id)
{
	size_t i;

	for (i = 0; i < cfg->nreceivers; i++)
		if (!strcmp(cfg->receivers[i].id, id))
			return &cfg->receivers[i];
	return NULL;
}

const struct config_exporter *config__exporter(const struct config *cfg,
					       const char *id)
{
	size_t i;

	for (i = 0; i < cfg->nexporters; i++)
		if (!strcmp(cfg->exporters[i].id, id))
			return &cfg->exporters[i];
	return NULL;
}

int config__plugin_path(const char *path, char *buf, size_t len, char *err,
			size_t errlen)
{
	const struct ynode *v;
	struct ytree_error e;
	struct ytree *tree;
	char *text, *exp;
	size_t tlen;
	int ret;

	ret = config__read_file(path, &text, &tlen);
	if (ret) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(-ret));
		return ret;
	}
	ret = ytree__parse(text, tlen, &tree, &e);
	free(text);
	if (ret) {
		snprintf(err, errlen, "%s:%u:%u: %s", path, e.line, e.col,
			 e.msg);
		return ret;
	}
	v = ynode__get(ynode__get(tree->root, "service"), "plugin");
	if (!v || ynode__is_null(v)) {
		snprintf(buf, len, "%s", "");
		ytree__free(tree);
		return 0;
	}
	if (v->kind != YNODE_SCALAR) {
		snprintf(err, errlen,
			 "%s:%u:%u: service.plugin: expected a string, got %s",
			 path, v->line, v->col, ynode__kind_name(v));
		ytree__free(tree);
		return -EINVAL;
	}
	exp = config__expand_env(v->text, err, errlen);
	if (!exp) {
		ret = -errno;
		ytree__free(tree);
		return ret;
	}
	if (strlen(exp) >= len) {
		snprintf(err, errlen, "%s: service.plugin: path too long",
			 path);
		ret = -ENAMETOOLONG;
	} else {
		snprintf(buf, len, "%s", exp);
	}
	free(exp);
	ytree__free(tree);
	return ret;
}

/* ---- printing ---------------------------------------------------------- */

int config__print_defaults(FILE *f, const struct tgprof_plugin *const *plugins,
			   size_t nplugins)
{
	size_t i;

	fputs("# tgprof configuration: every key at its default, required keys at an\n"
	      "# example value (tgprof config --defaults). docs/CONFIG.md explains them.\n",
	      f);
	fputs("receivers:\n", f);
	for (i = 0; i < nplugins; i++) {
		fprintf(f, "  %s:\n", plugins[i]->name);
		configmap__print_yaml(f, plugins[i]->config_keys, NULL,
				      plugins[i]->config_nkeys, 4);
	}
	fputs("exporters:\n", f);
	for (i = 0; i < host_nexporters; i++) {
		fprintf(f, "  %s:\n", host_exporters[i].type);
		configmap__print_yaml(f, host_exporters[i].map->keys,
				      host_exporters[i].map->fields,
				      host_exporters[i].map->nkeys, 4);
	}
	fputs("service:\n", f);
	configmap__print_yaml(f, host_service.map->keys,
			      host_service.map->fields, host_service.map->nkeys,
			      2);
	return ferror(f) ? -EIO : 0;
}

int config__print_keys(FILE *f, const struct tgprof_plugin *const *plugins,
		       size_t nplugins, bool markdown)
{
	const char *fmt = markdown ? "### `%s`\n\n" : "%s\n";
	char title[96];
	size_t i;

	for (i = 0; i < nplugins; i++) {
		snprintf(title, sizeof(title), "receivers.%s",
			 plugins[i]->name);
		fprintf(f, fmt, title);
		configmap__print_keys(f, plugins[i]->config_keys, NULL,
				      plugins[i]->config_nkeys, markdown);
		fputc('\n', f);
	}
	for (i = 0; i < host_nexporters; i++) {
		snprintf(title, sizeof(title), "exporters.%s",
			 host_exporters[i].type);
		fprintf(f, fmt, title);
		configmap__print_keys(f, host_exporters[i].map->keys,
				      host_exporters[i].map->fields,
				      host_exporters[i].map->nkeys, markdown);
		fputc('\n', f);
	}
	fprintf(f, fmt, "service");
	configmap__print_keys(f, host_service.map->keys,
			      host_service.map->fields, host_service.map->nkeys,
			      markdown);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

// SPDX-License-Identifier: Apache-2.0
/* YAML text to a bounded tree of nodes with positions; see yamltree.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cmd/tgprof/config/yamltree.h"

struct anchor {
	char *name;
	struct ynode *node;
};

/* An open collection and, for a mapping, the key whose value comes next. */
struct frame {
	struct ynode *node;
	char *anchor; /* registered when the collection ends */
};

struct builder {
	const char *buf;
	size_t len;
	struct ytree *t;
	struct frame stack[YTREE_MAX_DEPTH];
	size_t depth;
	struct anchor anchors[YTREE_MAX_ANCHORS];
	size_t nanchors;
	unsigned ndocs;
	struct ytree_error *err;
};

static int fail(struct builder *b, const yaml_mark_t *at, int ret,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct builder *b, const yaml_mark_t *at, int ret,
		const char *fmt, ...)
{
	va_list ap;

	if (at) {
		b->err->line = at->line + 1;
		b->err->col = at->column + 1;
	}
	va_start(ap, fmt);
	vsnprintf(b->err->msg, sizeof(b->err->msg), fmt, ap);
	va_end(ap);
	return ret;
}

static struct ynode *node_new(struct builder *b, enum ynode_kind kind,
			      const yaml_mark_t *at)
{
	struct ytree *t = b->t;
	struct ynode *n;

	if (t->nnodes >= YTREE_MAX_NODES)
		return NULL;
	if (t->nnodes == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct ynode **nodes = realloc(t->nodes, cap * sizeof(*nodes));

		if (!nodes)
			return NULL;
		t->nodes = nodes;
		t->cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->kind = kind;
	n->line = at->line + 1;
	n->col = at->column + 1;
	t->nodes[t->nnodes++] = n;
	return n;
}

static int push_item(struct ynode *parent, struct ynode *n)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 8;
		struct ynode **items =
			realloc(parent->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		parent->items = items;
		parent->cap = cap;
	}
	parent->items[parent->n++] = n;
	return 0;
}

/* The path of the open collections down to @key: "a.b[2].c". */
static void path_of(struct builder *b, const char *key, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < b->depth && o < len; i++) {
		const struct ynode *p = b->stack[i].node;
		bool top = i + 1 == b->depth;

		if (p->kind == YNODE_SEQ) {
			o += snprintf(buf + o, len - o, "[%zu]", p->n);
		} else if (!top && p->n % 2 == 1 &&
			   p->items[p->n - 1]->kind == YNODE_SCALAR) {
			o += snprintf(buf + o, len - o, "%s%s", o ? "." : "",
				      p->items[p->n - 1]->text);
		}
	}
	if (o < len)
		snprintf(buf + o, len - o, "%s%s", o ? "." : "", key);
}

/* Adds a finished node to the open collection (or makes it the root). */
static int attach(struct builder *b, struct ynode *n, const yaml_mark_t *at)
{
	struct ynode *parent;
	size_t i;

	if (!b->depth) {
		b->t->root = n;
		return 0;
	}
	parent = b->stack[b->depth - 1].node;
	if (parent->kind == YNODE_MAP && parent->n % 2 == 0) {
		if (parent->n / 2 >= YTREE_MAX_MAP_KEYS)
			return fail(b, at, -EINVAL,
				    "more than %d keys in one mapping",
				    YTREE_MAX_MAP_KEYS);
		for (i = 0; n->kind == YNODE_SCALAR && i < parent->n; i += 2) {
			const struct ynode *k = parent->items[i];
			char path[256];

			if (k->kind != YNODE_SCALAR || strcmp(k->text, n->text))
				continue;
			path_of(b, n->text, path, sizeof(path));
			return fail(b, at, -EINVAL,
				    "%s: duplicate key (first at %u:%u)", path,
				    k->line, k->col);
		}
	}
	return push_item(parent, n) ? -ENOMEM : 0;
}

static int add_anchor(struct builder *b, const char *name, struct ynode *n,
		      const yaml_mark_t *at)
{
	char *dup;

	if (b->nanchors >= YTREE_MAX_ANCHORS)
		return fail(b, at, -EINVAL, "more than %d anchors",
			    YTREE_MAX_ANCHORS);
	dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	b->anchors[b->nanchors].name = dup;
	b->anchors[b->nanchors].node = n;
	b->nanchors++;
	return 0;
}

static struct ynode *find_anchor(struct builder *b, const char *name)
{
	size_t i;

	/* A later anchor of the same name hides an earlier one. */
	for (i = b->nanchors; i-- > 0;)
		if (!strcmp(b->anchors[i].name, name))
			return b->anchors[i].node;
	return NULL;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const yaml_mark_t *at = &ev->start_mark;
	struct ynode *n;
	int ret;

	if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
		return fail(b, at, -EINVAL, "a scalar holds a NUL byte");
	n = node_new(b, YNODE_SCALAR, at);
	if (!n)
		goto nomem;
	n->text = strndup((const char *)ev->data.scalar.value,
			  ev->data.scalar.length);
	if (!n->text)
		return -ENOMEM;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (ev->data.scalar.anchor) {
		ret = add_anchor(b, (const char *)ev->data.scalar.anchor, n,
				 at);
		if (ret)
			return ret;
	}
	return attach(b, n, at);
nomem:
	if (b->t->nnodes >= YTREE_MAX_NODES)
		return fail(b, at, -EINVAL, "more than %d nodes",
			    YTREE_MAX_NODES);
	return -ENOMEM;
}

static int on_start(struct builder *b, const yaml_event_t *ev,
		    enum ynode_kind kind, const yaml_char_t *anchor)
{
	const yaml_mark_t *at = &ev->start_mark;
	struct ynode *n;

	if (b->depth >= YTREE_MAX_DEPTH)
		return fail(b, at, -EINVAL, "nested deeper than %d levels",
			    YTREE_MAX_DEPTH);
	n = node_new(b, kind, at);
	if (!n) {
		if (b->t->nnodes >= YTREE_MAX_NODES)
			return fail(b, at, -EINVAL, "more than %d nodes",
				    YTREE_MAX_NODES);
		return -ENOMEM;
	}
	b->stack[b->depth].node = n;
	b->stack[b->depth].anchor = NULL;
	if (anchor) {
		b->stack[b->depth].anchor = strdup((const char *)anchor);
		if (!b->stack[b->depth].anchor)
			return -ENOMEM;
	}
	b->depth++;
	return 0;
}

static int on_end(struct builder *b, const yaml_event_t *ev)
{
	struct frame *f = &b->stack[--b->depth];
	int ret = 0;

	/* Registered only now: an alias inside its own anchor is unknown,
	 * so the tree never has a cycle. */
	if (f->anchor)
		ret = add_anchor(b, f->anchor, f->node, &ev->start_mark);
	free(f->anchor);
	f->anchor = NULL;
	return ret ? ret : attach(b, f->node, &ev->start_mark);
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
	const char *name;
	struct ynode *n;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->ndocs > 1)
			return fail(b, &ev->start_mark, -EINVAL,
				    "more than one YAML document");
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, ev, YNODE_SEQ,
				ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, ev, YNODE_MAP,
				ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_end(b, ev);
	case YAML_ALIAS_EVENT:
		name = (const char *)ev->data.alias.anchor;
		n = find_anchor(b, name);
		if (!n)
			return fail(
				b, &ev->start_mark, -EINVAL,
				"alias *%s names no anchor defined before it",
				name);
		return attach(b, n, &ev->start_mark);
	default:
		return 0;
	}
}

/* libyaml's reader reports a byte offset, not a mark. */
static void mark_of_offset(const char *buf, size_t len, size_t off,
			   yaml_mark_t *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m->line++;
			m->column = 0;
		} else {
			m->column++;
		}
	}
}

static int syntax_error(struct builder *b, const yaml_parser_t *p)
{
	yaml_mark_t at = p->problem_mark;
	const char *problem = p->problem ? p->problem : "unreadable";

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR)
		mark_of_offset(b->buf, b->len, p->problem_offset, &at);
	if (p->context && (p->context_mark.line != at.line ||
			   p->context_mark.column != at.column))
		return fail(b, &at, -EINVAL,
			    "malformed YAML: %s (%s at %zu:%zu)", problem,
			    p->context, p->context_mark.line + 1,
			    p->context_mark.column + 1);
	if (p->context)
		return fail(b, &at, -EINVAL, "malformed YAML: %s (%s)", problem,
			    p->context);
	return fail(b, &at, -EINVAL, "malformed YAML: %s", problem);
}

int ytree__parse(const char *buf, size_t len, struct ytree **ret,
		 struct ytree_error *err)
{
	struct builder b = { .buf = buf, .len = len, .err = err };
	yaml_parser_t parser;
	bool done = false;
	size_t i;
	int r = 0;

	memset(err, 0, sizeof(*err));
	if (len > YTREE_MAX_BYTES) {
		snprintf(err->msg, sizeof(err->msg), "larger than %u bytes",
			 YTREE_MAX_BYTES);
		return -EFBIG;
	}
	b.t = calloc(1, sizeof(*b.t));
	if (!b.t)
		return -ENOMEM;
	if (!yaml_parser_initialize(&parser)) {
		free(b.t);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && !r) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			r = syntax_error(&b, &parser);
			break;
		}
		r = on_event(&b, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	for (i = 0; i < b.depth; i++)
		free(b.stack[i].anchor);
	for (i = 0; i < b.nanchors; i++)
		free(b.anchors[i].name);
	if (r) {
		if (r == -ENOMEM && !err->msg[0])
			snprintf(err->msg, sizeof(err->msg), "out of memory");
		ytree__free(b.t);
		return r;
	}
	*ret = b.t;
	return 0;
}

void ytree__free(struct ytree *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nnodes; i++) {
		free(t->nodes[i]->text);
		free(t->nodes[i]->items);
		free(t->nodes[i]);
	}
	free(t->nodes);
	free(t);
}

bool ynode__is_null(const struct ynode *n)
{
	return n->kind == YNODE_SCALAR && n->plain &&
	       (!n->text[0] || !strcmp(n->text, "~") ||
		!strcmp(n->text, "null") || !strcmp(n->text, "Null") ||
		!strcmp(n->text, "NULL"));
}

const struct ynode *ynode__get(const struct ynode *m, const char *name)
{
	size_t i;

	if (!m || m->kind != YNODE_MAP)
		return NULL;
	for (i = 0; i + 1 < m->n; i += 2)
		if (m->items[i]->kind == YNODE_SCALAR &&
		    !strcmp(m->items[i]->text, name))
			return m->items[i + 1];
	return NULL;
}

const char *ynode__kind_name(const struct ynode *n)
{
	switch (n->kind) {
	case YNODE_SCALAR:
		return "a scalar";
	case YNODE_SEQ:
		return "a list";
	case YNODE_MAP:
		return "a mapping";
	}
	return "nothing";
}

// SPDX-License-Identifier: Apache-2.0
/* The top-functions report of `tgprof record`: per-function self and total
 * counts computed from the folded stacks, printed as two tables after the
 * profile files are written. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/frametype.h"
#include "exporter/topfuncs.h"
#include "lib/htab.h"
#include "lib/sat.h"

struct topfuncs_entry {
	struct htab_node node;
	size_t idx; /* in topfuncs->v; only valid until the first sort */
	uint64_t stamp; /* the last stack it was counted in, for totals */
	size_t len;
	/* The frame, NUL, the function, NUL, its type's name,
	 * NUL. */
	char name[];
};

struct topfuncs_priv {
	struct htab index; /* of struct topfuncs_entry, by name */
	size_t cap; /* of topfuncs->v */
	uint64_t stamp; /* the stack being counted */
};

static struct topfuncs_entry *topfuncs__get(struct topfuncs *t,
					    const char *name, size_t len)
{
	struct topfuncs_priv *p = t->priv;
	struct topfuncs_entry *e;
	struct htab_node *pos;
	struct frametype_mark m;
	struct topfunc *v;
	uint64_t hash = hash_bytes(name, len, 0);
	char *fn, *type;
	size_t cap;

	htab_for_each(&p->index, pos, hash) {
		e = container_of(pos, struct topfuncs_entry, node);
		if (e->len == len && !memcmp(e->name, name, len))
			return e;
	}
	if (t->n == p->cap) {
		cap = p->cap ? p->cap * 2 : 64;
		v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->v = v;
		p->cap = cap;
	}
	frametype__parse(name, len, &m);
	e = malloc(sizeof(*e) + len + m.base_len + m.name_len + 3);
	if (!e)
		return NULL;
	e->idx = t->n;
	e->stamp = 0;
	e->len = len;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	fn = e->name + len + 1;
	memcpy(fn, name, m.base_len);
	fn[m.base_len] = '\0';
	type = fn + m.base_len + 1;
	memcpy(type, m.name, m.name_len);
	type[m.name_len] = '\0';
	if (htab__insert(&p->index, &e->node, hash)) {
		free(e);
		return NULL;
	}
	t->v[t->n].name = e->name;
	t->v[t->n].function = fn;
	t->v[t->n].type = type;
	t->v[t->n].self = 0;
	t->v[t->n].total = 0;
	t->n++;
	return e;
}

static int topfuncs__add_stack(void *ctx, const char *stack, uint64_t count)
{
	struct topfuncs *t = ctx;
	struct topfuncs_priv *p = t->priv;
	struct topfuncs_entry *e = NULL;
	const char *s, *end;

	p->stamp++;
	/* The first frame is the process name, not a function. */
	s = strchr(stack, ';');
	while (s) {
		s++;
		end = strchr(s, ';');
		e = topfuncs__get(t, s, end ? (size_t)(end - s) : strlen(s));
		if (!e)
			return -ENOMEM;
		/* A recursive function is on the CPU once per sample. */
		if (e->stamp != p->stamp) {
			e->stamp = p->stamp;
			t->v[e->idx].total = sat_add(t->v[e->idx].total, count);
		}
		s = end;
	}
	if (e)
		t->v[e->idx].self = sat_add(t->v[e->idx].self, count);
	return 0;
}

struct topfuncs *topfuncs__compute(const struct folded *f)
{
	struct topfuncs *t;
	int err;

	if (!f) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto err_nomem;
	t->priv = calloc(1, sizeof(struct topfuncs_priv));
	if (!t->priv)
		goto err_free;
	t->samples = folded__total(f);
	err = folded__for_each(f, topfuncs__add_stack, t);
	if (err) {
		topfuncs__free(t);
		errno = -err;
		return NULL;
	}
	return t;

err_free:
	free(t);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

static int topfuncs__cmp_self(const void *a, const void *b)
{
	const struct topfunc *x = a, *y = b;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int topfuncs__cmp_total(const void *a, const void *b)
{
	const struct topfunc *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->name, y->name);
}

void topfuncs__sort(struct topfuncs *t, int by_self)
{
	if (!t || !t->n)
		return;
	qsort(t->v, t->n, sizeof(*t->v),
	      by_self ? topfuncs__cmp_self : topfuncs__cmp_total);
}

/* "12.34%" of @whole, rounded; written with integers so the host's locale
 * never changes the report. */
static void pct_format(char *buf, size_t sz, uint64_t part, uint64_t whole)
{
	uint64_t v = whole ? (uint64_t)((double)part * 10000.0 / whole + 0.5) :
			     0;

	snprintf(buf, sz, "%" PRIu64 ".%02" PRIu64 "%%", v / 100, v % 100);
}

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static int topfuncs__table(struct topfuncs *t, size_t n, int by_self,
			   const char *what, FILE *out)
{
	int wself = (int)strlen("self"), wtotal = (int)strlen("total");
	int wtype = (int)strlen("type");
	char pself[32], ptotal[32];
	size_t i;

	topfuncs__sort(t, by_self);
	if (n > t->n)
		n = t->n;
	for (i = 0; i < n; i++) {
		if (digits(t->v[i].self) > wself)
			wself = digits(t->v[i].self);
		if (digits(t->v[i].total) > wtotal)
			wtotal = digits(t->v[i].total);
		if ((int)strlen(t->v[i].type) > wtype)
			wtype = (int)strlen(t->v[i].type);
	}
	fprintf(out, "Top %zu functions by %s %s (of %" PRIu64 "):\n", n,
		by_self ? "self" : "total", what, t->samples);
	fprintf(out, "%7s  %*s  %7s  %*s  %-*s  %s\n", "self%", wself, "self",
		"total%", wtotal, "total", wtype, "type", "function");
	for (i = 0; i < n; i++) {
		pct_format(pself, sizeof(pself), t->v[i].self, t->samples);
		pct_format(ptotal, sizeof(ptotal), t->v[i].total, t->samples);
		fprintf(out, "%7s  %*" PRIu64 "  %7s  %*" PRIu64 "  %-*s  %s\n",
			pself, wself, t->v[i].self, ptotal, wtotal,
			t->v[i].total, wtype, t->v[i].type, t->v[i].function);
	}
	if (!n)
		fprintf(out, "  (no functions)\n");
	return ferror(out) ? -EIO : 0;
}

int topfuncs__print_as(struct topfuncs *t, size_t n, const char *what,
		       FILE *out)
{
	int err;

	if (!t || !out || !what)
		return -EINVAL;
	err = topfuncs__table(t, n, 1, what, out);
	if (err)
		return err;
	fputc('\n', out);
	return topfuncs__table(t, n, 0, what, out);
}

int topfuncs__print(struct topfuncs *t, size_t n, FILE *out)
{
	return topfuncs__print_as(t, n, "samples", out);
}

void topfuncs__free(struct topfuncs *t)
{
	struct topfuncs_priv *p;
	struct htab_node *pos, *tmp;
	size_t bkt;

	if (!t)
		return;
	p = t->priv;
	if (p) {
		htab_for_each_safe(&p->index, pos, tmp, bkt)
			free(container_of(pos, struct topfuncs_entry, node));
		htab__free(&p->index);
		free(p);
	}
	free(t->v);
	free(t);
}

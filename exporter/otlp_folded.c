// SPDX-License-Identifier: Apache-2.0
/* OTLP request -> folded stacks. Decodes with protobuf-c, checks every
 * index of the request first, then walks each sample's stack (leaf first
 * in OTLP) from its root and adds one "comm;root;...;leaf" line per
 * sample to the aggregation. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/frametype.h"
#include "exporter/otlp_folded.h"
#include "exporter/otlp_request.h"

typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles
	otlp_resource_profiles;
typedef Opentelemetry__Proto__Profiles__V1development__Location otlp_location;
typedef Opentelemetry__Proto__Profiles__V1development__Function otlp_function;

#define FRAME_TYPE_KEY "profile.frame.type"
#define THREAD_NAME_KEY "thread.name"
/* One stack line at most; frames past it are replaced by FOLDED_TRUNCATED
 * (the leaf end is what is lost, as folded.c does). */
#define MAX_STACK (64 * 1024)

/* What a location's profile.frame.type makes of its frames. */
struct loc_type {
	enum frametype_kind kind;
	char suffix[FRAMETYPE_SUFFIX_MAX];
};

struct walk {
	const otlp_dictionary *d;
	struct loc_type *types; /* per location */
	struct folded_line line;
};

/* The string an AnyValue holds, directly or through the string table. */
static const char *any_string(const otlp_dictionary *d, const otlp_anyvalue *v)
{
	if (!v)
		return NULL;
	if (v->value_case == ANY_STRING)
		return v->string_value;
	if (v->value_case == ANY_STRINDEX)
		return otlp_dict_string(d, v->string_value_strindex);
	return NULL;
}

/* ---- checking ------------------------------------------------------- */

static int check_location(const otlp_dictionary *d, const otlp_location *l)
{
	size_t i;

	if (!otlp_in_range(l->mapping_index, d->n_mapping_table))
		return -EINVAL;
	for (i = 0; i < l->n_lines; i++)
		if (!otlp_in_range(l->lines[i]->function_index,
				   d->n_function_table))
			return -EINVAL;
	for (i = 0; i < l->n_attribute_indices; i++)
		if (!otlp_in_range(l->attribute_indices[i],
				   d->n_attribute_table))
			return -EINVAL;
	return 0;
}

/* Every index a stack walk follows, once, before anything is added. */
static int check_dictionary(const otlp_dictionary *d)
{
	size_t i, j;
	int err;

	for (i = 0; i < d->n_function_table; i++) {
		const Opentelemetry__Proto__Profiles__V1development__Function
			*fn = d->function_table[i];

		if (!otlp_in_range(fn->name_strindex, d->n_string_table) ||
		    !otlp_in_range(fn->system_name_strindex, d->n_string_table))
			return -EINVAL;
	}
	for (i = 0; i < d->n_mapping_table; i++)
		if (!otlp_in_range(d->mapping_table[i]->filename_strindex,
				   d->n_string_table))
			return -EINVAL;
	for (i = 0; i < d->n_attribute_table; i++)
		if (!otlp_in_range(d->attribute_table[i]->key_strindex,
				   d->n_string_table))
			return -EINVAL;
	for (i = 0; i < d->n_location_table; i++) {
		err = check_location(d, d->location_table[i]);
		if (err)
			return err;
	}
	for (i = 0; i < d->n_stack_table; i++)
		for (j = 0; j < d->stack_table[i]->n_location_indices; j++)
			if (!otlp_in_range(
				    d->stack_table[i]->location_indices[j],
				    d->n_location_table))
				return -EINVAL;
	return 0;
}

static bool attrs_in_range(const otlp_dictionary *d, const int32_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!otlp_in_range(v[i], d->n_attribute_table))
			return false;
	return true;
}

static int check_samples(const otlp_request *r, const otlp_dictionary *d)
{
	size_t i, j, k, m;

	for (i = 0; i < r->n_resource_profiles; i++) {
		const otlp_resource_profiles *rp = r->resource_profiles[i];

		for (j = 0; j < rp->n_scope_profiles; j++)
			for (k = 0; k < rp->scope_profiles[j]->n_profiles;
			     k++) {
				const otlp_profile *p =
					rp->scope_profiles[j]->profiles[k];

				for (m = 0; m < p->n_samples; m++)
					if (!otlp_in_range(
						    p->samples[m]->stack_index,
						    d->n_stack_table) ||
					    !attrs_in_range(
						    d,
						    p->samples[m]
							    ->attribute_indices,
						    p->samples[m]
							    ->n_attribute_indices))
						return -EINVAL;
			}
	}
	return 0;
}

/* The profile.frame.type of @l, or NULL (native). */
static const char *location_type(const otlp_dictionary *d,
				 const otlp_location *l)
{
	size_t j;

	for (j = 0; j < l->n_attribute_indices; j++) {
		const Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit
			*kv = d->attribute_table[l->attribute_indices[j]];
		const char *key = otlp_dict_string(d, kv->key_strindex);

		if (key && !strcmp(key, FRAME_TYPE_KEY))
			return any_string(d, kv->value);
	}
	return NULL;
}

/* The type of every location, and the mark its frames get. */
static int mark_types(struct walk *w)
{
	const otlp_dictionary *d = w->d;
	char name[FRAMETYPE_MAX_NAME + 1], suffix[FRAMETYPE_SUFFIX_MAX];
	const char *type;
	size_t i;

	w->types = calloc(d->n_location_table ? d->n_location_table : 1,
			  sizeof(*w->types));
	if (!w->types)
		return -ENOMEM;
	for (i = 0; i < d->n_location_table; i++) {
		type = location_type(d, d->location_table[i]);
		frametype__name(type, name, &w->types[i].kind);
		strcpy(w->types[i].suffix, frametype__suffix(type, suffix));
	}
	return 0;
}

/* ---- building one stack ---------------------------------------------- */

/* A location with no function: its file, as "[libc.so.6]". */
static int push_mapping(struct walk *w, const otlp_location *l,
			const char *suffix)
{
	const char *file = NULL, *base;

	if (l->mapping_index)
		file = otlp_dict_string(w->d,
					w->d->mapping_table[l->mapping_index]
						->filename_strindex);
	if (file) {
		base = strrchr(file, '/');
		file = base && base[1] ? base + 1 : file;
	}
	return folded_line__push_module(&w->line, file, suffix);
}

static const otlp_function *function_of(const struct walk *w, int32_t idx)
{
	return idx ? w->d->function_table[idx] : NULL;
}

static const char *function_name(const struct walk *w, const otlp_function *fn)
{
	const char *name;

	if (!fn)
		return NULL;
	name = otlp_dict_string(w->d, fn->name_strindex);
	if (!name || !*name)
		name = otlp_dict_string(w->d, fn->system_name_strindex);
	return name && *name ? name : NULL;
}

/* The source file an interpreted function is shown with: the base name,
 * with its directory for a package's "__init__.py" or "__main__.py"; NULL
 * for none, or when @name already says it. */
static const char *source_file(const struct walk *w, const otlp_function *fn,
			       const char *name)
{
	const char *file = otlp_dict_string(w->d, fn->filename_strindex);
	const char *base, *p;

	if (!file || !*file)
		return NULL;
	base = strrchr(file, '/');
	if (base && base[1]) {
		base++;
		if (!strcmp(base, "__init__.py") ||
		    !strcmp(base, "__main__.py")) {
			for (p = base - 1; p > file && p[-1] != '/'; p--)
				;
			base = p;
		}
	} else {
		base = file;
	}
	return strstr(name, base) ? NULL : base;
}

/* One location, root side first: its lines are innermost first, so the
 * last is the function the address is in and the others are inlined.
 * Every frame carries its location's mark; a native inlined function
 * "_[i]". Interpreted functions (cpython, any type tgprof has no mark
 * of) are shown with their file: "<module> (app.py)". */
static int push_location(struct walk *w, int32_t idx)
{
	const otlp_location *l = w->d->location_table[idx];
	const struct loc_type *t = &w->types[idx];
	bool sourced = t->kind == FRAMETYPE_K_CPYTHON ||
		       t->kind == FRAMETYPE_K_OTHER;
	size_t i, named = 0;
	int err;

	for (i = l->n_lines; i > 0; i--) {
		const otlp_function *fn =
			function_of(w, l->lines[i - 1]->function_index);
		const char *name = function_name(w, fn), *suffix = t->suffix;
		const char *file;

		if (!name)
			continue;
		if (t->kind == FRAMETYPE_K_NATIVE && named)
			suffix = FOLDED_INLINE_SUFFIX;
		file = sourced ? source_file(w, fn, name) : NULL;
		if (file)
			err = folded_line__push_sourced(&w->line, name, file,
							suffix);
		else
			err = folded_line__push(&w->line, name, suffix);
		if (err)
			return err;
		named++;
	}
	if (!named)
		return push_mapping(w, l, t->suffix);
	return 0;
}

/* A process without a name goes by its thread's (the sample's
 * thread.name), else FOLDED_UNKNOWN. */
static const char *thread_name(const struct walk *w, const otlp_sample *s)
{
	size_t i;

	for (i = 0; i < s->n_attribute_indices; i++) {
		const Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit
			*kv = w->d->attribute_table[s->attribute_indices[i]];
		const char *key = otlp_dict_string(w->d, kv->key_strindex);
		const char *val = any_string(w->d, kv->value);

		if (key && val && *val && !strcmp(key, THREAD_NAME_KEY))
			return val;
	}
	return FOLDED_UNKNOWN;
}

/* The user frames root first, then the kernel frames root first: in
 * the OTLP stack (leaf first) the kernel frames come before the user
 * ones, so each part is walked from its end. @comm NULL: the process
 * has no name. */
static int add_sample(struct walk *w, struct folded *f, const char *comm,
		      const otlp_sample *s)
{
	const Opentelemetry__Proto__Profiles__V1development__Stack *st;
	uint64_t count = otlp_sample_count(s);
	size_t i, nkernel = 0;
	int err;

	if (!count)
		return 0;
	st = w->d->stack_table[s->stack_index];
	folded_line__reset(&w->line);
	err = folded_line__push(&w->line, comm ? comm : thread_name(w, s), "");
	if (!err && !st->n_location_indices)
		err = folded_line__push(&w->line, FOLDED_NO_STACK, "");
	while (nkernel < st->n_location_indices &&
	       w->types[st->location_indices[nkernel]].kind ==
		       FRAMETYPE_K_KERNEL)
		nkernel++;
	for (i = st->n_location_indices; !err && i > nkernel; i--)
		err = push_location(w, st->location_indices[i - 1]);
	for (i = nkernel; !err && i > 0; i--)
		err = push_location(w, st->location_indices[i - 1]);
	return err ? err : folded__add(f, w->line.buf, count);
}

/* The process name a resource gives, or NULL. */
static const char *resource_comm(const otlp_resource_profiles *rp)
{
	const char *exe = NULL, *service = NULL;
	size_t i;

	for (i = 0; rp->resource && i < rp->resource->n_attributes; i++) {
		const Opentelemetry__Proto__Common__V1__KeyValue *kv =
			rp->resource->attributes[i];

		if (!kv->key || !kv->value ||
		    kv->value->value_case != ANY_STRING ||
		    !kv->value->string_value[0])
			continue;
		if (!strcmp(kv->key, "process.executable.name"))
			exe = kv->value->string_value;
		else if (!strcmp(kv->key, "service.name"))
			service = kv->value->string_value;
	}
	return exe ? exe : service;
}

static int add_samples(struct walk *w, struct folded *f, const otlp_request *r,
		       enum otlp_profile_kind kind)
{
	size_t i, j, k, m;
	int err;

	for (i = 0; i < r->n_resource_profiles; i++) {
		const otlp_resource_profiles *rp = r->resource_profiles[i];
		const char *comm = resource_comm(rp);

		for (j = 0; j < rp->n_scope_profiles; j++)
			for (k = 0; k < rp->scope_profiles[j]->n_profiles;
			     k++) {
				const otlp_profile *p =
					rp->scope_profiles[j]->profiles[k];

				if (otlp_profile_kind(w->d, p) != kind)
					continue;
				for (m = 0; m < p->n_samples; m++) {
					err = add_sample(w, f, comm,
							 p->samples[m]);
					if (err)
						return err;
				}
			}
	}
	return 0;
}

int otlp_folded__add(struct folded *f, const void *req, size_t len)
{
	return otlp_folded__add_kind(f, req, len, OTLP_PROFILE_CPU);
}

int otlp_folded__add_kind(struct folded *f, const void *req, size_t len,
			  enum otlp_profile_kind kind)
{
	static const otlp_dictionary empty =
		OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT;
	otlp_request *r;
	struct walk *w;
	int err;

	if (!f || (!req && len))
		return -EINVAL;
	r = OTLP_REQUEST(unpack)(NULL, len, req ? req : (const void *)"");
	if (!r)
		return -EBADMSG;
	w = calloc(1, sizeof(*w));
	if (!w) {
		err = -ENOMEM;
		goto out_request;
	}
	w->d = r->dictionary ? r->dictionary : &empty;
	w->line = FOLDED_LINE_INIT(MAX_STACK);
	err = check_dictionary(w->d);
	if (!err)
		err = check_samples(r, w->d);
	if (!err)
		err = mark_types(w);
	if (!err)
		err = add_samples(w, f, r, kind);
	folded_line__release(&w->line);
	free(w->types);
	free(w);
out_request:
	OTLP_REQUEST(free_unpacked)(r, NULL);
	return err;
}

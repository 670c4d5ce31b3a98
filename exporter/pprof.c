// SPDX-License-Identifier: Apache-2.0
/* OTLP profiles -> pprof, for `tgprof record`'s profile.pb.gz. Decodes the
 * request with protobuf-c, maps its one dictionary onto pprof's tables (an
 * OTLP index becomes the pprof id, index 0 "none" in both), flattens every
 * process's samples into one Profile with labels, packs and gzips it.
 * Nothing in the request is trusted: every index is checked.
 *
 * Every label is a string, integers in decimal: Pyroscope makes series
 * labels of string labels only, and a numeric label of 0 is not encoded
 * at all (proto3), so CPU 0 and PID 0 would vanish. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof/profile.pb-c.h"

#include "exporter/frametype.h"
#include "exporter/otlp_request.h"
#include "exporter/pprof.h"
#include "lib/arena.h"
#include "lib/gzip.h"
#include "lib/htab.h"

typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit otlp_kvu;
typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_keyvalue;

typedef Perftools__Profiles__Profile pp_profile;
typedef Perftools__Profiles__ValueType pp_value_type;
typedef Perftools__Profiles__Sample pp_sample;
typedef Perftools__Profiles__Label pp_label;
typedef Perftools__Profiles__Mapping pp_mapping;
typedef Perftools__Profiles__Location pp_location;
typedef Perftools__Profiles__Line pp_line;
typedef Perftools__Profiles__Function pp_function;

#define ANY_INT OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE

#define BUILD_ID_KEY "process.executable.build_id.gnu"
#define FRAME_TYPE_KEY "profile.frame.type"
/* perf's name of the kernel's mapping, for kernel frames without one. */
#define KERNEL_MAPPING "[kernel.kallsyms]"
/* Mappings made for frame types ("[jit]", "[cpython]", ...); frames of
 * more distinct types keep their own mapping. */
#define MAX_TYPE_MAPPINGS 64
/* Labels of one sample: pid, comm, plus its attributes (three from
 * tgprof; others are kept too, up to this many). */
#define MAX_LABELS 16

struct str_node {
	struct htab_node node;
	int64_t idx;
};

struct conv {
	const otlp_request *req;
	const otlp_dictionary *d;
	struct arena a;
	pp_profile prof;
	/* The pprof string table: the OTLP one, then what pprof needs. */
	char **strs;
	size_t nstrs, capstrs;
	struct htab sh;
	size_t nsamples, capsamples;
	/* The mappings made for frame types, after the request's own. */
	pp_mapping *type_maps[MAX_TYPE_MAPPINGS];
	size_t ntype_maps;
	int64_t period;
	uint64_t start_ns, end_ns;
	enum otlp_profile_kind kind; /* the profiles converted */
};

/* Appends @s (borrowed: from the decoded request or a literal) to the
 * pprof string table and makes it the one lookups find, unless an equal
 * string came first. */
static int conv__push_string(struct conv *c, const char *s, int64_t *ret_idx)
{
	uint64_t hash = hash_str(s);
	struct htab_node *pos;
	struct str_node *sn;
	bool known = false;
	char **v;

	htab_for_each(&c->sh, pos, hash) {
		sn = container_of(pos, struct str_node, node);
		if (!strcmp(c->strs[sn->idx], s)) {
			known = true;
			break;
		}
	}
	if (c->nstrs == c->capstrs) {
		c->capstrs = c->capstrs ? 2 * c->capstrs : 64;
		v = realloc(c->strs, c->capstrs * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->strs = v;
	}
	*ret_idx = (int64_t)c->nstrs;
	c->strs[c->nstrs++] = (char *)s;
	if (known)
		return 0;
	sn = arena__alloc(&c->a, sizeof(*sn));
	if (!sn)
		return -ENOMEM;
	sn->idx = *ret_idx;
	return htab__insert(&c->sh, &sn->node, hash);
}

/* The index of @s in the pprof string table, added when missing. */
static int conv__add_string(struct conv *c, const char *s, int64_t *ret_idx)
{
	uint64_t hash = hash_str(s);
	struct htab_node *pos;
	struct str_node *sn;

	htab_for_each(&c->sh, pos, hash) {
		sn = container_of(pos, struct str_node, node);
		if (!strcmp(c->strs[sn->idx], s)) {
			*ret_idx = sn->idx;
			return 0;
		}
	}
	return conv__push_string(c, s, ret_idx);
}

/* The OTLP string table keeps its indices (duplicates included); "" leads
 * both. */
static int conv__strings(struct conv *c)
{
	size_t i, n = c->d ? c->d->n_string_table : 0;
	int64_t idx;
	int err;

	if (n && c->d->string_table[0][0])
		return -EINVAL;
	err = conv__push_string(c, "", &idx);
	for (i = 1; !err && i < n; i++)
		err = conv__push_string(c, c->d->string_table[i], &idx);
	return err;
}

/* The attribute at @idx, or NULL when out of range. */
static const otlp_kvu *otlp_attr(const struct conv *c, int32_t idx)
{
	if (!c->d || !otlp_in_range(idx, c->d->n_attribute_table))
		return NULL;
	return c->d->attribute_table[idx];
}

static int conv__functions(struct conv *c)
{
	size_t i, n = c->d ? c->d->n_function_table : 0;
	pp_function *v, **p;

	if (n <= 1)
		return 0;
	v = arena__alloc(&c->a, (n - 1) * sizeof(*v));
	p = arena__alloc(&c->a, (n - 1) * sizeof(*p));
	if (!v || !p)
		return -ENOMEM;
	for (i = 1; i < n; i++) {
		const Opentelemetry__Proto__Profiles__V1development__Function
			*f = c->d->function_table[i];
		pp_function *pf = &v[i - 1];

		if (!otlp_in_range(f->name_strindex, c->nstrs) ||
		    !otlp_in_range(f->system_name_strindex, c->nstrs) ||
		    !otlp_in_range(f->filename_strindex, c->nstrs))
			return -EINVAL;
		perftools__profiles__function__init(pf);
		pf->id = i;
		pf->name = f->name_strindex;
		/* pprof shows the system name when asked (-symbolize=none
		 * keeps it); no separate one means the same name. */
		pf->system_name = f->system_name_strindex ?
					  f->system_name_strindex :
					  f->name_strindex;
		pf->filename = f->filename_strindex;
		pf->start_line = f->start_line;
		p[i - 1] = pf;
	}
	c->prof.n_function = n - 1;
	c->prof.function = p;
	return 0;
}

/* The build-id of a mapping: its process.executable.build_id.gnu. */
static int conv__build_id(struct conv *c, const int32_t *attrs, size_t n,
			  int64_t *ret_idx)
{
	const otlp_kvu *kv;
	const char *key;
	size_t i;

	*ret_idx = 0;
	for (i = 0; i < n; i++) {
		kv = otlp_attr(c, attrs[i]);
		if (!kv)
			return -EINVAL;
		key = otlp_dict_string(c->d, kv->key_strindex);
		if (!key || strcmp(key, BUILD_ID_KEY) || !kv->value ||
		    kv->value->value_case != ANY_STRING)
			continue;
		return conv__add_string(c, kv->value->string_value, ret_idx);
	}
	return 0;
}

static int conv__mappings(struct conv *c)
{
	size_t i, n = c->d ? c->d->n_mapping_table : 0;
	pp_mapping *v, **p;
	int err;

	if (n <= 1)
		return 0;
	v = arena__alloc(&c->a, (n - 1) * sizeof(*v));
	p = arena__alloc(&c->a, (n - 1) * sizeof(*p));
	if (!v || !p)
		return -ENOMEM;
	for (i = 1; i < n; i++) {
		const Opentelemetry__Proto__Profiles__V1development__Mapping *m =
			c->d->mapping_table[i];
		pp_mapping *pm = &v[i - 1];

		if (!otlp_in_range(m->filename_strindex, c->nstrs))
			return -EINVAL;
		perftools__profiles__mapping__init(pm);
		pm->id = i;
		pm->memory_start = m->memory_start;
		pm->memory_limit = m->memory_limit;
		pm->file_offset = m->file_offset;
		pm->filename = m->filename_strindex;
		err = conv__build_id(c, m->attribute_indices,
				     m->n_attribute_indices, &pm->build_id);
		if (err)
			return err;
		p[i - 1] = pm;
	}
	c->prof.n_mapping = n - 1;
	c->prof.mapping = p;
	return 0;
}

/* The profile.frame.type of @l, or NULL (native); -EINVAL for an
 * attribute index out of range. */
static int
location_type(const struct conv *c,
	      const Opentelemetry__Proto__Profiles__V1development__Location *l,
	      const char **ret_type)
{
	const otlp_kvu *kv;
	const char *key;
	size_t i;

	*ret_type = NULL;
	for (i = 0; i < l->n_attribute_indices; i++) {
		kv = otlp_attr(c, l->attribute_indices[i]);
		if (!kv)
			return -EINVAL;
		key = otlp_dict_string(c->d, kv->key_strindex);
		if (!key || strcmp(key, FRAME_TYPE_KEY) || !kv->value)
			continue;
		if (kv->value->value_case == ANY_STRING)
			*ret_type = kv->value->string_value;
		else if (kv->value->value_case == ANY_STRINDEX)
			*ret_type = otlp_dict_string(
				c->d, kv->value->string_value_strindex);
		return 0;
	}
	return 0;
}

/* The mapping named @file made for a frame type, made when missing;
 * NULL when MAX_TYPE_MAPPINGS are made (or no memory: *ret_err). */
static pp_mapping *conv__type_mapping(struct conv *c, const char *file,
				      int *ret_err)
{
	size_t nmap = c->d ? c->d->n_mapping_table : 0, i, len;
	pp_mapping *pm;
	char *text;
	int err;

	*ret_err = 0;
	for (i = 0; i < c->ntype_maps; i++)
		if (!strcmp(c->strs[c->type_maps[i]->filename], file))
			return c->type_maps[i];
	if (c->ntype_maps == MAX_TYPE_MAPPINGS)
		return NULL;
	len = strlen(file);
	pm = arena__alloc(&c->a, sizeof(*pm));
	text = arena__alloc(&c->a, len + 1);
	if (!pm || !text) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	memcpy(text, file, len + 1);
	perftools__profiles__mapping__init(pm);
	/* After the request's mappings, ids 1 .. nmap - 1. */
	pm->id = (nmap > 1 ? nmap : 1) + c->ntype_maps;
	err = conv__add_string(c, text, &pm->filename);
	if (err) {
		*ret_err = err;
		return NULL;
	}
	c->type_maps[c->ntype_maps++] = pm;
	return pm;
}

/*
 * pprof has no frame type: a frame's mapping tells it. Native frames keep
 * theirs; kernel frames keep a mapping perf would name ("[kernel.kallsyms]",
 * "[nvme]"), else get "[kernel.kallsyms]"; a frame of any other type gets
 * the mapping "[TYPE]" ("[jit]", "[cpython]"; the request's own when it
 * has that name). Sets *ret_pm to the mapping (NULL: none).
 */
static int conv__location_mapping(
	struct conv *c,
	const Opentelemetry__Proto__Profiles__V1development__Location *l,
	pp_mapping **ret_pm)
{
	char name[FRAMETYPE_MAX_NAME + 1], file[FRAMETYPE_MAX_NAME + 3];
	pp_mapping *pm = NULL, *made;
	enum frametype_kind kind;
	const char *type, *have = NULL;
	int err;

	if (l->mapping_index)
		pm = c->prof.mapping[l->mapping_index - 1];
	*ret_pm = pm;
	err = location_type(c, l, &type);
	if (err)
		return err;
	type = frametype__name(type, name, &kind);
	if (kind == FRAMETYPE_K_NATIVE)
		return 0;
	if (pm)
		have = c->strs[pm->filename];
	if (kind == FRAMETYPE_K_KERNEL) {
		if (have && have[0] == '[')
			return 0;
		strcpy(file, KERNEL_MAPPING);
	} else {
		snprintf(file, sizeof(file), "[%s]", type);
		if (have && !strcmp(have, file))
			return 0;
	}
	made = conv__type_mapping(c, file, &err);
	if (made)
		*ret_pm = made;
	return err;
}

/* The request's mappings, then those made for frame types. */
static int conv__append_type_mappings(struct conv *c)
{
	size_t n = c->prof.n_mapping;
	pp_mapping **p;

	if (!c->ntype_maps)
		return 0;
	p = arena__alloc(&c->a, (n + c->ntype_maps) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (n)
		memcpy(p, c->prof.mapping, n * sizeof(*p));
	memcpy(p + n, c->type_maps, c->ntype_maps * sizeof(*p));
	c->prof.mapping = p;
	c->prof.n_mapping = n + c->ntype_maps;
	return 0;
}

static int conv__locations(struct conv *c)
{
	size_t i, j, k, n = c->d ? c->d->n_location_table : 0, nlines = 0;
	size_t nfn = c->d ? c->d->n_function_table : 0;
	size_t nmap = c->d ? c->d->n_mapping_table : 0;
	pp_location *v, **p;
	pp_line *lines, **lp;
	int err;

	if (n <= 1)
		return 0;
	for (i = 1; i < n; i++)
		nlines += c->d->location_table[i]->n_lines;
	v = arena__alloc(&c->a, (n - 1) * sizeof(*v));
	p = arena__alloc(&c->a, (n - 1) * sizeof(*p));
	lines = arena__alloc(&c->a, nlines * sizeof(*lines));
	lp = arena__alloc(&c->a, nlines * sizeof(*lp));
	if (!v || !p || (nlines && (!lines || !lp)))
		return -ENOMEM;
	for (i = 1; i < n; i++) {
		const Opentelemetry__Proto__Profiles__V1development__Location
			*l = c->d->location_table[i];
		pp_location *pl = &v[i - 1];
		pp_mapping *pm = NULL;

		if (!otlp_in_range(l->mapping_index, nmap))
			return -EINVAL;
		err = conv__location_mapping(c, l, &pm);
		if (err)
			return err;
		perftools__profiles__location__init(pl);
		pl->id = i;
		pl->mapping_id = pm ? pm->id : 0;
		pl->address = l->address;
		pl->line = lp;
		for (j = k = 0; j < l->n_lines; j++) {
			const Opentelemetry__Proto__Profiles__V1development__Line
				*ol = l->lines[j];

			if (!otlp_in_range(ol->function_index, nfn))
				return -EINVAL;
			if (!ol->function_index)
				continue;
			perftools__profiles__line__init(lines);
			lines->function_id = ol->function_index;
			lines->line = ol->line;
			lines->column = ol->column;
			*lp++ = lines++;
			k++;
			if (pm && ol->line)
				pm->has_line_numbers = true;
			if (pm &&
			    c->prof.function[ol->function_index - 1]->filename)
				pm->has_filenames = true;
		}
		pl->n_line = k;
		if (pm && k)
			pm->has_functions = true;
		if (pm && k > 1)
			pm->has_inline_frames = true;
		p[i - 1] = pl;
	}
	c->prof.n_location = n - 1;
	c->prof.location = p;
	return conv__append_type_mappings(c);
}

/* What the resource says about its process, for the labels. */
struct proc_labels {
	bool has_pid;
	int64_t pid;
	const char *comm;
};

static void resource_labels(const otlp_keyvalue *const *attrs, size_t n,
			    struct proc_labels *ret)
{
	const char *service = NULL;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	for (i = 0; i < n; i++) {
		const otlp_keyvalue *kv = attrs[i];
		const otlp_anyvalue *v = kv->value;

		if (!kv->key || !v)
			continue;
		if (!strcmp(kv->key, "process.pid") &&
		    v->value_case == ANY_INT) {
			ret->has_pid = true;
			ret->pid = v->int_value;
		} else if (!strcmp(kv->key, "process.executable.name") &&
			   v->value_case == ANY_STRING) {
			ret->comm = v->string_value;
		} else if (!strcmp(kv->key, "service.name") &&
			   v->value_case == ANY_STRING) {
			service = v->string_value;
		}
	}
	if (!ret->comm)
		ret->comm = service;
}

/* tgprof's sample attributes get pprof's usual label names. */
static const char *label_name(const char *key)
{
	if (!strcmp(key, "thread.id"))
		return "tid";
	if (!strcmp(key, "thread.name"))
		return "thread";
	if (!strcmp(key, "cpu.logical_number"))
		return "cpu";
	return key;
}

/* An integer label's value, as text kept in the arena. */
static int conv__int_string(struct conv *c, int64_t v, int64_t *ret_idx)
{
	char buf[24], *text;
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	text = arena__alloc(&c->a, (size_t)n + 1);
	if (!text)
		return -ENOMEM;
	memcpy(text, buf, (size_t)n + 1);
	return conv__add_string(c, text, ret_idx);
}

static int conv__labels(struct conv *c, const otlp_sample *s,
			const struct proc_labels *pl, pp_sample *ps)
{
	pp_label *v, **p;
	size_t i, n = 0;
	int err;

	v = arena__alloc(&c->a, MAX_LABELS * sizeof(*v));
	p = arena__alloc(&c->a, MAX_LABELS * sizeof(*p));
	if (!v || !p)
		return -ENOMEM;
	if (pl->has_pid) {
		perftools__profiles__label__init(&v[n]);
		err = conv__add_string(c, "pid", &v[n].key);
		if (!err)
			err = conv__int_string(c, pl->pid, &v[n].str);
		if (err)
			return err;
		p[n] = &v[n];
		n++;
	}
	if (pl->comm) {
		perftools__profiles__label__init(&v[n]);
		err = conv__add_string(c, "comm", &v[n].key);
		if (!err)
			err = conv__add_string(c, pl->comm, &v[n].str);
		if (err)
			return err;
		p[n] = &v[n];
		n++;
	}
	for (i = 0; i < s->n_attribute_indices && n < MAX_LABELS; i++) {
		const otlp_kvu *kv = otlp_attr(c, s->attribute_indices[i]);
		const char *key, *str = NULL;

		if (!kv)
			return -EINVAL;
		key = otlp_dict_string(c->d, kv->key_strindex);
		if (!key)
			return -EINVAL;
		if (!*key || !kv->value)
			continue;
		perftools__profiles__label__init(&v[n]);
		err = conv__add_string(c, label_name(key), &v[n].key);
		if (err)
			return err;
		switch (kv->value->value_case) {
		case ANY_INT:
			err = conv__int_string(c, kv->value->int_value,
					       &v[n].str);
			if (err)
				return err;
			break;
		case ANY_STRING:
			str = kv->value->string_value;
			break;
		case ANY_STRINDEX:
			str = otlp_dict_string(
				c->d, kv->value->string_value_strindex);
			if (!str)
				return -EINVAL;
			break;
		default:
			continue; /* no pprof label for it */
		}
		if (str) {
			err = conv__add_string(c, str, &v[n].str);
			if (err)
				return err;
		}
		p[n] = &v[n];
		n++;
	}
	ps->n_label = n;
	ps->label = p;
	return 0;
}

static int conv__sample(struct conv *c, const otlp_sample *s,
			const struct proc_labels *pl)
{
	const Opentelemetry__Proto__Profiles__V1development__Stack *st;
	int64_t count = (int64_t)otlp_sample_count(s);
	size_t i, n = 0;
	pp_sample *ps, **v;
	uint64_t *locs;
	int64_t *vals;
	int err;

	if (count <= 0)
		return 0;
	if (!c->d || !otlp_in_range(s->stack_index, c->d->n_stack_table))
		return -EINVAL;
	st = c->d->stack_table[s->stack_index];
	ps = arena__alloc(&c->a, sizeof(*ps));
	locs = arena__alloc(&c->a, st->n_location_indices * sizeof(*locs));
	vals = arena__alloc(&c->a, 2 * sizeof(*vals));
	if (!ps || !vals || (st->n_location_indices && !locs))
		return -ENOMEM;
	perftools__profiles__sample__init(ps);
	for (i = 0; i < st->n_location_indices; i++) {
		int32_t l = st->location_indices[i];

		if (!otlp_in_range(l, c->d->n_location_table))
			return -EINVAL;
		if (l)
			locs[n++] = (uint64_t)l;
	}
	ps->n_location_id = n;
	ps->location_id = locs;
	vals[0] = count;
	vals[1] = count * c->period;
	/* Off-CPU: the one value, nanoseconds waited. */
	ps->n_value = c->kind == OTLP_PROFILE_OFF_CPU ? 1 : 2;
	ps->value = vals;
	err = conv__labels(c, s, pl, ps);
	if (err)
		return err;

	if (c->nsamples == c->capsamples) {
		c->capsamples = c->capsamples ? 2 * c->capsamples : 256;
		v = realloc(c->prof.sample, c->capsamples * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->prof.sample = v;
	}
	c->prof.sample[c->nsamples++] = ps;
	c->prof.n_sample = c->nsamples;
	return 0;
}

static void conv__time(struct conv *c, const otlp_profile *p)
{
	uint64_t end = p->time_unix_nano + p->duration_nano;

	if (!p->time_unix_nano)
		return;
	if (!c->start_ns || p->time_unix_nano < c->start_ns)
		c->start_ns = p->time_unix_nano;
	if (end > c->end_ns)
		c->end_ns = end;
}

static int conv__samples(struct conv *c)
{
	const otlp_request *r = c->req;
	struct proc_labels pl;
	size_t i, j, k, m;
	int err;

	/* One period for the profile: the first one given. */
	for (i = 0; i < r->n_resource_profiles && !c->period; i++)
		for (j = 0; j < r->resource_profiles[i]->n_scope_profiles; j++)
			for (k = 0; k < r->resource_profiles[i]
						->scope_profiles[j]
						->n_profiles;
			     k++)
				if (!c->period &&
				    otlp_profile_kind(
					    c->d, r->resource_profiles[i]
							  ->scope_profiles[j]
							  ->profiles[k]) ==
					    c->kind)
					c->period = r->resource_profiles[i]
							    ->scope_profiles[j]
							    ->profiles[k]
							    ->period;
	for (i = 0; i < r->n_resource_profiles; i++) {
		const Opentelemetry__Proto__Profiles__V1development__ResourceProfiles
			*rp = r->resource_profiles[i];

		if (rp->resource)
			resource_labels((const otlp_keyvalue *const *)
						rp->resource->attributes,
					rp->resource->n_attributes, &pl);
		else
			memset(&pl, 0, sizeof(pl));
		for (j = 0; j < rp->n_scope_profiles; j++) {
			const Opentelemetry__Proto__Profiles__V1development__ScopeProfiles
				*sp = rp->scope_profiles[j];

			for (k = 0; k < sp->n_profiles; k++) {
				const otlp_profile *p = sp->profiles[k];

				if (otlp_profile_kind(c->d, p) != c->kind)
					continue;
				conv__time(c, p);
				for (m = 0; m < p->n_samples; m++) {
					err = conv__sample(c, p->samples[m],
							   &pl);
					if (err)
						return err;
				}
			}
		}
	}
	return 0;
}

static int conv__value_types(struct conv *c)
{
	pp_value_type *vt, **p;
	int err;

	vt = arena__alloc(&c->a, 3 * sizeof(*vt));
	p = arena__alloc(&c->a, 2 * sizeof(*p));
	if (!vt || !p)
		return -ENOMEM;
	perftools__profiles__value_type__init(&vt[0]);
	perftools__profiles__value_type__init(&vt[1]);
	perftools__profiles__value_type__init(&vt[2]);
	if (c->kind == OTLP_PROFILE_OFF_CPU) {
		err = conv__add_string(c, OTLP_OFF_CPU_TYPE, &vt[0].type);
		if (!err)
			err = conv__add_string(c, "nanoseconds", &vt[0].unit);
		if (err)
			return err;
		p[0] = &vt[0];
		c->prof.n_sample_type = 1;
		c->prof.sample_type = p;
		return 0;
	}
	err = conv__add_string(c, "samples", &vt[0].type);
	if (!err)
		err = conv__add_string(c, "count", &vt[0].unit);
	if (!err)
		err = conv__add_string(c, "cpu", &vt[1].type);
	if (!err)
		err = conv__add_string(c, "nanoseconds", &vt[1].unit);
	if (err)
		return err;
	vt[2] = vt[1];
	p[0] = &vt[0];
	p[1] = &vt[1];
	c->prof.n_sample_type = 2;
	c->prof.sample_type = p;
	c->prof.period_type = &vt[2];
	return 0;
}

int pprof__from_otlp(const void *req, size_t len, void **ret_buf,
		     size_t *ret_len)
{
	return pprof__from_otlp_kind(req, len, OTLP_PROFILE_CPU, ret_buf,
				     ret_len);
}

int pprof__from_otlp_kind(const void *req, size_t len,
			  enum otlp_profile_kind kind, void **ret_buf,
			  size_t *ret_len)
{
	struct conv c = { .kind = kind };
	uint8_t *buf = NULL;
	size_t plen;
	int err;

	c.req = OTLP_REQUEST(unpack)(NULL, len, req);
	if (!c.req)
		return -EBADMSG;
	c.d = c.req->dictionary;
	perftools__profiles__profile__init(&c.prof);

	err = conv__strings(&c);
	if (!err)
		err = conv__functions(&c);
	if (!err)
		err = conv__mappings(&c);
	if (!err)
		err = conv__locations(&c);
	if (!err)
		err = conv__samples(&c);
	if (!err)
		err = conv__value_types(&c);
	if (err)
		goto out;
	c.prof.period = c.period;
	c.prof.time_nanos = (int64_t)c.start_ns;
	c.prof.duration_nanos = (int64_t)(c.end_ns - c.start_ns);
	c.prof.n_string_table = c.nstrs;
	c.prof.string_table = c.strs;

	plen = perftools__profiles__profile__get_packed_size(&c.prof);
	buf = malloc(plen ? plen : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	perftools__profiles__profile__pack(&c.prof, buf);
	err = gzip__compress(buf, plen, ret_buf, ret_len);
out:
	free(buf);
	free(c.prof.sample);
	free(c.strs);
	htab__free(&c.sh);
	arena__free(&c.a);
	OTLP_REQUEST(free_unpacked)((otlp_request *)c.req, NULL);
	return err;
}

// SPDX-License-Identifier: Apache-2.0
/* The packer: the builder's interval in (struct encode_request), protobuf-c
 * messages built in an arena, one serialized ExportProfilesServiceRequest
 * out. One ResourceProfiles per process, one ScopeProfiles, a CPU Profile
 * and an off-CPU Profile (each when it has Samples);
 * the dictionary's tables are packed as they stand, zero entries first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/clock.h"
#include "proto/otlp.h"
#include "receiver/profile/encode.h"

#define ANYVALUE_STRING \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANYVALUE_INT \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE

/* The resource attributes of a process, in this order; a new one is one
 * row. */
enum resource_source {
	RES_PROCESS, /* a string of struct profile_process, at .off */
	RES_PID,
	RES_HOST,
};

static const struct resource_attr {
	const char *key;
	enum resource_source src;
	size_t off;
} resource_attrs[] = {
	/* No name at all (no executable, no comm): no service.name, so a
	 * backend names it unknown_service. */
	{ "service.name", RES_PROCESS,
	  offsetof(struct profile_process, service_name) },
	{ "process.pid", RES_PID, 0 },
	{ "process.executable.name", RES_PROCESS,
	  offsetof(struct profile_process, exe_name) },
	{ "process.executable.path", RES_PROCESS,
	  offsetof(struct profile_process, exe_path) },
	{ "container.id", RES_PROCESS,
	  offsetof(struct profile_process, container_id) },
	{ "host.name", RES_HOST, 0 },
};

#define RESOURCE_ATTRS ARRAY_SIZE(resource_attrs)

/* The protobuf-c messages of one request, all in the scratch arena. */
struct packer {
	const struct encode_request *r;
	const struct dictionary *d;
	struct arena *a;
	pb_request req;
	pb_dictionary dict;
	pb_scope scope;
	pb_value_type sample_type, period_type, off_cpu_type;
	uint8_t profile_id_base[16];
	uint64_t *ts; /* unix ns, grouped by sample */
	uint32_t *ts_off; /* per sample: first timestamp in ts */
	uint32_t *by_proc; /* sample indices grouped by process */
	uint32_t *proc_off; /* per process: first sample in by_proc */
	uint32_t *proc_samples; /* per process: Samples with events */
	uint64_t start_ns, end_ns;
};

#define PACK_ARRAY(pk, ptr, n) \
	((ptr) = arena__alloc((pk)->a, (size_t)(n) * sizeof(*(ptr))))

/* @n messages of @desc in @msgs, each initialized, and @table pointing at
 * each: what every table of the dictionary starts as. 0 or -ENOMEM. */
#define PACK_TABLE(pk, desc, n, table, msgs)                                   \
	({                                                                     \
		uint32_t i__, n__ = (n);                                       \
		int err__ = -ENOMEM;                                           \
		if (PACK_ARRAY(pk, table, n__) && PACK_ARRAY(pk, msgs, n__)) { \
			for (i__ = 0; i__ < n__; i__++) {                      \
				protobuf_c_message_init(desc, &(msgs)[i__]);   \
				(table)[i__] = &(msgs)[i__];                   \
			}                                                      \
			err__ = 0;                                             \
		}                                                              \
		err__;                                                         \
	})

static void fill_random(uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	uint64_t x;

	while (got < len) {
		n = getrandom(buf + got, len - got, GRND_NONBLOCK);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* No entropy yet (early boot): unique is what matters. */
	for (x = clock_ns(CLOCK_MONOTONIC); got < len; got++) {
		x = hash_u64(x + got);
		buf[got] = (uint8_t)x;
	}
}

/* Exclusive prefix sums of @count[0..@n) into @off and @fill: where each
 * group starts, and its fill cursor. */
static void prefix_sums(const uint32_t *count, uint32_t n, uint32_t *off,
			uint32_t *fill)
{
	uint32_t i, sum = 0;

	for (i = 0; i < n; i++) {
		off[i] = sum;
		fill[i] = sum;
		sum += count[i];
	}
}

static int pack__strings(struct packer *pk)
{
	const struct table *t = &pk->d->strings;
	int32_t i;

	pk->dict.n_string_table = t->n;
	if (!PACK_ARRAY(pk, pk->dict.string_table, t->n))
		return -ENOMEM;
	for (i = 0; i < (int32_t)t->n; i++)
		pk->dict.string_table[i] = (char *)dict__string_at(pk->d, i);
	return 0;
}

static int pack__mappings(struct packer *pk)
{
	const struct table *t = &pk->d->mappings;
	pb_mapping *v;
	int32_t i;

	pk->dict.n_mapping_table = t->n;
	if (PACK_TABLE(pk, &PB(mapping__descriptor), t->n,
		       pk->dict.mapping_table, v))
		return -ENOMEM;
	for (i = 1; i < (int32_t)t->n; i++) {
		const struct dict_mapping *m = table__key(t, i);

		v[i].memory_start = m->start;
		v[i].memory_limit = m->limit;
		v[i].file_offset = m->offset;
		v[i].filename_strindex = m->file;
		if (m->build_id) {
			v[i].n_attribute_indices = 1;
			v[i].attribute_indices = (int32_t *)&m->build_id;
		}
	}
	return 0;
}

static int pack__locations(struct packer *pk)
{
	const struct table *t = &pk->d->locations;
	uint32_t j, nl, nlines = 0;
	pb_line *lines, **lp;
	pb_location *v;
	int32_t i;

	for (i = 1; i < (int32_t)t->n; i++)
		nlines += dict__location_lines(pk->d, i);
	pk->dict.n_location_table = t->n;
	if (PACK_TABLE(pk, &PB(location__descriptor), t->n,
		       pk->dict.location_table, v) ||
	    !PACK_ARRAY(pk, lines, nlines) || !PACK_ARRAY(pk, lp, nlines))
		return -ENOMEM;
	for (i = 1; i < (int32_t)t->n; i++) {
		const struct dict_location *l = table__key(t, i);

		v[i].mapping_index = l->mapping;
		v[i].address = l->addr;
		if (l->attr) {
			v[i].n_attribute_indices = 1;
			v[i].attribute_indices = (int32_t *)&l->attr;
		}
		nl = dict__location_lines(pk->d, i);
		v[i].n_lines = nl;
		v[i].lines = lp;
		for (j = 0; j < nl; j++) {
			PB(line__init)(lines);
			lines->function_index = l->lines[j].fn;
			lines->line = l->lines[j].line;
			*lp++ = lines++;
		}
	}
	return 0;
}

static int pack__functions(struct packer *pk)
{
	const struct table *t = &pk->d->functions;
	pb_function *v;
	int32_t i;

	pk->dict.n_function_table = t->n;
	if (PACK_TABLE(pk, &PB(function__descriptor), t->n,
		       pk->dict.function_table, v))
		return -ENOMEM;
	for (i = 1; i < (int32_t)t->n; i++) {
		const struct dict_function *f = table__key(t, i);

		v[i].name_strindex = f->name;
		v[i].system_name_strindex = f->system_name;
		v[i].filename_strindex = f->file;
		v[i].start_line = f->start_line;
	}
	return 0;
}

/* @av holds @a's value. */
static void anyvalue__set(pb_anyvalue *av, const struct dict_attr *a)
{
	PB_COMMON(any_value__init)(av);
	if (a->type == ATTR_STR) {
		av->value_case = ANYVALUE_STRING;
		av->string_value = (char *)dict_attr__str(a);
	} else {
		av->value_case = ANYVALUE_INT;
		av->int_value = dict_attr__int(a);
	}
}

static int pack__attributes(struct packer *pk)
{
	const struct table *t = &pk->d->attrs;
	pb_anyvalue *av;
	pb_kvu *v;
	int32_t i;

	pk->dict.n_attribute_table = t->n;
	if (PACK_TABLE(pk, &PB(key_value_and_unit__descriptor), t->n,
		       pk->dict.attribute_table, v) ||
	    !PACK_ARRAY(pk, av, t->n))
		return -ENOMEM;
	for (i = 1; i < (int32_t)t->n; i++) {
		const struct dict_attr *a = table__key(t, i);

		anyvalue__set(&av[i], a);
		v[i].key_strindex = a->key;
		v[i].value = &av[i];
	}
	return 0;
}

static int pack__stacks(struct packer *pk)
{
	const struct table *t = &pk->d->stacks;
	pb_stack *v;
	int32_t i;

	pk->dict.n_stack_table = t->n;
	if (PACK_TABLE(pk, &PB(stack__descriptor), t->n, pk->dict.stack_table,
		       v))
		return -ENOMEM;
	for (i = 1; i < (int32_t)t->n; i++) {
		v[i].n_location_indices = dict__stack_len(pk->d, i);
		v[i].location_indices = (int32_t *)table__key(t, i);
	}
	return 0;
}

static int pack__links(struct packer *pk)
{
	static uint8_t zero_trace[16], zero_span[8];
	pb_link *link;

	pk->dict.n_link_table = 1;
	if (PACK_TABLE(pk, &PB(link__descriptor), 1, pk->dict.link_table, link))
		return -ENOMEM;
	/* The zero link: 16 and 8 zero bytes, not empty ids. */
	link->trace_id.len = sizeof(zero_trace);
	link->trace_id.data = zero_trace;
	link->span_id.len = sizeof(zero_span);
	link->span_id.data = zero_span;
	return 0;
}

/* Timestamps grouped by sample, in the order they came; the interval's
 * time span widened to hold them all. */
static int pack__events(struct packer *pk)
{
	const struct encode_request *r = pk->r;
	uint32_t i, n = table__count(r->samples), *fill;
	uint64_t t;

	if (!PACK_ARRAY(pk, pk->ts, r->nev) || !PACK_ARRAY(pk, pk->ts_off, n) ||
	    !PACK_ARRAY(pk, fill, n))
		return -ENOMEM;
	prefix_sums(r->nevents, n, pk->ts_off, fill);
	pk->start_ns = r->start_ns;
	pk->end_ns = r->end_ns;
	for (i = 0; i < r->nev; i++) {
		t = r->ev_ts[i] + (uint64_t)r->boot_to_unix_ns;
		pk->ts[fill[r->ev_sample[i]]++] = t;
		if (t < pk->start_ns)
			pk->start_ns = t;
		if (t >= pk->end_ns)
			pk->end_ns = t + 1;
	}
	return 0;
}

static const struct profile_sample *sample_at(const struct packer *pk,
					      uint32_t i)
{
	return table__key(pk->r->samples, (int32_t)i);
}

/* Whether Sample @i has something to say: CPU events, off-CPU time. */
static bool sample_kept(const struct packer *pk, uint32_t i)
{
	return pk->r->nevents[i] || (pk->r->values && pk->r->values[i]);
}

/* The Samples that have events, grouped by process. */
static int pack__group_samples(struct packer *pk)
{
	const struct encode_request *r = pk->r;
	uint32_t i, n = table__count(r->samples), *fill;

	if (!PACK_ARRAY(pk, pk->by_proc, n) ||
	    !PACK_ARRAY(pk, pk->proc_off, r->nprocs) ||
	    !PACK_ARRAY(pk, pk->proc_samples, r->nprocs) ||
	    !PACK_ARRAY(pk, fill, r->nprocs))
		return -ENOMEM;
	memset(pk->proc_samples, 0, r->nprocs * sizeof(*pk->proc_samples));
	for (i = 0; i < n; i++)
		if (sample_kept(pk, i))
			pk->proc_samples[sample_at(pk, i)->proc]++;
	prefix_sums(pk->proc_samples, r->nprocs, pk->proc_off, fill);
	for (i = 0; i < n; i++)
		if (sample_kept(pk, i))
			pk->by_proc[fill[sample_at(pk, i)->proc]++] = i;
	return 0;
}

/* The value of resource attribute @ra of @p; false: left out. */
static bool resource_attr__value(const struct packer *pk,
				 const struct resource_attr *ra,
				 const struct profile_process *p,
				 struct attr_val *ret)
{
	const char *s;

	switch (ra->src) {
	case RES_PID:
		ret->type = ATTR_INT;
		ret->i = p->tgid;
		return true;
	case RES_HOST:
		s = pk->r->host_name;
		break;
	default:
		memcpy(&s, (const char *)p + ra->off, sizeof(s));
		break;
	}
	ret->type = ATTR_STR;
	ret->s = s;
	return s && *s;
}

static uint32_t pack__resource_attrs(const struct packer *pk,
				     const struct profile_process *p,
				     pb_keyvalue *kv, pb_keyvalue **kvp,
				     pb_anyvalue *av)
{
	struct attr_val val;
	uint32_t i, n = 0;

	for (i = 0; i < RESOURCE_ATTRS; i++) {
		if (!resource_attr__value(pk, &resource_attrs[i], p, &val))
			continue;
		PB_COMMON(key_value__init)(&kv[n]);
		PB_COMMON(any_value__init)(&av[n]);
		kv[n].key = (char *)resource_attrs[i].key;
		kv[n].value = &av[n];
		if (val.type == ATTR_STR) {
			av[n].value_case = ANYVALUE_STRING;
			av[n].string_value = (char *)val.s;
		} else {
			av[n].value_case = ANYVALUE_INT;
			av[n].int_value = val.i;
		}
		kvp[n] = &kv[n];
		n++;
	}
	return n;
}

/* The Samples of process @proc of profile @kind into @smpp (returns how
 * many), @smp, @attrs and @vals room for them, their attribute indices
 * and values. */
static uint32_t pack__samples(const struct packer *pk, uint32_t proc,
			      uint32_t kind, pb_sample *smp, pb_sample **smpp,
			      int32_t *attrs, int64_t *vals)
{
	uint32_t i, k, na, nk, n = 0;

	for (i = 0; i < pk->proc_samples[proc]; i++) {
		uint32_t si = pk->by_proc[pk->proc_off[proc] + i];
		const struct profile_sample *s = sample_at(pk, si);

		if (s->kind != kind)
			continue;
		nk = (pk->r->samples->v[si]->len -
		      offsetof(struct profile_sample, attrs)) /
		     sizeof(s->attrs[0]);
		PB(sample__init)(&smp[n]);
		smp[n].stack_index = s->stack;
		/* Attributes a full table left out are not listed. */
		for (k = na = 0; k < nk; k++)
			if (s->attrs[k])
				attrs[na++] = s->attrs[k];
		smp[n].n_attribute_indices = na;
		smp[n].attribute_indices = attrs;
		attrs += na;
		if (kind == PROFILE_KIND_OFF_CPU) {
			/* One value, no timestamps: Pyroscope sums values,
			 * and takes more than one per Sample badly. */
			vals[n] = (int64_t)pk->r->values[si];
			smp[n].n_values = 1;
			smp[n].values = &vals[n];
		} else {
			smp[n].n_timestamps_unix_nano = pk->r->nevents[si];
			smp[n].timestamps_unix_nano = &pk->ts[pk->ts_off[si]];
		}
		smpp[n] = &smp[n];
		n++;
	}
	return n;
}

/* Profile @kind of process @proc (the @nth profile of the request), its
 * Samples in @smp and the arrays after it: 0 and *@ret, NULL when it has
 * none, or -ENOMEM. */
static int pack__profile(struct packer *pk, uint32_t proc, uint32_t kind,
			 uint32_t nth, pb_profile **ret)
{
	uint32_t n = pk->proc_samples[proc];
	pb_sample *smp, **smpp;
	pb_profile *prof;
	int32_t *attrs;
	int64_t *vals;
	uint8_t *id;

	*ret = NULL;
	if (!PACK_ARRAY(pk, prof, 1) || !PACK_ARRAY(pk, id, 16) ||
	    !PACK_ARRAY(pk, smp, n) || !PACK_ARRAY(pk, smpp, n) ||
	    !PACK_ARRAY(pk, vals, n) ||
	    !PACK_ARRAY(pk, attrs, PROFILE_SAMPLE_ATTRS_MAX * n))
		return -ENOMEM;
	n = pack__samples(pk, proc, kind, smp, smpp, attrs, vals);
	if (!n)
		return 0;

	/* Unique per profile, one random draw per request: the ids of a
	 * request with many processes share 12 bytes and compress. */
	memcpy(id, pk->profile_id_base, 16);
	id[12] ^= (uint8_t)(nth >> 24);
	id[13] ^= (uint8_t)(nth >> 16);
	id[14] ^= (uint8_t)(nth >> 8);
	id[15] ^= (uint8_t)nth;
	PB(profile__init)(prof);
	if (kind == PROFILE_KIND_OFF_CPU) {
		prof->sample_type = &pk->off_cpu_type;
	} else {
		prof->sample_type = &pk->sample_type;
		prof->period_type = &pk->period_type;
		prof->period = pk->r->period_ns;
	}
	prof->time_unix_nano = pk->start_ns;
	prof->duration_nano = pk->end_ns - pk->start_ns;
	prof->profile_id.len = 16;
	prof->profile_id.data = id;
	prof->n_samples = n;
	prof->samples = smpp;
	*ret = prof;
	return 0;
}

/* One process: its resource, the tgprof scope, a CPU profile and an
 * off-CPU profile, each if it has Samples. @nth counts the profiles of
 * the request. */
static int pack__process(struct packer *pk, uint32_t proc, uint32_t *nth,
			 pb_resource_profiles **ret)
{
	const struct profile_process *p = pk->r->procs[proc];
	pb_resource_profiles *rp;
	pb_scope_profiles *sp, **spp;
	pb_keyvalue *kv, **kvp;
	pb_resource *res;
	pb_profile **profp;
	pb_anyvalue *av;
	uint32_t kind, nprof = 0;
	int err;

	if (!PACK_ARRAY(pk, rp, 1) || !PACK_ARRAY(pk, res, 1) ||
	    !PACK_ARRAY(pk, kv, RESOURCE_ATTRS) ||
	    !PACK_ARRAY(pk, kvp, RESOURCE_ATTRS) ||
	    !PACK_ARRAY(pk, av, RESOURCE_ATTRS) || !PACK_ARRAY(pk, sp, 1) ||
	    !PACK_ARRAY(pk, spp, 1) || !PACK_ARRAY(pk, profp, 2))
		return -ENOMEM;

	opentelemetry__proto__resource__v1__resource__init(res);
	res->n_attributes = pack__resource_attrs(pk, p, kv, kvp, av);
	res->attributes = kvp;
	for (kind = PROFILE_KIND_CPU; kind <= PROFILE_KIND_OFF_CPU; kind++) {
		err = pack__profile(pk, proc, kind, *nth, &profp[nprof]);
		if (err)
			return err;
		if (profp[nprof]) {
			nprof++;
			(*nth)++;
		}
	}

	PB(scope_profiles__init)(sp);
	sp->scope = &pk->scope;
	sp->n_profiles = nprof;
	sp->profiles = profp;
	spp[0] = sp;

	PB(resource_profiles__init)(rp);
	rp->resource = res;
	rp->n_scope_profiles = 1;
	rp->scope_profiles = spp;
	*ret = rp;
	return 0;
}

static void pack__value_types(struct packer *pk)
{
	const struct dict_value_types *t = &pk->r->types;

	PB(value_type__init)(&pk->sample_type);
	PB(value_type__init)(&pk->period_type);
	pk->sample_type.type_strindex = t->type;
	pk->sample_type.unit_strindex = t->unit;
	pk->period_type.type_strindex = t->period_type;
	pk->period_type.unit_strindex = t->period_unit;
	PB(value_type__init)(&pk->off_cpu_type);
	pk->off_cpu_type.type_strindex = pk->r->off_cpu_types.type;
	pk->off_cpu_type.unit_strindex = pk->r->off_cpu_types.unit;
}

static int pack__request(struct packer *pk)
{
	int (*const steps[])(struct packer *) = {
		pack__mappings,	  pack__locations, pack__functions,
		pack__attributes, pack__stacks,	   pack__links,
		pack__strings,	  pack__events,	   pack__group_samples,
	};
	const struct encode_request *r = pk->r;
	pb_resource_profiles **rps;
	uint32_t i, n = 0, nth = 0;
	int err;

	PB_REQUEST(init)(&pk->req);
	PB(profiles_dictionary__init)(&pk->dict);
	PB_COMMON(instrumentation_scope__init)(&pk->scope);
	pk->scope.name = (char *)PROFILE_SCOPE_NAME;
	pk->scope.version = (char *)TGPROF_VERSION;
	fill_random(pk->profile_id_base, sizeof(pk->profile_id_base));
	pack__value_types(pk);
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		err = steps[i](pk);
		if (err)
			return err;
	}

	if (!PACK_ARRAY(pk, rps, r->nprocs))
		return -ENOMEM;
	for (i = 0; i < r->nprocs; i++) {
		if (!pk->proc_samples[i])
			continue;
		err = pack__process(pk, i, &nth, &rps[n]);
		if (err)
			return err;
		n++;
	}
	pk->req.n_resource_profiles = n;
	pk->req.resource_profiles = rps;
	pk->req.dictionary = &pk->dict;
	return 0;
}

int encode__request(const struct encode_request *r, struct arena *scratch,
		    void **ret_buf, size_t *ret_len)
{
	struct packer pk = { .r = r, .d = r->dict, .a = scratch };
	uint8_t *buf;
	size_t len;
	int err;

	err = pack__request(&pk);
	if (err)
		goto out;
	len = PB_REQUEST(get_packed_size)(&pk.req);
	buf = malloc(len ? len : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	if (PB_REQUEST(pack)(&pk.req, buf) != len) {
		free(buf);
		err = -EINVAL;
		goto out;
	}
	*ret_buf = buf;
	*ret_len = len;
out:
	arena__reset(scratch);
	return err;
}

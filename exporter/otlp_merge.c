// SPDX-License-Identifier: Apache-2.0
/* Many OTLP requests -> one. Each request is decoded with protobuf-c and
 * checked whole (every index, every list) before anything of it is added;
 * then what its samples reach is re-interned into the merged dictionary,
 * once per entry and request (a memo per table). A dictionary entry is
 * kept as the bytes protobuf-c packs it to once its indices are the merged
 * ones: equal bytes are the same entry, and the merged dictionary is
 * written from those bytes without being decoded again. Resources, scopes
 * and profiles are found the same way, by a key of their packed content. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/otlp_merge.h"
#include "exporter/otlp_request.h"
#include "lib/arena.h"
#include "lib/htab.h"
#include "lib/opts.h"
#include "lib/sat.h"
#include "lib/vec.h"

#define PB_RESOURCE(name) opentelemetry__proto__resource__v1__resource__##name
#define ANY_ARRAY OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
#define ANY_KVLIST \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE

#define DEFAULT_MAX_RESOURCES 4096
#define DEFAULT_MAX_STACKS 65536
#define DEFAULT_MAX_ENTRIES 262144
#define DEFAULT_MAX_SAMPLES 262144
#define DEFAULT_MAX_EVENTS 1048576
#define DEFAULT_MAX_STRING_BYTES (16u << 20)

/* The dictionary's tables, numbered as its fields are: the merged
 * dictionary is written table by table with these tags. */
enum dict_table {
	T_MAPPING = 1,
	T_LOCATION = 2,
	T_FUNCTION = 3,
	T_LINK = 4,
	T_STRING = 5,
	T_ATTRIBUTE = 6,
	T_STACK = 7,
	T_NDICT = 8,
};

/* One interned entry: the packed bytes of a dictionary entry with merged
 * indices (a string's own bytes), or the key of a resource, scope or
 * profile. In the merge's arena. */
struct blob {
	struct htab_node node;
	uint32_t len;
	int32_t idx;
	uint8_t data[];
};

struct table {
	struct htab h;
	struct blob **v; /* v[idx] */
	uint32_t n, cap;
	uint32_t first; /* 1: v[0] is the zero entry, not counted */
	uint32_t max; /* entries beyond the zero entry */
	bool counts_bytes; /* against max_string_bytes */
};

/* A profile of the merged request; its key is in the profile table. */
struct mprof {
	uint32_t scope;
	bool has_sample_type, has_period_type;
	pb_value_type sample_type, period_type; /* merged string indices */
	int64_t period;
	uint32_t nattrs;
	int32_t *attrs;
	const char *payload_format;
	uint64_t start_ns, end_ns; /* 0: none given */
	uint8_t id[16];
	uint32_t id_len;
	uint32_t dropped_attributes;
	uint32_t nsamples; /* at encode */
};

struct msample {
	struct htab_node node; /* in sample_h when it has no values */
	uint32_t profile;
	int32_t stack;
	int32_t link;
	uint32_t nattrs;
	int32_t *attrs;
	uint32_t nvalues;
	int64_t *values;
	uint32_t nevents;
	uint32_t idx;
};

struct otlp_merge {
	struct otlp_merge_opts o;
	struct arena arena;
	struct table dict[T_NDICT]; /* by enum dict_table; 0 unused */
	struct table resources, scopes, profiles;
	size_t bytes; /* of the tables that count them */
	struct mprof **profs; /* by profile index */
	uint32_t capprofs;
	struct htab sample_h;
	struct msample **samples;
	uint32_t nsamples, capsamples;
	uint64_t *ev_ts;
	uint32_t *ev_sample;
	uint32_t nev, capev_ts, capev_sample;
	uint32_t nslots; /* events and values kept: against max_events */
	int32_t overflow_stack; /* 0: not made yet */
	/* A key being built. */
	uint8_t *key;
	size_t keylen, keycap;
	struct otlp_merge_stats stats;
};

/* One request being merged. */
struct req {
	const otlp_request *r;
	const otlp_dictionary *d;
	/* Per entry of the request's tables: 0 not looked at yet, -1 it did
	 * not fit, else 1 + its merged index. */
	int32_t *memo[T_NDICT];
	struct arena scratch; /* remapped copies: they borrow the request */
	bool nomem;
};

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v * 0xff51afd7ed558ccdULL;
	return ((h << 31) | (h >> 33)) * 0x9e3779b97f4a7c15ULL;
}

/* ---- keys --------------------------------------------------------------- */

static int key__reserve(struct otlp_merge *m, size_t more)
{
	size_t cap = m->keycap ? m->keycap : 256;
	uint8_t *p;

	if (m->keylen + more <= m->keycap)
		return 0;
	while (cap < m->keylen + more)
		cap *= 2;
	p = realloc(m->key, cap);
	if (!p)
		return -ENOMEM;
	m->key = p;
	m->keycap = cap;
	return 0;
}

static int key__put(struct otlp_merge *m, const void *data, size_t len)
{
	int err = key__reserve(m, len);

	if (err)
		return err;
	if (len)
		memcpy(m->key + m->keylen, data, len);
	m->keylen += len;
	return 0;
}

static int key__u32(struct otlp_merge *m, uint32_t v)
{
	return key__put(m, &v, sizeof(v));
}

/* A string with its length in front, so that two keys never run into
 * each other. */
static int key__str(struct otlp_merge *m, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	int err = key__u32(m, (uint32_t)len);

	return err ? err : key__put(m, s, len);
}

/* The packed bytes of @msg, length first. */
static int key__msg(struct otlp_merge *m, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	int err;

	err = key__u32(m, (uint32_t)len);
	if (!err)
		err = key__reserve(m, len);
	if (err)
		return err;
	m->keylen += protobuf_c_message_pack(msg, m->key + m->keylen);
	return 0;
}

/* ---- tables ------------------------------------------------------------- */

static void table__init(struct table *t, uint32_t first, uint32_t max,
			bool counts_bytes)
{
	memset(t, 0, sizeof(*t));
	t->first = first;
	t->max = max;
	t->counts_bytes = counts_bytes;
}

static void table__free(struct table *t)
{
	htab__free(&t->h);
	free(t->v);
}

/*
 * The index of the entry @data (@len bytes) in @t, added when missing
 * (*@ret_new says so). -ENOSPC when @t or the string bytes are full
 * (@force ignores the bounds), -ENOMEM.
 */
static int table__intern(struct otlp_merge *m, struct table *t,
			 const void *data, size_t len, bool force,
			 int32_t *ret_idx, bool *ret_new)
{
	uint64_t hash = hash_bytes(data, len, 0);
	struct htab_node *pos;
	struct blob *b;
	int err;

	if (ret_new)
		*ret_new = false;
	htab_for_each(&t->h, pos, hash) {
		b = container_of(pos, struct blob, node);
		if (b->len == len && !memcmp(b->data, data, len)) {
			*ret_idx = b->idx;
			return 0;
		}
	}
	if (len > UINT32_MAX || t->n >= INT32_MAX)
		return -ENOSPC;
	if (!force &&
	    (t->n - t->first >= t->max ||
	     (t->counts_bytes && m->bytes + len > m->o.max_string_bytes)))
		return -ENOSPC;
	err = vec__reserve(t->v, t->cap, t->n + 1);
	if (err)
		return err;
	b = arena__alloc(&m->arena, sizeof(*b) + len + 1);
	if (!b)
		return -ENOMEM;
	b->len = (uint32_t)len;
	b->idx = (int32_t)t->n;
	if (len)
		memcpy(b->data, data, len);
	b->data[len] = '\0'; /* a string entry reads as a C string */
	err = htab__insert(&t->h, &b->node, hash);
	if (err)
		return err;
	t->v[t->n++] = b;
	if (t->counts_bytes)
		m->bytes += len;
	if (ret_new)
		*ret_new = true;
	*ret_idx = b->idx;
	return 0;
}

/* Interns the current key into @t. */
static int table__intern_key(struct otlp_merge *m, struct table *t, bool force,
			     int32_t *ret_idx, bool *ret_new)
{
	return table__intern(m, t, m->key, m->keylen, force, ret_idx, ret_new);
}

/* The packed bytes of a dictionary entry @msg into its table. */
static int dict__intern(struct otlp_merge *m, enum dict_table t,
			const ProtobufCMessage *msg, bool force,
			int32_t *ret_idx)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	int err;

	m->keylen = 0;
	err = key__reserve(m, len);
	if (err)
		return err;
	m->keylen = protobuf_c_message_pack(msg, m->key);
	return table__intern_key(m, &m->dict[t], force, ret_idx, NULL);
}

/* ---- checking an untrusted request -------------------------------------- */

static int check_value(const otlp_dictionary *d, const otlp_anyvalue *v,
		       unsigned int depth, size_t *nodes);

static int check_keyvalue(const otlp_dictionary *d, const pb_keyvalue *kv,
			  unsigned int depth, size_t *nodes)
{
	if (!otlp_in_range(kv->key_strindex, d->n_string_table) &&
	    kv->key_strindex)
		return -EINVAL;
	return kv->value ? check_value(d, kv->value, depth, nodes) : 0;
}

/* Attribute values nest (arrays, key-value lists): bounded in depth and
 * in elements, so that nothing below recurses or copies without end. */
static int check_value(const otlp_dictionary *d, const otlp_anyvalue *v,
		       unsigned int depth, size_t *nodes)
{
	size_t i;
	int err;

	if (depth > OTLP_MERGE_MAX_VALUE_DEPTH ||
	    ++*nodes > OTLP_MERGE_MAX_LIST)
		return -EINVAL;
	switch (v->value_case) {
	case ANY_STRINDEX:
		return otlp_in_range(v->string_value_strindex,
				     d->n_string_table) ?
			       0 :
			       -EINVAL;
	case ANY_ARRAY:
		if (!v->array_value)
			return 0;
		for (i = 0; i < v->array_value->n_values; i++) {
			err = check_value(d, v->array_value->values[i],
					  depth + 1, nodes);
			if (err)
				return err;
		}
		return 0;
	case ANY_KVLIST:
		if (!v->kvlist_value)
			return 0;
		for (i = 0; i < v->kvlist_value->n_values; i++) {
			err = check_keyvalue(d, v->kvlist_value->values[i],
					     depth + 1, nodes);
			if (err)
				return err;
		}
		return 0;
	default:
		return 0;
	}
}

static int check_keyvalues(const otlp_dictionary *d, pb_keyvalue *const *kvs,
			   size_t n)
{
	size_t i, nodes = 0;
	int err;

	if (n > OTLP_MERGE_MAX_LIST)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		err = check_keyvalue(d, kvs[i], 0, &nodes);
		if (err)
			return err;
	}
	return 0;
}

static int check_indices(const int32_t *v, size_t n, size_t table_len)
{
	size_t i;

	if (n > OTLP_MERGE_MAX_LIST)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!otlp_in_range(v[i], table_len))
			return -EINVAL;
	return 0;
}

static int check_dictionary(const otlp_dictionary *d)
{
	size_t i, j, ns = d->n_string_table, na = d->n_attribute_table;
	int err = 0;

	if (ns && d->string_table[0][0])
		return -EINVAL;
	for (i = 0; i < d->n_function_table; i++) {
		const pb_function *f = d->function_table[i];

		if (!otlp_in_range(f->name_strindex, ns) ||
		    !otlp_in_range(f->system_name_strindex, ns) ||
		    !otlp_in_range(f->filename_strindex, ns))
			return -EINVAL;
	}
	for (i = 0; i < d->n_mapping_table && !err; i++) {
		const pb_mapping *mp = d->mapping_table[i];

		if (!otlp_in_range(mp->filename_strindex, ns))
			return -EINVAL;
		err = check_indices(mp->attribute_indices,
				    mp->n_attribute_indices, na);
	}
	for (i = 0; i < d->n_location_table && !err; i++) {
		const pb_location *l = d->location_table[i];

		if (!otlp_in_range(l->mapping_index, d->n_mapping_table) ||
		    l->n_lines > OTLP_MERGE_MAX_LIST)
			return -EINVAL;
		for (j = 0; j < l->n_lines; j++)
			if (!otlp_in_range(l->lines[j]->function_index,
					   d->n_function_table))
				return -EINVAL;
		err = check_indices(l->attribute_indices,
				    l->n_attribute_indices, na);
	}
	for (i = 0; i < d->n_link_table; i++)
		if (d->link_table[i]->trace_id.len > 16 ||
		    d->link_table[i]->span_id.len > 8)
			return -EINVAL;
	for (i = 0; i < na && !err; i++) {
		const pb_kvu *a = d->attribute_table[i];
		size_t nodes = 0;

		if (!otlp_in_range(a->key_strindex, ns) ||
		    !otlp_in_range(a->unit_strindex, ns))
			return -EINVAL;
		if (a->value)
			err = check_value(d, a->value, 0, &nodes);
	}
	for (i = 0; i < d->n_stack_table; i++)
		for (j = 0; j < d->stack_table[i]->n_location_indices; j++)
			if (!otlp_in_range(
				    d->stack_table[i]->location_indices[j],
				    d->n_location_table))
				return -EINVAL;
	return err;
}

static int check_value_type(const otlp_dictionary *d, const pb_value_type *vt)
{
	if (!vt)
		return 0;
	return otlp_in_range(vt->type_strindex, d->n_string_table) &&
			       otlp_in_range(vt->unit_strindex,
					     d->n_string_table) ?
		       0 :
		       -EINVAL;
}

static int check_profile(const otlp_dictionary *d, const otlp_profile *p)
{
	size_t i;
	int err;

	if (p->profile_id.len > 16)
		return -EINVAL;
	err = check_value_type(d, p->sample_type);
	if (!err)
		err = check_value_type(d, p->period_type);
	if (!err)
		err = check_indices(p->attribute_indices,
				    p->n_attribute_indices,
				    d->n_attribute_table);
	for (i = 0; i < p->n_samples && !err; i++) {
		const otlp_sample *s = p->samples[i];

		/* link_index 0 is "no link", also with no link table. */
		if (!otlp_in_range(s->stack_index, d->n_stack_table) ||
		    (s->link_index &&
		     !otlp_in_range(s->link_index, d->n_link_table)))
			return -EINVAL;
		err = check_indices(s->attribute_indices,
				    s->n_attribute_indices,
				    d->n_attribute_table);
	}
	return err;
}

static int check_request(const otlp_request *r, const otlp_dictionary *d)
{
	size_t i, j, k;
	int err = check_dictionary(d);

	for (i = 0; i < r->n_resource_profiles && !err; i++) {
		const pb_resource_profiles *rp = r->resource_profiles[i];

		if (rp->resource)
			err = check_keyvalues(d, rp->resource->attributes,
					      rp->resource->n_attributes);
		for (j = 0; j < rp->n_scope_profiles && !err; j++) {
			const pb_scope_profiles *sp = rp->scope_profiles[j];

			if (sp->scope)
				err = check_keyvalues(d, sp->scope->attributes,
						      sp->scope->n_attributes);
			for (k = 0; k < sp->n_profiles && !err; k++)
				err = check_profile(d, sp->profiles[k]);
		}
	}
	return err;
}

/* ---- re-interning the request's dictionary ------------------------------ */

/* Whether entry @i of table @t was looked at: 1 with *@ret_idx, 0 not
 * yet, -ENOSPC when it did not fit. */
static int memo__get(const struct req *q, enum dict_table t, int32_t i,
		     int32_t *ret_idx)
{
	int32_t v = q->memo[t][i];

	if (v > 0) {
		*ret_idx = v - 1;
		return 1;
	}
	return v < 0 ? -ENOSPC : 0;
}

static int memo__put(struct req *q, enum dict_table t, int32_t i, int err,
		     int32_t idx)
{
	if (!err)
		q->memo[t][i] = idx + 1;
	else if (err == -ENOSPC)
		q->memo[t][i] = -1;
	return err;
}

static int remap__string(struct otlp_merge *m, struct req *q, int32_t i,
			 bool force, int32_t *ret_idx)
{
	const char *s;
	int err;

	*ret_idx = 0;
	if (!i)
		return 0;
	s = q->d->string_table[i];
	if (!*s)
		return 0;
	err = memo__get(q, T_STRING, i, ret_idx);
	if (err > 0 || (err && !force))
		return err > 0 ? 0 : err;
	err = table__intern(m, &m->dict[T_STRING], s, strlen(s), force, ret_idx,
			    NULL);
	return memo__put(q, T_STRING, i, err, *ret_idx);
}

static int remap__value(struct otlp_merge *m, struct req *q,
			const otlp_anyvalue *src, otlp_anyvalue **ret);

/* A copy of @src in the request's scratch arena, with the merged string
 * indices; its strings are borrowed from the request. Unknown fields are
 * left out. */
static int remap__keyvalue(struct otlp_merge *m, struct req *q,
			   const pb_keyvalue *src, pb_keyvalue **ret)
{
	pb_keyvalue *kv = arena__alloc(&q->scratch, sizeof(*kv));
	int err = 0;

	if (!kv)
		return -ENOMEM;
	PB_COMMON(key_value__init)(kv);
	kv->key = src->key;
	if (src->key_strindex)
		err = remap__string(m, q, src->key_strindex, false,
				    &kv->key_strindex);
	if (!err && src->value)
		err = remap__value(m, q, src->value, &kv->value);
	*ret = kv;
	return err;
}

static int remap__keyvalues(struct otlp_merge *m, struct req *q,
			    pb_keyvalue *const *src, size_t n,
			    pb_keyvalue ***ret)
{
	pb_keyvalue **v = NULL;
	size_t i;
	int err = 0;

	if (n) {
		v = arena__alloc(&q->scratch, n * sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (i = 0; i < n && !err; i++)
		err = remap__keyvalue(m, q, src[i], &v[i]);
	*ret = v;
	return err;
}

static int remap__value(struct otlp_merge *m, struct req *q,
			const otlp_anyvalue *src, otlp_anyvalue **ret)
{
	otlp_anyvalue *v = arena__alloc(&q->scratch, sizeof(*v));
	size_t i;
	int err = 0;

	if (!v)
		return -ENOMEM;
	PB_COMMON(any_value__init)(v);
	v->value_case = src->value_case;
	switch (src->value_case) {
	case ANY_STRINDEX:
		err = remap__string(m, q, src->string_value_strindex, false,
				    &v->string_value_strindex);
		break;
	case ANY_ARRAY: {
		pb_array *a = arena__alloc(&q->scratch, sizeof(*a));

		if (!a)
			return -ENOMEM;
		PB_COMMON(array_value__init)(a);
		v->array_value = a;
		if (!src->array_value)
			break;
		a->n_values = src->array_value->n_values;
		if (a->n_values) {
			a->values = arena__alloc(
				&q->scratch, a->n_values * sizeof(*a->values));
			if (!a->values)
				return -ENOMEM;
		}
		for (i = 0; i < a->n_values && !err; i++)
			err = remap__value(m, q, src->array_value->values[i],
					   &a->values[i]);
		break;
	}
	case ANY_KVLIST: {
		pb_kvlist *l = arena__alloc(&q->scratch, sizeof(*l));

		if (!l)
			return -ENOMEM;
		PB_COMMON(key_value_list__init)(l);
		v->kvlist_value = l;
		if (!src->kvlist_value)
			break;
		l->n_values = src->kvlist_value->n_values;
		err = remap__keyvalues(m, q, src->kvlist_value->values,
				       l->n_values, &l->values);
		break;
	}
	default:
		/* Scalars, strings and bytes: the union as it is. */
		*v = *src;
		v->base.n_unknown_fields = 0;
		v->base.unknown_fields = NULL;
		break;
	}
	*ret = v;
	return err;
}

static int remap__attribute(struct otlp_merge *m, struct req *q, int32_t i,
			    int32_t *ret_idx)
{
	const pb_kvu *src = q->d->attribute_table[i];
	pb_kvu a;
	int err;

	*ret_idx = 0;
	if (!i)
		return 0;
	err = memo__get(q, T_ATTRIBUTE, i, ret_idx);
	if (err)
		return err > 0 ? 0 : err;
	PB(key_value_and_unit__init)(&a);
	err = remap__string(m, q, src->key_strindex, false, &a.key_strindex);
	if (!err)
		err = remap__string(m, q, src->unit_strindex, false,
				    &a.unit_strindex);
	if (!err && src->value)
		err = remap__value(m, q, src->value, &a.value);
	if (!err)
		err = dict__intern(m, T_ATTRIBUTE, &a.base, false, ret_idx);
	return memo__put(q, T_ATTRIBUTE, i, err, *ret_idx);
}

/* The merged indices of @n attributes into @out (scratch); -ENOSPC when
 * one does not fit. */
static int remap__attributes(struct otlp_merge *m, struct req *q,
			     const int32_t *src, size_t n, int32_t **out)
{
	int32_t *v = NULL;
	size_t i;
	int err = 0;

	if (n) {
		v = arena__alloc(&q->scratch, n * sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (i = 0; i < n && !err; i++)
		err = remap__attribute(m, q, src[i], &v[i]);
	*out = v;
	return err;
}

static int remap__function(struct otlp_merge *m, struct req *q, int32_t i,
			   int32_t *ret_idx)
{
	const pb_function *src = q->d->function_table[i];
	pb_function f;
	int err;

	*ret_idx = 0;
	if (!i)
		return 0;
	err = memo__get(q, T_FUNCTION, i, ret_idx);
	if (err)
		return err > 0 ? 0 : err;
	PB(function__init)(&f);
	f.start_line = src->start_line;
	err = remap__string(m, q, src->name_strindex, false, &f.name_strindex);
	if (!err)
		err = remap__string(m, q, src->system_name_strindex, false,
				    &f.system_name_strindex);
	if (!err)
		err = remap__string(m, q, src->filename_strindex, false,
				    &f.filename_strindex);
	if (!err)
		err = dict__intern(m, T_FUNCTION, &f.base, false, ret_idx);
	return memo__put(q, T_FUNCTION, i, err, *ret_idx);
}

static int remap__mapping(struct otlp_merge *m, struct req *q, int32_t i,
			  int32_t *ret_idx)
{
	const pb_mapping *src = q->d->mapping_table[i];
	pb_mapping mp;
	int err;

	*ret_idx = 0;
	if (!i)
		return 0;
	err = memo__get(q, T_MAPPING, i, ret_idx);
	if (err)
		return err > 0 ? 0 : err;
	PB(mapping__init)(&mp);
	mp.memory_start = src->memory_start;
	mp.memory_limit = src->memory_limit;
	mp.file_offset = src->file_offset;
	mp.n_attribute_indices = src->n_attribute_indices;
	err = remap__string(m, q, src->filename_strindex, false,
			    &mp.filename_strindex);
	if (!err)
		err = remap__attributes(m, q, src->attribute_indices,
					src->n_attribute_indices,
					&mp.attribute_indices);
	if (!err)
		err = dict__intern(m, T_MAPPING, &mp.base, false, ret_idx);
	return memo__put(q, T_MAPPING, i, err, *ret_idx);
}

static int remap__location(struct otlp_merge *m, struct req *q, int32_t i,
			   int32_t *ret_idx)
{
	const pb_location *src = q->d->location_table[i];
	pb_line *lines = NULL, **lp = NULL;
	pb_location l;
	size_t j;
	int err;

	*ret_idx = 0;
	if (!i)
		return 0;
	err = memo__get(q, T_LOCATION, i, ret_idx);
	if (err)
		return err > 0 ? 0 : err;
	PB(location__init)(&l);
	l.address = src->address;
	if (src->n_lines) {
		lines = arena__alloc(&q->scratch,
				     src->n_lines * sizeof(*lines));
		lp = arena__alloc(&q->scratch, src->n_lines * sizeof(*lp));
		if (!lines || !lp)
			return -ENOMEM;
	}
	err = remap__mapping(m, q, src->mapping_index, &l.mapping_index);
	for (j = 0; j < src->n_lines && !err; j++) {
		PB(line__init)(&lines[j]);
		lines[j].line = src->lines[j]->line;
		lines[j].column = src->lines[j]->column;
		err = remap__function(m, q, src->lines[j]->function_index,
				      &lines[j].function_index);
		lp[j] = &lines[j];
	}
	l.n_lines = src->n_lines;
	l.lines = lp;
	l.n_attribute_indices = src->n_attribute_indices;
	if (!err)
		err = remap__attributes(m, q, src->attribute_indices,
					src->n_attribute_indices,
					&l.attribute_indices);
	if (!err)
		err = dict__intern(m, T_LOCATION, &l.base, false, ret_idx);
	return memo__put(q, T_LOCATION, i, err, *ret_idx);
}

static int remap__link(struct otlp_merge *m, struct req *q, int32_t i,
		       int32_t *ret_idx)
{
	const pb_link *src;
	pb_link l;
	int err;

	/* Index 0 is "no link", also in a request without a link table:
	 * nothing to read. */
	*ret_idx = 0;
	if (!i)
		return 0;
	src = q->d->link_table[i];
	err = memo__get(q, T_LINK, i, ret_idx);
	if (err)
		return err > 0 ? 0 : err;
	PB(link__init)(&l);
	l.trace_id = src->trace_id;
	l.span_id = src->span_id;
	err = dict__intern(m, T_LINK, &l.base, false, ret_idx);
	return memo__put(q, T_LINK, i, err, *ret_idx);
}

/* The one stack that stands for every stack that did not fit: made once,
 * past the bounds (a function, a location, a stack). */
static int overflow_stack(struct otlp_merge *m, int32_t *ret_idx)
{
	pb_function f;
	pb_location l;
	pb_line line, *lp = &line;
	pb_stack st;
	int32_t name, loc;
	int err;

	if (m->overflow_stack) {
		*ret_idx = m->overflow_stack;
		return 0;
	}
	err = table__intern(m, &m->dict[T_STRING], OTLP_MERGE_OVERFLOW_FUNCTION,
			    sizeof(OTLP_MERGE_OVERFLOW_FUNCTION) - 1, true,
			    &name, NULL);
	if (err)
		return err;
	PB(function__init)(&f);
	f.name_strindex = name;
	PB(line__init)(&line);
	err = dict__intern(m, T_FUNCTION, &f.base, true, &line.function_index);
	if (err)
		return err;
	PB(location__init)(&l);
	l.n_lines = 1;
	l.lines = &lp;
	err = dict__intern(m, T_LOCATION, &l.base, true, &loc);
	if (err)
		return err;
	PB(stack__init)(&st);
	st.n_location_indices = 1;
	st.location_indices = &loc;
	err = dict__intern(m, T_STACK, &st.base, true, &m->overflow_stack);
	if (!err)
		*ret_idx = m->overflow_stack;
	return err;
}

static int remap__stack(struct otlp_merge *m, struct req *q, int32_t i,
			int32_t *ret_idx)
{
	const pb_stack *src = q->d->stack_table[i];
	size_t j, n = src->n_location_indices;
	int32_t *locs = NULL;
	pb_stack st;
	int err;

	*ret_idx = 0;
	if (!i)
		return 0;
	err = memo__get(q, T_STACK, i, ret_idx);
	if (err)
		return err > 0 ? 0 : err;
	/* Leaf first: the root end is what is cut. */
	if (n > OTLP_MERGE_MAX_STACK_DEPTH) {
		n = OTLP_MERGE_MAX_STACK_DEPTH;
		m->stats.stacks_truncated++;
	}
	if (n) {
		locs = arena__alloc(&q->scratch, n * sizeof(*locs));
		if (!locs)
			return -ENOMEM;
	}
	for (j = 0; j < n && !err; j++)
		err = remap__location(m, q, src->location_indices[j], &locs[j]);
	PB(stack__init)(&st);
	st.n_location_indices = n;
	st.location_indices = locs;
	if (!err)
		err = dict__intern(m, T_STACK, &st.base, false, ret_idx);
	return memo__put(q, T_STACK, i, err, *ret_idx);
}

/* ---- resources, scopes, profiles ---------------------------------------- */

/* The merged resource @rp belongs to: its resource (the remapped
 * Resource, packed) and schema URL are its key. */
static int resource__get(struct otlp_merge *m, struct req *q,
			 const pb_resource_profiles *rp, uint32_t *ret)
{
	pb_resource res;
	int32_t idx;
	int err = 0;

	PB_RESOURCE(init)(&res);
	if (rp->resource) {
		res.dropped_attributes_count =
			rp->resource->dropped_attributes_count;
		res.n_attributes = rp->resource->n_attributes;
		err = remap__keyvalues(m, q, rp->resource->attributes,
				       res.n_attributes, &res.attributes);
	}
	m->keylen = 0;
	if (!err)
		err = key__msg(m, &res.base);
	if (!err)
		err = key__str(m, rp->schema_url);
	if (!err)
		err = table__intern_key(m, &m->resources, false, &idx, NULL);
	if (!err)
		*ret = (uint32_t)idx;
	return err;
}

static int scope__get(struct otlp_merge *m, struct req *q, uint32_t resource,
		      const pb_scope_profiles *sp, uint32_t *ret)
{
	pb_scope scope;
	int32_t idx;
	int err = 0;

	PB_COMMON(instrumentation_scope__init)(&scope);
	if (sp->scope) {
		scope.name = sp->scope->name;
		scope.version = sp->scope->version;
		scope.dropped_attributes_count =
			sp->scope->dropped_attributes_count;
		scope.n_attributes = sp->scope->n_attributes;
		err = remap__keyvalues(m, q, sp->scope->attributes,
				       scope.n_attributes, &scope.attributes);
	}
	m->keylen = 0;
	if (!err)
		err = key__u32(m, resource);
	if (!err)
		err = key__msg(m, &scope.base);
	if (!err)
		err = key__str(m, sp->schema_url);
	if (!err)
		err = table__intern_key(m, &m->scopes, false, &idx, NULL);
	if (!err)
		*ret = (uint32_t)idx;
	return err;
}

static int value_type__remap(struct otlp_merge *m, struct req *q,
			     const pb_value_type *src, pb_value_type *dst)
{
	int err;

	PB(value_type__init)(dst);
	if (!src)
		return 0;
	/* A handful of strings: past the bounds rather than a profile lost
	 * for want of a unit. */
	err = remap__string(m, q, src->type_strindex, true,
			    &dst->type_strindex);
	return err ? err :
		     remap__string(m, q, src->unit_strindex, true,
				   &dst->unit_strindex);
}

/* A new profile's own state, once its key is interned. */
static int mprof__new(struct otlp_merge *m, uint32_t idx,
		      const struct mprof *tmpl, const int32_t *attrs,
		      const char *format)
{
	struct mprof *p;
	size_t flen = format ? strlen(format) : 0;
	int err;

	err = vec__reserve(m->profs, m->capprofs, idx + 1);
	if (err)
		return err;
	p = arena__alloc(&m->arena, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = *tmpl;
	p->attrs = NULL;
	p->payload_format = NULL;
	if (p->nattrs) {
		p->attrs = arena__alloc(&m->arena, p->nattrs * sizeof(*attrs));
		if (!p->attrs)
			return -ENOMEM;
		memcpy(p->attrs, attrs, p->nattrs * sizeof(*attrs));
	}
	if (flen) {
		p->payload_format = arena__strndup(&m->arena, format, flen);
		if (!p->payload_format)
			return -ENOMEM;
	}
	m->profs[idx] = p;
	return 0;
}

/* Widens @p's time span to hold @src's, and keeps the first profile id. */
static void mprof__update(struct mprof *p, const otlp_profile *src)
{
	uint64_t end = src->time_unix_nano + src->duration_nano;

	if (src->time_unix_nano) {
		if (!p->start_ns || src->time_unix_nano < p->start_ns)
			p->start_ns = src->time_unix_nano;
		if (end < src->time_unix_nano)
			end = UINT64_MAX;
		if (end > p->end_ns)
			p->end_ns = end;
	}
	if (!p->id_len && src->profile_id.len) {
		p->id_len = (uint32_t)src->profile_id.len;
		memcpy(p->id, src->profile_id.data, p->id_len);
	}
	p->dropped_attributes =
		p->dropped_attributes >
				UINT32_MAX - src->dropped_attributes_count ?
			UINT32_MAX :
			p->dropped_attributes + src->dropped_attributes_count;
}

static int profile__get(struct otlp_merge *m, struct req *q, uint32_t scope,
			const otlp_profile *src, uint32_t *ret)
{
	struct mprof t = { .scope = scope, .period = src->period };
	int32_t attrs[OTLP_MERGE_MAX_LIST], idx;
	size_t i;
	bool is_new;
	int err;

	t.has_sample_type = src->sample_type;
	t.has_period_type = src->period_type;
	err = value_type__remap(m, q, src->sample_type, &t.sample_type);
	if (!err)
		err = value_type__remap(m, q, src->period_type, &t.period_type);
	for (i = 0; i < src->n_attribute_indices && !err; i++) {
		err = remap__attribute(m, q, src->attribute_indices[i],
				       &attrs[t.nattrs]);
		if (err == -ENOSPC) {
			m->stats.references_dropped++;
			err = 0;
		} else if (!err) {
			t.nattrs++;
		}
	}
	m->keylen = 0;
	if (!err)
		err = key__u32(m, scope);
	if (!err)
		err = key__put(m, &t.has_sample_type, 1);
	if (!err)
		err = key__put(m, &t.sample_type.type_strindex, 4);
	if (!err)
		err = key__put(m, &t.sample_type.unit_strindex, 4);
	if (!err)
		err = key__put(m, &t.has_period_type, 1);
	if (!err)
		err = key__put(m, &t.period_type.type_strindex, 4);
	if (!err)
		err = key__put(m, &t.period_type.unit_strindex, 4);
	if (!err)
		err = key__put(m, &t.period, sizeof(t.period));
	if (!err)
		err = key__u32(m, t.nattrs);
	if (!err)
		err = key__put(m, attrs, t.nattrs * sizeof(*attrs));
	if (!err)
		err = key__str(m, src->original_payload_format);
	if (!err)
		err = table__intern_key(m, &m->profiles, false, &idx, &is_new);
	if (!err && is_new)
		err = mprof__new(m, (uint32_t)idx, &t, attrs,
				 src->original_payload_format);
	if (err)
		return err;
	if (src->original_payload.len)
		m->stats.payloads_dropped++;
	mprof__update(m->profs[idx], src);
	*ret = (uint32_t)idx;
	return 0;
}

/* ---- samples ------------------------------------------------------------ */

struct sample_key {
	uint32_t profile;
	int32_t stack, link;
	uint32_t nattrs;
	const int32_t *attrs;
	bool overflow; /* the stack did not fit: the overflow stack */
};

static uint64_t sample_key__hash(const struct sample_key *k)
{
	uint64_t h =
		mix(mix(mix(k->profile, (uint32_t)k->stack), (uint32_t)k->link),
		    k->nattrs);

	return hash_u64(
		mix(h, hash_bytes(k->attrs, k->nattrs * sizeof(*k->attrs), 0)));
}

/* A new Sample; it joins sample_h when it has no values (@hash). */
static int msample__new(struct otlp_merge *m, const struct sample_key *k,
			const otlp_sample *src, uint64_t hash,
			struct msample **ret)
{
	struct msample *s;
	int err;

	if (m->nsamples >= m->o.max_samples)
		return -ENOSPC;
	err = vec__reserve(m->samples, m->capsamples, m->nsamples + 1);
	if (err)
		return err;
	s = arena__zalloc(&m->arena, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->profile = k->profile;
	s->stack = k->stack;
	s->link = k->link;
	s->nattrs = k->nattrs;
	if (k->nattrs) {
		s->attrs =
			arena__alloc(&m->arena, k->nattrs * sizeof(*k->attrs));
		if (!s->attrs)
			return -ENOMEM;
		memcpy(s->attrs, k->attrs, k->nattrs * sizeof(*k->attrs));
	}
	if (src->n_values) {
		s->nvalues = (uint32_t)src->n_values;
		s->values = arena__alloc(&m->arena,
					 src->n_values * sizeof(*s->values));
		if (!s->values)
			return -ENOMEM;
		memcpy(s->values, src->values,
		       src->n_values * sizeof(*s->values));
	} else {
		err = htab__insert(&m->sample_h, &s->node, hash);
		if (err)
			return err;
	}
	s->idx = m->nsamples;
	m->samples[m->nsamples++] = s;
	*ret = s;
	return 0;
}

static struct msample *msample__find(struct otlp_merge *m,
				     const struct sample_key *k, uint64_t hash)
{
	struct htab_node *pos;
	struct msample *s;

	htab_for_each(&m->sample_h, pos, hash) {
		s = container_of(pos, struct msample, node);
		if (s->profile == k->profile && s->stack == k->stack &&
		    s->link == k->link && s->nattrs == k->nattrs &&
		    (!k->nattrs || !memcmp(s->attrs, k->attrs,
					   k->nattrs * sizeof(*k->attrs))))
			return s;
	}
	return NULL;
}

static int events__add(struct otlp_merge *m, struct msample *s,
		       const uint64_t *ts, uint32_t n)
{
	uint32_t i;
	int err;

	/* A Sample with values and no timestamps (off-CPU): nothing to
	 * reserve, and reserving nothing in empty vectors is no room. */
	if (!n)
		return 0;
	err = vec__reserve(m->ev_ts, m->capev_ts, m->nev + n);
	if (!err)
		err = vec__reserve(m->ev_sample, m->capev_sample, m->nev + n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		m->ev_ts[m->nev + i] = ts[i];
		m->ev_sample[m->nev + i] = s->idx;
	}
	m->nev += n;
	s->nevents += n;
	return 0;
}

/* The stack, attributes and link of @src in the merged dictionary; what
 * does not fit is counted: the overflow stack, references left out. */
static int sample__key(struct otlp_merge *m, struct req *q, uint32_t profile,
		       const otlp_sample *src, int32_t *attrs,
		       struct sample_key *k)
{
	size_t i;
	int err;

	k->profile = profile;
	k->nattrs = 0;
	k->attrs = attrs;
	k->overflow = false;
	err = remap__stack(m, q, src->stack_index, &k->stack);
	if (err == -ENOSPC) {
		k->overflow = true;
		err = overflow_stack(m, &k->stack);
	}
	if (err)
		return err;
	for (i = 0; i < src->n_attribute_indices; i++) {
		err = remap__attribute(m, q, src->attribute_indices[i],
				       &attrs[k->nattrs]);
		if (err == -ENOSPC)
			m->stats.references_dropped++;
		else if (err)
			return err;
		else
			k->nattrs++;
	}
	err = remap__link(m, q, src->link_index, &k->link);
	if (err == -ENOSPC) {
		m->stats.references_dropped++;
		k->link = 0;
		err = 0;
	}
	return err;
}

static int sample__add(struct otlp_merge *m, struct req *q, uint32_t profile,
		       const otlp_sample *src)
{
	uint32_t room = m->o.max_events - m->nslots, n, keep;
	uint64_t count = otlp_sample_count(src), hash;
	int32_t attrs[OTLP_MERGE_MAX_LIST];
	struct sample_key k;
	struct msample *s;
	int err;

	m->stats.samples = sat_add(m->stats.samples, count);
	if (q->nomem) {
		m->stats.dropped_nomem = sat_add(m->stats.dropped_nomem, count);
		return 0;
	}
	n = (uint32_t)src->n_timestamps_unix_nano;
	/* A Sample with values is kept whole or not at all. */
	if (src->n_values && src->n_values + (uint64_t)n > room) {
		m->stats.dropped_events =
			sat_add(m->stats.dropped_events, count);
		return 0;
	}
	if (!src->n_values && n && !room) {
		m->stats.dropped_events =
			sat_add(m->stats.dropped_events, count);
		return 0;
	}
	err = sample__key(m, q, profile, src, attrs, &k);
	if (err)
		goto err;
	hash = sample_key__hash(&k);
	s = src->n_values ? NULL : msample__find(m, &k, hash);
	if (!s) {
		err = msample__new(m, &k, src, hash, &s);
		if (err == -ENOSPC) {
			m->stats.dropped_samples =
				sat_add(m->stats.dropped_samples, count);
			return 0;
		}
		if (err)
			goto err;
		m->nslots += s->nvalues;
	}
	/* A Sample with values had room for all of its timestamps. */
	keep = n < room - s->nvalues ? n : room - s->nvalues;
	err = events__add(m, s, src->timestamps_unix_nano, keep);
	if (err)
		goto err;
	m->nslots += keep;
	if (keep < n)
		m->stats.dropped_events =
			sat_add(m->stats.dropped_events, n - keep);
	if (k.overflow)
		m->stats.samples_overflow =
			sat_add(m->stats.samples_overflow,
				src->n_values ? count : keep);
	return 0;

err:
	if (err == -ENOMEM) {
		m->stats.dropped_nomem = sat_add(m->stats.dropped_nomem, count);
		q->nomem = true;
	}
	return err;
}

/* Every sample of @p's are lost for the same reason. */
static void samples__drop(struct otlp_merge *m, const otlp_profile *p,
			  uint64_t *counter)
{
	size_t i;

	for (i = 0; i < p->n_samples; i++) {
		uint64_t count = otlp_sample_count(p->samples[i]);

		m->stats.samples = sat_add(m->stats.samples, count);
		*counter = sat_add(*counter, count);
	}
}

static void scope__drop(struct otlp_merge *m, const pb_scope_profiles *sp,
			uint64_t *counter)
{
	size_t k;

	for (k = 0; k < sp->n_profiles; k++)
		samples__drop(m, sp->profiles[k], counter);
}

static uint64_t *drop_counter(struct otlp_merge *m, struct req *q, int err)
{
	if (err == -ENOMEM || q->nomem) {
		q->nomem = true;
		return &m->stats.dropped_nomem;
	}
	return &m->stats.dropped_resources;
}

static int profile__add(struct otlp_merge *m, struct req *q, uint32_t scope,
			const otlp_profile *p)
{
	uint32_t idx;
	size_t i;
	int err = 0;

	if (!q->nomem)
		err = profile__get(m, q, scope, p, &idx);
	if (err || q->nomem) {
		samples__drop(m, p, drop_counter(m, q, err));
		return err == -ENOSPC ? 0 : err;
	}
	for (i = 0; i < p->n_samples; i++) {
		int e = sample__add(m, q, idx, p->samples[i]);

		if (e && !err)
			err = e;
	}
	return err;
}

static int resource__add(struct otlp_merge *m, struct req *q,
			 const pb_resource_profiles *rp)
{
	uint32_t res = 0, scope;
	size_t j, k;
	int err = 0, e;

	if (!q->nomem)
		err = resource__get(m, q, rp, &res);
	for (j = 0; j < rp->n_scope_profiles; j++) {
		const pb_scope_profiles *sp = rp->scope_profiles[j];

		e = err || q->nomem ? err : scope__get(m, q, res, sp, &scope);
		if (e || q->nomem) {
			scope__drop(m, sp, drop_counter(m, q, e));
			if (e == -ENOMEM)
				err = e;
			continue;
		}
		for (k = 0; k < sp->n_profiles; k++) {
			e = profile__add(m, q, scope, sp->profiles[k]);
			if (e && !err)
				err = e;
		}
	}
	return err == -ENOSPC ? 0 : err;
}

static void req__release(struct req *q)
{
	size_t t;

	for (t = 0; t < T_NDICT; t++)
		free(q->memo[t]);
	arena__free(&q->scratch);
}

static int req__init(struct req *q, const otlp_request *r,
		     const otlp_dictionary *d)
{
	const size_t n[T_NDICT] = {
		[T_MAPPING] = d->n_mapping_table,
		[T_LOCATION] = d->n_location_table,
		[T_FUNCTION] = d->n_function_table,
		[T_LINK] = d->n_link_table,
		[T_STRING] = d->n_string_table,
		[T_ATTRIBUTE] = d->n_attribute_table,
		[T_STACK] = d->n_stack_table,
	};
	size_t t;

	memset(q, 0, sizeof(*q));
	q->r = r;
	q->d = d;
	for (t = 1; t < T_NDICT; t++) {
		q->memo[t] = calloc(n[t] ? n[t] : 1, sizeof(int32_t));
		if (!q->memo[t])
			return -ENOMEM;
	}
	return 0;
}

int otlp_merge__add(struct otlp_merge *m, const void *req, size_t len)
{
	static const otlp_dictionary empty =
		OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT;
	otlp_request *r;
	struct req q;
	size_t i;
	int err, e;

	if (!m || (!req && len))
		return -EINVAL;
	r = OTLP_REQUEST(unpack)(NULL, len, req ? req : (const void *)"");
	if (!r) {
		m->stats.requests_rejected++;
		return -EBADMSG;
	}
	err = check_request(r, r->dictionary ? r->dictionary : &empty);
	if (err) {
		m->stats.requests_rejected++;
		goto out_request;
	}
	err = req__init(&q, r, r->dictionary ? r->dictionary : &empty);
	if (!err) {
		for (i = 0; i < r->n_resource_profiles; i++) {
			e = resource__add(m, &q, r->resource_profiles[i]);
			if (e && !err)
				err = e;
		}
		m->stats.requests++;
	}
	req__release(&q);
out_request:
	OTLP_REQUEST(free_unpacked)(r, NULL);
	return err;
}

/* ---- the merged request ------------------------------------------------- */

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* The ProfilesDictionary message's own bytes: every table's entries as
 * length-delimited fields, in field order. */
static size_t dict__size(const struct otlp_merge *m)
{
	size_t t, i, n = 0;

	for (t = 1; t < T_NDICT; t++)
		for (i = 0; i < m->dict[t].n; i++)
			n += 1 + varint_len(m->dict[t].v[i]->len) +
			     m->dict[t].v[i]->len;
	return n;
}

static uint8_t *dict__write(const struct otlp_merge *m, uint8_t *p)
{
	size_t t, i;

	for (t = 1; t < T_NDICT; t++)
		for (i = 0; i < m->dict[t].n; i++) {
			const struct blob *b = m->dict[t].v[i];

			*p++ = (uint8_t)(t << 3 | 2); /* length-delimited */
			p = put_varint(p, b->len);
			memcpy(p, b->data, b->len);
			p += b->len;
		}
	return p;
}

/* The messages of one encoding: in an arena, with what protobuf-c
 * unpacked (resources, scopes) to free after. */
struct enc {
	struct otlp_merge *m;
	struct arena a;
	ProtobufCMessage **unpacked;
	size_t nunpacked;
	uint32_t *scope_of_res, *res_off; /* scopes grouped by resource */
	uint32_t *prof_of_scope, *scope_off; /* profiles by scope */
	uint32_t *sample_of_prof, *prof_off; /* samples by profile */
	uint64_t *ts; /* timestamps grouped by sample */
	uint32_t *ts_off;
};

#define ENC_ARRAY(e, ptr, n)           \
	((ptr) = arena__alloc(&(e)->a, \
			      ((n) ? (size_t)(n) : 1) * sizeof(*(ptr))))

/* Counting sort: @n items, item i's group @group_of(i) among @ngroups;
 * *ret_items lists items by group, *ret_off[g] where group g starts. */
static int enc__group(struct enc *e, uint32_t n, uint32_t ngroups,
		      uint32_t (*group_of)(const struct otlp_merge *m,
					   uint32_t i),
		      uint32_t **ret_items, uint32_t **ret_off)
{
	uint32_t *items, *off, *fill, i, sum = 0;

	if (!ENC_ARRAY(e, items, n) || !ENC_ARRAY(e, off, ngroups + 1) ||
	    !ENC_ARRAY(e, fill, ngroups + 1))
		return -ENOMEM;
	memset(off, 0, (ngroups + 1) * sizeof(*off));
	for (i = 0; i < n; i++)
		off[group_of(e->m, i)]++;
	for (i = 0; i <= ngroups; i++) {
		uint32_t c = off[i];

		off[i] = sum;
		fill[i] = sum;
		sum += c;
	}
	for (i = 0; i < n; i++)
		items[fill[group_of(e->m, i)]++] = i;
	*ret_items = items;
	*ret_off = off;
	return 0;
}

static uint32_t scope_resource(const struct otlp_merge *m, uint32_t i)
{
	uint32_t res;

	memcpy(&res, m->scopes.v[i]->data, sizeof(res));
	return res;
}

static uint32_t profile_scope(const struct otlp_merge *m, uint32_t i)
{
	return m->profs[i]->scope;
}

static uint32_t sample_profile(const struct otlp_merge *m, uint32_t i)
{
	return m->samples[i]->profile;
}

/* Timestamps grouped by sample, in the order they came. */
static int enc__events(struct enc *e)
{
	struct otlp_merge *m = e->m;
	uint32_t i, *fill, sum = 0;

	if (!ENC_ARRAY(e, e->ts, m->nev) ||
	    !ENC_ARRAY(e, e->ts_off, m->nsamples) ||
	    !ENC_ARRAY(e, fill, m->nsamples))
		return -ENOMEM;
	for (i = 0; i < m->nsamples; i++) {
		e->ts_off[i] = sum;
		fill[i] = sum;
		sum += m->samples[i]->nevents;
	}
	for (i = 0; i < m->nev; i++)
		e->ts[fill[m->ev_sample[i]]++] = m->ev_ts[i];
	return 0;
}

/* A length-prefixed part of a key at *@p, moved past. */
static void key__next(const uint8_t **p, const uint8_t **ret, uint32_t *len)
{
	memcpy(len, *p, sizeof(*len));
	*ret = *p + sizeof(*len);
	*p = *ret + *len;
}

static void *enc__unpack(struct enc *e, const ProtobufCMessageDescriptor *d,
			 const uint8_t *data, uint32_t len)
{
	ProtobufCMessage *msg = protobuf_c_message_unpack(d, NULL, len, data);

	if (msg)
		e->unpacked[e->nunpacked++] = msg;
	return msg;
}

static int enc__sample(struct enc *e, uint32_t i, otlp_sample **ret)
{
	const struct msample *s = e->m->samples[i];
	otlp_sample *o = arena__alloc(&e->a, sizeof(*o));

	if (!o)
		return -ENOMEM;
	PB(sample__init)(o);
	o->stack_index = s->stack;
	o->link_index = s->link;
	o->n_attribute_indices = s->nattrs;
	o->attribute_indices = s->attrs;
	o->n_values = s->nvalues;
	o->values = s->values;
	o->n_timestamps_unix_nano = s->nevents;
	o->timestamps_unix_nano = &e->ts[e->ts_off[i]];
	*ret = o;
	return 0;
}

static int enc__profile(struct enc *e, uint32_t i, otlp_profile **ret)
{
	const struct mprof *p = e->m->profs[i];
	otlp_profile *o = arena__alloc(&e->a, sizeof(*o));
	uint32_t j, n = e->prof_off[i + 1] - e->prof_off[i];
	int err;

	if (!o)
		return -ENOMEM;
	PB(profile__init)(o);
	if (p->has_sample_type)
		o->sample_type = (pb_value_type *)&p->sample_type;
	if (p->has_period_type)
		o->period_type = (pb_value_type *)&p->period_type;
	o->period = p->period;
	o->time_unix_nano = p->start_ns;
	o->duration_nano = p->end_ns - p->start_ns;
	o->profile_id.len = p->id_len;
	o->profile_id.data = (uint8_t *)p->id;
	o->dropped_attributes_count = p->dropped_attributes;
	o->original_payload_format =
		(char *)(p->payload_format ? p->payload_format : "");
	o->n_attribute_indices = p->nattrs;
	o->attribute_indices = p->attrs;
	o->n_samples = n;
	if (!ENC_ARRAY(e, o->samples, n))
		return -ENOMEM;
	for (j = 0; j < n; j++) {
		err = enc__sample(e, e->sample_of_prof[e->prof_off[i] + j],
				  &o->samples[j]);
		if (err)
			return err;
	}
	*ret = o;
	return 0;
}

static int enc__scope(struct enc *e, uint32_t i, pb_scope_profiles **ret)
{
	const struct blob *b = e->m->scopes.v[i];
	const uint8_t *p = b->data + sizeof(uint32_t), *part;
	uint32_t j, len, n = e->scope_off[i + 1] - e->scope_off[i];
	pb_scope_profiles *o = arena__alloc(&e->a, sizeof(*o));
	int err;

	if (!o)
		return -ENOMEM;
	PB(scope_profiles__init)(o);
	key__next(&p, &part, &len);
	o->scope = enc__unpack(
		e,
		&opentelemetry__proto__common__v1__instrumentation_scope__descriptor,
		part, len);
	key__next(&p, &part, &len);
	o->schema_url = arena__strndup(&e->a, (const char *)part, len);
	if (!o->scope || !o->schema_url)
		return -ENOMEM;
	o->n_profiles = n;
	if (!ENC_ARRAY(e, o->profiles, n))
		return -ENOMEM;
	for (j = 0; j < n; j++) {
		err = enc__profile(e, e->prof_of_scope[e->scope_off[i] + j],
				   &o->profiles[j]);
		if (err)
			return err;
	}
	*ret = o;
	return 0;
}

static int enc__resource(struct enc *e, uint32_t i, pb_resource_profiles **ret)
{
	const struct blob *b = e->m->resources.v[i];
	const uint8_t *p = b->data, *part;
	uint32_t j, len, n = e->res_off[i + 1] - e->res_off[i];
	pb_resource_profiles *o = arena__alloc(&e->a, sizeof(*o));
	int err;

	if (!o)
		return -ENOMEM;
	PB(resource_profiles__init)(o);
	key__next(&p, &part, &len);
	o->resource = enc__unpack(
		e, &opentelemetry__proto__resource__v1__resource__descriptor,
		part, len);
	key__next(&p, &part, &len);
	o->schema_url = arena__strndup(&e->a, (const char *)part, len);
	if (!o->resource || !o->schema_url)
		return -ENOMEM;
	o->n_scope_profiles = n;
	if (!ENC_ARRAY(e, o->scope_profiles, n))
		return -ENOMEM;
	for (j = 0; j < n; j++) {
		err = enc__scope(e, e->scope_of_res[e->res_off[i] + j],
				 &o->scope_profiles[j]);
		if (err)
			return err;
	}
	*ret = o;
	return 0;
}

/* The request without its dictionary: the resources and everything in
 * them, through protobuf-c. */
static int enc__resources(struct enc *e, otlp_request *req)
{
	struct otlp_merge *m = e->m;
	uint32_t i, nres = m->resources.n;
	int err;

	e->unpacked =
		calloc((size_t)nres + m->scopes.n + 1, sizeof(*e->unpacked));
	if (!e->unpacked)
		return -ENOMEM;
	err = enc__group(e, m->scopes.n, nres, scope_resource, &e->scope_of_res,
			 &e->res_off);
	if (!err)
		err = enc__group(e, m->profiles.n, m->scopes.n, profile_scope,
				 &e->prof_of_scope, &e->scope_off);
	if (!err)
		err = enc__group(e, m->nsamples, m->profiles.n, sample_profile,
				 &e->sample_of_prof, &e->prof_off);
	if (!err)
		err = enc__events(e);
	if (err)
		return err;
	req->n_resource_profiles = nres;
	if (!ENC_ARRAY(e, req->resource_profiles, nres))
		return -ENOMEM;
	for (i = 0; i < nres; i++) {
		err = enc__resource(e, i, &req->resource_profiles[i]);
		if (err)
			return err;
	}
	return 0;
}

int otlp_merge__encode(struct otlp_merge *m, void **ret_buf, size_t *ret_len)
{
	struct enc e = { .m = m };
	otlp_request req;
	size_t head, dlen, len, i;
	uint8_t *buf = NULL, *p;
	int err;

	if (!m || !ret_buf || !ret_len)
		return -EINVAL;
	OTLP_REQUEST(init)(&req);
	if (!m->resources.n) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
		*ret_buf = buf;
		*ret_len = 0;
		return 0;
	}
	err = enc__resources(&e, &req);
	if (err)
		goto out;
	head = OTLP_REQUEST(get_packed_size)(&req);
	dlen = dict__size(m);
	len = head + 1 + varint_len(dlen) + dlen;
	buf = malloc(len);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	p = buf + OTLP_REQUEST(pack)(&req, buf);
	/* The dictionary is field 2 of the request, after the resources. */
	*p++ = 2 << 3 | 2;
	p = put_varint(p, dlen);
	p = dict__write(m, p);
	*ret_buf = buf;
	*ret_len = (size_t)(p - buf);
out:
	for (i = 0; i < e.nunpacked; i++)
		protobuf_c_message_free_unpacked(e.unpacked[i], NULL);
	free(e.unpacked);
	arena__free(&e.a);
	return err;
}

/* ---- lifecycle ---------------------------------------------------------- */

void otlp_merge__stats(const struct otlp_merge *m, struct otlp_merge_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!m)
		return;
	*ret = m->stats;
	ret->resources = m->resources.n;
	ret->profiles = m->profiles.n;
	ret->stacks = m->dict[T_STACK].n - 1;
	ret->locations = m->dict[T_LOCATION].n - 1;
	ret->functions = m->dict[T_FUNCTION].n - 1;
	ret->mappings = m->dict[T_MAPPING].n - 1;
	ret->links = m->dict[T_LINK].n - 1;
	ret->attributes = m->dict[T_ATTRIBUTE].n - 1;
	ret->strings = m->dict[T_STRING].n - 1;
	ret->sample_records = m->nsamples;
	ret->events = m->nslots;
}

/* Every dictionary table starts with its zero entry: an empty message (an
 * empty string), but for the link table, whose zero entry has all-zero
 * ids of their full lengths, as the profile builder writes it. */
static int dict__init(struct otlp_merge *m)
{
	static const uint8_t zero_trace[16], zero_span[8];
	uint32_t max[T_NDICT] = { 0 };
	pb_link link;
	size_t t;
	int32_t idx;
	int err;

	for (t = 1; t < T_NDICT; t++)
		max[t] = m->o.max_entries;
	max[T_STACK] = m->o.max_stacks;
	max[T_STRING] = INT32_MAX;
	for (t = 1; t < T_NDICT; t++) {
		table__init(&m->dict[t], 1, max[t],
			    t == T_STRING || t == T_ATTRIBUTE);
		if (t == T_LINK)
			continue;
		err = table__intern(m, &m->dict[t], "", 0, true, &idx, NULL);
		if (err)
			return err;
	}
	PB(link__init)(&link);
	link.trace_id.len = sizeof(zero_trace);
	link.trace_id.data = (uint8_t *)zero_trace;
	link.span_id.len = sizeof(zero_span);
	link.span_id.data = (uint8_t *)zero_span;
	return dict__intern(m, T_LINK, &link.base, true, &idx);
}

struct otlp_merge *otlp_merge__new(const struct otlp_merge_opts *opts)
{
	struct otlp_merge *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return NULL;
	err = opts__copy(&m->o, sizeof(m->o), opts);
	if (err)
		goto err_free;
	if (!m->o.max_resources)
		m->o.max_resources = DEFAULT_MAX_RESOURCES;
	if (!m->o.max_stacks)
		m->o.max_stacks = DEFAULT_MAX_STACKS;
	if (!m->o.max_entries)
		m->o.max_entries = DEFAULT_MAX_ENTRIES;
	if (!m->o.max_samples)
		m->o.max_samples = DEFAULT_MAX_SAMPLES;
	if (!m->o.max_events)
		m->o.max_events = DEFAULT_MAX_EVENTS;
	if (!m->o.max_string_bytes)
		m->o.max_string_bytes = DEFAULT_MAX_STRING_BYTES;
	table__init(&m->resources, 0, m->o.max_resources, true);
	table__init(&m->scopes, 0, m->o.max_resources, true);
	table__init(&m->profiles, 0, m->o.max_resources, true);
	err = dict__init(m);
	if (err)
		goto err_free;
	return m;

err_free:
	otlp_merge__free(m);
	errno = -err;
	return NULL;
}

void otlp_merge__free(struct otlp_merge *m)
{
	size_t t;

	if (!m)
		return;
	for (t = 1; t < T_NDICT; t++)
		table__free(&m->dict[t]);
	table__free(&m->resources);
	table__free(&m->scopes);
	table__free(&m->profiles);
	htab__free(&m->sample_h);
	arena__free(&m->arena);
	free(m->profs);
	free(m->samples);
	free(m->ev_ts);
	free(m->ev_sample);
	free(m->key);
	free(m);
}

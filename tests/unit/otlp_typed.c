// SPDX-License-Identifier: Apache-2.0
/* Hand-made OTLP requests with typed frames (otlp_typed.h): samples of
 * frames in, a packed ExportProfilesServiceRequest out. Every table is a
 * fixed array; a test that needs more fails. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "otlp_typed.h"
#include "proto/otlp.h"

#define MAX_ENTRIES 256
#define ANY_STRING \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_STRINDEX \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX
#define ANY_INT OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE

struct typed_req {
	char *strings[MAX_ENTRIES];
	size_t nstrings;
	pb_mapping mappings[MAX_ENTRIES], *mapping_ptrs[MAX_ENTRIES];
	size_t nmappings;
	pb_function functions[MAX_ENTRIES], *function_ptrs[MAX_ENTRIES];
	size_t nfunctions;
	pb_line lines[MAX_ENTRIES], *line_ptrs[MAX_ENTRIES];
	pb_location locations[MAX_ENTRIES], *location_ptrs[MAX_ENTRIES];
	size_t nlocations;
	pb_kvu attrs[MAX_ENTRIES], *attr_ptrs[MAX_ENTRIES];
	pb_anyvalue attr_values[MAX_ENTRIES];
	int32_t attr_of_loc[MAX_ENTRIES];
	size_t nattrs;
	pb_stack stacks[MAX_ENTRIES], *stack_ptrs[MAX_ENTRIES];
	int32_t stack_locs[MAX_ENTRIES];
	size_t nstacks, nstack_locs;
	uint64_t timestamps[MAX_ENTRIES];
	size_t ntimestamps;
	pb_sample samples[MAX_ENTRIES], *sample_ptrs[MAX_ENTRIES];
	pb_profile profiles[MAX_ENTRIES], *profile_ptrs[MAX_ENTRIES];
	pb_scope_profiles scopes[MAX_ENTRIES], *scope_ptrs[MAX_ENTRIES];
	pb_resource_profiles rps[MAX_ENTRIES], *rp_ptrs[MAX_ENTRIES];
	pb_resource resources[MAX_ENTRIES];
	pb_keyvalue kvs[2 * MAX_ENTRIES], *kv_ptrs[2 * MAX_ENTRIES];
	pb_anyvalue kv_values[2 * MAX_ENTRIES];
	pb_value_type sample_type, period_type;
	pb_dictionary dict;
	pb_request req;
};

static int32_t str(struct typed_req *r, const char *s)
{
	size_t i;

	for (i = 0; i < r->nstrings; i++)
		if (!strcmp(r->strings[i], s))
			return (int32_t)i;
	cr_assert_lt(r->nstrings, MAX_ENTRIES);
	r->strings[r->nstrings] = (char *)s;
	return (int32_t)r->nstrings++;
}

static int32_t mapping(struct typed_req *r, const char *file)
{
	int32_t name = str(r, file);
	size_t i;

	for (i = 1; i < r->nmappings; i++)
		if (r->mappings[i].filename_strindex == name)
			return (int32_t)i;
	cr_assert_lt(r->nmappings, MAX_ENTRIES);
	PB(mapping__init)(&r->mappings[i]);
	r->mappings[i].filename_strindex = name;
	r->mapping_ptrs[i] = &r->mappings[i];
	return (int32_t)r->nmappings++;
}

static int32_t type_attr(struct typed_req *r, const char *type, bool strindex)
{
	pb_anyvalue *v;
	size_t i;

	for (i = 1; i < r->nattrs; i++) {
		v = &r->attr_values[i];
		if (strindex ?
			    v->value_case == ANY_STRINDEX &&
				    !strcmp(r->strings[v->string_value_strindex],
					    type) :
			    v->value_case == ANY_STRING &&
				    !strcmp(v->string_value, type))
			return (int32_t)i;
	}
	cr_assert_lt(r->nattrs, MAX_ENTRIES);
	PB(key_value_and_unit__init)(&r->attrs[i]);
	PB_COMMON(any_value__init)(&r->attr_values[i]);
	r->attrs[i].key_strindex = str(r, "profile.frame.type");
	r->attrs[i].value = &r->attr_values[i];
	if (strindex) {
		r->attr_values[i].value_case = ANY_STRINDEX;
		r->attr_values[i].string_value_strindex = str(r, type);
	} else {
		r->attr_values[i].value_case = ANY_STRING;
		r->attr_values[i].string_value = (char *)type;
	}
	r->attr_ptrs[i] = &r->attrs[i];
	return (int32_t)r->nattrs++;
}

static int32_t location(struct typed_req *r, const struct typed_frame *f)
{
	size_t i = r->nlocations;
	pb_location *l = &r->locations[i];

	cr_assert_lt(i, MAX_ENTRIES);
	cr_assert_lt(r->nfunctions, MAX_ENTRIES);
	PB(location__init)(l);
	l->address = f->address;
	if (f->mapping)
		l->mapping_index = mapping(r, f->mapping);
	if (f->name) {
		pb_function *fn = &r->functions[r->nfunctions];
		pb_line *ln = &r->lines[i];

		PB(function__init)(fn);
		fn->name_strindex = str(r, f->name);
		fn->system_name_strindex = fn->name_strindex;
		if (f->file)
			fn->filename_strindex = str(r, f->file);
		r->function_ptrs[r->nfunctions] = fn;
		PB(line__init)(ln);
		ln->function_index = (int32_t)r->nfunctions++;
		ln->line = f->line;
		r->line_ptrs[i] = ln;
		l->n_lines = 1;
		l->lines = &r->line_ptrs[i];
	}
	if (f->type) {
		r->attr_of_loc[i] = type_attr(r, f->type, f->strindex);
		l->n_attribute_indices = 1;
		l->attribute_indices = &r->attr_of_loc[i];
	}
	r->location_ptrs[i] = l;
	return (int32_t)r->nlocations++;
}

static void resource(struct typed_req *r, size_t i, const char *comm)
{
	pb_resource *res = &r->resources[i];
	pb_keyvalue *kv = &r->kvs[2 * i];
	pb_anyvalue *v = &r->kv_values[2 * i];

	PB_COMMON(key_value__init)(&kv[0]);
	PB_COMMON(key_value__init)(&kv[1]);
	PB_COMMON(any_value__init)(&v[0]);
	PB_COMMON(any_value__init)(&v[1]);
	kv[0].key = "process.executable.name";
	v[0].value_case = ANY_STRING;
	v[0].string_value = (char *)comm;
	kv[0].value = &v[0];
	kv[1].key = "process.pid";
	v[1].value_case = ANY_INT;
	v[1].int_value = 100 + (int64_t)i;
	kv[1].value = &v[1];
	r->kv_ptrs[2 * i] = &kv[0];
	r->kv_ptrs[2 * i + 1] = &kv[1];
	opentelemetry__proto__resource__v1__resource__init(res);
	res->n_attributes = 2;
	res->attributes = &r->kv_ptrs[2 * i];
}

void *typed_request(const struct typed_sample *s, size_t n, size_t *ret_len)
{
	struct typed_req *r = calloc(1, sizeof(*r));
	size_t i, j, len;
	void *buf;

	cr_assert_not_null(r);
	cr_assert_lt(n, MAX_ENTRIES);
	/* Every table leads with its zero entry. */
	str(r, "");
	PB(mapping__init)(&r->mappings[0]);
	r->mapping_ptrs[0] = &r->mappings[0];
	r->nmappings = 1;
	PB(function__init)(&r->functions[0]);
	r->function_ptrs[0] = &r->functions[0];
	r->nfunctions = 1;
	PB(location__init)(&r->locations[0]);
	r->location_ptrs[0] = &r->locations[0];
	r->nlocations = 1;
	PB(key_value_and_unit__init)(&r->attrs[0]);
	r->attr_ptrs[0] = &r->attrs[0];
	r->nattrs = 1;
	PB(stack__init)(&r->stacks[0]);
	r->stack_ptrs[0] = &r->stacks[0];
	r->nstacks = 1;

	PB(value_type__init)(&r->sample_type);
	PB(value_type__init)(&r->period_type);
	r->sample_type.type_strindex = str(r, "samples");
	r->sample_type.unit_strindex = str(r, "count");
	r->period_type.type_strindex = str(r, "cpu");
	r->period_type.unit_strindex = str(r, "nanoseconds");

	for (i = 0; i < n; i++) {
		pb_stack *st = &r->stacks[r->nstacks];
		pb_sample *sm = &r->samples[i];
		pb_profile *p = &r->profiles[i];

		cr_assert_lt(r->nstack_locs + s[i].n, MAX_ENTRIES);
		cr_assert_lt(r->ntimestamps + s[i].count, MAX_ENTRIES);
		PB(stack__init)(st);
		st->location_indices = &r->stack_locs[r->nstack_locs];
		for (j = 0; j < s[i].n; j++)
			r->stack_locs[r->nstack_locs++] =
				location(r, &s[i].frames[j]);
		st->n_location_indices = s[i].n;
		r->stack_ptrs[r->nstacks] = st;

		PB(sample__init)(sm);
		sm->stack_index = (int32_t)r->nstacks++;
		sm->timestamps_unix_nano = &r->timestamps[r->ntimestamps];
		for (j = 0; j < s[i].count; j++)
			r->timestamps[r->ntimestamps++] =
				1700000000000000000ULL + j;
		sm->n_timestamps_unix_nano = s[i].count;
		r->sample_ptrs[i] = sm;

		PB(profile__init)(p);
		p->sample_type = &r->sample_type;
		p->period_type = &r->period_type;
		p->period = 10101010;
		p->time_unix_nano = 1700000000000000000ULL;
		p->duration_nano = 1000000000ULL;
		p->n_samples = 1;
		p->samples = &r->sample_ptrs[i];
		r->profile_ptrs[i] = p;

		PB(scope_profiles__init)(&r->scopes[i]);
		r->scopes[i].n_profiles = 1;
		r->scopes[i].profiles = &r->profile_ptrs[i];
		r->scope_ptrs[i] = &r->scopes[i];

		resource(r, i, s[i].comm);
		PB(resource_profiles__init)(&r->rps[i]);
		r->rps[i].resource = &r->resources[i];
		r->rps[i].n_scope_profiles = 1;
		r->rps[i].scope_profiles = &r->scope_ptrs[i];
		r->rp_ptrs[i] = &r->rps[i];
	}

	PB(profiles_dictionary__init)(&r->dict);
	r->dict.n_string_table = r->nstrings;
	r->dict.string_table = r->strings;
	r->dict.n_mapping_table = r->nmappings;
	r->dict.mapping_table = r->mapping_ptrs;
	r->dict.n_function_table = r->nfunctions;
	r->dict.function_table = r->function_ptrs;
	r->dict.n_location_table = r->nlocations;
	r->dict.location_table = r->location_ptrs;
	r->dict.n_attribute_table = r->nattrs;
	r->dict.attribute_table = r->attr_ptrs;
	r->dict.n_stack_table = r->nstacks;
	r->dict.stack_table = r->stack_ptrs;

	PB_REQUEST(init)(&r->req);
	r->req.dictionary = &r->dict;
	r->req.n_resource_profiles = n;
	r->req.resource_profiles = r->rp_ptrs;

	len = PB_REQUEST(get_packed_size)(&r->req);
	buf = malloc(len ? len : 1);
	cr_assert_not_null(buf);
	cr_assert_eq(PB_REQUEST(pack)(&r->req, buf), len);
	free(r);
	*ret_len = len;
	return buf;
}

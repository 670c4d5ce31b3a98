/* OTLP request -> folded stacks. Decodes with protobuf-c, checks every
 * index of the request first, then walks each sample's stack (leaf first
 * in OTLP) from its root and adds one "comm;root;...;leaf" line per
 * sample to the aggregation. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include "exporter/otlp_folded.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	otlp_request;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary
	otlp_dictionary;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles
	otlp_resource_profiles;
typedef Opentelemetry__Proto__Profiles__V1development__Profile otlp_profile;
typedef Opentelemetry__Proto__Profiles__V1development__Sample otlp_sample;
typedef Opentelemetry__Proto__Profiles__V1development__Location otlp_location;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_anyvalue;

#define OTLP_REQUEST(name) \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##name
#define ANY_STRING \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_STRINDEX \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX

#define FRAME_TYPE_KEY "profile.frame.type"
/* One stack line at most; frames past it are replaced by TRUNCATED (the
 * leaf end is what is lost, as folded.c does). */
#define MAX_STACK (64 * 1024)
#define MAX_NAME 4096 /* bytes of one frame name */
#define TRUNCATED "[truncated]"
#define UNKNOWN "[unknown]"
#define NO_STACK "[no stack]"

struct walk {
	const otlp_dictionary *d;
	bool *kernel; /* per location: profile.frame.type is "kernel" */
	char buf[MAX_STACK + 1];
	size_t len;
	bool full;
};

static bool in_range(int64_t idx, size_t n)
{
	return idx >= 0 && (uint64_t)idx < n;
}

static const char *dict_string(const otlp_dictionary *d, int64_t idx)
{
	return in_range(idx, d ? d->n_string_table : 0) ? d->string_table[idx] :
							  NULL;
}

/* The string an AnyValue holds, directly or through the string table. */
static const char *any_string(const otlp_dictionary *d, const otlp_anyvalue *v)
{
	if (!v)
		return NULL;
	if (v->value_case == ANY_STRING)
		return v->string_value;
	if (v->value_case == ANY_STRINDEX)
		return dict_string(d, v->string_value_strindex);
	return NULL;
}

/* ---- checking ------------------------------------------------------- */

static int check_location(const otlp_dictionary *d, const otlp_location *l)
{
	size_t i;

	if (!in_range(l->mapping_index, d->n_mapping_table))
		return -EINVAL;
	for (i = 0; i < l->n_lines; i++)
		if (!in_range(l->lines[i]->function_index, d->n_function_table))
			return -EINVAL;
	for (i = 0; i < l->n_attribute_indices; i++)
		if (!in_range(l->attribute_indices[i], d->n_attribute_table))
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

		if (!in_range(fn->name_strindex, d->n_string_table) ||
		    !in_range(fn->system_name_strindex, d->n_string_table))
			return -EINVAL;
	}
	for (i = 0; i < d->n_mapping_table; i++)
		if (!in_range(d->mapping_table[i]->filename_strindex,
			      d->n_string_table))
			return -EINVAL;
	for (i = 0; i < d->n_attribute_table; i++)
		if (!in_range(d->attribute_table[i]->key_strindex,
			      d->n_string_table))
			return -EINVAL;
	for (i = 0; i < d->n_location_table; i++) {
		err = check_location(d, d->location_table[i]);
		if (err)
			return err;
	}
	for (i = 0; i < d->n_stack_table; i++)
		for (j = 0; j < d->stack_table[i]->n_location_indices; j++)
			if (!in_range(d->stack_table[i]->location_indices[j],
				      d->n_location_table))
				return -EINVAL;
	return 0;
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
					if (!in_range(p->samples[m]->stack_index,
						      d->n_stack_table))
						return -EINVAL;
			}
	}
	return 0;
}

/* Which locations are kernel frames. */
static int mark_kernel(struct walk *w)
{
	const otlp_dictionary *d = w->d;
	size_t i, j;

	w->kernel = calloc(d->n_location_table ? d->n_location_table : 1,
			   sizeof(*w->kernel));
	if (!w->kernel)
		return -ENOMEM;
	for (i = 0; i < d->n_location_table; i++) {
		const otlp_location *l = d->location_table[i];

		for (j = 0; j < l->n_attribute_indices; j++) {
			const Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit
				*kv = d->attribute_table[l->attribute_indices[j]];
			const char *key = dict_string(d, kv->key_strindex);
			const char *val = any_string(d, kv->value);

			if (key && val && !strcmp(key, FRAME_TYPE_KEY) &&
			    !strcmp(val, "kernel"))
				w->kernel[i] = true;
		}
	}
	return 0;
}

/* ---- building one stack ---------------------------------------------- */

/* Keeps one stack on one line: the separator and control bytes go. */
static char sanitize(unsigned char c)
{
	if (c == ';')
		return ':';
	if (c < 0x20 || c == 0x7f)
		return '?';
	return (char)c;
}

/* Cuts @len to at most @max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* Appends ";" @name @suffix; past MAX_STACK, TRUNCATED once instead. */
static void push(struct walk *w, const char *name, size_t len,
		 const char *suffix)
{
	size_t slen = strlen(suffix), i;

	if (w->full)
		return;
	len = utf8_cut(name, len, MAX_NAME);
	if (w->len + 1 + len + slen > MAX_STACK - sizeof(TRUNCATED)) {
		w->full = true;
		name = TRUNCATED;
		len = sizeof(TRUNCATED) - 1;
		slen = 0;
	}
	if (w->len)
		w->buf[w->len++] = ';';
	for (i = 0; i < len; i++)
		w->buf[w->len++] = sanitize(name[i]);
	memcpy(w->buf + w->len, suffix, slen);
	w->len += slen;
	w->buf[w->len] = '\0';
}

static void push_str(struct walk *w, const char *s, const char *suffix)
{
	push(w, s, strlen(s), suffix);
}

/* A location with no function: its file, as "[libc.so.6]". */
static void push_mapping(struct walk *w, const otlp_location *l,
			 const char *suffix)
{
	char mod[MAX_NAME + 3];
	const char *file = NULL, *base;
	size_t len;

	if (l->mapping_index)
		file = dict_string(w->d, w->d->mapping_table[l->mapping_index]
						 ->filename_strindex);
	if (!file || !*file) {
		push_str(w, UNKNOWN, suffix);
		return;
	}
	base = strrchr(file, '/');
	base = base && base[1] ? base + 1 : file;
	len = strlen(base);
	if (base[0] == '[' && base[len - 1] == ']') {
		push(w, base, len, suffix);
		return;
	}
	len = utf8_cut(base, len, MAX_NAME);
	mod[0] = '[';
	memcpy(mod + 1, base, len);
	mod[len + 1] = ']';
	push(w, mod, len + 2, suffix);
}

static const char *function_name(const struct walk *w, int32_t idx)
{
	const Opentelemetry__Proto__Profiles__V1development__Function *fn;
	const char *name;

	if (!idx)
		return NULL;
	fn = w->d->function_table[idx];
	name = dict_string(w->d, fn->name_strindex);
	if (!name || !*name)
		name = dict_string(w->d, fn->system_name_strindex);
	return name && *name ? name : NULL;
}

/* One location, root side first: its lines are innermost first, so the
 * last is the function the address is in and the others are inlined. */
static void push_location(struct walk *w, int32_t idx)
{
	const otlp_location *l = w->d->location_table[idx];
	bool kernel = w->kernel[idx];
	size_t i, named = 0;

	for (i = l->n_lines; i > 0; i--) {
		int32_t fn = l->lines[i - 1]->function_index;
		const char *name = function_name(w, fn), *suffix = "";

		if (!name)
			continue;
		if (kernel)
			suffix = FOLDED_KERNEL_SUFFIX;
		else if (named)
			suffix = FOLDED_INLINE_SUFFIX;
		push_str(w, name, suffix);
		named++;
	}
	if (!named)
		push_mapping(w, l, kernel ? FOLDED_KERNEL_SUFFIX : "");
}

static uint64_t sample_count(const otlp_sample *s)
{
	int64_t n = 0;
	size_t i;

	if (!s->n_values)
		return s->n_timestamps_unix_nano;
	for (i = 0; i < s->n_values; i++)
		n += s->values[i];
	return n > 0 ? (uint64_t)n : 0;
}

/* The user frames root first, then the kernel frames root first: in
 * the OTLP stack (leaf first) the kernel frames come before the user
 * ones, so each part is walked from its end. */
static int add_sample(struct walk *w, struct folded *f, const char *comm,
		      const otlp_sample *s)
{
	const Opentelemetry__Proto__Profiles__V1development__Stack *st;
	uint64_t count = sample_count(s);
	size_t i, nkernel = 0;

	if (!count)
		return 0;
	st = w->d->stack_table[s->stack_index];
	w->len = 0;
	w->full = false;
	w->buf[0] = '\0';
	push_str(w, comm, "");
	if (!st->n_location_indices)
		push_str(w, NO_STACK, "");
	while (nkernel < st->n_location_indices &&
	       w->kernel[st->location_indices[nkernel]])
		nkernel++;
	for (i = st->n_location_indices; i > nkernel; i--)
		push_location(w, st->location_indices[i - 1]);
	for (i = nkernel; i > 0; i--)
		push_location(w, st->location_indices[i - 1]);
	return folded__add(f, w->buf, count);
}

/* The process name a resource gives. */
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
	return exe ? exe : service ? service : UNKNOWN;
}

static int add_samples(struct walk *w, struct folded *f, const otlp_request *r)
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
	err = check_dictionary(w->d);
	if (!err)
		err = check_samples(r, w->d);
	if (!err)
		err = mark_kernel(w);
	if (!err)
		err = add_samples(w, f, r);
	free(w->kernel);
	free(w);
out_request:
	OTLP_REQUEST(free_unpacked)(r, NULL);
	return err;
}

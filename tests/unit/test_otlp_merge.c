// SPDX-License-Identifier: Apache-2.0
/* Guards exporter/otlp_merge.c, how `tgprof record` turns the receiver's
 * requests of every report interval into one of the whole recording: the
 * merge of two intervals says what one request of all their samples says,
 * keeps every timestamp, stays within its bounds (counting what does not
 * fit), and refuses a request that lies about its tables without taking
 * anything of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include "exporter/folded.h"
#include "exporter/otlp_folded.h"
#include "otlp_typed.h"
#include "exporter/otlp_merge.h"
#include "exporter/pprof.h"
#include "lib/clock.h"
#include "receiver/profile/profile.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	request;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary
	dictionary;
typedef Opentelemetry__Proto__Profiles__V1development__Sample otlp_sample;
typedef Opentelemetry__Proto__Profiles__V1development__Profile otlp_profile;
typedef Opentelemetry__Proto__Common__V1__AnyValue anyvalue;

#define REQ(name) \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##name
#define ANY_STRING \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_INT OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define ANY_ARRAY OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE

static const uint8_t app_build_id[] = { 0xc8, 0x9b, 0x11, 0x20, 0x7f, 0x64,
					0x79, 0x60, 0x3b, 0x0d, 0x49, 0xbf };

static const struct mapping app_text = {
	.start = 0x555500010000ULL,
	.end = 0x555500020000ULL,
	.offset = 0x10000,
	.inode = 100,
	.dev_major = 8,
	.kind = MAPPING_FILE,
	.path = "/usr/lib/libapp.so.1",
};

static struct sym_frame user(uint64_t off, const char *name)
{
	return (struct sym_frame){
		.addr = app_text.start + off,
		.kind = FRAME_NATIVE,
		.name = name,
		.system_name = name,
		.mapping = &app_text,
		.module = "libapp.so.1",
		.file_offset = app_text.offset + off,
		.build_id = app_build_id,
		.build_id_len = sizeof(app_build_id),
	};
}

static struct sym_frame kern(uint64_t addr, const char *name)
{
	return (struct sym_frame){ .addr = addr,
				   .kind = FRAME_KERNEL,
				   .name = name,
				   .system_name = name,
				   .module = "vmlinux" };
}

static struct proc app = { .tgid = 42,
			   .start_ns = 1,
			   .comm = "app",
			   .exe_path = "/usr/bin/app" };
static struct proc sh = { .tgid = 50,
			  .start_ns = 2,
			  .comm = "sh",
			  .exe_path = "/bin/sh" };

/* The frames of the samples below: a few stacks, kernel and user, an
 * inline chain. */
static struct sym_frame frames[7];

static void frames_init(void)
{
	frames[0] = kern(0xffffffff81001000ULL, "do_syscall_64");
	frames[1] = kern(0xffffffff81002000ULL, "entry_SYSCALL_64");
	frames[2] = user(0x200, "hash_step");
	frames[2].inlined = true;
	frames[3] = user(0x200, "worker");
	frames[4] = user(0x300, "main");
	frames[5] = user(0x400, "parse");
	frames[6] = user(0x500, "main");
}

struct shape {
	struct proc *p;
	uint32_t tid, cpu;
	uint32_t first, n, nkernel; /* frames[first..first+n) */
	const char *comm;
};

/* Samples of two processes, threads and CPUs; the first half and the
 * second share some (process, stack, thread, CPU), not all. */
static const struct shape shapes[] = {
	{ &app, 43, 0, 2, 3, 0, "worker" }, { &app, 43, 1, 0, 5, 2, "worker" },
	{ &app, 44, 0, 4, 1, 0, "main" },   { &sh, 51, 1, 5, 2, 0, "sh" },
	{ &app, 43, 0, 2, 3, 0, "worker" }, { &sh, 51, 0, 5, 1, 0, "sh" },
	{ &app, 45, 1, 0, 5, 2, "io" },	    { &sh, 52, 1, 6, 1, 0, "sh" },
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

static void add_shape(struct profile_builder *b, size_t i, uint64_t ts)
{
	const struct shape *s = &shapes[i % NSHAPES];
	struct sym_sample smp = {
		.tgid = s->p->tgid,
		.tid = s->tid,
		.cpu = s->cpu,
		.ts_ns = ts,
		.start_ns = s->p->start_ns,
		.comm = s->comm,
		.pcomm = s->p->comm,
		.proc = s->p,
		.frames = &frames[s->first],
		.nframes = s->n,
		.nkernel = s->nkernel,
	};

	cr_assert_eq(profile_builder__add(b, &smp), 0);
}

static struct profile_builder *builder(void)
{
	struct profile_builder_opts o = { .sz = sizeof(o), .host_name = "h" };
	struct profile_builder *b = profile_builder__new(&o);

	cr_assert_not_null(b);
	return b;
}

static void flush(struct profile_builder *b, void **req, size_t *len)
{
	cr_assert_eq(profile_builder__flush(b, req, len), 0);
	cr_assert_not_null(*req);
}

/* Samples [from, to) of the shapes, one per boot-clock tick. */
static void add_range(struct profile_builder *b, size_t from, size_t to)
{
	uint64_t base = boot_ns();
	size_t i;

	for (i = from; i < to; i++)
		add_shape(b, i, base + i);
}

/* ---- what a request says, independent of its table order ---------------- */

struct text {
	char *buf;
	size_t len;
	FILE *f;
};

static void text_open(struct text *t)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	cr_assert_not_null(t->f);
}

static char *text_close(struct text *t)
{
	fclose(t->f);
	return t->buf;
}

static const char *str(const dictionary *d, int32_t i)
{
	cr_assert(i >= 0 && (size_t)i < d->n_string_table, "string %d", i);
	return d->string_table[i];
}

static void put_value(FILE *f, const dictionary *d, const anyvalue *v)
{
	if (!v)
		fputs("-", f);
	else if (v->value_case == ANY_STRING)
		fprintf(f, "'%s'", v->string_value);
	else if (v->value_case == ANY_INT)
		fprintf(f, "%lld", (long long)v->int_value);
	else
		fprintf(f, "case%d", (int)v->value_case);
	(void)d;
}

static void put_attrs(FILE *f, const dictionary *d, const int32_t *v, size_t n)
{
	size_t i;

	fputs("{", f);
	for (i = 0; i < n; i++) {
		cr_assert(v[i] > 0 && (size_t)v[i] < d->n_attribute_table);
		fprintf(f,
			"%s=", str(d, d->attribute_table[v[i]]->key_strindex));
		put_value(f, d, d->attribute_table[v[i]]->value);
		fputs(i + 1 < n ? "," : "", f);
	}
	fputs("}", f);
}

static void put_location(FILE *f, const dictionary *d, int32_t idx)
{
	const Opentelemetry__Proto__Profiles__V1development__Location *l;
	size_t i;

	cr_assert(idx > 0 && (size_t)idx < d->n_location_table);
	l = d->location_table[idx];
	cr_assert((size_t)l->mapping_index < d->n_mapping_table);
	if (l->mapping_index) {
		const Opentelemetry__Proto__Profiles__V1development__Mapping *m =
			d->mapping_table[l->mapping_index];

		fprintf(f, "%s@%llx-%llx+%llx", str(d, m->filename_strindex),
			(unsigned long long)m->memory_start,
			(unsigned long long)m->memory_limit,
			(unsigned long long)m->file_offset);
		put_attrs(f, d, m->attribute_indices, m->n_attribute_indices);
	}
	fprintf(f, ":%llx[", (unsigned long long)l->address);
	for (i = 0; i < l->n_lines; i++) {
		const Opentelemetry__Proto__Profiles__V1development__Function
			*fn = d->function_table[l->lines[i]->function_index];

		fprintf(f, "%s/%s/%s:%lld ", str(d, fn->name_strindex),
			str(d, fn->system_name_strindex),
			str(d, fn->filename_strindex),
			(long long)l->lines[i]->line);
	}
	fputs("]", f);
	put_attrs(f, d, l->attribute_indices, l->n_attribute_indices);
}

/* One line per sample: resource, profile kind, stack, attributes and the
 * number of its events; with @per_event, one line per timestamp. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct said {
	char **lines;
	size_t n;
	size_t samples; /* Sample messages */
};

static void said_add(struct said *s, char *line)
{
	s->lines = realloc(s->lines, (s->n + 1) * sizeof(*s->lines));
	cr_assert_not_null(s->lines);
	s->lines[s->n++] = line;
}

static void say_sample(struct said *out, const dictionary *d, const char *where,
		       const otlp_sample *s, bool per_event)
{
	const Opentelemetry__Proto__Profiles__V1development__Stack *st;
	struct text t;
	char *group;
	size_t i;

	cr_assert((size_t)s->stack_index < d->n_stack_table);
	st = d->stack_table[s->stack_index];
	text_open(&t);
	fputs(where, t.f);
	for (i = 0; i < st->n_location_indices; i++) {
		fputs(" > ", t.f);
		put_location(t.f, d, st->location_indices[i]);
	}
	fputs(" attrs", t.f);
	put_attrs(t.f, d, s->attribute_indices, s->n_attribute_indices);
	fprintf(t.f, " link%d", s->link_index);
	group = text_close(&t);
	if (!per_event) {
		char *line;

		cr_assert_geq(asprintf(&line, "%s x%zu", group,
				       s->n_timestamps_unix_nano),
			      0);
		said_add(out, line);
	}
	for (i = 0; per_event && i < s->n_timestamps_unix_nano; i++) {
		char *line;

		cr_assert_geq(asprintf(&line, "%s @%llu", group,
				       (unsigned long long)
					       s->timestamps_unix_nano[i]),
			      0);
		said_add(out, line);
	}
	free(group);
}

/* What @len bytes of request say, sorted; with @per_event, every
 * timestamp. */
static struct said say(const void *req, size_t len, bool per_event)
{
	struct said out = { 0 };
	request *r = REQ(unpack)(NULL, len, req);
	size_t i, j, k, m;

	cr_assert_not_null(r, "the request does not decode");
	for (i = 0; i < r->n_resource_profiles; i++) {
		const Opentelemetry__Proto__Profiles__V1development__ResourceProfiles
			*rp = r->resource_profiles[i];
		struct text res;
		char *rtext;

		text_open(&res);
		for (j = 0; rp->resource && j < rp->resource->n_attributes;
		     j++) {
			fprintf(res.f, "%s=", rp->resource->attributes[j]->key);
			put_value(res.f, r->dictionary,
				  rp->resource->attributes[j]->value);
			fputs(";", res.f);
		}
		rtext = text_close(&res);
		for (j = 0; j < rp->n_scope_profiles; j++)
			for (k = 0; k < rp->scope_profiles[j]->n_profiles;
			     k++) {
				const otlp_profile *p =
					rp->scope_profiles[j]->profiles[k];
				char *where;

				cr_assert_geq(
					asprintf(&where, "%s|%s/%s %s/%s %lld|",
						 rtext,
						 str(r->dictionary,
						     p->sample_type
							     ->type_strindex),
						 str(r->dictionary,
						     p->sample_type
							     ->unit_strindex),
						 str(r->dictionary,
						     p->period_type
							     ->type_strindex),
						 str(r->dictionary,
						     p->period_type
							     ->unit_strindex),
						 (long long)p->period),
					0);
				for (m = 0; m < p->n_samples; m++)
					say_sample(&out, r->dictionary, where,
						   p->samples[m], per_event);
				out.samples += p->n_samples;
				free(where);
			}
		free(rtext);
	}
	REQ(free_unpacked)(r, NULL);
	qsort(out.lines, out.n, sizeof(*out.lines), cmp_str);
	return out;
}

static void said_join(struct said *a, struct said *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		said_add(a, b->lines[i]);
	a->samples += b->samples;
	free(b->lines);
	b->lines = NULL;
	b->n = 0;
	qsort(a->lines, a->n, sizeof(*a->lines), cmp_str);
}

static void assert_same(const struct said *a, const struct said *b)
{
	size_t i;

	cr_assert_eq(a->n, b->n, "%zu lines against %zu", a->n, b->n);
	for (i = 0; i < a->n; i++)
		cr_assert_str_eq(a->lines[i], b->lines[i]);
}

static void said_free(struct said *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->lines[i]);
	free(s->lines);
}

static char *folded_of(const void *req, size_t len)
{
	struct folded *f = folded__new(0);
	struct text t;

	cr_assert_eq(otlp_folded__add(f, req, len), 0);
	text_open(&t);
	cr_assert_eq(folded__write(f, t.f), 0);
	folded__free(f);
	return text_close(&t);
}

static request *decode(const void *req, size_t len)
{
	request *r = REQ(unpack)(NULL, len, req);

	cr_assert_not_null(r);
	return r;
}

static struct otlp_merge *merge_new(const struct otlp_merge_opts *o)
{
	struct otlp_merge *m = otlp_merge__new(o);

	cr_assert_not_null(m);
	return m;
}

static void encode(struct otlp_merge *m, void **buf, size_t *len)
{
	cr_assert_eq(otlp_merge__encode(m, buf, len), 0);
	cr_assert_not_null(*buf);
}

TestSuite(otlp_merge, .init = frames_init);

/* ---- the merge --------------------------------------------------------- */

Test(otlp_merge, two_intervals_say_what_one_request_of_all_samples_says)
{
	struct profile_builder *split = builder(), *whole = builder();
	struct otlp_merge *m = merge_new(NULL);
	void *a, *b, *all, *merged, *pp;
	size_t alen, blen, alllen, mlen, pplen, half = 12, n = 24;
	struct said got, want, ga, gb;
	struct otlp_merge_stats st;
	request *rm, *rall;

	/* One builder for two intervals, another for all samples at once;
	 * the same boot-clock timestamps in both. */
	add_range(split, 0, half);
	flush(split, &a, &alen);
	add_range(split, half, n);
	flush(split, &b, &blen);
	add_range(whole, 0, n);
	flush(whole, &all, &alllen);

	cr_assert_eq(otlp_merge__add(m, a, alen), 0);
	cr_assert_eq(otlp_merge__add(m, b, blen), 0);
	encode(m, &merged, &mlen);

	/* Every sample of the same process, stack, thread and CPU is one
	 * Sample with the events of both intervals, as in the one request. */
	got = say(merged, mlen, false);
	want = say(all, alllen, false);
	assert_same(&got, &want);
	cr_assert_eq(got.samples, want.samples);
	said_free(&got);
	said_free(&want);

	/* Every timestamp of both intervals is kept, as it came. */
	got = say(merged, mlen, true);
	ga = say(a, alen, true);
	gb = say(b, blen, true);
	said_join(&ga, &gb);
	assert_same(&got, &ga);
	said_free(&got);
	said_free(&ga);
	said_free(&gb);

	/* One resource per process, every table deduplicated as the one
	 * request's: no entry twice, none missing. */
	rm = decode(merged, mlen);
	rall = decode(all, alllen);
	cr_assert_eq(rm->n_resource_profiles, 2);
	cr_assert_eq(rm->n_resource_profiles, rall->n_resource_profiles);
	cr_assert_eq(rm->dictionary->n_string_table,
		     rall->dictionary->n_string_table);
	cr_assert_eq(rm->dictionary->n_mapping_table,
		     rall->dictionary->n_mapping_table);
	cr_assert_eq(rm->dictionary->n_location_table,
		     rall->dictionary->n_location_table);
	cr_assert_eq(rm->dictionary->n_function_table,
		     rall->dictionary->n_function_table);
	cr_assert_eq(rm->dictionary->n_attribute_table,
		     rall->dictionary->n_attribute_table);
	cr_assert_eq(rm->dictionary->n_stack_table,
		     rall->dictionary->n_stack_table);
	cr_assert_eq(rm->dictionary->n_link_table,
		     rall->dictionary->n_link_table);
	/* The zero link as the builder writes it. */
	cr_assert_eq(rm->dictionary->link_table[0]->trace_id.len, 16);
	cr_assert_eq(rm->dictionary->link_table[0]->span_id.len, 8);
	/* The time span holds both intervals. */
	{
		const otlp_profile *p =
			rm->resource_profiles[0]->scope_profiles[0]->profiles[0];
		request *ra = decode(a, alen), *rb = decode(b, blen);
		const otlp_profile *pa =
			ra->resource_profiles[0]->scope_profiles[0]->profiles[0];
		const otlp_profile *pb =
			rb->resource_profiles[0]->scope_profiles[0]->profiles[0];

		cr_assert_eq(p->time_unix_nano, pa->time_unix_nano);
		cr_assert_eq(p->time_unix_nano + p->duration_nano,
			     pb->time_unix_nano + pb->duration_nano);
		cr_assert_eq(p->profile_id.len, 16);
		REQ(free_unpacked)(ra, NULL);
		REQ(free_unpacked)(rb, NULL);
	}
	REQ(free_unpacked)(rm, NULL);
	REQ(free_unpacked)(rall, NULL);

	/* The readers take it as they take the one request. */
	{
		char *fm = folded_of(merged, mlen),
		     *fall = folded_of(all, alllen);

		cr_assert_str_eq(fm, fall);
		free(fm);
		free(fall);
	}
	cr_assert_eq(pprof__from_otlp(merged, mlen, &pp, &pplen), 0);

	otlp_merge__stats(m, &st);
	cr_assert_eq(st.requests, 2);
	cr_assert_eq(st.samples, n);
	cr_assert_eq(st.events, n);
	cr_assert_eq(st.resources, 2);
	cr_assert_eq(st.samples_overflow + st.dropped_resources +
			     st.dropped_samples + st.dropped_events +
			     st.dropped_nomem,
		     0);

	free(pp);
	free(a);
	free(b);
	free(all);
	free(merged);
	otlp_merge__free(m);
	profile_builder__free(split);
	profile_builder__free(whole);
}

Test(otlp_merge, a_request_merged_again_doubles_its_events_not_its_tables)
{
	struct profile_builder *b = builder();
	struct otlp_merge *m = merge_new(NULL);
	struct otlp_merge_stats one, two;
	void *req, *out;
	size_t len, olen;
	request *r;

	add_range(b, 0, 8);
	flush(b, &req, &len);
	cr_assert_eq(otlp_merge__add(m, req, len), 0);
	otlp_merge__stats(m, &one);
	cr_assert_eq(otlp_merge__add(m, req, len), 0);
	otlp_merge__stats(m, &two);
	cr_assert_eq(two.events, 2 * one.events);
	cr_assert_eq(two.sample_records, one.sample_records);
	cr_assert_eq(two.strings, one.strings);
	cr_assert_eq(two.locations, one.locations);
	cr_assert_eq(two.stacks, one.stacks);
	cr_assert_eq(two.attributes, one.attributes);
	cr_assert_eq(two.resources, one.resources);
	cr_assert_eq(two.profiles, one.profiles);

	/* Encoding changes nothing: more can come. */
	encode(m, &out, &olen);
	free(out);
	cr_assert_eq(otlp_merge__add(m, req, len), 0);
	encode(m, &out, &olen);
	r = decode(out, olen);
	cr_assert_eq(r->n_resource_profiles, 2);
	REQ(free_unpacked)(r, NULL);
	free(out);
	free(req);
	otlp_merge__free(m);
	profile_builder__free(b);
}

Test(otlp_merge, processes_with_another_resource_stay_apart)
{
	struct profile_builder_opts o = { .sz = sizeof(o), .host_name = "h" };
	struct profile_builder *b1 = builder(), *b2;
	struct otlp_merge *m = merge_new(NULL);
	void *r1, *r2, *out;
	size_t l1, l2, olen;
	request *r;

	o.service_name = "checkout";
	b2 = profile_builder__new(&o);
	cr_assert_not_null(b2);
	add_range(b1, 0, 1); /* app */
	add_range(b2, 0, 1); /* app, another service.name */
	flush(b1, &r1, &l1);
	flush(b2, &r2, &l2);
	cr_assert_eq(otlp_merge__add(m, r1, l1), 0);
	cr_assert_eq(otlp_merge__add(m, r2, l2), 0);
	encode(m, &out, &olen);
	r = decode(out, olen);
	cr_assert_eq(r->n_resource_profiles, 2);
	REQ(free_unpacked)(r, NULL);
	free(out);
	free(r1);
	free(r2);
	otlp_merge__free(m);
	profile_builder__free(b1);
	profile_builder__free(b2);
}

/* A Sample with values is its own: never merged into another. */
Test(otlp_merge, samples_with_values_are_kept_whole)
{
	struct profile_builder *b = builder();
	struct otlp_merge *m = merge_new(NULL);
	int64_t five[] = { 5 };
	struct otlp_merge_stats st;
	void *req, *out;
	size_t len, olen, i;
	uint8_t *buf;
	request *r;
	char *text;

	add_range(b, 0, 1); /* one sample, one timestamp */
	flush(b, &req, &len);
	r = decode(req, len);
	r->resource_profiles[0]
		->scope_profiles[0]
		->profiles[0]
		->samples[0]
		->n_values = 1;
	r->resource_profiles[0]
		->scope_profiles[0]
		->profiles[0]
		->samples[0]
		->values = five;
	buf = malloc(REQ(get_packed_size)(r));
	len = REQ(pack)(r, buf);
	r->resource_profiles[0]
		->scope_profiles[0]
		->profiles[0]
		->samples[0]
		->n_values = 0;
	r->resource_profiles[0]
		->scope_profiles[0]
		->profiles[0]
		->samples[0]
		->values = NULL;
	REQ(free_unpacked)(r, NULL);

	for (i = 0; i < 2; i++)
		cr_assert_eq(otlp_merge__add(m, buf, len), 0);
	otlp_merge__stats(m, &st);
	cr_assert_eq(st.sample_records, 2);
	cr_assert_eq(st.samples, 10);
	/* One value and one timestamp each. */
	cr_assert_eq(st.events, 4);
	encode(m, &out, &olen);
	text = folded_of(out, olen);
	cr_assert_str_eq(text, "app;main;worker;hash_step_[i] 10\n");
	free(text);
	free(out);
	free(buf);
	free(req);
	otlp_merge__free(m);
	profile_builder__free(b);
}

Test(otlp_merge, nothing_merged_is_an_empty_request)
{
	struct otlp_merge *m = merge_new(NULL);
	void *out, *pp;
	size_t olen, pplen;

	encode(m, &out, &olen);
	cr_assert_eq(olen, 0);
	cr_assert_eq(pprof__from_otlp(out, olen, &pp, &pplen), 0);
	/* An empty request merges as nothing. */
	cr_assert_eq(otlp_merge__add(m, NULL, 0), 0);
	free(out);
	encode(m, &out, &olen);
	cr_assert_eq(olen, 0);
	free(out);
	free(pp);
	otlp_merge__free(m);
	otlp_merge__free(NULL);
}

/* ---- bounds -------------------------------------------------------------- */

Test(otlp_merge, bounds_are_counted_never_grown)
{
	struct otlp_merge_opts o = { .sz = sizeof(o) };
	struct profile_builder *b = builder();
	struct otlp_merge_stats st;
	struct otlp_merge *m;
	void *req, *out;
	size_t len, olen, i;
	uint64_t kept;
	request *r;

	add_range(b, 0, NSHAPES); /* 2 processes, 6 stacks, 8 samples */
	flush(b, &req, &len);

	/* One process: the other's samples are left out. */
	o.max_resources = 1;
	m = merge_new(&o);
	cr_assert_eq(otlp_merge__add(m, req, len), 0);
	otlp_merge__stats(m, &st);
	cr_assert_eq(st.resources, 1);
	cr_assert_eq(st.dropped_resources, 3); /* sh's samples */
	cr_assert_eq(st.events + st.dropped_resources, NSHAPES);
	otlp_merge__free(m);

	/* Two stacks: the others' samples are kept on the overflow stack. */
	o = (struct otlp_merge_opts){ .sz = sizeof(o), .max_stacks = 2 };
	m = merge_new(&o);
	cr_assert_eq(otlp_merge__add(m, req, len), 0);
	cr_assert_eq(otlp_merge__add(m, req, len), 0);
	otlp_merge__stats(m, &st);
	cr_assert_eq(st.stacks, 3, "%u stacks", st.stacks); /* + overflow */
	cr_assert_gt(st.samples_overflow, 0);
	cr_assert_eq(st.events, 2 * NSHAPES);
	encode(m, &out, &olen);
	{
		char *text = folded_of(out, olen);

		cr_assert(strstr(text, ";" OTLP_MERGE_OVERFLOW_FUNCTION " "),
			  "%s", text);
		free(text);
	}
	free(out);
	otlp_merge__free(m);

	/* Few events: the rest are counted. */
	o = (struct otlp_merge_opts){ .sz = sizeof(o), .max_events = 5 };
	m = merge_new(&o);
	for (i = 0; i < 3; i++)
		cr_assert_eq(otlp_merge__add(m, req, len), 0);
	otlp_merge__stats(m, &st);
	cr_assert_eq(st.events, 5);
	cr_assert_eq(st.dropped_events, 3 * NSHAPES - 5);
	encode(m, &out, &olen);
	r = decode(out, olen);
	kept = 0;
	for (i = 0; i < r->n_resource_profiles; i++) {
		const otlp_profile *p =
			r->resource_profiles[i]->scope_profiles[0]->profiles[0];
		size_t j;

		for (j = 0; j < p->n_samples; j++) {
			/* No Sample without its events. */
			cr_assert_gt(p->samples[j]->n_timestamps_unix_nano, 0);
			kept += p->samples[j]->n_timestamps_unix_nano;
		}
	}
	cr_assert_eq(kept, 5);
	REQ(free_unpacked)(r, NULL);
	free(out);
	otlp_merge__free(m);

	/* Few distinct Samples: the samples of the others are left out. */
	o = (struct otlp_merge_opts){ .sz = sizeof(o), .max_samples = 2 };
	m = merge_new(&o);
	cr_assert_eq(otlp_merge__add(m, req, len), 0);
	otlp_merge__stats(m, &st);
	cr_assert_eq(st.sample_records, 2);
	cr_assert_gt(st.dropped_samples, 0);
	cr_assert_eq(st.events + st.dropped_samples, NSHAPES);
	otlp_merge__free(m);

	/* Few string bytes: stacks that need more strings overflow, the
	 * table does not grow past the bound. */
	o = (struct otlp_merge_opts){ .sz = sizeof(o), .max_string_bytes = 64 };
	m = merge_new(&o);
	cr_assert_eq(otlp_merge__add(m, req, len), 0);
	otlp_merge__stats(m, &st);
	cr_assert_gt(st.samples_overflow + st.dropped_resources, 0);
	cr_assert_eq(st.events + st.dropped_resources, NSHAPES);
	otlp_merge__free(m);

	free(req);
	profile_builder__free(b);
}

/* ---- untrusted input ------------------------------------------------- */

/* A request of the builder, decoded, for a test to spoil. */
static request *spoilable(void **req, size_t *len)
{
	struct profile_builder *b = builder();
	request *r;

	add_range(b, 0, NSHAPES);
	flush(b, req, len);
	profile_builder__free(b);
	r = decode(*req, *len);
	return r;
}

/* @r packed, merged: refused with @want, and the merge as it was. */
static void assert_refused(request *r, int want, const char *what)
{
	struct otlp_merge *m = merge_new(NULL);
	struct otlp_merge_stats st;
	size_t len = REQ(get_packed_size)(r), olen;
	uint8_t *buf = malloc(len + 1);
	void *out;

	cr_assert_not_null(buf);
	len = REQ(pack)(r, buf);
	cr_assert_eq(otlp_merge__add(m, buf, len), want, "%s", what);
	otlp_merge__stats(m, &st);
	cr_assert_eq(st.requests_rejected, 1, "%s", what);
	cr_assert_eq(st.requests, 0, "%s", what);
	cr_assert_eq(st.resources + st.profiles + st.sample_records +
			     st.events + st.stacks + st.locations +
			     st.functions + st.mappings + st.attributes,
		     0, "%s: part of it was added", what);
	encode(m, &out, &olen);
	cr_assert_eq(olen, 0, "%s", what);
	free(out);
	free(buf);
	otlp_merge__free(m);
}

Test(otlp_merge, a_request_that_lies_about_its_tables_adds_nothing)
{
	const otlp_profile *p;
	dictionary *d;
	void *req;
	size_t len;
	request *r;
	int32_t saved, *where;

	r = spoilable(&req, &len);
	d = r->dictionary;
	p = r->resource_profiles[0]->scope_profiles[0]->profiles[0];

	/* Each index one past its table, then put back. */
#define SPOIL(field, table_len, what)             \
	do {                                      \
		where = &(field);                 \
		saved = *where;                   \
		*where = (int32_t)(table_len);    \
		assert_refused(r, -EINVAL, what); \
		*where = -1;                      \
		assert_refused(r, -EINVAL, what); \
		*where = saved;                   \
	} while (0)
	SPOIL(p->samples[0]->stack_index, d->n_stack_table, "sample stack");
	SPOIL(p->samples[0]->attribute_indices[0], d->n_attribute_table,
	      "sample attribute");
	SPOIL(p->samples[0]->link_index, d->n_link_table, "sample link");
	SPOIL(d->stack_table[1]->location_indices[0], d->n_location_table,
	      "stack location");
	SPOIL(d->location_table[1]->mapping_index, d->n_mapping_table,
	      "location mapping");
	SPOIL(d->location_table[1]->lines[0]->function_index,
	      d->n_function_table, "line function");
	SPOIL(d->function_table[1]->name_strindex, d->n_string_table,
	      "function name");
	SPOIL(d->mapping_table[1]->filename_strindex, d->n_string_table,
	      "mapping file");
	SPOIL(d->mapping_table[1]->attribute_indices[0], d->n_attribute_table,
	      "mapping attribute");
	SPOIL(d->attribute_table[1]->key_strindex, d->n_string_table,
	      "attribute key");
	SPOIL(p->sample_type->type_strindex, d->n_string_table, "sample type");
#undef SPOIL

	/* The string table must lead with "". */
	{
		char *first = d->string_table[0];

		d->string_table[0] = "x";
		assert_refused(r, -EINVAL, "string table without \"\"");
		d->string_table[0] = first;
	}
	/* An attribute value nested past OTLP_MERGE_MAX_VALUE_DEPTH. */
	{
		Opentelemetry__Proto__Common__V1__AnyValue
			v[OTLP_MERGE_MAX_VALUE_DEPTH + 2],
			*vp[OTLP_MERGE_MAX_VALUE_DEPTH + 2];
		Opentelemetry__Proto__Common__V1__ArrayValue
			a[OTLP_MERGE_MAX_VALUE_DEPTH + 2];
		anyvalue *saved_value = d->attribute_table[1]->value;
		size_t i;

		for (i = 0; i < OTLP_MERGE_MAX_VALUE_DEPTH + 2; i++) {
			opentelemetry__proto__common__v1__any_value__init(
				&v[i]);
			opentelemetry__proto__common__v1__array_value__init(
				&a[i]);
			vp[i] = &v[i];
			if (i + 1 < OTLP_MERGE_MAX_VALUE_DEPTH + 2) {
				v[i].value_case = ANY_ARRAY;
				v[i].array_value = &a[i];
				a[i].n_values = 1;
				a[i].values = &vp[i + 1];
			}
		}
		d->attribute_table[1]->value = &v[0];
		assert_refused(r, -EINVAL, "a value nested too deep");
		d->attribute_table[1]->value = saved_value;
	}
	/* A location with more lines than OTLP_MERGE_MAX_LIST. */
	{
		Opentelemetry__Proto__Profiles__V1development__Line *
			*saved_lines = d->location_table[1]->lines,
		       *lines[OTLP_MERGE_MAX_LIST + 1];
		size_t saved_n = d->location_table[1]->n_lines, i;

		for (i = 0; i <= OTLP_MERGE_MAX_LIST; i++)
			lines[i] = saved_lines[0];
		d->location_table[1]->lines = lines;
		d->location_table[1]->n_lines = OTLP_MERGE_MAX_LIST + 1;
		assert_refused(r, -EINVAL, "too many lines");
		d->location_table[1]->lines = saved_lines;
		d->location_table[1]->n_lines = saved_n;
	}
	/* A link longer than a trace id. */
	{
		uint8_t long_id[17] = { 0 };
		ProtobufCBinaryData saved_id = d->link_table[0]->trace_id;

		d->link_table[0]->trace_id.len = sizeof(long_id);
		d->link_table[0]->trace_id.data = long_id;
		assert_refused(r, -EINVAL, "a trace id of 17 bytes");
		d->link_table[0]->trace_id = saved_id;
	}

	/* Put back whole, it merges. */
	{
		struct otlp_merge *m = merge_new(NULL);
		size_t plen = REQ(get_packed_size)(r);
		uint8_t *buf = malloc(plen);

		plen = REQ(pack)(r, buf);
		cr_assert_eq(otlp_merge__add(m, buf, plen), 0);
		free(buf);
		otlp_merge__free(m);
	}
	REQ(free_unpacked)(r, NULL);
	free(req);
}

Test(otlp_merge, what_does_not_decode_adds_nothing)
{
	struct otlp_merge *m = merge_new(NULL);
	struct otlp_merge_stats st;

	cr_assert_eq(otlp_merge__add(m, "\xff\xff\xff", 3), -EBADMSG);
	cr_assert_eq(otlp_merge__add(m, NULL, 3), -EINVAL);
	cr_assert_eq(otlp_merge__add(NULL, "", 0), -EINVAL);
	otlp_merge__stats(m, &st);
	cr_assert_eq(st.requests_rejected, 1);
	cr_assert_eq(st.resources, 0);
	otlp_merge__free(m);
}

Test(otlp_merge, options_it_does_not_know_are_refused)
{
	struct {
		struct otlp_merge_opts o;
		uint64_t unknown;
	} big = { .o = { .sz = sizeof(big) }, .unknown = 1 };

	cr_assert_null(otlp_merge__new(&big.o));
	cr_assert_eq(errno, EINVAL);
}

/* Every profile.frame.type string, known or not, as a string or through
 * the string table, comes out of the merge as it went in. */
Test(otlp_merge, frame_types_round_trip)
{
	static const struct typed_frame a[] = {
		{ .type = "kernel", .name = "do_syscall_64" },
		{ .type = "cpython",
		  .name = "b",
		  .file = "calltree.py",
		  .mapping = "[cpython]" },
		{ .type = "native", .name = "main", .mapping = "/usr/bin/app" },
	};
	static const struct typed_frame b[] = {
		{ .type = "jit", .name = "fib" },
		{ .type = "ruby",
		  .name = "each",
		  .file = "y.rb",
		  .strindex = true },
		{ .type = "cpython",
		  .name = "b",
		  .file = "calltree.py",
		  .mapping = "[cpython]",
		  .strindex = true },
	};
	struct typed_sample sa = {
		.comm = "app", .frames = a, .n = 3, .count = 2
	};
	struct typed_sample sb = {
		.comm = "app", .frames = b, .n = 3, .count = 1
	};
	struct otlp_merge *m = otlp_merge__new(NULL);
	size_t la, lb, len;
	void *ra = typed_request(&sa, 1, &la), *rb = typed_request(&sb, 1, &lb);
	void *out;
	char *got, *want_a, *want_b;

	cr_assert_not_null(m);
	cr_assert_eq(otlp_merge__add(m, ra, la), 0);
	cr_assert_eq(otlp_merge__add(m, rb, lb), 0);
	cr_assert_eq(otlp_merge__encode(m, &out, &len), 0);
	got = folded_of(out, len);
	want_a = folded_of(ra, la);
	want_b = folded_of(rb, lb);
	cr_assert_str_eq(want_a, "app;main;b (calltree.py)_[p];"
				 "do_syscall_64_[k] 2\n");
	cr_assert_str_eq(want_b, "app;b (calltree.py)_[p];"
				 "each (y.rb)_[ruby];fib_[j] 1\n");
	cr_assert_str_eq(got, "app;b (calltree.py)_[p];each (y.rb)_[ruby];"
			      "fib_[j] 1\n"
			      "app;main;b (calltree.py)_[p];"
			      "do_syscall_64_[k] 2\n");
	free(got);
	free(want_a);
	free(want_b);
	free(out);
	free(ra);
	free(rb);
	otlp_merge__free(m);
}

// SPDX-License-Identifier: Apache-2.0
/* Guards receiver/profile/profile.c, the profile builder: what it packs is decoded
 * again with the generated protobuf-c code (and protoc-c's text decoder)
 * and checked field by field against the OTLP profiles rules: zero entries
 * first, everything deduplicated, identical samples merged, inline chains
 * as one Location, plain-key resources, bounds counted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include "lib/clock.h"
#include "receiver/profile/profile.h"

#define PROTO_DIR TGPROF_SOURCE_DIR "/proto"
#define GOLDEN_BIN \
	TGPROF_SOURCE_DIR "/tests/unit/data/otlp_minimal_cpu_profile.bin"
#define GOLDEN_TXT \
	TGPROF_SOURCE_DIR "/tests/unit/data/otlp_minimal_cpu_profile.txtpb"
#define REQUEST_TYPE \
	"opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest"
#define SERVICE_PROTO \
	"opentelemetry/proto/collector/profiles/v1development/profiles_service.proto"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	request;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary
	dictionary;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles
	resource_profiles;
typedef Opentelemetry__Proto__Profiles__V1development__Profile profile;
typedef Opentelemetry__Proto__Profiles__V1development__Sample sample;
typedef Opentelemetry__Proto__Profiles__V1development__Location location;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping mapping_msg;
typedef Opentelemetry__Proto__Profiles__V1development__Function function;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit kvu;
typedef Opentelemetry__Proto__Common__V1__KeyValue keyvalue;

#define REQ(name) \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##name
#define ANY_STRING \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_INT OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE

/* ---- a process and the frames the symbolizer would hand over ---- */

static const uint8_t app_build_id[] = { 0xDE, 0xAD, 0xBE, 0xEF, 0x01,
					0x23, 0x45, 0x67, 0x89, 0xAB };

static const struct mapping app_text = {
	.start = 0x555500010000ULL,
	.end = 0x555500020000ULL,
	.offset = 0x10000,
	.inode = 100,
	.dev_major = 8,
	.kind = MAPPING_FILE,
	.path = "/usr/bin/app",
};

/* The same file mapped elsewhere: another process's layout. */
static const struct mapping app_text_other = {
	.start = 0x561200010000ULL,
	.end = 0x561200020000ULL,
	.offset = 0x10000,
	.inode = 100,
	.dev_major = 8,
	.kind = MAPPING_FILE,
	.path = "/usr/bin/app",
};

static const struct mapping libc_text = {
	.start = 0x7f0000128000ULL,
	.end = 0x7f0000200000ULL,
	.offset = 0x28000,
	.inode = 200,
	.dev_major = 8,
	.kind = MAPPING_FILE,
	.path = "/usr/lib/libc.so.6",
};

static struct sym_frame user(const struct mapping *m, uint64_t off,
			     const char *name)
{
	struct sym_frame f = {
		.addr = m->start + off,
		.kind = FRAME_NATIVE,
		.name = name,
		.system_name = name,
		.mapping = m,
		.module = strrchr(m->path, '/') + 1,
		.file_offset = m->offset + off,
	};

	if (m->inode == 100) {
		f.build_id = app_build_id;
		f.build_id_len = sizeof(app_build_id);
		f.file = "app.c";
		f.line = 40 + (uint32_t)(off & 0xff);
	}
	return f;
}

static struct sym_frame kern(uint64_t addr, const char *name)
{
	return (struct sym_frame){
		.addr = addr,
		.kind = FRAME_KERNEL,
		.name = name,
		.system_name = name,
		.module = "vmlinux",
	};
}

/* @f's function @name inlined into @f, at @f's address. */
static struct sym_frame inlined(struct sym_frame f, const char *name,
				uint32_t line)
{
	f.inlined = true;
	f.name = name;
	f.system_name = name;
	f.line = line;
	return f;
}

static struct proc make_proc(uint32_t tgid, const char *comm, const char *exe,
			     const char *container)
{
	struct proc p = { .tgid = tgid, .start_ns = 1000 + tgid };

	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	p.exe_path = exe;
	if (container)
		snprintf(p.container_id, sizeof(p.container_id), "%s",
			 container);
	p.facts_gen = 1;
	p.maps_reads = 1;
	p.aspace_id = 0x1234 + tgid;
	return p;
}

static struct sym_sample make_sample(const struct proc *p, uint32_t tid,
				     const char *comm, uint32_t cpu,
				     const struct sym_frame *frames,
				     uint32_t nframes, uint32_t nkernel)
{
	return (struct sym_sample){
		.tgid = p->tgid,
		.tid = tid,
		.cpu = cpu,
		.ts_ns = boot_ns(),
		.start_ns = p->start_ns,
		.comm = comm,
		.pcomm = p->comm,
		.proc = p,
		.frames = frames,
		.nframes = nframes,
		.nkernel = nkernel,
	};
}

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static struct profile_builder *builder(void)
{
	struct profile_builder_opts o = {
		.sz = sizeof(o),
		.host_name = "test-host",
		.freq_hz = 99,
	};
	struct profile_builder *b = profile_builder__new(&o);

	cr_assert_not_null(b, "profile_builder__new: %s", strerror(errno));
	return b;
}

static void add(struct profile_builder *b, const struct sym_sample *s)
{
	int err = profile_builder__add(b, s);

	cr_assert_eq(err, 0, "profile_builder__add: %s", strerror(-err));
}

/* Flushes @b and decodes what it packed; the bytes stay in *@raw. */
static request *flush_decode(struct profile_builder *b, void **raw, size_t *len)
{
	request *r;
	int err;

	err = profile_builder__flush(b, raw, len);
	cr_assert_eq(err, 0, "flush: %s", strerror(-err));
	cr_assert_not_null(*raw);
	cr_assert_gt(*len, 0);
	r = REQ(unpack)(NULL, *len, *raw);
	cr_assert_not_null(r, "the request does not decode");
	cr_assert_not_null(r->dictionary);
	return r;
}

static void release(request *r, void *raw)
{
	REQ(free_unpacked)(r, NULL);
	free(raw);
}

static const char *str(const request *r, int32_t idx)
{
	cr_assert(idx >= 0 && (size_t)idx < r->dictionary->n_string_table,
		  "string index %d out of range", idx);
	return r->dictionary->string_table[idx];
}

static const kvu *attr(const request *r, int32_t idx)
{
	cr_assert(idx > 0 && (size_t)idx < r->dictionary->n_attribute_table,
		  "attribute index %d out of range", idx);
	return r->dictionary->attribute_table[idx];
}

static const char *attr_key(const request *r, int32_t idx)
{
	return str(r, attr(r, idx)->key_strindex);
}

static const location *loc(const request *r, int32_t idx)
{
	cr_assert(idx > 0 && (size_t)idx < r->dictionary->n_location_table,
		  "location index %d out of range", idx);
	return r->dictionary->location_table[idx];
}

static const char *fn_name(const request *r, int32_t fn)
{
	cr_assert(fn > 0 && (size_t)fn < r->dictionary->n_function_table);
	return str(r, r->dictionary->function_table[fn]->name_strindex);
}

static const profile *the_profile(const resource_profiles *rp)
{
	cr_assert_eq(rp->n_scope_profiles, 1);
	cr_assert_eq(rp->scope_profiles[0]->n_profiles, 1);
	return rp->scope_profiles[0]->profiles[0];
}

static const keyvalue *resource_attr(const resource_profiles *rp,
				     const char *key)
{
	size_t i;

	for (i = 0; i < rp->resource->n_attributes; i++)
		if (rp->resource->attributes[i]->key &&
		    !strcmp(rp->resource->attributes[i]->key, key))
			return rp->resource->attributes[i];
	return NULL;
}

static const resource_profiles *resource_of(const request *r, int64_t pid)
{
	const keyvalue *kv;
	size_t i;

	for (i = 0; i < r->n_resource_profiles; i++) {
		kv = resource_attr(r->resource_profiles[i], "process.pid");
		if (kv && kv->value->value_case == ANY_INT &&
		    kv->value->int_value == pid)
			return r->resource_profiles[i];
	}
	cr_assert_fail("no resource for pid %lld", (long long)pid);
	return NULL;
}

/* The sample attribute of @s with @key, or NULL. */
static const kvu *sample_attr(const request *r, const sample *s,
			      const char *key)
{
	size_t i;

	for (i = 0; i < s->n_attribute_indices; i++)
		if (!strcmp(attr_key(r, s->attribute_indices[i]), key))
			return attr(r, s->attribute_indices[i]);
	return NULL;
}

static const kvu *location_attr(const request *r, const location *l,
				const char *key)
{
	size_t i;

	for (i = 0; i < l->n_attribute_indices; i++)
		if (!strcmp(attr_key(r, l->attribute_indices[i]), key))
			return attr(r, l->attribute_indices[i]);
	return NULL;
}

/* Frames of a typical sample: two kernel frames, then three user frames
 * (leaf in libc, then the app). */
static uint32_t typical_frames(struct sym_frame *f)
{
	f[0] = kern(0xffffffff81001000ULL, "clear_page_erms");
	f[1] = kern(0xffffffff81002000ULL, "do_syscall_64");
	f[2] = user(&libc_text, 0x100, "memcpy");
	f[3] = user(&app_text, 0x220, "process");
	f[4] = user(&app_text, 0x310, "main");
	return 5;
}

TestSuite(profile);

Test(profile, empty_interval_flushes_nothing)
{
	struct profile_builder *b = builder();
	void *buf = (void *)1;
	size_t len = 1;

	cr_assert_eq(profile_builder__flush(b, &buf, &len), 0);
	cr_assert_null(buf);
	cr_assert_eq(len, 0);
	profile_builder__free(b);
}

Test(profile, every_dictionary_table_starts_with_its_zero_entry)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct sym_frame f[8];
	struct sym_sample s;
	const dictionary *d;
	const Opentelemetry__Proto__Profiles__V1development__Link *l;
	request *r;
	void *raw;
	size_t len;

	s = make_sample(&p, 43, "worker", 0, f, typical_frames(f), 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	d = r->dictionary;

	cr_assert_gt(d->n_string_table, 1);
	cr_assert_str_eq(d->string_table[0], "");
	cr_assert_gt(d->n_mapping_table, 1);
	cr_assert_eq(d->mapping_table[0]->memory_start, 0);
	cr_assert_eq(d->mapping_table[0]->memory_limit, 0);
	cr_assert_eq(d->mapping_table[0]->filename_strindex, 0);
	cr_assert_eq(d->mapping_table[0]->n_attribute_indices, 0);
	cr_assert_gt(d->n_location_table, 1);
	cr_assert_eq(d->location_table[0]->n_lines, 0);
	cr_assert_eq(d->location_table[0]->address, 0);
	cr_assert_eq(d->location_table[0]->mapping_index, 0);
	cr_assert_gt(d->n_function_table, 1);
	cr_assert_eq(d->function_table[0]->name_strindex, 0);
	cr_assert_gt(d->n_attribute_table, 1);
	cr_assert_eq(d->attribute_table[0]->key_strindex, 0);
	cr_assert_null(d->attribute_table[0]->value);
	cr_assert_gt(d->n_stack_table, 1);
	cr_assert_eq(d->stack_table[0]->n_location_indices, 0);
	/* The zero link: 16 and 8 zero bytes. */
	cr_assert_eq(d->n_link_table, 1);
	l = d->link_table[0];
	cr_assert_eq(l->trace_id.len, 16);
	cr_assert_eq(l->span_id.len, 8);
	for (size_t i = 0; i < 16; i++)
		cr_assert_eq(l->trace_id.data[i], 0);
	for (size_t i = 0; i < 8; i++)
		cr_assert_eq(l->span_id.data[i], 0);
	release(r, raw);
	profile_builder__free(b);
}

/* No two entries of a table are equal (byte-wise, once packed). */
static void assert_unique(const ProtobufCMessage *const *v, size_t n,
			  const char *table)
{
	uint8_t *a, *b;
	size_t i, j, la, lb;

	for (i = 1; i < n; i++) {
		la = protobuf_c_message_get_packed_size(v[i]);
		a = malloc(la + 1);
		protobuf_c_message_pack(v[i], a);
		for (j = i + 1; j < n; j++) {
			lb = protobuf_c_message_get_packed_size(v[j]);
			if (la != lb)
				continue;
			b = malloc(lb + 1);
			protobuf_c_message_pack(v[j], b);
			cr_assert(memcmp(a, b, la), "%s[%zu] == %s[%zu]", table,
				  i, table, j);
			free(b);
		}
		free(a);
	}
}

Test(profile, every_table_is_deduplicated)
{
	struct profile_builder *b = builder();
	struct proc p1 = make_proc(42, "app", "/usr/bin/app", NULL);
	struct proc p2 = make_proc(77, "app", "/usr/bin/app", NULL);
	struct sym_frame f[8], g[8];
	struct sym_sample s;
	const dictionary *d;
	request *r;
	void *raw;
	size_t i, j, len;
	uint32_t n;

	n = typical_frames(f);
	/* The same program in another process, at another address. */
	typical_frames(g);
	g[3] = user(&app_text_other, 0x220, "process");
	g[4] = user(&app_text_other, 0x310, "main");
	for (i = 0; i < 3; i++) {
		s = make_sample(&p1, 43, "worker", 0, f, n, 2);
		add(b, &s);
		s = make_sample(&p1, 44, "other", 1, f, n, 2);
		add(b, &s);
		s = make_sample(&p2, 78, "worker", 1, g, n, 2);
		add(b, &s);
		/* A shorter stack sharing every frame. */
		s = make_sample(&p2, 78, "worker", 1, g + 2, n - 2, 0);
		add(b, &s);
	}
	r = flush_decode(b, &raw, &len);
	d = r->dictionary;

	for (i = 1; i < d->n_string_table; i++)
		for (j = i + 1; j < d->n_string_table; j++)
			cr_assert_str_neq(d->string_table[i],
					  d->string_table[j]);
	assert_unique((const ProtobufCMessage *const *)d->mapping_table,
		      d->n_mapping_table, "mapping_table");
	assert_unique((const ProtobufCMessage *const *)d->location_table,
		      d->n_location_table, "location_table");
	assert_unique((const ProtobufCMessage *const *)d->function_table,
		      d->n_function_table, "function_table");
	assert_unique((const ProtobufCMessage *const *)d->attribute_table,
		      d->n_attribute_table, "attribute_table");
	assert_unique((const ProtobufCMessage *const *)d->stack_table,
		      d->n_stack_table, "stack_table");
	/* Both processes map the same part of one file: one mapping, one
	 * location per address (file-relative), so: 2 file mappings and
	 * the kernel's; 5 locations; 5 functions; 2 stacks. */
	cr_assert_eq(d->n_mapping_table, 4);
	cr_assert_eq(d->n_location_table, 6);
	cr_assert_eq(d->n_function_table, 6);
	cr_assert_eq(d->n_stack_table, 3);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, identical_samples_merge_and_carry_a_timestamp_each)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	uint64_t before = clock_ns(CLOCK_REALTIME), after;
	const resource_profiles *rp;
	const profile *pr;
	struct sym_frame f[8];
	struct sym_sample s;
	size_t i, len, events = 0, merged = 0;
	request *r;
	uint32_t n;
	void *raw;

	n = typical_frames(f);
	for (i = 0; i < 5; i++) {
		s = make_sample(&p, 43, "worker", 0, f, n, 2);
		add(b, &s);
	}
	/* Another CPU, another thread name, another stack: not merged. */
	s = make_sample(&p, 43, "worker", 1, f, n, 2);
	add(b, &s);
	s = make_sample(&p, 43, "renamed", 0, f, n, 2);
	add(b, &s);
	s = make_sample(&p, 43, "worker", 0, f + 1, n - 1, 1);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	after = clock_ns(CLOCK_REALTIME);

	cr_assert_eq(r->n_resource_profiles, 1);
	rp = r->resource_profiles[0];
	pr = the_profile(rp);
	cr_assert_eq(pr->n_samples, 4);
	for (i = 0; i < pr->n_samples; i++) {
		const sample *sm = pr->samples[i];

		/* One shape: timestamps only, no values. */
		cr_assert_eq(sm->n_values, 0);
		cr_assert_gt(sm->n_timestamps_unix_nano, 0);
		cr_assert_eq(sm->link_index, 0);
		events += sm->n_timestamps_unix_nano;
		if (sm->n_timestamps_unix_nano == 5)
			merged++;
		for (size_t k = 0; k < sm->n_timestamps_unix_nano; k++) {
			uint64_t t = sm->timestamps_unix_nano[k];

			/* CLOCK_BOOTTIME went to the wall clock. */
			cr_assert_geq(t + 50 * NSEC_PER_MSEC, before);
			cr_assert_leq(t, after + 50 * NSEC_PER_MSEC);
			cr_assert_geq(t, pr->time_unix_nano);
			cr_assert_lt(t, pr->time_unix_nano + pr->duration_nano);
		}
	}
	cr_assert_eq(events, 8);
	cr_assert_eq(merged, 1);
	release(r, raw);
	profile_builder__free(b);
}

/* Off-CPU samples: a second profile of the process, (off_cpu,
 * nanoseconds) without period, one value per Sample, the waits of one
 * stack summed; the CPU profile beside it keeps its own shape. */
Test(profile, off_cpu_samples_are_a_second_profile_summing_nanoseconds)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	const profile *cpu = NULL, *off = NULL;
	const resource_profiles *rp;
	struct sym_frame f[8];
	struct sym_sample s;
	uint64_t total = 0;
	size_t i, len;
	request *r;
	uint32_t n;
	void *raw;

	n = typical_frames(f);
	s = make_sample(&p, 43, "worker", 0, f, n, 2);
	add(b, &s);
	for (i = 1; i <= 3; i++) {
		s = make_sample(&p, 43, "worker", 0, f, n, 2);
		s.off_cpu_ns = i * 1000000;
		add(b, &s);
	}
	s = make_sample(&p, 43, "worker", 0, f + 1, n - 1, 1);
	s.off_cpu_ns = 500;
	add(b, &s);
	r = flush_decode(b, &raw, &len);

	cr_assert_eq(r->n_resource_profiles, 1);
	rp = r->resource_profiles[0];
	cr_assert_eq(rp->n_scope_profiles, 1);
	cr_assert_eq(rp->scope_profiles[0]->n_profiles, 2);
	for (i = 0; i < 2; i++) {
		const profile *pr = rp->scope_profiles[0]->profiles[i];

		if (!strcmp(str(r, pr->sample_type->type_strindex), "off_cpu"))
			off = pr;
		else
			cpu = pr;
	}
	cr_assert(cpu && off);
	cr_assert_str_eq(str(r, cpu->sample_type->type_strindex), "samples");
	cr_assert_eq(cpu->n_samples, 1);
	cr_assert_eq(cpu->samples[0]->n_timestamps_unix_nano, 1);
	cr_assert_str_eq(str(r, off->sample_type->unit_strindex),
			 "nanoseconds");
	cr_assert_null(off->period_type);
	cr_assert_eq(off->period, 0);
	cr_assert_eq(off->n_samples, 2);
	for (i = 0; i < off->n_samples; i++) {
		const sample *sm = off->samples[i];

		cr_assert_eq(sm->n_values, 1);
		cr_assert_eq(sm->n_timestamps_unix_nano, 0);
		cr_assert(sm->values[0] == 6000000 || sm->values[0] == 500);
		total += (uint64_t)sm->values[0];
	}
	cr_assert_eq(total, 6000500);
	/* The same stack on and off CPU: one Stack, two Samples. */
	cr_assert(off->samples[0]->stack_index ==
			  cpu->samples[0]->stack_index ||
		  off->samples[1]->stack_index == cpu->samples[0]->stack_index);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, sample_attributes_are_thread_and_cpu)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	const sample *sm;
	const kvu *a;
	struct sym_frame f[8];
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	s = make_sample(&p, 43, "worker", 3, f, typical_frames(f), 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	sm = the_profile(r->resource_profiles[0])->samples[0];
	cr_assert_eq(sm->n_attribute_indices, 3);
	a = sample_attr(r, sm, "thread.id");
	cr_assert_not_null(a);
	cr_assert_eq(a->value->value_case, ANY_INT);
	cr_assert_eq(a->value->int_value, 43);
	a = sample_attr(r, sm, "thread.name");
	cr_assert_not_null(a);
	cr_assert_eq(a->value->value_case, ANY_STRING);
	cr_assert_str_eq(a->value->string_value, "worker");
	a = sample_attr(r, sm, "cpu.logical_number");
	cr_assert_not_null(a);
	cr_assert_eq(a->value->value_case, ANY_INT);
	cr_assert_eq(a->value->int_value, 3);
	release(r, raw);
	profile_builder__free(b);
}

/* Only the attributes asked for; samples that differ in the others are
 * one Sample. */
Test(profile, omitted_sample_attributes_merge_threads_and_cpus)
{
	struct profile_builder_opts o = {
		.sz = sizeof(o),
		.host_name = "h",
		.omit_sample_attrs = PROFILE_ATTR_THREAD_ID | PROFILE_ATTR_CPU,
	};
	struct profile_builder *b = profile_builder__new(&o);
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	const profile *pr;
	const sample *sm;
	struct sym_frame f[8];
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	cr_assert_not_null(b);
	s = make_sample(&p, 43, "worker", 0, f, typical_frames(f), 2);
	add(b, &s);
	s = make_sample(&p, 44, "worker", 1, f, typical_frames(f), 2);
	add(b, &s);
	s = make_sample(&p, 45, "other", 1, f, typical_frames(f), 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	pr = the_profile(r->resource_profiles[0]);
	cr_assert_eq(pr->n_samples, 2, "one Sample per thread name");
	sm = pr->samples[0];
	cr_assert_eq(sm->n_attribute_indices, 1);
	cr_assert_str_eq(sample_attr(r, sm, "thread.name")->value->string_value,
			 "worker");
	cr_assert_eq(sm->n_timestamps_unix_nano, 2);
	cr_assert_null(sample_attr(r, sm, "thread.id"));
	cr_assert_null(sample_attr(r, sm, "cpu.logical_number"));
	release(r, raw);
	profile_builder__free(b);

	o.omit_sample_attrs = PROFILE_ATTRS_ALL;
	b = profile_builder__new(&o);
	cr_assert_not_null(b);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	cr_assert_eq(the_profile(r->resource_profiles[0])
			     ->samples[0]
			     ->n_attribute_indices,
		     0);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, sample_attribute_names_parse_to_their_bits)
{
	cr_assert_eq(profile_sample_attr__parse("thread.id"),
		     PROFILE_ATTR_THREAD_ID);
	cr_assert_eq(profile_sample_attr__parse("thread.name"),
		     PROFILE_ATTR_THREAD_NAME);
	cr_assert_eq(profile_sample_attr__parse("cpu.logical_number"),
		     PROFILE_ATTR_CPU);
	cr_assert_eq(profile_sample_attr__parse("thread_id"), 0);
	cr_assert_eq(profile_sample_attr__parse(""), 0);
	cr_assert_eq(profile_sample_attr__parse(NULL), 0);
}

Test(profile, a_renamed_thread_and_an_unnamed_one_are_other_samples)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct profile_builder_stats st;
	const profile *pr;
	const sample *sm;
	struct sym_frame f[8];
	struct sym_sample s;
	size_t i, named = 0, unnamed = 0;
	uint32_t n = typical_frames(f);
	request *r;
	void *raw;
	size_t len;

	/* Same stack, thread and CPU: only the thread's name differs. */
	s = make_sample(&p, 43, "worker", 3, f, n, 2);
	add(b, &s);
	add(b, &s);
	s = make_sample(&p, 43, "worker-2", 3, f, n, 2);
	add(b, &s);
	s = make_sample(&p, 43, "", 3, f, n, 2);
	add(b, &s);
	profile_builder__stats(b, &st);
	cr_assert_eq(st.sample_records, 3);
	cr_assert_eq(st.events, 4);
	r = flush_decode(b, &raw, &len);
	pr = the_profile(r->resource_profiles[0]);
	cr_assert_eq(pr->n_samples, 3);
	for (i = 0; i < pr->n_samples; i++) {
		sm = pr->samples[i];
		if (sample_attr(r, sm, "thread.name")) {
			named++;
			cr_assert_eq(sm->n_attribute_indices, 3);
		} else {
			/* An empty name is left out, not sent as "". */
			unnamed++;
			cr_assert_eq(sm->n_attribute_indices, 2);
			cr_assert_not_null(sample_attr(r, sm, "thread.id"));
		}
	}
	cr_assert_eq(named, 2);
	cr_assert_eq(unnamed, 1);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, a_frame_kind_without_a_type_row_is_native)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct sym_frame f[8];
	const location *l;
	const kvu *a;
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	f[0] = user(&app_text, 0x220, "process");
	f[0].kind = (enum frame_kind)7;
	s = make_sample(&p, 43, "worker", 0, f, 1, 0);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	l = loc(r, r->dictionary->stack_table[1]->location_indices[0]);
	a = location_attr(r, l, "profile.frame.type");
	cr_assert_not_null(a);
	cr_assert_str_eq(a->value->string_value, "native");
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, inline_chain_is_one_location_innermost_line_first)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct sym_frame f[8], outer;
	const location *l;
	const int32_t *li;
	const dictionary *d;
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	/* leaf() inlined into helper() inlined into process(), at one
	 * address; main() calls process(). */
	outer = user(&app_text, 0x220, "process");
	f[0] = inlined(outer, "leaf", 7);
	f[1] = inlined(outer, "helper", 12);
	f[2] = outer;
	f[3] = user(&app_text, 0x310, "main");
	s = make_sample(&p, 43, "worker", 0, f, 4, 0);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	d = r->dictionary;

	cr_assert_eq(d->n_stack_table, 2);
	cr_assert_eq(d->stack_table[1]->n_location_indices, 2);
	li = d->stack_table[1]->location_indices;
	l = loc(r, li[0]);
	cr_assert_eq(l->n_lines, 3);
	cr_assert_str_eq(fn_name(r, l->lines[0]->function_index), "leaf");
	cr_assert_eq(l->lines[0]->line, 7);
	cr_assert_str_eq(fn_name(r, l->lines[1]->function_index), "helper");
	cr_assert_eq(l->lines[1]->line, 12);
	cr_assert_str_eq(fn_name(r, l->lines[2]->function_index), "process");
	cr_assert_eq(l->lines[2]->line, outer.line);
	/* File-relative address: the mapping starts at its file offset. */
	cr_assert_eq(l->address, app_text.offset + 0x220);
	l = loc(r, li[1]);
	cr_assert_eq(l->n_lines, 1);
	cr_assert_str_eq(fn_name(r, l->lines[0]->function_index), "main");
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, kernel_frames_share_the_kernel_mapping_and_are_typed)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct sym_frame f[8];
	const dictionary *d;
	const int32_t *li;
	const location *l;
	const kvu *a;
	struct sym_sample s;
	int32_t kmap;
	request *r;
	void *raw;
	size_t i, len;

	s = make_sample(&p, 43, "worker", 0, f, typical_frames(f), 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	d = r->dictionary;
	li = d->stack_table[1]->location_indices;
	cr_assert_eq(d->stack_table[1]->n_location_indices, 5);

	kmap = loc(r, li[0])->mapping_index;
	cr_assert_gt(kmap, 0);
	cr_assert_str_eq(str(r, d->mapping_table[kmap]->filename_strindex),
			 PROFILE_KERNEL_MAPPING);
	for (i = 0; i < 5; i++) {
		l = loc(r, li[i]);
		a = location_attr(r, l, "profile.frame.type");
		cr_assert_not_null(a, "location %zu has no frame type", i);
		cr_assert_eq(a->value->value_case, ANY_STRING);
		cr_assert_str_eq(a->value->string_value,
				 i < 2 ? "kernel" : "native");
		if (i < 2) {
			cr_assert_eq(l->mapping_index, kmap);
			cr_assert_eq(l->address, f[i].addr);
		} else {
			cr_assert_neq(l->mapping_index, kmap);
		}
	}
	cr_assert_str_eq(fn_name(r, loc(r, li[0])->lines[0]->function_index),
			 "clear_page_erms");
	/* Leaf first: libc's memcpy, then the app. */
	cr_assert_str_eq(fn_name(r, loc(r, li[2])->lines[0]->function_index),
			 "memcpy");
	cr_assert_str_eq(fn_name(r, loc(r, li[4])->lines[0]->function_index),
			 "main");
	release(r, raw);
	profile_builder__free(b);
}

/* perf's names: the kernel's own frames in "[kernel.kallsyms]", a
 * module's in "[module]"; named or not, typed kernel. */
Test(profile, kernel_frames_are_filed_under_the_kernel_or_their_module)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	const dictionary *d;
	struct sym_frame f[8];
	struct sym_sample s;
	const int32_t *li;
	request *r;
	void *raw;
	size_t i, len;

	f[0] = kern(0xffffffffc0001000ULL, "nvme_queue_rq");
	f[0].module = "nvme";
	f[1] = kern(0xffffffffc0002000ULL, NULL);
	f[1].module = "nvme";
	f[2] = kern(0xffffffff81002000ULL, NULL);
	f[3] = kern(0xffffffff81003000ULL, "do_syscall_64");
	f[3].module = NULL;
	s = make_sample(&p, 43, "worker", 0, f, 4, 4);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	d = r->dictionary;
	li = d->stack_table[1]->location_indices;
	cr_assert_eq(d->stack_table[1]->n_location_indices, 4);
	for (i = 0; i < 4; i++) {
		const location *l = loc(r, li[i]);
		const kvu *a = location_attr(r, l, "profile.frame.type");

		cr_assert_gt(l->mapping_index, 0);
		cr_assert_str_eq(str(r, d->mapping_table[l->mapping_index]
						->filename_strindex),
				 i < 2 ? "[nvme]" : "[kernel.kallsyms]",
				 "frame %zu", i);
		cr_assert_str_eq(a->value->string_value, "kernel");
	}
	cr_assert_eq(loc(r, li[0])->mapping_index,
		     loc(r, li[1])->mapping_index);
	cr_assert_eq(loc(r, li[2])->mapping_index,
		     loc(r, li[3])->mapping_index);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, mapping_carries_the_build_id_in_lowercase_hex)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct sym_frame f[8];
	const mapping_msg *m;
	struct sym_sample s;
	const kvu *a;
	request *r;
	void *raw;
	size_t len;

	s = make_sample(&p, 43, "worker", 0, f, typical_frames(f), 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	m = r->dictionary->mapping_table[loc(r, r->dictionary->stack_table[1]
							->location_indices[3])
						 ->mapping_index];
	cr_assert_str_eq(str(r, m->filename_strindex), "/usr/bin/app");
	cr_assert_eq(m->memory_start, app_text.offset);
	cr_assert_eq(m->file_offset, app_text.offset);
	cr_assert_eq(m->memory_limit,
		     app_text.offset + app_text.end - app_text.start);
	cr_assert_eq(m->n_attribute_indices, 1);
	a = attr(r, m->attribute_indices[0]);
	cr_assert_str_eq(str(r, a->key_strindex),
			 "process.executable.build_id.gnu");
	cr_assert_eq(a->value->value_case, ANY_STRING);
	cr_assert_str_eq(a->value->string_value, "deadbeef0123456789ab");
	/* libc came without a build-id: no attribute. */
	m = r->dictionary->mapping_table[loc(r, r->dictionary->stack_table[1]
							->location_indices[2])
						 ->mapping_index];
	cr_assert_str_eq(str(r, m->filename_strindex), "/usr/lib/libc.so.6");
	cr_assert_eq(m->n_attribute_indices, 0);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, functions_have_names_system_names_and_files)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	const function *fn = NULL;
	struct sym_frame f[2];
	struct sym_sample s;
	request *r;
	void *raw;
	size_t i, len;

	f[0] = user(&app_text, 0x40, "ns::run()");
	f[0].system_name = "_ZN2ns3runEv";
	f[1] = user(&libc_text, 0x80, "start");
	f[1].system_name = NULL;
	s = make_sample(&p, 43, "worker", 0, f, 2, 0);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	for (i = 1; i < r->dictionary->n_function_table; i++)
		if (!strcmp(fn_name(r, (int32_t)i), "ns::run()"))
			fn = r->dictionary->function_table[i];
	cr_assert_not_null(fn);
	cr_assert_str_eq(str(r, fn->system_name_strindex), "_ZN2ns3runEv");
	cr_assert_str_eq(str(r, fn->filename_strindex), "app.c");
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, unknown_frames_have_no_mapping_and_no_lines)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct sym_frame f[2] = {
		{ .addr = 0x7ffd00001234ULL, .kind = FRAME_NATIVE },
		user(&app_text, 0x10, NULL),
	};
	const location *l;
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	s = make_sample(&p, 43, "worker", 0, f, 2, 0);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	l = loc(r, r->dictionary->stack_table[1]->location_indices[0]);
	cr_assert_eq(l->mapping_index, 0);
	cr_assert_eq(l->address, 0x7ffd00001234ULL);
	cr_assert_eq(l->n_lines, 0);
	/* A mapped address without a symbol: mapping and address only, for
	 * the backend to symbolize by build-id. */
	l = loc(r, r->dictionary->stack_table[1]->location_indices[1]);
	cr_assert_gt(l->mapping_index, 0);
	cr_assert_eq(l->address, app_text.offset + 0x10);
	cr_assert_eq(l->n_lines, 0);
	release(r, raw);
	profile_builder__free(b);
}

/* JIT code and other anonymous memory: no file to be relative to, so the
 * addresses stay as sampled. */
Test(profile, anonymous_mappings_keep_their_addresses)
{
	static const struct mapping jit = {
		.start = 0x7f5500000000ULL,
		.end = 0x7f5500100000ULL,
		.kind = MAPPING_ANON,
		.path = "",
	};
	struct profile_builder *b = builder();
	struct proc p1 = make_proc(42, "app", "/usr/bin/app", NULL);
	struct proc p2 = make_proc(77, "app", "/usr/bin/app", NULL);
	struct sym_frame f[1] = { {
		.addr = jit.start + 0x40,
		.kind = FRAME_NATIVE,
		.mapping = &jit,
	} };
	const location *l;
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	s = make_sample(&p1, 43, "worker", 0, f, 1, 0);
	add(b, &s);
	s = make_sample(&p2, 78, "worker", 0, f, 1, 0);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	l = loc(r, r->dictionary->stack_table[1]->location_indices[0]);
	cr_assert_eq(l->address, jit.start + 0x40);
	cr_assert_eq(
		r->dictionary->mapping_table[l->mapping_index]->memory_start,
		jit.start);
	/* Equal content is still one entry: dedup is by content. */
	cr_assert_eq(r->dictionary->n_location_table, 2);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, one_resource_per_process_with_plain_key_attributes)
{
	static const char cid[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct profile_builder *b = builder();
	struct proc p1 = make_proc(42, "app", "/usr/bin/app", cid);
	struct proc p2 = make_proc(77, "kworker/0:1", NULL, NULL);
	const resource_profiles *rp;
	const keyvalue *kv;
	const profile *pr, *pr2;
	struct sym_frame f[8];
	struct sym_sample s;
	request *r;
	void *raw;
	size_t i, len;

	s = make_sample(&p1, 43, "worker", 0, f, typical_frames(f), 2);
	add(b, &s);
	p2.kernel_thread = true;
	s = make_sample(&p2, 77, "kworker/0:1", 1, f, 2, 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	cr_assert_eq(r->n_resource_profiles, 2);

	rp = resource_of(r, 42);
	for (i = 0; i < rp->resource->n_attributes; i++) {
		/* Pyroscope reads only the plain key in resources. */
		cr_assert_not_null(rp->resource->attributes[i]->key);
		cr_assert_eq(rp->resource->attributes[i]->key_strindex, 0);
		cr_assert_neq(
			rp->resource->attributes[i]->value->value_case,
			OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX);
	}
	kv = resource_attr(rp, "service.name");
	cr_assert_str_eq(kv->value->string_value, "app");
	kv = resource_attr(rp, "process.executable.name");
	cr_assert_str_eq(kv->value->string_value, "app");
	kv = resource_attr(rp, "process.executable.path");
	cr_assert_str_eq(kv->value->string_value, "/usr/bin/app");
	kv = resource_attr(rp, "container.id");
	cr_assert_str_eq(kv->value->string_value, cid);
	kv = resource_attr(rp, "host.name");
	cr_assert_str_eq(kv->value->string_value, "test-host");
	cr_assert_str_eq(rp->scope_profiles[0]->scope->name, "tgprof");
	cr_assert_str_eq(rp->scope_profiles[0]->scope->version, TGPROF_VERSION);

	pr = the_profile(rp);
	cr_assert_str_eq(str(r, pr->sample_type->type_strindex), "samples");
	cr_assert_str_eq(str(r, pr->sample_type->unit_strindex), "count");
	cr_assert_str_eq(str(r, pr->period_type->type_strindex), "cpu");
	cr_assert_str_eq(str(r, pr->period_type->unit_strindex), "nanoseconds");
	cr_assert_eq(pr->period, 1000000000 / 99);
	cr_assert_gt(pr->time_unix_nano, 0);
	cr_assert_gt(pr->duration_nano, 0);
	cr_assert_eq(pr->profile_id.len, 16);

	/* A kernel thread: no executable; one service for every kernel
	 * thread, its own name in process.executable.name. */
	rp = resource_of(r, 77);
	cr_assert_str_eq(resource_attr(rp, "service.name")->value->string_value,
			 PROFILE_KERNEL_SERVICE);
	cr_assert_str_eq(resource_attr(rp, "process.executable.name")
				 ->value->string_value,
			 "kworker/0:1");
	cr_assert_null(resource_attr(rp, "process.executable.path"));
	cr_assert_null(resource_attr(rp, "container.id"));
	pr2 = the_profile(rp);
	cr_assert_eq(pr2->profile_id.len, 16);
	cr_assert(memcmp(pr->profile_id.data, pr2->profile_id.data, 16),
		  "two profiles share an id");
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, service_name_option_names_every_process)
{
	struct profile_builder_opts o = { .sz = sizeof(o),
					  .host_name = "h",
					  .service_name = "checkout" };
	struct profile_builder *b = profile_builder__new(&o);
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	const resource_profiles *rp;
	struct sym_frame f[8];
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	cr_assert_not_null(b);
	s = make_sample(&p, 43, "worker", 0, f, typical_frames(f), 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	rp = resource_of(r, 42);
	cr_assert_str_eq(resource_attr(rp, "service.name")->value->string_value,
			 "checkout");
	cr_assert_str_eq(resource_attr(rp, "process.executable.name")
				 ->value->string_value,
			 "app");
	/* The default period: 19 Hz. */
	cr_assert_eq(the_profile(rp)->period, 1000000000 / 19);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, service_names_of_kernel_threads_and_anonymous_executables)
{
	static const struct {
		bool kthread;
		const char *exe, *argv0, *comm, *want;
	} cases[] = {
		{ true, NULL, NULL, "kdamond.0", "kernel" },
		{ true, NULL, NULL, "swapper/0", "kernel" },
		/* A sealed memfd copy of a binary: its comm is the memfd's
		 * name cut short; argv[0] names it. */
		{ false, "/memfd:sealed-91173221a7ea", "binary_backend",
		  "memfd:sealed-91", "binary_backend" },
		{ false, "/memfd:sealed-91173221a7ea", NULL, "sealed-app",
		  "sealed-app" },
		{ false, "/memfd:runc_cloned:/proc/self/exe", "runc",
		  "runc:[2:INIT]", "runc" },
		/* O_TMPFILE, and an anonymous inode. */
		{ false, "/tmp/#1234", "", "loader", "loader" },
		{ false, "anon_inode:[x]", NULL, "jit", "jit" },
		/* A deleted binary (procfs dropped " (deleted)") is still
		 * that program: an upgrade replaced it. argv[0] only counts
		 * for an anonymous one. */
		{ false, "/usr/sbin/nginx", "nginx: worker process",
		  "nginx: worker", "nginx" },
		/* Nothing better than the executable's name. */
		{ false, "/memfd:only", NULL, "", "memfd:only" },
		{ false, NULL, NULL, "early", "early" },
		{ false, NULL, NULL, "", "" },
		{ false, NULL, NULL, NULL, "" },
	};
	size_t i;

	for (i = 0; i < N(cases); i++)
		cr_assert_str_eq(
			profile_service_name(cases[i].kthread, cases[i].exe,
					     cases[i].argv0, cases[i].comm),
			cases[i].want, "case %zu", i);
}

Test(profile, a_kernel_thread_is_the_kernel_service_and_keeps_its_name)
{
	struct profile_builder *b = builder();
	struct proc k = make_proc(77, "kdamond.0", NULL, NULL);
	struct proc m =
		make_proc(78, "memfd:sealed-1", "/memfd:sealed-1 (x)", NULL);
	const resource_profiles *rp;
	const sample *sm;
	struct sym_frame f[8];
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	typical_frames(f);
	k.kernel_thread = true;
	s = make_sample(&k, 77, "kdamond.0", 0, f, 2, 2);
	add(b, &s);
	m.argv0 = "sealed-app";
	s = make_sample(&m, 78, "memfd:sealed-1", 0, f, typical_frames(f), 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	rp = resource_of(r, 77);
	cr_assert_str_eq(resource_attr(rp, "service.name")->value->string_value,
			 "kernel");
	sm = the_profile(rp)->samples[0];
	cr_assert_str_eq(sample_attr(r, sm, "thread.name")->value->string_value,
			 "kdamond.0");
	rp = resource_of(r, 78);
	cr_assert_str_eq(resource_attr(rp, "service.name")->value->string_value,
			 "sealed-app");
	/* The executable's own name stays what it is. */
	cr_assert_str_eq(resource_attr(rp, "process.executable.name")
				 ->value->string_value,
			 "memfd:sealed-1 (x)");
	release(r, raw);
	profile_builder__free(b);

	/* A configured service_name wins, kernel threads included. */
	{
		struct profile_builder_opts o = { .sz = sizeof(o),
						  .host_name = "h",
						  .service_name = "node" };

		b = profile_builder__new(&o);
		cr_assert_not_null(b);
		s = make_sample(&k, 77, "kdamond.0", 0, f, 2, 2);
		add(b, &s);
		r = flush_decode(b, &raw, &len);
		cr_assert_str_eq(resource_attr(resource_of(r, 77),
					       "service.name")
					 ->value->string_value,
				 "node");
		release(r, raw);
		profile_builder__free(b);
	}
}

Test(profile, exec_starts_a_new_resource_for_the_same_process)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct sym_frame f[8];
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len, i, names = 0;

	s = make_sample(&p, 42, "app", 0, f, typical_frames(f), 2);
	add(b, &s);
	/* The process table read the new image's facts. */
	p.exe_path = "/usr/bin/next";
	p.facts_gen++;
	snprintf(p.comm, sizeof(p.comm), "next");
	s = make_sample(&p, 42, "next", 0, f, 2, 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	cr_assert_eq(r->n_resource_profiles, 2);
	for (i = 0; i < 2; i++) {
		const char *name =
			resource_attr(r->resource_profiles[i], "service.name")
				->value->string_value;

		names += !strcmp(name, "app") || !strcmp(name, "next");
	}
	cr_assert_eq(names, 2);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, flush_starts_a_new_interval_with_a_new_dictionary)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct profile_builder_stats st;
	struct sym_frame f[8], g[1];
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	s = make_sample(&p, 43, "worker", 0, f, typical_frames(f), 2);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	release(r, raw);

	g[0] = user(&libc_text, 0x999, "read");
	s = make_sample(&p, 43, "worker", 0, g, 1, 0);
	add(b, &s);
	r = flush_decode(b, &raw, &len);
	cr_assert_eq(r->dictionary->n_location_table, 2);
	cr_assert_eq(r->dictionary->n_function_table, 2);
	cr_assert_eq(r->dictionary->n_stack_table, 2);
	cr_assert_eq(r->n_resource_profiles, 1);
	release(r, raw);

	profile_builder__stats(b, &st);
	cr_assert_eq(st.samples, 2);
	cr_assert_eq(st.requests, 2);
	cr_assert_eq(st.events, 0);
	cr_assert_eq(st.stacks, 0);
	profile_builder__free(b);
}

Test(profile, process_limit_drops_and_counts)
{
	struct profile_builder_opts o = { .sz = sizeof(o),
					  .host_name = "h",
					  .max_processes = 2 };
	struct profile_builder *b = profile_builder__new(&o);
	struct profile_builder_stats st;
	struct sym_frame f[8];
	struct sym_sample s;
	struct proc p[3];
	request *r;
	void *raw;
	size_t len;
	int i;

	cr_assert_not_null(b);
	for (i = 0; i < 3; i++) {
		p[i] = make_proc(100 + i, "app", "/usr/bin/app", NULL);
		s = make_sample(&p[i], 100 + i, "app", 0, f, typical_frames(f),
				2);
		cr_assert_eq(profile_builder__add(b, &s), i < 2 ? 0 : -ENOSPC);
	}
	/* A known process still gets in. */
	s = make_sample(&p[0], 100, "app", 0, f, typical_frames(f), 2);
	add(b, &s);
	profile_builder__stats(b, &st);
	cr_assert_eq(st.dropped_processes, 1);
	cr_assert_eq(st.processes, 2);
	r = flush_decode(b, &raw, &len);
	cr_assert_eq(r->n_resource_profiles, 2);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, stack_limit_puts_the_rest_in_the_overflow_stack)
{
	struct profile_builder_opts o = { .sz = sizeof(o),
					  .host_name = "h",
					  .max_stacks = 2 };
	struct profile_builder *b = profile_builder__new(&o);
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct profile_builder_stats st;
	const profile *pr;
	const location *l;
	struct sym_frame f[1];
	struct sym_sample s;
	size_t i, len, events = 0;
	bool overflow = false;
	request *r;
	void *raw;

	cr_assert_not_null(b);
	for (i = 0; i < 5; i++) {
		f[0] = user(&app_text, 0x100 * (i + 1), "fn");
		s = make_sample(&p, 43, "worker", 0, f, 1, 0);
		add(b, &s);
	}
	profile_builder__stats(b, &st);
	cr_assert_eq(st.samples_overflow, 3);
	r = flush_decode(b, &raw, &len);
	pr = the_profile(r->resource_profiles[0]);
	for (i = 0; i < pr->n_samples; i++) {
		const Opentelemetry__Proto__Profiles__V1development__Stack *st2 =
			r->dictionary->stack_table[pr->samples[i]->stack_index];

		events += pr->samples[i]->n_timestamps_unix_nano;
		l = loc(r, st2->location_indices[0]);
		if (l->n_lines &&
		    !strcmp(fn_name(r, l->lines[0]->function_index),
			    PROFILE_OVERFLOW_FUNCTION)) {
			overflow = true;
			cr_assert_eq(pr->samples[i]->n_timestamps_unix_nano, 3);
		}
	}
	/* Totals stay right. */
	cr_assert_eq(events, 5);
	cr_assert(overflow, "no overflow stack");
	release(r, raw);
	profile_builder__free(b);
}

/* Once the raw-stack cache is full, samples still reach the same stack and
 * the same Sample, through the dictionary. */
Test(profile, full_raw_stack_cache_still_deduplicates)
{
	struct profile_builder_opts o = { .sz = sizeof(o),
					  .host_name = "h",
					  .max_stacks = 1 };
	struct profile_builder *b = profile_builder__new(&o);
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct profile_builder_stats st;
	const profile *pr;
	struct sym_frame f[8];
	struct sym_sample s;
	request *r;
	uint32_t n;
	void *raw;
	size_t len;

	cr_assert_not_null(b);
	n = typical_frames(f);
	s = make_sample(&p, 43, "worker", 0, f, n, 2);
	add(b, &s);
	/* The maps were read again: another raw stack, the same stack. */
	p.maps_reads++;
	s = make_sample(&p, 43, "worker", 0, f, n, 2);
	add(b, &s);
	add(b, &s);
	profile_builder__stats(b, &st);
	cr_assert_eq(st.samples_overflow, 0);
	cr_assert_eq(st.stacks, 1);
	cr_assert_eq(st.sample_records, 1);
	r = flush_decode(b, &raw, &len);
	pr = the_profile(r->resource_profiles[0]);
	cr_assert_eq(pr->n_samples, 1);
	cr_assert_eq(pr->samples[0]->n_timestamps_unix_nano, 3);
	release(r, raw);
	profile_builder__free(b);
}

Test(profile, event_and_sample_limits_drop_and_count)
{
	struct profile_builder_opts o = { .sz = sizeof(o),
					  .host_name = "h",
					  .max_events = 4,
					  .max_samples = 2 };
	struct profile_builder *b = profile_builder__new(&o);
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	struct profile_builder_stats st;
	struct sym_frame f[8];
	struct sym_sample s;
	uint32_t n;

	cr_assert_not_null(b);
	n = typical_frames(f);
	s = make_sample(&p, 43, "worker", 0, f, n, 2);
	add(b, &s);
	s = make_sample(&p, 43, "worker", 1, f, n, 2);
	add(b, &s);
	/* A third distinct sample does not fit. */
	s = make_sample(&p, 43, "worker", 2, f, n, 2);
	cr_assert_eq(profile_builder__add(b, &s), -ENOSPC);
	s = make_sample(&p, 43, "worker", 0, f, n, 2);
	add(b, &s);
	add(b, &s);
	/* The fifth event does not. */
	cr_assert_eq(profile_builder__add(b, &s), -ENOSPC);
	profile_builder__stats(b, &st);
	cr_assert_eq(st.dropped_samples, 1);
	cr_assert_eq(st.dropped_events, 1);
	cr_assert_eq(st.events, 4);
	cr_assert_eq(st.sample_records, 2);
	profile_builder__free(b);
}

Test(profile, string_limits_cut_long_names_and_overflow_new_ones)
{
	struct profile_builder_opts o = { .sz = sizeof(o),
					  .host_name = "h",
					  .max_string_bytes = 8192 };
	struct profile_builder *b = profile_builder__new(&o);
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	char *huge = malloc(3 * PROFILE_MAX_STRING_LEN);
	struct profile_builder_stats st;
	struct sym_frame f[1];
	struct sym_sample s;
	request *r;
	void *raw;
	size_t i, len;

	cr_assert_not_null(b);
	memset(huge, 'x', 3 * PROFILE_MAX_STRING_LEN - 1);
	huge[3 * PROFILE_MAX_STRING_LEN - 1] = '\0';
	f[0] = user(&app_text, 0x10, huge);
	s = make_sample(&p, 43, "worker", 0, f, 1, 0);
	add(b, &s);
	/* 8 KiB of strings: the next long name does not fit. */
	huge[0] = 'y';
	f[0] = user(&app_text, 0x20, huge);
	s = make_sample(&p, 43, "worker", 0, f, 1, 0);
	add(b, &s);
	profile_builder__stats(b, &st);
	cr_assert_geq(st.strings_truncated, 2);
	cr_assert_eq(st.samples_overflow, 1);
	r = flush_decode(b, &raw, &len);
	for (i = 0; i < r->dictionary->n_string_table; i++)
		cr_assert_leq(strlen(r->dictionary->string_table[i]),
			      PROFILE_MAX_STRING_LEN);
	release(r, raw);
	free(huge);
	profile_builder__free(b);
}

Test(profile, deep_stack_is_cut_at_the_root_end)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	uint32_t n = PROFILE_MAX_STACK_DEPTH + 10, i;
	struct sym_frame *f = calloc(n, sizeof(*f));
	struct profile_builder_stats st;
	struct sym_sample s;
	request *r;
	void *raw;
	size_t len;

	for (i = 0; i < n; i++)
		f[i] = user(&app_text, 8 * i, "recurse");
	s = make_sample(&p, 43, "worker", 0, f, n, 0);
	add(b, &s);
	profile_builder__stats(b, &st);
	cr_assert_eq(st.stacks_truncated, 1);
	r = flush_decode(b, &raw, &len);
	cr_assert_eq(r->dictionary->stack_table[1]->n_location_indices,
		     PROFILE_MAX_STACK_DEPTH);
	/* The leaf is kept. */
	cr_assert_eq(loc(r, r->dictionary->stack_table[1]->location_indices[0])
			     ->address,
		     app_text.offset);
	release(r, raw);
	free(f);
	profile_builder__free(b);
}

Test(profile, options_are_checked)
{
	struct {
		struct profile_builder_opts o;
		char more[16];
	} big = { .o = { .sz = sizeof(big) } };
	struct profile_builder_opts bad = { .sz = 1 };
	struct profile_builder *b;

	errno = 0;
	cr_assert_null(profile_builder__new(&bad));
	cr_assert_eq(errno, EINVAL);
	big.more[3] = 1;
	cr_assert_null(profile_builder__new(&big.o));
	cr_assert_eq(errno, EINVAL);
	/* NULL: every default, the host's own name. */
	b = profile_builder__new(NULL);
	cr_assert_not_null(b);
	profile_builder__free(b);
	profile_builder__free(NULL);
}

/* protoc-c itself reads the output: the text decoder needs the right
 * field numbers and wire types for every field. */
Test(profile, protoc_c_decodes_the_request)
{
	struct profile_builder *b = builder();
	struct proc p = make_proc(42, "app", "/usr/bin/app", NULL);
	char bin[] = "/tmp/tgprof-otlp-XXXXXX", cmd[1024], line[512];
	struct sym_frame f[8], g[4], outer;
	bool saw_inline = false, saw_worker = false;
	struct sym_sample s;
	void *raw;
	size_t len;
	FILE *out;
	int fd;

	if (system("command -v protoc-c >/dev/null 2>&1")) {
		cr_assert(!getenv("CI") || strcmp(getenv("CI"), "true"),
			  "protoc-c is missing (protobuf-c-compiler)");
		cr_skip_test("protoc-c is not installed");
	}
	s = make_sample(&p, 43, "worker", 0, f, typical_frames(f), 2);
	add(b, &s);
	outer = user(&app_text, 0x220, "process");
	g[0] = inlined(outer, "inlined_leaf", 7);
	g[1] = outer;
	g[2] = user(&app_text, 0x310, "main");
	s = make_sample(&p, 43, "worker", 0, g, 3, 0);
	add(b, &s);
	cr_assert_eq(profile_builder__flush(b, &raw, &len), 0);
	fd = mkstemp(bin);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, raw, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "protoc-c --decode=" REQUEST_TYPE " --proto_path=" PROTO_DIR
		 " " SERVICE_PROTO " < %s 2>&1",
		 bin);
	out = popen(cmd, "r");
	cr_assert_not_null(out);
	while (fgets(line, sizeof(line), out)) {
		saw_inline |= strstr(line, "\"inlined_leaf\"") != NULL;
		saw_worker |= strstr(line, "string_value: \"worker\"") != NULL;
	}
	cr_assert_eq(pclose(out), 0, "protoc-c could not decode the request");
	cr_assert(saw_inline);
	cr_assert(saw_worker);
	unlink(bin);
	free(raw);
	profile_builder__free(b);
}

static void *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	void *buf = malloc(1 << 16);

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	*ret_len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

/* The project's .proto files give the reference request (encoded by
 * protoc-c from the upstream opentelemetry-proto v1.11.0 files) back
 * byte for byte: same field numbers, same wire types. */
Test(profile, reference_request_round_trips_byte_for_byte)
{
	uint8_t *in, *out;
	size_t len, n;
	request *r;

	in = slurp(GOLDEN_BIN, &len);
	r = REQ(unpack)(NULL, len, in);
	cr_assert_not_null(r);
	cr_assert_eq(r->n_resource_profiles, 1);
	cr_assert_eq(r->dictionary->n_location_table, 3);
	cr_assert_eq(
		the_profile(r->resource_profiles[0])->samples[0]->values[0], 5);
	n = REQ(get_packed_size)(r);
	cr_assert_eq(n, len);
	out = malloc(n);
	REQ(pack)(r, out);
	cr_assert(!memcmp(in, out, len), "repacked bytes differ");
	REQ(free_unpacked)(r, NULL);
	free(in);
	free(out);
}

Test(profile, reference_text_encodes_to_the_reference_bytes)
{
	char bin[] = "/tmp/tgprof-golden-XXXXXX", cmd[1024];
	uint8_t *a, *b;
	size_t la, lb;
	int fd;

	if (system("command -v protoc-c >/dev/null 2>&1")) {
		cr_assert(!getenv("CI") || strcmp(getenv("CI"), "true"),
			  "protoc-c is missing (protobuf-c-compiler)");
		cr_skip_test("protoc-c is not installed");
	}
	fd = mkstemp(bin);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "protoc-c --encode=" REQUEST_TYPE " --proto_path=" PROTO_DIR
		 " " SERVICE_PROTO " < " GOLDEN_TXT " > %s",
		 bin);
	cr_assert_eq(system(cmd), 0);
	a = slurp(GOLDEN_BIN, &la);
	b = slurp(bin, &lb);
	cr_assert_eq(la, lb);
	cr_assert(!memcmp(a, b, la));
	unlink(bin);
	free(a);
	free(b);
}

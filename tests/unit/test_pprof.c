// SPDX-License-Identifier: Apache-2.0
/* Guards exporter/pprof.c: the profile builder's OTLP request turned into
 * the gzip'd pprof Profile `go tool pprof` reads. The output is gunzipped
 * and decoded with the generated pprof code and checked table by table;
 * `go tool pprof -top` reads it too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <criterion/criterion.h>

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"
#include "pprof/profile.pb-c.h"

#include "exporter/pprof.h"
#include "lib/clock.h"
#include "otlp_typed.h"
#include "receiver/profile/profile.h"

typedef Perftools__Profiles__Profile pprof;
typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	request;

#define REQ(name) \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##name
#define FREQ_HZ 99

static const uint8_t build_id[] = { 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f };

static const struct mapping app_text = {
	.start = 0x555500010000ULL,
	.end = 0x555500020000ULL,
	.offset = 0x10000,
	.inode = 100,
	.dev_major = 8,
	.kind = MAPPING_FILE,
	.path = "/usr/bin/app",
};

static struct sym_frame user(uint64_t off, const char *name, uint32_t line)
{
	return (struct sym_frame){
		.addr = app_text.start + off,
		.kind = FRAME_NATIVE,
		.name = name,
		.system_name = name,
		.file = "app.c",
		.line = line,
		.mapping = &app_text,
		.module = "app",
		.file_offset = app_text.offset + off,
		.build_id = build_id,
		.build_id_len = sizeof(build_id),
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

static void add(struct profile_builder *b, struct proc *p, uint32_t tid,
		const char *comm, uint32_t cpu, const struct sym_frame *f,
		uint32_t n, uint32_t nkernel)
{
	struct sym_sample s = {
		.tgid = p->tgid,
		.tid = tid,
		.cpu = cpu,
		.ts_ns = boot_ns(),
		.start_ns = p->start_ns,
		.comm = comm,
		.pcomm = p->comm,
		.proc = p,
		.frames = f,
		.nframes = n,
		.nkernel = nkernel,
	};

	cr_assert_eq(profile_builder__add(b, &s), 0);
}

/* Two processes of one program: "app" (3 samples of worker_loop through
 * an inlined helper, 1 in the kernel) and "tool" (2 samples). */
static void build_request(void **ret_buf, size_t *ret_len)
{
	struct profile_builder_opts o = { .sz = sizeof(o),
					  .host_name = "h",
					  .freq_hz = FREQ_HZ };
	struct profile_builder *b = profile_builder__new(&o);
	struct proc app = { .tgid = 42, .start_ns = 1, .comm = "app" };
	struct proc tool = { .tgid = 77, .start_ns = 2, .comm = "tool" };
	struct sym_frame f[6], outer;

	cr_assert_not_null(b);
	app.exe_path = "/usr/bin/app";
	tool.exe_path = "/usr/bin/tool";
	outer = user(0x200, "worker_loop", 30);
	f[0] = kern(0xffffffff81001000ULL, "do_syscall_64");
	f[1] = outer;
	f[1].inlined = true;
	f[1].name = f[1].system_name = "hash_step";
	f[1].line = 12;
	f[2] = outer;
	f[3] = user(0x300, "main", 50);
	add(b, &app, 43, "worker", 0, f + 1, 3, 0);
	add(b, &app, 43, "worker", 0, f + 1, 3, 0);
	add(b, &app, 43, "worker", 0, f + 1, 3, 0);
	add(b, &app, 43, "worker", 1, f, 4, 1);
	add(b, &tool, 78, "tool", 1, f + 3, 1, 0);
	add(b, &tool, 78, "tool", 1, f + 3, 1, 0);
	cr_assert_eq(profile_builder__flush(b, ret_buf, ret_len), 0);
	profile_builder__free(b);
}

static void *gunzip(const void *in, size_t len, size_t *ret_len)
{
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	z_stream z = { 0 };

	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = len;
	z.next_out = out;
	z.avail_out = cap;
	cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END, "not gzip");
	*ret_len = z.total_out;
	inflateEnd(&z);
	return out;
}

static pprof *convert_kind(const void *req, size_t len,
			   enum otlp_profile_kind kind)
{
	void *gz, *raw;
	size_t gzlen, rawlen;
	pprof *p;
	int err;

	err = pprof__from_otlp_kind(req, len, kind, &gz, &gzlen);
	cr_assert_eq(err, 0, "pprof__from_otlp: %s", strerror(-err));
	cr_assert_geq(gzlen, 2);
	cr_assert_eq(((uint8_t *)gz)[0], 0x1f);
	cr_assert_eq(((uint8_t *)gz)[1], 0x8b);
	raw = gunzip(gz, gzlen, &rawlen);
	p = perftools__profiles__profile__unpack(NULL, rawlen, raw);
	cr_assert_not_null(p, "the pprof Profile does not decode");
	free(gz);
	free(raw);
	return p;
}

static pprof *convert(const void *req, size_t len)
{
	return convert_kind(req, len, OTLP_PROFILE_CPU);
}

static const char *s(const pprof *p, int64_t idx)
{
	cr_assert(idx >= 0 && (size_t)idx < p->n_string_table,
		  "string %lld out of range", (long long)idx);
	return p->string_table[idx];
}

static const Perftools__Profiles__Location *location(const pprof *p,
						     uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	cr_assert_fail("no location %llu", (unsigned long long)id);
	return NULL;
}

static const Perftools__Profiles__Function *function(const pprof *p,
						     uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	cr_assert_fail("no function %llu", (unsigned long long)id);
	return NULL;
}

static const Perftools__Profiles__Label *
label(const pprof *p, const Perftools__Profiles__Sample *sm, const char *key)
{
	size_t i;

	for (i = 0; i < sm->n_label; i++)
		if (!strcmp(s(p, sm->label[i]->key), key))
			return sm->label[i];
	return NULL;
}

TestSuite(pprof);

Test(pprof, header_has_both_sample_types_and_the_period)
{
	void *req;
	size_t len;
	pprof *p;

	build_request(&req, &len);
	p = convert(req, len);
	cr_assert_str_eq(s(p, 0), "");
	cr_assert_eq(p->n_sample_type, 2);
	cr_assert_str_eq(s(p, p->sample_type[0]->type), "samples");
	cr_assert_str_eq(s(p, p->sample_type[0]->unit), "count");
	cr_assert_str_eq(s(p, p->sample_type[1]->type), "cpu");
	cr_assert_str_eq(s(p, p->sample_type[1]->unit), "nanoseconds");
	cr_assert_not_null(p->period_type);
	cr_assert_str_eq(s(p, p->period_type->type), "cpu");
	cr_assert_str_eq(s(p, p->period_type->unit), "nanoseconds");
	cr_assert_eq(p->period, 1000000000 / FREQ_HZ);
	cr_assert_gt(p->time_nanos, 0);
	cr_assert_gt(p->duration_nanos, 0);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(req);
}

/* A request with CPU and off-CPU samples: each pprof takes its own kind,
 * the off-CPU one weighed in nanoseconds waited, without period. */
Test(pprof, cpu_and_off_cpu_profiles_convert_apart)
{
	struct profile_builder_opts o = { .sz = sizeof(o),
					  .host_name = "h",
					  .freq_hz = FREQ_HZ };
	struct profile_builder *b = profile_builder__new(&o);
	struct proc app = { .tgid = 42, .start_ns = 1, .comm = "app" };
	struct sym_frame f[2] = { user(0x200, "worker_loop", 30),
				  user(0x300, "main", 50) };
	struct sym_sample smp = {
		.tgid = 42,
		.tid = 43,
		.start_ns = 1,
		.comm = "worker",
		.pcomm = "app",
		.proc = &app,
		.frames = f,
		.nframes = 2,
	};
	pprof *cpu, *off;
	void *req;
	size_t len;

	cr_assert_not_null(b);
	app.exe_path = "/usr/bin/app";
	add(b, &app, 43, "worker", 0, f, 2, 0);
	smp.ts_ns = boot_ns();
	smp.off_cpu_ns = 7000000;
	cr_assert_eq(profile_builder__add(b, &smp), 0);
	smp.off_cpu_ns = 3000000;
	cr_assert_eq(profile_builder__add(b, &smp), 0);
	cr_assert_eq(profile_builder__flush(b, &req, &len), 0);
	profile_builder__free(b);

	cpu = convert(req, len);
	cr_assert_eq(cpu->n_sample, 1);
	cr_assert_eq(cpu->sample[0]->value[0], 1);
	off = convert_kind(req, len, OTLP_PROFILE_OFF_CPU);
	cr_assert_eq(off->n_sample_type, 1);
	cr_assert_str_eq(s(off, off->sample_type[0]->type), "off_cpu");
	cr_assert_str_eq(s(off, off->sample_type[0]->unit), "nanoseconds");
	cr_assert_eq(off->period, 0);
	cr_assert_eq(off->n_sample, 1);
	cr_assert_eq(off->sample[0]->n_value, 1);
	cr_assert_eq(off->sample[0]->value[0], 10000000);
	perftools__profiles__profile__free_unpacked(cpu, NULL);
	perftools__profiles__profile__free_unpacked(off, NULL);
	free(req);
}

Test(pprof, every_process_is_in_one_profile_with_labels)
{
	unsigned int app_events = 0, tool_events = 0;
	void *req;
	size_t i, len;
	pprof *p;

	build_request(&req, &len);
	p = convert(req, len);
	/* app: 2 distinct samples (CPU 0 x3, CPU 1 with a kernel frame);
	 * tool: 1. */
	cr_assert_eq(p->n_sample, 3);
	for (i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *sm = p->sample[i];
		const Perftools__Profiles__Label *pid = label(p, sm, "pid");
		const Perftools__Profiles__Label *comm = label(p, sm, "comm");
		const Perftools__Profiles__Label *tid = label(p, sm, "tid");
		const Perftools__Profiles__Label *th = label(p, sm, "thread");

		cr_assert_not_null(pid);
		cr_assert_not_null(comm);
		cr_assert_not_null(tid);
		cr_assert_not_null(th);
		cr_assert_not_null(label(p, sm, "cpu"));
		cr_assert_eq(sm->n_value, 2);
		cr_assert_eq(sm->value[1], sm->value[0] * p->period);
		/* String labels, the kind Pyroscope reads. */
		cr_assert_eq(pid->num, 0);
		cr_assert_eq(tid->num, 0);
		if (!strcmp(s(p, pid->str), "42")) {
			cr_assert_str_eq(s(p, comm->str), "app");
			cr_assert_str_eq(s(p, tid->str), "43");
			cr_assert_str_eq(s(p, th->str), "worker");
			app_events += sm->value[0];
		} else {
			cr_assert_str_eq(s(p, pid->str), "77");
			cr_assert_str_eq(s(p, comm->str), "tool");
			tool_events += sm->value[0];
		}
	}
	cr_assert_eq(app_events, 4);
	cr_assert_eq(tool_events, 2);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(req);
}

/* A numeric pprof label of 0 is not encoded at all: CPU 0's samples
 * would carry no cpu label. */
Test(pprof, cpu_0_keeps_its_label)
{
	uint64_t by_cpu[2] = { 0, 0 };
	void *req;
	size_t i, len;
	pprof *p;

	build_request(&req, &len);
	p = convert(req, len);
	for (i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *sm = p->sample[i];
		const Perftools__Profiles__Label *cpu = label(p, sm, "cpu");
		const char *text;

		cr_assert_not_null(cpu, "sample %zu has no cpu label", i);
		cr_assert_eq(cpu->num, 0);
		text = s(p, cpu->str);
		cr_assert(!strcmp(text, "0") || !strcmp(text, "1"), "cpu %s",
			  text);
		by_cpu[text[0] - '0'] += sm->value[0];
	}
	/* build_request(): app 3 on CPU 0, 1 on CPU 1; tool 2 on CPU 1. */
	cr_assert_eq(by_cpu[0], 3);
	cr_assert_eq(by_cpu[1], 3);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(req);
}

/* Kernel frames keep their mark: perf's mapping name. */
Test(pprof, kernel_frames_are_in_the_kernel_kallsyms_mapping)
{
	bool seen = false;
	void *req;
	size_t i, j, len;
	pprof *p;

	build_request(&req, &len);
	p = convert(req, len);
	for (i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];
		const Perftools__Profiles__Mapping *m = NULL;

		for (j = 0; j < p->n_mapping; j++)
			if (p->mapping[j]->id == l->mapping_id)
				m = p->mapping[j];
		if (l->address != 0xffffffff81001000ULL)
			continue;
		cr_assert_not_null(m);
		cr_assert_str_eq(s(p, m->filename), "[kernel.kallsyms]");
		seen = true;
	}
	cr_assert(seen, "no kernel location");
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(req);
}

Test(pprof, locations_keep_inline_lines_functions_and_mappings)
{
	const Perftools__Profiles__Location *l;
	const Perftools__Profiles__Mapping *m;
	bool seen = false;
	void *req;
	size_t i, len;
	pprof *p;

	build_request(&req, &len);
	p = convert(req, len);
	for (i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *sm = p->sample[i];

		if (sm->value[0] != 3)
			continue;
		seen = true;
		/* Leaf first: the inline chain, then main. */
		cr_assert_eq(sm->n_location_id, 2);
		l = location(p, sm->location_id[0]);
		cr_assert_eq(l->n_line, 2);
		cr_assert_str_eq(s(p,
				   function(p, l->line[0]->function_id)->name),
				 "hash_step");
		cr_assert_eq(l->line[0]->line, 12);
		cr_assert_str_eq(s(p,
				   function(p, l->line[1]->function_id)->name),
				 "worker_loop");
		cr_assert_eq(l->line[1]->line, 30);
		cr_assert_str_eq(
			s(p, function(p, l->line[1]->function_id)->filename),
			"app.c");
		cr_assert_neq(l->mapping_id, 0);
		l = location(p, sm->location_id[1]);
		cr_assert_str_eq(s(p,
				   function(p, l->line[0]->function_id)->name),
				 "main");
	}
	cr_assert(seen);
	m = NULL;
	for (i = 0; i < p->n_mapping; i++) {
		cr_assert_neq(p->mapping[i]->id, 0);
		if (!strcmp(s(p, p->mapping[i]->filename), "/usr/bin/app"))
			m = p->mapping[i];
	}
	cr_assert_not_null(m);
	cr_assert_str_eq(s(p, m->build_id), "0a1b2c3d4e5f");
	cr_assert(m->has_functions);
	cr_assert(m->has_filenames);
	cr_assert(m->has_line_numbers);
	cr_assert(m->has_inline_frames);
	/* Every id a sample or a line names exists. */
	for (i = 0; i < p->n_sample; i++)
		for (size_t j = 0; j < p->sample[i]->n_location_id; j++) {
			l = location(p, p->sample[i]->location_id[j]);
			for (size_t k = 0; k < l->n_line; k++)
				function(p, l->line[k]->function_id);
		}
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(req);
}

Test(pprof, empty_request_is_a_profile_without_samples)
{
	pprof *p = convert("", 0);

	cr_assert_eq(p->n_sample, 0);
	cr_assert_eq(p->n_sample_type, 2);
	cr_assert_str_eq(s(p, 0), "");
	perftools__profiles__profile__free_unpacked(p, NULL);
}

Test(pprof, garbage_does_not_decode)
{
	static const uint8_t junk[] = { 0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	void *out = NULL;
	size_t len = 0;

	cr_assert_eq(pprof__from_otlp(junk, sizeof(junk), &out, &len),
		     -EBADMSG);
	cr_assert_null(out);
}

/* A request whose indices point past its dictionary is refused, never
 * read out of bounds. */
Test(pprof, indices_out_of_range_are_refused)
{
	int32_t bad[] = { 999, -1 };
	void *req, *out;
	size_t len, olen, i;
	uint8_t *buf;
	request *r;

	build_request(&req, &len);
	for (i = 0; i < 2; i++) {
		r = REQ(unpack)(NULL, len, req);
		cr_assert_not_null(r);
		r->resource_profiles[0]
			->scope_profiles[0]
			->profiles[0]
			->samples[0]
			->stack_index = bad[i];
		buf = malloc(REQ(get_packed_size)(r));
		olen = REQ(pack)(r, buf);
		out = NULL;
		cr_assert_eq(pprof__from_otlp(buf, olen, &out, &olen), -EINVAL);
		cr_assert_null(out);
		free(buf);
		REQ(free_unpacked)(r, NULL);
	}
	r = REQ(unpack)(NULL, len, req);
	r->dictionary->location_table[1]->lines[0]->function_index = 1000;
	buf = malloc(REQ(get_packed_size)(r));
	olen = REQ(pack)(r, buf);
	cr_assert_eq(pprof__from_otlp(buf, olen, &out, &olen), -EINVAL);
	free(buf);
	REQ(free_unpacked)(r, NULL);
	free(req);
}

/* Skips (never in CI) without go; go needs a build cache even to run a
 * tool. */
static void need_go(void)
{
	if (system("command -v go >/dev/null 2>&1")) {
		cr_assert(!getenv("CI") || strcmp(getenv("CI"), "true"),
			  "go is missing: the tests need Go for go tool pprof "
			  "(cmake/install-deps.sh installs golang-go)");
		cr_skip_test("go is not installed");
	}
	if (!getenv("GOCACHE") && !getenv("XDG_CACHE_HOME") && !getenv("HOME"))
		setenv("GOCACHE", "/tmp/tgprof-test-gocache", 1);
}

/* `go tool pprof -tags` lists every label with its values, CPU 0
 * included, the way pprof shows string tags. */
Test(pprof, go_tool_pprof_tags_list_every_cpu_and_process, .timeout = 120)
{
	char path[] = "/tmp/tgprof-pprof-XXXXXX", cmd[512], line[512];
	char all[8192] = "";
	void *req, *gz;
	size_t len, gzlen, used = 0;
	FILE *out;
	int fd;

	need_go();
	build_request(&req, &len);
	cr_assert_eq(pprof__from_otlp(req, len, &gz, &gzlen), 0);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, gz, gzlen), (ssize_t)gzlen);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "go tool pprof -tags -sample_index=samples %s 2>&1", path);
	out = popen(cmd, "r");
	cr_assert_not_null(out);
	while (fgets(line, sizeof(line), out) &&
	       used + strlen(line) < sizeof(all)) {
		strcpy(all + used, line);
		used += strlen(line);
	}
	cr_assert_eq(pclose(out), 0, "go tool pprof failed:\n%s", all);
	/* "3 (50.00%): 0" under "cpu: Total 6 of 6": CPU 0's three samples. */
	cr_assert(strstr(all, " cpu: Total 6 of 6 "), "%s", all);
	cr_assert(strstr(all, "3 (50.00%): 0\n"), "%s", all);
	cr_assert(strstr(all, " pid: Total 6 of 6 "), "%s", all);
	cr_assert(strstr(all, "4 (66.67%): 42\n"), "%s", all);
	cr_assert(strstr(all, " tid: Total 6 of 6 "), "%s", all);
	unlink(path);
	free(gz);
	free(req);
}

/* The real reader: go tool pprof. */
Test(pprof, go_tool_pprof_reads_it, .timeout = 120)
{
	char path[] = "/tmp/tgprof-pprof-XXXXXX", cmd[512], line[512];
	bool found = false;
	void *req, *gz;
	size_t len, gzlen;
	FILE *out;
	int fd;

	need_go();
	build_request(&req, &len);
	cr_assert_eq(pprof__from_otlp(req, len, &gz, &gzlen), 0);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, gz, gzlen), (ssize_t)gzlen);
	close(fd);
	snprintf(cmd, sizeof(cmd), "go tool pprof -top %s 2>&1", path);
	out = popen(cmd, "r");
	cr_assert_not_null(out);
	while (fgets(line, sizeof(line), out))
		found |= strstr(line, "worker_loop") != NULL;
	cr_assert_eq(pclose(out), 0, "go tool pprof failed");
	cr_assert(found, "worker_loop is not in go tool pprof -top");
	unlink(path);
	free(gz);
	free(req);
}

/* One sample with a frame of each type, leaf first. */
static void *typed_pprof_request(size_t *ret_len)
{
	static const struct typed_frame f[] = {
		{ .type = "kernel",
		  .name = "do_syscall_64",
		  .address = 0x81001000 },
		{ .type = "kernel", .name = "nvme_irq", .mapping = "[nvme]" },
		{ .type = "jit",
		  .name = "LazyCompile:*fib",
		  .mapping = "",
		  .address = 0x7f0000001000 },
		{ .type = "cpython",
		  .name = "b",
		  .file = "calltree.py",
		  .line = 12,
		  .mapping = "[cpython]" },
		{ .type = "php", .name = "render", .file = "view.php" },
		{ .type = "native", .name = "main", .mapping = "/usr/bin/app" },
	};
	struct typed_sample s = { .comm = "app",
				  .frames = f,
				  .n = sizeof(f) / sizeof(f[0]),
				  .count = 2 };

	return typed_request(&s, 1, ret_len);
}

/* The mapping's file of the location whose first line is @fn. */
static const char *mapping_of(const pprof *p, const char *fn)
{
	size_t i, j;

	for (i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		if (!l->n_line ||
		    strcmp(s(p, function(p, l->line[0]->function_id)->name),
			   fn))
			continue;
		if (!l->mapping_id)
			return NULL;
		for (j = 0; j < p->n_mapping; j++)
			if (p->mapping[j]->id == l->mapping_id)
				return s(p, p->mapping[j]->filename);
		cr_assert_fail("location of %s names no mapping", fn);
	}
	cr_assert_fail("no location of %s", fn);
	return NULL;
}

/* pprof has no frame type: the mapping tells it. */
Test(pprof, every_frame_type_is_told_by_its_mapping)
{
	size_t len, i, j;
	void *req = typed_pprof_request(&len);
	pprof *p = convert(req, len);

	cr_assert_str_eq(mapping_of(p, "do_syscall_64"), "[kernel.kallsyms]");
	cr_assert_str_eq(mapping_of(p, "nvme_irq"), "[nvme]");
	cr_assert_str_eq(mapping_of(p, "LazyCompile:*fib"), "[jit]");
	cr_assert_str_eq(mapping_of(p, "b"), "[cpython]");
	cr_assert_str_eq(mapping_of(p, "render"), "[php]");
	cr_assert_str_eq(mapping_of(p, "main"), "/usr/bin/app");
	/* Ids unique; the [cpython] mapping is the request's own, not a
	 * second one. */
	for (i = 0; i < p->n_mapping; i++)
		for (j = i + 1; j < p->n_mapping; j++) {
			cr_assert_neq(p->mapping[i]->id, p->mapping[j]->id);
			cr_assert_str_neq(s(p, p->mapping[i]->filename),
					  s(p, p->mapping[j]->filename));
		}
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(req);
}

/* What go tool pprof @args prints about the typed request. */
static char *go_pprof(const char *args)
{
	char path[] = "/tmp/tgprof-pprof-XXXXXX", cmd[512], line[512];
	char *all = calloc(1, 16384);
	size_t len, gzlen, used = 0;
	void *req, *gz;
	FILE *out;
	int fd;

	req = typed_pprof_request(&len);
	cr_assert_eq(pprof__from_otlp(req, len, &gz, &gzlen), 0);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, gz, gzlen), (ssize_t)gzlen);
	close(fd);
	snprintf(cmd, sizeof(cmd), "go tool pprof %s %s 2>&1", args, path);
	out = popen(cmd, "r");
	cr_assert_not_null(out);
	while (fgets(line, sizeof(line), out) &&
	       used + strlen(line) < 16384 - 1) {
		strcpy(all + used, line);
		used += strlen(line);
	}
	cr_assert_eq(pclose(out), 0, "go tool pprof failed:\n%s", all);
	unlink(path);
	free(gz);
	free(req);
	return all;
}

/* -show keeps the frames whose mapping matches: a type's frames alone. */
Test(pprof, go_tool_pprof_shows_the_frames_of_one_type, .timeout = 120)
{
	char *all;

	need_go();
	all = go_pprof("-top -show='^\\[jit\\]$'");
	cr_assert(strstr(all, "LazyCompile:*fib"), "%s", all);
	cr_assert_null(strstr(all, "main"), "%s", all);
	cr_assert_null(strstr(all, "do_syscall_64"), "%s", all);
	free(all);
	all = go_pprof("-top -show='^\\[cpython\\]$'");
	cr_assert(strstr(all, " b\n"), "%s", all);
	cr_assert_null(strstr(all, "LazyCompile"), "%s", all);
	free(all);
	all = go_pprof("-traces");
	cr_assert(strstr(all, "LazyCompile:*fib"), "%s", all);
	cr_assert(strstr(all, "render"), "%s", all);
	cr_assert(strstr(all, "do_syscall_64"), "%s", all);
	free(all);
}

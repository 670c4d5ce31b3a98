// SPDX-License-Identifier: Apache-2.0
/* Guards receiver/runtimes/python/code.c: the location-table decoder on
 * crafted tables (each entry kind, and hostile ones) and on tables real
 * CPython 3.11 wrote, compared unit by unit with co_lines(); the code
 * object cache on a synthetic memory image (names ASCII and UCS-2, hits,
 * the byte bound, forget, unreadable and garbage objects) and on a real
 * python3.11 process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "receiver/runtimes/python/code.h"

#define DEBIAN_PYTHON "/usr/bin/python3.11"

/* ---- decoder, crafted ---- */

/* Lines 5 5 | 6 | 5 5 5 | none | 15: every entry kind. */
static const uint8_t crafted[] = {
	0x81, 0x00, /* short form, 2 units, same line */
	0xd8, 0x01, 0x02, /* one-line form, delta 1, 1 unit */
	0xea, 0x03, /* no column, svarint -1, 3 units */
	0xf8, /* no location, 1 unit */
	0xf0, 0x14, 0x00, 0x01, 0x02, /* long form, +10, 1 unit */
};

Test(python_linetable, every_entry_kind_decodes_to_its_lines)
{
	struct py_line_range r[16];
	uint32_t end = 0;
	int n = py_linetable__decode(crafted, sizeof(crafted), 5, r, 16, &end);
	static const uint32_t want[] = { 5, 5, 6, 5, 5, 5, 0, 15 };
	uint32_t u;

	cr_assert_eq(n, 5, "neighbours on one line merge: %d", n);
	cr_assert_eq(end, 8);
	for (u = 0; u < 8; u++)
		cr_assert_eq(py_linetable__line(r, (size_t)n, end, u), want[u],
			     "unit %u", u);
	cr_assert_eq(py_linetable__line(r, (size_t)n, end, 8), 0, "past end");
	cr_assert_eq(py_linetable__decode(crafted, sizeof(crafted), 5, r, 4,
					  &end),
		     -E2BIG);
	cr_assert_eq(py_linetable__decode(crafted, 0, 5, r, 4, &end), 0);
	cr_assert_eq(end, 0);
}

static int decode_copy(const uint8_t *t, size_t len, int32_t first)
{
	struct py_line_range r[64];
	uint8_t *copy = malloc(len ? len : 1);
	uint32_t end;
	int n;

	cr_assert_not_null(copy);
	memcpy(copy, t, len); /* exact size: ASan sees any read past it */
	n = py_linetable__decode(copy, len, first, r, 64, &end);
	free(copy);
	return n;
}

Test(python_linetable, hostile_tables_are_refused)
{
	static const uint8_t runaway[] = { 0xe8, 0x40, 0x40, 0x40,
					   0x40, 0x40, 0x40, 0x01 };
	static const uint8_t negative[] = { 0xe8, 0x0b }; /* -5 */
	static const uint8_t no_start_bit[] = { 0x01, 0x00 };
	static const uint8_t varint_into_next[] = { 0xe8, 0xc1 };
	size_t i;

	for (i = 1; i < sizeof(crafted); i++) {
		int n = decode_copy(crafted, i, 5);

		/* Cut at an entry boundary is a shorter valid table. */
		if (i == 2 || i == 5 || i == 7 || i == 8)
			cr_assert_gt(n, 0, "cut at %zu", i);
		else
			cr_assert_eq(n, -EINVAL, "cut at %zu: %d", i, n);
	}
	cr_assert_eq(decode_copy(runaway, sizeof(runaway), 5), -EINVAL);
	cr_assert_eq(decode_copy(negative, sizeof(negative), 2), -EINVAL);
	cr_assert_gt(decode_copy(negative, sizeof(negative), 5), 0);
	cr_assert_eq(decode_copy(no_start_bit, sizeof(no_start_bit), 1),
		     -EINVAL);
	cr_assert_eq(decode_copy(varint_into_next, sizeof(varint_into_next), 1),
		     -EINVAL);
}

/* ---- decoder, real tables ---- */

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned int b;

	while (n < max && sscanf(s + 2 * n, "%2x", &b) == 1)
		out[n++] = (uint8_t)b;
	return n;
}

Test(python_linetable, tables_python_3_11_wrote_match_co_lines)
{
	static struct py_line_range r[4096];
	static uint8_t table[8192];
	static char line[32768];
	uint32_t end = 0, u, s, e, l;
	int n = -1, codes = 0, units = 0;
	char name[256], hex[16384];
	int first;
	FILE *f;

	if (access(DEBIAN_PYTHON, X_OK)) {
		cr_assert(!getenv("CI"), DEBIAN_PYTHON " missing");
		cr_skip_test(DEBIAN_PYTHON " missing");
	}
	f = popen(DEBIAN_PYTHON " " TGPROF_SOURCE_DIR
				"/tests/fixtures/python_linetables.py",
		  "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "F %255s %d %16383s", name, &first, hex) ==
		    3) {
			size_t len = unhex(hex, table, sizeof(table));

			n = py_linetable__decode(table, len, first, r, 4096,
						 &end);
			cr_assert_gt(n, 0, "%s: %d", name, n);
			codes++;
		} else if (sscanf(line, "L %u %u %u", &s, &e, &l) == 3) {
			cr_assert_geq(n, 0);
			for (u = s; u < e; u++, units++)
				cr_assert_eq(py_linetable__line(r, (size_t)n,
								end, u),
					     l, "%s unit %u", name, u);
		}
	}
	cr_assert_eq(pclose(f), 0);
	cr_assert_geq(codes, 5);
	cr_assert_gt(units, 100);
}

/* ---- cache on a synthetic image ---- */

#define IMG_BASE 0x100000ull
#define IMG_SIZE 0x10000u
#define CODE1 (IMG_BASE + 0x0)
#define CODE2 (IMG_BASE + 0x400)
#define GARBAGE (IMG_BASE + 0x800)
#define S_QUAL (IMG_BASE + 0x1000)
#define S_FILE (IMG_BASE + 0x1100)
#define S_UCS2 (IMG_BASE + 0x1200)
#define S_LONG (IMG_BASE + 0x2000)
#define B_TABLE (IMG_BASE + 0x1400)

struct image {
	uint8_t mem[IMG_SIZE];
	int reads;
};

static int img_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct image *im = ctx;

	im->reads++;
	if (addr < IMG_BASE || addr - IMG_BASE > IMG_SIZE ||
	    len > IMG_SIZE - (addr - IMG_BASE))
		return -EFAULT;
	memcpy(buf, im->mem + (addr - IMG_BASE), len);
	return 0;
}

static void put(struct image *im, uint64_t addr, const void *v, size_t len)
{
	memcpy(im->mem + (addr - IMG_BASE), v, len);
}

static void put64(struct image *im, uint64_t addr, uint64_t v)
{
	put(im, addr, &v, 8);
}

static void put32(struct image *im, uint64_t addr, uint32_t v)
{
	put(im, addr, &v, 4);
}

static void put_ascii(struct image *im, const struct python_layout *l,
		      uint64_t addr, const char *s)
{
	put64(im, addr + l->unicode_length, strlen(s));
	put32(im, addr + l->unicode_state,
	      1u << l->state_kind_shift | 1u << l->state_compact_bit |
		      1u << l->state_ascii_bit);
	put(im, addr + l->unicode_ascii_data, s, strlen(s) + 1);
}

static void put_code(struct image *im, const struct python_layout *l,
		     uint64_t code, uint64_t qual, int first)
{
	put64(im, code + l->object_type, 0xc0de0000);
	put32(im, code + l->code_firstlineno, (uint32_t)first);
	put64(im, code + l->code_qualname, qual);
	put64(im, code + l->code_name, qual);
	put64(im, code + l->code_filename, S_FILE);
	put64(im, code + l->code_linetable, B_TABLE);
}

static void build_image(struct image *im, struct python_layout *l)
{
	/* "Ωmega" in UCS-2 */
	static const uint16_t ucs2[] = { 0x3a9, 'm', 'e', 'g', 'a' };

	memset(im, 0, sizeof(*im));
	cr_assert_eq(python_layout__for_version(0x030b02f0, l), 0);
	put_code(im, l, CODE1, S_QUAL, 5);
	put_code(im, l, CODE2, S_UCS2, 5);
	put_ascii(im, l, S_QUAL, "Klass.method");
	put_ascii(im, l, S_FILE, "/srv/app.py");
	put64(im, S_UCS2 + l->unicode_length, 5);
	put32(im, S_UCS2 + l->unicode_state,
	      2u << l->state_kind_shift | 1u << l->state_compact_bit);
	put(im, S_UCS2 + l->unicode_compact_data, ucs2, sizeof(ucs2));
	put64(im, B_TABLE + l->var_size, sizeof(crafted));
	put(im, B_TABLE + l->bytes_data, crafted, sizeof(crafted));
	memset(im->mem + (GARBAGE - IMG_BASE), 0xff, 0x200);
}

static struct pycode_cache *new_cache(struct image *im, size_t max_bytes)
{
	struct pycode_cache_opts o = { .sz = sizeof(o),
				       .max_bytes = max_bytes,
				       .read = img_read,
				       .read_ctx = im };
	struct pycode_cache *c = pycode_cache__new(&o, NULL);

	cr_assert_not_null(c);
	return c;
}

static uint64_t unit_addr(const struct python_layout *l, uint64_t code,
			  uint32_t unit)
{
	return code + l->code_code_adaptive + 2ull * unit;
}

Test(python_code_cache, names_file_and_line_are_read_then_cached)
{
	static struct image im;
	struct python_layout l;
	struct pycode_stats st;
	struct py_frame f;
	struct pycode_cache *c;
	int reads;

	build_image(&im, &l);
	c = new_cache(&im, 0);
	cr_assert_eq(pycode_cache__resolve(c, &l, 42, 7, CODE1,
					   unit_addr(&l, CODE1, 2), &f),
		     0);
	cr_assert_str_eq(f.qualname, "Klass.method");
	cr_assert_str_eq(f.file, "/srv/app.py");
	cr_assert_eq(f.line, 6);
	cr_assert_eq(f.firstlineno, 5);
	reads = im.reads;
	cr_assert_eq(pycode_cache__resolve(c, &l, 42, 7, CODE1,
					   unit_addr(&l, CODE1, 7), &f),
		     0);
	cr_assert_eq(f.line, 15);
	cr_assert_eq(im.reads, reads, "a hit reads nothing");
	/* prev_instr before the first unit: a frame that has not started. */
	cr_assert_eq(pycode_cache__resolve(c, &l, 42, 7, CODE1,
					   unit_addr(&l, CODE1, 0) - 2, &f),
		     0);
	cr_assert_eq(f.line, 5);
	/* 3.13: instr_ptr is the next unit. */
	l.instr_is_next = 1;
	cr_assert_eq(pycode_cache__resolve(c, &l, 42, 7, CODE1,
					   unit_addr(&l, CODE1, 3), &f),
		     0);
	cr_assert_eq(f.line, 6);
	l.instr_is_next = 0;

	cr_assert_eq(pycode_cache__resolve(c, &l, 42, 7, CODE2,
					   unit_addr(&l, CODE2, 0), &f),
		     0);
	cr_assert_str_eq(f.qualname, "\xce\xa9mega");
	/* The same address in a reused PID is another code object. */
	cr_assert_eq(pycode_cache__resolve(c, &l, 42, 8, CODE1,
					   unit_addr(&l, CODE1, 0), &f),
		     0);
	pycode_cache__stats(c, &st);
	cr_assert_eq(st.lookups, 6);
	cr_assert_eq(st.hits, 3);
	cr_assert_eq(st.misses, 3);
	cr_assert_eq(st.entries, 3);
	cr_assert_gt(st.bytes, 3 * (sizeof(crafted) + 12));
	cr_assert_eq(st.bad_objects + st.read_errors + st.evictions, 0);

	pycode_cache__forget(c, 42);
	cr_assert_str_eq(f.qualname, "Klass.method", "borrowed until epoch");
	pycode_cache__next_epoch(c);
	pycode_cache__stats(c, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(st.bytes, 0);
	pycode_cache__free(c);
}

Test(python_code_cache, byte_bound_evicts_least_recently_used)
{
	static struct image im;
	struct python_layout l;
	struct pycode_stats st;
	struct py_frame f;
	struct pycode_cache *c;
	size_t one;

	build_image(&im, &l);
	c = new_cache(&im, 0);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, CODE1, 0, &f), 0);
	pycode_cache__stats(c, &st);
	one = st.bytes;
	pycode_cache__free(c);

	/* Room for two: the third pushes the least recently used out. */
	c = new_cache(&im, 2 * one + one / 2);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, CODE1, 0, &f), 0);
	cr_assert_eq(pycode_cache__resolve(c, &l, 2, 0, CODE1, 0, &f), 0);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, CODE1, 0, &f), 0);
	cr_assert_eq(pycode_cache__resolve(c, &l, 3, 0, CODE1, 0, &f), 0);
	pycode_cache__stats(c, &st);
	cr_assert_eq(st.evictions, 1);
	cr_assert_eq(st.entries, 2);
	cr_assert_leq(st.bytes, st.max_bytes);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, CODE1, 0, &f), 0);
	pycode_cache__stats(c, &st);
	cr_assert_eq(st.hits, 2, "process 1 was used last, it stayed");
	pycode_cache__next_epoch(c);
	pycode_cache__free(c);

	/* Smaller than one entry: resolved, never kept. */
	c = new_cache(&im, one / 2);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, CODE1, 0, &f), 0);
	cr_assert_str_eq(f.qualname, "Klass.method");
	pycode_cache__stats(c, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(st.evictions, 1);
	pycode_cache__free(c);
}

Test(python_code_cache, unreadable_and_garbage_objects_are_counted)
{
	static struct image im;
	struct python_layout l;
	struct pycode_stats st;
	struct py_frame f;
	struct pycode_cache *c;

	build_image(&im, &l);
	c = new_cache(&im, 0);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, 0x10, 0, &f), -EFAULT);
	cr_assert_str_eq(f.qualname, "<unknown>");
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, GARBAGE, 0, &f),
		     -EINVAL);
	cr_assert_str_eq(f.file, "<unknown>");
	/* A str that is not compact, then one absurdly long. */
	put32(&im, S_QUAL + l.unicode_state, 1u << l.state_kind_shift);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, CODE1, 0, &f), -EINVAL);
	put_ascii(&im, &l, S_QUAL, "x");
	put64(&im, S_QUAL + l.unicode_length, 1ull << 40);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, CODE1, 0, &f), -EINVAL);
	/* A table that does not decode. */
	put_ascii(&im, &l, S_QUAL, "x");
	put(&im, B_TABLE + l.bytes_data, "\x01\x02", 2);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, CODE1, 0, &f), -EINVAL);
	pycode_cache__stats(c, &st);
	cr_assert_eq(st.read_errors, 1);
	cr_assert_eq(st.bad_objects, 4);
	cr_assert_eq(st.entries, 0);
	pycode_cache__free(c);
}

Test(python_code_cache, long_names_are_cut_and_counted)
{
	static struct image im;
	static char name[PYCODE_MAX_STRING + 100];
	struct python_layout l;
	struct pycode_stats st;
	struct py_frame f;
	struct pycode_cache *c;

	build_image(&im, &l);
	memset(name, 'a', sizeof(name) - 1);
	put_ascii(&im, &l, S_LONG, name);
	put64(&im, CODE1 + l.code_qualname, S_LONG);
	c = new_cache(&im, 0);
	cr_assert_eq(pycode_cache__resolve(c, &l, 1, 0, CODE1, 0, &f), 0);
	cr_assert_eq(strlen(f.qualname), PYCODE_MAX_STRING);
	pycode_cache__stats(c, &st);
	cr_assert_eq(st.strings_cut, 1);
	pycode_cache__free(c);
}

/* ---- a real python3.11 process ---- */

static const char real_script[] =
	"import sys\n"
	"def top(): pass\n"
	"class Outer:\n"
	"    class Inner:\n"
	"        def meth(self): pass\n"
	"def f\xc3\xa9(): pass\n"
	"for fn in (top, Outer.Inner.meth, f\xc3\xa9):\n"
	"    c = fn.__code__\n"
	"    print(id(c), c.co_firstlineno, c.co_qualname, c.co_filename)\n"
	"print('.', flush=True)\n"
	"sys.stdin.read()\n";

Test(python_code_cache, code_objects_of_a_real_python_3_11_resolve)
{
	char path[] = "/tmp/tgprof_pycode_XXXXXX.py", line[1024];
	int to_child[2], from_child[2], fd, n = 0;
	struct python_layout l;
	struct pycode_cache *c;
	FILE *out;
	pid_t pid;

	if (access(DEBIAN_PYTHON, X_OK)) {
		cr_assert(!getenv("CI"), DEBIAN_PYTHON " missing");
		cr_skip_test(DEBIAN_PYTHON " missing");
	}
	fd = mkstemps(path, 3);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, real_script, sizeof(real_script) - 1),
		     (ssize_t)sizeof(real_script) - 1);
	close(fd);
	cr_assert_eq(pipe(to_child), 0);
	cr_assert_eq(pipe(from_child), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl(DEBIAN_PYTHON, DEBIAN_PYTHON, path, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	out = fdopen(from_child[0], "r");
	cr_assert_not_null(out);
	cr_assert_eq(python_layout__for_version(0x030b02f0, &l), 0);
	c = pycode_cache__new(NULL, NULL);
	cr_assert_not_null(c);
	while (fgets(line, sizeof(line), out) && line[0] != '.') {
		unsigned long long code;
		char qual[256], file[512];
		struct py_frame f;
		unsigned int first;

		cr_assert_eq(sscanf(line, "%llu %u %255s %511s", &code, &first,
				    qual, file),
			     4);
		cr_assert_eq(
			pycode_cache__resolve(c, &l, (uint32_t)pid, 1, code,
					      code + l.code_code_adaptive, &f),
			0, "%s", qual);
		cr_assert_str_eq(f.qualname, qual);
		cr_assert_str_eq(f.file, file);
		cr_assert_eq(f.firstlineno, first);
		cr_assert_eq(f.line, first,
			     "the first unit is on the def line");
		n++;
	}
	close(to_child[1]);
	fclose(out);
	waitpid(pid, NULL, 0);
	unlink(path);
	pycode_cache__free(c);
	cr_assert_eq(n, 3);
}

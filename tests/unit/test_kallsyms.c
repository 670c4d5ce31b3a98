// SPDX-License-Identifier: Apache-2.0
/* Tests of the kernel symbol table behind kernel frames
 * (receiver/symbols/kallsyms.c): fake kallsyms files written by the test, and the
 * real /proc/kallsyms when this process may read its addresses. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "receiver/symbols/kallsyms.h"

/* A kallsyms file with @text, as a path the loader can open. */
struct fake {
	int fd;
	char path[64];
};

static void fake_write(struct fake *f, const char *text)
{
	f->fd = memfd_create("tgprof-kallsyms-test", MFD_CLOEXEC);
	cr_assert(f->fd >= 0);
	cr_assert(write(f->fd, text, strlen(text)) == (ssize_t)strlen(text));
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

static void fake_close(struct fake *f)
{
	close(f->fd);
}

static struct kallsyms *load_text(const char *text)
{
	struct kallsyms *ks;
	struct fake f;
	int err;

	fake_write(&f, text);
	ks = kallsyms__load(f.path);
	err = errno;
	fake_close(&f);
	errno = err;
	return ks;
}

static const char sample[] = "ffffffff81002000 T do_work\n"
			     "ffffffff81000000 T _stext\n"
			     "ffffffff81000000 T _text\n"
			     "ffffffff81000000 t startup_64\n"
			     "ffffffff81001000 t helper_local\n"
			     "ffffffff81001800 W weak_fn\n"
			     "ffffffff81001c00 w weak_local\n"
			     "ffffffff81003000 T _etext\n"
			     "ffffffff81004000 D some_data\n"
			     "ffffffff81004100 R some_rodata\n"
			     "ffffffff81004200 B some_bss\n"
			     "ffffffff81004300 A some_absolute\n"
			     "ffffffff81005000 T _sinittext\n"
			     "ffffffff81005010 t init_fn\n"
			     "ffffffff81005100 T _einittext\n"
			     "ffffffffc0001000 t mod_fn_a\t[mymod]\n"
			     "ffffffffc0000000 T mod_init\t[mymod]\n"
			     "ffffffffc0002000 t other_fn\t[othermod]\n"
			     "ffffffffc0002000 d other_data\t[othermod]\n";

static void assert_sym(const struct kallsyms *ks, uint64_t addr,
		       const char *name, uint64_t offset, const char *module)
{
	const char *got, *mod = "unset";
	uint64_t off = UINT64_MAX;

	got = kallsyms__lookup(ks, addr, &off, &mod);
	cr_assert(got, "%#llx is named", (unsigned long long)addr);
	cr_assert_str_eq(got, name);
	cr_assert_eq(off, offset, "%s+%#llx", name, (unsigned long long)off);
	if (module)
		cr_assert_str_eq(mod, module);
	else
		cr_assert_null(mod, "%s is in vmlinux", name);
}

Test(kallsyms, unordered_text_symbols_are_found_by_greatest_address)
{
	struct kallsyms *ks = load_text(sample);

	cr_assert(ks, "load: %s", strerror(errno));
	/* One symbol per text address; data types never load. */
	cr_assert_eq(kallsyms__count(ks), 12);
	assert_sym(ks, 0xffffffff81000010, "startup_64", 0x10, NULL);
	assert_sym(ks, 0xffffffff81001005, "helper_local", 5, NULL);
	assert_sym(ks, 0xffffffff81001800, "weak_fn", 0, NULL);
	assert_sym(ks, 0xffffffff81001c01, "weak_local", 1, NULL);
	assert_sym(ks, 0xffffffff81002fff, "do_work", 0xfff, NULL);
	assert_sym(ks, 0xffffffff81005011, "init_fn", 1, NULL);
	assert_sym(ks, 0xffffffffc0000010, "mod_init", 0x10, "mymod");
	assert_sym(ks, 0xffffffffc0001004, "mod_fn_a", 4, "mymod");
	assert_sym(ks, 0xffffffffc0002000, "other_fn", 0, "othermod");
	kallsyms__free(ks);
}

Test(kallsyms, addresses_outside_kernel_text_are_not_named)
{
	struct kallsyms *ks = load_text(sample);

	cr_assert(ks);
	/* Below the first symbol. */
	cr_assert_null(kallsyms__lookup(ks, 0xffffffff80ffffff, NULL, NULL));
	cr_assert_null(kallsyms__lookup(ks, 0, NULL, NULL));
	/* Between the end of text and init text: rodata, data, bss. */
	cr_assert_null(kallsyms__lookup(ks, 0xffffffff81003000, NULL, NULL));
	cr_assert_null(kallsyms__lookup(ks, 0xffffffff81004100, NULL, NULL));
	cr_assert_null(kallsyms__lookup(ks, 0xffffffff81004fff, NULL, NULL));
	/* After the end of init text. */
	cr_assert_null(kallsyms__lookup(ks, 0xffffffff81005100, NULL, NULL));
	/* Far past the last module symbol. */
	cr_assert_null(kallsyms__lookup(ks, 0xffffffffc0002000 + (2u << 20),
					NULL, NULL));
	cr_assert_null(kallsyms__lookup(ks, UINT64_MAX, NULL, NULL));
	cr_assert_null(kallsyms__lookup(NULL, 0xffffffff81000000, NULL, NULL));
	kallsyms__free(ks);
}

Test(kallsyms, all_zero_addresses_fail_with_eperm)
{
	errno = 0;
	cr_assert_null(load_text("0000000000000000 T _text\n"
				 "0000000000000000 T schedule\n"
				 "0000000000000000 t helper\t[mymod]\n"
				 "0000000000000000 D data\n"));
	cr_assert_eq(errno, EPERM);
}

Test(kallsyms, missing_file_fails_with_enoent)
{
	errno = 0;
	cr_assert_null(kallsyms__load("/nonexistent/tgprof/kallsyms"));
	cr_assert_eq(errno, ENOENT);
	errno = 0;
	cr_assert_null(load_text(""));
	cr_assert_eq(errno, ENOENT);
	kallsyms__free(NULL);
	cr_assert_eq(kallsyms__count(NULL), 0);
}

Test(kallsyms, malformed_and_overlong_lines_are_skipped)
{
	char *text, *p, *line;
	size_t cap = 16384;
	struct kallsyms *ks;

	text = malloc(cap);
	cr_assert(text);
	p = text;
	p += sprintf(p, "garbage\n"
			"ffffffff81000000\n"
			"zzzzzzzzzzzzzzzz T not_hex\n"
			"ffffffff81000000 T\n"
			"ffffffff81000000 TT two_letters\n"
			"ffffffff81000000  T two_spaces\n"
			"ffffffff81000000 T bad_module\tmymod\n"
			"ffffffff81000000 T empty_module\t[]\n"
			"\n"
			"ffffffff81000000 T first_good\n");
	/* A name longer than any the kernel allows, holding what looks like
	 * a line where the reader's 1 KiB buffer ends: not a line start. */
	line = p;
	p += sprintf(p, "ffffffff81000100 T ");
	memset(p, 'x', 1023 - (p - line));
	p = line + 1023;
	p += sprintf(p, "ffffffff81000200 T smuggled\n");
	/* One spanning several buffers. */
	p += sprintf(p, "ffffffff81000280 T ");
	memset(p, 'y', 3000);
	p += 3000;
	p += sprintf(p, "\nffffffff81000300 T after_long\n"
			"ffffffff81000400 T no_newline_at_end");
	ks = load_text(text);
	free(text);
	cr_assert(ks, "load: %s", strerror(errno));
	cr_assert_eq(kallsyms__count(ks), 3);
	assert_sym(ks, 0xffffffff81000250, "first_good", 0x250, NULL);
	assert_sym(ks, 0xffffffff81000301, "after_long", 1, NULL);
	assert_sym(ks, 0xffffffff81000402, "no_newline_at_end", 2, NULL);
	kallsyms__free(ks);
}

/* The address of @name in vmlinux, read straight from @path. */
static uint64_t grep_addr(const char *path, const char *name)
{
	char line[1024], sym[512], type;
	unsigned long long addr;
	uint64_t found = 0;
	FILE *f = fopen(path, "re");

	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %511s", &addr, &type, sym) == 3 &&
		    (type == 'T' || type == 't') && strcmp(sym, name) == 0 &&
		    !strchr(line, '\t'))
			found = addr;
	}
	fclose(f);
	return found;
}

static bool in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && strcmp(ci, "true") == 0;
}

Test(kallsyms, real_proc_kallsyms_names_schedule)
{
	struct kallsyms *ks;
	uint64_t addr;

	ks = kallsyms__load(NULL);
	if (!ks) {
		/* Unit tests need no root; CI runs as root and must test. */
		if (!in_ci() && (errno == EPERM || errno == EACCES))
			cr_skip_test("kernel addresses hidden: %s",
				     strerror(errno));
		cr_assert_fail("load /proc/kallsyms: %s", strerror(errno));
	}
	cr_assert_gt(kallsyms__count(ks), 1000);
	addr = grep_addr("/proc/kallsyms", "schedule");
	cr_assert(addr, "schedule is in /proc/kallsyms");
	assert_sym(ks, addr, "schedule", 0, NULL);
	assert_sym(ks, addr + 4, "schedule", 4, NULL);
	kallsyms__free(ks);
}

Test(kallsyms, padding_symbols_share_the_name_of_their_function)
{
	static const char pfx_first[] = "ffffffff81000ff0 t __pfx_alpha_fn\n"
					"ffffffff81001000 t alpha_fn\n"
					"ffffffff81001ff0 T __pfx_beta_fn\n"
					"ffffffff81002000 T beta_fn\n";
	/* The same symbols, each padding listed after its function. */
	static const char pfx_after[] = "ffffffff81001000 t alpha_fn\n"
					"ffffffff81000ff0 t __pfx_alpha_fn\n"
					"ffffffff81002000 T beta_fn\n"
					"ffffffff81001ff0 T __pfx_beta_fn\n";
	struct kallsyms *shared = load_text(pfx_first);
	struct kallsyms *apart = load_text(pfx_after);

	cr_assert(shared && apart);
	assert_sym(shared, 0xffffffff81000ff4, "__pfx_alpha_fn", 4, NULL);
	assert_sym(shared, 0xffffffff81001008, "alpha_fn", 8, NULL);
	assert_sym(shared, 0xffffffff81001ff0, "__pfx_beta_fn", 0, NULL);
	assert_sym(shared, 0xffffffff81002001, "beta_fn", 1, NULL);
	assert_sym(apart, 0xffffffff81001008, "alpha_fn", 8, NULL);
	/* "alpha_fn\0" and "beta_fn\0" are stored once, inside their
	 * padding's names. */
	cr_assert_eq(kallsyms__memory(apart) - kallsyms__memory(shared),
		     strlen("alpha_fn") + 1 + strlen("beta_fn") + 1);
	kallsyms__free(shared);
	kallsyms__free(apart);
}

Test(kallsyms, symbols_whose_high_address_bits_differ_are_found_across_runs)
{
	struct kallsyms *ks =
		load_text("0000000100000000 T low_run_fn\n"
			  "00000001fffff000 T low_run_last\n"
			  "0000000200000010 T high_run_first\t[modx]\n"
			  "ffffffff81000000 T vmlinux_fn\n");

	cr_assert(ks, "load: %s", strerror(errno));
	assert_sym(ks, 0x100000004, "low_run_fn", 4, NULL);
	assert_sym(ks, 0x1fffff100, "low_run_last", 0x100, NULL);
	/* Above the next run's high half but below its first symbol: the
	 * last symbol of the run before. */
	assert_sym(ks, 0x200000008, "low_run_last", 0x1008, NULL);
	assert_sym(ks, 0x200000010, "high_run_first", 0, "modx");
	assert_sym(ks, 0xffffffff81000010, "vmlinux_fn", 0x10, NULL);
	/* Between runs, further than any function reaches. */
	cr_assert_null(kallsyms__lookup(ks, 0x300000000, NULL, NULL));
	kallsyms__free(ks);
}

Test(kallsyms, real_proc_kallsyms_costs_at_most_8_bytes_a_symbol_and_names)
{
	struct kallsyms *ks = kallsyms__load(NULL);
	size_t names = 0, n = 0;
	char line[1024], sym[512], type;
	unsigned long long addr;
	FILE *f;

	if (!ks) {
		if (!in_ci() && (errno == EPERM || errno == EACCES))
			cr_skip_test("kernel addresses hidden: %s",
				     strerror(errno));
		cr_assert_fail("load /proc/kallsyms: %s", strerror(errno));
	}
	f = fopen("/proc/kallsyms", "re");
	cr_assert(f);
	/* Every text name's bytes, as a table without sharing holds them. */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %511s", &addr, &type, sym) == 3 &&
		    strchr("tTwW", type)) {
			names += strlen(sym) + 1;
			n++;
		}
	fclose(f);
	cr_assert_geq(n, kallsyms__count(ks));
	cr_assert_leq(kallsyms__memory(ks),
		      8 * kallsyms__count(ks) + names + 65536,
		      "%zu bytes for %zu symbols, %zu bytes of names",
		      kallsyms__memory(ks), kallsyms__count(ks), names);
	kallsyms__free(ks);
}

// SPDX-License-Identifier: Apache-2.0
/* Tests of Go's function table reader (receiver/runtimes/go/pclntab.c) on
 * the go_spin_stripped fixture: the start of the text found from the
 * module data, from .text alone, and neither (refused, never guessed);
 * a table of a layout it does not read is refused. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "go_fixture.h"
#include "receiver/runtimes/go/pclntab.h"

#define FIXTURE(name) TGPROF_FIXTURE_DIR "/" name

struct image {
	unsigned char *buf;
	size_t len;
};

static int image_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct image *im = ctx;

	if (off > im->len || len > im->len - off)
		return -ENOEXEC;
	memcpy(buf, im->buf + off, len);
	return 0;
}

/* The fixture, and the sections the reader is given, from its headers. */
static void load(struct image *im, struct gopclntab_input *in)
{
	const char *path = FIXTURE("go_spin_stripped");
	const char *name;
	const Elf64_Shdr *sh, *shstr;
	const Elf64_Ehdr *eh;
	struct stat st;
	size_t i;
	int fd;

	require_go_fixture(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0 && fstat(fd, &st) == 0);
	im->len = (size_t)st.st_size;
	im->buf = malloc(im->len);
	cr_assert(im->buf);
	cr_assert_eq(read(fd, im->buf, im->len), (ssize_t)im->len);
	close(fd);
	memset(in, 0, sizeof(*in));
	in->read = image_read;
	in->read_ctx = im;
	eh = (const Elf64_Ehdr *)im->buf;
	shstr = (const Elf64_Shdr *)(im->buf + eh->e_shoff +
				     eh->e_shstrndx * sizeof(*sh));
	for (i = 1; i < eh->e_shnum; i++) {
		struct gopclntab_section s;

		sh = (const Elf64_Shdr *)(im->buf + eh->e_shoff +
					  i * sizeof(*sh));
		name = (const char *)im->buf + shstr->sh_offset + sh->sh_name;
		s = (struct gopclntab_section){ sh->sh_addr, sh->sh_offset,
						sh->sh_size };
		if (!strcmp(name, ".gopclntab"))
			in->pclntab = s;
		else if (!strcmp(name, ".text"))
			in->text = s;
		else if (!strcmp(name, ".go.module") ||
			 !strcmp(name, ".noptrdata") || !strcmp(name, ".data"))
			in->data[in->ndata++] = s;
	}
	cr_assert(in->pclntab.size && in->text.size && in->ndata);
}

struct seen {
	const struct image *im;
	uint64_t n, first, last_end;
	uint64_t leaf; /* main.goSpinLeaf's entry */
	bool rising;
};

static int on_func(void *ctx, uint64_t addr, uint64_t size, uint64_t name)
{
	struct seen *s = ctx;
	const char *p = (const char *)s->im->buf + name;

	if (!s->n)
		s->first = addr;
	s->rising &= addr >= s->last_end;
	s->last_end = addr + size;
	if (!strcmp(p, "main.goSpinLeaf"))
		s->leaf = addr;
	s->n++;
	return 0;
}

static int walk(const struct gopclntab_input *in, const struct image *im,
		struct seen *s)
{
	uint64_t off, size;

	*s = (struct seen){ .im = im, .rising = true };
	return gopclntab__funcs(in, on_func, s, &off, &size);
}

Test(gopclntab, functions_rise_from_the_start_of_text_and_name_main)
{
	struct gopclntab_input in;
	struct image im;
	struct seen s;

	load(&im, &in);
	cr_assert_eq(walk(&in, &im, &s), 0);
	cr_assert_geq(s.n, 1000);
	cr_assert(s.rising, "entries rise and do not overlap");
	cr_assert_eq(s.first, in.text.addr);
	cr_assert_leq(s.last_end, in.text.addr + in.text.size);
	cr_assert(s.leaf > in.text.addr, "main.goSpinLeaf is found");
	free(im.buf);
}

Test(gopclntab, text_from_the_module_data_or_from_text_alone)
{
	struct gopclntab_input in, only;
	struct image im;
	struct seen s;
	uint64_t leaf;

	load(&im, &in);
	cr_assert_eq(walk(&in, &im, &s), 0);
	leaf = s.leaf;
	/* Without .text: the module data says where the text is. */
	only = in;
	only.text = (struct gopclntab_section){ 0 };
	cr_assert_eq(walk(&only, &im, &s), 0);
	cr_assert_eq(s.leaf, leaf);
	/* Without the module data: .text, which the functions fill. */
	only = in;
	only.ndata = 0;
	cr_assert_eq(walk(&only, &im, &s), 0);
	cr_assert_eq(s.leaf, leaf);
	/* A .text the functions do not fill (code before them, as an
	 * external linker may put): no guess. */
	only.text.addr -= 256;
	only.text.size += 256;
	cr_assert_eq(walk(&only, &im, &s), -ENOENT);
	/* Neither: refused, not guessed. */
	only.text = (struct gopclntab_section){ 0 };
	cr_assert_eq(walk(&only, &im, &s), -ENOENT);
	free(im.buf);
}

Test(gopclntab, unknown_layouts_are_refused)
{
	struct gopclntab_input in;
	unsigned char *h;
	struct image im;
	struct seen s;

	load(&im, &in);
	h = im.buf + in.pclntab.off;
	h[0] ^= 0x0f; /* a magic of no Go release */
	cr_assert_eq(walk(&in, &im, &s), -ENOEXEC);
	h[0] ^= 0x0f;
	h[7] = 4; /* 32-bit pointers */
	cr_assert_eq(walk(&in, &im, &s), -ENOEXEC);
	h[7] = 8;
	in.pclntab.size = 40; /* shorter than a header */
	cr_assert_eq(walk(&in, &im, &s), -ENOEXEC);
	cr_assert_eq(s.n, 0);
	free(im.buf);
}

struct runs {
	uint64_t n, sp, end, switches, unknown;
	uint64_t first, last_end;
	uint64_t goexit; /* where runtime.goexit's END run starts */
	bool contiguous;
};

static int on_frame(void *ctx, uint64_t start, uint64_t end,
		    enum gopclntab_frame kind, int64_t sp)
{
	struct runs *r = ctx;

	if (!r->n)
		r->first = start;
	else if (start < r->last_end)
		r->contiguous = false;
	r->last_end = end;
	r->n++;
	if (kind == GOPCLNTAB_FRAME_SP) {
		r->sp++;
		cr_assert_geq(sp, 0);
	} else if (kind == GOPCLNTAB_FRAME_END) {
		r->end++;
		r->goexit = start;
	} else if (kind == GOPCLNTAB_FRAME_SWITCH) {
		r->switches++;
	} else {
		r->unknown++;
	}
	return 0;
}

/* Every function's code gets rules, in order (its alignment padding
 * too, with its last rule); the outermost ones end the stack, the
 * stack-switching ones are told apart; without the SP tables only those
 * two kinds are handed on; a table the reader cannot read gives nothing. */
Test(gopclntab, sp_tables_cover_every_function_in_order)
{
	struct gopclntab_input in;
	struct runs r = { .contiguous = true }, all;
	struct image im;
	struct seen s;
	long n;

	load(&im, &in);
	cr_assert_eq(walk(&in, &im, &s), 0);
	n = gopclntab__frames(&in, true, on_frame, &r);
	cr_assert_eq((uint64_t)n, s.n, "%ld functions, %llu named", n,
		     (unsigned long long)s.n);
	cr_assert(r.contiguous, "runs rise and do not overlap");
	cr_assert_eq(r.first, s.first);
	cr_assert_eq(r.last_end, s.last_end);
	cr_assert_gt(r.sp, r.n / 2);
	cr_assert_geq(r.end, 3, "goexit, mstart, rt0_go");
	cr_assert_geq(r.switches, 5, "systemstack, gogo, mcall, nanotime1...");
	/* Markers with no code (go:textfipsstart), and what pops its own
	 * return address (syscall.rawVforkSyscall, SP above its entry's):
	 * frame pointers there. */
	cr_assert_leq(r.unknown * 100, r.n, "%llu of %llu runs unknown",
		      (unsigned long long)r.unknown, (unsigned long long)r.n);
	/* Without the SP tables: the same functions, only those two kinds. */
	all = r;
	r = (struct runs){ .contiguous = true };
	cr_assert_eq(gopclntab__frames(&in, false, on_frame, &r), n);
	cr_assert_eq(r.sp + r.unknown, 0);
	cr_assert_eq(r.end, all.end);
	cr_assert_eq(r.switches, all.switches);
	in.pclntab.size = 40;
	cr_assert_eq(gopclntab__frames(&in, true, on_frame, &r), -ENOEXEC);
	free(im.buf);
}

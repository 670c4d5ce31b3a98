// SPDX-License-Identifier: Apache-2.0
/* Tests of the kernel layout of unwind tables (receiver/unwind/layout.c):
 * the lookup the BPF walk makes over chunks and the page index finds, for
 * every address of real libraries, the row the table itself holds; dense
 * pages, page-aligned rows and bad rows are handled. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "receiver/unwind/layout.h"
#include "receiver/unwind/table.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBSTDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"

static bool row_eq(const struct unwind_row *a, const struct unwind_row *b)
{
	return a->pc == b->pc && a->cfa_offset == b->cfa_offset &&
	       a->rbp_offset == b->rbp_offset && a->cfa_type == b->cfa_type &&
	       a->rbp_type == b->rbp_type;
}

/* Every address of @path's table: the layout's row is the table's. */
static void check_every_address(const char *path)
{
	struct unwind_layout l = { 0 };
	const struct unwind_row *rows, *want, *got;
	struct unwind_table *t = NULL;
	uint64_t base, extent, pc;
	size_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	err = unwind_table__compile_fd(fd, -1, NULL, &t);
	close(fd);
	cr_assert_eq(err, 0, "compile %s: %s", path, strerror(-err));
	rows = unwind_table__rows(t, &n);
	base = unwind_table__base(t);
	extent = unwind_table__extent(t);

	err = unwind_layout__build(rows, n, extent, &l);
	cr_assert_eq(err, 0, "layout of %s: %s", path, strerror(-err));
	cr_assert_eq(l.rows_cut, 0);
	for (pc = 0; pc < extent; pc++) {
		want = unwind_table__lookup(t, base + pc);
		got = unwind_layout__lookup(&l, pc);
		cr_assert(want && got, "%s: no row at pc %#llx", path,
			  (unsigned long long)pc);
		cr_assert(row_eq(want, got),
			  "%s: pc %#llx: layout row at %#x, table row at %#x",
			  path, (unsigned long long)pc, got->pc, want->pc);
	}
	/* Every row is in a chunk, a few twice at chunk starts. */
	cr_assert_geq((uint64_t)l.nchunks * UNWIND_CHUNK_ROWS,
		      n + l.rows_repeated);
	cr_assert_eq(unwind_layout__kernel_bytes(&l),
		     (uint64_t)l.nchunks * 4096 + (uint64_t)l.ngroups * 256);
	unwind_layout__release(&l);
	unwind_table__free(t);
}

Test(unwind_layout, every_libc_address_finds_the_tables_row)
{
	check_every_address(LIBC);
}

Test(unwind_layout, every_libstdcxx_address_finds_the_tables_row)
{
	check_every_address(LIBSTDCXX);
}

#define PAGE (1u << UNWIND_PAGE_SHIFT)

/* Rows every 64 bytes over three pages, so rows start exactly on page
 * boundaries, and enough pages for rows to run over into further chunks:
 * every lookup lands on its row. */
Test(unwind_layout, rows_on_page_and_chunk_boundaries_are_found)
{
	static struct unwind_row rows[64 * PAGE / 64];
	struct unwind_layout l = { 0 };
	const struct unwind_row *got;
	size_t i, n = 0;
	uint64_t pc;

	for (i = 0; i < 64 * PAGE / 64; i++)
		rows[n++] = (struct unwind_row){ .pc = (uint32_t)(i * 64),
						 .cfa_type = UNWIND_CFA_RSP,
						 .cfa_offset = (int32_t)i };
	cr_assert_eq(unwind_layout__build(rows, n, 64 * PAGE, &l), 0);
	cr_assert_eq(l.npages, 64);
	cr_assert_gt(l.nchunks, 1);
	cr_assert_eq(l.ngroups, 2);
	for (pc = 0; pc < 64 * PAGE; pc++) {
		got = unwind_layout__lookup(&l, pc);
		cr_assert(got);
		cr_assert_eq(got->pc, pc / 64 * 64);
		cr_assert_eq(got->cfa_offset, pc / 64);
	}
	cr_assert_null(unwind_layout__lookup(&l, 64 * PAGE));
	unwind_layout__release(&l);
}

/* A page with a row every 4 bytes (512 rows) cannot fit a chunk: its
 * first rows are kept, the rest of the page falls back to frame pointers
 * and is counted; the next page is whole again. */
Test(unwind_layout, a_page_denser_than_a_chunk_falls_back_to_frame_pointers)
{
	static struct unwind_row rows[600];
	struct unwind_layout l = { 0 };
	const struct unwind_row *got;
	size_t i, n = 0;

	for (i = 0; i < PAGE / 4; i++)
		rows[n++] = (struct unwind_row){ .pc = (uint32_t)(i * 4),
						 .cfa_type = UNWIND_CFA_RSP,
						 .cfa_offset = 8 };
	rows[n++] = (struct unwind_row){ .pc = PAGE,
					 .cfa_type = UNWIND_CFA_RBP,
					 .cfa_offset = 16 };
	cr_assert_eq(unwind_layout__build(rows, n, 2 * PAGE, &l), 0);
	cr_assert_eq(l.rows_cut, PAGE / 4 - (UNWIND_CHUNK_ROWS - 1));
	got = unwind_layout__lookup(&l, 4 * 100 + 2);
	cr_assert_eq(got->pc, 400);
	cr_assert_eq(got->cfa_type, UNWIND_CFA_RSP);
	got = unwind_layout__lookup(&l, 4 * 400);
	cr_assert_eq(got->cfa_type, UNWIND_CFA_NONE);
	got = unwind_layout__lookup(&l, PAGE + 100);
	cr_assert_eq(got->cfa_type, UNWIND_CFA_RBP);
	unwind_layout__release(&l);
}

Test(unwind_layout, unsorted_or_misplaced_rows_are_refused)
{
	struct unwind_row rows[3] = { { .pc = 0 }, { .pc = 16 }, { .pc = 8 } };
	struct unwind_layout l = { 0 };

	cr_assert_eq(unwind_layout__build(rows, 3, PAGE, &l), -EINVAL);
	rows[2].pc = 16;
	cr_assert_eq(unwind_layout__build(rows, 3, PAGE, &l), -EINVAL);
	rows[0].pc = 4;
	rows[2].pc = 32;
	cr_assert_eq(unwind_layout__build(rows, 3, PAGE, &l), -EINVAL);
	rows[0].pc = 0;
	cr_assert_eq(unwind_layout__build(rows, 3, 32, &l), -EINVAL);
	cr_assert_eq(unwind_layout__build(rows, 0, PAGE, &l), -EINVAL);
	cr_assert_eq(unwind_layout__build(rows, 3, 1ull << 32, &l), -E2BIG);
	cr_assert_null(l.chunks);
	unwind_layout__release(&l);
}

/* What unwind_layout__stream() hands out, checked against a built
 * layout as it comes. */
struct stream_check {
	const struct unwind_layout *built;
	uint32_t next; /* index expected */
	uint32_t fail_at; /* UINT32_MAX: never */
};

static int stream_put(void *ctx, uint32_t index,
		      const struct unwind_chunk *chunk)
{
	struct stream_check *sc = ctx;

	cr_assert_eq(index, sc->next, "chunks come in order");
	cr_assert_lt(index, sc->built->nchunks);
	cr_assert(!memcmp(chunk, &sc->built->chunks[index], sizeof(*chunk)),
		  "chunk %u is the built layout's", index);
	if (index == sc->fail_at)
		return -ENOSPC;
	sc->next++;
	return 0;
}

Test(unwind_layout, a_streamed_layout_is_the_built_one_chunk_by_chunk)
{
	struct unwind_layout built = { 0 }, l = { 0 };
	struct unwind_table *t = NULL;
	struct stream_check sc = { .built = &built, .fail_at = UINT32_MAX };
	const struct unwind_row *rows;
	uint64_t extent;
	size_t n;
	int fd, err;

	fd = open(LIBC, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	cr_assert_eq(unwind_table__compile_fd(fd, -1, NULL, &t), 0);
	close(fd);
	rows = unwind_table__rows(t, &n);
	extent = unwind_table__extent(t);
	cr_assert_eq(unwind_layout__build(rows, n, extent, &built), 0);

	cr_assert_eq(unwind_layout__count(rows, n, extent, &l), 0);
	cr_assert_eq(l.nchunks, built.nchunks);
	cr_assert_eq(unwind_layout__kernel_bytes(&l),
		     unwind_layout__kernel_bytes(&built));
	cr_assert_null(l.chunks, "counting makes no chunks");
	err = unwind_layout__stream(rows, n, &l, stream_put, &sc);
	cr_assert_eq(err, 0);
	cr_assert_eq(sc.next, built.nchunks, "every chunk was put once");
	cr_assert_null(l.chunks);
	cr_assert(!memcmp(l.groups, built.groups,
			  built.ngroups * sizeof(*built.groups)),
		  "the page index is the built one");
	unwind_layout__release(&l);

	/* A put that fails stops the stream with its error. */
	cr_assert_gt(built.nchunks, 3);
	cr_assert_eq(unwind_layout__count(rows, n, extent, &l), 0);
	sc.next = 0;
	sc.fail_at = 2;
	cr_assert_eq(unwind_layout__stream(rows, n, &l, stream_put, &sc),
		     -ENOSPC);
	cr_assert_eq(sc.next, 2);
	unwind_layout__release(&l);
	unwind_layout__release(&built);
	unwind_table__free(t);
}

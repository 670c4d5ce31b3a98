// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target for the symbolizer's readers of untrusted files: the ELF
 * symbol reader (from memory and from an fd), the build-id peek, the DWARF
 * reader and its lookups, the MiniDebugInfo (xz) decoder and the Rust
 * demanglers. Built with clang -fsanitize=fuzzer,address; ctest runs it for
 * a bounded time on a seed corpus made of the fixtures (tests/fuzz/
 * CMakeLists.txt). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "receiver/symbols/debuginfo.h"
#include "receiver/symbols/demangle.h"
#include "receiver/symbols/dwarf.h"
#include "receiver/symbols/elfsym.h"

/* Where the fixtures keep their code: looked up densely. */
#define FUZZ_TEXT_START 0x1000
#define FUZZ_TEXT_END 0x1400

static void exercise_table(struct elfsym *e, size_t size)
{
	struct elfsym_debug di;
	uint8_t id[ELFSYM_MAX_BUILD_ID];
	uint64_t vaddr, off, a;

	elfsym__debug(e, &di);
	if (di.debuglink)
		(void)strlen(di.debuglink);
	(void)elfsym__build_id(e, id, sizeof(id));
	(void)elfsym__count(e);
	(void)elfsym__memory(e);
	for (off = 0; off < size && off < 0x10000; off += 61)
		if (elfsym__offset_to_vaddr(e, off, &vaddr) == 0)
			(void)elfsym__lookup(e, vaddr, &a);
	for (a = FUZZ_TEXT_START; a < FUZZ_TEXT_END; a += 7)
		(void)elfsym__lookup(e, a, &off);
}

static void exercise_dwarf(int fd)
{
	struct dwarf_frame fr[DWARF_MAX_FRAMES];
	struct dwarf_file *d = dwarf__open_fd(fd, 64u << 20);
	uint64_t a;

	if (!d)
		return;
	for (a = FUZZ_TEXT_START; a < FUZZ_TEXT_END; a += 3)
		(void)dwarf__lookup(d, a, fr, DWARF_MAX_FRAMES);
	(void)dwarf__lookup(d, FUZZ_TEXT_START + 1, fr, 1);
	dwarf__free(d);
}

static void exercise_names(const uint8_t *data, size_t size)
{
	char *name = malloc(size + 3), out[512], *s;

	if (!name)
		return;
	memcpy(name, "_R", 2);
	memcpy(name + 2, data, size);
	name[size + 2] = '\0';
	(void)demangle__rust_v0(name, out, sizeof(out));
	/* Through the cached entry point too (C++ goes to libiberty, which
	 * is not what this target fuzzes). */
	s = demangle__name(name);
	free(s);
	name[1] = 'Z';
	(void)demangle__rust_legacy(name, out, sizeof(out));
	free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[ELFSYM_MAX_BUILD_ID];
	struct elfsym *e;
	void *xz;
	size_t len;
	int fd;

	e = elfsym__load_mem(data, size);
	if (e)
		exercise_table(e, size);
	elfsym__free(e);

	fd = memfd_create("tgprof-fuzz", MFD_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, data, size) == (ssize_t)size) {
			(void)elfsym__peek_build_id(fd, id, sizeof(id));
			e = elfsym__load_fd(fd);
			if (e)
				exercise_table(e, size);
			elfsym__free(e);
			exercise_dwarf(fd);
		}
		close(fd);
	}

	if (debuginfo__xz_decode(data, size, 1u << 20, &xz, &len) == 0)
		free(xz);
	if (size < 4096)
		exercise_names(data, size);
	return 0;
}

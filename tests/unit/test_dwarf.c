// SPDX-License-Identifier: Apache-2.0
/* Tests of the DWARF reader (receiver/symbols/dwarf.c) on the symbols
 * fixture: what it holds in memory for a well-formed file and for one
 * whose string section does not end its last string. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receiver/symbols/dwarf.h"

#define FIXTURE(name) TGPROF_FIXTURE_DIR "/" name

/* A copy of @src in a temporary file, with the last byte of section
 * @section set to @byte when @section is not NULL. Returns its fd. */
static int copy_with_last_byte(const char *src, const char *section, char byte)
{
	char path[] = "/tmp/tgprof-dwarf-XXXXXX", buf[65536];
	int in, out;
	ssize_t n;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;
	Elf *elf;

	in = open(src, O_RDONLY | O_CLOEXEC);
	cr_assert(in >= 0, "open %s", src);
	out = mkstemp(path);
	cr_assert(out >= 0);
	unlink(path);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert(write(out, buf, (size_t)n) == n);
	if (section) {
		elf_version(EV_CURRENT);
		elf = elf_begin(in, ELF_C_READ, NULL);
		cr_assert(elf && !elf_getshdrstrndx(elf, &shstrndx));
		while ((scn = elf_nextscn(elf, scn))) {
			cr_assert(gelf_getshdr(scn, &sh));
			if (strcmp(elf_strptr(elf, shstrndx, sh.sh_name),
				   section))
				continue;
			cr_assert(!(sh.sh_flags & SHF_COMPRESSED) &&
				  sh.sh_size > 0);
			cr_assert(pwrite(out, &byte, 1,
					 (off_t)(sh.sh_offset + sh.sh_size -
						 1)) == 1);
			break;
		}
		cr_assert(scn, "%s has no %s", src, section);
		elf_end(elf);
	}
	close(in);
	return out;
}

static size_t lookups(struct dwarf_file *d)
{
	struct dwarf_frame f[DWARF_MAX_FRAMES];
	size_t named = 0, n;
	uint64_t a;

	/* Every address of the fixture's small text: whatever DWARF says,
	 * each lookup stays inside what was read. */
	for (a = 0x1000; a < 0x3000; a++) {
		n = dwarf__lookup(d, a, f, DWARF_MAX_FRAMES);
		named += n && f[n - 1].name;
	}
	return named;
}

Test(dwarf, only_an_unterminated_section_is_copied_again)
{
	int fd = copy_with_last_byte(FIXTURE("symbols_target"), NULL, 0);
	int fd2 = copy_with_last_byte(FIXTURE("symbols_target"), ".debug_str",
				      'A');
	struct dwarf_file *d = dwarf__open_fd(fd, 64u << 20);
	struct dwarf_file *bad = dwarf__open_fd(fd2, 64u << 20);
	size_t str_size = 0;

	cr_assert_not_null(d);
	cr_assert_not_null(bad);
	/* Before any lookup both hold their sections and nothing else; the
	 * unterminated .debug_str is held once more, with zeros after it. */
	str_size = dwarf__memory(bad) - dwarf__memory(d);
	cr_assert_gt(dwarf__memory(bad), dwarf__memory(d),
		     "an unterminated .debug_str is padded (%zu vs %zu)",
		     dwarf__memory(bad), dwarf__memory(d));
	cr_assert_lt(str_size, 4096, "only that section is copied: %zu",
		     str_size);
	cr_assert_gt(lookups(d), 0, "the fixture's functions are named");
	cr_assert_gt(lookups(bad), 0, "and still named when padded");
	dwarf__free(bad);
	dwarf__free(d);
	close(fd2);
	close(fd);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel symbols from /proc/kallsyms (vmlinux and modules), sorted once at
 * start; kernel frames are looked up here. */
#ifndef TGPROF_RECEIVER_KALLSYMS_H
#define TGPROF_RECEIVER_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct kallsyms;

/*
 * Loads text symbols (types t/T/w/W) from @path ("/proc/kallsyms" when
 * NULL). Returns the table (caller frees with kallsyms__free()) or NULL +
 * errno: EPERM when every address reads 0 (kptr_restrict; needs
 * CAP_SYSLOG), ENOENT, ENOMEM.
 */
struct kallsyms *kallsyms__load(const char *path);

/*
 * The symbol containing @addr: name (borrowed) and *ret_offset; *ret_module
 * (optional) gets the module name or NULL for vmlinux. NULL when @addr is
 * below the first symbol or past the end of the kernel text.
 */
const char *kallsyms__lookup(const struct kallsyms *ks, uint64_t addr,
			     uint64_t *ret_offset, const char **ret_module);

size_t kallsyms__count(const struct kallsyms *ks);
/* Bytes held: the symbol array and the name pool as allocated. */
size_t kallsyms__memory(const struct kallsyms *ks);

/* Accepts NULL. */
void kallsyms__free(struct kallsyms *ks);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Unwind tables into the kernel: a process's executable mappings in (from
 * the process table, when they are read), each file's compiled table
 * (table.h) put once into the sampler's BPF maps and shared by every
 * process that maps the file, and the process's address ranges written
 * beside them; out: what the BPF walk reads (bpf/unwind_maps.h), and the
 * walk of a sample the kernel could not finish, done here with the same
 * tables (walk.h).
 *
 * Files are keyed as the symbol cache keys them: build-id, else device,
 * inode, size and mtime. The kernel memory the tables take is bounded
 * (max_bytes): past it the least recently used file is evicted, unused
 * files first; a process still mapping an evicted file walks it with
 * frame pointers (counted in the sampler) until the file is loaded again,
 * which happens when a process mapping it has its maps read.
 *
 * Not thread-safe: the receiver's thread owns it. */
#ifndef TGPROF_RECEIVER_UNWIND_LOADER_H
#define TGPROF_RECEIVER_UNWIND_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"
#include "receiver/processes/proctab.h"
#include "receiver/sampler/sampler.h"
#include "receiver/unwind/walk.h"

#define UNWIND_LOADER_DEFAULT_MAX_BYTES (32u << 20)
/* Files the kernel's unwind_files map holds (loaded, or mapped by a live
 * process): its bucket array is allocated up front, 16 bytes each. */
#define UNWIND_LOADER_MAX_FILES 4096

struct unwind_loader_opts {
	size_t sz; /* sizeof(struct unwind_loader_opts) */
	/* Kernel memory for tables: chunks, page index and file entries
	 * (not the maps' bucket arrays, see unwind_loader__sizes()). 0:
	 * UNWIND_LOADER_DEFAULT_MAX_BYTES. */
	size_t max_bytes;
	uint32_t max_processes; /* processes with ranges; 0: 16384 */
	const char *proc_root; /* NULL: "/proc"; copied */
	/* Roots of separate debug files for .debug_frame, as the symbolizer
	 * takes them; NULL: "/usr/lib/debug". Copied. */
	const char *debug_dirs;
};

struct unwind_loader_stats {
	uint64_t files_loaded; /* tables put into the kernel */
	uint64_t files_evicted; /* taken out to stay under max_bytes */
	/* ... of which a live process still mapped: its frames there fall
	 * back to frame pointers until the file is loaded again. */
	uint64_t files_evicted_in_use;
	uint64_t files_over_budget; /* could not be loaded: too large */
	uint64_t heap_trims; /* free heap given back after compile bursts */
	uint64_t files_no_cfi; /* no .eh_frame nor .debug_frame */
	uint64_t files_failed; /* unreadable or corrupt */
	uint64_t files_shared; /* another path or inode, same build-id */
	uint64_t debug_frame_files; /* CFI from a separate debug file */
	uint64_t compiles; /* tables compiled, first loads and again */
	uint64_t compile_cpu_ns; /* this thread's CPU compiling tables */
	uint64_t load_cpu_ns; /* ... laying them out and inserting them */
	uint64_t map_errors; /* BPF map updates refused */
	uint64_t rows_cut; /* rows of too dense pages: frame pointers */
	uint64_t processes; /* processes with ranges in the kernel now */
	uint64_t ranges_dropped; /* mappings past UNWIND_PROC_LARGE */
	/* Processes walked with frame pointers only: the map for those with
	 * more than UNWIND_PROC_SMALL mappings was full. */
	uint64_t procs_fp_only;
	uint64_t files; /* files in the kernel now */
	uint64_t rows; /* their rows */
	/* Kernel memory: the tables (chunks and page index), held under
	 * kernel_max_bytes; the file entries and process ranges besides;
	 * the maps' bucket arrays, allocated at start. */
	uint64_t kernel_bytes;
	uint64_t kernel_max_bytes;
	uint64_t kernel_entry_bytes;
	uint64_t kernel_fixed_bytes;
	uint64_t user_bytes; /* tables kept here for walks finished here */
	uint64_t kernel_chunk_reads; /* chunks walks here read from the kernel */
	uint64_t walks; /* samples finished here from their stack copy */
};

/* The element counts the sampler sizes its maps with for these options
 * (sampler_opts.unwind_sizes), and the bytes their bucket arrays take. */
void unwind_loader__sizes(const struct unwind_loader_opts *opts,
			  struct sampler_unwind_sizes *ret,
			  uint64_t *ret_fixed_bytes);

/*
 * A loader writing into @maps (borrowed from the sampler, which must
 * outlive the loader). Caller frees with unwind_loader__free(). NULL +
 * errno.
 */
struct unwind_loader *unwind_loader__new(const struct unwind_loader_opts *opts,
					 const struct sampler_unwind_maps *maps,
					 const struct tg_logger *log);

/* Accepts NULL. */
void unwind_loader__free(struct unwind_loader *ul);

/*
 * @p's mappings (p->maps) were read through thread @tid: compiles and
 * loads the tables of its files that are not in the kernel (within the
 * memory bound) and writes its ranges. 0 or -errno; a file that cannot be
 * loaded is counted and walked with frame pointers, not an error.
 */
int unwind_loader__set_process(struct unwind_loader *ul, struct proc *p,
			       uint32_t tid);

/* @p's mappings cannot be read: its stacks are walked with frame pointers
 * (one range over all of user space), so the kernel stops sending its
 * stack for user space to finish. @aspace_id: the sample's. */
int unwind_loader__set_unreadable(struct unwind_loader *ul, struct proc *p,
				  uint64_t aspace_id);

/* @p's mappings are gone (exec) or @p leaves the table: its ranges are
 * removed from the kernel and its files released. */
void unwind_loader__drop_process(struct unwind_loader *ul, struct proc *p);

/* Notes that @p was sampled: its files count as used at the next
 * unwind_loader__tick(). Cheap: call it for every sample. */
void unwind_loader__touch(struct unwind_loader *ul, struct proc *p);

/* Marks the files of the processes sampled since the last tick as used
 * (LRU) and drops user-space copies of tables no longer needed. */
void unwind_loader__tick(struct unwind_loader *ul, uint64_t now_ns);

/*
 * Finishes a walk the kernel stopped: from @regs over @stack (what the
 * sample carried) with @p's ranges and the tables, writing at most @max
 * pcs (the first repeats regs->rip). Fills *ret as unwind__walk() does.
 * 0, or -ENOENT when @p has no ranges.
 */
int unwind_loader__walk(struct unwind_loader *ul, struct proc *p, uint32_t tid,
			const struct unwind_regs *regs,
			const struct unwind_stack *stack, uint64_t *pcs,
			size_t max, struct unwind_walk_result *ret);

void unwind_loader__stats(const struct unwind_loader *ul,
			  struct unwind_loader_stats *ret);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The OTLP ProfilesDictionary of one request (DESIGN.md section 6): the
 * pieces of samples come in (strings, attributes, functions, mappings,
 * locations, stacks), their indices go out, every entry unique and every
 * table led by its zero entry; encode.c packs the tables as they stand.
 *
 * What tgprof writes into the dictionary is declared in rows, not in code
 * paths: an attribute is a key (struct dict_key), a frame type one row of
 * the frame types in dictionary.c, a sample type one row of
 * dict_sample_types[]. Every table is bounded (struct dict_bounds); a full
 * one answers -ENOSPC and the caller decides what is left out.
 */
#ifndef TGPROF_RECEIVER_PROFILE_DICTIONARY_H
#define TGPROF_RECEIVER_PROFILE_DICTIONARY_H

#include <stdbool.h>
#include <stdint.h>

#include "receiver/profile/profile.h"
#include "receiver/profile/table.h"
#include "receiver/symbols/symbolizer.h"

enum attr_type {
	ATTR_STR,
	ATTR_INT,
};

/* One attribute value. */
struct attr_val {
	enum attr_type type;
	int64_t i; /* ATTR_INT */
	const char *s; /* ATTR_STR: @len bytes, no NUL needed; borrowed */
	size_t len;
};

/* An attribute key: its name, interned once per interval into the
 * dictionary's key slot @slot (one per key, below DICT_KEY_SLOTS). */
struct dict_key {
	const char *name;
	uint32_t slot;
};

/* The slots of the keys tgprof writes; the ones above are free for keys
 * a configuration adds. */
enum dict_key_slot {
	DICT_KEY_THREAD_ID,
	DICT_KEY_THREAD_NAME,
	DICT_KEY_CPU,
	DICT_KEY_FRAME_TYPE,
	DICT_KEY_BUILD_ID,
};

#define DICT_KEY_SLOTS 16

/* What a profile's samples count and what its period measures: one row
 * per kind of profile (CPU now; off-CPU, allocations later). */
struct dict_sample_type {
	const char *type, *unit; /* sample_type */
	const char *period_type, *period_unit;
};

enum dict_sample_kind {
	DICT_SAMPLES_CPU,
	/* Off-CPU: (off_cpu, nanoseconds), no period: Pyroscope's off-CPU
	 * profile type, values summed. */
	DICT_SAMPLES_OFF_CPU,
};

extern const struct dict_sample_type dict_sample_types[];

/* Their string indices, for the packer. */
struct dict_value_types {
	int32_t type, unit, period_type, period_unit;
};

/* The entries as the tables hold them (each is a table key, read back by
 * encode.c). Fixed-size keys have no padding: they are compared and
 * hashed as bytes. */
struct dict_function {
	int32_t name, system_name, file; /* string_table */
	uint32_t start_line; /* 0: unknown */
};

struct dict_mapping {
	uint64_t start, limit, offset;
	int32_t file; /* string_table */
	int32_t build_id; /* attribute_table, 0: none */
};

struct dict_line {
	int32_t fn; /* function_table */
	uint32_t line; /* 0: unknown */
};

/* Lines of one location: an inline chain (a longer one is split). */
#define DICT_MAX_LINES 64

struct dict_location {
	uint64_t addr;
	int32_t mapping; /* mapping_table, 0: none */
	int32_t attr; /* attribute_table: profile.frame.type */
	struct dict_line lines[]; /* innermost first */
};

/* An attribute: key and type, then the value: an int64, or the string's
 * bytes (NUL-terminated by the table). */
struct dict_attr {
	int32_t key; /* string_table */
	uint32_t type; /* enum attr_type */
};

/* A stack is its location_table indices, leaf first. */

struct dict_bounds {
	uint32_t max_entries; /* attributes, functions, mappings, locations */
	uint32_t max_stacks;
	size_t max_string_bytes; /* string_table; attribute values apart */
};

/* Room for the frame types of dictionary.c, by enum frame_kind. */
#define DICT_FRAME_TYPES 8

/* The cached indices of the entries every request may need. */
struct dict_fixed {
	int32_t keys[DICT_KEY_SLOTS]; /* string_table; 0: not yet */
	int32_t frame_types[DICT_FRAME_TYPES]; /* attribute_table */
	int32_t kernel_mapping;
	int32_t overflow_stack;
};

struct dictionary {
	struct table strings, attrs, functions, mappings, locations, stacks;
	size_t attr_bytes, max_attr_bytes; /* string values of attributes */
	struct dict_fixed fx;
	uint64_t strings_truncated; /* since creation */
	/* Scratch for the key of one attribute or location. */
	uint64_t scratch[(sizeof(struct dict_attr) + PROFILE_MAX_STRING_LEN) /
			 8];
};

/* An empty dictionary, its entries in @arena (the caller resets and frees
 * it): 0 or -ENOMEM. */
int dictionary__init(struct dictionary *d, struct arena *arena,
		     const struct dict_bounds *bounds);
/* Empties every table for the next request (the caller resets the arena). */
void dictionary__reset(struct dictionary *d);
/* Accepts a zeroed, never initialized dictionary. */
void dictionary__free(struct dictionary *d);

/*
 * Every dict__*() returns 0 and the entry's index in *@ret_idx, -ENOSPC
 * when a table is full (@force: the few entries every request needs go in
 * anyway) or -ENOMEM. Strings longer than PROFILE_MAX_STRING_LEN are cut
 * and counted; NULL and "" are the zero string.
 */
int dict__string(struct dictionary *d, const char *s, bool force,
		 int32_t *ret_idx);
int dict__attr(struct dictionary *d, const struct dict_key *key,
	       const struct attr_val *val, bool force, int32_t *ret_idx);
/* @system_name only counts when it differs from @name (mangled).
 * @start_line: where the function starts in @file, 0 unknown. */
int dict__function(struct dictionary *d, const char *name,
		   const char *system_name, const char *file,
		   uint32_t start_line, bool force, int32_t *ret_idx);
/* A mapping of file @file (NULL: none) and its @build_id (@build_id_len
 * bytes; NULL: none), which becomes its process.executable.build_id.gnu
 * attribute, in lowercase hex. */
int dict__mapping(struct dictionary *d, uint64_t start, uint64_t limit,
		  uint64_t offset, const char *file, const uint8_t *build_id,
		  uint32_t build_id_len, int32_t *ret_idx);
/* Longest module name a kernel mapping keeps (the kernel's is 55). */
#define DICT_MODULE_NAME_MAX 64
/* The mapping of a kernel frame in @module (a module name, as kallsyms
 * gives it): "[module]"; the kernel's own, PROFILE_KERNEL_MAPPING, for
 * "vmlinux", NULL or "", and when the tables are full. */
int dict__kernel_mapping(struct dictionary *d, const char *module,
			 int32_t *ret_idx);
/* The one mapping of a runtime's frames (no file of their own):
 * "[runtime]", as "[cpython]". */
int dict__runtime_mapping(struct dictionary *d, const char *runtime,
			  int32_t *ret_idx);
/* profile.frame.type of @kind. */
int dict__frame_type(struct dictionary *d, enum frame_kind kind,
		     int32_t *ret_idx);
/* @nlines (at most DICT_MAX_LINES) lines of @lines, copied. */
int dict__location(struct dictionary *d, int32_t mapping, uint64_t addr,
		   int32_t attr, const struct dict_line *lines, uint32_t nlines,
		   bool force, int32_t *ret_idx);
/* No location at all is the zero stack. */
int dict__stack(struct dictionary *d, const int32_t *locs, uint32_t n,
		bool force, int32_t *ret_idx);
/* The one stack that stands for every stack that did not fit. */
int dict__overflow_stack(struct dictionary *d, int32_t *ret_idx);
/* The strings of sample type @kind. */
int dict__value_types(struct dictionary *d, enum dict_sample_kind kind,
		      struct dict_value_types *ret);

/* Readers of the tables, for the packer: index 1 and up (0 is the zero
 * entry, which has no key). */
static inline const char *dict__string_at(const struct dictionary *d, int32_t i)
{
	return i ? (const char *)table__key(&d->strings, i) : "";
}

/* The value of attribute @a: an ATTR_INT's, or an ATTR_STR's string. */
static inline int64_t dict_attr__int(const struct dict_attr *a)
{
	int64_t v;

	memcpy(&v, a + 1, sizeof(v));
	return v;
}

static inline const char *dict_attr__str(const struct dict_attr *a)
{
	return (const char *)(a + 1);
}

static inline uint32_t dict__location_lines(const struct dictionary *d,
					    int32_t i)
{
	return (d->locations.v[i]->len - sizeof(struct dict_location)) /
	       sizeof(struct dict_line);
}

static inline uint32_t dict__stack_len(const struct dictionary *d, int32_t i)
{
	return d->stacks.v[i]->len / sizeof(int32_t);
}

#endif

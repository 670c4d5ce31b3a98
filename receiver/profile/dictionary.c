// SPDX-License-Identifier: Apache-2.0
/* The dictionary of one request: strings, attributes, functions, mappings,
 * locations and stacks come in, their indices in the ProfilesDictionary
 * go out (see dictionary.h). Every entry is interned by content through
 * table.c; what every request may need is cached per interval in
 * struct dict_fixed.
 */
#include <stdio.h>

#include "receiver/profile/dictionary.h"

/* profile.frame.type of each kind of frame (semantic conventions): a new
 * kind of frame (interpreted, JIT) is one row. */
static const char *const frame_types[] = {
	[FRAME_NATIVE] = "native",
	[FRAME_KERNEL] = "kernel",
	[FRAME_JIT] = "jit",
	[FRAME_CPYTHON] = "cpython",
};

_Static_assert(ARRAY_SIZE(frame_types) <= DICT_FRAME_TYPES,
	       "struct dict_fixed has no room for every frame type");

const struct dict_sample_type dict_sample_types[] = {
	[DICT_SAMPLES_CPU] = { "samples", "count", "cpu", "nanoseconds" },
	[DICT_SAMPLES_OFF_CPU] = { "off_cpu", "nanoseconds", NULL, NULL },
};

static const struct dict_key key_frame_type = { "profile.frame.type",
						DICT_KEY_FRAME_TYPE };
static const struct dict_key key_build_id = { "process.executable.build_id.gnu",
					      DICT_KEY_BUILD_ID };

int dictionary__init(struct dictionary *d, struct arena *arena,
		     const struct dict_bounds *bounds)
{
	struct {
		struct table *t;
		uint32_t max;
		size_t max_bytes;
	} tables[] = {
		/* strings: INT32_MAX at most, the index's own bound */
		{ &d->strings, UINT32_MAX, bounds->max_string_bytes },
		{ &d->attrs, bounds->max_entries, 0 },
		{ &d->functions, bounds->max_entries, 0 },
		{ &d->mappings, bounds->max_entries, 0 },
		{ &d->locations, bounds->max_entries, 0 },
		{ &d->stacks, bounds->max_stacks, 0 },
	};
	size_t i;
	int err;

	memset(d, 0, sizeof(*d));
	d->max_attr_bytes = bounds->max_string_bytes;
	for (i = 0; i < ARRAY_SIZE(tables); i++) {
		err = table__init(tables[i].t, TABLE_ZERO_ENTRY, arena,
				  tables[i].max, tables[i].max_bytes);
		if (err)
			return err;
	}
	return 0;
}

/* Does @fn to every table of @d. */
static void dict__each_table(struct dictionary *d, void (*fn)(struct table *))
{
	struct table *tables[] = { &d->strings,	 &d->attrs,	&d->functions,
				   &d->mappings, &d->locations, &d->stacks };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tables); i++)
		fn(tables[i]);
}

void dictionary__reset(struct dictionary *d)
{
	dict__each_table(d, table__reset);
	d->attr_bytes = 0;
	memset(&d->fx, 0, sizeof(d->fx));
}

void dictionary__free(struct dictionary *d)
{
	if (d)
		dict__each_table(d, table__free);
}

/* @len bytes at most PROFILE_MAX_STRING_LEN: longer ones are cut, and
 * counted. */
static size_t dict__cut(struct dictionary *d, size_t len)
{
	if (len <= PROFILE_MAX_STRING_LEN)
		return len;
	d->strings_truncated++;
	return PROFILE_MAX_STRING_LEN;
}

int dict__string(struct dictionary *d, const char *s, bool force,
		 int32_t *ret_idx)
{
	size_t len = s ? strlen(s) : 0;

	if (!len) {
		*ret_idx = 0;
		return 0;
	}
	len = dict__cut(d, len);
	return table__intern(&d->strings, s, (uint32_t)len, hash_key(s, len),
			     force, ret_idx);
}

/* The string index of @key, interned once per interval. */
static int dict__key(struct dictionary *d, const struct dict_key *key,
		     int32_t *ret_idx)
{
	int32_t *slot = &d->fx.keys[key->slot];
	int err;

	if (!*slot) {
		err = dict__string(d, key->name, true, slot);
		if (err)
			return err;
	}
	*ret_idx = *slot;
	return 0;
}

/* Room for the key of an attribute whose value is at most this long, on
 * the stack; longer ones are built in the dictionary's scratch. */
#define ATTR_KEY_SHORT 56

int dict__attr(struct dictionary *d, const struct dict_key *key,
	       const struct attr_val *val, bool force, int32_t *ret_idx)
{
	uint64_t local[(sizeof(struct dict_attr) + ATTR_KEY_SHORT) / 8];
	struct dict_attr *a = (struct dict_attr *)local;
	const struct table_entry *e;
	size_t vlen, str_bytes = 0;
	uint32_t len;
	uint64_t hash;
	int32_t k;
	int err;

	err = dict__key(d, key, &k);
	if (err)
		return err;
	if (val->type == ATTR_INT) {
		vlen = sizeof(val->i);
		memcpy(a + 1, &val->i, vlen);
	} else {
		vlen = str_bytes = dict__cut(d, val->len);
		if (vlen > ATTR_KEY_SHORT)
			a = (struct dict_attr *)d->scratch;
		memcpy(a + 1, val->s, vlen);
	}
	a->key = k;
	a->type = val->type;
	len = (uint32_t)(sizeof(*a) + vlen);
	/* An int's key has one size: hashed and compared without a loop. */
	if (val->type == ATTR_INT) {
		hash = hash_key(a, sizeof(*a) + sizeof(val->i));
		e = table__find(&d->attrs, a, sizeof(*a) + sizeof(val->i),
				hash);
	} else {
		hash = hash_key(a, len);
		e = table__find(&d->attrs, a, len, hash);
	}
	if (e) {
		*ret_idx = e->idx;
		return 0;
	}
	/* String values have their own budget, as the string_table has. */
	if (!force && d->attr_bytes + str_bytes > d->max_attr_bytes)
		return -ENOSPC;
	err = table__add(&d->attrs, a, len, hash, force, ret_idx);
	if (!err)
		d->attr_bytes += str_bytes;
	return err;
}

int dict__function(struct dictionary *d, const char *name,
		   const char *system_name, const char *file,
		   uint32_t start_line, bool force, int32_t *ret_idx)
{
	struct dict_function f = { .start_line = start_line };
	int err;

	err = dict__string(d, name, force, &f.name);
	if (err)
		return err;
	/* The system name only when it says something else (mangled). */
	if (system_name && system_name != name &&
	    (!name || strcmp(system_name, name))) {
		err = dict__string(d, system_name, force, &f.system_name);
		if (err)
			return err;
	}
	err = dict__string(d, file, force, &f.file);
	if (err)
		return err;
	return table__intern(&d->functions, &f, sizeof(f),
			     hash_key(&f, sizeof(f)), force, ret_idx);
}

static int dict__build_id(struct dictionary *d, const uint8_t *id, uint32_t len,
			  int32_t *ret_idx)
{
	static const char hex[] = "0123456789abcdef";
	struct attr_val val = { .type = ATTR_STR };
	char buf[2 * 64];
	uint32_t i;

	*ret_idx = 0;
	if (!id || !len)
		return 0;
	if (len > 64)
		len = 64;
	for (i = 0; i < len; i++) {
		buf[2 * i] = hex[id[i] >> 4];
		buf[2 * i + 1] = hex[id[i] & 0xf];
	}
	val.s = buf;
	val.len = 2 * len;
	return dict__attr(d, &key_build_id, &val, false, ret_idx);
}

static int dict__intern_mapping(struct dictionary *d,
				const struct dict_mapping *m, bool force,
				int32_t *ret_idx)
{
	return table__intern(&d->mappings, m, sizeof(*m),
			     hash_key(m, sizeof(*m)), force, ret_idx);
}

int dict__mapping(struct dictionary *d, uint64_t start, uint64_t limit,
		  uint64_t offset, const char *file, const uint8_t *build_id,
		  uint32_t build_id_len, int32_t *ret_idx)
{
	struct dict_mapping m = {
		.start = start,
		.limit = limit,
		.offset = offset,
	};
	int err;

	err = dict__string(d, file, false, &m.file);
	if (!err)
		err = dict__build_id(d, build_id, build_id_len, &m.build_id);
	if (err)
		return err;
	return dict__intern_mapping(d, &m, false, ret_idx);
}

/* A module's mapping, "[module]" as perf names it; -ENOSPC when a table
 * is full. */
static int dict__module_mapping(struct dictionary *d, const char *module,
				int32_t *ret_idx)
{
	char name[DICT_MODULE_NAME_MAX + 3];
	struct dict_mapping m = { 0 };
	int err;

	snprintf(name, sizeof(name), "[%.*s]", DICT_MODULE_NAME_MAX, module);
	err = dict__string(d, name, false, &m.file);
	if (err)
		return err;
	return dict__intern_mapping(d, &m, false, ret_idx);
}

int dict__runtime_mapping(struct dictionary *d, const char *runtime,
			  int32_t *ret_idx)
{
	return dict__module_mapping(d, runtime, ret_idx);
}

int dict__kernel_mapping(struct dictionary *d, const char *module,
			 int32_t *ret_idx)
{
	struct dict_mapping m = { 0 };
	int err;

	/* A module whose mapping does not fit is filed with the kernel's:
	 * still a kernel frame. */
	if (module && *module && strcmp(module, "vmlinux")) {
		err = dict__module_mapping(d, module, ret_idx);
		if (err != -ENOSPC)
			return err;
	}
	if (!d->fx.kernel_mapping) {
		err = dict__string(d, PROFILE_KERNEL_MAPPING, true, &m.file);
		if (!err)
			err = dict__intern_mapping(d, &m, true,
						   &d->fx.kernel_mapping);
		if (err)
			return err;
	}
	*ret_idx = d->fx.kernel_mapping;
	return 0;
}

int dict__frame_type(struct dictionary *d, enum frame_kind kind,
		     int32_t *ret_idx)
{
	struct attr_val val = { .type = ATTR_STR };
	int32_t *slot;
	int err;

	if ((size_t)kind >= ARRAY_SIZE(frame_types) || !frame_types[kind])
		kind = FRAME_NATIVE;
	slot = &d->fx.frame_types[kind];
	if (!*slot) {
		val.s = frame_types[kind];
		val.len = strlen(val.s);
		err = dict__attr(d, &key_frame_type, &val, true, slot);
		if (err)
			return err;
	}
	*ret_idx = *slot;
	return 0;
}

int dict__location(struct dictionary *d, int32_t mapping, uint64_t addr,
		   int32_t attr, const struct dict_line *lines, uint32_t nlines,
		   bool force, int32_t *ret_idx)
{
	struct dict_location *l = (struct dict_location *)d->scratch;
	uint32_t len = sizeof(*l) + nlines * sizeof(*lines);

	if (nlines > DICT_MAX_LINES)
		return -EINVAL;
	l->addr = addr;
	l->mapping = mapping;
	l->attr = attr;
	memcpy(l->lines, lines, nlines * sizeof(*lines));
	return table__intern(&d->locations, l, len, hash_key(l, len), force,
			     ret_idx);
}

int dict__stack(struct dictionary *d, const int32_t *locs, uint32_t n,
		bool force, int32_t *ret_idx)
{
	uint32_t len = n * sizeof(*locs);

	if (!n) {
		*ret_idx = 0;
		return 0;
	}
	return table__intern(&d->stacks, locs, len, hash_key(locs, len), force,
			     ret_idx);
}

int dict__overflow_stack(struct dictionary *d, int32_t *ret_idx)
{
	struct dict_line line = { 0 };
	int32_t loc;
	int err;

	if (!d->fx.overflow_stack) {
		err = dict__function(d, PROFILE_OVERFLOW_FUNCTION, NULL, NULL,
				     0, true, &line.fn);
		if (!err)
			err = dict__location(d, 0, 0, 0, &line, 1, true, &loc);
		if (!err)
			err = dict__stack(d, &loc, 1, true,
					  &d->fx.overflow_stack);
		if (err)
			return err;
	}
	*ret_idx = d->fx.overflow_stack;
	return 0;
}

int dict__value_types(struct dictionary *d, enum dict_sample_kind kind,
		      struct dict_value_types *ret)
{
	const struct dict_sample_type *st = &dict_sample_types[kind];
	int err;

	memset(ret, 0, sizeof(*ret));
	err = dict__string(d, st->type, true, &ret->type);
	if (!err)
		err = dict__string(d, st->unit, true, &ret->unit);
	/* No period (off-CPU): no period_type either. */
	if (!err && st->period_type)
		err = dict__string(d, st->period_type, true, &ret->period_type);
	if (!err && st->period_unit)
		err = dict__string(d, st->period_unit, true, &ret->period_unit);
	return err;
}

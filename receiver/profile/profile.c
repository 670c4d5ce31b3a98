/* The profile builder between the receiver's symbolized samples and the
 * exporters: interns every sample into one OTLP dictionary per interval and
 * packs the interval into an ExportProfilesServiceRequest with protobuf-c.
 *
 * The hot path is add(): a sample whose process and raw stack (addresses
 * and what the symbolizer found) were seen in the interval costs a few
 * hash lookups and no allocation. New stacks go through caches keyed by raw
 * facts (mapping bounds, address) before the dictionary tables proper,
 * which deduplicate by content. Everything lives in an arena that is
 * dropped at every flush, with the hash tables.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include "lib/arena.h"
#include "lib/clock.h"
#include "lib/htab.h"
#include "lib/opts.h"
#include "receiver/profile/profile.h"

/* The generated names are long; these are the messages the builder packs. */
typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	pb_request;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary
	pb_dictionary;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles
	pb_resource_profiles;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles
	pb_scope_profiles;
typedef Opentelemetry__Proto__Profiles__V1development__Profile pb_profile;
typedef Opentelemetry__Proto__Profiles__V1development__Sample pb_sample;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping pb_mapping;
typedef Opentelemetry__Proto__Profiles__V1development__Location pb_location;
typedef Opentelemetry__Proto__Profiles__V1development__Line pb_line;
typedef Opentelemetry__Proto__Profiles__V1development__Function pb_function;
typedef Opentelemetry__Proto__Profiles__V1development__Link pb_link;
typedef Opentelemetry__Proto__Profiles__V1development__Stack pb_stack;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit pb_kvu;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType pb_value_type;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_keyvalue;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_anyvalue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;

#define PB(name) opentelemetry__proto__profiles__v1development__##name
#define PB_COMMON(name) opentelemetry__proto__common__v1__##name
#define PB_REQUEST(name) \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##name
#define ANYVALUE_STRING \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANYVALUE_INT \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE

#define DEFAULT_FREQ_HZ 19
#define DEFAULT_MAX_PROCESSES 4096
#define DEFAULT_MAX_STACKS 65536
#define DEFAULT_MAX_ENTRIES 262144
#define DEFAULT_MAX_SAMPLES 262144
#define DEFAULT_MAX_EVENTS 1048576
#define DEFAULT_MAX_STRING_BYTES (16u << 20)
/* Frames merged into one Location by an inline chain; a longer chain
 * (only a corrupt one can be) is split. */
#define MAX_CHAIN 64
/* CPUs whose cpu.logical_number attribute is cached in an array. */
#define CPU_CACHE 1024
#define COMM_MAX 16

/* @v (elements of @elem bytes) grown to hold at least @need, *@cap
 * updated; @v itself when it already does; NULL when out of memory (@v is
 * then untouched). */
static void *vec__grow(void *v, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t ncap;

	if (need <= *cap)
		return v;
	ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap = ncap > UINT32_MAX / 2 ? UINT32_MAX : ncap * 2;
	v = realloc(v, (size_t)ncap * elem);
	if (v)
		*cap = ncap;
	return v;
}

/* Makes array @v (capacity @cap) hold @need elements: 0 or -ENOMEM. */
#define vec__reserve(v, cap, need)                                         \
	({                                                                 \
		void *nv__ = vec__grow((v), &(cap), (need), sizeof(*(v))); \
		if (nv__)                                                  \
			(v) = nv__;                                        \
		nv__ ? 0 : -ENOMEM;                                        \
	})

/* Folds @v into the running hash @h: cheap and order-sensitive;
 * hash_u64() finishes a key. */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v * 0xff51afd7ed558ccdULL;
	return ((h << 31) | (h >> 33)) * 0x9e3779b97f4a7c15ULL;
}

/* ---- the dictionary's entries (all in the arena) ---- */

struct str_ent {
	struct htab_node node;
	uint32_t len;
	int32_t idx;
	char s[];
};

/* Interned strings: the dictionary's string_table, or the values of
 * attributes (which the attribute table carries inline). */
struct strpool {
	struct htab h;
	const char **v; /* v[idx]; v[0] = "" */
	uint32_t n, cap;
	size_t bytes;
};

enum attr_type {
	ATTR_STR,
	ATTR_INT,
};

struct attr_ent {
	struct htab_node node;
	int32_t key; /* string_table */
	enum attr_type type;
	int64_t ival;
	int32_t sval; /* value pool index */
	int32_t idx;
};

struct fn_ent {
	struct htab_node node;
	int32_t name, sys, file;
	int32_t idx;
};

struct map_ent {
	struct htab_node node;
	uint64_t start, limit, offset;
	int32_t file;
	int32_t build_id; /* attribute index, 0: none */
	int32_t idx;
};

/* A mapping as the process table describes it -> its dictionary index,
 * so a frame costs no path hashing. */
struct mapraw_ent {
	struct htab_node node;
	uint64_t start, end, offset, inode, path_hash;
	uint32_t dev_major, dev_minor, kind;
	int32_t idx;
};

struct line_val {
	int32_t fn;
	int64_t line;
};

struct loc_ent {
	struct htab_node node;
	int32_t mapping;
	int32_t attr; /* profile.frame.type */
	uint64_t addr;
	uint32_t nlines;
	struct line_val *lines;
	int32_t idx;
};

/* (mapping, address, what the symbolizer made of it) -> location. */
struct locraw_ent {
	struct htab_node node;
	int32_t mapping;
	uint32_t proc; /* 1 + process, for addresses not in a file; else 0 */
	uint64_t addr;
	uint32_t tag;
	int32_t idx;
};

struct stack_ent {
	struct htab_node node;
	uint32_t n;
	int32_t *locs;
	int32_t idx;
};

/* A thread on a CPU that took a raw stack -> its Sample: what a sample
 * seen before in the interval costs, one lookup. */
struct fastsample {
	struct htab_node node;
	uint64_t h1, h2; /* the raw stack (struct stackraw_ent) */
	uint32_t proc, tid, cpu;
	char comm[COMM_MAX];
	struct sample_ent *se;
};

/*
 * A sample's raw stack in one process image -> its stack. The raw stack
 * is known by a 128-bit hash of its
 * addresses and of what the symbolizer found for each (the two 64-bit
 * halves computed independently), not kept: the OpenTelemetry eBPF
 * profiler identifies traces the same way. A collision among a million
 * stacks has a probability below 2^-88.
 */
struct stackraw_ent {
	struct htab_node node; /* hash: the first half */
	uint64_t hash2;
	uint32_t proc;
	uint32_t maps_gen;
	uint64_t aspace;
	uint32_t nframes, nkernel;
	int32_t idx;
};

/* A process in this interval: one ResourceProfiles. */
struct proc_rec {
	struct htab_node node;
	uint32_t tgid;
	uint64_t start_ns;
	uint32_t facts_gen;
	bool has_proc;
	uint32_t idx;
	const char *service_name;
	const char *exe_name;
	const char *exe_path; /* NULL: unknown */
	const char *container_id; /* NULL: none */
	uint32_t nsamples; /* at flush */
};

struct thr_ent {
	struct htab_node node;
	uint32_t tid;
	char comm[COMM_MAX + 1];
	int32_t tid_attr, name_attr;
};

struct sample_ent {
	struct htab_node node;
	uint32_t proc;
	int32_t stack;
	int32_t attrs[3]; /* thread.id, thread.name, cpu; 0: none */
	uint32_t nevents;
	uint32_t idx;
};

/* Every hash table of a builder, for what is done to all of them. */
#define BUILDER_TABLES(b)                                              \
	{                                                              \
		&(b)->attr_h, &(b)->fn_h, &(b)->map_h, &(b)->mapraw_h, \
			&(b)->loc_h, &(b)->locraw_h, &(b)->stack_h,    \
			&(b)->stackraw_h, &(b)->proc_h, &(b)->thr_h,   \
			&(b)->sample_h, &(b)->fast_h,                  \
	}

/* Keys and values the builder interns once per interval (0: not yet). */
struct fixed_idx {
	int32_t k_thread_id, k_thread_name, k_cpu, k_frame_type, k_build_id;
	int32_t a_native, a_kernel;
	int32_t kernel_mapping;
	int32_t overflow_stack;
};

struct profile_builder {
	struct profile_builder_opts o;
	char *host_name;
	char *service_name;
	int64_t period_ns;

	struct arena arena;
	struct arena pack_arena; /* the messages of a flush */
	struct strpool strs; /* the string_table */
	struct strpool vals; /* attribute values */
	struct htab attr_h, fn_h, map_h, mapraw_h, loc_h, locraw_h, stack_h,
		stackraw_h, proc_h, thr_h, sample_h, fast_h;
	struct attr_ent **attrs;
	uint32_t nattrs, capattrs;
	struct fn_ent **fns;
	uint32_t nfns, capfns;
	struct map_ent **maps;
	uint32_t nmaps, capmaps;
	struct loc_ent **locs;
	uint32_t nlocs, caplocs;
	struct stack_ent **stacks;
	uint32_t nstacks, capstacks;
	uint32_t nstackraw;
	struct proc_rec **procs;
	uint32_t nprocs, capprocs;
	struct sample_ent **samples;
	uint32_t nsamples, capsamples;
	uint64_t *ev_ts;
	uint32_t *ev_sample;
	uint32_t nev, capev_ts, capev_sample;
	struct fixed_idx fx;
	int32_t cpu_attr[CPU_CACHE];

	uint64_t start_unix_ns; /* interval start, CLOCK_REALTIME */
	int64_t boot_to_unix_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME */
	struct profile_builder_stats stats;

	/* Scratch for one sample. */
	int32_t scratch_locs[PROFILE_MAX_STACK_DEPTH];
	struct line_val scratch_lines[MAX_CHAIN];
};

/* ---- strings ---- */

static int strpool__init(struct strpool *sp)
{
	static const char empty[] = "";
	int err;

	err = vec__reserve(sp->v, sp->cap, 1);
	if (err)
		return err;
	sp->v[0] = empty;
	sp->n = 1;
	return 0;
}

static void strpool__reset(struct strpool *sp)
{
	htab__clear(&sp->h);
	sp->n = 1;
	sp->bytes = 0;
}

static void strpool__free(struct strpool *sp)
{
	htab__free(&sp->h);
	free(sp->v);
}

/*
 * The index of @s (@len bytes) in @sp, added when missing. "" is 0.
 * Returns 0, -ENOSPC when the pool is full (@force ignores the bound) or
 * -ENOMEM.
 */
static int strpool__intern(struct profile_builder *b, struct strpool *sp,
			   const char *s, size_t len, bool force,
			   int32_t *ret_idx)
{
	struct htab_node *pos;
	struct str_ent *e;
	uint64_t hash;
	int err;

	if (!len) {
		*ret_idx = 0;
		return 0;
	}
	if (len > PROFILE_MAX_STRING_LEN) {
		len = PROFILE_MAX_STRING_LEN;
		b->stats.strings_truncated++;
	}
	hash = hash_bytes(s, len, 0);
	htab_for_each(&sp->h, pos, hash) {
		e = container_of(pos, struct str_ent, node);
		if (e->len == len && !memcmp(e->s, s, len)) {
			*ret_idx = e->idx;
			return 0;
		}
	}
	if (!force &&
	    (sp->bytes + len > b->o.max_string_bytes || sp->n >= INT32_MAX))
		return -ENOSPC;
	err = vec__reserve(sp->v, sp->cap, sp->n + 1);
	if (err)
		return err;
	e = arena__alloc(&b->arena, sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	e->len = (uint32_t)len;
	e->idx = (int32_t)sp->n;
	err = htab__insert(&sp->h, &e->node, hash);
	if (err)
		return err;
	sp->v[sp->n++] = e->s;
	sp->bytes += len;
	*ret_idx = e->idx;
	return 0;
}

static int str__intern(struct profile_builder *b, const char *s, bool force,
		       int32_t *ret_idx)
{
	if (!s) {
		*ret_idx = 0;
		return 0;
	}
	return strpool__intern(b, &b->strs, s, strlen(s), force, ret_idx);
}

/* A key string, interned once per interval into *@cache. */
static int key__get(struct profile_builder *b, int32_t *cache, const char *key)
{
	if (*cache)
		return 0;
	return str__intern(b, key, true, cache);
}

/* ---- attributes ---- */

static bool table_full(const struct profile_builder *b, uint32_t n)
{
	/* n counts the zero entry. */
	return n > b->o.max_entries;
}

/* The caches keyed by raw facts are bounded like the tables: when one is
 * full, lookups go on through the dictionary, only slower. */
static bool cache_has_room(const struct profile_builder *b,
			   const struct htab *h)
{
	return h->count < b->o.max_entries;
}

static int attr__get(struct profile_builder *b, int32_t key,
		     enum attr_type type, int64_t ival, const char *sval,
		     size_t slen, bool force, int32_t *ret_idx)
{
	struct htab_node *pos;
	struct attr_ent *e;
	int32_t sidx = 0;
	uint64_t hash;
	int err;

	if (type == ATTR_STR) {
		err = strpool__intern(b, &b->vals, sval, slen, force, &sidx);
		if (err)
			return err;
		ival = 0;
	}
	hash = hash_u64(mix(mix(mix(key, type), (uint64_t)ival), sidx));
	htab_for_each(&b->attr_h, pos, hash) {
		e = container_of(pos, struct attr_ent, node);
		if (e->key == key && e->type == type && e->ival == ival &&
		    e->sval == sidx) {
			*ret_idx = e->idx;
			return 0;
		}
	}
	if (!force && table_full(b, b->nattrs))
		return -ENOSPC;
	err = vec__reserve(b->attrs, b->capattrs, b->nattrs + 1);
	if (err)
		return err;
	e = arena__alloc(&b->arena, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->type = type;
	e->ival = ival;
	e->sval = sidx;
	e->idx = (int32_t)b->nattrs;
	err = htab__insert(&b->attr_h, &e->node, hash);
	if (err)
		return err;
	b->attrs[b->nattrs++] = e;
	*ret_idx = e->idx;
	return 0;
}

static int attr__str(struct profile_builder *b, int32_t *key_cache,
		     const char *key, const char *val, bool force,
		     int32_t *ret_idx)
{
	int err = key__get(b, key_cache, key);

	if (err)
		return err;
	return attr__get(b, *key_cache, ATTR_STR, 0, val, strlen(val), force,
			 ret_idx);
}

static int attr__int(struct profile_builder *b, int32_t *key_cache,
		     const char *key, int64_t val, int32_t *ret_idx)
{
	int err = key__get(b, key_cache, key);

	if (err)
		return err;
	return attr__get(b, *key_cache, ATTR_INT, val, NULL, 0, false, ret_idx);
}

/* ---- functions ---- */

static int function__get(struct profile_builder *b, const char *name,
			 const char *sys, const char *file, bool force,
			 int32_t *ret_idx)
{
	struct htab_node *pos;
	int32_t n, y, f;
	struct fn_ent *e;
	uint64_t hash;
	int err;

	err = str__intern(b, name, force, &n);
	if (err)
		return err;
	/* The system name only when it says something else (mangled). */
	if (!sys || sys == name || !strcmp(sys, name))
		y = 0;
	else if ((err = str__intern(b, sys, force, &y)))
		return err;
	err = str__intern(b, file, force, &f);
	if (err)
		return err;

	hash = hash_u64(mix(mix(n, y), f));
	htab_for_each(&b->fn_h, pos, hash) {
		e = container_of(pos, struct fn_ent, node);
		if (e->name == n && e->sys == y && e->file == f) {
			*ret_idx = e->idx;
			return 0;
		}
	}
	if (!force && table_full(b, b->nfns))
		return -ENOSPC;
	err = vec__reserve(b->fns, b->capfns, b->nfns + 1);
	if (err)
		return err;
	e = arena__alloc(&b->arena, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->name = n;
	e->sys = y;
	e->file = f;
	e->idx = (int32_t)b->nfns;
	err = htab__insert(&b->fn_h, &e->node, hash);
	if (err)
		return err;
	b->fns[b->nfns++] = e;
	*ret_idx = e->idx;
	return 0;
}

/* ---- mappings ---- */

static int mapping__intern(struct profile_builder *b, uint64_t start,
			   uint64_t limit, uint64_t offset, int32_t file,
			   int32_t build_id, bool force, int32_t *ret_idx)
{
	struct htab_node *pos;
	struct map_ent *e;
	uint64_t hash;
	int err;

	hash = hash_u64(
		mix(mix(mix(mix(start, limit), offset), file), build_id));
	htab_for_each(&b->map_h, pos, hash) {
		e = container_of(pos, struct map_ent, node);
		if (e->start == start && e->limit == limit &&
		    e->offset == offset && e->file == file &&
		    e->build_id == build_id) {
			*ret_idx = e->idx;
			return 0;
		}
	}
	if (!force && table_full(b, b->nmaps))
		return -ENOSPC;
	err = vec__reserve(b->maps, b->capmaps, b->nmaps + 1);
	if (err)
		return err;
	e = arena__alloc(&b->arena, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->start = start;
	e->limit = limit;
	e->offset = offset;
	e->file = file;
	e->build_id = build_id;
	e->idx = (int32_t)b->nmaps;
	err = htab__insert(&b->map_h, &e->node, hash);
	if (err)
		return err;
	b->maps[b->nmaps++] = e;
	*ret_idx = e->idx;
	return 0;
}

static int build_id__attr(struct profile_builder *b, const uint8_t *id,
			  uint32_t len, int32_t *ret_idx)
{
	static const char hex[] = "0123456789abcdef";
	char buf[2 * 64 + 1];
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
	buf[2 * len] = '\0';
	return attr__str(b, &b->fx.k_build_id,
			 "process.executable.build_id.gnu", buf, false,
			 ret_idx);
}

/* File-backed mappings are described file-relative: memory_start and
 * file_offset are the file offset of the mapping, addresses are file
 * offsets (address - memory_start + file_offset is the file offset, as in
 * pprof). Every process mapping the same part of the same file then shares
 * one Mapping and its Locations, whatever its address layout. */
static bool mapping_is_file(const struct mapping *m)
{
	return m->kind == MAPPING_FILE || m->kind == MAPPING_VDSO;
}

/* The address a user frame's Location carries. */
static uint64_t frame_address(const struct sym_frame *f)
{
	const struct mapping *m = f->mapping;

	if (!m || !mapping_is_file(m))
		return f->addr;
	return f->addr - m->start + m->offset;
}

/* The mapping of a user frame, through the cache of raw mappings. */
static int mapping__user(struct profile_builder *b, const struct sym_frame *f,
			 int32_t *ret_idx)
{
	const struct mapping *m = f->mapping;
	struct mapraw_ent *r;
	struct htab_node *pos;
	int32_t file, bid;
	uint64_t hash, ph = 0;
	int err;

	/* Anonymous and special mappings have no inode: their name tells
	 * them apart. */
	if (!m->inode && m->path)
		ph = hash_str(m->path);
	hash = hash_u64(
		mix(mix(mix(mix(mix(m->start, m->end), m->offset), m->inode),
			((uint64_t)m->dev_major << 32) | m->dev_minor),
		    ph ^ m->kind));
	htab_for_each(&b->mapraw_h, pos, hash) {
		r = container_of(pos, struct mapraw_ent, node);
		if (r->start == m->start && r->end == m->end &&
		    r->offset == m->offset && r->inode == m->inode &&
		    r->dev_major == m->dev_major &&
		    r->dev_minor == m->dev_minor && r->kind == m->kind &&
		    r->path_hash == ph) {
			*ret_idx = r->idx;
			return 0;
		}
	}
	err = str__intern(b, m->path, false, &file);
	if (err)
		return err;
	err = build_id__attr(b, f->build_id, f->build_id_len, &bid);
	if (err)
		return err;
	if (mapping_is_file(m))
		err = mapping__intern(b, m->offset,
				      m->offset + (m->end - m->start),
				      m->offset, file, bid, false, ret_idx);
	else
		err = mapping__intern(b, m->start, m->end, m->offset, file, bid,
				      false, ret_idx);
	if (err || !cache_has_room(b, &b->mapraw_h))
		return err;
	r = arena__alloc(&b->arena, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->start = m->start;
	r->end = m->end;
	r->offset = m->offset;
	r->inode = m->inode;
	r->path_hash = ph;
	r->dev_major = m->dev_major;
	r->dev_minor = m->dev_minor;
	r->kind = m->kind;
	r->idx = *ret_idx;
	return htab__insert(&b->mapraw_h, &r->node, hash);
}

static int mapping__kernel(struct profile_builder *b, int32_t *ret_idx)
{
	int32_t file;
	int err;

	if (!b->fx.kernel_mapping) {
		err = str__intern(b, PROFILE_KERNEL_MAPPING, true, &file);
		if (err)
			return err;
		err = mapping__intern(b, 0, 0, 0, file, 0, true,
				      &b->fx.kernel_mapping);
		if (err)
			return err;
	}
	*ret_idx = b->fx.kernel_mapping;
	return 0;
}

/* ---- locations ---- */

static int location__intern(struct profile_builder *b, int32_t mapping,
			    uint64_t addr, int32_t attr,
			    const struct line_val *lines, uint32_t nlines,
			    bool force, int32_t *ret_idx)
{
	struct htab_node *pos;
	struct loc_ent *e;
	uint64_t hash;
	uint32_t i;
	int err;

	hash = mix(mix(mix(mapping, addr), attr), nlines);
	for (i = 0; i < nlines; i++)
		hash = mix(hash, ((uint64_t)lines[i].fn << 32) ^
					 (uint64_t)lines[i].line);
	hash = hash_u64(hash);
	htab_for_each(&b->loc_h, pos, hash) {
		e = container_of(pos, struct loc_ent, node);
		if (e->mapping != mapping || e->addr != addr ||
		    e->attr != attr || e->nlines != nlines)
			continue;
		for (i = 0; i < nlines; i++)
			if (e->lines[i].fn != lines[i].fn ||
			    e->lines[i].line != lines[i].line)
				break;
		if (i == nlines) {
			*ret_idx = e->idx;
			return 0;
		}
	}
	if (!force && table_full(b, b->nlocs))
		return -ENOSPC;
	err = vec__reserve(b->locs, b->caplocs, b->nlocs + 1);
	if (err)
		return err;
	e = arena__alloc(&b->arena, sizeof(*e) + nlines * sizeof(*lines));
	if (!e)
		return -ENOMEM;
	e->mapping = mapping;
	e->addr = addr;
	e->attr = attr;
	e->nlines = nlines;
	e->lines = (struct line_val *)(e + 1);
	memcpy(e->lines, lines, nlines * sizeof(*lines));
	e->idx = (int32_t)b->nlocs;
	err = htab__insert(&b->loc_h, &e->node, hash);
	if (err)
		return err;
	b->locs[b->nlocs++] = e;
	*ret_idx = e->idx;
	return 0;
}

/* profile.frame.type: "kernel" or "native" (semantic conventions). */
static int frame_type__attr(struct profile_builder *b, bool kernel,
			    int32_t *ret_idx)
{
	int32_t *cache = kernel ? &b->fx.a_kernel : &b->fx.a_native;
	int err;

	if (!*cache) {
		err = attr__str(b, &b->fx.k_frame_type, "profile.frame.type",
				kernel ? "kernel" : "native", true, cache);
		if (err)
			return err;
	}
	*ret_idx = *cache;
	return 0;
}

/*
 * The location of frames[first..last]: an inline chain (every frame but
 * the last inlined into the next) at one address, lines innermost first.
 * @leaf: the sample's first user address, looked up at the address itself
 * rather than as a return address: it may name another function.
 */
static int location__get(struct profile_builder *b, const struct proc_rec *pr,
			 const struct sym_frame *frames, uint32_t first,
			 uint32_t last, bool leaf, int32_t *ret_idx)
{
	const struct sym_frame *outer = &frames[last];
	bool kernel = outer->kind == FRAME_KERNEL;
	struct line_val *lines = b->scratch_lines;
	uint32_t i, nlines = 0, tag;
	uint64_t addr = kernel ? outer->addr : frame_address(outer), hash;
	/* Kernel and file addresses mean the same in every process; any
	 * other address only in its own. */
	bool shared = kernel ||
		      (outer->mapping && mapping_is_file(outer->mapping));
	uint32_t proc = shared ? 0 : pr->idx + 1;
	struct locraw_ent *r;
	struct htab_node *pos;
	int32_t mapping = 0, attr, fn;
	int err;

	if (kernel)
		err = mapping__kernel(b, &mapping);
	else if (outer->mapping)
		err = mapping__user(b, outer, &mapping);
	else
		err = 0;
	if (err)
		return err;

	tag = (uint32_t)kernel | (uint32_t)leaf << 1 |
	      (uint32_t) !!outer->name << 2 | (last - first) << 3;
	hash = hash_u64(mix(mix(mix(mapping, addr), tag), proc));
	htab_for_each(&b->locraw_h, pos, hash) {
		r = container_of(pos, struct locraw_ent, node);
		if (r->mapping == mapping && r->addr == addr && r->tag == tag &&
		    r->proc == proc) {
			*ret_idx = r->idx;
			return 0;
		}
	}

	for (i = first; i <= last; i++) {
		if (!frames[i].name)
			continue;
		err = function__get(b, frames[i].name, frames[i].system_name,
				    frames[i].file, false, &fn);
		if (err)
			return err;
		lines[nlines].fn = fn;
		lines[nlines].line = frames[i].line;
		nlines++;
	}
	err = frame_type__attr(b, kernel, &attr);
	if (err)
		return err;
	err = location__intern(b, mapping, addr, attr, lines, nlines, false,
			       ret_idx);
	if (err || !cache_has_room(b, &b->locraw_h))
		return err;

	r = arena__alloc(&b->arena, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->mapping = mapping;
	r->proc = proc;
	r->addr = addr;
	r->tag = tag;
	r->idx = *ret_idx;
	return htab__insert(&b->locraw_h, &r->node, hash);
}

/* ---- stacks ---- */

static int stack__intern(struct profile_builder *b, const int32_t *locs,
			 uint32_t n, bool force, int32_t *ret_idx)
{
	struct htab_node *pos;
	struct stack_ent *e;
	uint64_t hash = n;
	uint32_t i;
	int err;

	/* No location at all is the zero stack. */
	if (!n) {
		*ret_idx = 0;
		return 0;
	}
	for (i = 0; i < n; i++)
		hash = mix(hash, (uint32_t)locs[i]);
	hash = hash_u64(hash);
	htab_for_each(&b->stack_h, pos, hash) {
		e = container_of(pos, struct stack_ent, node);
		if (e->n == n && !memcmp(e->locs, locs, n * sizeof(*locs))) {
			*ret_idx = e->idx;
			return 0;
		}
	}
	if (!force && b->nstacks > b->o.max_stacks)
		return -ENOSPC;
	err = vec__reserve(b->stacks, b->capstacks, b->nstacks + 1);
	if (err)
		return err;
	e = arena__alloc(&b->arena, sizeof(*e) + n * sizeof(*locs));
	if (!e)
		return -ENOMEM;
	e->n = n;
	e->locs = (int32_t *)(e + 1);
	memcpy(e->locs, locs, n * sizeof(*locs));
	e->idx = (int32_t)b->nstacks;
	err = htab__insert(&b->stack_h, &e->node, hash);
	if (err)
		return err;
	b->stacks[b->nstacks++] = e;
	*ret_idx = e->idx;
	return 0;
}

/* The one stack that stands for every stack that did not fit. */
static int stack__overflow(struct profile_builder *b, int32_t *ret_idx)
{
	struct line_val line = { 0 };
	int32_t loc;
	int err;

	if (!b->fx.overflow_stack) {
		err = function__get(b, PROFILE_OVERFLOW_FUNCTION, NULL, NULL,
				    true, &line.fn);
		if (err)
			return err;
		err = location__intern(b, 0, 0, 0, &line, 1, true, &loc);
		if (err)
			return err;
		err = stack__intern(b, &loc, 1, true, &b->fx.overflow_stack);
		if (err)
			return err;
	}
	*ret_idx = b->fx.overflow_stack;
	return 0;
}

/* The stack of @s through the dictionary: every frame interned. */
static int stack__build(struct profile_builder *b, const struct proc_rec *pr,
			const struct sym_sample *s, int32_t *ret_idx)
{
	const struct sym_frame *fr = s->frames;
	uint32_t i = 0, last, end, n = 0;
	int err;

	while (i < s->nframes) {
		if (n == PROFILE_MAX_STACK_DEPTH) {
			b->stats.stacks_truncated++;
			break;
		}
		/* An inline chain never crosses from kernel to user. */
		end = i < s->nkernel ? s->nkernel : s->nframes;
		if (end > s->nframes)
			end = s->nframes;
		last = i;
		while (last + 1 < end && fr[last].inlined &&
		       last - i + 1 < MAX_CHAIN)
			last++;
		err = location__get(b, pr, fr, i, last, i == s->nkernel,
				    &b->scratch_locs[n]);
		if (err)
			return err;
		n++;
		i = last + 1;
	}
	return stack__intern(b, b->scratch_locs, n, false, ret_idx);
}

static uint64_t frame_tag(const struct sym_frame *f)
{
	return (uint64_t)(f->kind == FRAME_KERNEL) | (uint64_t)f->inlined << 1 |
	       (uint64_t) !!f->mapping << 2 | (uint64_t) !!f->name << 3;
}

/* The second lane of the raw-stack hash: other constants, so the two
 * halves are independent. */
static inline uint64_t mix2(uint64_t h, uint64_t v)
{
	h ^= v * 0xc4ceb9fe1a85ec53ULL;
	return ((h << 29) | (h >> 35)) * 0xd6e8feb86659fd93ULL;
}

/* What a raw stack is known by (see struct stackraw_ent). */
struct rawkey {
	uint64_t h1, h2;
	uint32_t proc, maps_gen, nframes, nkernel;
	uint64_t aspace;
};

static void rawkey__init(struct rawkey *k, const struct proc_rec *pr,
			 const struct sym_sample *s)
{
	const struct proc *p = s->proc;
	uint64_t h1, h2, v;
	uint32_t i;

	k->proc = pr->idx;
	k->maps_gen = p ? p->maps_reads : 0;
	k->aspace = p ? p->aspace_id : 0;
	k->nframes = s->nframes;
	k->nkernel = s->nkernel;
	h1 = mix(mix(k->proc, k->maps_gen), k->aspace);
	h2 = mix2(mix2(k->aspace, k->proc), k->maps_gen);
	v = ((uint64_t)k->nframes << 32) | k->nkernel;
	h1 = mix(h1, v);
	h2 = mix2(h2, v);
	for (i = 0; i < s->nframes; i++) {
		v = s->frames[i].addr ^ frame_tag(&s->frames[i]) << 60;
		h1 = mix(h1, v);
		h2 = mix2(h2, v);
	}
	k->h1 = hash_u64(h1);
	k->h2 = hash_u64(h2 ^ 0x5bd1e9955bd1e995ULL);
}

static struct stackraw_ent *stackraw__find(struct profile_builder *b,
					   const struct rawkey *k)
{
	struct stackraw_ent *r;
	struct htab_node *pos;

	htab_for_each(&b->stackraw_h, pos, k->h1) {
		r = container_of(pos, struct stackraw_ent, node);
		if (r->hash2 == k->h2 && r->proc == k->proc &&
		    r->maps_gen == k->maps_gen && r->aspace == k->aspace &&
		    r->nframes == k->nframes && r->nkernel == k->nkernel)
			return r;
	}
	return NULL;
}

/*
 * The stack of @s through the dictionary (*@ret_idx), remembered as a raw
 * stack in *@ret_raw (NULL when the cache is full: as many raw stacks as
 * stacks; past that, samples still go through the dictionary, only
 * slower).
 */
static int stackraw__add(struct profile_builder *b, const struct proc_rec *pr,
			 const struct sym_sample *s, const struct rawkey *k,
			 int32_t *ret_idx, struct stackraw_ent **ret_raw)
{
	struct stackraw_ent *r;
	int32_t idx;
	int err;

	*ret_raw = NULL;
	err = stack__build(b, pr, s, &idx);
	if (err)
		return err;
	*ret_idx = idx;
	if (b->nstackraw >= b->o.max_stacks)
		return 0;
	r = arena__zalloc(&b->arena, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->hash2 = k->h2;
	r->proc = k->proc;
	r->maps_gen = k->maps_gen;
	r->aspace = k->aspace;
	r->nframes = k->nframes;
	r->nkernel = k->nkernel;
	r->idx = idx;
	err = htab__insert(&b->stackraw_h, &r->node, k->h1);
	if (err)
		return err;
	b->nstackraw++;
	*ret_raw = r;
	return 0;
}

static uint64_t fastsample__hash(const struct rawkey *k, uint32_t tid,
				 uint32_t cpu, const char comm[COMM_MAX])
{
	uint64_t c0, c1;

	memcpy(&c0, comm, 8);
	memcpy(&c1, comm + 8, 8);
	return hash_u64(
		mix(mix(mix(k->h1, ((uint64_t)tid << 32) | cpu), c0), c1));
}

/* The Sample this thread on this CPU made of the same raw stack before,
 * or NULL. */
static struct sample_ent *fastsample__find(struct profile_builder *b,
					   const struct rawkey *k,
					   uint64_t hash, uint32_t tid,
					   uint32_t cpu,
					   const char comm[COMM_MAX])
{
	struct fastsample *f;
	struct htab_node *pos;

	htab_for_each(&b->fast_h, pos, hash) {
		f = container_of(pos, struct fastsample, node);
		if (f->h1 == k->h1 && f->h2 == k->h2 && f->proc == k->proc &&
		    f->tid == tid && f->cpu == cpu &&
		    !memcmp(f->comm, comm, COMM_MAX))
			return f->se;
	}
	return NULL;
}

/* Remembers @se for the thread on the CPU, within the sample bound. */
static int fastsample__add(struct profile_builder *b, const struct rawkey *k,
			   uint64_t hash, uint32_t tid, uint32_t cpu,
			   const char comm[COMM_MAX], struct sample_ent *se)
{
	struct fastsample *f;

	if (!cache_has_room(b, &b->fast_h) ||
	    b->fast_h.count >= b->o.max_samples)
		return 0;
	f = arena__alloc(&b->arena, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->h1 = k->h1;
	f->h2 = k->h2;
	f->proc = k->proc;
	f->tid = tid;
	f->cpu = cpu;
	memcpy(f->comm, comm, COMM_MAX);
	f->se = se;
	return htab__insert(&b->fast_h, &f->node, hash);
}

/* ---- processes, threads, samples ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static int proc_rec__fill(struct profile_builder *b, struct proc_rec *pr,
			  const struct sym_sample *s)
{
	const struct proc *p = s->proc;
	const char *name = s->pcomm && *s->pcomm ? s->pcomm : "";

	if (p && p->exe_path && *p->exe_path) {
		pr->exe_path = arena__strndup(&b->arena, p->exe_path,
					      PROFILE_MAX_STRING_LEN);
		if (!pr->exe_path)
			return -ENOMEM;
		name = base_name(pr->exe_path);
	}
	pr->exe_name = arena__strndup(&b->arena, name, PROFILE_MAX_STRING_LEN);
	if (!pr->exe_name)
		return -ENOMEM;
	pr->service_name = b->service_name ? b->service_name : pr->exe_name;
	if (p && p->container_id[0]) {
		pr->container_id = arena__strndup(&b->arena, p->container_id,
						  PROCFS_CONTAINER_ID_LEN);
		if (!pr->container_id)
			return -ENOMEM;
	}
	return 0;
}

static int proc_rec__get(struct profile_builder *b, const struct sym_sample *s,
			 struct proc_rec **ret)
{
	uint32_t gen = s->proc ? s->proc->facts_gen : 0;
	bool has_proc = s->proc;
	struct htab_node *pos;
	struct proc_rec *pr;
	uint64_t hash;
	int err;

	hash = hash_u64(mix(mix(s->tgid, s->start_ns), gen) ^ has_proc);
	htab_for_each(&b->proc_h, pos, hash) {
		pr = container_of(pos, struct proc_rec, node);
		if (pr->tgid == s->tgid && pr->start_ns == s->start_ns &&
		    pr->facts_gen == gen && pr->has_proc == has_proc) {
			*ret = pr;
			return 0;
		}
	}
	if (b->nprocs >= b->o.max_processes) {
		b->stats.dropped_processes++;
		return -ENOSPC;
	}
	err = vec__reserve(b->procs, b->capprocs, b->nprocs + 1);
	if (err)
		return err;
	pr = arena__zalloc(&b->arena, sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	pr->tgid = s->tgid;
	pr->start_ns = s->start_ns;
	pr->facts_gen = gen;
	pr->has_proc = has_proc;
	pr->idx = b->nprocs;
	err = proc_rec__fill(b, pr, s);
	if (err)
		return err;
	err = htab__insert(&b->proc_h, &pr->node, hash);
	if (err)
		return err;
	b->procs[b->nprocs++] = pr;
	*ret = pr;
	return 0;
}

/* thread.id and thread.name of @s (0 each when a table was full). */
static int thread__attrs(struct profile_builder *b, const struct sym_sample *s,
			 int32_t *ret_tid, int32_t *ret_name)
{
	const char *comm = s->comm ? s->comm : "";
	size_t len = strnlen(comm, COMM_MAX);
	bool cache = cache_has_room(b, &b->thr_h);
	struct thr_ent local = { 0 }, *t;
	struct htab_node *pos;
	uint64_t hash;
	int err;

	hash = hash_u64(mix(s->tid, hash_bytes(comm, len, 0)));
	htab_for_each(&b->thr_h, pos, hash) {
		t = container_of(pos, struct thr_ent, node);
		if (t->tid == s->tid && !memcmp(t->comm, comm, len) &&
		    t->comm[len] == '\0') {
			*ret_tid = t->tid_attr;
			*ret_name = t->name_attr;
			return 0;
		}
	}
	/* A full cache: this thread is looked up again next time. */
	t = cache ? arena__zalloc(&b->arena, sizeof(*t)) : &local;
	if (!t)
		return -ENOMEM;
	t->tid = s->tid;
	memcpy(t->comm, comm, len);
	err = attr__int(b, &b->fx.k_thread_id, "thread.id", s->tid,
			&t->tid_attr);
	if (err && err != -ENOSPC)
		return err;
	if (len) {
		err = key__get(b, &b->fx.k_thread_name, "thread.name");
		if (!err)
			err = attr__get(b, b->fx.k_thread_name, ATTR_STR, 0,
					comm, len, false, &t->name_attr);
		if (err && err != -ENOSPC)
			return err;
	}
	*ret_tid = t->tid_attr;
	*ret_name = t->name_attr;
	/* A full table leaves the attribute out for this thread, for the
	 * rest of the interval: cheaper than asking again. */
	return cache ? htab__insert(&b->thr_h, &t->node, hash) : 0;
}

static int cpu__attr(struct profile_builder *b, uint32_t cpu, int32_t *ret)
{
	int err;

	if (cpu < CPU_CACHE && b->cpu_attr[cpu]) {
		*ret = b->cpu_attr[cpu];
		return 0;
	}
	err = attr__int(b, &b->fx.k_cpu, "cpu.logical_number", cpu, ret);
	if (err == -ENOSPC) {
		*ret = 0;
		return 0;
	}
	if (!err && cpu < CPU_CACHE)
		b->cpu_attr[cpu] = *ret;
	return err;
}

static int sample__get(struct profile_builder *b, uint32_t proc, int32_t stack,
		       const int32_t attrs[3], struct sample_ent **ret)
{
	struct sample_ent *e;
	struct htab_node *pos;
	uint64_t hash;
	int err;

	hash = hash_u64(
		mix(mix(mix(mix(proc, stack), attrs[0]), attrs[1]), attrs[2]));
	htab_for_each(&b->sample_h, pos, hash) {
		e = container_of(pos, struct sample_ent, node);
		if (e->proc == proc && e->stack == stack &&
		    !memcmp(e->attrs, attrs, sizeof(e->attrs))) {
			*ret = e;
			return 0;
		}
	}
	if (b->nsamples >= b->o.max_samples)
		return -ENOSPC;
	err = vec__reserve(b->samples, b->capsamples, b->nsamples + 1);
	if (err)
		return err;
	e = arena__alloc(&b->arena, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->proc = proc;
	e->stack = stack;
	memcpy(e->attrs, attrs, sizeof(e->attrs));
	e->nevents = 0;
	e->idx = b->nsamples;
	err = htab__insert(&b->sample_h, &e->node, hash);
	if (err)
		return err;
	b->samples[b->nsamples++] = e;
	*ret = e;
	return 0;
}

/*
 * The Sample of @s in process @pr: from the raw stack's own list when this
 * thread on this CPU took the same stack before (no dictionary lookup at
 * all), else through the dictionary and the sample table.
 */
static int sample__of(struct profile_builder *b, struct proc_rec *pr,
		      const struct sym_sample *s, struct sample_ent **ret)
{
	char comm[COMM_MAX] = { 0 };
	struct stackraw_ent *r;
	struct rawkey k;
	int32_t stack, attrs[3];
	uint64_t fhash;
	int err;

	if (s->comm)
		memcpy(comm, s->comm, strnlen(s->comm, COMM_MAX));
	rawkey__init(&k, pr, s);
	fhash = fastsample__hash(&k, s->tid, s->cpu, comm);
	*ret = fastsample__find(b, &k, fhash, s->tid, s->cpu, comm);
	if (*ret)
		return 0;

	r = stackraw__find(b, &k);
	if (r) {
		stack = r->idx;
	} else {
		err = stackraw__add(b, pr, s, &k, &stack, &r);
		if (err == -ENOSPC) {
			b->stats.samples_overflow++;
			err = stack__overflow(b, &stack);
		}
		if (err)
			return err;
	}
	err = thread__attrs(b, s, &attrs[0], &attrs[1]);
	if (!err)
		err = cpu__attr(b, s->cpu, &attrs[2]);
	if (err)
		return err;
	err = sample__get(b, pr->idx, stack, attrs, ret);
	if (err == -ENOSPC)
		b->stats.dropped_samples++;
	/* Overflowed stacks are not remembered: their raw stack is not. */
	if (err || !r)
		return err;
	return fastsample__add(b, &k, fhash, s->tid, s->cpu, comm, *ret);
}

static int profile_builder__add_one(struct profile_builder *b,
				    const struct sym_sample *s)
{
	struct sample_ent *se;
	struct proc_rec *pr;
	int err;

	if (b->nev >= b->o.max_events) {
		b->stats.dropped_events++;
		return -ENOSPC;
	}
	/* Room for the event first: a Sample must never end up empty. */
	err = vec__reserve(b->ev_ts, b->capev_ts, b->nev + 1);
	if (!err)
		err = vec__reserve(b->ev_sample, b->capev_sample, b->nev + 1);
	if (err)
		return err;
	err = proc_rec__get(b, s, &pr);
	if (!err)
		err = sample__of(b, pr, s, &se);
	if (err)
		return err;
	se->nevents++;
	b->ev_ts[b->nev] = s->ts_ns;
	b->ev_sample[b->nev] = se->idx;
	b->nev++;
	return 0;
}

int profile_builder__add(struct profile_builder *b, const struct sym_sample *s)
{
	int err;

	b->stats.samples++;
	err = profile_builder__add_one(b, s);
	if (err == -ENOMEM)
		b->stats.dropped_nomem++;
	return err;
}

/* ---- the request ---- */

/* CLOCK_REALTIME - CLOCK_BOOTTIME, from the closest of three readings. */
static int64_t boot_to_unix_offset(void)
{
	uint64_t r1, bt, r2, best = UINT64_MAX;
	int64_t off = 0;
	int i;

	for (i = 0; i < 3; i++) {
		r1 = clock_ns(CLOCK_REALTIME);
		bt = clock_ns(CLOCK_BOOTTIME);
		r2 = clock_ns(CLOCK_REALTIME);
		if (r2 - r1 < best) {
			best = r2 - r1;
			off = (int64_t)(r1 + (r2 - r1) / 2 - bt);
		}
	}
	return off;
}

/* Unix ns now: the caller's clock, else CLOCK_REALTIME. */
static uint64_t builder__now_unix(const struct profile_builder *b)
{
	if (b->o.now_unix_ns)
		return b->o.now_unix_ns(b->o.clock_ctx);
	return clock_ns(CLOCK_REALTIME);
}

static void interval__start(struct profile_builder *b)
{
	if (b->o.now_unix_ns) {
		b->start_unix_ns = builder__now_unix(b);
		b->boot_to_unix_ns = (int64_t)(b->start_unix_ns - boot_ns());
		return;
	}
	b->boot_to_unix_ns = boot_to_unix_offset();
	b->start_unix_ns = clock_ns(CLOCK_REALTIME);
}

static void interval__reset(struct profile_builder *b)
{
	struct htab *tables[] = BUILDER_TABLES(b);
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		htab__clear(tables[i]);
	strpool__reset(&b->strs);
	strpool__reset(&b->vals);
	arena__reset(&b->arena);
	b->nattrs = b->nfns = b->nmaps = b->nlocs = b->nstacks = 1;
	b->nstackraw = 0;
	b->nprocs = b->nsamples = b->nev = 0;
	memset(&b->fx, 0, sizeof(b->fx));
	memset(b->cpu_attr, 0, sizeof(b->cpu_attr));
	interval__start(b);
}

static void fill_random(uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	uint64_t x;

	while (got < len) {
		n = getrandom(buf + got, len - got, GRND_NONBLOCK);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* No entropy yet (early boot): unique is what matters. */
	for (x = clock_ns(CLOCK_MONOTONIC); got < len; got++) {
		x = hash_u64(x + got);
		buf[got] = (uint8_t)x;
	}
}

/* The protobuf-c messages of one request, all in the builder's pack
 * arena. */
struct packer {
	struct profile_builder *b;
	struct arena *a;
	pb_request req;
	pb_dictionary dict;
	pb_scope scope;
	pb_value_type sample_type, period_type;
	uint8_t profile_id_base[16];
	uint64_t *ts; /* unix ns, grouped by sample */
	uint32_t *ts_off; /* per sample: first timestamp in ts */
	uint32_t *by_proc; /* sample indices grouped by process */
	uint32_t *proc_off;
	uint64_t start_ns, end_ns;
};

#define PACK_ARRAY(pk, ptr, n) \
	((ptr) = arena__alloc((pk)->a, (size_t)(n) * sizeof(*(ptr))))

static int pack__strings(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	uint32_t i;

	pk->dict.n_string_table = b->strs.n;
	if (!PACK_ARRAY(pk, pk->dict.string_table, b->strs.n))
		return -ENOMEM;
	for (i = 0; i < b->strs.n; i++)
		pk->dict.string_table[i] = (char *)b->strs.v[i];
	return 0;
}

static int pack__mappings(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	pb_mapping *v;
	uint32_t i;

	pk->dict.n_mapping_table = b->nmaps;
	if (!PACK_ARRAY(pk, pk->dict.mapping_table, b->nmaps) ||
	    !PACK_ARRAY(pk, v, b->nmaps))
		return -ENOMEM;
	for (i = 0; i < b->nmaps; i++) {
		PB(mapping__init)(&v[i]);
		pk->dict.mapping_table[i] = &v[i];
		if (!i)
			continue;
		v[i].memory_start = b->maps[i]->start;
		v[i].memory_limit = b->maps[i]->limit;
		v[i].file_offset = b->maps[i]->offset;
		v[i].filename_strindex = b->maps[i]->file;
		if (b->maps[i]->build_id) {
			v[i].n_attribute_indices = 1;
			v[i].attribute_indices = &b->maps[i]->build_id;
		}
	}
	return 0;
}

static int pack__locations(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	uint32_t i, j, nlines = 0;
	pb_line *lines, **lp;
	pb_location *v;

	for (i = 1; i < b->nlocs; i++)
		nlines += b->locs[i]->nlines;
	pk->dict.n_location_table = b->nlocs;
	if (!PACK_ARRAY(pk, pk->dict.location_table, b->nlocs) ||
	    !PACK_ARRAY(pk, v, b->nlocs) || !PACK_ARRAY(pk, lines, nlines) ||
	    !PACK_ARRAY(pk, lp, nlines))
		return -ENOMEM;
	for (i = 0; i < b->nlocs; i++) {
		const struct loc_ent *e = b->locs[i];

		PB(location__init)(&v[i]);
		pk->dict.location_table[i] = &v[i];
		if (!i)
			continue;
		v[i].mapping_index = e->mapping;
		v[i].address = e->addr;
		if (e->attr) {
			v[i].n_attribute_indices = 1;
			v[i].attribute_indices = &b->locs[i]->attr;
		}
		v[i].n_lines = e->nlines;
		v[i].lines = lp;
		for (j = 0; j < e->nlines; j++) {
			PB(line__init)(lines);
			lines->function_index = e->lines[j].fn;
			lines->line = e->lines[j].line;
			*lp++ = lines++;
		}
	}
	return 0;
}

static int pack__functions(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	pb_function *v;
	uint32_t i;

	pk->dict.n_function_table = b->nfns;
	if (!PACK_ARRAY(pk, pk->dict.function_table, b->nfns) ||
	    !PACK_ARRAY(pk, v, b->nfns))
		return -ENOMEM;
	for (i = 0; i < b->nfns; i++) {
		PB(function__init)(&v[i]);
		pk->dict.function_table[i] = &v[i];
		if (!i)
			continue;
		v[i].name_strindex = b->fns[i]->name;
		v[i].system_name_strindex = b->fns[i]->sys;
		v[i].filename_strindex = b->fns[i]->file;
	}
	return 0;
}

static int pack__attributes(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	pb_anyvalue *av;
	pb_kvu *v;
	uint32_t i;

	pk->dict.n_attribute_table = b->nattrs;
	if (!PACK_ARRAY(pk, pk->dict.attribute_table, b->nattrs) ||
	    !PACK_ARRAY(pk, v, b->nattrs) || !PACK_ARRAY(pk, av, b->nattrs))
		return -ENOMEM;
	for (i = 0; i < b->nattrs; i++) {
		const struct attr_ent *e = b->attrs[i];

		PB(key_value_and_unit__init)(&v[i]);
		pk->dict.attribute_table[i] = &v[i];
		if (!i)
			continue;
		PB_COMMON(any_value__init)(&av[i]);
		if (e->type == ATTR_STR) {
			av[i].value_case = ANYVALUE_STRING;
			av[i].string_value = (char *)b->vals.v[e->sval];
		} else {
			av[i].value_case = ANYVALUE_INT;
			av[i].int_value = e->ival;
		}
		v[i].key_strindex = e->key;
		v[i].value = &av[i];
	}
	return 0;
}

static int pack__stacks(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	pb_stack *v;
	uint32_t i;

	pk->dict.n_stack_table = b->nstacks;
	if (!PACK_ARRAY(pk, pk->dict.stack_table, b->nstacks) ||
	    !PACK_ARRAY(pk, v, b->nstacks))
		return -ENOMEM;
	for (i = 0; i < b->nstacks; i++) {
		PB(stack__init)(&v[i]);
		pk->dict.stack_table[i] = &v[i];
		if (!i)
			continue;
		v[i].n_location_indices = b->stacks[i]->n;
		v[i].location_indices = b->stacks[i]->locs;
	}
	return 0;
}

static int pack__links(struct packer *pk)
{
	static uint8_t zero_trace[16], zero_span[8];
	pb_link *link, **table;

	if (!PACK_ARRAY(pk, link, 1) || !PACK_ARRAY(pk, table, 1))
		return -ENOMEM;
	PB(link__init)(link);
	/* The zero link: 16 and 8 zero bytes, not empty ids. */
	link->trace_id.len = sizeof(zero_trace);
	link->trace_id.data = zero_trace;
	link->span_id.len = sizeof(zero_span);
	link->span_id.data = zero_span;
	table[0] = link;
	pk->dict.n_link_table = 1;
	pk->dict.link_table = table;
	return 0;
}

/* Timestamps grouped by sample, in the order they came; the interval's
 * time span widened to hold them all. */
static int pack__events(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	uint32_t i, *fill, sum = 0;
	uint64_t t;

	if (!PACK_ARRAY(pk, pk->ts, b->nev) ||
	    !PACK_ARRAY(pk, pk->ts_off, b->nsamples) ||
	    !PACK_ARRAY(pk, fill, b->nsamples))
		return -ENOMEM;
	for (i = 0; i < b->nsamples; i++) {
		pk->ts_off[i] = sum;
		fill[i] = sum;
		sum += b->samples[i]->nevents;
	}
	pk->start_ns = b->start_unix_ns;
	pk->end_ns = builder__now_unix(b);
	for (i = 0; i < b->nev; i++) {
		t = b->ev_ts[i] + (uint64_t)b->boot_to_unix_ns;
		pk->ts[fill[b->ev_sample[i]]++] = t;
		if (t < pk->start_ns)
			pk->start_ns = t;
		if (t >= pk->end_ns)
			pk->end_ns = t + 1;
	}
	return 0;
}

static int pack__group_samples(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	uint32_t i, *fill, sum = 0;

	if (!PACK_ARRAY(pk, pk->by_proc, b->nsamples) ||
	    !PACK_ARRAY(pk, pk->proc_off, b->nprocs) ||
	    !PACK_ARRAY(pk, fill, b->nprocs))
		return -ENOMEM;
	for (i = 0; i < b->nprocs; i++)
		b->procs[i]->nsamples = 0;
	for (i = 0; i < b->nsamples; i++)
		if (b->samples[i]->nevents)
			b->procs[b->samples[i]->proc]->nsamples++;
	for (i = 0; i < b->nprocs; i++) {
		pk->proc_off[i] = sum;
		fill[i] = sum;
		sum += b->procs[i]->nsamples;
	}
	for (i = 0; i < b->nsamples; i++)
		if (b->samples[i]->nevents)
			pk->by_proc[fill[b->samples[i]->proc]++] = i;
	return 0;
}

static pb_keyvalue *kv_str(pb_keyvalue *kv, pb_anyvalue *av, const char *key,
			   const char *val)
{
	PB_COMMON(key_value__init)(kv);
	PB_COMMON(any_value__init)(av);
	kv->key = (char *)key;
	kv->value = av;
	av->value_case = ANYVALUE_STRING;
	av->string_value = (char *)val;
	return kv;
}

static pb_keyvalue *kv_int(pb_keyvalue *kv, pb_anyvalue *av, const char *key,
			   int64_t val)
{
	PB_COMMON(key_value__init)(kv);
	PB_COMMON(any_value__init)(av);
	kv->key = (char *)key;
	kv->value = av;
	av->value_case = ANYVALUE_INT;
	av->int_value = val;
	return kv;
}

#define RESOURCE_ATTRS 6

/* One process: its resource, the tgprof scope, one CPU profile. */
static int pack__process(struct packer *pk, const struct proc_rec *pr,
			 uint32_t nth, pb_resource_profiles **ret)
{
	struct profile_builder *b = pk->b;
	pb_resource_profiles *rp;
	pb_scope_profiles *sp, **spp;
	pb_keyvalue *kv, **kvp;
	pb_sample *smp, **smpp;
	pb_resource *res;
	pb_profile *prof, **profp;
	pb_anyvalue *av;
	int32_t *attrs;
	uint8_t *id;
	uint32_t i, n = 0;

	if (!PACK_ARRAY(pk, rp, 1) || !PACK_ARRAY(pk, res, 1) ||
	    !PACK_ARRAY(pk, kv, RESOURCE_ATTRS) ||
	    !PACK_ARRAY(pk, kvp, RESOURCE_ATTRS) ||
	    !PACK_ARRAY(pk, av, RESOURCE_ATTRS) || !PACK_ARRAY(pk, sp, 1) ||
	    !PACK_ARRAY(pk, spp, 1) || !PACK_ARRAY(pk, prof, 1) ||
	    !PACK_ARRAY(pk, profp, 1) || !PACK_ARRAY(pk, id, 16) ||
	    !PACK_ARRAY(pk, smp, pr->nsamples) ||
	    !PACK_ARRAY(pk, smpp, pr->nsamples) ||
	    !PACK_ARRAY(pk, attrs, 3 * pr->nsamples))
		return -ENOMEM;

	/* No name at all (no executable, no comm): no service.name, so a
	 * backend names it unknown_service. */
	if (*pr->service_name) {
		kvp[n] = kv_str(&kv[n], &av[n], "service.name",
				pr->service_name);
		n++;
	}
	kvp[n] = kv_int(&kv[n], &av[n], "process.pid", pr->tgid);
	n++;
	if (*pr->exe_name) {
		kvp[n] = kv_str(&kv[n], &av[n], "process.executable.name",
				pr->exe_name);
		n++;
	}
	if (pr->exe_path) {
		kvp[n] = kv_str(&kv[n], &av[n], "process.executable.path",
				pr->exe_path);
		n++;
	}
	if (pr->container_id) {
		kvp[n] = kv_str(&kv[n], &av[n], "container.id",
				pr->container_id);
		n++;
	}
	if (*b->host_name) {
		kvp[n] = kv_str(&kv[n], &av[n], "host.name", b->host_name);
		n++;
	}
	opentelemetry__proto__resource__v1__resource__init(res);
	res->n_attributes = n;
	res->attributes = kvp;

	for (i = 0; i < pr->nsamples; i++) {
		struct sample_ent *se =
			b->samples[pk->by_proc[pk->proc_off[pr->idx] + i]];
		uint32_t k, na = 0;

		PB(sample__init)(&smp[i]);
		smp[i].stack_index = se->stack;
		/* Attributes a full table left out are not listed. */
		for (k = 0; k < 3; k++)
			if (se->attrs[k])
				attrs[3 * i + na++] = se->attrs[k];
		smp[i].n_attribute_indices = na;
		smp[i].attribute_indices = &attrs[3 * i];
		smp[i].n_timestamps_unix_nano = se->nevents;
		smp[i].timestamps_unix_nano = &pk->ts[pk->ts_off[se->idx]];
		smpp[i] = &smp[i];
	}

	/* Unique per profile, one random draw per request: the ids of a
	 * request with many processes share 12 bytes and compress. */
	memcpy(id, pk->profile_id_base, 16);
	id[12] ^= (uint8_t)(nth >> 24);
	id[13] ^= (uint8_t)(nth >> 16);
	id[14] ^= (uint8_t)(nth >> 8);
	id[15] ^= (uint8_t)nth;
	PB(profile__init)(prof);
	prof->sample_type = &pk->sample_type;
	prof->period_type = &pk->period_type;
	prof->period = b->period_ns;
	prof->time_unix_nano = pk->start_ns;
	prof->duration_nano = pk->end_ns - pk->start_ns;
	prof->profile_id.len = 16;
	prof->profile_id.data = id;
	prof->n_samples = pr->nsamples;
	prof->samples = smpp;
	profp[0] = prof;

	PB(scope_profiles__init)(sp);
	sp->scope = &pk->scope;
	sp->n_profiles = 1;
	sp->profiles = profp;
	spp[0] = sp;

	PB(resource_profiles__init)(rp);
	rp->resource = res;
	rp->n_scope_profiles = 1;
	rp->scope_profiles = spp;
	*ret = rp;
	return 0;
}

static int pack__value_types(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	int32_t t, u;
	int err;

	PB(value_type__init)(&pk->sample_type);
	PB(value_type__init)(&pk->period_type);
	err = str__intern(b, "samples", true, &t);
	if (!err)
		err = str__intern(b, "count", true, &u);
	if (err)
		return err;
	pk->sample_type.type_strindex = t;
	pk->sample_type.unit_strindex = u;
	err = str__intern(b, "cpu", true, &t);
	if (!err)
		err = str__intern(b, "nanoseconds", true, &u);
	if (err)
		return err;
	pk->period_type.type_strindex = t;
	pk->period_type.unit_strindex = u;
	return 0;
}

static int pack__request(struct packer *pk)
{
	struct profile_builder *b = pk->b;
	pb_resource_profiles **rps;
	uint32_t i, n = 0;
	int err;

	PB_REQUEST(init)(&pk->req);
	PB(profiles_dictionary__init)(&pk->dict);
	PB_COMMON(instrumentation_scope__init)(&pk->scope);
	pk->scope.name = (char *)PROFILE_SCOPE_NAME;
	pk->scope.version = (char *)TGPROF_VERSION;
	fill_random(pk->profile_id_base, sizeof(pk->profile_id_base));

	/* Strings last: the value types may add some. */
	err = pack__value_types(pk);
	if (!err)
		err = pack__mappings(pk);
	if (!err)
		err = pack__locations(pk);
	if (!err)
		err = pack__functions(pk);
	if (!err)
		err = pack__attributes(pk);
	if (!err)
		err = pack__stacks(pk);
	if (!err)
		err = pack__links(pk);
	if (!err)
		err = pack__strings(pk);
	if (!err)
		err = pack__events(pk);
	if (!err)
		err = pack__group_samples(pk);
	if (err)
		return err;

	if (!PACK_ARRAY(pk, rps, b->nprocs))
		return -ENOMEM;
	for (i = 0; i < b->nprocs; i++) {
		if (!b->procs[i]->nsamples)
			continue;
		err = pack__process(pk, b->procs[i], n, &rps[n]);
		if (err)
			return err;
		n++;
	}
	pk->req.n_resource_profiles = n;
	pk->req.resource_profiles = rps;
	pk->req.dictionary = &pk->dict;
	return 0;
}

int profile_builder__flush(struct profile_builder *b, void **ret_buf,
			   size_t *ret_len)
{
	struct packer pk = { .b = b, .a = &b->pack_arena };
	uint8_t *buf;
	size_t len;
	int err;

	if (!b->nev) {
		interval__reset(b);
		*ret_buf = NULL;
		*ret_len = 0;
		return 0;
	}
	err = pack__request(&pk);
	if (err)
		goto out;
	len = PB_REQUEST(get_packed_size)(&pk.req);
	buf = malloc(len ? len : 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	if (PB_REQUEST(pack)(&pk.req, buf) != len) {
		free(buf);
		err = -EINVAL;
		goto out;
	}
	b->stats.requests++;
	b->stats.request_bytes += len;
	interval__reset(b);
	*ret_buf = buf;
	*ret_len = len;
out:
	arena__reset(pk.a);
	return err;
}

/* ---- lifecycle ---- */

static char *default_host_name(void)
{
	struct utsname u;

	if (uname(&u))
		return strdup("");
	return strdup(u.nodename);
}

struct profile_builder *
profile_builder__new(const struct profile_builder_opts *opts)
{
	struct profile_builder *b;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	err = opts__copy(&b->o, sizeof(b->o), opts);
	if (err)
		goto err_free;
	if (b->o.freq_hz > NSEC_PER_SEC) {
		err = -EINVAL;
		goto err_free;
	}
	if (!b->o.freq_hz)
		b->o.freq_hz = DEFAULT_FREQ_HZ;
	if (!b->o.max_processes)
		b->o.max_processes = DEFAULT_MAX_PROCESSES;
	if (!b->o.max_stacks)
		b->o.max_stacks = DEFAULT_MAX_STACKS;
	if (!b->o.max_entries)
		b->o.max_entries = DEFAULT_MAX_ENTRIES;
	if (!b->o.max_samples)
		b->o.max_samples = DEFAULT_MAX_SAMPLES;
	if (!b->o.max_events)
		b->o.max_events = DEFAULT_MAX_EVENTS;
	if (!b->o.max_string_bytes)
		b->o.max_string_bytes = DEFAULT_MAX_STRING_BYTES;
	b->period_ns = (int64_t)(NSEC_PER_SEC / b->o.freq_hz);

	err = -ENOMEM;
	b->host_name = b->o.host_name ? strdup(b->o.host_name) :
					default_host_name();
	if (!b->host_name)
		goto err_free;
	if (b->o.service_name && *b->o.service_name) {
		b->service_name = strdup(b->o.service_name);
		if (!b->service_name)
			goto err_free;
	}
	b->o.host_name = NULL;
	b->o.service_name = NULL;
	if (strpool__init(&b->strs) || strpool__init(&b->vals))
		goto err_free;
	/* Index 0 of every table is its zero entry, never stored. */
	if (vec__reserve(b->attrs, b->capattrs, 1) ||
	    vec__reserve(b->fns, b->capfns, 1) ||
	    vec__reserve(b->maps, b->capmaps, 1) ||
	    vec__reserve(b->locs, b->caplocs, 1) ||
	    vec__reserve(b->stacks, b->capstacks, 1))
		goto err_free;
	b->attrs[0] = NULL;
	b->fns[0] = NULL;
	b->maps[0] = NULL;
	b->locs[0] = NULL;
	b->stacks[0] = NULL;
	interval__reset(b);
	return b;

err_free:
	profile_builder__free(b);
	errno = -err;
	return NULL;
}

void profile_builder__stats(const struct profile_builder *b,
			    struct profile_builder_stats *ret)
{
	*ret = b->stats;
	ret->processes = b->nprocs;
	ret->stacks = b->nstacks - 1;
	ret->locations = b->nlocs - 1;
	ret->functions = b->nfns - 1;
	ret->mappings = b->nmaps - 1;
	ret->attributes = b->nattrs - 1;
	ret->strings = b->strs.n - 1;
	ret->sample_records = b->nsamples;
	ret->events = b->nev;
}

static void builder__free_tables(struct profile_builder *b)
{
	struct htab *tables[] = BUILDER_TABLES(b);
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		htab__free(tables[i]);
}

void profile_builder__free(struct profile_builder *b)
{
	if (!b)
		return;
	builder__free_tables(b);
	strpool__free(&b->strs);
	strpool__free(&b->vals);
	arena__free(&b->arena);
	arena__free(&b->pack_arena);
	free(b->attrs);
	free(b->fns);
	free(b->maps);
	free(b->locs);
	free(b->stacks);
	free(b->procs);
	free(b->samples);
	free(b->ev_ts);
	free(b->ev_sample);
	free(b->host_name);
	free(b->service_name);
	free(b);
}

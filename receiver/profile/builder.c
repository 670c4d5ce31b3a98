// SPDX-License-Identifier: Apache-2.0
/* The profile builder (profile.h): symbolized samples come in and are
 * aggregated per interval into processes, Samples (one per stack and
 * values of the attributes attached: the rows of sample_attrs[] the
 * options keep) and their timestamps; at every
 * flush encode.c packs the interval into one serialized request.
 *
 * The hot path is add(): a sample whose process, raw stack (addresses and
 * what the symbolizer found) and attribute values were seen in the
 * interval costs one lookup and no allocation. A new one goes through
 * stacks.c and the dictionary. Everything of an interval lives in an arena
 * and tables that are emptied, not freed, at every flush.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "lib/clock.h"
#include "lib/opts.h"
#include "receiver/profile/dictionary.h"
#include "receiver/profile/encode.h"
#include "receiver/profile/profile.h"
#include "receiver/profile/stacks.h"

#define DEFAULT_FREQ_HZ 19
#define DEFAULT_MAX_PROCESSES 4096
#define DEFAULT_MAX_STACKS 65536
#define DEFAULT_MAX_ENTRIES 262144
#define DEFAULT_MAX_SAMPLES 262144
#define DEFAULT_MAX_EVENTS 1048576
#define DEFAULT_MAX_STRING_BYTES (16u << 20)
#define COMM_MAX 16

/*
 * A sample attribute: its key, and its value in a sample as raw words,
 * at most @max_words: an int is one word, a string its length then its
 * bytes zero-padded to words; no word: the sample has none and the
 * attribute is left out. A new attribute is one row; a Sample is one per
 * distinct set of values.
 */
struct sample_attr {
	struct dict_key key;
	uint32_t bit; /* enum profile_sample_attr */
	enum attr_type type;
	uint32_t max_words;
	uint32_t (*raw)(const struct sym_sample *s, uint64_t *w);
};

static uint32_t raw_int(uint64_t *w, int64_t v)
{
	w[0] = (uint64_t)v;
	return 1;
}

/* @s (a NUL-terminated string or @max bytes, whichever is shorter) as a
 * length word and its bytes, zero-padded: no word when it is empty. */
static uint32_t raw_str(uint64_t *w, const char *s, size_t max)
{
	size_t len = s ? strnlen(s, max) : 0;
	uint32_t words = (uint32_t)((len + 7) / 8);

	if (!len)
		return 0;
	w[0] = len;
	w[words] = 0;
	memcpy(&w[1], s, len);
	return 1 + words;
}

static uint32_t sample__thread_id(const struct sym_sample *s, uint64_t *w)
{
	return raw_int(w, s->tid);
}

static uint32_t sample__thread_name(const struct sym_sample *s, uint64_t *w)
{
	return raw_str(w, s->comm, COMM_MAX);
}

static uint32_t sample__cpu(const struct sym_sample *s, uint64_t *w)
{
	return raw_int(w, s->cpu);
}

static const struct sample_attr sample_attrs[] = {
	{ { "thread.id", DICT_KEY_THREAD_ID },
	  PROFILE_ATTR_THREAD_ID,
	  ATTR_INT,
	  1,
	  sample__thread_id },
	{ { "thread.name", DICT_KEY_THREAD_NAME },
	  PROFILE_ATTR_THREAD_NAME,
	  ATTR_STR,
	  1 + COMM_MAX / 8,
	  sample__thread_name },
	{ { "cpu.logical_number", DICT_KEY_CPU },
	  PROFILE_ATTR_CPU,
	  ATTR_INT,
	  1,
	  sample__cpu },
};

#define NSAMPLE_ATTRS ARRAY_SIZE(sample_attrs)

_Static_assert(NSAMPLE_ATTRS <= PROFILE_SAMPLE_ATTRS_MAX,
	       "struct profile_sample has no room for every sample attribute");

uint32_t profile_sample_attr__parse(const char *name)
{
	uint32_t i;

	for (i = 0; name && i < NSAMPLE_ATTRS; i++)
		if (!strcmp(name, sample_attrs[i].key.name))
			return sample_attrs[i].bit;
	return 0;
}

/* A 128-bit hash, two lanes as struct rawkey has. In the fast table, what
 * a sample seen before is known by: its raw stack in its process image
 * and its attributes' raw words; in the attribute-set table, the words
 * alone. */
struct fast_key {
	uint64_t h1, h2;
};

/* The raw words of a sample's attributes, each row's where @off says
 * (0 words: none). Every row's max_words must fit (profile_builder__new()
 * checks). */
#define SAMPLE_WORDS 16

struct sample_vals {
	uint64_t w[SAMPLE_WORDS];
	uint32_t n;
	uint8_t off[NSAMPLE_ATTRS], nwords[NSAMPLE_ATTRS];
	struct fast_key set; /* the hash of the words: the attribute set */
};

/* Process identity in an interval: an exec that changes what the process
 * table knows of it (facts_gen) starts another process. No padding. */
struct proc_key {
	uint64_t start_ns;
	uint32_t tgid;
	uint32_t facts_gen;
	uint32_t has_proc;
	uint32_t zero;
};

struct profile_builder {
	struct profile_builder_opts o;
	uint32_t attrs_on; /* PROFILE_ATTR_* bits of the attributes attached */
	char *host_name;
	char *service_name;
	int64_t period_ns;

	struct arena arena; /* everything of the interval */
	struct arena pack_arena; /* the messages of a flush */
	struct dictionary dict;
	struct stacks stacks;
	struct table proc_t; /* struct proc_key -> procs[] */
	struct profile_process **procs;
	uint32_t capprocs;
	struct table sample_t; /* struct profile_sample -> nevents[] */
	uint32_t *nevents;
	uint32_t capnevents;
	/* Off-CPU nanoseconds per Sample (0 for CPU Samples), beside
	 * nevents[]; noff off-CPU samples added in the interval. */
	uint64_t *values;
	uint32_t capvalues;
	uint32_t noff;
	struct table fast_t; /* struct fast_key -> sample */
	/* The raw words of a sample's attributes -> their attribute_table
	 * indices (attrsets[NSAMPLE_ATTRS * set]): what spares a new Sample
	 * the dictionary's lookups, most repeating a few threads and CPUs. */
	struct table attrset_t;
	int32_t *attrsets;
	uint32_t capattrsets;
	uint64_t *ev_ts; /* CLOCK_BOOTTIME, per event */
	uint32_t *ev_sample;
	uint32_t nev, capev_ts, capev_sample;

	uint64_t start_unix_ns; /* interval start, CLOCK_REALTIME */
	int64_t boot_to_unix_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME */
	struct profile_builder_stats stats;
};

/* ---- processes ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/*
 * An executable without a file name of its own (a memfd, an O_TMPFILE)
 * says nothing stable about the program: "memfd:sealed-91173221a7ea". The
 * kernel makes the comm of such an exec from the same name, cut to 15
 * bytes, so argv[0] names it first, then the comm, which the program may
 * have set. A deleted file keeps its name (procfs drops " (deleted)"): a
 * binary replaced by an upgrade is still that program.
 */
const char *profile_service_name(bool kernel_thread, const char *exe_path,
				 const char *argv0, const char *comm)
{
	bool anonymous;

	if (kernel_thread)
		return PROFILE_KERNEL_SERVICE;
	anonymous = exe_path && *exe_path && procfs__exe_is_anonymous(exe_path);
	if (anonymous && argv0 && *argv0)
		return argv0;
	if (exe_path && *exe_path && (!anonymous || !comm || !*comm))
		return base_name(exe_path);
	return comm ? comm : "";
}

static int process__fill(struct profile_builder *b, struct profile_process *pr,
			 const struct sym_sample *s)
{
	const struct proc *p = s->proc;
	const char *name = s->pcomm && *s->pcomm ? s->pcomm : "";
	const char *service;

	pr->tgid = s->tgid;
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
	service = profile_service_name(p && p->kernel_thread, pr->exe_path,
				       p ? p->argv0 : NULL, s->pcomm);
	pr->service_name = b->service_name ?
				   b->service_name :
				   arena__strndup(&b->arena, service,
						  PROFILE_MAX_STRING_LEN);
	if (!pr->service_name)
		return -ENOMEM;
	if (p && p->container_id[0]) {
		pr->container_id = arena__strndup(&b->arena, p->container_id,
						  PROCFS_CONTAINER_ID_LEN);
		if (!pr->container_id)
			return -ENOMEM;
	}
	return 0;
}

/* The index of the process of @s, added when new. */
static int process__get(struct profile_builder *b, const struct sym_sample *s,
			uint32_t *ret_idx)
{
	struct proc_key k = {
		.start_ns = s->start_ns,
		.tgid = s->tgid,
		.facts_gen = s->proc ? s->proc->facts_gen : 0,
		.has_proc = !!s->proc,
	};
	uint64_t hash = hash_key(&k, sizeof(k));
	const struct table_entry *e;
	struct profile_process *pr;
	uint32_t n = b->proc_t.n;
	int32_t idx;
	int err;

	e = table__find(&b->proc_t, &k, sizeof(k), hash);
	if (e) {
		*ret_idx = (uint32_t)e->idx;
		return 0;
	}
	if (table__full(&b->proc_t, sizeof(k))) {
		b->stats.dropped_processes++;
		return -ENOSPC;
	}
	/* The record first: a process in the table has one. */
	err = vec__reserve(b->procs, b->capprocs, n + 1);
	if (err)
		return err;
	pr = arena__zalloc(&b->arena, sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	err = process__fill(b, pr, s);
	if (!err)
		err = table__add(&b->proc_t, &k, sizeof(k), hash, false, &idx);
	if (err)
		return err;
	b->procs[idx] = pr;
	*ret_idx = (uint32_t)idx;
	return 0;
}

/* ---- samples ---- */

/* The raw words of @s's attributes (those of @on, enum
 * profile_sample_attr) into @sv, and the fast table's key of the sample
 * (raw stack @k) into @fk. */
static void sample_vals__init(struct sample_vals *sv, struct fast_key *fk,
			      const struct rawkey *k,
			      const struct sym_sample *s, uint32_t on)
{
	uint64_t has = 0, h1 = 0, h2 = 0;
	uint32_t i, w = 0;

	for (i = 0; i < NSAMPLE_ATTRS; i++) {
		sv->off[i] = (uint8_t)w;
		sv->nwords[i] = 0;
		if (on & sample_attrs[i].bit)
			sv->nwords[i] =
				(uint8_t)sample_attrs[i].raw(s, &sv->w[w]);
		w += sv->nwords[i];
		has |= (uint64_t) !!sv->nwords[i] << i;
	}
	sv->n = w;
	for (i = 0; i < w; i++) {
		h1 = hash_mix(h1, sv->w[i]);
		h2 = hash_mix2(h2, sv->w[i]);
	}
	/* Which rows have a value, and how many words they took, tell
	 * apart sets whose words are alike. */
	has = has << 32 | w;
	sv->set.h1 = hash_final(h1 ^ has);
	sv->set.h2 = hash_final(h2 ^ has);
	fk->h1 = hash_final(hash_mix(k->h1, sv->set.h1));
	fk->h2 = hash_final(hash_mix2(k->h2, sv->set.h2));
}

/* The value of row @i as the dictionary takes it, from its words @w. */
static void attr_val__of(struct attr_val *v, uint32_t i, const uint64_t *w)
{
	v->type = sample_attrs[i].type;
	if (v->type == ATTR_INT) {
		v->i = (int64_t)w[0];
	} else {
		v->len = w[0];
		v->s = (const char *)&w[1];
	}
}

/* The attribute of row @i (0 when the sample has none, or when a full
 * table leaves it out: it stays full for the rest of the interval). */
static int sample__attr(struct profile_builder *b, const struct sample_vals *sv,
			uint32_t i, int32_t *ret_idx)
{
	struct attr_val val;
	int err;

	*ret_idx = 0;
	if (!sv->nwords[i])
		return 0;
	attr_val__of(&val, i, &sv->w[sv->off[i]]);
	err = dict__attr(&b->dict, &sample_attrs[i].key, &val, false, ret_idx);
	return err == -ENOSPC ? 0 : err;
}

/* The attribute_table indices of @sv's rows into @ret, through the
 * attribute-set table. */
static int sample__attrs(struct profile_builder *b,
			 const struct sample_vals *sv, int32_t *ret)
{
	const struct table_entry *e;
	uint32_t i;
	int32_t set;
	int err;

	e = table__find(&b->attrset_t, &sv->set, sizeof(sv->set), sv->set.h1);
	if (e) {
		memcpy(ret, &b->attrsets[NSAMPLE_ATTRS * e->idx],
		       NSAMPLE_ATTRS * sizeof(*ret));
		return 0;
	}
	for (i = 0; i < NSAMPLE_ATTRS; i++) {
		err = sample__attr(b, sv, i, &ret[i]);
		if (err)
			return err;
	}
	/* Room for the indices first: a set in the table has them. */
	err = vec__reserve(b->attrsets, b->capattrsets,
			   NSAMPLE_ATTRS * (b->attrset_t.n + 1));
	if (err)
		return err;
	err = table__add(&b->attrset_t, &sv->set, sizeof(sv->set), sv->set.h1,
			 false, &set);
	if (err)
		return err == -ENOSPC ? 0 : err;
	memcpy(&b->attrsets[NSAMPLE_ATTRS * set], ret,
	       NSAMPLE_ATTRS * sizeof(*ret));
	return 0;
}

/* The Sample of @key (its attributes' count @nattrs), added when new;
 * -ENOSPC (counted) at max_samples. */
static int sample__get(struct profile_builder *b,
		       const struct profile_sample *key, uint32_t nattrs,
		       int32_t *ret_idx)
{
	uint32_t len = offsetof(struct profile_sample, attrs) +
		       nattrs * sizeof(key->attrs[0]);
	int err;

	/* Room for its count first: a Sample in the table has one. */
	err = vec__reserve(b->nevents, b->capnevents, b->sample_t.n + 1);
	if (!err)
		err = vec__reserve(b->values, b->capvalues, b->sample_t.n + 1);
	if (err)
		return err;
	b->nevents[b->sample_t.n] = 0;
	b->values[b->sample_t.n] = 0;
	err = table__intern(&b->sample_t, key, len, hash_key(key, len), false,
			    ret_idx);
	if (err == -ENOSPC)
		b->stats.dropped_samples++;
	return err;
}

/*
 * The Sample of @s: from the fast table when the same raw stack was taken
 * before in the same process image with the same attribute values (no
 * process, dictionary or Sample lookup at all), else through the process
 * table, stacks.c, the dictionary and the sample table.
 */
static int sample__of(struct profile_builder *b, const struct sym_sample *s,
		      int32_t *ret_idx)
{
	struct profile_sample key = { 0 };
	const struct table_entry *e;
	struct sample_vals sv;
	struct fast_key fk;
	struct rawkey k;
	uint32_t proc;
	bool cached;
	int err;

	rawkey__init(&k, s);
	sample_vals__init(&sv, &fk, &k, s, b->attrs_on);
	key.kind = s->off_cpu_ns ? PROFILE_KIND_OFF_CPU : PROFILE_KIND_CPU;
	/* The same stack off CPU is another Sample. */
	if (key.kind) {
		fk.h1 = hash_final(hash_mix(fk.h1, key.kind));
		fk.h2 = hash_final(hash_mix2(fk.h2, key.kind));
	}
	/* The first half is hash enough: the key holds the second. */
	e = table__find(&b->fast_t, &fk, sizeof(fk), fk.h1);
	if (e) {
		*ret_idx = e->idx;
		return 0;
	}

	err = process__get(b, s, &proc);
	if (err)
		return err;
	k.proc = proc;
	key.proc = proc;
	err = stacks__get(&b->stacks, s, &k, &key.stack, &cached);
	if (err == -ENOSPC) {
		b->stats.samples_overflow++;
		cached = false;
		err = dict__overflow_stack(&b->dict, &key.stack);
	}
	if (!err)
		err = sample__attrs(b, &sv, key.attrs);
	if (!err)
		err = sample__get(b, &key, NSAMPLE_ATTRS, ret_idx);
	/* Overflowed stacks are not remembered: their raw stack is not. */
	if (err || !cached)
		return err;
	return table__remember(&b->fast_t, &fk, sizeof(fk), fk.h1, *ret_idx);
}

/* An off-CPU sample: its time adds to its Sample's value; no event is
 * kept (the profile carries values, not timestamps). */
static int profile_builder__add_off_cpu(struct profile_builder *b,
					const struct sym_sample *s)
{
	int32_t sample;
	int err;

	err = sample__of(b, s, &sample);
	if (err)
		return err;
	b->values[sample] += s->off_cpu_ns;
	b->noff++;
	b->stats.off_cpu_samples++;
	b->stats.off_cpu_ns += s->off_cpu_ns;
	return 0;
}

static int profile_builder__add_one(struct profile_builder *b,
				    const struct sym_sample *s)
{
	int32_t sample;
	int err;

	if (s->off_cpu_ns)
		return profile_builder__add_off_cpu(b, s);
	if (b->nev >= b->o.max_events) {
		b->stats.dropped_events++;
		return -ENOSPC;
	}
	/* Room for the event first: a Sample must never end up empty. */
	err = vec__reserve(b->ev_ts, b->capev_ts, b->nev + 1);
	if (!err)
		err = vec__reserve(b->ev_sample, b->capev_sample, b->nev + 1);
	if (!err)
		err = sample__of(b, s, &sample);
	if (err)
		return err;
	b->nevents[sample]++;
	b->ev_ts[b->nev] = s->ts_ns;
	b->ev_sample[b->nev] = (uint32_t)sample;
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

/* ---- intervals ---- */

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
	dictionary__reset(&b->dict);
	stacks__reset(&b->stacks);
	table__reset(&b->proc_t);
	table__reset(&b->sample_t);
	table__reset(&b->fast_t);
	table__reset(&b->attrset_t);
	arena__reset(&b->arena);
	b->nev = 0;
	b->noff = 0;
	interval__start(b);
}

int profile_builder__flush(struct profile_builder *b, void **ret_buf,
			   size_t *ret_len)
{
	struct encode_request r = {
		.dict = &b->dict,
		.period_ns = b->period_ns,
		.host_name = b->host_name,
		.procs = (const struct profile_process *const *)b->procs,
		.nprocs = table__count(&b->proc_t),
		.samples = &b->sample_t,
		.nevents = b->nevents,
		.values = b->values,
		.ev_ts = b->ev_ts,
		.ev_sample = b->ev_sample,
		.nev = b->nev,
		.boot_to_unix_ns = b->boot_to_unix_ns,
		.start_ns = b->start_unix_ns,
	};
	int err;

	if (!b->nev && !b->noff) {
		interval__reset(b);
		*ret_buf = NULL;
		*ret_len = 0;
		return 0;
	}
	/* On failure the interval stays for the next try: interning the
	 * value types again finds them. */
	err = dict__value_types(&b->dict, DICT_SAMPLES_CPU, &r.types);
	/* Only a request with off-CPU samples names their type. */
	if (!err && b->noff)
		err = dict__value_types(&b->dict, DICT_SAMPLES_OFF_CPU,
					&r.off_cpu_types);
	if (err)
		return err;
	r.end_ns = builder__now_unix(b);
	err = encode__request(&r, &b->pack_arena, ret_buf, ret_len);
	if (err)
		return err;
	b->stats.requests++;
	b->stats.request_bytes += *ret_len;
	interval__reset(b);
	return 0;
}

/* ---- lifecycle ---- */

static char *default_host_name(void)
{
	struct utsname u;

	if (uname(&u))
		return strdup("");
	return strdup(u.nodename);
}

static void opts__defaults(struct profile_builder_opts *o)
{
	if (!o->freq_hz)
		o->freq_hz = DEFAULT_FREQ_HZ;
	if (!o->max_processes)
		o->max_processes = DEFAULT_MAX_PROCESSES;
	if (!o->max_stacks)
		o->max_stacks = DEFAULT_MAX_STACKS;
	if (!o->max_entries)
		o->max_entries = DEFAULT_MAX_ENTRIES;
	if (!o->max_samples)
		o->max_samples = DEFAULT_MAX_SAMPLES;
	if (!o->max_events)
		o->max_events = DEFAULT_MAX_EVENTS;
	if (!o->max_string_bytes)
		o->max_string_bytes = DEFAULT_MAX_STRING_BYTES;
}

/* The dictionary, the caches and the tables of an interval. */
static int builder__init_tables(struct profile_builder *b)
{
	const struct profile_builder_opts *o = &b->o;
	struct dict_bounds bounds = {
		.max_entries = o->max_entries,
		.max_stacks = o->max_stacks,
		.max_string_bytes = o->max_string_bytes,
	};
	uint32_t max_fast = o->max_entries < o->max_samples ? o->max_entries :
							      o->max_samples;
	uint32_t i, words = 0;
	int err;

	/* Every row's words. */
	for (i = 0; i < NSAMPLE_ATTRS; i++)
		words += sample_attrs[i].max_words;
	if (words > SAMPLE_WORDS)
		return -EINVAL;

	err = dictionary__init(&b->dict, &b->arena, &bounds);
	if (!err)
		err = stacks__init(&b->stacks, &b->dict, &b->arena,
				   o->max_entries, o->max_stacks);
	if (!err)
		err = table__init(&b->proc_t, TABLE_INDEXED, &b->arena,
				  o->max_processes, 0);
	if (!err)
		err = table__init(&b->sample_t, TABLE_INDEXED, &b->arena,
				  o->max_samples, 0);
	if (!err)
		err = table__init(&b->fast_t, TABLE_CACHE, &b->arena, max_fast,
				  0);
	if (!err)
		err = table__init(&b->attrset_t, TABLE_INDEXED, &b->arena,
				  o->max_entries, 0);
	return err;
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
	opts__defaults(&b->o);
	b->attrs_on = PROFILE_ATTRS_ALL & ~b->o.omit_sample_attrs;
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
	err = builder__init_tables(b);
	if (err)
		goto err_free;
	interval__start(b);
	return b;

err_free:
	profile_builder__free(b);
	errno = -err;
	return NULL;
}

void profile_builder__stats(const struct profile_builder *b,
			    struct profile_builder_stats *ret)
{
	const struct dictionary *d = &b->dict;

	*ret = b->stats;
	ret->stacks_truncated = b->stacks.stacks_truncated;
	ret->strings_truncated = d->strings_truncated;
	ret->processes = table__count(&b->proc_t);
	ret->stacks = table__count(&d->stacks);
	ret->locations = table__count(&d->locations);
	ret->functions = table__count(&d->functions);
	ret->mappings = table__count(&d->mappings);
	ret->attributes = table__count(&d->attrs);
	ret->strings = table__count(&d->strings);
	ret->sample_records = table__count(&b->sample_t);
	ret->events = b->nev;
}

void profile_builder__free(struct profile_builder *b)
{
	if (!b)
		return;
	dictionary__free(&b->dict);
	stacks__free(&b->stacks);
	table__free(&b->proc_t);
	table__free(&b->sample_t);
	table__free(&b->fast_t);
	table__free(&b->attrset_t);
	free(b->attrsets);
	arena__free(&b->arena);
	arena__free(&b->pack_arena);
	free(b->procs);
	free(b->nevents);
	free(b->values);
	free(b->ev_ts);
	free(b->ev_sample);
	free(b->host_name);
	free(b->service_name);
	free(b);
}

// SPDX-License-Identifier: Apache-2.0
/* Code objects by name (code.h): a location table (PEP 657,
 * Objects/locations.md) decoded into line ranges, and the bounded cache
 * of code objects read from a process's memory: (process, code object,
 * instruction) in, qualified name, file and line out. */
#include "receiver/runtimes/python/code.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "lib/ratelimit.h"
#include "lib/clock.h"
#include "lib/htab.h"
#include "lib/list.h"
#include "lib/opts.h"

#define PY_UNKNOWN "<unknown>"
#define PY_MAX_LINE (1 << 24) /* a line or firstlineno past this: garbage */
#define PY_MAX_STR_LEN (1 << 24) /* characters of a str believed */
#define PY_VARINT_MAX_CHUNKS 5 /* 30 bits: more is a runaway varint */

/* ---- location table ---- */

struct lt_reader {
	const uint8_t *p, *end;
};

/* A varint: 6-bit chunks, least significant first, 0x40 = more. */
static int lt_varint(struct lt_reader *r, uint32_t *ret)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < PY_VARINT_MAX_CHUNKS; i++) {
		uint8_t b;

		if (r->p >= r->end)
			return -EINVAL;
		b = *r->p++;
		if (b & 0x80) /* the next entry's first byte */
			return -EINVAL;
		v |= (uint32_t)(b & 0x3f) << (6 * i);
		if (!(b & 0x40)) {
			*ret = v;
			return 0;
		}
	}
	return -EINVAL;
}

static int lt_svarint(struct lt_reader *r, int32_t *ret)
{
	uint32_t v;
	int err = lt_varint(r, &v);

	if (err)
		return err;
	*ret = (v & 1) ? -(int32_t)(v >> 1) : (int32_t)(v >> 1);
	return 0;
}

static int lt_skip(struct lt_reader *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (r->p >= r->end || (*r->p & 0x80))
			return -EINVAL;
		r->p++;
	}
	return 0;
}

/* One entry: its length in code units and line delta; *ret_noline for
 * code 15. */
static int lt_entry(struct lt_reader *r, uint32_t *ret_units,
		    int32_t *ret_delta, int *ret_noline)
{
	uint8_t b = *r->p++;
	unsigned int code = (b >> 3) & 15;
	uint32_t u;
	int err = 0;

	if (!(b & 0x80))
		return -EINVAL;
	*ret_units = (b & 7) + 1u;
	*ret_delta = 0;
	*ret_noline = 0;
	switch (code) {
	case 15: /* no location */
		*ret_noline = 1;
		break;
	case 14: /* long form */
		err = lt_svarint(r, ret_delta);
		if (!err)
			err = lt_varint(r, &u); /* end line delta */
		if (!err)
			err = lt_varint(r, &u); /* column + 1 */
		if (!err)
			err = lt_varint(r, &u); /* end column + 1 */
		break;
	case 13: /* no column */
		err = lt_svarint(r, ret_delta);
		break;
	case 10:
	case 11:
	case 12: /* one line: delta code - 10, column, end column */
		*ret_delta = (int32_t)code - 10;
		err = lt_skip(r, 2);
		break;
	default: /* short form: same line, one byte of columns */
		err = lt_skip(r, 1);
		break;
	}
	return err;
}

/* @lenient: a table cut mid-entry (read only up to
 * PYCODE_MAX_LINETABLE) ends at its last whole entry. */
static int lt_decode(const uint8_t *table, size_t len, int32_t firstlineno,
		     struct py_line_range *out, size_t max, uint32_t *ret_end,
		     bool lenient)
{
	struct lt_reader r = { table, table + len };
	int64_t line = firstlineno;
	uint32_t unit = 0, units;
	size_t n = 0;
	int32_t delta;
	int noline, err;

	while (r.p < r.end) {
		const uint8_t *entry = r.p;

		err = lt_entry(&r, &units, &delta, &noline);
		if (err) {
			if (lenient && entry > table && (*entry & 0x80))
				break;
			return err;
		}
		line += delta;
		if (line < 0 || line > PY_MAX_LINE)
			return -EINVAL;
		uint32_t l = noline ? 0 : (uint32_t)line;

		if (!n || out[n - 1].line != l) {
			if (n == max)
				return -E2BIG;
			out[n].start = unit;
			out[n].line = l;
			n++;
		}
		unit += units;
	}
	*ret_end = unit;
	return (int)n;
}

int py_linetable__decode(const uint8_t *table, size_t len, int32_t firstlineno,
			 struct py_line_range *out, size_t max,
			 uint32_t *ret_end)
{
	if (len > PYCODE_MAX_LINETABLE || max > INT32_MAX)
		return -EINVAL;
	return lt_decode(table, len, firstlineno, out, max, ret_end, false);
}

uint32_t py_linetable__line(const struct py_line_range *r, size_t n,
			    uint32_t end, uint32_t unit)
{
	size_t lo = 0, hi = n;

	if (unit >= end || !n)
		return 0;
	while (hi - lo > 1) { /* the last range starting at or before unit */
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].start <= unit)
			lo = mid;
		else
			hi = mid;
	}
	return r[lo].start <= unit ? r[lo].line : 0;
}

/* ---- cache ---- */

/* One code object, in one allocation: the struct, then its ranges, then
 * qualname and file. */
struct pc_entry {
	struct htab_node node;
	struct link lru; /* the cache's LRU, or its retired list */
	uint32_t tgid;
	uint64_t start_ns;
	uint64_t code;
	const char *qualname;
	const char *file;
	struct py_line_range *ranges;
	uint32_t nranges;
	uint32_t end; /* code units the table covers */
	uint32_t firstlineno;
	size_t bytes;
};

struct pycode_cache {
	const struct tg_logger *log;
	py_read_fn read;
	void *read_ctx;
	uint32_t cur_tgid; /* of the default reader, while resolving */
	struct htab entries;
	struct link lru; /* most recently used first */
	struct link retired; /* evicted, freed at the next epoch */
	struct py_line_range *scratch; /* PYCODE_MAX_LINETABLE ranges */
	uint8_t *buf; /* PYCODE_MAX_LINETABLE + a code object */
	size_t buf_size;
	struct ratelimit warn;
	struct pycode_stats st;
};

static int read_vm(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct pycode_cache *c = ctx;
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	n = process_vm_readv((pid_t)c->cur_tgid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

struct pycode_cache *pycode_cache__new(const struct pycode_cache_opts *opts,
				       const struct tg_logger *log)
{
	struct pycode_cache_opts o;
	struct pycode_cache *c;
	int err;

	err = opts__copy(&o, sizeof(o), opts);
	if (err)
		goto err_out;
	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto err_out;
	}
	c->log = log;
	c->read = o.read ? o.read : read_vm;
	c->read_ctx = o.read ? o.read_ctx : c;
	c->st.max_bytes = o.max_bytes ? o.max_bytes : PYCODE_DEFAULT_MAX_BYTES;
	link__init(&c->lru);
	link__init(&c->retired);
	c->scratch = malloc(PYCODE_MAX_LINETABLE * sizeof(*c->scratch));
	if (!c->scratch) {
		err = -ENOMEM;
		goto err_free;
	}
	return c;

err_free:
	pycode_cache__free(c);
err_out:
	errno = -err;
	return NULL;
}

static void free_list(struct link *head)
{
	while (head->next != head) {
		struct pc_entry *e =
			container_of(head->next, struct pc_entry, lru);

		link__del(&e->lru);
		free(e);
	}
}

void pycode_cache__free(struct pycode_cache *c)
{
	if (!c)
		return;
	free_list(&c->lru);
	free_list(&c->retired);
	htab__free(&c->entries);
	free(c->scratch);
	free(c->buf);
	free(c);
}

static void *buf_get(struct pycode_cache *c, size_t len)
{
	if (len > c->buf_size) {
		uint8_t *b = realloc(c->buf, len);

		if (!b)
			return NULL;
		c->buf = b;
		c->buf_size = len;
	}
	return c->buf;
}

static void cache__warn(struct pycode_cache *c, uint32_t tgid, uint64_t code,
			const char *what, int err)
{
	uint64_t now;

	if (!c->log)
		return;
	now = clock_ns(CLOCK_MONOTONIC);
	if (!ratelimit__allow(&c->warn, now))
		return;
	tg_warn(c->log,
		"python code object %#" PRIx64 " of process %" PRIu32
		": %s (%s)",
		code, tgid, what, strerror(-err));
}

static uint64_t get_ptr(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
	if (cp >= 0xd800 && cp < 0xe000)
		cp = 0xfffd; /* a lone surrogate */
	if (cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | cp >> 6);
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | cp >> 12);
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | cp >> 18);
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* Reads the str at @addr as UTF-8 into @out (PYCODE_MAX_STRING + 1
 * bytes). 0, -EFAULT-like from the reader, or -EINVAL: not a compact
 * str. */
static int read_str(struct pycode_cache *c, const struct python_layout *l,
		    uint64_t addr, char *out)
{
	uint8_t hdr[256], raw[PYCODE_MAX_STRING * 4];
	size_t hlen = l->unicode_compact_data, nchars, i, n = 0;
	uint32_t state, kind;
	int64_t length;
	uint64_t data;
	int err;

	if (!addr || (addr & 7) || hlen > sizeof(hdr) ||
	    l->unicode_state + 4u > hlen || l->unicode_length + 8u > hlen)
		return -EINVAL;
	err = c->read(c->read_ctx, addr, hdr, hlen);
	if (err)
		return err;
	memcpy(&state, hdr + l->unicode_state, sizeof(state));
	memcpy(&length, hdr + l->unicode_length, sizeof(length));
	kind = (state >> l->state_kind_shift) & 7;
	if (!(state >> l->state_compact_bit & 1) || length < 0 ||
	    length > PY_MAX_STR_LEN || (kind != 1 && kind != 2 && kind != 4))
		return -EINVAL;
	if (state >> l->state_ascii_bit & 1) {
		if (kind != 1)
			return -EINVAL;
		data = addr + l->unicode_ascii_data;
	} else {
		data = addr + l->unicode_compact_data;
	}
	nchars = (size_t)length;
	if (nchars > PYCODE_MAX_STRING)
		nchars = PYCODE_MAX_STRING;
	if (nchars) {
		err = c->read(c->read_ctx, data, raw, nchars * kind);
		if (err)
			return err;
	}
	for (i = 0; i < nchars; i++) {
		uint32_t cp;

		if (kind == 1) {
			cp = raw[i];
		} else if (kind == 2) {
			uint16_t v;

			memcpy(&v, raw + 2 * i, 2);
			cp = v;
		} else {
			memcpy(&cp, raw + 4 * i, 4);
		}
		if (n + 4 > PYCODE_MAX_STRING &&
		    (cp >= 0x80 || n == PYCODE_MAX_STRING))
			break;
		put_utf8(out, &n, cp);
	}
	out[n] = '\0';
	if (i < (size_t)length)
		c->st.strings_cut++;
	return 0;
}

/* Reads and decodes code object @code of the process being resolved. */
static int cache__load(struct pycode_cache *c, const struct python_layout *l,
		       uint32_t tgid, uint64_t start_ns, uint64_t code,
		       struct pc_entry **ret)
{
	char qualname[PYCODE_MAX_STRING + 1], file[PYCODE_MAX_STRING + 1];
	uint64_t qual_addr, file_addr, table_addr;
	size_t qlen, flen, tlen, bytes;
	int32_t firstlineno;
	int64_t table_size;
	uint32_t end = 0;
	struct pc_entry *e;
	uint8_t *buf;
	int n, err;

	if (!code || (code & 7) || l->code_size < l->code_code_adaptive ||
	    l->code_firstlineno + 4u > l->code_size ||
	    l->code_qualname + 8u > l->code_size ||
	    l->code_filename + 8u > l->code_size ||
	    l->code_linetable + 8u > l->code_size ||
	    l->object_type + 8u > l->code_size)
		return -EINVAL;
	buf = buf_get(c, l->code_size);
	if (!buf)
		return -ENOMEM;
	err = c->read(c->read_ctx, code, buf, l->code_size);
	if (err)
		return err == -EINVAL ? -EFAULT : err;
	memcpy(&firstlineno, buf + l->code_firstlineno, sizeof(firstlineno));
	qual_addr = get_ptr(buf + l->code_qualname);
	file_addr = get_ptr(buf + l->code_filename);
	table_addr = get_ptr(buf + l->code_linetable);
	if (firstlineno < 0 || firstlineno > PY_MAX_LINE ||
	    !get_ptr(buf + l->object_type) || !qual_addr || !file_addr ||
	    !table_addr || (table_addr & 7))
		return -EINVAL;
	err = read_str(c, l, qual_addr, qualname);
	if (!err)
		err = read_str(c, l, file_addr, file);
	if (err)
		return err;

	/* co_linetable: a bytes object, ob_size then ob_sval. */
	if (l->var_size + 8u > l->bytes_data)
		return -EINVAL;
	buf = buf_get(c, l->bytes_data + PYCODE_MAX_LINETABLE);
	if (!buf)
		return -ENOMEM;
	err = c->read(c->read_ctx, table_addr, buf, l->bytes_data);
	if (err)
		return err;
	memcpy(&table_size, buf + l->var_size, sizeof(table_size));
	if (table_size < 0)
		return -EINVAL;
	tlen = (size_t)table_size;
	if (tlen > PYCODE_MAX_LINETABLE) {
		tlen = PYCODE_MAX_LINETABLE;
		c->st.tables_cut++;
	}
	if (tlen) {
		err = c->read(c->read_ctx, table_addr + l->bytes_data, buf,
			      tlen);
		if (err)
			return err;
	}
	n = lt_decode(buf, tlen, firstlineno, c->scratch, PYCODE_MAX_LINETABLE,
		      &end, tlen < (size_t)table_size);
	if (n < 0)
		return -EINVAL;

	qlen = strlen(qualname) + 1;
	flen = strlen(file) + 1;
	bytes = sizeof(*e) + (size_t)n * sizeof(struct py_line_range) + qlen +
		flen;
	e = malloc(bytes);
	if (!e)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	e->tgid = tgid;
	e->start_ns = start_ns;
	e->code = code;
	e->ranges = (struct py_line_range *)(e + 1);
	memcpy(e->ranges, c->scratch, (size_t)n * sizeof(*e->ranges));
	e->nranges = (uint32_t)n;
	e->end = end;
	e->firstlineno = (uint32_t)firstlineno;
	e->qualname = (char *)(e->ranges + n);
	memcpy((char *)e->qualname, qualname, qlen);
	e->file = e->qualname + qlen;
	memcpy((char *)e->file, file, flen);
	e->bytes = bytes;
	link__init(&e->lru);
	*ret = e;
	return 0;
}

static uint64_t key_hash(uint32_t tgid, uint64_t start_ns, uint64_t code)
{
	return hash_u64(code ^ hash_u64(start_ns ^ ((uint64_t)tgid << 32)));
}

static struct pc_entry *cache__find(const struct pycode_cache *c, uint32_t tgid,
				    uint64_t start_ns, uint64_t code,
				    uint64_t hash)
{
	struct htab_node *n;

	htab_for_each(&c->entries, n, hash) {
		struct pc_entry *e = container_of(n, struct pc_entry, node);

		if (e->code == code && e->tgid == tgid &&
		    e->start_ns == start_ns)
			return e;
	}
	return NULL;
}

/* Out of the table, onto the retired list: freed at the next epoch, its
 * strings may be in frames of the sample at hand. */
static void cache__retire(struct pycode_cache *c, struct pc_entry *e)
{
	htab__remove(&c->entries, &e->node);
	link__del(&e->lru);
	link__add_head(&c->retired, &e->lru);
	c->st.bytes -= e->bytes;
}

static void fill(struct py_frame *ret, const struct pc_entry *e,
		 const struct python_layout *l, uint64_t instr)
{
	uint64_t base = e->code + l->code_code_adaptive;
	uint32_t unit;

	ret->qualname = e->qualname;
	ret->file = e->file;
	ret->firstlineno = e->firstlineno;
	ret->line = 0;
	/* 3.11 and 3.12 start a frame at prev_instr = first unit - 1. */
	if (instr + 2 == base)
		instr = base;
	if (instr < base || instr - base >= (uint64_t)e->end * 2)
		return;
	unit = (uint32_t)((instr - base) / 2);
	if (l->instr_is_next && unit)
		unit--;
	ret->line = py_linetable__line(e->ranges, e->nranges, e->end, unit);
}

int pycode_cache__resolve(struct pycode_cache *c,
			  const struct python_layout *layout, uint32_t tgid,
			  uint64_t start_ns, uint64_t code, uint64_t instr,
			  struct py_frame *ret)
{
	uint64_t hash = key_hash(tgid, start_ns, code);
	struct pc_entry *e;
	int err;

	c->st.lookups++;
	e = cache__find(c, tgid, start_ns, code, hash);
	if (e) {
		c->st.hits++;
		link__del(&e->lru);
		link__add_head(&c->lru, &e->lru);
		fill(ret, e, layout, instr);
		return 0;
	}
	c->st.misses++;
	c->cur_tgid = tgid;
	err = cache__load(c, layout, tgid, start_ns, code, &e);
	if (err) {
		ret->qualname = PY_UNKNOWN;
		ret->file = PY_UNKNOWN;
		ret->line = 0;
		ret->firstlineno = 0;
		if (err == -EINVAL) {
			c->st.bad_objects++;
			cache__warn(c, tgid, code, "not a code object", err);
		} else if (err == -ESRCH) {
			/* Its samples outlived it: a short-lived interpreter
			 * is no news. Counted, not warned about. */
			c->st.read_errors++;
		} else if (err != -ENOMEM) {
			c->st.read_errors++;
			cache__warn(c, tgid, code, "unreadable", err);
		}
		return err;
	}
	/* Least recently used out until the new one fits; one that never
	 * fits is returned and retired at once. */
	while (c->st.bytes + e->bytes > c->st.max_bytes &&
	       c->lru.prev != &c->lru) {
		c->st.evictions++;
		cache__retire(c,
			      container_of(c->lru.prev, struct pc_entry, lru));
	}
	if (c->st.bytes + e->bytes > c->st.max_bytes ||
	    htab__insert(&c->entries, &e->node, hash)) {
		c->st.evictions++;
		link__add_head(&c->retired, &e->lru);
	} else {
		link__add_head(&c->lru, &e->lru);
		c->st.bytes += e->bytes;
	}
	fill(ret, e, layout, instr);
	return 0;
}

void pycode_cache__next_epoch(struct pycode_cache *c)
{
	free_list(&c->retired);
}

void pycode_cache__forget(struct pycode_cache *c, uint32_t tgid)
{
	struct htab_node *pos, *tmp;
	size_t bkt;

	if (!c)
		return;
	htab_for_each_safe(&c->entries, pos, tmp, bkt) {
		struct pc_entry *e = container_of(pos, struct pc_entry, node);

		if (e->tgid == tgid)
			cache__retire(c, e);
	}
}

void pycode_cache__stats(const struct pycode_cache *c, struct pycode_stats *ret)
{
	*ret = c->st;
	ret->entries = c->entries.count;
}

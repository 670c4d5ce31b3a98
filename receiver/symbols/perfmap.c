// SPDX-License-Identifier: Apache-2.0
/* Between the symbolizer and a runtime's /tmp/perf-PID.map: an address in
 * anonymous executable memory comes in, the JIT function's name goes out.
 * Maps are read inside the process's root, bounded, cached per process and
 * re-read (rate-limited) when an address misses. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/ratelimit.h"
#include "lib/clock.h"
#include "lib/htab.h"
#include "lib/opts.h"
#include "receiver/processes/procfs.h"
#include "receiver/symbols/perfmap.h"

#define PERFMAP_DEFAULT_MAX_PROCS 256
#define PERFMAP_DEFAULT_REREAD_NS (200 * NSEC_PER_MSEC)
/* Times the reread interval, at most: a map a tool writes later (jcmd
 * Compiler.perfmap) is found within a second. */
#define PERFMAP_MAX_BACKOFF 4
#define PERFMAP_BUDGET_MAPS 4 /* maps held: this many times max_bytes */
#define PERFMAP_STATUS_MAX (64u << 10) /* Groups: can make status long */
/* A map last written this long before its process started is another
 * process's, left in /tmp by one that had the PID before (runtimes do not
 * remove their maps); the slack covers clock-tick rounding and steps. */
#define PERFMAP_STALE_SLACK_NS (2 * NSEC_PER_SEC)

/* ---- parser ---- */

/* A symbol while parsing: its line number decides overlaps. */
struct pm_entry {
	uint64_t start;
	uint64_t end;
	size_t seq;
	size_t name_off;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number at *@p (0x optional, at most 16 digits) followed by a
 * blank; advances *@p past the blanks. */
static bool parse_hex(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	int ndig = 0, d;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (s < end && (d = hexval(*s)) >= 0) {
		if (++ndig > 16)
			return false;
		v = v << 4 | (uint64_t)d;
		s++;
	}
	if (!ndig || s == end || (*s != ' ' && *s != '\t'))
		return false;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*p = s;
	*ret = v;
	return true;
}

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 when
 * invalid: overlong forms, surrogates and code points past U+10FFFF are
 * refused, as protobuf consumers refuse them in strings. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Whether @name (@len bytes) is text fit for a profile: UTF-8, no control
 * bytes. *@ret_keep: its length cut to at most @max on a character
 * boundary. */
static bool name_ok(const char *name, size_t len, size_t max, size_t *ret_keep)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0, keep = 0, n;

	while (i < len) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		n = utf8_seq(s + i, len - i);
		if (!n)
			return false;
		i += n;
		if (i <= max)
			keep = i;
	}
	*ret_keep = keep;
	return true;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct pm_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Sorted entries made non-overlapping, in place: where two overlap the
 * later line wins and the other is cut to what is left of it before (a
 * tail past the winner is dropped). Returns how many remain.
 */
static size_t merge_entries(struct pm_entry *v, size_t n, uint64_t *overlaps)
{
	size_t i, nout = 0;

	for (i = 0; i < n; i++) {
		struct pm_entry e = v[i];

		while (nout && e.start < v[nout - 1].end) {
			struct pm_entry *o = &v[nout - 1];

			(*overlaps)++;
			if (e.seq < o->seq) {
				e.start = o->end;
				break;
			}
			if (o->start >= e.start) {
				nout--;
				continue;
			}
			o->end = e.start;
			break;
		}
		if (e.end > e.start)
			v[nout++] = e;
	}
	return nout;
}

int perfmap__parse(const char *text, size_t len,
		   const struct perfmap_limits *lim, struct perfmap **ret_map,
		   struct perfmap_parse_stats *ret_stats)
{
	size_t max_lines = lim && lim->max_lines ? lim->max_lines :
						   PERFMAP_MAX_LINES;
	size_t max_name = lim && lim->max_name ? lim->max_name :
						 PERFMAP_MAX_NAME;
	struct perfmap_parse_stats st = { 0 };
	const char *p = text, *end = text + len;
	struct pm_entry *ents = NULL, *tmp;
	size_t n = 0, cap = 0, names_len = 0, seq = 0, i;
	struct perfmap *pm;
	char *names = NULL;
	int err = -ENOMEM;

	if (max_name < 16)
		max_name = 16;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		goto err_out;
	/* Every kept name is shorter than its line: the text bounds them. */
	names = malloc(len + 1);
	if (!names)
		goto err_free;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *name, *name_end;
		uint64_t start, size;
		size_t keep;

		if (!eol) {
			st.partial_line = true;
			break;
		}
		p = eol + 1;
		seq++;
		name_end = eol;
		while (name_end > s &&
		       (name_end[-1] == '\r' || name_end[-1] == ' ' ||
			name_end[-1] == '\t'))
			name_end--;
		if (!parse_hex(&s, name_end, &start) ||
		    !parse_hex(&s, name_end, &size) || s >= name_end || !size ||
		    start + size < start) {
			st.skipped++;
			continue;
		}
		name = s;
		if (!name_ok(name, (size_t)(name_end - name), max_name,
			     &keep)) {
			st.skipped++;
			continue;
		}
		if (n == max_lines) {
			st.skipped++;
			continue;
		}
		if (keep < (size_t)(name_end - name))
			st.names_cut++;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if (cap > max_lines)
				cap = max_lines;
			tmp = realloc(ents, cap * sizeof(*ents));
			if (!tmp)
				goto err_free;
			ents = tmp;
		}
		ents[n] = (struct pm_entry){ start, start + size, seq,
					     names_len };
		memcpy(names + names_len, name, keep);
		names_len += keep;
		names[names_len++] = '\0';
		n++;
	}
	if (n)
		qsort(ents, n, sizeof(*ents), entry_cmp);
	n = merge_entries(ents, n, &st.overlaps);
	if (n) {
		pm->v = malloc(n * sizeof(*pm->v));
		if (!pm->v)
			goto err_free;
	}
	if (!names_len) {
		free(names);
		names = NULL;
	} else {
		/* Shrinking cannot fail in a way that loses the names. */
		char *shrunk = realloc(names, names_len);

		if (shrunk)
			names = shrunk;
	}
	for (i = 0; i < n; i++)
		pm->v[i] = (struct perfmap_sym){ ents[i].start, ents[i].end,
						 names + ents[i].name_off };
	pm->n = n;
	pm->names = names;
	pm->bytes = sizeof(*pm) + n * sizeof(*pm->v) + names_len;
	st.lines = n;
	free(ents);
	*ret_map = pm;
	if (ret_stats)
		*ret_stats = st;
	return 0;

err_free:
	free(ents);
	free(names);
	perfmap__free(pm);
err_out:
	return err;
}

void perfmap__free(struct perfmap *pm)
{
	if (!pm)
		return;
	free(pm->v);
	free(pm->names);
	free(pm);
}

const struct perfmap_sym *perfmap__find(const struct perfmap *pm, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!pm || !pm->n)
		return NULL;
	hi = pm->n;
	/* The last symbol starting at or below addr. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->v[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (addr < pm->v[lo].start || addr >= pm->v[lo].end)
		return NULL;
	return &pm->v[lo];
}

/* The fields of the status line that starts with @key ("NStgid:"), or
 * NULL. */
static const char *status_line(const char *text, size_t len, const char *key,
			       const char **ret_eol)
{
	size_t klen = strlen(key);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			return NULL; /* a cut line is no line */
		if ((size_t)(eol - p) > klen && !memcmp(p, key, klen)) {
			*ret_eol = eol;
			return p + klen;
		}
		p = eol + 1;
	}
	return NULL;
}

/* The @idx-th (0-based; SIZE_MAX: last) decimal field of [p, eol). */
static bool status_field(const char *p, const char *eol, size_t idx,
			 uint32_t *ret)
{
	bool found = false;
	size_t i = 0;

	while (p < eol) {
		uint64_t v = 0;
		int ndig = 0;

		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		while (p < eol && *p >= '0' && *p <= '9' && ndig < 11) {
			v = v * 10 + (uint64_t)(*p - '0');
			ndig++;
			p++;
		}
		if (!ndig || v > UINT32_MAX)
			return found && idx == SIZE_MAX;
		if (idx == SIZE_MAX || i == idx) {
			*ret = (uint32_t)v;
			found = true;
			if (i == idx)
				return true;
		}
		i++;
	}
	return found && idx == SIZE_MAX;
}

int perfmap__parse_status(const char *text, size_t len, uint32_t *ret_nspid,
			  uint32_t *ret_euid)
{
	const char *f, *eol;
	uint32_t pid, uid;

	/* NStgid, not NSpid: read through any thread, status gives that
	 * thread's own ids, and the map is named by the process's. */
	f = status_line(text, len, "NStgid:", &eol);
	/* Only a kernel without NStgid falls back to Tgid, never a status
	 * cut in that line: Tgid is the PID on the host, not in the
	 * process's namespace. */
	if (!f && !memmem(text, len, "\nNStgid:", 8))
		f = status_line(text, len, "Tgid:", &eol);
	if (!f || !status_field(f, eol, SIZE_MAX, &pid))
		return -ENODATA;
	f = status_line(text, len, "Uid:", &eol);
	if (!f || !status_field(f, eol, 1, &uid))
		return -ENODATA;
	*ret_nspid = pid;
	*ret_euid = uid;
	return 0;
}

/* ---- cache ---- */

/* One process's map, in LRU order. */
struct pm_proc {
	struct htab_node node;
	struct pm_proc *prev;
	struct pm_proc *next;
	uint32_t tgid;
	struct perfmap *map; /* NULL: none read yet */
	/* The file map was read from: unchanged, it is not read again. */
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	uint64_t next_read_ns; /* CLOCK_MONOTONIC */
	uint32_t backoff; /* interval multiplier, 1..PERFMAP_MAX_BACKOFF */
	uint64_t epoch; /* last epoch a lookup used the entry */
	bool warned;
};

/* A map no longer in the cache whose names the sample at hand may hold. */
struct pm_retired {
	struct pm_retired *next;
	struct perfmap *map;
};

struct perfmap_cache {
	const struct tg_logger *log;
	char *proc_root;
	size_t max_bytes;
	size_t max_procs;
	uint64_t reread_ns;
	struct htab procs;
	struct pm_proc *head, *tail;
	struct pm_retired *retired;
	uint64_t epoch;
	struct ratelimit warn;
	struct perfmap_stats st;
};

struct perfmap_cache *perfmap_cache__new(const struct perfmap_cache_opts *opts,
					 const struct tg_logger *log)
{
	struct perfmap_cache_opts o;
	struct perfmap_cache *c;
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
	c->proc_root = strdup(o.proc_root ? o.proc_root : "/proc");
	if (!c->proc_root) {
		err = -ENOMEM;
		goto err_free;
	}
	c->max_bytes = o.max_bytes ? o.max_bytes : PERFMAP_DEFAULT_MAX_BYTES;
	c->max_procs = o.max_procs ? o.max_procs : PERFMAP_DEFAULT_MAX_PROCS;
	c->reread_ns = o.reread_ns ? o.reread_ns : PERFMAP_DEFAULT_REREAD_NS;
	c->epoch = 1;
	return c;

err_free:
	perfmap_cache__free(c);
err_out:
	errno = -err;
	return NULL;
}

static void cache__retire(struct perfmap_cache *c, struct perfmap *pm)
{
	struct pm_retired *r;

	if (!pm)
		return;
	c->st.cached_bytes -= pm->bytes;
	r = malloc(sizeof(*r));
	if (!r) {
		/* Without room to defer, only a map this sample did not
		 * use may go; keeping it is the safe side of a leak. */
		return;
	}
	r->map = pm;
	r->next = c->retired;
	c->retired = r;
}

static void cache__free_retired(struct perfmap_cache *c)
{
	struct pm_retired *r, *next;

	for (r = c->retired; r; r = next) {
		next = r->next;
		perfmap__free(r->map);
		free(r);
	}
	c->retired = NULL;
}

static void lru__unlink(struct perfmap_cache *c, struct pm_proc *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		c->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		c->tail = p->prev;
	p->prev = p->next = NULL;
}

static void lru__push_head(struct perfmap_cache *c, struct pm_proc *p)
{
	p->prev = NULL;
	p->next = c->head;
	if (c->head)
		c->head->prev = p;
	c->head = p;
	if (!c->tail)
		c->tail = p;
}

static void cache__drop(struct perfmap_cache *c, struct pm_proc *p)
{
	htab__remove(&c->procs, &p->node);
	lru__unlink(c, p);
	cache__retire(c, p->map);
	free(p);
}

void perfmap_cache__free(struct perfmap_cache *c)
{
	struct pm_proc *p, *next;

	if (!c)
		return;
	for (p = c->head; p; p = next) {
		next = p->next;
		perfmap__free(p->map);
		free(p);
	}
	htab__free(&c->procs);
	cache__free_retired(c);
	free(c->proc_root);
	free(c);
}

/* Least recently used first, never one this sample used (its names may
 * be in the frames at hand): back under the process and byte bounds. */
static void cache__trim(struct perfmap_cache *c)
{
	while (c->tail && c->tail->epoch != c->epoch &&
	       (c->procs.count > c->max_procs ||
		c->st.cached_bytes > PERFMAP_BUDGET_MAPS * c->max_bytes)) {
		c->st.evictions++;
		cache__drop(c, c->tail);
	}
}

static void cache__warn(struct perfmap_cache *c, struct pm_proc *p,
			uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void cache__warn(struct perfmap_cache *c, struct pm_proc *p,
			uint64_t now, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->warned || !c->log)
		return;
	p->warned = true;
	if (!ratelimit__allow(&c->warn, now))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tg_warn(c->log, "perf map of process %" PRIu32 ": %s", p->tgid, msg);
}

/* Reads at most PERFMAP_STATUS_MAX bytes of ROOT/TGID/task/TID/status. */
static int read_status(const struct perfmap_cache *c, uint32_t tgid,
		       uint32_t tid, uint32_t *ret_nspid, uint32_t *ret_euid)
{
	char path[PATH_MAX];
	size_t len = 0;
	ssize_t n;
	char *buf;
	int fd, err;

	if (snprintf(path, sizeof(path),
		     "%s/%" PRIu32 "/task/%" PRIu32 "/status", c->proc_root,
		     tgid, tid) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	buf = malloc(PERFMAP_STATUS_MAX);
	if (!buf) {
		err = -ENOMEM;
		goto err_close;
	}
	while (len < PERFMAP_STATUS_MAX) {
		n = read(fd, buf + len, PERFMAP_STATUS_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno == ESRCH ? -ENOENT : -errno;
			goto err_free;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	err = perfmap__parse_status(buf, len, ret_nspid, ret_euid);
err_free:
	free(buf);
err_close:
	close(fd);
	return err;
}

/* Whether the file @st was last written before process @tgid started. */
static bool map_predates_process(const struct perfmap_cache *c, uint32_t tgid,
				 const struct stat *st)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t boot_real_ns, start_ns, mtime_ns;
	struct proc_stat ps;

	if (hz <= 0 || procfs__read_stat(c->proc_root, tgid, 0, &ps))
		return false;
	/* starttime counts from boot (CLOCK_BOOTTIME); mtime is
	 * CLOCK_REALTIME. */
	boot_real_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
	start_ns =
		boot_real_ns + ps.start_ticks * (NSEC_PER_SEC / (uint64_t)hz);
	mtime_ns = (uint64_t)st->st_mtim.tv_sec * NSEC_PER_SEC +
		   (uint64_t)st->st_mtim.tv_nsec;
	return mtime_ns + PERFMAP_STALE_SLACK_NS < start_ns;
}

/*
 * Opens /tmp/perf-NSPID.map as thread @tid of @tgid sees it: resolved
 * inside its root, never through a symlink at the end (a /tmp name any
 * user can plant), a regular file owned by the process's user or root.
 * Returns the fd (stat in @st), -ENOENT, -EPERM (refused), -ESTALE
 * (written before the process started) or -errno.
 */
static int open_map(const struct perfmap_cache *c, uint32_t tgid, uint32_t tid,
		    struct stat *st)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char path[PATH_MAX], name[64];
	uint32_t nspid, euid;
	int dfd, fd, err;

	err = read_status(c, tgid, tid, &nspid, &euid);
	if (err)
		return err == -ENODATA ? -ENOENT : err;
	if (snprintf(path, sizeof(path), "%s/%" PRIu32 "/task/%" PRIu32 "/root",
		     c->proc_root, tgid, tid) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	snprintf(name, sizeof(name), "/tmp/perf-%" PRIu32 ".map", nspid);
	dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	fd = (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));
	err = fd < 0 ? -errno : 0;
	close(dfd);
	if (err)
		return err == -ELOOP || err == -EXDEV ? -EPERM : err;
	if (fstat(fd, st)) {
		err = -errno;
		goto err_close;
	}
	if (!S_ISREG(st->st_mode) || (st->st_uid != euid && st->st_uid != 0)) {
		err = -EPERM;
		goto err_close;
	}
	if (map_predates_process(c, tgid, st)) {
		err = -ESTALE;
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return err;
}

/* At most @max bytes of @fd; *@ret_cut: there was more. */
static int read_bounded(int fd, size_t size_hint, size_t max, char **ret_buf,
			size_t *ret_len, bool *ret_cut)
{
	size_t cap = size_hint < max ? size_hint + 4096 : max;
	size_t len = 0;
	char *buf, *tmp;
	ssize_t n;
	char probe;

	if (cap > max)
		cap = max;
	if (!cap)
		cap = 1;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap == max)
				break;
			cap = cap > max / 2 ? max : cap * 2;
			tmp = realloc(buf, cap);
			if (!tmp) {
				free(buf);
				return -ENOMEM;
			}
			buf = tmp;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			free(buf);
			return (int)n;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	*ret_cut = len == max && read(fd, &probe, 1) == 1;
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* (Re)reads @p's map unless the file is the one already read. */
static void cache__load(struct perfmap_cache *c, struct pm_proc *p,
			uint32_t tid, uint64_t now)
{
	struct perfmap_parse_stats ps;
	struct perfmap *pm;
	struct stat st;
	bool cut = false;
	char *buf = NULL;
	size_t len = 0;
	int fd, err;

	if (p->backoff < PERFMAP_MAX_BACKOFF)
		p->backoff = p->backoff ? p->backoff * 2 : 1;
	p->next_read_ns = now + c->reread_ns * p->backoff;
	fd = open_map(c, p->tgid, tid, &st);
	if (fd == -EPERM) {
		c->st.refused++;
		cache__warn(c, p, now,
			    "refused: a symlink, not a regular file, or "
			    "not owned by the process's user or root");
		return;
	}
	if (fd == -ESTALE)
		c->st.stale++;
	if (fd < 0) {
		if (!p->map && fd != -ESTALE)
			c->st.absent++;
		if (c->log)
			tg_debug(c->log, "perf map of process %" PRIu32 ": %s",
				 p->tgid, strerror(-fd));
		return;
	}
	if (p->map && (uint64_t)st.st_dev == p->dev &&
	    (uint64_t)st.st_ino == p->ino && (uint64_t)st.st_size == p->size &&
	    (int64_t)st.st_mtim.tv_sec * (int64_t)NSEC_PER_SEC +
			    st.st_mtim.tv_nsec ==
		    p->mtime_ns)
		goto out_close;
	err = read_bounded(fd, (size_t)st.st_size, c->max_bytes, &buf, &len,
			   &cut);
	if (err)
		goto out_close;
	err = perfmap__parse(buf, len, NULL, &pm, &ps);
	free(buf);
	if (err)
		goto out_close;
	c->st.maps_read++;
	c->st.bytes_read += len;
	c->st.lines += ps.lines;
	c->st.lines_skipped += ps.skipped;
	c->st.overlaps += ps.overlaps;
	if (cut) {
		c->st.truncated++;
		cache__warn(c, p, now,
			    "larger than perf_map_max_bytes (%zu): "
			    "read in part",
			    c->max_bytes);
	}
	cache__retire(c, p->map);
	p->map = pm;
	c->st.cached_bytes += pm->bytes;
	p->dev = (uint64_t)st.st_dev;
	p->ino = (uint64_t)st.st_ino;
	p->size = (uint64_t)st.st_size;
	p->mtime_ns = (int64_t)st.st_mtim.tv_sec * (int64_t)NSEC_PER_SEC +
		      st.st_mtim.tv_nsec;
	/* The runtime is writing it: look again soon on the next miss. */
	p->backoff = 1;
	p->next_read_ns = now + c->reread_ns;
out_close:
	close(fd);
}

static struct pm_proc *cache__find(struct perfmap_cache *c, uint32_t tgid,
				   uint64_t hash)
{
	struct htab_node *n;

	for (n = htab__first(&c->procs, hash); n; n = htab__next(n, hash)) {
		struct pm_proc *p = container_of(n, struct pm_proc, node);

		if (p->tgid == tgid)
			return p;
	}
	return NULL;
}

const char *perfmap_cache__lookup(struct perfmap_cache *c, uint32_t tgid,
				  uint32_t tid, uint64_t addr,
				  uint64_t *ret_offset)
{
	uint64_t hash = hash_u64(tgid), now = clock_ns(CLOCK_MONOTONIC);
	const struct perfmap_sym *s;
	struct pm_proc *p;

	p = cache__find(c, tgid, hash);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->tgid = tgid;
		if (htab__insert(&c->procs, &p->node, hash)) {
			free(p);
			return NULL;
		}
		lru__push_head(c, p);
		cache__load(c, p, tid ? tid : tgid, now);
	} else {
		lru__unlink(c, p);
		lru__push_head(c, p);
		s = perfmap__find(p->map, addr);
		if (!s && now >= p->next_read_ns) {
			c->st.rereads++;
			cache__load(c, p, tid ? tid : tgid, now);
		}
	}
	p->epoch = c->epoch;
	s = perfmap__find(p->map, addr);
	if (!s) {
		c->st.misses++;
		return NULL;
	}
	c->st.hits++;
	*ret_offset = addr - s->start;
	return s->name;
}

void perfmap_cache__next_epoch(struct perfmap_cache *c)
{
	c->epoch++;
	cache__trim(c);
	cache__free_retired(c);
}

void perfmap_cache__forget(struct perfmap_cache *c, uint32_t tgid)
{
	struct pm_proc *p = c ? cache__find(c, tgid, hash_u64(tgid)) : NULL;

	if (p)
		cache__drop(c, p);
}

void perfmap_cache__stats(const struct perfmap_cache *c,
			  struct perfmap_stats *ret)
{
	*ret = c->st;
	ret->cached = c->procs.count;
}

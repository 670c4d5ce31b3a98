// SPDX-License-Identifier: Apache-2.0
/* The /proc readers behind the process table (liveness, stat, maps) and the
 * symbolizer (files opened inside a task's root). Everything is read under
 * a configurable root so tests can build a fake /proc tree. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "receiver/processes/procfs.h"

#define PROCFS_STAT_MAX 4096 /* a stat line is ~300 bytes plus comm */
#define PROCFS_MAPS_CHUNK (64u << 10)

/* A task that exits while we read answers ESRCH; callers only care that it
 * is gone. */
static int gone_errno(int err)
{
	return err == ESRCH ? -ENOENT : -err;
}

static int task_path(char *buf, size_t size, const char *root, uint32_t tgid,
		     uint32_t tid, const char *file)
{
	int n;

	if (tid)
		n = snprintf(buf, size, "%s/%u/task/%u/%s", root, tgid, tid,
			     file);
	else
		n = snprintf(buf, size, "%s/%u/%s", root, tgid, file);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Reads up to @size - 1 bytes and NUL-terminates. Returns the length or
 * -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gone_errno(errno);
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = gone_errno(errno);
			close(fd);
			return err;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* Field @want (1-based, as in proc(5)) among the space-separated fields
 * after the comm; @p points at field 3. */
static int stat_field(const char *p, int want, uint64_t *ret)
{
	unsigned long long v;
	char *end;
	int field = 3;

	while (field < want) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
		field++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	*ret = v;
	return 0;
}

int procfs__read_stat(const char *root, uint32_t tgid, uint32_t tid,
		      struct proc_stat *ret)
{
	char path[PATH_MAX], buf[PROCFS_STAT_MAX];
	struct proc_stat st = { 0 };
	const char *lp, *rp, *p;
	size_t comm_len;
	ssize_t len;
	int err;

	err = task_path(path, sizeof(path), root, tgid, tid, "stat");
	if (err)
		return err;
	len = read_small(path, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	/* A real stat is never empty: the task went away under us. */
	if (!len)
		return -ENOENT;

	/* comm is whatever the task named itself, ')' and spaces included:
	 * only the last ')' ends it. */
	lp = strchr(buf, '(');
	rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp)
		return -EINVAL;
	comm_len = (size_t)(rp - lp - 1);
	if (comm_len > sizeof(st.comm) - 1)
		comm_len = sizeof(st.comm) - 1;
	memcpy(st.comm, lp + 1, comm_len);

	p = rp + 1;
	if (p[0] != ' ' || !p[1] || p[1] == ' ' || p[1] == '\n')
		return -EINVAL;
	p++;
	st.state = p[0];
	if (stat_field(p, 22, &st.start_ticks) ||
	    stat_field(p, 26, &st.start_code) ||
	    stat_field(p, 27, &st.end_code) ||
	    stat_field(p, 28, &st.start_stack))
		return -EINVAL;
	*ret = st;
	return 0;
}

bool procfs__state_is_dead(char state)
{
	return state == 'Z' || state == 'X' || state == 'x';
}

uint64_t procfs__ns_to_ticks(uint64_t ns)
{
	long hz = sysconf(_SC_CLK_TCK);

	/* The kernel's nsec_to_clock_t() for a USER_HZ dividing 1e9. */
	if (hz <= 0 || hz > 1000000000L)
		hz = 100;
	return ns / (1000000000ULL / (uint64_t)hz);
}

static int parse_tid(const char *name, uint32_t *ret)
{
	unsigned long v;
	char *end;

	if (name[0] < '1' || name[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

int procfs__for_each_task(const char *root, uint32_t tgid,
			  int (*fn)(void *ctx, uint32_t tid), void *ctx)
{
	char path[PATH_MAX];
	struct dirent *de;
	uint32_t tid;
	DIR *dir;
	int fd, n, ret = 0;

	n = snprintf(path, sizeof(path), "%s/%u/task", root, tgid);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return gone_errno(errno);
	dir = fdopendir(fd);
	if (!dir) {
		ret = -errno;
		close(fd);
		return ret;
	}
	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (!de) {
			/* The group died while we listed it. */
			if (errno)
				ret = gone_errno(errno);
			break;
		}
		if (parse_tid(de->d_name, &tid))
			continue;
		ret = fn(ctx, tid);
		if (ret)
			break;
	}
	closedir(dir);
	return ret;
}

struct live_task_ctx {
	const char *root;
	uint32_t tgid;
	uint32_t live_tid;
};

static int find_live_task(void *ctx, uint32_t tid)
{
	struct live_task_ctx *c = ctx;
	struct proc_stat st;

	if (tid == c->tgid)
		return 0; /* the leader was checked first */
	if (procfs__read_stat(c->root, c->tgid, tid, &st))
		return 0; /* exited since the listing */
	if (procfs__state_is_dead(st.state))
		return 0;
	c->live_tid = tid;
	return 1;
}

static enum group_liveness leader_liveness(const char *root, uint32_t tgid,
					   uint64_t start_ticks,
					   struct proc_stat *st)
{
	if (procfs__read_stat(root, tgid, 0, st))
		return GROUP_DEAD;
	if (st->start_ticks != start_ticks)
		return GROUP_REUSED;
	return GROUP_ALIVE;
}

enum group_liveness procfs__group_liveness(const char *root, uint32_t tgid,
					   uint64_t start_ticks,
					   uint32_t *ret_live_tid)
{
	struct live_task_ctx c = { .root = root, .tgid = tgid };
	enum group_liveness l;
	struct proc_stat st;

	l = leader_liveness(root, tgid, start_ticks, &st);
	if (l != GROUP_ALIVE)
		return l;
	if (!procfs__state_is_dead(st.state)) {
		c.live_tid = tgid;
		goto alive;
	}
	/* A zombie leader: the group lives on in any other task. */
	if (procfs__for_each_task(root, tgid, find_live_task, &c) != 1)
		return GROUP_DEAD;
	/* The leader is reaped only after its last thread: if it is still
	 * ours, the task we found belongs to the same group. */
	l = leader_liveness(root, tgid, start_ticks, &st);
	if (l != GROUP_ALIVE)
		return l;
alive:
	if (ret_live_tid)
		*ret_live_tid = c.live_tid;
	return GROUP_ALIVE;
}

int procfs__read_maps(const char *root, uint32_t tgid, uint32_t tid,
		      char **ret_buf, size_t *ret_len)
{
	size_t len = 0, cap = PROCFS_MAPS_CHUNK;
	char path[PATH_MAX], probe, *buf, *nbuf;
	ssize_t n;
	int fd, err;

	err = task_path(path, sizeof(path), root, tgid, tid, "maps");
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gone_errno(errno);
	buf = malloc(cap + 1);
	if (!buf) {
		err = -ENOMEM;
		goto err_close;
	}
	/* /proc files report size 0: read until EOF. */
	for (;;) {
		if (len == cap) {
			if (cap >= PROCFS_MAX_MAPS_BYTES) {
				n = read(fd, &probe, 1);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					err = gone_errno(errno);
					goto err_free;
				}
				if (n) {
					err = -EFBIG;
					goto err_free;
				}
				break;
			}
			cap *= 2;
			if (cap > PROCFS_MAX_MAPS_BYTES)
				cap = PROCFS_MAX_MAPS_BYTES;
			nbuf = realloc(buf, cap + 1);
			if (!nbuf) {
				err = -ENOMEM;
				goto err_free;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = gone_errno(errno);
			goto err_free;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;

err_free:
	free(buf);
err_close:
	close(fd);
	return err;
}

int procfs__open_in_root(const char *root, uint32_t tgid, uint32_t tid,
			 const char *path)
{
	/* O_NONBLOCK: a container can put a FIFO where a mapped file was;
	 * a blocking open would hang the receiver. */
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char rpath[PATH_MAX];
	int dfd, fd, err;

	err = task_path(rpath, sizeof(rpath), root, tgid, tid, "root");
	if (err)
		return err;
	/* Following the root magic link here is what puts us in the task's
	 * mount namespace; inside it, magic links are refused. */
	dfd = open(rpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return gone_errno(errno);
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	err = fd < 0 ? -errno : fd;
	close(dfd);
	return err;
}

bool procfs__exe_is_anonymous(const char *path)
{
	const char *slash = strrchr(path, '/');

	return path[0] != '/' || !strncmp(path, "/memfd:", 7) ||
	       (slash && slash[1] == '#');
}

int procfs__read_argv0(const char *root, uint32_t tgid, uint32_t tid, char *buf,
		       size_t size)
{
	char path[PATH_MAX], line[PATH_MAX];
	const char *base;
	ssize_t n;
	size_t len;
	int err;

	if (size < 2)
		return -ENAMETOOLONG;
	err = task_path(path, sizeof(path), root, tgid, tid, "cmdline");
	if (err)
		return err;
	/* argv[0] is the first NUL-terminated string; a longer one is cut. */
	n = read_small(path, line, sizeof(line));
	if (n < 0)
		return (int)n;
	len = strnlen(line, (size_t)n);
	while (len && line[len - 1] == '/')
		len--;
	line[len] = '\0';
	base = strrchr(line, '/');
	base = base ? base + 1 : line;
	if (!*base)
		return -ENOENT;
	snprintf(buf, size, "%s", base);
	return 0;
}

int procfs__read_exe(const char *root, uint32_t tgid, uint32_t tid, char *buf,
		     size_t size)
{
	static const char deleted[] = " (deleted)";
	const size_t dlen = sizeof(deleted) - 1;
	char path[PATH_MAX];
	ssize_t n;
	int err;

	if (size < 2)
		return -ENAMETOOLONG;
	err = task_path(path, sizeof(path), root, tgid, tid, "exe");
	if (err)
		return err;
	n = readlink(path, buf, size);
	if (n < 0)
		return gone_errno(errno);
	/* readlink() truncates silently: a full buffer may be cut off. */
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	if ((size_t)n > dlen && !strcmp(buf + n - dlen, deleted))
		buf[n - dlen] = '\0';
	return 0;
}

static bool is_container_id(const char *s, size_t len)
{
	size_t i;

	if (len != PROCFS_CONTAINER_ID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* One cgroup path component: "<id>" or "<runtime>-<id>[.scope]". */
static bool component_container_id(const char *s, size_t len,
				   const char **ret_id)
{
	static const char *const prefixes[] = {
		"docker-", "cri-containerd-", "crio-", "libpod-", "nerdctl-",
	};
	static const char scope[] = ".scope";
	const size_t slen = sizeof(scope) - 1;
	size_t i, plen;

	if (is_container_id(s, len)) {
		*ret_id = s;
		return true;
	}
	if (len > slen && !memcmp(s + len - slen, scope, slen))
		len -= slen;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		plen = strlen(prefixes[i]);
		if (len > plen && !memcmp(s, prefixes[i], plen) &&
		    is_container_id(s + plen, len - plen)) {
			*ret_id = s + plen;
			return true;
		}
	}
	return false;
}

/* The innermost id in the path of one "hierarchy:controllers:path" line. */
static bool line_container_id(const char *line, const char *end,
			      const char **ret_id)
{
	const char *p = memchr(line, ':', end - line), *comp, *slash;
	bool found = false;

	if (p)
		p = memchr(p + 1, ':', end - p - 1);
	if (!p)
		return false;
	for (comp = p + 1; comp < end; comp = slash + 1) {
		slash = memchr(comp, '/', end - comp);
		if (!slash)
			slash = end;
		if (component_container_id(comp, slash - comp, ret_id))
			found = true;
	}
	return found;
}

int procfs__parse_container_id(const char *text, size_t len,
			       char ret_id[PROCFS_CONTAINER_ID_LEN + 1])
{
	const char *line = text, *end = text + len, *nl, *id;

	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', end - line);
		if (!nl)
			nl = end;
		if (line_container_id(line, nl, &id)) {
			memcpy(ret_id, id, PROCFS_CONTAINER_ID_LEN);
			ret_id[PROCFS_CONTAINER_ID_LEN] = '\0';
			return 0;
		}
	}
	return -ENODATA;
}

int procfs__read_container_id(const char *root, uint32_t tgid, uint32_t tid,
			      char ret_id[PROCFS_CONTAINER_ID_LEN + 1])
{
	/* One line per v1 hierarchy (about a dozen) or a single v2 line:
	 * 8 KiB hold them; what a longer file has past that is not read. */
	char path[PATH_MAX], buf[8192];
	ssize_t len;
	int err;

	err = task_path(path, sizeof(path), root, tgid, tid, "cgroup");
	if (err)
		return err;
	len = read_small(path, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	return procfs__parse_container_id(buf, (size_t)len, ret_id);
}

int procfs__parse_cgroup_path(const char *text, size_t len, char *buf,
			      size_t size)
{
	const char *line = text, *end = text + len, *nl;
	size_t n;

	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', end - line);
		/* A line without its newline was cut: not a path. */
		if (!nl)
			break;
		if (nl - line < 3 || memcmp(line, "0::", 3))
			continue;
		n = nl - line - 3;
		if (n >= size)
			return -ENAMETOOLONG;
		memcpy(buf, line + 3, n);
		buf[n] = '\0';
		return 0;
	}
	return -ENODATA;
}

int procfs__read_cgroup_facts(const char *root, uint32_t tgid, uint32_t tid,
			      struct procfs_cgroup_facts *ret)
{
	char path[PATH_MAX], *buf;
	ssize_t len;
	int err;

	err = task_path(path, sizeof(path), root, tgid, tid, "cgroup");
	if (err)
		return err;
	buf = malloc(PROCFS_CGROUP_FILE_MAX);
	if (!buf)
		return -ENOMEM;
	len = read_small(path, buf, PROCFS_CGROUP_FILE_MAX);
	if (len < 0) {
		free(buf);
		return (int)len;
	}
	if (procfs__parse_container_id(buf, (size_t)len, ret->container_id))
		ret->container_id[0] = '\0';
	if (procfs__parse_cgroup_path(buf, (size_t)len, ret->path,
				      sizeof(ret->path)))
		ret->path[0] = '\0';
	free(buf);
	return 0;
}

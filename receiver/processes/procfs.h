/* SPDX-License-Identifier: Apache-2.0 */
/* The /proc facts tgprof relies on, read under a configurable root so tests
 * can run the process table against a fake tree. Every reader tolerates a
 * process that vanishes mid-read: it returns -ENOENT/-ESRCH, never crashes.
 *
 * DESIGN.md section 3: a thread group is alive while any task in
 * ROOT/TGID/task is neither zombie nor dead; mappings are read through a
 * live thread (ROOT/TGID/task/TID/maps) because ROOT/TGID/maps is empty once
 * the leader has called pthread_exit(). */
#ifndef TGPROF_RECEIVER_PROCFS_H
#define TGPROF_RECEIVER_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROCFS_MAX_MAPS_BYTES (64u << 20) /* larger maps files are refused */
/* A container id as docker, containerd, CRI-O and podman name cgroups:
 * 64 lowercase hex digits. */
#define PROCFS_CONTAINER_ID_LEN 64
/* A cgroup path, NUL included (PATH_MAX); longer ones are not kept. */
#define PROCFS_CGROUP_PATH_MAX 4096
/* A /proc/PID/cgroup file: a line per v1 hierarchy and the v2 line. */
#define PROCFS_CGROUP_FILE_MAX (64u << 10)

struct proc_stat {
	char state; /* R, S, D, Z, X, T, t, I, ... */
	char comm[16];
	uint64_t start_ticks; /* field 22: starttime, clock ticks since boot */
	uint64_t start_code; /* field 26 */
	uint64_t end_code; /* field 27 */
	uint64_t start_stack; /* field 28 */
};

/*
 * Reads ROOT/TGID/stat when @tid is 0, else ROOT/TGID/task/TID/stat.
 * comm may contain spaces and parentheses: parsing starts after the last ')'.
 * Returns 0 and fills *ret, -ENOENT when gone, -EINVAL when malformed.
 */
int procfs__read_stat(const char *root, uint32_t tgid, uint32_t tid,
		      struct proc_stat *ret);

/* True for the states of a task that will never run again (Z, X, x). */
bool procfs__state_is_dead(char state);

/* Clock ticks (field 22) <-> the nanoseconds the sampler stamps. */
uint64_t procfs__ns_to_ticks(uint64_t ns);

enum group_liveness {
	GROUP_ALIVE = 0, /* some task is neither zombie nor dead */
	GROUP_DEAD, /* gone, or every task is a zombie or dead */
	GROUP_REUSED, /* the TGID now belongs to a process with another start */
};

/*
 * Liveness of the thread group @tgid whose leader started at @start_ticks.
 * *ret_live_tid (optional) gets a TID that is alive, preferring the leader.
 * Returns the enum group_liveness value (never negative: unreadable = dead).
 */
enum group_liveness procfs__group_liveness(const char *root, uint32_t tgid,
					   uint64_t start_ticks,
					   uint32_t *ret_live_tid);

/*
 * Calls @fn with the TID of every task listed in ROOT/TGID/task, in
 * directory order, until @fn returns non-zero. Added for the process table,
 * which tries more than one live thread when a thread's maps are empty.
 * Returns 0 when every task was visited, @fn's non-zero value, or -errno
 * (-ENOENT when the group is gone).
 */
int procfs__for_each_task(const char *root, uint32_t tgid,
			  int (*fn)(void *ctx, uint32_t tid), void *ctx);

/*
 * Reads the maps of @tgid through thread @tid (ROOT/TGID/task/TID/maps), or
 * ROOT/TGID/maps when @tid is 0. At most PROCFS_MAX_MAPS_BYTES.
 * Returns 0 with *ret_buf (caller frees with free()) and *ret_len, -ENOENT
 * when the task is gone, -EFBIG when too large, or another -errno.
 */
int procfs__read_maps(const char *root, uint32_t tgid, uint32_t tid,
		      char **ret_buf, size_t *ret_len);

/*
 * Opens @path as seen by thread @tid of @tgid: resolved inside that task's
 * root directory (ROOT/TGID/task/TID/root), never escaping it (openat2
 * RESOLVE_IN_ROOT). Returns an O_RDONLY|O_CLOEXEC|O_NONBLOCK fd (never blocks
 * on a FIFO) or -errno.
 */
int procfs__open_in_root(const char *root, uint32_t tgid, uint32_t tid,
			 const char *path);

/*
 * The executable of @tgid as seen through thread @tid: the target of
 * ROOT/TGID/task/TID/exe (@tid 0: ROOT/TGID/exe, which a zombie leader no
 * longer shows). The path is the one inside the process's own mount
 * namespace; the kernel's " (deleted)" suffix is removed. Writes a
 * NUL-terminated path of at most @size - 1 bytes to @buf.
 * Returns 0, -ENOENT when the task is gone or has no executable (kernel
 * threads), -ENAMETOOLONG when @buf is too small, or another -errno.
 */
/* Whether executable path @path (as procfs__read_exe() gives it) has no
 * file name of its own: a memfd ("/memfd:NAME", what sandboxes and runc
 * execute), an O_TMPFILE ("/dir/#INODE") or no path at all (an anonymous
 * inode). A deleted file keeps its path: it still names the program. */
bool procfs__exe_is_anonymous(const char *path);

/* The base name of argv[0] of @tgid through thread @tid (ROOT/TGID/task/
 * TID/cmdline; @tid 0: ROOT/TGID/cmdline), at most @size - 1 bytes.
 * Returns 0, -ENOENT when the task is gone or has no command line (kernel
 * threads, zombies, an empty argv[0]), or another -errno. */
int procfs__read_argv0(const char *root, uint32_t tgid, uint32_t tid, char *buf,
		       size_t size);

int procfs__read_exe(const char *root, uint32_t tgid, uint32_t tid, char *buf,
		     size_t size);

/*
 * Finds the container id in the text of a /proc/PID/cgroup file (@len
 * bytes, need not be NUL-terminated): the innermost path component that is
 * 64 lowercase hex digits, bare (cgroupfs drivers: .../pod<uid>/<id>,
 * /docker/<id>) or as the systemd scope of a runtime (docker-<id>.scope,
 * cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope,
 * nerdctl-<id>.scope). Monitors (crio-conmon-, libpod-conmon-) are not
 * containers. The first line with an id wins.
 * Returns 0 and the id in @ret_id, or -ENODATA when there is none.
 */
int procfs__parse_container_id(const char *text, size_t len,
			       char ret_id[PROCFS_CONTAINER_ID_LEN + 1]);

/*
 * The container id of @tgid from ROOT/TGID/task/TID/cgroup (@tid 0:
 * ROOT/TGID/cgroup). Returns 0 with @ret_id, -ENODATA when the process is
 * in no container, -ENOENT when it is gone, or another -errno.
 */
int procfs__read_container_id(const char *root, uint32_t tgid, uint32_t tid,
			      char ret_id[PROCFS_CONTAINER_ID_LEN + 1]);

/*
 * Finds the cgroup v2 path in the text of a /proc/PID/cgroup file (@len
 * bytes): the path of the "0::" line (the unified hierarchy), relative to
 * the reader's cgroup namespace. Only a whole line counts: text cut in the
 * middle of that line has no path. Writes it NUL-terminated to @buf.
 * Returns 0, -ENODATA when there is no such line (a cgroup v1-only host),
 * or -ENAMETOOLONG when @buf is too small.
 */
int procfs__parse_cgroup_path(const char *text, size_t len, char *buf,
			      size_t size);

/* What ROOT/TGID/task/TID/cgroup says about a process. */
struct procfs_cgroup_facts {
	char container_id[PROCFS_CONTAINER_ID_LEN + 1]; /* "": none */
	char path[PROCFS_CGROUP_PATH_MAX]; /* cgroup v2 path; "": none */
};

/*
 * Reads ROOT/TGID/task/TID/cgroup (@tid 0: ROOT/TGID/cgroup) once, at most
 * PROCFS_CGROUP_FILE_MAX bytes, and takes both the container id and the
 * cgroup v2 path from it. Returns 0 when the file was read (facts that are
 * not there are ""), -ENOENT when the task is gone, or another -errno.
 */
int procfs__read_cgroup_facts(const char *root, uint32_t tgid, uint32_t tid,
			      struct procfs_cgroup_facts *ret);

#endif

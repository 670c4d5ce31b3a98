// SPDX-License-Identifier: Apache-2.0
/* Effective capabilities through capget(2): see caps.h. */
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/caps.h"

/* Older UAPI headers stop at CAP_CHECKPOINT_RESTORE or before. */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/* Bit N is capability N. 0 or -errno. */
static int caps__effective(uint64_t *ret)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	*ret = (uint64_t)data[1].effective << 32 | data[0].effective;
	return 0;
}

static bool caps__has(uint64_t caps, int cap)
{
	return caps & (1ULL << cap);
}

const char *caps__sampling_missing(const struct tg_logger *log)
{
	uint64_t caps = 0;
	bool bpf, perfmon;
	int err;

	err = caps__effective(&caps);
	if (err) {
		tg_warn(log, "cannot read the process capabilities: %s",
			strerror(-err));
		return NULL;
	}
	/* Before Linux 5.8, CAP_SYS_ADMIN held what BPF and PERFMON hold. */
	bpf = caps__has(caps, CAP_SYS_ADMIN) || caps__has(caps, CAP_BPF);
	perfmon = caps__has(caps, CAP_SYS_ADMIN) ||
		  caps__has(caps, CAP_PERFMON);
	if (!bpf && !perfmon)
		return "CAP_BPF and CAP_PERFMON";
	if (!bpf)
		return "CAP_BPF";
	if (!perfmon)
		return "CAP_PERFMON";
	if (!caps__has(caps, CAP_SYSLOG))
		tg_warn(log,
			"CAP_SYSLOG missing: kernel frames will not be named");
	if (!caps__has(caps, CAP_SYS_PTRACE))
		tg_warn(log,
			"CAP_SYS_PTRACE missing: processes of other users cannot be symbolized");
	/* CAP_DAC_OVERRIDE reads whatever the mode, CAP_SYS_ADMIN opens
	 * /proc/PID/map_files too. */
	if (!caps__has(caps, CAP_DAC_READ_SEARCH) &&
	    !caps__has(caps, CAP_DAC_OVERRIDE))
		tg_warn(log,
			"CAP_DAC_READ_SEARCH missing: binaries and debug files whose mode denies reading cannot be symbolized");
	if (!caps__has(caps, CAP_CHECKPOINT_RESTORE) &&
	    !caps__has(caps, CAP_SYS_ADMIN))
		tg_warn(log,
			"CAP_CHECKPOINT_RESTORE missing: mappings of deleted or replaced binaries cannot be symbolized");
	return NULL;
}

/* What tgprof needs from the kernel, checked before anything is loaded so
 * a user hears which capability is missing rather than a bare EPERM. */
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd/tgprof/tgprof.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int effective_caps(uint64_t *ret)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return -1;
	*ret = (uint64_t)data[1].effective << 32 | data[0].effective;
	return 0;
}

static bool has(uint64_t caps, int cap)
{
	return caps & (1ULL << cap);
}

bool privileges_check(const struct tg_logger *log)
{
	char missing[128] = "";
	uint64_t caps;

	if (effective_caps(&caps)) {
		tg_warn(log, "cannot read the process capabilities: %m");
		return true;
	}
	/* Before Linux 5.8, CAP_SYS_ADMIN held what BPF and PERFMON hold. */
	if (!has(caps, CAP_SYS_ADMIN)) {
		if (!has(caps, CAP_BPF))
			strcat(missing, "CAP_BPF");
		if (!has(caps, CAP_PERFMON))
			strcat(missing,
			       *missing ? " and CAP_PERFMON" : "CAP_PERFMON");
	}
	if (*missing) {
		tg_err(log,
		       "missing privilege: %s (loading BPF programs and CPU-clock perf events needs CAP_BPF and CAP_PERFMON); run as root or grant them, e.g. setcap cap_bpf,cap_perfmon,cap_sys_ptrace,cap_syslog+ep tgprof",
		       missing);
		return false;
	}
	if (!has(caps, CAP_SYSLOG))
		tg_warn(log,
			"CAP_SYSLOG missing: kernel frames will not be named");
	if (!has(caps, CAP_SYS_PTRACE))
		tg_warn(log,
			"CAP_SYS_PTRACE missing: processes of other users cannot be symbolized");
	return true;
}

// SPDX-License-Identifier: Apache-2.0
/* What tgprof needs from the kernel, checked before the receiver plugin is
 * created so a user hears which capability is missing, and how to grant
 * it, rather than a bare EPERM. */
#include "cmd/tgprof/tgprof.h"
#include "lib/caps.h"

bool privileges_check(const struct tg_logger *log)
{
	/* Silent about what only degrades the output: the plugin's start()
	 * warns about that, once. */
	const char *missing = caps__sampling_missing(NULL);

	if (missing) {
		tg_err(log,
		       "missing privilege: %s (loading BPF programs and CPU-clock perf events needs CAP_BPF and CAP_PERFMON); run as root or grant them, e.g. setcap cap_bpf,cap_perfmon,cap_sys_ptrace,cap_syslog+ep tgprof",
		       missing);
		return false;
	}
	return true;
}

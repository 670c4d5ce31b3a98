/* SPDX-License-Identifier: Apache-2.0 */
/* The capabilities sampling needs, read from the calling thread's effective
 * set before anything is loaded: `tgprof record` (cmd/tgprof/privileges.c)
 * and the receiver plugin's start() both ask here, then each tells its own
 * user what to do about a missing one. */
#ifndef TGPROF_LIB_CAPS_H
#define TGPROF_LIB_CAPS_H

#include "lib/log.h"

/*
 * What sampling lacks: NULL when it can work, else "CAP_BPF", "CAP_PERFMON"
 * or "CAP_BPF and CAP_PERFMON" (a literal, for the caller's "missing
 * privilege" error). CAP_SYS_ADMIN stands for both (kernels before 5.8).
 * When nothing is missing, warns through @log about what only degrades the
 * output: no CAP_SYSLOG (kernel frames unnamed), no CAP_SYS_PTRACE (other
 * users' processes unsymbolized), no CAP_DAC_READ_SEARCH (nor
 * CAP_DAC_OVERRIDE: unreadable binaries unsymbolized), no
 * CAP_CHECKPOINT_RESTORE (nor CAP_SYS_ADMIN: deleted binaries
 * unsymbolized). A set that cannot be read is warned about and gives NULL:
 * loading will tell.
 */
const char *caps__sampling_missing(const struct tg_logger *log);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The clocks samples are stamped with. The sampler stamps records with
 * CLOCK_BOOTTIME (bpf_ktime_get_boot_ns), the clock /proc start times use. */
#ifndef TGPROF_LIB_CLOCK_H
#define TGPROF_LIB_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The receiver plugin's configuration: the keys of `receivers: tgprof:`,
 * one config map table, and the four config callbacks of the plugin
 * descriptor (include/tgprof/receiver.h) that the host drives while it
 * reads its YAML. receiver/plugin/plugin.c points the descriptor at them; create()
 * takes a copy with plugin_config__dup(). */
#ifndef TGPROF_RECEIVER_PLUGIN_CONFIG_H
#define TGPROF_RECEIVER_PLUGIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "include/tgprof/receiver.h"
#include "lib/configmap.h"
#include "receiver/receiver.h"

#define PLUGIN_FILTER_PIDS_MAX 1024 /* elements of filter.*_pid */
#define PLUGIN_FILTER_PATTERNS_MAX 64 /* elements of filter.*_comm */
#define PLUGIN_FILTER_IDS_MAX 256 /* filter.*_container, filter.*_cgroup */
#define PLUGIN_PATTERN_MAX 255 /* bytes of one filter.*_comm pattern */
#define PLUGIN_PID_MAX 4194304 /* PID_MAX_LIMIT */

/* How the receiver offers a request again after the consumer answered
 * TGPROF_CONSUME_RETRY. */
struct plugin_retry {
	uint64_t initial_interval_ns;
	uint64_t max_interval_ns;
	uint64_t max_elapsed_ns; /* 0: no limit (the queue still bounds) */
};

/*
 * Which processes are profiled. Empty lists filter nothing. A process is
 * profiled when it matches every include list that is not empty (one
 * element of it) and no exclude list: excludes win.
 */
struct plugin_filter {
	struct configmap_int_list include_pid; /* TGIDs */
	struct configmap_int_list exclude_pid;
	/* POSIX extended regular expressions on the process name (comm),
	 * unanchored as regexec() matches them. */
	struct configmap_str_list include_comm;
	struct configmap_str_list exclude_comm;
	/* Container ids: 12..64 lowercase hex digits, a prefix of the full
	 * 64-digit id. */
	struct configmap_str_list include_container;
	struct configmap_str_list exclude_container;
	/* cgroup v2 paths from the root of the hierarchy; a process in the
	 * cgroup or below it matches. */
	struct configmap_str_list include_cgroup;
	struct configmap_str_list exclude_cgroup;
};

struct plugin_config {
	/* What the receiver core takes. rcv.proc_root is owned by this
	 * config (the receiver borrows it); the fields that are not keys
	 * keep receiver_config__defaults(). */
	struct receiver_config rcv;
	uint64_t report_interval_ns;
	char *service_name; /* "": the executable name of each process */
	char *host_name; /* "": gethostname() */
	/* The OTLP keys of the sample attributes attached (choices of
	 * PROFILE_ATTR_CHOICES); empty: none. */
	struct configmap_str_list sample_attributes;
	/* "eh_frame" or "frame_pointer": rcv.unwinder once created. */
	char *unwinder;
	uint32_t queue_size; /* requests built and waiting for the consumer */
	struct plugin_retry consumer_retry;
	struct plugin_filter filter;
	struct configmap_marks marks; /* which keys the host set */
};

/* Every key, once, in the order `tgprof config --defaults` prints them.
 * Static. PLUGIN_CONFIG_NKEYS is their number, for a static descriptor
 * (plugin_config.c asserts it). */
#define PLUGIN_CONFIG_NKEYS 39
extern const struct tgprof_config_key plugin_config_keys[PLUGIN_CONFIG_NKEYS];
extern const size_t plugin_config_nkeys;

/* The default configuration; caller frees with plugin_config__free().
 * NULL + errno (ENOMEM). No side effects. */
struct tgprof_config *plugin_config__new(void);

/*
 * Sets @key from its text (config_set of the ABI). A list key's first
 * call replaces the default, each later one appends; @value NULL makes
 * the list empty. 0, or -ENOENT (unknown key), -EINVAL, -ERANGE, -ENOMEM
 * with the message ("expected ..., got ...") in @err.
 */
int plugin_config__set(struct tgprof_config *cfg, const char *key,
		       const char *value, char *err, size_t errlen);

/*
 * Checks everything at once (config_validate of the ABI): bounds, the
 * ring buffer size, regular expressions, container ids, cgroup paths, and
 * what keys say about each other (a PID both included and excluded, retry
 * intervals out of order). Reports each problem with its key path (a list
 * element as "filter.include_comm[1]") and returns their number. Pure.
 */
size_t plugin_config__validate(const struct tgprof_config *cfg,
			       void (*report)(void *ctx, const char *key,
					      const char *problem),
			       void *ctx);

/* Accepts NULL. */
void plugin_config__free(struct tgprof_config *cfg);

/* A deep copy (for create()); caller frees with plugin_config__free().
 * NULL + errno. */
struct tgprof_config *plugin_config__dup(const struct tgprof_config *cfg);

/* The typed view of @cfg. Borrowed: valid while @cfg lives. */
const struct plugin_config *plugin_config__get(const struct tgprof_config *cfg);

/* The table, for configmap__check() in tests. */
const struct configmap *plugin_config__map(void);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* An interactive flame graph SVG (click to zoom, search with highlight)
 * drawn from folded stacks, self-contained: opens in any browser. */
#ifndef TGPROF_EXPORTER_FLAMEGRAPH_H
#define TGPROF_EXPORTER_FLAMEGRAPH_H

#include <stddef.h>
#include <stdio.h>

#include "exporter/folded.h"

struct flamegraph_opts {
	size_t sz; /* sizeof(struct flamegraph_opts) */
	const char *title; /* NULL: "tgprof CPU flame graph" */
	const char *subtitle; /* NULL: none */
	const char *count_name; /* NULL: "samples" */
	unsigned int width; /* px; 0: 1200 */
	double min_width_px; /* narrower frames are omitted; 0: 0.1 */
};

/* Writes the SVG. Returns 0 or -errno (write error). An empty @f gives a
 * valid SVG saying there were no samples. */
int flamegraph__write(const struct folded *f, const struct flamegraph_opts *o,
		      FILE *out);

#endif

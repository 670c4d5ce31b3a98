// SPDX-License-Identifier: Apache-2.0
/* What one sample costs the BPF program, piece by piece. A workload built
 * with frame pointers (two threads, each DEPTH calls deep in a busy loop,
 * so both cores are busy) is recorded at once by several receivers, each
 * filtered to it and each with pieces of the sample switched off by
 * configuration: the kernel stack, the Python lookup, the unwinder
 * (frame pointers through bpf_get_stack, or the table walk). One more
 * receiver is filtered to a sleeping process: its runs all return at the
 * filters, which measures what the others pay for the samples of other
 * processes; that is taken out of their time. Prints, for each receiver,
 * samples kept, native frames per sample, and the program's run time per
 * sample (kernel.bpf_stats_enabled: run_time_ns / run_cnt), then the
 * pieces as differences between them.
 *
 * Usage: sudo bpf_cost [SECONDS [HZ [PID]]] (defaults 10, 499; PID: an
 * already running workload, e.g. one `bpf_cost --spin SECONDS` started,
 * so that two builds can measure the same process side by side);
 * bpf_cost --spin SECONDS runs the workload alone. Prints figures; gates
 * nothing. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bench/bpf_stats.h"
#include "lib/clock.h"
#include "receiver/receiver.h"

/* Calls between the thread's start and the busy loop (spin_depth). */
#define DEPTH 8
#define THREADS 2
/* piece_ns of a build with TGPROF_BPF_TIME_PIECES: six pieces, the
 * samples timed last. */
#define PIECES 8

static const char *const piece_names[PIECES - 1] = {
	"counters, filters, buffer",
	"header, comms",
	"kernel stack",
	"aspace id",
	"user stack (fp)",
	"python lookup",
	"ring buffer out (tables: + walk)",
};

static volatile uint64_t sink;
static uint64_t spin_until_ns;

__attribute__((noinline)) static void spin_leaf(void)
{
	while (boot_ns() < spin_until_ns)
		for (int i = 0; i < 10000; i++)
			sink++;
}

__attribute__((noinline)) static void spin_depth(int depth)
{
	if (depth <= 1)
		spin_leaf();
	else
		spin_depth(depth - 1);
	sink++; /* no tail call: every level keeps its frame */
}

static void *spin_thread(void *arg)
{
	(void)arg;
	spin_depth(DEPTH);
	return NULL;
}

static int spin(int secs)
{
	pthread_t t[THREADS - 1];
	int i;

	spin_until_ns = boot_ns() + (uint64_t)secs * NSEC_PER_SEC;
	for (i = 0; i < THREADS - 1; i++)
		if (pthread_create(&t[i], NULL, spin_thread, NULL))
			return 1;
	spin_thread(NULL);
	for (i = 0; i < THREADS - 1; i++)
		pthread_join(t[i], NULL);
	return 0;
}

struct variant {
	const char *name;
	enum receiver_unwinder unwinder;
	bool kernel_stacks, python_frames, sleeper;
	struct receiver *r;
	struct receiver_sink sink;
	struct receiver_stats st;
	uint64_t samples, frames, kframes;
	int pieces_fd; /* its piece_ns map, or -1 */
	uint64_t pieces[PIECES];
};

static void on_sample(void *ctx, const struct sym_sample *s)
{
	struct variant *v = ctx;

	v->samples++;
	v->frames += s->nframes;
	v->kframes += s->nkernel;
}

enum {
	V_SLEEPER,
	V_FP_BARE,
	V_FP_KSTACK,
	V_FP_ALL,
	V_TABLES_BARE,
	V_TABLES_ALL,
	V_MAX
};

static struct variant variants[V_MAX] = {
	[V_SLEEPER] = { "another process (filtered out)",
			RECEIVER_UNWIND_TABLES, true, true, true },
	[V_FP_BARE] = { "fp, no kernel stack, no python",
			RECEIVER_UNWIND_FRAME_POINTER, false, false },
	[V_FP_KSTACK] = { "fp, kernel stack, no python",
			  RECEIVER_UNWIND_FRAME_POINTER, true, false },
	[V_FP_ALL] = { "fp, kernel stack, python (fp default)",
		       RECEIVER_UNWIND_FRAME_POINTER, true, true },
	[V_TABLES_BARE] = { "tables, no kernel stack, no python",
			    RECEIVER_UNWIND_TABLES, false, false },
	[V_TABLES_ALL] = { "tables, kernel stack, python (default)",
			   RECEIVER_UNWIND_TABLES, true, true },
};

/* Whether this process holds a descriptor of map @id (another
 * benchmark may be loading samplers at the same time). */
static bool own_map(uint32_t id)
{
	char path[64], line[128];
	unsigned int mid;
	bool found = false;
	FILE *f;
	int fd;

	for (fd = 0; fd < 4096 && !found; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "map_id: %u", &mid) == 1 && mid == id)
				found = true;
		fclose(f);
	}
	return found;
}

/* The highest id of a map of this process named sampler_.bss holding
 * piece_ns, above @after; 0 if none. */
static uint32_t pieces_map(uint32_t after)
{
	struct bpf_map_info info;
	uint32_t id = after, len, found = 0;
	int fd;

	while (!bpf_map_get_next_id(id, &id)) {
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    !strcmp(info.name, "sampler_.bss") &&
		    info.value_size == PIECES * sizeof(uint64_t)) {
			close(fd);
			if (own_map(id))
				found = id;
			continue;
		}
		close(fd);
	}
	return found;
}

static uint32_t last_map_id(void)
{
	uint32_t id = 0;

	while (!bpf_map_get_next_id(id, &id))
		;
	return id;
}

static void start(struct variant *v, uint32_t hz, pid_t pid)
{
	uint32_t before = last_map_id(), id;

	struct receiver_config cfg;

	receiver_config__defaults(&cfg);
	cfg.freq_hz = hz;
	/* PID 1 sleeps: all its receiver's runs stop at the filter. */
	cfg.filter_tgid = v->sleeper ? 1 : (uint32_t)pid;
	cfg.unwinder = v->unwinder;
	cfg.kernel_stacks = v->kernel_stacks;
	cfg.python_frames = v->python_frames;
	v->sink.on_sample = on_sample;
	v->sink.ctx = v;
	v->r = receiver__new(&cfg, &v->sink, NULL);
	if (!v->r || receiver__start(v->r)) {
		fprintf(stderr, "bpf_cost: cannot start a receiver: %s\n",
			strerror(errno));
		exit(1);
	}
	id = pieces_map(before);
	v->pieces_fd = id ? bpf_map_get_fd_by_id(id) : -1;
}

static double us(int i, double dropped_ns)
{
	return bench_bpf_us_per_sample(&variants[i].st.sampler, dropped_ns);
}

int main(int argc, char **argv)
{
	int secs, status, i;
	uint32_t hz;
	pid_t pid = 0, own = 0;
	uint64_t end;
	double dropped_ns;

	if (argc == 3 && !strcmp(argv[1], "--spin"))
		return spin(atoi(argv[2]));
	secs = argc > 1 ? atoi(argv[1]) : 10;
	hz = argc > 2 ? (uint32_t)atoi(argv[2]) : 499;
	if (argc > 3)
		pid = atoi(argv[3]);
	if (secs < 1 || !hz)
		return 2;
	if (bench_bpf_stats_on())
		fprintf(stderr,
			"bpf_cost: cannot enable kernel.bpf_stats_enabled (root?)\n");
	if (!pid) {
		own = fork();
		if (own < 0) {
			perror("fork");
			return 1;
		}
		if (!own)
			_exit(spin(secs + 60));
		pid = own;
	}
	for (i = 0; i < V_MAX; i++)
		start(&variants[i], hz, pid);
	end = boot_ns() + (uint64_t)secs * NSEC_PER_SEC;
	while (boot_ns() < end)
		for (i = 0; i < V_MAX; i++)
			receiver__poll(variants[i].r, 10);
	for (i = 0; i < V_MAX; i++) {
		uint32_t zero = 0;

		if (variants[i].pieces_fd >= 0)
			bpf_map_lookup_elem(variants[i].pieces_fd, &zero,
					    variants[i].pieces);
		receiver__stop(variants[i].r);
		receiver__stats(variants[i].r, &variants[i].st);
	}
	if (own) {
		kill(own, SIGKILL);
		waitpid(own, &status, 0);
	}

	{
		const struct sampler_counters *c =
			&variants[V_SLEEPER].st.sampler;

		dropped_ns = c->bpf_runs ? (double)c->bpf_run_ns /
						   (double)c->bpf_runs :
					   0;
	}
	printf("BPF cost per sample, %d s at %u Hz, %d receivers at once on a "
	       "%d-thread frame-pointer workload %d calls deep (pid %d):\n",
	       secs, hz, V_MAX, THREADS, DEPTH, (int)pid);
	printf("%-40s %8s %8s %8s %8s %10s\n", "", "runs", "kept", "fr/smp",
	       "kfr/smp", "bpf us/smp");
	for (i = 0; i < V_MAX; i++) {
		const struct variant *v = &variants[i];
		const struct sampler_counters *c = &v->st.sampler;

		printf("%-40s %8" PRIu64 " %8" PRIu64 " %8.1f %8.1f %10.2f\n",
		       v->name, c->bpf_runs, v->samples,
		       v->samples ? (double)v->frames / v->samples : 0,
		       v->samples ? (double)v->kframes / v->samples : 0,
		       i == V_SLEEPER ? dropped_ns / 1e3 : us(i, dropped_ns));
	}
	printf("(bpf us/smp: run time per sample kept, less %.2f us for each run "
	       "that returned at the filters; the first row: time per run)\n",
	       dropped_ns / 1e3);
	printf("pieces, us per sample:\n");
	printf("  filtered-out run (counters, filter)      %6.2f\n",
	       dropped_ns / 1e3);
	printf("  fp sample without kernel stack, python   %6.2f\n",
	       us(V_FP_BARE, dropped_ns));
	printf("  + kernel stack (bpf_get_stack)           %6.2f\n",
	       us(V_FP_KSTACK, dropped_ns) - us(V_FP_BARE, dropped_ns));
	printf("  + python lookup (a miss)                 %6.2f\n",
	       us(V_FP_ALL, dropped_ns) - us(V_FP_KSTACK, dropped_ns));
	printf("  table walk instead of frame pointers     %6.2f\n",
	       us(V_TABLES_BARE, dropped_ns) - us(V_FP_BARE, dropped_ns));
	printf("  table walk, kernel stack + python        %6.2f\n",
	       us(V_TABLES_ALL, dropped_ns) - us(V_TABLES_BARE, dropped_ns));
	if (variants[V_FP_BARE].pieces_fd >= 0) {
		int p;

		printf("timed pieces (TGPROF_BPF_TIME_PIECES build), us per "
		       "sample timed:\n%-34s",
		       "");
		for (i = V_FP_BARE; i < V_MAX; i++)
			printf(" %7.7s", variants[i].name);
		printf("\n");
		for (p = 0; p < PIECES; p++) {
			printf("%-34s", p < PIECES - 1 ? piece_names[p] :
							 "sum (samples timed)");
			for (i = V_FP_BARE; i < V_MAX; i++) {
				const uint64_t *v = variants[i].pieces;
				uint64_t sum = 0, k;

				for (k = 0; k < PIECES - 1; k++)
					sum += v[k];
				printf(" %7.2f",
				       v[PIECES - 1] ?
					       (p < PIECES - 1 ? v[p] : sum) /
						       1e3 /
						       (double)v[PIECES - 1] :
					       0);
			}
			printf("\n");
		}
	}
	for (i = 0; i < V_MAX; i++)
		receiver__free(variants[i].r);
	return 0;
}

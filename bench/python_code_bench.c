// SPDX-License-Identifier: Apache-2.0
/* The Python code-object cache (receiver/runtimes/python/code.c) against a
 * real /usr/bin/python3.11 that defines 10,000 functions (generated
 * source): every code object resolved cold (read from the process and
 * decoded) then warm (cached), printing ns per resolve, the bytes the
 * cache holds and bytes per function. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "receiver/runtimes/python/code.h"

#define PYTHON "/usr/bin/python3.11"
#define NFUNCS 10000

static const char script[] =
	"import sys\n"
	"src = []\n"
	"for i in range(%d):\n"
	"    src.append(f'def func_{i}(a, b):\\n    c = a + b\\n"
	"    if c > {i}:\\n        c -= 1\\n    return c * 2\\n')\n"
	"ns = {}\n"
	"exec(compile(''.join(src), '/srv/app/generated_module.py', 'exec'), "
	"ns)\n"
	"for i in range(%d):\n"
	"    print(id(ns[f'func_{i}'].__code__))\n"
	"print('.', flush=True)\n"
	"sys.stdin.read()\n";

int main(void)
{
	char path[] = "/tmp/tgprof_pybench_XXXXXX.py", line[64];
	int to_child[2], from_child[2], fd, err = 1;
	struct python_layout l;
	struct pycode_stats st;
	struct pycode_cache *c;
	uint64_t *codes, t0, cold, warm;
	size_t n = 0, i;
	struct py_frame f;
	FILE *out;
	pid_t pid;

	if (access(PYTHON, X_OK)) {
		fprintf(stderr, PYTHON " missing\n");
		return 1;
	}
	codes = calloc(NFUNCS, sizeof(*codes));
	fd = mkstemps(path, 3);
	if (!codes || fd < 0 || dprintf(fd, script, NFUNCS, NFUNCS) < 0)
		return 1;
	close(fd);
	if (pipe(to_child) || pipe(from_child))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl(PYTHON, PYTHON, path, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	out = fdopen(from_child[0], "r");
	while (out && fgets(line, sizeof(line), out) && line[0] != '.' &&
	       n < NFUNCS)
		codes[n++] = strtoull(line, NULL, 10);
	if (n != NFUNCS || python_layout__for_version(0x030b02f0, &l))
		goto out;
	c = pycode_cache__new(NULL, NULL);
	if (!c)
		goto out;
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++)
		if (pycode_cache__resolve(c, &l, (uint32_t)pid, 1, codes[i],
					  codes[i] + l.code_code_adaptive + 8,
					  &f))
			goto out_free;
	cold = clock_ns(CLOCK_MONOTONIC) - t0;
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++)
		if (pycode_cache__resolve(c, &l, (uint32_t)pid, 1, codes[i],
					  codes[i] + l.code_code_adaptive + 8,
					  &f))
			goto out_free;
	warm = clock_ns(CLOCK_MONOTONIC) - t0;
	pycode_cache__stats(c, &st);
	printf("functions          %zu (%s:%u %s)\n", n, f.file, f.line,
	       f.qualname);
	printf("cache entries      %llu\n", (unsigned long long)st.entries);
	printf("cache bytes        %llu\n", (unsigned long long)st.bytes);
	printf("bytes per function %.1f\n", (double)st.bytes / (double)n);
	printf("cold ns/resolve    %.0f\n", (double)cold / (double)n);
	printf("warm ns/resolve    %.1f\n", (double)warm / (double)n);
	printf("evictions %llu, bad %llu, read errors %llu\n",
	       (unsigned long long)st.evictions,
	       (unsigned long long)st.bad_objects,
	       (unsigned long long)st.read_errors);
	err = 0;
out_free:
	pycode_cache__free(c);
out:
	close(to_child[1]);
	if (out)
		fclose(out);
	waitpid(pid, NULL, 0);
	unlink(path);
	free(codes);
	if (err)
		fprintf(stderr, "python_code_bench failed (%zu code objects)\n",
			n);
	return err;
}

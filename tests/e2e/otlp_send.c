// SPDX-License-Identifier: Apache-2.0
/* otlp_send: submits files of serialized ExportProfilesServiceRequest bytes
 * through tgprof's OTLP/HTTP exporter (exporter/otlp_http.h), or its
 * OTLP/gRPC mode with --grpc, so the e2e tests prove the exporter ->
 * collector path with real requests.
 *
 * Usage: otlp_send --endpoint URL [--gzip] [--ca-file F] [--cert-file F]
 *        [--key-file F] [--insecure] [--header NAME=VALUE]...
 *        [--retry-max-elapsed-ms N] [--timeout-ms N] [--interval-ms N]
 *        [--grpc] [--plaintext] [--request-timeout-ms N] [--queue-size N]
 *        FILE...
 * --plaintext is tls.insecure (h2c to a host:port endpoint); --timeout-ms
 * bounds the final flush, --request-timeout-ms one attempt.
 * With --interval-ms it submits one file every N ms, as a profile builder
 * would every report interval. Prints one line of counters on stdout; exits 0 when every file was sent,
 * 1 when one was not, 2 on bad usage. Log lines go to stderr. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exporter/otlp_http.h"
#include "lib/clock.h"

#define SEND_MAX_FILE (64 * 1024 * 1024)

static void log_stderr(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "otlp_send: %s: %s\n", tg_log_level_name(level), msg);
}

/* The whole file; caller frees. NULL + errno. */
static void *slurp(const char *path, size_t *ret_len)
{
	size_t cap = 65536, len = 0, n;
	char *buf = malloc(cap), *nb;
	FILE *f = fopen(path, "rbe");

	if (!f || !buf)
		goto err;
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len < cap)
			continue;
		if (cap >= SEND_MAX_FILE) {
			errno = EFBIG;
			goto err;
		}
		nb = realloc(buf, cap * 2);
		if (!nb)
			goto err;
		buf = nb;
		cap *= 2;
	}
	if (ferror(f))
		goto err;
	fclose(f);
	*ret_len = len;
	return buf;
err:
	if (f)
		fclose(f);
	free(buf);
	return NULL;
}

static void pace(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / NSEC_PER_SEC),
			       .tv_nsec = (long)(ns % NSEC_PER_SEC) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: otlp_send --endpoint URL [--gzip] [--ca-file F] [--cert-file F]\n"
		"       [--key-file F] [--insecure] [--header NAME=VALUE]...\n"
		"       [--retry-max-elapsed-ms N] [--timeout-ms N] [--interval-ms N]\n"
		"       [--grpc] [--plaintext] [--request-timeout-ms N] [--queue-size N]\n"
		"       FILE...\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "gzip", no_argument, NULL, 'z' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "cert-file", required_argument, NULL, 'c' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "insecure", no_argument, NULL, 'i' },
		{ "header", required_argument, NULL, 'H' },
		{ "retry-max-elapsed-ms", required_argument, NULL, 'r' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "interval-ms", required_argument, NULL, 'I' },
		{ "grpc", no_argument, NULL, 'g' },
		{ "plaintext", no_argument, NULL, 'p' },
		{ "request-timeout-ms", required_argument, NULL, 'T' },
		{ "queue-size", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct tg_logger log = { .fn = log_stderr, .max_level = TG_LOG_WARN };
	struct otlp_http_header headers[OTLP_HTTP_MAX_HEADERS];
	struct otlp_http_opts o = { .sz = sizeof(o) };
	uint64_t timeout_ns = 30 * NSEC_PER_SEC, interval_ns = 0;
	struct otlp_http_stats s;
	struct otlp_http *e;
	size_t nfiles, len;
	char *eq, *data;
	int c, i, err;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			o.endpoint = optarg;
			break;
		case 'z':
			o.gzip = true;
			break;
		case 'C':
			o.ca_file = optarg;
			break;
		case 'c':
			o.cert_file = optarg;
			break;
		case 'k':
			o.key_file = optarg;
			break;
		case 'i':
			o.insecure_skip_verify = true;
			break;
		case 'H':
			eq = strchr(optarg, '=');
			if (!eq || o.nheaders == OTLP_HTTP_MAX_HEADERS) {
				usage();
				return 2;
			}
			*eq = '\0';
			headers[o.nheaders].name = optarg;
			headers[o.nheaders++].value = eq + 1;
			o.headers = headers;
			break;
		case 'r':
			o.retry_max_elapsed_ns =
				strtoull(optarg, NULL, 10) * NSEC_PER_MSEC;
			o.retry_initial_ns = 100 * NSEC_PER_MSEC;
			o.retry_max_ns = 500 * NSEC_PER_MSEC;
			break;
		case 't':
			timeout_ns = strtoull(optarg, NULL, 10) * NSEC_PER_MSEC;
			break;
		case 'I':
			interval_ns =
				strtoull(optarg, NULL, 10) * NSEC_PER_MSEC;
			break;
		case 'g':
			o.grpc = true;
			break;
		case 'p':
			o.insecure = true;
			break;
		case 'T':
			o.request_timeout_ns =
				strtoull(optarg, NULL, 10) * NSEC_PER_MSEC;
			break;
		case 'q':
			o.queue_size = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!o.endpoint || optind == argc) {
		usage();
		return 2;
	}
	nfiles = (size_t)(argc - optind);

	e = otlp_http__new(&o, &log);
	if (!e)
		return 2;
	for (i = optind; i < argc; i++) {
		if (interval_ns && i > optind)
			pace(interval_ns);
		data = slurp(argv[i], &len);
		if (!data) {
			fprintf(stderr, "otlp_send: %s: %s\n", argv[i],
				strerror(errno));
			otlp_http__free(e, 0);
			return 2;
		}
		err = otlp_http__submit(e, data, len);
		free(data);
		if (err) {
			fprintf(stderr, "otlp_send: submit: %s\n",
				strerror(-err));
			otlp_http__free(e, 0);
			return 1;
		}
	}
	otlp_http__flush(e, timeout_ns);
	otlp_http__stats(e, &s);
	otlp_http__free(e, 0);
	printf("sent=%" PRIu64 " bytes=%" PRIu64 " retries=%" PRIu64
	       " dropped_permanent=%" PRIu64
	       " dropped_retries_exhausted=%" PRIu64
	       " dropped_queue_full=%" PRIu64 " dropped_shutdown=%" PRIu64
	       " queued=%" PRIu32 "\n",
	       s.sent, s.bytes_sent, s.retries, s.dropped_permanent,
	       s.dropped_retries_exhausted, s.dropped_queue_full,
	       s.dropped_shutdown, s.queued);
	return s.sent == nfiles ? 0 : 1;
}

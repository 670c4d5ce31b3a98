// SPDX-License-Identifier: Apache-2.0
/* OTLP/HTTP exporter: the profile builder hands serialized
 * ExportProfilesServiceRequests to otlp_http__submit(); a sender thread
 * gzips each one, POSTs it with libcurl and retries what the collector asks
 * to retry, so nothing upstream ever waits on the network. The requests
 * wait in a lib/queue under the exporter's lock; lib/backoff spaces the
 * retries. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "exporter/grpc_status.h"
#include "exporter/otlp_http.h"
#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/gzip.h"
#include "lib/opts.h"
#include "lib/queue.h"
#include "lib/rand.h"
#include "lib/sat.h"

#define OTLP_DEFAULT_CONNECT_TIMEOUT_NS (5 * NSEC_PER_SEC)
#define OTLP_DEFAULT_REQUEST_TIMEOUT_NS (30 * NSEC_PER_SEC)
#define OTLP_DEFAULT_RETRY_INITIAL_NS (5 * NSEC_PER_SEC)
#define OTLP_DEFAULT_RETRY_MAX_NS (30 * NSEC_PER_SEC)
#define OTLP_DEFAULT_RETRY_MAX_ELAPSED_NS (300 * NSEC_PER_SEC)
#define OTLP_DEFAULT_QUEUE_SIZE 100
#define OTLP_MAX_QUEUE_SIZE 100000
#define OTLP_MAX_ENDPOINT_LEN 2048
#define OTLP_MAX_HEADER_LEN 8192 /* "Name: value" */
/* A Retry-After beyond this many seconds is read as this many (and then
 * capped by retry_max like every wait). */
#define OTLP_MAX_RETRY_AFTER_S 86400
/* How much of an error response is kept for the log line. */
#define OTLP_MAX_RESPONSE_SNIPPET 160
/* Failure kinds remembered per outage (distinct ones are logged once). */
#define OTLP_MAX_FAILURE_KINDS 16
/* The sender re-checks for shutdown at least this often during a transfer
 * (curl_multi_wakeup() normally wakes it at once). */
#define OTLP_POLL_MAX_MS 1000

/* Failure kinds: an HTTP status, a curl error, or a request given up. */
#define OTLP_KIND_CURL 1000
#define OTLP_KIND_EXHAUSTED 2000
#define OTLP_KIND_GRPC 3000 /* + the grpc-status code (+ 100: dropped) */
/* A grpc-message kept for the log line. */
#define OTLP_MAX_GRPC_MESSAGE 256

enum otlp_outcome {
	OTLP_SENT,
	OTLP_RETRY,
	OTLP_PERMANENT,
	OTLP_ABORTED, /* shutdown deadline passed mid-transfer */
};

struct otlp_attempt {
	enum otlp_outcome outcome;
	long status; /* HTTP status; 0 without a response */
	CURLcode code;
	uint64_t retry_after_ns; /* 0: the response had none */
	int grpc_status; /* gRPC: the code; -1 without one */
};

struct otlp_http {
	/* Set by otlp_http__new(), read-only afterwards. */
	struct tg_logger log; /* copy; log.ctx borrowed */
	char *url; /* endpoint + OTLP_HTTP_PATH */
	struct curl_slist *hdrs_gzip; /* with Content-Encoding: gzip */
	struct curl_slist *hdrs_plain;
	bool gzip;
	bool grpc; /* OTLP/gRPC: framing, grpc-status */
	uint64_t retry_initial_ns;
	uint64_t retry_max_ns;
	uint64_t retry_max_elapsed_ns;

	/* The sender thread's own. */
	CURL *curl;
	CURLM *multi;
	char errbuf[CURL_ERROR_SIZE];
	char snippet[OTLP_MAX_RESPONSE_SNIPPET + 1]; /* of the response body */
	size_t snippet_len;
	char retry_after[64]; /* the response's Retry-After value */
	/* gRPC: from the response's headers or trailers */
	int grpc_status; /* -1: none yet */
	char grpc_message[OTLP_MAX_GRPC_MESSAGE];
	bool grpc_retry_info; /* the details carried a RetryInfo */
	uint64_t grpc_retry_ns; /* its retry_delay */
	struct rand64 rng; /* the backoff's jitter */
	/* The current outage: failure kinds already logged, and attempts
	 * failed since the last success. Cleared when a request is sent. */
	int kinds[OTLP_MAX_FAILURE_KINDS];
	size_t nkinds;
	uint64_t outage_failures;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* sender: work to do, or shutdown */
	pthread_cond_t idle; /* flush: the sender finished a request */

	/* Under @lock. */
	struct queue *queue; /* waiting, not counting the one in flight */
	bool busy; /* a request is in flight */
	bool stopping;
	uint64_t stop_deadline_ns; /* CLOCK_MONOTONIC */
	struct otlp_http_stats stats; /* those the queue does not count */
};

static pthread_once_t otlp_curl_once = PTHREAD_ONCE_INIT;
static CURLcode otlp_curl_init_result;

/*
 * curl_global_init() sets up process-wide state (OpenSSL among it) and is
 * not thread-safe with itself: the first otlp_http__new() of the process
 * calls it, once. curl_global_cleanup() is never called; the process exit
 * releases what it holds, and no other exporter can lose it meanwhile.
 */
static void otlp__curl_global_init(void)
{
	otlp_curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static struct timespec mono_ts(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NSEC_PER_SEC),
		.tv_nsec = (long)(ns % NSEC_PER_SEC),
	};

	return ts;
}

/* Waits on @cond (CLOCK_MONOTONIC) until @deadline_ns at the latest. */
static void cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock,
			    uint64_t deadline_ns)
{
	struct timespec ts;

	if (deadline_ns == UINT64_MAX) {
		pthread_cond_wait(cond, lock);
		return;
	}
	ts = mono_ts(deadline_ns);
	pthread_cond_timedwait(cond, lock, &ts);
}

/* ---- Configuration ---- */

static bool has_space_or_ctl(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return true;
	return false;
}

#define URL_BAD_PORT "port is not a number in 1..65535"
#define URL_NO_HOST "has no host"
#define URL_BAD_SCHEME "scheme is not http or https"

static bool scheme_ok(const char *s, size_t len)
{
	return (len == 4 && !strncasecmp(s, "http", 4)) ||
	       (len == 5 && !strncasecmp(s, "https", 5));
}

/* The same words for what curl's URL parser and ours find. */
static const char *url_error(CURLUcode rc)
{
	switch (rc) {
	case CURLUE_BAD_PORT_NUMBER:
		return URL_BAD_PORT;
	case CURLUE_NO_HOST:
		return URL_NO_HOST;
	case CURLUE_BAD_SCHEME:
	case CURLUE_UNSUPPORTED_SCHEME:
		return URL_BAD_SCHEME;
	default:
		return curl_url_strerror(rc);
	}
}

/* @endpoint ("http(s)://host[:port][/prefix]") + OTLP_HTTP_PATH, or NULL
 * with the reason logged. Caller frees. With @grpc: "http(s)://host[:port]"
 * or "host[:port]" (https, or http when @insecure) + GRPC_EXPORT_PATH. */
static char *otlp__build_url(const char *endpoint, bool grpc, bool insecure,
			     const struct tg_logger *log)
{
	char *bare = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *query = NULL, *fragment = NULL, *user = NULL, *full = NULL;
	const char *sep, *why = NULL;
	char *url = NULL, *newpath = NULL;
	CURLU *u = NULL;
	CURLUcode rc;
	size_t plen;

	if (!endpoint || !*endpoint) {
		tg_err(log, "export: no endpoint given");
		return NULL;
	}
	if (strlen(endpoint) > OTLP_MAX_ENDPOINT_LEN) {
		tg_err(log, "export: endpoint is longer than %d characters",
		       OTLP_MAX_ENDPOINT_LEN);
		return NULL;
	}
	if (grpc && !strstr(endpoint, "://")) {
		if (asprintf(&bare, "%s://%s", insecure ? "http" : "https",
			     endpoint) < 0) {
			tg_err(log,
			       "export: out of memory parsing the endpoint");
			return NULL;
		}
		endpoint = bare;
	}
	sep = strstr(endpoint, "://");
	if (has_space_or_ctl(endpoint))
		why = "contains spaces or control characters";
	else if (!sep || sep == endpoint)
		why = "has no scheme (write http://HOST:PORT or https://HOST:PORT)";
	else if (!scheme_ok(endpoint, (size_t)(sep - endpoint)))
		why = URL_BAD_SCHEME;
	else if (sep[3] == '/' || sep[3] == '\0')
		why = URL_NO_HOST;
	if (why)
		goto invalid;

	u = curl_url();
	if (!u) {
		tg_err(log, "export: out of memory parsing the endpoint");
		return NULL;
	}
	rc = curl_url_set(u, CURLUPART_URL, endpoint, 0);
	if (rc) {
		why = url_error(rc);
		goto invalid;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	if (!scheme || !scheme_ok(scheme, strlen(scheme)))
		why = URL_BAD_SCHEME;
	else if (!host || !*host)
		why = URL_NO_HOST;
	else if (port && strtoul(port, NULL, 10) == 0)
		why = URL_BAD_PORT;
	else if (query || fragment)
		why = "has a query or a fragment";
	else if (user)
		why = "carries credentials: send them in a header instead";
	if (why)
		goto invalid;

	/* The endpoint's path is a prefix: OTLP_HTTP_PATH follows it. */
	plen = path ? strlen(path) : 0;
	while (plen && path[plen - 1] == '/')
		plen--;
	if (grpc && plen) {
		why = "has a path (a gRPC endpoint is host:port)";
		goto invalid;
	}
	if (asprintf(&newpath, "%.*s%s", (int)plen, path ? path : "",
		     grpc ? GRPC_EXPORT_PATH : OTLP_HTTP_PATH) < 0) {
		newpath = NULL;
		tg_err(log, "export: out of memory parsing the endpoint");
		goto out;
	}
	rc = curl_url_set(u, CURLUPART_PATH, newpath, 0);
	if (!rc)
		rc = curl_url_get(u, CURLUPART_URL, &full, 0);
	if (rc) {
		why = curl_url_strerror(rc);
		goto invalid;
	}
	url = strdup(full);
	if (!url)
		tg_err(log, "export: out of memory parsing the endpoint");
	goto out;

invalid:
	tg_err(log, "export: endpoint \"%.200s\" is invalid: %s", endpoint,
	       why);
out:
	curl_free(full);
	curl_free(user);
	curl_free(fragment);
	curl_free(query);
	curl_free(path);
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	free(newpath);
	curl_url_cleanup(u);
	free(bare);
	return url;
}

static bool header_name_ok(const char *s)
{
	/* RFC 9110 token */
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

static bool header_value_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

/* Headers the exporter sets itself; a caller's copy would contradict the
 * body. */
static bool header_reserved(const char *name, bool grpc)
{
	static const char *const reserved[] = {
		"Content-Type",	     "Content-Encoding", "Content-Length",
		"Transfer-Encoding", "Expect",
	};
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcasecmp(name, reserved[i]))
			return true;
	/* gRPC's own: te, grpc-encoding, grpc-timeout, ... */
	return grpc &&
	       (!strcasecmp(name, "te") || !strncasecmp(name, "grpc-", 5));
}

static int slist_addf(struct curl_slist **list, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int slist_addf(struct curl_slist **list, const char *fmt, ...)
{
	struct curl_slist *n;
	va_list ap;
	char *line;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return -ENOMEM;
	n = curl_slist_append(*list, line);
	free(line);
	if (!n)
		return -ENOMEM;
	*list = n;
	return 0;
}

/* Builds the header list sent with every request; -EINVAL (logged) for a
 * header the caller may not set. */
static int otlp__build_headers(struct curl_slist **ret,
			       const struct otlp_http_opts *o, bool gzip,
			       const struct tg_logger *log)
{
	uint64_t timeout_ms =
		(o->request_timeout_ns ?: OTLP_DEFAULT_REQUEST_TIMEOUT_NS) /
		NSEC_PER_MSEC;
	struct curl_slist *list = NULL;
	size_t i;
	int err;

	if (o->grpc) {
		err = slist_addf(&list, "Content-Type: application/grpc");
		if (!err)
			err = slist_addf(&list, "TE: trailers");
		if (!err && gzip)
			err = slist_addf(&list, "grpc-encoding: gzip");
		if (!err)
			err = slist_addf(&list, "grpc-accept-encoding: gzip");
		if (!err)
			err = slist_addf(&list, "grpc-timeout: %" PRIu64 "m",
					 min_u64(timeout_ms ?: 1, 99999999));
	} else {
		err = slist_addf(&list, "Content-Type: application/x-protobuf");
		if (!err && gzip)
			err = slist_addf(&list, "Content-Encoding: gzip");
	}
	/* curl would wait for "100 Continue" before large bodies. */
	if (!err)
		err = slist_addf(&list, "Expect:");
	for (i = 0; !err && i < o->nheaders; i++) {
		const struct otlp_http_header *h = &o->headers[i];

		if (!h->name || !header_name_ok(h->name)) {
			tg_err(log,
			       "export: header name \"%.64s\" is not a valid HTTP header name",
			       h->name ? h->name : "(null)");
			err = -EINVAL;
		} else if (header_reserved(h->name, o->grpc)) {
			tg_err(log,
			       "export: header %s is set by tgprof and cannot be given",
			       h->name);
			err = -EINVAL;
		} else if (!h->value || !header_value_ok(h->value) ||
			   strlen(h->name) + strlen(h->value) + 2 >
				   OTLP_MAX_HEADER_LEN) {
			tg_err(log,
			       "export: header %s: the value is missing, too long or has a line break",
			       h->name);
			err = -EINVAL;
		} else if (!*h->value) {
			/* curl sends "Name;" as "Name:" with no value */
			err = slist_addf(&list, "%s;", h->name);
		} else {
			err = slist_addf(&list, "%s: %s", h->name, h->value);
		}
	}
	if (err) {
		if (err == -ENOMEM)
			tg_err(log, "export: out of memory building headers");
		curl_slist_free_all(list);
		return err;
	}
	*ret = list;
	return 0;
}

static int tls_file_ok(const char *what, const char *path,
		       const struct tg_logger *log)
{
	if (!path)
		return 0;
	if (access(path, R_OK)) {
		tg_err(log, "export: %s %s: %s", what, path, strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static int otlp__check_tls(const struct otlp_http_opts *o, const char *url,
			   const struct tg_logger *log)
{
	int err;

	if (o->key_file && !o->cert_file) {
		tg_err(log,
		       "export: a client key needs its certificate (cert_file)");
		return -EINVAL;
	}
	err = tls_file_ok("CA file", o->ca_file, log);
	if (!err)
		err = tls_file_ok("client certificate", o->cert_file, log);
	if (!err)
		err = tls_file_ok("client key", o->key_file, log);
	if (err)
		return err;
	if (strncasecmp(url, "https:", 6) &&
	    (o->ca_file || o->cert_file || o->insecure_skip_verify))
		tg_warn(log,
			"export: TLS options are ignored for %s (not https)",
			url);
	return 0;
}

/* ---- The sender ---- */

static size_t otlp__on_body(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	struct otlp_http *e = ctx;
	size_t n = size * nmemb, i;

	for (i = 0; i < n && e->snippet_len < OTLP_MAX_RESPONSE_SNIPPET; i++) {
		unsigned char c = (unsigned char)ptr[i];

		/* Collectors answer 400 with a protobuf google.rpc.Status:
		 * its message shows through, the framing bytes do not. */
		e->snippet[e->snippet_len++] = isprint(c) ? (char)c : ' ';
	}
	e->snippet[e->snippet_len] = '\0';
	return n;
}

/* @line's value when it is header @name (with its colon), trimmed. */
static const char *header_value(const char *line, size_t n, const char *name,
				size_t *ret_len)
{
	size_t nlen = strlen(name);
	const char *v, *end = line + n;

	if (n < nlen || strncasecmp(line, name, nlen))
		return NULL;
	v = line + nlen;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	*ret_len = (size_t)(end - v);
	return v;
}

/* grpc-status, grpc-message and grpc-status-details-bin, in the headers
 * of a trailers-only response or in the trailers (libcurl hands both to
 * the header callback). */
static void otlp__on_grpc_header(struct otlp_http *e, const char *buf, size_t n)
{
	const char *v;
	size_t vlen;

	if ((v = header_value(buf, n, "grpc-status:", &vlen)))
		e->grpc_status = grpc_status__parse(v, vlen) < 0 ?
					 GRPC_UNKNOWN :
					 grpc_status__parse(v, vlen);
	else if ((v = header_value(buf, n, "grpc-message:", &vlen)))
		grpc_message__decode(v, vlen, e->grpc_message,
				     sizeof(e->grpc_message));
	else if ((v = header_value(buf, n, "grpc-status-details-bin:", &vlen)))
		e->grpc_retry_info =
			grpc_details__retry_delay(v, vlen, &e->grpc_retry_ns);
}

static size_t otlp__on_header(char *buf, size_t size, size_t nitems, void *ctx)
{
	static const char name[] = "retry-after:";
	struct otlp_http *e = ctx;
	size_t n = size * nitems, vlen;
	const char *v, *end = buf + n;

	if (n > 5 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (after 100 Continue, say) */
		e->retry_after[0] = '\0';
		return n;
	}
	if (e->grpc)
		otlp__on_grpc_header(e, buf, n);
	if (n < sizeof(name) - 1 || strncasecmp(buf, name, sizeof(name) - 1))
		return n;
	v = buf + sizeof(name) - 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	vlen = min_u64((size_t)(end - v), sizeof(e->retry_after) - 1);
	memcpy(e->retry_after, v, vlen);
	e->retry_after[vlen] = '\0';
	return n;
}

/* Retry-After as delay-seconds or an HTTP-date; 0 when absent, unparsable
 * or already past. */
static uint64_t retry_after_ns(const char *v)
{
	uint64_t secs = 0;
	const char *p;
	time_t when;

	if (!*v)
		return 0;
	for (p = v; *p >= '0' && *p <= '9'; p++)
		if (secs < OTLP_MAX_RETRY_AFTER_S)
			secs = secs * 10 + (uint64_t)(*p - '0');
	if (!*p)
		return min_u64(secs, OTLP_MAX_RETRY_AFTER_S) * NSEC_PER_SEC;
	when = curl_getdate(v, NULL);
	if (when == -1 || when <= time(NULL))
		return 0;
	secs = min_u64((uint64_t)(when - time(NULL)), OTLP_MAX_RETRY_AFTER_S);
	return secs * NSEC_PER_SEC;
}

/* True when otlp_http__free()'s deadline passed; else how long curl may
 * wait before the sender looks again. */
static bool otlp__shutdown_due(struct otlp_http *e, int *ret_wait_ms)
{
	uint64_t now = mono_ns(), left;
	bool due = false;

	*ret_wait_ms = OTLP_POLL_MAX_MS;
	pthread_mutex_lock(&e->lock);
	if (e->stopping) {
		if (now >= e->stop_deadline_ns) {
			due = true;
		} else {
			left = e->stop_deadline_ns - now;
			if (left < (uint64_t)OTLP_POLL_MAX_MS * NSEC_PER_MSEC)
				*ret_wait_ms =
					(int)((left + NSEC_PER_MSEC - 1) /
					      NSEC_PER_MSEC);
		}
	}
	pthread_mutex_unlock(&e->lock);
	return due;
}

/* Runs one transfer on the multi handle, so otlp_http__free() can cut it
 * short (curl_multi_wakeup). Returns false when it was aborted. */
static bool otlp__perform(struct otlp_http *e, CURLcode *ret_code)
{
	CURLcode code = CURLE_FAILED_INIT;
	bool aborted = false;
	int running = 1, wait_ms, left;
	CURLMsg *msg;
	CURLMcode mc;

	mc = curl_multi_add_handle(e->multi, e->curl);
	if (mc) {
		*ret_code = CURLE_OUT_OF_MEMORY;
		return true;
	}
	for (;;) {
		mc = curl_multi_perform(e->multi, &running);
		if (mc || !running)
			break;
		if (otlp__shutdown_due(e, &wait_ms)) {
			aborted = true;
			break;
		}
		mc = curl_multi_poll(e->multi, NULL, 0, wait_ms, NULL);
		if (mc)
			break;
	}
	while ((msg = curl_multi_info_read(e->multi, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == e->curl)
			code = msg->data.result;
	curl_multi_remove_handle(e->multi, e->curl);
	if (mc && code == CURLE_FAILED_INIT)
		code = CURLE_OUT_OF_MEMORY;
	*ret_code = code;
	return !aborted;
}

/* Connection-level failures worth another try; the rest are configuration
 * (TLS files, verification, protocol) and would fail the same way again. */
static bool curl_code_retryable(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_AGAIN:
		return true;
	default:
		return false;
	}
}

static bool http_status_retryable(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

static void otlp__attempt(struct otlp_http *e, const void *body, size_t len,
			  struct curl_slist *hdrs, struct otlp_attempt *a)
{
	CURLcode code;

	memset(a, 0, sizeof(*a));
	e->errbuf[0] = '\0';
	e->snippet[0] = '\0';
	e->snippet_len = 0;
	e->retry_after[0] = '\0';
	e->grpc_status = -1;
	e->grpc_message[0] = '\0';
	e->grpc_retry_info = false;
	e->grpc_retry_ns = 0;
	a->grpc_status = -1;
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	if (!otlp__perform(e, &code)) {
		a->outcome = OTLP_ABORTED;
		return;
	}
	a->code = code;
	if (code != CURLE_OK) {
		a->outcome = curl_code_retryable(code) ? OTLP_RETRY :
							 OTLP_PERMANENT;
		return;
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &a->status);
	if (e->grpc && a->status == 200) {
		/* No grpc-status at all: a proxy or a server that is not
		 * gRPC; UNKNOWN, not retried, as gRPC clients do. */
		a->grpc_status = e->grpc_status < 0 ? GRPC_UNKNOWN :
						      e->grpc_status;
		if (a->grpc_status == GRPC_OK) {
			a->outcome = OTLP_SENT;
		} else if (grpc_code__retryable(a->grpc_status,
						e->grpc_retry_info)) {
			a->outcome = OTLP_RETRY;
			a->retry_after_ns = e->grpc_retry_ns;
		} else {
			a->outcome = OTLP_PERMANENT;
		}
	} else if (a->status >= 200 && a->status < 300) {
		a->outcome = OTLP_SENT;
	} else if (http_status_retryable(a->status)) {
		a->outcome = OTLP_RETRY;
		a->retry_after_ns = retry_after_ns(e->retry_after);
	} else {
		/* 400 and the other 4xx; 500 (Pyroscope's conversion
		 * errors) and every other 5xx; redirects, which are not
		 * followed. */
		a->outcome = OTLP_PERMANENT;
	}
}

static int attempt_kind(const struct otlp_attempt *a)
{
	if (a->code != CURLE_OK)
		return OTLP_KIND_CURL + (int)a->code;
	/* RESOURCE_EXHAUSTED is retried or dropped as RetryInfo says: a
	 * drop is its own kind, logged even after a retried one. */
	if (a->grpc_status >= 0)
		return OTLP_KIND_GRPC + a->grpc_status +
		       (a->outcome == OTLP_PERMANENT ? 100 : 0);
	return (int)a->status;
}

/* Whether @kind is new in this outage (and so gets its one log line). */
static bool otlp__kind_is_new(struct otlp_http *e, int kind)
{
	size_t i;

	for (i = 0; i < e->nkinds; i++)
		if (e->kinds[i] == kind)
			return false;
	/* Beyond the bound, further kinds go unlogged (still counted). */
	if (e->nkinds == OTLP_MAX_FAILURE_KINDS)
		return false;
	e->kinds[e->nkinds++] = kind;
	return true;
}

static void otlp__log_failure(struct otlp_http *e, const struct otlp_attempt *a)
{
	bool retry = a->outcome == OTLP_RETRY;
	enum tg_log_level level = retry ? TG_LOG_WARN : TG_LOG_ERROR;
	const char *then = retry ? "retrying with backoff" :
				   "request dropped, not retried";

	e->outage_failures++;
	if (!otlp__kind_is_new(e, attempt_kind(a))) {
		if (a->code != CURLE_OK)
			tg_debug(&e->log, "export: %s: failed again: %s",
				 e->url, curl_easy_strerror(a->code));
		else if (a->grpc_status >= 0)
			tg_debug(&e->log,
				 "export: %s: failed again: gRPC status %s",
				 e->url, grpc_code__name(a->grpc_status));
		else
			tg_debug(&e->log, "export: %s: failed again: HTTP %ld",
				 e->url, a->status);
		return;
	}
	if (a->code != CURLE_OK)
		tg_log(&e->log, level, "export: %s: %s (%s); %s", e->url,
		       curl_easy_strerror(a->code),
		       e->errbuf[0] ? e->errbuf : "no detail", then);
	else if (a->grpc_status >= 0)
		tg_log(&e->log, level, "export: %s: gRPC status %d %s%s%s; %s",
		       e->url, a->grpc_status, grpc_code__name(a->grpc_status),
		       e->grpc_message[0] ? ": " : "", e->grpc_message, then);
	else
		tg_log(&e->log, level, "export: %s: HTTP %ld%s%.*s; %s", e->url,
		       a->status, e->snippet_len ? ": " : "",
		       OTLP_MAX_RESPONSE_SNIPPET, e->snippet, then);
}

static void otlp__note_success(struct otlp_http *e)
{
	if (e->nkinds)
		tg_warn(&e->log,
			"export: %s accepts requests again (after %" PRIu64
			" failed attempts)",
			e->url, e->outage_failures);
	e->nkinds = 0;
	e->outage_failures = 0;
}

static bool otlp__stopping(struct otlp_http *e)
{
	bool stopping;

	pthread_mutex_lock(&e->lock);
	stopping = e->stopping;
	pthread_mutex_unlock(&e->lock);
	return stopping;
}

/*
 * Sleeps until @until_ns (monotonic) unless shutdown interferes. When the
 * failed attempt began before shutdown (!@tried_stopping), shutdown ends
 * the sleep (returns true: one more try now, not after the backoff); once
 * shutting down, the sleep ends at the shutdown deadline (returns false:
 * give up).
 */
static bool otlp__backoff_sleep(struct otlp_http *e, uint64_t until_ns,
				bool tried_stopping)
{
	bool ok = true;
	uint64_t now;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		now = mono_ns();
		if (e->stopping && !tried_stopping)
			break;
		if (e->stopping && now >= e->stop_deadline_ns) {
			ok = false;
			break;
		}
		if (now >= until_ns)
			break;
		cond_wait_until(&e->wake, &e->lock,
				e->stopping ?
					min_u64(until_ns, e->stop_deadline_ns) :
					until_ns);
	}
	pthread_mutex_unlock(&e->lock);
	return ok;
}

static void stats_add(struct otlp_http *e, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&e->lock);
	*field += n;
	pthread_mutex_unlock(&e->lock);
}

/* Puts the 5-byte gRPC prefix before *@body (@len bytes), in a new buffer
 * that replaces *@owned (freed). 0, -EMSGSIZE above 4 GiB, -ENOMEM. */
static int grpc_frame(const void **body, size_t *len, void **owned,
		      bool compressed)
{
	uint8_t *framed;

	if (*len > UINT32_MAX)
		return -EMSGSIZE;
	framed = malloc(*len + GRPC_FRAME_PREFIX);
	if (!framed)
		return -ENOMEM;
	grpc_frame__prefix(framed, compressed, (uint32_t)*len);
	memcpy(framed + GRPC_FRAME_PREFIX, *body, *len);
	free(*owned);
	*owned = framed;
	*body = framed;
	*len += GRPC_FRAME_PREFIX;
	return 0;
}

/* One request, with its retries, to its end: sent or dropped (counted). */
static void otlp__deliver(struct otlp_http *e, const void *req, size_t req_len)
{
	struct curl_slist *hdrs = e->hdrs_plain;
	uint64_t start = mono_ns(), wait, now;
	void *packed = NULL;
	const void *body = req;
	struct otlp_attempt a;
	size_t len = req_len;
	uint32_t failures = 0;
	bool tried_stopping;
	int err;

	if (e->gzip) {
		err = gzip__compress(req, req_len, &packed, &len);
		if (!err) {
			body = packed;
			hdrs = e->hdrs_gzip;
		} else {
			tg_debug(
				&e->log,
				"export: gzip failed (%s), sending uncompressed",
				strerror(-err));
			len = req_len;
		}
	}
	if (e->grpc) {
		err = grpc_frame(&body, &len, &packed, hdrs == e->hdrs_gzip);
		if (err) {
			tg_err(&e->log,
			       "export: %s: cannot frame a request of %zu bytes (%s); dropped",
			       e->url, len, strerror(-err));
			stats_add(e, &e->stats.dropped_permanent, 1);
			free(packed);
			return;
		}
	}
	for (;;) {
		tried_stopping = otlp__stopping(e);
		otlp__attempt(e, body, len, hdrs, &a);
		if (a.outcome == OTLP_SENT) {
			pthread_mutex_lock(&e->lock);
			e->stats.sent++;
			e->stats.bytes_sent += len;
			pthread_mutex_unlock(&e->lock);
			otlp__note_success(e);
			break;
		}
		if (a.outcome == OTLP_ABORTED) {
			stats_add(e, &e->stats.dropped_shutdown, 1);
			break;
		}
		otlp__log_failure(e, &a);
		if (a.outcome == OTLP_PERMANENT) {
			stats_add(e, &e->stats.dropped_permanent, 1);
			break;
		}
		wait = a.retry_after_ns ?
			       min_u64(a.retry_after_ns, e->retry_max_ns) :
			       backoff__wait(e->retry_initial_ns,
					     e->retry_max_ns, failures,
					     rand64__next(&e->rng));
		failures++;
		now = mono_ns();
		if (sat_add(now, wait) - start > e->retry_max_elapsed_ns) {
			if (otlp__kind_is_new(e, OTLP_KIND_EXHAUSTED))
				tg_err(&e->log,
				       "export: %s: gave up on a request after %.1f s of retries; dropped",
				       e->url, (double)(now - start) / 1e9);
			stats_add(e, &e->stats.dropped_retries_exhausted, 1);
			break;
		}
		if (!otlp__backoff_sleep(e, sat_add(now, wait),
					 tried_stopping)) {
			stats_add(e, &e->stats.dropped_shutdown, 1);
			break;
		}
		stats_add(e, &e->stats.retries, 1);
	}
	free(packed);
}

static void *otlp__sender(void *arg)
{
	struct otlp_http *e = arg;
	size_t len;
	void *req;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!queue__len(e->queue) && !e->stopping)
			pthread_cond_wait(&e->wake, &e->lock);
		if (!queue__len(e->queue))
			break;
		if (e->stopping && mono_ns() >= e->stop_deadline_ns)
			break;
		req = queue__pop(e->queue, &len);
		e->busy = true;
		pthread_mutex_unlock(&e->lock);

		otlp__deliver(e, req, len);
		free(req);

		pthread_mutex_lock(&e->lock);
		e->busy = false;
		pthread_cond_broadcast(&e->idle);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ---- Lifecycle ---- */

static int otlp__setup_curl(struct otlp_http *e, const struct otlp_http_opts *o)
{
	uint64_t connect_ns = o->connect_timeout_ns ?:
				      OTLP_DEFAULT_CONNECT_TIMEOUT_NS;
	uint64_t request_ns = o->request_timeout_ns ?:
				      OTLP_DEFAULT_REQUEST_TIMEOUT_NS;
	CURL *c;
	int bad = 0;

	e->curl = curl_easy_init();
	e->multi = curl_multi_init();
	if (!e->curl || !e->multi)
		return -ENOMEM;
	c = e->curl;
	bad |= curl_easy_setopt(c, CURLOPT_URL, e->url);
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	bad |= curl_easy_setopt(c, CURLOPT_POST, 1L);
	if (e->grpc)
		/* h2c without an upgrade round trip, or ALPN h2 over TLS */
		bad |= curl_easy_setopt(
			c, CURLOPT_HTTP_VERSION,
			strncasecmp(e->url, "https:", 6) ?
				(long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE :
				(long)CURL_HTTP_VERSION_2TLS);
	/* One connection per request for gRPC: libcurl 7.88 (Debian 12)
	 * fails the second stream on a kept HTTP/2 connection with "Error
	 * in the HTTP2 framing layer" before sending it (the curl tool
	 * does the same with --next). A request per report interval makes
	 * the extra handshake cheap. */
	if (e->grpc)
		bad |= curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	/* Threads: no signals (alarm-based DNS timeouts) */
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "tgprof/" TGPROF_VERSION);
	bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
				(long)min_u64(connect_ns / NSEC_PER_MSEC ?: 1,
					      LONG_MAX));
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
				(long)min_u64(request_ns / NSEC_PER_MSEC ?: 1,
					      LONG_MAX));
	bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->errbuf);
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, otlp__on_body);
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, e);
	bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, otlp__on_header);
	bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, e);
	if (o->ca_file)
		bad |= curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if (o->cert_file)
		bad |= curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert_file);
	if (o->key_file)
		bad |= curl_easy_setopt(c, CURLOPT_SSLKEY, o->key_file);
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER,
				o->insecure_skip_verify ? 0L : 1L);
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST,
				o->insecure_skip_verify ? 0L : 2L);
	if (bad) {
		tg_err(&e->log, "export: libcurl rejected an option (%s)",
		       e->errbuf[0] ? e->errbuf : "built without a feature?");
		return -EINVAL;
	}
	return 0;
}

static void otlp__destroy(struct otlp_http *e)
{
	queue__free(e->queue);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->hdrs_gzip);
	curl_slist_free_all(e->hdrs_plain);
	free(e->url);
	pthread_cond_destroy(&e->idle);
	pthread_cond_destroy(&e->wake);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static int otlp__init_sync(struct otlp_http *e)
{
	pthread_condattr_t attr;
	int err;

	err = pthread_mutex_init(&e->lock, NULL);
	if (err)
		return -err;
	err = pthread_condattr_init(&attr);
	if (err)
		goto err_mutex;
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (err)
		goto err_attr;
	err = pthread_cond_init(&e->wake, &attr);
	if (err)
		goto err_attr;
	err = pthread_cond_init(&e->idle, &attr);
	if (err)
		goto err_wake;
	pthread_condattr_destroy(&attr);
	return 0;

err_wake:
	pthread_cond_destroy(&e->wake);
err_attr:
	pthread_condattr_destroy(&attr);
err_mutex:
	pthread_mutex_destroy(&e->lock);
	return -err;
}

struct otlp_http *otlp_http__new(const struct otlp_http_opts *opts,
				 const struct tg_logger *log)
{
	struct otlp_http *e = NULL;
	struct otlp_http_opts o;
	int err;

	/* An older caller's smaller struct: the fields it lacks are 0 (an
	 * endpoint it lacks is refused below). */
	if (!opts || opts__copy(&o, sizeof(o), opts)) {
		tg_err(log, "export: options missing or of an unknown size");
		errno = EINVAL;
		return NULL;
	}
	if (o.nheaders > OTLP_HTTP_MAX_HEADERS || (o.nheaders && !o.headers)) {
		tg_err(log, "export: at most %d extra headers",
		       OTLP_HTTP_MAX_HEADERS);
		errno = EINVAL;
		return NULL;
	}
	if (o.queue_size > OTLP_MAX_QUEUE_SIZE) {
		tg_err(log, "export: queue size %" PRIu32 " is above %d",
		       o.queue_size, OTLP_MAX_QUEUE_SIZE);
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&otlp_curl_once, otlp__curl_global_init);
	if (otlp_curl_init_result != CURLE_OK) {
		tg_err(log, "export: libcurl failed to initialize: %s",
		       curl_easy_strerror(otlp_curl_init_result));
		errno = EIO;
		return NULL;
	}

	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	err = otlp__init_sync(e);
	if (err) {
		free(e);
		errno = -err;
		return NULL;
	}
	if (log)
		e->log = *log;
	e->gzip = o.gzip;
	e->grpc = o.grpc;
	e->retry_initial_ns = o.retry_initial_ns ?:
						   OTLP_DEFAULT_RETRY_INITIAL_NS;
	e->retry_max_ns = o.retry_max_ns ?: OTLP_DEFAULT_RETRY_MAX_NS;
	if (e->retry_max_ns < e->retry_initial_ns)
		e->retry_max_ns = e->retry_initial_ns;
	e->retry_max_elapsed_ns = o.retry_max_elapsed_ns ?:
					  OTLP_DEFAULT_RETRY_MAX_ELAPSED_NS;
	rand64__init(&e->rng, 0);

	err = -EINVAL;
	e->url = otlp__build_url(o.endpoint, o.grpc, o.insecure, log);
	if (!e->url)
		goto err_free;
	err = otlp__check_tls(&o, e->url, log);
	if (err)
		goto err_free;
	err = otlp__build_headers(&e->hdrs_plain, &o, false, log);
	if (err)
		goto err_free;
	err = otlp__build_headers(&e->hdrs_gzip, &o, true, log);
	if (err)
		goto err_free;
	e->queue = queue__new(o.queue_size ?: OTLP_DEFAULT_QUEUE_SIZE);
	if (!e->queue) {
		err = -errno;
		goto err_free;
	}
	err = otlp__setup_curl(e, &o);
	if (err)
		goto err_free;
	err = -pthread_create(&e->thread, NULL, otlp__sender, e);
	if (err) {
		tg_err(log, "export: cannot start the sender thread: %s",
		       strerror(-err));
		goto err_free;
	}
	e->thread_started = true;
	return e;

err_free:
	otlp__destroy(e);
	errno = -err;
	return NULL;
}

int otlp_http__submit(struct otlp_http *e, const void *req, size_t len)
{
	void *copy, *old;

	if (!e || (!req && len))
		return -EINVAL;
	/* An empty request is still one (a byte, so that it is a buffer). */
	copy = malloc(len ?: 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, req, len);

	pthread_mutex_lock(&e->lock);
	queue__push(e->queue, copy, len, &old);
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->lock);
	/* A large request is freed outside the lock. */
	free(old);
	return 0;
}

int otlp_http__flush(struct otlp_http *e, uint64_t timeout_ns)
{
	uint64_t deadline = sat_add(mono_ns(), timeout_ns);
	int err = 0;

	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	while (queue__len(e->queue) || e->busy) {
		if (mono_ns() >= deadline) {
			err = -ETIMEDOUT;
			break;
		}
		cond_wait_until(&e->idle, &e->lock, deadline);
	}
	pthread_mutex_unlock(&e->lock);
	return err;
}

/* The exporter's counts and its queue's; @e->lock held, or the sender
 * stopped. */
static void otlp__stats_locked(const struct otlp_http *e,
			       struct otlp_http_stats *ret)
{
	struct queue_stats qs;

	queue__stats(e->queue, &qs);
	*ret = e->stats;
	ret->enqueued = qs.pushed;
	ret->dropped_queue_full = qs.dropped[QUEUE_DROP_FULL];
	ret->dropped_shutdown += qs.dropped[QUEUE_DROP_SHUTDOWN];
	ret->queued = qs.len + (e->busy ? 1 : 0);
}

void otlp_http__stats(const struct otlp_http *e, struct otlp_http_stats *ret)
{
	struct otlp_http *m = (struct otlp_http *)e; /* the lock only */

	if (!e) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	pthread_mutex_lock(&m->lock);
	otlp__stats_locked(e, ret);
	pthread_mutex_unlock(&m->lock);
}

int otlp_http__shutdown(struct otlp_http *e, uint64_t timeout_ns)
{
	struct otlp_http_stats s;
	bool joined = false;

	if (!e)
		return 0;
	if (e->thread_started) {
		pthread_mutex_lock(&e->lock);
		e->stopping = true;
		e->stop_deadline_ns = sat_add(mono_ns(), timeout_ns);
		pthread_cond_broadcast(&e->wake);
		pthread_mutex_unlock(&e->lock);
		/* out of curl_multi_poll() in the middle of a transfer */
		curl_multi_wakeup(e->multi);
		pthread_join(e->thread, NULL);
		e->thread_started = false;
		joined = true;
	}
	pthread_mutex_lock(&e->lock);
	/* The thread counted what it aborted; the rest never left. */
	queue__drop_all(e->queue, QUEUE_DROP_SHUTDOWN);
	otlp__stats_locked(e, &s);
	pthread_mutex_unlock(&e->lock);
	if (joined && s.dropped_shutdown)
		tg_warn(&e->log,
			"export: %s: dropped %" PRIu64
			" unsent requests at shutdown",
			e->url, s.dropped_shutdown);
	return s.dropped_shutdown ? -ETIMEDOUT : 0;
}

void otlp_http__free(struct otlp_http *e, uint64_t timeout_ns)
{
	if (!e)
		return;
	otlp_http__shutdown(e, timeout_ns);
	otlp__destroy(e);
}

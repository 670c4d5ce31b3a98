// SPDX-License-Identifier: Apache-2.0
/* The OTLP/HTTP exporter against a scripted fake collector: a thread on
 * 127.0.0.1 that answers each request as the test says (a status, a hang,
 * a reset mid-body, a held response) and records what arrived. Tests wait
 * on the server's counters, the exporter's flush and the log, never on
 * bare sleeps. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "exporter/otlp_http.h"
#include "lib/clock.h"

#define MS (1000ULL * 1000ULL)

/* ---- The fake collector ---- */

enum fake_act {
	FAKE_REPLY, /* answer with .status */
	FAKE_HANG, /* read the request, never answer */
	FAKE_RESET, /* read part of the body, then reset the connection */
	FAKE_GATE, /* read the request, answer 200 once the gate opens */
};

struct fake_step {
	enum fake_act act;
	int status;
	const char *headers; /* extra response header lines, each "...\r\n" */
	const char *body;
	int retry_after_date_s; /* > 0: "Retry-After: <HTTP date now + s>" */
};

#define FAKE_MAX_REQS 64
#define FAKE_MAX_HEAD 16384
#define FAKE_MAX_BODY (8 * 1024 * 1024)

struct fake_req {
	char method[16];
	char path[256];
	char head[FAKE_MAX_HEAD + 2]; /* + the last "\r\n" */
	unsigned char *body;
	size_t body_len;
	bool complete; /* the whole body arrived */
	int answered; /* status sent, 0: none */
	uint64_t at_ns; /* monotonic, when the request head arrived */
};

struct fake_server {
	int lfd;
	uint16_t port;
	int wake[2];
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const struct fake_step *script;
	size_t nscript; /* request i gets script[i]; after the script, 200 */
	struct fake_req reqs[FAKE_MAX_REQS];
	size_t nreqs;
	bool gate_open;
};

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Reads what is there (up to @n); 0 at EOF, -1 on error or server stop. */
static ssize_t fake_read(struct fake_server *fs, int fd, void *buf, size_t n)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = fs->wake[0], .events = POLLIN } };

	if (poll(p, 2, -1) < 0 || p[1].revents)
		return -1;
	return read(fd, buf, n);
}

static size_t content_length(const char *head)
{
	const char *p = head;

	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, "Content-Length:", 15))
			return strtoull(p + 15, NULL, 10);
	}
	return 0;
}

static void fake_respond(int fd, const struct fake_step *st)
{
	const char *body = st->body ? st->body : "";
	char date[128] = "", buf[4096];
	int n;

	if (st->retry_after_date_s > 0) {
		time_t t = time(NULL) + st->retry_after_date_s;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(date, sizeof(date),
			 "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
	}
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 %d Scripted\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: close\r\n"
		     "%s%s\r\n%s",
		     st->status, strlen(body), st->headers ? st->headers : "",
		     date, body);
	if (write(fd, buf, (size_t)n) < 0)
		return; /* the client gave up: what the test looks at */
}

/* Reads one request on @fd and acts on it as the script says. */
static void fake_serve(struct fake_server *fs, int fd)
{
	static const struct fake_step ok = { .act = FAKE_REPLY, .status = 200 };
	char head[FAKE_MAX_HEAD] = "";
	size_t hlen = 0, want, got, limit;
	const struct fake_step *st;
	unsigned char *body;
	struct fake_req *r;
	char *end = NULL;
	ssize_t n;
	size_t idx;

	while (!end && hlen < sizeof(head) - 1) {
		n = fake_read(fs, fd, head + hlen, sizeof(head) - 1 - hlen);
		if (n <= 0)
			return;
		hlen += (size_t)n;
		head[hlen] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (!end)
		return;

	pthread_mutex_lock(&fs->lock);
	idx = fs->nreqs;
	if (idx == FAKE_MAX_REQS) {
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	r = &fs->reqs[idx];
	st = idx < fs->nscript ? &fs->script[idx] : &ok;
	pthread_mutex_unlock(&fs->lock);

	want = content_length(head);
	if (want > FAKE_MAX_BODY)
		want = FAKE_MAX_BODY;
	body = malloc(want + 1);
	cr_assert_not_null(body);
	got = hlen - (size_t)(end + 4 - head);
	if (got > want)
		got = want;
	memcpy(body, end + 4, got);
	limit = st->act == FAKE_RESET ? (want < 8192 ? want / 2 : 8192) : want;
	while (got < limit) {
		n = fake_read(fs, fd, body + got, limit - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*end = '\0';

	pthread_mutex_lock(&fs->lock);
	sscanf(head, "%15s %255s", r->method, r->path);
	snprintf(r->head, sizeof(r->head), "%s\r\n", head);
	r->body = body;
	r->body_len = got;
	r->complete = got == want;
	r->at_ns = now_ns();
	fs->nreqs++;
	pthread_cond_broadcast(&fs->cond);
	pthread_mutex_unlock(&fs->lock);

	switch (st->act) {
	case FAKE_REPLY:
		break;
	case FAKE_RESET: {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		return;
	}
	case FAKE_HANG:
		/* until the client gives up or the server stops */
		while (fake_read(fs, fd, head, sizeof(head)) > 0)
			;
		return;
	case FAKE_GATE:
		pthread_mutex_lock(&fs->lock);
		while (!fs->gate_open)
			pthread_cond_wait(&fs->cond, &fs->lock);
		pthread_mutex_unlock(&fs->lock);
		st = &ok;
		break;
	}
	fake_respond(fd, st);
	pthread_mutex_lock(&fs->lock);
	r->answered = st->status;
	pthread_cond_broadcast(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
}

static void *fake_main(void *arg)
{
	struct fake_server *fs = arg;
	struct pollfd p[2] = { { .fd = fs->lfd, .events = POLLIN },
			       { .fd = fs->wake[0], .events = POLLIN } };
	int fd;

	for (;;) {
		if (poll(p, 2, -1) < 0 || p[1].revents)
			break;
		fd = accept4(fs->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		fake_serve(fs, fd);
		close(fd);
	}
	return NULL;
}

static void fake_init(struct fake_server *fs, const struct fake_step *script,
		      size_t nscript)
{
	pthread_condattr_t attr;

	memset(fs, 0, sizeof(*fs));
	fs->lfd = -1;
	fs->script = script;
	fs->nscript = nscript;
	cr_assert_eq(pipe2(fs->wake, O_CLOEXEC), 0);
	pthread_mutex_init(&fs->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&fs->cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* Listens on 127.0.0.1:@port (0: any free port) and starts serving. */
static void fake_listen(struct fake_server *fs, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(port) };
	socklen_t slen = sizeof(sa);
	int one = 1;

	fs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fs->lfd, 0);
	setsockopt(fs->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fs->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0,
		     "bind 127.0.0.1:%u: %s", port, strerror(errno));
	cr_assert_eq(listen(fs->lfd, 16), 0);
	cr_assert_eq(getsockname(fs->lfd, (struct sockaddr *)&sa, &slen), 0);
	fs->port = ntohs(sa.sin_port);
	cr_assert_eq(pthread_create(&fs->thread, NULL, fake_main, fs), 0);
	fs->started = true;
}

static void fake_start(struct fake_server *fs, const struct fake_step *script,
		       size_t nscript)
{
	fake_init(fs, script, nscript);
	fake_listen(fs, 0);
}

static void fake_stop(struct fake_server *fs)
{
	size_t i;

	if (write(fs->wake[1], "x", 1) != 1)
		cr_assert_fail("cannot stop the fake server");
	pthread_mutex_lock(&fs->lock);
	fs->gate_open = true;
	pthread_cond_broadcast(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
	if (fs->started)
		pthread_join(fs->thread, NULL);
	if (fs->lfd >= 0)
		close(fs->lfd);
	close(fs->wake[0]);
	close(fs->wake[1]);
	for (i = 0; i < fs->nreqs; i++)
		free(fs->reqs[i].body);
}

static void fake_open_gate(struct fake_server *fs)
{
	pthread_mutex_lock(&fs->lock);
	fs->gate_open = true;
	pthread_cond_broadcast(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
}

/* Waits until @n requests arrived; false after @timeout_ms. */
static bool fake_wait_reqs(struct fake_server *fs, size_t n, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * MS;
	struct timespec ts = { .tv_sec = (time_t)(deadline / NSEC_PER_SEC),
			       .tv_nsec = (long)(deadline % NSEC_PER_SEC) };
	bool ok;

	pthread_mutex_lock(&fs->lock);
	while (fs->nreqs < n &&
	       pthread_cond_timedwait(&fs->cond, &fs->lock, &ts) != ETIMEDOUT)
		;
	ok = fs->nreqs >= n;
	pthread_mutex_unlock(&fs->lock);
	return ok;
}

static size_t fake_nreqs(struct fake_server *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = fs->nreqs;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

/* The value of header @name in @r, in @buf; false when absent. */
static bool req_header(const struct fake_req *r, const char *name, char *buf,
		       size_t len)
{
	const char *p = r->head, *end;
	size_t nlen = strlen(name), vlen;

	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (strncasecmp(p, name, nlen) || p[nlen] != ':')
			continue;
		p += nlen + 1;
		while (*p == ' ')
			p++;
		end = strstr(p, "\r\n");
		vlen = (size_t)(end - p);
		if (vlen >= len)
			vlen = len - 1;
		memcpy(buf, p, vlen);
		buf[vlen] = '\0';
		return true;
	}
	return false;
}

/* ---- A logger that keeps what it is told ---- */

#define TLOG_MAX 256

struct test_log {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char lines[TLOG_MAX][512];
	enum tg_log_level levels[TLOG_MAX];
	size_t n;
	struct tg_logger logger;
};

static void tlog_fn(void *ctx, enum tg_log_level level, const char *msg)
{
	struct test_log *tl = ctx;

	pthread_mutex_lock(&tl->lock);
	if (tl->n < TLOG_MAX) {
		snprintf(tl->lines[tl->n], sizeof(tl->lines[0]), "%s", msg);
		tl->levels[tl->n++] = level;
	}
	pthread_cond_broadcast(&tl->cond);
	pthread_mutex_unlock(&tl->lock);
}

static void tlog_init(struct test_log *tl)
{
	pthread_condattr_t attr;

	memset(tl, 0, sizeof(*tl));
	pthread_mutex_init(&tl->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&tl->cond, &attr);
	pthread_condattr_destroy(&attr);
	tl->logger.fn = tlog_fn;
	tl->logger.ctx = tl;
	/* Debug lines too: tests wait on "failed again" to know that the
	 * exporter retried; the assertions count warnings and errors only. */
	tl->logger.max_level = TG_LOG_DEBUG;
}

/* Lines at @max_level or more severe that contain @needle (NULL: any). */
static size_t tlog_count(struct test_log *tl, enum tg_log_level max_level,
			 const char *needle)
{
	size_t i, n = 0;

	pthread_mutex_lock(&tl->lock);
	for (i = 0; i < tl->n; i++)
		if (tl->levels[i] <= max_level &&
		    (!needle || strstr(tl->lines[i], needle)))
			n++;
	pthread_mutex_unlock(&tl->lock);
	return n;
}

static bool tlog_wait(struct test_log *tl, enum tg_log_level max_level,
		      const char *needle, size_t n, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * MS;
	struct timespec ts = { .tv_sec = (time_t)(deadline / NSEC_PER_SEC),
			       .tv_nsec = (long)(deadline % NSEC_PER_SEC) };

	while (tlog_count(tl, max_level, needle) < n) {
		pthread_mutex_lock(&tl->lock);
		if (pthread_cond_timedwait(&tl->cond, &tl->lock, &ts) ==
		    ETIMEDOUT) {
			pthread_mutex_unlock(&tl->lock);
			return tlog_count(tl, max_level, needle) >= n;
		}
		pthread_mutex_unlock(&tl->lock);
	}
	return true;
}

static void tlog_dump(struct test_log *tl)
{
	size_t i;

	pthread_mutex_lock(&tl->lock);
	for (i = 0; i < tl->n; i++)
		fprintf(stderr, "  log[%zu] %s: %s\n", i,
			tg_log_level_name(tl->levels[i]), tl->lines[i]);
	pthread_mutex_unlock(&tl->lock);
}

/* ---- Helpers ---- */

/* Small waits, so retries happen within a test's time. */
static struct otlp_http_opts test_opts(char *url, size_t len, uint16_t port)
{
	struct otlp_http_opts o = {
		.sz = sizeof(o),
		.endpoint = url,
		.connect_timeout_ns = 1000 * MS,
		.request_timeout_ns = 3000 * MS,
		.retry_initial_ns = 10 * MS,
		.retry_max_ns = 100 * MS,
		.retry_max_elapsed_ns = 10000 * MS,
	};

	snprintf(url, len, "http://127.0.0.1:%u", port);
	/* Loopback only, whatever proxy the environment names. */
	setenv("NO_PROXY", "*", 1);
	return o;
}

static struct otlp_http *new_exporter(const struct otlp_http_opts *o,
				      struct test_log *tl)
{
	struct otlp_http *e = otlp_http__new(o, &tl->logger);

	if (!e)
		tlog_dump(tl);
	cr_assert_not_null(e, "otlp_http__new: %s", strerror(errno));
	return e;
}

static struct otlp_http_stats stats_of(struct otlp_http *e)
{
	struct otlp_http_stats s;

	otlp_http__stats(e, &s);
	return s;
}

static void flush_ok(struct otlp_http *e, struct test_log *tl)
{
	int err = otlp_http__flush(e, 10000 * MS);

	if (err)
		tlog_dump(tl);
	cr_assert_eq(err, 0, "flush: %s", strerror(-err));
}

static void submit_str(struct otlp_http *e, const char *s)
{
	cr_assert_eq(otlp_http__submit(e, s, strlen(s)), 0);
}

static bool body_is(const struct fake_req *r, const char *s)
{
	return r->complete && r->body_len == strlen(s) &&
	       !memcmp(r->body, s, r->body_len);
}

/* A port nothing listens on (bound, then released). */
static uint16_t unused_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static unsigned char *gunzip(const unsigned char *in, size_t len,
			     size_t *ret_len)
{
	size_t cap = len * 1032 + 1024; /* deflate's best ratio */
	unsigned char *out = malloc(cap);
	z_stream zs = { 0 };

	cr_assert_not_null(out);
	cr_assert_eq(inflateInit2(&zs, 31), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END, "not gzip");
	*ret_len = zs.total_out;
	inflateEnd(&zs);
	return out;
}

#define REPLY(s)                               \
	{                                      \
		.act = FAKE_REPLY, .status = s \
	}

/* ---- Delivery ---- */

Test(otlp_http, success_posts_gzip_protobuf_with_extra_headers, .timeout = 30)
{
	static const struct otlp_http_header hdrs[] = {
		{ "X-Scope-OrgID", "tenant-1" },
		{ "Authorization", "Bearer s3cret" },
	};
	unsigned char payload[4096];
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	struct fake_req *r;
	unsigned char *plain;
	size_t i, plen;
	char url[64], v[256];

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (unsigned char)(i * 7 % 13); /* compressible */
	tlog_init(&tl);
	fake_start(&fs, NULL, 0);
	o = test_opts(url, sizeof(url), fs.port);
	o.gzip = true;
	o.headers = hdrs;
	o.nheaders = 2;
	e = new_exporter(&o, &tl);

	cr_assert_eq(otlp_http__submit(e, payload, sizeof(payload)), 0);
	flush_ok(e, &tl);
	s = stats_of(e);
	cr_assert_eq(fake_nreqs(&fs), 1);
	r = &fs.reqs[0];
	cr_assert_str_eq(r->method, "POST");
	cr_assert_str_eq(r->path, "/v1development/profiles");
	cr_assert(req_header(r, "Content-Type", v, sizeof(v)));
	cr_assert_str_eq(v, "application/x-protobuf");
	cr_assert(req_header(r, "Content-Encoding", v, sizeof(v)));
	cr_assert_str_eq(v, "gzip");
	cr_assert(req_header(r, "X-Scope-OrgID", v, sizeof(v)));
	cr_assert_str_eq(v, "tenant-1");
	cr_assert(req_header(r, "Authorization", v, sizeof(v)));
	cr_assert_str_eq(v, "Bearer s3cret");
	cr_assert(req_header(r, "User-Agent", v, sizeof(v)));
	cr_assert(!strncmp(v, "tgprof/", 7), "User-Agent: %s", v);
	cr_assert(!req_header(r, "Expect", v, sizeof(v)));
	cr_assert(r->complete);
	cr_assert_lt(r->body_len, sizeof(payload), "not compressed");
	plain = gunzip(r->body, r->body_len, &plen);
	cr_assert_eq(plen, sizeof(payload));
	cr_assert_eq(memcmp(plain, payload, plen), 0);
	free(plain);

	cr_assert_eq(s.enqueued, 1);
	cr_assert_eq(s.sent, 1);
	cr_assert_eq(s.bytes_sent, r->body_len, "bytes on the wire");
	cr_assert_eq(s.retries, 0);
	cr_assert_eq(s.queued, 0);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, NULL), 0);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

Test(otlp_http, plain_body_keeps_the_endpoint_path_prefix, .timeout = 30)
{
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64], ep[96], v[64];

	tlog_init(&tl);
	fake_start(&fs, NULL, 0);
	o = test_opts(url, sizeof(url), fs.port);
	snprintf(ep, sizeof(ep), "%s/otlp/", url);
	o.endpoint = ep;
	e = new_exporter(&o, &tl);

	submit_str(e, "profile bytes");
	flush_ok(e, &tl);
	cr_assert_eq(fake_nreqs(&fs), 1);
	cr_assert_str_eq(fs.reqs[0].path, "/otlp/v1development/profiles");
	cr_assert(!req_header(&fs.reqs[0], "Content-Encoding", v, sizeof(v)));
	cr_assert(body_is(&fs.reqs[0], "profile bytes"));
	cr_assert_eq(stats_of(e).bytes_sent, strlen("profile bytes"));
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

Test(otlp_http, shutdown_sends_what_is_still_queued, .timeout = 30)
{
	static const struct fake_step script[] = { { .act = FAKE_GATE } };
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 1);
	o = test_opts(url, sizeof(url), fs.port);
	e = new_exporter(&o, &tl);
	submit_str(e, "one");
	cr_assert(fake_wait_reqs(&fs, 1, 5000));
	submit_str(e, "two");
	submit_str(e, "three");
	fake_open_gate(&fs);
	otlp_http__free(e, 10000 * MS);

	cr_assert_eq(fake_nreqs(&fs), 3);
	cr_assert(body_is(&fs.reqs[0], "one"));
	cr_assert(body_is(&fs.reqs[1], "two"));
	cr_assert(body_is(&fs.reqs[2], "three"));
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, NULL), 0);
	fake_stop(&fs);
}

/* ---- What is not retried ---- */

Test(otlp_http, client_errors_are_dropped_without_retry, .timeout = 30)
{
	static const struct fake_step script[] = { REPLY(400), REPLY(404),
						   REPLY(413), REPLY(400) };
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 4);
	o = test_opts(url, sizeof(url), fs.port);
	e = new_exporter(&o, &tl);
	submit_str(e, "a");
	submit_str(e, "b");
	submit_str(e, "c");
	submit_str(e, "d");
	submit_str(e, "sentinel"); /* FIFO: it arrives after the others end */
	flush_ok(e, &tl);
	s = stats_of(e);

	cr_assert_eq(fake_nreqs(&fs), 5, "a refused request was retried");
	cr_assert(body_is(&fs.reqs[4], "sentinel"));
	cr_assert_eq(s.dropped_permanent, 4);
	cr_assert_eq(s.retries, 0);
	cr_assert_eq(s.sent, 1);
	/* One line per distinct failure: the second 400 adds none. */
	cr_assert_eq(tlog_count(&tl, TG_LOG_ERROR, "HTTP 400"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_ERROR, "HTTP 404"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_ERROR, "HTTP 413"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_ERROR, "not retried"), 3);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "accepts requests again"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, NULL), 4);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

Test(otlp_http, server_error_500_is_dropped_and_logged, .timeout = 30)
{
	static const struct fake_step script[] = {
		{ .act = FAKE_REPLY,
		  .status = 500,
		  .body = "failed to convert profile: bad mapping index" },
	};
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 1);
	o = test_opts(url, sizeof(url), fs.port);
	e = new_exporter(&o, &tl);
	submit_str(e, "a");
	submit_str(e, "sentinel");
	flush_ok(e, &tl);
	s = stats_of(e);

	cr_assert_eq(fake_nreqs(&fs), 2, "a 500 was retried");
	cr_assert_eq(s.dropped_permanent, 1);
	cr_assert_eq(s.retries, 0);
	cr_assert_eq(s.sent, 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_ERROR, "HTTP 500"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_ERROR, "bad mapping index"), 1,
		     "the response body is not in the log line");
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

/* ---- What is retried ---- */

Test(otlp_http, unavailable_503_honours_retry_after_then_arrives_once,
     .timeout = 30)
{
	static const struct fake_step script[] = {
		{ .act = FAKE_REPLY,
		  .status = 503,
		  .headers = "Retry-After: 1\r\n" },
	};
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	uint64_t gap;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 1);
	o = test_opts(url, sizeof(url), fs.port);
	o.retry_max_ns = 5000 * MS;
	e = new_exporter(&o, &tl);
	submit_str(e, "payload");
	flush_ok(e, &tl);
	s = stats_of(e);

	cr_assert_eq(fake_nreqs(&fs), 2);
	cr_assert_eq(fs.reqs[0].answered, 503);
	cr_assert_eq(fs.reqs[1].answered, 200);
	cr_assert(body_is(&fs.reqs[1], "payload"));
	gap = fs.reqs[1].at_ns - fs.reqs[0].at_ns;
	/* 10 ms of backoff unless Retry-After: 1 is honoured */
	cr_assert_geq(gap, 900 * MS, "retried after %llu ms",
		      (unsigned long long)(gap / MS));
	cr_assert_lt(gap, 3000 * MS, "retried after %llu ms",
		     (unsigned long long)(gap / MS));
	cr_assert_eq(s.retries, 1);
	cr_assert_eq(s.sent, 1);
	cr_assert_eq(s.dropped_permanent + s.dropped_retries_exhausted, 0);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "HTTP 503"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "accepts requests again"), 1);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

Test(otlp_http, too_many_requests_429_honours_an_http_date, .timeout = 30)
{
	static const struct fake_step script[] = {
		{ .act = FAKE_REPLY, .status = 429, .retry_after_date_s = 2 },
	};
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	uint64_t gap;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 1);
	o = test_opts(url, sizeof(url), fs.port);
	o.retry_max_ns = 5000 * MS;
	e = new_exporter(&o, &tl);
	submit_str(e, "payload");
	flush_ok(e, &tl);

	cr_assert_eq(fake_nreqs(&fs), 2);
	cr_assert(body_is(&fs.reqs[1], "payload"));
	gap = fs.reqs[1].at_ns - fs.reqs[0].at_ns;
	/* A date 2 s ahead, to the second: at least 1 s away. */
	cr_assert_geq(gap, 900 * MS, "retried after %llu ms",
		      (unsigned long long)(gap / MS));
	cr_assert_lt(gap, 4000 * MS);
	cr_assert_eq(stats_of(e).sent, 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "HTTP 429"), 1);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

Test(otlp_http, retry_after_is_capped_by_retry_max, .timeout = 30)
{
	static const struct fake_step script[] = {
		{ .act = FAKE_REPLY,
		  .status = 503,
		  .headers = "Retry-After: 3600\r\n" },
	};
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	uint64_t gap;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 1);
	o = test_opts(url, sizeof(url), fs.port);
	o.retry_max_ns = 200 * MS;
	e = new_exporter(&o, &tl);
	submit_str(e, "payload");
	flush_ok(e, &tl);

	cr_assert_eq(fake_nreqs(&fs), 2);
	gap = fs.reqs[1].at_ns - fs.reqs[0].at_ns;
	cr_assert_geq(gap, 150 * MS, "retried after %llu ms",
		      (unsigned long long)(gap / MS));
	cr_assert_lt(gap, 2000 * MS, "Retry-After not capped: %llu ms",
		     (unsigned long long)(gap / MS));
	cr_assert_eq(stats_of(e).sent, 1);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

Test(otlp_http, bad_gateway_and_timeout_statuses_are_retried, .timeout = 30)
{
	static const struct fake_step script[] = { REPLY(502), REPLY(504) };
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 2);
	o = test_opts(url, sizeof(url), fs.port);
	e = new_exporter(&o, &tl);
	submit_str(e, "payload");
	flush_ok(e, &tl);
	s = stats_of(e);

	cr_assert_eq(fake_nreqs(&fs), 3);
	cr_assert(body_is(&fs.reqs[2], "payload"));
	cr_assert_eq(s.retries, 2);
	cr_assert_eq(s.sent, 1);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

Test(otlp_http, refused_connection_recovers_when_the_server_comes_up,
     .timeout = 30)
{
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	uint16_t port = unused_port();
	char url[64];

	tlog_init(&tl);
	fake_init(&fs, NULL, 0);
	o = test_opts(url, sizeof(url), port);
	o.retry_max_ns = 50 * MS;
	e = new_exporter(&o, &tl);
	submit_str(e, "first");
	submit_str(e, "second");
	/* Refused at least three times: one warning, then debug lines. */
	cr_assert(tlog_wait(&tl, TG_LOG_DEBUG, "failed again", 2, 10000));
	fake_listen(&fs, port);
	flush_ok(e, &tl);
	s = stats_of(e);

	cr_assert_eq(fake_nreqs(&fs), 2);
	cr_assert(body_is(&fs.reqs[0], "first"));
	cr_assert(body_is(&fs.reqs[1], "second"));
	cr_assert_eq(s.sent, 2);
	cr_assert_geq(s.retries, 2);
	cr_assert_eq(s.dropped_permanent + s.dropped_retries_exhausted +
			     s.dropped_queue_full,
		     0);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "connect"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "accepts requests again"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, NULL), 2);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

Test(otlp_http, hung_server_times_out_and_is_retried, .timeout = 30)
{
	static const struct fake_step script[] = { { .act = FAKE_HANG } };
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 1);
	o = test_opts(url, sizeof(url), fs.port);
	o.request_timeout_ns = 300 * MS;
	e = new_exporter(&o, &tl);
	submit_str(e, "payload");
	flush_ok(e, &tl);
	s = stats_of(e);

	cr_assert_eq(fake_nreqs(&fs), 2);
	cr_assert_eq(fs.reqs[0].answered, 0);
	cr_assert(body_is(&fs.reqs[1], "payload"));
	cr_assert_eq(s.retries, 1);
	cr_assert_eq(s.sent, 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "imeout"), 1);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

Test(otlp_http, hung_server_does_not_block_shutdown_beyond_its_timeout,
     .timeout = 30)
{
	static const struct fake_step script[] = { { .act = FAKE_HANG } };
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	uint64_t t0, took;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 1);
	o = test_opts(url, sizeof(url), fs.port);
	o.request_timeout_ns = 60000 * MS; /* not what ends the wait */
	e = new_exporter(&o, &tl);
	submit_str(e, "payload");
	submit_str(e, "queued behind it");
	cr_assert(fake_wait_reqs(&fs, 1, 5000));
	cr_assert_eq(otlp_http__flush(e, 100 * MS), -ETIMEDOUT);
	cr_assert_eq(stats_of(e).queued, 2);
	t0 = now_ns();
	otlp_http__free(e, 300 * MS);
	took = now_ns() - t0;

	cr_assert_geq(took, 250 * MS, "gave up after %llu ms",
		      (unsigned long long)(took / MS));
	cr_assert_lt(took, 800 * MS, "shutdown took %llu ms",
		     (unsigned long long)(took / MS));
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "2 unsent requests"), 1);
	fake_stop(&fs);
}

Test(otlp_http, shutdown_cuts_a_backoff_short, .timeout = 30)
{
	static const struct fake_step script[] = { REPLY(503), REPLY(503) };
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	uint64_t t0, took;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 2);
	o = test_opts(url, sizeof(url), fs.port);
	o.retry_initial_ns = 20000 * MS;
	o.retry_max_ns = 20000 * MS;
	o.retry_max_elapsed_ns = 60000 * MS;
	e = new_exporter(&o, &tl);
	submit_str(e, "payload");
	cr_assert(tlog_wait(&tl, TG_LOG_WARN, "HTTP 503", 1, 5000));
	t0 = now_ns();
	otlp_http__free(e, 500 * MS);
	took = now_ns() - t0;

	/* One last try when shutdown began, then nothing until the end. */
	cr_assert_eq(fake_nreqs(&fs), 2);
	cr_assert_lt(took, 1000 * MS, "shutdown took %llu ms",
		     (unsigned long long)(took / MS));
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "1 unsent requests"), 1);
	fake_stop(&fs);
}

Test(otlp_http, reset_mid_body_is_retried, .timeout = 30)
{
	static const struct fake_step script[] = { { .act = FAKE_RESET } };
	size_t len = 512 * 1024, i;
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	unsigned char *big;
	char url[64];

	big = malloc(len);
	cr_assert_not_null(big);
	for (i = 0; i < len; i++)
		big[i] = (unsigned char)(i * 2654435761u >> 13);
	tlog_init(&tl);
	fake_start(&fs, script, 1);
	o = test_opts(url, sizeof(url), fs.port);
	e = new_exporter(&o, &tl);
	cr_assert_eq(otlp_http__submit(e, big, len), 0);
	flush_ok(e, &tl);
	s = stats_of(e);

	cr_assert_eq(fake_nreqs(&fs), 2);
	cr_assert(!fs.reqs[0].complete, "the reset came after the body");
	cr_assert(fs.reqs[1].complete);
	cr_assert_eq(fs.reqs[1].body_len, len);
	cr_assert_eq(memcmp(fs.reqs[1].body, big, len), 0);
	cr_assert_eq(s.retries, 1);
	cr_assert_eq(s.sent, 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "retrying"), 1);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
	free(big);
}

Test(otlp_http, retries_end_at_max_elapsed, .timeout = 30)
{
	static const struct fake_step script[] = {
		REPLY(503), REPLY(503), REPLY(503), REPLY(503), REPLY(503),
		REPLY(503), REPLY(503), REPLY(503), REPLY(503), REPLY(503),
		REPLY(503), REPLY(503), REPLY(503), REPLY(503), REPLY(503),
		REPLY(503), REPLY(503), REPLY(503), REPLY(503), REPLY(503),
		REPLY(503), REPLY(503), REPLY(503), REPLY(503), REPLY(503),
		REPLY(503), REPLY(503), REPLY(503), REPLY(503), REPLY(503),
		REPLY(503), REPLY(503), REPLY(503), REPLY(503), REPLY(503),
		REPLY(503), REPLY(503), REPLY(503), REPLY(503), REPLY(503),
	};
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, sizeof(script) / sizeof(script[0]));
	o = test_opts(url, sizeof(url), fs.port);
	o.retry_initial_ns = 20 * MS;
	o.retry_max_ns = 40 * MS;
	o.retry_max_elapsed_ns = 300 * MS;
	e = new_exporter(&o, &tl);
	submit_str(e, "given up");
	flush_ok(e, &tl);
	s = stats_of(e);

	cr_assert_eq(s.dropped_retries_exhausted, 1);
	cr_assert_eq(s.sent, 0);
	cr_assert_geq(s.retries, 3);
	cr_assert_lt(fake_nreqs(&fs), 40);
	cr_assert_eq(tlog_count(&tl, TG_LOG_ERROR, "gave up"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "HTTP 503"), 1);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

/* ---- The queue ---- */

Test(otlp_http, full_queue_drops_the_oldest_and_keeps_the_newest, .timeout = 30)
{
	static const struct fake_step script[] = { { .act = FAKE_GATE } };
	struct otlp_http_stats s;
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, 1);
	o = test_opts(url, sizeof(url), fs.port);
	o.queue_size = 2;
	e = new_exporter(&o, &tl);
	submit_str(e, "in flight");
	cr_assert(fake_wait_reqs(&fs, 1, 5000));
	/* The sender is held: these wait, and the queue holds two. */
	submit_str(e, "oldest");
	submit_str(e, "middle");
	submit_str(e, "newest");
	s = stats_of(e);
	cr_assert_eq(s.dropped_queue_full, 1);
	cr_assert_eq(s.queued, 3, "two waiting and one in flight");
	cr_assert_eq(otlp_http__flush(e, 50 * MS), -ETIMEDOUT);
	fake_open_gate(&fs);
	flush_ok(e, &tl);
	s = stats_of(e);

	cr_assert_eq(fake_nreqs(&fs), 3);
	cr_assert(body_is(&fs.reqs[0], "in flight"));
	cr_assert(body_is(&fs.reqs[1], "middle"));
	cr_assert(body_is(&fs.reqs[2], "newest"));
	cr_assert_eq(s.enqueued, 4);
	cr_assert_eq(s.sent, 3);
	cr_assert_eq(s.dropped_queue_full, 1);
	cr_assert_eq(s.queued, 0);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

/* ---- The log ---- */

Test(otlp_http, one_log_line_per_distinct_failure_not_per_retry, .timeout = 30)
{
	static const struct fake_step script[] = {
		REPLY(503),
		REPLY(503),
		REPLY(503),
		REPLY(429),
		REPLY(429),
		REPLY(502),
		REPLY(503),
		REPLY(200),
		/* a second outage after the recovery is logged again */
		REPLY(503),
		REPLY(503),
	};
	struct fake_server fs;
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];

	tlog_init(&tl);
	fake_start(&fs, script, sizeof(script) / sizeof(script[0]));
	o = test_opts(url, sizeof(url), fs.port);
	e = new_exporter(&o, &tl);
	submit_str(e, "first");
	flush_ok(e, &tl);
	cr_assert_eq(fake_nreqs(&fs), 8);
	cr_assert_eq(stats_of(e).retries, 7);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "HTTP 503"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "HTTP 429"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "HTTP 502"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "accepts requests again"), 1);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, NULL), 4);

	submit_str(e, "second");
	flush_ok(e, &tl);
	cr_assert_eq(fake_nreqs(&fs), 11);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "HTTP 503"), 2);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, "accepts requests again"), 2);
	cr_assert_eq(tlog_count(&tl, TG_LOG_WARN, NULL), 6);
	otlp_http__free(e, 1000 * MS);
	fake_stop(&fs);
}

/* ---- Configuration ---- */

Test(otlp_http, bad_endpoints_are_rejected_at_creation)
{
	static const struct {
		const char *url;
		const char *why; /* in the log line */
	} bad[] = {
		{ "", "no endpoint" },
		{ "127.0.0.1:4318", "no scheme" },
		{ "localhost:4318", "no scheme" },
		{ "://127.0.0.1:4318", "no scheme" },
		{ "ftp://127.0.0.1:4318", "scheme is not http or https" },
		{ "grpc://127.0.0.1:4317", "scheme is not http or https" },
		{ "http//127.0.0.1:4318", "no scheme" },
		{ "http://", "no host" },
		{ "http:///v1", "no host" },
		{ "http://:4318", "no host" },
		{ "http://127.0.0.1:0", "port is not a number in 1..65535" },
		{ "http://127.0.0.1:65536",
		  "port is not a number in 1..65535" },
		{ "http://127.0.0.1:43a8", "port is not a number in 1..65535" },
		{ "http://127.0.0.1 :4318", "spaces or control characters" },
		{ "http://127.0.0.1:4318/a b", "spaces or control characters" },
		{ " http://127.0.0.1:4318", "spaces or control characters" },
		{ "http://127.0.0.1:4318\n", "spaces or control characters" },
		{ "http://127.0.0.1:4318/?tenant=a",
		  "has a query or a fragment" },
		{ "http://127.0.0.1:4318/#x", "has a query or a fragment" },
		{ "http://user:pw@127.0.0.1:4318", "credentials" },
	};
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tlog_init(&tl);
		o = test_opts(url, sizeof(url), 4318);
		o.endpoint = bad[i].url;
		errno = 0;
		e = otlp_http__new(&o, &tl.logger);
		cr_expect_null(e, "accepted \"%s\"", bad[i].url);
		cr_expect_eq(errno, EINVAL, "\"%s\": %s", bad[i].url,
			     strerror(errno));
		cr_expect_eq(tlog_count(&tl, TG_LOG_ERROR, bad[i].why), 1,
			     "\"%s\": no line saying \"%s\": %s", bad[i].url,
			     bad[i].why, tl.lines[0]);
		otlp_http__free(e, 0);
	}
	o.endpoint = NULL;
	cr_expect_null(otlp_http__new(&o, NULL));
	cr_expect_eq(errno, EINVAL);
}

Test(otlp_http, good_endpoints_are_accepted)
{
	static const char *const good[] = {
		"http://127.0.0.1:4318",
		"https://collector.example:4318",
		"HTTP://LOCALHOST:4318/",
		"http://[::1]:4318",
		"http://127.0.0.1:4318/prefix",
		"http://localhost",
	};
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		tlog_init(&tl);
		o = test_opts(url, sizeof(url), 4318);
		o.endpoint = good[i];
		e = otlp_http__new(&o, &tl.logger);
		cr_expect_not_null(e, "rejected \"%s\": %s", good[i],
				   tl.lines[0]);
		otlp_http__free(e, 0);
	}
}

Test(otlp_http, grpc_endpoints_are_host_port_or_urls_without_a_path)
{
	static const char *const good[] = {
		"127.0.0.1:4317",
		"collector.example:4317",
		"http://127.0.0.1:4317",
		"https://collector.example:4317/",
	};
	static const struct {
		const char *url;
		const char *why;
	} bad[] = {
		{ "http://127.0.0.1:4317/v1", "has a path" },
		{ "127.0.0.1:4317/x", "has a path" },
		{ "ftp://127.0.0.1:4317", "scheme is not http or https" },
		{ "127.0.0.1:0", "port is not a number" },
	};
	static const struct otlp_http_header te = { "TE", "gzip" },
					     gt = { "grpc-timeout", "1S" };
	struct otlp_http_opts o;
	struct test_log tl;
	struct otlp_http *e;
	char url[64];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		tlog_init(&tl);
		o = test_opts(url, sizeof(url), 4317);
		o.grpc = true;
		o.insecure = true;
		o.endpoint = good[i];
		e = otlp_http__new(&o, &tl.logger);
		cr_expect_not_null(e, "rejected \"%s\": %s", good[i],
				   tl.lines[0]);
		otlp_http__free(e, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tlog_init(&tl);
		o = test_opts(url, sizeof(url), 4317);
		o.grpc = true;
		o.insecure = true;
		o.endpoint = bad[i].url;
		errno = 0;
		e = otlp_http__new(&o, &tl.logger);
		cr_expect_null(e, "accepted \"%s\"", bad[i].url);
		cr_expect_eq(errno, EINVAL);
		cr_expect_eq(tlog_count(&tl, TG_LOG_ERROR, bad[i].why), 1,
			     "\"%s\": no line saying \"%s\": %s", bad[i].url,
			     bad[i].why, tl.lines[0]);
		otlp_http__free(e, 0);
	}
	/* gRPC's own headers cannot be given. */
	for (i = 0; i < 2; i++) {
		tlog_init(&tl);
		o = test_opts(url, sizeof(url), 4317);
		o.grpc = true;
		o.headers = i ? &gt : &te;
		o.nheaders = 1;
		cr_expect_null(otlp_http__new(&o, &tl.logger));
		cr_expect_eq(tlog_count(&tl, TG_LOG_ERROR, "set by tgprof"), 1);
	}
}

Test(otlp_http, bad_headers_and_options_are_rejected)
{
	static const struct otlp_http_header bad[][1] = {
		{ { "Bad Name", "x" } },
		{ { "", "x" } },
		{ { "X-Ok", "line\r\nInjected: 1" } },
		{ { "Content-Type", "application/json" } },
		{ { "content-encoding", "zstd" } },
		{ { "X-Ok", NULL } },
	};
	struct otlp_http_header many[OTLP_HTTP_MAX_HEADERS + 1];
	struct otlp_http_opts o;
	struct test_log tl;
	char url[64];
	size_t i;

	tlog_init(&tl);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = test_opts(url, sizeof(url), 4318);
		o.headers = bad[i];
		o.nheaders = 1;
		cr_expect_null(otlp_http__new(&o, &tl.logger), "header %zu", i);
		cr_expect_eq(errno, EINVAL);
	}
	for (i = 0; i < OTLP_HTTP_MAX_HEADERS + 1; i++)
		many[i] = (struct otlp_http_header){ "X-Many", "1" };
	o = test_opts(url, sizeof(url), 4318);
	o.headers = many;
	o.nheaders = OTLP_HTTP_MAX_HEADERS + 1;
	cr_expect_null(otlp_http__new(&o, &tl.logger));
	cr_expect_eq(errno, EINVAL);

	o = test_opts(url, sizeof(url), 4318);
	o.endpoint = "https://127.0.0.1:4318";
	o.ca_file = "/nonexistent/ca.pem";
	cr_expect_null(otlp_http__new(&o, &tl.logger));
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(tlog_count(&tl, TG_LOG_ERROR, "/nonexistent/ca.pem"), 1);

	o.ca_file = NULL;
	o.key_file = "/etc/hostname";
	cr_expect_null(otlp_http__new(&o, &tl.logger), "key without cert");
	cr_expect_eq(errno, EINVAL);

	o = test_opts(url, sizeof(url), 4318);
	o.sz = 4; /* not even the endpoint */
	cr_expect_null(otlp_http__new(&o, &tl.logger));
	cr_expect_eq(errno, EINVAL);
	cr_expect_null(otlp_http__new(NULL, &tl.logger));
	cr_expect_eq(errno, EINVAL);
}

Test(otlp_http, null_exporter_is_accepted_where_documented)
{
	struct otlp_http_stats s;

	memset(&s, 0xff, sizeof(s));
	otlp_http__stats(NULL, &s);
	cr_assert_eq(s.enqueued, 0);
	cr_assert_eq(s.queued, 0);
	cr_assert_eq(otlp_http__submit(NULL, "x", 1), -EINVAL);
	cr_assert_eq(otlp_http__flush(NULL, 0), -EINVAL);
	otlp_http__free(NULL, 0);
}

// SPDX-License-Identifier: Apache-2.0
/* The /metrics and /healthz server: one poll() loop over the listening
 * socket, an eventfd that stops it, and a few non-blocking clients, each
 * read until its request head is complete, answered from the last body
 * published, and closed. The backlog is emptied on every wake-up: a
 * client that cannot have a slot takes the slot of the oldest one still
 * sending its request, so no number of slow clients keeps a probe out. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "cmd/tgprof/metrics.h"
#include "lib/clock.h"

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_TEXT "text/plain; charset=utf-8"
#define POLL_MAX_MS 1000
#define LISTEN_BACKLOG 128

struct client {
	int fd; /* -1: free slot */
	char req[METRICS_REQUEST_MAX + 1];
	size_t rlen;
	char *out; /* the answer, once the request is read */
	size_t olen;
	size_t off;
	uint64_t accepted_ms; /* CLOCK_MONOTONIC */
	uint64_t deadline_ms; /* accepted_ms + METRICS_TIMEOUT_MS */
};

struct metrics_server {
	struct tg_logger log; /* copy; ctx borrowed */
	int lfd;
	int stopfd; /* eventfd */
	int port;
	pthread_t thread;
	bool thread_started;
	struct client clients[METRICS_MAX_CLIENTS];
	_Atomic uint64_t connections;
	_Atomic uint64_t timed_out;
	_Atomic uint64_t shed;

	pthread_mutex_t lock; /* what is published */
	char *body;
	size_t blen;
	bool healthy;
};

static uint64_t now_ms(void)
{
	return clock_ns(CLOCK_MONOTONIC) / NSEC_PER_MSEC;
}

/* ---- answering ---------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	}
	return "Unknown";
}

/* Sets c->out to the whole answer (no body for HEAD). */
static void answer(struct client *c, int status, const char *type,
		   const char *body, size_t blen, bool head)
{
	char hdr[256];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %zu\r\n"
		     "%s"
		     "Cache-Control: no-store\r\n"
		     "Connection: close\r\n\r\n",
		     status, reason(status), type, blen,
		     status == 405 ? "Allow: GET, HEAD\r\n" : "");
	c->out = malloc(n + (head ? 0 : blen));
	if (!c->out) {
		c->olen = 0;
		return;
	}
	memcpy(c->out, hdr, n);
	if (!head && blen)
		memcpy(c->out + n, body, blen);
	c->olen = n + (head ? 0 : blen);
	c->off = 0;
}

static void answer_text(struct client *c, int status, const char *text,
			bool head)
{
	answer(c, status, CONTENT_TYPE_TEXT, text, strlen(text), head);
}

/* The request head is in c->req: "METHOD TARGET HTTP/x.y\r\n...". */
static void handle(struct metrics_server *s, struct client *c)
{
	char *method = c->req, *target, *version, *eol, *q;
	bool head, healthy;

	eol = strpbrk(c->req, "\r\n");
	if (eol)
		*eol = '\0';
	target = strchr(method, ' ');
	version = target ? strchr(target + 1, ' ') : NULL;
	if (!target || !version || strncmp(version + 1, "HTTP/1.", 7)) {
		answer_text(c, 400, "bad request\n", false);
		return;
	}
	*target++ = '\0';
	*version = '\0';
	q = strchr(target, '?');
	if (q)
		*q = '\0';
	head = !strcmp(method, "HEAD");
	if (strcmp(target, "/metrics") && strcmp(target, "/healthz")) {
		answer_text(c, 404, "not found: try /metrics or /healthz\n",
			    head);
		return;
	}
	if (!head && strcmp(method, "GET")) {
		answer_text(c, 405, "method not allowed\n", false);
		return;
	}
	pthread_mutex_lock(&s->lock);
	healthy = s->healthy;
	if (!strcmp(target, "/metrics"))
		answer(c, 200, CONTENT_TYPE_METRICS, s->body ? s->body : "",
		       s->blen, head);
	pthread_mutex_unlock(&s->lock);
	if (!strcmp(target, "/healthz"))
		answer_text(c, healthy ? 200 : 503,
			    healthy ? "ok\n" : "not running\n", head);
}

/* ---- clients ---------------------------------------------------------- */

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->rlen = 0;
	c->olen = 0;
	c->off = 0;
}

static void client_read(struct metrics_server *s, struct client *c)
{
	ssize_t n;

	n = recv(c->fd, c->req + c->rlen, METRICS_REQUEST_MAX - c->rlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->rlen += n;
	c->req[c->rlen] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		handle(s, c);
	else if (c->rlen == METRICS_REQUEST_MAX)
		answer_text(c, 431, "request too large\n", false);
	else
		return;
	if (!c->out)
		client_close(c); /* no memory for an answer */
}

static void client_write(struct client *c)
{
	ssize_t n;

	n = send(c->fd, c->out + c->off, c->olen - c->off, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->off += n;
	if (c->off == c->olen) {
		shutdown(c->fd, SHUT_WR);
		client_close(c);
	}
}

/* Who goes first when a slot is needed: 0 a client that sent part of a
 * request and stopped, 1 one that has sent nothing yet (a probe that just
 * connected looks like this), 2 one being answered. */
static int shed_rank(const struct client *c)
{
	if (c->out)
		return 2;
	return c->rlen ? 0 : 1;
}

/* The slot to give a new connection: a free one, else the one of the
 * oldest client of the lowest shed_rank(), closed and counted. */
static struct client *slot_for_new(struct metrics_server *s)
{
	struct client *victim = NULL, *c;

	for (c = s->clients; c < s->clients + METRICS_MAX_CLIENTS; c++) {
		if (c->fd < 0)
			return c;
		if (!victim || shed_rank(c) < shed_rank(victim) ||
		    (shed_rank(c) == shed_rank(victim) &&
		     c->accepted_ms < victim->accepted_ms))
			victim = c;
	}
	client_close(victim);
	atomic_fetch_add(&s->shed, 1);
	return victim;
}

/* Accepts every connection waiting (at most a round of slots). */
static void accept_all(struct metrics_server *s)
{
	struct client *c;
	size_t i;
	int fd;

	for (i = 0; i < METRICS_MAX_CLIENTS; i++) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		atomic_fetch_add(&s->connections, 1);
		c = slot_for_new(s);
		c->fd = fd;
		c->rlen = 0;
		c->accepted_ms = now_ms();
		c->deadline_ms = c->accepted_ms + METRICS_TIMEOUT_MS;
	}
}

static void *server_main(void *arg)
{
	struct metrics_server *s = arg;
	struct pollfd pfd[2 + METRICS_MAX_CLIENTS];
	struct client *who[2 + METRICS_MAX_CLIENTS];
	bool accept_ready;
	uint64_t now, next;
	size_t i, n;

	for (;;) {
		now = now_ms();
		next = now + POLL_MAX_MS;
		n = 0;
		pfd[n++] = (struct pollfd){ .fd = s->stopfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		for (i = 0; i < METRICS_MAX_CLIENTS; i++) {
			struct client *c = &s->clients[i];

			if (c->fd < 0)
				continue;
			if (now >= c->deadline_ms) {
				client_close(c);
				atomic_fetch_add(&s->timed_out, 1);
				continue;
			}
			if (c->deadline_ms < next)
				next = c->deadline_ms;
			who[n] = c;
			pfd[n++] = (struct pollfd){ .fd = c->fd,
						    .events = c->out ? POLLOUT :
								       POLLIN };
		}
		if (poll(pfd, n, (int)(next - now)) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		/* The clients first: a slot given below to a new
		 * connection must not be mistaken for the one polled. */
		accept_ready = pfd[1].revents;
		for (i = 2; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (who[i]->out)
				client_write(who[i]);
			else
				client_read(s, who[i]);
		}
		if (accept_ready)
			accept_all(s);
	}
	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		client_close(&s->clients[i]);
	return NULL;
}

/* ---- setup ------------------------------------------------------------ */

/* "host:port" or "[v6]:port" into its parts. */
static int split_address(const char *address, char *host, size_t hlen,
			 char *port, size_t plen)
{
	const char *colon, *h = address;
	size_t n;

	if (*address == '[') {
		const char *close = strchr(address, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = address + 1;
		n = close - h;
		colon = close + 1;
	} else {
		colon = strrchr(address, ':');
		if (!colon)
			return -EINVAL;
		n = colon - address;
	}
	if (!n || n >= hlen || strlen(colon + 1) >= plen || !colon[1])
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int listen_on(const char *address, int *ret_port,
		     const struct tg_logger *log)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[256], port[16];
	int fd = -1, err = 0, one = 1, gai;

	if (split_address(address, host, sizeof(host), port, sizeof(port))) {
		tg_err(log, "metrics: address \"%s\" is not host:port",
		       address);
		return -EINVAL;
	}
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai) {
		tg_err(log, "metrics: cannot resolve %s: %s", address,
		       gai_strerror(gai));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) &&
		    !listen(fd, LISTEN_BACKLOG))
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		tg_err(log, "metrics: cannot listen on %s: %s", address,
		       strerror(-err));
		return err ? err : -EINVAL;
	}
	if (!getsockname(fd, (struct sockaddr *)&ss, &sslen))
		*ret_port =
			ntohs(ss.ss_family == AF_INET6 ?
				      ((struct sockaddr_in6 *)&ss)->sin6_port :
				      ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

struct metrics_server *metrics_server__new(const char *address,
					   const struct tg_logger *log)
{
	struct metrics_server *s;
	size_t i;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (log)
		s->log = *log;
	pthread_mutex_init(&s->lock, NULL);
	for (i = 0; i < METRICS_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	s->stopfd = -1;
	s->lfd = listen_on(address, &s->port, &s->log);
	if (s->lfd < 0) {
		err = s->lfd;
		goto err_free;
	}
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stopfd < 0) {
		err = -errno;
		goto err_free;
	}
	err = -pthread_create(&s->thread, NULL, server_main, s);
	if (err) {
		tg_err(&s->log, "metrics: cannot start the server thread: %s",
		       strerror(-err));
		goto err_free;
	}
	s->thread_started = true;
	return s;

err_free:
	metrics_server__free(s);
	errno = -err;
	return NULL;
}

int metrics_server__port(const struct metrics_server *s)
{
	return s->port;
}

int metrics_server__publish(struct metrics_server *s, const char *body,
			    size_t len, bool healthy)
{
	char *copy = NULL;

	if (len > METRICS_BODY_MAX)
		return -E2BIG;
	if (body) {
		copy = malloc(len ? len : 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, body, len);
	}
	pthread_mutex_lock(&s->lock);
	if (body) {
		free(s->body);
		s->body = copy;
		s->blen = len;
	}
	s->healthy = healthy;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void metrics_server__stats(const struct metrics_server *s,
			   struct metrics_server_stats *st)
{
	if (!s)
		return;
	st->connections += atomic_load(&s->connections);
	st->timed_out += atomic_load(&s->timed_out);
	st->shed += atomic_load(&s->shed);
}

void metrics_server__free(struct metrics_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (s->thread_started) {
		if (write(s->stopfd, &one, sizeof(one)) != sizeof(one))
			tg_warn(&s->log, "metrics: cannot stop the thread");
		else
			pthread_join(s->thread, NULL);
	}
	if (s->stopfd >= 0)
		close(s->stopfd);
	if (s->lfd >= 0)
		close(s->lfd);
	pthread_mutex_destroy(&s->lock);
	free(s->body);
	free(s);
}

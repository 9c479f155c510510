/*
 * wsserver.c - a scripted WebSocket server for integration tests (see
 * wsserver.h).
 *
 * One thread: accept (poll on the listener and a wake pipe), then serve the
 * connection to its end: read the upgrade request, answer, then relay.
 * Relaying polls the client, the broker and the wake pipe; writes are
 * blocking with a send timeout. Client frames are gathered in cin until a
 * whole frame is there (the client's frames are at most a few hundred KiB;
 * cin grows to CIN_MAX at most).
 *
 * Shared with test threads: the counters, the latest request, the client's
 * close code and the first violation, under mu (with cv for waits).
 */
#include "wsserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base64.h"
#include "ferry/error.h"

#define GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define REQ_MAX    16384
#define CIN_MAX    (64u * 1024u * 1024u)
#define CHUNK      65536
#define WAIT_MS    10000
#define PING_TEXT  "ferry-ping"

struct test_ws {
	struct test_ws_opts o;
	char *response;   /* copy of o.response */
	int lfd;          /* listener */
	int wake[2];      /* pipe: stop */
	int port;
	char uri[64];
	pthread_t thread;
	/* shared: mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int counts[TEST_WS_NCOUNTERS];
	char request[REQ_MAX + 1];
	size_t request_len;
	int close_code;
	char violation[256];
};

/* One connection being served (server thread only). */
struct conn {
	struct test_ws *s;
	int cfd, bfd;      /* client, broker (-1: echo) */
	uint8_t *cin;      /* client bytes not yet parsed */
	size_t cin_len, cin_cap;
	uint8_t last_mask[4];
	bool have_mask;
	bool first_done;   /* the broker's first bytes were handled */
	bool close_sent;
	bool done;
};

/* --- shared state -------------------------------------------------------------- */

static void bump(struct test_ws *s, enum test_ws_counter c)
{
	pthread_mutex_lock(&s->mu);
	s->counts[c]++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

__attribute__((format(printf, 2, 3))) static void violation(struct test_ws *s, const char *fmt, ...)
{
	pthread_mutex_lock(&s->mu);
	if (!s->violation[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->violation, sizeof s->violation, fmt, ap);
		va_end(ap);
	}
	s->counts[TEST_WS_VIOLATIONS]++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int test_ws_count(struct test_ws *s, enum test_ws_counter c)
{
	pthread_mutex_lock(&s->mu);
	int v = s->counts[c];
	pthread_mutex_unlock(&s->mu);
	return v;
}

bool test_ws_wait(struct test_ws *s, enum test_ws_counter c, int n, int timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	while (s->counts[c] < n) {
		if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT)
			break;
	}
	bool ok = s->counts[c] >= n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

size_t test_ws_request(struct test_ws *s, char *buf, size_t cap)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->request_len < cap - 1 ? s->request_len : cap - 1;
	memcpy(buf, s->request, n);
	buf[n] = 0;
	pthread_mutex_unlock(&s->mu);
	return n;
}

int test_ws_close_code(struct test_ws *s)
{
	pthread_mutex_lock(&s->mu);
	int v = s->close_code;
	pthread_mutex_unlock(&s->mu);
	return v;
}

const char *test_ws_violation(struct test_ws *s)
{
	return s->violation;
}

int test_ws_port(const struct test_ws *s)
{
	return s->port;
}

const char *test_ws_uri(const struct test_ws *s)
{
	return s->uri;
}

/* --- I/O helpers --------------------------------------------------------------------- */

static bool send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

/* Waits for fd (or the wake pipe); 1 readable, 0 timeout, -1 stop or error. */
static int wait_readable(struct test_ws *s, int fd, int ms)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
	int r = poll(p, 2, ms);
	if (r < 0)
		return errno == EINTR ? 0 : -1;
	if (p[1].revents)
		return -1;
	return r > 0 ? 1 : 0;
}

/* An unmasked server frame: FIN | rsv | opcode, payload. */
static bool send_frame(int fd, unsigned first, const uint8_t *p, size_t n)
{
	uint8_t h[10];
	size_t hl = 2;
	h[0] = (uint8_t)first;
	if (n < 126) {
		h[1] = (uint8_t)n;
	} else if (n <= 0xffff) {
		h[1] = 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	return send_all(fd, h, hl) && (n == 0 || send_all(fd, p, n));
}

static bool send_close(struct conn *c, unsigned code, const char *reason)
{
	uint8_t b[64] = {(uint8_t)(code >> 8), (uint8_t)code};
	size_t rl = strlen(reason);
	memcpy(b + 2, reason, rl);
	c->close_sent = true;
	return send_frame(c->cfd, 0x88, b, code ? 2 + rl : 0);
}

/* --- the upgrade ----------------------------------------------------------------------- */

/* The value of header `name` in the request (case-insensitive), copied to out. */
static bool header_value(const char *req, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *line = strstr(req, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1, *end = strstr(v, "\r\n");
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n = end ? (size_t)(end - v) : strlen(v);
			if (n >= cap)
				return false;
			memcpy(out, v, n);
			out[n] = 0;
			return true;
		}
	}
	return false;
}

/* Reads the request up to its empty line and records it; false when it never came. */
static bool read_request(struct conn *c, char *req)
{
	size_t len = 0;
	while (len < REQ_MAX) {
		if (wait_readable(c->s, c->cfd, WAIT_MS) != 1)
			return false;
		ssize_t r = recv(c->cfd, req + len, REQ_MAX - len, 0);
		if (r <= 0)
			return false;
		len += (size_t)r;
		req[len] = 0;
		char *end = strstr(req, "\r\n\r\n");
		if (end) {
			size_t hl = (size_t)(end - req) + 4;
			pthread_mutex_lock(&c->s->mu);
			memcpy(c->s->request, req, hl);
			c->s->request[hl] = 0;
			c->s->request_len = hl;
			pthread_mutex_unlock(&c->s->mu);
			/* Frames the client sent before the answer (it must not): kept. */
			memcpy(c->cin, req + hl, len - hl);
			c->cin_len = len - hl;
			return true;
		}
	}
	return false;
}

static void accept_of(const char *key, char *out, size_t cap)
{
	char text[256];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	snprintf(text, sizeof text, "%s%s", key, GUID);
	EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha1(), NULL);
	ferry__base64_encode(md, mdlen, out, cap);
}

/* The scripted answer with every @ACCEPT@ replaced, into out. */
static void scripted(const char *tmpl, const char *accept, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = tmpl; *p && o + 1 < cap;) {
		if (strncmp(p, "@ACCEPT@", 8) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", accept);
			p += 8;
		} else {
			out[o++] = *p++;
		}
	}
	out[o < cap ? o : cap - 1] = 0;
}

/* Answers the upgrade; true when the connection goes on as a WebSocket. */
static bool upgrade(struct conn *c)
{
	char req[REQ_MAX + 1];
	char key[128] = "", accept[64] = "", resp[4096];
	if (!read_request(c, req))
		return false;
	header_value(req, "Sec-WebSocket-Key", key, sizeof key);
	accept_of(key, accept, sizeof accept);
	if (c->s->response) {
		scripted(c->s->response, accept, resp, sizeof resp);
		send_all(c->cfd, resp, strlen(resp));
		return false;
	}
	int n = snprintf(resp, sizeof resp,
	                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
	                 "Sec-WebSocket-Protocol: mqtt\r\n\r\n", accept);
	size_t len = (size_t)n;
	if (c->s->o.fault == TEST_WS_PING) {
		/* The ping in the same write as the answer: the client finds it behind the 101. */
		resp[len++] = (char)0x89;
		resp[len++] = (char)(sizeof PING_TEXT - 1);
		memcpy(resp + len, PING_TEXT, sizeof PING_TEXT - 1);
		len += sizeof PING_TEXT - 1;
	}
	bump(c->s, TEST_WS_UPGRADES);
	return send_all(c->cfd, resp, len);
}

/* --- frames from the client ------------------------------------------------------------- */

/* Handles a control frame from the client. */
static void client_control(struct conn *c, unsigned op, const uint8_t *p, size_t n)
{
	if (op == 0x9) {
		send_frame(c->cfd, 0x8a, p, n);
	} else if (op == 0xa) {
		bool good = n == sizeof PING_TEXT - 1 && memcmp(p, PING_TEXT, n) == 0;
		bump(c->s, good ? TEST_WS_PONGS : TEST_WS_BAD_PONGS);
	} else if (op == 0x8) {
		pthread_mutex_lock(&c->s->mu);
		c->s->close_code = n >= 2 ? (int)p[0] << 8 | p[1] : 0;
		pthread_mutex_unlock(&c->s->mu);
		bump(c->s, TEST_WS_CLOSES);
		if (!c->close_sent)
			send_close(c, n >= 2 ? ((unsigned)p[0] << 8 | p[1]) : 0, "");
		c->done = true;
	}
}

/* Checks and acts on one whole frame: first header bytes b0, b1, payload (unmasked now). */
static void client_frame(struct conn *c, unsigned b0, bool masked, uint8_t *p, size_t n)
{
	unsigned op = b0 & 0x0fu;
	if (!masked)
		violation(c->s, "unmasked client frame (opcode 0x%x)", op);
	if (b0 & 0x70u)
		violation(c->s, "client frame with reserved bits 0x%02x", b0 & 0x70u);
	if (op == 0x0 || op == 0x2) {
		bump(c->s, TEST_WS_DATA_FRAMES);
		if (n && c->bfd >= 0 && !send_all(c->bfd, p, n))
			c->done = true;
		else if (n && c->bfd < 0 && !send_frame(c->cfd, 0x82, p, n))
			c->done = true;
	} else if (op >= 0x8 && op <= 0xa) {
		client_control(c, op, p, n);
	} else {
		violation(c->s, "client frame with opcode 0x%x", op);
	}
}

/* Parses the whole frames in cin; leaves a partial one. */
static void client_frames(struct conn *c)
{
	size_t pos = 0;
	while (!c->done && c->cin_len - pos >= 2) {
		uint8_t *f = c->cin + pos;
		size_t avail = c->cin_len - pos, hl = 2;
		uint64_t n = f[1] & 0x7fu;
		bool masked = (f[1] & 0x80u) != 0;
		if (n == 126) {
			hl = 4;
			n = avail >= 4 ? (uint64_t)f[2] << 8 | f[3] : 0;
		} else if (n == 127) {
			hl = 10;
			n = 0;
			for (size_t i = 0; i < 8 && avail >= 10; i++)
				n = n << 8 | f[2 + i];
		}
		size_t ml = masked ? 4 : 0;
		if (avail < hl + ml)
			break;
		if (n > CIN_MAX) {
			violation(c->s, "client frame of %llu bytes", (unsigned long long)n);
			c->done = true;
			break;
		}
		if (avail < hl + ml + n)
			break;
		uint8_t *p = f + hl + ml;
		if (masked) {
			const uint8_t *m = f + hl;
			if (c->have_mask && memcmp(m, c->last_mask, 4) == 0)
				bump(c->s, TEST_WS_REPEATED_MASKS);
			memcpy(c->last_mask, m, 4);
			c->have_mask = true;
			for (size_t i = 0; i < n; i++)
				p[i] ^= m[i & 3u];
		}
		client_frame(c, f[0], masked, p, (size_t)n);
		pos += hl + ml + (size_t)n;
	}
	memmove(c->cin, c->cin + pos, c->cin_len - pos);
	c->cin_len -= pos;
}

static void from_client(struct conn *c)
{
	if (c->cin_cap - c->cin_len < CHUNK) {
		size_t cap = c->cin_cap * 2;
		uint8_t *p = cap <= CIN_MAX ? realloc(c->cin, cap) : NULL;
		if (!p) {
			violation(c->s, "client frame larger than %u bytes", CIN_MAX);
			c->done = true;
			return;
		}
		c->cin = p;
		c->cin_cap = cap;
	}
	ssize_t r = recv(c->cfd, c->cin + c->cin_len, c->cin_cap - c->cin_len, 0);
	if (r <= 0) {
		c->done = true;
		return;
	}
	c->cin_len += (size_t)r;
	client_frames(c);
}

/* --- bytes from the broker ---------------------------------------------------------------- */

/* The broker's bytes as frames: one, or a fragmented message of o.fragment-byte frames. */
static bool frames_out(struct conn *c, const uint8_t *p, size_t n)
{
	size_t frag = c->s->o.fragment;
	if (!frag || n <= frag)
		return send_frame(c->cfd, 0x82, p, n);
	for (size_t off = 0; off < n; off += frag) {
		size_t k = n - off < frag ? n - off : frag;
		unsigned first = (off == 0 ? 0x02u : 0x00u) | (off + k == n ? 0x80u : 0u);
		if (!send_frame(c->cfd, first, p + off, k))
			return false;
	}
	return true;
}

/* The first bytes from the broker (its CONNACK): where most faults strike. */
static bool first_out(struct conn *c, const uint8_t *p, size_t n)
{
	static const uint8_t huge[] = {0x82, 0x7f, 0, 0, 0x01, 0, 0, 0, 0, 0};
	uint8_t masked[CHUNK + 14];
	c->first_done = true;
	switch (c->s->o.fault) {
	case TEST_WS_TEXT:
		return send_frame(c->cfd, 0x81, p, n);
	case TEST_WS_RESERVED:
		return send_frame(c->cfd, 0xc2, p, n);
	case TEST_WS_BAD_CONTINUATION:
		return send_frame(c->cfd, 0x80, p, n);
	case TEST_WS_HUGE:
		return send_all(c->cfd, huge, sizeof huge);
	case TEST_WS_MASKED:
		if (n > 125)
			return false;
		masked[0] = 0x82;
		masked[1] = (uint8_t)(0x80u | n);
		memcpy(masked + 2, "\x11\x22\x33\x44", 4);
		for (size_t i = 0; i < n; i++)
			masked[6 + i] = (uint8_t)(p[i] ^ masked[2 + (i & 3u)]);
		return send_all(c->cfd, masked, 6 + n);
	case TEST_WS_CLOSE:
		return frames_out(c, p, n) && send_close(c, 1001, "bye");
	default:
		return frames_out(c, p, n);
	}
}

static void from_broker(struct conn *c)
{
	uint8_t buf[CHUNK];
	ssize_t r = recv(c->bfd, buf, sizeof buf, 0);
	if (r <= 0) {
		c->done = true;
		return;
	}
	bool ok = c->first_done ? frames_out(c, buf, (size_t)r) : first_out(c, buf, (size_t)r);
	if (!ok)
		c->done = true;
}

/* --- serving ---------------------------------------------------------------------------------- */

static int connect_broker(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Relays until either side ends, the client closes, or stop. */
static void relay(struct conn *c)
{
	while (!c->done) {
		struct pollfd p[3] = {{.fd = c->cfd, .events = POLLIN},
		                      {.fd = c->s->wake[0], .events = POLLIN},
		                      {.fd = c->bfd, .events = POLLIN}};
		/* After our close, the client has 5 s to answer. */
		int r = poll(p, c->bfd >= 0 ? 3 : 2, c->close_sent ? 5000 : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || p[1].revents)
			return;
		if (p[0].revents)
			from_client(c);
		if (!c->done && c->bfd >= 0 && p[2].revents && !c->close_sent)
			from_broker(c);
		else if (c->bfd >= 0 && p[2].revents && c->close_sent) {
			close(c->bfd); /* nothing more from the broker after our close */
			c->bfd = -1;
		}
	}
}

/* Reads (and drops) until the client closes, for a scripted refusal. */
static void drain(struct conn *c)
{
	char buf[4096];
	while (wait_readable(c->s, c->cfd, WAIT_MS) == 1 && recv(c->cfd, buf, sizeof buf, 0) > 0)
		;
}

static void serve(struct test_ws *s, int cfd)
{
	struct conn c = {.s = s, .cfd = cfd, .bfd = -1};
	struct timeval tv = {.tv_sec = WAIT_MS / 1000};
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int one = 1;
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c.cin_cap = REQ_MAX + CHUNK;
	c.cin = malloc(c.cin_cap);
	if (!c.cin)
		return;
	if (!upgrade(&c)) {
		drain(&c);
	} else if (s->o.relay_port && (c.bfd = connect_broker(s->o.relay_port)) < 0) {
		send_close(&c, 1011, "no broker");
	} else {
		client_frames(&c);
		relay(&c);
	}
	if (c.bfd >= 0)
		close(c.bfd);
	free(c.cin);
}

static void *server_main(void *arg)
{
	struct test_ws *s = arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
		int r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || p[1].revents)
			break;
		int cfd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		bump(s, TEST_WS_CONNECTIONS);
		serve(s, cfd);
		close(cfd);
		bump(s, TEST_WS_ENDED);
	}
	return NULL;
}

static int listen_local(struct test_ws *s)
{
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return FERRY_ERR_STATE;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->lfd, 8) != 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&sa, &sl) != 0)
		return FERRY_ERR_STATE;
	s->port = ntohs(sa.sin_port);
	snprintf(s->uri, sizeof s->uri, "ws://127.0.0.1:%d/mqtt", s->port);
	return FERRY_OK;
}

int test_ws_start(struct test_ws **out, const struct test_ws_opts *o)
{
	static const struct test_ws_opts none = {0};
	if (!out)
		return FERRY_ERR_INVAL;
	*out = NULL;
	struct test_ws *s = calloc(1, sizeof *s);
	if (!s)
		return FERRY_ERR_NOMEM;
	s->o = o ? *o : none;
	s->lfd = s->wake[0] = s->wake[1] = -1;
	s->close_code = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc = FERRY_OK;
	if (s->o.response && !(s->response = strdup(s->o.response)))
		rc = FERRY_ERR_NOMEM;
	if (!rc && pipe2(s->wake, O_CLOEXEC) != 0)
		rc = FERRY_ERR_STATE;
	if (!rc)
		rc = listen_local(s);
	if (!rc && pthread_create(&s->thread, NULL, server_main, s) != 0)
		rc = FERRY_ERR_STATE;
	if (rc) {
		if (s->lfd >= 0)
			close(s->lfd);
		if (s->wake[0] >= 0) {
			close(s->wake[0]);
			close(s->wake[1]);
		}
		free(s->response);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return rc;
	}
	*out = s;
	return FERRY_OK;
}

void test_ws_stop(struct test_ws *s)
{
	if (!s)
		return;
	ssize_t w;
	do
		w = write(s->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	free(s->response);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

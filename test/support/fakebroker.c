/*
 * fakebroker.c - the scripted fake MQTT broker (see fakebroker.h).
 *
 * Threads: the test's thread(s) and one script thread per fake broker.
 * The script thread alone owns the sockets (lfd, cfd), the frame reader and
 * the read buffer. Everything the test can see (progress, result, message,
 * frames, counters, go) is guarded by `lock`; `cond` is broadcast whenever
 * progress, result or go changes. The wake pipe interrupts the script
 * thread's poll() at destroy.
 *
 * Script states: RUNNING (progress = index of the step being run) ->
 * DONE (result FERRY_OK, progress = number of steps) or FAILED (result < 0,
 * err set once, progress = the failed step). Nothing changes after DONE or
 * FAILED except the counters read by the test.
 */
#include "fakebroker.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "ferry/error.h"
#include "frame.h"

#define DEFAULT_TIMEOUT_MS 10000u
#define ERR_MAX            1024
#define HEX_SHOWN          64 /* bytes shown in a message */
#define STOPPED            1  /* internal: destroy interrupted a wait */
#define CLOSED             2  /* internal: the client closed the connection */

struct step {
	enum test_fake_op op;
	int type;
	uint8_t *bytes; /* parsed .hex (owned) */
	size_t len;
	unsigned timeout_ms;
};

struct test_fake {
	/* fixed after start */
	struct step *steps;
	size_t nsteps;
	uint8_t version;
	unsigned timeout_ms;
	int port;
	char uri[48];
	int wake[2];
	pthread_t thread;
	/* owned by the script thread */
	int lfd, cfd;
	bool auto_ping;
	struct ferry_frame_reader reader;
	uint8_t rbuf[4096];
	size_t rpos, rlen;
	size_t cur; /* step being run */
	/* guarded by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t progress;
	bool done;
	int result;
	char err[ERR_MAX];
	struct test_fake_frame *recs; /* each .data is owned */
	size_t nrecs, caprecs;
	unsigned pings;
	unsigned go;
	size_t nconn;
	bool stopping;
};

static const char *const op_names[] = {
    "END",   "ACCEPT", "EXPECT",       "EXPECT_BYTES", "SEND",        "SEND_SPLIT",
    "CLOSE", "RESET",  "EXPECT_CLOSE", "PING_AUTO",    "PING_MANUAL", "WAIT_GO",
};

/* --- hex text ------------------------------------------------------------------ */

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses hex text into out (cap >= strlen(hex)); returns the byte count or -1. */
static long parse_hex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	const char *p = hex;
	while (*p) {
		if (*p == ' ' || *p == '\t' || *p == '\n') {
			p++;
		} else if (*p == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q)
				return -1;
			memcpy(out + n, p + 1, (size_t)(q - p - 1));
			n += (size_t)(q - p - 1);
			p = q + 1;
		} else {
			int hi = hexdigit(p[0]);
			int lo = hi < 0 ? -1 : hexdigit(p[1]);
			if (lo < 0)
				return -1;
			out[n++] = (uint8_t)(hi << 4 | lo);
			p += 2;
		}
	}
	return (long)n;
}

/* Appends up to HEX_SHOWN bytes as "30 05 00" to s (cap bytes, NUL-terminated). */
static void put_hex(char *s, size_t cap, const uint8_t *p, size_t n)
{
	size_t o = strlen(s);
	for (size_t i = 0; i < n && i < HEX_SHOWN && o + 4 < cap; i++)
		o += (size_t)snprintf(s + o, cap - o, i ? " %02x" : "%02x", p[i]);
	if (n > HEX_SHOWN && o + 5 < cap)
		snprintf(s + o, cap - o, " ...");
	if (n == 0 && o + 8 < cap)
		snprintf(s + o, cap - o, "nothing");
}

/* --- failure and progress ------------------------------------------------------ */

static unsigned step_timeout(const struct test_fake *fb)
{
	unsigned t = fb->steps[fb->cur].timeout_ms;
	return t ? t : fb->timeout_ms;
}

/* Step name for messages: "EXPECT CONNECT", "SEND". */
static void step_name(const struct test_fake *fb, char *out, size_t cap)
{
	const struct step *s = &fb->steps[fb->cur];
	if (s->op == FAKE_EXPECT && s->type)
		snprintf(out, cap, "EXPECT %s", ferry__ptype_name(s->type));
	else
		snprintf(out, cap, "%s", op_names[s->op]);
}

/*
 * Records the failure of the current step (the first one only) with a
 * message, optionally followed by bytes in hex. Returns rc.
 */
__attribute__((format(printf, 5, 6))) static int
fail(struct test_fake *fb, int rc, const uint8_t *bytes, size_t n, const char *fmt, ...)
{
	char name[64], msg[ERR_MAX];
	step_name(fb, name, sizeof name);
	int o = snprintf(msg, sizeof msg, "step %zu (%s): ", fb->cur, name);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + o, sizeof msg - (size_t)o, fmt, ap);
	va_end(ap);
	if (bytes) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof msg - l, " (");
		put_hex(msg, sizeof msg - 1, bytes, n);
		l = strlen(msg);
		snprintf(msg + l, sizeof msg - l, ")");
	}
	pthread_mutex_lock(&fb->lock);
	if (!fb->err[0])
		snprintf(fb->err, sizeof fb->err, "%s", msg);
	pthread_mutex_unlock(&fb->lock);
	return rc;
}


/*
 * Waits until fd is ready for events or the deadline passes. Returns 1
 * (ready), 0 (timeout), STOPPED (destroy) as a negative number, or -errno.
 */
static int wait_fd(struct test_fake *fb, int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - test_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p[2] = {{.fd = fd, .events = events},
		                      {.fd = fb->wake[0], .events = POLLIN}};
		int n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (p[1].revents)
			return -STOPPED;
		if (n > 0)
			return 1;
	}
}

/* --- reading frames ------------------------------------------------------------- */

/* Bytes of the partial frame the reader holds (for messages). */
static const uint8_t *partial(const struct test_fake *fb, size_t *n)
{
	const struct ferry_frame_reader *r = &fb->reader;
	if (r->need == 0) {
		*n = r->hdr_len;
		return r->hdr;
	}
	*n = r->have;
	return r->buf;
}

static int record(struct test_fake *fb, const struct ferry_frame *fr, uint8_t **copy)
{
	uint8_t *data = malloc(fr->len ? fr->len : 1);
	if (!data)
		return fail(fb, FERRY_ERR_NOMEM, NULL, 0, "out of memory");
	memcpy(data, fr->data, fr->len);
	pthread_mutex_lock(&fb->lock);
	if (fb->nrecs == fb->caprecs) {
		size_t cap = fb->caprecs ? fb->caprecs * 2 : 16;
		struct test_fake_frame *nr = realloc(fb->recs, cap * sizeof *nr);
		if (!nr) {
			pthread_mutex_unlock(&fb->lock);
			free(data);
			return fail(fb, FERRY_ERR_NOMEM, NULL, 0, "out of memory");
		}
		fb->recs = nr;
		fb->caprecs = cap;
	}
	fb->recs[fb->nrecs++] = (struct test_fake_frame){.conn = fb->nconn - 1,
	                                                 .step = fb->cur,
	                                                 .type = data[0] >> 4,
	                                                 .data = data,
	                                                 .len = fr->len};
	pthread_mutex_unlock(&fb->lock);
	*copy = data;
	return FERRY_OK;
}

static int send_all(struct test_fake *fb, const uint8_t *p, size_t n, int64_t deadline);

/* PINGREQ answered automatically? (then the frame is consumed and not recorded) */
static int auto_pong(struct test_fake *fb, const struct ferry_frame *fr, bool *answered)
{
	static const uint8_t pong[2] = {0xD0, 0x00};
	*answered = false;
	if (!fb->auto_ping || fr->len != 2 || fr->data[0] != 0xC0 || fr->data[1] != 0)
		return FERRY_OK;
	*answered = true;
	pthread_mutex_lock(&fb->lock);
	fb->pings++;
	pthread_mutex_unlock(&fb->lock);
	return send_all(fb, pong, sizeof pong, test_now_ms() + step_timeout(fb));
}

/* Reads more bytes into rbuf. FERRY_OK, CLOSED, or a failure. */
static int fill(struct test_fake *fb, int64_t deadline, bool quiet_close)
{
	int w = wait_fd(fb, fb->cfd, POLLIN, deadline);
	if (w == -STOPPED)
		return fail(fb, FERRY_ERR_STATE, NULL, 0, "fake broker destroyed");
	if (w < 0)
		return fail(fb, FERRY_ERR_STATE, NULL, 0, "poll: %s", strerror(-w));
	if (w == 0) {
		size_t n;
		const uint8_t *p = partial(fb, &n);
		return fail(fb, FERRY_ERR_TIMEOUT, p, n, "no complete frame within %u ms; got",
		            step_timeout(fb));
	}
	ssize_t got = recv(fb->cfd, fb->rbuf, sizeof fb->rbuf, 0);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return FERRY_OK;
	if (got <= 0 && quiet_close)
		return CLOSED;
	if (got <= 0) {
		size_t n;
		const uint8_t *p = partial(fb, &n);
		return fail(fb, FERRY_ERR_STATE, p, n, "connection %s by the client; partial frame",
		            got == 0 ? "closed" : "reset");
	}
	fb->rpos = 0;
	fb->rlen = (size_t)got;
	return FERRY_OK;
}

/*
 * Reads one whole frame (answering PINGREQ when auto) and records it.
 * data, len: set to the recorded copy. Returns FERRY_OK, CLOSED (only when
 * quiet_close: the client closed before a byte of a new frame), or a
 * failure (already reported).
 */
static int read_frame(struct test_fake *fb, bool quiet_close, const uint8_t **data, size_t *len)
{
	int64_t deadline = test_now_ms() + step_timeout(fb);
	if (fb->cfd < 0)
		return fail(fb, FERRY_ERR_STATE, NULL, 0, "no connection (add a FAKE_ACCEPT step)");
	for (;;) {
		if (fb->rpos == fb->rlen) {
			size_t held;
			partial(fb, &held);
			int rc = fill(fb, deadline, quiet_close && held == 0);
			if (rc)
				return rc;
			continue;
		}
		struct ferry_frame fr;
		size_t used;
		bool complete = false, answered;
		int rc = ferry__frame_next(&fb->reader, fb->rbuf + fb->rpos, fb->rlen - fb->rpos,
		                           &used, &fr, &complete);
		fb->rpos += used;
		if (rc)
			return fail(fb, rc, fb->rbuf, fb->rpos, "frame reader: %s; bytes",
			            ferry_errname(rc));
		if (!complete)
			continue;
		rc = auto_pong(fb, &fr, &answered);
		if (rc || answered) {
			if (rc)
				return rc;
			continue;
		}
		uint8_t *copy = NULL;
		rc = record(fb, &fr, &copy);
		if (rc)
			return rc;
		*data = copy;
		*len = fr.len;
		return FERRY_OK;
	}
}

/* --- steps ---------------------------------------------------------------------- */

static void drop_conn(struct test_fake *fb, bool reset)
{
	if (fb->cfd < 0)
		return;
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fb->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(fb->cfd);
	fb->cfd = -1;
}

static int do_accept(struct test_fake *fb)
{
	drop_conn(fb, false);
	int w = wait_fd(fb, fb->lfd, POLLIN, test_now_ms() + step_timeout(fb));
	if (w == 0)
		return fail(fb, FERRY_ERR_TIMEOUT, NULL, 0, "no connection within %u ms",
		            step_timeout(fb));
	if (w < 0)
		return fail(fb, FERRY_ERR_STATE, NULL, 0, "%s",
		            w == -STOPPED ? "fake broker destroyed" : strerror(-w));
	int fd = accept4(fb->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return fail(fb, FERRY_ERR_STATE, NULL, 0, "accept: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fb->cfd = fd;
	fb->rpos = fb->rlen = 0;
	ferry__frame_reader_reset(&fb->reader);
	pthread_mutex_lock(&fb->lock);
	fb->nconn++;
	pthread_mutex_unlock(&fb->lock);
	return FERRY_OK;
}

static int send_all(struct test_fake *fb, const uint8_t *p, size_t n, int64_t deadline)
{
	if (fb->cfd < 0)
		return fail(fb, FERRY_ERR_STATE, NULL, 0, "no connection (add a FAKE_ACCEPT step)");
	while (n > 0) {
		ssize_t k = send(fb->cfd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return fail(fb, FERRY_ERR_STATE, NULL, 0, "send: %s", strerror(errno));
		int w = wait_fd(fb, fb->cfd, POLLOUT, deadline);
		if (w == 0)
			return fail(fb, FERRY_ERR_TIMEOUT, NULL, 0,
			            "client read nothing for %u ms (%zu bytes unsent)",
			            step_timeout(fb), n);
		if (w < 0)
			return fail(fb, FERRY_ERR_STATE, NULL, 0, "%s",
			            w == -STOPPED ? "fake broker destroyed" : strerror(-w));
	}
	return FERRY_OK;
}

static int do_send(struct test_fake *fb, bool split)
{
	const struct step *s = &fb->steps[fb->cur];
	int64_t deadline = test_now_ms() + step_timeout(fb);
	if (!split)
		return send_all(fb, s->bytes, s->len, deadline);
	for (size_t i = 0; i < s->len; i++) {
		int rc = send_all(fb, s->bytes + i, 1, deadline);
		if (rc)
			return rc;
	}
	return FERRY_OK;
}

static int do_expect(struct test_fake *fb)
{
	const struct step *s = &fb->steps[fb->cur];
	const uint8_t *data;
	size_t len;
	int rc = read_frame(fb, false, &data, &len);
	if (rc)
		return rc;
	struct ferry_codec_cfg cfg = {.version = fb->version, .peer = FERRY_PEER_CLIENT};
	struct ferry_packet pkt;
	rc = ferry__decode(&cfg, data, len, &pkt);
	if (rc)
		return fail(fb, rc, data, len, "%s frame does not decode: %s",
		            ferry__ptype_name(data[0] >> 4), ferry_errname(rc));
	if (s->type && pkt.type != s->type)
		return fail(fb, FERRY_ERR_PROTOCOL, data, len, "got %s",
		            ferry__ptype_name(pkt.type));
	if (pkt.type == FERRY_CONNECT && pkt.u.connect.version != fb->version)
		return fail(fb, FERRY_ERR_PROTOCOL, data, len,
		            "CONNECT has protocol level %u, the script is for %u",
		            pkt.u.connect.version, fb->version);
	return FERRY_OK;
}

static int do_expect_bytes(struct test_fake *fb)
{
	const struct step *s = &fb->steps[fb->cur];
	const uint8_t *data;
	size_t len;
	int rc = read_frame(fb, false, &data, &len);
	if (rc)
		return rc;
	if (len == s->len && memcmp(data, s->bytes, len) == 0)
		return FERRY_OK;
	char want[3 * HEX_SHOWN + 16] = "";
	put_hex(want, sizeof want, s->bytes, s->len);
	return fail(fb, FERRY_ERR_PROTOCOL, data, len, "expected %s, got", want);
}

static int do_expect_close(struct test_fake *fb)
{
	const uint8_t *data;
	size_t len;
	int rc = read_frame(fb, true, &data, &len);
	if (rc == CLOSED) {
		drop_conn(fb, false);
		return FERRY_OK;
	}
	if (rc)
		return rc;
	return fail(fb, FERRY_ERR_PROTOCOL, data, len, "expected the client to close, got %s",
	            ferry__ptype_name(data[0] >> 4));
}

/* Absolute CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait on cond. */
static struct timespec deadline_ts(unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int do_wait_go(struct test_fake *fb)
{
	unsigned t = step_timeout(fb);
	struct timespec ts = deadline_ts(t);
	int rc = 0;
	pthread_mutex_lock(&fb->lock);
	while (!fb->go && !fb->stopping && rc == 0)
		rc = pthread_cond_timedwait(&fb->cond, &fb->lock, &ts);
	bool ok = fb->go > 0;
	if (ok)
		fb->go--;
	bool stopping = fb->stopping;
	pthread_mutex_unlock(&fb->lock);
	if (ok)
		return FERRY_OK;
	if (stopping)
		return fail(fb, FERRY_ERR_STATE, NULL, 0, "fake broker destroyed");
	return fail(fb, FERRY_ERR_TIMEOUT, NULL, 0, "test_fake_go not called within %u ms", t);
}

static int run_step(struct test_fake *fb)
{
	switch (fb->steps[fb->cur].op) {
	case FAKE_ACCEPT:
		return do_accept(fb);
	case FAKE_EXPECT:
		return do_expect(fb);
	case FAKE_EXPECT_BYTES:
		return do_expect_bytes(fb);
	case FAKE_SEND:
		return do_send(fb, false);
	case FAKE_SEND_SPLIT:
		return do_send(fb, true);
	case FAKE_CLOSE:
	case FAKE_RESET:
		if (fb->cfd < 0)
			return fail(fb, FERRY_ERR_STATE, NULL, 0, "no connection to close");
		drop_conn(fb, fb->steps[fb->cur].op == FAKE_RESET);
		return FERRY_OK;
	case FAKE_EXPECT_CLOSE:
		return do_expect_close(fb);
	case FAKE_PING_AUTO:
	case FAKE_PING_MANUAL:
		fb->auto_ping = fb->steps[fb->cur].op == FAKE_PING_AUTO;
		return FERRY_OK;
	case FAKE_WAIT_GO:
		return do_wait_go(fb);
	case FAKE_END:
		break;
	}
	return fail(fb, FERRY_ERR_INVAL, NULL, 0, "unknown step");
}

static void *script_main(void *arg)
{
	struct test_fake *fb = arg;
	int rc = FERRY_OK;
	for (fb->cur = 0; fb->cur < fb->nsteps; fb->cur++) {
		rc = run_step(fb);
		pthread_mutex_lock(&fb->lock);
		if (rc == FERRY_OK)
			fb->progress = fb->cur + 1;
		pthread_cond_broadcast(&fb->cond);
		pthread_mutex_unlock(&fb->lock);
		if (rc)
			break;
	}
	pthread_mutex_lock(&fb->lock);
	fb->result = rc;
	fb->done = true;
	pthread_cond_broadcast(&fb->cond);
	pthread_mutex_unlock(&fb->lock);
	return NULL;
}

/* --- setup ------------------------------------------------------------------------- */

static int copy_script(struct test_fake *fb, const struct test_fake_step *script)
{
	size_t n = 0;
	while (script[n].op != FAKE_END)
		n++;
	fb->steps = calloc(n ? n : 1, sizeof *fb->steps);
	if (!fb->steps)
		return FERRY_ERR_NOMEM;
	fb->nsteps = n;
	for (size_t i = 0; i < n; i++) {
		const struct test_fake_step *in = &script[i];
		struct step *s = &fb->steps[i];
		*s = (struct step){.op = in->op, .type = in->type, .timeout_ms = in->timeout_ms};
		if ((unsigned)in->op > FAKE_WAIT_GO) {
			fprintf(stderr, "test_fake_start: step %zu: unknown op %d\n", i,
			        (int)in->op);
			return FERRY_ERR_INVAL;
		}
		if (!in->hex)
			continue;
		s->bytes = malloc(strlen(in->hex) + 1);
		if (!s->bytes)
			return FERRY_ERR_NOMEM;
		long len = parse_hex(in->hex, s->bytes);
		if (len < 0) {
			fprintf(stderr, "test_fake_start: step %zu: bad hex \"%s\"\n", i, in->hex);
			return FERRY_ERR_INVAL;
		}
		s->len = (size_t)len;
	}
	return FERRY_OK;
}

static int listen_local(struct test_fake *fb)
{
	fb->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fb->lfd < 0)
		return FERRY_ERR_STATE;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	if (bind(fb->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fb->lfd, 16) != 0 ||
	    getsockname(fb->lfd, (struct sockaddr *)&sa, &sl) != 0)
		return FERRY_ERR_STATE;
	fb->port = ntohs(sa.sin_port);
	snprintf(fb->uri, sizeof fb->uri, "tcp://127.0.0.1:%d", fb->port);
	return FERRY_OK;
}

static void free_all(struct test_fake *fb)
{
	if (fb->lfd >= 0)
		close(fb->lfd);
	if (fb->cfd >= 0)
		close(fb->cfd);
	if (fb->wake[0] >= 0)
		close(fb->wake[0]);
	if (fb->wake[1] >= 0)
		close(fb->wake[1]);
	for (size_t i = 0; i < fb->nsteps; i++)
		free(fb->steps[i].bytes);
	free(fb->steps);
	for (size_t i = 0; i < fb->nrecs; i++)
		free((void *)fb->recs[i].data);
	free(fb->recs);
	ferry__frame_reader_free(&fb->reader);
	pthread_cond_destroy(&fb->cond);
	pthread_mutex_destroy(&fb->lock);
	free(fb);
}

static struct test_fake *fake_new(const struct test_fake_opts *o)
{
	struct test_fake *fb = calloc(1, sizeof *fb);
	if (!fb)
		return NULL;
	fb->lfd = fb->cfd = fb->wake[0] = fb->wake[1] = -1;
	fb->version = o->version ? o->version : 4;
	fb->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	fb->auto_ping = o->auto_ping;
	pthread_mutex_init(&fb->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fb->cond, &ca);
	pthread_condattr_destroy(&ca);
	ferry__frame_reader_init(&fb->reader, 0, fb->version == 5);
	return fb;
}

int test_fake_start(struct test_fake **out, const struct test_fake_step *script,
                    const struct test_fake_opts *o)
{
	static const struct test_fake_opts defaults = {0};
	if (!out || !script)
		return FERRY_ERR_INVAL;
	*out = NULL;
	if (!o)
		o = &defaults;
	if (o->version != 0 && (o->version < 3 || o->version > 5)) {
		fprintf(stderr, "test_fake_start: version %u is not 3, 4 or 5\n", o->version);
		return FERRY_ERR_INVAL;
	}
	struct test_fake *fb = fake_new(o);
	if (!fb)
		return FERRY_ERR_NOMEM;
	int rc = copy_script(fb, script);
	if (!rc)
		rc = listen_local(fb);
	if (!rc && pipe2(fb->wake, O_CLOEXEC) != 0)
		rc = FERRY_ERR_STATE;
	if (!rc && pthread_create(&fb->thread, NULL, script_main, fb) != 0)
		rc = FERRY_ERR_STATE;
	if (rc) {
		free_all(fb);
		return rc;
	}
	*out = fb;
	return FERRY_OK;
}

/* --- queries ------------------------------------------------------------------------ */

int test_fake_port(const struct test_fake *fb)
{
	return fb->port;
}

const char *test_fake_uri(const struct test_fake *fb)
{
	return fb->uri;
}

/* Waits under the lock until done or progress >= step; returns the verdict. */
static int wait_until(struct test_fake *fb, size_t step, unsigned timeout_ms)
{
	unsigned t = timeout_ms ? timeout_ms : fb->timeout_ms;
	struct timespec ts = deadline_ts(t);
	int rc = FERRY_OK;
	pthread_mutex_lock(&fb->lock);
	for (;;) {
		if (fb->done && fb->result) {
			rc = fb->result;
			break;
		}
		if (fb->done || fb->progress >= step)
			break;
		if (pthread_cond_timedwait(&fb->cond, &fb->lock, &ts) == ETIMEDOUT) {
			rc = FERRY_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&fb->lock);
	return rc;
}

int test_fake_wait(struct test_fake *fb, unsigned timeout_ms)
{
	return wait_until(fb, (size_t)-1, timeout_ms);
}

int test_fake_wait_step(struct test_fake *fb, size_t step, unsigned timeout_ms)
{
	return wait_until(fb, step, timeout_ms);
}

void test_fake_go(struct test_fake *fb)
{
	pthread_mutex_lock(&fb->lock);
	fb->go++;
	pthread_cond_broadcast(&fb->cond);
	pthread_mutex_unlock(&fb->lock);
}

const char *test_fake_error(struct test_fake *fb, char *buf, size_t cap)
{
	pthread_mutex_lock(&fb->lock);
	if (fb->err[0] || fb->done)
		snprintf(buf, cap, "%s", fb->err);
	else
		snprintf(buf, cap, "script still running step %zu of %zu", fb->progress,
		         fb->nsteps);
	pthread_mutex_unlock(&fb->lock);
	return buf;
}

size_t test_fake_frame_count(struct test_fake *fb)
{
	pthread_mutex_lock(&fb->lock);
	size_t n = fb->nrecs;
	pthread_mutex_unlock(&fb->lock);
	return n;
}

int test_fake_frame(struct test_fake *fb, size_t i, struct test_fake_frame *out)
{
	int rc = FERRY_ERR_INVAL;
	pthread_mutex_lock(&fb->lock);
	if (i < fb->nrecs) {
		*out = fb->recs[i];
		rc = FERRY_OK;
	}
	pthread_mutex_unlock(&fb->lock);
	return rc;
}

unsigned test_fake_pings(struct test_fake *fb)
{
	pthread_mutex_lock(&fb->lock);
	unsigned n = fb->pings;
	pthread_mutex_unlock(&fb->lock);
	return n;
}

size_t test_fake_connections(struct test_fake *fb)
{
	pthread_mutex_lock(&fb->lock);
	size_t n = fb->nconn;
	pthread_mutex_unlock(&fb->lock);
	return n;
}

void test_fake_destroy(struct test_fake *fb)
{
	if (!fb)
		return;
	pthread_mutex_lock(&fb->lock);
	fb->stopping = true;
	pthread_cond_broadcast(&fb->cond);
	pthread_mutex_unlock(&fb->lock);
	ssize_t w;
	do
		w = write(fb->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(fb->thread, NULL);
	free_all(fb);
}

/*
 * proxy.c - the fault-injecting TCP proxy (see proxy.h).
 *
 * Threads: the test's thread(s) and one proxy thread per proxy.
 *  - The proxy thread alone owns the sockets, the connection table, the
 *    queues, `cur` (the settings in force) and `local` (counters being
 *    updated). It blocks in poll() on the wake pipe, the listening socket
 *    and the connection sockets, with the next delayed chunk's release time
 *    as timeout.
 *  - `lock` guards `want` (settings asked for), `gen`, `applied`, `cut_req`,
 *    `stopping`, `dead` and `stats` (the published counters); `cond` is
 *    broadcast every time the proxy thread publishes (each round).
 *  - A control call edits `want`, bumps `gen`, writes the wake pipe and waits
 *    until `applied` reaches its gen: the proxy thread copies `want` to `cur`,
 *    performs any cut, drops blackholed queues, and only then publishes
 *    `applied`, so once the call returns no byte moves under the old setting.
 *
 * A connection has side 0 (the client, accepted) and side 1 (the broker,
 * connected to). Direction i reads side i and writes side 1 - i: direction 0
 * is "up" (client -> broker), direction 1 "down". States of a connection:
 *   CONNECTING (non-blocking connect to the target in progress; the client
 *     is not read) -> OPEN (forwarding) or DOOMED (connect failed)
 *   OPEN -> DOOMED by the rules in tidy(): a peer failed in a direction not
 *     blackholed, or both peers are finished; or closed at once by a cut.
 *   DOOMED connections are closed and removed at the start of the next round.
 * Each direction: rd_open until its source gives EOF or an error; `shut` once
 * the EOF was passed on (shutdown(SHUT_WR) of the destination). Chunks wait
 * in a FIFO with a release time (delay mode), at most TEST_PROXY_QUEUE_MAX
 * bytes; the source is not polled for input while the queue is full.
 */
#include "proxy.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ferry/error.h"

#define CONTROL_WAIT_MS 10000 /* bound of a control call's wait for the proxy thread */
#define READ_CHUNK      16384 /* bytes read per recv() */
#define ACCEPT_BURST    64    /* connections accepted per round at most */
#define ACCEPT_RETRY_MS 100   /* pause after accept() failed for want of descriptors */

struct chunk {
	struct chunk *next;
	int64_t release_ms; /* not written before this time */
	size_t len, off;    /* off: bytes already written */
	uint8_t data[];
};

struct dir {
	struct chunk *head, *tail;
	size_t queued; /* bytes waiting (unwritten parts of the chunks) */
	bool rd_open;  /* the source may still send */
	bool shut;     /* the source's EOF was passed on to the destination */
};

struct conn {
	int fd[2];       /* 0: client side, 1: broker side */
	bool connecting; /* connect to the target in progress */
	bool doomed;     /* to be closed at the start of the next round */
	bool err[2];     /* that socket failed (reset, write error): unusable */
	struct dir d[2]; /* d[i] reads fd[i] and writes fd[1 - i] */
};

struct settings {
	enum test_proxy_mode mode;
	unsigned delay_ms;
	bool fragment;
};

struct test_proxy {
	/* fixed after start */
	int port;
	int target_port;
	char uri[48];
	int lfd;
	int wake[2];
	pthread_t thread;
	/* owned by the proxy thread */
	struct conn *conns[TEST_PROXY_MAX_CONNS];
	size_t nconns;
	struct pollfd pfd[2 + 2 * TEST_PROXY_MAX_CONNS];
	uint8_t rbuf[READ_CHUNK];
	struct settings cur;
	struct test_proxy_stats local;
	int64_t accept_paused_until; /* accept() failed for want of resources: retry then */
	/* guarded by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct settings want;
	uint64_t gen, applied, cut_req;
	bool stopping;
	bool dead; /* the proxy thread stopped after a system error */
	struct test_proxy_stats stats;
};


static struct timespec deadline_ts(int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Whether direction i (0 up, 1 down) drops its bytes in mode m. */
static bool blackholed(enum test_proxy_mode m, int i)
{
	return m == TEST_PROXY_BLACKHOLE || (m == TEST_PROXY_BLACKHOLE_UP && i == 0) ||
	       (m == TEST_PROXY_BLACKHOLE_DOWN && i == 1);
}

static void set_nodelay(int fd)
{
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* --- queues ------------------------------------------------------------------------ */

/* Frees the chunks of d; returns the bytes that were still unwritten. */
static uint64_t drop_queue(struct dir *d)
{
	uint64_t n = d->queued;
	while (d->head) {
		struct chunk *ch = d->head;
		d->head = ch->next;
		free(ch);
	}
	d->tail = NULL;
	d->queued = 0;
	return n;
}

/*
 * Appends n bytes to d, released delay_ms from now. Order needs no help
 * (only the head is ever written), but release times are kept monotonic so
 * the head's time is the queue's earliest.
 */
static int enqueue(struct dir *d, const uint8_t *p, size_t n, unsigned delay_ms)
{
	struct chunk *ch = malloc(sizeof *ch + n);
	if (!ch)
		return FERRY_ERR_NOMEM;
	ch->next = NULL;
	ch->release_ms = test_now_ms() + (int64_t)delay_ms;
	if (d->tail && d->tail->release_ms > ch->release_ms)
		ch->release_ms = d->tail->release_ms;
	ch->len = n;
	ch->off = 0;
	memcpy(ch->data, p, n);
	if (d->tail)
		d->tail->next = ch;
	else
		d->head = ch;
	d->tail = ch;
	d->queued += n;
	return FERRY_OK;
}

/* --- connections ------------------------------------------------------------------- */

static void conn_close(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->fd[i] >= 0)
			close(c->fd[i]);
		drop_queue(&c->d[i]);
	}
	free(c);
}

/* Closes and removes connection k (the last one takes its place). */
static void conn_remove(struct test_proxy *p, size_t k)
{
	conn_close(p->conns[k]);
	p->conns[k] = p->conns[--p->nconns];
	p->accept_paused_until = 0; /* a descriptor was freed */
}

/* Starts a non-blocking connect to 127.0.0.1:target_port; the socket or -1. */
static int connect_target(struct test_proxy *p, bool *in_progress)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_nodelay(fd);
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)p->target_port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*in_progress = false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return fd;
	if (errno == EINPROGRESS) {
		*in_progress = true;
		return fd;
	}
	close(fd);
	return -1;
}

/* Takes an accepted client socket: refuses it or adds a connection. */
static void admit(struct test_proxy *p, int cfd)
{
	p->local.accepted++;
	if (p->cur.mode == TEST_PROXY_REFUSE || p->nconns == TEST_PROXY_MAX_CONNS) {
		close(cfd);
		p->local.refused++;
		return;
	}
	set_nodelay(cfd);
	struct conn *c = calloc(1, sizeof *c);
	bool in_progress = false;
	int bfd = c ? connect_target(p, &in_progress) : -1;
	if (bfd < 0) {
		close(cfd);
		free(c);
		p->local.failed++;
		return;
	}
	c->fd[0] = cfd;
	c->fd[1] = bfd;
	c->connecting = in_progress;
	c->d[0].rd_open = c->d[1].rd_open = true;
	p->conns[p->nconns++] = c;
}

static void accept_some(struct test_proxy *p)
{
	for (int n = 0; n < ACCEPT_BURST; n++) {
		int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			admit(p, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) /* EMFILE and the like */
			p->accept_paused_until = test_now_ms() + ACCEPT_RETRY_MS;
		return;
	}
}

/* Closes every connection (a cut). */
static void cut_all(struct test_proxy *p)
{
	p->local.cut_connections += p->nconns;
	p->local.cuts++;
	while (p->nconns)
		conn_remove(p, p->nconns - 1);
}

/*
 * Applies the rules of proxy.h to one connection after a change of state or
 * setting: drops blackholed or undeliverable queues, passes on EOFs and
 * failures that are not blackholed, and dooms the connection when nothing
 * more can flow.
 */
static void tidy(struct test_proxy *p, struct conn *c)
{
	if (c->doomed || c->connecting)
		return;
	for (int i = 0; i < 2; i++) {
		struct dir *d = &c->d[i];
		int dst = 1 - i;
		bool bh = blackholed(p->cur.mode, i);
		if (bh)
			*(i == 0 ? &p->local.dropped_up : &p->local.dropped_down) += drop_queue(d);
		else if (c->err[dst])
			drop_queue(d);
		if (c->err[i] && !bh) {
			c->doomed = true; /* the peer's failure reaches the other peer */
			return;
		}
		if (!d->rd_open && !bh && !d->head && !d->shut && !c->err[dst]) {
			(void)shutdown(c->fd[dst], SHUT_WR);
			d->shut = true;
		}
	}
	if (!c->d[0].rd_open && !c->d[1].rd_open && !c->d[0].head && !c->d[1].head)
		c->doomed = true; /* both peers are finished */
}

/* --- I/O ---------------------------------------------------------------------------------- */

/* Reads once from side i into direction i (or drops what it read if blackholed). */
static void do_read(struct test_proxy *p, struct conn *c, int i)
{
	ssize_t n = recv(c->fd[i], p->rbuf, sizeof p->rbuf, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		c->d[i].rd_open = false;
		c->err[i] = n < 0;
		return;
	}
	*(i == 0 ? &p->local.received_up : &p->local.received_down) += (uint64_t)n;
	if (blackholed(p->cur.mode, i))
		*(i == 0 ? &p->local.dropped_up : &p->local.dropped_down) += (uint64_t)n;
	else if (enqueue(&c->d[i], p->rbuf, (size_t)n, p->cur.delay_ms) != FERRY_OK)
		c->doomed = true; /* out of memory: give this connection up */
}

/* Writes the released chunks of direction i to side 1 - i until it would block. */
static void do_write(struct test_proxy *p, struct conn *c, int i, int64_t now)
{
	struct dir *d = &c->d[i];
	int fd = c->fd[1 - i];
	uint64_t *count = i == 0 ? &p->local.bytes_up : &p->local.bytes_down;
	while (d->head && d->head->release_ms <= now) {
		struct chunk *ch = d->head;
		size_t want = p->cur.fragment ? 1 : ch->len - ch->off;
		ssize_t w = send(fd, ch->data + ch->off, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w < 0) {
			c->err[1 - i] = true;
			c->d[1 - i].rd_open = false;
			drop_queue(d);
			return;
		}
		ch->off += (size_t)w;
		d->queued -= (size_t)w;
		*count += (uint64_t)w;
		if (ch->off == ch->len) {
			d->head = ch->next;
			if (!d->head)
				d->tail = NULL;
			free(ch);
		}
	}
}

/* Finishes a non-blocking connect to the target. */
static void finish_connect(struct test_proxy *p, struct conn *c)
{
	int e = 0;
	socklen_t len = sizeof e;
	if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &e, &len) != 0 || e != 0) {
		c->doomed = true;
		p->local.failed++;
		return;
	}
	c->connecting = false;
}

/* Poll events wanted on side s of c (0: none, the socket is left out of the poll). */
static short side_events(const struct conn *c, int s, int64_t now, int64_t *next)
{
	if (c->connecting)
		return s == 1 ? POLLOUT : 0;
	if (c->err[s])
		return 0;
	short ev = 0;
	if (c->d[s].rd_open && c->d[s].queued < TEST_PROXY_QUEUE_MAX)
		ev |= POLLIN;
	const struct chunk *h = c->d[1 - s].head;
	if (h && h->release_ms <= now)
		ev |= POLLOUT;
	else if (h && (*next < 0 || h->release_ms < *next))
		*next = h->release_ms;
	return ev;
}

/* Fills the poll set; returns the poll timeout in ms (-1: none). */
static int build_poll(struct test_proxy *p, int64_t now)
{
	int64_t next = -1;
	bool paused = now < p->accept_paused_until;
	if (paused)
		next = p->accept_paused_until;
	p->pfd[0] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
	p->pfd[1] = (struct pollfd){.fd = paused ? -1 : p->lfd, .events = POLLIN};
	for (size_t k = 0; k < p->nconns; k++)
		for (int s = 0; s < 2; s++) {
			struct pollfd *f = &p->pfd[2 + 2 * k + (size_t)s];
			f->events = side_events(p->conns[k], s, now, &next);
			f->fd = f->events ? p->conns[k]->fd[s] : -1;
			f->revents = 0;
		}
	if (next < 0)
		return -1;
	return next - now > 60000 ? 60000 : (int)(next - now);
}

/* Acts on the events poll reported for connection k. */
static void serve(struct test_proxy *p, size_t k, int64_t now)
{
	struct conn *c = p->conns[k];
	const struct pollfd *f = &p->pfd[2 + 2 * k];
	if (c->connecting) {
		if (f[1].revents)
			finish_connect(p, c);
		return;
	}
	for (int s = 0; s < 2; s++) {
		short r = f[s].revents;
		if (!r)
			continue;
		if ((f[s].events & POLLIN) && (r & (POLLIN | POLLHUP | POLLERR)))
			do_read(p, c, s);
		if ((f[s].events & POLLOUT) && (r & (POLLOUT | POLLHUP | POLLERR)) && !c->err[s])
			do_write(p, c, 1 - s, now);
	}
}

/* --- the proxy thread --------------------------------------------------------------- */

/*
 * Takes the wanted settings, performs a requested cut, tidies every
 * connection, closes the doomed ones and publishes counters and progress.
 * Returns true when the proxy is to stop.
 */
static bool round_start(struct test_proxy *p, uint64_t *cuts_done)
{
	pthread_mutex_lock(&p->lock);
	bool stop = p->stopping;
	p->cur = p->want;
	uint64_t gen = p->gen, cut_req = p->cut_req;
	pthread_mutex_unlock(&p->lock);
	if (cut_req > *cuts_done) {
		cut_all(p);
		*cuts_done = cut_req;
	}
	for (size_t k = 0; k < p->nconns;) {
		tidy(p, p->conns[k]);
		if (p->conns[k]->doomed)
			conn_remove(p, k);
		else
			k++;
	}
	p->local.active = p->nconns;
	pthread_mutex_lock(&p->lock);
	p->applied = gen;
	p->stats = p->local;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return stop;
}

static void drain_wake(int fd)
{
	char b[64];
	while (read(fd, b, sizeof b) > 0)
		;
}

static void *proxy_main(void *arg)
{
	struct test_proxy *p = arg;
	uint64_t cuts_done = 0;
	while (!round_start(p, &cuts_done)) {
		int timeout = build_poll(p, test_now_ms());
		size_t n = p->nconns;
		int r = poll(p->pfd, 2 + 2 * n, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perror("test proxy: poll");
			break;
		}
		int64_t now = test_now_ms();
		if (p->pfd[0].revents)
			drain_wake(p->wake[0]);
		for (size_t k = 0; k < n; k++)
			serve(p, k, now);
		if (p->pfd[1].revents)
			accept_some(p);
	}
	pthread_mutex_lock(&p->lock);
	p->dead = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* --- start and destroy ------------------------------------------------------------- */

static int listen_local(struct test_proxy *p)
{
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0)
		return FERRY_ERR_STATE;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	if (bind(p->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(p->lfd, 128) != 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&sa, &len) != 0)
		return FERRY_ERR_STATE;
	p->port = ntohs(sa.sin_port);
	snprintf(p->uri, sizeof p->uri, "tcp://127.0.0.1:%d", p->port);
	return FERRY_OK;
}

/* Frees what start made; the thread must not be running. */
static void free_all(struct test_proxy *p)
{
	while (p->nconns)
		conn_remove(p, p->nconns - 1);
	if (p->lfd >= 0)
		close(p->lfd);
	for (int i = 0; i < 2; i++)
		if (p->wake[i] >= 0)
			close(p->wake[i]);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int test_proxy_start(struct test_proxy **out, int target_port)
{
	if (!out)
		return FERRY_ERR_INVAL;
	*out = NULL;
	if (target_port < 1 || target_port > 65535)
		return FERRY_ERR_INVAL;
	struct test_proxy *p = calloc(1, sizeof *p);
	if (!p)
		return FERRY_ERR_NOMEM;
	p->lfd = p->wake[0] = p->wake[1] = -1;
	p->target_port = target_port;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	int rc = listen_local(p);
	if (!rc && pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		rc = FERRY_ERR_STATE;
	if (!rc && pthread_create(&p->thread, NULL, proxy_main, p) != 0)
		rc = FERRY_ERR_STATE;
	if (rc) {
		free_all(p);
		return rc;
	}
	*out = p;
	return FERRY_OK;
}

void test_proxy_destroy(struct test_proxy *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_mutex_unlock(&p->lock);
	ssize_t w;
	do
		w = write(p->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(p->thread, NULL);
	free_all(p);
}

/* --- controls and queries ------------------------------------------------------------ */

const char *test_proxy_uri(const struct test_proxy *p)
{
	return p->uri;
}

int test_proxy_port(const struct test_proxy *p)
{
	return p->port;
}

/* Wakes the proxy thread and waits until it has applied generation gen. */
static int wait_applied(struct test_proxy *p, uint64_t gen)
{
	ssize_t w;
	do
		w = write(p->wake[1], "x", 1);
	while (w < 0 && errno == EINTR); /* EAGAIN: a wake-up is already pending */
	struct timespec ts = deadline_ts(CONTROL_WAIT_MS);
	int rc = FERRY_OK;
	pthread_mutex_lock(&p->lock);
	while (p->applied < gen && !p->dead)
		if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT) {
			rc = FERRY_ERR_TIMEOUT;
			break;
		}
	if (p->applied < gen && p->dead)
		rc = FERRY_ERR_STATE;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Changes the wanted settings (and asks for a cut) under the lock, then waits. */
static int control(struct test_proxy *p, const struct settings *s, bool cut)
{
	if (!p)
		return FERRY_ERR_INVAL;
	pthread_mutex_lock(&p->lock);
	if (s)
		p->want = *s;
	if (cut)
		p->cut_req++;
	uint64_t gen = ++p->gen;
	pthread_mutex_unlock(&p->lock);
	return wait_applied(p, gen);
}

/* The settings now wanted (a copy, taken under the lock). */
static struct settings wanted(struct test_proxy *p)
{
	pthread_mutex_lock(&p->lock);
	struct settings s = p->want;
	pthread_mutex_unlock(&p->lock);
	return s;
}

int test_proxy_set(struct test_proxy *p, enum test_proxy_mode mode)
{
	if (!p || mode < TEST_PROXY_PASS || mode > TEST_PROXY_BLACKHOLE_DOWN)
		return FERRY_ERR_INVAL;
	struct settings s = wanted(p);
	s.mode = mode;
	return control(p, &s, false);
}

int test_proxy_cut(struct test_proxy *p)
{
	return control(p, NULL, true);
}

int test_proxy_set_delay(struct test_proxy *p, unsigned ms)
{
	if (!p)
		return FERRY_ERR_INVAL;
	struct settings s = wanted(p);
	s.delay_ms = ms;
	return control(p, &s, false);
}

int test_proxy_set_fragment(struct test_proxy *p, bool on)
{
	if (!p)
		return FERRY_ERR_INVAL;
	struct settings s = wanted(p);
	s.fragment = on;
	return control(p, &s, false);
}

int test_proxy_heal(struct test_proxy *p)
{
	static const struct settings normal = {.mode = TEST_PROXY_PASS};
	return control(p, &normal, false);
}

int test_proxy_get_stats(struct test_proxy *p, struct test_proxy_stats *out)
{
	if (!p || !out)
		return FERRY_ERR_INVAL;
	int rc = control(p, NULL, false); /* a round ends: what peers got is counted */
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int test_proxy_wait_stats(struct test_proxy *p, test_proxy_pred pred, void *arg, int timeout_ms)
{
	if (!p || !pred)
		return FERRY_ERR_INVAL;
	struct timespec ts = deadline_ts(timeout_ms);
	int rc = FERRY_OK;
	pthread_mutex_lock(&p->lock);
	while (!pred(&p->stats, arg)) {
		if (p->dead) {
			rc = FERRY_ERR_STATE;
			break;
		}
		if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT) {
			rc = pred(&p->stats, arg) ? FERRY_OK : FERRY_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static bool accepted_at_least(const struct test_proxy_stats *s, void *arg)
{
	return s->accepted >= *(const uint64_t *)arg;
}

static bool active_exactly(const struct test_proxy_stats *s, void *arg)
{
	return s->active == *(const uint64_t *)arg;
}

int test_proxy_wait_accepted(struct test_proxy *p, uint64_t n, int timeout_ms)
{
	return test_proxy_wait_stats(p, accepted_at_least, &n, timeout_ms);
}

int test_proxy_wait_active(struct test_proxy *p, uint64_t n, int timeout_ms)
{
	return test_proxy_wait_stats(p, active_exactly, &n, timeout_ms);
}

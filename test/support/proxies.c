/*
 * proxies.c - HTTP CONNECT and SOCKS5 proxies for the tests (see proxies.h).
 *
 * One accept thread per proxy; one thread per connection, which does the
 * handshake with blocking reads (each preceded by a poll that also watches
 * the stop pipe) and then relays with poll. Stopping writes one byte to the
 * stop pipe and never reads it, so every poll from then on sees it.
 */
#include "proxies.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base64.h"
#include "ferry/error.h"

struct conn {
	struct test_tunnel_proxy *p;
	pthread_t thread;
	int cfd;   /* the client */
	int tfd;   /* the target, -1 before the tunnel */
	bool used; /* slot taken (thread started, not joined) */
	bool done; /* the thread has finished (under p->mu) */
};

struct test_tunnel_proxy {
	int type;
	bool auth;
	char user[256], pass[256];
	char basic[FERRY_BASE64_LEN(511) + 1]; /* expected basic credentials */
	int lfd, port;
	int stop[2]; /* pipe: readable once stopping */
	pthread_t thread;
	pthread_mutex_t mu; /* guards st and the slots' used/done */
	struct test_tunnel_proxy_stats st;
	struct conn conns[TEST_TUNNEL_PROXY_MAX_CONNS];
};

enum { COUNT_TUNNEL, COUNT_AUTH, COUNT_REFUSED };

static void count(struct test_tunnel_proxy *p, int what)
{
	pthread_mutex_lock(&p->mu);
	if (what == COUNT_TUNNEL) {
		p->st.tunnels++;
		p->st.open++;
	} else if (what == COUNT_AUTH) {
		p->st.auth_refused++;
	} else {
		p->st.refused++;
	}
	pthread_mutex_unlock(&p->mu);
}

/* ---- blocking I/O that a stop interrupts -------------------------------------- */

/* Waits until fd is readable; false when the proxy is stopping. */
static bool wait_readable(struct conn *c, int fd)
{
	struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
	                       {.fd = c->p->stop[0], .events = POLLIN}};
	for (;;) {
		int n = poll(pf, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		return n > 0 && !pf[1].revents;
	}
}

/* Reads exactly n bytes from the client; false on EOF, error or stop. */
static bool read_full(struct conn *c, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		if (!wait_readable(c, c->cfd))
			return false;
		ssize_t r = recv(c->cfd, (char *)buf + got, n - got, 0);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static bool write_all(int fd, const void *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t w = send(fd, (const char *)buf + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	return true;
}

static bool write_str(int fd, const char *s)
{
	return write_all(fd, s, strlen(s));
}

/* Connects to 127.0.0.1:port; the socket, or -errno. */
static int connect_target(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static bool local_host(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0;
}

/* Relays both ways until either side closes or fails, or the proxy stops. */
static void relay(struct conn *c)
{
	char buf[16384];
	struct pollfd pf[3] = {{.fd = c->cfd, .events = POLLIN},
	                       {.fd = c->tfd, .events = POLLIN},
	                       {.fd = c->p->stop[0], .events = POLLIN}};
	for (;;) {
		int n = poll(pf, 3, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || pf[2].revents)
			return;
		for (int i = 0; i < 2; i++) {
			if (!pf[i].revents)
				continue;
			ssize_t r = recv(pf[i].fd, buf, sizeof buf, 0);
			if (r <= 0 || !write_all(pf[1 - i].fd, buf, (size_t)r))
				return;
		}
	}
}

/* ---- HTTP CONNECT -------------------------------------------------------------- */

/* Reads the request header byte by byte, so the bytes after it stay in the socket. */
static bool http_read_head(struct conn *c, char *head, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		if (!read_full(c, head + n, 1))
			return false;
		head[++n] = 0;
		if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
			return true;
	}
	return false;
}

/* "CONNECT host:port HTTP/1.x": host (brackets removed) and port; false if malformed. */
static bool http_target(const char *head, char *target, size_t tcap, char *host, size_t hcap,
                        uint16_t *port)
{
	const char *sp = strchr(head + 8, ' ');
	size_t tlen = sp ? (size_t)(sp - (head + 8)) : 0;
	if (!sp || tlen == 0 || tlen >= tcap || strncmp(sp, " HTTP/1.", 8) != 0)
		return false;
	memcpy(target, head + 8, tlen);
	target[tlen] = 0;
	const char *colon = strrchr(target, ':');
	if (!colon || colon == target)
		return false;
	const char *h = target, *hend = colon;
	if (target[0] == '[') {
		if (colon[-1] != ']')
			return false;
		h++;
		hend--;
	}
	char *end;
	long v = strtol(colon + 1, &end, 10);
	if (*end || v <= 0 || v > 65535 || (size_t)(hend - h) >= hcap)
		return false;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = 0;
	*port = (uint16_t)v;
	return true;
}

/* Whether the header block carries the expected Proxy-Authorization. */
static bool http_authorized(const struct test_tunnel_proxy *p, const char *head)
{
	static const char name[] = "\r\nProxy-Authorization:";
	for (const char *s = head; (s = strchr(s, '\r')) != NULL; s++) {
		if (strncasecmp(s, name, sizeof name - 1) != 0)
			continue;
		const char *v = s + sizeof name - 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t blen = strlen(p->basic);
		return strncasecmp(v, "Basic ", 6) == 0 && strncmp(v + 6, p->basic, blen) == 0 &&
		       v[6 + blen] == '\r';
	}
	return false;
}

static void http_refuse(struct conn *c, int what, const char *status)
{
	char ans[256];
	snprintf(ans, sizeof ans, "HTTP/1.1 %s\r\n%sContent-Length: 0\r\n\r\n", status,
	         what == COUNT_AUTH ? "Proxy-Authenticate: Basic realm=\"ferry-test\"\r\n" : "");
	count(c->p, what);
	write_str(c->cfd, ans);
}

static void http_serve(struct conn *c)
{
	struct test_tunnel_proxy *p = c->p;
	char head[4096], target[300], host[300];
	uint16_t port = 0;
	if (!http_read_head(c, head, sizeof head))
		return;
	bool ok = http_target(head, target, sizeof target, host, sizeof host, &port);
	pthread_mutex_lock(&p->mu);
	snprintf(p->st.head, sizeof p->st.head, "%s", head);
	snprintf(p->st.target, sizeof p->st.target, "%s", ok ? target : "");
	p->st.user[0] = 0;
	pthread_mutex_unlock(&p->mu);
	const char *refusal = NULL;
	int what = COUNT_REFUSED;
	if (strncmp(head, "CONNECT ", 8) != 0) {
		refusal = "405 Method Not Allowed";
	} else if (!ok) {
		refusal = "400 Bad Request";
	} else if (p->auth && !http_authorized(p, head)) {
		refusal = "407 Proxy Authentication Required";
		what = COUNT_AUTH;
	} else if (!local_host(host)) {
		refusal = "403 Forbidden";
	} else if ((c->tfd = connect_target(port)) < 0) {
		refusal = "502 Bad Gateway";
	}
	if (refusal) {
		http_refuse(c, what, refusal);
		return;
	}
	count(p, COUNT_TUNNEL);
	if (write_str(c->cfd, "HTTP/1.1 200 Connection established\r\n"
	                      "Proxy-Agent: ferry-test\r\n\r\n"))
		relay(c);
}

/* ---- SOCKS5 --------------------------------------------------------------------- */

static void socks_reply(struct conn *c, uint8_t rep, const uint8_t *addr, uint16_t port)
{
	uint8_t r[10] = {
	    0x05, rep, 0x00, 0x01, 0, 0, 0, 0, (uint8_t)(port >> 8), (uint8_t)(port & 0xffu)};
	if (addr)
		memcpy(r + 4, addr, 4);
	write_all(c->cfd, r, sizeof r);
}

/* Method choice and login; true when the client may send its request. */
static bool socks_login(struct conn *c)
{
	struct test_tunnel_proxy *p = c->p;
	uint8_t b[2], methods[255];
	if (!read_full(c, b, 2) || b[0] != 0x05 || !read_full(c, methods, b[1]))
		return false;
	uint8_t want = p->auth ? 0x02 : 0x00;
	if (!memchr(methods, want, b[1])) {
		count(p, COUNT_AUTH);
		write_all(c->cfd, "\x05\xff", 2);
		return false;
	}
	uint8_t choice[2] = {0x05, want};
	if (!write_all(c->cfd, choice, 2))
		return false;
	if (!p->auth)
		return true;
	char user[256] = "", pass[256] = "";
	uint8_t len;
	if (!read_full(c, b, 2) || b[0] != 0x01 || !read_full(c, user, b[1]) ||
	    !read_full(c, &len, 1) || !read_full(c, pass, len))
		return false;
	pthread_mutex_lock(&p->mu);
	snprintf(p->st.user, sizeof p->st.user, "%s", user);
	pthread_mutex_unlock(&p->mu);
	bool good = strcmp(user, p->user) == 0 && strcmp(pass, p->pass) == 0;
	if (!good)
		count(p, COUNT_AUTH);
	write_all(c->cfd, good ? "\x01\x00" : "\x01\x01", 2);
	return good;
}

/* The CONNECT request: host and port; *rep non-zero when it is refused as such. */
static bool socks_request(struct conn *c, char *host, uint16_t *port, uint8_t *rep)
{
	uint8_t h[4], a[256], pb[2];
	*rep = 0;
	if (!read_full(c, h, 4) || h[0] != 0x05)
		return false;
	if (h[3] == 0x01) {
		if (!read_full(c, a, 4))
			return false;
		snprintf(host, 256, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	} else if (h[3] == 0x03) {
		uint8_t len;
		if (!read_full(c, &len, 1) || !read_full(c, a, len))
			return false;
		memcpy(host, a, len);
		host[len] = 0;
	} else {
		*rep = 0x08;
		return true;
	}
	if (!read_full(c, pb, 2))
		return false;
	*port = (uint16_t)((unsigned)pb[0] << 8 | pb[1]);
	if (h[1] != 0x01)
		*rep = 0x07;
	return true;
}

static void socks_serve(struct conn *c)
{
	struct test_tunnel_proxy *p = c->p;
	char host[257] = "";
	uint16_t port = 0;
	uint8_t rep = 0;
	if (!socks_login(c) || !socks_request(c, host, &port, &rep))
		return;
	pthread_mutex_lock(&p->mu);
	snprintf(p->st.target, sizeof p->st.target, "%s:%u", host, (unsigned)port);
	p->st.head[0] = 0;
	if (!p->auth)
		p->st.user[0] = 0;
	pthread_mutex_unlock(&p->mu);
	if (!rep && !local_host(host))
		rep = 0x02;
	if (!rep) {
		c->tfd = connect_target(port);
		if (c->tfd < 0)
			rep = c->tfd == -ECONNREFUSED ? 0x05 : 0x01;
	}
	if (rep) {
		count(p, COUNT_REFUSED);
		socks_reply(c, rep, NULL, 0);
		return;
	}
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	getsockname(c->tfd, (struct sockaddr *)&sa, &sl);
	count(p, COUNT_TUNNEL);
	socks_reply(c, 0x00, (const uint8_t *)&sa.sin_addr.s_addr, ntohs(sa.sin_port));
	relay(c);
}

/* ---- threads ---------------------------------------------------------------------- */

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	if (c->p->type == TEST_TUNNEL_HTTP)
		http_serve(c);
	else
		socks_serve(c);
	pthread_mutex_lock(&c->p->mu);
	if (c->tfd >= 0)
		c->p->st.open--;
	c->done = true;
	pthread_mutex_unlock(&c->p->mu);
	if (c->tfd >= 0)
		close(c->tfd);
	close(c->cfd);
	return NULL;
}

/* Joins the finished connection threads (all of them with wait_all). */
static void reap(struct test_tunnel_proxy *p, bool wait_all)
{
	for (int i = 0; i < TEST_TUNNEL_PROXY_MAX_CONNS; i++) {
		struct conn *c = &p->conns[i];
		pthread_mutex_lock(&p->mu);
		bool join = c->used && (c->done || wait_all);
		pthread_mutex_unlock(&p->mu);
		if (!join)
			continue;
		pthread_join(c->thread, NULL);
		c->used = false;
	}
}

static void start_conn(struct test_tunnel_proxy *p, int fd)
{
	reap(p, false);
	for (int i = 0; i < TEST_TUNNEL_PROXY_MAX_CONNS; i++) {
		struct conn *c = &p->conns[i];
		if (c->used)
			continue;
		*c = (struct conn){.p = p, .cfd = fd, .tfd = -1, .used = true};
		if (pthread_create(&c->thread, NULL, conn_main, c) == 0)
			return;
		c->used = false;
		break;
	}
	close(fd);
}

static void *accept_main(void *arg)
{
	struct test_tunnel_proxy *p = arg;
	struct pollfd pf[2] = {{.fd = p->lfd, .events = POLLIN},
	                       {.fd = p->stop[0], .events = POLLIN}};
	for (;;) {
		int n = poll(pf, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || pf[1].revents)
			break;
		int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_mutex_lock(&p->mu);
		p->st.accepted++;
		pthread_mutex_unlock(&p->mu);
		start_conn(p, fd);
	}
	reap(p, true);
	return NULL;
}

static int listen_local(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

int test_tunnel_proxy_start(struct test_tunnel_proxy **out, const struct test_tunnel_proxy_opts *o)
{
	if (!out || !o || (o->type != TEST_TUNNEL_HTTP && o->type != TEST_TUNNEL_SOCKS5))
		return FERRY_ERR_INVAL;
	*out = NULL;
	const char *user = o->user, *pass = o->pass ? o->pass : "";
	if (user && (strlen(user) > 255 || strlen(pass) > 255))
		return FERRY_ERR_INVAL;
	struct test_tunnel_proxy *p = calloc(1, sizeof *p);
	if (!p)
		return FERRY_ERR_NOMEM;
	p->type = o->type;
	p->auth = user != NULL;
	if (user) {
		snprintf(p->user, sizeof p->user, "%s", user);
		snprintf(p->pass, sizeof p->pass, "%s", pass);
		char cred[512];
		int n = snprintf(cred, sizeof cred, "%s:%s", p->user, p->pass);
		ferry__base64_encode((const uint8_t *)cred, (size_t)n, p->basic, sizeof p->basic);
	}
	pthread_mutex_init(&p->mu, NULL);
	p->stop[0] = p->stop[1] = -1;
	p->lfd = listen_local(&p->port);
	if (p->lfd < 0 || pipe2(p->stop, O_CLOEXEC) != 0 ||
	    pthread_create(&p->thread, NULL, accept_main, p) != 0) {
		if (p->lfd >= 0)
			close(p->lfd);
		if (p->stop[0] >= 0) {
			close(p->stop[0]);
			close(p->stop[1]);
		}
		pthread_mutex_destroy(&p->mu);
		free(p);
		return FERRY_ERR_STATE;
	}
	*out = p;
	return FERRY_OK;
}

int test_tunnel_proxy_port(const struct test_tunnel_proxy *p)
{
	return p->port;
}

void test_tunnel_proxy_stats(struct test_tunnel_proxy *p, struct test_tunnel_proxy_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->st;
	pthread_mutex_unlock(&p->mu);
}

void test_tunnel_proxy_stop(struct test_tunnel_proxy *p)
{
	if (!p)
		return;
	ssize_t w;
	do
		w = write(p->stop[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(p->thread, NULL);
	close(p->lfd);
	close(p->stop[0]);
	close(p->stop[1]);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/*
 * test_proxy.c - the fault proxy (test/support/proxy.h) on its own, with raw
 * sockets, and the ferry client through it to a real mosquitto: pass,
 * fragment, delay, cut, refuse, and a dead link (blackhole both ways or one
 * way) that the client must notice by its keepalive. Detection times are
 * measured and printed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "support/proxy.h"
#include "unit/util.h"

#define RAW_WAIT_MS 5000

static struct test_broker broker;
static const char *broker_uri;

static int suite_init(void)
{
	int rc = test_broker_start(&broker, NULL);
	if (rc) {
		fprintf(stderr, "broker: %s\n", test_broker_error(&broker));
		return 1;
	}
	broker_uri = test_broker_uri(&broker);
	return 0;
}

static int suite_clean(void)
{
	test_broker_cleanup(&broker);
	return 0;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static struct test_proxy *proxy_to_broker(void)
{
	struct test_proxy *px = NULL;
	int rc = test_proxy_start(&px, test_broker_port(&broker));
	CU_ASSERT_EQUAL_FATAL(rc, FERRY_OK);
	return px;
}

/*
 * A client through the proxy with the given keepalive, connected; NULL on
 * failure. Without auto-reconnect: these tests call ferry_connect
 * themselves after a loss, so that what they measure is the proxy's fault
 * and the client's detection, not the backoff's timing.
 */
static ferry_client *connect_via(struct itest_rec *r, struct test_proxy *px, const char *id,
                                 int keepalive_s)
{
	struct ferry_client_options o;
	itest_options(&o, r, test_proxy_uri(px), id);
	o.keepalive_s = keepalive_s;
	o.auto_reconnect = false;
	ferry_client *c = NULL;
	CU_ASSERT_EQUAL_FATAL(ferry_client_create(&o, &c), FERRY_OK);
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(c, NULL, &t), FERRY_OK);
	int rc = ferry_wait(c, t, ITEST_WAIT_MS);
	ASSERT_RC(rc, FERRY_OK);
	if (rc) {
		ferry_client_destroy(c);
		return NULL;
	}
	return c;
}

/* Connects an existing client again and waits; returns the connect's rc. */
static int reconnect(ferry_client *c)
{
	ferry_token t = 0;
	int rc = ferry_connect(c, NULL, &t);
	return rc ? rc : ferry_wait(c, t, ITEST_WAIT_MS);
}

/* The payload of message i of a batch: a pattern that differs per index and QoS. */
static void fill_payload(uint8_t *p, size_t len, int i, int qos)
{
	for (size_t k = 0; k < len; k++)
		p[k] = (uint8_t)((size_t)i * 31u + k * 7u + (size_t)qos * 101u);
}

/*
 * Publishes n messages of sizes 0..max_size (evenly spread) on topic/<qos>
 * at QoS qos, waits for them to come back (the client is subscribed to
 * topic/# at QoS 2) after the `before` messages already recorded, and
 * checks each: topic, QoS, length and bytes, in order. Returns the number of
 * messages missing or wrong.
 */
static int batch(ferry_client *c, struct itest_rec *r, const char *topic, int n, size_t max_size,
                 int qos, size_t before)
{
	char t[64];
	snprintf(t, sizeof t, "%s/%d", topic, qos);
	uint8_t *buf = malloc(max_size + 1);
	ferry_token last = 0;
	for (int i = 0; i < n; i++) {
		size_t len = n > 1 ? max_size * (size_t)i / (size_t)(n - 1) : max_size;
		fill_payload(buf, len, i, qos);
		ASSERT_RC(ferry_publish(c, t, buf, len, qos, false, NULL, &last), FERRY_OK);
	}
	ASSERT_RC(ferry_wait(c, last, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(r, before + (size_t)n, ITEST_WAIT_MS));
	int bad = 0;
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < n; i++) {
		size_t len = n > 1 ? max_size * (size_t)i / (size_t)(n - 1) : max_size;
		if (before + (size_t)i >= r->nmsgs) {
			bad += n - i;
			break;
		}
		const struct itest_msg *m = &r->msgs[before + (size_t)i];
		fill_payload(buf, len, i, qos);
		bad += strcmp(m->topic, t) != 0 || m->qos != qos || m->len != len ||
		       (len && memcmp(m->payload, buf, len) != 0);
	}
	size_t total = r->nmsgs;
	pthread_mutex_unlock(&r->mu);
	CU_ASSERT_EQUAL(total, before + (size_t)n); /* nothing extra, nothing twice */
	free(buf);
	return bad;
}

/* ---- the proxy on its own, with raw sockets ------------------------------------- */

/* A listening socket on 127.0.0.1 (a stand-in target); sets *port. */
static int raw_listen(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CU_ASSERT_FATAL(listen(fd, 16) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int raw_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	return fd;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	return poll(&pf, 1, timeout_ms) == 1;
}

static int raw_accept(int lfd)
{
	CU_ASSERT_FATAL(readable(lfd, RAW_WAIT_MS));
	int fd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(fd >= 0);
	return fd;
}

/*
 * Reads exactly n bytes (bounded wait); returns the count read, which is
 * less at EOF or on an error or a timeout. *eof is set when the peer closed.
 */
static size_t raw_read(int fd, void *buf, size_t n, bool *eof)
{
	size_t got = 0;
	*eof = false;
	while (got < n && readable(fd, RAW_WAIT_MS)) {
		ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
		if (r <= 0) {
			*eof = r == 0 || errno == ECONNRESET;
			break;
		}
		got += (size_t)r;
	}
	return got;
}

/* Whether the peer closed (EOF or reset) with no byte before, within the bound. */
static bool raw_closed(int fd)
{
	char b;
	bool eof = false;
	return raw_read(fd, &b, 1, &eof) == 0 && eof;
}

static void raw_send(int fd, const void *p, size_t n)
{
	CU_ASSERT_EQUAL(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static bool dropped_both(const struct test_proxy_stats *s, void *arg)
{
	const uint64_t *want = arg;
	return s->dropped_up >= want[0] && s->dropped_down >= want[1];
}

static bool received_up(const struct test_proxy_stats *s, void *arg)
{
	return s->received_up >= *(const uint64_t *)arg;
}

static void test_raw_forward_blackhole_heal(void)
{
	int tport = 0;
	int lfd = raw_listen(&tport);
	struct test_proxy *px = NULL;
	ASSERT_RC(test_proxy_start(&px, tport), FERRY_OK);
	CU_ASSERT_FATAL(px != NULL);
	CU_ASSERT(test_proxy_port(px) > 0 && test_proxy_port(px) != tport);
	int c = raw_connect(test_proxy_port(px));
	int t = raw_accept(lfd);
	char buf[64];
	bool eof = false;
	raw_send(c, "hello", 5);
	CU_ASSERT_EQUAL(raw_read(t, buf, 5, &eof), 5);
	CU_ASSERT_NSTRING_EQUAL(buf, "hello", 5);
	raw_send(t, "world!", 6);
	CU_ASSERT_EQUAL(raw_read(c, buf, 6, &eof), 6);
	CU_ASSERT_NSTRING_EQUAL(buf, "world!", 6);
	struct test_proxy_stats st;
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.accepted, 1);
	CU_ASSERT_EQUAL(st.active, 1);
	CU_ASSERT_EQUAL(st.bytes_up, 5);
	CU_ASSERT_EQUAL(st.bytes_down, 6);

	/* Blackhole: bytes both ways vanish, nothing reaches either peer. */
	ASSERT_RC(test_proxy_set(px, TEST_PROXY_BLACKHOLE), FERRY_OK);
	raw_send(c, "lost-up", 7);
	raw_send(t, "lost-down", 9);
	uint64_t want[2] = {7, 9};
	ASSERT_RC(test_proxy_wait_stats(px, dropped_both, want, RAW_WAIT_MS), FERRY_OK);
	CU_ASSERT_FALSE(readable(t, 0));
	CU_ASSERT_FALSE(readable(c, 0));
	/* The client leaves: its FIN is held back, the target hears nothing. */
	close(c);
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_FALSE(readable(t, 0));
	CU_ASSERT_EQUAL(st.active, 1);
	CU_ASSERT_EQUAL(st.bytes_up, 5);
	CU_ASSERT_EQUAL(st.bytes_down, 6);
	/* Heal: the dropped bytes are not replayed; the held EOF is passed on. */
	ASSERT_RC(test_proxy_heal(px), FERRY_OK);
	CU_ASSERT_TRUE(raw_closed(t));
	close(t);
	ASSERT_RC(test_proxy_wait_active(px, 0, RAW_WAIT_MS), FERRY_OK);
	test_proxy_destroy(px);
	close(lfd);
}

static void test_raw_cut_refuse(void)
{
	int tport = 0;
	int lfd = raw_listen(&tport);
	struct test_proxy *px = NULL;
	ASSERT_RC(test_proxy_start(&px, tport), FERRY_OK);
	CU_ASSERT_FATAL(px != NULL);
	int port = test_proxy_port(px);
	/* Cut: both peers of every connection see it closed. */
	int c1 = raw_connect(port), t1 = raw_accept(lfd);
	int c2 = raw_connect(port), t2 = raw_accept(lfd);
	ASSERT_RC(test_proxy_cut(px), FERRY_OK);
	CU_ASSERT_TRUE(raw_closed(c1));
	CU_ASSERT_TRUE(raw_closed(t1));
	CU_ASSERT_TRUE(raw_closed(c2));
	CU_ASSERT_TRUE(raw_closed(t2));
	struct test_proxy_stats st;
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.cuts, 1);
	CU_ASSERT_EQUAL(st.cut_connections, 2);
	CU_ASSERT_EQUAL(st.active, 0);
	close(c1);
	close(t1);
	close(c2);
	close(t2);

	/* Refuse: the TCP connect succeeds, then EOF; the target never sees it. */
	ASSERT_RC(test_proxy_set(px, TEST_PROXY_REFUSE), FERRY_OK);
	int c3 = raw_connect(port);
	CU_ASSERT_TRUE(raw_closed(c3));
	CU_ASSERT_FALSE(readable(lfd, 0));
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.refused, 1);
	close(c3);
	ASSERT_RC(test_proxy_heal(px), FERRY_OK);
	test_proxy_destroy(px);
	close(lfd);
}

static void test_raw_delay_fragment_dead_target(void)
{
	int tport = 0;
	int lfd = raw_listen(&tport);
	struct test_proxy *px = NULL;
	ASSERT_RC(test_proxy_start(&px, tport), FERRY_OK);
	CU_ASSERT_FATAL(px != NULL);
	/* Delay: a chunk sent under a long delay is not overtaken by one sent
	 * after the delay was lifted. */
	int c4 = raw_connect(test_proxy_port(px)), t4 = raw_accept(lfd);
	ASSERT_RC(test_proxy_set_delay(px, 150), FERRY_OK);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	raw_send(c4, "first,", 6);
	uint64_t n = 6;
	ASSERT_RC(test_proxy_wait_stats(px, received_up, &n, RAW_WAIT_MS), FERRY_OK); /* held */
	ASSERT_RC(test_proxy_set_delay(px, 0), FERRY_OK);
	raw_send(c4, "second", 6);
	char buf[2048];
	bool eof = false;
	CU_ASSERT_EQUAL(raw_read(t4, buf, 12, &eof), 12);
	CU_ASSERT_NSTRING_EQUAL(buf, "first,second", 12);
	CU_ASSERT(since(&t0) >= 0.149);

	/* Fragment: every byte arrives, in order. */
	ASSERT_RC(test_proxy_set_fragment(px, true), FERRY_OK);
	uint8_t out[1500];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (uint8_t)(i * 13 + 5);
	raw_send(c4, out, sizeof out);
	CU_ASSERT_EQUAL(raw_read(t4, buf, sizeof out, &eof), sizeof out);
	CU_ASSERT(memcmp(buf, out, sizeof out) == 0);
	close(c4);
	close(t4);
	ASSERT_RC(test_proxy_wait_active(px, 0, RAW_WAIT_MS), FERRY_OK);
	test_proxy_destroy(px);
	close(lfd);

	/* A target that does not listen: the client's connection is closed. */
	int dead = test_broker_free_port();
	CU_ASSERT_FATAL(dead > 0);
	ASSERT_RC(test_proxy_start(&px, dead), FERRY_OK);
	int c5 = raw_connect(test_proxy_port(px));
	CU_ASSERT_TRUE(raw_closed(c5));
	struct test_proxy_stats st;
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.failed, 1);
	close(c5);
	test_proxy_destroy(px);
	ASSERT_RC(test_proxy_start(&px, 0), FERRY_ERR_INVAL);
	CU_ASSERT_PTR_NULL(px);
}

/* ---- the client through the proxy ---------------------------------------------------- */

static void test_pass_all_qos(void)
{
	struct test_proxy *px = proxy_to_broker();
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = connect_via(&r, px, "px-pass", 60);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_subscribe(c, "pass/#", 2), FERRY_OK);
	for (int q = 0; q <= 2; q++)
		CU_ASSERT_EQUAL(batch(c, &r, "pass", 20, 300, q, (size_t)(20 * q)), 0);
	struct test_proxy_stats st;
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.accepted, 1);
	CU_ASSERT_EQUAL(st.active, 1);
	CU_ASSERT(st.bytes_up > 60 * 150); /* the traffic went through the proxy */
	CU_ASSERT(st.bytes_down > 60 * 150);
	CU_ASSERT_EQUAL(st.dropped_up + st.dropped_down, 0);
	ferry_client_destroy(c);
	ASSERT_RC(test_proxy_wait_active(px, 0, ITEST_WAIT_MS), FERRY_OK);
	test_proxy_destroy(px);
	itest_rec_free(&r);
}

static void test_fragment_every_byte(void)
{
	struct test_proxy *px = proxy_to_broker();
	ASSERT_RC(test_proxy_set_fragment(px, true), FERRY_OK);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = connect_via(&r, px, "px-frag", 60);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_subscribe(c, "frag/#", 2), FERRY_OK);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int q = 0; q <= 2; q++)
		CU_ASSERT_EQUAL(batch(c, &r, "frag", 200, 2000, q, (size_t)(200 * q)), 0);
	struct test_proxy_stats st;
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	printf("\n    fragment: 600 messages, %llu + %llu bytes one per write, %.2f s ",
	       (unsigned long long)st.bytes_up, (unsigned long long)st.bytes_down, since(&t0));
	CU_ASSERT(st.bytes_up > 600 * 1000);
	CU_ASSERT(st.bytes_down > 600 * 1000);
	CU_ASSERT_EQUAL(r.lost, 0);
	ferry_client_destroy(c);
	test_proxy_destroy(px);
	itest_rec_free(&r);
}

static void test_delay_adds_latency_loses_nothing(void)
{
	enum { DELAY = 100 };
	struct test_proxy *px = proxy_to_broker();
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = connect_via(&r, px, "px-delay", 60);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_subscribe(c, "delay/#", 2), FERRY_OK);
	ASSERT_RC(test_proxy_set_delay(px, DELAY), FERRY_OK);
	/* A QoS 1 publish crosses the proxy twice before it completes. */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ferry_token t = 0;
	ASSERT_RC(ferry_publish(c, "delay/one", "x", 1, 1, false, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	double rtt = since(&t0);
	printf("\n    delay %d ms each way: QoS 1 publish completed in %.0f ms ", DELAY, rtt * 1e3);
	CU_ASSERT(rtt >= 2 * DELAY / 1e3 - 0.002);
	CU_ASSERT_TRUE(itest_wait_msgs(&r, 1, ITEST_WAIT_MS));
	/* Many messages under delay, then with the delay lifted mid-stream: all
	 * arrive, intact and in order (a reordered byte would break the stream). */
	for (int q = 0; q <= 2; q++)
		CU_ASSERT_EQUAL(batch(c, &r, "delay", 100, 1000, q, 1 + (size_t)(100 * q)), 0);
	char m[16];
	for (int i = 0; i < 100; i++) {
		if (i == 50)
			ASSERT_RC(test_proxy_set_delay(px, 0), FERRY_OK);
		snprintf(m, sizeof m, "%d", i);
		ASSERT_RC(ferry_publish(c, "delay/seq", m, strlen(m), 1, false, NULL, NULL),
		          FERRY_OK);
	}
	CU_ASSERT_TRUE(itest_wait_msgs(&r, 401, ITEST_WAIT_MS));
	pthread_mutex_lock(&r.mu);
	int wrong = r.nmsgs == 401 ? 0 : 1;
	for (size_t i = 301; i < r.nmsgs; i++) {
		snprintf(m, sizeof m, "%zu", i - 301);
		wrong += r.msgs[i].len != strlen(m) || memcmp(r.msgs[i].payload, m, strlen(m)) != 0;
	}
	pthread_mutex_unlock(&r.mu);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(r.lost, 0);
	ferry_client_destroy(c);
	test_proxy_destroy(px);
	itest_rec_free(&r);
}

static void test_cut_reports_loss_promptly(void)
{
	struct test_proxy *px = proxy_to_broker();
	struct itest_rec ra, rb;
	itest_rec_init(&ra);
	itest_rec_init(&rb);
	ferry_client *a = connect_via(&ra, px, "px-cut-a", 60);
	ferry_client *b = connect_via(&rb, px, "px-cut-b", 60);
	CU_ASSERT_FATAL(a && b);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_RC(test_proxy_cut(px), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&ra, &ra.lost, 1, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(itest_wait_int(&rb, &rb.lost, 1, ITEST_WAIT_MS));
	double s = since(&t0);
	printf("\n    cut: both clients reported the loss within %.1f ms ", s * 1e3);
	CU_ASSERT(s < 1.0);
	CU_ASSERT(ra.lost_cause == FERRY_ERR_CLOSED || ra.lost_cause == FERRY_ERR_IO);
	CU_ASSERT(rb.lost_cause == FERRY_ERR_CLOSED || rb.lost_cause == FERRY_ERR_IO);
	CU_ASSERT_FALSE(ferry_is_connected(a));
	CU_ASSERT_FALSE(ferry_is_connected(b));
	struct test_proxy_stats st;
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.cuts, 1);
	CU_ASSERT_EQUAL(st.cut_connections, 2);
	/* New connections are still accepted, and work. */
	ASSERT_RC(reconnect(a), FERRY_OK);
	ASSERT_RC(itest_subscribe(a, "cut/#", 1), FERRY_OK);
	CU_ASSERT_EQUAL(batch(a, &ra, "cut", 10, 100, 1, 0), 0);
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.accepted, 3);
	CU_ASSERT_EQUAL(ra.lost, 1);
	ferry_client_destroy(a);
	ferry_client_destroy(b);
	test_proxy_destroy(px);
	itest_rec_free(&ra);
	itest_rec_free(&rb);
}

static void test_refuse_new_keeps_old(void)
{
	struct test_proxy *px = proxy_to_broker();
	struct itest_rec ra, rb;
	itest_rec_init(&ra);
	itest_rec_init(&rb);
	ferry_client *a = connect_via(&ra, px, "px-refuse-a", 60);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	ASSERT_RC(test_proxy_set(px, TEST_PROXY_REFUSE), FERRY_OK);
	struct ferry_client_options o;
	itest_options(&o, &rb, test_proxy_uri(px), "px-refuse-b");
	o.auto_reconnect = false;
	ferry_client *b = NULL;
	ASSERT_RC(ferry_client_create(&o, &b), FERRY_OK);
	int rc = reconnect(b);
	CU_ASSERT(rc == FERRY_ERR_CLOSED || rc == FERRY_ERR_IO);
	CU_ASSERT_FALSE(ferry_is_connected(b));
	/* The connection made before still works. */
	ASSERT_RC(itest_subscribe(a, "refuse/#", 2), FERRY_OK);
	CU_ASSERT_EQUAL(batch(a, &ra, "refuse", 10, 100, 2, 0), 0);
	struct test_proxy_stats st;
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.refused, 1);
	ASSERT_RC(test_proxy_heal(px), FERRY_OK);
	ASSERT_RC(reconnect(b), FERRY_OK);
	CU_ASSERT_EQUAL(ra.lost, 0);
	ferry_client_destroy(a);
	ferry_client_destroy(b);
	test_proxy_destroy(px);
	itest_rec_free(&ra);
	itest_rec_free(&rb);
}

/* ---- a dead link, noticed by the keepalive ------------------------------------------- */

/* What one blackhole run observed. */
struct dead_link {
	double detect_s;                   /* blackhole start -> connection lost */
	struct test_proxy_stats at, after; /* counters at the start and at detection */
	bool heard; /* the client's publish made meanwhile reached a subscriber */
};

/*
 * Connects a client with keepalive_s = 2 through a proxy, turns the mode on,
 * measures how long until the client declares the connection lost (it must
 * be FERRY_ERR_KEEPALIVE within 1.5 x keepalive + 1 s), heals, and checks
 * that ferry_connect works again. A watcher connected straight to the
 * broker shows whether the client's publish made during the blackhole got
 * through.
 */
static void dead_link(enum test_proxy_mode mode, const char *name, struct dead_link *out)
{
	char id[64], wid[64], topic[64];
	snprintf(id, sizeof id, "px-dead-%s", name);
	snprintf(topic, sizeof topic, "dead/%s", name);
	struct test_proxy *px = proxy_to_broker();
	struct itest_rec r, w;
	itest_rec_init(&r);
	itest_rec_init(&w);
	snprintf(wid, sizeof wid, "px-watch-%s", name);
	ferry_client *watcher = itest_connect(&w, broker_uri, wid, FERRY_MQTT_3_1_1, true);
	ferry_client *c = connect_via(&r, px, id, 2);
	CU_ASSERT_FATAL(c && watcher);
	ASSERT_RC(itest_subscribe(watcher, "dead/#", 0), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "dead/before", "b", 1, 1, false, NULL, NULL), FERRY_OK);
	CU_ASSERT(itest_wait_topic(&w, "dead/before", ITEST_WAIT_MS) >= 0); /* the path works */

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_RC(test_proxy_set(px, mode), FERRY_OK);
	ASSERT_RC(test_proxy_get_stats(px, &out->at), FERRY_OK);
	ASSERT_RC(ferry_publish(c, topic, "during", 6, 0, false, NULL, NULL), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.lost, 1, ITEST_WAIT_MS));
	out->detect_s = since(&t0);
	ASSERT_RC(test_proxy_get_stats(px, &out->after), FERRY_OK);
	printf("\n    %s: keepalive 2 s, loss declared after %.3f s (cause %s) ", name,
	       out->detect_s, ferry_errname(r.lost_cause));
	ASSERT_RC(r.lost_cause, FERRY_ERR_KEEPALIVE);
	CU_ASSERT(out->detect_s <= 1.5 * 2 + 1.0);
	CU_ASSERT_FALSE(ferry_is_connected(c));

	/* Did the publish made during the blackhole reach the broker? A marker
	 * sent by the watcher itself after the detection bounds the wait. */
	ASSERT_RC(ferry_publish(watcher, "dead/marker", "m", 1, 0, false, NULL, NULL), FERRY_OK);
	CU_ASSERT(itest_wait_topic(&w, "dead/marker", ITEST_WAIT_MS) >= 0);
	out->heard = itest_wait_topic(&w, topic, 0) >= 0;

	/* After heal the client connects again (through a new connection) and works. */
	ASSERT_RC(test_proxy_heal(px), FERRY_OK);
	ASSERT_RC(reconnect(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.connected, 2, ITEST_WAIT_MS));
	ASSERT_RC(itest_subscribe(c, "back/#", 1), FERRY_OK);
	CU_ASSERT_EQUAL(batch(c, &r, "back", 10, 100, 1, 0), 0);
	struct test_proxy_stats st;
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.accepted, 2);
	CU_ASSERT_EQUAL(r.lost, 1);
	ferry_client_destroy(c);
	ferry_client_destroy(watcher);
	test_proxy_destroy(px);
	itest_rec_free(&r);
	itest_rec_free(&w);
}

static void test_blackhole_both_ways(void)
{
	struct dead_link d;
	dead_link(TEST_PROXY_BLACKHOLE, "both-ways", &d);
	CU_ASSERT(d.after.dropped_up > d.at.dropped_up); /* the publish and PINGREQ vanished */
	CU_ASSERT_EQUAL(d.after.bytes_up, d.at.bytes_up);
	CU_ASSERT_EQUAL(d.after.bytes_down, d.at.bytes_down);
	CU_ASSERT_FALSE(d.heard);
}

static void test_blackhole_broker_to_client(void)
{
	struct dead_link d;
	dead_link(TEST_PROXY_BLACKHOLE_DOWN, "down-only", &d);
	CU_ASSERT(d.after.bytes_up > d.at.bytes_up);         /* the broker hears the client */
	CU_ASSERT(d.after.dropped_down > d.at.dropped_down); /* its PINGRESP is dropped */
	CU_ASSERT_EQUAL(d.after.bytes_down, d.at.bytes_down);
	CU_ASSERT_TRUE(d.heard); /* the publish got through */
}

static void test_blackhole_client_to_broker(void)
{
	struct dead_link d;
	dead_link(TEST_PROXY_BLACKHOLE_UP, "up-only", &d);
	CU_ASSERT(d.after.dropped_up > d.at.dropped_up); /* the broker stops hearing the client */
	CU_ASSERT_EQUAL(d.after.bytes_up, d.at.bytes_up);
	CU_ASSERT_FALSE(d.heard);
}

/* ---- auto-reconnect through a dead link ------------------------------------------------ */

static bool refused_at_least(const struct test_proxy_stats *s, void *arg)
{
	return s->refused >= *(const uint64_t *)arg;
}

static void test_auto_reconnect_after_dead_link(void)
{
	struct test_proxy *px = proxy_to_broker();
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	itest_options(&o, &r, test_proxy_uri(px), "px-auto");
	o.keepalive_s = 1;
	o.reconnect_min_ms = 100;
	o.reconnect_max_ms = 400;
	o.connect_timeout_ms = 1000; /* an attempt lost in the blackhole gives up soon */
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(reconnect(c), FERRY_OK);
	ASSERT_RC(itest_subscribe(c, "auto/#", 1), FERRY_OK);
	/* The link dies; then the way back is refused for a while. */
	ASSERT_RC(test_proxy_set(px, TEST_PROXY_BLACKHOLE), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.lost, 1, ITEST_WAIT_MS));
	ASSERT_RC(r.lost_cause, FERRY_ERR_KEEPALIVE);
	ASSERT_RC(test_proxy_set(px, TEST_PROXY_REFUSE), FERRY_OK);
	uint64_t two = 2;
	ASSERT_RC(test_proxy_wait_stats(px, refused_at_least, &two, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_FALSE(ferry_is_connected(c));
	CU_ASSERT_EQUAL(r.connected, 1);
	/* Healed: the client comes back by itself, and its subscription works. */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_RC(test_proxy_heal(px), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.connected, 2, ITEST_WAIT_MS));
	double s = since(&t0);
	struct test_proxy_stats st;
	ASSERT_RC(test_proxy_get_stats(px, &st), FERRY_OK);
	printf("\n    auto-reconnect: %llu attempts refused, back %.0f ms after heal ",
	       (unsigned long long)st.refused, s * 1e3);
	CU_ASSERT_EQUAL(batch(c, &r, "auto", 10, 100, 1, 0), 0);
	CU_ASSERT_EQUAL(r.lost, 1);
	ferry_client_destroy(c);
	test_proxy_destroy(px);
	itest_rec_free(&r);
}

void register_proxy_suite(void)
{
	CU_pSuite s = CU_add_suite("proxy", suite_init, suite_clean);
	if (!s)
		abort();
	test_add(s, "raw: forward, blackhole, heal", test_raw_forward_blackhole_heal);
	test_add(s, "raw: cut and refuse", test_raw_cut_refuse);
	test_add(s, "raw: delay keeps order, fragment, dead target",
	         test_raw_delay_fragment_dead_target);
	test_add(s, "client through pass mode, QoS 0/1/2", test_pass_all_qos);
	test_add(s, "fragment: 200 messages of 0..2000 B at each QoS", test_fragment_every_byte);
	test_add(s, "delay adds latency, loses nothing, keeps order",
	         test_delay_adds_latency_loses_nothing);
	test_add(s, "cut: connection lost reported promptly", test_cut_reports_loss_promptly);
	test_add(s, "refuse: new connections fail, old ones work", test_refuse_new_keeps_old);
	test_add(s, "blackhole both ways: keepalive detects it", test_blackhole_both_ways);
	test_add(s, "blackhole broker->client: keepalive detects it",
	         test_blackhole_broker_to_client);
	test_add(s, "blackhole client->broker: keepalive detects it",
	         test_blackhole_client_to_broker);
	test_add(s, "auto-reconnect after a dead link and refusals",
	         test_auto_reconnect_after_dead_link);
}

/*
 * test_netfaults.c - QoS 1 and QoS 2 streams through network faults made
 * with nftables, between ferry and a real mosquitto, both inside a network
 * namespace the suite creates (test/support/netns.h): nothing outside the
 * namespace is touched, and removing it removes every rule.
 *
 * One publisher and one subscriber (persistent sessions, keepalive 2 s,
 * auto-reconnect) carry N numbered messages on a QoS 1 topic and N on a
 * QoS 2 topic while, on the broker's port, in both directions:
 *  - blackhole: every packet is dropped until both clients noticed the loss
 *    (keepalive) and a reconnect attempt timed out; then the rules go;
 *  - reset: every packet is answered with a TCP reset until both clients
 *    lost their connection and saw two reconnect attempts reset; healed;
 *  - loss: 10% of the packets are dropped at random for the whole stream.
 * The faults stream in four quarters: before the fault (the fault lands
 * while these are in flight), just after it (written into a dead link),
 * while the clients are down (the outbox), after healing.
 *
 * Once healed: every QoS 1 number arrived at least once, every QoS 2
 * number exactly once, first arrivals in publish order for each QoS, every
 * publish completed with success, and (blackhole, reset) both clients
 * reconnected. A last numbered message on each topic, published after
 * every other completed, closes the stream so a late duplicate is seen.
 *
 * Every wait is bounded; nothing is timed. Needs root, the ip command and
 * /usr/sbin/nft: without them the tests are skipped with a message. No
 * fatal assertion is made while the thread is in the namespace.
 *
 * N: 2000 (500 in sanitizer builds); FERRY_NETFAULTS_N overrides (>= 8).
 * FERRY_TEST_LOG=1: each client's DEBUG log (every packet) on stderr.
 * Figures (messages, reconnects, packets dropped or reset) are printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "support/netns.h"
#include "unit/util.h"

#define NFT     "/usr/sbin/nft"
#define TABLE   "ferry_netfaults"
#define ALL_MS  60000 /* bound for a whole stream to arrive */
#define LOSS_MS 30000 /* bound for both clients to notice a fault */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SLOW_BUILD 1
#endif
#endif
#ifndef SLOW_BUILD
#define SLOW_BUILD 0
#endif

/* The namespace and its broker, made by the first test (state 0 not tried, 1 up, -1 not). */
static struct {
	int state;
	char why[600];
	struct test_netns ns;
	struct test_broker broker;
	bool fault_on; /* the table exists */
} nf;

static struct timespec t0; /* for log time stamps */

static long ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (long)(b.tv_sec - a->tv_sec) * 1000L + (b.tv_nsec - a->tv_nsec) / 1000000L;
}

/* Messages per QoS: 2000, 500 under sanitizers, FERRY_NETFAULTS_N when set. */
static unsigned stream_len(void)
{
	const char *e = getenv("FERRY_NETFAULTS_N");
	long n = e && *e ? strtol(e, NULL, 10) : 0;
	if (n >= 8 && n <= 100000)
		return (unsigned)n;
	return SLOW_BUILD ? 500u : 2000u;
}

/* --- what one client saw ----------------------------------------------------------------- */

struct peer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *name;       /* "pub" / "sub", for logs */
	unsigned n;             /* numbers per QoS, the closing one included */
	uint8_t *seen[3];       /* [qos][number]: arrivals (saturating), QoS 1 and 2 */
	unsigned distinct[3];   /* numbers that arrived at least once */
	unsigned extra[3];      /* arrivals beyond the first */
	unsigned disorder[3];   /* first arrivals below an earlier first arrival */
	long top[3];            /* highest first arrival, -1 none */
	char disorder_text[96]; /* the first disorder seen */
	unsigned bad;           /* wrong topic, QoS or payload */
	unsigned dup_flag;      /* arrivals with DUP set */
	unsigned connected, lost, connect_failures, delivered, delivered_failed;
	char lost_text[160]; /* of the latest loss */
};

static void peer_init(struct peer *p, const char *name, unsigned n)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &a);
	pthread_condattr_destroy(&a);
	p->name = name;
	p->n = n;
	for (int q = 1; q <= 2; q++) {
		p->seen[q] = calloc(n, 1);
		p->top[q] = -1;
	}
}

static void peer_free(struct peer *p)
{
	free(p->seen[1]);
	free(p->seen[2]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}

/* The number in a payload of decimal digits, or -1. */
static long number_of(const void *payload, size_t len)
{
	const char *s = payload;
	long v = 0;
	if (!len || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Records one arrival of number k at QoS q; p->mu held. */
static void arrival(struct peer *p, int q, long k)
{
	uint8_t *c = &p->seen[q][k];
	if (*c) {
		p->extra[q]++;
	} else {
		if (k < p->top[q] && !p->disorder[q]++)
			snprintf(p->disorder_text, sizeof p->disorder_text,
			         "QoS %d: %ld first arrived after %ld", q, k, p->top[q]);
		if (k > p->top[q])
			p->top[q] = k;
		p->distinct[q]++;
	}
	if (*c < 255)
		(*c)++;
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	struct peer *p = user;
	size_t tl = strlen(m->topic);
	int q = tl ? m->topic[tl - 1] - '0' : 0;
	long k = number_of(m->payload, m->payload_len);
	pthread_mutex_lock(&p->mu);
	if ((q != 1 && q != 2) || m->qos != q || k < 0 || k >= (long)p->n)
		p->bad++;
	else
		arrival(p, q, k);
	if (m->dup)
		p->dup_flag++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void on_connected(ferry_client *c, void *user, const struct ferry_connected_info *info)
{
	(void)c;
	(void)info;
	struct peer *p = user;
	pthread_mutex_lock(&p->mu);
	p->connected++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	(void)c;
	struct peer *p = user;
	pthread_mutex_lock(&p->mu);
	p->lost++;
	snprintf(p->lost_text, sizeof p->lost_text, "%s [%d]",
	         text && *text ? text : ferry_strerror(cause), cause);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void on_delivered(ferry_client *c, void *user, ferry_token t, int rc)
{
	(void)c;
	(void)t;
	struct peer *p = user;
	pthread_mutex_lock(&p->mu);
	p->delivered++;
	if (rc)
		p->delivered_failed++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void on_log(void *user, int level, const char *text)
{
	struct peer *p = user;
	if (getenv("FERRY_TEST_LOG"))
		fprintf(stderr, "[%s +%ld ms] %s\n", p->name, ms_since(&t0), text);
	if (level > FERRY_LOG_WARNING || !strstr(text, "connect to ") || !strstr(text, "failed"))
		return;
	pthread_mutex_lock(&p->mu);
	p->connect_failures++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits until the field of p (read under its lock) reaches n, or the deadline. */
static bool wait_until(struct peer *p, const unsigned *field, unsigned n, const struct timespec *dl)
{
	pthread_mutex_lock(&p->mu);
	while (*field < n && pthread_cond_timedwait(&p->cv, &p->mu, dl) == 0)
		;
	bool ok = *field >= n;
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static bool wait_ms(struct peer *p, const unsigned *field, unsigned n, int ms)
{
	struct timespec dl;
	deadline_in(&dl, ms);
	return wait_until(p, field, n, &dl);
}

/* A copy of a counter of p, read under its lock. */
static unsigned get(struct peer *p, const unsigned *field)
{
	pthread_mutex_lock(&p->mu);
	unsigned v = *field;
	pthread_mutex_unlock(&p->mu);
	return v;
}

/* --- nftables in the namespace --------------------------------------------------------- */

/*
 * Runs `nft -f -` inside the namespace with script on its standard input;
 * its output (stdout and stderr) goes to out. Returns its exit status, -1
 * when it could not be run.
 */
static int run_nft(const char *script, char *out, size_t cap)
{
	int in[2], op[2];
	out[0] = 0;
	if (pipe2(in, O_CLOEXEC))
		return -1;
	if (pipe2(op, O_CLOEXEC)) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (setns(nf.ns.fd, CLONE_NEWNET) || dup2(in[0], 0) < 0 || dup2(op[1], 1) < 0 ||
		    dup2(op[1], 2) < 0)
			_exit(127);
		execl(NFT, "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(op[1]);
	size_t len = strlen(script), off = 0;
	while (pid > 0 && off < len) {
		ssize_t w = write(in[1], script + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	size_t got = 0;
	ssize_t r;
	char buf[512];
	while ((r = read(op[0], buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < r && got + 1 < cap; i++)
			out[got++] = buf[i];
	}
	out[got] = 0;
	close(op[0]);
	int st;
	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * Installs the fault: an input chain (on loopback every packet passes it
 * once) with `verdict` for packets to and from the broker's port. Resets
 * the rejects make themselves are let through, or the peer never sees them.
 */
static int fault_apply(const char *match, const char *verdict)
{
	char script[1024], out[1024];
	int port = test_broker_port(&nf.broker);
	snprintf(script, sizeof script,
	         "add table inet " TABLE "\n"
	         "add chain inet " TABLE
	         " input { type filter hook input priority 0; policy accept; }\n"
	         "add rule inet " TABLE " input tcp flags & rst == rst accept\n"
	         "add rule inet " TABLE " input tcp dport %d %s counter %s\n"
	         "add rule inet " TABLE " input tcp sport %d %s counter %s\n",
	         port, match, verdict, port, match, verdict);
	int st = run_nft(script, out, sizeof out);
	if (st) {
		fprintf(stderr, "\n    nft failed (status %d): %s\n", st, out);
		return FERRY_ERR_STATE;
	}
	nf.fault_on = true;
	return FERRY_OK;
}

/* Removes the fault (if any); returns the packets its rules caught (0 when unknown). */
static unsigned long fault_heal(void)
{
	char out[4096];
	unsigned long total = 0;
	if (!nf.fault_on)
		return 0;
	if (run_nft("list table inet " TABLE "\n", out, sizeof out) == 0) {
		for (const char *s = out; (s = strstr(s, "packets ")) != NULL; s += 8)
			total += strtoul(s + 8, NULL, 10);
	}
	int st = run_nft("delete table inet " TABLE "\n", out, sizeof out);
	if (st)
		fprintf(stderr, "\n    nft delete table failed (status %d): %s\n", st, out);
	CU_ASSERT_EQUAL(st, 0);
	nf.fault_on = false;
	return total;
}

/* --- the namespace and its broker ------------------------------------------------------ */

/* An empty table made and removed: nftables works in the namespace. */
static bool nft_works(void)
{
	char out[256];
	int st =
	    run_nft("add table inet " TABLE "\ndelete table inet " TABLE "\n", out, sizeof out);
	if (st)
		snprintf(nf.why, sizeof nf.why, "nft does not work in a namespace (status %d): %s",
		         st, out);
	return st == 0;
}

static bool setup(void)
{
	if (nf.state)
		return nf.state > 0;
	nf.state = -1;
	const char *why = test_netns_unavailable();
	if (why) {
		snprintf(nf.why, sizeof nf.why, "%s", why);
		return false;
	}
	if (access(NFT, X_OK)) {
		snprintf(nf.why, sizeof nf.why, "no %s (Debian package nftables)", NFT);
		return false;
	}
	if (test_netns_create(&nf.ns)) {
		snprintf(nf.why, sizeof nf.why, "network namespace: %s", nf.ns.error);
		return false;
	}
	if (!nft_works())
		return false;
	int rc = test_broker_start(&nf.broker, &(struct test_broker_opts){.netns = nf.ns.name});
	if (rc) {
		snprintf(nf.why, sizeof nf.why, "broker: %s", test_broker_error(&nf.broker));
		test_broker_dump_log(&nf.broker, stderr);
		CU_FAIL("mosquitto did not start in its namespace");
		return false;
	}
	nf.state = 1;
	return true;
}

/* --- streams ------------------------------------------------------------------------------ */

enum fault_kind { BLACKHOLE, RESET, LOSS };

struct scenario {
	const char *name;
	enum fault_kind kind;
	int version;       /* MQTT version of both clients */
	const char *match; /* nft match before the counter */
	const char *verdict;
};

/* A client of the scenario (persistent session, keepalive 2 s), connected; NULL on failure. */
static ferry_client *make_client(struct peer *p, const struct scenario *s)
{
	char id[64];
	snprintf(id, sizeof id, "nf-%s-%s", s->name, p->name);
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = test_broker_uri(&nf.broker);
	o.client_id = id;
	o.mqtt_version = s->version;
	o.clean_session = false;
	o.keepalive_s = 2;
	o.connect_timeout_ms = 3000;
	o.reconnect_min_ms = 200;
	o.reconnect_max_ms = 1500;
	o.user = p;
	o.on_message = on_message;
	o.on_connected = on_connected;
	o.on_connection_lost = on_lost;
	o.on_delivery_complete = on_delivered;
	o.on_log = on_log;
	o.log_level = getenv("FERRY_TEST_LOG") ? FERRY_LOG_DEBUG : FERRY_LOG_WARNING;
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	ASSERT_RC(rc, FERRY_OK);
	if (rc)
		return NULL;
	rc = itest_connect_wait(c);
	ASSERT_RC(rc, FERRY_OK);
	if (rc) {
		ferry_client_destroy(c);
		return NULL;
	}
	return c;
}

/* Publishes the numbers [from, to) on the QoS 1 and QoS 2 topics, interleaved. */
static bool publish_range(ferry_client *c, const struct scenario *s, unsigned from, unsigned to)
{
	char topic[64], payload[16];
	for (unsigned i = from; i < to; i++) {
		for (int q = 1; q <= 2; q++) {
			snprintf(topic, sizeof topic, "nf/%s/%d", s->name, q);
			int len = snprintf(payload, sizeof payload, "%u", i);
			int rc =
			    ferry_publish(c, topic, payload, (size_t)len, q, false, NULL, NULL);
			if (rc) {
				ASSERT_RC(rc, FERRY_OK);
				return false;
			}
		}
	}
	CU_PASS("published");
	return true;
}

/* Waits for every number below n on both QoS at sub; says what is missing. */
static bool wait_all(struct peer *sub, unsigned n, int ms)
{
	struct timespec dl;
	deadline_in(&dl, ms);
	bool ok = wait_until(sub, &sub->distinct[1], n, &dl) &&
	          wait_until(sub, &sub->distinct[2], n, &dl);
	if (!ok)
		fprintf(stderr, "\n    subscriber has %u (QoS 1) and %u (QoS 2) of %u numbers\n",
		        get(sub, &sub->distinct[1]), get(sub, &sub->distinct[2]), n);
	return ok;
}

/*
 * The fault's phases: the first quarter is published and the fault set
 * once the subscriber has the first message (the rest is in flight), the
 * second quarter goes into the dead link; once both clients noticed and
 * saw reconnect attempts fail (timed out, or reset twice) the third waits
 * in the outbox; the link heals; the fourth follows.
 */
static void faulted_stream(const struct scenario *s, ferry_client *pc, struct peer *pub,
                           struct peer *sub, unsigned n, unsigned long *caught)
{
	unsigned q = n / 4;
	if (!publish_range(pc, s, 0, q))
		return;
	CU_ASSERT_TRUE(wait_ms(sub, &sub->distinct[1], 1, ITEST_WAIT_MS));
	int rc = fault_apply(s->match, s->verdict);
	ASSERT_RC(rc, FERRY_OK);
	if (rc || !publish_range(pc, s, q, 2 * q))
		return;
	struct timespec dl;
	deadline_in(&dl, LOSS_MS);
	CU_ASSERT_TRUE(wait_until(pub, &pub->lost, 1, &dl));
	CU_ASSERT_TRUE(wait_until(sub, &sub->lost, 1, &dl));
	/* Reconnecting meets the fault for a while: the connect times out, or is reset. */
	unsigned tries = s->kind == RESET ? 2 : 1;
	CU_ASSERT_TRUE(wait_until(pub, &pub->connect_failures, tries, &dl));
	CU_ASSERT_TRUE(wait_until(sub, &sub->connect_failures, tries, &dl));
	CU_ASSERT_FALSE(ferry_is_connected(pc));
	if (!publish_range(pc, s, 2 * q, 3 * q))
		return;
	*caught = fault_heal();
	publish_range(pc, s, 3 * q, n);
}

/* Prints one client's figures. */
static void print_peer(ferry_client *c, struct peer *p)
{
	struct ferry_stats st;
	memset(&st, 0, sizeof st);
	ferry_client_stats(c, &st);
	pthread_mutex_lock(&p->mu);
	printf("\n      %s: connected %u, lost %u, connects failed %u, reconnects %llu, "
	       "PUBLISH sent %llu received %llu",
	       p->name, p->connected, p->lost, p->connect_failures,
	       (unsigned long long)st.reconnects, (unsigned long long)st.packets_sent[3],
	       (unsigned long long)st.packets_received[3]);
	if (p->lost)
		printf(", last loss: %s", p->lost_text);
	pthread_mutex_unlock(&p->mu);
}

/* The stream's invariants at the subscriber and the publisher, and the figures printed. */
static void check_stream(const struct scenario *s, ferry_client *pc, ferry_client *sc,
                         struct peer *pub, struct peer *sub, unsigned long caught, long ms)
{
	pthread_mutex_lock(&sub->mu);
	CU_ASSERT_EQUAL(sub->distinct[1], sub->n);
	CU_ASSERT_EQUAL(sub->distinct[2], sub->n);
	CU_ASSERT_EQUAL(sub->extra[2], 0); /* QoS 2: exactly once */
	CU_ASSERT_EQUAL(sub->disorder[1], 0);
	CU_ASSERT_EQUAL(sub->disorder[2], 0);
	CU_ASSERT_EQUAL(sub->bad, 0);
	if (sub->disorder[1] || sub->disorder[2])
		fprintf(stderr, "\n    order: %s\n", sub->disorder_text);
	for (unsigned k = 0; k < sub->n; k++) {
		if (sub->seen[2][k] > 1)
			fprintf(stderr, "\n    QoS 2 number %u arrived %u times", k,
			        sub->seen[2][k]);
	}
	unsigned extra1 = sub->extra[1], extra2 = sub->extra[2], dups = sub->dup_flag;
	unsigned got1 = sub->distinct[1], got2 = sub->distinct[2];
	pthread_mutex_unlock(&sub->mu);
	pthread_mutex_lock(&pub->mu);
	CU_ASSERT_EQUAL(pub->delivered, 2 * pub->n);
	CU_ASSERT_EQUAL(pub->delivered_failed, 0);
	unsigned pub_conn = pub->connected;
	pthread_mutex_unlock(&pub->mu);
	unsigned sub_conn = get(sub, &sub->connected);
	if (s->kind != LOSS) {
		CU_ASSERT(pub_conn >= 2);
		CU_ASSERT(sub_conn >= 2);
		struct ferry_stats st;
		ASSERT_RC(ferry_client_stats(pc, &st), FERRY_OK);
		CU_ASSERT(st.reconnects >= 1);
		ASSERT_RC(ferry_client_stats(sc, &st), FERRY_OK);
		CU_ASSERT(st.reconnects >= 1);
	}
	if (s->kind == LOSS)
		CU_ASSERT(caught > 0); /* the rule matched: the loss was real */
	printf("\n    %s (MQTT %s): %u/%u QoS 1 and %u/%u QoS 2 numbers, %lu packets %s by nft, "
	       "QoS 1 repeats %u, QoS 2 repeats %u, DUP flags %u, %.1f s",
	       s->name, s->version == FERRY_MQTT_5 ? "5" : "3.1.1", got1, sub->n, got2, sub->n,
	       caught, s->kind == RESET ? "reset" : "dropped", extra1, extra2, dups,
	       (double)ms / 1000.0);
	print_peer(pc, pub);
	print_peer(sc, sub);
	printf("\n    ");
	fflush(stdout);
}

static void finish_client(ferry_client *c)
{
	ferry_token t = 0;
	if (c && !ferry_disconnect(c, 2000, NULL, &t))
		ferry_wait(c, t, ITEST_WAIT_MS);
	ferry_client_destroy(c);
}

/*
 * The stream of scenario s, in the namespace: numbers 0..n-1 through the
 * fault, then, once all arrived and were acknowledged, the closing number
 * n on both topics; then the checks.
 */
static void stream_body(const struct scenario *s)
{
	unsigned n = stream_len();
	struct peer pub, sub;
	peer_init(&pub, "pub", n + 1);
	peer_init(&sub, "sub", n + 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long caught = 0;
	char filter[64];
	snprintf(filter, sizeof filter, "nf/%s/+", s->name);
	ferry_client *sc = make_client(&sub, s);
	ferry_client *pc = sc ? make_client(&pub, s) : NULL;
	if (pc && itest_subscribe(sc, filter, 2) == FERRY_OK) {
		if (s->kind == LOSS) {
			ASSERT_RC(fault_apply(s->match, s->verdict), FERRY_OK);
			publish_range(pc, s, 0, n);
		} else {
			faulted_stream(s, pc, &pub, &sub, n, &caught);
		}
		bool all = wait_all(&sub, n, ALL_MS);
		CU_ASSERT_TRUE(all);
		if (nf.fault_on)
			caught = fault_heal();
		CU_ASSERT_TRUE(wait_ms(&pub, &pub.delivered, 2 * n, ALL_MS));
		if (all && publish_range(pc, s, n, n + 1)) {
			CU_ASSERT_TRUE(wait_all(&sub, n + 1, ITEST_WAIT_MS));
			CU_ASSERT_TRUE(wait_ms(&pub, &pub.delivered, 2 * n + 2, ITEST_WAIT_MS));
		}
		check_stream(s, pc, sc, &pub, &sub, caught, ms_since(&t0));
	} else {
		CU_FAIL("clients or subscription failed");
	}
	if (nf.fault_on)
		fault_heal();
	finish_client(pc);
	finish_client(sc);
	peer_free(&pub);
	peer_free(&sub);
}

/* Runs the scenario inside the namespace, or says why it cannot. */
static void run(const struct scenario *s)
{
	if (!setup()) {
		fprintf(stderr, "\n  SKIPPED netfaults %s: %s\n", s->name, nf.why);
		CU_PASS("skipped: no network namespace or nftables");
		return;
	}
	int saved;
	int rc = test_netns_enter(&nf.ns, &saved);
	ASSERT_RC(rc, FERRY_OK);
	if (rc)
		return;
	stream_body(s);
	ASSERT_RC(test_netns_leave(saved), FERRY_OK);
}

static void test_blackhole(void)
{
	run(&(struct scenario){.name = "blackhole",
	                       .kind = BLACKHOLE,
	                       .version = FERRY_MQTT_3_1_1,
	                       .match = "",
	                       .verdict = "drop"});
}

static void test_reset(void)
{
	run(&(struct scenario){.name = "reset",
	                       .kind = RESET,
	                       .version = FERRY_MQTT_5,
	                       .match = "",
	                       .verdict = "reject with tcp reset"});
}

static void test_loss(void)
{
	run(&(struct scenario){.name = "loss",
	                       .kind = LOSS,
	                       .version = FERRY_MQTT_3_1_1,
	                       .match = "numgen random mod 10 < 1",
	                       .verdict = "drop"});
}

/* --- suite ------------------------------------------------------------------------------- */

static int suite_clean(void)
{
	if (nf.state > 0 && nf.fault_on) {
		char out[512];
		run_nft("delete table inet " TABLE "\n", out, sizeof out);
	}
	test_broker_cleanup(&nf.broker);
	test_netns_cleanup(&nf.ns);
	memset(&nf, 0, sizeof nf);
	return 0;
}

void register_netfaults_suite(void)
{
	CU_pSuite s = CU_add_suite("netfaults", NULL, suite_clean);
	if (!s)
		abort();
	test_add(s, "blackhole both ways, then healed: QoS 1/2 complete", test_blackhole);
	test_add(s, "TCP resets both ways, then healed: QoS 1/2 complete", test_reset);
	test_add(s, "10% random packet loss: QoS 1/2 complete", test_loss);
}

/*
 * test_malicious.c - the "malicious" suite (issue 8, point 1): ferry against a
 * scripted fake broker that misbehaves on a live connection, in table-driven
 * cases: every server-to-client row of the codec's malformed-packet table
 * (reproduced from test/unit/test_malformed.c), CONNACK not first or twice,
 * unsolicited acks, SUBACK code counts, Receive Maximum, QoS 2 floods, every
 * server DISCONNECT reason, unexpected AUTH, huge properties, overlong
 * lengths, one byte per write, a broker that stops reading.
 *
 * Each case has its own store, client (auto-reconnect, 5..20 ms) and fake
 * broker. The client publishes two QoS 1 messages the broker never
 * acknowledges; the broker misbehaves; ferry stays connected (STAY), or says
 * why it closed (lost cause and text; MQTT 5: DISCONNECT with a reason
 * first) and reconnects (CLOSE), or fails a connect attempt and succeeds at
 * the next (CONNFAIL). Then a probe (QoS 1 publish, acknowledged) completes
 * and ferry_stored_list still lists the two messages.
 *
 * The broker's part is '|'-separated segments: ">hex" send, "~hex" send a
 * byte per write, "<hex" expect these bytes, "=N" expect a packet of type
 * N, "." close, "G" stop reading until the test says go.
 * FERRY_TEST_LOG=1: ferry's DEBUG log (every packet) on stderr;
 * FERRY_TEST_CASE=text: only the cases whose name contains text.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "codec.h"
#include "frame.h"
#include "itest.h"
#include "store_util.h"
#include "suites.h"
#include "support/fakebroker.h"
#include "unit/util.h"

#define STEP_MS 3000       /* bound of each step of a script */
#define WAIT_MS 6000       /* bound of each wait of the test */
#define BIG_SZ  (4u << 20) /* the messages a stalled broker does not read */

enum outcome { STAY, CLOSE, CONNFAIL };
#define F_PRE    1 /* the bytes come instead of CONNACK */
#define F_SUB2   2 /* the client subscribes to "f/a" and "f/b" first (packet id 3) */
#define F_UNSUB2 4 /* ... or unsubscribes them */
#define F_AUTHM  8 /* MQTT 5: connect with auth_method "PLAIN" */

struct mcase {
	char name[160];
	uint8_t ver, flags, out;
	int cause;  /* CLOSE: connection-lost cause; CONNFAIL: the connect's result */
	int reason; /* MQTT 5 CLOSE: ferry's DISCONNECT reason first; 0: none */
	int nmsgs;  /* messages ferry delivers */
	bool sd;    /* on_server_disconnect is called, with reason sdisc */
	uint8_t sdisc;
	long users;        /* user properties of the last message; 0: not checked */
	uint32_t maxpkt;   /* MQTT 5 connect maximum_packet_size; 0: none */
	uint16_t recvmax;  /* MQTT 5 connect receive_maximum; 0: none */
	int keepalive;     /* seconds */
	unsigned big;      /* messages of BIG_SZ published while the broker stalls at "G" */
	const char *mid;   /* the broker's misbehaviour */
	const char *after; /* more steps: after mid (STAY) or after the reconnect (CLOSE) */
};

/* What a case's client callbacks saw, under r.mu. */
struct mrec {
	struct itest_rec r; /* first: the itest callbacks take user as a struct itest_rec */
	char lost_text[256];
	int nmsgs, sdisc, sdisc_reason, act_done, act_rc;
	size_t users, act_granted;
};

static const struct mcase *cur; /* the case running */
static bool cur_ok;
static int n_run, n_failed, fam_run, fam_failed;
static struct timespec fam_t0;

/* One assertion of the running case; the failure message names the case. */
__attribute__((format(printf, 3, 4))) static void check_at(bool ok, unsigned line, const char *fmt,
                                                           ...)
{
	char msg[700] = "", what[500];
	if (!ok) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof what, fmt, ap);
		va_end(ap);
		snprintf(msg, sizeof msg, "case \"%s\" (v%u): %s", cur->name, cur->ver, what);
		fprintf(stderr, "\n    %s\n", msg);
		cur_ok = false;
	}
	CU_assertImplementation(ok, line, msg, __FILE__, "", CU_FALSE);
}
#define CHECK(ok, ...) check_at((ok), __LINE__, __VA_ARGS__)

static void m_lost(ferry_client *c, void *user, int cause, const char *text)
{
	(void)c;
	struct mrec *m = user;
	pthread_mutex_lock(&m->r.mu);
	snprintf(m->lost_text, sizeof m->lost_text, "%s", text ? text : "");
	m->r.lost_cause = cause;
	m->r.lost++;
	pthread_cond_broadcast(&m->r.cv);
	pthread_mutex_unlock(&m->r.mu);
}

static void m_message(ferry_client *c, void *user, const struct ferry_message *msg)
{
	(void)c;
	struct mrec *m = user;
	pthread_mutex_lock(&m->r.mu);
	m->nmsgs++;
	m->users = msg->props ? msg->props->user_count : 0;
	pthread_mutex_unlock(&m->r.mu);
}

static void m_sdisc(ferry_client *c, void *user, int reason, const struct ferry_properties *p)
{
	(void)c;
	(void)p;
	struct mrec *m = user;
	pthread_mutex_lock(&m->r.mu);
	m->sdisc++;
	m->sdisc_reason = reason;
	pthread_mutex_unlock(&m->r.mu);
}

static void m_act(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	struct mrec *m = user;
	pthread_mutex_lock(&m->r.mu);
	m->act_done++;
	m->act_rc = res->rc;
	m->act_granted = res->granted_count;
	pthread_mutex_unlock(&m->r.mu);
}

static void m_log(void *user, int level, const char *text)
{
	(void)user;
	fprintf(stderr, "    [%s: ferry %d] %s\n", cur ? cur->name : "", level, text);
}

/* ---- scripts ---------------------------------------------------------------------------- */

struct plan {
	struct test_fake_step *st;
	size_t n, cap, go; /* go: index of the "G" step */
	char **mem;        /* strings the steps point into, freed once the broker started */
	size_t nmem;
};

static void add(struct plan *p, enum test_fake_op op, int type, const char *hex)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->st = realloc(p->st, p->cap * sizeof *p->st);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p->st);
	}
	p->st[p->n++] = (struct test_fake_step){.op = op, .type = type, .hex = hex};
}

/* A string the plan owns, printf-style. */
__attribute__((format(printf, 2, 3))) static char *pstr(struct plan *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = malloc((size_t)n + 1);
	p->mem = realloc(p->mem, (p->nmem + 1) * sizeof *p->mem);
	CU_ASSERT_FATAL(s && p->mem);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p->mem[p->nmem++] = s;
}

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->nmem; i++)
		free(p->mem[i]);
	free(p->mem);
	free(p->st);
}

/* Adds the steps of a segment string; returns false if it ends by closing. */
static bool add_mid(struct plan *p, const char *mid)
{
	bool open = true;
	char *save = NULL;
	for (char *g = strtok_r(pstr(p, "%s", mid), "|", &save); g;
	     g = strtok_r(NULL, "|", &save)) {
		open = g[0] != '.';
		if (g[0] == 'G') {
			p->go = p->n;
			add(p, FAKE_WAIT_GO, 0, NULL);
			/* long: the test writes 16 MiB to the store meanwhile */
			p->st[p->go].timeout_ms = 60000;
			continue;
		}
		const char *kinds = "><~=.", *k = strchr(kinds, g[0]);
		static const enum test_fake_op ops[] = {FAKE_SEND, FAKE_EXPECT_BYTES,
		                                        FAKE_SEND_SPLIT, FAKE_EXPECT, FAKE_CLOSE};
		CU_ASSERT_FATAL(g[0] && k != NULL);
		add(p, ops[k - kinds], g[0] == '=' ? atoi(g + 1) : 0,
		    strchr("=.", g[0]) ? NULL : g + 1);
	}
	return open;
}

/* CONNACK (session present sp), then the two stored PUBLISHes arrive. */
static void add_session(struct plan *p, uint8_t ver, int sp)
{
	add(p, FAKE_SEND, 0,
	    ver == 5 ? pstr(p, "20 03 %02x 00 00", sp) : pstr(p, "20 02 %02x 00", sp));
	add(p, FAKE_EXPECT, FERRY_PUBLISH, NULL);
	add(p, FAKE_EXPECT, FERRY_PUBLISH, NULL);
}

/* The client's SUBSCRIBE or UNSUBSCRIBE of "f/a" and "f/b" (id 3), or its good answer. */
static const char *action(uint8_t ver, int flags, bool answer)
{
	static const char *const t[2][2][2] = {
	    {{"a2 0c 00 03 00 03 'f/a' 00 03 'f/b'", "b0 02 00 03"},
	     {"a2 0d 00 03 00 00 03 'f/a' 00 03 'f/b'", "b0 05 00 03 00 00 00"}},
	    {{"82 0e 00 03 00 03 'f/a' 01 00 03 'f/b' 01", "90 04 00 03 01 01"},
	     {"82 0f 00 03 00 00 03 'f/a' 01 00 03 'f/b' 01", "90 05 00 03 00 01 01"}}};
	return t[(flags & F_SUB2) != 0][ver == 5][answer];
}

/*
 * The whole script of a case; returns the index of the probe's step (the
 * test publishes the probe when the script is there). Packet ids: the two
 * stored messages 1 and 2, the action 3, the big messages next, the probe
 * last. MQTT 3.1 has no session: after a reconnect the stored two are new
 * messages with ids 3 and 4.
 */
static size_t build_plan(struct plan *p, const struct mcase *mc)
{
	uint8_t v = mc->ver;
	bool act = mc->flags & (F_SUB2 | F_UNSUB2), pre = mc->flags & F_PRE;
	unsigned probe = 3 + act + mc->big;
	add(p, FAKE_ACCEPT, 0, NULL);
	add(p, FAKE_EXPECT, FERRY_CONNECT, NULL);
	if (pre) {
		if (add_mid(p, mc->mid))
			add(p, FAKE_EXPECT_CLOSE, 0, NULL);
		add(p, FAKE_ACCEPT, 0, NULL);
		add(p, FAKE_EXPECT, FERRY_CONNECT, NULL);
	}
	add_session(p, v, 0);
	if (act)
		add(p, FAKE_EXPECT_BYTES, 0, action(v, mc->flags, false));
	bool open = pre || add_mid(p, mc->mid);
	if (mc->out == CLOSE) {
		if (v == 5 && mc->reason)
			add(p, FAKE_EXPECT_BYTES, 0, pstr(p, "e0 01 %02x", mc->reason));
		if (open)
			add(p, FAKE_EXPECT_CLOSE, 0, NULL);
		add(p, FAKE_ACCEPT, 0, NULL);
		add(p, FAKE_EXPECT, FERRY_CONNECT, NULL);
		add_session(p, v, 1);
		if (act) {
			add(p, FAKE_EXPECT,
			    mc->flags & F_SUB2 ? FERRY_SUBSCRIBE : FERRY_UNSUBSCRIBE, NULL);
			add(p, FAKE_SEND, 0, action(v, mc->flags, true));
		}
		probe += v == 3 ? 2 : 0;
	}
	if (mc->after)
		add_mid(p, mc->after);
	size_t at = p->n;
	if (v == 5)
		add(p, FAKE_EXPECT_BYTES, 0, pstr(p, "32 0c 00 05 'probe' 00 %02x 00 'ok'", probe));
	else
		add(p, FAKE_EXPECT_BYTES, 0, pstr(p, "32 0b 00 05 'probe' 00 %02x 'ok'", probe));
	add(p, FAKE_SEND, 0, pstr(p, "40 02 00 %02x", probe));
	add(p, FAKE_END, 0, NULL);
	return at;
}

/* ---- running a case ------------------------------------------------------------------------ */

static ferry_client *case_client(const struct mcase *mc, struct mrec *m, const char *uri,
                                 const char *path)
{
	struct ferry_client_options o;
	struct ferry_properties cp = {.maximum_packet_size = mc->maxpkt,
	                              .receive_maximum = mc->recvmax,
	                              .auth_method = mc->flags & F_AUTHM ? "PLAIN" : NULL};
	cp.flags = (mc->maxpkt ? FERRY_PF_MAXIMUM_PACKET_SIZE : 0u) |
	           (mc->recvmax ? FERRY_PF_RECEIVE_MAXIMUM : 0u);
	itest_options(&o, &m->r, uri, "mal");
	o.mqtt_version = mc->ver;
	o.clean_session = false;
	o.keepalive_s = mc->keepalive;
	o.store_path = path;
	o.connect_timeout_ms = STEP_MS;
	o.reconnect_min_ms = 5;
	o.reconnect_max_ms = 20;
	o.on_connection_lost = m_lost;
	o.on_message = m_message;
	o.on_server_disconnect = mc->ver == 5 ? m_sdisc : NULL;
	o.connect_props = mc->ver == 5 ? &cp : NULL;
	if (getenv("FERRY_TEST_LOG")) {
		o.on_log = m_log;
		o.log_level = FERRY_LOG_DEBUG;
	}
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	CHECK(rc == FERRY_OK, "client create: %s", ferry_errname(rc));
	return c;
}

static void start_action(ferry_client *c, const struct mcase *mc, struct mrec *m)
{
	struct ferry_call call = {.on_done = m_act, .user = m};
	struct ferry_subscription s[2] = {{.filter = "f/a", .qos = 1}, {.filter = "f/b", .qos = 1}};
	const char *const f[2] = {"f/a", "f/b"};
	/* Once connected: a SUBSCRIBE queued before the first CONNACK is sent
	 * twice (ferry resubscribes what it holds when there is no session). */
	CHECK(itest_wait_int(&m->r, &m->r.connected, 1, WAIT_MS), "never connected");
	int rc = mc->flags & F_SUB2 ? ferry_subscribe_many(c, s, 2, &call, NULL)
	                            : ferry_unsubscribe_many(c, f, 2, &call, NULL);
	CHECK(rc == FERRY_OK, "action: %s", ferry_errname(rc));
}

/* The broker stopped reading ("G"): ferry takes the big messages, writes what
 * the socket takes and stays usable (or, with a keepalive, gives up on the
 * connection); then the broker reads again. */
static void stall(ferry_client *c, const struct mcase *mc, struct mrec *m, struct test_fake *fb,
                  size_t go)
{
	CHECK(test_fake_wait_step(fb, go, WAIT_MS) == FERRY_OK, "the broker never stalled");
	uint8_t *payload = calloc(1, BIG_SZ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(payload);
	for (unsigned i = 0; i < mc->big; i++)
		CHECK(ferry_publish(c, "big", payload, BIG_SZ, 1, false, NULL, NULL) == FERRY_OK,
		      "big");
	free(payload);
	struct ferry_stats st = {0};
	for (int i = 0; i < 1000 && st.bytes_sent < (1u << 20); i++) { /* at most 10 s */
		CHECK(ferry_client_stats(c, &st) == FERRY_OK, "stats");
		if (st.bytes_sent < (1u << 20))
			nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	CHECK(st.bytes_sent >= (1u << 20) && st.bytes_sent < (uint64_t)mc->big * BIG_SZ,
	      "%llu bytes written to a broker that reads nothing",
	      (unsigned long long)st.bytes_sent);
	if (mc->keepalive)
		CHECK(itest_wait_int(&m->r, &m->r.lost, 1, WAIT_MS),
		      "the stalled connection never ended");
	else
		CHECK(ferry_is_connected(c),
		      "not connected while the broker merely stopped reading");
	test_fake_go(fb);
}

/* What the callbacks saw, against the case's expectations. */
static void check_outcome(const struct mcase *mc, struct mrec *m, ferry_client *c, ferry_token tc)
{
	int rc = ferry_wait(c, tc, 0), lost = mc->out == CLOSE, conn = 1 + lost;
	CHECK(rc == (mc->out == CONNFAIL ? mc->cause : FERRY_OK), "connect: %s", ferry_errname(rc));
	pthread_mutex_lock(&m->r.mu);
	CHECK(m->r.lost == lost && m->r.connected == conn,
	      "%d connections, %d lost (last: %s, \"%s\"); want %d and %d", m->r.connected,
	      m->r.lost, ferry_errname(m->r.lost_cause), m->lost_text, conn, lost);
	CHECK(!lost || (m->r.lost_cause == mc->cause && m->lost_text[0]),
	      "lost with %s (\"%s\"), want %s", ferry_errname(m->r.lost_cause), m->lost_text,
	      ferry_errname(mc->cause));
	CHECK(m->nmsgs == mc->nmsgs, "%d messages delivered, want %d", m->nmsgs, mc->nmsgs);
	char code[16];
	snprintf(code, sizeof code, "(0x%02x)", mc->sdisc);
	CHECK(m->sdisc == mc->sd &&
	          (!mc->sd || (m->sdisc_reason == mc->sdisc && strstr(m->lost_text, code))),
	      "on_server_disconnect: %d calls, reason 0x%02x, text \"%s\"; want 0x%02x", m->sdisc,
	      m->sdisc_reason, m->lost_text, mc->sdisc);
	CHECK(!mc->users || m->users == (size_t)mc->users, "%zu user properties, want %ld",
	      m->users, mc->users);
	if (mc->flags & (F_SUB2 | F_UNSUB2))
		CHECK(m->act_done == 1 && m->act_rc == FERRY_OK &&
		          ((mc->flags & F_UNSUB2 && mc->ver < 5) || m->act_granted == 2),
		      "(un)subscribe: %d completions, %s, %zu codes for 2 filters", m->act_done,
		      ferry_errname(m->act_rc), m->act_granted);
	CHECK(m->r.delivered == 1 + (int)mc->big && m->r.delivered_failed == 0,
	      "%d deliveries completed (%d failed), want %u", m->r.delivered, m->r.delivered_failed,
	      1 + mc->big);
	pthread_mutex_unlock(&m->r.mu);
}

static void run_case(const struct mcase *mc)
{
	const char *only = getenv("FERRY_TEST_CASE");
	if (only && !strstr(mc->name, only))
		return;
	cur = mc;
	cur_ok = true;
	n_run++;
	fam_run++;
	struct plan p = {0};
	size_t probe = build_plan(&p, mc);
	struct test_fake *fb = NULL;
	struct test_fake_opts fo = {
	    .version = mc->ver, .timeout_ms = STEP_MS, .auto_ping = mc->keepalive > 0};
	int rc = test_fake_start(&fb, p.st, &fo);
	CU_ASSERT_FATAL(rc == FERRY_OK);
	struct tdir td;
	st_tdir_make(&td);
	struct mrec m;
	memset(&m, 0, sizeof m);
	itest_rec_init(&m.r);
	ferry_client *c = case_client(mc, &m, test_fake_uri(fb), td.path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ferry_token tk[2] = {0, 0}, tc = 0, tp = 0;
	CHECK(ferry_publish(c, "keep", "k0", 2, 1, false, NULL, &tk[0]) == FERRY_OK &&
	          ferry_publish(c, "keep", "k1", 2, 1, false, NULL, &tk[1]) == FERRY_OK &&
	          ferry_connect(c, NULL, &tc) == FERRY_OK,
	      "publish or connect refused");
	if (mc->flags & (F_SUB2 | F_UNSUB2))
		start_action(c, mc, &m);
	if (mc->big)
		stall(c, mc, &m, fb, p.go);
	plan_free(&p);
	char err[600];
	int wait = mc->big ? 30000 : WAIT_MS;
	if (test_fake_wait_step(fb, probe, (unsigned)wait) == FERRY_OK) {
		CHECK(ferry_publish(c, "probe", "ok", 2, 1, false, NULL, &tp) == FERRY_OK, "probe");
		CHECK(itest_wait_int(&m.r, &m.r.delivered, 1 + (int)mc->big, wait), "no probe");
	}
	rc = test_fake_wait(fb, WAIT_MS);
	CHECK(rc == FERRY_OK, "fake broker: %s", test_fake_error(fb, err, sizeof err));
	if (rc == FERRY_OK) {
		rc = ferry_wait(c, tp, 0);
		CHECK(rc == FERRY_OK, "probe: %s", ferry_errname(rc));
		check_outcome(mc, &m, c, tc);
	}
	CHECK(st_listed_tokens(c, tk, 2), "the two unacknowledged messages are not listed");
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	st_tdir_remove(&td);
	itest_rec_free(&m.r);
	n_failed += !cur_ok;
	fam_failed += !cur_ok;
}

static void family_begin(void)
{
	fam_run = fam_failed = 0;
	clock_gettime(CLOCK_MONOTONIC, &fam_t0);
}

static void family_end(const char *what)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long ms = (t.tv_sec - fam_t0.tv_sec) * 1000 + (t.tv_nsec - fam_t0.tv_nsec) / 1000000;
	fprintf(stderr, "\n    %s: %d cases, %d failed, %ld ms ", what, fam_run, fam_failed, ms);
}

/* ---- the codec's malformed packets -------------------------------------------------------- */

/* Every server-to-client row of `bad` in test/unit/test_malformed.c, in its
 * order: version, maximum packet size (0: none), the error, the bytes. A
 * case is named by the error and the bytes. */
struct mrow {
	uint8_t ver;
	uint32_t max;
	int err;
	const char *hex;
};

/* clang-format off */
#define M(v, m, e, h) {v, m, FERRY_ERR_##e, h}
static const struct mrow mal[] = {
	M(4, 0, PACKET_TYPE, "00 00"), M(5, 0, PACKET_TYPE, "00 02 00 01"),
	M(4, 0, PACKET_TYPE, "f0 00"), M(3, 0, PACKET_TYPE, "f0 00"),
	M(4, 0, PACKET_TYPE, "f0 02 00 00"),
	M(4, 0, PACKET_DIRECTION, "10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 63"),
	M(5, 0, PACKET_DIRECTION, "10 0e 00 04 4d 51 54 54 05 02 00 3c 00 00 01 63"),
	M(4, 0, PACKET_DIRECTION, "82 06 00 01 00 01 61 00"),
	M(5, 0, PACKET_DIRECTION, "82 07 00 01 00 00 01 61 00"),
	M(4, 0, PACKET_DIRECTION, "a2 05 00 01 00 01 61"),
	M(5, 0, PACKET_DIRECTION, "a2 06 00 01 00 00 01 61"), M(4, 0, PACKET_DIRECTION, "c0 00"),
	M(5, 0, PACKET_DIRECTION, "c0 00"), M(4, 0, PACKET_DIRECTION, "e0 00"),
	M(3, 0, PACKET_DIRECTION, "e0 00"), M(4, 0, HEADER_FLAGS, "21 02 00 00"),
	M(5, 0, HEADER_FLAGS, "28 03 00 00 00"), M(4, 0, HEADER_FLAGS, "41 02 00 01"),
	M(4, 0, HEADER_FLAGS, "42 02 00 01"), M(4, 0, HEADER_FLAGS, "58 02 00 01"),
	M(5, 0, HEADER_FLAGS, "52 02 00 01"), M(4, 0, HEADER_FLAGS, "60 02 00 01"),
	M(4, 0, HEADER_FLAGS, "6a 02 00 01"), M(5, 0, HEADER_FLAGS, "60 02 00 01"),
	M(4, 0, HEADER_FLAGS, "72 02 00 01"), M(4, 0, HEADER_FLAGS, "92 03 00 01 00"),
	M(5, 0, HEADER_FLAGS, "91 04 00 01 00 00"), M(4, 0, HEADER_FLAGS, "b1 02 00 01"),
	M(5, 0, HEADER_FLAGS, "b2 04 00 01 00 00"), M(4, 0, HEADER_FLAGS, "d8 00"),
	M(5, 0, HEADER_FLAGS, "d2 00"), M(5, 0, HEADER_FLAGS, "e1 00"),
	M(5, 0, HEADER_FLAGS, "f1 00"), M(4, 0, QOS, "36 06 00 01 61 00 01 78"),
	M(5, 0, QOS, "36 07 00 01 61 00 01 00 78"), M(4, 0, DUP_QOS0, "38 04 00 01 61 78"),
	M(5, 0, DUP_QOS0, "38 05 00 01 61 00 78"), M(4, 0, VARINT, "30 ff ff ff ff 7f"),
	M(4, 0, VARINT, "d0 80 80 80 80 01"), M(5, 0, VARINT, "30 80 80 80 80 00"),
	M(4, 0, VARINT, "30 ff ff ff ff"), M(4, 0, TRUNCATED, "d0 80"),
	M(4, 0, TRUNCATED, "30 ff ff ff"), M(4, 0, TRUNCATED, "d0"), M(4, 0, TRUNCATED, "00 e3"),
	M(5, 0, VARINT_NON_MINIMAL, "d0 80 80 00"),
	M(5, 0, VARINT_NON_MINIMAL, "20 83 00 00 00 00"),
	M(4, 11, PACKET_TOO_LARGE, "30 0a 00 03 61 2f 62 68 65 6c 6c 6f"),
	M(5, 5, PACKET_TOO_LARGE, "90 04 00 01 00 00"), M(4, 0, TRUNCATED, "20 02 00"),
	M(5, 0, TRUNCATED, "30 10 00 01 61 00"), M(5, 0, REMAINING_LENGTH, "20 02 00 00"),
	M(5, 0, REMAINING_LENGTH, "f0 01 00"), M(5, 0, REMAINING_LENGTH, "40 01 00"),
	M(4, 0, REMAINING_LENGTH, "90 01 00"), M(5, 0, REMAINING_LENGTH, "b0 01 00"),
	M(4, 0, REMAINING_LENGTH, "20 01 00"), M(4, 0, REMAINING_LENGTH, "20 00"),
	M(4, 0, REMAINING_LENGTH, "20 03 00 00 00"), M(4, 0, REMAINING_LENGTH, "40 03 00 01 00"),
	M(4, 0, REMAINING_LENGTH, "40 01 00"), M(4, 0, REMAINING_LENGTH, "50 00"),
	M(3, 0, REMAINING_LENGTH, "70 03 00 01 00"), M(4, 0, REMAINING_LENGTH, "b0 03 00 01 00"),
	M(4, 0, REMAINING_LENGTH, "d0 01 00"), M(5, 0, REMAINING_LENGTH, "d0 02 00 00"),
	M(5, 0, TRAILING_BYTES, "20 04 00 00 00 00"),
	M(5, 0, TRAILING_BYTES, "40 05 00 01 00 00 00"), M(5, 0, TRAILING_BYTES, "f0 03 00 00 00"),
	M(4, 0, TRUNCATED, "30 07 ff ff 41 42 43 44 45"), M(4, 0, TRUNCATED, "32 03 00 01 61"),
	M(4, 0, TRUNCATED, "34 04 00 01 61 00"), M(4, 0, TOPIC_NAME, "30 06 00 03 61 2f 2b 78"),
	M(4, 0, TOPIC_NAME, "30 06 00 03 61 2f 23 78"), M(5, 0, TOPIC_NAME, "30 05 00 01 23 00 78"),
	M(4, 0, TOPIC_NAME, "30 03 00 00 78"), M(5, 0, TOPIC_ALIAS, "30 04 00 00 00 78"),
	M(5, 0, TOPIC_ALIAS, "30 08 00 01 61 03 23 00 00 78"),
	M(5, 0, TOPIC_NAME, "30 0a 00 03 61 2f 2b 03 23 00 01 78"),
	M(5, 0, TOPIC_NAME, "30 08 00 01 61 03 08 00 00 78"),
	M(4, 0, UTF8, "30 06 00 03 ed a0 80 78"), M(4, 0, UTF8, "30 05 00 02 c0 80 78"),
	M(4, 0, UTF8, "30 05 00 02 c1 bf 78"), M(4, 0, UTF8, "30 06 00 03 e0 80 af 78"),
	M(5, 0, UTF8, "30 08 00 04 f0 80 80 af 00 78"),
	M(4, 0, UTF8_NUL, "30 06 00 03 61 00 62 78"), M(5, 0, UTF8_NUL, "30 05 00 01 00 00 78"),
	M(4, 0, UTF8, "30 07 00 04 f5 80 80 80 78"), M(4, 0, UTF8, "30 05 00 02 61 ff 78"),
	M(4, 0, UTF8, "30 07 00 04 f4 90 80 80 78"), M(4, 0, UTF8, "30 05 00 02 61 c3 78"),
	M(4, 0, UTF8, "30 05 00 02 e2 82 78"), M(4, 0, UTF8, "30 06 00 03 e2 82 61 78"),
	M(4, 0, UTF8, "30 04 00 01 80 78"), M(5, 0, UTF8, "30 0a 00 01 61 05 03 00 02 c0 80 78"),
	M(5, 0, UTF8_NUL, "30 0a 00 01 61 05 08 00 02 61 00 78"),
	M(5, 0, TOPIC_NAME, "30 0b 00 01 61 06 08 00 03 61 2f 2b 78"),
	M(5, 0, UTF8, "40 0a 00 01 00 06 1f 00 03 ed a0 80"),
	M(5, 0, UTF8_NUL, "20 07 00 00 04 1f 00 01 00"), M(5, 0, UTF8, "e0 06 00 04 1f 00 01 ff"),
	M(5, 0, UTF8, "20 07 00 00 04 12 00 01 c3"),
	M(5, 0, UTF8, "30 0c 00 01 61 07 26 00 01 f5 00 01 76 78"),
	M(5, 0, UTF8, "30 0e 00 01 61 09 26 00 01 6b 00 03 ed bf bf 78"),
	M(5, 0, UTF8, "e0 08 9c 06 1c 00 03 e0 9f bf"),
	M(4, 0, PACKET_ID, "32 06 00 01 61 00 00 78"),
	M(4, 0, PACKET_ID, "34 06 00 01 61 00 00 78"), M(4, 0, PACKET_ID, "40 02 00 00"),
	M(4, 0, PACKET_ID, "50 02 00 00"), M(4, 0, PACKET_ID, "62 02 00 00"),
	M(4, 0, PACKET_ID, "70 02 00 00"), M(5, 0, PACKET_ID, "40 02 00 00"),
	M(4, 0, PACKET_ID, "90 03 00 00 00"), M(5, 0, PACKET_ID, "90 04 00 00 00 00"),
	M(4, 0, PACKET_ID, "b0 02 00 00"), M(5, 0, PACKET_ID, "b0 04 00 00 00 00"),
	M(5, 0, PROPERTY_LENGTH, "30 04 00 01 61 05"),
	M(5, 0, PROPERTY_LENGTH, "20 05 00 00 0a 21 00"),
	M(5, 0, PROPERTY_LENGTH, "40 05 00 01 00 09 00"),
	M(5, 0, PROPERTY_LENGTH, "30 08 00 01 61 03 02 00 00 78"),
	M(5, 0, PROPERTY_LENGTH, "30 09 00 01 61 04 03 00 05 61 78"),
	M(5, 0, PROPERTY_LENGTH, "30 03 00 01 61"), M(5, 0, PROPERTY_LENGTH, "90 02 00 01"),
	M(5, 0, PROPERTY_LENGTH, "b0 02 00 01"),
	M(5, 0, PROPERTY_LENGTH, "30 06 00 01 61 01 23 78"),
	M(5, 0, PROPERTY_LENGTH, "30 09 00 01 61 04 09 00 03 01 78"),
	M(5, 0, PROPERTY_LENGTH, "30 0a 00 01 61 05 26 00 01 6b 00 78"),
	M(5, 0, PROPERTY_LENGTH, "30 0e 00 01 61 04 03 00 05 61 62 63 64 65 66 67"),
	M(5, 0, VARINT_NON_MINIMAL, "30 08 00 01 61 03 81 00 01 78"),
	M(5, 0, VARINT, "30 0b 00 01 61 06 0b 80 80 80 80 01 78"),
	M(5, 0, VARINT_NON_MINIMAL, "30 08 00 01 61 03 0b 81 00 78"),
	M(5, 0, VARINT, "30 09 00 01 61 ff ff ff ff 7f 78"),
	M(5, 0, VARINT_NON_MINIMAL, "30 06 00 01 61 80 00 78"),
	M(5, 0, PROPERTY_DUPLICATE, "30 09 00 01 61 04 01 01 01 01 78"),
	M(5, 0, PROPERTY_DUPLICATE, "30 0f 00 01 61 0a 02 00 00 00 0a 02 00 00 00 0a 78"),
	M(5, 0, PROPERTY_DUPLICATE, "30 0d 00 01 61 08 03 00 01 61 03 00 01 62 78"),
	M(5, 0, PROPERTY_DUPLICATE, "30 0d 00 01 61 08 09 00 01 01 09 00 01 02 78"),
	M(5, 0, PROPERTY_DUPLICATE, "30 0b 00 01 61 06 23 00 01 23 00 02 78"),
	M(5, 0, PROPERTY_DUPLICATE, "20 0b 00 00 08 12 00 01 61 12 00 01 62"),
	M(5, 0, PROPERTY_DUPLICATE, "20 09 00 00 06 13 00 0a 13 00 0a"),
	M(5, 0, PROPERTY_DUPLICATE, "20 0b 00 00 08 1a 00 01 69 1a 00 01 69"),
	M(5, 0, PROPERTY_DUPLICATE, "20 07 00 00 04 24 01 24 00"),
	M(5, 0, PROPERTY_DUPLICATE, "20 07 00 00 04 25 01 25 01"),
	M(5, 0, PROPERTY_DUPLICATE, "20 07 00 00 04 28 00 28 00"),
	M(5, 0, PROPERTY_DUPLICATE, "20 07 00 00 04 2a 01 2a 01"),
	M(5, 0, PROPERTY_DUPLICATE, "40 0c 00 01 00 08 1f 00 01 72 1f 00 01 72"),
	M(5, 0, PROPERTY_DUPLICATE, "e0 0a 9d 08 1c 00 01 68 1c 00 01 68"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "30 0a 00 01 61 05 11 00 00 00 0a 78"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "30 08 00 01 61 03 21 00 0a 78"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "20 08 00 00 05 18 00 00 00 01"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "20 05 00 00 02 17 01"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "20 05 00 00 02 0b 01"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "20 08 00 00 05 02 00 00 00 01"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "40 09 00 01 00 05 11 00 00 00 01"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "62 08 00 01 00 04 03 00 01 74"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "90 06 00 01 02 0b 01 00"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "b0 08 00 01 04 1c 00 01 68 00"),
	M(5, 0, PROPERTY_NOT_ALLOWED, "f0 07 18 05 11 00 00 00 01"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 00 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 04 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 05 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 07 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 0a 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 0c 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 10 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 14 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 1b 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 1d 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 20 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 2b 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "30 07 00 01 61 02 7f 00 78"),
	M(5, 0, PROPERTY_UNKNOWN, "20 06 00 00 03 80 01 00"),
	M(5, 0, PROPERTY_UNKNOWN, "e0 04 00 02 1e 00"),
	M(5, 0, PROPERTY_VALUE, "20 06 00 00 03 21 00 00"),
	M(5, 0, PROPERTY_VALUE, "20 05 00 00 02 24 02"),
	M(5, 0, PROPERTY_VALUE, "20 08 00 00 05 27 00 00 00 00"),
	M(5, 0, PROPERTY_VALUE, "30 07 00 01 61 02 01 02 78"),
	M(5, 0, PROPERTY_VALUE, "20 05 00 00 02 25 02"),
	M(5, 0, PROPERTY_VALUE, "20 05 00 00 02 28 02"),
	M(5, 0, PROPERTY_VALUE, "20 05 00 00 02 29 02"),
	M(5, 0, PROPERTY_VALUE, "20 05 00 00 02 2a ff"),
	M(5, 0, PROPERTY_VALUE, "30 07 00 01 61 02 0b 00 78"),
	M(4, 0, EMPTY_PAYLOAD, "90 02 00 01"), M(5, 0, EMPTY_PAYLOAD, "90 03 00 01 00"),
	M(5, 0, EMPTY_PAYLOAD, "b0 03 00 01 00"), M(4, 0, REASON_CODE, "20 02 00 06"),
	M(4, 0, REASON_CODE, "20 02 00 80"), M(3, 0, REASON_CODE, "20 02 00 06"),
	M(5, 0, REASON_CODE, "20 03 00 01 00"), M(5, 0, REASON_CODE, "20 03 00 8e 00"),
	M(5, 0, REASON_CODE, "40 04 00 01 05 00"), M(5, 0, REASON_CODE, "40 04 00 01 92 00"),
	M(5, 0, REASON_CODE, "40 03 00 01 05"), M(5, 0, REASON_CODE, "50 04 00 01 01 00"),
	M(5, 0, REASON_CODE, "70 04 00 01 10 00"), M(4, 0, REASON_CODE, "90 03 00 01 03"),
	M(4, 0, REASON_CODE, "90 04 00 01 00 81"), M(3, 0, REASON_CODE, "90 03 00 01 80"),
	M(5, 0, REASON_CODE, "90 04 00 01 00 03"), M(5, 0, REASON_CODE, "90 05 00 01 00 01 11"),
	M(5, 0, REASON_CODE, "b0 04 00 01 00 01"), M(5, 0, REASON_CODE, "b0 05 00 01 00 00 02"),
	M(5, 0, REASON_CODE, "e0 02 05 00"), M(5, 0, REASON_CODE, "f0 02 01 00"),
	M(4, 0, CONNACK_FLAGS, "20 02 02 00"), M(4, 0, CONNACK_FLAGS, "20 02 80 00"),
	M(5, 0, CONNACK_FLAGS, "20 03 fe 00 00"), M(4, 0, CONNACK_FLAGS, "20 02 01 05"),
	M(5, 0, CONNACK_FLAGS, "20 03 01 87 00"), M(5, 0, PROTOCOL, "e0 07 00 05 11 00 00 00 0a"),
	M(5, 0, PROTOCOL, "e0 07 8b 05 11 00 00 00 00"),
};
/* clang-format on */
#define NROWS(t) (sizeof(t) / sizeof(t[0]))

/* How ferry's reader and decoder take these bytes at version ver: the error
 * (FERRY_OK: a good frame) and in *at the index of the byte that decided it,
 * n when no frame came out. */
static int classify(const uint8_t *in, size_t n, uint8_t ver, uint32_t max, size_t *at)
{
	struct ferry_frame_reader fr;
	ferry__frame_reader_init(&fr, max, ver == 5);
	int rc = FERRY_OK;
	*at = n;
	for (size_t i = 0; i < n && *at == n; i++) {
		size_t used = 0;
		bool done = false;
		struct ferry_frame f;
		struct ferry_packet pk;
		struct ferry_codec_cfg cfg = {.version = ver, .peer = FERRY_PEER_SERVER};
		rc = ferry__frame_next(&fr, in + i, 1, &used, &f, &done);
		if (!rc && done)
			rc = ferry__decode(&cfg, f.data, f.len, &pk);
		if (rc || done)
			*at = i;
	}
	ferry__frame_reader_free(&fr);
	return rc;
}

/*
 * Row r at version v (mode 0: its own, whole; 1: its own, one byte per write,
 * where ferry decides at the last byte, as it may close once it has; 2: the
 * other versions where the bytes break the same rule). ferry closes with
 * the row's error as the cause (MQTT 5: DISCONNECT 0x81 first; 0x94 for a
 * topic alias, 0x95 for an oversize packet). An incomplete frame is sent,
 * then the broker closes: ferry reports the closed connection and must not
 * carry the partial frame over to the next one.
 */
static void malformed_case(const struct mrow *r, uint8_t v, int mode)
{
	uint8_t in[512];
	size_t n = test_hex(r->hex, in, sizeof in), at;
	int err = classify(in, n, v, r->max, &at);
	if ((mode == 1 && at + 1 < n) || (mode == 2 && (err != r->err || at == n)))
		return;
	char mid[1600];
	struct mcase mc = {.ver = v, .out = CLOSE, .cause = err, .reason = 0x81, .maxpkt = r->max};
	snprintf(mc.name, sizeof mc.name, "%s %s%s", ferry_errname(r->err) + 10, r->hex,
	         mode == 1   ? " (1 byte per write)"
	         : mode == 2 ? " (at another version)"
	                     : "");
	cur = &mc;
	CHECK(err == r->err || (at == n && r->err == FERRY_ERR_TRUNCATED),
	      "the decoder says %s, the table %s", ferry_errname(err), ferry_errname(r->err));
	if (at == n) {
		mc.cause = FERRY_ERR_CLOSED;
		mc.reason = 0;
	} else if (err == FERRY_ERR_TOPIC_ALIAS) {
		mc.cause = FERRY_ERR_PROTOCOL;
		mc.reason = 0x94;
	} else if (err == FERRY_ERR_PACKET_TOO_LARGE) {
		mc.reason = 0x95;
	}
	snprintf(mid, sizeof mid, "%c%s%s", mode == 1 ? '~' : '>', r->hex, at == n ? "|." : "");
	mc.mid = mid;
	run_case(&mc);
}

static void malformed(int mode)
{
	family_begin();
	for (size_t i = 0; i < NROWS(mal); i++) {
		uint8_t own = mal[i].max ? 5 : mal[i].ver; /* a maximum packet size is MQTT 5's */
		for (uint8_t v = 3; v <= 5; v++)
			if ((mode < 2) == (v == own) && (mode < 2 || !mal[i].max))
				malformed_case(&mal[i], v, mode);
	}
	family_end(mode == 0   ? "malformed, whole"
	           : mode == 1 ? "malformed, 1 byte per write"
	                       : "malformed, other versions");
}

static void test_malformed_whole(void)
{
	malformed(0);
}

static void test_malformed_split(void)
{
	malformed(1);
}

static void test_malformed_other_versions(void)
{
	malformed(2);
}

/* ---- hand-written cases ---------------------------------------------------------------------- */

#define V3  (1u << 3)
#define V4  (1u << 4)
#define V5  (1u << 5)
#define V34 (V3 | V4)

struct xrow {
	const char *name;
	unsigned vers; /* V3 | V4 | V5: run at each */
	uint8_t flags, out;
	int cause, reason, nmsgs;
	const char *mid;
};

/* clang-format off */
#define S(n, v, f, k, mid)    {n, v, f, STAY, FERRY_OK, 0, k, mid}
#define C(n, v, f, e, r, mid) {n, v, f, CLOSE, FERRY_ERR_##e, r, 0, mid}
#define P(n, v, mid)          {n, v, F_PRE, CONNFAIL, FERRY_ERR_PROTOCOL, 0, 0, mid}
static const struct xrow xrows[] = {
	/* CONNACK not first: the connect attempt fails, the next one succeeds */
	P("PUBLISH QoS 0 before CONNACK", V34, ">30 04 00 01 't' 'x'"),
	P("PUBLISH QoS 0 before CONNACK", V5, ">30 05 00 01 't' 00 'x'"),
	P("PUBLISH QoS 1 before CONNACK", V34, ">32 06 00 01 't' 00 01 'x'"),
	P("PUBLISH QoS 1 before CONNACK", V5, ">32 07 00 01 't' 00 01 00 'x'"),
	P("PUBACK before CONNACK", V34 | V5, ">40 02 00 01"),
	P("PUBREC before CONNACK", V34 | V5, ">50 02 00 01"),
	P("PUBREL before CONNACK", V34 | V5, ">62 02 00 01"),
	P("PUBCOMP before CONNACK", V34 | V5, ">70 02 00 01"),
	P("SUBACK before CONNACK", V34, ">90 03 00 01 00"),
	P("SUBACK before CONNACK", V5, ">90 04 00 01 00 00"),
	P("UNSUBACK before CONNACK", V34, ">b0 02 00 01"),
	P("UNSUBACK before CONNACK", V5, ">b0 04 00 01 00 00"),
	P("PINGRESP before CONNACK", V34 | V5, ">d0 00"),
	P("PINGRESP before CONNACK, 1 byte per write", V34 | V5, "~d0 00"),
	P("PUBACK before CONNACK, 1 byte per write", V34 | V5, "~40 02 00 01"),
	P("DISCONNECT before CONNACK", V5, ">e0 01 80"),
	P("AUTH before CONNACK (no authentication asked)", V5, ">f0 00"),
	/* CONNACK twice */
	C("CONNACK again", V34, 0, PROTOCOL, 0x82, ">20 02 00 00"),
	C("CONNACK again, session present", V34, 0, PROTOCOL, 0x82, ">20 02 01 00"),
	C("CONNACK refusal on a live connection", V34, 0, PROTOCOL, 0x82, ">20 02 00 05"),
	C("CONNACK again, 1 byte per write", V34, 0, PROTOCOL, 0x82, "~20 02 00 00"),
	C("CONNACK again", V5, 0, PROTOCOL, 0x82, ">20 03 00 00 00"),
	C("CONNACK again, session present", V5, 0, PROTOCOL, 0x82, ">20 03 01 00 00"),
	C("CONNACK refusal 0x87 on a live connection", V5, 0, PROTOCOL, 0x82, ">20 03 00 87 00"),
	C("CONNACK again, 1 byte per write", V5, 0, PROTOCOL, 0x82, "~20 03 00 00 00"),
	C("CONNACK again with properties", V5, 0, PROTOCOL, 0x82, ">20 08 00 00 05 11 00 00 00 0a"),
	/* unsolicited or unknown-id acknowledgements: ignored (PUBREL answered) */
	S("PUBACK for an unknown id", V34 | V5, 0, 0, ">40 02 12 34"),
	S("PUBREC for an unknown id", V34 | V5, 0, 0, ">50 02 12 34"),
	S("PUBREL for an unknown id", V34, 0, 0, ">62 02 12 34|<70 02 12 34"),
	S("PUBREL for an unknown id", V5, 0, 0, ">62 02 12 34|=7"),
	S("PUBCOMP for an unknown id", V34 | V5, 0, 0, ">70 02 12 34"),
	S("SUBACK for an unknown id", V34, 0, 0, ">90 03 12 34 01"),
	S("SUBACK for an unknown id", V5, 0, 0, ">90 04 12 34 00 01"),
	S("UNSUBACK for an unknown id", V34, 0, 0, ">b0 02 12 34"),
	S("UNSUBACK for an unknown id", V5, 0, 0, ">b0 04 12 34 00 00"),
	S("PUBACK for id 65535", V34 | V5, 0, 0, ">40 02 ff ff"),
	S("PUBCOMP for id 65535", V34 | V5, 0, 0, ">70 02 ff ff"),
	S("PUBREC for a QoS 1 message in flight", V34 | V5, 0, 0, ">50 02 00 01"),
	S("PUBCOMP for a QoS 1 message in flight", V34 | V5, 0, 0, ">70 02 00 02"),
	S("SUBACK for a PUBLISH's id", V34, 0, 0, ">90 03 00 01 01"),
	S("SUBACK for a PUBLISH's id", V5, 0, 0, ">90 04 00 01 00 01"),
	S("UNSUBACK for a PUBLISH's id", V34, 0, 0, ">b0 02 00 01"),
	S("UNSUBACK for a PUBLISH's id", V5, 0, 0, ">b0 04 00 02 00 00"),
	S("PUBREL for an id never received", V34, 0, 0, ">62 02 00 01|<70 02 00 01"),
	S("PUBREL for an id never received", V5, 0, 0, ">62 02 00 01|=7"),
	S("PUBACK, unknown id, failure reason and reason string", V5, 0, 0,
	  ">40 0b 12 34 80 07 1f 00 04 'nope'"),
	S("PUBREC, unknown id, reason 0x10", V5, 0, 0, ">50 04 12 34 10 00"),
	S("PUBCOMP, unknown id, reason 0x92", V5, 0, 0, ">70 03 12 34 92"),
	S("UNSUBACK for a SUBSCRIBE's id", V4, F_SUB2, 0, ">b0 02 00 03|>90 04 00 03 01 01"),
	S("UNSUBACK for a SUBSCRIBE's id", V5, F_SUB2, 0,
	  ">b0 04 00 03 00 00|>90 05 00 03 00 01 01"),
	S("PUBACK for a SUBSCRIBE's id", V4, F_SUB2, 0, ">40 02 00 03|>90 04 00 03 01 01"),
	S("PUBACK for a SUBSCRIBE's id", V5, F_SUB2, 0, ">40 02 00 03|>90 05 00 03 00 01 01"),
	S("SUBACK twice", V4, F_SUB2, 0, ">90 04 00 03 01 01|>90 04 00 03 01 01"),
	S("SUBACK twice", V5, F_SUB2, 0, ">90 05 00 03 00 01 01|>90 05 00 03 00 01 01"),
	S("SUBACK for an UNSUBSCRIBE's id", V4, F_UNSUB2, 0, ">90 04 00 03 01 01|>b0 02 00 03"),
	S("SUBACK for an UNSUBSCRIBE's id", V5, F_UNSUB2, 0,
	  ">90 05 00 03 00 01 01|>b0 05 00 03 00 00 00"),
	S("PUBREC for an UNSUBSCRIBE's id", V4, F_UNSUB2, 0, ">50 02 00 03|>b0 02 00 03"),
	/* SUBACK / UNSUBACK reason codes that do not match the filters */
	C("SUBACK with 1 code for 2 filters", V4, F_SUB2, PROTOCOL, 0x82, ">90 03 00 03 01"),
	C("SUBACK with 3 codes for 2 filters", V4, F_SUB2, PROTOCOL, 0x82, ">90 05 00 03 01 01 01"),
	C("SUBACK with 1 code for 2 filters, 1 byte per write", V4, F_SUB2, PROTOCOL, 0x82,
	  "~90 03 00 03 01"),
	C("SUBACK with 1 code for 2 filters", V5, F_SUB2, PROTOCOL, 0x82, ">90 04 00 03 00 01"),
	C("SUBACK with 3 codes for 2 filters", V5, F_SUB2, PROTOCOL, 0x82,
	  ">90 06 00 03 00 01 01 01"),
	C("SUBACK with a reason string and 1 code for 2 filters", V5, F_SUB2, PROTOCOL, 0x82,
	  ">90 0a 00 03 06 1f 00 03 'why' 80"),
	C("UNSUBACK with 1 code for 2 filters", V5, F_UNSUB2, PROTOCOL, 0x82, ">b0 04 00 03 00 00"),
	C("UNSUBACK with 3 codes for 2 filters", V5, F_UNSUB2, PROTOCOL, 0x82,
	  ">b0 06 00 03 00 00 00 00"),
	C("UNSUBACK with 1 code for 2 filters, 1 byte per write", V5, F_UNSUB2, PROTOCOL, 0x82,
	  "~b0 04 00 03 00 00"),
	C("SUBACK with no codes for 2 filters", V4, F_SUB2, EMPTY_PAYLOAD, 0x81, ">90 02 00 03"),
	C("SUBACK with no codes for 2 filters", V5, F_SUB2, EMPTY_PAYLOAD, 0x81, ">90 03 00 03 00"),
	C("UNSUBACK with no codes for 2 filters", V5, F_UNSUB2, EMPTY_PAYLOAD, 0x81,
	  ">b0 03 00 03 00"),
	C("SUBACK whose codes never come", V4, F_SUB2, CLOSED, 0, ">90 04 00 03 01|."),
	C("SUBACK whose codes never come", V5, F_SUB2, CLOSED, 0, ">90 05 00 03 00|."),
	/* AUTH nobody asked for */
	C("AUTH success, no authentication", V5, 0, PROTOCOL, 0x82, ">f0 00"),
	C("AUTH success with properties, no authentication", V5, 0, PROTOCOL, 0x82, ">f0 02 00 00"),
	C("AUTH continue, no authentication", V5, 0, PROTOCOL, 0x82, ">f0 02 18 00"),
	C("AUTH continue with a method, no authentication", V5, 0, PROTOCOL, 0x82,
	  ">f0 0a 18 08 15 00 05 'PLAIN'"),
	C("AUTH re-authenticate from the server", V5, 0, PROTOCOL, 0x82,
	  ">f0 0a 19 08 15 00 05 'PLAIN'"),
	C("AUTH success, no authentication, 1 byte per write", V5, 0, PROTOCOL, 0x82, "~f0 00"),
	C("AUTH success, no re-authentication in progress", V5, F_AUTHM, PROTOCOL, 0x82,
	  ">f0 0a 00 08 15 00 05 'PLAIN'"),
	C("AUTH continue, no re-authentication in progress", V5, F_AUTHM, PROTOCOL, 0x82,
	  ">f0 0a 18 08 15 00 05 'PLAIN'"),
	C("AUTH continue with another method", V5, F_AUTHM, PROTOCOL, 0x82,
	  ">f0 0a 18 08 15 00 05 'OTHER'"),
	/* topic lengths beyond the packet, overlong remaining lengths */
	C("topic length 1 beyond the packet", V34, 0, TRUNCATED, 0x81, ">30 05 00 04 'abc'"),
	C("QoS 1 topic length beyond the packet", V34, 0, TRUNCATED, 0x81,
	  ">32 07 00 10 'abc' 00 01"),
	C("topic length 65535 in 7 bytes", V5, 0, TRUNCATED, 0x81, ">30 07 ff ff 'abcde'"),
	C("QoS 1 topic length beyond the packet", V5, 0, TRUNCATED, 0x81,
	  ">32 08 00 10 'abc' 00 01 00"),
	C("remaining length 268435455, then close", V34 | V5, 0, CLOSED, 0,
	  ">30 ff ff ff 7f 00 03 'a/b'|."),
	C("PINGRESP with remaining length 268435455, then close", V34 | V5, 0, CLOSED, 0,
	  ">d0 ff ff ff 7f|."),
	C("PUBACK remaining length 200, 2 bytes, then close", V34 | V5, 0, CLOSED, 0,
	  ">40 c8 01 12 34|."),
	S("non-minimal remaining length (accepted in 3.1.1)", V4, 0, 0, ">40 82 80 80 00 12 34"),
	C("non-minimal remaining length", V5, 0, VARINT_NON_MINIMAL, 0x81, ">40 82 80 80 00 12 34"),
	/* valid traffic one byte per write */
	S("PUBLISH QoS 0, 1 byte per write", V34, 0, 1, "~30 04 00 01 't' 'x'"),
	S("PUBLISH QoS 0, 1 byte per write", V5, 0, 1, "~30 05 00 01 't' 00 'x'"),
	S("PUBLISH QoS 1, 1 byte per write", V34, 0, 1, "~32 06 00 01 't' 00 05 'x'|<40 02 00 05"),
	S("PUBLISH QoS 1, 1 byte per write", V5, 0, 1,
	  "~32 07 00 01 't' 00 05 00 'x'|<40 02 00 05"),
	S("QoS 2 flow, 1 byte per write", V34, 0, 1,
	  "~34 06 00 01 't' 00 06 'x'|<50 02 00 06|~62 02 00 06|<70 02 00 06"),
	S("QoS 2 flow, 1 byte per write", V5, 0, 1,
	  "~34 07 00 01 't' 00 06 00 'x'|<50 02 00 06|~62 02 00 06|<70 02 00 06"),
	S("unsolicited PINGRESP, 1 byte per write", V34 | V5, 0, 0, "~d0 00"),
	S("PUBACK for an unknown id, 1 byte per write", V34 | V5, 0, 0, "~40 02 12 34"),
	S("SUBACK, 1 byte per write", V4, F_SUB2, 0, "~90 04 00 03 01 01"),
	S("SUBACK, 1 byte per write", V5, F_SUB2, 0, "~90 05 00 03 00 01 01"),
};
/* clang-format on */

static void test_hand_written(void)
{
	family_begin();
	for (size_t i = 0; i < NROWS(xrows); i++) {
		const struct xrow *x = &xrows[i];
		for (uint8_t v = 3; v <= 5; v++) {
			struct mcase mc = {.ver = v,
			                   .flags = x->flags,
			                   .out = x->out,
			                   .cause = x->cause,
			                   .reason = x->reason,
			                   .nmsgs = x->nmsgs,
			                   .mid = x->mid};
			snprintf(mc.name, sizeof mc.name, "%s", x->name);
			if (x->vers & (1u << v))
				run_case(&mc);
		}
	}
	family_end("hand-written cases");
}

/* ---- generated cases ------------------------------------------------------------------------- */

struct sb { /* a growing string of segments */
	char *s;
	size_t n, cap;
};

/* Appends a segment: op, then the bytes in hex ('|' before it unless first; op '+'
 * appends the bytes to the last segment). */
static void sb_seg(struct sb *b, char op, const uint8_t *p, size_t n)
{
	while (b->n + 3 * n + 3 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4096;
		b->s = realloc(b->s, b->cap);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b->s);
	}
	if (op != '+') {
		if (b->n)
			b->s[b->n++] = '|';
		b->s[b->n++] = op;
	}
	for (size_t i = 0; i < n; i++)
		b->n += (size_t)sprintf(b->s + b->n, "%02x ", p[i]);
	b->s[b->n] = 0;
}

/* A packet: b0, remaining length, pre, [MQTT 5 property block: users "k"="v"
 * pairs, then extra], post. malloc'd; *len set. */
static uint8_t *packet(uint8_t b0, const uint8_t *pre, size_t npre, bool props, size_t users,
                       const uint8_t *extra, size_t nextra, const uint8_t *post, size_t npost,
                       size_t *len)
{
	static const uint8_t user[] = {0x26, 0, 1, 'k', 0, 1, 'v'};
	size_t plen = users * sizeof user + nextra;
	size_t rl = npre + (props ? ferry__varint_size((uint32_t)plen) + plen : 0) + npost;
	uint8_t *buf = malloc(5 + rl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	struct ferry_writer w;
	ferry__wr_init(&w, buf, 5 + rl);
	int rc = ferry__wr_u8(&w, b0) | ferry__wr_varint(&w, (uint32_t)rl);
	rc |= ferry__wr_raw(&w, pre, npre);
	if (props)
		rc |= ferry__wr_varint(&w, (uint32_t)plen);
	for (size_t i = 0; props && i < users; i++)
		rc |= ferry__wr_raw(&w, user, sizeof user);
	rc |= ferry__wr_raw(&w, extra, nextra) | ferry__wr_raw(&w, post, npost);
	CU_ASSERT_FATAL(rc == FERRY_OK);
	*len = (size_t)(w.p - buf);
	return buf;
}

/* Runs mc with one packet (freed) as its misbehaviour, op '>' or '~', then `then`. */
static void packet_case(struct mcase *mc, char op, uint8_t *pkt, const size_t *n, const char *then)
{
	struct sb b = {0};
	sb_seg(&b, op, pkt, *n);
	mc->mid = b.s;
	mc->after = then;
	run_case(mc);
	free(b.s);
	free(pkt);
}

#define MC(...)                                                                                    \
	(struct mcase)                                                                             \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}

/* Every DISCONNECT reason a server may send (MQTT 5 table 3-10): bare, with
 * empty properties, with a reason string and a user property. */
static void test_server_disconnect(void)
{
	static const uint8_t codes[] = {0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E,
	                                0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A,
	                                0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
	static const uint8_t why[] = {0x1f, 0, 3, 'b', 'y', 'e'};
	static const uint8_t ref[] = {0x1c, 0,   14,  't', 'c', 'p', ':', '/', '/',
	                              'x',  '.', 't', 'e', 's', 't', ':', '1'};
	static const char *const forms[] = {"", ", empty properties", ", reason string",
	                                    ", server reference"};
	family_begin();
	size_t n;
	for (size_t i = 0; i < sizeof codes; i++) {
		uint8_t code = codes[i];
		for (int f = 0; f < 4; f++) {
			if (f == 3 && code != 0x9C && code != 0x9D)
				continue;
			struct mcase mc = MC(.ver = 5, .out = CLOSE, .sd = true, .sdisc = code,
			                     .cause = code == 0x8E ? FERRY_ERR_TAKEOVER
			                                           : FERRY_ERR_SERVER_DISCONNECT);
			snprintf(mc.name, sizeof mc.name, "server DISCONNECT 0x%02x%s", code,
			         forms[f]);
			const uint8_t *x = f == 2 ? why : ref;
			size_t nx = f == 2 ? sizeof why : f == 3 ? sizeof ref : 0;
			packet_case(&mc, '>',
			            packet(0xE0, &code, 1, f > 0, f == 2, x, nx, NULL, 0, &n), &n,
			            NULL);
		}
	}
	static const struct {
		const char *name, *mid;
		uint8_t code;
	} more[] = {{"server DISCONNECT without a body", ">e0 00", 0},
	            {"server DISCONNECT 0x8b, 1 byte per write", "~e0 01 8b", 0x8B},
	            {"server DISCONNECT 0x04 (a client's code)", ">e0 01 04", 0x04}};
	for (size_t i = 0; i < NROWS(more); i++) {
		struct mcase mc = MC(.ver = 5, .out = CLOSE, .sd = true, .sdisc = more[i].code,
		                     .cause = FERRY_ERR_SERVER_DISCONNECT, .mid = more[i].mid);
		snprintf(mc.name, sizeof mc.name, "%s", more[i].name);
		run_case(&mc);
	}
	family_end("server DISCONNECT reasons");
}

/* A PUBLISH from the broker (topic "q", payload "x") or an ack, as segment op. */
static void sb_pub(struct sb *b, uint8_t ver, char op, int qos, bool dup, unsigned id)
{
	uint8_t p[9] = {(uint8_t)(0x30 | qos << 1 | (dup ? 8 : 0)),
	                ver == 5 ? 7 : 6,
	                0,
	                1,
	                'q',
	                (uint8_t)(id >> 8),
	                (uint8_t)id,
	                ver == 5 ? 0 : 'x',
	                'x'};
	sb_seg(b, op, p, ver == 5 ? 9 : 8);
}

static void sb_ack(struct sb *b, char op, int type, unsigned id)
{
	uint8_t a[4] = {(uint8_t)(type << 4 | (type == FERRY_PUBREL ? 2 : 0)), 2,
	                (uint8_t)(id >> 8), (uint8_t)id};
	sb_seg(b, op, a, 4);
}

/*
 * n QoS 2 (or 1) messages in one write (ids 1..n, or all `same`, resent with
 * DUP), each answered, never released. Over a Receive Maximum (distinct QoS
 * 2 ids only), ferry answers recvmax of them and closes with 0x93.
 */
static void flood(uint8_t ver, int qos, unsigned n, unsigned same, uint16_t recvmax, char op)
{
	struct sb b = {0};
	unsigned ok = qos == 2 && !same && recvmax && recvmax < n ? recvmax : n;
	for (unsigned i = 1; i <= n; i++)
		sb_pub(&b, ver, i == 1 || op == '~' ? op : '+', qos, same && i > 1,
		       same ? same : i);
	for (unsigned i = 1; i <= ok; i++)
		sb_ack(&b, '<', qos == 2 ? FERRY_PUBREC : FERRY_PUBACK, same ? same : i);
	struct mcase mc = MC(.ver = ver, .recvmax = recvmax, .out = ok < n ? CLOSE : STAY,
	                     .cause = FERRY_ERR_PROTOCOL, .reason = 0x93,
	                     .nmsgs = same ? 1 : (int)ok, .mid = b.s);
	snprintf(mc.name, sizeof mc.name,
	         "%u QoS %d messages%s%s, never released (Receive Maximum %u)", n, qos,
	         same ? " under one id" : "", op == '~' ? ", 1 byte per write" : "",
	         recvmax ? recvmax : 65535);
	run_case(&mc);
	free(b.s);
}

static void test_floods(void)
{
	family_begin();
	flood(4, 2, 1000, 0, 0, '>');
	flood(5, 2, 1000, 0, 0, '>');
	flood(3, 2, 200, 0, 0, '>');
	flood(4, 2, 300, 7, 0, '>');
	flood(5, 2, 300, 7, 1, '>');
	flood(4, 1, 500, 0, 0, '>');
	flood(5, 1, 200, 0, 1, '>');
	flood(4, 2, 20, 0, 0, '~');
	flood(5, 2, 3, 0, 2, '~');
	for (uint16_t rm = 1; rm <= 64; rm = (uint16_t)(rm * 4)) {
		flood(5, 2, rm + 1u, 0, rm, '>');
		flood(5, 2, rm + 10u, 0, rm, '>');
	}
	/* Receive Maximum 2: a resent (DUP) held message takes no slot, a PUBREL frees one */
	struct sb b = {0};
	sb_pub(&b, 5, '>', 2, false, 1);
	sb_ack(&b, '<', FERRY_PUBREC, 1);
	sb_pub(&b, 5, '>', 2, false, 2);
	sb_ack(&b, '<', FERRY_PUBREC, 2);
	sb_pub(&b, 5, '>', 2, true, 2);
	sb_ack(&b, '<', FERRY_PUBREC, 2);
	sb_ack(&b, '>', FERRY_PUBREL, 1);
	sb_ack(&b, '<', FERRY_PUBCOMP, 1);
	sb_pub(&b, 5, '>', 2, false, 3);
	sb_ack(&b, '<', FERRY_PUBREC, 3);
	struct mcase mc = MC(.ver = 5, .recvmax = 2, .out = STAY, .nmsgs = 3, .mid = b.s,
	                     .name = "Receive Maximum 2: a resend, a release, a third message");
	run_case(&mc);
	free(b.s);
	family_end("floods and Receive Maximum");
}

/* Thousands of user properties, huge properties and packets, overlong lengths. */
static void test_big(void)
{
	static const uint8_t t[] = {0, 1, 't'}, tid[] = {0, 1, 't', 0, 9}, x = 'x', dis = 0x80;
	static const uint8_t fmt[] = {1, 1, 1, 1}, cut[] = {0x26, 0, 1, 'k', 0, 5, 'v'};
	static const uint8_t unknown[] = {0x12, 0x34, 0x00}, sub[] = {0, 3}, two[] = {1, 1};
	family_begin();
	size_t n;
	uint8_t *pl = calloc(1, 1 << 20), many[200];
	CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
	memset(many, 1, sizeof many);
	memcpy(pl, (const uint8_t[]){0x26, 0, 1, 'k', 0xff, 0xff}, 6);
	memset(pl + 6, 'v', 65535);
	struct mcase mc = MC(.ver = 5, .nmsgs = 1, .users = 10000, .name = "10000 user properties");
	packet_case(&mc, '>', packet(0x30, t, 3, true, 10000, NULL, 0, &x, 1, &n), &n, NULL);
	mc = MC(.ver = 5, .nmsgs = 1, .users = 5000, .name = "QoS 1, 5000 user properties");
	packet_case(&mc, '>', packet(0x32, tid, 5, true, 5000, NULL, 0, &x, 1, &n), &n,
	            "<40 02 00 09");
	mc = MC(.ver = 5, .nmsgs = 1, .users = 2000,
	        .name = "2000 user properties, 1 byte per write");
	packet_case(&mc, '~', packet(0x30, t, 3, true, 2000, NULL, 0, &x, 1, &n), &n, NULL);
	mc = MC(.ver = 5, .nmsgs = 1, .users = 1, .name = "a user property of 65535 bytes");
	packet_case(&mc, '>', packet(0x30, t, 3, true, 0, pl, 6 + 65535, &x, 1, &n), &n, NULL);
	memset(pl, 0, 6 + 65535);
	mc = MC(.ver = 5, .name = "PUBACK for an unknown id, 5000 user properties");
	packet_case(&mc, '>', packet(0x40, unknown, 3, true, 5000, NULL, 0, NULL, 0, &n), &n, NULL);
	mc = MC(.ver = 5, .flags = F_SUB2, .name = "SUBACK with 3000 user properties");
	packet_case(&mc, '>', packet(0x90, sub, 2, true, 3000, NULL, 0, two, 2, &n), &n, NULL);
	mc = MC(.ver = 5, .out = CLOSE, .cause = FERRY_ERR_SERVER_DISCONNECT, .sd = true,
	        .sdisc = 0x80, .name = "DISCONNECT with 5000 user properties");
	packet_case(&mc, '>', packet(0xE0, &dis, 1, true, 5000, NULL, 0, NULL, 0, &n), &n, NULL);
	mc = MC(.ver = 5, .out = CLOSE, .cause = FERRY_ERR_PROPERTY_DUPLICATE, .reason = 0x81,
	        .name = "10000 user properties, then two payload formats");
	packet_case(&mc, '>', packet(0x30, t, 3, true, 10000, fmt, 4, &x, 1, &n), &n, NULL);
	mc.cause = FERRY_ERR_PROPERTY_LENGTH;
	snprintf(mc.name, sizeof mc.name, "10000 user properties, the last one cut");
	packet_case(&mc, '>', packet(0x30, t, 3, true, 10000, cut, 7, &x, 1, &n), &n, NULL);
	for (uint8_t v = 4; v <= 5; v++) {
		mc = MC(.ver = v, .nmsgs = 1, .name = "a 1 MiB PUBLISH");
		packet_case(&mc, '>', packet(0x30, t, 3, v == 5, 0, NULL, 0, pl, 1 << 20, &n), &n,
		            NULL);
		mc = MC(.ver = v, .out = CLOSE, .flags = F_SUB2, .cause = FERRY_ERR_PROTOCOL,
		        .reason = 0x82, .name = "SUBACK with 200 codes for 2 filters");
		packet_case(&mc, '>', packet(0x90, sub, 2, v == 5, 0, NULL, 0, many, 200, &n), &n,
		            NULL);
		struct sb b = {0};
		for (unsigned i = 0; i < 100; i++)
			sb_ack(&b, '>', FERRY_PUBACK, 0x1000 + i);
		mc = MC(.ver = v, .mid = b.s, .name = "100 PUBACKs for unknown ids");
		run_case(&mc);
		free(b.s);
	}
	mc = MC(.ver = 5, .out = CLOSE, .cause = FERRY_ERR_PACKET_TOO_LARGE, .reason = 0x95,
	        .maxpkt = 1024, .name = "2000 bytes over Maximum Packet Size 1024");
	packet_case(&mc, '>', packet(0x30, t, 3, true, 0, NULL, 0, pl, 1993, &n), &n, NULL);
	mc.mid = ">30 84 80 40 00 01 't'";
	snprintf(mc.name, sizeof mc.name, "the header of 1 MiB over Maximum Packet Size 1024");
	run_case(&mc);
	free(pl);
	family_end("big packets and properties");
}

/* A broker that stops reading while ferry has 16 MiB to write (more than the
 * socket buffers hold), then reads again; with a keepalive of 1 s, ferry
 * gives up on the stalled connection instead and sends everything again. */
static void test_stalled_reader(void)
{
	static const char *const acks =
	    "=3|=3|=3|=3|>40 02 00 03 40 02 00 04 40 02 00 05 40 02 00 06";
	family_begin();
	for (uint8_t v = 4; v <= 5; v++) {
		struct mcase mc = MC(.ver = v, .big = 4, .mid = "G", .after = acks,
		                     .name = "a broker that stops reading");
		run_case(&mc);
	}
	struct mcase mc =
	    MC(.ver = 4, .big = 4, .mid = "G|.", .after = acks, .keepalive = 1, .out = CLOSE,
	       .cause = FERRY_ERR_KEEPALIVE, .name = "a broker that stops reading, keepalive 1 s");
	run_case(&mc);
	family_end("a broker that stops reading");
}

static void test_count(void)
{
	fprintf(stderr, "\n    malicious: %d cases run, %d failed ", n_run, n_failed);
	CU_ASSERT(n_run >= 300 || getenv("FERRY_TEST_CASE"));
}

void register_malicious_suite(void)
{
	CU_pSuite s = test_suite("malicious");
	test_add(s, "the codec's malformed packets, whole", test_malformed_whole);
	test_add(s, "the codec's malformed packets, 1 byte per write", test_malformed_split);
	test_add(s, "the codec's malformed packets at other versions",
	         test_malformed_other_versions);
	test_add(s, "CONNACK, acks, SUBACK counts, AUTH, lengths, split traffic",
	         test_hand_written);
	test_add(s, "every server DISCONNECT reason", test_server_disconnect);
	test_add(s, "QoS 2 floods and ferry's Receive Maximum", test_floods);
	test_add(s, "thousands of properties, big packets", test_big);
	test_add(s, "a broker that stops reading while ferry writes", test_stalled_reader);
	test_add(s, "cases run", test_count);
}

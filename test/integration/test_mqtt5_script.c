/*
 * test_mqtt5_script.c - ferry as an MQTT 5 client against the scripted fake
 * broker: the exact bytes of what it sends (properties, subscription
 * options, enhanced authentication, topic aliases) and its answers to
 * broker behaviour a real broker cannot be made to show (limits in CONNACK,
 * protocol errors, server DISCONNECT and refusal properties).
 *
 * Packet traces: run with FERRY_TEST_LOG=1 in the environment to get
 * ferry's DEBUG log (every packet) on stderr.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "codec.h"
#include "itest.h"
#include "suites.h"
#include "support/fakebroker.h"
#include "unit/util.h"

#define NMAX 8 /* messages and results recorded beyond the itest recorder */

/* One completion, copied out of its callback. */
struct res {
	int op, rc, reason;
	bool props;     /* r->props was not NULL */
	char rs[64];    /* reason string */
	char ref[64];   /* server reference */
	char user[64];  /* value of user property "x" */
};

/* What an MQTT 5 test's callbacks saw beyond the itest recorder. All under r.mu. */
struct v5 {
	struct itest_rec r;          /* first: itest callbacks take user as a struct itest_rec */
	uint16_t alias[NMAX];        /* m->props->topic_alias of message i (0: none) */
	int sdisc;                   /* on_server_disconnect calls */
	int sdisc_reason, sdisc_lost; /* its reason code; r.lost when it ran */
	char sdisc_ref[64], sdisc_rs[64];
	int nauth;                   /* on_auth calls */
	int auth_reason;
	char auth_method[32], auth_data[32];
	bool auth_refuse;            /* on_auth gives up */
	struct res res[NMAX];
	int nres;
};

static void copy_str(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

static void v5_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	struct v5 *v = user;
	struct itest_rec *r = &v->r;
	pthread_mutex_lock(&r->mu);
	if (r->nmsgs == r->capmsgs) {
		r->capmsgs = r->capmsgs ? r->capmsgs * 2 : 16;
		r->msgs = realloc(r->msgs, r->capmsgs * sizeof *r->msgs);
	}
	if (r->nmsgs < NMAX)
		v->alias[r->nmsgs] = m->props ? m->props->topic_alias : 0;
	struct itest_msg *x = &r->msgs[r->nmsgs++];
	x->topic = strdup(m->topic);
	x->payload = malloc(m->payload_len ? m->payload_len : 1);
	if (m->payload_len)
		memcpy(x->payload, m->payload, m->payload_len);
	x->len = m->payload_len;
	x->qos = m->qos;
	x->retain = m->retain;
	x->dup = m->dup;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void v5_server_disconnect(ferry_client *c, void *user, int reason,
                                 const struct ferry_properties *props)
{
	(void)c;
	struct v5 *v = user;
	pthread_mutex_lock(&v->r.mu);
	v->sdisc_reason = reason;
	v->sdisc_lost = v->r.lost;
	copy_str(v->sdisc_ref, sizeof v->sdisc_ref, props ? props->server_reference : NULL);
	copy_str(v->sdisc_rs, sizeof v->sdisc_rs, props ? props->reason_string : NULL);
	v->sdisc++;
	pthread_cond_broadcast(&v->r.cv);
	pthread_mutex_unlock(&v->r.mu);
}

static int v5_auth(ferry_client *c, void *user, const struct ferry_auth_step *in,
                   struct ferry_auth_reply *out)
{
	(void)c;
	struct v5 *v = user;
	pthread_mutex_lock(&v->r.mu);
	v->auth_reason = in->reason_code;
	copy_str(v->auth_method, sizeof v->auth_method, in->method);
	snprintf(v->auth_data, sizeof v->auth_data, "%.*s", in->data ? (int)in->data_len : 0,
	         in->data ? (const char *)in->data : "");
	bool refuse = v->auth_refuse;
	v->nauth++;
	pthread_cond_broadcast(&v->r.cv);
	pthread_mutex_unlock(&v->r.mu);
	if (refuse)
		return FERRY_ERR_AUTH;
	out->data = "response";
	out->data_len = 8;
	return FERRY_OK;
}

static void v5_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	(void)c;
	struct v5 *v = user;
	pthread_mutex_lock(&v->r.mu);
	if (v->nres < NMAX) {
		struct res *x = &v->res[v->nres];
		x->op = r->op;
		x->rc = r->rc;
		x->reason = r->reason_code;
		x->props = r->props != NULL;
		copy_str(x->rs, sizeof x->rs, r->props ? r->props->reason_string : NULL);
		copy_str(x->ref, sizeof x->ref, r->props ? r->props->server_reference : NULL);
		copy_str(x->user, sizeof x->user, ferry_properties_get_user(r->props, "x"));
		v->nres++;
	}
	pthread_cond_broadcast(&v->r.cv);
	pthread_mutex_unlock(&v->r.mu);
}

static void v5_log(void *user, int level, const char *text)
{
	(void)user;
	fprintf(stderr, "    [ferry %d] %s\n", level, text);
}

static struct ferry_call v5_call(struct v5 *v)
{
	return (struct ferry_call){.on_done = v5_done, .user = v};
}

/*
 * A fake broker running script, a recorder, and an MQTT 5 client for it, not
 * connected: connect_props cp, keepalive_s, auto_topic_alias as given, no
 * auto-reconnect, every callback recorded.
 */
static ferry_client *setup(struct v5 *v, struct test_fake **fb, const struct test_fake_step *script,
                           const struct ferry_properties *cp, int keepalive_s, bool auto_alias)
{
	memset(v, 0, sizeof *v);
	itest_rec_init(&v->r);
	*fb = NULL;
	ASSERT_RC(test_fake_start(fb, script, &(struct test_fake_opts){.version = 5}), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*fb);
	struct ferry_client_options o;
	itest_options(&o, &v->r, test_fake_uri(*fb), "m5");
	o.mqtt_version = FERRY_MQTT_5;
	o.keepalive_s = keepalive_s;
	o.ping_timeout_ms = 10000;
	o.auto_reconnect = false;
	o.auto_topic_alias = auto_alias;
	o.connect_props = cp;
	o.on_message = v5_message;
	o.on_server_disconnect = v5_server_disconnect;
	o.on_auth = v5_auth;
	if (getenv("FERRY_TEST_LOG")) {
		o.on_log = v5_log;
		o.log_level = FERRY_LOG_DEBUG;
	}
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

#define ACCEPT_CONNECT {.op = FAKE_ACCEPT}, {.op = FAKE_EXPECT, .type = FERRY_CONNECT}
#define CONNACK_OK {.op = FAKE_SEND, .hex = "20 03 00 00 00"}

static void script_ok(struct test_fake *fb)
{
	char err[512];
	int rc = test_fake_wait(fb, ITEST_WAIT_MS);
	if (rc)
		fprintf(stderr, "\n    fake broker: %s\n", test_fake_error(fb, err, sizeof err));
	ASSERT_RC(rc, FERRY_OK);
}

static void finish(ferry_client *c, struct test_fake *fb, struct v5 *v)
{
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&v->r);
}

/* Decodes the latest frame of `type` the client sent; false if none (or undecodable). */
static bool last_frame(struct test_fake *fb, int type, struct ferry_packet *p)
{
	struct test_fake_frame f;
	for (size_t i = test_fake_frame_count(fb); i-- > 0;) {
		if (test_fake_frame(fb, i, &f) || f.type != type)
			continue;
		struct ferry_codec_cfg cfg = {.version = 5, .peer = FERRY_PEER_CLIENT};
		return ferry__decode(&cfg, f.data, f.len, p) == FERRY_OK;
	}
	return false;
}

/* The client's latest DISCONNECT carried `reason`. */
static void assert_disconnect_reason(struct test_fake *fb, uint8_t reason)
{
	struct ferry_packet p;
	bool found = last_frame(fb, FERRY_DISCONNECT, &p);
	CU_ASSERT_TRUE(found);
	if (found) {
		CU_ASSERT_EQUAL(p.u.disconnect.reason, reason);
		if (p.u.disconnect.reason != reason)
			fprintf(stderr, "\n    DISCONNECT reason 0x%02x, want 0x%02x\n",
			        p.u.disconnect.reason, reason);
	}
}

static bool bytes_eq(struct ferry_bytes b, const char *s, size_t n)
{
	return b.len == n && (n == 0 || memcmp(b.p, s, n) == 0);
}

/* The connection was closed for a protocol error (the nlost-th loss): the
 * script passed, ferry said why with DISCONNECT `reason`, the cause was
 * `cause`, and nmsgs messages were delivered in all. */
static void assert_aborted(struct test_fake *fb, struct v5 *v, int nlost, uint8_t reason,
                           int cause, size_t nmsgs)
{
	CU_ASSERT_TRUE(itest_wait_int(&v->r, &v->r.lost, nlost, ITEST_WAIT_MS));
	script_ok(fb);
	assert_disconnect_reason(fb, reason);
	pthread_mutex_lock(&v->r.mu);
	ASSERT_RC(v->r.lost_cause, cause);
	CU_ASSERT_EQUAL(v->r.nmsgs, nmsgs);
	pthread_mutex_unlock(&v->r.mu);
}

/* ---- enhanced authentication ----------------------------------------------------------- */

#define AUTH_METHOD "15 00 0a 'SCRAM-TEST'"
#define AUTH_CHALLENGE "f0 1b 18 19 " AUTH_METHOD " 16 00 09 'challenge'"
#define AUTH_RESPONSE "f0 1a 18 18 " AUTH_METHOD " 16 00 08 'response'"

static const struct ferry_properties auth_props = {
	.auth_method = "SCRAM-TEST", .auth_data = "first", .auth_data_len = 5};

/* CONNECT with method and data, a challenge answered through on_auth, CONNACK;
 * then re-authentication: AUTH 0x19, a challenge, AUTH success. */
static void test_enhanced_auth(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = "10 24 00 04 'MQTT' 05 02 00 00 15 " AUTH_METHOD
		                                 " 16 00 05 'first' 00 02 'm5'"},
		{.op = FAKE_SEND, .hex = AUTH_CHALLENGE},
		{.op = FAKE_EXPECT_BYTES, .hex = AUTH_RESPONSE},
		{.op = FAKE_SEND, .hex = "20 10 00 00 0d " AUTH_METHOD},
		{.op = FAKE_EXPECT_BYTES, .hex = "f0 17 19 15 " AUTH_METHOD " 16 00 05 'again'"},
		{.op = FAKE_SEND, .hex = AUTH_CHALLENGE},
		{.op = FAKE_EXPECT_BYTES, .hex = AUTH_RESPONSE},
		{.op = FAKE_SEND, .hex = "f0 0f 00 0d " AUTH_METHOD},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, &auth_props, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	pthread_mutex_lock(&v.r.mu);
	CU_ASSERT_EQUAL(v.nauth, 1);
	CU_ASSERT_EQUAL(v.auth_reason, 0x18);
	CU_ASSERT_STRING_EQUAL(v.auth_method, "SCRAM-TEST");
	CU_ASSERT_STRING_EQUAL(v.auth_data, "challenge");
	pthread_mutex_unlock(&v.r.mu);

	struct ferry_call call = v5_call(&v);
	ferry_token t = 0;
	ASSERT_RC(ferry_reauthenticate(c, "again", 5, &call, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.nres, 1, ITEST_WAIT_MS));
	script_ok(fb);
	pthread_mutex_lock(&v.r.mu);
	CU_ASSERT_EQUAL(v.nauth, 2);
	CU_ASSERT_EQUAL(v.res[0].op, FERRY_OP_AUTH);
	ASSERT_RC(v.res[0].rc, FERRY_OK);
	CU_ASSERT_EQUAL(v.res[0].reason, 0);
	CU_ASSERT_EQUAL(v.r.lost, 0);
	pthread_mutex_unlock(&v.r.mu);
	CU_ASSERT_TRUE(ferry_is_connected(c));
	finish(c, fb, &v);
}

/* on_auth giving up: before CONNACK the connection just closes (the connect
 * fails with FERRY_ERR_AUTH); during re-authentication DISCONNECT 0x80 first. */
static void test_auth_given_up(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT,
		{.op = FAKE_SEND, .hex = AUTH_CHALLENGE},
		{.op = FAKE_EXPECT_CLOSE},
		ACCEPT_CONNECT,
		{.op = FAKE_SEND, .hex = "20 10 00 00 0d " AUTH_METHOD},
		{.op = FAKE_EXPECT, .type = FERRY_AUTH},
		{.op = FAKE_SEND, .hex = AUTH_CHALLENGE},
		{.op = FAKE_EXPECT, .type = FERRY_DISCONNECT},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, &auth_props, 0, false);
	v.auth_refuse = true; /* before any connection: no callback can run yet */
	ASSERT_RC(itest_connect_wait(c), FERRY_ERR_AUTH);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.nauth, 1, ITEST_WAIT_MS));

	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	struct ferry_call call = v5_call(&v);
	ferry_token t = 0;
	ASSERT_RC(ferry_reauthenticate(c, "again", 5, &call, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_ERR_AUTH);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.r.lost, 1, ITEST_WAIT_MS));
	script_ok(fb);
	assert_disconnect_reason(fb, 0x80);
	pthread_mutex_lock(&v.r.mu);
	CU_ASSERT_EQUAL(v.nauth, 2);
	ASSERT_RC(v.r.lost_cause, FERRY_ERR_AUTH);
	pthread_mutex_unlock(&v.r.mu);
	finish(c, fb, &v);
}

/* An AUTH when ferry never asked for enhanced authentication: DISCONNECT
 * 0x82 (protocol error), then close; on_auth is not called. */
static void test_unsolicited_auth(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT, CONNACK_OK,
		{.op = FAKE_SEND, .hex = AUTH_CHALLENGE},
		{.op = FAKE_EXPECT, .type = FERRY_DISCONNECT},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.r.lost, 1, ITEST_WAIT_MS));
	script_ok(fb);
	assert_disconnect_reason(fb, 0x82);
	CU_ASSERT_EQUAL(v.nauth, 0);
	finish(c, fb, &v);
}

/* ---- topic aliases from the broker ----------------------------------------------------- */

static const struct ferry_properties alias4_props = {.flags = FERRY_PF_TOPIC_ALIAS_MAXIMUM,
                                                     .topic_alias_maximum = 4};

/* Topic Alias Maximum 4 in CONNECT; a topic named with alias 1, then used by alias only. */
static void test_inbound_topic_aliases(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = "10 12 00 04 'MQTT' 05 02 00 00 03 22 00 04 00 02 'm5'"},
		{.op = FAKE_SEND, .hex = "20 03 00 00 00"},
		{.op = FAKE_SEND, .hex = "30 0a 00 03 'a/b' 03 23 00 01 'x'"},
		{.op = FAKE_SEND, .hex = "30 07 00 00 03 23 00 01 'y'"},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, &alias4_props, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&v.r, 2, ITEST_WAIT_MS));
	script_ok(fb);
	pthread_mutex_lock(&v.r.mu);
	CU_ASSERT_EQUAL_FATAL(v.r.nmsgs, 2);
	for (size_t i = 0; i < 2; i++) {
		CU_ASSERT_STRING_EQUAL(v.r.msgs[i].topic, "a/b");
		CU_ASSERT_EQUAL(v.alias[i], 1);
		CU_ASSERT(v.r.msgs[i].len == 1 && v.r.msgs[i].payload[0] == "xy"[i]);
	}
	CU_ASSERT_EQUAL(v.r.lost, 0);
	pthread_mutex_unlock(&v.r.mu);
	finish(c, fb, &v);
}

/* Alias 0 or above the maximum: DISCONNECT 0x94; an alias never mapped used
 * alone: 0x82. Either way FERRY_ERR_PROTOCOL and nothing delivered. */
static void test_inbound_topic_alias_errors(void)
{
	static const struct {
		const char *publish;
		uint8_t reason;
	} cases[] = {
		{"30 0a 00 03 'a/b' 03 23 00 00 'x'", 0x94},
		{"30 0a 00 03 'a/b' 03 23 00 05 'x'", 0x94},
		{"30 07 00 00 03 23 00 02 'y'", 0x82},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct test_fake_step script[] = {
			ACCEPT_CONNECT, CONNACK_OK,
			{.op = FAKE_SEND, .hex = cases[i].publish},
			{.op = FAKE_EXPECT, .type = FERRY_DISCONNECT},
			{.op = FAKE_EXPECT_CLOSE},
			{.op = FAKE_END},
		};
		struct v5 v;
		struct test_fake *fb;
		ferry_client *c = setup(&v, &fb, script, &alias4_props, 0, false);
		ASSERT_RC(itest_connect_wait(c), FERRY_OK);
		assert_aborted(fb, &v, 1, cases[i].reason, FERRY_ERR_PROTOCOL, 0);
		finish(c, fb, &v);
	}
}

/* An alias mapped on one connection means nothing on the next. */
static void test_inbound_alias_map_reset(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT, CONNACK_OK,
		{.op = FAKE_SEND, .hex = "30 0a 00 03 'a/b' 03 23 00 01 'x'"},
		{.op = FAKE_WAIT_GO},
		{.op = FAKE_CLOSE},
		ACCEPT_CONNECT, CONNACK_OK,
		{.op = FAKE_SEND, .hex = "30 07 00 00 03 23 00 01 'y'"},
		{.op = FAKE_EXPECT, .type = FERRY_DISCONNECT},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, &alias4_props, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&v.r, 1, ITEST_WAIT_MS));
	test_fake_go(fb);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.r.lost, 1, ITEST_WAIT_MS));
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	assert_aborted(fb, &v, 2, 0x82, FERRY_ERR_PROTOCOL, 1);
	finish(c, fb, &v);
}

/* ---- topic aliases ferry gives (auto_topic_alias) -------------------------------------- */

/* Publishes QoS 0 "p" to each topic with auto_topic_alias; the script checks the bytes. */
static void run_auto_alias(const struct test_fake_step *script, const char *const *topics, size_t n)
{
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 0, true);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ferry_token t = 0;
	for (size_t i = 0; i < n; i++)
		ASSERT_RC(ferry_publish(c, topics[i], "p", 1, 0, false, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	script_ok(fb);
	finish(c, fb, &v);
}

/* Topic Alias Maximum 2 from the broker: t/1 gets 1, t/2 gets 2, t/3 takes 1
 * (round robin), so t/1 is new again and takes 2. Without the property: no alias. */
static void test_auto_topic_alias(void)
{
	static const char *const topics[] = {"t/1", "t/1", "t/2", "t/3", "t/1"};
	static const struct test_fake_step with[] = {
		ACCEPT_CONNECT,
		{.op = FAKE_SEND, .hex = "20 06 00 00 03 22 00 02"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 0a 00 03 't/1' 03 23 00 01 'p'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 07 00 00 03 23 00 01 'p'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 0a 00 03 't/2' 03 23 00 02 'p'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 0a 00 03 't/3' 03 23 00 01 'p'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 0a 00 03 't/1' 03 23 00 02 'p'"},
		{.op = FAKE_END},
	};
	static const struct test_fake_step without[] = {
		ACCEPT_CONNECT, CONNACK_OK,
		{.op = FAKE_EXPECT_BYTES, .hex = "30 07 00 03 't/1' 00 'p'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 07 00 03 't/1' 00 'p'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 07 00 03 't/2' 00 'p'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 07 00 03 't/3' 00 'p'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 07 00 03 't/1' 00 'p'"},
		{.op = FAKE_END},
	};
	run_auto_alias(with, topics, 5);
	run_auto_alias(without, topics, 5);
}

/* ---- flow control and size limits ------------------------------------------------------ */

/*
 * Receive Maximum 2 from the broker: two QoS 1 PUBLISHes go, the third waits
 * for a PUBACK. Proof that it waits: with keepalive 1 s the next frame after
 * the two is a PINGREQ (sent only after a second of silence), not the third.
 */
static void test_server_receive_maximum(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT,
		{.op = FAKE_SEND, .hex = "20 06 00 00 03 21 00 02"},
		{.op = FAKE_EXPECT_BYTES, .hex = "32 07 00 01 'q' 00 01 00 '1'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "32 07 00 01 'q' 00 02 00 '2'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "c0 00", .timeout_ms = 5000},
		{.op = FAKE_WAIT_GO}, /* step 6 */
		{.op = FAKE_SEND, .hex = "d0 00 40 02 00 01"},
		{.op = FAKE_EXPECT_BYTES, .hex = "32 07 00 01 'q' 00 03 00 '3'"},
		{.op = FAKE_SEND, .hex = "40 02 00 02 40 02 00 03"},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 1, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ferry_token t[3];
	for (int i = 0; i < 3; i++)
		ASSERT_RC(ferry_publish(c, "q", &"123"[i], 1, 1, false, NULL, &t[i]), FERRY_OK);
	ASSERT_RC(test_fake_wait_step(fb, 6, ITEST_WAIT_MS), FERRY_OK);
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.inflight, 2);
	CU_ASSERT_EQUAL(st.queued, 1);
	CU_ASSERT_EQUAL(st.packets_sent[FERRY_PUBLISH], 2);
	test_fake_go(fb);
	for (int i = 0; i < 3; i++)
		ASSERT_RC(ferry_wait(c, t[i], ITEST_WAIT_MS), FERRY_OK);
	script_ok(fb);
	finish(c, fb, &v);
}

/* ferry's Receive Maximum 2: a third QoS 2 message while two await PUBREL
 * is answered with DISCONNECT 0x93, not PUBREC, and is not delivered. */
static void test_inbound_receive_maximum(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT, CONNACK_OK,
		{.op = FAKE_SEND, .hex = "34 07 00 01 'r' 00 01 00 'a'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "50 02 00 01"},
		{.op = FAKE_SEND, .hex = "34 07 00 01 'r' 00 02 00 'b'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "50 02 00 02"},
		{.op = FAKE_SEND, .hex = "34 07 00 01 'r' 00 03 00 'c'"},
		{.op = FAKE_EXPECT, .type = FERRY_DISCONNECT},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	static const struct ferry_properties cp = {.flags = FERRY_PF_RECEIVE_MAXIMUM,
	                                           .receive_maximum = 2};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, &cp, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	assert_aborted(fb, &v, 1, 0x93, FERRY_ERR_PROTOCOL, 2);
	finish(c, fb, &v);
}

#define P10 "pppppppppp"

/* ferry's Maximum Packet Size 64: a 100-byte PUBLISH is answered with
 * DISCONNECT 0x95 and not delivered. */
static void test_inbound_maximum_packet_size(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = "10 14 00 04 'MQTT' 05 02 00 00 05 27 00 00 00 40 "
		                                 "00 02 'm5'"},
		{.op = FAKE_SEND, .hex = "20 03 00 00 00"},
		/* 2 + 98: topic "b" (3), no properties (1), 94 bytes of payload */
		{.op = FAKE_SEND, .hex = "30 62 00 01 'b' 00 '" P10 P10 P10 P10 P10 P10 P10 P10 P10
		                         "pppp'"},
		{.op = FAKE_EXPECT, .type = FERRY_DISCONNECT},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	static const struct ferry_properties cp = {.flags = FERRY_PF_MAXIMUM_PACKET_SIZE,
	                                           .maximum_packet_size = 64};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, &cp, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	assert_aborted(fb, &v, 1, 0x95, FERRY_ERR_PACKET_TOO_LARGE, 0);
	finish(c, fb, &v);
}

/* The broker's Maximum Packet Size 50: a 106-byte PUBLISH fails and is never
 * sent; the small one after it is the next frame. */
static void test_outbound_maximum_packet_size(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT,
		{.op = FAKE_SEND, .hex = "20 08 00 00 05 27 00 00 00 32"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 05 00 01 'q' 00 's'"},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	char big[100];
	memset(big, 'B', sizeof big);
	ferry_token tb = 0, ts = 0;
	ASSERT_RC(ferry_publish(c, "q", big, sizeof big, 0, false, NULL, &tb), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "q", "s", 1, 0, false, NULL, &ts), FERRY_OK);
	ASSERT_RC(ferry_wait(c, tb, ITEST_WAIT_MS), FERRY_ERR_PACKET_TOO_LARGE);
	ASSERT_RC(ferry_wait(c, ts, ITEST_WAIT_MS), FERRY_OK);
	script_ok(fb);
	CU_ASSERT_EQUAL(test_fake_frame_count(fb), 2); /* CONNECT and the small PUBLISH */
	finish(c, fb, &v);
}

/* ---- the broker ending or refusing the connection -------------------------------------- */

/* DISCONNECT from the broker: on_server_disconnect first (reason, server
 * reference, reason string), then on_connection_lost with the cause. */
static void test_server_disconnect(void)
{
	static const struct {
		const char *disconnect;
		int reason, cause;
		const char *ref, *rs;
	} cases[] = {
		{"e0 18 9c 16 1c 00 0a 'other:1883' 1f 00 06 'moving'", 0x9c,
		 FERRY_ERR_SERVER_DISCONNECT, "other:1883", "moving"},
		{"e0 01 8e", 0x8e, FERRY_ERR_TAKEOVER, "", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct test_fake_step script[] = {
			ACCEPT_CONNECT, CONNACK_OK,
			{.op = FAKE_SEND, .hex = cases[i].disconnect},
			{.op = FAKE_EXPECT_CLOSE},
			{.op = FAKE_END},
		};
		struct v5 v;
		struct test_fake *fb;
		ferry_client *c = setup(&v, &fb, script, NULL, 0, false);
		ASSERT_RC(itest_connect_wait(c), FERRY_OK);
		CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.r.lost, 1, ITEST_WAIT_MS));
		script_ok(fb);
		pthread_mutex_lock(&v.r.mu);
		CU_ASSERT_EQUAL(v.sdisc, 1);
		CU_ASSERT_EQUAL(v.sdisc_lost, 0); /* before on_connection_lost */
		CU_ASSERT_EQUAL(v.sdisc_reason, cases[i].reason);
		CU_ASSERT_STRING_EQUAL(v.sdisc_ref, cases[i].ref);
		CU_ASSERT_STRING_EQUAL(v.sdisc_rs, cases[i].rs);
		ASSERT_RC(v.r.lost_cause, cases[i].cause);
		pthread_mutex_unlock(&v.r.mu);
		finish(c, fb, &v);
	}
}

/* A CONNACK refusal 0x9D (server moved): its Server Reference is in the
 * connect result's properties. */
static void test_connack_refusal_server_reference(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT,
		{.op = FAKE_SEND, .hex = "20 10 00 9d 0d 1c 00 0a 'other:1883'"},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 0, false);
	struct ferry_call call = v5_call(&v);
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(c, &call, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_ERR_CONNECT_REFUSED);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.nres, 1, ITEST_WAIT_MS));
	script_ok(fb);
	pthread_mutex_lock(&v.r.mu);
	CU_ASSERT_EQUAL(v.res[0].op, FERRY_OP_CONNECT);
	CU_ASSERT_EQUAL(v.res[0].reason, 0x9d);
	CU_ASSERT_TRUE(v.res[0].props);
	CU_ASSERT_STRING_EQUAL(v.res[0].ref, "other:1883");
	pthread_mutex_unlock(&v.r.mu);
	finish(c, fb, &v);
}

/* CONNECT asks for keepalive 60; the CONNACK's Server Keep Alive 1 wins:
 * a PINGREQ comes within seconds. */
static void test_server_keepalive(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = "10 0f 00 04 'MQTT' 05 02 00 3c 00 00 02 'm5'"},
		{.op = FAKE_SEND, .hex = "20 06 00 00 03 13 00 01"},
		{.op = FAKE_EXPECT_BYTES, .hex = "c0 00", .timeout_ms = 4000},
		{.op = FAKE_SEND, .hex = "d0 00"},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 60, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	script_ok(fb);
	CU_ASSERT_EQUAL(v.r.lost, 0);
	finish(c, fb, &v);
}

/*
 * Message expiry in the outbox. The broker holds CONNACK back while two
 * QoS 1 messages wait: A with expiry 1 s, B with 100 s. Over two seconds
 * pass (a bounded wait on A: it may expire then or once the connection is
 * up); then CONNACK: A completes with FERRY_ERR_EXPIRED without being sent,
 * B is the first PUBLISH, with what remains of its interval (98..100).
 */
static void test_message_expiry_in_outbox(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT,
		{.op = FAKE_WAIT_GO}, /* step 2 */
		{.op = FAKE_SEND, .hex = "20 03 00 00 00"},
		{.op = FAKE_EXPECT, .type = FERRY_PUBLISH},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 0, false);
	ferry_token tc = 0, ta = 0, tb = 0;
	ASSERT_RC(ferry_connect(c, NULL, &tc), FERRY_OK);
	ASSERT_RC(test_fake_wait_step(fb, 2, ITEST_WAIT_MS), FERRY_OK);
	struct ferry_properties pa = {.flags = FERRY_PF_MESSAGE_EXPIRY, .message_expiry = 1};
	struct ferry_properties pb = {.flags = FERRY_PF_MESSAGE_EXPIRY, .message_expiry = 100};
	struct ferry_publish_msg ma = {.topic = "e", .payload = "A", .len = 1, .qos = 1, .props = &pa};
	struct ferry_publish_msg mb = {.topic = "e", .payload = "B", .len = 1, .qos = 1, .props = &pb};
	ASSERT_RC(ferry_publish_message(c, &ma, NULL, &ta), FERRY_OK);
	ASSERT_RC(ferry_publish_message(c, &mb, NULL, &tb), FERRY_OK);
	int rc = ferry_wait(c, ta, 2100);
	CU_ASSERT(rc == FERRY_ERR_TIMEOUT || rc == FERRY_ERR_EXPIRED);
	test_fake_go(fb);
	ASSERT_RC(ferry_wait(c, tc, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(ferry_wait(c, ta, ITEST_WAIT_MS), FERRY_ERR_EXPIRED);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.r.delivered_failed, 1, ITEST_WAIT_MS));
	script_ok(fb);
	struct ferry_packet p;
	CU_ASSERT_TRUE_FATAL(last_frame(fb, FERRY_PUBLISH, &p));
	CU_ASSERT_TRUE(bytes_eq(p.u.publish.payload, "B", 1));
	CU_ASSERT_TRUE(p.u.publish.props.present & FERRY_PROP_BIT(FERRY_PROP_MESSAGE_EXPIRY));
	CU_ASSERT(p.u.publish.props.message_expiry >= 98 && p.u.publish.props.message_expiry <= 100);
	finish(c, fb, &v);
}

/* ---- properties on the wire ------------------------------------------------------------ */

/* CONNECT with every client property but auth (ascending identifiers, user
 * properties at 0x26); DISCONNECT 0x04 with session expiry and reason string. */
static void test_connect_disconnect_bytes(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = "10 2a 00 04 'MQTT' 05 02 00 00 1b 11 00 00 00 1e "
		                                 "17 00 19 01 21 00 0a 22 00 05 26 00 01 'a' 00 01 'b' "
		                                 "27 00 00 03 e8 00 02 'm5'"},
		{.op = FAKE_SEND, .hex = "20 03 00 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "e0 0d 04 0b 11 00 00 00 0a 1f 00 03 'bye'"},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	static const struct ferry_user_property up[] = {{"a", "b"}};
	static const struct ferry_properties cp = {
		.flags = FERRY_PF_SESSION_EXPIRY | FERRY_PF_RECEIVE_MAXIMUM |
		         FERRY_PF_MAXIMUM_PACKET_SIZE | FERRY_PF_TOPIC_ALIAS_MAXIMUM |
		         FERRY_PF_REQUEST_RESPONSE_INFO | FERRY_PF_REQUEST_PROBLEM_INFO,
		.session_expiry = 30, .receive_maximum = 10, .maximum_packet_size = 1000,
		.topic_alias_maximum = 5, .request_response_info = 1, .request_problem_info = 0,
		.user = up, .user_count = 1};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, &cp, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	struct ferry_properties dp = {.flags = FERRY_PF_SESSION_EXPIRY, .session_expiry = 10,
	                              .reason_string = "bye"};
	struct ferry_call call = {.props = &dp, .reason_code = 0x04};
	ferry_token t = 0;
	ASSERT_RC(ferry_disconnect(c, 1000, &call, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	script_ok(fb);
	finish(c, fb, &v);
}

/* PUBLISH properties (user properties in order, a name repeated), SUBSCRIBE
 * options and identifier 300, UNSUBSCRIBE with a user property. */
static void test_publish_subscribe_unsubscribe_bytes(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT, CONNACK_OK,
		{.op = FAKE_EXPECT_BYTES, .hex = "30 2f 00 01 't' 29 01 01 03 00 04 'text' "
		                                 "08 00 03 'r/t' 09 00 02 c0 de 26 00 01 'k' 00 01 '1' "
		                                 "26 00 01 'j' 00 01 '2' 26 00 01 'k' 00 01 '3' 'hi'"},
		/* options 0x2d: QoS 1, no local, retain as published, retain handling 2 */
		{.op = FAKE_EXPECT_BYTES, .hex = "82 0c 00 01 03 0b ac 02 00 03 's/#' 2d"},
		{.op = FAKE_SEND, .hex = "90 04 00 01 00 01"},
		{.op = FAKE_EXPECT_BYTES, .hex = "a2 0f 00 02 07 26 00 01 'u' 00 01 'v' 00 03 's/#'"},
		{.op = FAKE_SEND, .hex = "b0 04 00 02 00 00"},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);

	static const struct ferry_user_property pup[] = {{"k", "1"}, {"j", "2"}, {"k", "3"}};
	struct ferry_properties pp = {.flags = FERRY_PF_PAYLOAD_FORMAT, .payload_format = 1,
	                              .content_type = "text", .response_topic = "r/t",
	                              .correlation_data = "\xc0\xde", .correlation_len = 2,
	                              .user = pup, .user_count = 3};
	struct ferry_publish_msg m = {.topic = "t", .payload = "hi", .len = 2, .qos = 0, .props = &pp};
	ferry_token t = 0;
	ASSERT_RC(ferry_publish_message(c, &m, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);

	struct ferry_subscription sub = {.filter = "s/#", .qos = 1, .no_local = true,
	                                 .retain_as_published = true, .retain_handling = 2};
	struct ferry_properties sp = {.flags = FERRY_PF_SUBSCRIPTION_ID, .subscription_id = 300};
	struct ferry_call call = {.props = &sp};
	ASSERT_RC(ferry_subscribe_many(c, &sub, 1, &call, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);

	static const struct ferry_user_property uup[] = {{"u", "v"}};
	struct ferry_properties up = {.user = uup, .user_count = 1};
	call.props = &up;
	ASSERT_RC(ferry_unsubscribe(c, "s/#", &call, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	script_ok(fb);
	finish(c, fb, &v);
}

/* ---- what the broker's answers carry --------------------------------------------------- */

/* PUBACK 0x10 with a reason string and a user property: success with both
 * visible; PUBACK 0x87: FERRY_ERR_REJECTED. */
static void test_result_properties(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT, CONNACK_OK,
		{.op = FAKE_EXPECT_BYTES, .hex = "32 07 00 01 'q' 00 01 00 'a'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "32 07 00 01 'q' 00 02 00 'b'"},
		{.op = FAKE_SEND, .hex = "40 12 00 01 10 0e 1f 00 04 'none' 26 00 01 'x' 00 01 'y'"},
		{.op = FAKE_SEND, .hex = "40 03 00 02 87"},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	struct ferry_call call = v5_call(&v);
	ferry_token ta = 0, tb = 0;
	ASSERT_RC(ferry_publish(c, "q", "a", 1, 1, false, &call, &ta), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "q", "b", 1, 1, false, &call, &tb), FERRY_OK);
	ASSERT_RC(ferry_wait(c, ta, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(ferry_wait(c, tb, ITEST_WAIT_MS), FERRY_ERR_REJECTED);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.nres, 2, ITEST_WAIT_MS));
	script_ok(fb);
	pthread_mutex_lock(&v.r.mu);
	CU_ASSERT_EQUAL(v.res[0].op, FERRY_OP_PUBLISH);
	ASSERT_RC(v.res[0].rc, FERRY_OK);
	CU_ASSERT_EQUAL(v.res[0].reason, 0x10);
	CU_ASSERT_TRUE(v.res[0].props);
	CU_ASSERT_STRING_EQUAL(v.res[0].rs, "none");
	CU_ASSERT_STRING_EQUAL(v.res[0].user, "y");
	ASSERT_RC(v.res[1].rc, FERRY_ERR_REJECTED);
	CU_ASSERT_EQUAL(v.res[1].reason, 0x87);
	CU_ASSERT_FALSE(v.res[1].props); /* the PUBACK had no properties */
	pthread_mutex_unlock(&v.r.mu);
	finish(c, fb, &v);
}

/* Wildcard Subscription Available 0: a subscribe to "a/+" fails at once and
 * is never sent; the next SUBSCRIBE the broker sees is that to "a/b". */
static void test_wildcard_not_available(void)
{
	static const struct test_fake_step script[] = {
		ACCEPT_CONNECT,
		{.op = FAKE_SEND, .hex = "20 05 00 00 02 28 00"},
		{.op = FAKE_EXPECT, .type = FERRY_SUBSCRIBE},
		{.op = FAKE_END},
	};
	struct v5 v;
	struct test_fake *fb;
	ferry_client *c = setup(&v, &fb, script, NULL, 0, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ferry_token tw = 0, tp = 0;
	ASSERT_RC(ferry_subscribe(c, "a/+", 1, NULL, &tw), FERRY_OK);
	ASSERT_RC(ferry_subscribe(c, "a/b", 1, NULL, &tp), FERRY_OK);
	ASSERT_RC(ferry_wait(c, tw, ITEST_WAIT_MS), FERRY_ERR_SUB_NOT_SUPPORTED);
	script_ok(fb);
	struct ferry_packet p;
	CU_ASSERT_TRUE_FATAL(last_frame(fb, FERRY_SUBSCRIBE, &p));
	CU_ASSERT_EQUAL(p.u.subscribe.count, 1);
	CU_ASSERT_TRUE(bytes_eq(p.u.subscribe.raw, "\x00\x03" "a/b\x01", 6));
	CU_ASSERT_EQUAL(test_fake_frame_count(fb), 2); /* CONNECT, one SUBSCRIBE */
	finish(c, fb, &v);
}

void register_mqtt5_script_suite(void)
{
	CU_pSuite s = test_suite("mqtt5-script");
	test_add(s, "enhanced auth at connect and re-authentication", test_enhanced_auth);
	test_add(s, "on_auth giving up: before and after CONNACK", test_auth_given_up);
	test_add(s, "unsolicited AUTH: DISCONNECT 0x82", test_unsolicited_auth);
	test_add(s, "inbound topic aliases", test_inbound_topic_aliases);
	test_add(s, "inbound topic alias errors: 0x94, 0x82", test_inbound_topic_alias_errors);
	test_add(s, "inbound alias map resets per connection", test_inbound_alias_map_reset);
	test_add(s, "auto topic alias: round robin, none without the maximum", test_auto_topic_alias);
	test_add(s, "server receive maximum bounds the window", test_server_receive_maximum);
	test_add(s, "inbound receive maximum: DISCONNECT 0x93", test_inbound_receive_maximum);
	test_add(s, "inbound maximum packet size: DISCONNECT 0x95", test_inbound_maximum_packet_size);
	test_add(s, "outbound maximum packet size: not sent", test_outbound_maximum_packet_size);
	test_add(s, "server DISCONNECT: reference, reason string, takeover", test_server_disconnect);
	test_add(s, "CONNACK refusal carries a server reference",
	         test_connack_refusal_server_reference);
	test_add(s, "server keepalive replaces the keepalive", test_server_keepalive);
	test_add(s, "message expiry in the outbox", test_message_expiry_in_outbox);
	test_add(s, "CONNECT and DISCONNECT property bytes", test_connect_disconnect_bytes);
	test_add(s, "PUBLISH, SUBSCRIBE, UNSUBSCRIBE property bytes",
	         test_publish_subscribe_unsubscribe_bytes);
	test_add(s, "result properties and reason codes", test_result_properties);
	test_add(s, "wildcard subscriptions not available", test_wildcard_not_available);
}

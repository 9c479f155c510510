/*
 * test_client_script.c - the client against a scripted fake broker: the
 * exact bytes it sends, resending after a reconnect with a session, inbound
 * QoS 2 delivered once, malformed input, CONNACK timeout and keepalive.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "codec.h"
#include "itest.h"
#include "suites.h"
#include "support/fakebroker.h"
#include "unit/util.h"

static struct test_fake *start(const struct test_fake_step *script)
{
	struct test_fake *fb = NULL;
	int rc = test_fake_start(&fb, script, &(struct test_fake_opts){.version = 4});
	CU_ASSERT_EQUAL_FATAL(rc, FERRY_OK);
	return fb;
}

/* A fake MQTT 5 broker for script, and options for an MQTT 5 client of it. */
static struct test_fake *start5(const struct test_fake_step *script)
{
	struct test_fake *fb = NULL;
	int rc = test_fake_start(&fb, script, &(struct test_fake_opts){.version = 5});
	CU_ASSERT_EQUAL_FATAL(rc, FERRY_OK);
	return fb;
}

static void options5(struct ferry_client_options *o, struct itest_rec *r, struct test_fake *fb,
                     const char *id)
{
	itest_options(o, r, test_fake_uri(fb), id);
	o->mqtt_version = FERRY_MQTT_5;
}

static void assert_script_ok(struct test_fake *fb)
{
	char err[512];
	int rc = test_fake_wait(fb, ITEST_WAIT_MS);
	if (rc)
		fprintf(stderr, "\n    fake broker: %s\n", test_fake_error(fb, err, sizeof err));
	ASSERT_RC(rc, FERRY_OK);
}

static ferry_client *make_client(struct itest_rec *r, struct test_fake *fb, bool clean, int keepalive)
{
	struct ferry_client_options o;
	itest_options(&o, r, test_fake_uri(fb), "script");
	o.clean_session = clean;
	o.keepalive_s = keepalive;
	ferry_client *c = NULL;
	CU_ASSERT_EQUAL_FATAL(ferry_client_create(&o, &c), FERRY_OK);
	return c;
}

static void test_exact_connect_and_subscribe_bytes(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		/* MQTT 3.1.1 section 3.1: flags 0xEE = user, password, will retain,
		 * will QoS 1, will, clean session; keepalive 30. */
		{.op = FAKE_EXPECT_BYTES, .hex = "10 1d 00 04 'MQTT' 04 ee 00 1e 00 05 'exact' "
		                                 "00 01 'w' 00 01 'x' 00 01 'u' 00 01 'p'"},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "82 08 00 01 00 03 'a/b' 01"},
		{.op = FAKE_SEND, .hex = "90 03 00 01 01"},
		{.op = FAKE_EXPECT_BYTES, .hex = "e0 00"},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start(script);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_will_options w = {.topic = "w", .payload = "x", .payload_len = 1, .qos = 1,
	                               .retain = true};
	struct ferry_client_options o;
	itest_options(&o, &r, test_fake_uri(fb), "exact");
	o.keepalive_s = 30;
	o.username = "u";
	o.password = "p";
	o.password_len = 1;
	o.will = &w;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	struct ferry_call call = itest_call_template;
	call.user = &r;
	ferry_token t = 0;
	ASSERT_RC(ferry_subscribe(c, "a/b", 1, &call, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.results, 1, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(r.last_reason, 1); /* granted QoS 1 */
	ASSERT_RC(ferry_disconnect(c, 1000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

static void test_resend_in_order_after_reconnect_with_session(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "32 06 00 01 't' 00 01 'a'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "32 06 00 01 't' 00 02 'b'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "34 06 00 01 't' 00 03 'c'"},
		{.op = FAKE_SEND, .hex = "50 02 00 03"},        /* PUBREC 3 */
		{.op = FAKE_EXPECT_BYTES, .hex = "62 02 00 03"}, /* PUBREL 3 */
		{.op = FAKE_CLOSE},                             /* nothing acknowledged but the PUBREC */
		{.op = FAKE_ACCEPT},
		/* clean session 0 this time too (flags 0x00) */
		{.op = FAKE_EXPECT_BYTES, .hex = "10 12 00 04 'MQTT' 04 00 00 00 00 06 'script'"},
		{.op = FAKE_SEND, .hex = "20 02 01 00"},        /* session present */
		{.op = FAKE_EXPECT_BYTES, .hex = "3a 06 00 01 't' 00 01 'a'"}, /* DUP */
		{.op = FAKE_EXPECT_BYTES, .hex = "3a 06 00 01 't' 00 02 'b'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "62 02 00 03"},
		{.op = FAKE_SEND, .hex = "40 02 00 01 40 02 00 02 70 02 00 03"},
		{.op = FAKE_EXPECT_BYTES, .hex = "e0 00"},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start(script);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = make_client(&r, fb, false, 0);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ferry_token ta, tb, tc;
	ASSERT_RC(ferry_publish(c, "t", "a", 1, 1, false, NULL, &ta), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "t", "b", 1, 1, false, NULL, &tb), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "t", "c", 1, 2, false, NULL, &tc), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.lost, 1, ITEST_WAIT_MS));
	ASSERT_RC(r.lost_cause, FERRY_ERR_CLOSED);
	ASSERT_RC(ferry_wait(c, ta, 0), FERRY_ERR_TIMEOUT); /* still pending */
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(ferry_wait(c, ta, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(ferry_wait(c, tb, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(ferry_wait(c, tc, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.delivered, 3, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(r.delivered_failed, 0);
	CU_ASSERT_TRUE(itest_session_present(&r));
	ferry_token t;
	ASSERT_RC(ferry_disconnect(c, 1000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

static void test_inbound_qos2_delivered_once(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_SEND, .hex = "34 06 00 01 'x' 00 07 'm'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "50 02 00 07"},
		{.op = FAKE_SEND, .hex = "3c 06 00 01 'x' 00 07 'm'"}, /* resent with DUP */
		{.op = FAKE_EXPECT_BYTES, .hex = "50 02 00 07"},
		{.op = FAKE_SEND, .hex = "62 02 00 07"},
		{.op = FAKE_EXPECT_BYTES, .hex = "70 02 00 07"},
		{.op = FAKE_SEND, .hex = "32 06 00 01 'x' 00 08 'n'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "40 02 00 08"},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start(script);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = make_client(&r, fb, true, 0);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	assert_script_ok(fb);
	CU_ASSERT_TRUE(itest_wait_msgs(&r, 2, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(itest_nmsgs(&r), 2);
	if (itest_nmsgs(&r) == 2) {
		CU_ASSERT_EQUAL(r.msgs[0].qos, 2);
		CU_ASSERT(r.msgs[0].len == 1 && r.msgs[0].payload[0] == 'm');
		CU_ASSERT(r.msgs[1].len == 1 && r.msgs[1].payload[0] == 'n');
	}
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

/*
 * A broker without QoS 2 (RabbitMQ) answers a QoS 2 PUBLISH with PUBACK:
 * the publish fails with FERRY_ERR_QOS_NOT_SUPPORTED at once (it never
 * waits for a PUBREC that will not come), the connection closes as a
 * protocol error that says why, and the message is not sent again.
 */
static void test_qos2_answered_with_puback(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "34 06 00 01 't' 00 01 'a'"},
		{.op = FAKE_SEND, .hex = "40 02 00 01"}, /* PUBACK for the QoS 2 id */
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 01 00"}, /* session present: still no resend */
		{.op = FAKE_EXPECT_BYTES, .hex = "32 06 00 01 't' 00 02 'b'"},
		{.op = FAKE_SEND, .hex = "40 02 00 02"},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start(script);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = make_client(&r, fb, false, 0);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ferry_token t2, t1;
	ASSERT_RC(ferry_publish(c, "t", "a", 1, 2, false, NULL, &t2), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t2, ITEST_WAIT_MS), FERRY_ERR_QOS_NOT_SUPPORTED);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.lost, 1, ITEST_WAIT_MS));
	pthread_mutex_lock(&r.mu);
	ASSERT_RC(r.lost_cause, FERRY_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.lost_text, "QoS 2 PUBLISH (packet id 1) with PUBACK"));
	pthread_mutex_unlock(&r.mu);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "t", "b", 1, 1, false, NULL, &t1), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t1, ITEST_WAIT_MS), FERRY_OK);
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

static void test_malformed_packet_closes_and_keeps_message(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "32 09 00 04 'keep' 00 01 'v'"},
		/* PUBLISH whose topic length runs past the packet */
		{.op = FAKE_SEND, .hex = "30 07 ff ff 41 42 43 44 45"},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 01 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "3a 09 00 04 'keep' 00 01 'v'"},
		{.op = FAKE_SEND, .hex = "40 02 00 01"},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start(script);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = make_client(&r, fb, false, 0);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ferry_token t;
	ASSERT_RC(ferry_publish(c, "keep", "v", 1, 1, false, NULL, &t), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.lost, 1, ITEST_WAIT_MS));
	ASSERT_RC(r.lost_cause, FERRY_ERR_TRUNCATED);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

/*
 * A disconnect whose DISCONNECT cannot be written (the broker stopped
 * reading, the socket is full) gives up after a second and drops what was
 * unwritten. The next connection's QoS 0 publishes must still complete:
 * the dropped bytes once left the write counters apart for good, and every
 * later QoS 0 publish waited forever.
 */
static void test_unwritten_bytes_dropped_then_qos0_completes(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_WAIT_GO}, /* reads nothing meanwhile */
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "30 07 00 03 'a/z' 'z' 'z'"},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start(script);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	itest_options(&o, &r, test_fake_uri(fb), "dropped");
	o.auto_reconnect = false;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	/* One 8 MiB message at QoS 0: far more than the socket buffers take,
	 * and all of it in the write buffer at once (none left in the outbox). */
	static uint8_t big[8 << 20];
	ASSERT_RC(ferry_publish(c, "a/big", big, sizeof big, 0, false, NULL, NULL), FERRY_OK);
	/* Wait (bounded) until part of it is on the wire: the rest then waits
	 * in the write buffer behind a full socket. */
	struct ferry_stats st = {0};
	for (int i = 0; i < 2000 && st.bytes_sent < 65536; i++) {
		ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
		if (st.bytes_sent < 65536)
			nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	CU_ASSERT(st.bytes_sent >= 65536 && st.bytes_sent < sizeof big);
	ferry_token t = 0;
	ASSERT_RC(ferry_disconnect(c, 0, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK); /* given up after 1 s */
	test_fake_go(fb);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "a/z", "zz", 2, 0, false, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

/* What an MQTT 5 test's callbacks saw beyond the recorder. */
struct v5rec {
	struct itest_rec r; /* first: itest callbacks take user as a struct itest_rec */
	char assigned[64];
};

static void v5_connected(ferry_client *c, void *user, const struct ferry_connected_info *info)
{
	(void)c;
	struct v5rec *v = user;
	pthread_mutex_lock(&v->r.mu);
	snprintf(v->assigned, sizeof v->assigned, "%s",
	         info->assigned_client_id ? info->assigned_client_id : "(none)");
	v->r.connected++;
	pthread_cond_broadcast(&v->r.cv);
	pthread_mutex_unlock(&v->r.mu);
}

/*
 * MQTT 5 CONNACK settings the client follows: the Server Keep Alive (1 s
 * instead of the 60 s asked: a PINGREQ comes within seconds, never with
 * 60), the Assigned Client Identifier (given to the connected callback),
 * and a server DISCONNECT's reason string in the connection-lost text.
 */
static void test_mqtt5_server_settings(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
		{.op = FAKE_SEND, .hex = "20 0c 00 00 09 13 00 01 12 00 03 'abc'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "c0 00", .timeout_ms = 5000},
		{.op = FAKE_SEND, .hex = "d0 00"},
		{.op = FAKE_SEND, .hex = "e0 08 8b 06 1f 00 03 'bye'"},
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start5(script);
	struct v5rec v;
	memset(&v, 0, sizeof v);
	itest_rec_init(&v.r);
	struct ferry_client_options o;
	options5(&o, &v.r, fb, "");
	o.keepalive_s = 60;
	o.auto_reconnect = false;
	o.on_connected = v5_connected;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.r.lost, 1, ITEST_WAIT_MS));
	assert_script_ok(fb);
	pthread_mutex_lock(&v.r.mu);
	CU_ASSERT_STRING_EQUAL(v.assigned, "abc");
	CU_ASSERT_EQUAL(v.r.lost_cause, FERRY_ERR_SERVER_DISCONNECT);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.r.lost_text, "(0x8b): \"bye\""));
	pthread_mutex_unlock(&v.r.mu);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&v.r);
}

/*
 * The broker's MQTT 5 limits (Maximum QoS 1, Retain Available 0, Maximum
 * Packet Size 20): a publish over any of them fails with its own error and
 * is never sent; the next one, within them, goes out (the only PUBLISH the
 * broker sees; the refused QoS 1 and 2 ones had taken ids 1 and 2, free
 * again).
 */
static void test_mqtt5_server_limits(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
		{.op = FAKE_SEND, .hex = "20 0c 00 00 09 24 01 25 00 27 00 00 00 14"},
		{.op = FAKE_EXPECT_BYTES, .hex = "32 09 00 03 'a/b' 00 03 00 'x'"},
		{.op = FAKE_SEND, .hex = "40 02 00 03"},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start5(script);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	options5(&o, &r, fb, "limits");
	o.auto_reconnect = false;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ferry_token t[4];
	char big[30];
	memset(big, 'b', sizeof big);
	ASSERT_RC(ferry_publish(c, "a/b", "x", 1, 2, false, NULL, &t[0]), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "a/b", "x", 1, 0, true, NULL, &t[1]), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "a/b", big, sizeof big, 1, false, NULL, &t[2]), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "a/b", "x", 1, 1, false, NULL, &t[3]), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t[0], ITEST_WAIT_MS), FERRY_ERR_QOS_NOT_SUPPORTED);
	ASSERT_RC(ferry_wait(c, t[1], ITEST_WAIT_MS), FERRY_ERR_RETAIN_NOT_SUPPORTED);
	ASSERT_RC(ferry_wait(c, t[2], ITEST_WAIT_MS), FERRY_ERR_PACKET_TOO_LARGE);
	ASSERT_RC(ferry_wait(c, t[3], ITEST_WAIT_MS), FERRY_OK);
	assert_script_ok(fb);
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.inflight, 0);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

/* A topic alias ferry never allowed is a protocol error: ferry says so with
 * DISCONNECT 0x94 and closes; nothing is delivered under an empty topic. */
static void test_mqtt5_unallowed_topic_alias(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
		{.op = FAKE_SEND, .hex = "20 03 00 00 00"},
		/* QoS 0, empty topic, Topic Alias 5, payload "hi" */
		{.op = FAKE_SEND, .hex = "30 08 00 00 03 23 00 05 'hi'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "e0 01 94"}, /* DISCONNECT: Topic Alias invalid */
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start5(script);
	struct v5rec v;
	memset(&v, 0, sizeof v);
	itest_rec_init(&v.r);
	struct ferry_client_options o;
	options5(&o, &v.r, fb, "alias");
	o.auto_reconnect = false;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&v.r, &v.r.lost, 1, ITEST_WAIT_MS));
	assert_script_ok(fb);
	pthread_mutex_lock(&v.r.mu);
	CU_ASSERT_EQUAL(v.r.lost_cause, FERRY_ERR_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.r.lost_text, "topic alias 5"));
	CU_ASSERT_EQUAL(v.r.nmsgs, 0);
	pthread_mutex_unlock(&v.r.mu);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&v.r);
}

/*
 * MQTT 5: when the broker lost the session, the subscriptions go again with
 * the Subscription Identifier each was made with (one identifier per
 * SUBSCRIBE: those without one first, then per identifier), so messages keep
 * carrying the identifiers the application routes by.
 */
static void test_mqtt5_resubscribe_keeps_subscription_ids(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
		{.op = FAKE_SEND, .hex = "20 03 00 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "82 0b 00 01 02 0b 07 00 03 'a/#' 01"},
		{.op = FAKE_SEND, .hex = "90 04 00 01 00 01"},
		{.op = FAKE_EXPECT_BYTES, .hex = "82 07 00 02 00 00 01 'b' 00"},
		{.op = FAKE_SEND, .hex = "90 04 00 02 00 00"},
		{.op = FAKE_CLOSE},
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
		{.op = FAKE_SEND, .hex = "20 03 00 00 00"}, /* no session */
		{.op = FAKE_EXPECT_BYTES, .hex = "82 07 00 03 00 00 01 'b' 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "82 0b 00 04 02 0b 07 00 03 'a/#' 01"},
		{.op = FAKE_SEND, .hex = "90 04 00 03 00 00 90 04 00 04 00 01"},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start5(script);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	options5(&o, &r, fb, "sid");
	o.keepalive_s = 0;
	o.reconnect_min_ms = 10;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	struct ferry_properties sid = {.flags = FERRY_PF_SUBSCRIPTION_ID, .subscription_id = 7};
	struct ferry_call with_id = {.props = &sid};
	ferry_token ta, tb;
	ASSERT_RC(ferry_subscribe(c, "a/#", 1, &with_id, &ta), FERRY_OK);
	ASSERT_RC(ferry_subscribe(c, "b", 0, NULL, &tb), FERRY_OK);
	ASSERT_RC(ferry_wait(c, tb, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.connected, 2, ITEST_WAIT_MS));
	CU_ASSERT_FALSE(itest_session_present(&r));
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

static void test_connack_timeout(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_EXPECT_CLOSE}, /* no CONNACK: the client gives up */
		{.op = FAKE_END},
	};
	struct test_fake *fb = start(script);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	itest_options(&o, &r, test_fake_uri(fb), "slow");
	o.connect_timeout_ms = 300;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(itest_connect_wait(c), FERRY_ERR_CONNECT_TIMEOUT);
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

static void test_keepalive_ping_and_loss(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "c0 00"},
		{.op = FAKE_SEND, .hex = "d0 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "c0 00"}, /* unanswered */
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	struct test_fake *fb = start(script);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = make_client(&r, fb, true, 1);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.lost, 1, ITEST_WAIT_MS));
	ASSERT_RC(r.lost_cause, FERRY_ERR_KEEPALIVE);
	assert_script_ok(fb);
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.packets_sent[12], 2);     /* PINGREQ */
	CU_ASSERT_EQUAL(st.packets_received[13], 1); /* PINGRESP */
	CU_ASSERT_EQUAL(st.packets_sent[1], 1);      /* CONNECT */
	CU_ASSERT_EQUAL(st.bytes_sent, 20 + 2 + 2); /* CONNECT (20 bytes) and two PINGREQs */
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

void register_client_script_suite(void)
{
	CU_pSuite s = test_suite("client_script");
	test_add(s, "exact CONNECT and SUBSCRIBE bytes", test_exact_connect_and_subscribe_bytes);
	test_add(s, "resend in order after reconnect with session",
	         test_resend_in_order_after_reconnect_with_session);
	test_add(s, "inbound QoS 2 delivered once", test_inbound_qos2_delivered_once);
	test_add(s, "malformed packet closes, message kept",
	         test_malformed_packet_closes_and_keeps_message);
	test_add(s, "QoS 2 answered with PUBACK: QoS not supported, connection closed",
	         test_qos2_answered_with_puback);
	test_add(s, "MQTT 5: resubscribing keeps the Subscription Identifiers",
	         test_mqtt5_resubscribe_keeps_subscription_ids);
	test_add(s, "CONNACK timeout", test_connack_timeout);
	test_add(s, "MQTT 5: server keepalive, assigned id, DISCONNECT reason string",
	         test_mqtt5_server_settings);
	test_add(s, "MQTT 5: the broker's maximum QoS, retain and packet size",
	         test_mqtt5_server_limits);
	test_add(s, "MQTT 5: a topic alias never allowed closes the connection",
	         test_mqtt5_unallowed_topic_alias);
	test_add(s, "unwritten bytes dropped, then QoS 0 completes",
	         test_unwritten_bytes_dropped_then_qos0_completes);
	test_add(s, "keepalive ping, then loss", test_keepalive_ping_and_loss);
}

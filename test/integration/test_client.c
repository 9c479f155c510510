/*
 * test_client.c - the asynchronous client against a real mosquitto on
 * 127.0.0.1 (MQTT 3.1.1 unless a test says otherwise): connect and refusals,
 * publish/subscribe at every QoS and payload size, wildcards, retained
 * messages, wills, persistent sessions, many clients in one context, API
 * calls from callbacks, and exactly-once completion at destroy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "support/fakebroker.h"
#include "unit/util.h"

static struct test_broker broker;
static const char *uri;

static int suite_init(void)
{
	static const char *const users[] = {"alice:secret", NULL};
	int rc = test_broker_start(&broker, &(struct test_broker_opts){
	                                            .users = users,
	                                            .anonymous = TEST_ANON_ALLOW,
	                                    });
	if (rc) {
		fprintf(stderr, "broker: %s\n", test_broker_error(&broker));
		return 1;
	}
	uri = test_broker_uri(&broker);
	return 0;
}

static int suite_clean(void)
{
	test_broker_cleanup(&broker);
	return 0;
}

/* ---- connect ------------------------------------------------------------ */

static void test_connect_and_disconnect(void)
{
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = itest_connect(&r, uri, "conn-1", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(ferry_is_connected(c));
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.connected, 1, ITEST_WAIT_MS));
	CU_ASSERT_FALSE(itest_session_present(&r));
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(c, NULL, NULL), FERRY_ERR_STATE);
	ASSERT_RC(ferry_disconnect(c, 1000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_FALSE(ferry_is_connected(c));
	CU_ASSERT_EQUAL(r.lost, 0); /* a clean disconnect is not a loss */
	/* Disconnecting again: completes with NOT_CONNECTED. */
	ASSERT_RC(ferry_disconnect(c, 0, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_ERR_NOT_CONNECTED);
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

static void test_connect_refused_bad_password(void)
{
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	itest_options(&o, &r, uri, "conn-badpw");
	o.username = "alice";
	o.password = "wrong";
	o.password_len = 5;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	struct ferry_call call = itest_call_template;
	call.user = &r;
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(c, &call, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_ERR_CONNECT_REFUSED);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.results, 1, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(r.last_rc, FERRY_ERR_CONNECT_REFUSED);
	CU_ASSERT_EQUAL(r.last_reason, 5); /* 3.1.1: not authorized */
	CU_ASSERT_FALSE(ferry_is_connected(c));
	ferry_client_destroy(c);

	/* The right password is accepted. */
	o.password = "secret";
	o.password_len = 6;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(ferry_connect(c, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

static void test_connect_to_closed_port_fails(void)
{
	int port = test_broker_free_port();
	CU_ASSERT_FATAL(port > 0);
	char u[64];
	snprintf(u, sizeof u, "tcp://127.0.0.1:%d", port);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	itest_options(&o, &r, u, "conn-closed");
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(c, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_ERR_CONNECT);
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

static void test_second_server_used_when_first_is_down(void)
{
	int port = test_broker_free_port();
	char dead[64];
	snprintf(dead, sizeof dead, "tcp://127.0.0.1:%d", port);
	const char *servers[] = {dead, uri};
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	itest_options(&o, &r, NULL, "conn-list");
	o.server_uris = servers;
	o.server_uri_count = 2;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(c, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(ferry_is_connected(c));
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

static void test_connect_by_host_name(void)
{
	/* "localhost" goes through the asynchronous resolver (/etc/hosts). */
	char u[64];
	snprintf(u, sizeof u, "tcp://localhost:%d", test_broker_port(&broker));
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = itest_connect(&r, u, "by-name", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c)
		CU_ASSERT_TRUE(ferry_is_connected(c));
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

static void test_slow_connect_does_not_stall_other_clients(void)
{
	/* A "broker" that accepts TCP but never answers CONNECT. */
	static const struct test_fake_step silent[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_EXPECT_CLOSE, .timeout_ms = 30000},
		{.op = FAKE_END},
	};
	struct test_fake *fb = NULL;
	ASSERT_RC(test_fake_start(&fb, silent, NULL), FERRY_OK);
	ferry_context *ctx = NULL;
	ASSERT_RC(ferry_context_create(NULL, &ctx), FERRY_OK);
	struct itest_rec ra, rb;
	itest_rec_init(&ra);
	itest_rec_init(&rb);
	struct ferry_client_options o;
	itest_options(&o, &ra, test_fake_uri(fb), "slow-a");
	o.context = ctx;
	o.connect_timeout_ms = 20000;
	ferry_client *a = NULL, *b = NULL;
	ASSERT_RC(ferry_client_create(&o, &a), FERRY_OK);
	ferry_token ta = 0, tb = 0;
	ASSERT_RC(ferry_connect(a, NULL, &ta), FERRY_OK);
	ASSERT_RC(test_fake_wait_step(fb, 2, ITEST_WAIT_MS), FERRY_OK); /* a is waiting for CONNACK */
	itest_options(&o, &rb, uri, "slow-b");
	o.context = ctx;
	ASSERT_RC(ferry_client_create(&o, &b), FERRY_OK);
	ASSERT_RC(ferry_connect(b, NULL, &tb), FERRY_OK);
	ASSERT_RC(ferry_wait(b, tb, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(ferry_wait(a, ta, 0), FERRY_ERR_TIMEOUT); /* a is still connecting */
	ASSERT_RC(itest_subscribe(b, "slow/x", 1), FERRY_OK);
	ferry_client_destroy(a); /* cancels a's attempt */
	ferry_client_destroy(b);
	ASSERT_RC(ferry_context_destroy(ctx), FERRY_OK);
	test_fake_destroy(fb);
	itest_rec_free(&ra);
	itest_rec_free(&rb);
}

static void test_argument_errors(void)
{
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	itest_options(&o, &r, uri, "args");
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(NULL, &c), FERRY_ERR_INVAL);
	o.mqtt_version = 6;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_INVAL);
	o.mqtt_version = FERRY_MQTT_3_1;
	o.client_id = "a-client-id-of-24-bytes!";
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_CLIENT_ID);
	o.mqtt_version = FERRY_MQTT_3_1_1;
	o.client_id = "";
	o.clean_session = false;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_CLIENT_ID);
	o.client_id = "args";
	o.clean_session = true;
	o.server_uri = "nope://x";
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_URI);
	/* Transport options are checked at create, not at every connect. */
	o.server_uri = "ws://127.0.0.1:1/mqtt";
	const char *bad_headers[][1] = {{"no colon"}, {": no name"}, {"X-A: 1\r\nX-B: 2"}, {NULL}};
	for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
		o.ws_headers = bad_headers[i];
		o.ws_header_count = 1;
		ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_INVAL);
	}
	o.ws_headers = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_INVAL); /* a count without headers */
	o.ws_header_count = 0;
	struct ferry_proxy_options px = FERRY_PROXY_OPTIONS_INIT;
	px.type = FERRY_PROXY_SOCKS5;
	px.host = "127.0.0.1";
	px.port = 0;
	o.proxy = &px;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_INVAL); /* no port */
	px.port = 1080;
	px.type = 7;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_INVAL); /* unknown type */
	o.proxy = NULL;
	o.server_uri = uri;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "a/+", "x", 1, 0, false, NULL, NULL), FERRY_ERR_TOPIC_NAME);
	ASSERT_RC(ferry_publish(c, "a", "x", 1, 3, false, NULL, NULL), FERRY_ERR_INVAL);
	ASSERT_RC(ferry_publish(c, NULL, "x", 1, 0, false, NULL, NULL), FERRY_ERR_INVAL);
	ASSERT_RC(ferry_publish(c, "a", NULL, 1, 0, false, NULL, NULL), FERRY_ERR_INVAL);
	ASSERT_RC(ferry_publish(c, "a\xc0\x80", "x", 1, 0, false, NULL, NULL), FERRY_ERR_UTF8);
	ASSERT_RC(ferry_subscribe(c, "a/#/b", 0, NULL, NULL), FERRY_ERR_TOPIC_FILTER);
	ASSERT_RC(ferry_subscribe(c, "a", -1, NULL, NULL), FERRY_ERR_INVAL);
	ASSERT_RC(ferry_unsubscribe(c, "", NULL, NULL), FERRY_ERR_TOPIC_FILTER);
	ASSERT_RC(ferry_wait(c, 12345, 10), FERRY_ERR_NOT_FOUND);
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

/* ---- publish and subscribe ---------------------------------------------- */

static void roundtrip(int pub_qos, int sub_qos, size_t size)
{
	struct itest_rec r;
	itest_rec_init(&r);
	char id[64], topic[64];
	snprintf(id, sizeof id, "rt-%d-%d-%zu", pub_qos, sub_qos, size);
	snprintf(topic, sizeof topic, "rt/%d/%d/%zu", pub_qos, sub_qos, size);
	ferry_client *c = itest_connect(&r, uri, id, FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_subscribe(c, topic, sub_qos), FERRY_OK);
	uint8_t *payload = malloc(size ? size : 1);
	for (size_t i = 0; i < size; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	ferry_token t = 0;
	ASSERT_RC(ferry_publish(c, topic, payload, size, pub_qos, false, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&r, 1, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.delivered, 1, ITEST_WAIT_MS));
	if (itest_nmsgs(&r) >= 1) {
		CU_ASSERT_STRING_EQUAL(r.msgs[0].topic, topic);
		CU_ASSERT_EQUAL(r.msgs[0].len, size);
		CU_ASSERT(r.msgs[0].len == size && memcmp(r.msgs[0].payload, payload, size) == 0);
		CU_ASSERT_EQUAL(r.msgs[0].qos, pub_qos < sub_qos ? pub_qos : sub_qos);
		CU_ASSERT_FALSE(r.msgs[0].retain);
	}
	CU_ASSERT_EQUAL(r.delivered_failed, 0);
	free(payload);
	ferry_client_destroy(c);
	CU_ASSERT_EQUAL(itest_nmsgs(&r), 1); /* delivered exactly once */
	itest_rec_free(&r);
}

static void test_pubsub_all_qos_and_sizes(void)
{
	static const size_t sizes[] = {0, 1, 64 * 1024, 1024 * 1024};
	for (int q = 0; q <= 2; q++)
		for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
			roundtrip(q, q, sizes[s]);
	/* Delivery QoS is the lower of the two. */
	roundtrip(2, 1, 10);
	roundtrip(1, 0, 10);
	roundtrip(0, 2, 10);
}

static void test_order_and_counts_at_each_qos(void)
{
	enum { N = 3000 };
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = itest_connect(&r, uri, "order", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_subscribe(c, "order/#", 2), FERRY_OK);
	for (int i = 0; i < N; i++) {
		char topic[32], p[16];
		snprintf(topic, sizeof topic, "order/q%d", i % 3);
		snprintf(p, sizeof p, "%d", i);
		ASSERT_RC(ferry_publish(c, topic, p, strlen(p), i % 3, false, NULL, NULL), FERRY_OK);
	}
	CU_ASSERT_TRUE(itest_wait_msgs(&r, N, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.delivered, N, ITEST_WAIT_MS));
	/* Per QoS, messages arrive in the order they were published. */
	int last[3] = {-1, -1, -1}, count[3] = {0};
	pthread_mutex_lock(&r.mu);
	for (size_t i = 0; i < r.nmsgs; i++) {
		int q = r.msgs[i].topic[7] - '0';
		char num[16] = {0};
		memcpy(num, r.msgs[i].payload, r.msgs[i].len < 15 ? r.msgs[i].len : 15);
		int v = atoi(num);
		CU_ASSERT(v > last[q]);
		last[q] = v;
		count[q]++;
	}
	pthread_mutex_unlock(&r.mu);
	CU_ASSERT_EQUAL(count[0], N / 3);
	CU_ASSERT_EQUAL(count[1], N / 3);
	CU_ASSERT_EQUAL(count[2], N / 3);
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

static void test_mqtt_3_1(void)
{
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = itest_connect(&r, uri, "v31-client", FERRY_MQTT_3_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_subscribe(c, "v31/#", 2), FERRY_OK);
	ferry_token t = 0;
	for (int q = 0; q <= 2; q++)
		ASSERT_RC(ferry_publish(c, "v31/x", "abc", 3, q, false, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&r, 3, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(itest_nmsgs(&r), 3);
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

static void test_mqtt_5_basics(void)
{
	/* MQTT 5 framing end to end (properties come with the MQTT 5 work). */
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = itest_connect(&r, uri, "v5-client", FERRY_MQTT_5, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_subscribe(c, "v5/#", 2), FERRY_OK);
	ferry_token t = 0;
	for (int q = 0; q <= 2; q++)
		ASSERT_RC(ferry_publish(c, "v5/x", "abc", 3, q, false, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&r, 3, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(itest_nmsgs(&r), 3);
	ASSERT_RC(ferry_unsubscribe(c, "v5/#", NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(ferry_disconnect(c, 1000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_EQUAL(r.lost, 0);
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

static void test_outbox_not_capped_by_packet_ids(void)
{
	/* More messages than there are packet ids, queued before the connect:
	 * ids are bound only as messages enter the in-flight window. */
	enum { N = 70000 };
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	itest_options(&o, &r, uri, "outbox-70k");
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	for (int i = 0; i < N; i++)
		ASSERT_RC(ferry_publish(c, "outbox/x", "m", 1, 1, false, NULL, NULL), FERRY_OK);
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.queued, N);
	CU_ASSERT_EQUAL(st.inflight, 0);
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(c, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.delivered, N, 60000));
	CU_ASSERT_EQUAL(r.delivered_failed, 0);
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.queued, 0);
	CU_ASSERT_EQUAL(st.packets_sent[3], N); /* PUBLISH */
	CU_ASSERT_EQUAL(st.packets_received[4], N); /* PUBACK */
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

static void test_disconnect_lets_in_flight_complete(void)
{
	enum { N = 1000 };
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = itest_connect(&r, uri, "drain", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ferry_token t = 0;
	for (int i = 0; i < N; i++)
		ASSERT_RC(ferry_publish(c, "drain/x", "m", 1, 2, false, NULL, &t), FERRY_OK);
	/* Once the first completes, the window is full of messages in flight. */
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.delivered, 1, ITEST_WAIT_MS));
	ferry_token d = 0;
	ASSERT_RC(ferry_disconnect(c, 10000, NULL, &d), FERRY_OK);
	ASSERT_RC(ferry_wait(c, d, ITEST_WAIT_MS), FERRY_OK);
	/* Whatever was in flight completed; nothing failed; the rest waits in
	 * the outbox (a disconnect starts nothing new). */
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.inflight, 0);
	CU_ASSERT_EQUAL(r.delivered_failed, 0);
	CU_ASSERT_EQUAL((uint64_t)r.delivered + st.queued, N);
	/* Reconnecting sends the rest. */
	ASSERT_RC(ferry_connect(c, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.delivered, N, ITEST_WAIT_MS));
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

struct logs {
	pthread_mutex_t mu;
	int warnings;
	char last[256];
};

static void log_cb(void *user, int level, const char *text)
{
	struct logs *l = user;
	pthread_mutex_lock(&l->mu);
	if (level == FERRY_LOG_WARNING)
		l->warnings++;
	snprintf(l->last, sizeof l->last, "%s", text);
	pthread_mutex_unlock(&l->mu);
}

static void test_log_callback_and_levels(void)
{
	int port = test_broker_free_port();
	char dead[64];
	snprintf(dead, sizeof dead, "tcp://127.0.0.1:%d", port);
	struct logs l = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = dead;
	o.client_id = "logs";
	o.user = &l;
	o.on_log = log_cb;
	o.log_level = FERRY_LOG_WARNING;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(c, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_ERR_CONNECT);
	ferry_client_destroy(c);
	CU_ASSERT_EQUAL(l.warnings, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(l.last, "Connection refused"));
	/* Below the level nothing is passed on. */
	l.warnings = 0;
	o.log_level = FERRY_LOG_ERROR;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(ferry_connect(c, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_ERR_CONNECT);
	ferry_client_destroy(c);
	CU_ASSERT_EQUAL(l.warnings, 0);
}

/* ---- wildcards and per-subscription callbacks ------------------------------ */

struct counter {
	pthread_mutex_t mu;
	int n;
	char last[64];
};

static void count_cb(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	struct counter *k = user;
	pthread_mutex_lock(&k->mu);
	k->n++;
	snprintf(k->last, sizeof k->last, "%s", m->topic);
	pthread_mutex_unlock(&k->mu);
}

static void test_wildcards_and_per_subscription_callbacks(void)
{
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = itest_connect(&r, uri, "wild", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	struct counter plus = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
	struct counter hash = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
	struct ferry_subscription subs[] = {
		{.filter = "wild/+/temp", .qos = 1, .on_message = count_cb, .user = &plus},
		{.filter = "wild/alerts/#", .qos = 1, .on_message = count_cb, .user = &hash},
		{.filter = "wild/plain", .qos = 1}, /* client-wide callback */
	};
	ferry_token t = 0;
	ASSERT_RC(ferry_subscribe_many(c, subs, 3, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	const char *topics[] = {"wild/a/temp", "wild/b/temp", "wild/a/b/temp", "wild/alerts",
	                        "wild/alerts/x/y", "wild/plain", "wild/other"};
	for (size_t i = 0; i < 7; i++)
		ASSERT_RC(ferry_publish(c, topics[i], "x", 1, 1, false, NULL, NULL), FERRY_OK);
	/* A marker on the client-wide callback arrives after all the others. */
	ASSERT_RC(ferry_publish(c, "wild/plain", "end", 3, 1, false, NULL, NULL), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&r, 2, ITEST_WAIT_MS));
	pthread_mutex_lock(&plus.mu);
	CU_ASSERT_EQUAL(plus.n, 2); /* wild/a/temp, wild/b/temp */
	pthread_mutex_unlock(&plus.mu);
	pthread_mutex_lock(&hash.mu);
	CU_ASSERT_EQUAL(hash.n, 2); /* wild/alerts (parent matches #), wild/alerts/x/y */
	pthread_mutex_unlock(&hash.mu);
	CU_ASSERT_EQUAL(itest_nmsgs(&r), 2); /* only wild/plain twice */

	/* After unsubscribing, the per-subscription callback is gone. */
	ASSERT_RC(ferry_unsubscribe(c, "wild/+/temp", NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "wild/a/temp", "x", 1, 1, false, NULL, NULL), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "wild/plain", "end2", 4, 1, false, NULL, NULL), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&r, 3, ITEST_WAIT_MS));
	pthread_mutex_lock(&plus.mu);
	CU_ASSERT_EQUAL(plus.n, 2);
	pthread_mutex_unlock(&plus.mu);
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

/* ---- retained messages ----------------------------------------------------- */

static void test_retained_and_cleared(void)
{
	struct itest_rec pr, s1, s2;
	itest_rec_init(&pr);
	itest_rec_init(&s1);
	itest_rec_init(&s2);
	ferry_client *p = itest_connect(&pr, uri, "ret-pub", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	ferry_token t = 0;
	ASSERT_RC(ferry_publish(p, "ret/state", "on", 2, 1, true, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(p, t, ITEST_WAIT_MS), FERRY_OK);

	ferry_client *a = itest_connect(&s1, uri, "ret-sub1", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	ASSERT_RC(itest_subscribe(a, "ret/state", 1), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&s1, 1, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(s1.nmsgs >= 1 && s1.msgs[0].retain && s1.msgs[0].len == 2 &&
	               memcmp(s1.msgs[0].payload, "on", 2) == 0);

	/* An empty retained payload clears it: a new subscriber gets nothing
	 * before a marker published after its SUBACK. */
	ASSERT_RC(ferry_publish(p, "ret/state", NULL, 0, 1, true, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(p, t, ITEST_WAIT_MS), FERRY_OK);
	ferry_client *b = itest_connect(&s2, uri, "ret-sub2", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	ASSERT_RC(itest_subscribe(b, "ret/#", 1), FERRY_OK);
	ASSERT_RC(ferry_publish(p, "ret/marker", "m", 1, 1, false, NULL, &t), FERRY_OK);
	CU_ASSERT_EQUAL(itest_wait_topic(&s2, "ret/marker", ITEST_WAIT_MS), 0);
	ferry_client_destroy(a);
	ferry_client_destroy(b);
	ferry_client_destroy(p);
	itest_rec_free(&pr);
	itest_rec_free(&s1);
	itest_rec_free(&s2);
}

/* ---- wills ----------------------------------------------------------------- */

static ferry_client *will_client(struct itest_rec *r, const char *id)
{
	struct ferry_will_options w = {.topic = "will/gone", .payload = id, .payload_len = strlen(id),
	                               .qos = 1};
	struct ferry_client_options o;
	itest_options(&o, r, uri, id);
	o.will = &w;
	ferry_client *c = NULL;
	CU_ASSERT_EQUAL_FATAL(ferry_client_create(&o, &c), FERRY_OK);
	ferry_token t = 0;
	CU_ASSERT_EQUAL(ferry_connect(c, NULL, &t), FERRY_OK);
	CU_ASSERT_EQUAL(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	return c;
}

static void test_will_on_abrupt_loss_not_on_disconnect(void)
{
	struct itest_rec wr, a, b;
	itest_rec_init(&wr);
	itest_rec_init(&a);
	itest_rec_init(&b);
	ferry_client *watcher = itest_connect(&wr, uri, "will-watch", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(watcher);
	ASSERT_RC(itest_subscribe(watcher, "will/#", 1), FERRY_OK);

	/* Clean disconnect: no will. */
	ferry_client *clean = will_client(&a, "will-clean");
	ferry_token t = 0;
	ASSERT_RC(ferry_disconnect(clean, 1000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(clean, t, ITEST_WAIT_MS), FERRY_OK);
	ferry_client_destroy(clean);

	/* Destroy without DISCONNECT: the broker publishes the will. */
	ferry_client *abrupt = will_client(&b, "will-abrupt");
	ferry_client_destroy(abrupt);
	long i = itest_wait_topic(&wr, "will/gone", ITEST_WAIT_MS);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(wr.msgs[i].len, strlen("will-abrupt"));
	CU_ASSERT(memcmp(wr.msgs[i].payload, "will-abrupt", wr.msgs[i].len) == 0);
	/* The will of the clean client never came: the abrupt one is the only one. */
	ASSERT_RC(ferry_publish(watcher, "will/marker", "m", 1, 1, false, NULL, NULL), FERRY_OK);
	CU_ASSERT(itest_wait_topic(&wr, "will/marker", ITEST_WAIT_MS) > i);
	pthread_mutex_lock(&wr.mu);
	int wills = 0;
	for (size_t k = 0; k < wr.nmsgs; k++)
		wills += strcmp(wr.msgs[k].topic, "will/gone") == 0;
	pthread_mutex_unlock(&wr.mu);
	CU_ASSERT_EQUAL(wills, 1);
	ferry_client_destroy(watcher);
	itest_rec_free(&wr);
	itest_rec_free(&a);
	itest_rec_free(&b);
}

/* ---- persistent sessions ----------------------------------------------------- */

static void test_persistent_session_gets_messages_sent_while_away(void)
{
	struct itest_rec s1, s2, pr;
	itest_rec_init(&s1);
	itest_rec_init(&s2);
	itest_rec_init(&pr);
	ferry_client *s = itest_connect(&s1, uri, "persist-sub", FERRY_MQTT_3_1_1, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ASSERT_RC(itest_subscribe(s, "persist/#", 2), FERRY_OK);
	ferry_token t = 0;
	ASSERT_RC(ferry_disconnect(s, 1000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(s, t, ITEST_WAIT_MS), FERRY_OK);
	ferry_client_destroy(s);

	ferry_client *p = itest_connect(&pr, uri, "persist-pub", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int i = 0; i < 20; i++) {
		char m[8];
		snprintf(m, sizeof m, "%d", i);
		ASSERT_RC(ferry_publish(p, i % 2 ? "persist/q2" : "persist/q1", m, strlen(m),
		                        i % 2 ? 2 : 1, false, NULL, &t),
		          FERRY_OK);
	}
	ASSERT_RC(ferry_wait(p, t, ITEST_WAIT_MS), FERRY_OK);

	s = itest_connect(&s2, uri, "persist-sub", FERRY_MQTT_3_1_1, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(itest_wait_int(&s2, &s2.connected, 1, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(s2.session_present);
	CU_ASSERT_TRUE(itest_wait_msgs(&s2, 20, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(itest_nmsgs(&s2), 20);
	/* Clean up the broker's session for later runs. */
	ferry_client_destroy(s);
	ferry_client_destroy(p);
	itest_rec_free(&s1);
	itest_rec_free(&s2);
	itest_rec_free(&pr);
}

/* ---- many clients in one context -------------------------------------------- */

static void test_200_clients_share_one_context(void)
{
	enum { N = 200 };
	ferry_context *ctx = NULL;
	ASSERT_RC(ferry_context_create(NULL, &ctx), FERRY_OK);
	struct itest_rec *rec = calloc(N, sizeof *rec);
	ferry_client **cl = calloc(N, sizeof *cl);
	ferry_token *tok = calloc(N, sizeof *tok);
	for (int i = 0; i < N; i++) {
		itest_rec_init(&rec[i]);
		char id[32];
		snprintf(id, sizeof id, "mesh-%d", i);
		struct ferry_client_options o;
		itest_options(&o, &rec[i], uri, id);
		o.context = ctx;
		ASSERT_RC(ferry_client_create(&o, &cl[i]), FERRY_OK);
		ASSERT_RC(ferry_connect(cl[i], NULL, &tok[i]), FERRY_OK);
	}
	for (int i = 0; i < N; i++)
		ASSERT_RC(ferry_wait(cl[i], tok[i], ITEST_WAIT_MS), FERRY_OK);
	for (int i = 0; i < N; i++)
		ASSERT_RC(ferry_subscribe(cl[i], "mesh/all", 1, NULL, &tok[i]), FERRY_OK);
	for (int i = 0; i < N; i++)
		ASSERT_RC(ferry_wait(cl[i], tok[i], ITEST_WAIT_MS), FERRY_OK);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++) {
		char m[16];
		snprintf(m, sizeof m, "from-%d", i);
		ASSERT_RC(ferry_publish(cl[i], "mesh/all", m, strlen(m), 1, false, NULL, NULL), FERRY_OK);
	}
	/* Every client hears every client, itself included: N x N deliveries. */
	int complete = 0;
	for (int i = 0; i < N; i++)
		complete += itest_wait_msgs(&rec[i], N, ITEST_WAIT_MS);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CU_ASSERT_EQUAL(complete, N);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("\n    200 clients, one context: %d deliveries in %.3f s (%.0f msg/s) ", N * N, s,
	       N * N / s);
	for (int i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(itest_nmsgs(&rec[i]), N);
		ferry_client_destroy(cl[i]);
		itest_rec_free(&rec[i]);
	}
	ASSERT_RC(ferry_context_destroy(ctx), FERRY_OK);
	free(rec);
	free(cl);
	free(tok);
}

/* ---- a blocked callback does not make another client miss its keepalive ---- */

struct blocker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, release;
};

static void block_cb(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	(void)m;
	struct blocker *b = user;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30; /* bound: the test releases it long before */
	pthread_mutex_lock(&b->mu);
	b->entered = true;
	pthread_cond_broadcast(&b->cv);
	while (!b->release)
		if (pthread_cond_timedwait(&b->cv, &b->mu, &ts))
			break;
	pthread_mutex_unlock(&b->mu);
}

static void test_blocked_callback_does_not_break_keepalive(void)
{
	ferry_context *ctx = NULL;
	ASSERT_RC(ferry_context_create(NULL, &ctx), FERRY_OK);
	struct blocker bl = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
	struct itest_rec ra, rb;
	itest_rec_init(&ra);
	itest_rec_init(&rb);
	struct ferry_client_options o;
	itest_options(&o, &ra, uri, "block-a");
	o.context = ctx;
	o.user = &bl;
	o.on_message = block_cb;
	o.on_connected = NULL;
	o.on_connection_lost = NULL;
	o.on_delivery_complete = NULL;
	ferry_client *a = NULL, *b = NULL;
	ASSERT_RC(ferry_client_create(&o, &a), FERRY_OK);
	itest_options(&o, &rb, uri, "block-b");
	o.context = ctx;
	o.keepalive_s = 1; /* loss would be declared 1.5 s after silence */
	ASSERT_RC(ferry_client_create(&o, &b), FERRY_OK);
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(a, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(a, t, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(ferry_connect(b, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(b, t, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(itest_subscribe(a, "block/x", 0), FERRY_OK);
	ASSERT_RC(ferry_publish(b, "block/x", "go", 2, 0, false, NULL, NULL), FERRY_OK);
	/* a's callback now holds the context's receive thread for 4 s: b's
	 * PINGRESPs sit unread in its socket, which still counts as life. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ITEST_WAIT_MS / 1000;
	pthread_mutex_lock(&bl.mu);
	while (!bl.entered)
		if (pthread_cond_timedwait(&bl.cv, &bl.mu, &ts))
			break;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 4;
	while (bl.entered && pthread_cond_timedwait(&bl.cv, &bl.mu, &ts) == 0)
		; /* hold the callback for 4 s */
	bl.release = true;
	pthread_cond_broadcast(&bl.cv);
	pthread_mutex_unlock(&bl.mu);
	CU_ASSERT_TRUE(bl.entered);
	ASSERT_RC(itest_subscribe(b, "block/y", 0), FERRY_OK); /* b works */
	CU_ASSERT_TRUE(ferry_is_connected(b));
	CU_ASSERT_EQUAL(rb.lost, 0);
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(b, &st), FERRY_OK);
	CU_ASSERT(st.packets_sent[12] >= 2); /* b kept pinging meanwhile */
	ferry_client_destroy(a);
	ferry_client_destroy(b);
	ASSERT_RC(ferry_context_destroy(ctx), FERRY_OK);
	itest_rec_free(&ra);
	itest_rec_free(&rb);
}

/* ---- API calls from callbacks ----------------------------------------------- */

struct cb_state {
	struct itest_rec rec;
	ferry_client *self;
	int wait_rc;        /* ferry_wait called from a callback */
	int replies;        /* publishes made from on_message */
	bool destroy_in_cb; /* destroy from the callback of the "destroy" message */
	bool destroyed;
};

static void cb_on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	struct cb_state *s = user;
	if (strcmp(m->topic, "cb/ping") == 0) {
		s->wait_rc = ferry_wait(c, 1, 10);
		/* publish, subscribe and unsubscribe from inside the callback */
		ferry_publish(c, "cb/pong", "p", 1, 1, false, NULL, NULL);
		ferry_subscribe(c, "cb/extra", 1, NULL, NULL);
		ferry_unsubscribe(c, "cb/nothing", NULL, NULL);
		s->replies++;
	} else if (strcmp(m->topic, "cb/disconnect") == 0) {
		ferry_disconnect(c, 1000, NULL, NULL);
	} else if (strcmp(m->topic, "cb/destroy") == 0) {
		ferry_client_destroy(c);
		pthread_mutex_lock(&s->rec.mu);
		s->destroyed = true;
		pthread_cond_broadcast(&s->rec.cv);
		pthread_mutex_unlock(&s->rec.mu);
		return;
	}
	pthread_mutex_lock(&s->rec.mu);
	s->rec.results++; /* counts messages only: nothing kept here */
	pthread_cond_broadcast(&s->rec.cv);
	pthread_mutex_unlock(&s->rec.mu);
}

static ferry_client *cb_client(struct cb_state *s, const char *id, ferry_context *ctx)
{
	memset(s, 0, sizeof *s);
	itest_rec_init(&s->rec);
	struct ferry_client_options o;
	itest_options(&o, &s->rec, uri, id);
	o.user = s;
	o.on_message = cb_on_message;
	o.on_connected = NULL;
	o.on_connection_lost = NULL;
	o.on_delivery_complete = NULL;
	o.context = ctx;
	ferry_client *c = NULL;
	CU_ASSERT_EQUAL_FATAL(ferry_client_create(&o, &c), FERRY_OK);
	ferry_token t = 0;
	CU_ASSERT_EQUAL(ferry_connect(c, NULL, &t), FERRY_OK);
	CU_ASSERT_EQUAL(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_EQUAL(ferry_subscribe(c, "cb/#", 1, NULL, &t), FERRY_OK);
	CU_ASSERT_EQUAL(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	s->self = c;
	return c;
}

static bool wait_destroyed(struct cb_state *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ITEST_WAIT_MS / 1000;
	pthread_mutex_lock(&s->rec.mu);
	while (!s->destroyed)
		if (pthread_cond_timedwait(&s->rec.cv, &s->rec.mu, &ts))
			break;
	bool d = s->destroyed;
	pthread_mutex_unlock(&s->rec.mu);
	return d;
}

static void test_api_calls_from_callbacks(void)
{
	struct cb_state s;
	ferry_client *c = cb_client(&s, "cb-api", NULL);
	ferry_token t = 0;
	ASSERT_RC(ferry_publish(c, "cb/ping", "x", 1, 1, false, NULL, &t), FERRY_OK);
	/* ping arrives, the callback publishes pong: both are counted. */
	CU_ASSERT_TRUE(itest_wait_int(&s.rec, &s.rec.results, 2, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(s.replies, 1);
	ASSERT_RC(s.wait_rc, FERRY_ERR_IN_CALLBACK);
	/* disconnect from a callback completes */
	ASSERT_RC(ferry_publish(c, "cb/disconnect", "x", 1, 1, false, NULL, NULL), FERRY_OK);
	for (int i = 0; i < 2000 && ferry_is_connected(c); i++) {
		struct timespec d = {0, 5000000};
		nanosleep(&d, NULL); /* polling a state with a bound; no event exists for it */
	}
	CU_ASSERT_FALSE(ferry_is_connected(c));
	ferry_client_destroy(c);
	itest_rec_free(&s.rec);
}

static void test_destroy_from_callback(void)
{
	/* A client with its own context... */
	struct cb_state s;
	ferry_client *c = cb_client(&s, "cb-destroy-own", NULL);
	ASSERT_RC(ferry_publish(c, "cb/destroy", "x", 1, 1, false, NULL, NULL), FERRY_OK);
	CU_ASSERT_TRUE(wait_destroyed(&s));
	itest_rec_free(&s.rec);

	/* ...and one of two clients in a shared context: the other keeps working. */
	ferry_context *ctx = NULL;
	ASSERT_RC(ferry_context_create(NULL, &ctx), FERRY_OK);
	struct cb_state a, b;
	ferry_client *ca = cb_client(&a, "cb-destroy-a", ctx);
	ferry_client *cbb = cb_client(&b, "cb-destroy-b", ctx);
	ASSERT_RC(ferry_publish(ca, "cb/destroy", "x", 1, 1, false, NULL, NULL), FERRY_OK);
	CU_ASSERT_TRUE(wait_destroyed(&a)); /* both got it: b destroys itself too */
	CU_ASSERT_TRUE(wait_destroyed(&b));
	(void)cbb;
	/* The context outlives its clients and is destroyed once they are gone;
	 * their retirement may still be finishing: wait, bounded. */
	int rc = FERRY_ERR_STATE;
	for (int i = 0; i < 2000 && rc == FERRY_ERR_STATE; i++) {
		rc = ferry_context_destroy(ctx);
		if (rc == FERRY_ERR_STATE) {
			struct timespec d = {0, 5000000};
			nanosleep(&d, NULL);
		}
	}
	ASSERT_RC(rc, FERRY_OK);
	itest_rec_free(&a.rec);
	itest_rec_free(&b.rec);
}

/* ---- exactly-once completion at destroy -------------------------------------- */

#define MIDFLIGHT 10000
static int completions[MIDFLIGHT + 64];
static int completion_rc_cancelled;
static pthread_mutex_t completion_mu = PTHREAD_MUTEX_INITIALIZER;

static void count_done(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	(void)user;
	pthread_mutex_lock(&completion_mu);
	if (res->token < MIDFLIGHT + 64)
		completions[res->token]++;
	if (res->rc == FERRY_ERR_CANCELLED)
		completion_rc_cancelled++;
	pthread_mutex_unlock(&completion_mu);
}

static void test_every_token_completes_once_at_destroy(void)
{
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = itest_connect(&r, uri, "midflight", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	memset(completions, 0, sizeof completions);
	completion_rc_cancelled = 0;
	struct ferry_call call = {.on_done = count_done, .user = NULL};
	ferry_token first = 0, last = 0;
	for (int i = 0; i < MIDFLIGHT - 10; i++) {
		ferry_token t = 0;
		ASSERT_RC(ferry_publish(c, "midflight/x", "payload", 7, 1 + i % 2, false, &call, &t),
		          FERRY_OK);
		if (!first)
			first = t;
		last = t;
	}
	/* Destroy mid-stream: once some have completed, the rest are in flight
	 * or still queued. */
	for (int i = 0; i < 4000; i++) {
		pthread_mutex_lock(&completion_mu);
		int done = 0;
		for (ferry_token t = first; t <= last && done < 1000; t++)
			done += completions[t] != 0;
		pthread_mutex_unlock(&completion_mu);
		if (done >= 1000)
			break;
		struct timespec d = {0, 5000000};
		nanosleep(&d, NULL); /* bounded poll of a counter */
	}
	ferry_client_destroy(c);
	int missing = 0, twice = 0;
	for (ferry_token t = first; t <= last; t++) {
		missing += completions[t] == 0;
		twice += completions[t] > 1;
	}
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(twice, 0);
	CU_ASSERT(completion_rc_cancelled > 0);
	printf("\n    destroyed with %d of %d operations still pending (cancelled) ",
	       completion_rc_cancelled, (int)(last - first + 1));
	itest_rec_free(&r);
}

void register_client_suite(void)
{
	CU_pSuite s = CU_add_suite("client", suite_init, suite_clean);
	if (!s)
		abort();
	test_add(s, "connect and disconnect", test_connect_and_disconnect);
	test_add(s, "CONNACK refusal: bad password", test_connect_refused_bad_password);
	test_add(s, "connect to a closed port fails", test_connect_to_closed_port_fails);
	test_add(s, "second server used when the first is down",
	         test_second_server_used_when_first_is_down);
	test_add(s, "connect by host name", test_connect_by_host_name);
	test_add(s, "a slow connect does not stall other clients",
	         test_slow_connect_does_not_stall_other_clients);
	test_add(s, "argument errors", test_argument_errors);
	test_add(s, "publish/subscribe, QoS 0/1/2, 0 B..1 MiB", test_pubsub_all_qos_and_sizes);
	test_add(s, "order and counts at each QoS", test_order_and_counts_at_each_qos);
	test_add(s, "MQTT 3.1", test_mqtt_3_1);
	test_add(s, "MQTT 5 basics", test_mqtt_5_basics);
	test_add(s, "outbox not capped by packet ids (70,000 queued)",
	         test_outbox_not_capped_by_packet_ids);
	test_add(s, "disconnect lets in-flight messages complete",
	         test_disconnect_lets_in_flight_complete);
	test_add(s, "log callback and levels", test_log_callback_and_levels);
	test_add(s, "wildcards and per-subscription callbacks",
	         test_wildcards_and_per_subscription_callbacks);
	test_add(s, "retained messages, cleared by an empty payload", test_retained_and_cleared);
	test_add(s, "will on abrupt loss, not on disconnect",
	         test_will_on_abrupt_loss_not_on_disconnect);
	test_add(s, "persistent session receives what was sent while away",
	         test_persistent_session_gets_messages_sent_while_away);
	test_add(s, "200 clients share one context", test_200_clients_share_one_context);
	test_add(s, "a blocked callback does not break another client's keepalive",
	         test_blocked_callback_does_not_break_keepalive);
	test_add(s, "API calls from callbacks", test_api_calls_from_callbacks);
	test_add(s, "destroy from a callback", test_destroy_from_callback);
	test_add(s, "every token completes exactly once at destroy",
	         test_every_token_completes_once_at_destroy);
}

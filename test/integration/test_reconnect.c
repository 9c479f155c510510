/*
 * test_reconnect.c - staying connected against real mosquitto brokers:
 * automatic reconnect after broker restarts, the offline queue (before the
 * first connect and while the broker is down) with its limits and policies,
 * failover across a server list, resubscribing when the session was lost,
 * client-id takeover, refusal policy, and bounded shutdown.
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
#include "support/proxy.h"
#include "unit/util.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Options for a fast-reconnecting client. */
static void fast_options(struct ferry_client_options *o, struct itest_rec *r, const char *uri,
                         const char *id)
{
	itest_options(o, r, uri, id);
	o->reconnect_min_ms = 50;
	o->reconnect_max_ms = 400;
	o->reconnect_stable_ms = 2000;
	o->connect_timeout_ms = 2000;
}

static ferry_client *fast_client(struct itest_rec *r, const char *uri, const char *id, bool clean)
{
	struct ferry_client_options o;
	fast_options(&o, r, uri, id);
	o.clean_session = clean;
	ferry_client *c = NULL;
	CU_ASSERT_EQUAL_FATAL(ferry_client_create(&o, &c), FERRY_OK);
	return c;
}

/* Messages "0".."n-1" arrived in order on topic, each once. */
static void assert_numbered(struct itest_rec *r, const char *topic, int n)
{
	int next = 0, dups = 0, gaps = 0;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nmsgs; i++) {
		if (strcmp(r->msgs[i].topic, topic) != 0)
			continue;
		char num[16] = {0};
		memcpy(num, r->msgs[i].payload, r->msgs[i].len < 15 ? r->msgs[i].len : 15);
		int v = atoi(num);
		if (v < next)
			dups++;
		else if (v > next)
			gaps++;
		if (v >= next)
			next = v + 1;
	}
	pthread_mutex_unlock(&r->mu);
	CU_ASSERT_EQUAL(next, n);
	CU_ASSERT_EQUAL(gaps, 0);
	CU_ASSERT_EQUAL(dups, 0);
}

static void test_reconnects_after_broker_restart(void)
{
	struct test_broker b;
	ASSERT_RC(test_broker_start(&b, &(struct test_broker_opts){.persistence = true}), FERRY_OK);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = fast_client(&r, test_broker_uri(&b), "rc-restart", false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(itest_subscribe(c, "rc/#", 1), FERRY_OK);
	for (int round = 0; round < 3; round++) {
		ASSERT_RC(test_broker_restart(&b), FERRY_OK);
		CU_ASSERT_TRUE(itest_wait_int(&r, &r.lost, round + 1, ITEST_WAIT_MS));
		CU_ASSERT_TRUE(itest_wait_int(&r, &r.connected, round + 2, ITEST_WAIT_MS));
		CU_ASSERT_TRUE(itest_session_present(&r)); /* the broker kept the session */
	}
	/* The subscription still works after three reconnects. */
	ASSERT_RC(ferry_publish(c, "rc/x", "0", 1, 1, false, NULL, NULL), FERRY_OK);
	CU_ASSERT(itest_wait_topic(&r, "rc/x", ITEST_WAIT_MS) >= 0);
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.reconnects, 3);
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_broker_cleanup(&b);
}

static void test_offline_queue_before_connect_and_while_down(void)
{
	enum { N = 1000 };
	struct test_broker b;
	ASSERT_RC(test_broker_start(&b, &(struct test_broker_opts){.persistence = true}), FERRY_OK);
	struct itest_rec sr, pr;
	itest_rec_init(&sr);
	itest_rec_init(&pr);
	ferry_client *sub = fast_client(&sr, test_broker_uri(&b), "oq-sub", false);
	ASSERT_RC(itest_connect_wait(sub), FERRY_OK);
	ASSERT_RC(itest_subscribe(sub, "oq/n", 1), FERRY_OK);

	/* Half published before the publisher ever connected... */
	ferry_client *pub = fast_client(&pr, test_broker_uri(&b), "oq-pub", true);
	char m[16];
	for (int i = 0; i < N / 2; i++) {
		snprintf(m, sizeof m, "%d", i);
		ASSERT_RC(ferry_publish(pub, "oq/n", m, strlen(m), 1, false, NULL, NULL), FERRY_OK);
	}
	/* ...the broker goes down, the first connect fails but ferry keeps trying... */
	ASSERT_RC(test_broker_stop(&b), FERRY_OK);
	ferry_token t = 0;
	ASSERT_RC(ferry_connect(pub, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(pub, t, ITEST_WAIT_MS), FERRY_ERR_CONNECT);
	/* ...the other half published while it is down. */
	for (int i = N / 2; i < N; i++) {
		snprintf(m, sizeof m, "%d", i);
		ASSERT_RC(ferry_publish(pub, "oq/n", m, strlen(m), 1, false, NULL, NULL), FERRY_OK);
	}
	ASSERT_RC(test_broker_restart(&b), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&pr, &pr.delivered, N, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(pr.delivered_failed, 0);
	CU_ASSERT_TRUE(itest_wait_msgs(&sr, N, ITEST_WAIT_MS));
	assert_numbered(&sr, "oq/n", N);
	ferry_client_destroy(pub);
	ferry_client_destroy(sub);
	itest_rec_free(&sr);
	itest_rec_free(&pr);
	test_broker_cleanup(&b);
}

static int dropped_count;
static pthread_mutex_t dropped_mu = PTHREAD_MUTEX_INITIALIZER;

static void count_dropped(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	(void)user;
	pthread_mutex_lock(&dropped_mu);
	if (res->rc == FERRY_ERR_DROPPED)
		dropped_count++;
	pthread_mutex_unlock(&dropped_mu);
}

static void test_queue_limits_and_policies(void)
{
	struct test_broker b;
	ASSERT_RC(test_broker_start(&b, NULL), FERRY_OK);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	fast_options(&o, &r, test_broker_uri(&b), "limits");
	o.max_queued = 10;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	for (int i = 0; i < 10; i++)
		ASSERT_RC(ferry_publish(c, "lim/a", "x", 1, 1, false, NULL, NULL), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "lim/a", "x", 1, 1, false, NULL, NULL), FERRY_ERR_QUEUE_FULL);
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.refused, 1);
	CU_ASSERT_EQUAL(st.queued, 10);
	ferry_client_destroy(c); /* the 10 queued complete as cancelled */
	CU_ASSERT_EQUAL(r.delivered_failed, 10);
	itest_rec_free(&r);
	itest_rec_init(&r); /* same address: o.user stays valid */

	/* Drop oldest, by count: the 5 oldest of 15 complete as dropped, the
	 * 10 newest arrive in order once connected. */
	struct itest_rec sr;
	itest_rec_init(&sr);
	ferry_client *sub = fast_client(&sr, test_broker_uri(&b), "limits-sub", true);
	ASSERT_RC(itest_connect_wait(sub), FERRY_OK);
	ASSERT_RC(itest_subscribe(sub, "lim/b", 1), FERRY_OK);
	o.queue_policy = FERRY_QUEUE_DROP_OLDEST;
	o.client_id = "limits-drop";
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	dropped_count = 0;
	struct ferry_call call = {.on_done = count_dropped, .user = NULL};
	char m[16];
	for (int i = 0; i < 15; i++) {
		snprintf(m, sizeof m, "%d", i);
		ASSERT_RC(ferry_publish(c, "lim/b", m, strlen(m), 1, false, &call, NULL), FERRY_OK);
	}
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	CU_ASSERT_EQUAL(st.dropped, 5);
	CU_ASSERT_EQUAL(st.queued, 10);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.delivered, 15, ITEST_WAIT_MS)); /* 5 dropped + 10 sent */
	CU_ASSERT_EQUAL(r.delivered_failed, 5);
	pthread_mutex_lock(&dropped_mu);
	CU_ASSERT_EQUAL(dropped_count, 5);
	pthread_mutex_unlock(&dropped_mu);
	CU_ASSERT_TRUE(itest_wait_msgs(&sr, 10, ITEST_WAIT_MS));
	pthread_mutex_lock(&sr.mu);
	for (size_t i = 0; i < sr.nmsgs && i < 10; i++) {
		snprintf(m, sizeof m, "%zu", i + 5);
		CU_ASSERT(sr.msgs[i].len == strlen(m) && memcmp(sr.msgs[i].payload, m, strlen(m)) == 0);
	}
	pthread_mutex_unlock(&sr.mu);
	ferry_client_destroy(c);

	/* By bytes: 3 messages of 40 bytes fit under 100 bytes of topic + payload. */
	o.queue_policy = FERRY_QUEUE_REJECT_NEW;
	o.max_queued = 0;
	o.max_queued_bytes = 100;
	o.client_id = "limits-bytes";
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	char payload[35] = {0};
	ASSERT_RC(ferry_publish(c, "lim/c", payload, 35, 1, false, NULL, NULL), FERRY_OK); /* 40 */
	ASSERT_RC(ferry_publish(c, "lim/c", payload, 35, 1, false, NULL, NULL), FERRY_OK); /* 80 */
	ASSERT_RC(ferry_publish(c, "lim/c", payload, 35, 1, false, NULL, NULL), FERRY_ERR_QUEUE_FULL);
	ASSERT_RC(ferry_publish(c, "lim/c", payload, 15, 1, false, NULL, NULL), FERRY_OK); /* 100 */
	ferry_client_destroy(c);
	ferry_client_destroy(sub);
	itest_rec_free(&sr);
	itest_rec_free(&r);
	test_broker_cleanup(&b);
}

struct where {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int connects;
	char server[128];
};

static void where_connected(ferry_client *c, void *user, const struct ferry_connected_info *info)
{
	(void)c;
	struct where *w = user;
	pthread_mutex_lock(&w->mu);
	w->connects++;
	snprintf(w->server, sizeof w->server, "%s", info->server_uri);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static bool wait_connects(struct where *w, int n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ITEST_WAIT_MS / 1000;
	pthread_mutex_lock(&w->mu);
	while (w->connects < n)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts))
			break;
	bool ok = w->connects >= n;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

static void test_failover_across_server_list(void)
{
	struct test_broker a, b;
	ASSERT_RC(test_broker_start(&a, NULL), FERRY_OK);
	ASSERT_RC(test_broker_start(&b, NULL), FERRY_OK);
	char ua[64], ub[64];
	snprintf(ua, sizeof ua, "%s", test_broker_uri(&a));
	snprintf(ub, sizeof ub, "%s", test_broker_uri(&b));
	ASSERT_RC(test_broker_stop(&a), FERRY_OK); /* the first server is down */
	const char *servers[] = {ua, ub};
	struct where w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, ""};
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	fast_options(&o, &r, NULL, "failover");
	o.server_uris = servers;
	o.server_uri_count = 2;
	o.user = &w;
	o.on_connected = where_connected;
	o.on_message = NULL;
	o.on_connection_lost = NULL;
	o.on_delivery_complete = NULL;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(wait_connects(&w, 1));
	CU_ASSERT_STRING_EQUAL(w.server, ub); /* the second one */
	/* The first comes back, the second dies: ferry fails over to the first. */
	ASSERT_RC(test_broker_restart(&a), FERRY_OK);
	ASSERT_RC(test_broker_stop(&b), FERRY_OK);
	CU_ASSERT_TRUE(wait_connects(&w, 2));
	CU_ASSERT_STRING_EQUAL(w.server, ua);
	CU_ASSERT_TRUE(ferry_is_connected(c));
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_broker_cleanup(&a);
	test_broker_cleanup(&b);
}

static void test_resubscribes_when_session_lost(void)
{
	struct test_broker b; /* no persistence: a restart loses every session */
	ASSERT_RC(test_broker_start(&b, NULL), FERRY_OK);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = fast_client(&r, test_broker_uri(&b), "resub", false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(itest_subscribe(c, "resub/a", 1), FERRY_OK);
	ASSERT_RC(itest_subscribe(c, "resub/b/+", 2), FERRY_OK);
	ASSERT_RC(test_broker_restart(&b), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.connected, 2, ITEST_WAIT_MS));
	CU_ASSERT_FALSE(itest_session_present(&r));
	/* The resubscription was queued ahead of these publishes. */
	ASSERT_RC(ferry_publish(c, "resub/a", "1", 1, 1, false, NULL, NULL), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "resub/b/x", "2", 1, 2, false, NULL, NULL), FERRY_OK);
	CU_ASSERT(itest_wait_topic(&r, "resub/a", ITEST_WAIT_MS) >= 0);
	CU_ASSERT(itest_wait_topic(&r, "resub/b/x", ITEST_WAIT_MS) >= 0);
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_broker_cleanup(&b);
}

struct takeover {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int events;
	int connects;
};

static void to_event(ferry_client *c, void *user, int count)
{
	(void)c;
	(void)count;
	struct takeover *t = user;
	pthread_mutex_lock(&t->mu);
	t->events++;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static void to_connected(ferry_client *c, void *user, const struct ferry_connected_info *info)
{
	(void)c;
	(void)info;
	struct takeover *t = user;
	pthread_mutex_lock(&t->mu);
	t->connects++;
	pthread_mutex_unlock(&t->mu);
}

static void test_client_id_takeover_is_reported_and_calms_down(void)
{
	struct test_broker b;
	ASSERT_RC(test_broker_start(&b, NULL), FERRY_OK);
	struct takeover t[2] = {{PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0},
	                        {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0}};
	ferry_client *c[2];
	struct itest_rec r;
	itest_rec_init(&r);
	for (int i = 0; i < 2; i++) {
		struct ferry_client_options o;
		fast_options(&o, &r, test_broker_uri(&b), "same-id");
		o.reconnect_max_ms = 3000;
		o.reconnect_stable_ms = 2000;
		o.user = &t[i];
		o.on_takeover = to_event;
		o.on_connected = to_connected;
		o.on_message = NULL;
		o.on_connection_lost = NULL;
		o.on_delivery_complete = NULL;
		ASSERT_RC(ferry_client_create(&o, &c[i]), FERRY_OK);
		ferry_token tok;
		ASSERT_RC(ferry_connect(c[i], NULL, &tok), FERRY_OK);
	}
	/* Both notice within a bounded number of attempts... */
	for (int i = 0; i < 2; i++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 30;
		pthread_mutex_lock(&t[i].mu);
		while (t[i].events == 0)
			if (pthread_cond_timedwait(&t[i].cv, &t[i].mu, &ts))
				break;
		printf("\n    client %d: takeover reported after %d connects ", i, t[i].connects);
		CU_ASSERT(t[i].events >= 1);
		CU_ASSERT(t[i].connects <= 12);
		pthread_mutex_unlock(&t[i].mu);
	}
	/* ...and then back off hard: over the next 3 s each connects at most twice. */
	int before[2];
	for (int i = 0; i < 2; i++) {
		pthread_mutex_lock(&t[i].mu);
		before[i] = t[i].connects;
		pthread_mutex_unlock(&t[i].mu);
	}
	struct timespec d = {3, 0};
	nanosleep(&d, NULL); /* a window in which fighting would show */
	for (int i = 0; i < 2; i++) {
		pthread_mutex_lock(&t[i].mu);
		CU_ASSERT(t[i].connects - before[i] <= 2);
		pthread_mutex_unlock(&t[i].mu);
		struct ferry_stats st;
		ASSERT_RC(ferry_client_stats(c[i], &st), FERRY_OK);
		CU_ASSERT(st.takeovers >= 1);
	}
	ferry_client_destroy(c[0]);
	ferry_client_destroy(c[1]);
	itest_rec_free(&r);
	test_broker_cleanup(&b);
}

static void test_refused_policy_stop(void)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 00 05"}, /* not authorized */
		{.op = FAKE_EXPECT_CLOSE},
		{.op = FAKE_END},
	};
	struct test_fake *fb = NULL;
	ASSERT_RC(test_fake_start(&fb, script, NULL), FERRY_OK);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	fast_options(&o, &r, test_fake_uri(fb), "refused");
	o.refused_policy = FERRY_REFUSED_STOP;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(itest_connect_wait(c), FERRY_ERR_CONNECT_REFUSED);
	ASSERT_RC(test_fake_wait(fb, ITEST_WAIT_MS), FERRY_OK);
	/* No second attempt within many reconnect delays (max 400 ms). */
	struct timespec d = {1, 500000000};
	nanosleep(&d, NULL);
	CU_ASSERT_EQUAL(test_fake_connections(fb), 1);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	itest_rec_free(&r);
}

static void test_shutdown_is_bounded_in_every_state(void)
{
	int port = test_broker_free_port();
	char dead[64];
	snprintf(dead, sizeof dead, "tcp://127.0.0.1:%d", port);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	fast_options(&o, &r, dead, "bounded");
	o.reconnect_min_ms = 60000; /* backing off for a minute */
	o.reconnect_max_ms = 60000;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(itest_connect_wait(c), FERRY_ERR_CONNECT);
	/* Now backing off: disconnect stops it at once. */
	uint64_t t0 = now_ms();
	ferry_token t = 0;
	ASSERT_RC(ferry_disconnect(c, 5000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT(now_ms() - t0 < 1000);
	/* Destroy while backing off, too. */
	ASSERT_RC(ferry_connect(c, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_ERR_CONNECT);
	t0 = now_ms();
	ferry_client_destroy(c);
	CU_ASSERT(now_ms() - t0 < 1000);
	itest_rec_free(&r);
}

/* First occurrences of "0".."n-1" on topic: in order, none missing; counts
 * how many arrived more than once (allowed at QoS 1, not at QoS 2). */
static void check_stream(struct itest_rec *r, const char *topic, int n, int *dups, int *missing,
                         int *disorder)
{
	char *seen = calloc((size_t)n, 1);
	int last_first = -1;
	*dups = *missing = *disorder = 0;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nmsgs; i++) {
		if (strcmp(r->msgs[i].topic, topic) != 0)
			continue;
		char num[16] = {0};
		memcpy(num, r->msgs[i].payload, r->msgs[i].len < 15 ? r->msgs[i].len : 15);
		int v = atoi(num);
		if (v < 0 || v >= n)
			continue;
		if (seen[v]) {
			(*dups)++;
			continue;
		}
		seen[v] = 1;
		if (v < last_first)
			(*disorder)++;
		last_first = v;
	}
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < n; i++)
		*missing += !seen[i];
	free(seen);
}

/* The outcome of a QoS 1 + QoS 2 stream at the subscriber. */
struct stream_result {
	int dups1, missing1, disorder1; /* QoS 1 */
	int dups2, missing2, disorder2; /* QoS 2 */
};

/* Waits (bounded, 60 s) until both streams are complete at the subscriber,
 * then asserts: nothing missing, first arrivals in order, QoS 2 never twice. */
static void expect_streams(struct itest_rec *sr, const char *t1, const char *t2, int n,
                           struct stream_result *res)
{
	for (int i = 0; i < 600; i++) {
		check_stream(sr, t1, n, &res->dups1, &res->missing1, &res->disorder1);
		check_stream(sr, t2, n, &res->dups2, &res->missing2, &res->disorder2);
		if (!res->missing1 && !res->missing2)
			break;
		itest_wait_msgs(sr, itest_nmsgs(sr) + 1, 100);
	}
	CU_ASSERT_EQUAL(res->missing1, 0);  /* QoS 1: at least once */
	CU_ASSERT_EQUAL(res->disorder1, 0); /* ...in order */
	CU_ASSERT_EQUAL(res->missing2, 0);  /* QoS 2: exactly once, in order */
	CU_ASSERT_EQUAL(res->dups2, 0);
	CU_ASSERT_EQUAL(res->disorder2, 0);
}

static FILE *trace_file;
static void trace_log(void *user, int level, const char *text)
{
	(void)user;
	(void)level;
	fprintf(trace_file, "%s\n", text);
}

static void test_stream_survives_broker_restarts(void)
{
	enum { N = 10000, RESTARTS = 4 };
	struct test_broker b;
	ASSERT_RC(test_broker_start(&b, &(struct test_broker_opts){.persistence = true}), FERRY_OK);
	struct itest_rec sr, pr;
	itest_rec_init(&sr);
	itest_rec_init(&pr);
	struct ferry_client_options so;
	fast_options(&so, &sr, test_broker_uri(&b), "stream-sub");
	so.clean_session = false;
	/* FERRY_TEST_TRACE=FILE writes the subscriber's packet trace there. */
	FILE *trace = getenv("FERRY_TEST_TRACE") ? fopen(getenv("FERRY_TEST_TRACE"), "w") : NULL;
	if (trace) {
		so.on_log = trace_log;
		so.log_level = FERRY_LOG_DEBUG;
		trace_file = trace;
	}
	ferry_client *sub = NULL;
	ASSERT_RC(ferry_client_create(&so, &sub), FERRY_OK);
	ASSERT_RC(itest_connect_wait(sub), FERRY_OK);
	ASSERT_RC(itest_subscribe(sub, "stream/q1", 1), FERRY_OK);
	ASSERT_RC(itest_subscribe(sub, "stream/q2", 2), FERRY_OK);
	ferry_client *pub = fast_client(&pr, test_broker_uri(&b), "stream-pub", false);
	ASSERT_RC(itest_connect_wait(pub), FERRY_OK);
	char m[16];
	for (int i = 0; i < N; i++) {
		snprintf(m, sizeof m, "%d", i);
		ASSERT_RC(ferry_publish(pub, "stream/q1", m, strlen(m), 1, false, NULL, NULL), FERRY_OK);
		ASSERT_RC(ferry_publish(pub, "stream/q2", m, strlen(m), 2, false, NULL, NULL), FERRY_OK);
	}
	/* Restart the broker (SIGTERM: it saves what it acknowledged) while
	 * the stream flows, at 1/5, 2/5, ... of the publisher's completions. */
	for (int k = 1; k <= RESTARTS; k++) {
		CU_ASSERT_TRUE(itest_wait_int(&pr, &pr.delivered, 2 * N * k / (RESTARTS + 1), 60000));
		ASSERT_RC(test_broker_restart(&b), FERRY_OK);
	}
	CU_ASSERT_TRUE(itest_wait_int(&pr, &pr.delivered, 2 * N, 60000));
	CU_ASSERT_EQUAL(pr.delivered_failed, 0);
	struct stream_result res;
	expect_streams(&sr, "stream/q1", "stream/q2", N, &res);
	printf("\n    %d restarts: QoS 1 %d missing, %d duplicates; QoS 2 %d missing, %d duplicates ",
	       RESTARTS, res.missing1, res.dups1, res.missing2, res.dups2);
	ferry_client_destroy(pub);
	ferry_client_destroy(sub);
	if (trace)
		fclose(trace);
	itest_rec_free(&sr);
	itest_rec_free(&pr);
	test_broker_cleanup(&b);
}

static void test_stream_survives_20_link_cuts(void)
{
	enum { N = 10000, CUTS = 20 };
	struct test_broker b;
	ASSERT_RC(test_broker_start(&b, NULL), FERRY_OK);
	struct test_proxy *px = NULL;
	ASSERT_RC(test_proxy_start(&px, test_broker_port(&b)), FERRY_OK);
	struct itest_rec sr, pr;
	itest_rec_init(&sr);
	itest_rec_init(&pr);
	/* Both clients go through the proxy: every cut hits both directions. */
	ferry_client *sub = fast_client(&sr, test_proxy_uri(px), "cuts-sub", false);
	ASSERT_RC(itest_connect_wait(sub), FERRY_OK);
	ASSERT_RC(itest_subscribe(sub, "cuts/q1", 1), FERRY_OK);
	ASSERT_RC(itest_subscribe(sub, "cuts/q2", 2), FERRY_OK);
	ferry_client *pub = fast_client(&pr, test_proxy_uri(px), "cuts-pub", false);
	ASSERT_RC(itest_connect_wait(pub), FERRY_OK);
	char m[16];
	for (int i = 0; i < N; i++) {
		snprintf(m, sizeof m, "%d", i);
		ASSERT_RC(ferry_publish(pub, "cuts/q1", m, strlen(m), 1, false, NULL, NULL), FERRY_OK);
		ASSERT_RC(ferry_publish(pub, "cuts/q2", m, strlen(m), 2, false, NULL, NULL), FERRY_OK);
	}
	/* 20 cuts at pseudo-random points of the stream (fixed seed: the same
	 * points every run), measured in publisher completions. */
	uint64_t x = 0x2545F4914F6CDD1DULL;
	int points[CUTS];
	for (int k = 0; k < CUTS; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		points[k] = (int)(x % (2 * N - 200));
	}
	for (int k = 1; k < CUTS; k++) /* ascending */
		for (int j = k; j > 0 && points[j - 1] > points[j]; j--) {
			int t = points[j];
			points[j] = points[j - 1];
			points[j - 1] = t;
		}
	for (int k = 0; k < CUTS; k++) {
		CU_ASSERT_TRUE(itest_wait_int(&pr, &pr.delivered, points[k], 60000));
		ASSERT_RC(test_proxy_cut(px), FERRY_OK);
	}
	CU_ASSERT_TRUE(itest_wait_int(&pr, &pr.delivered, 2 * N, 60000));
	CU_ASSERT_EQUAL(pr.delivered_failed, 0);
	struct stream_result res;
	expect_streams(&sr, "cuts/q1", "cuts/q2", N, &res);
	struct test_proxy_stats ps;
	ASSERT_RC(test_proxy_get_stats(px, &ps), FERRY_OK);
	printf("\n    %llu cuts (%llu connections): QoS 1 %d missing, %d duplicates; QoS 2 %d missing, %d duplicates ",
	       (unsigned long long)ps.cuts, (unsigned long long)ps.cut_connections, res.missing1,
	       res.dups1, res.missing2, res.dups2);
	CU_ASSERT_EQUAL(ps.cuts, CUTS);
	ferry_client_destroy(pub);
	ferry_client_destroy(sub);
	itest_rec_free(&sr);
	itest_rec_free(&pr);
	test_proxy_destroy(px);
	test_broker_cleanup(&b);
}

static void test_shutdown_is_bounded_on_a_blackholed_link(void)
{
	struct test_broker b;
	ASSERT_RC(test_broker_start(&b, NULL), FERRY_OK);
	struct test_proxy *px = NULL;
	ASSERT_RC(test_proxy_start(&px, test_broker_port(&b)), FERRY_OK);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = fast_client(&r, test_proxy_uri(px), "bh-disc", true);
	ferry_client *d = fast_client(&r, test_proxy_uri(px), "bh-destroy", true);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(itest_connect_wait(d), FERRY_OK);
	ASSERT_RC(test_proxy_set(px, TEST_PROXY_BLACKHOLE), FERRY_OK);
	/* QoS 1 messages in flight that will never be acknowledged. */
	for (int i = 0; i < 50; i++) {
		ASSERT_RC(ferry_publish(c, "bh/x", "m", 1, 1, false, NULL, NULL), FERRY_OK);
		ASSERT_RC(ferry_publish(d, "bh/x", "m", 1, 1, false, NULL, NULL), FERRY_OK);
	}
	uint64_t t0 = now_ms();
	ferry_token t = 0;
	ASSERT_RC(ferry_disconnect(c, 500, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	uint64_t disc_ms = now_ms() - t0;
	t0 = now_ms();
	ferry_client_destroy(d);
	uint64_t destroy_ms = now_ms() - t0;
	printf("\n    blackholed: disconnect(500 ms) took %llu ms, destroy %llu ms ",
	       (unsigned long long)disc_ms, (unsigned long long)destroy_ms);
	CU_ASSERT(disc_ms < 500 + 1000 + 500); /* drain timeout + DISCONNECT give-up + slack */
	CU_ASSERT(destroy_ms < 1000);
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_proxy_destroy(px);
	test_broker_cleanup(&b);
}

void register_reconnect_suite(void)
{
	CU_pSuite s = test_suite("reconnect");
	test_add(s, "reconnects after broker restarts", test_reconnects_after_broker_restart);
	test_add(s, "10,000 QoS 1 + 10,000 QoS 2 survive broker restarts",
	         test_stream_survives_broker_restarts);
	test_add(s, "10,000 QoS 1 + 10,000 QoS 2 survive 20 link cuts",
	         test_stream_survives_20_link_cuts);
	test_add(s, "offline queue: before the first connect and while the broker is down",
	         test_offline_queue_before_connect_and_while_down);
	test_add(s, "queue limits and policies", test_queue_limits_and_policies);
	test_add(s, "failover across the server list", test_failover_across_server_list);
	test_add(s, "resubscribes when the session was lost", test_resubscribes_when_session_lost);
	test_add(s, "client-id takeover is reported and calms down",
	         test_client_id_takeover_is_reported_and_calms_down);
	test_add(s, "refused policy: stop", test_refused_policy_stop);
	test_add(s, "shutdown is bounded in every state", test_shutdown_is_bounded_in_every_state);
	test_add(s, "shutdown is bounded on a blackholed link",
	         test_shutdown_is_bounded_on_a_blackholed_link);
}

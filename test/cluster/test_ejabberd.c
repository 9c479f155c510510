/*
 * test_ejabberd.c - the "ejabberd" suite: ferry (MQTT 5) against a
 * two-node ejabberd 23.01 cluster (mod_mqtt). ejabberd keeps an MQTT
 * session in the memory of the node that holds the connection: when that
 * node dies, its sessions die with it, and a client that fails over to the
 * other node gets CONNACK with session present 0. What ferry promises then
 * (doc/clustering.md): it subscribes again by itself and publishes again
 * every QoS 1 message the dead node had not acknowledged - nothing the
 * application published is lost.
 *
 * The failover test: three clients on topic T.
 *  - S1 subscribes (QoS 1) on node B only and stays there. It must receive
 *    every number of 1..N that A had not acknowledged to the publisher:
 *    those were in flight or queued when A died, and reach B only if ferry
 *    published them again: "nothing lost". A number A acknowledged was A's
 *    from then on; ejabberd sends PUBACK before its message to the other
 *    node is out, so A may take the last few with it: those are counted
 *    and printed, not failed (the cluster's loss, not ferry's).
 *  - S2 (clean start 0, session expiry) subscribes (QoS 1) on A, with
 *    server_uris {A, B}. After A is killed it reconnects to B with session
 *    present 0 and ferry subscribes again. Messages B handled before that
 *    subscription are legitimately not S2's (no session); from the first
 *    message S2 gets through B (number f) on, it must get every number
 *    f..N: the publisher's stream through B is in increasing order (its
 *    unacknowledged messages first, in order, then the rest), so each of
 *    them passed B after f did, when the subscription was in place. The
 *    time from the kill to that first message is the failover time printed.
 *  - P (clean start 0, session expiry, server_uris {A, B}) publishes the
 *    numbers 1, 2, ... at QoS 1 with at most PUB_WINDOW unacknowledged (a
 *    window, not a pause), so some are in flight and some queued when A is
 *    SIGKILLed after both subscribers have seen WARM_MSGS; it publishes
 *    AFTER_MSGS more once S2 got its first message through B, then stops.
 * Duplicates are allowed (QoS 1): the sets of numbers are checked. Before
 * numbers are published, probes make sure every subscription is known on
 * the publisher's node too (ejabberd replicates it after the SUBACK).
 *
 * Each client records what its callbacks saw in a struct crec (crec.h).
 * Node A is killed once and never restarted: the cross-node test runs
 * before the failover test. ferry's warnings go to stderr; FERRY_TEST_LOG=1:
 * every client's DEBUG log (every packet) too.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "cluster/crec.h"
#include "cluster/ejabberd.h"
#include "cluster/suites.h"
#include "ferry/ferry.h"
#include "support/clock.h"
#include "unit/util.h"

#define MAX_NUM    20000 /* numbers the publisher may use */
#define PUB_WINDOW 100   /* publisher: unacknowledged messages at most */
#define WARM_MSGS  300   /* both subscribers have these before the kill */
#define AFTER_MSGS 300   /* published after S2's first message through B */
#define CROSS_MSGS 50    /* messages of the cross-node test */
#define WAIT_MS    60000 /* bound of every wait */

static struct ejd_cluster cl;
static char topic[64];

/* --- one client and its publisher thread ------------------------------------------ */

/* A client (its recorder) and, for a publisher, its thread's state. */
struct peer {
	struct crec r; /* first: the predicates below get &r */
	/* guarded by r.base.mu */
	int published; /* numbers 1..published accepted by ferry_publish */
	int limit;     /* the publisher stops after this number */
	bool pub_done; /* publishing is over ... */
	int pub_rc;    /* ... and why: FERRY_OK, or what failed */
};

static void peer_init(struct peer *p, const char *name)
{
	memset(p, 0, sizeof *p);
	CU_ASSERT_FATAL(crec_init(&p->r, name, MAX_NUM) == FERRY_OK);
	p->r.expect_qos = 1; /* every message of these tests is QoS 1 */
	p->limit = MAX_NUM;
}

/* The publisher may go on with number *n (or must stop). */
static bool pred_window(const struct crec *r, const void *n)
{
	const struct peer *p = (const struct peer *)r;
	return *(const int *)n > p->limit || p->published - (r->completed + r->failed) < PUB_WINDOW;
}

/* Publishing is over and every publish completed. */
static bool pred_pub_finished(const struct crec *r, const void *unused)
{
	const struct peer *p = (const struct peer *)r;
	(void)unused;
	return p->pub_done && r->completed + r->failed >= p->published;
}

/*
 * Creates p's client for the servers given (MQTT 5, clean start 0, session
 * expiry 300 s, quick reconnects) and connects it; waits for on_connected.
 */
static int peer_connect(struct peer *p, const char *const *uris, size_t nuris)
{
	char id[64];
	snprintf(id, sizeof id, "ferry-ejd-%s-%ld", p->r.name, (long)getpid());
	struct ferry_properties props = FERRY_PROPERTIES_INIT;
	props.flags = FERRY_PF_SESSION_EXPIRY;
	props.session_expiry = 300;
	struct ferry_client_options o;
	crec_options(&o, &p->r, uris, nuris, id);
	o.mqtt_version = FERRY_MQTT_5;
	o.clean_session = false;
	o.connect_props = &props;
	o.username = cl.user;
	o.password = cl.password;
	o.password_len = strlen(cl.password);
	o.keepalive_s = 10;
	o.connect_timeout_ms = 5000;
	o.reconnect_max_ms = 2000;
	int rc = crec_client_create(&p->r, &o);
	return rc ? rc : crec_connect(&p->r, WAIT_MS);
}

/* The publisher thread: 1, 2, ... up to p->limit, PUB_WINDOW unacknowledged at most. */
static void *publisher_main(void *arg)
{
	struct peer *p = arg;
	int rc = FERRY_OK;
	for (int n = 1;; n++) {
		pthread_mutex_lock(&p->r.base.mu);
		/* a window, not a pause */
		bool ok = crec_wait_locked(&p->r, pred_window, &n, WAIT_MS);
		bool stop = n > p->limit;
		pthread_mutex_unlock(&p->r.base.mu);
		if (!ok || stop) {
			rc = ok ? FERRY_OK : FERRY_ERR_TIMEOUT;
			break;
		}
		rc = crec_publish_number(&p->r, topic, n, 1);
		if (rc)
			break;
		pthread_mutex_lock(&p->r.base.mu);
		p->published = n;
		pthread_cond_broadcast(&p->r.base.cv);
		pthread_mutex_unlock(&p->r.base.mu);
	}
	pthread_mutex_lock(&p->r.base.mu);
	p->pub_done = true;
	p->pub_rc = rc;
	pthread_cond_broadcast(&p->r.base.cv);
	pthread_mutex_unlock(&p->r.base.mu);
	return NULL;
}

/* Copies what the callbacks recorded, under the lock, for asserts on its
 * plain fields (the copy's mutex and arrays are not to be used). */
static struct peer peer_snapshot(struct peer *p)
{
	pthread_mutex_lock(&p->r.base.mu);
	struct peer s = *p;
	pthread_mutex_unlock(&p->r.base.mu);
	return s;
}

/*
 * Makes sure the subscriptions are in place on the publisher's node too:
 * ejabberd replicates a subscription to the other node after the SUBACK
 * (a Mnesia transaction does not wait for the remote commit), so a message
 * published on A just after a SUBACK from B may find no subscriber. Probes
 * (payload "probe") are published until every subscriber got one.
 */
static bool sync_routes(struct peer *pub, struct peer *const *subs, size_t nsubs)
{
	for (size_t i = 0; i < nsubs; i++)
		crec_want(&subs[i]->r, "probe");
	for (int attempt = 0; attempt < 100; attempt++) {
		int rc = ferry_publish(pub->r.c, topic, "probe", 5, 1, false, NULL, NULL);
		if (rc) {
			ASSERT_RC(rc, FERRY_OK);
			return false;
		}
		size_t got = 0;
		for (size_t i = 0; i < nsubs; i++)
			got += crec_wait_int(&subs[i]->r, &subs[i]->r.want_seen, 1, 500);
		if (got == nsubs)
			return true;
	}
	CU_FAIL("no probe reached every subscriber");
	return false;
}

/* --- tests ------------------------------------------------------------------------------ */

/* The cluster routes between its nodes: published on A, received on B. */
static void test_cross_node(void)
{
	struct peer sub, pub;
	peer_init(&sub, "cross-sub");
	peer_init(&pub, "cross-pub");
	snprintf(topic, sizeof topic, "ferry/ejd/%ld/cross", (long)getpid());
	int rc = peer_connect(&sub, &cl.uris[1], 1);
	ASSERT_RC(rc, FERRY_OK);
	if (!rc) {
		rc = peer_connect(&pub, &cl.uris[0], 1);
		ASSERT_RC(rc, FERRY_OK);
	}
	if (!rc) {
		rc = crec_subscribe(&sub.r, topic, 1, WAIT_MS);
		ASSERT_RC(rc, FERRY_OK);
	}
	struct peer *subs[] = {&sub};
	if (rc || !sync_routes(&pub, subs, 1))
		goto out;
	struct peer s = peer_snapshot(&sub);
	CU_ASSERT_EQUAL(s.r.granted0, 1);
	CU_ASSERT_STRING_EQUAL(s.r.conn[0].uri, cl.uris[1]);
	CU_ASSERT_FALSE(s.r.conn[0].session_present); /* a new client id: no session yet */
	CU_ASSERT_FALSE(s.r.conn[0].reconnect);
	for (int n = 1; n <= CROSS_MSGS; n++)
		ASSERT_RC(crec_publish_number(&pub.r, topic, n, 1), FERRY_OK);
	pthread_mutex_lock(&pub.r.base.mu);
	pub.published = CROSS_MSGS;
	pub.pub_done = true;
	pthread_mutex_unlock(&pub.r.base.mu);
	CU_ASSERT_TRUE(crec_wait(&pub.r, pred_pub_finished, NULL, WAIT_MS));
	/* every PUBACK, none failed */
	CU_ASSERT_EQUAL(peer_snapshot(&pub).r.completed, CROSS_MSGS);
	CU_ASSERT_TRUE(crec_wait_all(&sub.r, 1, CROSS_MSGS, NULL, &pub.r, WAIT_MS));
	s = peer_snapshot(&sub);
	CU_ASSERT_EQUAL(s.r.unexpected, 0);
	CU_ASSERT_EQUAL(s.r.base.lost, 0);
out:
	crec_free(&sub.r);
	crec_free(&pub.r);
}

/* S1 on B, S2 and P on A, both subscribers at QoS 1; false on a failed assert. */
static bool failover_setup(struct peer *s1, struct peer *s2, struct peer *pub)
{
	int rc = peer_connect(s1, &cl.uris[1], 1);
	ASSERT_RC(rc, FERRY_OK);
	if (!rc) {
		rc = crec_subscribe(&s1->r, topic, 1, WAIT_MS);
		ASSERT_RC(rc, FERRY_OK);
	}
	if (!rc) {
		rc = peer_connect(s2, cl.uris, EJD_NODES);
		ASSERT_RC(rc, FERRY_OK);
	}
	if (!rc) {
		rc = crec_subscribe(&s2->r, topic, 1, WAIT_MS);
		ASSERT_RC(rc, FERRY_OK);
	}
	if (!rc) {
		rc = peer_connect(pub, cl.uris, EJD_NODES);
		ASSERT_RC(rc, FERRY_OK);
	}
	struct peer *subs[] = {s1, s2};
	if (rc || !sync_routes(pub, subs, 2))
		return false;
	struct peer a = peer_snapshot(s1), b = peer_snapshot(s2), c = peer_snapshot(pub);
	CU_ASSERT_EQUAL(a.r.granted0, 1);
	CU_ASSERT_EQUAL(b.r.granted0, 1);
	CU_ASSERT_STRING_EQUAL(a.r.conn[0].uri, cl.uris[1]);
	CU_ASSERT_STRING_EQUAL(b.r.conn[0].uri, cl.uris[0]); /* the first of the list, alive */
	CU_ASSERT_STRING_EQUAL(c.r.conn[0].uri, cl.uris[0]);
	CU_ASSERT_FALSE(b.r.conn[0].session_present);
	return a.r.granted0 == 1 && b.r.granted0 == 1 && strcmp(b.r.conn[0].uri, cl.uris[0]) == 0 &&
	       strcmp(c.r.conn[0].uri, cl.uris[0]) == 0;
}

/* Stops the publisher thread wherever it is and joins it. */
static void publisher_stop(struct peer *pub, pthread_t th)
{
	pthread_mutex_lock(&pub->r.base.mu);
	pub->limit = 0;
	pthread_cond_broadcast(&pub->r.base.cv);
	pthread_mutex_unlock(&pub->r.base.mu);
	pthread_join(th, NULL);
}

/* What the failover test measured, for its report line. */
struct failover_stats {
	int64_t t_kill; /* when node A got SIGKILL */
	int published_at_kill;
	uint64_t inflight, queued; /* the publisher's, just before the kill */
	int unacked_by_a;          /* of 1..published_at_kill: not acknowledged by A */
	int lost_by_a;             /* acknowledged by A, never reached S1 */
};

/*
 * S1 must have every number the publisher did not have acknowledged by A
 * (on its first connection): those went again through B (ferry's promise).
 * A number A acknowledged belonged to A from then on: if A died before
 * passing it to B (ejabberd acknowledges before its inter-node message is
 * out), that loss is the cluster's, counted in st->lost_by_a and reported,
 * not failed.
 */
static void check_nothing_lost(struct peer *s1, struct peer *pub, int n, struct failover_stats *st)
{
	static uint8_t acked_by_a[MAX_NUM + 1]; /* acked_by_a[k]: k's PUBACK came from A */
	pthread_mutex_lock(&pub->r.base.mu);
	for (int k = 0; k <= MAX_NUM; k++)
		acked_by_a[k] = pub->r.ack_conn[k] == 1;
	pthread_mutex_unlock(&pub->r.base.mu);
	CU_ASSERT_TRUE(crec_wait_all(&s1->r, 1, n, acked_by_a, &pub->r, WAIT_MS));
	st->lost_by_a = crec_count_missing(&s1->r, 1, n, NULL);
	st->unacked_by_a = 0;
	for (int k = 1; k <= st->published_at_kill; k++)
		st->unacked_by_a += !acked_by_a[k];
	CU_ASSERT(st->inflight > 0); /* A died with messages in flight */
	if (st->lost_by_a > 0) {
		fprintf(stderr,
		        "ejabberd: node A acknowledged %d message(s) it never passed to "
		        "node B (the cluster's loss, not ferry's):\n",
		        st->lost_by_a);
		crec_report_missing(&s1->r, 1, n, &pub->r);
	}
}

/* Once the publisher is done: the checks of "nothing lost" and "resubscribed". */
static void failover_check(struct peer *s1, struct peer *s2, struct peer *pub,
                           struct failover_stats *st)
{
	struct peer p = peer_snapshot(pub), b = peer_snapshot(s2);
	int n = p.published;
	ASSERT_RC(p.pub_rc, FERRY_OK);
	CU_ASSERT_EQUAL(p.r.failed, 0); /* every publish completed with FERRY_OK */
	CU_ASSERT_EQUAL(p.r.completed, n);
	CU_ASSERT(n >= b.r.first_after + AFTER_MSGS);
	check_nothing_lost(s1, pub, n, st);
	/* subscribed again on B */
	CU_ASSERT_TRUE(crec_wait_all(&s2->r, b.r.first_after, n, NULL, &pub->r, WAIT_MS));
	struct peer a = peer_snapshot(s1);
	b = peer_snapshot(s2);
	p = peer_snapshot(pub);
	CU_ASSERT_EQUAL(a.r.base.connected, 1); /* S1 stayed on B throughout */
	CU_ASSERT_EQUAL(a.r.base.lost, 0);
	CU_ASSERT_EQUAL(a.r.unexpected, 0);
	CU_ASSERT_EQUAL(b.r.unexpected, 0);
	CU_ASSERT_EQUAL(b.r.base.connected, 2); /* one failover each, no further reconnect */
	CU_ASSERT_EQUAL(p.r.base.connected, 2);
	fprintf(stderr,
	        "cluster: ejabberd failover (session lost): %ld ms from SIGKILL of node A to the "
	        "first message through node B to the subscriber that failed over (publisher's "
	        "first PUBACK from B: %ld ms); %d messages; at the kill %llu in flight and %llu "
	        "queued, %d not acknowledged by A; %d lost by A after acknowledging them\n",
	        (long)(b.r.first_after_ms - st->t_kill),
	        (long)(p.r.first_ack_after_ms - st->t_kill), n, (unsigned long long)st->inflight,
	        (unsigned long long)st->queued, st->unacked_by_a, st->lost_by_a);
}

/* Waits for both subscribers to have WARM_MSGS, kills A, waits for the failover. */
static bool failover_run(struct peer *s1, struct peer *s2, struct peer *pub,
                         struct failover_stats *st)
{
	bool ok = crec_wait_int(&s1->r, &s1->r.numbered, WARM_MSGS, WAIT_MS) &&
	          crec_wait_int(&s2->r, &s2->r.numbered, WARM_MSGS, WAIT_MS);
	CU_ASSERT_TRUE(ok);
	if (!ok)
		return false;
	st->published_at_kill = crec_get_int(&pub->r, &pub->published); /* may go on by one */
	struct ferry_stats fs;
	ASSERT_RC(ferry_client_stats(pub->r.c, &fs), FERRY_OK);
	st->inflight = fs.inflight;
	st->queued = fs.queued;
	st->t_kill = test_now_ms();
	ASSERT_RC(ejd_node_kill(&cl, 0), FERRY_OK);
	/* both back through B, B never had the sessions A held */
	bool s2_ok = crec_expect_failover(&s2->r, cl.uris[0], cl.uris[1], 0, WAIT_MS);
	bool pub_ok = crec_expect_failover(&pub->r, cl.uris[0], cl.uris[1], 0, WAIT_MS);
	if (!s2_ok || !pub_ok)
		return false;
	ok = crec_wait_int(&s2->r, &s2->r.first_after, 1, WAIT_MS);
	CU_ASSERT_TRUE(ok);
	if (!ok) {
		fprintf(stderr, "s2: no message through node B after its reconnect\n");
		return false;
	}
	pthread_mutex_lock(&pub->r.base.mu);
	int limit = pub->published + AFTER_MSGS;
	pub->limit = limit < MAX_NUM ? limit : MAX_NUM;
	pthread_cond_broadcast(&pub->r.base.cv);
	pthread_mutex_unlock(&pub->r.base.mu);
	ok = crec_wait(&pub->r, pred_pub_finished, NULL, WAIT_MS);
	CU_ASSERT_TRUE(ok);
	return ok;
}

/* Node A dies under load; every client fails over to B, which lost their sessions. */
static void test_failover_session_lost(void)
{
	struct peer s1, s2, pub;
	peer_init(&s1, "s1");
	peer_init(&s2, "s2");
	peer_init(&pub, "pub");
	snprintf(topic, sizeof topic, "ferry/ejd/%ld/seq", (long)getpid());
	pthread_t th;
	struct failover_stats st = {0};
	bool started = false, ok = failover_setup(&s1, &s2, &pub);
	if (ok) {
		started = pthread_create(&th, NULL, publisher_main, &pub) == 0;
		CU_ASSERT_TRUE(started);
	}
	ok = started && failover_run(&s1, &s2, &pub, &st);
	if (started)
		publisher_stop(&pub, th);
	if (ok)
		failover_check(&s1, &s2, &pub, &st);
	if (!ok || CU_get_number_of_failures() > 0)
		ejd_dump_logs(&cl, stderr);
	crec_free(&s1.r);
	crec_free(&s2.r);
	crec_free(&pub.r);
}

/* --- the suite ---------------------------------------------------------------------------- */

static int suite_init(void)
{
	int64_t t = test_now_ms();
	int rc = ejd_cluster_start(&cl);
	if (rc) {
		ejd_cluster_stop(&cl);
		return 1;
	}
	fprintf(stderr, "ejabberd: cluster of %s (%s) and %s (%s) up in %ld ms\n", cl.node[0].name,
	        cl.uris[0], cl.node[1].name, cl.uris[1], (long)(test_now_ms() - t));
	return 0;
}

static int suite_cleanup(void)
{
	ejd_cluster_stop(&cl);
	return 0;
}

void register_ejabberd_suite(void)
{
	CU_pSuite s = CU_add_suite("ejabberd", suite_init, suite_cleanup);
	if (!s) {
		fprintf(stderr, "CU_add_suite(ejabberd): %s\n", CU_get_error_msg());
		abort();
	}
	/* in this order: the failover test kills node A for good */
	test_add(s, "published on one node, received on the other", test_cross_node);
	test_add(s, "failover with the session lost: resubscribed, nothing lost",
	         test_failover_session_lost);
}

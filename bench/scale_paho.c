/*
 * scale_paho.c - N Eclipse Paho C MQTTAsync clients in one process (the peer
 * of scale_ferry.c; same CLI, same output line, see there and bench/scale.sh):
 * connect all, subscribe each to its own topic at QoS 1, keep them alive for
 * --hold seconds, check they are all still connected. Paho runs one send
 * thread and one receive thread for every client of the process.
 *
 *   scale_paho --host H --port P --clients N --keepalive S --hold S [--timeout S]
 *
 *   SCALE lib=paho clients=N connected=C subscribed=S threads=T rss_kb=R
 *         rss_kb_per_client=X connect_all_s=Y still_connected=Z
 *
 * RSS before is taken before the first MQTTAsync call. connect_all_s: first
 * MQTTAsync_connect call to the last connect onSuccess (CONNACK).
 * still_connected: MQTTAsync_isConnected and no connectionLost callback
 * (automaticReconnect is off). Bounded waits (--timeout, default 120 s) and
 * an alarm() as the last resort. Exit 0 all fine, 1 otherwise, 2 usage.
 * Link with -lpaho-mqtt3a.
 */
#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scale_common.h"

#include <MQTTAsync.h>

#define LIB_NAME "paho"

/* Counters shared with Paho's threads; guarded by mu. */
struct state {
	pthread_mutex_t mu;
	long connected, connect_failed;
	long subscribed, subscribe_failed;
	long lost, disconnected;
	double t_last_connack;
};

/* One client and what its callbacks need. */
struct slot {
	struct state *st;
	MQTTAsync c;
	bool lost;
};

/* ---- callbacks (Paho's threads) ------------------------------------------- */

static void bump(struct slot *s, long *counter, bool stamp)
{
	pthread_mutex_lock(&s->st->mu);
	(*counter)++;
	if (stamp)
		s->st->t_last_connack = now_s();
	pthread_mutex_unlock(&s->st->mu);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *r)
{
	struct slot *s = ctx;
	(void)r;
	bump(s, &s->st->connected, true);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *r)
{
	struct slot *s = ctx;
	fprintf(stderr, "# connect failed: %d %s\n", r ? r->code : 0,
	        r && r->message ? r->message : "");
	bump(s, &s->st->connect_failed, false);
}

static void on_subscribe_ok(void *ctx, MQTTAsync_successData *r)
{
	struct slot *s = ctx;
	if (r && r->alt.qos >= 0 && r->alt.qos <= 2)
		bump(s, &s->st->subscribed, false);
	else
		bump(s, &s->st->subscribe_failed, false);
}

static void on_subscribe_fail(void *ctx, MQTTAsync_failureData *r)
{
	struct slot *s = ctx;
	(void)r;
	bump(s, &s->st->subscribe_failed, false);
}

static void on_disconnect_ok(void *ctx, MQTTAsync_successData *r)
{
	struct slot *s = ctx;
	(void)r;
	bump(s, &s->st->disconnected, false);
}

static void on_disconnect_fail(void *ctx, MQTTAsync_failureData *r)
{
	struct slot *s = ctx;
	(void)r;
	bump(s, &s->st->disconnected, false);
}

static void on_lost(void *ctx, char *cause)
{
	struct slot *s = ctx;
	pthread_mutex_lock(&s->st->mu);
	if (!s->lost)
		s->st->lost++;
	s->lost = true;
	pthread_mutex_unlock(&s->st->mu);
	fprintf(stderr, "# connection lost: %s\n", cause ? cause : "");
}

static int on_msg(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
	(void)ctx;
	(void)topic_len;
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

/* ---- phases ---------------------------------------------------------------- */

/* Waits until *a + *b reaches n or the deadline passes; returns *a. */
static long wait_count(struct state *st, const long *a, const long *b, long n, double deadline)
{
	long done, got;

	for (;;) {
		pthread_mutex_lock(&st->mu);
		done = *a + *b;
		got = *a;
		pthread_mutex_unlock(&st->mu);
		if (done >= n || now_s() > deadline)
			return got;
		nap();
	}
}

static int create_clients(const struct opts *o, struct slot *slots)
{
	char uri[300], id[64];
	int i, rc;

	snprintf(uri, sizeof uri, "tcp://%s:%d", o->host, o->port);
	for (i = 0; i < o->clients; i++) {
		snprintf(id, sizeof id, "scale-paho-%ld-%d", (long)getpid(), i);
		rc = MQTTAsync_create(&slots[i].c, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL);
		if (rc == MQTTASYNC_SUCCESS)
			rc = MQTTAsync_setCallbacks(slots[i].c, &slots[i], on_lost, on_msg, NULL);
		if (rc != MQTTASYNC_SUCCESS) {
			fprintf(stderr, "MQTTAsync_create #%d: %d\n", i, rc);
			return 1;
		}
	}
	return 0;
}

static int connect_all(const struct opts *o, struct slot *slots)
{
	int i, rc;

	for (i = 0; i < o->clients; i++) {
		MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
		co.keepAliveInterval = o->keepalive_s;
		co.cleansession = 1;
		co.connectTimeout = o->timeout_s;
		co.MQTTVersion = MQTTVERSION_3_1_1;
		co.automaticReconnect = 0; /* a lost connection must stay visible */
		co.onSuccess = on_connect_ok;
		co.onFailure = on_connect_fail;
		co.context = &slots[i];
		rc = MQTTAsync_connect(slots[i].c, &co);
		if (rc != MQTTASYNC_SUCCESS) {
			fprintf(stderr, "MQTTAsync_connect #%d: %d\n", i, rc);
			return 1;
		}
	}
	return 0;
}

static int subscribe_all(const struct opts *o, struct slot *slots)
{
	char topic[96];
	int i, rc;

	for (i = 0; i < o->clients; i++) {
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		ro.onSuccess = on_subscribe_ok;
		ro.onFailure = on_subscribe_fail;
		ro.context = &slots[i];
		snprintf(topic, sizeof topic, "scale/paho/%ld/%d", (long)getpid(), i);
		rc = MQTTAsync_subscribe(slots[i].c, topic, 1, &ro);
		if (rc != MQTTASYNC_SUCCESS) {
			fprintf(stderr, "MQTTAsync_subscribe #%d: %d\n", i, rc);
			return 1;
		}
	}
	return 0;
}

/* Sleeps hold_s seconds, then counts clients connected that never lost it. */
static long hold(const struct opts *o, struct slot *slots)
{
	double end = now_s() + o->hold_s;
	long alive = 0;
	int i;

	while (now_s() < end)
		nap();
	for (i = 0; i < o->clients; i++) {
		pthread_mutex_lock(&slots[i].st->mu);
		bool lost = slots[i].lost;
		pthread_mutex_unlock(&slots[i].st->mu);
		if (!lost && MQTTAsync_isConnected(slots[i].c))
			alive++;
	}
	return alive;
}

static void teardown(const struct opts *o, struct state *st, struct slot *slots)
{
	long issued = 0;
	int i;

	for (i = 0; i < o->clients; i++) {
		MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
		d.timeout = 0;
		d.onSuccess = on_disconnect_ok;
		d.onFailure = on_disconnect_fail;
		d.context = &slots[i];
		if (slots[i].c && MQTTAsync_isConnected(slots[i].c) &&
		    MQTTAsync_disconnect(slots[i].c, &d) == MQTTASYNC_SUCCESS)
			issued++;
	}
	wait_count(st, &st->disconnected, &st->disconnected, issued, now_s() + o->timeout_s);
	for (i = 0; i < o->clients; i++)
		if (slots[i].c)
			MQTTAsync_destroy(&slots[i].c);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct state st = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct slot *slots;
	double t0, connect_s = -1;
	long rss0, rss1, conn, subs, alive = 0;
	int i, threads = -1, rc;

	parse_opts(argc, argv, &o, false);
	alarm((unsigned)(3 * o.timeout_s + o.hold_s + 60)); /* the last resort bound */
	slots = calloc((size_t)o.clients, sizeof *slots);
	if (!slots)
		return 1;
	for (i = 0; i < o.clients; i++)
		slots[i].st = &st;
	rss0 = rss_kb();
	rc = create_clients(&o, slots);
	t0 = now_s();
	if (!rc)
		rc = connect_all(&o, slots);
	conn = wait_count(&st, &st.connected, &st.connect_failed, rc ? 0 : o.clients,
	                  t0 + o.timeout_s);
	if (conn == o.clients)
		connect_s = st.t_last_connack - t0;
	if (!rc && conn == o.clients)
		rc = subscribe_all(&o, slots);
	subs = wait_count(&st, &st.subscribed, &st.subscribe_failed,
	                  rc || conn < o.clients ? 0 : o.clients, now_s() + o.timeout_s);
	if (!rc && conn == o.clients && subs == o.clients) {
		alive = hold(&o, slots);
	}
	threads = thread_count(); /* also after a failure: what is left */
	rss1 = rss_kb();
	printf("# lost=%ld connect_failed=%ld subscribe_failed=%ld\n", st.lost, st.connect_failed,
	       st.subscribe_failed);
	printf("SCALE lib=%s clients=%d connected=%ld subscribed=%ld threads=%d rss_kb=%ld "
	       "rss_kb_per_client=%.1f connect_all_s=%.3f still_connected=%ld\n",
	       LIB_NAME, o.clients, conn, subs, threads, rss1, (double)(rss1 - rss0) / o.clients,
	       connect_s, alive);
	fflush(stdout);
	teardown(&o, &st, slots);
	free(slots);
	return alive == o.clients ? 0 : 1;
}

/*
 * scale_ferry.c - N ferry clients in one process, all on ONE shared context
 * (one send thread and one receive thread for all of them): connect all,
 * subscribe each to its own topic at QoS 1, keep them alive for a while,
 * check they are all still connected. bench/scale.sh runs it beside
 * scale_paho and scale_mosquitto (same CLI, same output line).
 *
 *   scale_ferry --host H --port P --clients N --keepalive S --hold S [--timeout S]
 *
 * Prints exactly one line on stdout (other stdout lines start with '#'):
 *
 *   SCALE lib=ferry clients=N connected=C subscribed=S threads=T rss_kb=R
 *         rss_kb_per_client=X connect_all_s=Y still_connected=Z
 *
 *  - threads: entries of /proc/self/task at the end of the hold (or when
 *    giving up);
 *  - rss_kb: VmRSS of /proc/self/status at the end of the hold;
 *  - rss_kb_per_client: (that RSS - VmRSS before the context and the clients
 *    were created) / N;
 *  - connect_all_s: first ferry_connect call to the last CONNACK;
 *  - still_connected: clients connected at the end of the hold that never
 *    lost their connection (auto_reconnect is off, so a loss stays visible).
 *
 * Every wait is bounded by --timeout (default 120 s) and an alarm() kills the
 * process if teardown hangs. Exit status: 0 every client connected,
 * subscribed and still connected; 1 otherwise; 2 bad usage.
 * Public API (ferry/ferry.h) only.
 */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scale_common.h"

#include "ferry/ferry.h"

#define LIB_NAME "ferry"

/* Counters shared with ferry's receive thread; guarded by mu. */
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
	ferry_client *c;
	bool lost;
};

/* ---- callbacks (ferry's receive thread) ------------------------------------ */

static void on_connect_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct slot *s = user;
	(void)c;
	pthread_mutex_lock(&s->st->mu);
	if (r->rc == FERRY_OK) {
		s->st->connected++;
		s->st->t_last_connack = now_s();
	} else {
		s->st->connect_failed++;
	}
	pthread_mutex_unlock(&s->st->mu);
}

static void on_subscribe_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct slot *s = user;
	bool ok = r->rc == FERRY_OK && r->granted_count == 1 && r->granted[0] <= 2;
	(void)c;
	pthread_mutex_lock(&s->st->mu);
	if (ok)
		s->st->subscribed++;
	else
		s->st->subscribe_failed++;
	pthread_mutex_unlock(&s->st->mu);
}

static void on_disconnect_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct slot *s = user;
	(void)c;
	(void)r;
	pthread_mutex_lock(&s->st->mu);
	s->st->disconnected++;
	pthread_mutex_unlock(&s->st->mu);
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	struct slot *s = user;
	(void)c;
	pthread_mutex_lock(&s->st->mu);
	if (!s->lost)
		s->st->lost++;
	s->lost = true;
	pthread_mutex_unlock(&s->st->mu);
	fprintf(stderr, "# connection lost: %s (%d)\n", text ? text : "", cause);
}

static void on_msg(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	(void)user;
	(void)m;
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

static int create_clients(const struct opts *o, ferry_context *ctx, struct slot *slots)
{
	char uri[300], id[64];
	int i, rc;

	snprintf(uri, sizeof uri, "tcp://%s:%d", o->host, o->port);
	for (i = 0; i < o->clients; i++) {
		struct ferry_client_options co = FERRY_CLIENT_OPTIONS_INIT;
		snprintf(id, sizeof id, "scale-ferry-%ld-%d", (long)getpid(), i);
		co.client_id = id;
		co.server_uri = uri;
		co.keepalive_s = o->keepalive_s;
		co.connect_timeout_ms = o->timeout_s * 1000;
		co.context = ctx;
		co.auto_reconnect = false; /* a lost connection must stay visible */
		co.user = &slots[i];
		co.on_connection_lost = on_lost;
		co.on_message = on_msg;
		rc = ferry_client_create(&co, &slots[i].c);
		if (rc) {
			fprintf(stderr, "ferry_client_create #%d: %d\n", i, rc);
			return rc;
		}
	}
	return 0;
}

static int subscribe_all(const struct opts *o, struct slot *slots)
{
	char topic[96];
	int i, rc;

	for (i = 0; i < o->clients; i++) {
		struct ferry_call call = {.on_done = on_subscribe_done, .user = &slots[i]};
		snprintf(topic, sizeof topic, "scale/ferry/%ld/%d", (long)getpid(), i);
		rc = ferry_subscribe(slots[i].c, topic, 1, &call, NULL);
		if (rc) {
			fprintf(stderr, "ferry_subscribe #%d: %d\n", i, rc);
			return rc;
		}
	}
	return 0;
}

/* Sleeps hold_s seconds, then counts clients connected that never lost it. */
static long hold(const struct opts *o, struct slot *slots, uint64_t *pings)
{
	double end = now_s() + o->hold_s;
	struct ferry_stats fs;
	long alive = 0;
	int i;

	while (now_s() < end)
		nap();
	*pings = 0;
	for (i = 0; i < o->clients; i++) {
		pthread_mutex_lock(&slots[i].st->mu);
		bool lost = slots[i].lost;
		pthread_mutex_unlock(&slots[i].st->mu);
		if (!lost && ferry_is_connected(slots[i].c))
			alive++;
		if (ferry_client_stats(slots[i].c, &fs) == FERRY_OK)
			*pings += fs.packets_received[13]; /* PINGRESP */
	}
	return alive;
}

static void teardown(const struct opts *o, struct state *st, struct slot *slots, ferry_context *ctx)
{
	long issued = 0;
	int i;

	for (i = 0; i < o->clients; i++) {
		struct ferry_call call = {.on_done = on_disconnect_done, .user = &slots[i]};
		if (slots[i].c && ferry_disconnect(slots[i].c, 0, &call, NULL) == FERRY_OK)
			issued++;
	}
	wait_count(st, &st->disconnected, &st->disconnected, issued, now_s() + o->timeout_s);
	for (i = 0; i < o->clients; i++)
		ferry_client_destroy(slots[i].c);
	if (ferry_context_destroy(ctx))
		fprintf(stderr, "ferry_context_destroy failed\n");
}

int main(int argc, char **argv)
{
	struct opts o;
	struct state st = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct slot *slots;
	ferry_context *ctx = NULL;
	double t0, deadline, connect_s = -1;
	long rss0, rss1, conn, subs, alive = 0;
	uint64_t pings = 0;
	int i, threads = -1, rc;

	parse_opts(argc, argv, &o, false);
	alarm((unsigned)(3 * o.timeout_s + o.hold_s + 60)); /* the last resort bound */
	slots = calloc((size_t)o.clients, sizeof *slots);
	if (!slots)
		return 1;
	for (i = 0; i < o.clients; i++)
		slots[i].st = &st;
	rss0 = rss_kb();
	rc = ferry_context_create(NULL, &ctx);
	if (rc) {
		fprintf(stderr, "ferry_context_create: %d\n", rc);
		return 1;
	}
	rc = create_clients(&o, ctx, slots);
	t0 = now_s();
	for (i = 0; !rc && i < o.clients; i++) {
		struct ferry_call call = {.on_done = on_connect_done, .user = &slots[i]};
		rc = ferry_connect(slots[i].c, &call, NULL);
		if (rc)
			fprintf(stderr, "ferry_connect #%d: %d\n", i, rc);
	}
	deadline = t0 + o.timeout_s;
	conn = wait_count(&st, &st.connected, &st.connect_failed, rc ? 0 : o.clients, deadline);
	if (conn == o.clients)
		connect_s = st.t_last_connack - t0;
	if (!rc && conn == o.clients)
		rc = subscribe_all(&o, slots);
	subs = wait_count(&st, &st.subscribed, &st.subscribe_failed,
	                  rc || conn < o.clients ? 0 : o.clients, now_s() + o.timeout_s);
	if (!rc && conn == o.clients && subs == o.clients) {
		alive = hold(&o, slots, &pings);
	}
	threads = thread_count(); /* also after a failure: what is left */
	rss1 = rss_kb();
	printf("# pingresps_received=%" PRIu64
	       " lost=%ld connect_failed=%ld subscribe_failed=%ld\n",
	       pings, st.lost, st.connect_failed, st.subscribe_failed);
	printf("SCALE lib=%s clients=%d connected=%ld subscribed=%ld threads=%d rss_kb=%ld "
	       "rss_kb_per_client=%.1f connect_all_s=%.3f still_connected=%ld\n",
	       LIB_NAME, o.clients, conn, subs, threads, rss1, (double)(rss1 - rss0) / o.clients,
	       connect_s, alive);
	fflush(stdout);
	teardown(&o, &st, slots, ctx);
	free(slots);
	return alive == o.clients ? 0 : 1;
}

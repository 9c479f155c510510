/*
 * scale_mosquitto.c - N libmosquitto clients in one process (the peer of
 * scale_ferry.c; same CLI, same output line, see there and bench/scale.sh):
 * connect all, subscribe each to its own topic at QoS 1, keep them alive for
 * --hold seconds, check they are all still connected. libmosquitto's
 * threaded API is used as documented: mosquitto_connect_async and
 * mosquitto_loop_start per client, i.e. one network thread per client.
 *
 *   scale_mosquitto --host H --port P --clients N --keepalive S --hold S [--timeout S]
 *                   [--loop threads|single]
 *
 * --loop single (lib=libmosquitto-1thr): the threaded loop cannot go past
 * about 340 clients, because mosquitto_loop waits with select() and every
 * client holds three descriptors (its socket and a socket pair used to wake
 * its thread), so descriptors reach FD_SETSIZE (1024). In this mode the
 * clients are connected with mosquitto_connect and one thread of ours drives
 * all of them with poll() and mosquitto_loop_read/_write/_misc (libmosquitto's
 * API for an external event loop; mosquitto_threaded_set(true) since the main
 * thread subscribes concurrently).
 *
 *   SCALE lib=libmosquitto clients=N connected=C subscribed=S threads=T rss_kb=R
 *         rss_kb_per_client=X connect_all_s=Y still_connected=Z
 *
 * RSS before is taken after mosquitto_lib_init, before the first client.
 * connect_all_s: first mosquitto_connect_async call to the last successful
 * connect callback (CONNACK). still_connected: clients whose connect
 * callback said success and whose disconnect callback never ran before the
 * teardown (the threaded loop would reconnect silently; a disconnect is
 * counted as a loss). Bounded waits (--timeout, default 120 s) and an
 * alarm() as the last resort. Exit 0 all fine, 1 otherwise, 2 usage.
 * Link with -lmosquitto.
 */
#include <dirent.h>
#include <poll.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scale_common.h"

#include <mosquitto.h>

#define LIB_NAME        "libmosquitto"
#define LIB_NAME_SINGLE "libmosquitto-1thr"
#define DRIVE_POLL_MS   20       /* --loop single: longest poll() */
#define DRIVE_MISC_S    0.1      /* --loop single: period of mosquitto_loop_misc */

/* Counters shared with libmosquitto's threads; guarded by mu. */
struct state {
	pthread_mutex_t mu;
	long connected, connect_failed;
	long subscribed, subscribe_failed;
	long lost, disconnected;
	double t_last_connack;
	bool closing;      /* teardown started: disconnects are ours, not losses */
	volatile int stop; /* tells the single driving thread to return */
};

/* One client and what its callbacks need. */
struct slot {
	struct state *st;
	struct mosquitto *m;
	bool up, lost, looping;
};

/* ---- callbacks (each client's network thread) ------------------------------ */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct slot *s = obj;
	(void)m;
	pthread_mutex_lock(&s->st->mu);
	if (rc == 0 && !s->up && !s->lost) {
		s->up = true;
		s->st->connected++;
		s->st->t_last_connack = now_s();
	} else if (rc != 0) {
		s->st->connect_failed++;
	}
	pthread_mutex_unlock(&s->st->mu);
	if (rc)
		fprintf(stderr, "# connect refused: %s\n", mosquitto_connack_string(rc));
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct slot *s = obj;
	bool ok = n == 1 && granted[0] >= 0 && granted[0] <= 2;
	(void)m;
	(void)mid;
	pthread_mutex_lock(&s->st->mu);
	if (ok)
		s->st->subscribed++;
	else
		s->st->subscribe_failed++;
	pthread_mutex_unlock(&s->st->mu);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct slot *s = obj;
	bool loss;
	(void)m;
	pthread_mutex_lock(&s->st->mu);
	loss = !s->st->closing;
	if (loss && !s->lost)
		s->st->lost++;
	if (loss)
		s->lost = true;
	else
		s->st->disconnected++;
	pthread_mutex_unlock(&s->st->mu);
	if (loss)
		fprintf(stderr, "# connection lost: %s\n", mosquitto_strerror(rc));
}

static void on_msg(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	(void)obj;
	(void)msg;
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
	char id[64];
	int i;

	for (i = 0; i < o->clients; i++) {
		snprintf(id, sizeof id, "scale-mosq-%ld-%d", (long)getpid(), i);
		slots[i].m = mosquitto_new(id, true, &slots[i]);
		if (!slots[i].m) {
			fprintf(stderr, "mosquitto_new #%d failed\n", i);
			return 1;
		}
		mosquitto_connect_callback_set(slots[i].m, on_connect);
		mosquitto_subscribe_callback_set(slots[i].m, on_subscribe);
		mosquitto_disconnect_callback_set(slots[i].m, on_disconnect);
		mosquitto_message_callback_set(slots[i].m, on_msg);
		if (o->single)
			mosquitto_threaded_set(slots[i].m, true);
	}
	return 0;
}

/* The single driving thread (--loop single): polls every client's socket. */
struct driver {
	const struct opts *o;
	struct slot *slots;
	struct pollfd *pfd;
};

static void drive_round(struct driver *d, double *next_misc)
{
	int i, n = d->o->clients, fd;

	for (i = 0; i < n; i++) {
		fd = mosquitto_socket(d->slots[i].m);
		d->pfd[i].fd = fd; /* negative: not connected, poll ignores it */
		d->pfd[i].events =
		    (short)(POLLIN | (mosquitto_want_write(d->slots[i].m) ? POLLOUT : 0));
		d->pfd[i].revents = 0;
	}
	if (poll(d->pfd, (nfds_t)n, DRIVE_POLL_MS) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (d->pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			mosquitto_loop_read(d->slots[i].m, 1);
		if (d->pfd[i].revents & POLLOUT)
			mosquitto_loop_write(d->slots[i].m, 1);
	}
	if (now_s() >= *next_misc) { /* keepalive pings and timeouts */
		for (i = 0; i < n; i++)
			mosquitto_loop_misc(d->slots[i].m);
		*next_misc = now_s() + DRIVE_MISC_S;
	}
}

static void *drive(void *arg)
{
	struct driver *d = arg;
	double next_misc = 0;

	while (!__atomic_load_n(&d->slots[0].st->stop, __ATOMIC_ACQUIRE))
		drive_round(d, &next_misc);
	return NULL;
}

/* --loop single: blocking TCP connect + CONNECT per client, the driving
 * thread (already running) reads the CONNACKs. */
static int connect_all_single(const struct opts *o, struct slot *slots)
{
	int i, rc;

	for (i = 0; i < o->clients; i++) {
		rc = mosquitto_connect(slots[i].m, o->host, o->port, o->keepalive_s);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "mosquitto_connect #%d: %s\n", i, mosquitto_strerror(rc));
			return 1;
		}
	}
	return 0;
}

/* Starts the connection and the network thread of every client. */
static int connect_all(const struct opts *o, struct slot *slots)
{
	int i, rc;

	if (o->single)
		return connect_all_single(o, slots);
	for (i = 0; i < o->clients; i++) {
		rc = mosquitto_connect_async(slots[i].m, o->host, o->port, o->keepalive_s);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "mosquitto_connect_async #%d: %s\n", i,
			        mosquitto_strerror(rc));
			return 1;
		}
		rc = mosquitto_loop_start(slots[i].m);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "mosquitto_loop_start #%d: %s (threads: %d)\n", i,
			        mosquitto_strerror(rc), thread_count());
			return 1;
		}
		slots[i].looping = true;
	}
	return 0;
}

static int subscribe_all(const struct opts *o, struct slot *slots)
{
	char topic[96];
	int i, rc;

	for (i = 0; i < o->clients; i++) {
		snprintf(topic, sizeof topic, "scale/mosq/%ld/%d", (long)getpid(), i);
		rc = mosquitto_subscribe(slots[i].m, NULL, topic, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "mosquitto_subscribe #%d: %s\n", i, mosquitto_strerror(rc));
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
		if (slots[i].up && !slots[i].lost)
			alive++;
		pthread_mutex_unlock(&slots[i].st->mu);
	}
	return alive;
}

static void teardown(const struct opts *o, struct state *st, struct slot *slots, pthread_t *driver)
{
	long issued = 0;
	int i;

	pthread_mutex_lock(&st->mu);
	st->closing = true;
	pthread_mutex_unlock(&st->mu);
	for (i = 0; i < o->clients; i++)
		if (slots[i].m && mosquitto_disconnect(slots[i].m) == MOSQ_ERR_SUCCESS)
			issued++;
	wait_count(st, &st->disconnected, &st->disconnected, issued, now_s() + o->timeout_s);
	if (driver) {
		__atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
		pthread_join(*driver, NULL);
	}
	for (i = 0; i < o->clients; i++) {
		if (slots[i].looping)
			mosquitto_loop_stop(slots[i].m, false);
		if (slots[i].m)
			mosquitto_destroy(slots[i].m);
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct state st = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct slot *slots;
	double t0, connect_s = -1;
	long rss0, rss1, conn, subs, alive = 0;
	int i, threads = -1, rc;
	struct driver drv;
	pthread_t drv_thread;
	bool driving = false;

	parse_opts(argc, argv, &o, true);
	alarm((unsigned)(3 * o.timeout_s + o.hold_s + 60)); /* the last resort bound */
	slots = calloc((size_t)o.clients, sizeof *slots);
	if (!slots)
		return 1;
	for (i = 0; i < o.clients; i++)
		slots[i].st = &st;
	mosquitto_lib_init();
	rss0 = rss_kb();
	rc = create_clients(&o, slots);
	drv =
	    (struct driver){&o, slots, calloc((size_t)(unsigned)o.clients, sizeof(struct pollfd))};
	if (!rc && o.single) {
		rc = !drv.pfd || pthread_create(&drv_thread, NULL, drive, &drv);
		driving = !rc;
	}
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
	       o.single ? LIB_NAME_SINGLE : LIB_NAME, o.clients, conn, subs, threads, rss1,
	       (double)(rss1 - rss0) / o.clients, connect_s, alive);
	fflush(stdout);
	teardown(&o, &st, slots, driving ? &drv_thread : NULL);
	mosquitto_lib_cleanup();
	free(drv.pfd);
	free(slots);
	return alive == o.clients ? 0 : 1;
}

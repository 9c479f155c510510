/*
 * async_pubsub.c - the asynchronous API in full, without blocking:
 *  - every client-wide callback: connected (server, session present),
 *    connection lost (cause), message arrived, delivery complete, log;
 *  - a per-call completion (struct ferry_call) on each operation, and the
 *    token each operation returns;
 *  - a per-subscription callback next to the client-wide message callback;
 *  - a publish loop that never waits: callbacks count completions under a
 *    mutex and main waits once, on a condition variable, with a deadline.
 *
 * Usage: async_pubsub [URI] [COUNT]   (defaults: tcp://127.0.0.1:1883 30)
 * The client subscribes to its own topics and publishes COUNT messages at
 * QoS 0, 1 and 2 in turn; every tenth goes at QoS 1 to an "alerts" topic that
 * has its own callback. Prints a summary; exits 0 when every publish completed
 * exactly once with its own token and every QoS 1 and 2 message came back,
 * 1 otherwise. QoS 0 is at most once: a busy broker may drop such messages
 * (mosquitto does while its window to the subscriber is full), so they are
 * counted but not required.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

#define WAIT_MS 30000
/* How long QoS 0 stragglers may trail the last QoS 1/2 message. */
#define QOS0_GRACE_MS 1000

/* One publish: its token as ferry_publish returned it, and what its
 * completion said. The completion gets a pointer to it as `user`. */
struct pub {
	struct app *app;
	ferry_token token;      /* written by main */
	ferry_token done_token; /* [mu] token in the completion */
	int completions;        /* [mu] must end at exactly 1 */
	int rc;                 /* [mu] */
};

/* Everything the callbacks (on ferry's thread) share with main. */
struct app {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pub *pubs;
	long count;        /* to publish */
	long published;    /* accepted by ferry_publish (written by main only) */
	long published_q0; /* ... of them at QoS 0 (likewise) */
	char id[64], data[96], data_filter[128], alerts[128]; /* client id and topics */
	/* the rest is guarded by mu */
	bool connect_done, subscribe_done, disconnect_done;
	int connect_rc, subscribe_rc;
	long completed, failed, delivered, delivered_failed;
	long received_q0, received_q12, alerts_received, lost, log_lines;
};

static void signal_locked(struct app *a)
{
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* ---- client-wide callbacks (set in the options) ----------------------------- */

static void on_connected(ferry_client *c, void *user, const struct ferry_connected_info *info)
{
	(void)c;
	(void)user;
	printf("connected to %s (session present: %s%s)\n", info->server_uri,
	       info->session_present ? "yes" : "no", info->reconnect ? ", a reconnect" : "");
}

static void on_connection_lost(ferry_client *c, void *user, int cause, const char *text)
{
	struct app *a = user;
	(void)c;
	printf("connection lost: %s (%s); ferry reconnects by itself\n", text,
	       ferry_errname(cause));
	pthread_mutex_lock(&a->mu);
	a->lost++;
	signal_locked(a);
}

/* Messages no per-subscription callback took: here, the data topics. */
static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	struct app *a = user;
	(void)c;
	/* m is valid during the call only: ferry_message_dup keeps a copy */
	pthread_mutex_lock(&a->mu);
	*(m->qos ? &a->received_q12 : &a->received_q0) += 1;
	signal_locked(a);
}

/* Called for every publish as well as its per-call completion. */
static void on_delivery_complete(ferry_client *c, void *user, ferry_token token, int rc)
{
	struct app *a = user;
	(void)c;
	(void)token;
	pthread_mutex_lock(&a->mu);
	a->delivered++;
	a->delivered_failed += rc != FERRY_OK;
	signal_locked(a);
}

static void on_log(void *user, int level, const char *text)
{
	struct app *a = user;
	static const char *const names[] = {"?", "error", "warning", "info", "debug"};
	fprintf(stderr, "  [ferry %s] %s\n", names[level >= 1 && level <= 4 ? level : 0], text);
	pthread_mutex_lock(&a->mu);
	a->log_lines++;
	pthread_mutex_unlock(&a->mu);
}

/* ---- per-subscription and per-call callbacks -------------------------------- */

static void on_alert(ferry_client *c, void *user, const struct ferry_message *m)
{
	struct app *a = user;
	(void)c;
	printf("alert on %s: %.*s\n", m->topic, (int)m->payload_len, (const char *)m->payload);
	pthread_mutex_lock(&a->mu);
	a->alerts_received++;
	*(m->qos ? &a->received_q12 : &a->received_q0) += 1;
	signal_locked(a);
}

static void connect_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct app *a = user;
	(void)c;
	printf("connect (token %llu): %s\n", (unsigned long long)r->token, ferry_strerror(r->rc));
	pthread_mutex_lock(&a->mu);
	a->connect_done = true;
	a->connect_rc = r->rc;
	signal_locked(a);
}

static void subscribe_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct app *a = user;
	(void)c;
	printf("subscribe (token %llu): %s, granted QoS", (unsigned long long)r->token,
	       ferry_strerror(r->rc));
	for (size_t i = 0; i < r->granted_count; i++)
		printf(" %u", r->granted[i]); /* 0x80 would be a refusal */
	printf("\n");
	pthread_mutex_lock(&a->mu);
	a->subscribe_done = true;
	a->subscribe_rc = r->rc;
	for (size_t i = 0; !a->subscribe_rc && i < r->granted_count; i++)
		if (r->granted[i] > 2)
			a->subscribe_rc = FERRY_ERR_REJECTED;
	signal_locked(a);
}

/* The hot path's completion: user is this publish's struct pub. */
static void publish_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct pub *p = user;
	struct app *a = p->app;
	(void)c;
	pthread_mutex_lock(&a->mu);
	p->completions++;
	p->done_token = r->token;
	p->rc = r->rc;
	a->completed++;
	a->failed += r->rc != FERRY_OK;
	signal_locked(a);
}

static void disconnect_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct app *a = user;
	(void)c;
	printf("disconnect (token %llu): %s\n", (unsigned long long)r->token,
	       ferry_strerror(r->rc));
	pthread_mutex_lock(&a->mu);
	a->disconnect_done = true;
	signal_locked(a);
}

/* ---- main ------------------------------------------------------------------ */

/* Waits up to ms until ready(a) holds; returns whether it does. */
static bool wait_for(struct app *a, bool (*ready)(const struct app *a), int ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&a->mu);
	while (!ready(a) && pthread_cond_timedwait(&a->cv, &a->mu, &deadline) == 0)
		;
	bool ok = ready(a);
	pthread_mutex_unlock(&a->mu);
	return ok;
}

static bool connected(const struct app *a)
{
	return a->connect_done;
}

static bool subscribed(const struct app *a)
{
	return a->subscribe_done;
}

static bool all_done(const struct app *a)
{
	return a->completed >= a->count && a->delivered >= a->count &&
	       a->received_q12 >= a->published - a->published_q0;
}

static bool all_qos0_arrived(const struct app *a)
{
	return a->received_q0 >= a->published_q0;
}

static bool disconnected(const struct app *a)
{
	return a->disconnect_done;
}

/* Publishes a->count messages without waiting; returns 0 or a ferry error. */
static int publish_all(ferry_client *c, struct app *a)
{
	for (long i = 0; i < a->count; i++) {
		char topic[128], text[64];
		bool alert = i % 10 == 9;
		int qos = alert ? 1 : (int)(i % 3);
		snprintf(topic, sizeof topic, "%s/%ld", a->data, i);
		int len = snprintf(text, sizeof text, "message %ld", i);
		struct pub *p = &a->pubs[i];
		p->app = a;
		struct ferry_call call = {.on_done = publish_done, .user = p};
		int rc = ferry_publish(c, alert ? a->alerts : topic, text, (size_t)len, qos, false,
		                       &call, &p->token);
		if (rc) {
			fprintf(stderr, "async_pubsub: publish %ld refused: %s\n", i,
			        ferry_strerror(rc));
			return rc;
		}
		a->published++;
		a->published_q0 += qos == 0;
	}
	return FERRY_OK;
}

/* Checks and prints what happened; returns whether all of it is right. */
static bool summary(struct app *a)
{
	long once = 0, matched = 0;
	pthread_mutex_lock(&a->mu);
	for (long i = 0; i < a->count; i++) {
		once += a->pubs[i].completions == 1;
		matched += a->pubs[i].done_token == a->pubs[i].token && a->pubs[i].token != 0;
	}
	long q12 = a->published - a->published_q0;
	printf("summary: %ld published, %ld completed exactly once, %ld with their own token, "
	       "%ld failed; %ld delivery-complete; received %ld of %ld QoS 1/2 messages "
	       "(%ld alerts) and %ld of %ld QoS 0; %ld connection losses; %ld log lines\n",
	       a->published, once, matched, a->failed, a->delivered, a->received_q12, q12,
	       a->alerts_received, a->received_q0, a->published_q0, a->lost, a->log_lines);
	bool ok = a->published == a->count && once == a->count && matched == a->count &&
	          a->failed == 0 && a->delivered == a->count && a->delivered_failed == 0 &&
	          a->received_q12 == q12 && a->alerts_received == a->count / 10 &&
	          a->received_q0 <= a->published_q0;
	pthread_mutex_unlock(&a->mu);
	return ok;
}

/* Connects, subscribes, publishes a->count messages and disconnects, each
 * step waiting (bounded) in main for what the callbacks report. Returns NULL,
 * or the step that failed with *rc its error (0 when it timed out). */
static const char *run(ferry_client *c, struct app *a, int *rc)
{
	ferry_token t = 0;
	*rc = ferry_connect(c, &(struct ferry_call){.on_done = connect_done, .user = a}, &t);
	if (*rc || !wait_for(a, connected, WAIT_MS) || (*rc = a->connect_rc))
		return "connect";

	/* Two filters in one SUBSCRIBE: the data topics go to the client-wide
	 * on_message, the alerts topic to its own callback. */
	const struct ferry_subscription subs[] = {
	    {.filter = a->data_filter, .qos = 2},
	    {.filter = a->alerts, .qos = 2, .on_message = on_alert, .user = a},
	};
	*rc = ferry_subscribe_many(c, subs, 2, &(struct ferry_call){.on_done = subscribe_done, .user = a}, &t);
	if (*rc || !wait_for(a, subscribed, WAIT_MS) || (*rc = a->subscribe_rc))
		return "subscribe";

	/* The hot path: no waiting per message. */
	*rc = publish_all(c, a);
	if (*rc)
		return "publish";
	/* tokens increase with each call; each names one operation */
	printf("%ld publishes accepted, tokens %llu to %llu\n", a->published,
	       (unsigned long long)a->pubs[0].token,
	       (unsigned long long)a->pubs[a->published - 1].token);
	if (!wait_for(a, all_done, WAIT_MS))
		return "publish";
	wait_for(a, all_qos0_arrived, QOS0_GRACE_MS); /* at most once: may stay short */

	*rc = ferry_disconnect(c, 1000, &(struct ferry_call){.on_done = disconnect_done, .user = a}, &t);
	if (*rc || !wait_for(a, disconnected, WAIT_MS))
		return "disconnect";
	return NULL;
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "tcp://127.0.0.1:1883";
	long count = argc > 2 ? atol(argv[2]) : 30;
	if (count < 1 || count > 100000) {
		fprintf(stderr, "async_pubsub: COUNT must be 1..100000\n");
		return 1;
	}
	struct app a = {.count = count, .pubs = calloc((size_t)count, sizeof(struct pub))};
	if (!a.pubs)
		return 1;
	pthread_mutex_init(&a.mu, NULL);
	pthread_condattr_t attr; /* deadlines on the monotonic clock */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&a.cv, &attr);
	pthread_condattr_destroy(&attr);
	/* A client id and topics of our own (the process id): parallel runs do not mix. */
	snprintf(a.id, sizeof a.id, "async-%ld", (long)getpid());
	snprintf(a.data, sizeof a.data, "samples/%s/data", a.id);
	snprintf(a.data_filter, sizeof a.data_filter, "%s/+", a.data);
	snprintf(a.alerts, sizeof a.alerts, "samples/%s/alerts", a.id);

	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = a.id;
	o.user = &a; /* passed to every client-wide callback */
	o.on_connected = on_connected;
	o.on_connection_lost = on_connection_lost;
	o.on_message = on_message;
	o.on_delivery_complete = on_delivery_complete;
	o.on_log = on_log;
	o.log_level = FERRY_LOG_INFO;

	ferry_client *c = NULL;
	const char *failed = "create a client";
	int rc = ferry_client_create(&o, &c);
	if (!rc)
		failed = run(c, &a, &rc);
	ferry_client_destroy(c); /* completes anything pending with FERRY_ERR_CANCELLED */
	bool ok = summary(&a) && !failed;
	if (failed)
		fprintf(stderr, "async_pubsub: %s failed: %s\n", failed,
		        rc ? ferry_strerror(rc) : "timed out");
	printf("async_pubsub: %s\n", ok ? "OK" : "FAILED");
	pthread_cond_destroy(&a.cv);
	pthread_mutex_destroy(&a.mu);
	free(a.pubs);
	return ok ? 0 : 1;
}

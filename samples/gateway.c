/*
 * gateway.c - many clients, two threads: a gateway runs N MQTT clients in one
 * shared ferry_context, whose send thread and receive thread serve them all.
 *
 * Each client subscribes to its own topic and publishes one QoS 1 message to
 * the next client's topic (the last one to the first), so every client should
 * receive exactly one message. Callbacks count progress under a mutex; main
 * waits on a condition variable with a deadline.
 *
 * Usage: gateway [URI] [CLIENTS] [SECONDS]   (defaults: tcp://127.0.0.1:1883 1000 60)
 * Prints "gateway: N clients, N messages, S seconds, T threads (F for ferry)"
 * (T counted in /proc/self/task: main plus the context's two; F: those named
 * ferry-tx / ferry-rx). Exits 0 only if every client received its message in
 * time.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

struct gateway;

/* One client of the gateway; its address is the `user` of its callbacks. */
struct gw_client {
	ferry_client *c;
	struct gateway *gw;
	long index;
	bool got;       /* [gw->mu] its message arrived */
	char topic[64]; /* the topic it subscribes to */
};

/* Progress counters, written by callbacks on the context's receive thread. */
struct gateway {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long n;
	long done[FERRY_OP_UNSUBSCRIBE + 1]; /* [mu] completed operations by enum ferry_op_type */
	long failed;                         /* [mu] operations that failed */
	int first_error;                     /* [mu] rc of the first failure */
	long received;                       /* [mu] clients whose message arrived */
	struct timespec deadline;            /* for every wait */
};

/* Per-call completion of every operation of every client. */
static void op_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct gw_client *gc = user;
	struct gateway *gw = gc->gw;
	(void)c;
	pthread_mutex_lock(&gw->mu);
	if (r->op >= FERRY_OP_CONNECT && r->op <= FERRY_OP_UNSUBSCRIBE)
		gw->done[r->op]++;
	if (r->rc != FERRY_OK && gw->failed++ == 0)
		gw->first_error = r->rc;
	pthread_cond_broadcast(&gw->cv);
	pthread_mutex_unlock(&gw->mu);
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	struct gw_client *gc = user;
	struct gateway *gw = gc->gw;
	(void)c;
	(void)m;
	pthread_mutex_lock(&gw->mu);
	if (!gc->got) { /* QoS 1 is at least once: count each client once */
		gc->got = true;
		gw->received++;
		pthread_cond_broadcast(&gw->cv);
	}
	pthread_mutex_unlock(&gw->mu);
}

/* Waits until *counter reaches gw->n (or an operation failed, or the
 * deadline passed); returns whether it did. */
static bool wait_all(struct gateway *gw, const long *counter)
{
	pthread_mutex_lock(&gw->mu);
	while (*counter < gw->n && gw->failed == 0 &&
	       pthread_cond_timedwait(&gw->cv, &gw->mu, &gw->deadline) == 0)
		;
	bool ok = *counter >= gw->n;
	pthread_mutex_unlock(&gw->mu);
	return ok;
}

/* Threads of this process: the entries of /proc/self/task. */
/* Threads of this process, and how many of them are ferry's (named ferry-tx
 * and ferry-rx: a context's send and receive threads). */
static int thread_count(int *ferry)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	*ferry = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		char path[300], name[32] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (f) {
			if (fgets(name, sizeof name, f) &&
			    (!strcmp(name, "ferry-tx\n") || !strcmp(name, "ferry-rx\n")))
				(*ferry)++;
			fclose(f);
		}
	}
	closedir(d);
	return n;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Creates client i in ctx and starts connecting it. */
static int start_client(struct gw_client *gc, ferry_context *ctx, const char *uri)
{
	char id[64];
	snprintf(id, sizeof id, "gw-%ld-%ld", (long)getpid(), gc->index);
	snprintf(gc->topic, sizeof gc->topic, "samples/gw-%ld/%ld", (long)getpid(), gc->index);
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = id;
	o.context = ctx; /* shared: no new threads for this client */
	o.user = gc;
	o.on_message = on_message;
	int rc = ferry_client_create(&o, &gc->c);
	if (!rc)
		rc = ferry_connect(gc->c, &(struct ferry_call){.on_done = op_done, .user = gc}, NULL);
	return rc;
}

/* Starts one operation (subscribe, publish or disconnect) on every client,
 * without waiting: op_done counts the completions. */
static int start_all(struct gw_client *cl, long n, int op)
{
	for (long i = 0; i < n; i++) {
		struct ferry_call call = {.on_done = op_done, .user = &cl[i]};
		const struct gw_client *next = &cl[(i + 1) % n];
		char text[64];
		int len = snprintf(text, sizeof text, "hello from client %ld", i);
		int rc;
		switch (op) {
		case FERRY_OP_SUBSCRIBE:
			rc = ferry_subscribe(cl[i].c, cl[i].topic, 1, &call, NULL);
			break;
		case FERRY_OP_PUBLISH:
			rc = ferry_publish(cl[i].c, next->topic, text, (size_t)len, 1, false, &call,
			                   NULL);
			break;
		default:
			rc = ferry_disconnect(cl[i].c, 1000, &call, NULL);
			break;
		}
		if (rc)
			return rc;
	}
	return FERRY_OK;
}

/* Connects every client, subscribes each to its own topic, then has each
 * publish to the next one's topic; each phase waits for the previous one.
 * Returns NULL when every message arrived, else the step that failed (and
 * *rc: the call's error, or 0 for a failed completion or the deadline). */
static const char *run(struct gateway *gw, struct gw_client *cl, ferry_context *ctx,
                       const char *uri, int *rc)
{
	long n = gw->n;
	for (long i = 0; i < n; i++) {
		cl[i].gw = gw;
		cl[i].index = i;
		*rc = start_client(&cl[i], ctx, uri);
		if (*rc)
			return "connect";
	}
	if (!wait_all(gw, &gw->done[FERRY_OP_CONNECT]))
		return "connect";
	*rc = start_all(cl, n, FERRY_OP_SUBSCRIBE); /* everyone, before anyone publishes */
	if (*rc || !wait_all(gw, &gw->done[FERRY_OP_SUBSCRIBE]))
		return "subscribe";
	*rc = start_all(cl, n, FERRY_OP_PUBLISH);
	if (*rc || !wait_all(gw, &gw->received) || !wait_all(gw, &gw->done[FERRY_OP_PUBLISH]))
		return "deliver";
	return NULL;
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "tcp://127.0.0.1:1883";
	long n = argc > 2 ? atol(argv[2]) : 1000;
	long seconds = argc > 3 ? atol(argv[3]) : 60;
	if (n < 1 || n > 100000 || seconds < 1) {
		fprintf(stderr, "gateway: CLIENTS must be 1..100000 and SECONDS at least 1\n");
		return 1;
	}
	struct gateway gw = {.n = n};
	struct gw_client *cl = calloc((size_t)n, sizeof *cl);
	if (!cl)
		return 1;
	pthread_mutex_init(&gw.mu, NULL);
	pthread_condattr_t attr; /* deadlines on the monotonic clock */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&gw.cv, &attr);
	pthread_condattr_destroy(&attr);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	gw.deadline = t0;
	gw.deadline.tv_sec += seconds;

	/* One context: its two threads serve every client. */
	ferry_context *ctx = NULL;
	const char *failed = "create the context";
	int rc = ferry_context_create(NULL, &ctx);
	if (!rc)
		failed = run(&gw, cl, ctx, uri, &rc);
	double secs = seconds_since(&t0);
	int ferry_threads = 0;
	int threads = thread_count(&ferry_threads); /* while all n clients are connected */

	pthread_mutex_lock(&gw.mu);
	long received = gw.received;
	const char *why = rc          ? ferry_strerror(rc)
	                  : gw.failed ? ferry_strerror(gw.first_error)
	                              : "timed out";
	pthread_mutex_unlock(&gw.mu);
	printf("gateway: %ld clients, %ld messages, %.2f seconds, %d threads (%d for ferry)\n", n,
	       received, secs, threads, ferry_threads);
	if (failed)
		fprintf(stderr, "gateway: could not %s (%ld of %ld messages arrived): %s\n", failed,
		        received, n, why);

	/* A clean goodbye for everyone, then free the clients and the context. */
	if (!failed && !start_all(cl, n, FERRY_OP_DISCONNECT)) {
		clock_gettime(CLOCK_MONOTONIC, &gw.deadline);
		gw.deadline.tv_sec += 10;
		wait_all(&gw, &gw.done[FERRY_OP_DISCONNECT]);
	}
	for (long i = 0; i < n; i++)
		ferry_client_destroy(cl[i].c); /* NULL (never created) is fine */
	if (ctx && ferry_context_destroy(ctx) != FERRY_OK)
		fprintf(stderr, "gateway: the context could not be destroyed\n");
	pthread_cond_destroy(&gw.cv);
	pthread_mutex_destroy(&gw.mu);
	free(cl);
	return failed ? 1 : 0;
}

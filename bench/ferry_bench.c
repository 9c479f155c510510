/*
 * ferry_bench.c - ferry's program for the MQTT client benchmark harness in
 * ../shared/bench (its README, "Contract for a bench program"); run it with
 * `make bench` (bench/run.sh). See bench/README.md and doc/benchmarks.md.
 *
 *   ferry_bench --host H --port P --qos 0|1|2 --size BYTES --count N --inflight N
 *               [--persist DIR] [--latency] [--timeout S] [--sync normal|full]
 *               [--contexts shared|own]
 *
 * One process, two clients: a subscriber on a unique topic and a publisher,
 * MQTT 3.1.1, clean session, the same QoS. Exactly one RESULT line is
 * printed on stdout (every other stdout line starts with '#'):
 *
 *   RESULT lib=ferry qos=Q size=S count=N persist=none msgs_per_s=F cpu_us_per_msg=F max_rss_kb=I
 *   RESULT lib=ferry mode=latency qos=Q size=S count=N persist=none p50_us=F p99_us=F
 *
 * The measurement deliberately repeats the semantics of the harness's
 * peers/common.h (so ferry is driven exactly like Paho and libmosquitto) but
 * is written here, so the repository builds without the harness:
 *  - Flow control: at most --inflight publishes are outstanding, i.e.
 *    accepted by ferry_publish but not yet reported complete by
 *    on_delivery_complete (QoS 0: written to the socket, 1: PUBACK,
 *    2: PUBCOMP). A full window makes the publisher sleep until the next
 *    completion frees one credit (a counting semaphore). A publish refused
 *    with FERRY_ERR_QUEUE_FULL is retried after the next completion.
 *    ferry's own max_inflight is set to --inflight as well.
 *  - Throughput: time from the first publish call to the last delivery;
 *    msgs_per_s = N / time; cpu_us_per_msg = user+sys CPU of the whole
 *    process (getrusage, connect included) / N; max_rss_kb = ru_maxrss.
 *  - Latency (--latency): one message at a time, LATENCY_WARMUP round trips
 *    first, then N samples of publish call -> delivery; the next message
 *    goes out only after the previous one was delivered and its publish
 *    completed. p50/p99 are nearest-rank.
 *  - Every wait is bounded by --timeout (seconds).
 *
 * Contexts: by default both clients share one ferry context (one send and
 * one receive thread for the process, ferry's design for many clients);
 * --contexts own gives each client its own context (four threads), for
 * comparison. The choice is printed as a '#' line.
 *
 * --persist DIR gives each client a SQLite store in DIR (ferry-pub.db,
 * ferry-sub.db) at --sync normal (WAL, survives a process crash) or full
 * (fsync at commit, survives power loss); RESULT says persist=sqlite or
 * persist=sqlite-full. Exit status: 0 success, 1 failure, 2 usage.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ferry/ferry.h"

#define LIB_NAME         "ferry"
#define LATENCY_WARMUP   50   /* round trips before latency samples are kept */
#define WAIT_SLICE_S     0.05 /* longest single sleep of a bounded wait */

struct opts {
	const char *host;
	int port, qos, size, inflight, timeout_s;
	long count;
	bool latency;
	const char *contexts; /* shared | own */
	bool own_contexts;    /* --contexts own: one context per client */
	const char *persist;  /* directory, or NULL */
	const char *sync;     /* normal | full: the store's durability with --persist */
};

/* Shared between the main thread and ferry's callbacks; guarded by mu. */
struct bench {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const struct opts *o;
	long published;   /* publish calls accepted */
	long completed;   /* publishes reported complete */
	long received;    /* messages delivered to the subscriber */
	long ops;         /* connect/subscribe/disconnect completions */
	long ops_issued;  /* ... and how many the main thread issued */
	double t_init;    /* start of connection set-up */
	double t_last_rx; /* time of the latest delivery */
	bool failed;
	char error[200];
};

/* The two clients and what the publish function needs. */
struct ferry_side {
	ferry_context *ctx; /* shared context, or NULL with --contexts own */
	ferry_client *sub, *pub;
	char topic[96];
	int qos;
};

/* ---- clock, options ------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [--host H] [--port P] [--qos 0|1|2] [--size BYTES] [--count N]\n"
	        "          [--inflight N] [--persist DIR] [--latency] [--timeout S]\n"
	        "          [--sync normal|full] [--contexts shared|own]\n",
	        prog);
}

static long num_arg(const char *s, const char *prog)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > 2000000000L) {
		fprintf(stderr, "%s: not a number: %s\n", prog, s);
		exit(2);
	}
	return v;
}

/* Applies one option (getopt_long's answer ch with its argument). */
static void set_opt(struct opts *o, int ch, const char *arg, const char *prog)
{
	switch (ch) {
	case 'h':
		o->host = arg;
		break;
	case 'p':
		o->port = (int)num_arg(arg, prog);
		break;
	case 'q':
		o->qos = (int)num_arg(arg, prog);
		break;
	case 's':
		o->size = (int)num_arg(arg, prog);
		break;
	case 'n':
		o->count = num_arg(arg, prog);
		break;
	case 'i':
		o->inflight = (int)num_arg(arg, prog);
		break;
	case 'd':
		o->persist = arg;
		break;
	case 'l':
		o->latency = true;
		break;
	case 't':
		o->timeout_s = (int)num_arg(arg, prog);
		break;
	case 'y':
		o->sync = arg;
		break;
	case 'c':
		o->contexts = arg;
		break;
	case 'H':
		usage(stdout, prog);
		exit(0);
	default:
		usage(stderr, prog);
		exit(2);
	}
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"host", 1, 0, 'h'},    {"port", 1, 0, 'p'},     {"qos", 1, 0, 'q'},
	    {"size", 1, 0, 's'},    {"count", 1, 0, 'n'},    {"inflight", 1, 0, 'i'},
	    {"persist", 1, 0, 'd'}, {"latency", 0, 0, 'l'},  {"timeout", 1, 0, 't'},
	    {"sync", 1, 0, 'y'},    {"contexts", 1, 0, 'c'}, {"help", 0, 0, 'H'},
	    {0, 0, 0, 0},
	};
	int ch;

	*o = (struct opts){
	    .host = "127.0.0.1",
	    .port = 1883,
	    .size = 64,
	    .count = 100000,
	    .inflight = 100,
	    .timeout_s = 60,
	    .sync = "normal",
	    .contexts = "shared",
	};
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
		set_opt(o, ch, optarg, argv[0]);
	o->own_contexts = strcmp(o->contexts, "own") == 0;
	if (optind != argc || o->qos > 2 || o->count < 1 || o->inflight < 1 ||
	    o->inflight > 65535 || o->timeout_s < 1 || o->port > 65535 ||
	    (strcmp(o->sync, "normal") && strcmp(o->sync, "full")) ||
	    (strcmp(o->contexts, "own") && strcmp(o->contexts, "shared"))) {
		usage(stderr, argv[0]);
		exit(2);
	}
}

/* ---- shared counters and bounded waits ------------------------------------- */

static int bench_init(struct bench *b, const struct opts *o)
{
	pthread_condattr_t ca;
	memset(b, 0, sizeof *b);
	b->o = o;
	b->t_init = now_s();
	if (pthread_mutex_init(&b->mu, NULL) || pthread_condattr_init(&ca))
		return -1;
	int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	return rc ? -1 : 0;
}

/* One more of *counter (any thread); rx also stamps the delivery time. */
static void bench_bump(struct bench *b, long *counter, bool rx)
{
	pthread_mutex_lock(&b->mu);
	(*counter)++;
	if (rx)
		b->t_last_rx = now_s();
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Records the first failure (any thread) and wakes the main thread. */
static void bench_fail(struct bench *b, const char *what, int rc)
{
	pthread_mutex_lock(&b->mu);
	if (!b->failed) {
		b->failed = true;
		snprintf(b->error, sizeof b->error, "%s: %s", what, ferry_strerror(rc));
	}
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* With b->mu held: wait until *v >= target, a failure or the deadline. */
static int wait_ge(struct bench *b, const long *v, long target, double deadline)
{
	while (*v < target && !b->failed) {
		double left = deadline - now_s();
		if (left <= 0) {
			b->failed = true;
			snprintf(b->error, sizeof b->error, "timeout");
			break;
		}
		if (left > WAIT_SLICE_S)
			left = WAIT_SLICE_S;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)(left * 1e9);
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&b->cv, &b->mu, &ts);
	}
	return b->failed ? -1 : 0;
}

/* After issuing one connect/subscribe/disconnect: wait for every operation
 * issued so far (it may have completed already). */
static int bench_wait_op(struct bench *b)
{
	pthread_mutex_lock(&b->mu);
	int rc = wait_ge(b, &b->ops, ++b->ops_issued, now_s() + b->o->timeout_s);
	pthread_mutex_unlock(&b->mu);
	return rc;
}

/* Wait until expect_rx messages arrived and every publish completed. */
static int drain(struct bench *b, long expect_rx, double deadline)
{
	pthread_mutex_lock(&b->mu);
	int rc = wait_ge(b, &b->received, expect_rx, deadline);
	if (!rc)
		rc = wait_ge(b, &b->completed, b->published, deadline);
	pthread_mutex_unlock(&b->mu);
	return rc;
}

/* ---- ferry ---------------------------------------------------------------- */

static void on_op_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct bench *b = user;
	(void)c;
	if (r->rc != FERRY_OK)
		bench_fail(b, r->op == FERRY_OP_CONNECT ? "connect" : "subscribe/disconnect",
		           r->rc);
	else if (r->op == FERRY_OP_SUBSCRIBE && (r->granted_count < 1 || r->granted[0] > 2))
		bench_fail(b, "subscribe refused", FERRY_ERR_REJECTED);
	else
		bench_bump(b, &b->ops, false);
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	struct bench *b = user;
	(void)c, (void)m;
	bench_bump(b, &b->received, true);
}

static void on_delivery(ferry_client *c, void *user, ferry_token token, int rc)
{
	struct bench *b = user;
	(void)c, (void)token;
	if (rc != FERRY_OK)
		bench_fail(b, "publish failed", rc);
	else
		bench_bump(b, &b->completed, false);
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	(void)c, (void)text;
	bench_fail(user, "connection lost", cause);
}

/* The RESULT line's name for the persistence used. */
static const char *persist_name(const struct opts *o)
{
	if (!o->persist)
		return "none";
	return strcmp(o->sync, "full") == 0 ? "sqlite-full" : "sqlite";
}

/* Creates and connects one client; waits for the CONNACK. */
static int connect_client(struct bench *b, struct ferry_side *fs, const char *role,
                          ferry_client **out)
{
	const struct opts *o = b->o;
	struct ferry_client_options co = FERRY_CLIENT_OPTIONS_INIT;
	struct ferry_call call = {.on_done = on_op_done, .user = b};
	char uri[300], id[64];

	snprintf(uri, sizeof uri, strchr(o->host, ':') ? "tcp://[%s]:%d" : "tcp://%s:%d", o->host,
	         o->port);
	snprintf(id, sizeof id, "ferry-%s-%d", role, (int)getpid());
	co.server_uri = uri;
	co.client_id = id;
	co.mqtt_version = FERRY_MQTT_3_1_1;
	co.keepalive_s = 60;
	co.clean_session = true;
	co.max_inflight = o->inflight;
	co.context = fs->ctx;
	co.user = b;
	co.on_connection_lost = on_lost;
	co.on_delivery_complete = on_delivery;
	char path[4200];
	if (o->persist) {
		snprintf(path, sizeof path, "%s/ferry-%s.db", o->persist, role);
		co.store_path = path;
		co.store_sync = strcmp(o->sync, "full") == 0 ? FERRY_SYNC_FULL : FERRY_SYNC_NORMAL;
	}
	int rc = ferry_client_create(&co, out);
	if (!rc)
		rc = ferry_connect(*out, &call, NULL);
	if (rc) {
		fprintf(stderr, "%s: %s client: %s\n", LIB_NAME, role, ferry_strerror(rc));
		return -1;
	}
	return bench_wait_op(b);
}

/* Subscriber first (connected and subscribed), then the publisher. The
 * messages go to a per-subscription callback: the subscriber has one filter. */
static int setup(struct bench *b, struct ferry_side *fs)
{
	struct ferry_call call = {.on_done = on_op_done, .user = b};
	snprintf(fs->topic, sizeof fs->topic, "bench/ferry/%d/%ld", (int)getpid(),
	         (long)time(NULL));
	fs->qos = b->o->qos;
	if (!b->o->own_contexts && ferry_context_create(NULL, &fs->ctx)) {
		fprintf(stderr, "%s: cannot create a context\n", LIB_NAME);
		return -1;
	}
	if (connect_client(b, fs, "sub", &fs->sub))
		return -1;
	struct ferry_subscription sub = {.filter = fs->topic, .qos = fs->qos, .on_message = on_message, .user = b};
	int rc = ferry_subscribe_many(fs->sub, &sub, 1, &call, NULL);
	if (rc) {
		fprintf(stderr, "%s: subscribe: %s\n", LIB_NAME, ferry_strerror(rc));
		return -1;
	}
	if (bench_wait_op(b))
		return -1;
	return connect_client(b, fs, "pub", &fs->pub);
}

/* Clean goodbye for both clients, then free everything. */
static void teardown(struct bench *b, struct ferry_side *fs)
{
	struct ferry_call call = {.on_done = on_op_done, .user = b};
	ferry_client *cl[2] = {fs->pub, fs->sub};
	for (int i = 0; i < 2; i++) {
		if (!cl[i])
			continue;
		if (ferry_is_connected(cl[i]) &&
		    ferry_disconnect(cl[i], 1000, &call, NULL) == FERRY_OK)
			(void)bench_wait_op(b);
		ferry_client_destroy(cl[i]);
	}
	if (fs->ctx)
		ferry_context_destroy(fs->ctx);
}

/* 0 = accepted, 1 = queue full (retry after a completion), -1 = error. */
static int publish(struct ferry_side *fs, const void *payload, size_t len)
{
	int rc = ferry_publish(fs->pub, fs->topic, payload, len, fs->qos, false, NULL, NULL);
	if (rc == FERRY_OK)
		return 0;
	if (rc == FERRY_ERR_QUEUE_FULL)
		return 1;
	fprintf(stderr, "%s: ferry_publish: %s\n", LIB_NAME, ferry_strerror(rc));
	return -1;
}

/* ---- the measurement --------------------------------------------------------- */

/* Takes a credit (waiting while the window is full) and publishes one message,
 * retrying after the next completion while ferry reports its queue full. */
static int publish_one(struct bench *b, struct ferry_side *fs, const void *buf, double deadline)
{
	pthread_mutex_lock(&b->mu);
	if (wait_ge(b, &b->completed, b->published + 1 - b->o->inflight, deadline) == 0) {
		for (;;) {
			long seen = b->completed;
			pthread_mutex_unlock(&b->mu);
			int rc = publish(fs, buf, (size_t)b->o->size);
			pthread_mutex_lock(&b->mu);
			if (rc == 0) {
				b->published++;
				break;
			}
			if (rc < 0 && !b->failed) {
				b->failed = true;
				snprintf(b->error, sizeof b->error, "publish failed");
			}
			if (b->failed || wait_ge(b, &b->completed, seen + 1, deadline))
				break;
		}
	}
	int rc = b->failed ? -1 : 0;
	pthread_mutex_unlock(&b->mu);
	return rc;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile p of the sorted v[0..n). */
static double pct(const double *v, long n, long p)
{
	long k = (p * n + 99) / 100 - 1;
	return v[k < 0 ? 0 : k];
}

static double cpu_us(long *max_rss_kb)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*max_rss_kb = ru.ru_maxrss;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Publishes every message (and times each round trip with --latency). */
static int run_rounds(struct bench *b, struct ferry_side *fs, const char *buf, double *rtt,
                      double deadline)
{
	const struct opts *o = b->o;
	long rounds = o->latency ? o->count + LATENCY_WARMUP : o->count;
	int rc = 0;
	for (long i = 0; i < rounds && rc == 0; i++) {
		double ts = now_s();
		rc = publish_one(b, fs, buf, deadline);
		if (rc == 0 && o->latency) {
			rc = drain(b, i + 1, deadline);
			if (rc == 0 && i >= LATENCY_WARMUP)
				rtt[i - LATENCY_WARMUP] = (b->t_last_rx - ts) * 1e6;
		}
	}
	return rc ? rc : drain(b, rounds, deadline);
}

/* Runs the measurement and prints the RESULT line. */
static int bench_run(struct bench *b, struct ferry_side *fs)
{
	const struct opts *o = b->o;
	size_t n = (size_t)o->count;
	char *buf = malloc(o->size ? (size_t)o->size : 1);
	double *rtt = o->latency ? calloc(n, sizeof *rtt) : NULL;
	if (!buf || (o->latency && !rtt)) {
		free(buf);
		return -1;
	}
	memset(buf, 'x', (size_t)o->size);
	printf("# %s: connect+subscribe took %.3f s\n", LIB_NAME, now_s() - b->t_init);
	fflush(stdout);
	double t0 = now_s();
	int rc = run_rounds(b, fs, buf, rtt, t0 + o->timeout_s);
	if (rc) {
		fprintf(stderr, "%s: %s (received %ld, completed %ld, published %ld)\n", LIB_NAME,
		        b->error, b->received, b->completed, b->published);
	} else if (o->latency) {
		qsort(rtt, n, sizeof *rtt, cmp_dbl);
		printf("RESULT lib=%s mode=latency qos=%d size=%d count=%ld persist=%s "
		       "p50_us=%.1f p99_us=%.1f\n",
		       LIB_NAME, o->qos, o->size, o->count, persist_name(o), pct(rtt, o->count, 50),
		       pct(rtt, o->count, 99));
	} else {
		long rss;
		double secs = b->t_last_rx - t0, cpu = cpu_us(&rss);
		printf("RESULT lib=%s qos=%d size=%d count=%ld persist=%s msgs_per_s=%.1f "
		       "cpu_us_per_msg=%.2f max_rss_kb=%ld\n",
		       LIB_NAME, o->qos, o->size, o->count, persist_name(o), (double)o->count / secs,
		       cpu / (double)o->count, rss);
	}
	fflush(stdout);
	free(buf);
	free(rtt);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct bench b;
	struct ferry_side fs = {0};
	const char *version = "?";

	parse_opts(argc, argv, &o);
	if (bench_init(&b, &o))
		return 1;
	ferry_version(&version);
	printf("# ferry %s, %s, max_inflight %d\n", version,
	       o.own_contexts ? "one context per client" : "one context shared by both clients",
	       o.inflight);
	int rc = setup(&b, &fs);
	if (rc)
		fprintf(stderr, "%s: setup failed: %s\n", LIB_NAME,
		        b.failed ? b.error : "API error");
	else
		rc = bench_run(&b, &fs);
	teardown(&b, &fs);
	return rc ? 1 : 0;
}

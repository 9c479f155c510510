/*
 * soak.c - the soak test behind `make soak` (bench/soak.sh starts the
 * broker, restarts it every 20 s and runs this program against it).
 *
 *   soak [-c CLIENTS] [-r RATE] [-d DRAIN_S] [-i MAX_INFLIGHT] [-f RESTARTS_FILE]
 *        URI SECONDS
 *
 * CLIENTS (default 100) ferry clients on ONE shared context, persistent
 * sessions (clean_session false, client ids soak-000...), auto-reconnect
 * with a small backoff, at most MAX_INFLIGHT (default 20, see make_client)
 * QoS 1/2 publishes in flight. Client i subscribes to soak/i at QoS 2 and
 * publishes numbered messages ("SEQ") to soak/(i+1) at QoS i % 3, RATE
 * messages per second each (default 10), paced by the monotonic clock, for
 * SECONDS. Then
 * every client publishes a QoS 1 "fin" after its last message and the
 * program waits (at most DRAIN_S, default 60) until every fin arrived and
 * every QoS 1 and QoS 2 message was received. QoS 0 messages may be lost
 * (they are counted); their fin comes after them on the same connection,
 * so once it arrived the QoS 0 tally is final.
 *
 * It prints a summary (messages per QoS, missing, duplicates, reconnects,
 * broker restarts as read from RESTARTS_FILE, RSS after every client was
 * connected, after the warm-up - a quarter of SECONDS, which includes a
 * broker restart in a 2-minute run - and at the end) and exits 1 when a
 * QoS 1 or QoS 2 message is missing, a QoS 2 message arrived twice, a
 * message was malformed or at the wrong QoS, a publish was refused, or the
 * RSS grew beyond the margin (see rss_ok); 2 on bad usage or setup failure.
 * Public API (ferry/ferry.h) only.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ferry/ferry.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SOAK_SANITIZED 1
#endif
#endif
#ifndef SOAK_SANITIZED
#define SOAK_SANITIZED 0
#endif

#define SETUP_MS 30000 /* bound of each connect and subscribe at the start */
#define MIB (1024.0 * 1024.0)

/* One client: its sending side (main thread) and what it received (under g.mu). */
struct peer {
	int idx;
	ferry_client *c;
	char topic[32]; /* subscribed: soak/idx */
	char dest[32];  /* published to: soak/(idx+1) */
	int qos;        /* of its publishes */
	uint32_t sent;  /* messages accepted by ferry_publish (main thread) */
	/* From the previous client (sender qos = (idx-1) % 3), under g.mu: */
	uint8_t *seen;  /* times each sequence number arrived (saturating) */
	uint32_t cap;
	uint64_t unique, dups;
	bool fin;
	atomic_int lost; /* connections lost */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct peer *peers;
	int n;
	uint64_t bad;   /* malformed, out of range or at the wrong QoS */
	atomic_uint_fast64_t refused; /* ferry_publish errors */
	atomic_uint_fast64_t log_errors;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Resident set size in bytes, from /proc/self/statm (0 if unreadable). */
static uint64_t rss_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* --- callbacks (ferry's receive thread) ---------------------------------------- */

static uint32_t parse_u32(const char *p, size_t n, bool *ok)
{
	uint64_t v = 0;
	*ok = n > 0 && n <= 10;
	for (size_t i = 0; *ok && i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			*ok = false;
		v = v * 10u + (uint64_t)(p[i] - '0');
	}
	*ok = *ok && v <= UINT32_MAX;
	return (uint32_t)v;
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	struct peer *p = user;
	int want_qos = ((p->idx + g.n - 1) % g.n) % 3;
	const char *s = m->payload;
	bool fin = m->payload_len > 4 && memcmp(s, "fin ", 4) == 0;
	bool ok;
	uint32_t v = fin ? parse_u32(s + 4, m->payload_len - 4, &ok)
	                 : parse_u32(s, m->payload_len, &ok);
	pthread_mutex_lock(&g.mu);
	if (!ok || strcmp(m->topic, p->topic) != 0 || (fin ? m->qos != 1 : m->qos != want_qos)) {
		g.bad++;
	} else if (fin) {
		p->fin = true;
	} else if (v >= p->cap) {
		g.bad++;
	} else if (p->seen[v]++ == 0) {
		p->unique++;
	} else {
		p->dups++;
		if (p->seen[v] == 0)
			p->seen[v] = 255; /* saturate */
	}
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	(void)c;
	(void)cause;
	(void)text;
	struct peer *p = user;
	atomic_fetch_add(&p->lost, 1);
}

static void on_log(void *user, int level, const char *text)
{
	struct peer *p = user;
	atomic_fetch_add(&g.log_errors, 1);
	fprintf(stderr, "soak: client %d: log %d: %s\n", p->idx, level, text);
}

/* --- setup and teardown ------------------------------------------------------- */

/*
 * max_inflight: mosquitto (2.0.11) gives an MQTT 3.1.1 client a quota of
 * max_inflight_messages (default 20) incoming QoS 2 messages awaiting
 * PUBREL; the 21st gets a PUBREC and the connection is closed ("Bad socket
 * read/write ... Unknown error" in its log). With ferry's default window of
 * 100, the backlog of a broker outage (more than 20 QoS 2 messages) is
 * written in one burst after the reconnect, before any PUBREL, and every
 * later reconnect does the same again: a reconnect loop that never ends
 * (the QoS 2 stream stalls, the QoS 1 window is redelivered each time). A
 * window of 20 matches the broker's default, as an application would set it.
 */
static int make_client(struct peer *p, ferry_context *ctx, const char *uri, uint32_t cap,
                       int max_inflight)
{
	char id[32];
	snprintf(id, sizeof id, "soak-%03d", p->idx);
	snprintf(p->topic, sizeof p->topic, "soak/%d", p->idx);
	snprintf(p->dest, sizeof p->dest, "soak/%d", (p->idx + 1) % g.n);
	p->qos = p->idx % 3;
	p->cap = cap;
	p->seen = calloc(cap, 1);
	if (!p->seen)
		return FERRY_ERR_NOMEM;
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = id;
	o.clean_session = false;
	o.context = ctx;
	o.max_inflight = max_inflight;
	o.keepalive_s = 30;
	o.connect_timeout_ms = 5000;
	o.reconnect_min_ms = 100;
	o.reconnect_max_ms = 2000;
	o.reconnect_stable_ms = 5000;
	o.user = p;
	o.on_message = on_message;
	o.on_connection_lost = on_lost;
	o.on_log = on_log;
	o.log_level = FERRY_LOG_ERROR;
	return ferry_client_create(&o, &p->c);
}

/* Creates, connects and subscribes every client; FERRY_OK or the first error. */
static int setup(ferry_context *ctx, const char *uri, uint32_t cap, int max_inflight)
{
	for (int i = 0; i < g.n; i++) {
		g.peers[i].idx = i;
		int rc = make_client(&g.peers[i], ctx, uri, cap, max_inflight);
		ferry_token t = 0;
		if (!rc)
			rc = ferry_connect(g.peers[i].c, NULL, &t);
		if (!rc)
			rc = ferry_wait(g.peers[i].c, t, SETUP_MS);
		if (!rc)
			rc = ferry_subscribe(g.peers[i].c, g.peers[i].topic, 2, NULL, &t);
		if (!rc)
			rc = ferry_wait(g.peers[i].c, t, SETUP_MS);
		if (rc) {
			fprintf(stderr, "soak: client %d: %s\n", i, ferry_strerror(rc));
			return rc;
		}
	}
	return FERRY_OK;
}

/* Says goodbye (bounded), destroys every client and the context. */
static void teardown(ferry_context *ctx)
{
	ferry_token *t = calloc((size_t)g.n, sizeof *t);
	for (int i = 0; i < g.n; i++)
		if (g.peers[i].c && t && ferry_disconnect(g.peers[i].c, 1000, NULL, &t[i]) != FERRY_OK)
			t[i] = 0;
	for (int i = 0; i < g.n; i++) {
		if (t && t[i])
			(void)ferry_wait(g.peers[i].c, t[i], 5000);
		ferry_client_destroy(g.peers[i].c);
		free(g.peers[i].seen);
	}
	free(t);
	if (ctx && ferry_context_destroy(ctx) != FERRY_OK)
		fprintf(stderr, "soak: context_destroy failed\n");
}

/* --- running ------------------------------------------------------------------ */

static void publish_one(struct peer *p)
{
	char m[16];
	int n = snprintf(m, sizeof m, "%" PRIu32, p->sent);
	if (p->sent >= p->cap - 1)
		return; /* the receiver's table is full: pacing went wrong, nothing more */
	int rc = ferry_publish(p->c, p->dest, m, (size_t)n, p->qos, false, NULL, NULL);
	if (rc) {
		if (atomic_fetch_add(&g.refused, 1) < 10)
			fprintf(stderr, "soak: client %d: publish: %s\n", p->idx, ferry_strerror(rc));
		return;
	}
	p->sent++;
}

static void progress(double t)
{
	uint64_t got = 0, sent = 0, lost = 0;
	pthread_mutex_lock(&g.mu);
	for (int i = 0; i < g.n; i++) {
		got += g.peers[i].unique;
		sent += g.peers[i].sent;
		lost += (uint64_t)atomic_load(&g.peers[i].lost);
	}
	pthread_mutex_unlock(&g.mu);
	fprintf(stderr, "soak: t=%.0fs published %" PRIu64 " received %" PRIu64
	        " connections lost %" PRIu64 " rss %.1f MiB\n",
	        t, sent, got, lost, (double)rss_bytes() / MIB);
}

/* Publishes for `seconds` at `rate` per client; *rss_warm is read after a quarter of it. */
static void run(int seconds, int rate, uint64_t *rss_warm)
{
	uint64_t t0 = now_ms();
	uint64_t end = t0 + (uint64_t)seconds * 1000u, warm = t0 + (uint64_t)seconds * 250u;
	uint64_t next_report = t0 + 10000u;
	struct timespec tick;
	clock_gettime(CLOCK_MONOTONIC, &tick);
	long period_ns = 1000000000L / rate;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= end)
			break;
		if (!*rss_warm && now >= warm)
			*rss_warm = rss_bytes();
		if (now >= next_report) {
			progress((double)(now - t0) / 1000.0);
			next_report += 10000u;
		}
		for (int i = 0; i < g.n; i++)
			publish_one(&g.peers[i]);
		tick.tv_nsec += period_ns;
		while (tick.tv_nsec >= 1000000000L) {
			tick.tv_sec++;
			tick.tv_nsec -= 1000000000L;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL) != 0)
			; /* EINTR */
	}
	if (!*rss_warm)
		*rss_warm = rss_bytes();
}

/* Whether everything that must arrive has (g.mu held). */
static bool drained(void)
{
	for (int i = 0; i < g.n; i++) {
		const struct peer *r = &g.peers[i];
		const struct peer *s = &g.peers[(i + g.n - 1) % g.n];
		if (!r->fin || (s->qos > 0 && r->unique < s->sent))
			return false;
	}
	return true;
}

/* Sends the fins, then waits for everything, at most drain_s. */
static bool drain(int drain_s)
{
	for (int i = 0; i < g.n; i++) {
		char m[24];
		int n = snprintf(m, sizeof m, "fin %" PRIu32, g.peers[i].sent);
		int rc = ferry_publish(g.peers[i].c, g.peers[i].dest, m, (size_t)n, 1, false, NULL, NULL);
		if (rc) {
			atomic_fetch_add(&g.refused, 1);
			fprintf(stderr, "soak: client %d: fin: %s\n", i, ferry_strerror(rc));
		}
	}
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += drain_s;
	pthread_mutex_lock(&g.mu);
	while (!drained())
		if (pthread_cond_timedwait(&g.cv, &g.mu, &dl) != 0)
			break;
	bool ok = drained();
	pthread_mutex_unlock(&g.mu);
	return ok;
}

/* --- report ------------------------------------------------------------------- */

struct totals {
	uint64_t sent[3], got[3], dups[3], missing[3], reconnects, lost;
};

/* Adds up per QoS and names the first few receivers that miss messages. */
static void tally(struct totals *t)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < g.n; i++) {
		struct ferry_stats st;
		if (ferry_client_stats(g.peers[i].c, &st) == FERRY_OK)
			t->reconnects += st.reconnects;
	}
	int named = 0;
	pthread_mutex_lock(&g.mu);
	for (int i = 0; i < g.n; i++) {
		const struct peer *r = &g.peers[i];
		const struct peer *s = &g.peers[(i + g.n - 1) % g.n];
		int q = s->qos;
		t->sent[q] += s->sent;
		t->got[q] += r->unique;
		t->dups[q] += r->dups;
		uint64_t miss = s->sent > r->unique ? s->sent - r->unique : 0;
		t->missing[q] += miss;
		t->lost += (uint64_t)atomic_load(&r->lost);
		if ((miss && q > 0) || !r->fin) {
			uint32_t first = 0;
			while (first < s->sent && r->seen[first])
				first++;
			if (named++ < 5)
				fprintf(stderr, "soak: client %d from %d (QoS %d): %" PRIu64 " of %" PRIu32
				        " received, first missing %" PRIu32 ", fin %s\n",
				        i, s->idx, q, r->unique, s->sent, first, r->fin ? "yes" : "no");
		}
	}
	pthread_mutex_unlock(&g.mu);
}

/*
 * The RSS bound: the end may exceed the figure after warm-up by 20% + 8 MiB.
 * Not zero, because RSS is not the heap: glibc keeps freed memory in its
 * arenas (one per thread that allocated: main, ferry's two) and returns
 * it to the kernel only from the top, so fragmentation moves RSS by a few
 * MiB; and the outbox backlog each broker restart leaves (every client keeps
 * publishing while disconnected: CLIENTS x RATE x the outage, a few thousand
 * messages) differs from restart to restart. A leak of even 100 bytes per
 * message is 10 MiB per 100,000 messages, i.e. after about 2 minutes at the
 * default rate, and grows with the run length, so it still shows in a
 * 10-minute run. Under ASan/TSan RSS is mostly the sanitizer's quarantine
 * and shadow memory: the bound is not applied there (LeakSanitizer checks
 * leaks at exit instead).
 */
static bool rss_ok(uint64_t warm, uint64_t end)
{
	if (SOAK_SANITIZED)
		return true;
	return (double)end <= (double)warm * 1.2 + 8.0 * MIB;
}

static long read_restarts(const char *path)
{
	long n = -1;
	FILE *f = path ? fopen(path, "re") : NULL;
	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static bool report(const struct totals *t, bool done, long restarts, const uint64_t rss[3])
{
	bool rss_good = rss_ok(rss[1], rss[2]);
	printf("soak: clients %d, drained %s\n", g.n, done ? "yes" : "NO (timed out)");
	for (int q = 0; q < 3; q++)
		printf("soak: QoS %d: published %" PRIu64 " received %" PRIu64 " %s %" PRIu64
		       " duplicates %" PRIu64 "\n",
		       q, t->sent[q], t->got[q], q == 0 ? "lost (allowed)" : "missing", t->missing[q],
		       t->dups[q]);
	printf("soak: reconnects %" PRIu64 ", connections lost %" PRIu64 ", broker restarts %ld, "
	       "publish errors %" PRIu64 ", bad messages %" PRIu64 ", error logs %" PRIu64 "\n",
	       t->reconnects, t->lost, restarts, (uint64_t)atomic_load(&g.refused), g.bad,
	       (uint64_t)atomic_load(&g.log_errors));
	printf("soak: RSS start %.1f MiB, after warm-up %.1f MiB, end %.1f MiB (bound %.1f MiB%s)\n",
	       (double)rss[0] / MIB, (double)rss[1] / MIB, (double)rss[2] / MIB,
	       ((double)rss[1] * 1.2 + 8.0 * MIB) / MIB,
	       SOAK_SANITIZED ? ", not applied under a sanitizer" : "");
	bool ok = done && t->missing[1] == 0 && t->missing[2] == 0 && t->dups[2] == 0 &&
	          t->dups[0] == 0 && g.bad == 0 && atomic_load(&g.refused) == 0 && rss_good;
	printf("soak: %s\n", ok ? "PASS" : "FAIL");
	return ok;
}

struct args {
	int clients, rate, drain_s, max_inflight, seconds;
	const char *uri, *restarts_file;
};

/* Parses the command line; false on bad usage (after saying so). */
static bool parse_args(int argc, char **argv, struct args *a)
{
	*a = (struct args){.clients = 100, .rate = 10, .drain_s = 60, .max_inflight = 20};
	int opt;
	while ((opt = getopt(argc, argv, "c:r:d:i:f:")) != -1) {
		switch (opt) {
		case 'c': a->clients = atoi(optarg); break;
		case 'r': a->rate = atoi(optarg); break;
		case 'd': a->drain_s = atoi(optarg); break;
		case 'i': a->max_inflight = atoi(optarg); break;
		case 'f': a->restarts_file = optarg; break;
		default: break;
		}
	}
	if (argc - optind == 2) {
		a->uri = argv[optind];
		a->seconds = atoi(argv[optind + 1]);
	}
	if (a->uri && a->seconds >= 1 && a->clients >= 2 && a->rate >= 1 && a->rate <= 1000 &&
	    a->drain_s >= 1 && a->max_inflight >= 1 && a->max_inflight <= 65535)
		return true;
	fprintf(stderr, "usage: soak [-c CLIENTS] [-r RATE] [-d DRAIN_S] [-i MAX_INFLIGHT] "
	                "[-f RESTARTS_FILE] URI SECONDS\n");
	return false;
}

int main(int argc, char **argv)
{
	struct args a;
	if (!parse_args(argc, argv, &a))
		return 2;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g.cv, &ca);
	pthread_condattr_destroy(&ca);
	g.n = a.clients;
	g.peers = calloc((size_t)a.clients, sizeof *g.peers);
	if (!g.peers)
		return 2;
	/* Room for every message at the rate, twice over, so a late pace never overflows. */
	uint32_t cap = (uint32_t)a.rate * (uint32_t)a.seconds * 2u + 64u;
	ferry_context *ctx = NULL;
	int rc = ferry_context_create(NULL, &ctx);
	if (!rc)
		rc = setup(ctx, a.uri, cap, a.max_inflight);
	if (rc) {
		teardown(ctx);
		free(g.peers);
		return 2;
	}
	uint64_t rss[3] = {rss_bytes(), 0, 0};
	fprintf(stderr, "soak: %d clients connected and subscribed, publishing %d/s each for %d s\n",
	        a.clients, a.rate, a.seconds);
	run(a.seconds, a.rate, &rss[1]);
	bool done = drain(a.drain_s);
	rss[2] = rss_bytes();

	struct totals t;
	tally(&t);
	teardown(ctx);
	bool ok = report(&t, done, read_restarts(a.restarts_file), rss);
	free(g.peers);
	pthread_cond_destroy(&g.cv);
	return ok ? 0 : 1;
}

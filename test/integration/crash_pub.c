/*
 * crash_pub.c - the publisher that test_crash.c kills with SIGKILL and
 * starts again on the same SQLite store (public API only).
 *
 * Usage: crash_pub URI STORE PROGRESS RUN N
 *
 * It publishes the numbers 0 .. 2N-1 in order: number k < N as the payload
 * "k" at QoS 1 on crash/RUN/1, number k >= N as the payload "k-N" at QoS 2
 * on crash/RUN/2, with the client id "crash-pub-RUN", clean_session false,
 * auto-reconnect and a store at STORE (FERRY_SYNC_NORMAL). After each
 * ferry_publish returns FERRY_OK it pwrite()s k + 1 to the file PROGRESS
 * (20 digits and a newline at offset 0), then reports k. Once all 2N are
 * published it waits until ferry_stored_list is empty (everything
 * acknowledged), reports it and exits 0.
 *
 * Where a run starts (the number after the last one surely published):
 *
 *	resume = max(PROGRESS, highest number still listed by ferry_stored_list + 1)
 *
 * Neither skips nor repeats a number. Publishing k goes through these
 * points: (a) inside ferry_publish, k is committed to the store (only then
 * is it queued for sending, and the call returns FERRY_OK); (b) PROGRESS
 * becomes k + 1. A SIGKILL before (a) left k nowhere: never committed, so
 * never sent, and PROGRESS says k, so k is published again, for the first
 * time as far as the broker is concerned. A kill after (b) is covered by
 * PROGRESS. A kill between (a) and (b) finds k committed; a committed
 * message stays in the store until the broker acknowledges it, so k is
 * either still listed (resume after it: no repeat) or acknowledged. It
 * cannot have been acknowledged yet: that takes the send thread writing
 * it, a round trip through the broker and a store commit on the receive
 * thread, while from (a) to (b) this thread only queues it, returns and
 * calls pwrite, a few microseconds. (Strictly, a race won by a wide margin:
 * a thread descheduled right there for longer than an acknowledgement
 * takes, and killed right then, would publish k twice; the test would
 * report a QoS 2 duplicate.) And no number above k exists anywhere, so
 * nothing is skipped. The list is read before ferry_connect, so no
 * acknowledgement changes it meanwhile.
 *
 * Reports, one line each (a single write() to stdout):
 *	start RESUME STORED PROGRESS   before connecting (STORED: messages listed)
 *	p K                            K published and recorded in PROGRESS
 *	done RESTORED                  everything acknowledged (stats.restored)
 * Exit status: 0 done, 1 usage or system error, 2 a ferry error, 3 the store
 * did not drain within 120 s, 4 a delivery completed with an error. Errors
 * are explained on stderr.
 *
 * It asks for SIGKILL when its parent dies (prctl), so a test that crashes
 * leaves no publisher running. FERRY_CRASH_TRACE=FILE appends its packet
 * trace (log level DEBUG), each line prefixed with its pid, to FILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

/* Delivery completions, to wake the wait for an empty store. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static uint64_t completions, failures;

/* What resume needs to read back from the store. */
struct topics {
	char t1[128], t2[128];
	uint64_t n;
	int64_t highest; /* highest number listed, -1 if none */
	size_t listed;
};

/* Writes one report line to stdout with a single write(). */
__attribute__((format(printf, 1, 2))) static void report(const char *fmt, ...)
{
	char line[96];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	const char *p = line;
	while (len > 0) {
		ssize_t w = write(STDOUT_FILENO, p, (size_t)len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(1);
		p += w;
		len -= (int)w;
	}
}

/* FERRY_CRASH_TRACE=FILE: every log line (the packet trace) appended there. */
static int trace_fd = -1;

static void on_log(void *user, int level, const char *text)
{
	(void)user;
	(void)level;
	char line[640];
	int len = snprintf(line, sizeof line, "%d %s\n", (int)getpid(), text);
	if (len > (int)sizeof line - 1)
		len = (int)sizeof line - 1;
	if (write(trace_fd, line, (size_t)len) < 0)
		return;
}

static void on_delivered(ferry_client *c, void *user, ferry_token t, int rc)
{
	(void)c;
	(void)user;
	(void)t;
	if (rc)
		fprintf(stderr, "crash_pub: delivery failed: %s\n", ferry_strerror(rc));
	pthread_mutex_lock(&mu);
	completions++;
	failures += rc != FERRY_OK;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Parses a decimal number of exactly len bytes; -1 if it is not one. */
static int64_t parse_num(const char *p, size_t len)
{
	if (len == 0 || len > 18)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static bool topic_is(const struct ferry_stored_msg *m, const char *t)
{
	return m->topic_len == strlen(t) && memcmp(m->topic, t, m->topic_len) == 0;
}

static int note_stored(void *arg, const struct ferry_stored_msg *m)
{
	struct topics *t = arg;
	int64_t v = parse_num(m->payload, m->payload_len);
	t->listed++;
	if (v < 0 || (uint64_t)v >= t->n) {
		fprintf(stderr, "crash_pub: stored message with a bad payload\n");
		return 0;
	}
	if (topic_is(m, t->t2))
		v += (int64_t)t->n;
	else if (!topic_is(m, t->t1))
		fprintf(stderr, "crash_pub: stored message on an unknown topic\n");
	if (v > t->highest)
		t->highest = v;
	return 0;
}

static int stop_at_first(void *arg, const struct ferry_stored_msg *m)
{
	(void)arg;
	(void)m;
	return 1;
}

/* PROGRESS as a number (0 when empty or absent). */
static uint64_t read_progress(int fd)
{
	char buf[32] = {0};
	ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
	return got > 0 ? strtoull(buf, NULL, 10) : 0;
}

static void write_progress(int fd, uint64_t next)
{
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%020" PRIu64 "\n", next);
	if (pwrite(fd, buf, (size_t)len, 0) != len) {
		perror("crash_pub: pwrite");
		exit(1);
	}
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "crash_pub: %s: %s\n", what, ferry_strerror(rc));
	return 2;
}

static int make_client(const char *uri, const char *store, const char *run, ferry_client **c)
{
	char id[160];
	snprintf(id, sizeof id, "crash-pub-%s", run);
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = id;
	o.clean_session = false;
	o.store_path = store;
	o.store_sync = FERRY_SYNC_NORMAL;
	o.on_delivery_complete = on_delivered;
	const char *trace = getenv("FERRY_CRASH_TRACE");
	if (trace && *trace) {
		trace_fd = open(trace, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		o.on_log = trace_fd >= 0 ? on_log : NULL;
		o.log_level = FERRY_LOG_DEBUG;
	}
	o.reconnect_min_ms = 50;
	o.reconnect_max_ms = 400;
	o.reconnect_stable_ms = 2000;
	o.connect_timeout_ms = 2000;
	return ferry_client_create(&o, c);
}

/* Waits until the store holds nothing of this client (bounded, 120 s). */
static int wait_drained(ferry_client *c)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 120;
	for (;;) {
		pthread_mutex_lock(&mu);
		uint64_t seen = completions;
		pthread_mutex_unlock(&mu);
		int rc = ferry_stored_list(c, stop_at_first, NULL);
		if (rc < 0)
			return fail("ferry_stored_list", rc);
		if (rc == 0)
			return 0;
		/* Re-check at the next completion, or after 200 ms at most
		 * (a completion may be seen just before its row is removed). */
		struct timespec now, until;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)) {
			fprintf(stderr, "crash_pub: the store did not drain in 120 s\n");
			return 3;
		}
		until = now;
		until.tv_nsec += 200000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&mu);
		while (completions == seen)
			if (pthread_cond_timedwait(&cv, &mu, &until))
				break;
		pthread_mutex_unlock(&mu);
	}
}

static int publish_from(ferry_client *c, const struct topics *t, uint64_t k, int progress_fd)
{
	char payload[24];
	for (; k < 2 * t->n; k++) {
		bool first = k < t->n;
		int len = snprintf(payload, sizeof payload, "%" PRIu64, first ? k : k - t->n);
		int rc = ferry_publish(c, first ? t->t1 : t->t2, payload, (size_t)len,
		                       first ? 1 : 2, false, NULL, NULL);
		if (rc)
			return fail("ferry_publish", rc);
		write_progress(progress_fd, k + 1);
		report("p %" PRIu64 "\n", k);
	}
	return 0;
}

static int run(const char *uri, const char *store, int progress_fd, const char *run_name,
               uint64_t n)
{
	struct topics t = {.n = n, .highest = -1};
	snprintf(t.t1, sizeof t.t1, "crash/%s/1", run_name);
	snprintf(t.t2, sizeof t.t2, "crash/%s/2", run_name);
	ferry_client *c = NULL;
	int rc = make_client(uri, store, run_name, &c);
	if (rc)
		return fail("ferry_client_create", rc);
	rc = ferry_stored_list(c, note_stored, &t);
	if (rc) {
		ferry_client_destroy(c);
		return fail("ferry_stored_list", rc);
	}
	uint64_t progress = read_progress(progress_fd);
	uint64_t resume = progress;
	if (t.highest >= 0 && (uint64_t)t.highest + 1 > resume)
		resume = (uint64_t)t.highest + 1;
	report("start %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", resume, (uint64_t)t.listed, progress);
	ferry_token tok = 0;
	rc = ferry_connect(c, NULL, &tok);
	if (rc) {
		ferry_client_destroy(c);
		return fail("ferry_connect", rc);
	}
	rc = publish_from(c, &t, resume, progress_fd);
	if (!rc)
		rc = wait_drained(c);
	pthread_mutex_lock(&mu);
	if (!rc && failures) {
		fprintf(stderr, "crash_pub: %" PRIu64 " deliveries failed\n", failures);
		rc = 4;
	}
	pthread_mutex_unlock(&mu);
	if (!rc) {
		struct ferry_stats st;
		ferry_client_stats(c, &st);
		report("done %" PRIu64 "\n", st.restored);
		if (ferry_disconnect(c, 1000, NULL, &tok) == FERRY_OK)
			ferry_wait(c, tok, 5000);
	}
	ferry_client_destroy(c);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: crash_pub URI STORE PROGRESS RUN N\n");
		return 1;
	}
	/* Die with the test that started us (it runs us from its main thread). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		return 1;
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &a);
	pthread_condattr_destroy(&a);
	uint64_t n = strtoull(argv[5], NULL, 10);
	int fd = open(argv[3], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (n == 0 || fd < 0) {
		fprintf(stderr, "crash_pub: bad N or PROGRESS %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	int rc = run(argv[1], argv[2], fd, argv[4], n);
	close(fd);
	return rc;
}

/*
 * fault_pub.c - the durable publisher that test_syscall_faults.c runs under
 * libfiu's fiu-run (failing system calls and allocations), then again
 * without faults on the same store (public API only).
 *
 * Usage: fault_pub URI STORE RUN N WAIT_MS
 *
 * Client id "fault-pub-RUN", clean_session false, auto-reconnect, a store
 * at STORE with FERRY_SYNC_FULL (so fdatasync runs at every commit). It
 * publishes the numbers 0 .. N-1 on the topic "fault/RUN", payload the
 * decimal number, even numbers at QoS 1 and odd ones at QoS 2. A publish
 * that fails is reported and the next number is tried (never retried: a
 * number is either accepted once or refused). Then it waits up to WAIT_MS
 * until ferry_stored_list is empty. With N = 0 (the clean run after a
 * faulty one) it publishes nothing of its own: it delivers what the store
 * holds, then publishes "end" at QoS 2 and waits for that too, so a
 * subscriber that sees "end" has seen everything this publisher sent.
 *
 * FAULT_PUB_ARM="CMD;CMD..." (libfiu remote-control commands, e.g.
 * "enable_random name=libc/mm/malloc,probability=0.01") are sent to this
 * process's own libfiu control FIFO ($FIU_CTRL_FIFO-PID.in, answered on
 * .out) once the client is created and connected (or 5 s after
 * ferry_connect, whichever comes first): faults that start after set-up.
 *
 * Reports on stdout, one line each, written with the raw write system
 * call so that injected faults never touch them:
 *	start LISTED       before connecting (messages the store holds)
 *	armed              FAULT_PUB_ARM sent and acknowledged
 *	p K                ferry_publish of K returned FERRY_OK (K committed)
 *	e K NAME           ferry_publish of K failed with the error NAME
 *	x WHAT NAME        another ferry call failed (create, connect, list)
 *	k NAME             the completion of ferry_connect
 *	c                  connected
 *	t                  a connection attempt failed (first or reconnect)
 *	l NAME             connection lost, with its cause
 *	f NAME             a delivery completed with an error
 *	done               the store is empty
 *	undrained          WAIT_MS passed with messages still stored
 * Exit status: 0 every call succeeded and the store drained, 1 usage or
 * system error, 2 a ferry call failed (the store drained), 3 the store did
 * not drain in time (whatever else). It asks for SIGKILL when its parent
 * dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static int connects;     /* guarded by mu */
static uint64_t changes; /* completions and connections, guarded by mu */
static int errors;       /* ferry calls of the main thread that failed */

/* write(2) without libc's wrapper, which libfiu intercepts. */
static long raw_write(int fd, const char *p, size_t len)
{
	return syscall(SYS_write, fd, p, len);
}

/* One report line to fd with a single raw write (short lines, no stdio:
 * vsnprintf with these formats does not allocate). */
__attribute__((format(printf, 2, 3))) static void say(int fd, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len >= (int)sizeof line)
		len = (int)sizeof line - 1;
	const char *p = line;
	while (len > 0) {
		long w = raw_write(fd, p, (size_t)len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		p += w;
		len -= (int)w;
	}
}

static void bump(int connected)
{
	pthread_mutex_lock(&mu);
	connects += connected;
	changes++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_connected(ferry_client *c, void *user, const struct ferry_connected_info *info)
{
	(void)c;
	(void)user;
	(void)info;
	say(1, "c\n");
	bump(1);
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	(void)c;
	(void)user;
	(void)text;
	say(1, "l %s\n", ferry_errname(cause));
	bump(0);
}

/* A connection attempt that failed (ferry logs each one as a warning). */
static void on_log(void *user, int level, const char *text)
{
	(void)user;
	if (level == FERRY_LOG_WARNING && strncmp(text, "connect to ", 11) == 0 &&
	    strstr(text, " failed: "))
		say(1, "t\n");
}

static void on_delivered(ferry_client *c, void *user, ferry_token t, int rc)
{
	(void)c;
	(void)user;
	(void)t;
	if (rc)
		say(1, "f %s\n", ferry_errname(rc));
	bump(0);
}

static void on_connect_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	(void)c;
	(void)user;
	say(1, "k %s\n", ferry_errname(r->rc));
}

/* A failed ferry call other than a publish: reported and counted. */
static int failed(const char *what, int rc)
{
	say(1, "x %s %s\n", what, ferry_errname(rc));
	errors++;
	return rc;
}

/* True once `t` (CLOCK_MONOTONIC) has passed. */
static bool past(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Waits for the next change, or until `until`. */
static void wait_change(uint64_t seen, const struct timespec *until)
{
	pthread_mutex_lock(&mu);
	while (changes == seen)
		if (pthread_cond_timedwait(&cv, &mu, until))
			break;
	pthread_mutex_unlock(&mu);
}

static void deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int count_one(void *arg, const struct ferry_stored_msg *m)
{
	(void)m;
	(*(size_t *)arg)++;
	return 0;
}

static int stop_at_first(void *arg, const struct ferry_stored_msg *m)
{
	(void)arg;
	(void)m;
	return 1;
}

/* Waits until the store is empty, re-checking at every completion and at
 * least every 100 ms; true when it is. A failing ferry_stored_list (the
 * faults reach it too) is reported once and retried. */
static bool wait_drained(ferry_client *c, long ms)
{
	struct timespec end, step;
	deadline(&end, ms);
	bool told = false;
	for (;;) {
		pthread_mutex_lock(&mu);
		uint64_t seen = changes;
		pthread_mutex_unlock(&mu);
		int rc = ferry_stored_list(c, stop_at_first, NULL);
		if (rc == 0)
			return true;
		if (rc < 0 && !told) {
			failed("ferry_stored_list", rc);
			told = true;
		}
		if (past(&end))
			return false;
		deadline(&step, 100);
		if (step.tv_sec > end.tv_sec ||
		    (step.tv_sec == end.tv_sec && step.tv_nsec > end.tv_nsec))
			step = end;
		wait_change(seen, &step);
	}
}

/* Sends one libfiu control command to our own FIFO and reads the answer
 * ("0" or "-1"), all with raw system calls. 0 on success. */
static int fiu_command(const char *prefix, const char *cmd, size_t len)
{
	char in[512], out[512], reply[16] = {0};
	snprintf(in, sizeof in, "%s-%d.in", prefix, (int)getpid());
	snprintf(out, sizeof out, "%s-%d.out", prefix, (int)getpid());
	long fd = syscall(SYS_openat, AT_FDCWD, in, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char line[512];
	int n = snprintf(line, sizeof line, "%.*s\n", (int)len, cmd);
	long w = raw_write((int)fd, line, (size_t)n);
	syscall(SYS_close, fd);
	fd = syscall(SYS_openat, AT_FDCWD, out, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || w != n)
		return -1;
	long r = syscall(SYS_read, fd, reply, sizeof reply - 1);
	syscall(SYS_close, fd);
	return r > 0 && reply[0] == '0' ? 0 : -1;
}

/* FAULT_PUB_ARM, once connected (or after 5 s). */
static void arm(void)
{
	const char *cmds = getenv("FAULT_PUB_ARM"), *prefix = getenv("FIU_CTRL_FIFO");
	if (!cmds || !*cmds)
		return;
	struct timespec until;
	deadline(&until, 5000);
	pthread_mutex_lock(&mu);
	while (connects == 0)
		if (pthread_cond_timedwait(&cv, &mu, &until))
			break;
	pthread_mutex_unlock(&mu);
	for (const char *p = cmds; *p;) {
		size_t len = strcspn(p, ";");
		if (!prefix || fiu_command(prefix, p, len) != 0) {
			say(2, "fault_pub: could not arm '%.*s'\n", (int)len, p);
			_exit(1);
		}
		p += len + (p[len] == ';');
	}
	say(1, "armed\n");
}

static int make_client(const char *uri, const char *store, const char *run, ferry_client **c)
{
	char id[160];
	snprintf(id, sizeof id, "fault-pub-%s", run);
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = id;
	o.clean_session = false;
	o.store_path = store;
	o.store_sync = FERRY_SYNC_FULL;
	o.on_connected = on_connected;
	o.on_connection_lost = on_lost;
	o.on_delivery_complete = on_delivered;
	o.on_log = on_log;
	o.reconnect_min_ms = 20;
	o.reconnect_max_ms = 200;
	o.reconnect_stable_ms = 2000;
	o.connect_timeout_ms = 2000;
	o.keepalive_s = 2;
	return ferry_client_create(&o, c);
}

static void publish_all(ferry_client *c, const char *topic, unsigned long n)
{
	char payload[24];
	for (unsigned long k = 0; k < n; k++) {
		int len = snprintf(payload, sizeof payload, "%lu", k);
		int rc = ferry_publish(c, topic, payload, (size_t)len, 1 + (int)(k & 1), false,
		                       NULL, NULL);
		if (rc) {
			say(1, "e %lu %s\n", k, ferry_errname(rc));
			errors++;
		} else {
			say(1, "p %lu\n", k);
		}
	}
}

static int run(const char *uri, const char *store, const char *run_name, unsigned long n,
               long wait_ms)
{
	char topic[128];
	snprintf(topic, sizeof topic, "fault/%s", run_name);
	ferry_client *c = NULL;
	int rc = make_client(uri, store, run_name, &c);
	if (rc)
		return failed("ferry_client_create", rc), 2;
	size_t listed = 0;
	rc = ferry_stored_list(c, count_one, &listed);
	if (rc)
		failed("ferry_stored_list", rc);
	say(1, "start %zu\n", listed);
	struct ferry_call call = {.on_done = on_connect_done};
	rc = ferry_connect(c, &call, NULL);
	if (rc) {
		failed("ferry_connect", rc);
		ferry_client_destroy(c);
		return 2;
	}
	arm();
	publish_all(c, topic, n);
	bool drained = wait_drained(c, wait_ms);
	if (drained && n == 0) {
		rc = ferry_publish(c, topic, "end", 3, 2, false, NULL, NULL);
		if (rc)
			failed("ferry_publish end", rc);
		drained = wait_drained(c, wait_ms);
	}
	say(1, drained ? "done\n" : "undrained\n");
	ferry_token tok = 0;
	if (drained && ferry_disconnect(c, 1000, NULL, &tok) == FERRY_OK)
		ferry_wait(c, tok, 3000);
	ferry_client_destroy(c);
	return !drained ? 3 : errors ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		say(2, "usage: fault_pub URI STORE RUN N WAIT_MS\n");
		return 1;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		return 1;
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &a);
	pthread_condattr_destroy(&a);
	unsigned long n = strtoul(argv[4], NULL, 10);
	long wait_ms = strtol(argv[5], NULL, 10);
	if (wait_ms <= 0) {
		say(2, "fault_pub: bad WAIT_MS\n");
		return 1;
	}
	return run(argv[1], argv[2], argv[3], n, wait_ms);
}

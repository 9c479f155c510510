/*
 * crash_sub.c - the subscriber that test_crash.c kills with SIGKILL and
 * starts again on the same SQLite store (public API only).
 *
 * Usage: crash_sub URI STORE CLIENT_ID FILTER OUTPUT
 *
 * It connects with clean_session false, auto-reconnect and a store at
 * STORE (FERRY_SYNC_NORMAL) - or, when STORE is "-", with clean_session
 * true and no store (a consumer whose session ends with it, as the cluster
 * suite's shared-subscription consumers) - subscribes to FILTER at QoS 2,
 * and for every
 * message whose payload is a number K appends "K\n" to OUTPUT (opened with
 * O_APPEND, one write() per message, inside on_message), then reports it.
 * A message whose topic ends in "/end" ends the run: it disconnects and
 * exits 0. Any other payload is appended as "?\n" (the test counts those).
 *
 * The store is what makes a restart safe: the id of an inbound QoS 2
 * message is committed before on_message runs, so the broker's resend after
 * a SIGKILL is acknowledged without being delivered again. A kill between
 * that commit and the end of on_message loses the message for OUTPUT; it
 * never duplicates it.
 *
 * Reports, one line each (a single write() to stdout):
 *	ready        subscribed (the SUBACK arrived)
 *	m K          K was appended to OUTPUT
 *	done         the end message arrived
 * Exit status: 0 done, 1 usage or system error, 2 a ferry error, 3 no end
 * message within 300 s. Errors are explained on stderr.
 *
 * It asks for SIGKILL when its parent dies (prctl), so a test that crashes
 * leaves no subscriber running.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ferry.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static bool ended;
static int out_fd = -1;

/* Writes all of len bytes with one write() (retried only if short). */
static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("crash_sub: write");
			exit(1);
		}
		p += w;
		len -= (size_t)w;
	}
}

static bool is_number(const char *p, size_t len)
{
	if (len == 0 || len > 18)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	(void)user;
	if (m->topic_len >= 4 && strcmp(m->topic + m->topic_len - 4, "/end") == 0) {
		pthread_mutex_lock(&mu);
		ended = true;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		return;
	}
	char line[32];
	size_t len = m->payload_len;
	if (is_number(m->payload, len)) {
		memcpy(line, m->payload, len);
		line[len++] = '\n';
	} else {
		memcpy(line, "?\n", 2);
		len = 2;
	}
	write_all(out_fd, line, len); /* the application's durable effect */
	char rep[40];
	int n = snprintf(rep, sizeof rep, "m %.*s", (int)len, line);
	write_all(STDOUT_FILENO, rep, (size_t)n);
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "crash_sub: %s: %s\n", what, ferry_strerror(rc));
	return 2;
}

/* Waits (300 s at most) for the end message. */
static bool wait_end(void)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 300;
	pthread_mutex_lock(&mu);
	while (!ended)
		if (pthread_cond_timedwait(&cv, &mu, &until))
			break;
	bool ok = ended;
	pthread_mutex_unlock(&mu);
	return ok;
}

static int run(char **argv)
{
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = argv[1];
	bool clean = strcmp(argv[2], "-") == 0;
	o.store_path = clean ? NULL : argv[2];
	o.store_sync = FERRY_SYNC_NORMAL;
	o.client_id = argv[3];
	o.clean_session = clean;
	o.on_message = on_message;
	o.reconnect_min_ms = 50;
	o.reconnect_max_ms = 400;
	o.reconnect_stable_ms = 2000;
	o.connect_timeout_ms = 2000;
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	if (rc)
		return fail("ferry_client_create", rc);
	ferry_token tok = 0;
	rc = ferry_connect(c, NULL, &tok);
	if (!rc)
		rc = ferry_wait(c, tok, 20000);
	if (rc) {
		ferry_client_destroy(c);
		return fail("connect", rc);
	}
	rc = ferry_subscribe(c, argv[4], 2, NULL, &tok);
	if (!rc)
		rc = ferry_wait(c, tok, 20000);
	if (rc) {
		ferry_client_destroy(c);
		return fail("subscribe", rc);
	}
	write_all(STDOUT_FILENO, "ready\n", 6);
	if (!wait_end()) {
		fprintf(stderr, "crash_sub: no end message in 300 s\n");
		ferry_client_destroy(c);
		return 3;
	}
	write_all(STDOUT_FILENO, "done\n", 5);
	if (ferry_disconnect(c, 1000, NULL, &tok) == FERRY_OK)
		ferry_wait(c, tok, 5000);
	ferry_client_destroy(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: crash_sub URI STORE CLIENT_ID FILTER OUTPUT\n");
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
	out_fd = open(argv[5], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (out_fd < 0) {
		fprintf(stderr, "crash_sub: %s: %s\n", argv[5], strerror(errno));
		return 1;
	}
	int rc = run(argv);
	close(out_fd);
	return rc;
}

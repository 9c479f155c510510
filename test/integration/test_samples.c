/*
 * test_samples.c - runs each built sample (samples/codec_demo, pub_min,
 * sub_min, async_pubsub, gateway, request_response, durable_queue,
 * tls_client_cert, and the demo script) as a child process, against a real
 * mosquitto where it needs one, and checks its exit status and the key
 * lines of its output, so no sample rots.
 *
 * The samples are found under $top_builddir (set by make check; "." when the
 * variable is unset). Every child is bounded: its output is read through a
 * pipe with poll() against a deadline, and a child still running at the
 * deadline is killed (SIGKILL) and reaped, failing the test. No sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "suites.h"
#include "support/broker.h"
#include "unit/util.h"

/* Bound for one sample run (the gateway connects 1,000 clients). */
#define RUN_MS 60000

static struct test_broker broker;
static const char *uri;

/* A running sample: its pid and everything it wrote to stdout and stderr. */
struct child {
	pid_t pid;  /* 0 once reaped */
	int fd;     /* read end of its stdout+stderr pipe; -1 after EOF */
	int status; /* waitpid status, once reaped */
	size_t len;
	char out[32768]; /* NUL-terminated; the first sizeof - 1 bytes */
};

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Starts top_builddir/samples/NAME with the arguments args (NULL-ended),
 * its stdout and stderr into one pipe. Returns false (with a CUnit failure)
 * if it could not be started.
 */
static bool child_start(struct child *ch, const char *name, const char *const *args)
{
	const char *top = getenv("top_builddir");
	char path[512];
	snprintf(path, sizeof path, "%s/samples/%s", top && *top ? top : ".", name);
	memset(ch, 0, sizeof *ch);
	ch->fd = -1;
	if (access(path, X_OK) != 0) {
		fprintf(stderr, "\n    %s: not built (run make first)\n", path);
		CU_FAIL("sample program missing");
		return false;
	}
	char *argv[16];
	size_t n = 0;
	argv[n++] = path;
	for (size_t i = 0; args && args[i] && n < 15; i++)
		argv[n++] = (char *)args[i]; /* execv's argv is not const, but it is not written */
	argv[n] = NULL;

	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		CU_FAIL("pipe2 failed");
		return false;
	}
	pid_t pid = fork();
	if (pid == 0) { /* child: only async-signal-safe calls until execv */
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execv(path, argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		CU_FAIL("fork failed");
		return false;
	}
	ch->pid = pid;
	ch->fd = fds[0];
	return true;
}

/* Reads what is there (waiting until deadline); false at EOF or the deadline. */
static bool child_read_some(struct child *ch, int64_t deadline)
{
	if (ch->fd < 0)
		return false;
	int64_t left = deadline - now_ms();
	if (left <= 0)
		return false;
	struct pollfd p = {.fd = ch->fd, .events = POLLIN};
	int r = poll(&p, 1, (int)left);
	if (r < 0 && errno == EINTR)
		return true;
	if (r <= 0)
		return false;
	char buf[4096];
	ssize_t got = read(ch->fd, buf, sizeof buf);
	if (got < 0 && errno == EINTR)
		return true;
	if (got <= 0) {
		close(ch->fd);
		ch->fd = -1;
		return false;
	}
	size_t room = sizeof ch->out - 1 - ch->len;
	size_t keep = (size_t)got < room ? (size_t)got : room;
	memcpy(ch->out + ch->len, buf, keep);
	ch->len += keep;
	ch->out[ch->len] = '\0';
	return true;
}

/* Reads until the output contains text; false at EOF or after timeout_ms. */
static bool child_wait_for(struct child *ch, const char *text, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	while (!strstr(ch->out, text))
		if (!child_read_some(ch, deadline))
			return strstr(ch->out, text) != NULL;
	return true;
}

/*
 * Reads to EOF and reaps the child, killing it if it has not closed its
 * output within timeout_ms. Returns its exit code, or -1 if it was killed or
 * died of a signal. When that is not `want`, prints its output.
 */
static int child_finish(struct child *ch, int timeout_ms, int want)
{
	int64_t deadline = now_ms() + timeout_ms;
	while (child_read_some(ch, deadline))
		;
	bool timed_out = ch->fd >= 0; /* no EOF: still running */
	if (timed_out)
		kill(ch->pid, SIGKILL);
	if (ch->fd >= 0)
		close(ch->fd);
	ch->fd = -1;
	/* EOF means the child closed its output, which it does by exiting. */
	while (waitpid(ch->pid, &ch->status, 0) < 0 && errno == EINTR)
		;
	ch->pid = 0;
	int code = !timed_out && WIFEXITED(ch->status) ? WEXITSTATUS(ch->status) : -1;
	if (code != want)
		fprintf(stderr, "\n    sample %s (exit %d, expected %d); its output:\n%s\n",
		        timed_out ? "timed out and was killed" : "ended", code, want, ch->out);
	return code;
}

/* Runs a sample to its end; returns its exit code (-1: killed or crashed)
 * and prints its output if that is not `want`. */
static int run_sample(struct child *ch, const char *name, const char *const *args, int want)
{
	if (!child_start(ch, name, args))
		return -1;
	return child_finish(ch, RUN_MS, want);
}

static int suite_init(void)
{
	int rc = test_broker_start(&broker, NULL);
	if (rc) {
		fprintf(stderr, "broker: %s\n", test_broker_error(&broker));
		return 1;
	}
	uri = test_broker_uri(&broker);
	return 0;
}

static int suite_clean(void)
{
	test_broker_cleanup(&broker);
	return 0;
}

/* A closed port on 127.0.0.1, as a URI. */
static void dead_uri(char *out, size_t cap)
{
	int port = test_broker_free_port();
	CU_ASSERT_FATAL(port > 0);
	snprintf(out, cap, "tcp://127.0.0.1:%d", port);
}

/* ---- codec_demo ------------------------------------------------------------- */

/* The codec demo needs no broker: every packet survives encode, one-byte
 * framing and decode, and the malformed ones are refused with their reason. */
static void test_codec_demo_round_trips(void)
{
	struct child ch;
	CU_ASSERT_EQUAL(run_sample(&ch, "codec_demo", (const char *const[]){NULL}, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "codec demo: encode -> bytes -> frame reader -> decode"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "decoded from 70 one-byte chunks: CONNECT v=3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "SUBACK with no reason codes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "-> FERRY_ERR_EMPTY_PAYLOAD"));
}

/* ---- pub_min and sub_min ---------------------------------------------------- */

static void test_pub_min_publishes(void)
{
	struct child ch;
	CU_ASSERT_EQUAL(run_sample(&ch, "pub_min", (const char *const[]){uri, NULL}, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "published \"hello from pub_min\" to samples/hello"));
}

static void test_pub_min_fails_clearly_without_broker(void)
{
	char dead[64];
	dead_uri(dead, sizeof dead);
	struct child ch;
	CU_ASSERT_TRUE_FATAL(child_start(&ch, "pub_min", (const char *const[]){dead, NULL}));
	CU_ASSERT_EQUAL(child_finish(&ch, RUN_MS, 1), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "pub_min: cannot connect to"));
	CU_ASSERT_PTR_NULL(strstr(ch.out, "published"));
}

/* sub_min prints what pub_min sent: sub_min is started first and pub_min run
 * only once sub_min said it is subscribed (it prints that after the SUBACK). */
static void test_sub_min_prints_what_pub_min_sent(void)
{
	char filter[64], topic[64], line[128];
	snprintf(filter, sizeof filter, "samples/test-%ld/#", (long)getpid());
	snprintf(topic, sizeof topic, "samples/test-%ld/greeting", (long)getpid());
	snprintf(line, sizeof line, "%s: hello from the samples suite\n", topic);

	struct child sub, pub;
	CU_ASSERT_TRUE_FATAL(
	    child_start(&sub, "sub_min", (const char *const[]){uri, filter, "1", "30", NULL}));
	bool subscribed = child_wait_for(&sub, "subscribed to ", RUN_MS);
	CU_ASSERT_TRUE(subscribed);
	if (subscribed) {
		const char *const args[] = {uri, topic, "hello from the samples suite", NULL};
		CU_ASSERT_EQUAL(run_sample(&pub, "pub_min", args, 0), 0);
	}
	CU_ASSERT_EQUAL(child_finish(&sub, RUN_MS, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(sub.out, line));
	CU_ASSERT_PTR_NOT_NULL(strstr(sub.out, "received 1 message\n"));
}

/* With nothing published, the bounded wait ends it (exit 1, with the reason). */
static void test_sub_min_gives_up_at_its_deadline(void)
{
	char filter[64];
	snprintf(filter, sizeof filter, "samples/silent-%ld/#", (long)getpid());
	struct child ch;
	const char *const args[] = {uri, filter, "1", "1", NULL};
	CU_ASSERT_EQUAL(run_sample(&ch, "sub_min", args, 1), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "subscribed to "));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "sub_min: timed out after 1 s with 0 of 1 messages"));
}

/* ---- async_pubsub and gateway ---------------------------------------------- */

static void test_async_pubsub_completes_everything(void)
{
	struct child ch;
	CU_ASSERT_EQUAL(run_sample(&ch, "async_pubsub", (const char *const[]){uri, "30", NULL}, 0),
	                0);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "async_pubsub: OK\n"));
	/* Every publish completed once, with the token ferry_publish returned;
	 * every QoS 1/2 message came back, the alerts through their own callback. */
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "summary: 30 published, 30 completed exactly once, "
	                                      "30 with their own token, 0 failed; "
	                                      "30 delivery-complete; received 21 of 21 QoS 1/2 "
	                                      "messages (3 alerts)"));
	char connected[96]; /* the connected callback, with the server and session present */
	snprintf(connected, sizeof connected, "connected to %s (session present: no)", uri);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, connected));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "[ferry info]")); /* the log callback */
}

static void test_async_pubsub_fails_clearly_without_broker(void)
{
	char dead[64];
	dead_uri(dead, sizeof dead);
	struct child ch;
	CU_ASSERT_EQUAL(run_sample(&ch, "async_pubsub", (const char *const[]){dead, NULL}, 1), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "async_pubsub: connect failed: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "async_pubsub: FAILED\n"));
}

/* 1,000 clients (the default) on one context: two threads for all of them
 * (counted by name, so a sanitizer's own runtime thread does not count). */
static void test_gateway_1000_clients_three_threads(void)
{
	struct child ch;
	CU_ASSERT_EQUAL(run_sample(&ch, "gateway", (const char *const[]){uri, NULL}, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "gateway: 1000 clients, 1000 messages, "));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, " threads (2 for ferry)\n"));
}

/* ---- request_response (MQTT 5) ------------------------------------------------ */

/* ferry_request gets the responder's answer (the question in capitals) with
 * the responder's user property: the correlation data matched. */
static void test_request_response_gets_the_answer(void)
{
	struct child ch;
	const char *const args[] = {uri, "what is the answer?", NULL};
	CU_ASSERT_TRUE_FATAL(child_start(&ch, "request_response", args));
	char line[128]; /* the responder's client id carries the sample's pid */
	snprintf(line, sizeof line, "response \"WHAT IS THE ANSWER?\" from rr-responder-%ld\n",
	         (long)ch.pid);
	CU_ASSERT_EQUAL(child_finish(&ch, RUN_MS, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, line));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "request_response: OK\n"));
	CU_ASSERT_PTR_NULL(strstr(ch.out, "without a response topic"));
}

/* ---- durable_queue, tls_client_cert and the demo -------------------------- */

#include <ferry/error.h>

#include "support/certs.h"

extern char **environ;

/* durable_queue publishes while nothing listens (the messages go to its
 * SQLite store), then a second run on the same store sends all of them to
 * the broker, where a counting subscriber sees every number once. */
static void test_durable_queue_sends_what_was_stored_offline(void)
{
	char dead[64], store[512];
	dead_uri(dead, sizeof dead);
	snprintf(store, sizeof store, "%s/durable-queue-%ld.db", test_broker_dir(&broker),
	         (long)getpid());

	struct child off, sub, pub;
	const char *const queue[] = {"publish", dead, store, "300", "--no-wait", NULL};
	CU_ASSERT_EQUAL_FATAL(run_sample(&off, "durable_queue", queue, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(off.out, "stored 300 messages (1..300) in "));

	CU_ASSERT_TRUE_FATAL(child_start(&sub, "durable_queue",
	                                 (const char *const[]){"count", uri, "300", "30", NULL}));
	bool subscribed = child_wait_for(&sub, "subscribed to samples/durable_queue\n", RUN_MS);
	CU_ASSERT_TRUE(subscribed);
	if (subscribed) {
		const char *const drain[] = {"publish", uri, store, "0", NULL};
		CU_ASSERT_EQUAL(run_sample(&pub, "durable_queue", drain, 0), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(pub.out, "300 messages left in "));
		CU_ASSERT_PTR_NOT_NULL(strstr(pub.out, "  acknowledged 300 of 300 (100%)\n"));
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(pub.out, "all 300 messages acknowledged; 0 left in the store\n"));
	}
	CU_ASSERT_EQUAL(child_finish(&sub, RUN_MS, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(sub.out, "received 300 of 300 messages, "));
	CU_ASSERT_PTR_NOT_NULL(strstr(sub.out, " duplicates, 0 missing\n"));
}

/* A later run continues the numbering after what is still stored, and an
 * unknown mode is refused with the usage text. */
static void test_durable_queue_numbers_on_and_checks_usage(void)
{
	char dead[64], store[512];
	dead_uri(dead, sizeof dead);
	snprintf(store, sizeof store, "%s/durable-queue-next-%ld.db", test_broker_dir(&broker),
	         (long)getpid());
	struct child a, b, bad;
	const char *const queue[] = {"publish", dead, store, "5", "--no-wait", NULL};
	CU_ASSERT_EQUAL_FATAL(run_sample(&a, "durable_queue", queue, 0), 0);
	CU_ASSERT_EQUAL_FATAL(run_sample(&b, "durable_queue", queue, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.out, "5 messages left in "));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.out, "stored 5 messages (6..10) in "));
	CU_ASSERT_EQUAL(run_sample(&bad, "durable_queue", (const char *const[]){"send", NULL}, 1), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(bad.out, "usage: durable_queue publish URI STORE COUNT"));
}

/*
 * Starts a broker whose extra listener on a free port speaks TLS with the
 * test server certificate and requires a client certificate signed by the
 * test CA; *port is that listener.
 */
static int mutual_tls_broker(struct test_broker *b, const struct test_certs *certs, int *port)
{
	int rc = FERRY_ERR_STATE;
	for (int attempt = 0; attempt < 3 && rc; attempt++) { /* a port taken meanwhile */
		int p = test_broker_free_port();
		if (p < 0)
			return p;
		char cfg[2048];
		snprintf(cfg, sizeof cfg,
		         "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
		         "require_certificate true\n",
		         p, certs->ca, certs->server_cert, certs->server_key);
		const int wait[2] = {p, 0};
		rc = test_broker_start(b, &(struct test_broker_opts){.extra_config = cfg,
		                                                     .wait_ports = wait});
		if (rc) {
			fprintf(stderr, "tls broker: %s\n", test_broker_error(b));
			test_broker_cleanup(b);
		}
		*port = p;
	}
	return rc;
}

/* tls_client_cert gets its message back over a listener that requires a
 * client certificate; trusting the wrong CA, it fails and says so. */
static void test_tls_client_cert_round_trip(void)
{
	struct test_certs certs;
	struct test_broker tb;
	memset(&tb, 0, sizeof tb);
	int port = 0;
	int rc = test_certs_make(&certs);
	if (rc)
		fprintf(stderr, "\n    certs: %s\n", certs.error);
	CU_ASSERT_EQUAL(rc, FERRY_OK);
	if (!rc)
		rc = mutual_tls_broker(&tb, &certs, &port);
	if (!rc) {
		char tls_uri[64];
		snprintf(tls_uri, sizeof tls_uri, "ssl://127.0.0.1:%d", port);
		struct child ok, bad;
		const char *const args[] = {tls_uri, certs.ca, certs.client_cert, certs.client_key,
		                            NULL};
		CU_ASSERT_TRUE_FATAL(child_start(&ok, "tls_client_cert", args));
		char line[128];
		snprintf(line, sizeof line, "received \"hello over mutual TLS from tls-cert-%ld\"",
		         (long)ok.pid);
		CU_ASSERT_EQUAL(child_finish(&ok, RUN_MS, 0), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(ok.out, line));
		CU_ASSERT_PTR_NOT_NULL(strstr(ok.out, "tls_client_cert: OK\n"));

		const char *const wrong[] = {tls_uri, certs.other_ca, certs.client_cert,
		                             certs.client_key, NULL};
		CU_ASSERT_EQUAL(run_sample(&bad, "tls_client_cert", wrong, 1), 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(bad.out, "tls_client_cert: cannot connect at "));
		CU_ASSERT_PTR_NOT_NULL(strstr(bad.out, "tls_client_cert: FAILED\n"));
		CU_ASSERT_PTR_NULL(strstr(bad.out, "received "));
	}
	CU_ASSERT_EQUAL(rc, FERRY_OK);
	test_broker_cleanup(&tb);
	test_certs_cleanup(&certs);
}

/* The README's first command: samples/demo.sh (with fewer messages) starts
 * its own mosquitto, drains the store across a SIGKILL, reports lost 0,
 * prints plain lines when its output is not a terminal, and leaves neither
 * its temporary directory nor its broker behind. */
static void test_demo_script_loses_nothing(void)
{
	const char *src = getenv("top_srcdir"), *top = getenv("top_builddir");
	char script[512];
	snprintf(script, sizeof script, "%s/samples/demo.sh", src && *src ? src : ".");
	const char *build = top && *top ? top : ".";

	/* the environment, with a smaller count */
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = calloc(n + 2, sizeof *envp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(envp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "FERRY_DEMO_COUNT=", 17) != 0)
			envp[k++] = environ[i];
	envp[k++] = (char *)"FERRY_DEMO_COUNT=20000";

	struct child ch;
	memset(&ch, 0, sizeof ch);
	int fds[2];
	CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid == 0) { /* child: only async-signal-safe calls until execve */
		setpgid(0, 0); /* its own process group: a timeout kills its children too */
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execve("/bin/sh", (char *const[]){(char *)"sh", script, (char *)build, NULL}, envp);
		_exit(127);
	}
	close(fds[1]);
	free(envp);
	CU_ASSERT_TRUE_FATAL(pid > 0);
	ch.pid = pid;
	ch.fd = fds[0];
	CU_ASSERT_EQUAL(child_finish(&ch, 2 * RUN_MS, 0), 0);
	kill(-pid, SIGKILL); /* anything of the group still running after a timeout */
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "== Summary: published 20000, delivered 20000, lost 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.out, "stored 20000 messages (1..20000) in "));
	CU_ASSERT_PTR_NULL(strchr(ch.out, '\r')); /* not a terminal: no carriage returns */

	/* its temporary directory is gone, and so is its broker */
	const char *dir = strstr(ch.out, "/ferry-demo.");
	const char *end = dir ? strstr(dir, "/queue.db") : NULL;
	CU_ASSERT_PTR_NOT_NULL(end);
	if (dir && end) {
		const char *start = dir;
		while (start > ch.out && start[-1] != ' ')
			start--;
		char path[512];
		snprintf(path, sizeof path, "%.*s", (int)(end - start), start);
		CU_ASSERT_EQUAL(access(path, F_OK), -1);
	}
	const char *bp = strstr(ch.out, "mosquitto (pid ");
	CU_ASSERT_PTR_NOT_NULL(bp);
	if (bp) {
		pid_t broker_pid = (pid_t)atol(bp + strlen("mosquitto (pid "));
		CU_ASSERT_TRUE(broker_pid > 0 && kill(broker_pid, 0) == -1 && errno == ESRCH);
	}
}

void register_samples_suite(void)
{
	CU_pSuite s = CU_add_suite("samples", suite_init, suite_clean);
	if (!s) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		abort();
	}
	test_add(s, "codec_demo round-trips and refuses", test_codec_demo_round_trips);
	test_add(s, "pub_min publishes", test_pub_min_publishes);
	test_add(s, "pub_min fails clearly without a broker",
	         test_pub_min_fails_clearly_without_broker);
	test_add(s, "sub_min prints what pub_min sent", test_sub_min_prints_what_pub_min_sent);
	test_add(s, "sub_min gives up at its deadline", test_sub_min_gives_up_at_its_deadline);
	test_add(s, "async_pubsub completes everything", test_async_pubsub_completes_everything);
	test_add(s, "async_pubsub fails clearly without a broker",
	         test_async_pubsub_fails_clearly_without_broker);
	test_add(s, "gateway: 1000 clients, two ferry threads",
	         test_gateway_1000_clients_three_threads);
	test_add(s, "request_response gets the answer", test_request_response_gets_the_answer);
	test_add(s, "durable_queue sends what was stored offline",
	         test_durable_queue_sends_what_was_stored_offline);
	test_add(s, "durable_queue numbers on and checks its usage",
	         test_durable_queue_numbers_on_and_checks_usage);
	test_add(s, "tls_client_cert round trip over mutual TLS", test_tls_client_cert_round_trip);
	test_add(s, "demo.sh loses nothing and cleans up", test_demo_script_loses_nothing);
}

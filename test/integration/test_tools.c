/*
 * test_tools.c - the installed command-line tools, ferry-pub and ferry-sub,
 * run as programs against a real mosquitto on 127.0.0.1: a round trip at
 * each QoS, -v output, the message sources (-l, -s, -f, -n), -L URLs with
 * credentials, and the documented exit status of every failure.
 *
 * The binaries are found under $top_builddir/tools (set by make check; "."
 * otherwise). They run with posix_spawn; their stdout and stderr come back
 * through pipes read with poll() against a deadline, so every wait is
 * bounded. A ferry-sub is known to be subscribed when it prints a retained
 * "ready" message published beforehand; only then is the message under test
 * published.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "unit/util.h"

extern char **environ;

static struct test_broker broker;
static char port[16];

/* A running tool: our ends of its pipes and what it wrote so far. */
struct proc {
	pid_t pid;
	int out, err;     /* -1 once at end of file */
	char obuf[16384]; /* stdout, NUL-terminated */
	size_t olen;
	char ebuf[8192]; /* stderr, NUL-terminated */
	size_t elen;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline(void)
{
	return now_ms() + ITEST_WAIT_MS;
}

static void tool_path(const char *tool, char *buf, size_t cap)
{
	const char *top = getenv("top_builddir");
	snprintf(buf, cap, "%s/tools/%s", top && *top ? top : ".", tool);
}

/* Kills (if still running) and reaps the child; closes the pipes. */
static void proc_kill(struct proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
	if (p->out >= 0)
		close(p->out);
	if (p->err >= 0)
		close(p->err);
	p->out = p->err = -1;
}

/* Writes all of text into fd (a pipe to the child), then closes it. */
static void feed(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
}

/*
 * Starts tools/<tool> with args (NULL-terminated, argv[0] excluded) and
 * stdin_text (NULL: /dev/null) on its standard input. Returns 0 or -1.
 */
static int proc_start(struct proc *p, const char *tool, const char *const *args,
                      const char *stdin_text)
{
	char path[512];
	const char *argv[32];
	size_t n = 0;
	tool_path(tool, path, sizeof path);
	argv[n++] = path;
	while (args[n - 1] && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	memset(p, 0, sizeof *p);
	p->out = p->err = -1;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
	    (stdin_text && pipe2(in, O_CLOEXEC))) {
		int fds[] = {out[0], out[1], err[0], err[1], in[0], in[1]};
		for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (stdin_text)
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	int rc = posix_spawn(&p->pid, path, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	if (stdin_text)
		close(in[0]);
	p->out = out[0];
	p->err = err[0];
	if (rc) {
		fprintf(stderr, "posix_spawn %s: %s\n", path, strerror(rc));
		p->pid = 0;
		if (stdin_text)
			close(in[1]);
		proc_kill(p); /* closes our ends */
		return -1;
	}
	if (stdin_text)
		feed(in[1], stdin_text);
	return 0;
}

/* Appends what one readable pipe has; closes it at end of file. */
static void drain(int *fd, char *buf, size_t *len, size_t cap)
{
	ssize_t n = read(*fd, buf + *len, cap - 1 - *len);
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0 || *len + (size_t)n >= cap - 1) {
		if (n > 0)
			*len += (size_t)n;
		close(*fd);
		*fd = -1;
	} else {
		*len += (size_t)n;
	}
	buf[*len] = '\0';
}

/*
 * Reads the child's output until stdout contains `needle` (NULL: until both
 * pipes are at end of file) or the deadline passes. Returns whether it got there.
 */
static bool proc_read(struct proc *p, const char *needle, int64_t until)
{
	for (;;) {
		if (needle && strstr(p->obuf, needle))
			return true;
		if (p->out < 0 && p->err < 0)
			return !needle;
		int64_t left = until - now_ms();
		if (left <= 0)
			return false;
		struct pollfd fds[2] = {{.fd = p->out, .events = POLLIN},
		                        {.fd = p->err, .events = POLLIN}};
		int n = poll(fds, 2, (int)left);
		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0 && fds[0].revents)
			drain(&p->out, p->obuf, &p->olen, sizeof p->obuf);
		if (n > 0 && fds[1].revents)
			drain(&p->err, p->ebuf, &p->elen, sizeof p->ebuf);
	}
}

/*
 * Collects all output and the exit status, within the deadline. Returns the
 * exit status, or -1 (the child is killed) if it did not exit in time or
 * died of a signal. After the pipes close the child is about to exit: its
 * status is polled in short steps, bounded by the same deadline.
 */
static int proc_wait(struct proc *p, int64_t until)
{
	int status = 0;
	bool done = false;
	if (proc_read(p, NULL, until)) {
		while (!done && now_ms() < until) {
			pid_t w = waitpid(p->pid, &status, WNOHANG);
			done = w == p->pid;
			if (!done)
				poll(NULL, 0, 5);
		}
	}
	if (done)
		p->pid = 0;
	proc_kill(p);
	if (!done || !WIFEXITED(status)) {
		fprintf(stderr, "\ntool did not exit normally; stderr:\n%s\n", p->ebuf);
		return -1;
	}
	return WEXITSTATUS(status);
}

/* Runs a tool to its end; returns its exit status (-1: failure to run). */
static int run_tool(struct proc *p, const char *tool, const char *const *args,
                    const char *stdin_text)
{
	if (proc_start(p, tool, args, stdin_text))
		return -1;
	return proc_wait(p, deadline());
}

/* Asserts the exit status, showing the tool's stderr when it is wrong. */
#define ASSERT_EXIT(got, want, p)                                                                  \
	do {                                                                                       \
		int got_ = (got);                                                                  \
		CU_ASSERT_EQUAL(got_, (want));                                                     \
		if (got_ != (want))                                                                \
			fprintf(stderr, "\n%s:%d: exit %d, want %d; stderr:\n%s\n", __FILE__,      \
			        __LINE__, got_, (want), (p)->ebuf);                                \
	} while (0)

/* Publishes "ready" retained on base/ready (QoS 1) with ferry-pub. */
static void publish_ready(const char *base)
{
	char topic[128];
	snprintf(topic, sizeof topic, "%s/ready", base);
	struct proc p;
	const char *args[] = {"-h", "127.0.0.1", "-p", port, "-t", topic,
	                      "-m", "ready",     "-r", "-q", "1",  NULL};
	ASSERT_EXIT(run_tool(&p, "ferry-pub", args, NULL), 0, &p);
}

/*
 * Starts ferry-sub on base/ready plus extra arguments and returns once it
 * printed the retained "ready" (so it is subscribed). Returns 0 or -1.
 */
static int start_ready_sub(struct proc *sub, const char *base, const char *const *extra)
{
	static char topic[128];
	snprintf(topic, sizeof topic, "%s/ready", base);
	publish_ready(base);
	const char *args[24] = {"-h", "127.0.0.1", "-p", port, "-t", topic};
	size_t n = 6;
	for (size_t i = 0; extra[i] && n < 23; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	if (proc_start(sub, "ferry-sub", args, NULL))
		return -1;
	if (proc_read(sub, "ready\n", deadline()))
		return 0;
	fprintf(stderr, "\nferry-sub never printed ready; stdout:\n%s\nstderr:\n%s\n", sub->obuf,
	        sub->ebuf);
	proc_kill(sub);
	return -1;
}

static int suite_init(void)
{
	static const char *const users[] = {"alice:secret", NULL};
	int rc = test_broker_start(&broker, &(struct test_broker_opts){
	                                        .users = users,
	                                        .anonymous = TEST_ANON_ALLOW,
	                                    });
	if (rc) {
		fprintf(stderr, "broker: %s\n", test_broker_error(&broker));
		return 1;
	}
	snprintf(port, sizeof port, "%d", test_broker_port(&broker));
	return 0;
}

static int suite_clean(void)
{
	test_broker_cleanup(&broker);
	return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_help_and_version(void)
{
	static const char *const tools[] = {"ferry-pub", "ferry-sub"};
	const char *version = NULL;
	ferry_version(&version);
	for (size_t i = 0; i < 2; i++) {
		struct proc p;
		ASSERT_EXIT(run_tool(&p, tools[i], (const char *const[]){"--help", NULL}, NULL), 0,
		            &p);
		CU_ASSERT_PTR_NOT_NULL(strstr(p.obuf, "Usage: "));
		CU_ASSERT_PTR_NOT_NULL(strstr(p.obuf, "--topic"));
		CU_ASSERT_PTR_NOT_NULL(strstr(p.obuf, "Exit status"));
		CU_ASSERT_PTR_NOT_NULL(
		    strstr(p.obuf, "--cafile")); /* listed as not yet supported */
		ASSERT_EXIT(run_tool(&p, tools[i], (const char *const[]){"--version", NULL}, NULL),
		            0, &p);
		CU_ASSERT_PTR_NOT_NULL(strstr(p.obuf, version));
		CU_ASSERT_PTR_NOT_NULL(strstr(p.obuf, tools[i]));
	}
}

static void test_bad_arguments_exit_2(void)
{
	static const char *const pub_cases[][8] = {
	    {"-t", "a", NULL},                                  /* no message */
	    {"-m", "x", NULL},                                  /* no topic */
	    {"-t", "a", "-m", "x", "-q", "3", NULL},            /* QoS out of range */
	    {"-t", "a", "-m", "x", "-n", NULL},                 /* two message sources */
	    {"-t", "a", "-m", "x", "--bogus", NULL},            /* unknown option */
	    {"-t", "a", "-m", "x", "-p", "http", NULL},         /* port not a number */
	    {"-t", "a", "-m", "x", "-V", "7", NULL},            /* unknown version */
	    {"-t", "a", "-m", "x", "-C", "1", NULL},            /* a ferry-sub option */
	    {"-t", "a", "-m", "x", "--tls-version", "tlsv9", NULL}, /* unknown TLS version */
	    {"-t", "a", "-m", "x", "--key", "k.pem", NULL},        /* a key without --cert */
	    {"-t", "a", "-m", "x", "--proxy", "ftp://p:1", NULL},  /* unknown proxy type */
	    {"-t", "a", "-m", "x", "--proxy", "http://p", NULL},   /* proxy without a port */
	    {"-t", "a", "-m", "x", "-c", NULL},                 /* persistent session without -i */
	    {"-t", "a", "-m", "x", "-L", "ws://h/t", NULL}, /* WebSocket: library only */
	    {"-t", "a", "-m", "x", "--will-qos", "1", NULL}, /* will without topic */
	    {"-t", "a", "-m", "x", "extra", NULL},           /* stray argument */
	    {"-t", "a", "-m", NULL},                         /* missing value */
	};
	static const char *const sub_cases[][8] = {
	    {NULL},                                 /* no filter */
	    {"-t", "a", "-m", "x", NULL},           /* a ferry-pub option */
	    {"-t", "a", "-C", "0", NULL},           /* count must be positive */
	    {"-t", "a", "-W", "-1", NULL},          /* timeout must be positive */
	    {"-t", "a", "--store", "/tmp/s", NULL}, /* store without -i */
	};
	struct proc p;
	for (size_t i = 0; i < sizeof pub_cases / sizeof pub_cases[0]; i++) {
		ASSERT_EXIT(run_tool(&p, "ferry-pub", pub_cases[i], NULL), 2, &p);
		CU_ASSERT_PTR_NOT_NULL(strstr(p.ebuf, "ferry-pub: "));
		CU_ASSERT_PTR_NOT_NULL(strstr(p.ebuf, "Usage: ferry-pub"));
	}
	for (size_t i = 0; i < sizeof sub_cases / sizeof sub_cases[0]; i++) {
		ASSERT_EXIT(run_tool(&p, "ferry-sub", sub_cases[i], NULL), 2, &p);
		CU_ASSERT_PTR_NOT_NULL(strstr(p.ebuf, "Usage: ferry-sub"));
	}
	/* Names the broker would never accept are refused as arguments too. */
	const char *const bad_topic[] = {"-h",  "127.0.0.1", "-p", port, "-t",
	                                 "a/#", "-m",        "x",  NULL};
	ASSERT_EXIT(run_tool(&p, "ferry-pub", bad_topic, NULL), 2, &p);
	const char *const bad_filter[] = {"-h", "127.0.0.1", "-p", port, "-t", "a/#/b", NULL};
	ASSERT_EXIT(run_tool(&p, "ferry-sub", bad_filter, NULL), 2, &p);
	/* MQTT 3.1 allows client ids of at most 23 bytes. */
	const char *const long_id[] = {"-h", "127.0.0.1", "-p", port,
	                               "-V", "mqttv31",   "-i", "a-client-id-longer-than-23-bytes",
	                               "-t", "a",         "-m", "x",
	                               NULL};
	ASSERT_EXIT(run_tool(&p, "ferry-pub", long_id, NULL), 2, &p);
}

static void test_closed_port_exit_3(void)
{
	char closed[16];
	snprintf(closed, sizeof closed, "%d", test_broker_free_port());
	struct proc p;
	const char *const pub[] = {"-h", "127.0.0.1", "-p", closed, "-t", "a", "-m", "x", NULL};
	ASSERT_EXIT(run_tool(&p, "ferry-pub", pub, NULL), 3, &p);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.ebuf, ferry_strerror(FERRY_ERR_CONNECT)));
	const char *const sub[] = {"-h", "127.0.0.1", "-p", closed, "-t", "a", NULL};
	ASSERT_EXIT(run_tool(&p, "ferry-sub", sub, NULL), 3, &p);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.ebuf, ferry_strerror(FERRY_ERR_CONNECT)));
}

static void test_refused_exit_3_with_reason_code(void)
{
	struct proc p;
	const char *const bad[] = {"-h",    "127.0.0.1", "-p",         port, "-u", "alice", "-P",
	                           "wrong", "-t",        "tools/auth", "-m", "x",  NULL};
	ASSERT_EXIT(run_tool(&p, "ferry-pub", bad, NULL), 3, &p);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.ebuf, ferry_strerror(FERRY_ERR_CONNECT_REFUSED)));
	CU_ASSERT_PTR_NOT_NULL(strstr(p.ebuf, "reason code: 5")); /* 3.1.1: not authorized */
	const char *const good[] = {"-h",     "127.0.0.1", "-p",         port, "-u", "alice", "-P",
	                            "secret", "-t",        "tools/auth", "-m", "x",  NULL};
	ASSERT_EXIT(run_tool(&p, "ferry-pub", good, NULL), 0, &p);
}

static void test_timeout_exit_4(void)
{
	struct proc p;
	const char *const sub[] = {"-h", "127.0.0.1", "-p", port, "-t", "tools/silent",
	                           "-C", "1",         "-W", "1",  NULL};
	ASSERT_EXIT(run_tool(&p, "ferry-sub", sub, NULL), 4, &p);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.ebuf, "timed out"));
	CU_ASSERT_STRING_EQUAL(p.obuf, "");
}

static void test_round_trip_at_each_qos(void)
{
	for (int q = 0; q <= 2; q++) {
		char base[32], topic[64], qos[4], msg[32], want[64];
		snprintf(base, sizeof base, "tools/qos%d", q);
		snprintf(topic, sizeof topic, "%s/msg", base);
		snprintf(qos, sizeof qos, "%d", q);
		snprintf(msg, sizeof msg, "hello at QoS %d", q);
		struct proc sub, pub;
		const char *const extra[] = {"-t", topic, "-q", qos, "-C", "2", NULL};
		CU_ASSERT_FATAL(start_ready_sub(&sub, base, extra) == 0);
		const char *const args[] = {"-h", "127.0.0.1", "-p", port, "-t", topic,
		                            "-q", qos,         "-m", msg,  NULL};
		ASSERT_EXIT(run_tool(&pub, "ferry-pub", args, NULL), 0, &pub);
		ASSERT_EXIT(proc_wait(&sub, deadline()), 0, &sub);
		snprintf(want, sizeof want, "ready\n%s\n", msg);
		CU_ASSERT_STRING_EQUAL(sub.obuf, want);
	}
}

/* --store: the round trip works through the store, which ends empty; a
 * file that is not a ferry store is refused clearly (exit 1). */
static void test_store_option(void)
{
	char dir[] = "/tmp/ferry-tools-XXXXXX", path[64];
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/pub.db", dir);
	struct proc sub, pub;
	const char *const extra[] = {"-t", "tools/store/msg", "-q", "2", "-C", "2", NULL};
	CU_ASSERT_FATAL(start_ready_sub(&sub, "tools/store", extra) == 0);
	const char *const args[] = {"-h", "127.0.0.1", "-p", port, "-t",    "tools/store/msg", "-q",
	                            "2",  "-i",        "tools-store", "--store", path, "-m",
	                            "kept until acknowledged", NULL};
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", args, NULL), 0, &pub);
	ASSERT_EXIT(proc_wait(&sub, deadline()), 0, &sub);
	CU_ASSERT_STRING_EQUAL(sub.obuf, "ready\nkept until acknowledged\n");
	struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
	so.path = path;
	struct ferry_store *st = NULL;
	uint64_t max = 0;
	size_t n = 99;
	ASSERT_RC(ferry_store_sqlite_new(&so, &st), FERRY_OK);
	if (st) {
		ASSERT_RC(st->ops->open(st->impl, "tools-store", &max), FERRY_OK);
		CU_ASSERT(max >= 1); /* it was stored */
		ASSERT_RC(st->ops->count(st->impl, &n, NULL), FERRY_OK);
		CU_ASSERT_EQUAL(n, 0); /* and removed once acknowledged */
		ferry_store_free(st);
	}
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("this is not a database, just some text that is long enough to look like one. "
	      "padding padding padding padding padding padding padding padding padding\n",
	      f);
	fclose(f);
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", args, NULL), 1, &pub);
	CU_ASSERT_PTR_NOT_NULL(strstr(pub.ebuf, "--store"));
	CU_ASSERT_PTR_NOT_NULL(strstr(pub.ebuf, "FERRY_ERR_STORE_CORRUPT"));
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_verbose_prints_topic_and_payload(void)
{
	struct proc sub, pub;
	const char *const extra[] = {"-t", "tools/v/+/deep", "-v", "-C", "2", NULL};
	CU_ASSERT_FATAL(start_ready_sub(&sub, "tools/v", extra) == 0);
	const char *const args[] = {"-h", "127.0.0.1", "-p", port,        "-t", "tools/v/x/deep",
	                            "-q", "1",         "-m", "two words", NULL};
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", args, NULL), 0, &pub);
	ASSERT_EXIT(proc_wait(&sub, deadline()), 0, &sub);
	CU_ASSERT_STRING_EQUAL(sub.obuf, "tools/v/ready ready\ntools/v/x/deep two words\n");
}

static void test_stdin_lines_one_message_each(void)
{
	struct proc sub, pub;
	const char *const extra[] = {"-t", "tools/lines/msg", "-q", "1", "-C", "4", NULL};
	CU_ASSERT_FATAL(start_ready_sub(&sub, "tools/lines", extra) == 0);
	const char *const args[] = {"-h", "127.0.0.1", "-p", port, "-t", "tools/lines/msg",
	                            "-q", "1",         "-l", NULL};
	/* CR LF endings lose the CR; the blank line is skipped; the last line has no newline. */
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", args, "one\ntwo\r\n\nthree"), 0, &pub);
	ASSERT_EXIT(proc_wait(&sub, deadline()), 0, &sub);
	CU_ASSERT_STRING_EQUAL(sub.obuf, "ready\none\ntwo\nthree\n");
}

static void test_stdin_file_and_file_one_message(void)
{
	char path[] = "/tmp/ferry-tools-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	feed(fd, "from a file");
	struct proc sub, pub;
	const char *const extra[] = {"-t", "tools/file/msg", "-q", "2", "-C", "3", NULL};
	if (start_ready_sub(&sub, "tools/file", extra)) {
		unlink(path);
		CU_FAIL_FATAL("ferry-sub did not start");
	}
	const char *const s_args[] = {"-h", "127.0.0.1", "-p", port, "-t", "tools/file/msg",
	                              "-q", "2",         "-s", NULL};
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", s_args, "a\nb\n"), 0, &pub);
	const char *const f_args[] = {"-h", "127.0.0.1", "-p", port, "-t", "tools/file/msg",
	                              "-q", "2",         "-f", path, NULL};
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", f_args, NULL), 0, &pub);
	unlink(path);
	ASSERT_EXIT(proc_wait(&sub, deadline()), 0, &sub);
	CU_ASSERT_STRING_EQUAL(sub.obuf, "ready\na\nb\n\nfrom a file\n");
	/* A file that does not exist: an error, not a usage error, and no connection. */
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", f_args, NULL), 1, &pub);
	CU_ASSERT_PTR_NOT_NULL(strstr(pub.ebuf, path));
}

static void test_null_message_and_clearing_retained(void)
{
	struct proc sub, pub;
	const char *const extra[] = {"-t", "tools/null/msg", "-v", "-q", "1", "-C", "2", NULL};
	CU_ASSERT_FATAL(start_ready_sub(&sub, "tools/null", extra) == 0);
	const char *const args[] = {"-h", "127.0.0.1", "-p", port, "-t", "tools/null/msg",
	                            "-q", "1",         "-n", NULL};
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", args, NULL), 0, &pub);
	ASSERT_EXIT(proc_wait(&sub, deadline()), 0, &sub);
	CU_ASSERT_STRING_EQUAL(sub.obuf, "tools/null/ready ready\ntools/null/msg \n");
	/* -r -n clears the retained message: a new subscriber gets nothing. */
	const char *const clear[] = {"-h", "127.0.0.1", "-p", port, "-t", "tools/null/ready",
	                             "-r", "-n",        NULL};
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", clear, NULL), 0, &pub);
	const char *const again[] = {"-h", "127.0.0.1", "-p", port, "-t", "tools/null/ready",
	                             "-C", "1",         "-W", "1",  NULL};
	ASSERT_EXIT(run_tool(&sub, "ferry-sub", again, NULL), 4, &sub);
	CU_ASSERT_STRING_EQUAL(sub.obuf, "");
}

static void test_url_with_credentials_and_debug_log(void)
{
	char pub_url[128], sub_url[128];
	snprintf(pub_url, sizeof pub_url, "tcp://alice:secret@127.0.0.1:%s/tools/url/msg", port);
	snprintf(sub_url, sizeof sub_url, "mqtt://alice:secret@127.0.0.1:%s/tools/url/msg", port);
	struct proc sub, pub;
	const char *const extra[] = {"-L", sub_url, "-V", "mqttv5", "-C", "2", NULL};
	CU_ASSERT_FATAL(start_ready_sub(&sub, "tools/url", extra) == 0);
	const char *const args[] = {"-L", pub_url, "-V",      "5",  "-q",
	                            "2",  "-m",    "via url", "-d", NULL};
	ASSERT_EXIT(run_tool(&pub, "ferry-pub", args, NULL), 0, &pub);
	CU_ASSERT_PTR_NOT_NULL(strstr(pub.ebuf, "CONNECT"));
	CU_ASSERT_PTR_NOT_NULL(strstr(pub.ebuf, "PUBCOMP"));
	ASSERT_EXIT(proc_wait(&sub, deadline()), 0, &sub);
	CU_ASSERT_STRING_EQUAL(sub.obuf, "ready\nvia url\n");
}

static void test_sigterm_stops_sub_with_a_clean_disconnect(void)
{
	struct proc sub;
	const char *const extra[] = {"-i", "tools-sigterm", NULL};
	CU_ASSERT_FATAL(start_ready_sub(&sub, "tools/term", extra) == 0);
	CU_ASSERT_EQUAL(kill(sub.pid, SIGTERM), 0);
	ASSERT_EXIT(proc_wait(&sub, deadline()), 0, &sub);
	CU_ASSERT_TRUE(test_broker_log_contains(&broker, "Client tools-sigterm disconnected."));
	/* Stopped before its -C count: not what was asked, exit 1. */
	const char *const counted[] = {"-C", "5", NULL};
	CU_ASSERT_FATAL(start_ready_sub(&sub, "tools/term", counted) == 0);
	CU_ASSERT_EQUAL(kill(sub.pid, SIGINT), 0);
	ASSERT_EXIT(proc_wait(&sub, deadline()), 1, &sub);
	CU_ASSERT_PTR_NOT_NULL(strstr(sub.ebuf, "interrupted after 1 of 5"));
}

void register_tools_suite(void)
{
	CU_pSuite s = CU_add_suite("tools", suite_init, suite_clean);
	if (!s)
		abort();
	test_add(s, "--help and --version exit 0", test_help_and_version);
	test_add(s, "bad arguments exit 2 with usage", test_bad_arguments_exit_2);
	test_add(s, "a closed port exits 3", test_closed_port_exit_3);
	test_add(s, "a refused connection exits 3 with the reason code",
	         test_refused_exit_3_with_reason_code);
	test_add(s, "-W timeout exits 4", test_timeout_exit_4);
	test_add(s, "ferry-pub to ferry-sub at QoS 0, 1 and 2", test_round_trip_at_each_qos);
	test_add(s, "-v prints topic and payload", test_verbose_prints_topic_and_payload);
	test_add(s, "--store keeps messages until acknowledged", test_store_option);
	test_add(s, "-l publishes each stdin line", test_stdin_lines_one_message_each);
	test_add(s, "-s and -f publish one message", test_stdin_file_and_file_one_message);
	test_add(s, "-n and clearing a retained message", test_null_message_and_clearing_retained);
	test_add(s, "-L URL with credentials, MQTT 5, -d log",
	         test_url_with_credentials_and_debug_log);
	test_add(s, "SIGTERM stops ferry-sub with a clean disconnect",
	         test_sigterm_stops_sub_with_a_clean_disconnect);
}

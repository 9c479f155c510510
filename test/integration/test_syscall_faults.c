/*
 * test_syscall_faults.c - the durable publisher fault_pub run under libfiu
 * (Debian's fiu-utils: fiu-run -x preloads fiu_posix_preload.so), with
 * system calls and allocations failing at random, against a real
 * mosquitto; then run again on the same store without faults.
 *
 * Each case publishes 200 numbers (even ones at QoS 1, odd ones at QoS 2)
 * while one family of calls fails, and asserts:
 *  - no crash: the faulty run exits by itself (not by a signal, not hung
 *    past its bound) with 0, 2 (a ferry call returned an error, which it
 *    printed by name) or 3 (the store had not drained in 3 s); 1 would be
 *    a usage error or a sanitizer report;
 *  - clear errors: every failure fault_pub saw is a FERRY_ERR_* name, and
 *    a run that exits 2 printed at least one; each case also shows the
 *    fault it injects had an effect (or, for EINTR, that it had none);
 *  - nothing stored is lost: the clean run delivers what the store holds
 *    and exits 0, and the subscriber in this process (QoS 2) has every
 *    accepted QoS 1 number at least once and every accepted QoS 2 number
 *    exactly once, where accepted means ferry_publish returned FERRY_OK.
 *    No QoS 2 number may arrive twice, accepted or not.
 *
 * Failure points of libfiu 1.1 used here (fiu-ls lists none: the POSIX
 * points are in /usr/share/doc/fiu-utils/function_list.gz):
 * posix/io/net/connect, posix/io/net/recv, posix/io/net/send (ferry's TCP
 * layer uses recv/send, and TLS goes through a BIO over it, so libfiu's
 * short-read/short-write points, which exist only for the read/write
 * family, cannot reach the socket); posix/io/rw/read and posix/io/rw/write
 * (only ferry's eventfd wake-ups use them) with errno EINTR, the one error
 * an eventfd read or write of 8 bytes can really give;
 * posix/io/rw/pread/reduce and posix/io/rw/pwrite/reduce (short reads and
 * writes, which SQLite retries); posix/io/rw/pwrite; posix/io/sync/fsync
 * and posix/io/sync/fdatasync (the store is FERRY_SYNC_FULL); and
 * libc/mm/malloc, calloc, realloc. Store and allocation faults are armed
 * by fault_pub itself through its libfiu control FIFO once it is connected
 * (FAULT_PUB_ARM), the others with fiu-run -c from the start. libfiu's
 * PRNG is seeded (FIU_PRNG_SEED, fixed per case; FERRY_FIU_SEED overrides),
 * so a case fails at the same calls as far as thread timing allows.
 *
 * FERRY_FIU_ANY_ERRNO=1 lets the eventfd read/write faults use libfiu's
 * random errnos (EIO, ENOSPC, ...) and short writes: that makes a wake-up
 * get lost and ferry_client_destroy hang (see the report in the case).
 *
 * Skipped (a message and a pass) when fiu-run is not installed. In an
 * ASan+UBSan build the cases run with ASan's runtime first in LD_PRELOAD
 * (see asan_runtime; a sanitizer report makes fault_pub exit 1, a
 * failure), except the allocation case, which cannot work there; in a TSan
 * build they are skipped (see skip_reason).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "unit/util.h"

extern char **environ;

#define NUMBERS    200   /* published per case */
#define DRAIN_MS   3000  /* the faulty run's wait for an empty store */
#define CLEAN_MS   15000 /* the clean run's */
#define EXIT_SLACK 10000 /* beyond its own waits, a run must have exited */
#define MAX_ENABLE 4
#define FIU_LIBS   "/usr/lib/fiu" /* fiu-run's default -l */

/* One fault case: what fails and what shows that it did. */
struct fcase {
	const char *name;
	const char *enable[MAX_ENABLE]; /* fiu-run -c commands, NULL-ended */
	const char *arm;                /* FAULT_PUB_ARM (after set-up), or NULL */
	const char *evidence;           /* a line prefix that must appear, or NULL */
	bool invisible;                 /* the faults must not show: exit 0 */
	unsigned seed;                  /* FIU_PRNG_SEED */
	bool malloc_faults;             /* allocations fail (impossible under ASan) */
};

/* What the faulty run reported, and how it ended. */
struct run_out {
	bool accepted[NUMBERS];
	unsigned naccepted, refused, lost, connects, delivery_failed, other_failed;
	bool evidence, bad_name, armed, done;
	int status; /* exit status, -1 signal or hang */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In an ASan build, the path of the ASan runtime this process runs with
 * (from /proc/self/maps), else "". ASan must be first in LD_PRELOAD and
 * fiu-run puts libfiu's libraries there alone, so an ASan build does what
 * fiu-run does itself with LD_PRELOAD="libasan fiu_run_preload
 * fiu_posix_preload": ASan's interceptors then call libfiu's wrappers
 * (RTLD_NEXT), which call libc. */
static const char *asan_runtime(char *path, size_t cap)
{
	path[0] = '\0';
#if defined(__SANITIZE_ADDRESS__)
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	while (f && fgets(line, sizeof line, f)) {
		char *p = strchr(line, '/');
		if (p && strstr(p, "/libasan.so")) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(path, cap, "%s", p);
			break;
		}
	}
	if (f)
		fclose(f);
#else
	(void)cap;
#endif
	return path;
}

/* Why a case cannot run in this build, or NULL. */
static const char *skip_reason(const struct fcase *fc, const char *asan)
{
#if defined(__SANITIZE_THREAD__)
	(void)fc;
	(void)asan;
	return "a TSan build: running libfiu's wrappers under TSan's interceptors (which would "
	       "need the same LD_PRELOAD order as ASan) is not done here";
#else
	if (asan && *asan && fc->malloc_faults)
		return "an ASan build: ASan's allocator comes before libfiu's, whose malloc "
		       "failure points then never fire";
#if defined(__SANITIZE_ADDRESS__)
	if (!*asan)
		return "an ASan build whose ASan runtime is not a shared library";
#endif
	return NULL;
#endif
}

/* Where fiu-run is (PATH, then /usr/bin), or NULL. */
static const char *find_fiu_run(char *path, size_t cap)
{
	const char *p = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof dirs, "%s:/usr/bin", p ? p : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, cap, "%s/fiu-run", *d ? d : ".");
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

/* ---- the child process --------------------------------------------------- */

/* Starts argv with environment env, stdout to a pipe whose read end goes
 * to *fd; stderr inherited (sanitizer and error reports show there). */
static pid_t spawn(char *const *argv, char *const *env, int *fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	pid_t pid = -1;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc) {
		fprintf(stderr, "\n    posix_spawn %s: %s\n", argv[0], strerror(rc));
		close(p[0]);
		return -1;
	}
	*fd = p[0];
	return pid;
}

/* Reads the child's stdout into out (all of it, until end of file or
 * the deadline); returns the bytes read. */
static size_t read_all(int fd, char *out, size_t cap, int64_t deadline)
{
	size_t len = 0;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int r = poll(&pf, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		char tmp[4096];
		ssize_t got = read(fd, tmp, sizeof tmp);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		size_t take = (size_t)got < cap - 1 - len ? (size_t)got : cap - 1 - len;
		memcpy(out + len, tmp, take);
		len += take;
	}
	out[len] = '\0';
	return len;
}

/* Waits (bounded by the deadline) for the child; its exit status, or -1
 * when it died of a signal or had to be killed. */
static int reap(pid_t pid, int64_t deadline)
{
	int status = 0, pfd = pidfd_open(pid, 0);
	int64_t left = deadline - now_ms();
	struct pollfd pf = {.fd = pfd, .events = POLLIN};
	bool ended = pfd >= 0 && poll(&pf, 1, left > 0 ? (int)left : 0) == 1;
	if (pfd >= 0)
		close(pfd);
	if (!ended) {
		fprintf(stderr, "\n    fault_pub (pid %d) hung: killed\n", (int)pid);
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "\n    fault_pub died of signal %d\n", WTERMSIG(status));
	return ended && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether the environment entry e is one run_pub sets itself. */
static bool ours(const char *e, bool asan)
{
	return strncmp(e, "FAULT_PUB_ARM=", 14) == 0 || strncmp(e, "FIU_", 4) == 0 ||
	       (asan &&
	        (strncmp(e, "LD_PRELOAD=", 11) == 0 || strncmp(e, "LSAN_OPTIONS=", 13) == 0));
}

/* The environment of a run: ours less what run_pub sets, plus `extra`
 * (NULL-ended). Free the array (not the strings). */
static char **run_env(char *const *extra, bool asan)
{
	size_t ne = 0, nx = 0, k = 0;
	while (environ[ne])
		ne++;
	while (extra[nx])
		nx++;
	char **env = calloc(ne + nx + 1, sizeof *env);
	for (size_t i = 0; env && i < ne; i++)
		if (!ours(environ[i], asan))
			env[k++] = environ[i];
	for (size_t i = 0; env && i < nx; i++)
		env[k++] = extra[i];
	return env;
}

/* Runs fault_pub (with the case's faults when fiu is not NULL) and collects
 * its report into text; returns its exit status (-1: signal or hang). */
static int run_pub(const char *fiu, const char *asan, const struct fcase *fc, const char *uri,
                   const char *store, const char *run, unsigned n, int wait_ms, char *text,
                   size_t cap)
{
	const char *top = getenv("top_builddir"), *e = getenv("FERRY_FIU_SEED");
	char pub[512], nbuf[16], wbuf[16], ctrl[300], seed[48], arm[600], pre[700], en[700],
	    fifo[320], lsan[320];
	snprintf(pub, sizeof pub, "%s/test/integration/fault_pub", top && *top ? top : ".");
	snprintf(nbuf, sizeof nbuf, "%u", n);
	snprintf(wbuf, sizeof wbuf, "%d", wait_ms);
	snprintf(ctrl, sizeof ctrl, "%s-ctrl", store);
	snprintf(seed, sizeof seed, "FIU_PRNG_SEED=%u",
	         e && *e ? (unsigned)strtoul(e, NULL, 0) : fc->seed);
	snprintf(arm, sizeof arm, "FAULT_PUB_ARM=%s", fc->arm ? fc->arm : "");
	char *argv[24], *extra[8];
	size_t a = 0, x = 0;
	if (fiu && *asan) {
		/* fiu-run's three variables, ASan first (see asan_runtime). */
		snprintf(pre, sizeof pre,
		         "LD_PRELOAD=%s %s/fiu_run_preload.so %s/fiu_posix_preload.so", asan,
		         FIU_LIBS, FIU_LIBS);
		int len = snprintf(en, sizeof en, "FIU_ENABLE=");
		for (size_t i = 0; i < MAX_ENABLE && fc->enable[i]; i++)
			len += snprintf(en + len, sizeof en - (size_t)len, "%s\n", fc->enable[i]);
		snprintf(fifo, sizeof fifo, "FIU_CTRL_FIFO=%s", ctrl);
		/* fiu_run_preload.so keeps a copy of FIU_ENABLE for good. */
		snprintf(lsan, sizeof lsan,
		         "LSAN_OPTIONS=suppressions=%s-lsan:print_suppressions=0", store);
		extra[x++] = pre;
		extra[x++] = en;
		extra[x++] = fifo;
		extra[x++] = lsan;
	} else if (fiu) {
		argv[a++] = (char *)fiu;
		argv[a++] = "-x";
		argv[a++] = "-f";
		argv[a++] = ctrl;
		for (size_t i = 0; i < MAX_ENABLE && fc->enable[i]; i++) {
			argv[a++] = "-c";
			argv[a++] = (char *)fc->enable[i];
		}
	}
	if (fiu) {
		extra[x++] = seed;
		if (fc->arm)
			extra[x++] = arm;
	}
	extra[x] = NULL;
	char *pargs[] = {pub, (char *)uri, (char *)store, (char *)run, nbuf, wbuf};
	for (size_t i = 0; i < 6; i++)
		argv[a++] = pargs[i];
	argv[a] = NULL;
	char **env = run_env(extra, *asan != '\0');
	if (!env)
		return -1;
	int fd = -1;
	pid_t pid = spawn(argv, env, &fd);
	free(env);
	if (pid < 0)
		return -1;
	int64_t deadline = now_ms() + 2 * wait_ms + EXIT_SLACK;
	read_all(fd, text, cap, deadline);
	close(fd);
	return reap(pid, deadline);
}

/* Prints a run's report to stderr, less its "p K" lines. */
static void dump_report(const char *what, int status, const char *text)
{
	fprintf(stderr, "\n    %s ended with %d; its report less the accepted numbers:\n", what,
	        status);
	for (const char *l = text; *l;) {
		size_t len = strcspn(l, "\n");
		if (strncmp(l, "p ", 2) != 0)
			fprintf(stderr, "      %.*s\n", (int)len, l);
		l += len + (l[len] == '\n');
	}
}

/* Parses the faulty run's report (see fault_pub.c). */
static void parse_report(const char *text, const struct fcase *fc, struct run_out *o)
{
	const char *line = text;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		unsigned long k = 0;
		char name[64] = "";
		if (fc->evidence && strncmp(line, fc->evidence, strlen(fc->evidence)) == 0)
			o->evidence = true;
		if (sscanf(line, "p %lu", &k) == 1 && k < NUMBERS) {
			o->naccepted += !o->accepted[k];
			o->accepted[k] = true;
		} else if (sscanf(line, "e %lu %63s", &k, name) == 2) {
			o->refused++;
		} else if (sscanf(line, "l %63s", name) == 1) {
			o->lost++;
		} else if (sscanf(line, "f %63s", name) == 1) {
			/* Destroying the client cancels what is still stored. */
			o->delivery_failed += strcmp(name, "FERRY_ERR_CANCELLED") != 0;
		} else if (sscanf(line, "x %*s %63s", name) == 1) {
			o->other_failed++;
		}
		o->connects += len == 1 && line[0] == 'c';
		o->armed |= len == 5 && strncmp(line, "armed", 5) == 0;
		o->done |= len == 4 && strncmp(line, "done", 4) == 0;
		if (*name && strncmp(name, "FERRY_", 6) != 0)
			o->bad_name = true;
		line = nl ? nl + 1 : line + len;
	}
}

/* ---- the subscriber ---------------------------------------------------------- */

/* Waits (bounded) until the message "end" has arrived. */
static bool wait_end(struct itest_rec *r, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t from = 0;
	bool seen = false;
	pthread_mutex_lock(&r->mu);
	while (!seen) {
		for (; from < r->nmsgs && !seen; from++)
			seen =
			    r->msgs[from].len == 3 && memcmp(r->msgs[from].payload, "end", 3) == 0;
		int64_t left = deadline - now_ms();
		if (seen || left <= 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(left / 1000);
		ts.tv_nsec += (long)(left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
	}
	pthread_mutex_unlock(&r->mu);
	return seen;
}

/* The number a message carries, or -1. */
static long msg_num(const struct itest_msg *m)
{
	if (m->len == 0 || m->len > 6)
		return -1;
	long v = 0;
	for (size_t i = 0; i < m->len; i++) {
		if (m->payload[i] < '0' || m->payload[i] > '9')
			return -1;
		v = v * 10 + (m->payload[i] - '0');
	}
	return v < NUMBERS ? v : -1;
}

/* Checks what the subscriber received against what was accepted. */
static void check_delivery(struct itest_rec *r, const struct run_out *o, const char *name)
{
	unsigned count[NUMBERS] = {0};
	unsigned lost = 0, dup2 = 0, unaccepted = 0, extra1 = 0;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nmsgs; i++) {
		long v = msg_num(&r->msgs[i]);
		if (v >= 0)
			count[v]++;
	}
	pthread_mutex_unlock(&r->mu);
	for (unsigned k = 0; k < NUMBERS; k++) {
		bool qos2 = k & 1;
		if (o->accepted[k] && count[k] == 0) {
			lost++;
			fprintf(stderr, "\n    %s: accepted %u (QoS %d) never arrived", name, k,
			        qos2 ? 2 : 1);
		}
		if (qos2 && count[k] > 1) {
			dup2++;
			fprintf(stderr, "\n    %s: QoS 2 number %u arrived %u times", name, k,
			        count[k]);
		}
		unaccepted += !o->accepted[k] && count[k] > 0;
		extra1 += !qos2 && count[k] > 1 ? count[k] - 1 : 0;
	}
	CU_ASSERT_EQUAL(lost, 0);
	CU_ASSERT_EQUAL(dup2, 0);
	printf("\n    %s: %u accepted, %u refused, %u connections (%u lost), "
	       "QoS 1 repeats %u, refused yet delivered %u ",
	       name, o->naccepted, o->refused, o->connects, o->lost, extra1, unaccepted);
	fflush(stdout);
}

/* Removes the directory and its files (the store and libfiu's FIFOs),
 * unless FERRY_FIU_KEEP is set. */
static void remove_dir(const char *dir)
{
	if (getenv("FERRY_FIU_KEEP")) {
		printf("\n    kept %s ", dir);
		return;
	}
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/* STORE-lsan: LeakSanitizer must not count fiu_run_preload.so's copy of
 * FIU_ENABLE, which it keeps until exit. */
static bool write_lsan_suppressions(const char *store)
{
	char path[300];
	snprintf(path, sizeof path, "%s-lsan", store);
	FILE *f = fopen(path, "w");
	bool ok = f && fputs("leak:fiu_run_preload.so\n", f) >= 0;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		CU_FAIL("could not write the LeakSanitizer suppressions");
	return ok;
}

/* ---- one case ------------------------------------------------------------------ */

static void run_case(const struct fcase *fc)
{
	char fiu_path[600], asan_path[512];
	const char *fiu = find_fiu_run(fiu_path, sizeof fiu_path);
	const char *asan = asan_runtime(asan_path, sizeof asan_path), *why = skip_reason(fc, asan);
	if (!fiu || why) {
		printf("\n    skipped: %s ", why ? why : "fiu-run (fiu-utils) is not installed");
		fflush(stdout);
		CU_PASS("skipped");
		return;
	}
	static char text[64 * 1024], clean[8192];
	char dir[64] = "/tmp/ferry-fiu-XXXXXX", store[128], run[48];
	struct test_broker b;
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *sub = NULL;
	struct run_out o;
	memset(&o, 0, sizeof o);
	int rc = test_broker_start(&b, NULL);
	ASSERT_RC(rc, FERRY_OK);
	if (rc || !mkdtemp(dir))
		goto out;
	snprintf(store, sizeof store, "%s/pub.db", dir);
	snprintf(run, sizeof run, "%s-%d", fc->name, (int)getpid());
	char filter[96];
	snprintf(filter, sizeof filter, "fault/%s", run);
	sub = itest_connect(&r, test_broker_uri(&b), "fault-sub", FERRY_MQTT_3_1_1, true);
	if (!sub)
		goto out;
	ASSERT_RC(itest_subscribe(sub, filter, 2), FERRY_OK);

	int64_t t0 = now_ms();
	if (*asan && !write_lsan_suppressions(store))
		goto out;
	o.status = run_pub(fiu, asan, fc, test_broker_uri(&b), store, run, NUMBERS, DRAIN_MS, text,
	                   sizeof text);
	parse_report(text, fc, &o);
	if (o.status < 0 || o.status == 1)
		dump_report(fc->name, o.status, text);
	CU_ASSERT_TRUE(o.status == 0 || o.status == 2 || o.status == 3);
	CU_ASSERT_FALSE(o.bad_name);
	CU_ASSERT_EQUAL(o.delivery_failed, 0);
	if (o.status == 2)
		CU_ASSERT_TRUE(o.refused + o.other_failed + o.lost > 0);
	if (fc->arm)
		CU_ASSERT_TRUE(o.armed);
	/* Other seeds (FERRY_FIU_SEED) may inject other faults first. */
	const char *seed = getenv("FERRY_FIU_SEED");
	if (fc->evidence && !(seed && *seed))
		CU_ASSERT_TRUE(o.evidence);
	if (fc->invisible)
		CU_ASSERT_TRUE(o.status == 0 && o.naccepted == NUMBERS && o.done);
	if (o.status < 0)
		goto out;

	rc = run_pub(NULL, asan, fc, test_broker_uri(&b), store, run, 0, CLEAN_MS, clean,
	             sizeof clean);
	if (rc != 0)
		dump_report("the clean run", rc, clean);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(wait_end(&r, ITEST_WAIT_MS));
	check_delivery(&r, &o, fc->name);
	printf("(exit %d, %.1f s) ", o.status, (double)(now_ms() - t0) / 1000.0);
	fflush(stdout);
out:
	ferry_client_destroy(sub);
	itest_rec_free(&r);
	test_broker_cleanup(&b);
	if (strchr(dir, 'X') == NULL)
		remove_dir(dir);
}

/* ---- the cases ------------------------------------------------------------------- */

static void test_connect(void)
{
	/* Connections are also dropped (recv) so that connect runs often:
	 * with several attempts at 0.6 each, some fail ("t": ferry's warning
	 * for a failed attempt; which ones depends on how the threads' calls
	 * interleave with libfiu's draws, so not necessarily the first). */
	static const struct fcase fc = {
	    .name = "connect",
	    .enable = {"enable_random name=posix/io/net/connect,probability=0.6",
	               "enable_random name=posix/io/net/recv,probability=0.15"},
	    .evidence = "t",
	    .seed = 1,
	};
	run_case(&fc);
}

static void test_recv(void)
{
	static const struct fcase fc = {
	    .name = "recv",
	    .enable = {"enable_random name=posix/io/net/recv,probability=0.3"},
	    .evidence = "l FERRY_ERR_IO",
	    .seed = 12,
	};
	run_case(&fc);
}

static void test_send(void)
{
	static const struct fcase fc = {
	    .name = "send",
	    .enable = {"enable_random name=posix/io/net/send,probability=0.3"},
	    .evidence = "l FERRY_ERR_IO",
	    .seed = 13,
	};
	run_case(&fc);
}

static void test_eventfd_rw(void)
{
	static const struct fcase eintr = {
	    .name = "eventfd-eintr",
	    .enable = {"enable_random name=posix/io/rw/read,probability=0.3,failinfo=4",
	               "enable_random name=posix/io/rw/write,probability=0.3,failinfo=4"},
	    .invisible = true,
	    .seed = 14,
	};
	/* What an eventfd never really gives: a wake-up is lost. */
	static const struct fcase any = {
	    .name = "eventfd-any-errno",
	    .enable = {"enable_random name=posix/io/rw/read,probability=0.3",
	               "enable_random name=posix/io/rw/write,probability=0.3",
	               "enable_random name=posix/io/rw/write/reduce,probability=0.1"},
	    .invisible = true,
	    .seed = 14,
	};
	const char *e = getenv("FERRY_FIU_ANY_ERRNO");
	run_case(e && *e == '1' ? &any : &eintr);
}

static void test_short_io(void)
{
	static const struct fcase fc = {
	    .name = "short-pread-pwrite",
	    .arm = "enable_random name=posix/io/rw/pread/reduce,probability=0.3;"
	           "enable_random name=posix/io/rw/pwrite/reduce,probability=0.3",
	    .invisible = true,
	    .seed = 15,
	};
	run_case(&fc);
}

static void test_pwrite(void)
{
	static const struct fcase fc = {
	    .name = "pwrite",
	    .enable = {"enable_random name=posix/io/rw/pwrite,probability=0.02"},
	    .evidence = "e ",
	    .seed = 16,
	};
	run_case(&fc);
}

static void test_fsync(void)
{
	static const struct fcase fc = {
	    .name = "fsync-fdatasync",
	    .arm = "enable_random name=posix/io/sync/fsync,probability=0.1;"
	           "enable_random name=posix/io/sync/fdatasync,probability=0.1",
	    .evidence = "e ",
	    .seed = 17,
	};
	run_case(&fc);
}

static void test_malloc(void)
{
	static const struct fcase fc = {
	    .name = "malloc",
	    .arm = "enable_random name=libc/mm/malloc,probability=0.01;"
	           "enable_random name=libc/mm/calloc,probability=0.01;"
	           "enable_random name=libc/mm/realloc,probability=0.01",
	    .evidence = "l FERRY_ERR_NOMEM",
	    .seed = 18,
	    .malloc_faults = true,
	};
	run_case(&fc);
}

void register_syscall_faults_suite(void)
{
	CU_pSuite s = test_suite("syscall-faults");
	test_add(s, "connect fails (libfiu): errors, reconnects, nothing lost", test_connect);
	test_add(s, "recv fails: the connection is dropped, nothing lost", test_recv);
	test_add(s, "send fails: the connection is dropped, nothing lost", test_send);
	test_add(s, "eventfd read/write interrupted (EINTR): invisible", test_eventfd_rw);
	test_add(s, "SQLite's pread/pwrite cut short: invisible", test_short_io);
	test_add(s, "pwrite fails: FERRY_ERR_STORE_IO, nothing accepted lost", test_pwrite);
	test_add(s, "fsync/fdatasync fail: errors, nothing accepted lost", test_fsync);
	test_add(s, "malloc/calloc/realloc fail after set-up: FERRY_ERR_NOMEM, no crash",
	         test_malloc);
}

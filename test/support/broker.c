/*
 * broker.c - a real mosquitto for integration tests (see broker.h).
 *
 * States of a struct test_broker:
 *   EMPTY    have_dir false, pid 0           after init or cleanup
 *   READY    have_dir, port != 0, pid 0      configured, not running (stopped,
 *                                            killed, or start failed after the
 *                                            directory was made)
 *   RUNNING  pid != 0 (paused: also stopped by SIGSTOP)
 * Transitions: start EMPTY -> RUNNING (or READY/EMPTY on failure);
 * stop/kill RUNNING -> READY; restart READY|RUNNING -> RUNNING;
 * cleanup any -> EMPTY.
 *
 * Every directory and running pid is also in a process-wide registry, so an
 * atexit handler can kill the brokers and remove the directories a test left
 * behind (a CUnit fatal assertion jumps over the test's cleanup). The
 * registry is the only shared state and has its own mutex.
 *
 * In a network namespace (opts.netns) mosquitto is spawned into it (setns
 * in the child before exec), free ports are looked for there, the
 * listener is read from /proc/PID/net/tcp (the broker's namespace) and the
 * readiness connections are made from sockets made there.
 *
 * Files in the directory: mosquitto.conf, passwd (with users), broker.log
 * (mosquitto's log), stderr.log (its stdout and stderr, appended across
 * restarts), mosquitto.db (persistence), and the caller's extra files.
 */
#include "broker.h"
#include "clock.h"
#include "proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ferry/error.h"
#include "netns.h"

#define MOSQUITTO        "/usr/sbin/mosquitto"
#define MOSQUITTO_PASSWD "/usr/bin/mosquitto_passwd"
#define WAIT_MS          10000 /* every bounded wait */
#define START_TRIES      5     /* fresh ports tried when one is taken meanwhile */
#define POLL_MS          5     /* granularity of the bounded polling loops */
#define REGISTRY_MAX     64    /* brokers alive at once in one process */
#define ADDR_IN_USE      "Address already in use"

/* --- process-wide safety net ------------------------------------------------ */

struct reg_entry {
	bool used;
	pid_t pid;     /* running broker, 0 when none */
	char dir[256]; /* its directory */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static struct reg_entry reg[REGISTRY_MAX];

/* At exit: kill the brokers and remove the directories nobody cleaned up. */
static void reg_atexit(void)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < REGISTRY_MAX; i++) {
		if (!reg[i].used)
			continue;
		if (reg[i].pid > 0) {
			kill(reg[i].pid, SIGKILL);
			waitpid(reg[i].pid, NULL, 0);
		}
		test_rmtree(reg[i].dir);
		reg[i].used = false;
	}
	pthread_mutex_unlock(&reg_lock);
}

static void reg_init(void)
{
	atexit(reg_atexit);
}

/* Registers b's directory (b->slot; 0 when the registry is full: no safety net then). */
static void reg_open(struct test_broker *b)
{
	pthread_once(&reg_once, reg_init);
	pthread_mutex_lock(&reg_lock);
	for (int i = 0; i < REGISTRY_MAX; i++) {
		if (!reg[i].used) {
			reg[i] = (struct reg_entry){.used = true};
			snprintf(reg[i].dir, sizeof reg[i].dir, "%s", b->dir);
			b->slot = i + 1;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

static void reg_pid(const struct test_broker *b, pid_t pid)
{
	if (!b->slot)
		return;
	pthread_mutex_lock(&reg_lock);
	reg[b->slot - 1].pid = pid;
	pthread_mutex_unlock(&reg_lock);
}

static void reg_close(struct test_broker *b)
{
	if (!b->slot)
		return;
	pthread_mutex_lock(&reg_lock);
	reg[b->slot - 1].used = false;
	pthread_mutex_unlock(&reg_lock);
	b->slot = 0;
}

/* --- small helpers ------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static int set_err(struct test_broker *b, const char *fmt,
                                                         ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->error, sizeof b->error, fmt, ap);
	va_end(ap);
	return FERRY_ERR_STATE;
}



static int path_in(const struct test_broker *b, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", b->dir, name);
	return (n < 0 || (size_t)n >= cap) ? FERRY_ERR_INVAL : FERRY_OK;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return FERRY_ERR_STATE;
	size_t n = strlen(text);
	int bad = fwrite(text, 1, n, f) != n;
	bad |= fclose(f) != 0;
	return bad ? FERRY_ERR_STATE : FERRY_OK;
}

/* Reads a whole file into a NUL-terminated heap buffer from byte `from` on; NULL on failure. */
static char *read_text(const char *path, long from)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (from > 0 && fseek(f, from, SEEK_SET) != 0)
		goto out;
	for (;;) {
		if (cap - len < 4097) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);
			if (!nb)
				goto out;
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	buf[len] = 0;
	fclose(f);
	return buf;
out:
	free(buf);
	fclose(f);
	return NULL;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static bool file_has(const char *path, long from, const char *text)
{
	char *s = read_text(path, from);
	bool yes = s && strstr(s, text);
	free(s);
	return yes;
}

/*
 * Waits up to ms for pid to exit and reaps it. Returns FERRY_OK (exited, or
 * already reaped by someone else) or FERRY_ERR_TIMEOUT. *status: wait status
 * or -1 when unknown.
 */
static int wait_exit(pid_t pid, int ms, int *status)
{
	int64_t deadline = test_now_ms() + ms;
	*status = -1;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return FERRY_OK;
		if (test_now_ms() >= deadline)
			return FERRY_ERR_TIMEOUT;
		test_nap_ms(POLL_MS);
	}
}

/* --- child processes ----------------------------------------------------------- */

/*
 * fork + execv with stdin from /dev/null and stdout/stderr appended to
 * out_path, nothing else inherited, own process group, SIGTERM when the
 * forking thread dies, in the network namespace ns_fd (-1: the forking
 * thread's). Only async-signal-safe calls after fork.
 */
static pid_t spawn(const char *prog, char *const argv[], const char *out_path, int ns_fd)
{
	pid_t parent = getpid();
	sigset_t none;
	sigemptyset(&none);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(127);
	if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) != 0)
		_exit(126);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int in = open("/dev/null", O_RDONLY);
	int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	if (close_range(3, ~0u, 0) != 0) {
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	}
	execv(prog, argv);
	_exit(127);
}

/* Runs mosquitto_passwd -b for one "user:password". */
static int add_user(struct test_broker *b, const char *pwfile, const char *entry)
{
	char user[256], outp[300];
	const char *colon = strchr(entry, ':');
	size_t ulen = colon ? (size_t)(colon - entry) : 0;
	if (!colon || ulen == 0 || ulen >= sizeof user) {
		set_err(b, "users: \"%s\" is not \"user:password\"", entry);
		return FERRY_ERR_INVAL;
	}
	memcpy(user, entry, ulen);
	user[ulen] = 0;
	int rc = path_in(b, "stderr.log", outp, sizeof outp);
	if (rc)
		return rc;
	char *argv[] = {(char *)"mosquitto_passwd", (char *)"-b", (char *)pwfile, user,
	                (char *)(colon + 1),        NULL};
	pid_t pid = spawn(MOSQUITTO_PASSWD, argv, outp, -1);
	if (pid < 0)
		return set_err(b, "fork: %s", strerror(errno));
	int st;
	if (wait_exit(pid, WAIT_MS, &st)) {
		kill(pid, SIGKILL);
		wait_exit(pid, WAIT_MS, &st);
		set_err(b, "mosquitto_passwd did not finish in %d ms", WAIT_MS);
		return FERRY_ERR_TIMEOUT;
	}
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return set_err(b, "mosquitto_passwd failed for user \"%s\" (see %s)", user, outp);
	return FERRY_OK;
}

static int write_passwords(struct test_broker *b, const char *const *users, const char *pwfile)
{
	if (write_text(pwfile, ""))
		return set_err(b, "cannot write %s: %s", pwfile, strerror(errno));
	for (size_t i = 0; users[i]; i++) {
		int rc = add_user(b, pwfile, users[i]);
		if (rc)
			return rc;
	}
	return FERRY_OK;
}

static int write_files(struct test_broker *b, const struct test_broker_file *files)
{
	char path[512];
	for (size_t i = 0; files && files[i].name; i++) {
		const char *name = files[i].name;
		if (!*name || strchr(name, '/') || path_in(b, name, path, sizeof path)) {
			set_err(b, "files: bad file name \"%s\"", name);
			return FERRY_ERR_INVAL;
		}
		if (write_text(path, files[i].content ? files[i].content : ""))
			return set_err(b, "cannot write %s: %s", path, strerror(errno));
	}
	return FERRY_OK;
}

/* --- configuration ------------------------------------------------------------ */

/* Writes text with every "@DIR@" replaced by the broker's directory. */
static void put_substituted(FILE *f, const char *text, const char *dir)
{
	const char *p = text;
	const char *hit;
	while ((hit = strstr(p, "@DIR@")) != NULL) {
		fwrite(p, 1, (size_t)(hit - p), f);
		fputs(dir, f);
		p = hit + 5;
	}
	fputs(p, f);
}

static void put_body(FILE *f, const struct test_broker *b, const struct test_broker_opts *o)
{
	bool anon = o->anonymous == TEST_ANON_ALLOW ||
	            (o->anonymous == TEST_ANON_DEFAULT && o->users == NULL);
	if (geteuid() == 0)
		fputs("user root\n", f); /* else mosquitto drops to a user that cannot write dir */
	fprintf(f, "allow_anonymous %s\n", anon ? "true" : "false");
	if (o->users)
		fprintf(f, "password_file %s/passwd\n", b->dir);
	fprintf(f, "persistence %s\n", o->persistence ? "true" : "false");
	fprintf(f, "persistence_location %s/\npersistence_file mosquitto.db\n", b->dir);
	if (o->autosave)
		fputs("autosave_on_changes true\nautosave_interval 1\n", f);
	fprintf(f, "max_inflight_messages %u\nmax_queued_messages %u\n", o->max_inflight_messages,
	        o->max_queued_messages);
	fprintf(f, "log_dest file %s/broker.log\nlog_type all\n", b->dir);
	fputs("log_timestamp_format %Y-%m-%dT%H:%M:%S\nconnection_messages true\n", f);
	fputs("set_tcp_nodelay true\n", f);
	if (o->extra_config) {
		fputs("# extra_config\n", f);
		put_substituted(f, o->extra_config, b->dir);
		fputc('\n', f);
	}
}

/*
 * Rewrites mosquitto.conf for a port: the main listener first (options that
 * follow a listener line in extra_config then belong to the extra listener).
 */
static int write_config(struct test_broker *b, const char *body, int port)
{
	char path[512];
	int rc = path_in(b, "mosquitto.conf", path, sizeof path);
	if (rc)
		return rc;
	FILE *f = fopen(path, "we");
	if (!f)
		return set_err(b, "cannot write %s: %s", path, strerror(errno));
	fprintf(f, "# generated by ferry test/support/broker.c\nlistener %d 127.0.0.1\n%s", port,
	        body);
	if (fclose(f) != 0)
		return set_err(b, "cannot write %s: %s", path, strerror(errno));
	return FERRY_OK;
}

/* --- readiness ------------------------------------------------------------------- */

/* Inode of the socket listening on 127.0.0.1:port (in pid's network namespace), 0 when none. */
static unsigned long listener_inode(const struct test_broker *b, pid_t pid, int port)
{
	char path[64] = "/proc/net/tcp";
	if (b->netns[0])
		snprintf(path, sizeof path, "/proc/%d/net/tcp", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[512];
	unsigned long found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long addr, inode;
		unsigned lport, st;
		if (sscanf(line, " %*u: %lX:%X %*X:%*X %X %*X:%*X %*X:%*X %*X %*u %*u %lu", &addr,
		           &lport, &st, &inode) != 4)
			continue;
		if (lport == (unsigned)port && st == 0x0A && addr == htonl(INADDR_LOOPBACK))
			found = inode;
	}
	fclose(f);
	return found;
}

/* Whether process pid has socket inode among its descriptors. */
static bool owns_socket(pid_t pid, unsigned long inode)
{
	char path[64], want[64], link[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool yes = false;
	struct dirent *e;
	while (!yes && (e = readdir(d)) != NULL) {
		ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof link - 1);
		if (n > 0) {
			link[n] = 0;
			yes = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return yes;
}

/* A TCP socket in the broker's network namespace. */
static int broker_socket(const struct test_broker *b)
{
	if (!b->netns[0])
		return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int saved;
	if (test_netns_enter_name(b->netns, &saved))
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (test_netns_leave(saved)) {
		fprintf(stderr, "test_broker: cannot leave network namespace %s\n", b->netns);
		abort();
	}
	return fd;
}

static bool tcp_accepts(const struct test_broker *b, int port)
{
	int fd = broker_socket(b);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

int test_broker_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return FERRY_ERR_STATE;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	int port = FERRY_ERR_STATE;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Whether every port of b->wait_ports accepts a connection. */
static bool extra_ports_accept(const struct test_broker *b)
{
	for (size_t i = 0; b->wait_ports[i]; i++) {
		if (!tcp_accepts(b, b->wait_ports[i]))
			return false;
	}
	return true;
}

/* A free port in the broker's network namespace. */
static int broker_free_port(const struct test_broker *b)
{
	if (!b->netns[0])
		return test_broker_free_port();
	int saved;
	if (test_netns_enter_name(b->netns, &saved))
		return FERRY_ERR_STATE;
	int port = test_broker_free_port();
	if (test_netns_leave(saved)) {
		fprintf(stderr, "test_broker: cannot leave network namespace %s\n", b->netns);
		abort();
	}
	return port;
}

/*
 * Starts mosquitto with the current config on b->port and waits until it
 * listens (or deadline). On failure the child is reaped and *in_use tells
 * whether it failed because the port was taken.
 */
static int launch(struct test_broker *b, int64_t deadline, bool *in_use)
{
	char conf[512], outp[512], logp[512];
	*in_use = false;
	if (path_in(b, "mosquitto.conf", conf, sizeof conf) ||
	    path_in(b, "stderr.log", outp, sizeof outp) ||
	    path_in(b, "broker.log", logp, sizeof logp))
		return FERRY_ERR_INVAL;
	long out0 = file_size(outp), log0 = file_size(logp);
	char *argv[] = {(char *)"mosquitto", (char *)"-c", conf, NULL};
	int ns_fd = -1;
	if (b->netns[0]) {
		char nsp[128];
		snprintf(nsp, sizeof nsp, "/run/netns/%s", b->netns);
		ns_fd = open(nsp, O_RDONLY | O_CLOEXEC);
		if (ns_fd < 0)
			return set_err(b, "network namespace %s: %s", nsp, strerror(errno));
	}
	pid_t pid = spawn(MOSQUITTO, argv, outp, ns_fd);
	if (ns_fd >= 0)
		close(ns_fd);
	if (pid < 0)
		return set_err(b, "fork: %s", strerror(errno));
	reg_pid(b, pid);
	int st, rc = FERRY_OK;
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			*in_use =
			    file_has(outp, out0, ADDR_IN_USE) || file_has(logp, log0, ADDR_IN_USE);
			rc = set_err(b, "mosquitto exited at start (status 0x%x)%s; see %s", st,
			             *in_use ? ": port in use" : "", b->dir);
			break;
		}
		unsigned long inode = listener_inode(b, pid, b->port);
		if (inode && owns_socket(pid, inode) && tcp_accepts(b, b->port) &&
		    extra_ports_accept(b)) {
			b->pid = pid;
			b->paused = false;
			return FERRY_OK;
		}
		if (test_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			wait_exit(pid, WAIT_MS, &st);
			set_err(b, "mosquitto not listening on port %d after %d ms", b->port,
			        WAIT_MS);
			rc = FERRY_ERR_TIMEOUT;
			break;
		}
		test_nap_ms(POLL_MS);
	}
	reg_pid(b, 0);
	return rc;
}

/* --- public functions --------------------------------------------------------------- */

static int make_dir(struct test_broker *b)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	int n = snprintf(b->dir, sizeof b->dir, "%s/ferry-broker-XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof b->dir - 32) {
		b->dir[0] = 0;
		set_err(b, "TMPDIR too long");
		return FERRY_ERR_INVAL;
	}
	if (!mkdtemp(b->dir)) {
		set_err(b, "mkdtemp(%s): %s", b->dir, strerror(errno));
		b->dir[0] = 0;
		return FERRY_ERR_STATE;
	}
	b->have_dir = true;
	reg_open(b);
	return FERRY_OK;
}

/* Keeps the namespace and the extra ports for start and every restart. */
static int copy_placement(struct test_broker *b, const struct test_broker_opts *o)
{
	if (o->netns) {
		int n = snprintf(b->netns, sizeof b->netns, "%s", o->netns);
		if (n <= 0 || (size_t)n >= sizeof b->netns || strchr(o->netns, '/')) {
			set_err(b, "netns: bad name \"%s\"", o->netns);
			return FERRY_ERR_INVAL;
		}
	}
	for (size_t i = 0; o->wait_ports && o->wait_ports[i]; i++) {
		if (i == TEST_BROKER_WAIT_PORTS || o->wait_ports[i] < 0 || o->wait_ports[i] > 65535) {
			set_err(b, "wait_ports: more than %d, or a bad port", TEST_BROKER_WAIT_PORTS);
			return FERRY_ERR_INVAL;
		}
		b->wait_ports[i] = o->wait_ports[i];
	}
	return FERRY_OK;
}

static char *config_body(const struct test_broker *b, const struct test_broker_opts *o)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	if (!f)
		return NULL;
	put_body(f, b, o);
	if (fclose(f) != 0) {
		free(body);
		return NULL;
	}
	return body;
}

/* Tries fresh ports until mosquitto listens on one. */
static int start_on_free_port(struct test_broker *b, const char *body)
{
	int rc = FERRY_ERR_STATE;
	for (int i = 0; i < START_TRIES; i++) {
		int port = broker_free_port(b);
		if (port < 0)
			return set_err(b, "no free port on 127.0.0.1: %s", strerror(errno));
		b->port = port;
		rc = write_config(b, body, port);
		if (rc)
			return rc;
		bool in_use;
		rc = launch(b, test_now_ms() + WAIT_MS, &in_use);
		if (rc == FERRY_OK || !in_use)
			return rc;
	}
	return rc;
}

int test_broker_start(struct test_broker *b, const struct test_broker_opts *o)
{
	static const struct test_broker_opts defaults = {0};
	char pw[512];
	if (!b)
		return FERRY_ERR_INVAL;
	memset(b, 0, sizeof *b);
	if (!o)
		o = &defaults;
	int rc = copy_placement(b, o);
	if (rc)
		return rc;
	rc = make_dir(b);
	if (rc)
		return rc;
	rc = write_files(b, o->files);
	if (!rc && o->users) {
		rc = path_in(b, "passwd", pw, sizeof pw);
		if (!rc)
			rc = write_passwords(b, o->users, pw);
	}
	if (rc)
		return rc;
	char *body = config_body(b, o);
	if (!body) {
		set_err(b, "out of memory");
		return FERRY_ERR_NOMEM;
	}
	rc = start_on_free_port(b, body);
	free(body);
	if (rc) {
		b->port = 0;
		return rc;
	}
	snprintf(b->uri, sizeof b->uri, "tcp://127.0.0.1:%d", b->port);
	b->error[0] = 0;
	return FERRY_OK;
}

/* Sends sig, waits for the exit, reaps; pid is 0 afterwards in any case. */
static int end_process(struct test_broker *b, int sig)
{
	if (!b->pid)
		return FERRY_OK;
	pid_t pid = b->pid;
	int st, rc = FERRY_OK;
	kill(pid, sig);
	if (b->paused)
		kill(pid, SIGCONT);
	if (wait_exit(pid, WAIT_MS, &st)) {
		set_err(b, "mosquitto (pid %d) ignored signal %d for %d ms: killed", (int)pid, sig,
		        WAIT_MS);
		kill(pid, SIGKILL);
		wait_exit(pid, WAIT_MS, &st);
		rc = FERRY_ERR_STATE;
	}
	reg_pid(b, 0);
	b->pid = 0;
	b->paused = false;
	return rc;
}

int test_broker_stop(struct test_broker *b)
{
	return b ? end_process(b, SIGTERM) : FERRY_ERR_INVAL;
}

int test_broker_kill(struct test_broker *b)
{
	return b ? end_process(b, SIGKILL) : FERRY_ERR_INVAL;
}

int test_broker_restart(struct test_broker *b)
{
	if (!b)
		return FERRY_ERR_INVAL;
	if (!b->have_dir || !b->port)
		return set_err(b, "restart: broker was never started");
	int rc = test_broker_stop(b);
	if (rc)
		return rc;
	int64_t deadline = test_now_ms() + WAIT_MS;
	for (;;) {
		bool in_use;
		rc = launch(b, deadline, &in_use);
		if (rc == FERRY_OK) {
			b->error[0] = 0;
			return FERRY_OK;
		}
		if (!in_use)
			return rc;
		if (test_now_ms() >= deadline) {
			set_err(b, "restart: port %d still in use after %d ms", b->port, WAIT_MS);
			return FERRY_ERR_TIMEOUT;
		}
		test_nap_ms(50); /* each try spawns a process: not too often */
	}
}

static int send_stop_cont(struct test_broker *b, int sig, bool paused)
{
	if (!b)
		return FERRY_ERR_INVAL;
	if (!b->pid)
		return set_err(b, "broker is not running");
	if (kill(b->pid, sig) != 0)
		return set_err(b, "kill(%d): %s", (int)b->pid, strerror(errno));
	b->paused = paused;
	return FERRY_OK;
}

int test_broker_pause(struct test_broker *b)
{
	return send_stop_cont(b, SIGSTOP, true);
}

int test_broker_resume(struct test_broker *b)
{
	return send_stop_cont(b, SIGCONT, false);
}

void test_broker_cleanup(struct test_broker *b)
{
	if (!b)
		return;
	test_broker_stop(b);
	if (b->have_dir)
		test_rmtree(b->dir);
	reg_close(b);
	memset(b, 0, sizeof *b);
}

const char *test_broker_uri(const struct test_broker *b)
{
	return b->uri;
}

int test_broker_port(const struct test_broker *b)
{
	return b->port;
}

const char *test_broker_dir(const struct test_broker *b)
{
	return b->dir;
}

const char *test_broker_error(const struct test_broker *b)
{
	return b->error;
}

static void dump_one(const struct test_broker *b, const char *name, FILE *f)
{
	char path[512];
	if (path_in(b, name, path, sizeof path))
		return;
	char *s = read_text(path, 0);
	fprintf(f, "----- %s -----\n%s", path, s ? s : "(unreadable)\n");
	if (s && *s && s[strlen(s) - 1] != '\n')
		fputc('\n', f);
	free(s);
}

void test_broker_dump_log(const struct test_broker *b, FILE *f)
{
	if (!b || !b->have_dir) {
		fprintf(f, "----- no broker directory -----\n");
		return;
	}
	dump_one(b, "stderr.log", f);
	dump_one(b, "broker.log", f);
	fprintf(f, "----- end of broker logs -----\n");
}

bool test_broker_log_contains(const struct test_broker *b, const char *text)
{
	char path[512];
	if (!b || !b->have_dir || path_in(b, "broker.log", path, sizeof path))
		return false;
	return file_has(path, 0, text);
}

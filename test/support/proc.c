/*
 * proc.c - child processes, temporary directories and a private epmd for the
 * cluster tests. See proc.h.
 */
#include "proc.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
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
#include "broker.h"

#define POLL_MS   20
#define MAX_ENV   512
#define NET_SLOTS 32

extern char **environ;

/* --- the atexit safety net: process groups still running at exit ------------ */

static pthread_mutex_t net_mu = PTHREAD_MUTEX_INITIALIZER;
static pid_t net_pids[NET_SLOTS];
static bool net_armed;

static void net_atexit(void)
{
	pthread_mutex_lock(&net_mu);
	for (int i = 0; i < NET_SLOTS; i++) {
		if (net_pids[i] > 0) {
			kill(-net_pids[i], SIGKILL);
			waitpid(net_pids[i], NULL, 0);
			net_pids[i] = 0;
		}
	}
	pthread_mutex_unlock(&net_mu);
}

static void net_add(struct test_proc *p)
{
	pthread_mutex_lock(&net_mu);
	if (!net_armed) {
		atexit(net_atexit);
		net_armed = true;
	}
	for (int i = 0; i < NET_SLOTS; i++) {
		if (net_pids[i] == 0) {
			net_pids[i] = p->pid;
			p->slot = i + 1;
			break;
		}
	}
	pthread_mutex_unlock(&net_mu);
}

static void net_remove(struct test_proc *p)
{
	if (p->slot == 0)
		return;
	pthread_mutex_lock(&net_mu);
	net_pids[p->slot - 1] = 0;
	pthread_mutex_unlock(&net_mu);
	p->slot = 0;
}

/* --- small helpers --------------------------------------------------------------- */

/* The caller's environment with env's entries replacing same-named ones. */
static int build_env(const char *const env[], char **out, size_t cap)
{
	size_t n = 0;
	for (char **e = environ; *e; e++) {
		bool replaced = false;
		size_t name_len = strcspn(*e, "=");
		for (size_t i = 0; env && env[i]; i++)
			if (strncmp(env[i], *e, name_len + 1) == 0)
				replaced = true;
		if (!replaced) {
			if (n + 1 >= cap)
				return FERRY_ERR_INVAL;
			out[n++] = *e;
		}
	}
	for (size_t i = 0; env && env[i]; i++) {
		if (n + 1 >= cap || !strchr(env[i], '='))
			return FERRY_ERR_INVAL;
		out[n++] = (char *)env[i];
	}
	out[n] = NULL;
	return FERRY_OK;
}

/* --- processes ------------------------------------------------------------------- */

int test_proc_start(struct test_proc *p, const char *const argv[], const char *const env[],
                    const char *cwd, const char *log_path)
{
	if (!p || !argv || !argv[0] || argv[0][0] != '/' || !log_path)
		return FERRY_ERR_INVAL;
	memset(p, 0, sizeof *p);
	p->status = -1;
	if (strlen(log_path) >= sizeof p->log)
		return FERRY_ERR_INVAL;
	strcpy(p->log, log_path);
	char *envp[MAX_ENV];
	int rc = build_env(env, envp, MAX_ENV);
	if (rc)
		return rc;
	pid_t parent = getpid();
	sigset_t none;
	sigemptyset(&none);
	pid_t pid = fork();
	if (pid < 0)
		return FERRY_ERR_STATE;
	if (pid == 0) {
		/* only async-signal-safe calls from here */
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(127);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int in = open("/dev/null", O_RDONLY);
		int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		if (close_range(3, ~0u, 0) != 0) {
			for (int fd = 3; fd < 65536; fd++)
				close(fd);
		}
		if (cwd && chdir(cwd) != 0)
			_exit(127);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	setpgid(pid, pid); /* also from here: no race with a kill of the group */
	p->pid = pid;
	net_add(p);
	return FERRY_OK;
}

/* Reaps the leader if it has exited (timeout_ms 0: just look). */
static bool reap(struct test_proc *p, int timeout_ms)
{
	int64_t deadline = test_now_ms() + timeout_ms;
	for (;;) {
		int st = 0;
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid || (r < 0 && errno == ECHILD)) {
			p->status = r == p->pid ? st : -1;
			net_remove(p);
			p->pid = 0;
			return true;
		}
		if (test_now_ms() >= deadline)
			return false;
		test_nap_ms(POLL_MS);
	}
}

bool test_proc_alive(struct test_proc *p)
{
	if (!p || p->pid <= 0)
		return false;
	return !reap(p, 0);
}

int test_proc_kill(struct test_proc *p)
{
	if (!p || p->pid <= 0)
		return FERRY_OK;
	pid_t pid = p->pid;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	reap(p, 10000);
	kill(-pid, SIGKILL); /* anything the group forked meanwhile */
	return p->pid == 0 ? FERRY_OK : FERRY_ERR_TIMEOUT;
}

int test_proc_stop(struct test_proc *p, int timeout_ms)
{
	if (!p || p->pid <= 0)
		return FERRY_OK;
	pid_t pid = p->pid;
	kill(-pid, SIGTERM);
	if (reap(p, timeout_ms)) {
		kill(-pid, SIGKILL);
		return FERRY_OK;
	}
	test_proc_kill(p);
	return FERRY_ERR_STATE;
}

int test_proc_run(const char *const argv[], const char *const env[], const char *cwd,
                  const char *log_path, int timeout_ms, int *exit_code)
{
	struct test_proc p;
	if (exit_code)
		*exit_code = -1;
	int rc = test_proc_start(&p, argv, env, cwd, log_path);
	if (rc)
		return rc;
	if (!reap(&p, timeout_ms)) {
		test_proc_kill(&p);
		return FERRY_ERR_TIMEOUT;
	}
	int code = WIFEXITED(p.status) ? WEXITSTATUS(p.status) : -1;
	if (exit_code)
		*exit_code = code;
	return code == 0 ? FERRY_OK : FERRY_ERR_STATE;
}

void test_proc_dump_log(const struct test_proc *p, FILE *f, long max_bytes)
{
	if (!p || !f || !p->log[0])
		return;
	FILE *in = fopen(p->log, "r");
	fprintf(f, "----- %s (last %ld bytes) -----\n", p->log, max_bytes);
	if (!in)
		return;
	if (fseek(in, 0, SEEK_END) == 0) {
		long size = ftell(in);
		if (size > max_bytes)
			fseek(in, size - max_bytes, SEEK_SET);
		else
			fseek(in, 0, SEEK_SET);
	}
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, n, f);
	fclose(in);
	fprintf(f, "----- end of %s -----\n", p->log);
}

/* --- TCP, directories, files --------------------------------------------------- */

static bool tcp_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

int test_tcp_wait(int port, int timeout_ms, struct test_proc *p)
{
	if (port <= 0 || port > 65535)
		return FERRY_ERR_INVAL;
	int64_t deadline = test_now_ms() + timeout_ms;
	for (;;) {
		if (tcp_accepts(port))
			return FERRY_OK;
		if (p && !test_proc_alive(p))
			return FERRY_ERR_STATE;
		if (test_now_ms() >= deadline)
			return FERRY_ERR_TIMEOUT;
		test_nap_ms(50);
	}
}

int test_tmpdir(const char *prefix, char *out, size_t cap)
{
	if (!prefix || !out)
		return FERRY_ERR_INVAL;
	int n = snprintf(out, cap, "/tmp/%s-XXXXXX", prefix);
	if (n < 0 || (size_t)n >= cap)
		return FERRY_ERR_INVAL;
	return mkdtemp(out) ? FERRY_OK : FERRY_ERR_STATE;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void test_rmtree(const char *dir)
{
	if (!dir || !dir[0])
		return;
	if (getenv("TEST_BROKER_KEEP"))
		fprintf(stderr, "test: keeping %s\n", dir);
	else
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int test_write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof path || !text)
		return FERRY_ERR_INVAL;
	FILE *f = fopen(path, "w");
	if (!f)
		return FERRY_ERR_STATE;
	size_t len = strlen(text);
	bool ok = fwrite(text, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	return ok ? FERRY_OK : FERRY_ERR_STATE;
}

int test_free_port(void)
{
	return test_broker_free_port();
}

/* --- epmd -------------------------------------------------------------------------- */

const char *test_find_exec(const char *const paths[], size_t n)
{
	for (size_t i = 0; paths && i < n; i++)
		if (paths[i] && access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

int test_epmd_start(struct test_epmd *e, const char *dir)
{
	if (!e || !dir)
		return FERRY_ERR_INVAL;
	memset(e, 0, sizeof *e);
	static const char *const where[] = {"/usr/bin/epmd", "/usr/lib/erlang/bin/epmd"};
	const char *prog = test_find_exec(where, 2);
	if (!prog)
		return FERRY_ERR_STATE;
	char log[256], port_s[16];
	int n = snprintf(log, sizeof log, "%s/epmd.log", dir);
	if (n < 0 || (size_t)n >= sizeof log)
		return FERRY_ERR_INVAL;
	int rc = FERRY_ERR_STATE;
	for (int attempt = 0; attempt < 5; attempt++) {
		int port = test_free_port();
		if (port < 0)
			return port;
		snprintf(port_s, sizeof port_s, "%d", port);
		const char *argv[] = {prog, "-port", port_s, "-address", "127.0.0.1", NULL};
		rc = test_proc_start(&e->proc, argv, NULL, dir, log);
		if (rc)
			return rc;
		rc = test_tcp_wait(port, 10000, &e->proc);
		if (rc == FERRY_OK) {
			e->port = port;
			snprintf(e->env, sizeof e->env, "ERL_EPMD_PORT=%d", port);
			return FERRY_OK;
		}
		test_proc_kill(&e->proc); /* the port was taken meanwhile: again */
	}
	return rc;
}

void test_epmd_stop(struct test_epmd *e)
{
	if (e)
		test_proc_kill(&e->proc);
}

/*
 * netns.c - network namespaces for integration tests (see netns.h).
 *
 * Namespaces are made and removed with `ip netns add|del NAME` (fork +
 * execv, no shell) and entered with setns() on /run/netns/NAME, which is
 * where ip keeps them. Every name made is in a process-wide registry with
 * its own mutex, so an atexit handler can remove the ones left behind.
 */
#include "netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ferry/error.h"

#define RUN_NETNS    "/run/netns"
#define PREFIX       "ferry-test-"
#define REGISTRY_MAX 32

static const char *const ip_paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static char reg[REGISTRY_MAX][64]; /* names made and not yet removed; "" = free */
static unsigned counter;           /* for unique names, under reg_lock */

__attribute__((format(printf, 2, 3))) static int set_err(struct test_netns *ns, const char *fmt,
                                                         ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ns->error, sizeof ns->error, fmt, ap);
	va_end(ap);
	return FERRY_ERR_STATE;
}

static const char *ip_command(void)
{
	for (size_t i = 0; i < sizeof ip_paths / sizeof ip_paths[0]; i++) {
		if (access(ip_paths[i], X_OK) == 0)
			return ip_paths[i];
	}
	return NULL;
}

/*
 * Runs ip with the arguments (NULL-terminated); its output (stdout and
 * stderr, the first bytes) goes to out. Returns its exit status, or -1 when
 * it could not be run.
 */
static int run_ip(char *out, size_t cap, char *const argv[])
{
	const char *ip = ip_command();
	int p[2];
	out[0] = 0;
	if (!ip || pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		execv(ip, argv);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0;
	char buf[256];
	ssize_t r;
	while ((r = read(p[0], buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < r && len + 1 < cap; i++)
			out[len++] = buf[i] == '\n' ? ' ' : buf[i];
	}
	out[len] = 0;
	close(p[0]);
	int st;
	if (pid < 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int ip_netns(const char *verb, const char *name, char *out, size_t cap)
{
	char *argv[] = {(char *)"ip", (char *)"netns", (char *)verb, (char *)name, NULL};
	return run_ip(out, cap, argv);
}

/* Removes namespaces of ferry test programs that are gone. */
static void remove_stale(void)
{
	DIR *d = opendir(RUN_NETNS);
	if (!d)
		return;
	struct dirent *e;
	char out[256];
	while ((e = readdir(d)) != NULL) {
		long pid;
		unsigned n;
		if (sscanf(e->d_name, PREFIX "%ld-%u", &pid, &n) != 2 || pid <= 0 || pid == getpid())
			continue;
		if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
			ip_netns("del", e->d_name, out, sizeof out);
	}
	closedir(d);
}

static void reg_atexit(void)
{
	char out[256];
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < REGISTRY_MAX; i++) {
		if (reg[i][0]) {
			ip_netns("del", reg[i], out, sizeof out);
			reg[i][0] = 0;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

static void reg_init(void)
{
	remove_stale();
	atexit(reg_atexit);
}

/* A fresh name, registered; 0 when the registry is full. */
static int reg_add(struct test_netns *ns)
{
	pthread_once(&reg_once, reg_init);
	pthread_mutex_lock(&reg_lock);
	int slot = 0;
	for (int i = 0; i < REGISTRY_MAX && !slot; i++) {
		if (!reg[i][0]) {
			snprintf(ns->name, sizeof ns->name, PREFIX "%ld-%u", (long)getpid(), ++counter);
			snprintf(reg[i], sizeof reg[i], "%s", ns->name);
			slot = i + 1;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return slot;
}

static void reg_remove(int slot)
{
	pthread_mutex_lock(&reg_lock);
	reg[slot - 1][0] = 0;
	pthread_mutex_unlock(&reg_lock);
}

static char why_not[320]; /* written once by probe */

/* Tries once: root, the ip command, a namespace made, entered and removed. */
static void probe(void)
{
	struct test_netns ns;
	if (geteuid() != 0) {
		snprintf(why_not, sizeof why_not,
		         "network namespaces need root (running as uid %d)", (int)geteuid());
		return;
	}
	if (!ip_command()) {
		snprintf(why_not, sizeof why_not,
		         "network namespaces need the ip command (Debian package iproute2)");
		return;
	}
	int saved = -1;
	int rc = test_netns_create(&ns);
	if (!rc)
		rc = test_netns_enter(&ns, &saved);
	if (!rc)
		rc = test_netns_leave(saved);
	if (rc)
		snprintf(why_not, sizeof why_not, "network namespaces do not work here: %s", ns.error);
	test_netns_cleanup(&ns);
}

const char *test_netns_unavailable(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, probe);
	return why_not[0] ? why_not : NULL;
}

int test_netns_create(struct test_netns *ns)
{
	char out[200], path[128];
	if (!ns)
		return FERRY_ERR_INVAL;
	memset(ns, 0, sizeof *ns);
	ns->fd = -1;
	if (!ip_command())
		return set_err(ns, "no ip command (Debian package iproute2)");
	ns->slot = reg_add(ns);
	if (!ns->slot) {
		ns->name[0] = 0;
		return set_err(ns, "more than %d namespaces at once", REGISTRY_MAX);
	}
	int st = ip_netns("add", ns->name, out, sizeof out);
	if (st != 0) {
		reg_remove(ns->slot);
		ns->slot = 0;
		set_err(ns, "ip netns add %s failed (status %d): %s", ns->name, st, out);
		ns->name[0] = 0;
		return FERRY_ERR_STATE;
	}
	char *lo[] = {(char *)"ip",   (char *)"-n", ns->name, (char *)"link",
	              (char *)"set",  (char *)"lo", (char *)"up", NULL};
	st = run_ip(out, sizeof out, lo);
	if (st != 0)
		return set_err(ns, "ip -n %s link set lo up failed (status %d): %s", ns->name, st, out);
	snprintf(path, sizeof path, RUN_NETNS "/%s", ns->name);
	ns->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns->fd < 0)
		return set_err(ns, "open %s: %s", path, strerror(errno));
	return FERRY_OK;
}

/* setns() to fd, keeping the thread's namespace before in *saved. */
static int enter_fd(int fd, int *saved, char *err, size_t cap)
{
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0) {
		snprintf(err, cap, "open /proc/thread-self/ns/net: %s", strerror(errno));
		return FERRY_ERR_STATE;
	}
	if (setns(fd, CLONE_NEWNET) != 0) {
		snprintf(err, cap, "setns: %s", strerror(errno));
		close(*saved);
		*saved = -1;
		return FERRY_ERR_STATE;
	}
	return FERRY_OK;
}

int test_netns_enter(struct test_netns *ns, int *saved)
{
	if (!ns || !saved || ns->fd < 0 || !ns->name[0])
		return FERRY_ERR_INVAL;
	return enter_fd(ns->fd, saved, ns->error, sizeof ns->error);
}

int test_netns_enter_name(const char *name, int *saved)
{
	char path[128], err[128];
	if (!name || !saved || strchr(name, '/'))
		return FERRY_ERR_INVAL;
	snprintf(path, sizeof path, RUN_NETNS "/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return FERRY_ERR_STATE;
	int rc = enter_fd(fd, saved, err, sizeof err);
	close(fd);
	return rc;
}

int test_netns_leave(int saved)
{
	if (saved < 0)
		return FERRY_ERR_INVAL;
	int rc = setns(saved, CLONE_NEWNET) == 0 ? FERRY_OK : FERRY_ERR_STATE;
	close(saved);
	return rc;
}

int test_netns_socket(struct test_netns *ns, int domain, int type)
{
	int saved;
	if (test_netns_enter(ns, &saved))
		return -1;
	int fd = socket(domain, type | SOCK_CLOEXEC, 0);
	int e = errno;
	if (test_netns_leave(saved)) {
		/* The thread could not go back: a broken test environment. */
		fprintf(stderr, "test_netns_socket: cannot leave %s\n", ns->name);
		abort();
	}
	errno = e;
	return fd;
}

void test_netns_cleanup(struct test_netns *ns)
{
	char out[200];
	if (!ns || !ns->name[0])
		return;
	if (ns->fd >= 0)
		close(ns->fd);
	int st = ip_netns("del", ns->name, out, sizeof out);
	if (st != 0)
		fprintf(stderr, "test_netns: ip netns del %s failed (status %d): %s\n", ns->name, st,
		        out);
	if (ns->slot)
		reg_remove(ns->slot);
	memset(ns, 0, sizeof *ns);
	ns->fd = -1;
}

/*
 * netns.h - network namespaces for integration tests: a private network
 * stack with only a loopback interface, for servers that cannot be held to
 * 127.0.0.1 (mosquitto 2.0's websockets listeners ignore their bind address
 * and listen on every interface).
 *
 *	struct test_netns ns;
 *	const char *why = test_netns_unavailable();   NULL when usable
 *	int rc = test_netns_create(&ns);               "ferry-test-<pid>-<n>", lo up
 *	int saved;
 *	rc = test_netns_enter(&ns, &saved);            this thread only
 *	... sockets made and threads started now live in ns ...
 *	test_netns_leave(saved);
 *	test_netns_cleanup(&ns);                       always, also after a failed create
 *
 * Namespaces belong to threads in Linux: test_netns_enter moves the calling
 * thread alone, and threads it creates afterwards start in the namespace
 * (a ferry context made there runs its send and receive threads in it, and
 * so connects and resolves in it). A socket stays in the namespace it was
 * made in, whichever thread uses it later.
 *
 * Needs root (CAP_SYS_ADMIN) and the `ip` command (Debian package
 * iproute2); test_netns_unavailable says in words why not, after trying
 * once to make and remove a namespace.
 *
 * Cleanup: the namespace is removed by test_netns_cleanup, and at normal
 * process exit for any the tests left behind (a CUnit fatal assertion). The
 * first create also removes namespaces named ferry-test-<pid>-* whose
 * process no longer exists (a test program that crashed). A namespace lives
 * on, nameless, while a process still runs in it.
 *
 * Threads: functions may be called from any thread; a struct test_netns
 * must not be used by two at once. Not async-signal-safe.
 *
 * Errors: FERRY_OK or FERRY_ERR_STATE (a command or system call failed),
 * FERRY_ERR_INVAL, with the reason in ns->error where there is an ns.
 */
#ifndef FERRY_TEST_NETNS_H
#define FERRY_TEST_NETNS_H

struct test_netns {
	char name[64];   /* "" when none */
	int fd;          /* the namespace (open /run/netns/NAME), -1 when none */
	int slot;        /* entry in the exit-time registry + 1, 0 = none */
	char error[256]; /* "" when none */
};

/* NULL when namespaces can be made here; else a sentence saying why not. */
const char *test_netns_unavailable(void);

/* test_netns_create - a new namespace with its loopback up; ns: any memory. */
int test_netns_create(struct test_netns *ns);

/*
 * test_netns_enter - move the calling thread into ns. *saved receives a
 * descriptor of the thread's namespace before, for test_netns_leave.
 */
int test_netns_enter(struct test_netns *ns, int *saved);

/* test_netns_leave - move the calling thread back to saved and close it. */
int test_netns_leave(int saved);

/*
 * test_netns_socket - socket(domain, type | SOCK_CLOEXEC, 0) made inside
 * ns without moving the caller; -1 on failure.
 */
int test_netns_socket(struct test_netns *ns, int domain, int type);

/* test_netns_cleanup - remove the namespace (if any). Idempotent; zeroed structs are fine. */
void test_netns_cleanup(struct test_netns *ns);

/*
 * test_netns_enter_name - as test_netns_enter, for a namespace known by
 * name only (/run/netns/NAME), e.g. in another support module.
 */
int test_netns_enter_name(const char *name, int *saved);

#endif

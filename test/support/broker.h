/*
 * broker.h - a real mosquitto broker for integration tests, started on
 * 127.0.0.1 on a free port with a generated configuration in a fresh
 * temporary directory.
 *
 * Typical use:
 *
 *	struct test_broker b;
 *	int rc = test_broker_start(&b, &(struct test_broker_opts){.persistence = true});
 *	... connect to test_broker_uri(&b) ...
 *	rc = test_broker_restart(&b);        same port, same directory
 *	test_broker_cleanup(&b);             always, also after a failed start
 *
 * Lifetime and ownership:
 *  - struct test_broker is owned by the caller (usually on the stack). After
 *    test_broker_start returns, whatever it returned, test_broker_cleanup must
 *    be called once: it stops the broker if it runs and removes the temporary
 *    directory (kept when the environment variable TEST_BROKER_KEEP is set,
 *    for post-mortem). A zeroed struct may also be cleaned up.
 *  - The options are borrowed for the call of test_broker_start: the
 *    configuration file, password file and extra files are written then, and
 *    restarts reuse them.
 *  - Strings returned (uri, dir, error) live as long as the struct.
 *
 * Processes: mosquitto runs as a child (fork + execv, no shell) in its own
 * process group, with stdin from /dev/null and stdout/stderr to stderr.log in
 * the temporary directory, and with no other descriptor inherited. It gets
 * SIGTERM when the thread that started it exits (PR_SET_PDEATHSIG), so a
 * crashed test leaves no broker behind; start brokers from a thread that
 * outlives them (normally the main thread). When the process exits normally,
 * an atexit handler kills every broker still running and removes every
 * directory not cleaned up (e.g. after a CUnit fatal assertion jumped over a
 * test's cleanup).
 *
 * Readiness: start returns once the child holds a listening socket on
 * 127.0.0.1:port (checked in /proc, so another process that happens to own
 * the port is never mistaken for the broker) and a TCP connection to it
 * succeeds (and to every port of opts.wait_ports). Every wait is bounded (10 s); a child that exits early (bad
 * configuration, port taken) is noticed at once.
 *
 * Thread safety: a struct test_broker must not be used by two threads at
 * once; distinct brokers are independent and may be driven from different
 * threads. Not async-signal-safe.
 *
 * Errors: functions returning int give FERRY_OK or a negative enum ferry_err
 * (FERRY_ERR_INVAL, FERRY_ERR_NOMEM, FERRY_ERR_STATE for a failed system call
 * or a broker that exited, FERRY_ERR_TIMEOUT for a bounded wait that
 * expired); test_broker_error() then says what went wrong in words.
 */
#ifndef FERRY_TEST_BROKER_H
#define FERRY_TEST_BROKER_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* Anonymous clients: by default allowed unless a users list is given. */
enum test_broker_anon {
	TEST_ANON_DEFAULT = 0, /* allowed when users is NULL, refused otherwise */
	TEST_ANON_ALLOW = 1,
	TEST_ANON_DENY = 2,
};

/* A file written into the broker's directory before it starts (e.g. an ACL file). */
struct test_broker_file {
	const char *name;    /* plain file name, no '/'; NULL ends a list */
	const char *content; /* text written as is */
};

/*
 * Options; every field's zero value is a sensible default, so designated
 * initialisers name only what a test needs.
 */
struct test_broker_opts {
	/* Keep sessions, subscriptions and retained messages across restarts
	 * (persistence_location is the temporary directory). The broker saves on
	 * stop (SIGTERM); test_broker_kill loses what was not saved unless
	 * autosave is set too. */
	bool persistence;
	/* Save the database after every change (autosave_on_changes, interval 1),
	 * so even test_broker_kill keeps everything. Implies nothing without
	 * persistence. */
	bool autosave;
	enum test_broker_anon anonymous;
	/* NULL-terminated list of "user:password" (the password may contain ':'),
	 * turned into a password file with mosquitto_passwd -b. NULL: none. */
	const char *const *users;
	/* 0 = unlimited (mosquitto's meaning of 0); otherwise the limit. */
	unsigned max_inflight_messages;
	unsigned max_queued_messages;
	/* Files written into the directory first; array ended by a NULL name. */
	const struct test_broker_file *files;
	/* Free text appended to the configuration (ACLs, more listeners). Every
	 * "@DIR@" in it is replaced by the broker's directory. Any extra listener
	 * must bind 127.0.0.1 only (see test_broker_free_port), unless the
	 * broker runs in a network namespace of its own (netns below). */
	const char *extra_config;
	/* Run mosquitto inside this network namespace (made with
	 * test/support/netns.h; its name), NULL: the caller's. Everything then
	 * happens in that namespace: the port is free there, 127.0.0.1:port
	 * (and test_broker_uri) reach the broker only from threads that
	 * entered it (test_netns_enter), and listeners that ignore their bind
	 * address (mosquitto's websockets listeners) are seen by nobody else.
	 * The namespace must outlive the broker (cleanup it after the broker). */
	const char *netns;
	/* Ports of extra listeners that start (and restart) also waits for
	 * until a TCP connection to 127.0.0.1:port succeeds; 0 ends the list,
	 * at most TEST_BROKER_WAIT_PORTS. NULL: none. */
	const int *wait_ports;
};

/* Most extra listener ports a broker waits for (test_broker_opts.wait_ports). */
#define TEST_BROKER_WAIT_PORTS 4

/* A broker started by test_broker_start. Fields are read-only for callers. */
struct test_broker {
	pid_t pid;       /* the running mosquitto, 0 when none */
	int port;        /* 127.0.0.1 port of the main listener, 0 before start */
	bool paused;     /* SIGSTOP sent by test_broker_pause */
	bool have_dir;   /* dir exists and must be removed by cleanup */
	int slot;        /* entry in the atexit safety net + 1, 0 = none */
	char dir[256];   /* temporary directory (config, logs, database) */
	char uri[48];    /* "tcp://127.0.0.1:PORT" */
	char netns[64];  /* network namespace it runs in, "" = the caller's */
	int wait_ports[TEST_BROKER_WAIT_PORTS + 1]; /* extra listeners to wait for, 0-ended */
	char error[512]; /* last error, "" when none */
};

/*
 * test_broker_start - create the directory, write the configuration, start
 * mosquitto on a free port and wait until it accepts connections. A port
 * lost to another process in the meantime is retried with a new one.
 * b: any memory (it is initialised); o: NULL for all defaults.
 * Returns FERRY_OK, or an error with test_broker_error(b) set; call
 * test_broker_cleanup(b) in both cases.
 */
int test_broker_start(struct test_broker *b, const struct test_broker_opts *o);

/*
 * test_broker_stop - SIGTERM, then wait (10 s) for the broker to exit, and
 * SIGKILL it if it did not. On return the process is reaped and the port
 * refuses connections. FERRY_OK also when it was not running; FERRY_ERR_STATE
 * when it had to be killed (it is gone all the same).
 */
int test_broker_stop(struct test_broker *b);

/* test_broker_kill - SIGKILL and reap at once (a broker crash). FERRY_OK also when not running. */
int test_broker_kill(struct test_broker *b);

/*
 * test_broker_restart - stop the broker if it runs (gracefully, so a
 * persistent broker saves its database), then start it again on the same
 * port with the same configuration and directory. While the old port cannot
 * be bound yet the start is retried for up to 10 s.
 * Returns FERRY_OK, FERRY_ERR_STATE (never started, or it will not start),
 * FERRY_ERR_TIMEOUT.
 */
int test_broker_restart(struct test_broker *b);

/*
 * test_broker_pause / test_broker_resume - SIGSTOP / SIGCONT: the broker keeps
 * its connections open but answers nothing (a stalled server, for keepalive
 * tests). FERRY_ERR_STATE when it is not running. stop, kill and cleanup
 * resume a paused broker first.
 */
int test_broker_pause(struct test_broker *b);
int test_broker_resume(struct test_broker *b);

/* test_broker_cleanup - stop the broker if it runs and remove its directory. Idempotent. */
void test_broker_cleanup(struct test_broker *b);

/* "tcp://127.0.0.1:PORT" ("" before a successful start). */
const char *test_broker_uri(const struct test_broker *b);

/* Port of the main listener (0 before a successful start). */
int test_broker_port(const struct test_broker *b);

/* The broker's temporary directory ("" before start). */
const char *test_broker_dir(const struct test_broker *b);

/* The last error in words ("" when none). */
const char *test_broker_error(const struct test_broker *b);

/*
 * test_broker_dump_log - write the broker's log (log_type all) and its
 * stdout/stderr to f, each under a heading. For failing tests.
 */
void test_broker_dump_log(const struct test_broker *b, FILE *f);

/*
 * test_broker_log_contains - whether the broker's log file contains the text.
 * mosquitto 2.0.11 flushes each log line, so what it logged before sending a
 * reply is in the file once the reply has arrived.
 */
bool test_broker_log_contains(const struct test_broker *b, const char *text);

/*
 * test_broker_free_port - a port on 127.0.0.1 (of the calling thread's
 * network namespace) that was free a moment ago
 * (bind to port 0, read it, close). Returns the port or a negative
 * enum ferry_err. Another process may take it before it is used: callers
 * retry on a bind failure.
 */
int test_broker_free_port(void);

#endif

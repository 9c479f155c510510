/*
 * proc.h - child processes, temporary directories and an Erlang port mapper
 * for the tests: the cluster tests' brokers (RabbitMQ, ejabberd) are Erlang
 * nodes started from their packages' own scripts, each in its own process
 * group, and stopped by PID; test_rmtree also serves broker.h.
 *
 * Ownership and lifetime:
 *  - struct test_proc and struct test_epmd are owned by the caller; strings
 *    passed in (argv, env, paths) are borrowed for the call only.
 *  - A process started by test_proc_start lives in a process group of its
 *    own (it and everything it forks: beam.smp, erl_child_setup, heart...),
 *    gets SIGKILL when the thread that started it exits (PR_SET_PDEATHSIG;
 *    start from the main thread), and is also killed, group and all, by an
 *    atexit handler if still running when the test program exits.
 *    test_proc_stop / test_proc_kill end the whole group and reap the leader.
 *  - Directories made by test_tmpdir are removed by test_rmtree (kept when
 *    TEST_BROKER_KEEP is set, for post-mortem).
 *
 * Threads: a struct test_proc must not be used by two threads at once.
 * Errors: FERRY_OK or a negative enum ferry_err (FERRY_ERR_INVAL,
 * FERRY_ERR_STATE for a failed system call or a child that exited,
 * FERRY_ERR_TIMEOUT for a bounded wait that expired).
 */
#ifndef FERRY_TEST_SUPPORT_PROC_H
#define FERRY_TEST_SUPPORT_PROC_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* A child process (group leader). pid 0: none running. */
struct test_proc {
	pid_t pid;
	int status;    /* wait status once reaped, -1 before */
	char log[256]; /* where its stdout and stderr went */
	int slot;      /* entry in the atexit safety net + 1, 0 = none */
};

/*
 * test_proc_start - fork and execve argv[0] (an absolute path) with argv,
 * the caller's environment plus env (a NULL-terminated list of "NAME=value",
 * each replacing a variable of the same name; NULL: none), working directory
 * cwd (NULL: unchanged), stdin from /dev/null, stdout and stderr appended to
 * log_path, no other descriptor inherited.
 */
int test_proc_start(struct test_proc *p, const char *const argv[], const char *const env[],
                    const char *cwd, const char *log_path);

/*
 * test_proc_run - test_proc_start, then wait (at most timeout_ms) for it to
 * exit. FERRY_OK only when it exited with status 0; FERRY_ERR_STATE with
 * *exit_code set (NULL allowed) when it exited otherwise (-1: by a signal);
 * FERRY_ERR_TIMEOUT when it was still running (its group is then killed).
 */
int test_proc_run(const char *const argv[], const char *const env[], const char *cwd,
                  const char *log_path, int timeout_ms, int *exit_code);

/* Whether the process is still running (reaps it if it has exited). */
bool test_proc_alive(struct test_proc *p);

/* SIGKILL to the whole group, then reap the leader. FERRY_OK also when none runs. */
int test_proc_kill(struct test_proc *p);

/*
 * SIGTERM to the whole group, wait up to timeout_ms for the leader, then
 * SIGKILL the group. FERRY_OK when it went on SIGTERM or was not running.
 */
int test_proc_stop(struct test_proc *p, int timeout_ms);

/* Writes the tail (at most max_bytes) of the process's log to f under a heading. */
void test_proc_dump_log(const struct test_proc *p, FILE *f, long max_bytes);

/*
 * test_tcp_wait - wait (at most timeout_ms, polling) until a TCP connection
 * to 127.0.0.1:port succeeds; when p is given, fail at once (FERRY_ERR_STATE)
 * if that process exits meanwhile.
 */
int test_tcp_wait(int port, int timeout_ms, struct test_proc *p);

/* A fresh directory /tmp/<prefix>-XXXXXX (mkdtemp); out holds its path. */
int test_tmpdir(const char *prefix, char *out, size_t cap);

/* Removes dir and everything in it (kept, and said so on stderr, when
 * TEST_BROKER_KEEP is set). */
void test_rmtree(const char *dir);

/* Writes text to dir/name (created or truncated). */
int test_write_file(const char *dir, const char *name, const char *text);

/*
 * An Erlang port mapper of the test's own, in the foreground on
 * 127.0.0.1:port (a free port), so nodes of the test never meet nodes of
 * anything else. Nodes use it through ERL_EPMD_PORT=port in their
 * environment (test_epmd_env).
 */
struct test_epmd {
	struct test_proc proc;
	int port;
	char env[32]; /* "ERL_EPMD_PORT=<port>" */
};

/* Starts epmd (log in dir/epmd.log) and waits until it accepts connections. */
int test_epmd_start(struct test_epmd *e, const char *dir);
/* Stops it (test_proc_kill). */
void test_epmd_stop(struct test_epmd *e);

/* The first of paths[0..n) that is an executable file, or NULL. */
const char *test_find_exec(const char *const paths[], size_t n);

/* A port on 127.0.0.1 that was free a moment ago (test/support/broker.h). */
int test_free_port(void);

#endif

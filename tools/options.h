/*
 * options.h - what ferry-pub and ferry-sub share: one table of command-line
 * options (getopt_long), the usage text, the exit codes, and the run-time
 * helpers that connect a client, wait for events with a deadline, and say
 * goodbye. Public ferry API only.
 *
 * Threads: the helpers below run on the tool's main thread; the callbacks
 * they install run on ferry's receive thread and only touch struct tool_run
 * under its mutex. SIGINT, SIGTERM and SIGHUP are taken by a signal thread
 * (tool_run_start blocks them first) and end the wait in progress; SIGUSR1
 * then interrupts a blocking read of the main thread (ferry-pub -l).
 */
#ifndef FERRY_TOOLS_OPTIONS_H
#define FERRY_TOOLS_OPTIONS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "ferry/ferry.h"

/* Exit status of both tools (documented in --help and the man pages). */
enum tool_exit {
	TOOL_EXIT_OK = 0,      /* did what was asked */
	TOOL_EXIT_ERROR = 1,   /* any other failure (I/O, lost connection, rejected operation) */
	TOOL_EXIT_USAGE = 2,   /* bad arguments */
	TOOL_EXIT_CONNECT = 3, /* the connection could not be made or was refused */
	TOOL_EXIT_TIMEOUT = 4, /* -W expired before the work was done */
};

/* Which tool is parsing (options that belong to the other are refused). */
enum tool_kind {
	TOOL_PUB = 1,
	TOOL_SUB = 2,
};

/* Where ferry-pub takes its message(s) from. */
enum tool_source {
	TOOL_SRC_NONE = 0,
	TOOL_SRC_MESSAGE,    /* -m */
	TOOL_SRC_FILE,       /* -f */
	TOOL_SRC_STDIN_FILE, /* -s */
	TOOL_SRC_STDIN_LINE, /* -l */
	TOOL_SRC_NULL,       /* -n */
};

/* The parsed command line. Strings point into argv or into uri_copy. */
struct tool_options {
	enum tool_kind kind;
	const char *prog;    /* "ferry-pub" or "ferry-sub" */
	const char *host;    /* default "localhost" */
	int port;            /* default 1883 */
	const char **topics; /* ntopics entries (malloc'd array) */
	size_t ntopics;
	enum tool_source source;
	const char *message; /* -m */
	const char *file;    /* -f */
	int qos;
	bool retain;
	int version;    /* enum ferry_mqtt_version */
	const char *id; /* NULL: generated from the program name and pid */
	const char *username;
	const char *password;
	const char *will_topic;
	const char *will_payload;
	int will_qos;
	bool will_retain;
	int keepalive; /* seconds, default 60 */
	bool clean;    /* default true; -c clears it */
	long count;    /* -C, 0 = unlimited */
	int timeout_s; /* -W, 0 = none */
	bool verbose;
	bool debug;
	const char *store; /* --store: SQLite file for the session and unacknowledged messages */
	/* TLS: any of these (or an mqtts:// URL) turns it on; port 8883 by default then */
	const char *cafile, *capath, *cert, *key, *tls_version;
	bool insecure;
	bool tls;
	bool port_given;
	struct ferry_tls_options tls_opts;     /* built from the above */
	char *proxy_copy;                      /* --proxy URL, split in place */
	struct ferry_proxy_options proxy_opts; /* type NONE without --proxy */
	char *uri_copy;  /* private copy of -L, split in place */
	char id_buf[32]; /* generated client id */
	char uri[300];   /* "tcp://host:port" built after parsing */
};

/*
 * tool_options_parse - parse argv into o (any memory; it is initialised).
 * Returns -1 to go on, or an exit status to exit with at once: TOOL_EXIT_OK
 * after --help or --version (printed on stdout), TOOL_EXIT_USAGE after a
 * message and the usage synopsis on stderr. tool_options_free must be called
 * in every case.
 */
int tool_options_parse(struct tool_options *o, enum tool_kind kind, int argc, char **argv);

/* tool_options_free - free what tool_options_parse allocated. Idempotent. */
void tool_options_free(struct tool_options *o);

/* What one run of a tool saw; written by ferry callbacks under mu. */
struct tool_run {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const struct tool_options *opt;
	ferry_client *client;
	pthread_t main_thread;    /* woken by SIGUSR1 from a blocking read at a stop signal */
	struct timespec deadline; /* CLOCK_MONOTONIC; valid when has_deadline */
	bool has_deadline;
	bool connect_done;
	int connect_rc;
	int connect_reason;
	bool disconnect_done;
	bool lost;        /* the connection was lost (pub: fatal) */
	bool gave_up;     /* a reconnection was refused: ferry stopped trying */
	bool interrupted; /* SIGINT, SIGTERM or SIGHUP */
	size_t issued;    /* operations accepted (publishes) */
	size_t completed; /* operations completed (publishes, or the subscribe) */
	int fail_rc;      /* first failed publish or subscribe, FERRY_OK if none */
	int fail_reason;
	long received;      /* messages printed (sub) */
	bool output_failed; /* writing stdout failed (sub) */
};

/*
 * tool_run_start - block the stop signals, start the signal thread, create
 * the client from the options (with on_message, may be NULL), connect, and
 * wait for the outcome within the -W deadline. On success returns
 * TOOL_EXIT_OK with r->client connected; otherwise prints why on stderr,
 * destroys the client and returns the exit status.
 */
int tool_run_start(struct tool_run *r, const struct tool_options *o, ferry_message_cb on_message);

/*
 * tool_run_wait - wait until done(r) holds (called with r->mu held), the
 * deadline passes, a stop signal arrives, ferry gives up reconnecting or
 * (unless keep_on_loss) the connection is lost. Returns TOOL_EXIT_OK when
 * done(r) held, TOOL_EXIT_TIMEOUT, TOOL_EXIT_CONNECT (gave up), or
 * TOOL_EXIT_ERROR (lost connection or interrupted: the caller may look at
 * r->interrupted).
 */
int tool_run_wait(struct tool_run *r, bool (*done)(const struct tool_run *r), bool keep_on_loss);

/* tool_run_interrupted - whether a stop signal arrived (reads under r->mu). */
bool tool_run_interrupted(struct tool_run *r);

/* tool_run_expired - whether the -W deadline has passed (false without -W). */
bool tool_run_expired(const struct tool_run *r);

/*
 * tool_run_finish - disconnect cleanly (bounded wait), destroy the client
 * and free r's resources. Returns TOOL_EXIT_OK, or TOOL_EXIT_ERROR if the
 * goodbye failed; safe when the client was never made.
 */
int tool_run_finish(struct tool_run *r);

/* Prints "prog: what: ferry's text (FERRY_ERR_x)" on stderr. */
void tool_report(const struct tool_options *o, const char *what, int rc);

#endif

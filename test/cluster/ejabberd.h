/*
 * ejabberd.h - a two-node ejabberd 23.01 cluster (Debian package, mod_mqtt)
 * for the cluster tests, on 127.0.0.1 in a temporary directory of its own.
 *
 * Typical use:
 *
 *	struct ejd_cluster c;
 *	int rc = ejd_cluster_start(&c);      node 0 (A) and node 1 (B), clustered
 *	... ferry clients with server_uris = c.uris, c.user / c.password ...
 *	rc = ejd_node_kill(&c, 0);           SIGKILL to A's process group
 *	ejd_cluster_stop(&c);                always, also after a failed start
 *
 * How the nodes run: each node is `erl` started directly (not ejabberdctl,
 * which would drop to the ejabberd user when run as root) as a foreground
 * child in its own process group (test/support/proc.h), with a long node
 * name on 127.0.0.1, a cookie of the run, distribution on 127.0.0.1 at a
 * free port, the cluster's own epmd (ERL_EPMD_PORT), HOME, the Mnesia
 * directory, the configuration and the logs in the node's directory, and
 * the code path the package's ejabberdctl uses (its ERL_LIBS). The
 * configuration is written at start: host "localhost", internal
 * authentication, one listener (mod_mqtt on 127.0.0.1 at a free port),
 * module mod_mqtt with its defaults (anyone authenticated may publish and
 * subscribe). Node B joins A with ejabberd_admin:join_cluster (what
 * `ejabberdctl join_cluster` calls), through a one-shot hidden Erlang node;
 * the user c.user is registered on A with ejabberd_auth:try_register; start
 * returns once both nodes accept MQTT connections and say ejabberd is
 * running (ejabberd_admin:status), Mnesia on B runs with both nodes and B
 * knows the user. Every wait is bounded (60 s).
 *
 * Ownership and lifetime:
 *  - struct ejd_cluster is owned by the caller. After ejd_cluster_start
 *    returns, whatever it returned, ejd_cluster_stop must be called once:
 *    it kills every node still running and the epmd and removes the
 *    directory (kept when TEST_BROKER_KEEP is set). A zeroed struct may be
 *    stopped too.
 *  - Strings in the struct (uris, user, password, names, dirs) live as long
 *    as it does; c.uris points into it and may be given to ferry as
 *    server_uris (ferry copies them).
 *  - A killed node is never restarted.
 *
 * Threads: a struct ejd_cluster must not be used by two threads at once.
 * Start it from a thread that outlives it (the nodes die with the thread
 * that started them: PR_SET_PDEATHSIG). Errors: FERRY_OK or a negative enum
 * ferry_err (FERRY_ERR_INVAL, FERRY_ERR_STATE for a failed command or a node
 * that exited, FERRY_ERR_TIMEOUT for a wait that expired); start writes what
 * went wrong to stderr.
 */
#ifndef FERRY_TEST_CLUSTER_EJABBERD_H
#define FERRY_TEST_CLUSTER_EJABBERD_H

#include <stdbool.h>
#include <stdio.h>

#include "support/proc.h"

/* Nodes in the cluster: 0 is A (the first), 1 is B (joined to A). */
#define EJD_NODES 2

/* One ejabberd node. */
struct ejd_node {
	struct test_proc proc; /* the erl process (group leader) */
	char name[64];         /* Erlang node name, "ferryejdA<pid>@127.0.0.1" */
	char dir[200];         /* its directory: config, Mnesia, logs, HOME */
	int mqtt_port;         /* mod_mqtt listener on 127.0.0.1 */
	int dist_port;         /* Erlang distribution listener on 127.0.0.1 */
	char uri[48];          /* "tcp://127.0.0.1:<mqtt_port>" */
	bool killed;           /* ejd_node_kill was called */
};

/* The cluster. */
struct ejd_cluster {
	char dir[160];         /* the cluster's temporary directory */
	char cookie[48];       /* Erlang cookie of this run */
	struct test_epmd epmd; /* the cluster's own port mapper */
	struct ejd_node node[EJD_NODES];
	const char *uris[EJD_NODES]; /* node[i].uri, in node order */
	char user[32];               /* MQTT username: "user@localhost" */
	char password[32];           /* its password */
	int ctl_runs;                /* one-shot control nodes run so far (for unique names) */
};

/* Starts A, starts B, joins B to A and registers the user (see above). */
int ejd_cluster_start(struct ejd_cluster *c);

/* SIGKILL to node i's whole process group (i in 0..EJD_NODES-1) and reap it. */
int ejd_node_kill(struct ejd_cluster *c, int i);

/* Kills every node still running and the epmd; removes the directory. */
void ejd_cluster_stop(struct ejd_cluster *c);

/* Writes the tails of every node's output, ejabberd.log and error.log, and
 * of the control nodes' log, to f. */
void ejd_dump_logs(const struct ejd_cluster *c, FILE *f);

/*
 * ejd_rpc - evaluate `call` ("Module, Function, [Args]" in Erlang syntax)
 * on node i through a one-shot hidden Erlang node, and check its result
 * against the Erlang pattern `want` (e.g. "ok", "[_, _]", "{ok, _}"). On a
 * mismatch the call is made again every 100 ms for retry_ms (0: once, for
 * calls that must not be repeated). FERRY_OK when it matched;
 * FERRY_ERR_STATE otherwise. Calls and results go to ctl.log.
 */
int ejd_rpc(struct ejd_cluster *c, int i, const char *call, const char *want, int retry_ms);

#endif

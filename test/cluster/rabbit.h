/*
 * rabbit.h - a RabbitMQ 3.10 cluster (rabbitmq_mqtt plugin, MQTT 3.1.1) for
 * the cluster tests, started from the Debian package's own scripts on
 * 127.0.0.1 in a fresh temporary directory.
 *
 * Typical use:
 *
 *	struct rabbit_cluster rc;
 *	int rc = rabbit_cluster_start(&rc, 3);   nodes up, joined, policy set
 *	... clients with server_uris = rc.uris, server_uri_count = rc.n ...
 *	rabbit_node_kill(&rc, 0);                 SIGKILL, never restarted
 *	rabbit_cluster_stop(&rc);                 always, also after a failed start
 *
 * How a node runs: /usr/lib/rabbitmq/bin/rabbitmq-server (not the wrapper on
 * the PATH, which switches user and directory) as the caller, in its own
 * process group (proc.h), with HOME, RABBITMQ_BASE, _MNESIA_BASE,
 * _CONFIG_FILE, _ENABLED_PLUGINS_FILE ([rabbitmq_mqtt].) and
 * _CONF_ENV_FILE all in the cluster's temporary directory, its log to its
 * stdout (RABBITMQ_LOGS=-), the test's own epmd (ERL_EPMD_PORT), and
 * free ports for MQTT, AMQP and Erlang distribution, all bound to
 * 127.0.0.1. Node names carry the test program's pid. The nodes start in
 * parallel; the others then join the first (rabbitmqctl stop_app,
 * join_cluster, start_app), and a policy mirrors every MQTT subscription
 * queue (^mqtt-subscription-, ha-mode all, ha-sync-mode automatic) so a
 * persistent session survives the loss of a node.
 *
 * Ownership and lifetime:
 *  - struct rabbit_cluster is owned by the caller (it is large: keep it
 *    static or on the heap). After rabbit_cluster_start returns, whatever it
 *    returned, rabbit_cluster_stop must be called once: it kills every node
 *    still running and the epmd, and removes the temporary directory (kept
 *    when TEST_BROKER_KEEP is set). A zeroed struct may also be stopped.
 *  - Strings in the struct (uris, names, directories) live as long as it.
 *  - Processes are started from the calling thread and get SIGKILL when it
 *    exits (proc.h): call start from the main thread.
 *
 * Threads: one thread at a time per struct.
 * Errors: FERRY_OK or a negative enum ferry_err (FERRY_ERR_INVAL,
 * FERRY_ERR_STATE for a node or command that failed, FERRY_ERR_TIMEOUT for a
 * bounded wait that expired); on failure the node logs say why
 * (rabbit_dump_logs).
 */
#ifndef FERRY_TEST_CLUSTER_RABBIT_H
#define FERRY_TEST_CLUSTER_RABBIT_H

#include <stdio.h>

#include "support/proc.h"

#define RABBIT_MAX_NODES 3

/* One RabbitMQ node. */
struct rabbit_node {
	struct test_proc proc; /* rabbitmq-server and its beam.smp (pid 0: not running) */
	char name[64];         /* Erlang node name, "ferry<pid>r<i>@localhost" */
	char dir[320];         /* RABBITMQ_BASE of the node */
	int mqtt_port;         /* MQTT listener on 127.0.0.1 */
	int amqp_port;         /* AMQP listener on 127.0.0.1 */
	int dist_port;         /* Erlang distribution on 127.0.0.1 */
	char uri[64];          /* "tcp://127.0.0.1:<mqtt_port>" */
};

/* A cluster of n nodes; node[0] is the one the others joined. */
struct rabbit_cluster {
	char dir[256];         /* the temporary directory, "" before start */
	struct test_epmd epmd; /* the cluster's own port mapper */
	int n;                 /* nodes */
	struct rabbit_node node[RABBIT_MAX_NODES];
	const char *uris[RABBIT_MAX_NODES]; /* node[i].uri, for ferry's server_uris */
};

/*
 * rabbit_cluster_start - start n_nodes (1..RABBIT_MAX_NODES) nodes in
 * parallel, join them into one cluster, set the mirroring policy, and
 * return once every node's MQTT listener accepts connections. Takes about
 * 11 s for one node, 15-25 s for three on two cores. On failure the logs
 * are dumped to stderr.
 */
int rabbit_cluster_start(struct rabbit_cluster *c, int n_nodes);

/* rabbit_node_kill - SIGKILL to node i's whole process group; reaped on return. */
int rabbit_node_kill(struct rabbit_cluster *c, int i);

/*
 * rabbit_ctl - run the package's rabbitmqctl against node i with args (a
 * NULL-terminated list, e.g. {"cluster_status", NULL}), output appended to
 * the cluster's ctl.log; FERRY_OK when it exits with status 0 within
 * timeout_ms.
 */
int rabbit_ctl(struct rabbit_cluster *c, int i, const char *const args[], int timeout_ms);

/* rabbit_dump_logs - tails of every node's log and of ctl.log, to f. */
void rabbit_dump_logs(const struct rabbit_cluster *c, FILE *f);

/* rabbit_cluster_stop - kill every node and epmd, remove the directory. */
void rabbit_cluster_stop(struct rabbit_cluster *c);

#endif

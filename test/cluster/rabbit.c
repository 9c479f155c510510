/*
 * rabbit.c - a RabbitMQ cluster started from the Debian package's scripts
 * for the cluster tests. See rabbit.h.
 */
#include "cluster/rabbit.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ferry/error.h"

#define RABBIT_BIN    "/usr/lib/rabbitmq/bin/"
#define NODE_START_MS 90000 /* a node takes ~11 s alone, longer beside others */
#define CTL_MS        90000
#define ENV_MAX       24
#define ENV_LEN       400
#define LOG_TAIL      6000

/* Every MQTT subscription queue mirrored on every node, synchronised at once. */
#define HA_QUEUES "^mqtt-subscription-"
#define HA_POLICY "{\"ha-mode\":\"all\",\"ha-sync-mode\":\"automatic\"}"

/* Where every process of the cluster binds Erlang distribution. */
#define DIST_IFACE "-kernel inet_dist_use_interface {127,0,0,1}"

/* An environment of "NAME=value" strings (NULL-terminated in p). */
struct env {
	char v[ENV_MAX][ENV_LEN];
	const char *p[ENV_MAX + 1];
	int n;
};

static void env_add(struct env *e, const char *name, const char *value)
{
	if (e->n >= ENV_MAX)
		return; /* cannot happen: the lists below are fixed and shorter */
	int len = snprintf(e->v[e->n], ENV_LEN, "%s=%s", name, value);
	if (len < 0 || len >= ENV_LEN)
		fprintf(stderr, "rabbit: %s cut short\n", name); /* paths are short: a bug here */
	e->p[e->n] = e->v[e->n];
	e->n++;
	e->p[e->n] = NULL;
}

static void env_addf(struct env *e, const char *name, const char *dir, const char *leaf)
{
	char path[ENV_LEN];
	int len = snprintf(path, sizeof path, "%s/%s", dir, leaf);
	if (len < 0 || (size_t)len >= sizeof path)
		fprintf(stderr, "rabbit: %s cut short\n", name);
	env_add(e, name, path);
}

/*
 * What every Erlang process of the cluster shares: HOME (the cookie), the
 * epmd, no /etc/rabbitmq/rabbitmq-env.conf, and the node it is about.
 */
static void env_common(struct env *e, const struct rabbit_cluster *c, const struct rabbit_node *nd)
{
	memset(e, 0, sizeof *e);
	env_add(e, "HOME", c->dir);
	e->p[e->n++] = c->epmd.env;
	e->p[e->n] = NULL;
	env_addf(e, "RABBITMQ_CONF_ENV_FILE", c->dir, "rabbitmq-env.conf");
	env_add(e, "RABBITMQ_NODENAME", nd->name);
	env_addf(e, "RABBITMQ_CONFIG_FILE", nd->dir, "rabbitmq.conf");
	env_addf(e, "RABBITMQ_ADVANCED_CONFIG_FILE", nd->dir, "advanced.config");
	env_addf(e, "RABBITMQ_ENABLED_PLUGINS_FILE", nd->dir, "enabled_plugins");
	env_add(e, "RABBITMQ_BASE", nd->dir);
	env_addf(e, "RABBITMQ_MNESIA_BASE", nd->dir, "mnesia");
	env_addf(e, "RABBITMQ_LOG_BASE", nd->dir, "log");
}

/* The server's environment: ports and interfaces on top of the common part. */
static void env_server(struct env *e, const struct rabbit_cluster *c, const struct rabbit_node *nd)
{
	char port[16];
	env_common(e, c, nd);
	env_add(e, "RABBITMQ_LOGS", "-"); /* to stdout: the process log */
	env_add(e, "RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1");
	snprintf(port, sizeof port, "%d", nd->amqp_port);
	env_add(e, "RABBITMQ_NODE_PORT", port);
	snprintf(port, sizeof port, "%d", nd->dist_port);
	env_add(e, "RABBITMQ_DIST_PORT", port);
	env_add(e, "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", DIST_IFACE);
}

/* rabbitmqctl's: its own short-lived node gets a free distribution port. */
static int env_ctl(struct env *e, const struct rabbit_cluster *c, const struct rabbit_node *nd)
{
	char port[16];
	int p = test_free_port();
	if (p < 0)
		return p;
	env_common(e, c, nd);
	snprintf(port, sizeof port, "%d", p);
	env_add(e, "RABBITMQ_CTL_DIST_PORT_MIN", port);
	env_add(e, "RABBITMQ_CTL_DIST_PORT_MAX", port);
	env_add(e, "RABBITMQ_CTL_ERL_ARGS", DIST_IFACE);
	return FERRY_OK;
}

int rabbit_ctl(struct rabbit_cluster *c, int i, const char *const args[], int timeout_ms)
{
	if (!c || i < 0 || i >= c->n || !args)
		return FERRY_ERR_INVAL;
	struct env e;
	int rc = env_ctl(&e, c, &c->node[i]);
	if (rc)
		return rc;
	const char *argv[16] = {RABBIT_BIN "rabbitmqctl", "-n", c->node[i].name};
	size_t n = 3;
	for (size_t k = 0; args[k]; k++) {
		if (n + 1 >= sizeof argv / sizeof argv[0])
			return FERRY_ERR_INVAL;
		argv[n++] = args[k];
	}
	argv[n] = NULL;
	char log[300];
	snprintf(log, sizeof log, "%s/ctl.log", c->dir);
	FILE *f = fopen(log, "a");
	if (f) {
		fprintf(f, "+ rabbitmqctl -n %s", c->node[i].name);
		for (size_t k = 0; args[k]; k++)
			fprintf(f, " %s", args[k]);
		fputc('\n', f);
		fclose(f);
	}
	int code = 0;
	rc = test_proc_run(argv, e.p, c->dir, log, timeout_ms, &code);
	if (rc)
		fprintf(stderr, "rabbit: rabbitmqctl %s on %s failed (rc %d, exit %d)\n", args[0],
		        c->node[i].name, rc, code);
	return rc;
}

/* --- starting ---------------------------------------------------------------- */

/* Free ports for node i, none equal to another already chosen. */
static int pick_ports(struct rabbit_cluster *c, int i)
{
	int *mine[3] = {&c->node[i].mqtt_port, &c->node[i].amqp_port, &c->node[i].dist_port};
	for (int k = 0; k < 3; k++) {
		for (int attempt = 0;; attempt++) {
			int p = test_free_port();
			if (p < 0)
				return p;
			bool taken = p == c->epmd.port;
			for (int j = 0; j <= i; j++)
				taken = taken || p == c->node[j].mqtt_port ||
				        p == c->node[j].amqp_port || p == c->node[j].dist_port;
			if (!taken) {
				*mine[k] = p;
				break;
			}
			if (attempt == 20)
				return FERRY_ERR_STATE;
		}
	}
	return FERRY_OK;
}

/* Node i's directory, configuration and plugin list. */
static int write_node_files(struct rabbit_cluster *c, int i)
{
	struct rabbit_node *nd = &c->node[i];
	snprintf(nd->name, sizeof nd->name, "ferry%dr%d@localhost", (int)getpid(), i);
	char top[sizeof c->dir];
	memcpy(top, c->dir, sizeof top);
	int len = snprintf(nd->dir, sizeof nd->dir, "%s/node%d", top, i);
	if (len < 0 || (size_t)len >= sizeof nd->dir)
		return FERRY_ERR_INVAL;
	snprintf(nd->uri, sizeof nd->uri, "tcp://127.0.0.1:%d", nd->mqtt_port);
	c->uris[i] = nd->uri;
	if (mkdir(nd->dir, 0700) != 0)
		return FERRY_ERR_STATE;
	/* Names checked in rabbitmq_mqtt-3.10.8/priv/schema/rabbitmq_mqtt.schema.
	 * Anonymous MQTT clients log in as the default user guest, which
	 * RabbitMQ allows from loopback only: all we use. */
	char conf[1024];
	snprintf(conf, sizeof conf,
	         "listeners.tcp.default = 127.0.0.1:%d\n"
	         "mqtt.listeners.tcp.1 = 127.0.0.1:%d\n"
	         "mqtt.allow_anonymous = true\n"
	         "mqtt.default_user = guest\n"
	         "mqtt.default_pass = guest\n"
	         "mqtt.vhost = /\n",
	         nd->amqp_port, nd->mqtt_port);
	int rc = test_write_file(nd->dir, "rabbitmq.conf", conf);
	if (!rc)
		rc = test_write_file(nd->dir, "enabled_plugins", "[rabbitmq_mqtt].\n");
	return rc;
}

/*
 * The directory shared by the nodes: the Erlang cookie (written before any
 * node starts: nodes starting together would each make their own) and an
 * empty rabbitmq-env.conf in place of /etc/rabbitmq's.
 */
static int write_cluster_files(struct rabbit_cluster *c)
{
	char cookie[64], path[300];
	snprintf(cookie, sizeof cookie, "FERRYTESTCOOKIE%dX%ld", (int)getpid(), (long)time(NULL));
	int rc = test_write_file(c->dir, ".erlang.cookie", cookie);
	if (rc)
		return rc;
	snprintf(path, sizeof path, "%s/.erlang.cookie", c->dir);
	if (chmod(path, 0400) != 0)
		return FERRY_ERR_STATE;
	return test_write_file(c->dir, "rabbitmq-env.conf", "");
}

static int start_node(struct rabbit_cluster *c, int i)
{
	struct rabbit_node *nd = &c->node[i];
	struct env e;
	env_server(&e, c, nd);
	const char *argv[] = {RABBIT_BIN "rabbitmq-server", NULL};
	char log[400];
	snprintf(log, sizeof log, "%s/node.log", nd->dir);
	return test_proc_start(&nd->proc, argv, e.p, nd->dir, log);
}

/* Waits until every node's MQTT listener accepts connections. */
static int wait_listeners(struct rabbit_cluster *c)
{
	for (int i = 0; i < c->n; i++) {
		int rc = test_tcp_wait(c->node[i].mqtt_port, NODE_START_MS, &c->node[i].proc);
		if (rc) {
			fprintf(stderr, "rabbit: node %s: MQTT port %d not up (rc %d)\n",
			        c->node[i].name, c->node[i].mqtt_port, rc);
			return rc;
		}
	}
	return FERRY_OK;
}

/* Node i (not 0) leaves its own cluster of one and joins node 0's. */
static int join_node(struct rabbit_cluster *c, int i)
{
	const char *stop[] = {"stop_app", NULL};
	const char *join[] = {"join_cluster", c->node[0].name, NULL};
	const char *start[] = {"start_app", NULL};
	int rc = rabbit_ctl(c, i, stop, CTL_MS);
	if (!rc)
		rc = rabbit_ctl(c, i, join, CTL_MS);
	if (!rc)
		rc = rabbit_ctl(c, i, start, CTL_MS);
	return rc;
}

/* The nodes, started in parallel, then joined one by one and mirrored. */
static int start_all(struct rabbit_cluster *c, int n_nodes)
{
	int rc = test_tmpdir("ferry-rabbit", c->dir, sizeof c->dir);
	if (!rc)
		rc = write_cluster_files(c);
	if (!rc)
		rc = test_epmd_start(&c->epmd, c->dir);
	for (int i = 0; !rc && i < n_nodes; i++) {
		c->n = i + 1;
		rc = pick_ports(c, i);
		if (!rc)
			rc = write_node_files(c, i);
		if (!rc)
			rc = start_node(c, i);
	}
	if (!rc)
		rc = wait_listeners(c);
	for (int i = 1; !rc && i < c->n; i++)
		rc = join_node(c, i);
	const char *policy[] = {
	    "set_policy", "--apply-to", "queues", "ha", HA_QUEUES, HA_POLICY, NULL,
	};
	if (!rc)
		rc = rabbit_ctl(c, 0, policy, CTL_MS);
	if (!rc)
		rc = wait_listeners(c);
	return rc;
}

int rabbit_cluster_start(struct rabbit_cluster *c, int n_nodes)
{
	if (!c || n_nodes < 1 || n_nodes > RABBIT_MAX_NODES)
		return FERRY_ERR_INVAL;
	memset(c, 0, sizeof *c);
	int rc = start_all(c, n_nodes);
	if (rc) {
		fprintf(stderr, "rabbit: cluster of %d nodes did not start (rc %d); logs follow\n",
		        n_nodes, rc);
		rabbit_dump_logs(c, stderr);
	}
	return rc;
}

/* --- stopping ----------------------------------------------------------------- */

int rabbit_node_kill(struct rabbit_cluster *c, int i)
{
	if (!c || i < 0 || i >= c->n)
		return FERRY_ERR_INVAL;
	return test_proc_kill(&c->node[i].proc);
}

void rabbit_dump_logs(const struct rabbit_cluster *c, FILE *f)
{
	if (!c || !f || !c->dir[0])
		return;
	for (int i = 0; i < c->n; i++)
		test_proc_dump_log(&c->node[i].proc, f, LOG_TAIL);
	struct test_proc ctl = {.pid = 0};
	int len = snprintf(ctl.log, sizeof ctl.log, "%s/ctl.log", c->dir);
	if (len > 0 && (size_t)len < sizeof ctl.log)
		test_proc_dump_log(&ctl, f, LOG_TAIL);
}

void rabbit_cluster_stop(struct rabbit_cluster *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n; i++)
		test_proc_kill(&c->node[i].proc);
	test_epmd_stop(&c->epmd);
	if (c->dir[0])
		test_rmtree(c->dir);
	memset(c, 0, sizeof *c);
}

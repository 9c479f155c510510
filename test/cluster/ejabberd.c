/*
 * ejabberd.c - a two-node ejabberd cluster for the cluster tests: nodes
 * started with erl directly, joined with ejabberd_admin:join_cluster.
 * See ejabberd.h.
 */
#include "cluster/ejabberd.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ferry/error.h"

#define EJD_START_MS 60000   /* a node's MQTT listener accepting */
#define EJD_CTL_MS   90000   /* a one-shot control node (boot + rpc) */
#define EJD_RPC_MS   "60000" /* the rpc:call inside it */
#define EJD_HOST     "localhost"
#define EJD_CTL      "/usr/sbin/ejabberdctl"
/* Where the Debian package keeps ejabberd's code when ejabberdctl says nothing. */
#define EJD_LIBS_DEFAULT "/usr/lib/x86_64-linux-gnu"

static const char *erl_path(void)
{
	static const char *const where[] = {"/usr/bin/erl", "/usr/lib/erlang/bin/erl"};
	return test_find_exec(where, 2);
}

/*
 * The ERL_LIBS the package's ejabberdctl exports (the directory holding
 * ejabberd-<version>/ebin): its line ERL_LIBS='...'.
 */
static void erl_libs(char *out, size_t cap)
{
	snprintf(out, cap, "%s", EJD_LIBS_DEFAULT);
	FILE *f = fopen(EJD_CTL, "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "ERL_LIBS=", 9) != 0)
			continue;
		char *v = line + 9;
		v += strspn(v, "'\"");
		size_t len = strcspn(v, "'\"\n");
		if (len > 0 && len < cap && v[0] == '/') {
			memcpy(out, v, len);
			out[len] = 0;
		}
		break;
	}
	fclose(f);
}

/* snprintf into a fixed buffer; FERRY_ERR_INVAL when it does not fit. */
static int fmt_fits(int n, size_t cap)
{
	return n < 0 || (size_t)n >= cap ? FERRY_ERR_INVAL : FERRY_OK;
}

static int write_config(const struct ejd_node *n)
{
	char text[1024];
	int len = snprintf(text, sizeof text,
	                   "# written by the ferry cluster tests (test/cluster/ejabberd.c)\n"
	                   "hosts:\n"
	                   "  - %s\n"
	                   "loglevel: info\n"
	                   "log_rotate_count: 0\n"
	                   "auth_method: internal\n"
	                   "listen:\n"
	                   "  -\n"
	                   "    port: %d\n"
	                   "    ip: \"127.0.0.1\"\n"
	                   "    module: mod_mqtt\n"
	                   "    backlog: 128\n"
	                   "modules:\n"
	                   "  mod_mqtt: {}\n",
	                   EJD_HOST, n->mqtt_port);
	int rc = fmt_fits(len, sizeof text);
	return rc ? rc : test_write_file(n->dir, "ejabberd.yml", text);
}

/* A free port that is none of the cluster's ports yet (-1: none found). */
static int fresh_port(const struct ejd_cluster *c)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		int port = test_free_port();
		bool taken = port <= 0 || port == c->epmd.port;
		for (int i = 0; i < EJD_NODES; i++)
			taken =
			    taken || port == c->node[i].mqtt_port || port == c->node[i].dist_port;
		if (!taken)
			return port;
	}
	return -1;
}

/* Names, ports and the directory of node i; writes its configuration. */
static int node_prepare(struct ejd_cluster *c, int i)
{
	struct ejd_node *n = &c->node[i];
	memset(n, 0, sizeof *n);
	int rc = fmt_fits(
	    snprintf(n->name, sizeof n->name, "ferryejd%c%ld@127.0.0.1", 'A' + i, (long)getpid()),
	    sizeof n->name);
	if (!rc)
		rc = fmt_fits(snprintf(n->dir, sizeof n->dir, "%s/node%c", c->dir, 'A' + i),
		              sizeof n->dir);
	if (rc)
		return rc;
	if (mkdir(n->dir, 0700) != 0)
		return FERRY_ERR_STATE;
	n->mqtt_port = fresh_port(c);
	n->dist_port = fresh_port(c);
	if (n->mqtt_port <= 0 || n->dist_port <= 0)
		return FERRY_ERR_STATE;
	snprintf(n->uri, sizeof n->uri, "tcp://127.0.0.1:%d", n->mqtt_port);
	c->uris[i] = n->uri;
	return write_config(n);
}

/*
 * Starts node i in the foreground: what `ejabberdctl foreground` runs,
 * minus the user switch, with everything in the node's directory.
 */
static int node_start(struct ejd_cluster *c, int i)
{
	struct ejd_node *n = &c->node[i];
	const char *erl = erl_path();
	if (!erl)
		return FERRY_ERR_STATE;
	char libs[256], home[256], libs_env[300], cfg_env[300], log_env[300], dump_env[300];
	char mnesia[300], dist[16], log[300];
	erl_libs(libs, sizeof libs);
	snprintf(home, sizeof home, "HOME=%s", n->dir);
	snprintf(libs_env, sizeof libs_env, "ERL_LIBS=%s", libs);
	snprintf(cfg_env, sizeof cfg_env, "EJABBERD_CONFIG_PATH=%s/ejabberd.yml", n->dir);
	snprintf(log_env, sizeof log_env, "EJABBERD_LOG_PATH=%s/ejabberd.log", n->dir);
	snprintf(dump_env, sizeof dump_env, "ERL_CRASH_DUMP=%s/erl_crash.dump", n->dir);
	snprintf(mnesia, sizeof mnesia, "\"%s/mnesia\"", n->dir);
	snprintf(dist, sizeof dist, "%d", n->dist_port);
	snprintf(log, sizeof log, "%s/erl.out", n->dir);
	const char *env[] = {home, c->epmd.env, libs_env, cfg_env, log_env, dump_env, NULL};
	/* clang-format off */
	const char *argv[] = {erl,
		"-name", n->name,
		"-setcookie", c->cookie,
		"-noinput",
		"+sbwt", "none", /* no busy-waiting schedulers: 2 cores, 2 clusters */
		"-kernel", "inet_dist_use_interface", "{127,0,0,1}",
		"-kernel", "inet_dist_listen_min", dist, "inet_dist_listen_max", dist,
		"-mnesia", "dir", mnesia,
		"-s", "ejabberd",
		NULL};
	/* clang-format on */
	return test_proc_start(&n->proc, argv, env, n->dir, log);
}

int ejd_rpc(struct ejd_cluster *c, int i, const char *call, const char *want, int retry_ms)
{
	if (!c || i < 0 || i >= EJD_NODES || !call || !want || retry_ms < 0)
		return FERRY_ERR_INVAL;
	const char *erl = erl_path();
	if (!erl)
		return FERRY_ERR_STATE;
	char name[64], expr[1200], home[256], log[256];
	c->ctl_runs++;
	snprintf(name, sizeof name, "ferryejdctl%ld-%d@127.0.0.1", (long)getpid(), c->ctl_runs);
	/* call; on a mismatch, call again every 100 ms until the deadline D */
	int rc = fmt_fits(snprintf(expr, sizeof expr,
	                           "Now = fun() -> erlang:monotonic_time(millisecond) end, "
	                           "D = Now() + %d, "
	                           "Loop = fun L() -> R = rpc:call('%s', %s, " EJD_RPC_MS "), "
	                           "case R of %s -> {0, R}; _ -> case Now() < D of "
	                           "true -> timer:sleep(100), L(); false -> {1, R} end end end, "
	                           "{Code, Res} = Loop(), "
	                           "io:format(\"result: ~p~n\", [Res]), halt(Code).",
	                           retry_ms, c->node[i].name, call, want),
	                  sizeof expr);
	if (rc)
		return rc;
	snprintf(home, sizeof home, "HOME=%s", c->dir);
	snprintf(log, sizeof log, "%s/ctl.log", c->dir);
	FILE *f = fopen(log, "a"); /* what was asked, before the answer */
	if (f) {
		fprintf(f, "rpc on %s: %s (want %s, retried for %d ms)\n", c->node[i].name, call,
		        want, retry_ms);
		fclose(f);
	}
	const char *env[] = {home, c->epmd.env, NULL};
	/* clang-format off */
	const char *argv[] = {erl,
		"-noshell", "-hidden",
		"-name", name,
		"-setcookie", c->cookie,
		"-kernel", "inet_dist_use_interface", "{127,0,0,1}",
		"-eval", expr,
		NULL};
	/* clang-format on */
	rc = test_proc_run(argv, env, c->dir, log, EJD_CTL_MS + retry_ms, NULL);
	return rc == FERRY_ERR_TIMEOUT ? rc : rc ? FERRY_ERR_STATE : FERRY_OK;
}

/* Says what failed, with the logs, and passes rc on. */
static int start_failed(struct ejd_cluster *c, const char *what, int rc)
{
	fprintf(stderr, "ejabberd cluster: %s failed: %s\n", what, ferry_errname(rc));
	ejd_dump_logs(c, stderr);
	return rc;
}

/*
 * Both nodes running: MQTT listener accepting, and ejabberd started (the
 * listening socket opens while ejabberd is still starting; a join then
 * would stop it halfway).
 */
static int start_nodes(struct ejd_cluster *c)
{
	for (int i = 0; i < EJD_NODES; i++) {
		int rc = node_prepare(c, i);
		if (!rc)
			rc = node_start(c, i);
		if (rc)
			return start_failed(c, "node start", rc);
	}
	for (int i = 0; i < EJD_NODES; i++) {
		int rc = test_tcp_wait(c->node[i].mqtt_port, EJD_START_MS, &c->node[i].proc);
		if (rc)
			return start_failed(
			    c, i ? "node B's MQTT listener" : "node A's MQTT listener", rc);
		rc = ejd_rpc(c, i, "ejabberd_admin, status, []", "{ok, _}", EJD_START_MS);
		if (rc)
			return start_failed(c, i ? "node B's status" : "node A's status", rc);
	}
	return FERRY_OK;
}

/* B joins A, then both are checked to be one Mnesia cluster; the user is registered. */
static int form_cluster(struct ejd_cluster *c)
{
	char call[256];
	snprintf(call, sizeof call, "ejabberd_admin, join_cluster, [<<\"%s\">>]", c->node[0].name);
	int rc = ejd_rpc(c, 1, call, "ok", 0); /* once: it restarts ejabberd on B */
	if (rc)
		return start_failed(c, "join_cluster", rc);
	rc = test_tcp_wait(c->node[1].mqtt_port, EJD_START_MS, &c->node[1].proc);
	if (rc)
		return start_failed(c, "node B's MQTT listener after the join", rc);
	rc = ejd_rpc(c, 1, "mnesia, system_info, [running_db_nodes]", "[_, _]", EJD_START_MS);
	if (rc)
		return start_failed(c, "the cluster check (running_db_nodes on B)", rc);
	snprintf(call, sizeof call,
	         "ejabberd_auth, try_register, [<<\"user\">>, <<\"%s\">>, <<\"%s\">>]", EJD_HOST,
	         c->password);
	rc = ejd_rpc(c, 0, call, "ok", 0);
	if (rc)
		return start_failed(c, "registering the user on A", rc);
	snprintf(call, sizeof call, "ejabberd_auth, user_exists, [<<\"user\">>, <<\"%s\">>]",
	         EJD_HOST);
	rc = ejd_rpc(c, 1, call, "true", EJD_START_MS);
	if (rc)
		return start_failed(c, "the user check on B", rc);
	return FERRY_OK;
}

int ejd_cluster_start(struct ejd_cluster *c)
{
	if (!c)
		return FERRY_ERR_INVAL;
	memset(c, 0, sizeof *c);
	int rc = test_tmpdir("ferry-ejd", c->dir, sizeof c->dir);
	if (rc)
		return start_failed(c, "the temporary directory", rc);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(c->cookie, sizeof c->cookie, "ferry%ld%ld", (long)getpid(), (long)ts.tv_nsec);
	snprintf(c->password, sizeof c->password, "pw%ld", (long)(ts.tv_nsec % 1000000));
	snprintf(c->user, sizeof c->user, "user@%s", EJD_HOST);
	rc = test_epmd_start(&c->epmd, c->dir);
	if (rc)
		return start_failed(c, "epmd", rc);
	rc = start_nodes(c);
	if (rc)
		return rc;
	return form_cluster(c);
}

int ejd_node_kill(struct ejd_cluster *c, int i)
{
	if (!c || i < 0 || i >= EJD_NODES)
		return FERRY_ERR_INVAL;
	c->node[i].killed = true;
	return test_proc_kill(&c->node[i].proc);
}

void ejd_cluster_stop(struct ejd_cluster *c)
{
	if (!c)
		return;
	for (int i = 0; i < EJD_NODES; i++)
		test_proc_kill(&c->node[i].proc);
	test_epmd_stop(&c->epmd);
	if (c->dir[0])
		test_rmtree(c->dir);
	c->dir[0] = 0;
}

/* The tail of a file that no struct test_proc of ours writes. */
static void dump_file(const char *dir, const char *name, FILE *f)
{
	struct test_proc fake;
	memset(&fake, 0, sizeof fake);
	if (fmt_fits(snprintf(fake.log, sizeof fake.log, "%s/%s", dir, name), sizeof fake.log))
		return;
	if (access(fake.log, R_OK) == 0)
		test_proc_dump_log(&fake, f, 4000);
}

void ejd_dump_logs(const struct ejd_cluster *c, FILE *f)
{
	if (!c || !f || !c->dir[0])
		return;
	for (int i = 0; i < EJD_NODES; i++) {
		const struct ejd_node *n = &c->node[i];
		if (!n->dir[0])
			continue;
		fprintf(f, "ejabberd node %s (%s, MQTT port %d)%s\n", n->name, n->dir, n->mqtt_port,
		        n->killed ? " - killed by the test" : "");
		dump_file(n->dir, "erl.out", f);
		dump_file(n->dir, "ejabberd.log", f);
		dump_file(n->dir, "error.log", f);
	}
	dump_file(c->dir, "ctl.log", f);
	dump_file(c->dir, "epmd.log", f);
}

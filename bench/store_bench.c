/*
 * store_bench.c - what durability costs: QoS 1 (or, --qos 2, QoS 2) publish
 * rates with a SQLite store, and creating a client on a store that holds a
 * million messages.
 * `make store-bench` runs it (STORE_BENCH_ARGS="..." passes options);
 * doc/durability.md ("Measured") has the figures of this machine.
 *
 *   store_bench [--messages N] [--stored N] [--runs N] [--size BYTES]
 *               [--seconds S] [--threads N] [--no-broker] [--dir DIR] [--quick]
 *               [--qos 1|2] [--no-big]
 *
 * Part 1, publish rates. Each run makes a fresh client (MQTT 3.1.1, clean
 * session, max_inflight 100, a client id of its own) on a fresh store file
 * and publishes --messages messages (QoS --qos) of --size bytes to one topic
 * (stopping early after --seconds): with ferry_publish from one thread or
 * from --threads threads sharing the client, or with ferry_publish_many in
 * batches of 100. Stores: none (memory, for comparison), SQLite at
 * FERRY_SYNC_NORMAL and at FERRY_SYNC_FULL. "offline" rows never connect:
 * the messages only go to the store and the outbox. "connected" rows
 * publish to a mosquitto this program starts on 127.0.0.1 (a free port), so
 * messages are also sent, acknowledged and removed from the store while
 * publishing goes on; after the goodbye the store must be empty.
 *   publish/s     messages / (first call .. last call returned)
 *   acked/s       messages / (first call .. last PUBACK, or PUBCOMP at QoS 2)
 *   calls/commit  publish calls per store transaction (group commit)
 * The store is made with ferry_store_sqlite_new and given in opts.store:
 * exactly what opts.store_path + store_sync do (src/client_store.c), but the
 * program keeps a handle to read the commit counters (store_sqlite.h).
 *
 * Part 2, a big store, filled through the store API (ferry_store_sqlite_new,
 * ops->open, ops->put in batches of 10,000, ops->update marking the first
 * 100 SENT as a crash with a full window leaves them). Timed: create on an
 * empty store, on one of --stored / 5 messages and on the big one;
 * ferry_stored_list over all of it; with the broker, connect -> CONNACK ->
 * first restored message acknowledged -> 10,000 of them. The page cache is
 * warm (the files were just written).
 *
 * Figures are medians of --runs runs; times come from CLOCK_MONOTONIC.
 * Files live in a mkdtemp directory (under --dir, $TMPDIR or /tmp) removed
 * at exit; the broker is stopped by its PID. Exit: 0 ok, 1 failure, 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ferry/ferry.h"
#include "store_sqlite.h" /* ferry__store_sqlite_commits, _puts: internal, for counts */

#define MAX_THREADS   64
#define MAX_RUNS      15
#define BATCH         100   /* ferry_publish_many */
#define FILL_BATCH    10000 /* puts of the big store */
#define FILL_INFLIGHT 100   /* messages of the big store left SENT */
#define ACK_COUNT     10000 /* restored messages timed after connect */
#define WAIT_S        60.0  /* longest wait for acks or an operation */
#define BIG_ID        "store-bench-big"

struct opts {
	long messages, stored;
	int runs, size, threads;
	double seconds;
	bool broker;
	const char *dir;
	int qos;  /* of the rate runs: 1 or 2 */
	bool big; /* part 2, the big store */
};

static volatile sig_atomic_t interrupted;
static char tmpdir[512];
static pid_t broker_pid;
static int broker_port;

/* ---- clock, statistics, options -------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v); 0 for n == 0. */
static double median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [--messages N] [--stored N] [--runs N] [--size BYTES] [--seconds S]\n"
	        "          [--threads N] [--no-broker] [--dir DIR] [--quick] [--qos 1|2] [--no-big]\n"
	        "  --messages N  publishes per rate run (default 20000; quick 2000)\n"
	        "  --qos 1|2     QoS of the rate runs' publishes (default 1)\n"
	        "  --no-big      skip part 2 (the big store)\n"
	        "  --stored N    messages of the big store (default 1000000; quick 100000)\n"
	        "  --runs N      runs per figure, medians printed (default 5; quick 1)\n"
	        "  --seconds S   a rate run stops after S seconds at most (default 2; quick 1)\n"
	        "  --size BYTES  payload size (default 64)\n"
	        "  --threads N   publishing threads of the concurrent rows (default 4)\n"
	        "  --no-broker   no mosquitto: offline rows and the big store only\n"
	        "  --dir DIR     where the temporary directory goes (default $TMPDIR or /tmp)\n",
	        prog);
}

static double num_arg(const char *s, const char *prog, double max)
{
	char *end = NULL;
	double v = strtod(s, &end);
	if (!*s || *end || !(v >= 0) || v > max) {
		fprintf(stderr, "%s: bad number: %s\n", prog, s);
		exit(2);
	}
	return v;
}

/* Options not given (-1) get the defaults, or those of --quick. */
static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"messages", 1, 0, 'm'},  {"stored", 1, 0, 'n'},  {"runs", 1, 0, 'r'},
	    {"size", 1, 0, 's'},      {"seconds", 1, 0, 't'}, {"threads", 1, 0, 'T'},
	    {"no-broker", 0, 0, 'B'}, {"dir", 1, 0, 'd'},     {"quick", 0, 0, 'q'},
	    {"qos", 1, 0, 'Q'},       {"no-big", 0, 0, 'N'},  {"help", 0, 0, 'h'},
	    {0, 0, 0, 0},
	};
	*o = (struct opts){-1, -1, -1, 64, 4, -1, true, NULL, 1, true};
	bool quick = false;
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'm')
			o->messages = (long)num_arg(optarg, argv[0], 1e9);
		else if (ch == 'n')
			o->stored = (long)num_arg(optarg, argv[0], 1e9);
		else if (ch == 'r')
			o->runs = (int)num_arg(optarg, argv[0], MAX_RUNS);
		else if (ch == 's')
			o->size = (int)num_arg(optarg, argv[0], 1 << 24);
		else if (ch == 't')
			o->seconds = num_arg(optarg, argv[0], 3600);
		else if (ch == 'T')
			o->threads = (int)num_arg(optarg, argv[0], MAX_THREADS);
		else if (ch == 'B')
			o->broker = false;
		else if (ch == 'Q')
			o->qos = (int)num_arg(optarg, argv[0], 2);
		else if (ch == 'N')
			o->big = false;
		else if (ch == 'q')
			quick = true;
		else if (ch == 'd')
			o->dir = optarg;
		else {
			usage(ch == 'h' ? stdout : stderr, argv[0]);
			exit(ch == 'h' ? 0 : 2);
		}
	}
	o->messages = o->messages < 0 ? (quick ? 2000 : 20000) : o->messages;
	o->stored = o->stored < 0 ? (quick ? 100000 : 1000000) : o->stored;
	o->runs = o->runs < 0 ? (quick ? 1 : 5) : o->runs;
	o->seconds = o->seconds < 0 ? (quick ? 1 : 2) : o->seconds;
	if (optind != argc || o->messages < 1 || o->runs < 1 || o->threads < 1 || o->seconds <= 0 ||
	    o->qos < 1) {
		usage(stderr, argv[0]);
		exit(2);
	}
}

/* ---- temporary directory and broker ------------------------------------------ */

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

/* Removes a database file with its -wal and -shm companions. */
static void remove_db(const char *path)
{
	char p[700];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static void stop_broker(void)
{
	if (broker_pid > 0) {
		kill(broker_pid, SIGTERM);
		waitpid(broker_pid, NULL, 0);
		broker_pid = 0;
	}
}

/* At exit: the broker, then every file of the (flat) directory, then it. */
static void cleanup(void)
{
	stop_broker();
	if (!tmpdir[0])
		return;
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		char p[800];
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	tmpdir[0] = 0;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* A port nobody listens on right now (the kernel's choice), or 0. */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool port_open(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                        .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Forks mosquitto with a config for `port`; its output goes to broker.log. */
static pid_t spawn_broker(int port)
{
	char conf[600], logp[600];
	path_in(conf, sizeof conf, "mosquitto.conf");
	path_in(logp, sizeof logp, "broker.log");
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
		execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Starts mosquitto on a free port of 127.0.0.1 (a few tries); 0 when it listens. */
static int start_broker(void)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		int port = free_port();
		pid_t pid = port ? spawn_broker(port) : -1;
		if (pid < 0)
			return -1;
		for (double end = now_s() + 5; now_s() < end;) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				pid = 0; /* exited: port taken, or no mosquitto */
				break;
			}
			if (port_open(port)) {
				broker_pid = pid;
				broker_port = port;
				return 0;
			}
			nanosleep(&(struct timespec){0, 10000000L}, NULL);
		}
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
		}
	}
	return -1;
}

/* ---- one client and its callbacks ---------------------------------------------- */

/* What the callbacks of a client report; guarded by mu. */
struct ev {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long ops, acked, failed; /* connect/disconnect done; publishes completed ok / not */
	int op_rc, fail_rc;
	double t_ops, t_first_ack, t_acked_n; /* times of the last op, first ack, ack_n-th ack */
	long ack_n;
	bool lost;
};

static void ev_init(struct ev *e)
{
	memset(e, 0, sizeof *e);
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
}

static void ev_destroy(struct ev *e)
{
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
}

static void on_op(ferry_client *c, void *user, const struct ferry_result *r)
{
	struct ev *e = user;
	(void)c;
	pthread_mutex_lock(&e->mu);
	e->ops++;
	e->t_ops = now_s();
	if (r->rc && !e->op_rc)
		e->op_rc = r->rc;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

static void on_delivery(ferry_client *c, void *user, ferry_token token, int rc)
{
	struct ev *e = user;
	(void)c, (void)token;
	double t = now_s();
	pthread_mutex_lock(&e->mu);
	if (rc == FERRY_OK) {
		if (e->acked++ == 0)
			e->t_first_ack = t;
		if (e->acked == e->ack_n)
			e->t_acked_n = t;
	} else if (rc != FERRY_ERR_CANCELLED && e->failed++ == 0) {
		e->fail_rc = rc;
	}
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	struct ev *e = user;
	(void)c, (void)cause, (void)text;
	pthread_mutex_lock(&e->mu);
	e->lost = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* With e->mu held: waits until *v >= target; -1 on timeout, loss or ^C. */
static int ev_wait(struct ev *e, const long *v, long target)
{
	double end = now_s() + WAIT_S;
	while (*v < target && !e->lost && !e->failed && !interrupted) {
		if (now_s() > end)
			return -1;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&e->cv, &e->mu, &ts);
	}
	return *v >= target ? 0 : -1;
}

/* Creates a client on store_path (NULL = no store), or on *store (given to
 * the client when create succeeds). connected = a URI of the broker. */
static int client_new(struct ev *e, const char *id, const char *store_path,
                      struct ferry_store **store, bool connected, ferry_client **out)
{
	struct ferry_client_options co = FERRY_CLIENT_OPTIONS_INIT;
	char uri[64];
	snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", connected ? broker_port : 9);
	co.server_uri = uri;
	co.client_id = id;
	co.user = e;
	co.on_delivery_complete = on_delivery;
	co.on_connection_lost = on_lost;
	co.auto_reconnect = false;
	co.store_path = store_path;
	co.store = store ? *store : NULL;
	int rc = ferry_client_create(&co, out);
	if (!rc && store)
		*store = NULL; /* the client's now */
	return rc;
}

/* Connects (and waits for the CONNACK), or says goodbye if connected
 * (the client stays). */
static int client_op(struct ev *e, ferry_client *c, bool connect)
{
	struct ferry_call call = {.on_done = on_op, .user = e};
	pthread_mutex_lock(&e->mu);
	long want = e->ops + 1;
	pthread_mutex_unlock(&e->mu);
	int rc = FERRY_OK;
	if (connect)
		rc = ferry_connect(c, &call, NULL);
	else if (c && ferry_is_connected(c))
		rc = ferry_disconnect(c, 1000, &call, NULL);
	else
		return FERRY_OK;
	if (rc)
		return rc;
	pthread_mutex_lock(&e->mu);
	rc = ev_wait(e, &e->ops, want) ? FERRY_ERR_TIMEOUT : e->op_rc;
	pthread_mutex_unlock(&e->mu);
	return rc;
}

static int count_msg(void *arg, const struct ferry_stored_msg *m)
{
	(void)m;
	(*(long *)arg)++;
	return 0;
}

/* ---- part 1: publish rates --------------------------------------------------------- */

enum kind { ONE, THREADS, MANY };

/* One row of the rate table. */
struct row {
	bool connected;
	int sync; /* -1 = no store */
	enum kind kind;
};

/* One run: shared by the publishing threads. */
struct run {
	ferry_client *c;
	const struct opts *o;
	enum kind kind;
	const char *topic;
	const char *payload;
	double deadline;
	atomic_long next; /* tickets handed out */
	atomic_long done; /* publishes accepted */
	atomic_int rc;    /* first error */
};

/* Publishes one ticket (or a batch of BATCH); returns how many, 0 to stop. */
static long publish_some(struct run *r, const struct ferry_publish_msg *batch)
{
	long want = r->kind == MANY ? BATCH : 1;
	long first = atomic_fetch_add(&r->next, want);
	if (first >= r->o->messages)
		return 0;
	long n = r->o->messages - first < want ? r->o->messages - first : want;
	int rc;
	if (r->kind == MANY)
		rc = ferry_publish_many(r->c, batch, (size_t)n, NULL, NULL);
	else
		rc = ferry_publish(r->c, r->topic, r->payload, (size_t)r->o->size, r->o->qos, false, NULL,
		                   NULL);
	if (rc) {
		int zero = 0;
		atomic_compare_exchange_strong(&r->rc, &zero, rc);
		return 0;
	}
	atomic_fetch_add(&r->done, n);
	return n;
}

static void *pub_thread(void *arg)
{
	struct run *r = arg;
	struct ferry_publish_msg batch[BATCH];
	for (int i = 0; i < BATCH; i++)
		batch[i] =
		    (struct ferry_publish_msg){.topic = r->topic, .payload = r->payload, .len = (size_t)r->o->size, .qos = (uint8_t)r->o->qos};
	while (!interrupted && atomic_load(&r->rc) == 0 && now_s() < r->deadline)
		if (publish_some(r, batch) == 0)
			break;
	return NULL;
}

/* Runs the publishing threads; returns the time the last one finished. */
static double publish_all(struct run *r, int nthreads)
{
	pthread_t th[MAX_THREADS];
	int started = 0;
	for (; started < nthreads - 1; started++)
		if (pthread_create(&th[started], NULL, pub_thread, r))
			break;
	pub_thread(r);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return now_s();
}

/* The figures of one run. */
struct result {
	double pub, acked; /* publish/s; acked/s (connected) */
	double per_commit; /* publishes per store commit (0 without a store) */
};

/* Publishes on a ready client and fills res; connected: waits for every ack. */
static int measure(struct run *r, struct ev *e, const struct row *w, struct result *res)
{
	double t0 = now_s();
	r->deadline = t0 + r->o->seconds;
	double t1 = publish_all(r, w->kind == THREADS ? r->o->threads : 1);
	int rc = atomic_load(&r->rc);
	long n = atomic_load(&r->done);
	res->pub = (double)n / (t1 - t0);
	pthread_mutex_lock(&e->mu);
	if (!rc && w->connected && ev_wait(e, &e->acked, n))
		rc = e->failed ? e->fail_rc : FERRY_ERR_TIMEOUT;
	res->acked = w->connected ? (double)n / (now_s() - t0) : 0;
	pthread_mutex_unlock(&e->mu);
	return rc;
}

/*
 * One run of a row. The SQLite store is made with ferry_store_sqlite_new and
 * given in opts.store: exactly what opts.store_path + store_sync make
 * (src/client_store.c, open_store), but the program keeps a handle to read
 * the group commit's counters.
 */
static int rate_run(const struct opts *o, const struct row *w, int i, struct result *res)
{
	char path[600], id[96], topic[64], name[64];
	struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
	struct ferry_store *st = NULL, *handle = NULL;
	snprintf(name, sizeof name, "rate-%d.db", i);
	path_in(path, sizeof path, name);
	snprintf(id, sizeof id, "store-bench-%d-%d", (int)getpid(), i);
	snprintf(topic, sizeof topic, "bench/store/%d", (int)getpid());
	so.path = path;
	so.sync = w->sync;
	char *payload = calloc(1, (size_t)o->size + 1);
	int rc = payload ? FERRY_OK : FERRY_ERR_NOMEM;
	if (!rc && w->sync >= 0)
		rc = ferry_store_sqlite_new(&so, &st);
	handle = st;
	struct ev e;
	ev_init(&e);
	ferry_client *c = NULL;
	if (!rc)
		rc = client_new(&e, id, NULL, st ? &st : NULL, w->connected, &c);
	if (!rc && w->connected)
		rc = client_op(&e, c, true);
	struct run r = {.c = c, .o = o, .kind = w->kind, .topic = topic, .payload = payload};
	if (!rc) {
		memset(payload, 'x', (size_t)o->size);
		rc = measure(&r, &e, w, res);
	}
	uint64_t commits = handle && !st ? ferry__store_sqlite_commits(handle) : 0;
	res->per_commit = commits ? (double)ferry__store_sqlite_puts(handle) / (double)commits : 0;
	(void)client_op(&e, c, false);
	long left = 0; /* after the goodbye every row should be gone */
	if (!rc && w->connected && handle && ferry_stored_list(c, count_msg, &left) == 0 && left)
		printf("# note: %ld messages still stored after every acknowledgement\n", left);
	ferry_client_destroy(c);
	ferry_store_free(st); /* only if create failed */
	ev_destroy(&e);
	free(payload);
	remove_db(path);
	return rc;
}

static const char *kind_name(enum kind k, int threads)
{
	static char buf[40];
	if (k == ONE)
		return "ferry_publish, 1 thread";
	if (k == MANY)
		return "publish_many(100), 1 thr";
	snprintf(buf, sizeof buf, "ferry_publish, %d threads", threads);
	return buf;
}

/* Runs one row --runs times and prints its medians. */
static int rate_row(const struct opts *o, const struct row *w, int *run_no)
{
	double pub[MAX_RUNS], ack[MAX_RUNS], ppc[MAX_RUNS];
	for (int i = 0; i < o->runs; i++) {
		struct result res = {0, 0, 0};
		int rc = rate_run(o, w, (*run_no)++, &res);
		if (rc || interrupted)
			return rc ? rc : FERRY_ERR_CANCELLED;
		pub[i] = res.pub;
		ack[i] = res.acked;
		ppc[i] = res.per_commit;
	}
	char acked[32] = "-", per[32] = "-";
	if (w->connected)
		snprintf(acked, sizeof acked, "%.0f", median(ack, o->runs));
	if (w->sync >= 0)
		snprintf(per, sizeof per, "%.1f", median(ppc, o->runs));
	printf("%-10s %-7s %-26s %10.0f %10s %12s\n", w->connected ? "connected" : "offline",
	       w->sync < 0                    ? "none"
	       : w->sync == FERRY_SYNC_NORMAL ? "NORMAL"
	                                      : "FULL",
	       kind_name(w->kind, o->threads), median(pub, o->runs), acked, per);
	fflush(stdout);
	return 0;
}

/* Runs every row and prints the table; 0 or the first error. */
static int rate_table(const struct opts *o)
{
	static const int syncs[] = {-1, FERRY_SYNC_NORMAL, FERRY_SYNC_FULL};
	printf("\n# QoS %d publishes: %ld per run (or %.1f s), payload %d B, median of %d runs\n"
	       "# publish/s: calls returned; acked/s: completions (PUBACK, PUBCOMP) received;\n"
	       "# calls/commit: publish calls (ferry_publish or ferry_publish_many) per store\n"
	       "# transaction\n",
	       o->qos, o->messages, o->seconds, o->size, o->runs);
	printf("%-10s %-7s %-26s %10s %10s %12s\n", "mode", "store", "call", "publish/s", "acked/s",
	       "calls/commit");
	int run_no = 0;
	for (int conn = 0; conn < (o->broker ? 2 : 1); conn++)
		for (int s = 0; s < 3; s++)
			for (int k = ONE; k <= MANY; k++) {
				struct row w = {conn == 1, syncs[s], (enum kind)k};
				int rc = rate_row(o, &w, &run_no);
				if (rc)
					return rc;
			}
	return 0;
}

/* ---- part 2: a big store ------------------------------------------------------------ */

/* Fills path with n QUEUED messages for BIG_ID (tokens 1..n) through the
 * store API, then marks the first FILL_INFLIGHT of them SENT. */
static int fill(const char *path, long n, int size)
{
	struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
	struct ferry_store *st = NULL;
	uint64_t max = 0;
	so.path = path;
	so.sync = FERRY_SYNC_NORMAL;
	struct ferry_stored_msg *m = calloc(FILL_BATCH, sizeof *m);
	char *payload = calloc(1, (size_t)size + 1);
	int rc = m && payload ? ferry_store_sqlite_new(&so, &st) : FERRY_ERR_NOMEM;
	if (payload)
		memset(payload, 'x', (size_t)size);
	if (!rc)
		rc = st->ops->open(st->impl, BIG_ID, &max);
	for (long done = 0; !rc && done < n && !interrupted;) {
		size_t k = n - done < FILL_BATCH ? (size_t)(n - done) : FILL_BATCH;
		for (size_t i = 0; i < k; i++) {
			m[i] = (struct ferry_stored_msg){.token = max + (uint64_t)done + i + 1,
			                                 .qos = 1,
			                                 .topic = "bench/store/big",
			                                 .topic_len = 15,
			                                 .payload = payload,
			                                 .payload_len = (size_t)size};
		}
		rc = st->ops->put(st->impl, m, k);
		done += (long)k;
	}
	struct ferry_store_change ch[FILL_INFLIGHT];
	long inflight = n < FILL_INFLIGHT ? n : FILL_INFLIGHT;
	for (long i = 0; i < inflight; i++)
		ch[i] = (struct ferry_store_change){max + (uint64_t)i + 1, FERRY_STORE_SENT,
		                                    (uint16_t)(i + 1)};
	if (!rc && inflight)
		rc = st->ops->update(st->impl, ch, (size_t)inflight, 0);
	ferry_store_free(st);
	free(m);
	free(payload);
	return interrupted && !rc ? FERRY_ERR_CANCELLED : rc;
}

static long long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* Median times of ferry_client_create on path and (list) of a
 * ferry_stored_list over it all; *count: the messages listed. */
static int time_create(const char *path, int runs, bool list, double t[2], long *count)
{
	double tc[MAX_RUNS], tl[MAX_RUNS];
	int rc = FERRY_OK;
	for (int i = 0; !rc && i < runs; i++) {
		struct ev e;
		ev_init(&e);
		ferry_client *c = NULL;
		double t0 = now_s();
		rc = client_new(&e, BIG_ID, path, NULL, false, &c);
		double t1 = now_s();
		*count = 0;
		if (!rc && list)
			rc = ferry_stored_list(c, count_msg, count);
		tl[i] = now_s() - t1;
		tc[i] = t1 - t0;
		ferry_client_destroy(c);
		ev_destroy(&e);
	}
	t[0] = median(tc, runs);
	t[1] = median(tl, runs);
	return rc;
}

/* One restart on the big store: connect -> CONNACK, first ack, ack_n acks. */
static int restart_once(const char *path, long ack_n, double t[3], long *acked)
{
	struct ev e;
	ev_init(&e);
	e.ack_n = ack_n;
	ferry_client *c = NULL;
	int rc = client_new(&e, BIG_ID, path, NULL, true, &c);
	double t0 = now_s();
	if (!rc)
		rc = client_op(&e, c, true);
	if (!rc) {
		pthread_mutex_lock(&e.mu);
		if (ev_wait(&e, &e.acked, e.ack_n))
			rc = e.failed ? e.fail_rc : FERRY_ERR_TIMEOUT;
		t[0] = e.t_ops - t0;
		t[1] = e.t_first_ack - t0;
		t[2] = e.t_acked_n - t0;
		pthread_mutex_unlock(&e.mu);
	}
	(void)client_op(&e, c, false);
	ferry_client_destroy(c);
	*acked = e.acked; /* more than ack_n: the goodbye lets the window drain */
	ev_destroy(&e);
	return rc;
}

/* Prints one figure line of part 2. */
static void line(const char *what, double secs)
{
	printf("%-52s %10.1f ms\n", what, secs * 1e3);
}

/* Restarts while enough is stored (each one consumes what it acknowledges). */
static int time_restart(const char *path, long stored, int runs)
{
	double t[3][MAX_RUNS];
	char what[100];
	long ack_n = stored < ACK_COUNT ? stored : ACK_COUNT, left = stored, acked = 0;
	int done = 0;
	for (; done < runs && (done == 0 || left >= ack_n); done++, left -= acked) {
		double one[3];
		int rc = restart_once(path, ack_n, one, &acked);
		if (rc)
			return rc;
		for (int k = 0; k < 3; k++)
			t[k][done] = one[k];
	}
	line("connect -> CONNACK", median(t[0], done));
	line("connect -> first restored message acknowledged", median(t[1], done));
	snprintf(what, sizeof what, "connect -> %ld restored messages acknowledged", ack_n);
	line(what, median(t[2], done));
	return 0;
}

/* Fills a store of n messages and prints its create time and file size. */
static int create_on(const char *name, long n, int size, int runs)
{
	char path[600], what[100];
	double t[2];
	long count;
	path_in(path, sizeof path, name);
	int rc = fill(path, n, size);
	if (!rc)
		rc = time_create(path, runs, false, t, &count);
	if (rc)
		return rc;
	if (n)
		snprintf(what, sizeof what, "ferry_client_create, %ld stored (%.1f MB)", n,
		         (double)file_size(path) / 1e6);
	else
		snprintf(what, sizeof what, "ferry_client_create, empty store");
	line(what, t[0]);
	remove_db(path);
	return 0;
}

static int big_store(const struct opts *o)
{
	char big[600], what[100];
	double t[2];
	long count = 0;
	int runs = o->runs < 3 ? 3 : o->runs;
	path_in(big, sizeof big, "big.db");
	printf("\n# A big store: %ld messages of %d B (the first %d in flight), median of %d runs,"
	       " warm cache\n",
	       o->stored, o->size, FILL_INFLIGHT, runs);
	int rc = create_on("empty.db", 0, o->size, runs);
	if (!rc && o->stored >= 10)
		rc = create_on("mid.db", o->stored / 5, o->size, runs);
	double t0 = now_s();
	if (!rc)
		rc = fill(big, o->stored, o->size);
	if (rc)
		return rc;
	double fill_s = now_s() - t0;
	printf("%-52s %10.1f s (%.0f msgs/s)\n", "filled through ops->put, batches of 10,000",
	       fill_s, (double)o->stored / fill_s);
	printf("%-52s %10.1f MB (%.0f B per message)\n", "file size (WAL checkpointed)",
	       (double)file_size(big) / 1e6, (double)file_size(big) / (double)(o->stored + 1));
	rc = time_create(big, runs, true, t, &count);
	if (rc)
		return rc;
	snprintf(what, sizeof what, "ferry_client_create, %ld stored", o->stored);
	line(what, t[0]);
	snprintf(what, sizeof what, "ferry_stored_list over %ld messages", count);
	line(what, t[1]);
	return o->broker && o->stored > 0 ? time_restart(big, o->stored, runs) : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *version = "?";
	parse_opts(argc, argv, &o);
	const char *base = o.dir ? o.dir : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/store-bench-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "store_bench: mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ferry_version(&version);
	printf("# ferry %s store benchmark, %ld CPUs, files in %s\n", version,
	       sysconf(_SC_NPROCESSORS_ONLN), tmpdir);
	if (o.broker && start_broker()) {
		fprintf(stderr, "store_bench: cannot start mosquitto (try --no-broker)\n");
		return 1;
	}
	if (o.broker)
		printf("# mosquitto on 127.0.0.1:%d (pid %d)\n", broker_port, (int)broker_pid);
	double t0 = now_s();
	int rc = rate_table(&o);
	if (!rc && o.big)
		rc = big_store(&o);
	if (rc)
		fprintf(stderr, "store_bench: %s\n",
		        interrupted ? "interrupted" : ferry_strerror(rc));
	printf("\n# total %.1f s\n", now_s() - t0);
	return rc ? 1 : 0;
}

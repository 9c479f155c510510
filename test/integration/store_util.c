/*
 * store_util.c - helpers shared by the durable-store integration suites
 * (see store_util.h): the suite's broker, temporary directories, the sqlite3
 * shell run by fork + execv with a bounded read of its output, the srec
 * recorder, stored-message listings and durable clients.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "store_util.h"
#include "support/broker.h"
#include "unit/util.h"

#define SQLITE3_SHELL "/usr/bin/sqlite3"

static struct test_broker broker;
static const char *uri;

int st_broker_start(void)
{
	int rc = test_broker_start(&broker, NULL);
	if (rc) {
		fprintf(stderr, "broker: %s\n", test_broker_error(&broker));
		return 1;
	}
	uri = test_broker_uri(&broker);
	return 0;
}

int st_broker_stop(void)
{
	test_broker_cleanup(&broker);
	uri = NULL;
	return 0;
}

const char *st_broker_uri(void)
{
	return uri;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- temporary directory ------------------------------------------------- */

void st_tdir_make(struct tdir *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/ferry-itest-store-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/store.db", t->dir);
}

/* Removes every file of the directory (the database, its -wal and -shm) and the directory. */
void st_tdir_remove(struct tdir *t)
{
	DIR *d = opendir(t->dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	CU_ASSERT_EQUAL(rmdir(t->dir), 0);
}

/* ---- the sqlite3 shell --------------------------------------------------- */

/*
 * Runs `sqlite3 -batch -bail db sql` and puts its standard output (trailing
 * newline removed) in out. Bounded (10 s, then SIGKILL). Returns true when
 * the shell exited with status 0.
 */
bool st_sql_shell(const char *db, const char *sql, char *out, size_t cap)
{
	out[0] = '\0';
	if (access(SQLITE3_SHELL, X_OK) != 0) {
		fprintf(stderr, "\n    " SQLITE3_SHELL " missing: Debian package sqlite3\n");
		CU_FAIL("sqlite3 shell not installed");
		return false;
	}
	/* execv's argv is not const, but it is not written */
	char *argv[] = {"sqlite3", "-batch", "-bail", (char *)db, (char *)sql, NULL};
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return false;
	pid_t pid = fork();
	if (pid == 0) { /* child: async-signal-safe calls only until execv */
		dup2(fds[1], STDOUT_FILENO);
		execv(SQLITE3_SHELL, argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return false;
	}
	size_t n = 0;
	int64_t deadline = now_ms() + 10000;
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		int r = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) { /* the deadline passed (or poll failed) */
			kill(pid, SIGKILL);
			break;
		}
		char buf[512];
		ssize_t got = read(fds[0], buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got && n + 1 < cap; i++)
			out[n++] = buf[i];
	}
	close(fds[0]);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok)
		fprintf(stderr, "\n    sqlite3 failed on: %s\n", sql);
	return ok;
}

/* ---- a recorder that also keeps the delivery-complete tokens ------------- */

struct srec *st_srec_new(void)
{
	struct srec *s = calloc(1, sizeof *s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	itest_rec_init(&s->r);
	return s;
}

void st_srec_free(struct srec *s)
{
	itest_rec_free(&s->r);
	free(s);
}

static int find_token(void *arg, const struct ferry_stored_msg *m)
{
	return m->token == *(const ferry_token *)arg ? 1 : 0;
}

static void srec_delivered(ferry_client *c, void *user, ferry_token t, int rc)
{
	struct srec *s = user;
	/* An acknowledged message is out of the store before the application
	 * hears of it (a cancelled one stays). */
	bool stale = rc == FERRY_OK && ferry_stored_list(c, find_token, &t) != FERRY_OK;
	pthread_mutex_lock(&s->r.mu);
	s->stale += stale;
	if (s->ntok < ST_TOK_MAX)
		s->tok[s->ntok++] = t;
	s->r.delivered++;
	if (rc)
		s->r.delivered_failed++;
	pthread_cond_broadcast(&s->r.cv);
	pthread_mutex_unlock(&s->r.mu);
}

static int cmp_token(const void *a, const void *b)
{
	ferry_token x = *(const ferry_token *)a, y = *(const ferry_token *)b;
	return x < y ? -1 : x > y;
}

/* Waits for n delivery completions; true when exactly the tokens want[0..n-1]
 * (in any order) completed, each with FERRY_OK. */
bool st_delivered_exactly(struct srec *s, const ferry_token *want, size_t n)
{
	if (!itest_wait_int(&s->r, &s->r.delivered, (int)n, ITEST_WAIT_MS))
		return false;
	ferry_token *got = calloc(n + 1, sizeof *got);
	ferry_token *exp = calloc(n + 1, sizeof *exp);
	bool ok = got && exp;
	pthread_mutex_lock(&s->r.mu);
	ok = ok && s->ntok == n && s->r.delivered_failed == 0;
	CU_ASSERT_EQUAL(s->stale, 0); /* no completion came while its row was still stored */
	if (ok)
		memcpy(got, s->tok, n * sizeof *got);
	pthread_mutex_unlock(&s->r.mu);
	if (ok) {
		memcpy(exp, want, n * sizeof *exp);
		qsort(got, n, sizeof *got, cmp_token);
		qsort(exp, n, sizeof *exp, cmp_token);
		ok = memcmp(got, exp, n * sizeof *got) == 0;
	}
	free(got);
	free(exp);
	return ok;
}

/* Whether message i of r has this topic and payload (a C string). */
bool st_msg_is(struct itest_rec *r, size_t i, const char *topic, const char *payload)
{
	pthread_mutex_lock(&r->mu);
	bool ok = i < r->nmsgs && strcmp(r->msgs[i].topic, topic) == 0 &&
	          r->msgs[i].len == strlen(payload) &&
	          memcmp(r->msgs[i].payload, payload, r->msgs[i].len) == 0;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* Index of the first message of r[0..n) that is not prefix + "%03d" of its index on topic, or n. */
size_t st_first_wrong(struct itest_rec *r, const char *topic, const char *prefix, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char p[32];
		snprintf(p, sizeof p, "%s%03d", prefix, (int)i);
		if (!st_msg_is(r, i, topic, p))
			return i;
	}
	return n;
}

/* ---- stored messages ----------------------------------------------------- */

int st_list_cb(void *arg, const struct ferry_stored_msg *m)
{
	struct listed *l = arg;
	if (l->n == ST_TOK_MAX)
		return 1;
	struct lentry *e = &l->e[l->n++];
	memset(e, 0, sizeof *e);
	e->token = m->token;
	e->qos = m->qos;
	e->state = m->state;
	e->retain = m->retain;
	e->packet_id = m->packet_id;
	if (m->topic_len)
		memcpy(e->topic, m->topic, m->topic_len < 31 ? m->topic_len : 31);
	if (m->payload_len)
		memcpy(e->payload, m->payload, m->payload_len < 31 ? m->payload_len : 31);
	return 0;
}

struct listed *st_list_all(ferry_client *c, struct listed *l)
{
	l->n = 0;
	ASSERT_RC(ferry_stored_list(c, st_list_cb, l), FERRY_OK);
	return l;
}

size_t st_list_count(ferry_client *c)
{
	struct listed *l = calloc(1, sizeof *l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	size_t n = st_list_all(c, l)->n;
	free(l);
	return n;
}

/* Whether exactly the tokens tok[0..n) are listed, in that order. */
bool st_listed_tokens(ferry_client *c, const ferry_token *tok, size_t n)
{
	struct listed *l = calloc(1, sizeof *l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	st_list_all(c, l);
	bool ok = l->n == n;
	for (size_t i = 0; ok && i < n; i++)
		ok = l->e[i].token == tok[i];
	free(l);
	return ok;
}

/* ---- clients ------------------------------------------------------------- */

/* Options of a durable client: store_path, clean_session 0, keepalive off. */
void store_options(struct ferry_client_options *o, struct srec *s, const char *u, const char *id,
                   const char *path)
{
	itest_options(o, &s->r, u, id);
	o->on_delivery_complete = srec_delivered;
	o->clean_session = false;
	o->keepalive_s = 0;
	o->store_path = path;
}

ferry_client *store_client(struct srec *s, const char *u, const char *id, const char *path)
{
	struct ferry_client_options o;
	store_options(&o, s, u, id, path);
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	ASSERT_RC(rc, FERRY_OK);
	CU_ASSERT_FATAL(rc == FERRY_OK);
	return c;
}

/*
 * The next run on the store finds nothing for client id: what was
 * acknowledged is not sent again. (Checked at a restart, not in the running
 * client: delivery-complete may run before the acknowledged rows are
 * removed, which happens right after, on another thread.)
 */
void st_assert_nothing_stored(const char *path, const char *id)
{
	struct srec *s = st_srec_new();
	ferry_client *c = store_client(s, uri, id, path);
	CU_ASSERT_EQUAL(st_list_count(c), 0);
	ferry_client_destroy(c);
	st_srec_free(s);
}

void st_disconnect(ferry_client *c)
{
	ferry_token t = 0;
	ASSERT_RC(ferry_disconnect(c, 2000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
}

uint64_t st_stat_of(ferry_client *c, size_t offset)
{
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	uint64_t v;
	memcpy(&v, (const char *)&st + offset, sizeof v);
	return v;
}

/* A subscriber on the suite's broker, subscribed to filter at QoS 2. */
ferry_client *st_subscriber(struct srec *s, const char *u, const char *id, const char *filter)
{
	ferry_client *c = itest_connect(&s->r, u, id, FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_subscribe(c, filter, 2), FERRY_OK);
	return c;
}

/*
 * test_store.c - the client with a durable store, end to end: the offline
 * queue and the in-flight window survive a restart (byte-exact against a
 * scripted fake broker, delivered against a real mosquitto), inbound QoS 2
 * ids survive, subscriptions persist, damaged files are refused with a clear
 * error, a damaged row is set aside, a full disk loses nothing, publish_many
 * is all-or-nothing, and the argument checks.
 *
 * Every store is a SQLite file in a fresh mkdtemp directory, removed at the
 * end of the test. Files are damaged with the sqlite3 command-line shell
 * (Debian package sqlite3, installed by ./bootstrap deps), run by fork +
 * execv with a bounded read of its output.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "support/fakebroker.h"
#include "unit/util.h"

#define SQLITE3_SHELL "/usr/bin/sqlite3"
#define TOK_MAX 2048

static struct test_broker broker;
static const char *uri;

static int suite_init(void)
{
	int rc = test_broker_start(&broker, NULL);
	if (rc) {
		fprintf(stderr, "broker: %s\n", test_broker_error(&broker));
		return 1;
	}
	uri = test_broker_uri(&broker);
	return 0;
}

static int suite_clean(void)
{
	test_broker_cleanup(&broker);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- temporary directory ------------------------------------------------- */

struct tdir {
	char dir[64];
	char path[128]; /* dir/store.db */
};

static void tdir_make(struct tdir *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/ferry-itest-store-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
	snprintf(t->path, sizeof t->path, "%s/store.db", t->dir);
}

/* Removes every file of the directory (the database, its -wal and -shm) and the directory. */
static void tdir_remove(struct tdir *t)
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
static bool sql_shell(const char *db, const char *sql, char *out, size_t cap)
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

struct srec {
	struct itest_rec r; /* first: the itest callbacks take user as a struct itest_rec */
	ferry_token tok[TOK_MAX]; /* on_delivery_complete's tokens, in call order */
	size_t ntok;
	int stale;                /* completions (rc OK) whose row ferry_stored_list still showed */
};

static struct srec *srec_new(void)
{
	struct srec *s = calloc(1, sizeof *s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	itest_rec_init(&s->r);
	return s;
}

static void srec_free(struct srec *s)
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
	if (s->ntok < TOK_MAX)
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
static bool delivered_exactly(struct srec *s, const ferry_token *want, size_t n)
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
static bool msg_is(struct itest_rec *r, size_t i, const char *topic, const char *payload)
{
	pthread_mutex_lock(&r->mu);
	bool ok = i < r->nmsgs && strcmp(r->msgs[i].topic, topic) == 0 &&
	          r->msgs[i].len == strlen(payload) &&
	          memcmp(r->msgs[i].payload, payload, r->msgs[i].len) == 0;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* Index of the first message of r[0..n) that is not prefix + "%03d" of its index on topic, or n. */
static size_t first_wrong(struct itest_rec *r, const char *topic, const char *prefix, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char p[32];
		snprintf(p, sizeof p, "%s%03d", prefix, (int)i);
		if (!msg_is(r, i, topic, p))
			return i;
	}
	return n;
}

/* ---- stored messages ----------------------------------------------------- */

struct lentry {
	ferry_token token;
	uint8_t qos, state;
	bool retain;
	uint16_t packet_id;
	char topic[32], payload[32]; /* NUL-terminated copies (cut at 31 bytes) */
};

struct listed {
	struct lentry e[TOK_MAX];
	size_t n;
};

static int list_cb(void *arg, const struct ferry_stored_msg *m)
{
	struct listed *l = arg;
	if (l->n == TOK_MAX)
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

static struct listed *list_all(ferry_client *c, struct listed *l)
{
	l->n = 0;
	ASSERT_RC(ferry_stored_list(c, list_cb, l), FERRY_OK);
	return l;
}

static size_t list_count(ferry_client *c)
{
	struct listed *l = calloc(1, sizeof *l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	size_t n = list_all(c, l)->n;
	free(l);
	return n;
}

/* ---- clients ------------------------------------------------------------- */

/* Options of a durable client: store_path, clean_session 0, keepalive off. */
static void store_options(struct ferry_client_options *o, struct srec *s, const char *u,
                          const char *id, const char *path)
{
	itest_options(o, &s->r, u, id);
	o->on_delivery_complete = srec_delivered;
	o->clean_session = false;
	o->keepalive_s = 0;
	o->store_path = path;
}

static ferry_client *store_client(struct srec *s, const char *u, const char *id, const char *path)
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
static void assert_nothing_stored(const char *path, const char *id)
{
	struct srec *s = srec_new();
	ferry_client *c = store_client(s, uri, id, path);
	CU_ASSERT_EQUAL(list_count(c), 0);
	ferry_client_destroy(c);
	srec_free(s);
}

static void disconnect(ferry_client *c)
{
	ferry_token t = 0;
	ASSERT_RC(ferry_disconnect(c, 2000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
}

static uint64_t stat_of(ferry_client *c, size_t offset)
{
	struct ferry_stats st;
	ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
	uint64_t v;
	memcpy(&v, (const char *)&st + offset, sizeof v);
	return v;
}
#define STAT(c, field) stat_of((c), offsetof(struct ferry_stats, field))

/* A subscriber on the suite's broker, subscribed to filter at QoS 2. */
static ferry_client *subscriber(struct srec *s, const char *u, const char *id, const char *filter)
{
	ferry_client *c = itest_connect(&s->r, u, id, FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ASSERT_RC(itest_subscribe(c, filter, 2), FERRY_OK);
	return c;
}

/* ---- fake broker helpers ------------------------------------------------- */

static struct test_fake *fake_start(const struct test_fake_step *script)
{
	struct test_fake *fb = NULL;
	int rc = test_fake_start(&fb, script, &(struct test_fake_opts){.version = 4});
	CU_ASSERT_EQUAL_FATAL(rc, FERRY_OK);
	return fb;
}

static void assert_script_ok(struct test_fake *fb)
{
	char err[512];
	int rc = test_fake_wait(fb, ITEST_WAIT_MS);
	if (rc)
		fprintf(stderr, "\n    fake broker: %s\n", test_fake_error(fb, err, sizeof err));
	ASSERT_RC(rc, FERRY_OK);
}

/* CONNECT of a 3.1.1 client with clean session 0, keepalive 0, no will or credentials. */
static void connect_hex(char *buf, size_t cap, const char *id)
{
	snprintf(buf, cap, "10 %02x 00 04 'MQTT' 04 00 00 00 00 %02x '%s'",
	         (unsigned)(12 + strlen(id)), (unsigned)strlen(id), id);
}

/* PUBLISH with first byte b0 (QoS 1 or 2), packet id, topic and payload. */
static void publish_hex(char *buf, size_t cap, unsigned b0, const char *topic, uint16_t id,
                        const char *payload)
{
	snprintf(buf, cap, "%02x %02x 00 %02x '%s' %02x %02x '%s'", b0,
	         (unsigned)(4 + strlen(topic) + strlen(payload)), (unsigned)strlen(topic), topic,
	         (unsigned)(id >> 8), (unsigned)(id & 0xff), payload);
}

/* A two-byte-id ack (PUBACK 40, PUBREC 50, PUBREL 62, PUBCOMP 70). */
static void ack_hex(char *buf, size_t cap, unsigned b0, uint16_t id)
{
	snprintf(buf, cap, "%02x 02 %02x %02x", b0, (unsigned)(id >> 8), (unsigned)(id & 0xff));
}

/* Frame i of fb is a PUBLISH with first byte b0, topic and payload; *id gets its packet id. */
static bool frame_publish(struct test_fake *fb, size_t i, unsigned b0, const char *topic,
                          const char *payload, uint16_t *id)
{
	struct test_fake_frame f;
	*id = 0;
	if (test_fake_frame(fb, i, &f) != FERRY_OK)
		return false;
	size_t tl = strlen(topic), pl = strlen(payload);
	bool ok = f.len == 2 + 2 + tl + 2 + pl && f.data[0] == b0 && f.data[2] == 0 &&
	          f.data[3] == tl && memcmp(f.data + 4, topic, tl) == 0 &&
	          memcmp(f.data + 6 + tl, payload, pl) == 0;
	if (ok)
		*id = (uint16_t)(f.data[4 + tl] << 8 | f.data[5 + tl]);
	if (!ok)
		fprintf(stderr, "\n    frame %zu: %s\n", i, test_tohex(f.data, f.len));
	return ok && *id != 0;
}

/*
 * First run of the in-flight tests: connect to a fake broker that accepts,
 * publish "s/a" "A" at QoS 1 and "s/b" "B" at QoS 2, wait until the fake
 * broker has both (never acknowledged), destroy the client.
 */
static void run_unacked(const char *path, const char *id, ferry_token t[2], uint16_t pid[2])
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT, .type = 3},
		{.op = FAKE_EXPECT, .type = 3},
		{.op = FAKE_END},
	};
	struct test_fake *fb = fake_start(script);
	struct srec *s = srec_new();
	ferry_client *c = store_client(s, test_fake_uri(fb), id, path);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "s/a", "A", 1, 1, false, NULL, &t[0]), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "s/b", "B", 1, 2, false, NULL, &t[1]), FERRY_OK);
	assert_script_ok(fb);
	CU_ASSERT_TRUE(frame_publish(fb, 1, 0x32, "s/a", "A", &pid[0]));
	CU_ASSERT_TRUE(frame_publish(fb, 2, 0x34, "s/b", "B", &pid[1]));
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	srec_free(s);
}

/* The two messages of run_unacked are listed, SENT with the given ids. */
static void assert_listed_sent(ferry_client *c, const ferry_token t[2], const uint16_t pid[2])
{
	struct listed *l = calloc(1, sizeof *l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	list_all(c, l);
	CU_ASSERT_EQUAL(l->n, 2);
	if (l->n == 2) {
		CU_ASSERT(l->e[0].token == t[0] && l->e[1].token == t[1]);
		CU_ASSERT(l->e[0].qos == 1 && l->e[1].qos == 2);
		CU_ASSERT(l->e[0].state == FERRY_STORE_SENT && l->e[1].state == FERRY_STORE_SENT);
		CU_ASSERT(l->e[0].packet_id == pid[0] && l->e[1].packet_id == pid[1]);
		CU_ASSERT(strcmp(l->e[0].topic, "s/a") == 0 && strcmp(l->e[0].payload, "A") == 0);
		CU_ASSERT(strcmp(l->e[1].topic, "s/b") == 0 && strcmp(l->e[1].payload, "B") == 0);
	}
	free(l);
}

/*
 * Last run of the in-flight tests: a fake broker with the session answers
 * CONNACK session present, expects both PUBLISHes again with DUP and the
 * ids pid, acknowledges them (PUBACK; PUBREC, PUBREL, PUBCOMP) and expects
 * DISCONNECT; delivery-complete fires for both tokens and the store empties.
 */
static void run_resume_with_session(const char *path, const char *id, const ferry_token t[2],
                                    const uint16_t pid[2])
{
	char conn[96], p1[64], p2[64], ack1[16], rec2[16], rel2[16], comp2[16];
	connect_hex(conn, sizeof conn, id);
	publish_hex(p1, sizeof p1, 0x3a, "s/a", pid[0], "A");
	publish_hex(p2, sizeof p2, 0x3c, "s/b", pid[1], "B");
	ack_hex(ack1, sizeof ack1, 0x40, pid[0]);
	ack_hex(rec2, sizeof rec2, 0x50, pid[1]);
	ack_hex(rel2, sizeof rel2, 0x62, pid[1]);
	ack_hex(comp2, sizeof comp2, 0x70, pid[1]);
	const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = conn},
		{.op = FAKE_SEND, .hex = "20 02 01 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = p1},
		{.op = FAKE_EXPECT_BYTES, .hex = p2},
		{.op = FAKE_SEND, .hex = ack1},
		{.op = FAKE_SEND, .hex = rec2},
		{.op = FAKE_EXPECT_BYTES, .hex = rel2},
		{.op = FAKE_SEND, .hex = comp2},
		{.op = FAKE_EXPECT_BYTES, .hex = "e0 00"},
		{.op = FAKE_END},
	};
	struct test_fake *fb = fake_start(script);
	struct srec *s = srec_new();
	ferry_client *c = store_client(s, test_fake_uri(fb), id, path);
	assert_listed_sent(c, t, pid);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&s->r, &s->r.connected, 1, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(s->r.session_present);
	CU_ASSERT_TRUE(delivered_exactly(s, t, 2));
	CU_ASSERT_EQUAL(STAT(c, restored), 2);
	/* ferry_wait does not know restored tokens. */
	ASSERT_RC(ferry_wait(c, t[0], 0), FERRY_ERR_NOT_FOUND);
	disconnect(c);
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	srec_free(s);
	assert_nothing_stored(path, id);
}

/* ---- 1. the offline queue survives a restart ----------------------------- */

#define NQ 200

/* Index of the first of the NQ queued messages not listed as published, or NQ. */
static size_t first_unlisted(ferry_client *c, const ferry_token *tok)
{
	struct listed *l = calloc(1, sizeof *l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	list_all(c, l);
	CU_ASSERT_EQUAL(l->n, NQ);
	size_t bad = l->n < NQ ? l->n : NQ;
	for (size_t i = 0; i < bad; i++) {
		char p[32];
		snprintf(p, sizeof p, "q%03d", (int)i);
		const struct lentry *e = &l->e[i];
		if (e->token != tok[i] || e->qos != (i < NQ / 2 ? 1 : 2) || e->retain ||
		    e->state != FERRY_STORE_QUEUED || e->packet_id != 0 ||
		    strcmp(e->topic, "store/q") || strcmp(e->payload, p))
			bad = i;
	}
	if (bad < l->n)
		fprintf(stderr, "\n    stored message %zu: token %llu state %u '%s'\n", bad,
		        (unsigned long long)l->e[bad].token, l->e[bad].state, l->e[bad].payload);
	free(l);
	return bad;
}

static void test_offline_queue_survives_restart(void)
{
	struct tdir td;
	tdir_make(&td);
	struct srec *a = srec_new(), *b = srec_new(), *sub = srec_new();
	ferry_token tok[NQ + 1];
	char p[32];

	/* Run 1, never connected: 100 QoS 1 then 100 QoS 2 (and a QoS 0, never stored). */
	ferry_client *c = store_client(a, uri, "store-q", td.path);
	for (int i = 0; i < NQ; i++) {
		snprintf(p, sizeof p, "q%03d", i);
		ASSERT_RC(ferry_publish(c, "store/q", p, strlen(p), i < NQ / 2 ? 1 : 2, false, NULL,
		                        &tok[i]),
		          FERRY_OK);
		if (i == NQ - 50) {
			int rc = ferry_publish(c, "store/q", "qos0", 4, 0, false, NULL, NULL);
			ASSERT_RC(rc, FERRY_OK);
		}
	}
	ferry_client_destroy(c);

	/* Run 2: everything is listed, in order, with its token. */
	c = store_client(b, uri, "store-q", td.path);
	CU_ASSERT_EQUAL(first_unlisted(c, tok), NQ);

	/* A new publish gets a larger token and goes after the restored ones. */
	ASSERT_RC(ferry_publish(c, "store/q", "fresh", 5, 2, false, NULL, &tok[NQ]), FERRY_OK);
	CU_ASSERT(tok[NQ] > tok[NQ - 1]);

	ferry_client *s = subscriber(sub, uri, "store-q-sub", "store/q");
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&sub->r, NQ + 1, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(first_wrong(&sub->r, "store/q", "q", NQ), NQ);
	CU_ASSERT_TRUE(msg_is(&sub->r, NQ, "store/q", "fresh"));
	CU_ASSERT_TRUE(delivered_exactly(b, tok, NQ + 1));
	CU_ASSERT_EQUAL(STAT(c, restored), NQ);
	CU_ASSERT_EQUAL(itest_nmsgs(&sub->r), NQ + 1);

	disconnect(c);
	ferry_client_destroy(c);
	ferry_client_destroy(s);
	assert_nothing_stored(td.path, "store-q");
	srec_free(a);
	srec_free(b);
	srec_free(sub);
	tdir_remove(&td);
}

/* ---- 2, 3. in-flight messages restored ----------------------------------- */

static void test_inflight_restored_session_present(void)
{
	struct tdir td;
	tdir_make(&td);
	ferry_token t[2] = {0};
	uint16_t pid[2] = {0};
	run_unacked(td.path, "store-if", t, pid);
	run_resume_with_session(td.path, "store-if", t, pid);
	tdir_remove(&td);
}

/*
 * Without the session the two messages leave as new publishes (DUP 0); the
 * new ids are recorded (a third run, with the session, resends them with
 * those ids and completes them).
 */
static void test_inflight_restored_no_session(void)
{
	struct tdir td;
	tdir_make(&td);
	ferry_token t[2] = {0};
	uint16_t pid[2] = {0}, pid2[2] = {0};
	run_unacked(td.path, "store-ns", t, pid);

	char conn[96];
	connect_hex(conn, sizeof conn, "store-ns");
	const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = conn},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT, .type = 3},
		{.op = FAKE_EXPECT, .type = 3},
		{.op = FAKE_END},
	};
	struct test_fake *fb = fake_start(script);
	struct srec *s = srec_new();
	ferry_client *c = store_client(s, test_fake_uri(fb), "store-ns", td.path);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&s->r, &s->r.connected, 1, ITEST_WAIT_MS));
	CU_ASSERT_FALSE(s->r.session_present);
	assert_script_ok(fb);
	CU_ASSERT_TRUE(frame_publish(fb, 1, 0x32, "s/a", "A", &pid2[0]));
	CU_ASSERT_TRUE(frame_publish(fb, 2, 0x34, "s/b", "B", &pid2[1]));
	CU_ASSERT_EQUAL(s->r.delivered, 0);
	assert_listed_sent(c, t, pid2);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	srec_free(s);

	run_resume_with_session(td.path, "store-ns", t, pid2);
	tdir_remove(&td);
}

/* ---- 4. RELEASED restored ------------------------------------------------ */

/* First run: a QoS 2 publish gets PUBREC 1 and the client sends PUBREL 1; no PUBCOMP. */
static ferry_token run_released(const char *path, const char *id)
{
	static const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT, .type = 1},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "34 08 00 03 's/r' 00 01 'R'"},
		{.op = FAKE_SEND, .hex = "50 02 00 01"},
		{.op = FAKE_EXPECT_BYTES, .hex = "62 02 00 01"},
		{.op = FAKE_END},
	};
	struct test_fake *fb = fake_start(script);
	struct srec *s = srec_new();
	ferry_client *c = store_client(s, test_fake_uri(fb), id, path);
	ferry_token t = 0;
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "s/r", "R", 1, 2, false, NULL, &t), FERRY_OK);
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	srec_free(s);
	return t;
}

/* Runs the client again against script (CONNACK with or without session). */
static void run_after_released(const char *path, const char *id, ferry_token t,
                               const struct test_fake_step *script)
{
	struct test_fake *fb = fake_start(script);
	struct srec *s = srec_new();
	struct listed *l = calloc(1, sizeof *l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	ferry_client *c = store_client(s, test_fake_uri(fb), id, path);
	list_all(c, l);
	CU_ASSERT_EQUAL(l->n, 1);
	CU_ASSERT(l->n == 1 && l->e[0].token == t && l->e[0].state == FERRY_STORE_RELEASED &&
	          l->e[0].packet_id == 1 && l->e[0].qos == 2);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(delivered_exactly(s, &t, 1));
	disconnect(c);
	assert_script_ok(fb);
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	free(l);
	srec_free(s);
	assert_nothing_stored(path, id);
}

static void test_released_restored_session_present(void)
{
	struct tdir td;
	tdir_make(&td);
	ferry_token t = run_released(td.path, "store-rel");
	char conn[96];
	connect_hex(conn, sizeof conn, "store-rel");
	const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = conn},
		{.op = FAKE_SEND, .hex = "20 02 01 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "62 02 00 01"}, /* PUBREL again, not the PUBLISH */
		{.op = FAKE_SEND, .hex = "70 02 00 01"},
		{.op = FAKE_EXPECT_BYTES, .hex = "e0 00"},
		{.op = FAKE_END},
	};
	run_after_released(td.path, "store-rel", t, script);
	tdir_remove(&td);
}

/* Without the session, a RELEASED QoS 2 message is complete: nothing is sent for it. */
static void test_released_restored_no_session(void)
{
	struct tdir td;
	tdir_make(&td);
	ferry_token t = run_released(td.path, "store-reln");
	char conn[96];
	connect_hex(conn, sizeof conn, "store-reln");
	const struct test_fake_step script[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = conn},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_EXPECT_BYTES, .hex = "e0 00"},
		{.op = FAKE_END},
	};
	run_after_released(td.path, "store-reln", t, script);
	tdir_remove(&td);
}

/* ---- 5. inbound QoS 2 ids survive a restart ------------------------------ */

/* Runs a client on path against script; returns how many messages it got and their payloads. */
static size_t run_inbound(const char *path, const struct test_fake_step *script, size_t want,
                          char *payloads, size_t cap)
{
	struct test_fake *fb = fake_start(script);
	struct srec *s = srec_new();
	ferry_client *c = store_client(s, test_fake_uri(fb), "store-in", path);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	assert_script_ok(fb);
	CU_ASSERT_TRUE(itest_wait_msgs(&s->r, want, ITEST_WAIT_MS));
	ferry_client_destroy(c);
	test_fake_destroy(fb);
	size_t n = itest_nmsgs(&s->r), k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++)
		if (s->r.msgs[i].len == 1)
			payloads[k++] = (char)s->r.msgs[i].payload[0];
	payloads[k] = '\0';
	srec_free(s);
	return n;
}

static void test_inbound_qos2_ids_survive_restart(void)
{
	struct tdir td;
	tdir_make(&td);
	char conn[96], got[8];
	connect_hex(conn, sizeof conn, "store-in");
	const struct test_fake_step first[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = conn},
		{.op = FAKE_SEND, .hex = "20 02 00 00"},
		{.op = FAKE_SEND, .hex = "34 08 00 03 's/i' 00 07 'X'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "50 02 00 07"},
		{.op = FAKE_END},
	};
	CU_ASSERT_EQUAL(run_inbound(td.path, first, 1, got, sizeof got), 1);
	CU_ASSERT_STRING_EQUAL(got, "X");

	/* The broker resends X (DUP): acknowledged, not delivered again; Y (id 8) is new. */
	const struct test_fake_step second[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = conn},
		{.op = FAKE_SEND, .hex = "20 02 01 00"},
		{.op = FAKE_SEND, .hex = "3c 08 00 03 's/i' 00 07 'X'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "50 02 00 07"},
		{.op = FAKE_SEND, .hex = "62 02 00 07"},
		{.op = FAKE_EXPECT_BYTES, .hex = "70 02 00 07"},
		{.op = FAKE_SEND, .hex = "34 08 00 03 's/i' 00 08 'Y'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "50 02 00 08"},
		{.op = FAKE_SEND, .hex = "62 02 00 08"},
		{.op = FAKE_EXPECT_BYTES, .hex = "70 02 00 08"},
		{.op = FAKE_END},
	};
	CU_ASSERT_EQUAL(run_inbound(td.path, second, 1, got, sizeof got), 1);
	CU_ASSERT_STRING_EQUAL(got, "Y");

	/* PUBREL removed id 7 from the store: after another restart a new
	 * message with id 7 is delivered (a stale id would swallow it). */
	const struct test_fake_step third[] = {
		{.op = FAKE_ACCEPT},
		{.op = FAKE_EXPECT_BYTES, .hex = conn},
		{.op = FAKE_SEND, .hex = "20 02 01 00"},
		{.op = FAKE_SEND, .hex = "34 08 00 03 's/i' 00 07 'Z'"},
		{.op = FAKE_EXPECT_BYTES, .hex = "50 02 00 07"},
		{.op = FAKE_SEND, .hex = "62 02 00 07"},
		{.op = FAKE_EXPECT_BYTES, .hex = "70 02 00 07"},
		{.op = FAKE_END},
	};
	CU_ASSERT_EQUAL(run_inbound(td.path, third, 1, got, sizeof got), 1);
	CU_ASSERT_STRING_EQUAL(got, "Z");
	tdir_remove(&td);
}

/* ---- 6. subscriptions persist -------------------------------------------- */

static void test_subscriptions_persist(void)
{
	struct tdir td;
	tdir_make(&td);
	struct srec *a = srec_new(), *b = srec_new(), *pr = srec_new();
	ferry_client *c = store_client(a, uri, "store-sub", td.path);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(itest_subscribe(c, "store/sub/#", 1), FERRY_OK);
	disconnect(c);
	ferry_client_destroy(c);

	/* A fresh broker has no session for the client: it must subscribe by itself. */
	struct test_broker fresh;
	int rc = test_broker_start(&fresh, NULL);
	if (rc)
		fprintf(stderr, "\n    broker: %s\n", test_broker_error(&fresh));
	CU_ASSERT_EQUAL_FATAL(rc, FERRY_OK);
	const char *furi = test_broker_uri(&fresh);
	ferry_client *pub = itest_connect(&pr->r, furi, "store-sub-pub", FERRY_MQTT_3_1_1, true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	ferry_token t = 0;
	ASSERT_RC(ferry_publish(pub, "store/sub/x", "kept", 4, 1, true, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(pub, t, ITEST_WAIT_MS), FERRY_OK);

	c = store_client(b, furi, "store-sub", td.path);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&b->r, &b->r.connected, 1, ITEST_WAIT_MS));
	CU_ASSERT_FALSE(b->r.session_present);
	long i = itest_wait_topic(&b->r, "store/sub/x", ITEST_WAIT_MS); /* the retained one */
	CU_ASSERT(i >= 0 && msg_is(&b->r, (size_t)i, "store/sub/x", "kept"));
	ASSERT_RC(ferry_publish(pub, "store/sub/y", "live", 4, 1, false, NULL, &t), FERRY_OK);
	i = itest_wait_topic(&b->r, "store/sub/y", ITEST_WAIT_MS);
	CU_ASSERT(i >= 0 && msg_is(&b->r, (size_t)i, "store/sub/y", "live"));
	ferry_client_destroy(c);
	ferry_client_destroy(pub);
	test_broker_cleanup(&fresh);
	srec_free(a);
	srec_free(b);
	srec_free(pr);
	tdir_remove(&td);
}

/* ---- 7. damaged files at create ------------------------------------------ */

static int create_on(const char *path, const char *id)
{
	struct srec *s = srec_new();
	struct ferry_client_options o;
	store_options(&o, s, uri, id, path);
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	CU_ASSERT_EQUAL(rc == FERRY_OK, c != NULL);
	ferry_client_destroy(c);
	srec_free(s);
	return rc;
}

/* A store file with n queued QoS 1 messages of `size` bytes for client id. */
static void make_store(const char *path, const char *id, int n, size_t size)
{
	struct srec *s = srec_new();
	char *p = calloc(1, size + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	ferry_client *c = store_client(s, uri, id, path);
	for (int i = 0; i < n; i++) {
		memset(p, 'a' + i % 26, size);
		ASSERT_RC(ferry_publish(c, "store/x", p, size, 1, false, NULL, NULL), FERRY_OK);
	}
	ferry_client_destroy(c);
	free(p);
	srec_free(s);
}

static void test_damaged_files_refused(void)
{
	struct tdir td;
	tdir_make(&td);
	char out[256];

	/* Random bytes. */
	FILE *f = fopen(td.path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	uint32_t x = 12345;
	for (int i = 0; i < 8192; i++) {
		x = x * 1103515245u + 12345u;
		fputc((int)(x >> 24), f);
	}
	fclose(f);
	ASSERT_RC(create_on(td.path, "store-bad-file"), FERRY_ERR_STORE_CORRUPT);
	unlink(td.path);

	/* A SQLite database that is not a ferry store: refused and left alone. */
	if (sql_shell(td.path, "CREATE TABLE other(x); INSERT INTO other VALUES (1);", out,
	              sizeof out)) {
		ASSERT_RC(create_on(td.path, "store-bad-file"), FERRY_ERR_STORE_CORRUPT);
		const char *q = "SELECT count(*) FROM sqlite_master;";
		CU_ASSERT(sql_shell(td.path, q, out, sizeof out) && strcmp(out, "1") == 0);
	}
	unlink(td.path);

	/* A real store truncated to half its size. */
	make_store(td.path, "store-trunc", 300, 200);
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(td.path, &st), 0);
	CU_ASSERT(st.st_size >= 8 * 4096); /* the messages are in the file, not only in a WAL */
	CU_ASSERT_EQUAL(truncate(td.path, st.st_size / 2), 0);
	int rc = create_on(td.path, "store-trunc");
	if (rc != FERRY_ERR_STORE_CORRUPT)
		ASSERT_RC(rc, FERRY_ERR_STORE_IO);
	tdir_remove(&td);

	/* A schema newer than this ferry: refused, and the file is left as it was. */
	tdir_make(&td);
	make_store(td.path, "store-ver", 1, 4);
	if (sql_shell(td.path, "UPDATE meta SET value = 99 WHERE key = 'schema_version';", out,
	              sizeof out)) {
		ASSERT_RC(create_on(td.path, "store-ver"), FERRY_ERR_STORE_VERSION);
		struct ferry_store *s = NULL;
		struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
		so.path = td.path;
		ASSERT_RC(ferry_store_sqlite_new(&so, &s), FERRY_ERR_STORE_VERSION);
		CU_ASSERT_PTR_NULL(s);
		CU_ASSERT(sql_shell(td.path, "SELECT value FROM meta WHERE key = 'schema_version';",
		                    out, sizeof out) &&
		          strcmp(out, "99") == 0);
		CU_ASSERT(sql_shell(td.path, "SELECT count(*) FROM messages;", out, sizeof out) &&
		          strcmp(out, "1") == 0);
	}
	tdir_remove(&td);
}

/* A store of the test's own that counts open and close and can fail open. */
struct wrap {
	struct ferry_store *inner;
	int open_rc;
	int opens, closes;
};

#define INNER(impl) (((struct wrap *)(impl))->inner)
static int w_open(void *impl, const char *id, uint64_t *max)
{
	struct wrap *w = impl;
	w->opens++;
	return w->open_rc ? w->open_rc : w->inner->ops->open(w->inner->impl, id, max);
}
static int w_put(void *impl, const struct ferry_stored_msg *m, size_t n)
{
	return INNER(impl)->ops->put(INNER(impl)->impl, m, n);
}
static int w_update(void *impl, const struct ferry_store_change *ch, size_t n)
{
	return INNER(impl)->ops->update(INNER(impl)->impl, ch, n);
}
static int w_scan(void *impl, uint64_t after, size_t max, int which,
                  int (*fn)(void *, const struct ferry_stored_msg *), void *arg)
{
	return INNER(impl)->ops->scan(INNER(impl)->impl, after, max, which, fn, arg);
}
static int w_count(void *impl, size_t *msgs, size_t *bytes)
{
	return INNER(impl)->ops->count(INNER(impl)->impl, msgs, bytes);
}
static int w_q2_add(void *impl, uint16_t id)
{
	return INNER(impl)->ops->qos2_add(INNER(impl)->impl, id);
}
static int w_q2_remove(void *impl, uint16_t id)
{
	return INNER(impl)->ops->qos2_remove(INNER(impl)->impl, id);
}
static int w_q2_list(void *impl, int (*fn)(void *, uint16_t), void *arg)
{
	return INNER(impl)->ops->qos2_list(INNER(impl)->impl, fn, arg);
}
static int w_sub_put(void *impl, const char *filter, uint8_t options)
{
	return INNER(impl)->ops->sub_put(INNER(impl)->impl, filter, options);
}
static int w_sub_remove(void *impl, const char *filter)
{
	return INNER(impl)->ops->sub_remove(INNER(impl)->impl, filter);
}
static int w_sub_list(void *impl, int (*fn)(void *, const char *, uint8_t), void *arg)
{
	return INNER(impl)->ops->sub_list(INNER(impl)->impl, fn, arg);
}
static int w_quarantined(void *impl, size_t *rows)
{
	return INNER(impl)->ops->quarantined(INNER(impl)->impl, rows);
}
static void w_close(void *impl)
{
	struct wrap *w = impl;
	w->closes++;
	ferry_store_free(w->inner);
	w->inner = NULL;
}

static const struct ferry_store_ops wrap_ops = {
	.struct_size = sizeof(struct ferry_store_ops),
	.open = w_open, .put = w_put, .update = w_update, .scan = w_scan, .count = w_count,
	.qos2_add = w_q2_add, .qos2_remove = w_q2_remove, .qos2_list = w_q2_list,
	.sub_put = w_sub_put, .sub_remove = w_sub_remove, .sub_list = w_sub_list,
	.quarantined = w_quarantined, .close = w_close,
};

static struct ferry_store *wrap_new(struct wrap *w, int open_rc)
{
	memset(w, 0, sizeof *w);
	w->open_rc = open_rc;
	ASSERT_RC(ferry_store_memory_new(&w->inner), FERRY_OK);
	struct ferry_store *s = malloc(sizeof *s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	s->ops = &wrap_ops;
	s->impl = w;
	return s;
}

/* Try create with store (and options changed by bad); returns its rc. */
static int create_with_store(struct ferry_store *store, int version, const char *path)
{
	struct srec *r = srec_new();
	struct ferry_client_options o;
	store_options(&o, r, uri, "store-own", path);
	o.store = store;
	o.mqtt_version = version;
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	ferry_client_destroy(c);
	srec_free(r);
	return rc;
}

static void test_store_ownership_on_failed_create(void)
{
	struct wrap w;
	/* The store's open fails: create fails with that error, the caller keeps the store. */
	struct ferry_store *s = wrap_new(&w, FERRY_ERR_STORE_IO);
	ASSERT_RC(create_with_store(s, FERRY_MQTT_3_1_1, NULL), FERRY_ERR_STORE_IO);
	CU_ASSERT_EQUAL(w.closes, 0);
	ferry_store_free(s);
	CU_ASSERT_EQUAL(w.closes, 1);

	/* A bad option: same. */
	s = wrap_new(&w, FERRY_OK);
	ASSERT_RC(create_with_store(s, 9, NULL), FERRY_ERR_INVAL);
	CU_ASSERT_EQUAL(w.closes, 0);
	ferry_store_free(s);
	CU_ASSERT_EQUAL(w.closes, 1);

	/* A SQLite store, after a failed create, is still the caller's to free. */
	struct tdir td;
	tdir_make(&td);
	struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
	so.path = td.path;
	ASSERT_RC(ferry_store_sqlite_new(&so, &s), FERRY_OK);
	ASSERT_RC(create_with_store(s, 9, NULL), FERRY_ERR_INVAL);
	ferry_store_free(s);
	tdir_remove(&td);

	/* Success: the client owns it and closes it once at destroy. */
	s = wrap_new(&w, FERRY_OK);
	ASSERT_RC(create_with_store(s, FERRY_MQTT_3_1_1, NULL), FERRY_OK);
	CU_ASSERT_EQUAL(w.opens, 1);
	CU_ASSERT_EQUAL(w.closes, 1);
}

/* ---- 8. one damaged row is set aside ------------------------------------- */

static void test_damaged_row_quarantined(void)
{
	struct tdir td;
	tdir_make(&td);
	struct srec *a = srec_new(), *b = srec_new(), *sub = srec_new();
	ferry_token t[6];
	char p[32], sql[256], out[256];
	ferry_client *c = store_client(a, uri, "store-row", td.path);
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof p, "r%d", i);
		ASSERT_RC(ferry_publish(c, "store/row", p, 2, 1, false, NULL, &t[i]), FERRY_OK);
	}
	ferry_client_destroy(c);
	snprintf(sql, sizeof sql,
	         "UPDATE messages SET payload = X'626164'"
	         " WHERE client = 'store-row' AND token = %llu;"
	         "SELECT changes();",
	         (unsigned long long)t[2]);
	CU_ASSERT_FATAL(sql_shell(td.path, sql, out, sizeof out));
	CU_ASSERT_STRING_EQUAL(out, "1");

	ferry_client *s = subscriber(sub, uri, "store-row-sub", "store/row");
	c = store_client(b, uri, "store-row", td.path);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "store/row", "end", 3, 1, false, NULL, &t[5]), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&sub->r, 5, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(msg_is(&sub->r, 0, "store/row", "r0"));
	CU_ASSERT_TRUE(msg_is(&sub->r, 1, "store/row", "r1"));
	CU_ASSERT_TRUE(msg_is(&sub->r, 2, "store/row", "r3"));
	CU_ASSERT_TRUE(msg_is(&sub->r, 3, "store/row", "r4"));
	CU_ASSERT_TRUE(msg_is(&sub->r, 4, "store/row", "end"));
	const ferry_token good[] = {t[0], t[1], t[3], t[4], t[5]};
	CU_ASSERT_TRUE(delivered_exactly(b, good, 5));
	CU_ASSERT_EQUAL(STAT(c, store_quarantined), 1);
	disconnect(c);
	ferry_client_destroy(c);
	ferry_client_destroy(s);

	snprintf(sql, sizeof sql,
	         "SELECT count(*) FROM quarantine WHERE client = 'store-row' AND token = %llu;",
	         (unsigned long long)t[2]);
	CU_ASSERT(sql_shell(td.path, sql, out, sizeof out) && strcmp(out, "1") == 0);
	CU_ASSERT(sql_shell(td.path, "SELECT count(*) FROM messages;", out, sizeof out) &&
	          strcmp(out, "0") == 0);
	srec_free(a);
	srec_free(b);
	srec_free(sub);
	tdir_remove(&td);
}

/* ---- 9. a full disk loses nothing ---------------------------------------- */

#define FULL_PAD 300

/* Payload i of the full-store test: "NNNN" then FULL_PAD bytes of 'f'. */
static const char *full_payload(char *buf, size_t i)
{
	snprintf(buf, 16, "%04zu", i % 10000);
	memset(buf + 4, 'f', FULL_PAD);
	buf[4 + FULL_PAD] = '\0';
	return buf;
}

/* Publishes QoS 1 until the store is full; the tokens of those accepted go to tok. */
static size_t fill_until_full(ferry_client *c, ferry_token *tok)
{
	char p[FULL_PAD + 16];
	size_t n = 0;
	int rc = FERRY_OK;
	while (n < TOK_MAX - 1 && rc == FERRY_OK) {
		full_payload(p, n);
		rc = ferry_publish(c, "store/full", p, strlen(p), 1, false, NULL, &tok[n]);
		if (!rc)
			n++;
	}
	ASSERT_RC(rc, FERRY_ERR_STORE_FULL);
	ASSERT_RC(ferry_publish(c, "store/full", p, strlen(p), 1, false, NULL, NULL),
	          FERRY_ERR_STORE_FULL);
	return n;
}

/* Whether exactly the tokens tok[0..n) are listed, in that order. */
static bool listed_tokens(ferry_client *c, const ferry_token *tok, size_t n)
{
	struct listed *l = calloc(1, sizeof *l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	list_all(c, l);
	bool ok = l->n == n;
	for (size_t i = 0; ok && i < n; i++)
		ok = l->e[i].token == tok[i];
	free(l);
	return ok;
}

static void test_store_full(void)
{
	struct tdir td;
	tdir_make(&td);
	struct srec *b = srec_new(), *sub = srec_new();
	ferry_token *tok = calloc(TOK_MAX, sizeof *tok);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
	so.path = td.path;
	so.max_pages = 40;
	struct ferry_store *store = NULL;
	ASSERT_RC(ferry_store_sqlite_new(&so, &store), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(store);
	struct ferry_client_options o;
	store_options(&o, b, uri, "store-full", NULL);
	o.store = store;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	size_t n = fill_until_full(c, tok);
	CU_ASSERT(n >= 10);
	CU_ASSERT_TRUE(listed_tokens(c, tok, n)); /* nothing stored before was lost */

	ferry_client *s = subscriber(sub, uri, "store-full-sub", "store/full");
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&sub->r, n, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(delivered_exactly(b, tok, n));
	char p[FULL_PAD + 16];
	size_t wrong = n;
	for (size_t i = 0; i < n && wrong == n; i++)
		if (!msg_is(&sub->r, i, "store/full", full_payload(p, i)))
			wrong = i;
	CU_ASSERT_EQUAL(wrong, n);

	/* The acknowledged rows freed their space: publishing works again. */
	ferry_token t = 0;
	ASSERT_RC(ferry_publish(c, "store/full", "again", 5, 1, false, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&sub->r, n + 1, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(msg_is(&sub->r, n, "store/full", "again"));
	disconnect(c);
	ferry_client_destroy(c);
	ferry_client_destroy(s);
	assert_nothing_stored(td.path, "store-full");
	free(tok);
	srec_free(b);
	srec_free(sub);
	tdir_remove(&td);
}

/* ---- 10. ferry_publish_many ---------------------------------------------- */

#define NMANY 100

static void test_publish_many(void)
{
	struct tdir td;
	tdir_make(&td);
	struct srec *b = srec_new(), *sub = srec_new();
	struct ferry_publish_msg m[NMANY];
	char pay[NMANY][16];
	ferry_token tok[NMANY + 1] = {0};
	for (int i = 0; i < NMANY; i++) {
		snprintf(pay[i], sizeof pay[i], "n%03d", i);
		m[i] = (struct ferry_publish_msg){"store/many", pay[i], strlen(pay[i]),
		                                  i < NMANY / 2 ? 1 : 2, false};
	}
	ferry_client *c = store_client(b, uri, "store-many", td.path);
	ASSERT_RC(ferry_publish_many(c, m, NMANY, NULL, tok), FERRY_OK);
	int increasing = 1;
	for (int i = 1; i < NMANY; i++)
		increasing &= tok[i] > tok[i - 1];
	CU_ASSERT_TRUE(increasing && tok[0] > 0);
	CU_ASSERT_TRUE(listed_tokens(c, tok, NMANY));

	/* One invalid topic: the whole batch is refused, nothing stored. */
	const struct ferry_publish_msg badbatch[] = {
		{"store/many", "x1", 2, 1, false},
		{"store/#", "x2", 2, 1, false},
		{"store/many", "x3", 2, 2, false},
	};
	ferry_token bt[3] = {0};
	ASSERT_RC(ferry_publish_many(c, badbatch, 3, NULL, bt), FERRY_ERR_TOPIC_NAME);
	CU_ASSERT_EQUAL(list_count(c), NMANY);

	ferry_client *s = subscriber(sub, uri, "store-many-sub", "store/many");
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "store/many", "end", 3, 2, false, NULL, &tok[NMANY]), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_msgs(&sub->r, NMANY + 1, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(first_wrong(&sub->r, "store/many", "n", NMANY), NMANY);
	CU_ASSERT_TRUE(msg_is(&sub->r, NMANY, "store/many", "end")); /* no x1, x3 */
	CU_ASSERT_TRUE(delivered_exactly(b, tok, NMANY + 1));
	disconnect(c);
	ferry_client_destroy(c);
	ferry_client_destroy(s);
	assert_nothing_stored(td.path, "store-many");
	srec_free(b);
	srec_free(sub);
	tdir_remove(&td);
}

/* ---- 11. argument checks ------------------------------------------------- */

static void test_argument_checks(void)
{
	struct tdir td;
	tdir_make(&td);
	struct listed *l = calloc(1, sizeof *l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	ASSERT_RC(ferry_stored_list(NULL, list_cb, l), FERRY_ERR_INVAL);

	/* store and store_path both set; the store stays the caller's. */
	struct wrap w;
	struct ferry_store *s = wrap_new(&w, FERRY_OK);
	ASSERT_RC(create_with_store(s, FERRY_MQTT_3_1_1, td.path), FERRY_ERR_INVAL);
	CU_ASSERT_EQUAL(w.closes, 0);
	ferry_store_free(s);
	CU_ASSERT_EQUAL(w.closes, 1);

	/* store_sync outside the enum. */
	struct srec *r = srec_new();
	struct ferry_client_options o;
	store_options(&o, r, uri, "store-args", td.path);
	ferry_client *c = NULL;
	const int bad_sync[] = {2, -1, 100};
	for (size_t i = 0; i < 3; i++) {
		o.store_sync = bad_sync[i];
		ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_INVAL);
		ferry_client_destroy(c);
		c = NULL;
	}

	/* FULL is accepted, and a NULL fn is refused. */
	o.store_sync = FERRY_SYNC_FULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(ferry_stored_list(c, NULL, l), FERRY_ERR_INVAL);
	ferry_client_destroy(c);

	/* Without a store nothing is stored: the listing is empty, not an error. */
	o.store_path = NULL;
	o.store_sync = FERRY_SYNC_NORMAL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(ferry_publish(c, "store/args", "x", 1, 1, false, NULL, NULL), FERRY_OK);
	l->n = 0;
	ASSERT_RC(ferry_stored_list(c, list_cb, l), FERRY_OK);
	CU_ASSERT_EQUAL(l->n, 0);
	ferry_client_destroy(c);
	srec_free(r);
	free(l);
	tdir_remove(&td);
}

void register_store_suite(void)
{
	CU_pSuite s = CU_add_suite("store", suite_init, suite_clean);
	if (!s)
		abort();
	test_add(s, "offline queue survives a restart", test_offline_queue_survives_restart);
	test_add(s, "in-flight restored, session present", test_inflight_restored_session_present);
	test_add(s, "in-flight restored, no session", test_inflight_restored_no_session);
	test_add(s, "RELEASED restored, session present", test_released_restored_session_present);
	test_add(s, "RELEASED restored, no session", test_released_restored_no_session);
	test_add(s, "inbound QoS 2 ids survive a restart", test_inbound_qos2_ids_survive_restart);
	test_add(s, "subscriptions persist", test_subscriptions_persist);
	test_add(s, "damaged files refused", test_damaged_files_refused);
	test_add(s, "store ownership on failed create", test_store_ownership_on_failed_create);
	test_add(s, "damaged row quarantined", test_damaged_row_quarantined);
	test_add(s, "full store loses nothing", test_store_full);
	test_add(s, "publish_many", test_publish_many);
	test_add(s, "argument checks", test_argument_checks);
}

/*
 * test_store.c - the stores (ferry/store.h): one table of behaviour tests
 * run against both the memory and the SQLite store (on a temporary file),
 * then SQLite-only tests of durability, corruption, versions, a full disk
 * and group commit.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <ferry/store.h>

#include "store_sqlite.h"
#include "suites.h"
#include "util.h"

enum kind { MEMORY, SQLITE };

/* A store under test and, for SQLite, its file. */
struct env {
	enum kind kind;
	char path[64];
	struct ferry_store *s;
	uint64_t max_token; /* as reported by the last open */
};

/* One change through the batch interface. */
static int set_state(struct ferry_store *s, uint64_t token, uint8_t state, uint16_t id)
{
	struct ferry_store_change ch = {.token = token, .state = state, .packet_id = id};
	return s->ops->update(s->impl, &ch, 1, 0);
}

static int remove_msg(struct ferry_store *s, uint64_t token)
{
	struct ferry_store_change ch = {.token = token, .state = FERRY_STORE_ACKED};
	return s->ops->update(s->impl, &ch, 1, 0);
}

static int env_open(struct env *e, const char *client)
{
	if (e->kind == MEMORY) {
		if (!e->s) {
			int rc = ferry_store_memory_new(&e->s);
			if (rc)
				return rc;
		}
	} else {
		struct ferry_store_sqlite_options o = FERRY_STORE_SQLITE_OPTIONS_INIT;
		o.path = e->path;
		int rc = ferry_store_sqlite_new(&o, &e->s);
		if (rc)
			return rc;
	}
	return e->s->ops->open(e->s->impl, client, &e->max_token);
}

static void temp_path(char *path, size_t cap)
{
	snprintf(path, cap, "/tmp/ferry-store-XXXXXX");
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
}

static void remove_db(const char *path)
{
	char p[128];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static void env_init(struct env *e, enum kind kind)
{
	memset(e, 0, sizeof *e);
	e->kind = kind;
	if (kind == SQLITE)
		temp_path(e->path, sizeof e->path);
	ASSERT_RC(env_open(e, "client-a"), FERRY_OK);
	CU_ASSERT_FATAL(e->s != NULL);
	CU_ASSERT_EQUAL(e->max_token, 0);
}

/* Closes and reopens (SQLite: a new connection on the same file; memory:
 * open again on the same object, which is all a memory store can keep). */
static void env_reopen(struct env *e, const char *client)
{
	if (e->kind == SQLITE) {
		ferry_store_free(e->s);
		e->s = NULL;
	}
	ASSERT_RC(env_open(e, client), FERRY_OK);
}

static void env_done(struct env *e)
{
	ferry_store_free(e->s);
	e->s = NULL;
	if (e->kind == SQLITE)
		remove_db(e->path);
}

/* A message whose topic and payload derive from its token. */
struct msg_buf {
	char topic[32];
	char payload[64];
	struct ferry_stored_msg m;
};

static void make_msg(struct msg_buf *b, uint64_t token, size_t payload_len)
{
	memset(b, 0, sizeof *b);
	snprintf(b->topic, sizeof b->topic, "t/%llu", (unsigned long long)token);
	for (size_t i = 0; i < payload_len && i < sizeof b->payload; i++)
		b->payload[i] = (char)('a' + (token + i) % 26);
	b->m.token = token;
	b->m.qos = (uint8_t)(1 + token % 2);
	b->m.retain = token % 3 == 0;
	b->m.state = FERRY_STORE_QUEUED;
	b->m.topic = b->topic;
	b->m.topic_len = strlen(b->topic);
	b->m.payload = b->payload;
	b->m.payload_len = payload_len < sizeof b->payload ? payload_len : sizeof b->payload;
}

static int put_one(struct ferry_store *s, uint64_t token, size_t payload_len)
{
	struct msg_buf b;
	make_msg(&b, token, payload_len);
	return s->ops->put(s->impl, &b.m, 1);
}

/* What scan delivered, copied out (views die with the callback). */
struct seen {
	size_t n;
	uint64_t tokens[64];
	uint8_t state[64];
	uint16_t pid[64];
	int bad_views; /* views that did not match the message made from the token */
	int stop_after;
};

static int collect(void *arg, const struct ferry_stored_msg *m)
{
	struct seen *w = arg;
	if (w->n < 64) {
		w->tokens[w->n] = m->token;
		w->state[w->n] = m->state;
		w->pid[w->n] = m->packet_id;
	}
	w->n++;
	struct msg_buf b;
	make_msg(&b, m->token, m->payload_len);
	if (m->topic_len != b.m.topic_len || memcmp(m->topic, b.topic, m->topic_len) ||
	    memcmp(m->payload, b.payload, m->payload_len) || m->qos != b.m.qos ||
	    m->retain != b.m.retain || m->props_len != 0)
		w->bad_views++;
	return w->stop_after && (int)w->n == w->stop_after ? 77 : 0;
}

static struct seen scan_all(struct ferry_store *s, uint64_t after, size_t max)
{
	struct seen w = {0};
	ASSERT_RC(s->ops->scan(s->impl, after, max, FERRY_SCAN_ALL, collect, &w), FERRY_OK);
	return w;
}

static void put_scan_order(struct env *e)
{
	struct msg_buf b[5];
	uint64_t tokens[5] = {5, 6, 7, 1, 2};
	for (int i = 0; i < 5; i++)
		make_msg(&b[i], tokens[i], (size_t)i * 10);
	struct ferry_stored_msg batch[3] = {b[0].m, b[1].m, b[2].m};
	ASSERT_RC(e->s->ops->put(e->s->impl, batch, 3), FERRY_OK);
	batch[0] = b[3].m;
	batch[1] = b[4].m;
	ASSERT_RC(e->s->ops->put(e->s->impl, batch, 2), FERRY_OK);
	struct seen w = scan_all(e->s, 0, 100);
	uint64_t want[] = {1, 2, 5, 6, 7};
	CU_ASSERT_EQUAL_FATAL(w.n, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(w.tokens[i], want[i]);
	CU_ASSERT_EQUAL(w.bad_views, 0);
	w = scan_all(e->s, 2, 2); /* after 2, at most 2 */
	CU_ASSERT_EQUAL(w.n, 2);
	CU_ASSERT_EQUAL(w.tokens[0], 5);
	CU_ASSERT_EQUAL(w.tokens[1], 6);
	CU_ASSERT_EQUAL(scan_all(e->s, 7, 100).n, 0);
	struct seen stop = {.stop_after = 2};
	ASSERT_RC(e->s->ops->scan(e->s->impl, 0, 100, FERRY_SCAN_ALL, collect, &stop), 77);
	CU_ASSERT_EQUAL(stop.n, 2);
}

struct view_check {
	int calls, ok;
};

static int check_view(void *arg, const struct ferry_stored_msg *m)
{
	struct view_check *v = arg;
	static const uint8_t props[] = {0x01, 0x01, 0x23, 0x00, 0x02};
	v->calls++;
	if (m->token == 9 && m->qos == 2 && m->retain && m->topic_len == 3 &&
	    !memcmp(m->topic, "a/b", 3) && m->payload_len == 0 && m->props_len == sizeof props &&
	    !memcmp(m->props, props, sizeof props) && m->state == FERRY_STORE_QUEUED)
		v->ok++;
	if (m->token == 10 && m->payload_len == 3000 && m->props_len == 0 &&
	    ((const uint8_t *)m->payload)[0] == 0 && ((const uint8_t *)m->payload)[2999] == 0xbb)
		v->ok++;
	return 0;
}

static void views_are_copies(struct env *e)
{
	uint8_t props[] = {0x01, 0x01, 0x23, 0x00, 0x02};
	char topic[] = "a/b";
	static uint8_t big[3000];
	memset(big, 0, sizeof big);
	big[2999] = 0xbb;
	struct ferry_stored_msg m[2] = {
	    {.token = 9,
	     .qos = 2,
	     .retain = true,
	     .topic = topic,
	     .topic_len = 3,
	     .props = props,
	     .props_len = sizeof props},
	    {.token = 10,
	     .qos = 1,
	     .topic = topic,
	     .topic_len = 3,
	     .payload = big,
	     .payload_len = sizeof big},
	};
	ASSERT_RC(e->s->ops->put(e->s->impl, m, 2), FERRY_OK);
	/* The caller's buffers change after put: the store kept its own copy. */
	memset(props, 0xff, sizeof props);
	topic[0] = 'z';
	memset(big, 0xcc, sizeof big);
	struct view_check v = {0};
	ASSERT_RC(e->s->ops->scan(e->s->impl, 0, 10, FERRY_SCAN_ALL, check_view, &v), FERRY_OK);
	CU_ASSERT_EQUAL(v.calls, 2);
	CU_ASSERT_EQUAL(v.ok, 2);
}

static void set_state_and_remove(struct env *e)
{
	for (uint64_t t = 1; t <= 4; t++)
		ASSERT_RC(put_one(e->s, t, 5), FERRY_OK);
	ASSERT_RC(set_state(e->s, 2, FERRY_STORE_SENT, 42), FERRY_OK);
	ASSERT_RC(set_state(e->s, 3, FERRY_STORE_RELEASED, 65535), FERRY_OK);
	ASSERT_RC(set_state(e->s, 99, FERRY_STORE_SENT, 1), FERRY_OK); /* unknown: skipped */
	ASSERT_RC(set_state(e->s, 2, 4, 1), FERRY_ERR_INVAL);
	ASSERT_RC(set_state(e->s, 2, FERRY_STORE_SENT, 0), FERRY_ERR_INVAL); /* sent needs an id */
	ASSERT_RC(remove_msg(e->s, 1), FERRY_OK);
	ASSERT_RC(remove_msg(e->s, 1), FERRY_OK); /* unknown: fine */
	ASSERT_RC(remove_msg(e->s, 1000), FERRY_OK);
	struct seen w = scan_all(e->s, 0, 10);
	CU_ASSERT_EQUAL_FATAL(w.n, 3);
	CU_ASSERT_EQUAL(w.tokens[0], 2);
	CU_ASSERT_EQUAL(w.state[0], FERRY_STORE_SENT);
	CU_ASSERT_EQUAL(w.pid[0], 42);
	CU_ASSERT_EQUAL(w.state[1], FERRY_STORE_RELEASED);
	CU_ASSERT_EQUAL(w.pid[1], 65535);
	CU_ASSERT_EQUAL(w.state[2], FERRY_STORE_QUEUED);
	CU_ASSERT_EQUAL(w.pid[2], 0);
	CU_ASSERT_EQUAL(w.bad_views, 0); /* set_state kept the checksum right */
}

static struct seen scan_kind(struct ferry_store *s, uint64_t after, size_t max, int which)
{
	struct seen w = {0};
	ASSERT_RC(s->ops->scan(s->impl, after, max, which, collect, &w), FERRY_OK);
	return w;
}

/* A batch of changes applies in order and at once; scans pick by state. */
static void update_batch_and_scan_kinds(struct env *e)
{
	for (uint64_t t = 1; t <= 8; t++)
		ASSERT_RC(put_one(e->s, t, 3), FERRY_OK);
	struct ferry_store_change ch[] = {
	    {.token = 2, .state = FERRY_STORE_SENT, .packet_id = 11},
	    {.token = 5, .state = FERRY_STORE_SENT, .packet_id = 12},
	    {.token = 5, .state = FERRY_STORE_RELEASED, .packet_id = 12},
	    {.token = 7, .state = FERRY_STORE_SENT, .packet_id = 13},
	    {.token = 1, .state = FERRY_STORE_ACKED},
	    {.token = 77, .state = FERRY_STORE_SENT, .packet_id = 1}, /* not stored: skipped */
	};
	ASSERT_RC(e->s->ops->update(e->s->impl, ch, 6, FERRY_UPDATE_LAZY), FERRY_OK);
	struct seen in = scan_kind(e->s, 0, 10, FERRY_SCAN_INFLIGHT);
	CU_ASSERT_EQUAL_FATAL(in.n, 3);
	CU_ASSERT_EQUAL(in.tokens[0], 2);
	CU_ASSERT_EQUAL(in.tokens[1], 5);
	CU_ASSERT_EQUAL(in.state[1], FERRY_STORE_RELEASED);
	CU_ASSERT_EQUAL(in.pid[1], 12);
	CU_ASSERT_EQUAL(in.tokens[2], 7);
	struct seen q = scan_kind(e->s, 0, 10, FERRY_SCAN_QUEUED);
	CU_ASSERT_EQUAL_FATAL(q.n, 4);
	CU_ASSERT_EQUAL(q.tokens[0], 3);
	CU_ASSERT_EQUAL(q.tokens[1], 4);
	CU_ASSERT_EQUAL(q.tokens[2], 6);
	CU_ASSERT_EQUAL(q.tokens[3], 8);
	/* after and max apply to the kind picked */
	q = scan_kind(e->s, 4, 2, FERRY_SCAN_QUEUED);
	CU_ASSERT_EQUAL_FATAL(q.n, 2);
	CU_ASSERT_EQUAL(q.tokens[0], 6);
	CU_ASSERT_EQUAL(q.tokens[1], 8);
	CU_ASSERT_EQUAL(scan_all(e->s, 0, 10).n, 7);
	CU_ASSERT_EQUAL(in.bad_views + q.bad_views, 0);
	/* A bad change refuses the whole batch: nothing applied. */
	struct ferry_store_change bad[] = {
	    {.token = 3, .state = FERRY_STORE_ACKED},
	    {.token = 4, .state = 9},
	};
	ASSERT_RC(e->s->ops->update(e->s->impl, bad, 2, 0), FERRY_ERR_INVAL);
	ASSERT_RC(e->s->ops->update(e->s->impl, bad, 0, 0), FERRY_ERR_INVAL);
	ASSERT_RC(e->s->ops->scan(e->s->impl, 0, 10, 7, collect, &q), FERRY_ERR_INVAL);
	CU_ASSERT_EQUAL(scan_all(e->s, 0, 10).n, 7);
}

static void reopen_reports_max_token(struct env *e)
{
	for (uint64_t t = 1; t <= 10; t++)
		ASSERT_RC(put_one(e->s, t, (size_t)t), FERRY_OK);
	ASSERT_RC(set_state(e->s, 4, FERRY_STORE_SENT, 7), FERRY_OK);
	ASSERT_RC(remove_msg(e->s, 3), FERRY_OK);
	env_reopen(e, "client-a");
	CU_ASSERT_EQUAL(e->max_token, 10);
	struct seen w = scan_all(e->s, 0, 100);
	CU_ASSERT_EQUAL_FATAL(w.n, 9);
	CU_ASSERT_EQUAL(w.tokens[0], 1);
	CU_ASSERT_EQUAL(w.tokens[2], 4);
	CU_ASSERT_EQUAL(w.state[2], FERRY_STORE_SENT);
	CU_ASSERT_EQUAL(w.pid[2], 7);
	CU_ASSERT_EQUAL(w.tokens[8], 10);
	CU_ASSERT_EQUAL(w.bad_views, 0);
	/* Even with every message acknowledged, tokens are not reused. */
	for (uint64_t t = 1; t <= 10; t++)
		ASSERT_RC(remove_msg(e->s, t), FERRY_OK);
	env_reopen(e, "client-a");
	CU_ASSERT_EQUAL(e->max_token, 10);
	CU_ASSERT_EQUAL(scan_all(e->s, 0, 100).n, 0);
}

/* ids[0] counts; then per record: id, low 32 bits of the hash, released. */
static int collect_id(void *arg, uint16_t id, uint64_t hash, bool released)
{
	uint64_t *ids = arg;
	if (ids[0] < 5) {
		ids[1 + 3 * ids[0]] = id;
		ids[2 + 3 * ids[0]] = hash;
		ids[3 + 3 * ids[0]] = released;
	}
	ids[0]++;
	return 0;
}

static void qos2_ids(struct env *e)
{
	const struct ferry_store_ops *ops = e->s->ops;
	ASSERT_RC(ops->qos2_put(e->s->impl, 7, 0x77, false), FERRY_OK);
	ASSERT_RC(ops->qos2_put(e->s->impl, 65535, UINT64_MAX, false), FERRY_OK);
	ASSERT_RC(ops->qos2_put(e->s->impl, 3, 1, false), FERRY_OK);
	ASSERT_RC(ops->qos2_put(e->s->impl, 3, 0x33, true), FERRY_OK); /* replaced: one record */
	ASSERT_RC(ops->qos2_put(e->s->impl, 0, 1, false), FERRY_ERR_INVAL);
	ASSERT_RC(ops->qos2_put(e->s->impl, 9, 9, false), FERRY_OK);
	ASSERT_RC(ops->qos2_remove(e->s->impl, 9), FERRY_OK);
	ASSERT_RC(ops->qos2_remove(e->s->impl, 1234), FERRY_OK);
	env_reopen(e, "client-a");
	uint64_t ids[16] = {0};
	ASSERT_RC(e->s->ops->qos2_list(e->s->impl, collect_id, ids), FERRY_OK);
	CU_ASSERT_EQUAL_FATAL(ids[0], 3);
	CU_ASSERT_EQUAL(ids[1], 3);
	CU_ASSERT_EQUAL(ids[2], 0x33);
	CU_ASSERT_EQUAL(ids[3], 1);
	CU_ASSERT_EQUAL(ids[4], 7);
	CU_ASSERT_EQUAL(ids[5], 0x77);
	CU_ASSERT_EQUAL(ids[6], 0);
	CU_ASSERT_EQUAL(ids[7], 65535);
	CU_ASSERT_EQUAL(ids[8], UINT64_MAX); /* all 64 bits kept */
	CU_ASSERT_EQUAL(ids[9], 0);
}

static int collect_sub(void *arg, const char *filter, uint8_t options)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 128 - n, "%s=%u;", filter, options);
	return 0;
}

static void subscriptions(struct env *e)
{
	const struct ferry_store_ops *ops = e->s->ops;
	ASSERT_RC(ops->sub_put(e->s->impl, "a/b", 1), FERRY_OK);
	ASSERT_RC(ops->sub_put(e->s->impl, "a/#", 2), FERRY_OK);
	ASSERT_RC(ops->sub_put(e->s->impl, "z/+/x", 0x2a), FERRY_OK);
	ASSERT_RC(ops->sub_put(e->s->impl, "a/b", 0), FERRY_OK); /* replaces the options */
	ASSERT_RC(ops->sub_remove(e->s->impl, "z/+/x"), FERRY_OK);
	ASSERT_RC(ops->sub_remove(e->s->impl, "never"), FERRY_OK);
	ASSERT_RC(ops->sub_put(e->s->impl, NULL, 0), FERRY_ERR_INVAL);
	env_reopen(e, "client-a");
	char out[128] = "";
	ASSERT_RC(e->s->ops->sub_list(e->s->impl, collect_sub, out), FERRY_OK);
	CU_ASSERT_STRING_EQUAL(out, "a/#=2;a/b=0;");
}

static void count_msgs_and_bytes(struct env *e)
{
	size_t n = 99, bytes = 99;
	ASSERT_RC(e->s->ops->count(e->s->impl, &n, &bytes), FERRY_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(bytes, 0);
	ASSERT_RC(put_one(e->s, 1, 10), FERRY_OK);  /* "t/1" + 10 */
	ASSERT_RC(put_one(e->s, 12, 0), FERRY_OK);  /* "t/12" + 0 */
	ASSERT_RC(put_one(e->s, 13, 40), FERRY_OK); /* "t/13" + 40 */
	ASSERT_RC(e->s->ops->count(e->s->impl, &n, &bytes), FERRY_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(bytes, 3 + 10 + 4 + 4 + 40);
	ASSERT_RC(remove_msg(e->s, 13), FERRY_OK);
	ASSERT_RC(e->s->ops->count(e->s->impl, &n, &bytes), FERRY_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(bytes, 3 + 10 + 4);
}

static void bad_puts_store_nothing(struct env *e)
{
	ASSERT_RC(put_one(e->s, 1, 3), FERRY_OK);
	struct msg_buf a, b;
	make_msg(&a, 2, 3);
	make_msg(&b, 1, 3); /* token 1 is already stored */
	struct ferry_stored_msg batch[2] = {a.m, b.m};
	ASSERT_RC(e->s->ops->put(e->s->impl, batch, 2), FERRY_ERR_INVAL);
	batch[1] = a.m; /* the same token twice in one batch */
	ASSERT_RC(e->s->ops->put(e->s->impl, batch, 2), FERRY_ERR_INVAL);
	batch[1].token = 3;
	batch[1].qos = 0; /* QoS 0 is never stored */
	ASSERT_RC(e->s->ops->put(e->s->impl, batch, 2), FERRY_ERR_INVAL);
	ASSERT_RC(e->s->ops->put(e->s->impl, batch, 0), FERRY_ERR_INVAL);
	struct seen w = scan_all(e->s, 0, 10);
	CU_ASSERT_EQUAL(w.n, 1);
	CU_ASSERT_EQUAL(w.tokens[0], 1);
}

/* The table of tests every store must pass. */
static const struct {
	const char *name;
	void (*fn)(struct env *e);
} both[] = {
    {"put and scan in token order", put_scan_order},
    {"scan views are the store's copies", views_are_copies},
    {"set_state and remove", set_state_and_remove},
    {"update batch and scan kinds", update_batch_and_scan_kinds},
    {"reopen reports the highest token", reopen_reports_max_token},
    {"qos2 ids", qos2_ids},
    {"subscriptions", subscriptions},
    {"count of messages and bytes", count_msgs_and_bytes},
    {"a bad put stores nothing", bad_puts_store_nothing},
};
#define N_BOTH (sizeof both / sizeof both[0])

static void run_both(size_t i, enum kind kind)
{
	struct env e;
	env_init(&e, kind);
	both[i].fn(&e);
	env_done(&e);
}

/* CUnit tests take no arguments: one thin wrapper per (row, kind). */
#define ROW(i)                                                                                     \
	static void memory_##i(void)                                                               \
	{                                                                                          \
		run_both(i, MEMORY);                                                               \
	}                                                                                          \
	static void sqlite_##i(void)                                                               \
	{                                                                                          \
		run_both(i, SQLITE);                                                               \
	}
ROW(0)
ROW(1)
ROW(2)
ROW(3)
ROW(4)
ROW(5)
ROW(6)
ROW(7)
ROW(8)
static void (*const memory_fns[])(void) = {memory_0, memory_1, memory_2, memory_3, memory_4,
                                           memory_5, memory_6, memory_7, memory_8};
static void (*const sqlite_fns[])(void) = {sqlite_0, sqlite_1, sqlite_2, sqlite_3, sqlite_4,
                                           sqlite_5, sqlite_6, sqlite_7, sqlite_8};
_Static_assert(sizeof memory_fns / sizeof memory_fns[0] == N_BOTH, "one wrapper per row");

/* ---- SQLite only ---------------------------------------------------- */

static int sqlite_new(const char *path, uint32_t max_pages, struct ferry_store **s)
{
	struct ferry_store_sqlite_options o = FERRY_STORE_SQLITE_OPTIONS_INIT;
	o.path = path;
	o.max_pages = max_pages;
	return ferry_store_sqlite_new(&o, s);
}

/* Runs SQL on the file behind the store's back. */
static void side_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "side_exec: %s\n", err ? err : "?");
	CU_ASSERT_EQUAL(rc, SQLITE_OK);
	sqlite3_free(err);
	sqlite3_close(db);
}

static long long side_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_two_clients_one_file(void)
{
	char path[64];
	temp_path(path, sizeof path);
	struct ferry_store *a = NULL, *b = NULL;
	uint64_t max = 1;
	ASSERT_RC(sqlite_new(path, 0, &a), FERRY_OK);
	ASSERT_RC(sqlite_new(path, 0, &b), FERRY_OK);
	CU_ASSERT_FATAL(a && b);
	ASSERT_RC(a->ops->open(a->impl, "alpha", &max), FERRY_OK);
	ASSERT_RC(b->ops->open(b->impl, "beta", &max), FERRY_OK);
	for (uint64_t t = 1; t <= 3; t++)
		ASSERT_RC(put_one(a, t, 4), FERRY_OK);
	ASSERT_RC(put_one(b, 1, 4), FERRY_OK); /* same token, other client */
	ASSERT_RC(put_one(b, 50, 4), FERRY_OK);
	ASSERT_RC(a->ops->qos2_put(a->impl, 5, 5, false), FERRY_OK);
	ASSERT_RC(b->ops->sub_put(b->impl, "b/#", 1), FERRY_OK);
	ASSERT_RC(remove_msg(b, 2), FERRY_OK); /* a's token 2: not b's to remove */
	CU_ASSERT_EQUAL(scan_all(a, 0, 10).n, 3);
	struct seen w = scan_all(b, 0, 10);
	CU_ASSERT_EQUAL(w.n, 2);
	CU_ASSERT_EQUAL(w.tokens[1], 50);
	uint64_t ids[16] = {0};
	ASSERT_RC(b->ops->qos2_list(b->impl, collect_id, ids), FERRY_OK);
	CU_ASSERT_EQUAL(ids[0], 0);
	char out[128] = "";
	ASSERT_RC(a->ops->sub_list(a->impl, collect_sub, out), FERRY_OK);
	CU_ASSERT_STRING_EQUAL(out, "");
	ferry_store_free(a);
	ferry_store_free(b);
	ASSERT_RC(sqlite_new(path, 0, &b), FERRY_OK);
	ASSERT_RC(b->ops->open(b->impl, "beta", &max), FERRY_OK);
	CU_ASSERT_EQUAL(max, 50);
	ferry_store_free(b);
	remove_db(path);
}

static void test_random_bytes_is_corrupt(void)
{
	char path[64];
	temp_path(path, sizeof path);
	FILE *f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	uint32_t x = 12345;
	for (int i = 0; i < 8192; i++) {
		x = x * 1103515245u + 12345u;
		fputc((int)(x >> 24), f);
	}
	fclose(f);
	struct ferry_store *s = (struct ferry_store *)1;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_ERR_STORE_CORRUPT);
	CU_ASSERT_PTR_NULL(s);
	remove_db(path);
}

static void test_foreign_database_is_corrupt(void)
{
	char path[64];
	temp_path(path, sizeof path);
	side_exec(path, "CREATE TABLE songs(title TEXT); INSERT INTO songs VALUES('x');");
	struct ferry_store *s = NULL;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_ERR_STORE_CORRUPT);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(side_int(path, "SELECT count(*) FROM songs"), 1); /* left alone */
	remove_db(path);
}

static void test_truncated_database(void)
{
	char path[64];
	temp_path(path, sizeof path);
	struct ferry_store *s = NULL;
	uint64_t max;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_OK);
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	for (uint64_t t = 1; t <= 200; t++)
		ASSERT_RC(put_one(s, t, 60), FERRY_OK);
	ferry_store_free(s); /* the last connection checkpoints into the file */
	long long pages = side_int(path, "PRAGMA page_count");
	CU_ASSERT_FATAL(pages > 4);
	CU_ASSERT_EQUAL_FATAL(truncate(path, (off_t)(pages / 2 * 4096)), 0);
	s = NULL;
	int rc = sqlite_new(path, 0, &s);
	CU_ASSERT(rc == FERRY_ERR_STORE_CORRUPT);
	CU_ASSERT_PTR_NULL(s);
	ferry_store_free(s);
	remove_db(path);
}

/* Copies a file (for crash images); true on success. */
static bool copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	bool ok = a && b;
	char buf[8192];
	size_t n;
	while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0)
		ok = fwrite(buf, 1, n, b) == n;
	if (a)
		fclose(a);
	if (b && fclose(b))
		ok = false;
	return ok;
}

/*
 * A process killed during a checkpoint can leave page 1 (with the grown page
 * count) written and the file not yet grown; the missing pages are in the
 * WAL. Such a crash image is sound and must open, while the same header
 * without a WAL is a truncated file.
 */
static void test_header_ahead_of_file_with_wal(void)
{
	char path[64], image[80], image_wal[96];
	temp_path(path, sizeof path);
	snprintf(image, sizeof image, "%s.img", path);
	snprintf(image_wal, sizeof image_wal, "%s-wal", image);
	struct ferry_store *s = NULL;
	uint64_t max;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_OK);
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	ASSERT_RC(put_one(s, 1, 10), FERRY_OK);
	ferry_store_free(s); /* checkpointed: the file holds everything */
	/* More rows, kept in the WAL by a writer that never checkpoints. */
	sqlite3 *db = NULL;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA wal_autocheckpoint = 0;"
	                                 "CREATE TABLE filler(x BLOB);"
	                                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
	                                 " FROM n WHERE i < 200) INSERT INTO filler"
	                                 " SELECT randomblob(1000) FROM n;",
	                             NULL, NULL, NULL),
	                SQLITE_OK);
	/* The crash image: the file and its WAL as they are now. */
	CU_ASSERT_FATAL(copy_file(path, image));
	char wal[80];
	snprintf(wal, sizeof wal, "%s-wal", path);
	CU_ASSERT_FATAL(copy_file(wal, image_wal));
	sqlite3_close(db);
	/* Page 1 of a checkpoint already written: a page count past the end. */
	FILE *f = fopen(image, "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	unsigned char h[100];
	CU_ASSERT_EQUAL_FATAL(fread(h, 1, sizeof h, f), sizeof h);
	uint32_t count = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 | (uint32_t)h[30] << 8 | h[31];
	count += 50;
	unsigned char c4[4] = {(unsigned char)(count >> 24), (unsigned char)(count >> 16),
	                       (unsigned char)(count >> 8), (unsigned char)count};
	CU_ASSERT_EQUAL(fseek(f, 28, SEEK_SET), 0);
	CU_ASSERT_EQUAL(fwrite(c4, 1, 4, f), 4);
	CU_ASSERT_EQUAL(fclose(f), 0);
	s = NULL;
	ASSERT_RC(sqlite_new(image, 0, &s), FERRY_OK); /* sound: opens */
	if (s) {
		ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
		CU_ASSERT_EQUAL(scan_all(s, 0, 10).n, 1);
		ferry_store_free(s);
	}
	remove_db(image);
	remove_db(path);
}

static void test_newer_version_refused(void)
{
	char path[64];
	temp_path(path, sizeof path);
	struct ferry_store *s = NULL;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_OK);
	ferry_store_free(s);
	CU_ASSERT_EQUAL(side_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
	                FERRY__SQLITE_SCHEMA_VERSION);
	side_exec(path, "UPDATE meta SET value = 999 WHERE key = 'schema_version'");
	s = NULL;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_ERR_STORE_VERSION);
	CU_ASSERT_PTR_NULL(s);
	/* Untouched: a newer ferry can still use it. */
	CU_ASSERT_EQUAL(side_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"), 999);
	remove_db(path);
}

/* A version 1 file (no in-flight index) is migrated to the current version,
 * its messages intact, and the in-flight scan then uses the new index. */
static void test_migrates_version_1(void)
{
	char path[64];
	temp_path(path, sizeof path);
	struct ferry_store *s = NULL;
	uint64_t max;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_OK);
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	for (uint64_t t = 1; t <= 6; t++)
		ASSERT_RC(put_one(s, t, 5), FERRY_OK);
	ASSERT_RC(set_state(s, 4, FERRY_STORE_SENT, 40), FERRY_OK);
	ASSERT_RC(s->ops->qos2_put(s->impl, 12, 99, true), FERRY_OK);
	ferry_store_free(s);
	/* Back to what version 1 wrote: no in-flight index, qos2 with ids only. */
	side_exec(path, "DROP INDEX messages_inflight;"
	                "CREATE TABLE q1(client TEXT NOT NULL, packet_id INTEGER NOT NULL,"
	                " PRIMARY KEY(client, packet_id)) WITHOUT ROWID;"
	                "INSERT INTO q1 SELECT client, packet_id FROM qos2;"
	                "DROP TABLE qos2; ALTER TABLE q1 RENAME TO qos2;"
	                "UPDATE meta SET value = 1 WHERE key = 'schema_version'");
	CU_ASSERT_EQUAL(side_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
	                               " AND name = 'messages_inflight'"),
	                0);
	s = NULL;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_OK);
	CU_ASSERT_EQUAL(side_int(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
	                FERRY__SQLITE_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(side_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
	                               " AND name = 'messages_inflight'"),
	                1);
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	CU_ASSERT_EQUAL(max, 6);
	struct seen w = scan_kind(s, 0, 10, FERRY_SCAN_INFLIGHT);
	CU_ASSERT_EQUAL_FATAL(w.n, 1);
	CU_ASSERT_EQUAL(w.tokens[0], 4);
	CU_ASSERT_EQUAL(w.pid[0], 40);
	CU_ASSERT_EQUAL(scan_all(s, 0, 10).n, 6);
	CU_ASSERT_EQUAL(w.bad_views, 0);
	uint64_t ids[16] = {0}; /* a version 1 id: held, no mark */
	ASSERT_RC(s->ops->qos2_list(s->impl, collect_id, ids), FERRY_OK);
	CU_ASSERT_EQUAL_FATAL(ids[0], 1);
	CU_ASSERT_EQUAL(ids[1], 12);
	CU_ASSERT_EQUAL(ids[2], 0);
	CU_ASSERT_EQUAL(ids[3], 0);
	ferry_store_free(s);
	remove_db(path);
}

/* Each level is what it says, in WAL mode, and a lazy update on a FULL store
 * relaxes only its own commit. */
static void test_sync_levels(void)
{
	for (int full = 0; full < 2; full++) {
		char path[64];
		temp_path(path, sizeof path);
		struct ferry_store_sqlite_options o = FERRY_STORE_SQLITE_OPTIONS_INIT;
		o.path = path;
		o.sync = full ? FERRY_SYNC_FULL : FERRY_SYNC_NORMAL;
		struct ferry_store *s = NULL;
		uint64_t max;
		ASSERT_RC(ferry_store_sqlite_new(&o, &s), FERRY_OK);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		int want = full ? 2 : 1;
		CU_ASSERT_EQUAL(ferry__store_sqlite_synchronous(s), want);
		ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
		ASSERT_RC(put_one(s, 1, 4), FERRY_OK);
		struct ferry_store_change ch = {.token = 1, .state = FERRY_STORE_ACKED};
		ASSERT_RC(s->ops->update(s->impl, &ch, 1, FERRY_UPDATE_LAZY), FERRY_OK);
		CU_ASSERT_EQUAL(ferry__store_sqlite_synchronous(s), want);
		CU_ASSERT_EQUAL(scan_all(s, 0, 10).n, 0);
		ferry_store_free(s);
		CU_ASSERT_EQUAL(side_int(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
		remove_db(path);
	}
}

static void test_corrupt_row_quarantined(void)
{
	char path[64];
	temp_path(path, sizeof path);
	struct ferry_store *s = NULL;
	uint64_t max;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_OK);
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	for (uint64_t t = 1; t <= 5; t++)
		ASSERT_RC(put_one(s, t, 8), FERRY_OK);
	/* Flip one payload byte of token 3 (its payload starts 'd'). */
	CU_ASSERT_EQUAL(side_int(path, "SELECT hex(substr(payload, 1, 1)) = '64' FROM messages"
	                               " WHERE token = 3"),
	                1);
	side_exec(path,
	          "UPDATE messages SET payload = X'65' || substr(payload, 2) WHERE token = 3");
	size_t q = 9;
	ASSERT_RC(s->ops->quarantined(s->impl, &q), FERRY_OK);
	CU_ASSERT_EQUAL(q, 0);
	/* set_state does not bless the bad row with a fresh checksum. */
	ASSERT_RC(set_state(s, 3, FERRY_STORE_SENT, 9), FERRY_OK); /* the row is left as it was */
	struct seen w = scan_all(s, 0, 4);
	CU_ASSERT_EQUAL_FATAL(w.n, 4); /* max 4 good rows, the bad one not counted */
	CU_ASSERT_EQUAL(w.tokens[0], 1);
	CU_ASSERT_EQUAL(w.tokens[1], 2);
	CU_ASSERT_EQUAL(w.tokens[2], 4);
	CU_ASSERT_EQUAL(w.tokens[3], 5);
	CU_ASSERT_EQUAL(w.bad_views, 0);
	ASSERT_RC(s->ops->quarantined(s->impl, &q), FERRY_OK);
	CU_ASSERT_EQUAL(q, 1);
	size_t n = 0;
	ASSERT_RC(s->ops->count(s->impl, &n, NULL), FERRY_OK);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(side_int(path, "SELECT count(*) FROM quarantine WHERE client = 'c'"
	                               " AND token = 3 AND hex(substr(payload, 1, 1)) = '65'"),
	                1);
	CU_ASSERT_EQUAL(scan_all(s, 0, 10).n, 4);
	ASSERT_RC(s->ops->quarantined(s->impl, &q), FERRY_OK);
	CU_ASSERT_EQUAL(q, 1);
	ferry_store_free(s);
	/* The quarantined token still counts for the highest token at reopen. */
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_OK);
	ASSERT_RC(remove_msg(s, 5), FERRY_ERR_STATE); /* before open */
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	CU_ASSERT_EQUAL(max, 5);
	ferry_store_free(s);
	remove_db(path);
}

static int check_full_payload(void *arg, const struct ferry_stored_msg *m)
{
	size_t *ok = arg;
	const uint8_t *p = m->payload;
	if (m->payload_len == 1000 && p[0] == (uint8_t)m->token && p[999] == (uint8_t)m->token)
		(*ok)++;
	return 0;
}

static int put_kb(struct ferry_store *s, uint64_t token)
{
	static uint8_t payload[1000];
	memset(payload, (int)(uint8_t)token, sizeof payload);
	struct ferry_stored_msg m = {.token = token,
	                             .qos = 1,
	                             .topic = "full",
	                             .topic_len = 4,
	                             .payload = payload,
	                             .payload_len = sizeof payload};
	return s->ops->put(s->impl, &m, 1);
}

static void test_disk_full(void)
{
	char path[64];
	temp_path(path, sizeof path);
	struct ferry_store *s = NULL;
	uint64_t max;
	ASSERT_RC(sqlite_new(path, 40, &s), FERRY_OK); /* 40 pages of 4 KiB */
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	uint64_t t = 0;
	int rc = FERRY_OK;
	while (rc == FERRY_OK && t < 1000)
		rc = put_kb(s, ++t);
	ASSERT_RC(rc, FERRY_ERR_STORE_FULL);
	uint64_t stored = t - 1;
	CU_ASSERT(stored > 20 && stored < 200);
	size_t n = 0, ok = 0;
	ASSERT_RC(s->ops->count(s->impl, &n, NULL), FERRY_OK);
	CU_ASSERT_EQUAL(n, stored);
	ASSERT_RC(s->ops->scan(s->impl, 0, 1000, FERRY_SCAN_ALL, check_full_payload, &ok), FERRY_OK);
	CU_ASSERT_EQUAL(ok, stored);
	ASSERT_RC(put_kb(s, t), FERRY_ERR_STORE_FULL); /* still full */
	for (uint64_t r = 1; r <= 10; r++)
		ASSERT_RC(remove_msg(s, r), FERRY_OK);
	ASSERT_RC(put_kb(s, t), FERRY_OK);
	ASSERT_RC(put_kb(s, t + 1), FERRY_OK);
	ok = 0;
	ASSERT_RC(s->ops->scan(s->impl, 0, 1000, FERRY_SCAN_ALL, check_full_payload, &ok), FERRY_OK);
	CU_ASSERT_EQUAL(ok, stored - 10 + 2);
	ferry_store_free(s);
	remove_db(path);
}

#define GC_THREADS    4
#define GC_PER_THREAD 2000

struct gc_arg {
	struct ferry_store *s;
	uint64_t first;
	int failures;
};

static void *gc_thread(void *p)
{
	struct gc_arg *a = p;
	for (uint64_t i = 0; i < GC_PER_THREAD; i++)
		if (put_one(a->s, a->first + i, 16) != FERRY_OK)
			a->failures++;
	return NULL;
}

struct order_check {
	uint64_t last;
	size_t n, out_of_order;
};

static int check_order(void *arg, const struct ferry_stored_msg *m)
{
	struct order_check *c = arg;
	if (m->token <= c->last)
		c->out_of_order++;
	c->last = m->token;
	c->n++;
	return 0;
}

static void test_group_commit(void)
{
	char path[64];
	temp_path(path, sizeof path);
	struct ferry_store *s = NULL;
	uint64_t max;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_OK);
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	pthread_t th[GC_THREADS];
	struct gc_arg args[GC_THREADS];
	for (int i = 0; i < GC_THREADS; i++) {
		args[i] = (struct gc_arg){.s = s, .first = 1 + (uint64_t)i * 100000};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, gc_thread, &args[i]), 0);
	}
	for (int i = 0; i < GC_THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(args[i].failures, 0);
	}
	uint64_t puts = ferry__store_sqlite_puts(s), commits = ferry__store_sqlite_commits(s);
	printf("\n    group commit: %llu puts from %d threads, %llu commits ",
	       (unsigned long long)puts, GC_THREADS, (unsigned long long)commits);
	CU_ASSERT_EQUAL(puts, GC_THREADS * GC_PER_THREAD);
	CU_ASSERT(commits < puts);
	CU_ASSERT(commits > 0);
	struct order_check c = {0};
	ASSERT_RC(s->ops->scan(s->impl, 0, SIZE_MAX, FERRY_SCAN_ALL, check_order, &c), FERRY_OK);
	CU_ASSERT_EQUAL(c.n, GC_THREADS * GC_PER_THREAD);
	CU_ASSERT_EQUAL(c.out_of_order, 0);
	ferry_store_free(s);
	remove_db(path);
}

/* One put from its own thread: a message of `size` payload bytes. */
struct held_put {
	struct ferry_store *s;
	uint64_t token;
	size_t size;
	int rc;
	pthread_t th;
};

static void *held_put_run(void *p)
{
	struct held_put *h = p;
	uint8_t *payload = calloc(1, h->size + 1);
	struct ferry_stored_msg m = {.token = h->token,
	                             .qos = 1,
	                             .topic = "held",
	                             .topic_len = 4,
	                             .payload = payload,
	                             .payload_len = h->size};
	h->rc = payload ? h->s->ops->put(h->s->impl, &m, 1) : FERRY_ERR_NOMEM;
	free(payload);
	return NULL;
}

/* Holds the store's lock (scan callbacks run with it) while n puts start, one
 * thread each, waiting until each is inside put before starting the next:
 * the first leads and waits for the lock, the others queue behind it in
 * order and must then share the next commit. */
struct hold {
	struct held_put *puts;
	int n, started;
};

static int hold_and_start(void *arg, const struct ferry_stored_msg *m)
{
	struct hold *h = arg;
	(void)m;
	for (int i = 0; i < h->n; i++) {
		if (pthread_create(&h->puts[i].th, NULL, held_put_run, &h->puts[i]) == 0)
			h->started++;
		while (ferry__store_sqlite_waiting(h->puts[i].s) < (size_t)h->started)
			sched_yield(); /* until that put is queued (no sleeps) */
	}
	return 0;
}

/* Runs the held puts; the store holds token 1 (commit 1) already. */
static void run_held(struct ferry_store *s, struct held_put *puts, int n)
{
	struct hold h = {.puts = puts, .n = n};
	ASSERT_RC(s->ops->scan(s->impl, 0, 1, FERRY_SCAN_ALL, hold_and_start, &h), FERRY_OK);
	CU_ASSERT_EQUAL_FATAL(h.started, n);
	for (int i = 0; i < n; i++)
		pthread_join(puts[i].th, NULL);
}

static void test_queued_puts_share_one_commit(void)
{
	char path[64];
	temp_path(path, sizeof path);
	struct ferry_store *s = NULL;
	uint64_t max;
	ASSERT_RC(sqlite_new(path, 0, &s), FERRY_OK);
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	ASSERT_RC(put_one(s, 1, 4), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__store_sqlite_commits(s), 1);
	struct held_put p[3] = {{s, 10, 4, 1, 0}, {s, 11, 4, 1, 0}, {s, 12, 4, 1, 0}};
	run_held(s, p, 3);
	for (int i = 0; i < 3; i++)
		ASSERT_RC(p[i].rc, FERRY_OK);
	CU_ASSERT_EQUAL(ferry__store_sqlite_puts(s), 4);
	CU_ASSERT_EQUAL(ferry__store_sqlite_commits(s), 3); /* 1, then 1 + 2 shared */
	CU_ASSERT_EQUAL(scan_all(s, 0, 10).n, 4);
	ferry_store_free(s);
	remove_db(path);
}

/* In one shared commit, a put that fails (duplicate token, no space) fails
 * alone: the others of its group are stored. */
static void test_failed_put_fails_alone(void)
{
	char path[64];
	temp_path(path, sizeof path);
	struct ferry_store *s = NULL;
	uint64_t max;
	ASSERT_RC(sqlite_new(path, 40, &s), FERRY_OK); /* 160 KiB */
	ASSERT_RC(s->ops->open(s->impl, "c", &max), FERRY_OK);
	ASSERT_RC(put_one(s, 1, 4), FERRY_OK);
	struct held_put p[5] = {{s, 10, 4, 1, 0},
	                        {s, 1, 4, 1, 0}, /* token 1 is stored already */
	                        {s, 11, 4, 1, 0},
	                        {s, 12, 400000, 1, 0}, /* does not fit */
	                        {s, 13, 4, 1, 0}};
	run_held(s, p, 5);
	ASSERT_RC(p[0].rc, FERRY_OK);
	ASSERT_RC(p[1].rc, FERRY_ERR_INVAL);
	ASSERT_RC(p[2].rc, FERRY_OK);
	ASSERT_RC(p[3].rc, FERRY_ERR_STORE_FULL);
	ASSERT_RC(p[4].rc, FERRY_OK);
	CU_ASSERT_EQUAL(ferry__store_sqlite_commits(s), 3);
	struct seen w = scan_all(s, 0, 10);
	CU_ASSERT_EQUAL_FATAL(w.n, 4);
	CU_ASSERT_EQUAL(w.tokens[0], 1);
	CU_ASSERT_EQUAL(w.tokens[1], 10);
	CU_ASSERT_EQUAL(w.tokens[2], 11);
	CU_ASSERT_EQUAL(w.tokens[3], 13);
	ferry_store_free(s);
	remove_db(path);
}

static void test_bad_options(void)
{
	struct ferry_store *s = NULL;
	struct ferry_store_sqlite_options o = FERRY_STORE_SQLITE_OPTIONS_INIT;
	ASSERT_RC(ferry_store_sqlite_new(&o, &s), FERRY_ERR_INVAL); /* no path */
	o.path = "/nonexistent-dir-ferry/x.db";
	ASSERT_RC(ferry_store_sqlite_new(&o, &s), FERRY_ERR_STORE_IO);
	o.sync = 7;
	ASSERT_RC(ferry_store_sqlite_new(&o, &s), FERRY_ERR_INVAL);
	ASSERT_RC(ferry_store_sqlite_new(NULL, &s), FERRY_ERR_INVAL);
	CU_ASSERT_PTR_NULL(s);
	ferry_store_free(NULL);
}

void register_store_suite(void)
{
	CU_pSuite s = test_suite("store");
	char name[96];
	for (size_t i = 0; i < N_BOTH; i++) {
		snprintf(name, sizeof name, "memory: %s", both[i].name);
		test_add(s, name, memory_fns[i]);
		snprintf(name, sizeof name, "sqlite: %s", both[i].name);
		test_add(s, name, sqlite_fns[i]);
	}
	test_add(s, "sqlite: two clients in one file are separate", test_two_clients_one_file);
	test_add(s, "sqlite: a file of random bytes is corrupt", test_random_bytes_is_corrupt);
	test_add(s, "sqlite: another program's database is refused",
	         test_foreign_database_is_corrupt);
	test_add(s, "sqlite: a truncated database is corrupt", test_truncated_database);
	test_add(s, "sqlite: a checkpoint cut short (header ahead, WAL beside) opens",
	         test_header_ahead_of_file_with_wal);
	test_add(s, "sqlite: a newer schema version is refused", test_newer_version_refused);
	test_add(s, "sqlite: a version 1 file is migrated", test_migrates_version_1);
	test_add(s, "sqlite: sync levels, also after lazy updates", test_sync_levels);
	test_add(s, "sqlite: a corrupt row is quarantined", test_corrupt_row_quarantined);
	test_add(s, "sqlite: a full disk loses nothing", test_disk_full);
	test_add(s, "sqlite: concurrent puts share commits", test_group_commit);
	test_add(s, "sqlite: queued puts share one commit", test_queued_puts_share_one_commit);
	test_add(s, "sqlite: a failed put in a shared commit fails alone",
	         test_failed_put_fails_alone);
	test_add(s, "sqlite: bad options", test_bad_options);
}

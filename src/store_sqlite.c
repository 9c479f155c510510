/*
 * store_sqlite.c - the SQLite store (ferry/store.h): one connection per
 * store object, WAL, prepared statements made at creation and kept for the
 * store's life, every row keyed by the client id bound at open. The format
 * and its checks are in store_sqlite_schema.c.
 *
 * Locks. db_lock guards the connection and its statements: every operation
 * holds it while it uses SQLite (it is the store's lock, innermost of all
 * ferry locks; scan callbacks run with it held). gc_lock guards the group
 * commit's queue (pending, leading, counters). The two are never held
 * together: a put takes gc_lock, drops it, then takes db_lock if it leads.
 *
 * Group commit (put). Each put call is a batch on its caller's stack:
 *   {msgs, n, rc, done, next}. A batch is in exactly one of three states:
 *   PENDING  - on s->pending (FIFO), waiting for a leader to take it;
 *   GROUPED  - taken by the current leader, being written;
 *   DONE     - done == true, rc holds its result; its owner may return.
 * Algorithm: under gc_lock the caller appends its batch to pending, then
 * loops until its batch is DONE: if no leader is active (leading == false)
 * it becomes the leader: it sets leading, detaches the whole pending list
 * as its group (PENDING -> GROUPED), drops gc_lock and, under db_lock, writes
 * the group in ONE transaction (BEGIN IMMEDIATE; per batch SAVEPOINT,
 * INSERTs, RELEASE; COMMIT). Then,
 * under gc_lock again, it marks every batch of the group DONE, clears
 * leading and broadcasts gc_cv. Otherwise it waits on gc_cv. Callers
 * arriving while a leader commits queue up and the next leader (any waiter
 * whose batch is still PENDING) writes them all together: n concurrent puts
 * cost about n / (callers per commit) commits.
 * Invariants: at most one leader; only the leader moves batches out of
 * pending and sets done, always under gc_lock, after the commit outcome is
 * known; a leader reads a batch's next pointer before marking it DONE (its
 * owner may return and free the stack frame right after). msgs of a GROUPED
 * batch stay valid because its owner is blocked in put.
 * Failure isolation: a batch whose INSERTs fail (FULL, a duplicate token) is
 * rolled back to its savepoint alone and gets that error; the others still
 * commit. If SQLite rolled the whole transaction back (it may on FULL or
 * IOERR), the leader restarts the transaction without the failed batches.
 * If COMMIT fails, every batch not already failed gets the error. So put is
 * all-or-nothing per call, and a failed put leaves stored messages intact.
 *
 * With k threads putting in a loop, groups settle at about k / 2 puts per
 * commit: while one cohort is being written the other queues (measured:
 * 4 threads at FULL, ~2.3 puts per commit; 8 threads, ~4.2).
 *
 * Update applies its changes in one transaction under db_lock (the client
 * batches the state changes of everything one send round writes); qos2_*
 * and sub_* are single statements in autocommit. Neither is counted as a
 * group commit.
 *
 * Scan streams rows with a prepared SELECT ... WHERE client = ? AND token > ?
 * ORDER BY token LIMIT ?, checking each row's checksum and ranges. Bad rows
 * are remembered (up to BAD_MAX at a time), the SELECT is reset, and they
 * are moved to the quarantine table in one transaction; the scan then goes
 * on after the last row seen until max good rows were delivered.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "store_common.h"
#include "store_sqlite.h"

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_MAX_TOKEN,
	ST_PUT,
	ST_STATE,
	ST_REMOVE,
	ST_SCAN,
	ST_SCAN_QUEUED,
	ST_SCAN_INFLIGHT,
	ST_COUNT,
	ST_QUAR_MOVE,
	ST_Q2_ADD,
	ST_Q2_DEL,
	ST_Q2_LIST,
	ST_SUB_PUT,
	ST_SUB_DEL,
	ST_SUB_LIST,
	ST_HIGH_WATER,
	ST_N
};

static const char *const stmt_sql[ST_N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT batch",
    [ST_RELEASE] = "RELEASE batch",
    [ST_ROLLBACK_TO] = "ROLLBACK TO batch",
    [ST_MAX_TOKEN] = "SELECT max(t) FROM (SELECT max(token) AS t FROM messages WHERE client = ?1"
                     " UNION ALL SELECT max(token) FROM quarantine WHERE client = ?1"
                     " UNION ALL SELECT max_token FROM clients WHERE client = ?1)",
    [ST_PUT] = "INSERT INTO messages(client, token, qos, retain, state, packet_id, topic,"
               " payload, props, checksum) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    /* Only a row whose checksum holds is updated: a bad row is not laundered. */
    [ST_STATE] = "UPDATE messages SET state = ?3, packet_id = ?4, checksum = ferry_msg_sum("
                 "client, token, qos, retain, ?3, ?4, topic, payload, props)"
                 " WHERE client = ?1 AND token = ?2 AND checksum = ferry_msg_sum(client, token,"
                 " qos, retain, state, packet_id, topic, payload, props)",
    [ST_REMOVE] = "DELETE FROM messages WHERE client = ?1 AND token = ?2",
    [ST_SCAN] = "SELECT token, qos, retain, state, packet_id, topic, payload, props, checksum"
                " FROM messages WHERE client = ?1 AND token > ?2 ORDER BY token LIMIT ?3",
    [ST_SCAN_QUEUED] = "SELECT token, qos, retain, state, packet_id, topic, payload, props,"
                       " checksum FROM messages WHERE client = ?1 AND token > ?2 AND state = 0"
                       " ORDER BY token LIMIT ?3",
    /* Served by the partial index messages_inflight (schema version 2): as
     * cheap with a million messages queued as with none. */
    [ST_SCAN_INFLIGHT] = "SELECT token, qos, retain, state, packet_id, topic, payload, props,"
                         " checksum FROM messages WHERE client = ?1 AND token > ?2"
                         " AND state != 0 ORDER BY token LIMIT ?3",
    [ST_COUNT] = "SELECT count(*), coalesce(sum(length(topic) + length(payload)), 0)"
                 " FROM messages WHERE client = ?1",
    [ST_QUAR_MOVE] = "INSERT INTO quarantine(client, token, qos, retain, state, packet_id, topic,"
                     " payload, props, checksum, reason, at) SELECT client, token, qos, retain,"
                     " state, packet_id, topic, payload, props, checksum, 'checksum',"
                     " CAST(strftime('%s', 'now') AS INTEGER) FROM messages"
                     " WHERE client = ?1 AND token = ?2",
    [ST_Q2_ADD] = "INSERT INTO qos2(client, packet_id, hash, released) VALUES(?1, ?2, ?3, ?4)"
                  " ON CONFLICT(client, packet_id) DO UPDATE SET hash = excluded.hash,"
                  " released = excluded.released",
    [ST_Q2_DEL] = "DELETE FROM qos2 WHERE client = ?1 AND packet_id = ?2",
    [ST_Q2_LIST] = "SELECT packet_id, hash, released FROM qos2 WHERE client = ?1"
                   " ORDER BY packet_id",
    [ST_SUB_PUT] =
        "INSERT OR REPLACE INTO subscriptions(client, filter, options) VALUES(?1, ?2, ?3)",
    [ST_SUB_DEL] = "DELETE FROM subscriptions WHERE client = ?1 AND filter = ?2",
    [ST_SUB_LIST] = "SELECT filter, options FROM subscriptions WHERE client = ?1 ORDER BY filter",
    [ST_HIGH_WATER] = "INSERT INTO clients(client, max_token) VALUES(?1, ?2) ON CONFLICT(client)"
                      " DO UPDATE SET max_token = max(max_token, excluded.max_token)",
};

#define BAD_MAX 16

struct gc_batch {
	const struct ferry_stored_msg *msgs;
	size_t n;
	int rc; /* 1 while not failed, then FERRY_OK or an error */
	bool done;
	struct gc_batch *next;
};

struct sql_store {
	pthread_mutex_t db_lock; /* the connection, statements, client, quarantined */
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];
	char *client; /* NULL until open */
	bool full;    /* FERRY_SYNC_FULL: lazy updates drop to NORMAL for their commit */
	int client_len;
	size_t quarantined;

	pthread_mutex_t gc_lock; /* the fields below */
	pthread_cond_t gc_cv;
	struct gc_batch *pending, **pending_tail;
	bool leading;
	uint64_t commits, puts;
	size_t waiting; /* batches not yet DONE */
};

static const unsigned char empty[1];

/* Runs a statement with no result rows (and resets it). */
static int run(struct sql_store *s, int which)
{
	sqlite3_stmt *st = s->st[which];
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ferry__sqlite_err(rc);
}

static void bind_client(struct sql_store *s, sqlite3_stmt *st)
{
	sqlite3_bind_text(st, 1, s->client, s->client_len, SQLITE_STATIC);
}

static void bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	sqlite3_bind_blob64(st, i, n ? p : empty, n, SQLITE_STATIC);
}

/* Runs a statement bound to (client, one integer); db_lock held. */
static int run_client_int(struct sql_store *s, int which, sqlite3_int64 v)
{
	if (!s->client)
		return FERRY_ERR_STATE;
	bind_client(s, s->st[which]);
	sqlite3_bind_int64(s->st[which], 2, v);
	return run(s, which);
}

static int insert_msg(struct sql_store *s, const struct ferry_stored_msg *m)
{
	sqlite3_stmt *st = s->st[ST_PUT];
	bind_client(s, st);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)m->token);
	sqlite3_bind_int(st, 3, m->qos);
	sqlite3_bind_int(st, 4, m->retain ? 1 : 0);
	sqlite3_bind_int(st, 5, m->state);
	sqlite3_bind_int(st, 6, m->packet_id);
	bind_blob(st, 7, m->topic, m->topic_len);
	bind_blob(st, 8, m->payload, m->payload_len);
	bind_blob(st, 9, m->props, m->props_len);
	uint64_t sum = ferry__sqlite_msg_sum(s->client, (size_t)s->client_len, m);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)sum);
	return run(s, ST_PUT);
}

/* Writes one batch inside its savepoint; on failure undoes just that batch.
 * Returns the batch's error; *txn_lost when SQLite dropped the transaction. */
static int write_batch(struct sql_store *s, struct gc_batch *b, bool *txn_lost)
{
	int rc = run(s, ST_SAVEPOINT);
	for (size_t i = 0; !rc && i < b->n; i++)
		rc = insert_msg(s, &b->msgs[i]);
	if (!rc)
		return run(s, ST_RELEASE);
	if (sqlite3_get_autocommit(s->db)) {
		*txn_lost = true;
		return rc;
	}
	run(s, ST_ROLLBACK_TO);
	run(s, ST_RELEASE);
	return rc;
}

/* The leader's work, under db_lock: one transaction for the whole group. */
static void write_group(struct sql_store *s, struct gc_batch *group)
{
	int rc = s->client ? FERRY_OK : FERRY_ERR_STATE;
	bool lost = false;
	while (!rc) {
		lost = false;
		rc = run(s, ST_BEGIN);
		for (struct gc_batch *b = group; !rc && b && !lost; b = b->next) {
			if (b->rc != 1)
				continue;
			int brc = write_batch(s, b, &lost);
			if (brc)
				b->rc = brc;
		}
		if (rc || !lost)
			break;
	}
	if (!rc) {
		rc = run(s, ST_COMMIT);
		if (rc && !sqlite3_get_autocommit(s->db))
			run(s, ST_ROLLBACK);
	}
	for (struct gc_batch *b = group; b; b = b->next)
		if (b->rc == 1)
			b->rc = rc;
}

/* Leader: takes the pending list, writes it, marks it done. gc_lock held. */
static void lead(struct sql_store *s)
{
	struct gc_batch *group = s->pending;
	s->pending = NULL;
	s->pending_tail = &s->pending;
	s->leading = true;
	ferry__unlock(&s->gc_lock);

	ferry__lock(&s->db_lock);
	write_group(s, group);
	ferry__unlock(&s->db_lock);

	ferry__lock(&s->gc_lock);
	bool committed = false;
	while (group) {
		struct gc_batch *next = group->next; /* before done: owner may return */
		if (group->rc == FERRY_OK) {
			committed = true;
			s->puts++;
		}
		group->done = true;
		s->waiting--;
		group = next;
	}
	if (committed)
		s->commits++;
	s->leading = false;
	pthread_cond_broadcast(&s->gc_cv);
}

static bool msg_valid(const struct ferry_stored_msg *m)
{
	if (m->token == 0 || m->token > (uint64_t)INT64_MAX || (m->qos != 1 && m->qos != 2) ||
	    m->state > FERRY_STORE_RELEASED)
		return false;
	return !((m->topic_len && !m->topic) || (m->payload_len && !m->payload) ||
	         (m->props_len && !m->props));
}

static int sql_put(void *impl, const struct ferry_stored_msg *msgs, size_t n)
{
	struct sql_store *s = impl;
	if (!msgs || n == 0)
		return FERRY_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!msg_valid(&msgs[i]))
			return FERRY_ERR_INVAL;
	struct gc_batch b = {.msgs = msgs, .n = n, .rc = 1};
	ferry__lock(&s->gc_lock);
	*s->pending_tail = &b;
	s->pending_tail = &b.next;
	s->waiting++;
	while (!b.done) {
		if (!s->leading)
			lead(s);
		else
			pthread_cond_wait(&s->gc_cv, &s->gc_lock);
	}
	ferry__unlock(&s->gc_lock);
	return b.rc;
}

static int sql_open(void *impl, const char *client_id, uint64_t *max_token)
{
	struct sql_store *s = impl;
	if (!client_id || !max_token || strlen(client_id) > INT_MAX)
		return FERRY_ERR_INVAL;
	ferry__lock(&s->db_lock);
	int rc = FERRY_ERR_STATE;
	if (s->client)
		goto out;
	rc = FERRY_ERR_NOMEM;
	s->client = strdup(client_id);
	if (!s->client)
		goto out;
	s->client_len = (int)strlen(client_id);
	sqlite3_stmt *st = s->st[ST_MAX_TOKEN];
	bind_client(s, st);
	int src = sqlite3_step(st);
	*max_token = src == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	rc = ferry__sqlite_err(src);
	if (rc) {
		free(s->client);
		s->client = NULL;
	}
out:
	ferry__unlock(&s->db_lock);
	return rc;
}

/* One change inside update's transaction; db_lock held. A row failing its
 * checksum is left as it is (not laundered) for scan to quarantine. */
static int apply_change(struct sql_store *s, const struct ferry_store_change *ch)
{
	if (ch->state == FERRY_STORE_ACKED)
		return run_client_int(s, ST_REMOVE, (sqlite3_int64)ch->token);
	sqlite3_stmt *st = s->st[ST_STATE];
	bind_client(s, st);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)ch->token);
	sqlite3_bind_int(st, 3, ch->state);
	sqlite3_bind_int(st, 4, ch->packet_id);
	return run(s, ST_STATE);
}

/*
 * Lazy updates on a FULL store commit with synchronous = NORMAL: no fsync,
 * their WAL frames reach the disk with the next durable commit, and WAL
 * recovery stops at the first frame it cannot verify, so a later durable
 * commit never survives a power cut without them.
 */
static int sql_update(void *impl, const struct ferry_store_change *changes, size_t n,
                      unsigned flags)
{
	struct sql_store *s = impl;
	if (!ferry__store_changes_valid(changes, n))
		return FERRY_ERR_INVAL;
	ferry__lock(&s->db_lock);
	int rc = s->client ? FERRY_OK : FERRY_ERR_STATE;
	bool txn = !rc, relax = !rc && s->full && (flags & FERRY_UPDATE_LAZY);
	/* Not prepared statements: SQLite applies PRAGMA synchronous when it
	 * compiles it, so a prepared one would act at prepare time. */
	if (relax)
		rc = ferry__sqlite_err(sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL));
	if (txn && !rc)
		rc = run(s, ST_BEGIN);
	uint64_t high = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (changes[i].token > (uint64_t)INT64_MAX)
			continue; /* never stored */
		rc = apply_change(s, &changes[i]);
		if (changes[i].state == FERRY_STORE_ACKED && changes[i].token > high)
			high = changes[i].token;
	}
	/* The high-water mark is raised when rows go, in the same transaction,
	 * so the highest token stored is always in messages or in clients. */
	if (!rc && high)
		rc = run_client_int(s, ST_HIGH_WATER, (sqlite3_int64)high);
	if (txn && !rc)
		rc = run(s, ST_COMMIT);
	if (txn && rc && !sqlite3_get_autocommit(s->db))
		run(s, ST_ROLLBACK);
	if (relax)
		sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	ferry__unlock(&s->db_lock);
	return rc;
}

/* Reads the current scan row into *m; false if it fails its checks. */
static bool read_row(struct sql_store *s, sqlite3_stmt *st, struct ferry_stored_msg *m)
{
	sqlite3_int64 qos = sqlite3_column_int64(st, 1), state = sqlite3_column_int64(st, 3);
	sqlite3_int64 retain = sqlite3_column_int64(st, 2), pid = sqlite3_column_int64(st, 4);
	m->token = (uint64_t)sqlite3_column_int64(st, 0);
	m->topic = sqlite3_column_blob(st, 5);
	m->topic_len = (size_t)sqlite3_column_bytes(st, 5);
	m->payload = sqlite3_column_blob(st, 6);
	m->payload_len = (size_t)sqlite3_column_bytes(st, 6);
	m->props = sqlite3_column_blob(st, 7);
	m->props_len = (size_t)sqlite3_column_bytes(st, 7);
	if (!m->topic)
		m->topic = (const char *)empty;
	if (!m->payload)
		m->payload = empty;
	if (!m->props)
		m->props = empty;
	if ((qos != 1 && qos != 2) || state < 0 || state > FERRY_STORE_RELEASED ||
	    (retain != 0 && retain != 1) || pid < 0 || pid > 65535 ||
	    sqlite3_column_type(st, 8) != SQLITE_INTEGER)
		return false;
	m->qos = (uint8_t)qos;
	m->retain = retain == 1;
	m->state = (uint8_t)state;
	m->packet_id = (uint16_t)pid;
	uint64_t sum = ferry__sqlite_msg_sum(s->client, (size_t)s->client_len, m);
	return sum == (uint64_t)sqlite3_column_int64(st, 8);
}

/* Moves rows to the quarantine table in one transaction; db_lock held. */
static int quarantine(struct sql_store *s, const uint64_t *tokens, size_t n)
{
	int rc = run(s, ST_BEGIN);
	for (size_t i = 0; !rc && i < n; i++) {
		rc = run_client_int(s, ST_QUAR_MOVE, (sqlite3_int64)tokens[i]);
		if (!rc)
			rc = run_client_int(s, ST_REMOVE, (sqlite3_int64)tokens[i]);
	}
	if (!rc)
		rc = run(s, ST_COMMIT);
	if (rc && !sqlite3_get_autocommit(s->db))
		run(s, ST_ROLLBACK);
	if (!rc)
		s->quarantined += n;
	return rc;
}

struct scan_pass {
	uint64_t after; /* in: rows after this; out: the last row seen */
	size_t left;    /* good rows still wanted */
	uint64_t bad[BAD_MAX];
	size_t n_bad;
};

/* One SELECT: delivers good rows, collects up to BAD_MAX bad ones. */
static int scan_pass(struct sql_store *s, struct scan_pass *p, int which,
                     int (*fn)(void *arg, const struct ferry_stored_msg *m), void *arg)
{
	sqlite3_stmt *st = s->st[which == FERRY_SCAN_QUEUED     ? ST_SCAN_QUEUED
	                         : which == FERRY_SCAN_INFLIGHT ? ST_SCAN_INFLIGHT
	                                                        : ST_SCAN];
	bind_client(s, st);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)p->after);
	sqlite3_bind_int64(st, 3, p->left > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)p->left);
	int rc = FERRY_OK, src;
	p->n_bad = 0;
	while (!rc && p->n_bad < BAD_MAX && (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct ferry_stored_msg m = {0};
		bool good = read_row(s, st, &m);
		p->after = (uint64_t)sqlite3_column_int64(st, 0);
		if (!good) {
			p->bad[p->n_bad++] = p->after;
			continue;
		}
		p->left--;
		rc = fn(arg, &m);
	}
	if (!rc && p->n_bad < BAD_MAX)
		rc = ferry__sqlite_err(src);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int sql_scan(void *impl, uint64_t after, size_t max, int which,
                    int (*fn)(void *arg, const struct ferry_stored_msg *m), void *arg)
{
	struct sql_store *s = impl;
	if (!fn || which < FERRY_SCAN_ALL || which > FERRY_SCAN_INFLIGHT)
		return FERRY_ERR_INVAL;
	if (after >= (uint64_t)INT64_MAX || max == 0)
		return FERRY_OK;
	ferry__lock(&s->db_lock);
	int rc = s->client ? FERRY_OK : FERRY_ERR_STATE;
	struct scan_pass p = {.after = after, .left = max};
	while (!rc) {
		rc = scan_pass(s, &p, which, fn, arg);
		if (p.n_bad) {
			int qrc = quarantine(s, p.bad, p.n_bad);
			if (!rc)
				rc = qrc;
		}
		if (p.n_bad == 0 || p.left == 0)
			break;
	}
	ferry__unlock(&s->db_lock);
	return rc;
}

static int sql_count(void *impl, size_t *msgs, size_t *bytes)
{
	struct sql_store *s = impl;
	ferry__lock(&s->db_lock);
	int rc = FERRY_ERR_STATE;
	if (s->client) {
		sqlite3_stmt *st = s->st[ST_COUNT];
		bind_client(s, st);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			if (msgs)
				*msgs = (size_t)sqlite3_column_int64(st, 0);
			if (bytes)
				*bytes = (size_t)sqlite3_column_int64(st, 1);
		}
		rc = src == SQLITE_ROW ? FERRY_OK : ferry__sqlite_err(src);
		if (src == SQLITE_DONE)
			rc = FERRY_ERR_STORE_IO;
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	ferry__unlock(&s->db_lock);
	return rc;
}

static int sql_qos2_put(void *impl, uint16_t packet_id, uint64_t hash, bool released)
{
	struct sql_store *s = impl;
	if (packet_id == 0)
		return FERRY_ERR_INVAL;
	ferry__lock(&s->db_lock);
	int rc = FERRY_ERR_STATE;
	if (s->client) {
		sqlite3_stmt *st = s->st[ST_Q2_ADD];
		bind_client(s, st);
		sqlite3_bind_int(st, 2, packet_id);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)hash);
		sqlite3_bind_int(st, 4, released ? 1 : 0);
		rc = run(s, ST_Q2_ADD);
	}
	ferry__unlock(&s->db_lock);
	return rc;
}

static int sql_qos2_remove(void *impl, uint16_t packet_id)
{
	struct sql_store *s = impl;
	ferry__lock(&s->db_lock);
	int rc = run_client_int(s, ST_Q2_DEL, packet_id);
	ferry__unlock(&s->db_lock);
	return rc;
}

static int sql_qos2_list(void *impl,
                         int (*fn)(void *arg, uint16_t packet_id, uint64_t hash, bool released),
                         void *arg)
{
	struct sql_store *s = impl;
	if (!fn)
		return FERRY_ERR_INVAL;
	ferry__lock(&s->db_lock);
	int rc = FERRY_ERR_STATE, src = SQLITE_DONE;
	if (s->client) {
		sqlite3_stmt *st = s->st[ST_Q2_LIST];
		bind_client(s, st);
		rc = FERRY_OK;
		while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
			rc = fn(arg, (uint16_t)sqlite3_column_int(st, 0),
			        (uint64_t)sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2) != 0);
		if (!rc)
			rc = ferry__sqlite_err(src);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	ferry__unlock(&s->db_lock);
	return rc;
}

static int sql_sub_put(void *impl, const char *filter, uint8_t options)
{
	struct sql_store *s = impl;
	if (!filter)
		return FERRY_ERR_INVAL;
	ferry__lock(&s->db_lock);
	int rc = FERRY_ERR_STATE;
	if (s->client) {
		sqlite3_stmt *st = s->st[ST_SUB_PUT];
		bind_client(s, st);
		sqlite3_bind_text(st, 2, filter, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, options);
		rc = run(s, ST_SUB_PUT);
	}
	ferry__unlock(&s->db_lock);
	return rc;
}

static int sql_sub_remove(void *impl, const char *filter)
{
	struct sql_store *s = impl;
	if (!filter)
		return FERRY_ERR_INVAL;
	ferry__lock(&s->db_lock);
	int rc = FERRY_ERR_STATE;
	if (s->client) {
		sqlite3_stmt *st = s->st[ST_SUB_DEL];
		bind_client(s, st);
		sqlite3_bind_text(st, 2, filter, -1, SQLITE_STATIC);
		rc = run(s, ST_SUB_DEL);
	}
	ferry__unlock(&s->db_lock);
	return rc;
}

static int sql_sub_list(void *impl, int (*fn)(void *arg, const char *filter, uint8_t options),
                        void *arg)
{
	struct sql_store *s = impl;
	if (!fn)
		return FERRY_ERR_INVAL;
	ferry__lock(&s->db_lock);
	int rc = FERRY_ERR_STATE, src = SQLITE_DONE;
	if (s->client) {
		sqlite3_stmt *st = s->st[ST_SUB_LIST];
		bind_client(s, st);
		rc = FERRY_OK;
		while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
			const char *f = (const char *)sqlite3_column_text(st, 0);
			rc = fn(arg, f ? f : "", (uint8_t)sqlite3_column_int(st, 1));
		}
		if (!rc)
			rc = ferry__sqlite_err(src);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	ferry__unlock(&s->db_lock);
	return rc;
}

static int sql_quarantined(void *impl, size_t *rows)
{
	struct sql_store *s = impl;
	if (!rows)
		return FERRY_ERR_INVAL;
	ferry__lock(&s->db_lock);
	*rows = s->quarantined;
	ferry__unlock(&s->db_lock);
	return FERRY_OK;
}

static void sql_close(void *impl)
{
	struct sql_store *s = impl;
	if (!s)
		return;
	for (int i = 0; i < ST_N; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s->client);
	pthread_cond_destroy(&s->gc_cv);
	pthread_mutex_destroy(&s->gc_lock);
	pthread_mutex_destroy(&s->db_lock);
	free(s);
}

static const struct ferry_store_ops sql_ops = {
    .struct_size = sizeof(struct ferry_store_ops),
    .open = sql_open,
    .put = sql_put,
    .update = sql_update,
    .scan = sql_scan,
    .count = sql_count,
    .qos2_put = sql_qos2_put,
    .qos2_remove = sql_qos2_remove,
    .qos2_list = sql_qos2_list,
    .sub_put = sql_sub_put,
    .sub_remove = sql_sub_remove,
    .sub_list = sql_sub_list,
    .quarantined = sql_quarantined,
    .close = sql_close,
};

/* Opens the connection, sets WAL and the pragmas, checks the schema,
 * prepares the statements. */
static int sql_connect(struct sql_store *s, const struct ferry_store_sqlite_options *o)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int src = sqlite3_open_v2(o->path, &s->db, flags, NULL);
	if (src != SQLITE_OK)
		return src == SQLITE_NOMEM ? FERRY_ERR_NOMEM : FERRY_ERR_STORE_IO;
	sqlite3_busy_timeout(s->db, 10000);
	sqlite3_extended_result_codes(s->db, 1);
	char sql[160];
	int rc = FERRY_OK;
	if (o->max_pages) {
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lu",
		         (unsigned long)o->max_pages);
		rc = ferry__sqlite_err(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
	}
	/* Checked before anything is written: a foreign file, or one of a
	 * newer ferry, is refused untouched (not even switched to WAL). */
	if (!rc)
		rc = ferry__sqlite_schema_open(s->db);
	s->full = o->sync == FERRY_SYNC_FULL;
	snprintf(sql, sizeof sql, "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s;",
	         s->full ? "FULL" : "NORMAL");
	if (!rc)
		rc = ferry__sqlite_err(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
	for (int i = 0; !rc && i < ST_N; i++)
		rc = ferry__sqlite_err(sqlite3_prepare_v3(
		    s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL));
	return rc;
}

static struct sql_store *sql_alloc(void)
{
	struct sql_store *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->db_lock, NULL)) {
		free(s);
		return NULL;
	}
	if (pthread_mutex_init(&s->gc_lock, NULL)) {
		pthread_mutex_destroy(&s->db_lock);
		free(s);
		return NULL;
	}
	if (pthread_cond_init(&s->gc_cv, NULL)) {
		pthread_mutex_destroy(&s->gc_lock);
		pthread_mutex_destroy(&s->db_lock);
		free(s);
		return NULL;
	}
	s->pending_tail = &s->pending;
	return s;
}

int ferry_store_sqlite_new(const struct ferry_store_sqlite_options *o, struct ferry_store **out)
{
	if (!out)
		return FERRY_ERR_INVAL;
	*out = NULL;
	if (!o || o->struct_size < offsetof(struct ferry_store_sqlite_options, sync))
		return FERRY_ERR_INVAL;
	struct ferry_store_sqlite_options opt = {0};
	memcpy(&opt, o, o->struct_size < sizeof opt ? o->struct_size : sizeof opt);
	if (!opt.path || (opt.sync != FERRY_SYNC_NORMAL && opt.sync != FERRY_SYNC_FULL))
		return FERRY_ERR_INVAL;
	struct ferry_store *st = malloc(sizeof *st);
	struct sql_store *s = sql_alloc();
	if (!st || !s) {
		free(st);
		if (s)
			sql_close(s);
		return FERRY_ERR_NOMEM;
	}
	int rc = sql_connect(s, &opt);
	if (rc) {
		sql_close(s);
		free(st);
		return rc;
	}
	st->ops = &sql_ops;
	st->impl = s;
	*out = st;
	return FERRY_OK;
}

uint64_t ferry__store_sqlite_commits(struct ferry_store *st)
{
	struct sql_store *s = st->impl;
	ferry__lock(&s->gc_lock);
	uint64_t n = s->commits;
	ferry__unlock(&s->gc_lock);
	return n;
}

uint64_t ferry__store_sqlite_puts(struct ferry_store *st)
{
	struct sql_store *s = st->impl;
	ferry__lock(&s->gc_lock);
	uint64_t n = s->puts;
	ferry__unlock(&s->gc_lock);
	return n;
}

size_t ferry__store_sqlite_waiting(struct ferry_store *st)
{
	struct sql_store *s = st->impl;
	ferry__lock(&s->gc_lock);
	size_t n = s->waiting;
	ferry__unlock(&s->gc_lock);
	return n;
}

int ferry__store_sqlite_synchronous(struct ferry_store *st)
{
	struct sql_store *s = st->impl;
	sqlite3_stmt *q = NULL;
	int v = -1;
	ferry__lock(&s->db_lock);
	if (sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	ferry__unlock(&s->db_lock);
	return v;
}

/*
 * store_sqlite_schema.c - the on-disk format of the SQLite store: its
 * tables, the checksum of a message row, the checks made when a file is
 * opened and the migrations between schema versions.
 *
 * Format (version 3). Every table but meta is keyed by client id, so one
 * file can hold many clients:
 *   meta(key, value)          'format' = 'ferry', 'schema_version' = N
 *   messages(client, token, qos, retain, state, packet_id, topic, payload,
 *            props, checksum) primary key (client, token), WITHOUT ROWID
 *   qos2(client, packet_id, hash, released)  inbound QoS 2 ids: awaiting
 *            PUBREL (released 0) or finished, with the delivered message's hash
 *   subscriptions(client, filter, options)
 *   quarantine(id, <the columns of messages>, reason, at): rows that failed
 *            their checksum, moved aside by scan, never deleted by ferry.
 *   index messages_inflight on messages(client, token) where state != 0
 *   clients(client, max_token): raised to the highest token removed, in
 *            the transaction that removes it, so the highest token ever
 *            stored is always in messages, quarantine or clients: open
 *            reports it even after every message was acknowledged (tokens
 *            are never reused across restarts).
 * topic, payload and props are BLOBs (never NULL: empty is a zero-length
 * blob); checksum is ferry__sqlite_msg_sum as a signed 64-bit integer.
 *
 * Opening a file (ferry__sqlite_schema_open):
 *   no tables at all            -> create the current schema (in a write
 *                                  transaction that re-checks, so two
 *                                  connections racing create it once)
 *   tables but no ferry meta    -> FERRY_ERR_STORE_CORRUPT (not ours)
 *   version > current           -> FERRY_ERR_STORE_VERSION (never touched)
 *   version < current           -> migrate one step at a time, each step and
 *                                  its new version number in one transaction
 *   then the file must be as long as its header says (a truncated file is
 *   FERRY_ERR_STORE_CORRUPT), and a file of up to QUICK_CHECK_PAGES pages
 *   must pass PRAGMA quick_check. A larger one is not read whole at open
 *   (that would make opening cost grow with the number of messages):
 *   damage there is met by the reads that touch it, which fail with
 *   FERRY_ERR_STORE_CORRUPT and are reported then.
 * Not a database at all (random bytes) makes SQLite answer SQLITE_NOTADB at
 * the first read, which ferry__sqlite_err maps to FERRY_ERR_STORE_CORRUPT.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store_sqlite.h"

static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE messages(client TEXT NOT NULL, token INTEGER NOT NULL,"
    " qos INTEGER NOT NULL, retain INTEGER NOT NULL, state INTEGER NOT NULL,"
    " packet_id INTEGER NOT NULL, topic BLOB NOT NULL, payload BLOB NOT NULL,"
    " props BLOB NOT NULL, checksum INTEGER NOT NULL, PRIMARY KEY(client, token));"
    "CREATE TABLE qos2(client TEXT NOT NULL, packet_id INTEGER NOT NULL,"
    " PRIMARY KEY(client, packet_id)) WITHOUT ROWID;"
    "CREATE TABLE subscriptions(client TEXT NOT NULL, filter TEXT NOT NULL,"
    " options INTEGER NOT NULL, PRIMARY KEY(client, filter)) WITHOUT ROWID;"
    "CREATE TABLE quarantine(id INTEGER PRIMARY KEY, client TEXT, token INTEGER,"
    " qos, retain, state, packet_id, topic, payload, props, checksum,"
    " reason TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE TABLE clients(client TEXT PRIMARY KEY, max_token INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta VALUES('format', 'ferry'), ('schema_version', 1);";

/*
 * migrations[v] takes a file from version v to v + 1 (index 0 unused). A
 * new file is created at version 1 and migrated like any old file, so every
 * step runs on every new store and stays tested.
 *  1 -> 2: messages becomes a WITHOUT ROWID table (one b-tree keyed by
 *          (client, token) instead of a table plus its key index: a put
 *          writes one page less), and a partial index of the messages in
 *          flight (state != 0) lets a client find them at create without
 *          reading the queued ones.
 *  2 -> 3: qos2 keeps, per inbound packet id, the hash of the message
 *          delivered under it and whether its exchange is over (released),
 *          so a finished message a broker sends again after a restart is
 *          recognised.
 */
static const char *const migrations[FERRY__SQLITE_SCHEMA_VERSION] = {
    NULL,
    "CREATE TABLE messages_v2(client TEXT NOT NULL, token INTEGER NOT NULL,"
    " qos INTEGER NOT NULL, retain INTEGER NOT NULL, state INTEGER NOT NULL,"
    " packet_id INTEGER NOT NULL, topic BLOB NOT NULL, payload BLOB NOT NULL,"
    " props BLOB NOT NULL, checksum INTEGER NOT NULL, PRIMARY KEY(client, token))"
    " WITHOUT ROWID;"
    "INSERT INTO messages_v2 SELECT client, token, qos, retain, state, packet_id, topic,"
    " payload, props, checksum FROM messages;"
    "DROP TABLE messages;"
    "ALTER TABLE messages_v2 RENAME TO messages;"
    "CREATE INDEX messages_inflight ON messages(client, token) WHERE state != 0;",
    "ALTER TABLE qos2 ADD COLUMN hash INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE qos2 ADD COLUMN released INTEGER NOT NULL DEFAULT 0;",
};

int ferry__sqlite_err(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return FERRY_OK;
	case SQLITE_FULL:
		return FERRY_ERR_STORE_FULL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return FERRY_ERR_STORE_CORRUPT;
	case SQLITE_NOMEM:
		return FERRY_ERR_NOMEM;
	case SQLITE_CONSTRAINT:
		return FERRY_ERR_INVAL;
	default:
		return FERRY_ERR_STORE_IO;
	}
}

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* Hashes v as `width` big-endian bytes. */
static uint64_t fnv_uint(uint64_t h, uint64_t v, unsigned width)
{
	for (unsigned i = width; i-- > 0;) {
		h ^= (v >> (8 * i)) & 0xffu;
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t fnv_field(uint64_t h, const void *p, size_t n)
{
	return fnv_bytes(fnv_uint(h, n, 8), p, n);
}

uint64_t ferry__sqlite_msg_sum(const char *client, size_t client_len,
                               const struct ferry_stored_msg *m)
{
	uint64_t h = fnv_field(FNV_OFFSET, client, client_len);
	h = fnv_uint(h, m->token, 8);
	h = fnv_uint(h, m->qos, 1);
	h = fnv_uint(h, m->retain ? 1u : 0u, 1);
	h = fnv_uint(h, m->state, 1);
	h = fnv_uint(h, m->packet_id, 2);
	h = fnv_field(h, m->topic, m->topic_len);
	h = fnv_field(h, m->payload, m->payload_len);
	return fnv_field(h, m->props, m->props_len);
}

/* SQL ferry_msg_sum(client, token, qos, retain, state, packet_id, topic,
 * payload, props): the same checksum, for UPDATEs that change a field. */
static void sql_msg_sum(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct ferry_stored_msg m = {0};
	const char *client = (const char *)sqlite3_value_text(argv[0]);
	size_t client_len = (size_t)sqlite3_value_bytes(argv[0]);
	m.token = (uint64_t)sqlite3_value_int64(argv[1]);
	m.qos = (uint8_t)sqlite3_value_int(argv[2]);
	m.retain = sqlite3_value_int(argv[3]) != 0;
	m.state = (uint8_t)sqlite3_value_int(argv[4]);
	m.packet_id = (uint16_t)sqlite3_value_int(argv[5]);
	m.topic = sqlite3_value_blob(argv[6]);
	m.topic_len = (size_t)sqlite3_value_bytes(argv[6]);
	m.payload = sqlite3_value_blob(argv[7]);
	m.payload_len = (size_t)sqlite3_value_bytes(argv[7]);
	m.props = sqlite3_value_blob(argv[8]);
	m.props_len = (size_t)sqlite3_value_bytes(argv[8]);
	sqlite3_result_int64(ctx, (sqlite3_int64)ferry__sqlite_msg_sum(client, client_len, &m));
}

/* Runs a query returning one integer (*out), or SQLITE_DONE if no row. */
static int query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			if (sqlite3_column_type(st, 0) != SQLITE_INTEGER)
				rc = SQLITE_MISMATCH;
			else
				*out = sqlite3_column_int64(st, 0);
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int exec(sqlite3 *db, const char *sql)
{
	return ferry__sqlite_err(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* Creates the current schema if the file has no tables at all. */
static int create_if_empty(sqlite3 *db)
{
	sqlite3_int64 n = 0;
	int rc = query_int(db, "SELECT count(*) FROM sqlite_master", &n);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? FERRY_ERR_STORE_CORRUPT : ferry__sqlite_err(rc);
	if (n)
		return FERRY_OK;
	rc = exec(db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	rc = ferry__sqlite_err(query_int(db, "SELECT count(*) FROM sqlite_master", &n));
	if (!rc && n == 0)
		rc = exec(db, schema_v1);
	if (!rc)
		rc = exec(db, "COMMIT");
	if (rc)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Reads the schema version; a file without ferry's meta is not ours. */
static int read_version(sqlite3 *db, sqlite3_int64 *version)
{
	sqlite3_int64 n = 0;
	int rc = query_int(db,
	                   "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	                   " AND name = 'meta'",
	                   &n);
	if (rc != SQLITE_ROW)
		return ferry__sqlite_err(rc) ? ferry__sqlite_err(rc) : FERRY_ERR_STORE_CORRUPT;
	if (n != 1)
		return FERRY_ERR_STORE_CORRUPT;
	rc =
	    query_int(db, "SELECT count(*) FROM meta WHERE key = 'format' AND value = 'ferry'", &n);
	if (rc != SQLITE_ROW || n != 1)
		return rc == SQLITE_ROW || !ferry__sqlite_err(rc) ? FERRY_ERR_STORE_CORRUPT
		                                                  : ferry__sqlite_err(rc);
	rc = query_int(db, "SELECT value FROM meta WHERE key = 'schema_version'", version);
	if (rc == SQLITE_ROW)
		return *version >= 1 ? FERRY_OK : FERRY_ERR_STORE_CORRUPT;
	return rc == SQLITE_DONE || rc == SQLITE_MISMATCH ? FERRY_ERR_STORE_CORRUPT
	                                                  : ferry__sqlite_err(rc);
}

/* Takes the file from version v to v + 1 unless another connection did. */
static int migrate_step(sqlite3 *db, sqlite3_int64 v)
{
	int rc = exec(db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	sqlite3_int64 now = 0;
	rc = read_version(db, &now);
	if (!rc && now == v) {
		rc = exec(db, migrations[v]);
		char sql[96];
		snprintf(sql, sizeof sql,
		         "UPDATE meta SET value = %lld WHERE key = 'schema_version'",
		         (long long)(v + 1));
		if (!rc)
			rc = exec(db, sql);
	}
	if (!rc)
		rc = exec(db, "COMMIT");
	if (rc)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Files up to this many pages (8 MiB at 4 KiB pages) are checked whole at open. */
#define QUICK_CHECK_PAGES 2048

/*
 * The database header (SQLite file format, section 1.3) holds the page size
 * at offset 16 (big-endian, 1 meaning 65536) and, when the "version valid
 * for" number at 92 equals the change counter at 24, the size in pages at
 * 28. A file shorter than that lost its tail - unless a WAL file is beside
 * it: a checkpoint writes page 1 (with the new count) before the pages that
 * grow the file, and a process killed in between leaves a sound database
 * whose missing pages are all still in the WAL. So with a non-empty WAL the
 * length is not judged (SQLite's own reads catch real damage). Sets *pages
 * (0 when unknown).
 */
static int check_length(sqlite3 *db, uint32_t *pages)
{
	*pages = 0;
	const char *path = sqlite3_db_filename(db, "main");
	FILE *f = path && *path ? fopen(path, "rb") : NULL;
	if (!f)
		return FERRY_OK; /* in memory, or SQLite knows better */
	unsigned char h[100];
	size_t got = fread(h, 1, sizeof h, f);
	long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	fclose(f);
	if (got < sizeof h || size < 0)
		return FERRY_OK; /* empty: a new file */
	uint32_t psize = (uint32_t)h[16] << 8 | h[17];
	if (psize == 1)
		psize = 65536;
	uint32_t count = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 | (uint32_t)h[30] << 8 | h[31];
	if (memcmp(h + 24, h + 92, 4) != 0)
		return FERRY_OK;
	*pages = count;
	if ((uint64_t)count * psize <= (uint64_t)size)
		return FERRY_OK;
	char wal[4096];
	struct stat st;
	int n = snprintf(wal, sizeof wal, "%s-wal", path);
	if (n > 0 && (size_t)n < sizeof wal && stat(wal, &st) == 0 && st.st_size > 0)
		return FERRY_OK;
	return FERRY_ERR_STORE_CORRUPT;
}

static int quick_check(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		rc = t && strcmp((const char *)t, "ok") == 0 ? SQLITE_OK : SQLITE_CORRUPT;
	}
	sqlite3_finalize(st);
	return ferry__sqlite_err(rc);
}

int ferry__sqlite_schema_open(sqlite3 *db)
{
	int rc = ferry__sqlite_err(sqlite3_create_function(db, "ferry_msg_sum", 9,
	                                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
	                                                   sql_msg_sum, NULL, NULL));
	if (!rc)
		rc = create_if_empty(db);
	if (rc)
		return rc;
	sqlite3_int64 v = 0;
	for (;;) {
		rc = read_version(db, &v);
		if (rc)
			return rc;
		if (v > FERRY__SQLITE_SCHEMA_VERSION)
			return FERRY_ERR_STORE_VERSION;
		if (v == FERRY__SQLITE_SCHEMA_VERSION)
			break;
		rc = migrate_step(db, v);
		if (rc)
			return rc;
	}
	uint32_t pages = 0;
	rc = check_length(db, &pages);
	if (!rc && pages <= QUICK_CHECK_PAGES)
		rc = quick_check(db);
	return rc;
}

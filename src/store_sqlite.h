/*
 * store_sqlite.h - internals shared by the SQLite store's files
 * (store_sqlite.c: the operations and group commit; store_sqlite_schema.c:
 * the on-disk format, its checks and migrations) and by its unit tests.
 * Not for other modules: the store is the only place with SQL.
 */
#ifndef FERRY_STORE_SQLITE_H
#define FERRY_STORE_SQLITE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include <ferry/store.h>

/* The schema version this ferry writes; older files are migrated up to it. */
#define FERRY__SQLITE_SCHEMA_VERSION 3

/*
 * ferry__sqlite_err - maps a SQLite result code to a ferry error:
 * FULL -> FERRY_ERR_STORE_FULL, CORRUPT/NOTADB -> FERRY_ERR_STORE_CORRUPT,
 * NOMEM -> FERRY_ERR_NOMEM, CONSTRAINT -> FERRY_ERR_INVAL, anything else
 * but OK/ROW/DONE -> FERRY_ERR_STORE_IO; OK, ROW, DONE -> FERRY_OK.
 */
int ferry__sqlite_err(int sqlite_rc);

/*
 * ferry__sqlite_schema_open - checks, creates or migrates the ferry schema
 * on an open connection: an empty file gets the current schema; a file with
 * tables but no ferry meta table, or one failing PRAGMA quick_check, is
 * FERRY_ERR_STORE_CORRUPT; a newer schema is FERRY_ERR_STORE_VERSION; an
 * older one is migrated step by step, each step in its own transaction.
 * Also registers the checksum SQL function (ferry_msg_sum) on db.
 */
int ferry__sqlite_schema_open(sqlite3 *db);

/*
 * ferry__sqlite_msg_sum - the checksum of a message row: 64-bit FNV-1a over
 * the client id and every field of m (lengths included, big-endian), as
 * stored in the row's checksum column (cast to int64).
 */
uint64_t ferry__sqlite_msg_sum(const char *client, size_t client_len,
                               const struct ferry_stored_msg *m);

/*
 * ferry__store_sqlite_commits - transactions the group commit has committed
 * for put since the store was created (for tests and benchmarks). s must be
 * a SQLite store. Safe from any thread.
 */
uint64_t ferry__store_sqlite_commits(struct ferry_store *s);

/* ferry__store_sqlite_puts - put calls that returned FERRY_OK (same rules). */
uint64_t ferry__store_sqlite_puts(struct ferry_store *s);

/*
 * ferry__store_sqlite_waiting - put calls inside put right now (queued or
 * being written), for tests that make commits share deterministically.
 * Same rules as ferry__store_sqlite_commits.
 */
size_t ferry__store_sqlite_waiting(struct ferry_store *s);

/*
 * ferry__store_sqlite_synchronous - the connection's PRAGMA synchronous
 * (1 NORMAL, 2 FULL), for tests that check each level is what it says and
 * stays so after lazy updates. Same rules as ferry__store_sqlite_commits.
 */
int ferry__store_sqlite_synchronous(struct ferry_store *s);

#endif

/*
 * store_util.h - helpers shared by the durable-store integration suites
 * ("store" in test_store.c, "store-faults" in test_store_faults.c): the
 * mosquitto broker of the running suite, temporary store directories, the
 * sqlite3 command-line shell, a recorder that keeps the delivery-complete
 * tokens, listings of the stored messages, and durable clients.
 *
 * Ownership and lifetime:
 *  - The broker: one at a time, owned by this module. A suite's init calls
 *    st_broker_start and its clean st_broker_stop; st_broker_uri is valid in
 *    between, and the helpers that connect without being given a URI
 *    (st_assert_nothing_stored) use that broker.
 *  - struct tdir is the caller's (on the stack): st_tdir_make creates the
 *    directory, st_tdir_remove removes it with every file in it. Every client
 *    on td.path is destroyed before the remove.
 *  - struct srec comes from st_srec_new and is freed by st_srec_free, after
 *    every client whose callbacks write into it was destroyed. Its fields are
 *    read under r.mu while such a client runs.
 *  - Clients returned (store_client, st_subscriber) are the caller's to
 *    ferry_client_destroy. store_options keeps the uri, id and path pointers:
 *    they must live until ferry_client_create returns.
 *  - struct listed (about 160 KB: allocate it) holds copies, valid after
 *    the client is gone.
 *
 * The helpers are called from the test's thread (the srec callbacks run on
 * the clients' threads, under r.mu). They report problems as CUnit
 * failures; an allocation or client creation that fails ends the test.
 */
#ifndef FERRY_ITEST_STORE_UTIL_H
#define FERRY_ITEST_STORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "itest.h"

/* Tokens an srec keeps, and entries a struct listed holds. */
#define ST_TOK_MAX 2048

/* ---- the suite's broker ---- */

/* Starts the suite's mosquitto (a suite's init); 0, or 1 with the reason on stderr. */
int st_broker_start(void);
/* Stops the suite's broker and removes its directory (a suite's clean); returns 0. */
int st_broker_stop(void);
/* URI of the suite's broker; NULL when none runs. */
const char *st_broker_uri(void);

/* ---- temporary directory ---- */

struct tdir {
	char dir[64];
	char path[128]; /* dir/store.db */
};

/* Creates a fresh /tmp/ferry-itest-store-XXXXXX; t->path names store.db in it (not created). */
void st_tdir_make(struct tdir *t);
/* Removes every file of the directory (the database, its -wal and -shm) and the directory. */
void st_tdir_remove(struct tdir *t);

/* ---- the sqlite3 shell ---- */

/*
 * Runs `sqlite3 -batch -bail db sql` and puts its standard output (trailing
 * newline removed) in out. Bounded (10 s, then SIGKILL). Returns true when
 * the shell exited with status 0.
 */
bool st_sql_shell(const char *db, const char *sql, char *out, size_t cap);

/* ---- a recorder that also keeps the delivery-complete tokens ---- */

struct srec {
	struct itest_rec r; /* first: the itest callbacks take user as a struct itest_rec */
	ferry_token tok[ST_TOK_MAX]; /* on_delivery_complete's tokens, in call order */
	size_t ntok;
	int stale; /* completions (rc OK) whose row ferry_stored_list still showed */
};

/* A zeroed, initialised recorder (FATAL on allocation failure). */
struct srec *st_srec_new(void);
/* Frees a recorder of st_srec_new. */
void st_srec_free(struct srec *s);
/* Waits for n delivery completions; true when exactly the tokens want[0..n-1]
 * (in any order) completed, each with FERRY_OK. Asserts none was stale. */
bool st_delivered_exactly(struct srec *s, const ferry_token *want, size_t n);
/* Whether message i of r has this topic and payload (a C string). */
bool st_msg_is(struct itest_rec *r, size_t i, const char *topic, const char *payload);
/* Index of the first message of r[0..n) that is not prefix + "%03d" of its index on topic, or n. */
size_t st_first_wrong(struct itest_rec *r, const char *topic, const char *prefix, size_t n);

/* ---- stored messages ---- */

struct lentry {
	ferry_token token;
	uint8_t qos, state;
	bool retain;
	uint16_t packet_id;
	char topic[32], payload[32]; /* NUL-terminated copies (cut at 31 bytes) */
};

struct listed {
	struct lentry e[ST_TOK_MAX];
	size_t n;
};

/* ferry_stored_list callback: appends m to the struct listed in arg (stops when full). */
int st_list_cb(void *arg, const struct ferry_stored_msg *m);
/* Lists every stored message of c into l (emptied first); returns l. */
struct listed *st_list_all(ferry_client *c, struct listed *l);
/* How many messages c has stored. */
size_t st_list_count(ferry_client *c);
/* Whether exactly the tokens tok[0..n) are listed, in that order. */
bool st_listed_tokens(ferry_client *c, const ferry_token *tok, size_t n);

/* ---- clients ---- */

/* Options of a durable client: store_path, clean_session 0, keepalive off. */
void store_options(struct ferry_client_options *o, struct srec *s, const char *u, const char *id,
                   const char *path);
/* Creates (does not connect) a durable client; FATAL unless create succeeds. */
ferry_client *store_client(struct srec *s, const char *u, const char *id, const char *path);
/*
 * The next run on the store finds nothing for client id: what was
 * acknowledged is not sent again. (Checked at a restart, not in the running
 * client: delivery-complete may run before the acknowledged rows are
 * removed, which happens right after, on another thread.)
 */
void st_assert_nothing_stored(const char *path, const char *id);
/* Disconnects c and waits for it. */
void st_disconnect(ferry_client *c);
/* The uint64_t at offset of c's ferry_stats; use ST_STAT. */
uint64_t st_stat_of(ferry_client *c, size_t offset);
#define ST_STAT(c, field) st_stat_of((c), offsetof(struct ferry_stats, field))
/* A subscriber on broker u (clean session), subscribed to filter at QoS 2. */
ferry_client *st_subscriber(struct srec *s, const char *u, const char *id, const char *filter);

#endif

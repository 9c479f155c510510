/*
 * crec.h - the recorder of the cluster tests: one ferry client and what its
 * callbacks saw (every connection, the losses, numbered messages, publish
 * and subscribe completions), with bounded waits on it. Used by the
 * rabbitmq and ejabberd suites; built on test/integration/itest.h's
 * recorder, which it embeds.
 *
 * Typical use:
 *
 *	struct crec r;
 *	crec_init(&r, "sub", 2000);               numbers 1..2000 tracked
 *	struct ferry_client_options o;
 *	crec_options(&o, &r, uris, n, "client-id");
 *	o.keepalive_s = 2;                         ... what the suite needs
 *	crec_client_create(&r, &o);                r.c
 *	crec_connect(&r, 60000);                   CONNACK and on_connected
 *	crec_subscribe(&r, "t", 1, 20000);         r.granted0
 *	crec_wait_all(&r, 1, 2000, NULL, NULL, 60000);
 *	crec_free(&r);                             destroys r.c first
 *
 * Numbered messages: a payload that is a decimal number in 1..max_num and
 * nothing else ("17"), as crec_publish_number sends them. Each arrival
 * marks seen[n]; the set of numbers seen is what the tests check (QoS 1
 * may deliver twice). Any other payload is "the wanted payload" (crec_want)
 * or unexpected.
 *
 * Ownership and lifetime:
 *  - struct crec is owned by the caller (a few hundred bytes; the per-number
 *    arrays are on the heap, owned by it). crec_free must be called once
 *    after crec_init, whatever happened in between.
 *  - The client r.c, made by crec_client_create, belongs to the recorder:
 *    crec_free destroys it before anything else, so no callback (the
 *    per-call completions of crec_publish_number are called at destroy)
 *    ever sees a freed recorder.
 *  - name is borrowed: it must outlive the recorder (a string literal).
 *
 * Threads: ferry's callbacks (the client's own thread) write the recorder,
 * the test's threads read it and wait on it. Every field after the
 * "guarded by base.mu" line is read and written only with base.mu held
 * (crec_wait_locked holds it; the test may lock it itself), and every
 * change is broadcast on base.cv. name, c, t0, max_num, expect_qos and the
 * array pointers are set before the client exists and are read-only after.
 * A struct copy taken under the lock (a snapshot) may be read freely, but
 * its mutex and arrays are not to be used. All functions are safe from any
 * test thread; none may be called from a ferry callback (they lock, wait or
 * call ferry).
 *
 * Errors: FERRY_OK or a negative enum ferry_err.
 */
#ifndef FERRY_TEST_CLUSTER_CREC_H
#define FERRY_TEST_CLUSTER_CREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/ferry.h"
#include "itest.h"

#define CREC_MAX_CONNS 8 /* connections remembered; later ones overwrite the last */

/* One on_connected call. */
struct crec_conn {
	char uri[64];         /* server_uri ("" if none) */
	bool session_present; /* CONNACK's session present */
	bool reconnect;       /* not the first connection of the client */
	int64_t at_ms;        /* when it came (test_now_ms) */
};

struct crec;

/* The completion argument of one numbered publish. */
struct crec_slot {
	struct crec *r;
	int n;
};

/* A condition on a recorder (evaluated with base.mu held). */
typedef bool (*crec_pred)(const struct crec *r, const void *arg);

struct crec {
	/*
	 * First member (the callbacks' user pointer is the struct crec and
	 * itest.c's callbacks take it as this): base.mu and base.cv guard and
	 * signal everything below. itest.c's callbacks record into base.lost,
	 * lost_cause, lost_text (on_connection_lost) and base.delivered,
	 * delivered_failed (on_delivery_complete); crec's own on_connected
	 * keeps base.connected and base.session_present (of the latest).
	 */
	struct itest_rec base;
	const char *name; /* in log lines and reports */
	ferry_client *c;  /* crec_client_create; destroyed by crec_free */
	int64_t t0;       /* crec_init time, for log lines */
	int max_num;      /* numbers 1..max_num tracked (0: none) */
	int expect_qos;   /* messages at another QoS are unexpected (-1: any; default) */
	/* --- guarded by base.mu ------------------------------------------------------- */
	struct crec_conn conn[CREC_MAX_CONNS]; /* conn[i]: connection i + 1 */
	/* receiving */
	int msgs;               /* every message */
	int numbered;           /* messages carrying a number */
	int distinct;           /* numbers seen at least once */
	int unexpected;         /* neither numbered nor wanted, or not at expect_qos */
	uint8_t *seen;          /* seen[n]: arrivals of n (saturates at 255) */
	char want[64];          /* crec_want: a payload the test waits for */
	int want_seen;          /* its arrivals */
	int want_qos;           /* its QoS, the latest time */
	int first_after;        /* first number after the latest reconnect (0: none yet) */
	int64_t first_after_ms; /* when it came */
	/* crec_publish_number's completions */
	struct crec_slot *slots;    /* slots[n]: n's completion argument */
	uint8_t *ack_conn;          /* ack_conn[n]: connection (1-based) n completed on, 0: not */
	int16_t *reason;            /* reason[n]: reason code of n's completion (-1: none) */
	int completed;              /* with FERRY_OK */
	int failed;                 /* with an error ... */
	int fail_rc;                /* ... the latest of which */
	int64_t first_ack_after_ms; /* first FERRY_OK completion after a reconnect */
	/* the latest crec_subscribe */
	bool sub_done;
	int sub_rc;
	size_t granted_count;
	int granted0; /* granted[0], -1 if none */
};

/*
 * crec_init - an empty recorder named name, tracking numbers 1..max_num
 * (0: none, and then it cannot fail); FERRY_ERR_NOMEM if the arrays could
 * not be allocated (crec_free is still to be called).
 */
int crec_init(struct crec *r, const char *name, int max_num);

/* crec_free - destroys r->c (if any), then frees what r holds. */
void crec_free(struct crec *r);

/*
 * crec_options - options of a cluster client: FERRY_CLIENT_OPTIONS_INIT
 * with the nodes uris[0..n-1] as server_uris (tried in order), client_id,
 * every callback recording into r, quick reconnects (reconnect_min_ms 100),
 * connect_timeout_ms 10000, ferry's log on stderr ("[name +ms] text":
 * warnings and errors; everything, every packet, with FERRY_TEST_LOG set).
 * The strings are borrowed until crec_client_create (ferry copies them).
 */
void crec_options(struct ferry_client_options *o, struct crec *r, const char *const *uris, size_t n,
                  const char *client_id);

/* crec_client_create - ferry_client_create(o) into r->c. */
int crec_client_create(struct crec *r, const struct ferry_client_options *o);

/* crec_connect - ferry_connect r->c, wait for the outcome and for on_connected. */
int crec_connect(struct crec *r, int timeout_ms);

/*
 * crec_subscribe - subscribe r->c to filter and wait for the SUBACK: its rc
 * (FERRY_ERR_TIMEOUT after timeout_ms); granted QoS in r->granted0.
 */
int crec_subscribe(struct crec *r, const char *filter, int qos, int timeout_ms);

/*
 * crec_publish_number - publish the number n (1..max_num) on topic; its
 * completion is recorded (completed/failed, ack_conn[n], reason[n]). The
 * return value is ferry_publish's.
 */
int crec_publish_number(struct crec *r, const char *topic, int n, int qos);

/* crec_want - count the arrivals of payload text from now on (want_seen). */
void crec_want(struct crec *r, const char *text);

/*
 * crec_wait_int - wait (at most timeout_ms) until *field reaches n: an int
 * of r, or of a struct that embeds r, guarded by base.mu like r's own.
 */
bool crec_wait_int(struct crec *r, const int *field, int n, int timeout_ms);

/* crec_get_int - *field (as for crec_wait_int) read under base.mu. */
int crec_get_int(struct crec *r, const int *field);

/* crec_wait - wait (at most timeout_ms) until pred(r, arg) holds; whether it does. */
bool crec_wait(struct crec *r, crec_pred pred, const void *arg, int timeout_ms);

/* crec_wait_locked - crec_wait with base.mu already held (and still held on return). */
bool crec_wait_locked(struct crec *r, crec_pred pred, const void *arg, int timeout_ms);

/* crec_count_missing - numbers of from..to never seen, but those with skip[n] set. */
int crec_count_missing(struct crec *r, int from, int to, const uint8_t *skip);

/*
 * crec_wait_all - wait (at most timeout_ms) until every number of from..to
 * but those with skip[n] set (skip NULL: none) has arrived; if not, report
 * what is missing (crec_report_missing, with pub).
 */
bool crec_wait_all(struct crec *r, int from, int to, const uint8_t *skip, struct crec *pub,
                   int timeout_ms);

/*
 * crec_report_missing - list to stderr a few numbers of from..to r never
 * saw, each with what became of its publish at pub (NULL: not said).
 */
void crec_report_missing(struct crec *r, int from, int to, struct crec *pub);

/*
 * crec_expect_failover - after a node was killed: wait (at most timeout_ms)
 * for r's second connection and assert that the first was to from_uri and
 * not a reconnect, the second to to_uri and a reconnect, with session
 * present as want_session says (1, 0; -1: not checked). Whether r came back.
 */
bool crec_expect_failover(struct crec *r, const char *from_uri, const char *to_uri,
                          int want_session, int timeout_ms);

#endif

/*
 * itest.h - helpers for integration tests of the client: a recorder that
 * callbacks write into and tests wait on (with bounds, never sleeps), and
 * client construction against a test broker.
 */
#ifndef FERRY_ITEST_H
#define FERRY_ITEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/ferry.h"

/* Generous bound for every wait in the integration tests. */
#define ITEST_WAIT_MS 20000

struct itest_msg {
	char *topic;
	uint8_t *payload;
	size_t len;
	int qos;
	bool retain;
	bool dup;
};

/* What one client's callbacks saw. Thread-safe (own mutex). */
struct itest_rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct itest_msg *msgs; /* every message delivered, in order */
	size_t nmsgs, capmsgs;
	int connected;          /* on_connected calls */
	bool session_present;   /* of the latest on_connected */
	int lost;               /* on_connection_lost calls */
	int lost_cause;
	char lost_text[256];    /* text of the latest on_connection_lost */
	int delivered;          /* on_delivery_complete calls */
	int delivered_failed;   /* ... with rc != FERRY_OK */
	int results;            /* per-call on_done calls */
	int last_rc;            /* rc of the latest per-call result */
	int last_reason;
};

void itest_rec_init(struct itest_rec *r);
void itest_rec_free(struct itest_rec *r);
/* Waits until `field` (an int of r, read under its lock) reaches at least n. */
bool itest_wait_int(struct itest_rec *r, const int *field, int n, int timeout_ms);
/* Waits until at least n messages were delivered. */
bool itest_wait_msgs(struct itest_rec *r, size_t n, int timeout_ms);
/* Waits until a message on `topic` arrived; returns its index or -1. */
long itest_wait_topic(struct itest_rec *r, const char *topic, int timeout_ms);
size_t itest_nmsgs(struct itest_rec *r);
/* session_present of the latest on_connected, read under the lock. */
bool itest_session_present(struct itest_rec *r);

/* Options with every callback pointing at the recorder. */
void itest_options(struct ferry_client_options *o, struct itest_rec *r, const char *uri,
                   const char *client_id);
/* Creates and connects a client; NULL (with a CUnit failure) on error. */
ferry_client *itest_connect(struct itest_rec *r, const char *uri, const char *client_id,
                            int version, bool clean);
/* Connects an existing client and waits for the outcome; returns the rc. */
int itest_connect_wait(ferry_client *c);
/* Subscribes and waits for the SUBACK; returns the rc. */
int itest_subscribe(ferry_client *c, const char *filter, int qos);
/* A per-call completion that records into the struct itest_rec in user. */
extern const struct ferry_call itest_call_template;

#endif

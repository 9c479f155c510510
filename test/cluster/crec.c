/*
 * crec.c - the cluster tests' recorder: ferry's callbacks write it, the
 * tests wait on it. See crec.h.
 */
#include "cluster/crec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "support/clock.h"

#define MISSING_SHOWN 20 /* numbers listed by crec_report_missing */

int crec_init(struct crec *r, const char *name, int max_num)
{
	memset(r, 0, sizeof *r);
	itest_rec_init(&r->base);
	r->name = name;
	r->t0 = test_now_ms();
	r->expect_qos = -1;
	r->granted0 = -1;
	if (max_num <= 0)
		return FERRY_OK;
	size_t cells = (size_t)max_num + 1;
	r->seen = calloc(cells, 1);
	r->ack_conn = calloc(cells, 1);
	r->slots = calloc(cells, sizeof *r->slots);
	r->reason = malloc(cells * sizeof *r->reason);
	if (!r->seen || !r->ack_conn || !r->slots || !r->reason)
		return FERRY_ERR_NOMEM;
	for (size_t n = 0; n < cells; n++)
		r->reason[n] = -1;
	r->max_num = max_num;
	return FERRY_OK;
}

void crec_free(struct crec *r)
{
	ferry_client_destroy(r->c); /* first: its last callbacks still record here */
	r->c = NULL;
	free(r->seen);
	free(r->ack_conn);
	free(r->slots);
	free(r->reason);
	itest_rec_free(&r->base);
}

/* --- callbacks ------------------------------------------------------------------- */

static void on_log(void *user, int level, const char *text)
{
	const struct crec *r = user;
	(void)level; /* o.log_level already chose */
	fprintf(stderr, "[%s +%ld ms] %s\n", r->name, (long)(test_now_ms() - r->t0), text);
}

static void on_connected(ferry_client *c, void *user, const struct ferry_connected_info *info)
{
	(void)c;
	struct crec *r = user;
	pthread_mutex_lock(&r->base.mu);
	int i = r->base.connected < CREC_MAX_CONNS ? r->base.connected : CREC_MAX_CONNS - 1;
	struct crec_conn *k = &r->conn[i];
	snprintf(k->uri, sizeof k->uri, "%s", info->server_uri ? info->server_uri : "");
	k->session_present = info->session_present;
	k->reconnect = info->reconnect;
	k->at_ms = test_now_ms();
	r->base.connected++;
	r->base.session_present = info->session_present;
	if (info->reconnect)
		r->first_after = 0; /* numbers from here on came through this connection */
	pthread_cond_broadcast(&r->base.cv);
	pthread_mutex_unlock(&r->base.mu);
}

/* The number a payload is (1..max), or 0. */
static int payload_number(const void *payload, size_t len, int max)
{
	char text[16];
	if (len == 0 || len >= sizeof text)
		return 0;
	memcpy(text, payload, len);
	text[len] = '\0';
	char *end = NULL;
	long n = strtol(text, &end, 10);
	return *end == '\0' && n >= 1 && n <= max ? (int)n : 0;
}

/* A number arrived (base.mu held). */
static void saw_number(struct crec *r, int n)
{
	r->numbered++;
	if (r->seen[n] == 0)
		r->distinct++;
	if (r->seen[n] < 255)
		r->seen[n]++;
	if (r->base.connected > 1 && r->first_after == 0) {
		r->first_after = n;
		r->first_after_ms = test_now_ms();
	}
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	struct crec *r = user;
	int n = payload_number(m->payload, m->payload_len, r->max_num);
	pthread_mutex_lock(&r->base.mu);
	size_t wlen = strlen(r->want);
	bool wanted = wlen > 0 && m->payload_len == wlen && memcmp(m->payload, r->want, wlen) == 0;
	r->msgs++;
	if (wanted) {
		r->want_seen++;
		r->want_qos = m->qos;
	} else if (n) {
		saw_number(r, n);
	}
	if ((!wanted && !n) || (r->expect_qos >= 0 && m->qos != r->expect_qos))
		r->unexpected++;
	pthread_cond_broadcast(&r->base.cv);
	pthread_mutex_unlock(&r->base.mu);
}

static void on_sub_done(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	struct crec *r = user;
	pthread_mutex_lock(&r->base.mu);
	r->sub_rc = res->rc;
	r->granted_count = res->granted_count;
	r->granted0 = res->granted_count ? res->granted[0] : -1;
	r->sub_done = true;
	pthread_cond_broadcast(&r->base.cv);
	pthread_mutex_unlock(&r->base.mu);
}

/* Callbacks come in order on one thread: base.connected is the connection it completed on. */
static void on_number_done(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	const struct crec_slot *s = user;
	struct crec *r = s->r;
	pthread_mutex_lock(&r->base.mu);
	r->reason[s->n] = (int16_t)res->reason_code;
	if (res->rc == FERRY_OK) {
		r->completed++;
		r->ack_conn[s->n] = (uint8_t)(r->base.connected < 255 ? r->base.connected : 255);
		if (r->base.connected > 1 && r->first_ack_after_ms == 0)
			r->first_ack_after_ms = test_now_ms();
	} else {
		r->failed++;
		r->fail_rc = res->rc;
	}
	pthread_cond_broadcast(&r->base.cv);
	pthread_mutex_unlock(&r->base.mu);
}

/* --- the client ---------------------------------------------------------------------- */

void crec_options(struct ferry_client_options *o, struct crec *r, const char *const *uris, size_t n,
                  const char *client_id)
{
	/* itest.c's on_connection_lost and on_delivery_complete record into r->base */
	itest_options(o, &r->base, NULL, client_id);
	o->server_uris = uris;
	o->server_uri_count = n;
	o->on_connected = on_connected;
	o->on_message = on_message;
	o->reconnect_min_ms = 100;
	o->on_log = on_log;
	o->log_level = getenv("FERRY_TEST_LOG") ? FERRY_LOG_DEBUG : FERRY_LOG_WARNING;
}

int crec_client_create(struct crec *r, const struct ferry_client_options *o)
{
	if (r->c)
		return FERRY_ERR_STATE;
	return ferry_client_create(o, &r->c);
}

int crec_connect(struct crec *r, int timeout_ms)
{
	if (!r->c)
		return FERRY_ERR_STATE;
	int64_t end = test_now_ms() + timeout_ms;
	ferry_token t = 0;
	int rc = ferry_connect(r->c, NULL, &t);
	if (!rc)
		rc = ferry_wait(r->c, t, timeout_ms);
	int64_t left = end - test_now_ms();
	if (!rc && !crec_wait_int(r, &r->base.connected, 1, left > 0 ? (int)left : 0))
		rc = FERRY_ERR_TIMEOUT;
	return rc;
}

static bool pred_sub_done(const struct crec *r, const void *unused)
{
	(void)unused;
	return r->sub_done;
}

int crec_subscribe(struct crec *r, const char *filter, int qos, int timeout_ms)
{
	struct ferry_call call = {.on_done = on_sub_done, .user = r};
	pthread_mutex_lock(&r->base.mu);
	r->sub_done = false;
	pthread_mutex_unlock(&r->base.mu);
	int rc = ferry_subscribe(r->c, filter, qos, &call, NULL);
	if (rc)
		return rc;
	pthread_mutex_lock(&r->base.mu);
	bool done = crec_wait_locked(r, pred_sub_done, NULL, timeout_ms);
	rc = done ? r->sub_rc : FERRY_ERR_TIMEOUT;
	pthread_mutex_unlock(&r->base.mu);
	return rc;
}

int crec_publish_number(struct crec *r, const char *topic, int n, int qos)
{
	if (n < 1 || n > r->max_num)
		return FERRY_ERR_INVAL;
	char text[16];
	int len = snprintf(text, sizeof text, "%d", n);
	r->slots[n].r = r; /* set before ferry can call on_number_done */
	r->slots[n].n = n;
	struct ferry_call call = {.on_done = on_number_done, .user = &r->slots[n]};
	return ferry_publish(r->c, topic, text, (size_t)len, qos, false, &call, NULL);
}

void crec_want(struct crec *r, const char *text)
{
	pthread_mutex_lock(&r->base.mu);
	snprintf(r->want, sizeof r->want, "%s", text);
	r->want_seen = 0;
	pthread_mutex_unlock(&r->base.mu);
}

/* --- waiting and reading ----------------------------------------------------------- */

bool crec_wait_int(struct crec *r, const int *field, int n, int timeout_ms)
{
	return itest_wait_int(&r->base, field, n, timeout_ms); /* r's ints share base.mu */
}

int crec_get_int(struct crec *r, const int *field)
{
	pthread_mutex_lock(&r->base.mu);
	int v = *field;
	pthread_mutex_unlock(&r->base.mu);
	return v;
}

bool crec_wait_locked(struct crec *r, crec_pred pred, const void *arg, int timeout_ms)
{
	/* base.cv waits on CLOCK_MONOTONIC (itest_rec_init), test_now_ms's clock */
	int64_t end = test_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct timespec ts = {.tv_sec = (time_t)(end / 1000),
	                      .tv_nsec = (long)(end % 1000) * 1000000L};
	while (!pred(r, arg))
		if (pthread_cond_timedwait(&r->base.cv, &r->base.mu, &ts))
			break;
	return pred(r, arg);
}

bool crec_wait(struct crec *r, crec_pred pred, const void *arg, int timeout_ms)
{
	pthread_mutex_lock(&r->base.mu);
	bool ok = crec_wait_locked(r, pred, arg, timeout_ms);
	pthread_mutex_unlock(&r->base.mu);
	return ok;
}

/* Whether n (1..max_num, or never to arrive) was not seen and not skipped (base.mu held). */
static bool absent(const struct crec *r, int n, const uint8_t *skip)
{
	if (n < 1 || n > r->max_num)
		return true;
	return r->seen[n] == 0 && !(skip && skip[n]);
}

/* Numbers of from..to absent (base.mu held). */
static int missing_locked(const struct crec *r, int from, int to, const uint8_t *skip)
{
	int missing = 0;
	for (int n = from; n <= to; n++)
		missing += absent(r, n, skip);
	return missing;
}

int crec_count_missing(struct crec *r, int from, int to, const uint8_t *skip)
{
	pthread_mutex_lock(&r->base.mu);
	int missing = missing_locked(r, from, to, skip);
	pthread_mutex_unlock(&r->base.mu);
	return missing;
}

/* What crec_wait_all waits for. */
struct cover {
	int from, to;
	const uint8_t *skip;
};

static bool pred_covered(const struct crec *r, const void *arg)
{
	const struct cover *k = arg;
	return missing_locked(r, k->from, k->to, k->skip) == 0;
}

bool crec_wait_all(struct crec *r, int from, int to, const uint8_t *skip, struct crec *pub,
                   int timeout_ms)
{
	struct cover k = {from, to, skip};
	bool ok = crec_wait(r, pred_covered, &k, timeout_ms);
	if (!ok)
		crec_report_missing(r, from, to, pub);
	return ok;
}

void crec_report_missing(struct crec *r, int from, int to, struct crec *pub)
{
	int shown[MISSING_SHOWN], nshown = 0;
	pthread_mutex_lock(&r->base.mu);
	int total = missing_locked(r, from, to, NULL);
	for (int n = from; n <= to && nshown < MISSING_SHOWN; n++)
		if (absent(r, n, NULL))
			shown[nshown++] = n;
	pthread_mutex_unlock(&r->base.mu);
	fprintf(stderr, "%s: %d of %d..%d missing:", r->name, total, from, to);
	if (pub)
		pthread_mutex_lock(&pub->base.mu);
	for (int i = 0; i < nshown; i++) {
		int n = shown[i];
		if (pub && n >= 1 && n <= pub->max_num)
			fprintf(stderr, " %d (reason %d, acknowledged on %s's connection %d)", n,
			        pub->reason[n], pub->name, pub->ack_conn[n]);
		else
			fprintf(stderr, " %d", n);
	}
	if (pub)
		pthread_mutex_unlock(&pub->base.mu);
	fprintf(stderr, "%s\n", total > nshown ? " ..." : "");
}

/* --- failover ------------------------------------------------------------------------ */

bool crec_expect_failover(struct crec *r, const char *from_uri, const char *to_uri,
                          int want_session, int timeout_ms)
{
	bool back = crec_wait_int(r, &r->base.connected, 2, timeout_ms);
	CU_ASSERT_TRUE(back);
	if (!back) {
		fprintf(stderr, "%s did not reconnect after the node was killed\n", r->name);
		return false;
	}
	pthread_mutex_lock(&r->base.mu);
	CU_ASSERT_STRING_EQUAL(r->conn[0].uri, from_uri);
	CU_ASSERT_FALSE(r->conn[0].reconnect);
	CU_ASSERT_STRING_EQUAL(r->conn[1].uri, to_uri);
	CU_ASSERT_TRUE(r->conn[1].reconnect);
	if (want_session >= 0)
		CU_ASSERT_EQUAL(r->conn[1].session_present, want_session == 1);
	pthread_mutex_unlock(&r->base.mu);
	return true;
}

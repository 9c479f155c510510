/* itest.c - recorder and client helpers for the integration tests. */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

void itest_rec_init(struct itest_rec *r)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &a);
	pthread_condattr_destroy(&a);
}

void itest_rec_free(struct itest_rec *r)
{
	for (size_t i = 0; i < r->nmsgs; i++) {
		free(r->msgs[i].topic);
		free(r->msgs[i].payload);
	}
	free(r->msgs);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
}

static void deadline_of(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

bool itest_wait_int(struct itest_rec *r, const int *field, int n, int timeout_ms)
{
	struct timespec ts;
	deadline_of(&ts, timeout_ms);
	pthread_mutex_lock(&r->mu);
	while (*field < n)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts))
			break;
	bool ok = *field >= n;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

bool itest_wait_msgs(struct itest_rec *r, size_t n, int timeout_ms)
{
	struct timespec ts;
	deadline_of(&ts, timeout_ms);
	pthread_mutex_lock(&r->mu);
	while (r->nmsgs < n)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts))
			break;
	bool ok = r->nmsgs >= n;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

long itest_wait_topic(struct itest_rec *r, const char *topic, int timeout_ms)
{
	struct timespec ts;
	deadline_of(&ts, timeout_ms);
	long found = -1;
	size_t from = 0;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		for (; from < r->nmsgs; from++)
			if (strcmp(r->msgs[from].topic, topic) == 0) {
				found = (long)from;
				break;
			}
		if (found >= 0 || pthread_cond_timedwait(&r->cv, &r->mu, &ts))
			break;
	}
	pthread_mutex_unlock(&r->mu);
	return found;
}

size_t itest_nmsgs(struct itest_rec *r)
{
	pthread_mutex_lock(&r->mu);
	size_t n = r->nmsgs;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	struct itest_rec *r = user;
	pthread_mutex_lock(&r->mu);
	if (r->nmsgs == r->capmsgs) {
		r->capmsgs = r->capmsgs ? r->capmsgs * 2 : 64;
		r->msgs = realloc(r->msgs, r->capmsgs * sizeof *r->msgs);
	}
	struct itest_msg *x = &r->msgs[r->nmsgs++];
	x->topic = strdup(m->topic);
	x->payload = malloc(m->payload_len ? m->payload_len : 1);
	if (m->payload_len)
		memcpy(x->payload, m->payload, m->payload_len);
	x->len = m->payload_len;
	x->qos = m->qos;
	x->retain = m->retain;
	x->dup = m->dup;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void on_connected(ferry_client *c, void *user, const struct ferry_connected_info *info)
{
	(void)c;
	struct itest_rec *r = user;
	pthread_mutex_lock(&r->mu);
	r->connected++;
	r->session_present = info->session_present;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	(void)c;
	struct itest_rec *r = user;
	pthread_mutex_lock(&r->mu);
	r->lost++;
	r->lost_cause = cause;
	snprintf(r->lost_text, sizeof r->lost_text, "%s", text ? text : "");
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void on_delivered(ferry_client *c, void *user, ferry_token t, int rc)
{
	(void)c;
	(void)t;
	struct itest_rec *r = user;
	pthread_mutex_lock(&r->mu);
	r->delivered++;
	if (rc)
		r->delivered_failed++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void on_done(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	struct itest_rec *r = user;
	pthread_mutex_lock(&r->mu);
	r->results++;
	r->last_rc = res->rc;
	r->last_reason = res->reason_code;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

const struct ferry_call itest_call_template = {.on_done = on_done, .user = NULL};

void itest_options(struct ferry_client_options *o, struct itest_rec *r, const char *uri,
                   const char *client_id)
{
	struct ferry_client_options d = FERRY_CLIENT_OPTIONS_INIT;
	*o = d;
	o->server_uri = uri;
	o->client_id = client_id;
	o->user = r;
	o->on_message = on_message;
	o->on_connected = on_connected;
	o->on_connection_lost = on_lost;
	o->on_delivery_complete = on_delivered;
	o->connect_timeout_ms = 10000;
}

ferry_client *itest_connect(struct itest_rec *r, const char *uri, const char *client_id,
                            int version, bool clean)
{
	struct ferry_client_options o;
	itest_options(&o, r, uri, client_id);
	o.mqtt_version = version;
	o.clean_session = clean;
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	CU_ASSERT_EQUAL_FATAL(rc, FERRY_OK);
	ferry_token t = 0;
	rc = ferry_connect(c, NULL, &t);
	CU_ASSERT_EQUAL(rc, FERRY_OK);
	rc = ferry_wait(c, t, ITEST_WAIT_MS);
	CU_ASSERT_EQUAL(rc, FERRY_OK);
	if (rc) {
		ferry_client_destroy(c);
		return NULL;
	}
	return c;
}

int itest_subscribe(ferry_client *c, const char *filter, int qos)
{
	ferry_token t = 0;
	int rc = ferry_subscribe(c, filter, qos, NULL, &t);
	if (rc)
		return rc;
	return ferry_wait(c, t, ITEST_WAIT_MS);
}

int itest_connect_wait(ferry_client *c)
{
	ferry_token t = 0;
	int rc = ferry_connect(c, NULL, &t);
	return rc ? rc : ferry_wait(c, t, ITEST_WAIT_MS);
}

bool itest_session_present(struct itest_rec *r)
{
	pthread_mutex_lock(&r->mu);
	bool v = r->session_present;
	pthread_mutex_unlock(&r->mu);
	return v;
}

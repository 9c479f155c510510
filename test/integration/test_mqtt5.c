/*
 * test_mqtt5.c - MQTT 5 end to end against a real mosquitto (suite
 * "mqtt5"): session expiry, user properties and the other publish
 * properties, message expiry, subscription options, server-assigned client
 * ids, subscription identifiers, request/response, maximum packet sizes,
 * delayed wills, shared subscriptions, per-filter reason codes and the
 * call-time property checks.
 *
 * Two brokers: the main one (defaults), and a "strict" one with
 * max_packet_size 1000 that lets anonymous clients subscribe only to
 * strict/#. Set M5_DEBUG=1 in the environment to have every client log its
 * packets (DEBUG) to stderr.
 *
 * "Not delivered" is always shown with a marker: a later message the same
 * subscriber does get, which the broker queues behind the one that must not
 * come. The only waits on the clock are "at least 2 s later" (message expiry,
 * will delay), done as a bounded wait on an event that never happens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "unit/util.h"

static struct test_broker broker, strict;
static const char *uri, *strict_uri;

/* The strict broker refuses subscriptions outside strict/# (0x87) through
 * mosquitto's dynamic security plugin: its acl_file grants every SUBSCRIBE
 * and filters at delivery instead. */
#define DYNSEC_SO "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
static bool have_dynsec;

/* ---- a recorder that keeps the properties ------------------------------ */

struct m5msg {
	struct ferry_message *m; /* ferry_message_dup of what arrived, properties included */
	char dup[16];            /* ferry_properties_get_user(m->props, "dup"), in the callback */
	bool has_dup, nope_null; /* ... that was not NULL; the one of "nope" was */
	int64_t at_ms;           /* arrival, CLOCK_MONOTONIC */
};

struct m5rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct m5msg *msgs;
	size_t n, cap;
	int connected, lost, done, never;
	bool session_present;
	char assigned_id[128]; /* info->assigned_client_id of the latest connection, "" if NULL */
	uint32_t max_packet;   /* CONNACK Maximum Packet Size, 0: none */
};

/* A client and what its callbacks saw. */
struct peer {
	struct m5rec r;
	ferry_client *c;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rec_init(struct m5rec *r)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &a);
	pthread_condattr_destroy(&a);
}

static void rec_free(struct m5rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		ferry_message_free(r->msgs[i].m);
	free(r->msgs);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	struct m5rec *r = user;
	const char *dup = ferry_properties_get_user(m->props, "dup");
	pthread_mutex_lock(&r->mu);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->msgs = realloc(r->msgs, r->cap * sizeof *r->msgs);
	}
	struct m5msg *x = &r->msgs[r->n++];
	memset(x, 0, sizeof *x);
	x->m = ferry_message_dup(m);
	if (!x->m)
		abort(); /* out of memory: nothing sensible left to test */
	x->has_dup = dup != NULL;
	snprintf(x->dup, sizeof x->dup, "%s", dup ? dup : "");
	x->nope_null = ferry_properties_get_user(m->props, "nope") == NULL;
	x->at_ms = now_ms();
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void on_connected(ferry_client *c, void *user, const struct ferry_connected_info *info)
{
	(void)c;
	struct m5rec *r = user;
	const struct ferry_properties *p = info->props;
	pthread_mutex_lock(&r->mu);
	r->connected++;
	r->session_present = info->session_present;
	snprintf(r->assigned_id, sizeof r->assigned_id, "%s",
	         info->assigned_client_id ? info->assigned_client_id : "");
	r->max_packet = p && (p->flags & FERRY_PF_MAXIMUM_PACKET_SIZE) ? p->maximum_packet_size : 0;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	(void)c;
	struct m5rec *r = user;
	fprintf(stderr, "\n    connection lost: %s (%s) ", ferry_errname(cause), text);
	pthread_mutex_lock(&r->mu);
	r->lost++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void on_log(void *user, int level, const char *text)
{
	(void)user;
	(void)level;
	fprintf(stderr, "    [ferry] %s\n", text);
}

static struct timespec deadline(int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	return (struct timespec){.tv_sec = (time_t)(end / 1000),
	                         .tv_nsec = (long)(end % 1000) * 1000000L};
}

/* Waits until *field (read under r's lock) reaches n. */
static bool rec_wait_int(struct m5rec *r, const int *field, int n, int timeout_ms)
{
	struct timespec ts = deadline(timeout_ms);
	pthread_mutex_lock(&r->mu);
	while (*field < n)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts))
			break;
	bool ok = *field >= n;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* Reads what a callback wrote, under the recorder's lock. */
static int rec_int(struct m5rec *r, const int *field)
{
	pthread_mutex_lock(&r->mu);
	int v = *field;
	pthread_mutex_unlock(&r->mu);
	return v;
}

static bool rec_bool(struct m5rec *r, const bool *field)
{
	pthread_mutex_lock(&r->mu);
	bool v = *field;
	pthread_mutex_unlock(&r->mu);
	return v;
}

static size_t rec_strlen(struct m5rec *r, const char *field)
{
	pthread_mutex_lock(&r->mu);
	size_t n = strlen(field);
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* Lets at least ms pass: a bounded wait on an event that never happens. */
static void rec_idle(struct m5rec *r, int ms)
{
	int64_t end = now_ms() + ms;
	while (now_ms() < end)
		rec_wait_int(r, &r->never, 1, (int)(end - now_ms()));
}

/* Waits for the first message on topic at index >= from; its index or -1. */
static long rec_wait_topic(struct m5rec *r, const char *topic, size_t from, int timeout_ms)
{
	struct timespec ts = deadline(timeout_ms);
	long found = -1;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		for (; from < r->n && found < 0; from++)
			if (strcmp(r->msgs[from].m->topic, topic) == 0)
				found = (long)from;
		if (found >= 0 || pthread_cond_timedwait(&r->cv, &r->mu, &ts))
			break;
	}
	pthread_mutex_unlock(&r->mu);
	return found;
}

/* The first message on topic (waited for; fatal if none comes). */
static struct m5msg got(struct m5rec *r, const char *topic)
{
	long i = rec_wait_topic(r, topic, 0, ITEST_WAIT_MS);
	CU_ASSERT_FATAL(i >= 0);
	pthread_mutex_lock(&r->mu);
	struct m5msg x = r->msgs[i];
	pthread_mutex_unlock(&r->mu);
	return x;
}

/* Messages received on topic so far. */
static int rec_count(struct m5rec *r, const char *topic)
{
	int k = 0;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++)
		k += strcmp(r->msgs[i].m->topic, topic) == 0;
	pthread_mutex_unlock(&r->mu);
	return k;
}

static bool payload_is(const struct ferry_message *m, const char *s)
{
	return m->payload_len == strlen(s) && memcmp(m->payload, s, m->payload_len) == 0;
}

/* ---- clients ----------------------------------------------------------- */

/* What a peer may have beyond the defaults (zero: MQTT 5, clean start). */
struct extra {
	bool keep;                         /* clean_session false */
	bool no_resubscribe;
	int version;                       /* 0: MQTT 5 */
	const struct ferry_properties *cp; /* connect_props */
	const struct ferry_will_options *will;
};

/* A client with options x (NULL: none), connected (fatal on failure). */
static void up_x(struct peer *p, const char *u, const char *id, const struct extra *x)
{
	static const struct extra none;
	if (!x)
		x = &none;
	rec_init(&p->r);
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = u;
	o.client_id = id;
	o.mqtt_version = x->version ? x->version : FERRY_MQTT_5;
	o.clean_session = !x->keep;
	o.resubscribe = !x->no_resubscribe;
	o.connect_props = x->cp;
	o.will = x->will;
	o.user = &p->r;
	o.on_message = on_message;
	o.on_connected = on_connected;
	o.on_connection_lost = on_lost;
	o.connect_timeout_ms = 10000;
	if (getenv("M5_DEBUG")) {
		o.on_log = on_log;
		o.log_level = FERRY_LOG_DEBUG;
	}
	p->c = NULL;
	ASSERT_RC(ferry_client_create(&o, &p->c), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->c);
	int rc = itest_connect_wait(p->c);
	ASSERT_RC(rc, FERRY_OK);
	CU_ASSERT_FATAL(rc == FERRY_OK);
}

static void up(struct peer *p, const char *u, const char *id)
{
	up_x(p, u, id, NULL);
}

static void down(struct peer *p)
{
	ferry_client_destroy(p->c);
	rec_free(&p->r);
}

/* Subscribes one filter with MQTT 5 options (sid 0: no identifier); waits for the SUBACK. */
static int sub5(ferry_client *c, const char *filter, bool nl, bool rap, int rh, uint32_t sid)
{
	struct ferry_subscription s = {.filter = filter, .qos = 1, .no_local = nl,
	                               .retain_as_published = rap, .retain_handling = rh};
	struct ferry_properties p = {.flags = FERRY_PF_SUBSCRIPTION_ID, .subscription_id = sid};
	struct ferry_call call = {.props = sid ? &p : NULL};
	ferry_token t = 0;
	int rc = ferry_subscribe_many(c, &s, 1, &call, &t);
	return rc ? rc : ferry_wait(c, t, ITEST_WAIT_MS);
}

/* A plain QoS 1 subscription. */
static int sub(ferry_client *c, const char *filter)
{
	return sub5(c, filter, false, false, 0, 0);
}

/* Publishes with properties (NULL: none) and waits for the completion. */
static int pub5(ferry_client *c, const char *topic, const char *payload, int qos, bool retain,
                const struct ferry_properties *p)
{
	struct ferry_call call = {.props = p};
	ferry_token t = 0;
	int rc = ferry_publish(c, topic, payload, strlen(payload), qos, retain, &call, &t);
	return rc ? rc : ferry_wait(c, t, ITEST_WAIT_MS);
}

/* Publishes a QoS 1 marker from p and waits until r has it; its index. */
static long marker(ferry_client *p, struct m5rec *r, const char *topic)
{
	pthread_mutex_lock(&r->mu);
	size_t from = r->n;
	pthread_mutex_unlock(&r->mu);
	ASSERT_RC(pub5(p, topic, "marker", 1, false, NULL), FERRY_OK);
	long i = rec_wait_topic(r, topic, from, ITEST_WAIT_MS);
	CU_ASSERT(i >= 0);
	return i;
}

static int disconnect5(ferry_client *c, const struct ferry_properties *p)
{
	struct ferry_call call = {.props = p};
	ferry_token t = 0;
	int rc = ferry_disconnect(c, 1000, &call, &t);
	return rc ? rc : ferry_wait(c, t, ITEST_WAIT_MS);
}

/* A per-call completion that keeps what a test asserts on. */
struct capture {
	struct m5rec *r; /* its done counter goes up */
	int rc, reason, op;
	uint8_t granted[8];
	size_t ngranted;
	char answer[64]; /* FERRY_OP_REQUEST: the response's payload */
	bool has_message;
};

static void capture_done(ferry_client *c, void *user, const struct ferry_result *res)
{
	(void)c;
	struct capture *k = user;
	pthread_mutex_lock(&k->r->mu);
	k->rc = res->rc;
	k->reason = res->reason_code;
	k->op = res->op;
	k->ngranted = res->granted_count;
	for (size_t i = 0; i < res->granted_count && i < 8; i++)
		k->granted[i] = res->granted[i];
	k->has_message = res->message != NULL;
	if (res->message)
		snprintf(k->answer, sizeof k->answer, "%.*s", (int)res->message->payload_len,
		         (const char *)res->message->payload);
	k->r->done++;
	pthread_cond_broadcast(&k->r->cv);
	pthread_mutex_unlock(&k->r->mu);
}

static struct ferry_properties session_expiry(uint32_t v)
{
	return (struct ferry_properties){.flags = FERRY_PF_SESSION_EXPIRY, .session_expiry = v};
}

static struct ferry_properties message_expiry(uint32_t v)
{
	return (struct ferry_properties){.flags = FERRY_PF_MESSAGE_EXPIRY, .message_expiry = v};
}

/* ---- 1. session expiry ------------------------------------------------- */

/*
 * Connects `id` (clean start `clean`, CONNECT properties cp) with a QoS 1
 * subscription, disconnects (DISCONNECT properties dp), has a message
 * published meanwhile, connects again with the same client object (no
 * resubscribe) and checks whether the session, with its subscription and
 * the message, was kept.
 */
static void session_case(const char *id, bool clean, const struct ferry_properties *cp,
                         const struct ferry_properties *dp, bool kept)
{
	char topic[64], mark[64], pid[64];
	snprintf(topic, sizeof topic, "%s/t", id);
	snprintf(mark, sizeof mark, "%s/mark", id);
	snprintf(pid, sizeof pid, "%s-pub", id);
	struct peer p, s;
	up(&p, uri, pid);
	up_x(&s, uri, id, &(struct extra){.keep = !clean, .cp = cp, .no_resubscribe = true});
	CU_ASSERT_FALSE(rec_bool(&s.r, &s.r.session_present));
	ASSERT_RC(sub(s.c, topic), FERRY_OK);
	ASSERT_RC(disconnect5(s.c, dp), FERRY_OK);
	ASSERT_RC(pub5(p.c, topic, "while-away", 1, false, NULL), FERRY_OK);

	ASSERT_RC(itest_connect_wait(s.c), FERRY_OK);
	CU_ASSERT_TRUE(rec_wait_int(&s.r, &s.r.connected, 2, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(rec_bool(&s.r, &s.r.session_present), kept);
	ASSERT_RC(sub(s.c, mark), FERRY_OK);
	CU_ASSERT(marker(p.c, &s.r, mark) >= 0);
	/* The message published while away is there exactly when the session was kept, */
	CU_ASSERT_EQUAL(rec_count(&s.r, topic), kept ? 1 : 0);
	/* and so is the subscription. */
	ASSERT_RC(pub5(p.c, topic, "after", 1, false, NULL), FERRY_OK);
	CU_ASSERT(marker(p.c, &s.r, mark) >= 0);
	CU_ASSERT_EQUAL(rec_count(&s.r, topic), kept ? 2 : 0);
	CU_ASSERT_EQUAL(rec_int(&s.r, &s.r.lost), 0);
	ASSERT_RC(disconnect5(s.c, NULL), FERRY_OK);
	down(&s);
	down(&p);
}

static void test_expiry_0(void)
{
	struct ferry_properties cp = session_expiry(0);
	session_case("se0", false, &cp, NULL, false);
}

static void test_expiry_5s(void)
{
	struct ferry_properties cp = session_expiry(5);
	session_case("se5", false, &cp, NULL, true);
}

static void test_expiry_at_disconnect(void)
{
	struct ferry_properties cp = session_expiry(5), dp = session_expiry(0);
	session_case("se-ovr", false, &cp, &dp, false);
}

static void test_default_keeps(void)
{
	session_case("se-dflt", false, NULL, NULL, true);
}

static void test_clean_ends(void)
{
	session_case("se-clean", true, NULL, NULL, false);
}

/* ---- 2. user properties ------------------------------------------------ */

static const struct ferry_user_property users5[] = {
	{"first", "1"}, {"dup", "x"}, {"mid", "caf\xc3\xa9 \xe2\x82\xac"},
	{"dup", "y"},   {"last", ""},
};

static void test_user_props(void)
{
	struct peer s, p;
	up(&s, uri, "up-sub");
	up(&p, uri, "up-pub");
	ASSERT_RC(itest_subscribe(s.c, "up/#", 2), FERRY_OK);
	struct ferry_properties props = {.user = users5, .user_count = 5};
	for (int q = 0; q <= 2; q++) {
		char topic[16];
		snprintf(topic, sizeof topic, "up/q%d", q);
		ASSERT_RC(pub5(p.c, topic, "u", q, false, &props), FERRY_OK);
		struct m5msg x = got(&s.r, topic);
		CU_ASSERT_EQUAL(x.m->qos, q);
		const struct ferry_properties *mp = x.m->props;
		CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
		CU_ASSERT_EQUAL(mp->user_count, 5);
		for (size_t k = 0; k < mp->user_count && k < 5; k++) {
			CU_ASSERT_STRING_EQUAL(mp->user[k].name, users5[k].name);
			CU_ASSERT_STRING_EQUAL(mp->user[k].value, users5[k].value);
		}
		/* get_user: the first of a repeated name, NULL for an absent one. */
		CU_ASSERT_TRUE(x.has_dup);
		CU_ASSERT_STRING_EQUAL(x.dup, "x");
		CU_ASSERT_TRUE(x.nope_null);
	}
	CU_ASSERT_PTR_NULL(ferry_properties_get_user(NULL, "dup"));
	CU_ASSERT_STRING_EQUAL(ferry_properties_get_user(&props, "mid"), users5[2].value);
	down(&s);
	down(&p);
}

/* ---- 3. publish properties --------------------------------------------- */

static void test_publish_props(void)
{
	static const uint8_t corr[] = {0x00, 0xff, 0x10, 0x00, 0x7f};
	struct peer s, p;
	up(&s, uri, "pp-sub");
	up(&p, uri, "pp-pub");
	ASSERT_RC(sub(s.c, "pp/#"), FERRY_OK);
	struct ferry_properties props = {.flags = FERRY_PF_PAYLOAD_FORMAT, .payload_format = 1,
	                                 .content_type = "application/json; charset=utf-8",
	                                 .response_topic = "pp/reply/here",
	                                 .correlation_data = corr, .correlation_len = sizeof corr};
	ASSERT_RC(pub5(p.c, "pp/full", "{\"a\":1}", 1, false, &props), FERRY_OK);
	ASSERT_RC(pub5(p.c, "pp/plain", "raw", 1, false, NULL), FERRY_OK);
	struct m5msg x = got(&s.r, "pp/full");
	const struct ferry_properties *mp = x.m->props;
	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT(mp->flags & FERRY_PF_PAYLOAD_FORMAT);
	CU_ASSERT_EQUAL(mp->payload_format, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mp->content_type);
	CU_ASSERT_STRING_EQUAL(mp->content_type, props.content_type);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mp->response_topic);
	CU_ASSERT_STRING_EQUAL(mp->response_topic, props.response_topic);
	CU_ASSERT_EQUAL(mp->correlation_len, sizeof corr);
	CU_ASSERT(mp->correlation_data && mp->correlation_len == sizeof corr &&
	          memcmp(mp->correlation_data, corr, sizeof corr) == 0);
	CU_ASSERT_EQUAL(mp->user_count, 0);
	CU_ASSERT_TRUE(payload_is(x.m, "{\"a\":1}"));
	/* A message that came without properties has m->props NULL. */
	CU_ASSERT_PTR_NULL(got(&s.r, "pp/plain").m->props);
	down(&s);
	down(&p);
}

/* ---- 4. message expiry ------------------------------------------------- */

/* The message's Message Expiry Interval is there and in 1..max. */
static void assert_expiry_within(const struct ferry_message *m, uint32_t max)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(m->props);
	CU_ASSERT(m->props->flags & FERRY_PF_MESSAGE_EXPIRY);
	CU_ASSERT(m->props->message_expiry >= 1 && m->props->message_expiry <= max);
}

static void test_message_expiry(void)
{
	struct peer p, live, late;
	up(&p, uri, "mx-pub");
	up(&live, uri, "mx-live");
	ASSERT_RC(sub(live.c, "mx/live"), FERRY_OK);
	struct ferry_properties e1 = message_expiry(1), e60 = message_expiry(60),
	                        e100 = message_expiry(100);
	ASSERT_RC(pub5(p.c, "mx/ret", "short", 1, true, &e1), FERRY_OK);
	ASSERT_RC(pub5(p.c, "mx/keep", "long", 1, true, &e100), FERRY_OK);
	/* A message delivered at once carries the remaining interval, never more. */
	ASSERT_RC(pub5(p.c, "mx/live", "now", 1, false, &e60), FERRY_OK);
	assert_expiry_within(got(&live.r, "mx/live").m, 60);

	rec_idle(&p.r, 2200); /* at least 2 s: mx/ret has expired, mx/keep has not */
	up(&late, uri, "mx-late");
	ASSERT_RC(sub(late.c, "mx/mark"), FERRY_OK);
	ASSERT_RC(sub(late.c, "mx/ret"), FERRY_OK);
	ASSERT_RC(sub(late.c, "mx/keep"), FERRY_OK);
	CU_ASSERT(marker(p.c, &late.r, "mx/mark") >= 0);
	CU_ASSERT_EQUAL(rec_count(&late.r, "mx/ret"), 0);
	struct m5msg k = got(&late.r, "mx/keep");
	CU_ASSERT_TRUE(k.m->retain);
	assert_expiry_within(k.m, 100);
	down(&late);
	down(&live);
	down(&p);
}

/* ---- 5. subscription options ------------------------------------------- */

static void test_no_local(void)
{
	struct peer a, b;
	up(&a, uri, "nl-a");
	up(&b, uri, "nl-b");
	ASSERT_RC(sub5(a.c, "nl/own", true, false, 0, 0), FERRY_OK);
	ASSERT_RC(sub(a.c, "nl/all"), FERRY_OK);
	ASSERT_RC(sub(a.c, "nl/mark"), FERRY_OK);
	ASSERT_RC(pub5(a.c, "nl/own", "mine", 1, false, NULL), FERRY_OK);
	ASSERT_RC(pub5(a.c, "nl/all", "mine", 1, false, NULL), FERRY_OK);
	CU_ASSERT(marker(a.c, &a.r, "nl/mark") >= 0);
	CU_ASSERT_EQUAL(rec_count(&a.r, "nl/own"), 0); /* own message, no_local */
	CU_ASSERT_EQUAL(rec_count(&a.r, "nl/all"), 1); /* own message, no no_local */
	/* no_local filters only this client's own messages. */
	ASSERT_RC(pub5(b.c, "nl/own", "from-b", 1, false, NULL), FERRY_OK);
	CU_ASSERT_TRUE(payload_is(got(&a.r, "nl/own").m, "from-b"));
	down(&a);
	down(&b);
}

static void test_rap(void)
{
	struct peer keep, clear, p;
	up(&keep, uri, "rap-keep");
	up(&clear, uri, "rap-clear");
	up(&p, uri, "rap-pub");
	ASSERT_RC(sub5(keep.c, "rap/x", false, true, 0, 0), FERRY_OK);
	ASSERT_RC(sub(clear.c, "rap/x"), FERRY_OK);
	ASSERT_RC(pub5(p.c, "rap/x", "flagged", 1, true, NULL), FERRY_OK);
	CU_ASSERT_TRUE(got(&keep.r, "rap/x").m->retain);   /* retain_as_published: kept */
	CU_ASSERT_FALSE(got(&clear.r, "rap/x").m->retain); /* default: cleared when forwarded */
	ASSERT_RC(pub5(p.c, "rap/x", "", 1, true, NULL), FERRY_OK); /* clear the retained one */
	down(&keep);
	down(&clear);
	down(&p);
}

static void test_rh(void)
{
	static const char *const topics[] = {"rh/0", "rh/1", "rh/2"};
	struct peer p, s;
	up(&p, uri, "rh-pub");
	for (int h = 0; h < 3; h++)
		ASSERT_RC(pub5(p.c, topics[h], "kept", 1, true, NULL), FERRY_OK);
	up(&s, uri, "rh-sub");
	ASSERT_RC(sub(s.c, "rh/mark"), FERRY_OK);
	for (int round = 0; round < 2; round++)
		for (int h = 0; h < 3; h++)
			ASSERT_RC(sub5(s.c, topics[h], false, false, h, 0), FERRY_OK);
	CU_ASSERT(marker(p.c, &s.r, "rh/mark") >= 0);
	CU_ASSERT_EQUAL(rec_count(&s.r, "rh/0"), 2); /* 0: at every subscribe */
	CU_ASSERT_EQUAL(rec_count(&s.r, "rh/1"), 1); /* 1: only when the subscription is new */
	CU_ASSERT_EQUAL(rec_count(&s.r, "rh/2"), 0); /* 2: never */
	CU_ASSERT_TRUE(got(&s.r, "rh/0").m->retain);
	for (int h = 0; h < 3; h++)
		ASSERT_RC(pub5(p.c, topics[h], "", 1, true, NULL), FERRY_OK);
	down(&s);
	down(&p);
}

/* ---- 6. assigned client identifier ------------------------------------- */

static void test_assigned_id(void)
{
	struct peer c;
	up(&c, uri, ""); /* clean_session true by default */
	CU_ASSERT_TRUE(rec_wait_int(&c.r, &c.r.connected, 1, ITEST_WAIT_MS));
	CU_ASSERT(rec_strlen(&c.r, c.r.assigned_id) > 0);
	/* The client works under that id. */
	ASSERT_RC(sub(c.c, "aid/x"), FERRY_OK);
	ASSERT_RC(pub5(c.c, "aid/x", "hi", 1, false, NULL), FERRY_OK);
	CU_ASSERT_TRUE(payload_is(got(&c.r, "aid/x").m, "hi"));
	down(&c);
}

/* ---- 7. subscription identifiers --------------------------------------- */

/* Checks one received copy of sid/a: ids in {7, 9}; notes which it saw. */
static void check_sid_copy(const struct ferry_properties *mp, bool *seen7, bool *seen9)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT(mp->subscription_id_count >= 1);
	for (size_t k = 0; k < mp->subscription_id_count; k++) {
		uint32_t id = mp->subscription_ids[k];
		CU_ASSERT(id == 7 || id == 9);
		*seen7 |= id == 7;
		*seen9 |= id == 9;
	}
	if (mp->subscription_id_count) {
		CU_ASSERT(mp->flags & FERRY_PF_SUBSCRIPTION_ID);
		CU_ASSERT_EQUAL(mp->subscription_id, mp->subscription_ids[0]);
	}
}

static void test_sub_ids(void)
{
	struct peer s, p;
	up(&s, uri, "sid-sub");
	up(&p, uri, "sid-pub");
	ASSERT_RC(sub5(s.c, "sid/#", false, false, 0, 7), FERRY_OK);
	ASSERT_RC(sub5(s.c, "sid/a", false, false, 0, 9), FERRY_OK);
	ASSERT_RC(pub5(p.c, "sid/a", "both", 1, false, NULL), FERRY_OK);
	CU_ASSERT_FATAL(marker(p.c, &s.r, "sid/z") >= 0); /* matches sid/# only */
	/* The marker carries exactly the identifier of sid/#. */
	const struct ferry_properties *zp = got(&s.r, "sid/z").m->props;
	CU_ASSERT_PTR_NOT_NULL_FATAL(zp);
	CU_ASSERT_EQUAL(zp->subscription_id_count, 1);
	CU_ASSERT_EQUAL(zp->subscription_id, 7);
	/* sid/a: one copy with both ids, or one copy per subscription (both allowed). */
	bool seen7 = false, seen9 = false;
	int copies = 0;
	pthread_mutex_lock(&s.r.mu);
	for (size_t i = 0; i < s.r.n; i++)
		if (strcmp(s.r.msgs[i].m->topic, "sid/a") == 0) {
			copies++;
			check_sid_copy(s.r.msgs[i].m->props, &seen7, &seen9);
		}
	pthread_mutex_unlock(&s.r.mu);
	CU_ASSERT(copies == 1 || copies == 2);
	CU_ASSERT_TRUE(seen7);
	CU_ASSERT_TRUE(seen9);
	down(&s);
	down(&p);
}

/* ---- 8. request / response --------------------------------------------- */

/* The responder: answers "re:<request>" on the request's response topic,
 * with its correlation data. */
static void responder(ferry_client *c, void *user, const struct ferry_message *m)
{
	on_message(c, user, m);
	if (!m->props || !m->props->response_topic)
		return;
	struct ferry_properties p = {.correlation_data = m->props->correlation_data,
	                             .correlation_len = m->props->correlation_len};
	char ans[64];
	snprintf(ans, sizeof ans, "re:%.*s", (int)m->payload_len, (const char *)m->payload);
	struct ferry_call call = {.props = &p};
	const char *to = m->props->response_topic;
	int rc = ferry_publish(c, to, ans, strlen(ans), 1, false, &call, NULL);
	if (rc)
		fprintf(stderr, "\n    responder: publish: %s ", ferry_errname(rc));
}

static void test_request(void)
{
	enum { N = 10 };
	struct peer resp, req;
	up(&resp, uri, "rr-responder");
	up(&req, uri, "rr-requester");
	struct ferry_subscription s = {.filter = "rr/req", .qos = 1, .on_message = responder,
	                               .user = &resp.r};
	ferry_token t = 0;
	ASSERT_RC(ferry_subscribe_many(resp.c, &s, 1, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(resp.c, t, ITEST_WAIT_MS), FERRY_OK);

	struct capture caps[N];
	char bodies[N][16];
	for (int i = 0; i < N; i++) { /* all in flight at once */
		caps[i] = (struct capture){.r = &req.r};
		snprintf(bodies[i], sizeof bodies[i], "q%d", i);
		struct ferry_publish_msg m = {.topic = "rr/req", .payload = bodies[i],
		                              .len = strlen(bodies[i]), .qos = 1};
		struct ferry_call call = {.on_done = capture_done, .user = &caps[i]};
		ASSERT_RC(ferry_request(req.c, &m, "rr/resp/requester", ITEST_WAIT_MS, &call, NULL),
		          FERRY_OK);
	}
	CU_ASSERT_TRUE(rec_wait_int(&req.r, &req.r.done, N, ITEST_WAIT_MS));
	pthread_mutex_lock(&req.r.mu);
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof want, "re:q%d", i);
		ASSERT_RC(caps[i].rc, FERRY_OK);
		CU_ASSERT_EQUAL(caps[i].op, FERRY_OP_REQUEST);
		CU_ASSERT_TRUE(caps[i].has_message);
		CU_ASSERT_STRING_EQUAL(caps[i].answer, want);
	}
	CU_ASSERT_EQUAL(req.r.n, 0); /* responses go to their token, not to on_message */
	pthread_mutex_unlock(&req.r.mu);
	CU_ASSERT_EQUAL(rec_count(&resp.r, "rr/req"), N);
	down(&req);
	down(&resp);
}

/* ---- 9. maximum packet size -------------------------------------------- */

static void test_client_max_packet(void)
{
	struct ferry_properties cp = {.flags = FERRY_PF_MAXIMUM_PACKET_SIZE,
	                              .maximum_packet_size = 200};
	struct peer s, p;
	up_x(&s, uri, "mps-sub", &(struct extra){.cp = &cp});
	up(&p, uri, "mps-pub");
	ASSERT_RC(sub(s.c, "mps/#"), FERRY_OK);
	char big[1001];
	memset(big, 'b', 1000);
	big[1000] = '\0';
	ASSERT_RC(pub5(p.c, "mps/big", big, 1, false, NULL), FERRY_OK);
	CU_ASSERT(marker(p.c, &s.r, "mps/small") >= 0);
	CU_ASSERT_EQUAL(rec_count(&s.r, "mps/big"), 0); /* the broker kept it from us */
	CU_ASSERT_EQUAL(rec_int(&s.r, &s.r.lost), 0);
	CU_ASSERT_TRUE(ferry_is_connected(s.c));
	down(&s);
	down(&p);
}

static void test_broker_max_packet(void)
{
	struct peer s, p;
	up(&s, strict_uri, "smps-sub");
	up(&p, strict_uri, "smps-pub");
	CU_ASSERT_TRUE(rec_wait_int(&p.r, &p.r.connected, 1, ITEST_WAIT_MS));
	pthread_mutex_lock(&p.r.mu);
	uint32_t maxp = p.r.max_packet;
	pthread_mutex_unlock(&p.r.mu);
	CU_ASSERT_EQUAL(maxp, 1000); /* the CONNACK said so */
	ASSERT_RC(sub(s.c, "strict/#"), FERRY_OK);
	char big[2001];
	memset(big, 'B', 2000);
	big[2000] = '\0';
	/* Refused at the call or at completion, and never sent. */
	ASSERT_RC(pub5(p.c, "strict/big", big, 1, false, NULL), FERRY_ERR_PACKET_TOO_LARGE);
	ASSERT_RC(pub5(p.c, "strict/big0", big, 0, false, NULL), FERRY_ERR_PACKET_TOO_LARGE);
	CU_ASSERT(marker(p.c, &s.r, "strict/mark") >= 0);
	CU_ASSERT_EQUAL(rec_count(&s.r, "strict/big"), 0);
	CU_ASSERT_EQUAL(rec_count(&s.r, "strict/big0"), 0);
	/* The broker had no reason to drop the publisher. */
	CU_ASSERT_EQUAL(rec_int(&p.r, &p.r.lost), 0);
	CU_ASSERT_EQUAL(rec_int(&p.r, &p.r.connected), 1);
	CU_ASSERT_TRUE(ferry_is_connected(p.c));
	down(&s);
	down(&p);
}

/* ---- 10. will delay ---------------------------------------------------- */

/* Connects `id` (clean start 0, session expiry 10 s), with a will on wd/<id>
 * delayed by 2 s if will is true. */
static void will_peer(struct peer *w, const char *id, bool will)
{
	char topic[64];
	snprintf(topic, sizeof topic, "wd/%s", id);
	struct ferry_properties wp = {.flags = FERRY_PF_WILL_DELAY, .will_delay = 2};
	struct ferry_properties cp = session_expiry(10);
	struct ferry_will_options wo = {.topic = topic, .payload = "gone", .payload_len = 4,
	                                .qos = 1, .props = &wp};
	up_x(w, uri, id, &(struct extra){.keep = true, .cp = &cp, .will = will ? &wo : NULL});
}

static void test_will_delay(void)
{
	struct peer watch, w;
	up(&watch, uri, "wd-watch");
	ASSERT_RC(sub(watch.c, "wd/#"), FERRY_OK);
	will_peer(&w, "wd-late", true);
	int64_t t0 = now_ms();
	ferry_client_destroy(w.c); /* abrupt: no DISCONNECT */
	rec_free(&w.r);
	struct m5msg x = got(&watch.r, "wd/wd-late");
	printf("\n    will came %lld ms after the loss ", (long long)(x.at_ms - t0));
	CU_ASSERT(x.at_ms - t0 >= 1900); /* not before the 2 s will delay */
	CU_ASSERT_TRUE(payload_is(x.m, "gone"));
	down(&watch);
}

static void test_will_delay_back(void)
{
	struct peer watch, w;
	up(&watch, uri, "wdb-watch");
	ASSERT_RC(sub(watch.c, "wd/#"), FERRY_OK);
	will_peer(&w, "wd-back", true);
	int64_t t0 = now_ms();
	ferry_client_destroy(w.c);
	rec_free(&w.r);
	will_peer(&w, "wd-back", false); /* back at once, the session resumed */
	CU_ASSERT_TRUE(rec_wait_int(&w.r, &w.r.connected, 1, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(rec_bool(&w.r, &w.r.session_present));
	int64_t elapsed = now_ms() - t0;
	CU_ASSERT(elapsed < 2000); /* the test itself: back within the delay */
	rec_idle(&watch.r, (int)(3500 - elapsed)); /* well past the will delay */
	CU_ASSERT(marker(watch.c, &watch.r, "wd/mark") >= 0);
	CU_ASSERT_EQUAL(rec_count(&watch.r, "wd/wd-back"), 0);
	/* End the session cleanly. */
	struct ferry_properties dp = session_expiry(0);
	ASSERT_RC(disconnect5(w.c, &dp), FERRY_OK);
	down(&w);
	down(&watch);
}

/* ---- 11. shared subscription ------------------------------------------- */

/* Counts each number received on shared/t into seen; returns how many r got. */
static int count_numbers(struct m5rec *r, int *seen, int n)
{
	int mine = 0;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++) {
		const struct ferry_message *m = r->msgs[i].m;
		if (strcmp(m->topic, "shared/t") != 0)
			continue;
		char num[16];
		snprintf(num, sizeof num, "%.*s", (int)m->payload_len, (const char *)m->payload);
		int k = atoi(num);
		if (k >= 0 && k < n)
			seen[k]++;
		mine++;
	}
	pthread_mutex_unlock(&r->mu);
	return mine;
}

static void test_shared(void)
{
	enum { N = 1000 };
	struct peer a, b, p;
	up(&a, uri, "sh-a");
	up(&b, uri, "sh-b");
	up(&p, uri, "sh-pub");
	ASSERT_RC(sub(a.c, "$share/g/shared/t"), FERRY_OK);
	ASSERT_RC(sub(b.c, "$share/g/shared/t"), FERRY_OK);
	ASSERT_RC(sub(a.c, "shared/mark"), FERRY_OK);
	ASSERT_RC(sub(b.c, "shared/mark"), FERRY_OK);
	ferry_token t = 0;
	for (int i = 0; i < N; i++) {
		char m[16];
		snprintf(m, sizeof m, "%d", i);
		ASSERT_RC(ferry_publish(p.c, "shared/t", m, strlen(m), 1, false, NULL, &t),
		          FERRY_OK);
	}
	ASSERT_RC(ferry_wait(p.c, t, ITEST_WAIT_MS), FERRY_OK);
	ASSERT_RC(pub5(p.c, "shared/mark", "end", 1, false, NULL), FERRY_OK);
	got(&a.r, "shared/mark"); /* each has all its share before the marker */
	got(&b.r, "shared/mark");
	int *seen = calloc(N, sizeof *seen);
	int na = count_numbers(&a.r, seen, N), nb = count_numbers(&b.r, seen, N);
	int missing = 0, twice = 0;
	for (int i = 0; i < N; i++) {
		missing += seen[i] == 0;
		twice += seen[i] > 1;
	}
	printf("\n    shared: %d + %d messages ", na, nb);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(twice, 0);
	CU_ASSERT_EQUAL(na + nb, N);
	CU_ASSERT(na > 0 && nb > 0);
	free(seen);
	down(&a);
	down(&b);
	down(&p);
}

/* ---- 12. reason codes in results --------------------------------------- */

static void test_reason_codes(void)
{
	struct peer c;
	up(&c, strict_uri, "rc-client");
	/* No Local on a shared subscription is a protocol error: refused at the call. */
	struct ferry_subscription sh = {.filter = "$share/g/strict/x", .qos = 1, .no_local = true};
	ASSERT_RC(ferry_subscribe_many(c.c, &sh, 1, NULL, NULL), FERRY_ERR_TOPIC_FILTER);

	/* One SUBACK, one code per filter: granted QoS, and 0x87 for what the broker denies. */
	struct ferry_subscription subs[2] = {{.filter = "strict/ok", .qos = 1},
	                                     {.filter = "forbidden/x", .qos = 1}};
	struct capture k = {.r = &c.r}, u = {.r = &c.r}, v = {.r = &c.r};
	struct ferry_call call = {.on_done = capture_done, .user = &k};
	ASSERT_RC(ferry_subscribe_many(c.c, subs, 2, &call, NULL), FERRY_OK);
	CU_ASSERT_TRUE_FATAL(rec_wait_int(&c.r, &c.r.done, 1, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(k.op, FERRY_OP_SUBSCRIBE);
	CU_ASSERT_EQUAL(k.ngranted, 2);
	CU_ASSERT_EQUAL(k.granted[0], 1);
	CU_ASSERT_EQUAL(k.reason, 1);
	if (have_dynsec) {
		CU_ASSERT_EQUAL(k.granted[1], 0x87); /* Not authorized */
	} else {
		printf("\n    no %s: refusal by the broker not tested ", DYNSEC_SO);
	}

	/* UNSUBACK: 0x00 for a subscription that existed, 0x11 for one that did not. */
	const char *const filters[2] = {"strict/ok", "strict/never"};
	call.user = &u;
	ASSERT_RC(ferry_unsubscribe_many(c.c, filters, 2, &call, NULL), FERRY_OK);
	CU_ASSERT_TRUE_FATAL(rec_wait_int(&c.r, &c.r.done, 2, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(u.op, FERRY_OP_UNSUBSCRIBE);
	CU_ASSERT_EQUAL(u.ngranted, 2);
	CU_ASSERT_EQUAL(u.granted[0], 0x00);
	CU_ASSERT_EQUAL(u.granted[1], 0x11);
	call.user = &v;
	ASSERT_RC(ferry_unsubscribe(c.c, "never/subscribed", &call, NULL), FERRY_OK);
	CU_ASSERT_TRUE_FATAL(rec_wait_int(&c.r, &c.r.done, 3, ITEST_WAIT_MS));
	CU_ASSERT_EQUAL(v.ngranted, 1);
	CU_ASSERT_EQUAL(v.granted[0], 0x11);
	CU_ASSERT_EQUAL(v.reason, 0x11);
	CU_ASSERT_EQUAL(rec_int(&c.r, &c.r.lost), 0);
	down(&c);
}

/* ---- 13. property checks at the call ----------------------------------- */

static void test_props_3_1_1(void)
{
	struct peer c;
	up_x(&c, uri, "v311-props", &(struct extra){.version = FERRY_MQTT_3_1_1});
	static const struct ferry_user_property u[] = {{"k", "v"}};
	struct ferry_properties p = {.user = u, .user_count = 1};
	struct ferry_call call = {.props = &p};
	ASSERT_RC(ferry_publish(c.c, "v311/x", "a", 1, 1, false, &call, NULL),
	          FERRY_ERR_UNSUPPORTED);
	ASSERT_RC(ferry_subscribe(c.c, "v311/x", 1, &call, NULL), FERRY_ERR_UNSUPPORTED);
	ASSERT_RC(ferry_unsubscribe(c.c, "v311/x", &call, NULL), FERRY_ERR_UNSUPPORTED);
	struct ferry_publish_msg m = {.topic = "v311/x", .payload = "a", .len = 1, .qos = 1,
	                              .props = &p};
	ASSERT_RC(ferry_publish_message(c.c, &m, NULL, NULL), FERRY_ERR_UNSUPPORTED);
	m.props = NULL;
	ASSERT_RC(ferry_request(c.c, &m, "v311/resp", 1000, NULL, NULL), FERRY_ERR_UNSUPPORTED);
	/* MQTT 5 subscription options on 3.1.1: an invalid argument. */
	struct ferry_subscription s = {.filter = "v311/x", .qos = 1, .no_local = true};
	ASSERT_RC(ferry_subscribe_many(c.c, &s, 1, NULL, NULL), FERRY_ERR_INVAL);
	ASSERT_RC(ferry_disconnect(c.c, 1000, &call, NULL), FERRY_ERR_UNSUPPORTED);
	/* Nothing of that was sent: the client is still connected and working. */
	CU_ASSERT_TRUE(ferry_is_connected(c.c));
	ASSERT_RC(pub5(c.c, "v311/x", "ok", 1, false, NULL), FERRY_OK);
	CU_ASSERT_EQUAL(rec_int(&c.r, &c.r.lost), 0);
	down(&c);
}

static void test_props_not_allowed(void)
{
	struct peer c;
	up(&c, uri, "v5-badprops");
	struct ferry_properties sid = {.flags = FERRY_PF_SUBSCRIPTION_ID, .subscription_id = 3};
	struct ferry_call call = {.props = &sid};
	ASSERT_RC(ferry_publish(c.c, "bad/x", "a", 1, 1, false, &call, NULL),
	          FERRY_ERR_PROPERTY_NOT_ALLOWED);
	struct ferry_properties exp = message_expiry(5);
	call.props = &exp;
	ASSERT_RC(ferry_subscribe(c.c, "bad/x", 1, &call, NULL), FERRY_ERR_PROPERTY_NOT_ALLOWED);
	/* Subscription identifier 0 is out of range. */
	struct ferry_properties sid0 = {.flags = FERRY_PF_SUBSCRIPTION_ID, .subscription_id = 0};
	call.props = &sid0;
	ASSERT_RC(ferry_subscribe(c.c, "bad/x", 1, &call, NULL), FERRY_ERR_PROPERTY_VALUE);
	/* The CONNECT had no session expiry (clean start): DISCONNECT may not set one. */
	struct ferry_properties se = session_expiry(5);
	call.props = &se;
	ASSERT_RC(ferry_disconnect(c.c, 1000, &call, NULL), FERRY_ERR_PROPERTY_VALUE);
	CU_ASSERT_TRUE(ferry_is_connected(c.c));
	ASSERT_RC(pub5(c.c, "bad/x", "ok", 1, false, NULL), FERRY_OK);
	down(&c);
}

/* ---- suite ------------------------------------------------------------- */

static const struct test_broker_file strict_files[] = {
	{.name = "dynsec.json",
	 .content = "{\"defaultACLAccess\":{\"publishClientSend\":true,"
	            "\"publishClientReceive\":true,\"subscribe\":false,\"unsubscribe\":true},"
	            "\"clients\":[],\"groups\":[{\"groupname\":\"anon\","
	            "\"roles\":[{\"rolename\":\"strict\"}]}],"
	            "\"roles\":[{\"rolename\":\"strict\",\"acls\":[{\"acltype\":"
	            "\"subscribePattern\",\"topic\":\"strict/#\",\"allow\":true}]}],"
	            "\"anonymousGroup\":\"anon\"}\n"},
	{.name = NULL},
};

static int suite_init(void)
{
	int rc = test_broker_start(&broker, NULL);
	if (rc) {
		fprintf(stderr, "broker: %s\n", test_broker_error(&broker));
		return 1;
	}
	have_dynsec = access(DYNSEC_SO, R_OK) == 0;
	const char *cfg = have_dynsec ? "max_packet_size 1000\nplugin " DYNSEC_SO "\n"
	                                "plugin_opt_config_file @DIR@/dynsec.json\n"
	                              : "max_packet_size 1000\n";
	rc = test_broker_start(&strict, &(struct test_broker_opts){.files = strict_files,
	                                                           .extra_config = cfg});
	if (rc) {
		fprintf(stderr, "strict broker: %s\n", test_broker_error(&strict));
		return 1;
	}
	uri = test_broker_uri(&broker);
	strict_uri = test_broker_uri(&strict);
	return 0;
}

static int suite_clean(void)
{
	test_broker_cleanup(&broker);
	test_broker_cleanup(&strict);
	return 0;
}

void register_mqtt5_suite(void)
{
	CU_pSuite s = CU_add_suite("mqtt5", suite_init, suite_clean);
	if (!s)
		abort();
	test_add(s, "session expiry 0: session gone at reconnect", test_expiry_0);
	test_add(s, "session expiry 5 s: session and message kept", test_expiry_5s);
	test_add(s, "session expiry set to 0 at disconnect: gone", test_expiry_at_disconnect);
	test_add(s, "clean_session false, no expiry: session kept", test_default_keeps);
	test_add(s, "clean_session true, no expiry: session gone", test_clean_ends);
	test_add(s, "user properties: order, repeats, QoS 0/1/2", test_user_props);
	test_add(s, "format, content type, response topic, correlation", test_publish_props);
	test_add(s, "message expiry: expired retained, remaining interval", test_message_expiry);
	test_add(s, "no local", test_no_local);
	test_add(s, "retain as published", test_rap);
	test_add(s, "retain handling 0/1/2", test_rh);
	test_add(s, "server-assigned client identifier", test_assigned_id);
	test_add(s, "subscription identifiers, overlapping filters", test_sub_ids);
	test_add(s, "request/response, 10 concurrent requests", test_request);
	test_add(s, "client maximum packet size: larger held back", test_client_max_packet);
	test_add(s, "broker maximum packet size: refused, not sent", test_broker_max_packet);
	test_add(s, "will delay: no will before the delay", test_will_delay);
	test_add(s, "will delay: no will when back in time", test_will_delay_back);
	test_add(s, "shared subscription: 1,000 each once across 2", test_shared);
	test_add(s, "SUBACK and UNSUBACK reason codes per filter", test_reason_codes);
	test_add(s, "properties on MQTT 3.1.1: unsupported", test_props_3_1_1);
	test_add(s, "property not allowed / out of range at the call", test_props_not_allowed);
}

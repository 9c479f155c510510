/*
 * test_props_api.c - the public struct ferry_properties (ferry.h) and the
 * codec's struct ferry_props (props.h), src/props_api.c: which properties
 * each operation may send (ferry.h lists them), value, UTF-8 and topic
 * checks, that imports and clones own their bytes, round trips through the
 * encoder and decoder into the public view, several Subscription
 * Identifiers, deep copies of a public struct, ferry_properties_get_user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "props_api.h"
#include "suites.h"
#include "util.h"

#define BIT FERRY_PROP_BIT

/* Contexts as bits; the sets are written out from ferry.h's list. */
#define X(t)        (1u << (t))
#define WILL        X(FERRY_PCTX_WILL)
#define CONNECT     X(FERRY_CONNECT)
#define PUBLISH     X(FERRY_PUBLISH)
#define SUBSCRIBE   X(FERRY_SUBSCRIBE)
#define UNSUBSCRIBE X(FERRY_UNSUBSCRIBE)
#define DISCONNECT  X(FERRY_DISCONNECT)
#define AUTH        X(FERRY_AUTH) /* MQTT 5.0 table 2-4 (ferry.h has no AUTH line) */
#define ALL         (WILL | CONNECT | PUBLISH | SUBSCRIBE | UNSUBSCRIBE | DISCONNECT | AUTH)

static const int contexts[] = {FERRY_PCTX_WILL,   FERRY_CONNECT,    FERRY_PUBLISH, FERRY_SUBSCRIBE,
                               FERRY_UNSUBSCRIBE, FERRY_DISCONNECT, FERRY_AUTH};
#define NCTX (sizeof contexts / sizeof contexts[0])

/* Every property an application can set, and where it may send it. */
static const struct {
	uint8_t id;
	unsigned allowed;
} sendable[] = {
    {FERRY_PROP_PAYLOAD_FORMAT, WILL | PUBLISH},
    {FERRY_PROP_MESSAGE_EXPIRY, WILL | PUBLISH},
    {FERRY_PROP_CONTENT_TYPE, WILL | PUBLISH},
    {FERRY_PROP_RESPONSE_TOPIC, WILL | PUBLISH},
    {FERRY_PROP_CORRELATION_DATA, WILL | PUBLISH},
    {FERRY_PROP_SUBSCRIPTION_ID, SUBSCRIBE},
    {FERRY_PROP_SESSION_EXPIRY, CONNECT | DISCONNECT},
    {FERRY_PROP_AUTH_METHOD, CONNECT | AUTH},
    {FERRY_PROP_AUTH_DATA, CONNECT | AUTH},
    {FERRY_PROP_REQUEST_PROBLEM_INFO, CONNECT},
    {FERRY_PROP_WILL_DELAY, WILL},
    {FERRY_PROP_REQUEST_RESPONSE_INFO, CONNECT},
    {FERRY_PROP_REASON_STRING, DISCONNECT | AUTH},
    {FERRY_PROP_RECEIVE_MAXIMUM, CONNECT},
    {FERRY_PROP_TOPIC_ALIAS_MAXIMUM, CONNECT},
    {FERRY_PROP_USER, ALL},
    {FERRY_PROP_MAXIMUM_PACKET_SIZE, CONNECT},
};
#define NSENDABLE (sizeof sendable / sizeof sendable[0])

static const struct ferry_user_property one_user[] = {{"k", "v"}};

/* Sets property `id` of p to a valid value. */
static void set_prop(struct ferry_properties *p, uint8_t id)
{
	switch (id) {
	case FERRY_PROP_PAYLOAD_FORMAT:
		p->flags |= FERRY_PF_PAYLOAD_FORMAT;
		p->payload_format = 1;
		break;
	case FERRY_PROP_MESSAGE_EXPIRY:
		p->flags |= FERRY_PF_MESSAGE_EXPIRY;
		p->message_expiry = 60;
		break;
	case FERRY_PROP_CONTENT_TYPE:
		p->content_type = "text/plain";
		break;
	case FERRY_PROP_RESPONSE_TOPIC:
		p->response_topic = "replies/7";
		break;
	case FERRY_PROP_CORRELATION_DATA:
		p->correlation_data = "\x00\x01";
		p->correlation_len = 2;
		break;
	case FERRY_PROP_SUBSCRIPTION_ID:
		p->flags |= FERRY_PF_SUBSCRIPTION_ID;
		p->subscription_id = 9;
		break;
	case FERRY_PROP_SESSION_EXPIRY:
		p->flags |= FERRY_PF_SESSION_EXPIRY;
		p->session_expiry = 600;
		break;
	case FERRY_PROP_AUTH_METHOD:
		p->auth_method = "SCRAM-SHA-256";
		break;
	case FERRY_PROP_AUTH_DATA:
		p->auth_data = "\xff\x00";
		p->auth_data_len = 2;
		break;
	case FERRY_PROP_REQUEST_PROBLEM_INFO:
		p->flags |= FERRY_PF_REQUEST_PROBLEM_INFO;
		p->request_problem_info = 0;
		break;
	case FERRY_PROP_WILL_DELAY:
		p->flags |= FERRY_PF_WILL_DELAY;
		p->will_delay = 5;
		break;
	case FERRY_PROP_REQUEST_RESPONSE_INFO:
		p->flags |= FERRY_PF_REQUEST_RESPONSE_INFO;
		p->request_response_info = 1;
		break;
	case FERRY_PROP_REASON_STRING:
		p->reason_string = "bye";
		break;
	case FERRY_PROP_RECEIVE_MAXIMUM:
		p->flags |= FERRY_PF_RECEIVE_MAXIMUM;
		p->receive_maximum = 10;
		break;
	case FERRY_PROP_TOPIC_ALIAS_MAXIMUM:
		p->flags |= FERRY_PF_TOPIC_ALIAS_MAXIMUM;
		p->topic_alias_maximum = 4;
		break;
	case FERRY_PROP_USER:
		p->user = one_user;
		p->user_count = 1;
		break;
	case FERRY_PROP_MAXIMUM_PACKET_SIZE:
		p->flags |= FERRY_PF_MAXIMUM_PACKET_SIZE;
		p->maximum_packet_size = 4096;
		break;
	default:
		abort(); /* a bug in the test */
	}
}

/* Imports p in ctx expecting `want`; on failure nothing may be left to free
 * (the struct's contents are then unspecified). */
static void import_expect(const struct ferry_properties *p, int ctx, int want, const char *what,
                          unsigned line)
{
	struct ferry_props out;
	void *mem = NULL;
	int rc = ferry__props_import(p, ctx, &out, &mem);
	char msg[200];
	snprintf(msg, sizeof msg, "%s in context %d: got %s, want %s", what, ctx, ferry_errname(rc),
	         ferry_errname(want));
	CU_assertImplementation(rc == want, line, msg, __FILE__, "", CU_FALSE);
	if (rc != FERRY_OK) {
		CU_ASSERT_PTR_NULL(mem);
	}
	free(mem);
}

/* ---- what each operation may send ------------------------------------------ */

static void test_import_null_is_empty(void)
{
	struct ferry_props out;
	void *mem = (void *)&out; /* must be reset */
	for (size_t i = 0; i < NCTX; i++) {
		ASSERT_RC(ferry__props_import(NULL, contexts[i], &out, &mem), FERRY_OK);
		CU_ASSERT_PTR_NULL(mem);
		CU_ASSERT_FALSE(ferry__props_any(&out));
	}
	struct ferry_properties none = FERRY_PROPERTIES_INIT;
	ASSERT_RC(ferry__props_import(&none, FERRY_PUBLISH, &out, &mem), FERRY_OK);
	CU_ASSERT_PTR_NULL(mem);
	CU_ASSERT_FALSE(ferry__props_any(&out));
}

/* Each property alone in each context: accepted exactly where ferry.h lists it. */
static void test_import_each_property_each_context(void)
{
	for (size_t i = 0; i < NSENDABLE; i++) {
		for (size_t k = 0; k < NCTX; k++) {
			int ctx = contexts[k];
			bool ok = (sendable[i].allowed & X(ctx)) != 0;
			struct ferry_properties p = FERRY_PROPERTIES_INIT;
			set_prop(&p, sendable[i].id);
			char what[64];
			snprintf(what, sizeof what, "property 0x%02x", sendable[i].id);
			if (!ok) {
				import_expect(&p, ctx, FERRY_ERR_PROPERTY_NOT_ALLOWED, what,
				              __LINE__);
				continue;
			}
			struct ferry_props out;
			void *mem = NULL;
			ASSERT_RC(ferry__props_import(&p, ctx, &out, &mem), FERRY_OK);
			bool user = sendable[i].id == FERRY_PROP_USER;
			CU_ASSERT_EQUAL(out.present, user ? 0 : BIT(sendable[i].id));
			CU_ASSERT_EQUAL(out.user_count, user ? 1 : 0);
			CU_ASSERT_TRUE(ferry__props_any(&out));
			free(mem);
		}
	}
}

/* Everything a context allows, at once: accepted, every property present. */
static void test_import_all_allowed_together(void)
{
	for (size_t k = 0; k < NCTX; k++) {
		int ctx = contexts[k];
		struct ferry_properties p = FERRY_PROPERTIES_INIT;
		uint64_t want = 0;
		for (size_t i = 0; i < NSENDABLE; i++) {
			if (!(sendable[i].allowed & X(ctx)))
				continue;
			set_prop(&p, sendable[i].id);
			if (sendable[i].id != FERRY_PROP_USER)
				want |= BIT(sendable[i].id);
		}
		struct ferry_props out;
		void *mem = NULL;
		ASSERT_RC(ferry__props_import(&p, ctx, &out, &mem), FERRY_OK);
		CU_ASSERT_EQUAL(out.present, want);
		CU_ASSERT_EQUAL(out.user_count, 1);
		size_t size = 0;
		ASSERT_RC(ferry__props_size(&out, ctx, &size), FERRY_OK);
		free(mem);
	}
}

/* Received-only fields are ignored when sending, as are values whose flag is clear. */
static void test_import_ignores_received_only_and_unflagged(void)
{
	static const uint32_t ids[] = {3, 4};
	struct ferry_properties p = {
	    .flags = FERRY_PF_SERVER_KEEPALIVE | FERRY_PF_MAXIMUM_QOS | FERRY_PF_RETAIN_AVAILABLE |
	             FERRY_PF_WILDCARD_SUB_AVAILABLE | FERRY_PF_SUB_ID_AVAILABLE |
	             FERRY_PF_SHARED_SUB_AVAILABLE | FERRY_PF_TOPIC_ALIAS,
	    .topic_alias = 3,
	    .server_keepalive = 10,
	    .subscription_ids = ids,
	    .subscription_id_count = 2,
	    .assigned_client_id = "id",
	    .response_info = "info",
	    .server_reference = "other:1883",
	    .receive_maximum = 0,     /* out of range, but not flagged */
	    .maximum_packet_size = 0, /* likewise */
	    .payload_format = 7,      /* likewise */
	    .subscription_id = 0,     /* likewise */
	};
	for (size_t k = 0; k < NCTX; k++) {
		struct ferry_props out;
		void *mem = NULL;
		ASSERT_RC(ferry__props_import(&p, contexts[k], &out, &mem), FERRY_OK);
		CU_ASSERT_EQUAL(out.present, 0);
		CU_ASSERT_FALSE(ferry__props_any(&out));
		free(mem);
	}
}

/* ---- values, strings, arguments --------------------------------------------- */

static void test_import_values_out_of_range(void)
{
	struct ferry_properties p = {.flags = FERRY_PF_RECEIVE_MAXIMUM, .receive_maximum = 0};
	import_expect(&p, FERRY_CONNECT, FERRY_ERR_PROPERTY_VALUE, "receive_maximum 0", __LINE__);
	p = (struct ferry_properties){.flags = FERRY_PF_MAXIMUM_PACKET_SIZE};
	import_expect(&p, FERRY_CONNECT, FERRY_ERR_PROPERTY_VALUE, "maximum_packet_size 0",
	              __LINE__);
	p = (struct ferry_properties){.flags = FERRY_PF_PAYLOAD_FORMAT, .payload_format = 2};
	import_expect(&p, FERRY_PUBLISH, FERRY_ERR_PROPERTY_VALUE, "payload_format 2", __LINE__);
	import_expect(&p, FERRY_PCTX_WILL, FERRY_ERR_PROPERTY_VALUE, "payload_format 2", __LINE__);
	p = (struct ferry_properties){.flags = FERRY_PF_SUBSCRIPTION_ID, .subscription_id = 0};
	import_expect(&p, FERRY_SUBSCRIBE, FERRY_ERR_PROPERTY_VALUE, "subscription_id 0", __LINE__);
	p.subscription_id = 268435456;
	import_expect(&p, FERRY_SUBSCRIBE, FERRY_ERR_PROPERTY_VALUE, "subscription_id 2^28",
	              __LINE__);
	p = (struct ferry_properties){.flags = FERRY_PF_REQUEST_RESPONSE_INFO,
	                              .request_response_info = 2};
	import_expect(&p, FERRY_CONNECT, FERRY_ERR_PROPERTY_VALUE, "request_response_info 2",
	              __LINE__);
	p = (struct ferry_properties){.flags = FERRY_PF_REQUEST_PROBLEM_INFO,
	                              .request_problem_info = 2};
	import_expect(&p, FERRY_CONNECT, FERRY_ERR_PROPERTY_VALUE, "request_problem_info 2",
	              __LINE__);
	/* The edges that are allowed. */
	p = (struct ferry_properties){.flags = FERRY_PF_SUBSCRIPTION_ID, .subscription_id = 1};
	import_expect(&p, FERRY_SUBSCRIBE, FERRY_OK, "subscription_id 1", __LINE__);
	p.subscription_id = 268435455;
	import_expect(&p, FERRY_SUBSCRIBE, FERRY_OK, "subscription_id 2^28-1", __LINE__);
	p = (struct ferry_properties){.flags =
	                                  FERRY_PF_RECEIVE_MAXIMUM | FERRY_PF_MAXIMUM_PACKET_SIZE |
	                                  FERRY_PF_SESSION_EXPIRY | FERRY_PF_TOPIC_ALIAS_MAXIMUM,
	                              .receive_maximum = 1,
	                              .maximum_packet_size = 1,
	                              .session_expiry = 0xFFFFFFFFu,
	                              .topic_alias_maximum = 0};
	import_expect(&p, FERRY_CONNECT, FERRY_OK, "connect edges", __LINE__);
}

/* Sets the string field `field` (0..5) of p to s, in a context that allows it. */
static int set_string(struct ferry_properties *p, int field, const char *s,
                      struct ferry_user_property *u)
{
	switch (field) {
	case 0:
		p->content_type = s;
		return FERRY_PUBLISH;
	case 1:
		p->response_topic = s;
		return FERRY_PCTX_WILL;
	case 2:
		p->reason_string = s;
		return FERRY_DISCONNECT;
	case 3:
		p->auth_method = s;
		return FERRY_CONNECT;
	case 4:
		*u = (struct ferry_user_property){s, "v"};
		break;
	default:
		*u = (struct ferry_user_property){"n", s};
		break;
	}
	p->user = u;
	p->user_count = 1;
	return FERRY_UNSUBSCRIBE;
}

static void test_import_bad_utf8(void)
{
	/* C strings cannot hold U+0000; these are the ill-formed byte sequences. */
	static const char *const bad[] = {
	    "\xff",             /* never in UTF-8 */
	    "caf\xc3",          /* truncated sequence */
	    "\xc0\x80",         /* overlong U+0000 */
	    "\xe0\x80\xaf",     /* overlong '/' */
	    "\xed\xa0\x80",     /* a surrogate (U+D800) */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "ok\x80",           /* a lone continuation byte */
	};
	for (int field = 0; field < 6; field++) {
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			struct ferry_properties p = FERRY_PROPERTIES_INIT;
			struct ferry_user_property u;
			int ctx = set_string(&p, field, bad[i], &u);
			char what[64];
			snprintf(what, sizeof what, "string field %d, bad string %zu", field, i);
			import_expect(&p, ctx, FERRY_ERR_UTF8, what, __LINE__);
		}
		struct ferry_properties p = FERRY_PROPERTIES_INIT;
		struct ferry_user_property u;
		int ctx =
		    set_string(&p, field, "gr\xc3\xbc\xc3\x9f/\xe2\x9c\x93/\xf0\x9d\x84\x9e", &u);
		import_expect(&p, ctx, FERRY_OK, "valid multi-byte UTF-8", __LINE__);
	}
	/* Binary data may hold any byte. */
	struct ferry_properties p = {
	    .correlation_data = "\xff\x00\xc0\x80", .correlation_len = 4, .auth_data = NULL};
	import_expect(&p, FERRY_PUBLISH, FERRY_OK, "binary correlation data", __LINE__);
}

static void test_import_response_topic_is_a_topic_name(void)
{
	static const char *const bad[] = {"replies/+", "replies/#", "+", "#", "a/+/b", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ferry_properties p = {.response_topic = bad[i]};
		import_expect(&p, FERRY_PUBLISH, FERRY_ERR_TOPIC_NAME, bad[i], __LINE__);
		import_expect(&p, FERRY_PCTX_WILL, FERRY_ERR_TOPIC_NAME, bad[i], __LINE__);
	}
	struct ferry_properties p = {.response_topic = "$replies/a b/c"};
	import_expect(&p, FERRY_PUBLISH, FERRY_OK, "a plain topic name", __LINE__);
}

static void test_import_string_length_limit(void)
{
	char *s = malloc(65537);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, 'a', 65536);
	s[65536] = '\0';
	struct ferry_properties p = {.content_type = s};
	import_expect(&p, FERRY_PUBLISH, FERRY_ERR_STRING_TOO_LONG, "content_type 65536", __LINE__);
	struct ferry_user_property u = {"n", s};
	p = (struct ferry_properties){.user = &u, .user_count = 1};
	import_expect(&p, FERRY_PUBLISH, FERRY_ERR_STRING_TOO_LONG, "user value 65536", __LINE__);
	p = (struct ferry_properties){.correlation_data = s, .correlation_len = 65536};
	import_expect(&p, FERRY_PUBLISH, FERRY_ERR_STRING_TOO_LONG, "correlation 65536", __LINE__);
	s[65535] = '\0';
	p = (struct ferry_properties){.content_type = s};
	import_expect(&p, FERRY_PUBLISH, FERRY_OK, "content_type 65535", __LINE__);
	free(s);
}

static void test_import_invalid_arguments(void)
{
	struct ferry_properties p = {.user_count = 1};
	import_expect(&p, FERRY_PUBLISH, FERRY_ERR_INVAL, "user_count without user", __LINE__);
	struct ferry_user_property u[2] = {{"a", "b"}, {NULL, "v"}};
	p = (struct ferry_properties){.user = u, .user_count = 2};
	import_expect(&p, FERRY_PUBLISH, FERRY_ERR_INVAL, "NULL user name", __LINE__);
	u[1] = (struct ferry_user_property){"n", NULL};
	import_expect(&p, FERRY_SUBSCRIBE, FERRY_ERR_INVAL, "NULL user value", __LINE__);
	p = (struct ferry_properties){.correlation_len = 3};
	import_expect(&p, FERRY_PUBLISH, FERRY_ERR_INVAL, "correlation_len without data", __LINE__);
	p = (struct ferry_properties){.auth_data_len = 3};
	import_expect(&p, FERRY_CONNECT, FERRY_ERR_INVAL, "auth_data_len without data", __LINE__);
	/* A user array with a count of 0 sends nothing. */
	p = (struct ferry_properties){.user = u, .user_count = 0};
	import_expect(&p, FERRY_PUBLISH, FERRY_OK, "user array, count 0", __LINE__);
}

/* ---- ownership ----------------------------------------------------------------- */

static void test_import_copies(void)
{
	char name[] = "colour", value[] = "red", ct[] = "text/plain", rt[] = "replies/1";
	char corr[] = {1, 2, 3};
	struct ferry_user_property u[] = {{name, value}};
	struct ferry_properties p = {.content_type = ct,
	                             .response_topic = rt,
	                             .correlation_data = corr,
	                             .correlation_len = 3,
	                             .user = u,
	                             .user_count = 1};
	struct ferry_props out;
	void *mem = NULL;
	ASSERT_RC(ferry__props_import(&p, FERRY_PUBLISH, &out, &mem), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL(mem);
	/* The application reuses its buffers at once. */
	memcpy(name, "COLOUR", 6);
	memcpy(value, "RED", 3);
	memcpy(ct, "XXXX/XXXXX", 10);
	memcpy(rt, "XXXXXXXXX", 9);
	memset(corr, 9, sizeof corr);
	u[0] = (struct ferry_user_property){"other", "other"};
	ASSERT_VIEW_STR(out.content_type, "text/plain");
	ASSERT_VIEW_STR(out.response_topic, "replies/1");
	CU_ASSERT_EQUAL(out.correlation_data.len, 3);
	CU_ASSERT_EQUAL(memcmp(out.correlation_data.p, "\x01\x02\x03", 3), 0);
	CU_ASSERT_EQUAL_FATAL(out.user_count, 1);
	CU_ASSERT_PTR_NOT_EQUAL(out.user, NULL);
	ASSERT_VIEW_STR(out.user[0].name, "colour");
	ASSERT_VIEW_STR(out.user[0].value, "red");
	free(mem);
}

/* ---- round trips: import, encode, decode, the public view ------------------------- */

/* Whether [p, p + len) lies in [mem, mem + n). */
static bool inside(const void *p, size_t len, const void *mem, size_t n)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)mem;
	return a >= b && a + len <= b + n;
}

/* Asserts that two C strings are equal (or both NULL) and that got lies in the block. */
static void assert_str(const char *got, const char *want, const void *mem, size_t n,
                       const char *what, unsigned line)
{
	bool ok = got == want || (got && want && strcmp(got, want) == 0);
	if (ok && got)
		ok = inside(got, strlen(got) + 1, mem, n);
	char msg[300];
	snprintf(msg, sizeof msg, "%s is \"%s\", expected \"%s\" (in the view's own block)", what,
	         got ? got : "(null)", want ? want : "(null)");
	CU_assertImplementation(ok, line, msg, __FILE__, "", CU_FALSE);
}
#define ASSERT_STR(got, want, mem, n) assert_str((got), (want), (mem), (n), #got, __LINE__)

/* Asserts binary data equal (NULL: absent), got within the block. */
static void assert_bin(const void *got, size_t glen, const void *want, size_t wlen, const void *mem,
                       size_t n, const char *what, unsigned line)
{
	bool ok =
	    want ? got && glen == wlen && memcmp(got, want, wlen) == 0 && inside(got, glen, mem, n)
	         : !got && glen == 0;
	char msg[200];
	snprintf(msg, sizeof msg, "%s: %zu bytes, expected %s%zu", what, glen, want ? "" : "none, ",
	         wlen);
	CU_assertImplementation(ok, line, msg, __FILE__, "", CU_FALSE);
}

/* Asserts that the public view v (built in mem, n bytes) holds what `sent` set. */
static void assert_view_is(const struct ferry_properties *sent, const struct ferry_properties *v,
                           const void *mem, size_t n)
{
	unsigned f = sent->flags;
	CU_ASSERT_EQUAL(v->flags, f);
	CU_ASSERT(!(f & FERRY_PF_PAYLOAD_FORMAT) || v->payload_format == sent->payload_format);
	CU_ASSERT(!(f & FERRY_PF_MESSAGE_EXPIRY) || v->message_expiry == sent->message_expiry);
	CU_ASSERT(!(f & FERRY_PF_SESSION_EXPIRY) || v->session_expiry == sent->session_expiry);
	CU_ASSERT(!(f & FERRY_PF_WILL_DELAY) || v->will_delay == sent->will_delay);
	CU_ASSERT(!(f & FERRY_PF_RECEIVE_MAXIMUM) || v->receive_maximum == sent->receive_maximum);
	CU_ASSERT(!(f & FERRY_PF_MAXIMUM_PACKET_SIZE) ||
	          v->maximum_packet_size == sent->maximum_packet_size);
	CU_ASSERT(!(f & FERRY_PF_TOPIC_ALIAS_MAXIMUM) ||
	          v->topic_alias_maximum == sent->topic_alias_maximum);
	CU_ASSERT(!(f & FERRY_PF_REQUEST_RESPONSE_INFO) ||
	          v->request_response_info == sent->request_response_info);
	CU_ASSERT(!(f & FERRY_PF_REQUEST_PROBLEM_INFO) ||
	          v->request_problem_info == sent->request_problem_info);
	CU_ASSERT(!(f & FERRY_PF_SUBSCRIPTION_ID) || v->subscription_id == sent->subscription_id);
	ASSERT_STR(v->content_type, sent->content_type, mem, n);
	ASSERT_STR(v->response_topic, sent->response_topic, mem, n);
	ASSERT_STR(v->reason_string, sent->reason_string, mem, n);
	ASSERT_STR(v->auth_method, sent->auth_method, mem, n);
	ASSERT_STR(v->assigned_client_id, NULL, mem, n);
	ASSERT_STR(v->server_reference, NULL, mem, n);
	assert_bin(v->correlation_data, v->correlation_len, sent->correlation_data,
	           sent->correlation_len, mem, n, "correlation data", __LINE__);
	assert_bin(v->auth_data, v->auth_data_len, sent->auth_data, sent->auth_data_len, mem, n,
	           "auth data", __LINE__);
	CU_ASSERT_EQUAL_FATAL(v->user_count, sent->user_count);
	CU_ASSERT_FATAL(v->user_count == 0 || v->user != NULL);
	for (size_t i = 0; i < sent->user_count; i++) {
		ASSERT_STR(v->user[i].name, sent->user[i].name, mem, n);
		ASSERT_STR(v->user[i].value, sent->user[i].value, mem, n);
	}
}

/* The public view of p in a block of exactly ferry__props_view_size bytes. */
static void *view_of(const struct ferry_props *p, struct ferry_properties *v, size_t *n)
{
	*n = ferry__props_view_size(p);
	void *mem = malloc(*n ? *n : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	ferry__props_view(p, mem, v);
	return mem;
}

/* Encodes p (ctx) into a new buffer of exactly its size; *n is that size. */
static uint8_t *encode(const struct ferry_props *p, int ctx, size_t *n)
{
	ASSERT_RC(ferry__props_size(p, ctx, n), FERRY_OK);
	uint8_t *buf = malloc(*n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	struct ferry_writer w;
	ferry__wr_init(&w, buf, *n);
	ASSERT_RC(ferry__props_encode(p, ctx, &w), FERRY_OK);
	CU_ASSERT_EQUAL((size_t)(w.p - buf), *n);
	return buf;
}

/* Decodes a whole block of n bytes. */
static int decode(const uint8_t *buf, size_t n, int ctx, struct ferry_props *out)
{
	struct ferry_cursor c;
	ferry__cur_init(&c, buf, n);
	int rc = ferry__props_decode(&c, ctx, out);
	if (rc == FERRY_OK)
		CU_ASSERT_EQUAL(ferry__cur_left(&c), 0);
	return rc;
}

/*
 * sent -> import -> view (what ferry will send), and sent -> import ->
 * encode -> decode -> view (what a peer receives): both views say what was
 * sent, and still do once the import's block and the frame are gone.
 */
static void roundtrip(const struct ferry_properties *sent, int ctx)
{
	struct ferry_props imp, dec;
	void *mem = NULL;
	int rc = ferry__props_import(sent, ctx, &imp, &mem);
	ASSERT_RC(rc, FERRY_OK);
	if (rc)
		return;
	struct ferry_properties v1, v2;
	size_t n1, n2, len;
	void *m1 = view_of(&imp, &v1, &n1);
	uint8_t *frame = encode(&imp, ctx, &len);
	free(mem);
	assert_view_is(sent, &v1, m1, n1);

	ASSERT_RC(decode(frame, len, ctx, &dec), FERRY_OK);
	/* (the decoder marks User Property present; the import need not) */
	CU_ASSERT_EQUAL(dec.present & ~BIT(FERRY_PROP_USER), imp.present);
	CU_ASSERT_EQUAL(dec.user_count, sent->user_count);
	void *m2 = view_of(&dec, &v2, &n2);
	memset(frame, 0xEE, len);
	free(frame);
	assert_view_is(sent, &v2, m2, n2);
	free(m1);
	free(m2);
}

static void test_roundtrip_publish(void)
{
	/* Repeated names, empty names and values, multi-byte text: all kept, in order. */
	static const struct ferry_user_property users[] = {
	    {"colour", "red"},   {"colour", "blue"}, {"", ""},
	    {"empty-value", ""}, {"", "empty-name"}, {"gr\xc3\xbc\xc3\x9f", "\xe2\x9c\x93"},
	    {"colour", "red"},
	};
	struct ferry_properties p = {
	    .flags = FERRY_PF_PAYLOAD_FORMAT | FERRY_PF_MESSAGE_EXPIRY,
	    .payload_format = 1,
	    .message_expiry = 3600,
	    .content_type = "application/json",
	    .response_topic = "replies/client-7",
	    .correlation_data = "\x00\x01\xfe\xff",
	    .correlation_len = 4,
	    .user = users,
	    .user_count = sizeof users / sizeof users[0],
	};
	roundtrip(&p, FERRY_PUBLISH);
	/* Payload format 0 and an expiry of 0 are values too, not absences. */
	p.payload_format = 0;
	p.message_expiry = 0;
	p.correlation_len = 0; /* an empty correlation data is still one */
	roundtrip(&p, FERRY_PUBLISH);
}

static void test_roundtrip_each_context(void)
{
	static const struct ferry_user_property u[] = {{"a", "1"}, {"a", "2"}};
	const struct ferry_properties connect = {
	    .flags = FERRY_PF_SESSION_EXPIRY | FERRY_PF_RECEIVE_MAXIMUM |
	             FERRY_PF_MAXIMUM_PACKET_SIZE | FERRY_PF_TOPIC_ALIAS_MAXIMUM |
	             FERRY_PF_REQUEST_RESPONSE_INFO | FERRY_PF_REQUEST_PROBLEM_INFO,
	    .session_expiry = 0xFFFFFFFFu,
	    .receive_maximum = 65535,
	    .maximum_packet_size = 268435460u,
	    .topic_alias_maximum = 10,
	    .request_response_info = 1,
	    .request_problem_info = 0,
	    .auth_method = "SCRAM-SHA-1",
	    .auth_data = "\x00n,,n=user",
	    .auth_data_len = 10,
	    .user = u,
	    .user_count = 2,
	};
	roundtrip(&connect, FERRY_CONNECT);
	const struct ferry_properties will = {
	    .flags = FERRY_PF_WILL_DELAY | FERRY_PF_PAYLOAD_FORMAT | FERRY_PF_MESSAGE_EXPIRY,
	    .will_delay = 30,
	    .payload_format = 1,
	    .message_expiry = 120,
	    .content_type = "text/plain",
	    .response_topic = "status/ack",
	    .correlation_data = "id",
	    .correlation_len = 2,
	    .user = u,
	    .user_count = 1,
	};
	roundtrip(&will, FERRY_PCTX_WILL);
	const struct ferry_properties subscribe = {.flags = FERRY_PF_SUBSCRIPTION_ID,
	                                           .subscription_id = 268435455,
	                                           .user = u,
	                                           .user_count = 2};
	roundtrip(&subscribe, FERRY_SUBSCRIBE);
	const struct ferry_properties unsubscribe = {.user = u, .user_count = 2};
	roundtrip(&unsubscribe, FERRY_UNSUBSCRIBE);
	const struct ferry_properties disconnect = {.flags = FERRY_PF_SESSION_EXPIRY,
	                                            .session_expiry = 0,
	                                            .reason_string = "shutting down",
	                                            .user = u,
	                                            .user_count = 1};
	roundtrip(&disconnect, FERRY_DISCONNECT);
	const struct ferry_properties auth = {.auth_method = "SCRAM-SHA-1",
	                                      .auth_data = "c=biws",
	                                      .auth_data_len = 6,
	                                      .reason_string = "re-auth",
	                                      .user = u,
	                                      .user_count = 2};
	roundtrip(&auth, FERRY_AUTH);
}

/* A received block whose view is checked against the given ids. */
static void check_sub_ids(const char *hex, const uint32_t *want, size_t n_want)
{
	uint8_t buf[64];
	size_t len = test_hex(hex, buf, sizeof buf);
	struct ferry_props p;
	ASSERT_RC(decode(buf, len, FERRY_PUBLISH, &p), FERRY_OK);
	CU_ASSERT_EQUAL(p.sub_id_count, n_want);
	struct ferry_properties v;
	size_t n;
	void *mem = view_of(&p, &v, &n);
	memset(buf, 0, sizeof buf);
	CU_ASSERT_TRUE(v.flags & FERRY_PF_SUBSCRIPTION_ID);
	CU_ASSERT_EQUAL(v.subscription_id, want[0]); /* the first */
	CU_ASSERT_EQUAL_FATAL(v.subscription_id_count, n_want);
	CU_ASSERT_TRUE(inside(v.subscription_ids, n_want * sizeof(uint32_t), mem, n));
	for (size_t i = 0; i < n_want; i++)
		CU_ASSERT_EQUAL(v.subscription_ids[i], want[i]);
	free(mem);
}

/* A message matching several subscriptions carries each one's identifier. */
static void test_view_several_subscription_ids(void)
{
	check_sub_ids("04 0b 05 0b 07", (const uint32_t[]){5, 7}, 2);
	check_sub_ids("03 0b 80 01", (const uint32_t[]){128}, 1);
	/* interleaved with user properties, which keep their own order */
	check_sub_ids("11 0b 01 26 00 01 61 00 01 62 0b 80 01 0b ff ff ff 7f",
	              (const uint32_t[]){1, 128, 268435455}, 3);
	uint8_t buf[32];
	size_t len =
	    test_hex("11 0b 01 26 00 01 61 00 01 62 0b 80 01 0b ff ff ff 7f", buf, sizeof buf);
	struct ferry_props p;
	ASSERT_RC(decode(buf, len, FERRY_PUBLISH, &p), FERRY_OK);
	struct ferry_properties v;
	size_t n;
	void *mem = view_of(&p, &v, &n);
	CU_ASSERT_EQUAL_FATAL(v.user_count, 1);
	ASSERT_STR(v.user[0].name, "a", mem, n);
	ASSERT_STR(v.user[0].value, "b", mem, n);
	free(mem);
	/* No identifier: no array. */
	len = test_hex("02 01 00", buf, sizeof buf);
	ASSERT_RC(decode(buf, len, FERRY_PUBLISH, &p), FERRY_OK);
	mem = view_of(&p, &v, &n);
	CU_ASSERT_FALSE(v.flags & FERRY_PF_SUBSCRIPTION_ID);
	CU_ASSERT_EQUAL(v.subscription_id_count, 0);
	CU_ASSERT_PTR_NULL(v.subscription_ids);
	CU_ASSERT_EQUAL(v.flags, FERRY_PF_PAYLOAD_FORMAT);
	free(mem);
}

/* A CONNACK's server limits reach their public fields and flags. */
static void test_view_connack(void)
{
	uint8_t buf[128];
	size_t len =
	    test_hex("26 11 00 00 00 3c  12 00 02 69 64  13 00 0a  1a 00 01 72"
	             "21 00 14  22 00 05  24 01  25 00  27 00 00 04 00  28 00  29 01  2a 00",
	             buf, sizeof buf);
	struct ferry_props p;
	ASSERT_RC(decode(buf, len, FERRY_CONNACK, &p), FERRY_OK);
	struct ferry_properties v;
	size_t n;
	void *mem = view_of(&p, &v, &n);
	memset(buf, 0, sizeof buf);
	CU_ASSERT_EQUAL(v.flags, FERRY_PF_SESSION_EXPIRY | FERRY_PF_SERVER_KEEPALIVE |
	                             FERRY_PF_RECEIVE_MAXIMUM | FERRY_PF_TOPIC_ALIAS_MAXIMUM |
	                             FERRY_PF_MAXIMUM_QOS | FERRY_PF_RETAIN_AVAILABLE |
	                             FERRY_PF_MAXIMUM_PACKET_SIZE |
	                             FERRY_PF_WILDCARD_SUB_AVAILABLE | FERRY_PF_SUB_ID_AVAILABLE |
	                             FERRY_PF_SHARED_SUB_AVAILABLE);
	CU_ASSERT_EQUAL(v.session_expiry, 60);
	ASSERT_STR(v.assigned_client_id, "id", mem, n);
	CU_ASSERT_EQUAL(v.server_keepalive, 10);
	ASSERT_STR(v.response_info, "r", mem, n);
	CU_ASSERT_EQUAL(v.receive_maximum, 20);
	CU_ASSERT_EQUAL(v.topic_alias_maximum, 5);
	CU_ASSERT_EQUAL(v.maximum_qos, 1);
	CU_ASSERT_EQUAL(v.retain_available, 0);
	CU_ASSERT_EQUAL(v.maximum_packet_size, 1024);
	CU_ASSERT_EQUAL(v.wildcard_sub_available, 0);
	CU_ASSERT_EQUAL(v.sub_id_available, 1);
	CU_ASSERT_EQUAL(v.shared_sub_available, 0);
	free(mem);
}

/* ---- clone ---------------------------------------------------------------------- */

/* A PUBLISH block in ascending identifier order, as the encoder writes it. */
static const char publish_hex[] =
    "27 01 01  02 00 00 0e 10  03 00 04 6a 73 6f 6e  08 00 03 72 2f 31"
    "09 00 02 00 ff  26 00 01 6b 00 00  26 00 01 6b 00 02 76 32";

static void test_clone_owns_decoded_bytes(void)
{
	uint8_t orig[64], buf[64];
	size_t len = test_hex(publish_hex, orig, sizeof orig);
	memcpy(buf, orig, len);
	struct ferry_props p, cl;
	ASSERT_RC(decode(buf, len, FERRY_PUBLISH, &p), FERRY_OK);
	void *mem = NULL;
	ASSERT_RC(ferry__props_clone(&p, &cl, &mem), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL(mem);
	memset(buf, 0xEE, sizeof buf); /* the frame is reused */

	CU_ASSERT_EQUAL(cl.present, p.present);
	CU_ASSERT_EQUAL(cl.payload_format, 1);
	CU_ASSERT_EQUAL(cl.message_expiry, 3600);
	ASSERT_VIEW_STR(cl.content_type, "json");
	ASSERT_VIEW_STR(cl.response_topic, "r/1");
	CU_ASSERT_EQUAL(cl.correlation_data.len, 2);
	CU_ASSERT_EQUAL(memcmp(cl.correlation_data.p, "\x00\xff", 2), 0);
	CU_ASSERT_EQUAL_FATAL(cl.user_count, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl.user);
	ASSERT_VIEW_STR(cl.user[0].name, "k");
	ASSERT_VIEW_STR(cl.user[0].value, "");
	ASSERT_VIEW_STR(cl.user[1].name, "k");
	ASSERT_VIEW_STR(cl.user[1].value, "v2");

	/* It can be encoded again as it is, to the same bytes. */
	size_t n;
	uint8_t *again = encode(&cl, FERRY_PUBLISH, &n);
	CU_ASSERT_EQUAL(n, len);
	if (n == len && memcmp(again, orig, n) != 0)
		CU_FAIL(test_tohex(again, n));
	free(again);
	/* And its view is right. */
	struct ferry_properties v;
	size_t vn;
	void *vm = view_of(&cl, &v, &vn);
	CU_ASSERT_EQUAL_FATAL(v.user_count, 2);
	ASSERT_STR(v.user[1].value, "v2", vm, vn);
	ASSERT_STR(v.content_type, "json", vm, vn);
	free(vm);
	free(mem);
}

static void test_clone_of_import_and_of_nothing(void)
{
	struct ferry_user_property u[] = {{"n", "v"}};
	struct ferry_properties p = {.reason_string = "why", .user = u, .user_count = 1};
	struct ferry_props imp, cl;
	void *imem = NULL, *cmem = NULL;
	ASSERT_RC(ferry__props_import(&p, FERRY_DISCONNECT, &imp, &imem), FERRY_OK);
	ASSERT_RC(ferry__props_clone(&imp, &cl, &cmem), FERRY_OK);
	free(imem);
	ASSERT_VIEW_STR(cl.reason_string, "why");
	CU_ASSERT_EQUAL_FATAL(cl.user_count, 1);
	ASSERT_VIEW_STR(cl.user[0].name, "n");
	ASSERT_VIEW_STR(cl.user[0].value, "v");
	free(cmem);

	struct ferry_props none;
	memset(&none, 0, sizeof none);
	cmem = &none; /* must be reset */
	ASSERT_RC(ferry__props_clone(&none, &cl, &cmem), FERRY_OK);
	CU_ASSERT_PTR_NULL(cmem);
	CU_ASSERT_FALSE(ferry__props_any(&cl));
}

/* A message kept past its frame (cloned) keeps every Subscription Identifier. */
static void test_clone_keeps_every_subscription_id(void)
{
	uint8_t buf[16];
	size_t len = test_hex("04 0b 05 0b 07", buf, sizeof buf);
	struct ferry_props p, cl;
	ASSERT_RC(decode(buf, len, FERRY_PUBLISH, &p), FERRY_OK);
	void *mem = NULL;
	ASSERT_RC(ferry__props_clone(&p, &cl, &mem), FERRY_OK);
	memset(buf, 0, sizeof buf);
	struct ferry_properties v;
	size_t n;
	void *vm = view_of(&cl, &v, &n);
	CU_ASSERT_EQUAL(v.subscription_id, 5);
	CU_ASSERT_EQUAL(v.subscription_id_count, 2);
	if (v.subscription_id_count == 2) {
		CU_ASSERT_EQUAL(v.subscription_ids[0], 5);
		CU_ASSERT_EQUAL(v.subscription_ids[1], 7);
	}
	free(vm);
	free(mem);
}

/* ---- deep copy of a public struct, get_user ------------------------------------- */

static void test_api_props_copy_is_deep(void)
{
	char name[] = "k", value[] = "v", ct[] = "ct", rt[] = "r/t", rs[] = "rs", am[] = "am";
	char aci[] = "aci", ri[] = "ri", sr[] = "sr", corr[] = {0, 1, 2}, ad[] = {3, 0};
	uint32_t ids[] = {4, 268435455};
	struct ferry_user_property u[] = {{name, value}, {name, ""}};
	struct ferry_properties in = {
	    .flags = FERRY_PF_SUBSCRIPTION_ID | FERRY_PF_TOPIC_ALIAS | FERRY_PF_MESSAGE_EXPIRY,
	    .message_expiry = 77,
	    .subscription_id = 4,
	    .topic_alias = 3,
	    .content_type = ct,
	    .response_topic = rt,
	    .reason_string = rs,
	    .auth_method = am,
	    .correlation_data = corr,
	    .correlation_len = 3,
	    .auth_data = ad,
	    .auth_data_len = 2,
	    .user = u,
	    .user_count = 2,
	    .subscription_ids = ids,
	    .subscription_id_count = 2,
	    .assigned_client_id = aci,
	    .response_info = ri,
	    .server_reference = sr,
	};
	size_t n = ferry__api_props_size(&in);
	void *mem = malloc(n ? n : 1); /* exactly the size asked for */
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	struct ferry_properties out;
	ferry__api_props_copy(&in, mem, &out);
	/* Everything the source pointed to changes. */
	char *all[] = {name, value, ct, rt, rs, am, aci, ri, sr};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		memset(all[i], 'X', strlen(all[i]));
	memset(corr, 9, sizeof corr);
	memset(ad, 9, sizeof ad);
	ids[0] = ids[1] = 99;
	u[0] = u[1] = (struct ferry_user_property){"x", "x"};

	CU_ASSERT_EQUAL(out.flags, in.flags);
	CU_ASSERT_EQUAL(out.message_expiry, 77);
	CU_ASSERT_EQUAL(out.subscription_id, 4);
	CU_ASSERT_EQUAL(out.topic_alias, 3);
	ASSERT_STR(out.content_type, "ct", mem, n);
	ASSERT_STR(out.response_topic, "r/t", mem, n);
	ASSERT_STR(out.reason_string, "rs", mem, n);
	ASSERT_STR(out.auth_method, "am", mem, n);
	ASSERT_STR(out.assigned_client_id, "aci", mem, n);
	ASSERT_STR(out.response_info, "ri", mem, n);
	ASSERT_STR(out.server_reference, "sr", mem, n);
	assert_bin(out.correlation_data, out.correlation_len, "\x00\x01\x02", 3, mem, n,
	           "correlation data", __LINE__);
	assert_bin(out.auth_data, out.auth_data_len, "\x03\x00", 2, mem, n, "auth data", __LINE__);
	CU_ASSERT_EQUAL_FATAL(out.user_count, 2);
	CU_ASSERT_TRUE(inside(out.user, 2 * sizeof *out.user, mem, n));
	ASSERT_STR(out.user[0].name, "k", mem, n);
	ASSERT_STR(out.user[0].value, "v", mem, n);
	ASSERT_STR(out.user[1].name, "k", mem, n);
	ASSERT_STR(out.user[1].value, "", mem, n);
	CU_ASSERT_EQUAL_FATAL(out.subscription_id_count, 2);
	CU_ASSERT_TRUE(inside(out.subscription_ids, 2 * sizeof(uint32_t), mem, n));
	CU_ASSERT_EQUAL(out.subscription_ids[0], 4);
	CU_ASSERT_EQUAL(out.subscription_ids[1], 268435455);
	free(mem);
}

/* The copy of a received view (what ferry_message_dup needs) outlives the view. */
static void test_api_props_copy_of_a_view(void)
{
	uint8_t buf[64];
	size_t len = test_hex(publish_hex, buf, sizeof buf);
	struct ferry_props p;
	ASSERT_RC(decode(buf, len, FERRY_PUBLISH, &p), FERRY_OK);
	struct ferry_properties v, out;
	size_t vn;
	void *vm = view_of(&p, &v, &vn);
	size_t n = ferry__api_props_size(&v);
	void *mem = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	ferry__api_props_copy(&v, mem, &out);
	memset(vm, 0xEE, vn);
	free(vm);
	memset(buf, 0xEE, sizeof buf);
	CU_ASSERT_EQUAL(out.flags, FERRY_PF_PAYLOAD_FORMAT | FERRY_PF_MESSAGE_EXPIRY);
	CU_ASSERT_EQUAL(out.message_expiry, 3600);
	ASSERT_STR(out.content_type, "json", mem, n);
	ASSERT_STR(out.response_topic, "r/1", mem, n);
	assert_bin(out.correlation_data, out.correlation_len, "\x00\xff", 2, mem, n, "correlation",
	           __LINE__);
	CU_ASSERT_EQUAL_FATAL(out.user_count, 2);
	ASSERT_STR(out.user[1].value, "v2", mem, n);
	CU_ASSERT_STRING_EQUAL(ferry_properties_get_user(&out, "k"), "");
	free(mem);
}

static void test_get_user(void)
{
	static const struct ferry_user_property u[] = {
	    {"colour", "red"}, {"size", ""}, {"colour", "blue"}, {"weight", "3"}};
	struct ferry_properties p = {.user = u, .user_count = 3};
	CU_ASSERT_PTR_EQUAL(ferry_properties_get_user(&p, "colour"), u[0].value); /* the first */
	const char *size = ferry_properties_get_user(&p, "size");
	CU_ASSERT_PTR_NOT_NULL_FATAL(size); /* present but empty is not absent */
	CU_ASSERT_STRING_EQUAL(size, "");
	CU_ASSERT_PTR_NULL(ferry_properties_get_user(&p, "Colour")); /* exact, case and all */
	CU_ASSERT_PTR_NULL(ferry_properties_get_user(&p, "col"));
	CU_ASSERT_PTR_NULL(ferry_properties_get_user(&p, "weight")); /* beyond user_count */
	CU_ASSERT_PTR_NULL(ferry_properties_get_user(NULL, "colour"));
	struct ferry_properties none = FERRY_PROPERTIES_INIT;
	CU_ASSERT_PTR_NULL(ferry_properties_get_user(&none, "colour"));
}

void register_props_api_suite(void)
{
	CU_pSuite s = test_suite("props_api");
	test_add(s, "import NULL or nothing is empty", test_import_null_is_empty);
	test_add(s, "import: each property in each context",
	         test_import_each_property_each_context);
	test_add(s, "import: all a context allows, together", test_import_all_allowed_together);
	test_add(s, "import ignores received-only and unflagged fields",
	         test_import_ignores_received_only_and_unflagged);
	test_add(s, "import: values out of range", test_import_values_out_of_range);
	test_add(s, "import: ill-formed UTF-8", test_import_bad_utf8);
	test_add(s, "import: response topic is a topic name",
	         test_import_response_topic_is_a_topic_name);
	test_add(s, "import: 65,535-byte limit", test_import_string_length_limit);
	test_add(s, "import: invalid arguments", test_import_invalid_arguments);
	test_add(s, "import copies", test_import_copies);
	test_add(s, "round trip: publish, user properties in order", test_roundtrip_publish);
	test_add(s, "round trip: every other context", test_roundtrip_each_context);
	test_add(s, "view: several subscription identifiers", test_view_several_subscription_ids);
	test_add(s, "view: CONNACK limits", test_view_connack);
	test_add(s, "clone owns a decoded block's bytes", test_clone_owns_decoded_bytes);
	test_add(s, "clone of an import, clone of nothing", test_clone_of_import_and_of_nothing);
	test_add(s, "clone keeps every subscription identifier",
	         test_clone_keeps_every_subscription_id);
	test_add(s, "api props copy is deep", test_api_props_copy_is_deep);
	test_add(s, "api props copy of a received view", test_api_props_copy_of_a_view);
	test_add(s, "ferry_properties_get_user", test_get_user);
}

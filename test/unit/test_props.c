/*
 * test_props.c - MQTT 5 properties (MQTT 5.0 section 2.2.2, table 2-4):
 * every property in every context, duplicates, value ranges, lengths,
 * 10,000 user properties, the encoder's fixed order and round trips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "props.h"
#include "suites.h"
#include "util.h"

/* Contexts, written out from table 2-4 (independently of props.c). */
#define X(t)        (1u << (t))
#define WILL        X(FERRY_PCTX_WILL)
#define CONNECT     X(FERRY_CONNECT)
#define CONNACK     X(FERRY_CONNACK)
#define PUBLISH     X(FERRY_PUBLISH)
#define PUBACK      X(FERRY_PUBACK)
#define PUBREC      X(FERRY_PUBREC)
#define PUBREL      X(FERRY_PUBREL)
#define PUBCOMP     X(FERRY_PUBCOMP)
#define SUBSCRIBE   X(FERRY_SUBSCRIBE)
#define SUBACK      X(FERRY_SUBACK)
#define UNSUBSCRIBE X(FERRY_UNSUBSCRIBE)
#define UNSUBACK    X(FERRY_UNSUBACK)
#define DISCONNECT  X(FERRY_DISCONNECT)
#define AUTH        X(FERRY_AUTH)

struct prop_case {
	uint8_t id;
	const char *value; /* a valid value, hex */
	unsigned allowed;  /* contexts */
	const char *name;
};

static const struct prop_case props[] = {
    {0x01, "01", PUBLISH | WILL, "Payload Format Indicator"},
    {0x02, "00 00 00 0a", PUBLISH | WILL, "Message Expiry Interval"},
    {0x03, "00 04 74 65 78 74", PUBLISH | WILL, "Content Type"},
    {0x08, "00 03 61 2f 62", PUBLISH | WILL, "Response Topic"},
    {0x09, "00 02 00 ff", PUBLISH | WILL, "Correlation Data"},
    {0x0B, "80 01", PUBLISH | SUBSCRIBE, "Subscription Identifier"},
    {0x11, "00 00 00 3c", CONNECT | CONNACK | DISCONNECT, "Session Expiry Interval"},
    {0x12, "00 01 63", CONNACK, "Assigned Client Identifier"},
    {0x13, "00 0a", CONNACK, "Server Keep Alive"},
    {0x15, "00 01 6d", CONNECT | CONNACK | AUTH, "Authentication Method"},
    {0x16, "00 01 ff", CONNECT | CONNACK | AUTH, "Authentication Data"},
    {0x17, "00", CONNECT, "Request Problem Information"},
    {0x18, "00 00 00 05", WILL, "Will Delay Interval"},
    {0x19, "01", CONNECT, "Request Response Information"},
    {0x1A, "00 01 72", CONNACK, "Response Information"},
    {0x1C, "00 01 73", CONNACK | DISCONNECT, "Server Reference"},
    {0x1F, "00 02 6e 6f",
     CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH,
     "Reason String"},
    {0x21, "00 0a", CONNECT | CONNACK, "Receive Maximum"},
    {0x22, "00 00", CONNECT | CONNACK, "Topic Alias Maximum"},
    {0x23, "ff ff", PUBLISH, "Topic Alias"},
    {0x24, "00", CONNACK, "Maximum QoS"},
    {0x25, "01", CONNACK, "Retain Available"},
    {0x26, "00 01 6b 00 01 76",
     WILL | CONNECT | CONNACK | PUBLISH | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBSCRIBE | SUBACK |
         UNSUBSCRIBE | UNSUBACK | DISCONNECT | AUTH,
     "User Property"},
    {0x27, "00 00 10 00", CONNECT | CONNACK, "Maximum Packet Size"},
    {0x28, "01", CONNACK, "Wildcard Subscription Available"},
    {0x29, "00", CONNACK, "Subscription Identifier Available"},
    {0x2A, "01", CONNACK, "Shared Subscription Available"},
};
#define NPROPS (sizeof props / sizeof props[0])

/* Frame buffer the decoded views point into (valid until the next build). */
static uint8_t frame[1 << 12];

/* Builds "property length + content" from hex content; returns the size. */
static size_t build(const char *content_hex)
{
	static uint8_t tmp[sizeof frame];
	size_t n = test_hex(content_hex, tmp, sizeof tmp);
	struct ferry_writer w;
	ferry__wr_init(&w, frame, sizeof frame);
	if (ferry__wr_varint(&w, (uint32_t)n) || ferry__wr_raw(&w, tmp, n))
		abort();
	return (size_t)(w.p - frame);
}

/* Decodes a block built from hex content; checks the cursor on both outcomes. */
static int decode(const char *content_hex, int ctx, struct ferry_props *p)
{
	size_t n = build(content_hex);
	frame[n] = 0xAA; /* a byte after the block that must stay unread */
	struct ferry_cursor c;
	ferry__cur_init(&c, frame, n + 1);
	int rc = ferry__props_decode(&c, ctx, p);
	if (rc == FERRY_OK) {
		CU_ASSERT_EQUAL(ferry__cur_left(&c), 1);
	} else {
		CU_ASSERT_PTR_EQUAL(c.p, frame);
	}
	return rc;
}

static void assert_rc_msg(int got, int want, const char *what, unsigned id, int ctx, unsigned line)
{
	char msg[200];
	snprintf(msg, sizeof msg, "%s: property 0x%02x ctx %d: got %s, want %s", what, id, ctx,
	         ferry_errname(got), ferry_errname(want));
	CU_assertImplementation(got == want, line, msg, __FILE__, "", CU_FALSE);
}

/* Encodes p in ctx and checks size == bytes written == the frame's first n bytes. */
static void assert_encodes_to(const struct ferry_props *p, int ctx, const uint8_t *want, size_t n)
{
	static uint8_t out[1 << 17];
	size_t size = 0;
	ASSERT_RC(ferry__props_size(p, ctx, &size), FERRY_OK);
	CU_ASSERT_EQUAL(size, n);
	struct ferry_writer w;
	ferry__wr_init(&w, out, sizeof out);
	ASSERT_RC(ferry__props_encode(p, ctx, &w), FERRY_OK);
	CU_ASSERT_EQUAL((size_t)(w.p - out), n);
	if ((size_t)(w.p - out) == n && memcmp(out, want, n) != 0)
		CU_FAIL(test_tohex(out, n));
}

/* Every property, alone, in every context 0..15: decode, and encode it back. */
static void test_contexts_table(void)
{
	for (size_t i = 0; i < NPROPS; i++) {
		char hex[128];
		snprintf(hex, sizeof hex, "%02x %s", props[i].id, props[i].value);
		for (int ctx = 0; ctx <= 15; ctx++) {
			struct ferry_props p;
			bool ok = (props[i].allowed & X(ctx)) != 0;
			int rc = decode(hex, ctx, &p);
			assert_rc_msg(rc, ok ? FERRY_OK : FERRY_ERR_PROPERTY_NOT_ALLOWED, "decode",
			              props[i].id, ctx, __LINE__);
			if (!ok)
				continue;
			CU_ASSERT_EQUAL(p.present, FERRY_PROP_BIT(props[i].id));
			struct ferry_user_prop up;
			struct ferry_prop_iter it;
			ferry__props_iter_init(&it, &p);
			if (props[i].id == FERRY_PROP_USER) {
				CU_ASSERT_FATAL(ferry__props_next_user(&it, &up));
				p.user = &up;
			}
			size_t n = build(hex);
			assert_encodes_to(&p, ctx, frame, n);
			/* The same struct in every other context is refused by the encoder. */
			for (int other = 0; other <= 15; other++) {
				size_t size;
				int want = (props[i].allowed & X(other))
				               ? FERRY_OK
				               : FERRY_ERR_PROPERTY_NOT_ALLOWED;
				assert_rc_msg(ferry__props_size(&p, other, &size), want, "size",
				              props[i].id, other, __LINE__);
			}
		}
	}
}

static void test_names(void)
{
	for (size_t i = 0; i < NPROPS; i++) {
		const char *n = ferry__prop_name(props[i].id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(n);
		CU_ASSERT_STRING_EQUAL(n, props[i].name);
	}
	CU_ASSERT_PTR_NULL(ferry__prop_name(0x00));
	CU_ASSERT_PTR_NULL(ferry__prop_name(0x04));
	CU_ASSERT_PTR_NULL(ferry__prop_name(0x2B));
	CU_ASSERT_PTR_NULL(ferry__prop_name(0x7F));
	CU_ASSERT_PTR_NULL(ferry__prop_name(0xFFFFFFFFu));
}

static void test_decode_types(void)
{
	struct ferry_props p;
	/* PUBLISH: byte, four-byte, UTF-8, UTF-8 topic, binary, two-byte, varint. */
	ASSERT_RC(decode("01 01  02 00 01 51 80  03 00 04 74 65 78 74  08 00 03 61 2f 62"
	                 "09 00 03 00 01 ff  23 00 07  0b ff ff ff 7f",
	                 FERRY_PUBLISH, &p),
	          FERRY_OK);
	CU_ASSERT_EQUAL(p.payload_format, 1);
	CU_ASSERT_EQUAL(p.message_expiry, 86400);
	ASSERT_VIEW_STR(p.content_type, "text");
	ASSERT_VIEW_STR(p.response_topic, "a/b");
	CU_ASSERT_EQUAL(p.correlation_data.len, 3);
	CU_ASSERT_EQUAL(memcmp(p.correlation_data.p, "\x00\x01\xff", 3), 0);
	CU_ASSERT_EQUAL(p.topic_alias, 7);
	CU_ASSERT_EQUAL(p.sub_id, 268435455);
	CU_ASSERT_EQUAL(p.sub_id_count, 1);
	CU_ASSERT_EQUAL(p.user_count, 0);
	CU_ASSERT_PTR_NULL(p.user);
	CU_ASSERT_EQUAL(p.raw.len, 34);
	CU_ASSERT_PTR_EQUAL(p.raw.p, frame + 1); /* a view after the length */

	/* CONNACK: the rest of the integer fields. */
	ASSERT_RC(decode("11 ff ff ff ff  13 01 2c  21 00 14  22 00 0a  24 00  25 01"
	                 "27 00 01 00 00  28 00  29 01  2a 00  12 00 02 69 64",
	                 FERRY_CONNACK, &p),
	          FERRY_OK);
	CU_ASSERT_EQUAL(p.session_expiry, 0xFFFFFFFFu);
	CU_ASSERT_EQUAL(p.server_keepalive, 300);
	CU_ASSERT_EQUAL(p.receive_maximum, 20);
	CU_ASSERT_EQUAL(p.topic_alias_maximum, 10);
	CU_ASSERT_EQUAL(p.maximum_qos, 0);
	CU_ASSERT_EQUAL(p.retain_available, 1);
	CU_ASSERT_EQUAL(p.maximum_packet_size, 65536);
	CU_ASSERT_EQUAL(p.wildcard_sub_available, 0);
	CU_ASSERT_EQUAL(p.sub_id_available, 1);
	CU_ASSERT_EQUAL(p.shared_sub_available, 0);
	ASSERT_VIEW_STR(p.assigned_client_id, "id");
	CU_ASSERT((p.present & FERRY_PROP_BIT(FERRY_PROP_MAXIMUM_QOS)) != 0); /* present though 0 */

	ASSERT_RC(decode("18 00 00 00 1e", FERRY_PCTX_WILL, &p), FERRY_OK);
	CU_ASSERT_EQUAL(p.will_delay, 30);
	ASSERT_RC(decode("17 01 19 00", FERRY_CONNECT, &p), FERRY_OK);
	CU_ASSERT_EQUAL(p.request_problem_info, 1);
	CU_ASSERT_EQUAL(p.request_response_info, 0);
	ASSERT_RC(decode("15 00 01 6b 16 00 00", FERRY_AUTH, &p), FERRY_OK);
	ASSERT_VIEW_STR(p.auth_method, "k");
	CU_ASSERT_EQUAL(p.auth_data.len, 0);
}

static void test_empty_block(void)
{
	struct ferry_props p;
	for (int ctx = 0; ctx <= 15; ctx++) {
		ASSERT_RC(decode("", ctx, &p), FERRY_OK);
		CU_ASSERT_EQUAL(p.present, 0);
		CU_ASSERT_EQUAL(p.raw.len, 0);
	}
	size_t size = 0;
	ASSERT_RC(ferry__props_size(NULL, FERRY_PINGREQ, &size), FERRY_OK);
	CU_ASSERT_EQUAL(size, 1);
	uint8_t out[1] = {0xee};
	struct ferry_writer w;
	ferry__wr_init(&w, out, 1);
	ASSERT_RC(ferry__props_encode(NULL, FERRY_PUBLISH, &w), FERRY_OK);
	CU_ASSERT_EQUAL(out[0], 0);
	CU_ASSERT_PTR_EQUAL(w.p, out + 1);
}

static void test_duplicates(void)
{
	struct ferry_props p;
	for (size_t i = 0; i < NPROPS; i++) {
		char hex[160];
		snprintf(hex, sizeof hex, "%02x %s %02x %s", props[i].id, props[i].value,
		         props[i].id, props[i].value);
		int ctx = 0;
		while (!(props[i].allowed & X(ctx)))
			ctx++;
		int want = props[i].id == FERRY_PROP_USER ? FERRY_OK : FERRY_ERR_PROPERTY_DUPLICATE;
		if (props[i].id == FERRY_PROP_SUBSCRIPTION_ID)
			ctx = FERRY_SUBSCRIBE; /* repeatable in PUBLISH only */
		assert_rc_msg(decode(hex, ctx, &p), want, "twice", props[i].id, ctx, __LINE__);
	}
	/* Subscription Identifiers: several in PUBLISH, the first kept in the field. */
	ASSERT_RC(decode("0b 05 26 00 01 61 00 00 0b 80 01 0b 07", FERRY_PUBLISH, &p), FERRY_OK);
	CU_ASSERT_EQUAL(p.sub_id_count, 3);
	CU_ASSERT_EQUAL(p.sub_id, 5);
	struct ferry_prop_iter it;
	uint32_t id = 0;
	ferry__props_iter_init(&it, &p);
	CU_ASSERT(ferry__props_next_sub_id(&it, &id) && id == 5);
	CU_ASSERT(ferry__props_next_sub_id(&it, &id) && id == 128);
	CU_ASSERT(ferry__props_next_sub_id(&it, &id) && id == 7);
	CU_ASSERT_FALSE(ferry__props_next_sub_id(&it, &id));
	ASSERT_RC(decode("0b 05 0b 05", FERRY_SUBSCRIBE, &p), FERRY_ERR_PROPERTY_DUPLICATE);
	/* A duplicate far from the first. */
	ASSERT_RC(decode("21 00 01 26 00 00 00 00 22 00 01 21 00 01", FERRY_CONNECT, &p),
	          FERRY_ERR_PROPERTY_DUPLICATE);
}

struct err_case {
	const char *hex;
	int ctx;
	int want;
};

static void run_err_cases(const struct err_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ferry_props p;
		int rc = decode(cases[i].hex, cases[i].ctx, &p);
		char msg[200];
		snprintf(msg, sizeof msg, "[%s] ctx %d: got %s, want %s", cases[i].hex,
		         cases[i].ctx, ferry_errname(rc), ferry_errname(cases[i].want));
		CU_assertImplementation(rc == cases[i].want, __LINE__, msg, __FILE__, "", CU_FALSE);
	}
}

static void test_values(void)
{
	static const struct err_case cases[] = {
	    {"01 00", FERRY_PUBLISH, FERRY_OK},
	    {"01 02", FERRY_PUBLISH, FERRY_ERR_PROPERTY_VALUE},
	    {"01 ff", FERRY_PCTX_WILL, FERRY_ERR_PROPERTY_VALUE},
	    {"17 02", FERRY_CONNECT, FERRY_ERR_PROPERTY_VALUE},
	    {"19 02", FERRY_CONNECT, FERRY_ERR_PROPERTY_VALUE},
	    {"24 01", FERRY_CONNACK, FERRY_OK},
	    {"24 02", FERRY_CONNACK, FERRY_ERR_PROPERTY_VALUE},
	    {"25 02", FERRY_CONNACK, FERRY_ERR_PROPERTY_VALUE},
	    {"28 02", FERRY_CONNACK, FERRY_ERR_PROPERTY_VALUE},
	    {"29 80", FERRY_CONNACK, FERRY_ERR_PROPERTY_VALUE},
	    {"2a 02", FERRY_CONNACK, FERRY_ERR_PROPERTY_VALUE},
	    {"21 00 00", FERRY_CONNECT, FERRY_ERR_PROPERTY_VALUE},
	    {"21 00 01", FERRY_CONNECT, FERRY_OK},
	    {"27 00 00 00 00", FERRY_CONNACK, FERRY_ERR_PROPERTY_VALUE},
	    {"27 00 00 00 01", FERRY_CONNACK, FERRY_OK},
	    {"23 00 00", FERRY_PUBLISH, FERRY_ERR_PROPERTY_VALUE},
	    {"22 00 00", FERRY_CONNACK, FERRY_OK}, /* Topic Alias Maximum 0: no aliases */
	    {"13 00 00", FERRY_CONNACK, FERRY_OK},
	    {"0b 00", FERRY_PUBLISH, FERRY_ERR_PROPERTY_VALUE},
	    {"0b 00", FERRY_SUBSCRIBE, FERRY_ERR_PROPERTY_VALUE},
	    {"0b 01", FERRY_SUBSCRIBE, FERRY_OK},
	    {"0b 81 00", FERRY_SUBSCRIBE, FERRY_ERR_VARINT_NON_MINIMAL},
	    {"0b ff ff ff ff 01", FERRY_SUBSCRIBE, FERRY_ERR_VARINT},
	    {"08 00 03 61 2f 2b", FERRY_PUBLISH, FERRY_ERR_TOPIC_NAME},
	    {"08 00 01 23", FERRY_PCTX_WILL, FERRY_ERR_TOPIC_NAME},
	    {"08 00 00", FERRY_PUBLISH, FERRY_ERR_TOPIC_NAME},
	    {"08 00 01 2f", FERRY_PUBLISH, FERRY_OK},
	    {"03 00 02 c3 28", FERRY_PUBLISH, FERRY_ERR_UTF8},
	    {"03 00 01 00", FERRY_PUBLISH, FERRY_ERR_UTF8_NUL},
	    {"1f 00 03 ed a0 80", FERRY_PUBACK, FERRY_ERR_UTF8},
	    {"26 00 01 00 00 00", FERRY_PUBLISH, FERRY_ERR_UTF8_NUL},
	    {"26 00 00 00 01 ff", FERRY_PUBLISH, FERRY_ERR_UTF8},
	    {"26 00 00 00 00", FERRY_PUBLISH, FERRY_OK}, /* empty name and value */
	    {"09 00 02 00 ff", FERRY_PUBLISH, FERRY_OK}, /* binary: anything */
	    {"16 00 01 00", FERRY_AUTH, FERRY_OK},
	};
	run_err_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_unknown(void)
{
	static const struct err_case cases[] = {
	    {"00 00", FERRY_PUBLISH, FERRY_ERR_PROPERTY_UNKNOWN},
	    {"04 00", FERRY_PUBLISH, FERRY_ERR_PROPERTY_UNKNOWN},
	    {"2b 00", FERRY_CONNACK, FERRY_ERR_PROPERTY_UNKNOWN},
	    {"7f 00", FERRY_CONNACK, FERRY_ERR_PROPERTY_UNKNOWN},
	    {"80 01 00", FERRY_CONNACK, FERRY_ERR_PROPERTY_UNKNOWN},    /* id 128 */
	    {"81 00 00", FERRY_PUBLISH, FERRY_ERR_VARINT_NON_MINIMAL},  /* id 1, two bytes */
	    {"01 00 04 00", FERRY_PUBLISH, FERRY_ERR_PROPERTY_UNKNOWN}, /* after a good one */
	    {"01 00 1e 00", FERRY_PUBLISH, FERRY_ERR_PROPERTY_UNKNOWN},
	};
	run_err_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_lengths(void)
{
	/* Truncation inside the block is a property length error, never TRUNCATED. */
	static const struct err_case cases[] = {
	    {"02 00 00", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH}, /* 2 of 4 bytes */
	    {"23 00", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH},
	    {"01", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH},
	    {"0b", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH},
	    {"0b 80", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH},
	    {"03 00 05 61", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH},
	    {"03 00", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH},
	    {"26 00 01 61", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH}, /* pair missing value */
	    {"26 00 01 61 00 02 62", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH},
	    {"80", FERRY_PUBLISH, FERRY_ERR_PROPERTY_LENGTH}, /* id cut */
	};
	run_err_cases(cases, sizeof cases / sizeof cases[0]);

	/* A value running past the block, into bytes that follow it. */
	uint8_t buf[16];
	size_t n = test_hex("03 02 00 00 00 00 00", buf, sizeof buf);
	struct ferry_cursor c;
	struct ferry_props p;
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__props_decode(&c, FERRY_PUBLISH, &p), FERRY_ERR_PROPERTY_LENGTH);
	CU_ASSERT_PTR_EQUAL(c.p, buf);

	/* The property length itself. */
	struct {
		const char *hex;
		int want;
	} lens[] = {
	    {"", FERRY_ERR_PROPERTY_LENGTH},
	    {"05 01 01", FERRY_ERR_PROPERTY_LENGTH},
	    {"80", FERRY_ERR_PROPERTY_LENGTH},
	    {"80 01", FERRY_ERR_PROPERTY_LENGTH}, /* 128, nothing follows */
	    {"80 00", FERRY_ERR_VARINT_NON_MINIMAL},
	    {"ff ff ff ff 7f", FERRY_ERR_VARINT},
	    {"ff ff ff 7f 00", FERRY_ERR_PROPERTY_LENGTH},
	};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		n = test_hex(lens[i].hex, buf, sizeof buf);
		ferry__cur_init(&c, buf, n);
		ASSERT_RC(ferry__props_decode(&c, FERRY_PUBLISH, &p), lens[i].want);
		CU_ASSERT_PTR_EQUAL(c.p, buf);
	}
}

static void test_iterators(void)
{
	struct ferry_props p;
	/* Users, sub ids and other properties interleaved: wire order is kept. */
	ASSERT_RC(decode("26 00 01 61 00 01 31  0b 02  01 01  26 00 01 62 00 00  23 00 05"
	                 "0b 03  26 00 01 61 00 01 33",
	                 FERRY_PUBLISH, &p),
	          FERRY_OK);
	CU_ASSERT_EQUAL(p.user_count, 3);
	CU_ASSERT_EQUAL(p.sub_id_count, 2);
	struct ferry_prop_iter it;
	struct ferry_user_prop up;
	ferry__props_iter_init(&it, &p);
	CU_ASSERT_FATAL(ferry__props_next_user(&it, &up));
	ASSERT_VIEW_STR(up.name, "a");
	ASSERT_VIEW_STR(up.value, "1");
	CU_ASSERT_FATAL(ferry__props_next_user(&it, &up));
	ASSERT_VIEW_STR(up.name, "b");
	ASSERT_VIEW_STR(up.value, "");
	CU_ASSERT_FATAL(ferry__props_next_user(&it, &up));
	ASSERT_VIEW_STR(up.name, "a"); /* same name twice is allowed */
	ASSERT_VIEW_STR(up.value, "3");
	CU_ASSERT_FALSE(ferry__props_next_user(&it, &up));
	CU_ASSERT_FALSE(ferry__props_next_user(&it, &up)); /* stays at the end */

	uint32_t id;
	ferry__props_iter_init(&it, &p);
	CU_ASSERT(ferry__props_next_sub_id(&it, &id) && id == 2);
	CU_ASSERT(ferry__props_next_sub_id(&it, &id) && id == 3);
	CU_ASSERT_FALSE(ferry__props_next_sub_id(&it, &id));

	/* An encode-side struct (never decoded) iterates as empty. */
	struct ferry_props e;
	memset(&e, 0, sizeof e);
	ferry__props_iter_init(&it, &e);
	CU_ASSERT_FALSE(ferry__props_next_user(&it, &up));
	CU_ASSERT_FALSE(ferry__props_next_sub_id(&it, &id));
}

#define MANY 10000

static void test_many_users(void)
{
	/* 10,000 User Properties "k" = "%04x": one linear pass, in order, then back. */
	enum { ONE = 10 };
	static uint8_t buf[3 + MANY * ONE + 1];
	static struct ferry_user_prop users[MANY];
	struct ferry_writer w;
	ferry__wr_init(&w, buf, sizeof buf);
	CU_ASSERT_FATAL(ferry__wr_varint(&w, MANY * ONE) == FERRY_OK);
	for (unsigned i = 0; i < MANY; i++) {
		char v[8];
		snprintf(v, sizeof v, "%04x", i);
		ferry__wr_u8(&w, FERRY_PROP_USER);
		ferry__wr_binary(&w, ferry__bytes_str("k"));
		ferry__wr_binary(&w, ferry__bytes_str(v));
	}
	size_t n = (size_t)(w.p - buf);
	CU_ASSERT_EQUAL_FATAL(n, 3 + MANY * ONE);

	struct ferry_props p;
	struct ferry_cursor c;
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__props_decode(&c, FERRY_PUBLISH, &p), FERRY_OK);
	CU_ASSERT_EQUAL(p.user_count, MANY);
	CU_ASSERT_EQUAL(p.present, FERRY_PROP_BIT(FERRY_PROP_USER));

	struct ferry_prop_iter it;
	size_t count = 0, in_order = 0;
	ferry__props_iter_init(&it, &p);
	while (count < MANY && ferry__props_next_user(&it, &users[count])) {
		char v[8];
		snprintf(v, sizeof v, "%04x", (unsigned)count);
		if (users[count].value.len == 4 && memcmp(users[count].value.p, v, 4) == 0)
			in_order++;
		count++;
	}
	CU_ASSERT_EQUAL(count, MANY);
	CU_ASSERT_EQUAL(in_order, MANY);
	CU_ASSERT_FALSE(ferry__props_next_user(&it, &users[0]));

	p.user = users;
	assert_encodes_to(&p, FERRY_PUBLISH, buf, n);
}

static void test_encode_order(void)
{
	/* Ascending identifiers, users at 0x26 in array order, whatever the field order. */
	struct ferry_user_prop users[] = {
	    {ferry__bytes_str("z"), ferry__bytes_str("1")},
	    {ferry__bytes_str("a"), ferry__bytes_str("2")},
	};
	struct ferry_props p;
	memset(&p, 0, sizeof p);
	p.present = FERRY_PROP_BIT(FERRY_PROP_MAXIMUM_PACKET_SIZE) |
	            FERRY_PROP_BIT(FERRY_PROP_SESSION_EXPIRY) |
	            FERRY_PROP_BIT(FERRY_PROP_RETAIN_AVAILABLE) |
	            FERRY_PROP_BIT(FERRY_PROP_REASON_STRING) |
	            FERRY_PROP_BIT(FERRY_PROP_SHARED_SUB_AVAILABLE) |
	            FERRY_PROP_BIT(FERRY_PROP_ASSIGNED_CLIENT_ID);
	p.maximum_packet_size = 1024;
	p.session_expiry = 60;
	p.retain_available = 0;
	p.reason_string = ferry__bytes_str("ok");
	p.shared_sub_available = 1;
	p.assigned_client_id = ferry__bytes_str("c");
	p.receive_maximum = 0; /* bit not set: not written, not checked */
	p.user = users;
	p.user_count = 2;
	uint8_t want[64];
	size_t n = test_hex("25  11 00 00 00 3c  12 00 01 63  1f 00 02 6f 6b  25 00"
	                    "26 00 01 7a 00 01 31  26 00 01 61 00 01 32  27 00 00 04 00  2a 01",
	                    want, sizeof want);
	assert_encodes_to(&p, FERRY_CONNACK, want, n);

	/* PUBLISH with a Subscription Identifier (at 0x0B) and a Topic Alias. */
	memset(&p, 0, sizeof p);
	p.present =
	    FERRY_PROP_BIT(FERRY_PROP_TOPIC_ALIAS) | FERRY_PROP_BIT(FERRY_PROP_SUBSCRIPTION_ID) |
	    FERRY_PROP_BIT(FERRY_PROP_PAYLOAD_FORMAT) | FERRY_PROP_BIT(FERRY_PROP_CORRELATION_DATA);
	p.topic_alias = 3;
	p.sub_id = 16384;
	p.payload_format = 1;
	p.correlation_data.p = (const uint8_t *)"\xff\x00";
	p.correlation_data.len = 2;
	n = test_hex("0e 01 01 09 00 02 ff 00 0b 80 80 01 23 00 03", want, sizeof want);
	assert_encodes_to(&p, FERRY_PUBLISH, want, n);

	/* Bit 0x26 set with no users writes nothing for it. */
	memset(&p, 0, sizeof p);
	p.present = FERRY_PROP_BIT(FERRY_PROP_USER);
	n = test_hex("00", want, sizeof want);
	assert_encodes_to(&p, FERRY_PUBACK, want, n);
}

static void test_roundtrip(void)
{
	/* Out-of-order input decodes to the same struct as its re-encoding. */
	struct ferry_props a, b;
	ASSERT_RC(decode("27 00 00 01 00  21 00 05  11 00 00 00 0a  15 00 01 78  17 01",
	                 FERRY_CONNECT, &a),
	          FERRY_OK);
	uint8_t out[128];
	struct ferry_writer w;
	ferry__wr_init(&w, out, sizeof out);
	ASSERT_RC(ferry__props_encode(&a, FERRY_CONNECT, &w), FERRY_OK);
	struct ferry_cursor c;
	ferry__cur_init(&c, out, (size_t)(w.p - out));
	ASSERT_RC(ferry__props_decode(&c, FERRY_CONNECT, &b), FERRY_OK);
	CU_ASSERT_EQUAL(ferry__cur_left(&c), 0);
	CU_ASSERT_EQUAL(a.present, b.present);
	CU_ASSERT_EQUAL(b.maximum_packet_size, 256);
	CU_ASSERT_EQUAL(b.receive_maximum, 5);
	CU_ASSERT_EQUAL(b.session_expiry, 10);
	ASSERT_VIEW_STR(b.auth_method, "x");
	CU_ASSERT_EQUAL(b.request_problem_info, 1);
	uint8_t want[64];
	size_t n = test_hex("13 11 00 00 00 0a 15 00 01 78 17 01 21 00 05 27 00 00 01 00", want,
	                    sizeof want);
	CU_ASSERT_EQUAL((size_t)(w.p - out), n);
	CU_ASSERT_EQUAL(memcmp(out, want, n), 0);
}

static void expect_size_err(const struct ferry_props *p, int ctx, int want, unsigned line)
{
	size_t size = 12345;
	uint8_t out[64];
	struct ferry_writer w;
	ferry__wr_init(&w, out, sizeof out);
	int rc = ferry__props_size(p, ctx, &size);
	assert_rc_msg(rc, want, "size", 0, ctx, line);
	rc = ferry__props_encode(p, ctx, &w);
	assert_rc_msg(rc, want, "encode", 0, ctx, line);
	if (want != FERRY_OK) {
		CU_ASSERT_PTR_EQUAL(w.p, out); /* nothing written */
	}
}

static void test_encode_errors(void)
{
	struct ferry_props p;
	struct ferry_user_prop up = {ferry__bytes_str("n"), ferry__bytes_str("v")};

#define RESET(bits) (memset(&p, 0, sizeof p), p.present = (bits))
	RESET(FERRY_PROP_BIT(FERRY_PROP_TOPIC_ALIAS));
	p.topic_alias = 1;
	expect_size_err(&p, FERRY_CONNECT, FERRY_ERR_PROPERTY_NOT_ALLOWED, __LINE__);
	expect_size_err(&p, FERRY_PUBLISH, FERRY_OK, __LINE__);
	p.topic_alias = 0;
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_PROPERTY_VALUE, __LINE__);
	RESET(0);
	p.user = &up;
	p.user_count = 1;
	expect_size_err(&p, FERRY_PINGREQ, FERRY_ERR_PROPERTY_NOT_ALLOWED, __LINE__);
	expect_size_err(&p, FERRY_UNSUBSCRIBE, FERRY_OK, __LINE__);
	p.user = NULL; /* a count without an array */
	expect_size_err(&p, FERRY_UNSUBSCRIBE, FERRY_ERR_INVAL, __LINE__);
	RESET(FERRY_PROP_BIT(FERRY_PROP_RECEIVE_MAXIMUM));
	expect_size_err(&p, FERRY_CONNECT, FERRY_ERR_PROPERTY_VALUE, __LINE__);
	RESET(FERRY_PROP_BIT(FERRY_PROP_MAXIMUM_PACKET_SIZE));
	expect_size_err(&p, FERRY_CONNECT, FERRY_ERR_PROPERTY_VALUE, __LINE__);
	RESET(FERRY_PROP_BIT(FERRY_PROP_SUBSCRIPTION_ID));
	expect_size_err(&p, FERRY_SUBSCRIBE, FERRY_ERR_PROPERTY_VALUE, __LINE__);
	p.sub_id = FERRY_VARINT_MAX + 1u;
	expect_size_err(&p, FERRY_SUBSCRIBE, FERRY_ERR_PROPERTY_VALUE, __LINE__);
	RESET(FERRY_PROP_BIT(FERRY_PROP_PAYLOAD_FORMAT));
	p.payload_format = 2;
	expect_size_err(&p, FERRY_PCTX_WILL, FERRY_ERR_PROPERTY_VALUE, __LINE__);
	RESET(FERRY_PROP_BIT(FERRY_PROP_MAXIMUM_QOS));
	p.maximum_qos = 2;
	expect_size_err(&p, FERRY_CONNACK, FERRY_ERR_PROPERTY_VALUE, __LINE__);
	RESET(FERRY_PROP_BIT(0x04)); /* no such property */
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_PROPERTY_UNKNOWN, __LINE__);
	RESET(FERRY_PROP_BIT(0));
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_PROPERTY_UNKNOWN, __LINE__);
	RESET(FERRY_PROP_BIT(63));
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_PROPERTY_UNKNOWN, __LINE__);
#undef RESET
}

static void test_encode_string_errors(void)
{
	static uint8_t big[65536];
	struct ferry_props p;
	struct ferry_user_prop up = {ferry__bytes_str("n"), ferry__bytes_str("v")};
	memset(big, 'a', sizeof big);

#define RESET(bits) (memset(&p, 0, sizeof p), p.present = (bits))
	RESET(FERRY_PROP_BIT(FERRY_PROP_CONTENT_TYPE));
	p.content_type.p = big;
	p.content_type.len = sizeof big;
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_STRING_TOO_LONG, __LINE__);
	p.content_type = ferry__bytes_str("\xc3\x28");
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_UTF8, __LINE__);
	RESET(FERRY_PROP_BIT(FERRY_PROP_CORRELATION_DATA));
	p.correlation_data.p = big;
	p.correlation_data.len = sizeof big;
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_STRING_TOO_LONG, __LINE__);
	RESET(FERRY_PROP_BIT(FERRY_PROP_RESPONSE_TOPIC));
	p.response_topic = ferry__bytes_str("a/#");
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_TOPIC_NAME, __LINE__);
	p.response_topic = ferry__bytes_str("");
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_TOPIC_NAME, __LINE__);
	RESET(0);
	up.name.p = (const uint8_t *)"a\0b";
	up.name.len = 3;
	p.user = &up;
	p.user_count = 1;
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_UTF8_NUL, __LINE__);
	up.name = ferry__bytes_str("n");
	up.value.p = big;
	up.value.len = sizeof big;
	expect_size_err(&p, FERRY_PUBLISH, FERRY_ERR_STRING_TOO_LONG, __LINE__);
#undef RESET
}

static void test_encode_buffer(void)
{
	struct ferry_props p;
	memset(&p, 0, sizeof p);
	p.present = FERRY_PROP_BIT(FERRY_PROP_MESSAGE_EXPIRY);
	p.message_expiry = 9;
	size_t size = 0;
	ASSERT_RC(ferry__props_size(&p, FERRY_PUBLISH, &size), FERRY_OK);
	CU_ASSERT_EQUAL_FATAL(size, 6);
	uint8_t out[6];
	struct ferry_writer w;
	ferry__wr_init(&w, out, size - 1);
	ASSERT_RC(ferry__props_encode(&p, FERRY_PUBLISH, &w), FERRY_ERR_BUFFER_SIZE);
	CU_ASSERT_PTR_EQUAL(w.p, out);
	ferry__wr_init(&w, out, size);
	ASSERT_RC(ferry__props_encode(&p, FERRY_PUBLISH, &w), FERRY_OK);
	CU_ASSERT_PTR_EQUAL(w.p, out + 6);
}

static void test_too_large(void)
{
	/* 2,049 users of 2 x 65,535 bytes exceed what a property length can describe. */
	enum { N = 2049 };
	static uint8_t big[65535];
	static struct ferry_user_prop users[N];
	memset(big, 'x', sizeof big);
	for (size_t i = 0; i < N; i++) {
		users[i].name.p = big;
		users[i].name.len = sizeof big;
		users[i].value = users[i].name;
	}
	struct ferry_props p;
	memset(&p, 0, sizeof p);
	p.user = users;
	p.user_count = N;
	size_t size = 0;
	ASSERT_RC(ferry__props_size(&p, FERRY_PUBLISH, &size), FERRY_ERR_PACKET_TOO_LARGE);
	p.user_count = N - 1; /* 2,048 x 131,075 = 268,441,600: still too large */
	ASSERT_RC(ferry__props_size(&p, FERRY_PUBLISH, &size), FERRY_ERR_PACKET_TOO_LARGE);
	p.user_count = 2047; /* 268,310,525 fits */
	ASSERT_RC(ferry__props_size(&p, FERRY_PUBLISH, &size), FERRY_OK);
	CU_ASSERT_EQUAL(size, 4 + 2047u * 131075u);
}

void register_props_suite(void)
{
	CU_pSuite s = test_suite("props");
	test_add(s, "every property x every context", test_contexts_table);
	test_add(s, "names", test_names);
	test_add(s, "decode each type", test_decode_types);
	test_add(s, "empty block", test_empty_block);
	test_add(s, "duplicates", test_duplicates);
	test_add(s, "value ranges", test_values);
	test_add(s, "unknown identifiers", test_unknown);
	test_add(s, "property lengths", test_lengths);
	test_add(s, "iterators in wire order", test_iterators);
	test_add(s, "10,000 user properties", test_many_users);
	test_add(s, "encode order", test_encode_order);
	test_add(s, "round trip", test_roundtrip);
	test_add(s, "encode errors: context, values, identifiers", test_encode_errors);
	test_add(s, "encode errors: strings", test_encode_string_errors);
	test_add(s, "encode buffer size", test_encode_buffer);
	test_add(s, "block too large", test_too_large);
}

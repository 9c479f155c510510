/*
 * test_roundtrip.c - encode -> decode -> compare every field, for a broad
 * table of packets in every version they exist in: all types, with and
 * without will, user name, password and properties, QoS 0/1/2, empty and
 * 64 KiB payloads, 65,535-byte strings, hundreds of subscriptions, every MQTT 5
 * property. For each: the size ferry__encode_size announces is the length
 * written, one byte less of buffer is FERRY_ERR_BUFFER_SIZE, and the decoder
 * accepts the packet with max_packet_size = its size but not one byte less.
 * Then the encoder's refusals: every invalid input gives its documented error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "suites.h"
#include "util.h"

#include "codec_check.h"

#define V3        (1u << 3)
#define V4        (1u << 4)
#define V5        (1u << 5)
#define VALL      (V3 | V4 | V5)
#define BIT(name) FERRY_PROP_BIT(FERRY_PROP_##name)
#define COUNT(a)  (sizeof(a) / sizeof((a)[0]))
#define MANY      300

static uint8_t big[65536]; /* 'x' * 65536, see fill_big */
static uint8_t bin[256];   /* 0x00..0xFF */
static struct ferry_sub_entry many_subs[MANY];
static struct ferry_bytes many_filters[MANY];
static uint8_t many_codes[MANY];
static char filter_text[MANY][24];
static struct ferry_user_prop users[3];

static struct ferry_bytes str(const char *s)
{
	return ferry__bytes_str(s);
}

static struct ferry_bytes big_view(size_t n)
{
	struct ferry_bytes b = {big, n};
	return b;
}

static void fill_data(void)
{
	memset(big, 'x', sizeof big);
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)i;
	for (size_t i = 0; i < MANY; i++) {
		snprintf(filter_text[i], sizeof filter_text[i], i % 3 ? "f/%zu/+" : "f/%zu/#", i);
		many_filters[i] = str(filter_text[i]);
		many_subs[i].filter = many_filters[i];
		many_subs[i].options = (uint8_t)(i % 3);
	}
	users[0].name = str("name");
	users[0].value = str("value");
	users[1].name = str("name"); /* a name may repeat (3.3.2.3.7) */
	users[1].value = str("");
	users[2].name = str("\xC3\xA9t\xC3\xA9"); /* UTF-8 "ete" with accents */
	users[2].value = str("\xF0\x9F\x98\x80");
}

static void set_users(struct ferry_props *pr, size_t n)
{
	pr->user = users;
	pr->user_count = n;
}

/* ---- the packets ------------------------------------------------------------------- */

/*
 * Each builder fills a zeroed packet for a version; `arg` picks a variant
 * (a packet type, a QoS, a count) as the case table says.
 */

static void connect_min(uint8_t v, struct ferry_packet *p, int arg)
{
	(void)v;
	(void)arg;
	p->type = FERRY_CONNECT;
	p->u.connect.clean_start = true;
	p->u.connect.keepalive = 60;
	p->u.connect.client_id = str("client-1");
}

/* arg: will QoS, plus 4 for a retained will. */
static void connect_will(uint8_t v, struct ferry_packet *p, int arg)
{
	connect_min(v, p, 0);
	p->u.connect.clean_start = false;
	p->u.connect.keepalive = 65535;
	p->u.connect.has_will = true;
	p->u.connect.will.qos = (uint8_t)(arg & 3);
	p->u.connect.will.retain = (arg & 4) != 0;
	p->u.connect.will.topic = str("clients/client-1/status");
	p->u.connect.will.payload = str("gone");
}

static void connect_will_auth(uint8_t v, struct ferry_packet *p, int arg)
{
	connect_will(v, p, arg);
	p->u.connect.will.payload.p = bin;
	p->u.connect.will.payload.len = sizeof bin;
	p->u.connect.has_username = true;
	p->u.connect.username = str("user");
	p->u.connect.has_password = true;
	p->u.connect.password.p = bin;
	p->u.connect.password.len = sizeof bin;
}

/* arg: 1 user name only, 2 password only. */
static void connect_credential(uint8_t v, struct ferry_packet *p, int arg)
{
	connect_min(v, p, 0);
	p->u.connect.has_username = arg == 1;
	p->u.connect.username = arg == 1 ? str("\xE2\x82\xAC-user") : str("");
	p->u.connect.has_password = arg == 2;
	p->u.connect.password = arg == 2 ? str("token") : str("");
}

static void connect_big(uint8_t v, struct ferry_packet *p, int arg)
{
	connect_will(v, p, arg);
	p->u.connect.client_id = big_view(65535);
	p->u.connect.will.topic = big_view(65535);
	p->u.connect.will.payload = big_view(65535);
	p->u.connect.has_username = true;
	p->u.connect.username = big_view(65535);
	p->u.connect.has_password = true;
	p->u.connect.password = big_view(65535);
}

static void connect_empty_id(uint8_t v, struct ferry_packet *p, int arg)
{
	connect_min(v, p, arg);
	p->u.connect.client_id = str("");
	p->u.connect.clean_start = v != 5; /* 5.0 does not need clean start */
}

static void connect_props(uint8_t v, struct ferry_packet *p, int arg)
{
	connect_will(v, p, arg);
	struct ferry_props *c = &p->u.connect.props, *w = &p->u.connect.will.props;
	c->present = BIT(SESSION_EXPIRY) | BIT(RECEIVE_MAXIMUM) | BIT(MAXIMUM_PACKET_SIZE) |
	             BIT(TOPIC_ALIAS_MAXIMUM) | BIT(REQUEST_RESPONSE_INFO) |
	             BIT(REQUEST_PROBLEM_INFO) | BIT(AUTH_METHOD) | BIT(AUTH_DATA);
	c->session_expiry = 0xFFFFFFFFu;
	c->receive_maximum = 65535;
	c->maximum_packet_size = 268435460u;
	c->topic_alias_maximum = 0;
	c->request_response_info = 1;
	c->request_problem_info = 1;
	c->auth_method = str("SCRAM-SHA-256");
	c->auth_data.p = bin;
	c->auth_data.len = sizeof bin;
	set_users(c, 3);
	w->present = BIT(WILL_DELAY) | BIT(PAYLOAD_FORMAT) | BIT(MESSAGE_EXPIRY) |
	             BIT(CONTENT_TYPE) | BIT(RESPONSE_TOPIC) | BIT(CORRELATION_DATA);
	w->will_delay = 30;
	w->payload_format = 1;
	w->message_expiry = 86400;
	w->content_type = str("text/plain; charset=utf-8");
	w->response_topic = str("clients/client-1/reply");
	w->correlation_data = str("\x00\x01\x02");
	set_users(w, 1);
}

/* arg: 0 accepted, 1 session present (3.1 cannot say it: decodes as false), 2 refused. */
static void connack(uint8_t v, struct ferry_packet *p, int arg)
{
	p->type = FERRY_CONNACK;
	p->u.connack.session_present = arg == 1;
	if (arg == 2)
		p->u.connack.reason = v == 5 ? 0x86 : 4; /* bad user name or password */
}

static void connack_props(uint8_t v, struct ferry_packet *p, int arg)
{
	connack(v, p, arg);
	struct ferry_props *c = &p->u.connack.props;
	c->present = BIT(SESSION_EXPIRY) | BIT(RECEIVE_MAXIMUM) | BIT(MAXIMUM_QOS) |
	             BIT(RETAIN_AVAILABLE) | BIT(MAXIMUM_PACKET_SIZE) | BIT(ASSIGNED_CLIENT_ID) |
	             BIT(TOPIC_ALIAS_MAXIMUM) | BIT(REASON_STRING) | BIT(WILDCARD_SUB_AVAILABLE) |
	             BIT(SUB_ID_AVAILABLE) | BIT(SHARED_SUB_AVAILABLE) | BIT(SERVER_KEEPALIVE) |
	             BIT(RESPONSE_INFO) | BIT(SERVER_REFERENCE) | BIT(AUTH_METHOD) | BIT(AUTH_DATA);
	c->session_expiry = 7200;
	c->receive_maximum = 1;
	c->maximum_qos = 0;
	c->retain_available = 1;
	c->maximum_packet_size = 1;
	c->assigned_client_id = str("auto-5F3A");
	c->topic_alias_maximum = 65535;
	c->reason_string = str("welcome");
	c->wildcard_sub_available = 1;
	c->sub_id_available = 0;
	c->shared_sub_available = 1;
	c->server_keepalive = 0;
	c->response_info = str("reply/");
	c->server_reference = str("mqtt://other:1883");
	c->auth_method = str("SCRAM-SHA-256");
	c->auth_data = str("server-final");
	set_users(c, 2);
}

/* arg: QoS, plus 4 for retain, plus 8 for DUP. */
static void publish(uint8_t v, struct ferry_packet *p, int arg)
{
	(void)v;
	uint8_t qos = (uint8_t)(arg & 3);
	p->type = FERRY_PUBLISH;
	p->u.publish.qos = qos;
	p->u.publish.retain = (arg & 4) != 0;
	p->u.publish.dup = (arg & 8) != 0;
	p->u.publish.packet_id = qos ? (uint16_t)(65533 + qos) : 0;
	p->u.publish.topic = str("sensors/room-1/temperature");
	p->u.publish.payload = str("21.5");
}

static void publish_empty(uint8_t v, struct ferry_packet *p, int arg)
{
	publish(v, p, arg);
	p->u.publish.payload = str("");
}

static void publish_64k(uint8_t v, struct ferry_packet *p, int arg)
{
	publish(v, p, arg);
	p->u.publish.payload = big_view(65536);
}

static void publish_long_topic(uint8_t v, struct ferry_packet *p, int arg)
{
	publish(v, p, arg);
	p->u.publish.topic = big_view(65535);
	p->u.publish.payload.p = bin;
	p->u.publish.payload.len = sizeof bin;
}

static void publish_props(uint8_t v, struct ferry_packet *p, int arg)
{
	publish(v, p, arg);
	struct ferry_props *pr = &p->u.publish.props;
	pr->present = BIT(PAYLOAD_FORMAT) | BIT(MESSAGE_EXPIRY) | BIT(CONTENT_TYPE) |
	              BIT(RESPONSE_TOPIC) | BIT(CORRELATION_DATA) | BIT(TOPIC_ALIAS) |
	              BIT(SUBSCRIPTION_ID);
	pr->payload_format = 1;
	pr->message_expiry = 0;
	pr->content_type = str("application/json");
	pr->response_topic = str("replies/1");
	pr->correlation_data.p = bin;
	pr->correlation_data.len = 16;
	pr->topic_alias = 65535;
	pr->sub_id = 2097152;
	set_users(pr, 3);
}

static void publish_alias_only(uint8_t v, struct ferry_packet *p, int arg)
{
	publish(v, p, arg);
	p->u.publish.topic = str("");
	p->u.publish.props.present = BIT(TOPIC_ALIAS);
	p->u.publish.props.topic_alias = 1;
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP (arg: the type), reason 0, no properties. */
static void ack(uint8_t v, struct ferry_packet *p, int arg)
{
	(void)v;
	p->type = (uint8_t)arg;
	p->u.ack.packet_id = (uint16_t)(arg == FERRY_PUBREL ? 256 : 255 + arg);
}

/* An ack with its type's most telling reason code and no properties. */
static void ack_reason(uint8_t v, struct ferry_packet *p, int arg)
{
	ack(v, p, arg);
	p->u.ack.reason = arg == FERRY_PUBACK ? 0x10 : arg == FERRY_PUBREC ? 0x80 : 0x92;
}

/* An ack with properties: PUBREL keeps reason 0 (the long form), the others a failure. */
static void ack_props(uint8_t v, struct ferry_packet *p, int arg)
{
	ack(v, p, arg);
	if (arg != FERRY_PUBREL) {
		p->u.ack.reason = arg == FERRY_PUBCOMP ? 0x92 : 0x87;
		p->u.ack.props.present = BIT(REASON_STRING);
		p->u.ack.props.reason_string = str("not authorized for sensors/#");
	}
	set_users(&p->u.ack.props, 2);
}

/* arg: how many of the MANY filters. */
static void subscribe(uint8_t v, struct ferry_packet *p, int arg)
{
	(void)v;
	p->type = FERRY_SUBSCRIBE;
	p->u.subscribe.packet_id = 1;
	p->u.subscribe.entries = many_subs;
	p->u.subscribe.count = (size_t)arg;
}

static void subscribe_options(uint8_t v, struct ferry_packet *p, int arg)
{
	static const struct ferry_sub_entry opts[] = {
	    {{(const uint8_t *)"a", 1}, 0x04 | 0x08 | 0x20 | 1}, /* NL, RAP, RH 2, QoS 1 */
	    {{(const uint8_t *)"b/#", 3}, 0x10 | 2},             /* RH 1, QoS 2 */
	    {{(const uint8_t *)"$share/group/c/+", 16}, 0x08},   /* shared, RAP */
	    {{(const uint8_t *)"+", 1}, 0x00},
	};
	subscribe(v, p, arg);
	p->u.subscribe.entries = opts;
	p->u.subscribe.count = COUNT(opts);
	p->u.subscribe.props.present = BIT(SUBSCRIPTION_ID);
	p->u.subscribe.props.sub_id = 268435455;
	set_users(&p->u.subscribe.props, 1);
}

/* arg: how many codes, cycling through the version's valid ones. */
static void suback(uint8_t v, struct ferry_packet *p, int arg)
{
	p->type = FERRY_SUBACK;
	p->u.suback.packet_id = 9;
	for (size_t i = 0; i < MANY; i++)
		many_codes[i] = (uint8_t)(i % (v == 3 ? 3 : 4) == 3 ? 0x80 : i % 3);
	p->u.suback.reasons = many_codes;
	p->u.suback.count = (size_t)arg;
}

static void suback_props(uint8_t v, struct ferry_packet *p, int arg)
{
	static const uint8_t codes[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
	                                0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
	suback(v, p, arg);
	p->u.suback.reasons = codes;
	p->u.suback.count = COUNT(codes);
	p->u.suback.props.present = BIT(REASON_STRING);
	p->u.suback.props.reason_string = str("partly");
	set_users(&p->u.suback.props, 3);
}

/* arg: how many of the MANY filters; user properties with more than one. */
static void unsubscribe(uint8_t v, struct ferry_packet *p, int arg)
{
	(void)v;
	p->type = FERRY_UNSUBSCRIBE;
	p->u.unsubscribe.packet_id = 2;
	p->u.unsubscribe.filters = many_filters;
	p->u.unsubscribe.count = (size_t)arg;
	if (arg > 1)
		set_users(&p->u.unsubscribe.props, 2);
}

static void unsuback(uint8_t v, struct ferry_packet *p, int arg)
{
	static const uint8_t codes[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
	(void)arg;
	p->type = FERRY_UNSUBACK;
	p->u.suback.packet_id = 2;
	if (v == 5) {
		p->u.suback.reasons = codes;
		p->u.suback.count = COUNT(codes);
		p->u.suback.props.present = BIT(REASON_STRING);
		p->u.suback.props.reason_string = str("done");
	}
}

/* A packet with no fields (arg: the type): PINGREQ, PINGRESP, DISCONNECT, AUTH. */
static void bare(uint8_t v, struct ferry_packet *p, int arg)
{
	(void)v;
	p->type = (uint8_t)arg;
}

/* DISCONNECT or AUTH (arg) with a reason code and no properties. */
static void disconnect_reason(uint8_t v, struct ferry_packet *p, int arg)
{
	bare(v, p, arg);
	p->u.disconnect.reason = arg == FERRY_AUTH ? 0x19 : 0x04;
}

static void disconnect_props(uint8_t v, struct ferry_packet *p, int arg)
{
	bare(v, p, arg);
	struct ferry_props *pr = &p->u.disconnect.props;
	if (arg == FERRY_AUTH) {
		p->u.disconnect.reason = 0x18;
		pr->present = BIT(AUTH_METHOD) | BIT(AUTH_DATA) | BIT(REASON_STRING);
		pr->auth_method = str("SCRAM-SHA-256");
		pr->auth_data.p = bin;
		pr->auth_data.len = 200;
	} else {
		p->u.disconnect.reason = 0x8B;
		pr->present = BIT(SESSION_EXPIRY) | BIT(REASON_STRING) | BIT(SERVER_REFERENCE);
		pr->session_expiry = 60;
		pr->server_reference = str("other");
	}
	pr->reason_string = str("bye");
	set_users(pr, 1);
}

struct rt_case {
	const char *name;
	unsigned versions;
	void (*build)(uint8_t version, struct ferry_packet *p, int arg);
	int arg;
};

static const struct rt_case cases[] = {
    {"CONNECT minimal", VALL, connect_min, 0},
    {"CONNECT will QoS 0", VALL, connect_will, 0},
    {"CONNECT will QoS 1 retained", VALL, connect_will, 1 | 4},
    {"CONNECT will QoS 2, user name, binary password", VALL, connect_will_auth, 2},
    {"CONNECT user name only", VALL, connect_credential, 1},
    {"CONNECT password only", V5, connect_credential, 2},
    {"CONNECT 65,535-byte strings", V4 | V5, connect_big, 1},
    {"CONNECT empty client id", V4 | V5, connect_empty_id, 0},
    {"CONNECT every property", VALL, connect_props, 1 | 4},
    {"CONNACK accepted", VALL, connack, 0},
    {"CONNACK session present", VALL, connack, 1},
    {"CONNACK refused", VALL, connack, 2},
    {"CONNACK every property", VALL, connack_props, 1},
    {"PUBLISH QoS 0 empty payload", VALL, publish_empty, 0},
    {"PUBLISH QoS 1 retained", VALL, publish, 1 | 4},
    {"PUBLISH QoS 2 DUP", VALL, publish, 2 | 8},
    {"PUBLISH QoS 1 DUP retained, empty payload", VALL, publish_empty, 1 | 4 | 8},
    {"PUBLISH QoS 1 64 KiB payload", VALL, publish_64k, 1},
    {"PUBLISH QoS 0 65,535-byte topic", VALL, publish_long_topic, 0},
    {"PUBLISH every property", VALL, publish_props, 1},
    {"PUBLISH topic alias, empty topic", V5, publish_alias_only, 2},
    {"PUBACK", VALL, ack, FERRY_PUBACK},
    {"PUBREC", VALL, ack, FERRY_PUBREC},
    {"PUBREL", VALL, ack, FERRY_PUBREL},
    {"PUBCOMP", VALL, ack, FERRY_PUBCOMP},
    {"PUBACK reason only", VALL, ack_reason, FERRY_PUBACK},
    {"PUBREC reason only", VALL, ack_reason, FERRY_PUBREC},
    {"PUBREL reason only", VALL, ack_reason, FERRY_PUBREL},
    {"PUBCOMP reason only", VALL, ack_reason, FERRY_PUBCOMP},
    {"PUBACK reason and properties", VALL, ack_props, FERRY_PUBACK},
    {"PUBREC reason and properties", VALL, ack_props, FERRY_PUBREC},
    {"PUBREL properties only", VALL, ack_props, FERRY_PUBREL},
    {"PUBCOMP reason and properties", VALL, ack_props, FERRY_PUBCOMP},
    {"SUBSCRIBE one filter", VALL, subscribe, 1},
    {"SUBSCRIBE 300 filters", VALL, subscribe, MANY},
    {"SUBSCRIBE options and properties", V5, subscribe_options, 0},
    {"SUBACK one code", VALL, suback, 1},
    {"SUBACK 300 codes", VALL, suback, MANY},
    {"SUBACK every code and properties", V5, suback_props, 0},
    {"UNSUBSCRIBE one filter", VALL, unsubscribe, 1},
    {"UNSUBSCRIBE 300 filters", VALL, unsubscribe, MANY},
    {"UNSUBACK", VALL, unsuback, 0},
    {"PINGREQ", VALL, bare, FERRY_PINGREQ},
    {"PINGRESP", VALL, bare, FERRY_PINGRESP},
    {"DISCONNECT", VALL, bare, FERRY_DISCONNECT},
    {"DISCONNECT reason only", VALL, disconnect_reason, FERRY_DISCONNECT},
    {"DISCONNECT reason and properties", VALL, disconnect_props, FERRY_DISCONNECT},
    {"AUTH short", V5, bare, FERRY_AUTH},
    {"AUTH reason only", V5, disconnect_reason, FERRY_AUTH},
    {"AUTH reason and properties", V5, disconnect_props, FERRY_AUTH},
};

/* Who sends each type, for the decoder's direction check. */
static uint8_t sender(int type)
{
	switch (type) {
	case FERRY_CONNECT:
	case FERRY_SUBSCRIBE:
	case FERRY_UNSUBSCRIBE:
	case FERRY_PINGREQ:
	case FERRY_DISCONNECT: /* carries a Session Expiry Interval: the client's */
		return FERRY_PEER_CLIENT;
	default:
		return FERRY_PEER_SERVER;
	}
}

/* Every property seen in decoded MQTT 5 packets, for the coverage test. */
static uint64_t props_seen;

static uint64_t props_bits(const struct ferry_packet *p)
{
	switch (p->type) {
	case FERRY_CONNECT:
		return p->u.connect.props.present | p->u.connect.will.props.present;
	case FERRY_CONNACK:
		return p->u.connack.props.present;
	case FERRY_PUBLISH:
		return p->u.publish.props.present;
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBREL:
	case FERRY_PUBCOMP:
		return p->u.ack.props.present;
	case FERRY_SUBSCRIBE:
		return p->u.subscribe.props.present;
	case FERRY_UNSUBSCRIBE:
		return p->u.unsubscribe.props.present;
	case FERRY_SUBACK:
	case FERRY_UNSUBACK:
		return p->u.suback.props.present;
	case FERRY_DISCONNECT:
	case FERRY_AUTH:
		return p->u.disconnect.props.present;
	default:
		return 0;
	}
}

/* One case in one version: size, encode, short buffer, decode, compare. */
static void roundtrip(const struct rt_case *c, uint8_t version)
{
	char what[160];
	struct ferry_packet p, back;
	size_t size = 0, len = 0;
	snprintf(what, sizeof what, "%s (version %u)", c->name, version);
	memset(&p, 0, sizeof p);
	c->build(version, &p, c->arg);
	int rc = ferry__encode_size(version, &p, &size);
	test_assert_rc(rc, FERRY_OK, what, __FILE__, __LINE__);
	if (rc)
		return;
	uint8_t *buf = malloc(size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	test_assert_rc(ferry__encode(version, &p, buf, size - 1, &len), FERRY_ERR_BUFFER_SIZE, what,
	               __FILE__, __LINE__);
	rc = ferry__encode(version, &p, buf, size, &len);
	test_assert_rc(rc, FERRY_OK, what, __FILE__, __LINE__);
	CU_ASSERT_EQUAL(len, size);

	struct ferry_codec_cfg cfg = {version, sender(p.type), (uint32_t)size};
	rc = ferry__decode(&cfg, buf, len, &back);
	test_assert_rc(rc, FERRY_OK, what, __FILE__, __LINE__);
	if (rc == FERRY_OK) {
		test_expect_packet(version, &p, &back, what);
		if (version == 5)
			props_seen |= props_bits(&back);
	}
	cfg.max_packet_size = (uint32_t)size - 1;
	test_assert_rc(ferry__decode(&cfg, buf, len, &back), FERRY_ERR_PACKET_TOO_LARGE, what,
	               __FILE__, __LINE__);
	free(buf);
}

static void run_version(uint8_t version)
{
	fill_data();
	for (size_t i = 0; i < COUNT(cases); i++)
		if (cases[i].versions & (1u << version))
			roundtrip(&cases[i], version);
}

static void test_roundtrip_31(void)
{
	run_version(3);
}

static void test_roundtrip_311(void)
{
	run_version(4);
}

static void test_roundtrip_5(void)
{
	run_version(5);
}

/* The MQTT 5 cases, together, carry each of the 27 properties of table 2-4. */
static void test_every_property(void)
{
	static const uint8_t ids[] = {0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13,
	                              0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1C, 0x1F, 0x21,
	                              0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A};
	props_seen = 0;
	run_version(5);
	for (size_t i = 0; i < COUNT(ids); i++) {
		if (!(props_seen & FERRY_PROP_BIT(ids[i])))
			fprintf(stderr, "\n  property 0x%02X never round-tripped\n", ids[i]);
		CU_ASSERT((props_seen & FERRY_PROP_BIT(ids[i])) != 0);
	}
}

/* ---- refusals ---------------------------------------------------------------------- */

/* Both encoder entry points refuse p with `want`. */
static void refuse(uint8_t version, const struct ferry_packet *p, int want, const char *what,
                   unsigned line)
{
	uint8_t buf[64];
	size_t size = 0, len = 0;
	test_assert_rc(ferry__encode_size(version, p, &size), want, what, __FILE__, line);
	test_assert_rc(ferry__encode(version, p, buf, sizeof buf, &len), want, what, __FILE__,
	               line);
	if (want != FERRY_OK)
		CU_ASSERT_EQUAL(len, 0);
}
#define REFUSE(v, p, want, what) refuse((v), (p), (want), (what), __LINE__)

static void test_refuse_publish(void)
{
	struct ferry_packet p;
	fill_data();
	for (uint8_t v = 3; v <= 5; v++) {
		memset(&p, 0, sizeof p);
		publish(v, &p, 1);
		p.u.publish.topic = str("a/+/c");
		REFUSE(v, &p, FERRY_ERR_TOPIC_NAME, "wildcard + in a topic name");
		p.u.publish.topic = str("a/#");
		REFUSE(v, &p, FERRY_ERR_TOPIC_NAME, "wildcard # in a topic name");
		p.u.publish.topic = big_view(65536);
		REFUSE(v, &p, FERRY_ERR_STRING_TOO_LONG, "topic of 65,536 bytes");
		p.u.publish.topic = str("a\xC0\xAF");
		REFUSE(v, &p, FERRY_ERR_UTF8, "overlong UTF-8 in a topic");
		p.u.publish.topic = str("a/b");
		p.u.publish.packet_id = 0;
		REFUSE(v, &p, FERRY_ERR_PACKET_ID, "packet id 0 at QoS 1");
		p.u.publish.packet_id = 1;
		p.u.publish.qos = 3;
		REFUSE(v, &p, FERRY_ERR_QOS, "QoS 3");
		p.u.publish.qos = 0;
		p.u.publish.dup = true;
		REFUSE(v, &p, FERRY_ERR_DUP_QOS0, "DUP at QoS 0");
		p.u.publish.dup = false;
		p.u.publish.topic = str("");
		REFUSE(v, &p, v == 5 ? FERRY_ERR_TOPIC_ALIAS : FERRY_ERR_TOPIC_NAME, "empty topic");
		/* A payload the remaining length cannot describe (never read: size first). */
		p.u.publish.topic = str("a");
		p.u.publish.payload.len = FERRY_VARINT_MAX - 3 + 1 - (v == 5);
		REFUSE(v, &p, FERRY_ERR_PACKET_TOO_LARGE, "remaining length over 268,435,455");
		p.u.publish.payload.len -= 1;
		size_t size = 0;
		ASSERT_RC(ferry__encode_size(v, &p, &size), FERRY_OK);
		CU_ASSERT_EQUAL(size, FERRY_PACKET_MAX);
	}
	memset(&p, 0, sizeof p);
	publish(5, &p, 0);
	p.u.publish.props.present = BIT(TOPIC_ALIAS);
	REFUSE(5, &p, FERRY_ERR_TOPIC_ALIAS, "Topic Alias 0");
	p.u.publish.props.present = BIT(SESSION_EXPIRY);
	REFUSE(5, &p, FERRY_ERR_PROPERTY_NOT_ALLOWED, "Session Expiry Interval in PUBLISH");
	size_t size = 0;
	ASSERT_RC(ferry__encode_size(4, &p, &size), FERRY_OK); /* 3.1.1: properties ignored */
	p.u.publish.props.present = BIT(PAYLOAD_FORMAT);
	p.u.publish.props.payload_format = 2;
	REFUSE(5, &p, FERRY_ERR_PROPERTY_VALUE, "Payload Format Indicator 2");
	p.u.publish.props.present = 0;
	struct ferry_user_prop long_user = {str("k"), big_view(65536)};
	p.u.publish.props.user = &long_user;
	p.u.publish.props.user_count = 1;
	REFUSE(5, &p, FERRY_ERR_STRING_TOO_LONG, "user property value of 65,536 bytes");
}

static void test_refuse_connect(void)
{
	struct ferry_packet p;
	fill_data();
	for (uint8_t v = 3; v <= 5; v++) {
		memset(&p, 0, sizeof p);
		connect_will(v, &p, 3);
		REFUSE(v, &p, FERRY_ERR_CONNECT_FLAGS, "will QoS 3");
		connect_will(v, &p, 1);
		p.u.connect.will.topic = str("status/#");
		REFUSE(v, &p, FERRY_ERR_TOPIC_NAME, "will topic with a wildcard");
		p.u.connect.will.topic = str("");
		REFUSE(v, &p, FERRY_ERR_TOPIC_NAME, "empty will topic");
		memset(&p, 0, sizeof p);
		connect_min(v, &p, 0);
		p.u.connect.client_id = big_view(65536);
		REFUSE(v, &p, v == 3 ? FERRY_ERR_CLIENT_ID : FERRY_ERR_STRING_TOO_LONG,
		       "client id of 65,536 bytes");
		p.u.connect.client_id = str("nul\0inside");
		p.u.connect.client_id.len = 10;
		REFUSE(v, &p, FERRY_ERR_UTF8_NUL, "client id with U+0000");
		p.u.connect.client_id = str("c");
		p.u.connect.has_password = true;
		p.u.connect.password = big_view(65536);
		REFUSE(v, &p, v == 5 ? FERRY_ERR_STRING_TOO_LONG : FERRY_ERR_CONNECT_FLAGS,
		       "password without user name (3.x) / of 65,536 bytes (5.0)");
		p.u.connect.password = str("pw");
		size_t size = 0;
		ASSERT_RC(ferry__encode_size(v, &p, &size),
		          v == 5 ? FERRY_OK : FERRY_ERR_CONNECT_FLAGS);
	}
	memset(&p, 0, sizeof p);
	connect_min(3, &p, 0);
	p.u.connect.client_id = str("");
	REFUSE(3, &p, FERRY_ERR_CLIENT_ID, "3.1 empty client id");
	p.u.connect.client_id = str("abcdefghijklmnopqrstuvwx");
	REFUSE(3, &p, FERRY_ERR_CLIENT_ID, "3.1 client id of 24 bytes");
	p.u.connect.client_id = str("");
	p.u.connect.clean_start = false;
	REFUSE(4, &p, FERRY_ERR_CLIENT_ID, "3.1.1 empty client id without clean session");
	p.u.connect.props.present = BIT(TOPIC_ALIAS);
	p.u.connect.props.topic_alias = 1;
	REFUSE(5, &p, FERRY_ERR_PROPERTY_NOT_ALLOWED, "Topic Alias in CONNECT");
	p.u.connect.props.present = BIT(RECEIVE_MAXIMUM);
	REFUSE(5, &p, FERRY_ERR_PROPERTY_VALUE, "Receive Maximum 0");
	p.u.connect.props.present = BIT(AUTH_DATA);
	p.u.connect.props.auth_data = str("d");
	REFUSE(5, &p, FERRY_ERR_PROTOCOL, "Authentication Data without a method (3.1.2.11.10)");
	p.u.connect.props.auth_data = str("");
	p.u.connect.props.present = 0;
	p.u.connect.has_will = true;
	p.u.connect.will.topic = str("w");
	p.u.connect.will.props.present = BIT(SESSION_EXPIRY);
	REFUSE(5, &p, FERRY_ERR_PROPERTY_NOT_ALLOWED, "Session Expiry Interval in will properties");
}

static void test_refuse_subscribe(void)
{
	struct ferry_packet p;
	struct ferry_sub_entry e = {str("a/b"), 1};
	fill_data();
	for (uint8_t v = 3; v <= 5; v++) {
		memset(&p, 0, sizeof p);
		subscribe(v, &p, 1);
		p.u.subscribe.count = 0;
		REFUSE(v, &p, FERRY_ERR_EMPTY_PAYLOAD, "SUBSCRIBE with no filters");
		p.u.subscribe.entries = &e;
		p.u.subscribe.count = 1;
		p.u.subscribe.packet_id = 0;
		REFUSE(v, &p, FERRY_ERR_PACKET_ID, "SUBSCRIBE packet id 0");
		p.u.subscribe.packet_id = 1;
		e.options = 3;
		REFUSE(v, &p, FERRY_ERR_QOS, "requested QoS 3");
		e.options = 0x40;
		REFUSE(v, &p, FERRY_ERR_SUBSCRIPTION_OPTIONS, "reserved option bit 6");
		e.options = 0x04;
		REFUSE(v, &p, v == 5 ? FERRY_OK : FERRY_ERR_SUBSCRIPTION_OPTIONS, "No Local");
		e.options = 0;
		e.filter = str("a/#/b");
		REFUSE(v, &p, FERRY_ERR_TOPIC_FILTER, "# not last");
		e.filter = str("a+/b");
		REFUSE(v, &p, FERRY_ERR_TOPIC_FILTER, "+ not a whole level");
		e.filter = str("");
		REFUSE(v, &p, FERRY_ERR_TOPIC_FILTER, "empty filter");
		e.filter = str("a/b");
		memset(&p, 0, sizeof p);
		unsubscribe(v, &p, 1);
		p.u.unsubscribe.count = 0;
		REFUSE(v, &p, FERRY_ERR_EMPTY_PAYLOAD, "UNSUBSCRIBE with no filters");
	}
	memset(&p, 0, sizeof p);
	subscribe(5, &p, 1);
	p.u.subscribe.entries = &e;
	e.options = 0x30;
	REFUSE(5, &p, FERRY_ERR_SUBSCRIPTION_OPTIONS, "Retain Handling 3");
	e.options = 0x04 | 1;
	e.filter = str("$share/g/a/b");
	REFUSE(5, &p, FERRY_ERR_PROTOCOL, "No Local on a shared subscription");
	e.options = 1;
	e.filter = str("$share//a");
	REFUSE(5, &p, FERRY_ERR_TOPIC_FILTER, "shared subscription without a group");
	e.filter = str("a/b");
	p.u.subscribe.props.present = BIT(SUBSCRIPTION_ID);
	p.u.subscribe.props.sub_id = 0;
	REFUSE(5, &p, FERRY_ERR_PROPERTY_VALUE, "Subscription Identifier 0");
}

static void test_refuse_acks(void)
{
	struct ferry_packet p;
	fill_data();
	memset(&p, 0, sizeof p);
	ack(5, &p, FERRY_PUBACK);
	p.u.ack.packet_id = 0;
	REFUSE(4, &p, FERRY_ERR_PACKET_ID, "PUBACK packet id 0");
	p.u.ack.packet_id = 1;
	p.u.ack.reason = 0x92;
	REFUSE(5, &p, FERRY_ERR_REASON_CODE, "PUBACK 0x92 (a PUBREL/PUBCOMP code)");
	p.u.ack.reason = 0;
	p.u.ack.props.present = BIT(SESSION_EXPIRY);
	REFUSE(5, &p, FERRY_ERR_PROPERTY_NOT_ALLOWED, "Session Expiry Interval in PUBACK");
	memset(&p, 0, sizeof p);
	suback(3, &p, 1);
	many_codes[0] = 0x80;
	REFUSE(3, &p, FERRY_ERR_REASON_CODE, "3.1 SUBACK failure 0x80");
	many_codes[0] = 0x03;
	REFUSE(4, &p, FERRY_ERR_REASON_CODE, "SUBACK 0x03");
	p.u.suback.count = 0;
	REFUSE(5, &p, FERRY_ERR_EMPTY_PAYLOAD, "SUBACK with no codes");
	p.type = FERRY_UNSUBACK;
	REFUSE(5, &p, FERRY_ERR_EMPTY_PAYLOAD, "5.0 UNSUBACK with no codes");
	memset(&p, 0, sizeof p);
	connack(4, &p, 0);
	p.u.connack.reason = 6;
	REFUSE(4, &p, FERRY_ERR_REASON_CODE, "3.1.1 CONNACK return code 6");
	p.u.connack.reason = 5;
	p.u.connack.session_present = true;
	REFUSE(4, &p, FERRY_ERR_CONNACK_FLAGS, "session present on a refusal");
	p.u.connack.reason = 0x10;
	REFUSE(5, &p, FERRY_ERR_REASON_CODE, "CONNACK 0x10");
	memset(&p, 0, sizeof p);
	bare(5, &p, FERRY_DISCONNECT);
	p.u.disconnect.reason = 0x18;
	REFUSE(5, &p, FERRY_ERR_REASON_CODE, "DISCONNECT 0x18 (an AUTH code)");
	p.type = FERRY_AUTH;
	p.u.disconnect.reason = 0x04;
	REFUSE(5, &p, FERRY_ERR_REASON_CODE, "AUTH 0x04");
}

static void test_refuse_misc(void)
{
	struct ferry_packet p;
	size_t size = 0, len = 0;
	uint8_t buf[8];
	memset(&p, 0, sizeof p);
	p.type = FERRY_AUTH;
	REFUSE(4, &p, FERRY_ERR_PACKET_TYPE, "AUTH in 3.1.1");
	REFUSE(3, &p, FERRY_ERR_PACKET_TYPE, "AUTH in 3.1");
	p.type = 0;
	REFUSE(5, &p, FERRY_ERR_PACKET_TYPE, "type 0");
	p.type = 16;
	REFUSE(5, &p, FERRY_ERR_PACKET_TYPE, "type 16");
	p.type = FERRY_PINGREQ;
	ASSERT_RC(ferry__encode_size(2, &p, &size), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__encode_size(6, &p, &size), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__encode_size(4, NULL, &size), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__encode_size(4, &p, NULL), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__encode(4, &p, NULL, 0, &len), FERRY_ERR_BUFFER_SIZE);
	ASSERT_RC(ferry__encode(4, &p, buf, 1, &len), FERRY_ERR_BUFFER_SIZE);
	ASSERT_RC(ferry__encode(4, &p, buf, sizeof buf, &len), FERRY_OK);
	CU_ASSERT_EQUAL(len, 2);
	struct ferry_codec_cfg cfg = {4, FERRY_PEER_SERVER, 0};
	struct ferry_packet back;
	ASSERT_RC(ferry__decode(&cfg, buf, len, &back), FERRY_ERR_PACKET_DIRECTION);
	cfg.version = 6;
	ASSERT_RC(ferry__decode(&cfg, buf, len, &back), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__decode(NULL, buf, len, &back), FERRY_ERR_INVAL);
}

void register_roundtrip_suite(void)
{
	CU_pSuite s = test_suite("roundtrip");
	test_add(s, "MQTT 3.1 round trips", test_roundtrip_31);
	test_add(s, "MQTT 3.1.1 round trips", test_roundtrip_311);
	test_add(s, "MQTT 5.0 round trips", test_roundtrip_5);
	test_add(s, "every MQTT 5 property round-trips", test_every_property);
	test_add(s, "encoder refuses bad PUBLISH", test_refuse_publish);
	test_add(s, "encoder refuses bad CONNECT", test_refuse_connect);
	test_add(s, "encoder refuses bad SUBSCRIBE/UNSUBSCRIBE", test_refuse_subscribe);
	test_add(s, "encoder refuses bad acks and reason codes", test_refuse_acks);
	test_add(s, "encoder refuses bad types and arguments", test_refuse_misc);
}

/*
 * test_vectors.c - byte-exact vectors for every control packet of MQTT 3.1
 * ("MQIsdp" 3), 3.1.1 (4) and 5.0 (5): each is decoded (bytes -> every field
 * asserted) and encoded (struct -> exactly these bytes).
 *
 * Where the specifications print bytes the vector reproduces them (3.1.1:
 * figure 3.6 CONNECT variable header, 3.3.2.3 PUBLISH variable header, 3.8.3
 * SUBSCRIBE payload, 3.9.3 SUBACK return codes, 3.10.3 UNSUBSCRIBE payload;
 * 5.0: 3.1.2.11 CONNECT variable header with Session Expiry Interval 10; 3.1:
 * the CONNECT variable header example). The rest are built by hand from the
 * field descriptions of the section cited in each name. Properties are in
 * ascending identifier order, the order ferry writes them (props.c).
 *
 * This file also defines test_expect_packet, the field-by-field comparison
 * that test_roundtrip.c uses too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "suites.h"
#include "util.h"

#include "codec_check.h"

/* clang-format off */
#define S(s) {(const uint8_t *)(s), sizeof(s) - 1}
#define BIT(name) FERRY_PROP_BIT(FERRY_PROP_##name)
#define USER1(k, v) .user = (const struct ferry_user_prop[]){{S(k), S(v)}}, .user_count = 1
/* clang-format on */

/* ---- the comparison ------------------------------------------------------------ */

static void expect(int ok, const char *what, const char *cond, unsigned line)
{
	char msg[400];
	snprintf(msg, sizeof msg, "%s: %s", what, cond);
	CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, __FILE__, "", CU_FALSE);
}
#define EXPECT(cond) expect((cond), what, #cond, __LINE__)

static int same(struct ferry_bytes a, struct ferry_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void expect_props(const struct ferry_props *w, const struct ferry_props *g, const char *what)
{
	uint64_t present = w->present | (w->user_count ? BIT(USER) : 0);
	EXPECT(g->present == present);
	EXPECT(g->payload_format == w->payload_format);
	EXPECT(g->request_problem_info == w->request_problem_info);
	EXPECT(g->request_response_info == w->request_response_info);
	EXPECT(g->maximum_qos == w->maximum_qos);
	EXPECT(g->retain_available == w->retain_available);
	EXPECT(g->wildcard_sub_available == w->wildcard_sub_available);
	EXPECT(g->sub_id_available == w->sub_id_available);
	EXPECT(g->shared_sub_available == w->shared_sub_available);
	EXPECT(g->server_keepalive == w->server_keepalive);
	EXPECT(g->receive_maximum == w->receive_maximum);
	EXPECT(g->topic_alias_maximum == w->topic_alias_maximum);
	EXPECT(g->topic_alias == w->topic_alias);
	EXPECT(g->message_expiry == w->message_expiry);
	EXPECT(g->session_expiry == w->session_expiry);
	EXPECT(g->will_delay == w->will_delay);
	EXPECT(g->maximum_packet_size == w->maximum_packet_size);
	EXPECT(g->sub_id == w->sub_id);
	EXPECT(same(g->content_type, w->content_type));
	EXPECT(same(g->response_topic, w->response_topic));
	EXPECT(same(g->correlation_data, w->correlation_data));
	EXPECT(same(g->assigned_client_id, w->assigned_client_id));
	EXPECT(same(g->auth_method, w->auth_method));
	EXPECT(same(g->auth_data, w->auth_data));
	EXPECT(same(g->response_info, w->response_info));
	EXPECT(same(g->server_reference, w->server_reference));
	EXPECT(same(g->reason_string, w->reason_string));
	size_t subs = w->sub_id_count;
	if (subs == 0 && (w->present & BIT(SUBSCRIPTION_ID)))
		subs = 1;
	EXPECT(g->sub_id_count == subs);
	EXPECT(g->user_count == w->user_count);
	struct ferry_prop_iter it;
	struct ferry_user_prop up;
	size_t i = 0;
	ferry__props_iter_init(&it, g);
	while (ferry__props_next_user(&it, &up)) {
		EXPECT(i < w->user_count);
		if (i >= w->user_count)
			break;
		EXPECT(same(up.name, w->user[i].name));
		EXPECT(same(up.value, w->user[i].value));
		i++;
	}
	EXPECT(i == w->user_count);
}

static void expect_connect(uint8_t version, const struct ferry_connect *w,
                           const struct ferry_connect *g, const char *what)
{
	static const struct ferry_props none;
	EXPECT(g->version == version);
	EXPECT(g->clean_start == w->clean_start);
	EXPECT(g->keepalive == w->keepalive);
	EXPECT(same(g->client_id, w->client_id));
	EXPECT(g->has_will == w->has_will);
	if (w->has_will) {
		EXPECT(g->will.qos == w->will.qos);
		EXPECT(g->will.retain == w->will.retain);
		EXPECT(same(g->will.topic, w->will.topic));
		EXPECT(same(g->will.payload, w->will.payload));
		expect_props(version == 5 ? &w->will.props : &none, &g->will.props, what);
	} else {
		EXPECT(g->will.qos == 0 && !g->will.retain && g->will.topic.len == 0);
	}
	EXPECT(g->has_username == w->has_username);
	EXPECT(same(g->username, w->has_username ? w->username : none.content_type));
	EXPECT(g->has_password == w->has_password);
	EXPECT(same(g->password, w->has_password ? w->password : none.content_type));
	expect_props(version == 5 ? &w->props : &none, &g->props, what);
}

static void expect_entries(const struct ferry_packet *w, const struct ferry_packet *g,
                           const char *what)
{
	struct ferry_entry_iter it;
	size_t i = 0;
	if (w->type == FERRY_SUBSCRIBE) {
		struct ferry_sub_entry e;
		EXPECT(g->u.subscribe.count == w->u.subscribe.count);
		ferry__sub_iter_init(&it, &g->u.subscribe);
		for (; ferry__sub_iter_next(&it, &e) && i < w->u.subscribe.count; i++) {
			EXPECT(same(e.filter, w->u.subscribe.entries[i].filter));
			EXPECT(e.options == w->u.subscribe.entries[i].options);
		}
		EXPECT(i == w->u.subscribe.count);
	} else {
		struct ferry_bytes f;
		EXPECT(g->u.unsubscribe.count == w->u.unsubscribe.count);
		ferry__unsub_iter_init(&it, &g->u.unsubscribe);
		for (; ferry__unsub_iter_next(&it, &f) && i < w->u.unsubscribe.count; i++)
			EXPECT(same(f, w->u.unsubscribe.filters[i]));
		EXPECT(i == w->u.unsubscribe.count);
	}
}

/* Fields of the packets other than CONNECT, SUBSCRIBE and UNSUBSCRIBE. */
static void expect_other(uint8_t version, const struct ferry_packet *w,
                         const struct ferry_packet *g, const char *what)
{
	const struct ferry_suback *ws = &w->u.suback, *gs = &g->u.suback;
	switch (w->type) {
	case FERRY_CONNACK:
		EXPECT(g->u.connack.session_present ==
		       (version > 3 && w->u.connack.session_present));
		EXPECT(g->u.connack.reason == w->u.connack.reason);
		break;
	case FERRY_PUBLISH:
		EXPECT(g->u.publish.qos == w->u.publish.qos);
		EXPECT(g->u.publish.dup == w->u.publish.dup);
		EXPECT(g->u.publish.retain == w->u.publish.retain);
		EXPECT(g->u.publish.packet_id == (w->u.publish.qos ? w->u.publish.packet_id : 0));
		EXPECT(same(g->u.publish.topic, w->u.publish.topic));
		EXPECT(same(g->u.publish.payload, w->u.publish.payload));
		break;
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBREL:
	case FERRY_PUBCOMP:
		EXPECT(g->u.ack.packet_id == w->u.ack.packet_id);
		EXPECT(g->u.ack.reason == (version == 5 ? w->u.ack.reason : 0));
		break;
	case FERRY_SUBACK:
	case FERRY_UNSUBACK:
		EXPECT(gs->packet_id == ws->packet_id);
		if (w->type == FERRY_UNSUBACK && version < 5) {
			EXPECT(gs->count == 0);
			break;
		}
		EXPECT(gs->count == ws->count);
		EXPECT(gs->count == ws->count && memcmp(gs->reasons, ws->reasons, ws->count) == 0);
		break;
	case FERRY_DISCONNECT:
	case FERRY_AUTH:
		EXPECT(g->u.disconnect.reason == (version == 5 ? w->u.disconnect.reason : 0));
		break;
	default:
		break;
	}
}

/* The property block of a packet type, or NULL for types without one. */
static const struct ferry_props *props_of(const struct ferry_packet *p)
{
	switch (p->type) {
	case FERRY_CONNACK:
		return &p->u.connack.props;
	case FERRY_PUBLISH:
		return &p->u.publish.props;
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBREL:
	case FERRY_PUBCOMP:
		return &p->u.ack.props;
	case FERRY_SUBSCRIBE:
		return &p->u.subscribe.props;
	case FERRY_UNSUBSCRIBE:
		return &p->u.unsubscribe.props;
	case FERRY_SUBACK:
	case FERRY_UNSUBACK:
		return &p->u.suback.props;
	case FERRY_DISCONNECT:
	case FERRY_AUTH:
		return &p->u.disconnect.props;
	default:
		return NULL;
	}
}

void test_expect_packet(uint8_t version, const struct ferry_packet *want,
                        const struct ferry_packet *got, const char *what)
{
	static const struct ferry_props none;
	EXPECT(got->type == want->type);
	if (got->type != want->type)
		return;
	if (want->type == FERRY_CONNECT) {
		expect_connect(version, &want->u.connect, &got->u.connect, what);
		return;
	}
	if (want->type == FERRY_SUBSCRIBE || want->type == FERRY_UNSUBSCRIBE) {
		EXPECT(got->u.subscribe.packet_id == want->u.subscribe.packet_id);
		expect_entries(want, got, what);
	} else {
		expect_other(version, want, got, what);
	}
	const struct ferry_props *wp = props_of(want);
	if (wp)
		expect_props(version == 5 ? wp : &none, props_of(got), what);
}

/* ---- the vectors ---------------------------------------------------------------- */

enum { BOTH = 0, DECODE_ONLY = 1 };
#define CLIENT FERRY_PEER_CLIENT
#define SERVER FERRY_PEER_SERVER

struct vector {
	const char *name; /* specification section and what it shows */
	uint8_t version;
	uint8_t peer; /* who sends it */
	uint8_t dir;  /* BOTH or DECODE_ONLY (a form ferry reads but never writes) */
	const char *hex;
	struct ferry_packet pkt;
};

/* The tables keep one vector per paragraph, not one field per line. */
/* clang-format off */
/* The 3.1.1 CONNECT payload used with the figure 3.6 variable header. */
#define CONNECT_CE_FIELDS                                                                   \
	.clean_start = true, .keepalive = 10, .client_id = S("c1"), .has_will = true,       \
	.will = {.qos = 1, .topic = S("w/t"), .payload = S("bye")}, .has_username = true,   \
	.username = S("u"), .has_password = true, .password = S("p")

static const struct vector v311[] = {
	{"3.1.1 3.1.2.10 figure 3.6 CONNECT (MQTT 4, flags CE, keep alive 10) + 3.1.3 payload", 4,
	 CLIENT, BOTH,
	 "10 1E 00 04 4D 51 54 54 04 CE 00 0A 00 02 63 31 00 03 77 2F 74 00 03 62 79 65"
	 " 00 01 75 00 01 70",
	 {.type = FERRY_CONNECT, .u.connect = {.version = 4, CONNECT_CE_FIELDS}}},
	{"3.1.1 3.1 CONNECT clean session, keep alive 60, client id \"a\"", 4, CLIENT, BOTH,
	 "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 61",
	 {.type = FERRY_CONNECT,
	  .u.connect = {.version = 4, .clean_start = true, .keepalive = 60, .client_id = S("a")}}},
	{"3.1.1 3.1.3.1 CONNECT zero-byte client id with clean session", 4, CLIENT, BOTH,
	 "10 0C 00 04 4D 51 54 54 04 02 00 00 00 00",
	 {.type = FERRY_CONNECT, .u.connect = {.version = 4, .clean_start = true}}},
	{"3.1.1 3.1.2.5-3.1.2.7 CONNECT will QoS 2 retained, empty will message, keep alive 300",
	 4, CLIENT, BOTH,
	 "10 14 00 04 4D 51 54 54 04 34 01 2C 00 01 61 00 03 61 2F 62 00 00",
	 {.type = FERRY_CONNECT,
	  .u.connect = {.version = 4, .keepalive = 300, .client_id = S("a"), .has_will = true,
	                .will = {.qos = 2, .retain = true, .topic = S("a/b"), .payload = S("")}}}},
	{"3.1.1 3.2.2.3 CONNACK accepted", 4, SERVER, BOTH, "20 02 00 00",
	 {.type = FERRY_CONNACK}},
	{"3.1.1 3.2.2.2 CONNACK session present", 4, SERVER, BOTH, "20 02 01 00",
	 {.type = FERRY_CONNACK, .u.connack = {.session_present = true}}},
	{"3.1.1 3.2.2.3 CONNACK 0x04 bad user name or password", 4, SERVER, BOTH, "20 02 00 04",
	 {.type = FERRY_CONNACK, .u.connack = {.reason = 4}}},
	{"3.1.1 3.2.2.3 CONNACK 0x05 not authorized", 4, SERVER, BOTH, "20 02 00 05",
	 {.type = FERRY_CONNACK, .u.connack = {.reason = 5}}},
	{"3.1.1 3.3.2.3 figure 3.11 PUBLISH variable header (a/b, id 10), QoS 1", 4, SERVER, BOTH,
	 "32 07 00 03 61 2F 62 00 0A",
	 {.type = FERRY_PUBLISH, .u.publish = {.qos = 1, .packet_id = 10, .topic = S("a/b")}}},
	{"3.1.1 3.3.1.3 PUBLISH QoS 0 retained, payload \"hello\"", 4, CLIENT, BOTH,
	 "31 0A 00 03 61 2F 62 68 65 6C 6C 6F",
	 {.type = FERRY_PUBLISH,
	  .u.publish = {.retain = true, .topic = S("a/b"), .payload = S("hello")}}},
	{"3.1.1 3.3.1.1 PUBLISH QoS 2 DUP, packet id 65535", 4, CLIENT, BOTH,
	 "3C 08 00 03 61 2F 62 FF FF 78",
	 {.type = FERRY_PUBLISH, .u.publish = {.qos = 2, .dup = true, .packet_id = 65535,
	                                      .topic = S("a/b"), .payload = S("x")}}},
	{"3.1.1 3.4 PUBACK", 4, SERVER, BOTH, "40 02 00 0A",
	 {.type = FERRY_PUBACK, .u.ack = {.packet_id = 10}}},
	{"3.1.1 3.5 PUBREC", 4, SERVER, BOTH, "50 02 00 0A",
	 {.type = FERRY_PUBREC, .u.ack = {.packet_id = 10}}},
	{"3.1.1 3.6.1 PUBREL flags 0010", 4, CLIENT, BOTH, "62 02 00 0A",
	 {.type = FERRY_PUBREL, .u.ack = {.packet_id = 10}}},
	{"3.1.1 3.7 PUBCOMP", 4, SERVER, BOTH, "70 02 00 0A",
	 {.type = FERRY_PUBCOMP, .u.ack = {.packet_id = 10}}},
	{"3.1.1 3.8.2 + 3.8.3 figure 3.22 SUBSCRIBE (a/b QoS 1, c/d QoS 2), id 10", 4, CLIENT,
	 BOTH, "82 0E 00 0A 00 03 61 2F 62 01 00 03 63 2F 64 02",
	 {.type = FERRY_SUBSCRIBE,
	  .u.subscribe = {.packet_id = 10,
	                  .entries = (const struct ferry_sub_entry[]){{S("a/b"), 1}, {S("c/d"), 2}},
	                  .count = 2}}},
	{"3.1.1 3.8.3 SUBSCRIBE sport/tennis/# QoS 0 (4.7.1.2)", 4, CLIENT, BOTH,
	 "82 13 00 01 00 0E 73 70 6F 72 74 2F 74 65 6E 6E 69 73 2F 23 00",
	 {.type = FERRY_SUBSCRIBE,
	  .u.subscribe = {.packet_id = 1,
	                  .entries = (const struct ferry_sub_entry[]){{S("sport/tennis/#"), 0}},
	                  .count = 1}}},
	{"3.1.1 3.9.3 figure 3.26 SUBACK return codes 0, 2, 0x80", 4, SERVER, BOTH,
	 "90 05 00 0A 00 02 80",
	 {.type = FERRY_SUBACK,
	  .u.suback = {.packet_id = 10, .reasons = (const uint8_t[]){0x00, 0x02, 0x80}, .count = 3}}},
	{"3.1.1 3.10.3 figure 3.30 UNSUBSCRIBE (a/b, c/d)", 4, CLIENT, BOTH,
	 "A2 0C 00 0A 00 03 61 2F 62 00 03 63 2F 64",
	 {.type = FERRY_UNSUBSCRIBE,
	  .u.unsubscribe = {.packet_id = 10,
	                    .filters = (const struct ferry_bytes[]){S("a/b"), S("c/d")},
	                    .count = 2}}},
	{"3.1.1 3.11 UNSUBACK", 4, SERVER, BOTH, "B0 02 00 0A",
	 {.type = FERRY_UNSUBACK, .u.suback = {.packet_id = 10}}},
	{"3.1.1 3.12 PINGREQ", 4, CLIENT, BOTH, "C0 00", {.type = FERRY_PINGREQ}},
	{"3.1.1 3.13 PINGRESP", 4, SERVER, BOTH, "D0 00", {.type = FERRY_PINGRESP}},
	{"3.1.1 3.14 DISCONNECT", 4, CLIENT, BOTH, "E0 00", {.type = FERRY_DISCONNECT}},
};

static const struct vector v31[] = {
	{"3.1 CONNECT variable header example (MQIsdp 3, flags CE, keep alive 10) + payload", 3,
	 CLIENT, BOTH,
	 "10 20 00 06 4D 51 49 73 64 70 03 CE 00 0A 00 02 63 31 00 03 77 2F 74 00 03 62 79 65"
	 " 00 01 75 00 01 70",
	 {.type = FERRY_CONNECT, .u.connect = {.version = 3, CONNECT_CE_FIELDS}}},
	{"3.1 CONNECT clean session, keep alive 60, client id \"a\"", 3, CLIENT, BOTH,
	 "10 0F 00 06 4D 51 49 73 64 70 03 02 00 3C 00 01 61",
	 {.type = FERRY_CONNECT,
	  .u.connect = {.version = 3, .clean_start = true, .keepalive = 60, .client_id = S("a")}}},
	{"3.1 CONNECT client id of 23 bytes (the 3.1 maximum)", 3, CLIENT, BOTH,
	 "10 25 00 06 4D 51 49 73 64 70 03 02 00 3C 00 17 61 62 63 64 65 66 67 68 69 6A 6B 6C"
	 " 6D 6E 6F 70 71 72 73 74 75 76 77",
	 {.type = FERRY_CONNECT, .u.connect = {.version = 3, .clean_start = true, .keepalive = 60,
	                                      .client_id = S("abcdefghijklmnopqrstuvw")}}},
	{"3.1 CONNACK accepted", 3, SERVER, BOTH, "20 02 00 00", {.type = FERRY_CONNACK}},
	{"3.1 CONNACK 2 identifier rejected", 3, SERVER, BOTH, "20 02 00 02",
	 {.type = FERRY_CONNACK, .u.connack = {.reason = 2}}},
	{"3.1 CONNACK reserved first byte is ignored", 3, SERVER, DECODE_ONLY, "20 02 01 00",
	 {.type = FERRY_CONNACK}},
	{"3.1 PUBLISH QoS 1 (a/b, id 10) payload \"hello\"", 3, SERVER, BOTH,
	 "32 0C 00 03 61 2F 62 00 0A 68 65 6C 6C 6F",
	 {.type = FERRY_PUBLISH, .u.publish = {.qos = 1, .packet_id = 10, .topic = S("a/b"),
	                                      .payload = S("hello")}}},
	{"3.1 PUBLISH QoS 0, empty payload", 3, CLIENT, BOTH, "30 05 00 03 61 2F 62",
	 {.type = FERRY_PUBLISH, .u.publish = {.topic = S("a/b")}}},
	{"3.1 PUBACK", 3, SERVER, BOTH, "40 02 00 0A",
	 {.type = FERRY_PUBACK, .u.ack = {.packet_id = 10}}},
	{"3.1 PUBREC", 3, SERVER, BOTH, "50 02 00 0A",
	 {.type = FERRY_PUBREC, .u.ack = {.packet_id = 10}}},
	{"3.1 PUBREL QoS 1 in the fixed header", 3, CLIENT, BOTH, "62 02 00 0A",
	 {.type = FERRY_PUBREL, .u.ack = {.packet_id = 10}}},
	{"3.1 PUBREL retried with DUP", 3, CLIENT, DECODE_ONLY, "6A 02 00 0A",
	 {.type = FERRY_PUBREL, .u.ack = {.packet_id = 10}}},
	{"3.1 PUBCOMP", 3, SERVER, BOTH, "70 02 00 0A",
	 {.type = FERRY_PUBCOMP, .u.ack = {.packet_id = 10}}},
	{"3.1 SUBSCRIBE (a/b QoS 1, c/d QoS 2)", 3, CLIENT, BOTH,
	 "82 0E 00 0A 00 03 61 2F 62 01 00 03 63 2F 64 02",
	 {.type = FERRY_SUBSCRIBE,
	  .u.subscribe = {.packet_id = 10,
	                  .entries = (const struct ferry_sub_entry[]){{S("a/b"), 1}, {S("c/d"), 2}},
	                  .count = 2}}},
	{"3.1 SUBSCRIBE retried with DUP", 3, CLIENT, DECODE_ONLY,
	 "8A 0E 00 0A 00 03 61 2F 62 01 00 03 63 2F 64 02",
	 {.type = FERRY_SUBSCRIBE,
	  .u.subscribe = {.packet_id = 10,
	                  .entries = (const struct ferry_sub_entry[]){{S("a/b"), 1}, {S("c/d"), 2}},
	                  .count = 2}}},
	{"3.1 SUBACK granted QoS 1, 2", 3, SERVER, BOTH, "90 04 00 0A 01 02",
	 {.type = FERRY_SUBACK,
	  .u.suback = {.packet_id = 10, .reasons = (const uint8_t[]){1, 2}, .count = 2}}},
	{"3.1 UNSUBSCRIBE a/b", 3, CLIENT, BOTH, "A2 07 00 0A 00 03 61 2F 62",
	 {.type = FERRY_UNSUBSCRIBE,
	  .u.unsubscribe = {.packet_id = 10, .filters = (const struct ferry_bytes[]){S("a/b")},
	                    .count = 1}}},
	{"3.1 UNSUBSCRIBE retried with DUP", 3, CLIENT, DECODE_ONLY, "AA 07 00 0A 00 03 61 2F 62",
	 {.type = FERRY_UNSUBSCRIBE,
	  .u.unsubscribe = {.packet_id = 10, .filters = (const struct ferry_bytes[]){S("a/b")},
	                    .count = 1}}},
	{"3.1 UNSUBACK", 3, SERVER, BOTH, "B0 02 00 0A",
	 {.type = FERRY_UNSUBACK, .u.suback = {.packet_id = 10}}},
	{"3.1 PINGREQ", 3, CLIENT, BOTH, "C0 00", {.type = FERRY_PINGREQ}},
	{"3.1 PINGRESP", 3, SERVER, BOTH, "D0 00", {.type = FERRY_PINGRESP}},
	{"3.1 DISCONNECT", 3, CLIENT, BOTH, "E0 00", {.type = FERRY_DISCONNECT}},
};

/* 5.0 CONNECT 3.1.2.11 + 3.1.3.2: every CONNECT property and every will property. */
#define CONNECT5_PROPS                                                                      \
	{.present = BIT(AUTH_METHOD) | BIT(AUTH_DATA) | BIT(REQUEST_PROBLEM_INFO) |         \
	            BIT(REQUEST_RESPONSE_INFO) | BIT(RECEIVE_MAXIMUM) |                     \
	            BIT(TOPIC_ALIAS_MAXIMUM) | BIT(MAXIMUM_PACKET_SIZE),                    \
	 .auth_method = S("m"), .auth_data = S("\x01"), .request_problem_info = 0,           \
	 .request_response_info = 1, .receive_maximum = 20, .topic_alias_maximum = 10,       \
	 .maximum_packet_size = 1048576, USER1("k", "v")}
#define WILL5_PROPS                                                                         \
	{.present = BIT(PAYLOAD_FORMAT) | BIT(MESSAGE_EXPIRY) | BIT(CONTENT_TYPE) |         \
	            BIT(RESPONSE_TOPIC) | BIT(CORRELATION_DATA) | BIT(WILL_DELAY),          \
	 .payload_format = 1, .message_expiry = 60, .content_type = S("t"),                 \
	 .response_topic = S("r"), .correlation_data = S("\xAA"), .will_delay = 5,           \
	 USER1("a", "b")}
/* 5.0 CONNACK 3.2.2.3: the server's capabilities. */
#define CONNACK5_PROPS                                                                      \
	{.present = BIT(SESSION_EXPIRY) | BIT(ASSIGNED_CLIENT_ID) | BIT(SERVER_KEEPALIVE) | \
	            BIT(RESPONSE_INFO) | BIT(SERVER_REFERENCE) | BIT(REASON_STRING) |       \
	            BIT(RECEIVE_MAXIMUM) | BIT(TOPIC_ALIAS_MAXIMUM) | BIT(MAXIMUM_QOS) |    \
	            BIT(RETAIN_AVAILABLE) | BIT(MAXIMUM_PACKET_SIZE) |                      \
	            BIT(WILDCARD_SUB_AVAILABLE) | BIT(SUB_ID_AVAILABLE) |                   \
	            BIT(SHARED_SUB_AVAILABLE),                                              \
	 .session_expiry = 3600, .assigned_client_id = S("cid"), .server_keepalive = 60,     \
	 .response_info = S("i"), .server_reference = S("s"), .reason_string = S("ok"),      \
	 .receive_maximum = 10, .topic_alias_maximum = 5, .maximum_qos = 1,                  \
	 .retain_available = 0, .maximum_packet_size = 16384, .wildcard_sub_available = 0,   \
	 .sub_id_available = 1, .shared_sub_available = 0, USER1("k", "v")}
/* 5.0 PUBLISH 3.3.2.3: the message properties. */
#define PUBLISH5_PROPS                                                                      \
	{.present = BIT(PAYLOAD_FORMAT) | BIT(MESSAGE_EXPIRY) | BIT(CONTENT_TYPE) |         \
	            BIT(RESPONSE_TOPIC) | BIT(CORRELATION_DATA),                            \
	 .payload_format = 1, .message_expiry = 60, .content_type = S("text"),              \
	 .response_topic = S("r/1"), .correlation_data = S("\xCA\xFE"),                      \
	 .user = (const struct ferry_user_prop[]){{S("k"), S("v")}, {S("k2"), S("")}},       \
	 .user_count = 2}

static const struct vector v5[] = {
	{"5.0 3.1.2.11 figure 3-6 CONNECT (MQTT 5, flags CE, keep alive 10, Session Expiry "
	 "Interval 10) + 3.1.3 payload",
	 5, CLIENT, BOTH,
	 "10 25 00 04 4D 51 54 54 05 CE 00 0A 05 11 00 00 00 0A 00 02 63 31 00 00 03 77 2F 74"
	 " 00 03 62 79 65 00 01 75 00 01 70",
	 {.type = FERRY_CONNECT,
	  .u.connect = {.version = 5, CONNECT_CE_FIELDS,
	                .props = {.present = BIT(SESSION_EXPIRY), .session_expiry = 10}}}},
	{"5.0 3.1 CONNECT clean start, keep alive 60, no properties", 5, CLIENT, BOTH,
	 "10 0E 00 04 4D 51 54 54 05 02 00 3C 00 00 01 61",
	 {.type = FERRY_CONNECT,
	  .u.connect = {.version = 5, .clean_start = true, .keepalive = 60, .client_id = S("a")}}},
	{"5.0 3.1.2.9 CONNECT password without user name", 5, CLIENT, BOTH,
	 "10 12 00 04 4D 51 54 54 05 42 00 00 00 00 01 61 00 02 01 02",
	 {.type = FERRY_CONNECT,
	  .u.connect = {.version = 5, .clean_start = true, .client_id = S("a"),
	                .has_password = true, .password = S("\x01\x02")}}},
	{"5.0 3.1.2.11 + 3.1.3.2 CONNECT with every CONNECT and will property", 5, CLIENT, BOTH,
	 "10 5A 00 04 4D 51 54 54 05 84 00 1E"
	 " 1E 15 00 01 6D 16 00 01 01 17 00 19 01 21 00 14 22 00 0A 26 00 01 6B 00 01 76"
	 " 27 00 10 00 00"
	 " 00 02 63 31"
	 " 1F 01 01 02 00 00 00 3C 03 00 01 74 08 00 01 72 09 00 01 AA 18 00 00 00 05"
	 " 26 00 01 61 00 01 62"
	 " 00 03 77 2F 74 00 03 62 79 65 00 01 75",
	 {.type = FERRY_CONNECT,
	  .u.connect = {.version = 5, .keepalive = 30, .client_id = S("c1"), .has_will = true,
	                .will = {.topic = S("w/t"), .payload = S("bye"), .props = WILL5_PROPS},
	                .has_username = true, .username = S("u"), .props = CONNECT5_PROPS}}},
	{"5.0 3.2 CONNACK success, no properties", 5, SERVER, BOTH, "20 03 00 00 00",
	 {.type = FERRY_CONNACK}},
	{"5.0 3.2.2.3 CONNACK session present with every capability property", 5, SERVER, BOTH,
	 "20 3A 01 00 37 11 00 00 0E 10 12 00 03 63 69 64 13 00 3C 1A 00 01 69 1C 00 01 73"
	 " 1F 00 02 6F 6B 21 00 0A 22 00 05 24 01 25 00 26 00 01 6B 00 01 76 27 00 00 40 00"
	 " 28 00 29 01 2A 00",
	 {.type = FERRY_CONNACK, .u.connack = {.session_present = true, .props = CONNACK5_PROPS}}},
	{"5.0 3.2.2.2 CONNACK 0x87 not authorized with Reason String", 5, SERVER, BOTH,
	 "20 08 00 87 05 1F 00 02 6E 6F",
	 {.type = FERRY_CONNACK,
	  .u.connack = {.reason = 0x87,
	                .props = {.present = BIT(REASON_STRING), .reason_string = S("no")}}}},
	{"5.0 3.2.2.3.16 CONNACK 0x9C use another server with Server Reference", 5, SERVER, BOTH,
	 "20 07 00 9C 04 1C 00 01 62",
	 {.type = FERRY_CONNACK,
	  .u.connack = {.reason = 0x9C,
	                .props = {.present = BIT(SERVER_REFERENCE), .server_reference = S("b")}}}},
	{"5.0 3.2.2.3.17 CONNACK with Authentication Method and Data", 5, SERVER, BOTH,
	 "20 0D 00 00 0A 15 00 01 6D 16 00 03 01 02 03",
	 {.type = FERRY_CONNACK,
	  .u.connack = {.props = {.present = BIT(AUTH_METHOD) | BIT(AUTH_DATA),
	                          .auth_method = S("m"), .auth_data = S("\x01\x02\x03")}}}},
	{"5.0 3.3 PUBLISH QoS 0, no properties, payload \"hello\"", 5, CLIENT, BOTH,
	 "30 0B 00 03 61 2F 62 00 68 65 6C 6C 6F",
	 {.type = FERRY_PUBLISH, .u.publish = {.topic = S("a/b"), .payload = S("hello")}}},
	{"5.0 3.3.2.3 PUBLISH QoS 1 with every message property and two User Properties", 5,
	 CLIENT, BOTH,
	 "32 31 00 03 61 2F 62 00 0A 27 01 01 02 00 00 00 3C 03 00 04 74 65 78 74 08 00 03 72"
	 " 2F 31 09 00 02 CA FE 26 00 01 6B 00 01 76 26 00 02 6B 32 00 00 68 69",
	 {.type = FERRY_PUBLISH, .u.publish = {.qos = 1, .packet_id = 10, .topic = S("a/b"),
	                                      .payload = S("hi"), .props = PUBLISH5_PROPS}}},
	{"5.0 3.3.2.3.4 PUBLISH empty topic with Topic Alias 5", 5, SERVER, BOTH,
	 "30 07 00 00 03 23 00 05 78",
	 {.type = FERRY_PUBLISH,
	  .u.publish = {.topic = S(""), .payload = S("x"),
	                .props = {.present = BIT(TOPIC_ALIAS), .topic_alias = 5}}}},
	{"5.0 3.3.2.3.4 PUBLISH QoS 2 topic with Topic Alias 1 (sets the mapping)", 5, CLIENT,
	 BOTH, "34 0C 00 03 61 2F 62 00 01 03 23 00 01 6D",
	 {.type = FERRY_PUBLISH,
	  .u.publish = {.qos = 2, .packet_id = 1, .topic = S("a/b"), .payload = S("m"),
	                .props = {.present = BIT(TOPIC_ALIAS), .topic_alias = 1}}}},
	{"5.0 3.3.2.3.8 PUBLISH from the server with Subscription Identifier 5", 5, SERVER, BOTH,
	 "30 08 00 03 61 2F 62 02 0B 05",
	 {.type = FERRY_PUBLISH,
	  .u.publish = {.topic = S("a/b"),
	                .props = {.present = BIT(SUBSCRIPTION_ID), .sub_id = 5}}}},
	{"5.0 3.3.2.3.8 PUBLISH with Subscription Identifiers 5 and 128", 5, SERVER, DECODE_ONLY,
	 "30 0B 00 03 61 2F 62 05 0B 05 0B 80 01",
	 {.type = FERRY_PUBLISH,
	  .u.publish = {.topic = S("a/b"),
	                .props = {.present = BIT(SUBSCRIPTION_ID), .sub_id = 5,
	                          .sub_id_count = 2}}}},
	{"5.0 3.4.2.1 PUBACK success, short form", 5, SERVER, BOTH, "40 02 00 0A",
	 {.type = FERRY_PUBACK, .u.ack = {.packet_id = 10}}},
	{"5.0 3.4.2.1 PUBACK 0x10 no matching subscribers, no properties", 5, SERVER, BOTH,
	 "40 03 00 0A 10", {.type = FERRY_PUBACK, .u.ack = {.packet_id = 10, .reason = 0x10}}},
	{"5.0 3.4.2.2 PUBACK 0x97 quota exceeded with Reason String", 5, SERVER, BOTH,
	 "40 09 00 0A 97 05 1F 00 02 71 71",
	 {.type = FERRY_PUBACK,
	  .u.ack = {.packet_id = 10, .reason = 0x97,
	            .props = {.present = BIT(REASON_STRING), .reason_string = S("qq")}}}},
	{"5.0 3.4.2.2.1 PUBACK long form: reason 0, property length 0", 5, SERVER, DECODE_ONLY,
	 "40 04 00 0A 00 00", {.type = FERRY_PUBACK, .u.ack = {.packet_id = 10}}},
	{"5.0 3.5.2.1 PUBREC 0x80 unspecified error", 5, SERVER, BOTH, "50 03 00 0A 80",
	 {.type = FERRY_PUBREC, .u.ack = {.packet_id = 10, .reason = 0x80}}},
	{"5.0 3.6.2.1 PUBREL 0x92 packet identifier not found", 5, CLIENT, BOTH, "62 03 00 0A 92",
	 {.type = FERRY_PUBREL, .u.ack = {.packet_id = 10, .reason = 0x92}}},
	{"5.0 3.6.2.2 PUBREL success with a User Property", 5, CLIENT, BOTH,
	 "62 0B 00 0A 00 07 26 00 01 6B 00 01 76",
	 {.type = FERRY_PUBREL, .u.ack = {.packet_id = 10, .props = {USER1("k", "v")}}}},
	{"5.0 3.7.2.1 PUBCOMP success, short form", 5, SERVER, BOTH, "70 02 00 0A",
	 {.type = FERRY_PUBCOMP, .u.ack = {.packet_id = 10}}},
	{"5.0 3.7.2.1 PUBCOMP 0x92", 5, SERVER, BOTH, "70 03 00 0A 92",
	 {.type = FERRY_PUBCOMP, .u.ack = {.packet_id = 10, .reason = 0x92}}},
	{"5.0 3.8.2.1.2 + 3.8.3.1 SUBSCRIBE Subscription Identifier 1, No Local, Retain As "
	 "Published, Retain Handling 2 and 1",
	 5, CLIENT, BOTH, "82 11 00 0A 02 0B 01 00 03 61 2F 62 2D 00 03 63 2F 64 12",
	 {.type = FERRY_SUBSCRIBE,
	  .u.subscribe = {.packet_id = 10,
	                  .props = {.present = BIT(SUBSCRIPTION_ID), .sub_id = 1},
	                  .entries = (const struct ferry_sub_entry[]){{S("a/b"), 0x2D},
	                                                              {S("c/d"), 0x12}},
	                  .count = 2}}},
	{"5.0 4.8.2 SUBSCRIBE shared subscription $share/g/a/#", 5, CLIENT, BOTH,
	 "82 12 00 01 00 00 0C 24 73 68 61 72 65 2F 67 2F 61 2F 23 01",
	 {.type = FERRY_SUBSCRIBE,
	  .u.subscribe = {.packet_id = 1,
	                  .entries = (const struct ferry_sub_entry[]){{S("$share/g/a/#"), 1}},
	                  .count = 1}}},
	{"5.0 3.8.2.1.2 SUBSCRIBE Subscription Identifier 268435455 and a User Property", 5,
	 CLIENT, BOTH, "82 13 00 02 0C 0B FF FF FF 7F 26 00 01 6B 00 01 76 00 01 23 00",
	 {.type = FERRY_SUBSCRIBE,
	  .u.subscribe = {.packet_id = 2,
	                  .props = {.present = BIT(SUBSCRIPTION_ID), .sub_id = 268435455,
	                            USER1("k", "v")},
	                  .entries = (const struct ferry_sub_entry[]){{S("#"), 0}},
	                  .count = 1}}},
	{"5.0 3.9.3 SUBACK granted 0, 1, 2 and 0x80, 0x87, 0xA2 with Reason String", 5, SERVER,
	 BOTH, "90 0E 00 0A 05 1F 00 02 72 73 00 01 02 80 87 A2",
	 {.type = FERRY_SUBACK,
	  .u.suback = {.packet_id = 10,
	               .props = {.present = BIT(REASON_STRING), .reason_string = S("rs")},
	               .reasons = (const uint8_t[]){0x00, 0x01, 0x02, 0x80, 0x87, 0xA2},
	               .count = 6}}},
	{"5.0 3.9 SUBACK granted QoS 1, no properties", 5, SERVER, BOTH, "90 04 00 0A 00 01",
	 {.type = FERRY_SUBACK,
	  .u.suback = {.packet_id = 10, .reasons = (const uint8_t[]){1}, .count = 1}}},
	{"5.0 3.10.2.1.2 UNSUBSCRIBE with a User Property", 5, CLIENT, BOTH,
	 "A2 14 00 0A 07 26 00 01 6B 00 01 76 00 03 61 2F 62 00 03 63 2F 64",
	 {.type = FERRY_UNSUBSCRIBE,
	  .u.unsubscribe = {.packet_id = 10, .props = {USER1("k", "v")},
	                    .filters = (const struct ferry_bytes[]){S("a/b"), S("c/d")},
	                    .count = 2}}},
	{"5.0 3.11.3 UNSUBACK success and 0x11 no subscription existed", 5, SERVER, BOTH,
	 "B0 05 00 0A 00 00 11",
	 {.type = FERRY_UNSUBACK,
	  .u.suback = {.packet_id = 10, .reasons = (const uint8_t[]){0x00, 0x11}, .count = 2}}},
	{"5.0 3.11.2.1.2 UNSUBACK 0x8F topic filter invalid with Reason String", 5, SERVER, BOTH,
	 "B0 08 00 0A 04 1F 00 01 78 8F",
	 {.type = FERRY_UNSUBACK,
	  .u.suback = {.packet_id = 10,
	               .props = {.present = BIT(REASON_STRING), .reason_string = S("x")},
	               .reasons = (const uint8_t[]){0x8F}, .count = 1}}},
	{"5.0 3.12 PINGREQ", 5, CLIENT, BOTH, "C0 00", {.type = FERRY_PINGREQ}},
	{"5.0 3.13 PINGRESP", 5, SERVER, BOTH, "D0 00", {.type = FERRY_PINGRESP}},
	{"5.0 3.14.2.1 DISCONNECT normal, short form", 5, CLIENT, BOTH, "E0 00",
	 {.type = FERRY_DISCONNECT}},
	{"5.0 3.14.2.1 DISCONNECT 0x04 with will message, reason only", 5, CLIENT, BOTH,
	 "E0 01 04", {.type = FERRY_DISCONNECT, .u.disconnect = {.reason = 0x04}}},
	{"5.0 3.14.2.2.2 DISCONNECT from the client with Session Expiry Interval 0", 5, CLIENT,
	 BOTH, "E0 07 00 05 11 00 00 00 00",
	 {.type = FERRY_DISCONNECT,
	  .u.disconnect = {.props = {.present = BIT(SESSION_EXPIRY), .session_expiry = 0}}}},
	{"5.0 3.14.2.2 DISCONNECT from the server 0x8B with Server Reference and Reason String", 5,
	 SERVER, BOTH, "E0 0B 8B 09 1C 00 01 73 1F 00 02 62 79",
	 {.type = FERRY_DISCONNECT,
	  .u.disconnect = {.reason = 0x8B,
	                   .props = {.present = BIT(SERVER_REFERENCE) | BIT(REASON_STRING),
	                             .server_reference = S("s"), .reason_string = S("by")}}}},
	{"5.0 3.14.2.2.1 DISCONNECT long form: reason 0, property length 0", 5, SERVER,
	 DECODE_ONLY, "E0 02 00 00", {.type = FERRY_DISCONNECT}},
	{"5.0 3.15.2.1 AUTH success, short form", 5, SERVER, BOTH, "F0 00", {.type = FERRY_AUTH}},
	{"5.0 3.15.2.2 AUTH 0x18 continue, Authentication Method and Data", 5, CLIENT, BOTH,
	 "F0 0B 18 09 15 00 01 6D 16 00 02 01 02",
	 {.type = FERRY_AUTH,
	  .u.disconnect = {.reason = 0x18,
	                   .props = {.present = BIT(AUTH_METHOD) | BIT(AUTH_DATA),
	                             .auth_method = S("m"), .auth_data = S("\x01\x02")}}}},
	{"5.0 3.15.2.1 AUTH 0x19 re-authenticate", 5, CLIENT, BOTH, "F0 06 19 04 15 00 01 6D",
	 {.type = FERRY_AUTH,
	  .u.disconnect = {.reason = 0x19,
	                   .props = {.present = BIT(AUTH_METHOD), .auth_method = S("m")}}}},
};

/* clang-format on */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Decodes each vector and asserts every field. */
static void run_decode(const struct vector *v, size_t n)
{
	uint8_t frame[512];
	for (size_t i = 0; i < n; i++) {
		size_t len = test_hex(v[i].hex, frame, sizeof frame);
		struct ferry_codec_cfg cfg = {.version = v[i].version, .peer = v[i].peer};
		struct ferry_packet got;
		int rc = ferry__decode(&cfg, frame, len, &got);
		if (rc != FERRY_OK)
			fprintf(stderr, "\n  decode %s: %s\n", v[i].name, ferry_errname(rc));
		ASSERT_RC(rc, FERRY_OK);
		if (rc == FERRY_OK)
			test_expect_packet(v[i].version, &v[i].pkt, &got, v[i].name);
	}
}

/* Encodes each vector (but the decode-only forms) and compares the bytes. */
static void run_encode(const struct vector *v, size_t n)
{
	uint8_t want[512], buf[512];
	for (size_t i = 0; i < n; i++) {
		if (v[i].dir == DECODE_ONLY)
			continue;
		size_t wlen = test_hex(v[i].hex, want, sizeof want);
		size_t size = 0, len = 0;
		int rc = ferry__encode_size(v[i].version, &v[i].pkt, &size);
		ASSERT_RC(rc, FERRY_OK);
		rc = ferry__encode(v[i].version, &v[i].pkt, buf, sizeof buf, &len);
		ASSERT_RC(rc, FERRY_OK);
		int ok =
		    rc == FERRY_OK && size == wlen && len == wlen && memcmp(buf, want, wlen) == 0;
		if (!ok) {
			fprintf(stderr, "\n  encode %s (%s)\n    want %s\n", v[i].name,
			        ferry_errname(rc), test_tohex(want, wlen));
			fprintf(stderr, "    got  %s\n", test_tohex(buf, len));
		}
		CU_ASSERT(ok);
	}
}

static void test_decode_31(void)
{
	run_decode(v31, COUNT(v31));
}

static void test_encode_31(void)
{
	run_encode(v31, COUNT(v31));
}

static void test_decode_311(void)
{
	run_decode(v311, COUNT(v311));
}

static void test_encode_311(void)
{
	run_encode(v311, COUNT(v311));
}

static void test_decode_5(void)
{
	run_decode(v5, COUNT(v5));
}

static void test_encode_5(void)
{
	run_encode(v5, COUNT(v5));
}

/* Every packet type has a vector in every version it exists in. */
static void test_coverage(void)
{
	const struct {
		const struct vector *v;
		size_t n;
		uint8_t version;
		int last;
	} sets[] = {{v31, COUNT(v31), 3, FERRY_DISCONNECT},
	            {v311, COUNT(v311), 4, FERRY_DISCONNECT},
	            {v5, COUNT(v5), 5, FERRY_AUTH}};
	size_t total = 0;
	for (size_t s = 0; s < COUNT(sets); s++) {
		unsigned seen = 0;
		for (size_t i = 0; i < sets[s].n; i++) {
			CU_ASSERT_EQUAL(sets[s].v[i].version, sets[s].version);
			seen |= 1u << sets[s].v[i].pkt.type;
		}
		for (int t = FERRY_CONNECT; t <= sets[s].last; t++)
			CU_ASSERT(seen & (1u << t));
		total += sets[s].n;
	}
	CU_ASSERT(total >= 60);
}

/*
 * 2.2.3 (3.1.1) / 1.5.5 (5.0): the remaining length's variable byte integer
 * at the boundaries of its table, including the spec's 321 = C1 02 example.
 */
static void test_remaining_length_boundaries(void)
{
	static const struct {
		uint32_t rl;
		const char *hex;
	} cases[] = {
	    {127, "7F"},         {128, "80 01"},        {321, "C1 02"},          {16383, "FF 7F"},
	    {16384, "80 80 01"}, {2097151, "FF FF 7F"}, {2097152, "80 80 80 01"}};
	static uint8_t payload[2097152];
	uint8_t want[4];
	for (size_t i = 0; i < COUNT(cases); i++) {
		/* A QoS 0 PUBLISH to "a" is 3 bytes of topic, then the payload (3.1.1). */
		struct ferry_packet p = {.type = FERRY_PUBLISH};
		p.u.publish.topic = ferry__bytes_str("a");
		p.u.publish.payload.p = payload;
		p.u.publish.payload.len = cases[i].rl - 3;
		size_t n = test_hex(cases[i].hex, want, sizeof want);
		size_t size, len;
		ASSERT_RC(ferry__encode_size(4, &p, &size), FERRY_OK);
		CU_ASSERT_EQUAL(size, 1 + n + cases[i].rl);
		uint8_t *buf = malloc(size);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		ASSERT_RC(ferry__encode(4, &p, buf, size, &len), FERRY_OK);
		CU_ASSERT_EQUAL(len, size);
		CU_ASSERT_EQUAL(buf[0], 0x30);
		CU_ASSERT(memcmp(buf + 1, want, n) == 0);
		struct ferry_codec_cfg cfg = {.version = 4, .peer = FERRY_PEER_SERVER};
		struct ferry_packet back;
		ASSERT_RC(ferry__decode(&cfg, buf, len, &back), FERRY_OK);
		ASSERT_VIEW_STR(back.u.publish.topic, "a");
		CU_ASSERT_EQUAL(back.u.publish.payload.len, cases[i].rl - 3);
		CU_ASSERT(back.u.publish.payload.p == buf + 1 + n + 3); /* a view, not a copy */
		free(buf);
	}
	/* The zero-length case: PINGREQ is C0 00. */
	uint8_t ping[2];
	size_t len;
	struct ferry_packet p = {.type = FERRY_PINGREQ};
	ASSERT_RC(ferry__encode(4, &p, ping, sizeof ping, &len), FERRY_OK);
	CU_ASSERT(len == 2 && ping[0] == 0xC0 && ping[1] == 0x00);
}

/* 3.3.2.3.8: a PUBLISH may carry several Subscription Identifiers; all are kept in order. */
static void test_publish_sub_ids(void)
{
	uint8_t frame[32];
	size_t len =
	    test_hex("30 10 00 03 61 2F 62 0A 0B 05 0B 80 01 0B FF FF FF 7F", frame, sizeof frame);
	struct ferry_codec_cfg cfg = {.version = 5, .peer = FERRY_PEER_SERVER};
	struct ferry_packet p;
	ASSERT_RC(ferry__decode(&cfg, frame, len, &p), FERRY_OK);
	CU_ASSERT_EQUAL(p.u.publish.props.sub_id_count, 3);
	struct ferry_prop_iter it;
	uint32_t id, ids[4] = {0};
	size_t n = 0;
	ferry__props_iter_init(&it, &p.u.publish.props);
	while (n < 4 && ferry__props_next_sub_id(&it, &id))
		ids[n++] = id;
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(ids[0] == 5 && ids[1] == 128 && ids[2] == 268435455);
	CU_ASSERT_EQUAL(p.u.publish.payload.len, 0);
	/* The same PUBLISH sent by a client breaks 3.3.4-6. */
	cfg.peer = FERRY_PEER_CLIENT;
	ASSERT_RC(ferry__decode(&cfg, frame, len, &p), FERRY_ERR_PROTOCOL);
}

/* 1.5.5: MQTT 5 requires shortest-form lengths; 3.1.1 is read leniently. */
static void test_non_minimal_length(void)
{
	uint8_t frame[] = {0xD0, 0x80, 0x00}; /* PINGRESP, remaining length 0 in two bytes */
	struct ferry_codec_cfg cfg = {.version = 4, .peer = FERRY_PEER_SERVER};
	struct ferry_packet p;
	ASSERT_RC(ferry__decode(&cfg, frame, sizeof frame, &p), FERRY_OK);
	CU_ASSERT_EQUAL(p.type, FERRY_PINGRESP);
	cfg.version = 5;
	ASSERT_RC(ferry__decode(&cfg, frame, sizeof frame, &p), FERRY_ERR_VARINT_NON_MINIMAL);
}

static void test_ptype_names(void)
{
	CU_ASSERT_STRING_EQUAL(ferry__ptype_name(FERRY_CONNECT), "CONNECT");
	CU_ASSERT_STRING_EQUAL(ferry__ptype_name(FERRY_PUBLISH), "PUBLISH");
	CU_ASSERT_STRING_EQUAL(ferry__ptype_name(FERRY_UNSUBACK), "UNSUBACK");
	CU_ASSERT_STRING_EQUAL(ferry__ptype_name(FERRY_AUTH), "AUTH");
	CU_ASSERT_STRING_EQUAL(ferry__ptype_name(0), "reserved");
	CU_ASSERT_STRING_EQUAL(ferry__ptype_name(16), "unknown");
	CU_ASSERT_STRING_EQUAL(ferry__ptype_name(-1), "unknown");
}

void register_vectors_suite(void)
{
	CU_pSuite s = test_suite("vectors");
	test_add(s, "MQTT 3.1 decode", test_decode_31);
	test_add(s, "MQTT 3.1 encode", test_encode_31);
	test_add(s, "MQTT 3.1.1 decode", test_decode_311);
	test_add(s, "MQTT 3.1.1 encode", test_encode_311);
	test_add(s, "MQTT 5.0 decode", test_decode_5);
	test_add(s, "MQTT 5.0 encode", test_encode_5);
	test_add(s, "every packet type in every version", test_coverage);
	test_add(s, "remaining length boundaries (2.2.3)", test_remaining_length_boundaries);
	test_add(s, "PUBLISH with several subscription identifiers", test_publish_sub_ids);
	test_add(s, "non-minimal remaining length", test_non_minimal_length);
	test_add(s, "packet type names", test_ptype_names);
}

/*
 * decode.c - ferry__decode: one complete MQTT frame (3.1, 3.1.1 or 5.0) into a
 * struct ferry_packet whose strings and blobs are views into the frame; the
 * validation rules shared with the encoder (codec_rules.h); the iterators over
 * a decoded SUBSCRIBE / UNSUBSCRIBE; packet type names.
 *
 * Order of the checks, so that every malformed frame has one predictable error:
 *  1. fixed header: remaining length (shortest form in 5.0), the maximum
 *     packet size, then the frame length against the remaining length
 *     (FERRY_ERR_TRUNCATED if short, FERRY_ERR_TRAILING_BYTES if long);
 *  2. packet type for the version, then direction (who may send it), then
 *     the reserved flag bits (PUBLISH: QoS 3, then DUP at QoS 0);
 *  3. remaining lengths impossible for the type (FERRY_ERR_REMAINING_LENGTH);
 *  4. the fields in wire order, each validated as it is read; a field that
 *     runs past the end is FERRY_ERR_TRUNCATED (inside a property block,
 *     FERRY_ERR_PROPERTY_LENGTH); bytes left after the last field are
 *     FERRY_ERR_TRAILING_BYTES.
 *
 * Decisions where the specifications leave room, stated once:
 *  - Will QoS 3 in CONNECT is FERRY_ERR_CONNECT_FLAGS (the flags byte is
 *    malformed), not FERRY_ERR_QOS.
 *  - A 3.1.1 CONNECT with an empty client id and clean session 0 is decoded:
 *    the spec has the server answer it with CONNACK 0x02, so it is not
 *    malformed. The encoder refuses to produce it.
 *  - Packet identifiers are never 0 in any packet that has one (2.3.1: the
 *    acks carry the id of a packet that could not have 0).
 *  - An MQTT 5 CONNACK always has its property length (3.2.2.3): a remaining
 *    length under 3 is FERRY_ERR_REMAINING_LENGTH; so is an AUTH of length 1
 *    (3.15.2.2: only reason and properties together may be omitted).
 *  - CONNECT Authentication Data without an Authentication Method is
 *    FERRY_ERR_PROTOCOL (3.1.2.11.10), checked once the block is read.
 *  - Direction rules of MQTT 5 checked here: a server's DISCONNECT carries no
 *    Session Expiry Interval (3.14.2.2.2) and a client's PUBLISH no
 *    Subscription Identifier (3.3.4); both are FERRY_ERR_PROTOCOL.
 */
#include "codec.h"

#include <string.h>

#include "codec_rules.h"
#include "reason.h"
#include "topic.h"

/* The decoder's state for one frame. */
struct dec {
	uint8_t version;       /* protocol version of the packet (CONNECT: its own level) */
	uint8_t peer;          /* enum ferry_peer */
	uint8_t flags;         /* low nibble of the first byte */
	uint32_t rl;           /* remaining length */
	struct ferry_cursor c; /* over the body (after the remaining length) */
};

/* ---- rules shared with the encoder ---------------------------------------- */

int ferry__rule_type(uint8_t version, int type)
{
	if (type < FERRY_CONNECT || type > FERRY_AUTH)
		return FERRY_ERR_PACKET_TYPE;
	if (type == FERRY_AUTH && version < 5)
		return FERRY_ERR_PACKET_TYPE;
	return FERRY_OK;
}

uint8_t ferry__rule_fixed_flags(int type)
{
	if (type == FERRY_PUBREL || type == FERRY_SUBSCRIBE || type == FERRY_UNSUBSCRIBE)
		return 0x02u;
	return 0x00u;
}

int ferry__rule_publish_qos(uint8_t qos, bool dup)
{
	if (qos > 2)
		return FERRY_ERR_QOS;
	if (dup && qos == 0)
		return FERRY_ERR_DUP_QOS0;
	return FERRY_OK;
}

int ferry__rule_publish_topic(uint8_t version, struct ferry_bytes topic,
                              const struct ferry_props *props)
{
	bool alias =
	    version == 5 && props && (props->present & FERRY_PROP_BIT(FERRY_PROP_TOPIC_ALIAS)) != 0;
	if (alias && props->topic_alias == 0)
		return FERRY_ERR_TOPIC_ALIAS;
	if (topic.len == 0) {
		if (version < 5)
			return FERRY_ERR_TOPIC_NAME;
		return alias ? FERRY_OK : FERRY_ERR_TOPIC_ALIAS;
	}
	return ferry__topic_name_check(topic.p, topic.len);
}

int ferry__rule_connect_flags(uint8_t version, uint8_t flags)
{
	unsigned will_qos = (flags & FERRY_CF_WILL_QOS_MASK) >> FERRY_CF_WILL_QOS_SHIFT;
	if (flags & FERRY_CF_RESERVED)
		return FERRY_ERR_CONNECT_FLAGS;
	if (flags & FERRY_CF_WILL) {
		if (will_qos > 2)
			return FERRY_ERR_CONNECT_FLAGS;
	} else if (will_qos != 0 || (flags & FERRY_CF_WILL_RETAIN)) {
		return FERRY_ERR_CONNECT_FLAGS;
	}
	if (version < 5 && (flags & FERRY_CF_PASSWORD) && !(flags & FERRY_CF_USERNAME))
		return FERRY_ERR_CONNECT_FLAGS;
	return FERRY_OK;
}

int ferry__rule_connect_props(const struct ferry_props *props)
{
	if (props && (props->present & FERRY_PROP_BIT(FERRY_PROP_AUTH_DATA)) &&
	    !(props->present & FERRY_PROP_BIT(FERRY_PROP_AUTH_METHOD)))
		return FERRY_ERR_PROTOCOL;
	return FERRY_OK;
}

int ferry__rule_client_id(uint8_t version, struct ferry_bytes id)
{
	if (version == 3 && (id.len == 0 || id.len > 23))
		return FERRY_ERR_CLIENT_ID;
	return FERRY_OK;
}

int ferry__rule_sub_entry(uint8_t version, struct ferry_bytes filter, uint8_t options)
{
	const uint8_t *g, *r;
	size_t gl, rl;
	bool bad;
	unsigned retain_handling =
	    (options & FERRY_SUBOPT_RETAIN_HANDLING_MASK) >> FERRY_SUBOPT_RETAIN_HANDLING_SHIFT;
	if (version < 5)
		bad = (options & ~FERRY_SUBOPT_QOS_MASK) != 0; /* 3.x: bits 2..7 reserved */
	else
		bad = (options & 0xC0u) != 0 || retain_handling == 3;
	if (bad)
		return FERRY_ERR_SUBSCRIPTION_OPTIONS;
	if ((options & FERRY_SUBOPT_QOS_MASK) == 3)
		return FERRY_ERR_QOS;
	int rc = ferry__topic_filter_check(filter.p, filter.len, version == 5);
	if (rc)
		return rc;
	if (version == 5 && (options & FERRY_SUBOPT_NO_LOCAL) &&
	    ferry__topic_shared_split(filter.p, filter.len, &g, &gl, &r, &rl))
		return FERRY_ERR_PROTOCOL; /* 3.8.3.1: No Local on a shared subscription */
	return FERRY_OK;
}

int ferry__rule_unsub_filter(uint8_t version, struct ferry_bytes filter)
{
	return ferry__topic_filter_check(filter.p, filter.len, version == 5);
}

int ferry__rule_reason(uint8_t version, int type, uint8_t code)
{
	return ferry__reason_valid(version, type, code) ? FERRY_OK : FERRY_ERR_REASON_CODE;
}

int ferry__rule_connack(uint8_t version, bool session_present, uint8_t code)
{
	if (version >= 4 && session_present && code != 0)
		return FERRY_ERR_CONNACK_FLAGS;
	return FERRY_OK;
}

/* ---- fixed header ------------------------------------------------------------ */

/* Reads the first byte and the remaining length; checks the frame's size. */
static int dec_fixed(const struct ferry_codec_cfg *cfg, const uint8_t *frame, size_t len,
                     struct dec *d, int *type)
{
	struct ferry_cursor c;
	uint8_t b0;
	uint32_t rl;
	ferry__cur_init(&c, frame, len);
	int rc = ferry__cur_u8(&c, &b0);
	if (rc == FERRY_OK)
		rc = ferry__cur_varint(&c, cfg->version == 5, &rl);
	if (rc)
		return rc;
	size_t total = (size_t)(c.p - frame) + rl;
	size_t max = cfg->max_packet_size ? cfg->max_packet_size : FERRY_PACKET_MAX;
	if (total > max)
		return FERRY_ERR_PACKET_TOO_LARGE;
	if (len < total)
		return FERRY_ERR_TRUNCATED;
	if (len > total)
		return FERRY_ERR_TRAILING_BYTES;
	d->version = cfg->version;
	d->peer = cfg->peer;
	d->flags = (uint8_t)(b0 & 0x0Fu);
	d->rl = rl;
	d->c = c;
	*type = b0 >> 4;
	return FERRY_OK;
}

/* May the peer described by d send a packet of this type? */
static bool dec_direction_ok(const struct dec *d, int type)
{
	if (d->peer == FERRY_PEER_SERVER)
		return !(type == FERRY_CONNECT || type == FERRY_SUBSCRIBE ||
		         type == FERRY_UNSUBSCRIBE || type == FERRY_PINGREQ ||
		         (type == FERRY_DISCONNECT && d->version < 5));
	return !(type == FERRY_CONNACK || type == FERRY_SUBACK || type == FERRY_UNSUBACK ||
	         type == FERRY_PINGRESP);
}

/* Type, direction, then the reserved flag bits. */
static int dec_check_type(const struct dec *d, int type)
{
	int rc = ferry__rule_type(d->version, type);
	if (rc)
		return rc;
	if (!dec_direction_ok(d, type))
		return FERRY_ERR_PACKET_DIRECTION;
	if (type == FERRY_PUBLISH)
		return ferry__rule_publish_qos(
		    (uint8_t)((d->flags & FERRY_PF_QOS_MASK) >> FERRY_PF_QOS_SHIFT),
		    (d->flags & FERRY_PF_DUP) != 0);
	uint8_t want = ferry__rule_fixed_flags(type);
	if (d->flags == want)
		return FERRY_OK;
	/* 3.1 let PUBREL, SUBSCRIBE and UNSUBSCRIBE be retried with DUP set. */
	if (d->version == 3 && want == 0x02u && d->flags == (0x02u | FERRY_PF_DUP))
		return FERRY_OK;
	return FERRY_ERR_HEADER_FLAGS;
}

/* Remaining lengths no packet of this type can have. */
static int dec_check_length(const struct dec *d, int type)
{
	bool v3 = d->version < 5;
	uint32_t n = d->rl;
	bool ok;
	switch (type) {
	case FERRY_PINGREQ:
	case FERRY_PINGRESP:
		ok = n == 0;
		break;
	case FERRY_DISCONNECT:
		ok = !v3 || n == 0;
		break;
	case FERRY_CONNACK:
		ok = v3 ? n == 2 : n >= 3;
		break;
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBREL:
	case FERRY_PUBCOMP:
	case FERRY_UNSUBACK:
		ok = v3 ? n == 2 : n >= 2;
		break;
	case FERRY_SUBSCRIBE:
	case FERRY_UNSUBSCRIBE:
	case FERRY_SUBACK:
		ok = n >= 2;
		break;
	case FERRY_AUTH:
		ok = n != 1;
		break;
	default:
		ok = true;
		break;
	}
	return ok ? FERRY_OK : FERRY_ERR_REMAINING_LENGTH;
}

/* ---- field helpers ------------------------------------------------------------- */

/* Properties of an MQTT 5 packet; nothing (already zero) before 5.0. */
static int dec_props(struct dec *d, int ctx, struct ferry_props *props)
{
	if (d->version < 5)
		return FERRY_OK;
	return ferry__props_decode(&d->c, ctx, props);
}

/* A packet identifier, which is never 0. */
static int dec_packet_id(struct dec *d, uint16_t *id)
{
	int rc = ferry__cur_u16(&d->c, id);
	if (rc == FERRY_OK && *id == 0)
		rc = FERRY_ERR_PACKET_ID;
	return rc;
}

/* Every byte must have been used by a field. */
static int dec_end(const struct dec *d)
{
	return ferry__cur_left(&d->c) ? FERRY_ERR_TRAILING_BYTES : FERRY_OK;
}

static bool bytes_is(struct ferry_bytes b, const char *s)
{
	size_t n = strlen(s);
	return b.len == n && memcmp(b.p, s, n) == 0;
}

/* ---- CONNECT, CONNACK ---------------------------------------------------------- */

/* Protocol name and level (3.1.2.1, 3.1.2.2; 3.1: "MQIsdp" 3); sets d->version. */
static int dec_protocol(struct dec *d)
{
	struct ferry_bytes name;
	uint8_t level;
	int rc = ferry__cur_binary(&d->c, &name);
	if (rc)
		return rc;
	bool mqtt = bytes_is(name, "MQTT");
	if (!mqtt && !bytes_is(name, "MQIsdp"))
		return FERRY_ERR_PROTOCOL_NAME;
	rc = ferry__cur_u8(&d->c, &level);
	if (rc)
		return rc;
	if (mqtt ? (level != 4 && level != 5) : level != 3)
		return FERRY_ERR_PROTOCOL_VERSION;
	d->version = level;
	return FERRY_OK;
}

/* Will properties (5.0), will topic, will payload (3.1.3.2 .. 3.1.3.4). */
static int dec_will(struct dec *d, struct ferry_will *w)
{
	int rc = dec_props(d, FERRY_PCTX_WILL, &w->props);
	if (rc == FERRY_OK)
		rc = ferry__cur_utf8(&d->c, &w->topic);
	if (rc == FERRY_OK)
		rc = ferry__topic_name_check(w->topic.p, w->topic.len);
	if (rc == FERRY_OK)
		rc = ferry__cur_binary(&d->c, &w->payload);
	return rc;
}

static int dec_connect(struct dec *d, struct ferry_connect *cn)
{
	uint8_t flags;
	int rc = dec_protocol(d);
	if (rc == FERRY_OK)
		rc = ferry__cur_u8(&d->c, &flags);
	if (rc == FERRY_OK)
		rc = ferry__rule_connect_flags(d->version, flags);
	if (rc == FERRY_OK)
		rc = ferry__cur_u16(&d->c, &cn->keepalive);
	if (rc)
		return rc;
	cn->version = d->version;
	cn->clean_start = (flags & FERRY_CF_CLEAN) != 0;
	cn->has_will = (flags & FERRY_CF_WILL) != 0;
	cn->will.qos = (uint8_t)((flags & FERRY_CF_WILL_QOS_MASK) >> FERRY_CF_WILL_QOS_SHIFT);
	cn->will.retain = (flags & FERRY_CF_WILL_RETAIN) != 0;
	cn->has_username = (flags & FERRY_CF_USERNAME) != 0;
	cn->has_password = (flags & FERRY_CF_PASSWORD) != 0;

	rc = dec_props(d, FERRY_CONNECT, &cn->props);
	if (rc == FERRY_OK)
		rc = ferry__rule_connect_props(&cn->props);
	if (rc == FERRY_OK)
		rc = ferry__cur_utf8(&d->c, &cn->client_id);
	if (rc == FERRY_OK)
		rc = ferry__rule_client_id(d->version, cn->client_id);
	if (rc == FERRY_OK && cn->has_will)
		rc = dec_will(d, &cn->will);
	if (rc == FERRY_OK && cn->has_username)
		rc = ferry__cur_utf8(&d->c, &cn->username);
	if (rc == FERRY_OK && cn->has_password)
		rc = ferry__cur_binary(&d->c, &cn->password);
	return rc ? rc : dec_end(d);
}

static int dec_connack(struct dec *d, struct ferry_connack *ca)
{
	uint8_t flags, code;
	int rc = ferry__cur_u8(&d->c, &flags);
	if (rc == FERRY_OK)
		rc = ferry__cur_u8(&d->c, &code);
	if (rc)
		return rc;
	/* 3.1: the first byte is reserved and ignored; later, only bit 0 is defined. */
	if (d->version >= 4 && (flags & 0xFEu))
		return FERRY_ERR_CONNACK_FLAGS;
	ca->session_present = d->version >= 4 && (flags & 0x01u);
	ca->reason = code;
	rc = ferry__rule_reason(d->version, FERRY_CONNACK, code);
	if (rc == FERRY_OK)
		rc = ferry__rule_connack(d->version, ca->session_present, code);
	if (rc == FERRY_OK)
		rc = dec_props(d, FERRY_CONNACK, &ca->props);
	return rc ? rc : dec_end(d);
}

/* ---- PUBLISH ------------------------------------------------------------------------ */

/* Skips n bytes of a property value; false if they are not there. */
static bool skip(struct ferry_cursor *c, size_t n)
{
	struct ferry_bytes b;
	return ferry__cur_take(c, n, &b) == FERRY_OK;
}

/*
 * After the property decoder refused a PUBLISH block with
 * FERRY_ERR_PROPERTY_VALUE: was the value it refused a Topic Alias of 0
 * (to be reported as FERRY_ERR_TOPIC_ALIAS)? c is at the property length.
 * Walks the properties allowed in PUBLISH until the first out-of-range value.
 */
static bool publish_alias_zero(struct ferry_cursor c)
{
	uint32_t len, id, v;
	uint16_t v16;
	uint8_t v8;
	struct ferry_bytes b;
	if (ferry__cur_varint(&c, true, &len) || len > ferry__cur_left(&c))
		return false;
	c.end = c.p + len;
	while (ferry__cur_left(&c) > 0) {
		if (ferry__cur_varint(&c, true, &id))
			return false;
		bool ok;
		switch (id) {
		case FERRY_PROP_TOPIC_ALIAS:
			return ferry__cur_u16(&c, &v16) == FERRY_OK && v16 == 0;
		case FERRY_PROP_PAYLOAD_FORMAT:
			ok = ferry__cur_u8(&c, &v8) == FERRY_OK && v8 <= 1;
			break;
		case FERRY_PROP_MESSAGE_EXPIRY:
			ok = skip(&c, 4);
			break;
		case FERRY_PROP_SUBSCRIPTION_ID:
			ok = ferry__cur_varint(&c, true, &v) == FERRY_OK && v != 0;
			break;
		case FERRY_PROP_CONTENT_TYPE:
		case FERRY_PROP_RESPONSE_TOPIC:
		case FERRY_PROP_CORRELATION_DATA:
			ok = ferry__cur_binary(&c, &b) == FERRY_OK;
			break;
		case FERRY_PROP_USER:
			ok = ferry__cur_binary(&c, &b) == FERRY_OK &&
			     ferry__cur_binary(&c, &b) == FERRY_OK;
			break;
		default:
			ok = false;
			break;
		}
		if (!ok)
			return false;
	}
	return false;
}

static int dec_publish(struct dec *d, struct ferry_publish *pub)
{
	struct ferry_cursor props_at;
	pub->qos = (uint8_t)((d->flags & FERRY_PF_QOS_MASK) >> FERRY_PF_QOS_SHIFT);
	pub->dup = (d->flags & FERRY_PF_DUP) != 0;
	pub->retain = (d->flags & FERRY_PF_RETAIN) != 0;
	int rc = ferry__cur_utf8(&d->c, &pub->topic);
	if (rc == FERRY_OK && pub->qos > 0)
		rc = dec_packet_id(d, &pub->packet_id);
	if (rc)
		return rc;
	props_at = d->c;
	rc = dec_props(d, FERRY_PUBLISH, &pub->props);
	if (rc == FERRY_ERR_PROPERTY_VALUE && publish_alias_zero(props_at))
		rc = FERRY_ERR_TOPIC_ALIAS;
	if (rc == FERRY_OK)
		rc = ferry__rule_publish_topic(d->version, pub->topic, &pub->props);
	if (rc)
		return rc;
	if (d->peer == FERRY_PEER_CLIENT &&
	    (pub->props.present & FERRY_PROP_BIT(FERRY_PROP_SUBSCRIPTION_ID)))
		return FERRY_ERR_PROTOCOL; /* 3.3.4: only the server sets it */
	return ferry__cur_take(&d->c, ferry__cur_left(&d->c), &pub->payload);
}

/* ---- acknowledgements ------------------------------------------------------------- */

/* PUBACK, PUBREC, PUBREL, PUBCOMP (3.4 .. 3.7). */
static int dec_ack(struct dec *d, int type, struct ferry_ack *ack)
{
	int rc = dec_packet_id(d, &ack->packet_id);
	if (rc)
		return rc;
	/* 5.0: a remaining length of 2 means reason 0 and no properties; 3 no properties. */
	if (d->version == 5 && ferry__cur_left(&d->c) > 0) {
		rc = ferry__cur_u8(&d->c, &ack->reason);
		if (rc == FERRY_OK)
			rc = ferry__rule_reason(d->version, type, ack->reason);
		if (rc == FERRY_OK && ferry__cur_left(&d->c) > 0)
			rc = dec_props(d, type, &ack->props);
	}
	return rc ? rc : dec_end(d);
}

/* SUBACK (3.9) and UNSUBACK (3.11): packet id, properties, one code per filter. */
static int dec_suback(struct dec *d, int type, struct ferry_suback *sa)
{
	int rc = dec_packet_id(d, &sa->packet_id);
	if (rc == FERRY_OK)
		rc = dec_props(d, type, &sa->props);
	if (rc)
		return rc;
	if (type == FERRY_UNSUBACK && d->version < 5)
		return dec_end(d); /* 3.x UNSUBACK: the packet id only */
	sa->count = ferry__cur_left(&d->c);
	sa->reasons = d->c.p;
	if (sa->count == 0)
		return FERRY_ERR_EMPTY_PAYLOAD;
	for (size_t i = 0; i < sa->count; i++) {
		rc = ferry__rule_reason(d->version, type, sa->reasons[i]);
		if (rc)
			return rc;
	}
	d->c.p = d->c.end;
	return FERRY_OK;
}

/* DISCONNECT (5.0: 3.14) and AUTH (3.15); 3.x DISCONNECT has no body. */
static int dec_disconnect(struct dec *d, int type, struct ferry_disconnect *dc)
{
	int rc = FERRY_OK;
	if (d->version < 5 || ferry__cur_left(&d->c) == 0)
		return FERRY_OK; /* reason 0, no properties */
	rc = ferry__cur_u8(&d->c, &dc->reason);
	if (rc == FERRY_OK)
		rc = ferry__rule_reason(d->version, type, dc->reason);
	if (rc == FERRY_OK && ferry__cur_left(&d->c) > 0)
		rc = dec_props(d, type, &dc->props);
	if (rc)
		return rc;
	if (type == FERRY_DISCONNECT && d->peer == FERRY_PEER_SERVER &&
	    (dc->props.present & FERRY_PROP_BIT(FERRY_PROP_SESSION_EXPIRY)))
		return FERRY_ERR_PROTOCOL; /* 3.14.2.2.2 */
	return dec_end(d);
}

/* ---- SUBSCRIBE, UNSUBSCRIBE --------------------------------------------------------- */

static int dec_subscribe(struct dec *d, struct ferry_subscribe *s)
{
	struct ferry_bytes filter;
	uint8_t options;
	int rc = dec_packet_id(d, &s->packet_id);
	if (rc == FERRY_OK)
		rc = dec_props(d, FERRY_SUBSCRIBE, &s->props);
	if (rc)
		return rc;
	s->raw.p = d->c.p;
	s->raw.len = ferry__cur_left(&d->c);
	while (ferry__cur_left(&d->c) > 0) {
		rc = ferry__cur_utf8(&d->c, &filter);
		if (rc == FERRY_OK)
			rc = ferry__cur_u8(&d->c, &options);
		if (rc == FERRY_OK)
			rc = ferry__rule_sub_entry(d->version, filter, options);
		if (rc)
			return rc;
		s->count++;
	}
	return s->count ? FERRY_OK : FERRY_ERR_EMPTY_PAYLOAD;
}

static int dec_unsubscribe(struct dec *d, struct ferry_unsubscribe *u)
{
	struct ferry_bytes filter;
	int rc = dec_packet_id(d, &u->packet_id);
	if (rc == FERRY_OK)
		rc = dec_props(d, FERRY_UNSUBSCRIBE, &u->props);
	if (rc)
		return rc;
	u->raw.p = d->c.p;
	u->raw.len = ferry__cur_left(&d->c);
	while (ferry__cur_left(&d->c) > 0) {
		rc = ferry__cur_utf8(&d->c, &filter);
		if (rc == FERRY_OK)
			rc = ferry__rule_unsub_filter(d->version, filter);
		if (rc)
			return rc;
		u->count++;
	}
	return u->count ? FERRY_OK : FERRY_ERR_EMPTY_PAYLOAD;
}

/* ---- entry point ---------------------------------------------------------------------- */

static int dec_body(struct dec *d, int type, struct ferry_packet *out)
{
	switch (type) {
	case FERRY_CONNECT:
		return dec_connect(d, &out->u.connect);
	case FERRY_CONNACK:
		return dec_connack(d, &out->u.connack);
	case FERRY_PUBLISH:
		return dec_publish(d, &out->u.publish);
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBREL:
	case FERRY_PUBCOMP:
		return dec_ack(d, type, &out->u.ack);
	case FERRY_SUBSCRIBE:
		return dec_subscribe(d, &out->u.subscribe);
	case FERRY_UNSUBSCRIBE:
		return dec_unsubscribe(d, &out->u.unsubscribe);
	case FERRY_SUBACK:
	case FERRY_UNSUBACK:
		return dec_suback(d, type, &out->u.suback);
	case FERRY_DISCONNECT:
	case FERRY_AUTH:
		return dec_disconnect(d, type, &out->u.disconnect);
	default:
		return FERRY_OK; /* PINGREQ, PINGRESP: no body (length checked) */
	}
}

int ferry__decode(const struct ferry_codec_cfg *cfg, const uint8_t *frame, size_t len,
                  struct ferry_packet *out)
{
	struct dec d;
	int type = 0;
	if (!cfg || !frame || !out)
		return FERRY_ERR_INVAL;
	if (cfg->version < 3 || cfg->version > 5 || cfg->peer > FERRY_PEER_CLIENT)
		return FERRY_ERR_INVAL;
	memset(out, 0, sizeof *out);
	int rc = dec_fixed(cfg, frame, len, &d, &type);
	if (rc == FERRY_OK)
		rc = dec_check_type(&d, type);
	if (rc == FERRY_OK)
		rc = dec_check_length(&d, type);
	if (rc)
		return rc;
	out->type = (uint8_t)type;
	return dec_body(&d, type, out);
}

/* ---- iterators and names -------------------------------------------------------------- */

static void iter_init(struct ferry_entry_iter *it, struct ferry_bytes raw)
{
	if (raw.p) {
		ferry__cur_init(&it->c, raw.p, raw.len);
	} else {
		it->c.p = NULL; /* not decoded: nothing to iterate */
		it->c.end = NULL;
	}
}

void ferry__sub_iter_init(struct ferry_entry_iter *it, const struct ferry_subscribe *s)
{
	iter_init(it, s->raw);
}

bool ferry__sub_iter_next(struct ferry_entry_iter *it, struct ferry_sub_entry *out)
{
	if (!it->c.p || ferry__cur_left(&it->c) == 0)
		return false;
	if (ferry__cur_binary(&it->c, &out->filter) || ferry__cur_u8(&it->c, &out->options)) {
		it->c.p = it->c.end; /* never for a decoded packet: it was validated */
		return false;
	}
	return true;
}

void ferry__unsub_iter_init(struct ferry_entry_iter *it, const struct ferry_unsubscribe *u)
{
	iter_init(it, u->raw);
}

bool ferry__unsub_iter_next(struct ferry_entry_iter *it, struct ferry_bytes *out)
{
	if (!it->c.p || ferry__cur_left(&it->c) == 0)
		return false;
	if (ferry__cur_binary(&it->c, out)) {
		it->c.p = it->c.end;
		return false;
	}
	return true;
}

const char *ferry__ptype_name(int type)
{
	static const char *const names[] = {
	    "reserved", "CONNECT",  "CONNACK",    "PUBLISH", "PUBACK",      "PUBREC",
	    "PUBREL",   "PUBCOMP",  "SUBSCRIBE",  "SUBACK",  "UNSUBSCRIBE", "UNSUBACK",
	    "PINGREQ",  "PINGRESP", "DISCONNECT", "AUTH",
	};
	if (type < 0 || type > 15)
		return "unknown";
	return names[type];
}

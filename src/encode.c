/*
 * encode.c - ferry__encode_size and ferry__encode: a struct ferry_packet into
 * MQTT 3.1, 3.1.1 or 5.0 bytes, in the caller's buffer.
 *
 * One function per packet type describes the packet's fields in wire order;
 * it runs twice through `struct enc`: first sizing (nothing written, every
 * field validated and counted), then writing into a buffer known to be big
 * enough. The size and the bytes therefore cannot disagree, and the rules are
 * those of the decoder (codec_rules.h), so ferry never sends a packet it
 * would itself refuse.
 *
 * Choices:
 *  - MQTT 5 acknowledgements take their short forms (3.4.2.1, 3.14.2.1,
 *    3.15.2.1): PUBACK/PUBREC/PUBREL/PUBCOMP with reason 0 and no properties
 *    are 2 bytes, with a reason and no properties 3; DISCONNECT and AUTH with
 *    reason 0 and no properties are empty, a DISCONNECT with a reason only is
 *    1 byte. A CONNACK always has its property length.
 *  - Before 5.0, properties and ack reason codes are not encoded (ignored);
 *    3.1 has no session-present flag, so CONNACK's first byte is 0.
 *  - CONNECT: the `version` argument picks "MQIsdp" 3, "MQTT" 4 or "MQTT" 5;
 *    connect.version is ignored. A 3.1.1 empty client id needs clean session
 *    (3.1.3-7), else FERRY_ERR_CLIENT_ID. Will QoS above 2 is
 *    FERRY_ERR_CONNECT_FLAGS, as the decoder reports it.
 *  - A view with a length and a NULL pointer is FERRY_ERR_INVAL, as is a
 *    non-zero count with a NULL array.
 */
#include "codec.h"

#include "codec_rules.h"
#include "topic.h"
#include "utf8.h"

struct enc {
	uint8_t version;
	bool sizing;           /* true: count into n, write nothing */
	size_t n;              /* sizing: bytes of the body so far */
	struct ferry_writer w; /* writing: the caller's buffer */
};

/* Adds k to the body size; fails once no remaining length can describe it. */
static int add(struct enc *e, size_t k)
{
	if (k > FERRY_VARINT_MAX || e->n > FERRY_VARINT_MAX - k)
		return FERRY_ERR_PACKET_TOO_LARGE;
	e->n += k;
	return FERRY_OK;
}

static int put_u8(struct enc *e, uint8_t v)
{
	return e->sizing ? add(e, 1) : ferry__wr_u8(&e->w, v);
}

static int put_u16(struct enc *e, uint16_t v)
{
	return e->sizing ? add(e, 2) : ferry__wr_u16(&e->w, v);
}

/* Raw bytes (PUBLISH payload, SUBACK codes). */
static int put_raw(struct enc *e, const void *p, size_t len)
{
	if (len && !p)
		return FERRY_ERR_INVAL;
	return e->sizing ? add(e, len) : ferry__wr_raw(&e->w, p, len);
}

/* A length-prefixed field: UTF-8 string (validated) or binary data. */
static int put_field(struct enc *e, struct ferry_bytes b, bool utf8)
{
	if (b.len > 65535u)
		return FERRY_ERR_STRING_TOO_LONG;
	if (b.len && !b.p)
		return FERRY_ERR_INVAL;
	if (utf8) {
		int rc = ferry__utf8_check(b.p, b.len);
		if (rc)
			return rc;
	}
	return e->sizing ? add(e, 2 + b.len) : ferry__wr_binary(&e->w, b);
}

/* A property block (MQTT 5 only; nothing before). */
static int put_props(struct enc *e, const struct ferry_props *props, int ctx)
{
	size_t k;
	if (e->version < 5)
		return FERRY_OK;
	if (!e->sizing)
		return ferry__props_encode(props, ctx, &e->w);
	int rc = ferry__props_size(props, ctx, &k);
	return rc ? rc : add(e, k);
}

static bool props_empty(const struct ferry_props *props)
{
	return props->present == 0 && props->user_count == 0;
}

static int check_packet_id(uint16_t id)
{
	return id ? FERRY_OK : FERRY_ERR_PACKET_ID;
}

/* ---- CONNECT, CONNACK --------------------------------------------------------------- */

/* The CONNECT flags byte for the struct, checked as the decoder checks it. */
static int connect_flags(uint8_t version, const struct ferry_connect *c, uint8_t *flags)
{
	uint8_t f = 0;
	if (c->clean_start)
		f |= FERRY_CF_CLEAN;
	if (c->has_will) {
		if (c->will.qos > 2)
			return FERRY_ERR_CONNECT_FLAGS;
		f |= (uint8_t)(FERRY_CF_WILL | (unsigned)c->will.qos << FERRY_CF_WILL_QOS_SHIFT);
		if (c->will.retain)
			f |= FERRY_CF_WILL_RETAIN;
	}
	if (c->has_username)
		f |= FERRY_CF_USERNAME;
	if (c->has_password)
		f |= FERRY_CF_PASSWORD;
	*flags = f;
	return ferry__rule_connect_flags(version, f);
}

/* Will properties, topic and payload (3.1.3.2 .. 3.1.3.4). */
static int enc_will(struct enc *e, const struct ferry_will *w)
{
	int rc = put_props(e, &w->props, FERRY_PCTX_WILL);
	if (rc == FERRY_OK)
		rc = put_field(e, w->topic, true);
	if (rc == FERRY_OK)
		rc = ferry__topic_name_check(w->topic.p, w->topic.len);
	if (rc == FERRY_OK)
		rc = put_field(e, w->payload, false);
	return rc;
}

static int enc_connect(struct enc *e, const struct ferry_connect *c)
{
	uint8_t flags;
	struct ferry_bytes name = ferry__bytes_str(e->version == 3 ? "MQIsdp" : "MQTT");
	int rc = connect_flags(e->version, c, &flags);
	if (rc)
		return rc;
	rc = ferry__rule_client_id(e->version, c->client_id);
	if (rc == FERRY_OK && e->version == 5)
		rc = ferry__rule_connect_props(&c->props);
	if (rc == FERRY_OK && e->version == 4 && c->client_id.len == 0 && !c->clean_start)
		rc = FERRY_ERR_CLIENT_ID;
	if (rc == FERRY_OK)
		rc = put_field(e, name, false);
	if (rc == FERRY_OK)
		rc = put_u8(e, e->version);
	if (rc == FERRY_OK)
		rc = put_u8(e, flags);
	if (rc == FERRY_OK)
		rc = put_u16(e, c->keepalive);
	if (rc == FERRY_OK)
		rc = put_props(e, &c->props, FERRY_CONNECT);
	if (rc == FERRY_OK)
		rc = put_field(e, c->client_id, true);
	if (rc == FERRY_OK && c->has_will)
		rc = enc_will(e, &c->will);
	if (rc == FERRY_OK && c->has_username)
		rc = put_field(e, c->username, true);
	if (rc == FERRY_OK && c->has_password)
		rc = put_field(e, c->password, false);
	return rc;
}

static int enc_connack(struct enc *e, const struct ferry_connack *ca)
{
	bool sp = e->version >= 4 && ca->session_present;
	int rc = ferry__rule_reason(e->version, FERRY_CONNACK, ca->reason);
	if (rc == FERRY_OK)
		rc = ferry__rule_connack(e->version, sp, ca->reason);
	if (rc == FERRY_OK)
		rc = put_u8(e, sp ? 0x01u : 0x00u);
	if (rc == FERRY_OK)
		rc = put_u8(e, ca->reason);
	if (rc == FERRY_OK)
		rc = put_props(e, &ca->props, FERRY_CONNACK);
	return rc;
}

/* ---- PUBLISH ---------------------------------------------------------------------------- */

static int enc_publish(struct enc *e, const struct ferry_publish *pub)
{
	int rc = ferry__rule_publish_qos(pub->qos, pub->dup);
	if (rc == FERRY_OK && pub->qos > 0)
		rc = check_packet_id(pub->packet_id);
	if (rc == FERRY_OK)
		rc = put_field(e, pub->topic, true);
	if (rc == FERRY_OK)
		rc = ferry__rule_publish_topic(e->version, pub->topic, &pub->props);
	if (rc == FERRY_OK && pub->qos > 0)
		rc = put_u16(e, pub->packet_id);
	if (rc == FERRY_OK)
		rc = put_props(e, &pub->props, FERRY_PUBLISH);
	if (rc == FERRY_OK)
		rc = put_raw(e, pub->payload.p, pub->payload.len);
	return rc;
}

/* ---- acknowledgements --------------------------------------------------------------- */

/* PUBACK, PUBREC, PUBREL, PUBCOMP: the shortest form that says it all. */
static int enc_ack(struct enc *e, int type, const struct ferry_ack *ack)
{
	int rc = check_packet_id(ack->packet_id);
	if (rc == FERRY_OK)
		rc = put_u16(e, ack->packet_id);
	if (rc || e->version < 5)
		return rc;
	rc = ferry__rule_reason(e->version, type, ack->reason);
	bool empty = props_empty(&ack->props);
	if (rc == FERRY_OK && (ack->reason != 0 || !empty))
		rc = put_u8(e, ack->reason);
	if (rc == FERRY_OK && !empty)
		rc = put_props(e, &ack->props, type);
	return rc;
}

/* SUBACK and UNSUBACK (3.x UNSUBACK: the packet id only). */
static int enc_suback(struct enc *e, int type, const struct ferry_suback *sa)
{
	int rc = check_packet_id(sa->packet_id);
	if (rc == FERRY_OK)
		rc = put_u16(e, sa->packet_id);
	if (rc == FERRY_OK)
		rc = put_props(e, &sa->props, type);
	if (rc || (type == FERRY_UNSUBACK && e->version < 5))
		return rc;
	if (sa->count == 0)
		return FERRY_ERR_EMPTY_PAYLOAD;
	if (!sa->reasons)
		return FERRY_ERR_INVAL;
	for (size_t i = 0; i < sa->count; i++) {
		rc = ferry__rule_reason(e->version, type, sa->reasons[i]);
		if (rc)
			return rc;
	}
	return put_raw(e, sa->reasons, sa->count);
}

/* DISCONNECT and AUTH (MQTT 5); a 3.x DISCONNECT has no body. */
static int enc_disconnect(struct enc *e, int type, const struct ferry_disconnect *dc)
{
	if (e->version < 5)
		return FERRY_OK;
	int rc = ferry__rule_reason(e->version, type, dc->reason);
	bool empty = props_empty(&dc->props);
	if (rc || (dc->reason == 0 && empty))
		return rc;
	rc = put_u8(e, dc->reason);
	/* AUTH has no one-byte form: a reason comes with its property length. */
	if (rc == FERRY_OK && (!empty || type == FERRY_AUTH))
		rc = put_props(e, &dc->props, type);
	return rc;
}

/* ---- SUBSCRIBE, UNSUBSCRIBE ----------------------------------------------------------- */

static int enc_subscribe(struct enc *e, const struct ferry_subscribe *s)
{
	int rc = check_packet_id(s->packet_id);
	if (rc == FERRY_OK)
		rc = put_u16(e, s->packet_id);
	if (rc == FERRY_OK)
		rc = put_props(e, &s->props, FERRY_SUBSCRIBE);
	if (rc)
		return rc;
	if (s->count == 0)
		return FERRY_ERR_EMPTY_PAYLOAD;
	if (!s->entries)
		return FERRY_ERR_INVAL;
	for (size_t i = 0; i < s->count && rc == FERRY_OK; i++) {
		const struct ferry_sub_entry *en = &s->entries[i];
		rc = put_field(e, en->filter, true);
		if (rc == FERRY_OK)
			rc = ferry__rule_sub_entry(e->version, en->filter, en->options);
		if (rc == FERRY_OK)
			rc = put_u8(e, en->options);
	}
	return rc;
}

static int enc_unsubscribe(struct enc *e, const struct ferry_unsubscribe *u)
{
	int rc = check_packet_id(u->packet_id);
	if (rc == FERRY_OK)
		rc = put_u16(e, u->packet_id);
	if (rc == FERRY_OK)
		rc = put_props(e, &u->props, FERRY_UNSUBSCRIBE);
	if (rc)
		return rc;
	if (u->count == 0)
		return FERRY_ERR_EMPTY_PAYLOAD;
	if (!u->filters)
		return FERRY_ERR_INVAL;
	for (size_t i = 0; i < u->count && rc == FERRY_OK; i++) {
		rc = put_field(e, u->filters[i], true);
		if (rc == FERRY_OK)
			rc = ferry__rule_unsub_filter(e->version, u->filters[i]);
	}
	return rc;
}

/* ---- entry points ------------------------------------------------------------------------ */

/* The body (variable header and payload) of any packet. */
static int enc_body(struct enc *e, const struct ferry_packet *p)
{
	switch (p->type) {
	case FERRY_CONNECT:
		return enc_connect(e, &p->u.connect);
	case FERRY_CONNACK:
		return enc_connack(e, &p->u.connack);
	case FERRY_PUBLISH:
		return enc_publish(e, &p->u.publish);
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBREL:
	case FERRY_PUBCOMP:
		return enc_ack(e, p->type, &p->u.ack);
	case FERRY_SUBSCRIBE:
		return enc_subscribe(e, &p->u.subscribe);
	case FERRY_UNSUBSCRIBE:
		return enc_unsubscribe(e, &p->u.unsubscribe);
	case FERRY_SUBACK:
	case FERRY_UNSUBACK:
		return enc_suback(e, p->type, &p->u.suback);
	case FERRY_DISCONNECT:
	case FERRY_AUTH:
		return enc_disconnect(e, p->type, &p->u.disconnect);
	default:
		return FERRY_OK; /* PINGREQ, PINGRESP */
	}
}

/* The first byte: type and flags (PUBLISH: DUP, QoS, RETAIN). */
static uint8_t first_byte(const struct ferry_packet *p)
{
	uint8_t flags = ferry__rule_fixed_flags(p->type);
	if (p->type == FERRY_PUBLISH) {
		const struct ferry_publish *pub = &p->u.publish;
		flags = (uint8_t)((pub->dup ? FERRY_PF_DUP : 0u) |
		                  (unsigned)pub->qos << FERRY_PF_QOS_SHIFT |
		                  (pub->retain ? FERRY_PF_RETAIN : 0u));
	}
	return (uint8_t)(p->type << 4 | flags);
}

/* Validates the packet and measures its body (the remaining length). */
static int measure(uint8_t version, const struct ferry_packet *p, size_t *rl)
{
	if (!p || version < 3 || version > 5)
		return FERRY_ERR_INVAL;
	int rc = ferry__rule_type(version, p->type);
	if (rc)
		return rc;
	struct enc e = {.version = version, .sizing = true};
	rc = enc_body(&e, p);
	*rl = e.n;
	return rc;
}

int ferry__encode_size(uint8_t version, const struct ferry_packet *p, size_t *size)
{
	size_t rl = 0;
	if (!size)
		return FERRY_ERR_INVAL;
	int rc = measure(version, p, &rl);
	if (rc)
		return rc;
	*size = 1 + ferry__varint_size((uint32_t)rl) + rl;
	return FERRY_OK;
}

int ferry__encode(uint8_t version, const struct ferry_packet *p, uint8_t *buf, size_t cap,
                  size_t *len)
{
	size_t rl = 0;
	if (!len || (!buf && cap))
		return FERRY_ERR_INVAL;
	*len = 0;
	int rc = measure(version, p, &rl);
	if (rc)
		return rc;
	size_t size = 1 + ferry__varint_size((uint32_t)rl) + rl;
	if (cap < size || !buf)
		return FERRY_ERR_BUFFER_SIZE;
	struct enc e = {.version = version, .sizing = false};
	ferry__wr_init(&e.w, buf, size);
	rc = ferry__wr_u8(&e.w, first_byte(p));
	if (rc == FERRY_OK)
		rc = ferry__wr_varint(&e.w, (uint32_t)rl);
	if (rc == FERRY_OK)
		rc = enc_body(&e, p);
	if (rc == FERRY_OK && e.w.p != buf + size)
		rc = FERRY_ERR_INVAL; /* cannot happen: both passes describe the same fields */
	if (rc == FERRY_OK)
		*len = size;
	return rc;
}

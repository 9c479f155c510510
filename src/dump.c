/*
 * dump.c - a readable one-line text form of a packet (see dump.h).
 *
 * Built on a small bounded appender: every write goes through out_fmt or
 * out_bytes, which never overrun and keep counting the length the full text
 * would have, so the result behaves like snprintf.
 */
#include "dump.h"

#include <stdarg.h>
#include <stdio.h>

#include "reason.h"

struct out {
	char *buf;
	size_t cap;
	size_t len; /* length of the full text so far (may exceed cap) */
};

static void out_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_fmt(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

/* Quoted text with non-printable bytes as \xNN, at most `max` bytes shown. */
static void out_bytes(struct out *o, struct ferry_bytes b, size_t max)
{
	out_fmt(o, "\"");
	for (size_t i = 0; i < b.len && i < max; i++) {
		uint8_t c = b.p[i];
		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
			out_fmt(o, "%c", c);
		else
			out_fmt(o, "\\x%02x", c);
	}
	out_fmt(o, b.len > max ? "\"..." : "\"");
}

static void out_props(struct out *o, const struct ferry_props *pr)
{
	if (!pr->present && !pr->user_count)
		return;
	out_fmt(o, " props={");
	const char *sep = "";
	for (uint32_t id = 1; id < 64; id++) {
		if (id == FERRY_PROP_USER || !(pr->present & FERRY_PROP_BIT(id)))
			continue;
		const char *name = ferry__prop_name(id);
		out_fmt(o, "%s%s", sep, name ? name : "?");
		sep = ", ";
	}
	if (pr->user_count)
		out_fmt(o, "%s%zu user properties", sep, pr->user_count);
	out_fmt(o, "}");
}

static void dump_connect(struct out *o, const struct ferry_connect *c)
{
	out_fmt(o, " v=%u clean=%d keepalive=%u client_id=", c->version, c->clean_start, c->keepalive);
	out_bytes(o, c->client_id, 64);
	if (c->has_will) {
		out_fmt(o, " will(qos=%u retain=%d topic=", c->will.qos, c->will.retain);
		out_bytes(o, c->will.topic, 64);
		out_fmt(o, " payload=%zu bytes)", c->will.payload.len);
	}
	if (c->has_username) {
		out_fmt(o, " username=");
		out_bytes(o, c->username, 64);
	}
	if (c->has_password)
		out_fmt(o, " password=(%zu bytes)", c->password.len);
	out_props(o, &c->props);
}

static void dump_publish(struct out *o, const struct ferry_publish *p)
{
	out_fmt(o, " qos=%u dup=%d retain=%d", p->qos, p->dup, p->retain);
	if (p->qos)
		out_fmt(o, " id=%u", p->packet_id);
	out_fmt(o, " topic=");
	out_bytes(o, p->topic, 128);
	out_fmt(o, " payload=%zu bytes ", p->payload.len);
	out_bytes(o, p->payload, 32);
	out_props(o, &p->props);
}

static void dump_reasons(struct out *o, uint8_t version, int type, const struct ferry_suback *s)
{
	out_fmt(o, " id=%u reasons=[", s->packet_id);
	for (size_t i = 0; i < s->count && i < 16; i++)
		out_fmt(o, "%s0x%02x %s", i ? ", " : "", s->reasons[i],
		        ferry__reason_name(version, type, s->reasons[i]));
	out_fmt(o, s->count > 16 ? ", ...]" : "]");
	out_props(o, &s->props);
}

static void dump_subscribe(struct out *o, const struct ferry_subscribe *s)
{
	out_fmt(o, " id=%u", s->packet_id);
	if (s->entries) {
		for (size_t i = 0; i < s->count && i < 16; i++) {
			out_fmt(o, " ");
			out_bytes(o, s->entries[i].filter, 128);
			out_fmt(o, "/qos%u", s->entries[i].options & FERRY_SUBOPT_QOS_MASK);
		}
	} else {
		struct ferry_entry_iter it;
		struct ferry_sub_entry e;
		ferry__sub_iter_init(&it, s);
		for (int i = 0; i < 16 && ferry__sub_iter_next(&it, &e); i++) {
			out_fmt(o, " ");
			out_bytes(o, e.filter, 128);
			out_fmt(o, "/qos%u", e.options & FERRY_SUBOPT_QOS_MASK);
		}
	}
	if (s->count > 16)
		out_fmt(o, " ...");
	out_props(o, &s->props);
}

static void dump_unsubscribe(struct out *o, const struct ferry_unsubscribe *u)
{
	out_fmt(o, " id=%u", u->packet_id);
	if (u->filters) {
		for (size_t i = 0; i < u->count && i < 16; i++) {
			out_fmt(o, " ");
			out_bytes(o, u->filters[i], 128);
		}
	} else {
		struct ferry_entry_iter it;
		struct ferry_bytes f;
		ferry__unsub_iter_init(&it, u);
		for (int i = 0; i < 16 && ferry__unsub_iter_next(&it, &f); i++) {
			out_fmt(o, " ");
			out_bytes(o, f, 128);
		}
	}
	if (u->count > 16)
		out_fmt(o, " ...");
	out_props(o, &u->props);
}

size_t ferry__packet_dump(uint8_t version, const struct ferry_packet *p, char *buf, size_t cap)
{
	struct out o = {buf, cap, 0};
	if (cap)
		buf[0] = 0;
	out_fmt(&o, "%s", ferry__ptype_name(p->type));
	switch (p->type) {
	case FERRY_CONNECT:
		dump_connect(&o, &p->u.connect);
		break;
	case FERRY_CONNACK:
		out_fmt(&o, " session_present=%d reason=0x%02x %s", p->u.connack.session_present,
		        p->u.connack.reason, ferry__reason_name(version, p->type, p->u.connack.reason));
		out_props(&o, &p->u.connack.props);
		break;
	case FERRY_PUBLISH:
		dump_publish(&o, &p->u.publish);
		break;
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBREL:
	case FERRY_PUBCOMP:
		out_fmt(&o, " id=%u", p->u.ack.packet_id);
		if (version == 5)
			out_fmt(&o, " reason=0x%02x %s", p->u.ack.reason,
			        ferry__reason_name(version, p->type, p->u.ack.reason));
		out_props(&o, &p->u.ack.props);
		break;
	case FERRY_SUBSCRIBE:
		dump_subscribe(&o, &p->u.subscribe);
		break;
	case FERRY_SUBACK:
	case FERRY_UNSUBACK:
		dump_reasons(&o, version, p->type, &p->u.suback);
		break;
	case FERRY_UNSUBSCRIBE:
		dump_unsubscribe(&o, &p->u.unsubscribe);
		break;
	case FERRY_DISCONNECT:
	case FERRY_AUTH:
		if (version == 5) {
			out_fmt(&o, " reason=0x%02x %s", p->u.disconnect.reason,
			        ferry__reason_name(version, p->type, p->u.disconnect.reason));
			out_props(&o, &p->u.disconnect.props);
		}
		break;
	default:
		break;
	}
	if (cap && o.len >= cap && cap > 4) {
		buf[cap - 4] = '.';
		buf[cap - 3] = '.';
		buf[cap - 2] = '.';
		buf[cap - 1] = 0;
	}
	return o.len;
}

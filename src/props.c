/*
 * props.c - MQTT 5 properties (MQTT 5.0 section 2.2.2, table 2-4).
 *
 * One static table, indexed by identifier, gives each property's wire type,
 * its name, where it may appear (a bit per packet type 1..15, bit 0 for the
 * will properties of CONNECT), and the range check of its value.
 *
 * Decoding is one linear pass over the block: each property is read, checked
 * (known, allowed in the context, not repeated, value in range), and either
 * stored in its field or, for the repeatable ones (User Property, and
 * Subscription Identifier in PUBLISH), counted; the iterators read those again
 * from `raw`. Duplicate detection is one test of the 64-bit `present` mask.
 * Nothing is allocated. Any read that would run past the end of the block is
 * FERRY_ERR_PROPERTY_LENGTH, as is a property length beyond the cursor.
 *
 * Encoding order (fixed; the byte-exact test vectors rely on it): every
 * property in ascending identifier order. The single-valued ones are written
 * when their bit is set in `present`; the Subscription Identifier (0x0B, at
 * most one when encoding) when its bit is set; the caller's `user` array, all
 * entries in array order, at the User Property position (0x26, after Retain
 * Available 0x25 and before Maximum Packet Size 0x27) whether or not bit 0x26
 * is set. ferry__props_size validates exactly as ferry__props_encode does;
 * encode validates again (through size) before it writes anything.
 */
#include "props.h"

#include <stddef.h>
#include <string.h>

#include "utf8.h"

/* Wire types of property values. */
enum {
	PT_NONE = 0, /* no such property */
	PT_BYTE,
	PT_U16,
	PT_U32,
	PT_VARINT,
	PT_UTF8,
	PT_BINARY,
	PT_PAIR,
};

/* Value checks. */
enum {
	CK_NONE = 0,
	CK_BOOL,    /* 0 or 1 */
	CK_NONZERO, /* not 0 */
	CK_SUBID,   /* 1..268,435,455 */
	CK_TOPIC,   /* a topic name: not empty, no wildcards */
};

/* Context bits: packet type n is bit n; the will properties are bit 0. */
#define C(t)           (1u << (t))
#define CX_WILL        C(FERRY_PCTX_WILL)
#define CX_CONNECT     C(1)
#define CX_CONNACK     C(2)
#define CX_PUBLISH     C(3)
#define CX_PUBACK      C(4)
#define CX_PUBREC      C(5)
#define CX_PUBREL      C(6)
#define CX_PUBCOMP     C(7)
#define CX_SUBSCRIBE   C(8)
#define CX_SUBACK      C(9)
#define CX_UNSUBSCRIBE C(10)
#define CX_UNSUBACK    C(11)
#define CX_DISCONNECT  C(14)
#define CX_AUTH        C(15)
#define CX_ACKS        (CX_PUBACK | CX_PUBREC | CX_PUBREL | CX_PUBCOMP)
#define CX_ALL                                                                                     \
	(CX_WILL | CX_CONNECT | CX_CONNACK | CX_PUBLISH | CX_ACKS | CX_SUBSCRIBE | CX_SUBACK |     \
	 CX_UNSUBSCRIBE | CX_UNSUBACK | CX_DISCONNECT | CX_AUTH)

#define PROP_ID_MAX 0x2Au

struct prop_info {
	const char *name;
	uint16_t ctx;  /* allowed contexts */
	uint8_t type;  /* PT_* */
	uint8_t check; /* CK_* */
	size_t off;    /* offset of the field in struct ferry_props (single-valued) */
};

#define P(id, nm, ty, ck, cx, field)                                                               \
	[id] = {nm, (uint16_t)(cx), ty, ck, offsetof(struct ferry_props, field)}

static const struct prop_info prop_table[PROP_ID_MAX + 1] = {
    P(0x01, "Payload Format Indicator", PT_BYTE, CK_BOOL, CX_PUBLISH | CX_WILL, payload_format),
    P(0x02, "Message Expiry Interval", PT_U32, CK_NONE, CX_PUBLISH | CX_WILL, message_expiry),
    P(0x03, "Content Type", PT_UTF8, CK_NONE, CX_PUBLISH | CX_WILL, content_type),
    P(0x08, "Response Topic", PT_UTF8, CK_TOPIC, CX_PUBLISH | CX_WILL, response_topic),
    P(0x09, "Correlation Data", PT_BINARY, CK_NONE, CX_PUBLISH | CX_WILL, correlation_data),
    P(0x0B, "Subscription Identifier", PT_VARINT, CK_SUBID, CX_PUBLISH | CX_SUBSCRIBE, sub_id),
    P(0x11, "Session Expiry Interval", PT_U32, CK_NONE, CX_CONNECT | CX_CONNACK | CX_DISCONNECT,
      session_expiry),
    P(0x12, "Assigned Client Identifier", PT_UTF8, CK_NONE, CX_CONNACK, assigned_client_id),
    P(0x13, "Server Keep Alive", PT_U16, CK_NONE, CX_CONNACK, server_keepalive),
    P(0x15, "Authentication Method", PT_UTF8, CK_NONE, CX_CONNECT | CX_CONNACK | CX_AUTH,
      auth_method),
    P(0x16, "Authentication Data", PT_BINARY, CK_NONE, CX_CONNECT | CX_CONNACK | CX_AUTH,
      auth_data),
    P(0x17, "Request Problem Information", PT_BYTE, CK_BOOL, CX_CONNECT, request_problem_info),
    P(0x18, "Will Delay Interval", PT_U32, CK_NONE, CX_WILL, will_delay),
    P(0x19, "Request Response Information", PT_BYTE, CK_BOOL, CX_CONNECT, request_response_info),
    P(0x1A, "Response Information", PT_UTF8, CK_NONE, CX_CONNACK, response_info),
    P(0x1C, "Server Reference", PT_UTF8, CK_NONE, CX_CONNACK | CX_DISCONNECT, server_reference),
    P(0x1F, "Reason String", PT_UTF8, CK_NONE,
      CX_CONNACK | CX_ACKS | CX_SUBACK | CX_UNSUBACK | CX_DISCONNECT | CX_AUTH, reason_string),
    P(0x21, "Receive Maximum", PT_U16, CK_NONZERO, CX_CONNECT | CX_CONNACK, receive_maximum),
    P(0x22, "Topic Alias Maximum", PT_U16, CK_NONE, CX_CONNECT | CX_CONNACK, topic_alias_maximum),
    P(0x23, "Topic Alias", PT_U16, CK_NONZERO, CX_PUBLISH, topic_alias),
    P(0x24, "Maximum QoS", PT_BYTE, CK_BOOL, CX_CONNACK, maximum_qos),
    P(0x25, "Retain Available", PT_BYTE, CK_BOOL, CX_CONNACK, retain_available),
    P(0x26, "User Property", PT_PAIR, CK_NONE, CX_ALL, user),
    P(0x27, "Maximum Packet Size", PT_U32, CK_NONZERO, CX_CONNECT | CX_CONNACK,
      maximum_packet_size),
    P(0x28, "Wildcard Subscription Available", PT_BYTE, CK_BOOL, CX_CONNACK,
      wildcard_sub_available),
    P(0x29, "Subscription Identifier Available", PT_BYTE, CK_BOOL, CX_CONNACK, sub_id_available),
    P(0x2A, "Shared Subscription Available", PT_BYTE, CK_BOOL, CX_CONNACK, shared_sub_available),
};

/* The table entry of a known property, or NULL. */
static const struct prop_info *prop_lookup(uint32_t id)
{
	if (id > PROP_ID_MAX || prop_table[id].type == PT_NONE)
		return NULL;
	return &prop_table[id];
}

static uint16_t ctx_bit(int ctx)
{
	if (ctx < 0 || ctx > 15)
		return 0;
	return (uint16_t)(1u << ctx);
}

/* May property `id` appear more than once in context `ctx`? */
static bool prop_repeatable(uint32_t id, int ctx)
{
	return id == FERRY_PROP_USER || (id == FERRY_PROP_SUBSCRIPTION_ID && ctx == 3);
}

/* A Response Topic is a topic name: at least one byte, no '+' or '#' (UTF-8 checked before). */
static int topic_name_ok(struct ferry_bytes b)
{
	if (b.len == 0)
		return FERRY_ERR_TOPIC_NAME;
	for (size_t i = 0; i < b.len; i++)
		if (b.p[i] == '+' || b.p[i] == '#')
			return FERRY_ERR_TOPIC_NAME;
	return FERRY_OK;
}

/* Checks an integer value against the property's range. */
static int check_int(const struct prop_info *pi, uint32_t v)
{
	switch (pi->check) {
	case CK_BOOL:
		return v > 1 ? FERRY_ERR_PROPERTY_VALUE : FERRY_OK;
	case CK_NONZERO:
		return v == 0 ? FERRY_ERR_PROPERTY_VALUE : FERRY_OK;
	case CK_SUBID:
		return (v == 0 || v > FERRY_VARINT_MAX) ? FERRY_ERR_PROPERTY_VALUE : FERRY_OK;
	default:
		return FERRY_OK;
	}
}

/* Truncation inside a property block is a property length error. */
static int len_err(int rc)
{
	return rc == FERRY_ERR_TRUNCATED ? FERRY_ERR_PROPERTY_LENGTH : rc;
}

/* Reads an integer value of type byte / two-byte / four-byte / varint. */
static int read_int(struct ferry_cursor *b, uint8_t type, uint32_t *v)
{
	int rc;
	uint8_t v8 = 0;
	uint16_t v16 = 0;
	switch (type) {
	case PT_BYTE:
		rc = ferry__cur_u8(b, &v8);
		*v = v8;
		return rc;
	case PT_U16:
		rc = ferry__cur_u16(b, &v16);
		*v = v16;
		return rc;
	case PT_U32:
		return ferry__cur_u32(b, v);
	default:
		return ferry__cur_varint(b, true, v);
	}
}

/* Stores an integer value into the field of its width. */
static void store_int(struct ferry_props *out, const struct prop_info *pi, uint32_t v)
{
	char *f = (char *)out + pi->off;
	if (pi->type == PT_BYTE)
		*(uint8_t *)(void *)f = (uint8_t)v;
	else if (pi->type == PT_U16)
		*(uint16_t *)(void *)f = (uint16_t)v;
	else
		*(uint32_t *)(void *)f = v;
}

/* Reads and stores the value of one property whose identifier was just read. */
static int decode_value(struct ferry_cursor *b, uint32_t id, const struct prop_info *pi,
                        struct ferry_props *out)
{
	int rc;
	uint32_t v;
	struct ferry_bytes s;
	struct ferry_user_prop up;

	switch (pi->type) {
	case PT_UTF8:
		rc = ferry__cur_utf8(b, &s);
		if (rc == FERRY_OK && pi->check == CK_TOPIC)
			rc = topic_name_ok(s);
		if (rc == FERRY_OK)
			*(struct ferry_bytes *)(void *)((char *)out + pi->off) = s;
		return len_err(rc);
	case PT_BINARY:
		rc = ferry__cur_binary(b, &s);
		if (rc == FERRY_OK)
			*(struct ferry_bytes *)(void *)((char *)out + pi->off) = s;
		return len_err(rc);
	case PT_PAIR:
		rc = ferry__cur_utf8(b, &up.name);
		if (rc == FERRY_OK)
			rc = ferry__cur_utf8(b, &up.value);
		if (rc == FERRY_OK)
			out->user_count++;
		return len_err(rc);
	default:
		break;
	}
	rc = read_int(b, pi->type, &v);
	if (rc)
		return len_err(rc);
	rc = check_int(pi, v);
	if (rc)
		return rc;
	if (id == FERRY_PROP_SUBSCRIPTION_ID && out->sub_id_count++ > 0)
		return FERRY_OK; /* keep the first */
	store_int(out, pi, v);
	return FERRY_OK;
}

/* Reads one property (identifier and value) from the block. */
static int decode_one(struct ferry_cursor *b, int ctx, struct ferry_props *out)
{
	uint32_t id;
	int rc = ferry__cur_varint(b, true, &id);
	if (rc)
		return len_err(rc);
	const struct prop_info *pi = prop_lookup(id);
	if (!pi)
		return FERRY_ERR_PROPERTY_UNKNOWN;
	if (!(pi->ctx & ctx_bit(ctx)))
		return FERRY_ERR_PROPERTY_NOT_ALLOWED;
	uint64_t bit = FERRY_PROP_BIT(id);
	if ((out->present & bit) && !prop_repeatable(id, ctx))
		return FERRY_ERR_PROPERTY_DUPLICATE;
	rc = decode_value(b, id, pi, out);
	if (rc)
		return rc;
	out->present |= bit;
	return FERRY_OK;
}

int ferry__props_decode(struct ferry_cursor *c, int ctx, struct ferry_props *out)
{
	struct ferry_cursor save = *c;
	struct ferry_cursor b;
	uint32_t len;
	int rc;

	memset(out, 0, sizeof *out);
	rc = ferry__cur_varint(c, true, &len);
	if (rc == FERRY_OK && len > ferry__cur_left(c))
		rc = FERRY_ERR_PROPERTY_LENGTH;
	if (rc == FERRY_OK)
		rc = ferry__cur_take(c, len, &out->raw);
	if (rc)
		goto out;
	ferry__cur_init(&b, out->raw.p, out->raw.len);
	while (ferry__cur_left(&b) > 0) {
		rc = decode_one(&b, ctx, out);
		if (rc)
			goto out;
	}
out:
	if (rc) {
		*c = save;
		return len_err(rc);
	}
	return FERRY_OK;
}

/* ---- size and encode ---------------------------------------------------- */

/* Size of a UTF-8 / binary field (2-byte length + data), validating it. */
static int field_size(struct ferry_bytes s, bool utf8, size_t *n)
{
	if (s.len > 65535u)
		return FERRY_ERR_STRING_TOO_LONG;
	if (s.len && !s.p)
		return FERRY_ERR_INVAL;
	if (utf8) {
		int rc = ferry__utf8_check(s.p, s.len);
		if (rc)
			return rc;
	}
	*n = 2 + s.len;
	return FERRY_OK;
}

/* The string field of a single-valued UTF-8 or binary property. */
static struct ferry_bytes bytes_field(const struct ferry_props *p, const struct prop_info *pi)
{
	return *(const struct ferry_bytes *)(const void *)((const char *)p + pi->off);
}

/* The integer field of a single-valued integer property. */
static uint32_t int_field(const struct ferry_props *p, const struct prop_info *pi)
{
	const char *f = (const char *)p + pi->off;
	if (pi->type == PT_BYTE)
		return *(const uint8_t *)(const void *)f;
	if (pi->type == PT_U16)
		return *(const uint16_t *)(const void *)f;
	return *(const uint32_t *)(const void *)f;
}

/* Validates one single-valued property and gives its size (identifier included). */
static int single_size(const struct ferry_props *p, const struct prop_info *pi, size_t *n)
{
	int rc;
	size_t vn = 0;
	uint32_t v;
	struct ferry_bytes s;

	switch (pi->type) {
	case PT_UTF8:
	case PT_BINARY:
		s = bytes_field(p, pi);
		rc = field_size(s, pi->type == PT_UTF8, &vn);
		if (rc == FERRY_OK && pi->check == CK_TOPIC)
			rc = topic_name_ok(s);
		break;
	default:
		v = int_field(p, pi);
		rc = check_int(pi, v);
		if (pi->type == PT_VARINT)
			vn = rc ? 0 : ferry__varint_size(v);
		else
			vn = pi->type == PT_BYTE ? 1u : pi->type == PT_U16 ? 2u : 4u;
		break;
	}
	*n = 1 + vn; /* every identifier is below 0x80: one byte */
	return rc;
}

/* Adds n to *total, failing once the block cannot be described. */
static int add_size(size_t *total, size_t n)
{
	if (n > FERRY_VARINT_MAX || *total > FERRY_VARINT_MAX - n)
		return FERRY_ERR_PACKET_TOO_LARGE;
	*total += n;
	return FERRY_OK;
}

/* Validates and sizes the user properties. */
static int user_size(const struct ferry_props *p, size_t *total)
{
	size_t a, b;
	int rc;
	if (p->user_count && !p->user)
		return FERRY_ERR_INVAL;
	for (size_t i = 0; i < p->user_count; i++) {
		rc = field_size(p->user[i].name, true, &a);
		if (rc == FERRY_OK)
			rc = field_size(p->user[i].value, true, &b);
		if (rc == FERRY_OK)
			rc = add_size(total, 1 + a + b);
		if (rc)
			return rc;
	}
	return FERRY_OK;
}

/* Size of the block's content (property length excluded), validating everything. */
static int content_size(const struct ferry_props *p, int ctx, size_t *total)
{
	uint16_t cb = ctx_bit(ctx);
	size_t n;
	int rc;

	*total = 0;
	if (p->present >> (PROP_ID_MAX + 1))
		return FERRY_ERR_PROPERTY_UNKNOWN;
	for (uint32_t id = 0; id <= PROP_ID_MAX; id++) {
		const struct prop_info *pi = prop_lookup(id);
		bool set = (p->present & FERRY_PROP_BIT(id)) != 0;
		if (id == FERRY_PROP_USER)
			set = p->user_count > 0;
		if (!set)
			continue;
		if (!pi)
			return FERRY_ERR_PROPERTY_UNKNOWN;
		if (!(pi->ctx & cb))
			return FERRY_ERR_PROPERTY_NOT_ALLOWED;
		if (id == FERRY_PROP_USER) {
			rc = user_size(p, total);
		} else {
			rc = single_size(p, pi, &n);
			if (rc == FERRY_OK)
				rc = add_size(total, n);
		}
		if (rc)
			return rc;
	}
	return FERRY_OK;
}

int ferry__props_size(const struct ferry_props *props, int ctx, size_t *size)
{
	size_t total = 0;
	if (props) {
		int rc = content_size(props, ctx, &total);
		if (rc)
			return rc;
	}
	*size = ferry__varint_size((uint32_t)total) + total;
	return FERRY_OK;
}

/* Writes one single-valued property (already validated). */
static int write_single(struct ferry_writer *w, const struct ferry_props *p, uint32_t id,
                        const struct prop_info *pi)
{
	int rc = ferry__wr_u8(w, (uint8_t)id);
	if (rc)
		return rc;
	switch (pi->type) {
	case PT_UTF8:
	case PT_BINARY:
		return ferry__wr_binary(w, bytes_field(p, pi));
	case PT_BYTE:
		return ferry__wr_u8(w, (uint8_t)int_field(p, pi));
	case PT_U16:
		return ferry__wr_u16(w, (uint16_t)int_field(p, pi));
	case PT_U32:
		return ferry__wr_u32(w, int_field(p, pi));
	default:
		return ferry__wr_varint(w, int_field(p, pi));
	}
}

/* Writes every user property in array order (already validated). */
static int write_users(struct ferry_writer *w, const struct ferry_props *p)
{
	int rc = FERRY_OK;
	for (size_t i = 0; i < p->user_count && rc == FERRY_OK; i++) {
		rc = ferry__wr_u8(w, FERRY_PROP_USER);
		if (rc == FERRY_OK)
			rc = ferry__wr_binary(w, p->user[i].name);
		if (rc == FERRY_OK)
			rc = ferry__wr_binary(w, p->user[i].value);
	}
	return rc;
}

int ferry__props_encode(const struct ferry_props *props, int ctx, struct ferry_writer *w)
{
	size_t total = 0;
	int rc;

	if (props) {
		rc = content_size(props, ctx, &total);
		if (rc)
			return rc;
	}
	if ((size_t)(w->end - w->p) < ferry__varint_size((uint32_t)total) + total)
		return FERRY_ERR_BUFFER_SIZE;
	rc = ferry__wr_varint(w, (uint32_t)total);
	if (rc || !props)
		return rc;
	for (uint32_t id = 1; id <= PROP_ID_MAX && rc == FERRY_OK; id++) {
		const struct prop_info *pi = prop_lookup(id);
		if (id == FERRY_PROP_USER)
			rc = write_users(w, props);
		else if (pi && (props->present & FERRY_PROP_BIT(id)))
			rc = write_single(w, props, id, pi);
	}
	return rc;
}

/* ---- iteration ---------------------------------------------------------- */

void ferry__props_iter_init(struct ferry_prop_iter *it, const struct ferry_props *props)
{
	if (props->raw.p) {
		ferry__cur_init(&it->c, props->raw.p, props->raw.len);
	} else {
		it->c.p = NULL; /* never decoded: nothing to iterate */
		it->c.end = NULL;
	}
}

/* Skips the value of a property of type `type`. */
static int skip_value(struct ferry_cursor *c, uint8_t type)
{
	struct ferry_bytes s;
	uint32_t v;
	switch (type) {
	case PT_UTF8:
	case PT_BINARY:
		return ferry__cur_binary(c, &s);
	case PT_PAIR: {
		int rc = ferry__cur_binary(c, &s);
		return rc ? rc : ferry__cur_binary(c, &s);
	}
	default:
		return read_int(c, type, &v);
	}
}

/*
 * Advances to the next property `want` and leaves the cursor at its value.
 * Stops (cursor at the end) on anything malformed, which a decoded block
 * never holds.
 */
static bool iter_seek(struct ferry_prop_iter *it, uint32_t want, uint8_t *type)
{
	while (ferry__cur_left(&it->c) > 0) {
		uint32_t id;
		const struct prop_info *pi = NULL;
		if (ferry__cur_varint(&it->c, true, &id) == FERRY_OK)
			pi = prop_lookup(id);
		if (!pi)
			break;
		if (id == want) {
			*type = pi->type;
			return true;
		}
		if (skip_value(&it->c, pi->type))
			break;
	}
	it->c.p = it->c.end;
	return false;
}

bool ferry__props_next_user(struct ferry_prop_iter *it, struct ferry_user_prop *out)
{
	uint8_t type;
	if (!iter_seek(it, FERRY_PROP_USER, &type))
		return false;
	if (ferry__cur_binary(&it->c, &out->name) || ferry__cur_binary(&it->c, &out->value)) {
		it->c.p = it->c.end;
		return false;
	}
	return true;
}

bool ferry__props_next_sub_id(struct ferry_prop_iter *it, uint32_t *out)
{
	uint8_t type;
	if (!iter_seek(it, FERRY_PROP_SUBSCRIPTION_ID, &type))
		return false;
	if (ferry__cur_varint(&it->c, true, out)) {
		it->c.p = it->c.end;
		return false;
	}
	return true;
}

const char *ferry__prop_name(uint32_t id)
{
	const struct prop_info *pi = prop_lookup(id);
	return pi ? pi->name : NULL;
}

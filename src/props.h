/*
 * props.h - MQTT 5 properties (MQTT 5.0 section 2.2.2): decode, size, encode.
 *
 * Pure: no I/O, no allocation, no clock.
 *
 * One struct ferry_props serves both directions:
 *  - decoding fills the single-valued fields, sets bit (1 << id) in `present`
 *    for each property seen, counts user properties and subscription
 *    identifiers, and keeps `raw`, a view of the whole property block, from
 *    which user properties and subscription identifiers are read again with
 *    the iterators below (so decoding never allocates). Every view points into
 *    the decoded frame.
 *  - encoding writes the properties in ascending identifier order: each
 *    single-valued property whose bit is set in `present` (Subscription
 *    Identifier `sub_id` at 0x0B), and every entry of the caller's `user` array,
 *    in array order, at 0x26. `raw` is ignored when encoding, so a decoded
 *    struct must be given a `user` array before it is encoded again.
 *
 * A property block is validated as it is decoded: known identifier, allowed in
 * that packet (the context), not repeated unless the specification allows it
 * (User Property always; Subscription Identifier in PUBLISH), value in range
 * (bytes that are 0/1 flags, Maximum QoS 0/1, Receive Maximum and Maximum
 * Packet Size not 0, Topic Alias not 0, Subscription Identifier 1..268435455),
 * strings valid UTF-8. Decoding is one linear pass: ten thousand user
 * properties cost ten thousand steps.
 */
#ifndef FERRY_PROPS_H
#define FERRY_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cursor.h"

/* Property identifiers (MQTT 5.0 table 2-4). */
enum ferry_prop_id {
	FERRY_PROP_PAYLOAD_FORMAT = 0x01,
	FERRY_PROP_MESSAGE_EXPIRY = 0x02,
	FERRY_PROP_CONTENT_TYPE = 0x03,
	FERRY_PROP_RESPONSE_TOPIC = 0x08,
	FERRY_PROP_CORRELATION_DATA = 0x09,
	FERRY_PROP_SUBSCRIPTION_ID = 0x0B,
	FERRY_PROP_SESSION_EXPIRY = 0x11,
	FERRY_PROP_ASSIGNED_CLIENT_ID = 0x12,
	FERRY_PROP_SERVER_KEEPALIVE = 0x13,
	FERRY_PROP_AUTH_METHOD = 0x15,
	FERRY_PROP_AUTH_DATA = 0x16,
	FERRY_PROP_REQUEST_PROBLEM_INFO = 0x17,
	FERRY_PROP_WILL_DELAY = 0x18,
	FERRY_PROP_REQUEST_RESPONSE_INFO = 0x19,
	FERRY_PROP_RESPONSE_INFO = 0x1A,
	FERRY_PROP_SERVER_REFERENCE = 0x1C,
	FERRY_PROP_REASON_STRING = 0x1F,
	FERRY_PROP_RECEIVE_MAXIMUM = 0x21,
	FERRY_PROP_TOPIC_ALIAS_MAXIMUM = 0x22,
	FERRY_PROP_TOPIC_ALIAS = 0x23,
	FERRY_PROP_MAXIMUM_QOS = 0x24,
	FERRY_PROP_RETAIN_AVAILABLE = 0x25,
	FERRY_PROP_USER = 0x26,
	FERRY_PROP_MAXIMUM_PACKET_SIZE = 0x27,
	FERRY_PROP_WILDCARD_SUB_AVAILABLE = 0x28,
	FERRY_PROP_SUB_ID_AVAILABLE = 0x29,
	FERRY_PROP_SHARED_SUB_AVAILABLE = 0x2A,
};

/* Bit for property `id` in ferry_props.present. */
#define FERRY_PROP_BIT(id) (UINT64_C(1) << (id))

/*
 * Where a property block stands: the control packet type (1..15, see
 * enum ferry_ptype in codec.h) or FERRY_PCTX_WILL for CONNECT's will properties.
 */
#define FERRY_PCTX_WILL 0

struct ferry_user_prop {
	struct ferry_bytes name;
	struct ferry_bytes value;
};

struct ferry_props {
	uint64_t present; /* FERRY_PROP_BIT(id) for each property present */

	uint8_t payload_format;         /* 0x01: 0 bytes, 1 UTF-8 */
	uint8_t request_problem_info;   /* 0x17: 0/1 */
	uint8_t request_response_info;  /* 0x19: 0/1 */
	uint8_t maximum_qos;            /* 0x24: 0/1 */
	uint8_t retain_available;       /* 0x25: 0/1 */
	uint8_t wildcard_sub_available; /* 0x28: 0/1 */
	uint8_t sub_id_available;       /* 0x29: 0/1 */
	uint8_t shared_sub_available;   /* 0x2A: 0/1 */
	uint16_t server_keepalive;      /* 0x13 */
	uint16_t receive_maximum;       /* 0x21: not 0 */
	uint16_t topic_alias_maximum;   /* 0x22 */
	uint16_t topic_alias;           /* 0x23: not 0 */
	uint32_t message_expiry;        /* 0x02 */
	uint32_t session_expiry;        /* 0x11 */
	uint32_t will_delay;            /* 0x18 */
	uint32_t maximum_packet_size;   /* 0x27: not 0 */
	uint32_t sub_id;                /* 0x0B: encode: the one to send; decode: the first */

	struct ferry_bytes content_type;       /* 0x03 UTF-8 */
	struct ferry_bytes response_topic;     /* 0x08 UTF-8 (a topic name) */
	struct ferry_bytes correlation_data;   /* 0x09 binary */
	struct ferry_bytes assigned_client_id; /* 0x12 UTF-8 */
	struct ferry_bytes auth_method;        /* 0x15 UTF-8 */
	struct ferry_bytes auth_data;          /* 0x16 binary */
	struct ferry_bytes response_info;      /* 0x1A UTF-8 */
	struct ferry_bytes server_reference;   /* 0x1C UTF-8 */
	struct ferry_bytes reason_string;      /* 0x1F UTF-8 */

	/* Encode: user properties to send, in order (borrowed). Decode: NULL. */
	const struct ferry_user_prop *user;
	size_t user_count;   /* encode: entries in `user`; decode: how many were read */
	size_t sub_id_count; /* decode: Subscription Identifiers read (PUBLISH may carry several) */

	struct ferry_bytes raw; /* decode: the property block after its length */
};

/*
 * ferry__props_decode - read a property length and the properties after it.
 * c: positioned at the property length; on success it is moved past the block.
 * ctx: packet type (1..15) or FERRY_PCTX_WILL.
 * out: zeroed and filled (views into the cursor's buffer).
 * Returns FERRY_OK or FERRY_ERR_PROPERTY_LENGTH, FERRY_ERR_PROPERTY_UNKNOWN,
 * FERRY_ERR_PROPERTY_NOT_ALLOWED, FERRY_ERR_PROPERTY_DUPLICATE,
 * FERRY_ERR_PROPERTY_VALUE, FERRY_ERR_VARINT, FERRY_ERR_VARINT_NON_MINIMAL,
 * FERRY_ERR_UTF8, FERRY_ERR_UTF8_NUL, FERRY_ERR_TOPIC_NAME (Response Topic with
 * wildcards).
 */
int ferry__props_decode(struct ferry_cursor *c, int ctx, struct ferry_props *out);

/*
 * ferry__props_size - bytes the block will take, property length included.
 * props may be NULL (an empty block: 1 byte). Validates as the encoder will:
 * returns FERRY_OK or FERRY_ERR_PROPERTY_NOT_ALLOWED / _VALUE / _UNKNOWN (a bit
 * in `present` that is no property), FERRY_ERR_STRING_TOO_LONG,
 * FERRY_ERR_UTF8 / _NUL, FERRY_ERR_TOPIC_NAME (Response Topic), FERRY_ERR_INVAL
 * (user_count without a user array, or a NULL view with a length),
 * FERRY_ERR_PACKET_TOO_LARGE (block over 268,435,455).
 */
int ferry__props_size(const struct ferry_props *props, int ctx, size_t *size);

/* ferry__props_encode - write the block sized by ferry__props_size (same errors). */
int ferry__props_encode(const struct ferry_props *props, int ctx, struct ferry_writer *w);

/* Iteration over a decoded block's repeatable properties. */
struct ferry_prop_iter {
	struct ferry_cursor c;
};
void ferry__props_iter_init(struct ferry_prop_iter *it, const struct ferry_props *props);
/* Next User Property in wire order: true and *out set, or false at the end. */
bool ferry__props_next_user(struct ferry_prop_iter *it, struct ferry_user_prop *out);
/* Next Subscription Identifier in wire order: true and *out set, or false at the end. */
bool ferry__props_next_sub_id(struct ferry_prop_iter *it, uint32_t *out);

/* Name of a property ("Receive Maximum"), or NULL for an unknown id. */
const char *ferry__prop_name(uint32_t id);

#endif

/*
 * codec.h - MQTT control packets (3.1, 3.1.1, 5.0) as C structs, and the pure
 * encoder and decoder.
 *
 * Pure: no sockets, threads, SQLite, OpenSSL or clock; the decoder never
 * allocates. A check in `make check` (test/check-purity.sh) enforces it.
 *
 * Ownership:
 *  - ferry__decode takes a complete frame (fixed header included) and fills a
 *    struct ferry_packet whose ferry_bytes are views into that frame: they are
 *    valid as long as the frame's memory is.
 *  - ferry__encode_size / ferry__encode borrow the packet for the call and
 *    write into a buffer the caller owns. Encoding is two steps: ask the size,
 *    then write exactly that many bytes.
 *
 * Validation: the decoder rejects every malformed packet with a specific
 * error (enum ferry_err, -100 range) and never reads outside the frame. The
 * encoder validates its input with the same rules, except those that depend
 * on who sends the packet or on the peer's limits (direction, a server's
 * DISCONNECT with Session Expiry, a client's PUBLISH with a Subscription
 * Identifier, maximum packet size): the caller checks those.
 *
 * Version differences handled here:
 *  - 3.1 ("MQIsdp", level 3): client id 1..23 bytes; password needs username
 *    (3.1.1 too);
 *    SUBACK codes 0..2; PUBREL, SUBSCRIBE and UNSUBSCRIBE may carry DUP (3.1
 *    let senders retry them); CONNACK byte 1 is reserved and ignored.
 *  - 3.1.1 (level 4): session present; SUBACK failure 0x80.
 *  - 5.0 (level 5): properties, reason codes, AUTH, DISCONNECT from the server,
 *    variable byte integers in their shortest form.
 */
#ifndef FERRY_CODEC_H
#define FERRY_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cursor.h"
#include "props.h"

enum ferry_ptype {
	FERRY_CONNECT = 1,
	FERRY_CONNACK = 2,
	FERRY_PUBLISH = 3,
	FERRY_PUBACK = 4,
	FERRY_PUBREC = 5,
	FERRY_PUBREL = 6,
	FERRY_PUBCOMP = 7,
	FERRY_SUBSCRIBE = 8,
	FERRY_SUBACK = 9,
	FERRY_UNSUBSCRIBE = 10,
	FERRY_UNSUBACK = 11,
	FERRY_PINGREQ = 12,
	FERRY_PINGRESP = 13,
	FERRY_DISCONNECT = 14,
	FERRY_AUTH = 15, /* MQTT 5 only; reserved in 3.x */
};

/* Largest packet the protocol can describe: 1 type byte + 4 length bytes + 268,435,455. */
#define FERRY_PACKET_MAX (1u + 4u + FERRY_VARINT_MAX)

/* Subscription options byte (MQTT 5.0 3.8.3.1; 3.x uses the QoS bits only). */
#define FERRY_SUBOPT_QOS_MASK 0x03u
#define FERRY_SUBOPT_NO_LOCAL 0x04u
#define FERRY_SUBOPT_RETAIN_AS_PUBLISHED 0x08u
#define FERRY_SUBOPT_RETAIN_HANDLING_SHIFT 4
#define FERRY_SUBOPT_RETAIN_HANDLING_MASK 0x30u

struct ferry_will {
	uint8_t qos;
	bool retain;
	struct ferry_bytes topic;   /* topic name */
	struct ferry_bytes payload; /* binary */
	struct ferry_props props;   /* MQTT 5 will properties */
};

struct ferry_connect {
	uint8_t version;      /* decode: from the packet (3, 4, 5); encode: ignored (the version argument rules) */
	bool clean_start;     /* clean session (3.x) / clean start (5) */
	uint16_t keepalive;   /* seconds, 0 = off */
	struct ferry_bytes client_id;
	bool has_will;
	struct ferry_will will;
	bool has_username;
	struct ferry_bytes username;
	bool has_password;
	struct ferry_bytes password;
	struct ferry_props props;
};

struct ferry_connack {
	bool session_present;
	uint8_t reason; /* 3.x return code or MQTT 5 reason code */
	struct ferry_props props;
};

struct ferry_publish {
	uint8_t qos;
	bool dup;
	bool retain;
	uint16_t packet_id;         /* QoS > 0 only; never 0 then */
	struct ferry_bytes topic;   /* may be empty in MQTT 5 when a Topic Alias is present */
	struct ferry_bytes payload; /* the rest of the packet */
	struct ferry_props props;
};

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
struct ferry_ack {
	uint16_t packet_id;
	uint8_t reason; /* MQTT 5; 0 in 3.x */
	struct ferry_props props;
};

struct ferry_sub_entry {
	struct ferry_bytes filter;
	uint8_t options; /* FERRY_SUBOPT_*; 3.x: the requested QoS */
};

struct ferry_subscribe {
	uint16_t packet_id;
	struct ferry_props props;
	/* encode: `count` entries (borrowed); decode: NULL, use ferry__sub_iter_* */
	const struct ferry_sub_entry *entries;
	size_t count;                 /* encode: entries to send; decode: entries read */
	struct ferry_bytes raw;       /* decode: the payload holding the entries */
};

struct ferry_unsubscribe {
	uint16_t packet_id;
	struct ferry_props props;
	/* encode: `count` filters (borrowed); decode: NULL, use ferry__unsub_iter_* */
	const struct ferry_bytes *filters;
	size_t count;
	struct ferry_bytes raw;
};

/* SUBACK and UNSUBACK. */
struct ferry_suback {
	uint16_t packet_id;
	struct ferry_props props;
	const uint8_t *reasons; /* one per filter (3.x UNSUBACK: none, count 0) */
	size_t count;
};

/* DISCONNECT and AUTH (MQTT 5; 3.x DISCONNECT has no body). */
struct ferry_disconnect {
	uint8_t reason;
	struct ferry_props props;
};

struct ferry_packet {
	uint8_t type; /* enum ferry_ptype */
	union {
		struct ferry_connect connect;
		struct ferry_connack connack;
		struct ferry_publish publish;
		struct ferry_ack ack;
		struct ferry_subscribe subscribe;
		struct ferry_suback suback;
		struct ferry_unsubscribe unsubscribe;
		struct ferry_disconnect disconnect; /* also AUTH */
	} u;
};

/* Who sent the packet being decoded. */
enum ferry_peer {
	FERRY_PEER_SERVER = 0, /* ferry as a client decoding what the broker sent */
	FERRY_PEER_CLIENT = 1, /* decoding what a client sent (test brokers, tools) */
};

struct ferry_codec_cfg {
	uint8_t version;          /* 3, 4 or 5; for CONNECT the packet's own level is used */
	uint8_t peer;             /* enum ferry_peer */
	uint32_t max_packet_size; /* whole packet, header included; 0 = FERRY_PACKET_MAX */
};

/*
 * ferry__decode - decode one complete frame.
 * frame/len: the fixed header, remaining length and body, exactly one packet.
 * out: filled on success (views into frame); unspecified on error.
 * Returns FERRY_OK or a codec error (-100 range), FERRY_ERR_INVAL for NULL
 * arguments or an unknown cfg->version.
 * Never allocates, never reads outside [frame, frame + len).
 */
int ferry__decode(const struct ferry_codec_cfg *cfg, const uint8_t *frame, size_t len,
                  struct ferry_packet *out);

/*
 * ferry__encode_size - the exact size of the encoded packet, header included.
 * Validates the packet as ferry__decode would (same error codes), plus
 * FERRY_ERR_STRING_TOO_LONG and FERRY_ERR_PACKET_TOO_LARGE.
 */
int ferry__encode_size(uint8_t version, const struct ferry_packet *p, size_t *size);

/*
 * ferry__encode - write the packet into buf (cap bytes); *len = bytes written.
 * Returns the errors of ferry__encode_size, or FERRY_ERR_BUFFER_SIZE when cap
 * is smaller than that size (nothing useful is written then).
 */
int ferry__encode(uint8_t version, const struct ferry_packet *p, uint8_t *buf, size_t cap,
                  size_t *len);

/* Iterators over a decoded SUBSCRIBE / UNSUBSCRIBE (entries already validated). */
struct ferry_entry_iter {
	struct ferry_cursor c;
};
void ferry__sub_iter_init(struct ferry_entry_iter *it, const struct ferry_subscribe *s);
bool ferry__sub_iter_next(struct ferry_entry_iter *it, struct ferry_sub_entry *out);
void ferry__unsub_iter_init(struct ferry_entry_iter *it, const struct ferry_unsubscribe *u);
bool ferry__unsub_iter_next(struct ferry_entry_iter *it, struct ferry_bytes *out);

/* Name of a packet type ("PUBLISH"), "reserved" for 0 and 15 in 3.x is the caller's call: this gives "AUTH" for 15. */
const char *ferry__ptype_name(int type);

#endif

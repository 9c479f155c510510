/*
 * test_malformed.c - the decoder refuses every malformed or protocol-violating
 * packet with one exact error, and the frame reader agrees with it.
 *
 * Each row of `bad` breaks exactly one rule, so its error is unambiguous:
 * description, protocol version (3 = 3.1, 4 = 3.1.1, 5 = 5.0), who sent it,
 * max packet size (0 = protocol maximum), the bytes, the error. Every row is
 * run twice: through ferry__decode as a whole, and through a frame reader one
 * byte at a time, whose frame (if one comes out) must decode to the same
 * error; errors the reader finds itself (5-byte or non-minimal lengths,
 * oversize) must be the row's error. The `good` table holds edge cases that
 * must decode, through both paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "suites.h"
#include "util.h"

struct row {
	const char *desc;
	uint8_t version;
	uint8_t peer;
	uint32_t max;
	const char *hex;
	int err;
};

/* clang-format off */
#define R(d, v, p, m, e, h) {d, v, FERRY_PEER_##p, m, h, FERRY_ERR_##e}
#define A(d, v, p, m, h) {d, v, FERRY_PEER_##p, m, h, FERRY_OK}

static const struct row bad[] = {
	R("type 0 from server (3.1.1)", 4, SERVER, 0, PACKET_TYPE, "00 00"),
	R("type 0 from client (3.1.1)", 4, CLIENT, 0, PACKET_TYPE, "00 00"),
	R("type 0 with a body (5.0)", 5, SERVER, 0, PACKET_TYPE, "00 02 00 01"),
	R("type 15 from server (3.1.1)", 4, SERVER, 0, PACKET_TYPE, "F0 00"),
	R("type 15 from client (3.1.1)", 4, CLIENT, 0, PACKET_TYPE, "F0 00"),
	R("type 15 from server (3.1)", 3, SERVER, 0, PACKET_TYPE, "F0 00"),
	R("type 15 with a body (3.1.1)", 4, SERVER, 0, PACKET_TYPE, "F0 02 00 00"),
	R("CONNECT from server (3.1.1)", 4, SERVER, 0, PACKET_DIRECTION,
	  "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63"),
	R("CONNECT from server (5.0)", 5, SERVER, 0, PACKET_DIRECTION,
	  "10 0E 00 04 4D 51 54 54 05 02 00 3C 00 00 01 63"),
	R("SUBSCRIBE from server (3.1.1)", 4, SERVER, 0, PACKET_DIRECTION,
	  "82 06 00 01 00 01 61 00"),
	R("SUBSCRIBE from server (5.0)", 5, SERVER, 0, PACKET_DIRECTION,
	  "82 07 00 01 00 00 01 61 00"),
	R("UNSUBSCRIBE from server (3.1.1)", 4, SERVER, 0, PACKET_DIRECTION,
	  "A2 05 00 01 00 01 61"),
	R("UNSUBSCRIBE from server (5.0)", 5, SERVER, 0, PACKET_DIRECTION,
	  "A2 06 00 01 00 00 01 61"),
	R("PINGREQ from server (3.1.1)", 4, SERVER, 0, PACKET_DIRECTION, "C0 00"),
	R("PINGREQ from server (5.0)", 5, SERVER, 0, PACKET_DIRECTION, "C0 00"),
	R("DISCONNECT from server (3.1.1)", 4, SERVER, 0, PACKET_DIRECTION, "E0 00"),
	R("DISCONNECT from server (3.1)", 3, SERVER, 0, PACKET_DIRECTION, "E0 00"),
	R("CONNACK from client (3.1.1)", 4, CLIENT, 0, PACKET_DIRECTION, "20 02 00 00"),
	R("CONNACK from client (5.0)", 5, CLIENT, 0, PACKET_DIRECTION, "20 03 00 00 00"),
	R("SUBACK from client (3.1.1)", 4, CLIENT, 0, PACKET_DIRECTION, "90 03 00 01 00"),
	R("SUBACK from client (5.0)", 5, CLIENT, 0, PACKET_DIRECTION, "90 04 00 01 00 00"),
	R("UNSUBACK from client (3.1.1)", 4, CLIENT, 0, PACKET_DIRECTION, "B0 02 00 01"),
	R("UNSUBACK from client (5.0)", 5, CLIENT, 0, PACKET_DIRECTION, "B0 04 00 01 00 00"),
	R("PINGRESP from client (3.1.1)", 4, CLIENT, 0, PACKET_DIRECTION, "D0 00"),
	R("PINGRESP from client (5.0)", 5, CLIENT, 0, PACKET_DIRECTION, "D0 00"),
	R("CONNECT flags 0001", 4, CLIENT, 0, HEADER_FLAGS,
	  "11 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63"),
	R("CONNECT flags 1000 (5.0)", 5, CLIENT, 0, HEADER_FLAGS,
	  "18 0E 00 04 4D 51 54 54 05 02 00 3C 00 00 01 63"),
	R("CONNACK flags 0001", 4, SERVER, 0, HEADER_FLAGS, "21 02 00 00"),
	R("CONNACK flags 1000 (5.0)", 5, SERVER, 0, HEADER_FLAGS, "28 03 00 00 00"),
	R("PUBACK flags 0001", 4, SERVER, 0, HEADER_FLAGS, "41 02 00 01"),
	R("PUBACK flags 0010", 4, SERVER, 0, HEADER_FLAGS, "42 02 00 01"),
	R("PUBACK flags 1111 from client", 4, CLIENT, 0, HEADER_FLAGS, "4F 02 00 01"),
	R("PUBREC flags 1000", 4, SERVER, 0, HEADER_FLAGS, "58 02 00 01"),
	R("PUBREC flags 0010 (5.0)", 5, SERVER, 0, HEADER_FLAGS, "52 02 00 01"),
	R("PUBREL flags 0000", 4, SERVER, 0, HEADER_FLAGS, "60 02 00 01"),
	R("PUBREL flags 0011", 4, CLIENT, 0, HEADER_FLAGS, "63 02 00 01"),
	R("PUBREL with DUP (3.1.1)", 4, SERVER, 0, HEADER_FLAGS, "6A 02 00 01"),
	R("PUBREL flags 0000 (5.0)", 5, SERVER, 0, HEADER_FLAGS, "60 02 00 01"),
	R("PUBCOMP flags 0010", 4, SERVER, 0, HEADER_FLAGS, "72 02 00 01"),
	R("PUBCOMP flags 0100 (5.0)", 5, CLIENT, 0, HEADER_FLAGS, "74 02 00 01"),
	R("SUBSCRIBE flags 0000", 4, CLIENT, 0, HEADER_FLAGS, "80 06 00 01 00 01 61 00"),
	R("SUBSCRIBE flags 0011", 4, CLIENT, 0, HEADER_FLAGS, "83 06 00 01 00 01 61 00"),
	R("SUBSCRIBE with DUP (3.1.1)", 4, CLIENT, 0, HEADER_FLAGS, "8A 06 00 01 00 01 61 00"),
	R("SUBSCRIBE flags 0000 (5.0)", 5, CLIENT, 0, HEADER_FLAGS, "80 07 00 01 00 00 01 61 00"),
	R("SUBACK flags 0010", 4, SERVER, 0, HEADER_FLAGS, "92 03 00 01 00"),
	R("SUBACK flags 0001 (5.0)", 5, SERVER, 0, HEADER_FLAGS, "91 04 00 01 00 00"),
	R("UNSUBSCRIBE flags 0000", 4, CLIENT, 0, HEADER_FLAGS, "A0 05 00 01 00 01 61"),
	R("UNSUBSCRIBE flags 0110", 4, CLIENT, 0, HEADER_FLAGS, "A6 05 00 01 00 01 61"),
	R("UNSUBSCRIBE with DUP (3.1.1)", 4, CLIENT, 0, HEADER_FLAGS, "AA 05 00 01 00 01 61"),
	R("UNSUBACK flags 0001", 4, SERVER, 0, HEADER_FLAGS, "B1 02 00 01"),
	R("UNSUBACK flags 0010 (5.0)", 5, SERVER, 0, HEADER_FLAGS, "B2 04 00 01 00 00"),
	R("PINGREQ flags 0001", 4, CLIENT, 0, HEADER_FLAGS, "C1 00"),
	R("PINGRESP flags 1000", 4, SERVER, 0, HEADER_FLAGS, "D8 00"),
	R("PINGRESP flags 0010 (5.0)", 5, SERVER, 0, HEADER_FLAGS, "D2 00"),
	R("DISCONNECT flags 0010", 4, CLIENT, 0, HEADER_FLAGS, "E2 00"),
	R("DISCONNECT flags 0001 from server (5.0)", 5, SERVER, 0, HEADER_FLAGS, "E1 00"),
	R("AUTH flags 0001 (5.0)", 5, SERVER, 0, HEADER_FLAGS, "F1 00"),
	R("AUTH flags 1000 from client (5.0)", 5, CLIENT, 0, HEADER_FLAGS, "F8 00"),
	R("PUBLISH QoS 3", 4, SERVER, 0, QOS, "36 06 00 01 61 00 01 78"),
	R("PUBLISH QoS 3 with retain", 4, CLIENT, 0, QOS, "37 06 00 01 61 00 01 78"),
	R("PUBLISH QoS 3 (5.0)", 5, SERVER, 0, QOS, "36 07 00 01 61 00 01 00 78"),
	R("PUBLISH DUP on QoS 0", 4, SERVER, 0, DUP_QOS0, "38 04 00 01 61 78"),
	R("PUBLISH DUP on QoS 0 with retain", 4, CLIENT, 0, DUP_QOS0, "39 04 00 01 61 78"),
	R("PUBLISH DUP on QoS 0 (5.0)", 5, SERVER, 0, DUP_QOS0, "38 05 00 01 61 00 78"),
	R("5-byte remaining length", 4, SERVER, 0, VARINT, "30 FF FF FF FF 7F"),
	R("5-byte remaining length, PINGRESP", 4, SERVER, 0, VARINT, "D0 80 80 80 80 01"),
	R("5-byte remaining length (5.0)", 5, SERVER, 0, VARINT, "30 80 80 80 80 00"),
	R("4 length bytes all continued, nothing after", 4, SERVER, 0, VARINT, "30 FF FF FF FF"),
	R("length cut after its continuation bit", 4, SERVER, 0, TRUNCATED, "D0 80"),
	R("length cut after 3 continued bytes", 4, SERVER, 0, TRUNCATED, "30 FF FF FF"),
	R("only the type byte", 4, SERVER, 0, TRUNCATED, "D0"),
	R("type 0, frame ends mid-length (header read first)", 4, SERVER, 0, TRUNCATED, "00 E3"),
	R("non-minimal length 80 00 (5.0)", 5, CLIENT, 0, VARINT_NON_MINIMAL, "C0 80 00"),
	R("non-minimal length 80 80 00 (5.0)", 5, SERVER, 0, VARINT_NON_MINIMAL, "D0 80 80 00"),
	R("non-minimal length 83 00 for 3 (5.0)", 5, SERVER, 0, VARINT_NON_MINIMAL,
	  "20 83 00 00 00 00"),
	R("packet one byte over max packet size", 4, SERVER, 11, PACKET_TOO_LARGE,
	  "30 0A 00 03 61 2F 62 68 65 6C 6C 6F"),
	R("SUBACK over max packet size (5.0)", 5, SERVER, 5, PACKET_TOO_LARGE, "90 04 00 01 00 00"),
	R("remaining length over the data", 4, SERVER, 0, TRUNCATED, "20 02 00"),
	R("remaining length over the data (5.0 PUBLISH)", 5, SERVER, 0, TRUNCATED,
	  "30 10 00 01 61 00"),
	R("CONNACK without property length (5.0)", 5, SERVER, 0, REMAINING_LENGTH, "20 02 00 00"),
	R("AUTH remaining length 1 (5.0)", 5, SERVER, 0, REMAINING_LENGTH, "F0 01 00"),
	R("PUBACK remaining length 1 (5.0)", 5, SERVER, 0, REMAINING_LENGTH, "40 01 00"),
	R("PUBREC remaining length 0 (5.0)", 5, CLIENT, 0, REMAINING_LENGTH, "50 00"),
	R("SUBSCRIBE remaining length 1", 4, CLIENT, 0, REMAINING_LENGTH, "82 01 00"),
	R("UNSUBSCRIBE remaining length 0 (5.0)", 5, CLIENT, 0, REMAINING_LENGTH, "A2 00"),
	R("SUBACK remaining length 1", 4, SERVER, 0, REMAINING_LENGTH, "90 01 00"),
	R("UNSUBACK remaining length 1 (5.0)", 5, SERVER, 0, REMAINING_LENGTH, "B0 01 00"),
	R("CONNACK remaining length 1", 4, SERVER, 0, REMAINING_LENGTH, "20 01 00"),
	R("CONNACK remaining length 0", 4, SERVER, 0, REMAINING_LENGTH, "20 00"),
	R("CONNACK remaining length 3 (3.1.1)", 4, SERVER, 0, REMAINING_LENGTH, "20 03 00 00 00"),
	R("PUBACK remaining length 3 (3.1.1)", 4, SERVER, 0, REMAINING_LENGTH, "40 03 00 01 00"),
	R("PUBACK remaining length 1 (3.1.1)", 4, SERVER, 0, REMAINING_LENGTH, "40 01 00"),
	R("PUBREC remaining length 0 (3.1.1)", 4, SERVER, 0, REMAINING_LENGTH, "50 00"),
	R("PUBREL remaining length 4 (3.1.1)", 4, CLIENT, 0, REMAINING_LENGTH, "62 04 00 01 00 00"),
	R("PUBCOMP remaining length 3 (3.1)", 3, SERVER, 0, REMAINING_LENGTH, "70 03 00 01 00"),
	R("UNSUBACK remaining length 3 (3.1.1)", 4, SERVER, 0, REMAINING_LENGTH, "B0 03 00 01 00"),
	R("PINGRESP with a body", 4, SERVER, 0, REMAINING_LENGTH, "D0 01 00"),
	R("PINGRESP with a body (5.0)", 5, SERVER, 0, REMAINING_LENGTH, "D0 02 00 00"),
	R("PINGREQ with a body", 4, CLIENT, 0, REMAINING_LENGTH, "C0 01 00"),
	R("DISCONNECT with a body (3.1.1)", 4, CLIENT, 0, REMAINING_LENGTH, "E0 01 00"),
	R("DISCONNECT with a body (3.1)", 3, CLIENT, 0, REMAINING_LENGTH, "E0 02 00 00"),
	R("CONNECT with a byte after the client id", 4, CLIENT, 0, TRAILING_BYTES,
	  "10 0E 00 04 4D 51 54 54 04 02 00 3C 00 01 63 00"),
	R("CONNECT with a byte after the password (5.0)", 5, CLIENT, 0, TRAILING_BYTES,
	  "10 15 00 04 4D 51 54 54 05 C2 00 3C 00 00 01 63 00 01 75 00 01 70 01"),
	R("CONNACK with a byte after the properties (5.0)", 5, SERVER, 0, TRAILING_BYTES,
	  "20 04 00 00 00 00"),
	R("PUBACK with a byte after the properties (5.0)", 5, SERVER, 0, TRAILING_BYTES,
	  "40 05 00 01 00 00 00"),
	R("PUBCOMP with a byte after the properties (5.0)", 5, CLIENT, 0, TRAILING_BYTES,
	  "70 05 00 01 92 00 07"),
	R("DISCONNECT with a byte after the properties (5.0)", 5, CLIENT, 0, TRAILING_BYTES,
	  "E0 03 00 00 00"),
	R("AUTH with a byte after the properties (5.0)", 5, SERVER, 0, TRAILING_BYTES,
	  "F0 03 00 00 00"),
	R("PUBLISH topic length beyond the remaining length", 4, SERVER, 0, TRUNCATED,
	  "30 07 FF FF 41 42 43 44 45"),
	R("PUBLISH QoS 1 without a packet id", 4, SERVER, 0, TRUNCATED, "32 03 00 01 61"),
	R("PUBLISH QoS 2 with half a packet id", 4, SERVER, 0, TRUNCATED, "34 04 00 01 61 00"),
	R("CONNECT without keepalive", 4, CLIENT, 0, TRUNCATED, "10 08 00 04 4D 51 54 54 04 02"),
	R("CONNECT without a client id", 4, CLIENT, 0, TRUNCATED,
	  "10 0A 00 04 4D 51 54 54 04 02 00 3C"),
	R("CONNECT user name flag, no user name", 4, CLIENT, 0, TRUNCATED,
	  "10 0D 00 04 4D 51 54 54 04 82 00 3C 00 01 63"),
	R("CONNECT will flag, no will payload", 4, CLIENT, 0, TRUNCATED,
	  "10 10 00 04 4D 51 54 54 04 06 00 3C 00 01 63 00 01 77"),
	R("CONNECT client id longer than the packet", 4, CLIENT, 0, TRUNCATED,
	  "10 0E 00 04 4D 51 54 54 04 02 00 3C 00 03 61 62"),
	R("SUBSCRIBE entry without its options byte", 4, CLIENT, 0, TRUNCATED,
	  "82 05 00 01 00 01 61"),
	R("SUBSCRIBE with one stray byte after an entry", 4, CLIENT, 0, TRUNCATED,
	  "82 07 00 01 00 01 61 00 00"),
	R("UNSUBSCRIBE with one stray byte after a filter", 4, CLIENT, 0, TRUNCATED,
	  "A2 06 00 01 00 01 61 00"),
	R("UNSUBSCRIBE filter longer than the packet", 4, CLIENT, 0, TRUNCATED,
	  "A2 05 00 01 00 05 61"),
	R("PUBLISH topic with '+'", 4, SERVER, 0, TOPIC_NAME, "30 06 00 03 61 2F 2B 78"),
	R("PUBLISH topic with '#'", 4, SERVER, 0, TOPIC_NAME, "30 06 00 03 61 2F 23 78"),
	R("PUBLISH topic '#' (5.0)", 5, SERVER, 0, TOPIC_NAME, "30 05 00 01 23 00 78"),
	R("PUBLISH topic with '+' inside a level", 4, CLIENT, 0, TOPIC_NAME,
	  "30 06 00 03 61 2B 62 78"),
	R("PUBLISH empty topic (3.1.1)", 4, SERVER, 0, TOPIC_NAME, "30 03 00 00 78"),
	R("PUBLISH empty topic without alias (5.0)", 5, SERVER, 0, TOPIC_ALIAS,
	  "30 04 00 00 00 78"),
	R("PUBLISH topic alias 0 (5.0)", 5, SERVER, 0, TOPIC_ALIAS,
	  "30 08 00 01 61 03 23 00 00 78"),
	R("PUBLISH topic alias 0 from client (5.0)", 5, CLIENT, 0, TOPIC_ALIAS,
	  "30 08 00 01 61 03 23 00 00 78"),
	R("PUBLISH wildcard topic with a topic alias (5.0)", 5, SERVER, 0, TOPIC_NAME,
	  "30 0A 00 03 61 2F 2B 03 23 00 01 78"),
	R("will topic empty", 4, CLIENT, 0, TOPIC_NAME,
	  "10 12 00 04 4D 51 54 54 04 06 00 3C 00 01 63 00 00 00 01 6D"),
	R("will topic empty (5.0)", 5, CLIENT, 0, TOPIC_NAME,
	  "10 14 00 04 4D 51 54 54 05 06 00 3C 00 00 01 63 00 00 00 00 01 6D"),
	R("response topic empty", 5, SERVER, 0, TOPIC_NAME, "30 08 00 01 61 03 08 00 00 78"),
	R("PUBLISH empty topic, topic alias 0 (5.0)", 5, CLIENT, 0, TOPIC_ALIAS,
	  "30 07 00 00 03 23 00 00 78"),
	R("topic: surrogate U+D800 (ED A0 80)", 4, SERVER, 0, UTF8, "30 06 00 03 ED A0 80 78"),
	R("topic: overlong C0 80", 4, SERVER, 0, UTF8, "30 05 00 02 C0 80 78"),
	R("topic: overlong C1 BF", 4, SERVER, 0, UTF8, "30 05 00 02 C1 BF 78"),
	R("topic: overlong E0 80 AF", 4, SERVER, 0, UTF8, "30 06 00 03 E0 80 AF 78"),
	R("topic: overlong F0 80 80 AF", 5, SERVER, 0, UTF8, "30 08 00 04 F0 80 80 AF 00 78"),
	R("topic: U+0000", 4, SERVER, 0, UTF8_NUL, "30 06 00 03 61 00 62 78"),
	R("topic: U+0000 (5.0)", 5, SERVER, 0, UTF8_NUL, "30 05 00 01 00 00 78"),
	R("topic: byte F5", 4, SERVER, 0, UTF8, "30 07 00 04 F5 80 80 80 78"),
	R("topic: byte FF", 4, SERVER, 0, UTF8, "30 05 00 02 61 FF 78"),
	R("topic: byte FE (5.0)", 5, CLIENT, 0, UTF8, "30 05 00 01 FE 00 78"),
	R("topic: above U+10FFFF (F4 90 80 80)", 4, SERVER, 0, UTF8, "30 07 00 04 F4 90 80 80 78"),
	R("topic: truncated 2-byte sequence", 4, SERVER, 0, UTF8, "30 05 00 02 61 C3 78"),
	R("topic: truncated 3-byte sequence", 4, SERVER, 0, UTF8, "30 05 00 02 E2 82 78"),
	R("topic: bad continuation byte", 4, SERVER, 0, UTF8, "30 06 00 03 E2 82 61 78"),
	R("topic: lone continuation byte", 4, SERVER, 0, UTF8, "30 04 00 01 80 78"),
	R("client id: surrogate", 4, CLIENT, 0, UTF8,
	  "10 0F 00 04 4D 51 54 54 04 02 00 3C 00 03 ED B0 80"),
	R("client id: overlong C0 80", 4, CLIENT, 0, UTF8,
	  "10 0E 00 04 4D 51 54 54 04 02 00 3C 00 02 C0 80"),
	R("client id: U+0000 (5.0)", 5, CLIENT, 0, UTF8_NUL,
	  "10 0F 00 04 4D 51 54 54 05 02 00 3C 00 00 02 61 00"),
	R("client id: byte F8", 4, CLIENT, 0, UTF8,
	  "10 11 00 04 4D 51 54 54 04 02 00 3C 00 05 F8 88 80 80 80"),
	R("user name: overlong E0 80 AF", 4, CLIENT, 0, UTF8,
	  "10 12 00 04 4D 51 54 54 04 82 00 3C 00 01 63 00 03 E0 80 AF"),
	R("user name: U+0000 (5.0)", 5, CLIENT, 0, UTF8_NUL,
	  "10 11 00 04 4D 51 54 54 05 82 00 3C 00 00 01 63 00 01 00"),
	R("will topic: surrogate", 4, CLIENT, 0, UTF8,
	  "10 15 00 04 4D 51 54 54 04 06 00 3C 00 01 63 00 03 ED A0 80 00 01 6D"),
	R("will topic: U+0000", 4, CLIENT, 0, UTF8_NUL,
	  "10 14 00 04 4D 51 54 54 04 06 00 3C 00 01 63 00 02 77 00 00 01 6D"),
	R("will topic: '#' wildcard", 4, CLIENT, 0, TOPIC_NAME,
	  "10 15 00 04 4D 51 54 54 04 06 00 3C 00 01 63 00 03 77 2F 23 00 01 6D"),
	R("will topic: truncated sequence (5.0)", 5, CLIENT, 0, UTF8,
	  "10 17 00 04 4D 51 54 54 05 06 00 3C 00 00 01 63 00 00 03 F0 9F 98 00 01 "
	  "6D"),
	R("content type: overlong C0 80", 5, SERVER, 0, UTF8,
	  "30 0A 00 01 61 05 03 00 02 C0 80 78"),
	R("response topic: U+0000", 5, SERVER, 0, UTF8_NUL, "30 0A 00 01 61 05 08 00 02 61 00 78"),
	R("response topic: wildcard", 5, SERVER, 0, TOPIC_NAME,
	  "30 0B 00 01 61 06 08 00 03 61 2F 2B 78"),
	R("reason string: surrogate (PUBACK)", 5, SERVER, 0, UTF8,
	  "40 0A 00 01 00 06 1F 00 03 ED A0 80"),
	R("reason string: U+0000 (CONNACK)", 5, SERVER, 0, UTF8_NUL, "20 07 00 00 04 1F 00 01 00"),
	R("reason string: byte FF (DISCONNECT)", 5, SERVER, 0, UTF8, "E0 06 00 04 1F 00 01 FF"),
	R("assigned client id: truncated sequence", 5, SERVER, 0, UTF8,
	  "20 07 00 00 04 12 00 01 C3"),
	R("auth method: overlong (CONNECT)", 5, CLIENT, 0, UTF8,
	  "10 13 00 04 4D 51 54 54 05 02 00 3C 05 15 00 02 C1 81 00 01 63"),
	R("user property name: byte F5", 5, SERVER, 0, UTF8,
	  "30 0C 00 01 61 07 26 00 01 F5 00 01 76 78"),
	R("user property value: surrogate", 5, SERVER, 0, UTF8,
	  "30 0E 00 01 61 09 26 00 01 6B 00 03 ED BF BF 78"),
	R("user property value: U+0000", 5, CLIENT, 0, UTF8_NUL,
	  "62 0B 00 01 00 07 26 00 01 6B 00 01 00"),
	R("server reference: overlong", 5, SERVER, 0, UTF8, "E0 08 9C 06 1C 00 03 E0 9F BF"),
	R("PUBLISH QoS 1 packet id 0", 4, SERVER, 0, PACKET_ID, "32 06 00 01 61 00 00 78"),
	R("PUBLISH QoS 2 packet id 0", 4, SERVER, 0, PACKET_ID, "34 06 00 01 61 00 00 78"),
	R("PUBLISH QoS 1 packet id 0 (5.0)", 5, CLIENT, 0, PACKET_ID, "32 07 00 01 61 00 00 00 78"),
	R("PUBACK packet id 0", 4, SERVER, 0, PACKET_ID, "40 02 00 00"),
	R("PUBREC packet id 0", 4, SERVER, 0, PACKET_ID, "50 02 00 00"),
	R("PUBREL packet id 0", 4, SERVER, 0, PACKET_ID, "62 02 00 00"),
	R("PUBCOMP packet id 0", 4, SERVER, 0, PACKET_ID, "70 02 00 00"),
	R("PUBACK packet id 0 (5.0)", 5, SERVER, 0, PACKET_ID, "40 02 00 00"),
	R("PUBCOMP packet id 0 (5.0)", 5, CLIENT, 0, PACKET_ID, "70 04 00 00 00 00"),
	R("SUBSCRIBE packet id 0", 4, CLIENT, 0, PACKET_ID, "82 06 00 00 00 01 61 00"),
	R("SUBSCRIBE packet id 0 (5.0)", 5, CLIENT, 0, PACKET_ID, "82 07 00 00 00 00 01 61 00"),
	R("SUBACK packet id 0", 4, SERVER, 0, PACKET_ID, "90 03 00 00 00"),
	R("SUBACK packet id 0 (5.0)", 5, SERVER, 0, PACKET_ID, "90 04 00 00 00 00"),
	R("UNSUBSCRIBE packet id 0", 4, CLIENT, 0, PACKET_ID, "A2 05 00 00 00 01 61"),
	R("UNSUBACK packet id 0", 4, SERVER, 0, PACKET_ID, "B0 02 00 00"),
	R("UNSUBACK packet id 0 (5.0)", 5, SERVER, 0, PACKET_ID, "B0 04 00 00 00 00"),
	R("PUBLISH property length beyond the packet", 5, SERVER, 0, PROPERTY_LENGTH,
	  "30 04 00 01 61 05"),
	R("CONNACK property length beyond the packet", 5, SERVER, 0, PROPERTY_LENGTH,
	  "20 05 00 00 0A 21 00"),
	R("PUBACK property length beyond the packet", 5, SERVER, 0, PROPERTY_LENGTH,
	  "40 05 00 01 00 09 00"),
	R("CONNECT property length beyond the packet", 5, CLIENT, 0, PROPERTY_LENGTH,
	  "10 0E 00 04 4D 51 54 54 05 02 00 3C 40 00 01 63"),
	R("property cut inside its value", 5, SERVER, 0, PROPERTY_LENGTH,
	  "30 08 00 01 61 03 02 00 00 78"),
	R("string property cut inside its value", 5, SERVER, 0, PROPERTY_LENGTH,
	  "30 09 00 01 61 04 03 00 05 61 78"),
	R("PUBLISH without property length (5.0)", 5, SERVER, 0, PROPERTY_LENGTH, "30 03 00 01 61"),
	R("SUBACK without property length (5.0)", 5, SERVER, 0, PROPERTY_LENGTH, "90 02 00 01"),
	R("UNSUBACK without property length (5.0)", 5, SERVER, 0, PROPERTY_LENGTH, "B0 02 00 01"),
	R("SUBSCRIBE without property length (5.0)", 5, CLIENT, 0, PROPERTY_LENGTH, "82 02 00 01"),
	R("UNSUBSCRIBE without property length (5.0)", 5, CLIENT, 0, PROPERTY_LENGTH,
	  "A2 02 00 01"),
	R("topic alias cut after its identifier", 5, SERVER, 0, PROPERTY_LENGTH,
	  "30 06 00 01 61 01 23 78"),
	R("correlation data longer than the block", 5, SERVER, 0, PROPERTY_LENGTH,
	  "30 09 00 01 61 04 09 00 03 01 78"),
	R("user property value cut", 5, SERVER, 0, PROPERTY_LENGTH,
	  "30 0A 00 01 61 05 26 00 01 6B 00 78"),
	R("string property past its block, inside the packet", 5, SERVER, 0, PROPERTY_LENGTH,
	  "30 0E 00 01 61 04 03 00 05 61 62 63 64 65 66 67"),
	R("property identifier non-minimal (81 00)", 5, SERVER, 0, VARINT_NON_MINIMAL,
	  "30 08 00 01 61 03 81 00 01 78"),
	R("subscription id of 5 bytes", 5, SERVER, 0, VARINT,
	  "30 0B 00 01 61 06 0B 80 80 80 80 01 78"),
	R("subscription id non-minimal", 5, SERVER, 0, VARINT_NON_MINIMAL,
	  "30 08 00 01 61 03 0B 81 00 78"),
	R("property length of 5 bytes", 5, SERVER, 0, VARINT, "30 09 00 01 61 FF FF FF FF 7F 78"),
	R("property length non-minimal", 5, SERVER, 0, VARINT_NON_MINIMAL,
	  "30 06 00 01 61 80 00 78"),
	R("dup payload format (PUBLISH)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "30 09 00 01 61 04 01 01 01 01 78"),
	R("dup message expiry (PUBLISH)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "30 0F 00 01 61 0A 02 00 00 00 0A 02 00 00 00 0A 78"),
	R("dup content type (PUBLISH)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "30 0D 00 01 61 08 03 00 01 61 03 00 01 62 78"),
	R("dup response topic (PUBLISH)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "30 0D 00 01 61 08 08 00 01 72 08 00 01 72 78"),
	R("dup correlation data (PUBLISH)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "30 0D 00 01 61 08 09 00 01 01 09 00 01 02 78"),
	R("dup topic alias (PUBLISH)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "30 0B 00 01 61 06 23 00 01 23 00 02 78"),
	R("dup session expiry (CONNECT)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "10 18 00 04 4D 51 54 54 05 02 00 3C 0A 11 00 00 00 0A 11 00 00 00 0A 00 "
	  "01 63"),
	R("dup receive maximum (CONNECT)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "10 14 00 04 4D 51 54 54 05 02 00 3C 06 21 00 0A 21 00 0A 00 01 63"),
	R("dup maximum packet size (CONNECT)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "10 18 00 04 4D 51 54 54 05 02 00 3C 0A 27 00 00 10 00 27 00 00 10 00 00 "
	  "01 63"),
	R("dup topic alias maximum (CONNECT)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "10 14 00 04 4D 51 54 54 05 02 00 3C 06 22 00 05 22 00 05 00 01 63"),
	R("dup request response info (CONNECT)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "10 12 00 04 4D 51 54 54 05 02 00 3C 04 19 01 19 01 00 01 63"),
	R("dup request problem info (CONNECT)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "10 12 00 04 4D 51 54 54 05 02 00 3C 04 17 00 17 00 00 01 63"),
	R("dup auth method (CONNECT)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "10 16 00 04 4D 51 54 54 05 02 00 3C 08 15 00 01 6D 15 00 01 6D 00 01 63"),
	R("dup auth data (CONNECT)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "10 1A 00 04 4D 51 54 54 05 02 00 3C 0C 15 00 01 6D 16 00 01 64 16 00 01 "
	  "64 00 01 63"),
	R("dup will delay (will properties)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "10 1F 00 04 4D 51 54 54 05 06 00 3C 00 00 01 63 0A 18 00 00 00 01 18 00 "
	  "00 00 01 00 01 77 00 01 6D"),
	R("dup assigned client id (CONNACK)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "20 0B 00 00 08 12 00 01 61 12 00 01 62"),
	R("dup server keepalive (CONNACK)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "20 09 00 00 06 13 00 0A 13 00 0A"),
	R("dup response info (CONNACK)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "20 0B 00 00 08 1A 00 01 69 1A 00 01 69"),
	R("dup maximum QoS (CONNACK)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "20 07 00 00 04 24 01 24 00"),
	R("dup retain available (CONNACK)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "20 07 00 00 04 25 01 25 01"),
	R("dup wildcard available (CONNACK)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "20 07 00 00 04 28 00 28 00"),
	R("dup shared available (CONNACK)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "20 07 00 00 04 2A 01 2A 01"),
	R("dup reason string (PUBACK)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "40 0C 00 01 00 08 1F 00 01 72 1F 00 01 72"),
	R("dup server reference (DISCONNECT)", 5, SERVER, 0, PROPERTY_DUPLICATE,
	  "E0 0A 9D 08 1C 00 01 68 1C 00 01 68"),
	R("dup session expiry (client DISCONNECT)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "E0 0C 00 0A 11 00 00 00 01 11 00 00 00 01"),
	R("dup subscription id (SUBSCRIBE)", 5, CLIENT, 0, PROPERTY_DUPLICATE,
	  "82 0B 00 01 04 0B 01 0B 02 00 01 61 00"),
	R("session expiry in PUBLISH", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "30 0A 00 01 61 05 11 00 00 00 0A 78"),
	R("receive maximum in PUBLISH", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "30 08 00 01 61 03 21 00 0A 78"),
	R("reason string in PUBLISH", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "30 09 00 01 61 04 1F 00 01 72 78"),
	R("topic alias in CONNECT", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "10 11 00 04 4D 51 54 54 05 02 00 3C 03 23 00 01 00 01 63"),
	R("will delay in CONNECT properties", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "10 13 00 04 4D 51 54 54 05 02 00 3C 05 18 00 00 00 01 00 01 63"),
	R("payload format in CONNECT properties", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "10 10 00 04 4D 51 54 54 05 02 00 3C 02 01 01 00 01 63"),
	R("assigned client id in CONNECT", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "10 12 00 04 4D 51 54 54 05 02 00 3C 04 12 00 01 61 00 01 63"),
	R("session expiry in will properties", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "10 1A 00 04 4D 51 54 54 05 06 00 3C 00 00 01 63 05 11 00 00 00 01 00 01 "
	  "77 00 01 6D"),
	R("topic alias in will properties", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "10 18 00 04 4D 51 54 54 05 06 00 3C 00 00 01 63 03 23 00 01 00 01 77 00 "
	  "01 6D"),
	R("will delay in CONNACK", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "20 08 00 00 05 18 00 00 00 01"),
	R("request problem info in CONNACK", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "20 05 00 00 02 17 01"),
	R("subscription id in CONNACK", 5, SERVER, 0, PROPERTY_NOT_ALLOWED, "20 05 00 00 02 0B 01"),
	R("message expiry in CONNACK", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "20 08 00 00 05 02 00 00 00 01"),
	R("session expiry in PUBACK", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "40 09 00 01 00 05 11 00 00 00 01"),
	R("content type in PUBREL", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "62 08 00 01 00 04 03 00 01 74"),
	R("reason string in SUBSCRIBE", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "82 0B 00 01 04 1F 00 01 72 00 01 61 00"),
	R("subscription id in SUBACK", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "90 06 00 01 02 0B 01 00"),
	R("subscription id in UNSUBSCRIBE", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "A2 08 00 01 02 0B 01 00 01 61"),
	R("server reference in UNSUBACK", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "B0 08 00 01 04 1C 00 01 68 00"),
	R("receive maximum in DISCONNECT", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "E0 05 00 03 21 00 01"),
	R("session expiry in AUTH", 5, SERVER, 0, PROPERTY_NOT_ALLOWED,
	  "F0 07 18 05 11 00 00 00 01"),
	R("topic alias maximum in AUTH", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "F0 05 18 03 22 00 01"),
	R("subscription id in will properties", 5, CLIENT, 0, PROPERTY_NOT_ALLOWED,
	  "10 17 00 04 4D 51 54 54 05 06 00 3C 00 00 01 63 02 0B 01 00 01 77 00 01 "
	  "6D"),
	R("unknown property 0x00 (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 00 00 78"),
	R("unknown property 0x04 (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 04 00 78"),
	R("unknown property 0x05 (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 05 00 78"),
	R("unknown property 0x07 (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 07 00 78"),
	R("unknown property 0x0A (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 0A 00 78"),
	R("unknown property 0x0C (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 0C 00 78"),
	R("unknown property 0x10 (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 10 00 78"),
	R("unknown property 0x14 (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 14 00 78"),
	R("unknown property 0x1B (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 1B 00 78"),
	R("unknown property 0x1D (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 1D 00 78"),
	R("unknown property 0x20 (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 20 00 78"),
	R("unknown property 0x2B (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 2B 00 78"),
	R("unknown property 0x7F (PUBLISH)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "30 07 00 01 61 02 7F 00 78"),
	R("unknown property 0x80 as 80 01 (CONNACK)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "20 06 00 00 03 80 01 00"),
	R("unknown property 0x06 (CONNECT)", 5, CLIENT, 0, PROPERTY_UNKNOWN,
	  "10 10 00 04 4D 51 54 54 05 02 00 3C 02 06 00 00 01 63"),
	R("unknown property 0x1E (DISCONNECT)", 5, SERVER, 0, PROPERTY_UNKNOWN,
	  "E0 04 00 02 1E 00"),
	R("receive maximum 0 (CONNECT)", 5, CLIENT, 0, PROPERTY_VALUE,
	  "10 11 00 04 4D 51 54 54 05 02 00 3C 03 21 00 00 00 01 63"),
	R("receive maximum 0 (CONNACK)", 5, SERVER, 0, PROPERTY_VALUE, "20 06 00 00 03 21 00 00"),
	R("maximum QoS 2 (CONNACK)", 5, SERVER, 0, PROPERTY_VALUE, "20 05 00 00 02 24 02"),
	R("maximum packet size 0 (CONNECT)", 5, CLIENT, 0, PROPERTY_VALUE,
	  "10 13 00 04 4D 51 54 54 05 02 00 3C 05 27 00 00 00 00 00 01 63"),
	R("maximum packet size 0 (CONNACK)", 5, SERVER, 0, PROPERTY_VALUE,
	  "20 08 00 00 05 27 00 00 00 00"),
	R("payload format 2 (PUBLISH)", 5, SERVER, 0, PROPERTY_VALUE, "30 07 00 01 61 02 01 02 78"),
	R("payload format 2 (will properties)", 5, CLIENT, 0, PROPERTY_VALUE,
	  "10 17 00 04 4D 51 54 54 05 06 00 3C 00 00 01 63 02 01 02 00 01 77 00 01 "
	  "6D"),
	R("request problem info 2 (CONNECT)", 5, CLIENT, 0, PROPERTY_VALUE,
	  "10 10 00 04 4D 51 54 54 05 02 00 3C 02 17 02 00 01 63"),
	R("request response info 2 (CONNECT)", 5, CLIENT, 0, PROPERTY_VALUE,
	  "10 10 00 04 4D 51 54 54 05 02 00 3C 02 19 02 00 01 63"),
	R("retain available 2 (CONNACK)", 5, SERVER, 0, PROPERTY_VALUE, "20 05 00 00 02 25 02"),
	R("wildcard available 2 (CONNACK)", 5, SERVER, 0, PROPERTY_VALUE, "20 05 00 00 02 28 02"),
	R("subscription id available 2 (CONNACK)", 5, SERVER, 0, PROPERTY_VALUE,
	  "20 05 00 00 02 29 02"),
	R("shared available FF (CONNACK)", 5, SERVER, 0, PROPERTY_VALUE, "20 05 00 00 02 2A FF"),
	R("subscription id 0 (SUBSCRIBE)", 5, CLIENT, 0, PROPERTY_VALUE,
	  "82 09 00 01 02 0B 00 00 01 61 00"),
	R("subscription id 0 (PUBLISH)", 5, SERVER, 0, PROPERTY_VALUE,
	  "30 07 00 01 61 02 0B 00 78"),
	R("SUBACK with no reason codes", 4, SERVER, 0, EMPTY_PAYLOAD, "90 02 00 01"),
	R("SUBACK with no reason codes (5.0)", 5, SERVER, 0, EMPTY_PAYLOAD, "90 03 00 01 00"),
	R("UNSUBACK with no reason codes (5.0)", 5, SERVER, 0, EMPTY_PAYLOAD, "B0 03 00 01 00"),
	R("SUBSCRIBE with no filters", 4, CLIENT, 0, EMPTY_PAYLOAD, "82 02 00 01"),
	R("SUBSCRIBE with no filters (5.0)", 5, CLIENT, 0, EMPTY_PAYLOAD, "82 03 00 01 00"),
	R("UNSUBSCRIBE with no filters", 4, CLIENT, 0, EMPTY_PAYLOAD, "A2 02 00 01"),
	R("UNSUBSCRIBE with no filters (5.0)", 5, CLIENT, 0, EMPTY_PAYLOAD, "A2 03 00 01 00"),
	R("CONNACK return code 6 (3.1.1)", 4, SERVER, 0, REASON_CODE, "20 02 00 06"),
	R("CONNACK return code 0x80 (3.1.1)", 4, SERVER, 0, REASON_CODE, "20 02 00 80"),
	R("CONNACK return code 6 (3.1)", 3, SERVER, 0, REASON_CODE, "20 02 00 06"),
	R("CONNACK reason 0x01 (5.0)", 5, SERVER, 0, REASON_CODE, "20 03 00 01 00"),
	R("CONNACK reason 0x8E, a DISCONNECT code (5.0)", 5, SERVER, 0, REASON_CODE,
	  "20 03 00 8E 00"),
	R("PUBACK reason 0x05", 5, SERVER, 0, REASON_CODE, "40 04 00 01 05 00"),
	R("PUBACK reason 0x92, a PUBREL code", 5, SERVER, 0, REASON_CODE, "40 04 00 01 92 00"),
	R("PUBACK reason without properties 0x05", 5, SERVER, 0, REASON_CODE, "40 03 00 01 05"),
	R("PUBREC reason 0x01", 5, SERVER, 0, REASON_CODE, "50 04 00 01 01 00"),
	R("PUBREL reason 0x80", 5, CLIENT, 0, REASON_CODE, "62 04 00 01 80 00"),
	R("PUBCOMP reason 0x10", 5, SERVER, 0, REASON_CODE, "70 04 00 01 10 00"),
	R("SUBACK return code 0x03 (3.1.1)", 4, SERVER, 0, REASON_CODE, "90 03 00 01 03"),
	R("SUBACK return code 0x81 (3.1.1)", 4, SERVER, 0, REASON_CODE, "90 04 00 01 00 81"),
	R("SUBACK return code 0x80 (3.1)", 3, SERVER, 0, REASON_CODE, "90 03 00 01 80"),
	R("SUBACK reason 0x03 (5.0)", 5, SERVER, 0, REASON_CODE, "90 04 00 01 00 03"),
	R("SUBACK second reason 0x11 (5.0)", 5, SERVER, 0, REASON_CODE, "90 05 00 01 00 01 11"),
	R("UNSUBACK reason 0x01 (5.0)", 5, SERVER, 0, REASON_CODE, "B0 04 00 01 00 01"),
	R("UNSUBACK reason 0x02 after 0x00 (5.0)", 5, SERVER, 0, REASON_CODE,
	  "B0 05 00 01 00 00 02"),
	R("DISCONNECT reason 0x05 (server)", 5, SERVER, 0, REASON_CODE, "E0 02 05 00"),
	R("DISCONNECT reason 0x01 without properties (client)", 5, CLIENT, 0, REASON_CODE,
	  "E0 01 01"),
	R("AUTH reason 0x01", 5, SERVER, 0, REASON_CODE, "F0 02 01 00"),
	R("AUTH reason 0x80 (client)", 5, CLIENT, 0, REASON_CODE, "F0 02 80 00"),
	R("CONNACK reserved flag bit 1", 4, SERVER, 0, CONNACK_FLAGS, "20 02 02 00"),
	R("CONNACK reserved flag bit 7", 4, SERVER, 0, CONNACK_FLAGS, "20 02 80 00"),
	R("CONNACK reserved flag bits (5.0)", 5, SERVER, 0, CONNACK_FLAGS, "20 03 FE 00 00"),
	R("CONNACK session present with refusal 5", 4, SERVER, 0, CONNACK_FLAGS, "20 02 01 05"),
	R("CONNACK session present with refusal 0x87 (5.0)", 5, SERVER, 0, CONNACK_FLAGS,
	  "20 03 01 87 00"),
	R("CONNECT protocol name MQTX", 4, CLIENT, 0, PROTOCOL_NAME,
	  "10 0D 00 04 4D 51 54 58 04 02 00 3C 00 01 63"),
	R("CONNECT protocol name mqtt", 4, CLIENT, 0, PROTOCOL_NAME,
	  "10 0D 00 04 6D 71 74 74 04 02 00 3C 00 01 63"),
	R("CONNECT empty protocol name", 4, CLIENT, 0, PROTOCOL_NAME,
	  "10 09 00 00 04 02 00 3C 00 01 63"),
	R("CONNECT protocol name MQTTT", 5, CLIENT, 0, PROTOCOL_NAME,
	  "10 0F 00 05 4D 51 54 54 54 05 02 00 3C 00 00 01 63"),
	R("CONNECT level 6", 4, CLIENT, 0, PROTOCOL_VERSION,
	  "10 0D 00 04 4D 51 54 54 06 02 00 3C 00 01 63"),
	R("CONNECT level 0", 4, CLIENT, 0, PROTOCOL_VERSION,
	  "10 0D 00 04 4D 51 54 54 00 02 00 3C 00 01 63"),
	R("CONNECT MQTT with level 3", 4, CLIENT, 0, PROTOCOL_VERSION,
	  "10 0D 00 04 4D 51 54 54 03 02 00 3C 00 01 63"),
	R("CONNECT MQIsdp with level 4", 4, CLIENT, 0, PROTOCOL_VERSION,
	  "10 0F 00 06 4D 51 49 73 64 70 04 02 00 3C 00 01 63"),
	R("CONNECT MQIsdp with level 5", 5, CLIENT, 0, PROTOCOL_VERSION,
	  "10 10 00 06 4D 51 49 73 64 70 05 02 00 3C 00 00 01 63"),
	R("CONNECT reserved flag bit", 4, CLIENT, 0, CONNECT_FLAGS,
	  "10 0D 00 04 4D 51 54 54 04 03 00 3C 00 01 63"),
	R("CONNECT reserved flag bit (5.0)", 5, CLIENT, 0, CONNECT_FLAGS,
	  "10 0E 00 04 4D 51 54 54 05 01 00 3C 00 00 01 63"),
	R("CONNECT will QoS 3", 4, CLIENT, 0, CONNECT_FLAGS,
	  "10 13 00 04 4D 51 54 54 04 1E 00 3C 00 01 63 00 01 77 00 01 6D"),
	R("CONNECT will QoS 3 (5.0)", 5, CLIENT, 0, CONNECT_FLAGS,
	  "10 15 00 04 4D 51 54 54 05 1E 00 3C 00 00 01 63 00 00 01 77 00 01 6D"),
	R("CONNECT will QoS 1 without will flag", 4, CLIENT, 0, CONNECT_FLAGS,
	  "10 0D 00 04 4D 51 54 54 04 0A 00 3C 00 01 63"),
	R("CONNECT will QoS 2 without will flag", 4, CLIENT, 0, CONNECT_FLAGS,
	  "10 0D 00 04 4D 51 54 54 04 12 00 3C 00 01 63"),
	R("CONNECT will retain without will flag", 4, CLIENT, 0, CONNECT_FLAGS,
	  "10 0D 00 04 4D 51 54 54 04 22 00 3C 00 01 63"),
	R("CONNECT will retain without will flag (5.0)", 5, CLIENT, 0, CONNECT_FLAGS,
	  "10 0E 00 04 4D 51 54 54 05 22 00 3C 00 00 01 63"),
	R("CONNECT password without user name (3.1.1)", 4, CLIENT, 0, CONNECT_FLAGS,
	  "10 10 00 04 4D 51 54 54 04 42 00 3C 00 01 63 00 01 70"),
	R("CONNECT password without user name (3.1)", 3, CLIENT, 0, CONNECT_FLAGS,
	  "10 12 00 06 4D 51 49 73 64 70 03 42 00 3C 00 01 63 00 01 70"),
	R("CONNECT 3.1 client id of 24 bytes", 3, CLIENT, 0, CLIENT_ID,
	  "10 26 00 06 4D 51 49 73 64 70 03 02 00 3C 00 18 61 61 61 61 61 61 61 61 "
	  "61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61"),
	R("CONNECT 3.1 empty client id", 3, CLIENT, 0, CLIENT_ID,
	  "10 0E 00 06 4D 51 49 73 64 70 03 02 00 3C 00 00"),
	R("SUBSCRIBE options reserved bit 2 (3.1.1)", 4, CLIENT, 0, SUBSCRIPTION_OPTIONS,
	  "82 06 00 01 00 01 61 04"),
	R("SUBSCRIBE options reserved bit 7 (3.1.1)", 4, CLIENT, 0, SUBSCRIPTION_OPTIONS,
	  "82 06 00 01 00 01 61 81"),
	R("SUBSCRIBE second entry reserved bits (3.1.1)", 4, CLIENT, 0, SUBSCRIPTION_OPTIONS,
	  "82 0A 00 01 00 01 61 01 00 01 62 10"),
	R("SUBSCRIBE requested QoS 3 (3.1.1)", 4, CLIENT, 0, QOS, "82 06 00 01 00 01 61 03"),
	R("SUBSCRIBE options reserved bit 6 (5.0)", 5, CLIENT, 0, SUBSCRIPTION_OPTIONS,
	  "82 07 00 01 00 00 01 61 40"),
	R("SUBSCRIBE options reserved bit 7 (5.0)", 5, CLIENT, 0, SUBSCRIPTION_OPTIONS,
	  "82 07 00 01 00 00 01 61 81"),
	R("SUBSCRIBE retain handling 3 (5.0)", 5, CLIENT, 0, SUBSCRIPTION_OPTIONS,
	  "82 07 00 01 00 00 01 61 30"),
	R("SUBSCRIBE options QoS 3 (5.0)", 5, CLIENT, 0, QOS, "82 07 00 01 00 00 01 61 03"),
	R("SUBSCRIBE shared filter with no local (5.0)", 5, CLIENT, 0, PROTOCOL,
	  "82 10 00 01 00 00 0A 24 73 68 61 72 65 2F 67 2F 61 04"),
	R("SUBSCRIBE filter a/#/b", 4, CLIENT, 0, TOPIC_FILTER,
	  "82 0A 00 01 00 05 61 2F 23 2F 62 00"),
	R("SUBSCRIBE filter a+", 4, CLIENT, 0, TOPIC_FILTER, "82 07 00 01 00 02 61 2B 00"),
	R("SUBSCRIBE filter #a (5.0)", 5, CLIENT, 0, TOPIC_FILTER, "82 08 00 01 00 00 02 23 61 00"),
	R("SUBSCRIBE empty filter", 4, CLIENT, 0, TOPIC_FILTER, "82 05 00 01 00 00 00"),
	R("SUBSCRIBE shared filter, empty group (5.0)", 5, CLIENT, 0, TOPIC_FILTER,
	  "82 0F 00 01 00 00 09 24 73 68 61 72 65 2F 2F 61 00"),
	R("SUBSCRIBE shared filter, no filter (5.0)", 5, CLIENT, 0, TOPIC_FILTER,
	  "82 0E 00 01 00 00 08 24 73 68 61 72 65 2F 67 00"),
	R("SUBSCRIBE filter: overlong", 4, CLIENT, 0, UTF8, "82 07 00 01 00 02 C0 AF 00"),
	R("SUBSCRIBE filter: U+0000 (5.0)", 5, CLIENT, 0, UTF8_NUL,
	  "82 08 00 01 00 00 02 61 00 00"),
	R("UNSUBSCRIBE filter a/#/b", 4, CLIENT, 0, TOPIC_FILTER,
	  "A2 09 00 01 00 05 61 2F 23 2F 62"),
	R("UNSUBSCRIBE empty filter (5.0)", 5, CLIENT, 0, TOPIC_FILTER, "A2 05 00 01 00 00 00"),
	R("UNSUBSCRIBE shared filter, empty group (5.0)", 5, CLIENT, 0, TOPIC_FILTER,
	  "A2 0E 00 01 00 00 09 24 73 68 61 72 65 2F 2F 61"),
	R("UNSUBSCRIBE filter: surrogate", 4, CLIENT, 0, UTF8, "A2 07 00 01 00 03 ED A0 80"),
	R("server DISCONNECT with session expiry", 5, SERVER, 0, PROTOCOL,
	  "E0 07 00 05 11 00 00 00 0A"),
	R("server DISCONNECT 0x8B with session expiry", 5, SERVER, 0, PROTOCOL,
	  "E0 07 8B 05 11 00 00 00 00"),
	R("subscription id in a client's PUBLISH", 5, CLIENT, 0, PROTOCOL,
	  "30 07 00 01 61 02 0B 05 78"),
	R("auth data without auth method (CONNECT)", 5, CLIENT, 0, PROTOCOL,
	  "10 12 00 04 4D 51 54 54 05 02 00 3C 04 16 00 01 64 00 01 63"),
};

static const struct row good[] = {
	A("non-minimal length accepted (3.1.1)", 4, CLIENT, 0, "C0 80 00"),
	A("non-minimal CONNACK length accepted (3.1.1)", 4, SERVER, 0, "20 82 00 00 00"),
	A("4-byte non-minimal zero length (3.1.1)", 4, SERVER, 0, "D0 80 80 80 00"),
	A("packet exactly at max packet size", 4, SERVER, 12,
	  "30 0A 00 03 61 2F 62 68 65 6C 6C 6F"),
	A("largest 1-byte length", 4, SERVER, 0,
	  "30 7F 00 01 61 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70"),
	A("smallest 2-byte length", 5, SERVER, 0,
	  "30 80 01 00 01 61 00 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 70 "
	  "70 70 70 70 70 70 70 70 70 70 70"),
	A("PUBREL with DUP (3.1)", 3, SERVER, 0, "6A 02 00 01"),
	A("SUBSCRIBE with DUP (3.1)", 3, CLIENT, 0, "8A 06 00 01 00 01 61 00"),
	A("UNSUBSCRIBE with DUP (3.1)", 3, CLIENT, 0, "AA 05 00 01 00 01 61"),
	A("CONNACK reserved byte ignored (3.1)", 3, SERVER, 0, "20 02 FF 00"),
	A("3.1 client id of 23 bytes", 3, CLIENT, 0,
	  "10 25 00 06 4D 51 49 73 64 70 03 02 00 3C 00 17 61 61 61 61 61 61 61 61 "
	  "61 61 61 61 61 61 61 61 61 61 61 61 61 61 61"),
	A("3.1.1 empty client id, clean session", 4, CLIENT, 0,
	  "10 0C 00 04 4D 51 54 54 04 02 00 3C 00 00"),
	A("5.0 password without user name", 5, CLIENT, 0,
	  "10 11 00 04 4D 51 54 54 05 42 00 3C 00 00 01 63 00 01 70"),
	A("5.0 will with properties, QoS 2, retain", 5, CLIENT, 0,
	  "10 20 00 04 4D 51 54 54 05 36 00 3C 00 00 01 63 0B 18 00 00 00 05 01 01 "
	  "03 00 01 74 00 01 77 00 01 6D"),
	A("5.0 empty topic with a topic alias", 5, SERVER, 0, "30 07 00 00 03 23 00 01 78"),
	A("5.0 topic alias 65535", 5, SERVER, 0, "30 08 00 01 61 03 23 FF FF 78"),
	A("5.0 PUBLISH with two subscription ids", 5, SERVER, 0,
	  "30 0C 00 01 61 07 0B 01 0B FF FF FF 7F 78"),
	A("5.0 correlation data is binary", 5, SERVER, 0,
	  "30 0B 00 01 61 06 09 00 03 FF 00 C0 78"),
	A("5.0 user property repeated", 5, SERVER, 0,
	  "30 13 00 01 61 0E 26 00 01 6B 00 01 76 26 00 01 6B 00 01 76 78"),
	A("5.0 PUBACK without reason code", 5, SERVER, 0, "40 02 00 01"),
	A("5.0 PUBACK reason without properties", 5, SERVER, 0, "40 03 00 01 10"),
	A("5.0 PUBREL reason 0x92", 5, CLIENT, 0, "62 04 00 01 92 00"),
	A("5.0 DISCONNECT with no body (server)", 5, SERVER, 0, "E0 00"),
	A("5.0 DISCONNECT reason only (server)", 5, SERVER, 0, "E0 01 8B"),
	A("5.0 client DISCONNECT with session expiry", 5, CLIENT, 0,
	  "E0 07 04 05 11 00 00 00 0A"),
	A("5.0 AUTH with no body", 5, SERVER, 0, "F0 00"),
	A("5.0 AUTH continue with method and data", 5, CLIENT, 0,
	  "F0 0B 18 09 15 00 01 6D 16 00 02 00 FF"),
	A("topic with control character and U+FFFF", 4, SERVER, 0,
	  "30 07 00 04 01 EF BF BF 78"),
	A("topic with a 4-byte character", 4, SERVER, 0, "30 07 00 04 F0 9F 98 80 78"),
	A("topic '/' only", 4, SERVER, 0, "30 04 00 01 2F 78"),
	A("PUBLISH QoS 2, DUP, retain", 4, SERVER, 0, "3D 06 00 01 61 FF FF 78"),
	A("PUBLISH with an empty payload (5.0)", 5, SERVER, 0, "32 06 00 01 61 00 07 00"),
	A("SUBACK failure 0x80 (3.1.1)", 4, SERVER, 0, "90 06 00 01 00 01 02 80"),
	A("SUBACK 0xA2 (5.0)", 5, SERVER, 0, "90 06 00 01 00 02 80 A2"),
	A("UNSUBACK 0x11 (5.0)", 5, SERVER, 0, "B0 06 00 01 00 00 11 8F"),
	A("UNSUBACK (3.1.1)", 4, SERVER, 0, "B0 02 00 01"),
	A("CONNACK session present (3.1.1)", 4, SERVER, 0, "20 02 01 00"),
	A("CONNACK refusal 5 (3.1.1)", 4, SERVER, 0, "20 02 00 05"),
	A("CONNACK 5.0 with server properties", 5, SERVER, 0,
	  "20 17 01 00 14 21 00 0A 24 01 27 00 00 10 00 22 00 05 25 00 12 00 02 69 "
	  "64"),
	A("SUBSCRIBE all option bits valid (5.0)", 5, CLIENT, 0,
	  "82 0F 00 01 00 00 05 61 2F 2B 2F 62 2E 00 01 23 1D"),
	A("SUBSCRIBE shared filter (5.0)", 5, CLIENT, 0,
	  "82 13 00 01 03 0B 80 01 00 0A 24 73 68 61 72 65 2F 67 2F 23 01"),
	A("SUBSCRIBE $share/ as an ordinary filter (3.1.1)", 4, CLIENT, 0,
	  "82 0F 00 01 00 0A 24 73 68 61 72 65 2F 67 2F 61 02"),
	A("UNSUBSCRIBE two filters (5.0)", 5, CLIENT, 0,
	  "A2 0B 00 01 00 00 03 61 2F 23 00 01 2B"),
	A("3.1.1 empty client id without clean session", 4, CLIENT, 0,
	  "10 0C 00 04 4D 51 54 54 04 00 00 3C 00 00"),
	A("3.1 CONNACK byte 1 ignored with a refusal", 3, SERVER, 0, "20 02 01 05"),
	A("5.0 server DISCONNECT with reason and empty properties", 5, SERVER, 0,
	  "E0 02 00 00"),
	A("5.0 PUBACK 0x10 with properties", 5, SERVER, 0,
	  "40 15 00 01 10 11 1F 00 0E 6E 6F 20 73 75 62 73 63 72 69 62 65 72 73"),
	A("5.0 CONNACK 0x9F", 5, SERVER, 0, "20 03 00 9F 00"),
	A("5.0 will with a user property, QoS 1, retain", 5, CLIENT, 0,
	  "10 1C 00 04 4D 51 54 54 05 2E 00 3C 00 00 01 63 07 26 00 01 61 00 01 62 "
	  "00 01 77 00 01 6D"),
	A("3.1.1 CONNECT user name, password, keepalive 0", 4, CLIENT, 0,
	  "10 14 00 04 4D 51 54 54 04 C2 00 00 00 01 63 00 01 75 00 02 00 FF"),
	A("5.0 client PUBLISH with topic and alias", 5, CLIENT, 0,
	  "30 08 00 01 61 03 23 00 05 78"),
	A("5.0 CONNECT with auth method and data", 5, CLIENT, 0,
	  "10 1B 00 04 4D 51 54 54 05 02 00 3C 0D 15 00 05 53 43 52 41 4D 16 00 02 "
	  "01 02 00 01 63"),
};
/* clang-format on */

#define NROWS(t) (sizeof(t) / sizeof(t[0]))

/* Records one assertion; on failure the message names the row. */
static void row_check(bool ok, const struct row *r, const char *what, int got, unsigned line)
{
	char msg[512];
	if (!ok)
		snprintf(msg, sizeof msg, "row \"%s\" (v%u, %s, %s): %s gave %s, expected %s",
		         r->desc, r->version, r->peer == FERRY_PEER_SERVER ? "server" : "client",
		         r->hex, what, ferry_errname(got), ferry_errname(r->err));
	else
		msg[0] = 0;
	CU_assertImplementation(ok, line, msg, __FILE__, "", CU_FALSE);
}

/*
 * Feeds the bytes to a frame reader one at a time. A reader error must be the
 * row's error; a complete frame must use every byte and decode to the row's
 * error; running out of bytes without a frame means the row is truncated.
 */
static void check_framed(const struct row *r, const struct ferry_codec_cfg *cfg, const uint8_t *in,
                         size_t n)
{
	struct ferry_frame_reader fr;
	ferry__frame_reader_init(&fr, r->max, r->version == 5);
	for (size_t i = 0; i < n; i++) {
		size_t used = 0;
		struct ferry_frame f;
		bool complete = false;
		int rc = ferry__frame_next(&fr, in + i, 1, &used, &f, &complete);
		if (rc) {
			row_check(rc == r->err, r, "the frame reader", rc, __LINE__);
			goto out;
		}
		if (complete) {
			row_check(i + 1 == n, r, "a frame shorter than the input", FERRY_OK,
			          __LINE__);
			struct ferry_packet p;
			rc = ferry__decode(cfg, f.data, f.len, &p);
			row_check(rc == r->err, r, "ferry__decode of the reader's frame", rc,
			          __LINE__);
			goto out;
		}
	}
	row_check(r->err == FERRY_ERR_TRUNCATED, r, "an unfinished frame", FERRY_ERR_TRUNCATED,
	          __LINE__);
out:
	ferry__frame_reader_free(&fr);
}

static void check_row(const struct row *r)
{
	uint8_t in[512];
	size_t n = test_hex(r->hex, in, sizeof in);
	struct ferry_codec_cfg cfg = {
	    .version = r->version, .peer = r->peer, .max_packet_size = r->max};
	struct ferry_packet p;
	int rc = ferry__decode(&cfg, in, n, &p);
	row_check(rc == r->err, r, "ferry__decode", rc, __LINE__);
	check_framed(r, &cfg, in, n);
}

static void test_malformed_table(void)
{
	CU_ASSERT(NROWS(bad) >= 160);
	for (size_t i = 0; i < NROWS(bad); i++) {
		CU_ASSERT_FATAL(bad[i].err != FERRY_OK);
		check_row(&bad[i]);
	}
}

static void test_accepted_table(void)
{
	for (size_t i = 0; i < NROWS(good); i++)
		check_row(&good[i]);
}

/* Two rows with the same input and different errors would be a mistake in the table. */
static void test_table_consistent(void)
{
	for (size_t i = 0; i < NROWS(bad); i++) {
		for (size_t j = i + 1; j < NROWS(bad); j++) {
			const struct row *a = &bad[i], *b = &bad[j];
			bool same = a->version == b->version && a->peer == b->peer &&
			            a->max == b->max && strcmp(a->hex, b->hex) == 0;
			CU_ASSERT(!same || a->err == b->err);
		}
		for (size_t j = 0; j < NROWS(good); j++)
			CU_ASSERT(strcmp(bad[i].hex, good[j].hex) != 0 ||
			          bad[i].version != good[j].version ||
			          bad[i].peer != good[j].peer || bad[i].max != good[j].max);
	}
}

/*
 * A 5.0 PUBLISH from the server whose property block is `head`, `users` User
 * Properties ("k" = "v"), then `tail`; topic "t", payload "x". Returns the
 * frame (malloc'd) and its length in *len.
 */
static uint8_t *many_users(const uint8_t *head, size_t hn, size_t users, const uint8_t *tail,
                           size_t tn, size_t *len)
{
	static const uint8_t user[] = {0x26, 0, 1, 'k', 0, 1, 'v'};
	size_t plen = hn + users * sizeof user + tn;
	size_t rl = 3 + ferry__varint_size((uint32_t)plen) + plen + 1;
	size_t cap = 1 + 4 + rl;
	uint8_t *buf = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	struct ferry_writer w;
	ferry__wr_init(&w, buf, cap);
	int rc = ferry__wr_u8(&w, 0x30);
	rc |= ferry__wr_varint(&w, (uint32_t)rl);
	rc |= ferry__wr_binary(&w, ferry__bytes_str("t"));
	rc |= ferry__wr_varint(&w, (uint32_t)plen);
	rc |= ferry__wr_raw(&w, head, hn);
	for (size_t i = 0; i < users; i++)
		rc |= ferry__wr_raw(&w, user, sizeof user);
	rc |= ferry__wr_raw(&w, tail, tn);
	rc |= ferry__wr_u8(&w, 'x');
	CU_ASSERT_FATAL(rc == FERRY_OK);
	*len = (size_t)(w.p - buf);
	return buf;
}

static void test_ten_thousand_user_properties(void)
{
	static const uint8_t fmt[] = {0x01, 0x01};
	struct ferry_codec_cfg cfg = {
	    .version = 5, .peer = FERRY_PEER_SERVER, .max_packet_size = 0};
	struct ferry_packet p;
	size_t len;
	uint8_t *buf = many_users(fmt, sizeof fmt, 10000, NULL, 0, &len);
	ASSERT_RC(ferry__decode(&cfg, buf, len, &p), FERRY_OK);
	CU_ASSERT_EQUAL(p.type, FERRY_PUBLISH);
	CU_ASSERT_EQUAL(p.u.publish.props.user_count, 10000);
	CU_ASSERT_EQUAL(p.u.publish.props.payload_format, 1);
	ASSERT_VIEW_STR(p.u.publish.payload, "x");
	struct ferry_prop_iter it;
	struct ferry_user_prop up;
	size_t seen = 0, right = 0;
	ferry__props_iter_init(&it, &p.u.publish.props);
	while (ferry__props_next_user(&it, &up)) {
		seen++;
		if (up.name.len == 1 && up.name.p[0] == 'k' && up.value.len == 1 &&
		    up.value.p[0] == 'v')
			right++;
	}
	CU_ASSERT_EQUAL(seen, 10000);
	CU_ASSERT_EQUAL(right, 10000);
	free(buf);

	/* The same, then Payload Format Indicator again: refused after the long scan. */
	buf = many_users(fmt, sizeof fmt, 10000, fmt, sizeof fmt, &len);
	ASSERT_RC(ferry__decode(&cfg, buf, len, &p), FERRY_ERR_PROPERTY_DUPLICATE);
	free(buf);
}

void register_malformed_suite(void)
{
	CU_pSuite s = test_suite("malformed");
	test_add(s, "malformed packets table", test_malformed_table);
	test_add(s, "edge cases that must decode", test_accepted_table);
	test_add(s, "table has no contradictory rows", test_table_consistent);
	test_add(s, "10,000 user properties", test_ten_thousand_user_properties);
}

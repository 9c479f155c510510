/*
 * reason.c - MQTT 5 reason codes (MQTT 5.0 section 2.4, table 2-6) and the
 * MQTT 3.1 / 3.1.1 CONNACK and SUBACK return codes (3.1.1 sections 3.2.2.3
 * and 3.9.3).
 *
 * MQTT 5: one row per code with the set of packets it may appear in (a bit
 * per packet type) and its name. Code 0x00 has three names depending on the
 * packet ("Success", "Normal disconnection", "Granted QoS 0"); the row holds
 * "Success" and ferry__reason_name picks the other two.
 *
 * MQTT 3.x: only CONNACK (0..5) and SUBACK (0, 1, 2, and 0x80 from 3.1.1 on)
 * carry a code; every other packet has none, so nothing is valid there.
 */
#include "reason.h"

#include <stddef.h>

#include "codec.h"

#define B(t)         (1u << (t))
#define R_CONNACK    B(FERRY_CONNACK)
#define R_PUBACK     B(FERRY_PUBACK)
#define R_PUBREC     B(FERRY_PUBREC)
#define R_PUBREL     B(FERRY_PUBREL)
#define R_PUBCOMP    B(FERRY_PUBCOMP)
#define R_SUBACK     B(FERRY_SUBACK)
#define R_UNSUBACK   B(FERRY_UNSUBACK)
#define R_DISCONNECT B(FERRY_DISCONNECT)
#define R_AUTH       B(FERRY_AUTH)
/* Packets that most failure codes share. */
#define R_PUB_FAIL (R_CONNACK | R_PUBACK | R_PUBREC | R_SUBACK | R_UNSUBACK | R_DISCONNECT)

struct reason_row {
	uint8_t code;
	uint16_t packets;
	const char *name;
};

static const struct reason_row reason5[] = {
    {0x00,
     R_CONNACK | R_PUBACK | R_PUBREC | R_PUBREL | R_PUBCOMP | R_UNSUBACK | R_AUTH | R_DISCONNECT |
         R_SUBACK,
     "Success"},
    {0x01, R_SUBACK, "Granted QoS 1"},
    {0x02, R_SUBACK, "Granted QoS 2"},
    {0x04, R_DISCONNECT, "Disconnect with Will Message"},
    {0x10, R_PUBACK | R_PUBREC, "No matching subscribers"},
    {0x11, R_UNSUBACK, "No subscription existed"},
    {0x18, R_AUTH, "Continue authentication"},
    {0x19, R_AUTH, "Re-authenticate"},
    {0x80, R_PUB_FAIL, "Unspecified error"},
    {0x81, R_CONNACK | R_DISCONNECT, "Malformed Packet"},
    {0x82, R_CONNACK | R_DISCONNECT, "Protocol Error"},
    {0x83, R_PUB_FAIL, "Implementation specific error"},
    {0x84, R_CONNACK, "Unsupported Protocol Version"},
    {0x85, R_CONNACK, "Client Identifier not valid"},
    {0x86, R_CONNACK, "Bad User Name or Password"},
    {0x87, R_PUB_FAIL, "Not authorized"},
    {0x88, R_CONNACK, "Server unavailable"},
    {0x89, R_CONNACK | R_DISCONNECT, "Server busy"},
    {0x8A, R_CONNACK, "Banned"},
    {0x8B, R_DISCONNECT, "Server shutting down"},
    {0x8C, R_CONNACK | R_DISCONNECT, "Bad authentication method"},
    {0x8D, R_DISCONNECT, "Keep Alive timeout"},
    {0x8E, R_DISCONNECT, "Session taken over"},
    {0x8F, R_SUBACK | R_UNSUBACK | R_DISCONNECT, "Topic Filter invalid"},
    {0x90, R_CONNACK | R_PUBACK | R_PUBREC | R_DISCONNECT, "Topic Name invalid"},
    {0x91, R_PUBACK | R_PUBREC | R_SUBACK | R_UNSUBACK, "Packet Identifier in use"},
    {0x92, R_PUBREL | R_PUBCOMP, "Packet Identifier not found"},
    {0x93, R_DISCONNECT, "Receive Maximum exceeded"},
    {0x94, R_DISCONNECT, "Topic Alias invalid"},
    {0x95, R_CONNACK | R_DISCONNECT, "Packet too large"},
    {0x96, R_DISCONNECT, "Message rate too high"},
    {0x97, R_CONNACK | R_PUBACK | R_PUBREC | R_SUBACK | R_DISCONNECT, "Quota exceeded"},
    {0x98, R_DISCONNECT, "Administrative action"},
    {0x99, R_CONNACK | R_PUBACK | R_PUBREC | R_DISCONNECT, "Payload format invalid"},
    {0x9A, R_CONNACK | R_DISCONNECT, "Retain not supported"},
    {0x9B, R_CONNACK | R_DISCONNECT, "QoS not supported"},
    {0x9C, R_CONNACK | R_DISCONNECT, "Use another server"},
    {0x9D, R_CONNACK | R_DISCONNECT, "Server moved"},
    {0x9E, R_SUBACK | R_DISCONNECT, "Shared Subscriptions not supported"},
    {0x9F, R_CONNACK | R_DISCONNECT, "Connection rate exceeded"},
    {0xA0, R_DISCONNECT, "Maximum connect time"},
    {0xA1, R_SUBACK | R_DISCONNECT, "Subscription Identifiers not supported"},
    {0xA2, R_SUBACK | R_DISCONNECT, "Wildcard Subscriptions not supported"},
};

/* MQTT 3.1.1 CONNACK return codes (3.1 uses the same six). */
static const char *const connack3[] = {
    "Connection Accepted",
    "Connection Refused, unacceptable protocol version",
    "Connection Refused, identifier rejected",
    "Connection Refused, Server unavailable",
    "Connection Refused, bad user name or password",
    "Connection Refused, not authorized",
};

static const char unknown[] = "Unknown reason code";

static const struct reason_row *reason5_find(uint8_t code)
{
	for (size_t i = 0; i < sizeof reason5 / sizeof reason5[0]; i++)
		if (reason5[i].code == code)
			return &reason5[i];
	return NULL;
}

static uint16_t ptype_bit(int ptype)
{
	if (ptype < FERRY_CONNECT || ptype > FERRY_AUTH)
		return 0;
	return (uint16_t)(1u << ptype);
}

/* 3.x SUBACK: 0, 1, 2 granted; 0x80 failure from 3.1.1 (level 4) on. */
static bool suback3_valid(uint8_t version, uint8_t code)
{
	return code <= 2 || (code == 0x80 && version == 4);
}

bool ferry__reason_valid(uint8_t version, int ptype, uint8_t code)
{
	if (version == 3 || version == 4) {
		if (ptype == FERRY_CONNACK)
			return code <= 5;
		if (ptype == FERRY_SUBACK)
			return suback3_valid(version, code);
		return false;
	}
	if (version != 5)
		return false;
	const struct reason_row *r = reason5_find(code);
	return r && (r->packets & ptype_bit(ptype));
}

/* Name of a 3.x code, or NULL when the packet carries none. */
static const char *name3(uint8_t version, int ptype, uint8_t code)
{
	static const char *const suback[] = {"Granted QoS 0", "Granted QoS 1", "Granted QoS 2"};
	if (ptype == FERRY_CONNACK)
		return code <= 5 ? connack3[code] : NULL;
	if (ptype == FERRY_SUBACK) {
		if (code <= 2)
			return suback[code];
		return suback3_valid(version, code) ? "Failure" : NULL;
	}
	return NULL;
}

const char *ferry__reason_name(uint8_t version, int ptype, uint8_t code)
{
	const char *name;
	if (version == 3 || version == 4) {
		name = name3(version, ptype, code);
		return name ? name : unknown;
	}
	if (code == 0x00 && ptype == FERRY_DISCONNECT)
		return "Normal disconnection";
	if (code == 0x00 && ptype == FERRY_SUBACK)
		return "Granted QoS 0";
	const struct reason_row *r = reason5_find(code);
	return r ? r->name : unknown;
}

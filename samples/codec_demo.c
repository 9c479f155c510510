/*
 * codec_demo.c - ferry's packet codec at work, readable: builds MQTT packets
 * of each protocol version, encodes them, feeds the bytes back one at a time
 * through the incremental frame reader, decodes them and prints both forms;
 * then shows malformed packets being refused with their reasons.
 *
 * (The durable-queue demo replaces this once the client and store land.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "dump.h"
#include "ferry/ferry.h"
#include "frame.h"

static const char *version_name(uint8_t v)
{
	return v == 3 ? "MQTT 3.1" : v == 4 ? "MQTT 3.1.1" : "MQTT 5.0";
}

static void print_hex(const uint8_t *p, size_t n)
{
	printf("    bytes (%zu):", n);
	for (size_t i = 0; i < n && i < 48; i++)
		printf(" %02x", p[i]);
	printf(n > 48 ? " ...\n" : "\n");
}

/* Encode, print, reassemble one byte at a time, decode, print. Returns 0 on success. */
static int show(uint8_t version, uint8_t peer, const struct ferry_packet *pkt)
{
	char text[512];
	size_t size;
	int rc = ferry__encode_size(version, pkt, &size);
	if (rc) {
		printf("  encode failed: %s\n", ferry_strerror(rc));
		return 1;
	}
	uint8_t *buf = malloc(size);
	if (!buf)
		return 1;
	size_t len;
	rc = ferry__encode(version, pkt, buf, size, &len);
	if (rc)
		goto out;
	ferry__packet_dump(version, pkt, text, sizeof text);
	printf("  %s\n", text);
	print_hex(buf, len);

	struct ferry_frame_reader rd;
	ferry__frame_reader_init(&rd, 0, version == 5);
	struct ferry_frame frame = {0};
	bool complete = false;
	for (size_t i = 0; i < len && !rc; i++) {
		size_t used;
		rc = ferry__frame_next(&rd, buf + i, 1, &used, &frame, &complete);
	}
	if (!rc && complete) {
		struct ferry_codec_cfg cfg = {.version = version, .peer = peer};
		struct ferry_packet back;
		rc = ferry__decode(&cfg, frame.data, frame.len, &back);
		if (!rc) {
			ferry__packet_dump(version, &back, text, sizeof text);
			printf("    decoded from %zu one-byte chunks: %s\n", len, text);
		}
	}
	ferry__frame_reader_free(&rd);
out:
	if (rc)
		printf("    FAILED: %s\n", ferry_strerror(rc));
	free(buf);
	return rc ? 1 : 0;
}

static int show_versions(void)
{
	int bad = 0;
	struct ferry_user_prop up[] = {{ferry__bytes_str("site"), ferry__bytes_str("gateway-7")}};
	for (uint8_t v = 3; v <= 5; v++) {
		printf("\n%s\n", version_name(v));
		struct ferry_packet c = {.type = FERRY_CONNECT};
		c.u.connect.version = v;
		c.u.connect.clean_start = true;
		c.u.connect.keepalive = 30;
		c.u.connect.client_id = ferry__bytes_str("ferry-demo");
		c.u.connect.has_will = true;
		c.u.connect.will.qos = 1;
		c.u.connect.will.topic = ferry__bytes_str("devices/demo/status");
		c.u.connect.will.payload = ferry__bytes_str("offline");
		c.u.connect.has_username = true;
		c.u.connect.username = ferry__bytes_str("demo");
		c.u.connect.has_password = true;
		c.u.connect.password = ferry__bytes_str("secret");
		if (v == 5) {
			c.u.connect.props.present = FERRY_PROP_BIT(FERRY_PROP_SESSION_EXPIRY) |
			                            FERRY_PROP_BIT(FERRY_PROP_RECEIVE_MAXIMUM);
			c.u.connect.props.session_expiry = 3600;
			c.u.connect.props.receive_maximum = 100;
		}
		bad |= show(v, FERRY_PEER_CLIENT, &c);

		struct ferry_packet ca = {.type = FERRY_CONNACK};
		bad |= show(v, FERRY_PEER_SERVER, &ca);

		struct ferry_packet p = {.type = FERRY_PUBLISH};
		p.u.publish.qos = 1;
		p.u.publish.packet_id = 1;
		p.u.publish.topic = ferry__bytes_str("devices/demo/temperature");
		p.u.publish.payload = ferry__bytes_str("21.5");
		if (v == 5) {
			p.u.publish.props.present = FERRY_PROP_BIT(FERRY_PROP_CONTENT_TYPE);
			p.u.publish.props.content_type = ferry__bytes_str("text/plain");
			p.u.publish.props.user = up;
			p.u.publish.props.user_count = 1;
		}
		bad |= show(v, FERRY_PEER_CLIENT, &p);

		struct ferry_packet a = {.type = FERRY_PUBACK};
		a.u.ack.packet_id = 1;
		bad |= show(v, FERRY_PEER_SERVER, &a);

		struct ferry_sub_entry subs[] = {{ferry__bytes_str("devices/+/temperature"), 1},
		                                 {ferry__bytes_str("alerts/#"), 2}};
		struct ferry_packet s = {.type = FERRY_SUBSCRIBE};
		s.u.subscribe.packet_id = 2;
		s.u.subscribe.entries = subs;
		s.u.subscribe.count = 2;
		bad |= show(v, FERRY_PEER_CLIENT, &s);

		uint8_t granted[] = {1, 2};
		struct ferry_packet sa = {.type = FERRY_SUBACK};
		sa.u.suback.packet_id = 2;
		sa.u.suback.reasons = granted;
		sa.u.suback.count = 2;
		bad |= show(v, FERRY_PEER_SERVER, &sa);
	}
	return bad;
}

static void show_malformed(void)
{
	static const struct {
		const char *what;
		uint8_t version;
		uint8_t bytes[16];
		size_t len;
	} bad[] = {
		{"packet type 0", 4, {0x00, 0x00}, 2},
		{"PUBLISH with QoS 3", 4, {0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01}, 7},
		{"PUBLISH topic length beyond the packet", 4,
		 {0x30, 0x07, 0xFF, 0xFF, 0x41, 0x42, 0x43, 0x44, 0x45}, 9},
		{"PUBLISH topic with a wildcard", 4, {0x30, 0x05, 0x00, 0x03, 0x61, 0x2F, 0x23}, 7},
		{"CONNACK one byte short", 4, {0x20, 0x01, 0x00}, 3},
		{"SUBACK with no reason codes", 4, {0x90, 0x02, 0x00, 0x01}, 4},
		{"PUBACK for packet id 0", 4, {0x40, 0x02, 0x00, 0x00}, 4},
		{"MQTT 5 CONNACK with Receive Maximum 0", 5,
		 {0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00}, 8},
	};
	printf("\nMalformed input is refused with a reason:\n");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ferry_codec_cfg cfg = {.version = bad[i].version, .peer = FERRY_PEER_SERVER};
		struct ferry_packet p;
		int rc = ferry__decode(&cfg, bad[i].bytes, bad[i].len, &p);
		printf("  %-42s -> %s (%s)\n", bad[i].what, ferry_errname(rc), ferry_strerror(rc));
	}
}

int main(void)
{
	const char *v;
	ferry_version(&v);
	printf("ferry %s codec demo: encode -> bytes -> frame reader -> decode\n", v);
	int bad = show_versions();
	show_malformed();
	return bad ? 1 : 0;
}

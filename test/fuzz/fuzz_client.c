/*
 * fuzz_client.c - whole-client fuzzing: a real ferry client (its two
 * threads, session, store, codec) talks over a loopback TCP connection to a
 * "broker" played by this file, and the input decides everything: the
 * protocol version and limits the client is created with, every byte the
 * broker sends and how those bytes are split into writes, when the broker
 * answers what the client sent (acknowledging by packet id, as a broker
 * would, so deep session states are reached), closes or resets, and which
 * API calls the application makes in between (publish at each QoS, subscribe,
 * unsubscribe, re-authentication, disconnect). Sanitizers catch memory and
 * undefined-behaviour errors; the target itself checks that every accepted
 * operation completes exactly once by the time the client is destroyed.
 *
 * Ownership: one context and one listening socket live for the whole run;
 * each input gets its own client and connection, freed before it returns.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "frame.h"
#include "fuzz.h"
#include "ferry/ferry.h"

/* ---- the input, read front to back ------------------------------------------ */

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static size_t take_bytes(struct input *in, size_t want, const uint8_t **out)
{
	size_t n = want < in->n ? want : in->n;
	*out = in->p;
	in->p += n;
	in->n -= n;
	return n;
}

/* ---- process-wide set-up ------------------------------------------------------ */

static ferry_context *ctx;
static int listener = -1;
static char uri[64];

static void setup(void)
{
	if (ctx)
		return;
	if (ferry_context_create(NULL, &ctx) != FERRY_OK)
		abort();
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) ||
	    listen(listener, 16) || getsockname(listener, (struct sockaddr *)&a, &al))
		abort();
	snprintf(uri, sizeof uri, "tcp://127.0.0.1:%u", ntohs(a.sin_port));
}

/* ---- what the application sees ------------------------------------------------ */

struct app {
	atomic_int issued, completed, lost, messages;
	atomic_size_t checksum; /* touches every byte handed over, for the sanitizers */
};

static size_t touch(const void *p, size_t n)
{
	size_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s;
}

static size_t touch_props(const struct ferry_properties *pr)
{
	if (!pr)
		return 0;
	size_t s = pr->flags;
	for (size_t i = 0; i < pr->user_count; i++)
		s += strlen(pr->user[i].name) + strlen(pr->user[i].value);
	for (size_t i = 0; i < pr->subscription_id_count; i++)
		s += pr->subscription_ids[i];
	const char *strs[] = {pr->content_type, pr->response_topic, pr->reason_string,
	                      pr->assigned_client_id, pr->response_info, pr->server_reference};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		s += strs[i] ? strlen(strs[i]) : 0;
	if (pr->correlation_data)
		s += touch(pr->correlation_data, pr->correlation_len);
	return s;
}

static void on_message(ferry_client *c, void *user, const struct ferry_message *m)
{
	(void)c;
	struct app *a = user;
	atomic_fetch_add(&a->messages, 1);
	atomic_fetch_add(&a->checksum, strlen(m->topic) + touch(m->payload, m->payload_len) +
	                                   touch_props(m->props));
}

static void on_done(ferry_client *c, void *user, const struct ferry_result *r)
{
	(void)c;
	struct app *a = user;
	atomic_fetch_add(&a->completed, 1);
	atomic_fetch_add(&a->checksum, r->granted_count + touch(r->granted, r->granted_count) +
	                                   touch_props(r->props));
}

static void on_lost(ferry_client *c, void *user, int cause, const char *text)
{
	(void)c;
	(void)cause;
	struct app *a = user;
	atomic_fetch_add(&a->lost, 1);
	atomic_fetch_add(&a->checksum, strlen(text));
}

static int on_auth(ferry_client *c, void *user, const struct ferry_auth_step *in,
                   struct ferry_auth_reply *out)
{
	(void)c;
	struct app *a = user;
	atomic_fetch_add(&a->checksum, touch(in->data, in->data_len) + touch_props(in->props));
	out->data = "r";
	out->data_len = 1;
	return in->data_len & 1 ? FERRY_ERR_AUTH : FERRY_OK; /* sometimes gives up */
}

/* ---- the broker's side ----------------------------------------------------------- */

struct broker {
	int fd;
	uint8_t version;
	struct ferry_frame_reader reader;
};

static void send_all(struct broker *b, const uint8_t *p, size_t n, size_t chunk)
{
	while (n && b->fd >= 0) {
		size_t k = chunk && chunk < n ? chunk : n;
		ssize_t w = send(b->fd, p, k, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Answers one packet the client sent, as a broker would (ids kept); `how`
 * picks reason codes, some of them failures. */
static void answer(struct broker *b, const struct ferry_packet *pk, uint8_t how)
{
	uint8_t out[4 + 64];
	size_t n = 2, count = 0;
	uint16_t id;
	bool v5 = b->version == 5;
	switch (pk->type) {
	case FERRY_PUBLISH:
		if (pk->u.publish.qos == 0)
			return;
		id = pk->u.publish.packet_id;
		out[0] = pk->u.publish.qos == 1 ? 0x40 : 0x50;
		break;
	case FERRY_PUBREL:
		id = pk->u.ack.packet_id;
		out[0] = 0x70;
		break;
	case FERRY_SUBSCRIBE:
		id = pk->u.subscribe.packet_id;
		out[0] = 0x90;
		count = pk->u.subscribe.count;
		break;
	case FERRY_UNSUBSCRIBE:
		id = pk->u.unsubscribe.packet_id;
		out[0] = 0xB0;
		count = v5 ? pk->u.unsubscribe.count : 0;
		break;
	case FERRY_PINGREQ:
		send_all(b, (const uint8_t[]){0xD0, 0}, 2, 0);
		return;
	default:
		return;
	}
	out[n++] = (uint8_t)(id >> 8);
	out[n++] = (uint8_t)id;
	if (out[0] == 0x90 || out[0] == 0xB0) {
		if (v5)
			out[n++] = 0; /* property length */
		for (size_t i = 0; i < count && i < 64; i++)
			out[n++] = how & 4 ? 0x80 : out[0] == 0x90 ? (uint8_t)(how % 3) : 0;
	} else if (v5 && (how & 1)) {
		out[n++] = how & 2 ? 0x80 : 0x00; /* a reason code, then no properties */
		out[n++] = 0;
	}
	out[1] = (uint8_t)(n - 2);
	send_all(b, out, n, 0);
}

/* Reads what the client sent so far (up to wait_ms for the first bytes) and
 * answers it when `answer_all`. */
static void pump(struct broker *b, int wait_ms, bool answer_all, uint8_t how)
{
	uint8_t buf[65536];
	for (;;) {
		struct pollfd pfd = {.fd = b->fd, .events = POLLIN};
		if (b->fd < 0 || poll(&pfd, 1, wait_ms) <= 0)
			return;
		wait_ms = 0;
		ssize_t got = recv(b->fd, buf, sizeof buf, 0);
		if (got <= 0) {
			close(b->fd);
			b->fd = -1;
			return;
		}
		const uint8_t *p = buf;
		size_t left = (size_t)got;
		while (left) {
			size_t used = 0;
			bool complete = false;
			struct ferry_frame f;
			if (ferry__frame_next(&b->reader, p, left, &used, &f, &complete))
				return; /* the client never sends garbage: that would be a bug */
			p += used;
			left -= used;
			struct ferry_codec_cfg cfg = {.version = b->version, .peer = FERRY_PEER_CLIENT};
			struct ferry_packet pk;
			if (complete && ferry__decode(&cfg, f.data, f.len, &pk) != FERRY_OK)
				abort(); /* ferry sent a packet its own decoder refuses */
			if (complete && answer_all)
				answer(b, &pk, how);
		}
	}
}

/* ---- one input --------------------------------------------------------------------- */

static ferry_client *make_client(struct input *in, struct app *a, uint8_t *version)
{
	uint8_t cfg = take(in);
	static const uint8_t versions[] = {FERRY_MQTT_3_1_1, FERRY_MQTT_5, FERRY_MQTT_5, FERRY_MQTT_3_1};
	*version = versions[cfg & 3];
	struct ferry_client_options o = FERRY_CLIENT_OPTIONS_INIT;
	o.server_uri = uri;
	o.client_id = "fuzz";
	o.mqtt_version = *version;
	o.clean_session = cfg & 4;
	o.keepalive_s = 0;
	o.auto_reconnect = false;
	o.connect_timeout_ms = 2000;
	o.max_inflight = 1 + (take(in) & 7);
	o.user = a;
	o.on_message = on_message;
	o.on_connection_lost = on_lost;
	o.on_auth = on_auth;
	o.auto_topic_alias = cfg & 8;
	o.context = ctx;
	struct ferry_properties cp = FERRY_PROPERTIES_INIT;
	if (*version == FERRY_MQTT_5) {
		cp.flags = FERRY_PF_TOPIC_ALIAS_MAXIMUM | FERRY_PF_RECEIVE_MAXIMUM;
		cp.topic_alias_maximum = (uint16_t)(take(in) & 7);
		cp.receive_maximum = (uint16_t)(1 + (take(in) & 3));
		if (cfg & 16)
			cp.auth_method = "FUZZ";
		o.connect_props = &cp;
	}
	if (cfg & 32)
		ferry_store_memory_new(&o.store);
	ferry_client *c = NULL;
	if (ferry_client_create(&o, &c) != FERRY_OK) {
		ferry_store_free(o.store);
		return NULL;
	}
	return c;
}

static void app_call(ferry_client *c, struct app *a, struct input *in, uint8_t op)
{
	static const char *const topics[] = {"a/b", "a/c", "x", "a/b/c/d/e/f"};
	static const char *const filters[] = {"a/+", "#", "a/b", "$share/g/a/#"};
	struct ferry_call call = {.on_done = on_done, .user = a};
	uint8_t arg = take(in);
	int rc;
	switch (op % 6) {
	case 0:
	case 1: {
		const uint8_t *pay;
		size_t n = take_bytes(in, arg & 31, &pay);
		rc = ferry_publish(c, topics[arg >> 6], pay, n, (arg >> 5) % 3, arg & 1, &call, NULL);
		break;
	}
	case 2:
		rc = ferry_subscribe(c, filters[arg & 3], (arg >> 2) % 3, &call, NULL);
		break;
	case 3:
		rc = ferry_unsubscribe(c, filters[arg & 3], &call, NULL);
		break;
	case 4:
		rc = ferry_reauthenticate(c, "d", 1, &call, NULL);
		break;
	default:
		rc = ferry_disconnect(c, arg, &call, NULL);
		break;
	}
	if (rc == FERRY_OK)
		atomic_fetch_add(&a->issued, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	struct input in = {data, size};
	struct app a = {0};
	struct broker b = {.fd = -1};
	ferry_client *c = make_client(&in, &a, &b.version);
	if (!c)
		return 0;
	ferry__frame_reader_init(&b.reader, 0, b.version == 5);
	struct ferry_call call = {.on_done = on_done, .user = &a};
	if (ferry_connect(c, &call, NULL) == FERRY_OK)
		atomic_fetch_add(&a.issued, 1);
	struct pollfd pfd = {.fd = listener, .events = POLLIN};
	if (poll(&pfd, 1, 2000) > 0)
		b.fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (b.fd >= 0) {
		int one = 1;
		setsockopt(b.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	pump(&b, 200, false, 0); /* the CONNECT */
	while (in.n && b.fd >= 0) {
		uint8_t op = take(&in);
		const uint8_t *bytes;
		size_t n;
		switch (op >> 5) {
		case 0: /* a CONNACK: accepted, maybe session present */
			if (b.version == 5)
				send_all(&b, (const uint8_t[]){0x20, 3, op & 1, 0, 0}, 5, 0);
			else
				send_all(&b, (const uint8_t[]){0x20, 2, op & 1, 0}, 4, 0);
			break;
		case 1: /* raw bytes, in one write */
		case 2: /* raw bytes, in writes of 1..4 bytes */
			n = take_bytes(&in, take(&in), &bytes);
			send_all(&b, bytes, n, op >> 5 == 2 ? 1u + (op & 3) : 0);
			break;
		case 3: /* the application calls */
			app_call(c, &a, &in, op);
			break;
		case 4: /* read and answer what the client sent */
			pump(&b, 5, true, op);
			break;
		case 5: /* read without answering */
			pump(&b, 5, false, 0);
			break;
		case 6: /* the broker hangs up, gracefully or with a reset */
			if (op & 1) {
				struct linger lg = {1, 0};
				setsockopt(b.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			}
			close(b.fd);
			b.fd = -1;
			break;
		default: /* let the client's threads catch up */
			pump(&b, 2, false, 0);
			break;
		}
	}
	pump(&b, 5, true, 0);
	ferry_client_destroy(c); /* completes everything still pending */
	if (b.fd >= 0)
		close(b.fd);
	ferry__frame_reader_free(&b.reader);
	/* Every accepted operation completed exactly once. */
	if (atomic_load(&a.completed) != atomic_load(&a.issued)) {
		fprintf(stderr, "fuzz_client: %d operations accepted, %d completed\n",
		        atomic_load(&a.issued), atomic_load(&a.completed));
		abort();
	}
	return 0;
}

/*
 * fuzz_decode.c - the frame reader and the packet decoder on arbitrary bytes.
 *
 * Input: the first byte is the configuration:
 *   bits 0-1  protocol version: 0 -> 3 (3.1), 1 -> 4 (3.1.1), 2 and 3 -> 5
 *   bit  2    sender: 0 server, 1 client (enum ferry_peer)
 *   bits 3-5  chunk size: 1, 2, 3, 5, 16, 127, 1000 or everything at once
 *   bits 6-7  max packet size: protocol maximum, 16, 300 or 100,000
 * The rest is a byte stream, fed to a frame reader in chunks of that size.
 * A reader error is checked for stickiness, then the reader is reset and the
 * stream resumes after the bytes it consumed (one byte at least).
 *
 * Each complete frame is decoded. A decoded packet must: have the type of
 * its first byte; hold views only inside the frame; iterate to exactly the
 * counts the decoder reported (user properties, subscription identifiers,
 * SUBSCRIBE entries, UNSUBSCRIBE filters); encode again (ferry__encode_size
 * then ferry__encode, exactly that size); decode from that encoding to the
 * same fields; and encode a second time to the same bytes. Any disagreement
 * is a bug: a message on stderr, then abort().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "fuzz.h"

static void require(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_decode: %s\n", what);
		abort();
	}
}

/* The frame being checked, for the views-inside-the-frame rule. */
static const uint8_t *frame_lo, *frame_hi;

static void require_inside(struct ferry_bytes b)
{
	require(b.len == 0 || (b.p >= frame_lo && b.p + b.len <= frame_hi),
	        "view outside the frame");
}

static bool same_bytes(struct ferry_bytes a, struct ferry_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The property blocks of a packet (up to two: CONNECT has its will's). */
static size_t props_of(struct ferry_packet *p, struct ferry_props *out[2])
{
	switch (p->type) {
	case FERRY_CONNECT:
		out[0] = &p->u.connect.props;
		out[1] = &p->u.connect.will.props;
		return p->u.connect.has_will ? 2 : 1;
	case FERRY_CONNACK:
		out[0] = &p->u.connack.props;
		return 1;
	case FERRY_PUBLISH:
		out[0] = &p->u.publish.props;
		return 1;
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBREL:
	case FERRY_PUBCOMP:
		out[0] = &p->u.ack.props;
		return 1;
	case FERRY_SUBSCRIBE:
		out[0] = &p->u.subscribe.props;
		return 1;
	case FERRY_SUBACK:
	case FERRY_UNSUBACK:
		out[0] = &p->u.suback.props;
		return 1;
	case FERRY_UNSUBSCRIBE:
		out[0] = &p->u.unsubscribe.props;
		return 1;
	case FERRY_DISCONNECT:
	case FERRY_AUTH:
		out[0] = &p->u.disconnect.props;
		return 1;
	default:
		return 0;
	}
}

/*
 * Walks a decoded property block: counts and views as reported. When users
 * is not NULL, it receives the User Properties (user_count entries).
 */
static void walk_props(const struct ferry_props *pr, struct ferry_user_prop *users)
{
	struct ferry_prop_iter it;
	struct ferry_user_prop u;
	uint32_t id;
	size_t n = 0;
	require_inside(pr->raw);
	ferry__props_iter_init(&it, pr);
	while (ferry__props_next_user(&it, &u)) {
		require(n < pr->user_count, "more user properties than counted");
		require_inside(u.name);
		require_inside(u.value);
		if (users)
			users[n] = u;
		n++;
	}
	require(n == pr->user_count, "fewer user properties than counted");
	n = 0;
	ferry__props_iter_init(&it, pr);
	while (ferry__props_next_sub_id(&it, &id)) {
		require(id >= 1 && id <= FERRY_VARINT_MAX, "subscription id out of range");
		require(n > 0 || id == pr->sub_id, "first subscription id differs");
		n++;
	}
	require(n == pr->sub_id_count, "subscription id count differs");
}

/* Arrays the encoder needs where the decoder gave iterators. */
struct arrays {
	struct ferry_user_prop *users[2];
	struct ferry_sub_entry *entries;
	struct ferry_bytes *filters;
};

static void *alloc_n(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	require(p != NULL, "out of memory");
	return p;
}

static void walk_entries(struct ferry_packet *p, struct arrays *a)
{
	struct ferry_entry_iter it;
	size_t n = 0;
	if (p->type == FERRY_SUBSCRIBE) {
		struct ferry_subscribe *s = &p->u.subscribe;
		struct ferry_sub_entry e;
		a->entries = alloc_n(s->count, sizeof *a->entries);
		ferry__sub_iter_init(&it, s);
		while (ferry__sub_iter_next(&it, &e)) {
			require(n < s->count, "more SUBSCRIBE entries than counted");
			require_inside(e.filter);
			a->entries[n++] = e;
		}
		require(n == s->count && n > 0, "SUBSCRIBE entry count differs");
		s->entries = a->entries;
	} else if (p->type == FERRY_UNSUBSCRIBE) {
		struct ferry_unsubscribe *u = &p->u.unsubscribe;
		struct ferry_bytes f;
		a->filters = alloc_n(u->count, sizeof *a->filters);
		ferry__unsub_iter_init(&it, u);
		while (ferry__unsub_iter_next(&it, &f)) {
			require(n < u->count, "more UNSUBSCRIBE filters than counted");
			require_inside(f);
			a->filters[n++] = f;
		}
		require(n == u->count && n > 0, "UNSUBSCRIBE filter count differs");
		u->filters = a->filters;
	} else if (p->type == FERRY_SUBACK || p->type == FERRY_UNSUBACK) {
		struct ferry_bytes r = {p->u.suback.reasons, p->u.suback.count};
		require_inside(r);
	}
}

/*
 * Checks a decoded packet's iterators and views, and fills it (and a) with
 * the arrays the encoder reads. Free a with free_arrays.
 */
static void walk(struct ferry_packet *p, struct arrays *a)
{
	struct ferry_props *pr[2];
	size_t np = props_of(p, pr);
	memset(a, 0, sizeof *a);
	for (size_t i = 0; i < np; i++) {
		a->users[i] = alloc_n(pr[i]->user_count, sizeof *a->users[i]);
		walk_props(pr[i], a->users[i]);
		pr[i]->user = a->users[i];
	}
	walk_entries(p, a);
	if (p->type == FERRY_PUBLISH) {
		require_inside(p->u.publish.topic);
		require_inside(p->u.publish.payload);
	} else if (p->type == FERRY_CONNECT) {
		require_inside(p->u.connect.client_id);
		require_inside(p->u.connect.username);
		require_inside(p->u.connect.password);
		require_inside(p->u.connect.will.topic);
		require_inside(p->u.connect.will.payload);
	}
}

static void free_arrays(struct arrays *a)
{
	free(a->users[0]);
	free(a->users[1]);
	free(a->entries);
	free(a->filters);
}

static void compare_props(const struct ferry_props *a, const struct ferry_props *b)
{
	struct ferry_prop_iter ia, ib;
	struct ferry_user_prop ua, ub;
	/* The encoder sends one Subscription Identifier: the first one decoded. */
	require(a->present == b->present && a->sub_id == b->sub_id &&
	            b->sub_id_count == (a->sub_id_count ? 1u : 0u),
	        "properties present differ");
	require(a->payload_format == b->payload_format &&
	            a->request_problem_info == b->request_problem_info &&
	            a->request_response_info == b->request_response_info &&
	            a->maximum_qos == b->maximum_qos &&
	            a->retain_available == b->retain_available &&
	            a->wildcard_sub_available == b->wildcard_sub_available &&
	            a->sub_id_available == b->sub_id_available &&
	            a->shared_sub_available == b->shared_sub_available,
	        "byte properties differ");
	require(a->server_keepalive == b->server_keepalive &&
	            a->receive_maximum == b->receive_maximum &&
	            a->topic_alias_maximum == b->topic_alias_maximum &&
	            a->topic_alias == b->topic_alias && a->message_expiry == b->message_expiry &&
	            a->session_expiry == b->session_expiry && a->will_delay == b->will_delay &&
	            a->maximum_packet_size == b->maximum_packet_size,
	        "integer properties differ");
	require(same_bytes(a->content_type, b->content_type) &&
	            same_bytes(a->response_topic, b->response_topic) &&
	            same_bytes(a->correlation_data, b->correlation_data) &&
	            same_bytes(a->assigned_client_id, b->assigned_client_id) &&
	            same_bytes(a->auth_method, b->auth_method) &&
	            same_bytes(a->auth_data, b->auth_data) &&
	            same_bytes(a->response_info, b->response_info) &&
	            same_bytes(a->server_reference, b->server_reference) &&
	            same_bytes(a->reason_string, b->reason_string),
	        "string properties differ");
	require(a->user_count == b->user_count, "user property counts differ");
	ferry__props_iter_init(&ia, a);
	ferry__props_iter_init(&ib, b);
	while (ferry__props_next_user(&ia, &ua)) {
		require(ferry__props_next_user(&ib, &ub), "user properties differ");
		require(same_bytes(ua.name, ub.name) && same_bytes(ua.value, ub.value),
		        "user properties differ");
	}
}

static void compare_connect(const struct ferry_connect *a, const struct ferry_connect *b)
{
	require(a->version == b->version && a->clean_start == b->clean_start &&
	            a->keepalive == b->keepalive && same_bytes(a->client_id, b->client_id),
	        "CONNECT header differs");
	require(a->has_will == b->has_will && a->has_username == b->has_username &&
	            a->has_password == b->has_password && same_bytes(a->username, b->username) &&
	            same_bytes(a->password, b->password),
	        "CONNECT fields differ");
	if (a->has_will) {
		require(a->will.qos == b->will.qos && a->will.retain == b->will.retain &&
		            same_bytes(a->will.topic, b->will.topic) &&
		            same_bytes(a->will.payload, b->will.payload),
		        "CONNECT will differs");
		compare_props(&a->will.props, &b->will.props);
	}
}

/* Key fields of two decodings of the same packet (b from a's encoding). */
static void compare(struct ferry_packet *a, struct ferry_packet *b)
{
	require(a->type == b->type, "packet type differs");
	switch (a->type) {
	case FERRY_CONNECT:
		compare_connect(&a->u.connect, &b->u.connect);
		break;
	case FERRY_CONNACK:
		require(a->u.connack.session_present == b->u.connack.session_present &&
		            a->u.connack.reason == b->u.connack.reason,
		        "CONNACK differs");
		break;
	case FERRY_PUBLISH: {
		const struct ferry_publish *x = &a->u.publish, *y = &b->u.publish;
		require(x->qos == y->qos && x->dup == y->dup && x->retain == y->retain &&
		            x->packet_id == y->packet_id && same_bytes(x->topic, y->topic) &&
		            same_bytes(x->payload, y->payload),
		        "PUBLISH differs");
		break;
	}
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBREL:
	case FERRY_PUBCOMP:
		require(a->u.ack.packet_id == b->u.ack.packet_id &&
		            a->u.ack.reason == b->u.ack.reason,
		        "acknowledgement differs");
		break;
	case FERRY_SUBSCRIBE:
		require(a->u.subscribe.packet_id == b->u.subscribe.packet_id &&
		            a->u.subscribe.count == b->u.subscribe.count &&
		            same_bytes(a->u.subscribe.raw, b->u.subscribe.raw),
		        "SUBSCRIBE differs");
		break;
	case FERRY_UNSUBSCRIBE:
		require(a->u.unsubscribe.packet_id == b->u.unsubscribe.packet_id &&
		            a->u.unsubscribe.count == b->u.unsubscribe.count &&
		            same_bytes(a->u.unsubscribe.raw, b->u.unsubscribe.raw),
		        "UNSUBSCRIBE differs");
		break;
	case FERRY_SUBACK:
	case FERRY_UNSUBACK: {
		const struct ferry_suback *x = &a->u.suback, *y = &b->u.suback;
		require(x->packet_id == y->packet_id && x->count == y->count &&
		            (x->count == 0 || memcmp(x->reasons, y->reasons, x->count) == 0),
		        "SUBACK/UNSUBACK differs");
		break;
	}
	case FERRY_DISCONNECT:
	case FERRY_AUTH:
		require(a->u.disconnect.reason == b->u.disconnect.reason,
		        "DISCONNECT/AUTH differs");
		break;
	default:
		break;
	}
	/* The packet's own properties (CONNECT's will properties are compared above). */
	struct ferry_props *pa[2], *pb[2];
	size_t na = props_of(a, pa), nb = props_of(b, pb);
	require(na == nb, "property blocks differ");
	if (na > 0)
		compare_props(pa[0], pb[0]);
}

/* ferry__encode_size then ferry__encode; *out is malloc'd (free it). */
static int encode(uint8_t version, const struct ferry_packet *p, uint8_t **out, size_t *len)
{
	size_t size = 0;
	int rc = ferry__encode_size(version, p, &size);
	if (rc)
		return rc;
	require(size >= 2, "encoded size under 2");
	uint8_t *buf = alloc_n(size, 1);
	rc = ferry__encode(version, p, buf, size - 1, len);
	require(rc == FERRY_ERR_BUFFER_SIZE, "encode into a short buffer did not fail");
	rc = ferry__encode(version, p, buf, size, len);
	require(rc == FERRY_OK && *len == size, "encode disagrees with encode_size");
	*out = buf;
	return FERRY_OK;
}

/* Decoded packets the encoder may refuse, because the decoder is lenient on purpose. */
static bool encoder_may_refuse(const struct ferry_packet *p, int rc)
{
	/* 3.1.1 empty client id without clean session: decoded (the server answers 0x02). */
	return p->type == FERRY_CONNECT && rc == FERRY_ERR_CLIENT_ID && p->u.connect.version == 4 &&
	       p->u.connect.client_id.len == 0 && !p->u.connect.clean_start;
}

static void roundtrip(const struct ferry_codec_cfg *cfg, struct ferry_packet *p)
{
	uint8_t version = p->type == FERRY_CONNECT ? p->u.connect.version : cfg->version;
	struct ferry_codec_cfg cfg2 = {
	    .version = cfg->version, .peer = cfg->peer, .max_packet_size = 0};
	uint8_t *enc1 = NULL, *enc2 = NULL;
	size_t len1 = 0, len2 = 0;
	struct ferry_packet q;
	struct arrays aq;
	int rc = encode(version, p, &enc1, &len1);
	if (rc) {
		require(encoder_may_refuse(p, rc), "a decoded packet does not encode");
		return;
	}
	rc = ferry__decode(&cfg2, enc1, len1, &q);
	require(rc == FERRY_OK, "an encoded packet does not decode");
	frame_lo = enc1;
	frame_hi = enc1 + len1;
	walk(&q, &aq);
	compare(p, &q);
	rc = encode(version, &q, &enc2, &len2);
	require(rc == FERRY_OK && len1 == len2 && memcmp(enc1, enc2, len1) == 0,
	        "second encoding differs");
	free_arrays(&aq);
	free(enc1);
	free(enc2);
}

static void check_frame(const struct ferry_codec_cfg *cfg, const uint8_t *f, size_t n)
{
	struct ferry_packet p;
	struct arrays a;
	int rc = ferry__decode(cfg, f, n, &p);
	/* The reader enforced the same limit and the frame's length is exact. */
	require(rc <= FERRY_OK && rc != FERRY_ERR_PACKET_TOO_LARGE && rc != FERRY_ERR_INVAL,
	        "unexpected decode result");
	if (rc)
		return;
	require(p.type == f[0] >> 4, "decoded type is not the first byte's");
	frame_lo = f;
	frame_hi = f + n;
	walk(&p, &a);
	roundtrip(cfg, &p);
	free_arrays(&a);
}

static const uint8_t versions[4] = {3, 4, 5, 5};
static const size_t chunk_sizes[8] = {1, 2, 3, 5, 16, 127, 1000, (size_t)-1};
static const uint32_t max_sizes[4] = {0, 16, 300, 100000};

/* One chunk through the reader: every frame checked, errors reset and skipped. */
static void feed(struct ferry_frame_reader *r, const struct ferry_codec_cfg *cfg,
                 const uint8_t *data, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		size_t used = 0, again = 0;
		struct ferry_frame f = {NULL, 0};
		bool complete = false;
		int rc = ferry__frame_next(r, data + pos, len - pos, &used, &f, &complete);
		require(used <= len - pos, "reader consumed past the chunk");
		if (rc) {
			require(!complete, "reader error with a frame");
			require(ferry__frame_next(r, data, len, &again, &f, &complete) == rc &&
			            again == 0,
			        "reader error is not sticky");
			ferry__frame_reader_reset(r);
			pos += used ? used : 1;
			continue;
		}
		require(used > 0, "reader made no progress");
		pos += used;
		if (complete) {
			require(f.len >= 2 && f.len <= r->max_packet, "frame size out of range");
			check_frame(cfg, f.data, f.len);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t c = data[0];
	struct ferry_codec_cfg cfg = {
	    .version = versions[c & 0x03u],
	    .peer = (uint8_t)((c >> 2) & 1u),
	    .max_packet_size = max_sizes[c >> 6],
	};
	size_t chunk = chunk_sizes[(c >> 3) & 7u];
	struct ferry_frame_reader r;
	ferry__frame_reader_init(&r, cfg.max_packet_size, cfg.version == 5);
	for (size_t off = 1; off < size;) {
		size_t n = size - off < chunk ? size - off : chunk;
		feed(&r, &cfg, data + off, n);
		off += n;
	}
	ferry__frame_reader_free(&r);
	return 0;
}

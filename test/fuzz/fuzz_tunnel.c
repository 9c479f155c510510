/*
 * fuzz_tunnel.c - the proxy exchange (tunnel.h) against a fuzzed proxy.
 *
 * Input:
 *   byte 0  bit 0     proxy type: 0 HTTP CONNECT, 1 SOCKS5
 *           bits 1-2  credentials: none, short, 255 + 255 bytes (the HTTP
 *                     request then goes out in two parts), from the input
 *           bits 3-5  server: IPv4 literal, name, IPv6 literal, IPv4-mapped
 *                     IPv6, almost-IPv4 name, 255-byte name, "::", from the input
 *           bit 6     eager client: reads between partial sends
 *           bit 7     never let one read span the end of a proxy answer
 *   byte 1  bits 0-2  read sizes, bits 3-5 send sizes (see sizes[]),
 *           bits 6-7  error buffer size: 400, 64, 1, none (NULL)
 *   byte 2  seed for the varying sizes
 *   then, for server "from the input": a length byte, the host, a port (2 bytes);
 *   for credentials "from the input": a length byte and the user, a length
 *   byte and the password (cut at a NUL, as C strings are);
 *   the rest: everything the proxy says.
 *
 * The client sends what ferry__tunnel_output gives (ferry__tunnel_sent, in
 * pieces) and feeds the proxy's bytes to ferry__tunnel_input. Every call
 * returns only documented codes (FERRY__AGAIN, FERRY_OK, FERRY_ERR_PROXY,
 * FERRY_ERR_PROXY_AUTH), *used <= n (all of it on FERRY__AGAIN), the state
 * agrees with the code, the output stays inside its buffer, error text is
 * NUL-terminated inside its buffer and never written past it. What the
 * client sent must be the exchange's messages, byte for byte: the HTTP
 * request (with RFC 7617 credentials computed here with OpenSSL), or the
 * SOCKS5 greeting, login and request (the address type and bytes from
 * inet_pton, independent of tunnel.c's own parser).
 *
 * A final state stays: an open tunnel answers FERRY_OK taking nothing, a
 * failed one FERRY_ERR_STATE (tunnel.c's rule; tunnel.h does not say).
 *
 * Differential: the reference run reads one byte at a time and sends all
 * output before each read (feeding everything at once is no reference: a
 * SOCKS5 proxy may not answer a request before it is sent, so bytes past
 * the end of an answer in the same read are refused). It records where
 * each proxy answer ended (a new message was composed). The fuzzed run uses
 * the chosen sizes, "all of it" included. A read that spans the end of a
 * SOCKS5 answer must fail with FERRY_ERR_PROXY (the proxy spoke out of
 * turn); otherwise both runs must agree on the outcome, the bytes consumed
 * (outcomes other than errors: on errors *used is not specified), the HTTP
 * status and what was sent. An eager client may only differ by failing
 * with FERRY_ERR_PROXY. Any violation: a message on stderr, then abort().
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "again.h"
#include "ferry/error.h"
#include "ferry/ferry.h"
#include "fuzz.h"
#include "tunnel.h"

#define MAX_MSG    2048u /* any message sequence of the exchange fits */
#define MAX_BOUNDS 4u    /* answers before the last: greeting, login */
#define ERR_ROOM   (400u + ERR_GUARD)
#define ERR_GUARD  16u /* bytes past errcap that must stay untouched */
#define ERR_CANARY 0x5a

static void require(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_tunnel: %s\n", what);
		abort();
	}
}

/* What the exchange is set up with. */
struct setup {
	int type;
	char host[300];
	size_t host_len;
	uint16_t port;
	const char *user, *pass; /* NULL: none */
	char user_buf[256], pass_buf[256];
	bool eager, clip;
	unsigned recv_sel, send_sel;
	size_t errcap;
	uint32_t seed;
};

/* How one run went. */
struct outcome {
	int rc;          /* of the last input call (FERRY__AGAIN: input ran out) */
	size_t consumed; /* sum of *used */
	int state, http_status;
	uint8_t sent[MAX_MSG]; /* everything ferry__tunnel_output gave and was sent */
	size_t sent_len;
	size_t bounds[MAX_BOUNDS]; /* stream offsets where a new message was composed */
	size_t nbounds;
	bool spanned; /* a read spanned one of the reference's bounds */
};

/*
 * Read and send sizes; 0 stands for "all of it", VARY for 0..40 from the seed
 * (0: an empty read, or ferry__tunnel_sent(t, 0) after a write that took nothing).
 */
#define VARY ((size_t)-1)
static const size_t sizes[8] = {1, 2, 3, 7, 64, 517, 0, VARY};
static const size_t errcaps[4] = {400, 64, 1, 0};

static size_t next_size(size_t sel, uint32_t *rng, size_t left)
{
	size_t k = sizes[sel];
	if (k == VARY) {
		*rng ^= *rng << 13;
		*rng ^= *rng >> 17;
		*rng ^= *rng << 5;
		k = *rng % 41u;
	} else if (k == 0) {
		k = left;
	}
	return k < left ? k : left;
}

/* ---- the messages the client must send ---------------------------------------- */

static void append(uint8_t *buf, size_t *len, const void *p, size_t n)
{
	require(*len + n <= MAX_MSG, "expected message too long");
	memcpy(buf + *len, p, n);
	*len += n;
}

static void append_str(uint8_t *buf, size_t *len, const char *s)
{
	append(buf, len, s, strlen(s));
}

static void append_byte(uint8_t *buf, size_t *len, unsigned b)
{
	uint8_t v = (uint8_t)(b & 0xffu);
	append(buf, len, &v, 1);
}

static bool has_auth(const struct setup *s)
{
	return s->user && s->user[0];
}

/* "CONNECT host:port HTTP/1.1", Host, Proxy-Authorization (RFC 7617), blank line. */
static void expect_http(const struct setup *s, uint8_t *buf, size_t *len)
{
	char auth[320];
	bool v6 = memchr(s->host, ':', s->host_len) != NULL;
	snprintf(auth, sizeof auth, "%s%.*s%s:%u", v6 ? "[" : "", (int)s->host_len, s->host,
	         v6 ? "]" : "", (unsigned)s->port);
	*len = 0;
	append_str(buf, len, "CONNECT ");
	append_str(buf, len, auth);
	append_str(buf, len, " HTTP/1.1\r\nHost: ");
	append_str(buf, len, auth);
	append_str(buf, len, "\r\n");
	if (has_auth(s)) {
		char cred[520];
		unsigned char b64[4 * (sizeof cred / 3 + 1) + 1];
		int n = snprintf(cred, sizeof cred, "%s:%s", s->user, s->pass ? s->pass : "");
		int m = EVP_EncodeBlock(b64, (const unsigned char *)cred, n);
		require(m > 0, "EVP_EncodeBlock failed");
		append_str(buf, len, "Proxy-Authorization: Basic ");
		append(buf, len, b64, (size_t)m);
		append_str(buf, len, "\r\n");
	}
	append_str(buf, len, "\r\n");
}

/* The SOCKS5 CONNECT request (RFC 1928 section 4), the address typed by inet_pton. */
static void expect_socks_request(const struct setup *s, uint8_t *buf, size_t *len)
{
	char host[300];
	uint8_t a[16];
	memcpy(host, s->host, s->host_len);
	host[s->host_len] = 0;
	append_byte(buf, len, 5);
	append_byte(buf, len, 1);
	append_byte(buf, len, 0);
	if (inet_pton(AF_INET, host, a) == 1) {
		append_byte(buf, len, 1);
		append(buf, len, a, 4);
	} else if (inet_pton(AF_INET6, host, a) == 1) {
		append_byte(buf, len, 4);
		append(buf, len, a, 16);
	} else {
		append_byte(buf, len, 3);
		append_byte(buf, len, (unsigned)s->host_len);
		append(buf, len, s->host, s->host_len);
	}
	append_byte(buf, len, (unsigned)s->port >> 8);
	append_byte(buf, len, (unsigned)s->port);
}

/*
 * The possible complete sequences of messages: [0] without login, [1] with
 * (SOCKS5 only). *ends gets the offsets where each message ends.
 */
static size_t expect_all(const struct setup *s, uint8_t seq[2][MAX_MSG], size_t len[2],
                         size_t ends[2][3], size_t nends[2])
{
	if (s->type == FERRY_PROXY_HTTP) {
		expect_http(s, seq[0], &len[0]);
		ends[0][0] = len[0];
		nends[0] = 1;
		return 1;
	}
	size_t nv = has_auth(s) ? 2 : 1;
	for (size_t v = 0; v < nv; v++) {
		len[v] = nends[v] = 0;
		append_byte(seq[v], &len[v], 5);
		if (has_auth(s)) {
			append_byte(seq[v], &len[v], 2);
			append_byte(seq[v], &len[v], 0);
			append_byte(seq[v], &len[v], 2);
		} else {
			append_byte(seq[v], &len[v], 1);
			append_byte(seq[v], &len[v], 0);
		}
		ends[v][nends[v]++] = len[v];
		if (v == 1) {
			size_t ul = strlen(s->user), pl = strlen(s->pass ? s->pass : "");
			append_byte(seq[v], &len[v], 1);
			append_byte(seq[v], &len[v], (unsigned)ul);
			append(seq[v], &len[v], s->user, ul);
			append_byte(seq[v], &len[v], (unsigned)pl);
			append(seq[v], &len[v], s->pass, pl);
			ends[v][nends[v]++] = len[v];
		}
		expect_socks_request(s, seq[v], &len[v]);
		ends[v][nends[v]++] = len[v];
	}
	return nv;
}

/*
 * What was sent must be a prefix of a possible sequence; a whole one when
 * the tunnel is up; end at a message boundary when the client sent all it
 * could (not eager).
 */
static void check_sent(const struct setup *s, const struct outcome *o)
{
	static uint8_t seq[2][MAX_MSG];
	size_t len[2], ends[2][3], nends[2];
	size_t nv = expect_all(s, seq, len, ends, nends);
	for (size_t v = 0; v < nv; v++) {
		if (o->sent_len > len[v] || memcmp(o->sent, seq[v], o->sent_len) != 0)
			continue;
		if (o->rc == FERRY_OK) {
			if (o->sent_len == len[v])
				return;
			continue;
		}
		if (s->eager || o->sent_len == 0)
			return;
		for (size_t e = 0; e < nends[v]; e++)
			if (ends[v][e] == o->sent_len)
				return;
	}
	require(false, "the client sent something else than the exchange's messages");
}

/* ---- driving one exchange ----------------------------------------------------------- */

/*
 * Sends pending output in pieces of the chosen sizes (whole: all at once) until
 * none is left (finish) or (eager) one piece; checks the output view.
 */
static void send_some(struct ferry_tunnel *t, const struct setup *s, uint32_t *rng, bool whole,
                      bool finish, struct outcome *o)
{
	for (;;) {
		const uint8_t *out;
		size_t len;
		ferry__tunnel_output(t, &out, &len);
		require(out >= t->out && out <= t->out + sizeof t->out &&
		            len <= sizeof t->out - (size_t)(out - t->out),
		        "output outside its buffer");
		require(t->state == FERRY_TUNNEL_SEND || len == 0, "output outside state SEND");
		if (len == 0)
			return;
		size_t k = whole ? len : next_size(s->send_sel, rng, len);
		require(o->sent_len + k <= MAX_MSG, "the client sent too much");
		memcpy(o->sent + o->sent_len, out, k);
		o->sent_len += k;
		ferry__tunnel_sent(t, k);
		if (!finish)
			return;
	}
}

/*
 * Nothing written past errcap; on errors a non-empty text, NUL-terminated
 * inside errcap (tunnel.h promises a sentence on errors only).
 */
static void check_err(const struct setup *s, const char *err, int rc)
{
	if (s->errcap == 0)
		return;
	for (size_t i = s->errcap; i < s->errcap + ERR_GUARD; i++)
		require(err[i] == ERR_CANARY, "error text written past its buffer");
	if (rc >= 0)
		return;
	const char *nul = memchr(err, 0, s->errcap);
	require(nul != NULL, "error text not NUL-terminated inside its buffer");
	require(s->errcap == 1 || nul > err, "empty error text");
}

/* One ferry__tunnel_input call with the invariants; returns its code. */
static int input(struct ferry_tunnel *t, const struct setup *s, const uint8_t *in, size_t k,
                 size_t *used)
{
	char err[ERR_ROOM];
	memset(err, ERR_CANARY, s->errcap + ERR_GUARD);
	*used = (size_t)-1;
	int rc = ferry__tunnel_input(t, in, k, used, s->errcap ? err : NULL, s->errcap);
	require(rc == FERRY__AGAIN || rc == FERRY_OK || rc == FERRY_ERR_PROXY ||
	            rc == FERRY_ERR_PROXY_AUTH,
	        "undocumented return code");
	require(*used <= k, "*used > n");
	require(rc != FERRY__AGAIN || *used == k, "FERRY__AGAIN without consuming everything");
	require(rc != FERRY__AGAIN ||
	            (t->state == FERRY_TUNNEL_SEND || t->state == FERRY_TUNNEL_RECV),
	        "FERRY__AGAIN in a final state");
	require(rc != FERRY_OK || t->state == FERRY_TUNNEL_UP, "FERRY_OK but not up");
	require(rc >= 0 || t->state == FERRY_TUNNEL_FAILED, "an error but not failed");
	require(rc != FERRY_OK || s->type != FERRY_PROXY_HTTP ||
	            (t->http_status >= 200 && t->http_status <= 299),
	        "HTTP tunnel up without a 2xx status");
	require(rc != FERRY_OK || s->type != FERRY_PROXY_SOCKS5 || t->http_status == 0,
	        "SOCKS5 tunnel up with a failure code");
	check_err(s, err, rc);
	return rc;
}

/* A final state stays: up answers FERRY_OK taking nothing, failed refuses. */
static void check_final(struct ferry_tunnel *t, const struct setup *s, int rc)
{
	static const uint8_t more[3] = {'H', 5, 0};
	char err[ERR_ROOM];
	size_t used = 7;
	if (rc == FERRY__AGAIN)
		return;
	memset(err, ERR_CANARY, sizeof err);
	int again =
	    ferry__tunnel_input(t, more, sizeof more, &used, s->errcap ? err : NULL, s->errcap);
	if (rc == FERRY_OK)
		require(again == FERRY_OK && used == 0, "an open tunnel did not stay open");
	else
		require(again == FERRY_ERR_STATE && used == 0,
		        "a failed tunnel did not stay failed");
	check_err(s, err, again);
}

/* Whether a read [a, a + k) spans a bound of the reference (or, clip, cuts k there). */
static bool spans(const struct outcome *ref, size_t a, size_t *k, bool clip)
{
	for (size_t i = 0; ref && i < ref->nbounds; i++) {
		size_t b = ref->bounds[i];
		if (a < b && b < a + *k) {
			if (!clip)
				return true;
			*k = b - a;
		}
	}
	return false;
}

/*
 * Runs the exchange over stream[0..n): ref NULL is the reference (one byte
 * per read, everything sent before reading), else the setup's sizes.
 */
static void run(const struct setup *s, const uint8_t *stream, size_t n, const struct outcome *ref,
                struct outcome *o)
{
	struct ferry_tunnel t;
	uint32_t rng = s->seed;
	size_t pos = 0;
	bool finish = ref == NULL || !s->eager;
	memset(o, 0, sizeof *o);
	int rc = ferry__tunnel_init(&t, s->type, s->host, s->host_len, s->port, s->user, s->pass);
	require(rc == FERRY_OK, "ferry__tunnel_init refused a valid setup");
	rc = FERRY__AGAIN;
	while (pos < n) {
		send_some(&t, s, &rng, ref == NULL, finish, o);
		size_t k = ref ? next_size(s->recv_sel, &rng, n - pos) : 1, used;
		if (spans(ref, pos, &k, s->clip))
			o->spanned = true;
		rc = input(&t, s, stream + pos, k, &used);
		pos += used;
		o->consumed += used;
		if (rc != FERRY__AGAIN)
			break;
		const uint8_t *out;
		size_t len;
		ferry__tunnel_output(&t, &out, &len);
		/* The reference sent everything before reading: output now is a new message. */
		if (!ref && len && o->nbounds < MAX_BOUNDS)
			o->bounds[o->nbounds++] = pos;
		if (o->spanned)
			break;
	}
	if (rc == FERRY__AGAIN)
		send_some(&t, s, &rng, ref == NULL, true, o);
	o->rc = rc;
	o->state = t.state;
	o->http_status = t.http_status;
	check_sent(s, o);
	check_final(&t, s, rc);
}

static void compare(const struct setup *s, const struct outcome *ref, const struct outcome *o)
{
	if (o->spanned) {
		require(s->type == FERRY_PROXY_SOCKS5 && o->rc == FERRY_ERR_PROXY,
		        "a read spanning the end of a SOCKS5 answer was not refused");
		return;
	}
	if (s->eager) {
		require(o->rc == ref->rc || o->rc == FERRY_ERR_PROXY,
		        "an eager client got another outcome");
		return;
	}
	require(o->rc == ref->rc, "outcome differs between whole and piecewise reads");
	require(o->state == ref->state && o->http_status == ref->http_status,
	        "state or status differs between whole and piecewise reads");
	require(o->rc < 0 || o->consumed == ref->consumed,
	        "bytes consumed differ between whole and piecewise reads");
	require(o->sent_len == ref->sent_len && memcmp(o->sent, ref->sent, o->sent_len) == 0,
	        "what was sent differs between whole and piecewise reads");
}

/* ---- the setup from the input ------------------------------------------------------- */

static const char *const hosts[7] = {"192.0.2.7",
                                     "broker.example.com",
                                     "2001:db8::17",
                                     "::ffff:192.0.2.7",
                                     "192.0.2.07",
                                     NULL /* 255 bytes */,
                                     "::"};

/* Takes a length byte and that many bytes (as far as there are). */
static size_t take(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	size_t n = *p < end ? **p : 0;
	if (*p < end)
		(*p)++;
	if (n > (size_t)(end - *p))
		n = (size_t)(end - *p);
	if (n > cap)
		n = cap;
	memcpy(out, *p, n);
	*p += n;
	return n;
}

/* Reads the setup from the input's first bytes (*p advanced past them). */
static void parse_setup(struct setup *s, const uint8_t **p, const uint8_t *end)
{
	const uint8_t *d = *p;
	unsigned cred = (d[0] >> 1) & 3u, host = (d[0] >> 3) & 7u;
	memset(s, 0, sizeof *s);
	s->type = (d[0] & 1u) ? FERRY_PROXY_SOCKS5 : FERRY_PROXY_HTTP;
	s->eager = (d[0] & 0x40u) != 0;
	s->clip = (d[0] & 0x80u) != 0;
	s->recv_sel = d[1] & 7u;
	s->send_sel = (d[1] >> 3) & 7u;
	s->errcap = errcaps[d[1] >> 6];
	s->seed = 0x9e3779b9u ^ ((uint32_t)d[2] << 8 | d[2]);
	*p += 3;
	s->port = 1883;
	if (host == 7) {
		s->host_len = take(p, end, s->host, sizeof s->host - 1);
		s->port = (uint16_t)(*p + 2 <= end ? ((unsigned)(*p)[0] << 8 | (*p)[1]) : 0);
		*p = *p + 2 <= end ? *p + 2 : end;
	} else if (host == 5) {
		memset(s->host, 'h', 255);
		s->host_len = 255;
	} else {
		s->host_len = strlen(hosts[host]);
		memcpy(s->host, hosts[host], s->host_len);
	}
	s->host[s->host_len] = 0;
	if (cred == 1) {
		s->user = "mqtt-user";
		s->pass = "s3cret:pass";
	} else if (cred == 2) {
		memset(s->user_buf, 'u', 255);
		memset(s->pass_buf, 'p', 255);
		s->user = s->user_buf;
		s->pass = s->pass_buf;
	} else if (cred == 3) {
		take(p, end, s->user_buf, 255);
		take(p, end, s->pass_buf, 255);
		s->user = s->user_buf;
		s->pass = s->pass_buf;
	}
}

/* Whether ferry__tunnel_init must refuse the setup (tunnel.h, RFC 7617). */
static bool must_refuse(const struct setup *s)
{
	if (s->host_len == 0 || s->host_len > 255)
		return true;
	for (size_t i = 0; i < s->host_len; i++) {
		unsigned char c = (unsigned char)s->host[i];
		if (c <= 0x20u || c == 0x7fu || c == '[' || c == ']' || c == '/')
			return true;
	}
	return s->type == FERRY_PROXY_HTTP && s->user && strchr(s->user, ':');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome ref, got;
	struct setup s;
	struct ferry_tunnel t;
	const uint8_t *p = data, *end = data + size;
	if (size < 3)
		return 0;
	parse_setup(&s, &p, end);
	int rc = ferry__tunnel_init(&t, s.type, s.host, s.host_len, s.port, s.user, s.pass);
	if (must_refuse(&s)) {
		require(rc == FERRY_ERR_INVAL, "ferry__tunnel_init accepted an invalid setup");
		return 0;
	}
	require(rc == FERRY_OK, "ferry__tunnel_init refused a valid setup");
	run(&s, p, (size_t)(end - p), NULL, &ref);
	run(&s, p, (size_t)(end - p), &ref, &got);
	compare(&s, &ref, &got);
	return 0;
}

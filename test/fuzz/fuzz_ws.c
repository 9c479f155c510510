/*
 * fuzz_ws.c - the WebSocket client (ws.h) against a fuzzed server.
 *
 * Input:
 *   byte 0  bit 0     the server's HTTP answer: 0 from the input (a template,
 *                     see below), 1 a correct 101 built here
 *           bits 1-3  read sizes for the answer, bits 4-6 for the frames
 *                     (see sizes[])
 *           bit 7     take control frames after every unwrap call (else at the end)
 *   byte 1  bits 0-2  unwrap output buffer size, bits 3-5 control buffer size,
 *           bits 6-7  error buffer size: 256, 40, 1, none (NULL)
 *   byte 2  seed for the varying sizes
 *   bytes 3-4  template length k (big-endian, cut to what there is)
 *   then: the template (k bytes; ignored for a built 101), then frames.
 *
 * The Sec-WebSocket-Accept a server must send depends on the random key in
 * the request, so it is computed here as a server does (SHA-1 of the key and
 * the RFC 6455 GUID with OpenSSL, base64): every '@' in the template's
 * header fields (after the status line, up to the empty line) becomes it.
 * The server's stream is the answer followed by the frames; the client
 * feeds it to ferry__ws_response until the upgrade is decided, the rest to
 * ferry__ws_unwrap, and takes its control frames with ferry__ws_control.
 *
 * Invariants: documented codes only (ws_response: FERRY__AGAIN, FERRY_OK,
 * FERRY_ERR_WEBSOCKET; ws_unwrap: FERRY_OK, FERRY_ERR_CLOSED,
 * FERRY_ERR_WEBSOCKET), *used <= n (all of it on FERRY__AGAIN), *produced
 * <= cap and <= *used, progress on FERRY_OK, error text NUL-terminated
 * inside its buffer and never written past it, results that stay once
 * final; the request is well formed with a fresh key; control frames are
 * masked pongs and at most one close, last; a wrapped frame unmasks to its
 * input.
 *
 * Differential: the stream is run twice, whole (one read, a large buffer)
 * and in the chosen pieces; both must agree on the upgrade, the payload
 * bytes, the outcome, the bytes consumed and the error text of the framing,
 * the last pong and the close. Both are also checked against model(), an
 * independent whole-buffer reading of the frames with RFC 6455 rules.
 * Any violation: a message on stderr, then abort().
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "again.h"
#include "ferry/error.h"
#include "fuzz.h"
#include "ws.h"

#define GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define KEY_LEN    24u
#define ACCEPT_LEN 28u
#define MARKER     '@'
#define CTRL_MAX   125u
#define ERR_ROOM   (256u + ERR_GUARD)
#define ERR_GUARD  16u
#define ERR_CANARY 0x5a

static void require(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_ws: %s\n", what);
		abort();
	}
}

/* Read sizes; 0 stands for "all of it", VARY for 0..40 from the seed (0: an empty read). */
#define VARY ((size_t)-1)
static const size_t sizes[8] = {1, 2, 3, 7, 64, 517, 0, VARY};
static const size_t out_caps[8] = {1, 2, 3, 7, 16, 125, 1000, 65536};
static const size_t ctl_caps[8] = {1, 2, 3, 6, 7, 131, 262, 4096};
static const size_t errcaps[4] = {256, 40, 1, 0};

struct setup {
	bool built; /* a correct 101, not the template */
	bool drain_each;
	unsigned resp_sel, frame_sel;
	size_t out_cap, ctl_cap, errcap;
	uint32_t seed;
	const uint8_t *tmpl, *frames;
	size_t tmpl_len, frames_len;
};

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

/* ---- the server's side of the handshake ------------------------------------------ */

static const struct ferry_ws_config config = {
    .host = "broker.example",
    .host_len = 14,
    .port = 8080,
    .path = "/mqtt",
    .path_len = 5,
    .headers = (const char *const[]){"Authorization: Bearer t0ken"},
    .nheaders = 1};

/* Checks the request's shape; copies its key (24 characters) to key. */
static void request_key(struct ferry_ws *w, char key[KEY_LEN + 1])
{
	static const char *const lines[] = {"GET /mqtt HTTP/1.1\r\n",
	                                    "\r\nHost: broker.example:8080\r\n",
	                                    "\r\nUpgrade: websocket\r\n",
	                                    "\r\nConnection: Upgrade\r\n",
	                                    "\r\nSec-WebSocket-Version: 13\r\n",
	                                    "\r\nSec-WebSocket-Protocol: mqtt\r\n",
	                                    "\r\nAuthorization: Bearer t0ken\r\n"};
	const uint8_t *req;
	size_t len;
	ferry__ws_request(w, &req, &len);
	require(len > 4 && len < 1024, "request length");
	char text[1024];
	memcpy(text, req, len);
	text[len] = 0;
	require(strlen(text) == len, "NUL in the request");
	require(strncmp(text, lines[0], strlen(lines[0])) == 0, "request line");
	for (size_t i = 1; i < sizeof lines / sizeof lines[0]; i++)
		require(strstr(text, lines[i]) != NULL, "a request header is missing");
	require(strcmp(text + len - 4, "\r\n\r\n") == 0 &&
	            strstr(text, "\r\n\r\n") == text + len - 4,
	        "request not ended by one blank line");
	const char *k = strstr(text, "\r\nSec-WebSocket-Key: ");
	require(k != NULL, "no Sec-WebSocket-Key");
	k += 21;
	require(strncmp(k + KEY_LEN, "\r\n", 2) == 0 && k[KEY_LEN - 2] == '=' &&
	            k[KEY_LEN - 1] == '=',
	        "Sec-WebSocket-Key is not base64 of 16 bytes");
	unsigned char raw[KEY_LEN];
	require(EVP_DecodeBlock(raw, (const unsigned char *)k, (int)KEY_LEN) == 18,
	        "Sec-WebSocket-Key does not decode");
	memcpy(key, k, KEY_LEN);
	key[KEY_LEN] = 0;
}

/* base64(SHA-1(key GUID)), as a server computes it (RFC 6455 section 4.2.2). */
static void server_accept(const char key[KEY_LEN + 1], char accept[ACCEPT_LEN + 1])
{
	char text[KEY_LEN + sizeof GUID];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	memcpy(text, key, KEY_LEN);
	memcpy(text + KEY_LEN, GUID, sizeof GUID);
	require(EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha1(), NULL) == 1 && mdlen == 20,
	        "SHA-1 failed");
	require(EVP_EncodeBlock((unsigned char *)accept, md, 20) == (int)ACCEPT_LEN,
	        "base64 failed");
}

static const char built_head[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\nSec-WebSocket-Accept: ";
static const char built_tail[] = "\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";

/*
 * Length of p[0..n) up to and with its first empty line (LF LF or LF CR LF),
 * n if none. Markers are replaced only in the header fields: what follows
 * them is frames, and the status line is read by position (a random accept
 * there could make "HTTP/" or digits); both must read the same in the two
 * runs (two keys). In a header field the accept only ever matches itself:
 * it holds no ':', ',', space or line end, and is longer than any name or
 * token the client looks for.
 */
static size_t header_end(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return n;
}

/* The server's whole stream for this key: the answer, then the frames (malloc'd). */
static uint8_t *server_stream(const struct setup *s, const char *accept, size_t *len,
                              size_t *answer_len)
{
	const uint8_t *nl = memchr(s->tmpl, '\n', s->tmpl_len);
	size_t marks = 0, cap, head = header_end(s->tmpl, s->tmpl_len);
	size_t from = nl ? (size_t)(nl - s->tmpl) : s->tmpl_len;
	for (size_t i = from; i < head; i++)
		marks += s->tmpl[i] == MARKER;
	cap = sizeof built_head + ACCEPT_LEN + sizeof built_tail + s->tmpl_len +
	      marks * ACCEPT_LEN + s->frames_len;
	uint8_t *b = malloc(cap), *o = b;
	require(b != NULL, "out of memory");
	if (s->built) {
		memcpy(o, built_head, sizeof built_head - 1);
		o += sizeof built_head - 1;
		memcpy(o, accept, ACCEPT_LEN);
		o += ACCEPT_LEN;
		memcpy(o, built_tail, sizeof built_tail - 1);
		o += sizeof built_tail - 1;
	} else {
		for (size_t i = 0; i < s->tmpl_len; i++) {
			if (s->tmpl[i] == MARKER && i > from && i < head) {
				memcpy(o, accept, ACCEPT_LEN);
				o += ACCEPT_LEN;
			} else {
				*o++ = s->tmpl[i];
			}
		}
	}
	*answer_len = (size_t)(o - b);
	if (s->frames_len)
		memcpy(o, s->frames, s->frames_len);
	*len = *answer_len + s->frames_len;
	return b;
}

/* ---- the model: frames read from one whole buffer ------------------------------------ */

struct expect {
	int rc;          /* FERRY_OK (stream ended), FERRY_ERR_CLOSED, FERRY_ERR_WEBSOCKET */
	size_t consumed; /* FERRY_OK, FERRY_ERR_CLOSED: bytes read */
	size_t payload_len;
	bool ping; /* a complete ping: a pong is due */
	uint8_t ping_body[CTRL_MAX];
	size_t ping_len;
	int close_code; /* the close the client sends: -1 none, 0 empty, else the code */
	int close_alt;  /* another acceptable code (two rules broken at once) */
};

/* The close code for a first-two-bytes violation, 0 if none; *alt another fitting one. */
static int header_violation(uint8_t b0, uint8_t b1, bool in_msg, int *alt)
{
	unsigned op = b0 & 0x0fu, len7 = b1 & 0x7fu;
	bool fin = (b0 & 0x80u) != 0, control = op >= 8;
	bool other = (b0 & 0x70u) || (op > 2 && op != 8 && op != 9 && op != 10) || (b1 & 0x80u) ||
	             (control && (!fin || len7 > CTRL_MAX)) || (op == 0 && !in_msg) ||
	             (op == 2 && in_msg);
	*alt = 0;
	if (op == 1) { /* text: unsupported data (1003) */
		*alt = other ? 1002 : 0;
		return 1003;
	}
	return other ? 1002 : 0;
}

static bool peer_code_ok(unsigned c)
{
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

static void model_close(const uint8_t *body, size_t len, struct expect *e)
{
	if (len == 0)
		e->close_code = 0;
	else if (len == 1)
		e->close_code = 1002;
	else
		e->close_code = peer_code_ok((unsigned)body[0] << 8 | body[1])
		                    ? (int)((unsigned)body[0] << 8 | body[1])
		                    : 1002;
	e->rc = FERRY_ERR_CLOSED;
}

/* Reads s[0..n) as server frames into e and payload (room for n bytes). */
static void model(const uint8_t *s, size_t n, uint8_t *payload, struct expect *e)
{
	size_t i = 0;
	bool in_msg = false;
	memset(e, 0, sizeof *e);
	e->close_code = -1;
	e->rc = FERRY_OK;
	e->consumed = n;
	while (n - i >= 2) {
		uint8_t b0 = s[i], b1 = s[i + 1];
		unsigned op = b0 & 0x0fu, len7 = b1 & 0x7fu;
		int code = header_violation(b0, b1, in_msg, &e->close_alt);
		if (code) {
			e->rc = FERRY_ERR_WEBSOCKET;
			e->close_code = code;
			return;
		}
		size_t hl = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
		if (n - i < hl)
			return;
		uint64_t len = len7;
		if (hl > 2) {
			len = 0;
			for (size_t k = 2; k < hl; k++)
				len = len << 8 | s[i + k];
		}
		if (len > FERRY_WS_MAX_FRAME) {
			e->rc = FERRY_ERR_WEBSOCKET;
			e->close_code = 1009;
			return;
		}
		size_t have = n - i - hl < len ? n - i - hl : (size_t)len;
		if (op < 8) {
			in_msg = !(b0 & 0x80u);
			memcpy(payload + e->payload_len, s + i + hl, have);
			e->payload_len += have;
		}
		if (have < len)
			return;
		const uint8_t *body = s + i + hl;
		i += hl + have;
		if (op == 9) {
			e->ping = true;
			memcpy(e->ping_body, body, have);
			e->ping_len = have;
		} else if (op == 8) {
			model_close(body, have, e);
			e->consumed = i;
			return;
		}
	}
}

/* ---- the client's side ------------------------------------------------------------------ */

/* Control frames the client sent: masked pongs, at most one close, last. */
struct ctl {
	uint8_t buf[6 + CTRL_MAX]; /* the frame being received */
	size_t len;
	size_t pongs;
	uint8_t pong[CTRL_MAX]; /* the last pong's body */
	size_t pong_len;
	int close_code; /* -1 none, 0 empty, else the status code */
};

static void ctl_frame(struct ctl *c)
{
	uint8_t op = c->buf[0] & 0x0fu, body[CTRL_MAX];
	size_t n = c->buf[1] & 0x7fu;
	for (size_t i = 0; i < n; i++)
		body[i] = (uint8_t)(c->buf[6 + i] ^ c->buf[2 + (i & 3u)]);
	if (op == 0xAu) {
		c->pongs++;
		memcpy(c->pong, body, n);
		c->pong_len = n;
		return;
	}
	require(n == 0 || n == 2, "close frame with a body other than a status code");
	c->close_code = n ? (int)((unsigned)body[0] << 8 | body[1]) : 0;
}

static void ctl_feed(struct ctl *c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		require(c->close_code < 0, "a control frame after the close");
		c->buf[c->len++] = p[i];
		if (c->len == 1)
			require(c->buf[0] == 0x8Au || c->buf[0] == 0x88u,
			        "control frame other than a final pong or close");
		if (c->len == 2)
			require((c->buf[1] & 0x80u) && (c->buf[1] & 0x7fu) <= CTRL_MAX,
			        "control frame unmasked or longer than 125 bytes");
		if (c->len >= 2 && c->len == 6u + (c->buf[1] & 0x7fu)) {
			ctl_frame(c);
			c->len = 0;
		}
	}
}

/* Takes every queued control byte, cap bytes at a time. */
static void drain(struct ferry_ws *w, size_t cap, struct ctl *c)
{
	uint8_t buf[4096];
	for (;;) {
		bool has = ferry__ws_has_control(w);
		size_t got = ferry__ws_control(w, buf, cap);
		require(got <= cap, "ferry__ws_control gave more than cap");
		require(has == (got > 0), "ferry__ws_has_control disagrees with ferry__ws_control");
		if (!got)
			return;
		ctl_feed(c, buf, got);
	}
}

/*
 * Nothing written past errcap; on errors a non-empty text, NUL-terminated
 * inside errcap (ws.h sets it only on errors).
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

/* How one run went. */
struct run {
	char key[KEY_LEN + 1];
	uint8_t *stream;
	size_t len, answer_len;
	int hs_rc;      /* of the last ferry__ws_response */
	size_t hs_used; /* bytes it took (FERRY_OK, FERRY__AGAIN) */
	int rc;         /* of the last ferry__ws_unwrap (FERRY_OK: input ran out) */
	size_t consumed;
	uint8_t *payload;
	size_t payload_len;
	char err[ERR_ROOM];
	struct ctl ctl;
};

static int response(struct ferry_ws *w, const struct setup *s, const uint8_t *in, size_t k,
                    size_t *used, char *err)
{
	memset(err, ERR_CANARY, s->errcap + ERR_GUARD);
	*used = (size_t)-1;
	int rc = ferry__ws_response(w, in, k, used, s->errcap ? err : NULL, s->errcap);
	require(rc == FERRY__AGAIN || rc == FERRY_OK || rc == FERRY_ERR_WEBSOCKET,
	        "ferry__ws_response: undocumented return code");
	require(*used <= k, "ferry__ws_response: *used > n");
	require(rc != FERRY__AGAIN || *used == k, "ferry__ws_response: FERRY__AGAIN left bytes");
	check_err(s, err, rc);
	return rc;
}

/* The upgrade: the answer in pieces (whole: one read) until it is decided. */
static void handshake(struct ferry_ws *w, const struct setup *s, bool whole, uint32_t *rng,
                      struct run *r)
{
	char err[ERR_ROOM], again[ERR_ROOM];
	size_t pos = 0, used;
	int rc = FERRY__AGAIN;
	while (rc == FERRY__AGAIN && pos < r->len) {
		size_t k = whole ? r->len - pos : next_size(s->resp_sel, rng, r->len - pos);
		rc = response(w, s, r->stream + pos, k, &used, err);
		if (rc >= 0)
			pos += used;
	}
	r->hs_rc = rc;
	r->hs_used = pos;
	if (rc == FERRY__AGAIN)
		return;
	/* Decided: later calls repeat the verdict and take nothing. */
	int rc2 = response(w, s, (const uint8_t *)"HTTP/1.1 101\r\n\r\n", 16, &used, again);
	require(rc2 == rc && used == 0, "the upgrade's verdict changed");
	require(rc == FERRY_OK || s->errcap == 0 || strcmp(err, again) == 0,
	        "a refused upgrade changed its error text");
	if (rc == FERRY_OK) {
		const uint8_t *e = r->stream + pos;
		require(pos >= 2 && (e[-1] == '\n') &&
		            (e[-2] == '\n' || (pos >= 3 && e[-2] == '\r' && e[-3] == '\n')),
		        "upgraded before the empty line ending the answer");
		require(!s->built || pos == r->answer_len, "a correct 101 took the wrong length");
	} else {
		require(!s->built, "a correct 101 was refused");
	}
}

static int unwrap(struct ferry_ws *w, const struct setup *s, const uint8_t *in, size_t k,
                  uint8_t *out, size_t cap, size_t *used, size_t *produced, char *err)
{
	memset(err, ERR_CANARY, s->errcap + ERR_GUARD);
	*used = *produced = (size_t)-1;
	int rc =
	    ferry__ws_unwrap(w, in, k, used, out, cap, produced, s->errcap ? err : NULL, s->errcap);
	require(rc == FERRY_OK || rc == FERRY_ERR_CLOSED || rc == FERRY_ERR_WEBSOCKET,
	        "ferry__ws_unwrap: undocumented return code");
	require(*used <= k, "ferry__ws_unwrap: *used > n");
	require(*produced <= cap, "ferry__ws_unwrap: *produced > cap");
	require(*produced <= *used, "ferry__ws_unwrap: more payload than input");
	require(rc != FERRY_OK || k == 0 || *used > 0, "ferry__ws_unwrap: no progress");
	check_err(s, err, rc);
	return rc;
}

/* The frames after the upgrade, in pieces (whole: one read, a buffer for all). */
static void framing(struct ferry_ws *w, const struct setup *s, bool whole, uint32_t *rng,
                    struct run *r)
{
	const uint8_t *in = r->stream + r->hs_used;
	size_t n = r->len - r->hs_used, pos = 0, cap = whole ? n + 1 : s->out_cap;
	size_t ctl_cap = whole ? 4096 : s->ctl_cap, used, produced;
	uint8_t *out = malloc(cap);
	int rc = FERRY_OK;
	require(out != NULL, "out of memory");
	while (rc == FERRY_OK && pos < n) {
		size_t k = whole ? n - pos : next_size(s->frame_sel, rng, n - pos), off = 0;
		do {
			rc = unwrap(w, s, in + pos + off, k - off, out, cap, &used, &produced,
			            r->err);
			require(r->payload_len + produced <= pos + off + used,
			        "more payload than input in total");
			memcpy(r->payload + r->payload_len, out, produced);
			r->payload_len += produced;
			off += used;
			if (!whole && s->drain_each)
				drain(w, ctl_cap, &r->ctl);
		} while (rc == FERRY_OK && off < k);
		pos += off;
	}
	r->rc = rc;
	r->consumed = pos;
	drain(w, ctl_cap, &r->ctl);
	require(r->ctl.len == 0, "a control frame was left half taken");
	if (rc != FERRY_OK) {
		/* Ended: the same result, nothing taken, nothing produced. */
		char again[ERR_ROOM];
		int rc2 = unwrap(w, s, (const uint8_t *)"\x82\x01x", 3, out, cap, &used, &produced,
		                 again);
		require(rc2 == rc && used == 0 && produced == 0, "an ended stream went on");
		require(s->errcap == 0 || strcmp(r->err, again) == 0,
		        "an ended stream's text changed");
	}
	free(out);
}

/* A frame of ferry__ws_wrap: FIN + binary, masked, the shortest length, unmasks to in. */
static void check_wrap(struct ferry_ws *w, const uint8_t *in, size_t n)
{
	uint8_t *f = malloc(FERRY_WS_MAX_HEADER + n);
	require(f != NULL, "out of memory");
	size_t len = ferry__ws_wrap(w, in, n, f), h = 2, plen = f[1] & 0x7fu;
	require(f[0] == 0x82u && (f[1] & 0x80u), "wrapped frame: not a final masked binary frame");
	if (n < 126) {
		require(plen == n, "wrapped frame: length");
	} else if (n <= 0xffffu) {
		require(plen == 126 && ((size_t)f[2] << 8 | f[3]) == n,
		        "wrapped frame: 16-bit length");
		h = 4;
	} else {
		require(plen == 127, "wrapped frame: 64-bit length");
		h = 10;
	}
	require(len == h + 4 + n, "wrapped frame: size");
	for (size_t i = 0; i < n; i++)
		require((f[h + 4 + i] ^ f[h + (i & 3u)]) == in[i], "wrapped frame: masking");
	free(f);
}

static void one_run(const struct setup *s, bool whole, struct run *r)
{
	struct ferry_ws *w = NULL;
	char accept[ACCEPT_LEN + 1];
	uint32_t rng = s->seed;
	require(ferry__ws_new(&config, &w) == FERRY_OK && w != NULL, "ferry__ws_new failed");
	request_key(w, r->key);
	server_accept(r->key, accept);
	r->stream = server_stream(s, accept, &r->len, &r->answer_len);
	r->payload = malloc(r->len + 1);
	require(r->payload != NULL, "out of memory");
	r->payload_len = 0;
	r->rc = FERRY_OK;
	r->consumed = 0;
	memset(&r->ctl, 0, sizeof r->ctl);
	r->ctl.close_code = -1;
	handshake(w, s, whole, &rng, r);
	if (r->hs_rc == FERRY_OK)
		framing(w, s, whole, &rng, r);
	if (whole && s->frames_len)
		check_wrap(w, s->frames, s->frames_len);
	ferry__ws_free(w);
}

/* A run against the model of its frames. */
static void check_model(const struct run *r, const struct expect *e, const uint8_t *payload)
{
	require(r->rc == e->rc, "unwrap outcome differs from the model");
	require(r->rc == FERRY_ERR_WEBSOCKET || r->consumed == e->consumed,
	        "bytes consumed differ from the model");
	require(r->payload_len == e->payload_len &&
	            memcmp(r->payload, payload, r->payload_len) == 0,
	        "payload differs from the model");
	require((r->ctl.pongs > 0) == e->ping, "pong without ping, or ping without pong");
	require(!e->ping || (r->ctl.pong_len == e->ping_len &&
	                     memcmp(r->ctl.pong, e->ping_body, e->ping_len) == 0),
	        "the last pong does not echo the last ping");
	require(r->ctl.close_code == e->close_code ||
	            (e->close_alt && r->ctl.close_code == e->close_alt),
	        "the close sent differs from the model");
}

static void compare(const struct setup *s, const struct run *a, const struct run *b)
{
	require(strcmp(a->key, b->key) != 0, "the same Sec-WebSocket-Key twice");
	require(a->hs_rc == b->hs_rc, "upgrade verdict differs between whole and piecewise reads");
	require(a->hs_rc < 0 || a->hs_used == b->hs_used,
	        "upgrade length differs between whole and piecewise reads");
	if (a->hs_rc != FERRY_OK)
		return;
	require(a->rc == b->rc && a->consumed == b->consumed,
	        "unwrap outcome differs between whole and piecewise reads");
	require(a->payload_len == b->payload_len &&
	            memcmp(a->payload, b->payload, a->payload_len) == 0,
	        "payload differs between whole and piecewise reads");
	require(a->rc == FERRY_OK || s->errcap == 0 || strcmp(a->err, b->err) == 0,
	        "unwrap error text differs between whole and piecewise reads");
	require(a->ctl.close_code == b->ctl.close_code,
	        "the close differs between whole and piecewise reads");
	size_t n = a->len - a->hs_used;
	uint8_t *payload = malloc(n + 1);
	struct expect e;
	require(payload != NULL, "out of memory");
	require(n == b->len - b->hs_used &&
	            memcmp(a->stream + a->hs_used, b->stream + b->hs_used, n) == 0,
	        "the frames differ between the runs");
	model(a->stream + a->hs_used, n, payload, &e);
	check_model(a, &e, payload);
	check_model(b, &e, payload);
	free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, pieces;
	struct setup s;
	if (size < 5)
		return 0;
	s.built = (data[0] & 1u) != 0;
	s.resp_sel = (data[0] >> 1) & 7u;
	s.frame_sel = (data[0] >> 4) & 7u;
	s.drain_each = (data[0] & 0x80u) != 0;
	s.out_cap = out_caps[data[1] & 7u];
	s.ctl_cap = ctl_caps[(data[1] >> 3) & 7u];
	s.errcap = errcaps[data[1] >> 6];
	s.seed = 0x9e3779b9u ^ ((uint32_t)data[2] << 8 | data[2]);
	size_t k = (size_t)data[3] << 8 | data[4], rest = size - 5;
	s.tmpl = data + 5;
	s.tmpl_len = s.built ? 0 : (k < rest ? k : rest);
	s.frames = s.tmpl + s.tmpl_len;
	s.frames_len = rest - s.tmpl_len;
	one_run(&s, true, &whole);
	one_run(&s, false, &pieces);
	compare(&s, &whole, &pieces);
	free(whole.stream);
	free(whole.payload);
	free(pieces.stream);
	free(pieces.payload);
	return 0;
}

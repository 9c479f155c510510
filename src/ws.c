/*
 * ws.c - the client side of RFC 6455 over a byte stream (see ws.h).
 *
 * Three parts with separate state, so the send and receive threads never
 * share anything but the control queue:
 *
 *  Handshake (send thread, before any framing). ferry__ws_new builds the
 *  request and computes the expected Sec-WebSocket-Accept. ferry__ws_response
 *  gathers the answer in resp (at most RESP_MAX bytes) until the empty line;
 *  the status line is checked as soon as it is complete, the header fields
 *  once the block is. States: resp != NULL (waiting) -> upgraded (resp freed)
 *  or failed (resp freed, hs_rc set: every later call repeats the error).
 *
 *  Sending (send thread): ferry__ws_wrap frames data, ferry__ws_control
 *  frames queued control answers. Both take masks from pool, refilled from
 *  getrandom() POOL bytes at a time.
 *
 *  Receiving (receive thread): ferry__ws_unwrap runs the frame parser rx:
 *    RX_HEADER  gathering the 2..10 header bytes (hdr, hdr_len of hdr_need);
 *               each field is checked as soon as its bytes are there.
 *    RX_PAYLOAD left payload bytes of the current frame still to come: a
 *               data frame's go to the caller's buffer, a control frame's
 *               (at most 125) to ctrl.
 *    RX_ENDED   after a close or a refusal: the same result for every call.
 *  Invariants: in_message is true between a non-final data frame and the
 *  final continuation; a control frame is never fragmented and never longer
 *  than 125 bytes, so ctrl always has room.
 *
 *  Control queue (lock): at most one pong (the answer to the latest ping,
 *  which RFC 6455 5.5.3 allows) and one close; unwrap fills it, control
 *  frames it into q.out and hands the bytes out. Nothing is queued once the
 *  close has been framed (it is the last frame of a connection).
 */
#include "ws.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "again.h"
#include "base64.h"
#include "ferry/error.h"
#include "platform.h"

#define WS_GUID     "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define KEY_BYTES   16u
#define KEY_LEN     FERRY_BASE64_LEN(KEY_BYTES)  /* 24 */
#define ACCEPT_LEN  FERRY_BASE64_LEN(20u)        /* 28: base64 of a SHA-1 */
#define RESP_MAX    8192u                        /* the response header block */
#define POOL        256u                         /* mask bytes per getrandom() */
#define CTRL_MAX    125u                         /* RFC 6455 5.5 */
#define CTRL_FRAME  (6u + CTRL_MAX)              /* a masked control frame */
#define QUOTE_MAX   80u                          /* bytes of peer text quoted in errors */

#define OP_CONT  0x0u
#define OP_TEXT  0x1u
#define OP_BIN   0x2u
#define OP_CLOSE 0x8u
#define OP_PING  0x9u
#define OP_PONG  0xAu

/* Close status codes we send (RFC 6455 7.4.1). */
#define CLOSE_PROTOCOL  1002u
#define CLOSE_DATA      1003u
#define CLOSE_TOO_BIG   1009u

enum rx_state { RX_HEADER, RX_PAYLOAD, RX_ENDED };

struct rx {
	enum rx_state state;
	uint8_t hdr[10];
	size_t hdr_len, hdr_need;
	uint8_t opcode;       /* of the current frame */
	bool fin;
	uint64_t left;        /* payload bytes of the current frame still to come */
	bool in_message;      /* a fragmented data message is open */
	uint8_t ctrl[CTRL_MAX];
	size_t ctrl_len;
	int end_rc;           /* RX_ENDED: FERRY_ERR_CLOSED or FERRY_ERR_WEBSOCKET */
	char end_err[256];
};

struct ctrl_q {
	bool pong;                   /* a pong waits to be framed */
	uint8_t pong_body[CTRL_MAX];
	size_t pong_len;
	bool close;                  /* a close waits to be framed */
	uint8_t close_body[2];
	size_t close_len;
	bool close_framed;           /* the close is in out (or sent): the queue is shut */
	uint8_t out[2 * CTRL_FRAME]; /* framed bytes not yet handed out */
	size_t out_len, out_pos;
};

struct ferry_ws {
	/* handshake: send thread */
	char *req;
	size_t req_len;
	char accept[ACCEPT_LEN + 1];
	char *resp;           /* RESP_MAX bytes while waiting for the response */
	size_t resp_len;
	bool status_ok;       /* the status line was read and is 101 */
	bool upgraded;
	int hs_rc;            /* a refused handshake: the error, repeated */
	char hs_err[256];
	/* sending: send thread */
	uint8_t pool[POOL];
	size_t pool_left;
	/* receiving: receive thread */
	struct rx rx;
	/* control frames: lock */
	pthread_mutex_t lock;
	struct ctrl_q q;
};

/* --- small helpers ------------------------------------------------------------ */

static void copy_err(char *err, size_t cap, const char *text)
{
	if (err && cap)
		snprintf(err, cap, "%s", text);
}

/* Peer text made printable (other bytes become '?') and cut at QUOTE_MAX. */
static void quote(const char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0, lim = n > QUOTE_MAX ? QUOTE_MAX : n;
	for (size_t i = 0; i < lim && o + 4 < cap; i++) {
		unsigned char c = (unsigned char)p[i];
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (lim < n && o + 4 <= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
}

/* Whether p[0..n) equals the C string s, ignoring ASCII case. */
static bool same_ci(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && strncasecmp(p, s, n) == 0;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims spaces and tabs at both ends of [*p, *p + *n). */
static void trim(const char **p, size_t *n)
{
	while (*n && is_ows(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_ows((*p)[*n - 1]))
		(*n)--;
}

/* Whether the comma-separated list p[0..n) holds token (ASCII case ignored). */
static bool list_has(const char *p, size_t n, const char *token)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != ',')
			continue;
		const char *t = p + start;
		size_t tl = i - start;
		trim(&t, &tl);
		if (same_ci(t, tl, token))
			return true;
		start = i + 1;
	}
	return false;
}

/* Fills p with n bytes from getrandom(); -1 when the kernel gives none. */
static int random_bytes(uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * Four fresh mask bytes. getrandom() cannot fail once it has worked (the key
 * came from it); should it all the same, OpenSSL's generator takes over, and
 * as the very last resort the used pool is hashed into a new one.
 */
static void next_mask(struct ferry_ws *w, uint8_t m[4])
{
	if (w->pool_left < 4) {
		if (random_bytes(w->pool, POOL) != 0 && RAND_bytes(w->pool, (int)POOL) != 1) {
			for (size_t i = 0; i + 20 <= POOL; i += 20)
				EVP_Digest(w->pool + i, POOL - i, w->pool + i, NULL, EVP_sha1(), NULL);
		}
		w->pool_left = POOL;
	}
	memcpy(m, w->pool + (POOL - w->pool_left), 4);
	w->pool_left -= 4;
}

/* dst = src XOR the repeated mask, n bytes (a word at a time). */
static void mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t m[4])
{
	uint8_t m8[8] = {m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]};
	uint64_t mw;
	memcpy(&mw, m8, sizeof mw);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, src + i, sizeof v);
		v ^= mw;
		memcpy(dst + i, &v, sizeof v);
	}
	for (; i < n; i++)
		dst[i] = (uint8_t)(src[i] ^ m[i & 3u]);
}

/* Writes a masked frame header (FIN set) for opcode and len; returns its size. */
static size_t put_header(struct ferry_ws *w, uint8_t *out, unsigned opcode, uint64_t len,
                         uint8_t m[4])
{
	size_t h = 2;
	out[0] = (uint8_t)(0x80u | opcode);
	if (len < 126) {
		out[1] = (uint8_t)(0x80u | len);
	} else if (len <= 0xffffu) {
		out[1] = 0x80u | 126u;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		h = 4;
	} else {
		out[1] = 0x80u | 127u;
		for (unsigned i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		h = 10;
	}
	next_mask(w, m);
	memcpy(out + h, m, 4);
	return h + 4;
}

/* --- the request ----------------------------------------------------------------- */

/* A config string is usable in a request line or header: no control characters. */
static bool clean_text(const char *p, size_t n, bool allow_space)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == 0x7f || (c < 0x20 && c != '\t') || (!allow_space && (c == ' ' || c == '\t')))
			return false;
	}
	return true;
}

/* "Name: value": a name of visible characters, no CR or LF anywhere. */
static bool header_ok(const char *h, size_t *name_len)
{
	const char *colon = strchr(h, ':');
	if (!colon || colon == h || strpbrk(h, "\r\n"))
		return false;
	*name_len = (size_t)(colon - h);
	return clean_text(h, *name_len, false) && clean_text(colon + 1, strlen(colon + 1), true);
}

static int check_config(const struct ferry_ws_config *c, bool *own_host)
{
	*own_host = false;
	if (!c->path || !c->path_len || !clean_text(c->path, c->path_len, false) || !c->host ||
	    !c->host_len || !clean_text(c->host, c->host_len, false) || (c->nheaders && !c->headers))
		return FERRY_ERR_INVAL;
	for (size_t i = 0; i < c->nheaders; i++) {
		size_t nl;
		if (!c->headers[i] || !header_ok(c->headers[i], &nl))
			return FERRY_ERR_INVAL;
		if (same_ci(c->headers[i], nl, "Host"))
			*own_host = true;
	}
	return FERRY_OK;
}

/* Appends n bytes at *o of buf (sized beforehand, so it always fits). */
static void put(char *buf, size_t *o, const char *s, size_t n)
{
	memcpy(buf + *o, s, n);
	*o += n;
}

static void puts0(char *buf, size_t *o, const char *s)
{
	put(buf, o, s, strlen(s));
}

/* Builds w->req; a custom "Host" header replaces the default one. */
static int build_request(struct ferry_ws *w, const struct ferry_ws_config *c, const char *key,
                         bool own_host)
{
	char port[8] = "";
	if (c->port != (c->tls ? 443 : 80))
		snprintf(port, sizeof port, ":%u", (unsigned)c->port);
	static const char fixed[] = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	                            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n";
	size_t cap = 4 + c->path_len + 11 + 6 + c->host_len + 2 + strlen(port) + 2 +
	             sizeof fixed + 19 + KEY_LEN + 2 + 2 + 1;
	for (size_t i = 0; i < c->nheaders; i++)
		cap += strlen(c->headers[i]) + 2;
	char *r = malloc(cap);
	if (!r)
		return FERRY_ERR_NOMEM;
	size_t o = 0;
	puts0(r, &o, "GET ");
	put(r, &o, c->path, c->path_len);
	puts0(r, &o, " HTTP/1.1\r\n");
	if (!own_host) {
		puts0(r, &o, c->host_ipv6 ? "Host: [" : "Host: ");
		put(r, &o, c->host, c->host_len);
		puts0(r, &o, c->host_ipv6 ? "]" : "");
		puts0(r, &o, port);
		puts0(r, &o, "\r\n");
	}
	puts0(r, &o, fixed);
	puts0(r, &o, "Sec-WebSocket-Key: ");
	put(r, &o, key, KEY_LEN);
	puts0(r, &o, "\r\n");
	for (size_t i = 0; i < c->nheaders; i++) {
		puts0(r, &o, c->headers[i]);
		puts0(r, &o, "\r\n");
	}
	puts0(r, &o, "\r\n");
	w->req = r;
	w->req_len = o;
	return FERRY_OK;
}

/* Sets w->accept to base64(SHA-1(key GUID)) (RFC 6455 4.2.2). */
static int compute_accept(struct ferry_ws *w, const char *key)
{
	char text[KEY_LEN + sizeof WS_GUID];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	memcpy(text, key, KEY_LEN);
	memcpy(text + KEY_LEN, WS_GUID, sizeof WS_GUID - 1);
	if (EVP_Digest(text, KEY_LEN + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return FERRY_ERR_SYSTEM;
	ferry__base64_encode(md, 20, w->accept, sizeof w->accept);
	return FERRY_OK;
}

int ferry__ws_new(const struct ferry_ws_config *cfg, struct ferry_ws **out)
{
	bool own_host;
	uint8_t nonce[KEY_BYTES];
	char key[KEY_LEN + 1];
	if (!cfg || !out)
		return FERRY_ERR_INVAL;
	*out = NULL;
	int rc = check_config(cfg, &own_host);
	if (rc)
		return rc;
	struct ferry_ws *w = calloc(1, sizeof *w);
	if (!w)
		return FERRY_ERR_NOMEM;
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w);
		return FERRY_ERR_SYSTEM;
	}
	rc = random_bytes(nonce, sizeof nonce) ? FERRY_ERR_SYSTEM : FERRY_OK;
	if (!rc) {
		ferry__base64_encode(nonce, sizeof nonce, key, sizeof key);
		rc = compute_accept(w, key);
	}
	if (!rc)
		rc = build_request(w, cfg, key, own_host);
	if (!rc && !(w->resp = malloc(RESP_MAX)))
		rc = FERRY_ERR_NOMEM;
	if (rc) {
		ferry__ws_free(w);
		return rc;
	}
	w->rx.state = RX_HEADER;
	*out = w;
	return FERRY_OK;
}

void ferry__ws_request(const struct ferry_ws *w, const uint8_t **req, size_t *len)
{
	*req = (const uint8_t *)w->req;
	*len = w->req_len;
}

/* --- the response ------------------------------------------------------------------ */

/* Refuses the handshake: the error is kept and repeated by later calls. */
__attribute__((format(printf, 4, 5))) static int refuse(struct ferry_ws *w, char *err,
                                                        size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->hs_err, sizeof w->hs_err, fmt, ap);
	va_end(ap);
	w->hs_rc = FERRY_ERR_WEBSOCKET;
	free(w->resp);
	w->resp = NULL;
	copy_err(err, cap, w->hs_err);
	return FERRY_ERR_WEBSOCKET;
}

/* Length of the line at p (n bytes available) without its CR LF (or LF); *next past it. */
static size_t line_at(const char *p, size_t n, size_t *next)
{
	const char *nl = memchr(p, '\n', n);
	size_t len = nl ? (size_t)(nl - p) : n;
	*next = nl ? len + 1 : n;
	if (len && p[len - 1] == '\r')
		len--;
	return len;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Checks the status line "HTTP/1.x 101 ..." (len bytes, no line end). */
static int check_status(struct ferry_ws *w, const char *p, size_t len, char *err, size_t cap)
{
	char q[QUOTE_MAX + 4];
	quote(p, len, q, sizeof q);
	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !digit(p[7]) || p[8] != ' ' ||
	    !digit(p[9]) || !digit(p[10]) || !digit(p[11]) || (len > 12 && p[12] != ' '))
		return refuse(w, err, cap, "upgrade failed: not an HTTP response (\"%s\")", q);
	if (memcmp(p + 9, "101", 3) != 0)
		return refuse(w, err, cap, "upgrade refused: the server answered \"%s\"", q);
	w->status_ok = true;
	return FERRY_OK;
}

/* What the header fields of a 101 said. */
struct seen {
	bool upgrade, connection;
	int accepts, protocols;
	const char *accept, *protocol, *extensions;
	size_t accept_len, protocol_len, extensions_len;
};

/* Records one header line (len bytes) in s; FERRY_ERR_WEBSOCKET for a line without ':'. */
static int header_line(struct ferry_ws *w, const char *p, size_t len, struct seen *s, char *err,
                       size_t cap)
{
	char q[QUOTE_MAX + 4];
	const char *colon = memchr(p, ':', len);
	if (!colon || colon == p || is_ows(p[0])) {
		quote(p, len, q, sizeof q);
		return refuse(w, err, cap, "upgrade failed: malformed header line \"%s\"", q);
	}
	size_t nl = (size_t)(colon - p);
	const char *v = colon + 1;
	size_t vl = len - nl - 1;
	trim(&v, &vl);
	if (same_ci(p, nl, "Upgrade")) {
		s->upgrade = s->upgrade || list_has(v, vl, "websocket");
	} else if (same_ci(p, nl, "Connection")) {
		s->connection = s->connection || list_has(v, vl, "upgrade");
	} else if (same_ci(p, nl, "Sec-WebSocket-Accept")) {
		s->accepts++;
		s->accept = v;
		s->accept_len = vl;
	} else if (same_ci(p, nl, "Sec-WebSocket-Protocol")) {
		s->protocols++;
		s->protocol = v;
		s->protocol_len = vl;
	} else if (same_ci(p, nl, "Sec-WebSocket-Extensions") && vl) {
		s->extensions = v;
		s->extensions_len = vl;
	}
	return FERRY_OK;
}

/* Judges the header fields of a 101 response. */
static int judge(struct ferry_ws *w, const struct seen *s, char *err, size_t cap)
{
	char q[QUOTE_MAX + 4];
	if (!s->upgrade)
		return refuse(w, err, cap, "upgrade failed: no \"Upgrade: websocket\" header "
		                           "in the server's 101 response");
	if (!s->connection)
		return refuse(w, err, cap, "upgrade failed: no \"Connection: Upgrade\" header "
		                           "in the server's 101 response");
	if (s->accepts == 0)
		return refuse(w, err, cap, "upgrade failed: no Sec-WebSocket-Accept header");
	if (s->accepts > 1 || s->accept_len != ACCEPT_LEN ||
	    memcmp(s->accept, w->accept, ACCEPT_LEN) != 0) {
		quote(s->accept, s->accept_len, q, sizeof q);
		return refuse(w, err, cap,
		              "upgrade failed: wrong Sec-WebSocket-Accept \"%s\"%s "
		              "(expected \"%s\")", q, s->accepts > 1 ? " (repeated)" : "", w->accept);
	}
	if (s->protocols == 0)
		return refuse(w, err, cap, "upgrade failed: the server did not accept the "
		                           "mqtt subprotocol (no Sec-WebSocket-Protocol header)");
	if (s->protocols > 1 || !same_ci(s->protocol, s->protocol_len, "mqtt")) {
		quote(s->protocol, s->protocol_len, q, sizeof q);
		return refuse(w, err, cap, "upgrade failed: the server chose subprotocol "
		                           "\"%s\"%s, not mqtt", q, s->protocols > 1 ? " (repeated)" : "");
	}
	if (s->extensions) {
		quote(s->extensions, s->extensions_len, q, sizeof q);
		return refuse(w, err, cap, "upgrade failed: the server enabled extensions "
		                           "\"%s\" that were not offered", q);
	}
	return FERRY_OK;
}

/* Checks the complete header block resp[0..len) (its last line is empty). */
static int check_fields(struct ferry_ws *w, size_t len, char *err, size_t cap)
{
	struct seen s = {0};
	size_t next, pos;
	line_at(w->resp, len, &pos); /* the status line, checked already */
	for (;;) {
		size_t ll = line_at(w->resp + pos, len - pos, &next);
		if (ll == 0)
			break;
		int rc = header_line(w, w->resp + pos, ll, &s, err, cap);
		if (rc)
			return rc;
		pos += next;
	}
	return judge(w, &s, err, cap);
}

/* Offset just past the empty line ending the header block in resp[0..len), 0 if none yet. */
static size_t block_end(const char *r, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++) {
		if (r[i] != '\n')
			continue;
		if (i + 1 < len && r[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && r[i + 1] == '\r' && r[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int ferry__ws_response(struct ferry_ws *w, const uint8_t *in, size_t n, size_t *used, char *err,
                       size_t errcap)
{
	*used = 0;
	if (w->hs_rc) {
		copy_err(err, errcap, w->hs_err);
		return w->hs_rc;
	}
	if (w->upgraded)
		return FERRY_OK;
	size_t old = w->resp_len, take = n < RESP_MAX - old ? n : RESP_MAX - old;
	memcpy(w->resp + old, in, take);
	size_t len = old + take;
	size_t pre = len < 5 ? len : 5;
	if (memcmp(w->resp, "HTTP/", pre) != 0)
		return check_status(w, w->resp, line_at(w->resp, len, &(size_t){0}), err, errcap);
	const char *nl = memchr(w->resp, '\n', len);
	if (!w->status_ok && nl) {
		int rc = check_status(w, w->resp, line_at(w->resp, len, &(size_t){0}), err, errcap);
		if (rc)
			return rc;
	}
	size_t end = nl ? block_end(w->resp, (size_t)(nl - w->resp), len) : 0;
	if (!end) {
		w->resp_len = len;
		*used = take;
		if (len >= RESP_MAX)
			return refuse(w, err, errcap, "upgrade failed: the response header "
			                              "block is over %u bytes", RESP_MAX);
		return FERRY__AGAIN;
	}
	int rc = check_fields(w, end, err, errcap);
	if (rc)
		return rc;
	*used = end - old;
	free(w->resp);
	w->resp = NULL;
	w->upgraded = true;
	return FERRY_OK;
}

/* --- sending --------------------------------------------------------------------------- */

size_t ferry__ws_wrap(struct ferry_ws *w, const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t m[4];
	size_t h = put_header(w, out, OP_BIN, n, m);
	mask_copy(out + h, in, n, m);
	return h + n;
}

/* Frames the next queued control frame into q->out (lock held). */
static void frame_next(struct ferry_ws *w, struct ctrl_q *q)
{
	uint8_t m[4];
	q->out_len = q->out_pos = 0;
	if (q->pong) {
		size_t h = put_header(w, q->out, OP_PONG, q->pong_len, m);
		mask_copy(q->out + h, q->pong_body, q->pong_len, m);
		q->out_len = h + q->pong_len;
		q->pong = false;
	}
	if (q->close) {
		size_t h = put_header(w, q->out + q->out_len, OP_CLOSE, q->close_len, m);
		mask_copy(q->out + q->out_len + h, q->close_body, q->close_len, m);
		q->out_len += h + q->close_len;
		q->close = false;
		q->close_framed = true;
	}
}

bool ferry__ws_has_control(struct ferry_ws *w)
{
	ferry__lock(&w->lock);
	bool yes = w->q.out_pos < w->q.out_len || w->q.pong || w->q.close;
	ferry__unlock(&w->lock);
	return yes;
}

size_t ferry__ws_control(struct ferry_ws *w, uint8_t *out, size_t cap)
{
	size_t done = 0;
	ferry__lock(&w->lock);
	struct ctrl_q *q = &w->q;
	while (done < cap) {
		if (q->out_pos == q->out_len) {
			if (!q->pong && !q->close)
				break;
			frame_next(w, q);
		}
		size_t k = q->out_len - q->out_pos;
		if (k > cap - done)
			k = cap - done;
		memcpy(out + done, q->out + q->out_pos, k);
		q->out_pos += k;
		done += k;
	}
	ferry__unlock(&w->lock);
	return done;
}

/* Queues a pong (replacing one not framed yet) or a close; nothing after the close. */
static void enqueue(struct ferry_ws *w, unsigned opcode, const uint8_t *body, size_t len)
{
	ferry__lock(&w->lock);
	struct ctrl_q *q = &w->q;
	if (!q->close_framed && !q->close) {
		if (opcode == OP_PONG) {
			memcpy(q->pong_body, body, len);
			q->pong_len = len;
			q->pong = true;
		} else {
			memcpy(q->close_body, body, len);
			q->close_len = len;
			q->close = true;
		}
	}
	ferry__unlock(&w->lock);
}

static void enqueue_close(struct ferry_ws *w, unsigned code)
{
	uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};
	enqueue(w, OP_CLOSE, b, code ? 2 : 0);
}

/* --- receiving --------------------------------------------------------------------------- */

/* Ends the stream with rc and a sentence; a protocol error queues a close with code. */
__attribute__((format(printf, 4, 5))) static int rx_end(struct ferry_ws *w, int rc, unsigned code,
                                                        const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->rx.end_err, sizeof w->rx.end_err, fmt, ap);
	va_end(ap);
	w->rx.end_rc = rc;
	w->rx.state = RX_ENDED;
	if (code)
		enqueue_close(w, code);
	return rc;
}

/* Names of the status codes 1000..1014 (RFC 6455 7.4.1, IANA); NULL: not to be sent. */
static const char *const close_names[] = {
    "normal closure",  "going away",        "protocol error",        "unsupported data",
    NULL,              NULL,                NULL,                    "invalid payload data",
    "policy violation", "message too big",  "mandatory extension",   "internal server error",
    "service restart", "try again later",   "bad gateway"};

/* A code a peer may send in a close frame (RFC 6455 7.4). */
static bool close_code_ok(unsigned code)
{
	return (code >= 1000 && code <= 1014 && close_names[code - 1000]) ||
	       (code >= 3000 && code <= 4999);
}

static const char *close_name(unsigned code)
{
	if (code >= 1000 && code <= 1014 && close_names[code - 1000])
		return close_names[code - 1000];
	return code >= 3000 && code <= 4999 ? "application code" : "invalid code";
}

/* The server's close: answer it (echoing a valid code) and end the stream. */
static int on_close(struct ferry_ws *w)
{
	struct rx *r = &w->rx;
	char reason[QUOTE_MAX + 4];
	if (r->ctrl_len == 0) {
		enqueue_close(w, 0);
		return rx_end(w, FERRY_ERR_CLOSED, 0,
		              "closed by the server (no status code)");
	}
	if (r->ctrl_len == 1) {
		enqueue_close(w, CLOSE_PROTOCOL);
		return rx_end(w, FERRY_ERR_CLOSED, 0,
		              "closed by the server with a malformed close frame");
	}
	unsigned code = (unsigned)r->ctrl[0] << 8 | r->ctrl[1];
	enqueue_close(w, close_code_ok(code) ? code : CLOSE_PROTOCOL);
	quote((const char *)r->ctrl + 2, r->ctrl_len - 2, reason, sizeof reason);
	return rx_end(w, FERRY_ERR_CLOSED, 0, "closed by the server: %u (%s)%s%s%s",
	              code, close_name(code), *reason ? " \"" : "", reason, *reason ? "\"" : "");
}

/* Checks the first two header bytes; sets hdr_need. */
static int rx_first(struct ferry_ws *w)
{
	struct rx *r = &w->rx;
	unsigned b0 = r->hdr[0], b1 = r->hdr[1], op = b0 & 0x0fu, len7 = b1 & 0x7fu;
	bool control = (op & 0x8u) != 0;
	r->fin = (b0 & 0x80u) != 0;
	r->opcode = (uint8_t)op;
	if (b0 & 0x70u)
		return rx_end(w, FERRY_ERR_WEBSOCKET, CLOSE_PROTOCOL, "frame with "
		              "reserved bits 0x%02x set (no extension was negotiated)", b0 & 0x70u);
	if (op == OP_TEXT)
		return rx_end(w, FERRY_ERR_WEBSOCKET, CLOSE_DATA,
		              "text frame from the server (MQTT needs binary frames)");
	if (op > OP_BIN && op != OP_CLOSE && op != OP_PING && op != OP_PONG)
		return rx_end(w, FERRY_ERR_WEBSOCKET, CLOSE_PROTOCOL,
		              "frame with reserved opcode 0x%x", op);
	if (b1 & 0x80u)
		return rx_end(w, FERRY_ERR_WEBSOCKET, CLOSE_PROTOCOL,
		              "masked frame from the server");
	if (control && !r->fin)
		return rx_end(w, FERRY_ERR_WEBSOCKET, CLOSE_PROTOCOL,
		              "fragmented control frame (opcode 0x%x)", op);
	if (control && len7 > CTRL_MAX)
		return rx_end(w, FERRY_ERR_WEBSOCKET, CLOSE_PROTOCOL,
		              "control frame (opcode 0x%x) longer than 125 bytes", op);
	if (op == OP_CONT && !r->in_message)
		return rx_end(w, FERRY_ERR_WEBSOCKET, CLOSE_PROTOCOL,
		              "continuation frame without a message to continue");
	if (op == OP_BIN && r->in_message)
		return rx_end(w, FERRY_ERR_WEBSOCKET, CLOSE_PROTOCOL,
		              "binary frame inside an unfinished fragmented message");
	r->hdr_need = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
	return FERRY_OK;
}

/* The header is complete: read the length and start the payload. */
static int rx_start(struct ferry_ws *w)
{
	struct rx *r = &w->rx;
	uint64_t len = r->hdr[1] & 0x7fu;
	if (r->hdr_need > 2) {
		len = 0;
		for (size_t i = 2; i < r->hdr_need; i++)
			len = len << 8 | r->hdr[i];
	}
	if (len > FERRY_WS_MAX_FRAME)
		return rx_end(w, FERRY_ERR_WEBSOCKET, CLOSE_TOO_BIG,
		              "frame of %llu bytes (the limit is %u)",
		              (unsigned long long)len, FERRY_WS_MAX_FRAME);
	if (!(r->opcode & 0x8u))
		r->in_message = !r->fin;
	r->left = len;
	r->ctrl_len = 0;
	r->state = RX_PAYLOAD;
	return FERRY_OK;
}

/* A frame's payload is complete. */
static int rx_finish(struct ferry_ws *w)
{
	struct rx *r = &w->rx;
	r->state = RX_HEADER;
	r->hdr_len = 0;
	if (r->opcode == OP_PING)
		enqueue(w, OP_PONG, r->ctrl, r->ctrl_len);
	else if (r->opcode == OP_CLOSE)
		return on_close(w);
	return FERRY_OK;
}

/* Takes header bytes from in; FERRY_OK with *i advanced. */
static int rx_header(struct ferry_ws *w, const uint8_t *in, size_t n, size_t *i)
{
	struct rx *r = &w->rx;
	int rc = FERRY_OK;
	while (*i < n && !rc && r->state == RX_HEADER) {
		r->hdr[r->hdr_len++] = in[(*i)++];
		if (r->hdr_len == 2)
			rc = rx_first(w);
		if (!rc && r->hdr_len >= 2 && r->hdr_len == r->hdr_need) {
			rc = rx_start(w);
			if (!rc && r->left == 0)
				rc = rx_finish(w);
		}
	}
	return rc;
}

int ferry__ws_unwrap(struct ferry_ws *w, const uint8_t *in, size_t n, size_t *used, uint8_t *out,
                     size_t cap, size_t *produced, char *err, size_t errcap)
{
	struct rx *r = &w->rx;
	size_t i = 0, o = 0;
	int rc = FERRY_OK;
	while (!rc && i < n && r->state != RX_ENDED) {
		if (r->state == RX_HEADER) {
			/* A close ends the stream: the data in front of it goes out first. */
			if (o && r->hdr_len == 0 && (in[i] & 0x0fu) == OP_CLOSE)
				break;
			rc = rx_header(w, in, n, &i);
			continue;
		}
		size_t k = n - i < r->left ? n - i : (size_t)r->left;
		if (r->opcode & 0x8u) {
			memcpy(r->ctrl + r->ctrl_len, in + i, k);
			r->ctrl_len += k;
		} else {
			if (k > cap - o)
				k = cap - o;
			if (k == 0)
				break;
			memcpy(out + o, in + i, k);
			o += k;
		}
		i += k;
		r->left -= k;
		if (r->left == 0)
			rc = rx_finish(w);
	}
	*used = i;
	*produced = o;
	if (r->state == RX_ENDED) {
		copy_err(err, errcap, r->end_err);
		return r->end_rc;
	}
	return FERRY_OK;
}

void ferry__ws_free(struct ferry_ws *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->lock);
	free(w->req);
	free(w->resp);
	free(w);
}

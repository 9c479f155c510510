/*
 * tunnel.c - the client side of an HTTP CONNECT or SOCKS5 exchange (see
 * tunnel.h). Pure: bytes in, bytes out, no I/O.
 *
 * States (t->state) and their transitions:
 *   SEND   output is pending (ferry__tunnel_output gives it). When
 *          ferry__tunnel_sent has seen all of it, the next message of the
 *          exchange is composed (state stays SEND) or the answer is awaited
 *          (RECV).
 *   RECV   waiting for the proxy: ferry__tunnel_input collects its answer
 *          into t->in, then composes the next message (SEND), or the
 *          tunnel is open (UP), or the proxy said no (FAILED).
 *   UP     final: every later byte is the server's.
 *   FAILED final: the exchange failed; input gives FERRY_ERR_STATE.
 *
 * Steps (t->step), in order:
 *   HTTP:   HTTP_SEND_ALL (the whole request fits t->out)
 *           or HTTP_SEND_HEAD then HTTP_SEND_AUTH (a long host plus long
 *           credentials do not fit at once: the request line and Host go
 *           first, then Proxy-Authorization and the blank line),
 *           then HTTP_RECV (the response header, 1xx answers skipped).
 *   SOCKS5: S_GREET, S_GREET_REPLY, [S_AUTH, S_AUTH_REPLY,] S_REQUEST, S_REPLY.
 *
 * Invariants: out_sent <= out_len <= sizeof out; in_len <= sizeof in; in
 * holds only bytes of the answer being awaited (never a byte beyond it, so
 * what follows the proxy's last answer is the caller's to pass on).
 * http_status is the HTTP status of the final answer, or the SOCKS5 REP
 * code of the CONNECT reply; 0 until then.
 */
#include "tunnel.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "again.h"
#include "base64.h"
#include "ferry/error.h"
#include "ferry/ferry.h"

enum {
	HTTP_SEND_ALL = 1,
	HTTP_SEND_HEAD,
	HTTP_SEND_AUTH,
	HTTP_RECV,
	S_GREET,
	S_GREET_REPLY,
	S_AUTH,
	S_AUTH_REPLY,
	S_REQUEST,
	S_REPLY,
};

/* SOCKS5 constants (RFC 1928, RFC 1929). */
#define SOCKS_VERSION      0x05u
#define SOCKS_AUTH_VERSION 0x01u
#define SOCKS_NO_AUTH      0x00u
#define SOCKS_USER_PASS    0x02u
#define SOCKS_NO_METHOD    0xffu
#define SOCKS_CMD_CONNECT  0x01u
#define SOCKS_ATYP_IPV4    0x01u
#define SOCKS_ATYP_NAME    0x03u
#define SOCKS_ATYP_IPV6    0x04u

/* Longest reason phrase quoted in an error sentence. */
#define REASON_MAX 64

__attribute__((format(printf, 3, 4))) static void fail(char *err, size_t errcap, const char *fmt,
                                                       ...)
{
	if (err && errcap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
}

static bool has_auth(const struct ferry_tunnel *t)
{
	return t->user[0] != 0;
}

/* Appends n bytes to the output; false (nothing written) when they do not fit. */
static bool put(struct ferry_tunnel *t, const void *p, size_t n)
{
	if (n > sizeof t->out - t->out_len)
		return false;
	memcpy(t->out + t->out_len, p, n);
	t->out_len += n;
	return true;
}

static bool put_str(struct ferry_tunnel *t, const char *s)
{
	return put(t, s, strlen(s));
}

static bool put_byte(struct ferry_tunnel *t, unsigned b)
{
	uint8_t v = (uint8_t)(b & 0xffu);
	return put(t, &v, 1);
}

/* ---- address literals ------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict dotted quad: four decimal parts 0..255, no leading zeros. */
static bool parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part && (i >= len || s[i++] != '.'))
			return false;
		size_t start = i;
		unsigned v = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10u + (unsigned)(s[i++] - '0');
		if (i == start || v > 255u || (i - start > 1 && s[start] == '0'))
			return false;
		out[part] = (uint8_t)v;
	}
	return i == len;
}

/* Places the parsed groups around the "::" gap (gap < 0: none). */
static bool ipv6_expand(const uint16_t *w, size_t nw, long gap, uint8_t out[16])
{
	if (gap < 0 ? nw != 8 : nw > 7)
		return false;
	uint16_t full[8] = {0};
	size_t head = gap < 0 ? nw : (size_t)gap;
	for (size_t k = 0; k < head; k++)
		full[k] = w[k];
	for (size_t k = head; k < nw; k++)
		full[8 - (nw - k)] = w[k];
	for (size_t k = 0; k < 8; k++) {
		out[2 * k] = (uint8_t)(full[k] >> 8);
		out[2 * k + 1] = (uint8_t)(full[k] & 0xffu);
	}
	return true;
}

/* RFC 4291 section 2.2 text forms, with an optional dotted-quad tail. */
static bool parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
	uint16_t w[8] = {0};
	size_t nw = 0, i = 0;
	long gap = -1;
	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
		if (i == len)
			return ipv6_expand(w, 0, gap, out);
	}
	for (;;) {
		size_t start = i;
		unsigned v = 0;
		while (i < len && hexval(s[i]) >= 0 && i - start < 5)
			v = v * 16u + (unsigned)hexval(s[i++]);
		if (i < len && s[i] == '.') {
			uint8_t v4[4];
			if (nw > 6 || !parse_ipv4(s + start, len - start, v4))
				return false;
			w[nw++] = (uint16_t)((unsigned)v4[0] << 8 | v4[1]);
			w[nw++] = (uint16_t)((unsigned)v4[2] << 8 | v4[3]);
			break;
		}
		if (i == start || i - start > 4 || nw == 8)
			return false;
		w[nw++] = (uint16_t)v;
		if (i == len)
			break;
		if (s[i++] != ':' || i == len)
			return false;
		if (s[i] == ':') {
			if (gap >= 0)
				return false;
			gap = (long)nw;
			if (++i == len)
				break;
		}
	}
	return ipv6_expand(w, nw, gap, out);
}

/* ---- composing the messages ------------------------------------------------ */

/* "host:port", IPv6 literals in brackets (RFC 9110 authority-form). */
static void authority(const struct ferry_tunnel *t, char *buf, size_t cap)
{
	bool v6 = strchr(t->host, ':') != NULL;
	snprintf(buf, cap, "%s%s%s:%u", v6 ? "[" : "", t->host, v6 ? "]" : "", (unsigned)t->port);
}

static bool http_head(struct ferry_tunnel *t)
{
	char auth[300];
	authority(t, auth, sizeof auth);
	return put_str(t, "CONNECT ") && put_str(t, auth) && put_str(t, " HTTP/1.1\r\nHost: ") &&
	       put_str(t, auth) && put_str(t, "\r\n");
}

/* Proxy-Authorization (RFC 7617: base64 of "user:password") and the blank line. */
static bool http_tail(struct ferry_tunnel *t)
{
	if (has_auth(t)) {
		char cred[sizeof t->user + sizeof t->pass];
		char b64[FERRY_BASE64_LEN(sizeof cred) + 1];
		int n = snprintf(cred, sizeof cred, "%s:%s", t->user, t->pass);
		size_t len =
		    ferry__base64_encode((const uint8_t *)cred, (size_t)n, b64, sizeof b64);
		if (!put_str(t, "Proxy-Authorization: Basic ") || !put(t, b64, len) ||
		    !put_str(t, "\r\n"))
			return false;
	}
	return put_str(t, "\r\n");
}

static void http_compose(struct ferry_tunnel *t)
{
	t->out_len = t->out_sent = 0;
	http_head(t); /* at most 8 + 262 + 17 + 262 + 2 bytes: always fits */
	size_t mark = t->out_len;
	if (http_tail(t)) {
		t->step = HTTP_SEND_ALL;
	} else {
		t->out_len = mark;
		t->step = HTTP_SEND_HEAD;
	}
}

static void socks_greeting(struct ferry_tunnel *t)
{
	t->out_len = t->out_sent = 0;
	put_byte(t, SOCKS_VERSION);
	if (has_auth(t)) {
		put_byte(t, 2);
		put_byte(t, SOCKS_NO_AUTH);
		put_byte(t, SOCKS_USER_PASS);
	} else {
		put_byte(t, 1);
		put_byte(t, SOCKS_NO_AUTH);
	}
	t->step = S_GREET;
}

static void socks_auth(struct ferry_tunnel *t)
{
	size_t ulen = strlen(t->user), plen = strlen(t->pass);
	t->out_len = t->out_sent = 0;
	put_byte(t, SOCKS_AUTH_VERSION);
	put_byte(t, (unsigned)ulen);
	put(t, t->user, ulen);
	put_byte(t, (unsigned)plen);
	put(t, t->pass, plen);
	t->step = S_AUTH;
	t->state = FERRY_TUNNEL_SEND;
}

static void socks_request(struct ferry_tunnel *t)
{
	size_t hlen = strlen(t->host);
	uint8_t a[16];
	t->out_len = t->out_sent = 0;
	put_byte(t, SOCKS_VERSION);
	put_byte(t, SOCKS_CMD_CONNECT);
	put_byte(t, 0);
	if (parse_ipv4(t->host, hlen, a)) {
		put_byte(t, SOCKS_ATYP_IPV4);
		put(t, a, 4);
	} else if (parse_ipv6(t->host, hlen, a)) {
		put_byte(t, SOCKS_ATYP_IPV6);
		put(t, a, 16);
	} else {
		put_byte(t, SOCKS_ATYP_NAME);
		put_byte(t, (unsigned)hlen);
		put(t, t->host, hlen);
	}
	put_byte(t, (unsigned)t->port >> 8);
	put_byte(t, (unsigned)t->port & 0xffu);
	t->step = S_REQUEST;
	t->state = FERRY_TUNNEL_SEND;
}

/* ---- init, output, sent ---------------------------------------------------- */

static bool host_ok(const char *host, size_t len)
{
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];
		if (c <= 0x20u || c == 0x7fu || c == '[' || c == ']' || c == '/')
			return false;
	}
	return true;
}

int ferry__tunnel_init(struct ferry_tunnel *t, int type, const char *host, size_t host_len,
                       uint16_t port, const char *user, const char *pass)
{
	if (!t)
		return FERRY_ERR_INVAL;
	memset(t, 0, sizeof *t);
	t->state = FERRY_TUNNEL_FAILED;
	if ((type != FERRY_PROXY_HTTP && type != FERRY_PROXY_SOCKS5) || !host ||
	    !host_ok(host, host_len))
		return FERRY_ERR_INVAL;
	if (!user)
		user = "";
	if (!pass || !user[0])
		pass = "";
	if (strlen(user) > 255 || strlen(pass) > 255)
		return FERRY_ERR_INVAL;
	/* RFC 7617 section 2: a user-id containing a colon is invalid. */
	if (type == FERRY_PROXY_HTTP && strchr(user, ':'))
		return FERRY_ERR_INVAL;
	t->type = type;
	memcpy(t->host, host, host_len);
	t->port = port;
	memcpy(t->user, user, strlen(user) + 1);
	memcpy(t->pass, pass, strlen(pass) + 1);
	t->state = FERRY_TUNNEL_SEND;
	if (type == FERRY_PROXY_HTTP)
		http_compose(t);
	else
		socks_greeting(t);
	return FERRY_OK;
}

void ferry__tunnel_output(const struct ferry_tunnel *t, const uint8_t **out, size_t *len)
{
	assert(t && out && len);
	if (t->state != FERRY_TUNNEL_SEND) {
		*out = t->out;
		*len = 0;
		return;
	}
	*out = t->out + t->out_sent;
	*len = t->out_len - t->out_sent;
}

void ferry__tunnel_sent(struct ferry_tunnel *t, size_t n)
{
	assert(t && n <= t->out_len - t->out_sent);
	if (t->state != FERRY_TUNNEL_SEND)
		return;
	if (n > t->out_len - t->out_sent)
		n = t->out_len - t->out_sent;
	t->out_sent += n;
	if (t->out_sent < t->out_len)
		return;
	t->out_len = t->out_sent = 0;
	/* in_len is kept: an HTTP proxy may start answering before the whole
	 * request is out, and those bytes are the start of its answer (found
	 * by fuzz_tunnel). */
	switch (t->step) {
	case HTTP_SEND_HEAD:
		http_tail(t); /* at most 27 + 684 + 4 bytes: fits an empty buffer */
		t->step = HTTP_SEND_AUTH;
		return;
	case HTTP_SEND_ALL:
	case HTTP_SEND_AUTH:
		t->step = HTTP_RECV;
		break;
	default:
		t->step++; /* each SOCKS5 send step is followed by its reply step */
		break;
	}
	t->state = FERRY_TUNNEL_RECV;
}

/* ---- HTTP answer ----------------------------------------------------------- */

/* Copies the status line's printable text (at most REASON_MAX bytes) into buf. */
static void printable(const uint8_t *p, size_t n, char *buf, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && p[i] != '\r' && p[i] != '\n' && o + 1 < cap; i++)
		buf[o++] = p[i] >= 0x20u && p[i] < 0x7fu ? (char)p[i] : '?';
	buf[o] = 0;
}

/* Whether the bytes so far can still begin "HTTP/". */
static bool http_prefix_ok(const struct ferry_tunnel *t)
{
	static const char want[] = "HTTP/";
	for (size_t i = 0; i < t->in_len && i < sizeof want - 1; i++)
		if (t->in[i] != (uint8_t)want[i])
			return false;
	return true;
}

/* A complete header block ends in an empty line (CRLF, or a bare LF: RFC 9112 2.2). */
static bool http_header_end(const struct ferry_tunnel *t)
{
	size_t n = t->in_len;
	return (n >= 2 && t->in[n - 1] == '\n' && t->in[n - 2] == '\n') ||
	       (n >= 3 && t->in[n - 1] == '\n' && t->in[n - 2] == '\r' && t->in[n - 3] == '\n');
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * The status line "HTTP/d.d ddd reason" of the header block in t->in.
 * Returns FERRY_OK (2xx), FERRY__AGAIN (1xx: an interim answer, skip it),
 * or an error with a sentence in err.
 */
static int http_verdict(struct ferry_tunnel *t, char *err, size_t errcap)
{
	const uint8_t *p = t->in;
	char text[REASON_MAX + 1], target[300];
	authority(t, target, sizeof target);
	if (t->in_len < 13 || !is_digit(p[5]) || p[6] != '.' || !is_digit(p[7]) || p[8] != ' ' ||
	    !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]) ||
	    (p[12] != ' ' && p[12] != '\r' && p[12] != '\n')) {
		printable(p, t->in_len, text, sizeof text);
		fail(err, errcap, "HTTP proxy: malformed status line \"%s\"", text);
		return FERRY_ERR_PROXY;
	}
	int code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (code >= 100 && code < 200 && code != 101)
		return FERRY__AGAIN;
	t->http_status = code;
	if (code >= 200 && code < 300)
		return FERRY_OK;
	printable(p + 9, t->in_len - 9, text, sizeof text);
	if (code == 407) {
		if (has_auth(t))
			fail(err, errcap, "HTTP proxy refused the credentials of user \"%s\" (%s)",
			     t->user, text);
		else
			fail(err, errcap,
			     "HTTP proxy requires credentials (%s): set the proxy username "
			     "and password",
			     text);
		return FERRY_ERR_PROXY_AUTH;
	}
	fail(err, errcap, "HTTP proxy answered %s to CONNECT %s", text, target);
	return FERRY_ERR_PROXY;
}

static int not_http(const struct ferry_tunnel *t, char *err, size_t errcap)
{
	char text[REASON_MAX + 1];
	printable(t->in, t->in_len, text, sizeof text);
	fail(err, errcap, "HTTP proxy: the answer is not HTTP (begins \"%s\", byte 0x%02x)", text,
	     t->in[t->in_len - 1]);
	return FERRY_ERR_PROXY;
}

/*
 * Takes the answer byte by byte, never past its end. A refusal is
 * judged as soon as its status line is complete: the rest of its header
 * (however long) and its body do not matter. A 1xx or 2xx answer is
 * taken up to the empty line that ends its header.
 */
static int http_input(struct ferry_tunnel *t, const uint8_t *in, size_t n, size_t *used, char *err,
                      size_t errcap)
{
	size_t i = 0;
	while (i < n) {
		if (t->in_len == sizeof t->in) {
			fail(err, errcap, "HTTP proxy: answer header longer than %zu bytes",
			     sizeof t->in);
			return FERRY_ERR_PROXY;
		}
		t->in[t->in_len++] = in[i++];
		*used = i;
		if (!http_prefix_ok(t))
			return not_http(t, err, errcap);
		if (t->in[t->in_len - 1] != '\n')
			continue;
		if (!memchr(t->in, '\n', t->in_len - 1)) { /* the status line is complete */
			int rc = http_verdict(t, err, errcap);
			if (rc < 0)
				return rc;
			continue;
		}
		if (!http_header_end(t))
			continue;
		bool interim = t->in[9] == '1';
		t->in_len = 0;
		if (interim)
			continue;
		if (t->state == FERRY_TUNNEL_SEND) {
			fail(err, errcap, "HTTP proxy answered %d before the request was sent",
			     t->http_status);
			return FERRY_ERR_PROXY;
		}
		return FERRY_OK;
	}
	return FERRY__AGAIN;
}

/* ---- SOCKS5 answers -------------------------------------------------------- */

static const char *socks_reply_name(unsigned rep)
{
	static const char *const names[] = {
	    "succeeded",
	    "general SOCKS server failure",
	    "connection not allowed by ruleset",
	    "network unreachable",
	    "host unreachable",
	    "connection refused",
	    "TTL expired",
	    "command not supported",
	    "address type not supported",
	};
	return rep < sizeof names / sizeof names[0] ? names[rep] : "unassigned reply code";
}

/*
 * How many bytes the awaited answer has, judged from what is in t->in so far
 * (the CONNECT reply's length depends on its ATYP); checks what it can early.
 */
static int socks_need(struct ferry_tunnel *t, size_t *need, char *err, size_t errcap)
{
	const uint8_t *p = t->in;
	*need = 2;
	if (t->step != S_REPLY || t->in_len < 2)
		return FERRY_OK;
	if (p[0] != SOCKS_VERSION) {
		fail(err, errcap, "SOCKS5 proxy: reply version 0x%02x instead of 0x05", p[0]);
		return FERRY_ERR_PROXY;
	}
	if (p[1] != 0) {
		char target[300];
		authority(t, target, sizeof target);
		t->http_status = p[1];
		fail(err, errcap, "SOCKS5 proxy could not connect to %s: %s (reply 0x%02x)", target,
		     socks_reply_name(p[1]), p[1]);
		return FERRY_ERR_PROXY;
	}
	*need = 5;
	if (t->in_len < 5)
		return FERRY_OK;
	switch (p[3]) {
	case SOCKS_ATYP_IPV4:
		*need = 4 + 4 + 2;
		break;
	case SOCKS_ATYP_IPV6:
		*need = 4 + 16 + 2;
		break;
	case SOCKS_ATYP_NAME:
		*need = 4 + 1 + (size_t)p[4] + 2;
		break;
	default:
		fail(err, errcap, "SOCKS5 proxy: reply with unknown address type 0x%02x", p[3]);
		return FERRY_ERR_PROXY;
	}
	return FERRY_OK;
}

static int socks_method(struct ferry_tunnel *t, char *err, size_t errcap)
{
	const uint8_t *p = t->in;
	if (p[0] != SOCKS_VERSION) {
		fail(err, errcap,
		     "SOCKS5 proxy: version 0x%02x instead of 0x05 (not a SOCKS5 proxy?)", p[0]);
		return FERRY_ERR_PROXY;
	}
	if (p[1] == SOCKS_NO_AUTH) {
		socks_request(t);
		return FERRY__AGAIN;
	}
	if (p[1] == SOCKS_USER_PASS && has_auth(t)) {
		socks_auth(t);
		return FERRY__AGAIN;
	}
	if (p[1] == SOCKS_NO_METHOD) {
		fail(err, errcap,
		     "SOCKS5 proxy accepts none of the offered methods (%s, method "
		     "0xff): %s",
		     has_auth(t) ? "none, username/password" : "none",
		     has_auth(t) ? "it wants another kind of authentication"
		                 : "set the proxy username and password");
		return FERRY_ERR_PROXY_AUTH;
	}
	fail(err, errcap, "SOCKS5 proxy chose method 0x%02x, which was not offered", p[1]);
	return FERRY_ERR_PROXY;
}

static int socks_login(struct ferry_tunnel *t, char *err, size_t errcap)
{
	const uint8_t *p = t->in;
	if (p[0] != SOCKS_AUTH_VERSION) {
		fail(err, errcap, "SOCKS5 proxy: login reply version 0x%02x instead of 0x01", p[0]);
		return FERRY_ERR_PROXY;
	}
	if (p[1] != 0) {
		fail(err, errcap,
		     "SOCKS5 proxy refused the credentials of user \"%s\" (status "
		     "0x%02x)",
		     t->user, p[1]);
		return FERRY_ERR_PROXY_AUTH;
	}
	socks_request(t);
	return FERRY__AGAIN;
}

static int socks_input(struct ferry_tunnel *t, const uint8_t *in, size_t n, size_t *used, char *err,
                       size_t errcap)
{
	size_t i = 0, need = 0;
	if (t->state != FERRY_TUNNEL_RECV) {
		fail(err, errcap, "SOCKS5 proxy sent %zu bytes before the request was complete", n);
		return FERRY_ERR_PROXY;
	}
	for (;;) {
		int rc = socks_need(t, &need, err, errcap);
		if (rc)
			return rc;
		if (t->in_len >= need)
			break;
		if (i == n) {
			*used = n;
			return FERRY__AGAIN;
		}
		size_t k = need - t->in_len < n - i ? need - t->in_len : n - i;
		memcpy(t->in + t->in_len, in + i, k);
		t->in_len += k;
		i += k;
	}
	*used = i;
	if (t->step == S_REPLY)
		return FERRY_OK;
	int rc =
	    t->step == S_GREET_REPLY ? socks_method(t, err, errcap) : socks_login(t, err, errcap);
	t->in_len = 0;
	if (rc == FERRY__AGAIN && i < n) {
		fail(err, errcap, "SOCKS5 proxy sent %zu bytes out of turn", n - i);
		return FERRY_ERR_PROXY;
	}
	return rc;
}

int ferry__tunnel_input(struct ferry_tunnel *t, const uint8_t *in, size_t n, size_t *used,
                        char *err, size_t errcap)
{
	assert(t && (in || n == 0));
	size_t dummy;
	if (!used)
		used = &dummy;
	*used = 0;
	if (err && errcap)
		err[0] = 0;
	if (t->state == FERRY_TUNNEL_UP)
		return FERRY_OK;
	if (t->state == FERRY_TUNNEL_FAILED) {
		fail(err, errcap, "the proxy tunnel has already failed");
		return FERRY_ERR_STATE;
	}
	if (n == 0)
		return FERRY__AGAIN;
	int rc = t->type == FERRY_PROXY_HTTP ? http_input(t, in, n, used, err, errcap)
	                                     : socks_input(t, in, n, used, err, errcap);
	if (rc == FERRY_OK)
		t->state = FERRY_TUNNEL_UP;
	else if (rc < 0)
		t->state = FERRY_TUNNEL_FAILED;
	return rc;
}

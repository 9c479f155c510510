/*
 * test_tunnel.c - the proxy exchanges of src/tunnel.h, byte for byte:
 * HTTP CONNECT (RFC 9110 9.3.6, basic authentication RFC 7617) and SOCKS5
 * (RFC 1928, username/password RFC 1929). What the client sends, how each
 * kind of answer is judged, answers split at every byte, and the bytes after
 * the proxy's last answer left for the next layer.
 */
#include <stdio.h>
#include <string.h>

#include "again.h"
#include "base64.h"
#include "ferry/ferry.h"
#include "suites.h"
#include "tunnel.h"
#include "util.h"

/* Everything the tunnel wants to send now, marked sent (several parts too). */
static size_t take(struct ferry_tunnel *t, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		const uint8_t *out;
		size_t len;
		ferry__tunnel_output(t, &out, &len);
		if (len == 0 || n + len > cap)
			return n;
		memcpy(buf + n, out, len);
		n += len;
		ferry__tunnel_sent(t, len);
	}
}

/* Asserts that the tunnel sends exactly `want` (len bytes) now, then waits. */
static void expect_out(struct ferry_tunnel *t, const void *want, size_t len)
{
	uint8_t buf[2048];
	size_t n = take(t, buf, sizeof buf);
	CU_ASSERT_EQUAL(n, len);
	CU_ASSERT(n == len && memcmp(buf, want, len) == 0);
	if (n != len || memcmp(buf, want, len) != 0)
		fprintf(stderr, "\n  sent: %s\n", test_tohex(buf, n));
	CU_ASSERT_EQUAL(t->state, FERRY_TUNNEL_RECV);
}

static void expect_text(struct ferry_tunnel *t, const char *want)
{
	expect_out(t, want, strlen(want));
}

static void expect_hex(struct ferry_tunnel *t, const char *hex)
{
	uint8_t want[1024];
	size_t n = test_hex(hex, want, sizeof want);
	expect_out(t, want, n);
}

static int feed(struct ferry_tunnel *t, const void *p, size_t n, size_t *used, char *err,
                size_t cap)
{
	return ferry__tunnel_input(t, (const uint8_t *)p, n, used, err, cap);
}

static int feed_text(struct ferry_tunnel *t, const char *s, size_t *used, char *err, size_t cap)
{
	return feed(t, s, strlen(s), used, err, cap);
}

static int feed_hex(struct ferry_tunnel *t, const char *hex, size_t *used, char *err, size_t cap)
{
	uint8_t b[512];
	size_t n = test_hex(hex, b, sizeof b);
	return feed(t, b, n, used, err, cap);
}

static void http_start(struct ferry_tunnel *t, const char *user, const char *pass)
{
	ASSERT_RC(ferry__tunnel_init(t, FERRY_PROXY_HTTP, "broker.example", 14, 1883, user, pass),
	          FERRY_OK);
	uint8_t buf[1024];
	CU_ASSERT(take(t, buf, sizeof buf) > 0);
	CU_ASSERT_EQUAL(t->state, FERRY_TUNNEL_RECV);
}

/* ---- HTTP CONNECT: the request ------------------------------------------------ */

static void test_http_request(void)
{
	struct ferry_tunnel t;
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "broker.example", 14, 1883, NULL, NULL),
	          FERRY_OK);
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_SEND);
	expect_text(&t, "CONNECT broker.example:1883 HTTP/1.1\r\n"
	                "Host: broker.example:1883\r\n\r\n");
	const uint8_t *out;
	size_t len = 99;
	ferry__tunnel_output(&t, &out, &len);
	CU_ASSERT_EQUAL(len, 0);
	/* An empty user name is no authentication, whatever the password. */
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "10.0.0.7", 8, 80, "", "pw"), FERRY_OK);
	expect_text(&t, "CONNECT 10.0.0.7:80 HTTP/1.1\r\nHost: 10.0.0.7:80\r\n\r\n");
}

/* RFC 7617 section 2's example credentials. */
static void test_http_basic_auth(void)
{
	struct ferry_tunnel t;
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "broker.example", 14, 8883, "Aladdin",
	                             "open sesame"),
	          FERRY_OK);
	expect_text(&t, "CONNECT broker.example:8883 HTTP/1.1\r\n"
	                "Host: broker.example:8883\r\n"
	                "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
	/* A user without a password: "user:" */
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "h", 1, 1, "bob", NULL), FERRY_OK);
	expect_text(&t, "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n"
	                "Proxy-Authorization: Basic Ym9iOg==\r\n\r\n");
}

static void test_http_ipv6_literal(void)
{
	struct ferry_tunnel t;
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "2001:db8::1", 11, 443, NULL, NULL),
	          FERRY_OK);
	expect_text(&t, "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n");
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "::1", 3, 65535, NULL, NULL), FERRY_OK);
	expect_text(&t, "CONNECT [::1]:65535 HTTP/1.1\r\nHost: [::1]:65535\r\n\r\n");
}

/* Partial writes: the rest comes out, then the tunnel waits for the proxy. */
static void test_http_partial_send(void)
{
	static const char want[] = "CONNECT a.b:1 HTTP/1.1\r\nHost: a.b:1\r\n\r\n";
	struct ferry_tunnel t;
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "a.b", 3, 1, NULL, NULL), FERRY_OK);
	char got[128];
	size_t n = 0;
	for (;;) {
		const uint8_t *out;
		size_t len;
		ferry__tunnel_output(&t, &out, &len);
		if (len == 0)
			break;
		CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_SEND);
		got[n++] = (char)out[0];
		ferry__tunnel_sent(&t, 1);
	}
	got[n] = 0;
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_RECV);
}

/*
 * Bytes of the answer that arrive while the end of the request is still
 * going out are the start of the answer, not lost when it is sent (found by
 * fuzz_tunnel): "HTTP/1.1" early, the rest after, is a malformed status line,
 * exactly as if it had all come at once.
 */
static void test_http_answer_while_sending(void)
{
	static const char early[] = "HTTP/1.1", late[] = "HTTP/1.1 200 OK\r\n\r\n";
	for (int whole = 0; whole < 2; whole++) {
		struct ferry_tunnel t;
		ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "a.b", 3, 1, NULL, NULL), FERRY_OK);
		const uint8_t *out;
		size_t len, used = 0;
		char err[160] = "";
		ferry__tunnel_output(&t, &out, &len);
		CU_ASSERT_FATAL(len > 1);
		ferry__tunnel_sent(&t, whole ? len : len - 1);
		int rc = ferry__tunnel_input(&t, (const uint8_t *)early, sizeof early - 1, &used, err,
		                             sizeof err);
		ASSERT_RC(rc, FERRY__AGAIN);
		if (!whole)
			ferry__tunnel_sent(&t, 1); /* the last byte of the request */
		rc = ferry__tunnel_input(&t, (const uint8_t *)late, sizeof late - 1, &used, err,
		                         sizeof err);
		ASSERT_RC(rc, FERRY_ERR_PROXY);
	}
}

/* 255-byte host and credentials: more than t->out holds, sent in two parts. */
static void test_http_longest_request(void)
{
	char host[256], user[256], pass[256];
	memset(host, 'h', 255);
	memset(user, 'u', 255);
	memset(pass, 'p', 255);
	host[255] = user[255] = pass[255] = 0;
	struct ferry_tunnel t;
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, host, 255, 65535, user, pass), FERRY_OK);
	const uint8_t *out;
	size_t len;
	ferry__tunnel_output(&t, &out, &len);
	CU_ASSERT(len > 0 && len <= sizeof t.out);
	static uint8_t got[2048];
	size_t n = take(&t, got, sizeof got);
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_RECV);
	/* 8 + 261 + 11 + 6 + 261 + 2 head, 27 + 684 + 2 authorization, 2 blank line */
	CU_ASSERT_EQUAL(n, 549u + 713u + 2u);
	char cred[512], b64[700], head[600];
	snprintf(cred, sizeof cred, "%s:%s", user, pass);
	CU_ASSERT_EQUAL(ferry__base64_encode((const uint8_t *)cred, 511, b64, sizeof b64), 684);
	int hn = snprintf(head, sizeof head, "CONNECT %s:65535 HTTP/1.1\r\nHost: %s:65535\r\n",
	                  host, host);
	CU_ASSERT(memcmp(got, head, (size_t)hn) == 0);
	CU_ASSERT(memcmp(got + hn, "Proxy-Authorization: Basic ", 27) == 0);
	CU_ASSERT(memcmp(got + hn + 27, b64, 684) == 0);
	CU_ASSERT(memcmp(got + hn + 27 + 684, "\r\n\r\n", 4) == 0);
}

/* ---- HTTP CONNECT: the answer -------------------------------------------------- */

static void test_http_200_extra_headers(void)
{
	static const char ans[] = "HTTP/1.1 200 Connection established\r\n"
	                          "Proxy-Agent: test/1.0\r\n"
	                          "Via: 1.1 proxy.example\r\n\r\n";
	struct ferry_tunnel t;
	http_start(&t, NULL, NULL);
	char err[256] = "x";
	size_t used = 99;
	ASSERT_RC(feed_text(&t, ans, &used, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL(used, strlen(ans));
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_UP);
	CU_ASSERT_EQUAL(t.http_status, 200);
	CU_ASSERT_STRING_EQUAL(err, "");
	/* Once up, nothing more is the proxy's. */
	ASSERT_RC(feed_text(&t, "abc", &used, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL(used, 0);
}

/* HTTP/1.0, no reason phrase, a bare LF as line end, another 2xx. */
static void test_http_200_variants(void)
{
	static const struct {
		const char *ans;
		int status;
	} cases[] = {
	    {"HTTP/1.0 200 Connection established\r\n\r\n", 200},
	    {"HTTP/1.1 200\r\n\r\n", 200},
	    {"HTTP/1.1 200 OK\nServer: x\n\n", 200},
	    {"HTTP/1.1 204 No Content\r\n\r\n", 204},
	    /* an interim answer first: skipped */
	    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 OK\r\n\r\n", 201},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ferry_tunnel t;
		http_start(&t, NULL, NULL);
		size_t used = 0;
		ASSERT_RC(feed_text(&t, cases[i].ans, &used, NULL, 0), FERRY_OK);
		CU_ASSERT_EQUAL(used, strlen(cases[i].ans));
		CU_ASSERT_EQUAL(t.http_status, cases[i].status);
	}
}

/* The server's first bytes may come in the same read as the proxy's answer. */
static void test_http_trailing_bytes(void)
{
	static const char ans[] = "HTTP/1.1 200 OK\r\n\r\n\x20\x02\x00\x00";
	struct ferry_tunnel t;
	http_start(&t, "u", "p");
	size_t used = 0;
	ASSERT_RC(feed(&t, ans, sizeof ans - 1, &used, NULL, 0), FERRY_OK);
	CU_ASSERT_EQUAL(used, 19);
	CU_ASSERT_EQUAL(sizeof ans - 1 - used, 4);
}

/* The answer split in two at every byte, and fed one byte at a time. */
static void test_http_split_everywhere(void)
{
	static const char ans[] = "HTTP/1.1 200 Connection established\r\nX-A: b\r\n\r\nMQTT";
	size_t head = strlen(ans) - 4;
	for (size_t k = 0; k <= head; k++) {
		struct ferry_tunnel t;
		http_start(&t, NULL, NULL);
		size_t used = 0;
		int rc = feed(&t, ans, k, &used, NULL, 0);
		ASSERT_RC(rc, k == 0 ? FERRY__AGAIN : (k == head ? FERRY_OK : FERRY__AGAIN));
		CU_ASSERT_EQUAL(used, k);
		if (k == head)
			continue;
		ASSERT_RC(feed(&t, ans + k, strlen(ans) - k, &used, NULL, 0), FERRY_OK);
		CU_ASSERT_EQUAL(used, head - k);
	}
	struct ferry_tunnel t;
	http_start(&t, NULL, NULL);
	size_t i = 0, used = 0;
	int rc = FERRY__AGAIN;
	while (rc == FERRY__AGAIN && i < strlen(ans))
		rc = feed(&t, ans + i++, 1, &used, NULL, 0);
	ASSERT_RC(rc, FERRY_OK);
	CU_ASSERT_EQUAL(i, head);
}

static void test_http_407(void)
{
	static const char ans[] =
	    "HTTP/1.1 407 Proxy Authentication Required\r\n"
	    "Proxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n";
	struct ferry_tunnel t;
	char err[256];
	size_t used;
	http_start(&t, NULL, NULL);
	ASSERT_RC(feed_text(&t, ans, &used, err, sizeof err), FERRY_ERR_PROXY_AUTH);
	CU_ASSERT_EQUAL(t.http_status, 407);
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_FAILED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "407 Proxy Authentication Required"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "requires credentials"));
	http_start(&t, "alice", "wrong");
	ASSERT_RC(feed_text(&t, ans, &used, err, sizeof err), FERRY_ERR_PROXY_AUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "refused the credentials of user \"alice\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "407"));
	/* Judged at the end of the status line: a long header after it does not matter. */
	http_start(&t, NULL, NULL);
	static char big[4096];
	memset(big, 'a', sizeof big);
	static const char status[] = "HTTP/1.1 407 Proxy Authentication Required\r\n";
	memcpy(big, status, sizeof status - 1);
	ASSERT_RC(feed(&t, big, sizeof big, &used, err, sizeof err), FERRY_ERR_PROXY_AUTH);
	CU_ASSERT_EQUAL(used, sizeof status - 1);
	/* A failed tunnel takes nothing more. */
	ASSERT_RC(feed_text(&t, "HTTP/1.1 200 OK\r\n\r\n", &used, err, sizeof err),
	          FERRY_ERR_STATE);
}

/* A proxy may refuse before reading the whole request; it cannot accept before. */
static void test_http_early_answer(void)
{
	struct ferry_tunnel t;
	char err[256];
	size_t used;
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "h", 1, 1, NULL, NULL), FERRY_OK);
	ferry__tunnel_sent(&t, 3);
	ASSERT_RC(feed_text(&t, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", &used, err,
	                    sizeof err),
	          FERRY_ERR_PROXY_AUTH);
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "h", 1, 1, NULL, NULL), FERRY_OK);
	ASSERT_RC(feed_text(&t, "HTTP/1.1 200 OK\r\n\r\n", &used, err, sizeof err),
	          FERRY_ERR_PROXY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "before the request was sent"));
}

static void test_http_refusals(void)
{
	static const struct {
		const char *ans, *text;
		int status;
	} cases[] = {
	    {"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!", "403 Forbidden", 403},
	    {"HTTP/1.1 502 Bad Gateway\r\n\r\n", "502 Bad Gateway", 502},
	    {"HTTP/1.0 503 Service Unavailable\r\n\r\n", "503 Service Unavailable", 503},
	    {"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", "301 Moved", 301},
	    {"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101 Switching Protocols", 101},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ferry_tunnel t;
		char err[256] = "";
		size_t used = 0;
		http_start(&t, NULL, NULL);
		ASSERT_RC(feed_text(&t, cases[i].ans, &used, err, sizeof err), FERRY_ERR_PROXY);
		CU_ASSERT_EQUAL(t.http_status, cases[i].status);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].text));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "broker.example:1883"));
	}
}

/* Not HTTP at all: refused at the first byte that cannot begin "HTTP/". */
static void test_http_garbage(void)
{
	struct ferry_tunnel t;
	char err[256];
	size_t used;
	http_start(&t, NULL, NULL);
	ASSERT_RC(feed_hex(&t, "05 ff", &used, err, sizeof err), FERRY_ERR_PROXY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not HTTP (begins \"?\", byte 0x05)"));
	http_start(&t, NULL, NULL);
	ASSERT_RC(feed_text(&t, "HTTP", &used, err, sizeof err), FERRY__AGAIN);
	ASSERT_RC(feed_text(&t, "S/1.1 200 OK", &used, err, sizeof err), FERRY_ERR_PROXY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "HTTPS"));
	static const char *const bad[] = {
	    "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/x.1 200 OK\r\n\r\n",
	    "HTTP/1.1\r\n\r\n",         "HTTP/1.1 abc\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_start(&t, NULL, NULL);
		ASSERT_RC(feed_text(&t, bad[i], &used, err, sizeof err), FERRY_ERR_PROXY);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "malformed status line"));
	}
}

/* A header block that never ends within t->in is refused, not buffered without bound. */
static void test_http_header_too_long(void)
{
	struct ferry_tunnel t;
	char err[256];
	size_t used;
	http_start(&t, NULL, NULL);
	ASSERT_RC(feed_text(&t, "HTTP/1.1 200 OK\r\n", &used, err, sizeof err), FERRY__AGAIN);
	char line[64];
	int rc = FERRY__AGAIN;
	size_t total = 17;
	for (int i = 0; rc == FERRY__AGAIN && i < 100; i++) {
		int n = snprintf(line, sizeof line, "X-Filler-%02d: %040d\r\n", i, i);
		rc = feed(&t, line, (size_t)n, &used, err, sizeof err);
		total += (size_t)n;
	}
	ASSERT_RC(rc, FERRY_ERR_PROXY);
	CU_ASSERT(total > sizeof t.in);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than 2048"));
	/* Exactly the room of t->in is still accepted. */
	http_start(&t, NULL, NULL);
	static char big[2048];
	memset(big, 'a', sizeof big);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memcpy(big + sizeof big - 4, "\r\n\r\n", 4);
	ASSERT_RC(feed(&t, big, sizeof big, &used, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL(used, sizeof big);
}

/* ---- SOCKS5 ---------------------------------------------------------------- */

static void socks_init(struct ferry_tunnel *t, const char *host, uint16_t port, const char *user,
                       const char *pass)
{
	ASSERT_RC(ferry__tunnel_init(t, FERRY_PROXY_SOCKS5, host, strlen(host), port, user, pass),
	          FERRY_OK);
}

/* A tunnel that has sent its CONNECT request to broker.example:1883 (no auth). */
static void socks_at_reply(struct ferry_tunnel *t)
{
	size_t used;
	socks_init(t, "broker.example", 1883, NULL, NULL);
	expect_hex(t, "05 01 00");
	ASSERT_RC(feed_hex(t, "05 00", &used, NULL, 0), FERRY__AGAIN);
	expect_hex(t, "05 01 00 03 0e 62726f6b65722e6578616d706c65 07 5b");
}

static void test_socks_no_auth(void)
{
	struct ferry_tunnel t;
	size_t used = 0;
	socks_at_reply(&t);
	ASSERT_RC(feed_hex(&t, "05 00 00 01 7f 00 00 01 c3 50", &used, NULL, 0), FERRY_OK);
	CU_ASSERT_EQUAL(used, 10);
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_UP);
	CU_ASSERT_EQUAL(t.http_status, 0);
}

static void test_socks_user_pass(void)
{
	struct ferry_tunnel t;
	size_t used = 0;
	socks_init(&t, "10.1.2.3", 8883, "alice", "secret");
	expect_hex(&t, "05 02 00 02");
	ASSERT_RC(feed_hex(&t, "05 02", &used, NULL, 0), FERRY__AGAIN);
	CU_ASSERT_EQUAL(used, 2);
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_SEND);
	expect_hex(&t, "01 05 616c696365 06 736563726574");
	ASSERT_RC(feed_hex(&t, "01 00", &used, NULL, 0), FERRY__AGAIN);
	expect_hex(&t, "05 01 00 01 0a 01 02 03 22 b3");
	ASSERT_RC(feed_hex(&t, "05 00 00 01 0a 01 02 03 22 b3", &used, NULL, 0), FERRY_OK);
	/* Credentials offered, but the proxy needs none: straight to the request. */
	socks_init(&t, "10.1.2.3", 8883, "alice", "secret");
	expect_hex(&t, "05 02 00 02");
	ASSERT_RC(feed_hex(&t, "05 00", &used, NULL, 0), FERRY__AGAIN);
	expect_hex(&t, "05 01 00 01 0a 01 02 03 22 b3");
}

/* The longest login: 255-byte user and password, 513 bytes. */
static void test_socks_longest_login(void)
{
	char user[256], pass[256];
	memset(user, 'U', 255);
	memset(pass, 'P', 255);
	user[255] = pass[255] = 0;
	struct ferry_tunnel t;
	size_t used;
	socks_init(&t, "h", 1, user, pass);
	expect_hex(&t, "05 02 00 02");
	ASSERT_RC(feed_hex(&t, "05 02", &used, NULL, 0), FERRY__AGAIN);
	uint8_t want[513];
	want[0] = 1;
	want[1] = 255;
	memcpy(want + 2, user, 255);
	want[257] = 255;
	memcpy(want + 258, pass, 255);
	expect_out(&t, want, sizeof want);
}

/* Which address type the CONNECT request uses for each kind of host. */
static void test_socks_address_types(void)
{
	static const struct {
		const char *host, *hex;
	} cases[] = {
	    {"127.0.0.1", "01 7f 00 00 01"},
	    {"255.255.255.255", "01 ff ff ff ff"},
	    {"::1", "04 00000000000000000000000000000001"},
	    {"2001:db8::8:800:200c:417a", "04 20010db8000000000008 0800200c417a"},
	    {"::ffff:192.0.2.1", "04 00000000000000000000ffff c0000201"},
	    {"1:2:3:4:5:6:7:8", "04 0001000200030004000500060007 0008"},
	    {"fe80::", "04 fe800000000000000000000000000000"},
	    {"localhost", "03 09 6c6f63616c686f7374"},
	    /* not literals: sent as names for the proxy to resolve */
	    {"1.2.3", "03 05 312e322e33"},
	    {"01.2.3.4", "03 08 30312e322e332e34"},
	    {"256.1.1.1", "03 09 3235362e312e312e31"},
	    {"1:2", "03 03 313a32"},
	    {"1::2::3", "03 07 313a3a323a3a33"},
	    {"12345::", "03 07 31323334353a3a"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ferry_tunnel t;
		size_t used;
		char hex[128];
		snprintf(hex, sizeof hex, "05 01 00 %s 00 50", cases[i].hex);
		socks_init(&t, cases[i].host, 80, NULL, NULL);
		expect_hex(&t, "05 01 00");
		ASSERT_RC(feed_hex(&t, "05 00", &used, NULL, 0), FERRY__AGAIN);
		expect_hex(&t, hex);
	}
}

/* Replies of each address length, each followed by the server's first bytes. */
static void test_socks_reply_lengths(void)
{
	static const struct {
		const char *hex;
		size_t len;
	} cases[] = {
	    {"05 00 00 01 c0 a8 00 01 04 d2", 10},
	    {"05 00 00 03 0b 70726f78792e6c6f63616c 04 d2", 18},
	    {"05 00 00 03 00 04 d2", 7},
	    {"05 00 00 04 20010db8000000000000000000000001 04 d2", 22},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t b[64];
		size_t n = test_hex(cases[i].hex, b, sizeof b);
		CU_ASSERT_EQUAL(n, cases[i].len);
		n += test_hex("20 02 00 00", b + n, sizeof b - n); /* a CONNACK */
		for (size_t k = 0; k <= cases[i].len; k++) {
			struct ferry_tunnel t;
			size_t used = 0, used2 = 0;
			socks_at_reply(&t);
			int rc = feed(&t, b, k, &used, NULL, 0);
			ASSERT_RC(rc, k == cases[i].len ? FERRY_OK : FERRY__AGAIN);
			CU_ASSERT_EQUAL(used, k);
			if (rc == FERRY__AGAIN) {
				ASSERT_RC(feed(&t, b + k, n - k, &used2, NULL, 0), FERRY_OK);
				CU_ASSERT_EQUAL(used2, cases[i].len - k);
			}
		}
	}
}

/* The whole exchange with the proxy's answers fed one byte at a time. */
static void test_socks_split_input(void)
{
	struct ferry_tunnel t;
	size_t used;
	socks_init(&t, "broker", 1883, "u", "p");
	expect_hex(&t, "05 02 00 02");
	ASSERT_RC(feed_hex(&t, "05", &used, NULL, 0), FERRY__AGAIN);
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_RECV);
	ASSERT_RC(feed_hex(&t, "02", &used, NULL, 0), FERRY__AGAIN);
	expect_hex(&t, "01 01 75 01 70");
	ASSERT_RC(feed_hex(&t, "01", &used, NULL, 0), FERRY__AGAIN);
	ASSERT_RC(feed(&t, "", 0, &used, NULL, 0), FERRY__AGAIN);
	ASSERT_RC(feed_hex(&t, "00", &used, NULL, 0), FERRY__AGAIN);
	expect_hex(&t, "05 01 00 03 06 62726f6b6572 07 5b");
	uint8_t r[32];
	size_t n = test_hex("05 00 00 04 00000000000000000000000000000001 1f 90", r, sizeof r);
	for (size_t i = 0; i + 1 < n; i++) {
		ASSERT_RC(feed(&t, r + i, 1, &used, NULL, 0), FERRY__AGAIN);
		CU_ASSERT_EQUAL(used, 1);
	}
	ASSERT_RC(feed(&t, r + n - 1, 1, &used, NULL, 0), FERRY_OK);
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_UP);
}

/* Failure replies 0x01..0x08 each named in the text, and an unassigned one. */
static void test_socks_failure_replies(void)
{
	static const char *const names[] = {
	    NULL,
	    "general SOCKS server failure",
	    "connection not allowed by ruleset",
	    "network unreachable",
	    "host unreachable",
	    "connection refused",
	    "TTL expired",
	    "command not supported",
	    "address type not supported",
	    "unassigned",
	};
	for (unsigned rep = 1; rep <= 9; rep++) {
		struct ferry_tunnel t;
		char err[256] = "", hex[64], code[8];
		size_t used;
		socks_at_reply(&t);
		snprintf(hex, sizeof hex, "05 %02x 00 01 00 00 00 00 00 00", rep);
		ASSERT_RC(feed_hex(&t, hex, &used, err, sizeof err), FERRY_ERR_PROXY);
		snprintf(code, sizeof code, "0x%02x", rep);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, names[rep]));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, code));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "broker.example:1883"));
		CU_ASSERT_EQUAL(t.http_status, (int)rep);
		CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_FAILED);
	}
	/* Judged from its first two bytes: a proxy that then closes is still understood. */
	struct ferry_tunnel t;
	char err[256];
	size_t used;
	socks_at_reply(&t);
	ASSERT_RC(feed_hex(&t, "05 05", &used, err, sizeof err), FERRY_ERR_PROXY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "connection refused"));
}

static void test_socks_no_acceptable_method(void)
{
	struct ferry_tunnel t;
	char err[256];
	size_t used;
	socks_init(&t, "h", 1, NULL, NULL);
	expect_hex(&t, "05 01 00");
	ASSERT_RC(feed_hex(&t, "05 ff", &used, err, sizeof err), FERRY_ERR_PROXY_AUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0xff"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "set the proxy username and password"));
	socks_init(&t, "h", 1, "u", "p");
	expect_hex(&t, "05 02 00 02");
	ASSERT_RC(feed_hex(&t, "05 ff", &used, err, sizeof err), FERRY_ERR_PROXY_AUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "none of the offered methods"));
}

static void test_socks_auth_failure(void)
{
	struct ferry_tunnel t;
	char err[256];
	size_t used;
	socks_init(&t, "h", 1, "alice", "wrong");
	expect_hex(&t, "05 02 00 02");
	ASSERT_RC(feed_hex(&t, "05 02", &used, err, sizeof err), FERRY__AGAIN);
	expect_hex(&t, "01 05 616c696365 05 77726f6e67");
	ASSERT_RC(feed_hex(&t, "01 01", &used, err, sizeof err), FERRY_ERR_PROXY_AUTH);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "refused the credentials of user \"alice\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0x01"));
	CU_ASSERT_EQUAL(t.state, FERRY_TUNNEL_FAILED);
}

/* Answers that break RFC 1928 / 1929. */
static void test_socks_malformed(void)
{
	struct ferry_tunnel t;
	char err[256];
	size_t used;
	/* not a SOCKS5 proxy: an HTTP proxy's answer */
	socks_init(&t, "h", 1, NULL, NULL);
	expect_hex(&t, "05 01 00");
	ASSERT_RC(feed_text(&t, "HTTP/1.1 400 Bad Request\r\n\r\n", &used, err, sizeof err),
	          FERRY_ERR_PROXY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "0x48"));
	/* a method that was not offered (username/password without credentials; GSSAPI) */
	static const char *const methods[] = {"05 02", "05 01"};
	for (size_t i = 0; i < 2; i++) {
		socks_init(&t, "h", 1, NULL, NULL);
		expect_hex(&t, "05 01 00");
		ASSERT_RC(feed_hex(&t, methods[i], &used, err, sizeof err), FERRY_ERR_PROXY);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "not offered"));
	}
	/* a login reply with the wrong version */
	socks_init(&t, "h", 1, "u", "p");
	take(&t, (uint8_t[8]){0}, 8);
	feed_hex(&t, "05 02", &used, err, sizeof err);
	take(&t, (uint8_t[8]){0}, 8);
	ASSERT_RC(feed_hex(&t, "05 00", &used, err, sizeof err), FERRY_ERR_PROXY);
	/* a CONNECT reply with the wrong version or an unknown address type */
	socks_at_reply(&t);
	ASSERT_RC(feed_hex(&t, "04 00 00 01", &used, err, sizeof err), FERRY_ERR_PROXY);
	socks_at_reply(&t);
	ASSERT_RC(feed_hex(&t, "05 00 00 05 00", &used, err, sizeof err), FERRY_ERR_PROXY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "address type 0x05"));
	/* bytes out of turn: after the method choice, before our request went out */
	socks_init(&t, "h", 1, NULL, NULL);
	expect_hex(&t, "05 01 00");
	ASSERT_RC(feed_hex(&t, "05 00 05 00", &used, err, sizeof err), FERRY_ERR_PROXY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of turn"));
	/* an answer before the greeting was even sent */
	socks_init(&t, "h", 1, NULL, NULL);
	ASSERT_RC(feed_hex(&t, "05 00", &used, err, sizeof err), FERRY_ERR_PROXY);
}

/* ---- arguments ------------------------------------------------------------- */

static void test_init_arguments(void)
{
	struct ferry_tunnel t;
	char long_text[300];
	memset(long_text, 'x', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = 0;
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_NONE, "h", 1, 1, NULL, NULL), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__tunnel_init(&t, 3, "h", 1, 1, NULL, NULL), FERRY_ERR_INVAL);
	const uint8_t *out;
	size_t len = 1;
	ferry__tunnel_output(&t, &out, &len);
	CU_ASSERT_EQUAL(len, 0); /* a refused init leaves nothing to send */
	ASSERT_RC(ferry__tunnel_init(NULL, FERRY_PROXY_HTTP, "h", 1, 1, NULL, NULL),
	          FERRY_ERR_INVAL);
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, NULL, 0, 1, NULL, NULL),
	          FERRY_ERR_INVAL);
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "h", 0, 1, NULL, NULL), FERRY_ERR_INVAL);
	for (int type = FERRY_PROXY_HTTP; type <= FERRY_PROXY_SOCKS5; type++) {
		ASSERT_RC(ferry__tunnel_init(&t, type, long_text, 255, 1, NULL, NULL), FERRY_OK);
		ASSERT_RC(ferry__tunnel_init(&t, type, long_text, 256, 1, NULL, NULL),
		          FERRY_ERR_INVAL);
		ASSERT_RC(ferry__tunnel_init(&t, type, "h", 1, 1, long_text, "p"), FERRY_ERR_INVAL);
		ASSERT_RC(ferry__tunnel_init(&t, type, "h", 1, 1, "u", long_text), FERRY_ERR_INVAL);
		long_text[255] = 0;
		ASSERT_RC(ferry__tunnel_init(&t, type, "h", 1, 1, long_text, long_text), FERRY_OK);
		long_text[255] = 'x';
		/* no request smuggling through the host name */
		ASSERT_RC(ferry__tunnel_init(&t, type, "h\r\nX: y", 7, 1, NULL, NULL),
		          FERRY_ERR_INVAL);
		ASSERT_RC(ferry__tunnel_init(&t, type, "a b", 3, 1, NULL, NULL), FERRY_ERR_INVAL);
		ASSERT_RC(ferry__tunnel_init(&t, type, "h\0x", 3, 1, NULL, NULL), FERRY_ERR_INVAL);
		ASSERT_RC(ferry__tunnel_init(&t, type, "[::1]", 5, 1, NULL, NULL), FERRY_ERR_INVAL);
	}
	/* RFC 7617: a colon cannot be in a basic-auth user name; SOCKS5 has no such limit. */
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "h", 1, 1, "a:b", "p"), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_SOCKS5, "h", 1, 1, "a:b", "p"), FERRY_OK);
	/* the host is host_len bytes, not a C string */
	ASSERT_RC(ferry__tunnel_init(&t, FERRY_PROXY_HTTP, "hostXYZ", 4, 7, NULL, NULL), FERRY_OK);
	expect_text(&t, "CONNECT host:7 HTTP/1.1\r\nHost: host:7\r\n\r\n");
}

void register_tunnel_suite(void)
{
	CU_pSuite s = test_suite("tunnel");
	test_add(s, "HTTP: answer bytes before the request is out are kept",
	         test_http_answer_while_sending);
	test_add(s, "HTTP request", test_http_request);
	test_add(s, "HTTP basic auth (RFC 7617 example)", test_http_basic_auth);
	test_add(s, "HTTP IPv6 literal in brackets", test_http_ipv6_literal);
	test_add(s, "HTTP request sent in pieces", test_http_partial_send);
	test_add(s, "HTTP longest request in two parts", test_http_longest_request);
	test_add(s, "HTTP 200 with extra headers", test_http_200_extra_headers);
	test_add(s, "HTTP 2xx variants, 1xx skipped", test_http_200_variants);
	test_add(s, "HTTP bytes after the header are the server's", test_http_trailing_bytes);
	test_add(s, "HTTP answer split at every byte", test_http_split_everywhere);
	test_add(s, "HTTP 407", test_http_407);
	test_add(s, "HTTP answer before the request is sent", test_http_early_answer);
	test_add(s, "HTTP 403, 502 and other refusals", test_http_refusals);
	test_add(s, "HTTP garbage answers", test_http_garbage);
	test_add(s, "HTTP over-long header block", test_http_header_too_long);
	test_add(s, "SOCKS5 without authentication", test_socks_no_auth);
	test_add(s, "SOCKS5 username/password", test_socks_user_pass);
	test_add(s, "SOCKS5 longest login", test_socks_longest_login);
	test_add(s, "SOCKS5 address types", test_socks_address_types);
	test_add(s, "SOCKS5 reply lengths, split, trailing bytes", test_socks_reply_lengths);
	test_add(s, "SOCKS5 answers byte by byte", test_socks_split_input);
	test_add(s, "SOCKS5 failure replies", test_socks_failure_replies);
	test_add(s, "SOCKS5 method 0xff", test_socks_no_acceptable_method);
	test_add(s, "SOCKS5 login refused", test_socks_auth_failure);
	test_add(s, "SOCKS5 malformed answers", test_socks_malformed);
	test_add(s, "init arguments", test_init_arguments);
}

/*
 * test_ws.c - the WebSocket layer (src/ws.h): the upgrade request and the
 * checks of the response (RFC 6455 section 4, the section 1.3 accept key),
 * framing both ways (the section 5.7 examples), every refusal, input split at
 * every byte boundary, MQTT packets spread over frames in every way, the
 * 7/16/64-bit length encodings, ping/pong and the close handshake.
 *
 * getrandom() is replaced at link time by the one below: normally it passes
 * through to the kernel, but a test can script the bytes it returns (the key
 * "the sample nonce" of RFC 6455 1.3, the mask 37 fa 21 3d of 5.7) or make it
 * fail. The unit program is single-threaded while these tests run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "again.h"
#include "ferry/error.h"
#include "frame.h"
#include "suites.h"
#include "util.h"
#include "ws.h"

/* --- scripted randomness ------------------------------------------------------ */

static uint8_t rnd_pattern[32];
static size_t rnd_len; /* 0: the kernel's bytes */
static bool rnd_fail;

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	if (rnd_fail) {
		errno = ENOSYS;
		return -1;
	}
	if (rnd_len == 0)
		return (ssize_t)syscall(SYS_getrandom, buf, len, flags);
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = rnd_pattern[i % rnd_len];
	return (ssize_t)len;
}

/* getrandom() repeats the bytes of hex from now on; NULL: the kernel's again. */
static void script_random(const char *hex)
{
	rnd_fail = false;
	rnd_len = hex ? test_hex(hex, rnd_pattern, sizeof rnd_pattern) : 0;
}

/* --- helpers ---------------------------------------------------------------------- */

#define NONCE_HEX  "74 68 65 20 73 61 6d 70 6c 65 20 6e 6f 6e 63 65" /* "the sample nonce" */
#define NONCE_KEY  "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define MASK_HEX   "37 fa 21 3d" /* RFC 6455 5.7 */

static const char good_response[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                    "Upgrade: websocket\r\n"
                                    "Connection: Upgrade\r\n"
                                    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
                                    "Sec-WebSocket-Protocol: mqtt\r\n"
                                    "\r\n";

static struct ferry_ws_config config(const char *host, uint16_t port, bool tls)
{
	return (struct ferry_ws_config){.host = host, .host_len = strlen(host), .port = port,
	                                .tls = tls, .path = "/mqtt", .path_len = 5};
}

/* A new object for example.com:80 with the RFC's key. */
static struct ferry_ws *new_sample(void)
{
	struct ferry_ws_config c = config("example.com", 80, false);
	struct ferry_ws *w = NULL;
	script_random(NONCE_HEX);
	ASSERT_RC(ferry__ws_new(&c, &w), FERRY_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	return w;
}

static int respond(struct ferry_ws *w, const char *text, size_t *used, char *err, size_t cap)
{
	return ferry__ws_response(w, (const uint8_t *)text, strlen(text), used, err, cap);
}

/* An upgraded object whose masks are all 37 fa 21 3d. */
static struct ferry_ws *new_upgraded(void)
{
	struct ferry_ws *w = new_sample();
	size_t used;
	char err[256];
	ASSERT_RC(respond(w, good_response, &used, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL(used, strlen(good_response));
	script_random(MASK_HEX);
	return w;
}

static bool has(const char *hay, const char *needle)
{
	bool yes = strstr(hay, needle) != NULL;
	if (!yes)
		fprintf(stderr, "\n  \"%s\" lacks \"%s\"\n", hay, needle);
	return yes;
}

/*
 * Feeds in[0..n) to unwrap in chunks of at most step bytes, with at most ocap
 * bytes of output room per call; the output goes to out (cap bytes, *olen).
 * Returns the first non-OK result, else FERRY_OK. A call that neither uses
 * input nor produces output with room left is a failure (no progress).
 */
static int feed(struct ferry_ws *w, const uint8_t *in, size_t n, size_t step, size_t ocap,
                uint8_t *out, size_t cap, size_t *olen, char *err, size_t errcap)
{
	size_t pos = 0;
	*olen = 0;
	while (pos < n) {
		size_t chunk = n - pos < step ? n - pos : step;
		size_t end = pos + chunk;
		while (pos < end) {
			size_t used = 0, prod = 0, room = cap - *olen < ocap ? cap - *olen : ocap;
			int rc = ferry__ws_unwrap(w, in + pos, end - pos, &used, out + *olen, room, &prod,
			                          err, errcap);
			CU_ASSERT(used <= end - pos && prod <= room);
			pos += used;
			*olen += prod;
			if (rc)
				return rc;
			if (used == 0 && prod == 0) {
				CU_FAIL("unwrap made no progress");
				return FERRY_ERR_STATE;
			}
		}
	}
	return FERRY_OK;
}

/* Unmasks a client frame at f (flen bytes): checks FIN, opcode and the mask bit, returns the payload length. */
static size_t client_payload(const uint8_t *f, size_t flen, unsigned opcode, uint8_t *payload)
{
	CU_ASSERT_FATAL(flen >= 6);
	CU_ASSERT_EQUAL(f[0], 0x80u | opcode);
	CU_ASSERT_FATAL((f[1] & 0x80u) != 0);
	size_t len = f[1] & 0x7fu, h = 2;
	if (len == 126) {
		len = (size_t)f[2] << 8 | f[3];
		h = 4;
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | f[2 + i];
		h = 10;
	}
	CU_ASSERT_FATAL(h + 4 + len == flen);
	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(f[h + 4 + i] ^ f[h + (i & 3u)]);
	return len;
}

/* --- the request --------------------------------------------------------------- */

static void test_request_bytes(void)
{
	struct ferry_ws *w = new_sample();
	const uint8_t *req;
	size_t len;
	ferry__ws_request(w, &req, &len);
	static const char want[] = "GET /mqtt HTTP/1.1\r\n"
	                           "Host: example.com\r\n"
	                           "Upgrade: websocket\r\n"
	                           "Connection: Upgrade\r\n"
	                           "Sec-WebSocket-Version: 13\r\n"
	                           "Sec-WebSocket-Protocol: mqtt\r\n"
	                           "Sec-WebSocket-Key: " NONCE_KEY "\r\n"
	                           "\r\n";
	CU_ASSERT_EQUAL(len, strlen(want));
	CU_ASSERT(len == strlen(want) && memcmp(req, want, len) == 0);
	ferry__ws_free(w);
	script_random(NULL);
}

/* The request of cfg as a C string in buf. */
static void request_text(const struct ferry_ws_config *c, char *buf, size_t cap)
{
	struct ferry_ws *w = NULL;
	buf[0] = 0;
	ASSERT_RC(ferry__ws_new(c, &w), FERRY_OK);
	if (!w)
		return;
	const uint8_t *req;
	size_t len;
	ferry__ws_request(w, &req, &len);
	CU_ASSERT_FATAL(len < cap);
	memcpy(buf, req, len);
	buf[len] = 0;
	ferry__ws_free(w);
}

static void test_host_header(void)
{
	char buf[1024];
	struct ferry_ws_config c = config("example.com", 1884, false);
	request_text(&c, buf, sizeof buf);
	CU_ASSERT(has(buf, "\r\nHost: example.com:1884\r\n"));
	c = config("example.com", 443, true);
	request_text(&c, buf, sizeof buf);
	CU_ASSERT(has(buf, "\r\nHost: example.com\r\n"));
	c = config("example.com", 80, true); /* 80 is not wss's default */
	request_text(&c, buf, sizeof buf);
	CU_ASSERT(has(buf, "\r\nHost: example.com:80\r\n"));
	c = config("::1", 80, false);
	c.host_ipv6 = true;
	request_text(&c, buf, sizeof buf);
	CU_ASSERT(has(buf, "\r\nHost: [::1]\r\n"));
	c.port = 8080;
	request_text(&c, buf, sizeof buf);
	CU_ASSERT(has(buf, "\r\nHost: [::1]:8080\r\n"));
	/* The views need no NUL: only host_len and path_len bytes are used. */
	c = config("broker.example.comXXX", 80, false);
	c.host_len = 18;
	c.path = "/ws/v1?x=1####";
	c.path_len = 10;
	request_text(&c, buf, sizeof buf);
	CU_ASSERT(has(buf, "GET /ws/v1?x=1 HTTP/1.1\r\nHost: broker.example.com\r\n"));
}

static void test_custom_headers(void)
{
	char buf[1024];
	static const char *const hdrs[] = {"Authorization: Bearer abc.def", "X-Empty:",
	                                   "Origin: https://example.com"};
	struct ferry_ws_config c = config("example.com", 80, false);
	c.headers = hdrs;
	c.nheaders = 3;
	request_text(&c, buf, sizeof buf);
	CU_ASSERT(has(buf, "\r\nAuthorization: Bearer abc.def\r\nX-Empty:\r\n"
	                   "Origin: https://example.com\r\n\r\n"));
	CU_ASSERT(has(buf, "\r\nHost: example.com\r\n"));
	/* A Host of the caller's replaces the default one. */
	static const char *const host[] = {"host: front.example.net"};
	c.headers = host;
	c.nheaders = 1;
	request_text(&c, buf, sizeof buf);
	CU_ASSERT(has(buf, "\r\nhost: front.example.net\r\n"));
	CU_ASSERT(strstr(buf, "Host: example.com") == NULL);
}

static void test_bad_config(void)
{
	struct ferry_ws *w = (struct ferry_ws *)&w;
	struct ferry_ws_config c = config("example.com", 80, false);
	c.path_len = 0;
	ASSERT_RC(ferry__ws_new(&c, &w), FERRY_ERR_INVAL);
	CU_ASSERT_PTR_NULL(w);
	c = config("example.com", 80, false);
	c.path = "/a b";
	c.path_len = 4;
	ASSERT_RC(ferry__ws_new(&c, &w), FERRY_ERR_INVAL);
	c = config("", 80, false);
	ASSERT_RC(ferry__ws_new(&c, &w), FERRY_ERR_INVAL);
	c = config("exa\r\nmple", 80, false);
	ASSERT_RC(ferry__ws_new(&c, &w), FERRY_ERR_INVAL);
	static const char *const bad[] = {"X-A: 1\r\nX-B: 2", "X-A: 1\n", "X-A: 1\r", "NoColon",
	                                  ": empty name", "Bad Name: x", NULL};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = config("example.com", 80, false);
		c.headers = &bad[i];
		c.nheaders = 1;
		ASSERT_RC(ferry__ws_new(&c, &w), FERRY_ERR_INVAL);
		CU_ASSERT_PTR_NULL(w);
	}
	c = config("example.com", 80, false);
	c.nheaders = 1; /* headers NULL */
	ASSERT_RC(ferry__ws_new(&c, &w), FERRY_ERR_INVAL);
}

/* The key: 16 random bytes, base64 (24 characters ending in "=="), new every time. */
static void test_key_random(void)
{
	char a[1024], b[1024];
	struct ferry_ws_config c = config("example.com", 80, false);
	script_random(NULL);
	request_text(&c, a, sizeof a);
	request_text(&c, b, sizeof b);
	const char *ka = strstr(a, "Sec-WebSocket-Key: "), *kb = strstr(b, "Sec-WebSocket-Key: ");
	CU_ASSERT_FATAL(ka && kb);
	ka += 19;
	kb += 19;
	CU_ASSERT(strncmp(ka + 22, "==\r\n", 4) == 0);
	CU_ASSERT(strncmp(ka, kb, 24) != 0);
	/* No randomness at all: the object cannot be made. */
	struct ferry_ws *w = NULL;
	rnd_fail = true;
	ASSERT_RC(ferry__ws_new(&c, &w), FERRY_ERR_SYSTEM);
	CU_ASSERT_PTR_NULL(w);
	script_random(NULL);
}

/* --- the response ------------------------------------------------------------------ */

/* RFC 6455 1.3: key dGhlIHNhbXBsZSBub25jZQ== gives s3pPLMBiTxaQ9kYGzzhZRbK+xOo=. */
static void test_rfc_accept(void)
{
	struct ferry_ws *w = new_sample();
	size_t used = 99;
	char err[256] = "";
	ASSERT_RC(respond(w, good_response, &used, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL(used, strlen(good_response));
	/* After the upgrade nothing more is taken. */
	ASSERT_RC(respond(w, "x", &used, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL(used, 0);
	ferry__ws_free(w);
	script_random(NULL);
}

/* Every split of the response into two calls; then one byte per call. */
static void test_response_split(void)
{
	size_t n = strlen(good_response);
	const uint8_t *r = (const uint8_t *)good_response;
	char err[256];
	for (size_t k = 0; k <= n; k++) {
		struct ferry_ws *w = new_sample();
		size_t u1 = 0, u2 = 0;
		int rc = ferry__ws_response(w, r, k, &u1, err, sizeof err);
		ASSERT_RC(rc, k == n ? FERRY_OK : FERRY__AGAIN);
		CU_ASSERT_EQUAL(u1, k);
		if (k < n) {
			ASSERT_RC(ferry__ws_response(w, r + k, n - k, &u2, err, sizeof err), FERRY_OK);
			CU_ASSERT_EQUAL(u2, n - k);
		}
		ferry__ws_free(w);
	}
	struct ferry_ws *w = new_sample();
	for (size_t i = 0; i < n; i++) {
		size_t u = 0;
		ASSERT_RC(ferry__ws_response(w, r + i, 1, &u, err, sizeof err),
		          i + 1 == n ? FERRY_OK : FERRY__AGAIN);
		CU_ASSERT_EQUAL(u, 1);
	}
	ferry__ws_free(w);
	script_random(NULL);
}

/* Frames right behind the response in the same read are left for unwrap. */
static void test_response_then_frames(void)
{
	struct ferry_ws *w = new_sample();
	uint8_t buf[512], out[16];
	size_t n = strlen(good_response);
	memcpy(buf, good_response, n);
	size_t fl = test_hex("82 04 20 02 00 00", buf + n, sizeof buf - n);
	size_t used = 0, u2 = 0, prod = 0;
	char err[256];
	ASSERT_RC(ferry__ws_response(w, buf, n + fl, &used, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL_FATAL(used, n);
	ASSERT_RC(ferry__ws_unwrap(w, buf + used, fl, &u2, out, sizeof out, &prod, err, sizeof err),
	          FERRY_OK);
	CU_ASSERT_EQUAL(u2, fl);
	CU_ASSERT(prod == 4 && memcmp(out, "\x20\x02\x00\x00", 4) == 0);
	ferry__ws_free(w);
	script_random(NULL);
}

/* Names and tokens in any case, token lists, bare LF line ends, other fields ignored. */
static void test_response_variants(void)
{
	static const char *const ok[] = {
	    "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, "
	    "Upgrade\r\nsec-websocket-accept:" RFC_ACCEPT "\r\nSec-Websocket-Protocol:  mqtt \r\n"
	    "Server: test\r\nSec-WebSocket-Extensions:\r\n\r\n",
	    "HTTP/1.1 101\nUpgrade: websocket\nConnection: upgrade\nSec-WebSocket-Accept: " RFC_ACCEPT
	    "\nSec-WebSocket-Protocol: mqtt\n\n",
	    "HTTP/1.0 101 OK\r\nConnection: Upgrade\r\nConnection: close\r\nUpgrade: h2c\r\n"
	    "Upgrade: websocket\r\nSec-WebSocket-Protocol: MQTT\r\nSec-WebSocket-Accept: " RFC_ACCEPT
	    "\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct ferry_ws *w = new_sample();
		size_t used;
		char err[256] = "";
		ASSERT_RC(respond(w, ok[i], &used, err, sizeof err), FERRY_OK);
		CU_ASSERT_EQUAL(used, strlen(ok[i]));
		if (*err)
			fprintf(stderr, "\n  variant %zu: %s\n", i, err);
		ferry__ws_free(w);
	}
	script_random(NULL);
}

struct refusal {
	const char *response;
	const char *says;
};

#define H101 "HTTP/1.1 101 Switching Protocols\r\n"
#define UPG  "Upgrade: websocket\r\n"
#define CONN "Connection: Upgrade\r\n"
#define ACC  "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
#define PROT "Sec-WebSocket-Protocol: mqtt\r\n"

static const struct refusal refusals[] = {
    {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "\"HTTP/1.1 404 Not Found\""},
    {"HTTP/1.1 200 OK\r\n\r\n", "\"HTTP/1.1 200 OK\""},
    {"HTTP/1.1 426 Upgrade Required\r\n", "\"HTTP/1.1 426 Upgrade Required\""},
    {"\x20\x02\x00\x00", "not an HTTP response"},
    {"HTTP/2 101\r\n\r\n", "not an HTTP response (\"HTTP/2 101\")"},
    {"HTTP/1.1 1O1 Switching\r\n\r\n", "not an HTTP response"},
    {H101 CONN ACC PROT "\r\n", "no \"Upgrade: websocket\" header"},
    {H101 "Upgrade: h2c\r\n" CONN ACC PROT "\r\n", "no \"Upgrade: websocket\" header"},
    {H101 UPG ACC PROT "\r\n", "no \"Connection: Upgrade\" header"},
    {H101 UPG "Connection: keep-alive\r\n" ACC PROT "\r\n", "no \"Connection: Upgrade\""},
    {H101 UPG CONN PROT "\r\n", "no Sec-WebSocket-Accept header"},
    {H101 UPG CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n" PROT "\r\n",
     "wrong Sec-WebSocket-Accept \"s3pPLMBiTxaQ9kYGzzhZRbK+xOo\" (expected \"" RFC_ACCEPT "\")"},
    {H101 UPG CONN "Sec-WebSocket-Accept: S3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" PROT "\r\n",
     "wrong Sec-WebSocket-Accept"},
    {H101 UPG CONN ACC ACC PROT "\r\n", "(repeated)"},
    {H101 UPG CONN ACC "\r\n", "did not accept the mqtt subprotocol (no Sec-WebSocket-Protocol"},
    {H101 UPG CONN ACC "Sec-WebSocket-Protocol: mqttv3.1\r\n\r\n",
     "chose subprotocol \"mqttv3.1\", not mqtt"},
    {H101 UPG CONN ACC PROT PROT "\r\n", "(repeated)"},
    {H101 UPG CONN ACC PROT "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
     "extensions \"permessage-deflate\""},
    {H101 UPG "Garbage line\r\n" CONN ACC PROT "\r\n", "malformed header line \"Garbage line\""},
    {H101 UPG " folded: x\r\n" CONN ACC PROT "\r\n", "malformed header line"},
};

static void test_response_refusals(void)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		struct ferry_ws *w = new_sample();
		size_t used;
		char err[256] = "";
		int rc = respond(w, refusals[i].response, &used, err, sizeof err);
		if (rc != FERRY_ERR_WEBSOCKET)
			fprintf(stderr, "\n  refusal %zu not refused\n", i);
		ASSERT_RC(rc, FERRY_ERR_WEBSOCKET);
		CU_ASSERT(has(err, refusals[i].says));
		/* Every later call repeats it. */
		char again[256] = "";
		ASSERT_RC(respond(w, good_response, &used, again, sizeof again), FERRY_ERR_WEBSOCKET);
		CU_ASSERT_STRING_EQUAL(again, err);
		CU_ASSERT_EQUAL(used, 0);
		ferry__ws_free(w);
	}
	script_random(NULL);
}

/* A wrong status or a non-HTTP answer is refused before the header block ends. */
static void test_response_refused_early(void)
{
	struct ferry_ws *w = new_sample();
	size_t used;
	char err[256];
	ASSERT_RC(respond(w, "HTTP/1.1 40", &used, err, sizeof err), FERRY__AGAIN);
	ASSERT_RC(respond(w, "3 Forbidden\r\nServer: x\r\n", &used, err, sizeof err),
	          FERRY_ERR_WEBSOCKET);
	CU_ASSERT(has(err, "the server answered \"HTTP/1.1 403 Forbidden\""));
	ferry__ws_free(w);
	w = new_sample();
	ASSERT_RC(respond(w, "H", &used, err, sizeof err), FERRY__AGAIN);
	ASSERT_RC(respond(w, "X", &used, err, sizeof err), FERRY_ERR_WEBSOCKET);
	CU_ASSERT(has(err, "not an HTTP response (\"HX\")"));
	ferry__ws_free(w);
	script_random(NULL);
}

/* A header block of 8 KiB without its end is refused; one just under is fine. */
static void test_response_too_long(void)
{
	char *big = malloc(9000);
	CU_ASSERT_FATAL(big != NULL);
	char err[256];
	size_t used;
	/* Exactly 8192 bytes, ending in the empty line: accepted. */
	size_t head = strlen(H101 UPG CONN ACC PROT);
	memcpy(big, H101 UPG CONN ACC PROT, head);
	size_t pad = 8192 - head - 2 - 2 - 3; /* "X: " + value + CRLF + CRLF */
	memcpy(big + head, "X: ", 3);
	memset(big + head + 3, 'a', pad);
	memcpy(big + head + 3 + pad, "\r\n\r\n", 5);
	CU_ASSERT_EQUAL(strlen(big), 8192);
	struct ferry_ws *w = new_sample();
	ASSERT_RC(respond(w, big, &used, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL(used, 8192);
	ferry__ws_free(w);
	/* One byte more: refused. */
	memcpy(big + head + 3 + pad, "a\r\n\r\n", 6);
	w = new_sample();
	ASSERT_RC(respond(w, big, &used, err, sizeof err), FERRY_ERR_WEBSOCKET);
	CU_ASSERT(has(err, "over 8192 bytes"));
	ferry__ws_free(w);
	free(big);
	script_random(NULL);
}

/* --- sending ---------------------------------------------------------------------------- */

/* RFC 6455 5.7 "a single-frame masked text message" with opcode binary. */
static void test_wrap_rfc_example(void)
{
	struct ferry_ws *w = new_upgraded();
	uint8_t out[FERRY_WS_MAX_HEADER + 5], want[16];
	size_t n = ferry__ws_wrap(w, (const uint8_t *)"Hello", 5, out);
	size_t wn = test_hex("82 85 37 fa 21 3d 7f 9f 4d 51 58", want, sizeof want);
	CU_ASSERT_EQUAL(n, wn);
	CU_ASSERT(n == wn && memcmp(out, want, wn) == 0);
	ferry__ws_free(w);
	script_random(NULL);
}

/* Payload lengths 1, 125 (7 bits), 126 and 65535 (16 bits), 65536 (64 bits). */
static void test_wrap_lengths(void)
{
	static const size_t lens[] = {1, 125, 126, 65535, 65536, 70000};
	static const char *const heads[] = {"82 81", "82 fd", "82 fe 00 7e", "82 fe ff ff",
	                                    "82 ff 00 00 00 00 00 01 00 00",
	                                    "82 ff 00 00 00 00 00 01 11 70"};
	uint8_t *in = malloc(70000), *out = malloc(70000 + FERRY_WS_MAX_HEADER);
	uint8_t *back = malloc(70000);
	CU_ASSERT_FATAL(in && out && back);
	for (size_t i = 0; i < 70000; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	script_random(NULL);
	struct ferry_ws *w = new_sample();
	script_random(NULL); /* real masks */
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		uint8_t head[16];
		size_t hn = test_hex(heads[i], head, sizeof head);
		size_t n = ferry__ws_wrap(w, in, lens[i], out);
		CU_ASSERT_EQUAL(n, hn + 4 + lens[i]);
		CU_ASSERT(memcmp(out, head, hn) == 0);
		CU_ASSERT_EQUAL(client_payload(out, n, 0x2, back), lens[i]);
		CU_ASSERT(memcmp(back, in, lens[i]) == 0);
	}
	ferry__ws_free(w);
	free(in);
	free(out);
	free(back);
}

/* Every frame gets a fresh mask from the kernel's generator. */
static void test_wrap_fresh_masks(void)
{
	script_random(NULL);
	struct ferry_ws *w = new_sample();
	script_random(NULL);
	enum { FRAMES = 200 };
	static uint32_t masks[FRAMES];
	uint8_t out[FERRY_WS_MAX_HEADER + 1];
	size_t distinct = 0;
	for (size_t i = 0; i < FRAMES; i++) {
		CU_ASSERT_EQUAL(ferry__ws_wrap(w, (const uint8_t *)"x", 1, out), 7);
		masks[i] = (uint32_t)out[2] << 24 | (uint32_t)out[3] << 16 | (uint32_t)out[4] << 8 | out[5];
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = masks[j] == masks[i];
		distinct += !seen;
	}
	/* 200 draws of 32 bits: a repeat has a chance of about 5e-6. */
	CU_ASSERT(distinct >= FRAMES - 1);
	ferry__ws_free(w);
}

/* --- receiving ---------------------------------------------------------------------------- */

static void test_unwrap_rfc_examples(void)
{
	struct ferry_ws *w = new_upgraded();
	uint8_t in[80], out[64];
	size_t olen;
	char err[256];
	/* 5.7 "a fragmented unmasked text message", as binary: 02 03 Hel, 80 02 lo. */
	size_t n = test_hex("02 03 48 65 6c 80 02 6c 6f", in, sizeof in);
	ASSERT_RC(feed(w, in, n, n, sizeof out, out, sizeof out, &olen, err, sizeof err), FERRY_OK);
	CU_ASSERT(olen == 5 && memcmp(out, "Hello", 5) == 0);
	/* 5.7 "unmasked Ping request and masked Ping response": the pong is byte-exact. */
	n = test_hex("89 05 48 65 6c 6c 6f", in, sizeof in);
	CU_ASSERT_FALSE(ferry__ws_has_control(w));
	ASSERT_RC(feed(w, in, n, n, sizeof out, out, sizeof out, &olen, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL(olen, 0);
	CU_ASSERT_TRUE(ferry__ws_has_control(w));
	uint8_t want[16];
	size_t wn = test_hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58", want, sizeof want);
	size_t cn = ferry__ws_control(w, out, sizeof out);
	CU_ASSERT(cn == wn && memcmp(out, want, wn) == 0);
	CU_ASSERT_FALSE(ferry__ws_has_control(w));
	CU_ASSERT_EQUAL(ferry__ws_control(w, out, sizeof out), 0);
	/* 5.7 256 bytes and 64 KiB in one unmasked binary frame. */
	static uint8_t big[10 + 65536], got[65536];
	for (int k = 0; k < 2; k++) {
		size_t len = k ? 65536 : 256;
		size_t hn = test_hex(k ? "82 7f 00 00 00 00 00 01 00 00" : "82 7e 01 00", big, 10);
		for (size_t i = 0; i < len; i++)
			big[hn + i] = (uint8_t)(i ^ 0x5a);
		ASSERT_RC(feed(w, big, hn + len, hn + len, sizeof got, got, sizeof got, &olen, err,
		               sizeof err), FERRY_OK);
		CU_ASSERT(olen == len && memcmp(got, big + hn, len) == 0);
	}
	ferry__ws_free(w);
	script_random(NULL);
}

/* Each length form, one byte at a time and with one byte of output room per call. */
static void test_unwrap_lengths(void)
{
	static const size_t lens[] = {0, 1, 125, 126, 65535, 65536};
	static const char *const heads[] = {"82 00", "82 01", "82 7d", "82 7e 00 7e", "82 7e ff ff",
	                                    "82 7f 00 00 00 00 00 01 00 00"};
	static uint8_t in[10 + 65536], out[65536];
	struct ferry_ws *w = new_upgraded();
	char err[256];
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t hn = test_hex(heads[i], in, 10), olen;
		for (size_t j = 0; j < lens[i]; j++)
			in[hn + j] = (uint8_t)(j * 13 + i);
		ASSERT_RC(feed(w, in, hn + lens[i], 1, sizeof out, out, sizeof out, &olen, err,
		               sizeof err), FERRY_OK);
		CU_ASSERT(olen == lens[i] && memcmp(out, in + hn, lens[i]) == 0);
		ASSERT_RC(feed(w, in, hn + lens[i], hn + lens[i], 1, out, sizeof out, &olen, err,
		               sizeof err), FERRY_OK);
		CU_ASSERT(olen == lens[i] && memcmp(out, in + hn, lens[i]) == 0);
	}
	/* Lengths not in their shortest form are read all the same. */
	size_t n = test_hex("82 7e 00 02 ab cd 82 7f 00 00 00 00 00 00 00 01 ef", in, sizeof in), olen;
	ASSERT_RC(feed(w, in, n, n, sizeof out, out, sizeof out, &olen, err, sizeof err), FERRY_OK);
	CU_ASSERT(olen == 3 && memcmp(out, "\xab\xcd\xef", 3) == 0);
	ferry__ws_free(w);
	script_random(NULL);
}

/*
 * MQTT packets: CONNACK 20 02 00 00, PINGRESP d0 00, PUBLISH 30 0a "a/b"
 * "hello", SUBACK 90 03 00 01 01 - sent as frames cutting them anywhere:
 * several in one frame, one across three frames (a fragmented message with a
 * ping inside), empty frames.
 */
static const char mqtt_stream[] =
    "82 07 20 02 00 00 d0 00 30" /* CONNACK, PINGRESP, PUBLISH's first byte */
    "02 04 0a 00 03 61"          /* PUBLISH continues: fragmented message starts */
    "89 02 70 31"                /* a ping between the fragments */
    "00 00"                      /* an empty continuation */
    "80 08 2f 62 68 65 6c 6c 6f 90" /* final fragment: rest of PUBLISH, SUBACK's first byte */
    "82 00"                      /* an empty frame */
    "82 04 03 00 01 01";         /* SUBACK's rest */

static const char mqtt_packets[] = "20 02 00 00 d0 00 30 0a 00 03 61 2f 62 68 65 6c 6c 6f "
                                   "90 03 00 01 01";

/* Runs the frame reader over out and checks the four packets. */
static void check_packets(const uint8_t *out, size_t olen)
{
	static const size_t sizes[] = {4, 2, 12, 5};
	uint8_t want[64];
	size_t wn = test_hex(mqtt_packets, want, sizeof want);
	CU_ASSERT(olen == wn && memcmp(out, want, wn) == 0);
	struct ferry_frame_reader fr;
	ferry__frame_reader_init(&fr, 0, false);
	size_t pos = 0, k = 0;
	while (pos < olen) {
		size_t used;
		struct ferry_frame f;
		bool done = false;
		ASSERT_RC(ferry__frame_next(&fr, out + pos, olen - pos, &used, &f, &done), FERRY_OK);
		pos += used;
		if (done) {
			CU_ASSERT(k < 4 && f.len == sizes[k]);
			k++;
		}
	}
	CU_ASSERT_EQUAL(k, 4);
	ferry__frame_reader_free(&fr);
}

/* Split into two calls at every byte boundary, and with every output room size. */
static void test_unwrap_every_split(void)
{
	uint8_t in[128], out[64], pong[32], want[16];
	size_t n = test_hex(mqtt_stream, in, sizeof in);
	size_t wn = test_hex("8a 82 37 fa 21 3d 47 cb", want, sizeof want);
	char err[256];
	for (size_t k = 0; k <= n; k++) {
		struct ferry_ws *w = new_upgraded();
		size_t o1, o2;
		ASSERT_RC(feed(w, in, k, n, sizeof out, out, sizeof out, &o1, err, sizeof err), FERRY_OK);
		ASSERT_RC(feed(w, in + k, n - k, n, sizeof out, out + o1, sizeof out - o1, &o2, err,
		               sizeof err), FERRY_OK);
		check_packets(out, o1 + o2);
		size_t pn = ferry__ws_control(w, pong, sizeof pong);
		CU_ASSERT(pn == wn && memcmp(pong, want, wn) == 0);
		ferry__ws_free(w);
	}
	for (size_t room = 1; room <= 24; room++) {
		struct ferry_ws *w = new_upgraded();
		size_t olen;
		ASSERT_RC(feed(w, in, n, 1, room, out, sizeof out, &olen, err, sizeof err), FERRY_OK);
		check_packets(out, olen);
		ferry__ws_free(w);
	}
	script_random(NULL);
}

struct frame_refusal {
	const char *hex;
	const char *says;
	const char *close; /* the close frame queued, unmasked body */
};

static const struct frame_refusal frame_refusals[] = {
    {"81 05 48 65 6c 6c 6f", "text frame", "03 eb"},          /* 5.7 unmasked text */
    {"82 85 37 fa 21 3d 7f 9f 4d 51 58", "masked frame from the server", "03 ea"}, /* 5.7 masked */
    {"c2 00", "reserved bits 0x40", "03 ea"},
    {"a2 00", "reserved bits 0x20", "03 ea"},
    {"92 00", "reserved bits 0x10", "03 ea"},
    {"83 00", "reserved opcode 0x3", "03 ea"},
    {"87 00", "reserved opcode 0x7", "03 ea"},
    {"8b 00", "reserved opcode 0xb", "03 ea"},
    {"8f 00", "reserved opcode 0xf", "03 ea"},
    {"09 00", "fragmented control frame (opcode 0x9)", "03 ea"},
    {"08 00", "fragmented control frame (opcode 0x8)", "03 ea"},
    {"89 7e 00 7e", "control frame (opcode 0x9) longer than 125", "03 ea"},
    {"8a 7f 00 00 00 00 00 00 00 7e", "control frame (opcode 0xa) longer than 125", "03 ea"},
    {"82 7f 00 00 00 00 10 00 00 05", "frame of 268435461 bytes (the limit is 268435460)",
     "03 f1"},
    {"82 7f 80 00 00 00 00 00 00 01", "frame of 9223372036854775809 bytes", "03 f1"},
    {"80 01 00", "continuation frame without a message", "03 ea"},
    {"00 01 00", "continuation frame without a message", "03 ea"},
    {"02 01 00 82 01 00", "binary frame inside an unfinished fragmented message", "03 ea"},
    {"02 01 00 01 01 00", "text frame", "03 eb"},
};

static void test_unwrap_refusals(void)
{
	for (size_t i = 0; i < sizeof frame_refusals / sizeof frame_refusals[0]; i++) {
		const struct frame_refusal *f = &frame_refusals[i];
		uint8_t in[32], out[32], ctl[32], body[8], got[8];
		size_t n = test_hex(f->hex, in, sizeof in), olen;
		char err[256] = "";
		struct ferry_ws *w = new_upgraded();
		/* One byte at a time: refused at the byte that shows the fault. */
		int rc = feed(w, in, n, 1, sizeof out, out, sizeof out, &olen, err, sizeof err);
		if (rc != FERRY_ERR_WEBSOCKET)
			fprintf(stderr, "\n  frame refusal %zu (%s) not refused\n", i, f->hex);
		ASSERT_RC(rc, FERRY_ERR_WEBSOCKET);
		CU_ASSERT(has(err, f->says));
		/* The answer: a close with 1002 (protocol error), 1003 (text) or 1009 (too big). */
		size_t bn = test_hex(f->close, body, sizeof body);
		size_t cn = ferry__ws_control(w, ctl, sizeof ctl);
		CU_ASSERT(cn == 6 + bn && client_payload(ctl, cn, 0x8, got) == bn &&
		          memcmp(got, body, bn) == 0);
		/* The stream stays refused. */
		size_t used = 9, prod = 9;
		char again[256] = "";
		ASSERT_RC(ferry__ws_unwrap(w, in, n, &used, out, sizeof out, &prod, again, sizeof again),
		          FERRY_ERR_WEBSOCKET);
		CU_ASSERT(used == 0 && prod == 0);
		CU_ASSERT_STRING_EQUAL(again, err);
		ferry__ws_free(w);
	}
	script_random(NULL);
}

/* A frame of exactly FERRY_WS_MAX_FRAME bytes is accepted. */
static void test_unwrap_largest_frame(void)
{
	struct ferry_ws *w = new_upgraded();
	uint8_t in[16], out[4];
	size_t n = test_hex("82 7f 00 00 00 00 10 00 00 04 01 02 03", in, sizeof in), olen;
	char err[256];
	ASSERT_RC(feed(w, in, n, n, sizeof out, out, sizeof out, &olen, err, sizeof err), FERRY_OK);
	CU_ASSERT(olen == 3 && memcmp(out, "\x01\x02\x03", 3) == 0);
	ferry__ws_free(w);
	script_random(NULL);
}

/* Two pings before the pong is sent: one pong, with the latest payload; pongs are ignored. */
static void test_ping_pong(void)
{
	struct ferry_ws *w = new_upgraded();
	uint8_t in[32], out[32], ctl[64], body[8];
	size_t n = test_hex("89 00 8a 03 61 62 63 89 01 41 89 02 42 43", in, sizeof in), olen;
	char err[256];
	ASSERT_RC(feed(w, in, n, n, sizeof out, out, sizeof out, &olen, err, sizeof err), FERRY_OK);
	CU_ASSERT_EQUAL(olen, 0);
	/* Handed out one byte at a time. */
	size_t cn = 0;
	while (cn < sizeof ctl && ferry__ws_has_control(w)) {
		size_t k = ferry__ws_control(w, ctl + cn, 1);
		CU_ASSERT_EQUAL_FATAL(k, 1);
		cn += k;
	}
	CU_ASSERT(cn == 8 && client_payload(ctl, cn, 0xa, body) == 2 && memcmp(body, "BC", 2) == 0);
	/* An empty ping: an empty pong. */
	n = test_hex("89 00", in, sizeof in);
	ASSERT_RC(feed(w, in, n, n, sizeof out, out, sizeof out, &olen, err, sizeof err), FERRY_OK);
	cn = ferry__ws_control(w, ctl, sizeof ctl);
	CU_ASSERT(cn == 6 && memcmp(ctl, "\x8a\x80\x37\xfa\x21\x3d", 6) == 0);
	ferry__ws_free(w);
	script_random(NULL);
}

struct close_case {
	const char *hex;     /* server frames */
	const char *says;
	const char *answer;  /* our close, whole (masks 37 fa 21 3d) */
};

static const struct close_case closes[] = {
    {"88 02 03 e8", "closed by the server: 1000 (normal closure)",
     "88 82 37 fa 21 3d 34 12"},
    {"88 05 03 e9 62 79 65", "1001 (going away) \"bye\"", "88 82 37 fa 21 3d 34 13"},
    {"88 00", "closed by the server (no status code)", "88 80 37 fa 21 3d"},
    {"88 02 03 ed", "1005 (invalid code)", "88 82 37 fa 21 3d 34 10"}, /* answered 1002 */
    {"88 02 0f a0", "4000 (application code)", "88 82 37 fa 21 3d 38 5a"},
    {"88 01 03", "malformed close frame", "88 82 37 fa 21 3d 34 10"},
};

static void test_server_close(void)
{
	for (size_t i = 0; i < sizeof closes / sizeof closes[0]; i++) {
		struct ferry_ws *w = new_upgraded();
		uint8_t in[32], out[32], ctl[32], want[16];
		/* Data in front of the close comes first, from a call of its own (so a
		 * caller that drops the output of a failing call loses nothing). */
		size_t n = test_hex("82 02 d0 00", in, sizeof in);
		size_t cl = test_hex(closes[i].hex, in + n, sizeof in - n);
		n += cl;
		n += test_hex("82 02 d0 00", in + n, sizeof in - n);
		size_t used = 0, u2 = 0, prod = 0;
		char err[256] = "";
		ASSERT_RC(ferry__ws_unwrap(w, in, n, &used, out, sizeof out, &prod, err, sizeof err),
		          FERRY_OK);
		CU_ASSERT(prod == 2 && memcmp(out, "\xd0\x00", 2) == 0);
		CU_ASSERT_EQUAL_FATAL(used, 4);
		CU_ASSERT_FALSE(ferry__ws_has_control(w));
		ASSERT_RC(ferry__ws_unwrap(w, in + used, n - used, &u2, out, sizeof out, &prod, err,
		                           sizeof err), FERRY_ERR_CLOSED);
		CU_ASSERT(has(err, closes[i].says));
		CU_ASSERT_EQUAL(prod, 0);
		CU_ASSERT_EQUAL(u2, cl);
		CU_ASSERT_TRUE(ferry__ws_has_control(w));
		size_t wn = test_hex(closes[i].answer, want, sizeof want);
		size_t cn = ferry__ws_control(w, ctl, sizeof ctl);
		CU_ASSERT(cn == wn && memcmp(ctl, want, wn) == 0);
		CU_ASSERT_FALSE(ferry__ws_has_control(w));
		/* Nothing after the close: the rest is not read, no pong is queued. */
		n = test_hex("89 00", in, sizeof in);
		ASSERT_RC(ferry__ws_unwrap(w, in, n, &used, out, sizeof out, &prod, err, sizeof err),
		          FERRY_ERR_CLOSED);
		CU_ASSERT(used == 0 && prod == 0);
		CU_ASSERT_FALSE(ferry__ws_has_control(w));
		ferry__ws_free(w);
	}
	script_random(NULL);
}

/* A pong and a close waiting together leave in that order; a ping after the close is not answered. */
static void test_pong_then_close(void)
{
	struct ferry_ws *w = new_upgraded();
	uint8_t in[32], out[8], ctl[64], body[8];
	size_t n = test_hex("89 01 7a 88 02 03 e8", in, sizeof in), olen;
	char err[256];
	ASSERT_RC(feed(w, in, n, 1, sizeof out, out, sizeof out, &olen, err, sizeof err),
	          FERRY_ERR_CLOSED);
	size_t cn = ferry__ws_control(w, ctl, sizeof ctl);
	CU_ASSERT_EQUAL_FATAL(cn, 7 + 8);
	CU_ASSERT(client_payload(ctl, 7, 0xa, body) == 1 && body[0] == 0x7a);
	CU_ASSERT(client_payload(ctl + 7, 8, 0x8, body) == 2 && memcmp(body, "\x03\xe8", 2) == 0);
	ferry__ws_free(w);
	script_random(NULL);
}

/* Whatever a failed test left scripted, the kernel's bytes again for the suites after. */
static int suite_clean(void)
{
	script_random(NULL);
	return 0;
}

void register_ws_suite(void)
{
	CU_pSuite s = CU_add_suite("ws", NULL, suite_clean);
	if (!s)
		abort();
	test_add(s, "request bytes (RFC 6455 1.3 key)", test_request_bytes);
	test_add(s, "Host header forms", test_host_header);
	test_add(s, "custom headers, Host override", test_custom_headers);
	test_add(s, "invalid configurations", test_bad_config);
	test_add(s, "random key, no randomness", test_key_random);
	test_add(s, "accept key of RFC 6455 1.3", test_rfc_accept);
	test_add(s, "response split at every byte", test_response_split);
	test_add(s, "frames behind the response", test_response_then_frames);
	test_add(s, "response variants accepted", test_response_variants);
	test_add(s, "response refusals", test_response_refusals);
	test_add(s, "response refused early", test_response_refused_early);
	test_add(s, "response header block limit", test_response_too_long);
	test_add(s, "wrap: RFC 6455 5.7 masked frame", test_wrap_rfc_example);
	test_add(s, "wrap: length encodings", test_wrap_lengths);
	test_add(s, "wrap: fresh masks", test_wrap_fresh_masks);
	test_add(s, "unwrap: RFC 6455 5.7 examples", test_unwrap_rfc_examples);
	test_add(s, "unwrap: length encodings", test_unwrap_lengths);
	test_add(s, "unwrap: MQTT packets split at every byte", test_unwrap_every_split);
	test_add(s, "unwrap: refusals", test_unwrap_refusals);
	test_add(s, "unwrap: largest frame", test_unwrap_largest_frame);
	test_add(s, "ping and pong", test_ping_pong);
	test_add(s, "server close", test_server_close);
	test_add(s, "pong then close", test_pong_then_close);
}

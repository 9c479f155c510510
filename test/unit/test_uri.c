/*
 * test_uri.c - server URI parsing (src/uri.h): every scheme and its default
 * port, case-insensitive schemes, bare host and host:port, IPv6 literals,
 * WebSocket paths, and the rejected forms (empty or unknown scheme, empty
 * host, port 0, 65536 or not a number, user info, paths on non-WebSocket
 * URIs, characters that would reach the resolver or the HTTP request line).
 */
#include <stdio.h>
#include <string.h>

#include "ferry/error.h"
#include "suites.h"
#include "uri.h"
#include "util.h"

enum { TCP = FERRY_URI_TCP, TLS = FERRY_URI_TLS, WS = FERRY_URI_WS, WSS = FERRY_URI_WSS };

struct uri_case {
	const char *text;
	int rc;
	uint8_t scheme;
	const char *host;
	uint16_t port;
	const char *path; /* NULL: no path */
	bool ipv6;
};

/* clang-format off */
#define BAD(t) {t, FERRY_ERR_INVAL, 0, NULL, 0, NULL, false}

static const struct uri_case cases[] = {
	{"tcp://broker.example.com:1883", FERRY_OK, TCP, "broker.example.com", 1883, NULL, false},
	{"tcp://localhost", FERRY_OK, TCP, "localhost", 1883, NULL, false},
	{"mqtt://localhost", FERRY_OK, TCP, "localhost", 1883, NULL, false},
	{"mqtt://10.0.0.1:2883", FERRY_OK, TCP, "10.0.0.1", 2883, NULL, false},
	{"ssl://secure.example.com", FERRY_OK, TLS, "secure.example.com", 8883, NULL, false},
	{"mqtts://h:9999", FERRY_OK, TLS, "h", 9999, NULL, false},
	{"ws://h", FERRY_OK, WS, "h", 80, "/mqtt", false},
	{"wss://h", FERRY_OK, WSS, "h", 443, "/mqtt", false},
	{"ws://h:8080/ws", FERRY_OK, WS, "h", 8080, "/ws", false},
	{"wss://h/", FERRY_OK, WSS, "h", 443, "/", false},
	{"wss://h/a/b?x=1&y=2", FERRY_OK, WSS, "h", 443, "/a/b?x=1&y=2", false},
	{"ws://h/user@example", FERRY_OK, WS, "h", 80, "/user@example", false},
	{"TCP://H", FERRY_OK, TCP, "H", 1883, NULL, false},
	{"Mqtts://h", FERRY_OK, TLS, "h", 8883, NULL, false},
	{"SSL://h:1", FERRY_OK, TLS, "h", 1, NULL, false},
	{"WsS://h", FERRY_OK, WSS, "h", 443, "/mqtt", false},
	{"localhost", FERRY_OK, TCP, "localhost", 1883, NULL, false},
	{"localhost:1884", FERRY_OK, TCP, "localhost", 1884, NULL, false},
	{"127.0.0.1:65535", FERRY_OK, TCP, "127.0.0.1", 65535, NULL, false},
	{"my_host-1.lan:01883", FERRY_OK, TCP, "my_host-1.lan", 1883, NULL, false},
	{"tcp://[::1]:1883", FERRY_OK, TCP, "::1", 1883, NULL, true},
	{"tcp://[::1]", FERRY_OK, TCP, "::1", 1883, NULL, true},
	{"[2001:db8::7]:8883", FERRY_OK, TCP, "2001:db8::7", 8883, NULL, true},
	{"ssl://[2001:DB8::1]", FERRY_OK, TLS, "2001:DB8::1", 8883, NULL, true},
	{"wss://[::ffff:192.0.2.1]:443/mqtt", FERRY_OK, WSS, "::ffff:192.0.2.1", 443, "/mqtt", true},
	{"tcp://[fe80::1%eth0]:1883", FERRY_OK, TCP, "fe80::1%eth0", 1883, NULL, true},
	BAD(""),
	BAD("://h"),
	BAD("foo://h"),
	BAD("http://h"),
	BAD("tcp:/h"),
	BAD("tcp:h"),
	BAD("tcp://"),
	BAD("tcp://:1883"),
	BAD(":1883"),
	BAD("tcp://h:"),
	BAD("tcp://h:0"),
	BAD("tcp://h:00000"),
	BAD("tcp://h:65536"),
	BAD("tcp://h:99999999999999999999"),
	BAD("tcp://h:http"),
	BAD("tcp://h:18x3"),
	BAD("tcp://h:-1"),
	BAD("tcp://h:+1883"),
	BAD("tcp://h:1883:1"),
	BAD("user@host"),
	BAD("tcp://user@host"),
	BAD("tcp://user:secret@host:1883"),
	BAD("ws://user@host/mqtt"),
	BAD("tcp://h/path"),
	BAD("tcp://h:1883/"),
	BAD("ssl://h/x"),
	BAD("tcp://::1"),
	BAD("::1"),
	BAD("tcp://[::1"),
	BAD("tcp://[]:1883"),
	BAD("tcp://[::1]x"),
	BAD("tcp://[::1]:"),
	BAD("tcp://[::1]:0"),
	BAD("tcp://[example.com]"),
	BAD("tcp://[fe80::1%]"),
	BAD("tcp://[fe80::1%e:0]"),
	BAD("tcp://[1234]"),
	BAD("tcp://[1.2.3.4]"),
	BAD("tcp://h st"),
	BAD("tcp://h\tx"),
	BAD("tcp://ex%41mple"),
	BAD("tcp://h?x=1"),
	BAD("tcp://h#frag"),
	BAD("tcp://h\xc3\xa9t\xc3\xa9"),
	BAD("ws://h/a b"),
	BAD("ws://h/a\r\nX-Injected: 1"),
	BAD("ws://h/\x7f"),
};
/* clang-format on */

static bool same(const char *p, size_t len, const char *want)
{
	if (!want)
		return p == NULL && len == 0;
	return p && len == strlen(want) && memcmp(p, want, len) == 0;
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct uri_case *c = &cases[i];
		struct ferry_uri u;
		memset(&u, 0xa5, sizeof u);
		int rc = ferry__uri_parse(c->text, &u);
		bool ok = rc == c->rc;
		if (ok && rc == FERRY_OK)
			ok = u.scheme == c->scheme && same(u.host, u.host_len, c->host) &&
			     u.port == c->port && same(u.path, u.path_len, c->path) &&
			     u.ipv6 == c->ipv6;
		char msg[512];
		snprintf(msg, sizeof msg,
		         "\"%s\": rc %d scheme %d host \"%.*s\" port %u path \"%.*s\" ipv6 %d",
		         c->text, rc, rc ? 0 : u.scheme, rc ? 0 : (int)u.host_len, rc ? "" : u.host,
		         rc ? 0u : (unsigned)u.port, rc || !u.path ? 0 : (int)u.path_len,
		         rc || !u.path ? "" : u.path, rc ? 0 : (int)u.ipv6);
		CU_assertImplementation(ok, __LINE__, msg, __FILE__, "", CU_FALSE);
	}
}

/* Views point into the caller's string; a failed parse leaves *out alone. */
static void test_views_and_failure(void)
{
	const char *text = "wss://[::1]:8443/p";
	struct ferry_uri u;
	memset(&u, 0, sizeof u); /* padding too: the struct is compared with memcmp */
	ASSERT_RC(ferry__uri_parse(text, &u), FERRY_OK);
	CU_ASSERT_PTR_EQUAL(u.host, text + 7);
	CU_ASSERT_PTR_EQUAL(u.path, text + 16);
	struct ferry_uri before = u;
	ASSERT_RC(ferry__uri_parse("tcp://h:0", &u), FERRY_ERR_INVAL);
	CU_ASSERT_EQUAL(memcmp(&before, &u, sizeof u), 0);
	ASSERT_RC(ferry__uri_parse(NULL, &u), FERRY_ERR_INVAL);
	ASSERT_RC(ferry__uri_parse("tcp://h", NULL), FERRY_ERR_INVAL);
}

void register_uri_suite(void)
{
	CU_pSuite s = test_suite("uri");
	test_add(s, "valid and invalid URIs", test_table);
	test_add(s, "views into the text; failure leaves output", test_views_and_failure);
}

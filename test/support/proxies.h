/*
 * proxies.h - an HTTP CONNECT proxy and a SOCKS5 proxy for the tests of
 * options.proxy (test/integration/test_proxies.c): real tunnelling proxies,
 * unlike the fault proxy of proxy.h which forwards to a fixed port.
 *
 * Typical use:
 *
 *	struct test_tunnel_proxy *px;
 *	rc = test_tunnel_proxy_start(&px, &(struct test_tunnel_proxy_opts){
 *	                                      .type = TEST_TUNNEL_SOCKS5,
 *	                                      .user = "alice", .pass = "secret"});
 *	... options.proxy = {type, "127.0.0.1", test_tunnel_proxy_port(px), ...} ...
 *	test_tunnel_proxy_stats(px, &st);   st.tunnels, st.target, st.head
 *	test_tunnel_proxy_stop(px);
 *
 * What each proxy does:
 *  - HTTP: reads the request header (up to 4 KiB), answers 405 to another
 *    method than CONNECT, 400 to a malformed target, 407 with
 *    Proxy-Authenticate when credentials are required and the
 *    Proxy-Authorization header is missing or wrong (basic, RFC 7617), 403
 *    to a target other than 127.0.0.1 or localhost, 502 when the target
 *    refuses the connection, else "200 Connection established" with an
 *    extra header, then relays.
 *  - SOCKS5 (RFC 1928): without required credentials it picks method 0x00
 *    (0xff if not offered); with them, 0x02 (0xff if not offered) and the
 *    RFC 1929 login, answered 0x01 (and closed) when wrong. CONNECT only
 *    (else reply 0x07), address types 1 and 3 (4 gets 0x08), targets other
 *    than 127.0.0.1 / localhost get 0x02, a refused connection 0x05, other
 *    connect errors 0x01; success is reply 0x00 with the bound IPv4 address.
 *  After the answer every byte is relayed both ways between the client and
 *  127.0.0.1:port, until either side closes (both are closed then).
 *
 * Addresses: listens on 127.0.0.1 on a free port; never connects anywhere
 * but 127.0.0.1.
 *
 * Threads and ownership: each proxy has its own accept thread, and each
 * connection its own thread (handshake, then relay), at most
 * TEST_TUNNEL_PROXY_MAX_CONNS at once (more are closed at accept). The
 * struct is the proxy's, freed by test_tunnel_proxy_stop, which stops
 * accepting, closes every connection, and joins every thread before it
 * returns. Functions may be called from any thread (a lock guards the
 * statistics), except stop: once, with no other call in progress.
 *
 * Errors: FERRY_OK or a negative enum ferry_err: FERRY_ERR_INVAL (bad type,
 * credentials over 255 bytes), FERRY_ERR_NOMEM, FERRY_ERR_STATE (a socket
 * or thread could not be made).
 */
#ifndef FERRY_TEST_PROXIES_H
#define FERRY_TEST_PROXIES_H

/* Connections handled at once. */
#define TEST_TUNNEL_PROXY_MAX_CONNS 64

/* The same values as enum ferry_proxy_type. */
enum test_tunnel_type {
	TEST_TUNNEL_HTTP = 1,
	TEST_TUNNEL_SOCKS5 = 2,
};

struct test_tunnel_proxy_opts {
	int type;         /* enum test_tunnel_type */
	const char *user; /* required credentials; NULL: none required */
	const char *pass; /* NULL: "" */
};

/* Counters since start and what the latest request asked for. */
struct test_tunnel_proxy_stats {
	int accepted;     /* connections accepted */
	int tunnels;      /* tunnels opened (200 / reply 0x00 sent) */
	int auth_refused; /* credentials missing or wrong (407, method 0xff, login 0x01) */
	int refused;      /* other refusals: bad request, target not allowed or unreachable */
	int open;         /* tunnels relaying now */
	char target[300]; /* the latest request's target as named: "127.0.0.1:1883" */
	char user[256];   /* the latest SOCKS5 login's user name, "" when none */
	char head[4100];  /* the latest HTTP request header block, "" for SOCKS5 */
};

struct test_tunnel_proxy;

/*
 * test_tunnel_proxy_start - listen on 127.0.0.1 on a free port and start
 * the accept thread. Returns FERRY_OK with *out set, or an error (*out NULL).
 */
int test_tunnel_proxy_start(struct test_tunnel_proxy **out, const struct test_tunnel_proxy_opts *o);

/* The port it listens on. */
int test_tunnel_proxy_port(const struct test_tunnel_proxy *p);

/* A copy of the counters and the latest request. */
void test_tunnel_proxy_stats(struct test_tunnel_proxy *p, struct test_tunnel_proxy_stats *out);

/* test_tunnel_proxy_stop - close everything, join every thread, free. NULL is fine. */
void test_tunnel_proxy_stop(struct test_tunnel_proxy *p);

#endif

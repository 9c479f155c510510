/*
 * test_proxies.c - the client through an HTTP CONNECT or SOCKS5 proxy
 * (options.proxy, test/support/proxies.h) to a real mosquitto: with and
 * without proxy credentials, a publish/subscribe round trip, a refused proxy
 * login (FERRY_ERR_PROXY_AUTH), a target the proxy cannot reach
 * (FERRY_ERR_PROXY), a reconnect through the proxy after the broker
 * restarts, and the proxy under TLS and WebSocket.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "support/certs.h"
#include "support/proxies.h"
#include "unit/util.h"

static struct test_broker broker;
static struct test_certs certs;
static int tls_port, ws_port;

/*
 * The latest warning logged by any client here (a failed connect says why).
 * Log lines reach on_log on the callback thread, possibly after the
 * connect's result: wait for them.
 */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cv = PTHREAD_COND_INITIALIZER;
static char last_warning[512];

static void on_log(void *user, int level, const char *text)
{
	(void)user;
	if (level > FERRY_LOG_WARNING)
		return;
	pthread_mutex_lock(&log_mu);
	snprintf(last_warning, sizeof last_warning, "%s", text);
	pthread_cond_broadcast(&log_cv);
	pthread_mutex_unlock(&log_mu);
}

static void forget_warnings(void)
{
	pthread_mutex_lock(&log_mu);
	last_warning[0] = 0;
	pthread_mutex_unlock(&log_mu);
}

/* Waits (bounded) until the latest warning contains text. */
static bool warned(const char *text)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ITEST_WAIT_MS / 1000;
	pthread_mutex_lock(&log_mu);
	bool found;
	while (!(found = strstr(last_warning, text) != NULL))
		if (pthread_cond_timedwait(&log_cv, &log_mu, &ts))
			break;
	if (!found)
		fprintf(stderr, "\n  last warning: \"%s\", expected \"%s\" in it\n", last_warning,
		        text);
	pthread_mutex_unlock(&log_mu);
	return found;
}

static int suite_init(void)
{
	int rc = test_certs_make(&certs);
	if (rc) {
		fprintf(stderr, "certs: %s\n", certs.error);
		return 1;
	}
	tls_port = test_broker_free_port();
	ws_port = test_broker_free_port();
	char extra[2048];
	snprintf(extra, sizeof extra,
	         "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
	         "listener %d 127.0.0.1\nprotocol websockets\n",
	         tls_port, certs.ca, certs.server_cert, certs.server_key, ws_port);
	rc = test_broker_start(&broker, &(struct test_broker_opts){.extra_config = extra});
	if (rc) {
		fprintf(stderr, "broker: %s\n", test_broker_error(&broker));
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	test_broker_cleanup(&broker);
	test_certs_cleanup(&certs);
	return 0;
}

static struct test_tunnel_proxy *start_proxy(int type, const char *user, const char *pass)
{
	struct test_tunnel_proxy *px = NULL;
	struct test_tunnel_proxy_opts o = {.type = type, .user = user, .pass = pass};
	CU_ASSERT_EQUAL_FATAL(test_tunnel_proxy_start(&px, &o), FERRY_OK);
	return px;
}

/* A client of uri through px (with the given proxy credentials), not connected. */
static ferry_client *proxied_client(struct itest_rec *r, const char *uri, const char *id,
                                    struct test_tunnel_proxy *px, int type, const char *user,
                                    const char *pass, bool reconnect)
{
	struct ferry_proxy_options po = FERRY_PROXY_OPTIONS_INIT;
	po.type = type;
	po.host = "127.0.0.1";
	po.port = test_tunnel_proxy_port(px);
	po.username = user;
	po.password = pass;
	struct ferry_tls_options tls = FERRY_TLS_OPTIONS_INIT;
	tls.ca_file = certs.ca;
	struct ferry_client_options o;
	itest_options(&o, r, uri, id);
	o.proxy = &po;
	o.tls = &tls;
	o.on_log = on_log;
	o.auto_reconnect = reconnect;
	o.reconnect_min_ms = 50;
	o.reconnect_max_ms = 200;
	ferry_client *c = NULL;
	CU_ASSERT_EQUAL_FATAL(ferry_client_create(&o, &c), FERRY_OK);
	return c;
}

/* Subscribes to topic, publishes one QoS 1 message to it and checks it comes back. */
static void round_trip(ferry_client *c, struct itest_rec *r, const char *topic)
{
	static const char payload[] = "through the proxy";
	ASSERT_RC(itest_subscribe(c, topic, 1), FERRY_OK);
	ferry_token t = 0;
	ASSERT_RC(ferry_publish(c, topic, payload, sizeof payload, 1, false, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	long i = itest_wait_topic(r, topic, ITEST_WAIT_MS);
	CU_ASSERT_FATAL(i >= 0);
	pthread_mutex_lock(&r->mu);
	CU_ASSERT_EQUAL(r->msgs[i].len, sizeof payload);
	CU_ASSERT(memcmp(r->msgs[i].payload, payload, sizeof payload) == 0);
	pthread_mutex_unlock(&r->mu);
}

/* Connects through a fresh proxy of `type`, round trip, checks what the proxy saw. */
static void through(int type, const char *need_user, const char *need_pass, const char *host)
{
	struct test_tunnel_proxy *px = start_proxy(type, need_user, need_pass);
	struct itest_rec r;
	itest_rec_init(&r);
	char uri[96], target[96], topic[64];
	snprintf(uri, sizeof uri, "tcp://%s:%d", host, test_broker_port(&broker));
	snprintf(target, sizeof target, "%s:%d", host, test_broker_port(&broker));
	snprintf(topic, sizeof topic, "proxies/%d/%s", type, need_user ? "auth" : "anon");
	ferry_client *c =
	    proxied_client(&r, uri, "px-client", px, type, need_user, need_pass, false);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	round_trip(c, &r, topic);
	struct test_tunnel_proxy_stats st;
	test_tunnel_proxy_stats(px, &st);
	CU_ASSERT_EQUAL(st.tunnels, 1);
	CU_ASSERT_EQUAL(st.open, 1);
	CU_ASSERT_EQUAL(st.auth_refused + st.refused, 0);
	/* The proxy is asked for the server as named in the URI (never resolved by ferry). */
	CU_ASSERT_STRING_EQUAL(st.target, target);
	if (type == TEST_TUNNEL_SOCKS5)
		CU_ASSERT_STRING_EQUAL(st.user, need_user ? need_user : "");
	if (type == TEST_TUNNEL_HTTP) {
		char line[256];
		snprintf(line, sizeof line, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target);
		CU_ASSERT(strncmp(st.head, line, strlen(line)) == 0);
		CU_ASSERT_EQUAL(strstr(st.head, "Proxy-Authorization: Basic ") != NULL,
		                need_user != NULL);
	}
	ferry_token t = 0;
	ASSERT_RC(ferry_disconnect(c, 1000, NULL, &t), FERRY_OK);
	ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_tunnel_proxy_stop(px);
}

static void test_http_anonymous(void)
{
	through(TEST_TUNNEL_HTTP, NULL, NULL, "127.0.0.1");
}

static void test_http_credentials(void)
{
	/* a colon is fine in the password (RFC 7617: only the user-id may not have one) */
	through(TEST_TUNNEL_HTTP, "alice", "s3cret:with colon", "localhost");
}

static void test_socks_anonymous(void)
{
	through(TEST_TUNNEL_SOCKS5, NULL, NULL, "127.0.0.1");
}

static void test_socks_credentials(void)
{
	through(TEST_TUNNEL_SOCKS5, "bob", "hunter2", "localhost");
}

/* A connect that must fail with want (no reconnect); the warning must name why. */
static void connect_fails(int type, const char *need_user, const char *user, const char *pass,
                          int port, int want, const char *why)
{
	struct test_tunnel_proxy *px = start_proxy(type, need_user, "right");
	struct itest_rec r;
	itest_rec_init(&r);
	char uri[64];
	snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", port);
	ferry_client *c = proxied_client(&r, uri, "px-fail", px, type, user, pass, false);
	forget_warnings();
	ASSERT_RC(itest_connect_wait(c), want);
	CU_ASSERT_TRUE(warned(why));
	CU_ASSERT_FALSE(ferry_is_connected(c));
	struct test_tunnel_proxy_stats st;
	test_tunnel_proxy_stats(px, &st);
	CU_ASSERT_EQUAL(st.tunnels, 0);
	CU_ASSERT_EQUAL(st.auth_refused, want == FERRY_ERR_PROXY_AUTH);
	CU_ASSERT_EQUAL(st.refused, want == FERRY_ERR_PROXY);
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_tunnel_proxy_stop(px);
}

static void test_refused_login(void)
{
	int port = test_broker_port(&broker);
	connect_fails(TEST_TUNNEL_HTTP, "alice", "alice", "wrong", port, FERRY_ERR_PROXY_AUTH,
	              "407 Proxy Authentication Required");
	connect_fails(TEST_TUNNEL_HTTP, "alice", NULL, NULL, port, FERRY_ERR_PROXY_AUTH,
	              "requires credentials");
	connect_fails(TEST_TUNNEL_SOCKS5, "alice", "alice", "wrong", port, FERRY_ERR_PROXY_AUTH,
	              "refused the credentials of user \"alice\"");
	connect_fails(TEST_TUNNEL_SOCKS5, "alice", NULL, NULL, port, FERRY_ERR_PROXY_AUTH,
	              "method 0xff");
}

static void test_unreachable_target(void)
{
	int port = test_broker_free_port(); /* nothing listens there */
	CU_ASSERT_FATAL(port > 0);
	connect_fails(TEST_TUNNEL_HTTP, NULL, NULL, NULL, port, FERRY_ERR_PROXY, "502 Bad Gateway");
	connect_fails(TEST_TUNNEL_SOCKS5, NULL, NULL, NULL, port, FERRY_ERR_PROXY,
	              "connection refused (reply 0x05)");
}

/* A proxy of the other type: not understood, FERRY_ERR_PROXY. */
static void test_wrong_type(void)
{
	struct test_tunnel_proxy *px = start_proxy(TEST_TUNNEL_SOCKS5, NULL, NULL);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = proxied_client(&r, test_broker_uri(&broker), "px-type", px,
	                                 TEST_TUNNEL_HTTP, NULL, NULL, false);
	forget_warnings();
	ASSERT_RC(itest_connect_wait(c), FERRY_ERR_PROXY); /* the SOCKS5 proxy hangs up */
	CU_ASSERT_TRUE(warned("proxy: "));
	struct test_tunnel_proxy_stats st;
	test_tunnel_proxy_stats(px, &st);
	CU_ASSERT_EQUAL(st.tunnels, 0);
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_tunnel_proxy_stop(px);
}

/* A proxy that is not there at all: the TCP connect fails, as without a proxy. */
static void test_proxy_down(void)
{
	struct test_tunnel_proxy *px = start_proxy(TEST_TUNNEL_HTTP, NULL, NULL);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = proxied_client(&r, test_broker_uri(&broker), "px-down", px,
	                                 TEST_TUNNEL_HTTP, NULL, NULL, false);
	test_tunnel_proxy_stop(px); /* its port now refuses connections */
	ASSERT_RC(itest_connect_wait(c), FERRY_ERR_CONNECT);
	ferry_client_destroy(c);
	itest_rec_free(&r);
}

/* The broker restarts: the client reconnects through the proxy by itself. */
static void test_reconnect_after_restart(int type)
{
	struct test_tunnel_proxy *px = start_proxy(type, "carol", "pw");
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = proxied_client(&r, test_broker_uri(&broker), "px-restart", px, type,
	                                 "carol", "pw", true);
	ASSERT_RC(itest_connect_wait(c), FERRY_OK);
	round_trip(c, &r, "proxies/restart/1");
	ASSERT_RC(test_broker_restart(&broker), FERRY_OK);
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.lost, 1, ITEST_WAIT_MS));
	CU_ASSERT_TRUE(itest_wait_int(&r, &r.connected, 2, ITEST_WAIT_MS));
	round_trip(c, &r, "proxies/restart/2");
	struct test_tunnel_proxy_stats st;
	test_tunnel_proxy_stats(px, &st);
	CU_ASSERT(st.tunnels >= 2);
	CU_ASSERT_EQUAL(st.open, 1); /* the old tunnel was closed with the old connection */
	CU_ASSERT_EQUAL(st.auth_refused, 0);
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_tunnel_proxy_stop(px);
}

static void test_http_reconnect(void)
{
	test_reconnect_after_restart(TEST_TUNNEL_HTTP);
}

static void test_socks_reconnect(void)
{
	test_reconnect_after_restart(TEST_TUNNEL_SOCKS5);
}

/* TLS runs end to end inside the tunnel, verified against the server's name. */
static void test_tls_through_proxy(void)
{
	static const int types[] = {TEST_TUNNEL_HTTP, TEST_TUNNEL_SOCKS5};
	for (size_t i = 0; i < 2; i++) {
		struct test_tunnel_proxy *px = start_proxy(types[i], "dave", "pw");
		struct itest_rec r;
		itest_rec_init(&r);
		char uri[64], target[64];
		snprintf(uri, sizeof uri, "ssl://localhost:%d", tls_port);
		snprintf(target, sizeof target, "localhost:%d", tls_port);
		ferry_client *c =
		    proxied_client(&r, uri, "px-tls", px, types[i], "dave", "pw", false);
		ASSERT_RC(itest_connect_wait(c), FERRY_OK);
		round_trip(c, &r, "proxies/tls");
		struct test_tunnel_proxy_stats st;
		test_tunnel_proxy_stats(px, &st);
		CU_ASSERT_EQUAL(st.tunnels, 1);
		CU_ASSERT_STRING_EQUAL(st.target, target);
		ferry_client_destroy(c);
		itest_rec_free(&r);
		test_tunnel_proxy_stop(px);
	}
}

/* The WebSocket upgrade goes through the tunnel like any other byte. */
static void test_websocket_through_proxy(void)
{
	static const int types[] = {TEST_TUNNEL_HTTP, TEST_TUNNEL_SOCKS5};
	for (size_t i = 0; i < 2; i++) {
		struct test_tunnel_proxy *px = start_proxy(types[i], NULL, NULL);
		struct itest_rec r;
		itest_rec_init(&r);
		char uri[64];
		snprintf(uri, sizeof uri, "ws://127.0.0.1:%d/mqtt", ws_port);
		ferry_client *c = proxied_client(&r, uri, "px-ws", px, types[i], NULL, NULL, false);
		ASSERT_RC(itest_connect_wait(c), FERRY_OK);
		round_trip(c, &r, "proxies/ws");
		struct test_tunnel_proxy_stats st;
		test_tunnel_proxy_stats(px, &st);
		CU_ASSERT_EQUAL(st.tunnels, 1);
		ferry_client_destroy(c);
		itest_rec_free(&r);
		test_tunnel_proxy_stop(px);
	}
}

void register_proxies_suite(void)
{
	CU_pSuite s = CU_add_suite("proxies", suite_init, suite_clean);
	if (!s)
		abort();
	test_add(s, "HTTP CONNECT without credentials", test_http_anonymous);
	test_add(s, "HTTP CONNECT with credentials", test_http_credentials);
	test_add(s, "SOCKS5 without credentials", test_socks_anonymous);
	test_add(s, "SOCKS5 with credentials", test_socks_credentials);
	test_add(s, "refused proxy login: FERRY_ERR_PROXY_AUTH", test_refused_login);
	test_add(s, "target unreachable: FERRY_ERR_PROXY", test_unreachable_target);
	test_add(s, "proxy of the other type: FERRY_ERR_PROXY", test_wrong_type);
	test_add(s, "proxy not listening: FERRY_ERR_CONNECT", test_proxy_down);
	test_add(s, "HTTP: reconnect after a broker restart", test_http_reconnect);
	test_add(s, "SOCKS5: reconnect after a broker restart", test_socks_reconnect);
	test_add(s, "TLS through the proxy", test_tls_through_proxy);
	test_add(s, "WebSocket through the proxy", test_websocket_through_proxy);
}

/*
 * test_tls.c - TLS (issue #7): the public API against mosquitto TLS
 * listeners (server authentication, verification failures at every
 * reconnect, names, expiry, insecure mode, mutual TLS, passphrases, CRL,
 * PSK, versions, ciphers, ALPN, bad files at create), and the TLS layer
 * itself (src/tls.c) against the in-process OpenSSL server of
 * test/support/certs.h over a socketpair: SNI, verification texts, ALPN, a
 * TLS 1.2-only server (minimum version, cipher lists, PSK cipher suites),
 * large non-blocking writes, pending bytes, one session used by a writer
 * and a reader thread at once, close_notify, EOF, and writing to a peer
 * that left without SIGPIPE.
 *
 * Certificates are made once for the suite (test/support/certs.h); each
 * test starts its own broker with an extra TLS listener on a free port.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/ssl.h>

#include "again.h"
#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "support/certs.h"
#include "tls.h"
#include "unit/util.h"

static struct test_certs certs;

static int suite_init(void)
{
	int rc = test_certs_make(&certs);
	if (rc)
		fprintf(stderr, "tls suite: %s\n", certs.error);
	return rc ? 1 : 0;
}

static int suite_clean(void)
{
	test_certs_cleanup(&certs);
	return 0;
}

/* --- a recorder that also keeps log lines -------------------------------------------- */

struct tls_rec {
	struct itest_rec r; /* first: the callbacks' user pointer is &r */
	char *lines[512];
	int nlines; /* [r.mu] */
};

static void rec_log(void *user, int level, const char *text)
{
	struct tls_rec *tr = user;
	char line[600];
	snprintf(line, sizeof line, "%d %s", level, text);
	pthread_mutex_lock(&tr->r.mu);
	if (tr->nlines < 512)
		tr->lines[tr->nlines++] = strdup(line);
	pthread_cond_broadcast(&tr->r.cv);
	pthread_mutex_unlock(&tr->r.mu);
}

static void rec_init(struct tls_rec *tr)
{
	memset(tr, 0, sizeof *tr);
	itest_rec_init(&tr->r);
}

static void rec_free(struct tls_rec *tr)
{
	for (int i = 0; i < tr->nlines; i++)
		free(tr->lines[i]);
	itest_rec_free(&tr->r);
}

/* Log lines containing every one of a and b (b may be NULL). */
static int rec_count(struct tls_rec *tr, const char *a, const char *b)
{
	int n = 0;
	pthread_mutex_lock(&tr->r.mu);
	for (int i = 0; i < tr->nlines; i++)
		if (tr->lines[i] && strstr(tr->lines[i], a) && (!b || strstr(tr->lines[i], b)))
			n++;
	pthread_mutex_unlock(&tr->r.mu);
	return n;
}

/* Waits (bounded) until n log lines contain a and b (b may be NULL); dumps
 * the log to stderr if they never do. Log lines come on the callback
 * thread, possibly after ferry_wait returned. */
static bool rec_wait(struct tls_rec *tr, const char *a, const char *b, int n)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ITEST_WAIT_MS / 1000;
	int e = 0;
	while (rec_count(tr, a, b) < n && e == 0) {
		pthread_mutex_lock(&tr->r.mu);
		e = pthread_cond_timedwait(&tr->r.cv, &tr->r.mu, &ts);
		pthread_mutex_unlock(&tr->r.mu);
	}
	if (rec_count(tr, a, b) >= n)
		return true;
	fprintf(stderr, "\n  no %d log lines with \"%s\" and \"%s\":\n", n, a, b ? b : "");
	pthread_mutex_lock(&tr->r.mu);
	for (int i = 0; i < tr->nlines; i++)
		fprintf(stderr, "  log: %s\n", tr->lines[i]);
	pthread_mutex_unlock(&tr->r.mu);
	return false;
}

static void tls_options(struct ferry_client_options *o, struct tls_rec *tr, const char *uri,
                        const char *id, const struct ferry_tls_options *t)
{
	itest_options(o, &tr->r, uri, id);
	o->on_log = rec_log;
	o->log_level = FERRY_LOG_INFO;
	o->tls = t;
	o->auto_reconnect = false;
	o->connect_timeout_ms = 5000;
}

/* Creates a client and connects once: create's error, or the connect's result. */
static int try_connect(struct tls_rec *tr, const char *uri, const struct ferry_tls_options *t,
                       ferry_client **out)
{
	struct ferry_client_options o;
	tls_options(&o, tr, uri, "tls-test", t);
	*out = NULL;
	int rc = ferry_client_create(&o, out);
	return rc ? rc : itest_connect_wait(*out);
}

/* --- brokers with a TLS listener ------------------------------------------------------- */

/* The file a placeholder at s stands for (its length in *len), else NULL. */
static const char *placeholder(const char *s, const char *cert, size_t *len)
{
	static const char *const names[3] = {"@CA@", "@CERT@", "@KEY@"};
	const char *files[3] = {certs.ca, cert ? cert : certs.server_cert, certs.server_key};
	for (int i = 0; i < 3; i++) {
		*len = strlen(names[i]);
		if (strncmp(s, names[i], *len) == 0)
			return files[i];
	}
	return NULL;
}

/*
 * Starts a broker whose extra listener on a free port has `body` (TLS
 * settings; "@CA@", "@CERT@", "@KEY@" stand for the test CA, cert (NULL:
 * the good server certificate) and the server key). *port: that listener.
 */
static int tls_broker(struct test_broker *b, const char *cert, const char *body,
                      const struct test_broker_file *files, int *port)
{
	char cfg[2048];
	int rc = FERRY_ERR_STATE;
	for (int attempt = 0; attempt < 3 && rc; attempt++) {
		int p = test_broker_free_port();
		if (p < 0)
			return p;
		int n = snprintf(cfg, sizeof cfg, "listener %d 127.0.0.1\n", p);
		for (const char *s = body; *s && n < (int)sizeof cfg - 400;) {
			size_t len = 0;
			const char *file = placeholder(s, cert, &len);
			if (file) {
				n += snprintf(cfg + n, sizeof cfg - (size_t)n, "%s", file);
				s += len;
			} else {
				cfg[n++] = *s++;
				cfg[n] = 0;
			}
		}
		const int wait[2] = {p, 0};
		rc = test_broker_start(b, &(struct test_broker_opts){.extra_config = cfg,
		                                                     .files = files,
		                                                     .wait_ports = wait});
		if (rc) {
			fprintf(stderr, "tls broker: %s\n", test_broker_error(b));
			test_broker_cleanup(b);
		} else {
			*port = p;
		}
	}
	return rc;
}

#define SERVER_TLS "cafile @CA@\ncertfile @CERT@\nkeyfile @KEY@\n"

static void uri_of(char *buf, size_t cap, const char *scheme, const char *host, int port)
{
	snprintf(buf, cap, "%s://%s:%d", scheme, host, port);
}

/* Subscribes on c and publishes at QoS 0, 1 and 2; each comes back intact. */
static void assert_round_trip(ferry_client *c, struct tls_rec *tr, const char *topic)
{
	ASSERT_RC(itest_subscribe(c, topic, 2), FERRY_OK);
	const char *payloads[3] = {"zero", "one", "two"};
	for (int q = 0; q < 3; q++) {
		ferry_token t = 0;
		ASSERT_RC(
		    ferry_publish(c, topic, payloads[q], strlen(payloads[q]), q, false, NULL, &t),
		    FERRY_OK);
		ASSERT_RC(ferry_wait(c, t, ITEST_WAIT_MS), FERRY_OK);
	}
	CU_ASSERT_TRUE_FATAL(itest_wait_msgs(&tr->r, 3, ITEST_WAIT_MS));
	pthread_mutex_lock(&tr->r.mu);
	for (int q = 0; q < 3; q++) {
		CU_ASSERT_EQUAL(tr->r.msgs[q].qos, q);
		CU_ASSERT_EQUAL(tr->r.msgs[q].len, strlen(payloads[q]));
		CU_ASSERT_NSTRING_EQUAL(tr->r.msgs[q].payload, payloads[q], strlen(payloads[q]));
	}
	pthread_mutex_unlock(&tr->r.mu);
}

/* A connect that must fail with rc and a log line containing text; never connects. */
static void assert_refused(const char *uri, const struct ferry_tls_options *t, int rc,
                           const char *text)
{
	struct tls_rec tr;
	rec_init(&tr);
	ferry_client *c = NULL;
	ASSERT_RC(try_connect(&tr, uri, t, &c), rc);
	CU_ASSERT_TRUE(rec_wait(&tr, "failed: ", text, 1));
	ferry_client_destroy(c);
	CU_ASSERT_EQUAL(tr.r.connected, 0);
	rec_free(&tr);
}

/* --- the public API against mosquitto ------------------------------------------------- */

static void test_server_auth_round_trip(void)
{
	struct test_broker b;
	int port;
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, NULL, SERVER_TLS, NULL, &port), FERRY_OK);
	char uri[80];
	/* A CA file, the IP address checked against the certificate's IP SAN. */
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	t.ca_file = certs.ca;
	uri_of(uri, sizeof uri, "ssl", "127.0.0.1", port);
	struct tls_rec tr;
	rec_init(&tr);
	ferry_client *c = NULL;
	ASSERT_RC(try_connect(&tr, uri, &t, &c), FERRY_OK);
	assert_round_trip(c, &tr, "tls/rt");
	CU_ASSERT_EQUAL(rec_count(&tr, "insecure", NULL), 0);
	ferry_client_destroy(c);
	rec_free(&tr);
	/* A hashed CA directory, mqtts:// and a DNS name checked. */
	struct ferry_tls_options d = FERRY_TLS_OPTIONS_INIT;
	d.ca_dir = certs.ca_dir;
	uri_of(uri, sizeof uri, "mqtts", "localhost", port);
	rec_init(&tr);
	ASSERT_RC(try_connect(&tr, uri, &d, &c), FERRY_OK);
	assert_round_trip(c, &tr, "tls/dir");
	ferry_client_destroy(c);
	rec_free(&tr);
	test_broker_cleanup(&b);
}

/* The wrong CA fails the first connect and every automatic reconnect after it. */
static void test_wrong_ca_fails_every_reconnect(void)
{
	struct test_broker b;
	int port;
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, NULL, SERVER_TLS, NULL, &port), FERRY_OK);
	char uri[80];
	uri_of(uri, sizeof uri, "ssl", "127.0.0.1", port);
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	t.ca_file = certs.other_ca;
	struct tls_rec tr;
	rec_init(&tr);
	struct ferry_client_options o;
	tls_options(&o, &tr, uri, "tls-wrong-ca", &t);
	o.auto_reconnect = true;
	o.reconnect_min_ms = 20;
	o.reconnect_max_ms = 100;
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_OK);
	ASSERT_RC(itest_connect_wait(c), FERRY_ERR_TLS_VERIFY);
	/* The first attempt and four automatic ones, each refusing the server. */
	CU_ASSERT_TRUE(rec_wait(&tr, "connect to", "certificate verify failed", 5));
	ferry_client_destroy(c);
	int failed = rec_count(&tr, "connect to", "failed: ");
	CU_ASSERT(failed >= 5);
	CU_ASSERT_EQUAL(rec_count(&tr, "connect to", "certificate verify failed"), failed);
	CU_ASSERT_EQUAL(tr.r.connected, 0);
	rec_free(&tr);
	test_broker_cleanup(&b);
}

static void test_name_mismatch(void)
{
	struct test_broker b;
	int port;
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, certs.other_host_cert, SERVER_TLS, NULL, &port),
	                      FERRY_OK);
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	t.ca_file = certs.ca;
	char uri[80];
	uri_of(uri, sizeof uri, "ssl", "localhost", port);
	assert_refused(uri, &t, FERRY_ERR_TLS_VERIFY,
	               "certificate verify failed: hostname mismatch");
	uri_of(uri, sizeof uri, "ssl", "127.0.0.1", port);
	assert_refused(uri, &t, FERRY_ERR_TLS_VERIFY,
	               "certificate verify failed: IP address mismatch");
	test_broker_cleanup(&b);
}

static void test_expired_and_revoked(void)
{
	struct test_broker b;
	int port;
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	t.ca_file = certs.ca;
	char uri[80];
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, certs.expired_cert, SERVER_TLS, NULL, &port),
	                      FERRY_OK);
	uri_of(uri, sizeof uri, "ssl", "127.0.0.1", port);
	assert_refused(uri, &t, FERRY_ERR_TLS_VERIFY,
	               "certificate verify failed: certificate has expired");
	test_broker_cleanup(&b);

	/* With the CA's CRL: the revoked certificate is refused... */
	t.crl_file = certs.crl;
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, certs.revoked_cert, SERVER_TLS, NULL, &port),
	                      FERRY_OK);
	uri_of(uri, sizeof uri, "ssl", "127.0.0.1", port);
	assert_refused(uri, &t, FERRY_ERR_TLS_VERIFY,
	               "certificate verify failed: certificate revoked");
	test_broker_cleanup(&b);
	/* ...a good one (checked against the same CRL, whole chain) is not. */
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, NULL, SERVER_TLS, NULL, &port), FERRY_OK);
	uri_of(uri, sizeof uri, "ssl", "127.0.0.1", port);
	struct tls_rec tr;
	rec_init(&tr);
	ferry_client *c = NULL;
	ASSERT_RC(try_connect(&tr, uri, &t, &c), FERRY_OK);
	ferry_client_destroy(c);
	rec_free(&tr);
	test_broker_cleanup(&b);
}

/* insecure: any certificate from any CA for any name, and a warning per connect. */
static void test_insecure_connects_with_warning(void)
{
	struct test_broker b;
	int port;
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, certs.other_host_cert, SERVER_TLS, NULL, &port),
	                      FERRY_OK);
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	t.ca_file = certs.other_ca;
	t.insecure = true;
	char uri[80];
	uri_of(uri, sizeof uri, "ssl", "localhost", port);
	struct tls_rec tr;
	rec_init(&tr);
	ferry_client *c = NULL;
	ASSERT_RC(try_connect(&tr, uri, &t, &c), FERRY_OK);
	CU_ASSERT_TRUE(rec_wait(&tr, "2 ", "insecure", 1)); /* FERRY_LOG_WARNING */
	assert_round_trip(c, &tr, "tls/insecure");
	ferry_client_destroy(c);
	rec_free(&tr);
	test_broker_cleanup(&b);
}

static void test_system_store_by_default(void)
{
	struct test_broker b;
	int port;
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, NULL, SERVER_TLS, NULL, &port), FERRY_OK);
	char uri[80];
	uri_of(uri, sizeof uri, "ssl", "localhost", port);
	/* No ca_file: the system's CAs, which do not know the test CA. */
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	/* (mosquitto sends the chain with the root: "self-signed certificate in
	 * certificate chain"; OpenSSL 1.1.1 spells it "self signed") */
	assert_refused(uri, &t, FERRY_ERR_TLS_VERIFY, "certificate verify failed: self");
	assert_refused(uri, NULL, FERRY_ERR_TLS_VERIFY, "certificate verify failed: self");
	test_broker_cleanup(&b);
}

#define MUTUAL_TLS SERVER_TLS "require_certificate true\n"

static void test_mutual_tls(void)
{
	struct test_broker b;
	int port;
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, NULL, MUTUAL_TLS, NULL, &port), FERRY_OK);
	char uri[80];
	uri_of(uri, sizeof uri, "ssl", "127.0.0.1", port);
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	t.ca_file = certs.ca;
	t.cert_file = certs.client_cert;
	t.key_file = certs.client_key;
	struct tls_rec tr;
	rec_init(&tr);
	ferry_client *c = NULL;
	ASSERT_RC(try_connect(&tr, uri, &t, &c), FERRY_OK);
	assert_round_trip(c, &tr, "tls/mutual");
	ferry_client_destroy(c);
	rec_free(&tr);
	/* The same key encrypted, with its passphrase. */
	t.key_file = certs.client_key_enc;
	t.key_passphrase = TEST_CERTS_PASSPHRASE;
	rec_init(&tr);
	ASSERT_RC(try_connect(&tr, uri, &t, &c), FERRY_OK);
	ferry_client_destroy(c);
	rec_free(&tr);
	/* Without a client certificate the broker refuses the TLS session. */
	struct ferry_tls_options none = FERRY_TLS_OPTIONS_INIT;
	none.ca_file = certs.ca;
	rec_init(&tr);
	int rc = try_connect(&tr, uri, &none, &c);
	CU_ASSERT(rc == FERRY_ERR_TLS);
	CU_ASSERT_TRUE(rec_wait(&tr, "failed: ", "alert", 1));
	CU_ASSERT_EQUAL(tr.r.connected, 0);
	ferry_client_destroy(c);
	rec_free(&tr);
	test_broker_cleanup(&b);
}

/* Files are loaded at create: a bad one fails ferry_client_create, naming it. */
static void expect_config_error(const struct ferry_tls_options *t, const char *text)
{
	struct tls_rec tr;
	rec_init(&tr);
	struct ferry_client_options o;
	tls_options(&o, &tr, "ssl://127.0.0.1:1", "tls-config", t);
	ferry_client *c = NULL;
	ASSERT_RC(ferry_client_create(&o, &c), FERRY_ERR_TLS_CONFIG);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_TRUE(rec_wait(&tr, "1 ", text, 1)); /* FERRY_LOG_ERROR, said at once */
	rec_free(&tr);
}

static void test_bad_files_fail_create(void)
{
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	char missing[TEST_CERTS_PATH + 16];
	snprintf(missing, sizeof missing, "%s/no-such.pem", certs.dir);
	t.ca_file = missing;
	expect_config_error(&t, "no-such.pem: No such file or directory");
	t.ca_file = certs.server_key; /* a key, not a certificate */
	expect_config_error(&t, certs.server_key);
	t.ca_file = NULL;
	t.ca_dir = certs.ca; /* a file, not a directory */
	expect_config_error(&t, "not a directory");
	t.ca_dir = NULL;
	t.ca_file = certs.ca;
	t.cert_file = certs.client_cert;
	t.key_file = certs.client_key_enc;
	t.key_passphrase = "wrong";
	expect_config_error(&t, "wrong passphrase");
	t.key_passphrase = NULL; /* never a prompt on the terminal */
	expect_config_error(&t, "no key_passphrase");
	t.key_file = certs.server_key; /* not the certificate's key */
	expect_config_error(&t, "does not match");
	t.cert_file = t.key_file = NULL;
	t.crl_file = missing;
	expect_config_error(&t, "CRL file");
	t.crl_file = NULL;
	t.ciphers = "NO-SUCH-CIPHER";
	expect_config_error(&t, "NO-SUCH-CIPHER");
}

static void test_versions_alpn_ciphers(void)
{
	struct test_broker b;
	int port;
	CU_ASSERT_EQUAL_FATAL(tls_broker(&b, NULL, SERVER_TLS "tls_version tlsv1.3\n", NULL, &port),
	                      FERRY_OK);
	char uri[80];
	uri_of(uri, sizeof uri, "ssl", "localhost", port);
	const char *alpn[] = {"mqtt"};
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	t.ca_file = certs.ca;
	t.min_version = FERRY_TLS_1_3;
	t.alpn = alpn;
	t.alpn_count = 1;
	t.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
	struct tls_rec tr;
	rec_init(&tr);
	ferry_client *c = NULL;
	ASSERT_RC(try_connect(&tr, uri, &t, &c), FERRY_OK);
	assert_round_trip(c, &tr, "tls/v13");
	ferry_client_destroy(c);
	rec_free(&tr);
	/* A TLS 1.3 suite the broker does not have: refused. */
	t.ciphersuites = "TLS_AES_128_CCM_SHA256";
	assert_refused(uri, &t, FERRY_ERR_TLS, "handshake failure");
	test_broker_cleanup(&b);
}

static const unsigned char psk_key[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                          0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

/* TLS 1.3 external PSK against mosquitto (which has no certificate on this
 * listener); the TLS 1.2 PSK cipher suites are tested on the layer below
 * (mosquitto's tls_version is a minimum: it would pick 1.3). */
static void test_psk(void)
{
	static const struct test_broker_file files[] = {
	    {"psk", "ferry-id:00112233445566778899aabbccddeeff\n"}, {NULL, NULL}};
	struct ferry_tls_options t = FERRY_TLS_OPTIONS_INIT;
	t.psk_identity = "ferry-id";
	t.psk = psk_key;
	t.psk_len = sizeof psk_key;
	struct test_broker b;
	int port;
	CU_ASSERT_EQUAL_FATAL(
	    tls_broker(&b, NULL, "psk_hint ferry\npsk_file @DIR@/psk\n", files, &port), FERRY_OK);
	char uri[80];
	uri_of(uri, sizeof uri, "ssl", "127.0.0.1", port);
	struct tls_rec tr;
	rec_init(&tr);
	ferry_client *c = NULL;
	ASSERT_RC(try_connect(&tr, uri, &t, &c), FERRY_OK);
	assert_round_trip(c, &tr, "tls/psk");
	ferry_client_destroy(c);
	rec_free(&tr);
	/* A wrong key or identity never connects. */
	unsigned char bad[16];
	memcpy(bad, psk_key, sizeof bad);
	bad[0] ^= 1;
	struct ferry_tls_options w = t;
	w.psk = bad;
	assert_refused(uri, &w, FERRY_ERR_TLS, "TLS");
	w = t;
	w.psk_identity = "someone-else";
	assert_refused(uri, &w, FERRY_ERR_TLS, "TLS");
	test_broker_cleanup(&b);
}

/* --- the TLS layer against an in-process server ---------------------------------------- */

/* A client session (ctx from o) to a test TLS server over a socketpair. */
struct pair {
	int fd;
	struct test_tls_server srv;
	struct ferry_tls_ctx *ctx;
	struct ferry_tls *t;
	char err[300];
};

/* Starts the server (settings from want) and makes the session for host. */
static int pair_start(struct pair *p, const struct ferry_tls_options *o, const char *host,
                      const struct test_tls_server *want)
{
	memset(p, 0, sizeof *p);
	p->fd = -1;
	p->srv = *want;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return FERRY_ERR_SYSTEM;
	p->fd = sv[0];
	fcntl(p->fd, F_SETFL, O_NONBLOCK);
	int rc = test_tls_server_start(&p->srv, &certs, sv[1]);
	if (!rc)
		rc = ferry__tls_ctx_new(o, &p->ctx, p->err, sizeof p->err);
	return rc ? rc
	          : ferry__tls_new(p->ctx, p->fd, host, strlen(host), &p->t, p->err, sizeof p->err);
}

static void pair_end(struct pair *p)
{
	ferry__tls_free(p->t);
	if (p->fd >= 0)
		close(p->fd); /* a server still waiting for data sees EOF */
	test_tls_server_join(&p->srv);
	ferry__tls_ctx_free(p->ctx);
}

/* Waits (bounded) for the socket to be writable or readable. */
static bool pair_wait(struct pair *p, bool want_write)
{
	struct pollfd pfd = {.fd = p->fd, .events = want_write ? POLLOUT : POLLIN};
	return poll(&pfd, 1, ITEST_WAIT_MS) == 1;
}

static int pair_handshake(struct pair *p)
{
	for (;;) {
		bool ww = false;
		int rc = ferry__tls_handshake(p->t, &ww, p->err, sizeof p->err);
		if (rc != FERRY__AGAIN)
			return rc;
		if (!pair_wait(p, ww))
			return FERRY_ERR_TIMEOUT;
	}
}

/* Writes n pattern bytes in chunks; after "0 bytes", the same bytes again. */
static int pair_write(struct pair *p, size_t n)
{
	static unsigned char buf[65536];
	for (size_t off = 0; off < n;) {
		size_t len = n - off < sizeof buf ? n - off : sizeof buf;
		for (size_t i = 0; i < len; i++)
			buf[i] = test_tls_pattern(off + i);
		size_t put = 0;
		int rc = ferry__tls_write(p->t, buf, len, &put, p->err, sizeof p->err);
		if (rc)
			return rc;
		off += put;
		if (put == 0 && !pair_wait(p, true))
			return FERRY_ERR_TIMEOUT;
	}
	return FERRY_OK;
}

/* Reads (cap bytes at a time) until the end of the stream: its rc. */
static int pair_read_to_end(struct pair *p, size_t cap, size_t *total, bool *saw_pending)
{
	unsigned char buf[4096];
	for (;;) {
		size_t got = 0;
		bool ww = false;
		int rc = ferry__tls_read(p->t, buf, cap, &got, &ww, p->err, sizeof p->err);
		if (rc)
			return rc;
		for (size_t i = 0; i < got; i++)
			CU_ASSERT_EQUAL(buf[i], test_tls_pattern(*total + i));
		*total += got;
		if (got && ferry__tls_pending(p->t))
			*saw_pending = true;
		else if (!got && !pair_wait(p, ww))
			return FERRY_ERR_TIMEOUT;
	}
}

/* A handshake of a fresh pair: its rc (the pair is ended; results in *out). */
static int pair_once(const struct ferry_tls_options *o, const char *host,
                     const struct test_tls_server *want, struct pair *out)
{
	int rc = pair_start(out, o, host, want);
	if (!rc)
		rc = pair_handshake(out);
	pair_end(out);
	return rc;
}

static void test_layer_sni_and_names(void)
{
	struct ferry_tls_options o = FERRY_TLS_OPTIONS_INIT;
	o.ca_file = certs.ca;
	const struct {
		const char *host, *sni, *seen;
	} cases[] = {
	    {"localhost", NULL, "localhost"},                  /* the host's name */
	    {"127.0.0.1", NULL, ""},                           /* none for an IP literal */
	    {"127.0.0.1", "broker.example", "broker.example"}, /* options.sni overrides */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		o.sni = cases[i].sni;
		struct pair p;
		ASSERT_RC(pair_once(&o, cases[i].host,
		                    &(struct test_tls_server){.close_notify = true}, &p),
		          FERRY_OK);
		CU_ASSERT_TRUE(p.srv.accepted);
		CU_ASSERT_STRING_EQUAL(p.srv.sni, cases[i].seen);
	}
}

static void test_layer_verify_text(void)
{
	struct ferry_tls_options o = FERRY_TLS_OPTIONS_INIT;
	o.ca_file = certs.other_ca;
	struct pair p;
	const struct test_tls_server plain = {.close_notify = true};
	ASSERT_RC(pair_once(&o, "localhost", &plain, &p), FERRY_ERR_TLS_VERIFY);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(p.err, "certificate verify failed: unable to get local issuer certificate"));
	CU_ASSERT_FALSE(p.srv.accepted);
	o.ca_file = certs.ca;
	ASSERT_RC(pair_once(&o, "broker.example", &plain, &p), FERRY_ERR_TLS_VERIFY);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "certificate verify failed: hostname mismatch"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "broker.example"));
	ASSERT_RC(pair_once(&o, "::1", &plain, &p), FERRY_ERR_TLS_VERIFY); /* an IPv6 literal */
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "certificate verify failed: IP address mismatch"));
	CU_ASSERT_STRING_EQUAL(p.srv.sni, "");
}

static void test_layer_alpn(void)
{
	const char *offer[] = {"x-other", "mqtt"};
	struct ferry_tls_options o = FERRY_TLS_OPTIONS_INIT;
	o.ca_file = certs.ca;
	o.alpn = offer;
	o.alpn_count = 2;
	struct pair p;
	const struct test_tls_server plain = {.close_notify = true};
	CU_ASSERT_EQUAL_FATAL(pair_start(&p, &o, "localhost", &plain), FERRY_OK);
	ASSERT_RC(pair_handshake(&p), FERRY_OK);
	CU_ASSERT_STRING_EQUAL(ferry__tls_alpn(p.t), "mqtt");
	pair_end(&p);
	CU_ASSERT_STRING_EQUAL(p.srv.alpn, "mqtt");
	o.alpn = NULL;
	o.alpn_count = 0;
	CU_ASSERT_EQUAL_FATAL(pair_start(&p, &o, "localhost", &plain), FERRY_OK);
	ASSERT_RC(pair_handshake(&p), FERRY_OK);
	CU_ASSERT_STRING_EQUAL(ferry__tls_alpn(p.t), "");
	pair_end(&p);
}

/* Against a TLS 1.2-only server: min_version 1.3 refuses it; the TLS 1.2
 * cipher list is what is offered; PSK cipher suites work. */
static void test_layer_tls12_server(void)
{
	struct ferry_tls_options o = FERRY_TLS_OPTIONS_INIT;
	o.ca_file = certs.ca;
	o.min_version = FERRY_TLS_1_3;
	struct pair p;
	struct test_tls_server s12 = {.close_notify = true,
	                              .max_version = TLS1_2_VERSION,
	                              .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256"};
	ASSERT_RC(pair_once(&o, "localhost", &s12, &p), FERRY_ERR_TLS);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "protocol version"));
	o.min_version = FERRY_TLS_1_2;
	o.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
	ASSERT_RC(pair_once(&o, "localhost", &s12, &p), FERRY_ERR_TLS);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "handshake failure"));
	o.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
	ASSERT_RC(pair_once(&o, "localhost", &s12, &p), FERRY_OK);
	CU_ASSERT_EQUAL(p.srv.version, TLS1_2_VERSION);

	/* TLS 1.2 PSK: the server offers only PSK suites; no CA is needed. */
	struct ferry_tls_options k = FERRY_TLS_OPTIONS_INIT;
	k.psk_identity = "ferry-id";
	k.psk = psk_key;
	k.psk_len = sizeof psk_key;
	struct test_tls_server spsk = {.close_notify = true,
	                               .max_version = TLS1_2_VERSION,
	                               .ciphers = "PSK",
	                               .psk_identity = "ferry-id",
	                               .psk = psk_key,
	                               .psk_len = sizeof psk_key};
	ASSERT_RC(pair_once(&k, "localhost", &spsk, &p), FERRY_OK);
	CU_ASSERT_STRING_EQUAL(p.srv.psk_seen, "ferry-id");
	CU_ASSERT_EQUAL(p.srv.version, TLS1_2_VERSION);
	k.psk_identity = "someone-else";
	ASSERT_RC(pair_once(&k, "localhost", &spsk, &p), FERRY_ERR_TLS);
	CU_ASSERT_FALSE(p.srv.accepted);
}

/* 4 MiB through non-blocking writes arrive intact; the reply is read 10
 * bytes at a time (the rest waits inside OpenSSL: pending); close_notify
 * then reads as the end of the stream. */
static void test_layer_stream_and_close_notify(void)
{
	enum { N = 4 << 20, REPLY = 1000 };
	struct ferry_tls_options o = FERRY_TLS_OPTIONS_INIT;
	o.ca_file = certs.ca;
	struct pair p;
	const struct test_tls_server srv = {.expect = N, .reply = REPLY, .close_notify = true};
	CU_ASSERT_EQUAL_FATAL(pair_start(&p, &o, "127.0.0.1", &srv), FERRY_OK);
	ASSERT_RC(pair_handshake(&p), FERRY_OK);
	ASSERT_RC(pair_write(&p, N), FERRY_OK);
	size_t total = 0;
	bool pending = false;
	ASSERT_RC(pair_read_to_end(&p, 10, &total, &pending), FERRY_ERR_CLOSED);
	CU_ASSERT_EQUAL(total, REPLY);
	CU_ASSERT_TRUE(pending);
	pair_end(&p);
	CU_ASSERT_EQUAL(p.srv.got, N);
	CU_ASSERT_TRUE(p.srv.data_ok);
}

struct reader {
	struct pair *p;
	size_t want, total;
	int rc;
	bool data_ok;
};

/* The receive side: reads until `want` bytes came, checking the pattern. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	unsigned char buf[8192];
	char err[200];
	r->data_ok = true;
	while (r->total < r->want) {
		size_t got = 0;
		bool ww = false;
		r->rc = ferry__tls_read(r->p->t, buf, sizeof buf, &got, &ww, err, sizeof err);
		if (r->rc)
			break;
		for (size_t i = 0; i < got; i++)
			r->data_ok &= buf[i] == test_tls_pattern(r->total + i);
		r->total += got;
		if (!got && !ww && !pair_wait(r->p, false)) {
			r->rc = FERRY_ERR_TIMEOUT;
			break;
		}
	}
	return NULL;
}

/* One session used by two threads at once, as the client does: one writes
 * 4 MiB while the other reads the echo; everything arrives, in order. */
static void test_layer_two_threads(void)
{
	enum { N = 4 << 20 };
	struct ferry_tls_options o = FERRY_TLS_OPTIONS_INIT;
	o.ca_file = certs.ca;
	struct pair p;
	const struct test_tls_server srv = {.expect = N, .echo = true, .close_notify = true};
	CU_ASSERT_EQUAL_FATAL(pair_start(&p, &o, "localhost", &srv), FERRY_OK);
	CU_ASSERT_EQUAL_FATAL(pair_handshake(&p), FERRY_OK);
	struct reader r = {.p = &p, .want = N};
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, reader_main, &r), 0);
	ASSERT_RC(pair_write(&p, N), FERRY_OK);
	pthread_join(th, NULL);
	ASSERT_RC(r.rc, FERRY_OK);
	CU_ASSERT_EQUAL(r.total, N);
	CU_ASSERT_TRUE(r.data_ok);
	pair_end(&p);
	CU_ASSERT_EQUAL(p.srv.got, N);
	CU_ASSERT_TRUE(p.srv.data_ok);
}

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* EOF without close_notify also ends the stream; writing to a peer that
 * left fails with FERRY_ERR_TLS and never raises SIGPIPE. */
static void test_layer_eof_and_no_sigpipe(void)
{
	struct sigaction sa = {.sa_handler = on_sigpipe}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, &old);
	sigpipes = 0;
	struct ferry_tls_options o = FERRY_TLS_OPTIONS_INIT;
	o.ca_file = certs.ca;
	const struct test_tls_server leaves = {
	    .expect = 100}; /* reads 100 bytes, closes: no close_notify */
	struct pair p;
	CU_ASSERT_EQUAL_FATAL(pair_start(&p, &o, "localhost", &leaves), FERRY_OK);
	ASSERT_RC(pair_handshake(&p), FERRY_OK);
	ASSERT_RC(pair_write(&p, 100), FERRY_OK);
	size_t total = 0;
	bool pending = false;
	ASSERT_RC(pair_read_to_end(&p, 4096, &total, &pending), FERRY_ERR_CLOSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "closed"));
	CU_ASSERT_EQUAL(total, 0);
	pair_end(&p);

	CU_ASSERT_EQUAL_FATAL(pair_start(&p, &o, "localhost", &leaves), FERRY_OK);
	ASSERT_RC(pair_handshake(&p), FERRY_OK);
	ASSERT_RC(pair_write(&p, 100), FERRY_OK);
	test_tls_server_join(&p.srv); /* the server's end is closed now */
	size_t put = 0;
	int rc = FERRY_OK;
	for (int i = 0; i < 10 && rc == FERRY_OK; i++)
		rc = ferry__tls_write(p.t, "after", 5, &put, p.err, sizeof p.err);
	ASSERT_RC(rc, FERRY_ERR_TLS);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "Broken pipe"));
	CU_ASSERT_EQUAL(sigpipes, 0);
	pair_end(&p);
	sigaction(SIGPIPE, &old, NULL);
}

/* Options checked by ferry__tls_ctx_new, with sentences naming the file. */
static void test_layer_options(void)
{
	struct ferry_tls_ctx *ctx = NULL;
	char err[300];
	struct ferry_tls_options o = FERRY_TLS_OPTIONS_INIT;
	o.min_version = 7;
	ASSERT_RC(ferry__tls_ctx_new(&o, &ctx, err, sizeof err), FERRY_ERR_INVAL);
	o.min_version = FERRY_TLS_1_2;
	o.psk = "k";
	o.psk_len = 1;
	ASSERT_RC(ferry__tls_ctx_new(&o, &ctx, err, sizeof err), FERRY_ERR_INVAL); /* no identity */
	o.psk = NULL;
	o.psk_len = 0;
	const char *empty[] = {""};
	o.alpn = empty;
	o.alpn_count = 1;
	ASSERT_RC(ferry__tls_ctx_new(&o, &ctx, err, sizeof err), FERRY_ERR_INVAL);
	o.alpn = NULL;
	o.alpn_count = 0;
	o.struct_size = sizeof(size_t);
	ASSERT_RC(ferry__tls_ctx_new(&o, &ctx, err, sizeof err), FERRY_ERR_INVAL);
	CU_ASSERT_PTR_NULL(ctx);
	o.struct_size = sizeof o;
	o.ca_file = certs.server_key;
	ASSERT_RC(ferry__tls_ctx_new(&o, &ctx, err, sizeof err), FERRY_ERR_TLS_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "CA file"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, certs.server_key));
	o.ca_file = certs.ca;
	o.ciphersuites = "NO_SUCH_SUITE";
	ASSERT_RC(ferry__tls_ctx_new(&o, &ctx, err, sizeof err), FERRY_ERR_TLS_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "NO_SUCH_SUITE"));
	o.ciphersuites = NULL;
	o.insecure = true;
	ASSERT_RC(ferry__tls_ctx_new(&o, &ctx, err, sizeof err), FERRY_OK);
	CU_ASSERT_TRUE(ferry__tls_ctx_insecure(ctx));
	ferry__tls_ctx_free(ctx);
	ASSERT_RC(ferry__tls_ctx_new(NULL, &ctx, err, sizeof err), FERRY_OK); /* the defaults */
	CU_ASSERT_FALSE(ferry__tls_ctx_insecure(ctx));
	ferry__tls_ctx_free(ctx);
}

void register_tls_suite(void)
{
	CU_pSuite s = test_suite("tls");
	CU_set_suite_initfunc(s, suite_init);
	CU_set_suite_cleanupfunc(s, suite_clean);
	test_add(s, "layer: options and file errors", test_layer_options);
	test_add(s, "layer: SNI is the host, none for an IP, sni overrides",
	         test_layer_sni_and_names);
	test_add(s, "layer: verification failures say why", test_layer_verify_text);
	test_add(s, "layer: ALPN chosen by the server is reported", test_layer_alpn);
	test_add(s, "layer: TLS 1.2 server: minimum version, cipher lists, PSK",
	         test_layer_tls12_server);
	test_add(s, "layer: 4 MiB non-blocking, pending bytes, close_notify",
	         test_layer_stream_and_close_notify);
	test_add(s, "layer: one session, writer and reader threads at once",
	         test_layer_two_threads);
	test_add(s, "layer: EOF ends the stream; no SIGPIPE after the peer left",
	         test_layer_eof_and_no_sigpipe);
	test_add(s, "server authentication: QoS 0/1/2 round trip (CA file, CA dir)",
	         test_server_auth_round_trip);
	test_add(s, "wrong CA fails the connect and every reconnect",
	         test_wrong_ca_fails_every_reconnect);
	test_add(s, "host name and IP address mismatch", test_name_mismatch);
	test_add(s, "expired; revoked by the CRL", test_expired_and_revoked);
	test_add(s, "insecure connects and warns", test_insecure_connects_with_warning);
	test_add(s, "system CA store by default", test_system_store_by_default);
	test_add(s, "mutual TLS, encrypted key, missing client certificate", test_mutual_tls);
	test_add(s, "bad files and passphrases fail create", test_bad_files_fail_create);
	test_add(s, "TLS 1.3 minimum, ALPN, TLS 1.3 suites", test_versions_alpn_ciphers);
	test_add(s, "PSK (TLS 1.3) against mosquitto", test_psk);
}

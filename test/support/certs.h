/*
 * certs.h - certificates for the TLS tests, made at test time with the
 * `openssl` command (fork + execv, no shell) in a fresh temporary
 * directory. Keys are EC P-256, so making the whole set takes a fraction of
 * a second; make it once per suite.
 *
 *	struct test_certs certs;
 *	int rc = test_certs_make(&certs);   paths filled in on FERRY_OK
 *	... certs.ca, certs.server_cert, ...
 *	test_certs_cleanup(&certs);         always, also after a failed make
 *
 * What there is (every certificate PEM, every key PEM and unencrypted
 * unless said otherwise):
 *  - ca: the test CA ("ferry test CA"); ca_dir: a directory holding it
 *    under its hash name (openssl rehash), for ferry_tls_options.ca_dir.
 *  - other_ca: an unrelated CA that signed nothing used here.
 *  - server_cert / server_key: CN=localhost with subjectAltName
 *    DNS:localhost and IP:127.0.0.1, signed by ca, valid for ten years.
 *  - expired_cert: the same names and key, valid only in January 2020.
 *  - other_host_cert: subjectAltName DNS:other.example only (same key).
 *  - revoked_cert: the same names and key as server_cert, revoked in crl.
 *  - crl: the CA's CRL listing revoked_cert (valid for ten years).
 *  - client_cert / client_key: CN=ferry-client, for TLS client
 *    authentication, signed by ca; client_key_enc: the same key encrypted
 *    (AES-256) with TEST_CERTS_PASSPHRASE.
 *
 * Lifetime: the strings live in the struct; cleanup removes the directory
 * (kept when the environment variable TEST_CERTS_KEEP is set). A zeroed
 * struct may be cleaned up. Directories not cleaned up are removed when the
 * process exits normally (atexit), e.g. after a CUnit fatal assertion
 * skipped a test's cleanup. One struct must not be used by two threads at
 * once; distinct ones are independent.
 *
 * Errors: FERRY_OK, FERRY_ERR_STATE (a system call or an openssl command
 * failed, e.g. openssl not installed), with the reason in c->error; the
 * output of every openssl command is in openssl.log in the directory.
 */
#ifndef FERRY_TEST_CERTS_H
#define FERRY_TEST_CERTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define TEST_CERTS_PASSPHRASE "ferry test passphrase"

#define TEST_CERTS_PATH 320

struct test_certs {
	char dir[256];
	char ca[TEST_CERTS_PATH];
	char ca_dir[TEST_CERTS_PATH];
	char other_ca[TEST_CERTS_PATH];
	char server_cert[TEST_CERTS_PATH];
	char server_key[TEST_CERTS_PATH];
	char expired_cert[TEST_CERTS_PATH];
	char other_host_cert[TEST_CERTS_PATH];
	char revoked_cert[TEST_CERTS_PATH];
	char crl[TEST_CERTS_PATH];
	char client_cert[TEST_CERTS_PATH];
	char client_key[TEST_CERTS_PATH];
	char client_key_enc[TEST_CERTS_PATH];
	char error[512]; /* "" when none */
};

/* test_certs_make - make every file above; c: any memory (it is initialised). */
int test_certs_make(struct test_certs *c);

/* test_certs_cleanup - remove the directory and everything in it. Idempotent. */
void test_certs_cleanup(struct test_certs *c);

/*
 * A TLS server for tests of the TLS layer itself: a thread running a
 * blocking OpenSSL server (server_cert / server_key of a struct test_certs)
 * on a socket it owns, typically one end of a socketpair. It takes one
 * handshake, notes what the client did (SNI, the ALPN protocol it chose -
 * "mqtt" when offered -, the version, the PSK identity), reads `expect`
 * bytes checking that byte i is test_tls_pattern(i) (and with `echo`
 * writes each piece back as it comes), writes `reply` such bytes (at most
 * 16 KiB), then sends close_notify (or not) and closes the socket. SIGPIPE
 * is blocked on its thread.
 *
 *	struct test_tls_server s = {.expect = 100, .close_notify = true};
 *	test_tls_server_start(&s, &certs, fd);   fd is the server's from now on
 *	... drive the client end ...
 *	test_tls_server_join(&s);                then read the results
 */
struct test_tls_server {
	/* settings (zero: the default) */
	size_t expect, reply;
	bool echo; /* write back what it reads, as it reads it */
	bool close_notify;
	int max_version;          /* e.g. TLS1_2_VERSION; 0: OpenSSL's */
	const char *ciphers;      /* TLS 1.2 cipher list, NULL: OpenSSL's */
	const char *psk_identity; /* accept this identity with psk (PSK cipher suites) */
	const void *psk;
	size_t psk_len;
	/* results, valid once joined */
	bool accepted, data_ok;
	size_t got;
	int version; /* the negotiated version, e.g. TLS1_3_VERSION */
	char sni[256];
	char alpn[32];
	char psk_seen[64];
	/* private */
	int fd;
	void *ctx;
	pthread_t th;
	bool running;
};

/* Byte i of what the test server expects and replies. */
unsigned char test_tls_pattern(size_t i);

/*
 * test_tls_server_start - start the thread on fd (closed by the server in
 * every case, also when the start fails). FERRY_OK, FERRY_ERR_STATE (with
 * nothing running).
 */
int test_tls_server_start(struct test_tls_server *s, const struct test_certs *c, int fd);

/* test_tls_server_join - wait until the server is done (idempotent; a
 * server waiting for data ends when the client's end is closed). */
void test_tls_server_join(struct test_tls_server *s);

#endif

/*
 * tls.c - the TLS layer over OpenSSL 1.1.1 or later (see tls.h).
 *
 * Context (ferry__tls_ctx_new, one per client, read-only afterwards): an
 * SSL_CTX for TLS clients with
 *   - the minimum version (TLS 1.2 or 1.3), no renegotiation, no compression;
 *   - trust: ca_file and/or ca_dir, else the system's default store
 *     (SSL_CERT_FILE / SSL_CERT_DIR or OpenSSL's built-in paths); a CRL file
 *     turns on CRL checks of the whole chain (CRL_CHECK | CRL_CHECK_ALL);
 *   - verification mode SSL_VERIFY_PEER, or SSL_VERIFY_NONE when insecure;
 *   - the client certificate chain and key (an encrypted key is decrypted
 *     with key_passphrase; without one OpenSSL is never allowed to prompt on
 *     the terminal, the load fails instead);
 *   - TLS 1.2 cipher list, TLS 1.3 suites, ALPN protocols;
 *   - PSK: the TLS 1.2 callback (PSK cipher suites, the server's identity
 *     hint is ignored) and the TLS 1.3 callback (an external PSK with the
 *     SHA-256 suites, offered in the ClientHello).
 * Every file is read and checked here, so a bad file fails the client's
 * create, with the file named in err.
 *
 * Session (ferry__tls_new, one per connection): an SSL on a socket BIO of
 * our own (below), with SNI and the name check set up for this host, so
 * every reconnect verifies the server again (no session resumption).
 *
 * SIGPIPE: OpenSSL's own socket BIO writes with write(2), which raises
 * SIGPIPE when the peer has gone; ferry never changes the process's signal
 * dispositions. So sessions use a BIO whose writes are
 * send(..., MSG_NOSIGNAL) and whose reads are recv(2), like tcp.c.
 *
 * Locking: each session has a mutex held around every OpenSSL call on it
 * (and the BIO callbacks and the verify callback run inside those calls).
 * OpenSSL's error queue is per thread: it is cleared before each call and
 * read, then cleared again, before the lock is released.
 *
 * Outcomes of a call (ssl_result): SSL_ERROR_WANT_READ / WANT_WRITE are
 * FERRY__AGAIN (a read or write reports 0 bytes); ZERO_RETURN (close_notify)
 * and an EOF without it (OpenSSL 1.1.1: SYSCALL with nothing queued;
 * OpenSSL 3: "unexpected eof while reading") are FERRY_ERR_CLOSED; a failed
 * verification is FERRY_ERR_TLS_VERIFY with X509_verify_cert_error_string's
 * reason and the certificate; anything else is FERRY_ERR_TLS with errno's
 * or OpenSSL's reason. A write's failures are all FERRY_ERR_TLS (tls.h);
 * after a write failed on a reset, an alert the server left in the socket
 * is reported instead (server_alert).
 *
 * Writes: when ferry__tls_write reports 0 bytes, OpenSSL may already hold
 * an encrypted record of the data; the next call must start with the same
 * bytes (at least as many), which is what a caller that keeps its unsent
 * bytes does anyway (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets the buffer move).
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "again.h"
#include "ferry/error.h"

#define HOST_MAX         255 /* a DNS name; longer is not a valid host */
#define PSK_IDENTITY_MAX 128 /* OpenSSL's PSK_MAX_IDENTITY_LEN */
#define PSK_KEY_MAX      256 /* OpenSSL's PSK_MAX_PSK_LEN is 256 (1.1.1) / 512 (3.0) */

struct ferry_tls_ctx {
	SSL_CTX *ssl;
	bool insecure;
	char *sni;          /* NULL: the session's host, unless an IP literal */
	char *psk_identity; /* NULL: no PSK */
	unsigned char *psk;
	size_t psk_len;
	const char *passphrase; /* only while the key is loaded */
	bool passphrase_asked;  /* the key file turned out to be encrypted */
};

struct ferry_tls {
	pthread_mutex_t mu; /* held around every OpenSSL call on ssl */
	SSL *ssl;           /* [mu] */
	struct ferry_tls_ctx *ctx;
	int fd;
	bool eof;           /* [mu] recv returned 0 */
	int sys_errno;      /* [mu] errno of the last failed send/recv, 0 if none */
	char *host;         /* NUL-terminated, without brackets */
	char bad_cert[160]; /* [mu] the first certificate that failed verification */
	char alpn[256];     /* the negotiated protocol, set by the handshake */
};

/* --- sentences --------------------------------------------------------------------- */

static int say(char *err, size_t errcap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(char *err, size_t errcap, int rc, const char *fmt, ...)
{
	if (err && errcap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* OpenSSL's reason for the oldest error of this thread's queue (the root
 * cause), or `none` when the queue is empty; the queue is cleared. */
static void ssl_reason(char *buf, size_t cap, const char *none)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	if (!e)
		snprintf(buf, cap, "%s", none);
	else if (r)
		snprintf(buf, cap, "%s", r);
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
}

/* err = "<what>: <OpenSSL's reason>"; returns rc. */
static int ssl_fail(char *err, size_t errcap, int rc, const char *what)
{
	char why[160];
	ssl_reason(why, sizeof why, "unknown OpenSSL error");
	return say(err, errcap, rc, "%s: %s", what, why);
}

/* --- the socket BIO (send with MSG_NOSIGNAL, recv) ------------------------------------ */

static int bio_write(BIO *b, const char *buf, int len)
{
	struct ferry_tls *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	for (;;) {
		ssize_t n = send(t->fd, buf, (size_t)len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_write(b);
		else
			t->sys_errno = errno;
		return -1;
	}
}

static int bio_read(BIO *b, char *buf, int len)
{
	struct ferry_tls *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	for (;;) {
		ssize_t n = recv(t->fd, buf, (size_t)len, 0);
		if (n > 0)
			return (int)n;
		if (n == 0) {
			t->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		else
			t->sys_errno = errno;
		return -1;
	}
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num;
	(void)ptr;
	struct ferry_tls *t = BIO_get_data(b);
	switch (cmd) {
	case BIO_CTRL_FLUSH: /* nothing is buffered here */
		return 1;
	case BIO_CTRL_EOF: /* OpenSSL 3 tells an unexpected EOF from an error by it */
		return t && t->eof;
	default:
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 0);
	return 1;
}

/* The method is made once per process and never changes nor is freed: BIO
 * type indexes are a small process-wide pool, so not one per context. */
static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void bio_method_init(void)
{
	int idx = BIO_get_new_index();
	BIO_METHOD *m = BIO_meth_new((idx > 0 ? idx : 0) | BIO_TYPE_SOURCE_SINK, "ferry socket");
	if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
	    BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create)) {
		bio_method = m;
		return;
	}
	BIO_meth_free(m);
}

/* --- callbacks --------------------------------------------------------------------- */

/* Notes the first certificate that failed, for the error sentence. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	if (ok)
		return ok;
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct ferry_tls *t = ssl ? SSL_get_app_data(ssl) : NULL;
	if (t && !t->bad_cert[0]) {
		char name[120] = "?";
		X509 *cert = X509_STORE_CTX_get_current_cert(x);
		if (cert)
			X509_NAME_oneline(X509_get_subject_name(cert), name, (int)sizeof name);
		snprintf(t->bad_cert, sizeof t->bad_cert, "depth %d: %s",
		         X509_STORE_CTX_get_error_depth(x), name);
	}
	return ok;
}

/* Passphrase of an encrypted key: never a prompt; fails without one. */
static int passphrase_cb(char *buf, int size, int rwflag, void *user)
{
	(void)rwflag;
	struct ferry_tls_ctx *c = user;
	c->passphrase_asked = true;
	if (!c->passphrase || size <= 0)
		return -1;
	size_t n = strlen(c->passphrase);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, c->passphrase, n);
	return (int)n;
}

/* TLS 1.2 and older: identity and key for the PSK cipher suites. */
static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity,
                                  unsigned int max_identity_len, unsigned char *psk,
                                  unsigned int max_psk_len)
{
	(void)hint;
	const struct ferry_tls_ctx *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	size_t n = strlen(c->psk_identity);
	if (n >= max_identity_len || c->psk_len > max_psk_len)
		return 0;
	memcpy(identity, c->psk_identity, n + 1);
	memcpy(psk, c->psk, c->psk_len);
	return (unsigned int)c->psk_len;
}

/* TLS 1.3: an external PSK bound to SHA-256 (TLS_AES_128_GCM_SHA256 and
 * TLS_CHACHA20_POLY1305_SHA256). Asked again with md set after a
 * HelloRetryRequest: then offered only if that digest is SHA-256. */
static int psk_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                          SSL_SESSION **sess)
{
	const struct ferry_tls_ctx *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const unsigned char suite[2] = {0x13, 0x01};
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, suite);
	*sess = NULL;
	if (!cipher || (md && md != SSL_CIPHER_get_handshake_digest(cipher)))
		return 1; /* no PSK offered; the handshake goes on with certificates */
	SSL_SESSION *s = SSL_SESSION_new();
	if (!s || !SSL_SESSION_set1_master_key(s, c->psk, c->psk_len) ||
	    !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return 0;
	}
	*sess = s;
	*id = (const unsigned char *)c->psk_identity;
	*idlen = strlen(c->psk_identity);
	return 1;
}

/* --- the context ------------------------------------------------------------------- */

static int check_options(const struct ferry_tls_options *o)
{
	if (o->struct_size < sizeof *o ||
	    (o->min_version != FERRY_TLS_1_2 && o->min_version != FERRY_TLS_1_3) ||
	    (o->key_file && !o->cert_file) || (o->alpn_count && !o->alpn) ||
	    (o->sni && (!o->sni[0] || strlen(o->sni) > HOST_MAX)))
		return FERRY_ERR_INVAL;
	if (o->psk || o->psk_identity) {
		if (!o->psk || !o->psk_identity || !o->psk_identity[0] || o->psk_len == 0 ||
		    o->psk_len > PSK_KEY_MAX || strlen(o->psk_identity) >= PSK_IDENTITY_MAX)
			return FERRY_ERR_INVAL;
	}
	size_t total = 0;
	for (size_t i = 0; i < o->alpn_count; i++) {
		size_t n = o->alpn[i] ? strlen(o->alpn[i]) : 0;
		if (n == 0 || n > 255)
			return FERRY_ERR_INVAL;
		total += n + 1;
	}
	return total > 65535 ? FERRY_ERR_INVAL : FERRY_OK;
}

/* A readable regular file (what = "CA file", ...), else FERRY_ERR_TLS_CONFIG. */
static int check_file(const char *path, const char *what, char *err, size_t errcap)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return say(err, errcap, FERRY_ERR_TLS_CONFIG, "%s %s: %s", what, path,
		           strerror(errno));
	if (S_ISDIR(st.st_mode))
		return say(err, errcap, FERRY_ERR_TLS_CONFIG, "%s %s: is a directory", what, path);
	FILE *f = fopen(path, "re");
	if (!f)
		return say(err, errcap, FERRY_ERR_TLS_CONFIG, "%s %s: %s", what, path,
		           strerror(errno));
	fclose(f);
	return FERRY_OK;
}

static int ctx_base(struct ferry_tls_ctx *c, const struct ferry_tls_options *o, char *err,
                    size_t errcap)
{
	c->ssl = SSL_CTX_new(TLS_client_method());
	if (!c->ssl)
		return ssl_fail(err, errcap, FERRY_ERR_NOMEM, "cannot create a TLS context");
	SSL_CTX_set_app_data(c->ssl, c);
	int v = o->min_version == FERRY_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
	if (SSL_CTX_set_min_proto_version(c->ssl, v) != 1)
		return ssl_fail(err, errcap, FERRY_ERR_TLS_CONFIG,
		                "cannot set the minimum TLS version");
	SSL_CTX_set_options(c->ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(c->ssl,
	                 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
	c->insecure = o->insecure;
	SSL_CTX_set_verify(c->ssl, o->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_default_passwd_cb(c->ssl, passphrase_cb);
	SSL_CTX_set_default_passwd_cb_userdata(c->ssl, c);
	if (o->sni && !(c->sni = strdup(o->sni)))
		return say(err, errcap, FERRY_ERR_NOMEM, "out of memory");
	return FERRY_OK;
}

static int load_crl(struct ferry_tls_ctx *c, const char *path, char *err, size_t errcap)
{
	char what[300];
	snprintf(what, sizeof what, "CRL file %s", path);
	int rc = check_file(path, "CRL file", err, errcap);
	if (rc)
		return rc;
	X509_STORE *st = SSL_CTX_get_cert_store(c->ssl);
	X509_LOOKUP *lk = X509_STORE_add_lookup(st, X509_LOOKUP_file());
	if (!lk)
		return ssl_fail(err, errcap, FERRY_ERR_NOMEM, what);
	if (X509_load_crl_file(lk, path, X509_FILETYPE_PEM) < 1) {
		char why[160];
		ssl_reason(why, sizeof why, "no CRL found");
		return say(err, errcap, FERRY_ERR_TLS_CONFIG, "%s: %s", what, why);
	}
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	return FERRY_OK;
}

static int ctx_trust(struct ferry_tls_ctx *c, const struct ferry_tls_options *o, char *err,
                     size_t errcap)
{
	char what[300];
	int rc;
	if (o->ca_file) {
		if ((rc = check_file(o->ca_file, "CA file", err, errcap)) != 0)
			return rc;
		snprintf(what, sizeof what, "CA file %s", o->ca_file);
		if (SSL_CTX_load_verify_locations(c->ssl, o->ca_file, NULL) != 1)
			return ssl_fail(err, errcap, FERRY_ERR_TLS_CONFIG, what);
	}
	if (o->ca_dir) {
		struct stat st;
		if (stat(o->ca_dir, &st) != 0)
			return say(err, errcap, FERRY_ERR_TLS_CONFIG, "CA directory %s: %s",
			           o->ca_dir, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return say(err, errcap, FERRY_ERR_TLS_CONFIG,
			           "CA directory %s: not a directory", o->ca_dir);
		snprintf(what, sizeof what, "CA directory %s", o->ca_dir);
		if (SSL_CTX_load_verify_locations(c->ssl, NULL, o->ca_dir) != 1)
			return ssl_fail(err, errcap, FERRY_ERR_TLS_CONFIG, what);
	}
	if (!o->ca_file && !o->ca_dir && SSL_CTX_set_default_verify_paths(c->ssl) != 1)
		return ssl_fail(err, errcap, FERRY_ERR_TLS_CONFIG, "the system's CA store");
	return o->crl_file ? load_crl(c, o->crl_file, err, errcap) : FERRY_OK;
}

/* Whether the oldest queued error says a key does not belong to its certificate. */
static bool key_mismatch(void)
{
	unsigned long e = ERR_peek_error();
	return ERR_GET_LIB(e) == ERR_LIB_X509 && (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
	                                          ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
}

static int ctx_identity(struct ferry_tls_ctx *c, const struct ferry_tls_options *o, char *err,
                        size_t errcap)
{
	char what[300];
	if (!o->cert_file)
		return FERRY_OK;
	int rc = check_file(o->cert_file, "certificate file", err, errcap);
	if (rc)
		return rc;
	snprintf(what, sizeof what, "certificate file %s", o->cert_file);
	if (SSL_CTX_use_certificate_chain_file(c->ssl, o->cert_file) != 1)
		return ssl_fail(err, errcap, FERRY_ERR_TLS_CONFIG, what);
	const char *key = o->key_file ? o->key_file : o->cert_file;
	if ((rc = check_file(key, "key file", err, errcap)) != 0)
		return rc;
	c->passphrase = o->key_passphrase;
	c->passphrase_asked = false;
	int ok = SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM);
	c->passphrase = NULL;
	if (ok != 1 && c->passphrase_asked && !o->key_passphrase) {
		ERR_clear_error();
		return say(err, errcap, FERRY_ERR_TLS_CONFIG,
		           "key file %s is encrypted and no key_passphrase was given", key);
	}
	if (ok != 1 && c->passphrase_asked) {
		snprintf(what, sizeof what, "key file %s: cannot decrypt it (wrong passphrase?)",
		         key);
		return ssl_fail(err, errcap, FERRY_ERR_TLS_CONFIG, what);
	}
	snprintf(what, sizeof what, "key file %s", key);
	if (ok != 1 && !key_mismatch())
		return ssl_fail(err, errcap, FERRY_ERR_TLS_CONFIG, what);
	if (ok != 1 || SSL_CTX_check_private_key(c->ssl) != 1) {
		ERR_clear_error();
		return say(err, errcap, FERRY_ERR_TLS_CONFIG,
		           "key file %s does not match the certificate in %s", key, o->cert_file);
	}
	return FERRY_OK;
}

static int ctx_algorithms(struct ferry_tls_ctx *c, const struct ferry_tls_options *o, char *err,
                          size_t errcap)
{
	char what[300];
	if (o->ciphers && SSL_CTX_set_cipher_list(c->ssl, o->ciphers) != 1) {
		snprintf(what, sizeof what, "TLS 1.2 cipher list \"%s\"", o->ciphers);
		return ssl_fail(err, errcap, FERRY_ERR_TLS_CONFIG, what);
	}
	if (o->ciphersuites && SSL_CTX_set_ciphersuites(c->ssl, o->ciphersuites) != 1) {
		snprintf(what, sizeof what, "TLS 1.3 cipher suites \"%s\"", o->ciphersuites);
		return ssl_fail(err, errcap, FERRY_ERR_TLS_CONFIG, what);
	}
	if (o->alpn_count) {
		size_t total = 0;
		for (size_t i = 0; i < o->alpn_count; i++)
			total += strlen(o->alpn[i]) + 1;
		unsigned char *wire = malloc(total);
		if (!wire)
			return say(err, errcap, FERRY_ERR_NOMEM, "out of memory");
		size_t at = 0;
		for (size_t i = 0; i < o->alpn_count; i++) {
			size_t n = strlen(o->alpn[i]);
			wire[at++] = (unsigned char)n;
			memcpy(wire + at, o->alpn[i], n);
			at += n;
		}
		int r =
		    SSL_CTX_set_alpn_protos(c->ssl, wire, (unsigned int)total); /* 0 is success */
		free(wire);
		if (r != 0)
			return ssl_fail(err, errcap, FERRY_ERR_NOMEM,
			                "cannot set the ALPN protocols");
	}
	return FERRY_OK;
}

static int ctx_psk(struct ferry_tls_ctx *c, const struct ferry_tls_options *o, char *err,
                   size_t errcap)
{
	if (!o->psk_identity)
		return FERRY_OK;
	c->psk_identity = strdup(o->psk_identity);
	c->psk = malloc(o->psk_len);
	if (!c->psk_identity || !c->psk)
		return say(err, errcap, FERRY_ERR_NOMEM, "out of memory");
	memcpy(c->psk, o->psk, o->psk_len);
	c->psk_len = o->psk_len;
	SSL_CTX_set_psk_client_callback(c->ssl, psk_client_cb);
	SSL_CTX_set_psk_use_session_callback(c->ssl, psk_session_cb);
	return FERRY_OK;
}

int ferry__tls_ctx_new(const struct ferry_tls_options *o, struct ferry_tls_ctx **out, char *err,
                       size_t errcap)
{
	const struct ferry_tls_options defaults = FERRY_TLS_OPTIONS_INIT;
	if (!out)
		return say(err, errcap, FERRY_ERR_INVAL, "no place for the TLS context");
	*out = NULL;
	if (!o)
		o = &defaults;
	if (check_options(o))
		return say(err, errcap, FERRY_ERR_INVAL, "invalid TLS options");
	pthread_once(&bio_once, bio_method_init);
	if (!bio_method)
		return say(err, errcap, FERRY_ERR_NOMEM, "cannot create the TLS socket method");
	struct ferry_tls_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return say(err, errcap, FERRY_ERR_NOMEM, "out of memory");
	ERR_clear_error();
	int rc = ctx_base(c, o, err, errcap);
	if (!rc)
		rc = ctx_trust(c, o, err, errcap);
	if (!rc)
		rc = ctx_identity(c, o, err, errcap);
	if (!rc)
		rc = ctx_algorithms(c, o, err, errcap);
	if (!rc)
		rc = ctx_psk(c, o, err, errcap);
	ERR_clear_error();
	if (rc) {
		ferry__tls_ctx_free(c);
		return rc;
	}
	*out = c;
	return FERRY_OK;
}

void ferry__tls_ctx_free(struct ferry_tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl);
	if (ctx->psk)
		OPENSSL_cleanse(ctx->psk, ctx->psk_len);
	free(ctx->psk);
	free(ctx->psk_identity);
	free(ctx->sni);
	free(ctx);
}

bool ferry__tls_ctx_insecure(const struct ferry_tls_ctx *ctx)
{
	return ctx && ctx->insecure;
}

/* --- sessions ---------------------------------------------------------------------- */

static bool is_ip_literal(const char *host)
{
	struct in6_addr a;
	return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

/* SNI and the name the certificate must carry. */
static int session_names(struct ferry_tls *t, char *err, size_t errcap)
{
	bool ip = is_ip_literal(t->host);
	const char *sni = t->ctx->sni ? t->ctx->sni : ip ? NULL : t->host;
	if (sni && SSL_set_tlsext_host_name(t->ssl, sni) != 1)
		return ssl_fail(err, errcap, FERRY_ERR_TLS, "cannot send the server name");
	if (t->ctx->insecure)
		return FERRY_OK;
	if (ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), t->host) != 1)
			return ssl_fail(err, errcap, FERRY_ERR_TLS,
			                "cannot check the server's address");
		return FERRY_OK;
	}
	SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(t->ssl, t->host) != 1)
		return ssl_fail(err, errcap, FERRY_ERR_TLS, "cannot check the server's name");
	return FERRY_OK;
}

int ferry__tls_new(struct ferry_tls_ctx *ctx, int fd, const char *host, size_t host_len,
                   struct ferry_tls **out, char *err, size_t errcap)
{
	if (!ctx || !out || fd < 0 || !host)
		return say(err, errcap, FERRY_ERR_INVAL, "invalid TLS session arguments");
	*out = NULL;
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		host++;
		host_len -= 2;
	}
	if (host_len == 0 || host_len > HOST_MAX || memchr(host, 0, host_len))
		return say(err, errcap, FERRY_ERR_TLS, "invalid host name for TLS");
	struct ferry_tls *t = calloc(1, sizeof *t);
	if (!t || !(t->host = strndup(host, host_len))) {
		free(t);
		return say(err, errcap, FERRY_ERR_NOMEM, "out of memory");
	}
	t->ctx = ctx;
	t->fd = fd;
	pthread_mutex_init(&t->mu, NULL);
	ERR_clear_error();
	int rc = FERRY_OK;
	BIO *bio = NULL;
	t->ssl = SSL_new(ctx->ssl);
	if (t->ssl)
		bio = BIO_new(bio_method);
	if (!t->ssl || !bio) {
		rc = ssl_fail(err, errcap, FERRY_ERR_NOMEM, "cannot create a TLS session");
		goto out;
	}
	BIO_set_data(bio, t);
	BIO_set_init(bio, 1);
	SSL_set_bio(t->ssl, bio, bio); /* one reference, now the SSL's */
	SSL_set_app_data(t->ssl, t);
	SSL_set_connect_state(t->ssl);
	rc = session_names(t, err, errcap);
out:
	ERR_clear_error();
	if (rc) {
		ferry__tls_free(t);
		return rc;
	}
	*out = t;
	return FERRY_OK;
}

/* A verification failure: OpenSSL's reason and the certificate. */
static int verify_failed(struct ferry_tls *t, long v, char *err, size_t errcap)
{
	ERR_clear_error();
	const char *why = X509_verify_cert_error_string(v);
	if (t->bad_cert[0])
		return say(err, errcap, FERRY_ERR_TLS_VERIFY,
		           "certificate verify failed: %s (%s; server %s)", why, t->bad_cert,
		           t->host);
	return say(err, errcap, FERRY_ERR_TLS_VERIFY, "certificate verify failed: %s (server %s)",
	           why, t->host);
}

/* Whether the oldest queued error is OpenSSL 3's "EOF without close_notify". */
static bool unexpected_eof(void)
{
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
	unsigned long e = ERR_peek_error();
	return ERR_GET_LIB(e) == ERR_LIB_SSL &&
	       ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#else
	return false;
#endif
}

/*
 * The outcome of a failed SSL call r (under the lock): FERRY__AGAIN with
 * *want_write, FERRY_ERR_CLOSED, FERRY_ERR_TLS_VERIFY or FERRY_ERR_TLS.
 * what: "handshake", "read", "write" (the caller names the layer: "TLS: ...").
 */
static int ssl_result(struct ferry_tls *t, int r, const char *what, bool *want_write, char *err,
                      size_t errcap)
{
	int e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want_write = e == SSL_ERROR_WANT_WRITE;
		ERR_clear_error();
		return FERRY__AGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		return say(err, errcap, FERRY_ERR_CLOSED, "the server closed the TLS session");
	}
	long v = SSL_get_verify_result(t->ssl);
	if (e == SSL_ERROR_SSL && v != X509_V_OK && !t->ctx->insecure)
		return verify_failed(t, v, err, errcap);
	if (e == SSL_ERROR_SYSCALL && t->sys_errno) {
		ERR_clear_error();
		return say(err, errcap, FERRY_ERR_TLS, "%s failed: %s", what,
		           strerror(t->sys_errno));
	}
	if ((e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) || unexpected_eof()) {
		ERR_clear_error();
		return say(err, errcap, FERRY_ERR_CLOSED, "the server closed the connection%s",
		           SSL_is_init_finished(t->ssl) ? "" : " during the TLS handshake");
	}
	char head[64];
	snprintf(head, sizeof head, "%s failed", what);
	return ssl_fail(err, errcap, FERRY_ERR_TLS, head);
}

int ferry__tls_handshake(struct ferry_tls *t, bool *want_write, char *err, size_t errcap)
{
	*want_write = false;
	pthread_mutex_lock(&t->mu);
	ERR_clear_error();
	t->sys_errno = 0;
	int r = SSL_do_handshake(t->ssl);
	int rc = FERRY_OK;
	if (r == 1) {
		const unsigned char *p = NULL;
		unsigned int n = 0;
		SSL_get0_alpn_selected(t->ssl, &p, &n);
		if (p && n < sizeof t->alpn)
			memcpy(t->alpn, p, n);
		t->alpn[p && n < sizeof t->alpn ? n : 0] = 0;
	} else {
		rc = ssl_result(t, r, "handshake", want_write, err, errcap);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int ferry__tls_read(struct ferry_tls *t, void *buf, size_t len, size_t *got, bool *want_write,
                    char *err, size_t errcap)
{
	*got = 0;
	*want_write = false;
	if (len == 0)
		return FERRY_OK;
	pthread_mutex_lock(&t->mu);
	ERR_clear_error();
	t->sys_errno = 0;
	size_t n = 0;
	int rc = FERRY_OK;
	if (SSL_read_ex(t->ssl, buf, len, &n) == 1)
		*got = n;
	else
		rc = ssl_result(t, 0, "read", want_write, err, errcap);
	pthread_mutex_unlock(&t->mu);
	return rc == FERRY__AGAIN ? FERRY_OK : rc;
}

/*
 * After a write failed with a socket error (the server reset the
 * connection): an alert the server sent before it left is still readable,
 * and says more (e.g. "tlsv13 alert certificate required": with TLS 1.3 a
 * server refuses a client certificate only after the client's handshake
 * is over). If there is one, err says it instead. Under the lock.
 */
static void server_alert(struct ferry_tls *t, char *err, size_t errcap)
{
	unsigned char byte;
	size_t n = 0;
	ERR_clear_error();
	if (SSL_peek_ex(t->ssl, &byte, 1, &n) != 1 && SSL_get_error(t->ssl, 0) == SSL_ERROR_SSL) {
		unsigned long e =
		    ERR_peek_error(); /* alerts are reasons from SSL_AD_REASON_OFFSET */
		if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET)
			ssl_fail(err, errcap, FERRY_ERR_TLS, "write failed");
	}
	ERR_clear_error();
}

int ferry__tls_write(struct ferry_tls *t, const void *buf, size_t len, size_t *put, char *err,
                     size_t errcap)
{
	*put = 0;
	if (len == 0)
		return FERRY_OK;
	pthread_mutex_lock(&t->mu);
	ERR_clear_error();
	t->sys_errno = 0;
	size_t n = 0;
	bool want_write = false;
	int rc = FERRY_OK;
	if (SSL_write_ex(t->ssl, buf, len, &n) == 1)
		*put = n;
	else if ((rc = ssl_result(t, 0, "write", &want_write, err, errcap)) < 0 && t->sys_errno)
		server_alert(t, err, errcap);
	pthread_mutex_unlock(&t->mu);
	if (rc == FERRY__AGAIN)
		return FERRY_OK; /* 0 bytes: wait until writable (no renegotiation, so never a read)
		                  */
	return rc ? FERRY_ERR_TLS : FERRY_OK; /* a write's failures are all FERRY_ERR_TLS (tls.h) */
}

bool ferry__tls_pending(struct ferry_tls *t)
{
	pthread_mutex_lock(&t->mu);
	bool p = SSL_pending(t->ssl) > 0;
	pthread_mutex_unlock(&t->mu);
	return p;
}

const char *ferry__tls_alpn(struct ferry_tls *t)
{
	return t->alpn;
}

void ferry__tls_free(struct ferry_tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl); /* and its BIO */
	pthread_mutex_destroy(&t->mu);
	free(t->host);
	free(t);
}

/*
 * certs.c - test certificates made with the openssl command (see certs.h).
 *
 * One openssl.cnf in the directory serves every step: `openssl req` makes
 * the CAs and the requests, `openssl ca` signs (it alone can set a validity
 * in the past, and keeps the database a CRL is made from). The commands run
 * with fork + execv, stdin from /dev/null and their output appended to
 * openssl.log.
 *
 * The test TLS server (struct test_tls_server) is plain blocking OpenSSL on
 * a thread of its own.
 */
#include "certs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "ferry/error.h"

static int set_err(struct test_certs *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int set_err(struct test_certs *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof c->error, fmt, ap);
	va_end(ap);
	return FERRY_ERR_STATE;
}

/* dir/name into out (TEST_CERTS_PATH bytes). */
static void path_of(const struct test_certs *c, const char *name, char *out)
{
	snprintf(out, TEST_CERTS_PATH, "%s/%s", c->dir, name);
}

static int write_text(struct test_certs *c, const char *name, const char *text)
{
	char path[TEST_CERTS_PATH];
	path_of(c, name, path);
	FILE *f = fopen(path, "we");
	if (!f)
		return set_err(c, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		return set_err(c, "cannot write %s: %s", path, strerror(errno));
	return FERRY_OK;
}

/* The openssl program found on PATH (searched before fork: the child of a
 * threaded process should only call async-signal-safe functions). */
static bool find_openssl(char *out, size_t cap)
{
	const char *path = getenv("PATH");
	char dirs[1024];
	snprintf(dirs, sizeof dirs, "%s", path && *path ? path : "/usr/bin:/bin");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, cap, "%s/openssl", d);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* The child: stdin /dev/null, stdout and stderr to the log, then openssl. */
static void child(const char *prog, const char *log, char *const argv[])
{
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	execv(prog, argv);
	_exit(127);
}

/* Runs `openssl ARGS...` (NULL-terminated) in the directory; FERRY_OK if it exits 0. */
static int run(struct test_certs *c, ...)
{
	const char *argv[40];
	int n = 0;
	argv[n++] = "openssl";
	va_list ap;
	va_start(ap, c);
	while (n < 39 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	char log[TEST_CERTS_PATH], prog[300];
	path_of(c, "openssl.log", log);
	if (!find_openssl(prog, sizeof prog))
		return set_err(c, "no openssl program on PATH (Debian package: openssl)");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return set_err(c, "fork: %s", strerror(errno));
	if (pid == 0)
		child(prog, log, (char *const *)argv);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return set_err(c, "waitpid: %s", strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return FERRY_OK;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return set_err(c, "cannot run %s", prog);
	return set_err(c, "openssl %s failed (status %d); see %s", argv[1], st, log);
}

static int write_config(struct test_certs *c)
{
	char text[3000];
	const char *d = c->dir;
	snprintf(
	    text, sizeof text,
	    "[ ca ]\ndefault_ca = test_ca\n\n"
	    "[ test_ca ]\ndatabase = %s/index.txt\nnew_certs_dir = %s/newcerts\n"
	    "serial = %s/serial\ncrlnumber = %s/crlnumber\ncertificate = %s/ca.pem\n"
	    "private_key = %s/ca.key\ndefault_md = sha256\ndefault_days = 3650\n"
	    "default_crl_days = 3650\npolicy = test_policy\nunique_subject = no\n"
	    "copy_extensions = none\n\n"
	    "[ test_policy ]\ncommonName = supplied\n\n"
	    "[ req ]\ndistinguished_name = req_dn\nprompt = no\n\n"
	    "[ req_dn ]\nCN = unused\n\n"
	    "[ ext_ca ]\nbasicConstraints = critical, CA:TRUE\n"
	    "keyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n\n"
	    "[ ext_server ]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
	    "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n\n"
	    "[ ext_other ]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
	    "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:other.example\n\n"
	    "[ ext_client ]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n"
	    "extendedKeyUsage = clientAuth\n",
	    d, d, d, d, d, d);
	int rc = write_text(c, "openssl.cnf", text);
	if (!rc)
		rc = write_text(c, "index.txt", "");
	if (!rc)
		rc = write_text(c, "serial", "1000\n");
	if (!rc)
		rc = write_text(c, "crlnumber", "1000\n");
	return rc;
}

static int make_dirs(struct test_certs *c)
{
	snprintf(c->dir, sizeof c->dir, "/tmp/ferry-certs-XXXXXX");
	if (!mkdtemp(c->dir)) {
		c->dir[0] = 0;
		return set_err(c, "mkdtemp: %s", strerror(errno));
	}
	char p[TEST_CERTS_PATH];
	path_of(c, "newcerts", p);
	if (mkdir(p, 0700) != 0)
		return set_err(c, "mkdir %s: %s", p, strerror(errno));
	path_of(c, "cadir", c->ca_dir);
	if (mkdir(c->ca_dir, 0700) != 0)
		return set_err(c, "mkdir %s: %s", c->ca_dir, strerror(errno));
	return FERRY_OK;
}

static int new_key(struct test_certs *c, const char *path)
{
	return run(c, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
	           path, (char *)NULL);
}

/* A self-signed CA certificate for key at out. */
static int new_ca(struct test_certs *c, const char *key, const char *subject, const char *out)
{
	char cnf[TEST_CERTS_PATH];
	path_of(c, "openssl.cnf", cnf);
	return run(c, "req", "-x509", "-new", "-sha256", "-key", key, "-subj", subject, "-days",
	           "3650", "-config", cnf, "-extensions", "ext_ca", "-out", out, (char *)NULL);
}

/* A request for key with subject, signed by the CA with the extensions
 * section ext; from/to: validity ("YYYYMMDDHHMMSSZ"), NULL for ten years. */
static int issue(struct test_certs *c, const char *key, const char *subject, const char *ext,
                 const char *from, const char *to, const char *out)
{
	char cnf[TEST_CERTS_PATH], csr[TEST_CERTS_PATH];
	path_of(c, "openssl.cnf", cnf);
	path_of(c, "request.csr", csr);
	int rc = run(c, "req", "-new", "-sha256", "-key", key, "-subj", subject, "-config", cnf,
	             "-out", csr, (char *)NULL);
	if (rc)
		return rc;
	if (from)
		return run(c, "ca", "-batch", "-notext", "-config", cnf, "-extensions", ext,
		           "-startdate", from, "-enddate", to, "-in", csr, "-out", out,
		           (char *)NULL);
	return run(c, "ca", "-batch", "-notext", "-config", cnf, "-extensions", ext, "-in", csr,
	           "-out", out, (char *)NULL);
}

static int make_cas(struct test_certs *c)
{
	char key[TEST_CERTS_PATH], key2[TEST_CERTS_PATH], copy[TEST_CERTS_PATH + 16];
	path_of(c, "ca.key", key);
	path_of(c, "other-ca.key", key2);
	path_of(c, "ca.pem", c->ca);
	path_of(c, "other-ca.pem", c->other_ca);
	snprintf(copy, sizeof copy, "%s/ca.pem", c->ca_dir);
	int rc = new_key(c, key);
	if (!rc)
		rc = new_key(c, key2);
	if (!rc)
		rc = new_ca(c, key, "/CN=ferry test CA", c->ca);
	if (!rc)
		rc = new_ca(c, key2, "/CN=ferry other CA", c->other_ca);
	if (!rc)
		rc = run(c, "x509", "-in", c->ca, "-out", copy, (char *)NULL);
	if (!rc)
		rc = run(c, "rehash", c->ca_dir, (char *)NULL);
	return rc;
}

static int make_servers(struct test_certs *c)
{
	path_of(c, "server.key", c->server_key);
	path_of(c, "server.pem", c->server_cert);
	path_of(c, "expired.pem", c->expired_cert);
	path_of(c, "other-host.pem", c->other_host_cert);
	path_of(c, "revoked.pem", c->revoked_cert);
	path_of(c, "crl.pem", c->crl);
	char cnf[TEST_CERTS_PATH];
	path_of(c, "openssl.cnf", cnf);
	const char *k = c->server_key, *cn = "/CN=localhost";
	int rc = new_key(c, k);
	if (!rc)
		rc = issue(c, k, cn, "ext_server", NULL, NULL, c->server_cert);
	if (!rc)
		rc = issue(c, k, cn, "ext_server", "20200101000000Z", "20200201000000Z",
		           c->expired_cert);
	if (!rc)
		rc = issue(c, k, "/CN=other.example", "ext_other", NULL, NULL, c->other_host_cert);
	if (!rc)
		rc = issue(c, k, cn, "ext_server", NULL, NULL, c->revoked_cert);
	if (!rc)
		rc = run(c, "ca", "-config", cnf, "-revoke", c->revoked_cert, (char *)NULL);
	if (!rc)
		rc = run(c, "ca", "-config", cnf, "-gencrl", "-out", c->crl, (char *)NULL);
	return rc;
}

static int make_client(struct test_certs *c)
{
	path_of(c, "client.key", c->client_key);
	path_of(c, "client.pem", c->client_cert);
	path_of(c, "client-enc.key", c->client_key_enc);
	int rc = new_key(c, c->client_key);
	if (!rc)
		rc = issue(c, c->client_key, "/CN=ferry-client", "ext_client", NULL, NULL,
		           c->client_cert);
	if (!rc)
		rc = run(c, "pkey", "-in", c->client_key, "-aes256", "-passout",
		         "pass:" TEST_CERTS_PASSPHRASE, "-out", c->client_key_enc, (char *)NULL);
	return rc;
}

/* Safety net: directories made and not cleaned up yet, removed at exit
 * (a test that failed before its cleanup, or a program that forgot it). */
#define NET_MAX 16
static char net_dirs[NET_MAX][256];
static pthread_mutex_t net_mu = PTHREAD_MUTEX_INITIALIZER;
static bool net_armed;

static void remove_tree(const char *path, int depth);

static void net_sweep(void)
{
	pthread_mutex_lock(&net_mu);
	for (int i = 0; i < NET_MAX; i++)
		if (net_dirs[i][0] && !getenv("TEST_CERTS_KEEP"))
			remove_tree(net_dirs[i], 2);
	pthread_mutex_unlock(&net_mu);
}

/* Adds dir to the net (add) or takes it out. */
static void net_mark(const char *dir, bool add)
{
	pthread_mutex_lock(&net_mu);
	if (add && !net_armed)
		net_armed = atexit(net_sweep) == 0;
	for (int i = 0; i < NET_MAX; i++) {
		if (add && !net_dirs[i][0]) {
			snprintf(net_dirs[i], sizeof net_dirs[i], "%s", dir);
			break;
		}
		if (!add && strcmp(net_dirs[i], dir) == 0) {
			net_dirs[i][0] = 0;
			break;
		}
	}
	pthread_mutex_unlock(&net_mu);
}

int test_certs_make(struct test_certs *c)
{
	memset(c, 0, sizeof *c);
	int rc = make_dirs(c);
	if (c->dir[0])
		net_mark(c->dir, true);
	if (!rc)
		rc = write_config(c);
	if (!rc)
		rc = make_cas(c);
	if (!rc)
		rc = make_servers(c);
	if (!rc)
		rc = make_client(c);
	return rc;
}

/* Removes path and, for a directory, what is in it (two levels are enough here). */
static void remove_tree(const char *path, int depth)
{
	DIR *d = depth > 0 ? opendir(path) : NULL;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char sub[TEST_CERTS_PATH + 64];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			struct stat st;
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				remove_tree(sub, depth - 1);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

void test_certs_cleanup(struct test_certs *c)
{
	if (!c->dir[0])
		return;
	if (getenv("TEST_CERTS_KEEP"))
		fprintf(stderr, "test_certs: keeping %s\n", c->dir);
	else
		remove_tree(c->dir, 2);
	net_mark(c->dir, false);
	c->dir[0] = 0;
}

/* --- the test TLS server ------------------------------------------------------------ */

unsigned char test_tls_pattern(size_t i)
{
	return (unsigned char)(i % 251u);
}

/* ALPN: "mqtt" if the client offers it, else none. */
static int srv_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                    const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	for (unsigned int i = 0; i < inlen; i += 1u + in[i])
		if (in[i] == 4 && i + 5 <= inlen && memcmp(in + i + 1, "mqtt", 4) == 0) {
			*out = in + i + 1;
			*outlen = 4;
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_NOACK;
}

static unsigned int srv_psk(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
	struct test_tls_server *s = SSL_get_app_data(ssl);
	snprintf(s->psk_seen, sizeof s->psk_seen, "%s", identity ? identity : "");
	if (!identity || strcmp(identity, s->psk_identity) != 0 || max < s->psk_len)
		return 0;
	memcpy(psk, s->psk, s->psk_len);
	return (unsigned int)s->psk_len;
}

static void srv_serve(struct test_tls_server *s, SSL *ssl)
{
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(s->sni, sizeof s->sni, "%s", name ? name : "");
	const unsigned char *p = NULL;
	unsigned int n = 0;
	SSL_get0_alpn_selected(ssl, &p, &n);
	snprintf(s->alpn, sizeof s->alpn, "%.*s", p ? (int)n : 0, p ? (const char *)p : "");
	s->version = SSL_version(ssl);
	unsigned char buf[16384];
	s->data_ok = true;
	while (s->got < s->expect) {
		int k = SSL_read(ssl, buf, (int)sizeof buf);
		if (k <= 0)
			return;
		for (int i = 0; i < k; i++)
			s->data_ok &= buf[i] == test_tls_pattern(s->got + (size_t)i);
		s->got += (size_t)k;
		if (s->echo && SSL_write(ssl, buf, k) <= 0)
			return;
	}
	size_t reply = s->reply < sizeof buf ? s->reply : sizeof buf;
	for (size_t i = 0; i < reply; i++)
		buf[i] = test_tls_pattern(i);
	if (reply && SSL_write(ssl, buf, (int)reply) <= 0)
		return;
	if (s->close_notify)
		SSL_shutdown(ssl);
}

static void *srv_main(void *arg)
{
	struct test_tls_server *s = arg;
	sigset_t set; /* OpenSSL writes with write(2): a client gone must not kill the tests */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	SSL *ssl = SSL_new(s->ctx);
	if (ssl && SSL_set_fd(ssl, s->fd) == 1) {
		SSL_set_app_data(ssl, s);
		if (SSL_accept(ssl) == 1) {
			s->accepted = true;
			srv_serve(s, ssl);
		}
	}
	SSL_free(ssl);
	close(s->fd);
	return NULL;
}

static SSL_CTX *srv_ctx(const struct test_tls_server *s, const struct test_certs *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, c->server_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, c->server_key, SSL_FILETYPE_PEM) != 1 ||
	    (s->max_version && SSL_CTX_set_max_proto_version(ctx, s->max_version) != 1) ||
	    (s->ciphers && SSL_CTX_set_cipher_list(ctx, s->ciphers) != 1)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_alpn_select_cb(ctx, srv_alpn, NULL);
	if (s->psk_identity)
		SSL_CTX_set_psk_server_callback(ctx, srv_psk);
	return ctx;
}

int test_tls_server_start(struct test_tls_server *s, const struct test_certs *c, int fd)
{
	s->fd = fd;
	s->running = false;
	s->ctx = srv_ctx(s, c);
	if (s->ctx && pthread_create(&s->th, NULL, srv_main, s) == 0) {
		s->running = true;
		return FERRY_OK;
	}
	SSL_CTX_free(s->ctx);
	s->ctx = NULL;
	close(fd);
	return FERRY_ERR_STATE;
}

void test_tls_server_join(struct test_tls_server *s)
{
	if (!s->running)
		return;
	pthread_join(s->th, NULL);
	SSL_CTX_free(s->ctx);
	s->ctx = NULL;
	s->running = false;
}

/*
 * tls.h - the TLS layer (OpenSSL): a context per client, built once from its
 * struct ferry_tls_options (CAs, client certificate, versions, ciphers,
 * ALPN, PSK, CRL), and a session per connection over a connected,
 * non-blocking socket.
 *
 * Verification: unless the options say `insecure`, every handshake checks
 * the server's chain against the configured CAs (the system's by default)
 * and its name against the host it was given: a DNS name against the
 * certificate's DNS subject alternative names (or, without any, its common
 * name), an IP literal against its IP address SANs. The checks are set up
 * per session, so every reconnect verifies again. A failure is
 * FERRY_ERR_TLS_VERIFY with OpenSSL's reason in err, e.g.
 * "certificate verify failed: unable to get local issuer certificate".
 *
 * Threads: a session is used by the send thread (handshake, write) and the
 * receive thread (read) at the same time; every OpenSSL call on a session
 * holds the session's own lock (innermost; never held across anything but
 * that call). A context is read-only after creation and shared by the
 * sessions of one client.
 *
 * Return values (again.h): FERRY_OK, FERRY__AGAIN (with which way to
 * wait), or a negative enum ferry_err with a sentence in err (errcap bytes,
 * always NUL-terminated). Reads and writes follow tcp.h: "0 bytes" means
 * "not now"; FERRY_ERR_CLOSED is the end of the stream (close_notify or EOF).
 *
 * Ownership: options are borrowed for the call of ferry__tls_ctx_new (files
 * are loaded then, strings copied). A session borrows its context (free the
 * sessions first) and does not own the socket (the caller closes it).
 */
#ifndef FERRY_TLS_H
#define FERRY_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "ferry/ferry.h"

struct ferry_tls_ctx;
struct ferry_tls;

/*
 * ferry__tls_ctx_new - a context from options (NULL: the defaults). Loads
 * every file now: FERRY_ERR_TLS_CONFIG (unreadable or bad CA file or dir,
 * certificate, key or wrong passphrase, key not matching the certificate,
 * CRL, cipher list; err says which file and OpenSSL's reason),
 * FERRY_ERR_INVAL (bad min_version, psk without psk_identity, struct_size
 * too small), FERRY_ERR_NOMEM.
 */
int ferry__tls_ctx_new(const struct ferry_tls_options *o, struct ferry_tls_ctx **out, char *err,
                       size_t errcap);

/* ferry__tls_ctx_free - NULL is fine. */
void ferry__tls_ctx_free(struct ferry_tls_ctx *ctx);

/* Whether the context skips verification (the client logs a warning per connect). */
bool ferry__tls_ctx_insecure(const struct ferry_tls_ctx *ctx);

/*
 * ferry__tls_new - a session on fd for `host` (host_len bytes, not
 * NUL-terminated; an IPv4 or IPv6 literal is verified as an IP address and
 * gets no SNI). FERRY_ERR_NOMEM or FERRY_ERR_TLS.
 */
int ferry__tls_new(struct ferry_tls_ctx *ctx, int fd, const char *host, size_t host_len,
                   struct ferry_tls **out, char *err, size_t errcap);

/*
 * ferry__tls_handshake - one step: FERRY_OK (established), FERRY__AGAIN
 * (*want_write: wait until fd is writable, else readable), or
 * FERRY_ERR_TLS_VERIFY / FERRY_ERR_TLS (with err), FERRY_ERR_CLOSED.
 */
int ferry__tls_handshake(struct ferry_tls *t, bool *want_write, char *err, size_t errcap);

/*
 * ferry__tls_read - up to len decrypted bytes: FERRY_OK with *got (0: none
 * now; then *want_write says OpenSSL must write first, e.g. a key update
 * answer, and the caller should let the send thread run),
 * FERRY_ERR_CLOSED, FERRY_ERR_TLS (err).
 */
int ferry__tls_read(struct ferry_tls *t, void *buf, size_t len, size_t *got, bool *want_write,
                    char *err, size_t errcap);

/* ferry__tls_write - up to len bytes: FERRY_OK with *put (0: the socket is
 * full, wait until writable), FERRY_ERR_TLS (err). */
int ferry__tls_write(struct ferry_tls *t, const void *buf, size_t len, size_t *put, char *err,
                     size_t errcap);

/* Decrypted bytes buffered inside OpenSSL (read them without waiting for the socket). */
bool ferry__tls_pending(struct ferry_tls *t);

/* The negotiated ALPN protocol ("" if none), valid until the session is freed. */
const char *ferry__tls_alpn(struct ferry_tls *t);

/* ferry__tls_free - free a session (no close_notify; NULL is fine). */
void ferry__tls_free(struct ferry_tls *t);

#endif

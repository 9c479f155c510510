/*
 * link.h - one connection's byte stream, from the connected socket to the
 * MQTT bytes: the layers a server URI and the client's options ask for
 * (a proxy tunnel, TLS, a WebSocket), set up in that order by the send
 * thread, then the MQTT stream written and read through them.
 *
 *   socket --tunnel.c (handshake only)--> TLS (tls.c) --> WebSocket (ws.c) --> MQTT
 *
 * Threads: ferry__link_handshake runs on the send thread while nothing else
 * uses the link. Afterwards the send thread writes (ferry__link_write,
 * ferry__link_has_output) and the receive thread reads (ferry__link_read,
 * ferry__link_pending) at the same time: the two directions keep separate
 * state, and what they share (the TLS session, the WebSocket control queue)
 * is locked inside those layers.
 *
 * Ownership: the link borrows its configuration (owned by the client, which
 * outlives its links) and does not own the socket: the client closes it and
 * frees the link when no thread uses either (fd_users in engine.h).
 *
 * Return values (again.h): FERRY_OK, FERRY__AGAIN, or a negative enum
 * ferry_err with a sentence in err that names the layer ("TLS: ...",
 * "WebSocket: ...", "proxy: ..."). Reads and writes follow tcp.h: 0 bytes
 * means "not now", FERRY_ERR_CLOSED the end of the stream.
 */
#ifndef FERRY_LINK_H
#define FERRY_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "uri.h"

struct ferry_tls_ctx;
struct ferry_link;

/* What a client's links are made from (the client owns it; const after create). */
struct ferry_link_cfg {
	struct ferry_tls_ctx *tls;      /* for ssl/mqtts/wss servers; NULL when none is TLS */
	int proxy_type;                 /* enum ferry_proxy_type */
	const char *proxy_user;         /* NULL: no proxy authentication */
	const char *proxy_pass;
	const char *const *ws_headers;  /* extra WebSocket upgrade headers */
	size_t ws_header_count;
};

/*
 * ferry__link_new - the link of a new connection to server u over fd (TCP
 * connected, to the proxy if there is one). Nothing is sent yet.
 * FERRY_ERR_NOMEM, FERRY_ERR_INVAL (u is TLS but cfg has no TLS context).
 */
int ferry__link_new(const struct ferry_link_cfg *cfg, const struct ferry_uri *u, int fd,
                    struct ferry_link **out, char *err, size_t errcap);

/* Whether the link has no layer at all (plain TCP): no handshake, and reads
 * and writes go straight to the socket. */
bool ferry__link_plain(const struct ferry_link *l);

/*
 * ferry__link_handshake - one step of setting up the layers, on the send
 * thread: FERRY_OK (ready for MQTT), FERRY__AGAIN (*want_write: wait until
 * the socket is writable, else readable), or the failing layer's error.
 */
int ferry__link_handshake(struct ferry_link *l, bool *want_write, char *err, size_t errcap);

/*
 * ferry__link_write - write up to len MQTT bytes (send thread): FERRY_OK
 * with *put (0: wait until writable). Bytes a layer still holds (a frame
 * partly written, a pong) go first; len may be 0 just to push them.
 */
int ferry__link_write(struct ferry_link *l, const void *buf, size_t len, size_t *put, char *err,
                      size_t errcap);

/* Whether a layer holds bytes not yet on the socket (send thread): keep
 * calling ferry__link_write, with len 0 if need be, when writable. */
bool ferry__link_has_output(struct ferry_link *l);

/*
 * ferry__link_read - read up to cap MQTT bytes (receive thread): FERRY_OK
 * with *got (0: none now). *kick_tx is set when the send thread has
 * something to write because of what was read (a pong, a close answer,
 * TLS wanting to write).
 */
int ferry__link_read(struct ferry_link *l, void *buf, size_t cap, size_t *got, bool *kick_tx,
                     char *err, size_t errcap);

/* Whether bytes already read from the socket wait inside a layer (receive
 * thread): read again before waiting for the socket. */
bool ferry__link_pending(struct ferry_link *l);

/* ferry__link_flush_control - the receive thread's last words: before the
 * connection is torn down because the server closed the WebSocket, try
 * (without blocking) to send the queued answering close. The write side
 * is locked against the send thread meanwhile. */
void ferry__link_flush_control(struct ferry_link *l);

/* ferry__link_free - NULL is fine. Does not close the socket. */
void ferry__link_free(struct ferry_link *l);

#endif

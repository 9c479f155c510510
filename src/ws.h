/*
 * ws.h - the WebSocket layer (RFC 6455), client side: the HTTP/1.1 upgrade
 * (Sec-WebSocket-Protocol: mqtt, the Sec-WebSocket-Accept check, custom
 * headers) and framing of the MQTT byte stream: every client frame binary
 * and masked with a fresh key from a strong source; server frames unmasked,
 * binary (with continuations), any split of MQTT packets across frames and
 * any number of packets per frame; a ping is answered with a pong, a close
 * with a close (then the stream ends).
 *
 * No socket I/O: the caller sends the request, feeds the response, wraps
 * what it writes and unwraps what it reads (link.c does that over TCP or
 * TLS). Refused with FERRY_ERR_WEBSOCKET and a sentence in err: a reply
 * other than 101 (the sentence quotes the status line), a missing or wrong
 * Sec-WebSocket-Accept, a missing or other Sec-WebSocket-Protocol, missing
 * Upgrade/Connection headers, a response header block over 8 KiB; text
 * frames, masked server frames, reserved bits or opcodes, fragmented or
 * oversized control frames, a data frame announcing more than
 * FERRY_WS_MAX_FRAME bytes, a continuation without a start.
 *
 * Threads: ferry__ws_wrap and ferry__ws_control (they share the mask pool)
 * are called by one thread at a time - the send thread, or the receive
 * thread's last words, serialised by link.c's write lock - while the
 * receive thread uses ferry__ws_unwrap: their states are separate; the
 * queue of control frames unwrap produces and control takes is guarded by
 * the object's own lock. Handshake functions run on the send thread before
 * any of them.
 *
 * Ownership: config strings are copied at ferry__ws_new; views returned
 * (the request) live as long as the object.
 */
#ifndef FERRY_WS_H
#define FERRY_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest frame header a client writes (2 + 8 length + 4 mask). */
#define FERRY_WS_MAX_HEADER 14u
/* Largest server data frame accepted: an MQTT packet's maximum plus its header. */
#define FERRY_WS_MAX_FRAME (268435455u + 5u)

struct ferry_ws;

struct ferry_ws_config {
	const char *host;            /* Host header: the server's name or address (not NUL-terminated) */
	size_t host_len;
	bool host_ipv6;              /* an IPv6 literal: bracketed in the Host header */
	uint16_t port;               /* appended to Host unless it is the default for `tls` */
	bool tls;                    /* wss: default port 443, else 80 */
	const char *path;            /* request target, e.g. "/mqtt" (not NUL-terminated) */
	size_t path_len;
	const char *const *headers;  /* extra header lines "Name: value" (no CR LF), may be NULL */
	size_t nheaders;
};

/*
 * ferry__ws_new - an upgrade in preparation: the request is built now with
 * a fresh random Sec-WebSocket-Key. FERRY_ERR_INVAL (a header line with CR
 * or LF or without ':', an empty path), FERRY_ERR_NOMEM, FERRY_ERR_SYSTEM
 * (no randomness).
 */
int ferry__ws_new(const struct ferry_ws_config *cfg, struct ferry_ws **out);

/* The upgrade request to send, whole. */
void ferry__ws_request(const struct ferry_ws *w, const uint8_t **req, size_t *len);

/*
 * ferry__ws_response - bytes of the server's answer. FERRY__AGAIN: more
 * needed (all n consumed); FERRY_OK: upgraded, *used bytes were the HTTP
 * response (the rest are frames: give them to ferry__ws_unwrap);
 * FERRY_ERR_WEBSOCKET with err.
 */
int ferry__ws_response(struct ferry_ws *w, const uint8_t *in, size_t n, size_t *used, char *err,
                       size_t errcap);

/*
 * ferry__ws_wrap - frame n bytes (n >= 1) as one masked binary frame into
 * out, which must hold FERRY_WS_MAX_HEADER + n bytes; returns the frame's
 * length.
 */
size_t ferry__ws_wrap(struct ferry_ws *w, const uint8_t *in, size_t n, uint8_t *out);

/*
 * ferry__ws_unwrap - bytes read from the server: consumes input (*used, all
 * of it unless out filled up) and writes the payload of data frames to out
 * (cap bytes; *produced). A ping queues its pong, a close queues the
 * answering close and returns FERRY_ERR_CLOSED (with the peer's status code
 * in err). FERRY_OK, FERRY_ERR_CLOSED or FERRY_ERR_WEBSOCKET (err).
 */
int ferry__ws_unwrap(struct ferry_ws *w, const uint8_t *in, size_t n, size_t *used, uint8_t *out,
                     size_t cap, size_t *produced, char *err, size_t errcap);

/* Whether control frames (pong, close) wait to be sent. Any thread. */
bool ferry__ws_has_control(struct ferry_ws *w);

/* ferry__ws_control - move up to cap bytes of queued control frames
 * (framed and masked) to out; returns how many. */
size_t ferry__ws_control(struct ferry_ws *w, uint8_t *out, size_t cap);

/* ferry__ws_free - NULL is fine. */
void ferry__ws_free(struct ferry_ws *w);

#endif

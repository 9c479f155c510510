/*
 * link.c - a connection's layers, composed (see link.h): the proxy tunnel
 * (tunnel.c) on the raw socket, then TLS (tls.c), then the WebSocket
 * (ws.c), each set up in turn by ferry__link_handshake; afterwards writes go
 * down and reads come up through the same layers.
 *
 * State by thread: `phase`, the tunnel and the handshake counters belong to
 * the send thread during the handshake (nothing else uses the link then).
 * Afterwards `wout` (framed bytes on their way down) belongs to the send
 * thread and `rin` (bytes read, not yet unframed) to the receive thread;
 * the TLS session and the WebSocket's control queue lock themselves.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "again.h"
#include "ferry/ferry.h"
#include "link.h"
#include "tcp.h"
#include "tls.h"
#include "tunnel.h"
#include "ws.h"

/* MQTT bytes framed per WebSocket frame at most (one write batch is 256 KiB). */
#define WS_CHUNK (256u * 1024u)
/* Bytes read from below per WebSocket unframing round. */
#define RIN_SIZE (16u * 1024u)

enum phase {
	HS_TUNNEL = 1,
	HS_TLS_START,
	HS_TLS,
	HS_WS_START,
	HS_WS_SEND,
	HS_WS_RECV,
	HS_DONE,
};

struct ferry_link {
	int fd;
	const struct ferry_link_cfg *cfg;
	const struct ferry_uri *u;
	int phase;
	bool use_tunnel, use_tls, use_ws;
	struct ferry_tls *tls;
	struct ferry_ws *ws;
	size_t req_off; /* WebSocket request bytes sent */
	/* send thread (and the receive thread's last words: ferry__link_flush_control) */
	pthread_mutex_t wlock; /* the write side: wout and writes down */
	uint8_t *wout;
	size_t wout_len, wout_off, wout_cap;
	/* receive thread */
	size_t rin_len, rin_off;
	uint8_t *rin;                /* RIN_SIZE bytes, WebSocket links only */
	struct ferry_tunnel *tunnel; /* proxied links only; handshake only */
};

/* Prefixes a layer's sentence with its name. */
static int layer_err(int rc, const char *layer, const char *text, char *err, size_t errcap)
{
	snprintf(err, errcap, "%s: %s", layer, text[0] ? text : ferry_strerror(rc));
	return rc;
}

static int next_phase(const struct ferry_link *l, int after)
{
	if (after < HS_TLS_START && l->use_tls)
		return HS_TLS_START;
	if (after < HS_WS_START && l->use_ws)
		return HS_WS_START;
	return HS_DONE;
}

int ferry__link_new(const struct ferry_link_cfg *cfg, const struct ferry_uri *u, int fd,
                    struct ferry_link **out, char *err, size_t errcap)
{
	*out = NULL;
	bool tls = u->scheme == FERRY_URI_TLS || u->scheme == FERRY_URI_WSS;
	if (tls && !cfg->tls) {
		snprintf(err, errcap, "TLS: no TLS context for %.*s", (int)u->host_len, u->host);
		return FERRY_ERR_INVAL;
	}
	/* A plain link is small: thousands of idle clients each keep one. */
	struct ferry_link *l = calloc(1, sizeof *l);
	if (!l)
		return FERRY_ERR_NOMEM;
	if (pthread_mutex_init(&l->wlock, NULL)) {
		free(l);
		return FERRY_ERR_SYSTEM;
	}
	l->fd = fd;
	l->cfg = cfg;
	l->u = u;
	l->use_tls = tls;
	l->use_ws = u->scheme == FERRY_URI_WS || u->scheme == FERRY_URI_WSS;
	l->use_tunnel = cfg->proxy_type != FERRY_PROXY_NONE;
	if ((l->use_ws && !(l->rin = malloc(RIN_SIZE))) ||
	    (l->use_tunnel && !(l->tunnel = calloc(1, sizeof *l->tunnel)))) {
		ferry__link_free(l);
		return FERRY_ERR_NOMEM;
	}
	if (l->use_tunnel) {
		int rc = ferry__tunnel_init(l->tunnel, cfg->proxy_type, u->host, u->host_len, u->port,
		                            cfg->proxy_user, cfg->proxy_pass);
		if (rc) {
			ferry__link_free(l);
			return layer_err(rc, "proxy", "bad proxy settings", err, errcap);
		}
	}
	l->phase = l->use_tunnel ? HS_TUNNEL : next_phase(l, HS_TUNNEL);
	*out = l;
	return FERRY_OK;
}

bool ferry__link_plain(const struct ferry_link *l)
{
	return !l->use_tunnel && !l->use_tls && !l->use_ws;
}

/* ---- the layer below the WebSocket: TLS or the socket ------------------------------ */

static int lower_write(struct ferry_link *l, const void *buf, size_t len, size_t *put, char *err,
                       size_t errcap)
{
	if (!l->tls)
		return ferry__tcp_write(l->fd, buf, len, put);
	char text[400] = "";
	int rc = ferry__tls_write(l->tls, buf, len, put, text, sizeof text);
	return rc < 0 ? layer_err(rc, "TLS", text, err, errcap) : rc;
}

static int lower_read(struct ferry_link *l, void *buf, size_t cap, size_t *got, bool *kick,
                      char *err, size_t errcap)
{
	if (!l->tls)
		return ferry__tcp_read(l->fd, buf, cap, got);
	char text[400] = "";
	bool want_write = false;
	int rc = ferry__tls_read(l->tls, buf, cap, got, &want_write, text, sizeof text);
	if (want_write)
		*kick = true;
	return rc < 0 && rc != FERRY_ERR_CLOSED ? layer_err(rc, "TLS", text, err, errcap) : rc;
}

/* ---- handshake (send thread) ------------------------------------------------------ */

static int tunnel_step(struct ferry_link *l, bool *want_write, char *err, size_t errcap)
{
	const uint8_t *o;
	size_t n, put = 0, got = 0, used = 0;
	ferry__tunnel_output(l->tunnel, &o, &n);
	if (n) {
		if (ferry__tcp_write(l->fd, o, n, &put) != FERRY_OK)
			return layer_err(FERRY_ERR_PROXY, "proxy", "cannot write to the proxy", err,
			                 errcap);
		ferry__tunnel_sent(l->tunnel, put);
		*want_write = put < n;
		return put < n ? FERRY__AGAIN : FERRY_OK;
	}
	uint8_t buf[512];
	int rc = ferry__tcp_read(l->fd, buf, sizeof buf, &got);
	if (rc)
		return layer_err(FERRY_ERR_PROXY, "proxy",
		                 rc == FERRY_ERR_CLOSED ? "the proxy closed the connection"
		                                        : "cannot read from the proxy",
		                 err, errcap);
	if (!got)
		return FERRY__AGAIN;
	char text[400] = "";
	rc = ferry__tunnel_input(l->tunnel, buf, got, &used, text, sizeof text);
	if (rc < 0)
		return layer_err(rc, "proxy", text, err, errcap);
	if (rc == FERRY_OK && used < got)
		return layer_err(FERRY_ERR_PROXY, "proxy", "data from the server before any request",
		                 err, errcap);
	if (rc == FERRY_OK)
		l->phase = next_phase(l, HS_TUNNEL);
	return FERRY_OK; /* go on: the next output, read, or layer */
}

static int tls_step(struct ferry_link *l, bool *want_write, char *err, size_t errcap)
{
	char text[400] = "";
	int rc;
	if (l->phase == HS_TLS_START) {
		rc = ferry__tls_new(l->cfg->tls, l->fd, l->u->host, l->u->host_len, &l->tls, text,
		                    sizeof text);
		if (rc)
			return layer_err(rc, "TLS", text, err, errcap);
		l->phase = HS_TLS;
	}
	rc = ferry__tls_handshake(l->tls, want_write, text, sizeof text);
	if (rc < 0)
		return layer_err(rc, "TLS", text, err, errcap);
	if (rc == FERRY_OK)
		l->phase = next_phase(l, HS_TLS);
	return rc;
}

static int ws_start(struct ferry_link *l, char *err, size_t errcap)
{
	const struct ferry_uri *u = l->u;
	struct ferry_ws_config wc = {
	    .host = u->host,
	    .host_len = u->host_len,
	    .host_ipv6 = u->ipv6,
	    .port = u->port,
	    .tls = l->use_tls,
	    .path = u->path_len ? u->path : "/mqtt",
	    .path_len = u->path_len ? u->path_len : 5,
	    .headers = l->cfg->ws_headers,
	    .nheaders = l->cfg->ws_header_count,
	};
	int rc = ferry__ws_new(&wc, &l->ws);
	if (rc)
		return layer_err(rc, "WebSocket", "cannot prepare the upgrade request", err, errcap);
	l->phase = HS_WS_SEND;
	return FERRY_OK;
}

static int ws_step(struct ferry_link *l, bool *want_write, char *err, size_t errcap)
{
	if (l->phase == HS_WS_SEND) {
		const uint8_t *req;
		size_t len, put = 0;
		ferry__ws_request(l->ws, &req, &len);
		int rc = lower_write(l, req + l->req_off, len - l->req_off, &put, err, errcap);
		if (rc)
			return rc;
		l->req_off += put;
		if (l->req_off < len) {
			*want_write = true;
			return FERRY__AGAIN;
		}
		l->phase = HS_WS_RECV;
	}
	size_t got = 0, used = 0;
	bool kick = false;
	int rc = lower_read(l, l->rin, RIN_SIZE, &got, &kick, err, errcap);
	if (rc == FERRY_ERR_CLOSED)
		return layer_err(FERRY_ERR_WEBSOCKET, "WebSocket",
		                 "the server closed the connection during the upgrade", err, errcap);
	if (rc)
		return rc;
	if (!got) {
		*want_write = kick;
		return FERRY__AGAIN;
	}
	char text[300] = "";
	rc = ferry__ws_response(l->ws, l->rin, got, &used, text, sizeof text);
	if (rc < 0)
		return layer_err(rc, "WebSocket", text, err, errcap);
	if (rc == FERRY_OK) {
		l->rin_off = used; /* frames right after the answer */
		l->rin_len = got;
		l->phase = HS_DONE;
	}
	return FERRY_OK;
}

int ferry__link_handshake(struct ferry_link *l, bool *want_write, char *err, size_t errcap)
{
	for (;;) {
		*want_write = false;
		int rc;
		switch (l->phase) {
		case HS_TUNNEL:
			rc = tunnel_step(l, want_write, err, errcap);
			break;
		case HS_TLS_START:
		case HS_TLS:
			rc = tls_step(l, want_write, err, errcap);
			break;
		case HS_WS_START:
			rc = ws_start(l, err, errcap);
			break;
		case HS_WS_SEND:
		case HS_WS_RECV:
			rc = ws_step(l, want_write, err, errcap);
			break;
		default:
			return FERRY_OK;
		}
		if (rc)
			return rc; /* FERRY__AGAIN or an error */
	}
}

/* ---- data (send thread: writes; receive thread: reads) -------------------------------- */

/* Pushes framed bytes down; FERRY_OK also when some stay (socket full). */
static int push_out(struct ferry_link *l, char *err, size_t errcap)
{
	while (l->wout_off < l->wout_len) {
		size_t put = 0;
		int rc = lower_write(l, l->wout + l->wout_off, l->wout_len - l->wout_off, &put, err,
		                     errcap);
		if (rc)
			return rc;
		if (!put)
			return FERRY_OK;
		l->wout_off += put;
	}
	l->wout_off = l->wout_len = 0;
	return FERRY_OK;
}

static int reserve_out(struct ferry_link *l, size_t need)
{
	if (l->wout_cap >= need)
		return FERRY_OK;
	uint8_t *p = realloc(l->wout, need);
	if (!p)
		return FERRY_ERR_NOMEM;
	l->wout = p;
	l->wout_cap = need;
	return FERRY_OK;
}

/* Control frames (pong, close answer) go between data frames; wlock held. */
static int push_control(struct ferry_link *l, char *err, size_t errcap)
{
	int rc = push_out(l, err, errcap);
	while (!rc && !l->wout_len && ferry__ws_has_control(l->ws)) {
		rc = reserve_out(l, 512);
		if (!rc) {
			l->wout_len = ferry__ws_control(l->ws, l->wout, l->wout_cap);
			rc = push_out(l, err, errcap);
		}
	}
	return rc;
}

static int ws_write(struct ferry_link *l, const void *buf, size_t len, size_t *put, char *err,
                    size_t errcap)
{
	int rc = push_control(l, err, errcap);
	if (rc || l->wout_len || !len)
		return rc;
	size_t n = len < WS_CHUNK ? len : WS_CHUNK;
	rc = reserve_out(l, n + FERRY_WS_MAX_HEADER);
	if (rc)
		return rc;
	l->wout_len = ferry__ws_wrap(l->ws, buf, n, l->wout);
	l->wout_off = 0;
	*put = n;
	return push_out(l, err, errcap);
}

int ferry__link_write(struct ferry_link *l, const void *buf, size_t len, size_t *put, char *err,
                      size_t errcap)
{
	*put = 0;
	if (!l->ws)
		return len ? lower_write(l, buf, len, put, err, errcap) : FERRY_OK;
	pthread_mutex_lock(&l->wlock);
	int rc = ws_write(l, buf, len, put, err, errcap);
	pthread_mutex_unlock(&l->wlock);
	return rc;
}

void ferry__link_flush_control(struct ferry_link *l)
{
	if (!l->ws)
		return;
	char err[64];
	pthread_mutex_lock(&l->wlock);
	(void)push_control(l, err, sizeof err); /* best effort: the connection ends now */
	pthread_mutex_unlock(&l->wlock);
}

bool ferry__link_has_output(struct ferry_link *l)
{
	if (!l->ws)
		return false;
	pthread_mutex_lock(&l->wlock);
	bool out = l->wout_len > l->wout_off;
	pthread_mutex_unlock(&l->wlock);
	return out || ferry__ws_has_control(l->ws);
}

int ferry__link_read(struct ferry_link *l, void *buf, size_t cap, size_t *got, bool *kick_tx,
                     char *err, size_t errcap)
{
	*got = 0;
	if (!l->ws)
		return lower_read(l, buf, cap, got, kick_tx, err, errcap);
	for (;;) {
		if (l->rin_off < l->rin_len) {
			size_t used = 0, produced = 0;
			char text[400] = "";
			int rc = ferry__ws_unwrap(l->ws, l->rin + l->rin_off, l->rin_len - l->rin_off,
			                          &used, buf, cap, &produced, text, sizeof text);
			l->rin_off += used;
			if (ferry__ws_has_control(l->ws))
				*kick_tx = true;
			if (rc) /* FERRY_ERR_CLOSED (the server's close) or a violation */
				return layer_err(rc, "WebSocket", text, err, errcap);
			if (produced) {
				*got = produced;
				return FERRY_OK;
			}
			if (l->rin_off < l->rin_len)
				continue; /* more frames in what was read */
		}
		l->rin_off = l->rin_len = 0;
		size_t n = 0;
		int rc = lower_read(l, l->rin, RIN_SIZE, &n, kick_tx, err, errcap);
		if (rc || !n)
			return rc;
		l->rin_len = n;
	}
}

bool ferry__link_pending(struct ferry_link *l)
{
	return (l->ws && l->rin_off < l->rin_len) || (l->tls && ferry__tls_pending(l->tls));
}

void ferry__link_free(struct ferry_link *l)
{
	if (!l)
		return;
	ferry__ws_free(l->ws);
	ferry__tls_free(l->tls);
	free(l->wout);
	free(l->rin);
	free(l->tunnel);
	pthread_mutex_destroy(&l->wlock);
	free(l);
}

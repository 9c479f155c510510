/*
 * client.c - the public entry points of a client: create, destroy, the
 * asynchronous operations (they build a request, queue it and kick the send
 * thread), ferry_wait and statistics. Completion (callbacks) happens on the
 * receive thread: see client_rx.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "props_api.h"
#include "platform.h"
#include "tls.h"
#include "tunnel.h"
#include "topic.h"
#include "utf8.h"

/*
 * Log lines are made wherever something happens (often with the client lock
 * held, on any thread) but, like every callback, reach on_log on the
 * receive thread with no lock held: they travel through the dispatch queue,
 * in order with the other events.
 */
void ferry__log(struct ferry_client *c, int level, const char *fmt, ...)
{
	if (!c->cb.on_log || level > c->cb.log_level)
		return;
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
	struct ferry_log_event *ev = malloc(sizeof *ev + len + 1);
	if (!ev)
		return; /* the line is lost, nothing else */
	memset(&ev->ev, 0, sizeof ev->ev);
	ev->ev.kind = FERRY_EV_LOG;
	ev->ev.c = c;
	ev->level = level;
	memcpy(ev->text, text, len);
	ev->text[len] = 0;
	ferry__ctx_post(c->ctx, &ev->ev);
}

/* ---- options -------------------------------------------------------------- */

static char *dupstr(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static void *dupmem(const void *p, size_t n)
{
	void *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

static int copy_servers(struct ferry_client *c, const struct ferry_client_options *o)
{
	size_t n = o->server_uris ? o->server_uri_count : (o->server_uri ? 1 : 0);
	if (n == 0)
		return FERRY_ERR_INVAL;
	c->servers = calloc(n, sizeof *c->servers);
	if (!c->servers)
		return FERRY_ERR_NOMEM;
	c->nservers = n;
	for (size_t i = 0; i < n; i++) {
		const char *u = o->server_uris ? o->server_uris[i] : o->server_uri;
		if (!u)
			return FERRY_ERR_INVAL;
		c->servers[i].text = dupstr(u);
		if (!c->servers[i].text)
			return FERRY_ERR_NOMEM;
		if (ferry__uri_parse(c->servers[i].text, &c->servers[i].uri))
			return FERRY_ERR_URI;
	}
	return FERRY_OK;
}

static int copy_will(struct ferry_client *c, const struct ferry_will_options *w)
{
	if (!w)
		return FERRY_OK;
	if (!w->topic || w->qos < 0 || w->qos > 2 || (!w->payload && w->payload_len))
		return FERRY_ERR_INVAL;
	int rc = ferry__topic_name_check((const uint8_t *)w->topic, strlen(w->topic));
	if (rc)
		return rc;
	c->has_will = true;
	c->will = *w;
	c->will.topic = dupstr(w->topic);
	c->will.payload = dupmem(w->payload, w->payload_len);
	return c->will.topic && c->will.payload ? FERRY_OK : FERRY_ERR_NOMEM;
}

/*
 * The transports (client options tls, proxy, ws_headers): copies of the
 * proxy settings and headers, and a TLS context when a server needs one,
 * so a bad CA or key file fails create rather than every connect.
 */
static int copy_transport(struct ferry_client *c, const struct ferry_client_options *o)
{
	const struct ferry_proxy_options *p = o->proxy;
	if (p && p->type != FERRY_PROXY_NONE) {
		if (p->struct_size < sizeof *p || (p->type != FERRY_PROXY_HTTP && p->type != FERRY_PROXY_SOCKS5) ||
		    !p->host || !p->host[0] || p->port <= 0 || p->port > 65535 ||
		    (p->password && !p->username))
			return FERRY_ERR_INVAL;
		c->proxy_host = dupstr(p->host);
		c->proxy_port = (uint16_t)p->port;
		c->link_cfg.proxy_type = p->type;
		c->link_cfg.proxy_user = dupstr(p->username);
		c->link_cfg.proxy_pass = p->username ? dupstr(p->password ? p->password : "") : NULL;
		if (!c->proxy_host || (p->username && (!c->link_cfg.proxy_user || !c->link_cfg.proxy_pass)))
			return FERRY_ERR_NOMEM;
		/* The credentials' limits are the tunnel's: checked now, not at every connect. */
		struct ferry_tunnel *t = malloc(sizeof *t);
		if (!t)
			return FERRY_ERR_NOMEM;
		int rc = ferry__tunnel_init(t, p->type, "x", 1, 1, c->link_cfg.proxy_user,
		                            c->link_cfg.proxy_pass);
		free(t);
		if (rc)
			return rc;
	}
	if (o->ws_header_count && !o->ws_headers)
		return FERRY_ERR_INVAL;
	if (o->ws_header_count) {
		c->ws_headers = calloc(o->ws_header_count, sizeof *c->ws_headers);
		if (!c->ws_headers)
			return FERRY_ERR_NOMEM;
		c->link_cfg.ws_headers = (const char *const *)c->ws_headers;
		c->link_cfg.ws_header_count = o->ws_header_count;
		for (size_t i = 0; i < o->ws_header_count; i++) {
			/* "Name: value" on one line, or the upgrade would fail at every connect. */
			const char *h = o->ws_headers[i];
			if (!h || h[0] == ':' || !strchr(h, ':') || strpbrk(h, "\r\n"))
				return FERRY_ERR_INVAL;
			if (!(c->ws_headers[i] = dupstr(o->ws_headers[i])))
				return FERRY_ERR_NOMEM;
		}
	}
	bool tls = false;
	for (size_t i = 0; i < c->nservers; i++)
		tls |= c->servers[i].uri.scheme == FERRY_URI_TLS || c->servers[i].uri.scheme == FERRY_URI_WSS;
	if (!tls)
		return o->tls && o->tls->struct_size < sizeof *o->tls ? FERRY_ERR_INVAL : FERRY_OK;
	char err[300] = "";
	int rc = ferry__tls_ctx_new(o->tls, &c->link_cfg.tls, err, sizeof err);
	if (rc && o->on_log && o->log_level >= FERRY_LOG_ERROR)
		o->on_log(o->user, FERRY_LOG_ERROR, err); /* no client yet: said at once */
	return rc;
}

static int copy_options(struct ferry_client *c, const struct ferry_client_options *o)
{
	if (o->mqtt_version < FERRY_MQTT_3_1 || o->mqtt_version > FERRY_MQTT_5 || o->keepalive_s < 0 ||
	    o->keepalive_s > 65535 || o->connect_timeout_ms < 0 || o->max_inflight < 0 ||
	    o->max_inflight > 65535 || o->ping_timeout_ms < 0 || o->reconnect_min_ms < 0 ||
	    o->reconnect_max_ms < 0 || o->reconnect_stable_ms < 0 ||
	    (o->queue_policy != FERRY_QUEUE_REJECT_NEW && o->queue_policy != FERRY_QUEUE_DROP_OLDEST) ||
	    (o->refused_policy != FERRY_REFUSED_BACKOFF && o->refused_policy != FERRY_REFUSED_STOP))
		return FERRY_ERR_INVAL;
	const char *id = o->client_id ? o->client_id : "";
	size_t idlen = strlen(id);
	int rc = ferry__utf8_check((const uint8_t *)id, idlen);
	if (rc)
		return rc;
	/* Refused here rather than at every connect: 3.1 wants 1..23 bytes,
	 * 3.1.1 an id when the session is kept. */
	if ((o->mqtt_version == FERRY_MQTT_3_1 && (idlen == 0 || idlen > 23)) ||
	    (o->mqtt_version == FERRY_MQTT_3_1_1 && idlen == 0 && !o->clean_session))
		return FERRY_ERR_CLIENT_ID;
	c->version = (uint8_t)o->mqtt_version;
	c->keepalive_s = (uint16_t)o->keepalive_s;
	c->ping_timeout_ms = (uint32_t)o->ping_timeout_ms;
	c->clean_session = o->clean_session;
	c->connect_timeout_ms = o->connect_timeout_ms ? (uint32_t)o->connect_timeout_ms : 30000u;
	c->max_inflight = o->max_inflight ? (uint16_t)o->max_inflight : 20u;
	c->backoff.min_ms = o->reconnect_min_ms ? (uint64_t)o->reconnect_min_ms : 1000u;
	c->backoff.max_ms = o->reconnect_max_ms ? (uint64_t)o->reconnect_max_ms : 60000u;
	if (c->backoff.max_ms < c->backoff.min_ms)
		c->backoff.max_ms = c->backoff.min_ms;
	c->backoff.stable_ms = (uint64_t)o->reconnect_stable_ms;
	c->rng = ferry__now_us() ^ (uint64_t)(uintptr_t)c ^ UINT64_C(0x9e3779b97f4a7c15);
	c->refused_reason = -1;
	c->cb = *o;
	c->cb.client_id = c->cb.server_uri = c->cb.username = NULL;
	c->cb.server_uris = NULL;
	c->cb.password = NULL;
	c->cb.will = NULL;
	c->client_id = dupstr(id);
	if (!c->client_id)
		return FERRY_ERR_NOMEM;
	if (o->username && !(c->username = dupstr(o->username)))
		return FERRY_ERR_NOMEM;
	if (o->password) {
		c->has_password = true;
		c->password_len = o->password_len;
		if (!(c->password = dupmem(o->password, o->password_len)))
			return FERRY_ERR_NOMEM;
	}
	rc = copy_servers(c, o);
	if (!rc)
		rc = copy_will(c, o->will);
	if (!rc)
		rc = ferry__mqtt5_setup(c, o);
	if (!rc)
		rc = copy_transport(c, o);
	return rc;
}

void ferry__client_free(struct ferry_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nservers; i++)
		free(c->servers[i].text);
	free(c->servers);
	ferry__tls_ctx_free(c->link_cfg.tls);
	free(c->proxy_host);
	free((void *)c->link_cfg.proxy_user);
	free((void *)c->link_cfg.proxy_pass);
	for (size_t i = 0; c->ws_headers && i < c->link_cfg.ws_header_count; i++)
		free(c->ws_headers[i]);
	free(c->ws_headers);
	ferry__link_free(c->link);
	free(c->client_id);
	free(c->assigned_id);
	free(c->username);
	free(c->password);
	free((void *)c->will.topic);
	free((void *)c->will.payload);
	ferry__mqtt5_free(c);
	if (c->session) {
		/* Ops still here only after a failed create (restored messages). */
		struct ferry_op *op = ferry__session_take_all(c->session);
		while (op) {
			struct ferry_op *next = op->next;
			ferry__req_free(op->owner);
			op = next;
		}
		ferry__session_free(c->session);
	}
	ferry__store_free(c);
	while (c->sub_cbs) {
		struct ferry_sub_cb *s = c->sub_cbs;
		c->sub_cbs = s->next;
		free(s);
	}
	ferry__topic_index_free(c->subs);
	ferry__tokens_free(&c->tokens);
	ferry__buf_free(&c->ctrl);
	ferry__buf_free(&c->wbuf);
	ferry__frame_reader_free(&c->reader);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int ferry_client_create(const struct ferry_client_options *o, ferry_client **out)
{
	if (!o || !out || o->struct_size < sizeof(struct ferry_client_options))
		return FERRY_ERR_INVAL;
	*out = NULL;
	struct ferry_client *c = calloc(1, sizeof *c);
	if (!c)
		return FERRY_ERR_NOMEM;
	if (pthread_mutex_init(&c->mu, NULL)) {
		free(c);
		return FERRY_ERR_SYSTEM;
	}
	if (ferry__cond_init(&c->cv)) {
		pthread_mutex_destroy(&c->mu);
		free(c);
		return FERRY_ERR_SYSTEM;
	}
	c->fd = -1;
	c->heap_idx = SIZE_MAX;
	c->deadline = UINT64_MAX;
	c->next_token = 1;
	ferry__tokens_init(&c->tokens);
	ferry__buf_init(&c->ctrl, 1u << 20);
	ferry__buf_init(&c->wbuf, (size_t)FERRY_PACKET_MAX + (1u << 16));
	int rc = copy_options(c, o);
	if (rc)
		goto fail;
	ferry__frame_reader_init(&c->reader, c->in_max_packet, c->version == FERRY_MQTT_5);
	c->session = ferry__session_new(c->max_inflight);
	c->subs = ferry__topic_index_new();
	if (!c->session || !c->subs) {
		rc = FERRY_ERR_NOMEM;
		goto fail;
	}
	rc = ferry__store_attach(c, o); /* o->store_path or o->store: client_store.c */
	if (rc)
		goto fail;
	if (o->context) {
		c->ctx = o->context;
	} else {
		rc = ferry__ctx_new(&c->ctx);
		if (rc)
			goto fail;
		c->own_ctx = true;
	}
	ferry__lock(&c->ctx->mu);
	c->ctx->nclients++;
	ferry__unlock(&c->ctx->mu);
	*out = c;
	return FERRY_OK;
fail:
	if (o->store && c->store == o->store)
		c->store = NULL; /* not taken: the caller still owns it */
	ferry__client_free(c);
	return rc;
}

/* ---- requests -------------------------------------------------------------- */

struct ferry_req *ferry__req_new(struct ferry_client *c, int type, size_t extra,
                                const struct ferry_call *call)
{
	/* Only the header is cleared: the rest is about to be written. */
	struct ferry_req *r = malloc(sizeof *r + extra);
	if (!r)
		return NULL;
	memset(r, 0, sizeof *r);
	r->c = c;
	r->type = type;
	r->reason = -1;
	r->op.owner = r;
	r->ev.kind = FERRY_EV_OP_DONE;
	r->ev.c = c;
	if (call)
		r->call = *call;
	return r;
}

void ferry__req_free(struct ferry_req *r)
{
	if (!r)
		return;
	free(r->granted);
	free(r->props_mem);
	free(r->props_block);
	free(r->rprops);
	free(r);
}

/* Gives the request its token (c->mu held) and remembers it for ferry_wait. */
static int req_issue_locked(struct ferry_client *c, struct ferry_req *r, ferry_token *token)
{
	r->op.token = c->next_token++;
	if (token) {
		if (ferry__tokens_add(&c->tokens, r->op.token))
			return FERRY_ERR_NOMEM;
		*token = r->op.token;
	}
	return FERRY_OK;
}

void ferry__req_done_locked(struct ferry_req *r, int rc)
{
	struct ferry_client *c = r->c;
	r->rc = rc;
	r->server = c->server < c->nservers ? c->server : 0;
	ferry__tokens_complete(&c->tokens, r->op.token, rc);
	if (r->waiter && rc != FERRY_OK)
		ferry__mqtt5_request_failed_locked(c, r, rc); /* its ferry_request fails with it */
	if (r->stored && rc != FERRY_ERR_CANCELLED)
		ferry__store_completed_locked(c, r); /* cancelled (destroy): kept for the next run */
	if (c->waiters)
		pthread_cond_broadcast(&c->cv);
}

/*
 * Makes room in the outbox for a publish of `bytes` under the limits
 * (c->mu held): drops the oldest queued publishes under the drop-oldest
 * policy (their completions go to rx), or refuses. FERRY_OK or
 * FERRY_ERR_QUEUE_FULL.
 */
static int make_room_locked(struct ferry_client *c, size_t count, size_t bytes)
{
	size_t maxn = c->cb.max_queued, maxb = c->cb.max_queued_bytes;
	if (!maxn && !maxb)
		return FERRY_OK;
	for (;;) {
		struct ferry_session_counts n;
		ferry__session_counts(c->session, &n);
		bool full = (maxn && n.queued + count > maxn) || (maxb && n.queued_bytes + bytes > maxb);
		if (!full)
			return FERRY_OK;
		struct ferry_op *old = ferry__session_oldest_queued(c->session);
		if (c->cb.queue_policy != FERRY_QUEUE_DROP_OLDEST || !old ||
		    old->kind != FERRY_OP_PUBLISH || (maxb && bytes > maxb) || (maxn && count > maxn)) {
			c->stats.refused++;
			return FERRY_ERR_QUEUE_FULL;
		}
		ferry__session_remove_queued(c->session, old);
		c->stats.dropped++;
		struct ferry_req *dr = old->owner;
		ferry__log(c, FERRY_LOG_INFO, "outbox full: dropped the publish of token %llu",
		           (unsigned long long)old->token);
		ferry__req_done_locked(dr, FERRY_ERR_DROPPED);
		ferry__ctx_post(c->ctx, &dr->ev);
	}
}

/* Queues a SUBSCRIBE or UNSUBSCRIBE in the outbox and wakes the send
 * thread (publishes go through submit_publishes). */
int ferry__req_submit(struct ferry_client *c, struct ferry_req *r, ferry_token *token)
{
	ferry__lock(&c->mu);
	int rc = c->destroying ? FERRY_ERR_STATE : FERRY_OK;
	if (!rc)
		rc = req_issue_locked(c, r, token);
	if (rc) {
		ferry__unlock(&c->mu);
		ferry__req_free(r);
		return rc;
	}
	ferry__session_enqueue(c->session, &r->op);
	bool live = c->state == FERRY_CS_CONNECTED;
	ferry__unlock(&c->mu);
	if (live)
		ferry__ctx_kick_tx(c);
	return FERRY_OK;
}

struct ferry_req *ferry__req_publish_new(struct ferry_client *c, const void *topic, size_t tlen,
                                        const void *payload, size_t len, uint8_t qos,
                                        bool retain, const struct ferry_call *call)
{
	struct ferry_req *r = ferry__req_new(c, FERRY_OP_PUBLISH, tlen + 1 + len, call);
	if (!r)
		return NULL;
	r->topic = (uint8_t *)(r + 1);
	memcpy(r->topic, topic, tlen);
	r->topic[tlen] = 0;
	r->topic_len = tlen;
	r->payload = r->topic + tlen + 1;
	if (len)
		memcpy(r->payload, payload, len);
	r->payload_len = len;
	r->retain = retain;
	r->op.kind = FERRY_OP_PUBLISH;
	r->op.qos = qos;
	r->op.bytes = tlen + len;
	return r;
}

/* Checks one message's arguments and makes its request (*out). */
static int publish_req(struct ferry_client *c, const struct ferry_publish_msg *m,
                       const struct ferry_call *call, struct ferry_req **out)
{
	*out = NULL;
	if (!m->topic || m->qos < 0 || m->qos > 2 || (!m->payload && m->len))
		return FERRY_ERR_INVAL;
	size_t tlen = strlen(m->topic);
	int rc = ferry__topic_name_check((const uint8_t *)m->topic, tlen);
	if (rc)
		return rc;
	if (m->len > FERRY_VARINT_MAX - tlen - 16)
		return FERRY_ERR_PACKET_TOO_LARGE;
	*out = ferry__req_publish_new(c, m->topic, tlen, m->payload, m->len, (uint8_t)m->qos,
	                              m->retain, call);
	if (!*out)
		return FERRY_ERR_NOMEM;
	rc = ferry__req_set_props(*out, m->props ? m->props : call ? call->props : NULL,
	                          FERRY_PUBLISH);
	if (rc) {
		ferry__req_free(*out);
		*out = NULL;
	}
	return rc;
}

static void free_reqs(struct ferry_req **reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ferry__req_free(reqs[i]);
}

/*
 * Queues n publishes at once, in order, all or none: under the lock they
 * get room and tokens; the QoS 1/2 ones are then committed to the store
 * (without the lock, so concurrent publishers share commits) and all are
 * queued. Takes the requests (freed on failure).
 */
static int submit_publishes(struct ferry_client *c, struct ferry_req **reqs, size_t n,
                            ferry_token *tokens)
{
	struct ferry_req *one, **stored = n == 1 ? &one : malloc(n * sizeof *stored);
	if (!stored) {
		free_reqs(reqs, n);
		return FERRY_ERR_NOMEM;
	}
	size_t ns = 0, bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += reqs[i]->op.bytes;
	ferry__lock(&c->mu);
	int rc = c->destroying ? FERRY_ERR_STATE : make_room_locked(c, n, bytes);
	for (size_t i = 0; i < n && !rc; i++) {
		reqs[i]->op.token = c->next_token++;
		if (c->store && reqs[i]->op.qos > 0)
			stored[ns++] = reqs[i];
	}
	ferry__unlock(&c->mu);
	if (!rc && ns)
		rc = ferry__store_put(c, stored, ns);
	if (stored != &one)
		free(stored);
	if (rc) {
		free_reqs(reqs, n);
		return rc;
	}
	ferry__lock(&c->mu);
	for (size_t i = 0; i < n; i++) {
		struct ferry_req *r = reqs[i];
		r->stored = c->store && r->op.qos > 0;
		if (tokens) {
			tokens[i] = r->op.token;
			if (ferry__tokens_add(&c->tokens, r->op.token))
				ferry__log(c, FERRY_LOG_ERROR, "out of memory: ferry_wait cannot follow token %llu",
				           (unsigned long long)r->op.token);
		}
		ferry__session_enqueue(c->session, &r->op);
	}
	bool live = c->state == FERRY_CS_CONNECTED;
	ferry__unlock(&c->mu);
	if (live)
		ferry__ctx_kick_tx(c);
	return FERRY_OK;
}

int ferry_publish(ferry_client *c, const char *topic, const void *payload, size_t len, int qos,
                  bool retain, const struct ferry_call *call, ferry_token *token)
{
	if (!c)
		return FERRY_ERR_INVAL;
	struct ferry_publish_msg m = {.topic = topic, .payload = payload, .len = len, .qos = qos, .retain = retain};
	struct ferry_req *r;
	int rc = publish_req(c, &m, call, &r);
	if (rc)
		return rc;
	return submit_publishes(c, &r, 1, token);
}

int ferry_publish_message(ferry_client *c, const struct ferry_publish_msg *msg,
                          const struct ferry_call *call, ferry_token *token)
{
	if (!c || !msg)
		return FERRY_ERR_INVAL;
	struct ferry_req *r;
	int rc = publish_req(c, msg, call, &r);
	if (rc)
		return rc;
	return submit_publishes(c, &r, 1, token);
}

int ferry__publish_for_request(struct ferry_client *c, const struct ferry_publish_msg *m,
                               uint64_t waiter)
{
	struct ferry_req *r;
	int rc = publish_req(c, m, NULL, &r);
	if (rc)
		return rc;
	r->waiter = waiter;
	return submit_publishes(c, &r, 1, NULL);
}

int ferry_publish_many(ferry_client *c, const struct ferry_publish_msg *msgs, size_t n,
                       const struct ferry_call *call, ferry_token *tokens)
{
	if (!c || !msgs || n == 0 || n > SIZE_MAX / sizeof(struct ferry_req *))
		return FERRY_ERR_INVAL;
	struct ferry_req **reqs = malloc(n * sizeof *reqs);
	if (!reqs)
		return FERRY_ERR_NOMEM;
	int rc = FERRY_OK;
	size_t made = 0;
	for (; made < n && !rc; made++)
		rc = publish_req(c, &msgs[made], call, &reqs[made]);
	if (rc) {
		free_reqs(reqs, made - 1);
		free(reqs);
		return rc;
	}
	rc = submit_publishes(c, reqs, n, tokens);
	free(reqs);
	return rc;
}


/* ---- connect, disconnect, wait ----------------------------------------- */

/* Completes a request whose callbacks must run on rx (from any thread). */
static void post_done(struct ferry_client *c, struct ferry_req *r, int rc)
{
	ferry__lock(&c->mu);
	ferry__req_done_locked(r, rc);
	ferry__unlock(&c->mu);
	ferry__ctx_post(c->ctx, &r->ev);
}

int ferry_connect(ferry_client *c, const struct ferry_call *call, ferry_token *token)
{
	if (!c)
		return FERRY_ERR_INVAL;
	struct ferry_req *r = ferry__req_new(c, FERRY_OP_CONNECT, 0, call);
	if (!r)
		return FERRY_ERR_NOMEM;
	ferry__lock(&c->mu);
	int rc = FERRY_OK;
	bool waiting = c->state == FERRY_CS_BACKOFF; /* reconnecting: try now */
	if (c->destroying || (c->state != FERRY_CS_IDLE && !waiting) || c->connect_req)
		rc = FERRY_ERR_STATE;
	else
		rc = req_issue_locked(c, r, token);
	if (rc) {
		ferry__unlock(&c->mu);
		ferry__req_free(r);
		return rc;
	}
	c->connect_req = r;
	c->state = FERRY_CS_START;
	c->server = 0;
	c->attempt_rc = FERRY_ERR_CONNECT;
	ferry__unlock(&c->mu);
	ferry__ctx_kick_tx(c);
	return FERRY_OK;
}

/* MQTT 5: the DISCONNECT's reason code and properties. A session that was
 * to end with the connection cannot be kept at the last moment (3.14.2.2.2). */
static int disconnect_props(struct ferry_client *c, struct ferry_req *r,
                            const struct ferry_call *call)
{
	if (!call || (!call->props && !call->reason_code))
		return FERRY_OK;
	if (c->version != FERRY_MQTT_5)
		return FERRY_ERR_UNSUPPORTED;
	/* The reason codes a client may send (MQTT 5 table 3-10, "Sent by"). */
	static const uint8_t allowed[] = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90,
	                                  0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99};
	if (!memchr(allowed, call->reason_code, sizeof allowed) || call->reason_code < 0 ||
	    call->reason_code > 255)
		return FERRY_ERR_INVAL;
	r->reason_out = (uint8_t)call->reason_code;
	int rc = ferry__req_set_props(r, call->props, FERRY_DISCONNECT);
	if (rc)
		return rc;
	const struct ferry_props *k = &c->connect_props;
	bool was_zero = !(k->present & FERRY_PROP_BIT(FERRY_PROP_SESSION_EXPIRY)) || !k->session_expiry;
	if (was_zero && (r->props.present & FERRY_PROP_BIT(FERRY_PROP_SESSION_EXPIRY)) &&
	    r->props.session_expiry)
		return FERRY_ERR_PROPERTY_VALUE;
	/* A code the client may not send is caught now, not at the encoder. */
	struct ferry_packet p = {.type = FERRY_DISCONNECT};
	p.u.disconnect.reason = r->reason_out;
	p.u.disconnect.props = r->props;
	size_t size;
	return ferry__encode_size(c->version, &p, &size);
}

int ferry_disconnect(ferry_client *c, int timeout_ms, const struct ferry_call *call,
                     ferry_token *token)
{
	if (!c)
		return FERRY_ERR_INVAL;
	struct ferry_req *r = ferry__req_new(c, FERRY_OP_DISCONNECT, 0, call);
	if (!r)
		return FERRY_ERR_NOMEM;
	int rc = disconnect_props(c, r, call);
	if (rc) {
		ferry__req_free(r);
		return rc;
	}
	ferry__lock(&c->mu);
	rc = c->destroying || c->disconnect_req ? FERRY_ERR_STATE : req_issue_locked(c, r, token);
	if (rc) {
		ferry__unlock(&c->mu);
		ferry__req_free(r);
		return rc;
	}
	int done_rc = 1; /* 1: completes later */
	switch (c->state) {
	case FERRY_CS_CONNECTED:
		c->state = FERRY_CS_DRAINING;
		c->deadline_connect = ferry__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
		c->disconnect_req = r;
		break;
	case FERRY_CS_START:
	case FERRY_CS_DNS:
	case FERRY_CS_TCP:
	case FERRY_CS_HANDSHAKE:
	case FERRY_CS_CONNACK:
		/* Stop trying: the pending connect completes as cancelled. */
		c->disconnect_req = r;
		ferry__conn_fail_locked(c, FERRY_ERR_CANCELLED, "disconnect called while connecting");
		break;
	case FERRY_CS_BACKOFF:
		c->state = FERRY_CS_IDLE; /* no more reconnecting */
		done_rc = FERRY_OK;
		break;
	case FERRY_CS_DRAINING:
	case FERRY_CS_CLOSING:
		done_rc = FERRY_ERR_STATE;
		break;
	default:
		done_rc = FERRY_ERR_NOT_CONNECTED;
		break;
	}
	ferry__unlock(&c->mu);
	if (done_rc != 1)
		post_done(c, r, done_rc);
	else
		ferry__ctx_kick_tx(c);
	return FERRY_OK;
}

int ferry_wait(ferry_client *c, ferry_token token, int timeout_ms)
{
	if (!c)
		return FERRY_ERR_INVAL;
	if (ferry__ctx_on_own_thread(c->ctx))
		return FERRY_ERR_IN_CALLBACK;
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : ferry__now_ms() + (uint64_t)timeout_ms;
	int rc = FERRY_ERR_NOT_FOUND;
	ferry__lock(&c->mu);
	for (;;) {
		int st = ferry__tokens_state(&c->tokens, token, &rc);
		if (st == 0)
			break;
		if (st < 0) {
			rc = FERRY_ERR_NOT_FOUND;
			break;
		}
		if (ferry__now_ms() >= deadline) {
			rc = FERRY_ERR_TIMEOUT;
			break;
		}
		c->waiters++;
		ferry__cond_wait_until(&c->cv, &c->mu, deadline);
		c->waiters--;
	}
	ferry__unlock(&c->mu);
	return rc;
}

bool ferry_is_connected(ferry_client *c)
{
	if (!c)
		return false;
	ferry__lock(&c->mu);
	bool up = c->state == FERRY_CS_CONNECTED || c->state == FERRY_CS_DRAINING;
	ferry__unlock(&c->mu);
	return up;
}

int ferry_client_stats(ferry_client *c, struct ferry_stats *out)
{
	if (!c || !out)
		return FERRY_ERR_INVAL;
	struct ferry_session_counts n;
	ferry__lock(&c->mu);
	*out = c->stats;
	ferry__session_counts(c->session, &n);
	ferry__unlock(&c->mu);
	out->inflight = n.inflight;
	out->queued = n.queued;
	return FERRY_OK;
}

/* ---- destroy ------------------------------------------------------------- */

void ferry_client_destroy(ferry_client *c)
{
	if (!c)
		return;
	struct ferry_context *ctx = c->ctx;
	bool on_rx = ferry__ctx_on_rx_thread(ctx);
	ferry__lock(&c->mu);
	if (c->destroying) {
		ferry__unlock(&c->mu);
		return;
	}
	c->destroying = true;
	c->free_on_retire = on_rx;
	/* destroying is set: no connection-lost callback, no next step */
	ferry__conn_fail_locked(c, FERRY_ERR_CANCELLED, "client destroyed");
	ferry__unlock(&c->mu);
	ferry__ctx_retire(c);
	if (on_rx)
		return; /* rx finishes the job once the running callback returns */
	ferry__lock(&c->mu);
	c->waiters++;
	while (!c->retired)
		ferry__cond_wait_until(&c->cv, &c->mu, UINT64_MAX);
	c->waiters--;
	ferry__unlock(&c->mu);
	bool own = c->own_ctx;
	ferry__client_free(c);
	ferry__ctx_client_gone(ctx, own, false);
}

/* ---- messages --------------------------------------------------------- */

struct ferry_message *ferry_message_dup(const struct ferry_message *m)
{
	if (!m || (!m->topic && m->topic_len) || (!m->payload && m->payload_len))
		return NULL;
	/* Layout: the message, its properties and their bytes, topic, payload. */
	size_t head = sizeof(struct ferry_message), pbytes = 0;
	if (m->props) {
		head = (sizeof(struct ferry_message) + sizeof *m->props + sizeof(max_align_t) - 1) / sizeof(max_align_t) *
		       sizeof(max_align_t);
		pbytes = ferry__api_props_size(m->props);
	}
	struct ferry_message *d = malloc(head + pbytes + m->topic_len + 1 + m->payload_len);
	if (!d)
		return NULL;
	*d = *m;
	if (m->props) {
		struct ferry_properties *pc = (struct ferry_properties *)(d + 1);
		ferry__api_props_copy(m->props, (char *)d + head, pc);
		d->props = pc;
	}
	char *topic = (char *)d + head + pbytes;
	if (m->topic_len)
		memcpy(topic, m->topic, m->topic_len);
	topic[m->topic_len] = 0;
	d->topic = topic;
	if (m->payload_len)
		memcpy(topic + m->topic_len + 1, m->payload, m->payload_len);
	d->payload = topic + m->topic_len + 1;
	return d;
}

void ferry_message_free(struct ferry_message *m)
{
	free(m);
}

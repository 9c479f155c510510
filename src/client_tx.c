/*
 * client_tx.c - the send thread's work for one client: making the TCP
 * connection and writing CONNECT, encoding queued packets into the write
 * buffer (many packets per write), keepalive pings, the disconnect drain,
 * and completing QoS 0 publishes once they are written.
 *
 * Runs only on the context's send thread. The client lock is held while
 * choosing and encoding packets, never across a system call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "engine.h"
#include "keepalive.h"
#include "platform.h"
#include "again.h"
#include "tcp.h"
#include "tls.h"

/* Stop filling the write buffer past this many bytes in one round. */
#define TX_BATCH (256u * 1024u)
/* Write at most this much per client per round, so one busy client cannot
 * starve the others of the send thread. */
#define TX_ROUND (1024u * 1024u)

/* Encodes p at the end of wbuf. */
int ferry__packet_append(struct ferry_client *c, struct ferry_buf *b, const struct ferry_packet *p,
                         size_t max, size_t *len)
{
	size_t size;
	int rc = ferry__encode_size(c->version, p, &size);
	if (rc)
		return rc;
	if (max && size > max)
		return FERRY_ERR_PACKET_TOO_LARGE;
	uint8_t *dst = ferry__buf_reserve(b, size);
	if (!dst)
		return FERRY_ERR_NOMEM;
	rc = ferry__encode(c->version, p, dst, size, len);
	if (rc)
		return rc;
	ferry__buf_commit(b, *len);
	c->stats.packets_sent[p->type]++;
	return FERRY_OK;
}

static int put_packet(struct ferry_client *c, const struct ferry_packet *p)
{
	size_t len;
	/* MQTT 5: nothing over the broker's Maximum Packet Size */
	int rc = ferry__packet_append(c, &c->wbuf, p, c->server_max_packet, &len);
	if (rc)
		return rc;
	c->tx_appended += len;
	if (c->cb.on_log && c->cb.log_level >= FERRY_LOG_DEBUG) {
		char text[400];
		ferry__packet_dump(c->version, p, text, sizeof text);
		ferry__log(c, FERRY_LOG_DEBUG, "sending %s", text);
	}
	return FERRY_OK;
}

static int put_connect(struct ferry_client *c)
{
	struct ferry_packet p = {.type = FERRY_CONNECT};
	struct ferry_connect *k = &p.u.connect;
	k->version = c->version; /* for the debug trace; the encoder takes it as an argument */
	k->clean_start = c->clean_session;
	k->keepalive = c->keepalive_s;
	k->client_id = ferry__bytes_str(c->client_id);
	if (c->has_will) {
		k->has_will = true;
		k->will.qos = (uint8_t)c->will.qos;
		k->will.retain = c->will.retain;
		k->will.topic = ferry__bytes_str(c->will.topic);
		k->will.payload.p = c->will.payload;
		k->will.payload.len = c->will.payload_len;
		k->will.props = c->will_props;
	}
	k->props = c->connect_props;
	if (c->username) {
		k->has_username = true;
		k->username = ferry__bytes_str(c->username);
	}
	if (c->has_password) {
		k->has_password = true;
		k->password.p = c->password;
		k->password.len = c->password_len;
	}
	return put_packet(c, &p);
}

/* Encodes a PUBLISH: MQTT 5 properties as they stand at sending. */
static int put_publish(struct ferry_client *c, struct ferry_op *op, uint64_t now)
{
	struct ferry_req *r = op->owner;
	/* The broker's MQTT 5 limits: such a message is refused, never sent. */
	if (op->qos > c->server_max_qos)
		return FERRY_ERR_QOS_NOT_SUPPORTED;
	if (r->retain && c->server_no_retain)
		return FERRY_ERR_RETAIN_NOT_SUPPORTED;
	struct ferry_packet p = {.type = FERRY_PUBLISH};
	struct ferry_publish *pub = &p.u.publish;
	pub->qos = op->qos;
	pub->dup = op->dup;
	pub->retain = r->retain;
	pub->packet_id = op->packet_id;
	pub->topic.p = r->topic;
	pub->topic.len = r->topic_len;
	pub->payload.p = r->payload;
	pub->payload.len = r->payload_len;
	if (c->version == FERRY_MQTT_5) {
		int rc = ferry__mqtt5_publish_props(c, r, now, &pub->props, &pub->topic);
		if (rc)
			return rc;
	}
	int rc = put_packet(c, &p);
	if (rc && pub->topic.len && (pub->props.present & FERRY_PROP_BIT(FERRY_PROP_TOPIC_ALIAS)))
		ferry__mqtt5_alias_forget(c, pub->props.topic_alias); /* the broker never saw it */
	return rc;
}

/* Encodes the packet that `what` asks for op. */
static int put_op(struct ferry_client *c, enum ferry_send_what what, struct ferry_op *op,
                  uint64_t now)
{
	struct ferry_req *r = op->owner;
	struct ferry_packet p = {0};
	switch (what) {
	case FERRY_SEND_PUBLISH:
		return put_publish(c, op, now);
	case FERRY_SEND_PUBREL:
		p.type = FERRY_PUBREL;
		p.u.ack.packet_id = op->packet_id;
		break;
	case FERRY_SEND_SUBSCRIBE:
		if (c->version == FERRY_MQTT_5 && !op->dup && ferry__mqtt5_subscribe_check(c, r))
			return FERRY_ERR_SUB_NOT_SUPPORTED;
		p.type = FERRY_SUBSCRIBE;
		p.u.subscribe.packet_id = op->packet_id;
		p.u.subscribe.entries = r->entries;
		p.u.subscribe.count = r->nfilters;
		p.u.subscribe.props = r->props;
		break;
	case FERRY_SEND_UNSUBSCRIBE:
		p.type = FERRY_UNSUBSCRIBE;
		p.u.unsubscribe.packet_id = op->packet_id;
		p.u.unsubscribe.filters = r->filters;
		p.u.unsubscribe.count = r->nfilters;
		p.u.unsubscribe.props = r->props;
		break;
	default:
		return FERRY_ERR_STATE;
	}
	return put_packet(c, &p);
}

static bool refused_by_limits(int rc)
{
	return rc == FERRY_ERR_PACKET_TOO_LARGE || rc == FERRY_ERR_QOS_NOT_SUPPORTED ||
	       rc == FERRY_ERR_RETAIN_NOT_SUPPORTED || rc == FERRY_ERR_EXPIRED ||
	       rc == FERRY_ERR_SUB_NOT_SUPPORTED;
}

/* Completed-request chain to post once the lock is released. */
struct done_chain {
	struct ferry_event *head, *tail;
};

static void chain_add(struct done_chain *d, struct ferry_req *r)
{
	r->ev.next = NULL;
	if (d->tail)
		d->tail->next = &r->ev;
	else
		d->head = &r->ev;
	d->tail = &r->ev;
}

/* Fills wbuf from the control queue and the session (c->mu held). Returns
 * true when it stopped because the batch was full (more may be waiting). */
static void take_ctrl_locked(struct ferry_client *c)
{
	if (ferry__buf_used(&c->ctrl)) {
		const uint8_t *p = c->ctrl.p + c->ctrl.off;
		size_t n = ferry__buf_used(&c->ctrl);
		if (ferry__buf_append(&c->wbuf, p, n) == FERRY_OK) {
			c->tx_appended += n;
			ferry__buf_clear(&c->ctrl);
		}
	}
}

static bool fill_locked(struct ferry_client *c, struct done_chain *done)
{
	if (c->tx_close_after_flush)
		return false; /* DISCONNECT is in wbuf: nothing may follow it */
	take_ctrl_locked(c);
	if (c->aborting)
		return false; /* only the DISCONNECT and what came before it */
	bool draining = c->state == FERRY_CS_DRAINING;
	uint64_t now = ferry__now_ms();
	uint32_t gen = c->gen;
	while (ferry__buf_used(&c->wbuf) < TX_BATCH) {
		if (!draining && c->store && ferry__store_need_load_locked(c)) {
			ferry__store_load_locked(c); /* drops the lock */
			if (c->gen != gen || c->state != FERRY_CS_CONNECTED)
				return false;
		}
		struct ferry_op *op = NULL;
		enum ferry_send_what what = draining ? ferry__session_next_resend(c->session, &op)
		                                     : ferry__session_next_send(c->session, &op);
		if (what == FERRY_SEND_NONE || !op)
			return false;
		struct ferry_req *r = op->owner;
		int rc = put_op(c, what, op, now);
		bool q0 = what == FERRY_SEND_PUBLISH && op->qos == 0;
		/* A resend (DUP) over a new broker's limits fails the same way:
		 * kept, it would hold its window slot and never complete. */
		if (rc && what != FERRY_SEND_PUBREL && refused_by_limits(rc) &&
		    (q0 || op->state == FERRY_OPS_WAIT_ACK)) {
			/* Over the broker's limits (or expired): this one fails, the others go on. */
			ferry__log(c, FERRY_LOG_WARNING, "%s of token %llu not sent: %s",
			           what == FERRY_SEND_PUBLISH     ? "publish"
			           : what == FERRY_SEND_SUBSCRIBE ? "subscribe"
			                                          : "unsubscribe",
			           (unsigned long long)op->token, ferry_strerror(rc));
			if (!q0)
				ferry__session_abort(c->session, op);
			for (size_t i = 0; what == FERRY_SEND_SUBSCRIBE && i < r->nfilters; i++)
				ferry__drop_sub_cb_locked(c, r->entries[i].filter);
			ferry__req_done_locked(r, rc);
			chain_add(done, r);
			continue;
		}
		if (rc) {
			/* Validated at submit, so only memory can fail here. */
			ferry__log(c, FERRY_LOG_ERROR, "cannot encode packet kind %d: %s", (int)what,
			           ferry_strerror(rc));
			if (q0) {
				ferry__req_done_locked(r, rc);
				chain_add(done, r);
			}
			return false;
		}
		if (c->store && !q0 && (what == FERRY_SEND_PUBLISH || what == FERRY_SEND_PUBREL) &&
		    ferry__store_note_send_locked(c, (int)what, op) != FERRY_OK)
			ferry__log(c, FERRY_LOG_ERROR, "store: out of memory, progress of token %llu not"
			                               " recorded", (unsigned long long)op->token);
		if (q0) {
			r->end_seq = c->tx_appended;
			r->op.next = NULL;
			if (c->written_q0_last)
				c->written_q0_last->op.next = &r->op;
			else
				c->written_q0 = r;
			c->written_q0_last = r;
		}
	}
	return true;
}

/* Completes the QoS 0 publishes whose bytes are all written (c->mu held). */
static void complete_written(struct ferry_client *c, struct done_chain *done, int rc, bool all)
{
	while (c->written_q0 && (all || c->written_q0->end_seq <= c->tx_written)) {
		struct ferry_req *r = c->written_q0;
		c->written_q0 = r->op.next ? r->op.next->owner : NULL;
		if (!c->written_q0)
			c->written_q0_last = NULL;
		ferry__req_done_locked(r, rc);
		chain_add(done, r);
	}
}

/* Keepalive and the disconnect drain (c->mu held). */
static void timers_locked(struct ferry_client *c, uint64_t now, uint64_t *deadline)
{
	struct ferry_ka_state ka = {
		.interval_ms = (uint64_t)c->keepalive_eff * 1000u,
		.ping_timeout_ms = c->ping_timeout_ms,
		.last_sent = c->last_sent,
		.last_received = c->last_received,
		.ping_sent_at = c->ping_sent_at,
		.ping_outstanding = c->ping_outstanding,
	};
	/* Nothing follows a DISCONNECT, not even a ping. */
	bool closing = c->aborting || c->tx_close_after_flush;
	switch (closing ? FERRY_KA_NONE : ferry__keepalive_check(&ka, now, deadline)) {
	case FERRY_KA_SEND_PING: {
		struct ferry_packet ping = {.type = FERRY_PINGREQ};
		if (put_packet(c, &ping) == FERRY_OK) {
			c->ping_outstanding = true;
			c->ping_sent_at = now;
			ka.ping_outstanding = true;
			ka.ping_sent_at = now;
			ferry__keepalive_check(&ka, now, deadline);
		}
		break;
	}
	case FERRY_KA_LOST:
		/* Bytes waiting in the socket were received: the link is alive and
		 * only the receive thread is late (a callback of another client
		 * of this context may be blocking it). They count as life, and as
		 * the answer to the ping, so pings go on and the broker does not
		 * time us out while the receive thread is held up. */
		if (c->fd >= 0 && ferry__tcp_pending(c->fd) > 0) {
			c->last_received = now;
			c->ping_outstanding = false;
			ka.last_received = now;
			ka.ping_outstanding = false;
			ferry__keepalive_check(&ka, now, deadline);
			break;
		}
		ferry__conn_fail_locked(c, FERRY_ERR_KEEPALIVE,
		                        "keepalive timeout: no answer to PINGREQ");
		return;
	default:
		break;
	}
	if (c->aborting) {
		if (now >= c->deadline_drain)
			ferry__conn_fail_locked(c, c->abort_cause, c->abort_text);
		else if (c->deadline_drain < *deadline)
			*deadline = c->deadline_drain;
		return;
	}
	if (c->state != FERRY_CS_DRAINING)
		return;
	if (c->tx_close_after_flush) {
		/* DISCONNECT queued but not written (a peer that stopped reading):
		 * give up on it, so disconnect finishes in bounded time. */
		if (now >= c->deadline_drain)
			ferry__conn_fail_locked(c, FERRY_OK, "disconnected (DISCONNECT not written)");
		else if (c->deadline_drain < *deadline)
			*deadline = c->deadline_drain;
		return;
	}
	struct ferry_session_counts n;
	ferry__session_counts(c->session, &n);
	if (n.inflight == 0 || now >= c->deadline_connect) {
		struct ferry_packet d = {.type = FERRY_DISCONNECT};
		if (c->disconnect_req) {
			d.u.disconnect.reason = c->disconnect_req->reason_out;
			d.u.disconnect.props = c->disconnect_req->props;
		}
		int rc = put_packet(c, &d);
		if (rc == FERRY_ERR_PACKET_TOO_LARGE) {
			/* Over the broker's Maximum Packet Size: the reason string
			 * and user properties go first (MQTT 5 3.14.2.2.3-4). */
			memset(&d.u.disconnect.props, 0, sizeof d.u.disconnect.props);
			if (c->disconnect_req)
				d.u.disconnect.props.session_expiry = c->disconnect_req->props.session_expiry;
			if (c->disconnect_req && (c->disconnect_req->props.present &
			                          FERRY_PROP_BIT(FERRY_PROP_SESSION_EXPIRY)))
				d.u.disconnect.props.present = FERRY_PROP_BIT(FERRY_PROP_SESSION_EXPIRY);
			rc = put_packet(c, &d);
		}
		if (rc == FERRY_ERR_PACKET_TOO_LARGE) {
			ferry__conn_fail_locked(c, FERRY_OK, "disconnected (DISCONNECT over the broker's limit)");
			return;
		}
		if (rc == FERRY_OK) {
			c->tx_close_after_flush = true;
			c->deadline_drain = now + 1000u;
			if (c->deadline_drain < *deadline)
				*deadline = c->deadline_drain;
		}
	} else if (c->deadline_connect < *deadline) {
		*deadline = c->deadline_connect;
	}
}

/* Called on a glibc thread when a lookup finishes (see resolve.h). */
static void dns_done(void *arg)
{
	ferry__ctx_kick_tx(arg);
}

/* Starts a non-blocking connect to an address (c->mu held). */
static void connect_to(struct ferry_client *c, const struct sockaddr *sa, socklen_t sl)
{
	char err[160] = "";
	int fd = -1;
	int rc = ferry__tcp_connect(sa, sl, &fd, err, sizeof err);
	if (rc) {
		ferry__conn_fail_locked(c, rc, err);
		return;
	}
	c->fd = fd;
	c->state = FERRY_CS_TCP;
	if (ferry__ctx_watch_tx(c, fd, true, false))
		ferry__conn_fail_locked(c, FERRY_ERR_SYSTEM, "epoll_ctl failed");
}

/* START: connect at once to a numeric address, or start a lookup. */
static void start_connect(struct ferry_client *c, uint64_t now)
{
	const struct ferry_uri *u = &c->servers[c->server].uri;
	/* Through a proxy, the TCP connection goes to the proxy, which then
	 * reaches (and resolves) the server. */
	const char *host = c->proxy_host ? c->proxy_host : u->host;
	size_t host_len = c->proxy_host ? strlen(c->proxy_host) : u->host_len;
	uint16_t port = c->proxy_host ? c->proxy_port : u->port;
	c->deadline_connect = now + c->connect_timeout_ms;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (ferry__tcp_numeric(host, host_len, port, &ss, &sl)) {
		connect_to(c, (const struct sockaddr *)&ss, sl);
		return;
	}
	c->state = FERRY_CS_DNS;
	int rc = ferry__resolve_start(host, host_len, port, dns_done, c, &c->dns);
	if (rc)
		ferry__conn_fail_locked(c, rc, "cannot start name resolution");
}

/* DNS: the lookup finished (or the deadline passed). */
static void finish_lookup(struct ferry_client *c, uint64_t now)
{
	const struct addrinfo *ai = NULL;
	char err[160] = "";
	int rc = ferry__resolve_result(c->dns, &ai, err, sizeof err);
	if (rc == 1) {
		if (now >= c->deadline_connect)
			ferry__conn_fail_locked(c, FERRY_ERR_CONNECT_TIMEOUT, "name resolution timed out");
		return;
	}
	if (rc) {
		ferry__conn_fail_locked(c, rc, err);
		return;
	}
	connect_to(c, ai->ai_addr, ai->ai_addrlen);
	ferry__resolve_release(c->dns);
	c->dns = NULL;
}

static void send_connect(struct ferry_client *c, uint64_t now);

/* TCP: the socket became writable (or the deadline passed). */
static void finish_connect(struct ferry_client *c, uint64_t now, bool writable)
{
	if (!writable) {
		if (now >= c->deadline_connect)
			ferry__conn_fail_locked(c, FERRY_ERR_CONNECT_TIMEOUT, "TCP connect timed out");
		return;
	}
	char err[160] = "";
	int rc = ferry__tcp_finish(c->fd, err, sizeof err);
	if (!rc)
		rc = ferry__link_new(&c->link_cfg, &c->servers[c->server].uri, c->fd, &c->link, err,
		                     sizeof err);
	if (rc) {
		ferry__conn_fail_locked(c, rc, err);
		return;
	}
	if (!ferry__link_plain(c->link)) {
		if (c->link_cfg.tls && ferry__tls_ctx_insecure(c->link_cfg.tls))
			ferry__log(c, FERRY_LOG_WARNING,
			           "TLS verification is off (insecure): the server is not authenticated");
		c->state = FERRY_CS_HANDSHAKE;
		return; /* ferry__tx_serve runs the handshake next */
	}
	send_connect(c, now);
}

/* The stream is ready for MQTT: CONNECT, and the receive thread takes reading over. */
static void send_connect(struct ferry_client *c, uint64_t now)
{
	c->server_max_packet = 0; /* the last broker's limits do not apply to this one */
	c->server_max_qos = 2;
	c->server_no_retain = false;
	c->server_no_wildcard = c->server_no_shared = c->server_no_subid = false;
	c->alias_out_max = 0;
	c->aborting = false;
	ferry__mqtt5_tx_reset(c);
	int rc = put_connect(c);
	if (!rc)
		rc = ferry__ctx_watch_tx(c, c->fd, false, false);
	if (!rc)
		rc = ferry__ctx_watch_rx(c, c->fd);
	if (rc) {
		ferry__conn_fail_locked(c, rc, "cannot send CONNECT");
		return;
	}
	c->state = FERRY_CS_CONNACK;
	c->last_received = now;
	c->keepalive_eff = c->keepalive_s; /* until the CONNACK says otherwise */
}

/*
 * HANDSHAKE: one step of the layers' set-up, with the lock dropped around
 * the I/O (a TLS handshake step can take a while). The send thread owns
 * the link until CONNECT is sent; the socket is watched both ways meanwhile.
 */
static void run_handshake(struct ferry_client *c, uint64_t now)
{
	if (now >= c->deadline_connect) {
		ferry__conn_fail_locked(c, FERRY_ERR_CONNECT_TIMEOUT, "handshake timed out");
		return;
	}
	int fd = c->fd;
	struct ferry_link *link = c->link;
	c->fd_users++;
	ferry__unlock(&c->mu);
	char err[400] = "";
	bool want_write = false;
	int rc = ferry__link_handshake(link, &want_write, err, sizeof err);
	ferry__lock(&c->mu);
	ferry__conn_release_fd_locked(c);
	if (c->fd != fd || c->state != FERRY_CS_HANDSHAKE)
		return; /* closed meanwhile */
	if (rc < 0) {
		ferry__conn_fail_locked(c, rc, err);
		return;
	}
	if (rc == FERRY__AGAIN) {
		if (ferry__ctx_watch_tx(c, fd, want_write, !want_write))
			ferry__conn_fail_locked(c, FERRY_ERR_SYSTEM, "epoll_ctl failed");
		return;
	}
	send_connect(c, now);
}

/* Writes wbuf (lock dropped around the system calls). */
static void flush(struct ferry_client *c, uint64_t now, struct done_chain *done)
{
	struct ferry_link *link = c->link;
	bool layered = link && !ferry__link_plain(link);
	if (c->fd < 0 || c->state == FERRY_CS_HANDSHAKE ||
	    (!ferry__buf_used(&c->wbuf) && !(layered && ferry__link_has_output(link))))
		return;
	int fd = c->fd;
	c->fd_users++;
	uint8_t *p = c->wbuf.p + c->wbuf.off;
	size_t left = ferry__buf_used(&c->wbuf), total = 0;
	ferry__unlock(&c->mu);
	/* What the store must know before these bytes leave (client_store.c). */
	int src = c->store ? ferry__store_commit_changes(c) : FERRY_OK;
	int rc = FERRY_OK;
	char err[400] = "";
	bool first = true;
	while (!src && (left || (first && layered)) && total < TX_ROUND) {
		size_t put = 0;
		first = false;
		rc = layered ? ferry__link_write(link, p + total, left, &put, err, sizeof err)
		             : ferry__tcp_write(fd, p + total, left, &put);
		if (rc || put == 0)
			break;
		total += put;
		left -= put;
	}
	bool more = layered && !rc && ferry__link_has_output(link);
	ferry__lock(&c->mu);
	ferry__conn_release_fd_locked(c);
	if (c->fd != fd)
		return; /* closed meanwhile: gen moved, wbuf is reset next time */
	ferry__buf_consume(&c->wbuf, total);
	c->tx_written += total;
	c->stats.bytes_sent += total;
	if (total)
		c->last_sent = now;
	complete_written(c, done, FERRY_OK, false);
	if (src) {
		ferry__conn_fail_locked(c, src, "the store could not record what was about to be sent");
		return;
	}
	if (rc) {
		ferry__conn_fail_locked(c, layered ? rc : FERRY_ERR_IO,
		                        layered && err[0] ? err : "write to the broker failed");
		return;
	}
	bool want_out = left > 0 || more;
	if (want_out != c->tx_want_out)
		ferry__ctx_watch_tx(c, fd, want_out, false);
	if (!left && !more && c->aborting && ferry__buf_used(&c->ctrl))
		take_ctrl_locked(c); /* the DISCONNECT came while writing: written next round */
	else if (!left && !more && c->aborting)
		ferry__conn_fail_locked(c, c->abort_cause, c->abort_text);
	else if (!left && !more && c->tx_close_after_flush)
		ferry__conn_fail_locked(c, FERRY_OK, "disconnected");
}

/* A new connection generation: drop what was buffered for the old one. */
static void new_generation(struct ferry_client *c, struct done_chain *done)
{
	complete_written(c, done, FERRY_ERR_NOT_CONNECTED, true);
	ferry__buf_clear(&c->wbuf);
	/* Bytes dropped unwritten (e.g. a DISCONNECT given up) must not leave
	 * the counters apart, or later QoS 0 publishes would wait forever for
	 * bytes that will never be written. */
	c->tx_written = c->tx_appended;
	c->tx_close_after_flush = false;
	c->tx_gen = c->gen;
}

void ferry__tx_serve(struct ferry_client *c, uint64_t now, bool writable)
{
	struct done_chain done = {0};
	uint64_t deadline = UINT64_MAX;
	ferry__lock(&c->mu);
	if (c->destroying) {
		ferry__unlock(&c->mu);
		/* Out of the timer heap, or the expiry loop would serve it forever
		 * and never reach the retire list. */
		c->deadline = UINT64_MAX;
		ferry__ctx_heap_remove(c);
		return;
	}
	if (c->tx_gen != c->gen)
		new_generation(c, &done);
	if (c->state == FERRY_CS_BACKOFF && now >= c->deadline_retry) {
		c->state = FERRY_CS_START;
		c->server = 0;
	}
	if (c->state == FERRY_CS_START)
		start_connect(c, now);
	if (c->state == FERRY_CS_DNS)
		finish_lookup(c, now);
	if (c->state == FERRY_CS_TCP && c->fd >= 0)
		finish_connect(c, now, writable);
	if (c->state == FERRY_CS_HANDSHAKE && c->fd >= 0)
		run_handshake(c, now);
	if (c->state == FERRY_CS_CONNACK && now >= c->deadline_connect)
		ferry__conn_fail_locked(c, FERRY_ERR_CONNECT_TIMEOUT, "no CONNACK within the connect timeout");
	bool full = false;
	if (c->state == FERRY_CS_CONNACK)
		take_ctrl_locked(c); /* enhanced authentication answers */
	if (c->state == FERRY_CS_CONNECTED || c->state == FERRY_CS_DRAINING) {
		full = fill_locked(c, &done);
		timers_locked(c, now, &deadline);
	}
	flush(c, now, &done);
	if (c->tx_gen != c->gen)
		new_generation(c, &done);
	if (c->state == FERRY_CS_DNS || c->state == FERRY_CS_TCP ||
	    c->state == FERRY_CS_HANDSHAKE || c->state == FERRY_CS_CONNACK)
		deadline = c->deadline_connect;
	else if (c->state == FERRY_CS_BACKOFF)
		deadline = c->deadline_retry;
	else if (c->state != FERRY_CS_CONNECTED && c->state != FERRY_CS_DRAINING)
		deadline = UINT64_MAX;
	if (c->nrequests) /* ferry_request timeouts run whatever the connection does */
		ferry__mqtt5_timeouts_locked(c, now, &deadline, &done.head, &done.tail);
	/* More to send than one round took: come back at once. */
	bool more = (c->state == FERRY_CS_CONNECTED || (c->aborting && c->state == FERRY_CS_DRAINING)) &&
	            !c->tx_want_out && (full || ferry__buf_used(&c->wbuf));
	ferry__unlock(&c->mu);
	if (deadline <= now)
		deadline = now + 1;
	c->deadline = deadline;
	ferry__ctx_heap_update(c);
	if (done.head)
		ferry__ctx_post_chain(c->ctx, done.head, done.tail);
	if (more)
		ferry__ctx_kick_tx(c);
}

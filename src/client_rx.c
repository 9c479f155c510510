/*
 * client_rx.c - the receive thread's work: reading a client's socket,
 * assembling and decoding frames, driving the session with what arrived,
 * delivering messages and running every callback (with no lock held), and
 * the last step of destroying a client.
 *
 * Runs only on the context's receive thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "engine.h"
#include "platform.h"
#include "reason.h"
#include "tcp.h"

/* Reads per readiness event, so one busy client does not starve the others. */
#define RX_READS 16

/* ---- completing requests -------------------------------------------------- */

void ferry__req_finish(struct ferry_req *r)
{
	struct ferry_client *c = r->c;
	struct ferry_result res = {
		.token = r->op.token,
		.op = r->type,
		.rc = r->rc,
		.reason_code = r->reason,
		.session_present = r->session_present,
		.granted = r->granted,
		.granted_count = r->granted_count,
		.server_uri = c->servers[r->server].text,
		.props = r->rprops,
		.message = r->response,
	};
	if (r->call.on_done)
		r->call.on_done(c, r->call.user, &res);
	if (r->type == FERRY_OP_PUBLISH && c->cb.on_delivery_complete)
		c->cb.on_delivery_complete(c, c->cb.user, r->op.token, r->rc);
	ferry__req_free(r);
}

void ferry__rx_run_event(struct ferry_event *ev)
{
	struct ferry_client *c = ev->c;
	if (ev->kind == FERRY_EV_OP_DONE) {
		struct ferry_req *r = (struct ferry_req *)((char *)ev - offsetof(struct ferry_req, ev));
		if (r->stored && r->rc != FERRY_ERR_CANCELLED)
			ferry__store_flush_acked(c); /* its row goes before its callbacks run */
		ferry__req_finish(r);
		return;
	}
	if (ev->kind == FERRY_EV_LOG) {
		struct ferry_log_event *le = (struct ferry_log_event *)ev;
		c->cb.on_log(c->cb.user, le->level, le->text);
		free(le);
		return;
	}
	ferry__lock(&c->mu);
	bool quiet = c->destroying;
	ferry__unlock(&c->mu);
	if (!quiet && ev->kind == FERRY_EV_LOST && c->cb.on_connection_lost)
		c->cb.on_connection_lost(c, c->cb.user, ev->cause, ev->text);
	if (!quiet && ev->kind == FERRY_EV_TAKEOVER && c->cb.on_takeover)
		c->cb.on_takeover(c, c->cb.user, ev->cause);
	free(ev);
}

/* ---- what arrived --------------------------------------------------------- */

/*
 * Runs a completion now, or for a stored publish at the end of the read
 * batch, once its row is removed (ferry__store_flush_acked in
 * ferry__rx_readable): the application never hears of an acknowledgement
 * that ferry_stored_list still shows. Stored completions keep their order.
 */
static void finish_or_defer(struct ferry_client *c, struct ferry_req *r)
{
	if (!r->stored) {
		ferry__req_finish(r);
		return;
	}
	r->ev.next = NULL;
	if (c->rx_done_tail)
		c->rx_done_tail->ev.next = &r->ev;
	else
		c->rx_done = r;
	c->rx_done_tail = r;
}

static void finish_deferred(struct ferry_client *c)
{
	ferry__store_flush_acked(c); /* also QoS 1 progress noted by tx meanwhile */
	if (!c->rx_done)
		return;
	struct ferry_req *r = c->rx_done;
	c->rx_done = c->rx_done_tail = NULL;
	while (r) {
		struct ferry_req *next =
		    r->ev.next ? (struct ferry_req *)((char *)r->ev.next - offsetof(struct ferry_req, ev))
		               : NULL;
		ferry__req_finish(r);
		r = next;
	}
}

/* Queues an acknowledgement for tx (c->mu held). */
static void queue_ack_locked(struct ferry_client *c, int type, uint16_t id)
{
	uint8_t b[4] = {(uint8_t)(type << 4 | (type == FERRY_PUBREL ? 2 : 0)), 2, (uint8_t)(id >> 8),
	                (uint8_t)id};
	ferry__log(c, FERRY_LOG_DEBUG, "sending %s id=%u", ferry__ptype_name(type), id);
	if (ferry__buf_append(&c->ctrl, b, sizeof b) != FERRY_OK) {
		ferry__conn_fail_locked(c, FERRY_ERR_NOMEM, "acknowledgement queue full");
		return;
	}
	c->stats.packets_sent[type]++;
}

static int sub_match(void *value, void *arg)
{
	struct ferry_client *c = arg;
	struct ferry_context *ctx = c->ctx;
	size_t n = (size_t)(uintptr_t)ctx->match[63];
	const struct ferry_sub_cb *s = value;
	if (s->fn && n < 63) {
		ctx->match[n] = value;
		ctx->match[63] = (void *)(uintptr_t)(n + 1);
	}
	return 0;
}

/* Hands a message to the per-subscription callbacks that match it, or to
 * the client-wide one. */
static void deliver(struct ferry_client *c, const struct ferry_publish *p)
{
	struct ferry_context *ctx = c->ctx;
	memcpy(ctx->topic, p->topic.p, p->topic.len);
	ctx->topic[p->topic.len] = 0;
	struct ferry_message m = {
		.topic = ctx->topic,
		.topic_len = p->topic.len,
		.payload = p->payload.p,
		.payload_len = p->payload.len,
		.qos = p->qos,
		.retain = p->retain,
		.dup = p->dup,
		.props = c->version == FERRY_MQTT_5 ? ferry__rx_props_view(c, &p->props) : NULL,
	};
	if (c->version == FERRY_MQTT_5 && ferry__mqtt5_response(c, p, &m))
		return; /* the answer to a ferry_request: it goes to that request only */
	ctx->match[63] = (void *)0;
	ferry__lock(&c->mu);
	if (c->sub_fns) /* some subscription has its own callback */
		ferry__topic_index_match(c->subs, p->topic.p, p->topic.len, sub_match, c);
	size_t n = (size_t)(uintptr_t)ctx->match[63];
	struct {
		ferry_message_cb fn;
		void *user;
	} calls[63];
	for (size_t i = 0; i < n; i++) {
		calls[i].fn = ctx->match[i]->fn;
		calls[i].user = ctx->match[i]->user;
	}
	ferry__unlock(&c->mu);
	for (size_t i = 0; i < n; i++)
		calls[i].fn(c, calls[i].user, &m);
	if (n == 0 && c->cb.on_message)
		c->cb.on_message(c, c->cb.user, &m);
}

/* A 64-bit hash of topic and payload, 8 bytes a step: tells a resent message
 * from a new one (not cryptographic: a collision needs the same packet id,
 * DUP and a recent delivery as well). */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	const uint64_t k = UINT64_C(0x9E3779B97F4A7C15);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * k;
		h ^= h >> 31;
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, n);
	h = (h ^ w ^ (uint64_t)n << 56) * k;
	return h ^ (h >> 29);
}

static uint64_t content_hash(const struct ferry_publish *p)
{
	uint64_t h = hash_bytes(UINT64_C(0xcbf29ce484222325), p->topic.p, p->topic.len);
	return hash_bytes(h ^ p->topic.len, p->payload.p, p->payload.len);
}

/* MQTT 5: whether a new QoS 1/2 PUBLISH exceeds ferry's Receive Maximum
 * (c->mu held). QoS 1 messages are acknowledged before the next is read,
 * so those unacknowledged are the QoS 2 ones awaiting PUBREL. */
static bool over_receive_max_locked(struct ferry_client *c, const struct ferry_publish *p)
{
	if (c->version != FERRY_MQTT_5 || p->qos == 0)
		return false;
	struct ferry_session_counts n;
	ferry__session_counts(c->session, &n);
	if (p->qos == 2 && ferry__session_in_qos2_held(c->session, p->packet_id))
		return false; /* a resend of one already counted */
	if (n.in_qos2 + 1 <= c->recv_max)
		return false;
	char text[160];
	snprintf(text, sizeof text,
	         "the broker sent more than %u unacknowledged QoS 1/2 messages (Receive Maximum exceeded, 0x93)",
	         c->recv_max);
	ferry__conn_abort_locked(c, FERRY_ERR_PROTOCOL, text, 0x93);
	return true;
}

static void on_publish(struct ferry_client *c, const struct ferry_publish *p)
{
	if (p->qos > 0 && c->version == FERRY_MQTT_5) {
		ferry__lock(&c->mu);
		bool over = over_receive_max_locked(c, p);
		ferry__unlock(&c->mu);
		if (over)
			return;
	}
	if (p->qos == 2) {
		uint64_t h = content_hash(p);
		ferry__lock(&c->mu);
		int fresh = ferry__session_in_qos2_publish(c->session, p->packet_id);
		if (fresh == 1 && p->dup && ferry__session_in_qos2_recent(c->session, p->packet_id, h)) {
			fresh = 0; /* resent after its exchange completed: delivered already */
			ferry__log(c, FERRY_LOG_INFO, "suppressed a QoS 2 message resent after PUBCOMP (id %u)",
			           p->packet_id);
		}
		if (fresh == 1)
			ferry__session_in_qos2_delivered(c->session, p->packet_id, h);
		uint32_t mark = ferry__session_in_qos2_mark(c->session, p->packet_id);
		ferry__unlock(&c->mu);
		/* Committed before the application sees it: a restart never
		 * delivers it twice (doc/durability.md). */
		if (fresh == 1 && c->store)
			ferry__store_qos2(c, p->packet_id, mark, false);
		if (fresh < 0) {
			ferry__lock(&c->mu);
			ferry__conn_fail_locked(c, FERRY_ERR_NOMEM, "out of memory for QoS 2 state");
			ferry__unlock(&c->mu);
			return;
		}
		if (fresh)
			deliver(c, p);
	} else {
		deliver(c, p);
	}
	if (p->qos == 0)
		return;
	ferry__lock(&c->mu);
	queue_ack_locked(c, p->qos == 1 ? FERRY_PUBACK : FERRY_PUBREC, p->packet_id);
	ferry__unlock(&c->mu);
	c->rx_kick = true;
}

/* The result code of a finished request from the broker's answer. */
static int ack_rc(int type, uint8_t reason)
{
	if ((type == FERRY_PUBACK || type == FERRY_PUBREC || type == FERRY_PUBCOMP) && reason >= 0x80)
		return FERRY_ERR_REJECTED;
	return FERRY_OK;
}

/*
 * A PUBACK answered QoS 2 PUBLISH r (c->mu held): the broker took the
 * message at QoS 1, as RabbitMQ does. It is not sent again (the broker has
 * it); the publish fails with FERRY_ERR_QOS_NOT_SUPPORTED and the connection
 * closes as the protocol error it is (MQTT 3.1.1 4.8, MQTT 5 4.13).
 */
static void on_downgraded_locked(struct ferry_client *c, struct ferry_req *r, uint16_t id)
{
	char text[200];
	snprintf(text, sizeof text,
	         "broker answered QoS 2 PUBLISH (packet id %u) with PUBACK: it took the message at "
	         "QoS 1 and does not support QoS 2; publish at QoS 1 to this broker",
	         id);
	ferry__log(c, FERRY_LOG_ERROR, "%s", text);
	r->reason = -1;
	ferry__req_done_locked(r, FERRY_ERR_QOS_NOT_SUPPORTED);
	ferry__conn_abort_locked(c, FERRY_ERR_PROTOCOL, text, 0x82);
}

static void on_ack(struct ferry_client *c, int type, uint16_t id, uint8_t reason,
                   const struct ferry_suback *sa, const struct ferry_props *props)
{
	struct ferry_op *op = NULL;
	ferry__lock(&c->mu);
	if (sa && (type == FERRY_SUBACK || c->version == FERRY_MQTT_5) &&
	    (op = ferry__session_inflight(c->session, id)) != NULL &&
	    op->kind == (type == FERRY_SUBACK ? FERRY_OP_SUBSCRIBE : FERRY_OP_UNSUBSCRIBE) &&
	    sa->count != ((struct ferry_req *)op->owner)->nfilters) {
		/* One reason code per filter, or the answer means nothing: a
		 * protocol error; the request stays in flight and goes again. */
		char text[160];
		snprintf(text, sizeof text, "%s with %zu reason codes for %zu filters",
		         ferry__ptype_name(type), sa->count, ((struct ferry_req *)op->owner)->nfilters);
		ferry__conn_abort_locked(c, FERRY_ERR_PROTOCOL, text, 0x82);
		ferry__unlock(&c->mu);
		return;
	}
	enum ferry_ack_result res = ferry__session_on_ack(c->session, type, id, reason, &op);
	if (res == FERRY_ACK_UNKNOWN_ID || res == FERRY_ACK_WRONG_STATE) {
		ferry__log(c, FERRY_LOG_WARNING, "ignored %s for packet id %u (%s)",
		           ferry__ptype_name(type), id,
		           res == FERRY_ACK_UNKNOWN_ID ? "unknown id" : "unexpected");
		ferry__unlock(&c->mu);
		return;
	}
	if (res == FERRY_ACK_SEND_PUBREL) {
		ferry__unlock(&c->mu);
		c->rx_kick = true;
		return;
	}
	struct ferry_req *r = op->owner;
	if (res == FERRY_ACK_DOWNGRADED) {
		on_downgraded_locked(c, r, id);
		ferry__unlock(&c->mu);
		finish_or_defer(c, r);
		return;
	}
	r->reason = c->version == FERRY_MQTT_5 || sa ? reason : -1;
	if (c->version == FERRY_MQTT_5)
		r->rprops = ferry__props_view_dup(props);
	if (sa && sa->count) {
		r->granted = malloc(sa->count);
		if (r->granted) {
			memcpy(r->granted, sa->reasons, sa->count);
			r->granted_count = sa->count;
		}
	}
	if (type == FERRY_UNSUBACK)
		for (size_t i = 0; i < r->nfilters; i++)
			ferry__drop_sub_cb_locked(c, r->filters[i]);
	for (size_t i = 0; type == FERRY_SUBACK && sa && i < r->nfilters && i < sa->count; i++) {
		if (sa->reasons[i] >= 0x80) /* refused: no longer held */
			ferry__drop_sub_cb_locked(c, r->entries[i].filter);
		else
			ferry__sub_granted_locked(c, r->entries[i].filter);
	}
	ferry__req_done_locked(r, ack_rc(type, reason));
	/* A window slot is free (or the drain may be over): tx has work. */
	ferry__unlock(&c->mu);
	c->rx_kick = true;
	if (c->store && type == FERRY_SUBACK && sa)
		for (size_t i = 0; i < r->nfilters && i < sa->count; i++)
			if (sa->reasons[i] < 0x80)
				ferry__store_sub(c, r->entries[i].filter, r->entries[i].options, true);
	if (c->store && type == FERRY_UNSUBACK)
		for (size_t i = 0; i < r->nfilters; i++)
			ferry__store_sub(c, r->filters[i], 0, false);
	finish_or_defer(c, r);
}

/* A SUBSCRIBE request for n held subscriptions of one Subscription
 * Identifier (filters copied: a record may go meanwhile), completing
 * without a callback; NULL when out of memory. */
static struct ferry_req *resubscribe_req(struct ferry_client *c, struct ferry_sub_cb *const *subs,
                                         size_t n)
{
	size_t text = 0;
	for (size_t i = 0; i < n; i++)
		text += subs[i]->filter_len;
	struct ferry_req *r = ferry__req_new(c, FERRY_OP_SUBSCRIBE,
	                                     n * sizeof(struct ferry_sub_entry) + text, NULL);
	if (!r)
		return NULL;
	r->op.kind = FERRY_OP_SUBSCRIBE;
	r->op.token = c->next_token++;
	r->entries = (struct ferry_sub_entry *)(r + 1);
	uint8_t *copy = (uint8_t *)(r->entries + n);
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, subs[i]->filter, subs[i]->filter_len);
		r->entries[i].filter = (struct ferry_bytes){copy, subs[i]->filter_len};
		r->entries[i].options = subs[i]->qos;
		copy += subs[i]->filter_len;
	}
	r->nfilters = n;
	/* One identifier per SUBSCRIBE (MQTT 5 3.8.2.1.2); none to a broker
	 * that says it has no Subscription Identifiers. */
	if (subs[0]->sub_id && !c->server_no_subid) {
		r->props.present |= FERRY_PROP_BIT(FERRY_PROP_SUBSCRIPTION_ID);
		r->props.sub_id = subs[0]->sub_id;
	}
	return r;
}

/* A held subscription and its place in the list, for grouping by identifier. */
struct resub {
	struct ferry_sub_cb *s;
	size_t pos;
};

/* Orders by Subscription Identifier, then by place in the list (stable). */
static int by_sub_id(const void *a, const void *b)
{
	const struct resub *x = a, *y = b;
	if (x->s->sub_id != y->s->sub_id)
		return x->s->sub_id < y->s->sub_id ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The records granted, grouped by identifier (NULL when out of memory). */
static struct ferry_sub_cb **granted_subs(struct ferry_client *c, size_t total)
{
	struct resub *tmp = malloc(total * sizeof *tmp);
	struct ferry_sub_cb **subs = malloc(total * sizeof *subs);
	size_t n = 0;
	for (struct ferry_sub_cb *s = c->sub_cbs; s && tmp && subs; s = s->next)
		if (s->granted) {
			tmp[n].s = s;
			tmp[n].pos = n;
			n++;
		}
	if (tmp && subs) {
		qsort(tmp, n, sizeof *tmp, by_sub_id);
		for (size_t i = 0; i < n; i++)
			subs[i] = tmp[i].s;
	} else {
		free(subs);
		subs = NULL;
	}
	free(tmp);
	return subs;
}

/*
 * The broker has no session: subscribe again to every filter the broker
 * had granted, ahead of everything queued (c->mu held). Subscriptions not
 * yet acknowledged are not among them: their own SUBSCRIBE is still on its
 * way (in the outbox, or put back there by the session), and sending it
 * twice would break the order of the calls. One SUBSCRIBE per 64 filters
 * of the same MQTT 5 Subscription Identifier (those without one first, then
 * by identifier; list order within each); they complete without a callback. Memory shortage skips them (logged):
 * the connection is still usable.
 */
static void resubscribe_locked(struct ferry_client *c)
{
	size_t total = 0;
	for (struct ferry_sub_cb *s = c->sub_cbs; s; s = s->next)
		total += s->granted;
	if (!total)
		return;
	struct ferry_sub_cb **subs = granted_subs(c, total);
	struct ferry_req **reqs = malloc(total * sizeof *reqs);
	size_t nr = 0, done = 0;
	while (subs && reqs && done < total) {
		size_t k = 1; /* up to 64 records of one identifier per SUBSCRIBE */
		while (k < 64 && done + k < total && subs[done + k]->sub_id == subs[done]->sub_id)
			k++;
		struct ferry_req *r = resubscribe_req(c, subs + done, k);
		if (!r)
			break;
		reqs[nr++] = r;
		done += k;
	}
	if (!subs || !reqs || done < total)
		ferry__log(c, FERRY_LOG_ERROR, "out of memory: not all filters subscribed again");
	/* Queued at the head in reverse, so they leave in the records' order. */
	while (nr)
		ferry__session_enqueue_front(c->session, &reqs[--nr]->op);
	free(subs);
	free(reqs);
	ferry__log(c, FERRY_LOG_INFO, "session lost: subscribing again to %zu filters", total);
}

/* ": \"text\"" for an MQTT 5 Reason String (control characters as '?'), else "". */
static void reason_string(const struct ferry_props *p, char *out, size_t cap)
{
	out[0] = 0;
	if (!(p->present & FERRY_PROP_BIT(FERRY_PROP_REASON_STRING)) || cap < 8)
		return;
	size_t n = p->reason_string.len < cap - 6 ? p->reason_string.len : cap - 6, o = 0;
	out[o++] = ':';
	out[o++] = ' ';
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p->reason_string.p[i];
		out[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	out[o++] = '"';
	out[o] = 0;
}

/* MQTT 5 CONNACK properties the client follows (c->mu held). */
static void server_settings_locked(struct ferry_client *c, const struct ferry_props *p)
{
	c->server_max_packet = 0;
	c->server_max_qos = 2;
	c->server_no_retain = false;
	if (c->version != FERRY_MQTT_5)
		return;
	if (p->present & FERRY_PROP_BIT(FERRY_PROP_MAXIMUM_PACKET_SIZE))
		c->server_max_packet = p->maximum_packet_size;
	if (p->present & FERRY_PROP_BIT(FERRY_PROP_MAXIMUM_QOS))
		c->server_max_qos = p->maximum_qos;
	if (p->present & FERRY_PROP_BIT(FERRY_PROP_RETAIN_AVAILABLE))
		c->server_no_retain = p->retain_available == 0;
	if (p->present & FERRY_PROP_BIT(FERRY_PROP_TOPIC_ALIAS_MAXIMUM))
		c->alias_out_max = p->topic_alias_maximum;
	c->server_no_wildcard = (p->present & FERRY_PROP_BIT(FERRY_PROP_WILDCARD_SUB_AVAILABLE)) &&
	                        !p->wildcard_sub_available;
	c->server_no_shared = (p->present & FERRY_PROP_BIT(FERRY_PROP_SHARED_SUB_AVAILABLE)) &&
	                      !p->shared_sub_available;
	c->server_no_subid = (p->present & FERRY_PROP_BIT(FERRY_PROP_SUB_ID_AVAILABLE)) &&
	                     !p->sub_id_available;
	if ((p->present & FERRY_PROP_BIT(FERRY_PROP_SERVER_KEEPALIVE)) &&
	    p->server_keepalive != c->keepalive_eff) {
		ferry__log(c, FERRY_LOG_INFO, "the broker sets the keepalive to %u s (asked %u s)",
		           p->server_keepalive, c->keepalive_s);
		c->keepalive_eff = p->server_keepalive;
	}
	if (p->present & FERRY_PROP_BIT(FERRY_PROP_ASSIGNED_CLIENT_ID)) {
		char *id = malloc(p->assigned_client_id.len + 1);
		if (id) {
			memcpy(id, p->assigned_client_id.p, p->assigned_client_id.len);
			id[p->assigned_client_id.len] = 0;
			free(c->assigned_id);
			c->assigned_id = id;
		}
	}
}

static void on_connack(struct ferry_client *c, const struct ferry_connack *ca)
{
	uint64_t now = ferry__now_ms();
	ferry__lock(&c->mu);
	if (c->state != FERRY_CS_CONNACK) {
		ferry__conn_abort_locked(c, FERRY_ERR_PROTOCOL, "unexpected CONNACK", 0x82);
		ferry__unlock(&c->mu);
		return;
	}
	if (c->connect_req) {
		c->connect_req->reason = ca->reason;
		if (c->version == FERRY_MQTT_5) { /* this server's answer, not an earlier one's */
			free(c->connect_req->rprops);
			c->connect_req->rprops = ferry__props_view_dup(&ca->props);
		}
	}
	c->refused_reason = ca->reason ? ca->reason : -1;
	if (ca->reason != 0) {
		char text[160], why[100];
		reason_string(&ca->props, why, sizeof why);
		snprintf(text, sizeof text, "CONNACK refused: %s (0x%02x)%s",
		         ferry__reason_name(c->version, FERRY_CONNACK, ca->reason), ca->reason, why);
		ferry__conn_fail_locked(c, FERRY_ERR_CONNECT_REFUSED, text);
		ferry__unlock(&c->mu);
		return;
	}
	c->state = FERRY_CS_CONNECTED;
	server_settings_locked(c, &ca->props);
	c->connected_at = now;
	c->last_sent = c->last_received = now;
	c->ping_outstanding = false;
	/* The server's Receive Maximum bounds the window before anything is resent. */
	uint16_t window = c->max_inflight;
	if (c->version == FERRY_MQTT_5 && (ca->props.present & FERRY_PROP_BIT(FERRY_PROP_RECEIVE_MAXIMUM)) &&
	    ca->props.receive_maximum < window)
		window = ca->props.receive_maximum;
	ferry__session_set_window(c->session, window);
	struct ferry_op *done = NULL;
	ferry__session_on_connected(c->session, ca->session_present, &done);
	for (struct ferry_op *op = done; op; op = op->next)
		ferry__req_done_locked(op->owner, FERRY_OK);
	struct ferry_req *creq = c->connect_req;
	c->connect_req = NULL;
	if (creq) {
		creq->session_present = ca->session_present;
		ferry__req_done_locked(creq, FERRY_OK);
	}
	bool reconnect = c->connected_once;
	const char *server = c->servers[c->server].text;
	if (reconnect)
		c->stats.reconnects++;
	if (!ca->session_present && c->cb.resubscribe)
		resubscribe_locked(c);
	c->connected_once = true;
	ferry__unlock(&c->mu);
	if (!ca->session_present)
		ferry__store_qos2_clear(c); /* as the session did in memory */
	ferry__log(c, FERRY_LOG_INFO, "connected to %s (session present %d)", server,
	           ca->session_present);
	ferry__ctx_kick_tx(c);
	/* The connected callback first: it comes before any completion or
	 * message of this connection (ferry.h's ordering guarantee). */
	if (c->cb.on_connected) {
		/* assigned_id is only replaced by a CONNACK, which this thread handles. */
		struct ferry_connected_info info = {
			.server_uri = server,
			.session_present = ca->session_present,
			.reconnect = reconnect,
			.assigned_client_id =
			    ca->props.present & FERRY_PROP_BIT(FERRY_PROP_ASSIGNED_CLIENT_ID) ? c->assigned_id
			                                                                     : NULL,
			.props = c->version == FERRY_MQTT_5 ? ferry__rx_props_view(c, &ca->props) : NULL,
		};
		c->cb.on_connected(c, c->cb.user, &info);
	}
	if (creq)
		ferry__req_finish(creq);
	while (done) {
		struct ferry_op *next = done->next;
		finish_or_defer(c, done->owner);
		done = next;
	}
}

static void fail(struct ferry_client *c, int cause, const char *text)
{
	ferry__lock(&c->mu);
	ferry__conn_fail_locked(c, cause, text);
	ferry__unlock(&c->mu);
}

/* A protocol error: MQTT 5 says why with DISCONNECT `reason` before closing. */
static void abort_conn(struct ferry_client *c, int cause, const char *text, uint8_t reason)
{
	ferry__lock(&c->mu);
	ferry__conn_abort_locked(c, cause, text, reason);
	ferry__unlock(&c->mu);
}

/* One complete frame from the broker. */
static void on_frame(struct ferry_client *c, const struct ferry_frame *f)
{
	struct ferry_codec_cfg cfg = {.version = c->version, .peer = FERRY_PEER_SERVER};
	struct ferry_packet p;
	int rc = ferry__decode(&cfg, f->data, f->len, &p);
	if (rc) {
		char text[160];
		snprintf(text, sizeof text, "bad packet from the broker (type %u): %s", f->data[0] >> 4,
		         ferry_strerror(rc));
		if (rc == FERRY_ERR_TOPIC_ALIAS) /* alias 0, or no topic and no alias: 3.3.2.3.4 */
			abort_conn(c, FERRY_ERR_PROTOCOL, text, 0x94);
		else
			abort_conn(c, rc, text, 0x81); /* Malformed Packet */
		return;
	}
	if (c->cb.on_log && c->cb.log_level >= FERRY_LOG_DEBUG) {
		char text[400];
		ferry__packet_dump(c->version, &p, text, sizeof text);
		ferry__log(c, FERRY_LOG_DEBUG, "received %s", text);
	}
	ferry__lock(&c->mu);
	c->stats.packets_received[p.type]++;
	bool expect_connack = c->state == FERRY_CS_CONNACK;
	ferry__unlock(&c->mu);
	if (p.type == FERRY_AUTH) { /* MQTT 5 enhanced authentication: before CONNACK too */
		ferry__mqtt5_on_auth(c, &p.u.disconnect);
		return;
	}
	if (expect_connack != (p.type == FERRY_CONNACK)) {
		abort_conn(c, FERRY_ERR_PROTOCOL,
		           expect_connack ? "first packet from the broker is not CONNACK"
		                          : "unexpected CONNACK",
		           0x82);
		return;
	}
	switch (p.type) {
	case FERRY_CONNACK:
		on_connack(c, &p.u.connack);
		break;
	case FERRY_PUBLISH:
	{
		/* Topic aliases only as ferry's Topic Alias Maximum allows
		 * (MQTT 5 3.3.2.3.4): anything else closes with a reason. */
		char text[160];
		int reason = ferry__mqtt5_alias_in(c, &p.u.publish, text, sizeof text);
		if (reason) {
			abort_conn(c, FERRY_ERR_PROTOCOL, text, (uint8_t)reason);
			break;
		}
		on_publish(c, &p.u.publish);
	}
		break;
	case FERRY_PUBACK:
	case FERRY_PUBREC:
	case FERRY_PUBCOMP:
		on_ack(c, p.type, p.u.ack.packet_id, p.u.ack.reason, NULL, &p.u.ack.props);
		break;
	case FERRY_SUBACK:
	case FERRY_UNSUBACK:
		on_ack(c, p.type, p.u.suback.packet_id, p.u.suback.count ? p.u.suback.reasons[0] : 0,
		       &p.u.suback, &p.u.suback.props);
		break;
	case FERRY_PUBREL: {
		ferry__lock(&c->mu);
		bool held = ferry__session_in_qos2_release(c->session, p.u.ack.packet_id);
		uint32_t mark = ferry__session_in_qos2_mark(c->session, p.u.ack.packet_id);
		ferry__unlock(&c->mu);
		/* Released in the store before PUBCOMP tells the broker it may reuse
		 * the id; the mark stays, against a broker that sends the finished
		 * message again after a restart. */
		if (held && c->store)
			ferry__store_qos2(c, p.u.ack.packet_id, mark, true);
		ferry__lock(&c->mu);
		if (!held && c->version == FERRY_MQTT_5) { /* PUBCOMP 0x92: Packet Identifier not found */
			uint16_t id = p.u.ack.packet_id;
			uint8_t b[5] = {FERRY_PUBCOMP << 4, 3, (uint8_t)(id >> 8), (uint8_t)id, 0x92};
			if (ferry__buf_append(&c->ctrl, b, sizeof b) == FERRY_OK)
				c->stats.packets_sent[FERRY_PUBCOMP]++;
		} else {
			queue_ack_locked(c, FERRY_PUBCOMP, p.u.ack.packet_id);
		}
		ferry__unlock(&c->mu);
		c->rx_kick = true;
		break;
	}
	case FERRY_PINGRESP:
		ferry__lock(&c->mu);
		if (c->ping_outstanding)
			c->stats.last_ping_rtt_us = (ferry__now_ms() - c->ping_sent_at) * 1000u;
		c->ping_outstanding = false;
		ferry__unlock(&c->mu);
		break;
	case FERRY_DISCONNECT: {
		if (c->cb.on_server_disconnect) /* first, with everything the broker said */
			c->cb.on_server_disconnect(c, c->cb.user, p.u.disconnect.reason,
			                           ferry__rx_props_view(c, &p.u.disconnect.props));
		char text[160], why[100];
		reason_string(&p.u.disconnect.props, why, sizeof why);
		snprintf(text, sizeof text, "broker sent DISCONNECT: %s (0x%02x)%s",
		         ferry__reason_name(c->version, FERRY_DISCONNECT, p.u.disconnect.reason),
		         p.u.disconnect.reason, why);
		fail(c, p.u.disconnect.reason == 0x8E ? FERRY_ERR_TAKEOVER : FERRY_ERR_SERVER_DISCONNECT,
		     text);
		break;
	}
	default:
		fail(c, FERRY_ERR_PROTOCOL, "packet type not supported yet");
		break;
	}
}

/* Feeds read bytes to the frame reader; returns false to stop reading. */
static bool consume(struct ferry_client *c, const uint8_t *p, size_t n, uint32_t gen)
{
	while (n) {
		size_t used = 0;
		bool complete = false;
		struct ferry_frame f;
		int rc = ferry__frame_next(&c->reader, p, n, &used, &f, &complete);
		if (rc) {
			bool big = rc == FERRY_ERR_PACKET_TOO_LARGE;
			abort_conn(c, rc,
			           big ? "the broker sent a packet over ferry's Maximum Packet Size (0x95)"
			               : "bad packet framing from the broker",
			           big ? 0x95 : 0x81);
			return false;
		}
		p += used;
		n -= used;
		if (!complete)
			continue;
		on_frame(c, &f);
		ferry__lock(&c->mu);
		bool go = !c->destroying && c->gen == gen && c->fd >= 0 && !c->aborting;
		ferry__unlock(&c->mu);
		if (!go)
			return false;
	}
	return true;
}

void ferry__rx_readable(struct ferry_client *c)
{
	ferry__lock(&c->mu);
	bool live = c->state == FERRY_CS_CONNACK || c->state == FERRY_CS_CONNECTED ||
	            c->state == FERRY_CS_DRAINING;
	if (c->destroying || c->fd < 0 || !live) {
		ferry__unlock(&c->mu);
		return;
	}
	if (c->rx_gen != c->gen) {
		ferry__frame_reader_reset(&c->reader);
		c->rx_gen = c->gen;
	}
	int fd = c->fd;
	uint32_t gen = c->gen;
	bool discard = c->aborting; /* closing with a reason: what comes now is not read */
	struct ferry_link *link = c->link;
	bool layered = link && !ferry__link_plain(link);
	c->fd_users++;
	ferry__unlock(&c->mu);

	uint8_t *buf = c->ctx->rbuf;
	int rc = FERRY_OK;
	char err[400] = "";
	/* Bytes a layer already took off the socket (TLS records, WebSocket
	 * frames) do not wake epoll again: read until none are left. */
	for (int i = 0; i < RX_READS || (layered && ferry__link_pending(link)); i++) {
		size_t got = 0;
		bool kick = false;
		rc = layered ? ferry__link_read(link, buf, sizeof c->ctx->rbuf, &got, &kick, err,
		                                sizeof err)
		             : ferry__tcp_read(fd, buf, sizeof c->ctx->rbuf, &got);
		if (rc == FERRY_ERR_IO && !layered) /* say why: "Connection reset by peer" */
			snprintf(err, sizeof err, "read from the broker failed: %s", strerror(errno));
		if (kick)
			c->rx_kick = true;
		if (rc || got == 0)
			break;
		uint64_t now = ferry__now_ms();
		ferry__lock(&c->mu);
		c->last_received = now;
		c->stats.bytes_received += got;
		ferry__unlock(&c->mu);
		if (discard)
			continue;
		if (!consume(c, buf, got, gen))
			break;
		if (!layered && got < sizeof c->ctx->rbuf)
			break; /* drained for now: epoll reports the socket again when more comes */
	}
	if (rc == FERRY_ERR_CLOSED && layered)
		ferry__link_flush_control(link); /* e.g. the WebSocket close answer */
	finish_deferred(c);
	if (c->rx_kick) {
		c->rx_kick = false;
		ferry__ctx_kick_tx(c);
	}
	ferry__lock(&c->mu);
	if (rc && c->gen == gen)
		ferry__conn_fail_locked(c, rc,
		                        err[0]                  ? err
		                        : rc == FERRY_ERR_CLOSED ? "connection closed by the broker"
		                                                 : "read from the broker failed");
	ferry__conn_release_fd_locked(c);
	ferry__unlock(&c->mu);
}

/* ---- destroy, last step ---------------------------------------------------- */

static void cancel_list(struct ferry_op *op)
{
	while (op) {
		struct ferry_op *next = op->next;
		struct ferry_req *r = op->owner;
		r->rc = FERRY_ERR_CANCELLED;
		ferry__req_finish(r);
		op = next;
	}
}

void ferry__rx_retire(struct ferry_client *c)
{
	ferry__store_flush_acked(c); /* what waited for a batch is recorded before the end */
	ferry__lock(&c->mu);
	struct ferry_op *ops = ferry__session_take_all(c->session);
	struct ferry_req *extra[2] = {c->connect_req, c->disconnect_req};
	c->connect_req = c->disconnect_req = NULL;
	struct ferry_req *q0 = c->written_q0;
	c->written_q0 = c->written_q0_last = NULL;
	ferry__unlock(&c->mu);

	/* Every pending operation completes exactly once: cancelled. */
	cancel_list(q0 ? &q0->op : NULL);
	cancel_list(ops);
	ferry__mqtt5_cancel_requests(c);
	for (int i = 0; i < 2; i++) {
		if (extra[i]) {
			extra[i]->rc = FERRY_ERR_CANCELLED;
			ferry__req_finish(extra[i]);
		}
	}
	ferry__lock(&c->mu);
	c->retired = true;
	bool self = c->free_on_retire;
	pthread_cond_broadcast(&c->cv);
	ferry__unlock(&c->mu);
	if (!self)
		return; /* the destroying thread frees it */
	struct ferry_context *ctx = c->ctx;
	bool own = c->own_ctx;
	ferry__client_free(c);
	ferry__ctx_client_gone(ctx, own, true);
}

/*
 * client_mqtt5.c - the client's MQTT 5 features (doc/mqtt5.md): properties
 * of requests and results, topic aliases both ways, Message Expiry in the
 * outbox, request/response, enhanced authentication, and closing with a
 * DISCONNECT reason code on a protocol error.
 *
 * Threads as in engine.h: each function says which thread calls it and
 * which lock it expects. Callbacks (on_auth, a request's completion) run on
 * rx with no lock held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "platform.h"
#include "props_api.h"
#include "topic.h"

/* Aliases ferry gives at most (auto_topic_alias), whatever the broker allows. */
#define ALIAS_OUT_MAX 64

/* ---- set-up ---------------------------------------------------------------- */

int ferry__mqtt5_setup(struct ferry_client *c, const struct ferry_client_options *o)
{
	c->recv_max = 65535;
	c->corr_salt = ferry__now_us() ^ ((uint64_t)(uintptr_t)c << 17) ^ c->rng;
	const struct ferry_properties *wp = o->will ? o->will->props : NULL;
	if (c->version != FERRY_MQTT_5)
		return o->connect_props || wp ? FERRY_ERR_UNSUPPORTED : FERRY_OK;
	int rc = ferry__props_import(o->connect_props, FERRY_CONNECT, &c->connect_props,
	                             &c->connect_props_mem);
	if (rc)
		return rc;
	rc = ferry__props_import(wp, FERRY_PCTX_WILL, &c->will_props, &c->will_props_mem);
	if (rc)
		return rc;
	struct ferry_props *p = &c->connect_props;
	if ((p->present & FERRY_PROP_BIT(FERRY_PROP_AUTH_DATA)) &&
	    !(p->present & FERRY_PROP_BIT(FERRY_PROP_AUTH_METHOD)))
		return FERRY_ERR_PROPERTY_VALUE; /* data without a method: 3.1.2.11.10 */
	if (p->present & FERRY_PROP_BIT(FERRY_PROP_RECEIVE_MAXIMUM))
		c->recv_max = p->receive_maximum;
	if (p->present & FERRY_PROP_BIT(FERRY_PROP_MAXIMUM_PACKET_SIZE))
		c->in_max_packet = p->maximum_packet_size;
	if (p->present & FERRY_PROP_BIT(FERRY_PROP_TOPIC_ALIAS_MAXIMUM))
		c->alias_in_max = p->topic_alias_maximum;
	/* A kept session without an interval would end with the connection in
	 * MQTT 5: ask for the 3.1.1 meaning (never expires). */
	if (!c->clean_session && !(p->present & FERRY_PROP_BIT(FERRY_PROP_SESSION_EXPIRY))) {
		p->present |= FERRY_PROP_BIT(FERRY_PROP_SESSION_EXPIRY);
		p->session_expiry = UINT32_MAX;
	}
	return FERRY_OK;
}

static void alias_out_clear(struct ferry_client *c)
{
	for (size_t i = 0; c->alias_out && i < c->alias_out_used; i++) {
		free(c->alias_out[i].topic);
		c->alias_out[i].topic = NULL;
	}
	c->alias_out_used = c->alias_out_next = 0;
}

void ferry__mqtt5_free(struct ferry_client *c)
{
	free(c->connect_props_mem);
	free(c->will_props_mem);
	for (size_t i = 0; c->alias_in && i <= c->alias_in_max; i++)
		free((void *)c->alias_in[i].p);
	free(c->alias_in);
	alias_out_clear(c);
	free(c->alias_out);
	for (size_t i = 0; i < c->nresp_topics; i++)
		free(c->resp_topics[i]);
	free(c->resp_topics);
}

/* ---- properties of requests -------------------------------------------------- */

int ferry__req_set_props(struct ferry_req *r, const struct ferry_properties *p, int ctx)
{
	if (!p)
		return FERRY_OK;
	if (r->c->version != FERRY_MQTT_5)
		return FERRY_ERR_UNSUPPORTED;
	int rc = ferry__props_import(p, ctx, &r->props, &r->props_mem);
	if (rc || ctx != FERRY_PUBLISH || !ferry__props_any(&r->props))
		return rc;
	if (r->props.present & FERRY_PROP_BIT(FERRY_PROP_MESSAGE_EXPIRY))
		r->queued_at = ferry__now_ms();
	size_t size;
	rc = ferry__props_size(&r->props, FERRY_PUBLISH, &size);
	if (rc)
		return rc;
	r->props_block = malloc(size);
	if (!r->props_block)
		return FERRY_ERR_NOMEM;
	struct ferry_writer w;
	ferry__wr_init(&w, r->props_block, size);
	rc = ferry__props_encode(&r->props, FERRY_PUBLISH, &w);
	r->props_block_len = size;
	r->op.bytes += size;
	return rc;
}

int ferry__req_props_from_block(struct ferry_req *r, const void *block, size_t len)
{
	if (!len)
		return FERRY_OK;
	struct ferry_cursor cur;
	ferry__cur_init(&cur, block, len);
	struct ferry_props tmp;
	int rc = ferry__props_decode(&cur, FERRY_PUBLISH, &tmp);
	if (!rc)
		rc = ferry__props_clone(&tmp, &r->props, &r->props_mem);
	if (!rc && (r->props.present & FERRY_PROP_BIT(FERRY_PROP_MESSAGE_EXPIRY)))
		r->queued_at = ferry__now_ms(); /* an earlier run's wait is not known: counted from now */
	return rc;
}

/* ---- sending ------------------------------------------------------------------ */

static uint64_t topic_hash(const uint8_t *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* The alias for r's topic (tx, c->mu held): an existing one (topic sent
 * empty), or a new or reused slot recorded now (topic sent in full). */
static void choose_alias(struct ferry_client *c, struct ferry_req *r, struct ferry_props *out,
                         struct ferry_bytes *topic)
{
	if (c->alias_out_gen != c->gen)
		ferry__mqtt5_tx_reset(c);
	uint16_t max = c->alias_out_max < ALIAS_OUT_MAX ? c->alias_out_max : ALIAS_OUT_MAX;
	if (!c->alias_out && !(c->alias_out = calloc(ALIAS_OUT_MAX, sizeof *c->alias_out)))
		return;
	uint64_t h = topic_hash(r->topic, r->topic_len);
	for (uint16_t i = 0; i < c->alias_out_used; i++) {
		struct ferry_alias_out *a = &c->alias_out[i];
		if (a->hash == h && a->len == r->topic_len && !memcmp(a->topic, r->topic, a->len)) {
			out->present |= FERRY_PROP_BIT(FERRY_PROP_TOPIC_ALIAS);
			out->topic_alias = (uint16_t)(i + 1);
			topic->len = 0;
			return;
		}
	}
	char *copy = malloc(r->topic_len + 1);
	if (!copy)
		return; /* sent without an alias */
	memcpy(copy, r->topic, r->topic_len + 1);
	uint16_t slot;
	if (c->alias_out_used < max) {
		slot = c->alias_out_used++;
	} else {
		slot = c->alias_out_next;
		c->alias_out_next = (uint16_t)((slot + 1) % max);
		free(c->alias_out[slot].topic);
	}
	c->alias_out[slot] = (struct ferry_alias_out){h, r->topic_len, copy};
	out->present |= FERRY_PROP_BIT(FERRY_PROP_TOPIC_ALIAS);
	out->topic_alias = (uint16_t)(slot + 1);
}

int ferry__mqtt5_publish_props(struct ferry_client *c, struct ferry_req *r, uint64_t now,
                               struct ferry_props *out, struct ferry_bytes *topic)
{
	*out = r->props;
	topic->p = r->topic;
	topic->len = r->topic_len;
	if (out->present & FERRY_PROP_BIT(FERRY_PROP_MESSAGE_EXPIRY)) {
		uint64_t waited = now > r->queued_at ? now - r->queued_at : 0;
		if (waited >= (uint64_t)out->message_expiry * 1000u) {
			if (!r->op.dup)
				return FERRY_ERR_EXPIRED;
			out->message_expiry = 1; /* already sent once: its flow must finish */
		} else {
			out->message_expiry -= (uint32_t)(waited / 1000u);
		}
	}
	if (c->cb.auto_topic_alias && c->alias_out_max)
		choose_alias(c, r, out, topic);
	return FERRY_OK;
}

/* The filter of a subscription without its "$share/group/" prefix; *shared set. */
static struct ferry_bytes plain_filter(struct ferry_bytes f, bool *shared)
{
	*shared = f.len > 7 && !memcmp(f.p, "$share/", 7);
	if (!*shared)
		return f;
	const uint8_t *slash = memchr(f.p + 7, '/', f.len - 7);
	if (!slash)
		return f;
	size_t skip = (size_t)(slash + 1 - f.p);
	return (struct ferry_bytes){f.p + skip, f.len - skip};
}

int ferry__mqtt5_subscribe_check(const struct ferry_client *c, const struct ferry_req *r)
{
	if (c->server_no_subid && (r->props.present & FERRY_PROP_BIT(FERRY_PROP_SUBSCRIPTION_ID)))
		return FERRY_ERR_SUB_NOT_SUPPORTED;
	for (size_t i = 0; i < r->nfilters; i++) {
		bool shared;
		struct ferry_bytes f = plain_filter(r->entries[i].filter, &shared);
		if (shared && c->server_no_shared)
			return FERRY_ERR_SUB_NOT_SUPPORTED;
		if (c->server_no_wildcard && (memchr(f.p, '+', f.len) || memchr(f.p, '#', f.len)))
			return FERRY_ERR_SUB_NOT_SUPPORTED;
	}
	return FERRY_OK;
}

void ferry__mqtt5_tx_reset(struct ferry_client *c)
{
	alias_out_clear(c);
	c->alias_out_gen = c->gen;
}

/* ---- request/response ------------------------------------------------------------ */

static void request_unlink_locked(struct ferry_client *c, struct ferry_req *w)
{
	if (w->op.prev)
		w->op.prev->next = w->op.next;
	else
		c->requests = w->op.next ? w->op.next->owner : NULL;
	if (w->op.next)
		w->op.next->prev = w->op.prev;
	w->op.prev = w->op.next = NULL;
	c->nrequests--;
}

void ferry__mqtt5_timeouts_locked(struct ferry_client *c, uint64_t now, uint64_t *deadline,
                                  struct ferry_event **head, struct ferry_event **tail)
{
	struct ferry_req *w = c->requests;
	while (w) {
		struct ferry_req *next = w->op.next ? w->op.next->owner : NULL;
		if (w->issuing) {
			if (now + 1 < *deadline)
				*deadline = now + 1; /* looked at again once it is issued */
		} else if (w->deadline <= now) {
			request_unlink_locked(c, w);
			ferry__req_done_locked(w, FERRY_ERR_TIMEOUT);
			w->ev.next = NULL;
			if (*tail)
				(*tail)->next = &w->ev;
			else
				*head = &w->ev;
			*tail = &w->ev;
		} else if (w->deadline < *deadline) {
			*deadline = w->deadline;
		}
		w = next;
	}
}

void ferry__mqtt5_request_failed_locked(struct ferry_client *c, struct ferry_req *pub, int rc)
{
	for (struct ferry_req *w = c->requests; w; w = w->op.next ? w->op.next->owner : NULL) {
		if (w->op.token != pub->waiter)
			continue;
		if (w->issuing) {
			w->issue_rc = rc; /* ferry_request completes it once it has let go */
			return;
		}
		request_unlink_locked(c, w);
		ferry__req_done_locked(w, rc);
		ferry__ctx_post(c->ctx, &w->ev);
		return;
	}
}

bool ferry__mqtt5_response(struct ferry_client *c, const struct ferry_publish *p,
                           const struct ferry_message *m)
{
	const struct ferry_bytes *cd = &p->props.correlation_data;
	if (!(p->props.present & FERRY_PROP_BIT(FERRY_PROP_CORRELATION_DATA)) || cd->len != 16)
		return false;
	struct ferry_req *w;
	ferry__lock(&c->mu);
	for (w = c->requests; w; w = w->op.next ? w->op.next->owner : NULL)
		if (!w->issuing && !memcmp(w->corr, cd->p, 16))
			break;
	if (w) {
		request_unlink_locked(c, w);
		ferry__req_done_locked(w, FERRY_OK);
	}
	ferry__unlock(&c->mu);
	if (!w)
		return false;
	w->response = m;
	ferry__req_finish(w);
	return true;
}

/* Whether ferry_request already subscribed to `topic` (c->mu held); records it if not. */
static int response_topic_new_locked(struct ferry_client *c, const char *topic, bool *fresh)
{
	*fresh = false;
	for (size_t i = 0; i < c->nresp_topics; i++)
		if (!strcmp(c->resp_topics[i], topic))
			return FERRY_OK;
	char **grown = realloc(c->resp_topics, (c->nresp_topics + 1) * sizeof *grown);
	if (!grown)
		return FERRY_ERR_NOMEM;
	c->resp_topics = grown;
	size_t n = strlen(topic) + 1;
	if (!(grown[c->nresp_topics] = malloc(n)))
		return FERRY_ERR_NOMEM;
	memcpy(grown[c->nresp_topics++], topic, n);
	*fresh = true;
	return FERRY_OK;
}

int ferry_request(ferry_client *c, const struct ferry_publish_msg *msg, const char *response_topic,
                  int timeout_ms, const struct ferry_call *call, ferry_token *token)
{
	if (!c || !msg || !response_topic || timeout_ms < 0)
		return FERRY_ERR_INVAL;
	if (c->version != FERRY_MQTT_5)
		return FERRY_ERR_UNSUPPORTED;
	int rc = ferry__topic_name_check((const uint8_t *)response_topic, strlen(response_topic));
	if (rc)
		return rc;
	struct ferry_req *w = ferry__req_new(c, FERRY_OP_REQUEST, 0, call);
	if (!w)
		return FERRY_ERR_NOMEM;
	w->deadline = timeout_ms ? ferry__now_ms() + (uint64_t)timeout_ms : UINT64_MAX;

	/* The waiter is linked at once but marked `issuing`: until its publish
	 * is accepted no other thread completes it (a timeout waits, a failure
	 * of the publish is kept in issue_rc), so this thread may still use it. */
	bool fresh = false;
	uint8_t corr[16];
	ferry__lock(&c->mu);
	w->op.token = c->next_token++;
	w->issuing = true;
	uint64_t salt = c->corr_salt, tok = w->op.token, deadline = w->deadline;
	for (int i = 0; i < 8; i++) {
		w->corr[i] = (uint8_t)(salt >> (56 - 8 * i));
		w->corr[8 + i] = (uint8_t)(tok >> (56 - 8 * i));
	}
	memcpy(corr, w->corr, sizeof corr);
	rc = c->destroying ? FERRY_ERR_STATE : response_topic_new_locked(c, response_topic, &fresh);
	if (!rc && token)
		rc = ferry__tokens_add(&c->tokens, tok) ? FERRY_ERR_NOMEM : FERRY_OK;
	if (!rc) {
		w->op.next = c->requests ? &c->requests->op : NULL;
		if (c->requests)
			c->requests->op.prev = &w->op;
		c->requests = w;
		c->nrequests++;
	}
	ferry__unlock(&c->mu);
	if (rc) {
		free(w);
		return rc;
	}
	if (fresh && (rc = ferry_subscribe(c, response_topic, 1, NULL, NULL)) != FERRY_OK) {
		ferry__lock(&c->mu); /* not subscribed after all: the next request tries again */
		for (size_t i = 0; i < c->nresp_topics; i++) {
			if (strcmp(c->resp_topics[i], response_topic) == 0) {
				free(c->resp_topics[i]);
				c->resp_topics[i] = c->resp_topics[--c->nresp_topics];
				break;
			}
		}
		ferry__unlock(&c->mu);
	}
	/* The request's properties: the caller's, plus Response Topic and Correlation Data. */
	struct ferry_properties props = FERRY_PROPERTIES_INIT;
	if (msg->props)
		props = *msg->props;
	else if (call && call->props)
		props = *call->props;
	props.response_topic = response_topic;
	props.correlation_data = corr;
	props.correlation_len = sizeof corr;
	struct ferry_publish_msg m = *msg;
	m.props = &props;
	if (!rc)
		rc = ferry__publish_for_request(c, &m, tok);
	ferry__lock(&c->mu);
	w->issuing = false;
	if (rc) { /* not accepted: the waiter goes, no callback */
		request_unlink_locked(c, w);
		ferry__tokens_complete(&c->tokens, tok, rc);
	} else if (w->issue_rc) { /* the publish failed already: so does the request */
		request_unlink_locked(c, w);
		ferry__req_done_locked(w, w->issue_rc);
		ferry__ctx_post(c->ctx, &w->ev);
	}
	ferry__unlock(&c->mu);
	if (rc) {
		free(w);
		return rc;
	}
	if (token)
		*token = tok;
	if (deadline != UINT64_MAX)
		ferry__ctx_kick_tx(c); /* its timer */
	return FERRY_OK;
}

/* ---- enhanced authentication ------------------------------------------------------- */

int ferry_reauthenticate(ferry_client *c, const void *data, size_t len,
                         const struct ferry_call *call, ferry_token *token)
{
	if (!c || (!data && len))
		return FERRY_ERR_INVAL;
	if (c->version != FERRY_MQTT_5 ||
	    !(c->connect_props.present & FERRY_PROP_BIT(FERRY_PROP_AUTH_METHOD)))
		return FERRY_ERR_UNSUPPORTED;
	struct ferry_req *r = ferry__req_new(c, FERRY_OP_AUTH, 0, call);
	if (!r)
		return FERRY_ERR_NOMEM;
	struct ferry_packet p = {.type = FERRY_AUTH};
	p.u.disconnect.reason = 0x19;
	p.u.disconnect.props.present = FERRY_PROP_BIT(FERRY_PROP_AUTH_METHOD);
	p.u.disconnect.props.auth_method = c->connect_props.auth_method;
	if (data) {
		p.u.disconnect.props.present |= FERRY_PROP_BIT(FERRY_PROP_AUTH_DATA);
		p.u.disconnect.props.auth_data = (struct ferry_bytes){data, len};
	}
	ferry__lock(&c->mu);
	int rc = c->destroying                        ? FERRY_ERR_STATE
	         : c->state != FERRY_CS_CONNECTED || c->aborting ? FERRY_ERR_NOT_CONNECTED
	         : c->auth_req                        ? FERRY_ERR_STATE
	                                              : FERRY_OK;
	if (!rc) {
		r->op.token = c->next_token++;
		if (token && ferry__tokens_add(&c->tokens, r->op.token))
			rc = FERRY_ERR_NOMEM;
	}
	if (!rc)
		rc = ferry__packet_append(c, &c->ctrl, &p, 0, &(size_t){0});
	if (!rc)
		c->auth_req = r;
	ferry__unlock(&c->mu);
	if (rc) {
		free(r);
		return rc;
	}
	if (token)
		*token = r->op.token;
	ferry__ctx_kick_tx(c);
	return FERRY_OK;
}

static void auth_failed(struct ferry_client *c, int cause, const char *text, uint8_t reason)
{
	ferry__lock(&c->mu);
	ferry__conn_abort_locked(c, cause, text, reason);
	ferry__unlock(&c->mu);
}

/* AUTH success (0x00): the end of a re-authentication (rx). */
static void auth_success(struct ferry_client *c, const struct ferry_disconnect *a)
{
	ferry__lock(&c->mu);
	bool live = c->state == FERRY_CS_CONNECTED || c->state == FERRY_CS_DRAINING;
	struct ferry_req *r = live ? c->auth_req : NULL;
	if (r)
		c->auth_req = NULL;
	if (!r) {
		ferry__conn_abort_locked(c, FERRY_ERR_PROTOCOL, "unexpected AUTH success from the broker",
		                         0x82);
		ferry__unlock(&c->mu);
		return;
	}
	r->reason = a->reason;
	r->rprops = ferry__props_view_dup(&a->props);
	ferry__req_done_locked(r, FERRY_OK);
	ferry__unlock(&c->mu);
	ferry__req_finish(r);
}

void ferry__mqtt5_on_auth(struct ferry_client *c, const struct ferry_disconnect *a)
{
	const struct ferry_props *mine = &c->connect_props;
	if (!(mine->present & FERRY_PROP_BIT(FERRY_PROP_AUTH_METHOD)) ||
	    !(a->props.present & FERRY_PROP_BIT(FERRY_PROP_AUTH_METHOD)) ||
	    a->props.auth_method.len != mine->auth_method.len ||
	    memcmp(a->props.auth_method.p, mine->auth_method.p, mine->auth_method.len) != 0 ||
	    (a->reason != 0x00 && a->reason != 0x18)) {
		auth_failed(c, FERRY_ERR_PROTOCOL,
		            "unexpected AUTH from the broker (no such authentication in progress)", 0x82);
		return;
	}
	if (a->reason == 0x00) {
		auth_success(c, a);
		return;
	}
	ferry__lock(&c->mu);
	bool expected = c->state == FERRY_CS_CONNACK || c->auth_req; /* only the client starts one */
	ferry__unlock(&c->mu);
	if (!expected) {
		auth_failed(c, FERRY_ERR_PROTOCOL, "AUTH from the broker with no authentication in progress",
		            0x82);
		return;
	}
	struct ferry_auth_step step = {
		.reason_code = a->reason,
		.method = (const char *)mine->auth_method.p, /* NUL-terminated copy */
		.data = a->props.present & FERRY_PROP_BIT(FERRY_PROP_AUTH_DATA) ? a->props.auth_data.p
		                                                                 : NULL,
		.data_len = a->props.auth_data.len,
		.props = ferry__rx_props_view(c, &a->props),
	};
	struct ferry_auth_reply reply = {0};
	ferry__lock(&c->mu);
	uint32_t gen = c->gen;
	ferry__unlock(&c->mu);
	int rc = c->cb.on_auth ? c->cb.on_auth(c, c->cb.user, &step, &reply) : FERRY_ERR_AUTH;
	if (rc || (reply.data_len && !reply.data) || (reply.user_count && !reply.user)) {
		auth_failed(c, FERRY_ERR_AUTH, "enhanced authentication given up by the application",
		            0x80);
		return;
	}
	struct ferry_properties out = {.user = reply.user, .user_count = reply.user_count};
	struct ferry_props pp;
	void *mem = NULL;
	rc = ferry__props_import(&out, FERRY_AUTH, &pp, &mem);
	pp.present |= FERRY_PROP_BIT(FERRY_PROP_AUTH_METHOD);
	pp.auth_method = mine->auth_method;
	if (reply.data) {
		pp.present |= FERRY_PROP_BIT(FERRY_PROP_AUTH_DATA);
		pp.auth_data = (struct ferry_bytes){reply.data, reply.data_len};
	}
	struct ferry_packet p = {.type = FERRY_AUTH};
	p.u.disconnect.reason = 0x18;
	p.u.disconnect.props = pp;
	ferry__lock(&c->mu);
	bool same = c->gen == gen && (c->state == FERRY_CS_CONNACK || c->state == FERRY_CS_CONNECTED);
	if (!rc && same) /* not into a later connection: that one never asked */
		rc = ferry__packet_append(c, &c->ctrl, &p, 0, &(size_t){0});
	if (rc && same)
		ferry__conn_abort_locked(c, FERRY_ERR_AUTH, "cannot answer the broker's AUTH", 0x80);
	ferry__unlock(&c->mu);
	free(mem);
	c->rx_kick = true;
}

/* ---- inbound topic aliases ------------------------------------------------------------ */

int ferry__mqtt5_alias_in(struct ferry_client *c, struct ferry_publish *p, char *text, size_t cap)
{
	if (!(p->props.present & FERRY_PROP_BIT(FERRY_PROP_TOPIC_ALIAS)))
		return FERRY_OK;
	uint16_t a = p->props.topic_alias;
	if (a == 0 || a > c->alias_in_max) {
		snprintf(text, cap, "the broker used topic alias %u, above ferry's maximum %u (0x94)", a,
		         c->alias_in_max);
		return 0x94;
	}
	if (!c->alias_in && !(c->alias_in = calloc((size_t)c->alias_in_max + 1, sizeof *c->alias_in))) {
		snprintf(text, cap, "out of memory for topic aliases");
		return 0x97;
	}
	if (c->alias_in_gen != c->rx_gen) { /* a new connection: the old map is void */
		for (size_t i = 0; i <= c->alias_in_max; i++) {
			free((void *)c->alias_in[i].p);
			c->alias_in[i] = (struct ferry_bytes){NULL, 0};
		}
		c->alias_in_gen = c->rx_gen;
	}
	struct ferry_bytes *slot = &c->alias_in[a];
	if (p->topic.len) {
		uint8_t *copy = malloc(p->topic.len);
		if (!copy) {
			snprintf(text, cap, "out of memory for topic aliases");
			return 0x97;
		}
		memcpy(copy, p->topic.p, p->topic.len);
		free((void *)slot->p);
		*slot = (struct ferry_bytes){copy, p->topic.len};
		return FERRY_OK;
	}
	if (!slot->p) {
		snprintf(text, cap, "the broker used topic alias %u before giving it a topic (0x82)", a);
		return 0x82;
	}
	p->topic = *slot;
	return FERRY_OK;
}

/* ---- views of received properties ------------------------------------------------------- */

static size_t view_room(const struct ferry_props *p)
{
	size_t head = (sizeof(struct ferry_properties) + sizeof(max_align_t) - 1) /
	              sizeof(max_align_t) * sizeof(max_align_t);
	return head + ferry__props_view_size(p);
}

const struct ferry_properties *ferry__rx_props_view(struct ferry_client *c,
                                                    const struct ferry_props *p)
{
	if (!ferry__props_any(p))
		return NULL;
	struct ferry_context *ctx = c->ctx;
	size_t need = view_room(p);
	if (need > ctx->pview_cap) {
		void *grown = realloc(ctx->pview, need);
		if (!grown)
			return NULL;
		ctx->pview = grown;
		ctx->pview_cap = need;
	}
	struct ferry_properties *v = ctx->pview;
	ferry__props_view(p, (uint8_t *)ctx->pview + (need - ferry__props_view_size(p)), v);
	return v;
}

struct ferry_properties *ferry__props_view_dup(const struct ferry_props *p)
{
	if (!ferry__props_any(p))
		return NULL;
	size_t need = view_room(p);
	struct ferry_properties *v = malloc(need);
	if (v)
		ferry__props_view(p, (uint8_t *)v + (need - ferry__props_view_size(p)), v);
	return v;
}

/* ---- closing with a reason ---------------------------------------------------------------- */

void ferry__conn_abort_locked(struct ferry_client *c, int cause, const char *text, uint8_t reason)
{
	bool live = c->state == FERRY_CS_CONNECTED || c->state == FERRY_CS_DRAINING;
	ferry__log(c, FERRY_LOG_WARNING, "closing the connection: %s", text);
	if (c->version != FERRY_MQTT_5 || !live) {
		ferry__conn_fail_locked(c, cause, text);
		return;
	}
	if (c->aborting || c->tx_close_after_flush)
		return; /* a DISCONNECT is on its way already: nothing may follow it */
	uint8_t b[3] = {(uint8_t)(FERRY_DISCONNECT << 4), 1, reason};
	if (ferry__buf_append(&c->ctrl, b, sizeof b) != FERRY_OK) {
		ferry__conn_fail_locked(c, cause, text);
		return;
	}
	c->stats.packets_sent[FERRY_DISCONNECT]++;
	c->aborting = true;
	c->abort_cause = cause;
	snprintf(c->abort_text, sizeof c->abort_text, "%s", text);
	c->deadline_drain = ferry__now_ms() + 1000u; /* written by then, or given up */
	ferry__ctx_kick_tx(c);
}

void ferry__mqtt5_cancel_requests(struct ferry_client *c)
{
	ferry__lock(&c->mu);
	struct ferry_req *w = c->requests, *auth = c->auth_req;
	c->requests = NULL;
	c->nrequests = 0;
	c->auth_req = NULL;
	ferry__unlock(&c->mu);
	while (w) {
		struct ferry_req *next = w->op.next ? w->op.next->owner : NULL;
		w->rc = FERRY_ERR_CANCELLED;
		ferry__req_finish(w);
		w = next;
	}
	if (auth) {
		auth->rc = FERRY_ERR_CANCELLED;
		ferry__req_finish(auth);
	}
}

void ferry__mqtt5_alias_forget(struct ferry_client *c, uint16_t alias)
{
	if (!c->alias_out || alias == 0 || alias > c->alias_out_used)
		return;
	struct ferry_alias_out *a = &c->alias_out[alias - 1];
	free(a->topic);
	a->topic = NULL;
	a->len = SIZE_MAX; /* matches no topic until the slot is given again */
	a->hash = 0;
}

/*
 * client_sub.c - subscriptions: ferry_subscribe / ferry_unsubscribe and the
 * records of the filters a client holds (options and per-subscription
 * callbacks), which route messages and are subscribed again when the broker
 * lost the session.
 *
 * Runs on application threads (and callbacks); records are guarded by c->mu.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "platform.h"
#include "topic.h"

/* Subscriptions held (c->mu held). */
void ferry__drop_sub_cb_locked(struct ferry_client *c, struct ferry_bytes filter)
{
	void *old = NULL;
	if (ferry__topic_index_remove(c->subs, filter.p, filter.len, &old) != FERRY_OK || !old)
		return;
	struct ferry_sub_cb *s = old;
	c->sub_fns -= s->fn != NULL;
	if (s->prev)
		s->prev->next = s->next;
	else
		c->sub_cbs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

void ferry__sub_granted_locked(struct ferry_client *c, struct ferry_bytes filter)
{
	struct ferry_sub_cb *s = ferry__topic_index_get(c->subs, filter.p, filter.len);
	if (s)
		s->granted = true;
}

int ferry__set_sub_cb_locked(struct ferry_client *c, struct ferry_bytes filter, uint8_t qos,
                             uint32_t sub_id, ferry_message_cb fn, void *user)
{
	struct ferry_sub_cb *s = ferry__topic_index_get(c->subs, filter.p, filter.len);
	if (s) {
		c->sub_fns -= s->fn != NULL;
		c->sub_fns += fn != NULL;
		s->fn = fn;
		s->user = user;
		s->qos = qos;
		s->sub_id = sub_id;
		return FERRY_OK;
	}
	s = calloc(1, sizeof *s + filter.len + 1);
	if (!s)
		return FERRY_ERR_NOMEM;
	s->fn = fn;
	s->user = user;
	s->qos = qos;
	s->sub_id = sub_id;
	c->sub_fns += fn != NULL;
	s->filter_len = filter.len;
	memcpy(s->filter, filter.p, filter.len);
	int rc = ferry__topic_index_put(c->subs, filter.p, filter.len, s);
	if (rc) {
		free(s);
		return rc;
	}
	s->next = c->sub_cbs;
	if (s->next)
		s->next->prev = s;
	c->sub_cbs = s;
	return FERRY_OK;
}

/* One subscription's arguments (3.x takes no MQTT 5 options). */
static int sub_check(const struct ferry_client *c, const struct ferry_subscription *s)
{
	if (!s->filter || s->qos < 0 || s->qos > 2 || s->retain_handling < 0 || s->retain_handling > 2)
		return FERRY_ERR_INVAL;
	bool v5 = c->version == FERRY_MQTT_5;
	if (!v5 && (s->no_local || s->retain_as_published || s->retain_handling))
		return FERRY_ERR_INVAL;
	size_t fl = strlen(s->filter);
	int rc = ferry__topic_filter_check((const uint8_t *)s->filter, fl, v5);
	if (rc)
		return rc;
	/* MQTT 5 3.8.3.1: No Local on a shared subscription is a protocol error. */
	if (s->no_local && fl > 7 && !memcmp(s->filter, "$share/", 7))
		return FERRY_ERR_TOPIC_FILTER;
	return FERRY_OK;
}

static uint8_t sub_options(const struct ferry_subscription *s)
{
	return (uint8_t)((unsigned)s->qos | (s->no_local ? FERRY_SUBOPT_NO_LOCAL : 0u) |
	                 (s->retain_as_published ? FERRY_SUBOPT_RETAIN_AS_PUBLISHED : 0u) |
	                 (unsigned)s->retain_handling << FERRY_SUBOPT_RETAIN_HANDLING_SHIFT);
}

int ferry_subscribe_many(ferry_client *c, const struct ferry_subscription *subs, size_t n,
                         const struct ferry_call *call, ferry_token *token)
{
	if (!c || !subs || n == 0 || n > 65535)
		return FERRY_ERR_INVAL;
	size_t extra = n * sizeof(struct ferry_sub_entry);
	for (size_t i = 0; i < n; i++) {
		int rc = sub_check(c, &subs[i]);
		if (rc)
			return rc;
		extra += strlen(subs[i].filter) + 1;
	}
	struct ferry_req *r = ferry__req_new(c, FERRY_OP_SUBSCRIBE, extra, call);
	if (!r)
		return FERRY_ERR_NOMEM;
	r->entries = (struct ferry_sub_entry *)(r + 1);
	char *text = (char *)(r->entries + n);
	for (size_t i = 0; i < n; i++) {
		size_t fl = strlen(subs[i].filter);
		memcpy(text, subs[i].filter, fl + 1);
		r->entries[i].filter.p = (const uint8_t *)text;
		r->entries[i].filter.len = fl;
		r->entries[i].options = sub_options(&subs[i]);
		text += fl + 1;
	}
	r->nfilters = n;
	r->op.kind = FERRY_OP_SUBSCRIBE;
	int rc = ferry__req_set_props(r, call ? call->props : NULL, FERRY_SUBSCRIBE);
	if (rc) {
		ferry__req_free(r);
		return rc;
	}
	uint32_t sub_id =
	    r->props.present & FERRY_PROP_BIT(FERRY_PROP_SUBSCRIPTION_ID) ? r->props.sub_id : 0;
	ferry__lock(&c->mu);
	for (size_t i = 0; i < n && !rc; i++)
		rc = ferry__set_sub_cb_locked(c, r->entries[i].filter, r->entries[i].options, sub_id,
		                              subs[i].on_message, subs[i].user);
	ferry__unlock(&c->mu);
	if (rc) {
		ferry__req_free(r);
		return rc;
	}
	return ferry__req_submit(c, r, token);
}

int ferry_subscribe(ferry_client *c, const char *filter, int qos, const struct ferry_call *call,
                    ferry_token *token)
{
	struct ferry_subscription s = {.filter = filter, .qos = qos};
	return ferry_subscribe_many(c, &s, 1, call, token);
}

int ferry_unsubscribe_many(ferry_client *c, const char *const *filters, size_t n,
                           const struct ferry_call *call, ferry_token *token)
{
	if (!c || !filters || n == 0 || n > 65535)
		return FERRY_ERR_INVAL;
	size_t extra = n * sizeof(struct ferry_bytes);
	for (size_t i = 0; i < n; i++) {
		if (!filters[i])
			return FERRY_ERR_INVAL;
		size_t fl = strlen(filters[i]);
		int rc = ferry__topic_filter_check((const uint8_t *)filters[i], fl,
		                                   c->version == FERRY_MQTT_5);
		if (rc)
			return rc;
		extra += fl + 1;
	}
	struct ferry_req *r = ferry__req_new(c, FERRY_OP_UNSUBSCRIBE, extra, call);
	if (!r)
		return FERRY_ERR_NOMEM;
	r->filters = (struct ferry_bytes *)(r + 1);
	char *text = (char *)(r->filters + n);
	for (size_t i = 0; i < n; i++) {
		size_t fl = strlen(filters[i]);
		memcpy(text, filters[i], fl + 1);
		r->filters[i].p = (const uint8_t *)text;
		r->filters[i].len = fl;
		text += fl + 1;
	}
	r->nfilters = n;
	r->op.kind = FERRY_OP_UNSUBSCRIBE;
	int rc = ferry__req_set_props(r, call ? call->props : NULL, FERRY_UNSUBSCRIBE);
	if (rc) {
		ferry__req_free(r);
		return rc;
	}
	return ferry__req_submit(c, r, token);
}

int ferry_unsubscribe(ferry_client *c, const char *filter, const struct ferry_call *call,
                      ferry_token *token)
{
	return ferry_unsubscribe_many(c, &filter, 1, call, token);
}

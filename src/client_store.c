/*
 * client_store.c - how a client uses its durable store (include/ferry/store.h,
 * doc/durability.md): restoring at create, committing publishes before
 * ferry_publish returns, recording each message's progress before its packet
 * is written, removing it once acknowledged, streaming the queued messages of
 * earlier runs into the outbox, and keeping inbound QoS 2 ids and
 * subscriptions.
 *
 * Ownership: the client owns its store (freed by ferry__store_free). Rows
 * handed back by scans are borrowed: what is kept is copied into requests.
 *
 * Locks: store calls are made without the client lock, except the few noted
 * (subscriptions at create, when nothing is shared yet). The store's own lock
 * is innermost of all.
 *
 * Order of writes, and why it is safe to crash between any two:
 *  - put (QUEUED) commits before ferry_publish returns and before the
 *    message can be sent;
 *  - SENT + packet id commits before the PUBLISH bytes are written, so a
 *    restart resends it with DUP under the id the broker knows (a QoS 2
 *    message is never sent under two ids, so never received twice);
 *  - RELEASED commits before the PUBREL is written, so a restart resends
 *    the PUBREL, not the PUBLISH;
 *  - the row is removed only after the acknowledgement arrived; a crash
 *    before that resends once more (allowed at QoS 1; harmless at QoS 2,
 *    where the broker answers a PUBREL for a finished id with PUBCOMP).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "platform.h"

/* Queued rows of earlier runs loaded per batch, and the byte budget of one. */
#define LOAD_BATCH 256u
#define LOAD_BYTES (4u * 1024u * 1024u)

static void store_error(struct ferry_client *c, int rc, const char *what)
{
	ferry__lock(&c->mu);
	c->stats.store_errors++;
	ferry__unlock(&c->mu);
	ferry__log(c, FERRY_LOG_ERROR, "store: %s failed: %s", what, ferry_strerror(rc));
}

/* Counts rows the store set aside since the last look, and says so. */
static void note_quarantine(struct ferry_client *c)
{
	size_t rows = 0;
	if (c->store->ops->quarantined(c->store->impl, &rows) != FERRY_OK)
		return;
	ferry__lock(&c->mu);
	uint64_t before = c->stats.store_quarantined;
	c->stats.store_quarantined = rows;
	ferry__unlock(&c->mu);
	if (rows > before)
		ferry__log(c, FERRY_LOG_ERROR,
		           "store: %llu stored message(s) failed their checksum and were moved to the"
		           " quarantine table",
		           (unsigned long long)(rows - before));
}

/* A request for a stored row (copied). NULL when out of memory. */
static struct ferry_req *req_from_row(struct ferry_client *c, const struct ferry_stored_msg *m)
{
	struct ferry_req *r = ferry__req_publish_new(c, m->topic, m->topic_len, m->payload,
	                                             m->payload_len, m->qos, m->retain, NULL);
	if (!r)
		return NULL;
	if (ferry__req_props_from_block(r, m->props, m->props_len) != FERRY_OK) {
		ferry__log(c, FERRY_LOG_WARNING, "stored message %llu: properties unreadable, sent without",
		           (unsigned long long)m->token);
		memset(&r->props, 0, sizeof r->props);
	}
	r->op.token = m->token;
	r->stored = true;
	r->restored = true;
	r->store_state = m->state;
	r->store_pid = m->packet_id;
	return r;
}

/* ---- create ------------------------------------------------------------------ */

struct restore_ctx {
	struct ferry_client *c;
	int rc;
};

static int restore_inflight(void *arg, const struct ferry_stored_msg *m)
{
	struct restore_ctx *x = arg;
	struct ferry_client *c = x->c;
	struct ferry_req *r = req_from_row(c, m);
	if (!r) {
		x->rc = FERRY_ERR_NOMEM;
		return 1;
	}
	bool released = m->state == FERRY_STORE_RELEASED;
	if (!ferry__session_restore(c->session, &r->op, released, m->packet_id)) {
		/* Its id is taken (a damaged store): send it as a new message. */
		ferry__session_enqueue_ordered(c->session, &r->op);
	}
	c->stats.restored++;
	return 0;
}

static int restore_qos2(void *arg, uint16_t id, uint64_t mark, bool released)
{
	struct ferry_client *c = arg;
	if (ferry__session_in_qos2_set_mark(c->session, id, (uint32_t)mark) < 0)
		return FERRY_ERR_NOMEM;
	return !released && ferry__session_in_qos2_publish(c->session, id) < 0 ? FERRY_ERR_NOMEM : 0;
}

static int restore_sub(void *arg, const char *filter, uint8_t options)
{
	struct ferry_client *c = arg;
	struct ferry_bytes f = {(const uint8_t *)filter, strlen(filter)};
	int rc = ferry__set_sub_cb_locked(c, f, options, 0, NULL, NULL);
	if (!rc)
		ferry__sub_granted_locked(c, f); /* granted in an earlier run */
	return rc;
}

static int open_store(struct ferry_client *c, const struct ferry_client_options *o)
{
	if (o->store) {
		c->store = o->store;
		return FERRY_OK;
	}
	struct ferry_store_sqlite_options so = FERRY_STORE_SQLITE_OPTIONS_INIT;
	so.path = o->store_path;
	so.sync = o->store_sync;
	return ferry_store_sqlite_new(&so, &c->store);
}

int ferry__store_attach(struct ferry_client *c, const struct ferry_client_options *o)
{
	if (!o->store && !o->store_path)
		return FERRY_OK;
	if ((o->store && o->store_path) ||
	    (o->store_sync != FERRY_SYNC_NORMAL && o->store_sync != FERRY_SYNC_FULL) ||
	    (o->store && (!o->store->ops || o->store->ops->struct_size < sizeof *o->store->ops)))
		return FERRY_ERR_INVAL;
	int rc = open_store(c, o);
	if (rc)
		return rc;
	const struct ferry_store_ops *ops = c->store->ops;
	void *impl = c->store->impl;
	uint64_t max = 0;
	rc = ops->open(impl, c->client_id, &max);
	if (rc)
		return rc;
	c->next_token = max + 1;
	c->restore_end = max;
	struct restore_ctx x = {c, FERRY_OK};
	rc = ops->scan(impl, 0, SIZE_MAX, FERRY_SCAN_INFLIGHT, restore_inflight, &x);
	if (!rc)
		rc = x.rc;
	if (!rc)
		rc = ops->qos2_list(impl, restore_qos2, c);
	if (!rc)
		rc = ops->sub_list(impl, restore_sub, c);
	if (rc)
		return rc;
	size_t rows = 0;
	if (ops->quarantined(impl, &rows) == FERRY_OK)
		c->stats.store_quarantined = rows;
	c->restore_done = max == 0;
	return FERRY_OK;
}

void ferry__store_free(struct ferry_client *c)
{
	ferry_store_free(c->store);
	c->store = NULL;
	free(c->tx_changes);
	free(c->pending);
}

/* ---- publishing ------------------------------------------------------------- */

int ferry__store_put(struct ferry_client *c, struct ferry_req *const *reqs, size_t n)
{
	struct ferry_stored_msg one, *m = n == 1 ? &one : calloc(n, sizeof *m);
	if (!m)
		return FERRY_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct ferry_req *r = reqs[i];
		m[i] = (struct ferry_stored_msg){
		    .token = r->op.token,
		    .qos = r->op.qos,
		    .retain = r->retain,
		    .state = FERRY_STORE_QUEUED,
		    .topic = (const char *)r->topic,
		    .topic_len = r->topic_len,
		    .payload = r->payload,
		    .payload_len = r->payload_len,
		    .props = r->props_block,
		    .props_len = r->props_block_len,
		};
	}
	int rc = c->store->ops->put(c->store->impl, m, n);
	if (m != &one)
		free(m);
	if (rc)
		store_error(c, rc, "storing a publish");
	return rc;
}

/* ---- streaming the queued rows of earlier runs (tx) ----------------------------- */

bool ferry__store_need_load_locked(struct ferry_client *c)
{
	if (c->restore_done)
		return false;
	const struct ferry_op *head = ferry__session_oldest_queued(c->session);
	return !head || head->token > c->restore_end;
}

struct load_ctx {
	struct ferry_client *c;
	struct ferry_req **reqs;
	size_t n, bytes;
	uint64_t last;
	bool end;
	int rc;
};

static int load_row(void *arg, const struct ferry_stored_msg *m)
{
	struct load_ctx *x = arg;
	if (m->token > x->c->restore_end) {
		x->end = true; /* published by this run: already in memory */
		return 1;
	}
	struct ferry_req *r = req_from_row(x->c, m);
	if (!r) {
		x->rc = FERRY_ERR_NOMEM;
		return 1;
	}
	x->reqs[x->n++] = r;
	x->last = m->token;
	x->bytes += m->topic_len + m->payload_len;
	return x->bytes >= LOAD_BYTES ? 2 : 0;
}

void ferry__store_load_locked(struct ferry_client *c)
{
	struct ferry_req *reqs[LOAD_BATCH];
	struct load_ctx x = {.c = c, .reqs = reqs};
	uint64_t after = c->restore_next;
	ferry__unlock(&c->mu);
	int rc = c->store->ops->scan(c->store->impl, after, LOAD_BATCH, FERRY_SCAN_QUEUED, load_row,
	                             &x);
	if (rc == 1 || rc == 2)
		rc = FERRY_OK;
	if (!rc)
		rc = x.rc;
	if (rc)
		store_error(c, rc, "reading queued messages");
	note_quarantine(c);
	ferry__lock(&c->mu);
	for (size_t i = 0; i < x.n; i++)
		ferry__session_enqueue_ordered(c->session, &reqs[i]->op);
	c->stats.restored += x.n;
	if (x.n)
		c->restore_next = x.last;
	/* A short batch (or a failure, which would repeat) ends the stream: what
	 * is still stored is sent by the next run. */
	if (rc || x.end || (x.n < LOAD_BATCH && x.bytes < LOAD_BYTES))
		c->restore_done = true;
}

/* ---- progress (tx) ------------------------------------------------------------- */

static int push_change(struct ferry_store_change **v, size_t *n, size_t *cap,
                       struct ferry_store_change ch)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct ferry_store_change *nv = realloc(*v, ncap * sizeof *nv);
		if (!nv)
			return FERRY_ERR_NOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = ch;
	return FERRY_OK;
}

int ferry__store_note_send_locked(struct ferry_client *c, int what, struct ferry_op *op)
{
	struct ferry_req *r = op->owner;
	if (!r->stored)
		return FERRY_OK;
	uint8_t state = what == FERRY_SEND_PUBREL ? FERRY_STORE_RELEASED : FERRY_STORE_SENT;
	if (r->store_state == state && r->store_pid == op->packet_id && !c->store_resync)
		return FERRY_OK; /* a resend under the recorded id */
	struct ferry_store_change ch = {.token = op->token, .state = state, .packet_id = op->packet_id};
	/* QoS 2 must be recorded before the bytes leave (the broker must never
	 * see it under two ids). QoS 1 may wait for the next batch: a crash
	 * before it is recorded sends it again under a new id, which at least
	 * once allows, and spares a commit per send round. */
	int rc = op->qos == 2 ? push_change(&c->tx_changes, &c->tx_nchanges, &c->tx_capchanges, ch)
	                      : push_change(&c->pending, &c->npending, &c->cappending, ch);
	if (!rc) {
		r->store_state = state;
		r->store_pid = op->packet_id;
	}
	return rc;
}

int ferry__store_commit_changes(struct ferry_client *c)
{
	if (!c->tx_nchanges)
		return FERRY_OK;
	int rc = c->store->ops->update(c->store->impl, c->tx_changes, c->tx_nchanges, 0);
	c->tx_nchanges = 0;
	/* After a failure, what the requests believe recorded may not be: the
	 * connection is closed, and every send of the next one records again. */
	c->store_resync = rc != FERRY_OK;
	if (rc)
		store_error(c, rc, "recording sent messages");
	return rc;
}

/* ---- completion ------------------------------------------------------------------ */

void ferry__store_completed_locked(struct ferry_client *c, struct ferry_req *r)
{
	struct ferry_store_change ch = {.token = r->op.token, .state = FERRY_STORE_ACKED};
	if (push_change(&c->pending, &c->npending, &c->cappending, ch))
		/* Left in the store: the next run sends it once more. */
		ferry__log(c, FERRY_LOG_ERROR, "store: out of memory, token %llu not removed",
		           (unsigned long long)r->op.token);
}

/*
 * Drops the progress records (SENT, RELEASED) of messages the same batch
 * removes: recording a state only to delete the row in the same transaction
 * is wasted work (for QoS 1 streams, nearly every SENT meets its removal
 * here). Returns the new count; order is kept.
 */
static size_t coalesce(struct ferry_store_change *ch, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap <<= 1;
	uint64_t *set = calloc(cap, sizeof *set);
	if (!set)
		return n; /* correct anyway, only slower */
	for (size_t i = 0; i < n; i++) {
		if (ch[i].state != FERRY_STORE_ACKED)
			continue;
		size_t h = (size_t)(ch[i].token * UINT64_C(0x9e3779b97f4a7c15)) & (cap - 1);
		while (set[h] && set[h] != ch[i].token)
			h = (h + 1) & (cap - 1);
		set[h] = ch[i].token;
	}
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;
		if (ch[i].state != FERRY_STORE_ACKED) {
			size_t h = (size_t)(ch[i].token * UINT64_C(0x9e3779b97f4a7c15)) & (cap - 1);
			while (set[h] && set[h] != ch[i].token)
				h = (h + 1) & (cap - 1);
			drop = set[h] == ch[i].token;
		}
		if (!drop)
			ch[out++] = ch[i];
	}
	free(set);
	return out;
}

/* Keeps only the removals of a batch, in order; returns their count. */
static size_t keep_removals(struct ferry_store_change *ch, size_t n)
{
	size_t out = 0;
	for (size_t i = 0; i < n; i++)
		if (ch[i].state == FERRY_STORE_ACKED)
			ch[out++] = ch[i];
	return out;
}

void ferry__store_flush_acked(struct ferry_client *c)
{
	if (!c->store)
		return;
	ferry__lock(&c->mu);
	/* One committer at a time, and a caller returns only once every commit
	 * started before it is done: completions run after their rows went. */
	while (c->pending_busy)
		pthread_cond_wait(&c->cv, &c->mu);
	struct ferry_store_change *ch = c->pending;
	size_t n = c->npending, cap = c->cappending;
	if (!n) {
		ferry__unlock(&c->mu);
		return;
	}
	c->pending = NULL;
	c->npending = c->cappending = 0;
	c->pending_busy = true;
	ferry__unlock(&c->mu);
	n = coalesce(ch, n);
	int rc = n ? c->store->ops->update(c->store->impl, ch, n, FERRY_UPDATE_LAZY) : FERRY_OK;
	if (rc) {
		/* Progress records may need room a full store lacks; removals free
		 * room. Try them alone, and keep them for the next round if even
		 * that fails: an acknowledged row is never left behind for good. */
		store_error(c, rc, "recording acknowledged messages");
		n = keep_removals(ch, n);
		rc = n ? c->store->ops->update(c->store->impl, ch, n, FERRY_UPDATE_LAZY) : FERRY_OK;
	}
	ferry__lock(&c->mu);
	for (size_t i = 0; rc && i < n; i++)
		if (push_change(&c->pending, &c->npending, &c->cappending, ch[i]))
			break;
	c->pending_busy = false;
	if (!c->pending) { /* give the buffer back for the next round */
		c->pending = ch;
		c->cappending = cap;
		ch = NULL;
	}
	pthread_cond_broadcast(&c->cv);
	ferry__unlock(&c->mu);
	free(ch);
}

/* ---- inbound QoS 2 and subscriptions (rx) -------------------------------------------- */

void ferry__store_qos2(struct ferry_client *c, uint16_t id, uint32_t mark, bool released)
{
	if (!c->store)
		return;
	int rc = c->store->ops->qos2_put(c->store->impl, id, mark, released);
	if (rc)
		store_error(c, rc, released ? "recording a released inbound QoS 2 id"
		                            : "storing an inbound QoS 2 id");
}

struct id_list {
	uint16_t ids[1024];
	size_t n;
};

static int collect_id(void *arg, uint16_t id, uint64_t mark, bool released)
{
	(void)mark, (void)released;
	struct id_list *l = arg;
	l->ids[l->n++] = id;
	return l->n == sizeof l->ids / sizeof l->ids[0] ? 1 : 0;
}

/* The broker has no session: its QoS 2 ids mean nothing any more. Callbacks
 * must not call into the store, so ids are collected, then removed. */
void ferry__store_qos2_clear(struct ferry_client *c)
{
	if (!c->store)
		return;
	const struct ferry_store_ops *ops = c->store->ops;
	struct id_list *l = malloc(sizeof *l);
	int rc = l ? FERRY_OK : FERRY_ERR_NOMEM;
	while (!rc) {
		l->n = 0;
		rc = ops->qos2_list(c->store->impl, collect_id, l);
		if (rc == 1)
			rc = FERRY_OK;
		for (size_t i = 0; !rc && i < l->n; i++)
			rc = ops->qos2_remove(c->store->impl, l->ids[i]);
		if (l->n < sizeof l->ids / sizeof l->ids[0])
			break;
	}
	free(l);
	if (rc)
		store_error(c, rc, "forgetting inbound QoS 2 ids");
}

void ferry__store_sub(struct ferry_client *c, struct ferry_bytes filter, uint8_t options, bool add)
{
	if (!c->store)
		return;
	char *f = malloc(filter.len + 1);
	if (!f) {
		store_error(c, FERRY_ERR_NOMEM, "storing a subscription");
		return;
	}
	memcpy(f, filter.p, filter.len);
	f[filter.len] = 0;
	const struct ferry_store_ops *ops = c->store->ops;
	int rc = add ? ops->sub_put(c->store->impl, f, options) : ops->sub_remove(c->store->impl, f);
	free(f);
	if (rc)
		store_error(c, rc, add ? "storing a subscription" : "removing a subscription");
}

/* ---- listing ---------------------------------------------------------------------- */

struct list_ctx {
	int (*fn)(void *arg, const struct ferry_stored_msg *m);
	void *arg;
	uint64_t last;
	size_t n;
	int rc;
};

static int list_row(void *arg, const struct ferry_stored_msg *m)
{
	struct list_ctx *x = arg;
	x->last = m->token;
	x->n++;
	x->rc = x->fn(x->arg, m);
	return x->rc ? 1 : 0;
}

int ferry_stored_list(ferry_client *c, int (*fn)(void *arg, const struct ferry_stored_msg *m),
                      void *arg)
{
	if (!c || !fn)
		return FERRY_ERR_INVAL;
	if (!c->store)
		return FERRY_OK; /* nothing outlives the process: nothing is stored */
	struct list_ctx x = {.fn = fn, .arg = arg};
	int rc;
	do {
		x.n = 0;
		rc = c->store->ops->scan(c->store->impl, x.last, LOAD_BATCH, FERRY_SCAN_ALL, list_row,
		                         &x);
		if (x.rc)
			return x.rc;
	} while (!rc && x.n == LOAD_BATCH);
	note_quarantine(c);
	return rc;
}

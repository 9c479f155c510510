/*
 * store_memory.c - the in-memory store (ferry/store.h): survives reconnects,
 * not a process restart.
 *
 * Data structures, all guarded by mem->lock (the innermost lock of ferry):
 *  - messages: an array of pointers to one-block copies (header + topic +
 *    payload + props), sorted by token, occupying slots [head, len). Tokens
 *    normally arrive increasing, so put appends; acks mostly remove the
 *    oldest message, so remove shifts whichever side of the slot is shorter
 *    (removing the head is O(1): head moves up). Lookup is binary search.
 *  - inbound QoS 2 ids: a sorted array of records (memory follows the ids
 *    held, no 65,536-bit table per client).
 *  - subscriptions: an array sorted by filter bytes (memcmp order, like
 *    SQLite's BINARY collation), each filter a NUL-terminated copy.
 * max_token is the highest token ever put (kept after removal, so open never
 * lets a token be reused). Invariants: tokens in [head, len) strictly
 * increase; msg_bytes is the sum of topic_len + payload_len over them; no
 * qos2 id is 0 and none repeats.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ferry/store.h>

#include "platform.h"
#include "store_common.h"

struct mem_msg {
	struct ferry_stored_msg m; /* topic/payload/props point into data */
	unsigned char data[];
};

struct mem_sub {
	char *filter;
	uint8_t options;
};

struct mem_q2 {
	uint16_t id;
	bool released;
	uint64_t hash;
};

struct mem_store {
	pthread_mutex_t lock;
	struct mem_msg **msgs;
	size_t head, len, cap;
	size_t msg_bytes;
	uint64_t max_token; /* highest token ever put: open reports it */
	struct mem_q2 *ids; /* sorted by id */
	size_t n_ids, cap_ids;
	struct mem_sub *subs;
	size_t n_subs, cap_subs;
};

/* Index of the first message with token >= t, in [head, len]. */
static size_t msg_lower_bound(const struct mem_store *mem, uint64_t t)
{
	size_t lo = mem->head, hi = mem->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mem->msgs[mid]->m.token < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int msg_valid(const struct ferry_stored_msg *m)
{
	/* Tokens above INT64_MAX are refused by both built-in stores (SQLite
	 * keeps them as signed 64-bit integers). */
	if (m->token == 0 || m->token > (uint64_t)INT64_MAX || (m->qos != 1 && m->qos != 2) ||
	    m->state > FERRY_STORE_RELEASED)
		return 0;
	if ((m->topic_len && !m->topic) || (m->payload_len && !m->payload) ||
	    (m->props_len && !m->props))
		return 0;
	return 1;
}

static struct mem_msg *msg_copy(const struct ferry_stored_msg *m)
{
	size_t n = m->topic_len + m->payload_len + m->props_len;
	struct mem_msg *c = malloc(sizeof *c + n);
	if (!c)
		return NULL;
	c->m = *m;
	unsigned char *p = c->data;
	if (m->topic_len)
		memcpy(p, m->topic, m->topic_len);
	c->m.topic = (const char *)p;
	p += m->topic_len;
	if (m->payload_len)
		memcpy(p, m->payload, m->payload_len);
	c->m.payload = p;
	p += m->payload_len;
	if (m->props_len)
		memcpy(p, m->props, m->props_len);
	c->m.props = p;
	return c;
}

/* Makes room for `extra` more slots after len (compacting or growing). */
static int msg_reserve(struct mem_store *mem, size_t extra)
{
	if (mem->len + extra <= mem->cap)
		return FERRY_OK;
	size_t live = mem->len - mem->head;
	if (mem->head && live + extra <= mem->cap && mem->head >= mem->cap / 4) {
		memmove(mem->msgs, mem->msgs + mem->head, live * sizeof *mem->msgs);
		mem->head = 0;
		mem->len = live;
		return FERRY_OK;
	}
	size_t cap = mem->cap ? mem->cap : 16;
	while (cap < live + extra)
		cap *= 2;
	struct mem_msg **a = malloc(cap * sizeof *a);
	if (!a)
		return FERRY_ERR_NOMEM;
	if (live)
		memcpy(a, mem->msgs + mem->head, live * sizeof *a);
	free(mem->msgs);
	mem->msgs = a;
	mem->cap = cap;
	mem->head = 0;
	mem->len = live;
	return FERRY_OK;
}

/* Checks tokens against the store and each other; 0 when all are new. */
static int msg_tokens_new(const struct mem_store *mem, const struct ferry_stored_msg *msgs,
                          size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t at = msg_lower_bound(mem, msgs[i].token);
		if (at < mem->len && mem->msgs[at]->m.token == msgs[i].token)
			return FERRY_ERR_INVAL;
		for (size_t j = 0; j < i; j++)
			if (msgs[j].token == msgs[i].token)
				return FERRY_ERR_INVAL;
	}
	return FERRY_OK;
}

static void msg_insert(struct mem_store *mem, struct mem_msg *c)
{
	size_t at = msg_lower_bound(mem, c->m.token);
	memmove(mem->msgs + at + 1, mem->msgs + at, (mem->len - at) * sizeof *mem->msgs);
	mem->msgs[at] = c;
	mem->len++;
	mem->msg_bytes += c->m.topic_len + c->m.payload_len;
	if (c->m.token > mem->max_token)
		mem->max_token = c->m.token;
}

static int mem_put_locked(struct mem_store *mem, const struct ferry_stored_msg *msgs, size_t n)
{
	int rc = msg_tokens_new(mem, msgs, n);
	if (rc)
		return rc;
	rc = msg_reserve(mem, n);
	if (rc)
		return rc;
	struct mem_msg **tmp = calloc(n, sizeof *tmp);
	if (!tmp)
		return FERRY_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		tmp[i] = msg_copy(&msgs[i]);
		if (!tmp[i]) {
			for (size_t j = 0; j < i; j++)
				free(tmp[j]);
			free(tmp);
			return FERRY_ERR_NOMEM;
		}
	}
	for (size_t i = 0; i < n; i++)
		msg_insert(mem, tmp[i]);
	free(tmp);
	return FERRY_OK;
}

static int mem_open(void *impl, const char *client_id, uint64_t *max_token)
{
	struct mem_store *mem = impl;
	if (!client_id || !max_token)
		return FERRY_ERR_INVAL;
	ferry__lock(&mem->lock);
	*max_token = mem->max_token;
	ferry__unlock(&mem->lock);
	return FERRY_OK;
}

static int mem_put(void *impl, const struct ferry_stored_msg *msgs, size_t n)
{
	struct mem_store *mem = impl;
	if (!msgs || n == 0)
		return FERRY_ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!msg_valid(&msgs[i]))
			return FERRY_ERR_INVAL;
	ferry__lock(&mem->lock);
	int rc = mem_put_locked(mem, msgs, n);
	ferry__unlock(&mem->lock);
	return rc;
}

static void mem_set_state_locked(struct mem_store *mem, uint64_t token, uint8_t state,
                                 uint16_t packet_id)
{
	size_t at = msg_lower_bound(mem, token);
	if (at < mem->len && mem->msgs[at]->m.token == token) {
		mem->msgs[at]->m.state = state;
		mem->msgs[at]->m.packet_id = packet_id;
	}
}

static void mem_remove_locked(struct mem_store *mem, uint64_t token)
{
	size_t at = msg_lower_bound(mem, token);
	if (at < mem->len && mem->msgs[at]->m.token == token) {
		struct mem_msg *c = mem->msgs[at];
		mem->msg_bytes -= c->m.topic_len + c->m.payload_len;
		free(c);
		if (at - mem->head < mem->len - at - 1) {
			memmove(mem->msgs + mem->head + 1, mem->msgs + mem->head,
			        (at - mem->head) * sizeof *mem->msgs);
			mem->head++;
		} else {
			memmove(mem->msgs + at, mem->msgs + at + 1,
			        (mem->len - at - 1) * sizeof *mem->msgs);
			mem->len--;
		}
		if (mem->head == mem->len)
			mem->head = mem->len = 0;
	}
}

static int mem_update(void *impl, const struct ferry_store_change *changes, size_t n,
                      unsigned flags)
{
	(void)flags; /* nothing here reaches a disk */
	struct mem_store *mem = impl;
	if (!ferry__store_changes_valid(changes, n))
		return FERRY_ERR_INVAL;
	ferry__lock(&mem->lock);
	for (size_t i = 0; i < n; i++) {
		if (changes[i].state == FERRY_STORE_ACKED)
			mem_remove_locked(mem, changes[i].token);
		else
			mem_set_state_locked(mem, changes[i].token, changes[i].state,
			                     changes[i].packet_id);
	}
	ferry__unlock(&mem->lock);
	return FERRY_OK;
}


static int mem_scan(void *impl, uint64_t after, size_t max, int which,
                    int (*fn)(void *arg, const struct ferry_stored_msg *m), void *arg)
{
	struct mem_store *mem = impl;
	if (!fn || which < FERRY_SCAN_ALL || which > FERRY_SCAN_INFLIGHT)
		return FERRY_ERR_INVAL;
	ferry__lock(&mem->lock);
	int rc = FERRY_OK;
	size_t at = after == UINT64_MAX ? mem->len : msg_lower_bound(mem, after + 1);
	for (size_t done = 0; at < mem->len && done < max && !rc; at++) {
		const struct ferry_stored_msg *m = &mem->msgs[at]->m;
		if ((which == FERRY_SCAN_QUEUED && m->state != FERRY_STORE_QUEUED) ||
		    (which == FERRY_SCAN_INFLIGHT && m->state == FERRY_STORE_QUEUED))
			continue;
		done++;
		rc = fn(arg, m);
	}
	ferry__unlock(&mem->lock);
	return rc;
}

static int mem_count(void *impl, size_t *msgs, size_t *bytes)
{
	struct mem_store *mem = impl;
	ferry__lock(&mem->lock);
	if (msgs)
		*msgs = mem->len - mem->head;
	if (bytes)
		*bytes = mem->msg_bytes;
	ferry__unlock(&mem->lock);
	return FERRY_OK;
}

/* Index of the first id >= id. */
static size_t id_lower_bound(const struct mem_store *mem, uint16_t id)
{
	size_t lo = 0, hi = mem->n_ids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mem->ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int mem_qos2_put(void *impl, uint16_t packet_id, uint64_t hash, bool released)
{
	struct mem_store *mem = impl;
	if (packet_id == 0)
		return FERRY_ERR_INVAL;
	int rc = FERRY_OK;
	struct mem_q2 rec = {packet_id, released, hash};
	ferry__lock(&mem->lock);
	size_t at = id_lower_bound(mem, packet_id);
	if (at < mem->n_ids && mem->ids[at].id == packet_id) {
		mem->ids[at] = rec;
		goto out;
	}
	if (mem->n_ids == mem->cap_ids) {
		size_t cap = mem->cap_ids ? mem->cap_ids * 2 : 8;
		struct mem_q2 *a = realloc(mem->ids, cap * sizeof *a);
		if (!a) {
			rc = FERRY_ERR_NOMEM;
			goto out;
		}
		mem->ids = a;
		mem->cap_ids = cap;
	}
	memmove(mem->ids + at + 1, mem->ids + at, (mem->n_ids - at) * sizeof *mem->ids);
	mem->ids[at] = rec;
	mem->n_ids++;
out:
	ferry__unlock(&mem->lock);
	return rc;
}

static int mem_qos2_remove(void *impl, uint16_t packet_id)
{
	struct mem_store *mem = impl;
	ferry__lock(&mem->lock);
	size_t at = id_lower_bound(mem, packet_id);
	if (at < mem->n_ids && mem->ids[at].id == packet_id) {
		memmove(mem->ids + at, mem->ids + at + 1, (mem->n_ids - at - 1) * sizeof *mem->ids);
		mem->n_ids--;
	}
	ferry__unlock(&mem->lock);
	return FERRY_OK;
}

static int mem_qos2_list(void *impl,
                         int (*fn)(void *arg, uint16_t packet_id, uint64_t hash, bool released),
                         void *arg)
{
	struct mem_store *mem = impl;
	if (!fn)
		return FERRY_ERR_INVAL;
	int rc = FERRY_OK;
	ferry__lock(&mem->lock);
	for (size_t i = 0; i < mem->n_ids && !rc; i++)
		rc = fn(arg, mem->ids[i].id, mem->ids[i].hash, mem->ids[i].released);
	ferry__unlock(&mem->lock);
	return rc;
}

/* Index of the first subscription whose filter is >= f; *found if equal. */
static size_t sub_find(const struct mem_store *mem, const char *f, int *found)
{
	size_t lo = 0, hi = mem->n_subs;
	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(mem->subs[mid].filter, f);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int mem_sub_put_locked(struct mem_store *mem, const char *filter, uint8_t options)
{
	int found;
	size_t at = sub_find(mem, filter, &found);
	if (found) {
		mem->subs[at].options = options;
		return FERRY_OK;
	}
	if (mem->n_subs == mem->cap_subs) {
		size_t cap = mem->cap_subs ? mem->cap_subs * 2 : 4;
		struct mem_sub *a = realloc(mem->subs, cap * sizeof *a);
		if (!a)
			return FERRY_ERR_NOMEM;
		mem->subs = a;
		mem->cap_subs = cap;
	}
	char *copy = strdup(filter);
	if (!copy)
		return FERRY_ERR_NOMEM;
	memmove(mem->subs + at + 1, mem->subs + at, (mem->n_subs - at) * sizeof *mem->subs);
	mem->subs[at].filter = copy;
	mem->subs[at].options = options;
	mem->n_subs++;
	return FERRY_OK;
}

static int mem_sub_put(void *impl, const char *filter, uint8_t options)
{
	struct mem_store *mem = impl;
	if (!filter)
		return FERRY_ERR_INVAL;
	ferry__lock(&mem->lock);
	int rc = mem_sub_put_locked(mem, filter, options);
	ferry__unlock(&mem->lock);
	return rc;
}

static int mem_sub_remove(void *impl, const char *filter)
{
	struct mem_store *mem = impl;
	if (!filter)
		return FERRY_ERR_INVAL;
	ferry__lock(&mem->lock);
	int found;
	size_t at = sub_find(mem, filter, &found);
	if (found) {
		free(mem->subs[at].filter);
		memmove(mem->subs + at, mem->subs + at + 1,
		        (mem->n_subs - at - 1) * sizeof *mem->subs);
		mem->n_subs--;
	}
	ferry__unlock(&mem->lock);
	return FERRY_OK;
}

static int mem_sub_list(void *impl, int (*fn)(void *arg, const char *filter, uint8_t options),
                        void *arg)
{
	struct mem_store *mem = impl;
	if (!fn)
		return FERRY_ERR_INVAL;
	int rc = FERRY_OK;
	ferry__lock(&mem->lock);
	for (size_t i = 0; i < mem->n_subs && !rc; i++)
		rc = fn(arg, mem->subs[i].filter, mem->subs[i].options);
	ferry__unlock(&mem->lock);
	return rc;
}

static int mem_quarantined(void *impl, size_t *rows)
{
	(void)impl;
	if (!rows)
		return FERRY_ERR_INVAL;
	*rows = 0; /* memory has no checksums to fail */
	return FERRY_OK;
}

static void mem_close(void *impl)
{
	struct mem_store *mem = impl;
	if (!mem)
		return;
	for (size_t i = mem->head; i < mem->len; i++)
		free(mem->msgs[i]);
	free(mem->msgs);
	free(mem->ids);
	for (size_t i = 0; i < mem->n_subs; i++)
		free(mem->subs[i].filter);
	free(mem->subs);
	pthread_mutex_destroy(&mem->lock);
	free(mem);
}

static const struct ferry_store_ops mem_ops = {
    .struct_size = sizeof(struct ferry_store_ops),
    .open = mem_open,
    .put = mem_put,
    .update = mem_update,
    .scan = mem_scan,
    .count = mem_count,
    .qos2_put = mem_qos2_put,
    .qos2_remove = mem_qos2_remove,
    .qos2_list = mem_qos2_list,
    .sub_put = mem_sub_put,
    .sub_remove = mem_sub_remove,
    .sub_list = mem_sub_list,
    .quarantined = mem_quarantined,
    .close = mem_close,
};

int ferry_store_memory_new(struct ferry_store **out)
{
	if (!out)
		return FERRY_ERR_INVAL;
	*out = NULL;
	struct ferry_store *s = malloc(sizeof *s);
	struct mem_store *mem = calloc(1, sizeof *mem);
	if (!s || !mem) {
		free(s);
		free(mem);
		return FERRY_ERR_NOMEM;
	}
	if (pthread_mutex_init(&mem->lock, NULL)) {
		free(s);
		free(mem);
		return FERRY_ERR_SYSTEM;
	}
	s->ops = &mem_ops;
	s->impl = mem;
	*out = s;
	return FERRY_OK;
}

/*
 * session.c - the MQTT session state of one client (see session.h for the
 * states, transitions and invariants; this comment adds what the code
 * decides beyond them).
 *
 * Data structures, all proportional to what the session holds (a gateway has
 * thousands of sessions, so there is no 65,536-entry table per session):
 *  - outbox and in-flight list: intrusive doubly-linked lists through
 *    op->prev/next, O(1) append, prepend and unlink.
 *  - transmit queue: intrusive singly-linked FIFO through op->xnext. It is
 *    rebuilt in in-flight order by on_connected; a PUBREC appends its op, so
 *    PUBRELs go out in the order their PUBRECs arrived (MQTT 3.1.1 4.6,
 *    MQTT 5.0 4.6).
 *  - the id index (packet id -> op) and the inbound QoS 2 id set: one
 *    open-addressing hash table type (linear probing, Fibonacci hashing,
 *    backward-shift deletion, no tombstones), load factor at most 1/2, grown
 *    by doubling and shrunk by halving below 1/8, so memory follows the
 *    number of ids held (at most 2^17 slots for 65,535 ids). Key 0 marks an
 *    empty slot: 0 is never a valid packet id.
 *  - packet ids come from a rotating cursor (1..65535, wrapping, never 0)
 *    that skips ids in use. Each allocation costs one probe per id skipped;
 *    over a full turn of the cursor that is 65,535 / (65,535 - in flight)
 *    probes per id on average: O(1) while the window is below a large
 *    fraction of the id space.
 *
 * Acks are accepted only in the states session.h lists (WAIT_ACK, WAIT_COMP)
 * and only for the matching kind and QoS; every other combination returns
 * FERRY_ACK_WRONG_STATE and changes nothing (an op in RESEND or SEND_REL is
 * waiting for its retransmission, which is what the broker expects next).
 * A PUBREC with a failure reason (>= 0x80) completes the op in either state
 * that accepts PUBREC: the broker ended the flow and the id is free again.
 * A PUBACK for a QoS 2 PUBLISH still awaiting PUBREC completes it too
 * (FERRY_ACK_DOWNGRADED): the broker accepted it at QoS 1, so sending it
 * again could only repeat that; the caller reports the protocol error.
 *
 * Out of memory: next_send returns FERRY_SEND_NONE and leaves the op at the
 * outbox head when the id index cannot grow (retry later: nothing is lost);
 * in_qos2_publish returns -1. Shrinking never fails visibly (a failed shrink
 * keeps the larger table).
 *
 * Smaller decisions:
 *  - on_connected sets *done (NULL when nothing completed); it does not
 *    append to a list the caller passes in. done may be NULL only with
 *    session_present.
 *  - take_all empties the outbox, the in-flight list and the transmit queue
 *    but keeps the inbound QoS 2 ids: they are the broker's messages, not
 *    ops, and forgetting them could deliver a message twice.
 *  - A window of 0 is treated as 1 (MQTT 5 forbids Receive Maximum 0).
 *  - in_qos2_publish(0) returns true and remembers nothing (0 is never a
 *    valid id; the decoder rejects it).
 *  - next_resend is send_transmit alone; next_send is send_transmit, then
 *    send_queued.
 *  - An op handed back to the caller (done, QoS 0 sent, take_all) keeps its
 *    last packet_id and state for the caller's information; its prev, next
 *    (except as a list link) and xnext are NULL.
 */
#include "session.h"

#include <assert.h>
#include <stdlib.h>

#include "codec.h"
#include "ferry/ferry.h"

#define ID_MAX      65535u
#define TAB_MIN_CAP 8u

/* Open-addressing set of uint16 ids (0 = empty), with an optional value per id. */
struct idtab {
	uint16_t *keys;
	struct ferry_op **vals; /* NULL for a plain set */
	uint32_t cap;           /* 0 or a power of two */
	uint32_t count;
	uint8_t bits; /* cap == 1 << bits */
	bool with_vals;
	uint32_t keep; /* never shrink below this capacity (sized from the window) */
};

struct op_list {
	struct ferry_op *head, *tail;
};

struct ferry_session {
	uint16_t window;
	uint16_t next_id;
	struct op_list outbox;
	struct op_list inflight;
	struct ferry_op *xhead, *xtail; /* transmit queue */
	struct idtab ids;               /* packet id -> in-flight op */
	struct idtab in_qos2;           /* inbound QoS 2 ids awaiting PUBREL */
	uint32_t *last_hash;            /* per packet id: content hash of the last QoS 2 delivery
	                                   under it (0: none), or NULL before the first */
	size_t queued;
	size_t queued_bytes;
	size_t inflight_pub;
};

/* ---- id tables ---------------------------------------------------------------- */

static uint32_t tab_home(const struct idtab *t, uint16_t id)
{
	return (uint32_t)((uint32_t)id * 2654435769u) >> (32u - t->bits);
}

/* The slot holding id, or t->cap when absent. */
static uint32_t tab_find(const struct idtab *t, uint16_t id)
{
	if (t->cap == 0 || id == 0)
		return t->cap;
	uint32_t mask = t->cap - 1;
	for (uint32_t i = tab_home(t, id);; i = (i + 1) & mask) {
		if (t->keys[i] == id)
			return i;
		if (t->keys[i] == 0)
			return t->cap;
	}
}

/* Inserts an id known to be absent; the table has room. */
static void tab_insert(struct idtab *t, uint16_t id, struct ferry_op *val)
{
	uint32_t mask = t->cap - 1;
	uint32_t i = tab_home(t, id);
	while (t->keys[i] != 0)
		i = (i + 1) & mask;
	t->keys[i] = id;
	if (t->with_vals)
		t->vals[i] = val;
	t->count++;
}

/* Rehashes into a table of 1 << bits slots. Returns 0, or -1 (table unchanged). */
static int tab_resize(struct idtab *t, uint8_t bits)
{
	struct idtab n = {.bits = bits, .cap = 1u << bits, .with_vals = t->with_vals};
	n.keys = calloc(n.cap, sizeof *n.keys);
	if (n.keys && n.with_vals)
		n.vals = calloc(n.cap, sizeof *n.vals);
	if (!n.keys || (n.with_vals && !n.vals)) {
		free(n.keys);
		return -1;
	}
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->keys[i] != 0)
			tab_insert(&n, t->keys[i], t->with_vals ? t->vals[i] : NULL);
	free(t->keys);
	free(t->vals);
	*t = n;
	return 0;
}

/* Makes room for one more id (load factor at most 1/2). Returns 0 or -1. */
static int tab_reserve(struct idtab *t)
{
	if ((t->count + 1u) * 2u <= t->cap)
		return 0;
	uint8_t bits = t->cap ? (uint8_t)(t->bits + 1u) : 3u;
	return tab_resize(t, bits);
}

static void tab_clear(struct idtab *t)
{
	free(t->keys);
	free(t->vals);
	bool with_vals = t->with_vals;
	uint32_t keep = t->keep;
	*t = (struct idtab){.with_vals = with_vals, .keep = keep};
}

/* Removes the id in slot i, shifting later entries of its probe run back. */
static void tab_remove_slot(struct idtab *t, uint32_t i)
{
	uint32_t mask = t->cap - 1;
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (t->keys[j] == 0)
			break;
		uint32_t k = tab_home(t, t->keys[j]);
		/* The entry at j may move to i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		t->keys[i] = t->keys[j];
		if (t->with_vals)
			t->vals[i] = t->vals[j];
		i = j;
	}
	t->keys[i] = 0;
	if (t->with_vals)
		t->vals[i] = NULL;
	t->count--;
	/* Halve below 1/8 full (never under TAB_MIN_CAP, so a session cycling one
	 * op does not allocate per message); a failure keeps the bigger table. */
	if (t->cap > TAB_MIN_CAP && t->cap > t->keep && t->count * 8u < t->cap)
		(void)tab_resize(t, (uint8_t)(t->bits - 1u));
}

/* ---- intrusive lists ------------------------------------------------------------ */

static void list_append(struct op_list *l, struct ferry_op *op)
{
	op->next = NULL;
	op->prev = l->tail;
	if (l->tail)
		l->tail->next = op;
	else
		l->head = op;
	l->tail = op;
}

static void list_unlink(struct op_list *l, struct ferry_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		l->head = op->next;
	if (op->next)
		op->next->prev = op->prev;
	else
		l->tail = op->prev;
	op->prev = op->next = NULL;
}

/* Moves every op of `front` before the ops of l; front is empty afterwards. */
static void list_prepend_all(struct op_list *l, struct op_list *front)
{
	if (!front->head)
		return;
	front->tail->next = l->head;
	if (l->head)
		l->head->prev = front->tail;
	else
		l->tail = front->tail;
	l->head = front->head;
	front->head = front->tail = NULL;
}

static void xq_append(struct ferry_session *s, struct ferry_op *op)
{
	op->xnext = NULL;
	if (s->xtail)
		s->xtail->xnext = op;
	else
		s->xhead = op;
	s->xtail = op;
}

static void xq_clear(struct ferry_session *s)
{
	struct ferry_op *op = s->xhead;
	while (op) {
		struct ferry_op *n = op->xnext;
		op->xnext = NULL;
		op = n;
	}
	s->xhead = s->xtail = NULL;
}

static bool is_pub_qos(const struct ferry_op *op)
{
	return op->kind == FERRY_OP_PUBLISH && op->qos > 0;
}

/* Takes an in-flight op out of the in-flight list and the id index. */
static void inflight_remove(struct ferry_session *s, struct ferry_op *op)
{
	uint32_t slot = tab_find(&s->ids, op->packet_id);
	assert(slot < s->ids.cap);
	if (slot < s->ids.cap)
		tab_remove_slot(&s->ids, slot);
	list_unlink(&s->inflight, op);
	if (is_pub_qos(op))
		s->inflight_pub--;
}

/* ---- construction ----------------------------------------------------------------- */

struct ferry_session *ferry__session_new(uint16_t window)
{
	struct ferry_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	ferry__session_set_window(s, window);
	s->next_id = 1;
	s->ids.with_vals = true;
	return s;
}

void ferry__session_free(struct ferry_session *s)
{
	if (!s)
		return;
	tab_clear(&s->ids);
	tab_clear(&s->in_qos2);
	free(s->last_hash);
	free(s);
}

void ferry__session_set_window(struct ferry_session *s, uint16_t window)
{
	s->window = window ? window : 1; /* 0 is not a window: MQTT 5 forbids Receive Maximum 0 */
	/* A full window in flight keeps the id table under half full: do not
	 * shrink it below that, or a steady stream resizes it over and over. */
	uint32_t keep = 1;
	while (keep < 2u * s->window && keep < (1u << 17))
		keep <<= 1;
	s->ids.keep = keep;
}

void ferry__session_enqueue(struct ferry_session *s, struct ferry_op *op)
{
	assert(op->kind >= FERRY_OP_PUBLISH && op->kind <= FERRY_OP_UNSUBSCRIBE);
	assert(op->kind != FERRY_OP_PUBLISH || op->qos <= 2);
	op->state = FERRY_OPS_QUEUED;
	op->packet_id = 0;
	op->dup = false;
	op->xnext = NULL;
	list_append(&s->outbox, op);
	s->queued++;
	s->queued_bytes += op->bytes;
}

void ferry__session_enqueue_front(struct ferry_session *s, struct ferry_op *op)
{
	assert(op->kind >= FERRY_OP_PUBLISH && op->kind <= FERRY_OP_UNSUBSCRIBE);
	op->state = FERRY_OPS_QUEUED;
	op->packet_id = 0;
	op->dup = false;
	op->xnext = NULL;
	struct op_list one = {NULL, NULL};
	list_append(&one, op);
	list_prepend_all(&s->outbox, &one);
	s->queued++;
	s->queued_bytes += op->bytes;
}

void ferry__session_abort(struct ferry_session *s, struct ferry_op *op)
{
	assert(op->packet_id != 0 && op->state == FERRY_OPS_WAIT_ACK);
	inflight_remove(s, op);
	op->packet_id = 0;
}

void ferry__session_enqueue_ordered(struct ferry_session *s, struct ferry_op *op)
{
	struct ferry_op *at = s->outbox.head;
	while (at && at->token < op->token)
		at = at->next;
	if (!at) {
		ferry__session_enqueue(s, op);
		return;
	}
	op->state = FERRY_OPS_QUEUED;
	op->packet_id = 0;
	op->dup = false;
	op->xnext = NULL;
	op->next = at;
	op->prev = at->prev;
	if (at->prev)
		at->prev->next = op;
	else
		s->outbox.head = op;
	at->prev = op;
	s->queued++;
	s->queued_bytes += op->bytes;
}

bool ferry__session_restore(struct ferry_session *s, struct ferry_op *op, bool released,
                            uint16_t packet_id)
{
	if (!is_pub_qos(op) || packet_id == 0 || (released && op->qos != 2) ||
	    tab_find(&s->ids, packet_id) < s->ids.cap || tab_reserve(&s->ids) != 0)
		return false;
	op->packet_id = packet_id;
	op->state = released ? FERRY_OPS_WAIT_COMP : FERRY_OPS_WAIT_ACK;
	op->dup = true;
	op->xnext = NULL;
	tab_insert(&s->ids, packet_id, op);
	list_append(&s->inflight, op);
	s->inflight_pub++;
	return true;
}

/* ---- sending -------------------------------------------------------------------- */

static enum ferry_send_what what_for(const struct ferry_op *op)
{
	switch (op->kind) {
	case FERRY_OP_SUBSCRIBE:
		return FERRY_SEND_SUBSCRIBE;
	case FERRY_OP_UNSUBSCRIBE:
		return FERRY_SEND_UNSUBSCRIBE;
	default:
		return FERRY_SEND_PUBLISH;
	}
}

/* The next free id at or after the cursor; the caller checked one is free. */
static uint16_t alloc_id(struct ferry_session *s)
{
	uint16_t id = s->next_id;
	while (tab_find(&s->ids, id) < s->ids.cap)
		id = id == ID_MAX ? 1 : (uint16_t)(id + 1u);
	s->next_id = id == ID_MAX ? 1 : (uint16_t)(id + 1u);
	return id;
}

static void outbox_remove(struct ferry_session *s, struct ferry_op *op)
{
	list_unlink(&s->outbox, op);
	s->queued--;
	s->queued_bytes -= op->bytes;
}

/* Sends the outbox head if the window and the id space allow. */
static enum ferry_send_what send_queued(struct ferry_session *s, struct ferry_op **out)
{
	struct ferry_op *op = s->outbox.head;
	if (!op)
		return FERRY_SEND_NONE;
	if (op->kind == FERRY_OP_PUBLISH && op->qos == 0) {
		outbox_remove(s, op); /* QoS 0 leaves the session: the caller owns it */
		*out = op;
		return FERRY_SEND_PUBLISH;
	}
	if (is_pub_qos(op) && s->inflight_pub >= s->window)
		return FERRY_SEND_NONE; /* the FIFO waits behind it */
	if (s->ids.count >= ID_MAX || tab_reserve(&s->ids) != 0)
		return FERRY_SEND_NONE; /* every id in use, or out of memory: stays queued */
	outbox_remove(s, op);
	op->packet_id = alloc_id(s);
	tab_insert(&s->ids, op->packet_id, op);
	list_append(&s->inflight, op);
	if (is_pub_qos(op))
		s->inflight_pub++;
	op->state = FERRY_OPS_WAIT_ACK;
	op->dup = false;
	*out = op;
	return what_for(op);
}

/* Sends the transmit queue head (a resend or a PUBREL), if any. */
static enum ferry_send_what send_transmit(struct ferry_session *s, struct ferry_op **out)
{
	struct ferry_op *op = s->xhead;
	if (!op)
		return FERRY_SEND_NONE;
	s->xhead = op->xnext;
	if (!s->xhead)
		s->xtail = NULL;
	op->xnext = NULL;
	*out = op;
	if (op->state == FERRY_OPS_SEND_REL) {
		op->state = FERRY_OPS_WAIT_COMP;
		return FERRY_SEND_PUBREL;
	}
	assert(op->state == FERRY_OPS_RESEND);
	op->state = FERRY_OPS_WAIT_ACK;
	return what_for(op);
}

enum ferry_send_what ferry__session_next_send(struct ferry_session *s, struct ferry_op **out)
{
	*out = NULL;
	enum ferry_send_what what = send_transmit(s, out);
	return what != FERRY_SEND_NONE ? what : send_queued(s, out);
}

enum ferry_send_what ferry__session_next_resend(struct ferry_session *s, struct ferry_op **out)
{
	*out = NULL;
	return send_transmit(s, out);
}

/* ---- acknowledgements --------------------------------------------------------------- */

/* Whether op, in its current state, accepts an ack of type ptype. */
static bool accepts(const struct ferry_op *op, int ptype)
{
	bool q1 = op->kind == FERRY_OP_PUBLISH && op->qos == 1;
	bool q2 = op->kind == FERRY_OP_PUBLISH && op->qos == 2;
	if (op->state == FERRY_OPS_WAIT_COMP)
		return q2 && (ptype == FERRY_PUBCOMP || ptype == FERRY_PUBREC);
	if (op->state != FERRY_OPS_WAIT_ACK)
		return false;
	switch (ptype) {
	case FERRY_PUBACK:
		return q1 || q2; /* q2: a broker without QoS 2 (FERRY_ACK_DOWNGRADED) */
	case FERRY_PUBREC:
		return q2;
	case FERRY_SUBACK:
		return op->kind == FERRY_OP_SUBSCRIBE;
	case FERRY_UNSUBACK:
		return op->kind == FERRY_OP_UNSUBSCRIBE;
	default:
		return false;
	}
}

enum ferry_ack_result ferry__session_on_ack(struct ferry_session *s, int ptype, uint16_t packet_id,
                                            uint8_t reason, struct ferry_op **done)
{
	*done = NULL;
	uint32_t slot = tab_find(&s->ids, packet_id);
	if (slot >= s->ids.cap)
		return FERRY_ACK_UNKNOWN_ID;
	struct ferry_op *op = s->ids.vals[slot];
	if (!accepts(op, ptype))
		return FERRY_ACK_WRONG_STATE;
	if (ptype == FERRY_PUBREC && reason < 0x80) {
		op->state = FERRY_OPS_SEND_REL;
		xq_append(s, op);
		return FERRY_ACK_SEND_PUBREL;
	}
	inflight_remove(s, op);
	*done = op;
	return ptype == FERRY_PUBACK && op->qos == 2 ? FERRY_ACK_DOWNGRADED : FERRY_ACK_DONE;
}

/* ---- reconnecting --------------------------------------------------------------- */

/* Session present: every in-flight op is due again, in order, with its id. */
static void resume_all(struct ferry_session *s)
{
	for (struct ferry_op *op = s->inflight.head; op; op = op->next) {
		if (op->state == FERRY_OPS_SEND_REL || op->state == FERRY_OPS_WAIT_COMP) {
			op->state = FERRY_OPS_SEND_REL;
		} else {
			op->state = FERRY_OPS_RESEND;
			op->dup = op->kind == FERRY_OP_PUBLISH;
		}
		xq_append(s, op);
	}
}

/* Session lost: requeue what the broker may not have, complete what it took. */
static void restart_all(struct ferry_session *s, struct ferry_op **done)
{
	struct op_list requeue = {NULL, NULL};
	struct op_list finished = {NULL, NULL};
	struct ferry_op *op = s->inflight.head;
	while (op) {
		struct ferry_op *n = op->next;
		bool released = op->state == FERRY_OPS_SEND_REL || op->state == FERRY_OPS_WAIT_COMP;
		op->prev = op->next = NULL;
		if (released) {
			list_append(&finished, op);
		} else {
			op->state = FERRY_OPS_QUEUED;
			op->packet_id = 0;
			op->dup = false;
			list_append(&requeue, op);
			s->queued++;
			s->queued_bytes += op->bytes;
		}
		op = n;
	}
	for (op = finished.head; op; op = op->next)
		op->prev = NULL;
	s->inflight.head = s->inflight.tail = NULL;
	s->inflight_pub = 0;
	tab_clear(&s->ids);
	list_prepend_all(&s->outbox, &requeue);
	tab_clear(&s->in_qos2);
	*done = finished.head;
}

void ferry__session_on_connected(struct ferry_session *s, bool session_present,
                                 struct ferry_op **done)
{
	xq_clear(s);
	if (done)
		*done = NULL;
	if (session_present) {
		resume_all(s);
		return;
	}
	assert(done);
	struct ferry_op *ignored = NULL;
	restart_all(s, done ? done : &ignored);
}

struct ferry_op *ferry__session_take_all(struct ferry_session *s)
{
	xq_clear(s);
	tab_clear(&s->ids);
	struct ferry_op *head = s->inflight.head;
	if (s->inflight.tail) {
		s->inflight.tail->next = s->outbox.head;
		if (s->outbox.head)
			s->outbox.head->prev = s->inflight.tail;
	} else {
		head = s->outbox.head;
	}
	for (struct ferry_op *op = head; op; op = op->next)
		op->prev = NULL;
	s->inflight.head = s->inflight.tail = NULL;
	s->outbox.head = s->outbox.tail = NULL;
	s->queued = 0;
	s->queued_bytes = 0;
	s->inflight_pub = 0;
	return head;
}

/* ---- inbound QoS 2 ----------------------------------------------------------------- */

int ferry__session_in_qos2_publish(struct ferry_session *s, uint16_t packet_id)
{
	if (packet_id == 0)
		return true; /* never valid (the decoder rejects it): nothing to remember */
	if (tab_find(&s->in_qos2, packet_id) < s->in_qos2.cap)
		return false;
	if (tab_reserve(&s->in_qos2) != 0)
		return -1;
	tab_insert(&s->in_qos2, packet_id, NULL);
	return true;
}

struct ferry_op *ferry__session_inflight(const struct ferry_session *s, uint16_t packet_id)
{
	uint32_t slot = packet_id ? tab_find(&s->ids, packet_id) : s->ids.cap;
	return slot < s->ids.cap ? s->ids.vals[slot] : NULL;
}

bool ferry__session_in_qos2_held(const struct ferry_session *s, uint16_t packet_id)
{
	return packet_id != 0 && tab_find(&s->in_qos2, packet_id) < s->in_qos2.cap;
}

bool ferry__session_in_qos2_release(struct ferry_session *s, uint16_t packet_id)
{
	uint32_t slot = tab_find(&s->in_qos2, packet_id);
	if (slot >= s->in_qos2.cap)
		return false;
	tab_remove_slot(&s->in_qos2, slot);
	return true;
}

/* ---- inspection and the outbox ------------------------------------------------------- */

void ferry__session_counts(const struct ferry_session *s, struct ferry_session_counts *out)
{
	out->queued = s->queued;
	out->queued_bytes = s->queued_bytes;
	out->inflight = s->ids.count;
	out->inflight_pub = s->inflight_pub;
	out->in_qos2 = s->in_qos2.count;
}

struct ferry_op *ferry__session_oldest_queued(const struct ferry_session *s)
{
	return s->outbox.head;
}

void ferry__session_remove_queued(struct ferry_session *s, struct ferry_op *op)
{
	assert(op->state == FERRY_OPS_QUEUED);
	outbox_remove(s, op);
}

void ferry__session_in_qos2_delivered(struct ferry_session *s, uint16_t packet_id, uint64_t hash)
{
	/* Out of memory loses only the broker-bug defence. */
	(void)ferry__session_in_qos2_set_mark(s, packet_id, (uint32_t)(hash ^ (hash >> 32)) | 1u);
}

uint32_t ferry__session_in_qos2_mark(const struct ferry_session *s, uint16_t packet_id)
{
	return s->last_hash ? s->last_hash[packet_id] : 0;
}

int ferry__session_in_qos2_set_mark(struct ferry_session *s, uint16_t packet_id, uint32_t mark)
{
	if (!mark)
		return 0;
	if (!s->last_hash && !(s->last_hash = calloc(65536, sizeof *s->last_hash)))
		return -1;
	s->last_hash[packet_id] = mark | 1u;
	return 0;
}

bool ferry__session_in_qos2_recent(const struct ferry_session *s, uint16_t packet_id, uint64_t hash)
{
	return s->last_hash && s->last_hash[packet_id] == ((uint32_t)(hash ^ (hash >> 32)) | 1u);
}

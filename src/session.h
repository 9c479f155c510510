/*
 * session.h - the MQTT session state of one client, pure: the outbox, the
 * in-flight window, packet identifiers, the QoS 1/2 outbound flows, resending
 * after a reconnect, and the inbound QoS 2 identifiers awaiting PUBREL
 * (MQTT 3.1.1 sections 4.3-4.6, MQTT 5.0 sections 4.3-4.9).
 *
 * Pure: no I/O, threads, SQLite or clock. Not thread-safe: the engine calls it
 * with the client's lock held. It allocates only its own index tables.
 *
 * Ownership: struct ferry_op records belong to the caller (the engine
 * allocates them and frees them once the session hands them back as
 * completed or dropped). While an op is in the session, its `prev`, `next`,
 * `xnext`, `state`, `packet_id` and `dup` fields belong to the session.
 *
 * Where an op can be (exactly one place at a time, plus the transmit queue):
 *
 *   outbox (FIFO)  --next_send-->  in flight (ordered by entry)  --ack-->  done
 *                                     |  ^
 *                     session lost:   |  |  (requeued at the outbox head,
 *                     back to outbox <-  |   in original order, new id later)
 *
 * Op states and transitions (who performs each):
 *   QUEUED     in the outbox, no packet id.
 *              next_send -> WAIT_ACK (SUBSCRIBE/UNSUBSCRIBE/QoS>0 PUBLISH: an id
 *              is bound now), or leaves the session (QoS 0 PUBLISH).
 *   WAIT_ACK   sent, awaiting PUBACK / PUBREC / SUBACK / UNSUBACK.
 *              on_ack(PUBACK|SUBACK|UNSUBACK) -> done; on_ack(PUBREC) -> SEND_REL
 *              (or done when the PUBREC carries a failure reason >= 0x80).
 *   RESEND     after a reconnect with session present: must be sent again
 *              with DUP (PUBLISH) or as is (SUBSCRIBE/UNSUBSCRIBE), same id.
 *              next_send -> WAIT_ACK.
 *   SEND_REL   PUBREC received: PUBREL must be sent. next_send -> WAIT_COMP.
 *   WAIT_COMP  PUBREL sent, awaiting PUBCOMP. on_ack(PUBCOMP) -> done;
 *              on_ack(PUBREC) again -> SEND_REL (the PUBREL is sent again).
 *
 * Invariants: every op with a packet id is in the in-flight list and the id
 * index, and no two share an id; ids are 1..65535; the number of in-flight
 * QoS>0 PUBLISHes never exceeds the window; the transmit queue holds only
 * in-flight ops in RESEND or SEND_REL: right after a reconnect in in-flight
 * order, otherwise PUBRELs in the order their PUBRECs arrived (MQTT 4.6).
 */
#ifndef FERRY_SESSION_H
#define FERRY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Op kinds are the public enum ferry_op_type values FERRY_OP_PUBLISH,
 * FERRY_OP_SUBSCRIBE and FERRY_OP_UNSUBSCRIBE (include/ferry/ferry.h). */

enum ferry_op_state {
	FERRY_OPS_QUEUED = 0,
	FERRY_OPS_WAIT_ACK,
	FERRY_OPS_RESEND,
	FERRY_OPS_SEND_REL,
	FERRY_OPS_WAIT_COMP,
};

struct ferry_op {
	struct ferry_op *prev, *next; /* outbox or in-flight list (session) */
	struct ferry_op *xnext;       /* transmit queue (session) */
	uint64_t token;               /* the engine's token, never 0 */
	uint8_t kind;                 /* FERRY_OP_PUBLISH, _SUBSCRIBE or _UNSUBSCRIBE */
	uint8_t qos;                  /* PUBLISH only */
	uint8_t state;                /* enum ferry_op_state (session) */
	bool dup;                     /* PUBLISH sent before: set DUP when resending (session) */
	uint16_t packet_id;           /* 0 until bound (session) */
	size_t bytes;                 /* size charged to the outbox limits (caller) */
	void *owner;                  /* the engine's data (topic, payload, callbacks) */
};

/* What the engine must put on the wire for an op returned by next_send. */
enum ferry_send_what {
	FERRY_SEND_NONE = 0,
	FERRY_SEND_PUBLISH,     /* with op->dup as the DUP flag */
	FERRY_SEND_PUBREL,
	FERRY_SEND_SUBSCRIBE,
	FERRY_SEND_UNSUBSCRIBE,
};

/* The outcome of an inbound acknowledgement. */
enum ferry_ack_result {
	FERRY_ACK_DONE = 1,      /* *done is complete: hand it to the application */
	FERRY_ACK_SEND_PUBREL,   /* the op moved to SEND_REL: call next_send */
	FERRY_ACK_UNKNOWN_ID,    /* no op with that id: ignore (log) */
	FERRY_ACK_WRONG_STATE,   /* the id belongs to an op that does not expect this ack */
	FERRY_ACK_DOWNGRADED,    /* PUBACK for a QoS 2 PUBLISH awaiting PUBREC: the broker took
	                            it at QoS 1 (RabbitMQ does); *done is the op, removed */
};

struct ferry_session;

/*
 * ferry__session_new - a session with an in-flight window of `window` QoS>0
 * PUBLISHes (1..65535). Returns NULL when out of memory.
 */
struct ferry_session *ferry__session_new(uint16_t window);

/*
 * ferry__session_free - free the session's tables. Ops still in it are not
 * freed: drain them first with ferry__session_take_all.
 */
void ferry__session_free(struct ferry_session *s);

/* Change the window (e.g. the server's Receive Maximum); in-flight ops stay. */
void ferry__session_set_window(struct ferry_session *s, uint16_t window);

/* Append an op (state QUEUED, no id) to the outbox. */
void ferry__session_enqueue(struct ferry_session *s, struct ferry_op *op);

/* Put an op (state QUEUED, no id) at the head of the outbox: it leaves
 * before everything queued (used to subscribe again after a lost session). */
void ferry__session_enqueue_front(struct ferry_session *s, struct ferry_op *op);

/* An op next_send just handed out (state WAIT_ACK, never written) cannot be
 * sent after all (the broker's limits): it leaves the session, its id free
 * again; the caller owns it. */
void ferry__session_abort(struct ferry_session *s, struct ferry_op *op);

/* Insert an op (state QUEUED, no id) into the outbox before the first op
 * with a larger token, scanning from the head: used for messages restored
 * from a store, which are older than everything published since. The cost
 * is the number of ops ahead of it with smaller tokens. */
void ferry__session_enqueue_ordered(struct ferry_session *s, struct ferry_op *op);

/*
 * ferry__session_restore - put a QoS 1/2 PUBLISH that a previous run had in
 * flight back in flight with its packet id: state WAIT_ACK with DUP set,
 * or (released, QoS 2 only) WAIT_COMP. The next ferry__session_on_connected
 * resends it (session present) or requeues it (not). Returns false, leaving
 * op untouched, when the id is 0 or already in use, the op is not a QoS 1/2
 * PUBLISH, or memory ran out: the caller queues it as a new message instead.
 * It counts against the window like any in-flight publish.
 */
bool ferry__session_restore(struct ferry_session *s, struct ferry_op *op, bool released,
                            uint16_t packet_id);

/*
 * ferry__session_next_send - the next packet to transmit, in order: first the
 * transmit queue (resends and PUBRELs), then the outbox head if the window
 * allows (a QoS>0 PUBLISH needs a free slot; SUBSCRIBE, UNSUBSCRIBE and QoS 0
 * PUBLISH do not count against the window but keep their place in the FIFO).
 * Binds a packet id when needed. Returns what to send and sets *op, or
 * FERRY_SEND_NONE when nothing can be sent now. A QoS 0 PUBLISH returned
 * here has left the session: the caller owns it again.
 * Returns FERRY_SEND_NONE with *op NULL as well when every id is in use.
 */
enum ferry_send_what ferry__session_next_send(struct ferry_session *s, struct ferry_op **op);

/*
 * ferry__session_next_resend - like ferry__session_next_send but only from
 * the transmit queue (resends and PUBRELs), never from the outbox: used
 * while disconnecting, when in-flight flows may finish but nothing new starts.
 */
enum ferry_send_what ferry__session_next_resend(struct ferry_session *s, struct ferry_op **op);

/*
 * ferry__session_on_ack - an inbound PUBACK, PUBREC, PUBCOMP, SUBACK or
 * UNSUBACK (ptype, enum ferry_ptype) for packet_id, with its MQTT 5 reason
 * (the first reason code for SUBACK/UNSUBACK; 0 in 3.x). On FERRY_ACK_DONE
 * and FERRY_ACK_DOWNGRADED *done is the op, removed from the session, its id
 * free again.
 */
enum ferry_ack_result ferry__session_on_ack(struct ferry_session *s, int ptype, uint16_t packet_id,
                                            uint8_t reason, struct ferry_op **done);

/* The in-flight op holding packet_id, or NULL (to look before acknowledging). */
struct ferry_op *ferry__session_inflight(const struct ferry_session *s, uint16_t packet_id);

/*
 * ferry__session_on_connected - a CONNACK accepted the connection.
 * session_present: every in-flight op is queued for transmission again in
 * order (PUBLISH -> RESEND with DUP, SUBSCRIBE/UNSUBSCRIBE -> RESEND, PUBREL
 * states -> SEND_REL), keeping its id.
 * !session_present: in-flight PUBLISHes awaiting PUBACK/PUBREC and in-flight
 * SUBSCRIBE/UNSUBSCRIBE go back to the outbox head in their original order
 * (ids released, state QUEUED, dup cleared); QoS 2 PUBLISHes already
 * acknowledged by PUBREC are complete (the broker took them): they are
 * appended to *done (linked through ->next, in order) for the caller to
 * complete. Inbound QoS 2 ids are forgotten.
 */
void ferry__session_on_connected(struct ferry_session *s, bool session_present,
                                 struct ferry_op **done);

/*
 * ferry__session_take_all - remove every op (outbox and in flight) and return
 * them linked through ->next in order (in flight first), for the caller to
 * cancel and free (destroy). The session is empty afterwards.
 */
struct ferry_op *ferry__session_take_all(struct ferry_session *s);

/* Inbound QoS 2: an arriving PUBLISH with packet_id. Returns true when it is
 * new (deliver it, and remember the id), false when it is a duplicate whose
 * PUBREL has not come yet (do not deliver again; answer PUBREC all the same).
 * Returns -1 (as int) when out of memory. */
int ferry__session_in_qos2_publish(struct ferry_session *s, uint16_t packet_id);

/* Inbound QoS 2: whether packet_id is held (published, PUBREL not yet come). */
bool ferry__session_in_qos2_held(const struct ferry_session *s, uint16_t packet_id);

/* Inbound QoS 2: PUBREL for packet_id. Returns true if the id was held (it is
 * released now); false if unknown (answer PUBCOMP all the same; MQTT 5: reason
 * 0x92). */
bool ferry__session_in_qos2_release(struct ferry_session *s, uint16_t packet_id);

/*
 * Inbound QoS 2, defence against a sender that resends a PUBLISH (with DUP)
 * after the exchange was complete, as mosquitto 2.0 does for messages whose
 * PUBCOMP it had not processed when it was restarted: the engine records,
 * per packet id, a hash of the topic and payload of the last QoS 2 message
 * it delivered under that id, and for a DUP PUBLISH that is not awaiting
 * PUBREL asks whether it is that same message. A new message under a reused
 * id comes with DUP 0 on its first transmission, so only a retransmission of
 * identical content under the same id as its last use is suppressed. The
 * table (256 KiB, one entry per possible id, so it covers any number of
 * messages in flight) is allocated on the first QoS 2 delivery.
 */
void ferry__session_in_qos2_delivered(struct ferry_session *s, uint16_t packet_id, uint64_t hash);
bool ferry__session_in_qos2_recent(const struct ferry_session *s, uint16_t packet_id, uint64_t hash);

/* The record ("mark", 0 if none) of the last delivery under packet_id, as
 * kept by ferry__session_in_qos2_delivered, for a store to keep across
 * restarts; set_mark puts one back (0: nothing). set_mark returns -1 when
 * out of memory. */
uint32_t ferry__session_in_qos2_mark(const struct ferry_session *s, uint16_t packet_id);
int ferry__session_in_qos2_set_mark(struct ferry_session *s, uint16_t packet_id, uint32_t mark);

struct ferry_session_counts {
	size_t queued;       /* ops in the outbox */
	size_t queued_bytes; /* sum of their `bytes` */
	size_t inflight;     /* ops with a packet id */
	size_t inflight_pub; /* of which QoS>0 PUBLISHes (counted against the window) */
	size_t in_qos2;      /* inbound QoS 2 ids awaiting PUBREL */
};
void ferry__session_counts(const struct ferry_session *s, struct ferry_session_counts *out);

/* The outbox head (oldest queued op) or NULL, e.g. for the drop-oldest policy;
 * ferry__session_remove_queued takes a QUEUED op out of the outbox. */
struct ferry_op *ferry__session_oldest_queued(const struct ferry_session *s);
void ferry__session_remove_queued(struct ferry_session *s, struct ferry_op *op);

#endif

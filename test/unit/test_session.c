/*
 * test_session.c - the session state machine (src/session.h): the complete
 * table of acknowledgements for every op kind, QoS and state; the QoS 1 and
 * QoS 2 flows (MQTT 3.1.1 4.3, 5.0 4.3); the in-flight window (MQTT 5.0 4.9)
 * and FIFO order; packet ids (never 0, never shared, wrapping past 65535,
 * exhaustion); reconnecting with and without a session (MQTT 4.4); inbound
 * QoS 2 duplicate suppression; the drop-oldest helpers; and a randomized
 * comparison against a reference model of the header's invariants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ferry/ferry.h"
#include "session.h"
#include "suites.h"
#include "util.h"

enum { K_PUB = FERRY_OP_PUBLISH, K_SUB = FERRY_OP_SUBSCRIBE, K_UNSUB = FERRY_OP_UNSUBSCRIBE };

/* A description of the current table case, added to every failure message. */
static char ctx[160];

#define CHECK(cond) check_at((cond), #cond, __LINE__)
static bool check_at(bool ok, const char *expr, unsigned line)
{
	char msg[320];
	snprintf(msg, sizeof msg, "%s [%s]", expr, ctx);
	CU_assertImplementation(ok, line, msg, __FILE__, "", CU_FALSE);
	return ok;
}

static void op_init(struct ferry_op *op, uint8_t kind, uint8_t qos, uint64_t token, size_t bytes)
{
	memset(op, 0, sizeof *op);
	op->kind = kind;
	op->qos = qos;
	op->token = token;
	op->bytes = bytes;
}

static struct ferry_session *new_session(uint16_t window)
{
	struct ferry_session *s = ferry__session_new(window);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

/* Empties and frees a session whose ops live on the test's stack. */
static void end_session(struct ferry_session *s)
{
	ferry__session_take_all(s);
	ferry__session_free(s);
}

/* next_send must hand out `want` as `what` (want NULL: nothing to send). */
#define EXPECT_SEND(s, what, want) expect_send_at((s), (what), (want), __LINE__)
static struct ferry_op *expect_send_at(struct ferry_session *s, enum ferry_send_what what,
                                       struct ferry_op *want, unsigned line)
{
	struct ferry_op *op = (struct ferry_op *)1;
	enum ferry_send_what got = ferry__session_next_send(s, &op);
	char msg[320];
	snprintf(msg, sizeof msg, "next_send gave %d (token %llu), expected %d (token %llu) [%s]",
	         (int)got, op ? (unsigned long long)op->token : 0ull, (int)what,
	         want ? (unsigned long long)want->token : 0ull, ctx);
	CU_assertImplementation(got == what && op == want, line, msg, __FILE__, "", CU_FALSE);
	return op;
}

#define EXPECT_COUNTS(s, q, qb, inf, pub, in2)                                                     \
	expect_counts_at((s), (q), (qb), (inf), (pub), (in2), __LINE__)
static void expect_counts_at(struct ferry_session *s, size_t q, size_t qb, size_t inf, size_t pub,
                             size_t in2, unsigned line)
{
	struct ferry_session_counts c;
	char msg[320];
	ferry__session_counts(s, &c);
	snprintf(msg, sizeof msg,
	         "counts queued=%zu bytes=%zu inflight=%zu pub=%zu in_qos2=%zu, expected %zu %zu "
	         "%zu %zu %zu [%s]",
	         c.queued, c.queued_bytes, c.inflight, c.inflight_pub, c.in_qos2, q, qb, inf, pub,
	         in2, ctx);
	CU_assertImplementation(c.queued == q && c.queued_bytes == qb && c.inflight == inf &&
	                            c.inflight_pub == pub && c.in_qos2 == in2,
	                        line, msg, __FILE__, "", CU_FALSE);
}

static enum ferry_ack_result ack(struct ferry_session *s, int ptype, uint16_t id, uint8_t reason,
                                 struct ferry_op **done)
{
	*done = (struct ferry_op *)1;
	return ferry__session_on_ack(s, ptype, id, reason, done);
}

/* ---- the acknowledgement table -------------------------------------------------- */

static const int ack_types[] = {FERRY_PUBACK, FERRY_PUBREC, FERRY_PUBCOMP, FERRY_SUBACK,
                                FERRY_UNSUBACK};
static const char *const ack_names[] = {"PUBACK", "PUBREC", "PUBCOMP", "SUBACK", "UNSUBACK"};

struct ack_row {
	uint8_t kind, qos, state;
	/* One letter per ack_types entry for an ack with the op's own id:
	 * D done, R SEND_PUBREL (state SEND_REL), W wrong state (unchanged),
	 * - no id yet (QUEUED: its future id is unknown). */
	const char *own;
};

/* clang-format off */
static const struct ack_row ack_rows[] = {
	{K_PUB, 0, FERRY_OPS_QUEUED, "-----"},
	{K_PUB, 1, FERRY_OPS_QUEUED, "-----"},
	{K_PUB, 1, FERRY_OPS_WAIT_ACK, "DWWWW"},
	{K_PUB, 1, FERRY_OPS_RESEND, "WWWWW"},
	{K_PUB, 2, FERRY_OPS_QUEUED, "-----"},
	{K_PUB, 2, FERRY_OPS_WAIT_ACK, "QRWWW"}, /* Q: PUBACK from a broker without QoS 2 */
	{K_PUB, 2, FERRY_OPS_RESEND, "WWWWW"},
	{K_PUB, 2, FERRY_OPS_SEND_REL, "WWWWW"},
	{K_PUB, 2, FERRY_OPS_WAIT_COMP, "WRDWW"},
	{K_SUB, 0, FERRY_OPS_QUEUED, "-----"},
	{K_SUB, 0, FERRY_OPS_WAIT_ACK, "WWWDW"},
	{K_SUB, 0, FERRY_OPS_RESEND, "WWWWW"},
	{K_UNSUB, 0, FERRY_OPS_QUEUED, "-----"},
	{K_UNSUB, 0, FERRY_OPS_WAIT_ACK, "WWWWD"},
	{K_UNSUB, 0, FERRY_OPS_RESEND, "WWWWW"},
};
/* clang-format on */

/* Brings t to `state` behind `other`, a QoS 1 PUBLISH left in WAIT_ACK (id 1). */
static void drive(struct ferry_session *s, struct ferry_op *other, struct ferry_op *t,
                  uint8_t state)
{
	struct ferry_op *done;
	ferry__session_enqueue(s, other);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, other);
	ferry__session_enqueue(s, t);
	if (state == FERRY_OPS_QUEUED)
		return;
	ferry__session_next_send(s, &done);
	if (state == FERRY_OPS_RESEND) {
		ferry__session_on_connected(s, true, &done);
		EXPECT_SEND(s, FERRY_SEND_PUBLISH, other); /* other first: back in WAIT_ACK */
	}
	if (state == FERRY_OPS_SEND_REL || state == FERRY_OPS_WAIT_COMP)
		CHECK(ack(s, FERRY_PUBREC, t->packet_id, 0, &done) == FERRY_ACK_SEND_PUBREL);
	if (state == FERRY_OPS_WAIT_COMP)
		EXPECT_SEND(s, FERRY_SEND_PUBREL, t);
	CHECK(t->state == state);
	CHECK(other->state == FERRY_OPS_WAIT_ACK && other->packet_id == 1);
}

/* One table case: ack type a, with t's own id (v 0), an unknown id (v 1) or other's id (v 2). */
static void ack_case(const struct ack_row *r, size_t a, int v)
{
	struct ferry_session *s = new_session(10);
	struct ferry_op other, t, *done;
	op_init(&other, K_PUB, 1, 1, 10);
	op_init(&t, r->kind, r->qos, 2, 20);
	drive(s, &other, &t, r->state);
	uint16_t id = v == 0 ? (t.packet_id ? t.packet_id : 2) : v == 1 ? 4242 : other.packet_id;
	char want = v == 0 ? r->own[a] : v == 1 ? 'U' : (a == 0 ? 'd' : 'W');
	want = want == '-' ? 'U' : want;
	uint16_t id_before = t.packet_id;
	enum ferry_ack_result got = ack(s, ack_types[a], id, 0, &done);
	switch (want) {
	case 'D':
	case 'Q':
		CHECK(got == (want == 'D' ? FERRY_ACK_DONE : FERRY_ACK_DOWNGRADED) && done == &t);
		CHECK(t.next == NULL && t.prev == NULL);
		CHECK(ack(s, ack_types[a], id, 0, &done) == FERRY_ACK_UNKNOWN_ID && done == NULL);
		EXPECT_COUNTS(s, 0, 0, 1, 1, 0); /* only other is left */
		end_session(s);
		return;
	case 'd': /* other's PUBACK completes other, t is untouched */
		CHECK(got == FERRY_ACK_DONE && done == &other);
		break;
	case 'R':
		CHECK(got == FERRY_ACK_SEND_PUBREL && done == NULL);
		CHECK(t.state == FERRY_OPS_SEND_REL);
		EXPECT_SEND(s, FERRY_SEND_PUBREL, &t);
		CHECK(t.state == FERRY_OPS_WAIT_COMP && t.packet_id == id_before);
		end_session(s);
		return;
	case 'W':
		CHECK(got == FERRY_ACK_WRONG_STATE && done == NULL);
		break;
	default:
		CHECK(got == FERRY_ACK_UNKNOWN_ID && done == NULL);
		break;
	}
	CHECK(t.state == r->state && t.packet_id == id_before);
	end_session(s);
}

static void test_ack_table(void)
{
	for (size_t i = 0; i < sizeof ack_rows / sizeof ack_rows[0]; i++)
		for (size_t a = 0; a < 5; a++)
			for (int v = 0; v < 3; v++) {
				snprintf(ctx, sizeof ctx, "kind %d qos %d state %d, %s with %s id",
				         ack_rows[i].kind, ack_rows[i].qos, ack_rows[i].state,
				         ack_names[a],
				         v == 0   ? "own"
				         : v == 1 ? "unknown"
				                  : "other's");
				ack_case(&ack_rows[i], a, v);
			}
	ctx[0] = 0;
}

/* Packet types that are not acknowledgements are never accepted. */
static void test_ack_non_ack_types(void)
{
	struct ferry_session *s = new_session(10);
	struct ferry_op p, *done;
	op_init(&p, K_PUB, 2, 1, 0);
	ferry__session_enqueue(s, &p);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &p);
	const int others[] = {FERRY_PUBLISH, FERRY_PUBREL, FERRY_CONNACK, FERRY_PINGRESP, 0, 99};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		CHECK(ack(s, others[i], p.packet_id, 0, &done) == FERRY_ACK_WRONG_STATE && !done);
	CHECK(ack(s, FERRY_PUBACK, 0, 0, &done) == FERRY_ACK_UNKNOWN_ID); /* id 0 is never bound */
	CHECK(p.state == FERRY_OPS_WAIT_ACK);
	end_session(s);
}

/* ---- flows ------------------------------------------------------------------------ */

static void test_qos1_flow(void)
{
	struct ferry_session *s = new_session(10);
	struct ferry_op a, b, *done;
	op_init(&a, K_PUB, 1, 1, 100);
	op_init(&b, K_PUB, 1, 2, 50);
	ferry__session_enqueue(s, &a);
	ferry__session_enqueue(s, &b);
	EXPECT_COUNTS(s, 2, 150, 0, 0, 0);
	CHECK(a.state == FERRY_OPS_QUEUED && a.packet_id == 0);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &a);
	CHECK(a.state == FERRY_OPS_WAIT_ACK && a.packet_id == 1 && !a.dup);
	EXPECT_COUNTS(s, 1, 50, 1, 1, 0);
	CHECK(ack(s, FERRY_PUBACK, 1, 0, &done) == FERRY_ACK_DONE && done == &a);
	EXPECT_COUNTS(s, 1, 50, 0, 0, 0);
	/* A late duplicate PUBACK is not mistaken for the next message. */
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &b);
	CHECK(b.packet_id == 2); /* the cursor moves on: ids are not reused at once */
	CHECK(ack(s, FERRY_PUBACK, 1, 0, &done) == FERRY_ACK_UNKNOWN_ID && done == NULL);
	CHECK(b.state == FERRY_OPS_WAIT_ACK);
	/* PUBACK with a failure reason still completes the op (MQTT 5). */
	CHECK(ack(s, FERRY_PUBACK, 2, 0x87, &done) == FERRY_ACK_DONE && done == &b);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL);
	EXPECT_COUNTS(s, 0, 0, 0, 0, 0);
	end_session(s);
}

static void test_qos2_flow(void)
{
	struct ferry_session *s = new_session(10);
	struct ferry_op a, *done;
	op_init(&a, K_PUB, 2, 7, 10);
	ferry__session_enqueue(s, &a);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &a);
	uint16_t id = a.packet_id;
	CHECK(ack(s, FERRY_PUBREC, id, 0, &done) == FERRY_ACK_SEND_PUBREL && !done);
	EXPECT_COUNTS(s, 0, 0, 1, 1, 0); /* still in flight: the window slot is held */
	/* A second PUBREC before our PUBREL went out queues nothing twice. */
	CHECK(ack(s, FERRY_PUBREC, id, 0, &done) == FERRY_ACK_WRONG_STATE);
	EXPECT_SEND(s, FERRY_SEND_PUBREL, &a);
	CHECK(a.state == FERRY_OPS_WAIT_COMP && a.packet_id == id);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL);
	/* Duplicate PUBREC after the PUBREL: the PUBREL is sent again. */
	CHECK(ack(s, FERRY_PUBREC, id, 0, &done) == FERRY_ACK_SEND_PUBREL && !done);
	CHECK(a.state == FERRY_OPS_SEND_REL);
	EXPECT_SEND(s, FERRY_SEND_PUBREL, &a);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL);
	CHECK(ack(s, FERRY_PUBACK, id, 0, &done) == FERRY_ACK_WRONG_STATE);
	CHECK(ack(s, FERRY_PUBCOMP, id, 0, &done) == FERRY_ACK_DONE && done == &a);
	CHECK(ack(s, FERRY_PUBCOMP, id, 0, &done) == FERRY_ACK_UNKNOWN_ID);
	EXPECT_COUNTS(s, 0, 0, 0, 0, 0);
	end_session(s);
}

/* PUBRELs go out in the order their PUBRECs arrived (MQTT 4.6), ahead of new sends. */
static void test_pubrel_order(void)
{
	struct ferry_session *s = new_session(10);
	struct ferry_op a, b, c, *done;
	op_init(&a, K_PUB, 2, 1, 0);
	op_init(&b, K_PUB, 2, 2, 0);
	op_init(&c, K_PUB, 1, 3, 0);
	ferry__session_enqueue(s, &a);
	ferry__session_enqueue(s, &b);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &a);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &b);
	ferry__session_enqueue(s, &c);
	CHECK(ack(s, FERRY_PUBREC, b.packet_id, 0, &done) == FERRY_ACK_SEND_PUBREL);
	CHECK(ack(s, FERRY_PUBREC, a.packet_id, 0, &done) == FERRY_ACK_SEND_PUBREL);
	EXPECT_SEND(s, FERRY_SEND_PUBREL, &b);
	EXPECT_SEND(s, FERRY_SEND_PUBREL, &a);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &c);
	end_session(s);
}

/* PUBREC >= 0x80 ends the flow (no PUBREL); 0x10 "no matching subscribers" does not. */
static void test_pubrec_failure(void)
{
	struct ferry_session *s = new_session(1);
	struct ferry_op a, b, c, *done;
	op_init(&a, K_PUB, 2, 1, 0);
	op_init(&b, K_PUB, 2, 2, 0);
	op_init(&c, K_PUB, 2, 3, 0);
	ferry__session_enqueue(s, &a);
	ferry__session_enqueue(s, &b);
	ferry__session_enqueue(s, &c);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &a);
	CHECK(ack(s, FERRY_PUBREC, a.packet_id, 0x80, &done) == FERRY_ACK_DONE && done == &a);
	EXPECT_COUNTS(s, 2, 0, 0, 0, 0);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &b); /* the window slot is free: no PUBREL first */
	CHECK(ack(s, FERRY_PUBREC, b.packet_id, 0x10, &done) == FERRY_ACK_SEND_PUBREL);
	EXPECT_SEND(s, FERRY_SEND_PUBREL, &b);
	/* A failure PUBREC answering our PUBREL also ends the flow. */
	CHECK(ack(s, FERRY_PUBREC, b.packet_id, 0x92, &done) == FERRY_ACK_DONE && done == &b);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &c);
	end_session(s);
}

/* ---- window and FIFO order ----------------------------------------------------------- */

static void test_window(void)
{
	struct ferry_session *s = new_session(2);
	struct ferry_op o[3], *done;
	for (int i = 0; i < 3; i++) {
		op_init(&o[i], K_PUB, 1, (uint64_t)i + 1, 1);
		ferry__session_enqueue(s, &o[i]);
	}
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[0]);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[1]);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL); /* the third waits */
	CHECK(o[2].state == FERRY_OPS_QUEUED && o[2].packet_id == 0);
	EXPECT_COUNTS(s, 1, 1, 2, 2, 0);
	CHECK(ack(s, FERRY_PUBACK, o[1].packet_id, 0, &done) == FERRY_ACK_DONE);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[2]);
	/* Shrinking the window keeps what is in flight and holds back new sends. */
	ferry__session_set_window(s, 1);
	ferry__session_enqueue(s, &o[1]);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL);
	CHECK(ack(s, FERRY_PUBACK, o[0].packet_id, 0, &done) == FERRY_ACK_DONE);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL); /* 1 in flight, window 1 */
	ferry__session_set_window(s, 3);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[1]);
	end_session(s);
}

/*
 * QoS 0 PUBLISH, SUBSCRIBE and UNSUBSCRIBE do not use window slots but keep
 * their place in the FIFO: behind a QoS 1 PUBLISH blocked by the window they
 * wait; at the head they go out even when the window is full.
 */
static void test_window_fifo(void)
{
	struct ferry_session *s = new_session(2);
	struct ferry_op a, b, c, d, e, f, g, *done;
	op_init(&a, K_PUB, 1, 1, 0);
	op_init(&b, K_PUB, 1, 2, 0);
	op_init(&c, K_PUB, 1, 3, 0);
	op_init(&d, K_PUB, 0, 4, 0);
	op_init(&e, K_SUB, 0, 5, 0);
	op_init(&f, K_UNSUB, 0, 6, 0);
	op_init(&g, K_PUB, 2, 7, 0);
	struct ferry_op *all[] = {&a, &b, &c, &d, &e, &f, &g};
	for (size_t i = 0; i < 7; i++)
		ferry__session_enqueue(s, all[i]);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &a);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &b);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL); /* c blocks d, e, f behind it */
	EXPECT_COUNTS(s, 5, 0, 2, 2, 0);
	CHECK(ack(s, FERRY_PUBACK, a.packet_id, 0, &done) == FERRY_ACK_DONE);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &c);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &d);
	CHECK(d.packet_id == 0 && d.prev == NULL && d.next == NULL); /* QoS 0 left the session */
	EXPECT_SEND(s, FERRY_SEND_SUBSCRIBE, &e); /* window full, but e needs no slot */
	EXPECT_SEND(s, FERRY_SEND_UNSUBSCRIBE, &f);
	CHECK(e.packet_id != 0 && f.packet_id != 0 && e.packet_id != f.packet_id);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL); /* g waits for a slot */
	EXPECT_COUNTS(s, 1, 0, 4, 2, 0);
	CHECK(ack(s, FERRY_SUBACK, e.packet_id, 0, &done) == FERRY_ACK_DONE && done == &e);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL); /* a SUBACK frees no window slot */
	CHECK(ack(s, FERRY_PUBACK, b.packet_id, 0, &done) == FERRY_ACK_DONE);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &g);
	end_session(s);
}

/* ---- packet ids ------------------------------------------------------------------- */

/* Ids wrap from 65535 to 1, skipping ids still in flight, never 0. */
static void test_id_wrap(void)
{
	struct ferry_session *s = new_session(10);
	struct ferry_op low[3], cyc, *done;
	for (int i = 0; i < 3; i++) {
		op_init(&low[i], i == 1 ? K_SUB : K_PUB, 1, (uint64_t)i + 1, 0);
		ferry__session_enqueue(s, &low[i]);
		ferry__session_next_send(s, &done);
		CHECK(low[i].packet_id == i + 1);
	}
	op_init(&cyc, K_PUB, 2, 9, 0);
	bool ok = true;
	for (uint32_t want = 4; want <= 65535 && ok; want++) {
		ferry__session_enqueue(s, &cyc);
		ok = ferry__session_next_send(s, &done) == FERRY_SEND_PUBLISH && done == &cyc &&
		     cyc.packet_id == want;
		ok = ok && ack(s, FERRY_PUBREC, cyc.packet_id, 0x80, &done) == FERRY_ACK_DONE;
	}
	CHECK(ok);
	ferry__session_enqueue(s, &cyc);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &cyc);
	CHECK(cyc.packet_id == 4); /* 65535 wraps to 1; 1, 2, 3 are taken */
	CHECK(ack(s, FERRY_SUBACK, 2, 0, &done) == FERRY_ACK_DONE && done == &low[1]);
	ferry__session_enqueue(s, &low[1]);
	EXPECT_SEND(s, FERRY_SEND_SUBSCRIBE, &low[1]);
	CHECK(low[1].packet_id == 5);
	EXPECT_COUNTS(s, 0, 0, 4, 3, 0);
	end_session(s);
}

/* 65535 ops in flight use every id once; then nothing more can be sent. */
static void test_id_exhaustion(void)
{
	struct ferry_session *s = new_session(65535);
	struct ferry_op *o = calloc(65537, sizeof *o), *done;
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	unsigned char *seen = calloc(65536, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
	bool ok = true;
	for (size_t i = 0; i < 65535; i++) {
		op_init(&o[i], i % 7 == 3 ? K_UNSUB : K_PUB, (uint8_t)(1 + i % 2), i + 1, 1);
		ferry__session_enqueue(s, &o[i]);
	}
	size_t pubs = 0;
	for (size_t i = 0; i < 65535 && ok; i++) {
		ok = ferry__session_next_send(s, &done) != FERRY_SEND_NONE && done == &o[i];
		ok = ok && o[i].packet_id != 0 && !seen[o[i].packet_id];
		seen[o[i].packet_id] = 1;
		pubs += o[i].kind == K_PUB;
	}
	CHECK(ok);
	EXPECT_COUNTS(s, 0, 0, 65535, pubs, 0);
	op_init(&o[65535], K_SUB, 0, 70000, 1); /* needs no window slot, but an id */
	op_init(&o[65536], K_PUB, 1, 70001, 1);
	ferry__session_enqueue(s, &o[65535]);
	ferry__session_enqueue(s, &o[65536]);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL);
	CHECK(o[65535].state == FERRY_OPS_QUEUED);
	/* Freeing one id lets exactly that id be reused. */
	CHECK(ack(s,
	          o[776].kind == K_UNSUB ? FERRY_UNSUBACK
	          : o[776].qos == 1      ? FERRY_PUBACK
	                                 : FERRY_PUBREC,
	          777, 0x80, &done) == FERRY_ACK_DONE);
	EXPECT_SEND(s, FERRY_SEND_SUBSCRIBE, &o[65535]);
	CHECK(o[65535].packet_id == 777);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL);
	end_session(s);
	free(seen);
	free(o);
}

/* ---- reconnecting ------------------------------------------------------------------ */

/*
 * In flight, in order: a QoS 1 (WAIT_ACK), b QoS 2 (WAIT_ACK), c QoS 2
 * (WAIT_COMP), d SUBSCRIBE (WAIT_ACK), e QoS 2 (SEND_REL); queued: f QoS 1
 * (blocked by window 4), g UNSUBSCRIBE. One inbound QoS 2 id (9) is held.
 */
static struct ferry_session *reconnect_setup(struct ferry_op o[7])
{
	struct ferry_session *s = new_session(4);
	struct ferry_op *done;
	const uint8_t kind[] = {K_PUB, K_PUB, K_PUB, K_SUB, K_PUB, K_PUB, K_UNSUB};
	const uint8_t qos[] = {1, 2, 2, 0, 2, 1, 0};
	for (int i = 0; i < 7; i++) {
		op_init(&o[i], kind[i], qos[i], (uint64_t)i + 1, (size_t)i * 10);
		ferry__session_enqueue(s, &o[i]);
	}
	for (int i = 0; i < 5; i++)
		ferry__session_next_send(s, &done);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL);
	CHECK(ack(s, FERRY_PUBREC, o[2].packet_id, 0, &done) == FERRY_ACK_SEND_PUBREL);
	EXPECT_SEND(s, FERRY_SEND_PUBREL, &o[2]);
	CHECK(ack(s, FERRY_PUBREC, o[4].packet_id, 0, &done) == FERRY_ACK_SEND_PUBREL);
	CHECK(ferry__session_in_qos2_publish(s, 9) == 1);
	EXPECT_COUNTS(s, 2, 110, 5, 4, 1);
	return s;
}

static void test_reconnect_session_present(void)
{
	struct ferry_op o[7], *done;
	struct ferry_session *s = reconnect_setup(o);
	uint16_t ids[5];
	for (int i = 0; i < 5; i++)
		ids[i] = o[i].packet_id;
	for (int round = 0; round < 2; round++) {
		/* round 1: the link drops again before the resends finish */
		ferry__session_on_connected(s, true, &done);
		CHECK(done == NULL);
		CHECK(o[0].state == FERRY_OPS_RESEND && o[2].state == FERRY_OPS_SEND_REL);
		EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[0]);
		CHECK(o[0].dup && o[0].packet_id == ids[0]);
		EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[1]);
		CHECK(o[1].dup && o[1].packet_id == ids[1]);
		if (round == 0)
			continue;
		EXPECT_SEND(s, FERRY_SEND_PUBREL, &o[2]); /* PUBREC'd: PUBREL again, not PUBLISH */
		EXPECT_SEND(s, FERRY_SEND_SUBSCRIBE, &o[3]);
		CHECK(o[3].packet_id == ids[3]);
		EXPECT_SEND(s, FERRY_SEND_PUBREL, &o[4]);
		CHECK(o[4].packet_id == ids[4]);
	}
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL); /* f is still blocked by the window */
	EXPECT_COUNTS(s, 2, 110, 5, 4, 1);     /* the inbound id is kept with the session */
	CHECK(ferry__session_in_qos2_publish(s, 9) == 0);
	CHECK(ack(s, FERRY_PUBACK, ids[0], 0, &done) == FERRY_ACK_DONE && done == &o[0]);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[5]);
	CHECK(!o[5].dup); /* never sent before */
	CHECK(ack(s, FERRY_PUBCOMP, ids[2], 0, &done) == FERRY_ACK_DONE && done == &o[2]);
	EXPECT_SEND(s, FERRY_SEND_UNSUBSCRIBE, &o[6]);
	end_session(s);
}

static void test_reconnect_no_session(void)
{
	struct ferry_op o[7], *done;
	struct ferry_session *s = reconnect_setup(o);
	ferry__session_on_connected(s, false, &done);
	/* c (WAIT_COMP) and e (SEND_REL) were taken by the broker: complete, in order. */
	CHECK(done == &o[2] && o[2].next == &o[4] && o[4].next == NULL);
	/* The rest goes back to the outbox head, in flight order first. */
	EXPECT_COUNTS(s, 5, 0 + 10 + 30 + 50 + 60, 0, 0, 0);
	const int order[] = {0, 1, 3, 5, 6};
	struct ferry_op *q = ferry__session_oldest_queued(s);
	for (int i = 0; i < 5; i++) {
		CHECK(q == &o[order[i]]);
		if (!q)
			break;
		CHECK(q->state == FERRY_OPS_QUEUED && q->packet_id == 0 && !q->dup);
		q = q->next;
	}
	CHECK(q == NULL);
	CHECK(ferry__session_in_qos2_publish(s, 9) == 1); /* inbound ids were forgotten */
	/* Sent again as new publishes: no DUP. */
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[0]);
	CHECK(!o[0].dup && o[0].packet_id != 0);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[1]);
	EXPECT_SEND(s, FERRY_SEND_SUBSCRIBE, &o[3]);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[5]);
	EXPECT_SEND(s, FERRY_SEND_UNSUBSCRIBE, &o[6]);
	EXPECT_COUNTS(s, 0, 0, 5, 3, 1);
	/* After resends with session present, a lost session drops DUP again. */
	ferry__session_on_connected(s, true, &done);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[0]);
	CHECK(o[0].dup && o[1].dup);
	ferry__session_on_connected(s, false, &done);
	CHECK(done == NULL && !o[0].dup && !o[1].dup);
	end_session(s);
}

/* Restored from a store: in flight under their old ids, resent with DUP
 * (or PUBREL) on a session, sent again as new messages without one. */
static void test_restore_inflight(void)
{
	for (int present = 0; present < 2; present++) {
		snprintf(ctx, sizeof ctx, "session present %d", present);
		struct ferry_session *s = new_session(10);
		struct ferry_op a, b, c, d, e, *done = NULL;
		op_init(&a, K_PUB, 1, 3, 5);
		op_init(&b, K_PUB, 2, 4, 5);
		op_init(&c, K_PUB, 2, 5, 5);
		op_init(&d, K_PUB, 1, 6, 5);
		op_init(&e, K_PUB, 0, 7, 5);
		CHECK(ferry__session_restore(s, &a, false, 700));
		CHECK(ferry__session_restore(s, &b, true, 9));
		CHECK(ferry__session_restore(s, &c, false, 65535));
		CHECK(!ferry__session_restore(s, &d, false, 700)); /* id taken: refused */
		CHECK(!ferry__session_restore(s, &d, true, 8));    /* released is QoS 2 only */
		CHECK(!ferry__session_restore(s, &d, false, 0));
		CHECK(!ferry__session_restore(s, &e, false, 8));   /* QoS 0 is never in flight */
		CHECK(d.packet_id == 0);
		EXPECT_COUNTS(s, 0, 0, 3, 3, 0);
		EXPECT_SEND(s, FERRY_SEND_NONE, NULL); /* nothing moves before a connection */
		ferry__session_on_connected(s, present, &done);
		if (present) {
			CHECK(done == NULL);
			EXPECT_SEND(s, FERRY_SEND_PUBLISH, &a);
			CHECK(a.dup && a.packet_id == 700);
			EXPECT_SEND(s, FERRY_SEND_PUBREL, &b);
			CHECK(b.packet_id == 9);
			EXPECT_SEND(s, FERRY_SEND_PUBLISH, &c);
			CHECK(c.dup && c.packet_id == 65535);
			CHECK(ack(s, FERRY_PUBCOMP, 9, 0, &done) == FERRY_ACK_DONE && done == &b);
		} else {
			CHECK(done == &b && b.next == NULL); /* PUBREC'd: the broker has it */
			EXPECT_SEND(s, FERRY_SEND_PUBLISH, &a);
			CHECK(!a.dup && a.packet_id != 700);
			EXPECT_SEND(s, FERRY_SEND_PUBLISH, &c);
			CHECK(!c.dup);
		}
		end_session(s);
	}
}

/* Restored queued messages go before newer ones, after older ones. */
static void test_enqueue_ordered(void)
{
	snprintf(ctx, sizeof ctx, "enqueue_ordered");
	struct ferry_session *s = new_session(100);
	struct ferry_op o[6];
	const uint64_t tokens[6] = {100, 101, 2, 3, 1, 200};
	for (int i = 0; i < 6; i++)
		op_init(&o[i], K_PUB, 1, tokens[i], (size_t)i + 1);
	ferry__session_enqueue(s, &o[0]);
	ferry__session_enqueue(s, &o[1]);
	ferry__session_enqueue_ordered(s, &o[2]);
	ferry__session_enqueue_ordered(s, &o[3]);
	ferry__session_enqueue_ordered(s, &o[4]);
	ferry__session_enqueue_ordered(s, &o[5]);
	EXPECT_COUNTS(s, 6, 21, 0, 0, 0);
	const int order[] = {4, 2, 3, 0, 1, 5};
	for (int i = 0; i < 6; i++) {
		EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[order[i]]);
		CHECK(o[order[i]].state == FERRY_OPS_WAIT_ACK && o[order[i]].packet_id != 0);
	}
	end_session(s);
}

static void test_take_all(void)
{
	struct ferry_op o[7];
	struct ferry_session *s = reconnect_setup(o);
	struct ferry_op *l = ferry__session_take_all(s);
	for (int i = 0; i < 7; i++) {
		CHECK(l == &o[i]); /* in flight in order, then the outbox in order */
		if (!l)
			break;
		CHECK(l->prev == NULL && l->xnext == NULL);
		l = l->next;
	}
	CHECK(l == NULL);
	EXPECT_COUNTS(s, 0, 0, 0, 0, 1);
	CHECK(ferry__session_oldest_queued(s) == NULL);
	EXPECT_SEND(s, FERRY_SEND_NONE, NULL); /* e's PUBREL went with it */
	CHECK(ferry__session_take_all(s) == NULL);
	/* The session is usable again, every id free. */
	struct ferry_op *done;
	for (int i = 0; i < 7; i++)
		ferry__session_enqueue(s, &o[i]);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[0]);
	CHECK(ack(s, FERRY_PUBACK, o[0].packet_id, 0, &done) == FERRY_ACK_DONE);
	end_session(s);
}

/* While disconnecting, next_resend finishes flows in flight but starts nothing new. */
static void test_next_resend(void)
{
	struct ferry_op o[7], *done;
	struct ferry_session *s = reconnect_setup(o);
	EXPECT_SEND(s, FERRY_SEND_PUBREL, &o[4]); /* e's PUBREL is due */
	CHECK(ferry__session_next_resend(s, &done) == FERRY_SEND_NONE && done == NULL);
	CHECK(ack(s, FERRY_PUBACK, o[0].packet_id, 0, &done) == FERRY_ACK_DONE);
	/* f now fits the window, but next_resend never takes from the outbox. */
	CHECK(ferry__session_next_resend(s, &done) == FERRY_SEND_NONE && done == NULL);
	CHECK(ack(s, FERRY_PUBREC, o[1].packet_id, 0, &done) == FERRY_ACK_SEND_PUBREL);
	CHECK(ferry__session_next_resend(s, &done) == FERRY_SEND_PUBREL && done == &o[1]);
	ferry__session_on_connected(s, true, &done);
	CHECK(ferry__session_next_resend(s, &done) == FERRY_SEND_PUBREL && done == &o[1]);
	CHECK(ferry__session_next_resend(s, &done) == FERRY_SEND_PUBREL && done == &o[2]);
	CHECK(ferry__session_next_resend(s, &done) == FERRY_SEND_SUBSCRIBE && done == &o[3]);
	CHECK(ferry__session_next_resend(s, &done) == FERRY_SEND_PUBREL && done == &o[4]);
	CHECK(ferry__session_next_resend(s, &done) == FERRY_SEND_NONE && done == NULL);
	EXPECT_COUNTS(s, 2, 110, 4, 3, 1);
	end_session(s);
}

/* ---- inbound QoS 2 and the outbox helpers ------------------------------------------------ */

static void test_inbound_qos2(void)
{
	struct ferry_session *s = new_session(1);
	CHECK(ferry__session_in_qos2_publish(s, 5) == 1);
	CHECK(ferry__session_in_qos2_publish(s, 5) == 0); /* duplicate: do not deliver */
	CHECK(ferry__session_in_qos2_publish(s, 6) == 1);
	EXPECT_COUNTS(s, 0, 0, 0, 0, 2);
	CHECK(ferry__session_in_qos2_release(s, 5));
	CHECK(!ferry__session_in_qos2_release(s, 5));     /* unknown now: PUBCOMP anyway */
	CHECK(ferry__session_in_qos2_publish(s, 5) == 1); /* a new message may reuse the id */
	CHECK(ferry__session_in_qos2_publish(s, 6) == 0);
	CHECK(!ferry__session_in_qos2_release(s, 7));
	CHECK(ferry__session_in_qos2_publish(s, 0) == 1); /* 0 is never remembered */
	EXPECT_COUNTS(s, 0, 0, 0, 0, 2);
	/* Every id at once, in a scattered order, then all released. */
	bool ok = true;
	for (uint32_t i = 0; i < 65535; i++) {
		uint16_t id = (uint16_t)(1 + (i * 30011u) % 65535u);
		int r = ferry__session_in_qos2_publish(s, id);
		ok = ok && r == (id == 5 || id == 6 ? 0 : 1);
	}
	CHECK(ok);
	EXPECT_COUNTS(s, 0, 0, 0, 0, 65535);
	for (uint32_t id = 1; id <= 65535 && ok; id++)
		ok = ferry__session_in_qos2_publish(s, (uint16_t)id) == 0 &&
		     ferry__session_in_qos2_release(s, (uint16_t)id);
	CHECK(ok);
	EXPECT_COUNTS(s, 0, 0, 0, 0, 0);
	ferry__session_free(s);
}

static void test_drop_oldest(void)
{
	struct ferry_session *s = new_session(1);
	struct ferry_op o[4], *done;
	for (int i = 0; i < 4; i++) {
		op_init(&o[i], K_PUB, 1, (uint64_t)i + 1, (size_t)(i + 1) * 100);
		ferry__session_enqueue(s, &o[i]);
	}
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[0]);
	CHECK(ferry__session_oldest_queued(s) == &o[1]); /* in flight ops are not "queued" */
	EXPECT_COUNTS(s, 3, 900, 1, 1, 0);
	ferry__session_remove_queued(s, &o[1]);
	CHECK(ferry__session_oldest_queued(s) == &o[2]);
	EXPECT_COUNTS(s, 2, 700, 1, 1, 0);
	ferry__session_remove_queued(s, &o[3]); /* the tail */
	CHECK(o[2].next == NULL);
	ferry__session_enqueue(s, &o[1]); /* re-enqueued at the tail */
	CHECK(o[2].next == &o[1]);
	CHECK(ack(s, FERRY_PUBACK, o[0].packet_id, 0, &done) == FERRY_ACK_DONE);
	EXPECT_SEND(s, FERRY_SEND_PUBLISH, &o[2]);
	ferry__session_remove_queued(s, &o[1]);
	CHECK(ferry__session_oldest_queued(s) == NULL);
	EXPECT_COUNTS(s, 0, 0, 1, 1, 0);
	end_session(s);
}

/* ---- randomized comparison with a reference model ------------------------------------ */

/*
 * The model keeps the header's picture in plain arrays: the outbox, the
 * in-flight list and the transmit queue as ordered index arrays, the state,
 * id and DUP flag of every op, a 65,536-entry table of ids in use with the
 * same rotating cursor, and the inbound QoS 2 ids. Every step applies one
 * random operation to both and compares results, ops, ids, states, list
 * links and counts. A warm-up moves the id cursor near 65535 so the run
 * wraps with ids in flight.
 */
#define M_OPS   48
#define M_STEPS 100000

enum { M_FREE, M_OUTBOX, M_INFLIGHT };

struct model {
	struct ferry_session *s;
	struct ferry_op op[M_OPS];
	uint8_t where[M_OPS], state[M_OPS];
	uint16_t id[M_OPS];
	bool dup[M_OPS];
	int out[M_OPS], nout;
	int inf[M_OPS], ninf;
	int xq[M_OPS], nxq;
	uint16_t cursor, window;
	bool used[65536], in2[65536];
	size_t nin2;
	uint64_t rng;
};

static uint64_t m_rnd(struct model *m, uint64_t n) /* splitmix64, reduced to [0, n) */
{
	uint64_t z = (m->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (z ^ (z >> 31)) % n;
}

static void arr_del(int *a, int *n, int pos)
{
	memmove(a + pos, a + pos + 1, (size_t)(*n - pos - 1) * sizeof *a);
	(*n)--;
}

static bool m_pubq(const struct model *m, int i)
{
	return m->op[i].kind == K_PUB && m->op[i].qos > 0;
}

static enum ferry_send_what m_what(const struct model *m, int i)
{
	return m->op[i].kind == K_SUB     ? FERRY_SEND_SUBSCRIBE
	       : m->op[i].kind == K_UNSUB ? FERRY_SEND_UNSUBSCRIBE
	                                  : FERRY_SEND_PUBLISH;
}

static void m_enqueue(struct model *m)
{
	int i = (int)m_rnd(m, M_OPS);
	if (m->where[i] != M_FREE)
		return;
	static const uint8_t kinds[] = {K_PUB, K_PUB, K_PUB, K_PUB, K_PUB, K_SUB, K_UNSUB};
	uint8_t kind = kinds[m_rnd(m, 7)];
	op_init(&m->op[i], kind, kind == K_PUB ? (uint8_t)m_rnd(m, 3) : 0, (uint64_t)i + 1,
	        (size_t)m_rnd(m, 1000));
	ferry__session_enqueue(m->s, &m->op[i]);
	m->where[i] = M_OUTBOX;
	m->state[i] = FERRY_OPS_QUEUED;
	m->id[i] = 0;
	m->dup[i] = false;
	m->out[m->nout++] = i;
}

/* The op next_send should return (-1: none), updating the model. */
static int m_next(struct model *m, enum ferry_send_what *what)
{
	int i, pubs = 0;
	if (m->nxq) {
		i = m->xq[0];
		arr_del(m->xq, &m->nxq, 0);
		*what = m->state[i] == FERRY_OPS_SEND_REL ? FERRY_SEND_PUBREL : m_what(m, i);
		m->state[i] =
		    m->state[i] == FERRY_OPS_SEND_REL ? FERRY_OPS_WAIT_COMP : FERRY_OPS_WAIT_ACK;
		return i;
	}
	*what = FERRY_SEND_NONE;
	if (!m->nout)
		return -1;
	i = m->out[0];
	for (int k = 0; k < m->ninf; k++)
		pubs += m_pubq(m, m->inf[k]);
	if (m_pubq(m, i) && pubs >= m->window)
		return -1;
	arr_del(m->out, &m->nout, 0);
	*what = FERRY_SEND_PUBLISH;
	if (m->op[i].kind == K_PUB && m->op[i].qos == 0) {
		m->where[i] = M_FREE;
		return i;
	}
	while (m->used[m->cursor])
		m->cursor = m->cursor == 65535 ? 1 : (uint16_t)(m->cursor + 1);
	m->id[i] = m->cursor;
	m->used[m->cursor] = true;
	m->cursor = m->cursor == 65535 ? 1 : (uint16_t)(m->cursor + 1);
	m->where[i] = M_INFLIGHT;
	m->state[i] = FERRY_OPS_WAIT_ACK;
	m->dup[i] = false;
	m->inf[m->ninf++] = i;
	*what = m_what(m, i);
	return i;
}

static bool m_send(struct model *m, bool resend_only)
{
	enum ferry_send_what want = FERRY_SEND_NONE;
	int i = resend_only && !m->nxq ? -1 : m_next(m, &want);
	struct ferry_op *op = (struct ferry_op *)1;
	enum ferry_send_what got = resend_only ? ferry__session_next_resend(m->s, &op)
	                                       : ferry__session_next_send(m->s, &op);
	return CHECK(got == want) && CHECK(op == (i < 0 ? NULL : &m->op[i]));
}

/* The reference ack table: 'D' done, 'Q' done downgraded, 'R' PUBREL due, 'W' wrong state. */
static char m_table(const struct model *m, int i, int ptype, uint8_t reason)
{
	const struct ferry_op *op = &m->op[i];
	bool q2 = op->kind == K_PUB && op->qos == 2;
	char rec = reason >= 0x80 ? 'D' : 'R';
	if (m->state[i] == FERRY_OPS_WAIT_COMP)
		return !q2 ? 'W' : ptype == FERRY_PUBCOMP ? 'D' : ptype == FERRY_PUBREC ? rec : 'W';
	if (m->state[i] != FERRY_OPS_WAIT_ACK)
		return 'W';
	if (op->kind == K_PUB && op->qos == 1)
		return ptype == FERRY_PUBACK ? 'D' : 'W';
	if (q2)
		return ptype == FERRY_PUBREC ? rec : ptype == FERRY_PUBACK ? 'Q' : 'W';
	if (op->kind == K_SUB)
		return ptype == FERRY_SUBACK ? 'D' : 'W';
	return ptype == FERRY_UNSUBACK ? 'D' : 'W';
}

static bool m_ack(struct model *m)
{
	static const int types[] = {FERRY_PUBACK, FERRY_PUBREC,   FERRY_PUBCOMP,
	                            FERRY_SUBACK, FERRY_UNSUBACK, FERRY_PUBREL};
	static const uint8_t reasons[] = {0, 0, 0, 0x10, 0x80, 0x91};
	int ptype = types[m_rnd(m, 6)];
	uint8_t reason = reasons[m_rnd(m, 6)];
	uint16_t pid = (uint16_t)m_rnd(m, 65536);
	if (m->ninf && m_rnd(m, 10) < 8)
		pid = m->id[m->inf[m_rnd(m, (uint64_t)m->ninf)]];
	int k = 0;
	while (k < m->ninf && m->id[m->inf[k]] != pid)
		k++;
	int i = k < m->ninf ? m->inf[k] : -1;
	char want = i < 0 ? 'U' : m_table(m, i, ptype, reason);
	struct ferry_op *done;
	enum ferry_ack_result got = ack(m->s, ptype, pid, reason, &done);
	if (want == 'U')
		return CHECK(got == FERRY_ACK_UNKNOWN_ID && done == NULL);
	if (want == 'W')
		return CHECK(got == FERRY_ACK_WRONG_STATE && done == NULL);
	if (want == 'R') {
		m->state[i] = FERRY_OPS_SEND_REL;
		m->xq[m->nxq++] = i;
		return CHECK(got == FERRY_ACK_SEND_PUBREL && done == NULL);
	}
	arr_del(m->inf, &m->ninf, k);
	m->used[pid] = false;
	m->where[i] = M_FREE;
	return CHECK(got == (want == 'Q' ? FERRY_ACK_DOWNGRADED : FERRY_ACK_DONE) && done == &m->op[i]);
}

static bool m_connected(struct model *m)
{
	bool present = m_rnd(m, 2);
	int req[M_OPS], nreq = 0, fin[M_OPS], nfin = 0;
	struct ferry_op *done = (struct ferry_op *)1;
	m->nxq = 0;
	for (int k = 0; k < m->ninf; k++) {
		int i = m->inf[k];
		bool rel = m->state[i] == FERRY_OPS_SEND_REL || m->state[i] == FERRY_OPS_WAIT_COMP;
		if (present) {
			m->state[i] = rel ? FERRY_OPS_SEND_REL : FERRY_OPS_RESEND;
			m->dup[i] = m->dup[i] || (!rel && m->op[i].kind == K_PUB);
			m->xq[m->nxq++] = i;
		} else if (rel) {
			fin[nfin++] = i;
			m->where[i] = M_FREE;
		} else {
			req[nreq++] = i;
			m->where[i] = M_OUTBOX;
			m->state[i] = FERRY_OPS_QUEUED;
			m->id[i] = 0;
			m->dup[i] = false;
		}
	}
	ferry__session_on_connected(m->s, present, &done);
	if (present)
		return CHECK(done == NULL);
	memcpy(req + nreq, m->out, (size_t)m->nout * sizeof *req);
	memcpy(m->out, req, (size_t)(nreq + m->nout) * sizeof *req);
	m->nout += nreq;
	m->ninf = 0;
	memset(m->used, 0, sizeof m->used);
	memset(m->in2, 0, sizeof m->in2);
	m->nin2 = 0;
	for (int k = 0; k < nfin; k++, done = done->next)
		if (!CHECK(done == &m->op[fin[k]]))
			return false;
	return CHECK(done == NULL);
}

static bool m_take_all(struct model *m)
{
	struct ferry_op *l = ferry__session_take_all(m->s);
	for (int k = 0; k < m->ninf + m->nout; k++, l = l->next) {
		int i = k < m->ninf ? m->inf[k] : m->out[k - m->ninf];
		if (!CHECK(l == &m->op[i]))
			return false;
		m->where[i] = M_FREE;
	}
	m->ninf = m->nout = m->nxq = 0;
	memset(m->used, 0, sizeof m->used);
	return CHECK(l == NULL);
}

static bool m_drop(struct model *m)
{
	if (!m->nout)
		return CHECK(ferry__session_oldest_queued(m->s) == NULL);
	int k = m_rnd(m, 2) ? 0 : (int)m_rnd(m, (uint64_t)m->nout);
	int i = m->out[k];
	if (k == 0 && !CHECK(ferry__session_oldest_queued(m->s) == &m->op[i]))
		return false;
	ferry__session_remove_queued(m->s, &m->op[i]);
	arr_del(m->out, &m->nout, k);
	m->where[i] = M_FREE;
	return true;
}

static bool m_in2(struct model *m)
{
	uint16_t id = (uint16_t)m_rnd(m, 41);
	if (m_rnd(m, 2)) {
		int want = id == 0 || !m->in2[id];
		if (id && !m->in2[id]) {
			m->in2[id] = true;
			m->nin2++;
		}
		return CHECK(ferry__session_in_qos2_publish(m->s, id) == want);
	}
	bool held = m->in2[id];
	if (held) {
		m->in2[id] = false;
		m->nin2--;
	}
	return CHECK(ferry__session_in_qos2_release(m->s, id) == held);
}

/* Ops, ids, states, DUP flags, list links and counts agree with the model. */
static bool m_verify(struct model *m)
{
	struct ferry_session_counts c;
	size_t bytes = 0, pubs = 0;
	bool ok = true;
	for (int k = 0; k < m->nout; k++) {
		struct ferry_op *op = &m->op[m->out[k]];
		bytes += op->bytes;
		ok = ok && op->prev == (k ? &m->op[m->out[k - 1]] : NULL) &&
		     op->next == (k + 1 < m->nout ? &m->op[m->out[k + 1]] : NULL);
	}
	for (int k = 0; k < m->ninf; k++) {
		struct ferry_op *op = &m->op[m->inf[k]];
		pubs += m_pubq(m, m->inf[k]);
		ok = ok && op->prev == (k ? &m->op[m->inf[k - 1]] : NULL) &&
		     op->next == (k + 1 < m->ninf ? &m->op[m->inf[k + 1]] : NULL);
	}
	for (int i = 0; i < M_OPS && ok; i++)
		if (m->where[i] != M_FREE)
			ok = m->op[i].state == m->state[i] && m->op[i].packet_id == m->id[i] &&
			     m->op[i].dup == m->dup[i] &&
			     (m->where[i] == M_OUTBOX) == (m->id[i] == 0);
	ferry__session_counts(m->s, &c);
	ok = CHECK(ok) &&
	     CHECK(ferry__session_oldest_queued(m->s) == (m->nout ? &m->op[m->out[0]] : NULL));
	return ok && CHECK(c.queued == (size_t)m->nout && c.queued_bytes == bytes &&
	                   c.inflight == (size_t)m->ninf && c.inflight_pub == pubs &&
	                   c.in_qos2 == m->nin2);
}

static bool m_step(struct model *m)
{
	uint64_t r = m_rnd(m, 1000);
	if (r < 250) {
		m_enqueue(m);
		return true;
	}
	if (r < 500)
		return m_send(m, false);
	if (r < 550)
		return m_send(m, true);
	if (r < 800)
		return m_ack(m);
	if (r < 830)
		return m_connected(m);
	if (r < 850) {
		m->window = (uint16_t)(1 + m_rnd(m, 6));
		ferry__session_set_window(m->s, m->window);
		return true;
	}
	if (r < 890)
		return m_drop(m);
	if (r < 995)
		return m_in2(m);
	return m_take_all(m);
}

static void test_model(void)
{
	struct model *m = calloc(1, sizeof *m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	m->rng = 0x5e55104u;
	m->window = 3;
	m->s = new_session(m->window);
	/* Warm-up: ids 1..65500 used and acknowledged one at a time. */
	struct ferry_op *done;
	bool ok = true;
	for (uint32_t n = 1; n <= 65500 && ok; n++) {
		op_init(&m->op[0], K_PUB, 1, 1, 0);
		ferry__session_enqueue(m->s, &m->op[0]);
		ok = ferry__session_next_send(m->s, &done) == FERRY_SEND_PUBLISH &&
		     m->op[0].packet_id == n &&
		     ack(m->s, FERRY_PUBACK, (uint16_t)n, 0, &done) == FERRY_ACK_DONE;
	}
	CHECK(ok);
	m->cursor = 65501;
	for (long step = 0; step < M_STEPS && ok; step++) {
		snprintf(ctx, sizeof ctx, "model step %ld", step);
		ok = m_step(m) && m_verify(m);
	}
	ctx[0] = 0;
	CHECK(m->cursor < 65501); /* the run wrapped past 65535 */
	end_session(m->s);
	free(m);
}

/* The last QoS 2 delivery per packet id: only that same content counts as seen. */
static void test_qos2_recent_per_id(void)
{
	struct ferry_session *s = ferry__session_new(10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_FALSE(ferry__session_in_qos2_recent(s, 5, 111)); /* nothing yet */
	ferry__session_in_qos2_delivered(s, 5, 111);
	CU_ASSERT_TRUE(ferry__session_in_qos2_recent(s, 5, 111));
	CU_ASSERT_FALSE(ferry__session_in_qos2_recent(s, 5, 222)); /* other content */
	CU_ASSERT_FALSE(ferry__session_in_qos2_recent(s, 6, 111)); /* other id */
	ferry__session_in_qos2_delivered(s, 5, 222);              /* the id reused */
	CU_ASSERT_FALSE(ferry__session_in_qos2_recent(s, 5, 111));
	CU_ASSERT_TRUE(ferry__session_in_qos2_recent(s, 5, 222));
	ferry__session_in_qos2_delivered(s, 65535, 0);
	CU_ASSERT_TRUE(ferry__session_in_qos2_recent(s, 65535, 0));
	/* A mark taken from one session and put into another (a restart)
	 * recognises the same message, and only it. */
	uint32_t mark = ferry__session_in_qos2_mark(s, 5);
	CU_ASSERT_NOT_EQUAL(mark, 0);
	CU_ASSERT_EQUAL(ferry__session_in_qos2_mark(s, 6), 0);
	struct ferry_session *t = ferry__session_new(10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(ferry__session_in_qos2_mark(t, 5), 0);
	CU_ASSERT_EQUAL(ferry__session_in_qos2_set_mark(t, 5, 0), 0); /* nothing to keep */
	CU_ASSERT_FALSE(ferry__session_in_qos2_recent(t, 5, 222));
	CU_ASSERT_EQUAL(ferry__session_in_qos2_set_mark(t, 5, mark), 0);
	CU_ASSERT_TRUE(ferry__session_in_qos2_recent(t, 5, 222));
	CU_ASSERT_FALSE(ferry__session_in_qos2_recent(t, 5, 111));
	CU_ASSERT_EQUAL(ferry__session_in_qos2_publish(t, 5), 1); /* a mark does not hold the id */
	ferry__session_free(t);
	ferry__session_free(s);
}

void register_session_suite(void)
{
	CU_pSuite s = test_suite("session");
	test_add(s, "ack table: kind x QoS x state x ack x id", test_ack_table);
	test_add(s, "inbound QoS 2: last delivery per packet id", test_qos2_recent_per_id);
	test_add(s, "non-ack packet types are refused", test_ack_non_ack_types);
	test_add(s, "QoS 1 flow", test_qos1_flow);
	test_add(s, "QoS 2 flow, duplicate PUBREC", test_qos2_flow);
	test_add(s, "PUBRELs in PUBREC order", test_pubrel_order);
	test_add(s, "PUBREC failure reason completes", test_pubrec_failure);
	test_add(s, "window limits", test_window);
	test_add(s, "window keeps FIFO order", test_window_fifo);
	test_add(s, "ids wrap past 65535, skip in flight", test_id_wrap);
	test_add(s, "65535 ops in flight, then none", test_id_exhaustion);
	test_add(s, "reconnect with session present", test_reconnect_session_present);
	test_add(s, "reconnect without session", test_reconnect_no_session);
	test_add(s, "take_all order", test_take_all);
	test_add(s, "restored in-flight messages", test_restore_inflight);
	test_add(s, "restored queued messages keep token order", test_enqueue_ordered);
	test_add(s, "next_resend never starts new sends", test_next_resend);
	test_add(s, "inbound QoS 2 duplicates and release", test_inbound_qos2);
	test_add(s, "drop-oldest helpers", test_drop_oldest);
	test_add(s, "randomized model comparison", test_model);
}

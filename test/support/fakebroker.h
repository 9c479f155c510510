/*
 * fakebroker.h - a scripted fake MQTT broker for byte-exact and
 * malformed-input tests.
 *
 * It listens on 127.0.0.1 on a free port and runs a script, an array of steps
 * ended by FAKE_END, in its own thread: accept a connection, expect a packet
 * of some type or exact bytes from the client, send bytes (possibly
 * malformed), close. Connections are served one at a time. Every frame the
 * client sends is read whole with the ferry frame reader, decoded with
 * ferry__decode as FERRY_PEER_CLIENT at the script's protocol version, and
 * recorded (raw bytes) so the test can assert exactly what the client sent.
 *
 *	static const struct test_fake_step script[] = {
 *		{.op = FAKE_ACCEPT},
 *		{.op = FAKE_EXPECT, .type = FERRY_CONNECT},
 *		{.op = FAKE_SEND, .hex = "20 02 00 00"},
 *		{.op = FAKE_EXPECT_BYTES, .hex = "e0 00"},
 *		{.op = FAKE_END},
 *	};
 *	struct test_fake *fb;
 *	rc = test_fake_start(&fb, script, &(struct test_fake_opts){.version = 4});
 *	... point the client at test_fake_uri(fb) ...
 *	rc = test_fake_wait(fb, 0);         0, or see test_fake_error(fb)
 *	test_fake_destroy(fb);
 *
 * Hex text: pairs of hex digits, spaces allowed anywhere between pairs, and
 * 'text' in single quotes for ASCII ("00 04 'MQTT' 04").
 *
 * The first failure stops the script: the wait functions then return an
 * error and test_fake_error() says which step failed, what it expected and
 * what arrived (in hex). Every wait of every step is bounded (the step's
 * timeout_ms, else the script's, else 10 s). When the script ends (FAKE_END)
 * the current connection is left open until test_fake_destroy.
 *
 * Races to avoid in scripts: a SEND after the client has closed fails
 * ("send: Broken pipe") or not, depending on timing; after sending something
 * that makes the client give up, use FAKE_EXPECT_CLOSE (or FAKE_EXPECT of the
 * DISCONNECT an MQTT 5 client sends first), not another SEND. Connections
 * that arrive when the script is not at FAKE_ACCEPT wait in the backlog.
 *
 * Ownership: the script is borrowed for the call of test_fake_start (the hex
 * is parsed then; a malformed hex string makes start fail). The fake broker
 * is owned by the caller and freed by test_fake_destroy. Frames returned by
 * test_fake_frame stay valid until test_fake_destroy.
 *
 * Thread safety: every function may be called from any thread, concurrently
 * with the script, except test_fake_destroy (once, when no other call on the
 * same fake broker is in progress).
 */
#ifndef FERRY_TEST_FAKEBROKER_H
#define FERRY_TEST_FAKEBROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum test_fake_op {
	FAKE_END = 0,      /* end of the script */
	FAKE_ACCEPT,       /* wait for the next connection (closes the current one first) */
	FAKE_EXPECT,       /* read one frame; it must decode as .type (enum ferry_ptype, 0: any
	                      valid packet); a CONNECT must also be of the script's version */
	FAKE_EXPECT_BYTES, /* read one frame; it must equal .hex exactly (not decoded) */
	FAKE_SEND,         /* send .hex as given, in one write */
	FAKE_SEND_SPLIT,   /* send .hex one byte per write (TCP_NODELAY), no delay between */
	FAKE_CLOSE,        /* close the connection (FIN) */
	FAKE_RESET,        /* close the connection with a TCP reset (SO_LINGER 0) */
	FAKE_EXPECT_CLOSE, /* the client must close (EOF or reset) before sending any frame */
	FAKE_PING_AUTO,    /* from now on answer each PINGREQ with PINGRESP, unrecorded */
	FAKE_PING_MANUAL,  /* from now on PINGREQ is an ordinary frame again (the default) */
	FAKE_WAIT_GO,      /* wait until the test calls test_fake_go (bounded) */
};

struct test_fake_step {
	enum test_fake_op op;
	int type;            /* FAKE_EXPECT: enum ferry_ptype, 0 = any */
	const char *hex;     /* FAKE_EXPECT_BYTES, FAKE_SEND, FAKE_SEND_SPLIT */
	unsigned timeout_ms; /* waits of this step; 0 = the script's default */
};

struct test_fake_opts {
	uint8_t version;     /* protocol level for decoding: 3, 4 or 5; 0 = 4 */
	unsigned timeout_ms; /* default bound of every wait; 0 = 10000 */
	bool auto_ping;      /* start as if the script began with FAKE_PING_AUTO */
};

/* A frame the client sent. */
struct test_fake_frame {
	size_t conn;         /* accepted connection it came on, from 0 */
	size_t step;         /* index of the script step that read it */
	int type;            /* packet type: the first byte's high nibble */
	const uint8_t *data; /* the whole frame, fixed header included */
	size_t len;
};

struct test_fake;

/*
 * test_fake_start - listen on 127.0.0.1 on a free port and start the script
 * thread. script: steps ended by FAKE_END; o: NULL for defaults.
 * Returns FERRY_OK with *out set, or FERRY_ERR_INVAL (bad hex, bad version:
 * the reason is printed on stderr), FERRY_ERR_NOMEM, FERRY_ERR_STATE (socket
 * or thread failure); *out is NULL then.
 */
int test_fake_start(struct test_fake **out, const struct test_fake_step *script,
                    const struct test_fake_opts *o);

/* The listening port, and "tcp://127.0.0.1:PORT" (valid until destroy). */
int test_fake_port(const struct test_fake *fb);
const char *test_fake_uri(const struct test_fake *fb);

/*
 * test_fake_wait - wait until the script ends, at most timeout_ms (0 = the
 * script's default). Returns FERRY_OK when every step passed, the step's
 * error when one failed (FERRY_ERR_PROTOCOL for an unexpected packet or
 * bytes, FERRY_ERR_TIMEOUT for a step that waited in vain, a codec error for
 * a frame that did not decode, FERRY_ERR_STATE for a socket error or a
 * connection closed when a frame was expected), or FERRY_ERR_TIMEOUT when
 * the script is still running (test_fake_error then says at which step).
 */
int test_fake_wait(struct test_fake *fb, unsigned timeout_ms);

/*
 * test_fake_wait_step - wait until steps 0 .. step-1 are done (the script is
 * about to run step `step`), at most timeout_ms (0 = default). Returns
 * FERRY_OK, the script's error if it failed earlier, or FERRY_ERR_TIMEOUT.
 */
int test_fake_wait_step(struct test_fake *fb, size_t step, unsigned timeout_ms);

/* test_fake_go - let one FAKE_WAIT_GO step proceed (counted: calls made early are kept). */
void test_fake_go(struct test_fake *fb);

/*
 * test_fake_error - the failure message, e.g.
 * "step 2 (EXPECT SUBSCRIBE): got PUBLISH (30 05 00 01 61 68 69)".
 * "" when the script ended well; "script still running step N of M" while
 * it runs. The text is copied into buf (cap bytes, truncated); returns buf.
 */
const char *test_fake_error(struct test_fake *fb, char *buf, size_t cap);

/* Number of frames recorded so far (auto-answered PINGREQs not included). */
size_t test_fake_frame_count(struct test_fake *fb);

/* Frame i (from 0, in arrival order). FERRY_OK, or FERRY_ERR_INVAL when i is out of range. */
int test_fake_frame(struct test_fake *fb, size_t i, struct test_fake_frame *out);

/* Number of PINGREQs answered automatically. */
unsigned test_fake_pings(struct test_fake *fb);

/* Number of connections accepted so far. */
size_t test_fake_connections(struct test_fake *fb);

/* test_fake_destroy - stop the script wherever it is, close every socket, free. NULL is a no-op. */
void test_fake_destroy(struct test_fake *fb);

#endif

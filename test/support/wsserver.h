/*
 * wsserver.h - a scripted WebSocket server for integration tests: one
 * thread listening on 127.0.0.1 on a free port (of the starting thread's
 * network namespace) that answers the upgrade - rightly, or with the
 * answer a test scripts - and then relays the MQTT bytes between WebSocket
 * frames and a real broker's TCP port (or echoes them), with the faults a
 * test asks for, checking every frame the client sends.
 *
 *	struct test_ws *ws = NULL;
 *	int rc = test_ws_start(&ws, &(struct test_ws_opts){.relay_port = broker_port});
 *	... connect a client to test_ws_uri(ws) ...
 *	test_ws_wait(ws, TEST_WS_PONGS, 1, 5000);
 *	test_ws_stop(ws);
 *
 * Connections are served one after the other (a reconnecting client gets
 * a new one), each by the same script. What the server checks of the
 * client, per frame: the mask bit (client frames must be masked), a mask
 * other than the previous frame's, reserved bits, opcodes (binary,
 * continuation, ping, pong, close only); anything else counts as a
 * violation (TEST_WS_VIOLATIONS, first one described by test_ws_violation).
 *
 * Threads: every function may be called from any thread while the server
 * runs; the counters have their own lock. Blocking writes are bounded (10 s
 * send timeout), so stop always returns.
 *
 * Errors: test_ws_start returns FERRY_OK, FERRY_ERR_INVAL, FERRY_ERR_NOMEM or
 * FERRY_ERR_STATE (a system call failed: socket, bind, thread).
 */
#ifndef FERRY_TEST_WSSERVER_H
#define FERRY_TEST_WSSERVER_H

#include <stdbool.h>
#include <stddef.h>

/* What the server does wrong, on purpose. */
enum test_ws_fault {
	TEST_WS_NONE = 0,  /* relay faithfully */
	TEST_WS_TEXT,      /* the broker's first bytes (the CONNACK) in a text frame */
	TEST_WS_MASKED,    /* ... in a masked binary frame */
	TEST_WS_RESERVED,  /* ... in a binary frame with RSV1 set */
	TEST_WS_HUGE,      /* instead of them, a binary frame header announcing 2^40 bytes */
	TEST_WS_BAD_CONTINUATION, /* ... in a continuation frame that continues nothing */
	TEST_WS_PING,      /* a ping ("ferry-ping") right behind the 101 answer, in the same
	                      write; the client's pong is checked (TEST_WS_PONGS) */
	TEST_WS_CLOSE,     /* after relaying the broker's first bytes, a close (1001 "bye");
	                      the client's close is awaited (5 s), then the connection ends */
};

struct test_ws_opts {
	/* The MQTT broker on 127.0.0.1 to relay to (connected for each client
	 * connection); 0: echo the client's data back instead. */
	int relay_port;
	/* The whole HTTP answer to send instead of the right one, e.g.
	 * "HTTP/1.1 403 Forbidden\r\n\r\n"; every "@ACCEPT@" in it becomes the
	 * right Sec-WebSocket-Accept. After it the server only reads until the
	 * client closes. NULL: the right 101 answer. */
	const char *response;
	enum test_ws_fault fault;
	/* 0: each chunk read from the broker goes out as one binary frame;
	 * N: as a fragmented message of frames of at most N bytes (binary
	 * FIN=0, continuations, the last with FIN), so MQTT packets straddle
	 * frames. */
	size_t fragment;
};

/* Counters a test can read and wait for. */
enum test_ws_counter {
	TEST_WS_CONNECTIONS,    /* TCP connections accepted */
	TEST_WS_UPGRADES,       /* right 101 answers sent */
	TEST_WS_DATA_FRAMES,    /* binary and continuation frames from the client */
	TEST_WS_PONGS,          /* pongs carrying the ping's payload */
	TEST_WS_BAD_PONGS,      /* pongs with any other payload */
	TEST_WS_CLOSES,         /* close frames from the client */
	TEST_WS_VIOLATIONS,     /* client frames breaking RFC 6455 (unmasked, text, reserved bits...) */
	TEST_WS_REPEATED_MASKS, /* client frames masked like the frame before */
	TEST_WS_ENDED,          /* connections finished */
	TEST_WS_NCOUNTERS
};

struct test_ws;

/* test_ws_start - listen on 127.0.0.1 (a free port) and serve from a thread. */
int test_ws_start(struct test_ws **out, const struct test_ws_opts *o);

/* test_ws_stop - end the connection being served, stop the thread, free. NULL is fine. */
void test_ws_stop(struct test_ws *s);

/* The listening port. */
int test_ws_port(const struct test_ws *s);

/* "ws://127.0.0.1:PORT/mqtt" (the path the server expects is not checked). */
const char *test_ws_uri(const struct test_ws *s);

/* A counter's value now. */
int test_ws_count(struct test_ws *s, enum test_ws_counter c);

/* Waits until counter c reaches at least n, at most timeout_ms; whether it did. */
bool test_ws_wait(struct test_ws *s, enum test_ws_counter c, int n, int timeout_ms);

/* The latest upgrade request received, NUL-terminated in buf (cut to cap - 1); its length. */
size_t test_ws_request(struct test_ws *s, char *buf, size_t cap);

/* Status code of the client's latest close frame: -1 none yet, 0 a close without one. */
int test_ws_close_code(struct test_ws *s);

/* The first violation seen, in words ("" when none); valid until stop. */
const char *test_ws_violation(struct test_ws *s);

#endif

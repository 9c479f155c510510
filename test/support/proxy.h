/*
 * proxy.h - a fault-injecting TCP proxy for the tests of reconnect and
 * keepalive: it sits between the client and a real broker and can pass,
 * cut, refuse, blackhole (both ways or one way), delay or fragment traffic.
 *
 * Typical use:
 *
 *	struct test_proxy *px;
 *	rc = test_proxy_start(&px, test_broker_port(&broker));
 *	... point the client at test_proxy_uri(px) ...
 *	rc = test_proxy_set(px, TEST_PROXY_BLACKHOLE);   the link goes dead
 *	... the client must notice by its keepalive ...
 *	rc = test_proxy_heal(px);                        everything back to normal
 *	test_proxy_destroy(px);
 *
 * Addresses: the proxy listens on 127.0.0.1 on a free port and forwards each
 * accepted connection to 127.0.0.1:target_port; it never uses any other
 * address. Any number of connections (up to TEST_PROXY_MAX_CONNS at once)
 * are forwarded at the same time: a reconnecting client opens new ones while
 * old ones may linger. Every socket has TCP_NODELAY set, so the proxy itself
 * adds no Nagle delay.
 *
 * Faults. Every control affects the connections open now AND those accepted
 * later, and takes effect before the call returns: once it returns, no byte
 * is forwarded under the previous setting (the proxy thread has applied it).
 *  - mode (test_proxy_set):
 *    PASS: forward everything both ways (the initial mode).
 *    REFUSE: close every new connection right after accept (the client sees
 *      its TCP connect succeed, then EOF before CONNACK); connections already
 *      open keep being forwarded.
 *    BLACKHOLE: keep every connection open and silently drop every byte both
 *      ways, a half-dead link as seen behind a NAT: no RST, no FIN. EOFs and
 *      errors from a peer are not passed on either; bytes already read and
 *      waiting (delay mode) are dropped too. New connections are accepted,
 *      connected to the target, and blackholed.
 *    BLACKHOLE_UP: drop client -> broker only (the broker stops hearing the
 *      client; the client still hears the broker).
 *    BLACKHOLE_DOWN: drop broker -> client only.
 *  - test_proxy_cut: close every connection open now, both sides at once
 *    (plain close: the peers see FIN, or RST if they then write); the mode is
 *    unchanged and new connections are still accepted.
 *  - test_proxy_set_delay: hold every chunk read from now on for ms
 *    milliseconds before forwarding it; order is preserved in each
 *    direction (a shorter delay never lets a chunk overtake an earlier one).
 *  - test_proxy_set_fragment: write every forwarded byte with its own
 *    send(), to exercise the peers' frame reassembly.
 *  - test_proxy_heal: back to PASS with no delay and no fragmenting. Bytes
 *    dropped while blackholed are lost, never replayed; an EOF or error held
 *    back by a blackhole is passed on now (as TCP would retransmit a FIN), so
 *    connections whose peer left are closed.
 * A connection is closed when both of its peers have closed (EOF or error
 * in both directions), at a cut, or when one peer fails (RST) in a direction
 * that is not blackholed (the other peer is then closed too).
 *
 * Memory is bounded: once TEST_PROXY_QUEUE_MAX bytes wait in one direction
 * of a connection (plus at most one read of 16 KiB), the proxy stops reading
 * the sender (TCP flow control pushes back); it does not drop.
 *
 * Threads and ownership: one proxy thread per proxy does all socket I/O,
 * blocking in poll() with the next delayed chunk's release time as timeout
 * (no busy loop). The struct is owned by the caller and freed by
 * test_proxy_destroy. Every function may be called from any thread
 * concurrently (a lock guards settings and counters), except
 * test_proxy_destroy: once, with no other call on the same proxy in
 * progress. Controls wait (bounded, 10 s) for the proxy thread to apply them;
 * they must not be called from a context that the proxy thread waits on (it
 * waits on nothing but its sockets, so any test thread or ferry callback is
 * fine).
 *
 * Errors: functions returning int give FERRY_OK or a negative enum ferry_err:
 * FERRY_ERR_INVAL (bad argument), FERRY_ERR_NOMEM, FERRY_ERR_STATE (a socket
 * or thread could not be made, or the proxy thread stopped after a system
 * error), FERRY_ERR_TIMEOUT (a bounded wait expired).
 */
#ifndef FERRY_TEST_PROXY_H
#define FERRY_TEST_PROXY_H

#include <stdbool.h>
#include <stdint.h>

/* Connections forwarded at once; more are closed at accept (counted as refused). */
#define TEST_PROXY_MAX_CONNS 1024
/* Bytes waiting per direction of a connection before the sender is no longer read. */
#define TEST_PROXY_QUEUE_MAX (256u * 1024u)

enum test_proxy_mode {
	TEST_PROXY_PASS = 0,       /* forward both ways */
	TEST_PROXY_REFUSE,         /* close new connections at accept; forward the others */
	TEST_PROXY_BLACKHOLE,      /* drop everything both ways, keep connections open */
	TEST_PROXY_BLACKHOLE_UP,   /* drop client -> broker only */
	TEST_PROXY_BLACKHOLE_DOWN, /* drop broker -> client only */
};

/* Counters since start; "up" is client -> broker, "down" broker -> client. */
struct test_proxy_stats {
	uint64_t accepted;      /* connections accepted (refused ones included) */
	uint64_t refused;       /* closed at accept: REFUSE mode or table full */
	uint64_t failed;        /* closed because the target could not be reached */
	uint64_t active;        /* connections open now */
	uint64_t received_up;   /* bytes read from the client (forwarded, waiting or dropped) */
	uint64_t received_down; /* bytes read from the broker */
	uint64_t bytes_up;      /* bytes forwarded (written to the broker) */
	uint64_t bytes_down;    /* bytes forwarded (written to the client) */
	uint64_t dropped_up;    /* bytes dropped by a blackhole */
	uint64_t dropped_down;
	uint64_t cuts;            /* test_proxy_cut calls performed */
	uint64_t cut_connections; /* connections closed by them */
};

struct test_proxy;

/*
 * test_proxy_start - listen on 127.0.0.1 on a free port and start the proxy
 * thread, forwarding to 127.0.0.1:target_port (1..65535; it need not accept
 * yet: connections made while it does not are closed and counted as failed).
 * Returns FERRY_OK with *out set, or FERRY_ERR_INVAL, FERRY_ERR_NOMEM,
 * FERRY_ERR_STATE; *out is NULL then.
 */
int test_proxy_start(struct test_proxy **out, int target_port);

/* "tcp://127.0.0.1:PORT" of the proxy (valid until destroy). */
const char *test_proxy_uri(const struct test_proxy *p);

/* The proxy's listening port. */
int test_proxy_port(const struct test_proxy *p);

/* test_proxy_set - change the mode (see above). Returns FERRY_OK once applied. */
int test_proxy_set(struct test_proxy *p, enum test_proxy_mode mode);

/*
 * test_proxy_cut - close every connection open now, both sides. Returns
 * FERRY_OK once they are closed.
 */
int test_proxy_cut(struct test_proxy *p);

/* test_proxy_set_delay - hold each chunk read from now on ms milliseconds (0: none). */
int test_proxy_set_delay(struct test_proxy *p, unsigned ms);

/* test_proxy_set_fragment - forward every byte with its own write (true) or not. */
int test_proxy_set_fragment(struct test_proxy *p, bool on);

/* test_proxy_heal - PASS, no delay, no fragmenting (see above). */
int test_proxy_heal(struct test_proxy *p);

/*
 * test_proxy_get_stats - copy the counters, current as of the call: the
 * proxy thread first finishes its round, so every byte a peer has received
 * before the call is counted. FERRY_OK (or an error of the wait; *out is
 * then the latest counters published).
 */
int test_proxy_get_stats(struct test_proxy *p, struct test_proxy_stats *out);

/* A condition on the counters, for test_proxy_wait_stats (called under the proxy's lock). */
typedef bool (*test_proxy_pred)(const struct test_proxy_stats *s, void *arg);

/*
 * test_proxy_wait_stats - wait until pred(counters, arg) holds, at most
 * timeout_ms; the counters are published at every round of the proxy
 * thread. FERRY_OK, FERRY_ERR_TIMEOUT, FERRY_ERR_STATE (the thread stopped).
 */
int test_proxy_wait_stats(struct test_proxy *p, test_proxy_pred pred, void *arg, int timeout_ms);

/* test_proxy_wait_accepted - wait until at least n connections were accepted in all. */
int test_proxy_wait_accepted(struct test_proxy *p, uint64_t n, int timeout_ms);

/* test_proxy_wait_active - wait until exactly n connections are open (e.g. 0 once peers left). */
int test_proxy_wait_active(struct test_proxy *p, uint64_t n, int timeout_ms);

/* test_proxy_destroy - close every socket, join the thread, free. NULL is a no-op. */
void test_proxy_destroy(struct test_proxy *p);

#endif

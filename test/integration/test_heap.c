/*
 * test_heap.c - suite "heap": the heap does not grow across 1,000 reconnect
 * cycles against a real mosquitto, measured with mallinfo2().
 *
 * Three kinds of cycle, each run HEAP_CYCLES times:
 *  - connect / QoS 1 publish / disconnect on one client (the clean path);
 *  - the connection is lost (a fault proxy cuts it) and auto-reconnect
 *    brings it back, with a QoS 1 publish per connection (the loss path);
 *  - create / connect / disconnect / destroy on a shared context (the
 *    whole lifetime of a client, its teardown included).
 * Heap in use (mallinfo2: uordblks + hblkhd, so a block that moves between
 * the heap and mmap is still counted once) is read after HEAP_WARMUP cycles
 * (caches, the result ring, arenas of the ferry threads are then in place)
 * and after the last cycle; the growth must stay below HEAP_BOUND. The
 * figures are printed.
 *
 * Under ASan or TSan (compile time) and valgrind (run time) mallinfo2 does
 * not see the replaced allocator: 200 cycles run then, without the heap
 * assertion; finding leaks is LeakSanitizer's and memcheck's job there.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "itest.h"
#include "suites.h"
#include "support/broker.h"
#include "support/proxy.h"
#include "unit/util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEAP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HEAP_SANITIZED 1
#endif
#endif
#ifndef HEAP_SANITIZED
#define HEAP_SANITIZED 0
#endif

enum {
	HEAP_WARMUP = 100,          /* cycles before the first reading */
	HEAP_CYCLES_FULL = 1000,    /* cycles when the heap is measured */
	HEAP_CYCLES_SANITIZED = 200, /* cycles under a sanitizer or valgrind */
	HEAP_BOUND = 64 * 1024,     /* bytes the heap may grow over the measured cycles */
	HEAP_OP_MS = 10000,         /* bound of every single wait */
};

/* One kind of cycle: runs cycle number i (0-based); returns FERRY_OK or an error. */
typedef int (*heap_cycle_fn)(void *arg, int i);

/* Whether mallinfo2 describes the allocator the program really uses. */
static bool heap_measurable(void)
{
	if (HEAP_SANITIZED)
		return false;
	const char *pre = getenv("LD_PRELOAD");
	return !(pre && strstr(pre, "vgpreload")); /* valgrind preloads its own malloc */
}

/* Bytes the program holds from malloc now. */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/*
 * Runs fn for every cycle, reads the heap after the warm-up and at the end,
 * prints the figures and asserts the bound when the heap is measurable.
 */
static void heap_run(const char *what, heap_cycle_fn fn, void *arg)
{
	bool measured = heap_measurable();
	int cycles = measured ? HEAP_CYCLES_FULL : HEAP_CYCLES_SANITIZED;
	size_t warm = 0, end = 0;
	for (int i = 0; i < cycles; i++) {
		int rc = fn(arg, i);
		if (rc) {
			fprintf(stderr, "heap %s: cycle %d failed: %s\n", what, i, ferry_strerror(rc));
			ASSERT_RC(rc, FERRY_OK);
			return;
		}
		if (i + 1 == HEAP_WARMUP)
			warm = heap_in_use();
	}
	end = heap_in_use();
	long growth = (long)end - (long)warm;
	if (!measured) {
		printf("\n  heap %s: %d cycles, not measured (sanitizer or valgrind) ", what, cycles);
		return;
	}
	printf("\n  heap %s: %zu B after %d cycles, %zu B after %d, growth %+ld B (bound %d) ",
	       what, warm, HEAP_WARMUP, end, cycles, growth, HEAP_BOUND);
	CU_ASSERT(growth < HEAP_BOUND);
}

/* A client of the recorder with fast reconnects (the loss cycles wait on them). */
static void heap_options(struct ferry_client_options *o, struct itest_rec *r, const char *uri,
                         const char *id)
{
	itest_options(o, r, uri, id);
	o->reconnect_min_ms = 1;
	o->reconnect_max_ms = 5;
	o->reconnect_stable_ms = 0;
	o->connect_timeout_ms = HEAP_OP_MS;
}

/* A QoS 1 publish, waited for (PUBACK). */
static int publish_acked(ferry_client *c, int i)
{
	char m[16];
	int n = snprintf(m, sizeof m, "%d", i);
	ferry_token t = 0;
	int rc = ferry_publish(c, "heap/x", m, (size_t)n, 1, false, NULL, &t);
	return rc ? rc : ferry_wait(c, t, HEAP_OP_MS);
}

/* A clean goodbye, waited for. */
static int disconnect_wait(ferry_client *c)
{
	ferry_token t = 0;
	int rc = ferry_disconnect(c, 1000, NULL, &t);
	return rc ? rc : ferry_wait(c, t, HEAP_OP_MS);
}

/* --- connect / publish / disconnect ------------------------------------------ */

static int cycle_connect(void *arg, int i)
{
	ferry_client *c = arg;
	int rc = itest_connect_wait(c);
	if (!rc)
		rc = publish_acked(c, i);
	if (!rc)
		rc = disconnect_wait(c);
	return rc;
}

static void test_connect_disconnect_cycles(void)
{
	struct test_broker b;
	int rc = test_broker_start(&b, NULL);
	ASSERT_RC(rc, FERRY_OK);
	struct itest_rec r;
	itest_rec_init(&r);
	struct ferry_client_options o;
	heap_options(&o, &r, test_broker_uri(&b), "heap-conn");
	o.clean_session = false;
	ferry_client *c = NULL;
	if (!rc)
		rc = ferry_client_create(&o, &c);
	ASSERT_RC(rc, FERRY_OK);
	if (!rc) {
		heap_run("connect/disconnect", cycle_connect, c);
		CU_ASSERT_EQUAL(r.delivered_failed, 0);
	}
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_broker_cleanup(&b);
}

/* --- connection lost / auto-reconnect ------------------------------------------- */

struct loss_ctx {
	ferry_client *c;
	struct itest_rec *r;
	struct test_proxy *px;
};

/* Connected for the (i+1)th time: publish, cut, wait for the loss and the reconnect. */
static int cycle_loss(void *arg, int i)
{
	struct loss_ctx *x = arg;
	int rc = publish_acked(x->c, i);
	if (!rc)
		rc = test_proxy_cut(x->px);
	if (!rc && !itest_wait_int(x->r, &x->r->lost, i + 1, HEAP_OP_MS))
		rc = FERRY_ERR_TIMEOUT;
	if (!rc && !itest_wait_int(x->r, &x->r->connected, i + 2, HEAP_OP_MS))
		rc = FERRY_ERR_TIMEOUT;
	return rc;
}

static void test_loss_reconnect_cycles(void)
{
	struct test_broker b;
	struct test_proxy *px = NULL;
	int rc = test_broker_start(&b, NULL);
	ASSERT_RC(rc, FERRY_OK);
	if (!rc)
		rc = test_proxy_start(&px, test_broker_port(&b));
	ASSERT_RC(rc, FERRY_OK);
	struct itest_rec r;
	itest_rec_init(&r);
	ferry_client *c = NULL;
	if (!rc) {
		struct ferry_client_options o;
		heap_options(&o, &r, test_proxy_uri(px), "heap-loss");
		o.clean_session = false;
		rc = ferry_client_create(&o, &c);
		ASSERT_RC(rc, FERRY_OK);
	}
	if (!rc) {
		rc = itest_connect_wait(c);
		ASSERT_RC(rc, FERRY_OK);
	}
	if (!rc) {
		struct loss_ctx x = {.c = c, .r = &r, .px = px};
		heap_run("loss/auto-reconnect", cycle_loss, &x);
		struct ferry_stats st;
		ASSERT_RC(ferry_client_stats(c, &st), FERRY_OK);
		CU_ASSERT_EQUAL(st.reconnects, (uint64_t)r.lost); /* every loss was followed by one */
		CU_ASSERT_EQUAL(r.delivered_failed, 0);
		ASSERT_RC(disconnect_wait(c), FERRY_OK);
	}
	ferry_client_destroy(c);
	itest_rec_free(&r);
	test_proxy_destroy(px);
	test_broker_cleanup(&b);
}

/* --- create / connect / disconnect / destroy -------------------------------------- */

struct life_ctx {
	ferry_context *ctx;
	struct itest_rec *r;
	const char *uri;
};

static int cycle_lifetime(void *arg, int i)
{
	struct life_ctx *x = arg;
	struct ferry_client_options o;
	heap_options(&o, x->r, x->uri, "heap-life");
	o.context = x->ctx;
	ferry_client *c = NULL;
	int rc = ferry_client_create(&o, &c);
	if (rc)
		return rc;
	rc = itest_connect_wait(c);
	if (!rc)
		rc = publish_acked(c, i);
	if (!rc)
		rc = disconnect_wait(c);
	ferry_client_destroy(c);
	return rc;
}

static void test_lifetime_cycles(void)
{
	struct test_broker b;
	int rc = test_broker_start(&b, NULL);
	ASSERT_RC(rc, FERRY_OK);
	ferry_context *ctx = NULL;
	if (!rc)
		rc = ferry_context_create(NULL, &ctx);
	ASSERT_RC(rc, FERRY_OK);
	struct itest_rec r;
	itest_rec_init(&r);
	if (!rc) {
		struct life_ctx x = {.ctx = ctx, .r = &r, .uri = test_broker_uri(&b)};
		heap_run("create/destroy", cycle_lifetime, &x);
		CU_ASSERT_EQUAL(r.delivered_failed, 0);
	}
	if (ctx)
		ASSERT_RC(ferry_context_destroy(ctx), FERRY_OK);
	itest_rec_free(&r);
	test_broker_cleanup(&b);
}

void register_heap_suite(void)
{
	CU_pSuite s = test_suite("heap");
	test_add(s, "connect/disconnect cycles: heap does not grow",
	         test_connect_disconnect_cycles);
	test_add(s, "connection lost and auto-reconnect cycles: heap does not grow",
	         test_loss_reconnect_cycles);
	test_add(s, "create/connect/disconnect/destroy cycles: heap does not grow",
	         test_lifetime_cycles);
}

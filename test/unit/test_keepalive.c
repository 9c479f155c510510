/*
 * test_keepalive.c - keepalive decisions (src/keepalive.h; MQTT 3.1.1 and 5.0
 * section 3.1.2.10) on a fake clock: a table of exact actions and deadlines,
 * and scenarios that drive the check the way the engine does (sleep until
 * the returned deadline, act, call again) to show when a dead link is
 * declared lost and that a healthy one never is.
 */
#include <stdio.h>

#include "keepalive.h"
#include "suites.h"
#include "util.h"

#define NEVER UINT64_MAX

struct ka_case {
	const char *what;
	uint64_t interval, timeout, last_sent, last_received, ping_sent_at;
	bool outstanding;
	uint64_t now;
	enum ferry_ka_action want;
	uint64_t want_deadline;
};

/* Interval 10 s unless said otherwise; the default ping timeout is then 5 s. */
/* clang-format off */
static const struct ka_case cases[] = {
	{"keepalive 0: never", 0, 0, 0, 0, 0, false, 1000000, FERRY_KA_NONE, NEVER},
	{"keepalive 0 with a ping outstanding", 0, 0, 0, 0, 0, true, 1000000, FERRY_KA_NONE, NEVER},
	{"just connected", 10000, 0, 1000, 1000, 0, false, 1000, FERRY_KA_NONE, 11000},
	{"idle, 1 ms before", 10000, 0, 1000, 1000, 0, false, 10999, FERRY_KA_NONE, 11000},
	{"idle for exactly the interval", 10000, 0, 1000, 1000, 0, false, 11000, FERRY_KA_SEND_PING,
	 16000},
	{"idle, late wakeup", 10000, 0, 1000, 1000, 0, false, 12345, FERRY_KA_SEND_PING, 17345},
	{"send-idle, receiving", 10000, 0, 1000, 9000, 0, false, 10999, FERRY_KA_NONE, 11000},
	{"send-idle for the interval", 10000, 0, 1000, 9000, 0, false, 11000, FERRY_KA_SEND_PING,
	 16000},
	{"receive-idle, sending", 10000, 0, 9000, 1000, 0, false, 10999, FERRY_KA_NONE, 11000},
	{"receive-idle for the interval", 10000, 0, 9000, 1000, 0, false, 11000, FERRY_KA_SEND_PING,
	 16000},
	{"both recent", 10000, 0, 5000, 7000, 0, false, 14999, FERRY_KA_NONE, 15000},
	{"ping out, 1 ms before loss", 10000, 0, 11000, 1000, 11000, true, 15999, FERRY_KA_NONE,
	 16000},
	{"ping out, timeout reached", 10000, 0, 11000, 1000, 11000, true, 16000, FERRY_KA_LOST, NEVER},
	{"ping out, waiting: no second ping", 10000, 0, 11000, 1000, 11000, true, 12000,
	 FERRY_KA_NONE, 16000},
	{"life after the ping extends", 10000, 0, 11000, 13000, 11000, true, 17999, FERRY_KA_NONE,
	 18000},
	{"life after the ping, then silence", 10000, 0, 11000, 13000, 11000, true, 18000,
	 FERRY_KA_LOST, NEVER},
	{"bytes before the ping do not extend", 10000, 0, 11000, 10500, 11000, true, 16000,
	 FERRY_KA_LOST, NEVER},
	{"explicit ping timeout", 10000, 2000, 11000, 1000, 11000, true, 12999, FERRY_KA_NONE, 13000},
	{"explicit ping timeout reached", 10000, 2000, 11000, 1000, 11000, true, 13000, FERRY_KA_LOST,
	 NEVER},
	{"explicit timeout after SEND_PING", 10000, 2000, 0, 0, 0, false, 10000, FERRY_KA_SEND_PING,
	 12000},
	{"odd interval: timeout rounds down", 3, 0, 0, 0, 0, true, 0, FERRY_KA_NONE, 1},
	{"deadline saturates", 10000, 0, NEVER - 5, NEVER - 5, 0, false, NEVER - 5, FERRY_KA_NONE,
	 NEVER},
	{"loss deadline saturates", 10000, 0, NEVER - 5, NEVER - 5, NEVER - 5, true, NEVER - 1,
	 FERRY_KA_NONE, NEVER},
	{"1.5 x keepalive of 60 s", 60000, 0, 60000, 0, 60000, true, 90000, FERRY_KA_LOST, NEVER},
};
/* clang-format on */

static void test_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct ka_case *c = &cases[i];
		struct ferry_ka_state ka = {
		    .interval_ms = c->interval,
		    .ping_timeout_ms = c->timeout,
		    .last_sent = c->last_sent,
		    .last_received = c->last_received,
		    .ping_sent_at = c->ping_sent_at,
		    .ping_outstanding = c->outstanding,
		};
		uint64_t next = 12345;
		enum ferry_ka_action got = ferry__keepalive_check(&ka, c->now, &next);
		char msg[256];
		snprintf(msg, sizeof msg, "%s: action %d deadline %llu, expected %d and %llu",
		         c->what, (int)got, (unsigned long long)next, (int)c->want,
		         (unsigned long long)c->want_deadline);
		CU_assertImplementation(got == c->want && next == c->want_deadline, __LINE__, msg,
		                        __FILE__, "", CU_FALSE);
	}
}

/*
 * The engine's loop on a fake clock from t0: it wakes at each deadline, acts,
 * and records what happened. `resp_after` is how long the broker takes to
 * answer a ping (0: it never answers, the link is dead); `publish_at` is a
 * time at which the application sends something (0: never).
 */
struct run {
	uint64_t pings[8];
	int npings;
	uint64_t lost_at; /* 0: not lost by the end */
	int wakeups;
};

static struct run drive(uint64_t t0, uint64_t interval, uint64_t resp_after, uint64_t publish_at,
                        uint64_t until)
{
	struct ferry_ka_state ka = {.interval_ms = interval, .last_sent = t0, .last_received = t0};
	struct run r = {.npings = 0};
	uint64_t now = t0, resp_at = NEVER;
	while (now <= until && r.wakeups < 100) {
		uint64_t next;
		r.wakeups++;
		enum ferry_ka_action a = ferry__keepalive_check(&ka, now, &next);
		if (a == FERRY_KA_LOST) {
			r.lost_at = now;
			break;
		}
		if (a == FERRY_KA_SEND_PING) {
			if (r.npings < 8)
				r.pings[r.npings] = now;
			r.npings++;
			ka.ping_outstanding = true;
			ka.ping_sent_at = ka.last_sent = now;
			resp_at = resp_after ? now + resp_after : NEVER;
			continue; /* call again at once, as the engine does after acting */
		}
		/* Sleep until the deadline, unless an event comes first. */
		uint64_t wake = next;
		if (publish_at > now && publish_at < wake)
			wake = publish_at;
		if (resp_at < wake)
			wake = resp_at;
		now = wake;
		if (now == publish_at)
			ka.last_sent = now;
		if (now == resp_at) {
			ka.last_received = now;
			ka.ping_outstanding = false;
			resp_at = NEVER;
		}
	}
	return r;
}

/* A link dead from t0 is declared lost at t0 + 1.5 x keepalive, after one ping. */
static void test_dead_link(void)
{
	struct run r = drive(50000, 10000, 0, 0, 200000);
	CU_ASSERT_EQUAL(r.npings, 1);
	CU_ASSERT_EQUAL(r.pings[0], 60000);
	CU_ASSERT_EQUAL(r.lost_at, 65000);
	CU_ASSERT(r.wakeups <= 4); /* no polling: one wakeup per deadline */
}

/* Our own traffic on a dead link does not postpone the verdict. */
static void test_dead_link_while_sending(void)
{
	struct run r = drive(50000, 10000, 0, 57000, 200000);
	CU_ASSERT_EQUAL(r.npings, 1);
	CU_ASSERT_EQUAL(r.pings[0], 60000); /* receive-idle since 50000 */
	CU_ASSERT_EQUAL(r.lost_at, 65000);
}

/* A broker that answers every ping in 300 ms keeps the link alive; one ping per interval. */
static void test_healthy_link(void)
{
	struct run r = drive(0, 10000, 300, 0, 45000);
	CU_ASSERT_EQUAL(r.lost_at, 0);
	CU_ASSERT_EQUAL(r.npings, 4);
	CU_ASSERT_EQUAL(r.pings[0], 10000);
	CU_ASSERT_EQUAL(r.pings[1], 20000);
	CU_ASSERT_EQUAL(r.pings[3], 40000);
}

/* A broker slower than the ping timeout is declared lost. */
static void test_slow_pingresp(void)
{
	struct run r = drive(0, 10000, 5001, 0, 45000);
	CU_ASSERT_EQUAL(r.npings, 1);
	CU_ASSERT_EQUAL(r.lost_at, 15000);
	r = drive(0, 10000, 4999, 0, 45000);
	CU_ASSERT_EQUAL(r.lost_at, 0);
}

void register_keepalive_suite(void)
{
	CU_pSuite s = test_suite("keepalive");
	test_add(s, "decision table with exact deadlines", test_table);
	test_add(s, "dead link lost at 1.5 x keepalive", test_dead_link);
	test_add(s, "dead link lost while we send", test_dead_link_while_sending);
	test_add(s, "healthy link pings every interval", test_healthy_link);
	test_add(s, "PINGRESP later than the timeout", test_slow_pingresp);
}

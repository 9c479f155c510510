/* test_backoff.c - reconnect delays with fixed "random" values. */
#include "backoff.h"
#include "suites.h"
#include "util.h"

static void test_grows_exponentially_within_bounds(void)
{
	struct ferry_backoff b = {.min_ms = 100, .max_ms = 5000, .stable_ms = 10000};
	/* With the largest random value each delay is its ceiling. */
	uint64_t want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		uint64_t top = ferry__backoff_next(&b, UINT64_MAX - (UINT64_MAX % (want[i] - 100 + 1)) - 1, false);
		CU_ASSERT_EQUAL(top, want[i]);
	}
	CU_ASSERT_EQUAL(b.attempt, 9);
}

static void test_full_jitter_covers_the_range(void)
{
	struct ferry_backoff b = {.min_ms = 100, .max_ms = 5000, .stable_ms = 10000};
	ferry__backoff_next(&b, 0, false);
	ferry__backoff_next(&b, 0, false);
	ferry__backoff_next(&b, 0, false); /* third attempt: ceiling 400 */
	struct ferry_backoff c = b;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint64_t r = 0; r < 1000; r++) {
		struct ferry_backoff d = c;
		uint64_t v = ferry__backoff_next(&d, r * 7919u, false);
		CU_ASSERT(v >= 100 && v <= 800);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	CU_ASSERT_EQUAL(lo, 100); /* never below the minimum */
	CU_ASSERT_EQUAL(hi, 800); /* reaches the fourth ceiling */
}

static void test_hard_gives_maximum(void)
{
	struct ferry_backoff b = {.min_ms = 100, .max_ms = 5000, .stable_ms = 10000};
	CU_ASSERT_EQUAL(ferry__backoff_next(&b, 0, true), 5000);
	CU_ASSERT_EQUAL(ferry__backoff_next(&b, 12345, true), 5000);
}

static void test_reset_only_after_stable_connection(void)
{
	struct ferry_backoff b = {.min_ms = 100, .max_ms = 5000, .stable_ms = 10000};
	for (int i = 0; i < 5; i++)
		ferry__backoff_next(&b, 0, false);
	CU_ASSERT_TRUE(ferry__backoff_connection_ended(&b, 1000, 1000 + 9999)); /* short */
	CU_ASSERT_EQUAL(b.attempt, 5);
	CU_ASSERT_FALSE(ferry__backoff_connection_ended(&b, 1000, 1000 + 10000)); /* stable */
	CU_ASSERT_EQUAL(b.attempt, 0);
	CU_ASSERT_EQUAL(ferry__backoff_next(&b, UINT64_MAX, false), 100);
}

static void test_degenerate_bounds(void)
{
	struct ferry_backoff b = {.min_ms = 0, .max_ms = 0, .stable_ms = 0};
	CU_ASSERT_EQUAL(ferry__backoff_next(&b, 99, false), 1);
	struct ferry_backoff m = {.min_ms = 500, .max_ms = 100};
	CU_ASSERT_EQUAL(ferry__backoff_next(&m, 99, false), 500);
	struct ferry_backoff big = {.min_ms = 1000, .max_ms = UINT64_MAX / 2, .attempt = UINT32_MAX - 1};
	uint64_t v = ferry__backoff_next(&big, 0, false); /* no overflow, no long loop */
	CU_ASSERT_EQUAL(v, 1000);
	CU_ASSERT_EQUAL(big.attempt, UINT32_MAX);
}

void register_backoff_suite(void)
{
	CU_pSuite s = test_suite("backoff");
	test_add(s, "grows exponentially within bounds", test_grows_exponentially_within_bounds);
	test_add(s, "full jitter covers the range", test_full_jitter_covers_the_range);
	test_add(s, "hard gives the maximum", test_hard_gives_maximum);
	test_add(s, "reset only after a stable connection", test_reset_only_after_stable_connection);
	test_add(s, "degenerate bounds", test_degenerate_bounds);
}

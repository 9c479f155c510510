/*
 * clock.h - the monotonic clock and a short sleep, for the test support
 * code and the tests (header only: static inline, no state).
 *
 * test_now_ms: CLOCK_MONOTONIC in milliseconds. test_nap_ms: sleeps ms
 * milliseconds (resumed after a signal), for polling loops that check a
 * condition between naps within a bounded wait, never to "wait and hope".
 */
#ifndef FERRY_TEST_CLOCK_H
#define FERRY_TEST_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline int64_t test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void test_nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

#endif

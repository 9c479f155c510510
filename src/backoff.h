/*
 * backoff.h - reconnect delays, pure: exponential growth with full jitter
 * between a minimum and a maximum, a reset only after a connection stayed up
 * long enough, and a hard (maximum) delay for refusals and takeovers.
 *
 * No clock and no random source of its own: time and randomness are
 * parameters, so the decisions are testable with fixed values.
 */
#ifndef FERRY_BACKOFF_H
#define FERRY_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

struct ferry_backoff {
	uint64_t min_ms;    /* first delay's lower bound, > 0 */
	uint64_t max_ms;    /* cap, >= min_ms */
	uint64_t stable_ms; /* a connection up this long resets the attempt count */
	uint32_t attempt;   /* failed attempts since the last stable connection */
};

/*
 * ferry__backoff_next - the delay before the next attempt, and count it.
 * The delay is min_ms + r mod (ceiling - min_ms + 1) where ceiling =
 * min(max_ms, min_ms * 2^attempt): exponential growth, full jitter above the
 * minimum. `random` is any 64-bit random value. `hard` (a refusal or a
 * takeover) gives max_ms.
 */
uint64_t ferry__backoff_next(struct ferry_backoff *b, uint64_t random, bool hard);

/*
 * ferry__backoff_connection_ended - a connection that was accepted at
 * `connected_at` ended at `now`. Resets the attempt count when it lasted at
 * least stable_ms; returns true when it was short-lived (under stable_ms).
 */
bool ferry__backoff_connection_ended(struct ferry_backoff *b, uint64_t connected_at, uint64_t now);

#endif

/*
 * keepalive.c - keepalive decisions (rules in keepalive.h).
 *
 * Decisions at the boundary: an action is due at its deadline exactly
 * (now >= deadline). Sums saturate at UINT64_MAX instead of wrapping.
 * After FERRY_KA_SEND_PING, *next_deadline is now + ping timeout: the moment
 * the link is lost if the caller sends the ping now and nothing arrives.
 * After FERRY_KA_LOST it is UINT64_MAX: the connection is over.
 * The default ping timeout is interval / 2 (rounded down).
 */
#include "keepalive.h"

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t ping_timeout(const struct ferry_ka_state *ka)
{
	return ka->ping_timeout_ms ? ka->ping_timeout_ms : ka->interval_ms / 2u;
}

enum ferry_ka_action ferry__keepalive_check(const struct ferry_ka_state *ka, uint64_t now,
                                            uint64_t *next_deadline)
{
	if (ka->interval_ms == 0) {
		*next_deadline = UINT64_MAX;
		return FERRY_KA_NONE;
	}
	if (ka->ping_outstanding) {
		uint64_t life =
		    ka->ping_sent_at > ka->last_received ? ka->ping_sent_at : ka->last_received;
		uint64_t lost_at = sat_add(life, ping_timeout(ka));
		if (now >= lost_at) {
			*next_deadline = UINT64_MAX;
			return FERRY_KA_LOST;
		}
		*next_deadline = lost_at;
		return FERRY_KA_NONE;
	}
	uint64_t idle_since = ka->last_sent < ka->last_received ? ka->last_sent : ka->last_received;
	uint64_t ping_at = sat_add(idle_since, ka->interval_ms);
	if (now >= ping_at) {
		*next_deadline = sat_add(now, ping_timeout(ka));
		return FERRY_KA_SEND_PING;
	}
	*next_deadline = ping_at;
	return FERRY_KA_NONE;
}

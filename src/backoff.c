/* backoff.c - reconnect delays (see backoff.h). */
#include "backoff.h"

uint64_t ferry__backoff_next(struct ferry_backoff *b, uint64_t random, bool hard)
{
	uint64_t min = b->min_ms ? b->min_ms : 1;
	uint64_t max = b->max_ms >= min ? b->max_ms : min;
	if (b->attempt < UINT32_MAX)
		b->attempt++;
	if (hard)
		return max;
	uint64_t ceiling = min;
	for (uint32_t i = 1; i < b->attempt && ceiling < max; i++)
		ceiling = ceiling > max / 2 ? max : ceiling * 2;
	if (ceiling > max)
		ceiling = max;
	return min + random % (ceiling - min + 1);
}

bool ferry__backoff_connection_ended(struct ferry_backoff *b, uint64_t connected_at, uint64_t now)
{
	bool stable = now >= connected_at && now - connected_at >= b->stable_ms;
	if (stable)
		b->attempt = 0;
	return !stable;
}

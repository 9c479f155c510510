/*
 * store.c - what every store shares: freeing one (see ferry/store.h) and
 * the checks of store_common.h.
 */
#include <stdlib.h>

#include "store_common.h"

void ferry_store_free(struct ferry_store *s)
{
	if (!s)
		return;
	if (s->ops && s->ops->close)
		s->ops->close(s->impl);
	free(s);
}

bool ferry__store_changes_valid(const struct ferry_store_change *changes, size_t n)
{
	if (!changes || n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct ferry_store_change *ch = &changes[i];
		bool needs_id = ch->state == FERRY_STORE_SENT || ch->state == FERRY_STORE_RELEASED;
		if (ch->token == 0 || (!needs_id && ch->state != FERRY_STORE_ACKED) ||
		    (needs_id && ch->packet_id == 0))
			return false;
	}
	return true;
}

/*
 * store.c - what every store shares: freeing one (see ferry/store.h).
 */
#include <stdlib.h>

#include <ferry/store.h>

void ferry_store_free(struct ferry_store *s)
{
	if (!s)
		return;
	if (s->ops && s->ops->close)
		s->ops->close(s->impl);
	free(s);
}

/* buf.c - growable byte buffer with a hard maximum (see buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "ferry/error.h"

void ferry__buf_init(struct ferry_buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void ferry__buf_free(struct ferry_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

uint8_t *ferry__buf_reserve(struct ferry_buf *b, size_t n)
{
	size_t used = b->len - b->off;
	if (n > b->max || used > b->max - n)
		return NULL;
	if (b->cap - b->len >= n)
		return b->p + b->len;
	if (b->off && b->cap - used >= n) {
		memmove(b->p, b->p + b->off, used);
		b->off = 0;
		b->len = used;
		return b->p + b->len;
	}
	size_t cap = b->cap ? b->cap : 256; /* small first: thousands of idle clients each keep one */
	while (cap < used + n)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	uint8_t *np = malloc(cap);
	if (!np)
		return NULL;
	if (used)
		memcpy(np, b->p + b->off, used);
	free(b->p);
	b->p = np;
	b->cap = cap;
	b->off = 0;
	b->len = used;
	return b->p + b->len;
}

int ferry__buf_append(struct ferry_buf *b, const void *p, size_t n)
{
	if (n > b->max || ferry__buf_used(b) > b->max - n)
		return FERRY_ERR_QUEUE_FULL;
	uint8_t *dst = ferry__buf_reserve(b, n);
	if (!dst)
		return FERRY_ERR_NOMEM;
	if (n)
		memcpy(dst, p, n);
	ferry__buf_commit(b, n);
	return FERRY_OK;
}

void ferry__buf_consume(struct ferry_buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void ferry__buf_clear(struct ferry_buf *b)
{
	b->off = b->len = 0;
}

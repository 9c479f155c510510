/*
 * buf.h - a growable byte buffer with a hard maximum, consumed from the
 * front: bytes are appended at the end and taken from `off`.
 *
 * Ownership: the buffer owns its memory (ferry__buf_free releases it).
 * Not thread-safe: each buffer belongs to one thread or one lock.
 */
#ifndef FERRY_BUF_H
#define FERRY_BUF_H

#include <stddef.h>
#include <stdint.h>

struct ferry_buf {
	uint8_t *p;
	size_t off; /* first unconsumed byte */
	size_t len; /* end of the data */
	size_t cap; /* allocated */
	size_t max; /* cap never grows past this */
};

void ferry__buf_init(struct ferry_buf *b, size_t max);
void ferry__buf_free(struct ferry_buf *b);
/* Bytes not yet consumed. */
static inline size_t ferry__buf_used(const struct ferry_buf *b)
{
	return b->len - b->off;
}
/*
 * ferry__buf_reserve - make room for n more bytes at the end (compacting or
 * growing); returns a pointer to write them to, or NULL when that would pass
 * the maximum or memory is short. Call ferry__buf_commit(b, n) after writing.
 */
uint8_t *ferry__buf_reserve(struct ferry_buf *b, size_t n);
static inline void ferry__buf_commit(struct ferry_buf *b, size_t n)
{
	b->len += n;
}
/* Appends n bytes; FERRY_OK or FERRY_ERR_NOMEM / FERRY_ERR_QUEUE_FULL (over max). */
int ferry__buf_append(struct ferry_buf *b, const void *p, size_t n);
/* Marks n bytes from the front as consumed; empties cheaply when all are. */
void ferry__buf_consume(struct ferry_buf *b, size_t n);
/* Drops everything (keeps the memory). */
void ferry__buf_clear(struct ferry_buf *b);

#endif

/*
 * cursor.h - bounds-checked reading and writing of MQTT wire primitives.
 *
 * Pure: no I/O, no allocation, no clock. A reader is a pair (p, end) over a
 * complete buffer the caller owns; every read checks the remaining length first
 * and fails with FERRY_ERR_TRUNCATED instead of reading past `end`. A failed
 * read leaves the cursor where it was. Views returned (ferry_bytes) point into
 * the caller's buffer and live as long as it does.
 *
 * A writer is a pair (p, end) over the caller's output buffer. The encoder
 * always computes the exact size first, so writes never fail in practice; they
 * still check and report FERRY_ERR_BUFFER_SIZE rather than overrun.
 */
#ifndef FERRY_CURSOR_H
#define FERRY_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

/* A borrowed view of bytes: a UTF-8 string (not NUL-terminated) or binary data. */
struct ferry_bytes {
	const uint8_t *p;
	size_t len;
};

/* Makes a view of a NUL-terminated C string (NULL gives an empty view). */
struct ferry_bytes ferry__bytes_str(const char *s);

struct ferry_cursor {
	const uint8_t *p;   /* next unread byte */
	const uint8_t *end; /* one past the last readable byte */
};

/* Largest value a variable byte integer can hold (4 bytes). */
#define FERRY_VARINT_MAX 268435455u

static inline void ferry__cur_init(struct ferry_cursor *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->end = p + len;
}

static inline size_t ferry__cur_left(const struct ferry_cursor *c)
{
	return (size_t)(c->end - c->p);
}

/* Each reader returns FERRY_OK or FERRY_ERR_TRUNCATED (the cursor is unchanged on error). */
int ferry__cur_u8(struct ferry_cursor *c, uint8_t *out);
int ferry__cur_u16(struct ferry_cursor *c, uint16_t *out);
int ferry__cur_u32(struct ferry_cursor *c, uint32_t *out);
/* Takes n raw bytes as a view. */
int ferry__cur_take(struct ferry_cursor *c, size_t n, struct ferry_bytes *out);
/* Two-byte length then that many bytes (MQTT Binary Data). */
int ferry__cur_binary(struct ferry_cursor *c, struct ferry_bytes *out);
/*
 * Two-byte length then a UTF-8 string, validated per MQTT (well-formed, no
 * surrogates, no U+0000). Errors: FERRY_ERR_TRUNCATED, FERRY_ERR_UTF8,
 * FERRY_ERR_UTF8_NUL.
 */
int ferry__cur_utf8(struct ferry_cursor *c, struct ferry_bytes *out);
/*
 * Variable byte integer. Errors: FERRY_ERR_TRUNCATED (ran out of bytes),
 * FERRY_ERR_VARINT (a fifth byte would be needed), and, when `minimal` is true,
 * FERRY_ERR_VARINT_NON_MINIMAL (e.g. 80 00 for 0, as MQTT 5 forbids).
 */
int ferry__cur_varint(struct ferry_cursor *c, bool minimal, uint32_t *out);

/* Size in bytes of v as a variable byte integer (1..4); v <= FERRY_VARINT_MAX. */
size_t ferry__varint_size(uint32_t v);

struct ferry_writer {
	uint8_t *p;   /* next byte to write */
	uint8_t *end; /* one past the last writable byte */
};

static inline void ferry__wr_init(struct ferry_writer *w, uint8_t *p, size_t cap)
{
	w->p = p;
	w->end = p + cap;
}

/* Each writer returns FERRY_OK or FERRY_ERR_BUFFER_SIZE (nothing written on error). */
int ferry__wr_u8(struct ferry_writer *w, uint8_t v);
int ferry__wr_u16(struct ferry_writer *w, uint16_t v);
int ferry__wr_u32(struct ferry_writer *w, uint32_t v);
int ferry__wr_varint(struct ferry_writer *w, uint32_t v);
int ferry__wr_raw(struct ferry_writer *w, const void *p, size_t n);
/* Two-byte length prefix then the bytes; FERRY_ERR_STRING_TOO_LONG over 65,535. */
int ferry__wr_binary(struct ferry_writer *w, struct ferry_bytes b);

#endif

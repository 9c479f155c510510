/*
 * cursor.c - bounds-checked reading and writing of MQTT wire primitives
 * (MQTT 5.0 section 1.5; the same encodings in 3.1 and 3.1.1).
 */
#include "cursor.h"

#include <string.h>

#include "utf8.h"

struct ferry_bytes ferry__bytes_str(const char *s)
{
	struct ferry_bytes b = {(const uint8_t *)s, s ? strlen(s) : 0};
	return b;
}

int ferry__cur_u8(struct ferry_cursor *c, uint8_t *out)
{
	if (ferry__cur_left(c) < 1)
		return FERRY_ERR_TRUNCATED;
	*out = *c->p++;
	return FERRY_OK;
}

int ferry__cur_u16(struct ferry_cursor *c, uint16_t *out)
{
	if (ferry__cur_left(c) < 2)
		return FERRY_ERR_TRUNCATED;
	*out = (uint16_t)((unsigned)c->p[0] << 8 | c->p[1]);
	c->p += 2;
	return FERRY_OK;
}

int ferry__cur_u32(struct ferry_cursor *c, uint32_t *out)
{
	if (ferry__cur_left(c) < 4)
		return FERRY_ERR_TRUNCATED;
	*out = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
	c->p += 4;
	return FERRY_OK;
}

int ferry__cur_take(struct ferry_cursor *c, size_t n, struct ferry_bytes *out)
{
	if (ferry__cur_left(c) < n)
		return FERRY_ERR_TRUNCATED;
	out->p = c->p;
	out->len = n;
	c->p += n;
	return FERRY_OK;
}

int ferry__cur_binary(struct ferry_cursor *c, struct ferry_bytes *out)
{
	struct ferry_cursor save = *c;
	uint16_t n;
	int rc = ferry__cur_u16(c, &n);
	if (rc == FERRY_OK)
		rc = ferry__cur_take(c, n, out);
	if (rc)
		*c = save;
	return rc;
}

int ferry__cur_utf8(struct ferry_cursor *c, struct ferry_bytes *out)
{
	struct ferry_cursor save = *c;
	int rc = ferry__cur_binary(c, out);
	if (rc == FERRY_OK)
		rc = ferry__utf8_check(out->p, out->len);
	if (rc)
		*c = save;
	return rc;
}

int ferry__cur_varint(struct ferry_cursor *c, bool minimal, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;
	for (i = 0; i < 4; i++) {
		if (ferry__cur_left(c) <= i)
			return FERRY_ERR_TRUNCATED;
		uint8_t b = c->p[i];
		v |= (uint32_t)(b & 0x7Fu) << (7 * i);
		if (!(b & 0x80u)) {
			/* A last byte of 0 after the first means a shorter form existed. */
			if (minimal && i > 0 && b == 0)
				return FERRY_ERR_VARINT_NON_MINIMAL;
			c->p += i + 1;
			*out = v;
			return FERRY_OK;
		}
	}
	return FERRY_ERR_VARINT;
}

size_t ferry__varint_size(uint32_t v)
{
	if (v < 128u)
		return 1;
	if (v < 16384u)
		return 2;
	if (v < 2097152u)
		return 3;
	return 4;
}

int ferry__wr_u8(struct ferry_writer *w, uint8_t v)
{
	if (w->end - w->p < 1)
		return FERRY_ERR_BUFFER_SIZE;
	*w->p++ = v;
	return FERRY_OK;
}

int ferry__wr_u16(struct ferry_writer *w, uint16_t v)
{
	if (w->end - w->p < 2)
		return FERRY_ERR_BUFFER_SIZE;
	w->p[0] = (uint8_t)(v >> 8);
	w->p[1] = (uint8_t)v;
	w->p += 2;
	return FERRY_OK;
}

int ferry__wr_u32(struct ferry_writer *w, uint32_t v)
{
	if (w->end - w->p < 4)
		return FERRY_ERR_BUFFER_SIZE;
	w->p[0] = (uint8_t)(v >> 24);
	w->p[1] = (uint8_t)(v >> 16);
	w->p[2] = (uint8_t)(v >> 8);
	w->p[3] = (uint8_t)v;
	w->p += 4;
	return FERRY_OK;
}

int ferry__wr_varint(struct ferry_writer *w, uint32_t v)
{
	if (v > FERRY_VARINT_MAX)
		return FERRY_ERR_PACKET_TOO_LARGE;
	size_t n = ferry__varint_size(v);
	if ((size_t)(w->end - w->p) < n)
		return FERRY_ERR_BUFFER_SIZE;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)(v & 0x7Fu);
		v >>= 7;
		w->p[i] = (uint8_t)(i + 1 < n ? (b | 0x80u) : b);
	}
	w->p += n;
	return FERRY_OK;
}

int ferry__wr_raw(struct ferry_writer *w, const void *p, size_t n)
{
	if ((size_t)(w->end - w->p) < n)
		return FERRY_ERR_BUFFER_SIZE;
	if (n)
		memcpy(w->p, p, n);
	w->p += n;
	return FERRY_OK;
}

int ferry__wr_binary(struct ferry_writer *w, struct ferry_bytes b)
{
	if (b.len > 65535u)
		return FERRY_ERR_STRING_TOO_LONG;
	if ((size_t)(w->end - w->p) < 2 + b.len)
		return FERRY_ERR_BUFFER_SIZE;
	ferry__wr_u16(w, (uint16_t)b.len);
	return ferry__wr_raw(w, b.p, b.len);
}

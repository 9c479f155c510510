/*
 * frame.c - incremental frame reader (see frame.h for the contract).
 *
 * States (derived from the fields, not stored separately):
 *   FAILED   error != FERRY_OK: every call returns error, consumes nothing.
 *   HEADER   need == 0: hdr[0..hdr_len) holds the type byte and the length
 *            bytes seen so far (hdr_len 0..4; a fifth byte completes or fails).
 *   BODY     need > 0: the frame is need bytes long; buf[0..have) holds its
 *            first bytes (the fixed header copied from hdr, then the body).
 * Transitions, all in ferry__frame_next:
 *   HEADER -> HEADER   one more header byte, length not yet complete
 *   HEADER -> BODY     length complete, frame within max_packet, buffer sized
 *   HEADER -> HEADER   length complete and remaining length 0: the frame is
 *                      hdr itself, returned at once without touching buf
 *   BODY   -> HEADER   have == need: the frame in buf is returned
 *   any    -> FAILED   bad length, frame too large, allocation failure
 *   FAILED -> HEADER   ferry__frame_reader_reset only
 * A fast path skips all copying when the reader is idle (HEADER with
 * hdr_len 0) and the chunk holds a whole frame: the frame is a view into
 * the chunk.
 *
 * Invariants: cap <= max_packet (buf is only ever sized to a frame that passed
 * the size check); have <= need; need == 0 implies have == 0.
 *
 * The reader reads lengths only; it never judges packet types or flags (the
 * decoder does), so a stream with a reserved type still frames correctly.
 */
#include "frame.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ferry/error.h"

/* header_scan result meaning "the remaining length is not complete yet". */
#define SCAN_MORE 1

/*
 * Looks at the n header bytes at h (type byte first). Returns SCAN_MORE when
 * more bytes are needed, FERRY_OK with *hlen (header bytes, 2..5) and *total
 * (whole frame) when the length is complete, or a reader error.
 */
static int header_scan(const struct ferry_frame_reader *r, const uint8_t *h, size_t n, size_t *hlen,
                       size_t *total)
{
	uint32_t rl = 0;
	for (size_t i = 1; i < n && i <= 4; i++) {
		uint8_t b = h[i];
		rl |= (uint32_t)(b & 0x7Fu) << (7 * (i - 1));
		if (b & 0x80u) {
			/* A fourth length byte that continues would need a fifth. */
			if (i == 4)
				return FERRY_ERR_VARINT;
			continue;
		}
		/* A final 0 after the first length byte: a shorter form existed. */
		if (r->minimal && i > 1 && b == 0)
			return FERRY_ERR_VARINT_NON_MINIMAL;
		*hlen = i + 1;
		*total = *hlen + (size_t)rl;
		if (*total > r->max_packet)
			return FERRY_ERR_PACKET_TOO_LARGE;
		return FERRY_OK;
	}
	return SCAN_MORE;
}

void ferry__frame_reader_init(struct ferry_frame_reader *r, uint32_t max_packet, bool minimal)
{
	assert(r != NULL);
	memset(r, 0, sizeof *r);
	if (max_packet == 0)
		max_packet = FERRY_PACKET_MAX;
	/* The smallest frame is 2 bytes; a lower limit would refuse everything. */
	if (max_packet < 2)
		max_packet = 2;
	r->max_packet = max_packet;
	r->minimal = minimal;
	r->error = FERRY_OK;
}

void ferry__frame_reader_free(struct ferry_frame_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
	ferry__frame_reader_reset(r);
}

void ferry__frame_reader_reset(struct ferry_frame_reader *r)
{
	assert(r != NULL);
	r->have = 0;
	r->need = 0;
	r->hdr_len = 0;
	memset(r->hdr, 0, sizeof r->hdr);
	r->error = FERRY_OK;
}

/*
 * Makes room for `want` bytes of the current frame (want <= r->need <=
 * max_packet). The buffer grows geometrically as bytes arrive, never past
 * the frame's size: a frame announced large but sent slowly (or never) costs
 * memory only for the bytes that came.
 */
static int reserve(struct ferry_frame_reader *r, size_t want)
{
	if (r->cap >= want)
		return FERRY_OK;
	size_t cap = r->cap ? r->cap : 256;
	while (cap < want)
		cap *= 2;
	if (cap > r->need)
		cap = r->need;
	uint8_t *nb = realloc(r->buf, cap);
	if (!nb)
		return FERRY_ERR_NOMEM;
	r->buf = nb;
	r->cap = cap;
	return FERRY_OK;
}

/*
 * HEADER state: takes header bytes from data one at a time until the length
 * is complete or data runs out. On completion either returns the 2-byte
 * frame held in hdr (remaining length 0) or enters BODY.
 */
static int read_header(struct ferry_frame_reader *r, const uint8_t *data, size_t len, size_t *used,
                       struct ferry_frame *frame, bool *complete)
{
	size_t hlen = 0, total = 0;
	int rc = SCAN_MORE;
	while (*used < len && rc == SCAN_MORE) {
		r->hdr[r->hdr_len++] = data[(*used)++];
		rc = header_scan(r, r->hdr, r->hdr_len, &hlen, &total);
	}
	if (rc == SCAN_MORE)
		return FERRY_OK;
	if (rc)
		return rc;
	if (total == hlen) {
		frame->data = r->hdr;
		frame->len = total;
		*complete = true;
		r->hdr_len = 0;
		return FERRY_OK;
	}
	r->need = total;
	size_t body = total - hlen, avail = len - *used;
	rc = reserve(r, hlen + (avail < body ? avail : body));
	if (rc) {
		r->need = 0;
		return rc;
	}
	memcpy(r->buf, r->hdr, hlen);
	r->have = hlen;
	r->hdr_len = 0;
	return FERRY_OK;
}

/* BODY state: copies what data holds of the body; returns the frame when whole. */
static int read_body(struct ferry_frame_reader *r, const uint8_t *data, size_t len, size_t *used,
                     struct ferry_frame *frame, bool *complete)
{
	size_t n = r->need - r->have;
	if (n > len - *used)
		n = len - *used;
	int rc = reserve(r, r->have + n);
	if (rc)
		return rc;
	memcpy(r->buf + r->have, data + *used, n);
	r->have += n;
	*used += n;
	if (r->have < r->need)
		return FERRY_OK;
	frame->data = r->buf;
	frame->len = r->need;
	*complete = true;
	r->have = 0;
	r->need = 0;
	return FERRY_OK;
}

/* Idle reader: returns a view of the chunk's first frame if it is all there. */
static int try_zero_copy(struct ferry_frame_reader *r, const uint8_t *data, size_t len,
                         size_t *used, struct ferry_frame *frame, bool *complete)
{
	size_t hlen = 0, total = 0;
	int rc = header_scan(r, data, len < 5 ? len : 5, &hlen, &total);
	if (rc == SCAN_MORE || (rc == FERRY_OK && total > len))
		return FERRY_OK; /* incomplete: the copying path takes over */
	if (rc)
		return rc;
	frame->data = data;
	frame->len = total;
	*complete = true;
	*used = total;
	return FERRY_OK;
}

int ferry__frame_next(struct ferry_frame_reader *r, const uint8_t *data, size_t len,
                      size_t *consumed, struct ferry_frame *frame, bool *complete)
{
	assert(r && consumed && frame && complete && (data || len == 0));
	size_t used = 0;
	int rc = r->error;
	*complete = false;
	if (rc == FERRY_OK && len > 0 && r->hdr_len == 0 && r->need == 0)
		rc = try_zero_copy(r, data, len, &used, frame, complete);
	if (rc == FERRY_OK && !*complete && r->need == 0)
		rc = read_header(r, data, len, &used, frame, complete);
	if (rc == FERRY_OK && !*complete && r->need > 0)
		rc = read_body(r, data, len, &used, frame, complete);
	r->error = rc;
	*consumed = used;
	return rc;
}

/*
 * frame.h - incremental frame reader: assembles complete MQTT packets from
 * byte chunks of any size (down to one byte at a time).
 *
 * Pure: no I/O, no clock. It allocates only its own assembly buffer, which
 * grows geometrically as a frame's bytes arrive, never beyond that frame's
 * size nor the configured maximum packet size: a frame whose announced size
 * exceeds the maximum is refused as soon as its remaining length is known,
 * before any of its body is buffered, and a large frame announced but not
 * (yet) sent costs no memory for the missing bytes.
 *
 * Zero copy: when a chunk holds a whole frame and nothing is buffered, the
 * frame returned is a view into the chunk.
 *
 * Ownership: the reader owns its buffer (ferry__frame_reader_free releases
 * it). A returned frame is valid until the next call on the reader or until
 * the caller's chunk is released, whichever comes first.
 *
 * States: HEADER (reading the type byte and up to 4 length bytes) ->
 * BODY (buffering remaining-length bytes) -> frame returned -> HEADER.
 * After an error the reader stays failed (every call returns the same error)
 * until ferry__frame_reader_reset.
 */
#ifndef FERRY_FRAME_H
#define FERRY_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ferry_frame_reader {
	uint8_t *buf;        /* assembly buffer (owned), NULL until needed */
	size_t cap;          /* allocated size of buf */
	size_t have;         /* bytes of the current frame held in buf */
	size_t need;         /* total frame size once known, else 0 */
	uint8_t hdr[5];      /* fixed header bytes seen so far */
	uint8_t hdr_len;
	uint32_t max_packet; /* whole-frame limit (>= 2) */
	bool minimal;        /* reject non-minimal remaining lengths (MQTT 5) */
	int error;           /* sticky error, FERRY_OK while healthy */
};

struct ferry_frame {
	const uint8_t *data; /* the whole frame: fixed header, length, body */
	size_t len;
};

/* max_packet: 0 = FERRY_PACKET_MAX. minimal: MQTT 5 shortest-form lengths. */
void ferry__frame_reader_init(struct ferry_frame_reader *r, uint32_t max_packet, bool minimal);
void ferry__frame_reader_free(struct ferry_frame_reader *r);
/* Forget any partial frame and error (for a new connection); keeps the buffer. */
void ferry__frame_reader_reset(struct ferry_frame_reader *r);

/*
 * ferry__frame_next - consume bytes from a chunk until one frame is complete
 * or the chunk is used up.
 * *consumed: how many bytes of data were used (always set).
 * *frame: set and true returned in *complete when a frame is ready.
 * Returns FERRY_OK, FERRY_ERR_VARINT (5-byte length), FERRY_ERR_VARINT_NON_MINIMAL,
 * FERRY_ERR_PACKET_TOO_LARGE, FERRY_ERR_NOMEM.
 * Call in a loop while bytes remain: each call returns at most one frame.
 */
int ferry__frame_next(struct ferry_frame_reader *r, const uint8_t *data, size_t len,
                      size_t *consumed, struct ferry_frame *frame, bool *complete);

#endif

/*
 * test_frame.c - the incremental frame reader (src/frame.h): frames come out
 * whole and byte-exact however the stream is cut, oversize and malformed
 * lengths are refused before any body is buffered, and errors are sticky.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "suites.h"
#include "util.h"

/* A stream of four frames: CONNACK, a PUBLISH with a 2-byte length, PINGRESP, SUBACK. */
static uint8_t stream[512];
static size_t stream_len;
static size_t frame_ends[4];

static void build_stream(void)
{
	size_t n = test_hex("20 02 00 00", stream, sizeof stream);
	frame_ends[0] = n;
	/* PUBLISH QoS 0, topic "a/b", 200-byte payload: remaining length 205 = C D 01. */
	n += test_hex("30 CD 01 00 03 61 2F 62", stream + n, sizeof stream - n);
	for (int i = 0; i < 200; i++)
		stream[n++] = (uint8_t)i;
	frame_ends[1] = n;
	n += test_hex("D0 00", stream + n, sizeof stream - n);
	frame_ends[2] = n;
	n += test_hex("90 03 00 07 01", stream + n, sizeof stream - n);
	frame_ends[3] = n;
	stream_len = n;
}

/* Frames collected by feed(): copies, because a frame lives only until the next call. */
struct got {
	uint8_t data[4][512];
	size_t len[4];
	size_t count;
};

/*
 * Feeds data to r in one call loop (as a receive thread would), copying out
 * every frame. Returns the reader's result; checks that consumption always
 * progresses and covers all bytes on success.
 */
static int feed(struct ferry_frame_reader *r, const uint8_t *data, size_t len, struct got *g)
{
	size_t off = 0;
	while (off < len) {
		size_t used = 12345;
		struct ferry_frame f = {NULL, 0};
		bool complete = false;
		int rc = ferry__frame_next(r, data + off, len - off, &used, &f, &complete);
		CU_ASSERT(used <= len - off);
		if (rc)
			return rc;
		CU_ASSERT_FATAL(used > 0 || complete);
		off += used;
		if (complete) {
			CU_ASSERT_FATAL(g->count < 4 && f.len <= sizeof g->data[0]);
			memcpy(g->data[g->count], f.data, f.len);
			g->len[g->count++] = f.len;
		}
	}
	return FERRY_OK;
}

static void assert_stream_frames(const struct got *g)
{
	CU_ASSERT_EQUAL_FATAL(g->count, 4);
	size_t start = 0;
	for (size_t i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(g->len[i], frame_ends[i] - start);
		CU_ASSERT(memcmp(g->data[i], stream + start, g->len[i]) == 0);
		start = frame_ends[i];
	}
}

static void test_split_everywhere(void)
{
	build_stream();
	for (size_t cut = 0; cut <= stream_len; cut++) {
		struct ferry_frame_reader r;
		struct got g = {.count = 0};
		ferry__frame_reader_init(&r, 0, true);
		ASSERT_RC(feed(&r, stream, cut, &g), FERRY_OK);
		ASSERT_RC(feed(&r, stream + cut, stream_len - cut, &g), FERRY_OK);
		assert_stream_frames(&g);
		CU_ASSERT_EQUAL(r.have, 0); /* nothing left half-read */
		ferry__frame_reader_free(&r);
	}
}

static void test_one_byte_at_a_time(void)
{
	build_stream();
	struct ferry_frame_reader r;
	struct got g = {.count = 0};
	ferry__frame_reader_init(&r, 0, true);
	for (size_t i = 0; i < stream_len; i++)
		ASSERT_RC(feed(&r, stream + i, 1, &g), FERRY_OK);
	assert_stream_frames(&g);
	ferry__frame_reader_free(&r);
}

/* Many frames in one chunk: each call returns one, as a view into the chunk. */
static void test_many_frames_one_chunk_zero_copy(void)
{
	build_stream();
	struct ferry_frame_reader r;
	ferry__frame_reader_init(&r, 0, true);
	size_t off = 0;
	for (size_t i = 0; i < 4; i++) {
		size_t used = 0;
		struct ferry_frame f = {NULL, 0};
		bool complete = false;
		ASSERT_RC(
		    ferry__frame_next(&r, stream + off, stream_len - off, &used, &f, &complete),
		    FERRY_OK);
		CU_ASSERT_FATAL(complete);
		CU_ASSERT(f.data == stream + off); /* zero copy: the chunk itself */
		CU_ASSERT_EQUAL(f.len, frame_ends[i] - off);
		CU_ASSERT_EQUAL(used, f.len);
		off += used;
	}
	CU_ASSERT_EQUAL(off, stream_len);
	CU_ASSERT_PTR_NULL(r.buf); /* nothing was ever buffered */
	ferry__frame_reader_free(&r);
}

/* A chunk holding one frame and half of the next: the first frame is a view. */
static void test_partial_tail(void)
{
	uint8_t in[16];
	size_t n = test_hex("D0 00 40 02 00", in, sizeof in);
	struct ferry_frame_reader r;
	struct ferry_frame f;
	bool complete = false;
	size_t used = 0;
	ferry__frame_reader_init(&r, 0, false);
	ASSERT_RC(ferry__frame_next(&r, in, n, &used, &f, &complete), FERRY_OK);
	CU_ASSERT(complete && f.data == in && f.len == 2 && used == 2);
	ASSERT_RC(ferry__frame_next(&r, in + 2, n - 2, &used, &f, &complete), FERRY_OK);
	CU_ASSERT(!complete && used == 3);
	uint8_t last = 0x09;
	ASSERT_RC(ferry__frame_next(&r, &last, 1, &used, &f, &complete), FERRY_OK);
	CU_ASSERT_FATAL(complete && used == 1 && f.len == 4);
	CU_ASSERT_STRING_EQUAL(test_tohex(f.data, f.len), "40 02 00 09");
	ferry__frame_reader_free(&r);
}

/* Feeds only the fixed header of an oversize frame: refused before any body. */
static void test_oversize_refused_at_header(void)
{
	uint8_t in[8];
	/* Remaining length 200 (C8 01): 203 bytes in all, limit 100. */
	size_t n = test_hex("30 C8 01", in, sizeof in);
	struct ferry_frame_reader r;
	struct ferry_frame f;
	bool complete = true;
	size_t used = 0;
	ferry__frame_reader_init(&r, 100, false);
	ASSERT_RC(ferry__frame_next(&r, in, n, &used, &f, &complete), FERRY_ERR_PACKET_TOO_LARGE);
	CU_ASSERT(!complete);
	CU_ASSERT_PTR_NULL(r.buf); /* nothing allocated for the refused body */
	ferry__frame_reader_free(&r);

	/* The same, one byte at a time: OK, OK, then refused on the last length byte. */
	ferry__frame_reader_init(&r, 100, false);
	ASSERT_RC(ferry__frame_next(&r, in, 1, &used, &f, &complete), FERRY_OK);
	ASSERT_RC(ferry__frame_next(&r, in + 1, 1, &used, &f, &complete), FERRY_OK);
	ASSERT_RC(ferry__frame_next(&r, in + 2, 1, &used, &f, &complete),
	          FERRY_ERR_PACKET_TOO_LARGE);
	CU_ASSERT_PTR_NULL(r.buf);
	ferry__frame_reader_free(&r);
}

static void test_five_byte_length(void)
{
	uint8_t in[8];
	size_t n = test_hex("30 FF FF FF FF 7F", in, sizeof in);
	struct ferry_frame_reader r;
	struct ferry_frame f;
	bool complete;
	size_t used;
	ferry__frame_reader_init(&r, 0, false);
	ASSERT_RC(ferry__frame_next(&r, in, n, &used, &f, &complete), FERRY_ERR_VARINT);
	ferry__frame_reader_free(&r);

	/* Byte by byte: the fourth length byte with its continuation bit is enough. */
	ferry__frame_reader_init(&r, 0, false);
	for (size_t i = 0; i < 4; i++)
		ASSERT_RC(ferry__frame_next(&r, in + i, 1, &used, &f, &complete), FERRY_OK);
	ASSERT_RC(ferry__frame_next(&r, in + 4, 1, &used, &f, &complete), FERRY_ERR_VARINT);
	CU_ASSERT_PTR_NULL(r.buf);
	ferry__frame_reader_free(&r);

	/* The largest 4-byte length is a valid length: only the size limit refuses it. */
	n = test_hex("30 FF FF FF 7F", in, sizeof in);
	ferry__frame_reader_init(&r, 1000, false);
	ASSERT_RC(ferry__frame_next(&r, in, n, &used, &f, &complete), FERRY_ERR_PACKET_TOO_LARGE);
	ferry__frame_reader_free(&r);
}

static void test_non_minimal_length(void)
{
	uint8_t in[8];
	size_t n = test_hex("C0 80 00", in, sizeof in);
	struct ferry_frame_reader r;
	struct ferry_frame f;
	bool complete = false;
	size_t used;
	ferry__frame_reader_init(&r, 0, true);
	ASSERT_RC(ferry__frame_next(&r, in, n, &used, &f, &complete), FERRY_ERR_VARINT_NON_MINIMAL);
	ferry__frame_reader_free(&r);

	/* 3.1.1 does not require the shortest form: the same bytes are one frame. */
	ferry__frame_reader_init(&r, 0, false);
	ASSERT_RC(ferry__frame_next(&r, in, n, &used, &f, &complete), FERRY_OK);
	CU_ASSERT(complete && f.len == 3 && used == 3);
	ferry__frame_reader_free(&r);

	/* 83 00 is 3 in two bytes: non-minimal, refused byte by byte too. */
	n = test_hex("20 83 00", in, sizeof in);
	ferry__frame_reader_init(&r, 0, true);
	ASSERT_RC(ferry__frame_next(&r, in, 2, &used, &f, &complete), FERRY_OK);
	ASSERT_RC(ferry__frame_next(&r, in + 2, 1, &used, &f, &complete),
	          FERRY_ERR_VARINT_NON_MINIMAL);
	ferry__frame_reader_free(&r);
}

/* A frame of exactly max_packet bytes (after limit - 1 bytes of it) passes; one more is refused. */
static void check_limit(uint32_t limit, size_t total, bool bytewise, int want)
{
	uint8_t *in = calloc(1, total);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	size_t rl = total - 3; /* totals here need a 2-byte length */
	in[0] = 0x30;
	in[1] = (uint8_t)(0x80u | (rl & 0x7Fu));
	in[2] = (uint8_t)(rl >> 7);
	in[4] = 1; /* topic length 1 */
	in[5] = 'a';
	struct ferry_frame_reader r;
	struct ferry_frame f = {NULL, 0};
	bool complete = false;
	size_t used = 0, off = 0;
	int rc = FERRY_OK;
	ferry__frame_reader_init(&r, limit, true);
	while (rc == FERRY_OK && off < total && !complete) {
		rc = ferry__frame_next(&r, in + off, bytewise ? 1 : total - off, &used, &f,
		                       &complete);
		off += used;
	}
	ASSERT_RC(rc, want);
	if (want == FERRY_OK) {
		CU_ASSERT(complete && f.len == total && off == total);
		CU_ASSERT(r.cap <= limit);
	} else {
		CU_ASSERT(off <= 3 && r.cap == 0);
	}
	ferry__frame_reader_free(&r);
	free(in);
}

static void test_limit_boundary(void)
{
	check_limit(300, 300, false, FERRY_OK);
	check_limit(300, 300, true, FERRY_OK);
	check_limit(300, 301, false, FERRY_ERR_PACKET_TOO_LARGE);
	check_limit(300, 301, true, FERRY_ERR_PACKET_TOO_LARGE);
}

static void test_sticky_error_and_reset(void)
{
	uint8_t bad[8], good[8];
	size_t nb = test_hex("30 80 80 80 80", bad, sizeof bad);
	size_t ng = test_hex("D0 00", good, sizeof good);
	struct ferry_frame_reader r;
	struct ferry_frame f;
	bool complete = true;
	size_t used = 99;
	ferry__frame_reader_init(&r, 0, false);
	ASSERT_RC(ferry__frame_next(&r, bad, nb, &used, &f, &complete), FERRY_ERR_VARINT);
	/* Sticky: a perfectly good frame now gets the same error, and nothing is used. */
	for (int i = 0; i < 3; i++) {
		ASSERT_RC(ferry__frame_next(&r, good, ng, &used, &f, &complete), FERRY_ERR_VARINT);
		CU_ASSERT(used == 0 && !complete);
	}
	ferry__frame_reader_reset(&r);
	ASSERT_RC(ferry__frame_next(&r, good, ng, &used, &f, &complete), FERRY_OK);
	CU_ASSERT(complete && used == 2 && f.len == 2);
	ferry__frame_reader_free(&r);
}

/* Reset in the middle of a frame forgets it: the next bytes start a new frame. */
static void test_reset_mid_frame(void)
{
	uint8_t part[8], good[8];
	size_t np = test_hex("30 10 00 05 61", part, sizeof part);
	size_t ng = test_hex("40 02 12 34", good, sizeof good);
	struct ferry_frame_reader r;
	struct ferry_frame f;
	bool complete = true;
	size_t used;
	ferry__frame_reader_init(&r, 0, true);
	ASSERT_RC(ferry__frame_next(&r, part, np, &used, &f, &complete), FERRY_OK);
	CU_ASSERT(!complete && used == np);
	ferry__frame_reader_reset(&r);
	ASSERT_RC(ferry__frame_next(&r, good, ng, &used, &f, &complete), FERRY_OK);
	CU_ASSERT_FATAL(complete);
	CU_ASSERT(f.len == 4 && memcmp(f.data, good, 4) == 0);
	/* Also mid-length: one header byte, reset, then a whole frame. */
	ASSERT_RC(ferry__frame_next(&r, part, 2, &used, &f, &complete), FERRY_OK);
	ASSERT_RC(ferry__frame_next(&r, part, 1, &used, &f, &complete), FERRY_OK);
	ferry__frame_reader_reset(&r);
	ASSERT_RC(ferry__frame_next(&r, good, 1, &used, &f, &complete), FERRY_OK);
	ASSERT_RC(ferry__frame_next(&r, good + 1, ng - 1, &used, &f, &complete), FERRY_OK);
	CU_ASSERT(complete && f.len == 4 && memcmp(f.data, good, 4) == 0);
	ferry__frame_reader_free(&r);
}

/* The reader frames by length only: reserved types and bad flags are the decoder's business. */
static void test_no_type_validation(void)
{
	uint8_t in[16];
	size_t n = test_hex("00 00 F0 01 AA 3F 00", in, sizeof in);
	struct ferry_frame_reader r;
	struct got g = {.count = 0};
	ferry__frame_reader_init(&r, 0, false);
	ASSERT_RC(feed(&r, in, n, &g), FERRY_OK);
	CU_ASSERT_EQUAL_FATAL(g.count, 3);
	CU_ASSERT(g.len[0] == 2 && g.len[1] == 3 && g.len[2] == 2);
	CU_ASSERT(g.data[1][2] == 0xAA && g.data[2][0] == 0x3F);
	ferry__frame_reader_free(&r);
}

/* A 1 MiB PUBLISH fed in 1000-byte chunks comes out whole; the buffer is the frame's size. */
static void test_one_mebibyte(void)
{
	const size_t total = 1024 * 1024;
	const size_t rl = total - 4; /* 4 = type byte + 3 length bytes */
	uint8_t *in = malloc(total);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	in[0] = 0x30;
	in[1] = (uint8_t)(0x80u | (rl & 0x7Fu));
	in[2] = (uint8_t)(0x80u | ((rl >> 7) & 0x7Fu));
	in[3] = (uint8_t)(rl >> 14);
	for (size_t i = 4; i < total; i++)
		in[i] = (uint8_t)(i * 7u + 3u);
	struct ferry_frame_reader r;
	ferry__frame_reader_init(&r, 0, true);
	size_t off = 0, frames = 0;
	while (off < total) {
		size_t chunk = total - off < 1000 ? total - off : 1000;
		size_t used = 0;
		struct ferry_frame f;
		bool complete = false;
		ASSERT_RC(ferry__frame_next(&r, in + off, chunk, &used, &f, &complete), FERRY_OK);
		CU_ASSERT_EQUAL_FATAL(used, chunk);
		off += used;
		if (complete) {
			frames++;
			CU_ASSERT_EQUAL(f.len, total);
			CU_ASSERT(memcmp(f.data, in, total) == 0);
		}
	}
	CU_ASSERT_EQUAL(frames, 1);
	CU_ASSERT_EQUAL(r.cap, total);
	ferry__frame_reader_free(&r);
	CU_ASSERT_PTR_NULL(r.buf);
	free(in);
}

/* Empty chunks are harmless in every state. */
static void test_empty_chunk(void)
{
	uint8_t in[4];
	size_t n = test_hex("40 02 00 01", in, sizeof in);
	struct ferry_frame_reader r;
	struct ferry_frame f;
	bool complete = true;
	size_t used = 7;
	ferry__frame_reader_init(&r, 0, true);
	ASSERT_RC(ferry__frame_next(&r, NULL, 0, &used, &f, &complete), FERRY_OK);
	CU_ASSERT(used == 0 && !complete);
	ASSERT_RC(ferry__frame_next(&r, in, 3, &used, &f, &complete), FERRY_OK);
	ASSERT_RC(ferry__frame_next(&r, in, 0, &used, &f, &complete), FERRY_OK);
	CU_ASSERT(used == 0 && !complete);
	ASSERT_RC(ferry__frame_next(&r, in + 3, n - 3, &used, &f, &complete), FERRY_OK);
	CU_ASSERT(complete && f.len == 4);
	ferry__frame_reader_free(&r);
}

void register_frame_suite(void)
{
	CU_pSuite s = test_suite("frame");
	test_add(s, "split at every byte boundary", test_split_everywhere);
	test_add(s, "one byte at a time", test_one_byte_at_a_time);
	test_add(s, "many frames in one chunk, zero copy", test_many_frames_one_chunk_zero_copy);
	test_add(s, "frame then a partial frame", test_partial_tail);
	test_add(s, "oversize refused at the header", test_oversize_refused_at_header);
	test_add(s, "5-byte remaining length", test_five_byte_length);
	test_add(s, "non-minimal remaining length", test_non_minimal_length);
	test_add(s, "max packet size boundary", test_limit_boundary);
	test_add(s, "sticky error until reset", test_sticky_error_and_reset);
	test_add(s, "reset mid-frame", test_reset_mid_frame);
	test_add(s, "packet types not validated", test_no_type_validation);
	test_add(s, "1 MiB frame in 1000-byte chunks", test_one_mebibyte);
	test_add(s, "empty chunks", test_empty_chunk);
}

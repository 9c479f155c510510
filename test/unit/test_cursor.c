/*
 * test_cursor.c - the bounds-checked readers and writers of wire primitives
 * (MQTT 5.0 section 1.5): values, truncation that leaves the cursor where it
 * was, variable byte integers at every size boundary of the spec's table 1-1.
 */
#include <string.h>

#include "cursor.h"
#include "suites.h"
#include "util.h"

static void test_bytes_str(void)
{
	struct ferry_bytes b = ferry__bytes_str("abc");
	CU_ASSERT_EQUAL(b.len, 3);
	ASSERT_VIEW_STR(b, "abc");
	b = ferry__bytes_str(NULL);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_PTR_NULL(b.p);
}

static void test_read_ints(void)
{
	uint8_t buf[16];
	size_t n = test_hex("ab 12 34 de ad be ef 07", buf, sizeof buf);
	struct ferry_cursor c;
	uint8_t v8 = 0;
	uint16_t v16 = 0;
	uint32_t v32 = 0;

	ferry__cur_init(&c, buf, n);
	CU_ASSERT_EQUAL(ferry__cur_left(&c), 8);
	ASSERT_RC(ferry__cur_u8(&c, &v8), FERRY_OK);
	CU_ASSERT_EQUAL(v8, 0xab);
	ASSERT_RC(ferry__cur_u16(&c, &v16), FERRY_OK);
	CU_ASSERT_EQUAL(v16, 0x1234); /* big-endian */
	ASSERT_RC(ferry__cur_u32(&c, &v32), FERRY_OK);
	CU_ASSERT_EQUAL(v32, 0xdeadbeefu);
	CU_ASSERT_EQUAL(ferry__cur_left(&c), 1);
	/* Truncation: nothing consumed, output untouched. */
	v16 = 0x5555;
	ASSERT_RC(ferry__cur_u16(&c, &v16), FERRY_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(v16, 0x5555);
	ASSERT_RC(ferry__cur_u32(&c, &v32), FERRY_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(ferry__cur_left(&c), 1);
	ASSERT_RC(ferry__cur_u8(&c, &v8), FERRY_OK);
	CU_ASSERT_EQUAL(v8, 0x07);
	ASSERT_RC(ferry__cur_u8(&c, &v8), FERRY_ERR_TRUNCATED);
	CU_ASSERT_EQUAL(ferry__cur_left(&c), 0);
}

static void test_take(void)
{
	uint8_t buf[] = {1, 2, 3};
	struct ferry_cursor c;
	struct ferry_bytes b;
	ferry__cur_init(&c, buf, sizeof buf);
	ASSERT_RC(ferry__cur_take(&c, 4, &b), FERRY_ERR_TRUNCATED);
	CU_ASSERT_PTR_EQUAL(c.p, buf);
	ASSERT_RC(ferry__cur_take(&c, 2, &b), FERRY_OK);
	CU_ASSERT_PTR_EQUAL(b.p, buf); /* a view, not a copy */
	CU_ASSERT_EQUAL(b.len, 2);
	ASSERT_RC(ferry__cur_take(&c, 0, &b), FERRY_OK);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(ferry__cur_left(&c), 1);
}

static void test_binary(void)
{
	uint8_t buf[16];
	size_t n = test_hex("00 03 00 ff 41 00 00 00 05 61", buf, sizeof buf);
	struct ferry_cursor c;
	struct ferry_bytes b;
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__cur_binary(&c, &b), FERRY_OK);
	CU_ASSERT_EQUAL(b.len, 3);
	CU_ASSERT_EQUAL(memcmp(b.p, "\x00\xff\x41", 3), 0); /* binary: NUL and FF fine */
	ASSERT_RC(ferry__cur_binary(&c, &b), FERRY_OK);     /* 00 00: empty */
	CU_ASSERT_EQUAL(b.len, 0);
	const uint8_t *before = c.p;
	ASSERT_RC(ferry__cur_binary(&c, &b), FERRY_ERR_TRUNCATED); /* says 5, has 1 */
	CU_ASSERT_PTR_EQUAL(c.p, before);
	ferry__cur_init(&c, buf, 1); /* half a length */
	ASSERT_RC(ferry__cur_binary(&c, &b), FERRY_ERR_TRUNCATED);
	CU_ASSERT_PTR_EQUAL(c.p, buf);
}

static void test_utf8_string(void)
{
	uint8_t buf[32];
	struct ferry_cursor c;
	struct ferry_bytes b;
	/* MQTT 5.0 1.5.4 example: "A" U+2A6D4 as 00 05 41 F0 AA 9B 94. */
	size_t n = test_hex("00 05 41 f0 aa 9b 94", buf, sizeof buf);
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__cur_utf8(&c, &b), FERRY_OK);
	CU_ASSERT_EQUAL(b.len, 5);
	CU_ASSERT_EQUAL(ferry__cur_left(&c), 0);

	n = test_hex("00 02 41 00", buf, sizeof buf);
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__cur_utf8(&c, &b), FERRY_ERR_UTF8_NUL);
	CU_ASSERT_PTR_EQUAL(c.p, buf);

	n = test_hex("00 03 ed a0 80", buf, sizeof buf); /* surrogate U+D800 */
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__cur_utf8(&c, &b), FERRY_ERR_UTF8);
	CU_ASSERT_PTR_EQUAL(c.p, buf);

	n = test_hex("00 04 41 42", buf, sizeof buf);
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__cur_utf8(&c, &b), FERRY_ERR_TRUNCATED);
	CU_ASSERT_PTR_EQUAL(c.p, buf);
}

struct varint_case {
	const char *hex;
	uint32_t value;
};

/* MQTT 5.0 table 1-1: the edges of each encoded size. */
static const struct varint_case varints[] = {
    {"00", 0},
    {"7f", 127},
    {"80 01", 128},
    {"ff 7f", 16383},
    {"80 80 01", 16384},
    {"ff ff 7f", 2097151},
    {"80 80 80 01", 2097152},
    {"ff ff ff 7f", 268435455},
    {"c1 02", 321},
};

static void test_varint_values(void)
{
	for (size_t i = 0; i < sizeof varints / sizeof varints[0]; i++) {
		uint8_t buf[8], out[8];
		size_t n = test_hex(varints[i].hex, buf, sizeof buf);
		struct ferry_cursor c;
		uint32_t v = 0;
		ferry__cur_init(&c, buf, n);
		ASSERT_RC(ferry__cur_varint(&c, true, &v), FERRY_OK);
		CU_ASSERT_EQUAL(v, varints[i].value);
		CU_ASSERT_EQUAL(ferry__cur_left(&c), 0);
		CU_ASSERT_EQUAL(ferry__varint_size(varints[i].value), n);

		struct ferry_writer w;
		ferry__wr_init(&w, out, sizeof out);
		ASSERT_RC(ferry__wr_varint(&w, varints[i].value), FERRY_OK);
		CU_ASSERT_EQUAL((size_t)(w.p - out), n);
		CU_ASSERT_EQUAL(memcmp(out, buf, n), 0);

		/* Every proper prefix is truncated and consumes nothing. */
		for (size_t k = 0; k < n; k++) {
			ferry__cur_init(&c, buf, k);
			ASSERT_RC(ferry__cur_varint(&c, false, &v), FERRY_ERR_TRUNCATED);
			CU_ASSERT_PTR_EQUAL(c.p, buf);
		}
	}
}

static void test_varint_errors(void)
{
	uint8_t buf[8];
	struct ferry_cursor c;
	uint32_t v = 99;
	size_t n = test_hex("80 80 80 80 01", buf, sizeof buf); /* five bytes */
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__cur_varint(&c, false, &v), FERRY_ERR_VARINT);
	CU_ASSERT_PTR_EQUAL(c.p, buf);
	ASSERT_RC(ferry__cur_varint(&c, true, &v), FERRY_ERR_VARINT);
	n = test_hex("ff ff ff ff", buf, sizeof buf); /* a fifth byte would be needed */
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__cur_varint(&c, false, &v), FERRY_ERR_VARINT);

	/* 80 00 is 0 in two bytes: 3.1.1 accepts it, MQTT 5 (minimal) does not. */
	n = test_hex("80 00", buf, sizeof buf);
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__cur_varint(&c, true, &v), FERRY_ERR_VARINT_NON_MINIMAL);
	CU_ASSERT_PTR_EQUAL(c.p, buf);
	CU_ASSERT_EQUAL(v, 99);
	ASSERT_RC(ferry__cur_varint(&c, false, &v), FERRY_OK);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(ferry__cur_left(&c), 0);

	n = test_hex("ff 80 00", buf, sizeof buf); /* 127 in three bytes */
	ferry__cur_init(&c, buf, n);
	ASSERT_RC(ferry__cur_varint(&c, true, &v), FERRY_ERR_VARINT_NON_MINIMAL);
	ASSERT_RC(ferry__cur_varint(&c, false, &v), FERRY_OK);
	CU_ASSERT_EQUAL(v, 127);
}

static void test_writers(void)
{
	uint8_t out[16], want[16];
	struct ferry_writer w;
	ferry__wr_init(&w, out, sizeof out);
	ASSERT_RC(ferry__wr_u8(&w, 0xab), FERRY_OK);
	ASSERT_RC(ferry__wr_u16(&w, 0x1234), FERRY_OK);
	ASSERT_RC(ferry__wr_u32(&w, 0xdeadbeefu), FERRY_OK);
	ASSERT_RC(ferry__wr_raw(&w, "xy", 2), FERRY_OK);
	ASSERT_RC(ferry__wr_binary(&w, ferry__bytes_str("hi")), FERRY_OK);
	ASSERT_RC(ferry__wr_raw(&w, NULL, 0), FERRY_OK);
	size_t n = test_hex("ab 12 34 de ad be ef 78 79 00 02 68 69", want, sizeof want);
	CU_ASSERT_EQUAL((size_t)(w.p - out), n);
	CU_ASSERT_EQUAL(memcmp(out, want, n), 0);
}

static void test_writer_full(void)
{
	uint8_t out[8];
	struct ferry_writer w;
	memset(out, 0xee, sizeof out);
	ferry__wr_init(&w, out, 3);
	ASSERT_RC(ferry__wr_u32(&w, 1), FERRY_ERR_BUFFER_SIZE);
	ASSERT_RC(ferry__wr_varint(&w, 2097152), FERRY_ERR_BUFFER_SIZE);
	ASSERT_RC(ferry__wr_binary(&w, ferry__bytes_str("ab")), FERRY_ERR_BUFFER_SIZE);
	ASSERT_RC(ferry__wr_raw(&w, "abcd", 4), FERRY_ERR_BUFFER_SIZE);
	CU_ASSERT_PTR_EQUAL(w.p, out);
	CU_ASSERT_EQUAL(out[0], 0xee); /* nothing written on error */
	ASSERT_RC(ferry__wr_u16(&w, 7), FERRY_OK);
	ASSERT_RC(ferry__wr_u16(&w, 7), FERRY_ERR_BUFFER_SIZE);
	ASSERT_RC(ferry__wr_u8(&w, 7), FERRY_OK);
	ASSERT_RC(ferry__wr_u8(&w, 7), FERRY_ERR_BUFFER_SIZE);
	CU_ASSERT_EQUAL(out[3], 0xee);
}

static void test_writer_limits(void)
{
	static uint8_t big[65536];
	uint8_t out[8];
	struct ferry_writer w;
	ferry__wr_init(&w, out, sizeof out);
	ASSERT_RC(ferry__wr_varint(&w, FERRY_VARINT_MAX + 1u), FERRY_ERR_PACKET_TOO_LARGE);
	struct ferry_bytes b = {big, sizeof big};
	ASSERT_RC(ferry__wr_binary(&w, b), FERRY_ERR_STRING_TOO_LONG);
	CU_ASSERT_PTR_EQUAL(w.p, out);
}

void register_cursor_suite(void)
{
	CU_pSuite s = test_suite("cursor");
	test_add(s, "bytes_str", test_bytes_str);
	test_add(s, "integers and truncation", test_read_ints);
	test_add(s, "take", test_take);
	test_add(s, "binary data", test_binary);
	test_add(s, "UTF-8 string", test_utf8_string);
	test_add(s, "varint boundaries (table 1-1)", test_varint_values);
	test_add(s, "varint errors", test_varint_errors);
	test_add(s, "writers", test_writers);
	test_add(s, "writer full: nothing written", test_writer_full);
	test_add(s, "writer limits", test_writer_limits);
}

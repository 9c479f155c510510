/*
 * test_base64.c - base64 encoding (src/base64.h): the RFC 4648 section 10
 * vectors, the RFC 6455 accept-key example's encoding, binary input, and
 * output buffers too small by one.
 */
#include <string.h>

#include "base64.h"
#include "suites.h"
#include "util.h"

static void test_rfc4648_vectors(void)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		char buf[16];
		size_t n = strlen(in[i]);
		CU_ASSERT_EQUAL(ferry__base64_encode((const uint8_t *)in[i], n, buf, sizeof buf),
		                strlen(out[i]));
		CU_ASSERT_STRING_EQUAL(buf, out[i]);
		CU_ASSERT_EQUAL(FERRY_BASE64_LEN(n), strlen(out[i]));
	}
}

/* RFC 6455 section 1.3: SHA-1 of the key + GUID, encoded. */
static void test_websocket_accept_example(void)
{
	static const uint8_t sha1[20] = {0xb3, 0x7a, 0x4f, 0x2c, 0xc0, 0x62, 0x4f, 0x16, 0x90, 0xf6,
	                                 0x46, 0x06, 0xcf, 0x38, 0x59, 0x45, 0xb2, 0xbe, 0xc4, 0xea};
	char buf[32];
	CU_ASSERT_EQUAL(ferry__base64_encode(sha1, sizeof sha1, buf, sizeof buf), 28);
	CU_ASSERT_STRING_EQUAL(buf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_binary_and_small_buffers(void)
{
	const uint8_t bin[] = {0x00, 0xff, 0xfe, 0x3f, 0xbf};
	char buf[9];
	CU_ASSERT_EQUAL(ferry__base64_encode(bin, sizeof bin, buf, sizeof buf), 8);
	CU_ASSERT_STRING_EQUAL(buf, "AP/+P78=");
	/* Room for the text but not its NUL: refused, and the buffer left "". */
	char small[8] = "xxxxxxx";
	CU_ASSERT_EQUAL(ferry__base64_encode(bin, sizeof bin, small, sizeof small), 0);
	CU_ASSERT_STRING_EQUAL(small, "");
	CU_ASSERT_EQUAL(ferry__base64_encode(bin, sizeof bin, NULL, 0), 0);
}

void register_base64_suite(void)
{
	CU_pSuite s = test_suite("base64");
	test_add(s, "RFC 4648 vectors", test_rfc4648_vectors);
	test_add(s, "RFC 6455 accept example", test_websocket_accept_example);
	test_add(s, "binary input, buffers too small", test_binary_and_small_buffers);
}

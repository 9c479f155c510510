/*
 * test_utf8.c - MQTT UTF-8 validation (MQTT 5.0 1.5.4, 3.1.1 1.5.3):
 * well-formed, shortest form, no surrogates, nothing above U+10FFFF, no U+0000.
 */
#include <stdio.h>

#include "ferry/error.h"
#include "suites.h"
#include "utf8.h"
#include "util.h"

struct utf8_case {
	const char *hex;
	int want;
};

static void run_cases(const struct utf8_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		uint8_t buf[32];
		size_t n = test_hex(cases[i].hex, buf, sizeof buf);
		int rc = ferry__utf8_check(buf, n);
		char msg[160];
		snprintf(msg, sizeof msg, "utf8_check(%s) = %s, want %s", cases[i].hex,
		         ferry_errname(rc), ferry_errname(cases[i].want));
		CU_assertImplementation(rc == cases[i].want, __LINE__, msg, __FILE__, "", CU_FALSE);
	}
}

static void test_valid(void)
{
	static const struct utf8_case cases[] = {
	    {"", FERRY_OK},
	    {"61 2f 62 2b 23", FERRY_OK},             /* ASCII, wildcards are just bytes */
	    {"01 1f 7f", FERRY_OK},                   /* control characters allowed */
	    {"c2 80", FERRY_OK},                      /* U+0080, smallest 2-byte */
	    {"df bf", FERRY_OK},                      /* U+07FF */
	    {"e0 a0 80", FERRY_OK},                   /* U+0800, smallest 3-byte */
	    {"ed 9f bf", FERRY_OK},                   /* U+D7FF, just below surrogates */
	    {"ee 80 80", FERRY_OK},                   /* U+E000, just above */
	    {"ef bf bf", FERRY_OK},                   /* U+FFFF non-character: allowed */
	    {"ef bb bf", FERRY_OK},                   /* U+FEFF BOM: not skipped, allowed */
	    {"f0 90 80 80", FERRY_OK},                /* U+10000, smallest 4-byte */
	    {"f4 8f bf bf", FERRY_OK},                /* U+10FFFF, the largest */
	    {"41 f0 aa 9b 94", FERRY_OK},             /* MQTT 5.0 1.5.4 example */
	    {"c3 a9 e2 82 ac f0 9f 98 80", FERRY_OK}, /* é € 😀 */
	};
	run_cases(cases, sizeof cases / sizeof cases[0]);
	ASSERT_RC(ferry__utf8_check(NULL, 0), FERRY_OK);
}

static void test_nul(void)
{
	static const struct utf8_case cases[] = {
	    {"00", FERRY_ERR_UTF8_NUL},
	    {"61 62 00", FERRY_ERR_UTF8_NUL},
	    {"00 61", FERRY_ERR_UTF8_NUL},
	    {"c0 80", FERRY_ERR_UTF8}, /* "modified UTF-8" NUL is overlong, not NUL */
	};
	run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_ill_formed(void)
{
	static const struct utf8_case cases[] = {
	    {"ed a0 80", FERRY_ERR_UTF8},          /* U+D800 */
	    {"ed bf bf", FERRY_ERR_UTF8},          /* U+DFFF */
	    {"ed a0 bd ed b2 a9", FERRY_ERR_UTF8}, /* CESU-8 surrogate pair */
	    {"c0 80", FERRY_ERR_UTF8},             /* overlong U+0000 */
	    {"c1 bf", FERRY_ERR_UTF8},             /* overlong U+007F */
	    {"e0 80 80", FERRY_ERR_UTF8},          /* overlong U+0000 */
	    {"e0 9f bf", FERRY_ERR_UTF8},          /* overlong U+07FF */
	    {"f0 80 80 80", FERRY_ERR_UTF8},       /* overlong U+0000 */
	    {"f0 8f bf bf", FERRY_ERR_UTF8},       /* overlong U+FFFF */
	    {"f4 90 80 80", FERRY_ERR_UTF8},       /* U+110000 */
	    {"f5 80 80 80", FERRY_ERR_UTF8},
	    {"f8 88 80 80 80", FERRY_ERR_UTF8}, /* old 5-byte form */
	    {"fc 84 80 80 80 80", FERRY_ERR_UTF8},
	    {"fe", FERRY_ERR_UTF8},
	    {"ff", FERRY_ERR_UTF8},
	    {"80", FERRY_ERR_UTF8}, /* lone continuation bytes */
	    {"bf", FERRY_ERR_UTF8},
	    {"61 80 61", FERRY_ERR_UTF8},
	    {"c3", FERRY_ERR_UTF8}, /* truncated sequences */
	    {"e2 82", FERRY_ERR_UTF8},
	    {"f0 9f 98", FERRY_ERR_UTF8},
	    {"61 e2 82", FERRY_ERR_UTF8},
	    {"c3 41", FERRY_ERR_UTF8}, /* continuation missing */
	    {"e2 41 ac", FERRY_ERR_UTF8},
	    {"e2 82 41", FERRY_ERR_UTF8},
	    {"f0 9f 41 80", FERRY_ERR_UTF8},
	    {"f0 9f 98 41", FERRY_ERR_UTF8},
	    {"c3 c3", FERRY_ERR_UTF8},
	};
	run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_every_lead_byte(void)
{
	/* Each byte alone: ASCII 01..7F valid, 00 NUL, everything else ill-formed. */
	for (unsigned b = 0; b < 256; b++) {
		uint8_t s[1] = {(uint8_t)b};
		int want = b == 0 ? FERRY_ERR_UTF8_NUL : b < 0x80 ? FERRY_OK : FERRY_ERR_UTF8;
		ASSERT_RC(ferry__utf8_check(s, 1), want);
	}
	/* Every two-byte sequence LEAD 80: valid exactly for C2..DF. */
	for (unsigned b = 0x80; b < 256; b++) {
		uint8_t s[2] = {(uint8_t)b, 0x80};
		int want = (b >= 0xC2 && b <= 0xDF) ? FERRY_OK : FERRY_ERR_UTF8;
		ASSERT_RC(ferry__utf8_check(s, 2), want);
	}
}

static void test_length_bounds(void)
{
	/* The length is respected: bytes past len are never read. */
	const uint8_t s[] = {'a', 0x00, 0xff};
	ASSERT_RC(ferry__utf8_check(s, 1), FERRY_OK);
	ASSERT_RC(ferry__utf8_check(s, 2), FERRY_ERR_UTF8_NUL);
	const uint8_t t[] = {0xe2, 0x82, 0xac};
	ASSERT_RC(ferry__utf8_check(t, 2), FERRY_ERR_UTF8);
	ASSERT_RC(ferry__utf8_check(t, 3), FERRY_OK);
}

void register_utf8_suite(void)
{
	CU_pSuite s = test_suite("utf8");
	test_add(s, "valid strings", test_valid);
	test_add(s, "U+0000", test_nul);
	test_add(s, "ill-formed", test_ill_formed);
	test_add(s, "every lead byte", test_every_lead_byte);
	test_add(s, "length bounds", test_length_bounds);
}

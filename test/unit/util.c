/* util.c - helpers shared by the unit tests. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/error.h"

#include <CUnit/Basic.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t test_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (*hex) {
		if (*hex == ' ' || *hex == '\n' || *hex == '\t') {
			hex++;
			continue;
		}
		int hi = hexval(hex[0]);
		int lo = hex[1] ? hexval(hex[1]) : -1;
		if (hi < 0 || lo < 0 || n >= cap) {
			fprintf(stderr, "test_hex: bad hex or overflow at \"%s\"\n", hex);
			abort();
		}
		out[n++] = (uint8_t)(hi << 4 | lo);
		hex += 2;
	}
	return n;
}

const char *test_tohex(const uint8_t *p, size_t n)
{
	static char buf[3 * 256 + 8];
	size_t o = 0;
	for (size_t i = 0; i < n && i < 256; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, i ? " %02x" : "%02x", p[i]);
	if (n > 256)
		snprintf(buf + o, sizeof buf - o, " ...");
	if (n == 0)
		buf[0] = 0;
	return buf;
}

CU_pSuite test_suite(const char *name)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);
	if (!s) {
		fprintf(stderr, "CU_add_suite(%s): %s\n", name, CU_get_error_msg());
		abort();
	}
	return s;
}

void test_add(CU_pSuite s, const char *name, CU_TestFunc fn)
{
	if (!CU_add_test(s, name, fn)) {
		fprintf(stderr, "CU_add_test(%s): %s\n", name, CU_get_error_msg());
		abort();
	}
}

void test_assert_rc(int got, int want, const char *expr, const char *file, unsigned line)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s returned %s (%d), expected %s (%d)", expr, ferry_errname(got),
	         got, ferry_errname(want), want);
	CU_assertImplementation(got == want, line, msg, file, "", CU_FALSE);
}

void test_assert_view(const uint8_t *p, size_t len, const char *str, const char *expr,
                      const char *file, unsigned line)
{
	char msg[512];
	size_t sl = strlen(str);
	int ok = len == sl && (len == 0 || memcmp(p, str, len) == 0);
	snprintf(msg, sizeof msg, "%s is \"%.*s\" (%zu bytes), expected \"%s\"", expr,
	         (int)(len > 200 ? 200 : len), p ? (const char *)p : "", len, str);
	CU_assertImplementation(ok, line, msg, file, "", CU_FALSE);
}

int test_run(int argc, char **argv)
{
	CU_basic_set_mode(CU_BRM_VERBOSE);
	unsigned failed = 0;
	if (argc > 1) {
		/* Each run resets CUnit's counts: add them up suite by suite. */
		for (int i = 1; i < argc; i++) {
			CU_pSuite s = CU_get_suite(argv[i]);
			if (!s) {
				fprintf(stderr, "no suite named \"%s\"\n", argv[i]);
				CU_cleanup_registry();
				return 2;
			}
			CU_basic_run_suite(s);
			failed += CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
			          CU_get_number_of_suites_failed();
		}
	} else {
		CU_basic_run_tests();
		failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		         CU_get_number_of_suites_failed();
	}
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

/* test_errors.c - every error code has a distinct name and a real text. */
#include <string.h>

#include "ferry/error.h"
#include "ferry/ferry.h"
#include "suites.h"
#include "util.h"

static void test_every_code_named(void)
{
	int named = 0;
	for (int code = 0; code >= -400; code--) {
		const char *name = ferry_errname(code);
		const char *text = ferry_strerror(code);
		CU_ASSERT_PTR_NOT_NULL_FATAL(name);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		if (strcmp(name, "FERRY_ERR_UNKNOWN") == 0) {
			CU_ASSERT_STRING_EQUAL(text, "unknown error");
			continue;
		}
		named++;
		CU_ASSERT(strncmp(name, "FERRY_", 6) == 0);
		CU_ASSERT(strcmp(text, "unknown error") != 0);
		CU_ASSERT(strlen(text) > 5);
	}
	/* FERRY_OK plus at least the usage and codec codes. */
	CU_ASSERT(named >= 35);
}

static void test_known_texts(void)
{
	CU_ASSERT_STRING_EQUAL(ferry_strerror(FERRY_OK), "success");
	CU_ASSERT_STRING_EQUAL(ferry_errname(FERRY_ERR_QOS), "FERRY_ERR_QOS");
	CU_ASSERT_STRING_EQUAL(ferry_strerror(12345), "unknown error");
	CU_ASSERT_STRING_EQUAL(ferry_strerror(-99999), "unknown error");
}

static void test_distinct_texts(void)
{
	/* Two codes sharing a text would make logs ambiguous. */
	for (int a = 0; a >= -400; a--) {
		if (!strcmp(ferry_errname(a), "FERRY_ERR_UNKNOWN"))
			continue;
		for (int b = a - 1; b >= -400; b--) {
			if (!strcmp(ferry_errname(b), "FERRY_ERR_UNKNOWN"))
				continue;
			CU_ASSERT(strcmp(ferry_strerror(a), ferry_strerror(b)) != 0);
		}
	}
}

static void test_version(void)
{
	const char *s = NULL;
	unsigned v = ferry_version(&s);
	CU_ASSERT_EQUAL(v, (unsigned)FERRY_VERSION_NUMBER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, FERRY_VERSION_STRING);
	CU_ASSERT_EQUAL(ferry_version(NULL), v);
}

void register_errors_suite(void)
{
	CU_pSuite s = test_suite("errors");
	test_add(s, "every code has a name and text", test_every_code_named);
	test_add(s, "known texts", test_known_texts);
	test_add(s, "texts are distinct", test_distinct_texts);
	test_add(s, "version", test_version);
}

/*
 * util.h - helpers shared by the unit tests.
 */
#ifndef FERRY_TEST_UTIL_H
#define FERRY_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

/*
 * Parses hex text ("30 07 ff ff", spaces optional) into out (cap bytes).
 * Returns the byte count; aborts the test program on malformed hex or overflow
 * (a bug in the test itself).
 */
size_t test_hex(const char *hex, uint8_t *out, size_t cap);

/* Formats n bytes as "30 07 ff" into a static buffer (for failure messages). */
const char *test_tohex(const uint8_t *p, size_t n);

/*
 * test_run - run the registered suites with CUnit's basic interface: all of
 * them, or those named in argv[1..]. Returns the process exit status: 0 when
 * every test passed, 1 on any failure, 2 for an unknown suite name.
 * Cleans the registry up.
 */
int test_run(int argc, char **argv);

/* Adds a suite or aborts; returns it. */
CU_pSuite test_suite(const char *name);

/* Adds a test to a suite or aborts. */
void test_add(CU_pSuite s, const char *name, CU_TestFunc fn);

/* Asserts that an int return code equals an expected ferry_err, naming both on failure. */
#define ASSERT_RC(got, want) test_assert_rc((got), (want), #got, __FILE__, __LINE__)
void test_assert_rc(int got, int want, const char *expr, const char *file, unsigned line);

/* Asserts that a view equals a C string. */
#define ASSERT_VIEW_STR(view, str) \
	test_assert_view((view).p, (view).len, (str), #view, __FILE__, __LINE__)
void test_assert_view(const uint8_t *p, size_t len, const char *str, const char *expr,
                      const char *file, unsigned line);

#endif

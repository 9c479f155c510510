/*
 * main.c - the unit test program: registers every suite and runs them with
 * CUnit's basic interface. Usage: unit_tests [SUITE-NAME...] (default: all).
 * Exits non-zero when any test fails or an assertion is recorded as failed.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "suites.h"

int main(int argc, char **argv)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 2;
	}
	register_errors_suite();
	register_cursor_suite();
	register_utf8_suite();
	register_props_suite();
	register_reason_suite();
	register_vectors_suite();
	register_roundtrip_suite();
	register_malformed_suite();
	register_frame_suite();
	register_topic_suite();
	register_topic_index_suite();
	register_uri_suite();
	register_keepalive_suite();
	register_session_suite();

	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			CU_pSuite s = CU_get_suite(argv[i]);
			if (!s) {
				fprintf(stderr, "no suite named \"%s\"\n", argv[i]);
				CU_cleanup_registry();
				return 2;
			}
			CU_basic_run_suite(s);
		}
	} else {
		CU_basic_run_tests();
	}
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	unsigned suites_failed = CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return (failed || suites_failed) ? 1 : 0;
}

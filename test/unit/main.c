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
#include "util.h"

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
	register_backoff_suite();
	register_store_suite();
	register_keepalive_suite();
	register_session_suite();
	register_base64_suite();
	register_tunnel_suite();
	register_ws_suite();
	register_props_api_suite();

	return test_run(argc, argv);
}

/*
 * main.c - the integration test program: suites that run ferry against real
 * mosquitto brokers (and scripted fake brokers) on 127.0.0.1.
 * Usage: integration_tests [SUITE-NAME...] (default: all). Exits non-zero on
 * any failure; exits 77 (skipped) only when mosquitto is not installed.
 */
#include <stdio.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "suites.h"

int main(int argc, char **argv)
{
	if (access("/usr/sbin/mosquitto", X_OK) != 0) {
		fprintf(stderr, "mosquitto not installed (Debian package: mosquitto): skipping\n");
		return 77;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 2;
	}
	register_support_suite();
	register_client_suite();
	register_client_script_suite();

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

/*
 * main.c - the integration test program: suites that run ferry against real
 * mosquitto brokers (and scripted fake brokers) on 127.0.0.1.
 * Usage: integration_tests [SUITE-NAME...] (default: all). Exits non-zero on
 * any failure, a missing mosquitto included.
 */
#include <stdio.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "suites.h"
#include "unit/util.h"

int main(int argc, char **argv)
{
	if (access("/usr/sbin/mosquitto", X_OK) != 0) {
		fprintf(stderr, "mosquitto not installed (Debian package: mosquitto; ./bootstrap deps)\n");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 2;
	}
	register_support_suite();
	register_client_suite();
	register_client_script_suite();
	register_proxy_suite();
	register_reconnect_suite();
	register_tools_suite();
	register_samples_suite();
	register_store_suite();
	register_store_faults_suite();
	register_crash_suite();
	register_tls_suite();
	register_ws_suite();
	register_proxies_suite();
	register_mqtt5_suite();
	register_mqtt5_script_suite();
	register_malicious_suite();
	register_syscall_faults_suite();
	register_netfaults_suite();
	register_heap_suite();

	return test_run(argc, argv);
}

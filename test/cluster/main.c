/*
 * main.c - the cluster test program (make check-cluster): ferry against
 * clustered brokers from Debian (RabbitMQ, ejabberd) and shared
 * subscriptions on mosquitto, all started by the tests on 127.0.0.1.
 * Usage: cluster_tests [SUITE-NAME...] (default: all). Exits non-zero on any
 * failure, a missing broker package included.
 */
#include <stdio.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "cluster/suites.h"
#include "unit/util.h"

int main(int argc, char **argv)
{
	static const char *const need[][2] = {
	    {"/usr/sbin/mosquitto", "mosquitto"},
	    {"/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server"},
	    {"/usr/sbin/ejabberdctl", "ejabberd"},
	};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
		if (access(need[i][0], X_OK) != 0) {
			fprintf(stderr, "%s not found (Debian package: %s; ./bootstrap deps)\n",
			        need[i][0], need[i][1]);
			return 1;
		}
	}
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 2;
	}
	register_rabbitmq_suite();
	register_ejabberd_suite();
	register_shared_suite();
	return test_run(argc, argv);
}

/* test_proxy.c - placeholder until the fault proxy suite is written. */
#include "suites.h"

void register_proxy_suite(void)
{
}

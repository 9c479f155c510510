/* test_malformed.c - placeholder until the suite is written. */
#include "suites.h"

void register_malformed_suite(void)
{
}

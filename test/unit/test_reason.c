/* test_reason.c - placeholder until the suite is written. */
#include "suites.h"

void register_reason_suite(void)
{
}
